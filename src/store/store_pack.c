/*
 * The history pack (store_pack.h): the format both backends store an
 * instance's history in, written and read here once.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/cf_alloc.h"
#include "base/cf_json.h"
#include "store/store_pack.h"

/*
 * The kinds written as numbers in a pack (1-based index): the runtime's event names. Append only,
 * like a migration: a pack written with one index must read back with the same name. Any other kind
 * is written as its string.
 */
static const char *const well_known_kinds[] = {
    "ELEMENT_ACTIVATED", "ELEMENT_COMPLETED", "ELEMENT_TERMINATED", "SEQUENCE_FLOW_TAKEN",
    "JOB_CREATED", "JOB_COMPLETED", "JOB_FAILED", "JOB_RETRIES_UPDATED", "JOB_ERROR_THROWN",
    "JOB_CANCELED", "USER_TASK_CREATED", "USER_TASK_ASSIGNED", "USER_TASK_COMPLETED",
    "USER_TASK_CANCELED", "INCIDENT_CREATED", "INCIDENT_RESOLVED", "VARIABLE_SET",
    "INSTANCE_COMPLETED", "INSTANCE_TERMINATED", "TIMER_CREATED", "TIMER_TRIGGERED", "TIMER_CANCELED",
    "SUBSCRIPTION_OPENED", "SUBSCRIPTION_CORRELATED", "SUBSCRIPTION_CLOSED", "SIGNAL_THROWN",
    "CALL_STARTED", "CALL_CANCELED", "ERROR_TO_PARENT", "ESCALATION_TO_PARENT", "JOB_ACTIVATED",
};
#define NKINDS (sizeof well_known_kinds / sizeof well_known_kinds[0])

void cf__store_pack_event(struct cf_buf *b, const struct cf_store_event *e, int64_t row_at) {
  const char *kind = e->kind ? e->kind : "";
  size_t code = 0;
  for (size_t k = 0; k < NKINDS && !code; k++)
    if (!strcmp(kind, well_known_kinds[k])) code = k + 1;
  if (code) cf_buf_printf(b, "[%zu", code);
  else {
    cf_buf_putc(b, '[');
    cf_buf_json_string(b, kind, strlen(kind));
  }
  cf_buf_printf(b, ",%llu", (unsigned long long)e->key);
  int64_t dt = e->at_ms - row_at;
  const char *f[3] = {e->element_id, e->detail, e->variables};
  int last = f[2] ? 5 : f[1] ? 4 : f[0] ? 3 : dt ? 2 : 1;
  if (last >= 2) cf_buf_printf(b, ",%lld", (long long)dt);
  for (int k = 0; k + 3 <= last; k++) {
    cf_buf_putc(b, ',');
    if (f[k]) cf_buf_json_string(b, f[k], strlen(f[k]));
    else cf_buf_puts(b, "null");
  }
  cf_buf_putc(b, ']');
}

static char *json_str_dup(struct json_object *a, size_t i, bool *ok) {
  struct json_object *v = json_object_array_get_idx(a, i);
  if (!v || json_object_is_type(v, json_type_null)) return NULL;
  char *d = cf_strdup(json_object_get_string(v));
  if (!d) *ok = false;
  return d;
}

