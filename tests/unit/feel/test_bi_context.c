/*
 * Context built-ins (feel_bi_context.c): get value by key and by path,
 * get entries, context() from entries, context put with nested paths,
 * context merge, and the DMN and Camunda parameter names of each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "base/cf_alloc.h"
#include "feel/cf_feel.h"

/* ------------------------------------------------------------- helpers */

/*
 * Evaluates src with no variables and returns the JSON text of the result
 * (caller frees), with the first warning in *warning (caller frees; NULL if
 * none).
 */
static char *eval_json(const char *src, char **warning, int line) {
  struct cf_error err = {0};
  struct cf_feel_expr *e = cf_feel_compile(src, strlen(src), NULL, 0, &err);
  if (!e) fail_msg("line %d: %s does not compile: %s", line, src, err.msg);
  struct cf_feel_env env = {0};
  struct cf_feel_value out;
  struct cf_feel_warnings w;
  cf_feel_warnings_init(&w);
  if (cf_feel_eval(e, NULL, &env, &out, &w) != CF_OK) fail_msg("line %d: %s: eval failed", line, src);
  struct json_object *j = NULL;
  if (cf_feel_to_json(&out, &j) != CF_OK) fail_msg("line %d: %s: to JSON failed", line, src);
  char *text = strdup(j ? json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : "null");
  json_object_put(j);
  *warning = w.count ? strdup(w.items[0]) : NULL;
  cf_feel_value_release(&out);
  cf_feel_warnings_release(&w);
  cf_feel_expr_free(e);
  return text;
}

/* The result of src, as JSON, must be want, with no warning. */
static void check(const char *src, const char *want, int line) {
  char *warning;
  char *got = eval_json(src, &warning, line);
  if (strcmp(got, want) != 0)
    fail_msg("line %d: %s gave %s, want %s%s%s", line, src, got, want,
             warning ? "; warning: " : "", warning ? warning : "");
  if (warning) fail_msg("line %d: %s warned: %s", line, src, warning);
  free(got);
  free(warning);
}

/* The result of src must be null, with a warning that contains what. */
static void check_null(const char *src, const char *what, int line) {
  char *warning;
  char *got = eval_json(src, &warning, line);
  if (strcmp(got, "null") != 0) fail_msg("line %d: %s gave %s, want null", line, src, got);
  if (!warning) fail_msg("line %d: %s gave null without a warning", line, src);
  if (!strstr(warning, what))
    fail_msg("line %d: %s warned \"%s\", which does not mention \"%s\"", line, src, warning, what);
  free(got);
  free(warning);
}

#define EXPECT(src, want) check(src, want, __LINE__)
#define EXPECT_NULL(src, what) check_null(src, what, __LINE__)

/*
 * Makes each allocation fail in turn while evaluating src: every run must
 * give the right result or CF_ENOMEM with a null result, never crash or
 * leak (the sanitizer build checks leaks).
 */
static void check_oom(const char *src, const char *want) {
  for (long n = 0; n < 2000; n++) {
    struct cf_error err = {0};
    struct cf_feel_expr *e = cf_feel_compile(src, strlen(src), NULL, 0, &err);
    assert_non_null(e);
    struct cf_feel_env env = {0};
    struct cf_feel_value out;
    cf_alloc_fail_after(n);
    int rc = cf_feel_eval(e, NULL, &env, &out, NULL);
    long failures = cf_alloc_failures();
    cf_alloc_fail_reset();
    if (rc == CF_OK) {
      struct json_object *j = NULL;
      assert_int_equal(cf_feel_to_json(&out, &j), CF_OK);
      const char *got =
          j ? json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
            : "null";
      if (failures == 0 && strcmp(got, want) != 0) fail_msg("%s gave %s, want %s", src, got, want);
      json_object_put(j);
    } else {
      assert_int_equal(rc, CF_ENOMEM);
      assert_int_equal(out.type, CF_FEEL_NULL);
    }
    cf_feel_value_release(&out);
    cf_feel_expr_free(e);
    if (failures == 0) return; /* the evaluation no longer reaches the failing allocation */
  }
  fail_msg("%s still allocates after 2000 allocations", src);
}

/* ----------------------------------------------------------------- tests */

static void test_get_value_by_key_and_path(void **state) {
  EXPECT("get value({a: \"foo\"}, \"a\")", "\"foo\"");
  EXPECT("get value(key: \"a\", m: {a: 1})", "1");
  EXPECT("get value({a: 1}, \"b\")", "null");
  EXPECT("get value({a: {b: {c: 3}}}, [\"a\", \"b\", \"c\"])", "3");
  EXPECT("get value(context: {a: {b: 2}}, keys: [\"a\", \"b\"])", "2");
  EXPECT("get value(context: {a: 1}, key: \"a\")", "1");
  EXPECT("get value({a: 1}, [\"a\", \"b\"])", "null");
  EXPECT_NULL("get value(\"foo\", \"foo\")", "get value: context must be a context");
  EXPECT_NULL("get value({a: 1}, 123)", "key must be");
  EXPECT_NULL("get value({a: 1}, [\"a\", 1])", "key 2");
  EXPECT_NULL("get value(context: {a: 1}, keys: \"a\")", "keys must be a list");
}

