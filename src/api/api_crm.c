/*
 * crmflow's own endpoints under /v2/crm/: who am I, API tokens, users and
 * groups (admin only), and an instance's history.
 *
 * A token's secret is made here, answered once, and only its digest is
 * stored. A password is hashed (argon2id) on the HTTP thread before the
 * command goes to the writer: the writer never spends its time on it.
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "base/cf_alloc.h"
#include "base/cf_json.h"

#define NAME_MAX_LEN 100

static bool name_ok(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (!n || n > NAME_MAX_LEN) return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("._@+-", *p)))
      return false;
  return true;
}

static void store_of(struct cf_runtime *rt, const struct cf_store_ops **ops, struct cf_store **st) {
  cf_runtime_store(rt, ops, st);
}

bool api_h_me(struct api_ctx *c) {
  struct cf_buf *b = &c->res->body;
  cf_buf_putc(b, '{');
  api_json_str(b, "name", c->who.name, true);
  if (c->who.user[0]) api_json_str(b, "user", c->who.user, false);
  api_json_str(b, "role", api_role_name(c->who.role), false);
  cf_buf_puts(b, ",\"groups\":[");
  for (size_t i = 0; i < c->who.ngroups; i++) {
    if (i) cf_buf_putc(b, ',');
    cf_buf_json_string(b, c->who.groups[i], strlen(c->who.groups[i]));
  }
  cf_buf_puts(b, "]");
  /* Signed in through the web UI: the session's CSRF token (a new tab reads it here). */
  if (c->who.csrf[0]) api_json_str(b, "csrfToken", c->who.csrf, false);
  cf_buf_puts(b, "}");
  return api_ok_json(c);
}

/* ------------------------------------------------------------ tokens */

struct token_cmd {
  struct api_cmd cmd;
  struct cf_store_token t;
  char secret[48];
  bool del;
};

static void token_release(struct api_cmd *c) {
  struct token_cmd *k = (struct token_cmd *)c;
  cf_store_token_release(&k->t);
  sodium_memzero(k->secret, sizeof k->secret);
  cf_free(k);
}

static int token_run(struct cf_runtime *rt, struct api_cmd *c, struct cf_error *err) {
  struct token_cmd *k = (struct token_cmd *)c;
  const struct cf_store_ops *ops;
  struct cf_store *st;
  store_of(rt, &ops, &st);
  if (k->del) return ops->token_delete(st, k->t.name, err);
  if (k->t.user) {
    struct cf_store_user u;
    memset(&u, 0, sizeof u);
    int rc = ops->user_get(st, k->t.user, &u, err);
    cf_store_user_release(&u);
    if (rc == CF_ENOTFOUND) return cf_error_set(err, CF_EINVAL, "no user named '%s' to act as", k->t.user);
    if (rc) return rc;
  }
  k->t.created_ms = cf_runtime_now(rt);
  int rc = ops->token_insert(st, &k->t, err);
  if (rc == CF_ECONFLICT) return cf_error_set(err, CF_ECONFLICT, "a token named '%s' exists already", k->t.name);
  return rc;
}

static bool token_answer(struct api_cmd *c) {
  struct token_cmd *k = (struct token_cmd *)c;
  struct cf_buf *b = &c->reply.res->body;
  cf_buf_putc(b, '{');
  api_json_str(b, "name", k->t.name, true);
  api_json_str(b, "role", k->t.role, false);
  if (k->t.user) api_json_str(b, "user", k->t.user, false);
  api_json_str(b, "token", k->secret, false);
  cf_buf_putc(b, '}');
  c->reply.res->status = 201;
  c->reply.res->content_type = "application/json";
  return true;
}

bool api_h_token_create(struct api_ctx *c) {
  struct json_object *body = api_body(c, false);
  if (!body) return true;
  const char *name = NULL, *role = NULL, *user = NULL;
  struct token_cmd *k = NULL;
  bool answered = false;
  if (!api_get_string(c, body, "name", &name) || !api_get_string(c, body, "role", &role) ||
      !api_get_string(c, body, "user", &user)) {
    answered = true;
  } else if (!name_ok(name)) {
    answered = api_bad(c, "The value for name must be 1 to %d letters, digits or ._@+-.", NAME_MAX_LEN);
  } else if (api_role_parse(role) == ROLE_NONE) {
    answered = api_bad(c, "The value for role is '%.40s' but must be one of admin, designer, agent, worker, viewer.",
                       role ? role : "");
  } else if (!(k = cf_calloc(1, sizeof *k)) || !(k->t.name = cf_strdup(name)) || !(k->t.role = cf_strdup(role)) ||
             (user && *user && !(k->t.user = cf_strdup(user))) || !(k->t.hash = cf_malloc(65))) {
    answered = api_fail(c, 500, "INTERNAL", "out of memory");
  } else {
    cf_api_token_new(k->secret);
    cf_api_token_hash(k->secret, k->t.hash);
  }
  json_object_put(body);
  if (answered) {
    if (k) token_release(&k->cmd);
    return true;
  }
  k->cmd.run = token_run;
  k->cmd.answer = token_answer;
  k->cmd.release = token_release;
  return api_cmd_submit(c, &k->cmd);
}

