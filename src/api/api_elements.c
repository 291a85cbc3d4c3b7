/*
 * Element instances and variables (shared/camunda-rest.md §2.13, 2.14).
 *
 * Neither has rows of its own in the store: an instance's element
 * instances are in its history (activated, completed, terminated), its
 * variables in its saved engine state. So these searches work on one
 * process instance at a time (filter.processInstanceKey is required) and
 * filter in memory with plain values or $eq.
 *
 * A variable's key is made from its instance's key and a 9-digit hash of
 * (scope key, name): "<processInstanceKey><hash>", a digit string Camunda's
 * key pattern accepts (up to 25 digits), so that GET /v2/variables/{key}
 * finds the instance again. Two variables of one instance whose hashes
 * collide (about one in 10^9 per pair) share a key; the GET then answers
 * the first.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "base/cf_alloc.h"
#include "engine/cf_engine.h"

#define TENANT "<default>"
#define TRUNCATE_AT 8192

/* ------------------------------------------------------------ simple in-memory filters */

struct match {
  const char *name;
  struct json_object *value; /* the plain value, or $eq's */
};

#define MAX_MATCH 16

/* The filter's fields as plain values (or {"$eq": v}); 400 for anything else or a field not in allowed. */
static bool simple_filter(struct api_ctx *c, struct json_object *body, const char *const *allowed, struct match *m,
                          size_t *n) {
  *n = 0;
  struct json_object *filter = NULL;
  if (!json_object_object_get_ex(body, "filter", &filter) || !filter) return true;
  if (!json_object_is_type(filter, json_type_object)) return api_bad(c, "The value for filter must be an object."), false;
  json_object_object_foreach(filter, name, v) {
    bool ok = false;
    for (size_t i = 0; allowed[i] && !ok; i++) ok = !strcmp(allowed[i], name);
    if (!strcmp(name, "tenantId")) continue;
    if (!ok) return api_bad(c, "The filter field %.60s is not known here.", name), false;
    struct json_object *val = v;
    if (v && json_object_is_type(v, json_type_object)) {
      if (json_object_object_length(v) != 1 || !json_object_object_get_ex(v, "$eq", &val))
        return api_bad(c, "filter.%s: crmflow takes a plain value or {\"$eq\": value} here.", name), false;
    }
    if (!val) return api_bad(c, "The value for filter.%s must not be null.", name), false;
    if (*n == MAX_MATCH) return api_bad(c, "The filter has too many fields."), false;
    m[(*n)++] = (struct match){name, val};
  }
  return true;
}

static const struct match *find_match(const struct match *m, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(m[i].name, name)) return &m[i];
  return NULL;
}

static bool match_text(const struct match *m, const char *s) {
  return json_object_is_type(m->value, json_type_string) && s && !strcmp(json_object_get_string(m->value), s);
}

static bool match_key(const struct match *m, uint64_t key) {
  const char *t = json_object_get_string(m->value);
  uint64_t k;
  return t && api_parse_key_text(t, &k) && k == key;
}

static bool match_bool(const struct match *m, bool b) {
  return json_object_is_type(m->value, json_type_boolean) && json_object_get_boolean(m->value) == b;
}

/* page.from / page.limit (cursors are not offered here). */
static bool simple_page(struct api_ctx *c, struct json_object *body, size_t *from, size_t *limit) {
  *from = 0;
  *limit = 100;
  struct json_object *page = NULL;
  if (!json_object_object_get_ex(body, "page", &page) || !page) return true;
  int64_t f = 0, l = 100;
  if (!api_get_int(c, page, "from", &f) || !api_get_int(c, page, "limit", &l)) return false;
  if (f < 0 || l < 1) return api_bad(c, "page.from must be 0 or more and page.limit 1 or more."), false;
  *from = (size_t)f;
  *limit = l > 10000 ? 10000 : (size_t)l;
  return true;
}

static void page_json(struct cf_buf *b, size_t total) {
  cf_buf_printf(b, "\"page\":{\"totalItems\":%zu,\"hasMoreTotalItems\":false}", total);
}

