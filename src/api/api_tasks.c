/*
 * User tasks and incidents (shared/camunda-rest.md §2.10, 2.12).
 *
 * An agent (role) sees and works only its own tasks: assigned to it, or
 * unassigned and offered to it or to one of its groups. Its searches get
 * that condition added; its commands are checked in the writer against the
 * task as it is then (a task reassigned a moment ago is refused with 403).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "base/cf_alloc.h"

#define TENANT "<default>"

/* Index = the store's state number; the others match no row. */
static const char *const task_states[] = {"CREATED",    "COMPLETED", "CREATING", "ASSIGNING", "UPDATING",
                                          "COMPLETING", "CANCELING", "CANCELED", "FAILED",    NULL};

static const struct api_field task_fields[] = {
    {"userTaskKey", "key", FT_KEY, NULL, false},
    {"processInstanceKey", "instance_key", FT_KEY, NULL, false},
    {"elementInstanceKey", "element_instance_key", FT_KEY, NULL, false},
    {"processDefinitionKey", "definition_key", FT_KEY, NULL, false},
    {"processDefinitionId", "process_id", FT_STRING, NULL, false},
    {"elementId", "element_id", FT_STRING, NULL, false},
    {"assignee", "assignee", FT_STRING, NULL, false},
    {"candidateGroup", "candidate_group", FT_STRING, NULL, false},
    {"candidateUser", "candidate_user", FT_STRING, NULL, false},
    {"priority", "priority", FT_INT, NULL, true},
    {"state", "state", FT_ENUM, task_states, false},
    {"creationDate", "created_ms", FT_TIME, NULL, true},
    {"completionDate", "completed_ms", FT_TIME, NULL, true},
    {"processInstanceVariables", "var", FT_VARS, NULL, false},
    {"name", NULL, FT_STRING, NULL, false},
    {"dueDate", "due_ms", FT_TIME, NULL, true},
    {"followUpDate", "follow_up_ms", FT_TIME, NULL, true},
    {"localVariables", NULL, FT_VARS, NULL, false},
};

static const struct api_search_spec task_spec = {CF_STORE_USER_TASKS, task_fields,
                                                 sizeof task_fields / sizeof task_fields[0]};

static void write_array(struct cf_buf *b, const char *name, const char *json) {
  cf_buf_puts(b, ",\"");
  cf_buf_puts(b, name);
  cf_buf_puts(b, "\":");
  cf_buf_puts(b, json && *json == '[' ? json : "[]");
}

/* A date the model gave as text: RFC 3339 in UTC when it is a plain date-time, else as it is. */
static void write_date(struct cf_buf *b, const char *name, const char *text) {
  if (!text || !*text) return;
  int64_t ms;
  if (api_parse_time(text, &ms)) api_json_time(b, name, ms, false);
  else api_json_str(b, name, text, false);
}

static void write_task(struct api_ctx *c, struct api_reader *r, const struct cf_store_user_task *t) {
  struct cf_buf *b = &c->res->body;
  struct cf_error err;
  const struct api_def *d = api_def(c->api, r, t->definition_key, &err);
  cf_buf_putc(b, '{');
  api_json_key(b, "userTaskKey", t->key, true);
  api_json_str(b, "name", api_element_name(d, t->element_id), false);
  api_json_str(b, "state", t->state == 1 ? "COMPLETED" : "CREATED", false);
  if (t->assignee && *t->assignee) api_json_str(b, "assignee", t->assignee, false);
  api_json_str(b, "elementId", t->element_id, false);
  write_array(b, "candidateGroups", t->candidate_groups);
  write_array(b, "candidateUsers", t->candidate_users);
  api_json_str(b, "processDefinitionId", t->process_id, false);
  api_json_time(b, "creationDate", t->created_ms, false);
  if (t->state == 1 && t->completed_ms) api_json_time(b, "completionDate", t->completed_ms, false);
  write_date(b, "followUpDate", t->follow_up_date);
  write_date(b, "dueDate", t->due_date);
  api_json_str(b, "tenantId", TENANT, false);
  if (t->form_key && *t->form_key) api_json_str(b, "externalFormReference", t->form_key, false);
  api_json_int(b, "processDefinitionVersion", t->version, false);
  cf_buf_puts(b, ",\"customHeaders\":{}");
  api_json_int(b, "priority", t->priority, false);
  api_json_key(b, "elementInstanceKey", t->element_instance_key, false);
  api_json_str(b, "processName", d ? d->name : t->process_id, false);
  api_json_key(b, "processDefinitionKey", t->definition_key, false);
  api_json_key(b, "processInstanceKey", t->instance_key, false);
  cf_buf_puts(b, ",\"tags\":[]}");
}

