/*
 * The engine: BPMN execution semantics as a deterministic state machine.
 *
 *   (compiled model, instance state, command, now) -> new state + events
 *
 * No I/O, no clock, no threads, no SQL: time comes in with each call
 * (struct cf_engine_env), and so do new keys (a callback, so the store can
 * hand out keys that are unique across instances and restarts). The same
 * inputs always give the same state and events; restoring a saved state
 * (cf_engine_instance_save/load) and applying the same command gives the
 * same result as never having saved (the replay property the tests check).
 *
 * An instance holds its element instances (tokens with their lifecycle),
 * variable scopes, jobs, user tasks and incidents. Everything the outside
 * world must act on (a job to hand to a worker, a user task for an inbox, an
 * incident for an operator) is an event in the output and a row readable
 * through the views below; the store turns them into its side tables.
 *
 * Failure: a command that is refused (unknown key, wrong state, bad
 * variables) returns an error and changes nothing. CF_ENOMEM in the middle
 * of a command may leave the instance half-changed: the caller must then
 * discard it and reload its last saved state (the store always has one).
 */
#ifndef CF_ENGINE_H
#define CF_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpmn/cf_bpmn.h"
#include "crmflow/cf_error.h"
#include "feel/cf_feel.h"

struct cf_buf;

/* ------------------------------------------------------------ inputs */

struct cf_engine_env {
  int64_t now_ms;                   /* the current time: ms since 1970-01-01T00:00:00Z */
  uint64_t (*next_key)(void *arg);  /* a new key, unique for the store */
  void *key_arg;
};

enum cf_engine_cmd_kind {
  CF_ENGINE_CMD_COMPLETE_JOB,       /* key, variables */
  CF_ENGINE_CMD_FAIL_JOB,           /* key, retries, message, backoff_ms, variables */
  CF_ENGINE_CMD_THROW_ERROR,        /* key, error_code, message, variables */
  CF_ENGINE_CMD_UPDATE_JOB_RETRIES, /* key, retries */
  CF_ENGINE_CMD_COMPLETE_USER_TASK, /* key, variables */
  CF_ENGINE_CMD_ASSIGN_USER_TASK,   /* key, assignee (NULL unassigns) */
  CF_ENGINE_CMD_RESOLVE_INCIDENT,   /* key */
  CF_ENGINE_CMD_CANCEL,             /* the whole instance */
  CF_ENGINE_CMD_SET_VARIABLES,      /* key: a scope (the instance or an element instance), variables, local */
  CF_ENGINE_CMD_FIRE_TIMER,         /* key: a timer that is due (the caller's clock, env->now_ms >= due) */
  CF_ENGINE_CMD_CORRELATE,          /* key: a message or signal subscription; variables of the message/signal */
  CF_ENGINE_CMD_COMPLETE_CALL,      /* key: a call activity's element instance; variables: the child's (process scope) */
  CF_ENGINE_CMD_CHILD_ERROR,        /* key: a call activity's element instance; error_code, message, variables.
                                       CF_ENOTFOUND (nothing changes) when nothing here catches it: the caller
                                       then offers it to the next ancestor */
  CF_ENGINE_CMD_UNCAUGHT_ERROR,     /* key: the element instance (of this instance) whose error no parent caught: raises the incident */
  CF_ENGINE_CMD_CHILD_ESCALATION,   /* key: a call activity's element instance; error_code: the escalation code.
                                       CF_ENOTFOUND (nothing changes) when nothing here catches it */
  CF_ENGINE__CMD_COUNT
};

struct cf_engine_cmd {
  uint8_t kind;                          /* enum cf_engine_cmd_kind */
  uint64_t key;                          /* job, user task or incident key */
  const struct cf_feel_value *variables; /* a context, or NULL */
  int32_t retries;
  int64_t backoff_ms;
  const char *message;                   /* failure or error message, or NULL */
  const char *error_code;
  const char *assignee;
  bool local;                            /* SET_VARIABLES: set in that scope, no propagation */
};

/* ------------------------------------------------------------ outputs */

