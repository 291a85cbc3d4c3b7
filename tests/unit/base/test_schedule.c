/* Unit tests of src/base/cf_schedule.c: timeDate, timeDuration and timeCycle (ISO and cron). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/cf_schedule.h"
#include "base/cf_time.h"
#include "crmflow/cf_error.h"

/* UTC milliseconds of a civil date and time. */
static int64_t at(int64_t y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s) {
  return (cf_time_days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + s) *
         1000;
}

/* Monday 2026-01-05 08:30:00Z, "now" unless a test says otherwise. */
#define NOW at(2026, 1, 5, 8, 30, 0)

static struct cf_schedule parse_ok(enum cf_schedule_kind kind, const char *text, int64_t now) {
  struct cf_schedule s;
  struct cf_error err = {0, ""};
  int rc = cf_schedule_parse(kind, text, strlen(text), now, &s, &err);
  if (rc != CF_OK)
    print_error("unexpected failure: %s\n", err.msg);
  assert_int_equal(rc, CF_OK);
  return s;
}

static int64_t due(enum cf_schedule_kind kind, const char *text, int64_t now) {
  return parse_ok(kind, text, now).due_ms;
}

/* The parse fails with exactly this message and leaves *out as it was. */
static void parse_fails(enum cf_schedule_kind kind, const char *text, const char *msg) {
  struct cf_schedule s, before;
  struct cf_error err = {0, ""};
  memset(&s, 0x5a, sizeof s);
  before = s;
  assert_int_equal(cf_schedule_parse(kind, text, strlen(text), NOW, &s, &err), CF_EINVAL);
  assert_int_equal(err.code, CF_EINVAL);
  assert_string_equal(err.msg, msg);
  assert_memory_equal(&s, &before, sizeof s);
}

/* ------------------------------------------------------------- timeDate */

static void dates_with_offsets(void **state) {
  struct cf_schedule s = parse_ok(CF_SCHEDULE_DATE, "2026-01-05T09:00:00Z", NOW);
  assert_int_equal(s.due_ms, at(2026, 1, 5, 9, 0, 0));
  assert_int_equal(s.remaining, 1);
  assert_false(s.cron);
  assert_false(cf_schedule_advance(&s)); /* a date fires once */
  assert_int_equal(s.due_ms, at(2026, 1, 5, 9, 0, 0));

  assert_int_equal(due(CF_SCHEDULE_DATE, "2026-01-05T09:00:00+01:00", NOW), at(2026, 1, 5, 8, 0, 0));
  assert_int_equal(due(CF_SCHEDULE_DATE, "2026-01-05T09:00:00-05:30", NOW),
                   at(2026, 1, 5, 14, 30, 0));
  assert_int_equal(due(CF_SCHEDULE_DATE, "2026-01-05T09:00:00.250Z", NOW),
                   at(2026, 1, 5, 9, 0, 0) + 250);
  assert_int_equal(due(CF_SCHEDULE_DATE, "2026-01-05T09:00:00.123456789Z", NOW),
                   at(2026, 1, 5, 9, 0, 0) + 123);
  /* 24:00:00 is the end of the day, the next midnight. */
  assert_int_equal(due(CF_SCHEDULE_DATE, "2026-01-05T24:00:00Z", NOW), at(2026, 1, 6, 0, 0, 0));
  assert_int_equal(due(CF_SCHEDULE_DATE, "2024-02-29T12:00:00Z", NOW), at(2024, 2, 29, 12, 0, 0));
}

static void dates_without_zone_are_utc(void **state) {
  assert_int_equal(due(CF_SCHEDULE_DATE, "2026-01-05T09:00:00", NOW), at(2026, 1, 5, 9, 0, 0));
  assert_int_equal(due(CF_SCHEDULE_DATE, "2026-01-05T09:00", NOW), at(2026, 1, 5, 9, 0, 0));
  assert_int_equal(due(CF_SCHEDULE_DATE, "2026-01-05", NOW), at(2026, 1, 5, 0, 0, 0));
  /* White space around the text, as a BPMN file indents it. */
  assert_int_equal(due(CF_SCHEDULE_DATE, "\n    2026-01-05T09:00:00Z\n  ", NOW),
                   at(2026, 1, 5, 9, 0, 0));
  /* A date in the past is accepted: it fires at once. */
  assert_int_equal(due(CF_SCHEDULE_DATE, "1999-12-31T23:59:59Z", NOW),
                   at(1999, 12, 31, 23, 59, 59));
  /* The length bounds the text: nothing past it is read. */
  struct cf_schedule s;
  assert_int_equal(cf_schedule_parse(CF_SCHEDULE_DATE, "2026-01-05junk", 10, NOW, &s, NULL), CF_OK);
  assert_int_equal(s.due_ms, at(2026, 1, 5, 0, 0, 0));
}

static void dates_with_zone_ids(void **state) {
  /* Paris is UTC+1 in winter, UTC+2 in summer. */
  assert_int_equal(due(CF_SCHEDULE_DATE, "2026-01-05T09:00:00@Europe/Paris", NOW),
                   at(2026, 1, 5, 8, 0, 0));
  assert_int_equal(due(CF_SCHEDULE_DATE, "2026-07-05T09:00:00@Europe/Paris", NOW),
                   at(2026, 7, 5, 7, 0, 0));
  assert_int_equal(due(CF_SCHEDULE_DATE, "2026-07-05T09:00:00[Europe/Paris]", NOW),
                   at(2026, 7, 5, 7, 0, 0));
  assert_int_equal(due(CF_SCHEDULE_DATE, "2026-07-05T09:00:00+02:00[Europe/Paris]", NOW),
                   at(2026, 7, 5, 7, 0, 0));
  assert_int_equal(due(CF_SCHEDULE_DATE, "2026-01-05T09:00:00@America/New_York", NOW),
                   at(2026, 1, 5, 14, 0, 0));
  /* In the spring gap (02:00 -> 03:00) 02:30 is 03:30 summer time. */
  assert_int_equal(due(CF_SCHEDULE_DATE, "2026-03-29T02:30:00@Europe/Paris", NOW),
                   at(2026, 3, 29, 1, 30, 0));
  /* In the autumn overlap 02:30 happens twice: the earlier one. */
  assert_int_equal(due(CF_SCHEDULE_DATE, "2026-10-25T02:30:00@Europe/Paris", NOW),
                   at(2026, 10, 25, 0, 30, 0));
  /* An explicit offset picks the later one. */
  assert_int_equal(due(CF_SCHEDULE_DATE, "2026-10-25T02:30:00+01:00[Europe/Paris]", NOW),
                   at(2026, 10, 25, 1, 30, 0));
}

