/*
 * FEEL's temporal values: dates, times, dates and times, and the two kinds
 * of durations. Parsing (literals and the conversion functions), string(),
 * equality and ordering, arithmetic, properties, and the temporal built-ins.
 *
 * Semantics follow DMN 1.5 chapter 10 as the TCK reads it, and Camunda's
 * feel-scala (java.time underneath) where the spec is silent:
 *
 * - A date or time without offset or zone is local; one with an offset or
 *   an IANA zone is zoned. Subtracting or comparing a local value and a
 *   zoned one is an error (null), since there is no honest answer.
 * - Where a date meets a date and time (date - date and time), the date is
 *   midnight UTC, as the TCK expects; date + duration works on local
 *   midnight and drops the time of day from the result.
 * - A date and time with a zone id carries the offset in force at its local
 *   time; a local time that falls into a DST gap moves forward by the gap,
 *   as java.time's ZonedDateTime.of does. Days-time durations move such a
 *   value along the time line (instants); years-months durations move its
 *   local date and the offset is looked up again.
 * - A time with a zone id has no date to find its offset from, so it uses
 *   the zone's standard offset (see time_zone_offset): every time
 *   "@Europe/Paris" then compares the same way (+01:00), whatever date and
 *   time it was taken from.
 * - Equality and ordering of times and dates and times look at milliseconds:
 *   XML Schema requires no more precision than that, and the DMN TCK
 *   (0068-feel-equality time_005, datetime_003_a) expects 10:30:00.0001 to
 *   equal 10:30:00.0002. Values keep and print their nanoseconds; `is()`
 *   compares them exactly.
 * - Durations: a years-months duration is a count of months; a days-time
 *   duration a count of nanoseconds. Multiplying or dividing them by a number
 *   truncates toward zero (P1Y11M * -2.5 = -P4Y9M, as the TCK wants).
 */
#include <stdio.h>
#include <string.h>

#include "base/cf_time.h"
#include "base/cf_tz.h"
#include "feel/feel_int.h"

#define NS 1000000000LL
#define DAY_SECS CF_TIME_SECS_PER_DAY
#define MAX_OFFSET (18 * 3600)

/* Nanosecond counts over the whole calendar need more than 64 bits (GNU C). */
__extension__ typedef __int128 wide;

/* Largest |nanoseconds| a days-time duration holds: its seconds fit int64. */
#define DT_MAX_NANOS ((wide)INT64_MAX * NS + (NS - 1))

/* ------------------------------------------------------------- helpers */

static wide wfloor_div(wide a, wide b) {
  wide q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;
  return q;
}

static int64_t tod_secs(const struct cf_feel_temporal *t) {
  return (int64_t)t->hour * 3600 + t->minute * 60 + t->second;
}

static int64_t date_days(const struct cf_feel_temporal *t) {
  return cf_time_days_from_civil(t->year, t->month, t->day);
}

/* Nanoseconds since 1970-01-01T00:00 of the value's own (local) calendar. */
static wide local_nanos(const struct cf_feel_temporal *t) {
  return ((wide)date_days(t) * DAY_SECS + tod_secs(t)) * NS + t->nanos;
}

static wide instant_nanos(const struct cf_feel_temporal *t) {
  return local_nanos(t) - (wide)t->offset * NS;
}

static bool is_zoned(const struct cf_feel_temporal *t) {
  return t->zone_kind != CF_FEEL_ZONE_LOCAL;
}

/* Sets the date and clock fields from local nanoseconds. False if the year leaves FEEL's range. */
static bool set_local_nanos(struct cf_feel_temporal *t, wide n) {
  /* Far beyond the calendar: refuse before narrowing to 64 bits. */
  const wide lim = (wide)40000000000000000LL * NS;
  if (n > lim || n < -lim)
    return false;
  int64_t secs = (int64_t)wfloor_div(n, NS);
  uint32_t nanos = (uint32_t)(n - (wide)secs * NS);
  int64_t days = cf_time_floor_div(secs, DAY_SECS);
  int64_t sod = secs - days * DAY_SECS;
  int64_t y;
  unsigned m, d;
  cf_time_civil_from_days(days, &y, &m, &d);
  if (y < CF_TIME_YEAR_MIN || y > CF_TIME_YEAR_MAX)
    return false;
  t->year = (int32_t)y;
  t->month = (uint8_t)m;
  t->day = (uint8_t)d;
  t->hour = (uint8_t)(sod / 3600);
  t->minute = (uint8_t)(sod / 60 % 60);
  t->second = (uint8_t)(sod % 60);
  t->nanos = nanos;
  return true;
}

/* Sets the clock fields of a time from nanoseconds, wrapped into one day. */
static void set_clock_nanos(struct cf_feel_temporal *t, wide n) {
  wide day = (wide)DAY_SECS * NS;
  n %= day;
  if (n < 0)
    n += day;
  int64_t secs = (int64_t)(n / NS);
  t->hour = (uint8_t)(secs / 3600);
  t->minute = (uint8_t)(secs / 60 % 60);
  t->second = (uint8_t)(secs % 60);
  t->nanos = (uint32_t)(n % NS);
}

/*
 * A date and time with a zone id and its local fields set: looks up the
 * offset in force, moving a local time inside a DST gap forward by the gap.
 */
static bool resolve_zone(struct cf_feel_temporal *t) {
  int64_t local = date_days(t) * DAY_SECS + tod_secs(t);
  int32_t off = cf_tz_offset_for_local(t->zone, local);
  int32_t real = cf_tz_offset_at(t->zone, local - off);
  if (real != off && !set_local_nanos(t, local_nanos(t) + (wide)(real - off) * NS))
    return false;
  t->offset = real;
  return true;
}

/* Sets a zoned date and time from an instant, keeping its zone (or fixed offset). */
static bool set_instant(struct cf_feel_temporal *t, wide instant) {
  if (t->zone_kind == CF_FEEL_ZONE_ID)
    t->offset = cf_tz_offset_at(t->zone, (int64_t)wfloor_div(instant, NS));
  return set_local_nanos(t, instant + (wide)t->offset * NS);
}

/*
 * The offset a time with a zone id carries: the zone's standard (winter)
 * offset of today's rules, taken as the smaller of its offsets in January
 * and July of a fixed recent year (2024), so that it never depends on the
 * clock and a zone that changed its standard offset since (Singapore in
 * 1982) gets the one in use now rather than a historical one.
 */