enum cf_engine_event_kind {
  CF_ENGINE_EV_ELEMENT_ACTIVATED,  /* key: element instance */
  CF_ENGINE_EV_ELEMENT_COMPLETED,
  CF_ENGINE_EV_ELEMENT_TERMINATED,
  CF_ENGINE_EV_FLOW_TAKEN,         /* element: the flow index */
  CF_ENGINE_EV_JOB_CREATED,        /* key: job */
  CF_ENGINE_EV_JOB_COMPLETED,
  CF_ENGINE_EV_JOB_FAILED,         /* retries left, or an incident follows */
  CF_ENGINE_EV_JOB_RETRIES_UPDATED,
  CF_ENGINE_EV_JOB_ERROR_THROWN,
  CF_ENGINE_EV_JOB_CANCELED,
  CF_ENGINE_EV_USER_TASK_CREATED,  /* key: user task */
  CF_ENGINE_EV_USER_TASK_ASSIGNED,
  CF_ENGINE_EV_USER_TASK_COMPLETED,
  CF_ENGINE_EV_USER_TASK_CANCELED,
  CF_ENGINE_EV_INCIDENT_CREATED,   /* key: incident */
  CF_ENGINE_EV_INCIDENT_RESOLVED,
  CF_ENGINE_EV_VARIABLE_SET,       /* key: scope; detail: the variable name */
  CF_ENGINE_EV_INSTANCE_COMPLETED, /* key: process instance */
  CF_ENGINE_EV_INSTANCE_TERMINATED,
  CF_ENGINE_EV_TIMER_CREATED,      /* key: timer; element: the catching element */
  CF_ENGINE_EV_TIMER_TRIGGERED,
  CF_ENGINE_EV_TIMER_CANCELED,
  CF_ENGINE_EV_SUBSCRIPTION_OPENED, /* key: subscription; detail: message or signal name */
  CF_ENGINE_EV_SUBSCRIPTION_CORRELATED,
  CF_ENGINE_EV_SUBSCRIPTION_CLOSED,
  CF_ENGINE_EV_SIGNAL_THROWN,      /* key: the throwing element instance; detail: the signal name.
                                      The caller broadcasts it (to this instance too) */
  CF_ENGINE_EV_CALL_STARTED,       /* key: the call activity's element instance; detail: the process id to start.
                                      The caller starts the child (cf_engine_start_child, cf_engine_call_variables) */
  CF_ENGINE_EV_CALL_CANCELED,      /* key: the call activity's element instance: the caller cancels its child */
  CF_ENGINE_EV_ERROR_TO_PARENT,    /* key: the throwing element instance; detail: the error code. This instance has a
                                      parent and nothing here caught the error: the caller sends CHILD_ERROR to the
                                      parent, and UNCAUGHT_ERROR back here if the parent does not catch it either */
  CF_ENGINE_EV_ESCALATION_TO_PARENT, /* key: the throwing element instance; detail: the escalation code. Nothing
                                      here caught it and this instance has a parent: the caller offers it to the
                                      ancestors (CHILD_ESCALATION); the thrower has gone on */
  CF_ENGINE__EV_COUNT
};

struct cf_engine_event {
  uint8_t kind;     /* enum cf_engine_event_kind */
  bool body;
  char *variables;  /* ERROR_TO_PARENT: the error's variables as a JSON object, owned; else NULL */        /* element events of a multi-instance body (the container, not an inner instance) */
  uint64_t key;
  int32_t element;  /* element index (flow index for FLOW_TAKEN), or -1 */
  int64_t at_ms;
  char *detail;     /* owned; NULL if none */
};

/* The events one call produced, in order. Caller-owned: init, then release. */
struct cf_engine_output {
  struct cf_engine_event *events;
  size_t count, cap;
};

void cf_engine_output_init(struct cf_engine_output *o);
void cf_engine_output_release(struct cf_engine_output *o);

const char *cf_engine_event_name(enum cf_engine_event_kind kind);

/*
 * Whether an event asks something of the caller (a runtime): CALL_STARTED, CALL_CANCELED,
 * INSTANCE_COMPLETED/TERMINATED (a parent to answer), ERROR_TO_PARENT, ESCALATION_TO_PARENT,
 * SUBSCRIPTION_OPENED (a buffered message may be waiting), SIGNAL_THROWN.
 */
bool cf_engine_event_routed(enum cf_engine_event_kind kind);

/* ------------------------------------------------------------ views */

enum cf_engine_state {
  CF_ENGINE_ACTIVE,
  CF_ENGINE_COMPLETED,
  CF_ENGINE_TERMINATED
};

