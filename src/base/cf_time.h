/*
 * Civil calendar arithmetic and ISO-8601 parsing helpers.
 *
 * The calendar is the proleptic Gregorian one, with astronomical year
 * numbering (year 0 is 1 BC, year -1 is 2 BC), valid for years
 * -999,999,999..999,999,999: FEEL allows that range, and every count here is
 * 64-bit so nothing overflows inside it. A day number is the count of days
 * since 1970-01-01 (negative before). Leap seconds do not exist here: every
 * day has 86,400 seconds, as in POSIX time and java.time.
 *
 * Nothing here reads a clock, allocates, or knows about time zones (that is
 * cf_tz). The parsers are strict about the forms they accept (XML Schema /
 * ISO-8601 extended format), never read past the length given, and do not
 * need NUL-terminated input.
 */
#ifndef CF_BASE_TIME_H
#define CF_BASE_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CF_TIME_YEAR_MIN (-999999999LL)
#define CF_TIME_YEAR_MAX 999999999LL
#define CF_TIME_SECS_PER_DAY 86400LL

/* --------------------------------------------------------------- calendar */

/* Floor division and its non-negative remainder (b > 0). */
int64_t cf_time_floor_div(int64_t a, int64_t b);
int64_t cf_time_floor_mod(int64_t a, int64_t b);

bool cf_time_is_leap(int64_t year);

/* 28..31; 0 if month is not 1..12. */
unsigned cf_time_days_in_month(int64_t year, unsigned month);

/* True if year/month/day is a real date inside CF_TIME_YEAR_MIN..MAX. */
bool cf_time_valid_date(int64_t year, unsigned month, unsigned day);

/* Day number (days since 1970-01-01) of a valid date. */
int64_t cf_time_days_from_civil(int64_t year, unsigned month, unsigned day);

/* The date of a day number (any int64 the year range can hold). */
void cf_time_civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day);

/* ISO day of the week of a day number: 1 = Monday .. 7 = Sunday. */
unsigned cf_time_day_of_week(int64_t days);

/* 1..366. */
unsigned cf_time_day_of_year(int64_t year, unsigned month, unsigned day);

/*
 * ISO-8601 week number (1..53) of a date: weeks start on Monday and week 1
 * holds the year's first Thursday, so 2003-12-29 is in week 1 of 2004.
 * *week_year (may be NULL) receives the year the week belongs to.
 */
unsigned cf_time_iso_week(int64_t year, unsigned month, unsigned day, int64_t *week_year);

/*
 * The day of the month of "the w-th weekday d of month m" as POSIX TZ rules
 * say it (Mm.w.d): w 1..5 (5 = the last), d 0 = Sunday .. 6 = Saturday.
 */
unsigned cf_time_nth_weekday(int64_t year, unsigned month, unsigned w, unsigned d);

/* ---------------------------------------------------------------- parsing */

/* Fields of a civil date and time (the time parts are 0 unless parsed). */
struct cf_time_civil {
  int64_t year;
  unsigned month, day;
  unsigned hour, minute, second; /* hour may be 24 only as 24:00:00 */
  uint32_t nanos;
};

/*
 * Parses a date "YYYY-MM-DD" at the start of s (len bytes): an optional '-',
 * a year of 4 to 9 digits (no leading zero beyond four digits: "01211" is
 * refused, as XML Schema wants), two-digit month and day. The date must
 * exist ("2021-02-30" is refused). Returns the bytes consumed, or 0 (out
 * untouched) if s does not start with such a date.
 */
size_t cf_time_parse_date(const char *s, size_t len, struct cf_time_civil *out);

/*
 * Parses a clock time "hh:mm:ss" with an optional fraction of 1 to 9 digits
 * (".123456789") at the start of s. Hours 00..23, or 24 when minutes,
 * seconds and fraction are all zero (the end of the day); seconds 00..59
 * (no leap second). Fills hour..nanos of out. Returns the bytes consumed, or
 * 0 (out untouched).
 */
size_t cf_time_parse_clock(const char *s, size_t len, struct cf_time_civil *out);

/*
 * Parses a UTC offset at the start of s: "Z", or "+hh:mm", "-hh:mm",
 * "+hh:mm:ss" within +-18:00. *offset receives seconds east of UTC.
 * Returns the bytes consumed, or 0.
 */
size_t cf_time_parse_offset(const char *s, size_t len, int32_t *offset);

/* Which designators an ISO-8601 duration used (struct cf_time_duration.parts). */
enum {
  CF_TIME_DUR_YEARS = 1 << 0,
  CF_TIME_DUR_MONTHS = 1 << 1,
  CF_TIME_DUR_WEEKS = 1 << 2,
  CF_TIME_DUR_DAYS = 1 << 3,
  CF_TIME_DUR_HOURS = 1 << 4,
  CF_TIME_DUR_MINUTES = 1 << 5,
  CF_TIME_DUR_SECONDS = 1 << 6,
};

/*
 * A parsed duration: a calendar part (months) and an exact part (seconds and
 * nanoseconds), both carrying the duration's sign (secs and nanos have the
 * same sign, |nanos| < 1e9).
 */
struct cf_time_duration {
  int64_t months;
  int64_t secs;
  int32_t nanos;
  unsigned parts; /* CF_TIME_DUR_* bits of the designators present */
};

/*
 * Parses a whole ISO-8601 duration "[-]P[nY][nM][nW][nD][T[nH][nM][n[.f]S]]"
 * (all of s): at least one part, designators in that order, a fraction (up
 * to 9 digits, possibly none: "PT0.S" is accepted as java.time accepts it)
 * on the seconds only, "T" followed by at least one part. Weeks count 7
 * days. CF_OK, or CF_EINVAL (malformed) / CF_ERANGE (a count that does not
 * fit 64 bits), *out then untouched.
 */
int cf_time_parse_duration(const char *s, size_t len, struct cf_time_duration *out);

#endif
