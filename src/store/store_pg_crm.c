/*
 * The PostgreSQL backend's part of the CRM layer (migration 6): records,
 * their unique values and history of changes, record types, triggers with
 * their enrollments and date-relative timers, the crm layer's small named
 * state, and the erasure of personal data from an instance's history. The
 * same checks and answers as the SQLite backend's (store_sqlite_crm.c);
 * every write call opens its scope with call_begin (it joins the caller's
 * transaction, or runs in one of its own).
 *
 * JSON: fields and changes stay TEXT, byte for byte as the crm layer wrote
 * them (jsonb would respace them and reorder their keys). They must be JSON
 * objects by PostgreSQL's reading, since searches read them as jsonb: json-c
 * refuses most bad text before any statement runs, and the statement itself
 * checks with a cast (what json-c takes and PostgreSQL does not, such as
 * \u0000, fails the statement: CF_EINVAL). Where the text is rewritten
 * (erasure), it is rebuilt in the order and spelling it had, with the json
 * type's functions, which keep both.
 *
 * Conflicts are looked up before the write that would violate them, so that
 * a refused call does not abort the caller's transaction (PostgreSQL aborts
 * the whole transaction on a failed statement; inside an operation no
 * savepoint catches it).
 */
#include <string.h>

#include <json-c/json.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_json.h"
#include "store/store_pack.h"
#include "store/store_pg_int.h"

/* ------------------------------------------------------------ helpers */

static int need_text(const char *v, const char *name, const char *what, struct cf_error *err) {
  if (!v || !*v) return cf_error_set(err, CF_EINVAL, "%s: %s is needed", what, name);
  return CF_OK;
}

static int need_key(uint64_t key, const char *name, const char *what, struct cf_error *err) {
  if (!key) return cf_error_set(err, CF_EINVAL, "%s: %s is needed (not 0)", what, name);
  return CF_OK;
}

/* Whether text is a JSON object by json-c's reading (the statement checks PostgreSQL's too). */
static int need_object(const char *text, const char *name, const char *what, struct cf_error *err) {
  if (!text) return cf_error_set(err, CF_EINVAL, "%s: %s is missing (a JSON object)", what, name);
  struct cf_error jerr = {0};
  struct json_object *o = cf_json_parse(text, strlen(text), &jerr);
  bool is = o && json_object_is_type(o, json_type_object);
  json_object_put(o);
  if (!is && jerr.code == CF_ENOMEM) return cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
  if (!is) return cf_error_set(err, CF_EINVAL, "%s: %s is not a JSON object", what, name);
  return CF_OK;
}

static unsigned long long ull(uint64_t v) { return (unsigned long long)v; }

static int key_exists(struct cf_store *s, const char *sql, uint64_t key, bool *found,
                      struct cf_error *err, const char *what) {
  struct cf__pg_params p = {0};
  cf__pg_key(&p, key);
  int64_t v;
  return cf__store_pg_int(s, sql, &p, &v, found, err, what);
}

static int list(struct cf_store *s, const char *sql, const struct cf__pg_params *p, size_t sz,
                cf__pg_reader rd, void (*rel)(void *), void **out, size_t *n, struct cf_error *err,
                const char *what) {
  int r;
  PGresult *res = cf__store_pg_run(s, sql, p, &r, err, what);
  if (!res) return r;
  return cf__store_pg_collect(res, sz, rd, rel, out, n, err, what);
}

/* ------------------------------------------------------------ rows */

#define RECORD_COLS "key, type, version, fields, created_ms, updated_ms, created_by, updated_by"
#define CHANGE_COLS "record_key, type, at_ms, actor, kind, changes"
#define TYPE_COLS "name, schema, updated_ms"
#define TRIGGER_COLS "key, name, record_type, definition, created_ms"
#define TIMER_COLS "trigger_key, record_key, record_type, due_ms"

static bool read_record(const PGresult *res, int row, void *out) {
  struct cf_store_record *r = out;
  bool ok = true;
  memset(r, 0, sizeof *r);
  r->key = (uint64_t)cf__pg_col_i64(res, row, 0);
  r->type = cf__pg_col_str(res, row, 1, &ok);
  r->version = cf__pg_col_i64(res, row, 2);
  r->fields = cf__pg_col_str(res, row, 3, &ok);
  r->created_ms = cf__pg_col_i64(res, row, 4);
  r->updated_ms = cf__pg_col_i64(res, row, 5);
  r->created_by = cf__pg_col_str(res, row, 6, &ok);
  r->updated_by = cf__pg_col_str(res, row, 7, &ok);
  if (!ok) cf_store_record_release(r);
  return ok;
}

