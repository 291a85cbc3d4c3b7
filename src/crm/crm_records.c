/*
 * Record writes (cf_crm.h): validated, unique values claimed, references
 * checked, the record and its change stored, the triggers run; all in the
 * caller's runtime operation, so any error undoes the whole change.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_json.h"
#include "crm/crm_int.h"

static void store_of(struct cf_runtime *rt, const struct cf_store_ops **ops, struct cf_store **st) {
  cf_runtime_store(rt, ops, st);
}

/* The JSON text of a value for comparisons and unique claims (strings without their quotes). */
static const char *value_text(struct json_object *v) {
  if (!v) return NULL;
  if (json_object_is_type(v, json_type_string)) return json_object_get_string(v);
  const char *n = cf_json_number_text(v);
  return n ? n : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

static bool same_value(struct json_object *a, struct json_object *b) {
  if (!a || !b) return a == b;
  if (json_object_get_type(a) != json_object_get_type(b)) return false;
  return !strcmp(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN),
                 json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN));
}

/* References point at existing records; unique fields claim their values. Under crm->mu. */
static int check_fields(struct cf_crm *crm, const struct cf_store_ops *ops, struct cf_store *st, const char *type,
                        uint64_t key, struct json_object *fields, struct json_object *before, struct cf_error *err) {
  const struct cf_crm_type *t = crm_type(crm, type);
  if (!t) return cf_error_set(err, CF_ENOTFOUND, "no record type '%s'", type);
  for (size_t i = 0; i < t->nfields; i++) {
    const struct cf_crm_field *f = &t->fields[i];
    struct json_object *v = NULL, *old = NULL;
    bool has = json_object_object_get_ex(fields, f->name, &v);
    if (before) json_object_object_get_ex(before, f->name, &old);
    if (!has || same_value(v, old)) continue;
    if (f->type == CF_CRM_REFERENCE && v) {
      struct cf_store_record r;
      memset(&r, 0, sizeof r);
      uint64_t ref = strtoull(json_object_get_string(v), NULL, 10);
      int rc = ops->record_get(st, f->ref_type, ref, &r, err);
      cf_store_record_release(&r);
      if (rc == CF_ENOTFOUND)
        return cf_error_set(err, CF_EINVAL, "fields.%s: there is no %s record with key %" PRIu64, f->name, f->ref_type,
                            ref);
      if (rc) return rc;
    }
    if (f->unique) {
      /* The old value is given up, the new one claimed. */
      int rc = ops->record_unique(st, type, f->name, NULL, key, err);
      if (!rc && v) rc = ops->record_unique(st, type, f->name, value_text(v), key, err);
      if (rc == CF_ECONFLICT) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        return cf_error_set(err, CF_ECONFLICT, "fields.%s: the value must be unique (%s)", f->name, why);
      }
      if (rc) return rc;
    }
  }
  return CF_OK;
}

/* {field: {"from": a, "to": b}} for the fields that differ; *changed the names (new references). */
static int diff(struct json_object *before, struct json_object *after, struct json_object **changes,
                struct json_object **changed) {
  *changes = json_object_new_object();
  *changed = json_object_new_array();
  if (!*changes || !*changed) return CF_ENOMEM;
  struct json_object *sides[2] = {before, after};
  for (int s = 0; s < 2; s++) {
    if (!sides[s]) continue;
    json_object_object_foreach(sides[s], name, v) {
      (void)v;
      if (json_object_object_get_ex(*changes, name, NULL)) continue;
      struct json_object *a = NULL, *b = NULL;
      if (before) json_object_object_get_ex(before, name, &a);
      if (after) json_object_object_get_ex(after, name, &b);
      if (same_value(a, b)) continue;
      struct json_object *c = json_object_new_object();
      if (!c) return CF_ENOMEM;
      json_object_object_add(c, "from", a ? json_object_get(a) : NULL);
      json_object_object_add(c, "to", b ? json_object_get(b) : NULL);
      json_object_object_add(*changes, name, c);
      json_object_array_add(*changed, json_object_new_string(name));
    }
  }
  return CF_OK;
}

/* The record's fields with createdAt and updatedAt, as triggers see it (new reference). */
static struct json_object *record_view(const struct cf_store_record *r) {
  struct cf_buf b;
  cf_buf_init(&b);
  cf_crm_record_json(r, &b);
  struct cf_error err;
  struct json_object *all = b.oom ? NULL : cf_json_parse(b.data, b.len, &err);
  cf_buf_release(&b);
  struct json_object *fields = NULL;
  if (all && json_object_object_get_ex(all, "fields", &fields)) json_object_get(fields);
  if (all) json_object_put(all);
  return fields;
}

