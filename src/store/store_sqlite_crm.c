/*
 * The SQLite backend's part of the CRM layer (migration 6): records, their
 * unique values and history of changes, record types, triggers with their
 * enrollments and date-relative timers, and the crm layer's small named
 * state. Written by the crm layer (src/crm/) inside the runtime's
 * transactions, read by it and the API; so, like the principals, their
 * statements go through the handle's cache (store_sqlite_search.c) instead
 * of store_sqlite.c's fixed list, and every write call opens its scope with
 * call_begin: it joins the caller's transaction, or runs in one of its own.
 *
 * What the store checks (CF_EINVAL): keys are not 0, names and types are
 * given, a record's fields and a change's changes are JSON objects as
 * SQLite reads them (the searches and the history's erasure read them with
 * SQLite's JSON functions, so SQLite's parser is the judge, not json-c's).
 * The rest (a schema, a trigger's definition) is the crm layer's JSON, kept
 * as given.
 */
#include <string.h>

#include <json-c/json.h>

#include "base/cf_alloc.h"
#include "base/cf_json.h"
#include "store/cf_store.h"
#include "store/store_pack.h"
#include "store/store_sqlite_int.h"

/* ------------------------------------------------------------ helpers */

static int prepare(struct cf_store *s, const char *sql, sqlite3_stmt **st, struct cf_error *err) {
  return cf__store_sqlite_cached(s, sql, strlen(sql), st, err);
}

static int bind_text(sqlite3_stmt *st, int i, const char *v) {
  return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static int bind_key(sqlite3_stmt *st, int i, uint64_t v) {
  return sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

static int bind_failed(struct cf_store *s, sqlite3_stmt *st, struct cf_error *err, const char *what) {
  int r = cf__store_sqlite_fail(s, sqlite3_errcode(cf__store_sqlite_db(s)), err, what);
  sqlite3_reset(st);
  return r;
}

/* Steps a write to its end and resets it. *changes: the rows it changed; *xrc: SQLite's (extended)
 * result when it failed, so that a caller tells a taken key from a locked file. */
static int run(struct cf_store *s, sqlite3_stmt *st, int64_t *changes, int *xrc,
               struct cf_error *err, const char *what) {
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
  }
  int r = rc == SQLITE_DONE ? CF_OK : cf__store_sqlite_fail(s, rc, err, what);
  if (xrc) *xrc = rc;
  if (r == CF_OK && changes) *changes = sqlite3_changes64(cf__store_sqlite_db(s));
  sqlite3_reset(st);
  return r;
}

/* Runs a statement that yields at most one row of one integer column: *found says whether it did;
 * *v its value (0 for NULL). */
static int fetch_i64(struct cf_store *s, sqlite3_stmt *st, int64_t *v, bool *found,
                     struct cf_error *err, const char *what) {
  int r = CF_OK, rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *found = sqlite3_column_type(st, 0) != SQLITE_NULL;
    *v = sqlite3_column_int64(st, 0);
  } else if (rc == SQLITE_DONE) {
    *found = false;
    *v = 0;
  } else {
    r = cf__store_sqlite_fail(s, rc, err, what);
  }
  sqlite3_reset(st);
  return r;
}

static int need_text(const char *v, const char *name, const char *what, struct cf_error *err) {
  if (!v || !*v) return cf_error_set(err, CF_EINVAL, "%s: %s is needed", what, name);
  return CF_OK;
}

static int need_key(uint64_t key, const char *name, const char *what, struct cf_error *err) {
  if (!key) return cf_error_set(err, CF_EINVAL, "%s: %s is needed (not 0)", what, name);
  return CF_OK;
}

/* Whether text is a JSON object by SQLite's parser (CASE: json_type of text that is no JSON fails
 * the statement instead of giving NULL). */
static int need_object(struct cf_store *s, const char *text, const char *name, const char *what,
                       struct cf_error *err) {
  if (!text) return cf_error_set(err, CF_EINVAL, "%s: %s is missing (a JSON object)", what, name);
  sqlite3_stmt *st = NULL;
  int r = prepare(s, "SELECT CASE WHEN json_valid(?1) THEN json_type(?1) = 'object' ELSE 0 END",
                  &st, err);
  if (r) return r;
  if (bind_text(st, 1, text)) return bind_failed(s, st, err, what);
  int64_t is = 0;
  bool found = false;
  if ((r = fetch_i64(s, st, &is, &found, err, what))) return r;
  if (!is) return cf_error_set(err, CF_EINVAL, "%s: %s is not a JSON object", what, name);
  return CF_OK;
}

static unsigned long long ull(uint64_t v) { return (unsigned long long)v; }

/* ------------------------------------------------------------ rows */