static void bad_dates(void **state) {
  parse_fails(CF_SCHEDULE_DATE, "", "timeDate \"\": the timer definition is empty");
  parse_fails(CF_SCHEDULE_DATE, "  \n", "timeDate \"  \\x0a\": the timer definition is empty");
  parse_fails(CF_SCHEDULE_DATE, "2026-02-30T09:00:00Z",
              "timeDate \"2026-02-30T09:00:00Z\": there is no such date at character 1");
  parse_fails(CF_SCHEDULE_DATE, "2025-02-29",
              "timeDate \"2025-02-29\": there is no such date at character 1");
  parse_fails(CF_SCHEDULE_DATE, "2026-1-5",
              "timeDate \"2026-1-5\": expected a date YYYY-MM-DD at character 1");
  parse_fails(CF_SCHEDULE_DATE, "PT10M",
              "timeDate \"PT10M\": expected a date YYYY-MM-DD at character 1");
  parse_fails(CF_SCHEDULE_DATE, "2026-01-05 09:00:00",
              "timeDate \"2026-01-05 09:00:00\": the date and the time are separated by 'T' at "
              "character 11");
  parse_fails(CF_SCHEDULE_DATE, "2026-01-05T25:00:00Z",
              "timeDate \"2026-01-05T25:00:00Z\": expected a time hh:mm:ss at character 12");
  parse_fails(CF_SCHEDULE_DATE, "2026-01-05T",
              "timeDate \"2026-01-05T\": expected a time hh:mm:ss at the end");
  parse_fails(CF_SCHEDULE_DATE, "2026-01-05T09:00:00+25:00",
              "timeDate \"2026-01-05T09:00:00+25:00\": expected a UTC offset (\"Z\", \"+01:00\") "
              "at character 20");
  parse_fails(CF_SCHEDULE_DATE, "2026-01-05T09:00:00@Europe/Pariss",
              "timeDate \"2026-01-05T09:00:00@Europe/Pariss\": unknown time zone "
              "\"Europe/Pariss\" at character 21");
  parse_fails(CF_SCHEDULE_DATE, "2026-01-05T09:00:00@",
              "timeDate \"2026-01-05T09:00:00@\": unknown time zone \"\" at the end");
  parse_fails(CF_SCHEDULE_DATE, "2026-01-05T09:00:00[Europe/Paris",
              "timeDate \"2026-01-05T09:00:00[Europe/Paris\": the zone id has no closing ']' at "
              "character 20");
  parse_fails(CF_SCHEDULE_DATE, "2026-01-05T09:00:00Zx",
              "timeDate \"2026-01-05T09:00:00Zx\": unexpected 'x' after the date-time at "
              "character 21");
  parse_fails(CF_SCHEDULE_DATE, "2026-01-05T09:00:00[UTC]x",
              "timeDate \"2026-01-05T09:00:00[UTC]x\": unexpected 'x' after the date-time at "
              "character 25");
  /* Too far for int64 milliseconds (about 292 million years). */
  parse_fails(CF_SCHEDULE_DATE, "999999999-01-01",
              "timeDate \"999999999-01-01\": the date is out of range at character 1");
  /* Control bytes and quotes are escaped in the message, long text cut. */
  parse_fails(CF_SCHEDULE_DATE, "\"\x01",
              "timeDate \"\\\"\\x01\": expected a date YYYY-MM-DD at character 1");
  char longtext[101];
  memset(longtext, 'x', 100);
  longtext[100] = '\0';
  struct cf_schedule s;
  struct cf_error err;
  assert_int_equal(cf_schedule_parse(CF_SCHEDULE_DATE, longtext, 100, NOW, &s, &err), CF_EINVAL);
  assert_non_null(strstr(err.msg, "xxx...\": expected a date"));
}

/* --------------------------------------------------------- timeDuration */

static void durations_count_from_now(void **state) {
  struct cf_schedule s = parse_ok(CF_SCHEDULE_DURATION, "PT10M", NOW);
  assert_int_equal(s.due_ms, NOW + 600000);
  assert_int_equal(s.remaining, 1);
  assert_false(cf_schedule_advance(&s));

  assert_int_equal(due(CF_SCHEDULE_DURATION, "P3D", NOW), NOW + 3 * 86400000LL);
  assert_int_equal(due(CF_SCHEDULE_DURATION, "P2W", NOW), NOW + 14 * 86400000LL);
  assert_int_equal(due(CF_SCHEDULE_DURATION, "P1W2D", NOW), NOW + 9 * 86400000LL);
  assert_int_equal(due(CF_SCHEDULE_DURATION, "PT1.5S", NOW), NOW + 1500);
  assert_int_equal(due(CF_SCHEDULE_DURATION, "PT0.0015S", NOW), NOW + 1); /* truncated to ms */
  assert_int_equal(due(CF_SCHEDULE_DURATION, "PT0S", NOW), NOW);
  assert_int_equal(due(CF_SCHEDULE_DURATION, "P1DT2H3M4.005S", NOW),
                   NOW + 86400000LL + 2 * 3600000 + 3 * 60000 + 4005);
  assert_int_equal(due(CF_SCHEDULE_DURATION, " PT36H\n", NOW), NOW + 36 * 3600000LL);
}

static void duration_days_are_utc_days(void **state) {
  /* Paris moves its clocks on 2026-03-29: a UTC day is still 24 hours. */
  int64_t before = at(2026, 3, 28, 12, 0, 0);
  assert_int_equal(due(CF_SCHEDULE_DURATION, "P1D", before), before + 86400000LL);
  assert_int_equal(due(CF_SCHEDULE_DURATION, "PT24H", before), before + 86400000LL);
}