int cf__store_pack_unpack(const char *db, uint64_t instance_key, int64_t at_ms, const char *actor,
                  const char *text, size_t len, struct cf_store_event **out, size_t *n, size_t *cap,
                  struct cf_error *err) {
  struct cf_error jerr = {0};
  struct json_object *arr = cf_json_parse(text, len, &jerr);
  if (!arr || !json_object_is_type(arr, json_type_array)) {
    json_object_put(arr);
    return cf_error_set(err, CF_EIO, "%s is corrupt: the history of instance %llu is damaged (%s); restore it from a backup",
                        db, (unsigned long long)instance_key, jerr.msg[0] ? jerr.msg : "not an array");
  }
  int r = CF_OK;
  size_t m = json_object_array_length(arr);
  for (size_t i = 0; i < m && r == CF_OK; i++) {
    struct json_object *ev = json_object_array_get_idx(arr, i);
    size_t items = json_object_is_type(ev, json_type_array) ? json_object_array_length(ev) : 0;
    struct json_object *k0 = items ? json_object_array_get_idx(ev, 0) : NULL;
    struct json_object *k1 = items > 1 ? json_object_array_get_idx(ev, 1) : NULL;
    bool v1 = k1 && json_object_is_type(k1, json_type_string);
    size_t code = k0 && json_object_is_type(k0, json_type_int) ? (size_t)json_object_get_int64(k0) : 0;
    bool kind_ok = k0 && (json_object_is_type(k0, json_type_string) || (code >= 1 && code <= NKINDS));
    if (!kind_ok || (v1 ? items != 5 && items != 6 : items < 2 || items > 6 || !json_object_is_type(k1, json_type_int))) {
      r = cf_error_set(err, CF_EIO,
                       "%s is corrupt: the history of instance %llu is damaged (an event of an unknown"
                       " shape); restore it from a backup",
                       db, (unsigned long long)instance_key);
      break;
    }
    if (!cf_grow((void **)out, cap, *n, sizeof **out)) {
      r = cf_error_set(err, CF_ENOMEM, "out of memory");
      break;
    }
    struct cf_store_event *e = &(*out)[*n];
    memset(e, 0, sizeof *e);
    bool ok = true;
    e->instance_key = instance_key;
    if (code) {
      if (!(e->kind = cf_strdup(well_known_kinds[code - 1]))) ok = false;
    } else {
      e->kind = json_str_dup(ev, 0, &ok);
    }
    if (v1) {
      e->key = strtoull(json_object_get_string(k1), NULL, 10);
      e->element_id = json_str_dup(ev, 2, &ok);
      e->detail = json_str_dup(ev, 3, &ok);
      e->variables = json_str_dup(ev, 4, &ok);
      e->at_ms = items == 6 ? json_object_get_int64(json_object_array_get_idx(ev, 5)) : at_ms;
    } else {
      e->key = (uint64_t)json_object_get_int64(k1);
      e->at_ms = at_ms + (items > 2 ? json_object_get_int64(json_object_array_get_idx(ev, 2)) : 0);
      if (items > 3) e->element_id = json_str_dup(ev, 3, &ok);
      if (items > 4) e->detail = json_str_dup(ev, 4, &ok);
      if (items > 5) e->variables = json_str_dup(ev, 5, &ok);
    }
    if (actor && !(e->actor = cf_strdup(actor))) ok = false;
    if (!ok || !e->kind) {
      cf_store_event_release(e);
      r = cf_error_set(err, CF_ENOMEM, "out of memory");
      break;
    }
    (*n)++;
  }
  json_object_put(arr);
  return r;
}

/*
 * An event of a pack is [kind, key, dt, element_id, detail, variables] (or, in the first form,
 * [kind, "key", element_id, detail, variables, at]): its detail may be a value, its variables are
 * JSON text in a string. Both are rewritten; nothing else of the event is touched.
 */
bool cf__store_pack_erase(struct json_object *pack, const char *const *vals, size_t nvals,
                          const char *marker, size_t *count) {
  size_t before = *count;
  for (size_t e = 0; json_object_is_type(pack, json_type_array) && e < json_object_array_length(pack); e++) {
    struct json_object *ev = json_object_array_get_idx(pack, e);
    if (!ev || !json_object_is_type(ev, json_type_array)) continue;
    for (size_t k = 2; k < json_object_array_length(ev); k++) {
      struct json_object *item = json_object_array_get_idx(ev, k);
      if (!item || !json_object_is_type(item, json_type_string)) continue;
      const char *s = json_object_get_string(item);
      size_t c0 = *count;
      /* Variables are JSON text (values inside its strings); a detail is a plain string. */
      char *t = *s == '{' || *s == '[' ? cf_json_erase_strings(s, strlen(s), vals, nvals, marker, count)
                                       : cf_str_erase(s, vals, nvals, marker, count);
      if (t && *count != c0) json_object_array_put_idx(ev, k, json_object_new_string(t));
      cf_free(t);
    }
  }
  return *count != before;
}
