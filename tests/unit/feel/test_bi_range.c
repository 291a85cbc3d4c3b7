/*
 * Range built-ins (feel_bi_range.c), through compiled FEEL expressions: the
 * interval relations on points and ranges with open and closed ends, named
 * arguments by role, and range() reading a range from text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "feel/cf_feel.h"

/* ------------------------------------------------------------- helpers */

/*
 * Evaluates src with no variables and checks string() of the result. With
 * want_warn, the result must be null and a warning must say why.
 */
static void check(const char *src, const char *want, bool want_warn, int line) {
  struct cf_error err = {0};
  struct cf_feel_expr *e = cf_feel_compile(src, strlen(src), NULL, 0, &err);
  if (!e) fail_msg("line %d: %s does not compile: %s", line, src, err.msg);
  struct cf_feel_env env = {0};
  struct cf_feel_value out;
  struct cf_feel_warnings w;
  cf_feel_warnings_init(&w);
  int rc = cf_feel_eval(e, NULL, &env, &out, &w);
  if (rc != CF_OK) fail_msg("line %d: %s: eval failed with %d", line, src, rc);
  struct cf_buf b;
  cf_buf_init(&b);
  assert_int_equal(cf_feel_to_string(&out, &b), CF_OK);
  bool is_null = out.type == CF_FEEL_NULL;
  if (strcmp(b.data, want) != 0 || is_null != (strcmp(want, "null") == 0))
    fail_msg("line %d: %s gave %s%s, want %s", line, src, b.data,
             is_null ? " (null)" : "", want);
  if (want_warn && w.count + w.dropped == 0)
    fail_msg("line %d: %s gave null without a warning", line, src);
  if (!want_warn && w.count > 0)
    fail_msg("line %d: %s warned: %s", line, src, w.items[0]);
  cf_buf_release(&b);
  cf_feel_value_release(&out);
  cf_feel_warnings_release(&w);
  cf_feel_expr_free(e);
}

#define EXPECT(src, want) check(src, want, false, __LINE__)
#define EXPECT_NULL(src) check(src, "null", true, __LINE__)

/*
 * Makes every allocation fail in turn while evaluating src: each run must
 * give the right result or CF_ENOMEM, never crash or leak (ASan checks).
 */
static void check_oom(const char *src, const char *want) {
  for (long n = 0; n < 400; n++) {
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
      struct cf_buf b;
      cf_buf_init(&b);
      assert_int_equal(cf_feel_to_string(&out, &b), CF_OK);
      if (failures == 0 && strcmp(b.data, want) != 0)
        fail_msg("%s gave %s, want %s", src, b.data, want);
      cf_buf_release(&b);
    } else {
      assert_int_equal(rc, CF_ENOMEM);
      assert_int_equal(out.type, CF_FEEL_NULL);
    }
    cf_feel_value_release(&out);
    cf_feel_expr_free(e);
    if (failures == 0) return; /* the evaluation no longer reaches the failing allocation */
  }
}

/* ----------------------------------------------------------------- tests */

static void test_before_and_after(void **state) {
  EXPECT("before(1, 10)", "true");
  EXPECT("before(10, 1)", "false");
  EXPECT("before(1, [2..5])", "true");
  EXPECT("before(2, [2..5])", "false");
  EXPECT("before(2, (2..5])", "true");
  EXPECT("before([1..5], 10)", "true");
  EXPECT("before([1..5], 5)", "false");
  EXPECT("before([1..5), 5)", "true");
  EXPECT("before([1..5), [5..10])", "true");
  EXPECT("before([1..5], [5..10])", "false");
  EXPECT("before([1..5], (5..10])", "true");
  EXPECT("after(10, 1)", "true");
  EXPECT("after(12, [2..5])", "true");
  EXPECT("after([5..10], 4)", "true");
  EXPECT("after([5..10], 5)", "false");
  EXPECT("after((5..10], 5)", "true");
  EXPECT("after([5..10], [1..5))", "true");
  EXPECT("after([5..10], [1..5])", "false");
  EXPECT("before(@\"2024-01-01\", [@\"2024-02-01\"..@\"2024-03-01\"])", "true");
  EXPECT_NULL("before(1, \"a\")");
  EXPECT_NULL("before(null, 1)");
  EXPECT_NULL("after([1..5], [\"a\"..\"z\"])");
}

static void test_meets_and_overlaps(void **state) {
  EXPECT("meets([1..5], [5..10])", "true");
  EXPECT("meets([1..5), [5..10])", "false");
  EXPECT("meets([1..3], [4..10])", "false");
  EXPECT("met by([5..10], [1..5])", "true");
  EXPECT("met by([5..10], [1..5))", "false");
  EXPECT("overlaps([1..5], [3..8])", "true");
  EXPECT("overlaps([3..8], [1..5])", "true");
  EXPECT("overlaps([1..5], [5..8])", "true");
  EXPECT("overlaps([1..5), [5..8])", "false");
  EXPECT("overlaps([1..5], [6..8])", "false");
  EXPECT("overlaps([1..8], [3..5])", "true");
  EXPECT("overlaps before([1..5], [3..8])", "true");
  EXPECT("overlaps before([1..5], [1..8])", "false");
  EXPECT("overlaps before([1..5], (1..8])", "true");
  EXPECT("overlaps before([1..5], [6..8])", "false");
  EXPECT("overlaps after([3..8], [1..5])", "true");
  EXPECT("overlaps after([3..8], [3..5])", "false");
  EXPECT("overlaps after((3..8], [3..5])", "true");
  EXPECT_NULL("meets(1, [1..5])");
  EXPECT_NULL("overlaps([1..5], 3)");
}

