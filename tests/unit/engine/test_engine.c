/*
 * The engine as a state machine: semantics on small models, and the replay
 * property: saving and restoring the state before every command changes
 * nothing (same events, same final state), on randomly generated models and
 * command sequences; every state saved must also be, byte for byte, what the
 * former json-c writer gave (save_reference.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_json.h"
#include "engine/cf_engine.h"

#include "engine_check.h"
#include "save_reference.h"

/* ------------------------------------------------------------- semantics */

static void test_exclusive_gateway_and_parallel_join(void **state) {
  static const char body[] =
      "<bpmn:startEvent id=\"s\"/>"
      "<bpmn:exclusiveGateway id=\"x\" default=\"small\"/>" TASK("approve", "approve")
      "<bpmn:exclusiveGateway id=\"merge\"/>"
      "<bpmn:parallelGateway id=\"fork\"/>" TASK("a", "a") TASK("b", "b")
      "<bpmn:parallelGateway id=\"join\"/><bpmn:endEvent id=\"e\"/>"
      FLOW("f1", "s", "x") CFLOW("big", "x", "approve", "=amount &gt; 1000") FLOW("small", "x", "merge")
      FLOW("f2", "approve", "merge") FLOW("f3", "merge", "fork") FLOW("f4", "fork", "a")
      FLOW("f5", "fork", "b") FLOW("f6", "a", "join") FLOW("f7", "b", "join") FLOW("f8", "join", "e");
  struct world w;
  world_start(&w, body, "{\"amount\": 1500}");
  assert_non_null(job_of(&w, "approve"));
  assert_null(job_of(&w, "a"));
  complete(&w, "approve", "{\"approved\": true}");
  complete(&w, "a", NULL);
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_ACTIVE); /* join waits for b */
  complete(&w, "b", NULL);
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_COMPLETED);
  char buf[400];
  completed(&w, buf, sizeof buf);
  assert_string_equal(buf, "s x approve merge fork a b join e");
  char *v = var_json(&w, "approved");
  assert_string_equal(v, "true");
  free(v);
  world_end(&w);

  world_start(&w, body, "{\"amount\": 10}");
  assert_null(job_of(&w, "approve"));
  assert_non_null(job_of(&w, "a"));
  world_end(&w);
}

static void test_no_matching_condition_raises_incident_then_resolves(void **state) {
  static const char body[] =
      "<bpmn:startEvent id=\"s\"/><bpmn:exclusiveGateway id=\"x\"/>"
      "<bpmn:endEvent id=\"big\"/><bpmn:endEvent id=\"small\"/>"
      FLOW("f1", "s", "x") CFLOW("f2", "x", "big", "=amount &gt; 1000")
      CFLOW("f3", "x", "small", "=amount &lt;= 1000");
  struct world w;
  world_start(&w, body, "{}");
  size_t n;
  const struct cf_engine_incident *inc = cf_engine_incidents(w.inst, &n);
  assert_int_equal(n, 1);
  /* The condition gave null: a wrong type, named in the message. */
  assert_non_null(strstr(inc[0].message, "amount > 1000"));
  assert_string_equal(w.m->elements[inc[0].element].id, "x");
  uint64_t k = inc[0].key;
  assert_int_equal(apply(&w, CF_ENGINE_CMD_RESOLVE_INCIDENT, k, NULL, 0), CF_OK);
  /* Still no amount: a new incident. */
  cf_engine_incidents(w.inst, &n);
  assert_int_equal(n, 1);
  world_end(&w);
}

