/*
 * Camunda endpoints: deployments, process definitions and instances,
 * messages and signals (shared/camunda-rest.md §2.3–2.7, 2.11, 2.15).
 *
 * Reads go through the API's read-only store handles; commands become
 * struct api_cmd for the writer and are answered once durable.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "base/cf_alloc.h"

#define TENANT "<default>"

static const char *const instance_states[] = {"ACTIVE", "COMPLETED", "TERMINATED", NULL};

/* ------------------------------------------------------------ shared pieces */

/* Parses a search body and answers it. */
static bool search_endpoint(struct api_ctx *c, const struct api_search_spec *spec, api_item_fn write_item) {
  struct json_object *body = api_body(c, true);
  if (!body) return true;
  struct api_search s;
  bool ok = api_search_parse(c, body, spec, &s);
  if (ok) api_search_answer(c, &s, write_item);
  api_search_release(&s);
  json_object_put(body);
  return true;
}

/* A single row by key through a search (the same cached statement as the searches). */
static int one_row(struct cf_api *api, enum cf_store_entity entity, uint64_t key, struct api_reader **rd,
                   struct cf_store_result *res, struct cf_error *err) {
  struct cf_store_qvalue v = {.num = (int64_t)key};
  struct cf_store_qcond cond = {.field = "key", .op = CF_STORE_EQ, .values = &v, .nvalues = 1};
  struct cf_store_query q = {.entity = entity, .conds = &cond, .nconds = 1, .limit = 1};
  memset(res, 0, sizeof *res);
  int rc = api_reader_get(api, rd, err);
  if (rc) return rc;
  rc = (*rd)->ops->search((*rd)->st, &q, res, err);
  if (!rc && !res->n) rc = cf_error_set(err, CF_ENOTFOUND, "no such key: %" PRIu64, key);
  return rc;
}

/* ------------------------------------------------------------ deployments */

struct deploy_cmd {
  struct api_cmd cmd;
  size_t n;
  char **names, **data;
  size_t *lens;
  struct cf_runtime_deployed *out;
  size_t nout;
};

static void deploy_release(struct api_cmd *c) {
  struct deploy_cmd *d = (struct deploy_cmd *)c;
  for (size_t i = 0; i < d->n; i++) {
    if (d->names) cf_free(d->names[i]);
    if (d->data) cf_free(d->data[i]);
  }
  cf_free(d->names);
  cf_free(d->data);
  cf_free(d->lens);
  cf_runtime_deployed_release(d->out, d->nout);
  cf_free(d);
}

static int deploy_run(struct cf_runtime *rt, struct api_cmd *c, struct cf_error *err) {
  struct deploy_cmd *d = (struct deploy_cmd *)c;
  /* All or nothing: one operation (one savepoint) for every resource. */
  for (size_t i = 0; i < d->n; i++) {
    struct cf_runtime_deployed *out = NULL;
    size_t n = 0;
    int rc = cf_runtime_deploy(rt, d->names[i], d->data[i], d->lens[i], &out, &n, NULL, err);
    if (rc) return rc;
    struct cf_runtime_deployed *all = cf_realloc(d->out, (d->nout + n) * sizeof *all);
    if (!all && n) {
      cf_runtime_deployed_release(out, n);
      return cf_error_set(err, CF_ENOMEM, "out of memory");
    }
    if (n) memcpy(all + d->nout, out, n * sizeof *out);
    d->out = all;
    d->nout += n;
    cf_free(out);
  }
  if (!d->nout) return cf_error_set(err, CF_EINVAL, "the resources hold no executable process");
  return CF_OK;
}

static bool deploy_answer(struct api_cmd *c) {
  struct deploy_cmd *d = (struct deploy_cmd *)c;
  struct cf_buf *b = &c->reply.res->body;
  cf_buf_puts(b, "{");
  api_json_key(b, "deploymentKey", d->out[0].deployment_key, true);
  api_json_str(b, "tenantId", TENANT, false);
  cf_buf_puts(b, ",\"deployments\":[");
  for (size_t i = 0; i < d->nout; i++) {
    cf_buf_puts(b, i ? ",{\"processDefinition\":{" : "{\"processDefinition\":{");
    api_json_str(b, "processDefinitionId", d->out[i].process_id, true);
    api_json_int(b, "processDefinitionVersion", d->out[i].version, false);
    api_json_str(b, "resourceName", d->out[i].resource_name, false);
    api_json_str(b, "tenantId", TENANT, false);
    api_json_key(b, "processDefinitionKey", d->out[i].definition_key, false);
    cf_buf_puts(b, "}}");
  }
  cf_buf_puts(b, "]}");
  c->reply.res->status = 200;
  c->reply.res->content_type = "application/json";
  return true;
}

