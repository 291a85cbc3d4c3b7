/*
 * The PostgreSQL backend's principals (migration 5): API tokens, users and
 * groups, with the SQLite backend's checks and answers (store_sqlite_auth.c):
 * a name is given and not empty, a role is one of admin, designer, agent,
 * worker, viewer, a user's groups are a JSON array of strings, a token acts
 * as a user that exists (CF_EINVAL); names are unique per kind, as are token
 * hashes (CF_ECONFLICT). Their statements go through the handle's cache of
 * statements from SQL text (cf__store_pg_query).
 */
#include <string.h>

#include <json-c/json.h>

#include "base/cf_alloc.h"
#include "base/cf_json.h"
#include "store/store_pg_int.h"

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
      r = cf_error_set(err, CF_EINVAL,
                       "%s: groups must be a JSON array of group names (item %zu is not a string)",
                       what, i);
      break;
    }
out:
  json_object_put(a);
  return r;
}

/* Whether the statement (one bound name) finds a row. */
static int exists(struct cf_store *s, const char *sql, const char *name, bool *found,
                  struct cf_error *err, const char *what) {
  struct cf__pg_params p = {0};
  cf__pg_text(&p, name);
  int64_t v;
  return cf__store_pg_int(s, sql, &p, &v, found, err, what);
}

/* ------------------------------------------------------------ rows */

#define TOKEN_COLS "name, role, user_name, hash, created_ms"
#define USER_COLS "name, display_name, role, password_hash, groups_json, created_ms"
#define GROUP_COLS "name, display_name, created_ms"

static bool read_token(const PGresult *res, int row, void *out) {
  struct cf_store_token *t = out;
  bool ok = true;
  memset(t, 0, sizeof *t);
  t->name = cf__pg_col_str(res, row, 0, &ok);
  t->role = cf__pg_col_str(res, row, 1, &ok);
  t->user = cf__pg_col_str(res, row, 2, &ok);
  t->hash = cf__pg_col_str(res, row, 3, &ok);
  t->created_ms = cf__pg_col_i64(res, row, 4);
  if (!ok) cf_store_token_release(t);
  return ok;
}

static bool read_user(const PGresult *res, int row, void *out) {
  struct cf_store_user *u = out;
  bool ok = true;
  memset(u, 0, sizeof *u);
  u->name = cf__pg_col_str(res, row, 0, &ok);
  u->display_name = cf__pg_col_str(res, row, 1, &ok);
  u->role = cf__pg_col_str(res, row, 2, &ok);
  u->password_hash = cf__pg_col_str(res, row, 3, &ok);
  u->groups = cf__pg_col_str(res, row, 4, &ok);
  u->created_ms = cf__pg_col_i64(res, row, 5);
  if (!ok) cf_store_user_release(u);
  return ok;
}

static bool read_group(const PGresult *res, int row, void *out) {
  struct cf_store_group *g = out;
  bool ok = true;
  memset(g, 0, sizeof *g);
  g->name = cf__pg_col_str(res, row, 0, &ok);
  g->display_name = cf__pg_col_str(res, row, 1, &ok);
  g->created_ms = cf__pg_col_i64(res, row, 2);
  if (!ok) cf_store_group_release(g);
  return ok;
}

static void rel_token(void *r) { cf_store_token_release(r); }
static void rel_user(void *r) { cf_store_user_release(r); }
static void rel_group(void *r) { cf_store_group_release(r); }

/* Every row of sql (no parameters) into a new array. */
static int list(struct cf_store *s, const char *sql, size_t sz, cf__pg_reader rd, void (*rel)(void *),
                void **out, size_t *n, struct cf_error *err, const char *what) {
  int r;
  PGresult *res = cf__store_pg_run(s, sql, NULL, &r, err, what);
  if (!res) return r;
  return cf__store_pg_collect(res, sz, rd, rel, out, n, err, what);
}

