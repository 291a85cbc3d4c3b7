/*
 * Unit tests of src/store/store_pg.c: the PostgreSQL backend of the store,
 * through its table of operations, against a server of its own.
 *
 * The group's setup starts a throwaway server (tests/pg/pg.sh: Debian's
 * PostgreSQL, a temporary data folder, a free port on 127.0.0.1) and its
 * teardown stops it; each case starts on an empty database (the schema
 * dropped, then migrated again by the first open). A machine without the
 * server fails here, with pg.sh's reason: the backend is not left untested
 * in silence.
 *
 * The cases from "deployments" on are test_sqlite.c's, copied as they are:
 * both backends must answer alike. Then what only a shared server has: two
 * connections leasing the same jobs (FOR UPDATE SKIP LOCKED: each job once),
 * a lost race on an instance between two connections, and refused calls of
 * the API's and the CRM's operations leaving the caller's transaction usable.
 * The principals', CRM rows' and searches' cases are test_pg_auth.c's,
 * test_pg_crm.c's and test_pg_search.c's (the SQLite programs' own, through
 * pg_fixture.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "store/cf_store.h"
#include "store/store_pg_int.h"

static char srvdir[64];
static char url[256];
static const struct cf_store_ops *O;

/* ------------------------------------------------------------ the server */

static int pg_sh(const char *cmd, char *out, size_t size) {
  const char *src = getenv("CF_SOURCE_DIR");
  if (!src) {
    fprintf(stderr, "test_pg: CF_SOURCE_DIR is not set (run it through ctest)\n");
    return -1;
  }
  char line[512];
  snprintf(line, sizeof line, "'%s/tests/pg/pg.sh' %s '%s'", src, cmd, srvdir);
  FILE *p = popen(line, "r");
  if (!p) return -1;
  char buf[256] = "";
  if (!fgets(buf, sizeof buf, p)) buf[0] = '\0';
  int rc = pclose(p);
  buf[strcspn(buf, "\n")] = '\0';
  if (out) snprintf(out, size, "%s", buf);
  return rc == 0 ? 0 : -1;
}

static int setup(void **state) {
  strcpy(srvdir, "/tmp/cf_pg_XXXXXX");
  if (!mkdtemp(srvdir)) return -1;
  if (pg_sh("start", url, sizeof url) != 0 || strncmp(url, "postgres://", 11) != 0) {
    fprintf(stderr, "test_pg: no PostgreSQL server could be started (tests/pg/pg.sh start, see"
                    " above); this test needs Debian's postgresql package (scripts/deps.sh)\n");
    pg_sh("stop", NULL, 0);
    rmdir(srvdir); /* when pg.sh did not even run */
    url[0] = '\0';
    return -1;
  }
  return 0;
}

/* pg.sh stop removes the folder. */
static int teardown(void **state) { return url[0] ? pg_sh("stop", NULL, 0) : -1; }

static void ok(int rc, const struct cf_error *err) {
  if (rc != CF_OK) fail_msg("rc %d: %s", rc, err->msg);
}

/* Runs sql on a plain libpq connection (the store's handles refuse a database they cannot migrate). */
static int raw_sql(const char *sql, char *out, size_t size) {
  PGconn *c = PQconnectdb(url);
  int rc = -1;
  if (PQstatus(c) == CONNECTION_OK) {
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
      rc = 0;
      if (out) snprintf(out, size, "%s", PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
    } else {
      fprintf(stderr, "test_pg: %s: %s", sql, PQresultErrorMessage(res));
    }
    PQclear(res);
  } else {
    fprintf(stderr, "test_pg: connecting to %s: %s", url, PQerrorMessage(c));
  }
  PQfinish(c);
  return rc;
}

/* Every case begins on an empty database. */
static int empty_db(void **state) {
  return raw_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public", NULL, 0);
}

/* name: the SQLite tests' file name, kept so that the copied cases read the same; one database here. */
static struct cf_store *open_db(const char *name, unsigned flags) {
  struct cf_store *s = NULL;
  struct cf_error err = {0};
  int rc = cf_store_open(url, flags, &O, &s, &err);
  if (rc != CF_OK) fail_msg("open %s (%s): %s", url, name, err.msg);
  return s;
}

static int open_err(unsigned flags, struct cf_error *err) {
  struct cf_store *s = NULL;
  const struct cf_store_ops *ops = NULL;
  int rc = cf_store_open(url, flags, &ops, &s, err);
  if (rc == CF_OK) ops->close(s);
  return rc;
}

/* ------------------------------------------------------------ helpers (test_sqlite.c's) */

static struct cf_store_instance instance(uint64_t key, const char *process_id) {
  return (struct cf_store_instance){
      .key = key,
      .definition_key = 7,
      .process_id = (char *)process_id,
      .version = 1,
      .state = CF_STORE_ACTIVE,
      .started_ms = 1000,
      .row_version = 1,
      .engine_state = (char *)"{\"s\":1}",
      .engine_state_len = 7,
      .variables = (char *)"{\"amount\":19.99}",
  };
}

static struct cf_store_job job(uint64_t key, const char *type, int32_t retries) {
  return (struct cf_store_job){.key = key,
                               .element_instance_key = key + 1000,
                               .element_id = (char *)"task",
                               .type = (char *)type,
                               .retries = retries,
                               .headers = (char *)"{}"};
}

static void free_jobs(struct cf_store_job *j, size_t n) {
  for (size_t i = 0; i < n; i++) cf_store_job_release(&j[i]);
  cf_free(j);
}

static size_t activate(struct cf_store *s, const char *type, size_t max, const char *worker,
                       int64_t now, int64_t until) {
  struct cf_store_job *j = NULL;
  size_t n = 99;
  struct cf_error err = {0};
  ok(O->jobs_activate(s, type, max, worker, now, until, &j, &n, &err), &err);
  for (size_t i = 0; i < n; i++) {
    assert_string_equal(j[i].worker, worker);
    assert_int_equal(j[i].lease_until_ms, until);
  }
  free_jobs(j, n);
  return n;
}

/* ------------------------------------------------------------ open and migrations */

static void open_dispatches_on_location(void **state) {
  struct cf_error err = {0};
  struct cf_store *s = NULL;
  const struct cf_store_ops *ops = NULL;
  ok(cf_store_open(url, 0, &ops, &s, &err), &err);
  assert_string_equal(ops->name, "postgres");
  assert_ptr_equal(ops, &cf_store_pg);
  ops->close(s);
  /* postgresql:// too, and libpq's PG* variables fill in what the URL leaves out (the port here). */
  char alt[300];
  const char *port = strrchr(url, ':') + 1;
  char portnum[16];
  snprintf(portnum, sizeof portnum, "%.*s", (int)strcspn(port, "/"), port);
  snprintf(alt, sizeof alt, "postgresql://crmflow@127.0.0.1/crmflow_test");
  setenv("PGPORT", portnum, 1);
  ops = NULL;
  int rc = cf_store_open(alt, CF_STORE_READONLY, &ops, &s, &err);
  unsetenv("PGPORT");
  ok(rc, &err);
  assert_ptr_equal(ops, &cf_store_pg);
  ops->close(s);
  /* A server nobody runs: CF_EIO naming the database and libpq's reason, nothing handed out. */
  s = NULL;
  assert_int_equal(cf_store_open("postgres://crmflow@127.0.0.1:1/crm", 0, &ops, &s, &err), CF_EIO);
  assert_non_null(strstr(err.msg, "cannot connect to the PostgreSQL database crm on 127.0.0.1:1"));
  assert_non_null(strstr(err.msg, "refused"));
  assert_null(s);
  ops->close(NULL);
}

static void migrations_run_once_and_refuse_newer(void **state) {
  struct cf_error err = {0};
  struct cf_store *s = open_db("mig.db", CF_STORE_FAST);
  uint64_t first = 0;
  ok(O->reserve_keys(s, 10, &first, &err), &err);
  assert_int_equal(first, 1);
  O->close(s);
  /* Opening again applies nothing and keeps the data: the key counter goes on. */
  s = open_db("mig.db", CF_STORE_FAST);
  ok(O->reserve_keys(s, 5, &first, &err), &err);
  assert_int_equal(first, 11);
  ok(O->reserve_keys(s, 1, &first, &err), &err);
  assert_int_equal(first, 16);
  ok(cf__store_pg_exec(s, "UPDATE schema_version SET version = 999", &err), &err);
  O->close(s);
  assert_int_equal(open_err(0, &err), CF_EUNSUPPORTED);
  assert_non_null(strstr(err.msg, "newer crmflow (schema 999, this one knows up to 6)"));
  assert_int_equal(open_err(CF_STORE_READONLY, &err), CF_EUNSUPPORTED);
  assert_non_null(strstr(err.msg, "schema 999"));
}

/* A migration that fails leaves the database as it was: PostgreSQL's DDL is transactional. */
static void failed_migration_leaves_the_database_as_it_was(void **state) {
  struct cf_error err = {0};
  struct cf_store *s = open_db("badmig.db", CF_STORE_FAST);
  uint64_t first;
  ok(O->reserve_keys(s, 42, &first, &err), &err);
  struct cf_store_instance i = instance(5, "order");
  ok(O->instance_insert(s, &i, NULL, &err), &err);
  /* Claim schema 0 while the tables exist: migration 1 then meets a table it creates. */
  ok(cf__store_pg_exec(s, "UPDATE schema_version SET version = 0", &err), &err);
  O->close(s);
  for (int round = 0; round < 2; round++) {
    assert_int_equal(open_err(0, &err), CF_EIO);
    assert_non_null(strstr(err.msg, "migration 1 failed"));
    assert_non_null(strstr(err.msg, "already exists"));
    assert_non_null(strstr(err.msg, "crmflow_test"));
  }
  /* Nothing half-applied: the tables and their rows as they were, one version row. */
  char v[64];
  assert_int_equal(raw_sql("SELECT count(*) || ':' || max(version) FROM schema_version", v, sizeof v), 0);
  assert_string_equal(v, "1:0");
  assert_int_equal(raw_sql("SELECT next FROM keys", v, sizeof v), 0);
  assert_string_equal(v, "43");
  assert_int_equal(raw_sql("SELECT count(*) FROM instances WHERE key = 5", v, sizeof v), 0);
  assert_string_equal(v, "1");
}

