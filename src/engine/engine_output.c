/* The event list an engine call produces (struct cf_engine_output). */
#include <string.h>

#include "base/cf_alloc.h"
#include "engine/cf_engine.h"

void cf_engine_output_init(struct cf_engine_output *o) { memset(o, 0, sizeof *o); }

void cf_engine_output_release(struct cf_engine_output *o) {
  if (!o) return;
  for (size_t i = 0; i < o->count; i++) {
    cf_free(o->events[i].detail);
    cf_free(o->events[i].variables);
  }
  cf_free(o->events);
  cf_engine_output_init(o);
}

const char *cf_engine_event_name(enum cf_engine_event_kind kind) {
  static const char *const names[CF_ENGINE__EV_COUNT] = {
      [CF_ENGINE_EV_ELEMENT_ACTIVATED] = "ELEMENT_ACTIVATED",
      [CF_ENGINE_EV_ELEMENT_COMPLETED] = "ELEMENT_COMPLETED",
      [CF_ENGINE_EV_ELEMENT_TERMINATED] = "ELEMENT_TERMINATED",
      [CF_ENGINE_EV_FLOW_TAKEN] = "SEQUENCE_FLOW_TAKEN",
      [CF_ENGINE_EV_JOB_CREATED] = "JOB_CREATED",
      [CF_ENGINE_EV_JOB_COMPLETED] = "JOB_COMPLETED",
      [CF_ENGINE_EV_JOB_FAILED] = "JOB_FAILED",
      [CF_ENGINE_EV_JOB_RETRIES_UPDATED] = "JOB_RETRIES_UPDATED",
      [CF_ENGINE_EV_JOB_ERROR_THROWN] = "JOB_ERROR_THROWN",
      [CF_ENGINE_EV_JOB_CANCELED] = "JOB_CANCELED",
      [CF_ENGINE_EV_USER_TASK_CREATED] = "USER_TASK_CREATED",
      [CF_ENGINE_EV_USER_TASK_ASSIGNED] = "USER_TASK_ASSIGNED",
      [CF_ENGINE_EV_USER_TASK_COMPLETED] = "USER_TASK_COMPLETED",
      [CF_ENGINE_EV_USER_TASK_CANCELED] = "USER_TASK_CANCELED",
      [CF_ENGINE_EV_INCIDENT_CREATED] = "INCIDENT_CREATED",
      [CF_ENGINE_EV_INCIDENT_RESOLVED] = "INCIDENT_RESOLVED",
      [CF_ENGINE_EV_VARIABLE_SET] = "VARIABLE_SET",
      [CF_ENGINE_EV_INSTANCE_COMPLETED] = "INSTANCE_COMPLETED",
      [CF_ENGINE_EV_INSTANCE_TERMINATED] = "INSTANCE_TERMINATED",
      [CF_ENGINE_EV_TIMER_CREATED] = "TIMER_CREATED",
      [CF_ENGINE_EV_TIMER_TRIGGERED] = "TIMER_TRIGGERED",
      [CF_ENGINE_EV_TIMER_CANCELED] = "TIMER_CANCELED",
      [CF_ENGINE_EV_SUBSCRIPTION_OPENED] = "SUBSCRIPTION_OPENED",
      [CF_ENGINE_EV_SUBSCRIPTION_CORRELATED] = "SUBSCRIPTION_CORRELATED",
      [CF_ENGINE_EV_SUBSCRIPTION_CLOSED] = "SUBSCRIPTION_CLOSED",
      [CF_ENGINE_EV_SIGNAL_THROWN] = "SIGNAL_THROWN",
      [CF_ENGINE_EV_CALL_STARTED] = "CALL_STARTED",
      [CF_ENGINE_EV_CALL_CANCELED] = "CALL_CANCELED",
      [CF_ENGINE_EV_ERROR_TO_PARENT] = "ERROR_TO_PARENT",
      [CF_ENGINE_EV_ESCALATION_TO_PARENT] = "ESCALATION_TO_PARENT",
  };
  if ((unsigned)kind >= CF_ENGINE__EV_COUNT) return "UNKNOWN";
  return names[kind];
}

bool cf_engine_event_routed(enum cf_engine_event_kind kind) {
  switch (kind) {
  case CF_ENGINE_EV_CALL_STARTED:
  case CF_ENGINE_EV_CALL_CANCELED:
  case CF_ENGINE_EV_INSTANCE_COMPLETED:
  case CF_ENGINE_EV_INSTANCE_TERMINATED:
  case CF_ENGINE_EV_ERROR_TO_PARENT:
  case CF_ENGINE_EV_ESCALATION_TO_PARENT:
  case CF_ENGINE_EV_SUBSCRIPTION_OPENED:
  case CF_ENGINE_EV_SIGNAL_THROWN:
    return true;
  default:
    return false;
  }
}
