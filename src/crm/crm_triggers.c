/*
 * Triggers (cf_crm.h): compiled once when added (or loaded), matched
 * against every record change in the change's own operation.
 *
 * A change's FEEL context: `record` (the fields after the change, with
 * createdAt and updatedAt; before it, for a delete), `previous` (before;
 * null on create), `changed` (the names of the fields that changed),
 * `recordKey`, `recordType`. A condition that is not true (false, null, an
 * error) does not fire.
 *
 * Exactly once: the trigger's effect (an instance started, a message
 * published, a timer set) is written in the change's transaction.
 * Enrollment: every-time; once-per-record (never again after an instance
 * started for the record); not-while-active (not while one it started for
 * the record is active). Loop guard: a change made by a job of an instance
 * of the trigger's process working on the same record (its recordKey) does
 * not start that process again, unless the trigger says "allowSelf".
 * Date-relative triggers ("at") keep one timer per record, set again on
 * every change, removed on delete; when it falls due the condition is
 * evaluated against the record as it is then.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/cf_alloc.h"
#include "base/cf_json.h"
#include "base/cf_time.h"
#include "crm/crm_int.h"

void crm_trigger_release(struct crm_trigger *t) {
  if (!t) return;
  cf_free(t->name);
  cf_free(t->record_type);
  cf_feel_expr_free(t->condition);
  cf_feel_expr_free(t->variables);
  cf_feel_expr_free(t->at);
  cf_feel_expr_free(t->corr);
  cf_free(t->process_id);
  cf_free(t->message);
  cf_free(t->json);
  memset(t, 0, sizeof *t);
}

static const char *const names[] = {"record", "previous", "changed", "recordKey", "recordType"};

/* A FEEL expression field ("=..." or a plain expression), compiled; absent: NULL and CF_OK. */
static int expr_field(struct json_object *def, const char *field, struct cf_feel_expr **out, struct cf_error *err) {
  *out = NULL;
  struct json_object *v = NULL;
  if (!json_object_object_get_ex(def, field, &v) || !v) return CF_OK;
  if (!json_object_is_type(v, json_type_string))
    return cf_error_set(err, CF_EINVAL, "%s: a FEEL expression (a string, \"=...\") is expected", field);
  const char *s = json_object_get_string(v);
  if (*s == '=') s++;
  struct cf_error e2;
  cf_error_clear(&e2);
  *out = cf_feel_compile(s, strlen(s), names, sizeof names / sizeof names[0], &e2);
  if (!*out) return cf_error_set(err, CF_EINVAL, "%s: %s", field, e2.msg);
  return CF_OK;
}

static const char *str_field(struct json_object *def, const char *field) {
  struct json_object *v = NULL;
  return json_object_object_get_ex(def, field, &v) && v && json_object_is_type(v, json_type_string)
             ? json_object_get_string(v)
             : NULL;
}

