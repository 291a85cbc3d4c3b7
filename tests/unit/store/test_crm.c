/*
 * Unit tests of src/store/store_sqlite_crm.c and the records' searches of
 * store_sqlite_search.c: the CRM layer's storage through the store's table
 * of operations, and migration 6 that made its tables, on databases in a
 * temporary folder.
 *
 * What a user would notice: an update that silently overwrote someone
 * else's, two leads with one e-mail address, a deleted record still holding
 * its address, a history out of order or still showing erased personal data,
 * two triggers of one name, a deleted trigger still firing, a process started
 * twice for a record while one runs, a timer fired early, late or twice, a
 * search that finds the wrong records or sorts them wrongly, and a database
 * of the previous schema that no longer opens.
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

#define FIXTURE_NAME "cf_crm_test"
#include "store_fixture.h"

static struct cf_store_record record(uint64_t key, const char *type, const char *fields) {
  return (struct cf_store_record){.key = key, .type = (char *)type, .version = 1,
                                  .fields = (char *)fields, .created_ms = 100, .updated_ms = 100,
                                  .created_by = (char *)"api:ann", .updated_by = (char *)"api:ann"};
}

static void insert(struct cf_store *s, uint64_t key, const char *type, const char *fields) {
  struct cf_error err = {0};
  struct cf_store_record r = record(key, type, fields);
  ok(O->record_insert(s, &r, &err), &err);
}

static void change(struct cf_store *s, uint64_t key, int64_t at, const char *kind,
                   const char *changes) {
  struct cf_error err = {0};
  struct cf_store_record_change c = {.record_key = key, .type = (char *)"lead", .at_ms = at,
                                     .by = (char *)"api:ann", .kind = (char *)kind,
                                     .changes = (char *)changes};
  ok(O->record_change_append(s, &c, &err), &err);
}

/* A record's history: "kind changes|kind changes" oldest first. */
static void expect_history(struct cf_store *s, uint64_t key, const char *want) {
  struct cf_error err = {0};
  struct cf_store_record_change *c = NULL;
  size_t n = 99;
  ok(O->record_history(s, key, &c, &n, &err), &err);
  char got[2048] = "";
  for (size_t i = 0; i < n; i++)
    snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s %s", i ? "|" : "", c[i].kind,
             c[i].changes);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(c[i].record_key, key);
    cf_store_record_change_release(&c[i]);
  }
  cf_free(c);
  if (strcmp(got, want)) fail_msg("history of %llu: expected [%s], got [%s]", (unsigned long long)key,
                                  want, got);
}

static void claim(struct cf_store *s, const char *type, const char *field, const char *value,
                  uint64_t key) {
  struct cf_error err = {0};
  ok(O->record_unique(s, type, field, value, key, &err), &err);
}

static void set_timer(struct cf_store *s, uint64_t trigger, uint64_t rec, int64_t due) {
  struct cf_error err = {0};
  struct cf_store_crm_timer t = {.trigger_key = trigger, .record_key = rec,
                                 .record_type = (char *)"lead", .due_ms = due};
  ok(O->crm_timer_set(s, &t, &err), &err);
}

/* The due timers: "trigger/record@due ..." earliest first. */
static void expect_due(struct cf_store *s, int64_t now, size_t max, const char *want) {
  struct cf_error err = {0};
  struct cf_store_crm_timer *t = NULL;
  size_t n = 99;
  ok(O->crm_timers_due(s, now, max, &t, &n, &err), &err);
  char got[512] = "";
  for (size_t i = 0; i < n; i++) {
    snprintf(got + strlen(got), sizeof got - strlen(got), "%s%llu/%llu@%lld", i ? " " : "",
             (unsigned long long)t[i].trigger_key, (unsigned long long)t[i].record_key,
             (long long)t[i].due_ms);
    assert_string_equal(t[i].record_type, "lead");
    cf_store_crm_timer_release(&t[i]);
  }
  cf_free(t);
  if (strcmp(got, want)) fail_msg("due at %lld: expected [%s], got [%s]", (long long)now, want, got);
}

static void expect_enrolled(struct cf_store *s, uint64_t trigger, uint64_t rec, size_t count,
                            bool active) {
  struct cf_error err = {0};
  size_t n = 99;
  bool a = !active;
  ok(O->enrollment_find(s, trigger, rec, &n, &a, &err), &err);
  assert_int_equal(n, count);
  assert_int_equal(a, active);
}

/* ------------------------------------------------------------ records */

