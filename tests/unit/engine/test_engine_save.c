/*
 * Saving an instance (engine_save.c). The text is written directly, and must
 * be byte for byte what the former json-c writer gave (save_reference.h);
 * loading it and saving again must give the same text (a fixed point). Every
 * model of the scenario suite is driven through random commands with
 * variables of every FEEL type, plus small models for the rarer fields (cron
 * timers, a parent instance), and the states seen must between them hold
 * every optional field, so that none goes unchecked. Saving must not
 * allocate beyond the buffer's growth, and out of memory leaves the buffer's
 * text as it was.
 */
#include <dirent.h>

#include "engine_check.h"
#include "save_reference.h"

/* ------------------------------------------------------------- helpers */

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state % n);
}

/* Optional (and some fixed) fields of the state: which the saved texts held. */
static const char *const FIELDS[] = {
    "\"arrivals\":",  "\"job\":",       "\"task\":",      "\"incident\":", "\"phase\":",
    "\"body\":true",  "\"miItems\":",   "\"miIndex\":",   "\"compThrower\":", "\"compScope\":",
    "\"compQueue\":", "\"error\":",     "\"headers\":",   "\"parent\":",   "\"cron\":",
    "\"handler\":",   "\"ck\":",        "\"groups\":[",   "\"users\":[",   "\"due\":\"",
    "\"followUp\":\"", "\"form\":\"",   "\"assignee\":\"", "\"vars\":{",    "\"kind\":1",
};
#define NFIELDS (sizeof FIELDS / sizeof *FIELDS)
static bool seen[NFIELDS];
static long states_checked;

/* The save of in, checked against the reference (new; cf_free). */
static char *save_checked(const struct cf_engine_instance *in, const char *what) {
  struct cf_buf b;
  cf_buf_init(&b);
  cf_buf_puts(&b, "<<");
  assert_int_equal(cf_engine_instance_save(in, &b), CF_OK);
  char *want = ref_instance_save_text(in);
  assert_non_null(want);
  if (strncmp(b.data, "<<", 2) != 0 || strcmp(b.data + 2, want) != 0)
    fail_msg("%s: saved\n%s\nwant\n<<%s", what, b.data, want);
  cf_buf_release(&b);
  return want;
}

/*
 * Everything this file checks on one state: the text against the reference,
 * load then save as a fixed point, a save with no allocation into a buffer
 * with room, and the fields seen.
 */
static void check_state(const struct cf_bpmn_model *m, const struct cf_engine_instance *in,
                        const char *what) {
  char *text = save_checked(in, what);
  size_t len = strlen(text);

  struct cf_error err;
  struct cf_engine_instance *loaded = cf_engine_instance_load(m, text, len, &err);
  if (!loaded) fail_msg("%s: load failed: %s\n%s", what, err.msg, text);
  char *again = save_checked(loaded, what);
  if (strcmp(text, again) != 0) fail_msg("%s: save, load, save differs:\n%s\n%s", what, text, again);
  cf_free(again);
  cf_engine_instance_free(loaded);

  struct cf_buf b;
  cf_buf_init(&b);
  assert_int_equal(cf_buf_reserve(&b, len), CF_OK);
  cf_alloc_fail_after(0);
  int rc = cf_engine_instance_save(in, &b);
  long refused = cf_alloc_failures();
  cf_alloc_fail_reset();
  if (rc != CF_OK || refused) fail_msg("%s: save allocated (%s, %ld refused)", what, cf_err_name(rc), refused);
  assert_string_equal(b.data, text);
  cf_buf_release(&b);

  for (size_t i = 0; i < NFIELDS; i++)
    if (strstr(text, FIELDS[i])) seen[i] = true;
  states_checked++;
  cf_free(text);
}

/* Evaluates a FEEL expression without variables (it must not give null). */
static struct cf_feel_value feel_value(const char *src) {
  struct cf_error err;
  struct cf_feel_expr *e = cf_feel_compile(src, strlen(src), NULL, 0, &err);
  if (!e) fail_msg("%s: %s", src, err.msg);
  struct cf_feel_env env = {1767225600, 0, NULL};
  struct cf_feel_value v;
  assert_int_equal(cf_feel_eval(e, NULL, &env, &v, NULL), CF_OK);
  assert_int_not_equal(v.type, CF_FEEL_NULL);
  cf_feel_expr_free(e);
  return v;
}

/*
 * Start variables with every FEEL type and every escape, plus the names the
 * scenario models read (amounts, correlation keys, collections). Keys with a
 * NUL byte come through context put(): a context literal cuts them itself.
 */
