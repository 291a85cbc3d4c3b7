/*
 * Timer schedules: the three BPMN timer forms as Camunda 8 (Zeebe) reads them.
 *
 * Decisions beyond the header (each one a place where a reader could guess
 * otherwise):
 *
 * - Text is trimmed of ASCII white space at both ends (a timer in a BPMN file
 *   is often written on its own indented line). Positions in error messages
 *   count characters of the untrimmed text from 1; "at the end" when the text
 *   stopped too early.
 * - Times are kept to the millisecond: a fraction of a second finer than that
 *   is truncated ("PT0.0015S" is 1 ms).
 * - A duration's calendar part is added first, to the UTC calendar date,
 *   the day clamped to the month's end (2024-01-31 + P1M = 2024-02-29), then
 *   its exact part, as java.time's plus(Period).plus(Duration) does. A cycle
 *   steps from its previous firing, so "R/P1M" from January 31 goes Feb 29,
 *   Mar 29, Apr 29... (the clamp sticks), as Zeebe's cycles do too.
 * - Negative durations are refused everywhere; a cycle's interval must be at
 *   least 1 ms, and its count at least 1 ("R0" would never fire).
 * - Repeating intervals: "Rn/duration" (first firing one interval after now)
 *   and "Rn/start/duration" (first firing at start). The ISO forms
 *   "Rn/duration/end" and "Rn/start/end" are refused with a message: Zeebe
 *   does not accept them either, and a model that deploys here should deploy
 *   there.
 * - Cron is Spring's CronExpression (what Zeebe uses): exactly six fields,
 *   seconds first. A five-field Unix cron is refused with a message that
 *   says so rather than guessed at: silently reading "0 9 * * 1" as seconds
 *   first would fire at the wrong time. Day-of-month and day-of-week must
 *   both match (Spring's AND, not Unix cron's OR); `?` is `*`. Day-of-week
 *   numbers are 0..7 with 0 and 7 Sunday, 1 Monday; names MON..SUN. Ranges
 *   must not run backwards ("FRI-MON" is refused, as Spring refuses it).
 * - The next cron firing is searched for over one full Gregorian cycle (400
 *   years = 146,097 days): the calendar, weekdays included, repeats with that
 *   period, so an expression with no match in that window never matches
 *   ("0 0 0 30 2 *"). Parsing refuses such an expression.
 */
#include "base/cf_schedule.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/cf_time.h"
#include "base/cf_tz.h"

#define MS_PER_SEC 1000LL
#define MS_PER_DAY (CF_TIME_SECS_PER_DAY * MS_PER_SEC)
#define GREGORIAN_CYCLE_DAYS 146097
#define NOPOS ((size_t)-1)

/* ------------------------------------------------------------ error text */

/* What is being parsed, for error messages: positions index s[0..len). */
struct ctx {
  const char *what; /* "timeDate", "timeDuration", "timeCycle" */
  const char *s;
  size_t len;
  size_t end;           /* where the trimmed text ends: a position there is "at the end" */
  struct cf_error *err; /* may be NULL (cf_schedule_advance re-parsing) */
};

static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
static bool is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }
static bool is_alpha(char ch) { return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z'); }
static char upper(char ch) { return ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch; }

/* The text as it appears in a message: at most 64 bytes, escaped. */
static void quote(const char *s, size_t len, char *out, size_t cap) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0, n = len > 64 ? 64 : len;
  for (size_t i = 0; i < n && o + 5 < cap; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '"' || ch == '\\') {
      out[o++] = '\\';
      out[o++] = (char)ch;
    } else if (ch < 0x20 || ch >= 0x7f) {
      out[o++] = '\\';
      out[o++] = 'x';
      out[o++] = hex[ch >> 4];
      out[o++] = hex[ch & 15];
    } else {
      out[o++] = (char)ch;
    }
  }
  if (n < len && o + 4 < cap) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = '\0';
}

/*
 * Fails with CF_EINVAL: `<what> "<text>": <why> at character <pos + 1>`
 * (pos NOPOS: no position; pos >= c->end: "at the end").
 */
