/*
 * The Camunda subset and crmflow's own endpoints, through the API layer
 * with a real runtime, writer and SQLite database (no sockets: the HTTP
 * layer is tested by tests/cli/test_serve_http.sh and the SDK tests).
 * Commands are answered asynchronously, once durable; the test waits for
 * each answer like the HTTP layer does.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <sodium.h>

#include "api/cf_api.h"
#include "base/cf_alloc.h"
#include "base/cf_json.h"
#include "crm/cf_crm.h"
#include "runtime/cf_runtime.h"
#include "store/cf_store.h"

static struct cf_api *g_api;
static struct cf_runtime *g_rt;
static struct cf_runtime_writer *g_writer;
static struct cf_crm *g_crm;
static char g_dir[256], g_db[300];
static char tok_admin[48], tok_worker[48], tok_viewer[48], tok_ann[48], tok_bob[48];

static void on_batch(void *arg) {
  (void)arg;
  struct cf_api *api = __atomic_load_n(&g_api, __ATOMIC_ACQUIRE);
  if (api) cf_api_notify(api);
}

struct waiter {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool done;
};

static void wake(void *arg) {
  struct waiter *w = arg;
  pthread_mutex_lock(&w->mu);
  w->done = true;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

/* Answers req into res (init here), waiting for an answer that comes later, as the HTTP layer does. */
static void handle(const struct cf_api_request *req, struct cf_api_response *res) {
  cf_api_response_init(res);
  struct waiter w = {.done = false};
  pthread_mutex_init(&w.mu, NULL);
  pthread_cond_init(&w.cv, NULL);
  if (!cf_api_handle(g_api, req, res, wake, &w)) {
    pthread_mutex_lock(&w.mu);
    while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
  }
  pthread_mutex_destroy(&w.mu);
  pthread_cond_destroy(&w.cv);
}

static double mono(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One request; *out: the body parsed (NULL for an empty one); returns the status. */
static int call_full(const char *method, const char *path, const char *query, const char *token, const char *ctype,
                     const char *body, size_t len, struct json_object **out, char *raw, size_t rawlen,
                     const char **www) {
  char auth[80];
  if (token) snprintf(auth, sizeof auth, "Bearer %s", token);
  struct cf_api_request req = {.method = method, .path = path, .query = query, .body = body, .body_len = len,
                               .authorization = token ? auth : NULL,
                               .content_type = ctype ? ctype : "application/json", .started = mono()};
  struct cf_api_response res;
  handle(&req, &res);
  int status = res.status;
  if (www) *www = res.www_authenticate;
  if (raw) snprintf(raw, rawlen, "%.*s", (int)res.body.len, res.body.data ? res.body.data : "");
  if (out) {
    *out = NULL;
    if (res.body.len && strncmp(res.content_type, "text/", 5)) {
      struct cf_error err;
      *out = cf_json_parse(res.body.data, res.body.len, &err);
      if (!*out) fprintf(stderr, "not JSON (%d): %.*s\n", status, (int)res.body.len, res.body.data);
      assert_non_null(*out);
    }
  }
  if (status >= 400) {
    assert_string_equal(res.content_type, "application/problem+json");
  }
  cf_api_response_release(&res);
  return status;
}

/* A request as a browser sends it: the session cookie, and the CSRF token when given. */
static int call_cookie(const char *method, const char *path, const char *cookie, const char *csrf, const char *body,
                       struct json_object **out, char *set_cookie) {
  struct cf_api_request req = {.method = method, .path = path, .body = body, .body_len = body ? strlen(body) : 0,
                               .cookie = cookie, .csrf = csrf, .content_type = "application/json",
                               .started = mono()};
  struct cf_api_response res;
  handle(&req, &res);
  if (set_cookie) strcpy(set_cookie, res.set_cookie);
  if (out) {
    struct cf_error err;
    *out = res.body.len ? cf_json_parse(res.body.data, res.body.len, &err) : NULL;
  }
  int status = res.status;
  cf_api_response_release(&res);
  return status;
}

static int call(const char *method, const char *path, const char *token, const char *body, struct json_object **out) {
  return call_full(method, path, NULL, token, NULL, body, body ? strlen(body) : 0, out, NULL, 0, NULL);
}

static struct json_object *get(struct json_object *o, const char *path) {
  /* "a.b.0.c" */
  char buf[200];
  snprintf(buf, sizeof buf, "%s", path);
  struct json_object *cur = o;
  for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, ".")) {
    if (json_object_is_type(cur, json_type_array)) cur = json_object_array_get_idx(cur, (size_t)atoi(tok));
    else if (!json_object_object_get_ex(cur, tok, &cur)) cur = NULL;
  }
  return cur;
}

static const char *s(struct json_object *o, const char *path) {
  struct json_object *v = get(o, path);
  return v ? json_object_get_string(v) : NULL;
}

static char *read_fixture(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/tests/fixtures/%s", getenv("CF_SOURCE_DIR") ? getenv("CF_SOURCE_DIR") : ".", name);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static char buf[1 << 16];
  *len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  return buf;
}

static char *multipart(const char *filename, const char *data, size_t len, size_t *out_len) {
  const char *b = "----crmflowtestboundary";
  size_t cap = len + 1024;
  char *m = malloc(cap);
  int n = snprintf(m, cap,
                   "--%s\r\nContent-Disposition: form-data; name=\"tenantId\"\r\n\r\n<default>\r\n"
                   "--%s\r\nContent-Disposition: form-data; name=\"resources\"; filename=\"%s\"\r\n"
                   "Content-Type: application/xml\r\n\r\n",
                   b, b, filename);
  memcpy(m + n, data, len);
  n += (int)len;
  n += snprintf(m + n, cap - (size_t)n, "\r\n--%s--\r\n", b);
  *out_len = (size_t)n;
  return m;
}

static int deploy(const char *token, const char *filename, const char *data, size_t len, struct json_object **out) {
  size_t mlen;
  char *m = multipart(filename, data, len, &mlen);
  int st = call_full("POST", "/v2/deployments", NULL, token, "multipart/form-data; boundary=----crmflowtestboundary",
                     m, mlen, out, NULL, 0, NULL);
  free(m);
  return st;
}

