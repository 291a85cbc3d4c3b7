/*
 * Variable scopes and propagation, as Camunda 8 defines them.
 *
 * Each scope (the process instance, a sub-process, a task with input
 * mappings) has a context of local variables. Merging a document into a
 * scope (job completion without output mappings, output mappings of an
 * element) propagates each variable upward: it is updated in the nearest
 * scope that already has it, and created in the process instance scope when
 * none has. Setting a local variable (input mappings) creates it in the
 * given scope, whatever the scopes above hold.
 *
 * Variables are JSON values: a FEEL result that has no JSON form (a date, a
 * duration) is stored as its ISO-8601 string, as Zeebe does.
 */
#include <json-c/json.h>
#include <string.h>
#include <sys/types.h>

#include "base/cf_alloc.h"
#include "engine/engine_int.h"

int cf__engine_event(struct cf_engine_output *out, uint8_t kind, uint64_t key, int32_t element,
                     int64_t at_ms, const char *detail) {
  if (!out) return CF_OK;
  if (out->count == out->cap) {
    size_t cap = out->cap ? out->cap * 2 : 16;
    struct cf_engine_event *e = cf_realloc(out->events, cap * sizeof *e);
    if (!e) return CF_ENOMEM;
    out->events = e;
    out->cap = cap;
  }
  char *d = NULL;
  if (detail && !(d = cf_strdup(detail))) return CF_ENOMEM;
  out->events[out->count++] = (struct cf_engine_event){.kind = kind, .key = key, .element = element, .at_ms = at_ms, .detail = d};
  return CF_OK;
}

ssize_t cf__engine_find_ei(const struct cf_engine_instance *inst, uint64_t key) {
  for (size_t i = 0; i < inst->neis; i++)
    if (inst->eis[i].key == key) return (ssize_t)i;
  return -1;
}

struct scope_data *cf__engine_scope(struct cf_engine_instance *inst, uint64_t key) {
  if (key == inst->key) return &inst->root;
  ssize_t i = cf__engine_find_ei(inst, key);
  return i < 0 ? NULL : &inst->priv[i].scope;
}

uint64_t cf__engine_parent_scope(const struct cf_engine_instance *inst, uint64_t key) {
  if (key == inst->key) return 0;
  ssize_t i = cf__engine_find_ei(inst, key);
  return i < 0 ? 0 : inst->eis[i].scope_key;
}

static bool needs_conversion(const struct cf_feel_value *v) {
  switch (v->type) {
    case CF_FEEL_NULL:
    case CF_FEEL_BOOLEAN:
    case CF_FEEL_NUMBER:
    case CF_FEEL_STRING: return false;
    case CF_FEEL_LIST:
      for (uint32_t i = 0; i < v->u.list->len; i++)
        if (needs_conversion(&v->u.list->items[i])) return true;
      return false;
    case CF_FEEL_CONTEXT:
      for (uint32_t i = 0; i < v->u.ctx->len; i++)
        if (needs_conversion(&v->u.ctx->entries[i].value)) return true;
      return false;
    default: return true;
  }
}

int cf__engine_variable_value(const struct cf_feel_value *in, struct cf_feel_value *out) {
  if (!needs_conversion(in)) {
    cf_feel_value_copy(out, in);
    return CF_OK;
  }
  struct json_object *j;
  int rc = cf_feel_to_json(in, &j);
  if (rc) return rc;
  rc = cf_feel_from_json(j, out);
  json_object_put(j);
  return rc;
}

