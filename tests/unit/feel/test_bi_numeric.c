/*
 * Numeric built-ins (feel_bi_numeric.c), through compiled FEEL expressions:
 * rounding in every mode and on negative numbers, scale limits, modulo's
 * sign, 34-digit transcendental results, parity of huge integers.
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

static void test_decimal_rounds_half_even(void **state) {
  EXPECT("decimal(1/3, 2)", "0.33");
  EXPECT("decimal(2.5, 0)", "2");
  EXPECT("decimal(3.5, 0)", "4");
  EXPECT("decimal(-2.5, 0)", "-2");
  EXPECT("decimal(0.515, 2)", "0.52");
  EXPECT("decimal(n: 15/7, scale: 3)", "2.143");
  EXPECT("decimal(19.999, 2)", "20");
  EXPECT_NULL("decimal(1.5)");
  EXPECT_NULL("decimal(\"1.5\", 0)");
}

static void test_floor_and_ceiling_go_toward_infinities(void **state) {
  EXPECT("floor(1.5)", "1");
  EXPECT("floor(-1.5)", "-2");
  EXPECT("floor(-1.56, 1)", "-1.6");
  EXPECT("floor(1.56, 1)", "1.5");
  EXPECT("ceiling(1.5)", "2");
  EXPECT("ceiling(-1.5)", "-1");
  EXPECT("ceiling(-1.56, 1)", "-1.5");
  EXPECT("ceiling(n: 1.01)", "2");
  EXPECT_NULL("floor(null)");
  EXPECT_NULL("floor(1.56, null)");
  EXPECT_NULL("ceiling(\"1.5\")");
  EXPECT_NULL("floor(number: 1.5)"); /* the parameter is n */
}

static void test_rounding_modes_on_negative_numbers(void **state) {
  EXPECT("round up(5.5, 0)", "6");
  EXPECT("round up(-5.5, 0)", "-6");
  EXPECT("round up(-1.121, 2)", "-1.13");
  EXPECT("round down(5.5, 0)", "5");
  EXPECT("round down(-5.5, 0)", "-5");
  EXPECT("round down(-1.129, 2)", "-1.12");
  EXPECT("round half up(5.5, 0)", "6");
  EXPECT("round half up(-5.5, 0)", "-6");
  EXPECT("round half up(-1.125, 2)", "-1.13");
  EXPECT("round half up(-1.124, 2)", "-1.12");
  EXPECT("round half down(5.5, 0)", "5");
  EXPECT("round half down(-5.5, 0)", "-5");
  EXPECT("round half down(-1.125, 2)", "-1.12");
  EXPECT("round half down(-1.126, 2)", "-1.13");
  /* No negative zero comes out of rounding a small negative number. */
  EXPECT("string(round down(-0.4, 0))", "0");
  EXPECT("string(round half up(-0.004, 2))", "0");
}

static void test_scale_limits_and_negative_scales(void **state) {
  EXPECT("round up(12345, -2)", "12400");
  EXPECT("decimal(1250, -2)", "1200");
  EXPECT("round up(5.5, 6176)", "5.5");
  EXPECT("round down(5.5, 6176)", "5.5");
  EXPECT_NULL("round up(5.5, 6177)");
  EXPECT_NULL("round up(5.5, -6112)");
  EXPECT_NULL("round up(5.5, \"0\")");
  EXPECT_NULL("round up(5.5)");
  /* A fractional scale is truncated. */
  EXPECT("decimal(1/3, 2.9)", "0.33");
}

static void test_abs_of_numbers_and_durations(void **state) {
  EXPECT("abs(-1.5)", "1.5");
  EXPECT("abs(n: -1)", "1");
  EXPECT("abs(0)", "0");
  EXPECT("abs(duration(\"-P1D\")) = duration(\"P1D\")", "true");
  EXPECT("abs(duration(\"-P1Y2M\")) = duration(\"P1Y2M\")", "true");
  EXPECT_NULL("abs(number: -1)");
  EXPECT_NULL("abs(\"-1\")");
  EXPECT_NULL("abs(date(\"2018-12-06\"))");
}

static void test_modulo_takes_the_divisor_sign(void **state) {
  EXPECT("modulo(12, 5)", "2");
  EXPECT("modulo(-12, 5)", "3");
  EXPECT("modulo(12, -5)", "-3");
  EXPECT("modulo(-12, -5)", "-2");
  EXPECT("modulo(10.1, 4.5)", "1.1");
  EXPECT("modulo(-10.1, 4.5)", "3.4");
  EXPECT("modulo(10.1, -4.5)", "-3.4");
  EXPECT("modulo(-10.1, -4.5)", "-1.1");
  EXPECT("string(modulo(-10, 5))", "0");
  EXPECT("modulo(dividend: 10, divisor: 4)", "2");
  EXPECT_NULL("modulo(10, 0)");
  EXPECT_NULL("modulo(10, null)");
  EXPECT_NULL("modulo(\"10\", 4)");
}

static void test_transcendentals_have_34_digits(void **state) {
  EXPECT("sqrt(4)", "2");
  EXPECT("sqrt(2)", "1.414213562373095048801688724209698");
  EXPECT("sqrt(0)", "0");
  EXPECT("exp(0)", "1");
  EXPECT("exp(1)", "2.718281828459045235360287471352662");
  EXPECT("exp(number: 4)", "54.59815003314423907811026120286088");
  EXPECT("log(10)", "2.302585092994045684017991454684364");
  EXPECT("log(1)", "0");
  EXPECT_NULL("sqrt(-1)");
  EXPECT_NULL("log(0)");
  EXPECT_NULL("log(-1)");
  EXPECT_NULL("exp(100000)"); /* beyond DECIMAL128 */
  EXPECT_NULL("exp(n: 4)");
  EXPECT_NULL("sqrt(\"4\")");
}

static void test_odd_and_even(void **state) {
  EXPECT("odd(1)", "true");
  EXPECT("odd(-1)", "true");
  EXPECT("odd(2)", "false");
  EXPECT("even(0)", "true");
  EXPECT("even(-2)", "true");
  EXPECT("even(4.0)", "true");
  /* Beyond 34 digits: no division, which would fail. */
  EXPECT("even(10 ** 40)", "true");
  EXPECT("odd(10 ** 40)", "false");
  /* A fraction is neither odd nor even. */
  EXPECT("odd(1.5)", "false");
  EXPECT("even(1.5)", "false");
  EXPECT_NULL("even(\"4\")");
  EXPECT_NULL("odd(null)");
}

static void test_random_number_is_in_unit_interval(void **state) {
  for (int i = 0; i < 20; i++) EXPECT("random number() >= 0 and random number() < 1", "true");
  EXPECT("random number() != random number()", "true");
}

static void test_out_of_memory(void **state) {
  CHECK_OOM("[decimal(1/3, 2), sqrt(2), modulo(-12, 5)]", "[0.33, 1.414213562373095048801688724209698, 3]");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decimal_rounds_half_even),
      cmocka_unit_test(test_floor_and_ceiling_go_toward_infinities),
      cmocka_unit_test(test_rounding_modes_on_negative_numbers),
      cmocka_unit_test(test_scale_limits_and_negative_scales),
      cmocka_unit_test(test_abs_of_numbers_and_durations),
      cmocka_unit_test(test_modulo_takes_the_divisor_sign),
      cmocka_unit_test(test_transcendentals_have_34_digits),
      cmocka_unit_test(test_odd_and_even),
      cmocka_unit_test(test_random_number_is_in_unit_interval),
      cmocka_unit_test(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