bool cf__store_pg_read_record(const PGresult *res, int row, void *out) {
  return read_record(res, row, out);
}

static bool read_change(const PGresult *res, int row, void *out) {
  struct cf_store_record_change *c = out;
  bool ok = true;
  memset(c, 0, sizeof *c);
  c->record_key = (uint64_t)cf__pg_col_i64(res, row, 0);
  c->type = cf__pg_col_str(res, row, 1, &ok);
  c->at_ms = cf__pg_col_i64(res, row, 2);
  c->by = cf__pg_col_str(res, row, 3, &ok);
  c->kind = cf__pg_col_str(res, row, 4, &ok);
  c->changes = cf__pg_col_str(res, row, 5, &ok);
  if (!ok) cf_store_record_change_release(c);
  return ok;
}

static bool read_type(const PGresult *res, int row, void *out) {
  struct cf_store_record_type *t = out;
  bool ok = true;
  memset(t, 0, sizeof *t);
  t->name = cf__pg_col_str(res, row, 0, &ok);
  t->schema = cf__pg_col_str(res, row, 1, &ok);
  t->updated_ms = cf__pg_col_i64(res, row, 2);
  if (!ok) cf_store_record_type_release(t);
  return ok;
}

static bool read_trigger(const PGresult *res, int row, void *out) {
  struct cf_store_trigger *t = out;
  bool ok = true;
  memset(t, 0, sizeof *t);
  t->key = (uint64_t)cf__pg_col_i64(res, row, 0);
  t->name = cf__pg_col_str(res, row, 1, &ok);
  t->record_type = cf__pg_col_str(res, row, 2, &ok);
  t->definition = cf__pg_col_str(res, row, 3, &ok);
  t->created_ms = cf__pg_col_i64(res, row, 4);
  if (!ok) cf_store_trigger_release(t);
  return ok;
}

static bool read_timer(const PGresult *res, int row, void *out) {
  struct cf_store_crm_timer *t = out;
  bool ok = true;
  memset(t, 0, sizeof *t);
  t->trigger_key = (uint64_t)cf__pg_col_i64(res, row, 0);
  t->record_key = (uint64_t)cf__pg_col_i64(res, row, 1);
  t->record_type = cf__pg_col_str(res, row, 2, &ok);
  t->due_ms = cf__pg_col_i64(res, row, 3);
  if (!ok) cf_store_crm_timer_release(t);
  return ok;
}

static void rel_change(void *r) { cf_store_record_change_release(r); }
static void rel_type(void *r) { cf_store_record_type_release(r); }
static void rel_trigger(void *r) { cf_store_trigger_release(r); }
static void rel_timer(void *r) { cf_store_crm_timer_release(r); }

/* ------------------------------------------------------------ records */

static int check_record(const struct cf_store_record *r, const char *what, struct cf_error *err) {
  int rc;
  if (!r) return cf_error_set(err, CF_EINVAL, "%s: no record", what);
  if ((rc = need_key(r->key, "a key", what, err)) || (rc = need_text(r->type, "a type", what, err)) ||
      (rc = need_object(r->fields, "the fields", what, err)))
    return rc;
  return CF_OK;
}

/* The statement wrote nothing because PostgreSQL does not read text as a JSON object. */
static int not_object(int r, size_t changed, const char *name, const char *what, struct cf_error *err) {
  if (r == CF_OK && changed == 0)
    return cf_error_set(err, CF_EINVAL, "%s: %s is not a JSON object", what, name);
  return r;
}

int cf__store_pg_record_insert(struct cf_store *s, const struct cf_store_record *r,
                               struct cf_error *err) {
  static const char what[] = "creating a record";
  int scope, rc = check_record(r, what, err);
  if (rc || (rc = cf__store_pg_call_begin(s, &scope, err, what))) return rc;
  bool found = false;
  if ((rc = key_exists(s, "SELECT 1 FROM records WHERE key = $1", r->key, &found, err, what)))
    goto out;
  if (found) {
    rc = cf_error_set(err, CF_ECONFLICT, "%s: a record with key %llu exists", what, ull(r->key));
    goto out;
  }
  struct cf__pg_params p = {0};
  cf__pg_key(&p, r->key);
  cf__pg_text(&p, r->type);
  cf__pg_i64(&p, r->version);
  cf__pg_text(&p, r->fields);
  cf__pg_i64(&p, r->created_ms);
  cf__pg_i64(&p, r->updated_ms);
  cf__pg_text(&p, r->created_by);
  cf__pg_text(&p, r->updated_by);
  size_t changed = 0;
  rc = cf__store_pg_write(s,
                          "INSERT INTO records(" RECORD_COLS ") SELECT $1::bigint, $2::text,"
                          " $3::bigint, $4::text, $5::bigint, $6::bigint, $7::text, $8::text"
                          " WHERE jsonb_typeof($4::text::jsonb) = 'object'",
                          &p, &changed, err, what);
  rc = not_object(rc, changed, "the fields", what, err);
out:
  return cf__store_pg_call_end(s, scope, rc, err);
}

