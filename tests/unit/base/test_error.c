/* Unit tests of src/base/cf_error.c and include/crmflow/cf_error.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "crmflow/cf_error.h"

/*
 * The codes are public ABI and appear in logs: the list is append-only. A
 * reordered or removed code changes a number here and fails this test.
 */
static void codes_keep_their_numbers(void **state) {
  assert_int_equal(CF_OK, 0);
  assert_int_equal(CF_EOK, 0);
  assert_int_equal(CF_ENOMEM, 1);
  assert_int_equal(CF_EINVAL, 2);
  assert_int_equal(CF_ESYNTAX, 3);
  assert_int_equal(CF_EEVAL, 4);
  assert_int_equal(CF_ENOTFOUND, 5);
  assert_int_equal(CF_EIO, 6);
  assert_int_equal(CF_ERANGE, 7);
  assert_int_equal(CF_ETYPE, 8);
  assert_int_equal(CF_EUNSUPPORTED, 9);
  assert_int_equal(CF_ELIMIT, 10);
  assert_int_equal(CF_ECONFLICT, 11);
  assert_int_equal(CF_EINTERNAL, 12);
  assert_int_equal(CF_EUNAVAILABLE, 13);
  assert_true(CF_E__COUNT >= 14);
}

static void every_code_has_a_distinct_message_and_name(void **state) {
  for (int i = 0; i < CF_E__COUNT; i++) {
    const char *m = cf_strerror(i), *n = cf_err_name(i);
    assert_non_null(m);
    assert_non_null(n);
    assert_true(strlen(m) > 0);
    assert_true(strlen(n) > 0);
    assert_string_not_equal(m, "unknown error");
    for (int j = 0; j < i; j++) {
      assert_string_not_equal(m, cf_strerror(j));
      assert_string_not_equal(n, cf_err_name(j));
    }
  }
}

static void known_messages_and_names(void **state) {
  assert_string_equal(cf_strerror(CF_OK), "success");
  assert_string_equal(cf_strerror(CF_ENOMEM), "out of memory");
  assert_string_equal(cf_err_name(CF_ENOMEM), "NOMEM");
  assert_string_equal(cf_err_name(CF_ESYNTAX), "SYNTAX");
  assert_string_equal(cf_err_name(CF_OK), "OK");
}

static void out_of_range_codes_are_unknown(void **state) {
  assert_string_equal(cf_strerror(-1), "unknown error");
  assert_string_equal(cf_strerror(CF_E__COUNT), "unknown error");
  assert_string_equal(cf_strerror(1 << 30), "unknown error");
  assert_string_equal(cf_err_name(-5), "UNKNOWN");
  assert_string_equal(cf_err_name(CF_E__COUNT), "UNKNOWN");
}

static void set_fills_and_returns_the_code(void **state) {
  struct cf_error err;
  cf_error_clear(&err);
  int rc = cf_error_set(&err, CF_ESYNTAX, "line %d, column %d: expected %s", 3, 14, "')'");
  assert_int_equal(rc, CF_ESYNTAX);
  assert_int_equal(err.code, CF_ESYNTAX);
  assert_string_equal(err.msg, "line 3, column 14: expected ')'");
}

static void set_with_null_err_still_returns_the_code(void **state) {
  assert_int_equal(cf_error_set(NULL, CF_EIO, "ignored %s", "x"), CF_EIO);
}

static void long_messages_are_truncated_safely(void **state) {
  char big[2000];
  memset(big, 'm', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  struct cf_error err;
  /* Poison what follows msg in a wrapper to catch an overrun. */
  struct {
    struct cf_error e;
    char guard[16];
  } w;
  memset(w.guard, 0x5a, sizeof w.guard);
  cf_error_set(&w.e, CF_EINVAL, "%s", big);
  assert_int_equal(strlen(w.e.msg), sizeof w.e.msg - 1);
  for (size_t i = 0; i < sizeof w.guard; i++) assert_int_equal((unsigned char)w.guard[i], 0x5a);
  cf_error_set(&err, CF_EINVAL, "%s", big);
  assert_memory_equal(err.msg, big, sizeof err.msg - 1);
}

static void clear_resets(void **state) {
  struct cf_error err;
  cf_error_set(&err, CF_EIO, "disk on fire");
  cf_error_clear(&err);
  assert_int_equal(err.code, CF_OK);
  assert_string_equal(err.msg, "");
  cf_error_clear(NULL); /* no crash */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(codes_keep_their_numbers),
      cmocka_unit_test(every_code_has_a_distinct_message_and_name),
      cmocka_unit_test(known_messages_and_names),
      cmocka_unit_test(out_of_range_codes_are_unknown),
      cmocka_unit_test(set_fills_and_returns_the_code),
      cmocka_unit_test(set_with_null_err_still_returns_the_code),
      cmocka_unit_test(long_messages_are_truncated_safely),
      cmocka_unit_test(clear_resets),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