static int append_change(const struct cf_store_ops *ops, struct cf_store *st, const char *type, uint64_t key,
                         int64_t at, const char *by, const char *kind, struct json_object *changes,
                         struct cf_error *err) {
  char *text = cf_json_dump(changes);
  if (!text) return cf_error_set(err, CF_ENOMEM, "out of memory");
  struct cf_store_record_change c = {.record_key = key, .type = (char *)type, .at_ms = at, .by = (char *)by,
                                     .kind = (char *)kind, .changes = text};
  int rc = ops->record_change_append(st, &c, err);
  cf_free(text);
  return rc;
}

static const char *actor_of(const struct cf_crm_origin *o) { return o && o->actor ? o->actor : "crm"; }

/* Copies r into out (when wanted). */
static int give(struct cf_store_record *out, const struct cf_store_record *r) {
  if (!out) return CF_OK;
  memset(out, 0, sizeof *out);
  out->key = r->key;
  out->version = r->version;
  out->created_ms = r->created_ms;
  out->updated_ms = r->updated_ms;
  if (!(out->type = cf_strdup(r->type)) || !(out->fields = cf_strdup(r->fields)) ||
      (r->created_by && !(out->created_by = cf_strdup(r->created_by))) ||
      (r->updated_by && !(out->updated_by = cf_strdup(r->updated_by)))) {
    cf_store_record_release(out);
    return CF_ENOMEM;
  }
  return CF_OK;
}

static int run(struct cf_crm *crm, struct cf_runtime *rt, const struct cf_store_record *r, const char *event,
               struct json_object *previous, struct json_object *changed, const struct cf_crm_origin *origin,
               struct cf_error *err) {
  struct json_object *view = record_view(r);
  if (!view) return cf_error_set(err, CF_ENOMEM, "out of memory");
  struct crm_change ch = {.type = r->type, .key = r->key, .event = event, .record = view, .previous = previous,
                          .changed = changed};
  int rc = crm_run_triggers(crm, rt, &ch, origin, err);
  json_object_put(view);
  return rc;
}

int cf_crm_create(struct cf_crm *crm, struct cf_runtime *rt, const char *type, struct json_object *fields,
                  const struct cf_crm_origin *origin, struct cf_store_record *out, struct cf_error *err) {
  const struct cf_store_ops *ops;
  struct cf_store *st;
  store_of(rt, &ops, &st);
  int rc = cf_crm_refresh(crm, ops, st, err);
  if (rc) return rc;
  struct json_object *norm = NULL;
  if ((rc = cf_crm_validate(crm, type, fields, true, &norm, err))) return rc;
  uint64_t key = 0;
  char *text = NULL;
  struct json_object *changes = NULL, *changed = NULL;
  pthread_mutex_lock(&crm->mu);
  if ((rc = ops->reserve_keys(st, 1, &key, err))) goto out;
  if ((rc = check_fields(crm, ops, st, type, key, norm, NULL, err))) goto out;
  if (!(text = cf_json_dump(norm))) {
    rc = cf_error_set(err, CF_ENOMEM, "out of memory");
    goto out;
  }
  int64_t now = cf_runtime_now(rt);
  struct cf_store_record r = {.key = key, .type = (char *)type, .version = 1, .fields = text, .created_ms = now,
                              .updated_ms = now, .created_by = (char *)actor_of(origin),
                              .updated_by = (char *)actor_of(origin)};
  if ((rc = ops->record_insert(st, &r, err))) goto out;
  if (diff(NULL, norm, &changes, &changed)) {
    rc = cf_error_set(err, CF_ENOMEM, "out of memory");
    goto out;
  }
  if ((rc = append_change(ops, st, type, key, now, actor_of(origin), "create", changes, err))) goto out;
  if ((rc = run(crm, rt, &r, "create", NULL, changed, origin, err))) goto out;
  if (give(out, &r)) rc = cf_error_set(err, CF_ENOMEM, "out of memory");
out:
  pthread_mutex_unlock(&crm->mu);
  cf_free(text);
  if (changes) json_object_put(changes);
  if (changed) json_object_put(changed);
  json_object_put(norm);
  return rc;
}