static int32_t time_zone_offset(const struct cf_tz *zone) {
  int32_t jan = cf_tz_offset_at(zone, cf_time_days_from_civil(2024, 1, 15) * DAY_SECS);
  int32_t jul = cf_tz_offset_at(zone, cf_time_days_from_civil(2024, 7, 15) * DAY_SECS);
  return jan < jul ? jan : jul;
}

static void set_temporal(struct cf_feel_value *v, enum cf_feel_type type,
                         const struct cf_feel_temporal *t) {
  v->type = (uint8_t)type;
  v->u.t = *t;
  if (type == CF_FEEL_DATE) {
    v->u.t.hour = v->u.t.minute = v->u.t.second = 0;
    v->u.t.nanos = 0;
    v->u.t.zone_kind = CF_FEEL_ZONE_LOCAL;
    v->u.t.offset = 0;
    v->u.t.zone = NULL;
  } else if (type == CF_FEEL_TIME) {
    v->u.t.year = 0;
    v->u.t.month = v->u.t.day = 0;
  }
}

static void set_dt(struct cf_feel_value *v, wide nanos) {
  v->type = CF_FEEL_DT_DURATION;
  v->u.dt.secs = (int64_t)(nanos / NS); /* truncation keeps secs and nanos of one sign */
  v->u.dt.nanos = (int32_t)(nanos % NS);
}

static wide dt_nanos(const struct cf_feel_value *v) {
  return (wide)v->u.dt.secs * NS + v->u.dt.nanos;
}

static const char *tname(const struct cf_feel_value *v) {
  return cf_feel_type_name((enum cf_feel_type)v->type);
}

/* -------------------------------------------------------------- parsing */

/* The part after a clock: nothing, "Z", an offset, or "@" and a zone id; all of s. */
static bool parse_zone_suffix(const char *s, size_t len, struct cf_feel_temporal *t) {
  t->zone_kind = CF_FEEL_ZONE_LOCAL;
  t->offset = 0;
  t->zone = NULL;
  if (len == 0)
    return true;
  if (s[0] == '@') {
    const struct cf_tz *tz = cf_tz_find(s + 1, len - 1);
    if (!tz)
      return false;
    t->zone_kind = CF_FEEL_ZONE_ID;
    t->zone = tz;
    return true;
  }
  int32_t off;
  if (cf_time_parse_offset(s, len, &off) != len)
    return false;
  t->zone_kind = CF_FEEL_ZONE_OFFSET;
  t->offset = off;
  return true;
}

/* A time string: "hh:mm:ss[.f][Z|+hh:mm|@zone]". */
static bool parse_time(const char *s, size_t len, struct cf_feel_temporal *t) {
  struct cf_time_civil c;
  size_t n = cf_time_parse_clock(s, len, &c);
  memset(t, 0, sizeof *t);
  if (!n || !parse_zone_suffix(s + n, len - n, t))
    return false;
  t->hour = (uint8_t)(c.hour == 24 ? 0 : c.hour); /* 24:00:00 is the next midnight */
  t->minute = (uint8_t)c.minute;
  t->second = (uint8_t)c.second;
  t->nanos = c.nanos;
  if (t->zone_kind == CF_FEEL_ZONE_ID)
    t->offset = time_zone_offset(t->zone);
  return true;
}

/*
 * A date and time string "date T time"; with date_only, a bare date is
 * midnight local time (date and time("2012-12-24")).
 */
static bool parse_datetime(const char *s, size_t len, bool date_only, struct cf_feel_temporal *t) {
  struct cf_time_civil c;
  size_t n = cf_time_parse_date(s, len, &c);
  if (!n)
    return false;
  if (n == len && !date_only)
    return false;
  struct cf_feel_temporal tm;
  memset(&tm, 0, sizeof tm);
  bool end_of_day = false;
  if (n < len) {
    struct cf_time_civil clk;
    if (s[n] != 'T')
      return false;
    size_t k = cf_time_parse_clock(s + n + 1, len - n - 1, &clk);
    if (!k || !parse_zone_suffix(s + n + 1 + k, len - n - 1 - k, &tm))
      return false;
    end_of_day = clk.hour == 24;
    tm.hour = (uint8_t)(end_of_day ? 0 : clk.hour);
    tm.minute = (uint8_t)clk.minute;
    tm.second = (uint8_t)clk.second;
    tm.nanos = clk.nanos;
  }
  tm.year = (int32_t)c.year;
  tm.month = (uint8_t)c.month;
  tm.day = (uint8_t)c.day;
  if (end_of_day && !set_local_nanos(&tm, local_nanos(&tm) + (wide)DAY_SECS * NS))
    return false;
  if (tm.zone_kind == CF_FEEL_ZONE_ID && !resolve_zone(&tm))
    return false;
  *t = tm;
  return true;
}

static bool parse_date(const char *s, size_t len, struct cf_feel_temporal *t) {
  struct cf_time_civil c;
  size_t n = cf_time_parse_date(s, len, &c);
  if (!n || n != len)
    return false;
  memset(t, 0, sizeof *t);
  t->year = (int32_t)c.year;
  t->month = (uint8_t)c.month;
  t->day = (uint8_t)c.day;
  return true;
}

/* An xsd duration: years-months or days-time, never both, no weeks. */
static bool parse_duration(const char *s, size_t len, struct cf_feel_value *out) {
  struct cf_time_duration d;
  const unsigned ym = CF_TIME_DUR_YEARS | CF_TIME_DUR_MONTHS;
  if (cf_time_parse_duration(s, len, &d) != CF_OK || (d.parts & CF_TIME_DUR_WEEKS))
    return false;
  if ((d.parts & ym) && (d.parts & ~ym))
    return false;
  if (d.parts & ym) {
    out->type = CF_FEEL_YM_DURATION;
    out->u.months = d.months;
  } else {
    out->type = CF_FEEL_DT_DURATION;
    out->u.dt.secs = d.secs;
    out->u.dt.nanos = d.nanos;
  }
  return true;
}