int cf__store_pg_record_update(struct cf_store *s, const struct cf_store_record *r,
                               int64_t expected_version, struct cf_error *err) {
  static const char what[] = "updating a record";
  int scope, rc = check_record(r, what, err);
  if (rc || (rc = cf__store_pg_call_begin(s, &scope, err, what))) return rc;
  struct cf__pg_params p = {0};
  cf__pg_key(&p, r->key);
  cf__pg_text(&p, r->type);
  int64_t version = 0;
  bool found = false;
  /* The row, locked: its version decides before anything is written. */
  if ((rc = cf__store_pg_int(s, "SELECT version FROM records WHERE key = $1 AND type = $2 FOR UPDATE",
                             &p, &version, &found, err, what)))
    goto out;
  if (!found) {
    rc = cf_error_set(err, CF_ENOTFOUND, "%s: no %s with key %llu", what, r->type, ull(r->key));
    goto out;
  }
  if (version != expected_version) {
    rc = cf_error_set(err, CF_ECONFLICT,
                      "%s: %s %llu was changed by someone else (version %lld, not %lld)", what,
                      r->type, ull(r->key), (long long)version, (long long)expected_version);
    goto out;
  }
  cf__pg_text(&p, r->fields);
  cf__pg_i64(&p, r->updated_ms);
  cf__pg_text(&p, r->updated_by);
  cf__pg_i64(&p, expected_version);
  size_t changed = 0;
  rc = cf__store_pg_write(s,
                          "UPDATE records SET fields = $3::text, updated_ms = $4, updated_by = $5,"
                          " version = $6::bigint + 1 WHERE key = $1 AND type = $2 AND version = $6"
                          " AND jsonb_typeof($3::text::jsonb) = 'object'",
                          &p, &changed, err, what);
  rc = not_object(rc, changed, "the fields", what, err);
out:
  return cf__store_pg_call_end(s, scope, rc, err);
}

int cf__store_pg_record_get(struct cf_store *s, const char *type, uint64_t key,
                            struct cf_store_record *out, struct cf_error *err) {
  static const char what[] = "getting a record";
  struct cf__pg_params p = {0};
  cf__pg_key(&p, key);
  cf__pg_text(&p, type ? type : "");
  int r;
  PGresult *res = cf__store_pg_run(s, "SELECT " RECORD_COLS " FROM records WHERE key = $1 AND type = $2",
                                   &p, &r, err, what);
  if (!res) return r;
  struct cf_store_record rec;
  r = cf__store_pg_first(res, read_record, &rec, err, what);
  if (r == CF_ENOTFOUND)
    return cf_error_set(err, CF_ENOTFOUND, "no %s with key %llu", type ? type : "record", ull(key));
  if (r == CF_OK) *out = rec;
  return r;
}

int cf__store_pg_record_delete(struct cf_store *s, const char *type, uint64_t key,
                               struct cf_error *err) {
  static const char what[] = "deleting a record";
  int scope, r = need_text(type, "a type", what, err);
  if (r || (r = cf__store_pg_call_begin(s, &scope, err, what))) return r;
  struct cf__pg_params p = {0};
  cf__pg_key(&p, key);
  cf__pg_text(&p, type);
  size_t changed = 0;
  if ((r = cf__store_pg_write(s, "DELETE FROM records WHERE key = $1 AND type = $2", &p, &changed, err,
                              what)))
    goto out;
  if (!changed) {
    r = cf_error_set(err, CF_ENOTFOUND, "%s: no %s with key %llu", what, type, ull(key));
    goto out;
  }
  /* Its unique values are free again; its history stays (who changed what, also once deleted). */
  p.n = 1;
  r = cf__store_pg_write(s, "DELETE FROM record_unique WHERE record_key = $1", &p, NULL, err, what);
out:
  return cf__store_pg_call_end(s, scope, r, err);
}