static void test_job_retries_backoff_incident_and_resolution(void **state) {
  struct world w;
  world_start(&w, "<bpmn:startEvent id=\"s\"/>" TASK("t", "charge") "<bpmn:endEvent id=\"e\"/>"
                  FLOW("f1", "s", "t") FLOW("f2", "t", "e"),
              NULL);
  const struct cf_engine_job *j = job_of(&w, "charge");
  assert_int_equal(j->retries, 3);
  uint64_t key = j->key;
  struct cf_engine_cmd fail = {.kind = CF_ENGINE_CMD_FAIL_JOB, .key = key, .retries = 2,
                               .backoff_ms = 60000, .message = "card declined"};
  struct cf_error err;
  assert_int_equal(cf_engine_apply(w.inst, &fail, &w.env, &w.out, &err), CF_OK);
  j = job_of(&w, "charge");
  assert_int_equal(j->retries, 2);
  assert_int_equal(j->available_at_ms, w.env.now_ms + 60000);
  fail.retries = 0;
  assert_int_equal(cf_engine_apply(w.inst, &fail, &w.env, &w.out, &err), CF_OK);
  size_t n;
  const struct cf_engine_incident *inc = cf_engine_incidents(w.inst, &n);
  assert_int_equal(n, 1);
  assert_string_equal(inc[0].message, "card declined");
  uint64_t ik = inc[0].key;
  /* A failed job cannot be completed, and its incident needs retries first. */
  assert_int_equal(apply(&w, CF_ENGINE_CMD_COMPLETE_JOB, key, NULL, 0), CF_ECONFLICT);
  assert_int_equal(apply(&w, CF_ENGINE_CMD_RESOLVE_INCIDENT, ik, NULL, 0), CF_ECONFLICT);
  assert_int_equal(apply(&w, CF_ENGINE_CMD_UPDATE_JOB_RETRIES, key, NULL, 3), CF_OK);
  assert_int_equal(apply(&w, CF_ENGINE_CMD_RESOLVE_INCIDENT, ik, NULL, 0), CF_OK);
  assert_int_equal(apply(&w, CF_ENGINE_CMD_COMPLETE_JOB, key, NULL, 0), CF_OK);
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_COMPLETED);
  /* Refusals change nothing. */
  assert_int_equal(apply(&w, CF_ENGINE_CMD_COMPLETE_JOB, 999999, NULL, 0), CF_ECONFLICT);
  world_end(&w);
}

static void test_variable_scopes_and_mappings(void **state) {
  static const char body[] =
      "<bpmn:startEvent id=\"s\"/>"
      "<bpmn:subProcess id=\"sub\"><bpmn:extensionElements><zeebe:ioMapping>"
      "<zeebe:input source=\"=amount * 2\" target=\"local\"/>"
      "<zeebe:output source=\"=local + 1\" target=\"fromSub\"/>"
      "</zeebe:ioMapping></bpmn:extensionElements>"
      "<bpmn:startEvent id=\"ss\"/>" TASK("t", "work") "<bpmn:endEvent id=\"se\"/>"
      FLOW("g1", "ss", "t") FLOW("g2", "t", "se") "</bpmn:subProcess>"
      "<bpmn:scriptTask id=\"calc\"><bpmn:extensionElements>"
      "<zeebe:script expression=\"=fromSub * 10\" resultVariable=\"total\"/>"
      "</bpmn:extensionElements></bpmn:scriptTask>"
      "<bpmn:endEvent id=\"e\"/>"
      FLOW("f1", "s", "sub") FLOW("f2", "sub", "calc") FLOW("f3", "calc", "e");
  struct world w;
  world_start(&w, body, "{\"amount\": 0.1}");
  /* The job sees the sub-process's local variable. */
  const struct cf_engine_job *j = job_of(&w, "work");
  struct cf_feel_value vis;
  assert_int_equal(cf_engine_visible_variables(w.inst, j->element_instance_key, &vis), CF_OK);
  const struct cf_feel_value *local = cf_feel_ctx_get(vis.u.ctx, "local", 5);
  assert_non_null(local);
  cf_feel_value_release(&vis);
  /* Job variables propagate: `local` exists in the sub-process scope, `seen` goes to the root. */
  complete(&w, "work", "{\"local\": 5, \"seen\": true}");
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_COMPLETED);
  char *v = var_json(&w, "fromSub");
  assert_string_equal(v, "6");
  free(v);
  v = var_json(&w, "total");
  assert_string_equal(v, "60");
  free(v);
  v = var_json(&w, "seen");
  assert_string_equal(v, "true");
  free(v);
  v = var_json(&w, "local");
  assert_string_equal(v, "(none)"); /* stayed in the sub-process */
  free(v);
  world_end(&w);
}