int cf__feel_temporal_literal(const char *s, size_t len, struct cf_feel_value *out) {
  struct cf_feel_temporal t;
  struct cf_feel_value v;
  struct cf_time_civil c;

  if (!s)
    return CF_EINVAL;
  if ((len >= 1 && s[0] == 'P') || (len >= 2 && s[0] == '-' && s[1] == 'P')) {
    if (!parse_duration(s, len, &v))
      return CF_EINVAL;
    *out = v;
    return CF_OK;
  }
  size_t n = cf_time_parse_date(s, len, &c);
  if (n && n == len) {
    if (!parse_date(s, len, &t))
      return CF_EINVAL;
    set_temporal(out, CF_FEEL_DATE, &t);
    return CF_OK;
  }
  if (n) {
    if (!parse_datetime(s, len, false, &t))
      return CF_EINVAL;
    set_temporal(out, CF_FEEL_DATETIME, &t);
    return CF_OK;
  }
  if (!parse_time(s, len, &t))
    return CF_EINVAL;
  set_temporal(out, CF_FEEL_TIME, &t);
  return CF_OK;
}

/* ----------------------------------------------------------- formatting */

static void put_fraction(struct cf_buf *b, uint32_t nanos) {
  if (!nanos)
    return;
  char f[16];
  snprintf(f, sizeof f, ".%09u", (unsigned)nanos);
  size_t n = strlen(f);
  while (f[n - 1] == '0')
    n--;
  cf_buf_append(b, f, n);
}

static void put_date(struct cf_buf *b, const struct cf_feel_temporal *t) {
  long long y = t->year;
  cf_buf_printf(b, "%s%04lld-%02u-%02u", y < 0 ? "-" : "", y < 0 ? -y : y, (unsigned)t->month,
                (unsigned)t->day);
}

static void put_clock(struct cf_buf *b, const struct cf_feel_temporal *t) {
  cf_buf_printf(b, "%02u:%02u:%02u", (unsigned)t->hour, (unsigned)t->minute, (unsigned)t->second);
  put_fraction(b, t->nanos);
}

static void put_offset(struct cf_buf *b, int32_t off) {
  if (off == 0) {
    cf_buf_putc(b, 'Z');
    return;
  }
  int32_t a = off < 0 ? -off : off;
  cf_buf_printf(b, "%c%02d:%02d", off < 0 ? '-' : '+', (int)(a / 3600), (int)(a / 60 % 60));
  if (a % 60)
    cf_buf_printf(b, ":%02d", (int)(a % 60));
}

static void put_zone(struct cf_buf *b, const struct cf_feel_temporal *t) {
  if (t->zone_kind == CF_FEEL_ZONE_OFFSET)
    put_offset(b, t->offset);
  else if (t->zone_kind == CF_FEEL_ZONE_ID) {
    cf_buf_putc(b, '@');
    cf_buf_puts(b, cf_tz_name(t->zone));
  }
}

static void put_dt(struct cf_buf *b, wide n) {
  if (n < 0) {
    cf_buf_putc(b, '-');
    n = -n;
  }
  wide secs = n / NS;
  uint32_t nanos = (uint32_t)(n % NS);
  long long days = (long long)(secs / DAY_SECS);
  unsigned h = (unsigned)(secs / 3600 % 24), m = (unsigned)(secs / 60 % 60),
           s = (unsigned)(secs % 60);
  cf_buf_putc(b, 'P');
  if (days)
    cf_buf_printf(b, "%lldD", days);
  if (h || m || s || nanos || !days) {
    cf_buf_putc(b, 'T');
    if (h)
      cf_buf_printf(b, "%uH", h);
    if (m)
      cf_buf_printf(b, "%uM", m);
    if (s || nanos || (!days && !h && !m)) {
      cf_buf_printf(b, "%u", s);
      put_fraction(b, nanos);
      cf_buf_putc(b, 'S');
    }
  }
}

static void put_ym(struct cf_buf *b, int64_t months) {
  /* |INT64_MIN| does not fit int64: go through unsigned. */
  uint64_t a = months < 0 ? 0 - (uint64_t)months : (uint64_t)months;
  if (months < 0)
    cf_buf_putc(b, '-');
  cf_buf_putc(b, 'P');
  if (a >= 12)
    cf_buf_printf(b, "%lluY", (unsigned long long)(a / 12));
  if (a % 12 || a < 12)
    cf_buf_printf(b, "%lluM", (unsigned long long)(a % 12));
}

int cf__feel_temporal_format(const struct cf_feel_value *v, struct cf_buf *out) {
  switch (v->type) {
  case CF_FEEL_DATE:
    put_date(out, &v->u.t);
    break;
  case CF_FEEL_TIME:
    put_clock(out, &v->u.t);
    put_zone(out, &v->u.t);
    break;
  case CF_FEEL_DATETIME:
    put_date(out, &v->u.t);
    cf_buf_putc(out, 'T');
    put_clock(out, &v->u.t);
    put_zone(out, &v->u.t);
    break;
  case CF_FEEL_DT_DURATION:
    put_dt(out, dt_nanos(v));
    break;
  case CF_FEEL_YM_DURATION:
    put_ym(out, v->u.months);
    break;
  default:
    return CF_EINVAL;
  }
  return out->oom ? CF_ENOMEM : CF_OK;
}

/* ----------------------------------------------------- equality, order */

/*
 * The key two values of one type are ordered by. False when they cannot be
 * compared (a local time against a zoned one).
 */
static bool order_keys(const struct cf_feel_value *a, const struct cf_feel_value *b, wide *ka,
                       wide *kb) {
  const wide ms = 1000000;
  switch (a->type) {
  case CF_FEEL_DATE:
    *ka = date_days(&a->u.t);
    *kb = date_days(&b->u.t);
    return true;
  case CF_FEEL_TIME:
    if (is_zoned(&a->u.t) != is_zoned(&b->u.t))
      return false;
    /* DMN's valuet: seconds of the day minus the offset (not wrapped to a day). */
    *ka = wfloor_div((wide)(tod_secs(&a->u.t) - a->u.t.offset) * NS + a->u.t.nanos, ms);
    *kb = wfloor_div((wide)(tod_secs(&b->u.t) - b->u.t.offset) * NS + b->u.t.nanos, ms);
    return true;
  case CF_FEEL_DATETIME:
    if (is_zoned(&a->u.t) != is_zoned(&b->u.t))
      return false;
    *ka = wfloor_div(instant_nanos(&a->u.t), ms);
    *kb = wfloor_div(instant_nanos(&b->u.t), ms);
    return true;
  case CF_FEEL_DT_DURATION:
    *ka = dt_nanos(a);
    *kb = dt_nanos(b);
    return true;
  case CF_FEEL_YM_DURATION:
    *ka = a->u.months;
    *kb = b->u.months;
    return true;
  default:
    return false;
  }
}

