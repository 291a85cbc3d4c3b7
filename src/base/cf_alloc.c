#include "base/cf_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Per-thread so one test's injection cannot touch another thread. */
static _Thread_local long fail_countdown = -1;
static _Thread_local long fail_count;

static int should_fail(void) {
  if (__builtin_expect(fail_countdown < 0, 1)) return 0;
  if (fail_countdown == 0) {
    fail_count++;
    return 1;
  }
  fail_countdown--;
  return 0;
}

void *cf_malloc(size_t size) {
  if (should_fail()) return NULL;
  return malloc(size ? size : 1);
}

void *cf_calloc(size_t n, size_t size) {
  if (should_fail()) return NULL;
  return calloc(n ? n : 1, size ? size : 1);
}

void *cf_realloc(void *p, size_t size) {
  if (should_fail()) return NULL;
  return realloc(p, size ? size : 1);
}

char *cf_strndup(const char *s, size_t n) {
  char *d = cf_malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *cf_strdup(const char *s) { return cf_strndup(s, strlen(s)); }

void cf_free(void *p) { free(p); }

void cf_alloc_fail_after(long countdown) {
  fail_countdown = countdown;
  fail_count = 0;
}

void cf_alloc_fail_reset(void) { fail_countdown = -1; }

long cf_alloc_failures(void) { return fail_count; }

bool cf_grow(void **items, size_t *cap, size_t n, size_t sz) {
  if (n < *cap) return true;
  size_t ncap = *cap ? *cap * 2 : 8;
  if (ncap < *cap || ncap > SIZE_MAX / (sz ? sz : 1)) return false;
  void *p = cf_realloc(*items, ncap * sz);
  if (!p) return false;
  *items = p;
  *cap = ncap;
  return true;
}
