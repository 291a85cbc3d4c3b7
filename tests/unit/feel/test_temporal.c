/*
 * FEEL temporal values (feel_temporal.c): literals and their string() form,
 * zones and DST, arithmetic across month ends and DST changes, equality and
 * ordering, properties, the temporal built-ins, and errors that give null
 * with a warning. Most checks go through compiled FEEL expressions, as users
 * see them; the parser entry point is also hammered directly with malformed
 * text.
 */
#include <stdint.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_time.h"
#include "base/cf_tz.h"
#include "feel/cf_feel.h"
#include "feel/feel_int.h"

#include "feel_check.h"

/* ------------------------------------------------------------- helpers */

/* 2021-07-14T10:30:15.5Z: a summer instant, so Paris is at +02:00. */
static const struct cf_feel_env *test_env(bool paris) {
  static struct cf_feel_env env;
  env.now_secs = cf_time_days_from_civil(2021, 7, 14) * 86400 + 10 * 3600 + 30 * 60 + 15;
  env.now_nanos = 500000000;
  env.zone = paris ? cf_tz_find("Europe/Paris", 12) : NULL;
  return &env;
}

/*
 * Results compared as string() gives them (feel_check.h), at test_env's
 * instant, in UTC or in Paris. EXPECT_NULL wants null with a warning,
 * whatever it says.
 */
#define AT(paris) (&(struct feel_opts){.env = test_env(paris), .form = FEEL_FORM_STRING, .oom_steps = 400})
#define EXPECT(src, want) feel_check(AT(false), src, want, __LINE__)
#define EXPECT_NULL(src) feel_check_null(AT(false), src, NULL, __LINE__)
#define EXPECT_PARIS(src, want) feel_check(AT(true), src, want, __LINE__)
#define CHECK_OOM(src, want) feel_check_oom(AT(false), src, want, __LINE__)

/* The literal parser alone: text in, string() out ("error" when refused). */
static void lit(const char *text, const char *want, int line) {
  struct cf_feel_value v;
  cf_feel_set_null(&v);
  int rc = cf__feel_temporal_literal(text, strlen(text), &v);
  if (rc != CF_OK) {
    if (strcmp(want, "error") != 0)
      fail_msg("line %d: @\"%s\" refused, want %s", line, text, want);
    return;
  }
  struct cf_buf b;
  cf_buf_init(&b);
  assert_int_equal(cf__feel_temporal_format(&v, &b), CF_OK);
  if (strcmp(b.data, want) != 0)
    fail_msg("line %d: @\"%s\" gave %s, want %s", line, text, b.data, want);
  cf_buf_release(&b);
}

#define LIT(text, want) lit(text, want, __LINE__)

/* ------------------------------------------------------------- literals */

static void literals_round_trip(void **state) {
  LIT("2021-01-01", "2021-01-01");
  LIT("-2021-01-01", "-2021-01-01");
  LIT("0000-02-29", "0000-02-29"); /* year 0 is a leap year */
  LIT("999999999-12-31", "999999999-12-31");
  LIT("10:15:00", "10:15:00");
  LIT("10:15:00.123+01:00", "10:15:00.123+01:00");
  LIT("10:15:00.120000000Z", "10:15:00.12Z");
  LIT("10:15:00-00:00", "10:15:00Z");
  LIT("10:15:00+05:30:15", "10:15:00+05:30:15");
  LIT("10:15:00@Europe/Paris", "10:15:00@Europe/Paris");
  LIT("2021-01-01T10:10:10", "2021-01-01T10:10:10");
  LIT("2021-01-01T10:10:10@Europe/Paris", "2021-01-01T10:10:10@Europe/Paris");
  LIT("2021-01-01T24:00:00", "2021-01-02T00:00:00");
  LIT("2021-12-31T24:00:00Z", "2022-01-01T00:00:00Z");
  LIT("P1DT2H", "P1DT2H");
  LIT("-PT1H", "-PT1H");
  LIT("PT90M", "PT1H30M");
  LIT("PT36H", "P1DT12H");
  LIT("P0D", "PT0S");
  LIT("PT0.000S", "PT0S");
  LIT("PT1.250S", "PT1.25S");
  LIT("-PT0.5S", "-PT0.5S");
  LIT("P1Y2M", "P1Y2M");
  LIT("P14M", "P1Y2M");
  LIT("P12M", "P1Y");
  LIT("P0Y", "P0M");
  LIT("-P3M", "-P3M");
}

