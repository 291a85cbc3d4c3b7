/*
 * The FEEL parser and evaluator: syntax, scoping, iteration, functions,
 * unary tests, errors as values, and the guards against hostile input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cf_json.h"
#include "feel/cf_feel.h"

#include "feel_check.h"

/* 2026-01-01T09:00:00Z */
static const struct cf_feel_env eval_env = {1767258000, 0, NULL};
static const struct feel_opts no_vars = {.env = &eval_env};

/*
 * The result of src with vars (JSON text of an object, or NULL), as JSON,
 * must be want; warnings are not looked at.
 */
#define EXPECT(src, vars_json, want) \
  feel_check_result(&(struct feel_opts){.vars = (vars_json), .env = &eval_env}, src, want, __LINE__)

static void test_arithmetic_is_exact(void **state) {
  EXPECT("0.1 + 0.2", NULL, "0.3");
  EXPECT("1 / 3", NULL, "0.3333333333333333333333333333333333");
  EXPECT("19.99 * 3", NULL, "59.97");
  EXPECT("2 ** 10", NULL, "1024");
  EXPECT("-(3 - 5)", NULL, "2");
  EXPECT("10 / 0", NULL, "null");
  EXPECT("\"a\" + \"b\"", NULL, "\"ab\"");
}

static void test_variables_and_paths(void **state) {
  EXPECT("amount > 1000", "{\"amount\": 1500}", "true");
  EXPECT("order.customer.tier", "{\"order\": {\"customer\": {\"tier\": \"gold\"}}}", "\"gold\"");
  EXPECT("order.items.price", "{\"order\": {\"items\": [{\"price\": 1}, {\"price\": 2.5}]}}", "[1,2.5]");
  EXPECT("Order Total * 2", "{\"Order Total\": 21}", "42");
  feel_check_null(&no_vars, "missing + 1", "missing", __LINE__);
}

static void test_filters(void **state) {
  EXPECT("[1, 5, 10][item > 3]", NULL, "[5,10]");
  EXPECT("[1, 5, 10][-1]", NULL, "10");
  EXPECT("[1, 5, 10][2]", NULL, "5");
  EXPECT("[1, 5, 10][4]", NULL, "null");
  EXPECT("items[price > 100].name",
         "{\"items\": [{\"name\": \"a\", \"price\": 50}, {\"name\": \"b\", \"price\": 150}]}", "[\"b\"]");
  EXPECT("[][item > 1]", NULL, "[]");
}

static void test_iteration(void **state) {
  EXPECT("for x in [1, 2], y in [10, 20] return x * y", NULL, "[10,20,20,40]");
  EXPECT("for i in 3..1 return i", NULL, "[3,2,1]");
  EXPECT("for i in 0..4 return if i = 0 then 1 else i * partial[-1]", NULL, "[1,1,2,6,24]");
  EXPECT("some x in [1, 5] satisfies x > 3", NULL, "true");
  EXPECT("every x in [1, 5] satisfies x > 3", NULL, "false");
  EXPECT("every x in [] satisfies x > 3", NULL, "true");
}

static void test_contexts_and_functions(void **state) {
  EXPECT("{a: 1, b: a + 1, c: {d: b * 2}}.c.d", NULL, "4");
  EXPECT("{\"with space\": 1}.`with space`", NULL, "1");
  EXPECT("(function(a, b) a - b)(b: 1, a: 10)", NULL, "9");
  EXPECT("{add: function(x) x + n, n: 5, r: add(1)}.r", NULL, "6");
  EXPECT("{fact: function(n) if n <= 1 then 1 else n * fact(n - 1), r: fact(10)}.r", NULL, "3628800");
  EXPECT("{f: function(x) function(y) x + y, g: f(2), r: g(3)}.r", NULL, "5");
  EXPECT("substring(string: \"abcdef\", start position: 3)", NULL, "\"cdef\"");
}

static void test_comparisons_and_logic(void **state) {
  EXPECT("5 between 1 and 10", NULL, "true");
  EXPECT("5 in [1..10)", NULL, "true");
  EXPECT("10 in [1..10)", NULL, "false");
  EXPECT("\"b\" in (\"a\", \"b\")", NULL, "true");
  EXPECT("7 in (< 5, > 6)", NULL, "true");
  EXPECT("true and null", NULL, "null");
  EXPECT("false and null", NULL, "false");
  EXPECT("true or null", NULL, "true");
  EXPECT("1 = \"1\"", NULL, "null");
  EXPECT("null = null", NULL, "true");
  EXPECT("[1, 2] = [1, 2]", NULL, "true");
  EXPECT("\"x\" instance of string", NULL, "true");
  EXPECT("[1, 2] instance of list<number>", NULL, "true");
  EXPECT("{a: 1} instance of context<a: string>", NULL, "false");
  EXPECT("if 1 > 2 then \"a\" else \"b\"", NULL, "\"b\"");
  EXPECT("if null then \"a\" else \"b\"", NULL, "\"b\"");
}

