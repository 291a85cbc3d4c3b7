/*
 * Unit tests of src/base/cf_json.c: parsing that keeps every number's exact
 * text, errors that say where, and exact numbers on output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/cf_alloc.h"
#include "base/cf_json.h"
#include "crmflow/cf_error.h"

static struct json_object *parse_ok(const char *text) {
  struct cf_error err;
  cf_error_clear(&err);
  struct json_object *o = cf_json_parse(text, strlen(text), &err);
  if (!o) fail_msg("cf_json_parse(%s) failed: %s", text, err.msg);
  return o;
}

/* Parsing text must fail with CF_ESYNTAX and a message naming byte `at`. */
static void parse_fails_at(const char *text, size_t len, size_t at) {
  struct cf_error err;
  cf_error_clear(&err);
  struct json_object *o = cf_json_parse(text, len, &err);
  if (o) {
    json_object_put(o);
    fail_msg("cf_json_parse accepted %.*s", (int)len, text);
  }
  assert_int_equal(err.code, CF_ESYNTAX);
  char want[64];
  snprintf(want, sizeof want, "byte %zu:", at);
  if (!strstr(err.msg, want)) fail_msg("error for %.*s: \"%s\" does not say \"%s\"", (int)len, text,
                                       err.msg, want);
}

static void dump_is(struct json_object *o, const char *expect) {
  char *d = cf_json_dump(o);
  assert_non_null(d);
  assert_string_equal(d, expect);
  cf_free(d);
}

/* ---------------------------------------------------------------- numbers */

static const char *const exact_numbers[] = {
    "19.99",
    "12345678901234567891",
    "123456789012345678901234567890",
    "-12345678901234567891",
    "9223372036854775807",  /* INT64_MAX */
    "9223372036854775808",  /* one more */
    "18446744073709551616", /* UINT64_MAX + 1: json-c alone would clamp it */
    "0.1234567890123456789012",
    "0.30000000000000004",
    "1e5",
    "1.5E-7",
    "100",
    "0",
    "-7.25",
};

static void numbers_keep_their_text_at_top_level(void **state) {
  for (size_t i = 0; i < sizeof exact_numbers / sizeof *exact_numbers; i++) {
    const char *n = exact_numbers[i];
    struct json_object *o = parse_ok(n);
    const char *t = cf_json_number_text(o);
    assert_non_null(t);
    assert_string_equal(t, n);
    dump_is(o, n);
    json_object_put(o);
  }
}

static void numbers_keep_their_text_inside_containers(void **state) {
  for (size_t i = 0; i < sizeof exact_numbers / sizeof *exact_numbers; i++) {
    const char *n = exact_numbers[i];
    char text[200], expect[200];
    snprintf(text, sizeof text, "{\"a\": [1, %s, {\"b\": %s}], \"c\": %s }", n, n, n);
    snprintf(expect, sizeof expect, "{\"a\":[1,%s,{\"b\":%s}],\"c\":%s}", n, n, n);
    struct json_object *o = parse_ok(text);
    struct json_object *a = json_object_object_get(o, "a");
    assert_string_equal(cf_json_number_text(json_object_array_get_idx(a, 1)), n);
    struct json_object *b = json_object_object_get(json_object_array_get_idx(a, 2), "b");
    assert_string_equal(cf_json_number_text(b), n);
    assert_string_equal(cf_json_number_text(json_object_object_get(o, "c")), n);
    dump_is(o, expect);
    json_object_put(o);
  }
}

static void long_integer_values_are_right(void **state) {
  /* The exact text is what counts, but a double reader must not see garbage either. */
  struct json_object *o = parse_ok("[12345678901234567891, 100000000000000000000000]");
  double d = json_object_get_double(json_object_array_get_idx(o, 0));
  assert_true(d > 1.2345678e19 && d < 1.2345679e19);
  d = json_object_get_double(json_object_array_get_idx(o, 1));
  assert_true(d > 0.99e23 && d < 1.01e23);
  json_object_put(o);
}

