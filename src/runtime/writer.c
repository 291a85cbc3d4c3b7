/*
 * The writer (cf_runtime.h): one thread that owns the runtime and applies
 * the operations other threads submit, a batch at a time.
 *
 * Group commit: the thread takes every operation queued (up to max_batch),
 * runs each in a savepoint of one transaction, commits once, and only then
 * wakes their submitters with their results; so durability costs one sync
 * per batch, and an answer always means "durable". A commit that fails
 * answers every operation of the batch with its error (none of them is
 * stored). Between batches, and at least every tick, the thread does the
 * housekeeping: due timers, expired messages, retention.
 *
 * Asynchronous submits (the HTTP API's commands) are answered through their
 * done callback on this thread, outside the mutex, after the batch; then
 * on_batch tells the API that something changed (long polls look again).
 * The counters live under the mutex, and the runtime's own are copied there
 * by this thread after each batch, so a reader on any thread never touches
 * the runtime.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "base/cf_alloc.h"
#include "runtime/runtime_int.h"

const double cf_runtime_writer_size_bounds[CF_WRITER_SIZE_BUCKETS] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
const double cf_runtime_writer_time_bounds_ms[CF_WRITER_TIME_BUCKETS] = {0.25, 0.5, 1,   2.5, 5,   10,
                                                                         25,   50,  100, 250, 500, 1000};

/*
 * One submitted operation. A synchronous submit keeps its job on its own
 * stack and waits for `done`; the writer must not touch it once `done` is
 * set and the mutex released. An asynchronous job is heap-allocated and
 * belongs to the writer from the moment it is queued: the writer calls its
 * callback, outside the mutex, and frees it.
 */
struct job {
  cf_runtime_op_fn fn;
  void *arg;
  int rc;
  struct cf_error err;
  bool done;
  unsigned part;         /* the batch's part that holds it (cf_runtime_batch_part) */
  cf_runtime_done_fn cb; /* NULL: a synchronous submit */
  void *cb_arg;
  struct job *next;
};

struct cf_runtime_writer {
  struct cf_runtime *rt;
  struct cf_runtime_writer_opts o;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t wake;  /* the writer: work or stop */
  pthread_cond_t done;  /* submitters: a batch ended */
  struct job *head, *tail;
  bool stopping, woken;
  int64_t last_prune_ms;
  struct cf_runtime_writer_stats stats; /* under mu; stats.queued counts head..tail */
};

static void report(struct cf_runtime_writer *w, const struct cf_error *err) {
  if (w->o.on_error) w->o.on_error(w->o.arg, err);
}