static void foreign_databases_are_refused(void **state) {
  struct cf_error err = {0};
  struct cf_store *s = open_db("foreign.db", CF_STORE_FAST);
  ok(cf__store_pg_exec(s, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
                          " CREATE TABLE customers(id INTEGER)", &err), &err);
  O->close(s);
  for (int ro = 0; ro < 2; ro++) {
    assert_int_equal(open_err(ro ? CF_STORE_READONLY : 0, &err), CF_EIO);
    assert_non_null(strstr(err.msg, "is not a crmflow database"));
  }
}

static void read_only_handles_never_write(void **state) {
  struct cf_error err = {0};
  struct cf_store *w = open_db("ro.db", CF_STORE_FAST);
  struct cf_store_instance i = instance(100, "order");
  struct cf_store_job j = job(101, "mail", 3);
  struct cf_store_instance_rows rows = {.jobs = &j, .njobs = 1};
  ok(O->instance_insert(w, &i, &rows, &err), &err);
  O->close(w);

  struct cf_store *r = open_db("ro.db", CF_STORE_READONLY);
  struct cf_store_instance got;
  ok(O->instance_get(r, 100, &got, &err), &err);
  cf_store_instance_release(&got);
  uint64_t first;
  struct cf_store_job *jobs = NULL;
  size_t n = 0;
  struct cf_store_timer t = {.key = 9, .definition_key = 7, .element_id = (char *)"start", .due_ms = 5};
  struct cf_store_event ev = {.instance_key = 100, .kind = (char *)"X"};
  struct cf_store_message m = {.key = 3, .name = (char *)"paid"};
  bool already;
  assert_int_equal(O->begin(r, &err), CF_EINVAL);
  assert_non_null(strstr(err.msg, "read-only"));
  assert_int_equal(O->reserve_keys(r, 1, &first, &err), CF_EINVAL);
  assert_int_equal(O->instance_update(r, &i, 1, &rows, &err), CF_EINVAL);
  assert_int_equal(O->instance_insert(r, &i, &rows, &err), CF_EINVAL);
  assert_int_equal(O->jobs_activate(r, "mail", 5, "w", 0, 10, &jobs, &n, &err), CF_EINVAL);
  assert_int_equal(O->timer_start_set(r, &t, &err), CF_EINVAL);
  assert_int_equal(O->history_append(r, &ev, 1, &err), CF_EINVAL);
  assert_int_equal(O->message_insert(r, &m, &err), CF_EINVAL);
  assert_int_equal(O->message_correlated(r, 3, "order", &already, true, &err), CF_EINVAL);
  assert_int_equal(O->prune(r, 1000000, 10, &n, &err), CF_EINVAL);
  /* And the server refuses too, should a write slip past the checks. */
  assert_int_equal(cf__store_pg_exec(r, "DELETE FROM jobs", &err), CF_EINVAL);
  struct cf_store_job jg;
  ok(O->job_get(r, 101, &jg, &err), &err);
  assert_null(jg.worker);
  cf_store_job_release(&jg);
  O->close(r);
}

/* ------------------------------------------------------------ deployments */

static void deployments_version_and_are_found_again(void **state) {
  struct cf_error err = {0};
  struct cf_store *s = open_db("defs.db", CF_STORE_FAST);
  const char xml[] = "<definitions>\0binary-safe</definitions>";
  struct cf_store_definition d = {.key = 10, .process_id = (char *)"order", .deployment_key = 9,
                                  .resource_name = (char *)"order.bpmn", .checksum = (char *)"aa",
                                  .xml = (char *)xml, .xml_len = sizeof xml - 1, .deployed_ms = 5};
  ok(O->definition_insert(s, &d, &err), &err);
  assert_int_equal(d.version, 1);
  struct cf_store_definition got;
  ok(O->definition_find_checksum(s, "order", "aa", &got, &err), &err);
  assert_int_equal(got.key, 10);
  assert_int_equal(got.version, 1);
  assert_int_equal(got.xml_len, sizeof xml - 1);
  assert_memory_equal(got.xml, xml, sizeof xml - 1);
  assert_null(got.version_tag);
  assert_string_equal(got.resource_name, "order.bpmn");
  assert_int_equal(got.deployment_key, 9);
  assert_int_equal(got.deployed_ms, 5);
  cf_store_definition_release(&got);
  assert_int_equal(O->definition_find_checksum(s, "order", "bb", &got, &err), CF_ENOTFOUND);

  d = (struct cf_store_definition){.key = 11, .process_id = (char *)"order", .deployment_key = 12,
                                   .version_tag = (char *)"v2", .resource_name = (char *)"order.bpmn",
                                   .checksum = (char *)"bb", .xml = (char *)"<x/>", .xml_len = 4};
  ok(O->definition_insert(s, &d, &err), &err);
  assert_int_equal(d.version, 2);
  d.key = 12, d.version = 0, d.version_tag = NULL, d.checksum = (char *)"cc";
  ok(O->definition_insert(s, &d, &err), &err);
  assert_int_equal(d.version, 3);
  /* Another process id counts its own versions. */
  d.key = 13, d.version = 0, d.process_id = (char *)"lead";
  ok(O->definition_insert(s, &d, &err), &err);
  assert_int_equal(d.version, 1);
  /* A version that exists (a concurrent deploy won): a conflict, nothing stored. */
  d.key = 14, d.version = 1;
  assert_int_equal(O->definition_insert(s, &d, &err), CF_ECONFLICT);
  assert_int_equal(O->definition_by_key(s, 14, &got, &err), CF_ENOTFOUND);

  ok(O->definition_get(s, "order", 0, NULL, &got, &err), &err);
  assert_int_equal(got.version, 3);
  assert_int_equal(got.key, 12);
  cf_store_definition_release(&got);
  ok(O->definition_get(s, "order", 1, NULL, &got, &err), &err);
  assert_int_equal(got.key, 10);
  cf_store_definition_release(&got);
  ok(O->definition_get(s, "order", 0, "v2", &got, &err), &err);
  assert_int_equal(got.version, 2);
  assert_string_equal(got.version_tag, "v2");
  cf_store_definition_release(&got);
  ok(O->definition_by_key(s, 13, &got, &err), &err);
  assert_string_equal(got.process_id, "lead");
  cf_store_definition_release(&got);
  assert_int_equal(O->definition_get(s, "order", 9, NULL, &got, &err), CF_ENOTFOUND);
  assert_non_null(strstr(err.msg, "version 9"));
  assert_int_equal(O->definition_get(s, "order", 0, "v9", &got, &err), CF_ENOTFOUND);
  assert_int_equal(O->definition_get(s, "nope", 0, NULL, &got, &err), CF_ENOTFOUND);
  assert_non_null(strstr(err.msg, "nope"));
  O->close(s);
}

/* ------------------------------------------------------------ instances */