int cf__feel_temporal_equal(const struct cf_feel_value *a, const struct cf_feel_value *b) {
  wide ka, kb;
  if (a->type != b->type || !order_keys(a, b, &ka, &kb))
    return -1;
  return ka == kb;
}

int cf__feel_temporal_compare(const struct cf_feel_value *a, const struct cf_feel_value *b,
                              int *cmp) {
  wide ka, kb;
  if (a->type != b->type || !order_keys(a, b, &ka, &kb))
    return CF_ETYPE;
  *cmp = ka < kb ? -1 : ka > kb;
  return CF_OK;
}

/* `is()`: same type and the very same value, offset and zone included, to the nanosecond. */
static bool temporal_is(const struct cf_feel_value *a, const struct cf_feel_value *b) {
  const struct cf_feel_temporal *x = &a->u.t, *y = &b->u.t;
  switch (a->type) {
  case CF_FEEL_DATE:
    return x->year == y->year && x->month == y->month && x->day == y->day;
  case CF_FEEL_TIME:
  case CF_FEEL_DATETIME:
    if (x->year != y->year || x->month != y->month || x->day != y->day || x->hour != y->hour ||
        x->minute != y->minute || x->second != y->second || x->nanos != y->nanos ||
        x->zone_kind != y->zone_kind)
      return false;
    if (x->zone_kind == CF_FEEL_ZONE_OFFSET)
      return x->offset == y->offset;
    if (x->zone_kind == CF_FEEL_ZONE_ID)
      return x->zone == y->zone;
    return true;
  case CF_FEEL_DT_DURATION:
    return dt_nanos(a) == dt_nanos(b);
  case CF_FEEL_YM_DURATION:
    return a->u.months == b->u.months;
  default:
    return false;
  }
}

/* ------------------------------------------------- decimal conversions */

static void wide_to_dec(wide n, decNumber *d) {
  char buf[64];
  char *p = buf + sizeof buf;
  bool neg = n < 0;
  *--p = '\0';
  /* Negate digit by digit so the most negative value needs no special case. */
  do {
    int digit = (int)(n % 10);
    *--p = (char)('0' + (digit < 0 ? -digit : digit));
    n /= 10;
  } while (n != 0);
  if (neg)
    *--p = '-';
  decContext ctx;
  cf__feel_dec_context(&ctx);
  decNumberFromString(d, p, &ctx);
}

/* d truncated toward zero, if finite and of at most max_digits digits. */
static bool dec_to_wide(const decNumber *d, int max_digits, wide *out) {
  decContext ctx;
  decNumber i, zero, q;
  char buf[80];

  if (decNumberIsNaN(d) || decNumberIsInfinite(d))
    return false;
  cf__feel_dec_context(&ctx);
  ctx.round = DEC_ROUND_DOWN;
  decNumberToIntegralValue(&i, d, &ctx);
  if (decNumberIsZero(&i)) {
    *out = 0;
    return true;
  }
  if (i.digits + i.exponent > max_digits)
    return false;
  decNumberZero(&zero);
  decNumberQuantize(&q, &i, &zero, &ctx);
  if (decNumberIsNaN(&q))
    return false;
  decNumberToString(&q, buf);
  wide v = 0;
  const char *p = buf;
  bool neg = *p == '-';
  if (neg)
    p++;
  for (; *p; p++) {
    if (*p < '0' || *p > '9')
      return false;
    v = v * 10 + (*p - '0');
  }
  *out = neg ? -v : v;
  return true;
}

/* -------------------------------------------------------------- arithmetic */

/* Warns msg and makes the result null: how every arithmetic error ends. */
static int fail(struct cf_feel_eval *ev, struct cf_feel_value *out, const char *msg) {
  cf__feel_warn(ev, "%s", msg);
  cf_feel_set_null(out);
  return CF_OK;
}

static int out_dt(struct cf_feel_eval *ev, wide n, struct cf_feel_value *out) {
  if (n > DT_MAX_NANOS || n < -DT_MAX_NANOS)
    return fail(ev, out, "days and time duration out of range");
  set_dt(out, n);
  return CF_OK;
}

static int out_ym(struct cf_feel_eval *ev, wide m, struct cf_feel_value *out) {
  if (m > INT64_MAX || m < -INT64_MAX)
    return fail(ev, out, "years and months duration out of range");
  out->type = CF_FEEL_YM_DURATION;
  out->u.months = (int64_t)m;
  return CF_OK;
}

static int out_temporal(struct cf_feel_eval *ev, bool ok, enum cf_feel_type type,
                        const struct cf_feel_temporal *t, struct cf_feel_value *out) {
  if (!ok)
    return fail(ev, out, "result outside the years -999999999..999999999");
  set_temporal(out, type, t);
  return CF_OK;
}

/* Moves a date (or the local date of a date and time) by months, clamping the day to the month. */
static bool add_months(struct cf_feel_temporal *t, wide months) {
  wide total = (wide)t->year * 12 + (t->month - 1) + months;
  wide y = wfloor_div(total, 12);
  if (y < CF_TIME_YEAR_MIN || y > CF_TIME_YEAR_MAX)
    return false;
  unsigned m = (unsigned)(total - y * 12) + 1;
  unsigned dim = cf_time_days_in_month((int64_t)y, m);
  t->year = (int32_t)y;
  t->month = (uint8_t)m;
  if (t->day > dim)
    t->day = (uint8_t)dim;
  return true;
}

/* t (date, time or date and time) moved by a duration d (sign applied). */
static int shift(struct cf_feel_eval *ev, const struct cf_feel_value *tv,
                 const struct cf_feel_value *d, int sign, struct cf_feel_value *out) {
  struct cf_feel_temporal t = tv->u.t;
  bool ok = true;
  if (d->type == CF_FEEL_YM_DURATION) {
    if (tv->type == CF_FEEL_TIME)
      return fail(ev, out, "a time cannot move by a years and months duration");
    ok = add_months(&t, (wide)sign * d->u.months);
    if (ok && tv->type == CF_FEEL_DATETIME && t.zone_kind == CF_FEEL_ZONE_ID)
      ok = resolve_zone(&t);
    return out_temporal(ev, ok, (enum cf_feel_type)tv->type, &t, out);
  }
  wide n = (wide)sign * dt_nanos(d);
  switch (tv->type) {
  case CF_FEEL_TIME:
    set_clock_nanos(&t, (wide)tod_secs(&t) * NS + t.nanos + n);
    break;
  case CF_FEEL_DATE:
    /* Local midnight plus the duration, then the date of the result (floor). */
    ok = set_local_nanos(&t, local_nanos(&t) + n);
    break;
  default:
    if (t.zone_kind == CF_FEEL_ZONE_ID)
      ok = set_instant(&t, instant_nanos(&t) + n);
    else
      ok = set_local_nanos(&t, local_nanos(&t) + n);
    break;
  }
  return out_temporal(ev, ok, (enum cf_feel_type)tv->type, &t, out);
}

