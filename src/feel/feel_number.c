/*
 * FEEL numbers: decimals of 34 significant digits (DECIMAL128 semantics),
 * over decNumber from Debian's libdfp. 0.1 + 0.2 is exactly 0.3, and money
 * never drifts through binary floating point.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feel/feel_int.h"

void cf__feel_dec_context(decContext *ctx) {
  decContextDefault(ctx, DEC_INIT_DECIMAL128);
  ctx->traps = 0;
  ctx->clamp = 0; /* no padding of huge exponents: 1E+6144 reduces to one digit */
  ctx->digits = 34;
  ctx->round = DEC_ROUND_HALF_EVEN;
}

void cf__feel_set_decnumber(struct cf_feel_value *v, const decNumber *n) {
  v->type = CF_FEEL_NUMBER;
  decNumberCopy(&v->u.number, n);
}

void cf_feel_set_int(struct cf_feel_value *v, int64_t n) {
  char buf[32];
  snprintf(buf, sizeof buf, "%lld", (long long)n);
  decContext ctx;
  cf__feel_dec_context(&ctx);
  v->type = CF_FEEL_NUMBER;
  decNumberFromString(&v->u.number, buf, &ctx);
}

int cf_feel_set_number_text(struct cf_feel_value *v, const char *text, size_t len) {
  char buf[256];
  /* Validate the FEEL/JSON number shape first: decNumber also takes "Inf", "NaN". */
  size_t i = 0;
  if (len == 0 || len >= sizeof buf) return CF_EINVAL;
  if (text[i] == '-' || text[i] == '+') i++;
  size_t digits = 0;
  while (i < len && text[i] >= '0' && text[i] <= '9') i++, digits++;
  if (i < len && text[i] == '.') {
    i++;
    while (i < len && text[i] >= '0' && text[i] <= '9') i++, digits++;
  }
  if (!digits) return CF_EINVAL;
  if (i < len && (text[i] == 'e' || text[i] == 'E')) {
    i++;
    if (i < len && (text[i] == '-' || text[i] == '+')) i++;
    size_t ed = 0;
    while (i < len && text[i] >= '0' && text[i] <= '9') i++, ed++;
    if (!ed) return CF_EINVAL;
  }
  if (i != len) return CF_EINVAL;
  memcpy(buf, text, len);
  buf[len] = '\0';
  decContext ctx;
  cf__feel_dec_context(&ctx);
  decNumber n;
  decNumberFromString(&n, buf, &ctx);
  if (ctx.status & (DEC_Overflow | DEC_Conversion_syntax)) return CF_EINVAL;
  cf__feel_set_decnumber(v, &n);
  return CF_OK;
}

bool cf__feel_dec_is_integer(const decNumber *n) {
  if (decNumberIsSpecial(n)) return false;
  if (n->exponent >= 0) return true;
  decNumber r;
  decContext ctx;
  cf__feel_dec_context(&ctx);
  decNumberToIntegralValue(&r, n, &ctx);
  decNumber d;
  decNumberCompare(&d, &r, n, &ctx);
  return decNumberIsZero(&d);
}

bool cf_feel_number_to_int64(const struct cf_feel_value *v, int64_t *out) {
  if (v->type != CF_FEEL_NUMBER || !cf__feel_dec_is_integer(&v->u.number)) return false;
  char buf[CF_FEEL_NUMBER_TEXT_MAX];
  cf_feel_number_format(&v->u.number, buf);
  if (strchr(buf, 'E') || strchr(buf, '.')) return false;
  size_t len = strlen(buf);
  if (len > 19 + (buf[0] == '-')) return false;
  char *end;
  long long x = strtoll(buf, &end, 10);
  if (*end) return false;
  /* strtoll clamps on overflow: check by printing back. */
  char back[32];
  snprintf(back, sizeof back, "%lld", x);
  if (strcmp(back, buf) != 0) return false;
  *out = x;
  return true;
}

double cf_feel_number_to_double(const struct cf_feel_value *v) {
  char buf[CF_FEEL_NUMBER_TEXT_MAX];
  decNumberToString(&v->u.number, buf);
  return strtod(buf, NULL);
}

void cf_feel_number_format(const decNumber *n, char *buf) {
  decNumber r;
  decContext ctx;
  cf__feel_dec_context(&ctx);
  decNumberReduce(&r, n, &ctx);
  if (decNumberIsZero(&r)) {
    strcpy(buf, "0");
    return;
  }
  /*
   * Plain notation: digits, then the decimal point placed by the exponent.
   * r has at most 34 digits; the exponent decides how many zeros pad it.
   */
  char digits[40];
  decNumber absr;
  decNumberCopyAbs(&absr, &r);
  int32_t exp = absr.exponent;
  absr.exponent = 0;
  decNumberToString(&absr, digits);
  int nd = (int)strlen(digits);
  int32_t point = nd + exp; /* digits before the decimal point */
  char *o = buf;
  if (decNumberIsNegative(&r)) *o++ = '-';
  if (point > 40 || point < -40) {
    /* Far out: scientific, d.dddE+n. */
    *o++ = digits[0];
    if (nd > 1) {
      *o++ = '.';
      memcpy(o, digits + 1, (size_t)nd - 1);
      o += nd - 1;
    }
    sprintf(o, "E%+d", point - 1);
    return;
  }
  if (exp >= 0) {
    memcpy(o, digits, (size_t)nd);
    o += nd;
    for (int32_t i = 0; i < exp; i++) *o++ = '0';
  } else if (point > 0) {
    memcpy(o, digits, (size_t)point);
    o += point;
    *o++ = '.';
    memcpy(o, digits + point, (size_t)(nd - point));
    o += nd - point;
  } else {
    *o++ = '0';
    *o++ = '.';
    for (int32_t i = 0; i < -point; i++) *o++ = '0';
    memcpy(o, digits, (size_t)nd);
    o += nd;
  }
  *o = '\0';
}

int cf__feel_num_arith(struct cf_feel_eval *ev, char op, const decNumber *a, const decNumber *b,
                       struct cf_feel_value *out) {
  decContext ctx;
  cf__feel_dec_context(&ctx);
  decNumber r;
  switch (op) {
    case '+': decNumberAdd(&r, a, b, &ctx); break;
    case '-': decNumberSubtract(&r, a, b, &ctx); break;
    case '*': decNumberMultiply(&r, a, b, &ctx); break;
    case '/':
      if (decNumberIsZero(b)) {
        cf__feel_warn(ev, "division by zero");
        cf_feel_set_null(out);
        return CF_OK;
      }
      decNumberDivide(&r, a, b, &ctx);
      break;
    case '^': {
      /*
       * decNumber computes a**b exactly for integer b (and correctly rounded
       * otherwise). Guard silly exponents that would only overflow slowly.
       */
      decNumberPower(&r, a, b, &ctx);
      break;
    }
    default:
      cf__feel_warn(ev, "unknown operator");
      cf_feel_set_null(out);
      return CF_OK;
  }
  if (decNumberIsSpecial(&r) || (ctx.status & (DEC_Overflow | DEC_Invalid_operation |
                                               DEC_Division_by_zero | DEC_Division_undefined))) {
    cf__feel_warn(ev, "arithmetic result is not a finite number");
    cf_feel_set_null(out);
    return CF_OK;
  }
  if (ctx.status & DEC_Underflow) {
    decNumberZero(&r);
  }
  cf__feel_set_decnumber(out, &r);
  return CF_OK;
}
