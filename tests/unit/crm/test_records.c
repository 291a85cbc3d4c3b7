/*
 * The crm layer on a real runtime and SQLite database: record validation
 * that names the field, versions, history with before and after values,
 * unique values and references, and triggers: conditions over record,
 * previous and changed, the three enrollments, the loop guard, message
 * triggers, date-relative timers on a virtual clock, and "all or nothing"
 * (a change whose trigger fails leaves nothing).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/cf_json.h"
#include "crm/cf_crm.h"
#include "runtime/cf_runtime.h"
#include "store/cf_store.h"

struct fx {
  char dir[64], db[96];
  int64_t now;
  struct cf_runtime *rt;
  struct cf_crm *crm;
};

static struct json_object *J(const char *text) {
  struct cf_error err;
  return cf_json_parse(text, strlen(text), &err);
}

static int64_t fx_clock(void *arg) { return ((struct fx *)arg)->now; }

static const char model[] =
    "<?xml version=\"1.0\"?><bpmn:definitions xmlns:bpmn=\"http://www.omg.org/spec/BPMN/20100524/MODEL\" "
    "xmlns:zeebe=\"http://camunda.org/schema/zeebe/1.0\" id=\"d\" targetNamespace=\"t\">"
    "<bpmn:process id=\"follow_up\" isExecutable=\"true\"><bpmn:startEvent id=\"s\"/>"
    "<bpmn:serviceTask id=\"call\"><bpmn:extensionElements><zeebe:taskDefinition type=\"call\"/>"
    "</bpmn:extensionElements></bpmn:serviceTask><bpmn:endEvent id=\"e\"/>"
    "<bpmn:sequenceFlow id=\"f1\" sourceRef=\"s\" targetRef=\"call\"/>"
    "<bpmn:sequenceFlow id=\"f2\" sourceRef=\"call\" targetRef=\"e\"/></bpmn:process>"
    "<bpmn:message id=\"m\" name=\"lead-won\"><bpmn:extensionElements>"
    "<zeebe:subscription correlationKey=\"=recordKey\"/></bpmn:extensionElements></bpmn:message>"
    "<bpmn:process id=\"waiter\" isExecutable=\"true\"><bpmn:startEvent id=\"ws\"/>"
    "<bpmn:intermediateCatchEvent id=\"wait\"><bpmn:messageEventDefinition messageRef=\"m\"/>"
    "</bpmn:intermediateCatchEvent><bpmn:endEvent id=\"we\"/>"
    "<bpmn:sequenceFlow id=\"w1\" sourceRef=\"ws\" targetRef=\"wait\"/>"
    "<bpmn:sequenceFlow id=\"w2\" sourceRef=\"wait\" targetRef=\"we\"/></bpmn:process></bpmn:definitions>";

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/crmflow-crm-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->db, sizeof f->db, "%s/crm.db", f->dir);
  f->now = 1767225600000; /* 2026-01-01T00:00:00Z */
  struct cf_runtime_opts o = {.db = f->db, .store_flags = CF_STORE_FAST, .clock_ms = fx_clock, .clock_arg = f,
                              .actor = "test"};
  struct cf_error err;
  cf_error_clear(&err);
  assert_int_equal(cf_runtime_open(&o, &f->rt, &err), CF_OK);
  assert_int_equal(cf_crm_new(&f->crm, &err), CF_OK);
  struct cf_runtime_deployed *d = NULL;
  size_t n = 0;
  assert_int_equal(cf_runtime_deploy(f->rt, "m.bpmn", model, strlen(model), &d, &n, NULL, &err), CF_OK);
  cf_runtime_deployed_release(d, n);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  cf_crm_free(f->crm);
  cf_runtime_close(f->rt);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

/* Runs one record write as an operation (as the API's writer does). */
struct op {
  struct fx *f;
  int kind; /* 0 create, 1 update, 2 delete, 3 trigger */
  const char *type;
  uint64_t key;
  const char *json;
  const struct cf_crm_origin *origin;
  struct cf_store_record out;
  uint64_t trigger_key;
};

