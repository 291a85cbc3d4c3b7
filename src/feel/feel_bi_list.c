/*
 * List built-in functions (DMN 1.5 §10.3.4.4 and Camunda's additions:
 * and/or, is empty, duplicate values, partition, sort without precedes).
 *
 * Common rules, from the spec's type conversions (§10.3.2.9.4):
 * - where a list is expected, a single non-null value counts as a list of
 *   that one value (count(5) = 1, list replace(1, 1, 5) = [5]);
 * - "list or varargs" functions (min, sum, all...) take one list argument
 *   as the list itself and several arguments as the items;
 * - positions are 1-based; negative positions count from the end (-1 is
 *   the last item); a fractional position is truncated toward zero.
 *
 * Results share the items of their arguments (values are immutable and
 * reference-counted), so most functions allocate only the new list.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "feel/feel_int.h"

/* Nesting beyond this in flatten() is refused rather than risk the C stack. */
#define FLATTEN_MAX_DEPTH 1000

/* ------------------------------------------------------------- helpers */

/* A borrowed view of a list's items (or of one value taken as a list). */
struct items {
  const struct cf_feel_value *v;
  size_t n;
};

static const char *type_name(const struct cf_feel_value *v) {
  return cf_feel_type_name((enum cf_feel_type)v->type);
}

/*
 * Views v as a list: its items, or v alone when v is not a list. False (and
 * a warning) when v is null, which the spec does not convert.
 */
static bool list_arg(struct cf_feel_eval *ev, const char *fname, const char *pname,
                     const struct cf_feel_value *v, struct items *it) {
  if (v->type == CF_FEEL_LIST) {
    it->v = v->u.list->items;
    it->n = v->u.list->len;
    return true;
  }
  if (v->type == CF_FEEL_NULL) {
    cf__feel_warn(ev, "%s: %s is null", fname, pname);
    return false;
  }
  it->v = v;
  it->n = 1;
  return true;
}

/* The items of a "list or varargs" call: f([a, b]) and f(a, b) mean the same. */
static bool varargs_items(struct cf_feel_eval *ev, const char *fname,
                          const struct cf_feel_value *args, size_t nargs, struct items *it) {
  if (nargs == 1) return list_arg(ev, fname, "list", &args[0], it);
  it->v = args;
  it->n = nargs;
  return true;
}

/* Reads an integer argument, truncating a fraction toward zero. */
static bool int_arg(struct cf_feel_eval *ev, const char *fname, const char *pname,
                    const struct cf_feel_value *v, int64_t *out) {
  if (v->type != CF_FEEL_NUMBER) {
    if (v->type == CF_FEEL_NULL)
      cf__feel_warn(ev, "%s: %s is null", fname, pname);
    else
      cf__feel_warn(ev, "%s: %s must be a number, not %s", fname, pname, type_name(v));
    return false;
  }
  decContext ctx;
  cf__feel_dec_context(&ctx);
  ctx.round = DEC_ROUND_DOWN;
  struct cf_feel_value whole = {.type = CF_FEEL_NUMBER};
  decNumberToIntegralValue(&whole.u.number, &v->u.number, &ctx);
  if (!cf_feel_number_to_int64(&whole, out)) {
    cf__feel_warn(ev, "%s: %s is out of range", fname, pname);
    return false;
  }
  return true;
}

/*
 * The 0-based index of a FEEL position in a list of len items: 1..len from
 * the front, -1..-len from the back. False (and a warning) otherwise.
 */
static bool position_arg(struct cf_feel_eval *ev, const char *fname, const char *pname,
                         const struct cf_feel_value *v, size_t len, size_t *idx) {
  int64_t p;
  if (!int_arg(ev, fname, pname, v, &p)) return false;
  if (p > 0 && (uint64_t)p <= len) {
    *idx = (size_t)(p - 1);
    return true;
  }
  if (p < 0 && p != INT64_MIN && (uint64_t)-p <= len) {
    *idx = len - (size_t)-p;
    return true;
  }
  cf__feel_warn(ev, "%s: %s %lld is outside a list of %zu items", fname, pname, (long long)p,
                len);
  return false;
}

/* Appends another reference to item. On CF_ENOMEM nothing is appended. */
static int push_copy(struct cf_feel_value *list, const struct cf_feel_value *item) {
  struct cf_feel_value c;
  cf_feel_value_copy(&c, item);
  return cf_feel_list_push(list, &c);
}

