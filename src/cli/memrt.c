/*
 * The in-memory runtime of `crmflow test` (see memrt.h).
 *
 * Routing is a FIFO of the events that ask something of the runtime
 * (CALL_STARTED, CALL_CANCELED, INSTANCE_COMPLETED/TERMINATED,
 * ERROR_TO_PARENT, SUBSCRIPTION_OPENED, SIGNAL_THROWN), taken in the order
 * the engine produced them; an event routed may produce more, which queue
 * behind. A FIFO rather than recursion: a loop between instances (a child
 * that completes at once, called again and again) then ends at a limit with
 * a failure instead of a stack overflow. Every routing looks at the engine's
 * views again before acting, since an earlier routing may have ended what a
 * queued event speaks of (a call activity interrupted before its child
 * started).
 *
 * Instances are addressed by index: the array grows as children start.
 */
#include "cli/memrt.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_json.h"

/* A loop between instances is cut here (and reported). */
#define ROUTE_LIMIT 100000
/* Firings of one clock move (a cycle of PT1S over a year would pass it: report, not hang). */
#define FIRE_LIMIT 100000

struct cf__memrt_pending {
  size_t inst;
  uint8_t kind;
  uint64_t key;
  char *detail;
  char *variables; /* ERROR_TO_PARENT: the error's variables (JSON), or NULL */
};

/* ================================================================ basics */

static uint64_t next_key(void *arg) {
  struct cf__memrt *rt = arg;
  return rt->next_key++;
}

static struct cf_engine_env env_of(struct cf__memrt *rt) {
  struct cf_engine_env env = {.now_ms = rt->now_ms, .next_key = next_key, .key_arg = rt};
  return env;
}


__attribute__((format(printf, 2, 3))) static void problem(struct cf__memrt *rt, const char *fmt, ...) {
  struct cf_buf b;
  cf_buf_init(&b);
  va_list ap;
  va_start(ap, fmt);
  cf_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  if (b.oom) rt->oom = true;
  rt->failed = true;
  if (rt->on_problem) rt->on_problem(rt->arg, b.data ? b.data : "out of memory");
  cf_buf_release(&b);
}

static bool streq(const char *a, const char *b) { return !strcmp(a ? a : "", b ? b : ""); }

static struct cf_engine_instance *inst_at(const struct cf__memrt *rt, size_t i) { return rt->insts[i].inst; }

static bool is_active(const struct cf__memrt *rt, size_t i) {
  return cf_engine_instance_state(inst_at(rt, i)) == CF_ENGINE_ACTIVE;
}

const char *cf__memrt_process_id(const struct cf__memrt *rt, size_t i) {
  const struct cf_engine_instance *inst = inst_at(rt, i);
  return cf_engine_instance_model(inst)->processes[cf_engine_instance_process(inst)].id;
}

/* The element id of a live element instance of inst, or "?". */
static const char *ei_element_id(const struct cf_engine_instance *inst, uint64_t key) {
  size_t n;
  const struct cf_engine_element_instance *eis = cf_engine_elements(inst, &n);
  const struct cf_bpmn_model *m = cf_engine_instance_model(inst);
  for (size_t i = 0; i < n; i++)
    if (eis[i].key == key && eis[i].element < m->nelements) return m->elements[eis[i].element].id;
  return "?";
}

static bool ei_live(const struct cf_engine_instance *inst, uint64_t key) {
  size_t n;
  const struct cf_engine_element_instance *eis = cf_engine_elements(inst, &n);
  for (size_t i = 0; i < n; i++)
    if (eis[i].key == key)
      return eis[i].state != CF_ENGINE_EI_COMPLETED && eis[i].state != CF_ENGINE_EI_TERMINATED;
  return false;
}

/* The subscription with that key of a live instance, or NULL. */
static const struct cf_engine_subscription *find_sub(const struct cf_engine_instance *inst, uint64_t key) {
  size_t n;
  const struct cf_engine_subscription *subs = cf_engine_subscriptions(inst, &n);
  for (size_t i = 0; i < n; i++)
    if (subs[i].key == key) return &subs[i];
  return NULL;
}

/*
 * The text of a model value evaluated without variables (timer start events,
 * start event message and signal names): static text as it is, FEEL's
 * string() of the result. New string, or NULL (problem reported).
 */
static char *value_text(struct cf__memrt *rt, const struct cf_bpmn_value *v, const char *what, const char *id) {
  if (!v->text) return NULL;
  if (!v->expr) {
    char *s = cf_strdup(v->text);
    if (!s) rt->oom = true;
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
    rt->oom = true;
  } else if (out.type == CF_FEEL_NULL || out.type == CF_FEEL_LIST || out.type == CF_FEEL_CONTEXT) {
    problem(rt, "%s of %s: the expression %s gives %s%s%s", what, id, v->text, cf_feel_type_name(out.type),
            w.count ? ": " : "", w.count ? w.items[0] : "");
  } else {
    struct cf_buf b;
    cf_buf_init(&b);
    if (cf_feel_to_string(&out, &b) || b.oom) rt->oom = true;
    s = cf_buf_detach(&b);
  }
  cf_feel_value_release(&out);
  cf_feel_warnings_release(&w);
  return s;
}

