/*
 * Authentication and roles.
 *
 * Tokens: 32 random bytes, shown once as "cft_" + base64url; the store
 * keeps only their BLAKE2b-256 digest, so a stolen database yields no
 * usable token. A request's `Authorization: Bearer <token>` is digested and
 * looked up; `Authorization: Basic` checks a user's argon2id password
 * (libsodium's crypto_pwhash_str). Both answers are cached for a few
 * seconds under a keyed digest of the whole header (a password check costs
 * tens of milliseconds by design, and a hot path must not pay it per
 * request); a token deleted or a user changed is refused at the latest
 * AUTH_CACHE_MS later.
 *
 * Roles (who may call what) are in api_allowed; an agent's tasks are those
 * assigned to it, or offered to it or one of its groups.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "base/cf_alloc.h"
#include "base/cf_json.h"

#define AUTH_CACHE_MS 2000

static const char *const role_names[] = {"", "viewer", "worker", "agent", "designer", "admin"};

const char *api_role_name(enum api_role r) { return r <= ROLE_ADMIN ? role_names[r] : ""; }

enum api_role api_role_parse(const char *s) {
  for (int r = ROLE_VIEWER; r <= ROLE_ADMIN; r++)
    if (s && !strcmp(s, role_names[r])) return (enum api_role)r;
  return ROLE_NONE;
}

bool api_allowed(const struct api_principal *p, enum api_perm perm) {
  enum api_role r = p->role;
  switch (perm) {
  case PERM_OPEN: return true;
  case PERM_SELF: return r != ROLE_NONE;
  case PERM_READ: return r == ROLE_ADMIN || r == ROLE_DESIGNER || r == ROLE_VIEWER;
  case PERM_TASK_READ: return r == ROLE_ADMIN || r == ROLE_DESIGNER || r == ROLE_VIEWER || r == ROLE_AGENT;
  case PERM_TASK: return r == ROLE_ADMIN || r == ROLE_AGENT;
  case PERM_JOB: return r == ROLE_ADMIN || r == ROLE_WORKER;
  case PERM_DEPLOY:
  case PERM_OPERATE: return r == ROLE_ADMIN || r == ROLE_DESIGNER;
  case PERM_ADMIN: return r == ROLE_ADMIN;
  case PERM_RECORDS_READ: return r == ROLE_ADMIN || r == ROLE_DESIGNER || r == ROLE_AGENT || r == ROLE_VIEWER;
  case PERM_RECORDS: return r == ROLE_ADMIN || r == ROLE_DESIGNER || r == ROLE_AGENT;
  case PERM_DESIGN: return r == ROLE_ADMIN || r == ROLE_DESIGNER;
  }
  return false;
}

/* Whether the JSON array text holds the string s. */
static bool array_holds(const char *json, const char *s) {
  if (!json || !*s) return false;
  struct cf_error err;
  struct json_object *a = cf_json_parse(json, strlen(json), &err);
  bool found = false;
  if (a && json_object_is_type(a, json_type_array))
    for (size_t i = 0; i < json_object_array_length(a) && !found; i++) {
      struct json_object *e = json_object_array_get_idx(a, i);
      found = e && json_object_is_type(e, json_type_string) && !strcmp(json_object_get_string(e), s);
    }
  if (a) json_object_put(a);
  return found;
}

bool api_task_mine(const struct api_principal *p, const char *assignee, const char *candidate_users,
                   const char *candidate_groups) {
  if (p->role != ROLE_AGENT) return true;
  const char *me = p->user[0] ? p->user : p->name;
  if (assignee && !strcmp(assignee, me)) return true;
  if (assignee && *assignee) return false; /* another agent's */
  if (array_holds(candidate_users, me)) return true;
  for (size_t i = 0; i < p->ngroups; i++)
    if (array_holds(candidate_groups, p->groups[i])) return true;
  return false;
}

/* ------------------------------------------------------------ tokens */