static void strings_with_digits_are_untouched(void **state) {
  const char *text =
      "{\"id\": \"12345678901234567891\", \"s\": \"a 123456789012345678901234 b\", "
      "\"esc\": \"\\\"12345678901234567891\", \"tail\": \"x\\\\\", "
      "\"12345678901234567891\": 12345678901234567891}";
  struct json_object *o = parse_ok(text);
  assert_string_equal(json_object_get_string(json_object_object_get(o, "id")),
                      "12345678901234567891");
  assert_int_equal(json_object_get_type(json_object_object_get(o, "id")), json_type_string);
  assert_string_equal(json_object_get_string(json_object_object_get(o, "s")),
                      "a 123456789012345678901234 b");
  assert_string_equal(json_object_get_string(json_object_object_get(o, "esc")),
                      "\"12345678901234567891");
  assert_string_equal(json_object_get_string(json_object_object_get(o, "tail")), "x\\");
  /* The key is a string too; its value, after the escaped quote and backslash, is a number. */
  struct json_object *v = json_object_object_get(o, "12345678901234567891");
  assert_non_null(v);
  assert_string_equal(cf_json_number_text(v), "12345678901234567891");
  json_object_put(o);
}

static void number_text_of_non_numbers_is_null(void **state) {
  assert_null(cf_json_number_text(NULL));
  struct json_object *o = parse_ok("[\"12\", true, null, {}, []]");
  for (size_t i = 0; i < json_object_array_length(o); i++)
    assert_null(cf_json_number_text(json_object_array_get_idx(o, i)));
  json_object_put(o);
}

static void new_number_serializes_exactly(void **state) {
  struct json_object *obj = json_object_new_object();
  json_object_object_add(obj, "price", cf_json_new_number("19.99"));
  json_object_object_add(obj, "big", cf_json_new_number("12345678901234567891"));
  json_object_object_add(obj, "tiny", cf_json_new_number("0.000000000000000000001"));
  dump_is(obj, "{\"price\":19.99,\"big\":12345678901234567891,\"tiny\":0.000000000000000000001}");
  assert_string_equal(cf_json_number_text(json_object_object_get(obj, "price")), "19.99");
  json_object_put(obj);
}

static void dump_does_not_escape_slashes(void **state) {
  struct json_object *o = parse_ok("{\"url\": \"https://x.test/a\", \"s\": \"\\u00e9\\n\"}");
  dump_is(o, "{\"url\":\"https://x.test/a\",\"s\":\"\xc3\xa9\\n\"}");
  json_object_put(o);
}

/* ----------------------------------------------------------------- errors */

static void errors_name_the_byte_offset(void **state) {
  parse_fails_at("{\"a\": 1,}", 9, 8);       /* trailing comma: strict JSON */
  parse_fails_at("[1, 2 3]", 8, 6);
  parse_fails_at("{\"a\" 1}", 7, 5);
  parse_fails_at("[tru]", 5, 1);
  parse_fails_at("{\"a\": NaN}", 11, 6);
  parse_fails_at("[1, 1.]", 7, 4);
  /* Offsets count the caller's bytes, even after a long integer. */
  parse_fails_at("[12345678901234567891, x]", 25, 23);
  parse_fails_at("[123456789012345678901234567890, 12345678901234567891, ?]", 57, 55);
}

static void truncated_input_names_the_end(void **state) {
  parse_fails_at("[1, 2", 5, 5);
  parse_fails_at("{\"a\": ", 6, 6);
  parse_fails_at("\"open", 5, 5);
  parse_fails_at("", 0, 0);
  parse_fails_at("   ", 3, 3);
}

static void trailing_text_is_refused(void **state) {
  parse_fails_at("{\"a\":1} x", 9, 8);
  parse_fails_at("1 2", 3, 2);
  parse_fails_at("[1]]", 4, 3);
  parse_fails_at("\"a\" \"b\"", 7, 4);
  parse_fails_at("12345678901234567891 7", 22, 21);
  parse_fails_at("true false", 10, 5);
  /* A NUL inside the given length is text, not an end. */
  parse_fails_at("[1]\0 ", 5, 3);
}

static void trailing_space_is_fine(void **state) {
  struct json_object *o = parse_ok("  [1] \n\t\r ");
  assert_int_equal(json_object_array_length(o), 1);
  json_object_put(o);
  o = parse_ok("7 ");
  assert_string_equal(cf_json_number_text(o), "7");
  json_object_put(o);
}