int crm_trigger_compile(struct json_object *def, struct crm_trigger *t, struct cf_error *err) {
  memset(t, 0, sizeof *t);
  if (!def || !json_object_is_type(def, json_type_object))
    return cf_error_set(err, CF_EINVAL, "a trigger is a JSON object");
  const char *name = str_field(def, "name"), *type = str_field(def, "recordType");
  const char *pid = str_field(def, "processDefinitionId");
  if (!name || !*name || strlen(name) > 100) return cf_error_set(err, CF_EINVAL, "name: a trigger needs a name");
  if (!type || !*type) return cf_error_set(err, CF_EINVAL, "recordType: the type of record the trigger watches");
  int rc = CF_OK;
  if (!(t->name = cf_strdup(name)) || !(t->record_type = cf_strdup(type)) ||
      !(t->json = cf_strdup(json_object_to_json_string_ext(def, JSON_C_TO_STRING_PLAIN)))) {
    rc = cf_error_set(err, CF_ENOMEM, "out of memory");
    goto out;
  }
  struct json_object *on = NULL;
  if (json_object_object_get_ex(def, "on", &on) && on) {
    if (!json_object_is_type(on, json_type_array) || !json_object_array_length(on)) {
      rc = cf_error_set(err, CF_EINVAL, "on: a list of create, update, delete");
      goto out;
    }
    for (size_t i = 0; i < json_object_array_length(on); i++) {
      struct json_object *e = json_object_array_get_idx(on, i);
      const char *ev = e && json_object_is_type(e, json_type_string) ? json_object_get_string(e) : "";
      if (!strcmp(ev, "create")) t->on_create = true;
      else if (!strcmp(ev, "update")) t->on_update = true;
      else if (!strcmp(ev, "delete")) t->on_delete = true;
      else {
        rc = cf_error_set(err, CF_EINVAL, "on[%zu]: create, update or delete, not '%.40s'", i, ev);
        goto out;
      }
    }
  }
  if ((rc = expr_field(def, "condition", &t->condition, err)) || (rc = expr_field(def, "variables", &t->variables, err)) ||
      (rc = expr_field(def, "at", &t->at, err)))
    goto out;
  if (t->at && !t->on_create && !t->on_update && !t->on_delete) t->on_create = t->on_update = true;
  if (!t->at && !t->on_create && !t->on_update && !t->on_delete) {
    rc = cf_error_set(err, CF_EINVAL, "on: a list of create, update, delete (or \"at\" for a date-relative trigger)");
    goto out;
  }
  struct json_object *msg = NULL;
  if (json_object_object_get_ex(def, "message", &msg) && msg) {
    const char *mname = json_object_is_type(msg, json_type_object) ? str_field(msg, "name") : NULL;
    if (!mname || !*mname) {
      rc = cf_error_set(err, CF_EINVAL, "message.name: the message to publish");
      goto out;
    }
    if (!(t->message = cf_strdup(mname))) {
      rc = cf_error_set(err, CF_ENOMEM, "out of memory");
      goto out;
    }
    if ((rc = expr_field(msg, "correlationKey", &t->corr, err))) {
      char why[sizeof err->msg];
      snprintf(why, sizeof why, "%s", err->msg);
      rc = cf_error_set(err, CF_EINVAL, "message.%s", why);
      goto out;
    }
    struct json_object *ttl = NULL;
    if (json_object_object_get_ex(msg, "timeToLive", &ttl) && ttl) t->ttl_ms = json_object_get_int64(ttl);
    if (t->ttl_ms < 0) {
      rc = cf_error_set(err, CF_EINVAL, "message.timeToLive: milliseconds, 0 or more");
      goto out;
    }
  }
  if (pid && *pid && !(t->process_id = cf_strdup(pid))) {
    rc = cf_error_set(err, CF_ENOMEM, "out of memory");
    goto out;
  }
  if (!t->process_id == !t->message) {
    rc = cf_error_set(err, CF_EINVAL, "processDefinitionId: a trigger starts a process or (message) publishes a "
                                      "message, one of the two");
    goto out;
  }
  const char *en = str_field(def, "enrollment");
  if (!en || !strcmp(en, "every-time")) t->enrollment = ENROLL_EVERY;
  else if (!strcmp(en, "once-per-record")) t->enrollment = ENROLL_ONCE;
  else if (!strcmp(en, "not-while-active")) t->enrollment = ENROLL_NOT_ACTIVE;
  else {
    rc = cf_error_set(err, CF_EINVAL, "enrollment: every-time, once-per-record or not-while-active, not '%.40s'", en);
    goto out;
  }
  struct json_object *self = NULL;
  t->allow_self = json_object_object_get_ex(def, "allowSelf", &self) && self && json_object_get_boolean(self);
out:
  if (rc) crm_trigger_release(t);
  return rc;
}

/* ------------------------------------------------------------ evaluation */

struct cf_feel_env crm_env(struct cf_runtime *rt) {
  int64_t now = cf_runtime_now(rt);
  struct cf_feel_env env = {.now_secs = cf_time_floor_div(now, 1000),
                            .now_nanos = (int32_t)(cf_time_floor_mod(now, 1000) * 1000000)};
  return env;
}

static int put_json(struct cf_feel_value *ctx, const char *name, struct json_object *j) {
  struct cf_feel_value v;
  cf_feel_set_null(&v);
  if (j && cf_feel_from_json(j, &v)) return CF_ENOMEM;
  return cf_feel_ctx_put(ctx, name, strlen(name), &v);
}

