/*
 * The writer (src/runtime/writer.c) over a real SQLite file: asynchronous
 * submits from several threads, answered once each and durable; its
 * counters; the queue limit; a stop that answers what is queued; the batch
 * hook.
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
#include "runtime/cf_runtime.h"

struct fx {
  char dir[64];
  char db[128];
  int64_t now;
  struct cf_runtime *rt;
};

static int64_t fx_clock(void *arg) { return ((struct fx *)arg)->now; }

static struct cf_runtime *fx_open(struct fx *f) {
  struct cf_runtime_opts o = {.db = f->db, .clock_ms = fx_clock, .clock_arg = f, .actor = "test",
                              .store_flags = CF_STORE_FAST};
  struct cf_runtime *rt;
  struct cf_error err;
  cf_error_clear(&err);
  int rc = cf_runtime_open(&o, &rt, &err);
  if (rc) fprintf(stderr, "open: %s\n", err.msg);
  assert_int_equal(rc, CF_OK);
  return rt;
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

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/cf_wr_XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->db, sizeof f->db, "%s/t.db", f->dir);
  f->now = 1767225600000; /* 2026-01-01T00:00:00Z */
  f->rt = fx_open(f);
  size_t len;
  char *xml = slurp("../shared/models/order.bpmn", &len);
  struct cf_runtime_deployed *d;
  size_t n;
  struct cf_error err;
  cf_error_clear(&err);
  assert_int_equal(cf_runtime_deploy(f->rt, "order.bpmn", xml, len, &d, &n, NULL, &err), CF_OK);
  cf_runtime_deployed_release(d, n);
  free(xml);
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

static size_t count_instances(struct cf_runtime *rt) {
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  struct cf_store_instance_filter fl = {.state = 0, .incident = -1, .limit = 100000};
  struct cf_store_instance *rows;
  size_t n;
  struct cf_error err;
  assert_int_equal(ops->instance_list(st, &fl, &rows, &n, &err), CF_OK);
  for (size_t i = 0; i < n; i++) cf_store_instance_release(&rows[i]);
  cf_free(rows);
  return n;
}

static int start_op(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  (void)arg;
  return cf_runtime_start(rt, "order_processing", 0, NULL, NULL, NULL, err);
}

/* What the done callbacks saw: per operation, how often and with what code. */
struct answers {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  size_t n, answered;
  int *calls, *rc;
  struct cf_runtime_writer *w; /* resubmit: a done callback submits once more */
  bool resubmit;
  size_t resubmitted;
};

struct slot {
  struct answers *a;
  size_t i;
};

static void answers_init(struct answers *a, size_t n) {
  memset(a, 0, sizeof *a);
  pthread_mutex_init(&a->mu, NULL);
  pthread_cond_init(&a->cv, NULL);
  a->n = n;
  a->calls = calloc(n, sizeof *a->calls);
  a->rc = calloc(n, sizeof *a->rc);
}

static void answers_release(struct answers *a) {
  pthread_mutex_destroy(&a->mu);
  pthread_cond_destroy(&a->cv);
  free(a->calls);
  free(a->rc);
}

static void on_done(void *arg, int rc, const struct cf_error *err) {
  struct slot *s = arg;
  struct answers *a = s->a;
  if (rc) fprintf(stderr, "op %zu: %s\n", s->i, err->msg);
  bool again = false;
  pthread_mutex_lock(&a->mu);
  a->calls[s->i]++;
  a->rc[s->i] = rc;
  a->answered++;
  if (a->resubmit && s->i < a->n / 2) again = true;
  pthread_cond_broadcast(&a->cv);
  pthread_mutex_unlock(&a->mu);
  if (again) {
    /* From the writer's thread, in a done callback: the writer's mutex must not be held. */
    static struct slot second[1024];
    struct slot *t = &second[s->i];
    t->a = a;
    t->i = s->i + a->n / 2;
    struct cf_error e;
    cf_error_clear(&e);
    if (cf_runtime_writer_submit_async(a->w, start_op, NULL, on_done, t, &e) == CF_OK) {
      pthread_mutex_lock(&a->mu);
      a->resubmitted++;
      pthread_mutex_unlock(&a->mu);
    }
  }
}

