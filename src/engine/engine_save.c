/*
 * Persistence of an instance: its whole state as versioned JSON.
 *
 * Elements and flows are written by id, not by index, so a state is never
 * silently applied to another model: an id the model lacks refuses the load.
 * Keys are decimal strings (64-bit), numbers in variables keep every digit.
 * Saving writes the text directly (it runs after every command); loading
 * parses it with json-c.
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

/*
 * The state is written as JSON text straight into the caller's buffer, with
 * no json-c tree in between: saving follows every command, so it must cost
 * no allocation beyond the buffer's growth. The text is the one the json-c
 * writer this replaced gave (fields in the same order, optional ones left
 * out the same way, compact), which the loader below reads; the unit tests
 * keep that writer as their reference (tests/unit/engine/save_reference.h).
 */

/* Appends a string literal (its length known at compile time): a literal only, never a pointer. */
#define PUT(b, lit) cf_buf_append((b), "" lit, sizeof(lit) - 1)

static void put_u64(struct cf_buf *b, uint64_t n) {
  char buf[24], *p = buf + sizeof buf;
  do {
    *--p = (char)('0' + n % 10);
    n /= 10;
  } while (n);
  cf_buf_append(b, p, (size_t)(buf + sizeof buf - p));
}

static void put_int(struct cf_buf *b, int64_t n) {
  if (n < 0) {
    cf_buf_putc(b, '-');
    put_u64(b, (uint64_t)0 - (uint64_t)n);
  } else {
    put_u64(b, (uint64_t)n);
  }
}

/* A key: a decimal string, since JSON readers lose 64-bit integers. */
static void put_key(struct cf_buf *b, uint64_t k) {
  cf_buf_putc(b, '"');
  put_u64(b, k);
  cf_buf_putc(b, '"');
}

/*
 * A string, or null for NULL. Ids and types seldom need an escape: then one
 * reserve and one copy, else cf_buf_json_string (escaping as json-c does).
 */
static void put_str(struct cf_buf *b, const char *s) {
  if (!s) {
    PUT(b, "null");
    return;
  }
  size_t n = 0;
  while (s[n] && (unsigned char)s[n] >= 0x20 && s[n] != '"' && s[n] != '\\') n++;
  if (s[n]) {
    cf_buf_json_string(b, s, n + strlen(s + n));
    return;
  }
  if (cf_buf_reserve(b, n + 2)) return;
  char *p = b->data + b->len;
  p[0] = '"';
  memcpy(p + 1, s, n);
  p[n + 1] = '"';
  p[n + 2] = '\0';
  b->len += n + 2;
}

/* The fields of a scope ("vars", "tokens", "arrivals"), no braces. */
static void put_scope(struct cf_buf *b, const struct cf_engine_instance *in,
                      const struct scope_data *s) {
  PUT(b, "\"vars\":");
  if (s->vars.type == CF_FEEL_CONTEXT) cf_feel_write_json(&s->vars, b);
  else PUT(b, "null");
  PUT(b, ",\"tokens\":");
  put_int(b, s->tokens);
  if (s->narrivals) {
    PUT(b, ",\"arrivals\":[");
    for (uint32_t i = 0; i < s->narrivals; i++) {
      if (i) cf_buf_putc(b, ',');
      cf_buf_putc(b, '[');
      put_str(b, in->model->flows[s->arrivals[i].flow].id);
      cf_buf_putc(b, ',');
      put_int(b, s->arrivals[i].count);
      cf_buf_putc(b, ']');
    }
    cf_buf_putc(b, ']');
  }
}