static bool strs_has(char **items, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(items[i], s)) return true;
  return false;
}

/* ================================================================ processes */

/* Whether model mi's process p is the latest version of its id (no later model has it). */
static bool is_latest(const struct cf__memrt *rt, size_t mi, uint32_t p) {
  const char *id = rt->models[mi]->processes[p].id;
  for (size_t k = mi + 1; k < rt->nmodels; k++)
    if (rt->models[k] && cf_bpmn_find_process(rt->models[k], id) >= 0) return false;
  return true;
}

bool cf__memrt_find_process(const struct cf__memrt *rt, const char *id,
                            const struct cf_bpmn_model **model, uint32_t *process) {
  for (size_t k = rt->nmodels; k-- > 0;) {
    if (!rt->models[k]) continue;
    int32_t p = cf_bpmn_find_process(rt->models[k], id);
    if (p >= 0) {
      *model = rt->models[k];
      *process = (uint32_t)p;
      return true;
    }
  }
  return false;
}

/* Calls fn for every process-level start event of kind event of the latest executable processes. */
typedef bool (*start_fn)(struct cf__memrt *rt, const struct cf_bpmn_model *m, uint32_t p, uint32_t el, void *arg);

static void each_start_event(struct cf__memrt *rt, uint8_t event, start_fn fn, void *arg) {
  for (size_t mi = 0; mi < rt->nmodels; mi++) {
    const struct cf_bpmn_model *m = rt->models[mi];
    if (!m) continue;
    for (uint32_t p = 0; p < m->nprocesses; p++) {
      if (!m->processes[p].executable || !is_latest(rt, mi, p)) continue;
      for (uint32_t i = 0; i < m->processes[p].nelements; i++) {
        uint32_t el = m->processes[p].elements[i];
        if (m->elements[el].type != CF_BPMN_START_EVENT || m->elements[el].event != event) continue;
        if (!fn(rt, m, p, el, arg)) return;
      }
    }
  }
}

/* ================================================================ engine calls */


/* Hands the events of one engine call on instance i to the caller, and queues those to route. */
static void take_output(struct cf__memrt *rt, size_t i, const struct cf_engine_output *out) {
  if (rt->on_output) rt->on_output(rt->arg, i, out);
  for (size_t k = 0; k < out->count; k++) {
    const struct cf_engine_event *ev = &out->events[k];
    if (!cf_engine_event_routed((enum cf_engine_event_kind)ev->kind)) continue;
    if (!cf_grow((void **)&rt->queue, &rt->qcap, rt->qlen, sizeof *rt->queue)) {
      rt->oom = true;
      return;
    }
    struct cf__memrt_pending *p = &rt->queue[rt->qlen];
    p->inst = i;
    p->kind = ev->kind;
    p->key = ev->key;
    p->detail = NULL;
    p->variables = NULL;
    if ((ev->detail && !(p->detail = cf_strdup(ev->detail))) ||
        (ev->variables && !(p->variables = cf_strdup(ev->variables)))) {
      cf_free(p->detail);
      rt->oom = true;
      return;
    }
    rt->qlen++;
  }
}

static int call_apply(struct cf__memrt *rt, size_t i, const struct cf_engine_cmd *cmd, struct cf_error *err) {
  struct cf_engine_output out;
  cf_engine_output_init(&out);
  struct cf_engine_env env = env_of(rt);
  int rc = cf_engine_apply(inst_at(rt, i), cmd, &env, &out, err);
  take_output(rt, i, &out);
  cf_engine_output_release(&out);
  if (rc == CF_ENOMEM) rt->oom = true;
  return rc;
}

/* Applies a command the runtime makes itself: a refusal is a problem. */
static bool route_apply(struct cf__memrt *rt, size_t i, const struct cf_engine_cmd *cmd, const char *what) {
  struct cf_error err;
  cf_error_clear(&err);
  int rc = call_apply(rt, i, cmd, &err);
  if (rc)
    problem(rt, "%s: the engine refused it (instance of %s): %s", what, cf__memrt_process_id(rt, i),
            err.msg[0] ? err.msg : cf_strerror(rc));
  return rc == CF_OK;
}

static bool push_inst(struct cf__memrt *rt, struct cf_engine_instance *inst, size_t parent, uint64_t call,
                      const char *start_key, size_t *index) {
  if (!cf_grow((void **)&rt->insts, &rt->capinsts, rt->ninsts, sizeof *rt->insts)) {
    rt->oom = true;
    return false;
  }
  struct cf__memrt_inst *mi = &rt->insts[rt->ninsts];
  memset(mi, 0, sizeof *mi);
  if (start_key && *start_key && !(mi->start_key = cf_strdup(start_key))) {
    rt->oom = true;
    return false;
  }
  mi->inst = inst;
  mi->parent = parent;
  mi->parent_call = call;
  *index = rt->ninsts++;
  return true;
}

