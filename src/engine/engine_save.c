/*
 * Persistence of an instance: its whole state as versioned JSON.
 *
 * Elements and flows are written by id, not by index, so a state is never
 * silently applied to another model: an id the model lacks refuses the load.
 * Keys are decimal strings (64-bit), numbers in variables keep every digit.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_json.h"
#include "engine/engine_int.h"

#define STATE_VERSION 1

/* ------------------------------------------------------------- save */

static struct json_object *key_json(uint64_t k) {
  char buf[24];
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)k);
  return json_object_new_string(buf);
}

static int value_json(const struct cf_feel_value *v, struct json_object **out) {
  return cf_feel_to_json(v, out);
}

static struct json_object *str_json(const char *s) { return s ? json_object_new_string(s) : NULL; }

static int scope_json(const struct cf_engine_instance *in, const struct scope_data *s,
                      struct json_object *o) {
  struct json_object *vars = NULL;
  if (s->vars.type == CF_FEEL_CONTEXT && value_json(&s->vars, &vars)) return CF_ENOMEM;
  json_object_object_add(o, "vars", vars);
  json_object_object_add(o, "tokens", json_object_new_int64(s->tokens));
  if (s->narrivals) {
    struct json_object *a = json_object_new_array();
    for (uint32_t i = 0; i < s->narrivals; i++) {
      struct json_object *p = json_object_new_array();
      json_object_array_add(p, json_object_new_string(in->model->flows[s->arrivals[i].flow].id));
      json_object_array_add(p, json_object_new_int64(s->arrivals[i].count));
      json_object_array_add(a, p);
    }
    json_object_object_add(o, "arrivals", a);
  }
  return CF_OK;
}

