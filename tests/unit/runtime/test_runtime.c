/*
 * The runtime over a real SQLite file: deployments, instances driven by
 * jobs, leases, timers, messages, call activities, batches, the writer, a
 * restart, and two runtimes on one database.
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
#include <pthread.h>

#include "base/cf_alloc.h"
#include "base/cf_json.h"
#include "runtime/cf_runtime.h"


struct fx {
  char dir[64];
  char db[128];
  int64_t now;
  struct cf_runtime *rt;
};

static int64_t fx_clock(void *arg) { return ((struct fx *)arg)->now; }

static struct cf_runtime *fx_open(struct fx *f, const char *actor) {
  struct cf_runtime_opts o = {.db = f->db, .clock_ms = fx_clock, .clock_arg = f, .actor = actor,
                              .store_flags = CF_STORE_FAST};
  struct cf_runtime *rt;
  struct cf_error err;
  cf_error_clear(&err);
  int rc = cf_runtime_open(&o, &rt, &err);
  if (rc) fprintf(stderr, "open: %s\n", err.msg);
  assert_int_equal(rc, CF_OK);
  return rt;
}

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/cf_rt_XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->db, sizeof f->db, "%s/t.db", f->dir);
  f->now = 1767225600000; /* 2026-01-01T00:00:00Z */
  f->rt = fx_open(f, "test");
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  cf_runtime_close(f->rt);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

static char *slurp(const char *rel, size_t *len) {
  char path[512];
  const char *root = getenv("CF_SOURCE_DIR");
  snprintf(path, sizeof path, "%s/%s", root ? root : ".", rel);
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  assert_int_equal(fread(b, 1, (size_t)n, fp), (size_t)n);
  b[n] = 0;
  fclose(fp);
  *len = (size_t)n;
  return b;
}

static void deploy(struct cf_runtime *rt, const char *rel, bool expect_unchanged) {
  size_t len;
  char *xml = slurp(rel, &len);
  struct cf_runtime_deployed *d;
  size_t n;
  struct cf_error err;
  cf_error_clear(&err);
  int rc = cf_runtime_deploy(rt, strrchr(rel, '/') + 1, xml, len, &d, &n, NULL, &err);
  if (rc) fprintf(stderr, "deploy %s: %s\n", rel, err.msg);
  assert_int_equal(rc, CF_OK);
  assert_true(n >= 1);
  assert_int_equal(d[0].unchanged, expect_unchanged);
  cf_runtime_deployed_release(d, n);
  free(xml);
}

static void vars_of(const char *json, struct cf_feel_value *v) {
  cf_feel_set_null(v);
  if (!json) return;
  struct cf_error err;
  struct json_object *j = cf_json_parse(json, strlen(json), &err);
  assert_non_null(j);
  assert_int_equal(cf_feel_from_json(j, v), CF_OK);
  json_object_put(j);
}

static uint64_t start(struct cf_runtime *rt, const char *proc, const char *vars_json) {
  struct cf_feel_value v;
  vars_of(vars_json, &v);
  uint64_t key = 0;
  struct cf_error err;
  cf_error_clear(&err);
  int rc = cf_runtime_start(rt, proc, 0, vars_json ? &v : NULL, NULL, &key, &err);
  if (rc) fprintf(stderr, "start %s: %s\n", proc, err.msg);
  assert_int_equal(rc, CF_OK);
  cf_feel_value_release(&v);
  return key;
}

/* Activates one job of type and completes it; returns its key. */
static uint64_t work(struct cf_runtime *rt, const char *type, const char *vars_json) {
  struct cf_runtime_job *jobs;
  size_t n;
  struct cf_error err;
  cf_error_clear(&err);
  assert_int_equal(cf_runtime_jobs_activate(rt, type, 1, "w1", 60000, &jobs, &n, &err), CF_OK);
  if (n != 1) fprintf(stderr, "no job of type %s\n", type);
  assert_int_equal(n, 1);
  uint64_t key = jobs[0].job.key;
  cf_runtime_jobs_release(jobs, n);
  struct cf_feel_value v;
  vars_of(vars_json, &v);
  int rc = cf_runtime_job_complete(rt, key, "w1", vars_json ? &v : NULL, &err);
  if (rc) fprintf(stderr, "complete: %s\n", err.msg);
  assert_int_equal(rc, CF_OK);
  cf_feel_value_release(&v);
  return key;
}

