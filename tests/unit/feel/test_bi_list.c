/*
 * List built-ins (feel_bi_list.c), through compiled FEEL expressions: exact
 * money sums, statistics edge cases, positions from both ends, stable sort
 * with a user function, list replace by position and by match.
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

static void test_sums_of_money_stay_exact(void **state) {
  EXPECT("sum([0.1, 0.2])", "0.3");
  EXPECT("sum([19.99, 0.01, 1234567890123456789.5])", "1234567890123456809.5");
  EXPECT("sum(1, 2, 3)", "6");
  /* Rounded once at the end: the 1 survives beside numbers 40 digits long. */
  EXPECT("sum([10 ** 40, 1, -(10 ** 40)])", "1");
  EXPECT("sum(4)", "4");
  EXPECT("sum(list: [1, 2])", "3");
  EXPECT("sum([]) = null", "true");
  EXPECT_NULL("sum([1, \"2\"])");
  EXPECT_NULL("sum([1, null])");
  EXPECT_NULL("sum(null)");
  EXPECT("product([2.5, 1, 2.5, 3])", "18.75");
  EXPECT("product(2, 3, 4)", "24");
  EXPECT_NULL("product([1, 2, \"foo\"])");
}

static void test_statistics(void **state) {
  EXPECT("mean([1, 2, 3, 4])", "2.5");
  EXPECT("mean(1, 2)", "1.5");
  EXPECT("mean([1, 2, 2])", "1.666666666666666666666666666666667");
  EXPECT("mean([]) = null", "true");
  EXPECT("median([8, 2, 5, 3, 4])", "4");
  EXPECT("median([6, 1, 2, 3])", "2.5");
  EXPECT("median(4)", "4");
  EXPECT("median([]) = null", "true");
  EXPECT("stddev(2, 4, 7, 5)", "2.081665999466132735282297706979931");
  EXPECT("stddev([1.5, 1.5])", "0");
  EXPECT_NULL("stddev([47])"); /* a sample of one has no deviation */
  EXPECT_NULL("stddev([])");
  EXPECT_NULL("stddev([1, \"a\"])");
  EXPECT("mode([6, 3, 9, 6, 6])", "[6]");
  EXPECT("mode([6, 1, 9, 6, 1])", "[1, 6]");
  EXPECT("mode([])", "[]");
  EXPECT_NULL("mode([1, 2, \"foo\"])");
}

static void test_min_and_max_of_comparable_values(void **state) {
  EXPECT("min([3, 1, 2])", "1");
  EXPECT("max(3, 1, 2)", "3");
  EXPECT("min(5)", "5");
  EXPECT("max([\"apple\", \"pear\", \"fig\"])", "pear");
  EXPECT("min([date(\"2024-03-01\"), date(\"2023-12-31\")]) = date(\"2023-12-31\")", "true");
  EXPECT("max([duration(\"P1D\"), duration(\"PT36H\")]) = duration(\"PT36H\")", "true");
  EXPECT("min([]) = null", "true");
  EXPECT_NULL("max([1, \"a\"])");
  EXPECT_NULL("min([true, false])");
  EXPECT_NULL("max([1, null])");
}

static void test_all_and_any(void **state) {
  EXPECT("all([true, true])", "true");
  EXPECT("all([true, false, null])", "false");
  EXPECT("all([])", "true");
  EXPECT("all(true, null) = null", "true");
  EXPECT("all(false, 123)", "false");
  EXPECT("any([false, null, true])", "true");
  EXPECT("any([])", "false");
  EXPECT("any(false, false)", "false");
  EXPECT("any([false, null]) = null", "true");
  EXPECT_NULL("any([123, false])");
  EXPECT_NULL("all(123)");
  EXPECT_NULL("all(null)");
  EXPECT_NULL("all(l: [true])");
}

static void test_queries(void **state) {
  EXPECT("list contains([1, 2, 3], 2)", "true");
  EXPECT("list contains([1, 2.0], 2)", "true");
  EXPECT("list contains([1, null], null)", "true");
  EXPECT("list contains([1, 2], 5)", "false");
  EXPECT("count([1, [2, 3], null])", "3");
  EXPECT("count([])", "0");
  EXPECT("index of([1, 2, 3, 2], 2)", "[2, 4]");
  EXPECT("index of([1, 2], 5)", "[]");
  EXPECT("is empty([])", "true");
  EXPECT("is empty([null])", "false");
  EXPECT_NULL("count(null)");
  EXPECT_NULL("list contains(null, 1)");
}

static void test_positions_count_from_both_ends(void **state) {
  EXPECT("sublist([4, 5, 6], 1, 2)", "[4, 5]");
  EXPECT("sublist([4, 5, 6], -2)", "[5, 6]");
  EXPECT("sublist([4, 5, 6], 2, 0)", "[]");
  EXPECT("sublist([4, 5, 6], 2, 10)", "[5, 6]");
  EXPECT("sublist(list: [4, 5, 6], start position: 3)", "[6]");
  EXPECT_NULL("sublist([4, 5, 6], 0)");
  EXPECT_NULL("sublist([4, 5, 6], 4)");
  EXPECT_NULL("sublist([4, 5, 6], 1, -1)");
  EXPECT("insert before([1, 3], 2, 2)", "[1, 2, 3]");
  EXPECT("insert before([1, 3], -1, 2)", "[1, 2, 3]");
  EXPECT("insert before([1, 3], 1, null)", "[null, 1, 3]");
  EXPECT_NULL("insert before([1, 3], 3, 2)");
  EXPECT("remove([1, 2, 3], 2)", "[1, 3]");
  EXPECT("remove([1, 2, 3], -1)", "[1, 2]");
  EXPECT_NULL("remove([1, 2, 3], 4)");
  EXPECT_NULL("remove([1, 2, 3], \"1\")");
}