int cf_engine_instance_save(const struct cf_engine_instance *in, struct cf_buf *out) {
  const struct cf_bpmn_model *m = in->model;
  struct json_object *o = json_object_new_object();
  if (!o) return CF_ENOMEM;
  int rc = CF_OK;
  json_object_object_add(o, "v", json_object_new_int(STATE_VERSION));
  json_object_object_add(o, "process", json_object_new_string(m->processes[in->process].id));
  json_object_object_add(o, "key", key_json(in->key));
  json_object_object_add(o, "state", json_object_new_int(in->state));
  json_object_object_add(o, "created", json_object_new_int64(in->created_ms));
  struct json_object *root = json_object_new_object();
  json_object_object_add(o, "root", root);
  if ((rc = scope_json(in, &in->root, root))) goto out;

  struct json_object *eis = json_object_new_array();
  json_object_object_add(o, "eis", eis);
  for (size_t i = 0; i < in->neis; i++) {
    const struct cf_engine_element_instance *e = &in->eis[i];
    struct json_object *j = json_object_new_object();
    json_object_array_add(eis, j);
    json_object_object_add(j, "key", key_json(e->key));
    json_object_object_add(j, "scope", key_json(e->scope_key));
    json_object_object_add(j, "el", json_object_new_string(m->elements[e->element].id));
    json_object_object_add(j, "state", json_object_new_int(e->state));
    if (e->job_key) json_object_object_add(j, "job", key_json(e->job_key));
    if (e->user_task_key) json_object_object_add(j, "task", key_json(e->user_task_key));
    if (e->incident_key) json_object_object_add(j, "incident", key_json(e->incident_key));
    if (in->priv[i].phase) json_object_object_add(j, "phase", json_object_new_int(in->priv[i].phase));
    if (e->body) {
      json_object_object_add(j, "body", json_object_new_boolean(1));
      json_object_object_add(j, "miCount", json_object_new_int64(in->priv[i].mi_count));
      json_object_object_add(j, "miNext", json_object_new_int64(in->priv[i].mi_next));
      json_object_object_add(j, "miDone", json_object_new_int64(in->priv[i].mi_done));
      struct json_object *items = NULL;
      if (in->priv[i].mi_items.type == CF_FEEL_LIST && (rc = value_json(&in->priv[i].mi_items, &items)))
        goto out;
      if (items) json_object_object_add(j, "miItems", items);
    }
    if (in->priv[i].mi_index) json_object_object_add(j, "miIndex", json_object_new_int64(in->priv[i].mi_index));
    if (in->priv[i].comp_thrower) json_object_object_add(j, "compThrower", key_json(in->priv[i].comp_thrower));
    if (in->priv[i].comp_scope) json_object_object_add(j, "compScope", key_json(in->priv[i].comp_scope));
    if (in->priv[i].ncomp) {
      struct json_object *q = json_object_new_array();
      for (uint32_t k = 0; k < in->priv[i].ncomp; k++) {
        struct json_object *st = json_object_new_array();
        json_object_array_add(st, json_object_new_string(m->elements[in->priv[i].comp_queue[k].element].id));
        json_object_array_add(st, key_json(in->priv[i].comp_queue[k].scope));
        json_object_array_add(q, st);
      }
      json_object_object_add(j, "compQueue", q);
      json_object_object_add(j, "compPos", json_object_new_int64(in->priv[i].comp_pos));
      json_object_object_add(j, "compDone", json_object_new_int64(in->priv[i].comp_done));
    }
    if ((rc = scope_json(in, &in->priv[i].scope, j))) goto out;
  }

  struct json_object *jobs = json_object_new_array();
  json_object_object_add(o, "jobs", jobs);
  for (size_t i = 0; i < in->njobs; i++) {
    const struct cf_engine_job *jb = &in->jobs[i];
    struct json_object *j = json_object_new_object();
    json_object_array_add(jobs, j);
    json_object_object_add(j, "key", key_json(jb->key));
    json_object_object_add(j, "ei", key_json(jb->element_instance_key));
    json_object_object_add(j, "el", json_object_new_string(m->elements[jb->element].id));
    json_object_object_add(j, "state", json_object_new_int(jb->state));
    json_object_object_add(j, "retries", json_object_new_int(jb->retries));
    json_object_object_add(j, "available", json_object_new_int64(jb->available_at_ms));
    json_object_object_add(j, "type", json_object_new_string(jb->type));
    if (jb->error_message) json_object_object_add(j, "error", json_object_new_string(jb->error_message));
    struct json_object *h = NULL;
    if (jb->headers.type == CF_FEEL_CONTEXT && (rc = value_json(&jb->headers, &h))) goto out;
    if (h) json_object_object_add(j, "headers", h);
  }

  struct json_object *tasks = json_object_new_array();
  json_object_object_add(o, "tasks", tasks);
  for (size_t i = 0; i < in->ntasks; i++) {
    const struct cf_engine_user_task *t = &in->tasks[i];
    struct json_object *j = json_object_new_object();
    json_object_array_add(tasks, j);
    json_object_object_add(j, "key", key_json(t->key));
    json_object_object_add(j, "ei", key_json(t->element_instance_key));
    json_object_object_add(j, "el", json_object_new_string(m->elements[t->element].id));
    json_object_object_add(j, "created", json_object_new_int64(t->created_ms));
    json_object_object_add(j, "assignee", str_json(t->assignee));
    struct json_object *g = NULL, *u = NULL;
    if ((rc = value_json(&t->candidate_groups, &g)) || (rc = value_json(&t->candidate_users, &u))) {
      json_object_put(g);
      goto out;
    }
    json_object_object_add(j, "groups", g);
    json_object_object_add(j, "users", u);
    json_object_object_add(j, "due", str_json(t->due_date));
    json_object_object_add(j, "followUp", str_json(t->follow_up_date));
    json_object_object_add(j, "priority", json_object_new_int(t->priority));
    json_object_object_add(j, "form", str_json(t->form_key));
  }

  struct json_object *incs = json_object_new_array();
  json_object_object_add(o, "incidents", incs);
  for (size_t i = 0; i < in->nincidents; i++) {
    const struct cf_engine_incident *c = &in->incidents[i];
    struct json_object *j = json_object_new_object();
    json_object_array_add(incs, j);
    json_object_object_add(j, "key", key_json(c->key));
    json_object_object_add(j, "ei", key_json(c->element_instance_key));
    json_object_object_add(j, "el", json_object_new_string(m->elements[c->element].id));
    json_object_object_add(j, "type", json_object_new_int(c->type));
    if (c->job_key) json_object_object_add(j, "job", key_json(c->job_key));
    json_object_object_add(j, "message", json_object_new_string(c->message));
    json_object_object_add(j, "created", json_object_new_int64(c->created_ms));
  }
  if (in->parent_instance) {
    json_object_object_add(o, "parent", key_json(in->parent_instance));
    json_object_object_add(o, "parentEi", key_json(in->parent_ei));
  }
  struct json_object *timers = json_object_new_array();
  json_object_object_add(o, "timers", timers);
  for (size_t i = 0; i < in->ntimers; i++) {
    const struct cf_engine_timer *t = &in->timers[i];
    const struct cf_schedule *sc = &in->scheds[i];
    struct json_object *j = json_object_new_object();
    json_object_array_add(timers, j);
    json_object_object_add(j, "key", key_json(t->key));
    json_object_object_add(j, "owner", key_json(t->owner_key));
    json_object_object_add(j, "el", json_object_new_string(m->elements[t->element].id));
    json_object_object_add(j, "due", json_object_new_int64(sc->due_ms));
    json_object_object_add(j, "remaining", json_object_new_int(sc->remaining));
    json_object_object_add(j, "everyMs", json_object_new_int64(sc->every_ms));
    json_object_object_add(j, "everyMonths", json_object_new_int(sc->every_months));
    if (sc->cron) json_object_object_add(j, "cron", json_object_new_string(sc->cron_text));
  }
  struct json_object *comps = json_object_new_array();
  json_object_object_add(o, "comps", comps);
  for (size_t i = 0; i < in->ncomps; i++) {
    const struct comp_record *c = &in->comps[i];
    struct json_object *j = json_object_new_object();
    json_object_array_add(comps, j);
    json_object_object_add(j, "ei", key_json(c->ei_key));
    json_object_object_add(j, "scope", key_json(c->scope_key));
    json_object_object_add(j, "el", json_object_new_string(m->elements[c->activity].id));
    if (c->handler >= 0) json_object_object_add(j, "handler", json_object_new_string(m->elements[c->handler].id));
  }
  struct json_object *subs = json_object_new_array();
  json_object_object_add(o, "subs", subs);
  for (size_t i = 0; i < in->nsubs; i++) {
    const struct cf_engine_subscription *sb = &in->subs[i];
    struct json_object *j = json_object_new_object();
    json_object_array_add(subs, j);
    json_object_object_add(j, "key", key_json(sb->key));
    json_object_object_add(j, "owner", key_json(sb->owner_key));
    json_object_object_add(j, "el", json_object_new_string(m->elements[sb->element].id));
    json_object_object_add(j, "kind", json_object_new_int(sb->kind));
    json_object_object_add(j, "name", json_object_new_string(sb->name));
    if (sb->correlation_key) json_object_object_add(j, "ck", json_object_new_string(sb->correlation_key));
  }
  {
    char *text = cf_json_dump(o);
    if (!text) {
      rc = CF_ENOMEM;
      goto out;
    }
    cf_buf_puts(out, text);
    cf_free(text);
    if (out->oom) rc = CF_ENOMEM;
  }
out:
  json_object_put(o);
  return rc;
}

