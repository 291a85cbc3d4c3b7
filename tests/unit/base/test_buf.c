/* Unit tests of src/base/cf_buf.c: growable string builders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "crmflow/cf_error.h"

static void init_is_empty_string(void **state) {
  struct cf_buf b;
  cf_buf_init(&b);
  assert_non_null(b.data);
  assert_string_equal(b.data, "");
  assert_int_equal(b.len, 0);
  assert_false(b.oom);
  cf_buf_release(&b); /* releasing a buffer that never allocated is fine */
  cf_buf_release(&b); /* and so is releasing twice */
  assert_string_equal(b.data, "");
}

static void appends_build_a_string(void **state) {
  struct cf_buf b;
  cf_buf_init(&b);
  assert_int_equal(cf_buf_puts(&b, "hello"), CF_OK);
  assert_int_equal(cf_buf_putc(&b, ','), CF_OK);
  assert_int_equal(cf_buf_append(&b, " world!!!", 6), CF_OK);
  assert_int_equal(cf_buf_printf(&b, " %d-%s", 42, "x"), CF_OK);
  assert_string_equal(b.data, "hello, world 42-x");
  assert_int_equal(b.len, strlen("hello, world 42-x"));
  cf_buf_release(&b);
}

static void append_keeps_embedded_nul(void **state) {
  struct cf_buf b;
  cf_buf_init(&b);
  assert_int_equal(cf_buf_append(&b, "a\0b", 3), CF_OK);
  assert_int_equal(b.len, 3);
  assert_memory_equal(b.data, "a\0b", 4); /* and a terminating NUL after */
  cf_buf_release(&b);
}