static void records_are_versioned(void **state) {
  (void)state;
  struct cf_store *s = open_db("records.db", CF_STORE_FAST);
  struct cf_error err = {0};
  insert(s, 10, "lead", "{\"name\":\"Ann\",\"score\":42}");
  struct cf_store_record r = record(10, "lead", "{}");
  assert_int_equal(O->record_insert(s, &r, &err), CF_ECONFLICT);
  has(&err, "key 10");

  struct cf_store_record got;
  ok(O->record_get(s, "lead", 10, &got, &err), &err);
  assert_string_equal(got.type, "lead");
  assert_string_equal(got.fields, "{\"name\":\"Ann\",\"score\":42}");
  assert_int_equal(got.version, 1);
  assert_string_equal(got.created_by, "api:ann");
  cf_store_record_release(&got);
  /* A key is one type's: asked as another, there is none. */
  assert_int_equal(O->record_get(s, "order", 10, &got, &err), CF_ENOTFOUND);

  /* An update from version 1 makes 2; a second one from 1 lost the race and changes nothing. */
  struct cf_store_record u = {.key = 10, .type = (char *)"lead", .fields = (char *)"{\"name\":\"Anna\"}",
                              .updated_ms = 200, .updated_by = (char *)"api:bob"};
  ok(O->record_update(s, &u, 1, &err), &err);
  u.fields = (char *)"{\"name\":\"Lost\"}";
  assert_int_equal(O->record_update(s, &u, 1, &err), CF_ECONFLICT);
  has(&err, "version 2");
  ok(O->record_get(s, "lead", 10, &got, &err), &err);
  assert_string_equal(got.fields, "{\"name\":\"Anna\"}");
  assert_int_equal(got.version, 2);
  assert_int_equal(got.created_ms, 100);
  assert_int_equal(got.updated_ms, 200);
  assert_string_equal(got.created_by, "api:ann");
  assert_string_equal(got.updated_by, "api:bob");
  cf_store_record_release(&got);
  u.key = 99;
  assert_int_equal(O->record_update(s, &u, 1, &err), CF_ENOTFOUND);
  u.key = 10;
  u.type = (char *)"order";
  assert_int_equal(O->record_update(s, &u, 2, &err), CF_ENOTFOUND);

  /* Fields are a JSON object, by SQLite's reading (searches read them so). */
  r = record(11, "lead", "[1,2]");
  assert_int_equal(O->record_insert(s, &r, &err), CF_EINVAL);
  has(&err, "JSON object");
  r.fields = (char *)"{\"a\":";
  assert_int_equal(O->record_insert(s, &r, &err), CF_EINVAL);
  r.fields = NULL;
  assert_int_equal(O->record_insert(s, &r, &err), CF_EINVAL);
  r = record(0, "lead", "{}");
  assert_int_equal(O->record_insert(s, &r, &err), CF_EINVAL);
  r = record(11, "", "{}");
  assert_int_equal(O->record_insert(s, &r, &err), CF_EINVAL);
  assert_int_equal(O->record_get(s, "lead", 11, &got, &err), CF_ENOTFOUND);

  assert_int_equal(O->record_delete(s, "order", 10, &err), CF_ENOTFOUND);
  ok(O->record_delete(s, "lead", 10, &err), &err);
  assert_int_equal(O->record_get(s, "lead", 10, &got, &err), CF_ENOTFOUND);
  assert_int_equal(O->record_delete(s, "lead", 10, &err), CF_ENOTFOUND);
  has(&err, "10");
  O->close(s);
}

static void unique_values_are_claimed_per_type(void **state) {
  (void)state;
  struct cf_store *s = open_db("unique.db", CF_STORE_FAST);
  struct cf_error err = {0};
  insert(s, 10, "lead", "{}");
  insert(s, 11, "lead", "{}");
  insert(s, 12, "lead", "{}");
  claim(s, "lead", "email", "a@x", 10);
  assert_int_equal(O->record_unique(s, "lead", "email", "a@x", 11, &err), CF_ECONFLICT);
  has(&err, "10");
  has(&err, "a@x");
  /* The holder claiming it again is no conflict; another type or field is another space. */
  claim(s, "lead", "email", "a@x", 10);
  claim(s, "contact", "email", "a@x", 11);
  claim(s, "lead", "phone", "a@x", 11);

  /* A new value gives up the old one: a@x is free for 11. */
  claim(s, "lead", "email", "b@x", 10);
  claim(s, "lead", "email", "a@x", 11);
  assert_int_equal(O->record_unique(s, "lead", "email", "b@x", 12, &err), CF_ECONFLICT);
  /* Released (NULL): free for another. Releasing what is not held is no error. */
  ok(O->record_unique(s, "lead", "email", NULL, 10, &err), &err);
  ok(O->record_unique(s, "lead", "email", NULL, 10, &err), &err);
  claim(s, "lead", "email", "b@x", 12);

  /* A deleted record's values are free again, every field of them. */
  assert_int_equal(O->record_unique(s, "lead", "phone", "a@x", 12, &err), CF_ECONFLICT);
  ok(O->record_delete(s, "lead", 11, &err), &err);
  claim(s, "lead", "email", "a@x", 12);
  claim(s, "lead", "phone", "a@x", 12);
  /* The contact's claim of 11 went with it too (claims are the record's, whatever the type). */
  claim(s, "contact", "email", "a@x", 10);

  assert_int_equal(O->record_unique(s, "lead", "", "v", 10, &err), CF_EINVAL);
  assert_int_equal(O->record_unique(s, "lead", "email", "v", 0, &err), CF_EINVAL);
  O->close(s);
}

