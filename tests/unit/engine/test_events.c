/*
 * Events, waits and structure (issue 4) in the engine: timers, messages,
 * signals, boundary events, event sub-processes, the event-based gateway,
 * links, errors, escalations, call activities and multi-instance.
 */
#include "engine_check.h"

#define HOUR 3600000LL

static const struct cf_engine_timer *timer_of(struct world *w, const char *element) {
  size_t n;
  const struct cf_engine_timer *t = cf_engine_timers(w->inst, &n);
  for (size_t i = 0; i < n; i++)
    if (!strcmp(w->m->elements[t[i].element].id, element)) return &t[i];
  return NULL;
}

static const struct cf_engine_subscription *sub_of(struct world *w, const char *element) {
  size_t n;
  const struct cf_engine_subscription *s = cf_engine_subscriptions(w->inst, &n);
  for (size_t i = 0; i < n; i++)
    if (!strcmp(w->m->elements[s[i].element].id, element)) return &s[i];
  return NULL;
}

static int fire(struct world *w, const char *element) {
  const struct cf_engine_timer *t = timer_of(w, element);
  if (!t) fail_msg("no timer on %s", element);
  return apply(w, CF_ENGINE_CMD_FIRE_TIMER, t->key, NULL, 0);
}

static int correlate(struct world *w, const char *element, const char *vars) {
  const struct cf_engine_subscription *s = sub_of(w, element);
  if (!s) fail_msg("no subscription on %s", element);
  return apply(w, CF_ENGINE_CMD_CORRELATE, s->key, vars, 0);
}

static int count_completed(struct world *w, const char *id) {
  int n = 0;
  for (size_t i = 0; i < w->out.count; i++)
    if (w->out.events[i].kind == CF_ENGINE_EV_ELEMENT_COMPLETED && !w->out.events[i].body &&
        !strcmp(w->m->elements[w->out.events[i].element].id, id))
      n++;
  return n;
}

static void expect_var(struct world *w, const char *name, const char *json) {
  char *v = var_json(w, name);
  if (strcmp(v, json)) fail_msg("variable %s is %s, expected %s", name, v, json);
  free(v);
}

static int throw_job_error(struct world *w, const char *type, const char *code) {
  const struct cf_engine_job *j = job_of(w, type);
  if (!j) fail_msg("no job %s", type);
  struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_THROW_ERROR, .key = j->key, .error_code = code};
  struct cf_error err;
  return cf_engine_apply(w->inst, &cmd, &w->env, &w->out, &err);
}

#define USER(id) "<bpmn:userTask id=\"" id "\"><bpmn:extensionElements><zeebe:userTask/></bpmn:extensionElements></bpmn:userTask>\n"
#define END(id) "<bpmn:endEvent id=\"" id "\"/>\n"
#define START "<bpmn:startEvent id=\"s\"/>\n"

static void test_timer_catch_fires_late_never_early(void **state) {
  struct world w;
  world_start(&w, START "<bpmn:intermediateCatchEvent id=\"wait\"><bpmn:timerEventDefinition>"
                  "<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
                  END("e") FLOW("f1", "s", "wait") FLOW("f2", "wait", "e"), NULL);
  const struct cf_engine_timer *t = timer_of(&w, "wait");
  assert_non_null(t);
  assert_int_equal(t->due_ms, w.env.now_ms + HOUR);
  assert_int_equal(fire(&w, "wait"), CF_ECONFLICT); /* not due */
  w.env.now_ms += HOUR + 5;
  assert_int_equal(fire(&w, "wait"), CF_OK);
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_COMPLETED);
  world_end(&w);
}

