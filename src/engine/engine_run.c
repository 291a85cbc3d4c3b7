/*
 * Execution: element lifecycles, tokens, gateways, jobs, user tasks,
 * incidents, and the commands that drive them.
 *
 * One call (start or apply) processes a FIFO queue of work items until the
 * instance waits (for a job, a person, ...) or ends, like Zeebe processes a
 * command and its follow-up records. A token is a work item on its way or a
 * live element instance; each scope counts its tokens (live children, items
 * queued in it, arrivals waiting at joins) and completes when the count
 * drops to zero.
 *
 * Joins: a parallel gateway with several incoming flows activates when
 * every incoming flow has a token (one is consumed from each). An inclusive
 * gateway join activates when each incoming flow either has a token or can
 * no longer get one: no live token of the scope can reach it. That is
 * decided once the queue is empty, when every remaining token is waiting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_json.h"
#include "engine/engine_int.h"

enum work_kind { W_DEAD, W_FLOW, W_ACTIVATE };

struct work {
  uint8_t kind;
  uint32_t idx;   /* flow (W_FLOW) or element (W_ACTIVATE) */
  uint64_t scope; /* the scope the token lives in */
};

struct run {
  struct cf_engine_instance *inst;
  const struct cf_bpmn_model *m;
  const struct cf_engine_env *env;
  struct cf_engine_output *out;
  struct cf_feel_env fenv;
  struct work *q; /* the queue: inline until it outgrows it */
  size_t head, tail, cap;
  struct work inline_q[16];
  uint64_t activations; /* elements activated in this call (loop guard) */
  int32_t trig_element;          /* a catching element about to activate because it fired, or -1 */
  struct cf_feel_value trig_vars; /* the variables it fired with */
  bool failed; /* the last FEEL evaluation failed outright (assert): why holds the reason */
  char failed_why[300];
};

static int run_queue(struct run *r);

/* ------------------------------------------------------------- basics */

static uint64_t new_key(struct run *r) { return r->env->next_key(r->env->key_arg); }

static int64_t now(const struct run *r) { return r->env->now_ms; }

static int emit(struct run *r, uint8_t kind, uint64_t key, int32_t element, const char *detail) {
  return cf__engine_event(r->out, kind, key, element, now(r), detail);
}

/* emit() for the container of a multi-instance activity (flagged, so views can tell it apart). */
static int emit_body(struct run *r, uint8_t kind, uint64_t key, int32_t element) {
  int rc = emit(r, kind, key, element, NULL);
  if (rc == CF_OK && r->out) r->out->events[r->out->count - 1].body = true;
  return rc;
}

static int push(struct run *r, uint8_t kind, uint32_t idx, uint64_t scope) {
  if (r->tail == r->cap) {
    if (r->head > 0) {
      memmove(r->q, r->q + r->head, (r->tail - r->head) * sizeof *r->q);
      r->tail -= r->head;
      r->head = 0;
    }
    if (r->tail == r->cap) {
      size_t cap = r->cap * 2;
      struct work *q = cf_malloc(cap * sizeof *q);
      if (!q) return CF_ENOMEM;
      memcpy(q, r->q, r->tail * sizeof *q);
      if (r->q != r->inline_q) cf_free(r->q);
      r->q = q;
      r->cap = cap;
    }
  }
  r->q[r->tail++] = (struct work){kind, idx, scope};
  struct scope_data *s = cf__engine_scope(r->inst, scope);
  if (s) s->tokens++;
  return CF_OK;
}

static const struct cf_bpmn_element *el(const struct run *r, uint32_t i) { return &r->m->elements[i]; }

static bool is_job_task(const struct cf_bpmn_element *e) {
  switch (e->type) {
    case CF_BPMN_SERVICE_TASK:
    case CF_BPMN_SEND_TASK:
    case CF_BPMN_BUSINESS_RULE_TASK: return true;
    case CF_BPMN_SCRIPT_TASK: return !cf_bpmn_value_present(&e->script);
    case CF_BPMN_INTERMEDIATE_THROW_EVENT:
    case CF_BPMN_END_EVENT: return e->event == CF_BPMN_EVENT_MESSAGE; /* as jobs, like Camunda 8 */
    default: return false;
  }
}

static bool is_container(const struct cf_bpmn_element *e) {
  return e->type == CF_BPMN_SUB_PROCESS || e->type == CF_BPMN_EVENT_SUB_PROCESS;
}

/* ------------------------------------------------------------- element instances */

static int ei_add(struct run *r, uint32_t element, uint64_t scope, size_t *idx) {
  struct cf_engine_instance *in = r->inst;
  if (in->neis == in->capeis) {
    size_t cap = in->capeis ? in->capeis * 2 : 2;
    struct cf_engine_element_instance *e = cf_realloc(in->eis, cap * sizeof *e);
    if (!e) return CF_ENOMEM;
    in->eis = e;
    struct ei_priv *p = cf_realloc(in->priv, cap * sizeof *p);
    if (!p) return CF_ENOMEM;
    in->priv = p;
    in->capeis = cap;
  }
  size_t i = in->neis++;
  in->eis[i] = (struct cf_engine_element_instance){.key = new_key(r), .scope_key = scope,
                                                   .element = element, .state = CF_ENGINE_EI_ACTIVATING};
  memset(&in->priv[i], 0, sizeof in->priv[i]);
  cf_feel_set_null(&in->priv[i].scope.vars);
  cf_feel_set_null(&in->priv[i].pending);
  cf_feel_set_null(&in->priv[i].mi_items);
  struct scope_data *s = cf__engine_scope(in, scope);
  if (s) s->tokens++;
  *idx = i;
  return CF_OK;
}

/* Removes element instance i; its scope loses a token. */
static void ei_remove(struct run *r, size_t i) {
  struct cf_engine_instance *in = r->inst;
  uint64_t scope = in->eis[i].scope_key;
  cf_feel_value_release(&in->priv[i].scope.vars);
  cf_feel_value_release(&in->priv[i].pending);
  cf_feel_value_release(&in->priv[i].mi_items);
  cf_free(in->priv[i].comp_queue);
  cf_free(in->priv[i].scope.arrivals);
  memmove(&in->eis[i], &in->eis[i + 1], (in->neis - i - 1) * sizeof *in->eis);
  memmove(&in->priv[i], &in->priv[i + 1], (in->neis - i - 1) * sizeof *in->priv);
  in->neis--;
  struct scope_data *s = cf__engine_scope(in, scope);
  if (s && s->tokens) s->tokens--;
}

/* ------------------------------------------------------------- FEEL */

/* Evaluates a model value in the variables visible from scope. */
static int eval_value(struct run *r, const struct cf_bpmn_value *v, uint64_t scope,
                      struct cf_feel_value *out, char *why, size_t whylen) {
  why[0] = '\0';
  if (!v->expr) {
    return cf_feel_set_string(out, v->text ? v->text : "", v->text ? strlen(v->text) : 0) ==
                   CF_ENOMEM
               ? CF_ENOMEM
               : CF_OK;
  }
  struct cf_feel_value vars;
  const struct cf_feel_value *use;
  int rc;
  struct scope_data *s = cf__engine_scope(r->inst, scope);
  /* The common case: only the process scope has variables; no merge needed. */
  if (scope == r->inst->key) {
    use = s && s->vars.type == CF_FEEL_CONTEXT ? &s->vars : NULL;
    cf_feel_set_null(&vars);
  } else {
    if ((rc = cf_engine_visible_variables(r->inst, scope, &vars))) return rc;
    use = &vars;
  }
  struct cf_feel_warnings w;
  cf_feel_warnings_init(&w);
  rc = cf_feel_eval(v->expr, use, &r->fenv, out, &w);
  if (rc == CF_OK && w.count) snprintf(why, whylen, "%s", w.items[0]);
  r->failed = rc == CF_OK && w.failed;
  if (r->failed) snprintf(r->failed_why, sizeof r->failed_why, "%s", w.count ? w.items[w.count - 1] : "failed");
  cf_feel_warnings_release(&w);
  cf_feel_value_release(&vars);
  return rc;
}

static int raise_incident(struct run *r, size_t i, uint8_t type, const char *msg, uint64_t job_key,
                          uint8_t phase) {
  struct cf_engine_instance *in = r->inst;
  if (in->nincidents == in->capincidents) {
    size_t cap = in->capincidents ? in->capincidents * 2 : 1;
    struct cf_engine_incident *n = cf_realloc(in->incidents, cap * sizeof *n);
    if (!n) return CF_ENOMEM;
    in->incidents = n;
    in->capincidents = cap;
  }
  char *m = cf_strdup(msg);
  if (!m) return CF_ENOMEM;
  uint64_t key = new_key(r);
  in->incidents[in->nincidents++] = (struct cf_engine_incident){
      key, in->eis[i].key, in->eis[i].element, type, job_key, m, now(r)};
  in->eis[i].incident_key = key;
  in->priv[i].phase = phase;
  return emit(r, CF_ENGINE_EV_INCIDENT_CREATED, key, (int32_t)in->eis[i].element, msg);
}

/* An incident for an expression that failed or gave the wrong type. */
static int expression_incident(struct run *r, size_t i, const char *what,
                               const struct cf_bpmn_value *v, const char *expected,
                               const struct cf_feel_value *got, const char *why, uint8_t phase) {
  char msg[700];
  if (why && *why)
    snprintf(msg, sizeof msg, "%s: expected the expression '%.200s' to give a %s, but it gave %s (%s)",
             what, v->text ? v->text : "", expected, cf_feel_type_name(got->type), why);
  else
    snprintf(msg, sizeof msg, "%s: expected the expression '%.200s' to give a %s, but it gave %s", what,
             v->text ? v->text : "", expected, cf_feel_type_name(got->type));
  return raise_incident(r, i, CF_ENGINE_INC_EXPRESSION, msg, 0, phase);
}

/* Puts value at target (a name, or a dotted path into contexts) in doc. */
static int put_path(struct cf_feel_value *doc, const char *target, struct cf_feel_value *value,
                    const struct cf_feel_value *base);

/*
 * Puts value at target in doc. A dotted target (`order.status`) updates one
 * entry of a context: the one already in doc, or else the variable of that
 * name visible from scope (Zeebe merges into the existing variable).
 */
static int doc_put(struct run *r, struct cf_feel_value *doc, const char *target,
                   struct cf_feel_value *value, uint64_t scope) {
  const char *dot = strchr(target, '.');
  if (!dot) return cf_feel_ctx_put(doc, target, strlen(target), value);
  size_t head = (size_t)(dot - target);
  if (cf_feel_ctx_get(doc->u.ctx, target, head)) return put_path(doc, target, value, NULL);
  const struct cf_feel_value *base = NULL;
  for (uint64_t k = scope; k && !base; k = cf__engine_parent_scope(r->inst, k)) {
    struct scope_data *s = cf__engine_scope(r->inst, k);
    if (s && s->vars.type == CF_FEEL_CONTEXT) base = cf_feel_ctx_get(s->vars.u.ctx, target, head);
  }
  return put_path(doc, target, value, base);
}

/* a.b.c: copy-on-write down the path, starting from doc's entry or from base. */
static int put_path(struct cf_feel_value *doc, const char *target, struct cf_feel_value *value,
                    const struct cf_feel_value *base) {
  const char *dot = strchr(target, '.');
  if (!dot) return cf_feel_ctx_put(doc, target, strlen(target), value);
  size_t head = (size_t)(dot - target);
  const struct cf_feel_value *existing = cf_feel_ctx_get(doc->u.ctx, target, head);
  if (!existing) existing = base;
  struct cf_feel_value inner;
  int rc;
  if (existing && existing->type == CF_FEEL_CONTEXT) {
    const struct cf_feel_ctx *c = existing->u.ctx;
    if ((rc = cf_feel_ctx_new(&inner, c->len + 1))) goto fail;
    for (uint32_t k = 0; k < c->len; k++) {
      struct cf_feel_value v;
      cf_feel_value_copy(&v, &c->entries[k].value);
      if ((rc = cf_feel_ctx_put(&inner, c->entries[k].key->data, c->entries[k].key->len, &v))) {
        cf_feel_value_release(&inner);
        goto fail;
      }
    }
  } else if ((rc = cf_feel_ctx_new(&inner, 1))) {
    goto fail;
  }
  if ((rc = put_path(&inner, dot + 1, value, NULL))) {
    cf_feel_value_release(&inner);
    return rc;
  }
  return cf_feel_ctx_put(doc, target, head, &inner);
fail:
  cf_feel_value_release(value);
  return rc;
}

/*
 * Evaluates mappings from scope into a new document (a context). A mapping
 * whose value is null is kept as null, as Camunda 8 does for a missing
 * variable.
 */
static int eval_mappings(struct run *r, size_t i, const struct cf_bpmn_mapping *maps, uint32_t n,
                         uint64_t scope, uint8_t phase, struct cf_feel_value *doc, bool *incident) {
  *incident = false;
  int rc = cf_feel_ctx_new(doc, n);
  for (uint32_t k = 0; rc == CF_OK && k < n; k++) {
    struct cf_feel_value v;
    char why[300];
    if ((rc = eval_value(r, &maps[k].source, scope, &v, why, sizeof why))) break;
    if (r->failed) {
      char msg[700];
      snprintf(msg, sizeof msg, "%s mapping to '%.100s': failed to evaluate '%.200s': %s",
               phase == PH_ACTIVATE ? "input" : "output", maps[k].target,
               maps[k].source.text ? maps[k].source.text : "", r->failed_why);
      cf_feel_value_release(&v);
      *incident = true;
      rc = raise_incident(r, i, CF_ENGINE_INC_EXPRESSION, msg, 0, phase);
      break;
    }
    rc = doc_put(r, doc, maps[k].target, &v, scope);
  }
  if (rc || *incident) cf_feel_value_release(doc);
  return rc;
}

/* ------------------------------------------------------------- jobs and tasks */

static void job_free(struct cf_engine_job *j) {
  cf_free(j->type);
  cf_free(j->error_message);
  cf_feel_value_release(&j->headers);
}

static ssize_t find_job(const struct cf_engine_instance *in, uint64_t key) {
  for (size_t i = 0; i < in->njobs; i++)
    if (in->jobs[i].key == key) return (ssize_t)i;
  return -1;
}

static void job_remove(struct cf_engine_instance *in, size_t j) {
  job_free(&in->jobs[j]);
  memmove(&in->jobs[j], &in->jobs[j + 1], (in->njobs - j - 1) * sizeof *in->jobs);
  in->njobs--;
}

static void task_free(struct cf_engine_user_task *t) {
  cf_free(t->assignee);
  cf_free(t->due_date);
  cf_free(t->follow_up_date);
  cf_free(t->form_key);
  cf_feel_value_release(&t->candidate_groups);
  cf_feel_value_release(&t->candidate_users);
}

static ssize_t find_task(const struct cf_engine_instance *in, uint64_t key) {
  for (size_t i = 0; i < in->ntasks; i++)
    if (in->tasks[i].key == key) return (ssize_t)i;
  return -1;
}

static void task_remove(struct cf_engine_instance *in, size_t t) {
  task_free(&in->tasks[t]);
  memmove(&in->tasks[t], &in->tasks[t + 1], (in->ntasks - t - 1) * sizeof *in->tasks);
  in->ntasks--;
}

