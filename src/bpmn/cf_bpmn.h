/*
 * BPMN models: BPMN 2.0 XML (with Camunda 8 `zeebe:` extension elements)
 * parsed and validated into an immutable compiled model.
 *
 * This is the only layer that knows XML (libxml2, parsed with no network, no
 * entity substitution, no DTD loading, and limits on size, depth and element
 * count). What it produces is plain data: arrays of elements and sequence
 * flows indexed by number, with every FEEL expression compiled once, so the
 * engine never touches XML or FEEL text while it runs.
 *
 * A model holds every process of one deployed resource. Element and flow
 * indices are global to the model; each element records its process and its
 * parent (the sub-process it sits in, or -1 at process level).
 *
 * Values of Camunda attributes follow Camunda 8: text that starts with '='
 * is a FEEL expression (struct cf_bpmn_value.expr set), anything else is a
 * static value (expr NULL, text set).
 *
 * Depends on base and feel. Knows nothing of execution or storage.
 */
#ifndef CF_BPMN_H
#define CF_BPMN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crmflow/cf_error.h"
#include "feel/cf_feel.h"

/* Limits on what a model may be (refused beyond them, with the limit named). */
#define CF_BPMN_MAX_BYTES (16u << 20)
#define CF_BPMN_MAX_DEPTH 256
#define CF_BPMN_MAX_ELEMENTS 100000

enum cf_bpmn_type {
  CF_BPMN_START_EVENT,
  CF_BPMN_END_EVENT,
  CF_BPMN_INTERMEDIATE_CATCH_EVENT,
  CF_BPMN_INTERMEDIATE_THROW_EVENT,
  CF_BPMN_BOUNDARY_EVENT,
  CF_BPMN_TASK, /* an undefined task: passes through */
  CF_BPMN_SERVICE_TASK,
  CF_BPMN_SEND_TASK,
  CF_BPMN_RECEIVE_TASK,
  CF_BPMN_USER_TASK,
  CF_BPMN_MANUAL_TASK,
  CF_BPMN_SCRIPT_TASK,
  CF_BPMN_BUSINESS_RULE_TASK,
  CF_BPMN_EXCLUSIVE_GATEWAY,
  CF_BPMN_PARALLEL_GATEWAY,
  CF_BPMN_INCLUSIVE_GATEWAY,
  CF_BPMN_EVENT_BASED_GATEWAY,
  CF_BPMN_COMPLEX_GATEWAY,
  CF_BPMN_SUB_PROCESS,
  CF_BPMN_EVENT_SUB_PROCESS, /* subProcess triggeredByEvent="true" */
  CF_BPMN_TRANSACTION,
  CF_BPMN_AD_HOC_SUB_PROCESS,
  CF_BPMN_CALL_ACTIVITY,
  CF_BPMN__TYPE_COUNT
};

/* The event definition of an event (or of the start event of an event sub-process). */
enum cf_bpmn_event {
  CF_BPMN_EVENT_NONE,
  CF_BPMN_EVENT_MESSAGE,
  CF_BPMN_EVENT_TIMER,
  CF_BPMN_EVENT_SIGNAL,
  CF_BPMN_EVENT_ERROR,
  CF_BPMN_EVENT_ESCALATION,
  CF_BPMN_EVENT_COMPENSATION,
  CF_BPMN_EVENT_CONDITIONAL,
  CF_BPMN_EVENT_LINK,
  CF_BPMN_EVENT_TERMINATE,
  CF_BPMN_EVENT_CANCEL,
  CF_BPMN_EVENT_MULTIPLE, /* more than one definition on one event */
  CF_BPMN__EVENT_COUNT
};

enum cf_bpmn_timer_kind { CF_BPMN_TIMER_NONE, CF_BPMN_TIMER_DATE, CF_BPMN_TIMER_DURATION, CF_BPMN_TIMER_CYCLE };

