/*
 * Unit tests of src/bpmn/: BPMN XML -> compiled model, the validation rules
 * (each with a small model that breaks it, and the element and line the
 * problem must name), hostile documents, limits, and out-of-memory at every
 * allocation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/cf_alloc.h"
#include "bpmn/bpmn_int.h"
#include "bpmn/cf_bpmn.h"
#include "feel/cf_feel.h"

#define NS_BPMN "http://www.omg.org/spec/BPMN/20100524/MODEL"
#define NS_ZEEBE "http://camunda.org/schema/zeebe/1.0"

/* Line 1: declaration; line 2: definitions; line 3: process; the body starts on line 4. */
#define HEAD                                                                                         \
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                                    \
  "<bpmn:definitions xmlns:bpmn=\"" NS_BPMN "\" xmlns:zeebe=\"" NS_ZEEBE "\" id=\"defs\">\n"        \
  "<bpmn:process id=\"p\" isExecutable=\"true\">\n"
#define TAIL "</bpmn:process>\n</bpmn:definitions>\n"
#define DOC(body) HEAD body TAIL

/* A start, a task and an end, linked: lines 4-8. */
#define LINEAR                                                                  \
  "<bpmn:startEvent id=\"start\"/>\n"                                           \
  "<bpmn:sequenceFlow id=\"f1\" sourceRef=\"start\" targetRef=\"task\"/>\n"     \
  "<bpmn:task id=\"task\"/>\n"                                                  \
  "<bpmn:sequenceFlow id=\"f2\" sourceRef=\"task\" targetRef=\"end\"/>\n"       \
  "<bpmn:endEvent id=\"end\"/>\n"

static char *read_shared(const char *name, size_t *len) {
  const char *src = getenv("CF_SOURCE_DIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/../shared/models/%s", src ? src : ".", name);
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s (is CF_SOURCE_DIR set?)", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static struct cf_bpmn_model *parse(const char *xml, struct cf_bpmn_problems *pr) {
  cf_bpmn_problems_init(pr);
  return cf_bpmn_parse(xml, strlen(xml), "test.bpmn", pr);
}

static void dump(const struct cf_bpmn_problems *pr) {
  for (size_t i = 0; i < pr->count; i++)
    print_message("  problem: %d %s (%s): %s\n", pr->items[i].line,
                  pr->items[i].element_id ? pr->items[i].element_id : "-",
                  pr->items[i].element_type ? pr->items[i].element_type : "-", pr->items[i].message);
}

/* The model parses without a problem. */
static struct cf_bpmn_model *parse_ok(const char *xml) {
  struct cf_bpmn_problems pr;
  struct cf_bpmn_model *m = parse(xml, &pr);
  if (!m || pr.count) {
    dump(&pr);
    fail_msg("expected the model to deploy");
  }
  cf_bpmn_problems_release(&pr);
  return m;
}

/*
 * The model is refused, and one problem names element id (NULL: none) of
 * type on line, with a message containing `text`.
 */
static void expect_problem(const char *xml, const char *id, const char *type, int line, const char *text) {
  struct cf_bpmn_problems pr;
  struct cf_bpmn_model *m = parse(xml, &pr);
  assert_null(m);
  assert_true(pr.count >= 1);
  for (size_t i = 0; i < pr.count; i++) {
    const struct cf_bpmn_problem *p = &pr.items[i];
    if (p->line != line || !strstr(p->message, text)) continue;
    if (id && (!p->element_id || strcmp(p->element_id, id))) continue;
    if (!id && p->element_id) continue;
    if (type && (!p->element_type || strcmp(p->element_type, type))) continue;
    cf_bpmn_problems_release(&pr);
    return;
  }
  dump(&pr);
  cf_bpmn_problems_release(&pr);
  fail_msg("no problem on line %d for %s containing \"%s\"", line, id ? id : "(none)", text);
}

static const struct cf_bpmn_element *el(const struct cf_bpmn_model *m, const char *id) {
  int32_t i = cf_bpmn_find_element(m, id);
  if (i < 0) fail_msg("no element %s", id);
  return &m->elements[i];
}

static const struct cf_bpmn_flow *flow(const struct cf_bpmn_model *m, const char *id) {
  for (uint32_t i = 0; i < m->nflows; i++)
    if (!strcmp(m->flows[i].id, id)) return &m->flows[i];
  fail_msg("no flow %s", id);
  return NULL;
}

/* Evaluates a compiled value against {name: number}; returns the boolean, or fails. */
static bool eval_bool(const struct cf_bpmn_value *v, const char *name, int64_t n) {
  assert_non_null(v->expr);
  struct cf_feel_value vars, num, out;
  assert_int_equal(cf_feel_ctx_new(&vars, 1), CF_OK);
  cf_feel_set_int(&num, n);
  assert_int_equal(cf_feel_ctx_put(&vars, name, strlen(name), &num), CF_OK);
  struct cf_feel_env env = {0, 0, NULL};
  struct cf_feel_warnings w;
  cf_feel_warnings_init(&w);
  cf_feel_set_null(&out);
  assert_int_equal(cf_feel_eval(v->expr, &vars, &env, &out, &w), CF_OK);
  assert_int_equal(out.type, CF_FEEL_BOOLEAN);
  bool b = out.u.boolean;
  cf_feel_value_release(&out);
  cf_feel_value_release(&vars);
  cf_feel_warnings_release(&w);
  return b;
}

/* ========================================================== shared models */