static ssize_t find_incident(const struct cf_engine_instance *in, uint64_t key) {
  for (size_t i = 0; i < in->nincidents; i++)
    if (in->incidents[i].key == key) return (ssize_t)i;
  return -1;
}

static void incident_remove(struct cf_engine_instance *in, size_t k) {
  cf_free(in->incidents[k].message);
  memmove(&in->incidents[k], &in->incidents[k + 1],
          (in->nincidents - k - 1) * sizeof *in->incidents);
  in->nincidents--;
}

static int add_job(struct run *r, size_t i, const struct cf_bpmn_element *e, const char *type,
                   size_t typelen, int64_t nretries);

/* The common case: a static job type and static retries, no FEEL to evaluate. */
static int create_static_job(struct run *r, size_t i, const struct cf_bpmn_element *e) {
  int64_t nretries = 3;
  if (cf_bpmn_value_present(&e->job_retries)) {
    char *end;
    nretries = strtoll(e->job_retries.text, &end, 10);
    if (!*e->job_retries.text || *end || nretries < 0 || nretries > INT32_MAX) {
      char msg[300];
      snprintf(msg, sizeof msg, "job retries: '%.100s' is not a whole number", e->job_retries.text);
      return raise_incident(r, i, CF_ENGINE_INC_EXTRACT_VALUE, msg, 0, PH_ACTIVATE);
    }
  }
  return add_job(r, i, e, e->job_type.text, strlen(e->job_type.text), nretries);
}

static int create_job(struct run *r, size_t i) {
  struct cf_engine_instance *in = r->inst;
  const struct cf_bpmn_element *e = el(r, in->eis[i].element);
  uint64_t ek = in->eis[i].key;
  struct cf_feel_value type, retries;
  char why[300];
  int rc;
  if (!e->job_type.expr && e->job_type.text && *e->job_type.text &&
      (!cf_bpmn_value_present(&e->job_retries) || !e->job_retries.expr))
    return create_static_job(r, i, e);
  if ((rc = eval_value(r, &e->job_type, ek, &type, why, sizeof why))) return rc;
  if (type.type != CF_FEEL_STRING || type.u.string->len == 0) {
    rc = expression_incident(r, i, "job type", &e->job_type, "non-empty string", &type, why, PH_ACTIVATE);
    cf_feel_value_release(&type);
    return rc;
  }
  int64_t nretries = 3;
  if (cf_bpmn_value_present(&e->job_retries)) {
    if ((rc = eval_value(r, &e->job_retries, ek, &retries, why, sizeof why))) {
      cf_feel_value_release(&type);
      return rc;
    }
    bool ok = false;
    if (retries.type == CF_FEEL_NUMBER) {
      ok = cf_feel_number_to_int64(&retries, &nretries);
    } else if (retries.type == CF_FEEL_STRING) {
      char *end;
      nretries = strtoll(retries.u.string->data, &end, 10);
      ok = *retries.u.string->data && !*end;
    }
    if (!ok || nretries < 0 || nretries > INT32_MAX) {
      rc = expression_incident(r, i, "job retries", &e->job_retries, "whole number", &retries, why,
                               PH_ACTIVATE);
      cf_feel_value_release(&retries);
      cf_feel_value_release(&type);
      return rc;
    }
    cf_feel_value_release(&retries);
  }
  rc = add_job(r, i, e, type.u.string->data, type.u.string->len, nretries);
  cf_feel_value_release(&type);
  return rc;
}

static int add_job(struct run *r, size_t i, const struct cf_bpmn_element *e, const char *type,
                   size_t typelen, int64_t nretries) {
  struct cf_engine_instance *in = r->inst;
  int rc;
  if (in->njobs == in->capjobs) {
    size_t cap = in->capjobs ? in->capjobs * 2 : 1;
    struct cf_engine_job *j = cf_realloc(in->jobs, cap * sizeof *j);
    if (!j) return CF_ENOMEM;
    in->jobs = j;
    in->capjobs = cap;
  }
  struct cf_engine_job job = {0};
  job.key = new_key(r);
  job.element_instance_key = in->eis[i].key;
  job.element = in->eis[i].element;
  job.state = CF_ENGINE_JOB_ACTIVATABLE;
  job.retries = (int32_t)nretries;
  job.available_at_ms = now(r);
  job.type = cf_strndup(type, typelen);
  cf_feel_set_null(&job.headers);
  if (!job.type) return CF_ENOMEM;
  if (e->nheaders) {
    if ((rc = cf_feel_ctx_new(&job.headers, e->nheaders))) {
      job_free(&job);
      return rc;
    }
    for (uint32_t h = 0; h < e->nheaders; h++) {
      struct cf_feel_value hv;
      const char *val = e->headers[h].value ? e->headers[h].value : "";
      if ((rc = cf_feel_set_string(&hv, val, strlen(val))) == CF_ENOMEM ||
          (rc == CF_OK && (rc = cf_feel_ctx_put(&job.headers, e->headers[h].key,
                                                strlen(e->headers[h].key), &hv)))) {
        job_free(&job);
        return CF_ENOMEM;
      }
    }
  }
  in->jobs[in->njobs++] = job;
  in->eis[i].job_key = job.key;
  return emit(r, CF_ENGINE_EV_JOB_CREATED, job.key, (int32_t)job.element, job.type);
}

/* A user-task attribute: NULL (absent or null), or a new string. */
static int task_string(struct run *r, size_t i, const struct cf_bpmn_value *v, const char *what,
                       char **out, bool *incident) {
  *out = NULL;
  if (!cf_bpmn_value_present(v)) return CF_OK;
  struct cf_feel_value val;
  char why[300];
  int rc = eval_value(r, v, r->inst->eis[i].key, &val, why, sizeof why);
  if (rc) return rc;
  if (val.type == CF_FEEL_NULL) return CF_OK;
  struct cf_buf b;
  cf_buf_init(&b);
  if (val.type == CF_FEEL_STRING || val.type == CF_FEEL_DATETIME || val.type == CF_FEEL_DATE ||
      val.type == CF_FEEL_NUMBER) {
    cf_feel_to_string(&val, &b);
    *out = cf_buf_detach(&b);
    if (!*out) rc = CF_ENOMEM;
  } else {
    *incident = true;
    rc = expression_incident(r, i, what, v, "string", &val, why, PH_ACTIVATE);
  }
  cf_buf_release(&b);
  cf_feel_value_release(&val);
  return rc;
}

/* Candidate groups/users: a list of strings, or a comma-separated string. */
static int task_list(struct run *r, size_t i, const struct cf_bpmn_value *v, const char *what,
                     struct cf_feel_value *out, bool *incident) {
  cf_feel_set_null(out);
  if (!cf_bpmn_value_present(v)) return CF_OK;
  struct cf_feel_value val;
  char why[300];
  int rc = eval_value(r, v, r->inst->eis[i].key, &val, why, sizeof why);
  if (rc) return rc;
  if (val.type == CF_FEEL_STRING) {
    rc = cf_feel_list_new(out, 2);
    const char *s = val.u.string->data;
    while (rc == CF_OK && *s) {
      while (*s == ' ' || *s == ',') s++;
      const char *e = s;
      while (*e && *e != ',') e++;
      const char *t = e;
      while (t > s && t[-1] == ' ') t--;
      if (t > s) {
        struct cf_feel_value item;
        if ((rc = cf_feel_set_string(&item, s, (size_t)(t - s))) == CF_OK) rc = cf_feel_list_push(out, &item);
      }
      s = e;
    }
  } else if (val.type == CF_FEEL_LIST) {
    bool strings = true;
    for (uint32_t k = 0; k < val.u.list->len; k++)
      if (val.u.list->items[k].type != CF_FEEL_STRING) strings = false;
    if (strings) {
      cf_feel_value_copy(out, &val);
    } else {
      *incident = true;
      rc = expression_incident(r, i, what, v, "list of strings", &val, why, PH_ACTIVATE);
    }
  } else if (val.type != CF_FEEL_NULL) {
    *incident = true;
    rc = expression_incident(r, i, what, v, "list of strings", &val, why, PH_ACTIVATE);
  }
  cf_feel_value_release(&val);
  if (rc) cf_feel_value_release(out);
  return rc;
}

static int create_user_task(struct run *r, size_t i) {
  struct cf_engine_instance *in = r->inst;
  const struct cf_bpmn_element *e = el(r, in->eis[i].element);
  struct cf_engine_user_task t = {0};
  cf_feel_set_null(&t.candidate_groups);
  cf_feel_set_null(&t.candidate_users);
  t.priority = 50;
  bool incident = false;
  int rc;
  if ((rc = task_string(r, i, &e->assignee, "assignee", &t.assignee, &incident)) || incident) goto out;
  if ((rc = task_list(r, i, &e->candidate_groups, "candidate groups", &t.candidate_groups, &incident)) ||
      incident)
    goto out;
  if ((rc = task_list(r, i, &e->candidate_users, "candidate users", &t.candidate_users, &incident)) ||
      incident)
    goto out;
  if ((rc = task_string(r, i, &e->due_date, "due date", &t.due_date, &incident)) || incident) goto out;
  if ((rc = task_string(r, i, &e->follow_up_date, "follow-up date", &t.follow_up_date, &incident)) ||
      incident)
    goto out;
  if (cf_bpmn_value_present(&e->priority)) {
    struct cf_feel_value p;
    char why[300];
    if ((rc = eval_value(r, &e->priority, in->eis[i].key, &p, why, sizeof why))) goto out;
    int64_t pr = -1;
    if (p.type == CF_FEEL_NUMBER) cf_feel_number_to_int64(&p, &pr);
    else if (p.type == CF_FEEL_STRING) pr = strtoll(p.u.string->data, NULL, 10);
    if (pr < 0 || pr > 100) {
      incident = true;
      rc = expression_incident(r, i, "priority", &e->priority, "whole number from 0 to 100", &p, why,
                               PH_ACTIVATE);
      cf_feel_value_release(&p);
      goto out;
    }
    t.priority = (int32_t)pr;
    cf_feel_value_release(&p);
  }
  if (e->form_key && !(t.form_key = cf_strdup(e->form_key))) {
    rc = CF_ENOMEM;
    goto out;
  }
  if (in->ntasks == in->captasks) {
    size_t cap = in->captasks ? in->captasks * 2 : 1;
    struct cf_engine_user_task *n = cf_realloc(in->tasks, cap * sizeof *n);
    if (!n) {
      rc = CF_ENOMEM;
      goto out;
    }
    in->tasks = n;
    in->captasks = cap;
  }
  t.key = new_key(r);
  t.element_instance_key = in->eis[i].key;
  t.element = in->eis[i].element;
  t.created_ms = now(r);
  in->tasks[in->ntasks++] = t;
  in->eis[i].user_task_key = t.key;
  rc = emit(r, CF_ENGINE_EV_USER_TASK_CREATED, t.key, (int32_t)t.element, t.assignee);
  if (rc == CF_OK && t.assignee)
    rc = emit(r, CF_ENGINE_EV_USER_TASK_ASSIGNED, t.key, (int32_t)t.element, t.assignee);
  return rc;
out:
  task_free(&t);
  return rc;
}

static int complete_ei(struct run *r, size_t i, const struct cf_feel_value *doc);
static int terminate_ei(struct run *r, size_t i);
static int terminate_inside(struct run *r, uint64_t scope);
static int take_flows(struct run *r, size_t i, const uint32_t *flows, size_t n);
static int start_element(struct run *r, uint32_t element, uint64_t scope);

/* ------------------------------------------------------------- events: timers and subscriptions */

/*
 * An incident on an element instance, or on the process instance itself
 * (a subscription of the process scope whose definition failed).
 */
static int raise_incident_on(struct run *r, uint64_t owner, uint32_t element, uint8_t type,
                             const char *msg, uint8_t phase) {
  ssize_t i = cf__engine_find_ei(r->inst, owner);
  if (i >= 0) return raise_incident(r, (size_t)i, type, msg, 0, phase);
  struct cf_engine_instance *in = r->inst;
  if (in->nincidents == in->capincidents) {
    size_t cap = in->capincidents ? in->capincidents * 2 : 1;
    struct cf_engine_incident *n = cf_realloc(in->incidents, cap * sizeof *n);
    if (!n) return CF_ENOMEM;
    in->incidents = n;
    in->capincidents = cap;
  }
  char *m = cf_strdup(msg);
  if (!m) return CF_ENOMEM;
  uint64_t key = new_key(r);
  in->incidents[in->nincidents++] =
      (struct cf_engine_incident){key, in->key, element, type, 0, m, now(r)};
  return emit(r, CF_ENGINE_EV_INCIDENT_CREATED, key, (int32_t)element, msg);
}

/*
 * The text of a model value (a timer, a message name, a correlation key):
 * static text, or a FEEL result that is a string, a number or a temporal
 * value. *out is NULL (and an incident raised) when it is none of those.
 */
static int value_text(struct run *r, const struct cf_bpmn_value *v, uint64_t scope, uint64_t owner,
                      uint32_t element, const char *what, char **out) {
  *out = NULL;
  if (!v->expr) {
    if (v->text && (*out = cf_strdup(v->text))) return CF_OK;
    if (v->text) return CF_ENOMEM;
  }
  struct cf_feel_value val;
  char why[300];
  int rc = v->expr ? eval_value(r, v, scope, &val, why, sizeof why) : CF_OK;
  if (!v->expr) cf_feel_set_null(&val);
  if (rc) return rc;
  bool ok = val.type == CF_FEEL_STRING || val.type == CF_FEEL_NUMBER ||
            (val.type >= CF_FEEL_DATE && val.type <= CF_FEEL_YM_DURATION);
  if (ok && !r->failed) {
    struct cf_buf b;
    cf_buf_init(&b);
    cf_feel_to_string(&val, &b);
    *out = cf_buf_detach(&b);
    cf_feel_value_release(&val);
    return *out ? CF_OK : CF_ENOMEM;
  }
  char msg[700];
  snprintf(msg, sizeof msg, "%s of %s: expected '%.200s' to give a string, a number or a time, but it gave %s%s%s",
           what, el(r, element)->id, v->text ? v->text : "", cf_feel_type_name(val.type),
           why[0] ? ": " : "", why);
  cf_feel_value_release(&val);
  return raise_incident_on(r, owner, element, CF_ENGINE_INC_EXTRACT_VALUE, msg, PH_ACTIVATE);
}