static bool is_bpmn_name(const char *name) {
  size_t n = strlen(name);
  return (n > 5 && !strcmp(name + n - 5, ".bpmn")) || (n > 4 && !strcmp(name + n - 4, ".xml"));
}

bool api_h_deploy(struct api_ctx *c) {
  struct api_part *parts = NULL;
  size_t n = 0;
  struct cf_error err;
  cf_error_clear(&err);
  if (api_multipart(c->req->content_type, c->req->body, c->req->body_len, &parts, &n, &err))
    return api_bad(c, "%s.", err.msg);
  struct deploy_cmd *d = cf_calloc(1, sizeof *d);
  size_t nres = 0;
  for (size_t i = 0; i < n; i++) nres += !strcmp(parts[i].name, "resources") || !strcmp(parts[i].name, "resource");
  bool answered = false;
  if (!d || (nres && (!(d->names = cf_calloc(nres, sizeof *d->names)) || !(d->data = cf_calloc(nres, sizeof *d->data)) ||
                      !(d->lens = cf_calloc(nres, sizeof *d->lens))))) {
    answered = api_fail(c, 500, "INTERNAL", "out of memory");
    goto out;
  }
  for (size_t i = 0; i < n && !answered; i++) {
    const struct api_part *p = &parts[i];
    if (!strcmp(p->name, "tenantId")) {
      if (p->len && !(p->len == strlen(TENANT) && !memcmp(p->data, TENANT, p->len)))
        answered = api_bad(c, "Expected to handle request with tenant identifier '%.*s', but multi-tenancy is "
                              "disabled.",
                           (int)(p->len > 100 ? 100 : p->len), p->data);
      continue;
    }
    if (strcmp(p->name, "resources") && strcmp(p->name, "resource")) continue; /* unknown parts: ignored */
    const char *name = p->filename && *p->filename ? p->filename : "resource.bpmn";
    if (!is_bpmn_name(name)) {
      answered = api_bad(c, "The resource %.200s is not a BPMN model (.bpmn or .xml): crmflow deploys BPMN only.", name);
      break;
    }
    if (p->len > c->api->max_resource) {
      answered = api_bad(c, "The resource %.200s is %zu bytes, more than the %zu a resource may have.", name, p->len,
                         c->api->max_resource);
      break;
    }
    if (!(d->names[d->n] = cf_strdup(name)) || !(d->data[d->n] = cf_malloc(p->len + 1))) {
      answered = api_fail(c, 500, "INTERNAL", "out of memory");
      d->n++;
      break;
    }
    memcpy(d->data[d->n], p->data, p->len);
    d->data[d->n][p->len] = '\0';
    d->lens[d->n] = p->len;
    d->n++;
  }
  if (!answered && !d->n) answered = api_bad(c, "No resources provided (multipart parts named 'resources').");
out:
  api_parts_free(parts, n);
  if (answered) {
    if (d) deploy_release(&d->cmd);
    return true;
  }
  d->cmd.run = deploy_run;
  d->cmd.answer = deploy_answer;
  d->cmd.release = deploy_release;
  return api_cmd_submit(c, &d->cmd);
}

/* ------------------------------------------------------------ process definitions */

static const struct api_field definition_fields[] = {
    {"processDefinitionKey", "key", FT_KEY, NULL, true},
    {"processDefinitionId", "process_id", FT_STRING, NULL, true},
    {"version", "version", FT_INT, NULL, true},
    {"versionTag", "version_tag", FT_STRING, NULL, true},
    {"resourceName", "resource_name", FT_STRING, NULL, true},
    {"isLatestVersion", "latest", FT_BOOL, NULL, false},
    {"name", NULL, FT_STRING, NULL, false},
    {"hasStartForm", NULL, FT_BOOL, NULL, false},
};

static const struct api_search_spec definition_spec = {CF_STORE_DEFINITIONS, definition_fields,
                                                       sizeof definition_fields / sizeof definition_fields[0]};

