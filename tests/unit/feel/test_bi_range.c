/*
 * Range built-ins (feel_bi_range.c), through compiled FEEL expressions: the
 * interval relations on points and ranges with open and closed ends, named
 * arguments by role, and range() reading a range from text.
 */
#include "feel_check.h"

/* ------------------------------------------------------------- helpers */

/*
 * No variables, a zeroed clock; results compared as string() gives them
 * (feel_check.h). EXPECT_NULL wants null with a warning, whatever it says.
 */
static const struct feel_opts string_form = {.form = FEEL_FORM_STRING, .oom_steps = 400};
#define EXPECT(src, want) feel_check(&string_form, src, want, __LINE__)
#define EXPECT_NULL(src) feel_check_null(&string_form, src, NULL, __LINE__)
#define CHECK_OOM(src, want) feel_check_oom(&string_form, src, want, __LINE__)

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
  CHECK_OOM("[range(\"[1..10)\"), includes([1..10], 5)]", "[[1..10), true]");
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
