/*
 * Conversion built-ins (feel_bi_conv.c): string() of every kind of value,
 * number() with grouping and decimal separators, three-valued not(), and
 * Camunda's get or else() and assert().
 */
#include "feel_check.h"

/* ------------------------------------------------------------- helpers */

/* No variables, a zeroed clock; results compared as JSON text (feel_check.h). */
#define EXPECT(src, want) feel_check(NULL, src, want, __LINE__)
#define EXPECT_NULL(src, what) feel_check_null(NULL, src, what, __LINE__)
#define CHECK_OOM(src, want) feel_check_oom(NULL, src, want, __LINE__)

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
  CHECK_OOM("[string([1, {a: \"b\"}]), number(\"1.000,5\", \".\", \",\"), not(false)]",
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