static void write_definition(struct api_ctx *c, const struct api_def *d) {
  struct cf_buf *b = &c->res->body;
  cf_buf_putc(b, '{');
  api_json_str(b, "name", d->name, true);
  api_json_str(b, "resourceName", d->resource_name, false);
  api_json_int(b, "version", d->version, false);
  if (d->version_tag) api_json_str(b, "versionTag", d->version_tag, false);
  api_json_str(b, "processDefinitionId", d->process_id, false);
  api_json_str(b, "tenantId", TENANT, false);
  api_json_key(b, "processDefinitionKey", d->key, false);
  api_json_bool(b, "hasStartForm", false, false);
  cf_buf_putc(b, '}');
}

static void definition_item(struct api_ctx *c, struct api_reader *r, const struct cf_store_result *res, size_t i) {
  struct cf_error err;
  const struct api_def *d = api_def(c->api, r, res->definitions[i].key, &err);
  if (d) write_definition(c, d);
  else cf_buf_puts(&c->res->body, "{}");
}

bool api_h_definition_search(struct api_ctx *c) { return search_endpoint(c, &definition_spec, definition_item); }

static const struct api_def *path_def(struct api_ctx *c) {
  uint64_t key;
  if (!api_path_key(c, &key)) return NULL;
  struct api_reader *r;
  struct cf_error err;
  cf_error_clear(&err);
  const struct api_def *d = NULL;
  if (!api_reader_get(c->api, &r, &err)) {
    d = api_def(c->api, r, key, &err);
    api_reader_put(c->api, r);
  }
  if (!d) {
    if (err.code == CF_ENOTFOUND) api_fail(c, 404, "NOT_FOUND", "No process definition with key %s.", c->param);
    else api_error_problem(c->res, &err, c->req->path);
  }
  return d;
}

bool api_h_definition_get(struct api_ctx *c) {
  const struct api_def *d = path_def(c);
  if (!d) return true;
  write_definition(c, d);
  return api_ok_json(c);
}

bool api_h_definition_xml(struct api_ctx *c) {
  uint64_t key;
  if (!api_path_key(c, &key)) return true;
  struct api_reader *r = api_reader_for(c);
  if (!r) return true;
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_store_definition sd;
  memset(&sd, 0, sizeof sd);
  int rc = r->ops->definition_by_key(r->st, key, &sd, &err);
  api_reader_put(c->api, r);
  if (rc == CF_ENOTFOUND) return api_fail(c, 404, "NOT_FOUND", "No process definition with key %s.", c->param);
  if (rc) return api_error_problem(c->res, &err, c->req->path), true;
  cf_buf_append(&c->res->body, sd.xml, sd.xml_len);
  cf_store_definition_release(&sd);
  c->res->status = 200;
  c->res->content_type = "text/xml";
  return true;
}

/* ------------------------------------------------------------ process instances */

static const struct api_field instance_fields[] = {
    {"processInstanceKey", "key", FT_KEY, NULL, true},
    {"processDefinitionId", "process_id", FT_STRING, NULL, true},
    {"processDefinitionKey", "definition_key", FT_KEY, NULL, true},
    {"processDefinitionVersion", "version", FT_INT, NULL, true},
    {"processDefinitionVersionTag", "version_tag", FT_STRING, NULL, true},
    {"state", "state", FT_ENUM, instance_states, true},
    {"hasIncident", "incident", FT_BOOL, NULL, true},
    {"parentProcessInstanceKey", "parent_key", FT_KEY, NULL, true},
    {"startDate", "started_ms", FT_TIME, NULL, true},
    {"endDate", "ended_ms", FT_TIME, NULL, true},
    {"variables", "var", FT_VARS, NULL, false},
    {"processDefinitionName", NULL, FT_STRING, NULL, false},
    {"parentElementInstanceKey", NULL, FT_KEY, NULL, false},
    {"batchOperationId", NULL, FT_STRING, NULL, false},
    {"batchOperationKey", NULL, FT_STRING, NULL, false},
    {"errorMessage", NULL, FT_STRING, NULL, false},
    {"hasRetriesLeft", NULL, FT_BOOL, NULL, false},
    {"elementInstanceState", NULL, FT_STRING, NULL, false},
    {"elementId", NULL, FT_STRING, NULL, false},
    {"hasElementInstanceIncident", NULL, FT_BOOL, NULL, false},
    {"incidentErrorHashCode", NULL, FT_INT, NULL, false},
    {"tags", NULL, FT_STRING, NULL, false},
};

