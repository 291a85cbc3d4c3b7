/*
 * Numeric built-in functions (DMN 1.5 §10.3.4.5 and Camunda's additions):
 * rounding to a scale in every mode, abs, modulo, sqrt, log, exp, odd,
 * even and random number().
 *
 * Numbers are decNumbers of 34 digits; every result here is computed by
 * decNumber under the layer's context (cf__feel_dec_context), so sqrt, log
 * and exp are correctly rounded to 34 digits as the TCK expects, and no
 * value ever passes through a double.
 */
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "feel/feel_int.h"

/*
 * The scales DMN allows: a result of n * 10^-scale must have an exponent
 * inside DECIMAL128's range (Emax - 33 = 6111 at the top, Etiny = -6176 at
 * the bottom), which is what the TCK checks at both ends.
 */
#define SCALE_MIN (-6111)
#define SCALE_MAX 6176

/* ------------------------------------------------------------- helpers */

/* Gives *out the number n, with a zero's sign dropped (FEEL has no -0). */
static void set_number(struct cf_feel_value *out, const decNumber *n) {
  decNumber copy;
  decNumberCopy(&copy, n);
  if (decNumberIsZero(&copy)) copy.bits &= (uint8_t)~DECNEG;
  cf__feel_set_decnumber(out, &copy);
}

/* True if v is a number; else warns that fname's parameter pname is not one. */
static bool need_number(struct cf_feel_eval *ev, const char *fname, const char *pname,
                        const struct cf_feel_value *v) {
  if (v->type == CF_FEEL_NUMBER) return true;
  if (v->type == CF_FEEL_NULL)
    cf__feel_warn(ev, "%s: %s is null", fname, pname);
  else
    cf__feel_warn(ev, "%s: %s must be a number, not %s", fname, pname,
                  cf_feel_type_name((enum cf_feel_type)v->type));
  return false;
}

/*
 * Reads a scale argument. A fractional scale is truncated toward zero, as
 * Java's intValue() does in the engines the TCK was written against.
 */
static bool get_scale(struct cf_feel_eval *ev, const char *fname, const struct cf_feel_value *v,
                      int32_t *scale) {
  if (!need_number(ev, fname, "scale", v)) return false;
  decContext ctx;
  cf__feel_dec_context(&ctx);
  ctx.round = DEC_ROUND_DOWN;
  struct cf_feel_value whole = {.type = CF_FEEL_NUMBER};
  decNumberToIntegralValue(&whole.u.number, &v->u.number, &ctx);
  int64_t s;
  if (!cf_feel_number_to_int64(&whole, &s) || s < SCALE_MIN || s > SCALE_MAX) {
    cf__feel_warn(ev, "%s: scale must be between %d and %d", fname, SCALE_MIN, SCALE_MAX);
    return false;
  }
  *scale = (int32_t)s;
  return true;
}

/*
 * *out = n rounded to scale digits after the point in the given mode.
 * A number that has no digits beyond the scale comes back unchanged: that
 * keeps round up(5.5, 6176) = 5.5, where quantizing would need 6000 digits.
 */
static int round_scaled(struct cf_feel_eval *ev, const char *fname, const decNumber *n,
                        int32_t scale, enum rounding mode, struct cf_feel_value *out) {
  if (n->exponent >= -scale) {
    set_number(out, n);
    return CF_OK;
  }
  decContext ctx;
  cf__feel_dec_context(&ctx);
  ctx.round = mode;
  decNumber quantum, r;
  decNumberFromInt32(&quantum, 1);
  quantum.exponent = -scale;
  decNumberQuantize(&r, n, &quantum, &ctx);
  if (ctx.status & (DEC_Invalid_operation | DEC_Overflow) || !decNumberIsFinite(&r)) {
    cf__feel_warn(ev, "%s: the result does not fit in 34 digits", fname);
    cf_feel_set_null(out);
    return CF_OK;
  }
  set_number(out, &r);
  return CF_OK;
}

/* The body of every (n, scale) rounding function. */
static int round_fn(struct cf_feel_eval *ev, const char *fname, enum rounding mode,
                    const struct cf_feel_value *args, size_t nargs, struct cf_feel_value *out) {
  int32_t scale = 0;
  cf_feel_set_null(out);
  if (!need_number(ev, fname, "n", &args[0])) return CF_OK;
  if (nargs > 1 && !get_scale(ev, fname, &args[1], &scale)) return CF_OK;
  return round_scaled(ev, fname, &args[0].u.number, scale, mode, out);
}

/* ------------------------------------------------------------ rounding */

static int bi_decimal(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                      struct cf_feel_value *out) {
  return round_fn(ev, "decimal", DEC_ROUND_HALF_EVEN, args, nargs, out);
}

static int bi_floor(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                    struct cf_feel_value *out) {
  return round_fn(ev, "floor", DEC_ROUND_FLOOR, args, nargs, out);
}

