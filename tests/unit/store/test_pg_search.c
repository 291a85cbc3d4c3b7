/*
 * test_search.c's cases (every operator, LIKE, variables, candidate lists,
 * OR groups, sorts and pages, refusals, values never becoming SQL, rows with
 * their process, a reader's search, out of memory at each allocation) on the
 * PostgreSQL backend (src/store/store_pg_search.c), through pg_fixture.h:
 * the same source, the same assertions, every case.
 */
#include "pg_fixture.h"

#define main sqlite_cases_main
#include "test_search.c"
#undef main

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_operator_on_columns),
      cmocka_unit_test(like_is_case_sensitive_and_escapes),
      cmocka_unit_test(variables_compare_json_text_and_numbers),
      cmocka_unit_test(candidate_lists_hold_the_value),
      cmocka_unit_test(or_groups),
      cmocka_unit_test(sort_and_pages),
      cmocka_unit_test(unknown_fields_and_wrong_operators_are_refused),
      cmocka_unit_test(values_never_become_sql),
      cmocka_unit_test(rows_carry_their_process),
      cmocka_unit_test(definitions_latest),
      cmocka_unit_test(jobs_filter_through_their_instance),
      cmocka_unit_test(task_and_incident_by_key),
      cmocka_unit_test(many_shapes_through_the_cache),
      cmocka_unit_test(a_reader_searches),
      cmocka_unit_test(out_of_memory_anywhere_in_a_search),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