/* The instance key of filter.processInstanceKey, required. */
static bool instance_filter(struct api_ctx *c, const struct match *m, size_t n, uint64_t *key, const char *what) {
  const struct match *k = find_match(m, n, "processInstanceKey");
  const char *t = k ? json_object_get_string(k->value) : NULL;
  if (!k || !t || !api_parse_key_text(t, key))
    return api_bad(c, "crmflow searches the %s of one process instance: give filter.processInstanceKey.", what), false;
  return true;
}

/* ------------------------------------------------------------ element instances */

struct elem {
  uint64_t key;
  const char *element_id; /* into the history */
  int64_t start, end;
  int state; /* 0 active, 1 completed, 2 terminated */
  uint64_t incident;
  bool inner; /* an instance of a multi-instance activity inside its body */
};

static const char *const elem_states[] = {"ACTIVE", "COMPLETED", "TERMINATED"};

struct elems {
  struct cf_store_instance inst;
  const struct api_def *def;
  struct cf_store_event *events;
  size_t nevents;
  struct elem *items;
  size_t n;
};

static void elems_release(struct elems *e) {
  cf_store_instance_release(&e->inst);
  for (size_t i = 0; i < e->nevents; i++) cf_store_event_release(&e->events[i]);
  cf_free(e->events);
  cf_free(e->items);
  memset(e, 0, sizeof *e);
}

/* An instance's element instances from its history, with their open incidents. */
static int elems_load(struct cf_api *api, struct api_reader *r, uint64_t instance_key, struct elems *e,
                      struct cf_error *err) {
  memset(e, 0, sizeof *e);
  struct cf_store_qvalue v = {.num = (int64_t)instance_key};
  struct cf_store_qcond cond = {.field = "key", .op = CF_STORE_EQ, .values = &v, .nvalues = 1};
  struct cf_store_query q = {.entity = CF_STORE_INSTANCES, .conds = &cond, .nconds = 1, .limit = 1};
  struct cf_store_result res;
  memset(&res, 0, sizeof res);
  int rc = r->ops->search(r->st, &q, &res, err);
  if (rc) return rc;
  if (!res.n) {
    cf_store_result_release(&res);
    return cf_error_set(err, CF_ENOTFOUND, "no process instance with key %" PRIu64, instance_key);
  }
  e->inst = res.instances[0];
  memset(&res.instances[0], 0, sizeof res.instances[0]);
  cf_store_result_release(&res);
  e->def = api_def(api, r, e->inst.definition_key, err);
  if (!e->def) return err->code;
  if ((rc = r->ops->history_list(r->st, instance_key, &e->events, &e->nevents, err))) return rc;
  if (e->nevents && !(e->items = cf_calloc(e->nevents, sizeof *e->items)))
    return cf_error_set(err, CF_ENOMEM, "out of memory");
  for (size_t i = 0; i < e->nevents; i++) {
    const struct cf_store_event *ev = &e->events[i];
    if (!strcmp(ev->kind, "ELEMENT_ACTIVATED")) {
      /* Activated while an instance of the same element is active: the inner instance of its body. */
      bool inner = false;
      for (size_t k = 0; k < e->n && !inner; k++)
        inner = !e->items[k].state && e->items[k].element_id && ev->element_id &&
                !strcmp(e->items[k].element_id, ev->element_id);
      e->items[e->n++] = (struct elem){.key = ev->key, .element_id = ev->element_id, .start = ev->at_ms,
                                       .inner = inner};
      continue;
    }
    int state = !strcmp(ev->kind, "ELEMENT_COMPLETED") ? 1 : !strcmp(ev->kind, "ELEMENT_TERMINATED") ? 2 : 0;
    if (!state) continue;
    for (size_t k = e->n; k-- > 0;)
      if (e->items[k].key == ev->key) {
        e->items[k].state = state;
        e->items[k].end = ev->at_ms;
        break;
      }
  }
  struct cf_store_incident *inc = NULL;
  size_t ninc = 0;
  if ((rc = r->ops->incident_list(r->st, instance_key, &inc, &ninc, err))) return rc;
  for (size_t i = 0; i < ninc; i++) {
    for (size_t k = 0; k < e->n; k++)
      if (e->items[k].key == inc[i].element_instance_key) e->items[k].incident = inc[i].key;
    cf_store_incident_release(&inc[i]);
  }
  cf_free(inc);
  return CF_OK;
}