static void order_model(void **state) {
  size_t len;
  char *xml = read_shared("order.bpmn", &len);
  struct cf_bpmn_problems pr;
  cf_bpmn_problems_init(&pr);
  struct cf_bpmn_model *m = cf_bpmn_parse(xml, len, "order.bpmn", &pr);
  if (!m) dump(&pr);
  assert_non_null(m);
  assert_int_equal(pr.count, 0);
  assert_string_equal(m->resource_name, "order.bpmn");

  assert_int_equal(m->nprocesses, 1);
  const struct cf_bpmn_process *p = &m->processes[0];
  assert_string_equal(p->id, "order_processing");
  assert_string_equal(p->name, "Order processing");
  assert_true(p->executable);
  assert_int_equal(p->line, 18);
  assert_int_equal(cf_bpmn_find_process(m, "order_processing"), 0);
  assert_int_equal(cf_bpmn_find_process(m, "nope"), -1);

  assert_int_equal(m->nelements, 11);
  assert_int_equal(m->nflows, 12);
  assert_int_equal(p->nelements, 11);
  assert_int_equal(p->none_start, cf_bpmn_find_element(m, "order_received"));

  const struct cf_bpmn_element *start = el(m, "order_received");
  assert_int_equal(start->type, CF_BPMN_START_EVENT);
  assert_int_equal(start->event, CF_BPMN_EVENT_NONE);
  assert_int_equal(start->line, 19);
  assert_int_equal(start->parent, -1);
  assert_int_equal(start->nincoming, 0);
  assert_int_equal(start->noutgoing, 1);

  const struct cf_bpmn_element *gw = el(m, "amount_check");
  assert_int_equal(gw->type, CF_BPMN_EXCLUSIVE_GATEWAY);
  assert_string_equal(gw->name, "Amount > 1000?");
  assert_int_equal(gw->line, 22);
  assert_int_equal(gw->noutgoing, 2);
  assert_string_equal(m->flows[gw->outgoing[0]].id, "Flow_large_order"); /* document order */
  assert_string_equal(m->flows[gw->outgoing[1]].id, "Flow_small_order");
  assert_int_equal(gw->default_flow, (int32_t)gw->outgoing[1]);

  const struct cf_bpmn_flow *large = flow(m, "Flow_large_order");
  assert_int_equal(large->line, 81);
  assert_string_equal(large->condition.text, "=amount > 1000");
  assert_true(eval_bool(&large->condition, "amount", 1500));
  assert_false(eval_bool(&large->condition, "amount", 10));
  assert_false(cf_bpmn_value_present(&flow(m, "Flow_small_order")->condition));
  assert_int_equal(large->source, (uint32_t)cf_bpmn_find_element(m, "amount_check"));
  assert_int_equal(large->target, (uint32_t)cf_bpmn_find_element(m, "approve_order"));

  const struct cf_bpmn_element *approve = el(m, "approve_order");
  assert_int_equal(approve->type, CF_BPMN_SERVICE_TASK);
  assert_string_equal(approve->job_type.text, "approve-order");
  assert_null(approve->job_type.expr);
  assert_string_equal(approve->job_retries.text, "3");
  assert_int_equal(approve->default_flow, -1);

  const struct cf_bpmn_element *join = el(m, "fulfil_join");
  assert_int_equal(join->type, CF_BPMN_PARALLEL_GATEWAY);
  assert_int_equal(join->nincoming, 2);
  assert_int_equal(el(m, "order_shipped")->type, CF_BPMN_END_EVENT);
  assert_int_equal(cf_bpmn_find_element(m, "Flow_large_order"), -1); /* flows are not elements */
  assert_int_equal(cf_bpmn_find_element(m, "nope"), -1);

  cf_bpmn_model_free(m);
  cf_bpmn_problems_release(&pr);
  free(xml);
}

static void other_shared_models(void **state) {
  const char *names[] = {"usertask.bpmn", "linear10.bpmn"};
  for (size_t i = 0; i < 2; i++) {
    size_t len;
    char *xml = read_shared(names[i], &len);
    struct cf_bpmn_problems pr;
    cf_bpmn_problems_init(&pr);
    struct cf_bpmn_model *m = cf_bpmn_parse(xml, len, NULL, &pr);
    if (!m) dump(&pr);
    assert_non_null(m);
    assert_null(m->resource_name);
    if (i == 0) {
      assert_int_equal(el(m, "review_lead")->type, CF_BPMN_USER_TASK);
      assert_false(el(m, "review_lead")->zeebe_user_task);
    } else {
      assert_int_equal(m->nelements, 12);
      assert_string_equal(el(m, "task_10")->job_type.text, "noop");
    }
    cf_bpmn_model_free(m);
    cf_bpmn_problems_release(&pr);
    free(xml);
  }
}

/* =============================================================== parsing */

static void zeebe_extensions(void **state) {
  struct cf_bpmn_model *m = parse_ok(DOC(
      "<bpmn:startEvent id=\"start\"/>\n"
      "<bpmn:sequenceFlow id=\"f1\" sourceRef=\"start\" targetRef=\"svc\"/>\n"
      "<bpmn:serviceTask id=\"svc\" name=\"Call\">\n"
      "  <bpmn:extensionElements>\n"
      "    <zeebe:taskDefinition type=\"=&quot;crm.&quot; + kind\" retries=\"5\"/>\n"
      "    <zeebe:ioMapping>\n"
      "      <zeebe:input source=\"=order.total * 2\" target=\"total\"/>\n"
      "      <zeebe:input source=\"static text\" target=\"label\"/>\n"
      "      <zeebe:output source=\"=result\" target=\"out.value\"/>\n"
      "    </zeebe:ioMapping>\n"
      "    <zeebe:taskHeaders><zeebe:header key=\"k1\" value=\"v1\"/><zeebe:header key=\"k2\" value=\"v2\"/></zeebe:taskHeaders>\n"
      "    <zeebe:properties><zeebe:property name=\"color\" value=\"red\"/></zeebe:properties>\n"
      "    <zeebe:somethingNew foo=\"bar\"/>\n"
      "  </bpmn:extensionElements>\n"
      "</bpmn:serviceTask>\n"
      "<bpmn:sequenceFlow id=\"f2\" sourceRef=\"svc\" targetRef=\"user\"/>\n"
      "<bpmn:userTask id=\"user\">\n"
      "  <bpmn:extensionElements>\n"
      "    <zeebe:userTask/>\n"
      "    <zeebe:assignmentDefinition assignee=\"=owner\" candidateGroups=\"sales, support\" candidateUsers=\"=[&quot;a&quot;]\"/>\n"
      "    <zeebe:taskSchedule dueDate=\"=now() + duration(&quot;P1D&quot;)\" followUpDate=\"2026-01-01T00:00:00Z\"/>\n"
      "    <zeebe:priorityDefinition priority=\"=70\"/>\n"
      "    <zeebe:formDefinition formId=\"lead-form\"/>\n"
      "  </bpmn:extensionElements>\n"
      "</bpmn:userTask>\n"
      "<bpmn:sequenceFlow id=\"f3\" sourceRef=\"user\" targetRef=\"script\"/>\n"
      "<bpmn:scriptTask id=\"script\">\n"
      "  <bpmn:extensionElements><zeebe:script expression=\"=a + 1\" resultVariable=\"b\"/></bpmn:extensionElements>\n"
      "</bpmn:scriptTask>\n"
      "<bpmn:sequenceFlow id=\"f4\" sourceRef=\"script\" targetRef=\"rule\"/>\n"
      "<bpmn:businessRuleTask id=\"rule\">\n"
      "  <bpmn:extensionElements><zeebe:taskDefinition type=\"rules\"/></bpmn:extensionElements>\n"
      "</bpmn:businessRuleTask>\n"
      "<bpmn:sequenceFlow id=\"f5\" sourceRef=\"rule\" targetRef=\"end\"/>\n"
      "<bpmn:endEvent id=\"end\"><bpmn:terminateEventDefinition/></bpmn:endEvent>\n"));

  const struct cf_bpmn_element *svc = el(m, "svc");
  assert_string_equal(svc->job_type.text, "=\"crm.\" + kind");
  assert_non_null(svc->job_type.expr);
  assert_string_equal(svc->job_retries.text, "5");
  assert_null(svc->job_retries.expr);
  assert_int_equal(svc->ninputs, 2);
  assert_string_equal(svc->inputs[0].target, "total");
  assert_non_null(svc->inputs[0].source.expr);
  assert_string_equal(svc->inputs[1].source.text, "static text");
  assert_null(svc->inputs[1].source.expr);
  assert_int_equal(svc->noutputs, 1);
  assert_string_equal(svc->outputs[0].target, "out.value");
  assert_int_equal(svc->nheaders, 2);
  assert_string_equal(svc->headers[1].key, "k2");
  assert_string_equal(svc->headers[1].value, "v2");
  assert_int_equal(svc->nproperties, 1);
  assert_string_equal(svc->properties[0].key, "color");

  const struct cf_bpmn_element *u = el(m, "user");
  assert_true(u->zeebe_user_task);
  assert_non_null(u->assignee.expr);
  assert_string_equal(u->candidate_groups.text, "sales, support");
  assert_null(u->candidate_groups.expr);
  assert_non_null(u->candidate_users.expr);
  assert_non_null(u->due_date.expr);
  assert_string_equal(u->follow_up_date.text, "2026-01-01T00:00:00Z");
  assert_non_null(u->priority.expr);
  assert_string_equal(u->form_key, "lead-form");
  assert_false(cf_bpmn_value_present(&u->job_type));

  const struct cf_bpmn_element *s = el(m, "script");
  assert_non_null(s->script.expr);
  assert_string_equal(s->result_variable, "b");
  assert_int_equal(el(m, "end")->event, CF_BPMN_EVENT_TERMINATE);
  cf_bpmn_model_free(m);
}