static double ms_between(const struct timespec *a, const struct timespec *b) {
  return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* The runtime's counters, read on the writer's thread (the only one that may), published under mu. */
static void publish_rt_stats(struct cf_runtime_writer *w) {
  struct cf_runtime_stats s;
  cf_runtime_stats(w->rt, &s);
  pthread_mutex_lock(&w->mu);
  w->stats.rt = s;
  pthread_mutex_unlock(&w->mu);
}

/* Housekeeping: fire what is due, expire messages, prune. Returns how long the writer may sleep (ms). */
static int64_t housekeeping(struct cf_runtime_writer *w) {
  struct cf_runtime *rt = w->rt;
  struct cf_error err;
  cf_error_clear(&err);
  size_t fired = 0, fired_total = 0;
  bool failed = false;
  /* Timers in batches of their own: each firing is an operation, the batch one commit. What they do
   * is by the timer, not by whoever the last command was from. */
  cf_runtime_set_actor(rt, "timer");
  do {
    fired = 0;
    if (cf_runtime_batch_begin(rt, &err)) {
      report(w, &err);
      failed = true;
      break;
    }
    int rc = cf_runtime_fire_timers(rt, 256, &fired, &err);
    if (rc) {
      report(w, &err);
      failed = true;
    }
    cf_error_clear(&err);
    if (cf_runtime_batch_commit(rt, &err)) {
      report(w, &err);
      failed = true;
      break;
    }
    fired_total += fired;
  } while (fired == 256);
  if (cf_runtime_expire_messages(rt, NULL, &err)) report(w, &err);
  int64_t extra_due = INT64_MAX;
  if (w->o.housekeep) {
    /* The caller's housekeeping (date-relative triggers) in a batch of its own. */
    cf_error_clear(&err);
    if (cf_runtime_batch_begin(rt, &err)) {
      report(w, &err);
    } else {
      size_t done = 0;
      int rc = w->o.housekeep(rt, w->o.housekeep_arg, &done, &extra_due, &err);
      if (rc) {
        report(w, &err);
        failed = true;
      }
      cf_error_clear(&err);
      if (cf_runtime_batch_commit(rt, &err)) {
        report(w, &err);
        failed = true;
      } else if (!rc) {
        fired_total += done; /* it may have started instances: jobs for the waiting */
      }
    }
  }
  int64_t now = cf_runtime_now(rt);
  if (w->o.retention_ms > 0 && now - w->last_prune_ms >= 60000) {
    w->last_prune_ms = now;
    size_t removed;
    if (cf_runtime_prune(rt, now - w->o.retention_ms, &removed, &err)) report(w, &err);
  }
  int64_t due;
  int64_t sleep = w->o.tick_ms;
  if (cf_runtime_next_due(rt, &due, &err) != CF_OK) due = INT64_MAX;
  if (extra_due < due) due = extra_due;
  if (due != INT64_MAX) {
    int64_t until = due - cf_runtime_now(rt);
    /* A timer that is due yet did not fire is tried again a little later, not at once: one that keeps
     * failing (or the database refusing the batch) would spin the thread and flood the log. */
    if (until < 1 && failed) until = sleep;
    else if (until < 10 && !fired_total) until = 10;
    if (until < sleep) sleep = until < 1 ? 1 : until;
  }
  publish_rt_stats(w);
  /* Fired timers may have made jobs available: whoever waits for them looks again. */
  if (fired_total && w->o.on_batch) w->o.on_batch(w->o.batch_arg);
  return sleep;
}

static size_t bucket_of(const double *bounds, size_t n, double v) {
  size_t i = 0;
  while (i < n && v > bounds[i]) i++;
  return i;
}

/* Runs a batch of n jobs (detached from the queue), answers them, and counts it. */
static void run_batch(struct cf_runtime_writer *w, struct job *batch, size_t n) {
  struct cf_runtime *rt = w->rt;
  struct cf_error err;
  cf_error_clear(&err);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int brc = cf_runtime_batch_begin(rt, &err);
  for (struct job *j = batch; j; j = j->next) j->part = 0;
  for (struct job *j = batch; j && !brc; j = j->next) {
    cf_error_clear(&j->err);
    j->rc = rt_run(rt, j->fn, j->arg, &j->err);
    j->part = cf_runtime_batch_part(rt);
  }
  /* A failed commit loses the last part only: the parts committed early stand (cf_runtime_batch_part). */
  unsigned last_part = cf_runtime_batch_part(rt);
  if (!brc) brc = cf_runtime_batch_commit(rt, &err);
  else cf_runtime_batch_rollback(rt);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ms = ms_between(&t0, &t1);
  struct cf_runtime_stats rs;
  cf_runtime_stats(rt, &rs);

  struct job *async = NULL;
  pthread_mutex_lock(&w->mu);
  for (struct job *j = batch, *next; j; j = next) {
    next = j->next;
    if (brc && j->part == last_part) {
      j->rc = brc;
      j->err = err;
    }
    if (j->cb) {
      j->next = async;
      async = j;
    } else {
      j->done = true; /* from here on the submitter owns it (its stack) */
    }
  }
  struct cf_runtime_writer_stats *s = &w->stats;
  s->batches++;
  s->ops += n;
  s->size_buckets[bucket_of(cf_runtime_writer_size_bounds, CF_WRITER_SIZE_BUCKETS, (double)n)]++;
  s->time_buckets[bucket_of(cf_runtime_writer_time_bounds_ms, CF_WRITER_TIME_BUCKETS, ms)]++;
  s->commit_ms_sum += ms;
  s->rt = rs;
  pthread_cond_broadcast(&w->done);
  pthread_mutex_unlock(&w->mu);

  /* Outside the mutex: a callback may submit again (or read the stats). The order does not matter. */
  for (struct job *j = async, *next; j; j = next) {
    next = j->next;
    j->cb(j->cb_arg, j->rc, &j->err);
    cf_free(j);
  }
  if (w->o.on_batch) w->o.on_batch(w->o.batch_arg);
}

static void *writer_main(void *arg) {
  struct cf_runtime_writer *w = arg;
  int64_t sleep_ms = housekeeping(w);
  pthread_mutex_lock(&w->mu);
  for (;;) {
    if (!w->head && !w->stopping && !w->woken) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_sec += sleep_ms / 1000;
      ts.tv_nsec += (long)(sleep_ms % 1000) * 1000000L;
      if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
      }
      int r = pthread_cond_timedwait(&w->wake, &w->mu, &ts);
      if (r == ETIMEDOUT || w->woken) {
        w->woken = false;
        pthread_mutex_unlock(&w->mu);
        sleep_ms = housekeeping(w);
        pthread_mutex_lock(&w->mu);
        continue;
      }
    }
    w->woken = false;
    if (!w->head) {
      if (w->stopping) break;
      continue;
    }
    /* Take up to max_batch operations. */
    struct job *batch = w->head, *last = batch;
    size_t n = 1;
    while (last->next && n < w->o.max_batch) {
      last = last->next;
      n++;
    }
    w->head = last->next;
    if (!w->head) w->tail = NULL;
    last->next = NULL;
    w->stats.queued -= n;
    pthread_mutex_unlock(&w->mu);
    run_batch(w, batch, n);
    pthread_mutex_lock(&w->mu);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

int cf_runtime_writer_start(struct cf_runtime *rt, const struct cf_runtime_writer_opts *o,
                            struct cf_runtime_writer **out, struct cf_error *err) {
  *out = NULL;
  struct cf_runtime_writer *w = cf_calloc(1, sizeof *w);
  if (!w) return cf_error_set(err, CF_ENOMEM, "out of memory");
  w->rt = rt;
  if (o) w->o = *o;
  if (!w->o.max_batch) w->o.max_batch = 1024;
  if (!w->o.max_queue) w->o.max_queue = 65536;
  if (w->o.tick_ms <= 0) w->o.tick_ms = 1000;
  w->last_prune_ms = INT64_MIN / 2;
  cf_runtime_stats(rt, &w->stats.rt);
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->wake, NULL);
  pthread_cond_init(&w->done, NULL);
  if (pthread_create(&w->thread, NULL, writer_main, w)) {
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->done);
    cf_free(w);
    return cf_error_set(err, CF_EIO, "cannot start the writer thread");
  }
  *out = w;
  return CF_OK;
}

