/*
 * Two runtimes on one PostgreSQL database, as two nodes: their batches run at once in two threads
 * and want each other's rows. Instances of a model with parallel branches (jobs "x" and "y") are
 * started; node A completes the x jobs and node B the y jobs, each in one batch, in opposite orders
 * of instance, and each first takes half of its instances before either goes on (a barrier), so
 * that A holds rows B wants next and B holds rows A wants. A batch that loses a lock wait must
 * commit what it holds and run the operation again (cf_store_ops.must_end,
 * cf_runtime_batch_part): every operation succeeds, every instance completes, nothing is applied
 * twice, and at least one batch was committed in parts. Without the short lock wait, the two would
 * deadlock until PostgreSQL cancels one (a second), and the cancelled operation would fail.
 * The server is started by tests/pg/pg.sh (through pg_fixture.h); no server fails the test.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../store/pg_fixture.h"
#include "base/cf_alloc.h"
#include "bpmn/cf_bpmn.h"
#include "runtime/cf_runtime.h"

#define K 40 /* instances */

static const char model[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<bpmn:definitions xmlns:bpmn=\"http://www.omg.org/spec/BPMN/20100524/MODEL\""
    " xmlns:zeebe=\"http://camunda.org/schema/zeebe/1.0\" id=\"d\" targetNamespace=\"t\">"
    "<bpmn:process id=\"both\" isExecutable=\"true\">"
    "<bpmn:startEvent id=\"s\"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>"
    "<bpmn:parallelGateway id=\"split\"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>"
    "<bpmn:outgoing>f3</bpmn:outgoing></bpmn:parallelGateway>"
    "<bpmn:serviceTask id=\"tx\"><bpmn:extensionElements><zeebe:taskDefinition type=\"x\" /></bpmn:extensionElements>"
    "<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:serviceTask>"
    "<bpmn:serviceTask id=\"ty\"><bpmn:extensionElements><zeebe:taskDefinition type=\"y\" /></bpmn:extensionElements>"
    "<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:serviceTask>"
    "<bpmn:parallelGateway id=\"join\"><bpmn:incoming>f4</bpmn:incoming><bpmn:incoming>f5</bpmn:incoming>"
    "<bpmn:outgoing>f6</bpmn:outgoing></bpmn:parallelGateway>"
    "<bpmn:endEvent id=\"e\"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>"
    "<bpmn:sequenceFlow id=\"f1\" sourceRef=\"s\" targetRef=\"split\" />"
    "<bpmn:sequenceFlow id=\"f2\" sourceRef=\"split\" targetRef=\"tx\" />"
    "<bpmn:sequenceFlow id=\"f3\" sourceRef=\"split\" targetRef=\"ty\" />"
    "<bpmn:sequenceFlow id=\"f4\" sourceRef=\"tx\" targetRef=\"join\" />"
    "<bpmn:sequenceFlow id=\"f5\" sourceRef=\"ty\" targetRef=\"join\" />"
    "<bpmn:sequenceFlow id=\"f6\" sourceRef=\"join\" targetRef=\"e\" />"
    "</bpmn:process></bpmn:definitions>";

struct node {
  struct cf_runtime *rt;
  const char *type;
  bool reverse;                 /* instances in the opposite order */
  uint64_t jobs[K];             /* by instance index */
  int rc[K];
  char msg[K][512];
  unsigned parts;               /* cf_runtime_batch_part at the end */
  int commit_rc;
  pthread_barrier_t *half;
};

static void ok_(int rc, const struct cf_error *err, const char *what) {
  if (rc != CF_OK) fail_msg("%s: rc %d: %s", what, rc, err->msg);
}

static void *node_main(void *arg) {
  struct node *n = arg;
  struct cf_error err = {0};
  n->commit_rc = cf_runtime_batch_begin(n->rt, &err);
  for (int step = 0; step < K && n->commit_rc == CF_OK; step++) {
    if (step == K / 2) pthread_barrier_wait(n->half); /* both hold half of their rows */
    int i = n->reverse ? K - 1 - step : step;
    cf_error_clear(&err);
    n->rc[i] = cf_runtime_job_complete(n->rt, n->jobs[i], n->type, NULL, &err);
    memcpy(n->msg[i], err.msg, sizeof n->msg[i]);
  }
  if (n->commit_rc == CF_OK) {
    n->parts = cf_runtime_batch_part(n->rt);
    n->commit_rc = cf_runtime_batch_commit(n->rt, &err);
  }
  return NULL;
}

/* Leases every job of type on rt, and files each under the index of its instance. */
static void lease(struct cf_runtime *rt, const char *type, const uint64_t *instances, uint64_t *jobs) {
  struct cf_error err = {0};
  struct cf_runtime_job *got = NULL;
  size_t n = 0;
  ok_(cf_runtime_jobs_activate(rt, type, 2 * K, type, 600000, &got, &n, &err), &err, "activate");
  assert_int_equal(n, K);
  for (size_t j = 0; j < n; j++)
    for (int i = 0; i < K; i++)
      if (instances[i] == got[j].job.instance_key) jobs[i] = got[j].job.key;
  cf_runtime_jobs_release(got, n);
  for (int i = 0; i < K; i++) assert_int_not_equal(jobs[i], 0);
}

static void batches_that_want_each_others_rows_commit_in_parts(void **state) {
  (void)state;
  assert_true(pgfx_start());
  struct cf_error err = {0};
  struct cf_runtime_opts o = {.db = pgfx_url, .actor = "test", .store_flags = CF_STORE_FAST};
  struct node a = {.type = "x"}, b = {.type = "y", .reverse = true};
  ok_(cf_runtime_open(&o, &a.rt, &err), &err, "open a");
  ok_(cf_runtime_open(&o, &b.rt, &err), &err, "open b");
  struct cf_runtime_deployed *dep = NULL;
  size_t ndep = 0;
  struct cf_bpmn_problems probs;
  cf_bpmn_problems_init(&probs);
  ok_(cf_runtime_deploy(a.rt, "both.bpmn", model, strlen(model), &dep, &ndep, &probs, &err), &err, "deploy");
  cf_bpmn_problems_release(&probs);
  cf_runtime_deployed_release(dep, ndep);
  uint64_t inst[K];
  for (int i = 0; i < K; i++) ok_(cf_runtime_start(a.rt, "both", 0, NULL, NULL, &inst[i], &err), &err, "start");
  lease(a.rt, "x", inst, a.jobs);
  lease(b.rt, "y", inst, b.jobs);

  pthread_barrier_t half;
  pthread_barrier_init(&half, NULL, 2);
  a.half = b.half = &half;
  pthread_t ta, tb;
  pthread_create(&ta, NULL, node_main, &a);
  pthread_create(&tb, NULL, node_main, &b);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  pthread_barrier_destroy(&half);

  assert_int_equal(a.commit_rc, CF_OK);
  assert_int_equal(b.commit_rc, CF_OK);
  for (int i = 0; i < K; i++) {
    if (a.rc[i] != CF_OK) fail_msg("node a, instance %d: rc %d: %s", i, a.rc[i], a.msg[i]);
    if (b.rc[i] != CF_OK) fail_msg("node b, instance %d: rc %d: %s", i, b.rc[i], b.msg[i]);
  }
  /* Someone had to give way, and did so by committing what it held. */
  assert_true(a.parts + b.parts >= 1);
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(a.rt, &ops, &st);
  for (int i = 0; i < K; i++) {
    struct cf_store_instance got;
    ok_(ops->instance_get(st, inst[i], &got, &err), &err, "instance_get");
    assert_int_equal(got.state, CF_STORE_COMPLETED);
    cf_store_instance_release(&got);
    struct cf_store_event *ev = NULL;
    size_t nev = 0;
    ok_(ops->history_list(st, inst[i], &ev, &nev, &err), &err, "history");
    int completed_jobs = 0, ended = 0;
    for (size_t k = 0; k < nev; k++) {
      if (!strcmp(ev[k].kind, "JOB_COMPLETED")) completed_jobs++;
      if (!strcmp(ev[k].kind, "INSTANCE_COMPLETED")) ended++;
      cf_store_event_release(&ev[k]);
    }
    cf_free(ev);
    assert_int_equal(completed_jobs, 2);
    assert_int_equal(ended, 1);
  }
  cf_runtime_close(a.rt);
  cf_runtime_close(b.rt);
}

int main(void) {
  (void)pgfx_open; /* the fixture's: this program opens the server's URL itself */
  const struct CMUnitTest tests[] = {cmocka_unit_test(batches_that_want_each_others_rows_commit_in_parts)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