/* Everything the engine does not run yet is still parsed in full (seen with the support table off). */
static void events_parsed_fully(void **state) {
  const char *xml =
      "<?xml version=\"1.0\"?>\n"
      "<definitions xmlns=\"" NS_BPMN "\" xmlns:z=\"" NS_ZEEBE "\">\n"
      "<message id=\"m1\" name=\"=&quot;order-&quot; + id\"><extensionElements><z:subscription correlationKey=\"=orderId\"/></extensionElements></message>\n"
      "<error id=\"e1\" errorCode=\"E42\"/>\n"
      "<signal id=\"s1\" name=\"go\"/>\n"
      "<escalation id=\"x1\" escalationCode=\"late\"/>\n"
      "<process id=\"p\" isExecutable=\"true\">\n"
      "<startEvent id=\"start\"/>\n"
      "<sequenceFlow id=\"f1\" sourceRef=\"start\" targetRef=\"wait\"/>\n"
      "<intermediateCatchEvent id=\"wait\"><timerEventDefinition><timeDuration>PT5M</timeDuration></timerEventDefinition></intermediateCatchEvent>\n"
      "<sequenceFlow id=\"f2\" sourceRef=\"wait\" targetRef=\"msg\"/>\n"
      "<intermediateCatchEvent id=\"msg\"><messageEventDefinition messageRef=\"m1\"/></intermediateCatchEvent>\n"
      "<sequenceFlow id=\"f3\" sourceRef=\"msg\" targetRef=\"call\"/>\n"
      "<callActivity id=\"call\"><extensionElements><z:calledElement processId=\"child\" propagateAllChildVariables=\"false\"/></extensionElements>\n"
      "  <multiInstanceLoopCharacteristics isSequential=\"true\"><extensionElements><z:loopCharacteristics inputCollection=\"=items\" inputElement=\"item\" outputCollection=\"results\" outputElement=\"=r\"/></extensionElements>\n"
      "  <completionCondition>=done</completionCondition></multiInstanceLoopCharacteristics></callActivity>\n"
      "<boundaryEvent id=\"oops\" attachedToRef=\"call\" cancelActivity=\"false\"><errorEventDefinition errorRef=\"e1\"/></boundaryEvent>\n"
      "<boundaryEvent id=\"every\" attachedToRef=\"call\"><timerEventDefinition><timeCycle>R3/PT1H</timeCycle></timerEventDefinition></boundaryEvent>\n"
      "<sequenceFlow id=\"f4\" sourceRef=\"call\" targetRef=\"sig\"/>\n"
      "<intermediateThrowEvent id=\"sig\"><signalEventDefinition signalRef=\"s1\"/></intermediateThrowEvent>\n"
      "<sequenceFlow id=\"f5\" sourceRef=\"sig\" targetRef=\"esc\"/>\n"
      "<endEvent id=\"esc\"><escalationEventDefinition escalationRef=\"x1\"/></endEvent>\n"
      "<sequenceFlow id=\"f6\" sourceRef=\"oops\" targetRef=\"err\"/>\n"
      "<endEvent id=\"err\"><errorEventDefinition errorRef=\"e1\"/></endEvent>\n"
      "<sequenceFlow id=\"f7\" sourceRef=\"every\" targetRef=\"linkout\"/>\n"
      "<intermediateThrowEvent id=\"linkout\"><linkEventDefinition name=\"L\"/></intermediateThrowEvent>\n"
      "<intermediateCatchEvent id=\"linkin\"><linkEventDefinition name=\"L\"/></intermediateCatchEvent>\n"
      "<sequenceFlow id=\"f8\" sourceRef=\"linkin\" targetRef=\"esp\"/>\n"
      "<subProcess id=\"esp\" triggeredByEvent=\"true\">\n"
      "  <startEvent id=\"esp_start\" isInterrupting=\"false\"><signalEventDefinition signalRef=\"s1\"/></startEvent>\n"
      "</subProcess>\n"
      "</process>\n"
      "</definitions>\n";
  struct cf_bpmn_problems pr;
  cf_bpmn_problems_init(&pr);
  /* With the support table the file is still refused, but only for its flow into the event
   * sub-process: every element in it is executed now. */
  assert_null(cf_bpmn_parse(xml, strlen(xml), NULL, &pr));
  assert_true(pr.count > 0);
  for (size_t i = 0; i < pr.count; i++)
    assert_null(strstr(pr.items[i].message, "crmflow does not execute"));
  cf_bpmn_problems_release(&pr);

  /* The event sub-process has a flow into it: the only problem left without the table. */
  struct cf_bpmn_model *m = cf__bpmn_parse(xml, strlen(xml), NULL, &pr, false);
  assert_null(m);
  assert_int_equal(pr.count, 1);
  assert_string_equal(pr.items[0].element_id, "esp");
  assert_int_equal(pr.items[0].line, 29);
  cf_bpmn_problems_release(&pr);

  /* Without that flow it parses. */
  char *fixed = strdup(xml);
  char *f8 = strstr(fixed, "<sequenceFlow id=\"f8\"");
  memset(f8, ' ', strchr(f8, '\n') - f8);
  m = cf__bpmn_parse(fixed, strlen(fixed), NULL, &pr, false);
  if (!m) dump(&pr);
  assert_non_null(m);

  const struct cf_bpmn_element *w = el(m, "wait");
  assert_int_equal(w->event, CF_BPMN_EVENT_TIMER);
  assert_int_equal(w->timer_kind, CF_BPMN_TIMER_DURATION);
  assert_string_equal(w->timer.text, "PT5M");
  const struct cf_bpmn_element *msg = el(m, "msg");
  assert_int_equal(msg->event, CF_BPMN_EVENT_MESSAGE);
  assert_string_equal(msg->message_ref_name, "=\"order-\" + id");
  assert_non_null(msg->message_name.expr);
  assert_string_equal(msg->correlation_key.text, "=orderId");
  const struct cf_bpmn_element *call = el(m, "call");
  assert_int_equal(call->type, CF_BPMN_CALL_ACTIVITY);
  assert_string_equal(call->called_process_id.text, "child");
  assert_false(call->propagate_all_child_variables);
  assert_true(call->propagate_all_parent_variables);
  assert_non_null(call->multi);
  assert_true(call->multi->sequential);
  assert_non_null(call->multi->input_collection.expr);
  assert_string_equal(call->multi->input_element, "item");
  assert_string_equal(call->multi->output_collection, "results");
  assert_non_null(call->multi->output_element.expr);
  assert_non_null(call->multi->completion_condition.expr);
  assert_int_equal(call->nboundaries, 2);
  const struct cf_bpmn_element *oops = el(m, "oops");
  assert_int_equal(oops->attached_to, cf_bpmn_find_element(m, "call"));
  assert_false(oops->cancel_activity);
  assert_int_equal(oops->event, CF_BPMN_EVENT_ERROR);
  assert_string_equal(oops->error_code.text, "E42");
  const struct cf_bpmn_element *every = el(m, "every");
  assert_true(every->cancel_activity);
  assert_int_equal(every->timer_kind, CF_BPMN_TIMER_CYCLE);
  assert_string_equal(el(m, "sig")->signal_name.text, "go");
  assert_string_equal(el(m, "esc")->escalation_code.text, "late");
  assert_string_equal(el(m, "linkout")->link_name, "L");
  const struct cf_bpmn_element *esp = el(m, "esp");
  assert_int_equal(esp->type, CF_BPMN_EVENT_SUB_PROCESS);
  assert_int_equal(esp->nchildren, 1);
  assert_int_equal(esp->none_start, -1);
  const struct cf_bpmn_element *esps = el(m, "esp_start");
  assert_int_equal(esps->parent, cf_bpmn_find_element(m, "esp"));
  assert_false(esps->interrupting);
  assert_int_equal(esps->event, CF_BPMN_EVENT_SIGNAL);
  assert_int_equal(m->processes[0].nelements, 12); /* esp_start is the sub-process's */
  cf_bpmn_model_free(m);
  cf_bpmn_problems_release(&pr);
  free(fixed);
}