static void make_token(const struct cf_store_ops *ops, struct cf_store *st, const char *name, const char *role,
                       const char *user, char secret[48]) {
  char hash[65];
  cf_api_token_new(secret);
  cf_api_token_hash(secret, hash);
  struct cf_store_token t = {.name = (char *)name, .role = (char *)role, .user = (char *)user, .hash = hash,
                             .created_ms = 1};
  struct cf_error err;
  assert_int_equal(ops->token_insert(st, &t, &err), CF_OK);
}

static int setup(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "/tmp/crmflow-api-XXXXXX");
  assert_non_null(mkdtemp(g_dir));
  snprintf(g_db, sizeof g_db, "%s/api.db", g_dir);
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_runtime_opts o = {.db = g_db, .store_flags = CF_STORE_FAST};
  assert_int_equal(cf_runtime_open(&o, &g_rt, &err), CF_OK);
  const struct cf_store_ops *ops;
  struct cf_store *st;
  assert_int_equal(cf_store_open(g_db, 0, &ops, &st, &err), CF_OK);
  struct cf_store_group g = {.name = "sales", .created_ms = 1};
  assert_int_equal(ops->group_put(st, &g, true, &err), CF_OK);
  char ann_hash[crypto_pwhash_STRBYTES];
  assert_int_equal(crypto_pwhash_str(ann_hash, "ann-secret-1", 12, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                     crypto_pwhash_MEMLIMIT_INTERACTIVE),
                   0);
  struct cf_store_user ann = {.name = "ann", .role = "agent", .groups = "[\"sales\"]", .password_hash = ann_hash,
                              .created_ms = 1};
  struct cf_store_user bob = {.name = "bob", .role = "agent", .groups = "[]", .created_ms = 1};
  assert_int_equal(ops->user_put(st, &ann, true, &err), CF_OK);
  assert_int_equal(ops->user_put(st, &bob, true, &err), CF_OK);
  make_token(ops, st, "admin", "admin", NULL, tok_admin);
  make_token(ops, st, "worker", "worker", NULL, tok_worker);
  make_token(ops, st, "viewer", "viewer", NULL, tok_viewer);
  make_token(ops, st, "ann", "agent", "ann", tok_ann);
  make_token(ops, st, "bob", "agent", "bob", tok_bob);
  ops->close(st);
  assert_int_equal(cf_crm_new(&g_crm, &err), CF_OK);
  struct cf_runtime_writer_opts wo = {.tick_ms = 50, .on_batch = on_batch};
  assert_int_equal(cf_runtime_writer_start(g_rt, &wo, &g_writer, &err), CF_OK);
  struct cf_api_opts ao = {.version = "1.2.3", .host = "127.0.0.1", .port = 8080, .db = g_db, .rt = g_rt,
                           .writer = g_writer, .crm = g_crm, .long_poll_ms = 3000};
  struct cf_api *api;
  assert_int_equal(cf_api_new(&ao, &api, &err), CF_OK);
  __atomic_store_n(&g_api, api, __ATOMIC_RELEASE);
  size_t len;
  char *xml = read_fixture("api_order.bpmn", &len);
  struct json_object *j;
  assert_int_equal(deploy(tok_admin, "api_order.bpmn", xml, len, &j), 200);
  json_object_put(j);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  cf_api_shutdown(g_api);
  cf_runtime_writer_stop(g_writer);
  cf_api_free(g_api);
  g_api = NULL;
  cf_crm_free(g_crm);
  cf_runtime_close(g_rt);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
  assert_int_equal(system(cmd), 0);
  return 0;
}

/* Starts api_order with orderId; returns the instance key (a digit string, static). */
static const char *start_order(const char *order_id) {
  static char key[32];
  char body[200];
  snprintf(body, sizeof body, "{\"processDefinitionId\":\"api_order\",\"variables\":{\"orderId\":\"%s\"},"
                              "\"tenantId\":\"<default>\"}",
           order_id);
  struct json_object *j;
  assert_int_equal(call("POST", "/v2/process-instances", tok_admin, body, &j), 200);
  assert_true(json_object_is_type(get(j, "processInstanceKey"), json_type_string));
  assert_string_equal(s(j, "processDefinitionId"), "api_order");
  assert_string_equal(s(j, "tenantId"), "<default>");
  snprintf(key, sizeof key, "%s", s(j, "processInstanceKey"));
  json_object_put(j);
  return key;
}

/* Activates one api.charge job of the instance (at most 10 tried); returns its key (static). */
static const char *activate_one(void) {
  static char key[32];
  struct json_object *j;
  assert_int_equal(call("POST", "/v2/jobs/activation", tok_worker,
                        "{\"type\":\"api.charge\",\"worker\":\"w1\",\"timeout\":30000,\"maxJobsToActivate\":1,"
                        "\"requestTimeout\":-1,\"tenantIds\":[\"<default>\"]}",
                        &j),
                   200);
  assert_int_equal(json_object_array_length(get(j, "jobs")), 1);
  snprintf(key, sizeof key, "%s", s(j, "jobs.0.jobKey"));
  json_object_put(j);
  return key;
}

