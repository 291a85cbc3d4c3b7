/*
 * Unit tests of src/store/store_sqlite_auth.c: the principals of the API
 * (tokens, users, groups) through the store's table of operations, and
 * migration 5 that made their tables, on databases in a temporary folder.
 *
 * What a user would notice: two principals of one name, a token that still
 * works after its user was deleted, a deleted group still granting access
 * through a user's groups, a role that does not exist accepted, and a
 * database of the previous schema that no longer opens.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/cf_alloc.h"
#include "store/cf_store.h"
#include "store/store_int.h"

#define FIXTURE_NAME "cf_auth_test"
#include "store_fixture.h"

static struct cf_store_token token(const char *name, const char *role, const char *user,
                                   const char *hash) {
  return (struct cf_store_token){.name = (char *)name, .role = (char *)role, .user = (char *)user,
                                 .hash = (char *)hash, .created_ms = 100};
}

static struct cf_store_user user(const char *name, const char *role, const char *groups) {
  return (struct cf_store_user){.name = (char *)name, .display_name = (char *)"Someone",
                                .role = (char *)role, .password_hash = (char *)"$argon2id$x",
                                .groups = (char *)groups, .created_ms = 200};
}

/* The names of the tokens listed, space-separated. */
static void expect_tokens(struct cf_store *s, const char *names) {
  struct cf_store_token *t = NULL;
  size_t n = 99;
  struct cf_error err = {0};
  ok(O->token_list(s, &t, &n, &err), &err);
  char got[256] = "";
  for (size_t i = 0; i < n; i++) {
    snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? " " : "", t[i].name);
    cf_store_token_release(&t[i]);
  }
  cf_free(t);
  assert_string_equal(got, names);
}

/* ------------------------------------------------------------ tokens */

static void tokens_are_found_by_hash_and_unique(void **state) {
  (void)state;
  struct cf_store *s = open_db("tokens.db", CF_STORE_FAST);
  struct cf_error err = {0};
  struct cf_store_token t = token("ci", "worker", NULL, "aa11");
  ok(O->token_insert(s, &t, &err), &err);
  t = token("admin-1", "admin", NULL, "bb22");
  ok(O->token_insert(s, &t, &err), &err);
  /* A taken name; a taken secret. */
  t = token("ci", "viewer", NULL, "cc33");
  assert_int_equal(O->token_insert(s, &t, &err), CF_ECONFLICT);
  has(&err, "'ci'");
  t = token("other", "viewer", NULL, "aa11");
  assert_int_equal(O->token_insert(s, &t, &err), CF_ECONFLICT);
  has(&err, "secret");
  /* A role that does not exist; a user that does not exist; no hash. */
  t = token("x", "root", NULL, "dd44");
  assert_int_equal(O->token_insert(s, &t, &err), CF_EINVAL);
  has(&err, "'root'");
  t = token("x", "agent", "nobody", "dd44");
  assert_int_equal(O->token_insert(s, &t, &err), CF_EINVAL);
  has(&err, "'nobody'");
  t = token("x", "agent", NULL, NULL);
  assert_int_equal(O->token_insert(s, &t, &err), CF_EINVAL);
  t = token("", "agent", NULL, "ee55");
  assert_int_equal(O->token_insert(s, &t, &err), CF_EINVAL);
  expect_tokens(s, "admin-1 ci");

  struct cf_store_token got;
  ok(O->token_by_hash(s, "aa11", &got, &err), &err);
  assert_string_equal(got.name, "ci");
  assert_string_equal(got.role, "worker");
  assert_null(got.user);
  assert_int_equal(got.created_ms, 100);
  cf_store_token_release(&got);
  got.name = (char *)"untouched";
  assert_int_equal(O->token_by_hash(s, "AA11", &got, &err), CF_ENOTFOUND);
  assert_string_equal(got.name, "untouched");

  ok(O->token_delete(s, "ci", &err), &err);
  assert_int_equal(O->token_delete(s, "ci", &err), CF_ENOTFOUND);
  has(&err, "'ci'");
  assert_int_equal(O->token_by_hash(s, "aa11", &got, &err), CF_ENOTFOUND);
  expect_tokens(s, "admin-1");
  O->close(s);
}

/* ------------------------------------------------------------ users */