static void history_is_kept_in_order_and_erased(void **state) {
  (void)state;
  struct cf_store *s = open_db("history.db", CF_STORE_FAST);
  struct cf_error err = {0};
  insert(s, 10, "lead", "{}");
  change(s, 10, 300, "create",
         "{\"email\":{\"to\":\"a@x\"},\"name\":{\"to\":\"Ann\"},\"big\":{\"to\":12345678901234567890}}");
  /* Appended out of time order: the order of appending is the history's. */
  change(s, 10, 200, "update", "{\"email\":{\"from\":\"a@x\",\"to\":\"b@x\"},\"vip\":{\"from\":false,\"to\":true}}");
  change(s, 11, 250, "create", "{\"email\":{\"to\":\"a@x\"}}");
  change(s, 10, 400, "update", "{\"name\":{\"from\":\"Ann\",\"to\":\"Anna\"}}");
  expect_history(s, 10,
                 "create {\"email\":{\"to\":\"a@x\"},\"name\":{\"to\":\"Ann\"},\"big\":{\"to\":12345678901234567890}}"
                 "|update {\"email\":{\"from\":\"a@x\",\"to\":\"b@x\"},\"vip\":{\"from\":false,\"to\":true}}"
                 "|update {\"name\":{\"from\":\"Ann\",\"to\":\"Anna\"}}");

  /* Erasing: the named fields' values, in every change of the record, and nothing else. */
  ok(O->record_history_erase(s, 10, "[\"email\",\"name\",\"absent\"]", "[erased]", &err), &err);
  expect_history(s, 10,
                 "create {\"email\":{\"to\":\"[erased]\"},\"name\":{\"to\":\"[erased]\"},\"big\":{\"to\":12345678901234567890}}"
                 "|update {\"email\":{\"from\":\"[erased]\",\"to\":\"[erased]\"},\"vip\":{\"from\":false,\"to\":true}}"
                 "|update {\"name\":{\"from\":\"[erased]\",\"to\":\"[erased]\"}}");
  expect_history(s, 11, "create {\"email\":{\"to\":\"a@x\"}}");

  struct cf_store_record_change *c = NULL;
  size_t n = 0;
  ok(O->record_history(s, 10, &c, &n, &err), &err);
  assert_int_equal(n, 3);
  assert_int_equal(c[0].at_ms, 300);
  assert_int_equal(c[1].at_ms, 200);
  assert_string_equal(c[0].by, "api:ann");
  assert_string_equal(c[0].type, "lead");
  for (size_t i = 0; i < n; i++) cf_store_record_change_release(&c[i]);
  cf_free(c);

  /* The history outlives the record. */
  ok(O->record_delete(s, "lead", 10, &err), &err);
  change(s, 10, 500, "delete", NULL);
  ok(O->record_history(s, 10, &c, &n, &err), &err);
  assert_int_equal(n, 4);
  assert_string_equal(c[3].kind, "delete");
  assert_string_equal(c[3].changes, "{}");
  for (size_t i = 0; i < n; i++) cf_store_record_change_release(&c[i]);
  cf_free(c);
  ok(O->record_history(s, 77, &c, &n, &err), &err);
  assert_int_equal(n, 0);
  assert_null(c);

  /* Refused: fields not an array of names, a name SQLite's paths cannot say, changes not an object. */
  assert_int_equal(O->record_history_erase(s, 11, "\"email\"", "x", &err), CF_EINVAL);
  assert_int_equal(O->record_history_erase(s, 11, "[1]", "x", &err), CF_EINVAL);
  assert_int_equal(O->record_history_erase(s, 11, "[\"a\\\"b\"]", "x", &err), CF_EINVAL);
  assert_int_equal(O->record_history_erase(s, 11, "[\"email\"]", NULL, &err), CF_EINVAL);
  expect_history(s, 11, "create {\"email\":{\"to\":\"a@x\"}}");
  struct cf_store_record_change bad = {.record_key = 11, .type = (char *)"lead",
                                       .kind = (char *)"update", .changes = (char *)"[]"};
  assert_int_equal(O->record_change_append(s, &bad, &err), CF_EINVAL);
  O->close(s);
}

static void record_types_are_upserted(void **state) {
  (void)state;
  struct cf_store *s = open_db("types.db", CF_STORE_FAST);
  struct cf_error err = {0};
  struct cf_store_record_type t = {.name = (char *)"lead", .schema = (char *)"{\"v\":1}", .updated_ms = 1};
  ok(O->record_type_put(s, &t, &err), &err);
  t = (struct cf_store_record_type){.name = (char *)"deal", .schema = (char *)"{\"d\":1}", .updated_ms = 2};
  ok(O->record_type_put(s, &t, &err), &err);
  t = (struct cf_store_record_type){.name = (char *)"lead", .schema = (char *)"{\"v\":2}", .updated_ms = 3};
  ok(O->record_type_put(s, &t, &err), &err);
  struct cf_store_record_type *l = NULL;
  size_t n = 0;
  ok(O->record_type_list(s, &l, &n, &err), &err);
  assert_int_equal(n, 2);
  assert_string_equal(l[0].name, "deal");
  assert_string_equal(l[1].name, "lead");
  assert_string_equal(l[1].schema, "{\"v\":2}");
  assert_int_equal(l[1].updated_ms, 3);
  for (size_t i = 0; i < n; i++) cf_store_record_type_release(&l[i]);
  cf_free(l);
  t.name = NULL;
  assert_int_equal(O->record_type_put(s, &t, &err), CF_EINVAL);
  O->close(s);
}