static void malformed_literals_are_refused(void **state) {
  const char *bad[] = {
      "", "2021", "2021-1-01", "2021-02-30", "2021-13-01", "2021-00-10", "998-12-31",
      "01211-12-31", "+2021-01-01", "9999999999-01-01", "2021-01-01T", "2021-01-01T10:00",
      "2021-01-01 10:00:00", "2021-01-0110:00:00", "10:00", "7:00:00", "24:00:01", "23:60:00",
      "23:59:60", "10:00:00+19:00", "10:00:00+5:00", "10:00:00+05", "10:00:00@", "10:00:00@xyz/abc",
      "10:00:00@../../etc/passwd", "10:00:00@/etc/passwd", "10:00:00+01:00@Europe/Paris",
      "2021-01-01T10:00:00Z@UTC", "10:00:00.", "10:00:00.1234567890", "10:00:00Z ", " 10:00:00",
      "P", "PT", "P1", "P1DT", "P1Y2M3D", "P1W", "P1H", "P1S", "PT1D", "P-1D", "--P1D", "P1.5D",
      "PT1.5H", "PT99999999999999999999S", "-", "T10:00:00", "2021-01-01T10:00:00.Z",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    LIT(bad[i], "error");
}

/* Every prefix of valid texts, and every one-byte change, parses or is refused: never more. */
static void literal_parser_survives_mutations(void **state) {
  const char *seeds[] = {"2021-01-01T10:10:10.123456789@Europe/Paris", "-0044-03-15T24:00:00+05:30",
                         "P1DT2H3M4.5S", "-P99Y11M", "23:59:59.999999999-18:00"};
  const char repl[] = {'\0', '0', '9', '-', '+', ':', '.', 'T', 'Z', '@', '/', 'P', 'x', '\xff'};
  char buf[64];
  for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
    size_t n = strlen(seeds[s]);
    for (size_t cut = 0; cut <= n; cut++) {
      struct cf_feel_value v;
      cf__feel_temporal_literal(seeds[s], cut, &v); /* no NUL at cut: must not read past it */
    }
    for (size_t i = 0; i < n; i++)
      for (size_t r = 0; r < sizeof repl; r++) {
        memcpy(buf, seeds[s], n);
        buf[i] = repl[r];
        struct cf_feel_value v;
        if (cf__feel_temporal_literal(buf, n, &v) == CF_OK) {
          struct cf_buf b;
          cf_buf_init(&b);
          assert_int_equal(cf__feel_temporal_format(&v, &b), CF_OK);
          cf_buf_release(&b);
        }
      }
  }
}

/* ------------------------------------------------------------ zones, DST */

static void paris_offsets_follow_summer_time(void **state) {
  EXPECT("@\"2021-01-15T12:00:00@Europe/Paris\".time offset", "PT1H");
  EXPECT("@\"2021-07-15T12:00:00@Europe/Paris\".time offset", "PT2H");
  EXPECT("@\"2100-07-15T12:00:00@Europe/Paris\".time offset", "PT2H"); /* past the table */
  EXPECT("@\"2021-07-15T12:00:00@Europe/Paris\".timezone", "Europe/Paris");
  /* A time has no date: its zone gives the standard offset of today's rules. */
  EXPECT("time(@\"2021-07-15T12:00:00@Europe/Paris\").time offset", "PT1H");
  EXPECT("@\"10:00:00@Asia/Singapore\".time offset", "PT8H"); /* +07:30 before 1982 */
  EXPECT("@\"10:00:00@Europe/Paris\" = @\"09:00:00Z\"", "true");
  EXPECT("@\"2021-07-15T12:00:00@Europe/Paris\" = @\"2021-07-15T10:00:00Z\"", "true");
  EXPECT("@\"2021-01-15T12:00:00@Europe/Paris\" = @\"2021-01-15T11:00:00Z\"", "true");
  /* A local time in the spring-forward gap moves forward by the gap. */
  EXPECT("@\"2021-03-28T02:30:00@Europe/Paris\"", "2021-03-28T03:30:00@Europe/Paris");
  /* Days-time durations move along the time line: 24 hours across the change is 13:00. */
  EXPECT("@\"2021-03-27T12:00:00@Europe/Paris\" + @\"P1D\"", "2021-03-28T13:00:00@Europe/Paris");
  EXPECT("@\"2021-03-28T12:00:00@Europe/Paris\" - @\"2021-03-27T12:00:00@Europe/Paris\"",
         "PT23H");
  /* Years-months durations move the local date; the offset follows. */
  EXPECT("@\"2021-01-31T10:00:00@Europe/Paris\" + @\"P6M\"", "2021-07-31T10:00:00@Europe/Paris");
  EXPECT("(@\"2021-01-31T10:00:00@Europe/Paris\" + @\"P6M\").time offset", "PT2H");
  EXPECT("date and time(@\"2020-07-31T14:27:30@Europe/Berlin\", \"America/Los_Angeles\")",
         "2020-07-31T05:27:30@America/Los_Angeles");
  EXPECT("date and time(date: @\"2020-07-31T14:27:30Z\", timezone: \"+05:30\")",
         "2020-07-31T19:57:30+05:30");
  EXPECT_NULL("date and time(@\"2020-07-31T14:27:30Z\", \"Mars/Olympus\")");
}

