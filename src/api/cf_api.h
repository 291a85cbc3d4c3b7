/*
 * The API layer: requests in, responses out, as plain data. It knows the
 * endpoints (Camunda 8's `/v2/` subset and crmflow's own under `/v2/crm/`),
 * JSON in and out, authentication and roles, and maps error codes to HTTP
 * statuses with problem+json bodies (RFC 9457). It knows no sockets:
 * src/http/ carries requests to it.
 *
 * Reads run on the calling (HTTP) thread against read-only store handles of
 * the API's own; commands go to the runtime's writer (group commit) without
 * blocking the thread: such a request is answered later, through the done
 * callback, once its batch is durable. Job activation long-polls the same
 * way.
 */
#ifndef CF_API_H
#define CF_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cf_buf.h"
#include "crmflow/cf_error.h"

struct cf_api;
struct cf_runtime;
struct cf_runtime_writer;
struct cf_crm;

struct cf_api_opts {
  const char *version;   /* crmflow's version */
  const char *host;      /* where the server listens (topology's broker) */
  int port;
  const char *db;        /* the database (the API opens read-only handles of its own); NULL: no data endpoints */
  struct cf_runtime *rt; /* the writer's runtime (only its clock is read outside the writer) */
  struct cf_runtime_writer *writer;
  struct cf_crm *crm;    /* records and triggers (/v2/crm/records, /v2/crm/triggers); NULL: none */
  bool no_auth;          /* every request acts as admin (a local trial: `serve --no-auth`) */
  int64_t long_poll_ms;  /* job activation's default long poll (requestTimeout 0); 0: 10000 */
  size_t max_json_depth; /* 0: 64 */
  size_t max_resource;   /* largest deployed resource in bytes; 0: 4 MiB */
  int64_t session_ms;    /* how long a web UI session lasts; 0: 8 hours */
};

struct cf_api_request {
  const char *method;    /* "GET", "POST"... */
  const char *path;      /* without the query */
  const char *query;     /* the decoded query arguments as "k=v&k=v", or NULL */
  const char *body;
  size_t body_len;
  const char *authorization; /* the Authorization header, or NULL */
  const char *content_type;  /* the Content-Type header, or NULL */
  const char *cookie;        /* the Cookie header, or NULL (the web UI's session) */
  const char *csrf;          /* the X-CSRF-Token header, or NULL */
  double started;        /* when the request arrived (CLOCK_MONOTONIC seconds), for the latency histogram */
  /* Whether the client has gone while the request waits (a parked long poll asks before taking
   * jobs for it); callable from any thread until done. NULL: never gone. */
  bool (*gone)(void *arg);
  void *gone_arg;
};

struct cf_api_response {
  int status;
  const char *content_type;  /* static */
  struct cf_buf body;        /* owned: cf_buf_release */
  char allow[64];            /* a 405's Allow header ("GET, POST"), or empty */
  const char *www_authenticate; /* static, or NULL: a 401's WWW-Authenticate */
  const char *cache_control;    /* static, or NULL */
  char set_cookie[512];         /* a Set-Cookie header, or empty */
};

typedef void (*cf_api_done_fn)(void *arg);

int cf_api_new(const struct cf_api_opts *o, struct cf_api **out, struct cf_error *err);
/* Call after the HTTP layer stopped (no request in progress). */
void cf_api_free(struct cf_api *api);

/*
 * Answers one request. Returns true when *res is filled on return. Returns
 * false when the answer comes later: done(done_arg) is then called exactly
 * once, from another thread, after *res is filled; *res must stay valid
 * until then (the request's strings need not: what is needed is copied).
 * Thread-safe. Init *res first with cf_api_response_init.
 */
bool cf_api_handle(struct cf_api *api, const struct cf_api_request *req, struct cf_api_response *res,
                   cf_api_done_fn done, void *done_arg);

/* The writer finished a batch (its on_batch hook): parked long polls and awaited instances look
 * again. Cheap, any thread. */
void cf_api_notify(struct cf_api *api);

/* Answers the long polls still waiting (empty) and refuses new commands: the server is stopping. */
void cf_api_shutdown(struct cf_api *api);

void cf_api_response_init(struct cf_api_response *res);
void cf_api_response_release(struct cf_api_response *res);

/* An RFC 9457 problem body for errors found below the API (the HTTP layer's 413, 408...). */
void cf_api_problem(struct cf_api_response *res, int status, const char *title, const char *detail,
                    const char *instance);

/* Hashes an API token's secret for storage and lookup (hex, 64 characters + NUL). */
void cf_api_token_hash(const char *secret, char out[65]);
/* A new random token secret: "cft_" and 43 base64url characters (+ NUL). */
void cf_api_token_new(char out[48]);

#endif