/* ------------------------------------------------------------ triggers, enrollments, timers */

static void triggers_have_unique_names_and_take_their_rows_along(void **state) {
  (void)state;
  struct cf_store *s = open_db("triggers.db", CF_STORE_FAST);
  struct cf_error err = {0};
  struct cf_store_trigger t = {.key = 502, .name = (char *)"welcome", .record_type = (char *)"lead",
                               .definition = (char *)"{\"on\":\"create\"}", .created_ms = 5};
  ok(O->trigger_insert(s, &t, &err), &err);
  t = (struct cf_store_trigger){.key = 500, .name = (char *)"follow-up", .record_type = (char *)"lead",
                                .definition = (char *)"{\"on\":\"date\"}", .created_ms = 6};
  ok(O->trigger_insert(s, &t, &err), &err);
  t.key = 501;
  assert_int_equal(O->trigger_insert(s, &t, &err), CF_ECONFLICT);
  has(&err, "follow-up");
  t.name = (char *)"other";
  t.key = 500;
  assert_int_equal(O->trigger_insert(s, &t, &err), CF_ECONFLICT);
  has(&err, "500");
  t.key = 0;
  assert_int_equal(O->trigger_insert(s, &t, &err), CF_EINVAL);

  struct cf_store_trigger *l = NULL;
  size_t n = 0;
  ok(O->trigger_list(s, &l, &n, &err), &err);
  assert_int_equal(n, 2);
  assert_int_equal(l[0].key, 500);
  assert_string_equal(l[0].name, "follow-up");
  assert_string_equal(l[0].definition, "{\"on\":\"date\"}");
  assert_int_equal(l[1].key, 502);
  assert_string_equal(l[1].record_type, "lead");
  assert_int_equal(l[1].created_ms, 5);
  for (size_t i = 0; i < n; i++) cf_store_trigger_release(&l[i]);
  cf_free(l);

  ok(O->enrollment_insert(s, 500, 10, 900, 1, &err), &err);
  ok(O->enrollment_insert(s, 502, 10, 901, 1, &err), &err);
  set_timer(s, 500, 10, 1000);
  set_timer(s, 500, 11, 1100);
  set_timer(s, 502, 10, 1200);
  ok(O->trigger_delete(s, 500, &err), &err);
  expect_enrolled(s, 500, 10, 0, false);
  expect_enrolled(s, 502, 10, 1, false);
  expect_due(s, 5000, 0, "502/10@1200");
  assert_int_equal(O->trigger_delete(s, 500, &err), CF_ENOTFOUND);
  has(&err, "500");
  /* The name is free again. */
  t = (struct cf_store_trigger){.key = 503, .name = (char *)"follow-up", .record_type = (char *)"lead",
                                .definition = (char *)"{}"};
  ok(O->trigger_insert(s, &t, &err), &err);
  O->close(s);
}

static void enrollments_count_and_see_active_instances(void **state) {
  (void)state;
  struct cf_store *s = open_db("enroll.db", CF_STORE_FAST);
  struct cf_error err = {0};
  expect_enrolled(s, 500, 10, 0, false);
  struct cf_store_instance i = {.key = 900, .definition_key = 7, .process_id = (char *)"nurture",
                                .version = 1, .state = CF_STORE_ACTIVE, .started_ms = 1,
                                .row_version = 1, .variables = (char *)"{}"};
  ok(O->instance_insert(s, &i, NULL, &err), &err);
  ok(O->enrollment_insert(s, 500, 10, 900, 5, &err), &err);
  expect_enrolled(s, 500, 10, 1, true);
  expect_enrolled(s, 500, 11, 0, false);
  expect_enrolled(s, 501, 10, 0, false);

  i.state = CF_STORE_COMPLETED;
  i.ended_ms = 9;
  ok(O->instance_update(s, &i, 1, NULL, &err), &err);
  expect_enrolled(s, 500, 10, 1, false);
  /* Started again: one of two active. An instance gone (pruned) is not active. */
  struct cf_store_instance j = i;
  j.key = 902;
  j.state = CF_STORE_ACTIVE;
  j.ended_ms = 0;
  ok(O->instance_insert(s, &j, NULL, &err), &err);
  ok(O->enrollment_insert(s, 500, 10, 902, 6, &err), &err);
  ok(O->enrollment_insert(s, 500, 10, 999, 7, &err), &err);
  expect_enrolled(s, 500, 10, 3, true);
  j.state = CF_STORE_TERMINATED;
  j.ended_ms = 10;
  ok(O->instance_update(s, &j, 1, NULL, &err), &err);
  expect_enrolled(s, 500, 10, 3, false);
  assert_int_equal(O->enrollment_insert(s, 0, 10, 1, 1, &err), CF_EINVAL);
  O->close(s);
}

