/*
 * An in-memory runtime around the engine, for `crmflow test`: what the store
 * and the brokers of a deployment do between engine calls, with everything
 * in memory and a virtual clock.
 *
 *   - the instance tree: a call activity's CALL_STARTED starts the called
 *     process (the latest version among the models: the one listed last),
 *     a child's completion goes back to its parent as COMPLETE_CALL, a
 *     cancelled call activity cancels its child, and an error a child does
 *     not catch goes up (CHILD_ERROR) until a parent catches it, or back down
 *     as UNCAUGHT_ERROR (the incident is the thrower's);
 *   - timers: the instances' timers and the timer start events of every
 *     process, fired in due order as the clock moves, each at its own due
 *     time (late, never early);
 *   - messages: correlation to subscriptions by name and correlation key, at
 *     most once per process (Camunda 8's message cardinality: one subscription
 *     per BPMN process id, every process that waits), a buffer for messages
 *     with a time to live, message ids that make publishing idempotent, and
 *     message start events (not a second instance for the same correlation
 *     key while one is active);
 *   - signals: a broadcast reaches every waiting subscription and starts an
 *     instance of every process with a signal start event of that name; a
 *     signal thrown by a process is broadcast the same way.
 *
 * After every engine call, the events it produced are routed in order, and
 * the events those routings produce too, until nothing is left to route
 * (the tree is quiet); then timers already due fire. This is CLI code: it
 * knows the engine's interface only, and nothing of scenario files.
 */
#ifndef CF_CLI_MEMRT_H
#define CF_CLI_MEMRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cf_schedule.h"
#include "bpmn/cf_bpmn.h"
#include "engine/cf_engine.h"
#include "feel/cf_feel.h"

#define CF__MEMRT_NONE ((size_t)-1)

/* One process instance of the tree. */
struct cf__memrt_inst {
  struct cf_engine_instance *inst;
  size_t parent;        /* index of the parent instance, or CF__MEMRT_NONE */
  uint64_t parent_call; /* the parent's call activity element instance, or 0 */
  char *start_key;      /* the correlation key of the message that started it, or NULL */
};

/* A timer start event of a process (the latest version of its id). */
struct cf__memrt_start_timer {
  const struct cf_bpmn_model *model;
  uint32_t process, element;
  struct cf_schedule schedule;
  bool live; /* firings left */
};

/* A published message kept for its time to live. */
struct cf__memrt_message {
  char *name, *key, *id; /* id: the message id, or NULL */
  struct cf_feel_value vars;
  int64_t deadline_ms;   /* buffered while now < deadline */
  char **procs;          /* BPMN process ids it was correlated to */
  size_t nprocs;
};

struct cf__memrt_pending;

struct cf__memrt {
  struct cf_bpmn_model *const *models; /* borrowed; NULL entries (refused models) are skipped */
  size_t nmodels;

  struct cf__memrt_inst *insts; /* in creation order */
  size_t ninsts, capinsts;

  /* The scenario's own instance: the first top-level instance of root_process. */
  const char *root_process; /* borrowed */
  size_t root;

  int64_t now_ms;
  uint64_t next_key;

  struct cf__memrt_start_timer *starts;
  size_t nstarts, capstarts;

  struct cf__memrt_message *msgs;
  size_t nmsgs, capmsgs;

  struct cf__memrt_pending *queue; /* events still to route */
  size_t qhead, qlen, qcap;

  /* Called with the events of every engine call, in order. */
  void (*on_output)(void *arg, size_t inst, const struct cf_engine_output *out);
  /* Called for whatever went wrong while routing (a called process that is missing...). */
  void (*on_problem)(void *arg, const char *msg);
  void *arg;

  bool oom;
  bool failed; /* on_problem was called */
};

/* Sets rt up over the models (borrowed, must outlive rt) with the clock at now_ms. */
void cf__memrt_init(struct cf__memrt *rt, struct cf_bpmn_model *const *models, size_t nmodels,
                    int64_t now_ms, uint64_t first_key);
void cf__memrt_release(struct cf__memrt *rt);

/*
 * Reads the timer start events of every executable process (the latest
 * version of each id) and schedules them from the current time. false when
 * one cannot be read (reported through on_problem).
 */
bool cf__memrt_schedule_starts(struct cf__memrt *rt);

/* The latest version of process id among the models: true and *model, *process. */
bool cf__memrt_find_process(const struct cf__memrt *rt, const char *id,
                            const struct cf_bpmn_model **model, uint32_t *process);

/*
 * Starts a top-level instance of process at start_element (-1: the none start
 * event) with variables (a context or NULL), and routes until quiet. CF_OK
 * and *index, or the engine's refusal with err.
 */
int cf__memrt_start(struct cf__memrt *rt, const struct cf_bpmn_model *model, uint32_t process,
                    int32_t start_element, const struct cf_feel_value *variables, size_t *index,
                    struct cf_error *err);

/* Applies cmd to instance index, then routes until quiet. The engine's refusal, with err. */
int cf__memrt_apply(struct cf__memrt *rt, size_t index, const struct cf_engine_cmd *cmd,
                    struct cf_error *err);

/*
 * Publishes a message (ttl_ms 0: correlate now or drop). false (and nothing
 * happens) when message_id is that of a message still buffered.
 */
bool cf__memrt_publish(struct cf__memrt *rt, const char *name, const char *key,
                       const struct cf_feel_value *variables, int64_t ttl_ms, const char *message_id);

/* Broadcasts a signal; returns how many subscriptions and start events it reached. */
size_t cf__memrt_broadcast(struct cf__memrt *rt, const char *name, const struct cf_feel_value *variables);

/* Moves the clock forward to target_ms, firing every timer due by then in due order. */
void cf__memrt_advance(struct cf__memrt *rt, int64_t target_ms);

/* Whether instance i is the root or one of its descendants. */
bool cf__memrt_in_root_tree(const struct cf__memrt *rt, size_t i);

/* The BPMN process id of instance i. */
const char *cf__memrt_process_id(const struct cf__memrt *rt, size_t i);

#endif