static void sub_process_structure(void **state) {
  struct cf_bpmn_model *m = parse_ok(DOC(
      "<bpmn:startEvent id=\"start\"/>\n"
      "<bpmn:sequenceFlow id=\"f1\" sourceRef=\"start\" targetRef=\"sub\"/>\n"
      "<bpmn:subProcess id=\"sub\">\n"
      "  <bpmn:startEvent id=\"s2\"/>\n"
      "  <bpmn:sequenceFlow id=\"g1\" sourceRef=\"s2\" targetRef=\"e2\"/>\n"
      "  <bpmn:endEvent id=\"e2\"/>\n"
      "</bpmn:subProcess>\n"
      "<bpmn:sequenceFlow id=\"f2\" sourceRef=\"sub\" targetRef=\"end\"/>\n"
      "<bpmn:endEvent id=\"end\"/>\n"
      "<bpmn:textAnnotation id=\"note\"><bpmn:text>hi</bpmn:text></bpmn:textAnnotation>\n"
      "<bpmn:association id=\"as\" sourceRef=\"note\" targetRef=\"sub\"/>\n"
      "<bpmn:laneSet id=\"ls\"><bpmn:lane id=\"lane\"><bpmn:flowNodeRef>start</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>\n"));
  const struct cf_bpmn_element *sub = el(m, "sub");
  assert_int_equal(sub->type, CF_BPMN_SUB_PROCESS);
  assert_int_equal(sub->nchildren, 2);
  assert_int_equal(sub->none_start, cf_bpmn_find_element(m, "s2"));
  assert_int_equal(el(m, "e2")->parent, cf_bpmn_find_element(m, "sub"));
  assert_int_equal(m->processes[0].nelements, 3);
  assert_int_equal(m->nelements, 5);
  assert_int_equal(m->nflows, 3);
  cf_bpmn_model_free(m);
}

/* Namespaces are matched by URI: any prefix, or none, works. */
static void namespaces_by_uri(void **state) {
  struct cf_bpmn_model *m = parse_ok(
      "<semantic:definitions xmlns:semantic=\"" NS_BPMN "\" xmlns:cam=\"" NS_ZEEBE "\">\n"
      "<semantic:process id=\"p\" isExecutable=\"true\">\n"
      "<semantic:startEvent id=\"s\"/><semantic:sequenceFlow id=\"f\" sourceRef=\"s\" targetRef=\"t\"/>\n"
      "<semantic:serviceTask id=\"t\"><semantic:extensionElements><cam:taskDefinition type=\"x\"/></semantic:extensionElements></semantic:serviceTask>\n"
      "</semantic:process></semantic:definitions>");
  assert_string_equal(el(m, "t")->job_type.text, "x");
  cf_bpmn_model_free(m);
  /* The right local names in a wrong namespace are not BPMN. */
  expect_problem("<definitions xmlns=\"http://example.com/not-bpmn\"><process id=\"p\"/></definitions>", NULL, NULL, 1,
                 "not a BPMN 2.0 model");
  /* A zeebe-like element in another namespace is not a task definition. */
  expect_problem(DOC("<bpmn:startEvent id=\"s\"/>\n"
                     "<bpmn:sequenceFlow id=\"f\" sourceRef=\"s\" targetRef=\"t\"/>\n"
                     "<bpmn:serviceTask id=\"t\"><bpmn:extensionElements><x:taskDefinition xmlns:x=\"urn:x\" type=\"a\"/></bpmn:extensionElements></bpmn:serviceTask>\n"),
                 "t", "serviceTask", 6, "has no job type");
}