static void crm_timers_fire_in_due_order(void **state) {
  (void)state;
  struct cf_store *s = open_db("timers.db", CF_STORE_FAST);
  struct cf_error err = {0};
  int64_t next = 0;
  ok(O->crm_timer_next(s, &next, &err), &err);
  assert_int_equal(next, INT64_MAX);
  expect_due(s, INT64_MAX, 0, "");

  set_timer(s, 1, 10, 500);
  set_timer(s, 1, 11, 300);
  set_timer(s, 2, 10, 400);
  set_timer(s, 1, 10, 200); /* replaces 1/10@500: one timer per trigger and record */
  expect_due(s, 350, 0, "1/10@200 1/11@300");
  expect_due(s, 350, 1, "1/10@200");
  expect_due(s, 199, 0, "");
  expect_due(s, 400, 0, "1/10@200 1/11@300 2/10@400");
  ok(O->crm_timer_next(s, &next, &err), &err);
  assert_int_equal(next, 200);

  set_timer(s, 1, 10, -1); /* removed */
  set_timer(s, 3, 12, -1); /* removing none is no error */
  expect_due(s, 1000, 0, "1/11@300 2/10@400");
  ok(O->crm_timer_next(s, &next, &err), &err);
  assert_int_equal(next, 300);
  struct cf_store_crm_timer t = {.trigger_key = 1, .record_key = 0, .record_type = (char *)"lead"};
  assert_int_equal(O->crm_timer_set(s, &t, &err), CF_EINVAL);
  O->close(s);
}

static void crm_state_is_put_and_read(void **state) {
  (void)state;
  struct cf_store *s = open_db("state.db", CF_STORE_FAST);
  struct cf_error err = {0};
  char *v = (char *)"untouched";
  ok(O->crm_state_get(s, "rr:sales", &v, &err), &err);
  assert_null(v);
  ok(O->crm_state_put(s, "rr:sales", "3", &err), &err);
  ok(O->crm_state_put(s, "rr:support", "1", &err), &err);
  ok(O->crm_state_put(s, "rr:sales", "4", &err), &err);
  ok(O->crm_state_get(s, "rr:sales", &v, &err), &err);
  assert_string_equal(v, "4");
  cf_free(v);
  ok(O->crm_state_put(s, "rr:sales", NULL, &err), &err);
  ok(O->crm_state_get(s, "rr:sales", &v, &err), &err);
  assert_null(v);
  ok(O->crm_state_get(s, "rr:support", &v, &err), &err);
  assert_string_equal(v, "1");
  cf_free(v);
  assert_int_equal(O->crm_state_put(s, "", "1", &err), CF_EINVAL);
  O->close(s);
}

static void writes_join_the_callers_transaction(void **state) {
  (void)state;
  struct cf_store *s = open_db("tx.db", CF_STORE_FAST);
  struct cf_error err = {0};
  ok(O->begin(s, &err), &err);
  insert(s, 10, "lead", "{\"a\":1}");
  claim(s, "lead", "email", "a@x", 10);
  change(s, 10, 1, "create", "{\"a\":{\"to\":1}}");
  /* A failed call inside leaves the transaction usable, and nothing of itself. */
  struct cf_store_record u = record(10, "lead", "{\"a\":2}");
  assert_int_equal(O->record_update(s, &u, 7, &err), CF_ECONFLICT);
  assert_int_equal(O->record_unique(s, "lead", "email", "a@x", 11, &err), CF_ECONFLICT);
  ok(O->crm_state_put(s, "n", "1", &err), &err);
  set_timer(s, 1, 10, 50);
  O->rollback(s);
  struct cf_store_record got;
  assert_int_equal(O->record_get(s, "lead", 10, &got, &err), CF_ENOTFOUND);
  expect_history(s, 10, "");
  expect_due(s, 100, 0, "");
  claim(s, "lead", "email", "a@x", 11);

  ok(O->begin(s, &err), &err);
  insert(s, 10, "lead", "{\"a\":1}");
  ok(O->record_update(s, &u, 1, &err), &err);
  ok(O->commit(s, &err), &err);
  ok(O->record_get(s, "lead", 10, &got, &err), &err);
  assert_int_equal(got.version, 2);
  cf_store_record_release(&got);

  /* A reader reads and writes nothing. */
  struct cf_store *r = NULL;
  const struct cf_store_ops *ops = NULL;
  ok(cf_store_open(db_path("tx.db"), CF_STORE_READONLY, &ops, &r, &err), &err);
  ok(ops->record_get(r, "lead", 10, &got, &err), &err);
  cf_store_record_release(&got);
  assert_int_equal(ops->record_delete(r, "lead", 10, &err), CF_EINVAL);
  has(&err, "read-only");
  assert_int_equal(ops->crm_state_put(r, "n", "1", &err), CF_EINVAL);
  set_timer(s, 1, 10, 50);
  int64_t next = 0;
  ok(ops->crm_timer_next(r, &next, &err), &err);
  assert_int_equal(next, 50);
  ops->close(r);
  O->close(s);
}