static void duration_months_clamp_to_month_end(void **state) {
  assert_int_equal(due(CF_SCHEDULE_DURATION, "P1M", at(2024, 1, 31, 10, 0, 0)),
                   at(2024, 2, 29, 10, 0, 0));
  assert_int_equal(due(CF_SCHEDULE_DURATION, "P1M", at(2023, 1, 31, 10, 0, 0)),
                   at(2023, 2, 28, 10, 0, 0));
  assert_int_equal(due(CF_SCHEDULE_DURATION, "P1M", at(2026, 3, 31, 0, 0, 0)),
                   at(2026, 4, 30, 0, 0, 0));
  assert_int_equal(due(CF_SCHEDULE_DURATION, "P1Y", at(2024, 2, 29, 0, 0, 0)),
                   at(2025, 2, 28, 0, 0, 0));
  assert_int_equal(due(CF_SCHEDULE_DURATION, "P4Y", at(2024, 2, 29, 0, 0, 0)),
                   at(2028, 2, 29, 0, 0, 0));
  /* 2100 is not a leap year. */
  assert_int_equal(due(CF_SCHEDULE_DURATION, "P4Y", at(2096, 2, 29, 0, 0, 0)),
                   at(2100, 2, 28, 0, 0, 0));
  assert_int_equal(due(CF_SCHEDULE_DURATION, "P13M", at(2025, 12, 15, 6, 0, 0)),
                   at(2027, 1, 15, 6, 0, 0));
  /* Months first, then the exact part: Jan 31 + 1 month = Feb 29, + 1 day = Mar 1. */
  assert_int_equal(due(CF_SCHEDULE_DURATION, "P1M1D", at(2024, 1, 31, 0, 0, 0)),
                   at(2024, 3, 1, 0, 0, 0));
  assert_int_equal(due(CF_SCHEDULE_DURATION, "P1Y2MT1H", at(2024, 12, 31, 23, 30, 0)),
                   at(2026, 3, 1, 0, 30, 0));
  /* Milliseconds of now are kept. */
  assert_int_equal(due(CF_SCHEDULE_DURATION, "P1M", at(2026, 1, 5, 0, 0, 0) + 7),
                   at(2026, 2, 5, 0, 0, 0) + 7);
}

static void bad_durations(void **state) {
  parse_fails(CF_SCHEDULE_DURATION, "P", "timeDuration \"P\": the duration has no amount at character 1");
  parse_fails(CF_SCHEDULE_DURATION, "PT",
              "timeDuration \"PT\": the duration has no amount at character 2");
  parse_fails(CF_SCHEDULE_DURATION, "P1DT",
              "timeDuration \"P1DT\": the duration has no amount at character 4");
  parse_fails(CF_SCHEDULE_DURATION, "10M",
              "timeDuration \"10M\": a duration starts with 'P' (\"PT10M\", \"P1D\"), not '1' at "
              "character 1");
  parse_fails(CF_SCHEDULE_DURATION, " PT \n",
              "timeDuration \" PT \\x0a\": the duration has no amount at character 3");
  parse_fails(CF_SCHEDULE_DURATION, "PT10",
              "timeDuration \"PT10\": the number has no unit (Y, M, W, D; after 'T': H, M, S) at "
              "character 3");
  parse_fails(CF_SCHEDULE_DURATION, "P1H",
              "timeDuration \"P1H\": 'H' must come after 'T' (\"PT1H\") at character 3");
  parse_fails(CF_SCHEDULE_DURATION, "PT1D",
              "timeDuration \"PT1D\": 'D' must come before 'T' (\"P1DT1H\") at character 4");
  parse_fails(CF_SCHEDULE_DURATION, "P1D2Y",
              "timeDuration \"P1D2Y\": the unit 'Y' is out of order (Y, M, W, D, then T, H, M, "
              "S) at character 5");
  parse_fails(CF_SCHEDULE_DURATION, "PT1X",
              "timeDuration \"PT1X\": 'X' is not a duration unit (Y, M, W, D; after 'T': H, M, "
              "S) at character 4");
  parse_fails(CF_SCHEDULE_DURATION, "PT1.5M",
              "timeDuration \"PT1.5M\": only seconds may have a fraction at character 4");
  parse_fails(CF_SCHEDULE_DURATION, "PT1.1234567891S",
              "timeDuration \"PT1.1234567891S\": a fraction of a second has at most 9 digits at "
              "character 14");
  parse_fails(CF_SCHEDULE_DURATION, "P1DTT",
              "timeDuration \"P1DTT\": the duration has a second 'T' at character 5");
  parse_fails(CF_SCHEDULE_DURATION, "PTXS",
              "timeDuration \"PTXS\": expected a number in the duration, found 'X' at character 3");
  parse_fails(CF_SCHEDULE_DURATION, "-PT1H",
              "timeDuration \"-PT1H\": a negative duration is not allowed at character 1");
  parse_fails(CF_SCHEDULE_DURATION, "P99999999999999999999D",
              "timeDuration \"P99999999999999999999D\": the duration is too large at character 1");
  parse_fails(CF_SCHEDULE_DURATION, "PT9223372036854776S",
              "timeDuration \"PT9223372036854776S\": the duration is too large at character 1");
  parse_fails(CF_SCHEDULE_DURATION, "P9999999999M",
              "timeDuration \"P9999999999M\": the duration has more than 2147483647 months at "
              "character 1");
  parse_fails(CF_SCHEDULE_DURATION, "PT9223372036854000S",
              "timeDuration \"PT9223372036854000S\": the timer would fire out of range at "
              "character 1");
  /* 2^31-1 months is about 179 million years: still inside int64 milliseconds. */
  assert_int_equal(due(CF_SCHEDULE_DURATION, "P2147483647M", at(2026, 1, 1, 0, 0, 0)),
                   at(2026 + 178956970, 8, 1, 0, 0, 0));
}

/* ------------------------------------------------------- ISO-8601 cycles */