static void users_create_update_and_delete_with_their_tokens(void **state) {
  (void)state;
  struct cf_store *s = open_db("users.db", CF_STORE_FAST);
  struct cf_error err = {0};
  struct cf_store_user u = user("carol", "agent", "[\"sales\"]");
  ok(O->user_put(s, &u, true, &err), &err);
  u = user("bob", "viewer", NULL);
  u.display_name = NULL;
  u.password_hash = NULL;
  ok(O->user_put(s, &u, true, &err), &err);
  assert_int_equal(O->user_put(s, &u, true, &err), CF_ECONFLICT);
  has(&err, "'bob'");
  /* Bad roles and groups. */
  const char *bad_groups[] = {"{}", "[1]", "[\"a\", null]", "sales", "[\"a\""};
  for (size_t i = 0; i < sizeof bad_groups / sizeof bad_groups[0]; i++) {
    u = user("dave", "agent", bad_groups[i]);
    assert_int_equal(O->user_put(s, &u, true, &err), CF_EINVAL);
    has(&err, "groups");
  }
  u = user("dave", "superuser", "[]");
  assert_int_equal(O->user_put(s, &u, true, &err), CF_EINVAL);
  has(&err, "'superuser'");
  u = user("dave", "agent", "[]");
  assert_int_equal(O->user_put(s, &u, false, &err), CF_ENOTFOUND);
  has(&err, "'dave'");

  struct cf_store_user got;
  ok(O->user_get(s, "bob", &got, &err), &err);
  assert_string_equal(got.role, "viewer");
  assert_string_equal(got.groups, "[]");
  assert_null(got.display_name);
  assert_null(got.password_hash);
  cf_store_user_release(&got);
  assert_int_equal(O->user_get(s, "dave", &got, &err), CF_ENOTFOUND);

  /* An update replaces the fields but keeps when the user was created. */
  u = user("carol", "designer", "[\"sales\",\"ops\"]");
  u.display_name = (char *)"Carol C.";
  u.created_ms = 999;
  ok(O->user_put(s, &u, false, &err), &err);
  ok(O->user_get(s, "carol", &got, &err), &err);
  assert_string_equal(got.role, "designer");
  assert_string_equal(got.display_name, "Carol C.");
  assert_string_equal(got.groups, "[\"sales\",\"ops\"]");
  assert_int_equal(got.created_ms, 200);
  cf_store_user_release(&got);

  struct cf_store_user *list = NULL;
  size_t n = 0;
  ok(O->user_list(s, &list, &n, &err), &err);
  assert_int_equal(n, 2);
  assert_string_equal(list[0].name, "bob");
  assert_string_equal(list[1].name, "carol");
  for (size_t i = 0; i < n; i++) cf_store_user_release(&list[i]);
  cf_free(list);

  /* Deleting a user deletes the tokens that act as that user, and only those. */
  struct cf_store_token t = token("carol-cli", "agent", "carol", "h1");
  ok(O->token_insert(s, &t, &err), &err);
  t = token("carol-ci", "worker", "carol", "h2");
  ok(O->token_insert(s, &t, &err), &err);
  t = token("bob-cli", "viewer", "bob", "h3");
  ok(O->token_insert(s, &t, &err), &err);
  t = token("ci", "worker", NULL, "h4");
  ok(O->token_insert(s, &t, &err), &err);
  ok(O->user_delete(s, "carol", &err), &err);
  expect_tokens(s, "bob-cli ci");
  struct cf_store_token gt;
  assert_int_equal(O->token_by_hash(s, "h1", &gt, &err), CF_ENOTFOUND);
  assert_int_equal(O->user_delete(s, "carol", &err), CF_ENOTFOUND);
  has(&err, "'carol'");
  assert_int_equal(O->user_get(s, "carol", &got, &err), CF_ENOTFOUND);
  O->close(s);
}

/* ------------------------------------------------------------ groups */

static void deleting_a_group_takes_it_from_every_user(void **state) {
  (void)state;
  struct cf_store *s = open_db("groups.db", CF_STORE_FAST);
  struct cf_error err = {0};
  struct cf_store_group g = {.name = (char *)"sales", .display_name = (char *)"Sales", .created_ms = 5};
  ok(O->group_put(s, &g, true, &err), &err);
  assert_int_equal(O->group_put(s, &g, true, &err), CF_ECONFLICT);
  has(&err, "'sales'");
  g = (struct cf_store_group){.name = (char *)"ops", .created_ms = 6};
  ok(O->group_put(s, &g, true, &err), &err);
  g = (struct cf_store_group){.name = (char *)"hr"};
  assert_int_equal(O->group_put(s, &g, false, &err), CF_ENOTFOUND);
  g = (struct cf_store_group){.name = (char *)"ops", .display_name = (char *)"Operations"};
  ok(O->group_put(s, &g, false, &err), &err);
  struct cf_store_group got;
  ok(O->group_get(s, "ops", &got, &err), &err);
  assert_string_equal(got.display_name, "Operations");
  assert_int_equal(got.created_ms, 6);
  cf_store_group_release(&got);
  assert_int_equal(O->group_get(s, "hr", &got, &err), CF_ENOTFOUND);

  struct cf_store_user u = user("ann", "agent", "[\"ops\",\"sales\",\"x\"]");
  ok(O->user_put(s, &u, true, &err), &err);
  u = user("ben", "agent", "[\"sales\"]");
  ok(O->user_put(s, &u, true, &err), &err);
  u = user("cid", "agent", "[\"ops\"]");
  ok(O->user_put(s, &u, true, &err), &err);
  ok(O->group_delete(s, "sales", &err), &err);
  const char *expect[][2] = {{"ann", "[\"ops\",\"x\"]"}, {"ben", "[]"}, {"cid", "[\"ops\"]"}};
  struct cf_store_user uu;
  for (int i = 0; i < 3; i++) {
    ok(O->user_get(s, expect[i][0], &uu, &err), &err);
    assert_string_equal(uu.groups, expect[i][1]);
    cf_store_user_release(&uu);
  }
  assert_int_equal(O->group_delete(s, "sales", &err), CF_ENOTFOUND);
  has(&err, "'sales'");

  struct cf_store_group *list = NULL;
  size_t n = 0;
  ok(O->group_list(s, &list, &n, &err), &err);
  assert_int_equal(n, 1);
  assert_string_equal(list[0].name, "ops");
  cf_store_group_release(&list[0]);
  cf_free(list);
  O->close(s);
}