static int put_str(struct cf_feel_value *ctx, const char *name, const char *s) {
  struct cf_feel_value v;
  if (cf_feel_set_string(&v, s, strlen(s))) return CF_ENOMEM;
  return cf_feel_ctx_put(ctx, name, strlen(name), &v);
}

int crm_change_context(const struct crm_change *ch, struct cf_feel_value *out) {
  char key[24];
  snprintf(key, sizeof key, "%" PRIu64, ch->key);
  if (cf_feel_ctx_new(out, 5)) return CF_ENOMEM;
  if (put_json(out, "record", ch->record) || put_json(out, "previous", ch->previous) ||
      put_json(out, "changed", ch->changed) || put_str(out, "recordKey", key) ||
      put_str(out, "recordType", ch->type)) {
    cf_feel_value_release(out);
    return CF_ENOMEM;
  }
  return CF_OK;
}

/* true when the condition holds (absent: always). */
static bool holds(const struct crm_trigger *t, const struct cf_feel_value *ctx, const struct cf_feel_env *env) {
  if (!t->condition) return true;
  struct cf_feel_value v;
  cf_feel_set_null(&v);
  if (cf_feel_eval(t->condition, ctx, env, &v, NULL)) return false;
  bool yes = v.type == CF_FEEL_BOOLEAN && v.u.boolean;
  cf_feel_value_release(&v);
  return yes;
}

/* A FEEL date-and-time, date or RFC 3339 string as epoch ms; false when it is none of them. */
static bool to_ms(const struct cf_feel_value *v, int64_t *ms) {
  if (v->type == CF_FEEL_DATETIME || v->type == CF_FEEL_DATE) {
    const struct cf_feel_temporal *t = &v->u.t;
    int64_t days = cf_time_days_from_civil(t->year, t->month, t->day);
    int64_t off = v->type == CF_FEEL_DATETIME && t->zone_kind != CF_FEEL_ZONE_LOCAL ? t->offset : 0;
    *ms = days * 86400000 + (int64_t)t->hour * 3600000 + (int64_t)t->minute * 60000 + (int64_t)t->second * 1000 +
          t->nanos / 1000000 - off * 1000;
    return true;
  }
  return false;
}

/* Whether the change was made by a job of an instance of process pid working on this record. */
static int own_change(struct cf_runtime *rt, const struct cf_crm_origin *o, const char *pid, uint64_t record_key,
                      bool *own, struct cf_error *err) {
  *own = false;
  if (!o || !o->instance_key || !o->process_id || strcmp(o->process_id, pid)) return CF_OK;
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  struct cf_store_instance in;
  memset(&in, 0, sizeof in);
  int rc = ops->instance_get(st, o->instance_key, &in, err);
  if (rc == CF_ENOTFOUND) {
    cf_error_clear(err);
    return CF_OK;
  }
  if (rc) return rc;
  struct cf_error e2;
  struct json_object *vars = in.variables ? cf_json_parse(in.variables, strlen(in.variables), &e2) : NULL;
  struct json_object *k = NULL;
  if (vars && json_object_object_get_ex(vars, "recordKey", &k) && k) {
    const char *t = json_object_is_type(k, json_type_string) ? json_object_get_string(k) : cf_json_number_text(k);
    *own = t && strtoull(t, NULL, 10) == record_key;
  }
  if (vars) json_object_put(vars);
  cf_store_instance_release(&in);
  return CF_OK;
}