static int open_timer(struct run *r, uint64_t owner, uint32_t element, uint64_t scope) {
  struct cf_engine_instance *in = r->inst;
  const struct cf_bpmn_element *e = el(r, element);
  char *text;
  int rc = value_text(r, &e->timer, scope, owner, element, "timer", &text);
  if (rc || !text) return rc;
  enum cf_schedule_kind kind = e->timer_kind == CF_BPMN_TIMER_DATE       ? CF_SCHEDULE_DATE
                               : e->timer_kind == CF_BPMN_TIMER_DURATION ? CF_SCHEDULE_DURATION
                                                                          : CF_SCHEDULE_CYCLE;
  struct cf_schedule sched;
  struct cf_error err;
  if (cf_schedule_parse(kind, text, strlen(text), now(r), &sched, &err)) {
    char msg[700];
    snprintf(msg, sizeof msg, "timer of %s: %s", e->id, err.msg);
    cf_free(text);
    return raise_incident_on(r, owner, element, CF_ENGINE_INC_EXTRACT_VALUE, msg, PH_ACTIVATE);
  }
  cf_free(text);
  if (in->ntimers == in->captimers) {
    size_t cap = in->captimers ? in->captimers * 2 : 1;
    struct cf_engine_timer *t = cf_realloc(in->timers, cap * sizeof *t);
    if (!t) return CF_ENOMEM;
    in->timers = t;
    struct cf_schedule *sc = cf_realloc(in->scheds, cap * sizeof *sc);
    if (!sc) return CF_ENOMEM;
    in->scheds = sc;
    in->captimers = cap;
  }
  uint64_t key = new_key(r);
  in->timers[in->ntimers] = (struct cf_engine_timer){key, owner, element, sched.due_ms, sched.remaining};
  in->scheds[in->ntimers] = sched;
  in->ntimers++;
  return emit(r, CF_ENGINE_EV_TIMER_CREATED, key, (int32_t)element, NULL);
}

static int open_sub(struct run *r, uint64_t owner, uint32_t element, uint64_t scope, uint8_t kind) {
  struct cf_engine_instance *in = r->inst;
  const struct cf_bpmn_element *e = el(r, element);
  char *name = NULL, *ck = NULL;
  int rc = value_text(r, kind == CF_ENGINE_SUB_MESSAGE ? &e->message_name : &e->signal_name, scope,
                      owner, element, kind == CF_ENGINE_SUB_MESSAGE ? "message name" : "signal name",
                      &name);
  if (rc || !name) return rc;
  if (kind == CF_ENGINE_SUB_MESSAGE) {
    if (!cf_bpmn_value_present(&e->correlation_key)) {
      cf_free(name);
      char msg[300];
      snprintf(msg, sizeof msg, "message catch %s has no correlation key (zeebe:subscription correlationKey)", e->id);
      return raise_incident_on(r, owner, element, CF_ENGINE_INC_EXTRACT_VALUE, msg, PH_ACTIVATE);
    }
    if ((rc = value_text(r, &e->correlation_key, scope, owner, element, "correlation key", &ck)) || !ck) {
      cf_free(name);
      return rc;
    }
  }
  if (in->nsubs == in->capsubs) {
    size_t cap = in->capsubs ? in->capsubs * 2 : 1;
    struct cf_engine_subscription *s = cf_realloc(in->subs, cap * sizeof *s);
    if (!s) {
      cf_free(name);
      cf_free(ck);
      return CF_ENOMEM;
    }
    in->subs = s;
    in->capsubs = cap;
  }
  uint64_t key = new_key(r);
  in->subs[in->nsubs++] = (struct cf_engine_subscription){key, owner, element, kind, name, ck};
  return emit(r, CF_ENGINE_EV_SUBSCRIPTION_OPENED, key, (int32_t)element, name);
}

/* Opens what a catching element (a catch event, a boundary, an event sub-process start) waits on. */
static int open_catch(struct run *r, uint64_t owner, uint32_t element, uint64_t scope) {
  /* A receive task waits for its message, though it has no event definition. */
  if (el(r, element)->type == CF_BPMN_RECEIVE_TASK)
    return open_sub(r, owner, element, scope, CF_ENGINE_SUB_MESSAGE);
  switch (el(r, element)->event) {
    case CF_BPMN_EVENT_TIMER: return open_timer(r, owner, element, scope);
    case CF_BPMN_EVENT_MESSAGE: return open_sub(r, owner, element, scope, CF_ENGINE_SUB_MESSAGE);
    case CF_BPMN_EVENT_SIGNAL: return open_sub(r, owner, element, scope, CF_ENGINE_SUB_SIGNAL);
    default: return CF_OK;
  }
}

/* The start event of an event sub-process, or -1. */
static int32_t esp_start(const struct run *r, const struct cf_bpmn_element *esp) {
  for (uint32_t c = 0; c < esp->nchildren; c++)
    if (el(r, esp->children[c])->type == CF_BPMN_START_EVENT) return (int32_t)esp->children[c];
  return -1;
}

/* Opens the triggers of the event sub-processes directly inside a scope. */
static int open_esp_triggers(struct run *r, uint64_t scope, const uint32_t *children, uint32_t n) {
  int rc = CF_OK;
  for (uint32_t c = 0; rc == CF_OK && c < n; c++) {
    const struct cf_bpmn_element *ch = el(r, children[c]);
    if (ch->type != CF_BPMN_EVENT_SUB_PROCESS) continue;
    int32_t s = esp_start(r, ch);
    if (s >= 0) rc = open_catch(r, scope, (uint32_t)s, scope);
  }
  return rc;
}

/*
 * Opens the timer, message and signal boundary events of activity instance
 * key. The inner instances of a multi-instance activity have none: its body
 * owns them.
 */
static int open_boundaries(struct run *r, uint64_t key, const struct cf_bpmn_element *e) {
  ssize_t i = cf__engine_find_ei(r->inst, key);
  if (i >= 0 && r->inst->priv[i].mi_index) return CF_OK;
  int rc = CF_OK;
  for (uint32_t b = 0; rc == CF_OK && b < e->nboundaries; b++) rc = open_catch(r, key, e->boundaries[b], key);
  return rc;
}

/* Closes every timer and subscription owned by owner. */
static int close_owned(struct run *r, uint64_t owner) {
  struct cf_engine_instance *in = r->inst;
  int rc = CF_OK;
  size_t o = 0;
  for (size_t t = 0; t < in->ntimers; t++) {
    if (in->timers[t].owner_key == owner) {
      if (rc == CF_OK)
        rc = emit(r, CF_ENGINE_EV_TIMER_CANCELED, in->timers[t].key, (int32_t)in->timers[t].element, NULL);
      continue;
    }
    in->timers[o] = in->timers[t];
    in->scheds[o++] = in->scheds[t];
  }
  in->ntimers = o;
  o = 0;
  for (size_t s = 0; s < in->nsubs; s++) {
    if (in->subs[s].owner_key == owner) {
      if (rc == CF_OK)
        rc = emit(r, CF_ENGINE_EV_SUBSCRIPTION_CLOSED, in->subs[s].key, (int32_t)in->subs[s].element,
                  in->subs[s].name);
      cf_free(in->subs[s].name);
      cf_free(in->subs[s].correlation_key);
      continue;
    }
    in->subs[o++] = in->subs[s];
  }
  in->nsubs = o;
  return rc;
}

/* Keeps a scope from completing while its tokens are moved around. */
static void hold(struct run *r, uint64_t scope, int delta) {
  struct scope_data *s = cf__engine_scope(r->inst, scope);
  if (s) s->tokens = (uint32_t)((int64_t)s->tokens + delta);
}

static int set_trigger(struct run *r, uint32_t element, const struct cf_feel_value *vars) {
  cf_feel_value_release(&r->trig_vars);
  r->trig_element = (int32_t)element;
  if (vars && vars->type == CF_FEEL_CONTEXT) cf_feel_value_copy(&r->trig_vars, vars);
  return CF_OK;
}

/*
 * A catching element fires: owner is what the trigger belongs to (the
 * waiting catch event itself, an event-based gateway, the activity of a
 * boundary event, or the scope of an event sub-process).
 */
static int trigger(struct run *r, uint64_t owner, uint32_t element, const struct cf_feel_value *vars) {
  struct cf_engine_instance *in = r->inst;
  const struct cf_bpmn_element *e = el(r, element);
  int rc;
  if (e->type == CF_BPMN_INTERMEDIATE_CATCH_EVENT || e->type == CF_BPMN_RECEIVE_TASK) {
    ssize_t i = cf__engine_find_ei(in, owner);
    if (i < 0) return CF_EINTERNAL;
    if (in->eis[i].element == element) {
      if ((rc = close_owned(r, owner))) return rc;
      i = cf__engine_find_ei(in, owner);
      return complete_ei(r, (size_t)i, vars);
    }
    /* An event-based gateway: the first event wins, the others close. */
    const struct cf_bpmn_element *g = el(r, in->eis[i].element);
    if ((rc = close_owned(r, owner))) return rc;
    for (uint32_t f = 0; f < g->noutgoing; f++) {
      if (r->m->flows[g->outgoing[f]].target != element) continue;
      set_trigger(r, element, vars);
      i = cf__engine_find_ei(in, owner);
      in->eis[i].state = CF_ENGINE_EI_COMPLETING;
      return take_flows(r, (size_t)i, &g->outgoing[f], 1);
    }
    return CF_EINTERNAL;
  }
  if (e->type == CF_BPMN_BOUNDARY_EVENT) {
    ssize_t a = cf__engine_find_ei(in, owner);
    if (a < 0) return CF_EINTERNAL;
    uint64_t scope = in->eis[a].scope_key;
    set_trigger(r, element, vars);
    if (!e->cancel_activity) return start_element(r, element, scope);
    hold(r, scope, +1);
    rc = terminate_ei(r, (size_t)a);
    if (rc == CF_OK) rc = start_element(r, element, scope);
    hold(r, scope, -1);
    return rc;
  }
  if (e->type == CF_BPMN_START_EVENT && e->parent >= 0) {
    uint32_t esp = (uint32_t)e->parent;
    set_trigger(r, element, vars);
    if (!e->interrupting) return start_element(r, esp, owner);
    hold(r, owner, +1);
    rc = close_owned(r, owner);
    if (rc == CF_OK) rc = terminate_inside(r, owner);
    if (rc == CF_OK) rc = start_element(r, esp, owner);
    hold(r, owner, -1);
    return rc;
  }
  return CF_EINTERNAL;
}

/* ------------------------------------------------------------- events: errors and escalations */

/* Does catching element c catch this code (exact match first: exact says which pass)? */
static bool catches(const struct cf_bpmn_element *c, uint8_t kind, const char *code, bool exact) {
  if (c->event != kind) return false;
  const struct cf_bpmn_value *v = kind == CF_BPMN_EVENT_ERROR ? &c->error_code : &c->escalation_code;
  bool catch_all = !cf_bpmn_value_present(v) || !*v->text;
  if (exact) return !catch_all && code && !strcmp(v->text, code);
  return catch_all;
}

static int32_t catching_boundary(const struct run *r, const struct cf_bpmn_element *a, uint8_t kind,
                                 const char *code) {
  for (int pass = 1; pass >= 0; pass--)
    for (uint32_t b = 0; b < a->nboundaries; b++)
      if (catches(el(r, a->boundaries[b]), kind, code, pass)) return (int32_t)a->boundaries[b];
  return -1;
}

static int32_t catching_esp(const struct run *r, const uint32_t *children, uint32_t n, uint8_t kind,
                            const char *code) {
  for (int pass = 1; pass >= 0; pass--)
    for (uint32_t c = 0; c < n; c++) {
      const struct cf_bpmn_element *ch = el(r, children[c]);
      if (ch->type != CF_BPMN_EVENT_SUB_PROCESS) continue;
      int32_t s = esp_start(r, ch);
      if (s >= 0 && catches(el(r, (uint32_t)s), kind, code, pass)) return s;
    }
  return -1;
}

/*
 * Looks for what catches an error or escalation thrown at element instance
 * from: its own boundary events, then, scope by scope outward, the event
 * sub-processes of the scope and the boundary events of the scope's activity.
 * Finding changes nothing. *owner and *catcher as trigger() takes them.
 */
static bool find_catcher(const struct run *r, uint64_t from, uint8_t kind, const char *code,
                         uint64_t *owner, uint32_t *catcher) {
  const struct cf_engine_instance *in = r->inst;
  ssize_t i = cf__engine_find_ei(in, from);
  if (i < 0) return false;
  /* Boundary events belong to a multi-instance body, not to its inner instances. */
  int32_t c = in->priv[i].mi_index ? -1 : catching_boundary(r, el(r, in->eis[i].element), kind, code);
  if (c >= 0) {
    *owner = from;
    *catcher = (uint32_t)c;
    return true;
  }
  for (uint64_t scope = in->eis[i].scope_key; scope;) {
    const uint32_t *children;
    uint32_t n;
    ssize_t s = scope == in->key ? -1 : cf__engine_find_ei(in, scope);
    if (scope == in->key) {
      children = r->m->processes[in->process].elements;
      n = r->m->processes[in->process].nelements;
    } else {
      if (s < 0) return false;
      children = el(r, in->eis[s].element)->children;
      n = el(r, in->eis[s].element)->nchildren;
    }
    c = s >= 0 && in->eis[s].body ? -1 : catching_esp(r, children, n, kind, code);
    if (c >= 0) {
      *owner = scope;
      *catcher = (uint32_t)c;
      return true;
    }
    if (scope == in->key) return false;
    c = in->priv[s].mi_index ? -1 : catching_boundary(r, el(r, in->eis[s].element), kind, code);
    if (c >= 0) {
      *owner = scope;
      *catcher = (uint32_t)c;
      return true;
    }
    scope = in->eis[s].scope_key;
  }
  return false;
}

/*
 * A BPMN error thrown at element instance i (a job's task, an error end
 * event). Caught: the catcher takes over. Not caught here: the parent
 * instance is asked (ERROR_TO_PARENT), or an incident is raised.
 */
static int throw_error(struct run *r, size_t i, const char *code, const char *message,
                       const struct cf_feel_value *vars, uint64_t job_key) {
  struct cf_engine_instance *in = r->inst;
  uint64_t owner;
  uint32_t catcher;
  if (find_catcher(r, in->eis[i].key, CF_BPMN_EVENT_ERROR, code, &owner, &catcher))
    return trigger(r, owner, catcher, vars);
  if (in->parent_instance) {
    int rc = emit(r, CF_ENGINE_EV_ERROR_TO_PARENT, in->eis[i].key, (int32_t)in->eis[i].element, code);
    /* The error's variables travel with it to the catch event, wherever it is. */
    if (rc == CF_OK && r->out && vars && vars->type == CF_FEEL_CONTEXT) {
      struct json_object *j;
      if ((rc = cf_feel_to_json(vars, &j))) return rc;
      char *text = cf_json_dump(j);
      json_object_put(j);
      if (!text) return CF_ENOMEM;
      r->out->events[r->out->count - 1].variables = text;
    }
    return rc;
  }
  char msg[600];
  snprintf(msg, sizeof msg,
           "Expected to throw an error event with the code '%.100s'%s%.300s%s, but it was not "
           "caught. No error events are available in the scope.",
           code ? code : "", message ? " with message '" : "", message ? message : "",
           message ? "'" : "");
  return raise_incident(r, i, CF_ENGINE_INC_UNHANDLED_ERROR, msg, job_key, PH_NONE);
}

/* An escalation thrown at element instance i: caught or not, the thrower goes on (unless interrupted). */
static int throw_escalation(struct run *r, size_t i, const char *code, bool *interrupted) {
  uint64_t owner;
  uint32_t catcher;
  *interrupted = false;
  if (!find_catcher(r, r->inst->eis[i].key, CF_BPMN_EVENT_ESCALATION, code, &owner, &catcher)) {
    /* A called process's escalation may be caught around its call activity. */
    if (r->inst->parent_instance)
      return emit(r, CF_ENGINE_EV_ESCALATION_TO_PARENT, r->inst->eis[i].key,
                  (int32_t)r->inst->eis[i].element, code);
    return CF_OK;
  }
  const struct cf_bpmn_element *c = el(r, catcher);
  *interrupted = c->type == CF_BPMN_BOUNDARY_EVENT ? c->cancel_activity : c->interrupting;
  return trigger(r, owner, catcher, NULL);
}

