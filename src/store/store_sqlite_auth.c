/*
 * The SQLite backend's principals (migration 5): API tokens, users and
 * groups. Small tables, read on every request (a token by its hash) and
 * written rarely, so their statements go through the handle's cache of
 * statements (store_sqlite_search.c) instead of store_sqlite.c's fixed list.
 *
 * What the store checks (CF_EINVAL): a name is given and not empty, a role
 * is one of admin, designer, agent, worker, viewer, a user's groups are a
 * JSON array of strings, a token acts as a user that exists. Names are
 * unique per kind (CF_ECONFLICT), as are token hashes.
 */
#include <string.h>

#include <json-c/json.h>

#include "base/cf_alloc.h"
#include "base/cf_json.h"
#include "store/cf_store.h"
#include "store/store_sqlite_int.h"

/* ------------------------------------------------------------ helpers */

static const char *const roles[] = {"admin", "designer", "agent", "worker", "viewer"};

static int check_name(const char *name, const char *what, struct cf_error *err) {
  if (!name || !*name) return cf_error_set(err, CF_EINVAL, "%s: a name is needed", what);
  return CF_OK;
}

static int check_role(const char *role, const char *what, struct cf_error *err) {
  for (size_t i = 0; role && i < sizeof roles / sizeof roles[0]; i++)
    if (!strcmp(role, roles[i])) return CF_OK;
  return cf_error_set(err, CF_EINVAL,
                      "%s: role '%s' is not one of admin, designer, agent, worker, viewer", what,
                      role ? role : "(none)");
}

/* NULL stands for no groups ("[]"). */
static int check_groups(const char *groups, const char *what, struct cf_error *err) {
  if (!groups) return CF_OK;
  struct cf_error jerr = {0};
  struct json_object *a = cf_json_parse(groups, strlen(groups), &jerr);
  int r = CF_OK;
  if (!a || !json_object_is_type(a, json_type_array)) {
    if (jerr.code == CF_ENOMEM) r = cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
    else r = cf_error_set(err, CF_EINVAL, "%s: groups must be a JSON array of group names", what);
    goto out;
  }
  for (size_t i = 0; i < json_object_array_length(a); i++)
    if (!json_object_is_type(json_object_array_get_idx(a, i), json_type_string)) {
      r = cf_error_set(err, CF_EINVAL, "%s: groups must be a JSON array of group names (item %zu"
                       " is not a string)", what, i);
      break;
    }
out:
  json_object_put(a);
  return r;
}

static int prepare(struct cf_store *s, const char *sql, sqlite3_stmt **st, struct cf_error *err) {
  return cf__store_sqlite_cached(s, sql, strlen(sql), st, err);
}

static int bind_text(sqlite3_stmt *st, int i, const char *v) {
  return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static int bind_failed(struct cf_store *s, sqlite3_stmt *st, struct cf_error *err, const char *what) {
  int r = cf__store_sqlite_fail(s, sqlite3_errcode(cf__store_sqlite_db(s)), err, what);
  sqlite3_reset(st);
  return r;
}

/* Steps a write to its end and resets it; *changes: the rows it changed. */
static int run(struct cf_store *s, sqlite3_stmt *st, int64_t *changes, struct cf_error *err,
               const char *what) {
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
  }
  int r = rc == SQLITE_DONE ? CF_OK : cf__store_sqlite_fail(s, rc, err, what);
  if (r == CF_OK && changes) *changes = sqlite3_changes64(cf__store_sqlite_db(s));
  sqlite3_reset(st);
  return r;
}

/* Whether the statement (one bound name) finds a row. */
static int exists(struct cf_store *s, const char *sql, const char *name, bool *found,
                  struct cf_error *err, const char *what) {
  sqlite3_stmt *st = NULL;
  int r = prepare(s, sql, &st, err);
  if (r) return r;
  if (bind_text(st, 1, name)) return bind_failed(s, st, err, what);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW || rc == SQLITE_DONE) *found = rc == SQLITE_ROW;
  else r = cf__store_sqlite_fail(s, rc, err, what);
  sqlite3_reset(st);
  return r;
}

/* ------------------------------------------------------------ rows */

#define TOKEN_COLS "name, role, user_name, hash, created_ms"
#define USER_COLS "name, display_name, role, password_hash, groups_json, created_ms"
#define GROUP_COLS "name, display_name, created_ms"

