/* Unit tests of src/base/cf_time.c: civil calendar and ISO-8601 parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/cf_time.h"
#include "crmflow/cf_error.h"

static void day_numbers_of_known_dates(void **state) {
  assert_int_equal(cf_time_days_from_civil(1970, 1, 1), 0);
  assert_int_equal(cf_time_days_from_civil(1969, 12, 31), -1);
  assert_int_equal(cf_time_days_from_civil(2000, 3, 1), 11017);
  assert_int_equal(cf_time_days_from_civil(0, 1, 1), -719528);
  /* The TCK's date subtraction: 2021-01-02 - 1995-01-01 is 9498 days. */
  assert_int_equal(cf_time_days_from_civil(2021, 1, 2) - cf_time_days_from_civil(1995, 1, 1),
                   9498);
}

static void round_trip_over_the_whole_range(void **state) {
  const int64_t years[] = {CF_TIME_YEAR_MIN, -2021, -1, 0, 1, 1582, 1900, 2000,
                           2024, 9999, 10000, CF_TIME_YEAR_MAX};
  for (size_t i = 0; i < sizeof years / sizeof years[0]; i++) {
    for (unsigned m = 1; m <= 12; m++) {
      unsigned last = cf_time_days_in_month(years[i], m);
      int64_t d1 = cf_time_days_from_civil(years[i], m, 1);
      int64_t dl = cf_time_days_from_civil(years[i], m, last);
      assert_int_equal(dl - d1, last - 1);
      int64_t y;
      unsigned mm, dd;
      cf_time_civil_from_days(dl, &y, &mm, &dd);
      assert_int_equal(y, years[i]);
      assert_int_equal(mm, m);
      assert_int_equal(dd, last);
      /* The day after the last is the first of the next month. */
      cf_time_civil_from_days(dl + 1, &y, &mm, &dd);
      assert_int_equal(dd, 1);
      assert_int_equal(mm, m == 12 ? 1 : m + 1);
    }
  }
}

static void leap_years_and_month_lengths(void **state) {
  assert_true(cf_time_is_leap(2000));
  assert_true(cf_time_is_leap(2024));
  assert_true(cf_time_is_leap(0));
  assert_true(cf_time_is_leap(-4));
  assert_false(cf_time_is_leap(1900));
  assert_false(cf_time_is_leap(2023));
  assert_int_equal(cf_time_days_in_month(2024, 2), 29);
  assert_int_equal(cf_time_days_in_month(2023, 2), 28);
  assert_int_equal(cf_time_days_in_month(2023, 4), 30);
  assert_int_equal(cf_time_days_in_month(2023, 13), 0);
  assert_false(cf_time_valid_date(2021, 2, 29));
  assert_true(cf_time_valid_date(2020, 2, 29));
  assert_false(cf_time_valid_date(CF_TIME_YEAR_MAX + 1, 1, 1));
}

static void weekdays_and_iso_weeks(void **state) {
  /* 2019-09-17 was a Tuesday, in ISO week 38. */
  assert_int_equal(cf_time_day_of_week(cf_time_days_from_civil(2019, 9, 17)), 2);
  assert_int_equal(cf_time_day_of_week(cf_time_days_from_civil(1970, 1, 1)), 4);
  assert_int_equal(cf_time_day_of_week(cf_time_days_from_civil(1969, 12, 28)), 7);
  assert_int_equal(cf_time_iso_week(2019, 9, 17, NULL), 38);
  int64_t wy;
  /* The last days of 2003 belong to week 1 of 2004; 2010-01-01 to week 53 of 2009. */
  assert_int_equal(cf_time_iso_week(2003, 12, 29, &wy), 1);
  assert_int_equal(wy, 2004);
  assert_int_equal(cf_time_iso_week(2010, 1, 1, &wy), 53);
  assert_int_equal(wy, 2009);
  assert_int_equal(cf_time_iso_week(1970, 1, 1, NULL), 1);
  assert_int_equal(cf_time_day_of_year(2020, 12, 31), 366);
  assert_int_equal(cf_time_day_of_year(2019, 12, 31), 365);
}

static void nth_weekday_as_posix_rules_say(void **state) {
  /* EU summer time: last Sunday of March and October. */
  assert_int_equal(cf_time_nth_weekday(2024, 3, 5, 0), 31);
  assert_int_equal(cf_time_nth_weekday(2024, 10, 5, 0), 27);
  /* US: second Sunday of March, first Sunday of November. */
  assert_int_equal(cf_time_nth_weekday(2024, 3, 2, 0), 10);
  assert_int_equal(cf_time_nth_weekday(2024, 11, 1, 0), 3);
}

