/*
 * What the engine leaves to its caller, done durably (cf_runtime.h): the
 * events that ask something of the runtime (CALL_STARTED, CALL_CANCELED,
 * INSTANCE_COMPLETED/TERMINATED, ERROR_TO_PARENT, ESCALATION_TO_PARENT,
 * SUBSCRIPTION_OPENED, SIGNAL_THROWN) are queued in the order the engine
 * produced them and routed, inside the same operation, until none is left.
 * A FIFO rather than recursion: a loop between instances ends at a limit
 * with an error instead of a stack overflow. Each routing looks at the
 * instances again before acting, since an earlier one may have ended what a
 * queued event speaks of.
 *
 * The semantics are those of the in-memory runtime of `crmflow test`
 * (src/cli/memrt.c), with the store in place of its arrays: instances are
 * found through their rows (parent_key, subscriptions), messages are
 * buffered in the store with their correlations, and timer start events
 * are rows scheduled from the deployment.
 */
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_json.h"
#include "runtime/runtime_int.h"

#define ROUTE_LIMIT 100000

/* ================================================================ the queue */


int rt_queue_output(struct cf_runtime *rt, uint64_t inst, const struct cf_engine_output *out) {
  for (size_t k = 0; k < out->count; k++) {
    const struct cf_engine_event *ev = &out->events[k];
    if (!cf_engine_event_routed((enum cf_engine_event_kind)ev->kind)) continue;
    if (!cf_grow((void **)&rt->queue, &rt->qcap, rt->qlen, sizeof *rt->queue)) return CF_ENOMEM;
    struct rt_pending *p = &rt->queue[rt->qlen];
    *p = (struct rt_pending){.inst = inst, .kind = ev->kind, .key = ev->key};
    if ((ev->detail && !(p->detail = cf_strdup(ev->detail))) ||
        (ev->variables && !(p->variables = cf_strdup(ev->variables)))) {
      cf_free(p->detail);
      return CF_ENOMEM;
    }
    rt->qlen++;
  }
  return CF_OK;
}

void rt_queue_clear(struct cf_runtime *rt) {
  for (size_t i = rt->qhead; i < rt->qlen; i++) {
    cf_free(rt->queue[i].detail);
    cf_free(rt->queue[i].variables);
  }
  rt->qhead = rt->qlen = 0;
}

/* ================================================================ helpers */

static bool ei_live(const struct cf_engine_instance *inst, uint64_t key) {
  size_t n;
  const struct cf_engine_element_instance *eis = cf_engine_elements(inst, &n);
  for (size_t i = 0; i < n; i++)
    if (eis[i].key == key) return eis[i].state != CF_ENGINE_EI_COMPLETED && eis[i].state != CF_ENGINE_EI_TERMINATED;
  return false;
}

static const char *ei_element_id(const struct rt_inst *ri, uint64_t key) {
  size_t n;
  const struct cf_engine_element_instance *eis = cf_engine_elements(ri->inst, &n);
  const struct cf_bpmn_model *m = ri->m->model;
  for (size_t i = 0; i < n; i++)
    if (eis[i].key == key && eis[i].element < m->nelements) return m->elements[eis[i].element].id;
  return "?";
}

static const struct cf_engine_subscription *find_sub(const struct rt_inst *ri, uint64_t key) {
  size_t n;
  const struct cf_engine_subscription *subs = cf_engine_subscriptions(ri->inst, &n);
  for (size_t i = 0; i < n; i++)
    if (subs[i].key == key) return &subs[i];
  return NULL;
}