static void test_is_defined(void **state) {
  EXPECT("is defined(x)", "{\"x\": null}", "true");
  EXPECT("is defined(y)", "{\"x\": 1}", "false");
  EXPECT("is defined(x.a)", "{\"x\": {\"b\": 1}}", "false");
}

static void test_syntax_errors_name_position(void **state) {
  feel_check_syntax(&no_vars, "1 +\n  * 2", "line 2, column 3", __LINE__);
  feel_check_syntax(&no_vars, "if x then 1", "else", __LINE__);
  feel_check_syntax(&no_vars, "{a: 1, a: 2}", "duplicate", __LINE__);
  feel_check_syntax(&no_vars, "\"unterminated", NULL, __LINE__);
}

static void test_hostile_input_is_bounded(void **state) {
  feel_check_null(&no_vars, "for i in 1..1000000000 return i", NULL, __LINE__);
  feel_check_null(&no_vars, "{f: function(n) f(n + 1), r: f(1)}.r", "deep", __LINE__);
  /* Deep nesting is a syntax error, not a stack overflow. */
  size_t depth = 5000;
  char *src = malloc(depth * 2 + 2);
  assert_non_null(src);
  for (size_t i = 0; i < depth; i++) src[i] = '(';
  src[depth] = '1';
  for (size_t i = 0; i < depth; i++) src[depth + 1 + i] = ')';
  src[depth * 2 + 1] = '\0';
  feel_check_syntax(&no_vars, src, NULL, __LINE__);
  free(src);
}

static void test_unary_tests(void **state) {
  struct {
    const char *tests, *input;
    const char *want;
  } cases[] = {
      {"> 1000", "1500", "true"},   {"> 1000", "500", "false"},
      {"[1..10]", "10", "true"},    {"\"gold\", \"silver\"", "\"silver\"", "true"},
      {"-", "\"anything\"", "true"}, {"not(\"gold\")", "\"gold\"", "false"},
      {"? > 5 and ? < 10", "7", "true"}, {"null", "null", "true"},
      {"<= date(\"2026-01-01\")", "\"x\"", "null"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    feel_check_result(&(struct feel_opts){.unary = true, .input = cases[i].input}, cases[i].tests,
                      cases[i].want, __LINE__);
}

static void test_compile_once_evaluate_many(void **state) {
  struct cf_error err;
  struct cf_feel_expr *e = cf_feel_compile("amount > limit", 14, NULL, 0, &err);
  assert_non_null(e);
  for (int i = 0; i < 100; i++) {
    char text[64];
    snprintf(text, sizeof text, "{\"amount\": %d, \"limit\": 50}", i);
    struct json_object *j = cf_json_parse(text, strlen(text), &err);
    struct cf_feel_value vars, out;
    cf_feel_from_json(j, &vars);
    json_object_put(j);
    assert_int_equal(cf_feel_eval(e, &vars, NULL, &out, NULL), CF_OK);
    assert_int_equal(out.type, CF_FEEL_BOOLEAN);
    assert_int_equal(out.u.boolean, i > 50);
    cf_feel_value_release(&vars);
  }
  cf_feel_expr_free(e);
}

static void test_function_value_outlives_its_expression(void **state) {
  struct cf_error err;
  struct cf_feel_expr *e = cf_feel_compile("function(x) x * 2", 17, NULL, 0, &err);
  struct cf_feel_value fn, out;
  assert_int_equal(cf_feel_eval(e, NULL, NULL, &fn, NULL), CF_OK);
  cf_feel_expr_free(e); /* the function value keeps its body alive */
  struct cf_feel_value vars;
  cf_feel_ctx_new(&vars, 1);
  cf_feel_ctx_put(&vars, "double", 6, &fn);
  e = cf_feel_compile("double(21)", 10, NULL, 0, &err);
  assert_int_equal(cf_feel_eval(e, &vars, NULL, &out, NULL), CF_OK);
  int64_t n;
  assert_true(cf_feel_number_to_int64(&out, &n));
  assert_int_equal(n, 42);
  cf_feel_expr_free(e);
  cf_feel_value_release(&vars);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_arithmetic_is_exact),
      cmocka_unit_test(test_variables_and_paths),
      cmocka_unit_test(test_filters),
      cmocka_unit_test(test_iteration),
      cmocka_unit_test(test_contexts_and_functions),
      cmocka_unit_test(test_comparisons_and_logic),
      cmocka_unit_test(test_is_defined),
      cmocka_unit_test(test_syntax_errors_name_position),
      cmocka_unit_test(test_hostile_input_is_bounded),
      cmocka_unit_test(test_unary_tests),
      cmocka_unit_test(test_compile_once_evaluate_many),
      cmocka_unit_test(test_function_value_outlives_its_expression),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