static void instances_store_their_rows_and_conflict(void **state) {
  struct cf_error err = {0};
  struct cf_store *s = open_db("inst.db", CF_STORE_FAST);
  struct cf_store_instance i = instance(100, "order");
  i.business_key = (char *)"order-1";
  struct cf_store_job jobs[2] = {job(101, "mail", 3), job(102, "charge", 1)};
  struct cf_store_user_task task = {.key = 103, .element_instance_key = 1103,
                                    .element_id = (char *)"approve", .assignee = (char *)"ann",
                                    .candidate_groups = (char *)"[\"sales\",\"ops\"]",
                                    .priority = 50, .created_ms = 1000};
  struct cf_store_timer timer = {.key = 104, .element_id = (char *)"wait", .due_ms = 5000};
  struct cf_store_subscription sub = {.key = 105, .element_id = (char *)"paid", .kind = 0,
                                      .name = (char *)"payment", .correlation_key = (char *)"o-1"};
  struct cf_store_incident inc = {.key = 106, .element_instance_key = 1106,
                                  .element_id = (char *)"gw", .type = 2,
                                  .message = (char *)"no flow", .created_ms = 1001};
  struct cf_store_instance_rows rows = {.jobs = jobs, .njobs = 2, .tasks = &task, .ntasks = 1, .timers = &timer, .ntimers = 1, .subs = &sub, .nsubs = 1, .incidents = &inc, .nincidents = 1};
  ok(O->instance_insert(s, &i, &rows, &err), &err);
  /* The same key again: refused. */
  assert_int_equal(O->instance_insert(s, &i, NULL, &err), CF_ECONFLICT);

  struct cf_store_instance got;
  ok(O->instance_get(s, 100, &got, &err), &err);
  assert_string_equal(got.process_id, "order");
  assert_string_equal(got.business_key, "order-1");
  assert_int_equal(got.row_version, 1);
  assert_int_equal(got.engine_state_len, 7);
  assert_string_equal(got.engine_state, "{\"s\":1}");
  assert_string_equal(got.variables, "{\"amount\":19.99}");
  assert_int_equal(got.definition_key, 7);
  assert_int_equal(got.started_ms, 1000);
  cf_store_instance_release(&got);

  static const char *whats[] = {"job", "user_task", "timer", "subscription", "incident"};
  for (int k = 0; k < 5; k++) {
    uint64_t ik = 0;
    ok(O->instance_of(s, whats[k], (uint64_t)(k == 0 ? 101 : 102 + k), &ik, &err), &err);
    assert_int_equal(ik, 100);
  }
  uint64_t ik;
  assert_int_equal(O->instance_of(s, "job", 999, &ik, &err), CF_ENOTFOUND);
  assert_int_equal(O->instance_of(s, "bogus", 101, &ik, &err), CF_EINVAL);

  /* An update from version 1 succeeds and bumps the version... */
  i.variables = (char *)"{\"amount\":20}";
  i.incident = true;
  ok(O->instance_update(s, &i, 1, &rows, &err), &err);
  ok(O->instance_get(s, 100, &got, &err), &err);
  assert_int_equal(got.row_version, 2);
  assert_true(got.incident);
  cf_store_instance_release(&got);
  /* ...and a second writer that also read version 1 loses, writing nothing. */
  i.variables = (char *)"{\"amount\":0}";
  struct cf_store_instance_rows none = {0};
  assert_int_equal(O->instance_update(s, &i, 1, &none, &err), CF_ECONFLICT);
  assert_non_null(strstr(err.msg, "100"));
  ok(O->instance_get(s, 100, &got, &err), &err);
  assert_string_equal(got.variables, "{\"amount\":20}");
  assert_int_equal(got.row_version, 2);
  cf_store_instance_release(&got);
  ok(O->instance_of(s, "user_task", 103, &ik, &err), &err);
  i.key = 555;
  assert_int_equal(O->instance_update(s, &i, 1, &none, &err), CF_ENOTFOUND);
  i.key = 100;

  /* Lists. */
  struct cf_store_instance i2 = instance(200, "lead");
  i2.state = CF_STORE_COMPLETED;
  i2.ended_ms = 3000;
  ok(O->instance_insert(s, &i2, NULL, &err), &err);
  struct cf_store_instance *list = NULL;
  size_t n = 0;
  struct cf_store_instance_filter f = {.state = -1, .incident = -1};
  ok(O->instance_list(s, &f, &list, &n, &err), &err);
  assert_int_equal(n, 2);
  assert_int_equal(list[0].key, 100);
  assert_null(list[0].engine_state);
  for (size_t k = 0; k < n; k++) cf_store_instance_release(&list[k]);
  cf_free(list);
  f = (struct cf_store_instance_filter){.process_id = "lead", .state = CF_STORE_COMPLETED, .incident = 0};
  ok(O->instance_list(s, &f, &list, &n, &err), &err);
  assert_int_equal(n, 1);
  assert_int_equal(list[0].key, 200);
  cf_store_instance_release(&list[0]);
  cf_free(list);
  f = (struct cf_store_instance_filter){.business_key = "order-1", .state = -1, .incident = 1};
  ok(O->instance_list(s, &f, &list, &n, &err), &err);
  assert_int_equal(n, 1);
  cf_store_instance_release(&list[0]);
  cf_free(list);
  f = (struct cf_store_instance_filter){.state = -1, .incident = -1, .after_key = 100, .limit = 5};
  ok(O->instance_list(s, &f, &list, &n, &err), &err);
  assert_int_equal(n, 1);
  assert_int_equal(list[0].key, 200);
  cf_store_instance_release(&list[0]);
  cf_free(list);

  struct cf_store_user_task *tasks = NULL;
  struct cf_store_task_filter tf = {.group = "ops"};
  ok(O->task_list(s, &tf, &tasks, &n, &err), &err);
  assert_int_equal(n, 1);
  assert_string_equal(tasks[0].assignee, "ann");
  assert_int_equal(tasks[0].priority, 50);
  cf_store_user_task_release(&tasks[0]);
  cf_free(tasks);
  tf = (struct cf_store_task_filter){.group = "hr"};
  ok(O->task_list(s, &tf, &tasks, &n, &err), &err);
  assert_int_equal(n, 0);
  assert_null(tasks);
  tf = (struct cf_store_task_filter){.assignee = "ann"};
  ok(O->task_list(s, &tf, &tasks, &n, &err), &err);
  assert_int_equal(n, 1);
  cf_store_user_task_release(&tasks[0]);
  cf_free(tasks);

  struct cf_store_incident *incs = NULL;
  ok(O->incident_list(s, 0, &incs, &n, &err), &err);
  assert_int_equal(n, 1);
  assert_string_equal(incs[0].message, "no flow");
  assert_int_equal(incs[0].instance_key, 100);
  cf_store_incident_release(&incs[0]);
  cf_free(incs);
  ok(O->incident_list(s, 200, &incs, &n, &err), &err);
  assert_int_equal(n, 0);

  struct cf_store_subscription *subs = NULL;
  ok(O->subscriptions_find(s, 0, "payment", "o-1", &subs, &n, &err), &err);
  assert_int_equal(n, 1);
  assert_int_equal(subs[0].instance_key, 100);
  cf_store_subscription_release(&subs[0]);
  cf_free(subs);
  ok(O->subscriptions_find(s, 0, "payment", "o-2", &subs, &n, &err), &err);
  assert_int_equal(n, 0);

  /* Replacing the rows: the task, timer, subscription and incident go away. */
  struct cf_store_instance_rows fewer = {.jobs = jobs, .njobs = 2};
  i.incident = false;
  ok(O->instance_update(s, &i, 2, &fewer, &err), &err);
  assert_int_equal(O->instance_of(s, "user_task", 103, &ik, &err), CF_ENOTFOUND);
  assert_int_equal(O->instance_of(s, "timer", 104, &ik, &err), CF_ENOTFOUND);
  assert_int_equal(O->instance_of(s, "subscription", 105, &ik, &err), CF_ENOTFOUND);
  assert_int_equal(O->instance_of(s, "incident", 106, &ik, &err), CF_ENOTFOUND);
  ok(O->instance_of(s, "job", 102, &ik, &err), &err);
  O->close(s);
}

static void leases_hold_until_they_expire(void **state) {
  struct cf_error err = {0};
  struct cf_store *s = open_db("lease.db", CF_STORE_FAST);
  struct cf_store_instance i = instance(100, "order");
  struct cf_store_job jobs[3] = {job(102, "mail", 3), job(101, "mail", 3), job(103, "charge", 3)};
  struct cf_store_instance_rows rows = {.jobs = jobs, .njobs = 3};
  ok(O->instance_insert(s, &i, &rows, &err), &err);

  /* Lowest key first, at most max. */
  struct cf_store_job *got = NULL;
  size_t n = 0;
  ok(O->jobs_activate(s, "mail", 1, "w1", 100, 200, &got, &n, &err), &err);
  assert_int_equal(n, 1);
  assert_int_equal(got[0].key, 101);
  assert_int_equal(got[0].instance_key, 100);
  assert_string_equal(got[0].type, "mail");
  assert_int_equal(got[0].retries, 3);
  free_jobs(got, n);
  assert_int_equal(activate(s, "mail", 10, "w1", 100, 200), 1); /* 102 only */
  /* Leased: not activated again before the lease ends... */
  assert_int_equal(activate(s, "mail", 10, "w2", 150, 250), 0);
  assert_int_equal(activate(s, "mail", 0, "w2", 150, 250), 0);
  /* ...then available to another worker. */
  assert_int_equal(activate(s, "mail", 10, "w2", 200, 300), 2);
  struct cf_store_job j;
  ok(O->job_get(s, 101, &j, &err), &err);
  assert_string_equal(j.worker, "w2");
  assert_int_equal(j.lease_until_ms, 300);
  cf_store_job_release(&j);

  /* An instance update that leaves the job as it is keeps the lease. */
  i.variables = (char *)"{\"x\":1}";
  ok(O->instance_update(s, &i, 1, &rows, &err), &err);
  ok(O->job_get(s, 101, &j, &err), &err);
  assert_string_equal(j.worker, "w2");
  assert_int_equal(j.lease_until_ms, 300);
  cf_store_job_release(&j);
  assert_int_equal(activate(s, "mail", 10, "w3", 250, 400), 0);

  /* A failure with back-off ends the attempt: free again, but only after the back-off. */
  jobs[1].retries = 2;
  jobs[1].available_ms = 500;
  jobs[1].error_message = (char *)"smtp down";
  ok(O->instance_update(s, &i, 2, &rows, &err), &err);
  ok(O->job_get(s, 101, &j, &err), &err);
  assert_null(j.worker);
  assert_int_equal(j.lease_until_ms, 0);
  assert_int_equal(j.retries, 2);
  assert_string_equal(j.error_message, "smtp down");
  cf_store_job_release(&j);
  assert_int_equal(activate(s, "mail", 10, "w3", 499, 600), 1); /* 102: w2's lease ended at 300 */
  ok(O->job_get(s, 101, &j, &err), &err);
  assert_null(j.worker);
  cf_store_job_release(&j);
  assert_int_equal(activate(s, "mail", 10, "w3", 500, 600), 1);

  /* No retries left (state failed): never activated. */
  jobs[1].retries = 0;
  jobs[1].state = 1;
  ok(O->instance_update(s, &i, 3, &rows, &err), &err);
  assert_int_equal(activate(s, "mail", 10, "w4", 10000, 20000), 1); /* 102 only */
  assert_int_equal(activate(s, "mail", 10, "w4", 30000, 40000), 1);

  /* A job no longer in the rows is gone. */
  struct cf_store_instance_rows one = {.jobs = &jobs[2], .njobs = 1};
  ok(O->instance_update(s, &i, 4, &one, &err), &err);
  assert_int_equal(O->job_get(s, 102, &j, &err), CF_ENOTFOUND);
  assert_int_equal(O->job_get(s, 101, &j, &err), CF_ENOTFOUND);
  assert_int_equal(activate(s, "mail", 10, "w5", 90000, 99000), 0);
  assert_int_equal(activate(s, "charge", 10, "w5", 90000, 99000), 1);

  /* Inside the caller's transaction: the leases go with its rollback. */
  ok(O->begin(s, &err), &err);
  assert_int_equal(activate(s, "charge", 10, "w6", 200000, 300000), 1);
  O->rollback(s);
  ok(O->job_get(s, 103, &j, &err), &err);
  assert_string_equal(j.worker, "w5");
  cf_store_job_release(&j);
  O->close(s);
}

