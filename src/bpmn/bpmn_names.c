/* Names of BPMN element types and event definitions, as the XML spells them. */
#include "bpmn/cf_bpmn.h"

const char *cf_bpmn_type_name(enum cf_bpmn_type type) {
  static const char *const names[CF_BPMN__TYPE_COUNT] = {
      [CF_BPMN_START_EVENT] = "startEvent",
      [CF_BPMN_END_EVENT] = "endEvent",
      [CF_BPMN_INTERMEDIATE_CATCH_EVENT] = "intermediateCatchEvent",
      [CF_BPMN_INTERMEDIATE_THROW_EVENT] = "intermediateThrowEvent",
      [CF_BPMN_BOUNDARY_EVENT] = "boundaryEvent",
      [CF_BPMN_TASK] = "task",
      [CF_BPMN_SERVICE_TASK] = "serviceTask",
      [CF_BPMN_SEND_TASK] = "sendTask",
      [CF_BPMN_RECEIVE_TASK] = "receiveTask",
      [CF_BPMN_USER_TASK] = "userTask",
      [CF_BPMN_MANUAL_TASK] = "manualTask",
      [CF_BPMN_SCRIPT_TASK] = "scriptTask",
      [CF_BPMN_BUSINESS_RULE_TASK] = "businessRuleTask",
      [CF_BPMN_EXCLUSIVE_GATEWAY] = "exclusiveGateway",
      [CF_BPMN_PARALLEL_GATEWAY] = "parallelGateway",
      [CF_BPMN_INCLUSIVE_GATEWAY] = "inclusiveGateway",
      [CF_BPMN_EVENT_BASED_GATEWAY] = "eventBasedGateway",
      [CF_BPMN_COMPLEX_GATEWAY] = "complexGateway",
      [CF_BPMN_SUB_PROCESS] = "subProcess",
      [CF_BPMN_EVENT_SUB_PROCESS] = "subProcess",
      [CF_BPMN_TRANSACTION] = "transaction",
      [CF_BPMN_AD_HOC_SUB_PROCESS] = "adHocSubProcess",
      [CF_BPMN_CALL_ACTIVITY] = "callActivity",
  };
  if ((unsigned)type >= CF_BPMN__TYPE_COUNT) return "unknown";
  return names[type];
}

const char *cf_bpmn_event_name(enum cf_bpmn_event event) {
  static const char *const names[CF_BPMN__EVENT_COUNT] = {
      [CF_BPMN_EVENT_NONE] = "none",
      [CF_BPMN_EVENT_MESSAGE] = "message",
      [CF_BPMN_EVENT_TIMER] = "timer",
      [CF_BPMN_EVENT_SIGNAL] = "signal",
      [CF_BPMN_EVENT_ERROR] = "error",
      [CF_BPMN_EVENT_ESCALATION] = "escalation",
      [CF_BPMN_EVENT_COMPENSATION] = "compensation",
      [CF_BPMN_EVENT_CONDITIONAL] = "conditional",
      [CF_BPMN_EVENT_LINK] = "link",
      [CF_BPMN_EVENT_TERMINATE] = "terminate",
      [CF_BPMN_EVENT_CANCEL] = "cancel",
      [CF_BPMN_EVENT_MULTIPLE] = "multiple",
  };
  if ((unsigned)event >= CF_BPMN__EVENT_COUNT) return "unknown";
  return names[event];
}