/*
 * One claim per record and field: claiming a new value gives up the
 * record's old one, claiming the value it holds changes nothing. The holder
 * is read first so that a conflict names it (and aborts nothing); the
 * primary key (type, field, value) still decides a race between nodes.
 */
int cf__store_pg_record_unique(struct cf_store *s, const char *type, const char *field,
                               const char *value, uint64_t record_key, struct cf_error *err) {
  const char *what = value ? "claiming a unique value" : "releasing a unique value";
  int scope, r;
  if ((r = need_text(type, "a type", what, err)) || (r = need_text(field, "a field", what, err)) ||
      (r = need_key(record_key, "a record key", what, err)))
    return r;
  if ((r = cf__store_pg_call_begin(s, &scope, err, what))) return r;
  struct cf__pg_params p = {0};
  cf__pg_text(&p, type);
  cf__pg_text(&p, field);
  if (value) {
    cf__pg_text(&p, value);
    int64_t holder = 0;
    bool found = false;
    if ((r = cf__store_pg_int(s,
                              "SELECT record_key FROM record_unique WHERE type = $1 AND field = $2"
                              " AND value = $3",
                              &p, &holder, &found, err, what)))
      goto out;
    if (found && (uint64_t)holder == record_key) goto out;
    if (found) {
      r = cf_error_set(err, CF_ECONFLICT, "%s: %s '%s' is taken by %s %llu", what, field, value, type,
                       ull((uint64_t)holder));
      goto out;
    }
    p.n = 2;
  }
  cf__pg_key(&p, record_key);
  if ((r = cf__store_pg_write(s,
                              "DELETE FROM record_unique WHERE record_key = $3 AND field = $2"
                              " AND type = $1",
                              &p, NULL, err, what)) ||
      !value)
    goto out;
  cf__pg_text(&p, value);
  r = cf__store_pg_write(s,
                         "INSERT INTO record_unique(type, field, value, record_key)"
                         " VALUES ($1, $2, $4, $3)",
                         &p, NULL, err, what);
out:
  return cf__store_pg_call_end(s, scope, r, err);
}

/* ------------------------------------------------------------ history of changes */

int cf__store_pg_record_change_append(struct cf_store *s, const struct cf_store_record_change *c,
                                      struct cf_error *err) {
  static const char what[] = "recording a change";
  int scope, r;
  if (!c) return cf_error_set(err, CF_EINVAL, "%s: no change", what);
  if ((r = need_key(c->record_key, "a record key", what, err)) ||
      (r = need_text(c->type, "a type", what, err)) || (r = need_text(c->kind, "a kind", what, err)) ||
      (c->changes && (r = need_object(c->changes, "the changes", what, err))))
    return r;
  if ((r = cf__store_pg_call_begin(s, &scope, err, what))) return r;
  struct cf__pg_params p = {0};
  cf__pg_key(&p, c->record_key);
  cf__pg_text(&p, c->type);
  cf__pg_i64(&p, c->at_ms);
  cf__pg_text(&p, c->by);
  cf__pg_text(&p, c->kind);
  cf__pg_text(&p, c->changes ? c->changes : "{}");
  size_t changed = 0;
  r = cf__store_pg_write(s,
                         "INSERT INTO record_changes(" CHANGE_COLS ") SELECT $1::bigint, $2::text,"
                         " $3::bigint, $4::text, $5::text, $6::text"
                         " WHERE jsonb_typeof($6::text::jsonb) = 'object'",
                         &p, &changed, err, what);
  r = not_object(r, changed, "the changes", what, err);
  return cf__store_pg_call_end(s, scope, r, err);
}

int cf__store_pg_record_history(struct cf_store *s, uint64_t record_key,
                                struct cf_store_record_change **out, size_t *n,
                                struct cf_error *err) {
  struct cf__pg_params p = {0};
  cf__pg_key(&p, record_key);
  return list(s, "SELECT " CHANGE_COLS " FROM record_changes WHERE record_key = $1 ORDER BY id", &p,
              sizeof **out, read_change, rel_change, (void **)out, n, err,
              "listing a record's changes");
}

/*
 * The field names of the JSON array fields as a text[] parameter's text
 * ({"a","b"}, new in b). The SQLite backend refuses a name with '"' (its
 * JSON paths cannot say one); so does this one, so that both answer alike.
 */