/* The date and time a date stands for when it meets a date and time: midnight UTC. */
static struct cf_feel_temporal date_as_utc(const struct cf_feel_temporal *d) {
  struct cf_feel_temporal t = *d;
  t.hour = t.minute = t.second = 0;
  t.nanos = 0;
  t.zone_kind = CF_FEEL_ZONE_OFFSET;
  t.offset = 0;
  t.zone = NULL;
  return t;
}

/* a - b for two points in time of the same kind (after dates were lifted). */
static int difference(struct cf_feel_eval *ev, const struct cf_feel_value *av,
                      const struct cf_feel_value *bv, struct cf_feel_value *out) {
  struct cf_feel_temporal a = av->u.t, b = bv->u.t;
  if (av->type == CF_FEEL_DATE && bv->type == CF_FEEL_DATE)
    return out_dt(ev, (wide)(date_days(&a) - date_days(&b)) * DAY_SECS * NS, out);
  if (av->type == CF_FEEL_DATE)
    a = date_as_utc(&a);
  if (bv->type == CF_FEEL_DATE)
    b = date_as_utc(&b);
  if (is_zoned(&a) != is_zoned(&b))
    return fail(ev, out, "cannot subtract a local and a zoned value (one has no offset)");
  if (av->type == CF_FEEL_TIME) {
    wide x = (wide)(tod_secs(&a) - a.offset) * NS + a.nanos;
    wide y = (wide)(tod_secs(&b) - b.offset) * NS + b.nanos;
    return out_dt(ev, x - y, out);
  }
  if (is_zoned(&a))
    return out_dt(ev, instant_nanos(&a) - instant_nanos(&b), out);
  return out_dt(ev, local_nanos(&a) - local_nanos(&b), out);
}

static bool is_point(uint8_t t) {
  return t == CF_FEEL_DATE || t == CF_FEEL_TIME || t == CF_FEEL_DATETIME;
}

static bool is_duration(uint8_t t) {
  return t == CF_FEEL_DT_DURATION || t == CF_FEEL_YM_DURATION;
}

/* dur * num or dur / num, truncated toward zero. */
static int scale(struct cf_feel_eval *ev, char op, const struct cf_feel_value *dur,
                 const decNumber *num, struct cf_feel_value *out) {
  decContext ctx;
  decNumber d, r;
  wide w;
  bool ym = dur->type == CF_FEEL_YM_DURATION;

  if (op == '/' && decNumberIsZero(num))
    return fail(ev, out, "division of a duration by zero");
  wide_to_dec(ym ? (wide)dur->u.months : dt_nanos(dur), &d);
  cf__feel_dec_context(&ctx);
  if (op == '*')
    decNumberMultiply(&r, &d, num, &ctx);
  else
    decNumberDivide(&r, &d, num, &ctx);
  if (!dec_to_wide(&r, ym ? 19 : 29, &w))
    return fail(ev, out, "duration out of range");
  return ym ? out_ym(ev, w, out) : out_dt(ev, w, out);
}

int cf__feel_temporal_arith(struct cf_feel_eval *ev, char op, const struct cf_feel_value *a,
                            const struct cf_feel_value *b, struct cf_feel_value *out) {
  uint8_t ta = a->type, tb = b->type;

  switch (op) {
  case '+':
    if (ta == CF_FEEL_YM_DURATION && tb == CF_FEEL_YM_DURATION)
      return out_ym(ev, (wide)a->u.months + b->u.months, out);
    if (ta == CF_FEEL_DT_DURATION && tb == CF_FEEL_DT_DURATION)
      return out_dt(ev, dt_nanos(a) + dt_nanos(b), out);
    if (is_point(ta) && is_duration(tb))
      return shift(ev, a, b, 1, out);
    if (is_duration(ta) && is_point(tb))
      return shift(ev, b, a, 1, out);
    break;
  case '-':
    if (ta == CF_FEEL_YM_DURATION && tb == CF_FEEL_YM_DURATION)
      return out_ym(ev, (wide)a->u.months - b->u.months, out);
    if (ta == CF_FEEL_DT_DURATION && tb == CF_FEEL_DT_DURATION)
      return out_dt(ev, dt_nanos(a) - dt_nanos(b), out);
    if (is_point(ta) && is_duration(tb))
      return shift(ev, a, b, -1, out);
    if ((ta == tb && is_point(ta)) || (ta == CF_FEEL_DATE && tb == CF_FEEL_DATETIME) ||
        (ta == CF_FEEL_DATETIME && tb == CF_FEEL_DATE))
      return difference(ev, a, b, out);
    break;
  case '*':
    if (is_duration(ta) && tb == CF_FEEL_NUMBER)
      return scale(ev, '*', a, &b->u.number, out);
    if (ta == CF_FEEL_NUMBER && is_duration(tb))
      return scale(ev, '*', b, &a->u.number, out);
    break;
  case '/':
    if (is_duration(ta) && tb == CF_FEEL_NUMBER)
      return scale(ev, '/', a, &b->u.number, out);
    if (ta == tb && is_duration(ta)) {
      decNumber x, y;
      wide_to_dec(ta == CF_FEEL_YM_DURATION ? (wide)a->u.months : dt_nanos(a), &x);
      wide_to_dec(ta == CF_FEEL_YM_DURATION ? (wide)b->u.months : dt_nanos(b), &y);
      return cf__feel_num_arith(ev, '/', &x, &y, out);
    }
    break;
  default:
    break;
  }
  cf__feel_warn(ev, "cannot apply '%c' to %s and %s", op, tname(a), tname(b));
  cf_feel_set_null(out);
  return CF_OK;
}

/* ------------------------------------------------------------ properties */

static bool name_is(const char *name, size_t len, const char *want) {
  return strlen(want) == len && memcmp(name, want, len) == 0;
}