int cf_crm_update(struct cf_crm *crm, struct cf_runtime *rt, const char *type, uint64_t key,
                  struct json_object *fields, int64_t expected_version, const struct cf_crm_origin *origin,
                  struct cf_store_record *out, struct cf_error *err) {
  const struct cf_store_ops *ops;
  struct cf_store *st;
  store_of(rt, &ops, &st);
  int rc = cf_crm_refresh(crm, ops, st, err);
  if (rc) return rc;
  struct json_object *norm = NULL, *before = NULL, *after = NULL, *changes = NULL, *changed = NULL;
  char *text = NULL;
  struct cf_store_record cur;
  memset(&cur, 0, sizeof cur);
  if ((rc = cf_crm_validate(crm, type, fields, false, &norm, err))) return rc;
  pthread_mutex_lock(&crm->mu);
  rc = ops->record_get(st, type, key, &cur, err);
  if (rc == CF_ENOTFOUND) rc = cf_error_set(err, CF_ENOTFOUND, "no %s record with key %" PRIu64, type, key);
  if (rc) goto out;
  if (expected_version > 0 && cur.version != expected_version) {
    rc = cf_error_set(err, CF_ECONFLICT, "the %s record %" PRIu64 " is at version %lld, not %lld", type, key,
                      (long long)cur.version, (long long)expected_version);
    goto out;
  }
  struct cf_error e2;
  if (!(before = cf_json_parse(cur.fields, strlen(cur.fields), &e2)) || !(after = cf_json_parse(cur.fields, strlen(cur.fields), &e2))) {
    rc = cf_error_set(err, CF_EIO, "the stored %s record %" PRIu64 " is not JSON", type, key);
    goto out;
  }
  json_object_object_foreach(norm, name, v) {
    if (v) json_object_object_add(after, name, json_object_get(v));
    else json_object_object_del(after, name);
  }
  if (diff(before, after, &changes, &changed)) {
    rc = cf_error_set(err, CF_ENOMEM, "out of memory");
    goto out;
  }
  if (json_object_array_length(changed) == 0) {
    /* Nothing changed: no new version, no history, no trigger. */
    if (give(out, &cur)) rc = cf_error_set(err, CF_ENOMEM, "out of memory");
    goto out;
  }
  if ((rc = check_fields(crm, ops, st, type, key, norm, before, err))) goto out;
  if (!(text = cf_json_dump(after))) {
    rc = cf_error_set(err, CF_ENOMEM, "out of memory");
    goto out;
  }
  int64_t now = cf_runtime_now(rt);
  struct cf_store_record r = cur;
  r.fields = text;
  r.updated_ms = now;
  r.updated_by = (char *)actor_of(origin);
  if ((rc = ops->record_update(st, &r, cur.version, err))) goto out;
  r.version = cur.version + 1;
  if ((rc = append_change(ops, st, type, key, now, actor_of(origin), "update", changes, err))) goto out;
  if ((rc = run(crm, rt, &r, "update", before, changed, origin, err))) goto out;
  if (give(out, &r)) rc = cf_error_set(err, CF_ENOMEM, "out of memory");
out:
  pthread_mutex_unlock(&crm->mu);
  cf_store_record_release(&cur);
  cf_free(text);
  if (norm) json_object_put(norm);
  if (before) json_object_put(before);
  if (after) json_object_put(after);
  if (changes) json_object_put(changes);
  if (changed) json_object_put(changed);
  return rc;
}

int cf_crm_delete(struct cf_crm *crm, struct cf_runtime *rt, const char *type, uint64_t key,
                  const struct cf_crm_origin *origin, struct cf_error *err) {
  const struct cf_store_ops *ops;
  struct cf_store *st;
  store_of(rt, &ops, &st);
  int rc = cf_crm_refresh(crm, ops, st, err);
  if (rc) return rc;
  struct cf_store_record cur;
  memset(&cur, 0, sizeof cur);
  struct json_object *before = NULL, *changes = NULL, *changed = NULL;
  pthread_mutex_lock(&crm->mu);
  rc = ops->record_get(st, type, key, &cur, err);
  if (rc == CF_ENOTFOUND) rc = cf_error_set(err, CF_ENOTFOUND, "no %s record with key %" PRIu64, type, key);
  if (rc) goto out;
  struct cf_error e2;
  if (!(before = cf_json_parse(cur.fields, strlen(cur.fields), &e2))) {
    rc = cf_error_set(err, CF_EIO, "the stored %s record %" PRIu64 " is not JSON", type, key);
    goto out;
  }
  if ((rc = ops->record_delete(st, type, key, err))) goto out;
  if (diff(before, NULL, &changes, &changed)) {
    rc = cf_error_set(err, CF_ENOMEM, "out of memory");
    goto out;
  }
  int64_t now = cf_runtime_now(rt);
  if ((rc = append_change(ops, st, type, key, now, actor_of(origin), "delete", changes, err))) goto out;
  rc = run(crm, rt, &cur, "delete", before, changed, origin, err);
out:
  pthread_mutex_unlock(&crm->mu);
  cf_store_record_release(&cur);
  if (before) json_object_put(before);
  if (changes) json_object_put(changes);
  if (changed) json_object_put(changed);
  return rc;
}