#define RECORD_COLS "key, type, version, fields, created_ms, updated_ms, created_by, updated_by"
#define CHANGE_COLS "record_key, type, at_ms, actor, kind, changes"
#define TYPE_COLS "name, schema, updated_ms"
#define TRIGGER_COLS "key, name, record_type, definition, created_ms"
#define TIMER_COLS "trigger_key, record_key, record_type, due_ms"

bool cf__store_sqlite_read_record(sqlite3_stmt *st, void *row) {
  struct cf_store_record *r = row;
  bool ok = true;
  memset(r, 0, sizeof *r);
  r->key = (uint64_t)sqlite3_column_int64(st, 0);
  r->type = cf__store_sqlite_col_str(st, 1, &ok);
  r->version = sqlite3_column_int64(st, 2);
  r->fields = cf__store_sqlite_col_str(st, 3, &ok);
  r->created_ms = sqlite3_column_int64(st, 4);
  r->updated_ms = sqlite3_column_int64(st, 5);
  r->created_by = cf__store_sqlite_col_str(st, 6, &ok);
  r->updated_by = cf__store_sqlite_col_str(st, 7, &ok);
  if (!ok) cf_store_record_release(r);
  return ok;
}

static bool read_change(sqlite3_stmt *st, void *row) {
  struct cf_store_record_change *c = row;
  bool ok = true;
  memset(c, 0, sizeof *c);
  c->record_key = (uint64_t)sqlite3_column_int64(st, 0);
  c->type = cf__store_sqlite_col_str(st, 1, &ok);
  c->at_ms = sqlite3_column_int64(st, 2);
  c->by = cf__store_sqlite_col_str(st, 3, &ok);
  c->kind = cf__store_sqlite_col_str(st, 4, &ok);
  c->changes = cf__store_sqlite_col_str(st, 5, &ok);
  if (!ok) cf_store_record_change_release(c);
  return ok;
}

static bool read_type(sqlite3_stmt *st, void *row) {
  struct cf_store_record_type *t = row;
  bool ok = true;
  memset(t, 0, sizeof *t);
  t->name = cf__store_sqlite_col_str(st, 0, &ok);
  t->schema = cf__store_sqlite_col_str(st, 1, &ok);
  t->updated_ms = sqlite3_column_int64(st, 2);
  if (!ok) cf_store_record_type_release(t);
  return ok;
}

static bool read_trigger(sqlite3_stmt *st, void *row) {
  struct cf_store_trigger *t = row;
  bool ok = true;
  memset(t, 0, sizeof *t);
  t->key = (uint64_t)sqlite3_column_int64(st, 0);
  t->name = cf__store_sqlite_col_str(st, 1, &ok);
  t->record_type = cf__store_sqlite_col_str(st, 2, &ok);
  t->definition = cf__store_sqlite_col_str(st, 3, &ok);
  t->created_ms = sqlite3_column_int64(st, 4);
  if (!ok) cf_store_trigger_release(t);
  return ok;
}

static bool read_timer(sqlite3_stmt *st, void *row) {
  struct cf_store_crm_timer *t = row;
  bool ok = true;
  memset(t, 0, sizeof *t);
  t->trigger_key = (uint64_t)sqlite3_column_int64(st, 0);
  t->record_key = (uint64_t)sqlite3_column_int64(st, 1);
  t->record_type = cf__store_sqlite_col_str(st, 2, &ok);
  t->due_ms = sqlite3_column_int64(st, 3);
  if (!ok) cf_store_crm_timer_release(t);
  return ok;
}

static void rel_change(void *r) { cf_store_record_change_release(r); }
static void rel_type(void *r) { cf_store_record_type_release(r); }
static void rel_trigger(void *r) { cf_store_trigger_release(r); }
static void rel_timer(void *r) { cf_store_crm_timer_release(r); }

/* ------------------------------------------------------------ records */

static int check_record(struct cf_store *s, const struct cf_store_record *r, const char *what,
                        struct cf_error *err) {
  int rc;
  if (!r) return cf_error_set(err, CF_EINVAL, "%s: no record", what);
  if ((rc = need_key(r->key, "a key", what, err)) || (rc = need_text(r->type, "a type", what, err)) ||
      (rc = need_object(s, r->fields, "the fields", what, err)))
    return rc;
  return CF_OK;
}