/* ------------------------------------------------------------- load */

struct loader {
  const struct cf_bpmn_model *m;
  struct cf_error *err;
  bool bad;
};

static void bad(struct loader *l, const char *what) {
  if (!l->bad) cf_error_set(l->err, CF_EINVAL, "invalid instance state: %s", what);
  l->bad = true;
}

static struct json_object *field(struct json_object *o, const char *name) {
  struct json_object *v = NULL;
  if (o && json_object_is_type(o, json_type_object)) json_object_object_get_ex(o, name, &v);
  return v;
}

static uint64_t get_key(struct loader *l, struct json_object *o, const char *name, bool required) {
  struct json_object *v = field(o, name);
  if (!v) {
    if (required) bad(l, name);
    return 0;
  }
  const char *s = json_object_get_string(v);
  char *end;
  unsigned long long k = strtoull(s ? s : "", &end, 10);
  if (!s || !*s || *end) bad(l, name);
  return k;
}

static int64_t get_int(struct loader *l, struct json_object *o, const char *name, bool required) {
  struct json_object *v = field(o, name);
  if (!v) {
    if (required) bad(l, name);
    return 0;
  }
  if (!json_object_is_type(v, json_type_int)) bad(l, name);
  return json_object_get_int64(v);
}

static char *get_str(struct loader *l, struct json_object *o, const char *name, bool required) {
  struct json_object *v = field(o, name);
  if (!v || json_object_is_type(v, json_type_null)) {
    if (required) bad(l, name);
    return NULL;
  }
  if (!json_object_is_type(v, json_type_string)) {
    bad(l, name);
    return NULL;
  }
  char *s = cf_strdup(json_object_get_string(v));
  if (!s) bad(l, "out of memory");
  return s;
}