static void start_tag_lines(void **state) {
  /* A start tag over several lines is reported on the line of its '<'. */
  expect_problem(DOC(LINEAR "<bpmn:serviceTask\n   id=\"svc\"\n   name=\"x\"/>\n"), "svc", "serviceTask", 9,
                 "has no job type");
}

/* ============================================================ validation */

static void duplicate_ids(void **state) {
  expect_problem(DOC(LINEAR "<bpmn:task id=\"task\"/>\n"), "task", "task", 9,
                 "the id 'task' is already used by the task on line 6");
}

static void dangling_flows(void **state) {
  expect_problem(DOC(LINEAR "<bpmn:sequenceFlow id=\"f3\" targetRef=\"end\"/>\n"), "f3", "sequenceFlow", 9,
                 "needs a sourceRef");
  expect_problem(DOC(LINEAR "<bpmn:sequenceFlow id=\"f3\" sourceRef=\"task\" targetRef=\"ghost\"/>\n"), "f3",
                 "sequenceFlow", 9, "targetRef 'ghost' does not name a flow element");
  /* A flow may not point at a sequence flow, a process or an artifact. */
  expect_problem(DOC(LINEAR "<bpmn:sequenceFlow id=\"f3\" sourceRef=\"task\" targetRef=\"f1\"/>\n"), "f3",
                 "sequenceFlow", 9, "targetRef 'f1' does not name a flow element");
}

static void flow_across_sub_process(void **state) {
  expect_problem(DOC("<bpmn:startEvent id=\"start\"/>\n"
                     "<bpmn:sequenceFlow id=\"f1\" sourceRef=\"start\" targetRef=\"inner\"/>\n"
                     "<bpmn:subProcess id=\"sub\">\n"
                     "  <bpmn:startEvent id=\"s2\"/>\n"
                     "  <bpmn:sequenceFlow id=\"g1\" sourceRef=\"s2\" targetRef=\"inner\"/>\n"
                     "  <bpmn:task id=\"inner\"/>\n"
                     "</bpmn:subProcess>\n"),
                 "f1", "sequenceFlow", 5, "cannot cross a sub-process boundary");
}

static void default_flow_not_outgoing(void **state) {
  expect_problem(DOC(LINEAR
                     "<bpmn:exclusiveGateway id=\"gw\" default=\"f1\"/>\n"
                     "<bpmn:sequenceFlow id=\"f3\" sourceRef=\"gw\" targetRef=\"end\"/>\n"),
                 "gw", "exclusiveGateway", 9, "default flow 'f1' is not an outgoing sequence flow");
  expect_problem(DOC("<bpmn:startEvent id=\"start\"/>\n"
                     "<bpmn:sequenceFlow id=\"f1\" sourceRef=\"start\" targetRef=\"task\"/>\n"
                     "<bpmn:task id=\"task\" default=\"zzz\"/>\n"),
                 "task", "task", 6, "default flow 'zzz' is not an outgoing sequence flow");
}

static void gateway_flows_need_conditions(void **state) {
  const char *body =
      "<bpmn:startEvent id=\"start\"/>\n"
      "<bpmn:sequenceFlow id=\"f1\" sourceRef=\"start\" targetRef=\"gw\"/>\n"
      "<bpmn:%s id=\"gw\" default=\"dflt\"/>\n"
      "<bpmn:sequenceFlow id=\"yes\" sourceRef=\"gw\" targetRef=\"end\"><bpmn:conditionExpression>=x &gt; 1</bpmn:conditionExpression></bpmn:sequenceFlow>\n"
      "<bpmn:sequenceFlow id=\"bare\" sourceRef=\"gw\" targetRef=\"end\"/>\n"
      "<bpmn:sequenceFlow id=\"dflt\" sourceRef=\"gw\" targetRef=\"end\"/>\n"
      "<bpmn:endEvent id=\"end\"/>\n";
  char xml[4096];
  snprintf(xml, sizeof xml, HEAD "%s" TAIL, body);
  char doc[4096];
  snprintf(doc, sizeof doc, xml, "exclusiveGateway");
  expect_problem(doc, "bare", "sequenceFlow", 8, "leaves exclusiveGateway 'gw' without a condition");
  snprintf(doc, sizeof doc, xml, "inclusiveGateway");
  expect_problem(doc, "bare", "sequenceFlow", 8, "leaves inclusiveGateway 'gw' without a condition");
  /* A parallel gateway needs no conditions; with one outgoing flow neither does an exclusive one. */
  struct cf_bpmn_model *m = parse_ok(DOC("<bpmn:startEvent id=\"start\"/>\n"
                                         "<bpmn:sequenceFlow id=\"f1\" sourceRef=\"start\" targetRef=\"gw\"/>\n"
                                         "<bpmn:exclusiveGateway id=\"gw\"/>\n"
                                         "<bpmn:sequenceFlow id=\"f2\" sourceRef=\"gw\" targetRef=\"end\"/>\n"
                                         "<bpmn:endEvent id=\"end\"/>\n"));
  cf_bpmn_model_free(m);
  /* A default flow's condition is dropped, as Camunda ignores it. */
  m = parse_ok(DOC("<bpmn:startEvent id=\"start\"/>\n"
                   "<bpmn:sequenceFlow id=\"f1\" sourceRef=\"start\" targetRef=\"gw\"/>\n"
                   "<bpmn:exclusiveGateway id=\"gw\" default=\"d\"/>\n"
                   "<bpmn:sequenceFlow id=\"a\" sourceRef=\"gw\" targetRef=\"end\"><bpmn:conditionExpression>=x</bpmn:conditionExpression></bpmn:sequenceFlow>\n"
                   "<bpmn:sequenceFlow id=\"d\" sourceRef=\"gw\" targetRef=\"end\"><bpmn:conditionExpression>=y</bpmn:conditionExpression></bpmn:sequenceFlow>\n"
                   "<bpmn:endEvent id=\"end\"/>\n"));
  assert_false(cf_bpmn_value_present(&flow(m, "d")->condition));
  assert_true(cf_bpmn_value_present(&flow(m, "a")->condition));
  cf_bpmn_model_free(m);
}