/* Starts a top-level instance; the first of the root process becomes the root. */
static int start_top(struct cf__memrt *rt, const struct cf_bpmn_model *m, uint32_t p, int32_t element,
                     const struct cf_feel_value *vars, const char *start_key, size_t *index,
                     bool fired, struct cf_error *err) {
  struct cf_engine_output out;
  cf_engine_output_init(&out);
  struct cf_engine_env env = env_of(rt);
  if (vars && vars->type != CF_FEEL_CONTEXT) vars = NULL;
  /* A start event that fired (message, signal, timer) owns the variables it brought. */
  struct cf_engine_instance *inst = fired ? cf_engine_start_event(m, p, element, vars, &env, &out, err)
                                          : cf_engine_start(m, p, element, vars, &env, &out, err);
  int rc = CF_OK;
  size_t i = CF__MEMRT_NONE;
  if (!inst) {
    rc = err->code ? err->code : CF_EINVAL;
    if (rc == CF_ENOMEM) rt->oom = true;
  } else if (!push_inst(rt, inst, CF__MEMRT_NONE, 0, start_key, &i)) {
    cf_engine_instance_free(inst);
    rc = CF_ENOMEM;
  } else {
    if (rt->root == CF__MEMRT_NONE && rt->root_process && !strcmp(m->processes[p].id, rt->root_process))
      rt->root = i;
    take_output(rt, i, &out);
    if (index) *index = i;
  }
  cf_engine_output_release(&out);
  return rc;
}

/* start_top for the runtime's own starts (timers, messages, signals): a refusal is a problem. */
static bool start_event(struct cf__memrt *rt, const struct cf_bpmn_model *m, uint32_t p, uint32_t el,
                        const struct cf_feel_value *vars, const char *start_key) {
  struct cf_error err;
  cf_error_clear(&err);
  int rc = start_top(rt, m, p, (int32_t)el, vars, start_key, NULL, true, &err);
  if (rc)
    problem(rt, "start event %s of process %s: the engine could not start an instance: %s", m->elements[el].id,
            m->processes[p].id, err.msg[0] ? err.msg : cf_strerror(rc));
  return rc == CF_OK;
}

static bool correlate(struct cf__memrt *rt, size_t i, uint64_t sub, const struct cf_feel_value *vars,
                      const char *what) {
  struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_CORRELATE, .key = sub};
  cmd.variables = vars && vars->type == CF_FEEL_CONTEXT ? vars : NULL;
  return route_apply(rt, i, &cmd, what);
}

/* ================================================================ messages */

static void message_release(struct cf__memrt_message *m) {
  cf_free(m->name);
  cf_free(m->key);
  cf_free(m->id);
  cf_feel_value_release(&m->vars);
  for (size_t i = 0; i < m->nprocs; i++) cf_free(m->procs[i]);
  cf_free(m->procs);
  memset(m, 0, sizeof *m);
}

static bool message_live(const struct cf__memrt *rt, const struct cf__memrt_message *m) {
  return rt->now_ms < m->deadline_ms;
}

static void message_mark(struct cf__memrt *rt, struct cf__memrt_message *m, const char *proc) {
  if (strs_has(m->procs, m->nprocs, proc)) return;
  char **procs = cf_realloc(m->procs, (m->nprocs + 1) * sizeof *procs);
  char *s = cf_strdup(proc);
  if (!procs || !s) {
    if (procs) m->procs = procs;
    cf_free(s);
    rt->oom = true;
    return;
  }
  m->procs = procs;
  m->procs[m->nprocs++] = s;
}

static void purge_messages(struct cf__memrt *rt) {
  size_t k = 0;
  for (size_t i = 0; i < rt->nmsgs; i++) {
    if (message_live(rt, &rt->msgs[i])) rt->msgs[k++] = rt->msgs[i];
    else message_release(&rt->msgs[i]);
  }
  rt->nmsgs = k;
}

/* The name of a message or signal start event (static, or FEEL without variables); new string. */
static char *start_name(struct cf__memrt *rt, const struct cf_bpmn_element *e) {
  if (e->event == CF_BPMN_EVENT_SIGNAL) return value_text(rt, &e->signal_name, "the signal name", e->id);
  if (cf_bpmn_value_present(&e->message_name)) return value_text(rt, &e->message_name, "the message name", e->id);
  if (e->message_ref_name) {
    char *s = cf_strdup(e->message_ref_name);
    if (!s) rt->oom = true;
    return s;
  }
  return NULL;
}

/* Whether an active top-level instance of process id was started by a message with that key. */
static bool started_by_key(const struct cf__memrt *rt, const char *proc, const char *key) {
  for (size_t i = 0; i < rt->ninsts; i++)
    if (rt->insts[i].start_key && !strcmp(rt->insts[i].start_key, key) && is_active(rt, i) &&
        !strcmp(cf__memrt_process_id(rt, i), proc))
      return true;
  return false;
}

struct msg_start {
  struct cf__memrt_message *msg;
  bool started;
};