static void test_get_entries_and_context_round_trip(void **state) {
  EXPECT("get entries({a: 1, b: [2]})", "[{\"key\":\"a\",\"value\":1},{\"key\":\"b\",\"value\":[2]}]");
  EXPECT("get entries(m: {})", "[]");
  EXPECT("get entries(context: {x: null})", "[{\"key\":\"x\",\"value\":null}]");
  EXPECT("context(get entries({a: 1, b: {c: 2}})) = {a: 1, b: {c: 2}}", "true");
  EXPECT("context([{key: \"a\", value: 1}, {key: \"b\", value: 2}])", "{\"a\":1,\"b\":2}");
  EXPECT("context({key: \"a\", value: null})", "{\"a\":null}");
  EXPECT("context(entries: [{key: \"\", value: 1}])", "{\"\":1}");
  EXPECT_NULL("get entries([1])", "get entries: m must be a context");
  EXPECT_NULL("context([{key: \"a\", value: 1}, {key: \"a\", value: 2}])", "duplicate key \"a\"");
  EXPECT_NULL("context([{value: 1}])", "entry 1");
  EXPECT_NULL("context([{key: \"a\", value: 1}, {key: \"b\"}])", "entry 2");
  EXPECT_NULL("context([{key: 1, value: 1}])", "entry 1");
  EXPECT_NULL("context(\"foo\")", "context: entries must be");
}

static void test_context_put(void **state) {
  EXPECT("context put({a: 1}, \"b\", 2)", "{\"a\":1,\"b\":2}");
  EXPECT("context put({a: 1, b: 2}, \"a\", 3)", "{\"a\":3,\"b\":2}"); /* keeps its place */
  EXPECT("context put(context: {}, key: \"a\", value: null)", "{\"a\":null}");
  EXPECT("context put({x: 1, y: {a: 0}}, [\"y\", \"b\"], 2)", "{\"x\":1,\"y\":{\"a\":0,\"b\":2}}");
  EXPECT("context put(context: {}, keys: [\"a\", \"b\", \"c\"], value: 1)", "{\"a\":{\"b\":{\"c\":1}}}");
  /* The original is left alone. */
  EXPECT("{c: {a: {b: 1}}, d: context put(c, [\"a\", \"b\"], 2)}.c", "{\"a\":{\"b\":1}}");
  EXPECT_NULL("context put({x: 1, y: {a: 0}}, [\"y\", \"a\", \"b\"], 2)", "\"a\" is a number");
  EXPECT_NULL("context put(context: {}, key: [\"a\"], value: 1)", "key must be a string");
  EXPECT_NULL("context put({}, [], 1)", "empty");
  EXPECT_NULL("context put({}, [\"a\", null], 1)", "key 2");
  EXPECT_NULL("context put(null, \"a\", 1)", "context put: context is null");
}

static void test_context_merge(void **state) {
  EXPECT("context merge([{a: 1}, {b: 2}, {a: 3}])", "{\"a\":3,\"b\":2}");
  EXPECT("context merge([{a: {aa: 1}}, {a: {bb: 2}}])", "{\"a\":{\"bb\":2}}");
  EXPECT("context merge(contexts: {a: 1})", "{\"a\":1}");
  EXPECT("context merge([])", "{}");
  EXPECT_NULL("context merge([{a: 1}, 2])", "context merge: item 2");
  EXPECT_NULL("context merge(null)", "context merge");
}

static void test_out_of_memory(void **state) {
  check_oom("[get entries({a: 1, b: 2}), context([{key: \"k\", value: [1]}]), "
            "context put({x: {y: 1}}, [\"x\", \"z\", \"w\"], 2), context merge([{a: 1}, {a: 2, b: 3}]), "
            "get value({a: {b: \"v\"}}, [\"a\", \"b\"])]",
            "[[{\"key\":\"a\",\"value\":1},{\"key\":\"b\",\"value\":2}],{\"k\":[1]},"
            "{\"x\":{\"y\":1,\"z\":{\"w\":2}}},{\"a\":2,\"b\":3},\"v\"]");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_get_value_by_key_and_path),
      cmocka_unit_test(test_get_entries_and_context_round_trip),
      cmocka_unit_test(test_context_put),
      cmocka_unit_test(test_context_merge),
      cmocka_unit_test(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