void cf_api_token_hash(const char *secret, char out[65]) {
  unsigned char d[32];
  crypto_generichash(d, sizeof d, (const unsigned char *)secret, strlen(secret), NULL, 0);
  sodium_bin2hex(out, 65, d, sizeof d);
}

void cf_api_token_new(char out[48]) {
  unsigned char r[32];
  randombytes_buf(r, sizeof r);
  memcpy(out, "cft_", 4);
  sodium_bin2base64(out + 4, 44, r, sizeof r, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* ------------------------------------------------------------ principals */

/* Fills p's groups from a user's JSON array. */
static void take_groups(struct api_principal *p, const char *json) {
  p->ngroups = 0;
  if (!json) return;
  struct cf_error err;
  struct json_object *a = cf_json_parse(json, strlen(json), &err);
  if (a && json_object_is_type(a, json_type_array))
    for (size_t i = 0; i < json_object_array_length(a) && p->ngroups < API_MAX_GROUPS; i++) {
      struct json_object *e = json_object_array_get_idx(a, i);
      if (e && json_object_is_type(e, json_type_string))
        snprintf(p->groups[p->ngroups++], sizeof p->groups[0], "%s", json_object_get_string(e));
    }
  if (a) json_object_put(a);
}

/* Resolves a header in the store: CF_OK and *who, CF_ENOTFOUND (refused: *why says why), or an error. */
static int resolve(struct cf_api *api, const char *header, struct api_principal *who, const char **why,
                   struct cf_error *err) {
  memset(who, 0, sizeof *who);
  struct api_reader *r;
  int rc = api_reader_get(api, &r, err);
  if (rc) return rc;
  if (!strncmp(header, "Bearer ", 7)) {
    const char *secret = header + 7;
    while (*secret == ' ') secret++;
    char hash[65];
    cf_api_token_hash(secret, hash);
    struct cf_store_token t;
    memset(&t, 0, sizeof t);
    rc = r->ops->token_by_hash(r->st, hash, &t, err);
    if (rc == CF_ENOTFOUND) *why = "the bearer token is not valid (unknown or deleted)";
    if (!rc) {
      who->role = api_role_parse(t.role);
      snprintf(who->name, sizeof who->name, "%s", t.name);
      if (t.user) {
        snprintf(who->user, sizeof who->user, "%s", t.user);
        struct cf_store_user u;
        memset(&u, 0, sizeof u);
        int urc = r->ops->user_get(r->st, t.user, &u, err);
        if (!urc) take_groups(who, u.groups);
        else if (urc != CF_ENOTFOUND) rc = urc;
        cf_store_user_release(&u);
      }
    }
    cf_store_token_release(&t);
  } else if (!strncmp(header, "Basic ", 6)) {
    const char *b64 = header + 6;
    unsigned char plain[512];
    size_t n = 0;
    if (sodium_base642bin(plain, sizeof plain - 1, b64, strlen(b64), NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL)) {
      *why = "the Basic credentials are not base64";
      rc = CF_ENOTFOUND;
    } else {
      plain[n] = '\0';
      char *colon = strchr((char *)plain, ':');
      if (!colon) {
        *why = "the Basic credentials have no ':' between user and password";
        rc = CF_ENOTFOUND;
      } else {
        *colon = '\0';
        struct cf_store_user u;
        memset(&u, 0, sizeof u);
        rc = r->ops->user_get(r->st, (char *)plain, &u, err);
        if (!rc && (!u.password_hash || crypto_pwhash_str_verify(u.password_hash, colon + 1, strlen(colon + 1))))
          rc = CF_ENOTFOUND;
        if (rc == CF_ENOTFOUND) *why = "wrong user name or password";
        if (!rc) {
          who->role = api_role_parse(u.role);
          snprintf(who->name, sizeof who->name, "%s", u.name);
          snprintf(who->user, sizeof who->user, "%s", u.name);
          take_groups(who, u.groups);
        }
        cf_store_user_release(&u);
      }
      sodium_memzero(plain, sizeof plain);
    }
  } else {
    *why = "the Authorization header must be 'Bearer <token>' or 'Basic <credentials>'";
    rc = CF_ENOTFOUND;
  }
  api_reader_put(api, r);
  if (!rc && who->role == ROLE_NONE) {
    *why = "the credentials carry no known role";
    rc = CF_ENOTFOUND;
  }
  return rc;
}

#define COOKIE "crmflow_session"
static bool cookie_value(const char *header, char *out, size_t len);
static int resolve_cookie(struct cf_api *api, const char *cookie, struct api_principal *who, const char **why,
                          struct cf_error *err);

/* A change made with a session cookie must carry the session's CSRF token (X-CSRF-Token). */
static bool csrf_checked(struct api_ctx *c) {
  if (!c->who.csrf[0]) return true;
  const char *m = c->req->method ? c->req->method : "";
  if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) return true;
  const char *t = c->req->csrf;
  if (t && strlen(t) == 64 && !sodium_memcmp(t, c->who.csrf, 64)) return true;
  api_fail(c, 403, "FORBIDDEN", "A change made with a session cookie needs the session's X-CSRF-Token header.");
  return false;
}

bool api_authenticate(struct api_ctx *c) {
  struct cf_api *api = c->api;
  if (api->no_auth) {
    memset(&c->who, 0, sizeof c->who);
    c->who.role = ROLE_ADMIN;
    snprintf(c->who.name, sizeof c->who.name, "anonymous");
    return true;
  }
  const char *h = c->req->authorization;
  while (h && *h == ' ') h++;
  /* No Authorization: the web UI's session cookie, when there is one. */
  char cookie[400], cookie_header[420];
  bool by_cookie = false;
  if ((!h || !*h) && c->req->cookie && cookie_value(c->req->cookie, cookie, sizeof cookie)) {
    snprintf(cookie_header, sizeof cookie_header, "Cookie %s", cookie);
    h = cookie_header;
    by_cookie = true;
  }
  if (!h || !*h) {
    api_fail(c, 401, "UNAUTHORIZED", "No credentials provided: send 'Authorization: Bearer <token>' "
                                     "(crmflow token create) or Basic credentials of a user.");
    c->res->www_authenticate = "Bearer";
    return false;
  }
  unsigned char d[32];
  crypto_generichash(d, sizeof d, (const unsigned char *)h, strlen(h), api->auth_key, sizeof api->auth_key);
  char digest[65];
  sodium_bin2hex(digest, sizeof digest, d, sizeof d);
  uint64_t hv;
  memcpy(&hv, d, sizeof hv);
  if (!hv) hv = 1;
  struct api_auth_slot *slot = &api->auth[hv % API_AUTH_SLOTS];
  int64_t now = api_now(api);
  pthread_mutex_lock(&api->mu);
  bool hit = slot->hash == hv && !strcmp(slot->digest, digest) && slot->until_ms > now;
  if (hit) c->who = slot->who;
  pthread_mutex_unlock(&api->mu);
  if (hit) return csrf_checked(c);

  const char *why = "refused";
  struct cf_error err;
  cf_error_clear(&err);
  int rc = by_cookie ? resolve_cookie(api, cookie, &c->who, &why, &err) : resolve(api, h, &c->who, &why, &err);
  if (rc == CF_ENOTFOUND) {
    api_fail(c, 401, "UNAUTHORIZED", "%s.", why);
    /* A browser's session that ended gets no challenge (no password dialog): the UI signs in again. */
    c->res->www_authenticate = by_cookie                   ? NULL
                               : strncmp(h, "Basic ", 6) ? "Bearer"
                                                         : "Basic realm=\"crmflow\", charset=\"UTF-8\"";
    if (by_cookie) snprintf(c->res->set_cookie, sizeof c->res->set_cookie,
                            COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    return false;
  }
  if (rc) {
    api_error_problem(c->res, &err, c->req->path);
    return false;
  }
  pthread_mutex_lock(&api->mu);
  slot->hash = hv;
  memcpy(slot->digest, digest, sizeof slot->digest);
  slot->until_ms = now + AUTH_CACHE_MS;
  slot->who = c->who;
  pthread_mutex_unlock(&api->mu);
  return csrf_checked(c);
}

int api_auth_init(struct cf_api *api) {
  if (sodium_init() < 0) return CF_EINTERNAL;
  randombytes_buf(api->auth_key, sizeof api->auth_key);
  api->auth = cf_calloc(API_AUTH_SLOTS, sizeof *api->auth);
  return api->auth ? CF_OK : CF_ENOMEM;
}

void api_auth_free(struct cf_api *api) {
  if (api->auth) sodium_memzero(api->auth, API_AUTH_SLOTS * sizeof *api->auth);
  cf_free(api->auth);
  api->auth = NULL;
}

/* ------------------------------------------------------------ web UI sessions */

/*
 * A session is a signed cookie, not a row: crmflow_session=USER.ISSUED.EXPIRES.MAC with USER in
 * base64url, the times in epoch ms, MAC = HMAC-SHA256(session key, "USER.ISSUED.EXPIRES") in hex.
 * The key is stored (crm_state "ui.session_key"), so every node and every restart accepts the
 * sessions it signed. Signing out sets "session.after.USER" to now: every cookie of that user issued
 * before is refused from then on (within the 2-second cache). The CSRF token is
 * HMAC(key, "csrf." + cookie): a page of our own reads it from the sign-in answer or /v2/crm/me and
 * sends it as X-CSRF-Token with every change; another site's form cannot know it.
 */
static int state_op(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  char **kv = arg;
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  char *cur = NULL;
  int rc = ops->crm_state_get(st, kv[0], &cur, err);
  if (rc) return rc;
  if (cur && kv[2]) { /* put only when absent: the first node's key wins */
    cf_free(cur);
    return CF_OK;
  }
  cf_free(cur);
  return ops->crm_state_put(st, kv[0], kv[1], err);
}

int api_session_init(struct cf_api *api, struct cf_error *err) {
  struct api_reader *r;
  int rc = api_reader_get(api, &r, err);
  if (rc) return rc;
  char *hex = NULL;
  rc = r->ops->crm_state_get(r->st, "ui.session_key", &hex, err);
  if (!rc && !hex && api->writer) {
    unsigned char k[32];
    char kh[65];
    randombytes_buf(k, sizeof k);
    sodium_bin2hex(kh, sizeof kh, k, sizeof k);
    char *kv[3] = {"ui.session_key", kh, "absent-only"};
    rc = cf_runtime_writer_submit(api->writer, state_op, kv, err);
    sodium_memzero(k, sizeof k);
    if (!rc) rc = r->ops->crm_state_get(r->st, "ui.session_key", &hex, err);
  }
  api_reader_put(api, r);
  if (rc) {
    /* An older schema without crm_state cannot hold sessions: sign-in is refused, nothing else. */
    cf_error_clear(err);
    return CF_OK;
  }
  if (hex && strlen(hex) == 64 && !sodium_hex2bin(api->session_key, sizeof api->session_key, hex, 64, NULL, NULL, NULL))
    api->session_key_ok = true;
  else if (!hex) {
    /* No writer (a reader-only API): sessions live as long as this process. */
    randombytes_buf(api->session_key, sizeof api->session_key);
    api->session_key_ok = true;
  }
  if (hex) sodium_memzero(hex, strlen(hex));
  cf_free(hex);
  return CF_OK;
}

static void mac_hex(const struct cf_api *api, const char *msg, char out[65]) {
  unsigned char m[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, api->session_key, sizeof api->session_key);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, strlen(msg));
  crypto_auth_hmacsha256_final(&st, m);
  sodium_bin2hex(out, 65, m, sizeof m);
}

static void csrf_of(const struct cf_api *api, const char *cookie, char out[65]) {
  char msg[420];
  snprintf(msg, sizeof msg, "csrf.%s", cookie);
  mac_hex(api, msg, out);
}

/* The session cookie's value in a Cookie header, into out; false when there is none. */
static bool cookie_value(const char *header, char *out, size_t len) {
  for (const char *p = header; p && *p;) {
    while (*p == ' ' || *p == ';') p++;
    size_t n = strcspn(p, ";");
    if (n > strlen(COOKIE) && !strncmp(p, COOKIE "=", strlen(COOKIE) + 1)) {
      size_t v = n - strlen(COOKIE) - 1;
      if (v >= len) return false;
      memcpy(out, p + strlen(COOKIE) + 1, v);
      out[v] = '\0';
      return true;
    }
    p += n;
  }
  return false;
}

/* Checks a cookie; fills user (the name) and the issue time. */
static bool cookie_ok(const struct cf_api *api, const char *cookie, int64_t now, char user[128], int64_t *issued) {
  if (!api->session_key_ok) return false;
  char copy[400];
  snprintf(copy, sizeof copy, "%s", cookie);
  char *dot3 = strrchr(copy, '.');
  if (!dot3) return false;
  *dot3 = '\0';
  char mac[65];
  mac_hex(api, copy, mac);
  if (strlen(dot3 + 1) != 64 || sodium_memcmp(mac, dot3 + 1, 64)) return false;
  char *dot1 = strchr(copy, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
  if (!dot1 || !dot2) return false;
  *dot1 = *dot2 = '\0';
  int64_t iss = strtoll(dot1 + 1, NULL, 10), exp = strtoll(dot2 + 1, NULL, 10);
  if (exp <= now) return false;
  size_t n = 0;
  unsigned char name[128];
  if (sodium_base642bin(name, sizeof name - 1, copy, strlen(copy), NULL, &n, NULL,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING))
    return false;
  name[n] = '\0';
  snprintf(user, 128, "%s", (char *)name);
  *issued = iss;
  return true;
}

/* A principal from a session cookie: the user's role and groups as stored now. CF_ENOTFOUND: refused. */
static int resolve_cookie(struct cf_api *api, const char *cookie, struct api_principal *who, const char **why,
                          struct cf_error *err) {
  memset(who, 0, sizeof *who);
  char user[128];
  int64_t issued;
  if (!cookie_ok(api, cookie, api_now(api), user, &issued)) {
    *why = "the session is not valid or has ended: sign in again";
    return CF_ENOTFOUND;
  }
  struct api_reader *r;
  int rc = api_reader_get(api, &r, err);
  if (rc) return rc;
  struct cf_store_user u;
  memset(&u, 0, sizeof u);
  rc = r->ops->user_get(r->st, user, &u, err);
  char name[200], *after = NULL;
  snprintf(name, sizeof name, "session.after.%s", user);
  if (!rc) rc = r->ops->crm_state_get(r->st, name, &after, err);
  api_reader_put(api, r);
  if (rc == CF_ENOTFOUND) *why = "the session's user no longer exists";
  else if (!rc && after && issued <= strtoll(after, NULL, 10)) {
    *why = "the session was signed out: sign in again";
    rc = CF_ENOTFOUND;
  }
  if (!rc) {
    who->role = api_role_parse(u.role);
    snprintf(who->name, sizeof who->name, "%s", u.name);
    snprintf(who->user, sizeof who->user, "%s", u.name);
    take_groups(who, u.groups);
    csrf_of(api, cookie, who->csrf);
  }
  cf_free(after);
  cf_store_user_release(&u);
  return rc;
}

bool api_h_session_create(struct api_ctx *c) {
  struct json_object *body = api_body(c, false);
  if (!body) return true;
  const char *user = NULL, *password = NULL;
  if (!api_get_string(c, body, "username", &user) || !api_get_string(c, body, "password", &password)) {
    json_object_put(body);
    return true;
  }
  if (!user || !*user || !password) {
    json_object_put(body);
    return api_bad(c, "No username or password provided.");
  }
  if (!c->api->session_key_ok) {
    json_object_put(body);
    return api_fail(c, 503, "UNAVAILABLE", "This server cannot sign sessions (its database has no place for the key).");
  }
  struct api_reader *r = api_reader_for(c);
  if (!r) {
    json_object_put(body);
    return true;
  }
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_store_user u;
  memset(&u, 0, sizeof u);
  int rc = r->ops->user_get(r->st, user, &u, &err);
  api_reader_put(c->api, r);
  bool ok = !rc && u.password_hash && !crypto_pwhash_str_verify(u.password_hash, password, strlen(password));
  json_object_put(body);
  if (rc && rc != CF_ENOTFOUND) {
    cf_store_user_release(&u);
    return api_error_problem(c->res, &err, c->req->path), true;
  }
  if (!ok) {
    cf_store_user_release(&u);
    return api_fail(c, 401, "UNAUTHORIZED", "Wrong user name or password.");
  }
  int64_t now = api_now(c->api), exp = now + c->api->session_ms;
  char b64[200], msg[300], mac[65], cookie[400];
  sodium_bin2base64(b64, sizeof b64, (const unsigned char *)u.name, strlen(u.name),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  snprintf(msg, sizeof msg, "%s.%lld.%lld", b64, (long long)now, (long long)exp);
  mac_hex(c->api, msg, mac);
  snprintf(cookie, sizeof cookie, "%s.%s", msg, mac);
  snprintf(c->res->set_cookie, sizeof c->res->set_cookie, COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld",
           cookie, (long long)(c->api->session_ms / 1000));
  struct api_principal who;
  memset(&who, 0, sizeof who);
  take_groups(&who, u.groups);
  char csrf[65];
  csrf_of(c->api, cookie, csrf);
  struct cf_buf *b = &c->res->body;
  cf_buf_puts(b, "{");
  api_json_str(b, "user", u.name, true);
  api_json_str(b, "role", u.role, false);
  cf_buf_puts(b, ",\"groups\":[");
  for (size_t i = 0; i < who.ngroups; i++) {
    if (i) cf_buf_putc(b, ',');
    cf_buf_json_string(b, who.groups[i], strlen(who.groups[i]));
  }
  cf_buf_puts(b, "]");
  api_json_str(b, "csrfToken", csrf, false);
  cf_buf_putc(b, '}');
  cf_store_user_release(&u);
  return api_ok_json(c);
}

struct signout_cmd {
  struct api_cmd cmd;
  char name[200], value[32];
};

static void signout_release(struct api_cmd *c) { cf_free(c); }

static int signout_run(struct cf_runtime *rt, struct api_cmd *c, struct cf_error *err) {
  struct signout_cmd *k = (struct signout_cmd *)c;
  char *kv[3] = {k->name, k->value, NULL};
  return state_op(rt, kv, err);
}

static bool signout_answer(struct api_cmd *c) {
  c->reply.res->status = 204;
  snprintf(c->reply.res->set_cookie, sizeof c->reply.res->set_cookie,
           COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  return true;
}

/* Signs the user out: the cookie cleared, and every session of the user issued until now refused. */
bool api_h_session_delete(struct api_ctx *c) {
  if (!c->who.user[0]) {
    snprintf(c->res->set_cookie, sizeof c->res->set_cookie, COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    return api_no_content(c);
  }
  struct signout_cmd *k = cf_calloc(1, sizeof *k);
  if (!k) return api_fail(c, 500, "INTERNAL", "out of memory");
  snprintf(k->name, sizeof k->name, "session.after.%s", c->who.user);
  snprintf(k->value, sizeof k->value, "%lld", (long long)api_now(c->api));
  k->cmd.run = signout_run;
  k->cmd.answer = signout_answer;
  k->cmd.release = signout_release;
  /* The cached principal of this cookie must not outlive the sign-out. */
  pthread_mutex_lock(&c->api->mu);
  for (size_t i = 0; i < API_AUTH_SLOTS; i++)
    if (c->api->auth[i].hash && !strcmp(c->api->auth[i].who.user, c->who.user)) c->api->auth[i].hash = 0;
  pthread_mutex_unlock(&c->api->mu);
  return api_cmd_submit(c, &k->cmd);
}