static void printf_longer_than_the_small_buffer(void **state) {
  char big[1000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  struct cf_buf b;
  cf_buf_init(&b);
  cf_buf_puts(&b, "<");
  assert_int_equal(cf_buf_printf(&b, "%s|%d", big, 7), CF_OK);
  assert_int_equal(b.len, 1 + 999 + 2);
  assert_int_equal(b.data[0], '<');
  assert_memory_equal(b.data + 1, big, 999);
  assert_string_equal(b.data + 1000, "|7");
  cf_buf_release(&b);
}

static void grows_over_many_appends(void **state) {
  struct cf_buf b;
  cf_buf_init(&b);
  for (int i = 0; i < 10000; i++) assert_int_equal(cf_buf_putc(&b, (char)('a' + i % 26)), CF_OK);
  assert_int_equal(b.len, 10000);
  assert_true(b.cap > b.len);
  assert_int_equal(b.data[10000], '\0');
  for (int i = 0; i < 10000; i++) assert_int_equal(b.data[i], 'a' + i % 26);
  cf_buf_release(&b);
}

static void reserve_then_append_does_not_move(void **state) {
  struct cf_buf b;
  cf_buf_init(&b);
  assert_int_equal(cf_buf_reserve(&b, 500), CF_OK);
  char *before = b.data;
  size_t cap = b.cap;
  assert_true(cap >= 501);
  for (int i = 0; i < 500; i++) cf_buf_putc(&b, 'z');
  assert_ptr_equal(b.data, before);
  assert_int_equal(b.cap, cap);
  cf_buf_release(&b);
}

static void reset_empties_and_keeps_memory(void **state) {
  struct cf_buf b;
  cf_buf_init(&b);
  cf_buf_puts(&b, "some text");
  size_t cap = b.cap;
  char *mem = b.data;
  cf_buf_reset(&b);
  assert_int_equal(b.len, 0);
  assert_string_equal(b.data, "");
  assert_int_equal(b.cap, cap);
  assert_ptr_equal(b.data, mem);
  cf_buf_puts(&b, "new");
  assert_string_equal(b.data, "new");
  cf_buf_release(&b);
}

static void detach_hands_over_and_resets(void **state) {
  struct cf_buf b;
  cf_buf_init(&b);
  cf_buf_puts(&b, "mine");
  char *s = cf_buf_detach(&b);
  assert_string_equal(s, "mine");
  assert_int_equal(b.len, 0);
  assert_string_equal(b.data, "");
  cf_free(s);
  /* Detaching an empty buffer still gives an allocated "" the caller frees. */
  s = cf_buf_detach(&b);
  assert_non_null(s);
  assert_string_equal(s, "");
  cf_free(s);
  cf_buf_release(&b);
}

/* The JSON literal must parse back, with json-c, to exactly the input bytes. */
static void check_json_round_trip(const char *s, size_t len, const char *expect) {
  struct cf_buf b;
  cf_buf_init(&b);
  assert_int_equal(cf_buf_json_string(&b, s, len), CF_OK);
  if (expect) assert_string_equal(b.data, expect);
  struct json_object *o = json_tokener_parse(b.data);
  assert_non_null(o);
  assert_int_equal(json_object_get_type(o), json_type_string);
  assert_int_equal(json_object_get_string_len(o), len);
  assert_memory_equal(json_object_get_string(o), s, len);
  json_object_put(o);
  cf_buf_release(&b);
}

static void json_string_escapes(void **state) {
  check_json_round_trip("plain", 5, "\"plain\"");
  check_json_round_trip("", 0, "\"\"");
  check_json_round_trip("say \"hi\"", 8, "\"say \\\"hi\\\"\"");
  check_json_round_trip("a\\b", 3, "\"a\\\\b\"");
  check_json_round_trip("l1\nl2\r\t\b\f", 9, "\"l1\\nl2\\r\\t\\b\\f\"");
  check_json_round_trip("\x01\x1f", 2, "\"\\u0001\\u001f\"");
  check_json_round_trip("a\0b", 3, "\"a\\u0000b\"");
  check_json_round_trip("caf\xc3\xa9 \xe2\x82\xac", 9, "\"caf\xc3\xa9 \xe2\x82\xac\"");
  check_json_round_trip("a/b</script>", 12, NULL);
}

static void json_string_appends_to_existing_text(void **state) {
  struct cf_buf b;
  cf_buf_init(&b);
  cf_buf_puts(&b, "{\"k\":");
  cf_buf_json_string(&b, "v\"", 2);
  cf_buf_putc(&b, '}');
  assert_string_equal(b.data, "{\"k\":\"v\\\"\"}");
  cf_buf_release(&b);
}

/* A size that wraps around size_t must fail, not write out of bounds. */
static void reserve_huge_is_enomem_not_overflow(void **state) {
  struct cf_buf b;
  cf_buf_init(&b);
  cf_buf_puts(&b, "abc");
  assert_int_equal(cf_buf_reserve(&b, SIZE_MAX), CF_ENOMEM);
  assert_true(b.oom);
  assert_string_equal(b.data, "abc"); /* the contents are untouched */
  cf_buf_release(&b);

  cf_buf_init(&b);
  cf_buf_puts(&b, "abc");
  assert_int_equal(cf_buf_reserve(&b, SIZE_MAX - 3), CF_ENOMEM);
  cf_buf_release(&b);
}

static void oom_is_sticky_until_reset(void **state) {
  struct cf_buf b;
  cf_buf_init(&b);
  cf_buf_puts(&b, "ok ");
  cf_alloc_fail_after(0);
  char big[200];
  memset(big, 'y', sizeof big);
  assert_int_equal(cf_buf_append(&b, big, sizeof big), CF_ENOMEM);
  cf_alloc_fail_reset();
  assert_true(b.oom);
  /* Later appends are no-ops that report the failure, even small ones. */
  assert_int_equal(cf_buf_puts(&b, "x"), CF_ENOMEM);
  assert_int_equal(cf_buf_printf(&b, "%d", 1), CF_ENOMEM);
  assert_int_equal(cf_buf_json_string(&b, "q", 1), CF_ENOMEM);
  assert_string_equal(b.data, "ok ");
  /* Detach of a failed buffer gives NULL and frees what it held. */
  assert_null(cf_buf_detach(&b));
  assert_int_equal(b.len, 0);
  assert_false(b.oom);
  assert_int_equal(cf_buf_puts(&b, "again"), CF_OK);
  assert_string_equal(b.data, "again");
  cf_buf_release(&b);
}

static void reset_clears_oom(void **state) {
  struct cf_buf b;
  cf_buf_init(&b);
  cf_alloc_fail_after(0);
  assert_int_equal(cf_buf_puts(&b, "x"), CF_ENOMEM);
  cf_alloc_fail_reset();
  cf_buf_reset(&b);
  assert_false(b.oom);
  assert_int_equal(cf_buf_puts(&b, "y"), CF_OK);
  assert_string_equal(b.data, "y");
  cf_buf_release(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(init_is_empty_string),
      cmocka_unit_test(appends_build_a_string),
      cmocka_unit_test(append_keeps_embedded_nul),
      cmocka_unit_test(printf_longer_than_the_small_buffer),
      cmocka_unit_test(grows_over_many_appends),
      cmocka_unit_test(reserve_then_append_does_not_move),
      cmocka_unit_test(reset_empties_and_keeps_memory),
      cmocka_unit_test(detach_hands_over_and_resets),
      cmocka_unit_test(json_string_escapes),
      cmocka_unit_test(json_string_appends_to_existing_text),
      cmocka_unit_test(reserve_huge_is_enomem_not_overflow),
      cmocka_unit_test(oom_is_sticky_until_reset),
      cmocka_unit_test(reset_clears_oom),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