static void reader_does_not_wait_for_the_writer(void **state) {
  struct cf_error err = {0};
  struct cf_store *w = open_db("rw.db", 0); /* durable: synchronous=FULL */
  struct cf_store_instance a = instance(1, "order"), b = instance(2, "order");
  ok(O->instance_insert(w, &a, NULL, &err), &err);
  struct cf_store *r = open_db("rw.db", CF_STORE_READONLY);
  ok(O->begin(w, &err), &err);
  assert_int_equal(O->begin(w, &err), CF_EINVAL);
  ok(O->instance_insert(w, &b, NULL, &err), &err);
  uint64_t first;
  ok(O->reserve_keys(w, 100, &first, &err), &err);
  /* The writer holds its transaction: the reader sees the last commit, at once. */
  struct cf_store_instance got;
  ok(O->instance_get(r, 1, &got, &err), &err);
  cf_store_instance_release(&got);
  assert_int_equal(O->instance_get(r, 2, &got, &err), CF_ENOTFOUND);
  ok(O->commit(w, &err), &err);
  ok(O->instance_get(r, 2, &got, &err), &err);
  cf_store_instance_release(&got);
  assert_int_equal(O->commit(w, &err), CF_EINVAL);
  /* A rolled back batch leaves nothing. */
  ok(O->begin(w, &err), &err);
  struct cf_store_instance c = instance(3, "order");
  ok(O->instance_insert(w, &c, NULL, &err), &err);
  O->rollback(w);
  assert_int_equal(O->instance_get(w, 3, &got, &err), CF_ENOTFOUND);
  uint64_t again;
  ok(O->reserve_keys(w, 1, &again, &err), &err);
  assert_int_equal(again, first + 100);
  O->close(r);
  O->close(w);
}

/* ------------------------------------------------------------ timers, messages, history */

static void timers_come_due_in_order(void **state) {
  struct cf_error err = {0};
  struct cf_store *s = open_db("timers.db", CF_STORE_FAST);
  struct cf_store_timer start = {.key = 50, .definition_key = 7, .element_id = (char *)"daily",
                                 .due_ms = 300};
  ok(O->timer_start_set(s, &start, &err), &err);
  struct cf_store_instance i = instance(100, "order");
  struct cf_store_timer t = {.key = 101, .element_id = (char *)"wait", .due_ms = 200};
  struct cf_store_instance_rows rows = {.timers = &t, .ntimers = 1};
  ok(O->instance_insert(s, &i, &rows, &err), &err);
  struct cf_store_timer *due = NULL;
  size_t n = 0;
  ok(O->timers_due(s, 199, 10, &due, &n, &err), &err);
  assert_int_equal(n, 0);
  ok(O->timers_due(s, 300, 10, &due, &n, &err), &err);
  assert_int_equal(n, 2);
  assert_int_equal(due[0].key, 101);
  assert_int_equal(due[0].instance_key, 100);
  assert_int_equal(due[1].key, 50);
  assert_int_equal(due[1].instance_key, 0);
  assert_int_equal(due[1].definition_key, 7);
  assert_string_equal(due[1].element_id, "daily");
  for (size_t k = 0; k < n; k++) cf_store_timer_release(&due[k]);
  cf_free(due);
  /* Rescheduled (a cycle), then removed. */
  start.due_ms = 1000;
  ok(O->timer_start_set(s, &start, &err), &err);
  ok(O->timers_due(s, 999, 1, &due, &n, &err), &err);
  assert_int_equal(n, 1);
  assert_int_equal(due[0].key, 101);
  cf_store_timer_release(&due[0]);
  cf_free(due);
  start.due_ms = -1;
  ok(O->timer_start_set(s, &start, &err), &err);
  ok(O->timers_due(s, 5000, 10, &due, &n, &err), &err);
  assert_int_equal(n, 1);
  cf_store_timer_release(&due[0]);
  cf_free(due);
  /* An instance update without the timer removes it; a start timer stays put. */
  start.due_ms = 400;
  ok(O->timer_start_set(s, &start, &err), &err);
  ok(O->instance_update(s, &i, 1, &(struct cf_store_instance_rows){0}, &err), &err);
  ok(O->timers_due(s, 5000, 10, &due, &n, &err), &err);
  assert_int_equal(n, 1);
  assert_int_equal(due[0].key, 50);
  cf_store_timer_release(&due[0]);
  cf_free(due);
  O->close(s);
}

static void messages_buffer_deduplicate_and_expire(void **state) {
  struct cf_error err = {0};
  struct cf_store *s = open_db("msg.db", CF_STORE_FAST);
  struct cf_store_message m = {.key = 1, .name = (char *)"paid", .correlation_key = (char *)"o-1",
                               .message_id = (char *)"mid-1", .variables = (char *)"{\"a\":1}",
                               .published_ms = 100, .expires_ms = 1000};
  ok(O->message_insert(s, &m, &err), &err);
  struct cf_store_message m2 = m;
  m2.key = 2, m2.message_id = NULL, m2.expires_ms = 2000;
  ok(O->message_insert(s, &m2, &err), &err);
  struct cf_store_message *found = NULL;
  size_t n = 0;
  ok(O->message_find(s, "paid", "o-1", 500, &found, &n, &err), &err);
  assert_int_equal(n, 2);
  assert_int_equal(found[0].key, 1);
  assert_string_equal(found[0].variables, "{\"a\":1}");
  assert_string_equal(found[0].message_id, "mid-1");
  for (size_t k = 0; k < n; k++) cf_store_message_release(&found[k]);
  cf_free(found);
  ok(O->message_find(s, "paid", "o-2", 500, &found, &n, &err), &err);
  assert_int_equal(n, 0);
  bool exists = false;
  ok(O->message_by_id(s, "mid-1", 500, &exists, &err), &err);
  assert_true(exists);
  ok(O->message_by_id(s, "mid-9", 500, &exists, &err), &err);
  assert_false(exists);
  /* The same id while the first is buffered: refused. */
  m.key = 3;
  assert_int_equal(O->message_insert(s, &m, &err), CF_ECONFLICT);
  assert_non_null(strstr(err.msg, "mid-1"));
  /* At most once per process id. */
  bool already = true;
  ok(O->message_correlated(s, 1, "order", &already, false, &err), &err);
  assert_false(already);
  ok(O->message_correlated(s, 1, "order", &already, true, &err), &err);
  assert_false(already);
  ok(O->message_correlated(s, 1, "order", &already, true, &err), &err);
  assert_true(already);
  ok(O->message_correlated(s, 1, "lead", &already, false, &err), &err);
  assert_false(already);
  /* Expiry: at expires_ms the message is gone, and its id is free again. */
  ok(O->message_find(s, "paid", "o-1", 1000, &found, &n, &err), &err);
  assert_int_equal(n, 1);
  cf_store_message_release(&found[0]);
  cf_free(found);
  ok(O->message_by_id(s, "mid-1", 1000, &exists, &err), &err);
  assert_false(exists);
  size_t removed = 0;
  ok(O->messages_expire(s, 1000, &removed, &err), &err);
  assert_int_equal(removed, 1);
  ok(O->message_correlated(s, 1, "order", &already, false, &err), &err);
  assert_false(already);
  m.key = 4, m.published_ms = 1500, m.expires_ms = 3000;
  ok(O->message_insert(s, &m, &err), &err);
  O->close(s);
}

/* crmflow migrate copies buffered messages page by page, expired ones and marks included. */
static void message_list_pages_through_every_message_with_its_marks(void **state) {
  struct cf_error err = {0};
  struct cf_store *s = open_db("msglist.db", CF_STORE_FAST);
  struct cf_store_message m = {.key = 5, .name = (char *)"paid", .correlation_key = (char *)"o-1",
                               .message_id = (char *)"mid-5", .variables = (char *)"{\"a\":1}",
                               .published_ms = 100, .expires_ms = 200};
  ok(O->message_insert(s, &m, &err), &err);
  m.key = 7, m.name = (char *)"shipped", m.correlation_key = NULL, m.message_id = NULL;
  m.variables = NULL, m.published_ms = 300, m.expires_ms = 9000;
  ok(O->message_insert(s, &m, &err), &err);
  m.key = 9, m.name = (char *)"paid", m.correlation_key = (char *)"o-2", m.expires_ms = 9500;
  ok(O->message_insert(s, &m, &err), &err);
  bool already;
  ok(O->message_correlated(s, 7, "order", &already, true, &err), &err);
  ok(O->message_correlated(s, 7, "lead", &already, true, &err), &err);
  ok(O->message_correlated(s, 5, "order", &already, true, &err), &err);
  /* A mark of no buffered message is not listed with a neighbour. */
  ok(O->message_correlated(s, 8, "ghost", &already, true, &err), &err);

  struct cf_store_message *got = NULL;
  size_t n = 0;
  /* Key 5 expired at 200: listed all the same (a copy keeps what is stored). */
  ok(O->message_list(s, 0, 2, &got, &n, &err), &err);
  assert_int_equal(n, 2);
  assert_int_equal(got[0].key, 5);
  assert_string_equal(got[0].name, "paid");
  assert_string_equal(got[0].correlation_key, "o-1");
  assert_string_equal(got[0].message_id, "mid-5");
  assert_string_equal(got[0].variables, "{\"a\":1}");
  assert_int_equal(got[0].published_ms, 100);
  assert_int_equal(got[0].expires_ms, 200);
  assert_int_equal(got[0].ncorrelated, 1);
  assert_string_equal(got[0].correlated[0], "order");
  assert_int_equal(got[1].key, 7);
  assert_null(got[1].correlation_key);
  assert_null(got[1].message_id);
  assert_null(got[1].variables);
  assert_int_equal(got[1].expires_ms, 9000);
  assert_int_equal(got[1].ncorrelated, 2);
  assert_string_equal(got[1].correlated[0], "lead");
  assert_string_equal(got[1].correlated[1], "order");
  for (size_t k = 0; k < n; k++) cf_store_message_release(&got[k]);
  cf_free(got);
  /* The next page starts after the last key seen. */
  ok(O->message_list(s, 7, 2, &got, &n, &err), &err);
  assert_int_equal(n, 1);
  assert_int_equal(got[0].key, 9);
  assert_int_equal(got[0].ncorrelated, 0);
  assert_null(got[0].correlated);
  cf_store_message_release(&got[0]);
  cf_free(got);
  ok(O->message_list(s, 9, 2, &got, &n, &err), &err);
  assert_int_equal(n, 0);
  cf_free(got);
  /* limit 0: the default page, every message here. */
  ok(O->message_list(s, 0, 0, &got, &n, &err), &err);
  assert_int_equal(n, 3);
  for (size_t k = 0; k < n; k++) cf_store_message_release(&got[k]);
  cf_free(got);
  /* Other reads leave the marks out. */
  ok(O->message_find(s, "shipped", NULL, 500, &got, &n, &err), &err);
  assert_int_equal(n, 1);
  assert_null(got[0].correlated);
  assert_int_equal(got[0].ncorrelated, 0);
  cf_store_message_release(&got[0]);
  cf_free(got);
  /* Expiry takes the marks with the message. */
  size_t removed = 0;
  ok(O->messages_expire(s, 1000, &removed, &err), &err);
  assert_int_equal(removed, 1);
  ok(O->message_list(s, 0, 10, &got, &n, &err), &err);
  assert_int_equal(n, 2);
  assert_int_equal(got[0].key, 7);
  assert_int_equal(got[0].ncorrelated, 2);
  for (size_t k = 0; k < n; k++) cf_store_message_release(&got[k]);
  cf_free(got);
  O->close(s);
}

