/*
 * The runtime: applies commands through the engine and the store.
 *
 * Every operation (a start, a job completion, a message...) runs in one
 * store transaction, or as one savepoint of a batch the caller opened
 * (group commit: one durable sync per batch): load the instance's saved
 * state, run the engine on it, and write back the new state, the rows it
 * implies (jobs, user tasks, timers, subscriptions, incidents) and the
 * history events, all or nothing. An operation that fails leaves nothing of
 * itself behind, and the batch goes on. The instance row's version makes a
 * concurrent writer (another process, another node) lose cleanly: the
 * runtime reloads and retries, and never applies a command twice.
 *
 * What the engine leaves to its caller is done here, durably: starting the
 * child of a call activity and returning its result, routing errors and
 * escalations to the parents, broadcasting signals, correlating messages
 * (buffered for their time to live, at most once per process, idempotent by
 * message id), starting instances at message, signal and timer start events,
 * and firing timers that are due (late, never early, also after a restart).
 *
 * Speed: compiled models are kept by definition key, and recently used
 * instances stay loaded between operations (bounded), so the hot path does
 * no XML or JSON parsing; a stale copy is caught by the row version.
 *
 * A runtime is used by one thread at a time (the writer); readers open their
 * own read-only store. It reads the clock through its options (tests inject
 * one). It knows no HTTP.
 */
#ifndef CF_RUNTIME_H
#define CF_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpmn/cf_bpmn.h"
#include "crmflow/cf_error.h"
#include "feel/cf_feel.h"
#include "store/cf_store.h"

struct cf_runtime;

struct cf_runtime_opts {
  const char *db;                 /* the store's location: a file path */
  unsigned store_flags;           /* CF_STORE_FAST trades durability for speed */
  int64_t (*clock_ms)(void *arg); /* NULL: the system clock */
  void *clock_arg;
  const char *actor;              /* who acts, recorded in history: "cli", "worker:NAME"... NULL: "runtime" */
  size_t cache_instances;         /* instances kept loaded; 0: 4096 */
};

int cf_runtime_open(const struct cf_runtime_opts *o, struct cf_runtime **out, struct cf_error *err);
void cf_runtime_close(struct cf_runtime *rt);

/* Who the next operations are done by (copied). */
int cf_runtime_set_actor(struct cf_runtime *rt, const char *actor);
int64_t cf_runtime_now(const struct cf_runtime *rt);

/* The store under the runtime, borrowed (the writer's handle: use it from the runtime's thread only). */
void cf_runtime_store(struct cf_runtime *rt, const struct cf_store_ops **ops, struct cf_store **store);

/* ------------------------------------------------------------ batches (group commit) */

/*
 * Opens a batch: the operations until commit share one transaction, each in
 * a savepoint of its own (one that fails is undone alone). Commit makes them
 * durable together; a failed commit (CF_EIO) loses the whole batch, and so
 * does rollback: the caller must not have acknowledged any of them.
 */
int cf_runtime_batch_begin(struct cf_runtime *rt, struct cf_error *err);
int cf_runtime_batch_commit(struct cf_runtime *rt, struct cf_error *err);
void cf_runtime_batch_rollback(struct cf_runtime *rt);

/*
 * A batch may be committed in parts: when an operation loses a lock wait to
 * another node's batch (cf_store_ops.must_end), the operations before it
 * are committed at once and it runs again in a new transaction. The part
 * number (from 0 in each batch) after an operation tells which part holds
 * it: a failed commit or rollback loses only the last part, the earlier
 * parts are durable and their operations may be acknowledged.
 */
unsigned cf_runtime_batch_part(const struct cf_runtime *rt);

/* An operation's function: runtime calls that commit or are undone together. */
typedef int (*cf_runtime_op_fn)(struct cf_runtime *rt, void *arg, struct cf_error *err);

/*
 * Runs fn(rt, arg) as one operation: inside an open batch, a savepoint of its
 * own (undone alone when fn fails); else a transaction of its own. Called
 * from inside an operation, fn joins it. For callers above the runtime that
 * combine several runtime calls into one all-or-nothing change (a record and
 * the instances its triggers start).
 */