static int bi_ceiling(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                      struct cf_feel_value *out) {
  return round_fn(ev, "ceiling", DEC_ROUND_CEILING, args, nargs, out);
}

static int bi_round_up(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                       struct cf_feel_value *out) {
  return round_fn(ev, "round up", DEC_ROUND_UP, args, nargs, out);
}

static int bi_round_down(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                         struct cf_feel_value *out) {
  return round_fn(ev, "round down", DEC_ROUND_DOWN, args, nargs, out);
}

static int bi_round_half_up(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                            size_t nargs, struct cf_feel_value *out) {
  return round_fn(ev, "round half up", DEC_ROUND_HALF_UP, args, nargs, out);
}

static int bi_round_half_down(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                              size_t nargs, struct cf_feel_value *out) {
  return round_fn(ev, "round half down", DEC_ROUND_HALF_DOWN, args, nargs, out);
}

/* --------------------------------------------------------- arithmetic */

/* abs(n): numbers and both kinds of duration (TCK 0050 takes abs of durations). */
static int bi_abs(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                  struct cf_feel_value *out) {
  const struct cf_feel_value *v = &args[0];
  cf_feel_set_null(out);
  switch (v->type) {
  case CF_FEEL_NUMBER: {
    decNumber r;
    decNumberCopyAbs(&r, &v->u.number);
    set_number(out, &r);
    break;
  }
  case CF_FEEL_DT_DURATION:
    /* INT64_MIN seconds has no positive counterpart. */
    if (v->u.dt.secs == INT64_MIN) {
      cf__feel_warn(ev, "abs: duration out of range");
      break;
    }
    out->type = CF_FEEL_DT_DURATION;
    out->u.dt.secs = v->u.dt.secs < 0 ? -v->u.dt.secs : v->u.dt.secs;
    out->u.dt.nanos = v->u.dt.nanos < 0 ? -v->u.dt.nanos : v->u.dt.nanos;
    break;
  case CF_FEEL_YM_DURATION:
    if (v->u.months == INT64_MIN) {
      cf__feel_warn(ev, "abs: duration out of range");
      break;
    }
    out->type = CF_FEEL_YM_DURATION;
    out->u.months = v->u.months < 0 ? -v->u.months : v->u.months;
    break;
  case CF_FEEL_NULL:
    cf__feel_warn(ev, "abs: n is null");
    break;
  default:
    cf__feel_warn(ev, "abs: n must be a number or a duration, not %s",
                  cf_feel_type_name((enum cf_feel_type)v->type));
  }
  return CF_OK;
}

/*
 * modulo(dividend, divisor) = dividend - divisor * floor(dividend / divisor):
 * the result has the divisor's sign (DMN 1.5), unlike decNumber's remainder,
 * which has the dividend's; a remainder of the wrong sign is moved by one
 * divisor.
 */
static int bi_modulo(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                     struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (!need_number(ev, "modulo", "dividend", &args[0]) ||
      !need_number(ev, "modulo", "divisor", &args[1]))
    return CF_OK;
  const decNumber *a = &args[0].u.number, *b = &args[1].u.number;
  if (decNumberIsZero(b)) {
    cf__feel_warn(ev, "modulo: division by zero");
    return CF_OK;
  }
  decContext ctx;
  cf__feel_dec_context(&ctx);
  decNumber r;
  decNumberRemainder(&r, a, b, &ctx);
  if (!decNumberIsZero(&r) && decNumberIsNegative(&r) != decNumberIsNegative(b)) {
    decNumber t;
    decNumberAdd(&t, &r, b, &ctx);
    r = t;
  }
  if ((ctx.status & (DEC_Invalid_operation | DEC_Division_impossible | DEC_Overflow)) ||
      !decNumberIsFinite(&r)) {
    /* The integer quotient needs more than 34 digits (modulo(1e40, 7)). */
    cf__feel_warn(ev, "modulo: the quotient does not fit in 34 digits");
    return CF_OK;
  }
  set_number(out, &r);
  return CF_OK;
}

/* Which of the decNumber functions of one argument a call wants. */
enum unary_op { OP_SQRT, OP_LOG, OP_EXP };

