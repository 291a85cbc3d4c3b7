/*
 * The API layer (cf_api.h): a route table of (method, path) to handler;
 * a path that no route has is a 404, a known path with another method a
 * 405 with Allow, both as problem+json like every error.
 */
#include "api/cf_api.h"

#include <stdio.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "crmflow/cf_error.h"

struct cf_api {
  char *version, *host;
  int port;
};

typedef void (*handler_fn)(struct cf_api *api, const struct cf_api_request *req, struct cf_api_response *res);

struct route {
  const char *method, *path;
  handler_fn fn;
};

void cf_api_response_init(struct cf_api_response *res) {
  res->status = 500;
  res->allow[0] = '\0';
  res->content_type = "application/json";
  res->www_authenticate = NULL;
  res->cache_control = NULL;
  cf_buf_init(&res->body);
}

void cf_api_response_release(struct cf_api_response *res) { cf_buf_release(&res->body); }

/* An RFC 9457 problem: type about:blank, the status's title, detail, the instance (the path). */
static void problem(struct cf_api_response *res, int status, const char *title, const char *detail,
                    const char *instance) {
  res->status = status;
  res->content_type = "application/problem+json";
  cf_buf_reset(&res->body);
  cf_buf_printf(&res->body, "{\"type\":\"about:blank\",\"title\":");
  cf_buf_json_string(&res->body, title, strlen(title));
  cf_buf_printf(&res->body, ",\"status\":%d,\"detail\":", status);
  cf_buf_json_string(&res->body, detail, strlen(detail));
  cf_buf_puts(&res->body, ",\"instance\":");
  cf_buf_json_string(&res->body, instance, strlen(instance));
  cf_buf_puts(&res->body, "}");
}

/* The Camunda 8 REST API version this subset follows (shared/camunda-rest.md), as a JSON string. */
#define CAMUNDA_VERSION "\"8.8.0\""

static void healthz(struct cf_api *api, const struct cf_api_request *req, struct cf_api_response *res) {
  (void)req;
  res->status = 200;
  cf_buf_puts(&res->body, "{\"status\":\"UP\",\"version\":");
  cf_buf_json_string(&res->body, api->version, strlen(api->version));
  cf_buf_putc(&res->body, '}');
}

/*
 * A single-node engine: one broker, one partition it leads (shared/camunda-rest.md §2.1). The
 * versions are the Camunda API version spoken, as clients compare them; crmflow's own is in
 * /healthz.
 */
static void topology(struct cf_api *api, const struct cf_api_request *req, struct cf_api_response *res) {
  (void)req;
  res->status = 200;
  struct cf_buf *b = &res->body;
  cf_buf_puts(b, "{\"brokers\":[{\"nodeId\":0,\"host\":");
  cf_buf_json_string(b, api->host, strlen(api->host));
  cf_buf_printf(b, ",\"port\":%d,\"partitions\":[{\"partitionId\":1,\"role\":\"leader\",\"health\":\"healthy\"}],"
                   "\"version\":",
                api->port);
  cf_buf_puts(b, CAMUNDA_VERSION);
  cf_buf_puts(b, "}],\"clusterSize\":1,\"partitionsCount\":1,\"replicationFactor\":1,\"gatewayVersion\":");
  cf_buf_puts(b, CAMUNDA_VERSION);
  cf_buf_puts(b, ",\"lastCompletedChangeId\":\"-1\"}");
}

static const struct route routes[] = {
    {"GET", "/healthz", healthz},
    {"GET", "/v2/topology", topology},
};

bool cf_api_handle(struct cf_api *api, const struct cf_api_request *req, struct cf_api_response *res,
                   cf_api_done_fn done, void *done_arg) {
  (void)done;
  (void)done_arg;
  cf_buf_reset(&res->body);
  const char *method = req->method ? req->method : "";
  const char *path = req->path ? req->path : "";
  char allow[64] = "";
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    if (strcmp(routes[i].path, path)) continue;
    if (!strcmp(routes[i].method, method) || (!strcmp(method, "HEAD") && !strcmp(routes[i].method, "GET"))) {
      routes[i].fn(api, req, res);
      if (res->body.oom) problem(res, 500, "Internal Server Error", "out of memory", path);
      return true;
    }
    size_t len = strlen(allow);
    snprintf(allow + len, sizeof allow - len, "%s%s", len ? ", " : "", routes[i].method);
  }
  char detail[160];
  if (allow[0]) {
    snprintf(detail, sizeof detail, "%s is not allowed on %s (allowed: %s)", method, path, allow);
    problem(res, 405, "Method Not Allowed", detail, path);
    snprintf(res->allow, sizeof res->allow, "%s", allow);
  } else {
    problem(res, 404, "Not Found", "no such endpoint", path);
  }
  return true;
}

int cf_api_new(const struct cf_api_opts *o, struct cf_api **out, struct cf_error *err) {
  (void)err;
  struct cf_api *api = cf_calloc(1, sizeof *api);
  if (!api || !(api->version = cf_strdup(o->version ? o->version : "0.0.0")) ||
      !(api->host = cf_strdup(o->host ? o->host : "127.0.0.1"))) {
    cf_api_free(api);
    return CF_ENOMEM;
  }
  api->port = o->port;
  *out = api;
  return CF_OK;
}

void cf_api_free(struct cf_api *api) {
  if (!api) return;
  cf_free(api->version);
  cf_free(api->host);
  cf_free(api);
}