static void test_inclusive_gateway_join_waits_only_for_live_branches(void **state) {
  static const char body[] =
      "<bpmn:startEvent id=\"s\"/><bpmn:inclusiveGateway id=\"fork\"/>" TASK("a", "a") TASK("b", "b")
      TASK("c", "c") "<bpmn:inclusiveGateway id=\"join\"/><bpmn:endEvent id=\"e\"/>"
      FLOW("f1", "s", "fork") CFLOW("fa", "fork", "a", "=x &gt; 1") CFLOW("fb", "fork", "b", "=x &gt; 2")
      CFLOW("fc", "fork", "c", "=x &gt; 3") FLOW("ja", "a", "join") FLOW("jb", "b", "join")
      FLOW("jc", "c", "join") FLOW("f2", "join", "e");
  struct world w;
  world_start(&w, body, "{\"x\": 2.5}");
  assert_non_null(job_of(&w, "a"));
  assert_non_null(job_of(&w, "b"));
  assert_null(job_of(&w, "c"));
  complete(&w, "a", NULL);
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_ACTIVE);
  complete(&w, "b", NULL);
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_COMPLETED);
  char buf[300];
  completed(&w, buf, sizeof buf);
  assert_string_equal(buf, "s fork a b join e");
  world_end(&w);
}

static void test_terminate_end_event(void **state) {
  static const char body[] =
      "<bpmn:startEvent id=\"s\"/><bpmn:parallelGateway id=\"fork\"/>" TASK("a", "a")
      "<bpmn:endEvent id=\"kill\"><bpmn:terminateEventDefinition/></bpmn:endEvent>"
      FLOW("f1", "s", "fork") FLOW("f2", "fork", "a") FLOW("f3", "fork", "kill");
  struct world w;
  world_start(&w, body, NULL);
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_COMPLETED);
  size_t n;
  cf_engine_jobs(w.inst, &n);
  assert_int_equal(n, 0);
  bool terminated = false;
  for (size_t i = 0; i < w.out.count; i++)
    if (w.out.events[i].kind == CF_ENGINE_EV_ELEMENT_TERMINATED &&
        !strcmp(w.m->elements[w.out.events[i].element].id, "a"))
      terminated = true;
  assert_true(terminated);
  world_end(&w);
}

static void test_endless_loop_of_pass_through_elements_stops_with_incident(void **state) {
  struct world w;
  world_start(&w, "<bpmn:startEvent id=\"s\"/><bpmn:exclusiveGateway id=\"x\"/><bpmn:task id=\"t\"/>"
                  FLOW("f1", "s", "x") FLOW("f2", "x", "t") FLOW("f3", "t", "x"),
              NULL);
  size_t n;
  const struct cf_engine_incident *inc = cf_engine_incidents(w.inst, &n);
  assert_int_equal(n, 1);
  assert_non_null(strstr(inc[0].message, "never wait"));
  assert_int_equal(cf_engine_instance_state(w.inst), CF_ENGINE_ACTIVE);
  world_end(&w);
}

/* ------------------------------------------------------------- replay property */

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state % n);
}

/* A random process: a chain of blocks, each a task, a user task, an exclusive
 * choice, a parallel or inclusive fork/join, a script, or a sub-process. */