static void history_appends_lists_and_prunes(void **state) {
  struct cf_error err = {0};
  struct cf_store *s = open_db("hist.db", CF_STORE_FAST);
  struct cf_store_instance live = instance(1, "order"), old = instance(2, "order"),
                           older = instance(3, "order");
  old.state = CF_STORE_COMPLETED, old.ended_ms = 200;
  older.state = CF_STORE_TERMINATED, older.ended_ms = 100;
  struct cf_store_job j = job(30, "mail", 1);
  struct cf_store_instance_rows rows = {.jobs = &j, .njobs = 1};
  ok(O->instance_insert(s, &live, NULL, &err), &err);
  ok(O->instance_insert(s, &old, NULL, &err), &err);
  ok(O->instance_insert(s, &older, &rows, &err), &err);
  /* 40 events: two batches of 16 and 8 single rows. */
  struct cf_store_event ev[40];
  char details[40][16];
  for (int k = 0; k < 40; k++) {
    snprintf(details[k], sizeof details[k], "d%d", k);
    ev[k] = (struct cf_store_event){.instance_key = (uint64_t)(k % 2 ? 2 : 3), .at_ms = k,
                                    .kind = (char *)"ELEMENT_ACTIVATED", .key = (uint64_t)k,
                                    .element_id = k % 3 ? (char *)"task" : NULL,
                                    .detail = details[k], .actor = (char *)"cli",
                                    .variables = k == 4 ? (char *)"{\"v\":4}" : NULL};
  }
  ok(O->history_append(s, ev, 40, &err), &err);
  ok(O->history_append(s, ev, 0, &err), &err);
  struct cf_store_event *h = NULL;
  size_t n = 0;
  ok(O->history_list(s, 3, &h, &n, &err), &err);
  assert_int_equal(n, 20);
  for (size_t k = 0; k < n; k++) {
    assert_int_equal(h[k].key, 2 * k);
    assert_int_equal(h[k].at_ms, (int64_t)(2 * k));
    assert_string_equal(h[k].detail, details[2 * k]);
    assert_string_equal(h[k].actor, "cli");
    if ((2 * k) % 3)
      assert_string_equal(h[k].element_id, "task");
    else
      assert_null(h[k].element_id);
  }
  assert_string_equal(h[2].variables, "{\"v\":4}");
  for (size_t k = 0; k < n; k++) cf_store_event_release(&h[k]);
  cf_free(h);

  size_t removed = 99;
  ok(O->prune(s, 150, 10, &removed, &err), &err);
  assert_int_equal(removed, 1);
  struct cf_store_instance got;
  assert_int_equal(O->instance_get(s, 3, &got, &err), CF_ENOTFOUND);
  assert_int_equal(O->job_get(s, 30, &(struct cf_store_job){0}, &err), CF_ENOTFOUND);
  ok(O->history_list(s, 3, &h, &n, &err), &err);
  assert_int_equal(n, 0);
  ok(O->history_list(s, 2, &h, &n, &err), &err);
  assert_int_equal(n, 20);
  for (size_t k = 0; k < n; k++) cf_store_event_release(&h[k]);
  cf_free(h);
  ok(O->prune(s, 100000, 1, &removed, &err), &err);
  assert_int_equal(removed, 1);
  ok(O->prune(s, 100000, 1, &removed, &err), &err);
  assert_int_equal(removed, 0);
  ok(O->instance_get(s, 1, &got, &err), &err); /* active: never pruned */
  cf_store_instance_release(&got);
  ok(O->history_list(s, 2, &h, &n, &err), &err);
  assert_int_equal(n, 0);
  O->close(s);
}

/* ------------------------------------------------------------ operations inside a batch */

static bool has_instance(struct cf_store *s, uint64_t key) {
  struct cf_error err = {0};
  struct cf_store_instance got;
  int rc = O->instance_get(s, key, &got, &err);
  if (rc == CF_OK) cf_store_instance_release(&got);
  else if (rc != CF_ENOTFOUND) fail_msg("instance_get %llu: %s", (unsigned long long)key, err.msg);
  return rc == CF_OK;
}

static bool has_job(struct cf_store *s, uint64_t key) {
  struct cf_error err = {0};
  struct cf_store_job got;
  int rc = O->job_get(s, key, &got, &err);
  if (rc == CF_OK) cf_store_job_release(&got);
  else if (rc != CF_ENOTFOUND) fail_msg("job_get %llu: %s", (unsigned long long)key, err.msg);
  return rc == CF_OK;
}

static size_t history_count(struct cf_store *s, uint64_t instance_key) {
  struct cf_error err = {0};
  struct cf_store_event *h = NULL;
  size_t n = 0;
  ok(O->history_list(s, instance_key, &h, &n, &err), &err);
  for (size_t k = 0; k < n; k++) cf_store_event_release(&h[k]);
  cf_free(h);
  return n;
}

/*
 * An operation undone with op_end(keep=false) leaves nothing of itself (its
 * instance, side rows, history, leases), the operations kept around it stay,
 * and the batch goes on to commit.
 */