static bool read_token(sqlite3_stmt *st, void *row) {
  struct cf_store_token *t = row;
  bool ok = true;
  memset(t, 0, sizeof *t);
  t->name = cf__store_sqlite_col_str(st, 0, &ok);
  t->role = cf__store_sqlite_col_str(st, 1, &ok);
  t->user = cf__store_sqlite_col_str(st, 2, &ok);
  t->hash = cf__store_sqlite_col_str(st, 3, &ok);
  t->created_ms = sqlite3_column_int64(st, 4);
  if (!ok) cf_store_token_release(t);
  return ok;
}

static bool read_user(sqlite3_stmt *st, void *row) {
  struct cf_store_user *u = row;
  bool ok = true;
  memset(u, 0, sizeof *u);
  u->name = cf__store_sqlite_col_str(st, 0, &ok);
  u->display_name = cf__store_sqlite_col_str(st, 1, &ok);
  u->role = cf__store_sqlite_col_str(st, 2, &ok);
  u->password_hash = cf__store_sqlite_col_str(st, 3, &ok);
  u->groups = cf__store_sqlite_col_str(st, 4, &ok);
  u->created_ms = sqlite3_column_int64(st, 5);
  if (!ok) cf_store_user_release(u);
  return ok;
}

static bool read_group(sqlite3_stmt *st, void *row) {
  struct cf_store_group *g = row;
  bool ok = true;
  memset(g, 0, sizeof *g);
  g->name = cf__store_sqlite_col_str(st, 0, &ok);
  g->display_name = cf__store_sqlite_col_str(st, 1, &ok);
  g->created_ms = sqlite3_column_int64(st, 2);
  if (!ok) cf_store_group_release(g);
  return ok;
}

static void rel_token(void *r) { cf_store_token_release(r); }
static void rel_user(void *r) { cf_store_user_release(r); }
static void rel_group(void *r) { cf_store_group_release(r); }

/* ------------------------------------------------------------ tokens */

int cf__store_sqlite_token_insert(struct cf_store *s, const struct cf_store_token *t,
                                  struct cf_error *err) {
  static const char what[] = "creating a token";
  int r;
  if (!t) return cf_error_set(err, CF_EINVAL, "%s: no token", what);
  if ((r = check_name(t->name, what, err)) || (r = check_role(t->role, what, err))) return r;
  if (!t->hash || !*t->hash) return cf_error_set(err, CF_EINVAL, "%s: the hash is missing", what);
  int scope;
  if ((r = cf__store_sqlite_call_begin(s, &scope, err, what))) return r;
  bool found = false;
  if (t->user) {
    if ((r = exists(s, "SELECT 1 FROM users WHERE name = ?1", t->user, &found, err, what))) goto out;
    if (!found) {
      r = cf_error_set(err, CF_EINVAL, "%s: token '%s' would act as user '%s', who does not exist",
                       what, t->name, t->user);
      goto out;
    }
  }
  if ((r = exists(s, "SELECT 1 FROM api_tokens WHERE name = ?1", t->name, &found, err, what)))
    goto out;
  if (found) {
    r = cf_error_set(err, CF_ECONFLICT, "%s: a token named '%s' exists", what, t->name);
    goto out;
  }
  sqlite3_stmt *st = NULL;
  if ((r = prepare(s, "INSERT INTO api_tokens(" TOKEN_COLS ") VALUES (?1, ?2, ?3, ?4, ?5)", &st,
                   err)))
    goto out;
  if (bind_text(st, 1, t->name) || bind_text(st, 2, t->role) || bind_text(st, 3, t->user) ||
      bind_text(st, 4, t->hash) || sqlite3_bind_int64(st, 5, t->created_ms)) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  r = run(s, st, NULL, err, what);
  /* The name was free: the other unique column is the hash. */
  if (r == CF_ECONFLICT)
    r = cf_error_set(err, CF_ECONFLICT, "%s: another token has the same secret", what);
out:
  return cf__store_sqlite_call_end(s, scope, r, err);
}

int cf__store_sqlite_token_by_hash(struct cf_store *s, const char *hash,
                                   struct cf_store_token *out, struct cf_error *err) {
  static const char what[] = "finding a token";
  sqlite3_stmt *st = NULL;
  int r = prepare(s, "SELECT " TOKEN_COLS " FROM api_tokens WHERE hash = ?1", &st, err);
  if (r) return r;
  if (bind_text(st, 1, hash ? hash : "")) return bind_failed(s, st, err, what);
  struct cf_store_token t;
  r = cf__store_sqlite_fetch_one(s, st, read_token, &t, err, what);
  if (r == CF_ENOTFOUND) return cf_error_set(err, CF_ENOTFOUND, "no token with that secret");
  if (r == CF_OK) *out = t;
  return r;
}