/* *out = a new list of the n values at items. */
static int list_of(struct cf_feel_value *out, const struct cf_feel_value *items, size_t n) {
  int rc = cf_feel_list_new(out, n);
  if (rc != CF_OK) {
    cf_feel_set_null(out);
    return rc;
  }
  for (size_t i = 0; i < n; i++) {
    rc = push_copy(out, &items[i]);
    if (rc != CF_OK) {
      cf_feel_value_release(out);
      return rc;
    }
  }
  return CF_OK;
}

/* True if one of the n values at items is FEEL-equal (`=` is true) to v. */
static bool contains(const struct cf_feel_value *items, size_t n, const struct cf_feel_value *v) {
  for (size_t i = 0; i < n; i++)
    if (cf_feel_equal(&items[i], v) == 1) return true;
  return false;
}

/* True if every item is a number; else warns naming the first that is not. */
static bool all_numbers(struct cf_feel_eval *ev, const char *fname, const struct items *it) {
  for (size_t i = 0; i < it->n; i++) {
    if (it->v[i].type != CF_FEEL_NUMBER) {
      cf__feel_warn(ev, "%s: item %zu is %s, not a number", fname, i + 1, type_name(&it->v[i]));
      return false;
    }
  }
  return true;
}

/* Gives *out the number n (FEEL has no -0). */
static void set_number(struct cf_feel_value *out, const decNumber *n) {
  decNumber copy;
  decNumberCopy(&copy, n);
  if (decNumberIsZero(&copy)) copy.bits &= (uint8_t)~DECNEG;
  cf__feel_set_decnumber(out, &copy);
}

/* True if a decNumber operation left a usable result; else warns. */
static bool dec_ok(struct cf_feel_eval *ev, const char *fname, const decContext *ctx,
                   const decNumber *r) {
  if ((ctx->status & (DEC_Invalid_operation | DEC_Overflow | DEC_Division_by_zero)) ||
      !decNumberIsFinite(r)) {
    cf__feel_warn(ev, "%s: the result is out of range", fname);
    return false;
  }
  return true;
}

/* ------------------------------------------------------------ queries */

static int bi_list_contains(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                            size_t nargs, struct cf_feel_value *out) {
  struct items it;
  cf_feel_set_null(out);
  if (!list_arg(ev, "list contains", "list", &args[0], &it)) return CF_OK;
  cf_feel_set_bool(out, contains(it.v, it.n, &args[1]));
  return CF_OK;
}

static int bi_count(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                    struct cf_feel_value *out) {
  struct items it;
  cf_feel_set_null(out);
  if (!list_arg(ev, "count", "list", &args[0], &it)) return CF_OK;
  cf_feel_set_int(out, (int64_t)it.n);
  return CF_OK;
}

static int bi_is_empty(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                       struct cf_feel_value *out) {
  struct items it;
  cf_feel_set_null(out);
  if (!list_arg(ev, "is empty", "list", &args[0], &it)) return CF_OK;
  cf_feel_set_bool(out, it.n == 0);
  return CF_OK;
}

static int bi_index_of(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                       struct cf_feel_value *out) {
  struct items it;
  cf_feel_set_null(out);
  if (!list_arg(ev, "index of", "list", &args[0], &it)) return CF_OK;
  int rc = cf_feel_list_new(out, 0);
  if (rc != CF_OK) goto fail;
  for (size_t i = 0; i < it.n; i++) {
    if (cf_feel_equal(&it.v[i], &args[1]) != 1) continue;
    struct cf_feel_value pos;
    cf_feel_set_int(&pos, (int64_t)i + 1);
    rc = cf_feel_list_push(out, &pos);
    if (rc != CF_OK) goto fail;
  }
  return CF_OK;
fail:
  cf_feel_value_release(out);
  return rc;
}

/* ---------------------------------------------------- min, max, sums */

/* min (sign -1) and max (sign 1) of comparable items; null for no items. */
static int extreme(struct cf_feel_eval *ev, const char *fname, int sign,
                   const struct cf_feel_value *args, size_t nargs, struct cf_feel_value *out) {
  struct items it;
  cf_feel_set_null(out);
  if (!varargs_items(ev, fname, args, nargs, &it) || it.n == 0) return CF_OK;
  const struct cf_feel_value *best = &it.v[0];
  /* Starting at 0 compares the first item with itself: a lone boolean is no more comparable. */
  for (size_t i = 0; i < it.n; i++) {
    int c;
    if (cf_feel_compare(&it.v[i], best, &c) != CF_OK) {
      cf__feel_warn(ev, "%s: %s and %s are not comparable", fname, type_name(best),
                    type_name(&it.v[i]));
      return CF_OK;
    }
    if (c * sign > 0) best = &it.v[i];
  }
  cf_feel_value_copy(out, best);
  return CF_OK;
}

