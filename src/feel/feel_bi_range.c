/*
 * Range built-in functions: the interval relations of DMN 1.5 §10.3.4.9
 * (before, after, meets, met by, overlaps, overlaps before, overlaps after,
 * finishes, finished by, includes, during, starts, started by, coincides),
 * each on points and ranges, and range(from), which reads a range from its
 * text.
 *
 * Unbounded ends (`< 10` is a range whose start is null) act as minus and
 * plus infinity, so before(1, > 5) is true and includes(>= 0, 7) is true;
 * the spec's formulas would otherwise compare with null and give null for
 * every range written as a comparison. An unbounded end is never included.
 *
 * Points and endpoints must be mutually comparable (numbers with numbers,
 * dates with dates...); otherwise the result is null with a warning.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "feel/feel_int.h"

/* ------------------------------------------------------------ endpoints */

/*
 * One end of an interval: a value, or infinity. A point is an interval
 * with both ends at the point, included.
 */
struct end {
  const struct cf_feel_value *v;
  int inf; /* -1 minus infinity, 1 plus infinity, 0 a value */
  bool incl;
};

struct ival {
  struct end start, end;
};

static void ival_of(const struct cf_feel_value *v, struct ival *iv) {
  if (v->type == CF_FEEL_RANGE) {
    const struct cf_feel_range *r = v->u.range;
    bool open_start = r->start.type == CF_FEEL_NULL, open_end = r->end.type == CF_FEEL_NULL;
    iv->start = (struct end){&r->start, open_start ? -1 : 0, r->start_incl && !open_start};
    iv->end = (struct end){&r->end, open_end ? 1 : 0, r->end_incl && !open_end};
  } else {
    iv->start = iv->end = (struct end){v, 0, true};
  }
}

/* One relation being evaluated: the first comparison that fails spoils it. */
struct rel {
  struct cf_feel_eval *ev;
  const char *fname;
  bool failed;
};

/* Compares two ends by position (infinities included): <0, 0, >0. */
static int cmp(struct rel *r, const struct end *a, const struct end *b) {
  if (a->inf || b->inf) return a->inf - b->inf; /* same infinity: equal */
  int c = 0;
  if (cf_feel_compare(a->v, b->v, &c) != CF_OK) {
    if (!r->failed)
      cf__feel_warn(r->ev, "%s: %s and %s are not comparable", r->fname,
                    cf_feel_type_name((enum cf_feel_type)a->v->type),
                    cf_feel_type_name((enum cf_feel_type)b->v->type));
    r->failed = true;
  }
  return c;
}

static bool lt(struct rel *r, const struct end *a, const struct end *b) { return cmp(r, a, b) < 0; }
static bool gt(struct rel *r, const struct end *a, const struct end *b) { return cmp(r, a, b) > 0; }
static bool eq(struct rel *r, const struct end *a, const struct end *b) { return cmp(r, a, b) == 0; }

/* ------------------------------------------------------------ relations */

/*
 * Each relation below is the spec's formula for two ranges; the point
 * overloads are the same formula with the point as a closed, zero-length
 * interval, which gives exactly the spec's point formulas.
 */
typedef bool (*relation_fn)(struct rel *r, const struct ival *a, const struct ival *b);

static bool r_before(struct rel *r, const struct ival *a, const struct ival *b) {
  return lt(r, &a->end, &b->start) ||
         (eq(r, &a->end, &b->start) && (!a->end.incl || !b->start.incl));
}

static bool r_after(struct rel *r, const struct ival *a, const struct ival *b) {
  return gt(r, &a->start, &b->end) ||
         (eq(r, &a->start, &b->end) && (!a->start.incl || !b->end.incl));
}

static bool r_meets(struct rel *r, const struct ival *a, const struct ival *b) {
  return a->end.incl && b->start.incl && eq(r, &a->end, &b->start);
}

static bool r_met_by(struct rel *r, const struct ival *a, const struct ival *b) {
  return a->start.incl && b->end.incl && eq(r, &a->start, &b->end);
}

