/*
 * What the web UI needs besides the Camunda endpoints:
 *
 *   GET /v2/user-tasks/{key}/form              the task's embedded Camunda form (Camunda's shape)
 *   GET /v2/crm/process-definitions/{key}/statistics   what waits at each element, and incidents
 *   GET /v2/crm/dashboard?days=N               started/completed per day, backlog, breaches, cycle time
 *
 * Sign-in (POST/DELETE /v2/crm/session) is in api_auth.c with the other credentials.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "base/cf_alloc.h"

#define FORM_PREFIX "camunda-forms:bpmn:"

bool api_h_task_form(struct api_ctx *c) {
  uint64_t key;
  if (!api_path_key(c, &key)) return true;
  struct api_reader *r = api_reader_for(c);
  if (!r) return true;
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_store_user_task t;
  memset(&t, 0, sizeof t);
  int rc = r->ops->task_get(r->st, key, &t, &err);
  const struct api_def *d = NULL;
  if (!rc && !api_task_mine(&c->who, t.assignee, t.candidate_users, t.candidate_groups)) rc = CF_ENOTFOUND;
  if (!rc && !(d = api_def(c->api, r, t.definition_key, &err))) rc = err.code;
  api_reader_put(c->api, r);
  if (rc == CF_ENOTFOUND) {
    cf_store_user_task_release(&t);
    return api_fail(c, 404, "NOT_FOUND", "No user task with key %s.", c->param);
  }
  if (rc) {
    cf_store_user_task_release(&t);
    return api_error_problem(c->res, &err, c->req->path), true;
  }
  const char *fk = t.form_key;
  const struct cf_bpmn_form *form = NULL;
  if (fk && !strncmp(fk, FORM_PREFIX, strlen(FORM_PREFIX)) && d->model)
    for (uint32_t i = 0; i < d->model->nforms && !form; i++)
      if (!strcmp(d->model->forms[i].id, fk + strlen(FORM_PREFIX))) form = &d->model->forms[i];
  if (!form) {
    if (fk && *fk)
      api_fail(c, 404, "NOT_FOUND", "The user task's form '%.100s' is not embedded in its model (crmflow serves "
                                    "embedded Camunda forms, zeebe:userTaskForm).",
               fk);
    else
      api_fail(c, 404, "NOT_FOUND", "The user task %s has no form.", c->param);
    cf_store_user_task_release(&t); /* fk points into it */
    return true;
  }
  struct cf_buf *b = &c->res->body;
  cf_buf_putc(b, '{');
  api_json_str(b, "formKey", fk, true);
  api_json_str(b, "tenantId", "<default>", false);
  api_json_str(b, "bpmnId", form->id, false);
  api_json_str(b, "schema", form->json, false);
  api_json_int(b, "version", d->version, false);
  cf_buf_putc(b, '}');
  cf_store_user_task_release(&t);
  return api_ok_json(c);
}

bool api_h_definition_statistics(struct api_ctx *c) {
  uint64_t key;
  if (!api_path_key(c, &key)) return true;
  struct api_reader *r = api_reader_for(c);
  if (!r) return true;
  struct cf_error err;
  cf_error_clear(&err);
  const struct api_def *d = api_def(c->api, r, key, &err);
  int rc = d ? r->ops->element_statistics(r->st, key, &c->res->body, &err) : err.code;
  api_reader_put(c->api, r);
  if (rc == CF_ENOTFOUND) {
    cf_buf_reset(&c->res->body);
    return api_fail(c, 404, "NOT_FOUND", "No process definition with key %s.", c->param);
  }
  if (rc) {
    cf_buf_reset(&c->res->body);
    return api_error_problem(c->res, &err, c->req->path), true;
  }
  return api_ok_json(c);
}

bool api_h_dashboard(struct api_ctx *c) {
  char buf[16];
  const char *q = api_query_arg(c, "days", buf, sizeof buf);
  long days = q ? strtol(q, NULL, 10) : 14;
  if (days < 1 || days > 366) return api_bad(c, "The value for days is '%.15s' but must be 1 to 366.", q ? q : "");
  struct api_reader *r = api_reader_for(c);
  if (!r) return true;
  struct cf_error err;
  cf_error_clear(&err);
  int64_t now = api_now(c->api);
  int64_t today = now - now % 86400000;
  int rc = r->ops->dashboard(r->st, today - (int64_t)(days - 1) * 86400000, now, &c->res->body, &err);
  api_reader_put(c->api, r);
  if (rc) {
    cf_buf_reset(&c->res->body);
    return api_error_problem(c->res, &err, c->req->path), true;
  }
  return api_ok_json(c);
}