/* A Camunda attribute value: static text, or FEEL when it starts with '='. */
struct cf_bpmn_value {
  char *text;                /* as written ('=' included for FEEL); NULL when the attribute is absent */
  struct cf_feel_expr *expr; /* compiled FEEL when text began with '=' */
};

static inline bool cf_bpmn_value_present(const struct cf_bpmn_value *v) { return v->text != NULL; }

/* zeebe:input / zeebe:output: target variable <- source (usually FEEL). */
struct cf_bpmn_mapping {
  char *target;
  struct cf_bpmn_value source;
};

/* zeebe:header and zeebe:property: static key and value. */
struct cf_bpmn_pair {
  char *key;
  char *value;
};

struct cf_bpmn_multi_instance {
  bool sequential;
  struct cf_bpmn_value input_collection; /* zeebe:loopCharacteristics inputCollection */
  char *input_element;
  char *output_collection;
  struct cf_bpmn_value output_element;
  struct cf_bpmn_value completion_condition; /* bpmn:completionCondition */
  struct cf_bpmn_value cardinality;          /* bpmn:loopCardinality */
};

struct cf_bpmn_element {
  char *id;
  char *name;  /* NULL if none */
  int line;    /* line of the element's start tag in the XML */
  uint8_t type;  /* enum cf_bpmn_type */
  uint8_t event; /* enum cf_bpmn_event (events, and event sub-process starts) */
  uint32_t process;   /* index into model->processes */
  int32_t parent;     /* element index of the enclosing sub-process, or -1 */

  uint32_t *incoming; /* flow indices */
  uint32_t nincoming;
  uint32_t *outgoing; /* flow indices, in document order */
  uint32_t noutgoing;
  int32_t default_flow; /* gateways and activities with default="...": flow index or -1 */

  /* Containers (sub-processes of every kind): their direct children. */
  uint32_t *children;
  uint32_t nchildren;
  int32_t none_start; /* the child none start event, or -1 */

  /* Activities: boundary events attached to them. Boundary events: the activity. */
  uint32_t *boundaries;
  uint32_t nboundaries;
  int32_t attached_to;  /* boundary events: element index; else -1 */
  bool cancel_activity; /* boundary events: interrupting (default true) */
  bool interrupting;    /* start events of event sub-processes (default true) */

  /* Jobs (service, send, business-rule, script-as-job tasks; message throw events). */
  struct cf_bpmn_value job_type;    /* zeebe:taskDefinition type */
  struct cf_bpmn_value job_retries; /* zeebe:taskDefinition retries (default "3") */
  struct cf_bpmn_pair *headers;     /* zeebe:taskHeaders */
  uint32_t nheaders;

  /* Variable mappings (zeebe:ioMapping). */
  struct cf_bpmn_mapping *inputs;
  uint32_t ninputs;
  struct cf_bpmn_mapping *outputs;
  uint32_t noutputs;

  /* Script tasks: zeebe:script expression and resultVariable. */
  struct cf_bpmn_value script;
  char *result_variable;

  /* User tasks. */
  bool zeebe_user_task; /* <zeebe:userTask/> present */
  struct cf_bpmn_value assignee, candidate_groups, candidate_users;
  struct cf_bpmn_value due_date, follow_up_date, priority;
  char *form_key; /* zeebe:formDefinition formKey, or formId */

  /* Events. */
  enum cf_bpmn_timer_kind timer_kind;
  struct cf_bpmn_value timer;          /* timeDate / timeDuration / timeCycle text */
  char *message_ref_name;              /* bpmn:message name (static or "=FEEL") */
  struct cf_bpmn_value message_name;
  struct cf_bpmn_value correlation_key; /* zeebe:subscription correlationKey */
  struct cf_bpmn_value signal_name;
  struct cf_bpmn_value error_code;     /* bpmn:error errorCode; absent = catch all */
  struct cf_bpmn_value escalation_code;
  char *link_name;
  int32_t compensation_activity;       /* compensation throw: activityRef, or -1 */
  int32_t compensation_handler;        /* compensation boundary: the handler activity its association names, or -1 */
  bool is_for_compensation;            /* activities: isForCompensation */