static int op_fn(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct op *o = arg;
  struct cf_error e2;
  struct json_object *j = o->json ? cf_json_parse(o->json, strlen(o->json), &e2) : NULL;
  if (o->json && !j) return cf_error_set(err, CF_EINVAL, "test: bad JSON %s", o->json);
  struct cf_crm_origin cli = {.actor = "cli"};
  const struct cf_crm_origin *who = o->origin ? o->origin : &cli;
  int rc;
  switch (o->kind) {
  case 0: rc = cf_crm_create(o->f->crm, rt, o->type, j, who, &o->out, err); break;
  case 1: rc = cf_crm_update(o->f->crm, rt, o->type, o->key, j, 0, who, &o->out, err); break;
  case 2: rc = cf_crm_delete(o->f->crm, rt, o->type, o->key, who, err); break;
  default: rc = cf_crm_trigger_add(o->f->crm, rt, j, &o->trigger_key, err); break;
  }
  if (j) json_object_put(j);
  return rc;
}

static int run(struct fx *f, struct op *o, struct cf_error *err) {
  o->f = f;
  cf_error_clear(err);
  return cf_runtime_run(f->rt, op_fn, o, err);
}

static uint64_t create(struct fx *f, const char *type, const char *fields) {
  struct op o = {.kind = 0, .type = type, .json = fields};
  struct cf_error err;
  int rc = run(f, &o, &err);
  if (rc) fprintf(stderr, "create %s %s: %s\n", type, fields, err.msg);
  assert_int_equal(rc, CF_OK);
  uint64_t key = o.out.key;
  cf_store_record_release(&o.out);
  return key;
}

static void update(struct fx *f, const char *type, uint64_t key, const char *fields, const struct cf_crm_origin *who) {
  struct op o = {.kind = 1, .type = type, .key = key, .json = fields, .origin = who};
  struct cf_error err;
  int rc = run(f, &o, &err);
  if (rc) fprintf(stderr, "update: %s\n", err.msg);
  assert_int_equal(rc, CF_OK);
  cf_store_record_release(&o.out);
}

static uint64_t trigger(struct fx *f, const char *def) {
  struct op o = {.kind = 3, .json = def};
  struct cf_error err;
  int rc = run(f, &o, &err);
  if (rc) fprintf(stderr, "trigger: %s\n", err.msg);
  assert_int_equal(rc, CF_OK);
  return o.trigger_key;
}

/* Instances of a process, with a variable's JSON text in the first one. */
static size_t instances(struct fx *f, const char *process_id, int state) {
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(f->rt, &ops, &st);
  struct cf_store_instance_filter flt = {.process_id = process_id, .state = state, .incident = -1};
  struct cf_store_instance *rows = NULL;
  size_t n = 0;
  struct cf_error err;
  assert_int_equal(ops->instance_list(st, &flt, &rows, &n, &err), CF_OK);
  for (size_t i = 0; i < n; i++) cf_store_instance_release(&rows[i]);
  free(rows);
  return n;
}

static void test_validation_names_the_field(void **state) {
  struct fx *f = *state;
  struct op o = {.kind = 0, .type = "lead", .json = "{\"email\":\"a@b.co\"}"};
  struct cf_error err;
  assert_int_equal(run(f, &o, &err), CF_EINVAL);
  assert_non_null(strstr(err.msg, "fields.name"));
  o.json = "{\"name\":\"Ada\",\"status\":\"hot\"}";
  assert_int_equal(run(f, &o, &err), CF_EINVAL);
  assert_non_null(strstr(err.msg, "fields.status"));
  assert_non_null(strstr(err.msg, "qualified"));
  o.json = "{\"name\":\"Ada\",\"email\":\"not-an-address\"}";
  assert_int_equal(run(f, &o, &err), CF_EINVAL);
  assert_non_null(strstr(err.msg, "fields.email"));
  o.json = "{\"name\":\"Ada\",\"shoe_size\":42}";
  assert_int_equal(run(f, &o, &err), CF_EINVAL);
  assert_non_null(strstr(err.msg, "fields.shoe_size"));
  o.type = "order";
  o.json = "{\"amount\":\"12,50\"}";
  assert_int_equal(run(f, &o, &err), CF_EINVAL);
  assert_non_null(strstr(err.msg, "fields.amount"));
  o.json = "{\"amount\":19.99,\"account\":\"999999\"}";
  assert_int_equal(run(f, &o, &err), CF_EINVAL);
  assert_non_null(strstr(err.msg, "fields.account"));
  o.type = "spaceship";
  o.json = "{}";
  assert_int_equal(run(f, &o, &err), CF_ENOTFOUND);
}