/* ------------------------------------------------------------- lifecycle */


/* Ends every element instance and queued token inside scope (not the scope itself). */
static int terminate_inside(struct run *r, uint64_t scope) {
  int rc = CF_OK;
  /* Newest first, so children end before their parents are looked at. */
  for (size_t k = r->inst->neis; k-- > 0 && rc == CF_OK;) {
    if (k < r->inst->neis && r->inst->eis[k].scope_key == scope) rc = terminate_ei(r, k);
  }
  for (size_t k = r->head; k < r->tail; k++) {
    if (r->q[k].kind != W_DEAD && r->q[k].scope == scope) {
      r->q[k].kind = W_DEAD;
      struct scope_data *s = cf__engine_scope(r->inst, scope);
      if (s && s->tokens) s->tokens--;
    }
  }
  struct scope_data *s = cf__engine_scope(r->inst, scope);
  if (s) {
    for (uint32_t a = 0; a < s->narrivals; a++) s->tokens -= s->arrivals[a].count;
    s->narrivals = 0;
  }
  return rc;
}

static int terminate_ei(struct run *r, size_t i) {
  struct cf_engine_instance *in = r->inst;
  uint64_t key = in->eis[i].key;
  int32_t element = (int32_t)in->eis[i].element;
  int rc = terminate_inside(r, key);
  if (rc) return rc;
  ssize_t idx = cf__engine_find_ei(in, key);
  if (idx < 0) return CF_EINTERNAL;
  i = (size_t)idx;
  in->eis[i].state = CF_ENGINE_EI_TERMINATING;
  if ((rc = close_owned(r, key))) return rc;
  if (el(r, (uint32_t)element)->type == CF_BPMN_CALL_ACTIVITY &&
      (rc = emit(r, CF_ENGINE_EV_CALL_CANCELED, key, element, NULL)))
    return rc;
  if (in->eis[i].job_key) {
    ssize_t j = find_job(in, in->eis[i].job_key);
    if (j >= 0) {
      uint64_t jk = in->jobs[j].key;
      job_remove(in, (size_t)j);
      if ((rc = emit(r, CF_ENGINE_EV_JOB_CANCELED, jk, element, NULL))) return rc;
    }
  }
  if (in->eis[i].user_task_key) {
    ssize_t t = find_task(in, in->eis[i].user_task_key);
    if (t >= 0) {
      uint64_t tk = in->tasks[t].key;
      task_remove(in, (size_t)t);
      if ((rc = emit(r, CF_ENGINE_EV_USER_TASK_CANCELED, tk, element, NULL))) return rc;
    }
  }
  for (size_t k = in->nincidents; k-- > 0;) {
    if (in->incidents[k].element_instance_key == key) {
      uint64_t ik = in->incidents[k].key;
      incident_remove(in, k);
      if ((rc = emit(r, CF_ENGINE_EV_INCIDENT_RESOLVED, ik, element, NULL))) return rc;
    }
  }
  bool body = in->eis[i].body;
  ei_remove(r, i);
  return body ? emit_body(r, CF_ENGINE_EV_ELEMENT_TERMINATED, key, element)
              : emit(r, CF_ENGINE_EV_ELEMENT_TERMINATED, key, element, NULL);
}

/* The scope has no tokens left: it completes. */
static int scope_done(struct run *r, uint64_t scope) {
  struct cf_engine_instance *in = r->inst;
  if (scope == in->key) {
    if (in->state != CF_ENGINE_ACTIVE) return CF_OK;
    int rc = close_owned(r, in->key);
    if (rc) return rc;
    in->state = CF_ENGINE_COMPLETED;
    return emit(r, CF_ENGINE_EV_INSTANCE_COMPLETED, in->key, -1, NULL);
  }
  ssize_t i = cf__engine_find_ei(in, scope);
  if (i < 0 || in->eis[i].state != CF_ENGINE_EI_ACTIVATED) return CF_OK;
  return complete_ei(r, (size_t)i, NULL);
}

static int check_scope(struct run *r, uint64_t scope) {
  struct scope_data *s = cf__engine_scope(r->inst, scope);
  if (s && s->tokens == 0) return scope_done(r, scope);
  return CF_OK;
}

static int record_compensation(struct run *r, size_t i);
static int compensation_next(struct run *r, uint64_t thrower);
static int activate_ei(struct run *r, size_t i);

static int take_flows(struct run *r, size_t i, const uint32_t *flows, size_t n) {
  struct cf_engine_instance *in = r->inst;
  uint64_t key = in->eis[i].key, scope = in->eis[i].scope_key;
  int32_t element = (int32_t)in->eis[i].element;
  uint64_t thrower = in->priv[i].comp_thrower;
  int rc;
  if ((rc = record_compensation(r, i))) return rc;
  i = (size_t)cf__engine_find_ei(in, key);
  if ((rc = close_owned(r, key))) return rc;
  i = (size_t)cf__engine_find_ei(in, key);
  for (size_t f = 0; f < n; f++)
    if ((rc = push(r, W_FLOW, flows[f], scope))) return rc;
  in->eis[i].state = CF_ENGINE_EI_COMPLETED;
  if (thrower) hold(r, scope, +1); /* the thrower goes on before the scope may end */
  ei_remove(r, i);
  if ((rc = emit(r, CF_ENGINE_EV_ELEMENT_COMPLETED, key, element, NULL))) return rc;
  for (size_t f = 0; f < n; f++)
    if ((rc = emit(r, CF_ENGINE_EV_FLOW_TAKEN, key, (int32_t)flows[f], NULL))) return rc;
  if (thrower) {
    rc = compensation_next(r, thrower);
    hold(r, scope, -1);
    if (rc) return rc;
    return check_scope(r, scope);
  }
  return n ? CF_OK : check_scope(r, scope);
}

/* Evaluates a flow's condition: 1 true, 0 false, -1 an incident was raised. */
static int condition(struct run *r, size_t i, uint32_t flow, int *res) {
  const struct cf_bpmn_flow *f = &r->m->flows[flow];
  if (!cf_bpmn_value_present(&f->condition)) {
    *res = 1;
    return CF_OK;
  }
  struct cf_feel_value v;
  char why[300];
  int rc = eval_value(r, &f->condition, r->inst->eis[i].scope_key, &v, why, sizeof why);
  if (rc) return rc;
  if (v.type == CF_FEEL_BOOLEAN) {
    *res = v.u.boolean;
  } else {
    char what[200];
    snprintf(what, sizeof what, "condition of sequence flow '%s'", f->id);
    *res = -1;
    rc = expression_incident(r, i, what, &f->condition, "boolean", &v, why, PH_COMPLETE);
  }
  cf_feel_value_release(&v);
  return rc;
}

static int leave_gateway(struct run *r, size_t i) {
  const struct cf_bpmn_element *e = el(r, r->inst->eis[i].element);
  uint32_t chosen_small[8];
  uint32_t *chosen = e->noutgoing <= 8 ? chosen_small : cf_malloc(e->noutgoing * sizeof *chosen);
  if (!chosen) return CF_ENOMEM;
  size_t n = 0;
  int rc = CF_OK;
  bool exclusive = e->type == CF_BPMN_EXCLUSIVE_GATEWAY;
  if (e->noutgoing == 1 && e->default_flow < 0 &&
      !cf_bpmn_value_present(&r->m->flows[e->outgoing[0]].condition)) {
    chosen[n++] = e->outgoing[0];
  } else {
    for (uint32_t f = 0; f < e->noutgoing; f++) {
      uint32_t flow = e->outgoing[f];
      if ((int32_t)flow == e->default_flow) continue;
      int res;
      if ((rc = condition(r, i, flow, &res))) goto out;
      if (res < 0) goto out; /* incident raised */
      if (res) {
        chosen[n++] = flow;
        if (exclusive) break;
      }
    }
    if (n == 0 && e->default_flow >= 0) chosen[n++] = (uint32_t)e->default_flow;
    if (n == 0) {
      rc = raise_incident(r, i, CF_ENGINE_INC_CONDITION,
                          "Expected at least one condition to evaluate to true, or to have a default flow",
                          0, PH_COMPLETE);
      goto out;
    }
  }
  rc = take_flows(r, i, chosen, n);
out:
  if (chosen != chosen_small) cf_free(chosen);
  return rc;
}

/*
 * Completes element instance i: applies the completion variables (doc: job
 * or task variables, or null), the output mappings, and leaves through the
 * outgoing flows. An incident stops it in COMPLETING, to be retried.
 */
static int complete_body(struct run *r, size_t i);
static int inner_done(struct run *r, size_t i);

static int complete_ei(struct run *r, size_t i, const struct cf_feel_value *doc) {
  struct cf_engine_instance *in = r->inst;
  const struct cf_bpmn_element *e = el(r, in->eis[i].element);
  uint64_t key = in->eis[i].key;
  int rc;
  if (in->eis[i].body) return complete_body(r, i);
  in->eis[i].state = CF_ENGINE_EI_COMPLETING;
  if (doc && doc->type == CF_FEEL_CONTEXT && doc->u.ctx->len) {
    if (e->noutputs) {
      /* With output mappings the variables stay local; the mappings decide what leaves. */
      for (uint32_t k = 0; k < doc->u.ctx->len; k++) {
        const struct cf_feel_ctx_entry *en = &doc->u.ctx->entries[k];
        if ((rc = cf__engine_set_local(in, key, en->key->data, en->key->len, &en->value, r->out, now(r))))
          return rc;
      }
    } else if ((rc = cf__engine_propagate(in, key, doc, r->out, now(r)))) {
      return rc;
    }
  }
  if (e->noutputs) {
    struct cf_feel_value outdoc;
    bool incident;
    if ((rc = eval_mappings(r, i, e->outputs, e->noutputs, key, PH_COMPLETE, &outdoc, &incident)))
      return rc;
    if (incident) return CF_OK;
    ssize_t idx = cf__engine_find_ei(in, key);
    /* From the parent scope; an inner instance of a multi-instance activity is its own variable
       scope (Zeebe), so its results meet its local output element first. */
    uint64_t from = in->priv[idx].mi_index ? key : in->eis[idx].scope_key;
    rc = cf__engine_propagate(in, from, &outdoc, r->out, now(r));
    cf_feel_value_release(&outdoc);
    if (rc) return rc;
  }
  ssize_t idx = cf__engine_find_ei(in, key);
  if (idx < 0) return CF_EINTERNAL;
  i = (size_t)idx;
  if (in->priv[i].mi_index) return inner_done(r, i);
  if (e->type == CF_BPMN_EXCLUSIVE_GATEWAY || e->type == CF_BPMN_INCLUSIVE_GATEWAY)
    return leave_gateway(r, i);
  return take_flows(r, i, e->outgoing, e->noutgoing);
}

/* ------------------------------------------------------------- compensation */

static int add_comp(struct run *r, struct comp_record rec) {
  struct cf_engine_instance *in = r->inst;
  if (in->ncomps == in->capcomps) {
    size_t cap = in->capcomps ? in->capcomps * 2 : 2;
    struct comp_record *c = cf_realloc(in->comps, cap * sizeof *c);
    if (!c) return CF_ENOMEM;
    in->comps = c;
    in->capcomps = cap;
  }
  in->comps[in->ncomps++] = rec;
  return CF_OK;
}

/*
 * Element instance i completes: if its activity can be compensated, or it
 * is a sub-process holding activities that can, remember it.
 */
static int32_t compensation_esp(const struct run *r, const struct cf_bpmn_element *e);

static int record_compensation(struct run *r, size_t i) {
  struct cf_engine_instance *in = r->inst;
  const struct cf_bpmn_element *e = el(r, in->eis[i].element);
  struct comp_record rec = {in->eis[i].key, in->eis[i].scope_key, in->eis[i].element, -1};
  if (!in->eis[i].body) {
    /* An activity (or each inner instance of a multi-instance one) with a compensation handler. */
    for (uint32_t b = 0; b < e->nboundaries; b++) {
      const struct cf_bpmn_element *be = el(r, e->boundaries[b]);
      if (be->event == CF_BPMN_EVENT_COMPENSATION && be->compensation_handler >= 0) {
        rec.handler = be->compensation_handler;
        return add_comp(r, rec);
      }
    }
  }
  /* A body or a sub-process: remembered when it holds something to compensate. */
  if (!is_container(e) && !in->eis[i].body) return CF_OK;
  if (!in->eis[i].body && compensation_esp(r, e) >= 0) return add_comp(r, rec);
  for (size_t k = 0; k < in->ncomps; k++)
    if (in->comps[k].scope_key == rec.ei_key) return add_comp(r, rec);
  return CF_OK;
}

/* A sub-process's compensation event sub-process (its start event compensates), or -1. */
static int32_t compensation_esp(const struct run *r, const struct cf_bpmn_element *e) {
  for (uint32_t c = 0; c < e->nchildren; c++) {
    const struct cf_bpmn_element *ch = el(r, e->children[c]);
    if (ch->type != CF_BPMN_EVENT_SUB_PROCESS) continue;
    int32_t st = esp_start(r, ch);
    if (st >= 0 && el(r, (uint32_t)st)->event == CF_BPMN_EVENT_COMPENSATION) return (int32_t)e->children[c];
  }
  return -1;
}

static int queue_step(struct comp_step **q, uint32_t *n, uint32_t element, uint64_t scope) {
  struct comp_step *nq = cf_realloc(*q, (*n + 1) * sizeof **q);
  if (!nq) return CF_ENOMEM;
  *q = nq;
  (*q)[(*n)++] = (struct comp_step){element, scope};
  return CF_OK;
}

/*
 * Collects, newest first, the handlers to run for the records of scope
 * (activity -1: all). A completed sub-process with a compensation event
 * sub-process runs that; otherwise its own records are compensated.
 */
static int collect_handlers(struct run *r, uint64_t scope, int32_t activity, struct comp_step **q,
                            uint32_t *n, int depth) {
  struct cf_engine_instance *in = r->inst;
  for (size_t k = in->ncomps; k-- > 0;) {
    if (k >= in->ncomps) continue;
    struct comp_record rec = in->comps[k];
    if (rec.scope_key != scope || (activity >= 0 && rec.activity != (uint32_t)activity)) continue;
    /* Compensation happens once: the record goes. */
    memmove(&in->comps[k], &in->comps[k + 1], (in->ncomps - k - 1) * sizeof *in->comps);
    in->ncomps--;
    int rc = CF_OK;
    int32_t esp = rec.handler < 0 ? compensation_esp(r, el(r, rec.activity)) : -1;
    if (rec.handler >= 0) {
      rc = queue_step(q, n, (uint32_t)rec.handler, 0);
    } else if (esp >= 0) {
      /* Its event sub-process compensates it, and may throw for its inner records. */
      rc = queue_step(q, n, (uint32_t)esp, rec.ei_key);
    } else if (depth < 64) {
      rc = collect_handlers(r, rec.ei_key, -1, q, n, depth + 1);
      k = in->ncomps; /* records moved: look again from the end */
    }
    if (rc) return rc;
  }
  return CF_OK;
}