static int bi_min(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                  struct cf_feel_value *out) {
  return extreme(ev, "min", -1, args, nargs, out);
}

static int bi_max(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                  struct cf_feel_value *out) {
  return extreme(ev, "max", 1, args, nargs, out);
}

/*
 * Sums and statistics accumulate in a wider decimal and round to 34 digits
 * once, at the end: sum([1E+40, 1, -1E+40]) is 1, not 0, and mean and
 * stddev are correctly rounded rather than off in the last digit after
 * several roundings. decNumber supports such wider numbers: a struct with
 * the decNumber layout and a longer digit array, passed as a decNumber.
 */
#define WIDE_DIGITS 72

struct wide {
  int32_t digits;
  int32_t exponent;
  uint8_t bits;
  decNumberUnit lsu[(WIDE_DIGITS + DECDPUN - 1) / DECDPUN];
};

static decNumber *dn(struct wide *w) { return (decNumber *)(void *)w; }

static void wide_context(decContext *ctx) {
  cf__feel_dec_context(ctx);
  ctx->digits = WIDE_DIGITS;
  ctx->clamp = 0;
}

/* *sum = the sum of the items, which are numbers, to WIDE_DIGITS digits. */
static bool wide_sum(struct cf_feel_eval *ev, const char *fname, const struct items *it,
                     struct wide *sum) {
  decContext ctx;
  wide_context(&ctx);
  decNumberZero(dn(sum));
  for (size_t i = 0; i < it->n; i++) decNumberAdd(dn(sum), dn(sum), &it->v[i].u.number, &ctx);
  return dec_ok(ev, fname, &ctx, dn(sum));
}

/* *out = w rounded to 34 digits, or null and a warning if it does not fit. */
static void set_rounded(struct cf_feel_eval *ev, const char *fname, struct wide *w,
                        struct cf_feel_value *out) {
  decContext ctx;
  cf__feel_dec_context(&ctx);
  decNumber r;
  decNumberPlus(&r, dn(w), &ctx);
  if (dec_ok(ev, fname, &ctx, &r)) set_number(out, &r);
}

static int bi_sum(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                  struct cf_feel_value *out) {
  struct items it;
  struct wide sum;
  cf_feel_set_null(out);
  if (!varargs_items(ev, "sum", args, nargs, &it) || !all_numbers(ev, "sum", &it) || it.n == 0)
    return CF_OK;
  if (wide_sum(ev, "sum", &it, &sum)) set_rounded(ev, "sum", &sum, out);
  return CF_OK;
}

static int bi_product(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                      struct cf_feel_value *out) {
  struct items it;
  struct wide p;
  cf_feel_set_null(out);
  if (!varargs_items(ev, "product", args, nargs, &it) || !all_numbers(ev, "product", &it) ||
      it.n == 0)
    return CF_OK;
  decContext ctx;
  wide_context(&ctx);
  decNumberFromInt32(dn(&p), 1);
  for (size_t i = 0; i < it.n; i++) decNumberMultiply(dn(&p), dn(&p), &it.v[i].u.number, &ctx);
  if (dec_ok(ev, "product", &ctx, dn(&p))) set_rounded(ev, "product", &p, out);
  return CF_OK;
}

static int bi_mean(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                   struct cf_feel_value *out) {
  struct items it;
  struct wide sum;
  cf_feel_set_null(out);
  if (!varargs_items(ev, "mean", args, nargs, &it) || !all_numbers(ev, "mean", &it) ||
      it.n == 0 || !wide_sum(ev, "mean", &it, &sum))
    return CF_OK;
  /* Dividing at 34 digits rounds the exact quotient once. */
  decContext ctx;
  cf__feel_dec_context(&ctx);
  decNumber count, mean;
  decNumberFromUInt32(&count, (uint32_t)it.n);
  decNumberDivide(&mean, dn(&sum), &count, &ctx);
  if (dec_ok(ev, "mean", &ctx, &mean)) set_number(out, &mean);
  return CF_OK;
}

static int cmp_number_ptrs(const void *pa, const void *pb) {
  const decNumber *a = *(const decNumber *const *)pa;
  const decNumber *b = *(const decNumber *const *)pb;
  decContext ctx;
  cf__feel_dec_context(&ctx);
  decNumber r;
  decNumberCompare(&r, a, b, &ctx);
  return decNumberIsZero(&r) ? 0 : decNumberIsNegative(&r) ? -1 : 1;
}