/* Starts an instance at a message start event named like the message, unless its process had it. */
static bool msg_start_one(struct cf__memrt *rt, const struct cf_bpmn_model *m, uint32_t p, uint32_t el, void *arg) {
  struct msg_start *ms = arg;
  const char *proc = m->processes[p].id;
  if (strs_has(ms->msg->procs, ms->msg->nprocs, proc)) return true;
  char *name = start_name(rt, &m->elements[el]);
  bool match = name && !strcmp(name, ms->msg->name);
  cf_free(name);
  if (!match) return true;
  const char *key = ms->msg->key;
  if (key && *key && started_by_key(rt, proc, key)) return true;
  message_mark(rt, ms->msg, proc);
  if (start_event(rt, m, p, el, &ms->msg->vars, key)) ms->started = true;
  return true;
}

/*
 * The message's correlations now: to the oldest matching subscription of
 * each process (by BPMN process id) it was not correlated to yet, then to
 * message start events of the processes it still has not reached.
 */
static void correlate_message(struct cf__memrt *rt, struct cf__memrt_message *msg) {
  struct cand {
    size_t inst;
    uint64_t sub;
  } *cands = NULL;
  size_t ncands = 0, cap = 0;
  for (size_t i = 0; i < rt->ninsts; i++) {
    if (!is_active(rt, i)) continue;
    const char *proc = cf__memrt_process_id(rt, i);
    if (strs_has(msg->procs, msg->nprocs, proc)) continue;
    size_t n;
    const struct cf_engine_subscription *subs = cf_engine_subscriptions(inst_at(rt, i), &n);
    for (size_t k = 0; k < n; k++) {
      const struct cf_engine_subscription *s = &subs[k];
      if (s->kind != CF_ENGINE_SUB_MESSAGE || !streq(s->name, msg->name) || !streq(s->correlation_key, msg->key))
        continue;
      /* One per process: keep the oldest subscription. */
      size_t c = 0;
      while (c < ncands && strcmp(cf__memrt_process_id(rt, cands[c].inst), proc)) c++;
      if (c == ncands) {
        if (!cf_grow((void **)&cands, &cap, ncands, sizeof *cands)) {
          rt->oom = true;
          cf_free(cands);
          return;
        }
        cands[ncands++] = (struct cand){i, s->key};
      } else if (s->key < cands[c].sub) {
        cands[c] = (struct cand){i, s->key};
      }
    }
  }
  for (size_t c = 0; c < ncands; c++) {
    const struct cf_engine_subscription *s = find_sub(inst_at(rt, cands[c].inst), cands[c].sub);
    if (!s || !is_active(rt, cands[c].inst)) continue;
    message_mark(rt, msg, cf__memrt_process_id(rt, cands[c].inst));
    correlate(rt, cands[c].inst, cands[c].sub, &msg->vars, "correlating a message");
  }
  cf_free(cands);
  struct msg_start ms = {msg, false};
  each_start_event(rt, CF_BPMN_EVENT_MESSAGE, msg_start_one, &ms);
}

bool cf__memrt_publish(struct cf__memrt *rt, const char *name, const char *key,
                       const struct cf_feel_value *variables, int64_t ttl_ms, const char *message_id);

/* A subscription just opened: the oldest buffered message for it (not yet correlated to its process). */
static void route_subscription_opened(struct cf__memrt *rt, const struct cf__memrt_pending *p) {
  if (!is_active(rt, p->inst)) return;
  const struct cf_engine_subscription *s = find_sub(inst_at(rt, p->inst), p->key);
  if (!s || s->kind != CF_ENGINE_SUB_MESSAGE) return;
  const char *proc = cf__memrt_process_id(rt, p->inst);
  for (size_t i = 0; i < rt->nmsgs; i++) {
    struct cf__memrt_message *m = &rt->msgs[i];
    if (!message_live(rt, m) || !streq(m->name, s->name) || !streq(m->key, s->correlation_key) ||
        strs_has(m->procs, m->nprocs, proc))
      continue;
    message_mark(rt, m, proc);
    correlate(rt, p->inst, p->key, &m->vars, "correlating a buffered message");
    return;
  }
}

/*
 * An instance started by a message with key K ended: a buffered message with
 * K for one of its process's message start events starts the next one.
 */
static void restart_from_buffer(struct cf__memrt *rt, size_t i) {
  const char *key = rt->insts[i].start_key;
  if (!key) return;
  const char *proc = cf__memrt_process_id(rt, i);
  if (started_by_key(rt, proc, key)) return;
  const struct cf_bpmn_model *m;
  uint32_t p;
  if (!cf__memrt_find_process(rt, proc, &m, &p)) return;
  for (size_t k = 0; k < rt->nmsgs; k++) {
    struct cf__memrt_message *msg = &rt->msgs[k];
    if (!message_live(rt, msg) || !streq(msg->key, key) || strs_has(msg->procs, msg->nprocs, proc)) continue;
    for (uint32_t e = 0; e < m->processes[p].nelements; e++) {
      uint32_t el = m->processes[p].elements[e];
      if (m->elements[el].type != CF_BPMN_START_EVENT || m->elements[el].event != CF_BPMN_EVENT_MESSAGE) continue;
      char *name = start_name(rt, &m->elements[el]);
      bool match = name && !strcmp(name, msg->name);
      cf_free(name);
      if (!match) continue;
      message_mark(rt, msg, proc);
      start_event(rt, m, p, el, &msg->vars, key);
      return;
    }
  }
}