static uint32_t get_element(struct loader *l, struct json_object *o) {
  struct json_object *v = field(o, "el");
  const char *id = v ? json_object_get_string(v) : NULL;
  int32_t e = id ? cf_bpmn_find_element(l->m, id) : -1;
  if (e < 0) {
    bad(l, "an element id the model does not have");
    return 0;
  }
  return (uint32_t)e;
}

static void get_value(struct loader *l, struct json_object *o, const char *name,
                      struct cf_feel_value *out) {
  cf_feel_set_null(out);
  struct json_object *v = field(o, name);
  if (v && cf_feel_from_json(v, out)) bad(l, name);
}

static void get_scope(struct loader *l, struct json_object *o, struct scope_data *s) {
  get_value(l, o, "vars", &s->vars);
  if (s->vars.type != CF_FEEL_CONTEXT && s->vars.type != CF_FEEL_NULL) bad(l, "vars");
  s->tokens = (uint32_t)get_int(l, o, "tokens", true);
  struct json_object *a = field(o, "arrivals");
  if (!a) return;
  size_t n = json_object_array_length(a);
  s->arrivals = n ? cf_calloc(n, sizeof *s->arrivals) : NULL;
  if (n && !s->arrivals) {
    bad(l, "out of memory");
    return;
  }
  for (size_t i = 0; i < n; i++) {
    struct json_object *p = json_object_array_get_idx(a, i);
    const char *fid = json_object_get_string(json_object_array_get_idx(p, 0));
    int32_t f = -1;
    for (uint32_t k = 0; fid && k < l->m->nflows; k++)
      if (!strcmp(l->m->flows[k].id, fid)) f = (int32_t)k;
    if (f < 0) {
      bad(l, "a sequence flow id the model does not have");
      return;
    }
    s->arrivals[i].flow = (uint32_t)f;
    s->arrivals[i].count = (uint32_t)json_object_get_int64(json_object_array_get_idx(p, 1));
    s->narrivals++;
  }
}

static struct json_object *array(struct loader *l, struct json_object *o, const char *name) {
  struct json_object *a = field(o, name);
  if (!a || !json_object_is_type(a, json_type_array)) {
    bad(l, name);
    return NULL;
  }
  return a;
}