/* Starts the trigger's process or publishes its message for the change (enrollment and guard checked). */
static int fire(struct cf_crm *crm, struct cf_runtime *rt, const struct crm_trigger *t, uint64_t record_key,
                const char *record_type, const struct cf_feel_value *ctx, const struct cf_crm_origin *origin,
                struct cf_error *err) {
  (void)crm;
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  int rc;
  if (t->process_id) {
    if (!t->allow_self) {
      bool own;
      if ((rc = own_change(rt, origin, t->process_id, record_key, &own, err))) return rc;
      if (own) return CF_OK;
    }
    if (t->enrollment != ENROLL_EVERY) {
      size_t count = 0;
      bool active = false;
      if ((rc = ops->enrollment_find(st, t->key, record_key, &count, &active, err))) return rc;
      if ((t->enrollment == ENROLL_ONCE && count) || (t->enrollment == ENROLL_NOT_ACTIVE && active)) return CF_OK;
    }
  }
  struct cf_feel_env env = crm_env(rt);
  struct cf_feel_value vars;
  cf_feel_set_null(&vars);
  if (t->variables) {
    struct cf_feel_warnings w;
    cf_feel_warnings_init(&w);
    rc = cf_feel_eval(t->variables, ctx, &env, &vars, &w);
    bool bad = !rc && vars.type != CF_FEEL_CONTEXT;
    if (bad)
      rc = cf_error_set(err, CF_EINVAL, "trigger %s: variables must give a context, not %s%s%s", t->name,
                        cf_feel_type_name(vars.type), w.count ? ": " : "", w.count ? w.items[0] : "");
    cf_feel_warnings_release(&w);
    if (rc) {
      cf_feel_value_release(&vars);
      return rc == CF_ENOMEM ? cf_error_set(err, CF_ENOMEM, "out of memory") : rc;
    }
  } else if (cf_feel_ctx_new(&vars, 2)) {
    return cf_error_set(err, CF_ENOMEM, "out of memory");
  }
  char key[24];
  snprintf(key, sizeof key, "%" PRIu64, record_key);
  if (put_str(&vars, "recordType", record_type) || put_str(&vars, "recordKey", key)) {
    cf_feel_value_release(&vars);
    return cf_error_set(err, CF_ENOMEM, "out of memory");
  }
  if (t->process_id) {
    uint64_t ikey = 0;
    rc = cf_runtime_start(rt, t->process_id, 0, &vars, NULL, &ikey, err);
    if (rc == CF_ENOTFOUND)
      rc = cf_error_set(err, CF_EINVAL, "trigger %s: process %s is not deployed (deploy it, or delete the trigger)",
                        t->name, t->process_id);
    if (!rc) rc = ops->enrollment_insert(st, t->key, record_key, ikey, cf_runtime_now(rt), err);
  } else {
    struct cf_feel_value ck;
    cf_feel_set_null(&ck);
    struct cf_buf text;
    cf_buf_init(&text);
    rc = t->corr ? cf_feel_eval(t->corr, ctx, &env, &ck, NULL) : CF_OK;
    if (!rc && ck.type != CF_FEEL_NULL) rc = cf_feel_to_string(&ck, &text);
    if (!rc) cf_buf_putc(&text, '\0');
    if (rc) rc = cf_error_set(err, CF_ENOMEM, "out of memory");
    uint64_t mk;
    bool dup;
    if (!rc) rc = cf_runtime_publish(rt, t->message, text.data ? text.data : "", &vars, t->ttl_ms, NULL, &mk, &dup, err);
    cf_feel_value_release(&ck);
    cf_buf_release(&text);
  }
  cf_feel_value_release(&vars);
  return rc;
}