/* ------------------------------------------------------------ searches */

#define NUM(v) {.num = (v)}
#define TXT(v) {.is_text = true, .text = (v)}
#define VALS(...) (const struct cf_store_qvalue[]){__VA_ARGS__}
#define NVALS(...) (sizeof VALS(__VA_ARGS__) / sizeof(struct cf_store_qvalue))
#define C(f, op, ...) {(f), CF_STORE_##op, VALS(__VA_ARGS__), NVALS(__VA_ARGS__)}
#define CONDS(...) (const struct cf_store_qcond[]){__VA_ARGS__}
#define NCONDS(...) (sizeof CONDS(__VA_ARGS__) / sizeof(struct cf_store_qcond))
/* Records with the conditions given, the first 100 by key. */
#define Q(...) \
  ((struct cf_store_query){.entity = CF_STORE_RECORDS, .conds = CONDS(__VA_ARGS__), .nconds = NCONDS(__VA_ARGS__), .limit = 100})
#define LEAD C("type", EQ, TXT("lead"))

static struct cf_store *S;

/* Runs q and checks its rows' keys ("10 11", in order) and its total. */
static void expect(struct cf_store_query q, uint64_t total, const char *keys) {
  struct cf_store_result r;
  struct cf_error err = {0};
  ok(O->search(S, &q, &r, &err), &err);
  char got[512] = "";
  for (size_t i = 0; i < r.n; i++)
    snprintf(got + strlen(got), sizeof got - strlen(got), "%s%llu", i ? " " : "",
             (unsigned long long)r.records[i].key);
  if (strcmp(got, keys) || r.total != total)
    fail_msg("expected [%s] total %llu, got [%s] total %llu", keys, (unsigned long long)total, got,
             (unsigned long long)r.total);
  cf_store_result_release(&r);
  assert_int_equal(r.n, 0);
  assert_null(r.records);
}

static void refused(struct cf_store_query q, const char *names) {
  struct cf_store_result r = {.total = 77};
  struct cf_error err = {0};
  assert_int_equal(O->search(S, &q, &r, &err), CF_EINVAL);
  if (!strstr(err.msg, names)) fail_msg("'%s' does not name '%s'", err.msg, names);
  assert_int_equal(r.total, 77);
}

/*
 * The records every search test reads:
 *   lead 10  Ann,  ann@x,  score 42,     vip true,  Paris    updated 100 by api:ann, version 1
 *   lead 11  Bob,  -,      score 7.5,    note null, paris    updated 300 by api:bob, version 3
 *   lead 12  Carl, carl@x, score "high",            -        updated 200
 *   lead 13  Dora, -,      score 100,    vip false, Berlin   updated 400
 *   deal 20  Ann,  total 5
 */
static void search_setup(void) {
  S = open_db("search.db", CF_STORE_FAST);
  struct cf_error err = {0};
  struct cf_store_record r[] = {
      record(10, "lead", "{\"name\":\"Ann\",\"email\":\"ann@x\",\"score\":42,\"vip\":true,\"city\":\"Paris\"}"),
      record(11, "lead", "{\"name\":\"Bob\",\"score\":7.5,\"note\":null,\"city\":\"paris\"}"),
      record(12, "lead", "{\"name\":\"Carl\",\"email\":\"carl@x\",\"score\":\"high\"}"),
      record(13, "lead", "{\"name\":\"Dora\",\"score\":100,\"vip\":false,\"city\":\"Berlin\"}"),
      record(20, "deal", "{\"name\":\"Ann\",\"total\":5}"),
  };
  r[1].updated_ms = 300;
  r[1].version = 3;
  r[1].updated_by = (char *)"api:bob";
  r[2].updated_ms = 200;
  r[3].updated_ms = 400;
  for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) ok(O->record_insert(S, &r[i], &err), &err);
}