char *rt_static_text(struct cf_runtime *rt, const struct cf_bpmn_value *v, struct cf_error *err) {
  if (!v->text) {
    cf_error_set(err, CF_EINVAL, "no value");
    return NULL;
  }
  if (!v->expr) {
    char *s = cf_strdup(v->text);
    if (!s) cf_error_set(err, CF_ENOMEM, "out of memory");
    return s;
  }
  struct cf_feel_env fenv = {.now_secs = rt->now_ms / 1000, .now_nanos = (int32_t)(rt->now_ms % 1000) * 1000000};
  struct cf_feel_value out;
  cf_feel_set_null(&out);
  struct cf_feel_warnings w;
  cf_feel_warnings_init(&w);
  int rc = cf_feel_eval(v->expr, NULL, &fenv, &out, &w);
  char *s = NULL;
  if (rc == CF_ENOMEM) {
    cf_error_set(err, CF_ENOMEM, "out of memory");
  } else if (out.type == CF_FEEL_NULL || out.type == CF_FEEL_LIST || out.type == CF_FEEL_CONTEXT) {
    cf_error_set(err, CF_EINVAL, "the expression %s gives %s%s%s", v->text, cf_feel_type_name(out.type),
                 w.count ? ": " : "", w.count ? w.items[0] : "");
  } else {
    struct cf_buf b;
    cf_buf_init(&b);
    if (cf_feel_to_string(&out, &b) || b.oom) cf_error_set(err, CF_ENOMEM, "out of memory");
    else s = cf_buf_detach(&b);
    cf_buf_release(&b);
  }
  cf_feel_value_release(&out);
  cf_feel_warnings_release(&w);
  return s;
}

char *rt_start_name(struct cf_runtime *rt, const struct cf_bpmn_element *e, struct cf_error *err) {
  if (e->event == CF_BPMN_EVENT_SIGNAL) return rt_static_text(rt, &e->signal_name, err);
  if (cf_bpmn_value_present(&e->message_name)) return rt_static_text(rt, &e->message_name, err);
  if (e->message_ref_name) {
    char *s = cf_strdup(e->message_ref_name);
    if (!s) cf_error_set(err, CF_ENOMEM, "out of memory");
    return s;
  }
  cf_error_set(err, CF_EINVAL, "start event %s has no name", e->id);
  return NULL;
}

/* The variables of a JSON text as a FEEL value (null when absent or not an object). */
static int vars_from_json(const char *text, struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (!text) return CF_OK;
  struct cf_error jerr;
  struct json_object *j = cf_json_parse(text, strlen(text), &jerr);
  if (!j) return CF_OK;
  int rc = cf_feel_from_json(j, out);
  json_object_put(j);
  if (rc) cf_feel_set_null(out);
  return rc == CF_ENOMEM ? CF_ENOMEM : CF_OK;
}

static int correlate(struct cf_runtime *rt, struct rt_inst *ri, uint64_t sub, const struct cf_feel_value *vars,
                     struct cf_error *err) {
  struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_CORRELATE, .key = sub};
  cmd.variables = vars && vars->type == CF_FEEL_CONTEXT ? vars : NULL;
  return rt_apply(rt, ri, &cmd, err);
}

/* Calls fn for each start event of kind event in the latest version of every deployed process. */
typedef int (*start_fn)(struct cf_runtime *rt, struct rt_model *m, uint32_t el, void *arg, struct cf_error *err);

static int each_start_event(struct cf_runtime *rt, uint8_t event, start_fn fn, void *arg, struct cf_error *err) {
  struct cf_store_definition *defs = NULL;
  size_t n = 0;
  int rc = rt->ops->definition_list(rt->st, true, &defs, &n, err);
  for (size_t i = 0; i < n && !rc; i++) {
    struct rt_model *m;
    if ((rc = rt_model_by_key(rt, defs[i].key, &m, err))) break;
    const struct cf_bpmn_process *p = &m->model->processes[m->process];
    for (uint32_t k = 0; k < p->nelements && !rc; k++) {
      const struct cf_bpmn_element *e = &m->model->elements[p->elements[k]];
      if (e->type == CF_BPMN_START_EVENT && e->event == event) rc = fn(rt, m, p->elements[k], arg, err);
    }
  }
  for (size_t i = 0; i < n; i++) cf_store_definition_release(&defs[i]);
  cf_free(defs);
  return rc;
}

/* ================================================================ messages */

struct publish_arg {
  const char *name, *key, *id;
  const struct cf_feel_value *vars;
  int64_t ttl_ms;
  uint64_t message_key;
  bool duplicate;
  uint64_t reached;  /* the first instance the message reached (by a subscription or a start event), or 0 */
};