static int fail(const struct ctx *c, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(const struct ctx *c, size_t pos, const char *fmt, ...) {
  if (!c->err)
    return CF_EINVAL;
  char why[256], text[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  quote(c->s, c->len, text, sizeof text);
  if (pos == NOPOS)
    return cf_error_set(c->err, CF_EINVAL, "%s \"%s\": %s", c->what, text, why);
  if (pos >= c->end)
    return cf_error_set(c->err, CF_EINVAL, "%s \"%s\": %s at the end", c->what, text, why);
  return cf_error_set(c->err, CF_EINVAL, "%s \"%s\": %s at character %zu", c->what, text, why,
                      pos + 1);
}

/* ------------------------------------------------------------ arithmetic */

/*
 * t plus a number of calendar months, keeping the time of day and clamping
 * the day to the month's end. false if the result leaves the int64 range.
 */
static bool add_months(int64_t t, int64_t months, int64_t *out) {
  if (months == 0) {
    *out = t;
    return true;
  }
  int64_t day = cf_time_floor_div(t, MS_PER_DAY), tod = cf_time_floor_mod(t, MS_PER_DAY);
  int64_t y, m1, r;
  unsigned mo, d;
  cf_time_civil_from_days(day, &y, &mo, &d);
  /* |y| < 3e8 for any int64 of milliseconds: y * 12 cannot overflow. */
  if (__builtin_add_overflow(y * 12 + (int64_t)(mo - 1), months, &m1))
    return false;
  int64_t ny = cf_time_floor_div(m1, 12);
  unsigned nmo = (unsigned)cf_time_floor_mod(m1, 12) + 1;
  if (ny < CF_TIME_YEAR_MIN || ny > CF_TIME_YEAR_MAX)
    return false;
  unsigned dim = cf_time_days_in_month(ny, nmo);
  if (d > dim)
    d = dim;
  if (__builtin_mul_overflow(cf_time_days_from_civil(ny, nmo, d), MS_PER_DAY, &r) ||
      __builtin_add_overflow(r, tod, &r))
    return false;
  *out = r;
  return true;
}

/* t plus an interval: its calendar part first, then the exact part. */
static bool add_interval(int64_t t, int64_t months, int64_t ms, int64_t *out) {
  int64_t r;
  if (!add_months(t, months, &r) || __builtin_add_overflow(r, ms, &r))
    return false;
  *out = r;
  return true;
}

/* -------------------------------------------------------------- durations */

struct dur {
  int64_t months; /* calendar part */
  int64_t ms;     /* exact part */
};

/*
 * Finds what is wrong in a duration cf_time_parse_duration refused, to say
 * where. rc is what it returned (CF_ERANGE: a number too large).
 */
static int duration_error(const struct ctx *c, size_t a, size_t b, int rc) {
  static const char date_des[] = "YMWD", time_des[] = "HMS";
  const char *s = c->s;
  size_t i = a, next_date = 0, next_time = 0, marker;
  bool in_time = false;

  if (i >= b)
    return fail(c, i, "expected a duration (\"PT10M\", \"P1D\")");
  if (s[i] != 'P')
    return fail(c, i, "a duration starts with 'P' (\"PT10M\", \"P1D\"), not '%c'", s[i]);
  marker = i++;
  if (i >= b)
    return fail(c, marker, "the duration has no amount");
  while (i < b) {
    if (s[i] == 'T') {
      if (in_time)
        return fail(c, i, "the duration has a second 'T'");
      in_time = true;
      marker = i++;
      if (i >= b)
        return fail(c, marker, "the duration has no amount");
      continue;
    }
    if (!is_digit(s[i]))
      return fail(c, i, "expected a number in the duration, found '%c'", s[i]);
    size_t num = i;
    while (i < b && is_digit(s[i]))
      i++;
    size_t dot = NOPOS;
    if (i < b && s[i] == '.') {
      dot = i++;
      size_t f = i;
      while (i < b && is_digit(s[i]))
        i++;
      if (i - f > 9)
        return fail(c, f + 9, "a fraction of a second has at most 9 digits");
    }
    if (i >= b)
      return fail(c, num, "the number has no unit (Y, M, W, D; after 'T': H, M, S)");
    char d = s[i];
    const char *des = in_time ? time_des : date_des;
    size_t *next = in_time ? &next_time : &next_date;
    const char *p = strchr(des, d);
    if (d == '\0' || !p) {
      if (!in_time && strchr(time_des, d) && d != 'M')
        return fail(c, i, "'%c' must come after 'T' (\"PT1H\")", d);
      if (in_time && strchr(date_des, d))
        return fail(c, i, "'%c' must come before 'T' (\"P1DT1H\")", d);
      return fail(c, i, "'%c' is not a duration unit (Y, M, W, D; after 'T': H, M, S)", d);
    }
    if ((size_t)(p - des) < *next)
      return fail(c, i, "the unit '%c' is out of order (Y, M, W, D, then T, H, M, S)", d);
    if (dot != NOPOS && d != 'S')
      return fail(c, dot, "only seconds may have a fraction");
    *next = (size_t)(p - des) + 1;
    i++;
  }
  if (rc == CF_ERANGE)
    return fail(c, a, "the duration is too large");
  return fail(c, a, "the duration is malformed");
}

/* Parses the duration s[a..b): CF_OK and *out, or CF_EINVAL naming the problem. */
static int parse_duration(const struct ctx *c, size_t a, size_t b, struct dur *out) {
  struct cf_time_duration d;
  int64_t ms;

  if (a < b && c->s[a] == '-')
    return fail(c, a, "a negative duration is not allowed");
  int rc = cf_time_parse_duration(c->s + a, b - a, &d);
  if (rc != CF_OK)
    return duration_error(c, a, b, rc);
  if (d.months > INT32_MAX)
    return fail(c, a, "the duration has more than %d months", INT32_MAX);
  if (__builtin_mul_overflow(d.secs, MS_PER_SEC, &ms) ||
      __builtin_add_overflow(ms, d.nanos / 1000000, &ms))
    return fail(c, a, "the duration is too large");
  out->months = d.months;
  out->ms = ms;
  return CF_OK;
}

/* ------------------------------------------------------------- date-times */

/* "hh:mm" (java.time's optional seconds) at s[i..b): bytes consumed or 0. */
static size_t parse_hour_minute(const char *s, size_t i, size_t b, struct cf_time_civil *t) {
  if (b - i < 5 || !is_digit(s[i]) || !is_digit(s[i + 1]) || s[i + 2] != ':' ||
      !is_digit(s[i + 3]) || !is_digit(s[i + 4]))
    return 0;
  if (b - i > 5 && (s[i + 5] == ':' || is_digit(s[i + 5])))
    return 0;
  unsigned h = (unsigned)(s[i] - '0') * 10 + (unsigned)(s[i + 1] - '0');
  unsigned m = (unsigned)(s[i + 3] - '0') * 10 + (unsigned)(s[i + 4] - '0');
  if (h > 23 || m > 59)
    return 0;
  t->hour = h;
  t->minute = m;
  t->second = 0;
  t->nanos = 0;
  return 5;
}

/* True if s[i..b) starts with the shape of a date, digits and dashes. */
static bool looks_like_date(const char *s, size_t i, size_t b) {
  static const char shape[] = "dddd-dd-dd";
  if (b - i < sizeof shape - 1)
    return false;
  for (size_t k = 0; k < sizeof shape - 1; k++)
    if (shape[k] == 'd' ? !is_digit(s[i + k]) : s[i + k] != '-')
      return false;
  return true;
}

/*
 * Parses the date-time s[a..b): "YYYY-MM-DD", or that followed by
 * "Thh:mm[:ss[.f]]", an optional offset "Z"/"+hh:mm", and an optional zone
 * id "@Europe/Paris" or "[Europe/Paris]". With an offset the offset fixes the
 * instant (the zone is only checked to exist, as java.time resolves it);
 * with a zone alone, the local time in that zone (a time in a DST gap moves
 * forward by the gap, in an overlap it is the earlier instant); with
 * neither, UTC.
 */
static int parse_datetime(const struct ctx *c, size_t a, size_t b, int64_t *out) {
  const char *s = c->s;
  struct cf_time_civil t;
  int32_t offset = 0;
  bool has_offset = false;
  const struct cf_tz *tz = NULL;
  size_t i = a, n;

  memset(&t, 0, sizeof t);
  n = cf_time_parse_date(s + i, b - i, &t);
  if (n == 0) {
    if (looks_like_date(s, i, b))
      return fail(c, i, "there is no such date");
    return fail(c, i, "expected a date YYYY-MM-DD");
  }
  i += n;
  if (i < b && s[i] == 'T') {
    i++;
    n = cf_time_parse_clock(s + i, b - i, &t);
    if (n == 0)
      n = parse_hour_minute(s, i, b, &t);
    if (n == 0)
      return fail(c, i, "expected a time hh:mm:ss");
    i += n;
    if (i < b && (s[i] == 'Z' || s[i] == '+' || s[i] == '-')) {
      n = cf_time_parse_offset(s + i, b - i, &offset);
      if (n == 0)
        return fail(c, i, "expected a UTC offset (\"Z\", \"+01:00\")");
      has_offset = true;
      i += n;
    }
    if (i < b && (s[i] == '@' || s[i] == '[')) {
      size_t id = i + 1, end = b;
      if (s[i] == '[') {
        const char *close = memchr(s + id, ']', b - id);
        if (!close)
          return fail(c, i, "the zone id has no closing ']'");
        end = (size_t)(close - s);
      }
      tz = cf_tz_find(s + id, end - id);
      if (!tz)
        return fail(c, id, "unknown time zone \"%.*s\"", (int)(end - id > 64 ? 64 : end - id),
                    s + id);
      i = s[i] == '[' ? end + 1 : end;
    }
  } else if (i < b && (s[i] == ' ' || s[i] == 't')) {
    return fail(c, i, "the date and the time are separated by 'T'");
  }
  if (i < b)
    return fail(c, i, "unexpected '%c' after the date-time", s[i]);

  int64_t local = cf_time_days_from_civil(t.year, t.month, t.day) * CF_TIME_SECS_PER_DAY +
                  (int64_t)t.hour * 3600 + (int64_t)t.minute * 60 + (int64_t)t.second;
  int64_t utc = local - (has_offset ? offset : tz ? cf_tz_offset_for_local(tz, local) : 0);
  int64_t ms;
  if (__builtin_mul_overflow(utc, MS_PER_SEC, &ms) ||
      __builtin_add_overflow(ms, (int64_t)(t.nanos / 1000000), &ms))
    return fail(c, a, "the date is out of range");
  *out = ms;
  return CF_OK;
}

/* ------------------------------------------------------------------- cron */

enum special_kind {
  SP_LAST,      /* day-of-month "L" / "L-n": n days before the last */
  SP_LAST_WD,   /* day-of-month "LW": the last Monday..Friday */
  SP_NEAREST,   /* day-of-month "nW": the weekday nearest day n, same month */
  SP_LAST_DOW,  /* day-of-week "5L": the last Friday */
  SP_NTH_DOW,   /* day-of-week "MON#2": the second Monday */
};

struct special {
  uint8_t kind, a, b;
};

#define CRON_MAX_SPECIALS 16

/* A parsed cron expression: one bit per allowed value. */
struct cron {
  uint64_t sec, min; /* bits 0..59 */
  uint32_t hour;     /* bits 0..23 */
  uint32_t dom;      /* bits 1..31 */
  uint32_t mon;      /* bits 1..12 */
  uint32_t dow;      /* bits 1..7, ISO: 1 Monday .. 7 Sunday */
  struct special dom_sp[CRON_MAX_SPECIALS], dow_sp[CRON_MAX_SPECIALS];
  unsigned n_dom_sp, n_dow_sp;
};

enum field_id { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW };

struct field_def {
  const char *name;
  unsigned min, max;
  const char *names; /* three letters each, the first worth 1; or NULL */
};

static const struct field_def fields[] = {
    {"second", 0, 59, NULL},
    {"minute", 0, 59, NULL},
    {"hour", 0, 23, NULL},
    {"day of the month", 1, 31, NULL},
    {"month", 1, 12, "JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC"},
    {"day of the week", 0, 7, "MONTUEWEDTHUFRISATSUN"},
};

/* A number or a name at s[*i..b), range-checked against the field. */
static int cron_value(const struct ctx *c, enum field_id f, size_t *i, size_t b, unsigned *v) {
  const struct field_def *fd = &fields[f];
  const char *s = c->s;
  size_t at = *i;

  if (at < b && is_digit(s[at])) {
    unsigned n = 0;
    while (*i < b && is_digit(s[*i])) {
      if (n < 1000)
        n = n * 10 + (unsigned)(s[*i] - '0');
      (*i)++;
    }
    if (n < fd->min || n > fd->max)
      return fail(c, at, "the %s %.*s is out of range %u-%u", fd->name, (int)(*i - at), s + at,
                  fd->min, fd->max);
    *v = n;
    return CF_OK;
  }
  if (fd->names && b - at >= 3 && is_alpha(s[at]) && is_alpha(s[at + 1]) && is_alpha(s[at + 2])) {
    char up[3] = {upper(s[at]), upper(s[at + 1]), upper(s[at + 2])};
    for (unsigned k = 0; fd->names[k * 3]; k++) {
      if (memcmp(fd->names + k * 3, up, 3) == 0) {
        *i = at + 3;
        *v = k + 1;
        return CF_OK;
      }
    }
    return fail(c, at, "\"%.3s\" is not a %s name", s + at, fd->name);
  }
  if (at >= b)
    return fail(c, at, "expected a %s", fd->name);
  return fail(c, at, "expected a %s, found '%c'", fd->name, s[at]);
}

static int add_special(const struct ctx *c, size_t at, struct special *sp, unsigned *n,
                       struct special v) {
  if (*n == CRON_MAX_SPECIALS)
    return fail(c, at, "more than %d 'L', 'W' or '#' items in one field", CRON_MAX_SPECIALS);
  sp[(*n)++] = v;
  return CF_OK;
}

/* A day-of-month item with 'L' or 'W': "L", "L-3", "LW", "15W". */
static int cron_dom_special(const struct ctx *c, size_t a, size_t b, struct cron *cr) {
  const char *s = c->s;
  size_t i = a;
  struct special sp = {0, 0, 0};
  int rc;

  if (upper(s[i]) == 'L') {
    i++;
    if (i == b) {
      sp.kind = SP_LAST;
    } else if (upper(s[i]) == 'W' && i + 1 == b) {
      sp.kind = SP_LAST_WD;
    } else if (s[i] == '-') {
      size_t at = ++i;
      unsigned n = 0;
      if (i == b || !is_digit(s[i]))
        return fail(c, i, "expected the number of days before the last (\"L-3\")");
      while (i < b && is_digit(s[i])) {
        if (n < 1000)
          n = n * 10 + (unsigned)(s[i] - '0');
        i++;
      }
      if (n > 30)
        return fail(c, at, "\"L-%u\": at most 30 days before the last", n);
      if (i != b)
        return fail(c, i, "unexpected '%c' in the day of the month", s[i]);
      sp.kind = SP_LAST;
      sp.a = (uint8_t)n;
    } else {
      return fail(c, i, "unexpected '%c' after 'L' (\"L\", \"L-3\", \"LW\")", s[i]);
    }
  } else {
    unsigned day;
    if ((rc = cron_value(c, F_DOM, &i, b, &day)) != CF_OK)
      return rc;
    if (i == b || upper(s[i]) != 'W' || i + 1 != b)
      return fail(c, i, "expected 'W' after the day (\"15W\")");
    sp.kind = SP_NEAREST;
    sp.a = (uint8_t)day;
  }
  return add_special(c, a, cr->dom_sp, &cr->n_dom_sp, sp);
}

/* A day-of-week item with 'L' or '#': "5L", "FRIL", "MON#2". */
static int cron_dow_special(const struct ctx *c, size_t a, size_t b, struct cron *cr) {
  const char *s = c->s;
  size_t i = a;
  struct special sp = {0, 0, 0};
  unsigned day;
  int rc;

  if (upper(s[i]) == 'L' || s[i] == '#')
    return fail(c, i, "'%c' needs a day of the week before it (\"5L\", \"MON#2\")", upper(s[i]));
  if ((rc = cron_value(c, F_DOW, &i, b, &day)) != CF_OK)
    return rc;
  if (day == 0)
    day = 7;
  if (i < b && upper(s[i]) == 'L' && i + 1 == b) {
    sp.kind = SP_LAST_DOW;
  } else if (i < b && s[i] == '#') {
    size_t at = ++i;
    if (i + 1 != b || s[i] < '1' || s[i] > '5')
      return fail(c, at, "expected which week, 1 to 5, after '#' (\"MON#2\")");
    sp.kind = SP_NTH_DOW;
    sp.b = (uint8_t)(s[i] - '0');
  } else {
    return fail(c, i, "expected 'L' or '#' after the day of the week");
  }
  sp.a = (uint8_t)day;
  return add_special(c, a, cr->dow_sp, &cr->n_dow_sp, sp);
}

/* One field s[a..b): a comma-separated list of items. */
static int cron_field(const struct ctx *c, enum field_id f, size_t a, size_t b, struct cron *cr,
                      uint64_t *bits) {
  const struct field_def *fd = &fields[f];
  const char *s = c->s;
  int rc;

  *bits = 0;
  for (size_t item = a; item <= b;) {
    const char *comma = memchr(s + item, ',', b - item);
    size_t end = comma ? (size_t)(comma - s) : b;
    if (end == item)
      return fail(c, item, "empty item in the %s field", fd->name);

    bool special = false;
    for (size_t k = item; k < end; k++) {
      char u = upper(s[k]);
      if ((f == F_DOM && (u == 'L' || u == 'W')) || (f == F_DOW && (u == 'L' || u == '#')))
        special = true;
    }
    if (special) {
      rc = f == F_DOM ? cron_dom_special(c, item, end, cr) : cron_dow_special(c, item, end, cr);
      if (rc != CF_OK)
        return rc;
    } else {
      size_t i = item;
      unsigned lo, hi, step = 1;
      bool star = false, range = false;
      if (s[i] == '*' || (s[i] == '?' && (f == F_DOM || f == F_DOW))) {
        star = true;
        lo = f == F_DOW ? 1 : fd->min;
        hi = fd->max;
        i++;
      } else if (s[i] == '?') {
        return fail(c, i, "'?' is only for the day of the month or of the week");
      } else {
        if ((rc = cron_value(c, f, &i, end, &lo)) != CF_OK)
          return rc;
        hi = lo;
        if (i < end && s[i] == '-') {
          size_t at = ++i;
          if ((rc = cron_value(c, f, &i, end, &hi)) != CF_OK)
            return rc;
          if (hi < lo)
            return fail(c, at, "the range %.*s runs backwards", (int)(i - item), s + item);
          range = true;
        }
      }
      if (i < end && s[i] == '/') {
        size_t at = ++i;
        unsigned n = 0;
        if (i == end || !is_digit(s[i]))
          return fail(c, i, "expected a step after '/'");
        while (i < end && is_digit(s[i])) {
          if (n < 1000)
            n = n * 10 + (unsigned)(s[i] - '0');
          i++;
        }
        if (n == 0)
          return fail(c, at, "a step must be at least 1");
        step = n;
        if (!star && !range)
          hi = fd->max; /* "10/5": from 10 to the end, every 5 */
      }
      if (i < end)
        return fail(c, i, "unexpected '%c' in the %s field", s[i], fd->name);
      for (unsigned v = lo; v <= hi; v += step)
        *bits |= 1ULL << v;
    }
    item = end + 1;
  }
  if (f == F_DOW && (*bits & 1)) /* 0 is Sunday, as 7 is */
    *bits = (*bits & ~1ULL) | 1ULL << 7;
  return CF_OK;
}

static const struct {
  const char *name, *expansion;
} macros[] = {
    {"@yearly", "0 0 0 1 1 *"},  {"@annually", "0 0 0 1 1 *"}, {"@monthly", "0 0 0 1 * *"},
    {"@weekly", "0 0 0 * * 0"},  {"@daily", "0 0 0 * * *"},    {"@midnight", "0 0 0 * * *"},
    {"@hourly", "0 0 * * * *"},
};

/* Parses the cron expression s[a..b) (trimmed). */
static int parse_cron(const struct ctx *c, size_t a, size_t b, struct cron *out) {
  const char *s = c->s;
  size_t starts[6], ends[6], n = 0;
  uint64_t bits[6];
  int rc;

  if (s[a] == '@') {
    for (size_t k = 0; k < sizeof macros / sizeof macros[0]; k++) {
      size_t ml = strlen(macros[k].name);
      if (ml != b - a)
        continue;
      size_t j = 0;
      while (j < ml && upper(s[a + j]) == upper(macros[k].name[j]))
        j++;
      if (j == ml) {
        size_t ml2 = strlen(macros[k].expansion);
        struct ctx mc = {c->what, macros[k].expansion, ml2, ml2, c->err};
        return parse_cron(&mc, 0, mc.len, out);
      }
    }
    return fail(c, a,
                "unknown macro \"%.*s\" (@yearly, @annually, @monthly, @weekly, @daily, "
                "@midnight, @hourly)",
                (int)(b - a > 32 ? 32 : b - a), s + a);
  }
  for (size_t i = a; i < b;) {
    while (i < b && is_space(s[i]))
      i++;
    if (i == b)
      break;
    if (n == 6)
      return fail(c, i,
                  "a cron expression has 6 fields (second minute hour day-of-month month "
                  "day-of-week), this one has more");
    starts[n] = i;
    while (i < b && !is_space(s[i]))
      i++;
    ends[n++] = i;
  }
  if (n != 6)
    return fail(c, NOPOS,
                "a cron expression has 6 fields (second minute hour day-of-month month "
                "day-of-week), this one has %zu%s",
                n, n == 5 ? " (seconds come first: \"0 ...\")" : "");

  struct cron cr;
  memset(&cr, 0, sizeof cr);
  for (unsigned f = 0; f < 6; f++)
    if ((rc = cron_field(c, (enum field_id)f, starts[f], ends[f], &cr, &bits[f])) != CF_OK)
      return rc;
  cr.sec = bits[F_SEC];
  cr.min = bits[F_MIN];
  cr.hour = (uint32_t)bits[F_HOUR];
  cr.dom = (uint32_t)bits[F_DOM];
  cr.mon = (uint32_t)bits[F_MON];
  cr.dow = (uint32_t)bits[F_DOW];
  *out = cr;
  return CF_OK;
}

/* The lowest set bit at or above from, or -1. */
static int next_bit(uint64_t bits, unsigned from) {
  if (from >= 64)
    return -1;
  bits &= ~0ULL << from;
  return bits ? __builtin_ctzll(bits) : -1;
}

static bool special_matches(const struct special *sp, unsigned d, unsigned dim, unsigned wd,
                            int64_t y, unsigned mo) {
  switch (sp->kind) {
  case SP_LAST:
    return dim > sp->a && d == dim - sp->a;
  case SP_LAST_WD: {
    unsigned last = dim, lwd = cf_time_day_of_week(cf_time_days_from_civil(y, mo, dim));
    if (lwd == 6)
      last -= 1;
    else if (lwd == 7)
      last -= 2;
    return d == last;
  }
  case SP_NEAREST: {
    unsigned n = sp->a, target = n;
    if (n > dim)
      return false; /* "31W" has no day in a 30-day month */
    unsigned nwd = cf_time_day_of_week(cf_time_days_from_civil(y, mo, n));
    if (nwd == 6) /* Saturday: the Friday before, or Monday when that is last month */
      target = n == 1 ? 3 : n - 1;
    else if (nwd == 7) /* Sunday: the Monday after, or Friday when that is next month */
      target = n == dim ? n - 2 : n + 1;
    return d == target;
  }
  case SP_LAST_DOW:
    return wd == sp->a && d + 7 > dim;
  case SP_NTH_DOW:
    return wd == sp->a && (d - 1) / 7 + 1 == sp->b;
  default:
    return false;
  }
}

static bool day_matches(const struct cron *cr, int64_t y, unsigned mo, unsigned d, unsigned dim,
                        unsigned wd) {
  bool dom = (cr->dom >> d) & 1, dow = (cr->dow >> wd) & 1;
  for (unsigned k = 0; !dom && k < cr->n_dom_sp; k++)
    dom = special_matches(&cr->dom_sp[k], d, dim, wd, y, mo);
  for (unsigned k = 0; !dow && k < cr->n_dow_sp; k++)
    dow = special_matches(&cr->dow_sp[k], d, dim, wd, y, mo);
  return dom && dow;
}

/* The first second of the day at or after second-of-day from, or -1. */
static int64_t first_time_of_day(const struct cron *cr, int64_t from) {
  unsigned h0 = (unsigned)(from / 3600), m0 = (unsigned)(from / 60 % 60), s0 = (unsigned)(from % 60);
  for (int h = next_bit(cr->hour, h0); h >= 0; h = next_bit(cr->hour, (unsigned)h + 1)) {
    bool first_hour = (unsigned)h == h0;
    for (int m = next_bit(cr->min, first_hour ? m0 : 0); m >= 0;
         m = next_bit(cr->min, (unsigned)m + 1)) {
      int sec = next_bit(cr->sec, first_hour && (unsigned)m == m0 ? s0 : 0);
      if (sec >= 0)
        return (int64_t)h * 3600 + m * 60 + sec;
    }
  }
  return -1;
}

/*
 * The first whole second strictly after after_ms that the expression
 * matches, searched over one Gregorian cycle; false if there is none (or it
 * would not fit int64 milliseconds).
 */
static bool cron_next(const struct cron *cr, int64_t after_ms, int64_t *out) {
  int64_t t = cf_time_floor_div(after_ms, MS_PER_SEC) + 1;
  int64_t day = cf_time_floor_div(t, CF_TIME_SECS_PER_DAY);
  int64_t sod = cf_time_floor_mod(t, CF_TIME_SECS_PER_DAY);
  int64_t last = day + GREGORIAN_CYCLE_DAYS, y;
  unsigned mo, d;

  cf_time_civil_from_days(day, &y, &mo, &d);
  while (day <= last) {
    unsigned dim = cf_time_days_in_month(y, mo);
    if ((cr->mon >> mo) & 1) {
      for (; d <= dim && day <= last; d++, day++, sod = 0) {
        if (!day_matches(cr, y, mo, d, dim, cf_time_day_of_week(day)))
          continue;
        int64_t tod = first_time_of_day(cr, sod), ms;
        if (tod < 0)
          continue;
        if (__builtin_mul_overflow(day * CF_TIME_SECS_PER_DAY + tod, MS_PER_SEC, &ms))
          return false;
        *out = ms;
        return true;
      }
    } else {
      day += dim - d + 1;
    }
    d = 1;
    sod = 0;
    if (++mo > 12) {
      mo = 1;
      y++;
    }
  }
  return false;
}

/* ----------------------------------------------------------------- cycles */

/* "Rn/duration" or "Rn/start/duration" at s[a..b), s[a] == 'R'. */
static int parse_repeating(const struct ctx *c, size_t a, size_t b, int64_t now_ms,
                           struct cf_schedule *out) {
  const char *s = c->s;
  size_t i = a + 1;
  int64_t reps = -1, start = now_ms, due;
  struct dur every;
  size_t dur_at;
  bool has_start = false;
  int rc;

  if (i < b && is_digit(s[i])) {
    size_t at = i;
    reps = 0;
    while (i < b && is_digit(s[i])) {
      if (reps <= INT32_MAX)
        reps = reps * 10 + (s[i] - '0');
      i++;
    }
    if (reps > INT32_MAX)
      return fail(c, at, "at most %d repetitions", INT32_MAX);
    if (reps == 0)
      return fail(c, at, "\"R0\" never fires: the count must be at least 1");
  }
  if (i >= b || s[i] != '/')
    return fail(c, i, "expected '/' after \"R%s\" (\"R3/PT10M\")", reps < 0 ? "" : "n");
  i++;
  if (i >= b)
    return fail(c, i, "expected a duration or a start date-time after '/'");
  if (s[i] == 'P' || s[i] == '-') {
    const char *slash = memchr(s + i, '/', b - i);
    if (slash)
      return fail(c, (size_t)(slash - s),
                  "the form \"R/duration/end\" is not supported (write \"Rn/start/duration\")");
    dur_at = i;
    if ((rc = parse_duration(c, i, b, &every)) != CF_OK)
      return rc;
  } else {
    /* The duration follows the last '/': a zone id may hold '/' itself. */
    size_t last = b;
    while (last > i && s[last - 1] != '/')
      last--;
    if (last == i)
      return fail(c, b, "expected '/' and a duration after the start date-time");
    dur_at = last;
    if (last == b)
      return fail(c, b, "expected a duration (\"PT1H\") after the start date-time");
    /* "Paris" in "@Europe/Paris" is not a duration: 'P' then a number or 'T' is. */
    bool duration = s[last] == '-' || (s[last] == 'P' && (last + 1 == b || s[last + 1] == 'T' ||
                                                          is_digit(s[last + 1])));
    if (!duration) {
      if (is_digit(s[last]))
        return fail(c, last,
                    "the form \"R/start/end\" is not supported (write \"Rn/start/duration\")");
      return fail(c, last, "expected a duration (\"PT1H\") after the start date-time");
    }
    if ((rc = parse_datetime(c, i, last - 1, &start)) != CF_OK)
      return rc;
    if ((rc = parse_duration(c, last, b, &every)) != CF_OK)
      return rc;
    has_start = true;
  }
  if (every.months == 0 && every.ms <= 0)
    return fail(c, dur_at, "a cycle's interval must be at least 1 millisecond");
  if (has_start)
    due = start;
  else if (!add_interval(now_ms, every.months, every.ms, &due))
    return fail(c, dur_at, "the first firing is out of range");

  memset(out, 0, sizeof *out);
  out->due_ms = due;
  out->remaining = (int32_t)reps;
  out->every_ms = every.ms;
  out->every_months = (int32_t)every.months;
  return CF_OK;
}

static int parse_cycle(const struct ctx *c, size_t a, size_t b, int64_t now_ms,
                       struct cf_schedule *out) {
  const char *s = c->s;
  struct cron cr;
  int64_t due;
  int rc;

  if (s[a] == 'R')
    return parse_repeating(c, a, b, now_ms, out);
  if (s[a] == 'P')
    return fail(c, a, "a cycle repeats: write \"R/%.*s\" (unbounded) or \"R3/%.*s\"",
                (int)(b - a > 32 ? 32 : b - a), s + a, (int)(b - a > 32 ? 32 : b - a), s + a);
  if (b - a >= sizeof out->cron_text)
    return fail(c, NOPOS, "a cron expression has at most %zu characters",
                sizeof out->cron_text - 1);
  if ((rc = parse_cron(c, a, b, &cr)) != CF_OK)
    return rc;
  if (!cron_next(&cr, now_ms, &due))
    return fail(c, NOPOS, "the cron expression never matches a date");
  memset(out, 0, sizeof *out);
  out->due_ms = due;
  out->remaining = -1;
  out->cron = true;
  memcpy(out->cron_text, s + a, b - a);
  out->cron_text[b - a] = '\0';
  return CF_OK;
}

/* ---------------------------------------------------------------- public */

int cf_schedule_parse(enum cf_schedule_kind kind, const char *text, size_t len, int64_t now_ms,
                      struct cf_schedule *out, struct cf_error *err) {
  static const char *const what[] = {"timeDate", "timeDuration", "timeCycle"};
  struct cf_schedule sc;
  struct dur d;
  size_t a = 0, b = len;
  int rc;

  if ((unsigned)kind > CF_SCHEDULE_CYCLE || !out || (!text && len > 0))
    return cf_error_set(err, CF_EINVAL, "cf_schedule_parse: bad arguments");
  struct ctx c = {what[kind], text ? text : "", len, len, err};
  while (a < b && is_space(c.s[a]))
    a++;
  while (b > a && is_space(c.s[b - 1]))
    b--;
  if (a == b)
    return fail(&c, NOPOS, "the timer definition is empty");
  c.end = b;

  memset(&sc, 0, sizeof sc);
  sc.remaining = 1;
  switch (kind) {
  case CF_SCHEDULE_DATE:
    rc = parse_datetime(&c, a, b, &sc.due_ms);
    break;
  case CF_SCHEDULE_DURATION:
    rc = parse_duration(&c, a, b, &d);
    if (rc == CF_OK && !add_interval(now_ms, d.months, d.ms, &sc.due_ms))
      rc = fail(&c, a, "the timer would fire out of range");
    break;
  default:
    rc = parse_cycle(&c, a, b, now_ms, &sc);
    break;
  }
  if (rc == CF_OK)
    *out = sc;
  return rc;
}

bool cf_schedule_advance(struct cf_schedule *s) {
  int64_t next;

  if (!s || s->remaining == 0 || s->remaining == 1 || s->remaining < -1)
    return false;
  if (s->cron) {
    struct cron cr;
    size_t n = strnlen(s->cron_text, sizeof s->cron_text);
    struct ctx c = {"timeCycle", s->cron_text, n, n, NULL};
    if (n == 0 || n == sizeof s->cron_text || parse_cron(&c, 0, n, &cr) != CF_OK ||
        !cron_next(&cr, s->due_ms, &next))
      return false;
  } else {
    if ((s->every_months == 0 && s->every_ms <= 0) || s->every_months < 0 || s->every_ms < 0 ||
        !add_interval(s->due_ms, s->every_months, s->every_ms, &next))
      return false;
  }
  s->due_ms = next;
  if (s->remaining > 0)
    s->remaining--;
  return true;
}