/* One row by name: CF_ENOTFOUND as "no KIND named 'NAME'". */
static int get_named(struct cf_store *s, const char *sql, const char *name, cf__pg_reader rd, void *row,
                     const char *kind, struct cf_error *err, const char *what) {
  struct cf__pg_params p = {0};
  cf__pg_text(&p, name ? name : "");
  int r;
  PGresult *res = cf__store_pg_run(s, sql, &p, &r, err, what);
  if (!res) return r;
  r = cf__store_pg_first(res, rd, row, err, what);
  if (r == CF_ENOTFOUND)
    return cf_error_set(err, CF_ENOTFOUND, "no %s named '%s'", kind, name ? name : "");
  return r;
}

/* Deletes by name with the statement sql: CF_ENOTFOUND when there was none. */
static int delete_named(struct cf_store *s, const char *sql, const char *name, const char *kind,
                        struct cf_error *err, const char *what) {
  struct cf__pg_params p = {0};
  cf__pg_text(&p, name);
  size_t changed = 0;
  int r = cf__store_pg_write(s, sql, &p, &changed, err, what);
  if (r) return r;
  if (!changed) return cf_error_set(err, CF_ENOTFOUND, "%s: no %s named '%s'", what, kind, name);
  return CF_OK;
}

/* ------------------------------------------------------------ tokens */

int cf__store_pg_token_insert(struct cf_store *s, const struct cf_store_token *t,
                              struct cf_error *err) {
  static const char what[] = "creating a token";
  int r;
  if (!t) return cf_error_set(err, CF_EINVAL, "%s: no token", what);
  if ((r = check_name(t->name, what, err)) || (r = check_role(t->role, what, err))) return r;
  if (!t->hash || !*t->hash) return cf_error_set(err, CF_EINVAL, "%s: the hash is missing", what);
  int scope;
  if ((r = cf__store_pg_call_begin(s, &scope, err, what))) return r;
  bool found = false;
  if (t->user) {
    if ((r = exists(s, "SELECT 1 FROM users WHERE name = $1", t->user, &found, err, what))) goto out;
    if (!found) {
      r = cf_error_set(err, CF_EINVAL, "%s: token '%s' would act as user '%s', who does not exist",
                       what, t->name, t->user);
      goto out;
    }
  }
  if ((r = exists(s, "SELECT 1 FROM api_tokens WHERE name = $1", t->name, &found, err, what)))
    goto out;
  if (found) {
    r = cf_error_set(err, CF_ECONFLICT, "%s: a token named '%s' exists", what, t->name);
    goto out;
  }
  struct cf__pg_params p = {0};
  cf__pg_text(&p, t->name);
  cf__pg_text(&p, t->role);
  cf__pg_text(&p, t->user);
  cf__pg_text(&p, t->hash);
  cf__pg_i64(&p, t->created_ms);
  r = cf__store_pg_write(s, "INSERT INTO api_tokens(" TOKEN_COLS ") VALUES ($1, $2, $3, $4, $5)", &p,
                         NULL, err, what);
  /* The name was free: the other unique column is the hash. */
  if (r == CF_ECONFLICT)
    r = cf_error_set(err, CF_ECONFLICT, "%s: another token has the same secret", what);
out:
  return cf__store_pg_call_end(s, scope, r, err);
}

int cf__store_pg_token_by_hash(struct cf_store *s, const char *hash, struct cf_store_token *out,
                               struct cf_error *err) {
  static const char what[] = "finding a token";
  struct cf__pg_params p = {0};
  cf__pg_text(&p, hash ? hash : "");
  int r;
  PGresult *res =
      cf__store_pg_run(s, "SELECT " TOKEN_COLS " FROM api_tokens WHERE hash = $1", &p, &r, err, what);
  if (!res) return r;
  struct cf_store_token t;
  r = cf__store_pg_first(res, read_token, &t, err, what);
  if (r == CF_ENOTFOUND) return cf_error_set(err, CF_ENOTFOUND, "no token with that secret");
  if (r == CF_OK) *out = t;
  return r;
}

