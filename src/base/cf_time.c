/*
 * Civil calendar arithmetic and ISO-8601 parsing (see cf_time.h).
 *
 * days_from_civil / civil_from_days are Howard Hinnant's era-based
 * algorithms ("chrono-Compatible Low-Level Date Algorithms"): exact for the
 * whole proleptic Gregorian calendar, in 64-bit arithmetic here so years of
 * +-999,999,999 fit with room to spare.
 */
#include "base/cf_time.h"

#include <string.h>

#include "crmflow/cf_error.h"

/* --------------------------------------------------------------- calendar */

int64_t cf_time_floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;
  return q;
}

int64_t cf_time_floor_mod(int64_t a, int64_t b) { return a - cf_time_floor_div(a, b) * b; }

bool cf_time_is_leap(int64_t year) {
  return (year % 4 == 0) && (year % 100 != 0 || year % 400 == 0);
}

unsigned cf_time_days_in_month(int64_t year, unsigned month) {
  static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12)
    return 0;
  if (month == 2 && cf_time_is_leap(year))
    return 29;
  return dim[month - 1];
}

bool cf_time_valid_date(int64_t year, unsigned month, unsigned day) {
  if (year < CF_TIME_YEAR_MIN || year > CF_TIME_YEAR_MAX)
    return false;
  return day >= 1 && day <= cf_time_days_in_month(year, month);
}

int64_t cf_time_days_from_civil(int64_t year, unsigned month, unsigned day) {
  int64_t y = year - (month <= 2);
  int64_t era = cf_time_floor_div(y, 400);
  int64_t yoe = y - era * 400;                                          /* [0, 399] */
  int64_t mp = (int64_t)month + (month > 2 ? -3 : 9);                   /* [0, 11] */
  int64_t doy = (153 * mp + 2) / 5 + (int64_t)day - 1;                  /* [0, 365] */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                  /* [0, 146096] */
  return era * 146097 + doe - 719468;
}

void cf_time_civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day) {
  int64_t z = days + 719468;
  int64_t era = cf_time_floor_div(z, 146097);
  int64_t doe = z - era * 146097;                                       /* [0, 146096] */
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  /* [0, 399] */
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                /* [0, 365] */
  int64_t mp = (5 * doy + 2) / 153;                                     /* [0, 11] */
  unsigned d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
  unsigned m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
  *year = y + (m <= 2);
  *month = m;
  *day = d;
}

unsigned cf_time_day_of_week(int64_t days) {
  /* 1970-01-01 was a Thursday (4). */
  return (unsigned)(cf_time_floor_mod(days + 3, 7) + 1);
}

unsigned cf_time_day_of_year(int64_t year, unsigned month, unsigned day) {
  return (unsigned)(cf_time_days_from_civil(year, month, day) -
                    cf_time_days_from_civil(year, 1, 1) + 1);
}

/* Number of ISO weeks in a year: 53 when it starts on Thursday, or on Wednesday in a leap year. */
static unsigned iso_weeks_in_year(int64_t year) {
  unsigned jan1 = cf_time_day_of_week(cf_time_days_from_civil(year, 1, 1));
  if (jan1 == 4 || (jan1 == 3 && cf_time_is_leap(year)))
    return 53;
  return 52;
}

unsigned cf_time_iso_week(int64_t year, unsigned month, unsigned day, int64_t *week_year) {
  unsigned doy = cf_time_day_of_year(year, month, day);
  unsigned dow = cf_time_day_of_week(cf_time_days_from_civil(year, month, day));
  /* The week of the Thursday of this date's week decides the year. */
  int64_t w = ((int64_t)doy - (int64_t)dow + 10) / 7;
  int64_t wy = year;
  if (w < 1) {
    wy = year - 1;
    w = iso_weeks_in_year(wy);
  } else if (w > (int64_t)iso_weeks_in_year(year)) {
    wy = year + 1;
    w = 1;
  }
  if (week_year)
    *week_year = wy;
  return (unsigned)w;
}