bool api_h_token_list(struct api_ctx *c) {
  struct api_reader *r = api_reader_for(c);
  if (!r) return true;
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_store_token *t = NULL;
  size_t n = 0;
  int rc = r->ops->token_list(r->st, &t, &n, &err);
  api_reader_put(c->api, r);
  if (rc) return api_error_problem(c->res, &err, c->req->path), true;
  struct cf_buf *b = &c->res->body;
  cf_buf_puts(b, "{\"items\":[");
  for (size_t i = 0; i < n; i++) {
    cf_buf_puts(b, i ? ",{" : "{");
    api_json_str(b, "name", t[i].name, true);
    api_json_str(b, "role", t[i].role, false);
    if (t[i].user) api_json_str(b, "user", t[i].user, false);
    api_json_time(b, "created", t[i].created_ms, false);
    cf_buf_putc(b, '}');
    cf_store_token_release(&t[i]);
  }
  cf_free(t);
  cf_buf_puts(b, "]}");
  return api_ok_json(c);
}

bool api_h_token_delete(struct api_ctx *c) {
  struct token_cmd *k = cf_calloc(1, sizeof *k);
  if (!k || !(k->t.name = cf_strdup(c->param))) {
    if (k) token_release(&k->cmd);
    return api_fail(c, 500, "INTERNAL", "out of memory");
  }
  k->del = true;
  k->cmd.run = token_run;
  k->cmd.release = token_release;
  return api_cmd_submit(c, &k->cmd);
}

/* ------------------------------------------------------------ users */

struct user_cmd {
  struct api_cmd cmd;
  struct cf_store_user u;
  int kind; /* 0 create, 1 update, 2 delete */
  bool set_password, set_role, set_display, set_groups;
};

static void user_release(struct api_cmd *c) {
  struct user_cmd *k = (struct user_cmd *)c;
  cf_store_user_release(&k->u);
  cf_free(k);
}

static void write_user(struct cf_buf *b, const struct cf_store_user *u) {
  cf_buf_putc(b, '{');
  api_json_str(b, "name", u->name, true);
  if (u->display_name) api_json_str(b, "displayName", u->display_name, false);
  api_json_str(b, "role", u->role, false);
  cf_buf_puts(b, ",\"groups\":");
  cf_buf_puts(b, u->groups && *u->groups == '[' ? u->groups : "[]");
  api_json_bool(b, "canSignIn", u->password_hash != NULL, false);
  api_json_time(b, "created", u->created_ms, false);
  cf_buf_putc(b, '}');
}

/* Every group named in the JSON array must exist. */
static int groups_exist(const struct cf_store_ops *ops, struct cf_store *st, const char *groups, struct cf_error *err) {
  struct json_object *a = cf_json_parse(groups, strlen(groups), err);
  int rc = CF_OK;
  for (size_t i = 0; a && i < json_object_array_length(a) && !rc; i++) {
    const char *g = json_object_get_string(json_object_array_get_idx(a, i));
    struct cf_store_group sg;
    memset(&sg, 0, sizeof sg);
    rc = ops->group_get(st, g, &sg, err);
    cf_store_group_release(&sg);
    if (rc == CF_ENOTFOUND) rc = cf_error_set(err, CF_EINVAL, "there is no group named '%s' (create it first)", g);
  }
  if (a) json_object_put(a);
  return rc;
}