static void test_auth_and_roles(void **state) {
  (void)state;
  struct json_object *j;
  const char *www = NULL;
  assert_int_equal(call_full("POST", "/v2/process-instances/search", NULL, NULL, NULL, "{}", 2, &j, NULL, 0, &www), 401);
  assert_string_equal(s(j, "title"), "UNAUTHORIZED");
  assert_non_null(www);
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/process-instances/search", "cft_not-a-token", "{}", &j), 401);
  json_object_put(j);
  /* Open without a token. */
  assert_int_equal(call("GET", "/v2/topology", NULL, NULL, &j), 200);
  json_object_put(j);
  assert_int_equal(call("GET", "/v2/license", NULL, NULL, &j), 200);
  assert_true(json_object_get_boolean(get(j, "validLicense")));
  json_object_put(j);
  assert_int_equal(call("GET", "/v2/status", NULL, NULL, &j), 204);
  /* Roles. */
  assert_int_equal(call("POST", "/v2/process-instances", tok_viewer, "{\"processDefinitionId\":\"api_order\"}", &j), 403);
  assert_string_equal(s(j, "title"), "FORBIDDEN");
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/jobs/activation", tok_viewer, "{\"type\":\"x\",\"timeout\":1,\"maxJobsToActivate\":1}", &j),
                   403);
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/process-instances/search", tok_worker, "{}", &j), 403);
  json_object_put(j);
  assert_int_equal(call("GET", "/v2/crm/tokens", tok_viewer, NULL, &j), 403);
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/process-instances/search", tok_viewer, "{}", &j), 200);
  json_object_put(j);
  assert_int_equal(call("GET", "/v2/crm/me", tok_ann, NULL, &j), 200);
  assert_string_equal(s(j, "user"), "ann");
  assert_string_equal(s(j, "role"), "agent");
  assert_string_equal(s(j, "groups.0"), "sales");
  json_object_put(j);
  /* A token made through the API works at once; deleted, it is refused (after the cache's seconds). */
  assert_int_equal(call("POST", "/v2/crm/tokens", tok_admin, "{\"name\":\"ci\",\"role\":\"viewer\"}", &j), 201);
  char fresh[64];
  snprintf(fresh, sizeof fresh, "%s", s(j, "token"));
  assert_int_equal(strncmp(fresh, "cft_", 4), 0);
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/incidents/search", fresh, "{}", &j), 200);
  json_object_put(j);
  assert_int_equal(call("GET", "/v2/crm/tokens", tok_admin, NULL, &j), 200);
  assert_null(strstr(json_object_to_json_string(j), fresh)); /* never listed */
  json_object_put(j);
  assert_int_equal(call("DELETE", "/v2/crm/tokens/ci", tok_admin, NULL, NULL), 204);
  sleep(3);
  assert_int_equal(call("POST", "/v2/incidents/search", fresh, "{}", &j), 401);
  json_object_put(j);
}

static void test_deploy(void **state) {
  (void)state;
  size_t len;
  char *xml = read_fixture("api_order.bpmn", &len);
  struct json_object *j;
  assert_int_equal(deploy(tok_admin, "api_order.bpmn", xml, len, &j), 200);
  assert_int_equal(json_object_array_length(get(j, "deployments")), 2);
  assert_string_equal(s(j, "deployments.0.processDefinition.processDefinitionId"), "api_order");
  assert_string_equal(s(j, "deployments.0.processDefinition.processDefinitionVersion"), "1"); /* unchanged */
  char key[32];
  snprintf(key, sizeof key, "%s", s(j, "deployments.0.processDefinition.processDefinitionKey"));
  json_object_put(j);
  char path[80];
  snprintf(path, sizeof path, "/v2/process-definitions/%s", key);
  assert_int_equal(call("GET", path, tok_viewer, NULL, &j), 200);
  assert_string_equal(s(j, "name"), "API order");
  json_object_put(j);
  /* A broken model names its element and line; nothing is stored. */
  const char *bad = "<?xml version=\"1.0\"?><bpmn:definitions xmlns:bpmn=\"http://www.omg.org/spec/BPMN/20100524/MODEL\">"
                    "<bpmn:process id=\"broken\" isExecutable=\"true\"><bpmn:startEvent id=\"s\"/>"
                    "<bpmn:sequenceFlow id=\"f\" sourceRef=\"s\" targetRef=\"nowhere\"/></bpmn:process></bpmn:definitions>";
  assert_int_equal(deploy(tok_admin, "broken.bpmn", bad, strlen(bad), &j), 400);
  assert_non_null(strstr(s(j, "detail"), "broken.bpmn"));
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/process-definitions/search", tok_viewer,
                        "{\"filter\":{\"processDefinitionId\":\"broken\"}}", &j), 200);
  assert_int_equal(json_object_array_length(get(j, "items")), 0);
  json_object_put(j);
  /* Not multipart. */
  assert_int_equal(call("POST", "/v2/deployments", tok_admin, "{}", &j), 400);
  json_object_put(j);
  /* The designer deploys, the worker may not. */
  assert_int_equal(deploy(tok_worker, "api_order.bpmn", xml, len, &j), 403);
  json_object_put(j);
}

static void test_instances(void **state) {
  (void)state;
  struct json_object *j;
  const char *k = start_order("A-1");
  char key[32], path[96];
  snprintf(key, sizeof key, "%s", k);
  snprintf(path, sizeof path, "/v2/process-instances/%s", key);
  assert_int_equal(call("GET", path, tok_viewer, NULL, &j), 200);
  assert_string_equal(s(j, "state"), "ACTIVE");
  assert_string_equal(s(j, "processDefinitionName"), "API order");
  assert_false(json_object_get_boolean(get(j, "hasIncident")));
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/process-instances", tok_admin,
                        "{\"processDefinitionId\":\"api_order\",\"processDefinitionKey\":\"1\"}", &j), 400);
  assert_non_null(strstr(s(j, "detail"), "Only one of"));
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/process-instances", tok_admin, "{\"variables\":{}}", &j), 400);
  assert_non_null(strstr(s(j, "detail"), "At least one of"));
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/process-instances", tok_admin, "{\"processDefinitionId\":\"nope\"}", &j), 404);
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/process-instances", tok_admin,
                        "{\"processDefinitionId\":\"api_order\",\"tenantId\":\"acme\"}", &j), 400);
  assert_non_null(strstr(s(j, "detail"), "multi-tenancy"));
  json_object_put(j);
  /* Search: by key, by variable, sorted, paged. */
  char body[300];
  snprintf(body, sizeof body, "{\"filter\":{\"processInstanceKey\":\"%s\",\"state\":\"ACTIVE\"}}", key);
  assert_int_equal(call("POST", "/v2/process-instances/search", tok_viewer, body, &j), 200);
  assert_int_equal(json_object_array_length(get(j, "items")), 1);
  assert_string_equal(s(j, "page.totalItems"), "1");
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/process-instances/search", tok_viewer,
                        "{\"filter\":{\"variables\":[{\"name\":\"orderId\",\"value\":\"\\\"A-1\\\"\"}]}}", &j), 200);
  assert_true(json_object_array_length(get(j, "items")) >= 1);
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/process-instances/search", tok_viewer,
                        "{\"filter\":{\"state\":{\"$in\":[\"ACTIVE\",\"COMPLETED\"]}},"
                        "\"sort\":[{\"field\":\"processInstanceKey\",\"order\":\"desc\"}],\"page\":{\"limit\":1}}",
                        &j), 200);
  assert_int_equal(json_object_array_length(get(j, "items")), 1);
  assert_non_null(s(j, "page.endCursor"));
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/process-instances/search", tok_viewer, "{\"filter\":{\"state\":\"RUNNING\"}}", &j),
                   400);
  assert_non_null(strstr(s(j, "detail"), "filter.state"));
  json_object_put(j);
  /* An end not reached is absent ($exists false), not a date of 0. */
  snprintf(body, sizeof body, "{\"filter\":{\"processInstanceKey\":\"%s\",\"endDate\":{\"$exists\":false}}}", key);
  assert_int_equal(call("POST", "/v2/process-instances/search", tok_viewer, body, &j), 200);
  assert_int_equal(json_object_array_length(get(j, "items")), 1);
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/user-tasks/search", tok_viewer,
                        "{\"sort\":[{\"field\":\"dueDate\",\"order\":\"DESC\"},{\"field\":\"priority\"}]}", &j),
                   200);
  json_object_put(j);
  /* Cancel, then it is gone for commands. */
  snprintf(path, sizeof path, "/v2/process-instances/%s/cancellation", key);
  assert_int_equal(call_full("POST", path, NULL, tok_admin, NULL, "", 0, NULL, NULL, 0, NULL), 204);
  assert_int_equal(call("POST", path, tok_admin, "{}", &j), 404);
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/process-instances/search", tok_viewer, body, &j), 200);
  assert_int_equal(json_object_array_length(get(j, "items")), 0);
  json_object_put(j);
  snprintf(path, sizeof path, "/v2/process-instances/%s", key);
  assert_int_equal(call("GET", path, tok_viewer, NULL, &j), 200);
  assert_string_equal(s(j, "state"), "TERMINATED");
  assert_non_null(s(j, "endDate"));
  json_object_put(j);
  /* awaitCompletion with fetchVariables. */
  assert_int_equal(call("POST", "/v2/process-instances", tok_admin,
                        "{\"processDefinitionId\":\"api_quick\",\"variables\":{\"n\":21},\"awaitCompletion\":true,"
                        "\"fetchVariables\":[\"doubled\"]}",
                        &j), 200);
  assert_string_equal(s(j, "variables.doubled"), "42");
  assert_null(get(j, "variables.n"));
  json_object_put(j);
}