static void test_building_lists(void **state) {
  EXPECT("append([1], 2, 3)", "[1, 2, 3]");
  EXPECT("append([], null)", "[null]");
  EXPECT("concatenate([1, 2], [3], [])", "[1, 2, 3]");
  EXPECT_NULL("concatenate([1], null)");
  EXPECT("reverse([1, \"a\", [2]])", "[[2], \"a\", 1]");
  EXPECT("union([1, 2], [2, 3], [3.0, 4])", "[1, 2, 3, 4]");
  EXPECT("distinct values([1, 2, 1.0, \"a\", \"a\", null, null])", "[1, 2, \"a\", null]");
  EXPECT("duplicate values([1, 2, 1, 3, 2, 1])", "[1, 2]");
  EXPECT("flatten([[1, [2, [3]]], 4, []])", "[1, 2, 3, 4]");
  EXPECT("flatten([[\"w\", \"x\"], \"y\", \"z\"])", "[\"w\", \"x\", \"y\", \"z\"]");
  EXPECT("partition([1, 2, 3, 4, 5], 2)", "[[1, 2], [3, 4], [5]]");
  EXPECT("partition([], 2)", "[]");
  EXPECT_NULL("partition([1, 2], 0)");
  /* A single value where a list is expected counts as a one-item list. */
  EXPECT("count(7)", "1");
  EXPECT("reverse(7)", "[7]");
}

static void test_sort(void **state) {
  EXPECT("sort([3, 1, 2])", "[1, 2, 3]");
  EXPECT("sort([\"b\", \"a\", \"c\"])", "[\"a\", \"b\", \"c\"]");
  EXPECT("sort([3, 1, 2], function(x, y) x > y)", "[3, 2, 1]");
  EXPECT("sort(list: [3, 1, 2], precedes: function(x, y) x < y)", "[1, 2, 3]");
  /* Stable: items that do not precede each other keep their order. */
  EXPECT("sort([{k: 2, n: \"a\"}, {k: 1, n: \"b\"}, {k: 2, n: \"c\"}, {k: 1, n: \"d\"}],"
         " function(x, y) x.k < y.k).n",
         "[\"b\", \"d\", \"a\", \"c\"]");
  EXPECT("sort([])", "[]");
  EXPECT_NULL("sort([1, \"a\"])");
  EXPECT_NULL("sort([3, 1, 2], function(x, y) 1)");
  EXPECT_NULL("sort([3, 1], 5)");
  EXPECT_NULL("sort(null)");
}

static void test_list_replace(void **state) {
  EXPECT("list replace([1, 2, 3], 2, 4)", "[1, 4, 3]");
  EXPECT("list replace([1, 2, 3], -1, 4)", "[1, 2, 4]");
  EXPECT("list replace([1, 2, 3], 3, null)", "[1, 2, null]");
  EXPECT("list replace(position: 2, newItem: 4, list: [1, 2, 3])", "[1, 4, 3]");
  EXPECT("list replace(match: function(item, newItem) item = 2, newItem: 4, list: [1, 2, 3])",
         "[1, 4, 3]");
  EXPECT("list replace([1, 2, 3, 4], function(item, newItem) item > newItem, 2)", "[1, 2, 2, 2]");
  EXPECT("list replace(1, 1, 5)", "[5]");
  EXPECT_NULL("list replace([1, 2, 3], 4, 4)");
  EXPECT_NULL("list replace([1, 2, 3], null, 4)");
  EXPECT_NULL("list replace([2, 4], function(item, newItem) item, 5)");
  EXPECT_NULL("list replace([2, 4], function(item) item = 2, 5)");
}

static void test_out_of_memory(void **state) {
  CHECK_OOM("sort([3, 1, 2, 5, 4], function(a, b) a < b)", "[1, 2, 3, 4, 5]");
  CHECK_OOM("[union([1, 2], [2, 3]), flatten([[1], [[2]]]), mode([1, 1, 2])]",
            "[[1, 2, 3], [1, 2], [1]]");
  CHECK_OOM("list replace([1, 2, 3], function(item, newItem) item = 2, 9)", "[1, 9, 3]");
  CHECK_OOM("partition([1, 2, 3], 2)", "[[1, 2], [3]]");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sums_of_money_stay_exact),
      cmocka_unit_test(test_statistics),
      cmocka_unit_test(test_min_and_max_of_comparable_values),
      cmocka_unit_test(test_all_and_any),
      cmocka_unit_test(test_queries),
      cmocka_unit_test(test_positions_count_from_both_ends),
      cmocka_unit_test(test_building_lists),
      cmocka_unit_test(test_sort),
      cmocka_unit_test(test_list_replace),
      cmocka_unit_test(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