static void test_sla_boundaries_on_a_user_task(void **state) {
  /* A reminder every hour (non-interrupting, 2 times) and an escalation after 3 hours. */
  static const char body[] =
      START USER("review")
      "<bpmn:boundaryEvent id=\"remind\" attachedToRef=\"review\" cancelActivity=\"false\"><bpmn:timerEventDefinition>"
      "<bpmn:timeCycle>R2/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
      "<bpmn:boundaryEvent id=\"sla\" attachedToRef=\"review\"><bpmn:timerEventDefinition>"
      "<bpmn:timeDuration>PT3H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
      TASK("nudge", "nudge") TASK("escalate", "escalate") END("done") END("e1") END("e2")
      FLOW("f1", "s", "review") FLOW("f2", "review", "done") FLOW("f3", "remind", "nudge")
      FLOW("f4", "nudge", "e1") FLOW("f5", "sla", "escalate") FLOW("f6", "escalate", "e2");
  struct world w;
  world_start(&w, body, NULL);
  w.env.now_ms += HOUR;
  assert_int_equal(fire(&w, "remind"), CF_OK);
  assert_non_null(job_of(&w, "nudge"));
  size_t n;
  cf_engine_user_tasks(w.inst, &n);
  assert_int_equal(n, 1); /* the task goes on */
  w.env.now_ms += HOUR;
  assert_int_equal(fire(&w, "remind"), CF_OK);
  assert_null(timer_of(&w, "remind")); /* R2: two reminders */
  assert_int_equal(count_completed(&w, "remind"), 2);
  w.env.now_ms += HOUR;
  assert_int_equal(fire(&w, "sla"), CF_OK);
  cf_engine_user_tasks(w.inst, &n);
  assert_int_equal(n, 0); /* interrupted */
  assert_non_null(job_of(&w, "escalate"));
  complete(&w, "escalate", NULL);
  complete(&w, "nudge", NULL);
  complete(&w, "nudge", NULL);
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_COMPLETED);
  assert_int_equal(count_completed(&w, "done"), 0);
  world_end(&w);
}

static void test_message_catch_with_correlation_key(void **state) {
  static const char xml_body[] =
      START "<bpmn:intermediateCatchEvent id=\"paid\"><bpmn:messageEventDefinition messageRef=\"m\"/></bpmn:intermediateCatchEvent>"
      END("e") FLOW("f1", "s", "paid") FLOW("f2", "paid", "e");
  struct cf_buf b;
  cf_buf_init(&b);
  cf_buf_puts(&b, xml_body);
  cf_buf_puts(&b, "</bpmn:process><bpmn:message id=\"m\" name=\"payment-received\"><bpmn:extensionElements>"
                  "<zeebe:subscription correlationKey=\"=orderId\"/></bpmn:extensionElements></bpmn:message>"
                  "<bpmn:process id=\"unused\" isExecutable=\"false\">");
  struct world w;
  world_start(&w, b.data, "{\"orderId\": \"order-7\"}");
  cf_buf_release(&b);
  const struct cf_engine_subscription *s = sub_of(&w, "paid");
  assert_non_null(s);
  assert_string_equal(s->name, "payment-received");
  assert_string_equal(s->correlation_key, "order-7");
  assert_int_equal(correlate(&w, "paid", "{\"amount\": 19.99}"), CF_OK);
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_COMPLETED);
  expect_var(&w, "amount", "19.99");
  world_end(&w);
}

static void test_error_boundary_by_code_and_catch_all(void **state) {
  static const char body[] =
      START TASK("charge", "charge")
      "<bpmn:boundaryEvent id=\"declined\" attachedToRef=\"charge\"><bpmn:errorEventDefinition errorRef=\"e1\"/></bpmn:boundaryEvent>"
      "<bpmn:boundaryEvent id=\"other\" attachedToRef=\"charge\"><bpmn:errorEventDefinition/></bpmn:boundaryEvent>"
      END("ok") END("was_declined") END("was_other")
      FLOW("f1", "s", "charge") FLOW("f2", "charge", "ok") FLOW("f3", "declined", "was_declined")
      FLOW("f4", "other", "was_other")
      "</bpmn:process><bpmn:error id=\"e1\" errorCode=\"DECLINED\"/><bpmn:process id=\"x\" isExecutable=\"false\">";
  struct world w;
  world_start(&w, body, NULL);
  assert_int_equal(throw_job_error(&w, "charge", "DECLINED"), CF_OK);
  assert_int_equal(count_completed(&w, "was_declined"), 1);
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_COMPLETED);
  world_end(&w);
  world_start(&w, body, NULL);
  assert_int_equal(throw_job_error(&w, "charge", "TIMEOUT"), CF_OK);
  assert_int_equal(count_completed(&w, "was_other"), 1);
  world_end(&w);
}

