/*
 * The API layer (cf_api.h): the route table, dispatch and lifecycle.
 *
 * A route is a method and a path pattern whose "{}" segment matches one
 * path segment (a key or a name). A path that no route has is a 404, a
 * known path with another method a 405 with Allow, both as problem+json
 * like every error. Before its handler runs, a route's permission is
 * checked against the principal of the request's bearer token (401 without
 * a valid one, 403 when its role may not).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/api_int.h"
#include "base/cf_alloc.h"
#include "crmflow/cf_error.h"

struct api_route {
  const char *method, *path;
  enum api_perm perm;
  bool (*fn)(struct api_ctx *c);
};

static const struct api_route routes[] = {
    {"GET", "/healthz", PERM_OPEN, api_h_healthz},
    {"GET", "/metrics", PERM_READ, api_h_metrics},
    {"GET", "/v2/topology", PERM_OPEN, api_h_topology},
    {"GET", "/v2/status", PERM_OPEN, api_h_status},
    {"GET", "/v2/license", PERM_OPEN, api_h_license},
    {"POST", "/v2/deployments", PERM_DEPLOY, api_h_deploy},
    {"POST", "/v2/process-definitions/search", PERM_READ, api_h_definition_search},
    {"GET", "/v2/process-definitions/{}", PERM_TASK_READ, api_h_definition_get},
    {"GET", "/v2/process-definitions/{}/xml", PERM_TASK_READ, api_h_definition_xml},
    {"POST", "/v2/process-instances", PERM_OPERATE, api_h_instance_create},
    {"POST", "/v2/process-instances/search", PERM_TASK_READ, api_h_instance_search},
    {"GET", "/v2/process-instances/{}", PERM_TASK_READ, api_h_instance_get},
    {"POST", "/v2/process-instances/{}/cancellation", PERM_OPERATE, api_h_instance_cancel},
    {"POST", "/v2/jobs/activation", PERM_JOB, api_h_job_activate},
    {"POST", "/v2/jobs/{}/completion", PERM_JOB, api_h_job_complete},
    {"POST", "/v2/jobs/{}/failure", PERM_JOB, api_h_job_fail},
    {"POST", "/v2/jobs/{}/error", PERM_JOB, api_h_job_error},
    {"PATCH", "/v2/jobs/{}", PERM_JOB, api_h_job_update},
    {"POST", "/v2/user-tasks/search", PERM_TASK_READ, api_h_task_search},
    {"GET", "/v2/user-tasks/{}", PERM_TASK_READ, api_h_task_get},
    {"POST", "/v2/user-tasks/{}/completion", PERM_TASK, api_h_task_complete},
    {"POST", "/v2/user-tasks/{}/assignment", PERM_TASK, api_h_task_assign},
    {"DELETE", "/v2/user-tasks/{}/assignee", PERM_TASK, api_h_task_unassign},
    {"POST", "/v2/messages/publication", PERM_OPERATE, api_h_message_publish},
    {"POST", "/v2/messages/correlation", PERM_OPERATE, api_h_message_correlate},
    {"POST", "/v2/signals/broadcast", PERM_OPERATE, api_h_signal_broadcast},
    {"POST", "/v2/incidents/search", PERM_READ, api_h_incident_search},
    {"GET", "/v2/incidents/{}", PERM_READ, api_h_incident_get},
    {"POST", "/v2/incidents/{}/resolution", PERM_OPERATE, api_h_incident_resolve},
    {"POST", "/v2/element-instances/search", PERM_TASK_READ, api_h_element_search},
    {"GET", "/v2/element-instances/{}", PERM_READ, api_h_element_get},
    {"POST", "/v2/variables/search", PERM_TASK_READ, api_h_variable_search},
    {"GET", "/v2/variables/{}", PERM_READ, api_h_variable_get},
    {"GET", "/v2/crm/me", PERM_SELF, api_h_me},
    {"POST", "/v2/crm/session", PERM_OPEN, api_h_session_create},
    {"DELETE", "/v2/crm/session", PERM_SELF, api_h_session_delete},
    {"GET", "/v2/user-tasks/{}/form", PERM_TASK_READ, api_h_task_form},
    {"GET", "/v2/crm/process-definitions/{}/statistics", PERM_TASK_READ, api_h_definition_statistics},
    {"GET", "/v2/crm/dashboard", PERM_READ, api_h_dashboard},
    {"POST", "/v2/crm/tokens", PERM_ADMIN, api_h_token_create},
    {"GET", "/v2/crm/tokens", PERM_ADMIN, api_h_token_list},
    {"DELETE", "/v2/crm/tokens/{}", PERM_ADMIN, api_h_token_delete},
    {"POST", "/v2/crm/users", PERM_ADMIN, api_h_user_create},
    {"GET", "/v2/crm/users", PERM_ADMIN, api_h_user_list},
    {"GET", "/v2/crm/users/{}", PERM_ADMIN, api_h_user_get},
    {"PATCH", "/v2/crm/users/{}", PERM_ADMIN, api_h_user_update},
    {"DELETE", "/v2/crm/users/{}", PERM_ADMIN, api_h_user_delete},
    {"POST", "/v2/crm/groups", PERM_ADMIN, api_h_group_create},
    {"GET", "/v2/crm/groups", PERM_ADMIN, api_h_group_list},
    {"GET", "/v2/crm/groups/{}", PERM_ADMIN, api_h_group_get},
    {"DELETE", "/v2/crm/groups/{}", PERM_ADMIN, api_h_group_delete},
    {"GET", "/v2/crm/process-instances/{}/history", PERM_READ, api_h_history},
    {"GET", "/v2/crm/record-types", PERM_RECORDS_READ, api_h_record_types},
    {"GET", "/v2/crm/record-types/{}", PERM_RECORDS_READ, api_h_record_type_get},
    {"PUT", "/v2/crm/record-types/{}", PERM_DESIGN, api_h_record_type_put},
    {"POST", "/v2/crm/records/{}", PERM_RECORDS, api_h_record_create},
    {"POST", "/v2/crm/records/{}/search", PERM_RECORDS_READ, api_h_record_search},
    {"GET", "/v2/crm/records/{}/{}", PERM_RECORDS_READ, api_h_record_get},
    {"PATCH", "/v2/crm/records/{}/{}", PERM_RECORDS, api_h_record_update},
    {"DELETE", "/v2/crm/records/{}/{}", PERM_RECORDS, api_h_record_delete},
    {"GET", "/v2/crm/records/{}/{}/history", PERM_RECORDS_READ, api_h_record_history},
    {"GET", "/v2/crm/records/{}/{}/personal-data", PERM_ADMIN, api_h_personal_export},
    {"POST", "/v2/crm/records/{}/{}/erasure", PERM_ADMIN, api_h_personal_erase},
    {"POST", "/v2/crm/triggers", PERM_DESIGN, api_h_trigger_create},
    {"GET", "/v2/crm/triggers", PERM_RECORDS_READ, api_h_trigger_list},
    {"DELETE", "/v2/crm/triggers/{}", PERM_DESIGN, api_h_trigger_delete},
};

#define NROUTES (sizeof routes / sizeof routes[0])

size_t api_route_count(void) { return NROUTES; }

const char *api_route_label(size_t i, const char **method) {
  *method = routes[i].method;
  return routes[i].path;
}

/* Latency buckets (ms), Prometheus style upper bounds; a last +Inf. */
const double api_lat_bounds_ms[API_LAT_BUCKETS] = {0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000, 5000};