int cf__store_sqlite_record_insert(struct cf_store *s, const struct cf_store_record *r,
                                   struct cf_error *err) {
  static const char what[] = "creating a record";
  int scope, xrc = SQLITE_OK, rc = check_record(s, r, what, err);
  if (rc || (rc = cf__store_sqlite_call_begin(s, &scope, err, what))) return rc;
  sqlite3_stmt *st = NULL;
  if ((rc = prepare(s, "INSERT INTO records(" RECORD_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    &st, err)))
    goto out;
  if (bind_key(st, 1, r->key) || bind_text(st, 2, r->type) || sqlite3_bind_int64(st, 3, r->version) ||
      bind_text(st, 4, r->fields) || sqlite3_bind_int64(st, 5, r->created_ms) ||
      sqlite3_bind_int64(st, 6, r->updated_ms) || bind_text(st, 7, r->created_by) ||
      bind_text(st, 8, r->updated_by)) {
    rc = bind_failed(s, st, err, what);
    goto out;
  }
  rc = run(s, st, NULL, &xrc, err, what);
  if (xrc == SQLITE_CONSTRAINT_PRIMARYKEY)
    rc = cf_error_set(err, CF_ECONFLICT, "%s: a record with key %llu exists", what, ull(r->key));
out:
  return cf__store_sqlite_call_end(s, scope, rc, err);
}

int cf__store_sqlite_record_update(struct cf_store *s, const struct cf_store_record *r,
                                   int64_t expected_version, struct cf_error *err) {
  static const char what[] = "updating a record";
  int scope, rc = check_record(s, r, what, err);
  if (rc || (rc = cf__store_sqlite_call_begin(s, &scope, err, what))) return rc;
  sqlite3_stmt *st = NULL;
  int64_t changes = 0;
  if ((rc = prepare(s,
                    "UPDATE records SET fields = ?3, updated_ms = ?4, updated_by = ?5,"
                    " version = ?6 + 1 WHERE key = ?1 AND type = ?2 AND version = ?6",
                    &st, err)))
    goto out;
  if (bind_key(st, 1, r->key) || bind_text(st, 2, r->type) || bind_text(st, 3, r->fields) ||
      sqlite3_bind_int64(st, 4, r->updated_ms) || bind_text(st, 5, r->updated_by) ||
      sqlite3_bind_int64(st, 6, expected_version)) {
    rc = bind_failed(s, st, err, what);
    goto out;
  }
  if ((rc = run(s, st, &changes, NULL, err, what)) || changes) goto out;
  /* Nothing updated: another writer's version, or no such record. */
  if ((rc = prepare(s, "SELECT version FROM records WHERE key = ?1 AND type = ?2", &st, err)))
    goto out;
  if (bind_key(st, 1, r->key) || bind_text(st, 2, r->type)) {
    rc = bind_failed(s, st, err, what);
    goto out;
  }
  int64_t version = 0;
  bool found = false;
  if ((rc = fetch_i64(s, st, &version, &found, err, what))) goto out;
  if (found)
    rc = cf_error_set(err, CF_ECONFLICT,
                      "%s: %s %llu was changed by someone else (version %lld, not %lld)", what,
                      r->type, ull(r->key), (long long)version, (long long)expected_version);
  else
    rc = cf_error_set(err, CF_ENOTFOUND, "%s: no %s with key %llu", what, r->type, ull(r->key));
out:
  return cf__store_sqlite_call_end(s, scope, rc, err);
}

int cf__store_sqlite_record_get(struct cf_store *s, const char *type, uint64_t key,
                                struct cf_store_record *out, struct cf_error *err) {
  static const char what[] = "getting a record";
  sqlite3_stmt *st = NULL;
  int r = prepare(s, "SELECT " RECORD_COLS " FROM records WHERE key = ?1 AND type = ?2", &st, err);
  if (r) return r;
  if (bind_key(st, 1, key) || bind_text(st, 2, type ? type : ""))
    return bind_failed(s, st, err, what);
  struct cf_store_record rec;
  r = cf__store_sqlite_fetch_one(s, st, cf__store_sqlite_read_record, &rec, err, what);
  if (r == CF_ENOTFOUND)
    return cf_error_set(err, CF_ENOTFOUND, "no %s with key %llu", type ? type : "record", ull(key));
  if (r == CF_OK) *out = rec;
  return r;
}

int cf__store_sqlite_record_delete(struct cf_store *s, const char *type, uint64_t key,
                                   struct cf_error *err) {
  static const char what[] = "deleting a record";
  int scope, r = need_text(type, "a type", what, err);
  if (r || (r = cf__store_sqlite_call_begin(s, &scope, err, what))) return r;
  sqlite3_stmt *st = NULL;
  int64_t changes = 0;
  if ((r = prepare(s, "DELETE FROM records WHERE key = ?1 AND type = ?2", &st, err))) goto out;
  if (bind_key(st, 1, key) || bind_text(st, 2, type)) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  if ((r = run(s, st, &changes, NULL, err, what))) goto out;
  if (!changes) {
    r = cf_error_set(err, CF_ENOTFOUND, "%s: no %s with key %llu", what, type, ull(key));
    goto out;
  }
  /* Its unique values are free again; its history stays (who changed what, also once deleted). */
  if ((r = prepare(s, "DELETE FROM record_unique WHERE record_key = ?1", &st, err))) goto out;
  r = bind_key(st, 1, key) ? bind_failed(s, st, err, what) : run(s, st, NULL, NULL, err, what);
out:
  return cf__store_sqlite_call_end(s, scope, r, err);
}