static void parse_dates(void **state) {
  struct cf_time_civil c;
  assert_int_equal(cf_time_parse_date("2021-01-31", 10, &c), 10);
  assert_int_equal(c.year, 2021);
  assert_int_equal(c.month, 1);
  assert_int_equal(c.day, 31);
  assert_int_equal(cf_time_parse_date("-0044-03-15T", 12, &c), 11);
  assert_int_equal(c.year, -44);
  assert_int_equal(cf_time_parse_date("999999999-12-31", 15, &c), 15);
  assert_int_equal(c.year, 999999999);
  /* Refused: short or padded years, impossible days, a cut-off input. */
  assert_int_equal(cf_time_parse_date("998-12-31", 9, &c), 0);
  assert_int_equal(cf_time_parse_date("01211-12-31", 11, &c), 0);
  assert_int_equal(cf_time_parse_date("9999999999-12-25", 16, &c), 0);
  assert_int_equal(cf_time_parse_date("2021-02-29", 10, &c), 0);
  assert_int_equal(cf_time_parse_date("2021-13-01", 10, &c), 0);
  assert_int_equal(cf_time_parse_date("2021-01-3", 9, &c), 0);
  assert_int_equal(cf_time_parse_date("2021-01-31", 8, &c), 0);
  assert_int_equal(cf_time_parse_date("+2021-01-01", 11, &c), 0);
}

static void parse_clocks_and_offsets(void **state) {
  struct cf_time_civil c;
  assert_int_equal(cf_time_parse_clock("10:15:30.123456789Z", 19, &c), 18);
  assert_int_equal(c.hour, 10);
  assert_int_equal(c.second, 30);
  assert_int_equal(c.nanos, 123456789);
  assert_int_equal(cf_time_parse_clock("10:15:30.5", 10, &c), 10);
  assert_int_equal(c.nanos, 500000000);
  assert_int_equal(cf_time_parse_clock("24:00:00", 8, &c), 8);
  assert_int_equal(c.hour, 24);
  assert_int_equal(cf_time_parse_clock("24:00:01", 8, &c), 0);
  assert_int_equal(cf_time_parse_clock("23:59:60", 8, &c), 0);
  assert_int_equal(cf_time_parse_clock("7:00:00", 7, &c), 0);
  assert_int_equal(cf_time_parse_clock("10:15:30.", 9, &c), 0);
  assert_int_equal(cf_time_parse_clock("10:15:30.1234567891", 19, &c), 0);

  int32_t off;
  assert_int_equal(cf_time_parse_offset("Z", 1, &off), 1);
  assert_int_equal(off, 0);
  assert_int_equal(cf_time_parse_offset("+05:30", 6, &off), 6);
  assert_int_equal(off, 19800);
  assert_int_equal(cf_time_parse_offset("-01:02:03", 9, &off), 9);
  assert_int_equal(off, -3723);
  assert_int_equal(cf_time_parse_offset("+19:00", 6, &off), 0);
  assert_int_equal(cf_time_parse_offset("+5:00", 5, &off), 0);
  assert_int_equal(cf_time_parse_offset("+05", 3, &off), 0);
}

static void parse_durations(void **state) {
  struct cf_time_duration d;
  assert_int_equal(cf_time_parse_duration("P1Y2M", 5, &d), CF_OK);
  assert_int_equal(d.months, 14);
  assert_int_equal(d.parts, CF_TIME_DUR_YEARS | CF_TIME_DUR_MONTHS);
  assert_int_equal(cf_time_parse_duration("P1DT2H3M4.789S", 14, &d), CF_OK);
  assert_int_equal(d.secs, 86400 + 2 * 3600 + 3 * 60 + 4);
  assert_int_equal(d.nanos, 789000000);
  assert_int_equal(cf_time_parse_duration("-PT1.5S", 7, &d), CF_OK);
  assert_int_equal(d.secs, -1);
  assert_int_equal(d.nanos, -500000000);
  assert_int_equal(cf_time_parse_duration("P2W", 3, &d), CF_OK);
  assert_int_equal(d.secs, 14 * 86400);
  assert_int_equal(cf_time_parse_duration("PT0.S", 5, &d), CF_OK);
  assert_int_equal(d.secs, 0);
  /* Malformed: no part, T without part, misplaced or repeated designators, odd fractions. */
  const char *bad[] = {"P", "PT", "P1DT", "P1H", "P1S", "PT1D", "P1M1Y", "P1D1D", "PT1.5H", "P0",
                       "1D", "P-1D", "PT1H2", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(cf_time_parse_duration(bad[i], strlen(bad[i]), &d), CF_EINVAL);
  assert_int_equal(cf_time_parse_duration("PT99999999999999999999S", 23, &d), CF_ERANGE);
  assert_int_equal(cf_time_parse_duration("P999999999999999999D", 20, &d), CF_ERANGE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(day_numbers_of_known_dates),
      cmocka_unit_test(round_trip_over_the_whole_range),
      cmocka_unit_test(leap_years_and_month_lengths),
      cmocka_unit_test(weekdays_and_iso_weeks),
      cmocka_unit_test(nth_weekday_as_posix_rules_say),
      cmocka_unit_test(parse_dates),
      cmocka_unit_test(parse_clocks_and_offsets),
      cmocka_unit_test(parse_durations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