static int erase_names(const char *fields, struct cf_buf *b, const char *what, struct cf_error *err) {
  struct cf_error jerr = {0};
  struct json_object *a = fields ? cf_json_parse(fields, strlen(fields), &jerr) : NULL;
  int r = CF_OK;
  if (!a || !json_object_is_type(a, json_type_array)) {
    if (jerr.code == CF_ENOMEM) r = cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
    else r = cf_error_set(err, CF_EINVAL, "%s: fields must be a JSON array of field names", what);
    goto out;
  }
  cf_buf_putc(b, '{');
  for (size_t i = 0; i < json_object_array_length(a); i++) {
    struct json_object *v = json_object_array_get_idx(a, i);
    if (!json_object_is_type(v, json_type_string) || strchr(json_object_get_string(v), '"')) {
      r = cf_error_set(err, CF_EINVAL, "%s: fields item %zu is not a field name", what, i);
      goto out;
    }
    cf_buf_puts(b, i ? ",\"" : "\"");
    for (const char *c = json_object_get_string(v); *c; c++) {
      if (*c == '\\') cf_buf_putc(b, '\\');
      cf_buf_putc(b, *c);
    }
    cf_buf_putc(b, '"');
  }
  cf_buf_putc(b, '}');
  if (b->oom) r = cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
out:
  json_object_put(a);
  return r;
}

/*
 * One UPDATE for every named field: each change object is rebuilt from its
 * members in their order (json_each on the json type keeps each member's
 * text as written, numbers included), the named fields' "from" and "to"
 * values becoming the marker (a JSON null stays null: the field was not
 * there; an absent one stays absent), everything else as it was.
 */
int cf__store_pg_record_history_erase(struct cf_store *s, uint64_t record_key, const char *fields,
                                      const char *marker, struct cf_error *err) {
  static const char what[] = "erasing fields from a record's history";
  if (!marker) return cf_error_set(err, CF_EINVAL, "%s: no marker", what);
  struct cf_buf names;
  cf_buf_init(&names);
  int scope, r = erase_names(fields, &names, what, err);
  if (r || (r = cf__store_pg_call_begin(s, &scope, err, what))) goto done;
  struct cf__pg_params p = {0};
  cf__pg_key(&p, record_key);
  cf__pg_text(&p, names.data);
  cf__pg_text(&p, marker);
  r = cf__store_pg_write(
      s,
      "UPDATE record_changes SET changes = (SELECT '{' || string_agg(to_json(e.k)::text || ':' ||"
      " CASE WHEN e.k = ANY($2::text[]) AND json_typeof(e.v) = 'object' THEN"
      " coalesce((SELECT '{' || string_agg(to_json(f.k)::text || ':' ||"
      " CASE WHEN f.k IN ('from', 'to') AND json_typeof(f.v) <> 'null' THEN to_json($3::text)::text"
      " ELSE f.v::text END, ',' ORDER BY f.n) || '}'"
      " FROM json_each(e.v) WITH ORDINALITY AS f(k, v, n)), '{}')"
      " ELSE e.v::text END, ',' ORDER BY e.n) || '}'"
      " FROM json_each(changes::json) WITH ORDINALITY AS e(k, v, n))"
      " WHERE record_key = $1 AND EXISTS (SELECT 1 FROM json_each(changes::json) x"
      " WHERE x.key = ANY($2::text[]) AND json_typeof(x.value) = 'object')",
      &p, NULL, err, what);
  r = cf__store_pg_call_end(s, scope, r, err);
done:
  cf_buf_release(&names);
  return r;
}

/* ------------------------------------------------------------ record types */

int cf__store_pg_record_type_put(struct cf_store *s, const struct cf_store_record_type *t,
                                 struct cf_error *err) {
  static const char what[] = "storing a record type";
  int scope, r;
  if (!t) return cf_error_set(err, CF_EINVAL, "%s: no type", what);
  if ((r = need_text(t->name, "a name", what, err))) return r;
  if (!t->schema) return cf_error_set(err, CF_EINVAL, "%s: the schema of '%s' is missing", what, t->name);
  if ((r = cf__store_pg_call_begin(s, &scope, err, what))) return r;
  struct cf__pg_params p = {0};
  cf__pg_text(&p, t->name);
  cf__pg_text(&p, t->schema);
  cf__pg_i64(&p, t->updated_ms);
  r = cf__store_pg_write(s,
                         "INSERT INTO record_types(" TYPE_COLS ") VALUES ($1, $2, $3)"
                         " ON CONFLICT (name) DO UPDATE SET schema = excluded.schema,"
                         " updated_ms = excluded.updated_ms",
                         &p, NULL, err, what);
  return cf__store_pg_call_end(s, scope, r, err);
}

