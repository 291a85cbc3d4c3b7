/*
 * test_crm.c's cases (records, unique values, history and its erasure,
 * record types, triggers, enrollments, CRM timers and state, writes joining
 * the caller's transaction, record searches) on the PostgreSQL backend
 * (src/store/store_pg_crm.c, store_pg_search.c), through pg_fixture.h: the
 * same source, the same assertions. Left out: a_schema_5_database_is_migrated,
 * which writes SQLite's own schema.
 */
#include "pg_fixture.h"

#pragma GCC diagnostic ignored "-Wunused-function"
#define main sqlite_cases_main
#include "test_crm.c"
#undef main

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(records_are_versioned),
      cmocka_unit_test(unique_values_are_claimed_per_type),
      cmocka_unit_test(history_is_kept_in_order_and_erased),
      cmocka_unit_test(record_types_are_upserted),
      cmocka_unit_test(triggers_have_unique_names_and_take_their_rows_along),
      cmocka_unit_test(enrollments_count_and_see_active_instances),
      cmocka_unit_test(crm_timers_fire_in_due_order),
      cmocka_unit_test(crm_state_is_put_and_read),
      cmocka_unit_test(writes_join_the_callers_transaction),
      cmocka_unit_test(records_are_searched_by_their_fields),
      cmocka_unit_test(records_are_sorted_and_paged),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