static void write_elem(struct cf_buf *b, const struct elems *e, const struct elem *x) {
  cf_buf_putc(b, '{');
  api_json_str(b, "processDefinitionId", e->inst.process_id, true);
  api_json_time(b, "startDate", x->start, false);
  if (x->end) api_json_time(b, "endDate", x->end, false);
  api_json_str(b, "elementId", x->element_id, false);
  api_json_str(b, "elementName", api_element_name(e->def, x->element_id), false);
  api_json_str(b, "type", x->inner ? api_element_inner_type(e->def, x->element_id) : api_element_type(e->def, x->element_id),
               false);
  api_json_str(b, "state", elem_states[x->state], false);
  api_json_bool(b, "hasIncident", x->incident != 0, false);
  api_json_str(b, "tenantId", TENANT, false);
  api_json_key(b, "elementInstanceKey", x->key, false);
  api_json_key(b, "processInstanceKey", e->inst.key, false);
  api_json_key(b, "processDefinitionKey", e->inst.definition_key, false);
  if (x->incident) api_json_key(b, "incidentKey", x->incident, false);
  cf_buf_putc(b, '}');
}

static bool elem_matches(const struct elems *e, const struct elem *x, const struct match *m, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const char *f = m[i].name;
    bool ok = true;
    if (!strcmp(f, "processInstanceKey")) ok = true;
    else if (!strcmp(f, "elementInstanceKey")) ok = match_key(&m[i], x->key);
    else if (!strcmp(f, "processDefinitionKey")) ok = match_key(&m[i], e->inst.definition_key);
    else if (!strcmp(f, "processDefinitionId")) ok = match_text(&m[i], e->inst.process_id);
    else if (!strcmp(f, "elementId")) ok = match_text(&m[i], x->element_id);
    else if (!strcmp(f, "elementName")) ok = match_text(&m[i], api_element_name(e->def, x->element_id));
    else if (!strcmp(f, "type"))
      ok = match_text(&m[i], x->inner ? api_element_inner_type(e->def, x->element_id) : api_element_type(e->def, x->element_id));
    else if (!strcmp(f, "state")) ok = match_text(&m[i], elem_states[x->state]);
    else if (!strcmp(f, "hasIncident")) ok = match_bool(&m[i], x->incident != 0);
    else if (!strcmp(f, "incidentKey")) ok = x->incident && match_key(&m[i], x->incident);
    if (!ok) return false;
  }
  return true;
}

static const char *const elem_filters[] = {"processInstanceKey", "elementInstanceKey", "processDefinitionKey",
                                           "processDefinitionId", "elementId", "elementName", "type", "state",
                                           "hasIncident", "incidentKey", NULL};

static int cmp_key_desc(const void *a, const void *b) {
  uint64_t x = ((const struct elem *)a)->key, y = ((const struct elem *)b)->key;
  return x < y ? 1 : x > y ? -1 : 0;
}

