/*
 * Helpers shared by the engine's unit tests: a model from a process body, an
 * instance with a deterministic key counter and a settable clock, commands,
 * and readable views of jobs, events and variables.
 */
#ifndef CF_TEST_ENGINE_CHECK_H
#define CF_TEST_ENGINE_CHECK_H

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

/* ------------------------------------------------------------- helpers */

struct keys {
  uint64_t next;
};

static inline uint64_t next_key(void *arg) { return ++((struct keys *)arg)->next; }

struct world {
  struct cf_bpmn_model *m;
  struct cf_engine_instance *inst;
  struct keys keys;
  struct cf_engine_env env;
  struct cf_engine_output out;
};

static const char *HEAD =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<bpmn:definitions xmlns:bpmn=\"http://www.omg.org/spec/BPMN/20100524/MODEL\" "
    "xmlns:zeebe=\"http://camunda.org/schema/zeebe/1.0\" id=\"d\" targetNamespace=\"t\">\n"
    "<bpmn:process id=\"p\" isExecutable=\"true\">\n";
static const char *TAIL = "</bpmn:process>\n</bpmn:definitions>\n";

static inline struct cf_bpmn_model *parse(const char *body) {
  struct cf_buf b;
  cf_buf_init(&b);
  cf_buf_puts(&b, HEAD);
  cf_buf_puts(&b, body);
  cf_buf_puts(&b, TAIL);
  struct cf_bpmn_problems probs;
  cf_bpmn_problems_init(&probs);
  struct cf_bpmn_model *m = cf_bpmn_parse(b.data, b.len, "test.bpmn", &probs);
  if (!m) {
    for (size_t i = 0; i < probs.count; i++)
      fprintf(stderr, "line %d: %s: %s\n", probs.items[i].line,
              probs.items[i].element_id ? probs.items[i].element_id : "-", probs.items[i].message);
    fprintf(stderr, "%s\n", b.data);
  }
  cf_bpmn_problems_release(&probs);
  cf_buf_release(&b);
  return m;
}

static inline struct cf_feel_value vars_of(const char *json) {
  struct cf_feel_value v;
  cf_feel_set_null(&v);
  if (!json) return v;
  struct cf_error err;
  struct json_object *j = cf_json_parse(json, strlen(json), &err);
  assert_int_equal(cf_feel_from_json(j, &v), CF_OK);
  json_object_put(j);
  return v;
}

static inline void world_start(struct world *w, const char *body, const char *vars) {
  memset(w, 0, sizeof *w);
  w->m = parse(body);
  assert_non_null(w->m);
  w->env = (struct cf_engine_env){1767225600000LL, next_key, &w->keys};
  cf_engine_output_init(&w->out);
  struct cf_feel_value v = vars_of(vars);
  struct cf_error err;
  w->inst = cf_engine_start(w->m, 0, -1, &v, &w->env, &w->out, &err);
  if (!w->inst) fail_msg("start: %s", err.msg);
  cf_feel_value_release(&v);
}

static inline void world_end(struct world *w) {
  cf_engine_instance_free(w->inst);
  cf_engine_output_release(&w->out);
  cf_bpmn_model_free(w->m);
}

static inline const struct cf_engine_job *job_of(struct world *w, const char *type) {
  size_t n;
  const struct cf_engine_job *jobs = cf_engine_jobs(w->inst, &n);
  for (size_t i = 0; i < n; i++)
    if (!strcmp(jobs[i].type, type)) return &jobs[i];
  return NULL;
}

static inline int apply(struct world *w, uint8_t kind, uint64_t key, const char *vars, int32_t retries) {
  struct cf_feel_value v = vars_of(vars);
  struct cf_engine_cmd cmd = {.kind = kind, .key = key, .variables = vars ? &v : NULL, .retries = retries};
  struct cf_error err;
  int rc = cf_engine_apply(w->inst, &cmd, &w->env, &w->out, &err);
  cf_feel_value_release(&v);
  return rc;
}

static inline void complete(struct world *w, const char *type, const char *vars) {
  const struct cf_engine_job *j = job_of(w, type);
  if (!j) fail_msg("no open job of type %s", type);
  assert_int_equal(apply(w, CF_ENGINE_CMD_COMPLETE_JOB, j->key, vars, 0), CF_OK);
}

/* Element ids of completed element instances, in order, joined by spaces. */
static inline void completed(struct world *w, char *buf, size_t size) {
  buf[0] = '\0';
  for (size_t i = 0; i < w->out.count; i++) {
    if (w->out.events[i].kind != CF_ENGINE_EV_ELEMENT_COMPLETED) continue;
    if (buf[0]) strncat(buf, " ", size - strlen(buf) - 1);
    strncat(buf, w->m->elements[w->out.events[i].element].id, size - strlen(buf) - 1);
  }
}

static inline char *var_json(struct world *w, const char *name) {
  const struct cf_feel_value *vars = cf_engine_variables(w->inst, cf_engine_instance_key(w->inst));
  const struct cf_feel_value *v = vars ? cf_feel_ctx_get(vars->u.ctx, name, strlen(name)) : NULL;
  if (!v) return strdup("(none)");
  struct json_object *j;
  cf_feel_to_json(v, &j);
  char *s = strdup(j ? json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN) : "null");
  json_object_put(j);
  return s;
}

#define TASK(id, type) \
  "<bpmn:serviceTask id=\"" id "\"><bpmn:extensionElements><zeebe:taskDefinition type=\"" type \
  "\"/></bpmn:extensionElements></bpmn:serviceTask>\n"
#define FLOW(id, a, b) "<bpmn:sequenceFlow id=\"" id "\" sourceRef=\"" a "\" targetRef=\"" b "\"/>\n"
#define CFLOW(id, a, b, cond)                                                        \
  "<bpmn:sequenceFlow id=\"" id "\" sourceRef=\"" a "\" targetRef=\"" b "\">"        \
  "<bpmn:conditionExpression>" cond "</bpmn:conditionExpression></bpmn:sequenceFlow>\n"


#endif