static void records_are_searched_by_their_fields(void **state) {
  (void)state;
  search_setup();
  expect(Q(LEAD), 4, "10 11 12 13");
  /* Without a type: every type's. */
  expect(Q(C("field:name", EQ, TXT("Ann"))), 2, "10 20");
  expect(Q(C("type", EQ, TXT("deal"))), 1, "20");
  /* Numbers compare as numbers, with fields that hold one ("high" is text: neither above nor below). */
  expect(Q(C("field:score", GT, NUM(10))), 2, "10 13");
  expect(Q(C("field:score", LT, NUM(50))), 2, "10 11");
  expect(Q(C("field:score", LTE, NUM(42))), 2, "10 11");
  expect(Q(C("field:score", GTE, NUM(100))), 1, "13");
  expect(Q(C("field:score", EQ, NUM(42))), 1, "10");
  /* NEQ holds where the field is text or absent too. */
  expect(Q(C("field:score", NEQ, NUM(42))), 4, "11 12 13 20");
  /* Text compares as text: "42" is not the number 42. */
  expect(Q(C("field:score", EQ, TXT("42"))), 0, "");
  expect(Q(C("field:score", EQ, TXT("high"))), 1, "12");
  expect(Q(C("field:name", GT, TXT("Bob"))), 2, "12 13");
  expect(Q(C("field:name", NEQ, TXT("Ann")), LEAD), 3, "11 12 13");
  /* Booleans as 1/0. */
  expect(Q(C("field:vip", EQ, NUM(1))), 1, "10");
  expect(Q(C("field:vip", EQ, NUM(0))), 1, "13");
  /* LIKE: case-sensitive, text values only. */
  expect(Q(C("field:city", LIKE, TXT("P*"))), 1, "10");
  expect(Q(C("field:city", LIKE, TXT("*aris"))), 2, "10 11");
  expect(Q(C("field:score", LIKE, TXT("4*"))), 0, "");
  /* EXISTS: an absent field and a null one are not set. */
  expect(Q(C("field:email", EXISTS, NUM(1))), 2, "10 12");
  expect(Q(C("field:email", EXISTS, NUM(0)), LEAD), 2, "11 13");
  expect(Q(C("field:note", EXISTS, NUM(0)), LEAD), 4, "10 11 12 13");
  expect(Q(C("field:vip", EXISTS, NUM(1))), 2, "10 13");
  /* IN and NOT_IN, text and numbers apart. */
  expect(Q(C("field:city", IN, TXT("Paris"), TXT("Berlin"))), 2, "10 13");
  expect(Q(C("field:city", NOT_IN, TXT("Paris")), LEAD), 3, "11 12 13");
  expect(Q(C("field:score", IN, NUM(42), TXT("high"), NUM(7))), 2, "10 12");
  expect(Q(C("field:score", IN, TXT("42"))), 0, "");
  /* The columns. */
  expect(Q(C("updated_by", EQ, TXT("api:bob"))), 1, "11");
  expect(Q(C("updated_ms", GTE, NUM(300))), 2, "11 13");
  expect(Q(C("version", GT, NUM(1))), 1, "11");
  expect(Q(C("created_by", LIKE, TXT("api:*")), C("key", LT, NUM(12))), 2, "10 11");
  expect(Q(C("created_ms", EQ, NUM(100)), LEAD, C("field:score", GT, NUM(0))), 3, "10 11 13");

  /* An OR of groups with fields. */
  struct cf_store_query q = Q(LEAD);
  q.any = (const struct cf_store_qgroup[]){{CONDS(C("field:vip", EQ, NUM(1))), 1},
                                           {CONDS(C("field:score", EQ, TXT("high"))), 1}};
  q.nany = 2;
  expect(q, 2, "10 12");

  /* The rows are whole. */
  struct cf_store_result r;
  struct cf_error err = {0};
  q = Q(C("key", EQ, NUM(11)));
  ok(O->search(S, &q, &r, &err), &err);
  assert_int_equal(r.n, 1);
  assert_non_null(r.records);
  assert_null(r.instances);
  assert_string_equal(r.records[0].type, "lead");
  assert_string_equal(r.records[0].fields, "{\"name\":\"Bob\",\"score\":7.5,\"note\":null,\"city\":\"paris\"}");
  assert_int_equal(r.records[0].version, 3);
  assert_int_equal(r.records[0].updated_ms, 300);
  assert_string_equal(r.records[0].created_by, "api:ann");
  assert_string_equal(r.records[0].updated_by, "api:bob");
  cf_store_result_release(&r);

  /* Mistakes are named. */
  refused(Q(C("var:name", EQ, TXT("Ann"))), "field:NAME");
  refused(Q(C("nope", EQ, TXT("Ann"))), "nope");
  refused(Q(C("field:", EQ, TXT("Ann"))), "empty");
  refused(Q(C("field:a\"b", EQ, TXT("Ann"))), "field:a\"b");
  refused(Q(C("field:city", LIKE, NUM(1))), "LIKE");
  refused(Q(C("type", EQ, NUM(1))), "type");
}

#define SORT(...) (const struct cf_store_qsort[]){__VA_ARGS__}
#define NSORT(...) (sizeof SORT(__VA_ARGS__) / sizeof(struct cf_store_qsort))

static struct cf_store_query sorted(struct cf_store_query q, const struct cf_store_qsort *sort,
                                    size_t nsort, size_t offset, size_t limit) {
  q.sort = sort;
  q.nsort = nsort;
  q.offset = offset;
  q.limit = limit;
  return q;
}
static struct cf_store_query paged(struct cf_store_query q, size_t offset, size_t limit) {
  return sorted(q, NULL, 0, offset, limit);
}
#define SORTED(q, off, lim, ...) sorted((q), SORT(__VA_ARGS__), NSORT(__VA_ARGS__), (off), (lim))