static const struct api_search_spec instance_spec = {CF_STORE_INSTANCES, instance_fields,
                                                     sizeof instance_fields / sizeof instance_fields[0]};

static void write_instance(struct api_ctx *c, struct api_reader *r, const struct cf_store_instance *in) {
  struct cf_buf *b = &c->res->body;
  struct cf_error err;
  const struct api_def *d = api_def(c->api, r, in->definition_key, &err);
  cf_buf_putc(b, '{');
  api_json_str(b, "processDefinitionId", in->process_id, true);
  api_json_str(b, "processDefinitionName", d ? d->name : in->process_id, false);
  api_json_int(b, "processDefinitionVersion", in->version, false);
  if (d && d->version_tag) api_json_str(b, "processDefinitionVersionTag", d->version_tag, false);
  api_json_time(b, "startDate", in->started_ms, false);
  if (in->ended_ms) api_json_time(b, "endDate", in->ended_ms, false);
  api_json_str(b, "state", instance_states[in->state <= 2 ? in->state : 0], false);
  api_json_bool(b, "hasIncident", in->incident, false);
  api_json_str(b, "tenantId", TENANT, false);
  api_json_key(b, "processInstanceKey", in->key, false);
  api_json_key(b, "processDefinitionKey", in->definition_key, false);
  if (in->parent_key) api_json_key(b, "parentProcessInstanceKey", in->parent_key, false);
  cf_buf_puts(b, ",\"tags\":[]}");
}

static void instance_item(struct api_ctx *c, struct api_reader *r, const struct cf_store_result *res, size_t i) {
  write_instance(c, r, &res->instances[i]);
}

bool api_h_instance_search(struct api_ctx *c) { return search_endpoint(c, &instance_spec, instance_item); }

bool api_h_instance_get(struct api_ctx *c) {
  uint64_t key;
  if (!api_path_key(c, &key)) return true;
  struct api_reader *r = NULL;
  struct cf_store_result res;
  struct cf_error err;
  cf_error_clear(&err);
  int rc = one_row(c->api, CF_STORE_INSTANCES, key, &r, &res, &err);
  if (rc == CF_ENOTFOUND) api_fail(c, 404, "NOT_FOUND", "No process instance with key %s.", c->param);
  else if (rc) api_error_problem(c->res, &err, c->req->path);
  else {
    write_instance(c, r, &res.instances[0]);
    api_ok_json(c);
  }
  cf_store_result_release(&res);
  api_reader_put(c->api, r);
  return true;
}

struct create_cmd {
  struct api_cmd cmd;
  char *process_id;
  int32_t version;
  struct cf_feel_value vars;
  uint64_t instance_key, definition_key;
  int32_t version_out;
  bool await;
  int64_t timeout_ms;
  char **fetch;
  size_t nfetch;
};

static void create_release(struct api_cmd *c) {
  struct create_cmd *k = (struct create_cmd *)c;
  cf_free(k->process_id);
  cf_feel_value_release(&k->vars);
  for (size_t i = 0; i < k->nfetch; i++) cf_free(k->fetch[i]);
  cf_free(k->fetch);
  cf_free(k);
}

static int create_run(struct cf_runtime *rt, struct api_cmd *c, struct cf_error *err) {
  struct create_cmd *k = (struct create_cmd *)c;
  int rc = cf_runtime_start(rt, k->process_id, k->version, k->vars.type == CF_FEEL_CONTEXT ? &k->vars : NULL, NULL,
                            &k->instance_key, err);
  if (rc == CF_ENOTFOUND) {
    if (k->version > 0)
      return cf_error_set(err, CF_ENOTFOUND, "Expected to find process definition with process ID '%s' and version "
                                             "%d, but none found",
                          k->process_id, k->version);
    return cf_error_set(err, CF_ENOTFOUND, "Expected to find process definition with process ID '%s', but none found",
                        k->process_id);
  }
  if (rc) return rc;
  /* The instance just started is in the runtime's cache, with its definition: no read. */
  if (cf_runtime_cached_definition(rt, k->instance_key, &k->definition_key, &k->version_out) == CF_OK) return CF_OK;
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  struct cf_store_definition d;
  memset(&d, 0, sizeof d);
  if ((rc = ops->definition_get(st, k->process_id, k->version > 0 ? k->version : 0, NULL, &d, err))) return rc;
  k->definition_key = d.key;
  k->version_out = d.version;
  cf_store_definition_release(&d);
  return CF_OK;
}