static void gateway_without_outgoing(void **state) {
  expect_problem(DOC("<bpmn:startEvent id=\"start\"/>\n"
                     "<bpmn:sequenceFlow id=\"f1\" sourceRef=\"start\" targetRef=\"gw\"/>\n"
                     "<bpmn:parallelGateway id=\"gw\"/>\n"),
                 "gw", "parallelGateway", 6, "needs at least one outgoing sequence flow");
}

static void job_tasks_need_a_type(void **state) {
  const char *types[] = {"serviceTask", "sendTask", "businessRuleTask", "scriptTask"};
  const char *texts[] = {"has no job type", "has no job type", "needs a zeebe:calledDecision or a zeebe:taskDefinition",
                         "needs a zeebe:script expression or a zeebe:taskDefinition"};
  for (int i = 0; i < 4; i++) {
    char xml[2048];
    snprintf(xml, sizeof xml, DOC(LINEAR "<bpmn:%s id=\"job\"/>\n"), types[i]);
    expect_problem(xml, "job", types[i], 9, texts[i]);
  }
  expect_problem(DOC(LINEAR "<bpmn:serviceTask id=\"job\"><bpmn:extensionElements><zeebe:taskDefinition/></bpmn:extensionElements></bpmn:serviceTask>\n"),
                 "job", "serviceTask", 9, "zeebe:taskDefinition has no type");
  expect_problem(DOC(LINEAR "<bpmn:serviceTask id=\"job\"><bpmn:extensionElements><zeebe:taskDefinition type=\"t\" retries=\"many\"/></bpmn:extensionElements></bpmn:serviceTask>\n"),
                 "job", "serviceTask", 9, "retries \"many\" is not a whole number");
  expect_problem(DOC(LINEAR "<bpmn:scriptTask id=\"job\"><bpmn:extensionElements><zeebe:script expression=\"a + 1\" resultVariable=\"r\"/></bpmn:extensionElements></bpmn:scriptTask>\n"),
                 "job", "scriptTask", 9, "must be a FEEL expression starting with '='");
  expect_problem(DOC(LINEAR "<bpmn:scriptTask id=\"job\"><bpmn:extensionElements><zeebe:script expression=\"=a + 1\"/></bpmn:extensionElements></bpmn:scriptTask>\n"),
                 "job", "scriptTask", 9, "zeebe:script has no resultVariable");
  /* A user task, a manual task and a script task run as a job are fine. */
  struct cf_bpmn_model *m = parse_ok(DOC(LINEAR "<bpmn:userTask id=\"u\"/>\n<bpmn:manualTask id=\"mt\"/>\n"
                                                "<bpmn:scriptTask id=\"sj\"><bpmn:extensionElements><zeebe:taskDefinition type=\"py\"/></bpmn:extensionElements></bpmn:scriptTask>\n"));
  cf_bpmn_model_free(m);
}

static void process_needs_a_start_event(void **state) {
  expect_problem(DOC("<bpmn:task id=\"t\"/>\n"), "p", "process", 3, "the process has no start event");
  expect_problem(DOC(LINEAR "<bpmn:startEvent id=\"start2\"/>\n"), "start2", "startEvent", 9,
                 "a second none start event (the first is 'start' on line 4)");
  expect_problem(DOC(LINEAR "<bpmn:subProcess id=\"sub\"><bpmn:task id=\"in\"/></bpmn:subProcess>\n"), "sub",
                 "subProcess", 9, "needs exactly one start event");
}

static void boundary_attachment(void **state) {
  expect_problem(DOC(LINEAR "<bpmn:boundaryEvent id=\"b\"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>\n"),
                 "b", "boundaryEvent", 9, "attachedToRef is missing");
  expect_problem(DOC(LINEAR "<bpmn:boundaryEvent id=\"b\" attachedToRef=\"nothing\"/>\n"), "b", "boundaryEvent", 9,
                 "attachedToRef 'nothing' does not name an element");
  expect_problem(DOC(LINEAR "<bpmn:boundaryEvent id=\"b\" attachedToRef=\"end\"/>\n"), "b", "boundaryEvent", 9,
                 "a endEvent: a boundary event can only be attached to an activity");
}

static void executable_processes(void **state) {
  const char *none = "<bpmn:definitions xmlns:bpmn=\"" NS_BPMN "\">\n"
                     "<bpmn:process id=\"p\">\n<bpmn:startEvent id=\"s\"/>\n</bpmn:process>\n</bpmn:definitions>\n";
  expect_problem(none, NULL, NULL, 1, "no executable process");
  expect_problem("<bpmn:definitions xmlns:bpmn=\"" NS_BPMN "\"/>", NULL, NULL, 1, "the file has no bpmn:process");
  /* A non-executable pool beside an executable process: only the executable one must be runnable. */
  struct cf_bpmn_model *m = parse_ok(
      "<bpmn:definitions xmlns:bpmn=\"" NS_BPMN "\">\n"
      "<bpmn:collaboration id=\"c\"><bpmn:participant id=\"a\" processRef=\"run\"/><bpmn:participant id=\"b\" processRef=\"doc\"/>"
      "<bpmn:messageFlow id=\"mf\" sourceRef=\"a\" targetRef=\"b\"/></bpmn:collaboration>\n"
      "<bpmn:process id=\"run\" isExecutable=\"true\"><bpmn:startEvent id=\"s\"/></bpmn:process>\n"
      "<bpmn:process id=\"doc\" isExecutable=\"false\"><bpmn:serviceTask id=\"t\"/>"
      "<bpmn:intermediateCatchEvent id=\"w\"><bpmn:timerEventDefinition/></bpmn:intermediateCatchEvent></bpmn:process>\n"
      "</bpmn:definitions>\n");
  assert_int_equal(m->nprocesses, 2);
  assert_true(m->processes[0].executable);
  assert_false(m->processes[1].executable);
  cf_bpmn_model_free(m);
}

