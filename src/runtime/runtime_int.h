/*
 * The runtime's insides, shared by its files: runtime.c (operations,
 * the instance cache, persisting an engine call), route.c (what the engine
 * leaves to its caller: calls, errors, messages, signals, timers) and
 * writer.c (the group-commit thread).
 */
#ifndef CF_RUNTIME_INT_H
#define CF_RUNTIME_INT_H

#include "base/cf_buf.h"
#include "engine/cf_engine.h"
#include "runtime/cf_runtime.h"

/* A deployed process definition, compiled once. */
struct rt_model {
  uint64_t def_key;
  char *process_id;
  int32_t version;
  int64_t deployed_ms;
  struct cf_bpmn_model *model; /* shared by the definitions of one resource? no: one parse each */
  uint32_t process;            /* index in model->processes */
  uint64_t op;                 /* the operation that compiled it (undone with it: its key may return) */
};

/* A loaded instance (the cache's entry). */
struct rt_inst {
  uint64_t key;
  struct cf_engine_instance *inst;
  struct rt_model *m;
  int64_t row_version; /* of the stored row this state matches; 0: not stored yet */
  uint64_t parent_key;
  char *business_key;
  int64_t started_ms;
  uint64_t op;         /* the last operation that touched it */
  uint64_t loaded_op;  /* the operation that read it from the store */
  uint64_t checked_tx; /* the transaction in which it was last known to match the store */
  unsigned rows_written; /* kinds of side rows its last write stored (enum cf_store_rows_kind) */
  bool rows_known;       /* rows_written and jobs_written are known (it was written by this runtime) */
  uint64_t *jobs_written; /* the keys of the job rows its last write stored */
  size_t njobs_written, capjobs_written;
};

/* An engine event that asks something of the runtime, queued until routed. */
struct rt_pending {
  uint64_t inst;
  uint8_t kind;
  uint64_t key;
  char *detail;
  char *variables;
};

struct cf_runtime {
  uint64_t last_adopted;  /* the key of the instance rt_adopt stored last (a message correlation's answer) */
  const struct cf_store_ops *ops;
  struct cf_store *st;
  int64_t (*clock_ms)(void *arg);
  void *clock_arg;
  char *actor;
  int64_t now_ms; /* read once per operation */

  /* keys: a block reserved in the store */
  uint64_t key_next, key_end, key_block;
  bool key_failed;
  uint64_t key_poison;

  /* compiled definitions */
  struct rt_model **models;
  size_t nmodels, capmodels;

  /* loaded instances: open addressing by key */
  struct rt_inst **slots;
  size_t nslots, count, cache_max;

  uint64_t *touched; /* keys of the instances the running operation loaded or made */
  size_t ntouched, captouched;
  uint64_t op_id, batch_first_op;
  int op_depth; /* rt_run calls on the stack (an operation inside an operation joins it) */
  uint64_t tx_id;    /* bumped at every transaction's start: cached copies are checked once in each */
  bool in_batch, batch_dead;
  unsigned batch_part; /* parts of the batch committed early (cf_runtime_batch_part) */
  char dead_why[256];  /* what killed the batch (batch_dead) */
  bool conflict; /* the store refused a stale instance in this operation */

  struct rt_pending *queue;
  size_t qhead, qlen, qcap;

  struct cf_buf buf;

  /* the latest definition of process ids, valid while one transaction lasts (no deploy can
   * come between), so starting many instances reads the definition once a batch */
  struct rt_model **latest;
  size_t nlatest, caplatest;

  /* counters: of the running operation, of the open batch, and committed */
  struct cf_runtime_stats st_op, st_batch, stats;
};

/* runtime.c */
uint64_t rt_next_key(void *arg);
struct cf_engine_env rt_env(struct cf_runtime *rt);
int rt_model_by_key(struct cf_runtime *rt, uint64_t def_key, struct rt_model **out, struct cf_error *err);
int rt_model_get(struct cf_runtime *rt, const char *process_id, int32_t version, const char *version_tag,
                 struct rt_model **out, struct cf_error *err);
int rt_load(struct cf_runtime *rt, uint64_t key, struct rt_inst **out, struct cf_error *err);
int rt_load_of(struct cf_runtime *rt, const char *what, uint64_t key, struct rt_inst **out,
               struct cf_error *err);
/* Applies cmd to ri and stores the result; vars_json: the command's variables for history. */
int rt_apply(struct cf_runtime *rt, struct rt_inst *ri, const struct cf_engine_cmd *cmd, struct cf_error *err);
/* Adds a new instance (just started by the engine) and stores it with out's events. */
int rt_adopt(struct cf_runtime *rt, struct cf_engine_instance *inst, struct rt_model *m, uint64_t parent_key,
             const char *business_key, const struct cf_engine_output *out,
             const struct cf_feel_value *vars, struct rt_inst **ri_out, struct cf_error *err);
/* Starts an instance at a start event that fired (message, signal, timer). */
int rt_start_event(struct cf_runtime *rt, struct rt_model *m, uint32_t element, const struct cf_feel_value *vars,
                   const char *business_key, struct cf_error *err);
bool rt_active(const struct rt_inst *ri);
const char *rt_process_id(const struct rt_inst *ri);
char *rt_value_json(const struct cf_feel_value *v);

/* route.c */
int rt_drain(struct cf_runtime *rt, struct cf_error *err);
void rt_queue_clear(struct cf_runtime *rt);
int rt_queue_output(struct cf_runtime *rt, uint64_t inst, const struct cf_engine_output *out);
/* The name of a message or signal start event, or the text of a timer (FEEL without variables); new string. */
char *rt_static_text(struct cf_runtime *rt, const struct cf_bpmn_value *v, struct cf_error *err);
char *rt_start_name(struct cf_runtime *rt, const struct cf_bpmn_element *e, struct cf_error *err);
int rt_publish_op(struct cf_runtime *rt, void *arg, struct cf_error *err);
int rt_broadcast_op(struct cf_runtime *rt, void *arg, struct cf_error *err);
int rt_fire_timer_op(struct cf_runtime *rt, void *arg, struct cf_error *err);
/* The next due time of a timer start event after after_ms (the schedule counted from deployment), or -1. */
int64_t rt_start_timer_next(struct cf_runtime *rt, struct rt_model *m, uint32_t element, int64_t after_ms,
                            struct cf_error *err);

/* runtime.c: runs fn as one operation (own transaction, or a savepoint of the open batch). */
int rt_run(struct cf_runtime *rt, cf_runtime_op_fn fn, void *arg, struct cf_error *err);

#endif