/* *sorted = a new array of the items' numbers in ascending order (cf_free it). */
static int sorted_numbers(const struct items *it, const decNumber ***sorted) {
  const decNumber **a = cf_malloc((it->n ? it->n : 1) * sizeof *a);
  if (!a) return CF_ENOMEM;
  for (size_t i = 0; i < it->n; i++) a[i] = &it->v[i].u.number;
  qsort(a, it->n, sizeof *a, cmp_number_ptrs);
  *sorted = a;
  return CF_OK;
}

static int bi_median(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                     struct cf_feel_value *out) {
  struct items it;
  const decNumber **a = NULL;
  cf_feel_set_null(out);
  if (!varargs_items(ev, "median", args, nargs, &it) || !all_numbers(ev, "median", &it) ||
      it.n == 0)
    return CF_OK;
  int rc = sorted_numbers(&it, &a);
  if (rc != CF_OK) return rc;
  if (it.n % 2) {
    set_number(out, a[it.n / 2]);
  } else {
    struct wide sum;
    decContext wctx, ctx;
    wide_context(&wctx);
    cf__feel_dec_context(&ctx);
    decNumber two, half;
    decNumberAdd(dn(&sum), a[it.n / 2 - 1], a[it.n / 2], &wctx);
    decNumberFromInt32(&two, 2);
    decNumberDivide(&half, dn(&sum), &two, &ctx);
    if (dec_ok(ev, "median", &ctx, &half)) set_number(out, &half);
  }
  cf_free(a);
  return CF_OK;
}

/* The sample standard deviation: fewer than two items have none. */
static int bi_stddev(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                     struct cf_feel_value *out) {
  struct items it;
  struct wide sum, mean, d, acc, var;
  cf_feel_set_null(out);
  if (!varargs_items(ev, "stddev", args, nargs, &it) || !all_numbers(ev, "stddev", &it))
    return CF_OK;
  if (it.n < 2) {
    cf__feel_warn(ev, "stddev: needs at least two numbers");
    return CF_OK;
  }
  if (!wide_sum(ev, "stddev", &it, &sum)) return CF_OK;
  /* Two passes (mean, then squared deviations) in wide digits: no cancellation. */
  decContext ctx;
  wide_context(&ctx);
  decNumber count;
  decNumberFromUInt32(&count, (uint32_t)it.n);
  decNumberDivide(dn(&mean), dn(&sum), &count, &ctx);
  decNumberZero(dn(&acc));
  for (size_t i = 0; i < it.n; i++) {
    decNumberSubtract(dn(&d), &it.v[i].u.number, dn(&mean), &ctx);
    decNumberMultiply(dn(&d), dn(&d), dn(&d), &ctx);
    decNumberAdd(dn(&acc), dn(&acc), dn(&d), &ctx);
  }
  decNumberFromUInt32(&count, (uint32_t)(it.n - 1));
  decNumberDivide(dn(&var), dn(&acc), &count, &ctx);
  if (!dec_ok(ev, "stddev", &ctx, dn(&var))) return CF_OK;
  decContext ctx34;
  cf__feel_dec_context(&ctx34);
  decNumber r;
  decNumberSquareRoot(&r, dn(&var), &ctx34);
  if (dec_ok(ev, "stddev", &ctx34, &r)) set_number(out, &r);
  return CF_OK;
}

/* The most frequent numbers, ascending; [] for no items. */
static int bi_mode(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                   struct cf_feel_value *out) {
  struct items it;
  const decNumber **a = NULL;
  cf_feel_set_null(out);
  if (!varargs_items(ev, "mode", args, nargs, &it) || !all_numbers(ev, "mode", &it))
    return CF_OK;
  int rc = sorted_numbers(&it, &a);
  if (rc != CF_OK) return rc;
  size_t best = 0;
  for (size_t i = 0; i < it.n;) {
    size_t j = i + 1;
    while (j < it.n && cmp_number_ptrs(&a[i], &a[j]) == 0) j++;
    if (j - i > best) best = j - i;
    i = j;
  }
  rc = cf_feel_list_new(out, 0);
  if (rc != CF_OK) goto fail;
  for (size_t i = 0; i < it.n;) {
    size_t j = i + 1;
    while (j < it.n && cmp_number_ptrs(&a[i], &a[j]) == 0) j++;
    if (j - i == best) {
      struct cf_feel_value v;
      set_number(&v, a[i]);
      rc = cf_feel_list_push(out, &v);
      if (rc != CF_OK) goto fail;
    }
    i = j;
  }
  cf_free(a);
  return CF_OK;
fail:
  cf_free(a);
  cf_feel_value_release(out);
  return rc;
}