static void gen_block(struct cf_buf *b, int *id, const char *from, char *last, int depth) {
  char prev[64];
  snprintf(prev, sizeof prev, "%s", from);
  int blocks = 1 + (int)rnd(3);
  for (int k = 0; k < blocks; k++) {
    int n = ++*id;
    char a[40], z[40];
    uint32_t kind = rnd(depth > 1 ? 5 : 9);
    switch (kind) {
      case 0:
      case 1:
        snprintf(a, sizeof a, "t%d", n);
        cf_buf_printf(b, TASK("%s", "type%d"), a, (int)rnd(3));
        snprintf(z, sizeof z, "%s", a);
        break;
      case 2:
        snprintf(a, sizeof a, "u%d", n);
        cf_buf_printf(b, "<bpmn:userTask id=\"%s\"><bpmn:extensionElements><zeebe:userTask/>"
                         "<zeebe:assignmentDefinition assignee=\"=owner\"/></bpmn:extensionElements>"
                         "</bpmn:userTask>\n", a);
        snprintf(z, sizeof z, "%s", a);
        break;
      case 3:
        snprintf(a, sizeof a, "sc%d", n);
        cf_buf_printf(b, "<bpmn:scriptTask id=\"%s\"><bpmn:extensionElements><zeebe:script "
                         "expression=\"=count + 1\" resultVariable=\"count\"/></bpmn:extensionElements>"
                         "</bpmn:scriptTask>\n", a);
        snprintf(z, sizeof z, "%s", a);
        break;
      case 4: {
        const char *g = rnd(2) ? "exclusiveGateway" : "inclusiveGateway";
        bool inc = g[0] == 'i';
        snprintf(a, sizeof a, "x%d", n);
        snprintf(z, sizeof z, "xj%d", n);
        cf_buf_printf(b, "<bpmn:%s id=\"%s\" default=\"%s_d\"/><bpmn:%s id=\"%s\"/>\n", g, a, a,
                      inc ? "inclusiveGateway" : "exclusiveGateway", z);
        char t1[64], t2[64];
        snprintf(t1, sizeof t1, "xa%d", n);
        snprintf(t2, sizeof t2, "xb%d", n);
        cf_buf_printf(b, TASK("%s", "type%d") TASK("%s", "type%d"), t1, (int)rnd(3), t2, (int)rnd(3));
        cf_buf_printf(b, CFLOW("%s_c", "%s", "%s", "=count &gt; %d"), a, a, t1, (int)rnd(4));
        cf_buf_printf(b, FLOW("%s_d", "%s", "%s"), a, a, t2);
        cf_buf_printf(b, FLOW("%s_j1", "%s", "%s") FLOW("%s_j2", "%s", "%s"), a, t1, z, a, t2, z);
        break;
      }
      case 5: {
        snprintf(a, sizeof a, "p%d", n);
        snprintf(z, sizeof z, "pj%d", n);
        cf_buf_printf(b, "<bpmn:parallelGateway id=\"%s\"/><bpmn:parallelGateway id=\"%s\"/>\n", a, z);
        char l1[64], l2[64];
        snprintf(l1, sizeof l1, "%s_l", a);
        snprintf(l2, sizeof l2, "%s_r", a);
        gen_block(b, id, a, l1, depth + 1);
        gen_block(b, id, a, l2, depth + 1);
        cf_buf_printf(b, FLOW("%s_jl", "%s", "%s") FLOW("%s_jr", "%s", "%s"), a, l1, z, a, l2, z);
        break;
      }
      case 7:
        snprintf(a, sizeof a, "tc%d", n);
        cf_buf_printf(b, "<bpmn:intermediateCatchEvent id=\"%s\"><bpmn:timerEventDefinition>"
                         "<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>"
                         "</bpmn:intermediateCatchEvent>\n", a);
        snprintf(z, sizeof z, "%s", a);
        break;
      case 8:
        /* A user task with an SLA: a boundary timer that interrupts it after two hours. */
        snprintf(a, sizeof a, "ub%d", n);
        cf_buf_printf(b, "<bpmn:userTask id=\"%s\"><bpmn:extensionElements><zeebe:userTask/>"
                         "</bpmn:extensionElements></bpmn:userTask>\n"
                         "<bpmn:boundaryEvent id=\"%s_sla\" attachedToRef=\"%s\"><bpmn:timerEventDefinition>"
                         "<bpmn:timeDuration>PT2H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>\n"
                         "<bpmn:endEvent id=\"%s_late\"/>\n" FLOW("%s_fl", "%s_sla", "%s_late"),
                      a, a, a, a, a, a, a);
        snprintf(z, sizeof z, "%s", a);
        break;
      default: {
        snprintf(a, sizeof a, "sp%d", n);
        snprintf(z, sizeof z, "%s", a);
        cf_buf_printf(b, "<bpmn:subProcess id=\"%s\"><bpmn:extensionElements><zeebe:ioMapping>"
                         "<zeebe:input source=\"=count\" target=\"inner\"/></zeebe:ioMapping>"
                         "</bpmn:extensionElements><bpmn:startEvent id=\"%s_s\"/>"
                         "<bpmn:endEvent id=\"%s_e\"/>\n", a, a, a);
        char s[64], end[64];
        snprintf(s, sizeof s, "%s_s", a);
        gen_block(b, id, s, end, depth + 1);
        cf_buf_printf(b, FLOW("%s_f", "%s", "%s_e") "</bpmn:subProcess>\n", a, end, a);
        break;
      }
    }
    cf_buf_printf(b, FLOW("f%d", "%s", "%s"), n, prev, a);
    snprintf(prev, sizeof prev, "%s", z);
  }
  strcpy(last, prev);
}