static void test_uncaught_error_raises_incident(void **state) {
  struct world w;
  world_start(&w, START TASK("t", "t") END("e") FLOW("f1", "s", "t") FLOW("f2", "t", "e"), NULL);
  assert_int_equal(throw_job_error(&w, "t", "BOOM"), CF_OK);
  size_t n;
  const struct cf_engine_incident *inc = cf_engine_incidents(w.inst, &n);
  assert_int_equal(n, 1);
  assert_int_equal(inc[0].type, CF_ENGINE_INC_UNHANDLED_ERROR);
  assert_non_null(strstr(inc[0].message, "BOOM"));
  world_end(&w);
}

static void test_error_end_event_in_sub_process_and_event_sub_process(void **state) {
  /* The sub-process ends with an error; the process's error event sub-process handles it. */
  static const char body[] =
      START "<bpmn:subProcess id=\"sub\"><bpmn:startEvent id=\"ss\"/>"
      "<bpmn:endEvent id=\"fail\"><bpmn:errorEventDefinition errorRef=\"e1\"/></bpmn:endEvent>"
      FLOW("g1", "ss", "fail") "</bpmn:subProcess>" END("e")
      "<bpmn:subProcess id=\"handler\" triggeredByEvent=\"true\">"
      "<bpmn:startEvent id=\"hs\"><bpmn:errorEventDefinition errorRef=\"e1\"/></bpmn:startEvent>"
      TASK("fix", "fix") "<bpmn:endEvent id=\"he\"/>" FLOW("h1", "hs", "fix") FLOW("h2", "fix", "he")
      "</bpmn:subProcess>"
      FLOW("f1", "s", "sub") FLOW("f2", "sub", "e")
      "</bpmn:process><bpmn:error id=\"e1\" errorCode=\"BAD\"/><bpmn:process id=\"x\" isExecutable=\"false\">";
  struct world w;
  world_start(&w, body, NULL);
  assert_non_null(job_of(&w, "fix"));
  complete(&w, "fix", NULL);
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_COMPLETED);
  assert_int_equal(count_completed(&w, "e"), 0);   /* the main path was interrupted */
  assert_int_equal(count_completed(&w, "he"), 1);
  world_end(&w);
}

static void test_event_based_gateway_first_wins(void **state) {
  static const char body[] =
      START "<bpmn:eventBasedGateway id=\"g\"/>"
      "<bpmn:intermediateCatchEvent id=\"reply\"><bpmn:messageEventDefinition messageRef=\"m\"/></bpmn:intermediateCatchEvent>"
      "<bpmn:intermediateCatchEvent id=\"timeout\"><bpmn:timerEventDefinition><bpmn:timeDuration>P3D</bpmn:timeDuration>"
      "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>" END("e1") END("e2")
      FLOW("f1", "s", "g") FLOW("f2", "g", "reply") FLOW("f3", "g", "timeout") FLOW("f4", "reply", "e1")
      FLOW("f5", "timeout", "e2")
      "</bpmn:process><bpmn:message id=\"m\" name=\"reply\"><bpmn:extensionElements>"
      "<zeebe:subscription correlationKey=\"=id\"/></bpmn:extensionElements></bpmn:message>"
      "<bpmn:process id=\"x\" isExecutable=\"false\">";
  struct world w;
  world_start(&w, body, "{\"id\": 1}");
  assert_non_null(sub_of(&w, "reply"));
  w.env.now_ms += 3 * 24 * HOUR;
  assert_int_equal(fire(&w, "timeout"), CF_OK);
  assert_null(sub_of(&w, "reply")); /* closed by the winner */
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_COMPLETED);
  assert_int_equal(count_completed(&w, "e2"), 1);
  world_end(&w);
}