static void test_versions_and_history(void **state) {
  struct fx *f = *state;
  uint64_t acct = create(f, "account", "{\"name\":\"ACME\"}");
  char fields[200];
  snprintf(fields, sizeof fields, "{\"amount\":1500.10,\"account\":\"%llu\",\"number\":\"A-1\"}", (unsigned long long)acct);
  uint64_t k = create(f, "order", fields);
  f->now += 60000;
  update(f, "order", k, "{\"status\":\"approved\",\"number\":null}", NULL);
  update(f, "order", k, "{\"status\":\"approved\"}", NULL); /* no change: no version */
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(f->rt, &ops, &st);
  struct cf_store_record r;
  struct cf_error err;
  assert_int_equal(ops->record_get(st, "order", k, &r, &err), CF_OK);
  assert_int_equal(r.version, 2);
  assert_non_null(strstr(r.fields, "\"status\":\"approved\""));
  assert_non_null(strstr(r.fields, "1500.10")); /* the decimal exactly as given */
  assert_null(strstr(r.fields, "number"));
  assert_string_equal(r.updated_by, "cli");
  struct cf_buf b;
  cf_buf_init(&b);
  cf_crm_record_json(&r, &b);
  assert_non_null(strstr(b.data, "\"createdAt\":\"2026-01-01T00:00:00.000Z\""));
  assert_non_null(strstr(b.data, "\"updatedAt\":\"2026-01-01T00:01:00.000Z\""));
  cf_buf_release(&b);
  cf_store_record_release(&r);
  struct cf_store_record_change *ch = NULL;
  size_t n = 0;
  assert_int_equal(ops->record_history(st, k, &ch, &n, &err), CF_OK);
  assert_int_equal(n, 2);
  assert_string_equal(ch[0].kind, "create");
  assert_string_equal(ch[1].kind, "update");
  assert_non_null(strstr(ch[1].changes, "\"status\":{\"from\":\"submitted\",\"to\":\"approved\"}"));
  assert_non_null(strstr(ch[1].changes, "\"number\":{\"from\":\"A-1\",\"to\":null}"));
  for (size_t i = 0; i < n; i++) cf_store_record_change_release(&ch[i]);
  free(ch);
  /* Delete: gone, its history stays and says so. */
  struct op o = {.kind = 2, .type = "order", .key = k};
  assert_int_equal(run(f, &o, &err), CF_OK);
  assert_int_equal(ops->record_get(st, "order", k, &r, &err), CF_ENOTFOUND);
  assert_int_equal(ops->record_history(st, k, &ch, &n, &err), CF_OK);
  assert_int_equal(n, 3);
  assert_string_equal(ch[2].kind, "delete");
  for (size_t i = 0; i < n; i++) cf_store_record_change_release(&ch[i]);
  free(ch);
}

static void test_custom_types_and_unique(void **state) {
  struct fx *f = *state;
  struct cf_error err;
  struct json_object *schema = J(
      "{\"name\":\"vendor\",\"fields\":[{\"name\":\"code\",\"type\":\"string\",\"required\":true,\"unique\":true},"
      "{\"name\":\"since\",\"type\":\"date\"},{\"name\":\"active\",\"type\":\"boolean\",\"default\":true}]}");
  assert_non_null(schema);
  assert_int_equal(cf_crm_type_put(f->crm, f->rt, schema, &err), CF_OK);
  json_object_put(schema);
  assert_true(cf_crm_type_exists(f->crm, "vendor"));
  uint64_t v1 = create(f, "vendor", "{\"code\":\"V-1\",\"since\":\"2024-02-29\"}");
  struct op o = {.kind = 0, .type = "vendor", .json = "{\"code\":\"V-1\"}"};
  assert_int_equal(run(f, &o, &err), CF_ECONFLICT);
  assert_non_null(strstr(err.msg, "fields.code"));
  o.json = "{\"code\":\"V-2\",\"since\":\"2023-02-29\"}";
  assert_int_equal(run(f, &o, &err), CF_EINVAL);
  assert_non_null(strstr(err.msg, "fields.since"));
  /* The value is free again once its record changes it. */
  update(f, "vendor", v1, "{\"code\":\"V-9\"}", NULL);
  assert_int_not_equal(create(f, "vendor", "{\"code\":\"V-1\"}"), 0);
  /* A built-in type gets a field added; its own fields cannot change. */
  schema = J("{\"name\":\"lead\",\"fields\":[{\"name\":\"score\",\"type\":\"decimal\"}]}");
  assert_int_equal(cf_crm_type_put(f->crm, f->rt, schema, &err), CF_OK);
  json_object_put(schema);
  create(f, "lead", "{\"name\":\"Grace\",\"score\":7.5}");
  schema = J("{\"name\":\"lead\",\"fields\":[{\"name\":\"status\",\"type\":\"string\"}]}");
  assert_int_equal(cf_crm_type_put(f->crm, f->rt, schema, &err), CF_EINVAL);
  json_object_put(schema);
}