int crm_run_triggers(struct cf_crm *crm, struct cf_runtime *rt, const struct crm_change *ch,
                     const struct cf_crm_origin *origin, struct cf_error *err) {
  bool any = false;
  for (size_t i = 0; i < crm->ntriggers && !any; i++) any = !strcmp(crm->triggers[i].record_type, ch->type);
  if (!any) return CF_OK;
  struct cf_feel_value ctx;
  if (crm_change_context(ch, &ctx)) return cf_error_set(err, CF_ENOMEM, "out of memory");
  struct cf_feel_env env = crm_env(rt);
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  int rc = CF_OK;
  bool del = !strcmp(ch->event, "delete");
  for (size_t i = 0; i < crm->ntriggers && !rc; i++) {
    const struct crm_trigger *t = &crm->triggers[i];
    if (strcmp(t->record_type, ch->type)) continue;
    if (t->at) {
      /* Date-relative: (re)schedule on a change, forget on delete. */
      struct cf_store_crm_timer tm = {.trigger_key = t->key, .record_key = ch->key, .record_type = (char *)ch->type,
                                      .due_ms = -1};
      if (!del) {
        struct cf_feel_value at;
        cf_feel_set_null(&at);
        rc = cf_feel_eval(t->at, &ctx, &env, &at, NULL);
        int64_t ms;
        if (!rc && to_ms(&at, &ms)) tm.due_ms = ms < 0 ? 0 : ms;
        cf_feel_value_release(&at);
        if (rc) rc = cf_error_set(err, CF_ENOMEM, "out of memory");
      }
      if (!rc) rc = ops->crm_timer_set(st, &tm, err);
      continue;
    }
    bool on = (!strcmp(ch->event, "create") && t->on_create) || (!strcmp(ch->event, "update") && t->on_update) ||
              (del && t->on_delete);
    if (!on || !holds(t, &ctx, &env)) continue;
    rc = fire(crm, rt, t, ch->key, ch->type, &ctx, origin, err);
  }
  cf_feel_value_release(&ctx);
  return rc;
}

/* ------------------------------------------------------------ adding, listing, timers */

int cf_crm_trigger_add(struct cf_crm *crm, struct cf_runtime *rt, struct json_object *def, uint64_t *key,
                       struct cf_error *err) {
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  struct crm_trigger t;
  int rc = crm_trigger_compile(def, &t, err);
  if (rc) return rc;
  pthread_mutex_lock(&crm->mu);
  if (!(rc = crm_refresh_locked(crm, ops, st, err)) && !crm_type(crm, t.record_type))
    rc = cf_error_set(err, CF_EINVAL, "recordType: there is no record type '%s'", t.record_type);
  if (!rc) rc = ops->reserve_keys(st, 1, key, err);
  if (!rc) {
    struct cf_store_trigger row = {.key = *key, .name = t.name, .record_type = t.record_type, .definition = t.json,
                                   .created_ms = cf_runtime_now(rt)};
    rc = ops->trigger_insert(st, &row, err);
    if (rc == CF_ECONFLICT) rc = cf_error_set(err, CF_ECONFLICT, "name: a trigger named '%s' exists already", t.name);
  }
  if (!rc && !(rc = crm_bump(ops, st, err))) rc = crm_refresh_locked(crm, ops, st, err);
  pthread_mutex_unlock(&crm->mu);
  crm_trigger_release(&t);
  return rc;
}

int cf_crm_trigger_delete(struct cf_crm *crm, struct cf_runtime *rt, uint64_t key, struct cf_error *err) {
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  pthread_mutex_lock(&crm->mu);
  int rc = ops->trigger_delete(st, key, err);
  if (rc == CF_ENOTFOUND) rc = cf_error_set(err, CF_ENOTFOUND, "no trigger with key %" PRIu64, key);
  if (!rc && !(rc = crm_bump(ops, st, err))) rc = crm_refresh_locked(crm, ops, st, err);
  pthread_mutex_unlock(&crm->mu);
  return rc;
}

int cf_crm_triggers_json(struct cf_crm *crm, const struct cf_store_ops *ops, struct cf_store *st, struct cf_buf *out,
                         struct cf_error *err) {
  (void)crm;
  struct cf_store_trigger *rows = NULL;
  size_t n = 0;
  int rc = ops->trigger_list(st, &rows, &n, err);
  if (rc) return rc;
  cf_buf_puts(out, "{\"items\":[");
  for (size_t i = 0; i < n; i++) {
    const char *d = rows[i].definition && *rows[i].definition == '{' ? rows[i].definition : "{}";
    cf_buf_printf(out, "%s{\"triggerKey\":\"%" PRIu64 "\"", i ? "," : "", rows[i].key);
    /* The definition's members after the key. */
    const char *body = d + 1;
    while (*body == ' ') body++;
    if (*body != '}') cf_buf_putc(out, ',');
    cf_buf_puts(out, body);
    cf_store_trigger_release(&rows[i]);
  }
  cf_free(rows);
  cf_buf_puts(out, "]}");
  return CF_OK;
}