/* Whether an active instance of process id carries that business key (a message start's correlation key). */
static int started_by_key(struct cf_runtime *rt, const char *proc, const char *key, bool *found,
                          struct cf_error *err) {
  struct cf_store_instance_filter f = {.process_id = proc, .state = CF_STORE_ACTIVE, .incident = -1,
                                       .business_key = key, .limit = 1};
  struct cf_store_instance *rows = NULL;
  size_t n = 0;
  int rc = rt->ops->instance_list(rt->st, &f, &rows, &n, err);
  *found = n > 0;
  for (size_t i = 0; i < n; i++) cf_store_instance_release(&rows[i]);
  cf_free(rows);
  return rc;
}

/* Whether the buffered message went to process proc already; mark: record that it goes now. */
static int msg_mark(struct cf_runtime *rt, uint64_t msg_key, const char *proc, bool *already, bool mark,
                    struct cf_error *err) {
  *already = false;
  if (!msg_key) return CF_OK; /* not buffered: nothing to remember */
  return rt->ops->message_correlated(rt->st, msg_key, proc, already, mark, err);
}

struct msg_start {
  const char *name, *key;
  uint64_t msg_key;
  const struct cf_feel_value *vars;
  char **reached; /* process ids the message reached through subscriptions now */
  size_t nreached;
  uint64_t *first;  /* the first instance reached, when still 0 */
};

static int msg_start_one(struct cf_runtime *rt, struct rt_model *m, uint32_t el, void *arg, struct cf_error *err) {
  struct msg_start *ms = arg;
  char *name = rt_start_name(rt, &m->model->elements[el], err);
  if (!name) return err->code == CF_ENOMEM ? CF_ENOMEM : CF_OK; /* a name that does not evaluate matches nothing */
  bool match = !strcmp(name, ms->name);
  cf_free(name);
  cf_error_clear(err);
  if (!match) return CF_OK;
  for (size_t i = 0; i < ms->nreached; i++)
    if (!strcmp(ms->reached[i], m->process_id)) return CF_OK;
  bool already, running = false;
  int rc = msg_mark(rt, ms->msg_key, m->process_id, &already, false, err);
  if (rc || already) return rc;
  if (ms->key && *ms->key && (rc = started_by_key(rt, m->process_id, ms->key, &running, err))) return rc;
  if (running) return CF_OK;
  if ((rc = msg_mark(rt, ms->msg_key, m->process_id, &already, true, err))) return rc;
  rt->last_adopted = 0;
  rc = rt_start_event(rt, m, el, ms->vars, ms->key && *ms->key ? ms->key : NULL, err);
  if (!rc && !*ms->first) *ms->first = rt->last_adopted;
  return rc;
}

/*
 * The message's correlations now: to the oldest matching subscription of
 * each process (by BPMN process id) it did not reach yet, then to message
 * start events of the processes it still has not reached.
 */
static int correlate_message(struct cf_runtime *rt, const char *name, const char *key, uint64_t msg_key,
                             const struct cf_feel_value *vars, uint64_t *first, struct cf_error *err) {
  struct cf_store_subscription *subs = NULL;
  size_t n = 0;
  int rc = rt->ops->subscriptions_find(rt->st, CF_ENGINE_SUB_MESSAGE, name, key ? key : "", &subs, &n, err);
  /* Oldest first (by key): the first of each process id wins. */
  char **done = n ? cf_calloc(n, sizeof *done) : NULL;
  size_t ndone = 0;
  if (n && !done) rc = CF_ENOMEM;
  for (size_t i = 0; i < n && !rc; i++) {
    struct rt_inst *ri;
    if ((rc = rt_load(rt, subs[i].instance_key, &ri, err))) break;
    if (!rt_active(ri) || !find_sub(ri, subs[i].key)) continue;
    const char *proc = rt_process_id(ri);
    bool seen = false;
    for (size_t k = 0; k < ndone && !seen; k++) seen = !strcmp(done[k], proc);
    if (seen) continue;
    bool already;
    if ((rc = msg_mark(rt, msg_key, proc, &already, true, err))) break;
    if (already) continue;
    if (!(done[ndone] = cf_strdup(proc))) {
      rc = CF_ENOMEM;
      break;
    }
    ndone++;
    if (!*first) *first = ri->key;
    rc = correlate(rt, ri, subs[i].key, vars, err);
  }
  for (size_t i = 0; i < n; i++) cf_store_subscription_release(&subs[i]);
  cf_free(subs);
  if (!rc) {
    struct msg_start ms = {name, key, msg_key, vars, done, ndone, first};
    rc = each_start_event(rt, CF_BPMN_EVENT_MESSAGE, msg_start_one, &ms, err);
  }
  for (size_t k = 0; k < ndone; k++) cf_free(done[k]);
  cf_free(done);
  if (rc == CF_ENOMEM && !err->code) return cf_error_set(err, CF_ENOMEM, "out of memory");
  return rc;
}