int cf__store_pg_record_type_list(struct cf_store *s, struct cf_store_record_type **out, size_t *n,
                                  struct cf_error *err) {
  return list(s, "SELECT " TYPE_COLS " FROM record_types ORDER BY name COLLATE \"C\"", NULL,
              sizeof **out, read_type, rel_type, (void **)out, n, err, "listing record types");
}

/* ------------------------------------------------------------ triggers */

int cf__store_pg_trigger_insert(struct cf_store *s, const struct cf_store_trigger *t,
                                struct cf_error *err) {
  static const char what[] = "creating a trigger";
  int scope, r;
  if (!t) return cf_error_set(err, CF_EINVAL, "%s: no trigger", what);
  if ((r = need_key(t->key, "a key", what, err)) || (r = need_text(t->name, "a name", what, err)) ||
      (r = need_text(t->record_type, "a record type", what, err)))
    return r;
  if (!t->definition)
    return cf_error_set(err, CF_EINVAL, "%s: the definition of '%s' is missing", what, t->name);
  if ((r = cf__store_pg_call_begin(s, &scope, err, what))) return r;
  /* The two unique columns: the key (the primary key) and the name. */
  bool found = false;
  if ((r = key_exists(s, "SELECT 1 FROM triggers WHERE key = $1", t->key, &found, err, what))) goto out;
  if (found) {
    r = cf_error_set(err, CF_ECONFLICT, "%s: a trigger with key %llu exists", what, ull(t->key));
    goto out;
  }
  struct cf__pg_params p = {0};
  cf__pg_text(&p, t->name);
  int64_t v;
  if ((r = cf__store_pg_int(s, "SELECT 1 FROM triggers WHERE name = $1", &p, &v, &found, err, what)))
    goto out;
  if (found) {
    r = cf_error_set(err, CF_ECONFLICT, "%s: a trigger named '%s' exists", what, t->name);
    goto out;
  }
  p.n = 0;
  cf__pg_key(&p, t->key);
  cf__pg_text(&p, t->name);
  cf__pg_text(&p, t->record_type);
  cf__pg_text(&p, t->definition);
  cf__pg_i64(&p, t->created_ms);
  r = cf__store_pg_write(s, "INSERT INTO triggers(" TRIGGER_COLS ") VALUES ($1, $2, $3, $4, $5)", &p,
                         NULL, err, what);
out:
  return cf__store_pg_call_end(s, scope, r, err);
}

int cf__store_pg_trigger_list(struct cf_store *s, struct cf_store_trigger **out, size_t *n,
                              struct cf_error *err) {
  return list(s, "SELECT " TRIGGER_COLS " FROM triggers ORDER BY key", NULL, sizeof **out,
              read_trigger, rel_trigger, (void **)out, n, err, "listing triggers");
}

int cf__store_pg_trigger_delete(struct cf_store *s, uint64_t key, struct cf_error *err) {
  static const char what[] = "deleting a trigger";
  static const char *const sql[] = {"DELETE FROM triggers WHERE key = $1",
                                    "DELETE FROM trigger_enrollments WHERE trigger_key = $1",
                                    "DELETE FROM crm_timers WHERE trigger_key = $1"};
  int scope, r = cf__store_pg_call_begin(s, &scope, err, what);
  if (r) return r;
  struct cf__pg_params p = {0};
  cf__pg_key(&p, key);
  for (size_t i = 0; i < sizeof sql / sizeof sql[0] && r == CF_OK; i++) {
    size_t changed = 0;
    if ((r = cf__store_pg_write(s, sql[i], &p, &changed, err, what))) break;
    if (i == 0 && !changed)
      r = cf_error_set(err, CF_ENOTFOUND, "%s: no trigger with key %llu", what, ull(key));
  }
  return cf__store_pg_call_end(s, scope, r, err);
}

/* ------------------------------------------------------------ enrollments */