struct later {
  useconds_t delay;
  const char *order;
};

static void *start_later(void *arg) {
  struct later *l = arg;
  usleep(l->delay);
  start_order(l->order);
  return NULL;
}

static void test_jobs(void **state) {
  (void)state;
  struct json_object *j;
  /* Camunda's validation texts, all at once. */
  assert_int_equal(call("POST", "/v2/jobs/activation", tok_worker, "{}", &j), 400);
  assert_string_equal(s(j, "detail"), "No type provided. No timeout provided. No maxJobsToActivate provided.");
  json_object_put(j);
  /* Long polling: a job created while the request waits answers it. */
  pthread_t t;
  struct later l = {300000, "B-1"};
  pthread_create(&t, NULL, start_later, &l);
  double t0 = mono();
  assert_int_equal(call("POST", "/v2/jobs/activation", tok_worker,
                        "{\"type\":\"api.charge\",\"worker\":\"w1\",\"timeout\":30000,\"maxJobsToActivate\":5,"
                        "\"requestTimeout\":2500}",
                        &j), 200);
  double took = mono() - t0;
  pthread_join(t, NULL);
  assert_int_equal(json_object_array_length(get(j, "jobs")), 1);
  assert_true(took >= 0.25 && took < 2.4);
  assert_string_equal(s(j, "jobs.0.customHeaders.provider"), "acme");
  assert_string_equal(s(j, "jobs.0.variables.orderId"), "B-1");
  assert_string_equal(s(j, "jobs.0.worker"), "w1");
  assert_string_equal(s(j, "jobs.0.retries"), "2");
  assert_true(json_object_is_type(get(j, "jobs.0.deadline"), json_type_int));
  char job[32], path[96];
  snprintf(job, sizeof job, "%s", s(j, "jobs.0.jobKey"));
  json_object_put(j);
  /* Nothing there: a poll ends empty at its timeout. */
  t0 = mono();
  assert_int_equal(call("POST", "/v2/jobs/activation", tok_worker,
                        "{\"type\":\"api.none\",\"timeout\":1000,\"maxJobsToActivate\":1,\"requestTimeout\":600}", &j),
                   200);
  took = mono() - t0;
  assert_int_equal(json_object_array_length(get(j, "jobs")), 0);
  assert_true(took >= 0.55 && took < 2.0);
  json_object_put(j);
  /* Complete; a second completion is a 404. */
  snprintf(path, sizeof path, "/v2/jobs/%s/completion", job);
  assert_int_equal(call("POST", path, tok_worker, "{\"variables\":{\"charged\":true}}", NULL), 204);
  assert_int_equal(call("POST", path, tok_worker, "{\"variables\":{}}", &j), 404);
  json_object_put(j);
  /* Fail with retries left and a back-off, then without: an incident. */
  start_order("C-1");
  snprintf(job, sizeof job, "%s", activate_one());
  snprintf(path, sizeof path, "/v2/jobs/%s/failure", job);
  assert_int_equal(call("POST", path, tok_worker, "{\"retries\":1,\"errorMessage\":\"card declined\",\"retryBackOff\":0}",
                        NULL), 204);
  snprintf(job, sizeof job, "%s", activate_one());
  snprintf(path, sizeof path, "/v2/jobs/%s/failure", job);
  assert_int_equal(call("POST", path, tok_worker, "{\"retries\":0,\"errorMessage\":\"card declined again\"}", NULL), 204);
  assert_int_equal(call("POST", "/v2/incidents/search", tok_viewer,
                        "{\"filter\":{\"errorType\":\"JOB_NO_RETRIES\",\"state\":\"ACTIVE\"}}", &j), 200);
  assert_int_equal(json_object_array_length(get(j, "items")), 1);
  assert_string_equal(s(j, "items.0.errorMessage"), "card declined again");
  assert_string_equal(s(j, "items.0.jobKey"), job);
  char incident[32];
  snprintf(incident, sizeof incident, "%s", s(j, "items.0.incidentKey"));
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/incidents/search", tok_viewer, "{\"filter\":{\"state\":\"RESOLVED\"}}", &j), 200);
  assert_int_equal(json_object_array_length(get(j, "items")), 0);
  json_object_put(j);
  /* Resolve (empty body, as the legacy SDK sends): the job is back. */
  snprintf(path, sizeof path, "/v2/incidents/%s/resolution", incident);
  assert_int_equal(call_full("POST", path, NULL, tok_admin, NULL, "", 0, NULL, NULL, 0, NULL), 204);
  assert_int_equal(call("POST", path, tok_admin, "", &j), 404);
  json_object_put(j);
  snprintf(job, sizeof job, "%s", activate_one());
  /* A BPMN error nothing catches: an incident of its own. */
  snprintf(path, sizeof path, "/v2/jobs/%s/error", job);
  assert_int_equal(call("POST", path, tok_worker, "{\"errorMessage\":\"x\"}", &j), 400);
  assert_string_equal(s(j, "detail"), "No errorCode provided.");
  json_object_put(j);
  assert_int_equal(call("POST", path, tok_worker, "{\"errorCode\":\"E1\",\"errorMessage\":\"biz\"}", NULL), 204);
  assert_int_equal(call("POST", "/v2/incidents/search", tok_viewer,
                        "{\"filter\":{\"errorType\":\"UNHANDLED_ERROR_EVENT\"}}", &j), 200);
  assert_true(json_object_array_length(get(j, "items")) >= 1);
  json_object_put(j);
  /* PATCH retries. */
  assert_int_equal(call("PATCH", "/v2/jobs/123456789", tok_worker, "{\"changeset\":{\"retries\":3}}", &j), 404);
  json_object_put(j);
  assert_int_equal(call("PATCH", "/v2/jobs/123456789", tok_worker, "{\"changeset\":{}}", &j), 400);
  json_object_put(j);
}