int cf_runtime_run(struct cf_runtime *rt, cf_runtime_op_fn fn, void *arg, struct cf_error *err);

/* ------------------------------------------------------------ deployments */

struct cf_runtime_deployed {
  char *process_id;
  int32_t version;
  uint64_t definition_key;
  char *resource_name;
  uint64_t deployment_key; /* of the deployment that stored this version */
  bool unchanged; /* identical content was deployed already: its existing version */
};

void cf_runtime_deployed_release(struct cf_runtime_deployed *d, size_t n);

/*
 * Deploys one BPMN resource: every executable process in it gets a new
 * version, unless that process's content is deployed already (then its
 * existing version, unchanged). Timer start events of the new versions are
 * scheduled, those of the versions they replace removed. A refused model:
 * CF_EINVAL with problems filled (may be NULL) and err naming the first;
 * nothing is stored.
 */
int cf_runtime_deploy(struct cf_runtime *rt, const char *resource_name, const char *xml, size_t len,
                      struct cf_runtime_deployed **out, size_t *n, struct cf_bpmn_problems *problems,
                      struct cf_error *err);

/* ------------------------------------------------------------ commands */

/*
 * Starts an instance of the latest version of process_id (version 0) or of a
 * given version, at its none start event, with variables (a context, or
 * NULL). CF_ENOTFOUND: no such process deployed.
 */
int cf_runtime_start(struct cf_runtime *rt, const char *process_id, int32_t version,
                     const struct cf_feel_value *variables, const char *business_key,
                     uint64_t *instance_key, struct cf_error *err);

/*
 * The definition (key and version) of an instance this runtime holds in its
 * cache (one it just started, say), without reading the store: CF_ENOTFOUND
 * when it is not cached (the caller reads the store).
 */
int cf_runtime_cached_definition(struct cf_runtime *rt, uint64_t instance_key, uint64_t *definition_key,
                                 int32_t *version);

/* An activated job, with the variables visible at its element (a JSON object). */
struct cf_runtime_job {
  struct cf_store_job job;
  char *process_id;
  uint64_t definition_key;
  int32_t version;
  char *variables;
};

void cf_runtime_jobs_release(struct cf_runtime_job *jobs, size_t n);

/*
 * Leases up to max jobs of a type to worker (non-empty) until now +
 * timeout_ms; a job whose lease expired is available again.
 */
int cf_runtime_jobs_activate(struct cf_runtime *rt, const char *type, size_t max, const char *worker,
                             int64_t timeout_ms, struct cf_runtime_job **out, size_t *n,
                             struct cf_error *err);

/*
 * Job outcomes. worker, when not NULL, must be the job's last lease holder,
 * and no other worker may hold a live lease on it: a job whose lease
 * expired and was taken by another worker is refused (CF_ECONFLICT), so a
 * late worker cannot complete it a second time. NULL: an operator acting
 * (the CLI without --worker), no lease check.
 */
int cf_runtime_job_complete(struct cf_runtime *rt, uint64_t job_key, const char *worker,
                            const struct cf_feel_value *variables, struct cf_error *err);
int cf_runtime_job_fail(struct cf_runtime *rt, uint64_t job_key, const char *worker, int32_t retries,
                        const char *message, int64_t backoff_ms, const struct cf_feel_value *variables,
                        struct cf_error *err);
int cf_runtime_job_throw_error(struct cf_runtime *rt, uint64_t job_key, const char *worker,
                               const char *code, const char *message,
                               const struct cf_feel_value *variables, struct cf_error *err);
int cf_runtime_job_retries(struct cf_runtime *rt, uint64_t job_key, int32_t retries,
                           struct cf_error *err);

int cf_runtime_task_complete(struct cf_runtime *rt, uint64_t task_key,
                             const struct cf_feel_value *variables, struct cf_error *err);
/* assignee NULL unassigns. */
int cf_runtime_task_assign(struct cf_runtime *rt, uint64_t task_key, const char *assignee,
                           struct cf_error *err);