/*
 * One claim per record and field: claiming a new value gives up the record's old one, claiming the
 * value it holds changes nothing. The primary key (type, field, value) is the uniqueness; the
 * holder is read first so that a conflict names it.
 */
int cf__store_sqlite_record_unique(struct cf_store *s, const char *type, const char *field,
                                   const char *value, uint64_t record_key, struct cf_error *err) {
  const char *what = value ? "claiming a unique value" : "releasing a unique value";
  int scope, r;
  if ((r = need_text(type, "a type", what, err)) || (r = need_text(field, "a field", what, err)) ||
      (r = need_key(record_key, "a record key", what, err)))
    return r;
  if ((r = cf__store_sqlite_call_begin(s, &scope, err, what))) return r;
  sqlite3_stmt *st = NULL;
  if (value) {
    if ((r = prepare(s, "SELECT record_key FROM record_unique WHERE type = ?1 AND field = ?2"
                        " AND value = ?3",
                     &st, err)))
      goto out;
    if (bind_text(st, 1, type) || bind_text(st, 2, field) || bind_text(st, 3, value)) {
      r = bind_failed(s, st, err, what);
      goto out;
    }
    int64_t holder = 0;
    bool found = false;
    if ((r = fetch_i64(s, st, &holder, &found, err, what))) goto out;
    if (found && (uint64_t)holder == record_key) goto out;
    if (found) {
      r = cf_error_set(err, CF_ECONFLICT, "%s: %s '%s' is taken by %s %llu", what, field, value,
                       type, ull((uint64_t)holder));
      goto out;
    }
  }
  if ((r = prepare(s, "DELETE FROM record_unique WHERE record_key = ?1 AND field = ?2 AND type = ?3",
                   &st, err)))
    goto out;
  if (bind_key(st, 1, record_key) || bind_text(st, 2, field) || bind_text(st, 3, type)) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  if ((r = run(s, st, NULL, NULL, err, what)) || !value) goto out;
  if ((r = prepare(s, "INSERT INTO record_unique(type, field, value, record_key)"
                      " VALUES (?1, ?2, ?3, ?4)",
                   &st, err)))
    goto out;
  if (bind_text(st, 1, type) || bind_text(st, 2, field) || bind_text(st, 3, value) ||
      bind_key(st, 4, record_key)) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  r = run(s, st, NULL, NULL, err, what);
out:
  return cf__store_sqlite_call_end(s, scope, r, err);
}

/* ------------------------------------------------------------ history of changes */

int cf__store_sqlite_record_change_append(struct cf_store *s, const struct cf_store_record_change *c,
                                          struct cf_error *err) {
  static const char what[] = "recording a change";
  int scope, r;
  if (!c) return cf_error_set(err, CF_EINVAL, "%s: no change", what);
  if ((r = need_key(c->record_key, "a record key", what, err)) ||
      (r = need_text(c->type, "a type", what, err)) || (r = need_text(c->kind, "a kind", what, err)) ||
      (c->changes && (r = need_object(s, c->changes, "the changes", what, err))))
    return r;
  if ((r = cf__store_sqlite_call_begin(s, &scope, err, what))) return r;
  sqlite3_stmt *st = NULL;
  if ((r = prepare(s, "INSERT INTO record_changes(" CHANGE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                   &st, err)))
    goto out;
  if (bind_key(st, 1, c->record_key) || bind_text(st, 2, c->type) ||
      sqlite3_bind_int64(st, 3, c->at_ms) || bind_text(st, 4, c->by) || bind_text(st, 5, c->kind) ||
      bind_text(st, 6, c->changes ? c->changes : "{}")) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  r = run(s, st, NULL, NULL, err, what);
out:
  return cf__store_sqlite_call_end(s, scope, r, err);
}

int cf__store_sqlite_record_history(struct cf_store *s, uint64_t record_key,
                                    struct cf_store_record_change **out, size_t *n,
                                    struct cf_error *err) {
  static const char what[] = "listing a record's changes";
  sqlite3_stmt *st = NULL;
  int r = prepare(s, "SELECT " CHANGE_COLS " FROM record_changes WHERE record_key = ?1 ORDER BY id",
                  &st, err);
  if (r) return r;
  if (bind_key(st, 1, record_key)) return bind_failed(s, st, err, what);
  return cf__store_sqlite_fetch_all(s, st, sizeof **out, read_change, rel_change, (void **)out, n,
                                    err, what);
}