int rt_publish_op(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct publish_arg *a = arg;
  int rc;
  if (a->id && *a->id) {
    bool exists;
    if ((rc = rt->ops->message_by_id(rt->st, a->id, rt->now_ms, &exists, err))) return rc;
    if (exists) {
      a->duplicate = true;
      return CF_OK;
    }
  }
  uint64_t key;
  if ((rc = rt->ops->reserve_keys(rt->st, 1, &key, err))) return rc;
  a->message_key = key;
  uint64_t buffered = 0;
  if (a->ttl_ms > 0) {
    char *vj = a->vars ? rt_value_json(a->vars) : NULL;
    if (a->vars && !vj) return cf_error_set(err, CF_ENOMEM, "out of memory");
    struct cf_store_message m = {.key = key, .name = (char *)a->name, .correlation_key = (char *)(a->key ? a->key : ""),
                                 .message_id = a->id && *a->id ? (char *)a->id : NULL,
                                 .variables = vj, .published_ms = rt->now_ms, .expires_ms = rt->now_ms + a->ttl_ms};
    rc = rt->ops->message_insert(rt->st, &m, err);
    cf_free(vj);
    if (rc == CF_ECONFLICT) {
      a->duplicate = true;
      a->message_key = 0;
      cf_error_clear(err);
      return CF_OK;
    }
    if (rc) return rc;
    buffered = key;
  }
  return correlate_message(rt, a->name, a->key, buffered, a->vars, &a->reached, err);
}

int cf_runtime_publish(struct cf_runtime *rt, const char *name, const char *correlation_key,
                       const struct cf_feel_value *variables, int64_t ttl_ms, const char *message_id,
                       uint64_t *message_key, bool *duplicate, struct cf_error *err) {
  if (!name || !*name) return cf_error_set(err, CF_EINVAL, "a message name is needed");
  if (variables && variables->type == CF_FEEL_NULL) variables = NULL;
  if (variables && variables->type != CF_FEEL_CONTEXT)
    return cf_error_set(err, CF_EINVAL, "the message variables must be a JSON object");
  if (ttl_ms < 0) return cf_error_set(err, CF_EINVAL, "the time to live must not be negative");
  struct publish_arg a = {.name = name, .key = correlation_key ? correlation_key : "", .id = message_id,
                          .vars = variables, .ttl_ms = ttl_ms};
  int rc = rt_run(rt, rt_publish_op, &a, err);
  if (rc) return rc;
  if (message_key) *message_key = a.message_key;
  if (duplicate) *duplicate = a.duplicate;
  return CF_OK;
}

int cf_runtime_correlate(struct cf_runtime *rt, const char *name, const char *correlation_key,
                         const struct cf_feel_value *variables, uint64_t *message_key, uint64_t *instance_key,
                         struct cf_error *err) {
  if (!name || !*name) return cf_error_set(err, CF_EINVAL, "a message name is needed");
  if (variables && variables->type == CF_FEEL_NULL) variables = NULL;
  if (variables && variables->type != CF_FEEL_CONTEXT)
    return cf_error_set(err, CF_EINVAL, "the message variables must be a JSON object");
  struct publish_arg a = {.name = name, .key = correlation_key ? correlation_key : "", .vars = variables};
  int rc = rt_run(rt, rt_publish_op, &a, err);
  if (rc) return rc;
  if (!a.reached)
    return cf_error_set(err, CF_ENOTFOUND, "no process waits for message '%s' with correlation key '%s'", name,
                        a.key);
  if (message_key) *message_key = a.message_key;
  if (instance_key) *instance_key = a.reached;
  return CF_OK;
}