/* Resolves an incident; retries > 0 first gives its job that many retries. */
int cf_runtime_incident_resolve(struct cf_runtime *rt, uint64_t incident_key, int32_t retries,
                                struct cf_error *err);

/* Cancels an active instance (and its called children). */
int cf_runtime_cancel(struct cf_runtime *rt, uint64_t instance_key, struct cf_error *err);

/* Sets variables on an instance (scope_key: the instance key or an element instance key). */
int cf_runtime_set_variables(struct cf_runtime *rt, uint64_t instance_key, uint64_t scope_key,
                             const struct cf_feel_value *variables, bool local, struct cf_error *err);

/*
 * Publishes a message: correlated now to the waiting subscriptions (at most
 * once per BPMN process id) and message start events, and buffered for
 * ttl_ms when ttl_ms > 0. A message_id still buffered makes a second
 * publish a no-op (*duplicate true, *message_key 0).
 */
int cf_runtime_publish(struct cf_runtime *rt, const char *name, const char *correlation_key,
                       const struct cf_feel_value *variables, int64_t ttl_ms, const char *message_id,
                       uint64_t *message_key, bool *duplicate, struct cf_error *err);

/*
 * Publishes a message without buffering it and says which instance it
 * reached first (a waiting subscription, or an instance a message start
 * event started): CF_ENOTFOUND when none.
 */
int cf_runtime_correlate(struct cf_runtime *rt, const char *name, const char *correlation_key,
                         const struct cf_feel_value *variables, uint64_t *message_key, uint64_t *instance_key,
                         struct cf_error *err);

/*
 * Personal data erasure in an instance: every variable value (at any
 * depth, in every scope) and every value in its history that is one of
 * values (strings) becomes marker, the instance's state stays whole, and
 * an event PERSONAL_DATA_ERASED records it. *replaced (may be NULL) counts
 * the values replaced in the state.
 */
int cf_runtime_erase_values(struct cf_runtime *rt, uint64_t instance_key, const char *const *values, size_t n,
                            const char *marker, size_t *replaced, struct cf_error *err);

/* Broadcasts a signal to every waiting subscription and signal start event; *reached may be NULL. */
int cf_runtime_broadcast(struct cf_runtime *rt, const char *name, const struct cf_feel_value *variables,
                         size_t *reached, struct cf_error *err);

/*
 * Housekeeping. fire_timers fires the timers due now (at most max, earliest
 * first), each in an operation of its own; one that fails is reported
 * through err after the others ran. expire removes buffered messages whose
 * time to live ended. next_due gives the earliest timer's due time (or
 * INT64_MAX) so a scheduler knows how long it may sleep.
 */
int cf_runtime_fire_timers(struct cf_runtime *rt, size_t max, size_t *fired, struct cf_error *err);
int cf_runtime_expire_messages(struct cf_runtime *rt, size_t *removed, struct cf_error *err);
int cf_runtime_next_due(struct cf_runtime *rt, int64_t *due_ms, struct cf_error *err);

/* Removes ended instances (state, side rows, history) that ended before before_ms, in batches. */
int cf_runtime_prune(struct cf_runtime *rt, int64_t before_ms, size_t *removed, struct cf_error *err);

/* ------------------------------------------------------------ counters */

/* What this runtime has made durable since it opened (for /metrics and benchmarks). */
struct cf_runtime_stats {
  uint64_t instances_started;   /* every instance: started, by a start event, or called */
  uint64_t instances_completed;
  uint64_t instances_terminated;
  uint64_t jobs_activated, jobs_completed, jobs_failed;
  uint64_t user_tasks_completed;
  uint64_t incidents_created;
  uint64_t operations;          /* committed operations */
  uint64_t commits;             /* durable transactions (batches count once) */
  uint64_t events;              /* history events written */
};

void cf_runtime_stats(const struct cf_runtime *rt, struct cf_runtime_stats *out);

/* ------------------------------------------------------------ the writer (group commit) */

/*
 * The writer: one thread per database that applies operations submitted
 * from any thread, several per batch, and answers each only once its batch
 * is durable. Between batches it fires due timers, expires messages and
 * (when retention is set) prunes ended instances.
 */