/* *names: the names of the JSON array fields (new, json_object_put by the caller). */
static int erase_names(const char *fields, struct json_object **names, const char *what,
                       struct cf_error *err) {
  struct cf_error jerr = {0};
  struct json_object *a = fields ? cf_json_parse(fields, strlen(fields), &jerr) : NULL;
  int r = CF_OK;
  if (!a || !json_object_is_type(a, json_type_array)) {
    if (jerr.code == CF_ENOMEM) r = cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
    else r = cf_error_set(err, CF_EINVAL, "%s: fields must be a JSON array of field names", what);
    goto out;
  }
  for (size_t i = 0; i < json_object_array_length(a); i++) {
    struct json_object *v = json_object_array_get_idx(a, i);
    /* SQLite's JSON path has no escape for '"' in a quoted label: such a name would erase
     * nothing while saying it did. */
    if (!json_object_is_type(v, json_type_string) || strchr(json_object_get_string(v), '"')) {
      r = cf_error_set(err, CF_EINVAL, "%s: fields item %zu is not a field name", what, i);
      goto out;
    }
  }
out:
  if (r) json_object_put(a);
  else *names = a;
  return r;
}

/*
 * One UPDATE per field name, each a json_replace of the field's "from" and "to" (json_replace only
 * replaces what is there: a creation's change has no "from", and gets none). json_replace keeps the
 * rest of each change as it was written, numbers included.
 */
int cf__store_sqlite_record_history_erase(struct cf_store *s, uint64_t record_key,
                                          const char *fields, const char *marker,
                                          struct cf_error *err) {
  static const char what[] = "erasing fields from a record's history";
  if (!marker) return cf_error_set(err, CF_EINVAL, "%s: no marker", what);
  struct json_object *names = NULL;
  int scope, r = erase_names(fields, &names, what, err);
  if (r) return r;
  if ((r = cf__store_sqlite_call_begin(s, &scope, err, what))) goto done;
  for (size_t i = 0; i < json_object_array_length(names) && r == CF_OK; i++) {
    sqlite3_stmt *st = NULL;
    /* A value becomes the marker; an absent one (null: the field was not there) stays null. */
    if ((r = prepare(s,
                     "UPDATE record_changes SET changes = json_replace(changes,"
                     " '$.' || json_quote(?2) || '.from',"
                     " CASE WHEN json_type(changes, '$.' || json_quote(?2) || '.from') = 'null' THEN json('null')"
                     " ELSE ?3 END,"
                     " '$.' || json_quote(?2) || '.to',"
                     " CASE WHEN json_type(changes, '$.' || json_quote(?2) || '.to') = 'null' THEN json('null')"
                     " ELSE ?3 END)"
                     " WHERE record_key = ?1 AND json_type(changes, '$.' || json_quote(?2)) = 'object'",
                     &st, err)))
      break;
    if (bind_key(st, 1, record_key) ||
        bind_text(st, 2, json_object_get_string(json_object_array_get_idx(names, i))) ||
        bind_text(st, 3, marker)) {
      r = bind_failed(s, st, err, what);
      break;
    }
    r = run(s, st, NULL, NULL, err, what);
  }
  r = cf__store_sqlite_call_end(s, scope, r, err);
done:
  json_object_put(names);
  return r;
}

/* ------------------------------------------------------------ record types */

int cf__store_sqlite_record_type_put(struct cf_store *s, const struct cf_store_record_type *t,
                                     struct cf_error *err) {
  static const char what[] = "storing a record type";
  int scope, r;
  if (!t) return cf_error_set(err, CF_EINVAL, "%s: no type", what);
  if ((r = need_text(t->name, "a name", what, err))) return r;
  if (!t->schema) return cf_error_set(err, CF_EINVAL, "%s: the schema of '%s' is missing", what, t->name);
  if ((r = cf__store_sqlite_call_begin(s, &scope, err, what))) return r;
  sqlite3_stmt *st = NULL;
  if ((r = prepare(s, "INSERT INTO record_types(" TYPE_COLS ") VALUES (?1, ?2, ?3)"
                      " ON CONFLICT (name) DO UPDATE SET schema = excluded.schema,"
                      " updated_ms = excluded.updated_ms",
                   &st, err)))
    goto out;
  if (bind_text(st, 1, t->name) || bind_text(st, 2, t->schema) ||
      sqlite3_bind_int64(st, 3, t->updated_ms)) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  r = run(s, st, NULL, NULL, err, what);
out:
  return cf__store_sqlite_call_end(s, scope, r, err);
}

int cf__store_sqlite_record_type_list(struct cf_store *s, struct cf_store_record_type **out,
                                      size_t *n, struct cf_error *err) {
  sqlite3_stmt *st = NULL;
  int r = prepare(s, "SELECT " TYPE_COLS " FROM record_types ORDER BY name", &st, err);
  if (r) return r;
  return cf__store_sqlite_fetch_all(s, st, sizeof **out, read_type, rel_type, (void **)out, n, err,
                                    "listing record types");
}