static struct cf_store_instance get_instance(struct cf_runtime *rt, uint64_t key) {
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  struct cf_store_instance row;
  struct cf_error err;
  assert_int_equal(ops->instance_get(st, key, &row, &err), CF_OK);
  return row;
}

static int instance_state(struct cf_runtime *rt, uint64_t key) {
  struct cf_store_instance row = get_instance(rt, key);
  int s = row.state;
  cf_store_instance_release(&row);
  return s;
}

static size_t history_count(struct cf_runtime *rt, uint64_t key, const char *kind) {
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  struct cf_store_event *evs;
  size_t n, c = 0;
  struct cf_error err;
  assert_int_equal(ops->history_list(st, key, &evs, &n, &err), CF_OK);
  for (size_t i = 0; i < n; i++) {
    if (!kind || !strcmp(evs[i].kind, kind)) c++;
    cf_store_event_release(&evs[i]);
  }
  cf_free(evs);
  return c;
}

/* ------------------------------------------------------------ tests */

static void test_order_runs_to_the_end(void **state) {
  struct fx *f = *state;
  deploy(f->rt, "../shared/models/order.bpmn", false);
  deploy(f->rt, "../shared/models/order.bpmn", true); /* same content: the existing version */
  uint64_t k = start(f->rt, "order_processing", "{\"amount\": 5000, \"orderId\": \"o-1\"}");
  assert_int_equal(instance_state(f->rt, k), CF_STORE_ACTIVE);
  work(f->rt, "approve-order", "{\"approved\": true}");
  work(f->rt, "handle-order", NULL);
  work(f->rt, "reserve-stock", NULL);
  work(f->rt, "charge-payment", NULL);
  work(f->rt, "ship-order", "{\"tracking\": \"T1\"}");
  struct cf_store_instance row = get_instance(f->rt, k);
  assert_int_equal(row.state, CF_STORE_COMPLETED);
  assert_non_null(strstr(row.variables, "\"tracking\":\"T1\""));
  assert_true(row.ended_ms > 0);
  cf_store_instance_release(&row);
  assert_int_equal(history_count(f->rt, k, "JOB_COMPLETED"), 5);
  assert_int_equal(history_count(f->rt, k, "JOB_ACTIVATED"), 5);
  assert_int_equal(history_count(f->rt, k, "INSTANCE_COMPLETED"), 1);
}

static void test_leases(void **state) {
  struct fx *f = *state;
  deploy(f->rt, "tests/scenarios/models/message-catch.bpmn", false);
  start(f->rt, "message-catch", "{\"orderId\": \"A\"}");
  struct cf_runtime_job *jobs;
  size_t n;
  struct cf_error err;
  assert_int_equal(cf_runtime_jobs_activate(f->rt, "prepare", 5, "alice", 10000, &jobs, &n, &err), CF_OK);
  assert_int_equal(n, 1);
  uint64_t key = jobs[0].job.key;
  assert_non_null(strstr(jobs[0].variables, "\"orderId\":\"A\""));
  cf_runtime_jobs_release(jobs, n);
  /* Leased: nobody else gets it. */
  assert_int_equal(cf_runtime_jobs_activate(f->rt, "prepare", 5, "bob", 10000, &jobs, &n, &err), CF_OK);
  assert_int_equal(n, 0);
  /* The lease expires: bob takes it, and alice can no longer complete it. */
  f->now += 10001;
  assert_int_equal(cf_runtime_jobs_activate(f->rt, "prepare", 5, "bob", 10000, &jobs, &n, &err), CF_OK);
  assert_int_equal(n, 1);
  cf_runtime_jobs_release(jobs, n);
  assert_int_equal(cf_runtime_job_complete(f->rt, key, "alice", NULL, &err), CF_ECONFLICT);
  assert_non_null(strstr(err.msg, "bob"));
  assert_int_equal(cf_runtime_job_complete(f->rt, key, "bob", NULL, &err), CF_OK);
  /* Done: a second completion is refused, not applied twice. */
  assert_int_equal(cf_runtime_job_complete(f->rt, key, "bob", NULL, &err), CF_ENOTFOUND);
}