static const char *RICH_VARS =
    "context put({orderId: \"o-1\", caseId: \"c-1\", customerId: \"cu/1\", region: \"emea\", amount: 1500.5,"
    " count: 2, owner: \"ann\", items: [\"a\", \"b\", \"c\"], approved: true, score: 700,"
    " risk: \"low\", total: 123456789012345678901234567890.5, third: 1/3, tiny: 1 / 10**45,"
    " d: date(\"2021-07-14\"), t: time(\"10:30:15.5@Europe/Paris\"),"
    " dt: date and time(\"2021-07-14T10:30:00@America/Argentina/Buenos_Aires\"),"
    " dur: duration(\"P1DT2H3M4.5S\"), ym: duration(\"-P1Y2M\"), r: [1..10),"
    " f: function(x) x, s: \"q\\\"uote \\\\ /slash \\n\\t\\u0001\\u0000 é 𝄞\","
    " \"key with\\ttab\": null, nested: {a: [{b: {c: [], e: {}}}]}},"
    /* Keys with a NUL byte, which json-c cuts (one collides with z once cut). */
    " \"k\\u0000nul\", context put({z: 1, y: 2}, \"z\\u0000w\", 3))";

/* Variables a command carries: small, or rich. */
static const char *const CMD_VARS[] = {
    "{count: 1, approved: true}",
    "{count: 3, approved: false, amount: 99.99, result: \"ok\"}",
    "{items: [1, 2, [3, {x: \"y\"}]], when: date and time(\"2026-01-05T09:00:00Z\")}",
    "{s: \"\\\"\\\\/\\b\\f\\n\\r\\t\\u001f\", n: -0.000000000000000000001}",
};

static uint64_t next_key_of(void *arg) { return ++*(uint64_t *)arg; }

struct drive {
  const struct cf_bpmn_model *m;
  struct cf_engine_instance *in;
  struct cf_engine_env env;
  uint64_t keys;
  struct cf_engine_output out;
  uint64_t calls[16]; /* call activities waiting for their child */
  size_t ncalls;
};

static void note_calls(struct drive *d, size_t from) {
  for (size_t i = from; i < d->out.count; i++)
    if (d->out.events[i].kind == CF_ENGINE_EV_CALL_STARTED && d->ncalls < 16)
      d->calls[d->ncalls++] = d->out.events[i].key;
}