/* ------------------------------------------------------------ triggers */

int cf__store_sqlite_trigger_insert(struct cf_store *s, const struct cf_store_trigger *t,
                                    struct cf_error *err) {
  static const char what[] = "creating a trigger";
  int scope, xrc = SQLITE_OK, r;
  if (!t) return cf_error_set(err, CF_EINVAL, "%s: no trigger", what);
  if ((r = need_key(t->key, "a key", what, err)) || (r = need_text(t->name, "a name", what, err)) ||
      (r = need_text(t->record_type, "a record type", what, err)))
    return r;
  if (!t->definition)
    return cf_error_set(err, CF_EINVAL, "%s: the definition of '%s' is missing", what, t->name);
  if ((r = cf__store_sqlite_call_begin(s, &scope, err, what))) return r;
  sqlite3_stmt *st = NULL;
  if ((r = prepare(s, "INSERT INTO triggers(" TRIGGER_COLS ") VALUES (?1, ?2, ?3, ?4, ?5)", &st,
                   err)))
    goto out;
  if (bind_key(st, 1, t->key) || bind_text(st, 2, t->name) || bind_text(st, 3, t->record_type) ||
      bind_text(st, 4, t->definition) || sqlite3_bind_int64(st, 5, t->created_ms)) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  r = run(s, st, NULL, &xrc, err, what);
  /* The two unique columns: the key (the primary key) and the name. */
  if (xrc == SQLITE_CONSTRAINT_PRIMARYKEY)
    r = cf_error_set(err, CF_ECONFLICT, "%s: a trigger with key %llu exists", what, ull(t->key));
  else if (xrc == SQLITE_CONSTRAINT_UNIQUE)
    r = cf_error_set(err, CF_ECONFLICT, "%s: a trigger named '%s' exists", what, t->name);
out:
  return cf__store_sqlite_call_end(s, scope, r, err);
}

int cf__store_sqlite_trigger_list(struct cf_store *s, struct cf_store_trigger **out, size_t *n,
                                  struct cf_error *err) {
  sqlite3_stmt *st = NULL;
  int r = prepare(s, "SELECT " TRIGGER_COLS " FROM triggers ORDER BY key", &st, err);
  if (r) return r;
  return cf__store_sqlite_fetch_all(s, st, sizeof **out, read_trigger, rel_trigger, (void **)out,
                                    n, err, "listing triggers");
}

int cf__store_sqlite_trigger_delete(struct cf_store *s, uint64_t key, struct cf_error *err) {
  static const char what[] = "deleting a trigger";
  static const char *const sql[] = {"DELETE FROM triggers WHERE key = ?1",
                                    "DELETE FROM trigger_enrollments WHERE trigger_key = ?1",
                                    "DELETE FROM crm_timers WHERE trigger_key = ?1"};
  int scope, r = cf__store_sqlite_call_begin(s, &scope, err, what);
  if (r) return r;
  for (size_t i = 0; i < sizeof sql / sizeof sql[0] && r == CF_OK; i++) {
    sqlite3_stmt *st = NULL;
    int64_t changes = 0;
    if ((r = prepare(s, sql[i], &st, err))) break;
    if (bind_key(st, 1, key)) {
      r = bind_failed(s, st, err, what);
      break;
    }
    if ((r = run(s, st, &changes, NULL, err, what))) break;
    if (i == 0 && !changes)
      r = cf_error_set(err, CF_ENOTFOUND, "%s: no trigger with key %llu", what, ull(key));
  }
  return cf__store_sqlite_call_end(s, scope, r, err);
}

/* ------------------------------------------------------------ enrollments */

int cf__store_sqlite_enrollment_insert(struct cf_store *s, uint64_t trigger_key,
                                       uint64_t record_key, uint64_t instance_key, int64_t at_ms,
                                       struct cf_error *err) {
  static const char what[] = "enrolling a record";
  int scope, r;
  if ((r = need_key(trigger_key, "a trigger key", what, err)) ||
      (r = need_key(record_key, "a record key", what, err)) ||
      (r = cf__store_sqlite_call_begin(s, &scope, err, what)))
    return r;
  sqlite3_stmt *st = NULL;
  if ((r = prepare(s, "INSERT INTO trigger_enrollments(trigger_key, record_key, instance_key, at_ms)"
                      " VALUES (?1, ?2, ?3, ?4)",
                   &st, err)))
    goto out;
  if (bind_key(st, 1, trigger_key) || bind_key(st, 2, record_key) || bind_key(st, 3, instance_key) ||
      sqlite3_bind_int64(st, 4, at_ms)) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  r = run(s, st, NULL, NULL, err, what);
out:
  return cf__store_sqlite_call_end(s, scope, r, err);
}