bool api_h_element_search(struct api_ctx *c) {
  struct json_object *body = api_body(c, true);
  if (!body) return true;
  struct match m[MAX_MATCH];
  size_t nm = 0, from, limit;
  uint64_t ikey;
  if (!simple_filter(c, body, elem_filters, m, &nm) || !simple_page(c, body, &from, &limit) ||
      !instance_filter(c, m, nm, &ikey, "element instances")) {
    json_object_put(body);
    return true;
  }
  bool desc = false;
  struct json_object *sort = NULL;
  if (json_object_object_get_ex(body, "sort", &sort) && sort && json_object_is_type(sort, json_type_array) &&
      json_object_array_length(sort)) {
    struct json_object *s0 = json_object_array_get_idx(sort, 0), *o = NULL;
    if (s0 && json_object_object_get_ex(s0, "order", &o) && o && json_object_is_type(o, json_type_string))
      desc = !strcasecmp(json_object_get_string(o), "desc");
  }
  struct api_reader *r;
  struct cf_error err;
  cf_error_clear(&err);
  struct elems e;
  memset(&e, 0, sizeof e);
  if (api_reader_get(c->api, &r, &err)) {
    json_object_put(body);
    return api_error_problem(c->res, &err, c->req->path), true;
  }
  int rc = elems_load(c->api, r, ikey, &e, &err);
  if (rc == CF_ENOTFOUND) {
    /* No such instance: no element instances (a search, not a lookup). */
    cf_buf_puts(&c->res->body, "{\"items\":[],");
    page_json(&c->res->body, 0);
    cf_buf_putc(&c->res->body, '}');
    api_ok_json(c);
  } else if (rc) {
    api_error_problem(c->res, &err, c->req->path);
  } else {
    if (desc) qsort(e.items, e.n, sizeof *e.items, cmp_key_desc);
    struct cf_buf *b = &c->res->body;
    cf_buf_puts(b, "{\"items\":[");
    size_t total = 0, shown = 0;
    for (size_t i = 0; i < e.n; i++) {
      if (!elem_matches(&e, &e.items[i], m, nm)) continue;
      if (total++ < from || shown >= limit) continue;
      if (shown++) cf_buf_putc(b, ',');
      write_elem(b, &e, &e.items[i]);
    }
    cf_buf_puts(b, "],");
    page_json(b, total);
    cf_buf_putc(b, '}');
    api_ok_json(c);
  }
  elems_release(&e);
  api_reader_put(c->api, r);
  json_object_put(body);
  return true;
}

bool api_h_element_get(struct api_ctx *c) {
  uint64_t key;
  if (!api_path_key(c, &key)) return true;
  struct api_reader *r = api_reader_for(c);
  if (!r) return true;
  struct cf_error err;
  cf_error_clear(&err);
  uint64_t ikey = 0;
  int rc = r->ops->instance_of(r->st, "element", key, &ikey, &err);
  struct elems e;
  memset(&e, 0, sizeof e);
  if (!rc) rc = elems_load(c->api, r, ikey, &e, &err);
  const struct elem *x = NULL;
  for (size_t i = 0; !rc && i < e.n && !x; i++)
    if (e.items[i].key == key) x = &e.items[i];
  if (rc == CF_ENOTFOUND || (!rc && !x)) api_fail(c, 404, "NOT_FOUND", "No element instance with key %s.", c->param);
  else if (rc) api_error_problem(c->res, &err, c->req->path);
  else {
    write_elem(&c->res->body, &e, x);
    api_ok_json(c);
  }
  elems_release(&e);
  api_reader_put(c->api, r);
  return true;
}

/* ------------------------------------------------------------ variables */

static uint64_t var_hash(uint64_t scope, const char *name) {
  uint64_t h = 1469598103934665603ull;
  for (int i = 0; i < 8; i++) {
    h ^= (scope >> (8 * i)) & 0xff;
    h *= 1099511628211ull;
  }
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
    h ^= *p;
    h *= 1099511628211ull;
  }
  return h % 1000000000ull;
}

static void var_key(uint64_t instance, uint64_t scope, const char *name, char out[40]) {
  snprintf(out, 40, "%" PRIu64 "%09" PRIu64, instance, var_hash(scope, name));
}

/* Splits a variable key; false when it is not one. */
static bool var_key_parse(const char *s, uint64_t *instance, uint64_t *hash) {
  size_t n = s ? strlen(s) : 0;
  if (n < 10 || n > 28) return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return false;
  char head[32];
  memcpy(head, s, n - 9);
  head[n - 9] = '\0';
  if (!api_parse_key_text(head, instance)) return false;
  *hash = strtoull(s + n - 9, NULL, 10);
  return true;
}

struct vars {
  struct cf_store_instance inst;
  struct cf_engine_instance *engine;
};

static void vars_release(struct vars *v) {
  cf_engine_instance_free(v->engine);
  cf_store_instance_release(&v->inst);
  memset(v, 0, sizeof *v);
}