static bool r_overlaps(struct rel *r, const struct ival *a, const struct ival *b) {
  bool x = gt(r, &a->end, &b->start) ||
           (eq(r, &a->end, &b->start) && a->end.incl && b->start.incl);
  bool y = lt(r, &a->start, &b->end) ||
           (eq(r, &a->start, &b->end) && a->start.incl && b->end.incl);
  return x && y;
}

static bool r_overlaps_before(struct rel *r, const struct ival *a, const struct ival *b) {
  bool x = lt(r, &a->start, &b->start) ||
           (eq(r, &a->start, &b->start) && a->start.incl && !b->start.incl);
  bool y = gt(r, &a->end, &b->start) ||
           (eq(r, &a->end, &b->start) && a->end.incl && b->start.incl);
  bool z = lt(r, &a->end, &b->end) ||
           (eq(r, &a->end, &b->end) && (!a->end.incl || b->end.incl));
  return x && y && z;
}

static bool r_overlaps_after(struct rel *r, const struct ival *a, const struct ival *b) {
  return r_overlaps_before(r, b, a);
}

static bool r_finishes(struct rel *r, const struct ival *a, const struct ival *b) {
  bool e = a->end.incl == b->end.incl && eq(r, &a->end, &b->end);
  bool s = gt(r, &a->start, &b->start) ||
           (eq(r, &a->start, &b->start) && (!a->start.incl || b->start.incl));
  return e && s;
}

static bool r_finished_by(struct rel *r, const struct ival *a, const struct ival *b) {
  return r_finishes(r, b, a);
}

static bool r_includes(struct rel *r, const struct ival *a, const struct ival *b) {
  bool s = lt(r, &a->start, &b->start) ||
           (eq(r, &a->start, &b->start) && (a->start.incl || !b->start.incl));
  bool e = gt(r, &a->end, &b->end) ||
           (eq(r, &a->end, &b->end) && (a->end.incl || !b->end.incl));
  return s && e;
}

static bool r_during(struct rel *r, const struct ival *a, const struct ival *b) {
  return r_includes(r, b, a);
}

static bool r_starts(struct rel *r, const struct ival *a, const struct ival *b) {
  bool s = a->start.incl == b->start.incl && eq(r, &a->start, &b->start);
  bool e = lt(r, &a->end, &b->end) ||
           (eq(r, &a->end, &b->end) && (!a->end.incl || b->end.incl));
  return s && e;
}

static bool r_started_by(struct rel *r, const struct ival *a, const struct ival *b) {
  return r_starts(r, b, a);
}

static bool r_coincides(struct rel *r, const struct ival *a, const struct ival *b) {
  return a->start.incl == b->start.incl && a->end.incl == b->end.incl &&
         eq(r, &a->start, &b->start) && eq(r, &a->end, &b->end);
}

/*
 * Which argument shapes a relation accepts: points and ranges in either
 * place (before, after), or a fixed shape for one of the places.
 */
enum shape { ANY, RANGE_ONLY, POINT_OR_RANGE };

static bool shape_ok(struct cf_feel_eval *ev, const char *fname, const char *pname,
                     const struct cf_feel_value *v, enum shape want) {
  if (v->type == CF_FEEL_NULL) {
    cf__feel_warn(ev, "%s: %s is null", fname, pname);
    return false;
  }
  if (want == RANGE_ONLY && v->type != CF_FEEL_RANGE) {
    cf__feel_warn(ev, "%s: %s must be a range, not %s", fname, pname,
                  cf_feel_type_name((enum cf_feel_type)v->type));
    return false;
  }
  return true;
}

/*
 * Evaluates a relation. first/second say which shapes each place allows
 * (coincides and before take points in both places; meets only ranges).
 * Two points are allowed only where the spec has a point-point overload.
 */