unsigned cf_time_nth_weekday(int64_t year, unsigned month, unsigned w, unsigned d) {
  /* Our day of week is 1 = Monday .. 7 = Sunday; POSIX counts 0 = Sunday. */
  unsigned first = cf_time_day_of_week(cf_time_days_from_civil(year, month, 1)) % 7;
  unsigned day = 1 + (d + 7 - first) % 7;
  unsigned dim = cf_time_days_in_month(year, month);
  for (unsigned i = 1; i < w && day + 7 <= dim; i++)
    day += 7;
  return day;
}

/* ---------------------------------------------------------------- parsing */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Reads exactly n digits at s[*i] (bounds-checked) into *v. */
static bool digits_n(const char *s, size_t len, size_t *i, unsigned n, unsigned *v) {
  unsigned x = 0;
  if (len - *i < n)
    return false;
  for (unsigned k = 0; k < n; k++) {
    char c = s[*i + k];
    if (!is_digit(c))
      return false;
    x = x * 10 + (unsigned)(c - '0');
  }
  *i += n;
  *v = x;
  return true;
}

size_t cf_time_parse_date(const char *s, size_t len, struct cf_time_civil *out) {
  size_t i = 0, start;
  bool neg = false;
  int64_t year = 0;
  unsigned month, day;

  if (i < len && s[i] == '-') {
    neg = true;
    i++;
  }
  start = i;
  while (i < len && is_digit(s[i]) && i - start < 10)
    year = year * 10 + (s[i++] - '0');
  size_t ndig = i - start;
  if (ndig < 4 || ndig > 9 || (ndig > 4 && s[start] == '0'))
    return 0;
  if (i >= len || s[i] != '-')
    return 0;
  i++;
  if (!digits_n(s, len, &i, 2, &month) || i >= len || s[i] != '-')
    return 0;
  i++;
  if (!digits_n(s, len, &i, 2, &day))
    return 0;
  if (neg)
    year = -year;
  if (!cf_time_valid_date(year, month, day))
    return 0;
  out->year = year;
  out->month = month;
  out->day = day;
  return i;
}

size_t cf_time_parse_clock(const char *s, size_t len, struct cf_time_civil *out) {
  size_t i = 0;
  unsigned h, m, sec;
  uint32_t nanos = 0;

  if (!digits_n(s, len, &i, 2, &h) || i >= len || s[i] != ':')
    return 0;
  i++;
  if (!digits_n(s, len, &i, 2, &m) || i >= len || s[i] != ':')
    return 0;
  i++;
  if (!digits_n(s, len, &i, 2, &sec))
    return 0;
  if (i < len && s[i] == '.') {
    size_t f = ++i;
    uint32_t scale = 100000000;
    while (i < len && is_digit(s[i])) {
      if (i - f >= 9)
        return 0; /* beyond nanoseconds: refuse rather than round silently */
      nanos += (uint32_t)(s[i] - '0') * scale;
      scale /= 10;
      i++;
    }
    if (i == f)
      return 0;
  }
  if (m > 59 || sec > 59 || h > 24 || (h == 24 && (m || sec || nanos)))
    return 0;
  out->hour = h;
  out->minute = m;
  out->second = sec;
  out->nanos = nanos;
  return i;
}

size_t cf_time_parse_offset(const char *s, size_t len, int32_t *offset) {
  size_t i = 0;
  unsigned h, m, sec = 0;
  int sign;

  if (len >= 1 && s[0] == 'Z') {
    *offset = 0;
    return 1;
  }
  if (len < 1 || (s[0] != '+' && s[0] != '-'))
    return 0;
  sign = s[0] == '-' ? -1 : 1;
  i = 1;
  if (!digits_n(s, len, &i, 2, &h) || i >= len || s[i] != ':')
    return 0;
  i++;
  if (!digits_n(s, len, &i, 2, &m))
    return 0;
  if (len - i >= 3 && s[i] == ':' && is_digit(s[i + 1])) {
    size_t j = i + 1;
    if (!digits_n(s, len, &j, 2, &sec))
      return 0;
    i = j;
  }
  if (m > 59 || sec > 59)
    return 0;
  int32_t total = (int32_t)(h * 3600 + m * 60 + sec);
  if (total > 18 * 3600)
    return 0;
  *offset = sign * total;
  return i;
}