/*
 * Compensation throw event thrower: when its handlers have not started, all
 * start now, newest first (as Camunda 8 runs them: at once, in reverse order
 * of completion); once the last one has completed, the thrower goes on.
 * comp_pos counts the handlers started, comp_done those completed.
 */
static int compensation_next(struct run *r, uint64_t thrower) {
  struct cf_engine_instance *in = r->inst;
  ssize_t t = cf__engine_find_ei(in, thrower);
  if (t < 0) return CF_OK; /* terminated meanwhile */
  if (in->priv[t].comp_pos == 0 && in->priv[t].ncomp > 0) {
    uint32_t n = in->priv[t].ncomp;
    for (uint32_t k = 0; k < n; k++) {
      t = cf__engine_find_ei(in, thrower);
      if (t < 0) return CF_OK;
      struct comp_step step = in->priv[t].comp_queue[k];
      in->priv[t].comp_pos = k + 1;
      size_t h;
      int rc = ei_add(r, step.element, in->eis[t].scope_key, &h);
      if (rc) return rc;
      in->priv[h].comp_thrower = thrower;
      in->priv[h].comp_scope = step.scope;
      if ((rc = activate_ei(r, h))) return rc;
    }
    return CF_OK;
  }
  if (in->priv[t].comp_pos > 0) {
    /* A handler completed (take_flows calls this then). */
    if (++in->priv[t].comp_done < in->priv[t].ncomp) return CF_OK;
  }
  struct ei_priv *p = &in->priv[t];
  cf_free(p->comp_queue);
  p->comp_queue = NULL;
  p->ncomp = p->comp_pos = p->comp_done = 0;
  return complete_ei(r, (size_t)t, NULL);
}

/* A compensation throw event: the handlers of the scope's completed activities, newest first. */
static int throw_compensation(struct run *r, size_t i) {
  struct cf_engine_instance *in = r->inst;
  const struct cf_bpmn_element *e = el(r, in->eis[i].element);
  uint64_t key = in->eis[i].key;
  struct comp_step *q = NULL;
  uint32_t n = 0;
  /* Inside a compensation event sub-process, the scope to compensate is the sub-process it stands for. */
  uint64_t scope = in->eis[i].scope_key;
  for (uint64_t k = scope; k && k != in->key;) {
    ssize_t s = cf__engine_find_ei(in, k);
    if (s < 0) break;
    if (in->priv[s].comp_scope) {
      scope = in->priv[s].comp_scope;
      break;
    }
    k = in->eis[s].scope_key;
  }
  int rc = collect_handlers(r, scope, e->compensation_activity, &q, &n, 0);
  if (rc) {
    cf_free(q);
    return rc;
  }
  i = (size_t)cf__engine_find_ei(in, key);
  cf_free(in->priv[i].comp_queue);
  in->priv[i].comp_queue = q;
  in->priv[i].ncomp = n;
  in->priv[i].comp_pos = 0;
  return compensation_next(r, key);
}

/* ------------------------------------------------------------- multi-instance */

static int activate_ei(struct run *r, size_t i);

/* The variables the body keeps for its inner instances' expressions. */
static int body_counts(struct run *r, size_t b) {
  struct cf_engine_instance *in = r->inst;
  uint64_t key = in->eis[b].key;
  struct ei_priv *p = &in->priv[b];
  uint32_t active = 0;
  for (size_t k = 0; k < in->neis; k++)
    if (in->eis[k].scope_key == key) active++;
  struct cf_feel_value v;
  int rc;
  cf_feel_set_int(&v, p->mi_count);
  if ((rc = cf__engine_set_local(in, key, "numberOfInstances", 17, &v, NULL, now(r)))) return rc;
  cf_feel_set_int(&v, p->mi_done);
  if ((rc = cf__engine_set_local(in, key, "numberOfCompletedInstances", 26, &v, NULL, now(r)))) return rc;
  cf_feel_set_int(&v, active);
  return cf__engine_set_local(in, key, "numberOfActiveInstances", 23, &v, NULL, now(r));
}