/* Active: an enrolled instance still there in state 0 (a pruned one has ended). */
int cf__store_sqlite_enrollment_find(struct cf_store *s, uint64_t trigger_key, uint64_t record_key,
                                     size_t *count, bool *active, struct cf_error *err) {
  static const char what[] = "finding enrollments";
  sqlite3_stmt *st = NULL;
  int r = prepare(s,
                  "SELECT count(*), coalesce(max(i.state = 0), 0) FROM trigger_enrollments e"
                  " LEFT JOIN instances i ON i.key = e.instance_key"
                  " WHERE e.trigger_key = ?1 AND e.record_key = ?2",
                  &st, err);
  if (r) return r;
  if (bind_key(st, 1, trigger_key) || bind_key(st, 2, record_key))
    return bind_failed(s, st, err, what);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    if (count) *count = (size_t)sqlite3_column_int64(st, 0);
    if (active) *active = sqlite3_column_int(st, 1) != 0;
  } else {
    r = cf__store_sqlite_fail(s, rc, err, what);
  }
  sqlite3_reset(st);
  return r;
}

/* ------------------------------------------------------------ timers of date-relative triggers */

int cf__store_sqlite_crm_timer_set(struct cf_store *s, const struct cf_store_crm_timer *t,
                                   struct cf_error *err) {
  static const char what[] = "setting a trigger's timer";
  int scope, r;
  if (!t) return cf_error_set(err, CF_EINVAL, "%s: no timer", what);
  if ((r = need_key(t->trigger_key, "a trigger key", what, err)) ||
      (r = need_key(t->record_key, "a record key", what, err)) ||
      (t->due_ms >= 0 && (r = need_text(t->record_type, "a record type", what, err))) ||
      (r = cf__store_sqlite_call_begin(s, &scope, err, what)))
    return r;
  sqlite3_stmt *st = NULL;
  if ((r = prepare(s,
                   t->due_ms < 0
                       ? "DELETE FROM crm_timers WHERE trigger_key = ?1 AND record_key = ?2"
                       : "INSERT INTO crm_timers(" TIMER_COLS ") VALUES (?1, ?2, ?3, ?4)"
                         " ON CONFLICT (trigger_key, record_key) DO UPDATE SET"
                         " record_type = excluded.record_type, due_ms = excluded.due_ms",
                   &st, err)))
    goto out;
  if (bind_key(st, 1, t->trigger_key) || bind_key(st, 2, t->record_key) ||
      (t->due_ms >= 0 &&
       (bind_text(st, 3, t->record_type) || sqlite3_bind_int64(st, 4, t->due_ms)))) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  r = run(s, st, NULL, NULL, err, what);
out:
  return cf__store_sqlite_call_end(s, scope, r, err);
}

int cf__store_sqlite_crm_timers_due(struct cf_store *s, int64_t now_ms, size_t max,
                                    struct cf_store_crm_timer **out, size_t *n,
                                    struct cf_error *err) {
  static const char what[] = "listing due trigger timers";
  sqlite3_stmt *st = NULL;
  int r = prepare(s, "SELECT " TIMER_COLS " FROM crm_timers WHERE due_ms <= ?1"
                     " ORDER BY due_ms, trigger_key, record_key LIMIT ?2",
                  &st, err);
  if (r) return r;
  if (max > (size_t)INT64_MAX) max = (size_t)INT64_MAX;
  if (sqlite3_bind_int64(st, 1, now_ms) || sqlite3_bind_int64(st, 2, max ? (int64_t)max : 1000))
    return bind_failed(s, st, err, what);
  return cf__store_sqlite_fetch_all(s, st, sizeof **out, read_timer, rel_timer, (void **)out, n,
                                    err, what);
}

int cf__store_sqlite_crm_timer_next(struct cf_store *s, int64_t *due_ms, struct cf_error *err) {
  sqlite3_stmt *st = NULL;
  int r = prepare(s, "SELECT min(due_ms) FROM crm_timers", &st, err);
  if (r) return r;
  int64_t v = 0;
  bool found = false;
  if ((r = fetch_i64(s, st, &v, &found, err, "finding the next trigger timer"))) return r;
  *due_ms = found ? v : INT64_MAX;
  return CF_OK;
}

/* ------------------------------------------------------------ the crm layer's named state */

int cf__store_sqlite_crm_state_get(struct cf_store *s, const char *name, char **value,
                                   struct cf_error *err) {
  static const char what[] = "reading the crm state";
  sqlite3_stmt *st = NULL;
  int r = need_text(name, "a name", what, err);
  if (r || (r = prepare(s, "SELECT value FROM crm_state WHERE name = ?1", &st, err))) return r;
  if (bind_text(st, 1, name)) return bind_failed(s, st, err, what);
  char *v = NULL;
  bool ok = true;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    v = cf__store_sqlite_col_str(st, 0, &ok);
    if (!ok) r = cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
  } else if (rc != SQLITE_DONE) {
    r = cf__store_sqlite_fail(s, rc, err, what);
  }
  sqlite3_reset(st);
  if (r == CF_OK) *value = v;
  return r;
}

