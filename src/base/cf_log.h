/*
 * Logging to stderr: readable text on a terminal, one JSON object a line
 * otherwise (for log collectors). A logger is an explicit object handed to
 * whoever logs; there is no global logger.
 */
#ifndef CF_BASE_LOG_H
#define CF_BASE_LOG_H

#include <stdbool.h>
#include <stdio.h>

enum cf_log_level { CF_LOG_DEBUG, CF_LOG_INFO, CF_LOG_WARN, CF_LOG_ERROR };

struct cf_log {
  FILE *out;               /* stderr by default */
  enum cf_log_level level; /* messages below are dropped */
  bool json;               /* JSON lines instead of text */
};

/* Logs to stderr at INFO; JSON unless stderr is a terminal. */
void cf_log_init(struct cf_log *log);

/* Logs one message; a NULL log drops it. Never fails visibly. */
void cf_log_write(const struct cf_log *log, enum cf_log_level level, const char *component,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

const char *cf_log_level_name(enum cf_log_level level);

#endif