/* Adds a*b to *acc, refusing 64-bit overflow. */
static bool add_mul(int64_t *acc, int64_t a, int64_t b) {
  int64_t p;
  if (__builtin_mul_overflow(a, b, &p) || __builtin_add_overflow(*acc, p, acc))
    return false;
  return true;
}

int cf_time_parse_duration(const char *s, size_t len, struct cf_time_duration *out) {
  /* The designators in the order they may appear; T separates the two halves. */
  static const char date_des[] = "YMWD";
  static const char time_des[] = "HMS";
  size_t i = 0;
  bool neg = false, in_time = false;
  int64_t months = 0, secs = 0;
  int32_t nanos = 0;
  unsigned parts = 0;
  size_t next_date = 0, next_time = 0; /* index of the next allowed designator */

  if (i < len && s[i] == '-') {
    neg = true;
    i++;
  }
  if (i >= len || s[i] != 'P')
    return CF_EINVAL;
  i++;
  if (i >= len)
    return CF_EINVAL;
  while (i < len) {
    if (s[i] == 'T') {
      if (in_time)
        return CF_EINVAL;
      in_time = true;
      i++;
      if (i >= len)
        return CF_EINVAL; /* "P1DT" */
      continue;
    }
    if (!is_digit(s[i]))
      return CF_EINVAL;
    int64_t n = 0;
    while (i < len && is_digit(s[i])) {
      if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, s[i] - '0', &n))
        return CF_ERANGE;
      i++;
    }
    int32_t frac = 0;
    bool has_frac = false;
    if (i < len && s[i] == '.') {
      /* "PT0.S" is accepted as java.time accepts it: a '.' may end the digits. */
      uint32_t scale = 100000000;
      size_t f = ++i;
      has_frac = true;
      while (i < len && is_digit(s[i])) {
        if (i - f >= 9)
          return CF_EINVAL;
        frac += (int32_t)((uint32_t)(s[i] - '0') * scale);
        scale /= 10;
        i++;
      }
    }
    if (i >= len)
      return CF_EINVAL; /* a number without its designator */
    char d = s[i++];
    if (!in_time) {
      const char *p = memchr(date_des + next_date, d, sizeof date_des - 1 - next_date);
      if (!p || has_frac)
        return CF_EINVAL;
      size_t k = (size_t)(p - date_des);
      next_date = k + 1;
      switch (d) {
      case 'Y':
        if (!add_mul(&months, n, 12))
          return CF_ERANGE;
        parts |= CF_TIME_DUR_YEARS;
        break;
      case 'M':
        if (!add_mul(&months, n, 1))
          return CF_ERANGE;
        parts |= CF_TIME_DUR_MONTHS;
        break;
      case 'W':
        if (!add_mul(&secs, n, 7 * CF_TIME_SECS_PER_DAY))
          return CF_ERANGE;
        parts |= CF_TIME_DUR_WEEKS;
        break;
      default: /* 'D' */
        if (!add_mul(&secs, n, CF_TIME_SECS_PER_DAY))
          return CF_ERANGE;
        parts |= CF_TIME_DUR_DAYS;
        break;
      }
    } else {
      const char *p = memchr(time_des + next_time, d, sizeof time_des - 1 - next_time);
      if (!p || (has_frac && d != 'S'))
        return CF_EINVAL;
      next_time = (size_t)(p - time_des) + 1;
      int64_t unit = d == 'H' ? 3600 : d == 'M' ? 60 : 1;
      if (!add_mul(&secs, n, unit))
        return CF_ERANGE;
      parts |= d == 'H' ? CF_TIME_DUR_HOURS : d == 'M' ? CF_TIME_DUR_MINUTES : CF_TIME_DUR_SECONDS;
      nanos = frac;
    }
  }
  /* "PT" alone, or a T with nothing after it, is not a duration. */
  if (!parts || (in_time && !(parts & (CF_TIME_DUR_HOURS | CF_TIME_DUR_MINUTES |
                                       CF_TIME_DUR_SECONDS))))
    return CF_EINVAL;
  if (neg) {
    months = -months; /* cannot overflow: both were built up from 0 by additions of >= 0 */
    secs = -secs;
    nanos = -nanos;
  }
  out->months = months;
  out->secs = secs;
  out->nanos = nanos;
  out->parts = parts;
  return CF_OK;
}