/* One random command (its result does not matter: refusals are states too). */
static void random_command(struct drive *d, const struct cf_feel_value *rich) {
  struct cf_feel_value small = feel_value(CMD_VARS[rnd(4)]);
  const struct cf_feel_value *vars = rnd(4) ? &small : rich;
  struct cf_engine_cmd cmd = {0};
  size_t nj, nt, ni, ntm, ns, ne;
  const struct cf_engine_job *jobs = cf_engine_jobs(d->in, &nj);
  const struct cf_engine_user_task *tasks = cf_engine_user_tasks(d->in, &nt);
  const struct cf_engine_incident *incs = cf_engine_incidents(d->in, &ni);
  const struct cf_engine_timer *timers = cf_engine_timers(d->in, &ntm);
  const struct cf_engine_subscription *subs = cf_engine_subscriptions(d->in, &ns);
  const struct cf_engine_element_instance *eis = cf_engine_elements(d->in, &ne);
  switch (rnd(12)) {
    case 0:
    case 1:
    case 2:
      if (!nj) break;
      cmd.kind = CF_ENGINE_CMD_COMPLETE_JOB;
      cmd.key = jobs[rnd((uint32_t)nj)].key;
      cmd.variables = vars;
      break;
    case 3:
      if (!nj) break;
      cmd.kind = CF_ENGINE_CMD_FAIL_JOB;
      cmd.key = jobs[rnd((uint32_t)nj)].key;
      cmd.retries = (int32_t)rnd(2);
      cmd.message = rnd(2) ? "boom" : "it said \"no\"\n\tat line 1 \\ é";
      cmd.backoff_ms = rnd(2) ? 0 : 60000;
      break;
    case 4:
      if (!nj) break;
      cmd.kind = CF_ENGINE_CMD_THROW_ERROR;
      cmd.key = jobs[rnd((uint32_t)nj)].key;
      cmd.error_code = rnd(2) ? "E1" : "PAYMENT_FAILED";
      cmd.message = "thrown";
      break;
    case 5:
    case 6:
      if (!nt) break;
      if (rnd(3)) {
        cmd.kind = CF_ENGINE_CMD_COMPLETE_USER_TASK;
        cmd.variables = vars;
      } else {
        cmd.kind = CF_ENGINE_CMD_ASSIGN_USER_TASK;
        cmd.assignee = rnd(3) ? "bob \"the builder\" / ü" : NULL;
      }
      cmd.key = tasks[rnd((uint32_t)nt)].key;
      break;
    case 7:
      if (!ni) break;
      cmd.kind = CF_ENGINE_CMD_RESOLVE_INCIDENT;
      cmd.key = incs[rnd((uint32_t)ni)].key;
      if (incs[0].job_key && rnd(2)) {
        cmd.kind = CF_ENGINE_CMD_UPDATE_JOB_RETRIES;
        cmd.key = incs[0].job_key;
        cmd.retries = 2;
      }
      break;
    case 8:
      if (!ntm) break;
      cmd.kind = CF_ENGINE_CMD_FIRE_TIMER;
      cmd.key = timers[rnd((uint32_t)ntm)].key;
      for (size_t i = 0; i < ntm; i++)
        if (timers[i].key == cmd.key && timers[i].due_ms > d->env.now_ms) d->env.now_ms = timers[i].due_ms;
      break;
    case 9:
      if (!ns) break;
      cmd.kind = CF_ENGINE_CMD_CORRELATE;
      cmd.key = subs[rnd((uint32_t)ns)].key;
      cmd.variables = vars;
      break;
    case 10:
      if (!d->ncalls) break;
      cmd.key = d->calls[rnd((uint32_t)d->ncalls)];
      if (rnd(4)) {
        cmd.kind = CF_ENGINE_CMD_COMPLETE_CALL;
        cmd.variables = vars;
      } else {
        cmd.kind = CF_ENGINE_CMD_CHILD_ERROR;
        cmd.error_code = "E1";
      }
      break;
    default:
      cmd.kind = CF_ENGINE_CMD_SET_VARIABLES;
      cmd.key = ne && rnd(2) ? eis[rnd((uint32_t)ne)].key : cf_engine_instance_key(d->in);
      cmd.local = rnd(2);
      cmd.variables = vars;
      break;
  }
  if (cmd.key) {
    size_t from = d->out.count;
    struct cf_error err;
    cf_engine_apply(d->in, &cmd, &d->env, &d->out, &err);
    note_calls(d, from);
  }
  cf_feel_value_release(&small);
}

/* Starts process p of m at its none start event, else at any start event. NULL if none starts. */
static struct cf_engine_instance *start_any(struct drive *d, uint32_t p, const struct cf_feel_value *vars,
                                            bool as_child) {
  struct cf_error err;
  if (as_child)
    return cf_engine_start_child(d->m, p, vars, 123456789012345678ULL, 18446744073709551615ULL, &d->env,
                                 &d->out, &err);
  struct cf_engine_instance *in = cf_engine_start(d->m, p, -1, vars, &d->env, &d->out, &err);
  for (uint32_t e = 0; !in && e < d->m->nelements; e++)
    if (d->m->elements[e].type == CF_BPMN_START_EVENT && d->m->elements[e].process == p &&
        d->m->elements[e].parent < 0)
      in = cf_engine_start_event(d->m, p, (int32_t)e, vars, &d->env, &d->out, &err);
  return in;
}

/* Runs each process of m a few times, checking every state on the way. */
static void drive_model(const struct cf_bpmn_model *m, const char *name, const struct cf_feel_value *rich) {
  for (uint32_t p = 0; p < m->nprocesses; p++) {
    for (int trial = 0; trial < 8; trial++) {
      struct drive d = {.m = m, .keys = trial % 2 ? 0 : 2251799813685248ULL};
      d.env = (struct cf_engine_env){1767225600000LL, next_key_of, &d.keys};
      cf_engine_output_init(&d.out);
      rng_state = 0x2545F4914F6CDD1DULL + (uint64_t)trial * 977 + p * 31 + strlen(name);
      d.in = start_any(&d, p, rich, trial == 3);
      if (!d.in) {
        cf_engine_output_release(&d.out);
        break;
      }
      note_calls(&d, 0);
      char what[300];
      for (int step = 0; step < 30; step++) {
        snprintf(what, sizeof what, "%s process %u trial %d step %d", name, p, trial, step);
        check_state(m, d.in, what);
        if (cf_engine_instance_state(d.in) != CF_ENGINE_ACTIVE) break;
        random_command(&d, rich);
      }
      cf_engine_instance_free(d.in);
      cf_engine_output_release(&d.out);
    }
  }
}