static void test_link_and_escalation(void **state) {
  static const char body[] =
      START "<bpmn:intermediateThrowEvent id=\"jump\"><bpmn:linkEventDefinition name=\"L\"/></bpmn:intermediateThrowEvent>"
      "<bpmn:intermediateCatchEvent id=\"land\"><bpmn:linkEventDefinition name=\"L\"/></bpmn:intermediateCatchEvent>"
      "<bpmn:subProcess id=\"sub\"><bpmn:startEvent id=\"ss\"/>"
      "<bpmn:intermediateThrowEvent id=\"raise\"><bpmn:escalationEventDefinition escalationRef=\"x\"/></bpmn:intermediateThrowEvent>"
      "<bpmn:endEvent id=\"se\"/>" FLOW("g1", "ss", "raise") FLOW("g2", "raise", "se") "</bpmn:subProcess>"
      "<bpmn:boundaryEvent id=\"noted\" attachedToRef=\"sub\" cancelActivity=\"false\"><bpmn:escalationEventDefinition escalationRef=\"x\"/></bpmn:boundaryEvent>"
      END("e") END("ne")
      FLOW("f1", "s", "jump") FLOW("f2", "land", "sub") FLOW("f3", "sub", "e") FLOW("f4", "noted", "ne")
      "</bpmn:process><bpmn:escalation id=\"x\" escalationCode=\"LATE\"/><bpmn:process id=\"y\" isExecutable=\"false\">";
  struct world w;
  world_start(&w, body, NULL);
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_COMPLETED);
  assert_int_equal(count_completed(&w, "land"), 1);
  assert_int_equal(count_completed(&w, "noted"), 1); /* non-interrupting: */
  assert_int_equal(count_completed(&w, "se"), 1);    /* the sub-process went on */
  assert_int_equal(count_completed(&w, "e"), 1);
  world_end(&w);
}

static void test_multi_instance_parallel_and_sequential(void **state) {
  static const char par[] =
      START "<bpmn:serviceTask id=\"mail\"><bpmn:extensionElements><zeebe:taskDefinition type=\"mail\"/></bpmn:extensionElements>"
      "<bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements><zeebe:loopCharacteristics "
      "inputCollection=\"=contacts\" inputElement=\"c\" outputCollection=\"sent\" outputElement=\"=c + &quot;!&quot;\"/>"
      "</bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics></bpmn:serviceTask>"
      END("e") FLOW("f1", "s", "mail") FLOW("f2", "mail", "e");
  struct world w;
  world_start(&w, par, "{\"contacts\": [\"ann\", \"bob\", \"cy\"]}");
  size_t n;
  const struct cf_engine_job *jobs = cf_engine_jobs(w.inst, &n);
  assert_int_equal(n, 3);
  /* Complete them in reverse: the output keeps the input order. */
  uint64_t keys[3] = {jobs[0].key, jobs[1].key, jobs[2].key};
  for (int k = 2; k >= 0; k--) assert_int_equal(apply(&w, CF_ENGINE_CMD_COMPLETE_JOB, keys[k], NULL, 0), CF_OK);
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_COMPLETED);
  expect_var(&w, "sent", "[\"ann!\",\"bob!\",\"cy!\"]");
  assert_int_equal(count_completed(&w, "mail"), 3); /* inner instances, not the body */
  world_end(&w);

  static const char seq[] =
      START "<bpmn:serviceTask id=\"try\"><bpmn:extensionElements><zeebe:taskDefinition type=\"try\"/></bpmn:extensionElements>"
      "<bpmn:multiInstanceLoopCharacteristics isSequential=\"true\"><bpmn:extensionElements><zeebe:loopCharacteristics "
      "inputCollection=\"=[1,2,3,4]\" inputElement=\"i\"/></bpmn:extensionElements>"
      "<bpmn:completionCondition>=ok</bpmn:completionCondition></bpmn:multiInstanceLoopCharacteristics></bpmn:serviceTask>"
      END("e") FLOW("f1", "s", "try") FLOW("f2", "try", "e");
  world_start(&w, seq, "{\"ok\": false}");
  cf_engine_jobs(w.inst, &n);
  assert_int_equal(n, 1); /* one at a time */
  complete(&w, "try", NULL);
  complete(&w, "try", "{\"ok\": true}");
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_COMPLETED);
  assert_int_equal(count_completed(&w, "try"), 2);
  world_end(&w);
}

static void test_call_activity_hands_over_to_the_caller(void **state) {
  static const char body[] =
      START "<bpmn:callActivity id=\"call\"><bpmn:extensionElements><zeebe:calledElement processId=\"child\"/>"
      "<zeebe:ioMapping><zeebe:input source=\"=amount * 2\" target=\"double\"/></zeebe:ioMapping>"
      "</bpmn:extensionElements></bpmn:callActivity>" END("e") FLOW("f1", "s", "call") FLOW("f2", "call", "e");
  struct world w;
  world_start(&w, body, "{\"amount\": 5}");
  uint64_t call = 0;
  for (size_t i = 0; i < w.out.count; i++)
    if (w.out.events[i].kind == CF_ENGINE_EV_CALL_STARTED) {
      call = w.out.events[i].key;
      assert_string_equal(w.out.events[i].detail, "child");
    }
  assert_true(call != 0);
  struct cf_feel_value vars;
  assert_int_equal(cf_engine_call_variables(w.inst, call, &vars), CF_OK);
  assert_non_null(cf_feel_ctx_get(vars.u.ctx, "double", 6));
  assert_non_null(cf_feel_ctx_get(vars.u.ctx, "amount", 6));
  cf_feel_value_release(&vars);
  assert_int_equal(apply(&w, CF_ENGINE_CMD_COMPLETE_CALL, call, "{\"result\": \"ok\"}", 0), CF_OK);
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_COMPLETED);
  expect_var(&w, "result", "\"ok\"");
  world_end(&w);
}