static bool create_answer(struct api_cmd *c) {
  api_create_answer(c, "{}");
  return true;
}

/* The answer of a create, with the instance's final variables (awaitCompletion) or {}. */
void api_create_answer(struct api_cmd *c, const char *variables_json) {
  struct create_cmd *k = (struct create_cmd *)c;
  struct cf_buf *b = &c->reply.res->body;
  cf_buf_reset(b);
  cf_buf_putc(b, '{');
  api_json_str(b, "processDefinitionId", k->process_id, true);
  api_json_int(b, "processDefinitionVersion", k->version_out, false);
  api_json_str(b, "tenantId", TENANT, false);
  cf_buf_puts(b, ",\"variables\":");
  cf_buf_puts(b, variables_json);
  api_json_key(b, "processDefinitionKey", k->definition_key, false);
  api_json_key(b, "processInstanceKey", k->instance_key, false);
  cf_buf_puts(b, ",\"tags\":[]}");
  c->reply.res->status = 200;
  c->reply.res->content_type = "application/json";
}

/* awaitCompletion: the created instance is parked until it ends (api_jobs.c), which answers and releases. */
static bool create_done_await(struct api_cmd *c) {
  struct create_cmd *k = (struct create_cmd *)c;
  api_await_park(c, k->instance_key, k->timeout_ms, k->fetch, k->nfetch);
  return false;
}

bool api_h_instance_create(struct api_ctx *c) {
  struct json_object *body = api_body(c, false);
  if (!body) return true;
  struct create_cmd *k = cf_calloc(1, sizeof *k);
  bool answered = false;
  const char *pid = NULL;
  uint64_t dkey = 0;
  bool has_key = false;
  int64_t version = -1, timeout = 0;
  bool await = false;
  if (!k) {
    answered = api_fail(c, 500, "INTERNAL", "out of memory");
    goto out;
  }
  cf_feel_set_null(&k->vars);
  if (!api_check_tenant(c, body) || !api_get_string(c, body, "processDefinitionId", &pid) ||
      !api_get_key(c, body, "processDefinitionKey", &dkey, &has_key) ||
      !api_get_int(c, body, "processDefinitionVersion", &version) || !api_get_bool(c, body, "awaitCompletion", &await) ||
      !api_get_int(c, body, "requestTimeout", &timeout) || !api_get_vars(c, body, "variables", &k->vars)) {
    answered = true;
    goto out;
  }
  if (pid && !*pid) pid = NULL;
  if (!pid && !has_key) {
    answered = api_bad(c, "At least one of [processDefinitionId, processDefinitionKey] is required.");
    goto out;
  }
  if (pid && has_key) {
    answered = api_bad(c, "Only one of [processDefinitionId, processDefinitionKey] is allowed.");
    goto out;
  }
  struct json_object *si = NULL;
  if (json_object_object_get_ex(body, "startInstructions", &si) && si &&
      (!json_object_is_type(si, json_type_array) || json_object_array_length(si) > 0)) {
    answered = api_bad(c, "startInstructions are not supported by crmflow: instances start at the none start event.");
    goto out;
  }
  struct json_object *tags = NULL;
  if (json_object_object_get_ex(body, "tags", &tags) && tags) {
    if (!json_object_is_type(tags, json_type_array) || json_object_array_length(tags) > 10) {
      answered = api_bad(c, "The value for tags must be an array of at most 10 strings.");
      goto out;
    }
  }
  if (version < -1 || version == 0 || version > INT32_MAX) {
    answered = api_bad(c, "The value for processDefinitionVersion is '%lld' but must be -1 (the latest) or a version.",
                       (long long)version);
    goto out;
  }
  if (has_key) {
    struct api_reader *r;
    struct cf_error err;
    cf_error_clear(&err);
    const struct api_def *d = NULL;
    if (!api_reader_get(c->api, &r, &err)) {
      d = api_def(c->api, r, dkey, &err);
      api_reader_put(c->api, r);
    }
    if (!d) {
      if (err.code == CF_ENOTFOUND)
        answered = api_fail(c, 404, "NOT_FOUND", "Expected to find process definition with key '%llu', but none found.",
                            (unsigned long long)dkey);
      else answered = (api_error_problem(c->res, &err, c->req->path), true);
      goto out;
    }
    k->process_id = cf_strdup(d->process_id);
    k->version = d->version;
  } else {
    k->process_id = cf_strdup(pid);
    k->version = version > 0 ? (int32_t)version : 0;
  }
  if (!k->process_id) {
    answered = api_fail(c, 500, "INTERNAL", "out of memory");
    goto out;
  }
  if (await) {
    struct json_object *fv = NULL;
    if (json_object_object_get_ex(body, "fetchVariables", &fv) && fv) {
      if (!json_object_is_type(fv, json_type_array)) {
        answered = api_bad(c, "The value for fetchVariables must be an array of variable names.");
        goto out;
      }
      size_t n = json_object_array_length(fv);
      if (n && !(k->fetch = cf_calloc(n, sizeof *k->fetch))) {
        answered = api_fail(c, 500, "INTERNAL", "out of memory");
        goto out;
      }
      for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(fv, i);
        if (!e || !json_object_is_type(e, json_type_string)) {
          answered = api_bad(c, "fetchVariables[%zu] must be a string.", i);
          goto out;
        }
        if (!(k->fetch[k->nfetch++] = cf_strdup(json_object_get_string(e)))) {
          answered = api_fail(c, 500, "INTERNAL", "out of memory");
          goto out;
        }
      }
    }
    k->await = true;
    k->timeout_ms = timeout > 0 ? timeout : c->api->long_poll_ms;
  }
