/*
 * What the engine executes: the one table to edit when the engine learns an
 * element.
 *
 * The parser reads every BPMN element and event definition fully into the
 * model (timers, messages, boundary events, multi-instance...), whether or
 * not the engine runs it; this file alone decides which ones a deployment
 * accepts. A model with anything marked unsupported here is refused with
 * "crmflow does not execute <type> (<what>)" on that element: never passed
 * through silently. docs/bpmn-coverage.md lists the same, beside Camunda 8.
 *
 * Today: start events (none, and timer, message, signal at process level or
 * starting event sub-processes; error and escalation starting event
 * sub-processes); end events (none, terminate, error, escalation, signal,
 * message as a job); intermediate catch events (timer, message, signal,
 * link) and throw events (none, signal, escalation, link, message as a job);
 * boundary events (timer, message, signal, error, escalation; interrupting
 * or not); service, send, business-rule (as jobs), script, user, receive,
 * manual and undefined tasks; exclusive, parallel, inclusive and event-based
 * gateways; embedded and event sub-processes; call activities;
 * multi-instance; compensation (boundary events with their handlers, throw
 * and end events). Not yet: conditional events, complex
 * gateways, transactions, ad-hoc sub-processes, DMN decisions.
 */
#include "bpmn/bpmn_int.h"

/* Element types the engine executes (events further by their definition, below). */
static const bool TYPE_EXECUTED[CF_BPMN__TYPE_COUNT] = {
    [CF_BPMN_START_EVENT] = true,
    [CF_BPMN_END_EVENT] = true,
    [CF_BPMN_INTERMEDIATE_CATCH_EVENT] = true,
    [CF_BPMN_INTERMEDIATE_THROW_EVENT] = true,
    [CF_BPMN_BOUNDARY_EVENT] = true,
    [CF_BPMN_TASK] = true,
    [CF_BPMN_SERVICE_TASK] = true,
    [CF_BPMN_SEND_TASK] = true,
    [CF_BPMN_RECEIVE_TASK] = true,
    [CF_BPMN_USER_TASK] = true,
    [CF_BPMN_MANUAL_TASK] = true,
    [CF_BPMN_SCRIPT_TASK] = true,
    [CF_BPMN_BUSINESS_RULE_TASK] = true,
    [CF_BPMN_EXCLUSIVE_GATEWAY] = true,
    [CF_BPMN_PARALLEL_GATEWAY] = true,
    [CF_BPMN_INCLUSIVE_GATEWAY] = true,
    [CF_BPMN_EVENT_BASED_GATEWAY] = true,
    [CF_BPMN_COMPLEX_GATEWAY] = false,
    [CF_BPMN_SUB_PROCESS] = true,
    [CF_BPMN_EVENT_SUB_PROCESS] = true,
    [CF_BPMN_TRANSACTION] = false,
    [CF_BPMN_AD_HOC_SUB_PROCESS] = false,
    [CF_BPMN_CALL_ACTIVITY] = true,
};

/* What to call a refused type in the message. */
static const char *const TYPE_WHAT[CF_BPMN__TYPE_COUNT] = {
    [CF_BPMN_INTERMEDIATE_CATCH_EVENT] = "intermediate catch event",
    [CF_BPMN_INTERMEDIATE_THROW_EVENT] = "intermediate throw event",
    [CF_BPMN_BOUNDARY_EVENT] = "boundary event",
    [CF_BPMN_RECEIVE_TASK] = "receive task: messages",
    [CF_BPMN_EVENT_BASED_GATEWAY] = "event-based gateway",
    [CF_BPMN_COMPLEX_GATEWAY] = "complex gateway",
    [CF_BPMN_EVENT_SUB_PROCESS] = "event sub-process",
    [CF_BPMN_TRANSACTION] = "transaction",
    [CF_BPMN_AD_HOC_SUB_PROCESS] = "ad-hoc sub-process",
    [CF_BPMN_CALL_ACTIVITY] = "call activity",
};

/* Event definitions the engine executes, per kind of event. */
static const bool START_EXECUTED[CF_BPMN__EVENT_COUNT] = {
    [CF_BPMN_EVENT_NONE] = true,   [CF_BPMN_EVENT_TIMER] = true,      [CF_BPMN_EVENT_MESSAGE] = true,
    [CF_BPMN_EVENT_SIGNAL] = true, [CF_BPMN_EVENT_ERROR] = true,      [CF_BPMN_EVENT_ESCALATION] = true,
    [CF_BPMN_EVENT_COMPENSATION] = true};
static const bool END_EXECUTED[CF_BPMN__EVENT_COUNT] = {
    [CF_BPMN_EVENT_NONE] = true,  [CF_BPMN_EVENT_TERMINATE] = true,  [CF_BPMN_EVENT_ERROR] = true,
    [CF_BPMN_EVENT_SIGNAL] = true, [CF_BPMN_EVENT_ESCALATION] = true, [CF_BPMN_EVENT_MESSAGE] = true,
    [CF_BPMN_EVENT_COMPENSATION] = true};