static void answers_wait(struct answers *a, size_t count) {
  pthread_mutex_lock(&a->mu);
  while (a->answered < count) pthread_cond_wait(&a->cv, &a->mu);
  pthread_mutex_unlock(&a->mu);
}

struct submitter {
  struct cf_runtime_writer *w;
  struct slot *slots;
  size_t from, count;
  int refused;
};

static void *submit_many(void *arg) {
  struct submitter *s = arg;
  for (size_t i = s->from; i < s->from + s->count; i++) {
    struct cf_error err;
    cf_error_clear(&err);
    if (cf_runtime_writer_submit_async(s->w, start_op, NULL, on_done, &s->slots[i], &err)) {
      fprintf(stderr, "submit: %s\n", err.msg);
      s->refused++;
    }
  }
  return NULL;
}

static uint64_t sum(const uint64_t *v, size_t n) {
  uint64_t t = 0;
  for (size_t i = 0; i < n; i++) t += v[i];
  return t;
}

/* 4 threads x 250 asynchronous starts: each answered exactly once, with 0, and durable. */
static void test_async_from_threads(void **state) {
  struct fx *f = *state;
  enum { THREADS = 4, PER = 250, N = THREADS * PER };
  struct answers a;
  answers_init(&a, N);
  struct slot *slots = calloc(N, sizeof *slots);
  for (size_t i = 0; i < N; i++) slots[i] = (struct slot){&a, i};
  struct cf_runtime_writer *w;
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_runtime_writer_opts o = {.max_batch = 64, .tick_ms = 50};
  assert_int_equal(cf_runtime_writer_start(f->rt, &o, &w, &err), CF_OK);
  pthread_t th[THREADS];
  struct submitter sub[THREADS];
  for (int i = 0; i < THREADS; i++) {
    sub[i] = (struct submitter){w, slots, (size_t)i * PER, PER, 0};
    pthread_create(&th[i], NULL, submit_many, &sub[i]);
  }
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < THREADS; i++) assert_int_equal(sub[i].refused, 0);
  answers_wait(&a, N);

  struct cf_runtime_writer_stats st;
  cf_runtime_writer_stats(w, &st);
  cf_runtime_writer_stop(w);
  for (size_t i = 0; i < N; i++) {
    assert_int_equal(a.calls[i], 1);
    assert_int_equal(a.rc[i], 0);
  }
  /* Every batch counted once in each histogram; every operation in the sum. */
  assert_true(st.batches >= N / 64);
  assert_true(st.batches <= N);
  assert_int_equal(sum(st.size_buckets, CF_WRITER_SIZE_BUCKETS + 1), st.batches);
  assert_int_equal(sum(st.time_buckets, CF_WRITER_TIME_BUCKETS + 1), st.batches);
  assert_int_equal(st.size_buckets[CF_WRITER_SIZE_BUCKETS], 0); /* max_batch 64: none past 1024 */
  assert_int_equal(st.ops, N);
  assert_true(st.commit_ms_sum > 0);
  assert_int_equal(st.queued, 0);
  assert_int_equal(st.refused, 0);
  assert_int_equal(st.rt.instances_started, N); /* the runtime's counters, as of the last batch */

  /* Durable: a fresh runtime on the file finds every instance. */
  cf_runtime_close(f->rt);
  f->rt = fx_open(f);
  assert_int_equal(count_instances(f->rt), N);
  free(slots);
  answers_release(&a);
}

/* An operation that holds the writer until the test lets it go. */
struct gate {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool entered, open;
};

static int gate_op(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  (void)rt;
  (void)err;
  struct gate *g = arg;
  pthread_mutex_lock(&g->mu);
  g->entered = true;
  pthread_cond_broadcast(&g->cv);
  while (!g->open) pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
  return CF_OK;
}

static void gate_init(struct gate *g) {
  memset(g, 0, sizeof *g);
  pthread_mutex_init(&g->mu, NULL);
  pthread_cond_init(&g->cv, NULL);
}