int cf__store_pg_enrollment_insert(struct cf_store *s, uint64_t trigger_key, uint64_t record_key,
                                   uint64_t instance_key, int64_t at_ms, struct cf_error *err) {
  static const char what[] = "enrolling a record";
  int scope, r;
  if ((r = need_key(trigger_key, "a trigger key", what, err)) ||
      (r = need_key(record_key, "a record key", what, err)) ||
      (r = cf__store_pg_call_begin(s, &scope, err, what)))
    return r;
  struct cf__pg_params p = {0};
  cf__pg_key(&p, trigger_key);
  cf__pg_key(&p, record_key);
  cf__pg_key(&p, instance_key);
  cf__pg_i64(&p, at_ms);
  r = cf__store_pg_write(s,
                         "INSERT INTO trigger_enrollments(trigger_key, record_key, instance_key, at_ms)"
                         " VALUES ($1, $2, $3, $4)",
                         &p, NULL, err, what);
  return cf__store_pg_call_end(s, scope, r, err);
}

/* Active: an enrolled instance still there in state 0 (a pruned one has ended). */
int cf__store_pg_enrollment_find(struct cf_store *s, uint64_t trigger_key, uint64_t record_key,
                                 size_t *count, bool *active, struct cf_error *err) {
  static const char what[] = "finding enrollments";
  struct cf__pg_params p = {0};
  cf__pg_key(&p, trigger_key);
  cf__pg_key(&p, record_key);
  int r;
  PGresult *res = cf__store_pg_run(s,
                                   "SELECT count(*), coalesce(bool_or(i.state = 0), false)::int"
                                   " FROM trigger_enrollments e LEFT JOIN instances i"
                                   " ON i.key = e.instance_key"
                                   " WHERE e.trigger_key = $1 AND e.record_key = $2",
                                   &p, &r, err, what);
  if (!res) return r;
  if (count) *count = (size_t)cf__pg_col_i64(res, 0, 0);
  if (active) *active = cf__pg_col_i64(res, 0, 1) != 0;
  PQclear(res);
  return CF_OK;
}

/* ------------------------------------------------------------ timers of date-relative triggers */

int cf__store_pg_crm_timer_set(struct cf_store *s, const struct cf_store_crm_timer *t,
                               struct cf_error *err) {
  static const char what[] = "setting a trigger's timer";
  int scope, r;
  if (!t) return cf_error_set(err, CF_EINVAL, "%s: no timer", what);
  if ((r = need_key(t->trigger_key, "a trigger key", what, err)) ||
      (r = need_key(t->record_key, "a record key", what, err)) ||
      (t->due_ms >= 0 && (r = need_text(t->record_type, "a record type", what, err))) ||
      (r = cf__store_pg_call_begin(s, &scope, err, what)))
    return r;
  struct cf__pg_params p = {0};
  cf__pg_key(&p, t->trigger_key);
  cf__pg_key(&p, t->record_key);
  if (t->due_ms >= 0) {
    cf__pg_text(&p, t->record_type);
    cf__pg_i64(&p, t->due_ms);
  }
  r = cf__store_pg_write(s,
                         t->due_ms < 0
                             ? "DELETE FROM crm_timers WHERE trigger_key = $1 AND record_key = $2"
                             : "INSERT INTO crm_timers(" TIMER_COLS ") VALUES ($1, $2, $3, $4)"
                               " ON CONFLICT (trigger_key, record_key) DO UPDATE SET"
                               " record_type = excluded.record_type, due_ms = excluded.due_ms",
                         &p, NULL, err, what);
  return cf__store_pg_call_end(s, scope, r, err);
}

int cf__store_pg_crm_timers_due(struct cf_store *s, int64_t now_ms, size_t max,
                                struct cf_store_crm_timer **out, size_t *n, struct cf_error *err) {
  struct cf__pg_params p = {0};
  cf__pg_i64(&p, now_ms);
  cf__pg_i64(&p, max == 0 ? 1000 : max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max);
  /* Inside a writer's transaction, claimed as the runtime's timers are (TIMERS_CLAIM). */
  bool claim = cf__store_pg_in_tx(s) && !cf__store_pg_readonly(s);
  return list(s,
              claim ? "SELECT " TIMER_COLS " FROM crm_timers WHERE due_ms <= $1"
                      " ORDER BY due_ms, trigger_key, record_key LIMIT $2 FOR UPDATE SKIP LOCKED"
                    : "SELECT " TIMER_COLS " FROM crm_timers WHERE due_ms <= $1"
                      " ORDER BY due_ms, trigger_key, record_key LIMIT $2",
              &p, sizeof **out, read_timer, rel_timer, (void **)out, n, err,
              "listing due trigger timers");
}