/* A subscription just opened: the oldest buffered message for it that its process did not have yet. */
static int route_subscription_opened(struct cf_runtime *rt, const struct rt_pending *p, struct cf_error *err) {
  struct rt_inst *ri;
  int rc = rt_load(rt, p->inst, &ri, err);
  if (rc) return rc;
  if (!rt_active(ri)) return CF_OK;
  const struct cf_engine_subscription *s = find_sub(ri, p->key);
  if (!s || s->kind != CF_ENGINE_SUB_MESSAGE) return CF_OK;
  struct cf_store_message *msgs = NULL;
  size_t n = 0;
  if ((rc = rt->ops->message_find(rt->st, s->name, s->correlation_key ? s->correlation_key : "", rt->now_ms, &msgs,
                                  &n, err)))
    return rc;
  for (size_t i = 0; i < n && !rc; i++) {
    bool already;
    if ((rc = msg_mark(rt, msgs[i].key, rt_process_id(ri), &already, true, err)) || already) continue;
    struct cf_feel_value vars;
    if ((rc = vars_from_json(msgs[i].variables, &vars))) break;
    rc = correlate(rt, ri, p->key, &vars, err);
    cf_feel_value_release(&vars);
    break;
  }
  for (size_t i = 0; i < n; i++) cf_store_message_release(&msgs[i]);
  cf_free(msgs);
  return rc;
}

/* An instance started by a message with key K ended: a buffered message with K may start the next. */
static int restart_from_buffer(struct cf_runtime *rt, struct rt_inst *ri, struct cf_error *err) {
  if (!ri->business_key || ri->parent_key) return CF_OK;
  struct rt_model *m;
  int rc = rt_model_get(rt, rt_process_id(ri), 0, NULL, &m, err);
  if (rc) return rc == CF_ENOTFOUND ? (cf_error_clear(err), CF_OK) : rc;
  const struct cf_bpmn_process *p = &m->model->processes[m->process];
  for (uint32_t k = 0; k < p->nelements && !rc; k++) {
    uint32_t el = p->elements[k];
    const struct cf_bpmn_element *e = &m->model->elements[el];
    if (e->type != CF_BPMN_START_EVENT || e->event != CF_BPMN_EVENT_MESSAGE) continue;
    char *name = rt_start_name(rt, e, err);
    if (!name) {
      cf_error_clear(err);
      continue;
    }
    struct cf_store_message *msgs = NULL;
    size_t n = 0;
    rc = rt->ops->message_find(rt->st, name, ri->business_key, rt->now_ms, &msgs, &n, err);
    cf_free(name);
    bool started = false;
    for (size_t i = 0; i < n && !rc && !started; i++) {
      bool already;
      if ((rc = msg_mark(rt, msgs[i].key, m->process_id, &already, false, err)) || already) continue;
      bool running;
      if ((rc = started_by_key(rt, m->process_id, ri->business_key, &running, err)) || running) break;
      if ((rc = msg_mark(rt, msgs[i].key, m->process_id, &already, true, err))) break;
      struct cf_feel_value vars;
      if ((rc = vars_from_json(msgs[i].variables, &vars))) break;
      rc = rt_start_event(rt, m, el, &vars, ri->business_key, err);
      cf_feel_value_release(&vars);
      started = true;
    }
    for (size_t i = 0; i < n; i++) cf_store_message_release(&msgs[i]);
    cf_free(msgs);
    if (started) break;
  }
  return rc;
}

/* ================================================================ signals */

struct sig_start {
  const char *name;
  const struct cf_feel_value *vars;
  size_t reached;
};