static void test_user_tasks_and_messages(void **state) {
  (void)state;
  struct json_object *j;
  char inst[32], body[400], path[96], task[32];
  snprintf(inst, sizeof inst, "%s", start_order("D-1"));
  char job[32];
  /* The job of this instance: complete it (others may be waiting, from earlier tests). */
  for (;;) {
    snprintf(job, sizeof job, "%s", activate_one());
    snprintf(path, sizeof path, "/v2/jobs/%s/completion", job);
    assert_int_equal(call("POST", path, tok_worker, NULL, NULL), 204);
    snprintf(body, sizeof body, "{\"filter\":{\"processInstanceKey\":\"%s\"}}", inst);
    assert_int_equal(call("POST", "/v2/user-tasks/search", tok_viewer, body, &j), 200);
    size_t n = json_object_array_length(get(j, "items"));
    if (n) break;
    json_object_put(j);
  }
  assert_string_equal(s(j, "items.0.state"), "CREATED");
  assert_string_equal(s(j, "items.0.name"), "Approve order");
  assert_string_equal(s(j, "items.0.candidateGroups.0"), "sales");
  assert_string_equal(s(j, "items.0.processDefinitionId"), "api_order");
  snprintf(task, sizeof task, "%s", s(j, "items.0.userTaskKey"));
  json_object_put(j);
  /* The legacy SDK's default sort (lower case). */
  snprintf(body, sizeof body, "{\"filter\":{\"processInstanceKey\":\"%s\"},\"page\":{\"from\":0,\"limit\":100},"
                              "\"sort\":[{\"field\":\"creationDate\",\"order\":\"asc\"}]}", inst);
  /* ann (group sales) sees it, bob does not. */
  assert_int_equal(call("POST", "/v2/user-tasks/search", tok_ann, body, &j), 200);
  assert_int_equal(json_object_array_length(get(j, "items")), 1);
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/user-tasks/search", tok_bob, body, &j), 200);
  assert_int_equal(json_object_array_length(get(j, "items")), 0);
  json_object_put(j);
  snprintf(path, sizeof path, "/v2/user-tasks/%s", task);
  assert_int_equal(call("GET", path, tok_bob, NULL, &j), 404);
  json_object_put(j);
  assert_int_equal(call("GET", path, tok_ann, NULL, &j), 200);
  assert_string_equal(s(j, "userTaskKey"), task);
  json_object_put(j);
  snprintf(path, sizeof path, "/v2/user-tasks/%s/completion", task);
  assert_int_equal(call("POST", path, tok_bob, "{}", &j), 403);
  json_object_put(j);
  /* Assign: to ann; no override to someone else. */
  snprintf(path, sizeof path, "/v2/user-tasks/%s/assignment", task);
  assert_int_equal(call("POST", path, tok_ann, "{\"assignee\":\"carol\"}", &j), 403);
  json_object_put(j);
  assert_int_equal(call("POST", path, tok_ann, "{\"allowOverride\":true,\"action\":\"assign\",\"assignee\":\"ann\"}", NULL),
                   204);
  assert_int_equal(call("POST", path, tok_admin, "{\"assignee\":\"carol\",\"allowOverride\":false}", &j), 409);
  json_object_put(j);
  assert_int_equal(call("POST", path, tok_admin, "{}", &j), 400);
  assert_string_equal(s(j, "detail"), "No assignee provided.");
  json_object_put(j);
  snprintf(path, sizeof path, "/v2/user-tasks/%s/completion", task);
  assert_int_equal(call("POST", path, tok_ann, "{\"variables\":{\"approved\":true},\"action\":\"complete\"}", NULL), 204);
  assert_int_equal(call("POST", path, tok_ann, "{}", &j), 409);
  json_object_put(j);
  snprintf(path, sizeof path, "/v2/user-tasks/%s", task);
  assert_int_equal(call("GET", path, tok_admin, NULL, &j), 200);
  assert_string_equal(s(j, "state"), "COMPLETED");
  assert_non_null(s(j, "completionDate"));
  json_object_put(j);
  /* Messages: no subscription for this key; then the right one completes the instance. */
  assert_int_equal(call("POST", "/v2/messages/correlation", tok_admin,
                        "{\"name\":\"api-paid\",\"correlationKey\":\"nobody\",\"tenantId\":\"<default>\"}", &j), 404);
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/messages/correlation", tok_admin,
                        "{\"name\":\"api-paid\",\"correlationKey\":\"D-1\",\"variables\":{\"paid\":true}}", &j), 200);
  assert_string_equal(s(j, "processInstanceKey"), inst);
  assert_non_null(s(j, "messageKey"));
  json_object_put(j);
  snprintf(path, sizeof path, "/v2/process-instances/%s", inst);
  assert_int_equal(call("GET", path, tok_viewer, NULL, &j), 200);
  assert_string_equal(s(j, "state"), "COMPLETED");
  json_object_put(j);
  /* Publication with a message id: the second is refused while the first is buffered. */
  assert_int_equal(call("POST", "/v2/messages/publication", tok_admin,
                        "{\"name\":\"api-paid\",\"correlationKey\":\"Z-9\",\"timeToLive\":60000,\"messageId\":\"m-1\"}",
                        &j), 200);
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/messages/publication", tok_admin,
                        "{\"name\":\"api-paid\",\"correlationKey\":\"Z-9\",\"timeToLive\":60000,\"messageId\":\"m-1\"}",
                        &j), 409);
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/signals/broadcast", tok_admin, "{\"signalName\":\"nobody-listens\"}", &j), 200);
  assert_non_null(s(j, "signalKey"));
  json_object_put(j);
  /* Element instances and variables of the instance. */
  snprintf(body, sizeof body, "{\"filter\":{\"processInstanceKey\":\"%s\",\"elementId\":\"approve\"}}", inst);
  assert_int_equal(call("POST", "/v2/element-instances/search", tok_viewer, body, &j), 200);
  assert_int_equal(json_object_array_length(get(j, "items")), 1);
  assert_string_equal(s(j, "items.0.type"), "USER_TASK");
  assert_string_equal(s(j, "items.0.state"), "COMPLETED");
  assert_string_equal(s(j, "items.0.elementName"), "Approve order");
  char ekey[32];
  snprintf(ekey, sizeof ekey, "%s", s(j, "items.0.elementInstanceKey"));
  json_object_put(j);
  snprintf(path, sizeof path, "/v2/element-instances/%s", ekey);
  assert_int_equal(call("GET", path, tok_viewer, NULL, &j), 200);
  assert_string_equal(s(j, "elementId"), "approve");
  json_object_put(j);
  snprintf(body, sizeof body, "{\"filter\":{\"processInstanceKey\":\"%s\",\"name\":\"orderId\"}}", inst);
  assert_int_equal(call("POST", "/v2/variables/search", tok_viewer, body, &j), 200);
  assert_int_equal(json_object_array_length(get(j, "items")), 1);
  assert_string_equal(s(j, "items.0.value"), "\"D-1\"");
  assert_string_equal(s(j, "items.0.processInstanceKey"), inst);
  char vkey[40];
  snprintf(vkey, sizeof vkey, "%s", s(j, "items.0.variableKey"));
  json_object_put(j);
  snprintf(path, sizeof path, "/v2/variables/%s", vkey);
  assert_int_equal(call("GET", path, tok_viewer, NULL, &j), 200);
  assert_string_equal(s(j, "name"), "orderId");
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/variables/search", tok_viewer, "{}", &j), 400);
  json_object_put(j);
  /* History (crmflow's own). */
  snprintf(path, sizeof path, "/v2/crm/process-instances/%s/history", inst);
  assert_int_equal(call("GET", path, tok_viewer, NULL, &j), 200);
  assert_true(json_object_array_length(get(j, "items")) > 5);
  assert_non_null(strstr(json_object_to_json_string(j), "api:ann"));
  json_object_put(j);
}