out:
  json_object_put(body);
  if (answered) {
    if (k) create_release(&k->cmd);
    return true;
  }
  k->cmd.run = create_run;
  k->cmd.answer = k->await ? create_done_await : create_answer;
  k->cmd.release = create_release;
  return api_cmd_submit(c, &k->cmd);
}

/* The parking lot needs the create's fields: its answer with the final variables. */
void api_create_fail(struct api_cmd *c, int status, const char *title, const char *detail) {
  cf_api_problem(c->reply.res, status, title, detail, c->reply.path);
}

static int cancel_run(struct cf_runtime *rt, struct api_cmd *c, struct cf_error *err) {
  uint64_t key = api_cmd_key(c);
  int rc = cf_runtime_cancel(rt, key, err);
  if (rc == CF_ENOTFOUND)
    return cf_error_set(err, CF_ENOTFOUND, "Expected to cancel a process instance with key '%" PRIu64
                                           "', but no such process was found",
                        key);
  if (rc == CF_ECONFLICT || rc == CF_EINVAL)
    return cf_error_set(err, CF_ENOTFOUND, "Expected to cancel a process instance with key '%" PRIu64
                                           "', but it is no longer active",
                        key);
  return rc;
}

bool api_h_instance_cancel(struct api_ctx *c) { return api_key_command(c, cancel_run); }

/* ------------------------------------------------------------ messages and signals */

struct message_cmd {
  struct api_cmd cmd;
  char *name, *correlation_key, *message_id;
  int64_t ttl_ms;
  struct cf_feel_value vars;
  uint64_t message_key, instance_key;
  bool correlate, duplicate;
};

static void message_release(struct api_cmd *c) {
  struct message_cmd *m = (struct message_cmd *)c;
  cf_free(m->name);
  cf_free(m->correlation_key);
  cf_free(m->message_id);
  cf_feel_value_release(&m->vars);
  cf_free(m);
}

static int message_run(struct cf_runtime *rt, struct api_cmd *c, struct cf_error *err) {
  struct message_cmd *m = (struct message_cmd *)c;
  const struct cf_feel_value *vars = m->vars.type == CF_FEEL_CONTEXT ? &m->vars : NULL;
  if (m->correlate)
    return cf_runtime_correlate(rt, m->name, m->correlation_key, vars, &m->message_key, &m->instance_key, err);
  int rc = cf_runtime_publish(rt, m->name, m->correlation_key, vars, m->ttl_ms, m->message_id, &m->message_key,
                              &m->duplicate, err);
  if (!rc && m->duplicate)
    return cf_error_set(err, CF_ECONFLICT, "Expected to publish a new message with id '%s', but a message with that id "
                                           "was already published",
                        m->message_id);
  return rc;
}

static bool message_answer(struct api_cmd *c) {
  struct message_cmd *m = (struct message_cmd *)c;
  struct cf_buf *b = &c->reply.res->body;
  cf_buf_putc(b, '{');
  api_json_key(b, "messageKey", m->message_key, true);
  api_json_str(b, "tenantId", TENANT, false);
  if (m->correlate) api_json_key(b, "processInstanceKey", m->instance_key, false);
  cf_buf_putc(b, '}');
  c->reply.res->status = 200;
  c->reply.res->content_type = "application/json";
  return true;
}