int cf__store_sqlite_token_list(struct cf_store *s, struct cf_store_token **out, size_t *n,
                                struct cf_error *err) {
  sqlite3_stmt *st = NULL;
  int r = prepare(s, "SELECT " TOKEN_COLS " FROM api_tokens ORDER BY name", &st, err);
  if (r) return r;
  return cf__store_sqlite_fetch_all(s, st, sizeof **out, read_token, rel_token, (void **)out, n,
                                    err, "listing tokens");
}

/* Deletes by name with the statement sql: CF_ENOTFOUND when there was none. */
static int delete_named(struct cf_store *s, const char *sql, const char *name, const char *kind,
                        struct cf_error *err, const char *what) {
  sqlite3_stmt *st = NULL;
  int64_t changes = 0;
  int r = prepare(s, sql, &st, err);
  if (r) return r;
  if (bind_text(st, 1, name)) return bind_failed(s, st, err, what);
  if ((r = run(s, st, &changes, err, what))) return r;
  if (!changes) return cf_error_set(err, CF_ENOTFOUND, "%s: no %s named '%s'", what, kind, name);
  return CF_OK;
}

int cf__store_sqlite_token_delete(struct cf_store *s, const char *name, struct cf_error *err) {
  static const char what[] = "deleting a token";
  int scope, r = check_name(name, what, err);
  if (r || (r = cf__store_sqlite_call_begin(s, &scope, err, what))) return r;
  r = delete_named(s, "DELETE FROM api_tokens WHERE name = ?1", name, "token", err, what);
  return cf__store_sqlite_call_end(s, scope, r, err);
}

/* ------------------------------------------------------------ users */

int cf__store_sqlite_user_put(struct cf_store *s, const struct cf_store_user *u, bool create,
                              struct cf_error *err) {
  const char *what = create ? "creating a user" : "updating a user";
  int r;
  if (!u) return cf_error_set(err, CF_EINVAL, "%s: no user", what);
  if ((r = check_name(u->name, what, err)) || (r = check_role(u->role, what, err)) ||
      (r = check_groups(u->groups, what, err)))
    return r;
  int scope;
  if ((r = cf__store_sqlite_call_begin(s, &scope, err, what))) return r;
  bool found = false;
  if ((r = exists(s, "SELECT 1 FROM users WHERE name = ?1", u->name, &found, err, what))) goto out;
  if (create && found) {
    r = cf_error_set(err, CF_ECONFLICT, "%s: a user named '%s' exists", what, u->name);
    goto out;
  }
  if (!create && !found) {
    r = cf_error_set(err, CF_ENOTFOUND, "%s: no user named '%s'", what, u->name);
    goto out;
  }
  /* An update replaces every field but the name and when it was created. */
  sqlite3_stmt *st = NULL;
  if ((r = prepare(s,
                   create ? "INSERT INTO users(" USER_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                          : "UPDATE users SET display_name = ?2, role = ?3, password_hash = ?4,"
                            " groups_json = ?5 WHERE name = ?1",
                   &st, err)))
    goto out;
  if (bind_text(st, 1, u->name) || bind_text(st, 2, u->display_name) ||
      bind_text(st, 3, u->role) || bind_text(st, 4, u->password_hash) ||
      bind_text(st, 5, u->groups ? u->groups : "[]") ||
      (create && sqlite3_bind_int64(st, 6, u->created_ms))) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  r = run(s, st, NULL, err, what);
out:
  return cf__store_sqlite_call_end(s, scope, r, err);
}

int cf__store_sqlite_user_get(struct cf_store *s, const char *name, struct cf_store_user *out,
                              struct cf_error *err) {
  static const char what[] = "getting a user";
  sqlite3_stmt *st = NULL;
  int r = prepare(s, "SELECT " USER_COLS " FROM users WHERE name = ?1", &st, err);
  if (r) return r;
  if (bind_text(st, 1, name ? name : "")) return bind_failed(s, st, err, what);
  struct cf_store_user u;
  r = cf__store_sqlite_fetch_one(s, st, read_user, &u, err, what);
  if (r == CF_ENOTFOUND)
    return cf_error_set(err, CF_ENOTFOUND, "no user named '%s'", name ? name : "");
  if (r == CF_OK) *out = u;
  return r;
}

int cf__store_sqlite_user_list(struct cf_store *s, struct cf_store_user **out, size_t *n,
                               struct cf_error *err) {
  sqlite3_stmt *st = NULL;
  int r = prepare(s, "SELECT " USER_COLS " FROM users ORDER BY name", &st, err);
  if (r) return r;
  return cf__store_sqlite_fetch_all(s, st, sizeof **out, read_user, rel_user, (void **)out, n,
                                    err, "listing users");
}