static void test_bad_requests(void **state) {
  (void)state;
  struct json_object *j;
  assert_int_equal(call("POST", "/v2/process-instances", tok_admin, "{\"processDefinitionId\":", &j), 400);
  assert_string_equal(s(j, "title"), "INVALID_ARGUMENT");
  assert_non_null(strstr(s(j, "detail"), "not valid JSON"));
  assert_string_equal(s(j, "instance"), "/v2/process-instances");
  json_object_put(j);
  char deep[400];
  memset(deep, '[', 200);
  memset(deep + 200, ']', 200);
  char body[500];
  snprintf(body, sizeof body, "{\"variables\":{\"a\":%.*s}}", 400, deep);
  assert_int_equal(call("POST", "/v2/process-instances", tok_admin, body, &j), 400);
  assert_non_null(strstr(s(j, "detail"), "nested deeper"));
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/process-instances", tok_admin,
                        "{\"processDefinitionId\":\"api_order\",\"variables\":[1]}", &j), 400);
  assert_non_null(strstr(s(j, "detail"), "variables"));
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/jobs/activation", tok_worker,
                        "{\"type\":\"t\",\"timeout\":\"soon\",\"maxJobsToActivate\":1}", &j), 400);
  assert_non_null(strstr(s(j, "detail"), "timeout"));
  json_object_put(j);
  assert_int_equal(call("GET", "/v2/process-instances/abc", tok_viewer, NULL, &j), 400);
  json_object_put(j);
  assert_int_equal(call("GET", "/v2/process-instances/99999999", tok_viewer, NULL, &j), 404);
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/jobs/99999999/completion", tok_worker, "{}", &j), 404);
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/user-tasks/search", tok_viewer, "{\"filter\":{\"colour\":\"red\"}}", &j), 400);
  assert_non_null(strstr(s(j, "detail"), "colour"));
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/user-tasks/search", tok_viewer, "{\"page\":{\"limit\":0}}", &j), 400);
  json_object_put(j);
  assert_int_equal(call("DELETE", "/v2/process-instances/search", tok_viewer, NULL, &j), 405);
  json_object_put(j);
}

static void test_metrics(void **state) {
  (void)state;
  char raw[65536];
  assert_int_equal(call_full("GET", "/metrics", NULL, tok_viewer, NULL, NULL, 0, NULL, raw, sizeof raw, NULL), 200);
  assert_non_null(strstr(raw, "# TYPE crmflow_instances_started_total counter"));
  assert_non_null(strstr(raw, "crmflow_instances_open "));
  assert_non_null(strstr(raw, "crmflow_writer_batch_size_bucket{le=\"+Inf\"}"));
  assert_non_null(strstr(raw, "crmflow_http_request_duration_seconds_bucket{method=\"POST\",route=\"/v2/process-instances\""));
  /* started counts what this server started (not zero after the tests above) */
  const char *p = strstr(raw, "\ncrmflow_instances_started_total ");
  assert_non_null(p);
  assert_true(atol(p + strlen("\ncrmflow_instances_started_total ")) >= 3);
}