static void feel_errors(void **state) {
  expect_problem(DOC("<bpmn:startEvent id=\"start\"/>\n"
                     "<bpmn:sequenceFlow id=\"f1\" sourceRef=\"start\" targetRef=\"gw\"/>\n"
                     "<bpmn:exclusiveGateway id=\"gw\" default=\"d\"/>\n"
                     "<bpmn:sequenceFlow id=\"a\" sourceRef=\"gw\" targetRef=\"end\"><bpmn:conditionExpression>=amount &gt;</bpmn:conditionExpression></bpmn:sequenceFlow>\n"
                     "<bpmn:sequenceFlow id=\"d\" sourceRef=\"gw\" targetRef=\"end\"/>\n"
                     "<bpmn:endEvent id=\"end\"/>\n"),
                 "a", "sequenceFlow", 7, "condition \"=amount >\" is not a valid FEEL expression: syntax error at line 1, column");
  expect_problem(DOC(LINEAR "<bpmn:serviceTask id=\"svc\"><bpmn:extensionElements>\n"
                            "<zeebe:taskDefinition type=\"t\"/>\n"
                            "<zeebe:ioMapping><zeebe:input source=\"=a +* b\" target=\"x\"/></zeebe:ioMapping>\n"
                            "</bpmn:extensionElements></bpmn:serviceTask>\n"),
                 "svc", "serviceTask", 11, "zeebe:input source \"=a +* b\" is not a valid FEEL expression");
  /* Camunda 8 reads a condition without '=' as a static value: refused. */
  expect_problem(DOC("<bpmn:startEvent id=\"start\"/>\n"
                     "<bpmn:sequenceFlow id=\"f1\" sourceRef=\"start\" targetRef=\"gw\"/>\n"
                     "<bpmn:exclusiveGateway id=\"gw\" default=\"d\"/>\n"
                     "<bpmn:sequenceFlow id=\"a\" sourceRef=\"gw\" targetRef=\"end\"><bpmn:conditionExpression>${x}</bpmn:conditionExpression></bpmn:sequenceFlow>\n"
                     "<bpmn:sequenceFlow id=\"d\" sourceRef=\"gw\" targetRef=\"end\"/>\n"
                     "<bpmn:endEvent id=\"end\"/>\n"),
                 "a", "sequenceFlow", 7, "condition \"${x}\" must be a FEEL expression starting with '='");
}

static void unsupported_elements(void **state) {
  expect_problem(DOC(LINEAR "<bpmn:intermediateCatchEvent id=\"w\"><bpmn:conditionalEventDefinition><bpmn:condition>=x</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>\n"),
                 "w", "intermediateCatchEvent", 9, "crmflow does not execute intermediateCatchEvent (conditional event)");
  expect_problem(DOC(LINEAR "<bpmn:intermediateThrowEvent id=\"c\"><bpmn:escalationEventDefinition/><bpmn:signalEventDefinition/></bpmn:intermediateThrowEvent>\n"),
                 "c", "intermediateThrowEvent", 9, "crmflow does not execute intermediateThrowEvent (event with several definitions)");
  expect_problem(DOC(LINEAR "<bpmn:task id=\"t\"><bpmn:standardLoopCharacteristics/></bpmn:task>\n"), "t", "task", 9,
                 "crmflow does not execute task (standard loop");
  expect_problem(DOC(LINEAR "<bpmn:complexGateway id=\"g\"/>\n<bpmn:sequenceFlow id=\"f3\" sourceRef=\"g\" targetRef=\"end\"/>\n"),
                 "g", "complexGateway", 9, "crmflow does not execute complexGateway");
  expect_problem(DOC(LINEAR "<bpmn:sequenceFlow id=\"f3\" sourceRef=\"task\" targetRef=\"end\"><bpmn:conditionExpression>=x</bpmn:conditionExpression></bpmn:sequenceFlow>\n"),
                 "f3", "sequenceFlow", 9, "a condition on a flow that does not leave an exclusive or inclusive gateway");
  expect_problem(DOC(LINEAR "<bpmn:businessRuleTask id=\"b\"><bpmn:extensionElements><zeebe:calledDecision decisionId=\"d\" resultVariable=\"r\"/></bpmn:extensionElements></bpmn:businessRuleTask>\n"),
                 "b", "businessRuleTask", 9, "crmflow does not execute businessRuleTask (called decision: DMN)");
}

/* Every problem shows in one run, in line order. */
static void all_problems_at_once(void **state) {
  struct cf_bpmn_problems pr;
  struct cf_bpmn_model *m = parse(DOC(LINEAR
                                      "<bpmn:serviceTask id=\"a\"/>\n"
                                      "<bpmn:sequenceFlow id=\"f3\" sourceRef=\"a\" targetRef=\"zz\"/>\n"
                                      "<bpmn:task id=\"task\"/>\n"
                                      "<bpmn:sendTask id=\"b\"/>\n"),
                                  &pr);
  assert_null(m);
  assert_int_equal(pr.count, 4);
  assert_string_equal(pr.items[0].element_id, "a");
  assert_int_equal(pr.items[0].line, 9);
  assert_int_equal(pr.items[1].line, 10);
  assert_int_equal(pr.items[2].line, 11);
  assert_int_equal(pr.items[3].line, 12);
  cf_bpmn_problems_release(&pr);
}

/* ============================================================== hostile */

static void doctype_and_entities_refused(void **state) {
  /* Billion laughs: refused at the DOCTYPE, before any entity is declared. */
  char xml[8192];
  int n = snprintf(xml, sizeof xml, "<?xml version=\"1.0\"?>\n<!DOCTYPE d [\n<!ENTITY l0 \"lol\">\n");
  for (int i = 1; i < 10; i++) {
    n += snprintf(xml + n, sizeof xml - (size_t)n, "<!ENTITY l%d \"", i);
    for (int k = 0; k < 10; k++) n += snprintf(xml + n, sizeof xml - (size_t)n, "&l%d;", i - 1);
    n += snprintf(xml + n, sizeof xml - (size_t)n, "\">\n");
  }
  snprintf(xml + n, sizeof xml - (size_t)n,
           "]>\n<definitions xmlns=\"" NS_BPMN "\"><process id=\"&l9;\" isExecutable=\"true\"/></definitions>\n");
  expect_problem(xml, NULL, NULL, 2, "the document has a DOCTYPE");
  /* XXE: a SYSTEM entity is never read. */
  expect_problem("<?xml version=\"1.0\"?>\n<!DOCTYPE d [ <!ENTITY x SYSTEM \"file:///etc/passwd\"> ]>\n"
                 "<definitions xmlns=\"" NS_BPMN "\"><process id=\"&x;\"/></definitions>",
                 NULL, NULL, 2, "the document has a DOCTYPE");
  /* An external DTD (network or file) is not fetched either. */
  expect_problem("<!DOCTYPE definitions SYSTEM \"http://127.0.0.1:1/x.dtd\">\n<definitions xmlns=\"" NS_BPMN "\"/>",
                 NULL, NULL, 1, "the document has a DOCTYPE");
  /* Without a DOCTYPE an entity is undeclared: malformed. */
  expect_problem("<definitions xmlns=\"" NS_BPMN "\">\n<process id=\"&x;\"/></definitions>", NULL, NULL, 2,
                 "Entity 'x' not defined");
}