/* Ordered by name in bytes (COLLATE "C"), as SQLite orders them whatever the database's locale. */
int cf__store_pg_token_list(struct cf_store *s, struct cf_store_token **out, size_t *n,
                            struct cf_error *err) {
  return list(s, "SELECT " TOKEN_COLS " FROM api_tokens ORDER BY name COLLATE \"C\"", sizeof **out,
              read_token, rel_token, (void **)out, n, err, "listing tokens");
}

int cf__store_pg_token_delete(struct cf_store *s, const char *name, struct cf_error *err) {
  static const char what[] = "deleting a token";
  int scope, r = check_name(name, what, err);
  if (r || (r = cf__store_pg_call_begin(s, &scope, err, what))) return r;
  r = delete_named(s, "DELETE FROM api_tokens WHERE name = $1", name, "token", err, what);
  return cf__store_pg_call_end(s, scope, r, err);
}

/* ------------------------------------------------------------ users */

int cf__store_pg_user_put(struct cf_store *s, const struct cf_store_user *u, bool create,
                          struct cf_error *err) {
  const char *what = create ? "creating a user" : "updating a user";
  int r;
  if (!u) return cf_error_set(err, CF_EINVAL, "%s: no user", what);
  if ((r = check_name(u->name, what, err)) || (r = check_role(u->role, what, err)) ||
      (r = check_groups(u->groups, what, err)))
    return r;
  int scope;
  if ((r = cf__store_pg_call_begin(s, &scope, err, what))) return r;
  bool found = false;
  if ((r = exists(s, "SELECT 1 FROM users WHERE name = $1", u->name, &found, err, what))) goto out;
  if (create && found) {
    r = cf_error_set(err, CF_ECONFLICT, "%s: a user named '%s' exists", what, u->name);
    goto out;
  }
  if (!create && !found) {
    r = cf_error_set(err, CF_ENOTFOUND, "%s: no user named '%s'", what, u->name);
    goto out;
  }
  /* An update replaces every field but the name and when it was created. */
  struct cf__pg_params p = {0};
  cf__pg_text(&p, u->name);
  cf__pg_text(&p, u->display_name);
  cf__pg_text(&p, u->role);
  cf__pg_text(&p, u->password_hash);
  cf__pg_text(&p, u->groups ? u->groups : "[]");
  if (create) cf__pg_i64(&p, u->created_ms);
  r = cf__store_pg_write(s,
                         create ? "INSERT INTO users(" USER_COLS ") VALUES ($1, $2, $3, $4, $5, $6)"
                                : "UPDATE users SET display_name = $2, role = $3, password_hash = $4,"
                                  " groups_json = $5 WHERE name = $1",
                         &p, NULL, err, what);
out:
  return cf__store_pg_call_end(s, scope, r, err);
}

int cf__store_pg_user_get(struct cf_store *s, const char *name, struct cf_store_user *out,
                          struct cf_error *err) {
  struct cf_store_user u;
  int r = get_named(s, "SELECT " USER_COLS " FROM users WHERE name = $1", name, read_user, &u, "user",
                    err, "getting a user");
  if (r == CF_OK) *out = u;
  return r;
}

int cf__store_pg_user_list(struct cf_store *s, struct cf_store_user **out, size_t *n,
                           struct cf_error *err) {
  return list(s, "SELECT " USER_COLS " FROM users ORDER BY name COLLATE \"C\"", sizeof **out,
              read_user, rel_user, (void **)out, n, err, "listing users");
}