/* value NULL removes the name (a get then gives NULL, as for one never put). */
int cf__store_sqlite_crm_state_put(struct cf_store *s, const char *name, const char *value,
                                   struct cf_error *err) {
  static const char what[] = "writing the crm state";
  int scope, r = need_text(name, "a name", what, err);
  if (r || (r = cf__store_sqlite_call_begin(s, &scope, err, what))) return r;
  sqlite3_stmt *st = NULL;
  if ((r = prepare(s,
                   value ? "INSERT INTO crm_state(name, value) VALUES (?1, ?2)"
                           " ON CONFLICT (name) DO UPDATE SET value = excluded.value"
                         : "DELETE FROM crm_state WHERE name = ?1",
                   &st, err)))
    goto out;
  if (bind_text(st, 1, name) || (value && bind_text(st, 2, value))) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  r = run(s, st, NULL, NULL, err, what);
out:
  return cf__store_sqlite_call_end(s, scope, r, err);
}

/* ------------------------------------------------------------ personal data in instance history */

int cf__store_sqlite_history_erase(struct cf_store *s, uint64_t instance_key, const char *values, const char *marker,
                                   size_t *replaced, struct cf_error *err) {
  static const char what[] = "erasing values from an instance's history";
  if (!marker || !values) return cf_error_set(err, CF_EINVAL, "%s: no values or marker", what);
  struct cf_error e2;
  struct json_object *vals = cf_json_parse(values, strlen(values), &e2);
  if (!vals || !json_object_is_type(vals, json_type_array)) {
    if (vals) json_object_put(vals);
    return cf_error_set(err, CF_EINVAL, "%s: values must be a JSON array of strings", what);
  }
  size_t count = 0;
  int scope, r = cf__store_sqlite_call_begin(s, &scope, err, what);
  if (r) {
    json_object_put(vals);
    return r;
  }
  sqlite3_stmt *sel = NULL, *upd = NULL;
  if (!(r = prepare(s, "SELECT id, events FROM history_packs WHERE instance_key = ?1 ORDER BY id", &sel, err)) &&
      bind_key(sel, 1, instance_key))
    r = bind_failed(s, sel, err, what);
  /* Read every pack first (the statement must not run while its rows are rewritten). */
  int64_t *ids = NULL;
  char **texts = NULL;
  size_t n = 0, cap = 0;
  while (!r) {
    int rc = sqlite3_step(sel);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      r = cf__store_sqlite_fail(s, rc, err, what);
      break;
    }
    if (n == cap) {
      size_t nc = cap ? cap * 2 : 16;
      int64_t *ni = cf_realloc(ids, nc * sizeof *ni);
      char **nt = ni ? cf_realloc(texts, nc * sizeof *nt) : NULL;
      if (ni) ids = ni;
      if (nt) texts = nt;
      if (!ni || !nt) {
        r = cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
        break;
      }
      cap = nc;
    }
    const char *t = (const char *)sqlite3_column_text(sel, 1);
    ids[n] = sqlite3_column_int64(sel, 0);
    if (!(texts[n] = cf_strdup(t ? t : "[]"))) {
      r = cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
      break;
    }
    n++;
  }
  if (sel) sqlite3_reset(sel);
  if (!r) r = prepare(s, "UPDATE history_packs SET events = ?2 WHERE id = ?1", &upd, err);
  size_t nv = json_object_array_length(vals);
  const char **vs = cf_calloc(nv ? nv : 1, sizeof *vs);
  if (!vs && !r) r = cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
  for (size_t i = 0; i < nv && vs; i++) vs[i] = json_object_get_string(json_object_array_get_idx(vals, i));
  for (size_t i = 0; i < n && !r; i++) {
    struct json_object *pack = cf_json_parse(texts[i], strlen(texts[i]), &e2);
    if (pack && cf__store_pack_erase(pack, vs, nv, marker, &count)) {
      char *text = cf_json_dump(pack);
      if (!text) r = cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
      else if (sqlite3_bind_int64(upd, 1, ids[i]) || bind_text(upd, 2, text)) r = bind_failed(s, upd, err, what);
      else r = run(s, upd, NULL, NULL, err, what);
      cf_free(text);
    }
    if (pack) json_object_put(pack);
  }
  for (size_t i = 0; i < n; i++) cf_free(texts[i]);
  cf_free(texts);
  cf_free(ids);
  cf_free(vs);
  json_object_put(vals);
  r = cf__store_sqlite_call_end(s, scope, r, err);
  if (!r && replaced) *replaced = count;
  return r;
}