static int user_run(struct cf_runtime *rt, struct api_cmd *c, struct cf_error *err) {
  struct user_cmd *k = (struct user_cmd *)c;
  const struct cf_store_ops *ops;
  struct cf_store *st;
  store_of(rt, &ops, &st);
  int rc;
  if (k->kind == 2) {
    rc = ops->user_delete(st, k->u.name, err);
    if (rc == CF_ENOTFOUND) return cf_error_set(err, CF_ENOTFOUND, "no user named '%s'", k->u.name);
    return rc;
  }
  if (k->u.groups && (rc = groups_exist(ops, st, k->u.groups, err))) return rc;
  if (k->kind == 0) {
    k->u.created_ms = cf_runtime_now(rt);
    rc = ops->user_put(st, &k->u, true, err);
    if (rc == CF_ECONFLICT) return cf_error_set(err, CF_ECONFLICT, "a user named '%s' exists already", k->u.name);
    return rc;
  }
  struct cf_store_user cur;
  memset(&cur, 0, sizeof cur);
  rc = ops->user_get(st, k->u.name, &cur, err);
  if (rc == CF_ENOTFOUND) return cf_error_set(err, CF_ENOTFOUND, "no user named '%s'", k->u.name);
  if (rc) return rc;
  /* Unchanged fields keep their values. */
#define KEEP(field, set)      \
  if (!k->set) {              \
    cf_free(k->u.field);      \
    k->u.field = cur.field;   \
    cur.field = NULL;         \
  }
  KEEP(password_hash, set_password)
  KEEP(role, set_role)
  KEEP(display_name, set_display)
  KEEP(groups, set_groups)
#undef KEEP
  k->u.created_ms = cur.created_ms;
  cf_store_user_release(&cur);
  return ops->user_put(st, &k->u, false, err);
}

static bool user_answer(struct api_cmd *c) {
  struct user_cmd *k = (struct user_cmd *)c;
  write_user(&c->reply.res->body, &k->u);
  c->reply.res->status = k->kind == 0 ? 201 : 200;
  c->reply.res->content_type = "application/json";
  return true;
}

/* Reads a user body into k (create: name and role required). */
static bool user_body(struct api_ctx *c, struct json_object *body, struct user_cmd *k, bool create) {
  const char *name = NULL, *role = NULL, *display = NULL, *password = NULL;
  if (!api_get_string(c, body, "name", &name) || !api_get_string(c, body, "role", &role) ||
      !api_get_string(c, body, "displayName", &display) || !api_get_string(c, body, "password", &password))
    return false;
  if (create) {
    if (!name_ok(name))
      return api_bad(c, "The value for name must be 1 to %d letters, digits or ._@+-.", NAME_MAX_LEN), false;
    if (!(k->u.name = cf_strdup(name))) return api_fail(c, 500, "INTERNAL", "out of memory"), false;
  } else if (!(k->u.name = cf_strdup(c->param))) {
    return api_fail(c, 500, "INTERNAL", "out of memory"), false;
  }
  if (role || create) {
    if (api_role_parse(role) == ROLE_NONE)
      return api_bad(c, "The value for role is '%.40s' but must be one of admin, designer, agent, worker, viewer.",
                     role ? role : ""),
             false;
    if (!(k->u.role = cf_strdup(role))) return api_fail(c, 500, "INTERNAL", "out of memory"), false;
    k->set_role = true;
  }
  if (display) {
    if (!(k->u.display_name = cf_strdup(display))) return api_fail(c, 500, "INTERNAL", "out of memory"), false;
    k->set_display = true;
  }
  if (password) {
    if (strlen(password) < 8) return api_bad(c, "The password must have at least 8 characters."), false;
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE))
      return api_fail(c, 503, "RESOURCE_EXHAUSTED", "not enough memory to hash the password now"), false;
    if (!(k->u.password_hash = cf_strdup(hash))) return api_fail(c, 500, "INTERNAL", "out of memory"), false;
    k->set_password = true;
  }
  struct json_object *groups = NULL;
  if (json_object_object_get_ex(body, "groups", &groups) && groups) {
    if (!json_object_is_type(groups, json_type_array)) return api_bad(c, "The value for groups must be an array."), false;
    for (size_t i = 0; i < json_object_array_length(groups); i++) {
      struct json_object *g = json_object_array_get_idx(groups, i);
      if (!g || !json_object_is_type(g, json_type_string) || !name_ok(json_object_get_string(g)))
        return api_bad(c, "groups[%zu] must be a group name.", i), false;
    }
    if (!(k->u.groups = cf_strdup(json_object_to_json_string_ext(groups, JSON_C_TO_STRING_PLAIN))))
      return api_fail(c, 500, "INTERNAL", "out of memory"), false;
    k->set_groups = true;
  } else if (create && !(k->u.groups = cf_strdup("[]"))) {
    return api_fail(c, 500, "INTERNAL", "out of memory"), false;
  }
  return true;
}

static bool user_endpoint(struct api_ctx *c, int kind) {
  struct user_cmd *k = cf_calloc(1, sizeof *k);
  if (!k) return api_fail(c, 500, "INTERNAL", "out of memory");
  k->kind = kind;
  if (kind == 2) {
    if (!(k->u.name = cf_strdup(c->param))) {
      user_release(&k->cmd);
      return api_fail(c, 500, "INTERNAL", "out of memory");
    }
  } else {
    struct json_object *body = api_body(c, false);
    bool ok = body && user_body(c, body, k, kind == 0);
    if (body) json_object_put(body);
    if (!ok) {
      user_release(&k->cmd);
      return true;
    }
    k->cmd.answer = user_answer;
  }
  k->cmd.run = user_run;
  k->cmd.release = user_release;
  return api_cmd_submit(c, &k->cmd);
}