int cf__store_pg_user_delete(struct cf_store *s, const char *name, struct cf_error *err) {
  static const char what[] = "deleting a user";
  int scope, r = check_name(name, what, err);
  if (r || (r = cf__store_pg_call_begin(s, &scope, err, what))) return r;
  r = delete_named(s, "DELETE FROM users WHERE name = $1", name, "user", err, what);
  if (r == CF_OK) {
    struct cf__pg_params p = {0};
    cf__pg_text(&p, name);
    r = cf__store_pg_write(s, "DELETE FROM api_tokens WHERE user_name = $1", &p, NULL, err, what);
  }
  return cf__store_pg_call_end(s, scope, r, err);
}

/* ------------------------------------------------------------ groups */

int cf__store_pg_group_put(struct cf_store *s, const struct cf_store_group *g, bool create,
                           struct cf_error *err) {
  const char *what = create ? "creating a group" : "updating a group";
  int r;
  if (!g) return cf_error_set(err, CF_EINVAL, "%s: no group", what);
  if ((r = check_name(g->name, what, err))) return r;
  int scope;
  if ((r = cf__store_pg_call_begin(s, &scope, err, what))) return r;
  bool found = false;
  if ((r = exists(s, "SELECT 1 FROM crm_groups WHERE name = $1", g->name, &found, err, what)))
    goto out;
  if (create && found) {
    r = cf_error_set(err, CF_ECONFLICT, "%s: a group named '%s' exists", what, g->name);
    goto out;
  }
  if (!create && !found) {
    r = cf_error_set(err, CF_ENOTFOUND, "%s: no group named '%s'", what, g->name);
    goto out;
  }
  struct cf__pg_params p = {0};
  cf__pg_text(&p, g->name);
  cf__pg_text(&p, g->display_name);
  if (create) cf__pg_i64(&p, g->created_ms);
  r = cf__store_pg_write(s,
                         create ? "INSERT INTO crm_groups(" GROUP_COLS ") VALUES ($1, $2, $3)"
                                : "UPDATE crm_groups SET display_name = $2 WHERE name = $1",
                         &p, NULL, err, what);
out:
  return cf__store_pg_call_end(s, scope, r, err);
}

int cf__store_pg_group_get(struct cf_store *s, const char *name, struct cf_store_group *out,
                           struct cf_error *err) {
  struct cf_store_group g;
  int r = get_named(s, "SELECT " GROUP_COLS " FROM crm_groups WHERE name = $1", name, read_group, &g,
                    "group", err, "getting a group");
  if (r == CF_OK) *out = g;
  return r;
}

int cf__store_pg_group_list(struct cf_store *s, struct cf_store_group **out, size_t *n,
                            struct cf_error *err) {
  return list(s, "SELECT " GROUP_COLS " FROM crm_groups ORDER BY name COLLATE \"C\"", sizeof **out,
              read_group, rel_group, (void **)out, n, err, "listing groups");
}

/*
 * Also takes the group out of every user's groups, their order otherwise
 * kept. groups_json is TEXT the C code wrote (json-c checked it an array of
 * strings), rebuilt here as compact JSON text like SQLite's
 * json_group_array: jsonb would respace it.
 */
int cf__store_pg_group_delete(struct cf_store *s, const char *name, struct cf_error *err) {
  static const char what[] = "deleting a group";
  int scope, r = check_name(name, what, err);
  if (r || (r = cf__store_pg_call_begin(s, &scope, err, what))) return r;
  r = delete_named(s, "DELETE FROM crm_groups WHERE name = $1", name, "group", err, what);
  if (r == CF_OK) {
    struct cf__pg_params p = {0};
    cf__pg_text(&p, name);
    r = cf__store_pg_write(
        s,
        "UPDATE users SET groups_json = coalesce((SELECT '[' || string_agg(to_json(g.v)::text, ','"
        " ORDER BY g.n) || ']' FROM json_array_elements_text(users.groups_json::json)"
        " WITH ORDINALITY AS g(v, n) WHERE g.v <> $1::text), '[]')"
        " WHERE groups_json::jsonb ? $1::text",
        &p, NULL, err, what);
  }
  return cf__store_pg_call_end(s, scope, r, err);
}