static void test_timers_fire_late_never_early(void **state) {
  struct fx *f = *state;
  deploy(f->rt, "tests/scenarios/models/timer-catch.bpmn", false);
  uint64_t k = start(f->rt, "timer-catch", "{\"delay\": \"PT5M\"}");
  size_t fired;
  struct cf_error err;
  f->now += 3600000 - 1;
  assert_int_equal(cf_runtime_fire_timers(f->rt, 10, &fired, &err), CF_OK);
  assert_int_equal(fired, 0);
  int64_t due;
  assert_int_equal(cf_runtime_next_due(f->rt, &due, &err), CF_OK);
  assert_int_equal(due, f->now + 1);
  f->now += 1;
  assert_int_equal(cf_runtime_fire_timers(f->rt, 10, &fired, &err), CF_OK);
  assert_int_equal(fired, 1);
  work(f->rt, "work", NULL);
  /* The date, 2026-01-02T09:00:00Z: not a millisecond early. */
  f->now = 1767344400000 - 1;
  assert_int_equal(cf_runtime_fire_timers(f->rt, 10, &fired, &err), CF_OK);
  assert_int_equal(fired, 0);
  f->now += 1;
  assert_int_equal(cf_runtime_fire_timers(f->rt, 10, &fired, &err), CF_OK);
  assert_int_equal(fired, 1);
  /* After a restart the timer is still there and fires late. */
  cf_runtime_close(f->rt);
  f->now += 3600000;
  f->rt = fx_open(f, "test");
  assert_int_equal(cf_runtime_fire_timers(f->rt, 10, &fired, &err), CF_OK);
  assert_int_equal(fired, 1);
  assert_int_equal(instance_state(f->rt, k), CF_STORE_COMPLETED);
}

static void test_messages_buffered_and_once(void **state) {
  struct fx *f = *state;
  deploy(f->rt, "tests/scenarios/models/message-catch.bpmn", false);
  struct cf_feel_value v;
  vars_of("{\"paid\": 42}", &v);
  uint64_t mk;
  bool dup;
  struct cf_error err;
  /* Published before anyone waits: buffered for its time to live. */
  assert_int_equal(cf_runtime_publish(f->rt, "payment-received", "A", &v, 60000, "pay-1", &mk, &dup, &err), CF_OK);
  assert_false(dup);
  assert_int_equal(cf_runtime_publish(f->rt, "payment-received", "A", &v, 60000, "pay-1", &mk, &dup, &err), CF_OK);
  assert_true(dup);
  cf_feel_value_release(&v);
  uint64_t k1 = start(f->rt, "message-catch", "{\"orderId\": \"A\"}");
  uint64_t k2 = start(f->rt, "message-catch", "{\"orderId\": \"A\"}");
  work(f->rt, "prepare", NULL);
  work(f->rt, "prepare", NULL);
  /* One message, one instance of the process: the first subscription took it, the second waits. */
  struct cf_store_instance r1 = get_instance(f->rt, k1), r2 = get_instance(f->rt, k2);
  assert_non_null(strstr(r1.variables, "\"paid\":42"));
  assert_null(strstr(r2.variables, "paid"));
  cf_store_instance_release(&r1);
  cf_store_instance_release(&r2);
  /* Expired messages are gone. */
  f->now += 60001;
  size_t removed;
  assert_int_equal(cf_runtime_expire_messages(f->rt, &removed, &err), CF_OK);
  assert_int_equal(removed, 1);
}

static void test_call_activity(void **state) {
  struct fx *f = *state;
  deploy(f->rt, "tests/scenarios/models/call-child.bpmn", false);
  deploy(f->rt, "tests/scenarios/models/call-parent.bpmn", false);
  uint64_t k = start(f->rt, "call-parent", "{\"x\": 1}");
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(f->rt, &ops, &st);
  struct cf_store_instance_filter fl = {.state = -1, .incident = -1, .parent_key = k};
  struct cf_store_instance *rows;
  size_t n;
  struct cf_error err;
  assert_int_equal(ops->instance_list(st, &fl, &rows, &n, &err), CF_OK);
  assert_int_equal(n, 1);
  uint64_t child = rows[0].key;
  assert_string_equal(rows[0].process_id, "call-child");
  for (size_t i = 0; i < n; i++) cf_store_instance_release(&rows[i]);
  cf_free(rows);
  /* Cancelling the parent cancels the child. */
  assert_int_equal(cf_runtime_cancel(f->rt, k, &err), CF_OK);
  assert_int_equal(instance_state(f->rt, k), CF_STORE_TERMINATED);
  assert_int_equal(instance_state(f->rt, child), CF_STORE_TERMINATED);
  assert_int_equal(cf_runtime_cancel(f->rt, k, &err), CF_ECONFLICT);
}