static int vars_load(struct cf_api *api, struct api_reader *r, uint64_t key, struct vars *v, struct cf_error *err) {
  memset(v, 0, sizeof *v);
  int rc = r->ops->instance_get(r->st, key, &v->inst, err);
  if (rc) return rc;
  const struct api_def *d = api_def(api, r, v->inst.definition_key, err);
  if (!d) return err->code;
  if (!d->model) return cf_error_set(err, CF_EINTERNAL, "the model of instance %" PRIu64 " does not parse", key);
  v->engine = cf_engine_instance_load(d->model, v->inst.engine_state, v->inst.engine_state_len, err);
  return v->engine ? CF_OK : err->code ? err->code : CF_EINTERNAL;
}

/* Calls fn for every variable of every scope of the instance; stops when fn returns false. */
static void vars_each(const struct vars *v, bool (*fn)(void *arg, uint64_t scope, const struct cf_feel_ctx_entry *e),
                      void *arg) {
  size_t ne = 0;
  const struct cf_engine_element_instance *els = cf_engine_elements(v->engine, &ne);
  for (size_t s = 0; s <= ne; s++) {
    uint64_t scope = s == 0 ? v->inst.key : els[s - 1].key;
    const struct cf_feel_value *ctx = cf_engine_variables(v->engine, scope);
    if (!ctx || ctx->type != CF_FEEL_CONTEXT) continue;
    for (uint32_t i = 0; i < ctx->u.ctx->len; i++)
      if (!fn(arg, scope, &ctx->u.ctx->entries[i])) return;
  }
}

struct var_list {
  struct api_ctx *c;
  const struct vars *v;
  const struct match *m;
  size_t nm;
  size_t from, limit, total, shown;
  bool truncate;
  uint64_t want_hash; /* GET: the one to find */
  bool found;
};

static void write_var(struct cf_buf *b, const struct vars *v, uint64_t scope, const struct cf_feel_ctx_entry *e,
                      bool truncate, bool get) {
  struct cf_buf val;
  cf_buf_init(&val);
  cf_feel_write_json(&e->value, &val);
  char key[40];
  var_key(v->inst.key, scope, e->key->data, key);
  bool cut = truncate && val.len > TRUNCATE_AT;
  cf_buf_putc(b, '{');
  api_json_str(b, "name", e->key->data, true);
  cf_buf_puts(b, ",\"value\":");
  cf_buf_json_string(b, val.data ? val.data : "null", val.data ? (cut ? TRUNCATE_AT : val.len) : 4);
  if (!get) api_json_bool(b, "isTruncated", cut, false);
  api_json_str(b, "tenantId", TENANT, false);
  api_json_str(b, "variableKey", key, false);
  api_json_key(b, "scopeKey", scope, false);
  api_json_key(b, "processInstanceKey", v->inst.key, false);
  cf_buf_putc(b, '}');
  cf_buf_release(&val);
}

static bool var_matches(struct var_list *l, uint64_t scope, const struct cf_feel_ctx_entry *e) {
  for (size_t i = 0; i < l->nm; i++) {
    const struct match *m = &l->m[i];
    bool ok = true;
    if (!strcmp(m->name, "name")) ok = match_text(m, e->key->data);
    else if (!strcmp(m->name, "scopeKey")) ok = match_key(m, scope);
    else if (!strcmp(m->name, "variableKey")) {
      char key[40];
      var_key(l->v->inst.key, scope, e->key->data, key);
      ok = match_text(m, key);
    } else if (!strcmp(m->name, "value")) {
      struct cf_buf val;
      cf_buf_init(&val);
      cf_feel_write_json(&e->value, &val);
      cf_buf_putc(&val, '\0');
      ok = match_text(m, val.data);
      cf_buf_release(&val);
    } else if (!strcmp(m->name, "isTruncated")) {
      ok = match_bool(m, false);
    }
    if (!ok) return false;
  }
  return true;
}