static void bounded_cycle_from_now(void **state) {
  struct cf_schedule s = parse_ok(CF_SCHEDULE_CYCLE, "R5/PT10S", NOW);
  assert_int_equal(s.due_ms, NOW + 10000); /* one interval after now */
  assert_int_equal(s.remaining, 5);
  assert_int_equal(s.every_ms, 10000);
  assert_int_equal(s.every_months, 0);
  assert_false(s.cron);
  int firings = 1;
  int64_t prev = s.due_ms;
  while (cf_schedule_advance(&s)) {
    assert_int_equal(s.due_ms, prev + 10000);
    prev = s.due_ms;
    firings++;
    assert_int_equal(s.remaining, 5 - firings + 1);
  }
  assert_int_equal(firings, 5);
  assert_int_equal(s.due_ms, NOW + 50000);
  /* Once exhausted it stays exhausted, and unchanged. */
  struct cf_schedule copy = s;
  assert_false(cf_schedule_advance(&s));
  assert_memory_equal(&s, &copy, sizeof s);

  s = parse_ok(CF_SCHEDULE_CYCLE, "R1/PT1H", NOW);
  assert_int_equal(s.remaining, 1);
  assert_false(cf_schedule_advance(&s));
}

static void cycle_with_start_date(void **state) {
  struct cf_schedule s = parse_ok(CF_SCHEDULE_CYCLE, "R3/2026-01-05T09:00:00Z/PT1H", NOW);
  assert_int_equal(s.due_ms, at(2026, 1, 5, 9, 0, 0)); /* first firing at the start */
  assert_int_equal(s.remaining, 3);
  assert_true(cf_schedule_advance(&s));
  assert_int_equal(s.due_ms, at(2026, 1, 5, 10, 0, 0));
  assert_true(cf_schedule_advance(&s));
  assert_int_equal(s.due_ms, at(2026, 1, 5, 11, 0, 0));
  assert_int_equal(s.remaining, 1);
  assert_false(cf_schedule_advance(&s));

  /* A zone id holds a '/' of its own. */
  s = parse_ok(CF_SCHEDULE_CYCLE, "R2/2026-01-05T09:00:00@Europe/Paris/PT30M", NOW);
  assert_int_equal(s.due_ms, at(2026, 1, 5, 8, 0, 0));
  assert_true(cf_schedule_advance(&s));
  assert_int_equal(s.due_ms, at(2026, 1, 5, 8, 30, 0));
  assert_false(cf_schedule_advance(&s));

  s = parse_ok(CF_SCHEDULE_CYCLE, "R/2026-01-05T09:00:00[America/New_York]/P1D", NOW);
  assert_int_equal(s.due_ms, at(2026, 1, 5, 14, 0, 0));
  assert_int_equal(s.remaining, -1);

  /* A start in the past fires at once. */
  s = parse_ok(CF_SCHEDULE_CYCLE, "R/2020-01-01/P1D", NOW);
  assert_int_equal(s.due_ms, at(2020, 1, 1, 0, 0, 0));
}

static void unbounded_cycles(void **state) {
  struct cf_schedule s = parse_ok(CF_SCHEDULE_CYCLE, "R/P1D", NOW);
  assert_int_equal(s.remaining, -1);
  assert_int_equal(s.due_ms, NOW + 86400000LL);
  for (int i = 0; i < 1000; i++)
    assert_true(cf_schedule_advance(&s));
  assert_int_equal(s.remaining, -1);
  assert_int_equal(s.due_ms, NOW + 1001 * 86400000LL);

  s = parse_ok(CF_SCHEDULE_CYCLE, "R/PT0.5S", NOW);
  assert_int_equal(s.due_ms, NOW + 500);
  assert_true(cf_schedule_advance(&s));
  assert_int_equal(s.due_ms, NOW + 1000);
}

static void monthly_cycles_clamp(void **state) {
  struct cf_schedule s = parse_ok(CF_SCHEDULE_CYCLE, "R/2024-01-31T06:00:00Z/P1M", NOW);
  assert_int_equal(s.every_months, 1);
  assert_int_equal(s.every_ms, 0);
  assert_int_equal(s.due_ms, at(2024, 1, 31, 6, 0, 0));
  assert_true(cf_schedule_advance(&s));
  assert_int_equal(s.due_ms, at(2024, 2, 29, 6, 0, 0));
  assert_true(cf_schedule_advance(&s)); /* steps from the previous firing */
  assert_int_equal(s.due_ms, at(2024, 3, 29, 6, 0, 0));

  s = parse_ok(CF_SCHEDULE_CYCLE, "R3/P1Y", at(2024, 2, 29, 0, 0, 0));
  assert_int_equal(s.due_ms, at(2025, 2, 28, 0, 0, 0));
  assert_true(cf_schedule_advance(&s));
  assert_int_equal(s.due_ms, at(2026, 2, 28, 0, 0, 0));

  s = parse_ok(CF_SCHEDULE_CYCLE, "R/P1MT12H", at(2026, 1, 31, 0, 0, 0));
  assert_int_equal(s.every_months, 1);
  assert_int_equal(s.every_ms, 12 * 3600000LL);
  assert_int_equal(s.due_ms, at(2026, 2, 28, 12, 0, 0));
  assert_true(cf_schedule_advance(&s));
  assert_int_equal(s.due_ms, at(2026, 3, 29, 0, 0, 0));
}