/* ------------------------------------------------------------ booleans */

/*
 * all (want false: any false item decides) and any (any true item decides).
 * Without a deciding item the answer is the neutral one when every item is a
 * boolean, else null: all([true, null]) = null, any([]) = false.
 */
static int bool_fold(struct cf_feel_eval *ev, const char *fname, bool is_all,
                     const struct cf_feel_value *args, size_t nargs, struct cf_feel_value *out) {
  struct items it;
  bool undecided = false, bad = false;
  cf_feel_set_null(out);
  if (!varargs_items(ev, fname, args, nargs, &it)) return CF_OK;
  for (size_t i = 0; i < it.n; i++) {
    const struct cf_feel_value *v = &it.v[i];
    if (v->type == CF_FEEL_BOOLEAN) {
      if (v->u.boolean != is_all) {
        cf_feel_set_bool(out, !is_all);
        return CF_OK;
      }
    } else {
      undecided = true;
      if (v->type != CF_FEEL_NULL && !bad) {
        bad = true;
        cf__feel_warn(ev, "%s: item %zu is %s, not a boolean", fname, i + 1, type_name(v));
      }
    }
  }
  if (!undecided) cf_feel_set_bool(out, is_all);
  return CF_OK;
}

static int bi_all(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                  struct cf_feel_value *out) {
  return bool_fold(ev, "all", true, args, nargs, out);
}

static int bi_any(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                  struct cf_feel_value *out) {
  return bool_fold(ev, "any", false, args, nargs, out);
}

/* ------------------------------------------------------ building lists */

/* sublist(list, start position, length?): a length past the end stops at the end (Camunda). */
static int bi_sublist(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                      struct cf_feel_value *out) {
  struct items it;
  size_t start;
  cf_feel_set_null(out);
  if (!list_arg(ev, "sublist", "list", &args[0], &it) ||
      !position_arg(ev, "sublist", "start position", &args[1], it.n, &start))
    return CF_OK;
  size_t len = it.n - start;
  if (nargs > 2) {
    int64_t l;
    if (!int_arg(ev, "sublist", "length", &args[2], &l)) return CF_OK;
    if (l < 0) {
      cf__feel_warn(ev, "sublist: length is negative");
      return CF_OK;
    }
    if ((uint64_t)l < len) len = (size_t)l;
  }
  return list_of(out, it.v + start, len);
}

static int bi_append(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                     struct cf_feel_value *out) {
  struct items it;
  cf_feel_set_null(out);
  if (!list_arg(ev, "append", "list", &args[0], &it)) return CF_OK;
  int rc = list_of(out, it.v, it.n);
  for (size_t i = 1; rc == CF_OK && i < nargs; i++) rc = push_copy(out, &args[i]);
  if (rc != CF_OK) cf_feel_value_release(out);
  return rc;
}

static int bi_concatenate(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                          size_t nargs, struct cf_feel_value *out) {
  struct items it;
  cf_feel_set_null(out);
  for (size_t i = 0; i < nargs; i++)
    if (!list_arg(ev, "concatenate", "list", &args[i], &it)) return CF_OK;
  int rc = cf_feel_list_new(out, 0);
  for (size_t i = 0; rc == CF_OK && i < nargs; i++) {
    list_arg(ev, "concatenate", "list", &args[i], &it);
    for (size_t j = 0; rc == CF_OK && j < it.n; j++) rc = push_copy(out, &it.v[j]);
  }
  if (rc != CF_OK) cf_feel_value_release(out);
  return rc;
}

static int bi_insert_before(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                            size_t nargs, struct cf_feel_value *out) {
  struct items it;
  size_t at;
  cf_feel_set_null(out);
  if (!list_arg(ev, "insert before", "list", &args[0], &it) ||
      !position_arg(ev, "insert before", "position", &args[1], it.n, &at))
    return CF_OK;
  int rc = list_of(out, it.v, at);
  if (rc == CF_OK) rc = push_copy(out, &args[2]);
  for (size_t i = at; rc == CF_OK && i < it.n; i++) rc = push_copy(out, &it.v[i]);
  if (rc != CF_OK) cf_feel_value_release(out);
  return rc;
}