static void an_undone_operation_leaves_nothing_and_the_batch_goes_on(void **state) {
  struct cf_error err = {0};
  struct cf_store *s = open_db("ops.db", CF_STORE_FAST);
  struct cf_store_instance base = instance(1, "order");
  struct cf_store_job bj = job(2, "mail", 3);
  struct cf_store_user_task bt3 = {.key = 3, .element_id = (char *)"approve"};
  ok(O->instance_insert(s, &base, &(struct cf_store_instance_rows){.jobs = &bj, .njobs = 1,
                                                                   .tasks = &bt3, .ntasks = 1},
                        &err),
     &err);

  /* No transaction: an operation has nothing to be a part of. */
  assert_int_equal(O->op_begin(s, &err), CF_EINVAL);
  assert_non_null(strstr(err.msg, "transaction"));

  ok(O->begin(s, &err), &err);
  /* A single call that fails half way (its instance row is written, then its task's key is
   * taken) inside an operation. This backend sends an operation's writes with its end (one round
   * trip), so the call says CF_OK and op_end(keep=true) gives the write's error, having undone
   * the whole operation: nothing of it is left, and the transaction stays open. */
  struct cf_store_instance half = instance(5, "order");
  struct cf_store_job hj = job(6, "mail", 3);
  ok(O->op_begin(s, &err), &err);
  assert_int_equal(O->op_begin(s, &err), CF_EINVAL); /* one at a time */
  ok(O->instance_insert(s, &half, &(struct cf_store_instance_rows){.jobs = &hj, .njobs = 1,
                                                                   .tasks = &bt3, .ntasks = 1},
                        &err),
     &err);
  assert_int_equal(O->op_end(s, true, &err), CF_ECONFLICT);
  assert_non_null(strstr(err.msg, "storing a new instance"));
  assert_false(has_instance(s, 5));
  assert_false(has_job(s, 6));
  /* Outside an operation, a call that fails half way leaves nothing of itself on its own. */
  assert_int_equal(O->instance_insert(s, &half, &(struct cf_store_instance_rows){
                                                    .jobs = &hj, .njobs = 1, .tasks = &bt3,
                                                    .ntasks = 1},
                                      &err),
                   CF_ECONFLICT);
  assert_false(has_instance(s, 5));
  assert_false(has_job(s, 6));
  /* Kept. */
  ok(O->op_begin(s, &err), &err);
  struct cf_store_instance a = instance(10, "order");
  struct cf_store_job aj = job(11, "mail", 3);
  struct cf_store_instance_rows arows = {.jobs = &aj, .njobs = 1};
  ok(O->instance_insert(s, &a, &arows, &err), &err);
  ok(O->op_end(s, true, &err), &err);
  /* Undone after it wrote everywhere it can: a new instance with rows, history, a lease on an
   * existing job, an update of an existing instance, a buffered message. */
  ok(O->op_begin(s, &err), &err);
  struct cf_store_instance b = instance(20, "order");
  struct cf_store_job bj2 = job(21, "mail", 3);
  struct cf_store_timer bt = {.key = 22, .element_id = (char *)"wait", .due_ms = 50};
  ok(O->instance_insert(s, &b, &(struct cf_store_instance_rows){.jobs = &bj2, .njobs = 1,
                                                                .timers = &bt, .ntimers = 1},
                        &err),
     &err);
  struct cf_store_event ev = {.instance_key = 20, .kind = (char *)"PROCESS_STARTED", .key = 20};
  ok(O->history_append(s, &ev, 1, &err), &err);
  assert_int_equal(activate(s, "mail", 10, "w1", 0, 100), 3); /* 2, 11 and 21 */
  base.variables = (char *)"{\"amount\":0}";
  ok(O->instance_update(s, &base, 1, NULL, &err), &err);
  struct cf_store_message m = {.key = 23, .name = (char *)"paid", .message_id = (char *)"m-23",
                               .published_ms = 0, .expires_ms = 1000};
  ok(O->message_insert(s, &m, &err), &err);
  assert_true(has_instance(s, 20)); /* visible inside the operation */
  ok(O->op_end(s, false, &err), &err);
  /* Gone at once, inside the same transaction. */
  assert_false(has_instance(s, 20));
  assert_false(has_job(s, 21));
  assert_int_equal(history_count(s, 20), 0);
  assert_true(has_instance(s, 10));
  /* A later operation whose second write conflicts, ended with keep=false before the conflict
   * was read: undone, without an error (what its writes answered does not matter). */
  ok(O->op_begin(s, &err), &err);
  struct cf_store_instance c = instance(30, "order");
  ok(O->instance_insert(s, &c, NULL, &err), &err);
  ok(O->instance_insert(s, &a, NULL, &err), &err); /* key 10 is taken: refused at the end */
  ok(O->op_end(s, false, &err), &err);
  /* And one after it is kept: the transaction is still open and commits. */
  ok(O->op_begin(s, &err), &err);
  struct cf_store_instance d = instance(40, "order");
  ok(O->instance_insert(s, &d, NULL, &err), &err);
  ok(O->op_end(s, true, &err), &err);
  ok(O->commit(s, &err), &err);
  O->close(s);

  /* What is durable, seen by a fresh reader. */
  struct cf_store *r = open_db("ops.db", CF_STORE_READONLY);
  assert_true(has_instance(r, 10));
  assert_true(has_job(r, 11));
  assert_true(has_instance(r, 40));
  assert_false(has_instance(r, 20));
  assert_false(has_job(r, 21));
  assert_false(has_instance(r, 30));
  assert_false(has_instance(r, 5));
  assert_false(has_job(r, 6));
  assert_int_equal(history_count(r, 20), 0);
  struct cf_store_timer *due = NULL;
  size_t n = 0;
  ok(O->timers_due(r, 1000, 10, &due, &n, &err), &err);
  assert_int_equal(n, 0);
  bool exists = true;
  ok(O->message_by_id(r, "m-23", 0, &exists, &err), &err);
  assert_false(exists);
  struct cf_store_instance got;
  ok(O->instance_get(r, 1, &got, &err), &err);
  assert_int_equal(got.row_version, 1); /* the undone update did not happen */
  assert_string_equal(got.variables, "{\"amount\":19.99}");
  cf_store_instance_release(&got);
  struct cf_store_job jg;
  ok(O->job_get(r, 2, &jg, &err), &err);
  assert_null(jg.worker); /* the undone lease did not happen */
  cf_store_job_release(&jg);
  ok(O->job_get(r, 11, &jg, &err), &err);
  assert_null(jg.worker);
  cf_store_job_release(&jg);
  O->close(r);
}

static void definition_list_gives_every_or_the_latest_version(void **state) {
  struct cf_error err = {0};
  struct cf_store *s = open_db("deflist.db", CF_STORE_FAST);
  struct cf_store_definition *list = NULL;
  size_t n = 99;
  ok(O->definition_list(s, true, &list, &n, &err), &err);
  assert_int_equal(n, 0);
  assert_null(list);
  /* Inserted out of order: order v1..v3 (v2 tagged), lead v1..v2, ship v1. */
  static const struct {
    uint64_t key;
    const char *pid;
    const char *tag;
  } defs[] = {{10, "order", NULL}, {11, "lead", NULL},  {12, "order", "v2"},
              {13, "ship", NULL},  {14, "lead", NULL},  {15, "order", NULL}};
  for (size_t k = 0; k < sizeof defs / sizeof defs[0]; k++) {
    struct cf_store_definition d = {.key = defs[k].key, .process_id = (char *)defs[k].pid,
                                    .version_tag = (char *)defs[k].tag, .deployment_key = 1,
                                    .resource_name = (char *)"r.bpmn", .checksum = (char *)"c",
                                    .xml = (char *)"<definitions/>", .xml_len = 14,
                                    .deployed_ms = (int64_t)k};
    ok(O->definition_insert(s, &d, &err), &err);
  }
  ok(O->definition_list(s, true, &list, &n, &err), &err);
  assert_int_equal(n, 3);
  static const struct {
    const char *pid;
    int32_t version;
    uint64_t key;
  } latest[] = {{"lead", 2, 14}, {"order", 3, 15}, {"ship", 1, 13}};
  for (size_t k = 0; k < n; k++) {
    assert_string_equal(list[k].process_id, latest[k].pid);
    assert_int_equal(list[k].version, latest[k].version);
    assert_int_equal(list[k].key, latest[k].key);
    assert_string_equal(list[k].resource_name, "r.bpmn");
    assert_null(list[k].xml); /* a list is for showing */
    assert_int_equal(list[k].xml_len, 0);
    cf_store_definition_release(&list[k]);
  }
  cf_free(list);
  ok(O->definition_list(s, false, &list, &n, &err), &err);
  assert_int_equal(n, 6);
  static const struct {
    const char *pid;
    int32_t version;
  } all[] = {{"lead", 1}, {"lead", 2}, {"order", 1}, {"order", 2}, {"order", 3}, {"ship", 1}};
  for (size_t k = 0; k < n; k++) {
    assert_string_equal(list[k].process_id, all[k].pid);
    assert_int_equal(list[k].version, all[k].version);
    assert_null(list[k].xml);
  }
  assert_string_equal(list[3].version_tag, "v2");
  assert_int_equal(list[3].deployed_ms, 2);
  for (size_t k = 0; k < n; k++) cf_store_definition_release(&list[k]);
  cf_free(list);
  O->close(s);
}

static void instance_list_filters_children_by_parent(void **state) {
  struct cf_error err = {0};
  struct cf_store *s = open_db("parent.db", CF_STORE_FAST);
  /* 1 calls 2, 3 (a "ship") and 5; 2 calls 4. */
  static const struct {
    uint64_t key, parent;
    const char *pid;
  } tree[] = {{1, 0, "order"}, {2, 1, "pay"}, {3, 1, "ship"}, {4, 2, "pay"}, {5, 1, "pay"}};
  for (size_t k = 0; k < 5; k++) {
    struct cf_store_instance i = instance(tree[k].key, tree[k].pid);
    i.parent_key = tree[k].parent;
    ok(O->instance_insert(s, &i, NULL, &err), &err);
  }
  struct cf_store_instance *list = NULL;
  size_t n = 0;
  struct cf_store_instance_filter f = {.state = -1, .incident = -1, .parent_key = 1};
  ok(O->instance_list(s, &f, &list, &n, &err), &err);
  assert_int_equal(n, 3);
  assert_int_equal(list[0].key, 2);
  assert_int_equal(list[1].key, 3);
  assert_int_equal(list[2].key, 5);
  for (size_t k = 0; k < n; k++) {
    assert_int_equal(list[k].parent_key, 1);
    cf_store_instance_release(&list[k]);
  }
  cf_free(list);
  /* With another filter, and paging. */
  f.process_id = "pay";
  ok(O->instance_list(s, &f, &list, &n, &err), &err);
  assert_int_equal(n, 2);
  assert_int_equal(list[0].key, 2);
  assert_int_equal(list[1].key, 5);
  for (size_t k = 0; k < n; k++) cf_store_instance_release(&list[k]);
  cf_free(list);
  f.after_key = 2;
  ok(O->instance_list(s, &f, &list, &n, &err), &err);
  assert_int_equal(n, 1);
  assert_int_equal(list[0].key, 5);
  cf_store_instance_release(&list[0]);
  cf_free(list);
  /* Grandchildren are not children. */
  f = (struct cf_store_instance_filter){.state = -1, .incident = -1, .parent_key = 2};
  ok(O->instance_list(s, &f, &list, &n, &err), &err);
  assert_int_equal(n, 1);
  assert_int_equal(list[0].key, 4);
  cf_store_instance_release(&list[0]);
  cf_free(list);
  f.parent_key = 4;
  ok(O->instance_list(s, &f, &list, &n, &err), &err);
  assert_int_equal(n, 0);
  assert_null(list);
  /* 0: no filter. */
  f.parent_key = 0;
  ok(O->instance_list(s, &f, &list, &n, &err), &err);
  assert_int_equal(n, 5);
  for (size_t k = 0; k < n; k++) cf_store_instance_release(&list[k]);
  cf_free(list);
  O->close(s);
}

/* ------------------------------------------------------------ several connections (nodes) */

/*
 * Two connections, as two nodes: while one holds its leases in an open
 * transaction, the other skips those jobs (FOR UPDATE SKIP LOCKED) instead of
 * waiting or leasing them too; after the commit the leases hold for both.
 */
