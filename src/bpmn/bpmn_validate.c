/*
 * Execution rules on a parsed model: what must hold for an executable
 * process to run as Camunda 8 would run it. Applied to executable processes
 * only (bpmn_parse.c says why). Structural problems (ids, dangling
 * references) were reported by the parser; this code tolerates them (a flow
 * whose end did not resolve has source or target UINT32_MAX and appears in no
 * element's lists) so that one run reports everything.
 */
#include <stdlib.h>
#include <string.h>

#include "base/cf_schedule.h"
#include "bpmn/bpmn_int.h"

struct ctx {
  const struct cf_bpmn_model *m;
  struct cf_bpmn_problems *problems;
  int rc;
  bool support; /* apply the support table */
};

static void problem(struct ctx *c, const struct cf_bpmn_element *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(struct ctx *c, const struct cf_bpmn_element *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (cf__bpmn_vproblem(c->problems, e->line, e->id, cf__bpmn_tname(e), fmt, ap)) c->rc = CF_ENOMEM;
  va_end(ap);
}

static void flow_problem(struct ctx *c, const struct cf_bpmn_flow *f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void flow_problem(struct ctx *c, const struct cf_bpmn_flow *f, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (cf__bpmn_vproblem(c->problems, f->line, f->id, "sequenceFlow", fmt, ap)) c->rc = CF_ENOMEM;
  va_end(ap);
}

static bool is_static(const struct cf_bpmn_value *v) { return v->text && v->text[0] != '='; }

/* A whole number >= 0 written in decimal digits. */
static bool is_count(const char *s) {
  if (!*s) return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return false;
  return true;
}

/* Start events among a container's children (or a process's top level). */
static void check_starts(struct ctx *c, const struct cf_bpmn_element *owner, const struct cf_bpmn_process *pr,
                         const uint32_t *list, uint32_t n) {
  const struct cf_bpmn_model *m = c->m;
  uint32_t starts = 0, nones = 0;
  const struct cf_bpmn_element *first_none = NULL;
  for (uint32_t i = 0; i < n; i++) {
    const struct cf_bpmn_element *e = &m->elements[list[i]];
    if (e->type != CF_BPMN_START_EVENT) continue;
    starts++;
    if (e->event == CF_BPMN_EVENT_NONE) {
      if (nones++ == 0)
        first_none = e;
      else if (!owner || owner->type != CF_BPMN_EVENT_SUB_PROCESS)
        problem(c, e, "a second none start event (the first is '%s' on line %d): a %s may have only one",
                first_none->id, first_none->line, owner ? "sub-process" : "process");
    }
  }
  if (!owner) {
    if (!starts)
      if (cf__bpmn_problem(c->problems, pr->line, pr->id, "process",
                           "the process has no start event: add a none start event"))
        c->rc = CF_ENOMEM;
    return;
  }
  switch (owner->type) {
  case CF_BPMN_SUB_PROCESS:
  case CF_BPMN_TRANSACTION:
    if (starts != 1 || nones != 1)
      problem(c, owner, "an embedded sub-process needs exactly one start event, a none start event (it has %u start "
                        "event%s, %u of them none)",
              starts, starts == 1 ? "" : "s", nones);
    break;
  case CF_BPMN_EVENT_SUB_PROCESS:
    if (starts != 1 || nones != 0)
      problem(c, owner, "an event sub-process needs exactly one start event, with an event definition (it has %u "
                        "start event%s, %u of them none)",
              starts, starts == 1 ? "" : "s", nones);
    break;
  default: /* ad-hoc sub-processes have no start event */
    break;
  }
}

static void check_jobs(struct ctx *c, const struct cf_bpmn_element *e) {
  bool job = false;
  switch (e->type) {
  case CF_BPMN_SERVICE_TASK:
  case CF_BPMN_SEND_TASK:
    job = true;
    break;
  case CF_BPMN_BUSINESS_RULE_TASK:
    if (cf_bpmn_value_present(&e->called_decision_id)) {
      if (cf_bpmn_value_present(&e->job_type))
        problem(c, e, "has both zeebe:calledDecision and zeebe:taskDefinition: it needs exactly one");
      else if (!*e->called_decision_id.text)
        problem(c, e, "zeebe:calledDecision has no decisionId");
      else if (!e->decision_result_variable || !*e->decision_result_variable)
        problem(c, e, "zeebe:calledDecision has no resultVariable");
      return;
    }
    if (!cf_bpmn_value_present(&e->job_type)) {
      problem(c, e, "needs a zeebe:calledDecision or a zeebe:taskDefinition with a job type");
      return;
    }
    job = true;
    break;
  case CF_BPMN_SCRIPT_TASK:
    if (cf_bpmn_value_present(&e->script)) {
      if (cf_bpmn_value_present(&e->job_type))
        problem(c, e, "has both zeebe:script and zeebe:taskDefinition: it needs exactly one");
      if (is_static(&e->script) || !*e->script.text)
        problem(c, e, "zeebe:script expression \"%s\" must be a FEEL expression starting with '='", e->script.text);
      if (!e->result_variable || !*e->result_variable) problem(c, e, "zeebe:script has no resultVariable");
      return;
    }
    if (!cf_bpmn_value_present(&e->job_type)) {
      problem(c, e, "needs a zeebe:script expression or a zeebe:taskDefinition with a job type");
      return;
    }
    job = true;
    break;
  default:
    break;
  }
  if (job && !cf_bpmn_value_present(&e->job_type)) {
    problem(c, e, "has no job type: add a zeebe:taskDefinition with a type");
    return;
  }
  if (cf_bpmn_value_present(&e->job_type)) {
    if (!*e->job_type.text) problem(c, e, "zeebe:taskDefinition has no type");
    if (is_static(&e->job_retries) && !is_count(e->job_retries.text))
      problem(c, e, "zeebe:taskDefinition retries \"%s\" is not a whole number", e->job_retries.text);
  }
}

static void check_gateway(struct ctx *c, const struct cf_bpmn_element *e) {
  const struct cf_bpmn_model *m = c->m;
  if (!e->noutgoing) {
    problem(c, e, "a gateway needs at least one outgoing sequence flow");
    return;
  }
  if (e->type != CF_BPMN_EXCLUSIVE_GATEWAY && e->type != CF_BPMN_INCLUSIVE_GATEWAY) return;
  if (e->noutgoing < 2) return; /* one flow: taken unconditionally */
  for (uint32_t i = 0; i < e->noutgoing; i++) {
    const struct cf_bpmn_flow *f = &m->flows[e->outgoing[i]];
    if ((int32_t)e->outgoing[i] == e->default_flow || cf_bpmn_value_present(&f->condition)) continue;
    flow_problem(c, f, "leaves %s '%s' without a condition and is not its default flow: add a condition",
                 cf__bpmn_tname(e), e->id);
  }
}

/* Data that events and activities of issue 4 need; checked now so a model is right once. */
static void check_event_data(struct ctx *c, const struct cf_bpmn_element *e) {
  const struct cf_bpmn_model *m = c->m;
  bool catches = e->type == CF_BPMN_INTERMEDIATE_CATCH_EVENT || e->type == CF_BPMN_BOUNDARY_EVENT ||
                 e->type == CF_BPMN_START_EVENT || e->type == CF_BPMN_RECEIVE_TASK;
  if (e->event == CF_BPMN_EVENT_MESSAGE || e->type == CF_BPMN_RECEIVE_TASK) {
    bool top_start = e->type == CF_BPMN_START_EVENT && e->parent < 0;
    if (catches && !cf_bpmn_value_present(&e->message_name))
      problem(c, e, "needs a message: a messageRef to a bpmn:message with a name");
    else if (catches && !top_start && !cf_bpmn_value_present(&e->correlation_key))
      problem(c, e, "the message '%s' needs a zeebe:subscription correlationKey",
              e->message_name.text ? e->message_name.text : "");
  }
  if (e->event == CF_BPMN_EVENT_TIMER && e->timer_kind == CF_BPMN_TIMER_NONE)
    problem(c, e, "a timer needs a timeDate, timeDuration or timeCycle");
  if (e->event == CF_BPMN_EVENT_TIMER && e->timer_kind != CF_BPMN_TIMER_NONE && e->timer.text &&
      !e->timer.expr) {
    /* A static timer is checked now: a typo should not wait for the first instance. */
    struct cf_schedule sched;
    struct cf_error err;
    enum cf_schedule_kind kind = e->timer_kind == CF_BPMN_TIMER_DATE       ? CF_SCHEDULE_DATE
                                 : e->timer_kind == CF_BPMN_TIMER_DURATION ? CF_SCHEDULE_DURATION
                                                                            : CF_SCHEDULE_CYCLE;
    if (cf_schedule_parse(kind, e->timer.text, strlen(e->timer.text), 0, &sched, &err))
      problem(c, e, "%s", err.msg);
  }
  if (e->event == CF_BPMN_EVENT_SIGNAL && !cf_bpmn_value_present(&e->signal_name))
    problem(c, e, "needs a signal: a signalRef to a bpmn:signal with a name");
  if (e->event == CF_BPMN_EVENT_ERROR && e->type == CF_BPMN_END_EVENT && !cf_bpmn_value_present(&e->error_code))
    problem(c, e, "an error end event needs an errorRef to a bpmn:error with an errorCode");
  if (e->event == CF_BPMN_EVENT_ESCALATION &&
      (e->type == CF_BPMN_END_EVENT || e->type == CF_BPMN_INTERMEDIATE_THROW_EVENT) &&
      !cf_bpmn_value_present(&e->escalation_code))
    problem(c, e, "an escalation throw event needs an escalationRef to a bpmn:escalation with an escalationCode");
  if (e->event == CF_BPMN_EVENT_LINK && (!e->link_name || !*e->link_name))
    problem(c, e, "a link event needs a name");
  if (e->event == CF_BPMN_EVENT_TERMINATE && e->type != CF_BPMN_END_EVENT)
    problem(c, e, "only an end event can be a terminate event");
  if (e->type == CF_BPMN_CALL_ACTIVITY &&
      (!cf_bpmn_value_present(&e->called_process_id) || !*e->called_process_id.text))
    problem(c, e, "a call activity needs a zeebe:calledElement processId");
  if (e->multi) {
    if (!cf_bpmn_value_present(&e->multi->input_collection))
      problem(c, e, "a multi-instance activity needs a zeebe:loopCharacteristics inputCollection");
    if ((e->multi->output_collection != NULL) != cf_bpmn_value_present(&e->multi->output_element))
      problem(c, e, "zeebe:loopCharacteristics needs both outputCollection and outputElement, or neither");
  }
  /* A link throw needs a catch of the same name in the same scope. */
  if (e->event == CF_BPMN_EVENT_LINK && e->type == CF_BPMN_INTERMEDIATE_THROW_EVENT && e->link_name) {
    bool found = false;
    for (uint32_t i = 0; i < m->nelements && !found; i++) {
      const struct cf_bpmn_element *o = &m->elements[i];
      found = o->type == CF_BPMN_INTERMEDIATE_CATCH_EVENT && o->event == CF_BPMN_EVENT_LINK &&
              o->process == e->process && o->parent == e->parent && o->link_name &&
              !strcmp(o->link_name, e->link_name);
    }
    if (!found) problem(c, e, "no link catch event named '%s' in the same scope", e->link_name);
  }
}

static void check_element(struct ctx *c, const struct cf_bpmn_element *e) {
  switch (e->type) {
  case CF_BPMN_START_EVENT:
    if (e->nincoming) problem(c, e, "a start event cannot have incoming sequence flows");
    break;
  case CF_BPMN_END_EVENT:
    if (e->noutgoing) problem(c, e, "an end event cannot have outgoing sequence flows");
    break;
  case CF_BPMN_BOUNDARY_EVENT:
    if (e->nincoming) problem(c, e, "a boundary event cannot have incoming sequence flows");
    if (e->event == CF_BPMN_EVENT_NONE) problem(c, e, "a boundary event needs an event definition");
    break;
  case CF_BPMN_EVENT_SUB_PROCESS:
    if (e->nincoming || e->noutgoing) problem(c, e, "an event sub-process cannot have sequence flows");
    break;
  default:
    break;
  }
  if (cf__bpmn_is_gateway(e->type)) check_gateway(c, e);
  if (cf__bpmn_is_container(e->type)) check_starts(c, e, NULL, e->children, e->nchildren);
  check_jobs(c, e);
  check_event_data(c, e);
  for (uint32_t i = 0; i < e->ninputs; i++)
    if (!e->inputs[i].target || !*e->inputs[i].target) problem(c, e, "a zeebe:input has no target");
  for (uint32_t i = 0; i < e->noutputs; i++)
    if (!e->outputs[i].target || !*e->outputs[i].target) problem(c, e, "a zeebe:output has no target");

  const char *what = c->support ? cf__bpmn_unsupported(c->m, e) : NULL;
  if (what) problem(c, e, "crmflow does not execute %s (%s)", cf__bpmn_tname(e), what);
}

int cf__bpmn_validate(const struct cf_bpmn_model *m, struct cf_bpmn_problems *problems, bool support) {
  struct ctx c = {m, problems, CF_OK, support};
  for (uint32_t p = 0; p < m->nprocesses; p++) {
    const struct cf_bpmn_process *pr = &m->processes[p];
    if (pr->executable) check_starts(&c, NULL, pr, pr->elements, pr->nelements);
  }
  for (uint32_t i = 0; i < m->nelements; i++) {
    const struct cf_bpmn_element *e = &m->elements[i];
    if (m->processes[e->process].executable) check_element(&c, e);
  }
  for (uint32_t i = 0; i < m->nflows; i++) {
    const struct cf_bpmn_flow *f = &m->flows[i];
    if (!support || f->source >= m->nelements || !m->processes[m->elements[f->source].process].executable) continue;
    const char *what = cf__bpmn_unsupported_flow(m, f);
    if (what) flow_problem(&c, f, "crmflow does not execute sequenceFlow (%s)", what);
  }
  return c.rc;
}