static void test_triggers(void **state) {
  struct fx *f = *state;
  trigger(f, "{\"name\":\"won\",\"recordType\":\"opportunity\",\"on\":[\"update\"],"
             "\"condition\":\"=list contains(changed, \\\"stage\\\") and record.stage = \\\"won\\\"\","
             "\"processDefinitionId\":\"follow_up\",\"variables\":\"={amount: record.amount}\"}");
  trigger(f, "{\"name\":\"once\",\"recordType\":\"lead\",\"on\":[\"create\",\"update\"],\"processDefinitionId\":\"waiter\","
             "\"enrollment\":\"once-per-record\"}");
  trigger(f, "{\"name\":\"won-msg\",\"recordType\":\"lead\",\"on\":[\"update\"],"
             "\"condition\":\"=record.status = \\\"qualified\\\"\",\"message\":{\"name\":\"lead-won\","
             "\"correlationKey\":\"=recordKey\"}}");
  uint64_t opp = create(f, "opportunity", "{\"name\":\"Big deal\",\"amount\":25000,\"stage\":\"proposal\"}");
  assert_int_equal(instances(f, "follow_up", -1), 0);
  update(f, "opportunity", opp, "{\"amount\":26000}", NULL); /* stage did not change */
  assert_int_equal(instances(f, "follow_up", -1), 0);
  update(f, "opportunity", opp, "{\"stage\":\"won\"}", NULL);
  assert_int_equal(instances(f, "follow_up", -1), 1);
  /* once-per-record: created once, then updates do not start it again. */
  uint64_t lead = create(f, "lead", "{\"name\":\"Ada\"}");
  assert_int_equal(instances(f, "waiter", CF_STORE_ACTIVE), 1);
  update(f, "lead", lead, "{\"source\":\"web\"}", NULL);
  assert_int_equal(instances(f, "waiter", -1), 1);
  /* A message trigger correlates with the waiting instance (its recordKey). */
  update(f, "lead", lead, "{\"status\":\"qualified\"}", NULL);
  assert_int_equal(instances(f, "waiter", CF_STORE_ACTIVE), 0);
  assert_int_equal(instances(f, "waiter", CF_STORE_COMPLETED), 1);
}

static void test_loop_guard_and_not_while_active(void **state) {
  struct fx *f = *state;
  trigger(f, "{\"name\":\"acct\",\"recordType\":\"account\",\"on\":[\"create\",\"update\"],"
             "\"processDefinitionId\":\"follow_up\",\"enrollment\":\"not-while-active\"}");
  uint64_t a = create(f, "account", "{\"name\":\"Initech\"}");
  assert_int_equal(instances(f, "follow_up", CF_STORE_ACTIVE), 1);
  update(f, "account", a, "{\"industry\":\"software\"}", NULL); /* one is active: none more */
  assert_int_equal(instances(f, "follow_up", CF_STORE_ACTIVE), 1);
  /* A change by a job of that very instance does not start the process again on the record. */
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(f->rt, &ops, &st);
  struct cf_store_instance_filter flt = {.process_id = "follow_up", .state = CF_STORE_ACTIVE, .incident = -1};
  struct cf_store_instance *rows = NULL;
  size_t n = 0;
  struct cf_error err;
  assert_int_equal(ops->instance_list(st, &flt, &rows, &n, &err), CF_OK);
  assert_int_equal(n, 1);
  uint64_t inst = rows[0].key;
  cf_store_instance_release(&rows[0]);
  free(rows);
  struct cf_runtime_job *jobs = NULL;
  size_t nj = 0;
  assert_int_equal(cf_runtime_jobs_activate(f->rt, "call", 10, "w", 60000, &jobs, &nj, &err), CF_OK);
  assert_int_equal(nj, 1);
  assert_int_equal(cf_runtime_job_complete(f->rt, jobs[0].job.key, "w", NULL, &err), CF_OK);
  cf_runtime_jobs_release(jobs, nj);
  assert_int_equal(instances(f, "follow_up", CF_STORE_ACTIVE), 0);
  struct cf_crm_origin job = {.actor = "job:1", .instance_key = inst, .process_id = "follow_up"};
  update(f, "account", a, "{\"owner\":\"ann\"}", &job);
  assert_int_equal(instances(f, "follow_up", CF_STORE_ACTIVE), 0);
  update(f, "account", a, "{\"owner\":\"bob\"}", NULL); /* a person's change: it starts again */
  assert_int_equal(instances(f, "follow_up", CF_STORE_ACTIVE), 1);
}

