/*
 * The API layer: requests in, responses out, as plain data. It knows the
 * endpoints (Camunda 8's `/v2/` subset and crmflow's own), JSON in and out,
 * and maps error codes to HTTP statuses with problem+json bodies (RFC
 * 9457). It knows no sockets: src/http/ carries requests to it.
 *
 * Built so far: the endpoints that answer without authentication
 * (`GET /healthz`, `GET /v2/topology`) and the error shape every other
 * path gets; the rest of issue 6 (deployments, instances, jobs, user
 * tasks, messages, incidents, authentication) plugs into the same table.
 */
#ifndef CF_API_H
#define CF_API_H

#include <stddef.h>

#include "base/cf_buf.h"

struct cf_api;

struct cf_api_opts {
  const char *version;   /* crmflow's version */
  const char *host;      /* where the server listens (topology's broker) */
  int port;
};

struct cf_api_request {
  const char *method;    /* "GET", "POST"... */
  const char *path;      /* without the query */
  const char *body;
  size_t body_len;
};

struct cf_api_response {
  int status;
  const char *content_type;  /* static */
  struct cf_buf body;        /* owned: cf_buf_release */
  char allow[64];            /* a 405's Allow header ("GET, POST"), or empty */
};

int cf_api_new(const struct cf_api_opts *o, struct cf_api **out);
void cf_api_free(struct cf_api *api);

/* Answers one request; always fills *res (init it first with cf_api_response_init). Thread-safe. */
void cf_api_handle(struct cf_api *api, const struct cf_api_request *req, struct cf_api_response *res);

void cf_api_response_init(struct cf_api_response *res);
void cf_api_response_release(struct cf_api_response *res);

#endif