static int sig_start_one(struct cf_runtime *rt, struct rt_model *m, uint32_t el, void *arg, struct cf_error *err) {
  struct sig_start *ss = arg;
  char *name = rt_start_name(rt, &m->model->elements[el], err);
  if (!name) return err->code == CF_ENOMEM ? CF_ENOMEM : (cf_error_clear(err), CF_OK);
  bool match = !strcmp(name, ss->name);
  cf_free(name);
  if (!match) return CF_OK;
  ss->reached++;
  return rt_start_event(rt, m, el, ss->vars, NULL, err);
}

static int broadcast(struct cf_runtime *rt, const char *name, const struct cf_feel_value *vars, size_t *reached,
                     struct cf_error *err) {
  struct cf_store_subscription *subs = NULL;
  size_t n = 0, count = 0;
  int rc = rt->ops->subscriptions_find(rt->st, CF_ENGINE_SUB_SIGNAL, name, NULL, &subs, &n, err);
  for (size_t i = 0; i < n && !rc; i++) {
    struct rt_inst *ri;
    if ((rc = rt_load(rt, subs[i].instance_key, &ri, err))) break;
    if (!rt_active(ri) || !find_sub(ri, subs[i].key)) continue;
    rc = correlate(rt, ri, subs[i].key, vars, err);
    count++;
  }
  for (size_t i = 0; i < n; i++) cf_store_subscription_release(&subs[i]);
  cf_free(subs);
  if (rc) return rc;
  struct sig_start ss = {name, vars, 0};
  rc = each_start_event(rt, CF_BPMN_EVENT_SIGNAL, sig_start_one, &ss, err);
  if (reached) *reached = count + ss.reached;
  return rc;
}

struct broadcast_arg {
  const char *name;
  const struct cf_feel_value *vars;
  size_t reached;
};

int rt_broadcast_op(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct broadcast_arg *a = arg;
  return broadcast(rt, a->name, a->vars, &a->reached, err);
}

int cf_runtime_broadcast(struct cf_runtime *rt, const char *name, const struct cf_feel_value *variables,
                         size_t *reached, struct cf_error *err) {
  if (!name || !*name) return cf_error_set(err, CF_EINVAL, "a signal name is needed");
  if (variables && variables->type == CF_FEEL_NULL) variables = NULL;
  if (variables && variables->type != CF_FEEL_CONTEXT)
    return cf_error_set(err, CF_EINVAL, "the signal variables must be a JSON object");
  struct broadcast_arg a = {name, variables, 0};
  int rc = rt_run(rt, rt_broadcast_op, &a, err);
  if (!rc && reached) *reached = a.reached;
  return rc;
}

/* ================================================================ timers */

int rt_fire_timer_op(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  const struct cf_store_timer *t = arg;
  if (t->due_ms > rt->now_ms) return CF_OK; /* never early */
  int rc;
  if (t->instance_key) {
    struct rt_inst *ri;
    if ((rc = rt_load(rt, t->instance_key, &ri, err))) return rc;
    size_t n;
    const struct cf_engine_timer *ts = cf_engine_timers(ri->inst, &n);
    bool live = false;
    for (size_t i = 0; i < n && !live; i++) live = ts[i].key == t->key;
    if (!live || !rt_active(ri)) return cf_error_set(err, CF_ENOTFOUND, "timer %llu is gone", (unsigned long long)t->key);
    struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_FIRE_TIMER, .key = t->key};
    return rt_apply(rt, ri, &cmd, err);
  }
  /* A timer start event: start an instance, then schedule the next firing. */
  struct rt_model *m;
  if ((rc = rt_model_by_key(rt, t->definition_key, &m, err))) return rc;
  int32_t el = cf_bpmn_find_element(m->model, t->element_id);
  int64_t next = -1;
  if (el >= 0) {
    next = rt_start_timer_next(rt, m, (uint32_t)el, t->due_ms, err);
    if (next == -2) next = -1;
    cf_error_clear(err);
    if ((rc = rt_start_event(rt, m, (uint32_t)el, NULL, NULL, err))) return rc;
  }
  struct cf_store_timer nt = *t;
  nt.due_ms = next;
  return rt->ops->timer_start_set(rt->st, &nt, err);
}

/* ================================================================ the tree */