struct fire_arg {
  struct cf_crm *crm;
  const struct cf_store_crm_timer *tm;
};

/* One due timer, as an operation of its own: the record as it is now, the condition, the start. */
static int fire_one(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct fire_arg *a = arg;
  struct cf_crm *crm = a->crm;
  const struct cf_store_crm_timer *tm = a->tm;
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  struct cf_store_crm_timer gone = *tm;
  gone.due_ms = -1;
  int rc = ops->crm_timer_set(st, &gone, err);
  if (rc) return rc;
  const struct crm_trigger *t = NULL;
  for (size_t i = 0; i < crm->ntriggers; i++)
    if (crm->triggers[i].key == tm->trigger_key) t = &crm->triggers[i];
  if (!t) return CF_OK;
  struct cf_store_record r;
  memset(&r, 0, sizeof r);
  rc = ops->record_get(st, tm->record_type, tm->record_key, &r, err);
  if (rc == CF_ENOTFOUND) {
    cf_error_clear(err);
    return CF_OK;
  }
  if (rc) return rc;
  struct cf_buf b;
  cf_buf_init(&b);
  cf_crm_record_json(&r, &b);
  struct cf_error e2;
  struct json_object *all = b.oom ? NULL : cf_json_parse(b.data, b.len, &e2), *fields = NULL;
  if (all) json_object_object_get_ex(all, "fields", &fields);
  struct json_object *changed = json_object_new_array();
  struct crm_change ch = {.type = r.type, .key = r.key, .event = "at", .record = fields, .changed = changed};
  struct cf_feel_value ctx;
  cf_feel_set_null(&ctx);
  if (!all || !changed || crm_change_context(&ch, &ctx)) rc = cf_error_set(err, CF_ENOMEM, "out of memory");
  struct cf_feel_env env = crm_env(rt);
  if (!rc && holds(t, &ctx, &env)) rc = fire(crm, rt, t, r.key, r.type, &ctx, NULL, err);
  cf_feel_value_release(&ctx);
  if (changed) json_object_put(changed);
  if (all) json_object_put(all);
  cf_buf_release(&b);
  cf_store_record_release(&r);
  return rc;
}

int cf_crm_fire_timers(struct cf_crm *crm, struct cf_runtime *rt, size_t max, size_t *fired, struct cf_error *err) {
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  if (fired) *fired = 0;
  struct cf_store_crm_timer *due = NULL;
  size_t n = 0;
  int rc = cf_crm_refresh(crm, ops, st, err);
  if (!rc) rc = ops->crm_timers_due(st, cf_runtime_now(rt), max, &due, &n, err);
  int first = CF_OK;
  struct cf_error first_err;
  cf_error_clear(&first_err);
  pthread_mutex_lock(&crm->mu);
  for (size_t i = 0; i < n && !rc; i++) {
    struct fire_arg a = {crm, &due[i]};
    struct cf_error e;
    cf_error_clear(&e);
    int r = cf_runtime_run(rt, fire_one, &a, &e);
    if (r) {
      /* This one is undone; it is tried again in a minute (not on every tick); the others go on. */
      if (!first) {
        first = r;
        first_err = e;
      }
      struct cf_store_crm_timer later = due[i];
      later.due_ms = cf_runtime_now(rt) + 60000;
      struct cf_error e3;
      ops->crm_timer_set(st, &later, &e3);
    }
    if (!r && fired) (*fired)++;
  }
  pthread_mutex_unlock(&crm->mu);
  for (size_t i = 0; i < n; i++) cf_store_crm_timer_release(&due[i]);
  cf_free(due);
  if (!rc && first) {
    *err = first_err;
    rc = first;
  }
  return rc;
}

int cf_crm_next_due(struct cf_crm *crm, struct cf_runtime *rt, int64_t *due_ms, struct cf_error *err) {
  (void)crm;
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  return ops->crm_timer_next(st, due_ms, err);
}

int cf_crm_trigger_check(struct json_object *def, struct cf_error *err) {
  struct crm_trigger t;
  int rc = crm_trigger_compile(def, &t, err);
  if (!rc) crm_trigger_release(&t);
  return rc;
}