static void test_date_relative_and_all_or_nothing(void **state) {
  struct fx *f = *state;
  trigger(f, "{\"name\":\"stale\",\"recordType\":\"lead\",\"at\":\"=date and time(record.createdAt) + duration(\\\"P3D\\\")\","
             "\"condition\":\"=record.status = \\\"new\\\"\",\"processDefinitionId\":\"follow_up\"}");
  uint64_t fresh = create(f, "lead", "{\"name\":\"Stays new\"}");
  uint64_t moved = create(f, "lead", "{\"name\":\"Contacted\"}");
  (void)fresh;
  update(f, "lead", moved, "{\"status\":\"contacted\"}", NULL);
  int64_t due;
  struct cf_error err;
  assert_int_equal(cf_crm_next_due(f->crm, f->rt, &due, &err), CF_OK);
  assert_true(due == f->now + 3LL * 86400000);
  size_t fired = 0;
  assert_int_equal(cf_crm_fire_timers(f->crm, f->rt, 100, &fired, &err), CF_OK);
  assert_int_equal(fired, 0); /* not yet: late, never early */
  f->now += 3LL * 86400000;
  assert_int_equal(cf_crm_fire_timers(f->crm, f->rt, 100, &fired, &err), CF_OK);
  assert_int_equal(fired, 2);
  assert_int_equal(instances(f, "follow_up", -1), 1); /* only the lead still new */
  assert_int_equal(cf_crm_next_due(f->crm, f->rt, &due, &err), CF_OK);
  assert_true(due == INT64_MAX);
  /* A trigger whose process is not deployed fails the change whole: no record, no history. */
  trigger(f, "{\"name\":\"broken\",\"recordType\":\"campaign\",\"on\":[\"create\"],\"processDefinitionId\":\"nope\"}");
  struct op o = {.kind = 0, .type = "campaign", .json = "{\"name\":\"Spring\"}"};
  assert_int_equal(run(f, &o, &err), CF_EINVAL);
  assert_non_null(strstr(err.msg, "nope"));
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(f->rt, &ops, &st);
  struct cf_store_qvalue tv = {.is_text = true, .text = "campaign"};
  struct cf_store_qcond c = {.field = "type", .op = CF_STORE_EQ, .values = &tv, .nvalues = 1};
  struct cf_store_query q = {.entity = CF_STORE_RECORDS, .conds = &c, .nconds = 1, .limit = 0};
  struct cf_store_result res;
  memset(&res, 0, sizeof res);
  assert_int_equal(ops->search(st, &q, &res, &err), CF_OK);
  assert_int_equal(res.total, 0);
  cf_store_result_release(&res);
  /* A trigger definition with bad FEEL is refused naming its field. */
  struct op bad = {.kind = 3, .json = "{\"name\":\"x\",\"recordType\":\"lead\",\"on\":[\"create\"],\"condition\":\"=record.(\","
                                      "\"processDefinitionId\":\"follow_up\"}"};
  assert_int_equal(run(f, &bad, &err), CF_EINVAL);
  assert_non_null(strstr(err.msg, "condition"));
}

static bool history_mentions(struct fx *f, uint64_t instance, const char *text) {
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(f->rt, &ops, &st);
  struct cf_store_event *ev = NULL;
  size_t n = 0;
  struct cf_error err;
  assert_int_equal(ops->history_list(st, instance, &ev, &n, &err), CF_OK);
  bool found = false;
  for (size_t i = 0; i < n; i++) {
    if ((ev[i].variables && strstr(ev[i].variables, text)) || (ev[i].detail && strstr(ev[i].detail, text))) found = true;
    cf_store_event_release(&ev[i]);
  }
  free(ev);
  return found;
}