static void put_element_instance(struct cf_buf *b, const struct cf_engine_instance *in, size_t i) {
  const struct cf_bpmn_model *m = in->model;
  const struct cf_engine_element_instance *e = &in->eis[i];
  const struct ei_priv *p = &in->priv[i];
  PUT(b, "{\"key\":");
  put_key(b, e->key);
  PUT(b, ",\"scope\":");
  put_key(b, e->scope_key);
  PUT(b, ",\"el\":");
  put_str(b, m->elements[e->element].id);
  PUT(b, ",\"state\":");
  put_int(b, e->state);
  if (e->job_key) {
    PUT(b, ",\"job\":");
    put_key(b, e->job_key);
  }
  if (e->user_task_key) {
    PUT(b, ",\"task\":");
    put_key(b, e->user_task_key);
  }
  if (e->incident_key) {
    PUT(b, ",\"incident\":");
    put_key(b, e->incident_key);
  }
  if (p->phase) {
    PUT(b, ",\"phase\":");
    put_int(b, p->phase);
  }
  if (e->body) {
    PUT(b, ",\"body\":true,\"miCount\":");
    put_int(b, p->mi_count);
    PUT(b, ",\"miNext\":");
    put_int(b, p->mi_next);
    PUT(b, ",\"miDone\":");
    put_int(b, p->mi_done);
    if (p->mi_items.type == CF_FEEL_LIST) {
      PUT(b, ",\"miItems\":");
      cf_feel_write_json(&p->mi_items, b);
    }
  }
  if (p->mi_index) {
    PUT(b, ",\"miIndex\":");
    put_int(b, p->mi_index);
  }
  if (p->comp_thrower) {
    PUT(b, ",\"compThrower\":");
    put_key(b, p->comp_thrower);
  }
  if (p->comp_scope) {
    PUT(b, ",\"compScope\":");
    put_key(b, p->comp_scope);
  }
  if (p->ncomp) {
    PUT(b, ",\"compQueue\":[");
    for (uint32_t k = 0; k < p->ncomp; k++) {
      if (k) cf_buf_putc(b, ',');
      cf_buf_putc(b, '[');
      put_str(b, m->elements[p->comp_queue[k].element].id);
      cf_buf_putc(b, ',');
      put_key(b, p->comp_queue[k].scope);
      cf_buf_putc(b, ']');
    }
    PUT(b, "],\"compPos\":");
    put_int(b, p->comp_pos);
    PUT(b, ",\"compDone\":");
    put_int(b, p->comp_done);
  }
  cf_buf_putc(b, ',');
  put_scope(b, in, &p->scope);
  cf_buf_putc(b, '}');
}

static void put_job(struct cf_buf *b, const struct cf_bpmn_model *m, const struct cf_engine_job *jb) {
  PUT(b, "{\"key\":");
  put_key(b, jb->key);
  PUT(b, ",\"ei\":");
  put_key(b, jb->element_instance_key);
  PUT(b, ",\"el\":");
  put_str(b, m->elements[jb->element].id);
  PUT(b, ",\"state\":");
  put_int(b, jb->state);
  PUT(b, ",\"retries\":");
  put_int(b, jb->retries);
  PUT(b, ",\"available\":");
  put_int(b, jb->available_at_ms);
  PUT(b, ",\"type\":");
  put_str(b, jb->type);
  if (jb->error_message) {
    PUT(b, ",\"error\":");
    put_str(b, jb->error_message);
  }
  if (jb->headers.type == CF_FEEL_CONTEXT) {
    PUT(b, ",\"headers\":");
    cf_feel_write_json(&jb->headers, b);
  }
  cf_buf_putc(b, '}');
}

static void put_user_task(struct cf_buf *b, const struct cf_bpmn_model *m,
                          const struct cf_engine_user_task *t) {
  PUT(b, "{\"key\":");
  put_key(b, t->key);
  PUT(b, ",\"ei\":");
  put_key(b, t->element_instance_key);
  PUT(b, ",\"el\":");
  put_str(b, m->elements[t->element].id);
  PUT(b, ",\"created\":");
  put_int(b, t->created_ms);
  PUT(b, ",\"assignee\":");
  put_str(b, t->assignee);
  PUT(b, ",\"groups\":");
  cf_feel_write_json(&t->candidate_groups, b);
  PUT(b, ",\"users\":");
  cf_feel_write_json(&t->candidate_users, b);
  PUT(b, ",\"due\":");
  put_str(b, t->due_date);
  PUT(b, ",\"followUp\":");
  put_str(b, t->follow_up_date);
  PUT(b, ",\"priority\":");
  put_int(b, t->priority);
  PUT(b, ",\"form\":");
  put_str(b, t->form_key);
  cf_buf_putc(b, '}');
}

static void put_incident(struct cf_buf *b, const struct cf_bpmn_model *m,
                         const struct cf_engine_incident *c) {
  PUT(b, "{\"key\":");
  put_key(b, c->key);
  PUT(b, ",\"ei\":");
  put_key(b, c->element_instance_key);
  PUT(b, ",\"el\":");
  put_str(b, m->elements[c->element].id);
  PUT(b, ",\"type\":");
  put_int(b, c->type);
  if (c->job_key) {
    PUT(b, ",\"job\":");
    put_key(b, c->job_key);
  }
  PUT(b, ",\"message\":");
  put_str(b, c->message);
  PUT(b, ",\"created\":");
  put_int(b, c->created_ms);
  cf_buf_putc(b, '}');
}