static void bad_iso_cycles(void **state) {
  parse_fails(CF_SCHEDULE_CYCLE, "R3/PT",
              "timeCycle \"R3/PT\": the duration has no amount at character 5");
  parse_fails(CF_SCHEDULE_CYCLE, "R0/PT1S",
              "timeCycle \"R0/PT1S\": \"R0\" never fires: the count must be at least 1 at "
              "character 2");
  parse_fails(CF_SCHEDULE_CYCLE, "R3PT1S",
              "timeCycle \"R3PT1S\": expected '/' after \"Rn\" (\"R3/PT10M\") at character 3");
  parse_fails(CF_SCHEDULE_CYCLE, "R",
              "timeCycle \"R\": expected '/' after \"R\" (\"R3/PT10M\") at the end");
  parse_fails(CF_SCHEDULE_CYCLE, "R/",
              "timeCycle \"R/\": expected a duration or a start date-time after '/' at the end");
  parse_fails(CF_SCHEDULE_CYCLE, "R/PT0S",
              "timeCycle \"R/PT0S\": a cycle's interval must be at least 1 millisecond at "
              "character 3");
  parse_fails(CF_SCHEDULE_CYCLE, "R/PT0.0001S",
              "timeCycle \"R/PT0.0001S\": a cycle's interval must be at least 1 millisecond at "
              "character 3");
  parse_fails(CF_SCHEDULE_CYCLE, "R/-PT1S",
              "timeCycle \"R/-PT1S\": a negative duration is not allowed at character 3");
  parse_fails(CF_SCHEDULE_CYCLE, "R99999999999/PT1S",
              "timeCycle \"R99999999999/PT1S\": at most 2147483647 repetitions at character 2");
  parse_fails(CF_SCHEDULE_CYCLE, "R/PT1M/2026-01-05T09:00:00Z",
              "timeCycle \"R/PT1M/2026-01-05T09:00:00Z\": the form \"R/duration/end\" is not "
              "supported (write \"Rn/start/duration\") at character 7");
  parse_fails(CF_SCHEDULE_CYCLE, "R/2026-01-05T09:00:00Z/2026-01-06T09:00:00Z",
              "timeCycle \"R/2026-01-05T09:00:00Z/2026-01-06T09:00:00Z\": the form "
              "\"R/start/end\" is not supported (write \"Rn/start/duration\") at character 24");
  parse_fails(CF_SCHEDULE_CYCLE, "R/2026-01-05T09:00:00Z",
              "timeCycle \"R/2026-01-05T09:00:00Z\": expected '/' and a duration after the start "
              "date-time at the end");
  parse_fails(CF_SCHEDULE_CYCLE, "R/2026-01-05T09:00:00Z/",
              "timeCycle \"R/2026-01-05T09:00:00Z/\": expected a duration (\"PT1H\") after the "
              "start date-time at the end");
  parse_fails(CF_SCHEDULE_CYCLE, "R/2026-01-05T09:00:00Z/ ",
              "timeCycle \"R/2026-01-05T09:00:00Z/ \": expected a duration (\"PT1H\") after the "
              "start date-time at the end");
  parse_fails(CF_SCHEDULE_CYCLE, "R/2026-01-05T09:00:00@Europe/Paris",
              "timeCycle \"R/2026-01-05T09:00:00@Europe/Paris\": expected a duration (\"PT1H\") "
              "after the start date-time at character 30");
  parse_fails(CF_SCHEDULE_CYCLE, "R/2026-13-05T09:00:00Z/PT1H",
              "timeCycle \"R/2026-13-05T09:00:00Z/PT1H\": there is no such date at character 3");
  parse_fails(CF_SCHEDULE_CYCLE, "R2/2026-01-05T09:00:00Z/PT1Q",
              "timeCycle \"R2/2026-01-05T09:00:00Z/PT1Q\": 'Q' is not a duration unit (Y, M, W, "
              "D; after 'T': H, M, S) at character 28");
  parse_fails(CF_SCHEDULE_CYCLE, "PT1H",
              "timeCycle \"PT1H\": a cycle repeats: write \"R/PT1H\" (unbounded) or \"R3/PT1H\" "
              "at character 1");
}

/* ------------------------------------------------------------------ cron */

/* Parses a cron cycle at now and checks its first firings. */
static void cron_fires(const char *text, int64_t now, const int64_t *expect, size_t n) {
  struct cf_schedule s = parse_ok(CF_SCHEDULE_CYCLE, text, now);
  assert_true(s.cron);
  assert_int_equal(s.remaining, -1);
  for (size_t i = 0; i < n; i++) {
    if (i > 0)
      assert_true(cf_schedule_advance(&s));
    if (s.due_ms != expect[i])
      print_error("%s: firing %zu\n", text, i);
    assert_int_equal(s.due_ms, expect[i]);
  }
}

#define CRON(text, now, ...)                                                                     \
  do {                                                                                           \
    const int64_t e_[] = {__VA_ARGS__};                                                          \
    cron_fires(text, now, e_, sizeof e_ / sizeof e_[0]);                                         \
  } while (0)

static void cron_weekdays(void **state) {
  struct cf_schedule s = parse_ok(CF_SCHEDULE_CYCLE, "0 0 9 * * MON-FRI", NOW);
  assert_string_equal(s.cron_text, "0 0 9 * * MON-FRI");
  assert_int_equal(s.every_ms, 0);
  /* Monday 08:30: today 09:00, then every weekday, skipping the weekend. */
  CRON("0 0 9 * * MON-FRI", NOW, at(2026, 1, 5, 9, 0, 0), at(2026, 1, 6, 9, 0, 0),
       at(2026, 1, 7, 9, 0, 0), at(2026, 1, 8, 9, 0, 0), at(2026, 1, 9, 9, 0, 0),
       at(2026, 1, 12, 9, 0, 0));
  /* Strictly after now: at 09:00:00 exactly the next is tomorrow's. */
  CRON("0 0 9 * * MON-FRI", at(2026, 1, 5, 9, 0, 0), at(2026, 1, 6, 9, 0, 0));
  CRON("0 0 9 * * 1-5", at(2026, 1, 9, 9, 0, 0), at(2026, 1, 12, 9, 0, 0));
  /* Sunday is 0, 7 or SUN; names in any case. */
  CRON("0 0 0 * * 0", NOW, at(2026, 1, 11, 0, 0, 0), at(2026, 1, 18, 0, 0, 0));
  CRON("0 0 0 * * 7", NOW, at(2026, 1, 11, 0, 0, 0));
  CRON("0 0 0 * * sun", NOW, at(2026, 1, 11, 0, 0, 0));
  CRON("0 0 0 ? * 0-1", NOW, at(2026, 1, 11, 0, 0, 0), at(2026, 1, 12, 0, 0, 0));
  CRON("0 0 0 ? * SAT,SUN", NOW, at(2026, 1, 10, 0, 0, 0), at(2026, 1, 11, 0, 0, 0),
       at(2026, 1, 17, 0, 0, 0));
  /* Day of month AND day of week (Spring), not OR: Friday the 13th. */
  CRON("0 0 0 13 * FRI", NOW, at(2026, 2, 13, 0, 0, 0), at(2026, 3, 13, 0, 0, 0),
       at(2026, 11, 13, 0, 0, 0));
}