struct cf_runtime_writer;

struct cf_runtime_writer_opts {
  size_t max_batch;           /* operations per batch; 0: 1024 */
  int64_t retention_ms;       /* > 0: prune instances ended longer ago than this */
  int64_t tick_ms;            /* longest sleep between housekeeping rounds; 0: 1000 */
  void (*on_error)(void *arg, const struct cf_error *err); /* housekeeping failures (logged) */
  void *arg;
  size_t max_queue;           /* operations waiting at most; past it a submit is refused (overload); 0: 65536 */
  /* Called on the writer's thread after each batch was answered, and after housekeeping fired timers
   * (jobs may have become available: the API's long polls look again). NULL: none. */
  void (*on_batch)(void *arg);
  void *batch_arg;
  /* More housekeeping (the crm layer's date-relative triggers): called between batches inside a
   * batch of its own, at least every tick; *done: how much it did (instances it may have started);
   * *next_due_ms (INT64_MAX: nothing) shortens the sleep. */
  int (*housekeep)(struct cf_runtime *rt, void *arg, size_t *done, int64_t *next_due_ms, struct cf_error *err);
  void *housekeep_arg;
};

/* Done callback of an asynchronous submit: on the writer's thread, once the batch is durable (rc 0)
 * or failed (rc and err); it must not block (hand the answer on, wake someone). */
typedef void (*cf_runtime_done_fn)(void *arg, int rc, const struct cf_error *err);

/* Size and time buckets of the writer's histograms (upper bounds, Prometheus style; a last +Inf). */
#define CF_WRITER_SIZE_BUCKETS 11   /* 1 2 4 ... 1024 operations per batch */
#define CF_WRITER_TIME_BUCKETS 12   /* 0.25 0.5 1 2.5 5 10 25 50 100 250 500 1000 ms per commit */
extern const double cf_runtime_writer_size_bounds[CF_WRITER_SIZE_BUCKETS];
extern const double cf_runtime_writer_time_bounds_ms[CF_WRITER_TIME_BUCKETS];

struct cf_runtime_writer_stats {
  struct cf_runtime_stats rt;  /* the runtime's counters, as of the last batch */
  uint64_t batches;
  uint64_t size_buckets[CF_WRITER_SIZE_BUCKETS + 1]; /* not cumulative; the last: larger */
  uint64_t ops;                                     /* operations in all batches (the sum) */
  uint64_t time_buckets[CF_WRITER_TIME_BUCKETS + 1];
  double commit_ms_sum;
  size_t queued;               /* waiting now */
  uint64_t refused;            /* submits refused for overload */
};

int cf_runtime_writer_start(struct cf_runtime *rt, const struct cf_runtime_writer_opts *o,
                            struct cf_runtime_writer **out, struct cf_error *err);
/* Runs fn(rt, arg) in the writer's next batch and waits until that batch is durable (or failed). */
int cf_runtime_writer_submit(struct cf_runtime_writer *w, cf_runtime_op_fn fn, void *arg,
                             struct cf_error *err);
/*
 * Like submit without waiting: done(done_arg, rc, err) is called once, on the
 * writer's thread, when fn's batch is durable or failed. Returns CF_OK when
 * queued; CF_EUNAVAILABLE at once (done is not called) when the writer is
 * stopping or max_queue operations wait already (overload).
 */
int cf_runtime_writer_submit_async(struct cf_runtime_writer *w, cf_runtime_op_fn fn, void *arg,
                                   cf_runtime_done_fn done, void *done_arg, struct cf_error *err);
/* Thread-safe snapshot of the writer's counters (for /metrics). */
void cf_runtime_writer_stats(struct cf_runtime_writer *w, struct cf_runtime_writer_stats *out);
/* Wakes the writer for housekeeping now (a timer may have become due). */
void cf_runtime_writer_wake(struct cf_runtime_writer *w);
/* Stops taking operations, finishes those queued (answering them), and joins the thread. */
void cf_runtime_writer_stop(struct cf_runtime_writer *w);

#endif