static void set_offset_duration(struct cf_feel_value *out, const struct cf_feel_temporal *t) {
  if (t->zone_kind == CF_FEEL_ZONE_LOCAL)
    cf_feel_set_null(out);
  else
    set_dt(out, (wide)t->offset * NS);
}

int cf__feel_temporal_property(const struct cf_feel_value *v, const char *name, size_t len,
                               struct cf_feel_value *out) {
  const struct cf_feel_temporal *t = &v->u.t;
  bool has_date = v->type == CF_FEEL_DATE || v->type == CF_FEEL_DATETIME;
  bool has_time = v->type == CF_FEEL_TIME || v->type == CF_FEEL_DATETIME;

  if (has_date) {
    if (name_is(name, len, "year")) {
      cf_feel_set_int(out, t->year);
      return CF_OK;
    }
    if (name_is(name, len, "month")) {
      cf_feel_set_int(out, t->month);
      return CF_OK;
    }
    if (name_is(name, len, "day")) {
      cf_feel_set_int(out, t->day);
      return CF_OK;
    }
    if (name_is(name, len, "weekday")) {
      cf_feel_set_int(out, cf_time_day_of_week(date_days(t)));
      return CF_OK;
    }
  }
  if (has_time) {
    if (name_is(name, len, "hour")) {
      cf_feel_set_int(out, t->hour);
      return CF_OK;
    }
    if (name_is(name, len, "minute")) {
      cf_feel_set_int(out, t->minute);
      return CF_OK;
    }
    if (name_is(name, len, "second")) {
      cf_feel_set_int(out, t->second);
      return CF_OK;
    }
    if (name_is(name, len, "time offset")) {
      set_offset_duration(out, t);
      return CF_OK;
    }
    if (name_is(name, len, "timezone")) {
      if (t->zone_kind != CF_FEEL_ZONE_ID) {
        cf_feel_set_null(out);
        return CF_OK;
      }
      const char *z = cf_tz_name(t->zone);
      cf_feel_set_null(out);
      return cf_feel_set_string(out, z, strlen(z));
    }
  }
  if (v->type == CF_FEEL_DT_DURATION) {
    /* Parts of the duration, each carrying its sign, as java.time's toXxxPart(). */
    int64_t s = v->u.dt.secs;
    if (name_is(name, len, "days")) {
      cf_feel_set_int(out, s / DAY_SECS);
      return CF_OK;
    }
    if (name_is(name, len, "hours")) {
      cf_feel_set_int(out, s / 3600 % 24);
      return CF_OK;
    }
    if (name_is(name, len, "minutes")) {
      cf_feel_set_int(out, s / 60 % 60);
      return CF_OK;
    }
    if (name_is(name, len, "seconds")) {
      cf_feel_set_int(out, s % 60);
      return CF_OK;
    }
  }
  if (v->type == CF_FEEL_YM_DURATION) {
    if (name_is(name, len, "years")) {
      cf_feel_set_int(out, v->u.months / 12);
      return CF_OK;
    }
    if (name_is(name, len, "months")) {
      cf_feel_set_int(out, v->u.months % 12);
      return CF_OK;
    }
  }
  cf_feel_set_null(out);
  return CF_ENOTFOUND;
}

/* -------------------------------------------------------------- built-ins */

static int bad(struct cf_feel_eval *ev, struct cf_feel_value *out, const char *fn,
               const char *what) {
  cf__feel_warn(ev, "%s: %s", fn, what);
  cf_feel_set_null(out);
  return CF_OK;
}

static int bad_arg(struct cf_feel_eval *ev, struct cf_feel_value *out, const char *fn,
                   const char *param, const struct cf_feel_value *v, const char *want) {
  if (v->type == CF_FEEL_NULL)
    cf__feel_warn(ev, "%s: %s is null", fn, param);
  else if (v->type == CF_FEEL_NUMBER && strcmp(want, "an integer") == 0)
    cf__feel_warn(ev, "%s: %s must be an integer", fn, param);
  else
    cf__feel_warn(ev, "%s: %s must be %s, not %s", fn, param, want, tname(v));
  cf_feel_set_null(out);
  return CF_OK;
}

/* An integral number argument. */
static bool int_arg(const struct cf_feel_value *v, int64_t *n) {
  return v->type == CF_FEEL_NUMBER && cf_feel_number_to_int64(v, n);
}

static int bi_date_from(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                        struct cf_feel_value *out) {
  const struct cf_feel_value *a = &args[0];
  struct cf_feel_temporal t;
  if (a->type == CF_FEEL_STRING) {
    if (!parse_date(a->u.string->data, a->u.string->len, &t))
      return bad(ev, out, "date", "from is not a date (YYYY-MM-DD)");
    set_temporal(out, CF_FEEL_DATE, &t);
    return CF_OK;
  }
  if (a->type == CF_FEEL_DATE || a->type == CF_FEEL_DATETIME) {
    set_temporal(out, CF_FEEL_DATE, &a->u.t);
    return CF_OK;
  }
  return bad_arg(ev, out, "date", "from", a, "a string or a date and time");
}

static int bi_date_ymd(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                       struct cf_feel_value *out) {
  static const char *const names[] = {"year", "month", "day"};
  int64_t f[3];
  for (int i = 0; i < 3; i++)
    if (!int_arg(&args[i], &f[i]))
      return bad_arg(ev, out, "date", names[i], &args[i], "an integer");
  if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 ||
      !cf_time_valid_date(f[0], (unsigned)f[1], (unsigned)f[2]))
    return bad(ev, out, "date", "no such date");
  struct cf_feel_temporal t;
  memset(&t, 0, sizeof t);
  t.year = (int32_t)f[0];
  t.month = (uint8_t)f[1];
  t.day = (uint8_t)f[2];
  set_temporal(out, CF_FEEL_DATE, &t);
  return CF_OK;
}

static int bi_datetime_from(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                            size_t nargs, struct cf_feel_value *out) {
  const struct cf_feel_value *a = &args[0];
  struct cf_feel_temporal t;
  if (a->type == CF_FEEL_STRING) {
    if (!parse_datetime(a->u.string->data, a->u.string->len, true, &t))
      return bad(ev, out, "date and time", "from is not a date and time");
    set_temporal(out, CF_FEEL_DATETIME, &t);
    return CF_OK;
  }
  if (a->type == CF_FEEL_DATETIME) {
    set_temporal(out, CF_FEEL_DATETIME, &a->u.t);
    return CF_OK;
  }
  if (a->type == CF_FEEL_DATE) {
    set_temporal(out, CF_FEEL_DATETIME, &a->u.t); /* midnight, local */
    return CF_OK;
  }
  return bad_arg(ev, out, "date and time", "from", a, "a string");
}

