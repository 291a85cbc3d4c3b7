/*
 * Private parts of the engine, shared by engine_run.c (execution),
 * engine_vars.c (variable scopes) and engine_save.c (persistence).
 */
#ifndef CF_ENGINE_INT_H
#define CF_ENGINE_INT_H

#include <sys/types.h>

#include "base/cf_schedule.h"
#include "engine/cf_engine.h"

/* Tokens waiting at a join: arrivals per incoming flow, per scope. */
struct arrival {
  uint32_t flow;
  uint32_t count;
};

/*
 * What a scope (the process, or a sub-process / task instance with local
 * variables) holds beside its element instance.
 */
struct scope_data {
  struct cf_feel_value vars; /* a context, or null when the scope has none */
  uint32_t tokens;           /* live children + tokens on the way + arrivals waiting at joins */
  struct arrival *arrivals;
  uint32_t narrivals;
};

/* The phase an incident interrupted, to retry when it is resolved. */
enum phase {
  PH_NONE,
  PH_ACTIVATE, /* input mappings and the element's own activation work */
  PH_COMPLETE  /* output mappings, gateway conditions, leaving the element */
};

struct ei_priv {
  struct scope_data scope;
  uint8_t phase; /* enum phase: what to redo when the incident is resolved */
  struct cf_feel_value pending; /* variables of a completion waiting for a retry, or null */
  /* Multi-instance: on the body, the items and progress; on an inner instance, its index. */
  struct cf_feel_value mi_items; /* body: the input collection (a list), or null with mi_count */
  uint32_t mi_count;             /* body: how many inner instances in all */
  uint32_t mi_next;              /* body: the next to start (sequential) */
  uint32_t mi_done;              /* body: completed so far */
  uint32_t mi_index;             /* inner: its loopCounter (1-based); 0 when not an inner instance */
  /* Compensation: a throw event's handlers to run (in order), and a handler's thrower. */
  struct comp_step *comp_queue;
  uint32_t ncomp, comp_pos, comp_done;
  uint64_t comp_thrower;
  uint64_t comp_scope; /* a compensation event sub-process: the scope whose records it compensates */
};

/* One handler a compensation throw runs: an activity, or a compensation event sub-process. */
struct comp_step {
  uint32_t element;
  uint64_t scope; /* event sub-process: the completed sub-process instance it compensates; else 0 */
};

/*
 * A completed activity that can be compensated (it has a compensation
 * boundary event), or a completed sub-process that holds some.
 */
struct comp_record {
  uint64_t ei_key;    /* the completed element instance */
  uint64_t scope_key; /* the scope it completed in */
  uint32_t activity;
  int32_t handler;    /* the compensation handler, or -1 for a sub-process holding records */
};

struct cf_engine_instance {
  const struct cf_bpmn_model *model;
  uint32_t process;
  uint64_t key;
  uint8_t state; /* enum cf_engine_state */
  struct scope_data root;
  int64_t created_ms;

  struct cf_engine_element_instance *eis; /* live, in creation order */
  struct ei_priv *priv;                   /* parallel to eis */
  size_t neis, capeis;

  struct cf_engine_job *jobs;
  size_t njobs, capjobs;
  struct cf_engine_user_task *tasks;
  size_t ntasks, captasks;
  struct cf_engine_incident *incidents;
  size_t nincidents, capincidents;

  struct cf_engine_timer *timers; /* parallel to scheds */
  struct cf_schedule *scheds;
  size_t ntimers, captimers;
  struct cf_engine_subscription *subs;
  size_t nsubs, capsubs;

  uint64_t parent_instance, parent_ei; /* the call activity that started this instance, or 0 */

  struct comp_record *comps; /* in order of completion */
  size_t ncomps, capcomps;
};

/* engine_vars.c */
int cf__engine_set_local(struct cf_engine_instance *inst, uint64_t scope_key, const char *name,
                         size_t len, const struct cf_feel_value *value, struct cf_engine_output *out,
                         int64_t now_ms);
int cf__engine_propagate(struct cf_engine_instance *inst, uint64_t scope_key,
                         const struct cf_feel_value *doc, struct cf_engine_output *out, int64_t now_ms);
struct scope_data *cf__engine_scope(struct cf_engine_instance *inst, uint64_t key);
uint64_t cf__engine_parent_scope(const struct cf_engine_instance *inst, uint64_t key);
ssize_t cf__engine_find_ei(const struct cf_engine_instance *inst, uint64_t key);
int cf__engine_variable_value(const struct cf_feel_value *in, struct cf_feel_value *out);
int cf__engine_event(struct cf_engine_output *out, uint8_t kind, uint64_t key, int32_t element,
                     int64_t at_ms, const char *detail);

#endif