/* Lifecycle of an element instance (BPMN and Zeebe). */
enum cf_engine_ei_state {
  CF_ENGINE_EI_ACTIVATING,
  CF_ENGINE_EI_ACTIVATED,   /* waiting for something: a job, a task, children, an event */
  CF_ENGINE_EI_COMPLETING,
  CF_ENGINE_EI_COMPLETED,
  CF_ENGINE_EI_TERMINATING,
  CF_ENGINE_EI_TERMINATED
};

/* A live element instance (completed and terminated ones are gone from the view). */
struct cf_engine_element_instance {
  uint64_t key;
  uint64_t scope_key;   /* the enclosing element instance, or the process instance key */
  uint32_t element;     /* element index in the model */
  uint8_t state;        /* enum cf_engine_ei_state */
  uint64_t job_key;     /* 0 if none */
  uint64_t user_task_key;
  uint64_t incident_key; /* an open incident on this element instance, or 0 */
  bool body;             /* the container of a multi-instance activity */
};

enum cf_engine_job_state {
  CF_ENGINE_JOB_ACTIVATABLE, /* a worker may take it (from available_at_ms on) */
  CF_ENGINE_JOB_FAILED       /* no retries left: an incident is open */
};

struct cf_engine_job {
  uint64_t key;
  uint64_t element_instance_key;
  uint32_t element;
  uint8_t state;           /* enum cf_engine_job_state */
  int32_t retries;
  int64_t available_at_ms; /* after a failure with back-off */
  char *type;
  char *error_message;     /* the last failure, or NULL */
  struct cf_feel_value headers; /* context of the task headers (static strings) */
};

struct cf_engine_user_task {
  uint64_t key;
  uint64_t element_instance_key;
  uint32_t element;
  int64_t created_ms;
  char *assignee;             /* NULL if unassigned */
  struct cf_feel_value candidate_groups; /* list of strings, or null */
  struct cf_feel_value candidate_users;
  char *due_date;             /* ISO-8601, or NULL */
  char *follow_up_date;
  int32_t priority;           /* 0..100, default 50 */
  char *form_key;
};

enum cf_engine_incident_type {
  CF_ENGINE_INC_JOB_NO_RETRIES,
  CF_ENGINE_INC_EXPRESSION,     /* a FEEL expression failed (mapping, condition, ...) */
  CF_ENGINE_INC_CONDITION,      /* no outgoing flow of a gateway could be taken */
  CF_ENGINE_INC_UNHANDLED_ERROR,/* a BPMN error that nothing caught */
  CF_ENGINE_INC_EXTRACT_VALUE   /* a value of the wrong type (a job type that is no string...) */
};

struct cf_engine_incident {
  uint64_t key;
  uint64_t element_instance_key;
  uint32_t element;
  uint8_t type;     /* enum cf_engine_incident_type */
  uint64_t job_key; /* for job incidents, else 0 */
  char *message;
  int64_t created_ms;
};

/* A timer the instance waits on. */
struct cf_engine_timer {
  uint64_t key;
  uint64_t owner_key;   /* the element instance (or process instance) it lives and dies with */
  uint32_t element;     /* the catching element: a catch event, a boundary event, an event sub-process's start */
  int64_t due_ms;
  int32_t remaining;    /* firings left (cycles), -1 unbounded */
};

enum cf_engine_sub_kind { CF_ENGINE_SUB_MESSAGE, CF_ENGINE_SUB_SIGNAL };

/* A message or signal subscription the instance waits on. */
struct cf_engine_subscription {
  uint64_t key;
  uint64_t owner_key;
  uint32_t element;
  uint8_t kind;          /* enum cf_engine_sub_kind */
  char *name;
  char *correlation_key; /* messages: the key evaluated when the subscription opened */
};

struct cf_engine_instance;

uint64_t cf_engine_instance_key(const struct cf_engine_instance *inst);
uint32_t cf_engine_instance_process(const struct cf_engine_instance *inst);
enum cf_engine_state cf_engine_instance_state(const struct cf_engine_instance *inst);
const struct cf_bpmn_model *cf_engine_instance_model(const struct cf_engine_instance *inst);

/* Live element instances, jobs, user tasks and open incidents (borrowed arrays, valid until the next call that changes the instance). */
const struct cf_engine_element_instance *cf_engine_elements(const struct cf_engine_instance *inst,
                                                            size_t *n);
const struct cf_engine_job *cf_engine_jobs(const struct cf_engine_instance *inst, size_t *n);
const struct cf_engine_user_task *cf_engine_user_tasks(const struct cf_engine_instance *inst,
                                                       size_t *n);
