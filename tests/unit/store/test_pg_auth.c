/*
 * test_auth.c's cases (the principals: tokens, users, groups, and their
 * writes joining the caller's transaction) on the PostgreSQL backend
 * (src/store/store_pg_auth.c), through pg_fixture.h: the same source, the
 * same assertions. Left out: a_schema_4_database_is_migrated, which writes
 * SQLite's own schema.
 */
#include "pg_fixture.h"

#pragma GCC diagnostic ignored "-Wunused-function"
#define main sqlite_cases_main
#include "test_auth.c"
#undef main

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tokens_are_found_by_hash_and_unique),
      cmocka_unit_test(users_create_update_and_delete_with_their_tokens),
      cmocka_unit_test(deleting_a_group_takes_it_from_every_user),
      cmocka_unit_test(writes_join_the_callers_transaction),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