static void records_are_sorted_and_paged(void **state) {
  (void)state;
  /* By a field's value: numbers (as numbers) before text; the absent first. */
  expect(SORTED(Q(LEAD), 0, 100, {"field:score", false}), 4, "11 10 13 12");
  expect(SORTED(Q(LEAD), 0, 100, {"field:score", true}), 4, "12 13 10 11");
  expect(SORTED(Q(LEAD), 0, 100, {"field:email", false}), 4, "11 13 10 12");
  expect(SORTED(Q(C("field:name", EQ, TXT("Ann"))), 0, 100, {"field:total", true}), 2, "20 10");
  /* Two sorts; ties end by key. */
  expect(SORTED(Q(LEAD), 0, 100, {"field:vip", true}, {"updated_ms", true}), 4, "10 13 11 12");
  expect(SORTED(Q(LEAD), 0, 100, {"updated_ms", false}), 4, "10 12 11 13");
  expect(SORTED(Q(LEAD), 0, 100, {"version", true}), 4, "11 10 12 13");
  /* A page of a sorted search counts every match (the count has no sort's parameters). */
  expect(SORTED(Q(LEAD), 1, 2, {"field:name", true}), 4, "12 11");
  expect(SORTED(Q(C("field:score", EXISTS, NUM(1)), LEAD), 0, 1, {"field:name", true}), 4, "13");
  /* Text by its bytes: "Berlin" "Paris" "paris". */
  expect(SORTED(Q(C("field:city", LIKE, TXT("*"))), 1, 1, {"field:city", false}), 3, "10");
  expect(SORTED(Q(C("field:city", LIKE, TXT("*"))), 2, 1, {"field:city", false}), 3, "11");
  /* Paging in key order; limit 0: the total only; past the end: none, and still the total. */
  expect(paged(Q(LEAD), 2, 2), 4, "12 13");
  expect(paged(Q(LEAD), 0, 0), 4, "");
  expect(paged(Q(LEAD), 9, 2), 4, "");
  expect(paged(Q(C("field:score", GT, NUM(0))), 1, 1), 3, "11");
  refused(SORTED(Q(LEAD), 0, 10, {"field:", false}), "field:");
  refused(SORTED(Q(LEAD), 0, 10, {"var:score", false}), "var:score");
  O->close(S);
  S = NULL;
}

/* ------------------------------------------------------------ migration */

/*
 * A database of schema 5 (before the CRM layer) opens under this build: migration 6 adds the
 * tables, its data stays; a reader asks for a writer to upgrade it first.
 */
static void a_schema_5_database_is_migrated(void **state) {
  (void)state;
  struct cf_error err = {0};
  struct cf_store *s = open_db("v5.db", CF_STORE_FAST);
  struct cf_store_instance i = {.key = 100, .definition_key = 7, .process_id = (char *)"order",
                                .version = 1, .started_ms = 1, .row_version = 1,
                                .variables = (char *)"{\"a\":1}"};
  ok(O->instance_insert(s, &i, NULL, &err), &err);
  struct cf_store_group g = {.name = (char *)"sales", .created_ms = 1};
  ok(O->group_put(s, &g, true, &err), &err);
  ok(cf__store_sqlite_exec(s,
                           "DROP TABLE records; DROP TABLE record_unique; DROP TABLE record_changes;"
                           " DROP TABLE record_types; DROP TABLE triggers;"
                           " DROP TABLE trigger_enrollments; DROP TABLE crm_timers;"
                           " DROP TABLE crm_state; UPDATE schema_version SET version = 5;",
                           &err),
     &err);
  O->close(s);

  const struct cf_store_ops *ops = NULL;
  struct cf_store *r = NULL;
  assert_int_equal(cf_store_open(db_path("v5.db"), CF_STORE_READONLY, &ops, &r, &err), CF_EUNSUPPORTED);
  has(&err, "schema 5");
  has(&err, "open it once for writing");

  s = open_db("v5.db", CF_STORE_FAST);
  struct cf_store_instance gi;
  ok(O->instance_get(s, 100, &gi, &err), &err);
  assert_string_equal(gi.process_id, "order");
  cf_store_instance_release(&gi);
  struct cf_store_group gg;
  ok(O->group_get(s, "sales", &gg, &err), &err);
  cf_store_group_release(&gg);
  insert(s, 10, "lead", "{\"name\":\"Ann\"}");
  claim(s, "lead", "email", "a@x", 10);
  ok(O->enrollment_insert(s, 500, 10, 100, 1, &err), &err);
  expect_enrolled(s, 500, 10, 1, true);
  O->close(s);
  /* Once: opening again migrates nothing and keeps the records; a reader opens it now. */
  s = open_db("v5.db", CF_STORE_FAST);
  assert_int_equal(O->record_unique(s, "lead", "email", "a@x", 11, &err), CF_ECONFLICT);
  ok(cf_store_open(db_path("v5.db"), CF_STORE_READONLY, &ops, &r, &err), &err);
  struct cf_store_record got;
  ok(ops->record_get(r, "lead", 10, &got, &err), &err);
  assert_string_equal(got.fields, "{\"name\":\"Ann\"}");
  cf_store_record_release(&got);
  ops->close(r);
  O->close(s);
}

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
      cmocka_unit_test(a_schema_5_database_is_migrated),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