static int route_call_started(struct cf_runtime *rt, const struct rt_pending *p, struct cf_error *err) {
  struct rt_inst *parent;
  int rc = rt_load(rt, p->inst, &parent, err);
  if (rc) return rc;
  if (!rt_active(parent) || !ei_live(parent->inst, p->key)) return CF_OK;
  const char *call_id = ei_element_id(parent, p->key);
  int32_t ce = cf_bpmn_find_element(parent->m->model, call_id);
  const char *tag = ce >= 0 ? parent->m->model->elements[ce].called_version_tag : NULL;
  struct rt_model *m;
  rc = rt_model_get(rt, p->detail ? p->detail : "", 0, tag, &m, err);
  if (rc == CF_ENOTFOUND) {
    /* Nothing to call: an incident on the call activity would be Zeebe's answer; the engine has none
     * for it, so the operation is refused with the reason. */
    return cf_error_set(err, CF_ENOTFOUND, "call activity %s calls process '%s'%s%s%s, which is not deployed", call_id,
                        p->detail ? p->detail : "", tag ? " with version tag '" : "", tag ? tag : "", tag ? "'" : "");
  }
  if (rc) return rc;
  struct cf_feel_value vars;
  cf_feel_set_null(&vars);
  if ((rc = cf_engine_call_variables(parent->inst, p->key, &vars)))
    return cf_error_set(err, rc, "call activity %s: no variables for the child", call_id);
  struct cf_engine_output out;
  cf_engine_output_init(&out);
  struct cf_engine_env env = rt_env(rt);
  struct cf_engine_instance *child =
      cf_engine_start_child(m->model, m->process, vars.type == CF_FEEL_CONTEXT ? &vars : NULL, parent->key, p->key,
                            &env, &out, err);
  if (!child) rc = err->code ? err->code : CF_EINVAL;
  else rc = rt_adopt(rt, child, m, parent->key, NULL, &out, vars.type == CF_FEEL_CONTEXT ? &vars : NULL, NULL, err);
  cf_feel_value_release(&vars);
  cf_engine_output_release(&out);
  return rc;
}

static int route_call_canceled(struct cf_runtime *rt, const struct rt_pending *p, struct cf_error *err) {
  struct cf_store_instance_filter f = {.state = CF_STORE_ACTIVE, .incident = -1, .parent_key = p->inst};
  struct cf_store_instance *rows = NULL;
  size_t n = 0;
  int rc = rt->ops->instance_list(rt->st, &f, &rows, &n, err);
  for (size_t i = 0; i < n && !rc; i++) {
    struct rt_inst *child;
    if ((rc = rt_load(rt, rows[i].key, &child, err))) break;
    uint64_t pi, pe;
    cf_engine_instance_parent(child->inst, &pi, &pe);
    if (pe != p->key || !rt_active(child)) continue;
    struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_CANCEL};
    rc = rt_apply(rt, child, &cmd, err);
  }
  for (size_t i = 0; i < n; i++) cf_store_instance_release(&rows[i]);
  cf_free(rows);
  return rc;
}

static int route_instance_ended(struct cf_runtime *rt, const struct rt_pending *p, struct cf_error *err) {
  struct rt_inst *child;
  int rc = rt_load(rt, p->inst, &child, err);
  if (rc) return rc;
  if (p->key != child->key) return CF_OK;
  uint64_t pi, call;
  cf_engine_instance_parent(child->inst, &pi, &call);
  if (p->kind == CF_ENGINE_EV_INSTANCE_COMPLETED && pi) {
    struct rt_inst *parent;
    if ((rc = rt_load(rt, pi, &parent, err))) return rc;
    if (rt_active(parent) && ei_live(parent->inst, call)) {
      struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_COMPLETE_CALL, .key = call};
      cmd.variables = cf_engine_variables(child->inst, child->key);
      if (cmd.variables && cmd.variables->type != CF_FEEL_CONTEXT) cmd.variables = NULL;
      if ((rc = rt_apply(rt, parent, &cmd, err))) return rc;
    }
  }
  return restart_from_buffer(rt, child, err);
}