static void test_starts_finishes_includes(void **state) {
  EXPECT("finishes(10, [1..10])", "true");
  EXPECT("finishes(10, [1..10))", "false");
  EXPECT("finishes([5..10], [1..10])", "true");
  EXPECT("finishes([5..10), [1..10])", "false");
  EXPECT("finished by([1..10], 10)", "true");
  EXPECT("finished by([1..10], [5..10])", "true");
  EXPECT("finished by([5..10], [1..10])", "false");
  EXPECT("includes([1..10], 5)", "true");
  EXPECT("includes([1..10], 10)", "true");
  EXPECT("includes([1..10), 10)", "false");
  EXPECT("includes([1..10], [4..6])", "true");
  EXPECT("includes([1..10), [4..10])", "false");
  EXPECT("includes((1..10], (1..5])", "true");
  EXPECT("during(5, [1..10])", "true");
  EXPECT("during(1, (1..10])", "false");
  EXPECT("during([4..6], [1..10])", "true");
  EXPECT("during([1..10], [4..6])", "false");
  EXPECT("starts(1, [1..10])", "true");
  EXPECT("starts(1, (1..10])", "false");
  EXPECT("starts([1..5], [1..10])", "true");
  EXPECT("starts((1..5], [1..10])", "false");
  EXPECT("started by([1..10], 1)", "true");
  EXPECT("started by([1..10], [1..5])", "true");
  EXPECT("started by([1..5], [1..10])", "false");
  EXPECT("coincides(5, 5)", "true");
  EXPECT("coincides(5, 6)", "false");
  EXPECT("coincides([1..5], [1..5])", "true");
  EXPECT("coincides([1..5], (1..5])", "false");
  EXPECT_NULL("coincides(1, [1..1])");
  EXPECT_NULL("includes(5, [1..10])");
  EXPECT_NULL("during(5, 6)");
}

static void test_named_arguments_by_role(void **state) {
  EXPECT("before(point1: 1, point2: 10)", "true");
  EXPECT("before(point: 1, range: [2..5])", "true");
  EXPECT("before(range1: [1..2], range2: [3..4])", "true");
  EXPECT("includes(range: [1..10], point: 5)", "true");
  EXPECT("includes(range1: [1..10], range2: [2..3])", "true");
  EXPECT("finished by(range: [1..10], point: 10)", "true");
  EXPECT("meets(range1: [1..5], range2: [5..10])", "true");
}

static void test_range_reads_text(void **state) {
  EXPECT("range(\"[1..10)\")", "[1..10)");
  EXPECT("range(\"]1..10[\") = (1..10)", "true");
  EXPECT("range(\" ( 1 .. 10 ] \") = (1..10]", "true");
  EXPECT("range(\"[-1.5..2]\")", "[-1.5..2]");
  EXPECT("range(from: \"[18..21]\") = [18..21]", "true");
  EXPECT("range(\"[\\\"a..b\\\"..\\\"c\\\"]\") = [\"a..b\"..\"c\"]", "true");
  EXPECT("range(\"[@\\\"2012-01-01\\\"..@\\\"2012-12-31\\\")\") = "
         "[date(\"2012-01-01\")..date(\"2012-12-31\"))",
         "true");
  EXPECT("range(\"[date(\\\"2012-01-01\\\")..date(\\\"2012-12-31\\\")]\") = "
         "[date(\"2012-01-01\")..date(\"2012-12-31\")]",
         "true");
  EXPECT("5 in range(\"[1..10]\")", "true");
  /* An end may be left out behind an open bracket only (the spec's examples). */
  EXPECT("range(\"[2..)\") = >= 2", "true");
  EXPECT("range(\"(..2)\") = < 2", "true");
  EXPECT("includes(range(\"[2..)\"), 10000)", "true");
  EXPECT("before(range(\"(..2)\"), 2)", "true");
  EXPECT_NULL("range(\"(..)\")");
  EXPECT_NULL("range(\"[..]\")");
  EXPECT_NULL("range(\"[1..]\")");
  EXPECT_NULL("range(\"[..1]\")");
  EXPECT_NULL("range(\"[3..1]\")");
  EXPECT_NULL("range(\"[1..\\\"a\\\"]\")");
  EXPECT_NULL("range(\"[1..2+3]\")");
  EXPECT_NULL("range(\"[time(string(\\\"10:00:00\\\"))..@\\\"11:00:00\\\"]\")");
  EXPECT_NULL("range(\">=10\")");
  EXPECT_NULL("range(\"\")");
  EXPECT_NULL("range([1..3])");
  EXPECT_NULL("range(\"[true..false]\")");
}

static void test_out_of_memory(void **state) {
  check_oom("[range(\"[1..10)\"), includes([1..10], 5)]", "[[1..10), true]");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_before_and_after),
      cmocka_unit_test(test_meets_and_overlaps),
      cmocka_unit_test(test_starts_finishes_includes),
      cmocka_unit_test(test_named_arguments_by_role),
      cmocka_unit_test(test_range_reads_text),
      cmocka_unit_test(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