static void gate_wait_entered(struct gate *g) {
  pthread_mutex_lock(&g->mu);
  while (!g->entered) pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
}

static void gate_open(struct gate *g) {
  pthread_mutex_lock(&g->mu);
  g->open = true;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

static void gate_release(struct gate *g) {
  pthread_mutex_destroy(&g->mu);
  pthread_cond_destroy(&g->cv);
}

static void gate_done(void *arg, int rc, const struct cf_error *err) {
  (void)err;
  *(int *)arg = rc + 1000; /* answered (1000: with 0) */
}

/* With 4 operations waiting behind a slow one, the 5th is refused at once, async or not. */
static void test_queue_limit(void **state) {
  struct fx *f = *state;
  struct gate g;
  gate_init(&g);
  struct answers a;
  answers_init(&a, 5);
  struct slot slots[5];
  for (size_t i = 0; i < 5; i++) slots[i] = (struct slot){&a, i};
  struct cf_runtime_writer *w;
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_runtime_writer_opts o = {.max_queue = 4, .tick_ms = 50};
  assert_int_equal(cf_runtime_writer_start(f->rt, &o, &w, &err), CF_OK);
  int gate_rc = 0;
  assert_int_equal(cf_runtime_writer_submit_async(w, gate_op, &g, gate_done, &gate_rc, &err), CF_OK);
  gate_wait_entered(&g); /* the writer holds it: the queue is empty again */
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(cf_runtime_writer_submit_async(w, start_op, NULL, on_done, &slots[i], &err), CF_OK);
  struct cf_runtime_writer_stats st;
  cf_runtime_writer_stats(w, &st);
  assert_int_equal(st.queued, 4);
  cf_error_clear(&err);
  assert_int_equal(cf_runtime_writer_submit_async(w, start_op, NULL, on_done, &slots[4], &err), CF_EUNAVAILABLE);
  assert_non_null(strstr(err.msg, "overloaded: 4 operations are waiting"));
  cf_error_clear(&err);
  assert_int_equal(cf_runtime_writer_submit(w, start_op, NULL, &err), CF_EUNAVAILABLE);
  assert_non_null(strstr(err.msg, "overloaded"));
  cf_runtime_writer_stats(w, &st);
  assert_int_equal(st.refused, 2);
  gate_open(&g);
  answers_wait(&a, 4);
  cf_runtime_writer_stop(w);
  assert_int_equal(gate_rc, 1000);
  for (size_t i = 0; i < 4; i++) assert_int_equal(a.calls[i], 1);
  assert_int_equal(a.calls[4], 0); /* refused: never called */
  assert_int_equal(count_instances(f->rt), 4);
  answers_release(&a);
  gate_release(&g);
}

struct stopper {
  struct cf_runtime_writer *w;
};

static void *stop_thread(void *arg) {
  cf_runtime_writer_stop(((struct stopper *)arg)->w);
  return NULL;
}

/* A stop while operations wait: each is still run and answered; what comes after the stop is refused. */
static void test_stop_answers_queued(void **state) {
  struct fx *f = *state;
  struct gate g;
  gate_init(&g);
  enum { N = 1000 };
  struct answers a;
  answers_init(&a, N);
  struct slot *slots = calloc(N, sizeof *slots);
  for (size_t i = 0; i < N; i++) slots[i] = (struct slot){&a, i};
  struct cf_runtime_writer *w;
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_runtime_writer_opts o = {.max_batch = 16, .tick_ms = 50};
  assert_int_equal(cf_runtime_writer_start(f->rt, &o, &w, &err), CF_OK);
  int gate_rc = 0;
  assert_int_equal(cf_runtime_writer_submit_async(w, gate_op, &g, gate_done, &gate_rc, &err), CF_OK);
  gate_wait_entered(&g);
  for (size_t i = 0; i < 10; i++)
    assert_int_equal(cf_runtime_writer_submit_async(w, start_op, NULL, on_done, &slots[i], &err), CF_OK);
  pthread_t th;
  struct stopper s = {w};
  pthread_create(&th, NULL, stop_thread, &s);
  /* Until the stop is seen, submits are still taken; then refused as "stopping". */
  size_t accepted = 10;
  for (;;) {
    assert_true(accepted < N);
    cf_error_clear(&err);
    int rc = cf_runtime_writer_submit_async(w, start_op, NULL, on_done, &slots[accepted], &err);
    if (rc) {
      assert_int_equal(rc, CF_EUNAVAILABLE);
      assert_non_null(strstr(err.msg, "stopping"));
      break;
    }
    accepted++;
    usleep(100);
  }
  gate_open(&g);
  pthread_join(th, NULL);
  assert_int_equal(gate_rc, 1000);
  assert_int_equal(a.answered, accepted);
  for (size_t i = 0; i < accepted; i++) {
    assert_int_equal(a.calls[i], 1);
    assert_int_equal(a.rc[i], 0);
  }
  assert_int_equal(count_instances(f->rt), accepted);
  free(slots);
  answers_release(&a);
  gate_release(&g);
}

struct batch_count {
  pthread_mutex_t mu;
  size_t calls;
};

static void on_batch(void *arg) {
  struct batch_count *b = arg;
  pthread_mutex_lock(&b->mu);
  b->calls++;
  pthread_mutex_unlock(&b->mu);
}

/* on_batch after each batch; a done callback may submit again (the writer's mutex is not held). */
static void test_on_batch_and_resubmit(void **state) {
  struct fx *f = *state;
  enum { N = 200 };
  struct answers a;
  answers_init(&a, N);
  a.resubmit = true;
  struct slot slots[N / 2];
  for (size_t i = 0; i < N / 2; i++) slots[i] = (struct slot){&a, i};
  struct batch_count b = {.calls = 0};
  pthread_mutex_init(&b.mu, NULL);
  struct cf_runtime_writer *w;
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_runtime_writer_opts o = {.max_batch = 8, .tick_ms = 50, .on_batch = on_batch, .batch_arg = &b};
  assert_int_equal(cf_runtime_writer_start(f->rt, &o, &w, &err), CF_OK);
  a.w = w;
  for (size_t i = 0; i < N / 2; i++)
    assert_int_equal(cf_runtime_writer_submit_async(w, start_op, NULL, on_done, &slots[i], &err), CF_OK);
  answers_wait(&a, N);
  struct cf_runtime_writer_stats st;
  cf_runtime_writer_stats(w, &st);
  cf_runtime_writer_stop(w);
  assert_int_equal(a.resubmitted, N / 2);
  for (size_t i = 0; i < N; i++) assert_int_equal(a.calls[i], 1);
  assert_int_equal(st.ops, N);
  assert_true(st.batches >= N / 8);
  pthread_mutex_lock(&b.mu);
  assert_true(b.calls >= st.batches);
  pthread_mutex_unlock(&b.mu);
  assert_int_equal(count_instances(f->rt), N);
  pthread_mutex_destroy(&b.mu);
  answers_release(&a);
}

/* The synchronous submit still works beside the asynchronous one, and its failures come back. */
static int failing_op(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  (void)arg;
  return cf_runtime_start(rt, "no_such_process", 0, NULL, NULL, NULL, err);
}

static void test_sync_submit_error(void **state) {
  struct fx *f = *state;
  struct cf_runtime_writer *w;
  struct cf_error err;
  cf_error_clear(&err);
  assert_int_equal(cf_runtime_writer_start(f->rt, NULL, &w, &err), CF_OK);
  assert_int_equal(cf_runtime_writer_submit(w, start_op, NULL, &err), CF_OK);
  cf_error_clear(&err);
  assert_int_not_equal(cf_runtime_writer_submit(w, failing_op, NULL, &err), CF_OK);
  assert_true(err.msg[0] != '\0');
  struct cf_runtime_writer_stats st;
  cf_runtime_writer_stats(w, &st);
  assert_int_equal(st.ops, 2);
  assert_int_equal(st.size_buckets[0], 2); /* two batches of one */
  cf_runtime_writer_stop(w);
  assert_int_equal(count_instances(f->rt), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_async_from_threads, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stop_answers_queued, setup, teardown),
      cmocka_unit_test_setup_teardown(test_on_batch_and_resubmit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sync_submit_error, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