static const bool CATCH_EXECUTED[CF_BPMN__EVENT_COUNT] = {
    [CF_BPMN_EVENT_TIMER] = true, [CF_BPMN_EVENT_MESSAGE] = true, [CF_BPMN_EVENT_SIGNAL] = true,
    [CF_BPMN_EVENT_LINK] = true};
static const bool THROW_EXECUTED[CF_BPMN__EVENT_COUNT] = {
    [CF_BPMN_EVENT_NONE] = true,   [CF_BPMN_EVENT_SIGNAL] = true, [CF_BPMN_EVENT_ESCALATION] = true,
    [CF_BPMN_EVENT_LINK] = true,   [CF_BPMN_EVENT_MESSAGE] = true, [CF_BPMN_EVENT_COMPENSATION] = true};
static const bool BOUNDARY_EXECUTED[CF_BPMN__EVENT_COUNT] = {
    [CF_BPMN_EVENT_TIMER] = true, [CF_BPMN_EVENT_MESSAGE] = true, [CF_BPMN_EVENT_SIGNAL] = true,
    [CF_BPMN_EVENT_ERROR] = true, [CF_BPMN_EVENT_ESCALATION] = true, [CF_BPMN_EVENT_COMPENSATION] = true};

/* Activity features. */
static const bool MULTI_INSTANCE_EXECUTED = true;
static const bool COMPENSATION_HANDLERS_EXECUTED = true;
static const bool CALLED_DECISIONS_EXECUTED = false; /* business-rule tasks with zeebe:calledDecision (DMN) */

/* Conditions on flows that do not leave an exclusive or inclusive gateway. */
static const bool CONDITIONS_ELSEWHERE_EXECUTED = false;

static const char *const EVENT_WHAT[CF_BPMN__EVENT_COUNT] = {
    [CF_BPMN_EVENT_NONE] = "none event",
    [CF_BPMN_EVENT_MESSAGE] = "message event",
    [CF_BPMN_EVENT_TIMER] = "timer event",
    [CF_BPMN_EVENT_SIGNAL] = "signal event",
    [CF_BPMN_EVENT_ERROR] = "error event",
    [CF_BPMN_EVENT_ESCALATION] = "escalation event",
    [CF_BPMN_EVENT_COMPENSATION] = "compensation event",
    [CF_BPMN_EVENT_CONDITIONAL] = "conditional event",
    [CF_BPMN_EVENT_LINK] = "link event",
    [CF_BPMN_EVENT_TERMINATE] = "terminate event",
    [CF_BPMN_EVENT_CANCEL] = "cancel event",
    [CF_BPMN_EVENT_MULTIPLE] = "event with several definitions",
};

const char *cf__bpmn_unsupported(const struct cf_bpmn_model *m, const struct cf_bpmn_element *e) {
  if (e->type >= CF_BPMN__TYPE_COUNT || e->event >= CF_BPMN__EVENT_COUNT) return "unknown element";
  const bool *events = NULL;
  switch (e->type) {
  case CF_BPMN_START_EVENT:
    events = START_EXECUTED;
    break;
  case CF_BPMN_END_EVENT:
    events = END_EXECUTED;
    break;
  case CF_BPMN_INTERMEDIATE_CATCH_EVENT:
    events = CATCH_EXECUTED;
    break;
  case CF_BPMN_INTERMEDIATE_THROW_EVENT:
    events = THROW_EXECUTED;
    break;
  case CF_BPMN_BOUNDARY_EVENT:
    events = BOUNDARY_EXECUTED;
    break;
  default:
    break;
  }
  if (events) {
    if (!events[e->event]) return EVENT_WHAT[e->event];
  } else if (!TYPE_EXECUTED[e->type]) {
    return TYPE_WHAT[e->type] ? TYPE_WHAT[e->type] : cf__bpmn_tname(e);
  }
  if (e->multi && !MULTI_INSTANCE_EXECUTED) return "multi-instance";
  if (e->is_for_compensation && !COMPENSATION_HANDLERS_EXECUTED) return "compensation handler";
  if (e->type == CF_BPMN_BUSINESS_RULE_TASK && cf_bpmn_value_present(&e->called_decision_id) &&
      !CALLED_DECISIONS_EXECUTED)
    return "called decision: DMN";
  return NULL;
}

const char *cf__bpmn_unsupported_flow(const struct cf_bpmn_model *m, const struct cf_bpmn_flow *f) {
  if (!cf_bpmn_value_present(&f->condition) || f->source >= m->nelements) return NULL;
  uint8_t t = m->elements[f->source].type;
  if (t == CF_BPMN_EXCLUSIVE_GATEWAY || t == CF_BPMN_INCLUSIVE_GATEWAY || CONDITIONS_ELSEWHERE_EXECUTED)
    return NULL;
  return "a condition on a flow that does not leave an exclusive or inclusive gateway";
}