int cf__store_pg_crm_timer_next(struct cf_store *s, int64_t *due_ms, struct cf_error *err) {
  int64_t v = 0;
  bool found = false;
  int r = cf__store_pg_int(s, "SELECT min(due_ms) FROM crm_timers", NULL, &v, &found, err,
                           "finding the next trigger timer");
  if (r) return r;
  *due_ms = found ? v : INT64_MAX;
  return CF_OK;
}

/* ------------------------------------------------------------ the crm layer's named state */

int cf__store_pg_crm_state_get(struct cf_store *s, const char *name, char **value,
                               struct cf_error *err) {
  static const char what[] = "reading the crm state";
  int r = need_text(name, "a name", what, err);
  if (r) return r;
  struct cf__pg_params p = {0};
  cf__pg_text(&p, name);
  PGresult *res = cf__store_pg_run(s, "SELECT value FROM crm_state WHERE name = $1", &p, &r, err, what);
  if (!res) return r;
  char *v = NULL;
  bool ok = true;
  if (PQntuples(res) > 0) v = cf__pg_col_str(res, 0, 0, &ok);
  PQclear(res);
  if (!ok) return cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
  *value = v;
  return CF_OK;
}

/* value NULL removes the name (a get then gives NULL, as for one never put). */
int cf__store_pg_crm_state_put(struct cf_store *s, const char *name, const char *value,
                               struct cf_error *err) {
  static const char what[] = "writing the crm state";
  int scope, r = need_text(name, "a name", what, err);
  if (r || (r = cf__store_pg_call_begin(s, &scope, err, what))) return r;
  struct cf__pg_params p = {0};
  cf__pg_text(&p, name);
  if (value) cf__pg_text(&p, value);
  r = cf__store_pg_write(s,
                         value ? "INSERT INTO crm_state(name, value) VALUES ($1, $2)"
                                 " ON CONFLICT (name) DO UPDATE SET value = excluded.value"
                               : "DELETE FROM crm_state WHERE name = $1",
                         &p, NULL, err, what);
  return cf__store_pg_call_end(s, scope, r, err);
}

/* ------------------------------------------------------------ personal data in instance history */

/* Every pack of the instance read, erased in C (store_pack.c) and written back where it changed. */
int cf__store_pg_history_erase(struct cf_store *s, uint64_t instance_key, const char *values,
                               const char *marker, size_t *replaced, struct cf_error *err) {
  static const char what[] = "erasing values from an instance's history";
  if (!marker || !values) return cf_error_set(err, CF_EINVAL, "%s: no values or marker", what);
  struct cf_error e2 = {0};
  struct json_object *vals = cf_json_parse(values, strlen(values), &e2);
  if (!vals || !json_object_is_type(vals, json_type_array)) {
    json_object_put(vals);
    if (e2.code == CF_ENOMEM) return cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
    return cf_error_set(err, CF_EINVAL, "%s: values must be a JSON array of strings", what);
  }
  size_t count = 0, nv = json_object_array_length(vals);
  const char **vs = cf_calloc(nv ? nv : 1, sizeof *vs);
  if (!vs) {
    json_object_put(vals);
    return cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
  }
  for (size_t i = 0; i < nv; i++) vs[i] = json_object_get_string(json_object_array_get_idx(vals, i));
  int scope, r = cf__store_pg_call_begin(s, &scope, err, what);
  if (r) goto done;
  struct cf__pg_params p = {0};
  cf__pg_key(&p, instance_key);
  PGresult *res = cf__store_pg_run(
      s, "SELECT id, events FROM history_packs WHERE instance_key = $1 ORDER BY id FOR UPDATE", &p, &r,
      err, what);
  for (int i = 0; res && i < PQntuples(res) && r == CF_OK; i++) {
    const char *text = PQgetvalue(res, i, 1);
    struct json_object *pack = cf_json_parse(text, (size_t)PQgetlength(res, i, 1), &e2);
    if (pack && cf__store_pack_erase(pack, vs, nv, marker, &count)) {
      char *t = cf_json_dump(pack);
      if (!t) {
        r = cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
      } else {
        struct cf__pg_params q = {0};
        cf__pg_text(&q, PQgetvalue(res, i, 0));
        cf__pg_text(&q, t);
        r = cf__store_pg_write(s, "UPDATE history_packs SET events = $2 WHERE id = $1", &q, NULL, err,
                               what);
      }
      cf_free(t);
    }
    json_object_put(pack);
  }
  PQclear(res);
  r = cf__store_pg_call_end(s, scope, r, err);
done:
  cf_free(vs);
  json_object_put(vals);
  if (r == CF_OK && replaced) *replaced = count;
  return r;
}
