/*
 * Unit tests of src/store/store_sqlite_search.c: searches (the HTTP API's
 * POST .../search), task_get and incident_get, through the store's table of
 * operations, on a database in a temporary folder.
 *
 * What a user would notice: a search that finds the wrong rows (an operator,
 * a variable, a candidate group, an OR group), rows in the wrong order or
 * page, a total that does not count every match, a case-insensitive or
 * unescaped LIKE, a field name mistyped and silently ignored, a value that
 * changes the SQL, and tasks or incidents without their process.
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

static char tmpdir[64];
static const struct cf_store_ops *O;
static struct cf_store *S;

/* ------------------------------------------------------------ helpers */

static void ok(int rc, const struct cf_error *err) {
  if (rc != CF_OK) fail_msg("rc %d: %s", rc, err->msg);
}

#define NUM(v) {.num = (v)}
#define TXT(v) {.is_text = true, .text = (v)}
#define VALS(...) (const struct cf_store_qvalue[]){__VA_ARGS__}
#define NVALS(...) (sizeof VALS(__VA_ARGS__) / sizeof(struct cf_store_qvalue))
#define C(f, op, ...) {(f), CF_STORE_##op, VALS(__VA_ARGS__), NVALS(__VA_ARGS__)}
#define C0(f, op) {(f), CF_STORE_##op, NULL, 0}
#define CONDS(...) (const struct cf_store_qcond[]){__VA_ARGS__}
#define NCONDS(...) (sizeof CONDS(__VA_ARGS__) / sizeof(struct cf_store_qcond))
/* A query of entity e with the conditions given, the first 100 rows by key. */
#define Q(e, ...) \
  ((struct cf_store_query){.entity = CF_STORE_##e, .conds = CONDS(__VA_ARGS__), .nconds = NCONDS(__VA_ARGS__), .limit = 100})

static uint64_t row_key(const struct cf_store_result *r, size_t i) {
  if (r->instances) return r->instances[i].key;
  if (r->tasks) return r->tasks[i].key;
  if (r->incidents) return r->incidents[i].key;
  if (r->definitions) return r->definitions[i].key;
  if (r->jobs) return r->jobs[i].key;
  fail_msg("a result of %zu rows without an array", r->n);
  return 0;
}

/* Runs q and checks its rows' keys ("200 201", in order) and its total. */
static void expect(struct cf_store_query q, uint64_t total, const char *keys) {
  struct cf_store_result r;
  struct cf_error err = {0};
  ok(O->search(S, &q, &r, &err), &err);
  char got[512] = "";
  for (size_t i = 0; i < r.n; i++)
    snprintf(got + strlen(got), sizeof got - strlen(got), "%s%llu", i ? " " : "",
             (unsigned long long)row_key(&r, i));
  if (strcmp(got, keys) || r.total != total)
    fail_msg("expected [%s] total %llu, got [%s] total %llu", keys, (unsigned long long)total, got,
             (unsigned long long)r.total);
  cf_store_result_release(&r);
  assert_int_equal(r.n, 0);
  assert_null(r.tasks);
}

/* Runs q expecting CF_EINVAL with a message holding `names`. */
static void refused(struct cf_store_query q, const char *names) {
  struct cf_store_result r = {.total = 77};
  struct cf_error err = {0};
  assert_int_equal(O->search(S, &q, &r, &err), CF_EINVAL);
  if (!strstr(err.msg, names)) fail_msg("'%s' does not name '%s'", err.msg, names);
  assert_int_equal(r.total, 77); /* untouched */
}

static int rm_tmpdir(void) {
  DIR *d = opendir(tmpdir);
  if (!d) return -1;
  struct dirent *e;
  char p[512];
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
    unlink(p);
  }
  closedir(d);
  return rmdir(tmpdir);
}

static void definition(uint64_t key, const char *pid, const char *tag) {
  struct cf_error err = {0};
  struct cf_store_definition d = {.key = key, .process_id = (char *)pid, .version_tag = (char *)tag,
                                  .deployment_key = 1, .resource_name = (char *)"crm.bpmn",
                                  .checksum = (char *)"c0ffee", .xml = (char *)"<xml/>",
                                  .xml_len = 6, .deployed_ms = 10};
  ok(O->definition_insert(S, &d, &err), &err);
}

/*
 * The data every test searches:
 *   definitions 11 order v1, 12 order v2 (tag "v2"), 13 invoice v1
 *   instances  100 order v1 active, business key A-1, customer "A-1", amount 42, note "Hello*World"
 *              101 order v2 completed, business key a-1, customer "B-2", amount 7.5
 *              102 invoice active with an incident, business key INV[1], customer "A-1", amount 100
 *              103 order v2 terminated, no business key, child of 100, no variables
 *   user tasks 200 (100) review, bob, [sales, support], users [ann], priority 50, created 3000
 *              201 (100) approve, unassigned, [finance], priority 80, created 2000
 *              202 (102) review, carl, [], priority 50, created 3000
 *              203 (101) review, bob, [sales], priority 10, created 1500, completed at 6000 by bob
 *   incidents  300 (102) charge, type 1, job 400, "No retries left"
 *   jobs       400 (102) payment, 0 retries; 401 (100) mail, 3 retries; 402 (100) payment, 2 retries
 */
static int setup(void **state) {
  (void)state;
  strcpy(tmpdir, "/tmp/cf_search_test_XXXXXX");
  if (!mkdtemp(tmpdir)) return -1;
  char path[128];
  snprintf(path, sizeof path, "%s/search.db", tmpdir);
  struct cf_error err = {0};
  if (cf_store_open(path, CF_STORE_FAST, &O, &S, &err) != CF_OK) return -1;
  definition(11, "order", NULL);
  definition(12, "order", "v2");
  definition(13, "invoice", NULL);

  struct cf_store_instance in[4] = {
      {.key = 100, .definition_key = 11, .process_id = (char *)"order", .version = 1,
       .business_key = (char *)"A-1", .started_ms = 1000, .row_version = 1,
       .variables = (char *)"{\"customer\":\"A-1\",\"amount\":42,\"vip\":true,"
                            "\"note\":\"Hello*World\"}"},
      {.key = 101, .definition_key = 12, .process_id = (char *)"order", .version = 2,
       .state = CF_STORE_COMPLETED, .business_key = (char *)"a-1", .started_ms = 1100,
       .ended_ms = 5000, .row_version = 1,
       .variables = (char *)"{\"customer\":\"B-2\",\"amount\":7.5}"},
      {.key = 102, .definition_key = 13, .process_id = (char *)"invoice", .version = 1,
       .incident = true, .business_key = (char *)"INV[1]", .started_ms = 1200, .row_version = 1,
       .variables = (char *)"{\"customer\":\"A-1\",\"amount\":100}"},
      {.key = 103, .definition_key = 12, .process_id = (char *)"order", .version = 2,
       .state = CF_STORE_TERMINATED, .parent_key = 100, .started_ms = 1300, .ended_ms = 5100,
       .row_version = 1},
  };
  for (int i = 0; i < 4; i++) {
    in[i].engine_state = (char *)"{\"s\":1}";
    in[i].engine_state_len = 7;
  }
  struct cf_store_user_task t100[2] = {
      {.key = 200, .element_instance_key = 1200, .element_id = (char *)"review",
       .assignee = (char *)"bob", .candidate_groups = (char *)"[\"sales\",\"support\"]",
       .candidate_users = (char *)"[\"ann\"]", .priority = 50, .created_ms = 3000},
      {.key = 201, .element_instance_key = 1201, .element_id = (char *)"approve",
       .candidate_groups = (char *)"[\"finance\"]", .priority = 80, .created_ms = 2000}};
  struct cf_store_job j100[2] = {
      {.key = 401, .element_instance_key = 1401, .element_id = (char *)"mail", .type = (char *)"mail",
       .retries = 3, .headers = (char *)"{}"},
      {.key = 402, .element_instance_key = 1402, .element_id = (char *)"pay",
       .type = (char *)"payment", .retries = 2, .headers = (char *)"{}"}};
  struct cf_store_instance_rows r100 = {.tasks = t100, .ntasks = 2, .jobs = j100, .njobs = 2};
  struct cf_store_user_task t102 = {.key = 202, .element_instance_key = 1202,
                                    .element_id = (char *)"review", .assignee = (char *)"carl",
                                    .candidate_groups = (char *)"[]", .priority = 50,
                                    .created_ms = 3000};
  struct cf_store_job j102 = {.key = 400, .element_instance_key = 1400, .element_id = (char *)"charge",
                              .type = (char *)"payment", .retries = 0, .headers = (char *)"{}"};
  struct cf_store_incident c102 = {.key = 300, .element_instance_key = 1300,
                                   .element_id = (char *)"charge", .type = 1, .job_key = 400,
                                   .message = (char *)"No retries left", .created_ms = 4000};
  struct cf_store_instance_rows r102 = {.tasks = &t102, .ntasks = 1, .jobs = &j102, .njobs = 1,
                                        .incidents = &c102, .nincidents = 1};
  ok(O->instance_insert(S, &in[0], &r100, &err), &err);
  ok(O->instance_insert(S, &in[1], NULL, &err), &err);
  ok(O->instance_insert(S, &in[2], &r102, &err), &err);
  ok(O->instance_insert(S, &in[3], NULL, &err), &err);
  struct cf_store_user_task done = {.key = 203, .instance_key = 101, .element_instance_key = 1203,
                                    .element_id = (char *)"review", .assignee = (char *)"bob",
                                    .candidate_groups = (char *)"[\"sales\"]", .priority = 10,
                                    .created_ms = 1500, .completed_ms = 6000,
                                    .completed_by = (char *)"bob"};
  ok(O->task_done(S, &done, &err), &err);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  O->close(S);
  return rm_tmpdir();
}

/* ------------------------------------------------------------ operators */

static void every_operator_on_columns(void **state) {
  (void)state;
  expect(Q(USER_TASKS, C("assignee", EQ, TXT("bob"))), 2, "200 203");
  /* NEQ holds for an unassigned task too. */
  expect(Q(USER_TASKS, C("assignee", NEQ, TXT("bob"))), 2, "201 202");
  expect(Q(USER_TASKS, C("assignee", EXISTS, NUM(1))), 3, "200 202 203");
  expect(Q(USER_TASKS, C("assignee", EXISTS, NUM(0))), 1, "201");
  expect(Q(USER_TASKS, C("assignee", IN, TXT("carl"), TXT("bob"))), 3, "200 202 203");
  /* Three values (a list padded to four): the same answer as without padding. */
  expect(Q(USER_TASKS, C("priority", IN, NUM(10), NUM(80), NUM(99))), 2, "201 203");
  expect(Q(USER_TASKS, C("priority", NOT_IN, NUM(10), NUM(80), NUM(99))), 2, "200 202");
  expect(Q(USER_TASKS, C("assignee", NOT_IN, TXT("bob"))), 2, "201 202");
  expect(Q(USER_TASKS, C0("assignee", IN)), 0, "");
  expect(Q(USER_TASKS, C0("assignee", NOT_IN)), 4, "200 201 202 203");
  expect(Q(USER_TASKS, C("element_id", LIKE, TXT("re*"))), 3, "200 202 203");
  expect(Q(USER_TASKS, C("priority", GT, NUM(50))), 1, "201");
  expect(Q(USER_TASKS, C("priority", GTE, NUM(50))), 3, "200 201 202");
  expect(Q(USER_TASKS, C("priority", LT, NUM(50))), 1, "203");
  expect(Q(USER_TASKS, C("priority", LTE, NUM(50))), 3, "200 202 203");
  /* Text compares as text; several conditions are ANDed. */
  expect(Q(USER_TASKS, C("element_id", GT, TXT("approve"))), 3, "200 202 203");
  expect(Q(USER_TASKS, C("state", EQ, NUM(0)), C("assignee", EQ, TXT("bob"))), 1, "200");
  expect(Q(USER_TASKS, C("state", EQ, NUM(1))), 1, "203");
  expect(Q(USER_TASKS, C("completed_ms", GT, NUM(0))), 1, "203");
  expect(Q(USER_TASKS, C("instance_key", EQ, NUM(100))), 2, "200 201");
  expect(Q(USER_TASKS, C("instance_key", IN, NUM(100), NUM(102)), C("state", EQ, NUM(0))), 3,
         "200 201 202");
  expect(Q(USER_TASKS, C("created_ms", GTE, NUM(2000)), C("created_ms", LT, NUM(3000))), 1, "201");
  /* Fields read from the task's instance. */
  expect(Q(USER_TASKS, C("process_id", EQ, TXT("invoice"))), 1, "202");
  expect(Q(USER_TASKS, C("definition_key", IN, NUM(11), NUM(12))), 3, "200 201 203");
  /* Instances. */
  expect(Q(INSTANCES, C("state", EQ, NUM(CF_STORE_ACTIVE))), 2, "100 102");
  expect(Q(INSTANCES, C("incident", EQ, NUM(1))), 1, "102");
  expect(Q(INSTANCES, C("business_key", EXISTS, NUM(0))), 1, "103");
  expect(Q(INSTANCES, C("parent_key", EQ, NUM(100))), 1, "103");
  expect(Q(INSTANCES, C("ended_ms", GTE, NUM(5000))), 2, "101 103");
  expect(Q(INSTANCES, C("version_tag", EQ, TXT("v2"))), 2, "101 103");
  expect(Q(INSTANCES, C("version_tag", EXISTS, NUM(0))), 2, "100 102");
  expect(Q(INSTANCES, C("process_id", EQ, TXT("order")), C("version", EQ, NUM(2))), 2, "101 103");
  /* Incidents. */
  expect(Q(INCIDENTS, C("message", LIKE, TXT("No retries*"))), 1, "300");
  expect(Q(INCIDENTS, C("process_id", EQ, TXT("order"))), 0, "");
  expect(Q(INCIDENTS, C("job_key", EQ, NUM(400)), C("type", EQ, NUM(1))), 1, "300");
  expect(Q(INCIDENTS, C("instance_key", EQ, NUM(102))), 1, "300");
}

static void like_is_case_sensitive_and_escapes(void **state) {
  (void)state;
  /* Camunda's $like: case-sensitive. */
  expect(Q(INSTANCES, C("business_key", LIKE, TXT("A-*"))), 1, "100");
  expect(Q(INSTANCES, C("business_key", LIKE, TXT("a-*"))), 1, "101");
  expect(Q(INSTANCES, C("business_key", LIKE, TXT("?-1"))), 2, "100 101");
  expect(Q(INSTANCES, C("business_key", LIKE, TXT("*"))), 3, "100 101 102");
  /* SQL's own wildcards are ordinary characters. */
  expect(Q(INSTANCES, C("business_key", LIKE, TXT("A%"))), 0, "");
  expect(Q(INSTANCES, C("business_key", LIKE, TXT("_-1"))), 0, "");
  /* '[' is literal (GLOB would read a class). */
  expect(Q(INSTANCES, C("business_key", LIKE, TXT("INV[1]"))), 1, "102");
  expect(Q(INSTANCES, C("business_key", LIKE, TXT("INV[?]"))), 1, "102");
  expect(Q(INSTANCES, C("business_key", LIKE, TXT("INV[2]"))), 0, "");
  /* An escaped '*' or '?' is that character only. */
  expect(Q(INSTANCES, C("var:note", LIKE, TXT("\"Hello\\*World\""))), 1, "100");
  expect(Q(INSTANCES, C("var:note", LIKE, TXT("\"Hello\\*W*"))), 1, "100");
  expect(Q(INSTANCES, C("var:note", LIKE, TXT("\"Hello\\?World\""))), 0, "");
  expect(Q(INSTANCES, C("var:note", LIKE, TXT("\"Hello?World\""))), 1, "100");
  expect(Q(INSTANCES, C("business_key", LIKE, TXT("A\\-1"))), 1, "100");
  expect(Q(INSTANCES, C("business_key", LIKE, TXT("A-1\\"))), 0, "");
  expect(Q(INCIDENTS, C("message", LIKE, TXT("no retries*"))), 0, "");
}

static void variables_compare_json_text_and_numbers(void **state) {
  (void)state;
  /* JSON text: a string with its quotes. */
  expect(Q(INSTANCES, C("var:customer", EQ, TXT("\"A-1\""))), 2, "100 102");
  expect(Q(INSTANCES, C("var:customer", EQ, TXT("A-1"))), 0, "");
  expect(Q(INSTANCES, C("var:customer", IN, TXT("\"B-2\""), TXT("\"C\""))), 1, "101");
  expect(Q(INSTANCES, C("var:customer", NEQ, TXT("\"A-1\""))), 2, "101 103");
  expect(Q(INSTANCES, C("var:customer", NOT_IN, TXT("\"A-1\""))), 2, "101 103");
  expect(Q(INSTANCES, C("var:vip", EQ, TXT("true"))), 1, "100");
  expect(Q(INSTANCES, C("var:vip", EXISTS, NUM(1))), 1, "100");
  expect(Q(INSTANCES, C("var:vip", EXISTS, NUM(0))), 3, "101 102 103");
  /* A number compares as a number (7.5 < 10 although "7.5" > "10" as text). */
  expect(Q(INSTANCES, C("var:amount", GT, NUM(40))), 2, "100 102");
  expect(Q(INSTANCES, C("var:amount", LT, NUM(10))), 1, "101");
  expect(Q(INSTANCES, C("var:amount", GTE, NUM(42)), C("var:amount", LTE, NUM(42))), 1, "100");
  expect(Q(INSTANCES, C("var:amount", EQ, NUM(42))), 1, "100");
  expect(Q(INSTANCES, C("var:amount", NEQ, NUM(42))), 3, "101 102 103");
  /* A string variable is no number. */
  expect(Q(INSTANCES, C("var:customer", GT, NUM(0))), 0, "");
  /* In IN, a number is its JSON text. */
  expect(Q(INSTANCES, C("var:amount", IN, NUM(42), NUM(100))), 2, "100 102");
  /* User tasks: the variables of the task's instance. */
  expect(Q(USER_TASKS, C("var:customer", EQ, TXT("\"A-1\""))), 3, "200 201 202");
  expect(Q(USER_TASKS, C("var:customer", EQ, TXT("\"A-1\"")), C("assignee", EQ, TXT("carl"))), 1,
         "202");
  expect(Q(USER_TASKS, C("var:amount", LT, NUM(10))), 1, "203");
  /* A name the JSON path cannot quote; entities without variables. */
  refused(Q(INSTANCES, C("var:a\"b", EQ, TXT("1"))), "var:a\"b");
  refused(Q(INSTANCES, C("var:", EQ, TXT("1"))), "var:");
  refused(Q(DEFINITIONS, C("var:x", EQ, TXT("1"))), "var:x");
  refused(Q(JOBS, C("var:x", EQ, TXT("1"))), "var:x");
}

static void candidate_lists_hold_the_value(void **state) {
  (void)state;
  expect(Q(USER_TASKS, C("candidate_group", EQ, TXT("sales"))), 2, "200 203");
  expect(Q(USER_TASKS, C("candidate_group", EQ, TXT("sale"))), 0, "");
  expect(Q(USER_TASKS, C("candidate_group", IN, TXT("finance"), TXT("support"))), 2, "200 201");
  expect(Q(USER_TASKS, C("candidate_group", NEQ, TXT("sales"))), 2, "201 202");
  expect(Q(USER_TASKS, C("candidate_group", NOT_IN, TXT("sales"), TXT("finance"))), 1, "202");
  expect(Q(USER_TASKS, C("candidate_group", EXISTS, NUM(1))), 3, "200 201 203");
  expect(Q(USER_TASKS, C("candidate_group", EXISTS, NUM(0))), 1, "202");
  expect(Q(USER_TASKS, C("candidate_user", EQ, TXT("ann"))), 1, "200");
  /* No candidate users at all (NULL): not set. */
  expect(Q(USER_TASKS, C("candidate_user", EXISTS, NUM(0))), 3, "201 202 203");
  expect(Q(USER_TASKS, C("candidate_group", EQ, TXT("sales")), C("state", EQ, NUM(0))), 1, "200");
  refused(Q(USER_TASKS, C("candidate_group", LIKE, TXT("s*"))), "candidate_group");
  refused(Q(USER_TASKS, C("candidate_group", GT, TXT("a"))), "candidate_group");
}

static void or_groups(void **state) {
  (void)state;
  /* open AND (assigned to bob OR priority >= 80 OR (process invoice AND priority 50)) */
  const struct cf_store_qgroup any[] = {
      {CONDS(C("assignee", EQ, TXT("bob"))), 1},
      {CONDS(C("priority", GTE, NUM(80))), 1},
      {CONDS(C("process_id", EQ, TXT("invoice")), C("priority", EQ, NUM(50))), 2},
  };
  struct cf_store_query q = Q(USER_TASKS, C("state", EQ, NUM(0)));
  q.any = any;
  q.nany = 3;
  expect(q, 3, "200 201 202");
  q.nany = 1;
  expect(q, 1, "200");
  /* Without ANDed conditions. */
  q.nconds = 0;
  q.nany = 2;
  expect(q, 3, "200 201 203");
  /* A group without conditions holds always. */
  const struct cf_store_qgroup always[] = {{NULL, 0}, {CONDS(C("assignee", EQ, TXT("x"))), 1}};
  q.any = always;
  expect(q, 4, "200 201 202 203");
}

static void sort_and_pages(void **state) {
  (void)state;
  struct cf_store_qsort by_priority[] = {{"priority", true}};
  struct cf_store_query q = {.entity = CF_STORE_USER_TASKS, .sort = by_priority, .nsort = 1,
                             .limit = 100};
  /* 200 and 202 tie on priority: key ascending. */
  expect(q, 4, "201 200 202 203");
  struct cf_store_qsort by_created[] = {{"created_ms", true}, {"priority", false}};
  q.sort = by_created;
  q.nsort = 2;
  expect(q, 4, "200 202 201 203");
  q.nsort = 1;
  q.sort = (struct cf_store_qsort[]){{"key", true}};
  expect(q, 4, "203 202 201 200");
  q.sort = (struct cf_store_qsort[]){{"assignee", false}};
  expect(q, 4, "201 200 203 202"); /* NULL first */
  q.sort = (struct cf_store_qsort[]){{"process_id", false}};
  expect(q, 4, "202 200 201 203");
  /* Pages: total counts every match. */
  q.sort = by_priority;
  q.limit = 2;
  expect(q, 4, "201 200");
  q.offset = 2;
  expect(q, 4, "202 203");
  q.offset = 3;
  expect(q, 4, "203");
  q.offset = 10;
  expect(q, 4, "");
  /* limit 0: the total only. */
  q.offset = 0;
  q.limit = 0;
  expect(q, 4, "");
  q.nconds = 1;
  q.conds = CONDS(C("assignee", EQ, TXT("bob")));
  expect(q, 2, "");
  q.limit = 1;
  expect(q, 2, "200");
  /* Sorts of the other entities. */
  struct cf_store_query d = {.entity = CF_STORE_DEFINITIONS,
                             .sort = (struct cf_store_qsort[]){{"process_id", false},
                                                               {"version", true}},
                             .nsort = 2, .limit = 100};
  expect(d, 3, "13 12 11");
  struct cf_store_query i = {.entity = CF_STORE_INSTANCES,
                             .sort = (struct cf_store_qsort[]){{"version_tag", true}},
                             .nsort = 1, .limit = 100};
  expect(i, 4, "101 103 100 102");
  refused((struct cf_store_query){.entity = CF_STORE_INSTANCES,
                                  .sort = (struct cf_store_qsort[]){{"var:amount", false}},
                                  .nsort = 1, .limit = 1},
          "var:amount");
  refused((struct cf_store_query){.entity = CF_STORE_USER_TASKS,
                                  .sort = (struct cf_store_qsort[]){{"candidate_group", false}},
                                  .nsort = 1, .limit = 1},
          "candidate_group");
  refused((struct cf_store_query){.entity = CF_STORE_JOBS,
                                  .sort = (struct cf_store_qsort[]){{"nope", false}},
                                  .nsort = 1, .limit = 1},
          "nope");
}

static void unknown_fields_and_wrong_operators_are_refused(void **state) {
  (void)state;
  refused(Q(USER_TASKS, C("asignee", EQ, TXT("bob"))), "'asignee'");
  refused(Q(INSTANCES, C("assignee", EQ, TXT("bob"))), "'assignee'");
  refused(Q(DEFINITIONS, C("state", EQ, NUM(0))), "'state'");
  refused(Q(JOBS, C("lease_until_ms", GT, NUM(0))), "'lease_until_ms'");
  refused(Q(USER_TASKS, C("priority", LIKE, TXT("5*"))), "'priority'");
  refused(Q(USER_TASKS, C("priority", EQ, TXT("50"))), "'priority'");
  refused(Q(USER_TASKS, C("assignee", EQ, NUM(1))), "'assignee'");
  refused(Q(USER_TASKS, C("assignee", EQ, TXT("a"), TXT("b"))), "'assignee'");
  refused(Q(USER_TASKS, C0("assignee", EQ)), "'assignee'");
  refused(Q(USER_TASKS, C0("assignee", EXISTS)), "'assignee'");
  refused(Q(USER_TASKS, C("assignee", EQ, {.is_text = true})), "'assignee'");
  refused(Q(USER_TASKS, C("var:x", LIKE, NUM(1))), "'var:x'");
  /* In an OR group too; and the message lists the fields there are. */
  struct cf_store_query q = {.entity = CF_STORE_USER_TASKS, .limit = 1,
                             .any = (struct cf_store_qgroup[]){{CONDS(C("grp", EQ, TXT("x"))), 1}},
                             .nany = 1};
  refused(q, "candidate_group");
  struct cf_store_query bad_entity = {.entity = (enum cf_store_entity)42, .limit = 1};
  struct cf_store_result r;
  struct cf_error err = {0};
  assert_int_equal(O->search(S, &bad_entity, &r, &err), CF_EINVAL);
}

static void values_never_become_sql(void **state) {
  (void)state;
  const char *evil = "x' OR 1=1 --";
  expect(Q(INSTANCES, C("business_key", EQ, TXT(evil))), 0, "");
  expect(Q(INSTANCES, C("business_key", LIKE, TXT("*' OR '1'='1"))), 0, "");
  expect(Q(INSTANCES, C("business_key", IN, TXT(evil), TXT("\") OR 1=1 --"))), 0, "");
  expect(Q(USER_TASKS, C("candidate_group", EQ, TXT(evil))), 0, "");
  expect(Q(INSTANCES, C("var:x') OR 1=1 --", EXISTS, NUM(1))), 0, "");
  expect(Q(INSTANCES, C("var:customer", EQ, TXT("\"A-1\" OR 1=1"))), 0, "");
  /* The tables are all still there. */
  expect(Q(INSTANCES, C("business_key", EQ, TXT("A-1"))), 1, "100");
}

/* ------------------------------------------------------------ rows */

static void rows_carry_their_process(void **state) {
  (void)state;
  struct cf_store_result r;
  struct cf_error err = {0};
  struct cf_store_query q = Q(USER_TASKS, C("key", IN, NUM(200), NUM(203)));
  ok(O->search(S, &q, &r, &err), &err);
  assert_int_equal(r.n, 2);
  assert_non_null(r.tasks);
  assert_null(r.instances);
  assert_int_equal(r.tasks[0].definition_key, 11);
  assert_string_equal(r.tasks[0].process_id, "order");
  assert_int_equal(r.tasks[0].version, 1);
  assert_string_equal(r.tasks[0].candidate_groups, "[\"sales\",\"support\"]");
  assert_string_equal(r.tasks[0].assignee, "bob");
  assert_int_equal(r.tasks[1].state, 1);
  assert_int_equal(r.tasks[1].completed_ms, 6000);
  assert_string_equal(r.tasks[1].completed_by, "bob");
  assert_int_equal(r.tasks[1].definition_key, 12);
  assert_int_equal(r.tasks[1].version, 2);
  cf_store_result_release(&r);

  q = Q(INCIDENTS, C("key", EQ, NUM(300)));
  ok(O->search(S, &q, &r, &err), &err);
  assert_int_equal(r.n, 1);
  assert_string_equal(r.incidents[0].process_id, "invoice");
  assert_int_equal(r.incidents[0].definition_key, 13);
  assert_int_equal(r.incidents[0].version, 1);
  assert_int_equal(r.incidents[0].job_key, 400);
  assert_string_equal(r.incidents[0].message, "No retries left");
  cf_store_result_release(&r);

  /* Instances: variables, not the engine state. */
  q = Q(INSTANCES, C("key", EQ, NUM(100)));
  ok(O->search(S, &q, &r, &err), &err);
  assert_int_equal(r.n, 1);
  assert_null(r.instances[0].engine_state);
  assert_non_null(strstr(r.instances[0].variables, "\"customer\":\"A-1\""));
  assert_string_equal(r.instances[0].business_key, "A-1");
  cf_store_result_release(&r);

  /* Definitions: without the xml. */
  q = Q(DEFINITIONS, C("key", EQ, NUM(12)));
  ok(O->search(S, &q, &r, &err), &err);
  assert_int_equal(r.n, 1);
  assert_null(r.definitions[0].xml);
  assert_string_equal(r.definitions[0].version_tag, "v2");
  assert_string_equal(r.definitions[0].checksum, "c0ffee");
  cf_store_result_release(&r);

  /* An empty result: no array, nothing to free. */
  q = Q(JOBS, C("type", EQ, TXT("none")));
  ok(O->search(S, &q, &r, &err), &err);
  assert_int_equal(r.n, 0);
  assert_int_equal(r.total, 0);
  cf_store_result_release(&r);
}

static void definitions_latest(void **state) {
  (void)state;
  expect(Q(DEFINITIONS, C("latest", EQ, NUM(1))), 2, "12 13");
  expect(Q(DEFINITIONS, C("latest", EQ, NUM(0))), 1, "11");
  expect(Q(DEFINITIONS, C("latest", EQ, NUM(1)), C("process_id", EQ, TXT("order"))), 1, "12");
  expect(Q(DEFINITIONS, C("version_tag", EQ, TXT("v2"))), 1, "12");
  expect(Q(DEFINITIONS, C("resource_name", LIKE, TXT("*.bpmn"))), 3, "11 12 13");
}

static void jobs_filter_through_their_instance(void **state) {
  (void)state;
  expect(Q(JOBS, C("process_id", EQ, TXT("order"))), 2, "401 402");
  expect(Q(JOBS, C("definition_key", EQ, NUM(13))), 1, "400");
  expect(Q(JOBS, C("type", EQ, TXT("payment")), C("retries", GT, NUM(0))), 1, "402");
  expect(Q(JOBS, C("worker", EXISTS, NUM(0)), C("state", EQ, NUM(0))), 3, "400 401 402");
  expect(Q(JOBS, C("instance_key", EQ, NUM(100))), 2, "401 402");
  struct cf_store_query q = {.entity = CF_STORE_JOBS,
                             .sort = (struct cf_store_qsort[]){{"process_id", true}, {"retries", false}},
                             .nsort = 2, .limit = 100};
  expect(q, 3, "402 401 400");
}

static void task_and_incident_by_key(void **state) {
  (void)state;
  struct cf_error err = {0};
  struct cf_store_user_task t = {.key = 9};
  ok(O->task_get(S, 201, &t, &err), &err);
  assert_int_equal(t.instance_key, 100);
  assert_string_equal(t.element_id, "approve");
  assert_null(t.assignee);
  assert_string_equal(t.process_id, "order");
  assert_int_equal(t.definition_key, 11);
  assert_int_equal(t.version, 1);
  assert_int_equal(t.state, 0);
  cf_store_user_task_release(&t);
  /* A completed one too. */
  ok(O->task_get(S, 203, &t, &err), &err);
  assert_int_equal(t.state, 1);
  assert_string_equal(t.completed_by, "bob");
  assert_int_equal(t.version, 2);
  cf_store_user_task_release(&t);
  t.key = 9;
  assert_int_equal(O->task_get(S, 999, &t, &err), CF_ENOTFOUND);
  assert_non_null(strstr(err.msg, "999"));
  assert_int_equal(t.key, 9); /* untouched */

  struct cf_store_incident c = {0};
  ok(O->incident_get(S, 300, &c, &err), &err);
  assert_int_equal(c.instance_key, 102);
  assert_string_equal(c.process_id, "invoice");
  assert_int_equal(c.definition_key, 13);
  assert_int_equal(c.type, 1);
  cf_store_incident_release(&c);
  assert_int_equal(O->incident_get(S, 301, &c, &err), CF_ENOTFOUND);
  assert_non_null(strstr(err.msg, "301"));
  /* Many times (a cached statement, reset after each). */
  for (int i = 0; i < 100; i++) {
    ok(O->task_get(S, 200 + (uint64_t)(i % 4), &t, &err), &err);
    assert_int_equal(t.key, 200 + i % 4);
    cf_store_user_task_release(&t);
  }
}

/* More shapes than the cache holds: old statements are finalized, and come back when asked. */
static void many_shapes_through_the_cache(void **state) {
  (void)state;
  for (int round = 0; round < 2; round++)
    for (size_t nvals = 1; nvals <= 70; nvals++) {
      struct cf_store_qvalue vals[70];
      for (size_t k = 0; k < nvals; k++) vals[k] = (struct cf_store_qvalue){.num = (int64_t)(k + 200)};
      /* Each count of ORed groups is a new shape. */
      struct cf_store_qcond cond = {"key", CF_STORE_IN, vals, nvals};
      struct cf_store_qgroup groups[70];
      for (size_t g = 0; g < nvals; g++) groups[g] = (struct cf_store_qgroup){&cond, 1};
      struct cf_store_query q = {.entity = CF_STORE_USER_TASKS, .any = groups, .nany = nvals,
                                 .limit = 100};
      expect(q, nvals >= 4 ? 4 : nvals,
             nvals == 1 ? "200" : nvals == 2 ? "200 201" : nvals == 3 ? "200 201 202"
                                                                      : "200 201 202 203");
    }
}

/* A reader handle (READONLY) searches and reads single rows. */
static void a_reader_searches(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/search.db", tmpdir);
  struct cf_store *r = NULL;
  const struct cf_store_ops *ops = NULL;
  struct cf_error err = {0};
  ok(cf_store_open(path, CF_STORE_READONLY, &ops, &r, &err), &err);
  struct cf_store_query q = Q(USER_TASKS, C("assignee", EQ, TXT("bob")));
  q.limit = 1;
  struct cf_store_result res;
  ok(ops->search(r, &q, &res, &err), &err);
  assert_int_equal(res.n, 1);
  assert_int_equal(res.total, 2);
  cf_store_result_release(&res);
  struct cf_store_user_task t;
  ok(ops->task_get(r, 202, &t, &err), &err);
  assert_string_equal(t.process_id, "invoice");
  cf_store_user_task_release(&t);
  /* Inside the writer's open transaction, a search reads what it wrote. */
  ok(O->begin(S, &err), &err);
  struct cf_store_instance i = {.key = 104, .definition_key = 13, .process_id = (char *)"invoice",
                                .version = 1, .started_ms = 1, .row_version = 1,
                                .business_key = (char *)"A-1"};
  ok(O->instance_insert(S, &i, NULL, &err), &err);
  expect(Q(INSTANCES, C("business_key", EQ, TXT("A-1"))), 2, "100 104");
  q = Q(INSTANCES, C("business_key", EQ, TXT("A-1")));
  ok(ops->search(r, &q, &res, &err), &err);
  assert_int_equal(res.total, 1); /* not committed */
  cf_store_result_release(&res);
  O->rollback(S);
  ops->close(r);
  expect(Q(INSTANCES, C("business_key", EQ, TXT("A-1"))), 1, "100");
}

/* Out of memory at each allocation of a search in turn: CF_ENOMEM and nothing handed out, or the
 * whole answer (ASan checks that nothing leaks). */
static void out_of_memory_anywhere_in_a_search(void **state) {
  (void)state;
  struct cf_store_query q = Q(USER_TASKS, C("var:customer", IN, TXT("\"A-1\""), NUM(7)),
                              C("element_id", LIKE, TXT("r*")));
  q.sort = (struct cf_store_qsort[]){{"priority", true}};
  q.nsort = 1;
  q.limit = 1;
  bool succeeded = false;
  for (long n = 0; n < 200 && !succeeded; n++) {
    struct cf_store_result r = {.total = 5};
    struct cf_error err = {0};
    cf_alloc_fail_after(n);
    int rc = O->search(S, &q, &r, &err);
    cf_alloc_fail_reset();
    if (rc == CF_OK) {
      assert_int_equal(r.total, 2);
      assert_int_equal(r.n, 1);
      assert_int_equal(r.tasks[0].key, 200);
      cf_store_result_release(&r);
      succeeded = true;
    } else {
      assert_int_equal(rc, CF_ENOMEM);
      assert_int_equal(r.total, 5);
      assert_null(r.tasks);
    }
  }
  assert_true(succeeded);
  /* And the handle goes on. */
  expect(Q(USER_TASKS, C("assignee", EQ, TXT("carl"))), 1, "202");
}

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