/* The saved state; it must be what the former json-c writer gave (save_reference.h). */
static char *save(struct cf_engine_instance *in) {
  struct cf_buf b;
  cf_buf_init(&b);
  assert_int_equal(cf_engine_instance_save(in, &b), CF_OK);
  char *want = ref_instance_save_text(in);
  assert_non_null(want);
  if (strcmp(b.data, want) != 0) fail_msg("save differs from the reference:\n%s\n%s", b.data, want);
  cf_free(want);
  return cf_buf_detach(&b);
}

static void events_text(const struct cf_engine_output *o, size_t from, struct cf_buf *b) {
  for (size_t i = from; i < o->count; i++)
    cf_buf_printf(b, "%s %llu %d %s\n", cf_engine_event_name(o->events[i].kind),
                  (unsigned long long)o->events[i].key, o->events[i].element,
                  o->events[i].detail ? o->events[i].detail : "");
}

static void test_replay_after_save_and_load(void **state) {
  int commands = 0, completed_instances = 0;
  for (int trial = 0; trial < 300; trial++) {
    rng_state = 0x9E3779B97F4A7C15ULL + (uint64_t)trial * 7919;
    struct cf_buf body;
    cf_buf_init(&body);
    int id = 0;
    char last[40];
    cf_buf_puts(&body, "<bpmn:startEvent id=\"start\"/><bpmn:endEvent id=\"end\"/>\n");
    gen_block(&body, &id, "start", last, 0);
    cf_buf_printf(&body, FLOW("f_end", "%s", "end"), last);
    struct world a, b;
    world_start(&a, body.data, "{\"count\": 0, \"owner\": \"ann\"}");
    world_start(&b, body.data, "{\"count\": 0, \"owner\": \"ann\"}");
    cf_buf_release(&body);
    for (int step = 0; step < 40 && cf_engine_instance_state(a.inst) == CF_ENGINE_ACTIVE; step++) {
      /* b goes through save and load before every command. */
      char *saved = save(b.inst);
      struct cf_error err;
      struct cf_engine_instance *loaded = cf_engine_instance_load(b.m, saved, strlen(saved), &err);
      if (!loaded) fail_msg("trial %d: load failed: %s\n%s", trial, err.msg, saved);
      char *again = save(loaded);
      assert_string_equal(saved, again);
      free(saved);
      free(again);
      cf_engine_instance_free(b.inst);
      b.inst = loaded;

      struct cf_engine_cmd cmd = {0};
      char varbuf[64];
      snprintf(varbuf, sizeof varbuf, "{\"count\": %u}", rnd(5));
      struct cf_feel_value v = vars_of(varbuf);
      size_t nj, nt, ni;
      const struct cf_engine_job *jobs = cf_engine_jobs(a.inst, &nj);
      const struct cf_engine_user_task *tasks = cf_engine_user_tasks(a.inst, &nt);
      const struct cf_engine_incident *incs = cf_engine_incidents(a.inst, &ni);
      uint32_t pick = rnd(10);
      size_t ntm;
      const struct cf_engine_timer *timers = cf_engine_timers(a.inst, &ntm);
      if (ntm && pick >= 8) {
        /* The clock moves to a timer's due time, and it fires. */
        const struct cf_engine_timer *t = &timers[rnd((uint32_t)ntm)];
        if (t->due_ms > a.env.now_ms) a.env.now_ms = b.env.now_ms = t->due_ms;
        cmd.kind = CF_ENGINE_CMD_FIRE_TIMER;
        cmd.key = t->key;
      } else if (ni && pick < 3) {
        const struct cf_engine_incident *inc = &incs[rnd((uint32_t)ni)];
        if (inc->job_key) {
          cmd.kind = CF_ENGINE_CMD_UPDATE_JOB_RETRIES;
          cmd.key = inc->job_key;
          cmd.retries = 2;
          struct cf_engine_output ta, tb;
          cf_engine_output_init(&ta);
          cf_engine_output_init(&tb);
          assert_int_equal(cf_engine_apply(a.inst, &cmd, &a.env, &ta, &err), CF_OK);
          assert_int_equal(cf_engine_apply(b.inst, &cmd, &b.env, &tb, &err), CF_OK);
          cf_engine_output_release(&ta);
          cf_engine_output_release(&tb);
        }
        cmd = (struct cf_engine_cmd){.kind = CF_ENGINE_CMD_RESOLVE_INCIDENT, .key = inc->key};
      } else if (nt && (pick < 6 || !nj)) {
        cmd.kind = CF_ENGINE_CMD_COMPLETE_USER_TASK;
        cmd.key = tasks[rnd((uint32_t)nt)].key;
        cmd.variables = &v;
      } else if (nj) {
        const struct cf_engine_job *j = &jobs[rnd((uint32_t)nj)];
        cmd.key = j->key;
        uint32_t what = rnd(10);
        if (j->state != CF_ENGINE_JOB_ACTIVATABLE) {
          cmd.kind = CF_ENGINE_CMD_UPDATE_JOB_RETRIES;
          cmd.retries = 1;
        } else if (what < 6) {
          cmd.kind = CF_ENGINE_CMD_COMPLETE_JOB;
          cmd.variables = &v;
        } else if (what < 9) {
          cmd.kind = CF_ENGINE_CMD_FAIL_JOB;
          cmd.retries = (int32_t)rnd(2);
          cmd.message = "boom";
          cmd.backoff_ms = 1000;
        } else {
          cmd.kind = CF_ENGINE_CMD_THROW_ERROR;
          cmd.error_code = "E1";
        }
      } else if (ntm) {
        const struct cf_engine_timer *t = &timers[0];
        if (t->due_ms > a.env.now_ms) a.env.now_ms = b.env.now_ms = t->due_ms;
        cmd.kind = CF_ENGINE_CMD_FIRE_TIMER;
        cmd.key = t->key;
      } else {
        cf_feel_value_release(&v);
        break;
      }
      commands++;
      size_t fa = a.out.count, fb = b.out.count;
      struct cf_error ea, eb;
      int ra = cf_engine_apply(a.inst, &cmd, &a.env, &a.out, &ea);
      int rb = cf_engine_apply(b.inst, &cmd, &b.env, &b.out, &eb);
      cf_feel_value_release(&v);
      assert_int_equal(ra, rb);
      struct cf_buf ta, tb;
      cf_buf_init(&ta);
      cf_buf_init(&tb);
      events_text(&a.out, fa, &ta);
      events_text(&b.out, fb, &tb);
      if (strcmp(ta.data, tb.data) != 0)
        fail_msg("trial %d step %d: events differ after a reload\n%s---\n%s", trial, step, ta.data, tb.data);
      cf_buf_release(&ta);
      cf_buf_release(&tb);
      char *sa = save(a.inst), *sb = save(b.inst);
      assert_string_equal(sa, sb);
      free(sa);
      free(sb);
    }
    if (cf_engine_instance_state(a.inst) == CF_ENGINE_COMPLETED) completed_instances++;
    world_end(&a);
    world_end(&b);
  }
  /* The generator must really exercise the engine: many commands, many finished runs. */
  print_message("replay: %d commands, %d of 300 instances completed\n", commands, completed_instances);
  assert_true(commands > 1500);
  assert_true(completed_instances > 100);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exclusive_gateway_and_parallel_join),
      cmocka_unit_test(test_no_matching_condition_raises_incident_then_resolves),
      cmocka_unit_test(test_job_retries_backoff_incident_and_resolution),
      cmocka_unit_test(test_variable_scopes_and_mappings),
      cmocka_unit_test(test_inclusive_gateway_join_waits_only_for_live_branches),
      cmocka_unit_test(test_terminate_end_event),
      cmocka_unit_test(test_endless_loop_of_pass_through_elements_stops_with_incident),
      cmocka_unit_test(test_replay_after_save_and_load),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
