/*
 * Personal data (cf_crm.h): a record's fields marked "personal" in its
 * type's schema (a contact's and a lead's name, e-mail and phone among the
 * built-in ones) can be exported and erased on request.
 *
 * Erasure replaces values, it does not delete rows: the record, its
 * history and the processes that worked on it stay consistent (an instance
 * keeps running with "[erased]" where a name was), and what was erased,
 * when and by whom is recorded.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_json.h"
#include "crm/crm_int.h"

/* The type's personal field names as a JSON array (new reference), under crm->mu. */
static struct json_object *personal_fields(const struct cf_crm_type *t) {
  struct json_object *a = json_object_new_array();
  for (size_t i = 0; a && i < t->nfields; i++)
    if (t->fields[i].personal) json_object_array_add(a, json_object_new_string(t->fields[i].name));
  return a;
}

static bool in_array(struct json_object *a, const char *s) {
  for (size_t i = 0; i < json_object_array_length(a); i++)
    if (!strcmp(json_object_get_string(json_object_array_get_idx(a, i)), s)) return true;
  return false;
}

/* Instances whose process variable recordKey is the record's key. */
static int record_instances(const struct cf_store_ops *ops, struct cf_store *st, uint64_t key,
                            struct cf_store_result *res, struct cf_error *err) {
  char text[40];
  snprintf(text, sizeof text, "\"%" PRIu64 "\"", key);
  struct cf_store_qvalue v = {.is_text = true, .text = text};
  struct cf_store_qcond c = {.field = "var:recordKey", .op = CF_STORE_EQ, .values = &v, .nvalues = 1};
  struct cf_store_query q = {.entity = CF_STORE_INSTANCES, .conds = &c, .nconds = 1, .limit = 10000};
  memset(res, 0, sizeof *res);
  return ops->search(st, &q, res, err);
}

int cf_crm_personal_export(struct cf_crm *crm, const struct cf_store_ops *ops, struct cf_store *st, const char *type,
                           uint64_t key, struct cf_buf *out, struct cf_error *err) {
  int rc = cf_crm_refresh(crm, ops, st, err);
  if (rc) return rc;
  pthread_mutex_lock(&crm->mu);
  const struct cf_crm_type *t = crm_type(crm, type);
  struct json_object *names = t ? personal_fields(t) : NULL;
  pthread_mutex_unlock(&crm->mu);
  if (!t) return cf_error_set(err, CF_ENOTFOUND, "no record type '%s'", type);
  if (!names) return cf_error_set(err, CF_ENOMEM, "out of memory");
  struct cf_store_record r;
  memset(&r, 0, sizeof r);
  struct cf_store_record_change *ch = NULL;
  size_t nch = 0;
  struct cf_store_result inst;
  memset(&inst, 0, sizeof inst);
  struct json_object *fields = NULL;
  rc = ops->record_get(st, type, key, &r, err);
  if (rc == CF_ENOTFOUND) rc = cf_error_set(err, CF_ENOTFOUND, "no %s record with key %" PRIu64, type, key);
  if (!rc) rc = ops->record_history(st, key, &ch, &nch, err);
  if (!rc) rc = record_instances(ops, st, key, &inst, err);
  struct cf_error e2;
  if (!rc && !(fields = cf_json_parse(r.fields, strlen(r.fields), &e2)))
    rc = cf_error_set(err, CF_EIO, "the stored record is not JSON");
  if (rc) goto out;
  cf_buf_printf(out, "{\"recordKey\":\"%" PRIu64 "\",\"type\":", key);
  cf_buf_json_string(out, type, strlen(type));
  cf_buf_puts(out, ",\"personalFields\":");
  cf_buf_puts(out, json_object_to_json_string_ext(names, JSON_C_TO_STRING_PLAIN));
  cf_buf_puts(out, ",\"fields\":{");
  bool first = true;
  json_object_object_foreach(fields, name, v) {
    if (!in_array(names, name)) continue;
    if (!first) cf_buf_putc(out, ',');
    first = false;
    cf_buf_json_string(out, name, strlen(name));
    cf_buf_putc(out, ':');
    cf_buf_puts(out, v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "null");
  }
  cf_buf_puts(out, "},\"history\":[");
  first = true;
  for (size_t i = 0; i < nch; i++) {
    struct json_object *c = cf_json_parse(ch[i].changes, strlen(ch[i].changes), &e2);
    if (!c) continue;
    struct json_object *mine = json_object_new_object();
    json_object_object_foreach(c, cname, cv) if (in_array(names, cname)) json_object_object_add(mine, cname, json_object_get(cv));
    if (json_object_object_length(mine)) {
      if (!first) cf_buf_putc(out, ',');
      first = false;
      char at[40];
      crm_time_text(ch[i].at_ms, at);
      cf_buf_printf(out, "{\"at\":\"%s\",\"by\":", at);
      cf_buf_json_string(out, ch[i].by ? ch[i].by : "", ch[i].by ? strlen(ch[i].by) : 0);
      cf_buf_puts(out, ",\"kind\":");
      cf_buf_json_string(out, ch[i].kind, strlen(ch[i].kind));
      cf_buf_puts(out, ",\"changes\":");
      cf_buf_puts(out, json_object_to_json_string_ext(mine, JSON_C_TO_STRING_PLAIN));
      cf_buf_putc(out, '}');
    }
    json_object_put(mine);
    json_object_put(c);
  }
  cf_buf_puts(out, "],\"instances\":[");
  static const char *const states[] = {"ACTIVE", "COMPLETED", "TERMINATED"};
  for (size_t i = 0; i < inst.n; i++) {
    cf_buf_printf(out, "%s{\"processInstanceKey\":\"%" PRIu64 "\",\"processDefinitionId\":", i ? "," : "",
                  inst.instances[i].key);
    cf_buf_json_string(out, inst.instances[i].process_id, strlen(inst.instances[i].process_id));
    cf_buf_printf(out, ",\"state\":\"%s\"}", states[inst.instances[i].state <= 2 ? inst.instances[i].state : 0]);
  }
  cf_buf_puts(out, "]}");
  if (out->oom) rc = cf_error_set(err, CF_ENOMEM, "out of memory");
out:
  if (fields) json_object_put(fields);
  json_object_put(names);
  cf_store_record_release(&r);
  for (size_t i = 0; i < nch; i++) cf_store_record_change_release(&ch[i]);
  cf_free(ch);
  cf_store_result_release(&inst);
  return rc;
}