static char *slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp) fail_msg("cannot open %s (is CF_SOURCE_DIR set?)", path);
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  assert_int_equal(fread(b, 1, (size_t)n, fp), (size_t)n);
  b[n] = 0;
  fclose(fp);
  *len = (size_t)n;
  return b;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* ------------------------------------------------------------------ tests */

/* Small models for what the scenario models do not reach. */
static void drive_inline_models(const struct cf_feel_value *rich) {
  static const char *const bodies[] = {
      /* A cron cycle on a boundary timer, and a message with a correlation key. */
      "<bpmn:startEvent id=\"s\"/>" FLOW("f1", "s", "u")
      "<bpmn:userTask id=\"u\"><bpmn:extensionElements><zeebe:userTask/></bpmn:extensionElements></bpmn:userTask>"
      "<bpmn:boundaryEvent id=\"remind\" attachedToRef=\"u\" cancelActivity=\"false\"><bpmn:timerEventDefinition>"
      "<bpmn:timeCycle>0 0 9 * * MON-FRI</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
      "<bpmn:endEvent id=\"e\"/>" FLOW("f2", "u", "e") FLOW("f3", "remind", "r")
      TASK("r", "remind &quot;me&quot; / now") FLOW("f4", "r", "re") "<bpmn:endEvent id=\"re\"/>",
      /* A repeating interval, a parallel join with one branch waiting. */
      "<bpmn:startEvent id=\"s\"/><bpmn:parallelGateway id=\"fork\"/><bpmn:parallelGateway id=\"join\"/>"
      FLOW("f1", "s", "fork") FLOW("f2", "fork", "a") FLOW("f3", "fork", "w")
      TASK("a", "type-a")
      "<bpmn:intermediateCatchEvent id=\"w\"><bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT10M"
      "</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
      FLOW("f4", "a", "join") FLOW("f5", "w", "join") FLOW("f6", "join", "e") "<bpmn:endEvent id=\"e\"/>",
      /* A compensation event sub-process (its instance keeps the scope it compensates). */
      "<bpmn:startEvent id=\"s\"/><bpmn:subProcess id=\"order\"><bpmn:startEvent id=\"os\"/>"
      TASK("charge", "charge")
      "<bpmn:boundaryEvent id=\"undo_charge\" attachedToRef=\"charge\"><bpmn:compensateEventDefinition/>"
      "</bpmn:boundaryEvent><bpmn:serviceTask id=\"refund\" isForCompensation=\"true\"><bpmn:extensionElements>"
      "<zeebe:taskDefinition type=\"refund\"/></bpmn:extensionElements></bpmn:serviceTask>"
      "<bpmn:association id=\"a1\" sourceRef=\"undo_charge\" targetRef=\"refund\"/>"
      "<bpmn:endEvent id=\"oe\"/>" FLOW("o1", "os", "charge") FLOW("o2", "charge", "oe")
      "<bpmn:subProcess id=\"undo_order\" triggeredByEvent=\"true\">"
      "<bpmn:startEvent id=\"us\"><bpmn:compensateEventDefinition/></bpmn:startEvent>" TASK("notify", "notify")
      "<bpmn:endEvent id=\"ue\"><bpmn:compensateEventDefinition/></bpmn:endEvent>"
      FLOW("u1", "us", "notify") FLOW("u2", "notify", "ue") "</bpmn:subProcess></bpmn:subProcess>"
      "<bpmn:endEvent id=\"undo\"><bpmn:compensateEventDefinition/></bpmn:endEvent>"
      FLOW("f1", "s", "order") FLOW("f2", "order", "undo"),
  };
  for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
    struct cf_bpmn_model *m = parse(bodies[i]);
    assert_non_null(m);
    char name[32];
    snprintf(name, sizeof name, "inline model %zu", i);
    drive_model(m, name, rich);
    cf_bpmn_model_free(m);
  }
}