static int bi_remove(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                     struct cf_feel_value *out) {
  struct items it;
  size_t at;
  cf_feel_set_null(out);
  if (!list_arg(ev, "remove", "list", &args[0], &it) ||
      !position_arg(ev, "remove", "position", &args[1], it.n, &at))
    return CF_OK;
  int rc = list_of(out, it.v, at);
  for (size_t i = at + 1; rc == CF_OK && i < it.n; i++) rc = push_copy(out, &it.v[i]);
  if (rc != CF_OK) cf_feel_value_release(out);
  return rc;
}

static int bi_reverse(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                      struct cf_feel_value *out) {
  struct items it;
  cf_feel_set_null(out);
  if (!list_arg(ev, "reverse", "list", &args[0], &it)) return CF_OK;
  int rc = cf_feel_list_new(out, it.n);
  for (size_t i = it.n; rc == CF_OK && i > 0; i--) rc = push_copy(out, &it.v[i - 1]);
  if (rc != CF_OK) cf_feel_value_release(out);
  return rc;
}

/*
 * Appends to out the items of it that are not already in out (FEEL
 * equality, so 1 and 1.0 are one value; the first seen is kept).
 * NEEDSWORK: quadratic; a hash over canonical values would make distinct
 * values on lists of many thousands of items fast, once someone needs it.
 */
static int push_distinct(struct cf_feel_value *out, const struct items *it) {
  for (size_t i = 0; i < it->n; i++) {
    const struct cf_feel_list *l = out->u.list;
    if (contains(l->items, l->len, &it->v[i])) continue;
    int rc = push_copy(out, &it->v[i]);
    if (rc != CF_OK) return rc;
  }
  return CF_OK;
}

static int bi_union(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                    struct cf_feel_value *out) {
  struct items it;
  cf_feel_set_null(out);
  for (size_t i = 0; i < nargs; i++)
    if (!list_arg(ev, "union", "list", &args[i], &it)) return CF_OK;
  int rc = cf_feel_list_new(out, 0);
  for (size_t i = 0; rc == CF_OK && i < nargs; i++) {
    list_arg(ev, "union", "list", &args[i], &it);
    rc = push_distinct(out, &it);
  }
  if (rc != CF_OK) cf_feel_value_release(out);
  return rc;
}

static int bi_distinct_values(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                              size_t nargs, struct cf_feel_value *out) {
  struct items it;
  cf_feel_set_null(out);
  if (!list_arg(ev, "distinct values", "list", &args[0], &it)) return CF_OK;
  int rc = cf_feel_list_new(out, 0);
  if (rc == CF_OK) rc = push_distinct(out, &it);
  if (rc != CF_OK) cf_feel_value_release(out);
  return rc;
}

/* duplicate values (Camunda): each value that occurs more than once, once, in first-seen order. */
static int bi_duplicate_values(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                               size_t nargs, struct cf_feel_value *out) {
  struct items it;
  cf_feel_set_null(out);
  if (!list_arg(ev, "duplicate values", "list", &args[0], &it)) return CF_OK;
  int rc = cf_feel_list_new(out, 0);
  for (size_t i = 0; rc == CF_OK && i < it.n; i++) {
    const struct cf_feel_list *l = out->u.list;
    if (contains(l->items, l->len, &it.v[i])) continue;
    if (contains(it.v + i + 1, it.n - i - 1, &it.v[i])) rc = push_copy(out, &it.v[i]);
  }
  if (rc != CF_OK) cf_feel_value_release(out);
  return rc;
}

/* Appends the leaves of v (v itself unless it is a list). */
static int flatten_into(struct cf_feel_eval *ev, struct cf_feel_value *out,
                        const struct cf_feel_value *v, int depth) {
  if (v->type != CF_FEEL_LIST) return push_copy(out, v);
  if (depth > FLATTEN_MAX_DEPTH) return CF_ELIMIT;
  for (uint32_t i = 0; i < v->u.list->len; i++) {
    int rc = flatten_into(ev, out, &v->u.list->items[i], depth + 1);
    if (rc != CF_OK) return rc;
  }
  return CF_OK;
}

static int bi_flatten(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                      struct cf_feel_value *out) {
  struct items it;
  cf_feel_set_null(out);
  if (!list_arg(ev, "flatten", "list", &args[0], &it)) return CF_OK;
  int rc = cf_feel_list_new(out, it.n);
  for (size_t i = 0; rc == CF_OK && i < it.n; i++) rc = flatten_into(ev, out, &it.v[i], 0);
  if (rc == CF_OK) return CF_OK;
  cf_feel_value_release(out);
  if (rc != CF_ELIMIT) return rc;
  cf__feel_warn(ev, "flatten: lists nested deeper than %d", FLATTEN_MAX_DEPTH);
  return CF_OK;
}

