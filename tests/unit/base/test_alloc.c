/*
 * Unit tests of src/base/cf_alloc.c: the allocator and its fault injection,
 * and the promise every user of it relies on: a builder that runs out of
 * memory at any allocation reports CF_ENOMEM and neither crashes nor leaks
 * (the ASan build checks the leaks).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "crmflow/cf_error.h"

static void allocations_work(void **state) {
  char *p = cf_malloc(10);
  assert_non_null(p);
  memset(p, 1, 10);
  p = cf_realloc(p, 1000);
  assert_non_null(p);
  assert_int_equal(p[9], 1);
  cf_free(p);
  int *z = cf_calloc(100, sizeof *z);
  assert_non_null(z);
  for (int i = 0; i < 100; i++) assert_int_equal(z[i], 0);
  cf_free(z);
  /* Size zero still gives a pointer to free (never NULL, which would mean failure). */
  p = cf_malloc(0);
  assert_non_null(p);
  cf_free(p);
  p = cf_calloc(0, 0);
  assert_non_null(p);
  cf_free(p);
  cf_free(NULL);
}

static void strdup_and_strndup(void **state) {
  char *s = cf_strdup("hello");
  assert_string_equal(s, "hello");
  cf_free(s);
  s = cf_strndup("hello world", 5);
  assert_string_equal(s, "hello");
  cf_free(s);
  s = cf_strndup("a\0b", 3); /* copies n bytes, NUL-terminates */
  assert_memory_equal(s, "a\0b", 4);
  cf_free(s);
}

static void fail_after_counts_down(void **state) {
  cf_alloc_fail_after(2);
  void *a = cf_malloc(8), *b = cf_calloc(1, 8), *c = cf_malloc(8);
  assert_non_null(a);
  assert_non_null(b);
  assert_null(c);
  assert_int_equal(cf_alloc_failures(), 1);
  /* Once failing, every allocation fails until reset, realloc included. */
  assert_null(cf_malloc(1));
  assert_null(cf_calloc(1, 1));
  assert_null(cf_realloc(a, 100));
  assert_null(cf_strdup("x"));
  assert_int_equal(cf_alloc_failures(), 5);
  cf_alloc_fail_reset();
  void *d = cf_malloc(8);
  assert_non_null(d);
  assert_int_equal(cf_alloc_failures(), 5); /* reset disarms but keeps the count */
  cf_free(a); /* the failed realloc left a intact */
  cf_free(b);
  cf_free(d);
}

static void fail_after_zero_fails_the_next(void **state) {
  cf_alloc_fail_after(0);
  assert_null(cf_malloc(1));
  assert_int_equal(cf_alloc_failures(), 1);
  cf_alloc_fail_after(0); /* re-arming resets the count */
  assert_int_equal(cf_alloc_failures(), 0);
  cf_alloc_fail_reset();
}

static void negative_countdown_disarms(void **state) {
  cf_alloc_fail_after(-1);
  for (int i = 0; i < 100; i++) {
    void *p = cf_malloc(4);
    assert_non_null(p);
    cf_free(p);
  }
  assert_int_equal(cf_alloc_failures(), 0);
}

static void *other_thread(void *arg) {
  void *p = cf_malloc(16);
  *(int *)arg = p != NULL;
  cf_free(p);
  return NULL;
}

static void injection_is_per_thread(void **state) {
  cf_alloc_fail_after(0);
  pthread_t t;
  int ok = 0;
  assert_int_equal(pthread_create(&t, NULL, other_thread, &ok), 0);
  pthread_join(t, NULL);
  assert_null(cf_malloc(1)); /* still armed here */
  cf_alloc_fail_reset();
  assert_true(ok); /* the other thread was not affected */
}

/*
 * Builds a document with every kind of append. Returns the first error seen
 * (through the sticky oom flag, the last call's result tells). *out gets the
 * detached text on success.
 */
static int build(char **out) {
  struct cf_buf b;
  cf_buf_init(&b);
  cf_buf_puts(&b, "{\"items\":[");
  for (int i = 0; i < 40; i++) {
    if (i) cf_buf_putc(&b, ',');
    cf_buf_printf(&b, "{\"n\":%d,\"name\":", i);
    cf_buf_json_string(&b, "item \"quoted\"\n", 14);
    cf_buf_putc(&b, '}');
  }
  cf_buf_puts(&b, "],\"pad\":\"");
  char pad[700];
  memset(pad, 'p', sizeof pad);
  cf_buf_append(&b, pad, sizeof pad);
  int rc = cf_buf_printf(&b, "%s\"}", "end-of-document-with-a-longer-tail-than-needed");
  *out = cf_buf_detach(&b);
  if (rc == CF_OK && !*out) rc = CF_ENOMEM;
  cf_buf_release(&b);
  return rc;
}

static void buf_appends_under_every_failure_point(void **state) {
  char *expect = NULL;
  assert_int_equal(build(&expect), CF_OK);
  assert_non_null(expect);
  long n;
  int succeeded = 0;
  for (n = 0; n < 200 && !succeeded; n++) {
    char *got = NULL;
    cf_alloc_fail_after(n);
    int rc = build(&got);
    long failures = cf_alloc_failures();
    cf_alloc_fail_reset();
    if (failures == 0) {
      assert_int_equal(rc, CF_OK);
      assert_non_null(got);
      assert_string_equal(got, expect);
      succeeded = 1;
    } else {
      /* A refused allocation is always reported, and no half document escapes. */
      assert_int_equal(rc, CF_ENOMEM);
      assert_null(got);
    }
    cf_free(got);
  }
  assert_true(succeeded);
  assert_true(n > 3); /* the builder did need several allocations */
  cf_free(expect);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(allocations_work),
      cmocka_unit_test(strdup_and_strndup),
      cmocka_unit_test(fail_after_counts_down),
      cmocka_unit_test(fail_after_zero_fails_the_next),
      cmocka_unit_test(negative_countdown_disarms),
      cmocka_unit_test(injection_is_per_thread),
      cmocka_unit_test(buf_appends_under_every_failure_point),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
