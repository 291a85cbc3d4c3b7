/*
 * Allocation for every layer, with a fault-injection hook.
 *
 * All of crmflow allocates through these calls so that tests can make the
 * Nth allocation fail and check that every path handles out-of-memory
 * without crashing or leaking. The hook is per-thread (tests run one thread
 * per test program); in production it is never armed and costs one
 * predictable branch.
 */
#ifndef CF_BASE_ALLOC_H
#define CF_BASE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

/* Like malloc/calloc/realloc/strdup; NULL on failure (or injected failure). */
void *cf_malloc(size_t size);
void *cf_calloc(size_t n, size_t size);
void *cf_realloc(void *p, size_t size);
char *cf_strdup(const char *s);
char *cf_strndup(const char *s, size_t n);
void cf_free(void *p);

/*
 * Makes room in a growable array: when n (the count) reached *cap, doubles
 * the capacity (8 at first) of *items, elements of size sz. False (nothing
 * changed) when memory ran out.
 */
bool cf_grow(void **items, size_t *cap, size_t n, size_t sz);

/*
 * Fault injection: after `countdown` more successful allocations, every
 * allocation fails until cf_alloc_fail_reset(). countdown < 0 disarms.
 * Returns nothing; cf_alloc_failures() tells how many were refused.
 */
void cf_alloc_fail_after(long countdown);
void cf_alloc_fail_reset(void);
long cf_alloc_failures(void);

#endif