/* ================================================================ signals */

struct sig_start {
  const char *name;
  const struct cf_feel_value *vars;
  size_t reached;
};

static bool sig_start_one(struct cf__memrt *rt, const struct cf_bpmn_model *m, uint32_t p, uint32_t el, void *arg) {
  struct sig_start *ss = arg;
  char *name = start_name(rt, &m->elements[el]);
  bool match = name && !strcmp(name, ss->name);
  cf_free(name);
  if (match && start_event(rt, m, p, el, ss->vars, NULL)) ss->reached++;
  return true;
}

/* Every signal subscription of that name open now, then the signal start events. Does not settle. */
static size_t broadcast(struct cf__memrt *rt, const char *name, const struct cf_feel_value *vars) {
  struct sub_ref {
    size_t inst;
    uint64_t key;
  } *refs = NULL;
  size_t nrefs = 0, cap = 0;
  for (size_t i = 0; i < rt->ninsts; i++) {
    if (!is_active(rt, i)) continue;
    size_t n;
    const struct cf_engine_subscription *subs = cf_engine_subscriptions(inst_at(rt, i), &n);
    for (size_t k = 0; k < n; k++) {
      if (subs[k].kind != CF_ENGINE_SUB_SIGNAL || !streq(subs[k].name, name)) continue;
      if (!cf_grow((void **)&refs, &cap, nrefs, sizeof *refs)) {
        rt->oom = true;
        cf_free(refs);
        return 0;
      }
      refs[nrefs++] = (struct sub_ref){i, subs[k].key};
    }
  }
  size_t reached = 0;
  for (size_t k = 0; k < nrefs; k++) {
    if (!is_active(rt, refs[k].inst) || !find_sub(inst_at(rt, refs[k].inst), refs[k].key)) continue;
    if (correlate(rt, refs[k].inst, refs[k].key, vars, "broadcasting a signal")) reached++;
  }
  cf_free(refs);
  struct sig_start ss = {name, vars, 0};
  each_start_event(rt, CF_BPMN_EVENT_SIGNAL, sig_start_one, &ss);
  return reached + ss.reached;
}

/* ================================================================ the tree */

static void route_call_started(struct cf__memrt *rt, const struct cf__memrt_pending *p) {
  size_t pi = p->inst;
  struct cf_engine_instance *parent = inst_at(rt, pi);
  if (!is_active(rt, pi) || !ei_live(parent, p->key)) return;
  const char *call_id = ei_element_id(parent, p->key);
  const struct cf_bpmn_model *m = NULL;
  uint32_t proc = 0;
  /* bindingType="versionTag": the newest model whose process has that zeebe:versionTag. */
  const struct cf_bpmn_model *pm = cf_engine_instance_model(parent);
  int32_t ce = call_id ? cf_bpmn_find_element(pm, call_id) : -1;
  const char *tag = ce >= 0 ? pm->elements[ce].called_version_tag : NULL;
  if (tag && p->detail) {
    for (size_t k = rt->nmodels; k-- > 0 && !m;) {
      int32_t q = rt->models[k] ? cf_bpmn_find_process(rt->models[k], p->detail) : -1;
      if (q >= 0 && rt->models[k]->processes[q].version_tag &&
          !strcmp(rt->models[k]->processes[q].version_tag, tag)) {
        m = rt->models[k];
        proc = (uint32_t)q;
      }
    }
    if (!m) {
      problem(rt, "call activity %s calls process \"%s\" with version tag \"%s\", which no model of the scenario holds",
              call_id, p->detail, tag);
      return;
    }
  } else if (!p->detail || !cf__memrt_find_process(rt, p->detail, &m, &proc)) {
    problem(rt, "call activity %s calls process \"%s\", which no model of the scenario holds (list its file in \"models\")",
            call_id, p->detail ? p->detail : "");
    return;
  }
  struct cf_feel_value vars;
  cf_feel_set_null(&vars);
  struct cf_error err;
  cf_error_clear(&err);
  int rc = cf_engine_call_variables(parent, p->key, &vars);
  if (rc) {
    if (rc == CF_ENOMEM) rt->oom = true;
    problem(rt, "call activity %s: the engine gave no variables for the child: %s", call_id, cf_strerror(rc));
    return;
  }
  struct cf_engine_output out;
  cf_engine_output_init(&out);
  struct cf_engine_env env = env_of(rt);
  struct cf_engine_instance *child =
      cf_engine_start_child(m, proc, vars.type == CF_FEEL_CONTEXT ? &vars : NULL, cf_engine_instance_key(parent),
                            p->key, &env, &out, &err);
  cf_feel_value_release(&vars);
  size_t ci;
  if (!child) {
    if (err.code == CF_ENOMEM) rt->oom = true;
    problem(rt, "call activity %s: the engine could not start process %s: %s", call_id, p->detail,
            err.msg[0] ? err.msg : cf_strerror(err.code));
  } else if (!push_inst(rt, child, pi, p->key, NULL, &ci)) {
    cf_engine_instance_free(child);
  } else {
    take_output(rt, ci, &out);
  }
  cf_engine_output_release(&out);
}