/* partition (Camunda): consecutive sublists of size items, the last one shorter. */
static int bi_partition(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                        struct cf_feel_value *out) {
  struct items it;
  int64_t size;
  cf_feel_set_null(out);
  if (!list_arg(ev, "partition", "list", &args[0], &it) ||
      !int_arg(ev, "partition", "size", &args[1], &size))
    return CF_OK;
  if (size <= 0) {
    cf__feel_warn(ev, "partition: size must be positive");
    return CF_OK;
  }
  size_t step = (uint64_t)size < it.n ? (size_t)size : it.n;
  int rc = cf_feel_list_new(out, 0);
  for (size_t i = 0; rc == CF_OK && i < it.n; i += step) {
    struct cf_feel_value part;
    size_t n = it.n - i < step ? it.n - i : step;
    rc = list_of(&part, it.v + i, n);
    if (rc == CF_OK) rc = cf_feel_list_push(out, &part);
  }
  if (rc != CF_OK) cf_feel_value_release(out);
  return rc;
}

/* ----------------------------------------------------------------- sort */

/* One sort in progress: precedes is the user's function, or NULL for natural order. */
struct sorter {
  struct cf_feel_eval *ev;
  const struct cf_feel_value *precedes;
};

/*
 * *before = whether a must come before b. CF_OK; CF_EINVAL when the order
 * is undefined (warned); CF_ENOMEM.
 */
static int precedes(struct sorter *s, const struct cf_feel_value *a,
                    const struct cf_feel_value *b, bool *before) {
  if (!s->precedes) {
    int c;
    if (cf_feel_compare(a, b, &c) != CF_OK) {
      cf__feel_warn(s->ev, "sort: %s and %s are not comparable", type_name(a), type_name(b));
      return CF_EINVAL;
    }
    *before = c < 0;
    return CF_OK;
  }
  struct cf_feel_value pair[2], r;
  pair[0] = *a; /* borrowed: cf__feel_invoke only reads its arguments */
  pair[1] = *b;
  int rc = cf__feel_invoke(s->ev, s->precedes, pair, 2, &r);
  if (rc != CF_OK) return rc;
  if (r.type != CF_FEEL_BOOLEAN) {
    cf__feel_warn(s->ev, "sort: precedes returned %s, not a boolean", type_name(&r));
    cf_feel_value_release(&r);
    return CF_EINVAL;
  }
  *before = r.u.boolean;
  return CF_OK;
}

/*
 * Stable bottom-up merge sort of n borrowed pointers: an item moves ahead of
 * an earlier one only if it strictly precedes it, so equal items keep their
 * order, and precedes is called O(n log n) times.
 */
static int merge_sort(struct sorter *s, const struct cf_feel_value **a, size_t n) {
  const struct cf_feel_value **tmp = cf_malloc((n ? n : 1) * sizeof *tmp);
  if (!tmp) return CF_ENOMEM;
  const struct cf_feel_value **src = a, **dst = tmp;
  int rc = CF_OK;
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = lo + width < n ? lo + width : n;
      size_t hi = mid + width < n ? mid + width : n;
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        bool before;
        rc = precedes(s, src[j], src[i], &before);
        if (rc != CF_OK) goto out;
        dst[k++] = before ? src[j++] : src[i++];
      }
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    const struct cf_feel_value **t = src;
    src = dst;
    dst = t;
  }
  if (src != a) memcpy(a, src, n * sizeof *a);
out:
  cf_free(tmp);
  return rc;
}

static int bi_sort(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                   struct cf_feel_value *out) {
  struct items it;
  struct sorter s = {ev, NULL};
  const struct cf_feel_value **order = NULL;
  int rc = CF_OK;
  cf_feel_set_null(out);
  if (!list_arg(ev, "sort", "list", &args[0], &it)) return CF_OK;
  if (nargs > 1 && args[1].type != CF_FEEL_NULL) {
    if (args[1].type != CF_FEEL_FUNCTION) {
      cf__feel_warn(ev, "sort: precedes must be a function, not %s", type_name(&args[1]));
      return CF_OK;
    }
    s.precedes = &args[1];
  }
  order = cf_malloc((it.n ? it.n : 1) * sizeof *order);
  if (!order) return CF_ENOMEM;
  for (size_t i = 0; i < it.n; i++) order[i] = &it.v[i];
  rc = merge_sort(&s, order, it.n);
  if (rc == CF_EINVAL) {
    rc = CF_OK; /* warned: the result is null */
    goto out;
  }
  if (rc != CF_OK) goto out;
  rc = cf_feel_list_new(out, it.n);
  for (size_t i = 0; rc == CF_OK && i < it.n; i++) rc = push_copy(out, order[i]);
  if (rc != CF_OK) cf_feel_value_release(out);
out:
  cf_free(order);
  return rc;
}