static void test_records(void **state) {
  (void)state;
  struct json_object *j;
  /* A trigger through the API: a won opportunity starts api_quick with its amount. */
  assert_int_equal(call("POST", "/v2/crm/triggers", tok_admin,
                        "{\"name\":\"won\",\"recordType\":\"opportunity\",\"on\":[\"update\"],"
                        "\"condition\":\"=list contains(changed, \\\"stage\\\") and record.stage = \\\"won\\\"\","
                        "\"processDefinitionId\":\"api_quick\",\"variables\":\"={n: record.amount}\"}",
                        &j), 201);
  assert_non_null(s(j, "triggerKey"));
  assert_string_equal(s(j, "name"), "won");
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/crm/triggers", tok_admin, "{\"name\":\"bad\",\"recordType\":\"lead\"}", &j), 400);
  assert_non_null(strstr(s(j, "detail"), "on"));
  json_object_put(j);
  assert_int_equal(call("GET", "/v2/crm/triggers", tok_viewer, NULL, &j), 200);
  assert_int_equal(json_object_array_length(get(j, "items")), 1);
  json_object_put(j);
  /* Create: 201 with the record; a bad field is a 400 naming it. */
  assert_int_equal(call("POST", "/v2/crm/records/opportunity", tok_ann,
                        "{\"fields\":{\"name\":\"Big\",\"amount\":33,\"stage\":\"proposal\"}}", &j), 201);
  char key[32], path[128];
  snprintf(key, sizeof key, "%s", s(j, "recordKey"));
  assert_string_equal(s(j, "type"), "opportunity");
  assert_string_equal(s(j, "version"), "1");
  assert_string_equal(s(j, "fields.stage"), "proposal");
  assert_non_null(s(j, "fields.createdAt"));
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/crm/records/opportunity", tok_admin, "{\"fields\":{\"name\":\"X\",\"stage\":\"dreaming\"}}", &j),
                   400);
  assert_non_null(strstr(s(j, "detail"), "fields.stage"));
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/crm/records/spaceship", tok_admin, "{\"fields\":{}}", &j), 404);
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/crm/records/lead", tok_worker, "{\"fields\":{\"name\":\"W\"}}", &j), 403);
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/crm/records/lead", tok_viewer, "{\"fields\":{\"name\":\"V\"}}", &j), 403);
  json_object_put(j);
  /* Update only the given fields; the trigger fires and the started instance completes. */
  snprintf(path, sizeof path, "/v2/crm/records/opportunity/%s", key);
  assert_int_equal(call("PATCH", path, tok_admin, "{\"fields\":{\"stage\":\"won\"}}", &j), 200);
  assert_string_equal(s(j, "version"), "2");
  assert_string_equal(s(j, "fields.name"), "Big");
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/process-instances/search", tok_viewer,
                        "{\"filter\":{\"processDefinitionId\":\"api_quick\",\"variables\":[{\"name\":\"n\",\"value\":\"33\"}]}}",
                        &j), 200);
  assert_int_equal(json_object_array_length(get(j, "items")), 1);
  assert_string_equal(s(j, "items.0.state"), "COMPLETED");
  json_object_put(j);
  assert_int_equal(call("GET", path, tok_viewer, NULL, &j), 200);
  assert_string_equal(s(j, "fields.stage"), "won");
  json_object_put(j);
  /* Search over fields; history with before and after. */
  assert_int_equal(call("POST", "/v2/crm/records/opportunity/search", tok_viewer,
                        "{\"filter\":{\"amount\":{\"$gte\":20.5},\"stage\":{\"$in\":[\"won\",\"lost\"]}},"
                        "\"sort\":[{\"field\":\"name\",\"order\":\"desc\"}]}",
                        &j), 200);
  assert_int_equal(json_object_array_length(get(j, "items")), 1);
  assert_string_equal(s(j, "items.0.recordKey"), key);
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/crm/records/opportunity/search", tok_viewer, "{\"filter\":{\"colour\":\"red\"}}", &j), 400);
  json_object_put(j);
  snprintf(path, sizeof path, "/v2/crm/records/opportunity/%s/history", key);
  assert_int_equal(call("GET", path, tok_viewer, NULL, &j), 200);
  assert_int_equal(json_object_array_length(get(j, "items")), 2);
  assert_string_equal(s(j, "items.1.changes.stage.from"), "proposal");
  assert_string_equal(s(j, "items.1.changes.stage.to"), "won");
  assert_string_equal(s(j, "items.0.by"), "api:ann");
  json_object_put(j);
  /* Types: a custom one, then records of it. */
  assert_int_equal(call("PUT", "/v2/crm/record-types/project", tok_admin,
                        "{\"fields\":[{\"name\":\"title\",\"type\":\"string\",\"required\":true}]}", &j), 200);
  json_object_put(j);
  assert_int_equal(call("POST", "/v2/crm/records/project", tok_admin, "{\"fields\":{}}", &j), 400);
  assert_non_null(strstr(s(j, "detail"), "fields.title"));
  json_object_put(j);
  assert_int_equal(call("GET", "/v2/crm/record-types", tok_viewer, NULL, &j), 200);
  assert_true(json_object_array_length(get(j, "items")) >= 8);
  json_object_put(j);
  snprintf(path, sizeof path, "/v2/crm/records/opportunity/%s", key);
  assert_int_equal(call("DELETE", path, tok_admin, NULL, NULL), 204);
  assert_int_equal(call("GET", path, tok_viewer, NULL, &j), 404);
  json_object_put(j);
}