int cf_crm_type_put(struct cf_crm *crm, struct cf_runtime *rt, struct json_object *schema, struct cf_error *err) {
  const struct cf_store_ops *ops;
  struct cf_store *st;
  store_of(rt, &ops, &st);
  struct cf_crm_type t;
  int rc = crm_type_from_json(schema, &t, err);
  if (rc) return rc;
  pthread_mutex_lock(&crm->mu);
  if (!(rc = crm_refresh_locked(crm, ops, st, err))) {
    const struct cf_crm_type *cur = crm_type(crm, t.name);
    /* Stored records must stay valid: a field that exists keeps its definition (type, flags, values,
     * reference), none is removed (for a built-in type: none of the fields added to it), and a new
     * field cannot be required without a default (the records stored have no value for it). */
    for (size_t i = 0; cur && i < t.nfields && !rc; i++) {
      const struct cf_crm_field *f = crm_field(cur, t.fields[i].name), *g = &t.fields[i];
      if (!f) {
        if (g->required && !g->default_json)
          rc = cf_error_set(err, CF_EINVAL, "fields[%zu]: a field added to %s cannot be required without a default",
                            i, t.name);
        continue;
      }
      bool same = f->type == g->type && f->required == g->required && f->unique == g->unique &&
                  f->personal == g->personal && f->nvalues == g->nvalues &&
                  !strcmp(f->ref_type ? f->ref_type : "", g->ref_type ? g->ref_type : "");
      for (size_t k = 0; same && k < f->nvalues; k++) same = !strcmp(f->values[k], g->values[k]);
      if (!same)
        rc = cf_error_set(err, CF_EINVAL, "fields[%zu]: %s.%s exists already with another definition; existing fields "
                                          "cannot change",
                          i, t.name, g->name);
    }
    if (!rc && cur) {
      struct cf_crm_type *orig = NULL;
      size_t norig = 0;
      if (cur->builtin && crm_builtin_types(&orig, &norig)) rc = cf_error_set(err, CF_ENOMEM, "out of memory");
      const struct cf_crm_type *base = NULL;
      for (size_t k = 0; k < norig; k++)
        if (!strcmp(orig[k].name, cur->name)) base = &orig[k];
      for (size_t i = 0; !rc && i < cur->nfields; i++) {
        const char *fn = cur->fields[i].name;
        if (crm_field(&t, fn) || (base && crm_field(base, fn))) continue;
        rc = cf_error_set(err, CF_EINVAL, "fields: %s.%s exists and cannot be removed (give every field added before)",
                          t.name, fn);
      }
      /* For a built-in type, only the added fields are stored: its own ones come with the build. */
      for (size_t i = 0; !rc && base && i < t.nfields;) {
        if (crm_field(base, t.fields[i].name)) {
          struct cf_crm_field dead = t.fields[i];
          memmove(&t.fields[i], &t.fields[i + 1], (t.nfields - i - 1) * sizeof *t.fields);
          t.nfields--;
          cf_free(dead.name);
          for (size_t k = 0; k < dead.nvalues; k++) cf_free(dead.values[k]);
          cf_free(dead.values);
          cf_free(dead.ref_type);
          cf_free(dead.default_json);
        } else {
          i++;
        }
      }
      for (size_t k = 0; k < norig; k++) crm_type_release(&orig[k]);
      cf_free(orig);
    }
  }
  struct cf_buf b;
  cf_buf_init(&b);
  if (!rc) {
    crm_type_to_json(&t, &b);
    struct cf_store_record_type row = {.name = t.name, .schema = b.data, .updated_ms = cf_runtime_now(rt)};
    if (b.oom) rc = cf_error_set(err, CF_ENOMEM, "out of memory");
    else if (!(rc = ops->record_type_put(st, &row, err)) && !(rc = crm_bump(ops, st, err)))
      rc = crm_refresh_locked(crm, ops, st, err);
  }
  pthread_mutex_unlock(&crm->mu);
  cf_buf_release(&b);
  crm_type_release(&t);
  return rc;
}