static void put_timer(struct cf_buf *b, const struct cf_bpmn_model *m, const struct cf_engine_timer *t,
                      const struct cf_schedule *sc) {
  PUT(b, "{\"key\":");
  put_key(b, t->key);
  PUT(b, ",\"owner\":");
  put_key(b, t->owner_key);
  PUT(b, ",\"el\":");
  put_str(b, m->elements[t->element].id);
  PUT(b, ",\"due\":");
  put_int(b, sc->due_ms);
  PUT(b, ",\"remaining\":");
  put_int(b, sc->remaining);
  PUT(b, ",\"everyMs\":");
  put_int(b, sc->every_ms);
  PUT(b, ",\"everyMonths\":");
  put_int(b, sc->every_months);
  if (sc->cron) {
    PUT(b, ",\"cron\":");
    put_str(b, sc->cron_text);
  }
  cf_buf_putc(b, '}');
}

static void put_comp(struct cf_buf *b, const struct cf_bpmn_model *m, const struct comp_record *c) {
  PUT(b, "{\"ei\":");
  put_key(b, c->ei_key);
  PUT(b, ",\"scope\":");
  put_key(b, c->scope_key);
  PUT(b, ",\"el\":");
  put_str(b, m->elements[c->activity].id);
  if (c->handler >= 0) {
    PUT(b, ",\"handler\":");
    put_str(b, m->elements[c->handler].id);
  }
  cf_buf_putc(b, '}');
}

static void put_sub(struct cf_buf *b, const struct cf_bpmn_model *m,
                    const struct cf_engine_subscription *sb) {
  PUT(b, "{\"key\":");
  put_key(b, sb->key);
  PUT(b, ",\"owner\":");
  put_key(b, sb->owner_key);
  PUT(b, ",\"el\":");
  put_str(b, m->elements[sb->element].id);
  PUT(b, ",\"kind\":");
  put_int(b, sb->kind);
  PUT(b, ",\"name\":");
  put_str(b, sb->name);
  if (sb->correlation_key) {
    PUT(b, ",\"ck\":");
    put_str(b, sb->correlation_key);
  }
  cf_buf_putc(b, '}');
}

int cf_engine_instance_save(const struct cf_engine_instance *in, struct cf_buf *out) {
  const struct cf_bpmn_model *m = in->model;
  struct cf_buf *b = out;
  size_t mark = b->len;
  PUT(b, "{\"v\":");
  put_int(b, STATE_VERSION);
  PUT(b, ",\"process\":");
  put_str(b, m->processes[in->process].id);
  PUT(b, ",\"key\":");
  put_key(b, in->key);
  PUT(b, ",\"state\":");
  put_int(b, in->state);
  PUT(b, ",\"created\":");
  put_int(b, in->created_ms);
  PUT(b, ",\"root\":{");
  put_scope(b, in, &in->root);
  PUT(b, "},\"eis\":[");
  for (size_t i = 0; i < in->neis; i++) {
    if (i) cf_buf_putc(b, ',');
    put_element_instance(b, in, i);
  }
  PUT(b, "],\"jobs\":[");
  for (size_t i = 0; i < in->njobs; i++) {
    if (i) cf_buf_putc(b, ',');
    put_job(b, m, &in->jobs[i]);
  }
  PUT(b, "],\"tasks\":[");
  for (size_t i = 0; i < in->ntasks; i++) {
    if (i) cf_buf_putc(b, ',');
    put_user_task(b, m, &in->tasks[i]);
  }
  PUT(b, "],\"incidents\":[");
  for (size_t i = 0; i < in->nincidents; i++) {
    if (i) cf_buf_putc(b, ',');
    put_incident(b, m, &in->incidents[i]);
  }
  cf_buf_putc(b, ']');
  if (in->parent_instance) {
    PUT(b, ",\"parent\":");
    put_key(b, in->parent_instance);
    PUT(b, ",\"parentEi\":");
    put_key(b, in->parent_ei);
  }
  PUT(b, ",\"timers\":[");
  for (size_t i = 0; i < in->ntimers; i++) {
    if (i) cf_buf_putc(b, ',');
    put_timer(b, m, &in->timers[i], &in->scheds[i]);
  }
  PUT(b, "],\"comps\":[");
  for (size_t i = 0; i < in->ncomps; i++) {
    if (i) cf_buf_putc(b, ',');
    put_comp(b, m, &in->comps[i]);
  }
  PUT(b, "],\"subs\":[");
  for (size_t i = 0; i < in->nsubs; i++) {
    if (i) cf_buf_putc(b, ',');
    put_sub(b, m, &in->subs[i]);
  }
  PUT(b, "]}");
  if (b->oom) {
    /* No half-written state: the buffer keeps what it had (and stays failed). */
    if (b->cap) {
      b->len = mark;
      b->data[mark] = '\0';
    }
    return CF_ENOMEM;
  }
  return CF_OK;
}

#undef PUT

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