struct cf_engine_instance *cf_engine_instance_load(const struct cf_bpmn_model *model,
                                                   const char *text, size_t len,
                                                   struct cf_error *err) {
  struct json_object *o = cf_json_parse(text, len, err);
  if (!o) {
    if (err && err->code == CF_OK) cf_error_set(err, CF_EINVAL, "invalid instance state: null");
    return NULL;
  }
  struct loader l = {model, err, false};
  struct cf_engine_instance *in = cf_calloc(1, sizeof *in);
  if (!in) {
    json_object_put(o);
    cf_error_set(err, CF_ENOMEM, "out of memory");
    return NULL;
  }
  in->model = model;
  cf_feel_set_null(&in->root.vars);
  if (get_int(&l, o, "v", true) != STATE_VERSION) bad(&l, "unknown version");
  struct json_object *pv = field(o, "process");
  int32_t p = pv ? cf_bpmn_find_process(model, json_object_get_string(pv)) : -1;
  if (p < 0) bad(&l, "a process id the model does not have");
  in->process = p < 0 ? 0 : (uint32_t)p;
  in->key = get_key(&l, o, "key", true);
  in->state = (uint8_t)get_int(&l, o, "state", true);
  in->created_ms = get_int(&l, o, "created", false);
  get_scope(&l, field(o, "root"), &in->root);

  struct json_object *a = array(&l, o, "eis");
  size_t n = a ? json_object_array_length(a) : 0;
  if (n) {
    in->eis = cf_calloc(n, sizeof *in->eis);
    in->priv = cf_calloc(n, sizeof *in->priv);
    if (!in->eis || !in->priv) bad(&l, "out of memory");
    else in->capeis = n;
  }
  for (size_t i = 0; !l.bad && i < n; i++) {
    struct json_object *j = json_object_array_get_idx(a, i);
    struct cf_engine_element_instance *e = &in->eis[i];
    e->key = get_key(&l, j, "key", true);
    e->scope_key = get_key(&l, j, "scope", true);
    e->element = get_element(&l, j);
    e->state = (uint8_t)get_int(&l, j, "state", true);
    e->job_key = get_key(&l, j, "job", false);
    e->user_task_key = get_key(&l, j, "task", false);
    e->incident_key = get_key(&l, j, "incident", false);
    in->priv[i].phase = (uint8_t)get_int(&l, j, "phase", false);
    cf_feel_set_null(&in->priv[i].pending);
    struct json_object *bv = field(j, "body");
    e->body = bv && json_object_get_boolean(bv);
    in->priv[i].mi_count = (uint32_t)get_int(&l, j, "miCount", false);
    in->priv[i].mi_next = (uint32_t)get_int(&l, j, "miNext", false);
    in->priv[i].mi_done = (uint32_t)get_int(&l, j, "miDone", false);
    in->priv[i].mi_index = (uint32_t)get_int(&l, j, "miIndex", false);
    get_value(&l, j, "miItems", &in->priv[i].mi_items);
    in->priv[i].comp_thrower = get_key(&l, j, "compThrower", false);
    in->priv[i].comp_scope = get_key(&l, j, "compScope", false);
    struct json_object *cq = field(j, "compQueue");
    if (cq && json_object_is_type(cq, json_type_array) && json_object_array_length(cq)) {
      size_t nq = json_object_array_length(cq);
      in->priv[i].comp_queue = cf_calloc(nq, sizeof *in->priv[i].comp_queue);
      if (!in->priv[i].comp_queue) bad(&l, "out of memory");
      for (size_t k = 0; !l.bad && k < nq; k++) {
        struct json_object *st = json_object_array_get_idx(cq, k);
        const char *id = json_object_get_string(json_object_array_get_idx(st, 0));
        const char *sk = json_object_get_string(json_object_array_get_idx(st, 1));
        int32_t h = id ? cf_bpmn_find_element(model, id) : -1;
        if (h < 0 || !sk) {
          bad(&l, "an element id the model does not have");
        } else {
          in->priv[i].comp_queue[in->priv[i].ncomp++] =
              (struct comp_step){(uint32_t)h, strtoull(sk, NULL, 10)};
        }
      }
      in->priv[i].comp_pos = (uint32_t)get_int(&l, j, "compPos", true);
      in->priv[i].comp_done = (uint32_t)get_int(&l, j, "compDone", false);
    }
    get_scope(&l, j, &in->priv[i].scope);
    in->neis++;
  }

  a = array(&l, o, "jobs");
  n = a ? json_object_array_length(a) : 0;
  if (n && !l.bad) {
    in->jobs = cf_calloc(n, sizeof *in->jobs);
    if (!in->jobs) bad(&l, "out of memory");
    else in->capjobs = n;
  }
  for (size_t i = 0; !l.bad && i < n; i++) {
    struct json_object *j = json_object_array_get_idx(a, i);
    struct cf_engine_job *jb = &in->jobs[i];
    cf_feel_set_null(&jb->headers);
    in->njobs++;
    jb->key = get_key(&l, j, "key", true);
    jb->element_instance_key = get_key(&l, j, "ei", true);
    jb->element = get_element(&l, j);
    jb->state = (uint8_t)get_int(&l, j, "state", true);
    jb->retries = (int32_t)get_int(&l, j, "retries", true);
    jb->available_at_ms = get_int(&l, j, "available", true);
    jb->type = get_str(&l, j, "type", true);
    jb->error_message = get_str(&l, j, "error", false);
    get_value(&l, j, "headers", &jb->headers);
  }

  a = array(&l, o, "tasks");
  n = a ? json_object_array_length(a) : 0;
  if (n && !l.bad) {
    in->tasks = cf_calloc(n, sizeof *in->tasks);
    if (!in->tasks) bad(&l, "out of memory");
    else in->captasks = n;
  }
  for (size_t i = 0; !l.bad && i < n; i++) {
    struct json_object *j = json_object_array_get_idx(a, i);
    struct cf_engine_user_task *t = &in->tasks[i];
    cf_feel_set_null(&t->candidate_groups);
    cf_feel_set_null(&t->candidate_users);
    in->ntasks++;
    t->key = get_key(&l, j, "key", true);
    t->element_instance_key = get_key(&l, j, "ei", true);
    t->element = get_element(&l, j);
    t->created_ms = get_int(&l, j, "created", true);
    t->assignee = get_str(&l, j, "assignee", false);
    get_value(&l, j, "groups", &t->candidate_groups);
    get_value(&l, j, "users", &t->candidate_users);
    t->due_date = get_str(&l, j, "due", false);
    t->follow_up_date = get_str(&l, j, "followUp", false);
    t->priority = (int32_t)get_int(&l, j, "priority", true);
    t->form_key = get_str(&l, j, "form", false);
  }

  a = array(&l, o, "incidents");
  n = a ? json_object_array_length(a) : 0;
  if (n && !l.bad) {
    in->incidents = cf_calloc(n, sizeof *in->incidents);
    if (!in->incidents) bad(&l, "out of memory");
    else in->capincidents = n;
  }
  for (size_t i = 0; !l.bad && i < n; i++) {
    struct json_object *j = json_object_array_get_idx(a, i);
    struct cf_engine_incident *c = &in->incidents[i];
    in->nincidents++;
    c->key = get_key(&l, j, "key", true);
    c->element_instance_key = get_key(&l, j, "ei", true);
    c->element = get_element(&l, j);
    c->type = (uint8_t)get_int(&l, j, "type", true);
    c->job_key = get_key(&l, j, "job", false);
    c->message = get_str(&l, j, "message", true);
    c->created_ms = get_int(&l, j, "created", true);
  }
  in->parent_instance = get_key(&l, o, "parent", false);
  in->parent_ei = get_key(&l, o, "parentEi", false);
  a = field(o, "timers");
  n = a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
  if (n && !l.bad) {
    in->timers = cf_calloc(n, sizeof *in->timers);
    in->scheds = cf_calloc(n, sizeof *in->scheds);
    if (!in->timers || !in->scheds) bad(&l, "out of memory");
    else in->captimers = n;
  }
  for (size_t i = 0; !l.bad && i < n; i++) {
    struct json_object *j = json_object_array_get_idx(a, i);
    struct cf_engine_timer *t = &in->timers[i];
    struct cf_schedule *sc = &in->scheds[i];
    t->key = get_key(&l, j, "key", true);
    t->owner_key = get_key(&l, j, "owner", true);
    t->element = get_element(&l, j);
    sc->due_ms = t->due_ms = get_int(&l, j, "due", true);
    sc->remaining = t->remaining = (int32_t)get_int(&l, j, "remaining", true);
    sc->every_ms = get_int(&l, j, "everyMs", false);
    sc->every_months = (int32_t)get_int(&l, j, "everyMonths", false);
    char *cron = get_str(&l, j, "cron", false);
    if (cron) {
      sc->cron = true;
      snprintf(sc->cron_text, sizeof sc->cron_text, "%s", cron);
      cf_free(cron);
    }
    in->ntimers++;
  }
  a = field(o, "comps");
  n = a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
  if (n && !l.bad) {
    in->comps = cf_calloc(n, sizeof *in->comps);
    if (!in->comps) bad(&l, "out of memory");
    else in->capcomps = n;
  }
  for (size_t i = 0; !l.bad && i < n; i++) {
    struct json_object *j = json_object_array_get_idx(a, i);
    struct comp_record *c = &in->comps[i];
    c->ei_key = get_key(&l, j, "ei", true);
    c->scope_key = get_key(&l, j, "scope", true);
    c->activity = get_element(&l, j);
    struct json_object *h = field(j, "handler");
    c->handler = h ? cf_bpmn_find_element(model, json_object_get_string(h)) : -1;
    if (h && c->handler < 0) bad(&l, "an element id the model does not have");
    in->ncomps++;
  }
  a = field(o, "subs");
  n = a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
  if (n && !l.bad) {
    in->subs = cf_calloc(n, sizeof *in->subs);
    if (!in->subs) bad(&l, "out of memory");
    else in->capsubs = n;
  }
  for (size_t i = 0; !l.bad && i < n; i++) {
    struct json_object *j = json_object_array_get_idx(a, i);
    struct cf_engine_subscription *sb = &in->subs[i];
    in->nsubs++;
    sb->key = get_key(&l, j, "key", true);
    sb->owner_key = get_key(&l, j, "owner", true);
    sb->element = get_element(&l, j);
    sb->kind = (uint8_t)get_int(&l, j, "kind", true);
    sb->name = get_str(&l, j, "name", true);
    sb->correlation_key = get_str(&l, j, "ck", false);
  }
  json_object_put(o);
  if (l.bad) {
    cf_engine_instance_free(in);
    return NULL;
  }
  return in;
}
