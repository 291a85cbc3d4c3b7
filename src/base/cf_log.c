#include "base/cf_log.h"

#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "base/cf_buf.h"

void cf_log_init(struct cf_log *log) {
  log->out = stderr;
  log->level = CF_LOG_INFO;
  log->json = !isatty(fileno(stderr));
}

const char *cf_log_level_name(enum cf_log_level level) {
  switch (level) {
    case CF_LOG_DEBUG: return "debug";
    case CF_LOG_INFO: return "info";
    case CF_LOG_WARN: return "warn";
    case CF_LOG_ERROR: return "error";
  }
  return "info";
}

void cf_log_write(const struct cf_log *log, enum cf_log_level level, const char *component,
                  const char *fmt, ...) {
  if (!log || level < log->level) return;
  if (!component) component = "-";
  struct cf_buf msg;
  cf_buf_init(&msg);
  va_list ap;
  va_start(ap, fmt);
  cf_buf_vprintf(&msg, fmt, ap);
  va_end(ap);

  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char when[128]; /* room for any int fields, so -Wformat-truncation is quiet */
  snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

  if (log->json) {
    struct cf_buf line;
    cf_buf_init(&line);
    cf_buf_printf(&line, "{\"time\":\"%s\",\"level\":\"%s\",\"component\":", when,
                  cf_log_level_name(level));
    cf_buf_json_string(&line, component, __builtin_strlen(component));
    cf_buf_puts(&line, ",\"msg\":");
    cf_buf_json_string(&line, msg.data, msg.len);
    cf_buf_puts(&line, "}\n");
    /* Out of memory, the line would be cut short: better none than invalid JSON. */
    if (!line.oom) fputs(line.data, log->out);
    cf_buf_release(&line);
  } else {
    fprintf(log->out, "%s %-5s %s: %s\n", when, cf_log_level_name(level), component, msg.data);
  }
  cf_buf_release(&msg);
}