bool api_h_user_create(struct api_ctx *c) { return user_endpoint(c, 0); }
bool api_h_user_update(struct api_ctx *c) { return user_endpoint(c, 1); }
bool api_h_user_delete(struct api_ctx *c) { return user_endpoint(c, 2); }

bool api_h_user_list(struct api_ctx *c) {
  struct api_reader *r = api_reader_for(c);
  if (!r) return true;
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_store_user *u = NULL;
  size_t n = 0;
  int rc = r->ops->user_list(r->st, &u, &n, &err);
  api_reader_put(c->api, r);
  if (rc) return api_error_problem(c->res, &err, c->req->path), true;
  struct cf_buf *b = &c->res->body;
  cf_buf_puts(b, "{\"items\":[");
  for (size_t i = 0; i < n; i++) {
    if (i) cf_buf_putc(b, ',');
    write_user(b, &u[i]);
    cf_store_user_release(&u[i]);
  }
  cf_free(u);
  cf_buf_puts(b, "]}");
  return api_ok_json(c);
}

bool api_h_user_get(struct api_ctx *c) {
  struct api_reader *r = api_reader_for(c);
  if (!r) return true;
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_store_user u;
  memset(&u, 0, sizeof u);
  int rc = r->ops->user_get(r->st, c->param, &u, &err);
  api_reader_put(c->api, r);
  if (rc == CF_ENOTFOUND) api_fail(c, 404, "NOT_FOUND", "No user named '%.100s'.", c->param);
  else if (rc) api_error_problem(c->res, &err, c->req->path);
  else {
    write_user(&c->res->body, &u);
    api_ok_json(c);
  }
  cf_store_user_release(&u);
  return true;
}

/* ------------------------------------------------------------ groups */

struct group_cmd {
  struct api_cmd cmd;
  struct cf_store_group g;
  bool del;
};

static void group_release(struct api_cmd *c) {
  struct group_cmd *k = (struct group_cmd *)c;
  cf_store_group_release(&k->g);
  cf_free(k);
}

static int group_run(struct cf_runtime *rt, struct api_cmd *c, struct cf_error *err) {
  struct group_cmd *k = (struct group_cmd *)c;
  const struct cf_store_ops *ops;
  struct cf_store *st;
  store_of(rt, &ops, &st);
  int rc;
  if (k->del) {
    rc = ops->group_delete(st, k->g.name, err);
    if (rc == CF_ENOTFOUND) return cf_error_set(err, CF_ENOTFOUND, "no group named '%s'", k->g.name);
    return rc;
  }
  k->g.created_ms = cf_runtime_now(rt);
  rc = ops->group_put(st, &k->g, true, err);
  if (rc == CF_ECONFLICT) return cf_error_set(err, CF_ECONFLICT, "a group named '%s' exists already", k->g.name);
  return rc;
}

static void write_group(struct cf_buf *b, const struct cf_store_group *g) {
  cf_buf_putc(b, '{');
  api_json_str(b, "name", g->name, true);
  if (g->display_name) api_json_str(b, "displayName", g->display_name, false);
  api_json_time(b, "created", g->created_ms, false);
}

static bool group_answer(struct api_cmd *c) {
  struct group_cmd *k = (struct group_cmd *)c;
  write_group(&c->reply.res->body, &k->g);
  cf_buf_putc(&c->reply.res->body, '}');
  c->reply.res->status = 201;
  c->reply.res->content_type = "application/json";
  return true;
}

bool api_h_group_create(struct api_ctx *c) {
  struct json_object *body = api_body(c, false);
  if (!body) return true;
  const char *name = NULL, *display = NULL;
  struct group_cmd *k = NULL;
  bool answered = false;
  if (!api_get_string(c, body, "name", &name) || !api_get_string(c, body, "displayName", &display))
    answered = true;
  else if (!name_ok(name))
    answered = api_bad(c, "The value for name must be 1 to %d letters, digits or ._@+-.", NAME_MAX_LEN);
  else if (!(k = cf_calloc(1, sizeof *k)) || !(k->g.name = cf_strdup(name)) ||
           (display && !(k->g.display_name = cf_strdup(display))))
    answered = api_fail(c, 500, "INTERNAL", "out of memory");
  json_object_put(body);
  if (answered) {
    if (k) group_release(&k->cmd);
    return true;
  }
  k->cmd.run = group_run;
  k->cmd.answer = group_answer;
  k->cmd.release = group_release;
  return api_cmd_submit(c, &k->cmd);
}

