/* Unit tests of src/base/cf_tz.c: IANA zones from the system's TZif files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/cf_alloc.h"
#include "base/cf_time.h"
#include "base/cf_tz.h"

static const struct cf_tz *find(const char *name) { return cf_tz_find(name, strlen(name)); }

/* UTC seconds of a civil date and time. */
static int64_t utc(int64_t y, unsigned mo, unsigned d, unsigned h, unsigned mi) {
  return cf_time_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

static void utc_names_always_resolve(void **state) {
  const char *names[] = {"UTC", "Z", "GMT", "Etc/UTC"};
  for (size_t i = 0; i < 4; i++) {
    const struct cf_tz *tz = find(names[i]);
    assert_non_null(tz);
    assert_string_equal(cf_tz_name(tz), names[i]);
    assert_int_equal(cf_tz_offset_at(tz, utc(2024, 7, 1, 12, 0)), 0);
    assert_int_equal(cf_tz_offset_for_local(tz, utc(2024, 7, 1, 12, 0)), 0);
  }
}

static void same_name_same_zone(void **state) {
  const struct cf_tz *a = find("Europe/Paris");
  assert_non_null(a);
  assert_ptr_equal(find("Europe/Paris"), a);
  assert_ptr_equal(cf_tz_find("Europe/Paris/x", 12), a); /* len bounds the name */
  assert_string_equal(cf_tz_name(a), "Europe/Paris");
}

static void unsafe_or_unknown_names_are_refused(void **state) {
  const char *names[] = {"../etc/passwd", "/etc/localtime", "Europe/../Europe/Paris",
                         "Europe//Paris", "Europe/Paris ", "xyz/abc", "", "Europe", "zone.tab",
                         "Europe/Paris\n", "Europe/"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    assert_null(find(names[i]));
  assert_null(cf_tz_find(NULL, 0));
  assert_null(cf_tz_find("Europe/Paris\0x", 14));
}

static void paris_summer_and_winter(void **state) {
  const struct cf_tz *tz = find("Europe/Paris");
  assert_int_equal(cf_tz_offset_at(tz, utc(2021, 1, 15, 12, 0)), 3600);
  assert_int_equal(cf_tz_offset_at(tz, utc(2021, 7, 15, 12, 0)), 7200);
  /* 2021-03-28 01:00Z the clocks went from 02:00 to 03:00. */
  assert_int_equal(cf_tz_offset_at(tz, utc(2021, 3, 28, 0, 59)), 3600);
  assert_int_equal(cf_tz_offset_at(tz, utc(2021, 3, 28, 1, 0)), 7200);
  /* Far beyond the table (2037): the footer rule keeps DST going. */
  assert_int_equal(cf_tz_offset_at(tz, utc(2100, 7, 1, 0, 0)), 7200);
  assert_int_equal(cf_tz_offset_at(tz, utc(2100, 12, 1, 0, 0)), 3600);
  assert_int_equal(cf_tz_offset_at(tz, utc(999999999, 7, 1, 0, 0)), 7200);
  /* Before 1911 Paris kept its local mean time, +00:09:21. */
  assert_int_equal(cf_tz_offset_at(tz, utc(1800, 1, 1, 0, 0)), 561);
}

static void southern_hemisphere_rule(void **state) {
  const struct cf_tz *tz = find("Australia/Melbourne");
  assert_non_null(tz);
  assert_int_equal(cf_tz_offset_at(tz, utc(2021, 1, 1, 0, 0)), 11 * 3600);
  assert_int_equal(cf_tz_offset_at(tz, utc(2021, 7, 1, 0, 0)), 10 * 3600);
  assert_int_equal(cf_tz_offset_at(tz, utc(2200, 1, 1, 0, 0)), 11 * 3600);
  assert_int_equal(cf_tz_offset_at(tz, utc(2200, 7, 1, 0, 0)), 10 * 3600);
}

static void local_times_in_gaps_and_overlaps(void **state) {
  const struct cf_tz *tz = find("Europe/Paris");
  /* 02:30 on 2021-03-28 does not exist: the offset before the gap. */
  assert_int_equal(cf_tz_offset_for_local(tz, utc(2021, 3, 28, 2, 30)), 3600);
  assert_int_equal(cf_tz_offset_for_local(tz, utc(2021, 3, 28, 3, 30)), 7200);
  /* 02:30 on 2021-10-31 happens twice: the earlier, summer offset. */
  assert_int_equal(cf_tz_offset_for_local(tz, utc(2021, 10, 31, 2, 30)), 7200);
  assert_int_equal(cf_tz_offset_for_local(tz, utc(2021, 10, 31, 3, 30)), 3600);
  /* The same beyond the table, from the footer rule. */
  assert_int_equal(cf_tz_offset_for_local(tz, utc(2100, 3, 28, 2, 30)), 3600);
  assert_int_equal(cf_tz_offset_for_local(tz, utc(2100, 10, 31, 2, 30)), 7200);
  const struct cf_tz *ny = find("America/New_York");
  assert_non_null(ny);
  assert_int_equal(cf_tz_offset_for_local(ny, utc(2024, 7, 4, 12, 0)), -4 * 3600);
  assert_int_equal(cf_tz_offset_for_local(ny, utc(2024, 12, 25, 12, 0)), -5 * 3600);
}

static void fixed_offset_zones(void **state) {
  /* POSIX-style names count west: Etc/GMT+5 is five hours behind UTC. */
  const struct cf_tz *tz = find("Etc/GMT+5");
  assert_non_null(tz);
  assert_int_equal(cf_tz_offset_at(tz, utc(2024, 1, 1, 0, 0)), -5 * 3600);
  assert_int_equal(cf_tz_offset_at(find("Asia/Kolkata"), utc(2024, 1, 1, 0, 0)), 19800);
}

/* Out of memory while loading: no zone, no leak (ASan), and a later call loads it. */
static void loading_survives_out_of_memory(void **state) {
  for (long n = 0; n < 10; n++) {
    cf_alloc_fail_after(n);
    const struct cf_tz *tz = find("America/Sao_Paulo");
    cf_alloc_fail_reset();
    if (tz) {
      assert_int_equal(cf_tz_offset_at(tz, utc(2024, 1, 1, 0, 0)), -3 * 3600);
      return;
    }
  }
  fail_msg("America/Sao_Paulo did not load even with allocations allowed");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(utc_names_always_resolve),
      cmocka_unit_test(same_name_same_zone),
      cmocka_unit_test(unsafe_or_unknown_names_are_refused),
      cmocka_unit_test(paris_summer_and_winter),
      cmocka_unit_test(southern_hemisphere_rule),
      cmocka_unit_test(local_times_in_gaps_and_overlaps),
      cmocka_unit_test(fixed_offset_zones),
      cmocka_unit_test(loading_survives_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