/* Camunda's date and time(date, timezone): the same instant seen in another zone. */
static int bi_datetime_zone(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                            size_t nargs, struct cf_feel_value *out) {
  const struct cf_feel_value *a = &args[0], *z = &args[1];
  if (a->type != CF_FEEL_DATETIME)
    return bad_arg(ev, out, "date and time", "date", a, "a date and time");
  if (z->type != CF_FEEL_STRING)
    return bad_arg(ev, out, "date and time", "timezone", z, "a string");
  struct cf_feel_temporal t = a->u.t;
  const char *s = z->u.string->data;
  size_t len = z->u.string->len;
  int32_t off;
  /* A local date and time is read as UTC, as Camunda does. */
  wide instant = is_zoned(&t) ? instant_nanos(&t) : local_nanos(&t);
  if (len && (s[0] == '+' || s[0] == '-') && cf_time_parse_offset(s, len, &off) == len) {
    t.zone_kind = CF_FEEL_ZONE_OFFSET;
    t.zone = NULL;
    t.offset = off;
  } else {
    const struct cf_tz *tz = cf_tz_find(s, len);
    if (!tz)
      return bad(ev, out, "date and time", "unknown time zone");
    t.zone_kind = CF_FEEL_ZONE_ID;
    t.zone = tz;
  }
  return out_temporal(ev, set_instant(&t, instant), CF_FEEL_DATETIME, &t, out);
}

static int bi_datetime_dt(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                          struct cf_feel_value *out) {
  const struct cf_feel_value *d = &args[0], *tm = &args[1];
  if (tm->type == CF_FEEL_STRING && d->type == CF_FEEL_DATETIME)
    return bi_datetime_zone(ev, args, nargs, out);
  if (d->type != CF_FEEL_DATE && d->type != CF_FEEL_DATETIME)
    return bad_arg(ev, out, "date and time", "date", d, "a date");
  if (tm->type != CF_FEEL_TIME)
    return bad_arg(ev, out, "date and time", "time", tm, "a time");
  struct cf_feel_temporal t = tm->u.t;
  t.year = d->u.t.year;
  t.month = d->u.t.month;
  t.day = d->u.t.day;
  bool ok = t.zone_kind != CF_FEEL_ZONE_ID || resolve_zone(&t);
  return out_temporal(ev, ok, CF_FEEL_DATETIME, &t, out);
}

static int bi_time_from(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                        struct cf_feel_value *out) {
  const struct cf_feel_value *a = &args[0];
  struct cf_feel_temporal t;
  if (a->type == CF_FEEL_STRING) {
    if (!parse_time(a->u.string->data, a->u.string->len, &t))
      return bad(ev, out, "time", "from is not a time");
    set_temporal(out, CF_FEEL_TIME, &t);
    return CF_OK;
  }
  if (a->type == CF_FEEL_TIME || a->type == CF_FEEL_DATETIME) {
    t = a->u.t;
    if (t.zone_kind == CF_FEEL_ZONE_ID)
      t.offset = time_zone_offset(t.zone);
    set_temporal(out, CF_FEEL_TIME, &t);
    return CF_OK;
  }
  return bad_arg(ev, out, "time", "from", a, "a string or a date and time");
}

static int bi_time_hms(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                       struct cf_feel_value *out) {
  int64_t h, m;
  wide sn;
  struct cf_feel_temporal t;
  if (!int_arg(&args[0], &h))
    return bad_arg(ev, out, "time", "hour", &args[0], "an integer");
  if (!int_arg(&args[1], &m))
    return bad_arg(ev, out, "time", "minute", &args[1], "an integer");
  if (args[2].type != CF_FEEL_NUMBER)
    return bad_arg(ev, out, "time", "second", &args[2], "a number");
  /* The second may have a fraction: keep it to the nanosecond. */
  decNumber billion, ns;
  decContext ctx;
  cf__feel_dec_context(&ctx);
  decNumberFromString(&billion, "1000000000", &ctx);
  decNumberMultiply(&ns, &args[2].u.number, &billion, &ctx);
  if (!dec_to_wide(&ns, 12, &sn) || sn < 0 || sn >= 60 * (wide)NS)
    return bad(ev, out, "time", "second must be in 0..59");
  if (h < 0 || h > 23 || m < 0 || m > 59)
    return bad(ev, out, "time", "hour must be in 0..23 and minute in 0..59");
  memset(&t, 0, sizeof t);
  t.hour = (uint8_t)h;
  t.minute = (uint8_t)m;
  t.second = (uint8_t)(sn / NS);
  t.nanos = (uint32_t)(sn % NS);
  if (nargs > 3 && args[3].type != CF_FEEL_NULL) {
    const struct cf_feel_value *o = &args[3];
    if (o->type != CF_FEEL_DT_DURATION)
      return bad_arg(ev, out, "time", "offset", o, "a days and time duration");
    if (o->u.dt.nanos || o->u.dt.secs > MAX_OFFSET || o->u.dt.secs < -MAX_OFFSET)
      return bad(ev, out, "time", "offset must be whole seconds within -PT18H..PT18H");
    t.zone_kind = CF_FEEL_ZONE_OFFSET;
    t.offset = (int32_t)o->u.dt.secs;
  }
  set_temporal(out, CF_FEEL_TIME, &t);
  return CF_OK;
}

static int bi_duration(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                       struct cf_feel_value *out) {
  const struct cf_feel_value *a = &args[0];
  if (a->type == CF_FEEL_DT_DURATION || a->type == CF_FEEL_YM_DURATION) {
    *out = *a;
    return CF_OK;
  }
  if (a->type != CF_FEEL_STRING)
    return bad_arg(ev, out, "duration", "from", a, "a string");
  if (!parse_duration(a->u.string->data, a->u.string->len, out))
    return bad(ev, out, "duration", "from is not an ISO-8601 duration (PnYnM or PnDTnHnMnS)");
  return CF_OK;
}