static void test_ui_endpoints(void **state) {
  (void)state;
  struct json_object *j;
  char set[512], cookie[512];
  /* Sign in: a wrong password is a 401 without a challenge; the right one a cookie and a CSRF token. */
  assert_int_equal(call_cookie("POST", "/v2/crm/session", NULL, NULL, "{\"username\":\"ann\",\"password\":\"nope\"}", &j,
                               set),
                   401);
  json_object_put(j);
  assert_int_equal(call_cookie("POST", "/v2/crm/session", NULL, NULL,
                               "{\"username\":\"ann\",\"password\":\"ann-secret-1\"}", &j, set),
                   200);
  assert_non_null(strstr(set, "crmflow_session="));
  assert_non_null(strstr(set, "HttpOnly"));
  assert_non_null(strstr(set, "SameSite=Strict"));
  char csrf[80];
  snprintf(csrf, sizeof csrf, "%s", s(j, "csrfToken"));
  assert_int_equal(strlen(csrf), 64);
  assert_string_equal(s(j, "role"), "agent");
  json_object_put(j);
  snprintf(cookie, sizeof cookie, "theme=dark; %.*s", (int)strcspn(set, ";"), set);
  assert_int_equal(call_cookie("GET", "/v2/crm/me", cookie, NULL, NULL, &j, NULL), 200);
  assert_string_equal(s(j, "user"), "ann");
  json_object_put(j);
  /* A change with the cookie needs the token: another site's form cannot send it. */
  char inst[32], body[200];
  snprintf(inst, sizeof inst, "%s", start_order("UI-1"));
  for (int i = 0; i < 20; i++) {
    struct json_object *jobs;
    assert_int_equal(call("POST", "/v2/jobs/activation", tok_worker,
                          "{\"type\":\"api.charge\",\"timeout\":30000,\"maxJobsToActivate\":50,\"requestTimeout\":-1}",
                          &jobs),
                     200);
    size_t n = json_object_array_length(get(jobs, "jobs"));
    for (size_t k = 0; k < n; k++) {
      char p2[96];
      json_object *it = json_object_array_get_idx(get(jobs, "jobs"), k);
      snprintf(p2, sizeof p2, "/v2/jobs/%s/completion", json_object_get_string(json_object_object_get(it, "jobKey")));
      assert_int_equal(call("POST", p2, tok_worker, "{}", NULL), 204);
    }
    json_object_put(jobs);
    if (!n) break;
  }
  snprintf(body, sizeof body, "{\"filter\":{\"processInstanceKey\":\"%s\"}}", inst);
  assert_int_equal(call_cookie("POST", "/v2/user-tasks/search", cookie, NULL, body, &j, NULL), 403); /* every POST */
  json_object_put(j);
  assert_int_equal(call_cookie("POST", "/v2/user-tasks/search", cookie, csrf, body, &j, NULL), 200);
  assert_int_equal(json_object_array_length(get(j, "items")), 1);
  char task[32], path[128];
  snprintf(task, sizeof task, "%s", s(j, "items.0.userTaskKey"));
  json_object_put(j);
  snprintf(path, sizeof path, "/v2/user-tasks/%s/assignment", task);
  assert_int_equal(call_cookie("POST", path, cookie, NULL, "{\"assignee\":\"ann\"}", &j, NULL), 403);
  assert_non_null(strstr(s(j, "detail"), "X-CSRF-Token"));
  json_object_put(j);
  assert_int_equal(call_cookie("POST", path, cookie, "0000000000000000000000000000000000000000000000000000000000000000",
                               "{\"assignee\":\"ann\"}", &j, NULL),
                   403);
  json_object_put(j);
  assert_int_equal(call_cookie("POST", path, cookie, csrf, "{\"assignee\":\"ann\"}", NULL, NULL), 204);
  /* The task's embedded form. */
  snprintf(path, sizeof path, "/v2/user-tasks/%s/form", task);
  assert_int_equal(call_cookie("GET", path, cookie, NULL, NULL, &j, NULL), 200);
  assert_string_equal(s(j, "formKey"), "camunda-forms:bpmn:approval_form");
  assert_non_null(strstr(s(j, "schema"), "\"key\":\"approved\""));
  json_object_put(j);
  /* A forged or tampered cookie is refused; the session ends at sign-out, on the server too. */
  char forged[512];
  snprintf(forged, sizeof forged, "%s", cookie);
  forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == 'a' ? 'b' : 'a';
  assert_int_equal(call_cookie("GET", "/v2/crm/me", forged, NULL, NULL, &j, NULL), 401);
  json_object_put(j);
  assert_int_equal(call_cookie("DELETE", "/v2/crm/session", cookie, csrf, NULL, NULL, set), 204);
  assert_non_null(strstr(set, "Max-Age=0"));
  sleep(1);
  assert_int_equal(call_cookie("GET", "/v2/crm/me", cookie, NULL, NULL, &j, NULL), 401);
  json_object_put(j);
  /* The diagram's counts and the dashboard. */
  assert_int_equal(call("POST", "/v2/process-definitions/search", tok_viewer,
                        "{\"filter\":{\"processDefinitionId\":\"api_order\"}}", &j),
                   200);
  char def[32];
  snprintf(def, sizeof def, "%s", s(j, "items.0.processDefinitionKey"));
  json_object_put(j);
  snprintf(path, sizeof path, "/v2/crm/process-definitions/%s/statistics", def);
  assert_int_equal(call("GET", path, tok_viewer, NULL, &j), 200);
  bool approve = false;
  for (size_t i = 0; i < json_object_array_length(get(j, "items")); i++) {
    json_object *it = json_object_array_get_idx(get(j, "items"), i);
    if (!strcmp(json_object_get_string(json_object_object_get(it, "elementId")), "approve"))
      approve = json_object_get_int(json_object_object_get(it, "active")) >= 1;
  }
  assert_true(approve);
  json_object_put(j);
  assert_int_equal(call_full("GET", "/v2/crm/dashboard", "days=7", tok_viewer, NULL, NULL, 0, &j, NULL, 0, NULL), 200);
  assert_int_equal(json_object_array_length(get(j, "days")), 7);
  assert_true(json_object_get_int(get(j, "days.6.started")) >= 1);
  assert_non_null(get(j, "backlog"));
  assert_non_null(get(j, "slaBreaches.overdueTasks"));
  json_object_put(j);
  assert_int_equal(call_full("GET", "/v2/crm/dashboard", "days=0", tok_viewer, NULL, NULL, 0, &j, NULL, 0, NULL), 400);
  json_object_put(j);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_auth_and_roles),
      cmocka_unit_test(test_deploy),
      cmocka_unit_test(test_instances),
      cmocka_unit_test(test_jobs),
      cmocka_unit_test(test_user_tasks_and_messages),
      cmocka_unit_test(test_bad_requests),
      cmocka_unit_test(test_records),
      cmocka_unit_test(test_ui_endpoints),
      cmocka_unit_test(test_metrics),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