static void test_personal_data(void **state) {
  struct fx *f = *state;
  trigger(f, "{\"name\":\"welcome\",\"recordType\":\"contact\",\"on\":[\"create\"],\"processDefinitionId\":\"follow_up\","
             "\"variables\":\"={email: record.email, greeting: \\\"Dear \\\" + record.name, vip: true}\"}");
  uint64_t c = create(f, "contact", "{\"name\":\"Ada Lovelace\",\"email\":\"ada@example.org\",\"phone\":\"+44 20 7946 0000\"}");
  update(f, "contact", c, "{\"email\":\"ada@analytical.example\"}", NULL);
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(f->rt, &ops, &st);
  struct cf_buf out;
  cf_buf_init(&out);
  struct cf_error err;
  assert_int_equal(cf_crm_personal_export(f->crm, ops, st, "contact", c, &out, &err), CF_OK);
  assert_non_null(strstr(out.data, "\"email\":\"ada@analytical.example\""));
  assert_non_null(strstr(out.data, "ada@example.org")); /* the old value, in its history */
  assert_non_null(strstr(out.data, "\"processDefinitionId\":\"follow_up\""));
  cf_buf_release(&out);
  /* The instance the trigger started holds the old address. */
  struct cf_store_instance_filter flt = {.process_id = "follow_up", .state = -1, .incident = -1};
  struct cf_store_instance *rows = NULL;
  size_t n = 0;
  assert_int_equal(ops->instance_list(st, &flt, &rows, &n, &err), CF_OK);
  assert_int_equal(n, 1);
  uint64_t inst = rows[0].key;
  assert_non_null(strstr(rows[0].variables, "ada@example.org"));
  cf_store_instance_release(&rows[0]);
  free(rows);
  assert_true(history_mentions(f, inst, "ada@example.org"));
  struct cf_crm_origin dpo = {.actor = "api:dpo"};
  size_t touched = 0;
  assert_int_equal(cf_crm_personal_erase(f->crm, f->rt, "contact", c, &dpo, &touched, &err), CF_OK);
  assert_int_equal(touched, 1);
  /* The record, its history, the instance's variables and history: no trace; the instance goes on. */
  struct cf_store_record r;
  assert_int_equal(ops->record_get(st, "contact", c, &r, &err), CF_OK);
  assert_null(strstr(r.fields, "ada@"));
  assert_null(strstr(r.fields, "Lovelace"));
  assert_non_null(strstr(r.fields, "[erased]"));
  cf_store_record_release(&r);
  struct cf_store_record_change *ch = NULL;
  assert_int_equal(ops->record_history(st, c, &ch, &n, &err), CF_OK);
  assert_int_equal(n, 3);
  for (size_t i = 0; i < n; i++) {
    assert_null(strstr(ch[i].changes, "ada@"));
    assert_null(strstr(ch[i].changes, "Lovelace"));
  }
  assert_string_equal(ch[2].kind, "erase");
  assert_string_equal(ch[2].by, "api:dpo");
  for (size_t i = 0; i < n; i++) cf_store_record_change_release(&ch[i]);
  free(ch);
  struct cf_store_instance in;
  assert_int_equal(ops->instance_get(st, inst, &in, &err), CF_OK);
  assert_null(strstr(in.variables, "ada@"));
  assert_null(strstr(in.engine_state, "ada@example.org"));
  assert_non_null(strstr(in.variables, "\"vip\":true"));
  assert_non_null(strstr(in.variables, "Dear [erased]")); /* within a longer value too */
  assert_null(strstr(in.engine_state, "Lovelace"));
  cf_store_instance_release(&in);
  assert_false(history_mentions(f, inst, "ada@example.org"));
  assert_false(history_mentions(f, inst, "Lovelace"));
  /* Still runs: its job completes and it ends. */
  struct cf_runtime_job *jobs = NULL;
  size_t nj = 0;
  assert_int_equal(cf_runtime_jobs_activate(f->rt, "call", 10, "w", 60000, &jobs, &nj, &err), CF_OK);
  assert_int_equal(nj, 1);
  assert_null(strstr(jobs[0].variables, "ada@"));
  assert_int_equal(cf_runtime_job_complete(f->rt, jobs[0].job.key, "w", NULL, &err), CF_OK);
  cf_runtime_jobs_release(jobs, nj);
  assert_int_equal(instances(f, "follow_up", CF_STORE_COMPLETED), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_validation_names_the_field, setup, teardown),
      cmocka_unit_test_setup_teardown(test_versions_and_history, setup, teardown),
      cmocka_unit_test_setup_teardown(test_custom_types_and_unique, setup, teardown),
      cmocka_unit_test_setup_teardown(test_triggers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_loop_guard_and_not_while_active, setup, teardown),
      cmocka_unit_test_setup_teardown(test_date_relative_and_all_or_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_personal_data, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