/* Queues j, or refuses (stopping, overloaded) with CF_EUNAVAILABLE. Called with mu held. */
static int enqueue(struct cf_runtime_writer *w, struct job *j, struct cf_error *err) {
  if (w->stopping) return cf_error_set(err, CF_EUNAVAILABLE, "the writer is stopping");
  if (w->stats.queued >= w->o.max_queue) {
    w->stats.refused++;
    return cf_error_set(err, CF_EUNAVAILABLE, "the server is overloaded: %zu operations are waiting",
                        w->stats.queued);
  }
  if (w->tail) w->tail->next = j;
  else w->head = j;
  w->tail = j;
  w->stats.queued++;
  pthread_cond_signal(&w->wake);
  return CF_OK;
}

int cf_runtime_writer_submit(struct cf_runtime_writer *w, cf_runtime_op_fn fn, void *arg, struct cf_error *err) {
  struct job j = {.fn = fn, .arg = arg};
  pthread_mutex_lock(&w->mu);
  int rc = enqueue(w, &j, err);
  if (rc) {
    pthread_mutex_unlock(&w->mu);
    return rc;
  }
  while (!j.done) pthread_cond_wait(&w->done, &w->mu);
  pthread_mutex_unlock(&w->mu);
  if (j.rc && err) *err = j.err;
  return j.rc;
}

int cf_runtime_writer_submit_async(struct cf_runtime_writer *w, cf_runtime_op_fn fn, void *arg,
                                   cf_runtime_done_fn done, void *done_arg, struct cf_error *err) {
  struct job *j = cf_calloc(1, sizeof *j);
  if (!j) return cf_error_set(err, CF_ENOMEM, "out of memory");
  j->fn = fn;
  j->arg = arg;
  j->cb = done;
  j->cb_arg = done_arg;
  pthread_mutex_lock(&w->mu);
  int rc = enqueue(w, j, err);
  pthread_mutex_unlock(&w->mu);
  if (rc) cf_free(j);
  return rc;
}

void cf_runtime_writer_stats(struct cf_runtime_writer *w, struct cf_runtime_writer_stats *out) {
  pthread_mutex_lock(&w->mu);
  *out = w->stats;
  pthread_mutex_unlock(&w->mu);
}

void cf_runtime_writer_wake(struct cf_runtime_writer *w) {
  pthread_mutex_lock(&w->mu);
  w->woken = true;
  pthread_cond_signal(&w->wake);
  pthread_mutex_unlock(&w->mu);
}

/* The writer drains the queue before it leaves its loop (it stops only when stopping and the queue is
 * empty), so every operation acknowledged as queued is answered: synchronous ones wake, asynchronous
 * ones get their done callback. */
void cf_runtime_writer_stop(struct cf_runtime_writer *w) {
  if (!w) return;
  pthread_mutex_lock(&w->mu);
  w->stopping = true;
  pthread_cond_signal(&w->wake);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->wake);
  pthread_cond_destroy(&w->done);
  cf_free(w);
}