static int relate(struct cf_feel_eval *ev, const char *fname, relation_fn f, enum shape first,
                  enum shape second, bool two_points, const struct cf_feel_value *args,
                  struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (!shape_ok(ev, fname, "the first argument", &args[0], first) ||
      !shape_ok(ev, fname, "the second argument", &args[1], second))
    return CF_OK;
  if (!two_points && args[0].type != CF_FEEL_RANGE && args[1].type != CF_FEEL_RANGE) {
    cf__feel_warn(ev, "%s: one of the arguments must be a range", fname);
    return CF_OK;
  }
  struct ival a, b;
  ival_of(&args[0], &a);
  ival_of(&args[1], &b);
  struct rel r = {ev, fname, false};
  bool result = f(&r, &a, &b);
  if (!r.failed) cf_feel_set_bool(out, result);
  return CF_OK;
}

#define RELATION(cname, fname, f, first, second, two_points)                                  \
  static int cname(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,  \
                   struct cf_feel_value *out) {                                               \
    return relate(ev, fname, f, first, second, two_points, args, out);                       \
  }

RELATION(bi_before, "before", r_before, ANY, ANY, true)
RELATION(bi_after, "after", r_after, ANY, ANY, true)
RELATION(bi_meets, "meets", r_meets, RANGE_ONLY, RANGE_ONLY, false)
RELATION(bi_met_by, "met by", r_met_by, RANGE_ONLY, RANGE_ONLY, false)
RELATION(bi_overlaps, "overlaps", r_overlaps, RANGE_ONLY, RANGE_ONLY, false)
RELATION(bi_overlaps_before, "overlaps before", r_overlaps_before, RANGE_ONLY, RANGE_ONLY, false)
RELATION(bi_overlaps_after, "overlaps after", r_overlaps_after, RANGE_ONLY, RANGE_ONLY, false)
RELATION(bi_finishes, "finishes", r_finishes, POINT_OR_RANGE, RANGE_ONLY, false)
RELATION(bi_finished_by, "finished by", r_finished_by, RANGE_ONLY, POINT_OR_RANGE, false)
RELATION(bi_includes, "includes", r_includes, RANGE_ONLY, POINT_OR_RANGE, false)
RELATION(bi_during, "during", r_during, POINT_OR_RANGE, RANGE_ONLY, false)
RELATION(bi_starts, "starts", r_starts, POINT_OR_RANGE, RANGE_ONLY, false)
RELATION(bi_started_by, "started by", r_started_by, RANGE_ONLY, POINT_OR_RANGE, false)
/* coincides has a point-point and a range-range form, no mixed one. */
static int bi_coincides(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                        struct cf_feel_value *out) {
  if ((args[0].type == CF_FEEL_RANGE) != (args[1].type == CF_FEEL_RANGE) &&
      args[0].type != CF_FEEL_NULL && args[1].type != CF_FEEL_NULL) {
    cf__feel_warn(ev, "coincides: compares two points or two ranges, not a point and a range");
    cf_feel_set_null(out);
    return CF_OK;
  }
  return relate(ev, "coincides", r_coincides, ANY, ANY, true, args, out);
}

/* ---------------------------------------------------------- range(from) */

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Length of the string literal at s (quotes included), or 0 if s[0..len) does not start with one. */
static size_t string_literal_len(const char *s, size_t len) {
  if (len == 0 || s[0] != '"') return 0;
  for (size_t i = 1; i < len; i++) {
    if (s[i] == '\\' && i + 1 < len)
      i++;
    else if (s[i] == '"')
      return i + 1;
  }
  return 0;
}

/*
 * True if s is exactly a number literal: an optional '-', digits with at
 * most one '.', and an optional exponent (1.2e3, as DMN 1.5 writes them).
 */
static bool is_number_literal(const char *s, size_t len) {
  size_t i = 0, digits = 0;
  if (i < len && s[i] == '-') i++;
  while (i < len && isdigit((unsigned char)s[i])) i++, digits++;
  if (i < len && s[i] == '.') {
    i++;
    while (i < len && isdigit((unsigned char)s[i])) i++, digits++;
  }
  if (digits == 0) return false;
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    size_t exp_digits = 0;
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-')) i++;
    while (i < len && isdigit((unsigned char)s[i])) i++, exp_digits++;
    if (exp_digits == 0) return false;
  }
  return i == len;
}