static void malformed_xml(void **state) {
  expect_problem("<definitions xmlns=\"" NS_BPMN "\">\n<process id=\"p\">\n</proces>\n", NULL, NULL, 3,
                 "Opening and ending tag mismatch");
  expect_problem("", NULL, NULL, 1, "Document is empty");
  struct cf_bpmn_problems pr;
  cf_bpmn_problems_init(&pr);
  assert_null(cf_bpmn_parse(NULL, 0, NULL, &pr));
  assert_true(pr.count >= 1);
  cf_bpmn_problems_release(&pr);
  cf_bpmn_problems_release(&pr); /* twice is fine */
  const char bin[] = {'<', 'a', '\0', '\xff', '>', '\x01'};
  cf_bpmn_problems_init(&pr);
  assert_null(cf_bpmn_parse(bin, sizeof bin, NULL, &pr));
  assert_true(pr.count >= 1);
  cf_bpmn_problems_release(&pr);
  cf_bpmn_model_free(NULL);
}

static void limits(void **state) {
  /* Depth. */
  size_t depth = CF_BPMN_MAX_DEPTH + 5;
  char *deep = malloc(depth * 7 + 100);
  size_t n = (size_t)sprintf(deep, "<definitions xmlns=\"" NS_BPMN "\">\n");
  for (size_t i = 0; i < depth; i++) n += (size_t)sprintf(deep + n, "<a>");
  for (size_t i = 0; i < depth; i++) n += (size_t)sprintf(deep + n, "</a>");
  sprintf(deep + n, "</definitions>");
  expect_problem(deep, NULL, NULL, 2, "nested more than 256 deep");
  free(deep);

  /* Element count. */
  size_t count = CF_BPMN_MAX_ELEMENTS + 1;
  char *many = malloc(count * 4 + 200);
  n = (size_t)sprintf(many, "<definitions xmlns=\"" NS_BPMN "\">\n");
  for (size_t i = 0; i < count; i++) n += (size_t)sprintf(many + n, "<a/>");
  sprintf(many + n, "</definitions>");
  expect_problem(many, NULL, NULL, 2, "more than 100000 XML elements");
  free(many);

  /* Size: refused before parsing, whatever the bytes. */
  size_t big = (size_t)CF_BPMN_MAX_BYTES + 1;
  char *huge = malloc(big);
  memset(huge, ' ', big);
  struct cf_bpmn_problems pr;
  cf_bpmn_problems_init(&pr);
  assert_null(cf_bpmn_parse(huge, big, NULL, &pr));
  assert_int_equal(pr.count, 1);
  assert_non_null(strstr(pr.items[0].message, "more than the 16777216 bytes"));
  cf_bpmn_problems_release(&pr);
  free(huge);
}

/* Every prefix of a real model: refused or accepted, never a crash or a leak. */
static void truncations(void **state) {
  size_t len;
  char *xml = read_shared("order.bpmn", &len);
  for (size_t cut = 0; cut < len; cut += 37) {
    struct cf_bpmn_problems pr;
    cf_bpmn_problems_init(&pr);
    struct cf_bpmn_model *m = cf_bpmn_parse(xml, cut, NULL, &pr);
    assert_true(m ? pr.count == 0 : pr.count > 0);
    cf_bpmn_model_free(m);
    cf_bpmn_problems_release(&pr);
  }
  free(xml);
}

/* ========================================================= out of memory */

static void out_of_memory_everywhere(void **state) {
  size_t len;
  char *xml = read_shared("order.bpmn", &len);
  bool done = false;
  for (long k = 0; !done && k < 100000; k++) {
    struct cf_bpmn_problems pr;
    cf_bpmn_problems_init(&pr);
    cf_alloc_fail_after(k);
    struct cf_bpmn_model *m = cf_bpmn_parse(xml, len, "order.bpmn", &pr);
    long failures = cf_alloc_failures();
    cf_alloc_fail_reset();
    if (m) {
      assert_int_equal(pr.count, 0);
      assert_int_equal(failures, 0);
      assert_int_equal(cf_bpmn_find_element(m, "ship_order") >= 0, 1);
      done = true;
    } else {
      assert_true(failures > 0);
      bool said = false;
      for (size_t i = 0; i < pr.count; i++) said |= !strcmp(pr.items[i].message, "out of memory");
      if (!said) dump(&pr);
      assert_true(said);
    }
    cf_bpmn_model_free(m);
    cf_bpmn_problems_release(&pr);
  }
  assert_true(done);

  /* The same with a model full of problems: the problem list itself runs out. */
  const char *bad = DOC(LINEAR "<bpmn:serviceTask id=\"a\"/>\n<bpmn:sendTask id=\"b\"/>\n<bpmn:task id=\"task\"/>\n");
  for (long k = 0; k < 2000; k++) {
    struct cf_bpmn_problems pr;
    cf_bpmn_problems_init(&pr);
    cf_alloc_fail_after(k);
    struct cf_bpmn_model *m = cf_bpmn_parse(bad, strlen(bad), NULL, &pr);
    long failures = cf_alloc_failures();
    cf_alloc_fail_reset();
    assert_null(m);
    assert_true(pr.count >= 1);
    if (!failures) {
      assert_int_equal(pr.count, 3);
      cf_bpmn_problems_release(&pr);
      break;
    }
    cf_bpmn_problems_release(&pr);
  }
  free(xml);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(order_model),
      cmocka_unit_test(other_shared_models),
      cmocka_unit_test(zeebe_extensions),
      cmocka_unit_test(events_parsed_fully),
      cmocka_unit_test(sub_process_structure),
      cmocka_unit_test(namespaces_by_uri),
      cmocka_unit_test(start_tag_lines),
      cmocka_unit_test(duplicate_ids),
      cmocka_unit_test(dangling_flows),
      cmocka_unit_test(flow_across_sub_process),
      cmocka_unit_test(default_flow_not_outgoing),
      cmocka_unit_test(gateway_flows_need_conditions),
      cmocka_unit_test(gateway_without_outgoing),
      cmocka_unit_test(job_tasks_need_a_type),
      cmocka_unit_test(process_needs_a_start_event),
      cmocka_unit_test(boundary_attachment),
      cmocka_unit_test(executable_processes),
      cmocka_unit_test(feel_errors),
      cmocka_unit_test(unsupported_elements),
      cmocka_unit_test(all_problems_at_once),
      cmocka_unit_test(doctype_and_entities_refused),
      cmocka_unit_test(malformed_xml),
      cmocka_unit_test(limits),
      cmocka_unit_test(truncations),
      cmocka_unit_test(out_of_memory_everywhere),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