/* Adds the string form of a JSON value (strings as they are, numbers as their text) to a value list. */
static int add_value(char ***vals, size_t *n, size_t *cap, struct json_object *v) {
  if (!v || json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array) ||
      json_object_is_type(v, json_type_boolean))
    return CF_OK;
  const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : cf_json_number_text(v);
  if (!s || !*s || !strcmp(s, CF_CRM_ERASED)) return CF_OK;
  for (size_t i = 0; i < *n; i++)
    if (!strcmp((*vals)[i], s)) return CF_OK;
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 16;
    char **nv = cf_realloc(*vals, nc * sizeof *nv);
    if (!nv) return CF_ENOMEM;
    *vals = nv;
    *cap = nc;
  }
  if (!((*vals)[*n] = cf_strdup(s))) return CF_ENOMEM;
  (*n)++;
  return CF_OK;
}

int cf_crm_personal_erase(struct cf_crm *crm, struct cf_runtime *rt, const char *type, uint64_t key,
                          const struct cf_crm_origin *origin, size_t *instances, struct cf_error *err) {
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  int rc = cf_crm_refresh(crm, ops, st, err);
  if (rc) return rc;
  if (instances) *instances = 0;
  pthread_mutex_lock(&crm->mu);
  const struct cf_crm_type *t = crm_type(crm, type);
  struct json_object *names = t ? personal_fields(t) : NULL;
  pthread_mutex_unlock(&crm->mu);
  if (!t) return cf_error_set(err, CF_ENOTFOUND, "no record type '%s'", type);
  if (!names) return cf_error_set(err, CF_ENOMEM, "out of memory");
  struct cf_store_record r;
  memset(&r, 0, sizeof r);
  struct cf_store_record_change *ch = NULL;
  size_t nch = 0, nvals = 0, cap = 0;
  char **vals = NULL;
  struct cf_store_result inst;
  memset(&inst, 0, sizeof inst);
  struct json_object *fields = NULL, *changes = NULL;
  char *text = NULL, *names_text = NULL;
  struct cf_error e2;
  rc = ops->record_get(st, type, key, &r, err);
  if (rc == CF_ENOTFOUND) rc = cf_error_set(err, CF_ENOTFOUND, "no %s record with key %" PRIu64, type, key);
  if (!rc) rc = ops->record_history(st, key, &ch, &nch, err);
  if (!rc && !(fields = cf_json_parse(r.fields, strlen(r.fields), &e2)))
    rc = cf_error_set(err, CF_EIO, "the stored record is not JSON");
  if (rc) goto out;
  /* Every value the personal fields have had: now, and in each change. */
  changes = json_object_new_object();
  for (size_t i = 0; i < json_object_array_length(names) && !rc; i++) {
    const char *name = json_object_get_string(json_object_array_get_idx(names, i));
    struct json_object *v = NULL;
    if (json_object_object_get_ex(fields, name, &v) && v) {
      rc = add_value(&vals, &nvals, &cap, v);
      json_object_object_add(fields, name, json_object_new_string(CF_CRM_ERASED));
      struct json_object *c = json_object_new_object();
      json_object_object_add(c, "from", json_object_new_string(CF_CRM_ERASED));
      json_object_object_add(c, "to", json_object_new_string(CF_CRM_ERASED));
      json_object_object_add(changes, name, c);
    }
    for (size_t k = 0; k < nch && !rc; k++) {
      struct json_object *cj = cf_json_parse(ch[k].changes, strlen(ch[k].changes), &e2), *fc = NULL, *side = NULL;
      if (cj && json_object_object_get_ex(cj, name, &fc) && fc) {
        if (json_object_object_get_ex(fc, "from", &side)) rc = add_value(&vals, &nvals, &cap, side);
        if (!rc && json_object_object_get_ex(fc, "to", &side)) rc = add_value(&vals, &nvals, &cap, side);
      }
      if (cj) json_object_put(cj);
    }
    /* A unique value is given up with it. */
    if (!rc) rc = ops->record_unique(st, type, name, NULL, key, err);
  }
  if (rc) {
    if (rc == CF_ENOMEM) cf_error_set(err, CF_ENOMEM, "out of memory");
    goto out;
  }
  /* The record now, its history, the erasure recorded. */
  if (!(text = cf_json_dump(fields)) || !(names_text = cf_json_dump(names))) {
    rc = cf_error_set(err, CF_ENOMEM, "out of memory");
    goto out;
  }
  int64_t now = cf_runtime_now(rt);
  const char *by = origin && origin->actor ? origin->actor : "crm";
  struct cf_store_record upd = r;
  upd.fields = text;
  upd.updated_ms = now;
  upd.updated_by = (char *)by;
  if ((rc = ops->record_update(st, &upd, r.version, err))) goto out;
  if ((rc = ops->record_history_erase(st, key, names_text, CF_CRM_ERASED, err))) goto out;
  char *ctext = cf_json_dump(changes);
  if (!ctext) {
    rc = cf_error_set(err, CF_ENOMEM, "out of memory");
    goto out;
  }
  struct cf_store_record_change c = {.record_key = key, .type = (char *)type, .at_ms = now, .by = (char *)by,
                                     .kind = "erase", .changes = ctext};
  rc = ops->record_change_append(st, &c, err);
  cf_free(ctext);
  if (rc) goto out;
  /* The instances that worked on the record. */
  if ((rc = record_instances(ops, st, key, &inst, err))) goto out;
  for (size_t i = 0; i < inst.n && !rc && nvals; i++) {
    rc = cf_runtime_erase_values(rt, inst.instances[i].key, (const char *const *)vals, nvals, CF_CRM_ERASED, NULL, err);
    if (!rc && instances) (*instances)++;
  }
out:
  if (fields) json_object_put(fields);
  if (changes) json_object_put(changes);
  json_object_put(names);
  cf_free(text);
  cf_free(names_text);
  cf_store_record_release(&r);
  for (size_t i = 0; i < nch; i++) cf_store_record_change_release(&ch[i]);
  cf_free(ch);
  for (size_t i = 0; i < nvals; i++) cf_free(vals[i]);
  cf_free(vals);
  cf_store_result_release(&inst);
  return rc;
}