static void test_batch_undoes_only_the_failed_operation(void **state) {
  struct fx *f = *state;
  deploy(f->rt, "../shared/models/order.bpmn", false);
  struct cf_error err;
  assert_int_equal(cf_runtime_batch_begin(f->rt, &err), CF_OK);
  uint64_t a = start(f->rt, "order_processing", "{\"amount\": 1}");
  assert_int_equal(cf_runtime_start(f->rt, "no-such-process", 0, NULL, NULL, NULL, &err), CF_ENOTFOUND);
  assert_int_equal(cf_runtime_job_complete(f->rt, 999999, NULL, NULL, &err), CF_ENOTFOUND);
  uint64_t b = start(f->rt, "order_processing", "{\"amount\": 2}");
  assert_int_equal(cf_runtime_batch_commit(f->rt, &err), CF_OK);
  assert_int_equal(instance_state(f->rt, a), CF_STORE_ACTIVE);
  assert_int_equal(instance_state(f->rt, b), CF_STORE_ACTIVE);
  /* A rolled-back batch leaves nothing, and the cache forgets what it did. */
  assert_int_equal(cf_runtime_batch_begin(f->rt, &err), CF_OK);
  work(f->rt, "handle-order", NULL);
  uint64_t c = start(f->rt, "order_processing", "{\"amount\": 3}");
  cf_runtime_batch_rollback(f->rt);
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(f->rt, &ops, &st);
  struct cf_store_instance row;
  assert_int_equal(ops->instance_get(st, c, &row, &err), CF_ENOTFOUND);
  /* Both jobs are still there to complete. */
  work(f->rt, "handle-order", NULL);
  work(f->rt, "handle-order", NULL);
}

static void test_two_runtimes_one_database(void **state) {
  struct fx *f = *state;
  deploy(f->rt, "../shared/models/order.bpmn", false);
  uint64_t k = start(f->rt, "order_processing", "{\"amount\": 1}");
  /* A second runtime (another process, another node) moves the instance on. */
  struct cf_runtime *other = fx_open(f, "other");
  work(other, "handle-order", NULL);
  /* The first one's loaded copy is stale: its next command reloads and applies once. */
  work(f->rt, "reserve-stock", NULL);
  work(other, "charge-payment", NULL);
  work(f->rt, "ship-order", NULL);
  cf_runtime_close(other);
  assert_int_equal(instance_state(f->rt, k), CF_STORE_COMPLETED);
  assert_int_equal(history_count(f->rt, k, "JOB_COMPLETED"), 4);
}

static size_t count_instances(struct cf_runtime *rt, const char *process_id, int state) {
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  struct cf_store_instance_filter fl = {.process_id = process_id, .state = state, .incident = -1};
  struct cf_store_instance *rows;
  size_t n;
  struct cf_error err;
  assert_int_equal(ops->instance_list(st, &fl, &rows, &n, &err), CF_OK);
  for (size_t i = 0; i < n; i++) cf_store_instance_release(&rows[i]);
  cf_free(rows);
  return n;
}