static void two_connections_lease_each_job_once(void **state) {
  struct cf_error err = {0};
  struct cf_store *a = open_db("a", CF_STORE_FAST), *b = open_db("b", CF_STORE_FAST);
  struct cf_store_instance i = instance(100, "order");
  struct cf_store_job jobs[4] = {job(101, "mail", 3), job(102, "mail", 3), job(103, "mail", 3),
                                 job(104, "mail", 3)};
  ok(O->instance_insert(a, &i, &(struct cf_store_instance_rows){.jobs = jobs, .njobs = 4}, &err),
     &err);
  ok(O->begin(a, &err), &err);
  struct cf_store_job *ga = NULL, *gb = NULL;
  size_t na = 0, nb = 0;
  ok(O->jobs_activate(a, "mail", 2, "node-a", 100, 1000, &ga, &na, &err), &err);
  assert_int_equal(na, 2);
  assert_int_equal(ga[0].key, 101);
  assert_int_equal(ga[1].key, 102);
  /* b does not wait for a's transaction, and gets the other two. */
  ok(O->jobs_activate(b, "mail", 10, "node-b", 100, 1000, &gb, &nb, &err), &err);
  assert_int_equal(nb, 2);
  assert_int_equal(gb[0].key, 103);
  assert_int_equal(gb[1].key, 104);
  assert_string_equal(gb[0].worker, "node-b");
  free_jobs(gb, nb);
  /* Nothing left for b while a holds its two, nor after a commits (leased until 1000). */
  assert_int_equal(activate(b, "mail", 10, "node-b", 200, 1000), 0);
  ok(O->commit(a, &err), &err);
  assert_int_equal(activate(b, "mail", 10, "node-b", 999, 2000), 0);
  struct cf_store_job j;
  ok(O->job_get(b, 101, &j, &err), &err);
  assert_string_equal(j.worker, "node-a");
  assert_int_equal(j.lease_until_ms, 1000);
  cf_store_job_release(&j);
  /* A rolled back lease is no lease: a's second batch gives 101..102 up again. */
  ok(O->begin(a, &err), &err);
  assert_int_equal(activate(a, "mail", 10, "node-a", 1000, 3000), 4);
  O->rollback(a);
  assert_int_equal(activate(b, "mail", 10, "node-b", 1000, 3000), 4);
  free_jobs(ga, na);
  O->close(a);
  O->close(b);
}

/*
 * Two nodes, each inside a batch, both reserve keys: the second does not wait for the first's
 * batch to end (the keys row is never held for a batch; lock_timeout turns a wait into an
 * error rather than a hang), the blocks never overlap, and a rolled back batch's keys are not
 * handed out again.
 */
static void keys_reserved_in_a_batch_do_not_wait_for_another_batch(void **state) {
  struct cf_error err = {0};
  setenv("PGOPTIONS", "-c lock_timeout=3s", 1);
  struct cf_store *a = open_db("a", CF_STORE_FAST), *b = open_db("b", CF_STORE_FAST);
  unsetenv("PGOPTIONS");
  uint64_t ka, kb, kb2, later;
  ok(O->begin(a, &err), &err);
  ok(O->reserve_keys(a, 100, &ka, &err), &err);
  ok(O->begin(b, &err), &err);
  ok(O->reserve_keys(b, 100, &kb, &err), &err);
  ok(O->reserve_keys(b, 7, &kb2, &err), &err);
  assert_true(kb >= ka + 100 || ka >= kb + 100);
  assert_true(kb2 >= kb + 100 && (kb2 >= ka + 100 || ka >= kb2 + 7));
  O->rollback(a);
  ok(O->commit(b, &err), &err);
  ok(O->reserve_keys(a, 1, &later, &err), &err);
  assert_true(later >= ka + 100 && later >= kb2 + 7);
  O->close(a);
  O->close(b);
}

/*
 * Two nodes' batches, each holding a kept operation's lock: an operation of the first that needs
 * the row the second holds gives up after a short wait (instead of waiting for the other batch,
 * or for PostgreSQL's deadlock detection if the other waits back), is undone alone, and must_end
 * says to commit what the batch holds and run it again; after the commit the other batch goes on.
 */
static void a_lost_lock_wait_ends_the_batch_not_the_operations_before(void **state) {
  struct cf_error err = {0};
  struct cf_store *a = open_db("a", CF_STORE_FAST), *b = open_db("b", CF_STORE_FAST);
  struct cf_store_instance x = instance(100, "order"), y = instance(200, "order");
  ok(O->instance_insert(a, &x, NULL, &err), &err);
  ok(O->instance_insert(a, &y, NULL, &err), &err);
  ok(O->begin(a, &err), &err);
  ok(O->op_begin(a, &err), &err);
  x.variables = (char *)"{\"by\":\"a\"}";
  ok(O->instance_update(a, &x, 1, NULL, &err), &err);
  ok(O->op_end(a, true, &err), &err);
  assert_false(O->must_end(a));
  ok(O->begin(b, &err), &err);
  ok(O->op_begin(b, &err), &err);
  y.variables = (char *)"{\"by\":\"b\"}";
  ok(O->instance_update(b, &y, 1, NULL, &err), &err);
  ok(O->op_end(b, true, &err), &err);
  /* a wants y, which b's batch holds. */
  ok(O->op_begin(a, &err), &err);
  y.variables = (char *)"{\"by\":\"a\"}";
  int rc = O->instance_update(a, &y, 1, NULL, &err);
  if (rc == CF_OK) rc = O->op_end(a, true, &err);
  else ok(O->op_end(a, false, &err), &err);
  assert_int_equal(rc, CF_ECONFLICT);
  assert_non_null(strstr(err.msg, "lock timeout"));
  assert_true(O->must_end(a));
  ok(O->commit(a, &err), &err); /* what a kept stands */
  ok(O->commit(b, &err), &err);
  struct cf_store_instance got;
  ok(O->instance_get(b, 100, &got, &err), &err);
  assert_string_equal(got.variables, "{\"by\":\"a\"}");
  cf_store_instance_release(&got);
  ok(O->instance_get(a, 200, &got, &err), &err);
  assert_string_equal(got.variables, "{\"by\":\"b\"}");
  assert_int_equal(got.row_version, 2);
  cf_store_instance_release(&got);
  O->close(a);
  O->close(b);
}

/*
 * Two nodes' writers look for due timers at once, each inside its batch: the second gets only those
 * the first did not take (each timer fires on one node), and sees the rest again once the first
 * batch ended without firing them.
 */
static void two_nodes_never_take_the_same_due_timer(void **state) {
  struct cf_error err = {0};
  struct cf_store *a = open_db("a", CF_STORE_FAST), *b = open_db("b", CF_STORE_FAST);
  struct cf_store_timer start = {.key = 50, .definition_key = 7, .element_id = (char *)"daily", .due_ms = 300};
  ok(O->timer_start_set(a, &start, &err), &err);
  struct cf_store_instance i = instance(100, "order");
  struct cf_store_timer t = {.key = 101, .element_id = (char *)"wait", .due_ms = 200};
  ok(O->instance_insert(a, &i, &(struct cf_store_instance_rows){.timers = &t, .ntimers = 1}, &err), &err);
  struct cf_store_timer *da = NULL, *db = NULL;
  size_t na = 0, nb = 0;
  ok(O->begin(a, &err), &err);
  ok(O->timers_due(a, 1000, 1, &da, &na, &err), &err);
  assert_int_equal(na, 1);
  assert_int_equal(da[0].key, 101);
  ok(O->begin(b, &err), &err);
  ok(O->timers_due(b, 1000, 10, &db, &nb, &err), &err);
  assert_int_equal(nb, 1);
  assert_int_equal(db[0].key, 50); /* not 101, which a holds */
  cf_store_timer_release(&db[0]);
  cf_free(db);
  O->rollback(b);
  O->rollback(a); /* a did not fire it: it is due again, for anyone */
  ok(O->begin(b, &err), &err);
  ok(O->timers_due(b, 1000, 10, &db, &nb, &err), &err);
  assert_int_equal(nb, 2);
  for (size_t k = 0; k < nb; k++) cf_store_timer_release(&db[k]);
  cf_free(db);
  ok(O->commit(b, &err), &err);
  cf_store_timer_release(&da[0]);
  cf_free(da);
  O->close(a);
  O->close(b);
}

/*
 * others_wrote: true the first time, then only after another connection committed a write (not
 * after this handle's own commits, nor another's transaction that wrote nothing or rolled back);
 * a read-only handle always says true (it keeps nothing to check).
 */
static void others_wrote_tells_another_connections_commit(void **state) {
  struct cf_error err = {0};
  struct cf_store *a = open_db("a", CF_STORE_FAST), *b = open_db("b", CF_STORE_FAST);
  bool w = false;
#define ASK(h, want)                            \
  do {                                          \
    ok(O->begin(h, &err), &err);                \
    ok(O->others_wrote(h, &w, &err), &err);     \
    O->rollback(h);                             \
    assert_int_equal(w, want);                  \
  } while (0)
  ASK(b, true); /* the first time */
  ASK(b, false);
  struct cf_store_instance i = instance(100, "order"), j = instance(200, "order");
  ok(O->instance_insert(a, &i, NULL, &err), &err); /* a's own transaction, committed */
  ASK(b, true);
  ASK(b, false);
  ok(O->instance_insert(b, &j, NULL, &err), &err); /* b's own */
  ASK(b, false);
  ok(O->begin(a, &err), &err); /* a transaction that writes nothing */
  ok(O->commit(a, &err), &err);
  ASK(b, false);
  ok(O->begin(a, &err), &err); /* one that writes and rolls back */
  struct cf_store_instance k = instance(300, "order");
  ok(O->instance_insert(a, &k, NULL, &err), &err);
  O->rollback(a);
  ASK(b, false);
  ok(O->begin(a, &err), &err); /* a batch: an operation kept, committed */
  ok(O->op_begin(a, &err), &err);
  ok(O->instance_insert(a, &k, NULL, &err), &err);
  ok(O->op_end(a, true, &err), &err);
  ok(O->commit(a, &err), &err);
  ASK(b, true);
  ASK(a, true); /* a never asked: the first time (b's insert of 200 is in it) */
  ASK(a, false);
#undef ASK
  struct cf_store *r = open_db("b", CF_STORE_READONLY);
  for (int n = 0; n < 2; n++) {
    ok(O->others_wrote(r, &w, &err), &err);
    assert_true(w);
  }
  O->close(r);
  O->close(a);
  O->close(b);
}