static void task_item(struct api_ctx *c, struct api_reader *r, const struct cf_store_result *res, size_t i) {
  write_task(c, r, &res->tasks[i]);
}

/* An agent's tasks: assigned to it, or (unassigned and) offered to it or its groups. */
static bool restrict_to_agent(struct api_ctx *c, struct api_search *s) {
  if (c->who.role != ROLE_AGENT) return true;
  if (s->q.nany) return api_bad(c, "An agent's task search cannot use $or."), false;
  const char *me = c->who.user[0] ? c->who.user : c->who.name;
  struct cf_store_qcond *conds = cf_calloc(5, sizeof *conds);
  struct cf_store_qvalue *vals = cf_calloc(3 + c->who.ngroups, sizeof *vals);
  struct cf_store_qgroup *any = cf_calloc(3, sizeof *any);
  if (!conds || !vals || !any) {
    cf_free(conds);
    cf_free(vals);
    cf_free(any);
    return api_fail(c, 500, "INTERNAL", "out of memory"), false;
  }
  /* The memory goes with the search (freed by api_search_release through its own list). */
  vals[0] = (struct cf_store_qvalue){.is_text = true, .text = me};
  vals[1] = (struct cf_store_qvalue){.num = 0};
  for (size_t i = 0; i < c->who.ngroups; i++)
    vals[3 + i] = (struct cf_store_qvalue){.is_text = true, .text = c->who.groups[i]};
  /* Assigned to me; or unassigned and offered to me or one of my groups (as api_task_mine says: a
   * colleague's task is not mine even in my group). */
  conds[0] = (struct cf_store_qcond){.field = "assignee", .op = CF_STORE_EQ, .values = &vals[0], .nvalues = 1};
  conds[1] = (struct cf_store_qcond){.field = "candidate_user", .op = CF_STORE_EQ, .values = &vals[0], .nvalues = 1};
  conds[2] = (struct cf_store_qcond){.field = "assignee", .op = CF_STORE_EXISTS, .values = &vals[1], .nvalues = 1};
  conds[3] = (struct cf_store_qcond){.field = "candidate_group", .op = CF_STORE_IN, .values = &vals[3],
                                     .nvalues = c->who.ngroups};
  conds[4] = conds[2];
  any[0] = (struct cf_store_qgroup){.conds = &conds[0], .nconds = 1};
  any[1] = (struct cf_store_qgroup){.conds = &conds[1], .nconds = 2};
  any[2] = (struct cf_store_qgroup){.conds = &conds[3], .nconds = 2};
  s->q.any = any;
  s->q.nany = 3;
  /* Keep them for release. */
  s->agent_mem[0] = conds;
  s->agent_mem[1] = vals;
  s->agent_mem[2] = any;
  return true;
}

bool api_agent_sees_instance(struct api_ctx *c, uint64_t instance_key) {
  if (c->who.role != ROLE_AGENT) return true;
  struct api_search s;
  memset(&s, 0, sizeof s);
  s.q.entity = CF_STORE_USER_TASKS;
  struct cf_store_qvalue v = {.num = (int64_t)instance_key};
  bool sees = false;
  if (api_search_add(&s, "instance_key", CF_STORE_EQ, &v, 1) && restrict_to_agent(c, &s)) {
    struct api_reader *r = api_reader_for(c);
    if (r) {
      struct cf_store_result res;
      memset(&res, 0, sizeof res);
      struct cf_error err;
      cf_error_clear(&err);
      sees = !r->ops->search(r->st, &s.q, &res, &err) && res.total > 0;
      cf_store_result_release(&res);
      api_reader_put(c->api, r);
    }
  }
  for (int i = 0; i < 3; i++) cf_free(s.agent_mem[i]);
  api_search_release(&s);
  return sees;
}