/* An error the child did not catch: offered to each ancestor in turn; none catching it, the thrower's incident. */
static int route_error(struct cf_runtime *rt, const struct rt_pending *p, struct cf_error *err) {
  struct cf_feel_value vars;
  int rc = vars_from_json(p->variables, &vars);
  if (rc) return cf_error_set(err, rc, "out of memory");
  uint64_t cur = p->inst;
  bool done = false;
  while (!done && !rc) {
    struct rt_inst *ri;
    if ((rc = rt_load(rt, cur, &ri, err))) break;
    uint64_t par, call;
    cf_engine_instance_parent(ri->inst, &par, &call);
    if (!par) break;
    struct rt_inst *pr;
    if ((rc = rt_load(rt, par, &pr, err))) break;
    struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_CHILD_ERROR, .key = call, .error_code = p->detail,
                                .variables = vars.type == CF_FEEL_CONTEXT ? &vars : NULL};
    int r = rt_active(pr) ? rt_apply(rt, pr, &cmd, err) : CF_ENOTFOUND;
    if (r == CF_OK) done = true;
    else if (r != CF_ENOTFOUND) rc = r;
    else cf_error_clear(err);
    cur = par;
  }
  cf_feel_value_release(&vars);
  if (rc || done) return rc;
  struct rt_inst *thrower;
  if ((rc = rt_load(rt, p->inst, &thrower, err))) return rc;
  struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_UNCAUGHT_ERROR, .key = p->key, .error_code = p->detail};
  return rt_apply(rt, thrower, &cmd, err);
}

static int route_escalation(struct cf_runtime *rt, const struct rt_pending *p, struct cf_error *err) {
  uint64_t cur = p->inst;
  for (;;) {
    struct rt_inst *ri;
    int rc = rt_load(rt, cur, &ri, err);
    if (rc) return rc;
    uint64_t par, call;
    cf_engine_instance_parent(ri->inst, &par, &call);
    if (!par) return CF_OK;
    struct rt_inst *pr;
    if ((rc = rt_load(rt, par, &pr, err))) return rc;
    struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_CHILD_ESCALATION, .key = call, .error_code = p->detail};
    int r = rt_active(pr) ? rt_apply(rt, pr, &cmd, err) : CF_ENOTFOUND;
    if (r == CF_OK) return CF_OK;
    if (r != CF_ENOTFOUND) return r;
    cf_error_clear(err);
    cur = par;
  }
}

static int route(struct cf_runtime *rt, const struct rt_pending *p, struct cf_error *err) {
  switch (p->kind) {
  case CF_ENGINE_EV_CALL_STARTED: return route_call_started(rt, p, err);
  case CF_ENGINE_EV_CALL_CANCELED: return route_call_canceled(rt, p, err);
  case CF_ENGINE_EV_INSTANCE_COMPLETED:
  case CF_ENGINE_EV_INSTANCE_TERMINATED: return route_instance_ended(rt, p, err);
  case CF_ENGINE_EV_ERROR_TO_PARENT: return route_error(rt, p, err);
  case CF_ENGINE_EV_ESCALATION_TO_PARENT: return route_escalation(rt, p, err);
  case CF_ENGINE_EV_SUBSCRIPTION_OPENED: return route_subscription_opened(rt, p, err);
  case CF_ENGINE_EV_SIGNAL_THROWN: return p->detail ? broadcast(rt, p->detail, NULL, NULL, err) : CF_OK;
  default: return CF_OK;
  }
}

int rt_drain(struct cf_runtime *rt, struct cf_error *err) {
  size_t routed = 0;
  int rc = CF_OK;
  while (rt->qhead < rt->qlen && !rc) {
    struct rt_pending p = rt->queue[rt->qhead++];
    if (++routed > ROUTE_LIMIT)
      rc = cf_error_set(err, CF_EINVAL,
                        "the instances do not come to rest: more than %d events routed between them (a loop of call activities?)",
                        ROUTE_LIMIT);
    else
      rc = route(rt, &p, err);
    cf_free(p.detail);
    cf_free(p.variables);
  }
  rt_queue_clear(rt);
  return rc;
}