static void test_start_events(void **state) {
  struct fx *f = *state;
  struct cf_error err;
  size_t fired;
  /* A timer start event, R3/PT1H from the deployment: three instances, an hour apart, none early,
   * also when the runtime was closed while they fell due. */
  deploy(f->rt, "tests/scenarios/models/timer-start.bpmn", false);
  f->now += 3600000 - 1;
  assert_int_equal(cf_runtime_fire_timers(f->rt, 10, &fired, &err), CF_OK);
  assert_int_equal(fired, 0);
  f->now += 1;
  assert_int_equal(cf_runtime_fire_timers(f->rt, 10, &fired, &err), CF_OK);
  assert_int_equal(fired, 1);
  assert_int_equal(count_instances(f->rt, "timer-start", -1), 1);
  cf_runtime_close(f->rt);
  f->now += 5 * 3600000;
  f->rt = fx_open(f, "test");
  assert_int_equal(cf_runtime_fire_timers(f->rt, 10, &fired, &err), CF_OK);
  assert_int_equal(fired, 1); /* the second, late; the third is due too and fires next */
  assert_int_equal(cf_runtime_fire_timers(f->rt, 10, &fired, &err), CF_OK);
  assert_int_equal(fired, 1);
  assert_int_equal(cf_runtime_fire_timers(f->rt, 10, &fired, &err), CF_OK);
  assert_int_equal(fired, 0); /* R3: no fourth */
  assert_int_equal(count_instances(f->rt, "timer-start", -1), 3);
  int64_t due;
  assert_int_equal(cf_runtime_next_due(f->rt, &due, &err), CF_OK);
  assert_true(due == INT64_MAX);

  /* A message start event: an instance per correlation key while one is active. */
  deploy(f->rt, "tests/scenarios/models/message-start.bpmn", false);
  uint64_t mk;
  bool dup;
  assert_int_equal(cf_runtime_publish(f->rt, "order-placed", "o-1", NULL, 0, NULL, &mk, &dup, &err), CF_OK);
  assert_int_equal(cf_runtime_publish(f->rt, "order-placed", "o-1", NULL, 0, NULL, &mk, &dup, &err), CF_OK);
  assert_int_equal(cf_runtime_publish(f->rt, "order-placed", "o-2", NULL, 0, NULL, &mk, &dup, &err), CF_OK);
  assert_int_equal(count_instances(f->rt, "message-start", CF_STORE_ACTIVE), 2);

  /* A signal start event: the sender starts, throws "done", and the waiting instance goes on. */
  deploy(f->rt, "tests/scenarios/models/signals.bpmn", false);
  uint64_t w = start(f->rt, "signal-waiter", NULL);
  size_t reached;
  assert_int_equal(cf_runtime_broadcast(f->rt, "go", NULL, &reached, &err), CF_OK);
  assert_int_equal(reached, 1);
  assert_int_equal(count_instances(f->rt, "signal-sender", CF_STORE_COMPLETED), 1);
  assert_int_equal(history_count(f->rt, w, "ELEMENT_COMPLETED") >= 2, true); /* start, wait_done */
  assert_int_equal(cf_runtime_broadcast(f->rt, "stop", NULL, &reached, &err), CF_OK);
  assert_int_equal(instance_state(f->rt, w), CF_STORE_COMPLETED);
}

struct submit_arg {
  struct cf_runtime_writer *w;
  int ok;
};

static int start_op(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  (void)arg;
  return cf_runtime_start(rt, "order_processing", 0, NULL, NULL, NULL, err);
}

static void *submitter(void *arg) {
  struct submit_arg *a = arg;
  for (int i = 0; i < 50; i++) {
    struct cf_error err;
    cf_error_clear(&err);
    if (cf_runtime_writer_submit(a->w, start_op, NULL, &err) == CF_OK) a->ok++;
    else fprintf(stderr, "submit: %s\n", err.msg);
  }
  return NULL;
}

static void test_writer_group_commit(void **state) {
  struct fx *f = *state;
  deploy(f->rt, "../shared/models/order.bpmn", false);
  struct cf_runtime_writer *w;
  struct cf_error err;
  struct cf_runtime_writer_opts o = {.max_batch = 64, .tick_ms = 50};
  assert_int_equal(cf_runtime_writer_start(f->rt, &o, &w, &err), CF_OK);
  pthread_t th[4];
  struct submit_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (struct submit_arg){w, 0};
    pthread_create(&th[i], NULL, submitter, &args[i]);
  }
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  cf_runtime_writer_stop(w);
  for (int i = 0; i < 4; i++) assert_int_equal(args[i].ok, 50);
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(f->rt, &ops, &st);
  struct cf_store_instance_filter fl = {.state = 0, .incident = -1, .limit = 1000};
  struct cf_store_instance *rows;
  size_t n;
  assert_int_equal(ops->instance_list(st, &fl, &rows, &n, &err), CF_OK);
  assert_int_equal(n, 200);
  for (size_t i = 0; i < n; i++) cf_store_instance_release(&rows[i]);
  cf_free(rows);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_order_runs_to_the_end, setup, teardown),
      cmocka_unit_test_setup_teardown(test_leases, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timers_fire_late_never_early, setup, teardown),
      cmocka_unit_test_setup_teardown(test_messages_buffered_and_once, setup, teardown),
      cmocka_unit_test_setup_teardown(test_call_activity, setup, teardown),
      cmocka_unit_test_setup_teardown(test_batch_undoes_only_the_failed_operation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_two_runtimes_one_database, setup, teardown),
      cmocka_unit_test_setup_teardown(test_writer_group_commit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_start_events, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
