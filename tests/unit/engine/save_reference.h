/*
 * The instance state writer as it was before engine_save.c wrote JSON text
 * directly (a json-c object tree, then cf_json_dump): kept here, in the
 * tests only, as the reference the new writer must match byte for byte.
 * Header-only (static inline) so that each engine test program can use it.
 */
#ifndef CF_TEST_ENGINE_SAVE_REFERENCE_H
#define CF_TEST_ENGINE_SAVE_REFERENCE_H

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_json.h"
#include "engine/engine_int.h"

static inline struct json_object *ref_key_json(uint64_t k) {
  char buf[24];
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)k);
  return json_object_new_string(buf);
}

static inline int ref_value_json(const struct cf_feel_value *v, struct json_object **out) {
  return cf_feel_to_json(v, out);
}

static inline struct json_object *ref_str_json(const char *s) { return s ? json_object_new_string(s) : NULL; }

static inline int ref_scope_json(const struct cf_engine_instance *in, const struct scope_data *s,
                      struct json_object *o) {
  struct json_object *vars = NULL;
  if (s->vars.type == CF_FEEL_CONTEXT && ref_value_json(&s->vars, &vars)) return CF_ENOMEM;
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

static inline int ref_instance_save(const struct cf_engine_instance *in, struct cf_buf *out) {
  const struct cf_bpmn_model *m = in->model;
  struct json_object *o = json_object_new_object();
  if (!o) return CF_ENOMEM;
  int rc = CF_OK;
  json_object_object_add(o, "v", json_object_new_int(1));
  json_object_object_add(o, "process", json_object_new_string(m->processes[in->process].id));
  json_object_object_add(o, "key", ref_key_json(in->key));
  json_object_object_add(o, "state", json_object_new_int(in->state));
  json_object_object_add(o, "created", json_object_new_int64(in->created_ms));
  struct json_object *root = json_object_new_object();
  json_object_object_add(o, "root", root);
  if ((rc = ref_scope_json(in, &in->root, root))) goto out;

  struct json_object *eis = json_object_new_array();
  json_object_object_add(o, "eis", eis);
  for (size_t i = 0; i < in->neis; i++) {
    const struct cf_engine_element_instance *e = &in->eis[i];
    struct json_object *j = json_object_new_object();
    json_object_array_add(eis, j);
    json_object_object_add(j, "key", ref_key_json(e->key));
    json_object_object_add(j, "scope", ref_key_json(e->scope_key));
    json_object_object_add(j, "el", json_object_new_string(m->elements[e->element].id));
    json_object_object_add(j, "state", json_object_new_int(e->state));
    if (e->job_key) json_object_object_add(j, "job", ref_key_json(e->job_key));
    if (e->user_task_key) json_object_object_add(j, "task", ref_key_json(e->user_task_key));
    if (e->incident_key) json_object_object_add(j, "incident", ref_key_json(e->incident_key));
    if (in->priv[i].phase) json_object_object_add(j, "phase", json_object_new_int(in->priv[i].phase));
    if (e->body) {
      json_object_object_add(j, "body", json_object_new_boolean(1));
      json_object_object_add(j, "miCount", json_object_new_int64(in->priv[i].mi_count));
      json_object_object_add(j, "miNext", json_object_new_int64(in->priv[i].mi_next));
      json_object_object_add(j, "miDone", json_object_new_int64(in->priv[i].mi_done));
      struct json_object *items = NULL;
      if (in->priv[i].mi_items.type == CF_FEEL_LIST && (rc = ref_value_json(&in->priv[i].mi_items, &items)))
        goto out;
      if (items) json_object_object_add(j, "miItems", items);
    }
    if (in->priv[i].mi_index) json_object_object_add(j, "miIndex", json_object_new_int64(in->priv[i].mi_index));
    if (in->priv[i].comp_thrower) json_object_object_add(j, "compThrower", ref_key_json(in->priv[i].comp_thrower));
    if (in->priv[i].comp_scope) json_object_object_add(j, "compScope", ref_key_json(in->priv[i].comp_scope));
    if (in->priv[i].ncomp) {
      struct json_object *q = json_object_new_array();
      for (uint32_t k = 0; k < in->priv[i].ncomp; k++) {
        struct json_object *st = json_object_new_array();
        json_object_array_add(st, json_object_new_string(m->elements[in->priv[i].comp_queue[k].element].id));
        json_object_array_add(st, ref_key_json(in->priv[i].comp_queue[k].scope));
        json_object_array_add(q, st);
      }
      json_object_object_add(j, "compQueue", q);
      json_object_object_add(j, "compPos", json_object_new_int64(in->priv[i].comp_pos));
      json_object_object_add(j, "compDone", json_object_new_int64(in->priv[i].comp_done));
    }
    if ((rc = ref_scope_json(in, &in->priv[i].scope, j))) goto out;
  }

  struct json_object *jobs = json_object_new_array();
  json_object_object_add(o, "jobs", jobs);
  for (size_t i = 0; i < in->njobs; i++) {
    const struct cf_engine_job *jb = &in->jobs[i];
    struct json_object *j = json_object_new_object();
    json_object_array_add(jobs, j);
    json_object_object_add(j, "key", ref_key_json(jb->key));
    json_object_object_add(j, "ei", ref_key_json(jb->element_instance_key));
    json_object_object_add(j, "el", json_object_new_string(m->elements[jb->element].id));
    json_object_object_add(j, "state", json_object_new_int(jb->state));
    json_object_object_add(j, "retries", json_object_new_int(jb->retries));
    json_object_object_add(j, "available", json_object_new_int64(jb->available_at_ms));
    json_object_object_add(j, "type", json_object_new_string(jb->type));
    if (jb->error_message) json_object_object_add(j, "error", json_object_new_string(jb->error_message));
    struct json_object *h = NULL;
    if (jb->headers.type == CF_FEEL_CONTEXT && (rc = ref_value_json(&jb->headers, &h))) goto out;
    if (h) json_object_object_add(j, "headers", h);
  }

  struct json_object *tasks = json_object_new_array();
  json_object_object_add(o, "tasks", tasks);
  for (size_t i = 0; i < in->ntasks; i++) {
    const struct cf_engine_user_task *t = &in->tasks[i];
    struct json_object *j = json_object_new_object();
    json_object_array_add(tasks, j);
    json_object_object_add(j, "key", ref_key_json(t->key));
    json_object_object_add(j, "ei", ref_key_json(t->element_instance_key));
    json_object_object_add(j, "el", json_object_new_string(m->elements[t->element].id));
    json_object_object_add(j, "created", json_object_new_int64(t->created_ms));
    json_object_object_add(j, "assignee", ref_str_json(t->assignee));
    struct json_object *g = NULL, *u = NULL;
    if ((rc = ref_value_json(&t->candidate_groups, &g)) || (rc = ref_value_json(&t->candidate_users, &u))) {
      json_object_put(g);
      goto out;
    }
    json_object_object_add(j, "groups", g);
    json_object_object_add(j, "users", u);
    json_object_object_add(j, "due", ref_str_json(t->due_date));
    json_object_object_add(j, "followUp", ref_str_json(t->follow_up_date));
    json_object_object_add(j, "priority", json_object_new_int(t->priority));
    json_object_object_add(j, "form", ref_str_json(t->form_key));
  }

  struct json_object *incs = json_object_new_array();
  json_object_object_add(o, "incidents", incs);
  for (size_t i = 0; i < in->nincidents; i++) {
    const struct cf_engine_incident *c = &in->incidents[i];
    struct json_object *j = json_object_new_object();
    json_object_array_add(incs, j);
    json_object_object_add(j, "key", ref_key_json(c->key));
    json_object_object_add(j, "ei", ref_key_json(c->element_instance_key));
    json_object_object_add(j, "el", json_object_new_string(m->elements[c->element].id));
    json_object_object_add(j, "type", json_object_new_int(c->type));
    if (c->job_key) json_object_object_add(j, "job", ref_key_json(c->job_key));
    json_object_object_add(j, "message", json_object_new_string(c->message));
    json_object_object_add(j, "created", json_object_new_int64(c->created_ms));
  }
  if (in->parent_instance) {
    json_object_object_add(o, "parent", ref_key_json(in->parent_instance));
    json_object_object_add(o, "parentEi", ref_key_json(in->parent_ei));
  }
  struct json_object *timers = json_object_new_array();
  json_object_object_add(o, "timers", timers);
  for (size_t i = 0; i < in->ntimers; i++) {
    const struct cf_engine_timer *t = &in->timers[i];
    const struct cf_schedule *sc = &in->scheds[i];
    struct json_object *j = json_object_new_object();
    json_object_array_add(timers, j);
    json_object_object_add(j, "key", ref_key_json(t->key));
    json_object_object_add(j, "owner", ref_key_json(t->owner_key));
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
    json_object_object_add(j, "ei", ref_key_json(c->ei_key));
    json_object_object_add(j, "scope", ref_key_json(c->scope_key));
    json_object_object_add(j, "el", json_object_new_string(m->elements[c->activity].id));
    if (c->handler >= 0) json_object_object_add(j, "handler", json_object_new_string(m->elements[c->handler].id));
  }
  struct json_object *subs = json_object_new_array();
  json_object_object_add(o, "subs", subs);
  for (size_t i = 0; i < in->nsubs; i++) {
    const struct cf_engine_subscription *sb = &in->subs[i];
    struct json_object *j = json_object_new_object();
    json_object_array_add(subs, j);
    json_object_object_add(j, "key", ref_key_json(sb->key));
    json_object_object_add(j, "owner", ref_key_json(sb->owner_key));
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

/* The reference text of in's state (new; free with cf_free), or NULL on oom. */
static inline char *ref_instance_save_text(const struct cf_engine_instance *in) {
  struct cf_buf b;
  cf_buf_init(&b);
  if (ref_instance_save(in, &b)) {
    cf_buf_release(&b);
    return NULL;
  }
  return cf_buf_detach(&b);
}

#endif