/* ----------------------------------------------------------- arithmetic */

static void arithmetic_across_month_ends(void **state) {
  EXPECT("@\"2021-01-31\" + @\"P1M\"", "2021-02-28");
  EXPECT("@\"2020-01-31\" + @\"P1M\"", "2020-02-29");
  EXPECT("@\"2020-02-29\" + @\"P1Y\"", "2021-02-28");
  EXPECT("@\"2021-03-31T08:00:00\" - @\"P1M\"", "2021-02-28T08:00:00");
  EXPECT("@\"2021-01-01\" - @\"P1M\"", "2020-12-01");
  EXPECT("@\"-2021-01-01T10:10:10+11:00\" - @\"P1D\"", "-2022-12-31T10:10:10+11:00");
  EXPECT("@\"2021-12-31T23:30:00\" + @\"PT1H\"", "2022-01-01T00:30:00");
  /* A date moved by a days-time duration stays a date (the time of day is dropped). */
  EXPECT("@\"2021-01-01\" + @\"PT36H\"", "2021-01-02");
  EXPECT("@\"2021-01-02\" - @\"PT1S\"", "2021-01-01");
  EXPECT("@\"2020-03-01\" - @\"PT24H\"", "2020-02-29");
  /* Times wrap around midnight and keep their zone. */
  EXPECT("@\"23:30:00+01:00\" + @\"PT1H\"", "00:30:00+01:00");
  EXPECT("@\"10:15:00@Australia/Melbourne\" - @\"P1D\"", "10:15:00@Australia/Melbourne");
}

static void differences_between_points(void **state) {
  EXPECT("@\"2021-01-02\" - @\"1995-01-01\"", "P9498D");
  EXPECT("@\"2021-03-01\" - @\"2021-02-01\"", "P28D");
  EXPECT("@\"2021-01-02T10:10:10@Europe/Paris\" - @\"2021-01-01\"", "P1DT9H10M10S");
  EXPECT("@\"2021-01-02T10:10:10\" - @\"2021-01-01T08:00:00\"", "P1DT2H10M10S");
  EXPECT("@\"2002-04-02T12:00:00-01:00\" - @\"2002-04-02T17:00:00+04:00\"", "PT0S");
  EXPECT("@\"10:10:10+11:00\" - @\"11:10:10+11:00\"", "-PT1H");
  EXPECT("@\"10:00:00\" - @\"08:30:00\"", "PT1H30M");
  /* Local against zoned has no answer. */
  EXPECT_NULL("@\"2021-01-02T10:10:10\" - @\"2021-01-01T10:10:10@Europe/Paris\"");
  EXPECT_NULL("@\"2021-01-01T00:00:00\" - @\"2021-01-02\"");
  EXPECT_NULL("@\"10:00:00\" - @\"09:00:00Z\"");
}

static void duration_arithmetic(void **state) {
  EXPECT("@\"P1D\" + @\"PT2H\"", "P1DT2H");
  EXPECT("@\"P1D\" - @\"PT26H\"", "-PT2H");
  EXPECT("@\"P1Y\" - @\"P13M\"", "-P1M");
  EXPECT("1.5 * @\"P4DT1H\"", "P6DT1H30M");
  EXPECT("@\"PT1S\" / 3", "PT0.333333333S");
  EXPECT("@\"P1Y11M\" * -2.5", "-P4Y9M"); /* toward zero */
  EXPECT("@\"P10Y11M\" / -2.5", "-P4Y4M");
  EXPECT("@\"P10D\" / @\"P4D\"", "2.5");
  EXPECT("@\"P1Y\" / @\"P5M\"", "2.4");
  EXPECT_NULL("@\"P1D\" / 0");
  EXPECT_NULL("@\"P1Y\" + @\"P1D\"");
  EXPECT_NULL("@\"P1D\" * @\"P1D\"");
  EXPECT_NULL("@\"P1D\" - @\"2021-01-01\"");
  EXPECT_NULL("@\"10:00:00\" + @\"P1Y\"");
  EXPECT_NULL("@\"2021-01-01\" + @\"2021-01-01\"");
  EXPECT_NULL("@\"2021-01-01\" + 1");
  /* Out of range: null, not an overflow. */
  EXPECT_NULL("@\"999999999-12-31\" + @\"P1D\"");
  EXPECT_NULL("@\"-999999999-01-01T00:00:00\" - @\"PT1S\"");
  EXPECT_NULL("@\"P9223372036854775807M\" + @\"P1M\"");
  EXPECT_NULL("@\"PT9223372036854775807S\" * 2");
  EXPECT_NULL("@\"P1D\" * 1e100");
}