/*
 * True if s is an endpoint the spec allows in range(): a literal. That is a
 * number, a string, an @"..." temporal, or a temporal constructor applied
 * to a string literal (time("10:00:00")), but no other expression, so
 * time(string("10:00")) is refused as the TCK wants.
 */
static bool is_endpoint_literal(const char *s, size_t len) {
  static const char *const ctors[] = {"date and time", "date", "time", "duration"};
  if (len == 0) return false;
  if (s[0] == '"') return string_literal_len(s, len) == len;
  if (s[0] == '@') return string_literal_len(s + 1, len - 1) == len - 1;
  for (size_t k = 0; k < sizeof ctors / sizeof *ctors; k++) {
    size_t n = strlen(ctors[k]);
    if (len <= n || memcmp(s, ctors[k], n) != 0) continue;
    size_t i = n;
    while (i < len && is_space(s[i])) i++;
    if (i >= len || s[i] != '(') continue;
    i++;
    while (i < len && is_space(s[i])) i++;
    size_t sl = string_literal_len(s + i, len - i);
    if (sl == 0) continue;
    i += sl;
    while (i < len && is_space(s[i])) i++;
    return i + 1 == len && s[i] == ')';
  }
  return is_number_literal(s, len);
}

/* Trims blanks at both ends of s[0..*len), moving s. */
static const char *trim(const char *s, size_t *len) {
  while (*len > 0 && is_space(s[0])) s++, (*len)--;
  while (*len > 0 && is_space(s[*len - 1])) (*len)--;
  return s;
}

/* The offset of the ".." that separates the endpoints (outside string literals), or len. */
static size_t find_dots(const char *s, size_t len) {
  for (size_t i = 0; i + 1 < len; i++) {
    if (s[i] == '"') {
      size_t sl = string_literal_len(s + i, len - i);
      if (sl == 0) return len;
      i += sl - 1;
    } else if (s[i] == '.' && s[i + 1] == '.') {
      return i;
    }
  }
  return len;
}

/* Types a range() endpoint may have: those with a total order. */
static bool orderable(const struct cf_feel_value *v) {
  switch (v->type) {
  case CF_FEEL_NUMBER:
  case CF_FEEL_STRING:
  case CF_FEEL_DATE:
  case CF_FEEL_TIME:
  case CF_FEEL_DATETIME:
  case CF_FEEL_DT_DURATION:
  case CF_FEEL_YM_DURATION:
    return true;
  default:
    return false;
  }
}

/*
 * range(from): "[1..10]", "(1..10]", "]1..10[", "[@\"2012-01-01\"..@\"2012-12-31\")".
 * The ends are literals of one type with start <= end; one end may be left
 * out behind an open bracket ("[2..)" is >= 2, "(..2)" is < 2), as the
 * spec's examples show.
 */