/* --------------------------------------------------------- list replace */

/*
 * list replace(list, position, newItem) and list replace(list, match,
 * newItem) (DMN 1.5): the two share a shape, so one body tells them apart
 * by the second argument's type. match(item, newItem) must return a
 * boolean for every item.
 */
static int bi_list_replace(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                           size_t nargs, struct cf_feel_value *out) {
  struct items it;
  const struct cf_feel_value *newitem = &args[2];
  cf_feel_set_null(out);
  if (!list_arg(ev, "list replace", "list", &args[0], &it)) return CF_OK;
  if (args[1].type != CF_FEEL_FUNCTION) {
    size_t at;
    if (!position_arg(ev, "list replace", "position", &args[1], it.n, &at)) return CF_OK;
    int rc = list_of(out, it.v, it.n);
    if (rc != CF_OK) return rc;
    /* The list is new and ours alone, so its slot may be overwritten. */
    struct cf_feel_value *slot = &out->u.list->items[at];
    cf_feel_value_release(slot);
    cf_feel_value_copy(slot, newitem);
    return CF_OK;
  }
  int rc = cf_feel_list_new(out, it.n);
  for (size_t i = 0; rc == CF_OK && i < it.n; i++) {
    struct cf_feel_value pair[2], r;
    pair[0] = it.v[i];
    pair[1] = *newitem;
    rc = cf__feel_invoke(ev, &args[1], pair, 2, &r);
    if (rc != CF_OK) break;
    if (r.type != CF_FEEL_BOOLEAN) {
      cf__feel_warn(ev, "list replace: match returned %s, not a boolean", type_name(&r));
      cf_feel_value_release(&r);
      cf_feel_value_release(out);
      return CF_OK;
    }
    rc = push_copy(out, r.u.boolean ? newitem : &it.v[i]);
  }
  if (rc != CF_OK) cf_feel_value_release(out);
  return rc;
}

/* --------------------------------------------------------------- table */

#define V CF__FEEL_VARIADIC

const struct cf__feel_builtin cf__feel_builtins_list[] = {
    {"list contains", {"list", "element"}, 2, 2, bi_list_contains},
    {"count", {"list"}, 1, 1, bi_count},
    {"min", {"list"}, 1, V, bi_min},
    {"max", {"list"}, 1, V, bi_max},
    {"sum", {"list"}, 1, V, bi_sum},
    {"mean", {"list"}, 1, V, bi_mean},
    {"median", {"list"}, 1, V, bi_median},
    {"stddev", {"list"}, 1, V, bi_stddev},
    {"mode", {"list"}, 1, V, bi_mode},
    {"product", {"list"}, 1, V, bi_product},
    {"all", {"list"}, 1, V, bi_all},
    {"any", {"list"}, 1, V, bi_any},
    {"and", {"list"}, 1, V, bi_all}, /* Camunda's names for all and any */
    {"or", {"list"}, 1, V, bi_any},
    {"sublist", {"list", "start position", "length"}, 2, 3, bi_sublist},
    {"append", {"list", "item"}, 1, V, bi_append},
    {"concatenate", {"list"}, 1, V, bi_concatenate},
    {"insert before", {"list", "position", "newItem"}, 3, 3, bi_insert_before},
    {"remove", {"list", "position"}, 2, 2, bi_remove},
    {"reverse", {"list"}, 1, 1, bi_reverse},
    {"index of", {"list", "match"}, 2, 2, bi_index_of},
    {"union", {"list"}, 1, V, bi_union},
    {"distinct values", {"list"}, 1, 1, bi_distinct_values},
    {"duplicate values", {"list"}, 1, 1, bi_duplicate_values},
    {"flatten", {"list"}, 1, 1, bi_flatten},
    {"sort", {"list", "precedes"}, 1, 2, bi_sort},
    {"is empty", {"list"}, 1, 1, bi_is_empty},
    {"partition", {"list", "size"}, 2, 2, bi_partition},
    {"list replace", {"list", "position", "newItem"}, 3, 3, bi_list_replace},
    {"list replace", {"list", "match", "newItem"}, 3, 3, bi_list_replace},
    {NULL, {NULL}, 0, 0, NULL},
};