  /* Call activities: zeebe:calledElement. */
  struct cf_bpmn_value called_process_id;
  char *called_version_tag;           /* bindingType="versionTag": the zeebe:versionTag to call, else NULL (latest) */
  bool propagate_all_child_variables; /* default true */
  bool propagate_all_parent_variables; /* default true */

  /* Business-rule tasks: zeebe:calledDecision (a DMN decision instead of a job). */
  struct cf_bpmn_value called_decision_id; /* decisionId */
  char *decision_result_variable;          /* resultVariable */

  struct cf_bpmn_multi_instance *multi; /* NULL unless the activity is multi-instance */

  struct cf_bpmn_pair *properties; /* zeebe:properties */
  uint32_t nproperties;
};

struct cf_bpmn_flow {
  char *id;
  char *name;
  int line;
  uint32_t source, target;          /* element indices */
  struct cf_bpmn_value condition;   /* conditionExpression, absent if none */
};

struct cf_bpmn_process {
  char *id;
  char *name;
  char *version_tag; /* zeebe:versionTag, or NULL */
  int line;
  bool executable;
  uint32_t *elements; /* top-level elements of the process, document order */
  uint32_t nelements;
  int32_t none_start; /* the process's none start event, or -1 */
};

/* An embedded Camunda form (zeebe:userTaskForm): a user task's formKey "camunda-forms:bpmn:ID" names it. */
struct cf_bpmn_form {
  char *id;
  char *json;       /* the form's JSON, as written */
};

struct cf_bpmn_model {
  char *resource_name;
  struct cf_bpmn_form *forms;
  uint32_t nforms;
  struct cf_bpmn_process *processes;
  uint32_t nprocesses;
  struct cf_bpmn_element *elements;
  uint32_t nelements;
  struct cf_bpmn_flow *flows;
  uint32_t nflows;
  struct cf_bpmn__arena *arena; /* everything above lives here */
};

/* One problem found while parsing or validating. */
struct cf_bpmn_problem {
  int line;           /* 0 if unknown */
  char *element_id;   /* NULL if the problem is not about one element */
  char *element_type; /* "serviceTask", "sequenceFlow"... or NULL */
  char *message;
};

struct cf_bpmn_problems {
  struct cf_bpmn_problem *items;
  size_t count, cap;
};

void cf_bpmn_problems_init(struct cf_bpmn_problems *p);
void cf_bpmn_problems_release(struct cf_bpmn_problems *p);

/*
 * Parses and validates a BPMN document (len bytes of XML). Returns the model,
 * or NULL when the document is refused; then problems lists every problem
 * found (at least one), each with its line, element and type where known.
 * A model that parses is executable as far as the engine supports: an
 * element crmflow does not execute is a problem, never passed through.
 * resource_name (may be NULL) names the model in messages. Never crashes,
 * whatever the bytes; allocation failure is a problem "out of memory".
 */
struct cf_bpmn_model *cf_bpmn_parse(const char *xml, size_t len, const char *resource_name,
                                    struct cf_bpmn_problems *problems);

void cf_bpmn_model_free(struct cf_bpmn_model *m);

/* Lookups by id: the index, or -1. */
int32_t cf_bpmn_find_element(const struct cf_bpmn_model *m, const char *id);
int32_t cf_bpmn_find_process(const struct cf_bpmn_model *m, const char *id);

/* The BPMN name of a type ("serviceTask", "exclusiveGateway"...). */
const char *cf_bpmn_type_name(enum cf_bpmn_type type);

/* The name of an event definition ("timer", "message"...; "none"). */
const char *cf_bpmn_event_name(enum cf_bpmn_event event);

#endif