static bool message_endpoint(struct api_ctx *c, bool correlate) {
  struct json_object *body = api_body(c, false);
  if (!body) return true;
  struct message_cmd *m = cf_calloc(1, sizeof *m);
  const char *name = NULL, *key = "", *id = NULL;
  int64_t ttl = 0;
  bool answered = false;
  if (!m) {
    answered = api_fail(c, 500, "INTERNAL", "out of memory");
    goto out;
  }
  cf_feel_set_null(&m->vars);
  if (!api_check_tenant(c, body) || !api_get_string(c, body, "name", &name) ||
      !api_get_string(c, body, "correlationKey", &key) || !api_get_string(c, body, "messageId", &id) ||
      !api_get_int(c, body, "timeToLive", &ttl) || !api_get_vars(c, body, "variables", &m->vars)) {
    answered = true;
    goto out;
  }
  if (!name || !*name) {
    answered = api_bad(c, "No name provided.");
    goto out;
  }
  if (ttl < 0) {
    answered = api_bad(c, "The value for timeToLive is '%lld' but must be 0 or more.", (long long)ttl);
    goto out;
  }
  m->correlate = correlate;
  m->ttl_ms = correlate ? 0 : ttl;
  if (!(m->name = cf_strdup(name)) || !(m->correlation_key = cf_strdup(key)) ||
      (id && *id && !correlate && !(m->message_id = cf_strdup(id))))
    answered = api_fail(c, 500, "INTERNAL", "out of memory");
out:
  json_object_put(body);
  if (answered) {
    if (m) message_release(&m->cmd);
    return true;
  }
  m->cmd.run = message_run;
  m->cmd.answer = message_answer;
  m->cmd.release = message_release;
  return api_cmd_submit(c, &m->cmd);
}

bool api_h_message_publish(struct api_ctx *c) { return message_endpoint(c, false); }
bool api_h_message_correlate(struct api_ctx *c) { return message_endpoint(c, true); }

struct signal_cmd {
  struct api_cmd cmd;
  char *name;
  struct cf_feel_value vars;
  uint64_t key;
};

static void signal_release(struct api_cmd *c) {
  struct signal_cmd *s = (struct signal_cmd *)c;
  cf_free(s->name);
  cf_feel_value_release(&s->vars);
  cf_free(s);
}

static int signal_run(struct cf_runtime *rt, struct api_cmd *c, struct cf_error *err) {
  struct signal_cmd *s = (struct signal_cmd *)c;
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  int rc = ops->reserve_keys(st, 1, &s->key, err);
  if (rc) return rc;
  return cf_runtime_broadcast(rt, s->name, s->vars.type == CF_FEEL_CONTEXT ? &s->vars : NULL, NULL, err);
}

static bool signal_answer(struct api_cmd *c) {
  struct signal_cmd *s = (struct signal_cmd *)c;
  struct cf_buf *b = &c->reply.res->body;
  cf_buf_putc(b, '{');
  api_json_key(b, "signalKey", s->key, true);
  api_json_str(b, "tenantId", TENANT, false);
  cf_buf_putc(b, '}');
  c->reply.res->status = 200;
  c->reply.res->content_type = "application/json";
  return true;
}

bool api_h_signal_broadcast(struct api_ctx *c) {
  struct json_object *body = api_body(c, false);
  if (!body) return true;
  struct signal_cmd *s = cf_calloc(1, sizeof *s);
  const char *name = NULL;
  bool answered = false;
  if (!s) {
    answered = api_fail(c, 500, "INTERNAL", "out of memory");
    goto out;
  }
  cf_feel_set_null(&s->vars);
  if (!api_check_tenant(c, body) || !api_get_string(c, body, "signalName", &name) ||
      !api_get_vars(c, body, "variables", &s->vars)) {
    answered = true;
    goto out;
  }
  if (!name || !*name) answered = api_bad(c, "No signalName provided.");
  else if (!(s->name = cf_strdup(name))) answered = api_fail(c, 500, "INTERNAL", "out of memory");
out:
  json_object_put(body);
  if (answered) {
    if (s) signal_release(&s->cmd);
    return true;
  }
  s->cmd.run = signal_run;
  s->cmd.answer = signal_answer;
  s->cmd.release = signal_release;
  return api_cmd_submit(c, &s->cmd);
}