/* Makes the scope's context private (copy on write) so it can be changed. */
static int own_vars(struct scope_data *s) {
  if (s->vars.type != CF_FEEL_CONTEXT) return cf_feel_ctx_new(&s->vars, 4);
  if (s->vars.u.ctx->refs == 1) return CF_OK;
  struct cf_feel_value copy;
  const struct cf_feel_ctx *c = s->vars.u.ctx;
  int rc = cf_feel_ctx_new(&copy, c->len + 4);
  for (uint32_t i = 0; rc == CF_OK && i < c->len; i++) {
    struct cf_feel_value v;
    cf_feel_value_copy(&v, &c->entries[i].value);
    rc = cf_feel_ctx_put(&copy, c->entries[i].key->data, c->entries[i].key->len, &v);
  }
  if (rc) {
    cf_feel_value_release(&copy);
    return rc;
  }
  cf_feel_value_release(&s->vars);
  cf_feel_value_move(&s->vars, &copy);
  return CF_OK;
}

int cf__engine_set_local(struct cf_engine_instance *inst, uint64_t scope_key, const char *name,
                         size_t len, const struct cf_feel_value *value, struct cf_engine_output *out,
                         int64_t now_ms) {
  struct scope_data *s = cf__engine_scope(inst, scope_key);
  if (!s) return CF_EINTERNAL;
  struct cf_feel_value v;
  int rc = cf__engine_variable_value(value, &v);
  if (rc) return rc;
  if ((rc = own_vars(s))) {
    cf_feel_value_release(&v);
    return rc;
  }
  if ((rc = cf_feel_ctx_put(&s->vars, name, len, &v))) return rc;
  char nm[256];
  size_t n = len < sizeof nm - 1 ? len : sizeof nm - 1;
  memcpy(nm, name, n);
  nm[n] = '\0';
  return cf__engine_event(out, CF_ENGINE_EV_VARIABLE_SET, scope_key, -1, now_ms, nm);
}

int cf__engine_propagate(struct cf_engine_instance *inst, uint64_t scope_key,
                         const struct cf_feel_value *doc, struct cf_engine_output *out, int64_t now_ms) {
  if (!doc || doc->type != CF_FEEL_CONTEXT) return CF_OK;
  for (uint32_t i = 0; i < doc->u.ctx->len; i++) {
    const struct cf_feel_ctx_entry *e = &doc->u.ctx->entries[i];
    uint64_t target = inst->key;
    for (uint64_t k = scope_key; k; k = cf__engine_parent_scope(inst, k)) {
      struct scope_data *s = cf__engine_scope(inst, k);
      if (s && s->vars.type == CF_FEEL_CONTEXT &&
          cf_feel_ctx_get(s->vars.u.ctx, e->key->data, e->key->len)) {
        target = k;
        break;
      }
    }
    int rc = cf__engine_set_local(inst, target, e->key->data, e->key->len, &e->value, out, now_ms);
    if (rc) return rc;
  }
  return CF_OK;
}

const struct cf_feel_value *cf_engine_variables(const struct cf_engine_instance *inst,
                                                uint64_t scope_key) {
  const struct scope_data *s = cf__engine_scope((struct cf_engine_instance *)inst, scope_key);
  return s && s->vars.type == CF_FEEL_CONTEXT ? &s->vars : NULL;
}

int cf_engine_visible_variables(const struct cf_engine_instance *inst, uint64_t key,
                                struct cf_feel_value *out) {
  int rc = cf_feel_ctx_new(out, 8);
  if (rc) return rc;
  /* Nearest scope first; an outer variable never replaces an inner one. */
  for (uint64_t k = key; k; k = cf__engine_parent_scope(inst, k)) {
    const struct scope_data *s = cf__engine_scope((struct cf_engine_instance *)inst, k);
    if (!s || s->vars.type != CF_FEEL_CONTEXT) continue;
    const struct cf_feel_ctx *c = s->vars.u.ctx;
    for (uint32_t i = 0; i < c->len; i++) {
      if (cf_feel_ctx_get(out->u.ctx, c->entries[i].key->data, c->entries[i].key->len)) continue;
      struct cf_feel_value v;
      cf_feel_value_copy(&v, &c->entries[i].value);
      if ((rc = cf_feel_ctx_put(out, c->entries[i].key->data, c->entries[i].key->len, &v))) {
        cf_feel_value_release(out);
        return rc;
      }
    }
  }
  return CF_OK;
}