int cf__store_sqlite_user_delete(struct cf_store *s, const char *name, struct cf_error *err) {
  static const char what[] = "deleting a user";
  int scope, r = check_name(name, what, err);
  if (r || (r = cf__store_sqlite_call_begin(s, &scope, err, what))) return r;
  r = delete_named(s, "DELETE FROM users WHERE name = ?1", name, "user", err, what);
  if (r == CF_OK) {
    sqlite3_stmt *st = NULL;
    if (!(r = prepare(s, "DELETE FROM api_tokens WHERE user_name = ?1", &st, err)))
      r = bind_text(st, 1, name) ? bind_failed(s, st, err, what) : run(s, st, NULL, err, what);
  }
  return cf__store_sqlite_call_end(s, scope, r, err);
}

/* ------------------------------------------------------------ groups */

int cf__store_sqlite_group_put(struct cf_store *s, const struct cf_store_group *g, bool create,
                               struct cf_error *err) {
  const char *what = create ? "creating a group" : "updating a group";
  int r;
  if (!g) return cf_error_set(err, CF_EINVAL, "%s: no group", what);
  if ((r = check_name(g->name, what, err))) return r;
  int scope;
  if ((r = cf__store_sqlite_call_begin(s, &scope, err, what))) return r;
  bool found = false;
  if ((r = exists(s, "SELECT 1 FROM crm_groups WHERE name = ?1", g->name, &found, err, what)))
    goto out;
  if (create && found) {
    r = cf_error_set(err, CF_ECONFLICT, "%s: a group named '%s' exists", what, g->name);
    goto out;
  }
  if (!create && !found) {
    r = cf_error_set(err, CF_ENOTFOUND, "%s: no group named '%s'", what, g->name);
    goto out;
  }
  sqlite3_stmt *st = NULL;
  if ((r = prepare(s,
                   create ? "INSERT INTO crm_groups(" GROUP_COLS ") VALUES (?1, ?2, ?3)"
                          : "UPDATE crm_groups SET display_name = ?2 WHERE name = ?1",
                   &st, err)))
    goto out;
  if (bind_text(st, 1, g->name) || bind_text(st, 2, g->display_name) ||
      (create && sqlite3_bind_int64(st, 3, g->created_ms))) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  r = run(s, st, NULL, err, what);
out:
  return cf__store_sqlite_call_end(s, scope, r, err);
}

int cf__store_sqlite_group_get(struct cf_store *s, const char *name, struct cf_store_group *out,
                               struct cf_error *err) {
  static const char what[] = "getting a group";
  sqlite3_stmt *st = NULL;
  int r = prepare(s, "SELECT " GROUP_COLS " FROM crm_groups WHERE name = ?1", &st, err);
  if (r) return r;
  if (bind_text(st, 1, name ? name : "")) return bind_failed(s, st, err, what);
  struct cf_store_group g;
  r = cf__store_sqlite_fetch_one(s, st, read_group, &g, err, what);
  if (r == CF_ENOTFOUND)
    return cf_error_set(err, CF_ENOTFOUND, "no group named '%s'", name ? name : "");
  if (r == CF_OK) *out = g;
  return r;
}

int cf__store_sqlite_group_list(struct cf_store *s, struct cf_store_group **out, size_t *n,
                                struct cf_error *err) {
  sqlite3_stmt *st = NULL;
  int r = prepare(s, "SELECT " GROUP_COLS " FROM crm_groups ORDER BY name", &st, err);
  if (r) return r;
  return cf__store_sqlite_fetch_all(s, st, sizeof **out, read_group, rel_group, (void **)out, n,
                                    err, "listing groups");
}

/* Also takes the group out of every user's groups (their order otherwise kept). */
int cf__store_sqlite_group_delete(struct cf_store *s, const char *name, struct cf_error *err) {
  static const char what[] = "deleting a group";
  int scope, r = check_name(name, what, err);
  if (r || (r = cf__store_sqlite_call_begin(s, &scope, err, what))) return r;
  r = delete_named(s, "DELETE FROM crm_groups WHERE name = ?1", name, "group", err, what);
  if (r == CF_OK) {
    sqlite3_stmt *st = NULL;
    if (!(r = prepare(s,
                      "UPDATE users SET groups_json = (SELECT json_group_array(g.value) FROM"
                      " json_each(users.groups_json) g WHERE g.value IS NOT ?1)"
                      " WHERE EXISTS (SELECT 1 FROM json_each(users.groups_json) WHERE value = ?1)",
                      &st, err)))
      r = bind_text(st, 1, name) ? bind_failed(s, st, err, what) : run(s, st, NULL, err, what);
  }
  return cf__store_sqlite_call_end(s, scope, r, err);
}
