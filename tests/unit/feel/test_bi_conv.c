/*
 * Conversion built-ins (feel_bi_conv.c): string() of every kind of value,
 * number() with grouping and decimal separators, three-valued not(), and
 * Camunda's get or else() and assert().
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

static void test_string_of_values(void **state) {
  EXPECT("string(1.50)", "\"1.5\"");
  EXPECT("string(\"abc\")", "\"abc\"");
  EXPECT("string(true)", "\"true\"");
  EXPECT("string(date(\"2024-02-29\"))", "\"2024-02-29\"");
  EXPECT("string([1, \"a\"])", "\"[1, \\\"a\\\"]\"");
  EXPECT("string(from: -12345678901234567890.5)", "\"-12345678901234567890.5\"");
  EXPECT("string(null)", "null"); /* null stays null, quietly */
}

static void test_number_with_separators(void **state) {
  EXPECT("number(\"1.000.000,01\", \".\", \",\")", "1000000.01");
  EXPECT("number(\"1 000 000.01\", \" \", \".\")", "1000000.01");
  EXPECT("number(\"1,000,000\", \",\", null)", "1000000");
  EXPECT("number(\"1000000,5\", null, \",\")", "1000000.5");
  EXPECT("number(\"-12.5e2\")", "-1250");
  EXPECT("number(from: \"1,5\", grouping separator: \".\", decimal separator: \",\")", "1.5");
  EXPECT("number(\"12345678901234567890.123456789\")", "12345678901234567890.123456789");
  EXPECT_NULL("number(\"1,000,000.01\", \" \", \".\")", "not a number");
  EXPECT_NULL("number(\"1,000\", \":\", \".\")", "grouping separator");
  EXPECT_NULL("number(\"1,000\", \",\", \" \")", "decimal separator");
  EXPECT_NULL("number(\"1,000\", \",\", \",\")", "both");
  EXPECT_NULL("number(\"1\", 1, \".\")", "grouping separator");
  EXPECT_NULL("number(123)", "from must be a string");
  EXPECT_NULL("number(\"\")", "not a number");
  EXPECT_NULL("number(\" 1\")", "not a number");
}

static void test_not_is_three_valued(void **state) {
  EXPECT("not(true)", "false");
  EXPECT("not(negand: false)", "true");
  EXPECT("not(null)", "null");
  EXPECT_NULL("not(\"true\")", "not: negand must be a boolean");
}

static void test_get_or_else_and_assert(void **state) {
  EXPECT("get or else(null, \"default\")", "\"default\"");
  EXPECT("get or else(0, 1)", "0");
  EXPECT("get or else(value: false, default: true)", "false");
  EXPECT("assert(5, 5 > 3)", "5");
  EXPECT("assert(value: [1], condition: true)", "[1]");
  EXPECT_NULL("assert(5, 5 < 3)", "assert: assertion failed");
  EXPECT_NULL("assert(5, 5 < 3, \"too small\")", "too small");
  EXPECT_NULL("assert(5, null)", "assertion failed");
}

static void test_out_of_memory(void **state) {
  check_oom("[string([1, {a: \"b\"}]), number(\"1.000,5\", \".\", \",\"), not(false)]",
            "[\"[1, {a: \\\"b\\\"}]\",1000.5,true]");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_string_of_values),
      cmocka_unit_test(test_number_with_separators),
      cmocka_unit_test(test_not_is_three_valued),
      cmocka_unit_test(test_get_or_else_and_assert),
      cmocka_unit_test(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