static void route_call_canceled(struct cf__memrt *rt, const struct cf__memrt_pending *p) {
  for (size_t i = 0; i < rt->ninsts; i++) {
    if (rt->insts[i].parent != p->inst || rt->insts[i].parent_call != p->key || !is_active(rt, i)) continue;
    struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_CANCEL};
    route_apply(rt, i, &cmd, "cancelling the child of a cancelled call activity");
  }
}

static void route_instance_ended(struct cf__memrt *rt, const struct cf__memrt_pending *p) {
  size_t i = p->inst;
  struct cf__memrt_inst *mi = &rt->insts[i];
  struct cf_engine_instance *child = mi->inst;
  if (p->key != cf_engine_instance_key(child)) return;
  if (p->kind == CF_ENGINE_EV_INSTANCE_COMPLETED && mi->parent != CF__MEMRT_NONE) {
    size_t pi = mi->parent;
    uint64_t call = mi->parent_call;
    if (is_active(rt, pi) && ei_live(inst_at(rt, pi), call)) {
      struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_COMPLETE_CALL, .key = call};
      cmd.variables = cf_engine_variables(child, cf_engine_instance_key(child));
      if (cmd.variables && cmd.variables->type != CF_FEEL_CONTEXT) cmd.variables = NULL;
      route_apply(rt, pi, &cmd, "completing a call activity");
    }
  }
  restart_from_buffer(rt, i);
}

/*
 * An error the child did not catch: offered to each ancestor in turn (to
 * the call activity that leads down to the thrower); none catching it, the
 * thrower raises the incident.
 */
static void route_error(struct cf__memrt *rt, const struct cf__memrt_pending *p) {
  size_t cur = p->inst;
  /* The error's variables go with it to whichever catch event takes it. */
  struct cf_feel_value vars;
  cf_feel_set_null(&vars);
  if (p->variables) {
    struct cf_error jerr;
    struct json_object *j = cf_json_parse(p->variables, strlen(p->variables), &jerr);
    if (j && cf_feel_from_json(j, &vars)) cf_feel_set_null(&vars);
    json_object_put(j);
  }
  bool done = false;
  while (!done && rt->insts[cur].parent != CF__MEMRT_NONE) {
    size_t par = rt->insts[cur].parent;
    struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_CHILD_ERROR, .key = rt->insts[cur].parent_call,
                                .error_code = p->detail,
                                .variables = vars.type == CF_FEEL_CONTEXT ? &vars : NULL};
    struct cf_error err;
    cf_error_clear(&err);
    int rc = is_active(rt, par) ? call_apply(rt, par, &cmd, &err) : CF_ENOTFOUND;
    if (rc == CF_OK) {
      done = true;
    } else if (rc != CF_ENOTFOUND) {
      problem(rt, "handing error \"%s\" to the calling process %s: the engine refused it: %s", p->detail ? p->detail : "",
              cf__memrt_process_id(rt, par), err.msg[0] ? err.msg : cf_strerror(rc));
      done = true;
    }
    cur = par;
  }
  cf_feel_value_release(&vars);
  if (done) return;
  struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_UNCAUGHT_ERROR, .key = p->key, .error_code = p->detail};
  route_apply(rt, p->inst, &cmd, "raising the incident of an error no process caught");
}

/* An escalation the called process did not catch: offered to each ancestor in turn; uncaught, nothing. */
static void route_escalation(struct cf__memrt *rt, const struct cf__memrt_pending *p) {
  size_t cur = p->inst;
  while (rt->insts[cur].parent != CF__MEMRT_NONE) {
    size_t par = rt->insts[cur].parent;
    struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_CHILD_ESCALATION, .key = rt->insts[cur].parent_call,
                                .error_code = p->detail};
    struct cf_error err;
    cf_error_clear(&err);
    int rc = is_active(rt, par) ? call_apply(rt, par, &cmd, &err) : CF_ENOTFOUND;
    if (rc == CF_OK) return;
    if (rc != CF_ENOTFOUND) {
      problem(rt, "handing escalation \"%s\" to the calling process %s: the engine refused it: %s",
              p->detail ? p->detail : "", cf__memrt_process_id(rt, par), err.msg[0] ? err.msg : cf_strerror(rc));
      return;
    }
    cur = par;
  }
}