static void test_save_matches_reference_on_every_scenario_model(void **state) {
  const char *root = getenv("CF_SOURCE_DIR");
  char dir[512];
  snprintf(dir, sizeof dir, "%s/tests/scenarios/models", root ? root : ".");
  DIR *dp = opendir(dir);
  if (!dp) fail_msg("cannot open %s (is CF_SOURCE_DIR set?)", dir);
  char *names[256];
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(dp)) && n < 256) {
    size_t l = strlen(de->d_name);
    if (l > 5 && !strcmp(de->d_name + l - 5, ".bpmn")) names[n++] = strdup(de->d_name);
  }
  closedir(dp);
  qsort(names, n, sizeof *names, by_name);
  assert_true(n >= 20);

  struct cf_feel_value rich = feel_value(RICH_VARS);
  memset(seen, 0, sizeof seen);
  states_checked = 0;
  size_t models = 0;
  for (size_t i = 0; i < n; i++) {
    char path[800];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    size_t len;
    char *xml = slurp(path, &len);
    struct cf_bpmn_problems probs;
    cf_bpmn_problems_init(&probs);
    struct cf_bpmn_model *m = cf_bpmn_parse(xml, len, names[i], &probs);
    cf_bpmn_problems_release(&probs);
    free(xml);
    if (m) {
      drive_model(m, names[i], &rich);
      models++;
      cf_bpmn_model_free(m);
    }
    free(names[i]);
  }
  drive_inline_models(&rich);
  cf_feel_value_release(&rich);

  print_message("%zu models, %ld states saved and checked\n", models, states_checked);
  assert_true(models >= 20);
  assert_true(states_checked > 1000);
  /* Between them the states must have held every optional field. */
  for (size_t i = 0; i < NFIELDS; i++)
    if (!seen[i]) fail_msg("no state saved had the field %s", FIELDS[i]);
}

/* A few fixed states, with the text wanted spelled out. */
static void test_save_text_of_a_small_instance(void **state) {
  struct world w;
  world_start(&w, "<bpmn:startEvent id=\"s\"/>" FLOW("f1", "s", "t") TASK("t", "say &quot;hi&quot;/now")
                  FLOW("f2", "t", "e") "<bpmn:endEvent id=\"e\"/>",
              "{\"n\": 12345678901234567890.5, \"s\": \"a/b\\u0001\", \"l\": [], \"c\": {}}");
  char *text = save_checked(w.inst, "small");
  assert_string_equal(text,
                      "{\"v\":1,\"process\":\"p\",\"key\":\"1\",\"state\":0,\"created\":1767225600000,"
                      "\"root\":{\"vars\":{\"n\":12345678901234567890.5,\"s\":\"a/b\\u0001\",\"l\":[],\"c\":{}},"
                      "\"tokens\":1},\"eis\":[{\"key\":\"3\",\"scope\":\"1\",\"el\":\"t\",\"state\":1,"
                      "\"job\":\"4\",\"vars\":null,\"tokens\":0}],\"jobs\":[{\"key\":\"4\",\"ei\":\"3\","
                      "\"el\":\"t\",\"state\":0,\"retries\":3,\"available\":1767225600000,"
                      "\"type\":\"say \\\"hi\\\"/now\"}],\"tasks\":[],\"incidents\":[],\"timers\":[],"
                      "\"comps\":[],\"subs\":[]}");
  cf_free(text);
  world_end(&w);
}

/*
 * Out of memory: each growth of the buffer failing in turn gives CF_ENOMEM,
 * with the buffer's text as it was before the call (and the buffer failed).
 */
static void test_save_out_of_memory_keeps_the_buffer_text(void **state) {
  struct world w;
  world_start(&w, "<bpmn:startEvent id=\"s\"/>" FLOW("f1", "s", "t") TASK("t", "work")
                  FLOW("f2", "t", "e") "<bpmn:endEvent id=\"e\"/>",
              "{\"long\": \"0123456789012345678901234567890123456789012345678901234567890123456789"
              "0123456789012345678901234567890123456789012345678901234567890123456789\", \"x\": [1, 2, 3]}");
  char *want = ref_instance_save_text(w.inst);
  bool done = false;
  for (long n = 0; n < 40 && !done; n++) {
    struct cf_buf b;
    cf_buf_init(&b);
    cf_buf_puts(&b, "kept");
    cf_alloc_fail_after(n);
    int rc = cf_engine_instance_save(w.inst, &b);
    long refused = cf_alloc_failures();
    cf_alloc_fail_reset();
    if (refused) {
      assert_int_equal(rc, CF_ENOMEM);
      assert_true(b.oom);
      assert_string_equal(b.data, "kept");
    } else {
      assert_int_equal(rc, CF_OK);
      assert_string_equal(b.data + 4, want);
      done = true;
    }
    cf_buf_release(&b);
  }
  assert_true(done);
  cf_free(want);
  world_end(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_save_text_of_a_small_instance),
      cmocka_unit_test(test_save_matches_reference_on_every_scenario_model),
      cmocka_unit_test(test_save_out_of_memory_keeps_the_buffer_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