/* Two connections update one instance from the same version: one wins, the other is told, nothing is applied twice. */
static void two_connections_race_on_an_instance(void **state) {
  struct cf_error err = {0};
  struct cf_store *a = open_db("a", CF_STORE_FAST), *b = open_db("b", CF_STORE_FAST);
  struct cf_store_instance i = instance(100, "order");
  ok(O->instance_insert(a, &i, NULL, &err), &err);
  struct cf_store_instance got;
  ok(O->instance_get(b, 100, &got, &err), &err);
  assert_int_equal(got.row_version, 1);
  cf_store_instance_release(&got);
  ok(O->begin(a, &err), &err);
  i.variables = (char *)"{\"by\":\"a\"}";
  ok(O->instance_update(a, &i, 1, NULL, &err), &err);
  ok(O->commit(a, &err), &err);
  /* b read version 1 too; inside its batch the conflict undoes only its own call. */
  ok(O->begin(b, &err), &err);
  i.variables = (char *)"{\"by\":\"b\"}";
  assert_int_equal(O->instance_update(b, &i, 1, NULL, &err), CF_ECONFLICT);
  assert_non_null(strstr(err.msg, "version 2, expected 1"));
  struct cf_store_instance c = instance(200, "order");
  ok(O->instance_insert(b, &c, NULL, &err), &err);
  ok(O->commit(b, &err), &err);
  ok(O->instance_get(a, 100, &got, &err), &err);
  assert_string_equal(got.variables, "{\"by\":\"a\"}");
  assert_int_equal(got.row_version, 2);
  cf_store_instance_release(&got);
  ok(O->instance_get(a, 200, &got, &err), &err);
  cf_store_instance_release(&got);
  /* Keys reserved by both never overlap. */
  uint64_t ka, kb;
  ok(O->reserve_keys(a, 100, &ka, &err), &err);
  ok(O->reserve_keys(b, 100, &kb, &err), &err);
  assert_true(kb >= ka + 100 || ka >= kb + 100);
  O->close(a);
  O->close(b);
}

/*
 * A refused call of the principals, the CRM rows or a search leaves the caller's transaction usable
 * (PostgreSQL aborts a transaction on a failed statement: each call runs in a savepoint, and
 * conflicts are looked up before the write). Fields json-c takes but PostgreSQL's jsonb does not
 * (a \u0000) are refused by the statement, as CF_EINVAL.
 */
static void refused_calls_leave_the_transaction_usable(void **state) {
  struct cf_error err = {0};
  struct cf_store *s = open_db("tx", CF_STORE_FAST);
  ok(O->begin(s, &err), &err);
  struct cf_store_user u = {.name = (char *)"ann", .role = (char *)"admin"};
  ok(O->user_put(s, &u, true, &err), &err);
  assert_int_equal(O->user_put(s, &u, true, &err), CF_ECONFLICT);
  struct cf_store_record r = {.key = 5, .type = (char *)"lead", .version = 1,
                              .fields = (char *)"{\"a\":\"x\\u0000y\"}"};
  assert_int_equal(O->record_insert(s, &r, &err), CF_EINVAL);
  r.fields = (char *)"{\"a\":1}";
  ok(O->record_insert(s, &r, &err), &err);
  assert_int_equal(O->record_insert(s, &r, &err), CF_ECONFLICT);
  struct cf_store_result res = {0};
  struct cf_store_qcond c = {.field = "nope", .op = CF_STORE_EQ,
                             .values = &(struct cf_store_qvalue){.num = 1}, .nvalues = 1};
  struct cf_store_query q = {.entity = CF_STORE_INSTANCES, .conds = &c, .nconds = 1, .limit = 10};
  assert_int_equal(O->search(s, &q, &res, &err), CF_EINVAL);
  ok(O->crm_state_put(s, "x", "1", &err), &err);
  struct cf_store_instance i = instance(1, "order");
  ok(O->instance_insert(s, &i, NULL, &err), &err);
  ok(O->commit(s, &err), &err);
  struct cf_store_instance got;
  ok(O->instance_get(s, 1, &got, &err), &err);
  cf_store_instance_release(&got);
  char *v = NULL;
  ok(O->crm_state_get(s, "x", &v, &err), &err);
  assert_string_equal(v, "1");
  cf_free(v);
  struct cf_store_record rec;
  ok(O->record_get(s, "lead", 5, &rec, &err), &err);
  assert_string_equal(rec.fields, "{\"a\":1}");
  cf_store_record_release(&rec);
  q.nconds = 0;
  ok(O->search(s, &q, &res, &err), &err);
  assert_int_equal(res.total, 1);
  cf_store_result_release(&res);
  O->close(s);
}

/* The web UI's aggregates (the SQLite backend's answers are checked through the API's tests). */
static void ui_aggregates(void **state) {
  struct cf_error err = {0};
  struct cf_store *s = open_db("ui", CF_STORE_FAST);
  struct cf_store_instance i = instance(1, "order");
  struct cf_store_job j = job(10, "mail", 3);
  j.element_id = (char *)"send";
  struct cf_store_user_task t = {.key = 20, .element_instance_key = 21, .element_id = (char *)"review",
                                 .candidate_groups = (char *)"[\"sales\",\"ops\"]",
                                 .due_date = (char *)"1970-01-01T00:00:05Z", .created_ms = 1000};
  struct cf_store_user_task late = {.key = 22, .element_instance_key = 23, .element_id = (char *)"check",
                                    .assignee = (char *)"bob", .candidate_groups = (char *)"[\"sales\"]",
                                    .due_date = (char *)"1970-01-01T00:00:01", .created_ms = 1000};
  struct cf_store_user_task tasks[2] = {t, late};
  struct cf_store_instance_rows rows = {.jobs = &j, .njobs = 1, .tasks = tasks, .ntasks = 2};
  ok(O->instance_insert(s, &i, &rows, &err), &err);
  struct cf_store_instance done = instance(2, "order");
  done.state = CF_STORE_COMPLETED;
  done.started_ms = 86400000 + 1000;
  done.ended_ms = 86400000 + 4000;
  ok(O->instance_insert(s, &done, NULL, &err), &err);
  struct cf_buf b;
  cf_buf_init(&b);
  ok(O->element_statistics(s, 7, &b, &err), &err);
  assert_string_equal(b.data, "{\"items\":[{\"elementId\":\"check\",\"active\":1,\"incidents\":0},"
                              "{\"elementId\":\"review\",\"active\":1,\"incidents\":0},"
                              "{\"elementId\":\"send\",\"active\":1,\"incidents\":0}]}");
  cf_buf_reset(&b);
  ok(O->dashboard(s, 0, 86400000 + 5000, &b, &err), &err);
  assert_string_equal(
      b.data,
      "{\"days\":[{\"day\":\"1970-01-01\",\"started\":1,\"completed\":0},"
      "{\"day\":\"1970-01-02\",\"started\":1,\"completed\":1}],"
      "\"backlog\":[{\"group\":\"sales\",\"open\":2},{\"group\":\"ops\",\"open\":1}],"
      "\"slaBreaches\":{\"overdueTasks\":2,\"items\":["
      "{\"userTaskKey\":\"22\",\"elementId\":\"check\",\"dueDate\":\"1970-01-01T00:00:01\","
      "\"assignee\":\"bob\",\"candidateGroups\":[\"sales\"],\"processInstanceKey\":\"1\"},"
      "{\"userTaskKey\":\"20\",\"elementId\":\"review\",\"dueDate\":\"1970-01-01T00:00:05Z\","
      "\"assignee\":null,\"candidateGroups\":[\"sales\",\"ops\"],\"processInstanceKey\":\"1\"}]},"
      "\"cycleTime\":[{\"processDefinitionId\":\"order\",\"completed\":1,\"averageMs\":3000}]}");
  cf_buf_release(&b);
  O->close(s);
}

#define CASE(f) cmocka_unit_test_setup(f, empty_db)

int main(void) {
  const struct CMUnitTest tests[] = {
      CASE(open_dispatches_on_location),
      CASE(migrations_run_once_and_refuse_newer),
      CASE(failed_migration_leaves_the_database_as_it_was),
      CASE(foreign_databases_are_refused),
      CASE(read_only_handles_never_write),
      CASE(deployments_version_and_are_found_again),
      CASE(instances_store_their_rows_and_conflict),
      CASE(leases_hold_until_they_expire),
      CASE(reader_does_not_wait_for_the_writer),
      CASE(timers_come_due_in_order),
      CASE(messages_buffer_deduplicate_and_expire),
      CASE(message_list_pages_through_every_message_with_its_marks),
      CASE(history_appends_lists_and_prunes),
      CASE(an_undone_operation_leaves_nothing_and_the_batch_goes_on),
      CASE(definition_list_gives_every_or_the_latest_version),
      CASE(instance_list_filters_children_by_parent),
      CASE(two_connections_lease_each_job_once),
      CASE(two_connections_race_on_an_instance),
      CASE(keys_reserved_in_a_batch_do_not_wait_for_another_batch),
      CASE(others_wrote_tells_another_connections_commit),
      CASE(two_nodes_never_take_the_same_due_timer),
      CASE(a_lost_lock_wait_ends_the_batch_not_the_operations_before),
      CASE(refused_calls_leave_the_transaction_usable),
      CASE(ui_aggregates),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