static int bi_ym_duration(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                          size_t nargs, struct cf_feel_value *out) {
  const struct cf_feel_value *f = &args[0], *t = &args[1];
  if (f->type != CF_FEEL_DATE && f->type != CF_FEEL_DATETIME)
    return bad_arg(ev, out, "years and months duration", "from", f, "a date");
  if (t->type != CF_FEEL_DATE && t->type != CF_FEEL_DATETIME)
    return bad_arg(ev, out, "years and months duration", "to", t, "a date");
  /* java.time's Period.between on the local dates: whole months, toward zero. */
  int64_t months = ((int64_t)t->u.t.year * 12 + t->u.t.month) -
                   ((int64_t)f->u.t.year * 12 + f->u.t.month);
  int days = (int)t->u.t.day - (int)f->u.t.day;
  if (months > 0 && days < 0)
    months--;
  else if (months < 0 && days > 0)
    months++;
  out->type = CF_FEEL_YM_DURATION;
  out->u.months = months;
  return CF_OK;
}

/* The current instant of the evaluation, in its zone (UTC "Z" when none). */
static bool now_value(struct cf_feel_eval *ev, struct cf_feel_temporal *t) {
  const struct cf_feel_env *env = cf__feel_env(ev);
  wide instant = (wide)env->now_secs * NS + env->now_nanos;
  memset(t, 0, sizeof *t);
  if (env->zone) {
    t->zone_kind = CF_FEEL_ZONE_ID;
    t->zone = env->zone;
  } else {
    t->zone_kind = CF_FEEL_ZONE_OFFSET;
  }
  return set_instant(t, instant);
}

static int bi_now(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                  struct cf_feel_value *out) {
  struct cf_feel_temporal t;
  return out_temporal(ev, now_value(ev, &t), CF_FEEL_DATETIME, &t, out);
}

static int bi_today(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                    struct cf_feel_value *out) {
  struct cf_feel_temporal t;
  return out_temporal(ev, now_value(ev, &t), CF_FEEL_DATE, &t, out);
}

/* The date argument of the calendar functions: a date, or a date and time's date. */
static bool date_arg(struct cf_feel_eval *ev, const char *fn, const struct cf_feel_value *a,
                     struct cf_feel_value *out) {
  if (a->type == CF_FEEL_DATE || a->type == CF_FEEL_DATETIME)
    return true;
  bad_arg(ev, out, fn, "date", a, "a date");
  return false;
}

static int bi_day_of_year(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                          size_t nargs, struct cf_feel_value *out) {
  if (!date_arg(ev, "day of year", &args[0], out))
    return CF_OK;
  const struct cf_feel_temporal *t = &args[0].u.t;
  cf_feel_set_int(out, cf_time_day_of_year(t->year, t->month, t->day));
  return CF_OK;
}

static int bi_day_of_week(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                          size_t nargs, struct cf_feel_value *out) {
  static const char *const names[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                      "Friday", "Saturday", "Sunday"};
  if (!date_arg(ev, "day of week", &args[0], out))
    return CF_OK;
  const char *n = names[cf_time_day_of_week(date_days(&args[0].u.t)) - 1];
  cf_feel_set_null(out); /* what the caller sees if memory runs out */
  return cf_feel_set_string(out, n, strlen(n));
}

static int bi_month_of_year(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                            size_t nargs, struct cf_feel_value *out) {
  static const char *const names[] = {"January", "February", "March",     "April",
                                      "May",     "June",     "July",      "August",
                                      "September", "October", "November", "December"};
  if (!date_arg(ev, "month of year", &args[0], out))
    return CF_OK;
  const char *n = names[args[0].u.t.month - 1];
  cf_feel_set_null(out); /* what the caller sees if memory runs out */
  return cf_feel_set_string(out, n, strlen(n));
}

static int bi_week_of_year(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                           size_t nargs, struct cf_feel_value *out) {
  if (!date_arg(ev, "week of year", &args[0], out))
    return CF_OK;
  const struct cf_feel_temporal *t = &args[0].u.t;
  cf_feel_set_int(out, cf_time_iso_week(t->year, t->month, t->day, NULL));
  return CF_OK;
}

static int bi_last_day_of_month(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                                size_t nargs, struct cf_feel_value *out) {
  if (!date_arg(ev, "last day of month", &args[0], out))
    return CF_OK;
  struct cf_feel_temporal t = args[0].u.t;
  t.day = (uint8_t)cf_time_days_in_month(t.year, t.month);
  set_temporal(out, CF_FEEL_DATE, &t);
  return CF_OK;
}

static bool is_temporal_type(uint8_t t) { return is_point(t) || is_duration(t); }

static int bi_is(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                 struct cf_feel_value *out) {
  const struct cf_feel_value *a = &args[0], *b = &args[1];
  bool same;
  if (a->type != b->type)
    same = false;
  else if (is_temporal_type(a->type))
    same = temporal_is(a, b);
  else
    same = cf_feel_equal(a, b) == 1;
  cf_feel_set_bool(out, same);
  return CF_OK;
}

const struct cf__feel_builtin cf__feel_builtins_temporal[] = {
    {"date", {"from", NULL}, 1, 1, bi_date_from},
    {"date", {"year", "month", "day", NULL}, 3, 3, bi_date_ymd},
    {"date and time", {"from", NULL}, 1, 1, bi_datetime_from},
    /* date and time(x, "Europe/Paris") called positionally also lands here. */
    {"date and time", {"date", "time", NULL}, 2, 2, bi_datetime_dt},
    {"date and time", {"date", "timezone", NULL}, 2, 2, bi_datetime_zone},
    {"time", {"from", NULL}, 1, 1, bi_time_from},
    {"time", {"hour", "minute", "second", "offset", NULL}, 3, 4, bi_time_hms},
    {"duration", {"from", NULL}, 1, 1, bi_duration},
    {"years and months duration", {"from", "to", NULL}, 2, 2, bi_ym_duration},
    {"now", {NULL}, 0, 0, bi_now},
    {"today", {NULL}, 0, 0, bi_today},
    {"day of year", {"date", NULL}, 1, 1, bi_day_of_year},
    {"day of week", {"date", NULL}, 1, 1, bi_day_of_week},
    {"month of year", {"date", NULL}, 1, 1, bi_month_of_year},
    {"week of year", {"date", NULL}, 1, 1, bi_week_of_year},
    {"last day of month", {"date", NULL}, 1, 1, bi_last_day_of_month},
    {"is", {"value1", "value2", NULL}, 2, 2, bi_is},
    {NULL, {NULL}, 0, 0, NULL},
};