/* The variable an output element names (`=score` or `=score.x`: "score"), or NULL. */
static const char *output_variable(const struct cf_bpmn_multi_instance *mi, size_t *len) {
  const char *t = mi->output_element.text;
  if (!mi->output_element.expr || !t) return NULL;
  if (*t == '=') t++;
  while (*t == ' ') t++;
  const char *start = t;
  if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || *t == '_')) return NULL;
  while ((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') || *t == '_') t++;
  *len = (size_t)(t - start);
  /* The rest may only be a path of names. */
  for (const char *q = t; *q; q++) {
    bool ok = *q == '.' || *q == '_' || *q == ' ' || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
              (*q >= '0' && *q <= '9');
    if (!ok) return NULL;
  }
  static const char *const reserved[] = {"null", "true", "false", NULL};
  for (size_t i = 0; reserved[i]; i++)
    if (strlen(reserved[i]) == *len && !memcmp(reserved[i], start, *len)) return NULL;
  return start;
}

/* Starts inner instance number k (0-based) of body b. */
static int start_inner(struct run *r, uint64_t body_key, uint32_t k) {
  struct cf_engine_instance *in = r->inst;
  ssize_t b = cf__engine_find_ei(in, body_key);
  if (b < 0) return CF_EINTERNAL;
  uint32_t element = in->eis[b].element;
  const struct cf_bpmn_element *e = el(r, element);
  struct cf_feel_value item;
  cf_feel_set_null(&item);
  if (in->priv[b].mi_items.type == CF_FEEL_LIST && k < in->priv[b].mi_items.u.list->len)
    cf_feel_value_copy(&item, &in->priv[b].mi_items.u.list->items[k]);
  in->priv[b].mi_next = k + 1;
  size_t i;
  int rc = ei_add(r, element, body_key, &i);
  if (rc) {
    cf_feel_value_release(&item);
    return rc;
  }
  in->priv[i].mi_index = k + 1;
  uint64_t key = in->eis[i].key;
  if (e->multi->input_element)
    rc = cf__engine_set_local(in, key, e->multi->input_element, strlen(e->multi->input_element), &item,
                              r->out, now(r));
  cf_feel_value_release(&item);
  if (rc) return rc;
  struct cf_feel_value counter;
  cf_feel_set_int(&counter, k + 1);
  if ((rc = cf__engine_set_local(in, key, "loopCounter", 11, &counter, r->out, now(r)))) return rc;
  /*
   * An output element that names a variable (`=score`, `=result.total`) makes
   * that variable local to the inner instance, initialized to null, as Zeebe
   * does: what a job or task of this instance sets lands there, not in a
   * shared scope where parallel instances would overwrite each other.
   */
  size_t vlen = 0;
  const char *vname = output_variable(e->multi, &vlen);
  if (vname && !(e->multi->input_element && strlen(e->multi->input_element) == vlen &&
                 !memcmp(e->multi->input_element, vname, vlen))) {
    struct cf_feel_value nul;
    cf_feel_set_null(&nul);
    if ((rc = cf__engine_set_local(in, key, vname, vlen, &nul, r->out, now(r)))) return rc;
  }
  if ((rc = body_counts(r, (size_t)cf__engine_find_ei(in, body_key)))) return rc;
  return activate_ei(r, (size_t)cf__engine_find_ei(in, key));
}

/* The body of a multi-instance activity: evaluates the collection, starts the inner instances. */
static int activate_body(struct run *r, size_t i) {
  struct cf_engine_instance *in = r->inst;
  const struct cf_bpmn_element *e = el(r, in->eis[i].element);
  const struct cf_bpmn_multi_instance *mi = e->multi;
  uint64_t key = in->eis[i].key;
  int rc;
  in->eis[i].state = CF_ENGINE_EI_ACTIVATING;
  cf_feel_value_release(&in->priv[i].mi_items);
  uint32_t count = 0;
  if (cf_bpmn_value_present(&mi->input_collection)) {
    struct cf_feel_value v;
    char why[300];
    if ((rc = eval_value(r, &mi->input_collection, in->eis[i].scope_key, &v, why, sizeof why))) return rc;
    if (v.type != CF_FEEL_LIST) {
      rc = expression_incident(r, i, "multi-instance input collection", &mi->input_collection, "list", &v,
                               why, PH_ACTIVATE);
      cf_feel_value_release(&v);
      return rc;
    }
    count = v.u.list->len;
    cf_feel_value_move(&in->priv[i].mi_items, &v);
  } else if (cf_bpmn_value_present(&mi->cardinality)) {
    struct cf_feel_value v;
    char why[300];
    if ((rc = eval_value(r, &mi->cardinality, in->eis[i].scope_key, &v, why, sizeof why))) return rc;
    int64_t n = -1;
    if (v.type == CF_FEEL_NUMBER) cf_feel_number_to_int64(&v, &n);
    else if (v.type == CF_FEEL_STRING) n = strtoll(v.u.string->data, NULL, 10);
    if (n < 0 || n > 100000) {
      rc = expression_incident(r, i, "multi-instance loop cardinality", &mi->cardinality,
                               "whole number from 0 to 100000", &v, why, PH_ACTIVATE);
      cf_feel_value_release(&v);
      return rc;
    }
    cf_feel_value_release(&v);
    count = (uint32_t)n;
  }
  in->priv[i].mi_count = count;
  in->priv[i].mi_next = 0;
  in->priv[i].mi_done = 0;
  if (mi->output_collection) {
    /* The output collection holds one slot per inner instance, filled as each completes. */
    struct cf_feel_value list;
    if ((rc = cf_feel_list_new(&list, count))) return rc;
    for (uint32_t k = 0; rc == CF_OK && k < count; k++) {
      struct cf_feel_value nul;
      cf_feel_set_null(&nul);
      rc = cf_feel_list_push(&list, &nul);
    }
    if (rc == CF_OK)
      rc = cf__engine_set_local(in, key, mi->output_collection, strlen(mi->output_collection), &list,
                                r->out, now(r));
    cf_feel_value_release(&list);
    if (rc) return rc;
  }
  i = (size_t)cf__engine_find_ei(in, key);
  in->eis[i].state = CF_ENGINE_EI_ACTIVATED;
  if ((rc = emit_body(r, CF_ENGINE_EV_ELEMENT_ACTIVATED, key, (int32_t)in->eis[i].element))) return rc;
  if ((rc = open_boundaries(r, key, e))) return rc;
  if ((rc = body_counts(r, (size_t)cf__engine_find_ei(in, key)))) return rc;
  if (count == 0) return complete_body(r, (size_t)cf__engine_find_ei(in, key));
  uint32_t first = mi->sequential ? 1 : count;
  for (uint32_t k = 0; k < first; k++) {
    if ((rc = start_inner(r, key, k))) return rc;
    if (cf__engine_find_ei(in, key) < 0) return CF_OK; /* ended meanwhile */
  }
  return CF_OK;
}

/* An inner instance completed: collect its output, check the completion condition, go on. */
static int inner_done(struct run *r, size_t i) {
  struct cf_engine_instance *in = r->inst;
  uint64_t key = in->eis[i].key, body_key = in->eis[i].scope_key;
  uint32_t element = in->eis[i].element, index = in->priv[i].mi_index;
  const struct cf_bpmn_element *e = el(r, element);
  const struct cf_bpmn_multi_instance *mi = e->multi;
  int rc;
  char why[300];
  if (mi->output_collection && cf_bpmn_value_present(&mi->output_element)) {
    struct cf_feel_value v;
    if ((rc = eval_value(r, &mi->output_element, key, &v, why, sizeof why))) return rc;
    const struct cf_feel_value *cur = cf_engine_variables(in, body_key);
    cur = cur ? cf_feel_ctx_get(cur->u.ctx, mi->output_collection, strlen(mi->output_collection)) : NULL;
    struct cf_feel_value list;
    rc = cf_feel_list_new(&list, cur && cur->type == CF_FEEL_LIST ? cur->u.list->len : 0);
    for (uint32_t k = 0; rc == CF_OK && cur && cur->type == CF_FEEL_LIST && k < cur->u.list->len; k++) {
      struct cf_feel_value item;
      if (k + 1 == index) cf__engine_variable_value(&v, &item);
      else cf_feel_value_copy(&item, &cur->u.list->items[k]);
      rc = cf_feel_list_push(&list, &item);
    }
    cf_feel_value_release(&v);
    if (rc == CF_OK)
      rc = cf__engine_set_local(in, body_key, mi->output_collection, strlen(mi->output_collection), &list,
                                r->out, now(r));
    cf_feel_value_release(&list);
    if (rc) return rc;
  }
  ssize_t b = cf__engine_find_ei(in, body_key);
  if (b < 0) return CF_EINTERNAL;
  in->priv[b].mi_done++;
  if ((rc = body_counts(r, (size_t)b))) return rc;
  bool done = false;
  if (cf_bpmn_value_present(&mi->completion_condition)) {
    struct cf_feel_value v;
    if ((rc = eval_value(r, &mi->completion_condition, key, &v, why, sizeof why))) return rc;
    if (v.type != CF_FEEL_BOOLEAN) {
      rc = expression_incident(r, (size_t)cf__engine_find_ei(in, key), "completion condition",
                               &mi->completion_condition, "boolean", &v, why, PH_COMPLETE);
      cf_feel_value_release(&v);
      return rc;
    }
    done = v.u.boolean;
  }
  /* The inner instance ends in its body. */
  i = (size_t)cf__engine_find_ei(in, key);
  if ((rc = record_compensation(r, i))) return rc;
  if ((rc = close_owned(r, key))) return rc;
  i = (size_t)cf__engine_find_ei(in, key);
  in->eis[i].state = CF_ENGINE_EI_COMPLETED;
  hold(r, body_key, +1);
  ei_remove(r, i);
  rc = emit(r, CF_ENGINE_EV_ELEMENT_COMPLETED, key, (int32_t)element, NULL);
  if (rc == CF_OK && done) rc = terminate_inside(r, body_key);
  b = cf__engine_find_ei(in, body_key);
  if (rc == CF_OK && !done && mi->sequential && b >= 0 && in->priv[b].mi_next < in->priv[b].mi_count)
    rc = start_inner(r, body_key, in->priv[b].mi_next);
  hold(r, body_key, -1);
  if (rc) return rc;
  return check_scope(r, body_key);
}

/* The body completes: its output collection goes to the parent scope, then the outgoing flows. */
static int complete_body(struct run *r, size_t i) {
  struct cf_engine_instance *in = r->inst;
  const struct cf_bpmn_element *e = el(r, in->eis[i].element);
  uint64_t key = in->eis[i].key;
  int rc;
  in->eis[i].state = CF_ENGINE_EI_COMPLETING;
  if (e->multi->output_collection) {
    const struct cf_feel_value *vars = cf_engine_variables(in, key);
    const struct cf_feel_value *col =
        vars ? cf_feel_ctx_get(vars->u.ctx, e->multi->output_collection, strlen(e->multi->output_collection))
             : NULL;
    if (col) {
      struct cf_feel_value doc, c;
      if ((rc = cf_feel_ctx_new(&doc, 1))) return rc;
      cf_feel_value_copy(&c, col);
      if ((rc = cf_feel_ctx_put(&doc, e->multi->output_collection, strlen(e->multi->output_collection), &c))) {
        cf_feel_value_release(&doc);
        return rc;
      }
      rc = cf__engine_propagate(in, in->eis[i].scope_key, &doc, r->out, now(r));
      cf_feel_value_release(&doc);
      if (rc) return rc;
    }
  }
  i = (size_t)cf__engine_find_ei(in, key);
  uint64_t scope = in->eis[i].scope_key;
  if ((rc = record_compensation(r, i))) return rc;
  if ((rc = close_owned(r, key))) return rc;
  i = (size_t)cf__engine_find_ei(in, key);
  for (uint32_t f = 0; f < e->noutgoing; f++)
    if ((rc = push(r, W_FLOW, e->outgoing[f], scope))) return rc;
  in->eis[i].state = CF_ENGINE_EI_COMPLETED;
  ei_remove(r, i);
  if ((rc = emit_body(r, CF_ENGINE_EV_ELEMENT_COMPLETED, key, (int32_t)(e - r->m->elements)))) return rc;
  for (uint32_t f = 0; f < e->noutgoing; f++)
    if ((rc = emit(r, CF_ENGINE_EV_FLOW_TAKEN, key, (int32_t)e->outgoing[f], NULL))) return rc;
  return e->noutgoing ? CF_OK : check_scope(r, scope);
}

/* Activation work of element instance i (its input mappings done). */
static int activate_ei(struct run *r, size_t i) {
  struct cf_engine_instance *in = r->inst;
  const struct cf_bpmn_element *e = el(r, in->eis[i].element);
  uint64_t key = in->eis[i].key;
  int rc;
  in->eis[i].state = CF_ENGINE_EI_ACTIVATING;
  /*
   * Input mappings, in order, each from the element's own scope: a mapping
   * sees the targets of the ones before it, and an inner instance of a
   * multi-instance activity its input element and loop counter.
   */
  for (uint32_t k = 0; k < e->ninputs; k++) {
    struct cf_feel_value doc;
    bool incident;
    if ((rc = eval_mappings(r, i, &e->inputs[k], 1, key, PH_ACTIVATE, &doc, &incident))) return rc;
    if (incident) return CF_OK;
    for (uint32_t d = 0; rc == CF_OK && d < doc.u.ctx->len; d++) {
      const struct cf_feel_ctx_entry *en = &doc.u.ctx->entries[d];
      rc = cf__engine_set_local(in, key, en->key->data, en->key->len, &en->value, r->out, now(r));
    }
    cf_feel_value_release(&doc);
    if (rc) return rc;
    i = (size_t)cf__engine_find_ei(in, key);
  }
  ssize_t idx = cf__engine_find_ei(in, key);
  i = (size_t)idx;
  uint32_t element = in->eis[i].element;

  /* A catching element that fired: it completes at once with what it fired with. */
  if (r->trig_element == (int32_t)element &&
      (e->type == CF_BPMN_START_EVENT || e->type == CF_BPMN_BOUNDARY_EVENT ||
       e->type == CF_BPMN_INTERMEDIATE_CATCH_EVENT || e->type == CF_BPMN_RECEIVE_TASK)) {
    struct cf_feel_value doc;
    cf_feel_value_move(&doc, &r->trig_vars);
    r->trig_element = -1;
    in->eis[i].state = CF_ENGINE_EI_ACTIVATED;
    rc = emit(r, CF_ENGINE_EV_ELEMENT_ACTIVATED, key, (int32_t)element, NULL);
    if (rc == CF_OK) rc = complete_ei(r, i, &doc);
    cf_feel_value_release(&doc);
    return rc;
  }

  if (is_job_task(e) || e->type == CF_BPMN_USER_TASK) {
    size_t before = in->nincidents;
    if ((rc = is_job_task(e) ? create_job(r, i) : create_user_task(r, i))) return rc;
    if (in->nincidents > before) return CF_OK;
    in->eis[i].state = CF_ENGINE_EI_ACTIVATED;
    if ((rc = emit(r, CF_ENGINE_EV_ELEMENT_ACTIVATED, key, (int32_t)element, NULL))) return rc;
    return open_boundaries(r, key, e);
  }
  if (e->type == CF_BPMN_SCRIPT_TASK) {
    struct cf_feel_value v;
    char why[300];
    if ((rc = eval_value(r, &e->script, key, &v, why, sizeof why))) return rc;
    if (r->failed) {
      char msg[700];
      snprintf(msg, sizeof msg, "script: failed to evaluate '%.200s': %s", e->script.text, r->failed_why);
      cf_feel_value_release(&v);
      return raise_incident(r, i, CF_ENGINE_INC_EXPRESSION, msg, 0, PH_ACTIVATE);
    }
    struct cf_feel_value doc;
    cf_feel_set_null(&doc);
    if (e->result_variable) {
      if ((rc = cf_feel_ctx_new(&doc, 1)) == CF_OK)
        rc = cf_feel_ctx_put(&doc, e->result_variable, strlen(e->result_variable), &v);
      else
        cf_feel_value_release(&v);
    } else {
      cf_feel_value_release(&v);
    }
    if (rc == CF_OK) {
      in->eis[i].state = CF_ENGINE_EI_ACTIVATED;
      rc = emit(r, CF_ENGINE_EV_ELEMENT_ACTIVATED, key, (int32_t)element, NULL);
    }
    if (rc == CF_OK) rc = complete_ei(r, i, &doc);
    cf_feel_value_release(&doc);
    return rc;
  }
  if (e->type == CF_BPMN_CALL_ACTIVITY) {
    char *pid;
    if ((rc = value_text(r, &e->called_process_id, key, key, element, "called process", &pid)) || !pid)
      return rc;
    i = (size_t)cf__engine_find_ei(in, key);
    in->eis[i].state = CF_ENGINE_EI_ACTIVATED;
    rc = emit(r, CF_ENGINE_EV_ELEMENT_ACTIVATED, key, (int32_t)element, NULL);
    if (rc == CF_OK) rc = open_boundaries(r, key, e);
    /* The caller starts the child: it answers with COMPLETE_CALL when the child completes. */
    if (rc == CF_OK) rc = emit(r, CF_ENGINE_EV_CALL_STARTED, key, (int32_t)element, pid);
    cf_free(pid);
    return rc;
  }
  if (e->type == CF_BPMN_RECEIVE_TASK ||
      (e->type == CF_BPMN_INTERMEDIATE_CATCH_EVENT && e->event != CF_BPMN_EVENT_LINK)) {
    size_t before = in->nincidents;
    if ((rc = open_catch(r, key, element, key))) return rc;
    if (in->nincidents > before) return CF_OK;
    i = (size_t)cf__engine_find_ei(in, key);
    in->eis[i].state = CF_ENGINE_EI_ACTIVATED;
    if ((rc = emit(r, CF_ENGINE_EV_ELEMENT_ACTIVATED, key, (int32_t)element, NULL))) return rc;
    return e->type == CF_BPMN_RECEIVE_TASK ? open_boundaries(r, key, e) : CF_OK;
  }
  in->eis[i].state = CF_ENGINE_EI_ACTIVATED;
  if ((rc = emit(r, CF_ENGINE_EV_ELEMENT_ACTIVATED, key, (int32_t)element, NULL))) return rc;

  if (e->type == CF_BPMN_EVENT_BASED_GATEWAY) {
    uint64_t scope = in->eis[i].scope_key;
    for (uint32_t f = 0; rc == CF_OK && f < e->noutgoing; f++)
      rc = open_catch(r, key, r->m->flows[e->outgoing[f]].target, scope);
    return rc;
  }
  if (is_container(e)) {
    int32_t start = e->type == CF_BPMN_EVENT_SUB_PROCESS ? esp_start(r, e) : e->none_start;
    if (start < 0) return CF_EINTERNAL; /* validation guarantees one */
    if ((rc = open_esp_triggers(r, key, e->children, e->nchildren))) return rc;
    if ((rc = open_boundaries(r, key, e))) return rc;
    return push(r, W_ACTIVATE, (uint32_t)start, key);
  }
  if (e->type == CF_BPMN_END_EVENT && e->event == CF_BPMN_EVENT_TERMINATE) {
    uint64_t scope = in->eis[i].scope_key;
    /* Everything else in the scope ends; then this event completes, and so does the scope. */
    for (size_t k = in->neis; k-- > 0;) {
      if (k < in->neis && in->eis[k].scope_key == scope && in->eis[k].key != key) {
        if ((rc = terminate_ei(r, k))) return rc;
      }
    }
    for (size_t k = r->head; k < r->tail; k++) {
      if (r->q[k].kind != W_DEAD && r->q[k].scope == scope) {
        r->q[k].kind = W_DEAD;
        struct scope_data *s = cf__engine_scope(in, scope);
        if (s && s->tokens) s->tokens--;
      }
    }
    struct scope_data *s = cf__engine_scope(in, scope);
    if (s) {
      for (uint32_t a = 0; a < s->narrivals; a++) s->tokens -= s->arrivals[a].count;
      s->narrivals = 0;
    }
    idx = cf__engine_find_ei(in, key);
    return complete_ei(r, (size_t)idx, NULL);
  }
  bool thrower = e->type == CF_BPMN_END_EVENT || e->type == CF_BPMN_INTERMEDIATE_THROW_EVENT;
  if (thrower && e->event == CF_BPMN_EVENT_ERROR) {
    char *code = NULL;
    if (cf_bpmn_value_present(&e->error_code) &&
        ((rc = value_text(r, &e->error_code, key, key, element, "error code", &code)) || !code))
      return rc;
    i = (size_t)cf__engine_find_ei(in, key);
    rc = throw_error(r, i, code, NULL, NULL, 0);
    cf_free(code);
    return rc;
  }
  if (thrower && e->event == CF_BPMN_EVENT_ESCALATION) {
    char *code = NULL;
    if (cf_bpmn_value_present(&e->escalation_code) &&
        ((rc = value_text(r, &e->escalation_code, key, key, element, "escalation code", &code)) || !code))
      return rc;
    bool interrupted;
    i = (size_t)cf__engine_find_ei(in, key);
    rc = throw_escalation(r, i, code, &interrupted);
    cf_free(code);
    if (rc) return rc;
    idx = cf__engine_find_ei(in, key);
    if (idx < 0) return CF_OK; /* the catcher ended the scope the thrower was in */
    return complete_ei(r, (size_t)idx, NULL);
  }
  if (thrower && e->event == CF_BPMN_EVENT_COMPENSATION) return throw_compensation(r, i);
  if (thrower && e->event == CF_BPMN_EVENT_SIGNAL) {
    char *name;
    if ((rc = value_text(r, &e->signal_name, key, key, element, "signal name", &name)) || !name) return rc;
    rc = emit(r, CF_ENGINE_EV_SIGNAL_THROWN, key, (int32_t)element, name);
    cf_free(name);
    if (rc) return rc;
    return complete_ei(r, (size_t)cf__engine_find_ei(in, key), NULL);
  }
  if (e->type == CF_BPMN_INTERMEDIATE_THROW_EVENT && e->event == CF_BPMN_EVENT_LINK) {
    /* The token jumps to the catching link event of the same name in the same scope. */
    for (uint32_t c = 0; c < r->m->nelements; c++) {
      const struct cf_bpmn_element *ce = el(r, c);
      if (ce->type == CF_BPMN_INTERMEDIATE_CATCH_EVENT && ce->event == CF_BPMN_EVENT_LINK &&
          ce->parent == e->parent && ce->process == e->process && ce->link_name && e->link_name &&
          !strcmp(ce->link_name, e->link_name)) {
        if ((rc = push(r, W_ACTIVATE, c, in->eis[i].scope_key))) return rc;
        /* The throw event completes as any other (its output mappings apply); it has no outgoing flow. */
        return complete_ei(r, (size_t)cf__engine_find_ei(in, key), NULL);
      }
    }
    return CF_EINTERNAL; /* validation pairs every link throw with a catch */
  }
  /* Events, gateways, manual and undefined tasks pass through. */
  return complete_ei(r, i, NULL);
}

/*
 * Elements that never wait (gateways, undefined tasks) can form a cycle that
 * would run forever within one command. Past this many activations in one
 * call, the next element stops with an incident instead.
 */
#define MAX_ACTIVATIONS 100000

static int start_element(struct run *r, uint32_t element, uint64_t scope) {
  size_t i;
  int rc = ei_add(r, element, scope, &i);
  if (rc) return rc;
  if (++r->activations > MAX_ACTIVATIONS) {
    char msg[200];
    snprintf(msg, sizeof msg,
             "more than %d elements were activated by one command: the process loops through "
             "elements that never wait",
             MAX_ACTIVATIONS);
    r->activations = 0; /* resolving the incident gets a fresh budget */
    return raise_incident(r, i, CF_ENGINE_INC_EXPRESSION, msg, 0, PH_ACTIVATE);
  }
  if (el(r, element)->multi) {
    r->inst->eis[i].body = true;
    return activate_body(r, i);
  }
  return activate_ei(r, i);
}

/* ------------------------------------------------------------- joins */

static struct arrival *arrival_of(struct scope_data *s, uint32_t flow) {
  for (uint32_t a = 0; a < s->narrivals; a++)
    if (s->arrivals[a].flow == flow) return &s->arrivals[a];
  return NULL;
}

static int add_arrival(struct scope_data *s, uint32_t flow) {
  struct arrival *a = arrival_of(s, flow);
  if (a) {
    a->count++;
    s->tokens++;
    return CF_OK;
  }
  struct arrival *n = cf_realloc(s->arrivals, (s->narrivals + 1) * sizeof *n);
  if (!n) return CF_ENOMEM;
  s->arrivals = n;
  s->arrivals[s->narrivals++] = (struct arrival){flow, 1};
  s->tokens++;
  return CF_OK;
}

/* Consumes one arrival on each of the gateway's incoming flows that has one. */
static void consume_arrivals(struct scope_data *s, const struct cf_bpmn_element *g) {
  for (uint32_t f = 0; f < g->nincoming; f++) {
    struct arrival *a = arrival_of(s, g->incoming[f]);
    if (a && a->count) {
      a->count--;
      s->tokens--;
    }
  }
  uint32_t o = 0;
  for (uint32_t a = 0; a < s->narrivals; a++)
    if (s->arrivals[a].count) s->arrivals[o++] = s->arrivals[a];
  s->narrivals = o;
}

static bool is_join(const struct cf_bpmn_element *e) {
  return (e->type == CF_BPMN_PARALLEL_GATEWAY || e->type == CF_BPMN_INCLUSIVE_GATEWAY) &&
         e->nincoming > 1;
}

/*
 * Can a token at element `from` still reach `goal` (an element) without
 * passing through `stop` (the join)? Depth-first over outgoing flows.
 */
static bool reaches(const struct cf_bpmn_model *m, uint32_t from, uint32_t goal, uint32_t stop,
                    uint8_t *seen) {
  if (from == goal) return true;
  if (from == stop || seen[from]) return false;
  seen[from] = 1;
  const struct cf_bpmn_element *e = &m->elements[from];
  for (uint32_t f = 0; f < e->noutgoing; f++)
    if (reaches(m, m->flows[e->outgoing[f]].target, goal, stop, seen)) return true;
  return false;
}

/* Could any live token of the scope still arrive on flow? */
static int flow_awaited(struct run *r, uint64_t scope, uint32_t gateway, uint32_t flow, bool *awaited) {
  const struct cf_bpmn_model *m = r->m;
  uint32_t src = m->flows[flow].source;
  uint8_t *seen = cf_calloc(m->nelements, 1);
  if (!seen) return CF_ENOMEM;
  *awaited = false;
  struct cf_engine_instance *in = r->inst;
  for (size_t k = 0; k < in->neis && !*awaited; k++) {
    if (in->eis[k].scope_key != scope || in->eis[k].element == gateway) continue;
    memset(seen, 0, m->nelements);
    if (reaches(m, in->eis[k].element, src, gateway, seen)) *awaited = true;
  }
  struct scope_data *s = cf__engine_scope(in, scope);
  for (uint32_t a = 0; s && a < s->narrivals && !*awaited; a++) {
    /* A token waiting at another join may move on later. */
    uint32_t target = m->flows[s->arrivals[a].flow].target;
    if (target == gateway) continue;
    memset(seen, 0, m->nelements);
    if (reaches(m, target, src, gateway, seen)) *awaited = true;
  }
  cf_free(seen);
  return CF_OK;
}

static int try_inclusive_joins(struct run *r, bool *fired) {
  struct cf_engine_instance *in = r->inst;
  *fired = false;
  /* Scopes with arrivals: the process, and element instances. */
  size_t nscopes = in->neis + 1;
  for (size_t sidx = 0; sidx < nscopes; sidx++) {
    uint64_t scope = sidx == 0 ? in->key : in->eis[sidx - 1].key;
    struct scope_data *s = cf__engine_scope(in, scope);
    for (uint32_t a = 0; s && a < s->narrivals; a++) {
      uint32_t g = r->m->flows[s->arrivals[a].flow].target;
      const struct cf_bpmn_element *ge = el(r, g);
      if (ge->type != CF_BPMN_INCLUSIVE_GATEWAY) continue;
      bool ready = true;
      for (uint32_t f = 0; f < ge->nincoming && ready; f++) {
        struct arrival *ar = arrival_of(s, ge->incoming[f]);
        if (ar && ar->count) continue;
        bool awaited;
        int rc = flow_awaited(r, scope, g, ge->incoming[f], &awaited);
        if (rc) return rc;
        if (awaited) ready = false;
      }
      if (!ready) continue;
      consume_arrivals(s, ge);
      int rc = start_element(r, g, scope);
      if (rc) return rc;
      *fired = true;
      return CF_OK;
    }
  }
  return CF_OK;
}

/* A token arrives at a flow's target. */
static int arrive(struct run *r, uint32_t flow, uint64_t scope) {
  const struct cf_bpmn_flow *f = &r->m->flows[flow];
  const struct cf_bpmn_element *t = el(r, f->target);
  struct scope_data *s = cf__engine_scope(r->inst, scope);
  if (!s) return CF_OK; /* the scope ended meanwhile */
  if (!is_join(t)) return start_element(r, f->target, scope);
  int rc = add_arrival(s, flow);
  if (rc) return rc;
  if (t->type == CF_BPMN_INCLUSIVE_GATEWAY) return CF_OK; /* decided when the queue is empty */
  for (uint32_t k = 0; k < t->nincoming; k++) {
    struct arrival *a = arrival_of(s, t->incoming[k]);
    if (!a || !a->count) return CF_OK;
  }
  consume_arrivals(s, t);
  return start_element(r, f->target, scope);
}

/* ------------------------------------------------------------- the queue */

static int run_queue(struct run *r) {
  int rc = CF_OK;
  for (;;) {
    while (rc == CF_OK && r->head < r->tail) {
      struct work w = r->q[r->head++];
      if (w.kind == W_DEAD) continue;
      struct scope_data *s = cf__engine_scope(r->inst, w.scope);
      if (!s) continue;
      /* The queued token becomes an element instance (or an arrival at a join). */
      s->tokens--;
      if (w.kind == W_FLOW) {
        rc = arrive(r, w.idx, w.scope);
      } else {
        rc = start_element(r, w.idx, w.scope);
      }
    }
    if (rc) return rc;
    bool fired;
    if ((rc = try_inclusive_joins(r, &fired))) return rc;
    if (!fired) return CF_OK;
  }
}


/* ------------------------------------------------------------- lifecycle API */

static void instance_clear(struct cf_engine_instance *in) {
  for (size_t i = 0; i < in->neis; i++) {
    cf_feel_value_release(&in->priv[i].scope.vars);
    cf_feel_value_release(&in->priv[i].pending);
    cf_feel_value_release(&in->priv[i].mi_items);
    cf_free(in->priv[i].comp_queue);
    cf_free(in->priv[i].scope.arrivals);
  }
  cf_free(in->comps);
  cf_free(in->eis);
  cf_free(in->priv);
  for (size_t i = 0; i < in->njobs; i++) job_free(&in->jobs[i]);
  cf_free(in->jobs);
  for (size_t i = 0; i < in->ntasks; i++) task_free(&in->tasks[i]);
  cf_free(in->tasks);
  for (size_t i = 0; i < in->nincidents; i++) cf_free(in->incidents[i].message);
  cf_free(in->incidents);
  cf_feel_value_release(&in->root.vars);
  cf_free(in->root.arrivals);
  cf_free(in->timers);
  cf_free(in->scheds);
  for (size_t i = 0; i < in->nsubs; i++) {
    cf_free(in->subs[i].name);
    cf_free(in->subs[i].correlation_key);
  }
  cf_free(in->subs);
}

void cf_engine_instance_free(struct cf_engine_instance *inst) {
  if (!inst) return;
  instance_clear(inst);
  cf_free(inst);
}

static void run_init(struct run *r, struct cf_engine_instance *inst, const struct cf_engine_env *env,
                     struct cf_engine_output *out) {
  memset(r, 0, sizeof *r);
  r->inst = inst;
  r->m = inst->model;
  r->env = env;
  r->out = out;
  int64_t secs = env->now_ms >= 0 ? env->now_ms / 1000 : -((-env->now_ms + 999) / 1000);
  r->fenv.now_secs = secs;
  r->fenv.now_nanos = (int32_t)((env->now_ms - secs * 1000) * 1000000);
  r->fenv.zone = NULL;
  r->q = r->inline_q;
  r->cap = sizeof r->inline_q / sizeof r->inline_q[0];
  r->trig_element = -1;
  cf_feel_set_null(&r->trig_vars);
}

static void run_release(struct run *r) {
  if (r->q != r->inline_q) cf_free(r->q);
  r->q = r->inline_q;
  cf_feel_value_release(&r->trig_vars);
  r->trig_element = -1;
}

static int run_finish(struct run *r) {
  int rc = run_queue(r);
  run_release(r);
  if (rc == CF_OK && r->inst->state == CF_ENGINE_ACTIVE && r->inst->root.tokens == 0)
    rc = scope_done(r, r->inst->key);
  return rc;
}

static struct cf_engine_instance *start(const struct cf_bpmn_model *model, uint32_t process,
                                        int32_t start_element, const struct cf_feel_value *variables,
                                        bool as_event, uint64_t parent_instance, uint64_t parent_ei,
                                        const struct cf_engine_env *env, struct cf_engine_output *out,
                                        struct cf_error *err);

struct cf_engine_instance *cf_engine_start(const struct cf_bpmn_model *model, uint32_t process,
                                           int32_t start_element,
                                           const struct cf_feel_value *variables,
                                           const struct cf_engine_env *env,
                                           struct cf_engine_output *out, struct cf_error *err) {
  return start(model, process, start_element, variables, false, 0, 0, env, out, err);
}

struct cf_engine_instance *cf_engine_start_event(const struct cf_bpmn_model *model, uint32_t process,
                                                 int32_t start_element,
                                                 const struct cf_feel_value *variables,
                                                 const struct cf_engine_env *env,
                                                 struct cf_engine_output *out, struct cf_error *err) {
  return start(model, process, start_element, variables, true, 0, 0, env, out, err);
}

struct cf_engine_instance *cf_engine_start_child(const struct cf_bpmn_model *model, uint32_t process,
                                                 const struct cf_feel_value *variables,
                                                 uint64_t parent_instance, uint64_t parent_element_instance,
                                                 const struct cf_engine_env *env,
                                                 struct cf_engine_output *out, struct cf_error *err) {
  return start(model, process, -1, variables, false, parent_instance, parent_element_instance, env, out,
               err);
}

static struct cf_engine_instance *start(const struct cf_bpmn_model *model, uint32_t process,
                                        int32_t start_element, const struct cf_feel_value *variables,
                                        bool as_event, uint64_t parent_instance, uint64_t parent_ei,
                                        const struct cf_engine_env *env, struct cf_engine_output *out,
                                        struct cf_error *err) {
  if (process >= model->nprocesses) {
    cf_error_set(err, CF_EINVAL, "no process %u in the model", process);
    return NULL;
  }
  const struct cf_bpmn_process *p = &model->processes[process];
  int32_t start = start_element >= 0 ? start_element : p->none_start;
  if (start < 0 || (uint32_t)start >= model->nelements ||
      model->elements[start].type != CF_BPMN_START_EVENT || model->elements[start].parent != -1 ||
      model->elements[start].process != process) {
    cf_error_set(err, CF_EINVAL, "process '%s' has no %s start event to start at", p->id,
                 start_element >= 0 ? "such" : "none");
    return NULL;
  }
  if (variables && variables->type != CF_FEEL_CONTEXT && variables->type != CF_FEEL_NULL) {
    cf_error_set(err, CF_EINVAL, "variables must be a JSON object");
    return NULL;
  }
  struct cf_engine_instance *in = cf_calloc(1, sizeof *in);
  if (!in) {
    cf_error_set(err, CF_ENOMEM, "out of memory");
    return NULL;
  }
  in->model = model;
  in->process = process;
  in->parent_instance = parent_instance;
  in->parent_ei = parent_ei;
  in->key = env->next_key(env->key_arg);
  in->state = CF_ENGINE_ACTIVE;
  in->created_ms = env->now_ms;
  cf_feel_set_null(&in->root.vars);
  int rc = CF_OK;
  if (variables && variables->type == CF_FEEL_CONTEXT && !as_event) {
    rc = cf__engine_variable_value(variables, &in->root.vars);
    /* The instance owns its scope: never share a caller's context. */
    if (rc == CF_OK && in->root.vars.u.ctx->refs > 1) {
      struct cf_feel_value mine;
      rc = cf_feel_ctx_new(&mine, in->root.vars.u.ctx->len);
      for (uint32_t i = 0; rc == CF_OK && i < in->root.vars.u.ctx->len; i++) {
        struct cf_feel_value v;
        cf_feel_value_copy(&v, &in->root.vars.u.ctx->entries[i].value);
        rc = cf_feel_ctx_put(&mine, in->root.vars.u.ctx->entries[i].key->data,
                             in->root.vars.u.ctx->entries[i].key->len, &v);
      }
      cf_feel_value_release(&in->root.vars);
      if (rc == CF_OK) cf_feel_value_move(&in->root.vars, &mine);
      else cf_feel_value_release(&mine);
    }
  }
  struct run r;
  run_init(&r, in, env, out);
  if (rc == CF_OK)
    rc = open_esp_triggers(&r, in->key, p->elements, p->nelements);
  /* A start event that fired completes with the event's variables (its output mappings apply). */
  if (rc == CF_OK && as_event) rc = set_trigger(&r, (uint32_t)start, variables);
  if (rc == CF_OK) rc = push(&r, W_ACTIVATE, (uint32_t)start, in->key);
  if (rc == CF_OK) rc = run_finish(&r);
  else run_release(&r);
  if (rc) {
    cf_error_set(err, rc, "%s", rc == CF_ENOMEM ? "out of memory" : "internal error");
    cf_engine_instance_free(in);
    return NULL;
  }
  return in;
}

static int refuse(struct cf_error *err, int code, const char *fmt, unsigned long long key) {
  return cf_error_set(err, code, fmt, key);
}

int cf_engine_apply(struct cf_engine_instance *in, const struct cf_engine_cmd *cmd,
                    const struct cf_engine_env *env, struct cf_engine_output *out,
                    struct cf_error *err) {
  cf_error_clear(err);
  if (cmd->variables && cmd->variables->type != CF_FEEL_CONTEXT &&
      cmd->variables->type != CF_FEEL_NULL)
    return cf_error_set(err, CF_EINVAL, "variables must be a JSON object");
  if (in->state != CF_ENGINE_ACTIVE)
    return cf_error_set(err, CF_ECONFLICT, "process instance %llu is %s", (unsigned long long)in->key,
                        in->state == CF_ENGINE_COMPLETED ? "completed" : "terminated");
  struct run r;
  run_init(&r, in, env, out);
  int rc = CF_OK;
  const struct cf_feel_value *vars =
      cmd->variables && cmd->variables->type == CF_FEEL_CONTEXT ? cmd->variables : NULL;

  switch ((enum cf_engine_cmd_kind)cmd->kind) {
    case CF_ENGINE_CMD_COMPLETE_JOB:
    case CF_ENGINE_CMD_FAIL_JOB:
    case CF_ENGINE_CMD_THROW_ERROR:
    case CF_ENGINE_CMD_UPDATE_JOB_RETRIES: {
      ssize_t j = find_job(in, cmd->key);
      if (j < 0) return refuse(err, CF_ENOTFOUND, "no job with key %llu in this instance", cmd->key);
      struct cf_engine_job *job = &in->jobs[j];
      ssize_t i = cf__engine_find_ei(in, job->element_instance_key);
      if (i < 0) return cf_error_set(err, CF_EINTERNAL, "job without element instance");
      if (cmd->kind == CF_ENGINE_CMD_UPDATE_JOB_RETRIES) {
        if (cmd->retries < 0) return cf_error_set(err, CF_EINVAL, "retries must not be negative");
        job->retries = cmd->retries;
        rc = emit(&r, CF_ENGINE_EV_JOB_RETRIES_UPDATED, job->key, (int32_t)job->element, NULL);
        break;
      }
      if (job->state != CF_ENGINE_JOB_ACTIVATABLE)
        return refuse(err, CF_ECONFLICT,
                      "job %llu has failed and has an open incident: resolve it first", cmd->key);
      if (cmd->kind == CF_ENGINE_CMD_COMPLETE_JOB) {
        uint64_t jk = job->key;
        int32_t element = (int32_t)job->element;
        in->eis[i].job_key = 0;
        job_remove(in, (size_t)j);
        if ((rc = emit(&r, CF_ENGINE_EV_JOB_COMPLETED, jk, element, NULL))) break;
        rc = complete_ei(&r, (size_t)i, vars);
        break;
      }
      if (cmd->kind == CF_ENGINE_CMD_FAIL_JOB) {
        if (cmd->retries < 0) return cf_error_set(err, CF_EINVAL, "retries must not be negative");
        job->retries = cmd->retries;
        cf_free(job->error_message);
        job->error_message = cmd->message ? cf_strdup(cmd->message) : NULL;
        if ((rc = emit(&r, CF_ENGINE_EV_JOB_FAILED, job->key, (int32_t)job->element, cmd->message))) break;
        if (vars) {
          for (uint32_t k = 0; rc == CF_OK && k < vars->u.ctx->len; k++)
            rc = cf__engine_set_local(in, in->eis[i].key, vars->u.ctx->entries[k].key->data,
                                      vars->u.ctx->entries[k].key->len, &vars->u.ctx->entries[k].value,
                                      out, env->now_ms);
          if (rc) break;
        }
        if (cmd->retries > 0) {
          job->available_at_ms = env->now_ms + (cmd->backoff_ms > 0 ? cmd->backoff_ms : 0);
        } else {
          job->state = CF_ENGINE_JOB_FAILED;
          rc = raise_incident(&r, (size_t)i, CF_ENGINE_INC_JOB_NO_RETRIES,
                              cmd->message && *cmd->message ? cmd->message : "No more retries left.",
                              job->key, PH_NONE);
        }
        break;
      }
      /* THROW_ERROR: a catching boundary or event sub-process takes over, or an incident. */
      {
        if ((rc = emit(&r, CF_ENGINE_EV_JOB_ERROR_THROWN, job->key, (int32_t)job->element,
                       cmd->error_code)))
          break;
        if (vars) {
          for (uint32_t k = 0; rc == CF_OK && k < vars->u.ctx->len; k++)
            rc = cf__engine_set_local(in, in->eis[i].key, vars->u.ctx->entries[k].key->data,
                                      vars->u.ctx->entries[k].key->len, &vars->u.ctx->entries[k].value,
                                      out, env->now_ms);
          if (rc) break;
        }
        uint64_t owner;
        uint32_t catcher;
        if (find_catcher(&r, in->eis[i].key, CF_BPMN_EVENT_ERROR, cmd->error_code, &owner, &catcher)) {
          /* The job ends with its task, which the catcher terminates. */
          rc = trigger(&r, owner, catcher, vars);
          break;
        }
        cf_free(job->error_message);
        job->error_message = cmd->message ? cf_strdup(cmd->message) : NULL;
        job->state = CF_ENGINE_JOB_FAILED;
        rc = throw_error(&r, (size_t)i, cmd->error_code, cmd->message, vars, job->key);
      }
      break;
    }
    case CF_ENGINE_CMD_COMPLETE_USER_TASK:
    case CF_ENGINE_CMD_ASSIGN_USER_TASK: {
      ssize_t t = find_task(in, cmd->key);
      if (t < 0) return refuse(err, CF_ENOTFOUND, "no user task with key %llu in this instance", cmd->key);
      ssize_t i = cf__engine_find_ei(in, in->tasks[t].element_instance_key);
      if (i < 0) return cf_error_set(err, CF_EINTERNAL, "user task without element instance");
      if (cmd->kind == CF_ENGINE_CMD_ASSIGN_USER_TASK) {
        char *a = NULL;
        if (cmd->assignee && !(a = cf_strdup(cmd->assignee))) return cf_error_set(err, CF_ENOMEM, "out of memory");
        cf_free(in->tasks[t].assignee);
        in->tasks[t].assignee = a;
        rc = emit(&r, CF_ENGINE_EV_USER_TASK_ASSIGNED, cmd->key, (int32_t)in->tasks[t].element, a);
        break;
      }
      int32_t element = (int32_t)in->tasks[t].element;
      in->eis[i].user_task_key = 0;
      task_remove(in, (size_t)t);
      if ((rc = emit(&r, CF_ENGINE_EV_USER_TASK_COMPLETED, cmd->key, element, NULL))) break;
      rc = complete_ei(&r, (size_t)i, vars);
      break;
    }
    case CF_ENGINE_CMD_RESOLVE_INCIDENT: {
      ssize_t k = find_incident(in, cmd->key);
      if (k < 0) return refuse(err, CF_ENOTFOUND, "no incident with key %llu in this instance", cmd->key);
      struct cf_engine_incident *inc = &in->incidents[k];
      if (inc->element_instance_key == in->key) {
        /* On the process scope (a subscription that could not open): nothing to retry. */
        uint64_t ik = inc->key;
        int32_t element = (int32_t)inc->element;
        incident_remove(in, (size_t)k);
        rc = emit(&r, CF_ENGINE_EV_INCIDENT_RESOLVED, ik, element, NULL);
        break;
      }
      ssize_t i = cf__engine_find_ei(in, inc->element_instance_key);
      if (i < 0) return cf_error_set(err, CF_EINTERNAL, "incident without element instance");
      if (inc->type == CF_ENGINE_INC_JOB_NO_RETRIES || inc->type == CF_ENGINE_INC_UNHANDLED_ERROR) {
        ssize_t j = find_job(in, inc->job_key);
        if (j < 0) return cf_error_set(err, CF_EINTERNAL, "incident without its job");
        if (inc->type == CF_ENGINE_INC_JOB_NO_RETRIES && in->jobs[j].retries <= 0)
          return refuse(err, CF_ECONFLICT,
                        "the job of incident %llu has no retries left: update its retries first",
                        cmd->key);
        if (in->jobs[j].retries <= 0) in->jobs[j].retries = 1;
        in->jobs[j].state = CF_ENGINE_JOB_ACTIVATABLE;
        in->jobs[j].available_at_ms = env->now_ms;
        uint64_t ik = inc->key;
        int32_t element = (int32_t)inc->element;
        incident_remove(in, (size_t)k);
        in->eis[i].incident_key = 0;
        rc = emit(&r, CF_ENGINE_EV_INCIDENT_RESOLVED, ik, element, NULL);
        break;
      }
      uint64_t ik = inc->key;
      int32_t element = (int32_t)inc->element;
      uint8_t phase = in->priv[i].phase;
      incident_remove(in, (size_t)k);
      in->eis[i].incident_key = 0;
      in->priv[i].phase = PH_NONE;
      if ((rc = emit(&r, CF_ENGINE_EV_INCIDENT_RESOLVED, ik, element, NULL))) break;
      rc = phase == PH_COMPLETE   ? complete_ei(&r, (size_t)i, NULL)
           : in->eis[i].body      ? activate_body(&r, (size_t)i)
                                  : activate_ei(&r, (size_t)i);
      break;
    }
    case CF_ENGINE_CMD_SET_VARIABLES: {
      /* Camunda's variable update: local sets in that scope, else each variable propagates. */
      if (!vars) return cf_error_set(err, CF_EINVAL, "variables must be a JSON object");
      if (!cf__engine_scope(in, cmd->key))
        return refuse(err, CF_ENOTFOUND, "no scope with key %llu in this instance", cmd->key);
      if (cmd->local) {
        for (uint32_t k = 0; rc == CF_OK && k < vars->u.ctx->len; k++)
          rc = cf__engine_set_local(in, cmd->key, vars->u.ctx->entries[k].key->data,
                                    vars->u.ctx->entries[k].key->len, &vars->u.ctx->entries[k].value,
                                    out, env->now_ms);
      } else {
        rc = cf__engine_propagate(in, cmd->key, vars, out, env->now_ms);
      }
      break;
    }
    case CF_ENGINE_CMD_FIRE_TIMER: {
      ssize_t t = -1;
      for (size_t k = 0; k < in->ntimers; k++)
        if (in->timers[k].key == cmd->key) t = (ssize_t)k;
      if (t < 0) return refuse(err, CF_ENOTFOUND, "no timer with key %llu in this instance", cmd->key);
      if (in->timers[t].due_ms > env->now_ms)
        return refuse(err, CF_ECONFLICT, "timer %llu is not due yet: timers fire late, never early", cmd->key);
      uint64_t owner = in->timers[t].owner_key, tkey = in->timers[t].key;
      uint32_t element = in->timers[t].element;
      const struct cf_bpmn_element *c = el(&r, element);
      bool keeps = (c->type == CF_BPMN_BOUNDARY_EVENT && !c->cancel_activity) ||
                   (c->type == CF_BPMN_START_EVENT && c->parent >= 0 && !c->interrupting);
      if ((rc = emit(&r, CF_ENGINE_EV_TIMER_TRIGGERED, tkey, (int32_t)element, NULL))) break;
      /* A repeating timer that does not interrupt fires again on its next date. */
      if (keeps && cf_schedule_advance(&in->scheds[t])) {
        in->timers[t].due_ms = in->scheds[t].due_ms;
        in->timers[t].remaining = in->scheds[t].remaining;
      } else {
        memmove(&in->timers[t], &in->timers[t + 1], (in->ntimers - (size_t)t - 1) * sizeof *in->timers);
        memmove(&in->scheds[t], &in->scheds[t + 1], (in->ntimers - (size_t)t - 1) * sizeof *in->scheds);
        in->ntimers--;
      }
      rc = trigger(&r, owner, element, NULL);
      break;
    }
    case CF_ENGINE_CMD_CORRELATE: {
      ssize_t k = -1;
      for (size_t q = 0; q < in->nsubs; q++)
        if (in->subs[q].key == cmd->key) k = (ssize_t)q;
      if (k < 0) return refuse(err, CF_ENOTFOUND, "no subscription with key %llu in this instance", cmd->key);
      uint64_t owner = in->subs[k].owner_key, skey = in->subs[k].key;
      uint32_t element = in->subs[k].element;
      const struct cf_bpmn_element *c = el(&r, element);
      bool keeps = (c->type == CF_BPMN_BOUNDARY_EVENT && !c->cancel_activity) ||
                   (c->type == CF_BPMN_START_EVENT && c->parent >= 0 && !c->interrupting);
      if ((rc = emit(&r, CF_ENGINE_EV_SUBSCRIPTION_CORRELATED, skey, (int32_t)element, in->subs[k].name))) break;
      if (!keeps) {
        cf_free(in->subs[k].name);
        cf_free(in->subs[k].correlation_key);
        memmove(&in->subs[k], &in->subs[k + 1], (in->nsubs - (size_t)k - 1) * sizeof *in->subs);
        in->nsubs--;
      }
      rc = trigger(&r, owner, element, vars);
      break;
    }
    case CF_ENGINE_CMD_COMPLETE_CALL:
    case CF_ENGINE_CMD_CHILD_ERROR:
    case CF_ENGINE_CMD_CHILD_ESCALATION:
    case CF_ENGINE_CMD_UNCAUGHT_ERROR: {
      ssize_t i = cf__engine_find_ei(in, cmd->key);
      if (i < 0) return refuse(err, CF_ENOTFOUND, "no element instance with key %llu in this instance", cmd->key);
      const struct cf_bpmn_element *c = el(&r, in->eis[i].element);
      if (cmd->kind == CF_ENGINE_CMD_UNCAUGHT_ERROR) {
        char msg[600];
        snprintf(msg, sizeof msg,
                 "Expected to throw an error event with the code '%.100s', but it was not caught. No "
                 "error events are available in the scope or its parents.",
                 cmd->error_code ? cmd->error_code : "");
        uint64_t jk = in->eis[i].job_key;
        rc = raise_incident(&r, (size_t)i, CF_ENGINE_INC_UNHANDLED_ERROR, msg, jk, PH_NONE);
        break;
      }
      if (c->type != CF_BPMN_CALL_ACTIVITY || in->eis[i].state != CF_ENGINE_EI_ACTIVATED)
        return refuse(err, CF_ECONFLICT, "element instance %llu is not a waiting call activity", cmd->key);
      if (cmd->kind == CF_ENGINE_CMD_CHILD_ERROR || cmd->kind == CF_ENGINE_CMD_CHILD_ESCALATION) {
        bool error = cmd->kind == CF_ENGINE_CMD_CHILD_ERROR;
        uint64_t owner;
        uint32_t catcher;
        /* Not caught here: the caller offers it to the next ancestor. */
        if (!find_catcher(&r, cmd->key, error ? CF_BPMN_EVENT_ERROR : CF_BPMN_EVENT_ESCALATION,
                          cmd->error_code, &owner, &catcher))
          return cf_error_set(err, CF_ENOTFOUND, "nothing catches %s '%s' here",
                              error ? "error" : "escalation", cmd->error_code ? cmd->error_code : "");
        rc = trigger(&r, owner, catcher, error ? vars : NULL);
        break;
      }
      /* The child completed: its variables come back as the call activity's result. */
      const struct cf_feel_value *doc = c->propagate_all_child_variables || c->noutputs ? vars : NULL;
      rc = complete_ei(&r, (size_t)i, doc);
      break;
    }
    case CF_ENGINE_CMD_CANCEL:
      rc = terminate_inside(&r, in->key);
      if (rc == CF_OK) rc = close_owned(&r, in->key);
      if (rc == CF_OK) {
        in->state = CF_ENGINE_TERMINATED;
        rc = emit(&r, CF_ENGINE_EV_INSTANCE_TERMINATED, in->key, -1, NULL);
      }
      break;
    default:
      return cf_error_set(err, CF_EINVAL, "unknown command %u", cmd->kind);
  }
  if (rc == CF_OK) rc = run_finish(&r);
  else run_release(&r);
  if (rc) cf_error_set(err, rc, "%s", rc == CF_ENOMEM ? "out of memory" : "internal error");
  return rc;
}

/* ------------------------------------------------------------- views */

uint64_t cf_engine_instance_key(const struct cf_engine_instance *inst) { return inst->key; }
uint32_t cf_engine_instance_process(const struct cf_engine_instance *inst) { return inst->process; }
enum cf_engine_state cf_engine_instance_state(const struct cf_engine_instance *inst) {
  return (enum cf_engine_state)inst->state;
}
const struct cf_bpmn_model *cf_engine_instance_model(const struct cf_engine_instance *inst) {
  return inst->model;
}

const struct cf_engine_element_instance *cf_engine_elements(const struct cf_engine_instance *inst,
                                                            size_t *n) {
  *n = inst->neis;
  return inst->eis;
}

const struct cf_engine_job *cf_engine_jobs(const struct cf_engine_instance *inst, size_t *n) {
  *n = inst->njobs;
  return inst->jobs;
}

const struct cf_engine_user_task *cf_engine_user_tasks(const struct cf_engine_instance *inst,
                                                       size_t *n) {
  *n = inst->ntasks;
  return inst->tasks;
}

const struct cf_engine_incident *cf_engine_incidents(const struct cf_engine_instance *inst,
                                                     size_t *n) {
  *n = inst->nincidents;
  return inst->incidents;
}

const struct cf_engine_timer *cf_engine_timers(const struct cf_engine_instance *inst, size_t *n) {
  *n = inst->ntimers;
  return inst->timers;
}

const struct cf_engine_subscription *cf_engine_subscriptions(const struct cf_engine_instance *inst,
                                                             size_t *n) {
  *n = inst->nsubs;
  return inst->subs;
}

void cf_engine_instance_parent(const struct cf_engine_instance *inst, uint64_t *parent_instance,
                               uint64_t *parent_element_instance) {
  *parent_instance = inst->parent_instance;
  *parent_element_instance = inst->parent_ei;
}

int cf_engine_call_variables(const struct cf_engine_instance *inst, uint64_t call_key,
                             struct cf_feel_value *out) {
  ssize_t i = cf__engine_find_ei(inst, call_key);
  if (i < 0) return CF_ENOTFOUND;
  const struct cf_bpmn_element *e = &inst->model->elements[inst->eis[i].element];
  if (e->propagate_all_parent_variables) return cf_engine_visible_variables(inst, call_key, out);
  const struct cf_feel_value *local = cf_engine_variables(inst, call_key);
  if (local) {
    cf_feel_value_copy(out, local);
    return CF_OK;
  }
  return cf_feel_ctx_new(out, 0);
}