const struct cf_engine_incident *cf_engine_incidents(const struct cf_engine_instance *inst,
                                                     size_t *n);

const struct cf_engine_timer *cf_engine_timers(const struct cf_engine_instance *inst, size_t *n);
const struct cf_engine_subscription *cf_engine_subscriptions(const struct cf_engine_instance *inst,
                                                             size_t *n);

/* For a child of a call activity: the parent's instance and call activity element instance (0 if none). */
void cf_engine_instance_parent(const struct cf_engine_instance *inst, uint64_t *parent_instance,
                               uint64_t *parent_element_instance);

/*
 * The variables a call activity hands its child (after CALL_STARTED): all
 * visible variables when propagateAllParentVariables (the default), else
 * only those its input mappings made. *out is a new context.
 */
int cf_engine_call_variables(const struct cf_engine_instance *inst, uint64_t call_key,
                             struct cf_feel_value *out);

/*
 * The variables of a scope (the process instance key for the process
 * level), as a context value; borrowed. NULL if the scope has none.
 */
const struct cf_feel_value *cf_engine_variables(const struct cf_engine_instance *inst,
                                                uint64_t scope_key);

/*
 * The variables visible to an element instance: its scope chain merged, the
 * nearest scope winning (what a job worker receives). *out is a new context.
 */
int cf_engine_visible_variables(const struct cf_engine_instance *inst, uint64_t element_instance_key,
                                struct cf_feel_value *out);

/* ------------------------------------------------------------ commands */

/*
 * Creates and starts an instance of process (an index into model->processes)
 * at its none start event (start_element -1) or at a given start element,
 * with variables (a context, or NULL). Runs until the instance waits or ends.
 * Returns the instance, or NULL with err (CF_EINVAL: no none start event,
 * variables not a context; CF_ENOMEM). The model must outlive the instance.
 */
struct cf_engine_instance *cf_engine_start(const struct cf_bpmn_model *model, uint32_t process,
                                           int32_t start_element,
                                           const struct cf_feel_value *variables,
                                           const struct cf_engine_env *env,
                                           struct cf_engine_output *out, struct cf_error *err);

/*
 * Applies a command and runs until the instance waits or ends. Refusals:
 * CF_ENOTFOUND (no job, task or incident with that key in this instance),
 * CF_ECONFLICT (not in a state that accepts the command: a failed job
 * completed, a finished instance), CF_EINVAL (variables not a context,
 * negative retries). A refusal changes nothing and produces no events.
 */
int cf_engine_apply(struct cf_engine_instance *inst, const struct cf_engine_cmd *cmd,
                    const struct cf_engine_env *env, struct cf_engine_output *out,
                    struct cf_error *err);

/*
 * Like cf_engine_start, for a start event that fired (a message, a signal, a
 * timer): the variables are the event's, as Camunda 8 has it: with output
 * mappings on the start event only the mapped ones reach the process, else
 * all of them.
 */
struct cf_engine_instance *cf_engine_start_event(const struct cf_bpmn_model *model, uint32_t process,
                                                 int32_t start_element,
                                                 const struct cf_feel_value *variables,
                                                 const struct cf_engine_env *env,
                                                 struct cf_engine_output *out, struct cf_error *err);

/*
 * Like cf_engine_start, for the child of a call activity: remembers the
 * parent so errors and completion can be routed back (by the caller).
 */
struct cf_engine_instance *cf_engine_start_child(const struct cf_bpmn_model *model, uint32_t process,
                                                 const struct cf_feel_value *variables,
                                                 uint64_t parent_instance, uint64_t parent_element_instance,
                                                 const struct cf_engine_env *env,
                                                 struct cf_engine_output *out, struct cf_error *err);

void cf_engine_instance_free(struct cf_engine_instance *inst);

/* ------------------------------------------------------------ persistence */

/*
 * Appends the instance's whole state to out as versioned JSON (numbers
 * exact). cf_engine_instance_load() rebuilds an equal instance against the
 * same model; CF_EINVAL with err naming the problem for text it cannot read
 * (another version, another model, corruption).
 */
int cf_engine_instance_save(const struct cf_engine_instance *inst, struct cf_buf *out);
struct cf_engine_instance *cf_engine_instance_load(const struct cf_bpmn_model *model,
                                                   const char *text, size_t len,
                                                   struct cf_error *err);

#endif