static int bi_range(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                    struct cf_feel_value *out) {
  struct cf_feel_value lo = {.type = CF_FEEL_NULL}, hi = {.type = CF_FEEL_NULL};
  int rc = CF_OK;
  cf_feel_set_null(out);
  if (args[0].type != CF_FEEL_STRING) {
    cf__feel_warn(ev, "range: from must be a string, not %s",
                  cf_feel_type_name((enum cf_feel_type)args[0].type));
    return CF_OK;
  }
  size_t len = args[0].u.string->len;
  const char *s = trim(args[0].u.string->data, &len);
  if (len < 2 || !memchr("[(]", s[0], 3) || !memchr("])[", s[len - 1], 3)) goto bad;
  bool start_incl = s[0] == '[', end_incl = s[len - 1] == ']';
  const char *body = s + 1;
  size_t blen = len - 2;
  size_t dots = find_dots(body, blen);
  if (dots == blen) goto bad;
  size_t l1 = dots, l2 = blen - dots - 2;
  const char *e1 = trim(body, &l1), *e2 = trim(body + dots + 2, &l2);
  /* An end may be left out only where its bracket is open: "[2..)" is >= 2, "[2..]" is nothing. */
  if ((l1 == 0 && (start_incl || l2 == 0)) || (l2 == 0 && end_incl)) goto bad;
  if ((l1 && !is_endpoint_literal(e1, l1)) || (l2 && !is_endpoint_literal(e2, l2))) goto bad;
  if (l1) rc = cf__feel_eval_text(ev, e1, l1, &lo);
  if (rc == CF_OK && l2) rc = cf__feel_eval_text(ev, e2, l2, &hi);
  if (rc != CF_OK) goto out;
  if ((l1 && !orderable(&lo)) || (l2 && !orderable(&hi)) || (l1 && l2 && lo.type != hi.type)) {
    cf__feel_warn(ev, "range: the ends must be values of one ordered type");
    goto out;
  }
  int c;
  if (l1 && l2 && (cf_feel_compare(&lo, &hi, &c) != CF_OK || c > 0)) {
    cf__feel_warn(ev, "range: the start is after the end");
    goto out;
  }
  rc = cf_feel_range_new(out, &lo, start_incl, &hi, end_incl);
  if (rc != CF_OK) cf_feel_set_null(out);
  goto out;
bad:
  cf__feel_warn(ev, "range: \"%.*s\" is not a range such as \"[1..10)\"",
                len > 64 ? 64 : (int)len, s);
out:
  cf_feel_value_release(&lo);
  cf_feel_value_release(&hi);
  return rc;
}

/* --------------------------------------------------------------- table */

/*
 * The spec names the parameters by role (point1, range, ...). Positional
 * calls take the first entry and the function tells points from ranges by
 * type; named calls find the entry that has their names.
 */
const struct cf__feel_builtin cf__feel_builtins_range[] = {
    {"before", {"point1", "point2"}, 2, 2, bi_before},
    {"before", {"point", "range"}, 2, 2, bi_before},
    {"before", {"range1", "range2"}, 2, 2, bi_before},
    {"after", {"point1", "point2"}, 2, 2, bi_after},
    {"after", {"point", "range"}, 2, 2, bi_after},
    {"after", {"range1", "range2"}, 2, 2, bi_after},
    {"meets", {"range1", "range2"}, 2, 2, bi_meets},
    {"met by", {"range1", "range2"}, 2, 2, bi_met_by},
    {"overlaps", {"range1", "range2"}, 2, 2, bi_overlaps},
    {"overlaps before", {"range1", "range2"}, 2, 2, bi_overlaps_before},
    {"overlaps after", {"range1", "range2"}, 2, 2, bi_overlaps_after},
    {"finishes", {"point", "range"}, 2, 2, bi_finishes},
    {"finishes", {"range1", "range2"}, 2, 2, bi_finishes},
    {"finished by", {"range", "point"}, 2, 2, bi_finished_by},
    {"finished by", {"range1", "range2"}, 2, 2, bi_finished_by},
    {"includes", {"range", "point"}, 2, 2, bi_includes},
    {"includes", {"range1", "range2"}, 2, 2, bi_includes},
    {"during", {"point", "range"}, 2, 2, bi_during},
    {"during", {"range1", "range2"}, 2, 2, bi_during},
    {"starts", {"point", "range"}, 2, 2, bi_starts},
    {"starts", {"range1", "range2"}, 2, 2, bi_starts},
    {"started by", {"range", "point"}, 2, 2, bi_started_by},
    {"started by", {"range1", "range2"}, 2, 2, bi_started_by},
    {"coincides", {"point1", "point2"}, 2, 2, bi_coincides},
    {"coincides", {"range1", "range2"}, 2, 2, bi_coincides},
    {"range", {"from"}, 1, 1, bi_range},
    {NULL, {NULL}, 0, 0, NULL},
};