static void cron_lists_ranges_steps(void **state) {
  CRON("*/15 * * * * *", NOW + 500, at(2026, 1, 5, 8, 30, 15), at(2026, 1, 5, 8, 30, 30),
       at(2026, 1, 5, 8, 30, 45), at(2026, 1, 5, 8, 31, 0));
  /* "10/5": from 10 to the end of the field, every 5. */
  CRON("10/5 * * * * *", NOW, at(2026, 1, 5, 8, 30, 10), at(2026, 1, 5, 8, 30, 15));
  CRON("10/5 * * * * *", at(2026, 1, 5, 8, 30, 56), at(2026, 1, 5, 8, 31, 10));
  CRON("0 0/20 8-9 * * *", NOW, at(2026, 1, 5, 8, 40, 0), at(2026, 1, 5, 9, 0, 0),
       at(2026, 1, 5, 9, 20, 0), at(2026, 1, 5, 9, 40, 0), at(2026, 1, 6, 8, 0, 0));
  CRON("0 0 12 1,15 * ?", NOW, at(2026, 1, 15, 12, 0, 0), at(2026, 2, 1, 12, 0, 0),
       at(2026, 2, 15, 12, 0, 0));
  CRON("0 0 0 1 JAN,jul *", NOW, at(2026, 7, 1, 0, 0, 0), at(2027, 1, 1, 0, 0, 0));
  CRON("0 0 0 1 3-5/2 *", NOW, at(2026, 3, 1, 0, 0, 0), at(2026, 5, 1, 0, 0, 0),
       at(2027, 3, 1, 0, 0, 0));
  CRON("30 15 10 * * *", NOW, at(2026, 1, 5, 10, 15, 30), at(2026, 1, 6, 10, 15, 30));
  CRON("0  0\t9 * *   *", NOW, at(2026, 1, 5, 9, 0, 0)); /* any blanks between fields */
  /* The 31st skips the shorter months. */
  CRON("0 0 0 31 * *", NOW, at(2026, 1, 31, 0, 0, 0), at(2026, 3, 31, 0, 0, 0),
       at(2026, 5, 31, 0, 0, 0));
  /* Fractions of now: the next whole matching second. */
  CRON("* * * * * *", NOW + 999, NOW + 1000, NOW + 2000);
  CRON("* * * * * *", NOW - 1, NOW);
}

static void cron_last_nearest_nth(void **state) {
  /* L: the last day, leap years included. */
  CRON("0 0 0 L * *", at(2024, 2, 10, 0, 0, 0), at(2024, 2, 29, 0, 0, 0), at(2024, 3, 31, 0, 0, 0),
       at(2024, 4, 30, 0, 0, 0));
  CRON("0 0 0 L 2 *", NOW, at(2026, 2, 28, 0, 0, 0), at(2027, 2, 28, 0, 0, 0),
       at(2028, 2, 29, 0, 0, 0));
  CRON("0 0 0 L-2 * *", NOW, at(2026, 1, 29, 0, 0, 0), at(2026, 2, 26, 0, 0, 0));
  /* LW: the last weekday; January 2026 ends on a Saturday, May on a Sunday. */
  CRON("0 0 0 LW * *", NOW, at(2026, 1, 30, 0, 0, 0), at(2026, 2, 27, 0, 0, 0),
       at(2026, 3, 31, 0, 0, 0), at(2026, 4, 30, 0, 0, 0), at(2026, 5, 29, 0, 0, 0));
  /* 15W: the weekday nearest the 15th; Feb and Mar 15, 2026 are Sundays. */
  CRON("0 0 0 15W * *", NOW, at(2026, 1, 15, 0, 0, 0), at(2026, 2, 16, 0, 0, 0),
       at(2026, 3, 16, 0, 0, 0));
  /* 1W on Saturday August 1st stays in August: Monday the 3rd. */
  CRON("0 0 0 1W 8 *", NOW, at(2026, 8, 3, 0, 0, 0));
  /* 31W on Sunday May 31st: Friday the 29th, not June 1st. */
  CRON("0 0 0 31W 5 *", NOW, at(2026, 5, 29, 0, 0, 0));
  /* Last Friday: 5L or FRIL. */
  CRON("0 0 0 ? * 5L", NOW, at(2026, 1, 30, 0, 0, 0), at(2026, 2, 27, 0, 0, 0));
  CRON("0 0 0 ? * FRIL", NOW, at(2026, 1, 30, 0, 0, 0));
  /* The second Monday; the fifth Monday, which January 2026 lacks. */
  CRON("0 0 0 ? * MON#2", NOW, at(2026, 1, 12, 0, 0, 0), at(2026, 2, 9, 0, 0, 0));
  CRON("0 0 0 ? * 1#5", NOW, at(2026, 3, 30, 0, 0, 0));
  /* Mixed lists: the 1st and the last day. */
  CRON("0 0 0 1,L * *", NOW, at(2026, 1, 31, 0, 0, 0), at(2026, 2, 1, 0, 0, 0),
       at(2026, 2, 28, 0, 0, 0));
}

static void cron_leap_days_are_found_far_ahead(void **state) {
  CRON("0 0 0 29 2 *", NOW, at(2028, 2, 29, 0, 0, 0), at(2032, 2, 29, 0, 0, 0));
  /* 2100 is not a leap year: eight years from 2096 to 2104. */
  CRON("0 0 0 29 2 *", at(2096, 3, 1, 0, 0, 0), at(2104, 2, 29, 0, 0, 0));
  /* A Monday February 29th: 2044, then 2072. */
  CRON("0 0 0 29 2 MON", NOW, at(2044, 2, 29, 0, 0, 0), at(2072, 2, 29, 0, 0, 0));
}

static void cron_macros(void **state) {
  CRON("@yearly", NOW, at(2027, 1, 1, 0, 0, 0), at(2028, 1, 1, 0, 0, 0));
  CRON("@annually", NOW, at(2027, 1, 1, 0, 0, 0));
  CRON("@monthly", NOW, at(2026, 2, 1, 0, 0, 0), at(2026, 3, 1, 0, 0, 0));
  CRON("@weekly", NOW, at(2026, 1, 11, 0, 0, 0), at(2026, 1, 18, 0, 0, 0));
  CRON("@daily", NOW, at(2026, 1, 6, 0, 0, 0), at(2026, 1, 7, 0, 0, 0));
  CRON("@midnight", NOW, at(2026, 1, 6, 0, 0, 0));
  CRON("@hourly", NOW, at(2026, 1, 5, 9, 0, 0), at(2026, 1, 5, 10, 0, 0));
  CRON("@DAILY", NOW, at(2026, 1, 6, 0, 0, 0));
  struct cf_schedule s = parse_ok(CF_SCHEDULE_CYCLE, "  @daily\n", NOW);
  assert_string_equal(s.cron_text, "@daily");
}