static void length_bounds_the_text(void **state) {
  /* The text need not be NUL-terminated: only len bytes are read. */
  const char text[] = "[1,2]garbage";
  struct cf_error err;
  struct json_object *o = cf_json_parse(text, 5, &err);
  assert_non_null(o);
  assert_int_equal(json_object_array_length(o), 2);
  json_object_put(o);
  o = cf_json_parse("12345678901234567891999", 20, &err);
  assert_non_null(o);
  assert_string_equal(cf_json_number_text(o), "12345678901234567891");
  json_object_put(o);
}

/* json-c spells JSON null as NULL; err->code tells it from a failure. */
static void json_null_is_null_with_ok(void **state) {
  struct cf_error err;
  cf_error_set(&err, CF_EIO, "stale");
  assert_null(cf_json_parse(" null ", 6, &err));
  assert_int_equal(err.code, CF_OK);
  assert_null(cf_json_parse("nul", 3, &err));
  assert_int_equal(err.code, CF_ESYNTAX);
}

static void null_err_is_allowed(void **state) {
  assert_null(cf_json_parse("nope", 4, NULL));
  struct json_object *o = cf_json_parse("{}", 2, NULL);
  assert_non_null(o);
  json_object_put(o);
}

static void non_json_is_refused(void **state) {
  /* json-c lets several of these through even in strict mode; cf_json must not. */
  static const char *const bad[] = {
      "[1,2,]", "{a: 1}", "NaN",  "[Infinity]", "[-Infinity]", "'x'",         "{'a': 1}",
      "[01]",   "00",     "-01",  "+1",         "[1.]",        "[.5]",        "[1e]",
      "[0x10]", "[nan]",  "None", "[1,/*c*/2]", "\"a\tb\"",     "[\"\x01\"]",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    struct cf_error err;
    cf_error_clear(&err);
    struct json_object *o = cf_json_parse(bad[i], strlen(bad[i]), &err);
    if (o) {
      json_object_put(o);
      fail_msg("accepted non-JSON %s", bad[i]);
    }
    assert_int_equal(err.code, CF_ESYNTAX);
  }
}

static void deep_nesting_is_an_error_not_a_crash(void **state) {
  char text[2001];
  memset(text, '[', 1000);
  memset(text + 1000, ']', 1000);
  text[2000] = '\0';
  struct cf_error err;
  struct json_object *o = cf_json_parse(text, 2000, &err);
  assert_null(o);
  assert_int_equal(err.code, CF_ESYNTAX);
}

/* Out of memory in our own allocations: NULL and CF_ENOMEM, never a crash or a leak. */
static void parse_under_fault_injection(void **state) {
  const char *text = "{\"a\": [12345678901234567891, 2.5, \"x\"], \"b\": 123456789012345678901234}";
  bool succeeded = false;
  for (long n = 0; n < 50 && !succeeded; n++) {
    struct cf_error err;
    cf_error_clear(&err);
    cf_alloc_fail_after(n);
    struct json_object *o = cf_json_parse(text, strlen(text), &err);
    long failures = cf_alloc_failures();
    cf_alloc_fail_reset();
    if (o) {
      dump_is(o, "{\"a\":[12345678901234567891,2.5,\"x\"],\"b\":123456789012345678901234}");
      json_object_put(o);
      succeeded = failures == 0;
    } else {
      assert_int_equal(err.code, CF_ENOMEM);
      assert_true(failures > 0);
    }
  }
  assert_true(succeeded);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(numbers_keep_their_text_at_top_level),
      cmocka_unit_test(numbers_keep_their_text_inside_containers),
      cmocka_unit_test(long_integer_values_are_right),
      cmocka_unit_test(strings_with_digits_are_untouched),
      cmocka_unit_test(number_text_of_non_numbers_is_null),
      cmocka_unit_test(new_number_serializes_exactly),
      cmocka_unit_test(dump_does_not_escape_slashes),
      cmocka_unit_test(errors_name_the_byte_offset),
      cmocka_unit_test(truncated_input_names_the_end),
      cmocka_unit_test(trailing_text_is_refused),
      cmocka_unit_test(trailing_space_is_fine),
      cmocka_unit_test(length_bounds_the_text),
      cmocka_unit_test(json_null_is_null_with_ok),
      cmocka_unit_test(null_err_is_allowed),
      cmocka_unit_test(non_json_is_refused),
      cmocka_unit_test(deep_nesting_is_an_error_not_a_crash),
      cmocka_unit_test(parse_under_fault_injection),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