static void route(struct cf__memrt *rt, const struct cf__memrt_pending *p) {
  switch (p->kind) {
  case CF_ENGINE_EV_CALL_STARTED: route_call_started(rt, p); break;
  case CF_ENGINE_EV_CALL_CANCELED: route_call_canceled(rt, p); break;
  case CF_ENGINE_EV_INSTANCE_COMPLETED:
  case CF_ENGINE_EV_INSTANCE_TERMINATED: route_instance_ended(rt, p); break;
  case CF_ENGINE_EV_ERROR_TO_PARENT: route_error(rt, p); break;
  case CF_ENGINE_EV_ESCALATION_TO_PARENT: route_escalation(rt, p); break;
  case CF_ENGINE_EV_SUBSCRIPTION_OPENED: route_subscription_opened(rt, p); break;
  case CF_ENGINE_EV_SIGNAL_THROWN:
    if (p->detail) broadcast(rt, p->detail, NULL);
    break;
  default: break;
  }
}

/* Routes queued events until none is left. false when cut at the limit. */
static bool drain(struct cf__memrt *rt) {
  size_t routed = 0;
  bool ok = true;
  while (rt->qhead < rt->qlen) {
    struct cf__memrt_pending p = rt->queue[rt->qhead++];
    if (ok && ++routed > ROUTE_LIMIT) {
      problem(rt, "the instances do not come to rest: more than %d events routed between them (a loop of call activities?)",
              ROUTE_LIMIT);
      ok = false;
    }
    if (ok && !rt->oom) route(rt, &p);
    cf_free(p.detail);
    cf_free(p.variables);
  }
  rt->qhead = rt->qlen = 0;
  return ok;
}

/* ================================================================ timers */

static enum cf_schedule_kind schedule_kind(uint8_t timer_kind) {
  switch (timer_kind) {
  case CF_BPMN_TIMER_DATE: return CF_SCHEDULE_DATE;
  case CF_BPMN_TIMER_DURATION: return CF_SCHEDULE_DURATION;
  default: return CF_SCHEDULE_CYCLE;
  }
}

static bool schedule_one(struct cf__memrt *rt, const struct cf_bpmn_model *m, uint32_t p, uint32_t el, void *arg) {
  bool *ok = arg;
  const struct cf_bpmn_element *e = &m->elements[el];
  char *text = value_text(rt, &e->timer, "the timer", e->id);
  if (!text) {
    if (!e->timer.text) problem(rt, "timer start event %s of process %s has no time", e->id, m->processes[p].id);
    *ok = false;
    return true;
  }
  struct cf__memrt_start_timer st = {.model = m, .process = p, .element = el, .live = true};
  struct cf_error err;
  cf_error_clear(&err);
  int rc = cf_schedule_parse(schedule_kind(e->timer_kind), text, strlen(text), rt->now_ms, &st.schedule, &err);
  if (rc) {
    problem(rt, "timer start event %s of process %s: \"%s\": %s", e->id, m->processes[p].id, text,
            err.msg[0] ? err.msg : cf_strerror(rc));
    *ok = false;
  } else if (!cf_grow((void **)&rt->starts, &rt->capstarts, rt->nstarts, sizeof *rt->starts)) {
    rt->oom = true;
    *ok = false;
  } else {
    rt->starts[rt->nstarts++] = st;
  }
  cf_free(text);
  return true;
}

bool cf__memrt_schedule_starts(struct cf__memrt *rt) {
  bool ok = true;
  each_start_event(rt, CF_BPMN_EVENT_TIMER, schedule_one, &ok);
  return ok && !rt->oom;
}

/*
 * Fires the earliest timer due by limit_ms (instance timers and timer start
 * events; ties: the oldest key, start events first), with the clock at its
 * due time (or now, if that is later). false when none is due.
 */
static bool fire_next(struct cf__memrt *rt, int64_t limit_ms) {
  bool found = false;
  int64_t due = 0;
  uint64_t key = 0;
  size_t inst = CF__MEMRT_NONE, start = CF__MEMRT_NONE;
  for (size_t s = 0; s < rt->nstarts; s++) {
    const struct cf__memrt_start_timer *st = &rt->starts[s];
    if (!st->live || st->schedule.due_ms > limit_ms) continue;
    if (!found || st->schedule.due_ms < due) {
      found = true;
      due = st->schedule.due_ms;
      start = s;
    }
  }
  for (size_t i = 0; i < rt->ninsts; i++) {
    if (!is_active(rt, i)) continue;
    size_t n;
    const struct cf_engine_timer *ts = cf_engine_timers(inst_at(rt, i), &n);
    for (size_t k = 0; k < n; k++) {
      if (ts[k].due_ms > limit_ms) continue;
      if (!found || ts[k].due_ms < due || (ts[k].due_ms == due && start == CF__MEMRT_NONE && ts[k].key < key)) {
        found = true;
        due = ts[k].due_ms;
        key = ts[k].key;
        inst = i;
        start = CF__MEMRT_NONE;
      }
    }
  }
  if (!found) return false;
  if (due > rt->now_ms) rt->now_ms = due;
  if (start != CF__MEMRT_NONE) {
    struct cf__memrt_start_timer *st = &rt->starts[start];
    start_event(rt, st->model, st->process, st->element, NULL, NULL);
    st->live = cf_schedule_advance(&st->schedule);
    return true;
  }
  struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_FIRE_TIMER, .key = key};
  return route_apply(rt, inst, &cmd, "firing a timer");
}