static void cron_never_or_nevermore(void **state) {
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 30 2 *",
              "timeCycle \"0 0 0 30 2 *\": the cron expression never matches a date");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 31 APR,JUN,SEP,NOV *",
              "timeCycle \"0 0 0 31 APR,JUN,SEP,NOV *\": the cron expression never matches a "
              "date");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 L-30 2 *",
              "timeCycle \"0 0 0 L-30 2 *\": the cron expression never matches a date");
  /* The 1st of a month is never in its last week of a 31-day month... but it is the
     first Sunday sometimes: a satisfiable pair stays satisfiable. */
  CRON("0 0 0 1 * SUN#1", NOW, at(2026, 2, 1, 0, 0, 0), at(2026, 3, 1, 0, 0, 0));
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 1 * SUN#2",
              "timeCycle \"0 0 0 1 * SUN#2\": the cron expression never matches a date");
  /* A schedule that runs out of int64 milliseconds stops. */
  struct cf_schedule s = parse_ok(CF_SCHEDULE_CYCLE, "@yearly", NOW);
  s.due_ms = INT64_MAX - 1000;
  assert_false(cf_schedule_advance(&s));
  assert_int_equal(s.due_ms, INT64_MAX - 1000);
  /* A damaged cron text never advances. */
  s = parse_ok(CF_SCHEDULE_CYCLE, "@yearly", NOW);
  strcpy(s.cron_text, "0 0 0 ");
  assert_false(cf_schedule_advance(&s));
  memset(s.cron_text, 'x', sizeof s.cron_text); /* no NUL */
  assert_false(cf_schedule_advance(&s));
}

static void bad_crons(void **state) {
  parse_fails(CF_SCHEDULE_CYCLE, "0 9 * * 1",
              "timeCycle \"0 9 * * 1\": a cron expression has 6 fields (second minute hour "
              "day-of-month month day-of-week), this one has 5 (seconds come first: \"0 ...\")");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 1 * * *",
              "timeCycle \"0 0 0 1 * * *\": a cron expression has 6 fields (second minute hour "
              "day-of-month month day-of-week), this one has more at character 13");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 25 * * *",
              "timeCycle \"0 0 25 * * *\": the hour 25 is out of range 0-23 at character 5");
  parse_fails(CF_SCHEDULE_CYCLE, "60 0 0 * * *",
              "timeCycle \"60 0 0 * * *\": the second 60 is out of range 0-59 at character 1");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 0 * *",
              "timeCycle \"0 0 0 0 * *\": the day of the month 0 is out of range 1-31 at "
              "character 7");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 1 13 *",
              "timeCycle \"0 0 0 1 13 *\": the month 13 is out of range 1-12 at character 9");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 * * 8",
              "timeCycle \"0 0 0 * * 8\": the day of the week 8 is out of range 0-7 at "
              "character 11");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 9 * * MON-FRX",
              "timeCycle \"0 0 9 * * MON-FRX\": \"FRX\" is not a day of the week name at "
              "character 15");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 9 * * FRI-MON",
              "timeCycle \"0 0 9 * * FRI-MON\": the range FRI-MON runs backwards at character 15");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 9 * FOO *",
              "timeCycle \"0 0 9 * FOO *\": \"FOO\" is not a month name at character 9");
  parse_fails(CF_SCHEDULE_CYCLE, "MON 0 9 * * *",
              "timeCycle \"MON 0 9 * * *\": expected a second, found 'M' at character 1");
  parse_fails(CF_SCHEDULE_CYCLE, "*/0 * * * * *",
              "timeCycle \"*/0 * * * * *\": a step must be at least 1 at character 3");
  parse_fails(CF_SCHEDULE_CYCLE, "*/ * * * * *",
              "timeCycle \"*/ * * * * *\": expected a step after '/' at character 3");
  parse_fails(CF_SCHEDULE_CYCLE, "? * * * * *",
              "timeCycle \"? * * * * *\": '?' is only for the day of the month or of the week at "
              "character 1");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 1,,2 * *",
              "timeCycle \"0 0 0 1,,2 * *\": empty item in the day of the month field at "
              "character 9");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 1, * *",
              "timeCycle \"0 0 0 1, * *\": empty item in the day of the month field at character "
              "9");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 1-* * *",
              "timeCycle \"0 0 0 1-* * *\": expected a day of the month, found '*' at character 9");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 ** * *",
              "timeCycle \"0 0 0 ** * *\": unexpected '*' in the day of the month field at "
              "character 8");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 ? * L",
              "timeCycle \"0 0 0 ? * L\": 'L' needs a day of the week before it (\"5L\", "
              "\"MON#2\") at character 11");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 ? * MON#6",
              "timeCycle \"0 0 0 ? * MON#6\": expected which week, 1 to 5, after '#' (\"MON#2\") "
              "at character 15");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 ? * MONX",
              "timeCycle \"0 0 0 ? * MONX\": unexpected 'X' in the day of the week field at "
              "character 14");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 ? * MON#",
              "timeCycle \"0 0 0 ? * MON#\": expected which week, 1 to 5, after '#' (\"MON#2\") "
              "at the end");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 L-31 * *",
              "timeCycle \"0 0 0 L-31 * *\": \"L-31\": at most 30 days before the last at "
              "character 9");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 LX * *",
              "timeCycle \"0 0 0 LX * *\": unexpected 'X' after 'L' (\"L\", \"L-3\", \"LW\") at "
              "character 8");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 32W * *",
              "timeCycle \"0 0 0 32W * *\": the day of the month 32 is out of range 1-31 at "
              "character 7");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 15WW * *",
              "timeCycle \"0 0 0 15WW * *\": expected 'W' after the day (\"15W\") at character 9");
  parse_fails(CF_SCHEDULE_CYCLE, "0 0 0 * * 5L,4L,3L,2L,1L,0L,7L,6L,5#1,5#2,5#3,5#4,5#5,4#1,4#2,4#3,4#4",
              "timeCycle \"0 0 0 * * 5L,4L,3L,2L,1L,0L,7L,6L,5#1,5#2,5#3,5#4,5#5,4#1,4#2,4#...\": "
              "more than 16 'L', 'W' or '#' items in one field at character 67");
  parse_fails(CF_SCHEDULE_CYCLE, "@fortnightly",
              "timeCycle \"@fortnightly\": unknown macro \"@fortnightly\" (@yearly, @annually, "
              "@monthly, @weekly, @daily, @midnight, @hourly) at character 1");
  char longcron[200];
  memset(longcron, ' ', sizeof longcron);
  memcpy(longcron, "0 0 0 1", 7);
  memcpy(longcron + 150, "1 *", 3);
  longcron[153] = '\0';
  struct cf_schedule s;
  struct cf_error err;
  assert_int_equal(cf_schedule_parse(CF_SCHEDULE_CYCLE, longcron, 153, NOW, &s, &err), CF_EINVAL);
  assert_non_null(strstr(err.msg, "a cron expression has at most 127 characters"));
}