static bool var_list_one(void *arg, uint64_t scope, const struct cf_feel_ctx_entry *e) {
  struct var_list *l = arg;
  if (!var_matches(l, scope, e)) return true;
  if (l->total++ < l->from || l->shown >= l->limit) return true;
  if (l->shown++) cf_buf_putc(&l->c->res->body, ',');
  write_var(&l->c->res->body, l->v, scope, e, l->truncate, false);
  return true;
}

static const char *const var_filters[] = {"processInstanceKey", "scopeKey", "name", "value", "variableKey",
                                          "isTruncated", NULL};

bool api_h_variable_search(struct api_ctx *c) {
  struct json_object *body = api_body(c, true);
  if (!body) return true;
  struct match m[MAX_MATCH];
  size_t nm = 0, from, limit;
  uint64_t ikey = 0, hash;
  if (!simple_filter(c, body, var_filters, m, &nm) || !simple_page(c, body, &from, &limit)) {
    json_object_put(body);
    return true;
  }
  const struct match *vk = find_match(m, nm, "variableKey");
  if (!find_match(m, nm, "processInstanceKey") && vk && json_object_is_type(vk->value, json_type_string) &&
      var_key_parse(json_object_get_string(vk->value), &ikey, &hash)) {
    /* the variable key names its instance */
  } else if (!instance_filter(c, m, nm, &ikey, "variables")) {
    json_object_put(body);
    return true;
  }
  if (!api_agent_sees_instance(c, ikey)) {
    json_object_put(body);
    return api_fail(c, 403, "FORBIDDEN", "An agent reads the variables of the instances of its own tasks only.");
  }
  char tv[16];
  const char *t = api_query_arg(c, "truncateValues", tv, sizeof tv);
  struct api_reader *r;
  struct cf_error err;
  cf_error_clear(&err);
  if (api_reader_get(c->api, &r, &err)) {
    json_object_put(body);
    return api_error_problem(c->res, &err, c->req->path), true;
  }
  struct vars v;
  int rc = vars_load(c->api, r, ikey, &v, &err);
  struct cf_buf *b = &c->res->body;
  if (rc == CF_ENOTFOUND) {
    cf_buf_puts(b, "{\"items\":[],");
    page_json(b, 0);
    cf_buf_putc(b, '}');
    api_ok_json(c);
  } else if (rc) {
    api_error_problem(c->res, &err, c->req->path);
  } else {
    struct var_list l = {.c = c, .v = &v, .m = m, .nm = nm, .from = from, .limit = limit,
                         .truncate = !t || strcmp(t, "false")};
    cf_buf_puts(b, "{\"items\":[");
    vars_each(&v, var_list_one, &l);
    cf_buf_puts(b, "],");
    page_json(b, l.total);
    cf_buf_putc(b, '}');
    api_ok_json(c);
  }
  vars_release(&v);
  api_reader_put(c->api, r);
  json_object_put(body);
  return true;
}

static bool var_find_one(void *arg, uint64_t scope, const struct cf_feel_ctx_entry *e) {
  struct var_list *l = arg;
  if (var_hash(scope, e->key->data) != l->want_hash) return true;
  write_var(&l->c->res->body, l->v, scope, e, false, true);
  l->found = true;
  return false;
}

bool api_h_variable_get(struct api_ctx *c) {
  uint64_t ikey, hash;
  if (!var_key_parse(c->param, &ikey, &hash))
    return api_bad(c, "The key '%.60s' in the path is not a variable key of this server.", c->param);
  struct api_reader *r = api_reader_for(c);
  if (!r) return true;
  struct cf_error err;
  cf_error_clear(&err);
  struct vars v;
  int rc = vars_load(c->api, r, ikey, &v, &err);
  struct var_list l = {.c = c, .v = &v, .want_hash = hash};
  if (!rc) vars_each(&v, var_find_one, &l);
  if (rc == CF_ENOTFOUND || (!rc && !l.found))
    api_fail(c, 404, "NOT_FOUND", "No variable with key %s.", c->param);
  else if (rc) api_error_problem(c->res, &err, c->req->path);
  else api_ok_json(c);
  vars_release(&v);
  api_reader_put(c->api, r);
  return true;
}