/* ------------------------------------------------------------ transactions, handles, migration */

static void writes_join_the_callers_transaction(void **state) {
  (void)state;
  struct cf_store *s = open_db("tx.db", CF_STORE_FAST);
  struct cf_error err = {0};
  ok(O->begin(s, &err), &err);
  struct cf_store_user u = user("eve", "admin", "[]");
  ok(O->user_put(s, &u, true, &err), &err);
  /* A failed call inside leaves the transaction usable. */
  assert_int_equal(O->user_delete(s, "nobody", &err), CF_ENOTFOUND);
  struct cf_store_token t = token("eve-cli", "admin", "eve", "e1");
  ok(O->token_insert(s, &t, &err), &err);
  O->rollback(s);
  struct cf_store_user got;
  assert_int_equal(O->user_get(s, "eve", &got, &err), CF_ENOTFOUND);
  expect_tokens(s, "");
  ok(O->user_put(s, &u, true, &err), &err);

  /* A reader reads principals and writes none. */
  struct cf_store *r = NULL;
  const struct cf_store_ops *ops = NULL;
  ok(cf_store_open(db_path("tx.db"), CF_STORE_READONLY, &ops, &r, &err), &err);
  ok(ops->user_get(r, "eve", &got, &err), &err);
  cf_store_user_release(&got);
  assert_int_equal(ops->token_insert(r, &t, &err), CF_EINVAL);
  has(&err, "read-only");
  assert_int_equal(ops->group_delete(r, "x", &err), CF_EINVAL);
  ops->close(r);
  O->close(s);
}

/*
 * A database of schema 4 (before principals) opens under this build: migration 5 adds the tables,
 * its data stays; a reader asks for a writer to upgrade it first.
 */
static void a_schema_4_database_is_migrated(void **state) {
  (void)state;
  struct cf_error err = {0};
  struct cf_store *s = open_db("v4.db", CF_STORE_FAST);
  struct cf_store_instance i = {.key = 100, .definition_key = 7, .process_id = (char *)"order",
                                .version = 1, .started_ms = 1, .row_version = 1,
                                .variables = (char *)"{\"a\":1}"};
  struct cf_store_user_task t = {.key = 200, .element_id = (char *)"review", .priority = 50,
                                 .candidate_groups = (char *)"[\"sales\"]"};
  struct cf_store_instance_rows rows = {.tasks = &t, .ntasks = 1};
  ok(O->instance_insert(s, &i, &rows, &err), &err);
  ok(cf__store_sqlite_exec(s,
                           "DROP TABLE api_tokens; DROP TABLE users; DROP TABLE crm_groups;"
                           /* and migration 6's */
                           " DROP TABLE records; DROP TABLE record_unique; DROP TABLE record_changes;"
                           " DROP TABLE record_types; DROP TABLE triggers; DROP TABLE trigger_enrollments;"
                           " DROP TABLE crm_timers; DROP TABLE crm_state;"
                           " UPDATE schema_version SET version = 4;",
                           &err),
     &err);
  O->close(s);

  const struct cf_store_ops *ops = NULL;
  struct cf_store *r = NULL;
  assert_int_equal(cf_store_open(db_path("v4.db"), CF_STORE_READONLY, &ops, &r, &err), CF_EUNSUPPORTED);
  has(&err, "schema 4");
  has(&err, "open it once for writing");

  s = open_db("v4.db", CF_STORE_FAST);
  struct cf_store_user_task got;
  ok(O->task_get(s, 200, &got, &err), &err);
  assert_string_equal(got.process_id, "order");
  cf_store_user_task_release(&got);
  struct cf_store_user u = user("ann", "agent", "[\"sales\"]");
  ok(O->user_put(s, &u, true, &err), &err);
  O->close(s);
  /* Once: opening again migrates nothing and keeps the principals; a reader opens it now. */
  s = open_db("v4.db", CF_STORE_FAST);
  struct cf_store_user gu;
  ok(O->user_get(s, "ann", &gu, &err), &err);
  cf_store_user_release(&gu);
  ok(cf_store_open(db_path("v4.db"), CF_STORE_READONLY, &ops, &r, &err), &err);
  ok(ops->user_get(r, "ann", &gu, &err), &err);
  cf_store_user_release(&gu);
  ops->close(r);
  O->close(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tokens_are_found_by_hash_and_unique),
      cmocka_unit_test(users_create_update_and_delete_with_their_tokens),
      cmocka_unit_test(deleting_a_group_takes_it_from_every_user),
      cmocka_unit_test(writes_join_the_callers_transaction),
      cmocka_unit_test(a_schema_4_database_is_migrated),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