bool api_h_task_search(struct api_ctx *c) {
  struct json_object *body = api_body(c, true);
  if (!body) return true;
  struct api_search s;
  if (api_search_parse(c, body, &task_spec, &s) && restrict_to_agent(c, &s)) api_search_answer(c, &s, task_item);
  for (int i = 0; i < 3; i++) cf_free(s.agent_mem[i]);
  api_search_release(&s);
  json_object_put(body);
  return true;
}

bool api_h_task_get(struct api_ctx *c) {
  uint64_t key;
  if (!api_path_key(c, &key)) return true;
  struct api_reader *r = api_reader_for(c);
  if (!r) return true;
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_store_user_task t;
  memset(&t, 0, sizeof t);
  int rc = r->ops->task_get(r->st, key, &t, &err);
  if (rc == CF_ENOTFOUND || (!rc && !api_task_mine(&c->who, t.assignee, t.candidate_users, t.candidate_groups)))
    api_fail(c, 404, "NOT_FOUND", "No user task with key %s.", c->param);
  else if (rc) api_error_problem(c->res, &err, c->req->path);
  else {
    write_task(c, r, &t);
    api_ok_json(c);
  }
  cf_store_user_task_release(&t);
  api_reader_put(c->api, r);
  return true;
}

/* ------------------------------------------------------------ task commands */

struct task_cmd {
  struct api_cmd cmd;
  uint64_t key;
  int kind; /* 0 complete, 1 assign, 2 unassign */
  struct cf_feel_value vars;
  char *assignee;
  bool allow_override;
};

static void task_release(struct api_cmd *c) {
  struct task_cmd *k = (struct task_cmd *)c;
  cf_feel_value_release(&k->vars);
  cf_free(k->assignee);
  cf_free(k);
}

static int task_run(struct cf_runtime *rt, struct api_cmd *c, struct cf_error *err) {
  struct task_cmd *k = (struct task_cmd *)c;
  static const char *const verbs[] = {"complete", "assign", "unassign"};
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  struct cf_store_user_task t;
  memset(&t, 0, sizeof t);
  int rc = ops->task_get(st, k->key, &t, err);
  if (rc == CF_ENOTFOUND)
    return cf_error_set(err, CF_ENOTFOUND, "Expected to %s user task with key '%" PRIu64 "', but no such user task was "
                                           "found",
                        verbs[k->kind], k->key);
  if (rc) return rc;
  if (t.state != 0) {
    rc = cf_error_set(err, CF_ECONFLICT, "Expected to %s user task with key '%" PRIu64 "', but it is completed already",
                      verbs[k->kind], k->key);
  } else if (!api_task_mine(&c->who, t.assignee, t.candidate_users, t.candidate_groups)) {
    c->refuse_status = 403;
    rc = cf_error_set(err, CF_ECONFLICT, "The user task %" PRIu64 " is neither assigned nor offered to %s or its groups",
                      k->key, c->who.user[0] ? c->who.user : c->who.name);
  } else if (k->kind == 1 && c->who.role == ROLE_AGENT &&
             strcmp(k->assignee, c->who.user[0] ? c->who.user : c->who.name)) {
    c->refuse_status = 403;
    rc = cf_error_set(err, CF_ECONFLICT, "An agent assigns tasks to itself only, not to %s", k->assignee);
  } else if (k->kind == 1 && !k->allow_override && t.assignee && *t.assignee && strcmp(t.assignee, k->assignee)) {
    rc = cf_error_set(err, CF_ECONFLICT, "Expected to assign user task with key '%" PRIu64 "', but it is assigned to "
                                         "'%s' already (allowOverride is false)",
                      k->key, t.assignee);
  }
  cf_store_user_task_release(&t);
  if (rc) return rc;
  switch (k->kind) {
  case 0: return cf_runtime_task_complete(rt, k->key, k->vars.type == CF_FEEL_CONTEXT ? &k->vars : NULL, err);
  case 1: return cf_runtime_task_assign(rt, k->key, k->assignee, err);
  default: return cf_runtime_task_assign(rt, k->key, NULL, err);
  }
}