/* ------------------------------------------------- equality and order */

static void equality_and_order(void **state) {
  EXPECT("@\"2021-01-01\" < @\"2021-01-02\"", "true");
  EXPECT("@\"-0001-12-31\" < @\"0000-01-01\"", "true");
  EXPECT("@\"10:00:00+01:00\" = @\"09:00:00Z\"", "true");
  EXPECT("@\"10:30:00Z\" = @\"10:30:00+00:00\"", "true");
  EXPECT("@\"P1D\" = @\"PT24H\"", "true");
  EXPECT("@\"P1Y\" = @\"P12M\"", "true");
  EXPECT("@\"P1D\" > @\"PT23H\"", "true");
  /* Times compare to the millisecond (DMN TCK 0068 time_005). */
  EXPECT("time(\"10:30:00.0001\") = time(\"10:30:00.0002\")", "true");
  EXPECT("time(\"10:30:00.001\") < time(\"10:30:00.002\")", "true");
  EXPECT_NULL("@\"10:00:00\" = @\"10:00:00Z\"");
  EXPECT_NULL("@\"2021-01-01T10:00:00\" < @\"2021-01-01T10:00:00Z\"");
  /* is(): the same value with the same zone. */
  EXPECT("is(@\"2002-04-02T12:00:00-01:00\", @\"2002-04-02T17:00:00+04:00\")", "false");
  EXPECT("is(@\"23:00:50Z\", @\"23:00:50+00:00\")", "true");
  EXPECT("is(@\"23:00:50@Etc/GMT\", @\"23:00:50Z\")", "false");
  EXPECT("is(@\"2012-12-25\", @\"2012-12-25T00:00:00Z\")", "false");
  EXPECT("is(@\"P1D\", @\"PT24H\")", "true");
  EXPECT("is(1, 1.0)", "true");
  EXPECT("is(\"a\", \"b\")", "false");
}

/* ------------------------------------------------------------ properties */

static void properties(void **state) {
  EXPECT("@\"2018-12-10\".weekday", "1");
  EXPECT("@\"2018-12-10T10:30:01.5\".second", "1");
  EXPECT("@\"2018-12-10T10:30:01\".time offset", "null");
  EXPECT("@\"10:30:00-05:30\".time offset", "-PT5H30M");
  EXPECT("@\"10:30:00+05:00\".timezone", "null");
  EXPECT("@\"P1Y14M\".years", "2");
  EXPECT("@\"-P14M\".months", "-2");
  EXPECT("@\"P1DT25H61M\".days", "2");
  EXPECT("@\"P1DT25H61M\".hours", "2");
  EXPECT("@\"-PT90M\".minutes", "-30");
  EXPECT_NULL("@\"P1Y\".days");
  EXPECT_NULL("@\"2018-12-10\".hour");
}

/* ------------------------------------------------------------- built-ins */