static void test_signal_throw_is_announced(void **state) {
  struct world w;
  world_start(&w, START "<bpmn:intermediateThrowEvent id=\"t\"><bpmn:signalEventDefinition signalRef=\"sg\"/></bpmn:intermediateThrowEvent>"
                  END("e") FLOW("f1", "s", "t") FLOW("f2", "t", "e")
                  "</bpmn:process><bpmn:signal id=\"sg\" name=\"catalog-updated\"/><bpmn:process id=\"x\" isExecutable=\"false\">",
              NULL);
  bool seen = false;
  for (size_t i = 0; i < w.out.count; i++)
    if (w.out.events[i].kind == CF_ENGINE_EV_SIGNAL_THROWN && !strcmp(w.out.events[i].detail, "catalog-updated"))
      seen = true;
  assert_true(seen);
  world_end(&w);
}

static void test_compensation_refunds_in_reverse_order(void **state) {
  /* The saga of an order: charge and reserve, then shipping fails: undo both, newest first. */
  static const char body[] =
      START TASK("charge", "charge") TASK("reserve", "reserve") TASK("ship", "ship")
      "<bpmn:boundaryEvent id=\"undo_charge\" attachedToRef=\"charge\"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>"
      "<bpmn:boundaryEvent id=\"undo_reserve\" attachedToRef=\"reserve\"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>"
      "<bpmn:serviceTask id=\"refund\" isForCompensation=\"true\"><bpmn:extensionElements><zeebe:taskDefinition type=\"refund\"/></bpmn:extensionElements></bpmn:serviceTask>"
      "<bpmn:serviceTask id=\"release\" isForCompensation=\"true\"><bpmn:extensionElements><zeebe:taskDefinition type=\"release\"/></bpmn:extensionElements></bpmn:serviceTask>"
      "<bpmn:association id=\"a1\" sourceRef=\"undo_charge\" targetRef=\"refund\"/>"
      "<bpmn:association id=\"a2\" sourceRef=\"undo_reserve\" targetRef=\"release\"/>"
      "<bpmn:boundaryEvent id=\"failed\" attachedToRef=\"ship\"><bpmn:errorEventDefinition/></bpmn:boundaryEvent>"
      "<bpmn:endEvent id=\"undo\"><bpmn:compensateEventDefinition/></bpmn:endEvent>" END("shipped")
      FLOW("f1", "s", "charge") FLOW("f2", "charge", "reserve") FLOW("f3", "reserve", "ship")
      FLOW("f4", "ship", "shipped") FLOW("f5", "failed", "undo");
  struct world w;
  world_start(&w, body, NULL);
  complete(&w, "charge", NULL);
  complete(&w, "reserve", NULL);
  assert_int_equal(throw_job_error(&w, "ship", "NO_STOCK"), CF_OK);
  /* Both handlers start at once (as in Camunda 8), newest first: the reservation's release, then
   * the payment's refund; the end event waits for both. */
  size_t n;
  const struct cf_engine_job *jobs = cf_engine_jobs(w.inst, &n);
  assert_int_equal(n, 2);
  assert_string_equal(jobs[0].type, "release");
  assert_string_equal(jobs[1].type, "refund");
  complete(&w, "release", NULL);
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_ACTIVE);
  complete(&w, "refund", NULL);
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_COMPLETED);
  assert_int_equal(count_completed(&w, "undo"), 1);
  assert_int_equal(count_completed(&w, "shipped"), 0);
  world_end(&w);
}