static void bad_arguments(void **state) {
  struct cf_schedule s;
  struct cf_error err;
  assert_int_equal(cf_schedule_parse(CF_SCHEDULE_DATE, "2026-01-05", 10, NOW, NULL, &err),
                   CF_EINVAL);
  assert_int_equal(cf_schedule_parse(CF_SCHEDULE_DATE, NULL, 3, NOW, &s, &err), CF_EINVAL);
  assert_int_equal(cf_schedule_parse((enum cf_schedule_kind)7, "P1D", 3, NOW, &s, &err),
                   CF_EINVAL);
  assert_int_equal(cf_schedule_parse(CF_SCHEDULE_DURATION, NULL, 0, NOW, &s, NULL), CF_EINVAL);
  assert_int_equal(cf_schedule_parse(CF_SCHEDULE_DURATION, "x", 1, NOW, &s, NULL), CF_EINVAL);
  assert_false(cf_schedule_advance(NULL));
}

/* ----------------------------------------------------------------- fuzz */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static unsigned rnd(unsigned n) {
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (unsigned)((rng_state >> 33) % n);
}

/*
 * Random and mutated texts, copied to a buffer of exactly their length (no
 * NUL: ASan catches a read past it), must parse or fail cleanly; a parsed
 * cycle only ever moves forward.
 */
static void random_texts_never_crash(void **state) {
  static const char alphabet[] = "0123456789RPTYMWDHSZ/-+:.@[]*?,#LW MONFRIJANSUEuropeParis\t";
  static const char *const seeds[] = {
      "R3/2026-01-05T09:00:00Z/PT1H", "0 0 9 * * MON-FRI", "R/P1M", "P1Y2M3W4DT5H6M7.8S",
      "2026-01-05T09:00:00@Europe/Paris", "0 0 0 LW * ?", "0 0 0 ? * MON#2", "*/15 10/5 * 15W * 5L",
      "2026-07-05T09:00:00+02:00[Europe/Paris]", "@weekly", "0 0 0 L-3 JAN-DEC/2 *"};
  char text[64];
  int parsed = 0;
  for (int iter = 0; iter < 30000; iter++) {
    size_t len;
    if (iter % 2) {
      len = rnd(40);
      for (size_t i = 0; i < len; i++)
        text[i] = iter % 7 == 0 ? (char)rnd(256) : alphabet[rnd(sizeof alphabet - 1)];
    } else {
      const char *seed = seeds[rnd(sizeof seeds / sizeof seeds[0])];
      len = strlen(seed);
      memcpy(text, seed, len);
      for (unsigned k = 1 + rnd(3); k > 0; k--) {
        size_t p = rnd((unsigned)len + 1);
        char ch = alphabet[rnd(sizeof alphabet - 1)];
        switch (rnd(3)) {
        case 0: /* replace */
          if (p < len)
            text[p] = ch;
          break;
        case 1: /* insert */
          if (len < sizeof text - 1) {
            memmove(text + p + 1, text + p, len - p);
            text[p] = ch;
            len++;
          }
          break;
        default: /* delete */
          if (p < len) {
            memmove(text + p, text + p + 1, len - p - 1);
            len--;
          }
        }
      }
    }
    char *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    memcpy(buf, text, len);
    for (int kind = CF_SCHEDULE_DATE; kind <= CF_SCHEDULE_CYCLE; kind++) {
      struct cf_schedule s;
      struct cf_error err = {0, ""};
      int rc = cf_schedule_parse((enum cf_schedule_kind)kind, buf, len, NOW, &s, &err);
      if (rc != CF_OK) {
        assert_int_equal(rc, CF_EINVAL);
        assert_int_equal(err.code, CF_EINVAL);
        assert_true(strlen(err.msg) > 0);
        continue;
      }
      parsed++;
      for (int k = 0; k < 3; k++) {
        int64_t prev = s.due_ms;
        if (!cf_schedule_advance(&s))
          break;
        assert_true(s.due_ms > prev);
      }
    }
    free(buf);
  }
  assert_true(parsed > 300); /* the mutations reach past the first check */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(dates_with_offsets),
      cmocka_unit_test(dates_without_zone_are_utc),
      cmocka_unit_test(dates_with_zone_ids),
      cmocka_unit_test(bad_dates),
      cmocka_unit_test(durations_count_from_now),
      cmocka_unit_test(duration_days_are_utc_days),
      cmocka_unit_test(duration_months_clamp_to_month_end),
      cmocka_unit_test(bad_durations),
      cmocka_unit_test(bounded_cycle_from_now),
      cmocka_unit_test(cycle_with_start_date),
      cmocka_unit_test(unbounded_cycles),
      cmocka_unit_test(monthly_cycles_clamp),
      cmocka_unit_test(bad_iso_cycles),
      cmocka_unit_test(cron_weekdays),
      cmocka_unit_test(cron_lists_ranges_steps),
      cmocka_unit_test(cron_last_nearest_nth),
      cmocka_unit_test(cron_leap_days_are_found_far_ahead),
      cmocka_unit_test(cron_macros),
      cmocka_unit_test(cron_never_or_nevermore),
      cmocka_unit_test(bad_crons),
      cmocka_unit_test(bad_arguments),
      cmocka_unit_test(random_texts_never_crash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
