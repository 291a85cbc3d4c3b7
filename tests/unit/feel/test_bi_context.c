/*
 * Context built-ins (feel_bi_context.c): get value by key and by path,
 * get entries, context() from entries, context put with nested paths,
 * context merge, and the DMN and Camunda parameter names of each.
 */
#include "feel_check.h"

/* ------------------------------------------------------------- helpers */

/* No variables, a zeroed clock; results compared as JSON text (feel_check.h). */
#define EXPECT(src, want) feel_check(NULL, src, want, __LINE__)
#define EXPECT_NULL(src, what) feel_check_null(NULL, src, what, __LINE__)
#define CHECK_OOM(src, want) feel_check_oom(NULL, src, want, __LINE__)

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
  CHECK_OOM("[get entries({a: 1, b: 2}), context([{key: \"k\", value: [1]}]), "
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