bool api_h_group_delete(struct api_ctx *c) {
  struct group_cmd *k = cf_calloc(1, sizeof *k);
  if (!k || !(k->g.name = cf_strdup(c->param))) {
    if (k) group_release(&k->cmd);
    return api_fail(c, 500, "INTERNAL", "out of memory");
  }
  k->del = true;
  k->cmd.run = group_run;
  k->cmd.release = group_release;
  return api_cmd_submit(c, &k->cmd);
}

bool api_h_group_list(struct api_ctx *c) {
  struct api_reader *r = api_reader_for(c);
  if (!r) return true;
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_store_group *g = NULL;
  size_t n = 0;
  int rc = r->ops->group_list(r->st, &g, &n, &err);
  api_reader_put(c->api, r);
  if (rc) return api_error_problem(c->res, &err, c->req->path), true;
  struct cf_buf *b = &c->res->body;
  cf_buf_puts(b, "{\"items\":[");
  for (size_t i = 0; i < n; i++) {
    if (i) cf_buf_putc(b, ',');
    write_group(b, &g[i]);
    cf_buf_putc(b, '}');
    cf_store_group_release(&g[i]);
  }
  cf_free(g);
  cf_buf_puts(b, "]}");
  return api_ok_json(c);
}

/* A group with its members (the users whose groups name it). */
bool api_h_group_get(struct api_ctx *c) {
  struct api_reader *r = api_reader_for(c);
  if (!r) return true;
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_store_group g;
  memset(&g, 0, sizeof g);
  int rc = r->ops->group_get(r->st, c->param, &g, &err);
  struct cf_store_user *u = NULL;
  size_t n = 0;
  if (!rc) rc = r->ops->user_list(r->st, &u, &n, &err);
  api_reader_put(c->api, r);
  if (rc == CF_ENOTFOUND) api_fail(c, 404, "NOT_FOUND", "No group named '%.100s'.", c->param);
  else if (rc) api_error_problem(c->res, &err, c->req->path);
  else {
    struct cf_buf *b = &c->res->body;
    write_group(b, &g);
    cf_buf_puts(b, ",\"members\":[");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
      char needle[160];
      snprintf(needle, sizeof needle, "\"%s\"", g.name);
      if (u[i].groups && strstr(u[i].groups, needle)) {
        if (k++) cf_buf_putc(b, ',');
        cf_buf_json_string(b, u[i].name, strlen(u[i].name));
      }
    }
    cf_buf_puts(b, "]}");
    api_ok_json(c);
  }
  for (size_t i = 0; i < n; i++) cf_store_user_release(&u[i]);
  cf_free(u);
  cf_store_group_release(&g);
  return true;
}

/* ------------------------------------------------------------ history */

bool api_h_history(struct api_ctx *c) {
  uint64_t key;
  if (!api_path_key(c, &key)) return true;
  struct api_reader *r = api_reader_for(c);
  if (!r) return true;
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_store_event *ev = NULL;
  size_t n = 0;
  int rc = r->ops->history_list(r->st, key, &ev, &n, &err);
  api_reader_put(c->api, r);
  if (rc) return api_error_problem(c->res, &err, c->req->path), true;
  if (!n) return api_fail(c, 404, "NOT_FOUND", "No history for a process instance with key %s.", c->param);
  struct cf_buf *b = &c->res->body;
  cf_buf_puts(b, "{\"items\":[");
  for (size_t i = 0; i < n; i++) {
    cf_buf_puts(b, i ? ",{" : "{");
    api_json_time(b, "at", ev[i].at_ms, true);
    api_json_str(b, "kind", ev[i].kind, false);
    api_json_key(b, "key", ev[i].key, false);
    if (ev[i].element_id) api_json_str(b, "elementId", ev[i].element_id, false);
    if (ev[i].detail) api_json_str(b, "detail", ev[i].detail, false);
    if (ev[i].actor) api_json_str(b, "actor", ev[i].actor, false);
    if (ev[i].variables && *ev[i].variables) {
      cf_buf_puts(b, ",\"variables\":");
      cf_buf_puts(b, ev[i].variables);
    }
    cf_buf_putc(b, '}');
    cf_store_event_release(&ev[i]);
  }
  cf_free(ev);
  cf_buf_printf(b, "],\"processInstanceKey\":\"%" PRIu64 "\"}", key);
  return api_ok_json(c);
}
