/* Unit tests of src/base/cf_log.c: text and JSON-lines logging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "base/cf_alloc.h"
#include "base/cf_log.h"

/* Everything written to f so far, as a new NUL-terminated string. */
static char *slurp(FILE *f) {
  fflush(f);
  long n = ftell(f);
  assert_true(n >= 0);
  char *s = malloc((size_t)n + 1);
  assert_non_null(s);
  rewind(f);
  assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = '\0';
  return s;
}

static void json_logger(struct cf_log *log, FILE *f) {
  cf_log_init(log);
  log->out = f;
  log->json = true;
  log->level = CF_LOG_DEBUG;
}

/* Each line of text parses as a JSON object; returns them in order (count in *n). */
static struct json_object **parse_lines(const char *text, size_t *n) {
  static struct json_object *objs[16];
  *n = 0;
  const char *p = text;
  while (*p) {
    const char *nl = strchr(p, '\n');
    assert_non_null(nl); /* every line is complete */
    char *line = strndup(p, (size_t)(nl - p));
    struct json_object *o = json_tokener_parse(line);
    if (!o || json_object_get_type(o) != json_type_object)
      fail_msg("log line is not a JSON object: %s", line);
    free(line);
    assert_true(*n < 16);
    objs[(*n)++] = o;
    p = nl + 1;
  }
  return objs;
}

static const char *field(struct json_object *o, const char *key) {
  struct json_object *v = json_object_object_get(o, key);
  if (!v) fail_msg("log line lacks \"%s\"", key);
  return json_object_get_string(v);
}

static void json_lines_are_valid_json(void **state) {
  FILE *f = tmpfile();
  assert_non_null(f);
  struct cf_log log;
  json_logger(&log, f);
  cf_log_write(&log, CF_LOG_INFO, "engine", "instance %d started", 42);
  cf_log_write(&log, CF_LOG_WARN, "feel", "bad \"quote\"\nnew line\ttab \\ back \x01 ctl");
  cf_log_write(&log, CF_LOG_ERROR, "store", "%s", "caf\xc3\xa9");
  cf_log_write(&log, CF_LOG_DEBUG, "comp \"q\"", "debug");
  char *text = slurp(f);
  size_t n;
  struct json_object **lines = parse_lines(text, &n);
  assert_int_equal(n, 4);
  assert_string_equal(field(lines[0], "level"), "info");
  assert_string_equal(field(lines[0], "component"), "engine");
  assert_string_equal(field(lines[0], "msg"), "instance 42 started");
  assert_string_equal(field(lines[1], "level"), "warn");
  assert_string_equal(field(lines[1], "msg"), "bad \"quote\"\nnew line\ttab \\ back \x01 ctl");
  assert_string_equal(field(lines[2], "level"), "error");
  assert_string_equal(field(lines[2], "msg"), "caf\xc3\xa9");
  assert_string_equal(field(lines[3], "level"), "debug");
  assert_string_equal(field(lines[3], "component"), "comp \"q\"");
  /* time: an ISO-8601 UTC instant with milliseconds, 2024-05-01T10:20:30.123Z */
  const char *t = field(lines[0], "time");
  assert_int_equal(strlen(t), 24);
  assert_int_equal(t[4], '-');
  assert_int_equal(t[10], 'T');
  assert_int_equal(t[19], '.');
  assert_int_equal(t[23], 'Z');
  for (size_t i = 0; i < n; i++) json_object_put(lines[i]);
  free(text);
  fclose(f);
}

static void long_messages_are_whole(void **state) {
  char big[5000];
  memset(big, 'L', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  FILE *f = tmpfile();
  struct cf_log log;
  json_logger(&log, f);
  cf_log_write(&log, CF_LOG_INFO, "x", "<%s>", big);
  char *text = slurp(f);
  size_t n;
  struct json_object **lines = parse_lines(text, &n);
  assert_int_equal(n, 1);
  const char *msg = field(lines[0], "msg");
  assert_int_equal(strlen(msg), sizeof big + 1);
  json_object_put(lines[0]);
  free(text);
  fclose(f);
}

static void levels_below_the_threshold_are_dropped(void **state) {
  FILE *f = tmpfile();
  struct cf_log log;
  json_logger(&log, f);
  log.level = CF_LOG_WARN;
  cf_log_write(&log, CF_LOG_DEBUG, "a", "dropped");
  cf_log_write(&log, CF_LOG_INFO, "a", "dropped");
  cf_log_write(&log, CF_LOG_WARN, "a", "kept");
  cf_log_write(&log, CF_LOG_ERROR, "a", "kept too");
  char *text = slurp(f);
  size_t n;
  struct json_object **lines = parse_lines(text, &n);
  assert_int_equal(n, 2);
  assert_string_equal(field(lines[0], "msg"), "kept");
  assert_string_equal(field(lines[1], "msg"), "kept too");
  for (size_t i = 0; i < n; i++) json_object_put(lines[i]);
  free(text);
  fclose(f);
}

static void text_mode_is_one_readable_line(void **state) {
  FILE *f = tmpfile();
  struct cf_log log;
  cf_log_init(&log);
  log.out = f;
  log.json = false;
  cf_log_write(&log, CF_LOG_WARN, "timer", "late by %d ms", 12);
  char *text = slurp(f);
  assert_non_null(strstr(text, "warn"));
  assert_non_null(strstr(text, "timer: late by 12 ms\n"));
  assert_int_equal(strchr(text, '\n') - text + 1, (long)strlen(text)); /* one line */
  free(text);
  fclose(f);
}

static void init_defaults(void **state) {
  struct cf_log log;
  cf_log_init(&log);
  assert_ptr_equal(log.out, stderr);
  assert_int_equal(log.level, CF_LOG_INFO);
}

static void null_logger_drops(void **state) {
  cf_log_write(NULL, CF_LOG_ERROR, "x", "nobody hears %s", "this");
}

static void level_names(void **state) {
  assert_string_equal(cf_log_level_name(CF_LOG_DEBUG), "debug");
  assert_string_equal(cf_log_level_name(CF_LOG_INFO), "info");
  assert_string_equal(cf_log_level_name(CF_LOG_WARN), "warn");
  assert_string_equal(cf_log_level_name(CF_LOG_ERROR), "error");
}

/* Out of memory, a JSON log writes a whole valid line or nothing, never half a line. */
static void out_of_memory_never_writes_half_a_line(void **state) {
  char big[600];
  memset(big, 'o', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  for (long k = 0; k < 6; k++) {
    FILE *f = tmpfile();
    struct cf_log log;
    json_logger(&log, f);
    cf_alloc_fail_after(k);
    cf_log_write(&log, CF_LOG_INFO, "oom", "%s", big);
    cf_alloc_fail_reset();
    char *text = slurp(f);
    size_t n;
    struct json_object **lines = parse_lines(text, &n);
    assert_true(n <= 1);
    if (n == 1) json_object_put(lines[0]);
    free(text);
    fclose(f);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(json_lines_are_valid_json),
      cmocka_unit_test(long_messages_are_whole),
      cmocka_unit_test(levels_below_the_threshold_are_dropped),
      cmocka_unit_test(text_mode_is_one_readable_line),
      cmocka_unit_test(init_defaults),
      cmocka_unit_test(null_logger_drops),
      cmocka_unit_test(level_names),
      cmocka_unit_test(out_of_memory_never_writes_half_a_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
