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
  if (hit) return true;

  const char *why = "refused";
  struct cf_error err;
  cf_error_clear(&err);
  int rc = resolve(api, h, &c->who, &why, &err);
  if (rc == CF_ENOTFOUND) {
    api_fail(c, 401, "UNAUTHORIZED", "%s.", why);
    c->res->www_authenticate = strncmp(h, "Basic ", 6) ? "Bearer" : "Basic realm=\"crmflow\", charset=\"UTF-8\"";
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
  return true;
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