/* Routes until quiet, then fires what is due now, and so on. */
static void settle(struct cf__memrt *rt) {
  size_t fired = 0;
  for (;;) {
    if (!drain(rt) || rt->oom) return;
    if (!fire_next(rt, rt->now_ms)) return;
    if (++fired > FIRE_LIMIT) {
      problem(rt, "more than %d timers due at once", FIRE_LIMIT);
      return;
    }
  }
}

void cf__memrt_advance(struct cf__memrt *rt, int64_t target_ms) {
  settle(rt);
  size_t fired = 0;
  while (!rt->oom && fire_next(rt, target_ms)) {
    if (++fired > FIRE_LIMIT) {
      problem(rt, "more than %d timer firings in one move of the clock (a very short cycle?)", FIRE_LIMIT);
      break;
    }
    settle(rt);
  }
  if (target_ms > rt->now_ms) rt->now_ms = target_ms;
  settle(rt);
  purge_messages(rt);
}

/* ================================================================ operations */

void cf__memrt_init(struct cf__memrt *rt, struct cf_bpmn_model *const *models, size_t nmodels,
                    int64_t now_ms, uint64_t first_key) {
  memset(rt, 0, sizeof *rt);
  rt->models = models;
  rt->nmodels = nmodels;
  rt->now_ms = now_ms;
  rt->next_key = first_key;
  rt->root = CF__MEMRT_NONE;
}

void cf__memrt_release(struct cf__memrt *rt) {
  for (size_t i = 0; i < rt->ninsts; i++) {
    cf_engine_instance_free(rt->insts[i].inst);
    cf_free(rt->insts[i].start_key);
  }
  cf_free(rt->insts);
  cf_free(rt->starts);
  for (size_t i = 0; i < rt->nmsgs; i++) message_release(&rt->msgs[i]);
  cf_free(rt->msgs);
  for (size_t i = rt->qhead; i < rt->qlen; i++) {
    cf_free(rt->queue[i].detail);
    cf_free(rt->queue[i].variables);
  }
  cf_free(rt->queue);
  memset(rt, 0, sizeof *rt);
  rt->root = CF__MEMRT_NONE;
}

int cf__memrt_start(struct cf__memrt *rt, const struct cf_bpmn_model *model, uint32_t process,
                    int32_t start_element, const struct cf_feel_value *variables, size_t *index,
                    struct cf_error *err) {
  int rc = start_top(rt, model, process, start_element, variables, NULL, index, false, err);
  settle(rt);
  return rc;
}

int cf__memrt_apply(struct cf__memrt *rt, size_t index, const struct cf_engine_cmd *cmd,
                    struct cf_error *err) {
  int rc = call_apply(rt, index, cmd, err);
  settle(rt);
  return rc;
}

bool cf__memrt_publish(struct cf__memrt *rt, const char *name, const char *key,
                       const struct cf_feel_value *variables, int64_t ttl_ms, const char *message_id) {
  purge_messages(rt);
  if (message_id)
    for (size_t i = 0; i < rt->nmsgs; i++)
      if (rt->msgs[i].id && !strcmp(rt->msgs[i].id, message_id)) return false;
  struct cf__memrt_message m;
  memset(&m, 0, sizeof m);
  m.name = cf_strdup(name);
  m.key = cf_strdup(key ? key : "");
  m.id = message_id ? cf_strdup(message_id) : NULL;
  cf_feel_set_null(&m.vars);
  if (variables) cf_feel_value_copy(&m.vars, variables);
  m.deadline_ms = rt->now_ms + (ttl_ms > 0 ? ttl_ms : 0);
  if (!m.name || !m.key || (message_id && !m.id)) {
    rt->oom = true;
    message_release(&m);
    return true;
  }
  correlate_message(rt, &m);
  if (ttl_ms > 0 && cf_grow((void **)&rt->msgs, &rt->capmsgs, rt->nmsgs, sizeof *rt->msgs)) {
    rt->msgs[rt->nmsgs++] = m;
  } else {
    if (ttl_ms > 0) rt->oom = true;
    message_release(&m);
  }
  settle(rt);
  return true;
}

size_t cf__memrt_broadcast(struct cf__memrt *rt, const char *name, const struct cf_feel_value *variables) {
  size_t n = broadcast(rt, name, variables);
  settle(rt);
  return n;
}

bool cf__memrt_in_root_tree(const struct cf__memrt *rt, size_t i) {
  if (rt->root == CF__MEMRT_NONE) return false;
  for (size_t guard = 0; i != CF__MEMRT_NONE && guard <= rt->ninsts; guard++) {
    if (i == rt->root) return true;
    i = rt->insts[i].parent;
  }
  return false;
}