static void test_compensation_of_multi_instance_and_event_sub_process(void **state) {
  /* Each inner instance of a multi-instance task is compensated, newest first. */
  static const char mi[] =
      START "<bpmn:serviceTask id=\"book\"><bpmn:extensionElements><zeebe:taskDefinition type=\"book\"/></bpmn:extensionElements>"
      "<bpmn:multiInstanceLoopCharacteristics isSequential=\"true\"><bpmn:extensionElements><zeebe:loopCharacteristics "
      "inputCollection=\"=[1,2]\" inputElement=\"n\"/></bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics></bpmn:serviceTask>"
      "<bpmn:boundaryEvent id=\"undo_book\" attachedToRef=\"book\"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>"
      "<bpmn:serviceTask id=\"cancel\" isForCompensation=\"true\"><bpmn:extensionElements><zeebe:taskDefinition type=\"cancel\"/></bpmn:extensionElements></bpmn:serviceTask>"
      "<bpmn:association id=\"a1\" sourceRef=\"undo_book\" targetRef=\"cancel\"/>"
      "<bpmn:endEvent id=\"undo\"><bpmn:compensateEventDefinition/></bpmn:endEvent>"
      FLOW("f1", "s", "book") FLOW("f2", "book", "undo");
  struct world w;
  world_start(&w, mi, NULL);
  complete(&w, "book", NULL);
  complete(&w, "book", NULL);
  size_t n;
  cf_engine_jobs(w.inst, &n);
  assert_int_equal(n, 2); /* one handler per completed inner instance */
  complete(&w, "cancel", NULL);
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_ACTIVE);
  complete(&w, "cancel", NULL);
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_COMPLETED);
  assert_int_equal(count_completed(&w, "cancel"), 2);
  world_end(&w);

  /* A completed sub-process is compensated by its compensation event sub-process, which in turn
   * compensates what ran inside. */
  static const char esp[] =
      START "<bpmn:subProcess id=\"order\"><bpmn:startEvent id=\"os\"/>" TASK("charge", "charge")
      "<bpmn:boundaryEvent id=\"undo_charge\" attachedToRef=\"charge\"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>"
      "<bpmn:serviceTask id=\"refund\" isForCompensation=\"true\"><bpmn:extensionElements><zeebe:taskDefinition type=\"refund\"/></bpmn:extensionElements></bpmn:serviceTask>"
      "<bpmn:association id=\"a1\" sourceRef=\"undo_charge\" targetRef=\"refund\"/>"
      "<bpmn:endEvent id=\"oe\"/>" FLOW("o1", "os", "charge") FLOW("o2", "charge", "oe")
      "<bpmn:subProcess id=\"undo_order\" triggeredByEvent=\"true\">"
      "<bpmn:startEvent id=\"us\"><bpmn:compensateEventDefinition/></bpmn:startEvent>" TASK("notify", "notify")
      "<bpmn:endEvent id=\"ue\"><bpmn:compensateEventDefinition/></bpmn:endEvent>"
      FLOW("u1", "us", "notify") FLOW("u2", "notify", "ue") "</bpmn:subProcess></bpmn:subProcess>"
      "<bpmn:endEvent id=\"undo\"><bpmn:compensateEventDefinition/></bpmn:endEvent>"
      FLOW("f1", "s", "order") FLOW("f2", "order", "undo");
  world_start(&w, esp, NULL);
  complete(&w, "charge", NULL);
  assert_non_null(job_of(&w, "notify"));
  complete(&w, "notify", NULL);
  assert_non_null(job_of(&w, "refund"));
  complete(&w, "refund", NULL);
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_COMPLETED);
  world_end(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_timer_catch_fires_late_never_early),
      cmocka_unit_test(test_sla_boundaries_on_a_user_task),
      cmocka_unit_test(test_message_catch_with_correlation_key),
      cmocka_unit_test(test_error_boundary_by_code_and_catch_all),
      cmocka_unit_test(test_uncaught_error_raises_incident),
      cmocka_unit_test(test_error_end_event_in_sub_process_and_event_sub_process),
      cmocka_unit_test(test_event_based_gateway_first_wins),
      cmocka_unit_test(test_link_and_escalation),
      cmocka_unit_test(test_multi_instance_parallel_and_sequential),
      cmocka_unit_test(test_call_activity_hands_over_to_the_caller),
      cmocka_unit_test(test_signal_throw_is_announced),
      cmocka_unit_test(test_compensation_refunds_in_reverse_order),
      cmocka_unit_test(test_compensation_of_multi_instance_and_event_sub_process),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