static int unary_fn(struct cf_feel_eval *ev, const char *fname, enum unary_op op,
                    const struct cf_feel_value *arg, struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (!need_number(ev, fname, "number", arg)) return CF_OK;
  const decNumber *n = &arg->u.number;
  decContext ctx;
  cf__feel_dec_context(&ctx);
  decNumber r;
  switch (op) {
  case OP_SQRT:
    if (decNumberIsNegative(n) && !decNumberIsZero(n)) {
      cf__feel_warn(ev, "sqrt: number is negative");
      return CF_OK;
    }
    decNumberSquareRoot(&r, n, &ctx);
    break;
  case OP_LOG:
    if (decNumberIsNegative(n) || decNumberIsZero(n)) {
      cf__feel_warn(ev, "log: number must be positive");
      return CF_OK;
    }
    decNumberLn(&r, n, &ctx);
    break;
  case OP_EXP:
    decNumberExp(&r, n, &ctx);
    break;
  }
  if ((ctx.status & (DEC_Invalid_operation | DEC_Overflow)) || !decNumberIsFinite(&r)) {
    cf__feel_warn(ev, "%s: the result is out of range", fname);
    return CF_OK;
  }
  set_number(out, &r);
  return CF_OK;
}

static int bi_sqrt(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                   struct cf_feel_value *out) {
  return unary_fn(ev, "sqrt", OP_SQRT, &args[0], out);
}

static int bi_log(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                  struct cf_feel_value *out) {
  return unary_fn(ev, "log", OP_LOG, &args[0], out);
}

static int bi_exp(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                  struct cf_feel_value *out) {
  return unary_fn(ev, "exp", OP_EXP, &args[0], out);
}

/*
 * 1 if n is an odd integer, 0 if an even one, -1 if not an integer. Works
 * from the digits rather than by dividing, which would fail for integers
 * beyond 34 digits such as 1E+40 (even).
 */
static int parity(const decNumber *n) {
  if (!cf__feel_dec_is_integer(n)) return -1;
  decContext ctx;
  cf__feel_dec_context(&ctx);
  decNumber r;
  decNumberReduce(&r, n, &ctx); /* 4.0 -> 4: the last digit is then the units digit */
  if (decNumberIsZero(&r) || r.exponent > 0) return 0;
  return r.lsu[0] % 2;
}

/* A non-integer is neither odd nor even: both say false. */
static int parity_fn(struct cf_feel_eval *ev, const char *fname, int want,
                     const struct cf_feel_value *arg, struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (!need_number(ev, fname, "number", arg)) return CF_OK;
  cf_feel_set_bool(out, parity(&arg->u.number) == want);
  return CF_OK;
}

static int bi_odd(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                  struct cf_feel_value *out) {
  return parity_fn(ev, "odd", 1, &args[0], out);
}

static int bi_even(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                   struct cf_feel_value *out) {
  return parity_fn(ev, "even", 0, &args[0], out);
}

/*
 * random number() (Camunda): uniform in [0, 1), 18 decimal digits. The
 * bytes come from the kernel, so no generator state is kept in the process
 * (the layer has no global mutable state) and concurrent evaluations need
 * no lock. If the kernel refuses, the clock's nanoseconds are mixed instead:
 * good enough for picking, never used for secrets.
 */
static int bi_random_number(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                            size_t nargs, struct cf_feel_value *out) {
  uint64_t bits = 0;
  if (getrandom(&bits, sizeof bits, GRND_NONBLOCK) != (ssize_t)sizeof bits) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    bits = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec;
    bits ^= bits >> 29;
  }
  /* 2^64 / 10^18 is about 18.4, so the bias of the modulo is below 1e-19. */
  uint64_t frac = bits % 1000000000000000000ull;
  char text[32];
  size_t len = 0;
  text[len++] = '0';
  text[len++] = '.';
  for (uint64_t div = 100000000000000000ull; div > 0; div /= 10)
    text[len++] = (char)('0' + (frac / div) % 10);
  text[len] = '\0';
  if (cf_feel_set_number_text(out, text, len) != CF_OK) cf_feel_set_null(out);
  return CF_OK;
}

/* --------------------------------------------------------------- table */

const struct cf__feel_builtin cf__feel_builtins_numeric[] = {
    {"decimal", {"n", "scale"}, 2, 2, bi_decimal},
    {"floor", {"n", "scale"}, 1, 2, bi_floor},
    {"ceiling", {"n", "scale"}, 1, 2, bi_ceiling},
    {"round up", {"n", "scale"}, 2, 2, bi_round_up},
    {"round down", {"n", "scale"}, 2, 2, bi_round_down},
    {"round half up", {"n", "scale"}, 2, 2, bi_round_half_up},
    {"round half down", {"n", "scale"}, 2, 2, bi_round_half_down},
    {"abs", {"n"}, 1, 1, bi_abs},
    {"modulo", {"dividend", "divisor"}, 2, 2, bi_modulo},
    {"sqrt", {"number"}, 1, 1, bi_sqrt},
    {"log", {"number"}, 1, 1, bi_log},
    {"exp", {"number"}, 1, 1, bi_exp},
    {"odd", {"number"}, 1, 1, bi_odd},
    {"even", {"number"}, 1, 1, bi_even},
    {"random number", {NULL}, 0, 0, bi_random_number},
    {NULL, {NULL}, 0, 0, NULL},
};