static bool task_endpoint(struct api_ctx *c, int kind) {
  uint64_t key;
  if (!api_path_key(c, &key)) return true;
  struct json_object *body = api_body(c, kind != 1);
  if (!body) return true;
  struct task_cmd *k = cf_calloc(1, sizeof *k);
  bool answered = false;
  if (!k) {
    answered = api_fail(c, 500, "INTERNAL", "out of memory");
    goto out;
  }
  k->key = key;
  k->kind = kind;
  k->allow_override = true;
  cf_feel_set_null(&k->vars);
  if (kind == 0 && !api_get_vars(c, body, "variables", &k->vars)) {
    answered = true;
    goto out;
  }
  if (kind == 1) {
    const char *assignee = NULL;
    if (!api_get_string(c, body, "assignee", &assignee) || !api_get_bool(c, body, "allowOverride", &k->allow_override)) {
      answered = true;
      goto out;
    }
    if (!assignee || !*assignee) {
      answered = api_bad(c, "No assignee provided.");
      goto out;
    }
    if (!(k->assignee = cf_strdup(assignee))) answered = api_fail(c, 500, "INTERNAL", "out of memory");
  }
out:
  json_object_put(body);
  if (answered) {
    if (k) task_release(&k->cmd);
    return true;
  }
  k->cmd.run = task_run;
  k->cmd.release = task_release;
  return api_cmd_submit(c, &k->cmd);
}

bool api_h_task_complete(struct api_ctx *c) { return task_endpoint(c, 0); }
bool api_h_task_assign(struct api_ctx *c) { return task_endpoint(c, 1); }
bool api_h_task_unassign(struct api_ctx *c) { return task_endpoint(c, 2); }

/* ------------------------------------------------------------ incidents */

/* Index = the engine's incident type (enum cf_engine_incident_type); the others match no row. */
static const char *const incident_types[] = {
    "JOB_NO_RETRIES",   "IO_MAPPING_ERROR", "CONDITION_ERROR", "UNHANDLED_ERROR_EVENT", "EXTRACT_VALUE_ERROR",
    "UNSPECIFIED",      "UNKNOWN",          "EXECUTION_LISTENER_NO_RETRIES", "TASK_LISTENER_NO_RETRIES",
    "AD_HOC_SUB_PROCESS_NO_RETRIES", "CALLED_ELEMENT_ERROR", "MESSAGE_SIZE_EXCEEDED", "CALLED_DECISION_ERROR",
    "DECISION_EVALUATION_ERROR", "FORM_NOT_FOUND", "RESOURCE_NOT_FOUND", NULL};

static const struct api_field incident_fields[] = {
    {"incidentKey", "key", FT_KEY, NULL, true},
    {"processInstanceKey", "instance_key", FT_KEY, NULL, true},
    {"elementInstanceKey", "element_instance_key", FT_KEY, NULL, true},
    {"processDefinitionKey", "definition_key", FT_KEY, NULL, true},
    {"processDefinitionId", "process_id", FT_STRING, NULL, true},
    {"elementId", "element_id", FT_STRING, NULL, true},
    {"errorType", "type", FT_ENUM, incident_types, true},
    {"errorMessage", "message", FT_STRING, NULL, true},
    {"jobKey", "job_key", FT_KEY, NULL, true},
    {"creationTime", "created_ms", FT_TIME, NULL, true},
};

static const struct api_search_spec incident_spec = {CF_STORE_INCIDENTS, incident_fields,
                                                     sizeof incident_fields / sizeof incident_fields[0]};

static void write_incident(struct api_ctx *c, const struct cf_store_incident *i) {
  struct cf_buf *b = &c->res->body;
  cf_buf_putc(b, '{');
  api_json_str(b, "processDefinitionId", i->process_id, true);
  api_json_str(b, "errorType", incident_types[i->type < 5 ? i->type : 6], false);
  api_json_str(b, "errorMessage", i->message ? i->message : "", false);
  api_json_str(b, "elementId", i->element_id, false);
  api_json_time(b, "creationTime", i->created_ms, false);
  api_json_str(b, "state", "ACTIVE", false);
  api_json_str(b, "tenantId", TENANT, false);
  api_json_key(b, "incidentKey", i->key, false);
  api_json_key(b, "processDefinitionKey", i->definition_key, false);
  api_json_key(b, "processInstanceKey", i->instance_key, false);
  api_json_key(b, "elementInstanceKey", i->element_instance_key, false);
  if (i->job_key) api_json_key(b, "jobKey", i->job_key, false);
  cf_buf_putc(b, '}');
}