int64_t api_now(const struct cf_api *api) {
  if (api->rt) return cf_runtime_now(api->rt);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cf_api_response_init(struct cf_api_response *res) {
  res->status = 500;
  res->allow[0] = '\0';
  res->content_type = "application/json";
  res->www_authenticate = NULL;
  res->cache_control = NULL;
  res->set_cookie[0] = '\0';
  cf_buf_init(&res->body);
}

void cf_api_response_release(struct cf_api_response *res) { cf_buf_release(&res->body); }

/* ------------------------------------------------------------ answers */

static double mono_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void record(struct cf_api *api, int route, double started, int status) {
  if (status >= 100 && status < 600) __atomic_fetch_add(&api->status_counts[status / 100], 1, __ATOMIC_RELAXED);
  if (route < 0 || !started) return;
  double ms = (mono_now() - started) * 1e3;
  size_t b = 0;
  while (b < API_LAT_BUCKETS && ms > api_lat_bounds_ms[b]) b++;
  __atomic_fetch_add(&api->lat[route][b], 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&api->lat_count[route], 1, __ATOMIC_RELAXED);
  /* A double sum kept in integer microseconds, so it can be added atomically. */
  __atomic_fetch_add(&api->lat_sum_us[route], (uint64_t)(ms * 1e3), __ATOMIC_RELAXED);
}

void api_reply_from(struct api_reply *r, const struct api_ctx *c) {
  r->api = c->api;
  r->res = c->res;
  r->done = c->done;
  r->done_arg = c->done_arg;
  r->route = c->route;
  r->started = c->req->started;
  snprintf(r->path, sizeof r->path, "%s", c->req->path ? c->req->path : "");
}

void api_reply_finish(struct api_reply *r) {
  if (r->res->body.oom) cf_api_problem(r->res, 500, "INTERNAL", "out of memory", r->path);
  record(r->api, r->route, r->started, r->res->status);
  if (r->done) r->done(r->done_arg);
}

void api_error_problem(struct cf_api_response *res, const struct cf_error *err, const char *instance) {
  int status = 500;
  const char *title = "INTERNAL";
  switch (err->code) {
  case CF_EINVAL:
  case CF_ESYNTAX:
  case CF_ETYPE:
  case CF_ERANGE:
  case CF_EUNSUPPORTED:
  case CF_EEVAL:
    status = 400, title = "INVALID_ARGUMENT";
    break;
  case CF_ENOTFOUND:
    status = 404, title = "NOT_FOUND";
    break;
  case CF_ECONFLICT:
    status = 409, title = "INVALID_STATE";
    break;
  case CF_EUNAVAILABLE:
  case CF_ELIMIT:
    status = 503, title = "RESOURCE_EXHAUSTED";
    break;
  default:
    break;
  }
  cf_api_problem(res, status, title, err->msg[0] ? err->msg : cf_strerror(err->code), instance);
}

/* ------------------------------------------------------------ commands */

static int cmd_op(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct api_cmd *c = arg;
  int rc = cf_runtime_set_actor(rt, c->actor);
  if (rc) return cf_error_set(err, rc, "out of memory");
  return c->run(rt, c, err);
}

static void cmd_done(void *arg, int rc, const struct cf_error *err) {
  struct api_cmd *c = arg;
  struct cf_api_response *res = c->reply.res;
  cf_buf_reset(&res->body);
  if (rc && c->refuse_status == 403) {
    cf_api_problem(res, 403, "FORBIDDEN", err->msg, c->reply.path);
  } else if (rc) {
    api_error_problem(res, err, c->reply.path);
  } else if (c->answer) {
    if (!c->answer(c)) return; /* handed on: answered and released later */
  } else {
    res->status = 204;
    res->content_type = "application/json";
  }
  struct api_reply reply = c->reply;
  c->release(c);
  api_reply_finish(&reply);
}

bool api_cmd_submit(struct api_ctx *ctx, struct api_cmd *c) {
  api_reply_from(&c->reply, ctx);
  c->who = ctx->who;
  snprintf(c->actor, sizeof c->actor, "api:%s", ctx->who.name[0] ? ctx->who.name : "anonymous");
  struct cf_error err;
  cf_error_clear(&err);
  if (!ctx->api->writer) {
    c->release(c);
    return api_fail(ctx, 503, "UNAVAILABLE", "this server takes no commands");
  }
  if (ctx->api->stopping ||
      cf_runtime_writer_submit_async(ctx->api->writer, cmd_op, c, cmd_done, c, &err) != CF_OK) {
    c->release(c);
    return api_fail(ctx, 503, "RESOURCE_EXHAUSTED", "%s", err.msg[0] ? err.msg : "the server is stopping");
  }
  return false;
}

struct key_cmd {
  struct api_cmd cmd;
  uint64_t key;
};

static void key_release(struct api_cmd *c) { cf_free(c); }

uint64_t api_cmd_key(const struct api_cmd *c) { return ((const struct key_cmd *)c)->key; }

bool api_key_command(struct api_ctx *ctx, int (*run)(struct cf_runtime *rt, struct api_cmd *c, struct cf_error *err)) {
  uint64_t key;
  if (!api_path_key(ctx, &key)) return true;
  struct json_object *body = api_body(ctx, true); /* must be JSON when there is one */
  if (!body) return true;
  json_object_put(body);
  struct key_cmd *k = cf_calloc(1, sizeof *k);
  if (!k) return api_fail(ctx, 500, "INTERNAL", "out of memory");
  k->key = key;
  k->cmd.run = run;
  k->cmd.release = key_release;
  return api_cmd_submit(ctx, &k->cmd);
}

/* ------------------------------------------------------------ readers */

int api_reader_get(struct cf_api *api, struct api_reader **out, struct cf_error *err) {
  pthread_mutex_lock(&api->mu);
  struct api_reader *r = api->readers;
  if (r) api->readers = r->next;
  pthread_mutex_unlock(&api->mu);
  if (!r) {
    if (!api->db) return cf_error_set(err, CF_EUNAVAILABLE, "this server has no database");
    if (!(r = cf_calloc(1, sizeof *r))) return cf_error_set(err, CF_ENOMEM, "out of memory");
    int rc = cf_store_open(api->db, CF_STORE_READONLY, &r->ops, &r->st, err);
    if (rc) {
      cf_free(r);
      return rc;
    }
  }
  r->next = NULL;
  *out = r;
  return CF_OK;
}

struct api_reader *api_reader_for(struct api_ctx *c) {
  struct api_reader *r = NULL;
  struct cf_error err;
  cf_error_clear(&err);
  if (api_reader_get(c->api, &r, &err)) {
    api_error_problem(c->res, &err, c->req->path);
    return NULL;
  }
  return r;
}

void api_reader_put(struct cf_api *api, struct api_reader *r) {
  if (!r) return;
  pthread_mutex_lock(&api->mu);
  r->next = api->readers;
  api->readers = r;
  pthread_mutex_unlock(&api->mu);
}

/* ------------------------------------------------------------ definitions */

static void def_free(struct api_def *d) {
  if (!d) return;
  cf_free(d->process_id);
  cf_free(d->name);
  cf_free(d->version_tag);
  cf_free(d->resource_name);
  cf_bpmn_model_free(d->model);
  cf_free(d);
}

const struct api_def *api_def(struct cf_api *api, struct api_reader *r, uint64_t key, struct cf_error *err) {
  size_t b = (size_t)(key * 0x9E3779B97F4A7C15ull >> 56) % API_DEF_BUCKETS;
  pthread_mutex_lock(&api->mu);
  for (struct api_def *d = api->defs[b]; d; d = d->next)
    if (d->key == key) {
      pthread_mutex_unlock(&api->mu);
      return d;
    }
  pthread_mutex_unlock(&api->mu);
  struct cf_store_definition sd;
  memset(&sd, 0, sizeof sd);
  int rc = r->ops->definition_by_key(r->st, key, &sd, err);
  if (rc) return NULL;
  struct api_def *d = cf_calloc(1, sizeof *d);
  struct cf_bpmn_problems probs;
  cf_bpmn_problems_init(&probs);
  if (d) {
    d->key = key;
    d->version = sd.version;
    d->deployment_key = sd.deployment_key;
    d->model = cf_bpmn_parse(sd.xml, sd.xml_len, sd.resource_name, &probs);
    int32_t p = d->model ? cf_bpmn_find_process(d->model, sd.process_id) : -1;
    d->process = p < 0 ? 0 : (uint32_t)p;
    const char *name = p >= 0 && d->model->processes[p].name ? d->model->processes[p].name : sd.process_id;
    if (!(d->process_id = cf_strdup(sd.process_id)) || !(d->name = cf_strdup(name)) ||
        !(d->resource_name = cf_strdup(sd.resource_name ? sd.resource_name : "")) ||
        (sd.version_tag && !(d->version_tag = cf_strdup(sd.version_tag)))) {
      def_free(d);
      d = NULL;
    }
  }
  cf_bpmn_problems_release(&probs);
  cf_store_definition_release(&sd);
  if (!d) {
    cf_error_set(err, CF_ENOMEM, "out of memory");
    return NULL;
  }
  pthread_mutex_lock(&api->mu);
  for (struct api_def *o = api->defs[b]; o; o = o->next)
    if (o->key == key) { /* another thread was quicker */
      pthread_mutex_unlock(&api->mu);
      def_free(d);
      return o;
    }
  d->next = api->defs[b];
  api->defs[b] = d;
  pthread_mutex_unlock(&api->mu);
  return d;
}

static const struct cf_bpmn_element *element_of(const struct api_def *d, const char *element_id) {
  if (!d || !d->model || !element_id) return NULL;
  int32_t i = cf_bpmn_find_element(d->model, element_id);
  return i < 0 ? NULL : &d->model->elements[i];
}

const char *api_element_name(const struct api_def *d, const char *element_id) {
  const struct cf_bpmn_element *e = element_of(d, element_id);
  return e && e->name ? e->name : element_id;
}

const char *api_element_type(const struct api_def *d, const char *element_id) {
  const struct cf_bpmn_element *e = element_of(d, element_id);
  if (e && e->multi) return "MULTI_INSTANCE_BODY";
  return api_element_inner_type(d, element_id);
}

const char *api_element_inner_type(const struct api_def *d, const char *element_id) {
  const struct cf_bpmn_element *e = element_of(d, element_id);
  if (!e) return "UNKNOWN";
  switch (e->type) {
  case CF_BPMN_START_EVENT: return "START_EVENT";
  case CF_BPMN_END_EVENT: return "END_EVENT";
  case CF_BPMN_INTERMEDIATE_CATCH_EVENT: return "INTERMEDIATE_CATCH_EVENT";
  case CF_BPMN_INTERMEDIATE_THROW_EVENT: return "INTERMEDIATE_THROW_EVENT";
  case CF_BPMN_BOUNDARY_EVENT: return "BOUNDARY_EVENT";
  case CF_BPMN_TASK: return "TASK";
  case CF_BPMN_SERVICE_TASK: return "SERVICE_TASK";
  case CF_BPMN_SEND_TASK: return "SEND_TASK";
  case CF_BPMN_RECEIVE_TASK: return "RECEIVE_TASK";
  case CF_BPMN_USER_TASK: return "USER_TASK";
  case CF_BPMN_MANUAL_TASK: return "MANUAL_TASK";
  case CF_BPMN_SCRIPT_TASK: return "SCRIPT_TASK";
  case CF_BPMN_BUSINESS_RULE_TASK: return "BUSINESS_RULE_TASK";
  case CF_BPMN_EXCLUSIVE_GATEWAY: return "EXCLUSIVE_GATEWAY";
  case CF_BPMN_PARALLEL_GATEWAY: return "PARALLEL_GATEWAY";
  case CF_BPMN_INCLUSIVE_GATEWAY: return "INCLUSIVE_GATEWAY";
  case CF_BPMN_EVENT_BASED_GATEWAY: return "EVENT_BASED_GATEWAY";
  case CF_BPMN_SUB_PROCESS: return "SUB_PROCESS";
  case CF_BPMN_EVENT_SUB_PROCESS: return "EVENT_SUB_PROCESS";
  case CF_BPMN_AD_HOC_SUB_PROCESS: return "AD_HOC_SUB_PROCESS";
  case CF_BPMN_CALL_ACTIVITY: return "CALL_ACTIVITY";
  default: return "UNKNOWN";
  }
}

/* ------------------------------------------------------------ dispatch */

/* Whether path matches pattern; params[k]/plens[k]: the k-th "{}" segment (at most 2); *np: how many. */
static bool match(const char *pattern, const char *path, const char *params[2], size_t plens[2], int *np) {
  *np = 0;
  for (;;) {
    if (pattern[0] == '{' && pattern[1] == '}') {
      size_t n = strcspn(path, "/");
      if (!n || *np == 2) return false;
      params[*np] = path;
      plens[(*np)++] = n;
      pattern += 2;
      path += n;
      continue;
    }
    if (*pattern != *path) return false;
    if (!*pattern) return true;
    pattern++;
    path++;
  }
}

bool cf_api_handle(struct cf_api *api, const struct cf_api_request *req, struct cf_api_response *res,
                   cf_api_done_fn done, void *done_arg) {
  cf_buf_reset(&res->body);
  const char *method = req->method ? req->method : "";
  const char *path = req->path ? req->path : "";
  char allow[64] = "";
  char param[2][256];
  /* The routes with the fewest "{}" that match decide: a path a route names word for word
   * (/v2/process-instances/search) is that route's, not a key of the pattern beside it
   * (/v2/process-instances/{}). */
  int fewest = 3;
  for (size_t i = 0; i < NROUTES; i++) {
    const char *p[2];
    size_t pl[2];
    int np;
    if (match(routes[i].path, path, p, pl, &np) && np < fewest) fewest = np;
  }
  for (size_t i = 0; i < NROUTES; i++) {
    const char *p[2];
    size_t plen[2];
    int np;
    if (!match(routes[i].path, path, p, plen, &np) || np != fewest) continue;
    bool head = !strcmp(method, "HEAD") && !strcmp(routes[i].method, "GET");
    if (strcmp(routes[i].method, method) && !head) {
      size_t len = strlen(allow);
      if (!strstr(allow, routes[i].method))
        snprintf(allow + len, sizeof allow - len, "%s%s", len ? ", " : "", routes[i].method);
      continue;
    }
    struct api_ctx c = {.api = api, .req = req, .res = res, .done = done, .done_arg = done_arg, .route = (int)i};
    for (int k = 0; k < np; k++) {
      if (plen[k] >= sizeof param[k]) {
        cf_api_problem(res, 400, "INVALID_ARGUMENT", "the path segment is too long", path);
        record(api, (int)i, req->started, res->status);
        return true;
      }
      memcpy(param[k], p[k], plen[k]);
      param[k][plen[k]] = '\0';
    }
    /* param: the last segment (a key: /v2/jobs/{key}/..., /v2/crm/records/{type}/{key}); param0 the first. */
    if (np) {
      c.param = param[np - 1];
      c.param0 = param[0];
    }
    if (routes[i].perm != PERM_OPEN) {
      if (!api_authenticate(&c)) {
        record(api, (int)i, req->started, res->status);
        return true;
      }
      if (!api_allowed(&c.who, routes[i].perm)) {
        char detail[300];
        snprintf(detail, sizeof detail, "the role %s may not %s %s", api_role_name(c.who.role), routes[i].method,
                 routes[i].path);
        cf_api_problem(res, 403, "FORBIDDEN", detail, path);
        record(api, (int)i, req->started, res->status);
        return true;
      }
    }
    bool now = routes[i].fn(&c);
    if (now) {
      if (res->body.oom) cf_api_problem(res, 500, "INTERNAL", "out of memory", path);
      record(api, (int)i, req->started, res->status);
    }
    return now;
  }
  char detail[160];
  if (allow[0]) {
    snprintf(detail, sizeof detail, "%s is not allowed on %s (allowed: %s)", method, path, allow);
    cf_api_problem(res, 405, "METHOD_NOT_ALLOWED", detail, path);
    snprintf(res->allow, sizeof res->allow, "%s", allow);
  } else {
    cf_api_problem(res, 404, "NOT_FOUND", "no such endpoint", path);
  }
  record(api, -1, 0, res->status);
  return true;
}

/* ------------------------------------------------------------ the endpoints without data */

bool api_h_healthz(struct api_ctx *c) {
  cf_buf_puts(&c->res->body, "{\"status\":\"UP\",\"version\":");
  cf_buf_json_string(&c->res->body, c->api->version, strlen(c->api->version));
  cf_buf_putc(&c->res->body, '}');
  return api_ok_json(c);
}

/* The Camunda 8 REST API version this subset follows (shared/camunda-rest.md), as a JSON string. */
#define CAMUNDA_VERSION "\"8.8.0\""

/*
 * A single-node engine: one broker, one partition it leads (shared/camunda-rest.md §2.1). The
 * versions are the Camunda API version spoken, as clients compare them; crmflow's own is in
 * /healthz.
 */
bool api_h_topology(struct api_ctx *c) {
  struct cf_buf *b = &c->res->body;
  cf_buf_puts(b, "{\"brokers\":[{\"nodeId\":0,\"host\":");
  cf_buf_json_string(b, c->api->host, strlen(c->api->host));
  cf_buf_printf(b, ",\"port\":%d,\"partitions\":[{\"partitionId\":1,\"role\":\"leader\",\"health\":\"healthy\"}],"
                   "\"version\":",
                c->api->port);
  cf_buf_puts(b, CAMUNDA_VERSION);
  cf_buf_puts(b, "}],\"clusterSize\":1,\"partitionsCount\":1,\"replicationFactor\":1,\"gatewayVersion\":");
  cf_buf_puts(b, CAMUNDA_VERSION);
  cf_buf_puts(b, ",\"lastCompletedChangeId\":\"-1\"}");
  return api_ok_json(c);
}

/* 204 while the server takes commands; 503 while it stops. */
bool api_h_status(struct api_ctx *c) {
  if (c->api->stopping) return api_fail(c, 503, "UNAVAILABLE", "the server is stopping");
  return api_no_content(c);
}

/* crmflow has no license to check: a valid, non-commercial one, never expiring. */
bool api_h_license(struct api_ctx *c) {
  cf_buf_puts(&c->res->body, "{\"validLicense\":true,\"licenseType\":\"self-managed\",\"isCommercial\":false,"
                             "\"expiresAt\":null}");
  return api_ok_json(c);
}

/* ------------------------------------------------------------ lifecycle */

int cf_api_new(const struct cf_api_opts *o, struct cf_api **out, struct cf_error *err) {
  *out = NULL;
  struct cf_api *api = cf_calloc(1, sizeof *api);
  if (!api) return cf_error_set(err, CF_ENOMEM, "out of memory");
  pthread_mutex_init(&api->mu, NULL);
  api->port = o->port;
  api->rt = o->rt;
  api->writer = o->writer;
  api->crm = o->crm;
  api->no_auth = o->no_auth;
  api->long_poll_ms = o->long_poll_ms > 0 ? o->long_poll_ms : 10000;
  api->max_depth = o->max_json_depth ? o->max_json_depth : 64;
  api->max_resource = o->max_resource ? o->max_resource : 4u << 20;
  api->session_ms = o->session_ms > 0 ? o->session_ms : 8LL * 3600 * 1000;
  if (!(api->version = cf_strdup(o->version ? o->version : "0.0.0")) ||
      !(api->host = cf_strdup(o->host ? o->host : "127.0.0.1")) || (o->db && !(api->db = cf_strdup(o->db))) ||
      !(api->lat = cf_calloc(NROUTES, sizeof *api->lat)) ||
      !(api->lat_sum_us = cf_calloc(NROUTES, sizeof *api->lat_sum_us)) ||
      !(api->lat_count = cf_calloc(NROUTES, sizeof *api->lat_count)) || api_auth_init(api) ||
      api_park_init(api)) {
    cf_api_free(api);
    return cf_error_set(err, CF_ENOMEM, "out of memory");
  }
  /* Open one reader now: a database that cannot be read is said at start, not at the first request. */
  if (api->db) {
    struct api_reader *r;
    int rc = api_reader_get(api, &r, err);
    if (rc) {
      cf_api_free(api);
      return rc;
    }
    api_reader_put(api, r);
    if ((rc = api_session_init(api, err))) {
      cf_api_free(api);
      return rc;
    }
  }
  *out = api;
  return CF_OK;
}

void cf_api_notify(struct cf_api *api) {
  if (api) api_park_notify(api);
}

void cf_api_shutdown(struct cf_api *api) {
  if (!api) return;
  api->stopping = true;
  api_park_shutdown(api);
}

void cf_api_free(struct cf_api *api) {
  if (!api) return;
  api_park_free(api);
  api_auth_free(api);
  for (struct api_reader *r = api->readers, *next; r; r = next) {
    next = r->next;
    r->ops->close(r->st);
    cf_free(r);
  }
  for (size_t b = 0; b < API_DEF_BUCKETS; b++)
    for (struct api_def *d = api->defs[b], *next; d; d = next) {
      next = d->next;
      def_free(d);
    }
  pthread_mutex_destroy(&api->mu);
  cf_free(api->lat);
  cf_free(api->lat_sum_us);
  cf_free(api->lat_count);
  cf_free(api->version);
  cf_free(api->host);
  cf_free(api->db);
  cf_free(api);
}