static void constructors(void **state) {
  EXPECT("date(\"2017-01-01\")", "2017-01-01");
  EXPECT("date(-2017, 12, 31)", "-2017-12-31");
  EXPECT("date(from: date and time(\"2017-08-30T10:25:00@Europe/Paris\"))", "2017-08-30");
  EXPECT("date and time(\"2012-12-24\")", "2012-12-24T00:00:00");
  EXPECT("date and time(date(\"2017-01-01\"), time(\"23:59:01.5@Europe/Paris\"))",
         "2017-01-01T23:59:01.5@Europe/Paris");
  EXPECT("date and time(date: date(\"2017-01-01\"), time: time(\"23:59:01Z\"))",
         "2017-01-01T23:59:01Z");
  EXPECT("time(date and time(\"2017-08-10T10:20:00-01:00\"))", "10:20:00-01:00");
  EXPECT("time(11, 59, 45, duration(\"PT2H1M\"))", "11:59:45+02:01");
  EXPECT("time(11, 59, 45, duration(\"-PT0H\"))", "11:59:45Z");
  EXPECT("time(11, 59, 45.25, null)", "11:59:45.25");
  EXPECT("time(hour: 1, minute: 2, second: 3)", "01:02:03");
  EXPECT("duration(\"PT1000M\")", "PT16H40M");
  EXPECT("duration(\"-P999999999M\")", "-P83333333Y3M");
  EXPECT("years and months duration(date(\"2011-12-22\"), date(\"2013-08-24\"))", "P1Y8M");
  EXPECT("years and months duration(date(\"2013-08-24\"), date(\"2011-12-22\"))", "-P1Y8M");
  EXPECT("years and months duration(from: @\"2014-12-31T23:59:59\", to: @\"2016-12-31T00:00:01\")",
         "P2Y");
  EXPECT_NULL("date(\"2017-13-10\")");
  EXPECT_NULL("date(\"\")");
  EXPECT_NULL("date(2017, 2, 29)");
  EXPECT_NULL("date(2017.5, 1, 1)");
  EXPECT_NULL("date(-1000999999, 12, 1)");
  EXPECT_NULL("date and time(\"2011-12-03T10:15:30+01:00@Europe/Paris\")");
  EXPECT_NULL("date and time(\"11:00:00\")");
  EXPECT_NULL("time(\"13:20:00@xyz/abc\")");
  EXPECT_NULL("time(24, 0, 0, null)");
  EXPECT_NULL("time(12, 0, 60)");
  EXPECT_NULL("time(12, 0, 0, duration(\"PT19H\"))");
  EXPECT_NULL("duration(\"P1Y2M3D\")");
  EXPECT_NULL("duration(2017)");
  EXPECT_NULL("years and months duration(date(\"2017-08-11\"), null)");
}

static void calendar_functions(void **state) {
  EXPECT("day of year(@\"2020-12-31\")", "366");
  EXPECT("day of week(@\"2019-09-17\")", "Tuesday");
  EXPECT("day of week(@\"1970-01-04T10:00:00\")", "Sunday");
  EXPECT("month of year(@\"2019-09-17\")", "September");
  EXPECT("week of year(@\"2003-12-29\")", "1");
  EXPECT("week of year(@\"2010-01-01\")", "53");
  EXPECT("week of year(date: @\"2019-09-17T10:10:10\")", "38");
  EXPECT("last day of month(@\"2024-02-10\")", "2024-02-29");
  EXPECT("last day of month(@\"2023-02-10T10:00:00@Europe/Paris\")", "2023-02-28");
  EXPECT_NULL("day of year(\"2019-09-17\")");
  EXPECT_NULL("week of year(null)");
}

static void now_and_today_use_the_injected_clock(void **state) {
  EXPECT("now()", "2021-07-14T10:30:15.5Z");
  EXPECT("today()", "2021-07-14");
  EXPECT_PARIS("now()", "2021-07-14T12:30:15.5@Europe/Paris");
  EXPECT_PARIS("now().time offset", "PT2H");
  EXPECT_PARIS("today()", "2021-07-14");
  EXPECT_NULL("today(123)");
}

static void out_of_memory_gives_enomem_or_the_result(void **state) {
  CHECK_OOM("day of week(@\"2019-09-17\")", "Tuesday");
  CHECK_OOM("@\"2021-01-01T10:00:00@Europe/Paris\".timezone", "Europe/Paris");
  CHECK_OOM("[month of year(@\"2019-09-17\"), string(@\"P1DT2H\")]", "[\"September\", \"P1DT2H\"]");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(literals_round_trip),
      cmocka_unit_test(malformed_literals_are_refused),
      cmocka_unit_test(literal_parser_survives_mutations),
      cmocka_unit_test(paris_offsets_follow_summer_time),
      cmocka_unit_test(arithmetic_across_month_ends),
      cmocka_unit_test(differences_between_points),
      cmocka_unit_test(duration_arithmetic),
      cmocka_unit_test(equality_and_order),
      cmocka_unit_test(properties),
      cmocka_unit_test(constructors),
      cmocka_unit_test(calendar_functions),
      cmocka_unit_test(now_and_today_use_the_injected_clock),
      cmocka_unit_test(out_of_memory_gives_enomem_or_the_result),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
