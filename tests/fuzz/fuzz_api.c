/*
 * libFuzzer target: request bodies through the API layer (src/api/): JSON
 * bodies of every command and search endpoint (api_json.c, api_search.c),
 * multipart deployments (api_multipart.c), and the CRM's records, record
 * searches, trigger definitions (their FEEL compiled) and type schemas
 * (src/crm/ validation).
 *
 * The first byte picks the endpoint, the rest is the body. The API runs
 * without authentication against an empty database of its own and without
 * a writer, so commands are parsed and validated completely and then
 * refused (503); searches run against SQLite. Beyond "no crash, no leak":
 * every answer must be a status the API gives and, when it is an error, a
 * problem+json body that parses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/cf_api.h"
#include "crm/cf_crm.h"
#include "base/cf_json.h"
#include "store/cf_store.h"

static const struct {
  const char *method, *path, *ctype;
} endpoints[] = {
    {"POST", "/v2/deployments", "multipart/form-data; boundary=XyZ"},
    {"POST", "/v2/process-instances", NULL},
    {"POST", "/v2/process-instances/search", NULL},
    {"POST", "/v2/jobs/activation", NULL},
    {"POST", "/v2/jobs/12/completion", NULL},
    {"POST", "/v2/jobs/12/failure", NULL},
    {"POST", "/v2/jobs/12/error", NULL},
    {"PATCH", "/v2/jobs/12", NULL},
    {"POST", "/v2/user-tasks/search", NULL},
    {"POST", "/v2/user-tasks/7/assignment", NULL},
    {"POST", "/v2/user-tasks/7/completion", NULL},
    {"POST", "/v2/messages/publication", NULL},
    {"POST", "/v2/messages/correlation", NULL},
    {"POST", "/v2/signals/broadcast", NULL},
    {"POST", "/v2/incidents/search", NULL},
    {"POST", "/v2/element-instances/search", NULL},
    {"POST", "/v2/variables/search", NULL},
    {"POST", "/v2/process-definitions/search", NULL},
    {"POST", "/v2/crm/tokens", NULL},
    {"POST", "/v2/crm/groups", NULL},
    {"POST", "/v2/crm/records/lead", NULL},
    {"PATCH", "/v2/crm/records/order/5", NULL},
    {"POST", "/v2/crm/records/ticket/search", NULL},
    {"POST", "/v2/crm/triggers", NULL},
    {"PUT", "/v2/crm/record-types/project", NULL},
};

static struct cf_api *api;

static void init(void) {
  char dir[] = "/tmp/crmflow-fuzz-api-XXXXXX";
  if (!mkdtemp(dir)) abort();
  char db[64];
  snprintf(db, sizeof db, "%s/fuzz.db", dir);
  const struct cf_store_ops *ops;
  struct cf_store *st;
  struct cf_error err;
  if (cf_store_open(db, 0, &ops, &st, &err)) abort(); /* creates the schema */
  ops->close(st);
  struct cf_crm *crm;
  if (cf_crm_new(&crm, &err)) abort();
  struct cf_api_opts o = {.version = "fuzz", .host = "127.0.0.1", .port = 1, .db = db, .crm = crm, .no_auth = true};
  if (cf_api_new(&o, &api, &err)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!api) init();
  if (!size) return 0;
  size_t e = data[0] % (sizeof endpoints / sizeof endpoints[0]);
  struct cf_api_request req = {.method = endpoints[e].method, .path = endpoints[e].path,
                               .body = (const char *)data + 1, .body_len = size - 1,
                               .content_type = endpoints[e].ctype ? endpoints[e].ctype : "application/json"};
  struct cf_api_response res;
  cf_api_response_init(&res);
  if (!cf_api_handle(api, &req, &res, NULL, NULL)) abort(); /* nothing can go to a writer here */
  if (res.status < 200 || res.status > 599) abort();
  if (res.status >= 400) {
    struct cf_error err;
    struct json_object *j = cf_json_parse(res.body.data, res.body.len, &err);
    if (!j || !json_object_is_type(j, json_type_object) || strcmp(res.content_type, "application/problem+json")) {
      fprintf(stderr, "not a problem: %d %.*s\n", res.status, (int)res.body.len, res.body.data);
      abort();
    }
    json_object_put(j);
  }
  cf_api_response_release(&res);
  return 0;
}