static void incident_item(struct api_ctx *c, struct api_reader *r, const struct cf_store_result *res, size_t i) {
  (void)r;
  write_incident(c, &res->incidents[i]);
}

/*
 * Incidents are kept while open: a resolved one is gone (its resolution is
 * in the instance's history). So a state filter of ACTIVE matches all of
 * them, and RESOLVED, MIGRATED or PENDING none.
 */
bool api_h_incident_search(struct api_ctx *c) {
  struct json_object *body = api_body(c, true);
  if (!body) return true;
  struct json_object *filter = NULL, *state = NULL;
  bool none = false;
  if (json_object_object_get_ex(body, "filter", &filter) && filter && json_object_is_type(filter, json_type_object) &&
      json_object_object_get_ex(filter, "state", &state)) {
    const char *st = state && json_object_is_type(state, json_type_string) ? json_object_get_string(state) : NULL;
    if (!st) {
      json_object_put(body);
      return api_bad(c, "The value for filter.state must be one of ACTIVE, MIGRATED, RESOLVED, PENDING.");
    }
    if (strcmp(st, "ACTIVE")) {
      if (strcmp(st, "RESOLVED") && strcmp(st, "MIGRATED") && strcmp(st, "PENDING")) {
        api_bad(c, "The value for filter.state is '%.40s' but must be one of ACTIVE, MIGRATED, RESOLVED, PENDING.", st);
        json_object_put(body); /* st lives in body */
        return true;
      }
      none = true;
    }
    json_object_object_del(filter, "state");
  }
  struct api_search s;
  if (api_search_parse(c, body, &incident_spec, &s)) {
    struct cf_store_qvalue nothing = {0};
    if (!none || api_search_add(&s, "key", CF_STORE_IN, &nothing, 0)) api_search_answer(c, &s, incident_item);
    else api_fail(c, 500, "INTERNAL", "out of memory");
  }
  api_search_release(&s);
  json_object_put(body);
  return true;
}

bool api_h_incident_get(struct api_ctx *c) {
  uint64_t key;
  if (!api_path_key(c, &key)) return true;
  struct api_reader *r = api_reader_for(c);
  if (!r) return true;
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_store_incident i;
  memset(&i, 0, sizeof i);
  int rc = r->ops->incident_get(r->st, key, &i, &err);
  api_reader_put(c->api, r);
  if (rc == CF_ENOTFOUND) api_fail(c, 404, "NOT_FOUND", "No open incident with key %s.", c->param);
  else if (rc) api_error_problem(c->res, &err, c->req->path);
  else {
    write_incident(c, &i);
    api_ok_json(c);
  }
  cf_store_incident_release(&i);
  return true;
}

/* A job's incident resolved while the job has no retries left gets it one more try (else it would fail again at
 * once); retries raised before (PATCH /v2/jobs/{key}) are kept. */
static int resolve_run(struct cf_runtime *rt, struct api_cmd *c, struct cf_error *err) {
  uint64_t key = api_cmd_key(c);
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  struct cf_store_incident i;
  memset(&i, 0, sizeof i);
  int rc = ops->incident_get(st, key, &i, err);
  if (rc == CF_ENOTFOUND)
    return cf_error_set(err, CF_ENOTFOUND, "Expected to resolve incident with key '%" PRIu64 "', but no such incident "
                                           "was found",
                        key);
  if (rc) return rc;
  int32_t retries = 0;
  if (i.job_key) {
    struct cf_store_job j;
    memset(&j, 0, sizeof j);
    if (!ops->job_get(st, i.job_key, &j, err) && j.retries <= 0) retries = 1;
    cf_error_clear(err);
    cf_store_job_release(&j);
  }
  cf_store_incident_release(&i);
  return cf_runtime_incident_resolve(rt, key, retries, err);
}

bool api_h_incident_resolve(struct api_ctx *c) { return api_key_command(c, resolve_run); }
