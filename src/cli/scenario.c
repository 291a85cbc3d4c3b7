/*
 * Running one process scenario (see scenario.h and docs/scenarios.md).
 *
 * The instances, the clock, timers, messages and signals live in the
 * in-memory runtime (memrt.h); this file reads the scenario, turns steps
 * into runtime operations, and keeps what the engine's views do not: which
 * elements of the scenario's own process instance (the root) ever became
 * active and which completed, from the engine's events. Commands go to the
 * instance that owns the job, task or incident, wherever it is in the tree.
 */
#include "cli/cli.h"
#include "cli/scenario.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_json.h"
#include "base/cf_time.h"
#include "bpmn/cf_bpmn.h"
#include "cli/memrt.h"
#include "engine/cf_engine.h"
#include "feel/cf_feel.h"

/* Scenario files are small; this only keeps a wrong path from eating memory. */
#define SCENARIO_MAX_BYTES (16u << 20)

/* 2026-01-01T00:00:00Z, the default start of the virtual clock. */
#define DEFAULT_START_MS 1767225600000LL

/* Keys start here, as in Zeebe's first partition, so they look like real keys. */
#define FIRST_KEY 2251799813685249ULL

/* ================================================================ the run */

struct run {
  struct cf__scenario_result *res;
  const char *path;
  char *dir; /* the scenario file's folder, "" for the current one */
  bool oom;

  struct cf_bpmn_model **models;
  char **model_names;
  size_t nmodels;

  /* The scenario's process: model, process index. */
  const struct cf_bpmn_model *model;
  uint32_t process;

  /* The instance tree, the clock, timers, messages; rt.root is the scenario's own instance. */
  struct cf__memrt rt;

  /* History of the scenario's own instance, from its events. */
  bool *activated;      /* per element of model: ever had ELEMENT_ACTIVATED */
  uint32_t *completed;  /* element indices, one per ELEMENT_COMPLETED (not of multi-instance bodies) */
  size_t ncompleted, capcompleted;

  char where[160]; /* "step 3 (complete_job \"approve\")" or "expect" */
};


/* Records one failure line: "<where>: <message>". */
__attribute__((format(printf, 2, 3))) static void failf(struct run *r, const char *fmt, ...) {
  struct cf_buf b;
  cf_buf_init(&b);
  if (r->where[0]) cf_buf_printf(&b, "%s: ", r->where);
  va_list ap;
  va_start(ap, fmt);
  cf_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  char *line = cf_buf_detach(&b);
  struct cf__scenario_result *res = r->res;
  if (!line || !cf_grow((void **)&res->failures, &res->cap, res->nfailures, sizeof(char *))) {
    cf_free(line);
    r->oom = true;
    return;
  }
  res->failures[res->nfailures++] = line;
}

/* ================================================================ text helpers */

/* The JSON text of a FEEL value (new string), or NULL on oom. */
static char *value_text(const struct cf_feel_value *v) {
  if (!v) return cf_strdup("(absent)");
  struct json_object *j = NULL;
  if (cf_feel_to_json(v, &j)) return NULL;
  char *s = j ? cf_json_dump(j) : cf_strdup("null");
  json_object_put(j);
  return s;
}

/* Appends "YYYY-MM-DDTHH:MM:SS[.mmm]Z" for ms since the epoch. */
static void put_time(struct cf_buf *b, int64_t ms) {
  int64_t secs = cf_time_floor_div(ms, 1000);
  int64_t frac = cf_time_floor_mod(ms, 1000);
  int64_t days = cf_time_floor_div(secs, CF_TIME_SECS_PER_DAY);
  int64_t sod = cf_time_floor_mod(secs, CF_TIME_SECS_PER_DAY);
  int64_t y;
  unsigned mo, d;
  cf_time_civil_from_days(days, &y, &mo, &d);
  cf_buf_printf(b, "%04lld-%02u-%02uT%02lld:%02lld:%02lld", (long long)y, mo, d,
                (long long)(sod / 3600), (long long)(sod / 60 % 60), (long long)(sod % 60));
  if (frac) cf_buf_printf(b, ".%03lld", (long long)frac);
  cf_buf_putc(b, 'Z');
}

/* Parses an ISO-8601 date and time with an offset ("2026-01-05T09:00:00Z") into ms. */
static bool parse_instant(const char *s, int64_t *ms) {
  size_t len = strlen(s), i;
  struct cf_time_civil c;
  memset(&c, 0, sizeof c);
  int32_t off = 0;
  if (!(i = cf_time_parse_date(s, len, &c))) return false;
  if (i >= len || s[i] != 'T') return false;
  i++;
  size_t n = cf_time_parse_clock(s + i, len - i, &c);
  if (!n) return false;
  i += n;
  n = cf_time_parse_offset(s + i, len - i, &off);
  if (!n || i + n != len) return false;
  int64_t days = cf_time_days_from_civil(c.year, c.month, c.day);
  int64_t secs = days * CF_TIME_SECS_PER_DAY + c.hour * 3600LL + c.minute * 60LL + c.second - off;
  *ms = secs * 1000 + c.nanos / 1000000;
  return true;
}

/*
 * Adds an ISO-8601 duration to ms: months on the calendar (the day clamped
 * to the month's length, as java.time does), then the exact part.
 */
static bool add_duration(int64_t *ms, const char *text, bool allow_negative) {
  struct cf_time_duration d;
  if (cf_time_parse_duration(text, strlen(text), &d)) return false;
  if (!allow_negative && (d.months < 0 || d.secs < 0 || d.nanos < 0)) return false;
  int64_t t = *ms;
  if (d.months) {
    int64_t secs = cf_time_floor_div(t, 1000), frac = cf_time_floor_mod(t, 1000);
    int64_t days = cf_time_floor_div(secs, CF_TIME_SECS_PER_DAY);
    int64_t sod = cf_time_floor_mod(secs, CF_TIME_SECS_PER_DAY);
    int64_t y;
    unsigned mo, day;
    cf_time_civil_from_days(days, &y, &mo, &day);
    int64_t m0 = y * 12 + (mo - 1) + d.months;
    y = cf_time_floor_div(m0, 12);
    mo = (unsigned)cf_time_floor_mod(m0, 12) + 1;
    unsigned dim = cf_time_days_in_month(y, mo);
    if (day > dim) day = dim;
    if (!cf_time_valid_date(y, mo, day)) return false;
    t = (cf_time_days_from_civil(y, mo, day) * CF_TIME_SECS_PER_DAY + sod) * 1000 + frac;
  }
  t += d.secs * 1000 + d.nanos / 1000000;
  *ms = t;
  return true;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends "[a, b, c]" for n strings. */
static void put_list(struct cf_buf *b, const char **items, size_t n) {
  cf_buf_putc(b, '[');
  for (size_t i = 0; i < n; i++) cf_buf_printf(b, "%s%s", i ? ", " : "", items[i]);
  cf_buf_putc(b, ']');
}

/* ================================================================ events */

/* The root instance, or NULL before one started. */
static struct cf_engine_instance *root_inst(const struct run *r) {
  return r->rt.root == CF__MEMRT_NONE ? NULL : r->rt.insts[r->rt.root].inst;
}

/*
 * Takes in the events of one engine call on instance i (the runtime's
 * on_output). Only the scenario's own instance has a history here:
 * `completed` and `not_reached` speak of it; the container of a
 * multi-instance activity (events flagged body) does not complete in it.
 */
static void take_events(void *arg, size_t i, const struct cf_engine_output *out) {
  struct run *r = arg;
  if (i != r->rt.root) return;
  const struct cf_bpmn_model *m = r->model;
  for (size_t k = 0; k < out->count; k++) {
    const struct cf_engine_event *ev = &out->events[k];
    if (ev->element < 0 || (uint32_t)ev->element >= m->nelements) continue;
    uint32_t el = (uint32_t)ev->element;
    if (ev->kind == CF_ENGINE_EV_ELEMENT_ACTIVATED) {
      r->activated[el] = true;
    } else if (ev->kind == CF_ENGINE_EV_ELEMENT_COMPLETED && !ev->body) {
      if (!cf_grow((void **)&r->completed, &r->capcompleted, r->ncompleted, sizeof(uint32_t))) {
        r->oom = true;
        return;
      }
      r->completed[r->ncompleted++] = el;
    }
  }
}

/* What went wrong while the runtime routed (the runtime's on_problem): a failure of the step. */
static void take_problem(void *arg, const char *msg) { failf((struct run *)arg, "%s", msg); }

/* Applies cmd to instance i; a refusal is a failure of the current step. */
static bool apply(struct run *r, size_t i, const struct cf_engine_cmd *cmd) {
  struct cf_error err;
  cf_error_clear(&err);
  r->rt.failed = false;
  int rc = cf__memrt_apply(&r->rt, i, cmd, &err);
  if (rc == CF_ENOMEM) r->oom = true;
  if (rc) {
    failf(r, "the engine refused the command: %s", err.msg[0] ? err.msg : cf_strerror(rc));
    return false;
  }
  return !r->rt.failed;
}

/* ================================================================ lookups */

#define INST(r, i) ((r)->rt.insts[i].inst)

static const char *element_id(struct cf_engine_instance *inst, uint32_t el) {
  const struct cf_bpmn_model *m = cf_engine_instance_model(inst);
  return el < m->nelements ? m->elements[el].id : "?";
}

static bool job_open(const struct run *r, const struct cf_engine_job *j) {
  return j->state == CF_ENGINE_JOB_ACTIVATABLE && j->available_at_ms <= r->rt.now_ms;
}

/* The oldest open job whose type or element id is name, over the whole instance tree. */
static const struct cf_engine_job *find_job(struct run *r, const char *name,
                                            size_t *owner) {
  const struct cf_engine_job *best = NULL;
  for (size_t i = 0; i < r->rt.ninsts; i++) {
    size_t n;
    const struct cf_engine_job *jobs = cf_engine_jobs(INST(r, i), &n);
    for (size_t k = 0; k < n; k++) {
      const struct cf_engine_job *j = &jobs[k];
      if (!job_open(r, j)) continue;
      if (strcmp(j->type ? j->type : "", name) && strcmp(element_id(INST(r, i), j->element), name))
        continue;
      if (!best || j->key < best->key) {
        best = j;
        *owner = i;
      }
    }
  }
  return best;
}

/* The oldest open user task of element name. */
static const struct cf_engine_user_task *find_task(struct run *r, const char *name,
                                                   size_t *owner) {
  const struct cf_engine_user_task *best = NULL;
  for (size_t i = 0; i < r->rt.ninsts; i++) {
    size_t n;
    const struct cf_engine_user_task *tasks = cf_engine_user_tasks(INST(r, i), &n);
    for (size_t k = 0; k < n; k++) {
      if (strcmp(element_id(INST(r, i), tasks[k].element), name)) continue;
      if (!best || tasks[k].key < best->key) {
        best = &tasks[k];
        *owner = i;
      }
    }
  }
  return best;
}

/* The oldest open incident on element name (or on a job of type name). */
static const struct cf_engine_incident *find_incident(struct run *r, const char *name,
                                                      size_t *owner) {
  const struct cf_engine_incident *best = NULL;
  for (size_t i = 0; i < r->rt.ninsts; i++) {
    size_t n, nj;
    const struct cf_engine_incident *incs = cf_engine_incidents(INST(r, i), &n);
    const struct cf_engine_job *jobs = cf_engine_jobs(INST(r, i), &nj);
    for (size_t k = 0; k < n; k++) {
      bool match = !strcmp(element_id(INST(r, i), incs[k].element), name);
      for (size_t q = 0; !match && incs[k].job_key && q < nj; q++)
        match = jobs[q].key == incs[k].job_key && jobs[q].type && !strcmp(jobs[q].type, name);
      if (!match) continue;
      if (!best || incs[k].key < best->key) {
        best = &incs[k];
        *owner = i;
      }
    }
  }
  return best;
}

/*
 * Appends what is open now, for a step that found nothing to act on: open
 * jobs (type and element), jobs backing off (until when), jobs without
 * retries, open user tasks, open incidents.
 */
static void put_open(struct run *r, struct cf_buf *b) {
  struct cf_buf jobs, later, failed, tasks, incs;
  cf_buf_init(&jobs);
  cf_buf_init(&later);
  cf_buf_init(&failed);
  cf_buf_init(&tasks);
  cf_buf_init(&incs);
  for (size_t i = 0; i < r->rt.ninsts; i++) {
    struct cf_engine_instance *inst = INST(r, i);
    size_t n;
    const struct cf_engine_job *js = cf_engine_jobs(inst, &n);
    for (size_t k = 0; k < n; k++) {
      const struct cf_engine_job *j = &js[k];
      const char *el = element_id(inst, j->element);
      const char *type = j->type ? j->type : "?";
      if (job_open(r, j)) {
        cf_buf_printf(&jobs, "%s%s (element %s)", jobs.len ? ", " : "", type, el);
      } else if (j->state == CF_ENGINE_JOB_ACTIVATABLE) {
        cf_buf_printf(&later, "%s%s (element %s) until ", later.len ? ", " : "", type, el);
        put_time(&later, j->available_at_ms);
      } else {
        cf_buf_printf(&failed, "%s%s (element %s)", failed.len ? ", " : "", type, el);
      }
    }
    const struct cf_engine_user_task *ts = cf_engine_user_tasks(inst, &n);
    for (size_t k = 0; k < n; k++)
      cf_buf_printf(&tasks, "%s%s", tasks.len ? ", " : "", element_id(inst, ts[k].element));
    const struct cf_engine_incident *is = cf_engine_incidents(inst, &n);
    for (size_t k = 0; k < n; k++)
      cf_buf_printf(&incs, "%s%s", incs.len ? ", " : "", element_id(inst, is[k].element));
  }
  size_t start = b->len;
  if (jobs.len) cf_buf_printf(b, "open jobs: %s", jobs.data);
  if (later.len) cf_buf_printf(b, "%sjobs backing off (not open yet): %s", b->len > start ? "; " : "", later.data);
  if (failed.len) cf_buf_printf(b, "%sjobs without retries (incident): %s", b->len > start ? "; " : "", failed.data);
  if (tasks.len) cf_buf_printf(b, "%sopen user tasks: %s", b->len > start ? "; " : "", tasks.data);
  if (incs.len) cf_buf_printf(b, "%sopen incidents: %s", b->len > start ? "; " : "", incs.data);
  if (b->len == start) cf_buf_puts(b, "nothing was open");
  if (jobs.oom || later.oom || failed.oom || tasks.oom || incs.oom) r->oom = true;
  cf_buf_release(&jobs);
  cf_buf_release(&later);
  cf_buf_release(&failed);
  cf_buf_release(&tasks);
  cf_buf_release(&incs);
}

/* Fails the step with "no open <what> "<name>"; <what was open>". */
static void fail_none(struct run *r, const char *what, const char *name) {
  struct cf_buf b;
  cf_buf_init(&b);
  struct cf_engine_instance *root = root_inst(r);
  if (!root) cf_buf_puts(&b, "no instance has started yet; ");
  else if (cf_engine_instance_state(root) != CF_ENGINE_ACTIVE) cf_buf_puts(&b, "the instance has ended; ");
  put_open(r, &b);
  if (b.oom) r->oom = true;
  failf(r, "no open %s \"%s\"; %s", what, name, b.data);
  cf_buf_release(&b);
}

/* ================================================================ JSON helpers */

static const char *jstr(struct json_object *o, const char *key) {
  struct json_object *v;
  if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string)) return NULL;
  return json_object_get_string(v);
}

static bool jhas(struct json_object *o, const char *key) {
  return json_object_object_get_ex(o, key, NULL);
}

/*
 * Reads o[key] as a context of variables into *out (null if absent).
 * A value that is no object is a failure.
 */
static bool jvars(struct run *r, struct json_object *o, const char *key, struct cf_feel_value *out) {
  cf_feel_set_null(out);
  struct json_object *v;
  if (!json_object_object_get_ex(o, key, &v)) return true;
  if (!json_object_is_type(v, json_type_object)) {
    failf(r, "\"%s\" must be a JSON object", key);
    return false;
  }
  int rc = cf_feel_from_json(v, out);
  if (rc == CF_ENOMEM) r->oom = true;
  if (rc) {
    failf(r, "\"%s\": %s", key, rc == CF_ENOMEM ? "out of memory" : "a number beyond the decimal range or a string that is not UTF-8");
    return false;
  }
  return true;
}

/* Reads o[key] as an integer (absent: *out unchanged). */
static bool jint(struct run *r, struct json_object *o, const char *key, int32_t *out) {
  struct json_object *v;
  if (!json_object_object_get_ex(o, key, &v)) return true;
  const char *t = json_object_is_type(v, json_type_int) ? cf_json_number_text(v) : NULL;
  char *end;
  errno = 0;
  long n = t ? strtol(t, &end, 10) : 0;
  if (!t || *end || errno || n < 0 || n > INT32_MAX) {
    failf(r, "\"%s\" must be a whole number from 0 on", key);
    return false;
  }
  *out = (int32_t)n;
  return true;
}

/* Reads o[key] as a string or null (absent: *out unchanged). */
static bool jstr_opt(struct run *r, struct json_object *o, const char *key, const char **out) {
  struct json_object *v;
  if (!json_object_object_get_ex(o, key, &v)) return true;
  if (v && !json_object_is_type(v, json_type_string)) {
    failf(r, "\"%s\" must be a string", key);
    return false;
  }
  *out = v ? json_object_get_string(v) : NULL;
  return true;
}

/* ================================================================ steps */

/* complete_job: {"complete_job": TYPE_OR_ELEMENT, "variables": {...}} */
static bool step_complete_job(struct run *r, struct json_object *step, const char *name) {
  size_t inst = 0;
  const struct cf_engine_job *job = find_job(r, name, &inst);
  if (!job) {
    fail_none(r, "job", name);
    return false;
  }
  struct cf_feel_value vars;
  if (!jvars(r, step, "variables", &vars)) return false;
  struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_COMPLETE_JOB, .key = job->key};
  cmd.variables = vars.type == CF_FEEL_CONTEXT ? &vars : NULL;
  bool ok = apply(r, inst, &cmd);
  cf_feel_value_release(&vars);
  return ok;
}

/*
 * fail_job: {"fail_job": X, "retries": N, "message": "...", "backoff": "PT1M", "variables": {...}}
 * retries defaults to the job's retries less one, as a worker would send.
 */
static bool step_fail_job(struct run *r, struct json_object *step, const char *name) {
  size_t inst = 0;
  const struct cf_engine_job *job = find_job(r, name, &inst);
  if (!job) {
    fail_none(r, "job", name);
    return false;
  }
  struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_FAIL_JOB, .key = job->key};
  cmd.retries = job->retries > 0 ? job->retries - 1 : 0;
  if (!jint(r, step, "retries", &cmd.retries)) return false;
  if (!jstr_opt(r, step, "message", &cmd.message)) return false;
  const char *backoff = NULL;
  if (!jstr_opt(r, step, "backoff", &backoff)) return false;
  if (backoff) {
    int64_t t = 0;
    struct cf_time_duration d;
    if (cf_time_parse_duration(backoff, strlen(backoff), &d) || d.months || !add_duration(&t, backoff, false)) {
      failf(r, "\"backoff\" must be an ISO-8601 duration of days and time, such as \"PT1M\" (got \"%s\")", backoff);
      return false;
    }
    cmd.backoff_ms = t;
  }
  struct cf_feel_value vars;
  if (!jvars(r, step, "variables", &vars)) return false;
  cmd.variables = vars.type == CF_FEEL_CONTEXT ? &vars : NULL;
  bool ok = apply(r, inst, &cmd);
  cf_feel_value_release(&vars);
  return ok;
}

/* throw_error: {"throw_error": X, "code": "...", "message": "...", "variables": {...}} */
static bool step_throw_error(struct run *r, struct json_object *step, const char *name) {
  size_t inst = 0;
  const struct cf_engine_job *job = find_job(r, name, &inst);
  if (!job) {
    fail_none(r, "job", name);
    return false;
  }
  struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_THROW_ERROR, .key = job->key};
  cmd.error_code = jstr(step, "code");
  if (!cmd.error_code) {
    failf(r, "\"code\" (the BPMN error code, a string) is required");
    return false;
  }
  if (!jstr_opt(r, step, "message", &cmd.message)) return false;
  struct cf_feel_value vars;
  if (!jvars(r, step, "variables", &vars)) return false;
  cmd.variables = vars.type == CF_FEEL_CONTEXT ? &vars : NULL;
  bool ok = apply(r, inst, &cmd);
  cf_feel_value_release(&vars);
  return ok;
}

/* complete_user_task: {"complete_user_task": ELEMENT, "variables": {...}} */
static bool step_complete_user_task(struct run *r, struct json_object *step, const char *name) {
  size_t inst = 0;
  const struct cf_engine_user_task *t = find_task(r, name, &inst);
  if (!t) {
    fail_none(r, "user task", name);
    return false;
  }
  struct cf_feel_value vars;
  if (!jvars(r, step, "variables", &vars)) return false;
  struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_COMPLETE_USER_TASK, .key = t->key};
  cmd.variables = vars.type == CF_FEEL_CONTEXT ? &vars : NULL;
  bool ok = apply(r, inst, &cmd);
  cf_feel_value_release(&vars);
  return ok;
}

/* assign_user_task (extension): {"assign_user_task": ELEMENT, "assignee": "ann" | null} */
static bool step_assign_user_task(struct run *r, struct json_object *step, const char *name) {
  size_t inst = 0;
  const struct cf_engine_user_task *t = find_task(r, name, &inst);
  if (!t) {
    fail_none(r, "user task", name);
    return false;
  }
  struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_ASSIGN_USER_TASK, .key = t->key};
  if (!jhas(step, "assignee")) {
    failf(r, "\"assignee\" is required (null unassigns)");
    return false;
  }
  if (!jstr_opt(r, step, "assignee", &cmd.assignee)) return false;
  return apply(r, inst, &cmd);
}

/*
 * resolve_incident: {"resolve_incident": ELEMENT, "retries": N}
 * With retries, the job's retries are updated first (as an operator does in
 * Camunda: a job incident stays until its job has retries again).
 */
static bool step_resolve_incident(struct run *r, struct json_object *step, const char *name) {
  size_t inst = 0;
  const struct cf_engine_incident *inc = find_incident(r, name, &inst);
  if (!inc) {
    fail_none(r, "incident on", name);
    return false;
  }
  uint64_t inc_key = inc->key, job_key = inc->job_key;
  if (jhas(step, "retries")) {
    int32_t retries = 0;
    if (!jint(r, step, "retries", &retries)) return false;
    if (!job_key) {
      failf(r, "\"retries\" given, but the incident on %s is not a job's (%s)", name, inc->message ? inc->message : "no message");
      return false;
    }
    struct cf_engine_cmd upd = {.kind = CF_ENGINE_CMD_UPDATE_JOB_RETRIES, .key = job_key, .retries = retries};
    if (!apply(r, inst, &upd)) return false;
  }
  struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_RESOLVE_INCIDENT, .key = inc_key};
  return apply(r, inst, &cmd);
}

/*
 * advance_clock: {"advance_clock": "PT2H"}
 * Every timer due by then fires in due order, each with the clock at its due
 * time; the clock ends at now + the duration.
 */
static bool step_advance_clock(struct run *r, struct json_object *step, const char *text) {
  (void)step;
  int64_t target = r->rt.now_ms;
  if (!add_duration(&target, text, false)) {
    failf(r, "\"%s\" is not an ISO-8601 duration that moves the clock forward (such as \"PT2H\" or \"P1D\")", text);
    return false;
  }
  r->rt.failed = false;
  cf__memrt_advance(&r->rt, target);
  return !r->rt.failed;
}

/* Reads a correlation key: a string, or a whole number (as Camunda 8 turns it into text); absent: "". */
static bool jkey(struct run *r, struct json_object *o, const char *key, const char **out) {
  struct json_object *v;
  *out = "";
  if (!json_object_object_get_ex(o, key, &v)) return true;
  if (json_object_is_type(v, json_type_string)) {
    *out = json_object_get_string(v);
    return true;
  }
  if (json_object_is_type(v, json_type_int)) {
    *out = cf_json_number_text(v);
    return *out != NULL;
  }
  failf(r, "\"%s\" must be a string (or a whole number)", key);
  return false;
}

/*
 * publish_message: {"publish_message": NAME, "correlation_key": K, "variables": {...},
 *                   "ttl": "PT1H", "message_id": "..."}
 * Correlates now (see memrt.h for the rules) and, with a time to live,
 * stays buffered for subscriptions that open later.
 */
static bool step_publish_message(struct run *r, struct json_object *step, const char *name) {
  const char *key = "", *ttl = NULL, *id = NULL;
  if (!jkey(r, step, "correlation_key", &key) || !jstr_opt(r, step, "ttl", &ttl) ||
      !jstr_opt(r, step, "message_id", &id))
    return false;
  int64_t ttl_ms = 0;
  if (ttl) {
    struct cf_time_duration d;
    if (cf_time_parse_duration(ttl, strlen(ttl), &d) || d.months || !add_duration(&ttl_ms, ttl, false)) {
      failf(r, "\"ttl\" must be an ISO-8601 duration of days and time, such as \"PT1H\" (got \"%s\")", ttl);
      return false;
    }
  }
  struct cf_feel_value vars;
  if (!jvars(r, step, "variables", &vars)) return false;
  r->rt.failed = false;
  cf__memrt_publish(&r->rt, name, key, vars.type == CF_FEEL_CONTEXT ? &vars : NULL, ttl_ms, id);
  cf_feel_value_release(&vars);
  return !r->rt.failed;
}

/* broadcast_signal: {"broadcast_signal": NAME, "variables": {...}} */
static bool step_broadcast_signal(struct run *r, struct json_object *step, const char *name) {
  struct cf_feel_value vars;
  if (!jvars(r, step, "variables", &vars)) return false;
  r->rt.failed = false;
  cf__memrt_broadcast(&r->rt, name, vars.type == CF_FEEL_CONTEXT ? &vars : NULL);
  cf_feel_value_release(&vars);
  return !r->rt.failed;
}

/* The root instance's index for a step that acts on it; none yet is a failure. */
static bool need_root(struct run *r) {
  if (r->rt.root != CF__MEMRT_NONE) return true;
  failf(r, "no instance of process %s has started yet", r->model->processes[r->process].id);
  return false;
}

/* cancel (extension): {"cancel": true} cancels the whole instance. */
static bool step_cancel(struct run *r, struct json_object *step, const char *text) {
  struct json_object *v;
  json_object_object_get_ex(step, "cancel", &v);
  if (!json_object_is_type(v, json_type_boolean) || !json_object_get_boolean(v)) {
    failf(r, "write \"cancel\": true");
    return false;
  }
  if (!need_root(r)) return false;
  struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_CANCEL};
  return apply(r, r->rt.root, &cmd);
}

/*
 * set_variables (extension): {"set_variables": {...}, "element": ID, "local": BOOL}
 * Updates variables as an operator does (Camunda's variable update): in the
 * process scope, or in the scope of the element's live instance; without
 * "local" each variable propagates to where it already exists.
 */
static bool step_set_variables(struct run *r, struct json_object *step, const char *text) {
  (void)text;
  struct cf_feel_value vars;
  if (!jvars(r, step, "set_variables", &vars)) return false;
  if (vars.type != CF_FEEL_CONTEXT) {
    failf(r, "\"set_variables\" takes a JSON object of variables");
    cf_feel_value_release(&vars);
    return false;
  }
  if (!need_root(r)) {
    cf_feel_value_release(&vars);
    return false;
  }
  struct cf_engine_instance *inst = root_inst(r);
  struct cf_engine_cmd cmd = {.kind = CF_ENGINE_CMD_SET_VARIABLES, .key = cf_engine_instance_key(inst),
                              .variables = &vars};
  const char *element = NULL;
  bool ok = jstr_opt(r, step, "element", &element);
  if (ok && element) {
    size_t ne;
    const struct cf_engine_element_instance *eis = cf_engine_elements(inst, &ne);
    const struct cf_bpmn_model *m = cf_engine_instance_model(inst);
    cmd.key = 0;
    for (size_t i = 0; i < ne && !cmd.key; i++)
      if (!strcmp(m->elements[eis[i].element].id, element)) cmd.key = eis[i].key;
    if (!cmd.key) {
      failf(r, "no live instance of element %s to set variables in", element);
      ok = false;
    }
  }
  struct json_object *lv;
  if (ok && json_object_object_get_ex(step, "local", &lv)) {
    if (!json_object_is_type(lv, json_type_boolean)) {
      failf(r, "\"local\" must be true or false");
      ok = false;
    } else {
      cmd.local = json_object_get_boolean(lv);
    }
  }
  if (ok) ok = apply(r, r->rt.root, &cmd);
  cf_feel_value_release(&vars);
  return ok;
}

static bool check_expect(struct run *r, struct json_object *exp);

static bool step_expect(struct run *r, struct json_object *step, const char *text) {
  struct json_object *exp;
  json_object_object_get_ex(step, "expect", &exp);
  return check_expect(r, exp);
}

/* What a step's main key takes. */
enum step_arg { ARG_STRING, ARG_ANY };

static const char *const keys_vars[] = {"variables", NULL};
static const char *const keys_fail[] = {"retries", "message", "backoff", "variables", NULL};
static const char *const keys_error[] = {"code", "message", "variables", NULL};
static const char *const keys_assign[] = {"assignee", NULL};
static const char *const keys_resolve[] = {"retries", NULL};
static const char *const keys_none[] = {NULL};
static const char *const keys_set[] = {"element", "local", NULL};
static const char *const keys_publish[] = {"correlation_key", "variables", "ttl", "message_id", NULL};

/* The steps. A new kind of step is one row here and one function above; keys lists the other keys it may have. */
static const struct step_kind {
  const char *name;
  enum step_arg arg;
  bool (*run)(struct run *r, struct json_object *step, const char *text);
  const char *const *keys;
} step_kinds[] = {
    {"complete_job", ARG_STRING, step_complete_job, keys_vars},
    {"fail_job", ARG_STRING, step_fail_job, keys_fail},
    {"throw_error", ARG_STRING, step_throw_error, keys_error},
    {"complete_user_task", ARG_STRING, step_complete_user_task, keys_vars},
    {"assign_user_task", ARG_STRING, step_assign_user_task, keys_assign},
    {"resolve_incident", ARG_STRING, step_resolve_incident, keys_resolve},
    {"advance_clock", ARG_STRING, step_advance_clock, keys_none},
    {"cancel", ARG_ANY, step_cancel, keys_none},
    {"set_variables", ARG_ANY, step_set_variables, keys_set},
    {"publish_message", ARG_STRING, step_publish_message, keys_publish},
    {"broadcast_signal", ARG_STRING, step_broadcast_signal, keys_vars},
    {"expect", ARG_ANY, step_expect, keys_none},
};

/* Keys any step or the scenario may carry for people, ignored by the runner. */
static bool remark_key(const char *k) { return !strcmp(k, "comment") || !strcmp(k, "description"); }

static bool run_step(struct run *r, size_t no, struct json_object *step) {
  snprintf(r->where, sizeof r->where, "step %zu", no);
  if (!json_object_is_type(step, json_type_object)) {
    failf(r, "a step must be a JSON object");
    return false;
  }
  const struct step_kind *kind = NULL;
  json_object_object_foreach(step, key, val) {
    (void)val;
    for (size_t i = 0; i < sizeof step_kinds / sizeof step_kinds[0]; i++) {
      if (strcmp(step_kinds[i].name, key)) continue;
      if (kind) {
        failf(r, "one step has both \"%s\" and \"%s\": write two steps", kind->name, key);
        return false;
      }
      kind = &step_kinds[i];
    }
  }
  if (!kind) {
    struct cf_buf b;
    cf_buf_init(&b);
    for (size_t i = 0; i < sizeof step_kinds / sizeof step_kinds[0]; i++)
      cf_buf_printf(&b, "%s%s", i ? ", " : "", step_kinds[i].name);
    failf(r, "unknown step %s (a step has one of: %s)", json_object_to_json_string_ext(step, JSON_C_TO_STRING_PLAIN), b.data);
    cf_buf_release(&b);
    return false;
  }
  struct json_object *arg;
  json_object_object_get_ex(step, kind->name, &arg);
  const char *text = NULL;
  if (kind->arg == ARG_STRING) {
    if (!json_object_is_type(arg, json_type_string)) {
      failf(r, "\"%s\" takes a string", kind->name);
      return false;
    }
    text = json_object_get_string(arg);
    snprintf(r->where, sizeof r->where, "step %zu (%s \"%.100s\")", no, kind->name, text);
  } else {
    snprintf(r->where, sizeof r->where, "step %zu (%s)", no, kind->name);
  }
  {
    json_object_object_foreach(step, key2, val2) {
      (void)val2;
      if (!strcmp(key2, kind->name) || remark_key(key2)) continue;
      bool known = false;
      for (const char *const *k = kind->keys; *k; k++)
        if (!strcmp(*k, key2)) known = true;
      if (!known) {
        failf(r, "unknown key \"%s\" for %s", key2, kind->name);
        return false;
      }
    }
  }
  return kind->run(r, step, text);
}

/* ================================================================ expectations */

/* Ids from a JSON array of strings, sorted; NULL with a failure if it is no such array. */
static const char **expect_ids(struct run *r, struct json_object *v, const char *key, size_t *n) {
  if (!json_object_is_type(v, json_type_array)) {
    failf(r, "%s: expected a list of element ids", key);
    return NULL;
  }
  size_t len = json_object_array_length(v);
  const char **ids = cf_calloc(len + 1, sizeof *ids);
  if (!ids) {
    r->oom = true;
    return NULL;
  }
  for (size_t i = 0; i < len; i++) {
    struct json_object *e = json_object_array_get_idx(v, i);
    if (!json_object_is_type(e, json_type_string)) {
      failf(r, "%s: expected a list of element ids (strings)", key);
      cf_free(ids);
      return NULL;
    }
    ids[i] = json_object_get_string(e);
  }
  qsort(ids, len, sizeof *ids, cmp_str);
  *n = len;
  return ids;
}

static size_t uniq(const char **ids, size_t n) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (!m || strcmp(ids[m - 1], ids[i])) ids[m++] = ids[i];
  return m;
}

/*
 * Compares two sorted lists (multisets) and, when they differ, fails with
 * both and what is missing and extra.
 */
static bool compare_ids(struct run *r, const char *key, const char **want, size_t nwant,
                        const char **got, size_t ngot) {
  bool same = nwant == ngot;
  for (size_t i = 0; same && i < nwant; i++) same = !strcmp(want[i], got[i]);
  if (same) return true;
  struct cf_buf b, missing, extra;
  cf_buf_init(&b);
  cf_buf_init(&missing);
  cf_buf_init(&extra);
  size_t i = 0, k = 0;
  while (i < nwant || k < ngot) {
    int c = i == nwant ? 1 : k == ngot ? -1 : strcmp(want[i], got[k]);
    if (c < 0) cf_buf_printf(&missing, "%s%s", missing.len ? ", " : "", want[i++]);
    else if (c > 0) cf_buf_printf(&extra, "%s%s", extra.len ? ", " : "", got[k++]);
    else i++, k++;
  }
  cf_buf_printf(&b, "%s: expected ", key);
  put_list(&b, want, nwant);
  cf_buf_puts(&b, ", found ");
  put_list(&b, got, ngot);
  if (missing.len) cf_buf_printf(&b, " (missing: %s)", missing.data);
  if (extra.len) cf_buf_printf(&b, " (not expected: %s)", extra.data);
  if (b.oom || missing.oom || extra.oom) r->oom = true;
  failf(r, "%s", b.data);
  cf_buf_release(&b);
  cf_buf_release(&missing);
  cf_buf_release(&extra);
  return false;
}

/* The root's state; an open incident anywhere in its tree makes an active one "incident". */
static const char *found_state(struct run *r) {
  struct cf_engine_instance *root = root_inst(r);
  if (!root) return "none";
  switch (cf_engine_instance_state(root)) {
  case CF_ENGINE_COMPLETED: return "completed";
  case CF_ENGINE_TERMINATED: return "terminated";
  default: break;
  }
  for (size_t i = 0; i < r->rt.ninsts; i++) {
    if (!cf__memrt_in_root_tree(&r->rt, i)) continue;
    size_t n;
    cf_engine_incidents(INST(r, i), &n);
    if (n) return "incident";
  }
  return "active";
}

/*
 * Whether a live element instance waits for something from outside: a job
 * or a person, a message or a timer. Containers (sub-processes, call
 * activities, multi-instance bodies), boundary events and joins do not.
 */
static bool waits_outside(const struct cf_engine_instance *inst, const struct cf_engine_element_instance *ei) {
  const struct cf_bpmn_model *m = cf_engine_instance_model(inst);
  if (ei->state != CF_ENGINE_EI_ACTIVATED || ei->element >= m->nelements || ei->body) return false;
  const struct cf_bpmn_element *el = &m->elements[ei->element];
  if (el->type == CF_BPMN_CALL_ACTIVITY || el->type == CF_BPMN_SUB_PROCESS || el->type == CF_BPMN_EVENT_SUB_PROCESS)
    return false;
  if (ei->job_key || ei->user_task_key) return true;
  switch (el->type) {
  case CF_BPMN_SERVICE_TASK:
  case CF_BPMN_SEND_TASK:
  case CF_BPMN_BUSINESS_RULE_TASK:
  case CF_BPMN_SCRIPT_TASK:
  case CF_BPMN_USER_TASK:
  case CF_BPMN_RECEIVE_TASK:
  case CF_BPMN_INTERMEDIATE_CATCH_EVENT:
  case CF_BPMN_EVENT_BASED_GATEWAY:
    return true;
  default:
    return false;
  }
}

static const char **found_active(struct run *r, size_t *n) {
  struct cf_engine_instance *root = root_inst(r);
  size_t ne = 0;
  const struct cf_engine_element_instance *eis = root ? cf_engine_elements(root, &ne) : NULL;
  const char **ids = cf_calloc(ne + 1, sizeof *ids);
  if (!ids) {
    r->oom = true;
    return NULL;
  }
  size_t m = 0;
  for (size_t i = 0; i < ne; i++)
    if (waits_outside(root, &eis[i])) ids[m++] = r->model->elements[eis[i].element].id;
  qsort(ids, m, sizeof *ids, cmp_str);
  *n = m;
  return ids;
}

static const char **found_incidents(struct run *r, size_t *n) {
  size_t total = 0;
  for (size_t i = 0; i < r->rt.ninsts; i++) {
    size_t k;
    cf_engine_incidents(INST(r, i), &k);
    if (cf__memrt_in_root_tree(&r->rt, i)) total += k;
  }
  const char **ids = cf_calloc(total + 1, sizeof *ids);
  if (!ids) {
    r->oom = true;
    return NULL;
  }
  size_t m = 0;
  for (size_t i = 0; i < r->rt.ninsts; i++) {
    if (!cf__memrt_in_root_tree(&r->rt, i)) continue;
    size_t k;
    const struct cf_engine_incident *incs = cf_engine_incidents(INST(r, i), &k);
    for (size_t q = 0; q < k; q++) ids[m++] = element_id(INST(r, i), incs[q].element);
  }
  qsort(ids, m, sizeof *ids, cmp_str);
  *n = uniq(ids, m);
  return ids;
}

static bool expect_variables(struct run *r, struct json_object *v) {
  if (!json_object_is_type(v, json_type_object)) {
    failf(r, "variables: expected a JSON object of variables");
    return false;
  }
  struct cf_engine_instance *root = root_inst(r);
  const struct cf_feel_value *vars = root ? cf_engine_variables(root, cf_engine_instance_key(root)) : NULL;
  const struct cf_feel_ctx *ctx = vars && vars->type == CF_FEEL_CONTEXT ? vars->u.ctx : NULL;
  bool ok = true;
  json_object_object_foreach(v, key, jwant) {
    struct cf_feel_value want;
    int rc = cf_feel_from_json(jwant, &want);
    if (rc) {
      if (rc == CF_ENOMEM) r->oom = true;
      failf(r, "variables.%s: the expected value is a number beyond the decimal range or a string that is not UTF-8", key);
      ok = false;
      continue;
    }
    const struct cf_feel_value *got = cf_feel_ctx_get(ctx, key, strlen(key));
    bool same = got && cf_feel_equal(&want, got) == 1;
    char *tw = value_text(&want), *tg = value_text(got);
    /* A date or duration the process made compares with its ISO text in the file. */
    if (!same && got && tw && tg) same = !strcmp(tw, tg);
    if (!same) {
      if (!tw || !tg) r->oom = true;
      failf(r, "variables.%s: expected %s, found %s", key, tw ? tw : "?", tg ? tg : "?");
      ok = false;
    }
    cf_free(tw);
    cf_free(tg);
    cf_feel_value_release(&want);
  }
  return ok;
}

static bool expect_variables_absent(struct run *r, struct json_object *v) {
  size_t n = 0;
  const char **names = expect_ids(r, v, "variables_absent", &n);
  if (!names) return false;
  struct cf_engine_instance *root = root_inst(r);
  const struct cf_feel_value *vars = root ? cf_engine_variables(root, cf_engine_instance_key(root)) : NULL;
  const struct cf_feel_ctx *ctx = vars && vars->type == CF_FEEL_CONTEXT ? vars->u.ctx : NULL;
  bool ok = true;
  for (size_t i = 0; i < n; i++) {
    const struct cf_feel_value *got = cf_feel_ctx_get(ctx, names[i], strlen(names[i]));
    if (!got) continue;
    char *t = value_text(got);
    if (!t) r->oom = true;
    failf(r, "variables_absent: expected no process variable %s, found %s = %s", names[i], names[i], t ? t : "?");
    cf_free(t);
    ok = false;
  }
  cf_free(names);
  return ok;
}

/* ---------------------------------------------------------------- jobs and user tasks */

static void put_json(struct run *r, struct json_object *o, const char *key, struct json_object *v) {
  if (json_object_object_add(o, key, v)) r->oom = true;
}

static struct json_object *jstring_or_null(struct run *r, const char *s) {
  struct json_object *v = s ? json_object_new_string(s) : NULL;
  if (s && !v) r->oom = true;
  return v;
}

static struct json_object *feel_json(struct run *r, const struct cf_feel_value *v) {
  struct json_object *j = NULL;
  if (cf_feel_to_json(v, &j)) r->oom = true;
  return j;
}

/* A job as the "jobs" expectation sees it: element, type, retries, state, error_message, headers. */
static struct json_object *job_json(struct run *r, struct cf_engine_instance *inst,
                                    const struct cf_engine_job *j) {
  struct json_object *o = json_object_new_object();
  if (!o) {
    r->oom = true;
    return NULL;
  }
  put_json(r, o, "element", jstring_or_null(r, element_id(inst, j->element)));
  put_json(r, o, "type", jstring_or_null(r, j->type));
  put_json(r, o, "retries", json_object_new_int(j->retries));
  put_json(r, o, "state", jstring_or_null(r, job_open(r, j) ? "open"
                                             : j->state == CF_ENGINE_JOB_ACTIVATABLE ? "backing_off"
                                                                                     : "failed"));
  put_json(r, o, "error_message", jstring_or_null(r, j->error_message));
  struct json_object *h = j->headers.type == CF_FEEL_CONTEXT ? feel_json(r, &j->headers) : json_object_new_object();
  put_json(r, o, "headers", h);
  return o;
}

/* A user task as the "user_tasks" expectation sees it. */
static struct json_object *task_json(struct run *r, struct cf_engine_instance *inst,
                                     const struct cf_engine_user_task *t) {
  struct json_object *o = json_object_new_object();
  if (!o) {
    r->oom = true;
    return NULL;
  }
  put_json(r, o, "element", jstring_or_null(r, element_id(inst, t->element)));
  put_json(r, o, "assignee", jstring_or_null(r, t->assignee));
  put_json(r, o, "candidate_groups", feel_json(r, &t->candidate_groups));
  put_json(r, o, "candidate_users", feel_json(r, &t->candidate_users));
  put_json(r, o, "due_date", jstring_or_null(r, t->due_date));
  put_json(r, o, "follow_up_date", jstring_or_null(r, t->follow_up_date));
  put_json(r, o, "priority", json_object_new_int(t->priority));
  put_json(r, o, "form_key", jstring_or_null(r, t->form_key));
  return o;
}

/* Whether found has every key of want with an equal value (FEEL equality, exact numbers). */
static bool json_subset(struct run *r, struct json_object *want, struct json_object *found) {
  json_object_object_foreach(want, key, wv) {
    struct json_object *fv;
    if (!json_object_object_get_ex(found, key, &fv)) return false;
    struct cf_feel_value a, b;
    int rc1 = cf_feel_from_json(wv, &a), rc2 = cf_feel_from_json(fv, &b);
    if (rc1 == CF_ENOMEM || rc2 == CF_ENOMEM) r->oom = true;
    bool same = !rc1 && !rc2 && cf_feel_equal(&a, &b) == 1;
    cf_feel_value_release(&a);
    cf_feel_value_release(&b);
    if (!same) return false;
  }
  return true;
}

/*
 * "jobs" and "user_tasks" (extensions): each expected object must match a
 * different job or open user task on the keys it gives.
 */
static bool expect_rows(struct run *r, struct json_object *v, bool tasks) {
  const char *key = tasks ? "user_tasks" : "jobs";
  if (!json_object_is_type(v, json_type_array)) {
    failf(r, "%s: expected a list of objects", key);
    return false;
  }
  struct json_object *found = json_object_new_array();
  if (!found) {
    r->oom = true;
    return false;
  }
  for (size_t i = 0; i < r->rt.ninsts; i++) {
    size_t n;
    if (tasks) {
      const struct cf_engine_user_task *ts = cf_engine_user_tasks(INST(r, i), &n);
      for (size_t k = 0; k < n; k++) json_object_array_add(found, task_json(r, INST(r, i), &ts[k]));
    } else {
      const struct cf_engine_job *js = cf_engine_jobs(INST(r, i), &n);
      for (size_t k = 0; k < n; k++) json_object_array_add(found, job_json(r, INST(r, i), &js[k]));
    }
  }
  size_t nf = json_object_array_length(found), nw = json_object_array_length(v);
  bool *used = cf_calloc(nf + 1, sizeof *used);
  bool ok = true;
  if (!used) r->oom = true;
  for (size_t w = 0; used && w < nw; w++) {
    struct json_object *want = json_object_array_get_idx(v, w);
    if (!json_object_is_type(want, json_type_object)) {
      failf(r, "%s: expected a list of objects", key);
      ok = false;
      break;
    }
    bool matched = false;
    for (size_t f = 0; !matched && f < nf; f++) {
      if (used[f] || !json_subset(r, want, json_object_array_get_idx(found, f))) continue;
      used[f] = matched = true;
    }
    if (!matched) {
      failf(r, "%s: expected one matching %s, found %s", key,
            json_object_to_json_string_ext(want, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
            json_object_to_json_string_ext(found, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
      ok = false;
    }
  }
  cf_free(used);
  json_object_put(found);
  return ok;
}

static const char *const expect_keys[] = {"state", "active", "completed", "not_reached", "incidents",
                                          "variables", "variables_absent", "jobs", "user_tasks", NULL};

/* Checks every key of an expect object; each mismatch is its own failure line. */
static bool check_expect(struct run *r, struct json_object *exp) {
  if (!json_object_is_type(exp, json_type_object)) {
    failf(r, "\"expect\" must be a JSON object");
    return false;
  }
  bool ok = true;
  json_object_object_foreach(exp, key, val) {
    bool known = remark_key(key);
    for (const char *const *k = expect_keys; *k; k++)
      if (!strcmp(*k, key)) known = true;
    if (!known) {
      failf(r, "unknown expectation \"%s\" (known: state, active, completed, not_reached, incidents, variables; "
                "extensions: variables_absent, jobs, user_tasks)", key);
      ok = false;
    }
    (void)val;
  }
  struct json_object *v;
  if (json_object_object_get_ex(exp, "state", &v)) {
    const char *want = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    if (!want || (strcmp(want, "active") && strcmp(want, "completed") && strcmp(want, "terminated") &&
                  strcmp(want, "incident") && strcmp(want, "none"))) {
      failf(r, "state: expected one of active, completed, terminated, incident, none (got %s)",
            json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
      ok = false;
    } else {
      const char *got = found_state(r);
      if (strcmp(want, got)) {
        failf(r, "state: expected %s, found %s", want, got);
        ok = false;
      }
    }
  }
  if (json_object_object_get_ex(exp, "active", &v)) {
    size_t nw = 0, ng = 0;
    const char **want = expect_ids(r, v, "active", &nw);
    const char **got = want ? found_active(r, &ng) : NULL;
    if (!want || !got) ok = false;
    else if (!compare_ids(r, "active", want, uniq(want, nw), got, uniq(got, ng))) ok = false;
    cf_free(want);
    cf_free(got);
  }
  if (json_object_object_get_ex(exp, "completed", &v)) {
    size_t nw = 0;
    const char **want = expect_ids(r, v, "completed", &nw);
    const char **got = want ? cf_calloc(r->ncompleted + 1, sizeof *got) : NULL;
    if (!want || !got) {
      if (want) r->oom = true;
      ok = false;
    } else {
      for (size_t i = 0; i < r->ncompleted; i++) got[i] = r->model->elements[r->completed[i]].id;
      qsort(got, r->ncompleted, sizeof *got, cmp_str);
      if (!compare_ids(r, "completed", want, nw, got, r->ncompleted)) ok = false;
    }
    cf_free(want);
    cf_free(got);
  }
  if (json_object_object_get_ex(exp, "not_reached", &v)) {
    size_t nw = 0;
    const char **want = expect_ids(r, v, "not_reached", &nw);
    if (!want) ok = false;
    for (size_t i = 0; want && i < nw; i++) {
      int32_t el = cf_bpmn_find_element(r->model, want[i]);
      if (el < 0 || r->model->elements[el].process != r->process) {
        failf(r, "not_reached: %s is no element of process %s", want[i], r->model->processes[r->process].id);
        ok = false;
      } else if (r->activated[el]) {
        size_t times = 0;
        for (size_t k = 0; k < r->ncompleted; k++) times += r->completed[k] == (uint32_t)el;
        failf(r, "not_reached: expected %s never reached, found it reached (activated; completed %zu time%s)",
              want[i], times, times == 1 ? "" : "s");
        ok = false;
      }
    }
    cf_free(want);
  }
  if (json_object_object_get_ex(exp, "incidents", &v)) {
    size_t nw = 0, ng = 0;
    const char **want = expect_ids(r, v, "incidents", &nw);
    const char **got = want ? found_incidents(r, &ng) : NULL;
    if (!want || !got) ok = false;
    else if (!compare_ids(r, "incidents", want, uniq(want, nw), got, ng)) ok = false;
    cf_free(want);
    cf_free(got);
  }
  if (json_object_object_get_ex(exp, "variables", &v) && !expect_variables(r, v)) ok = false;
  if (json_object_object_get_ex(exp, "variables_absent", &v) && !expect_variables_absent(r, v)) ok = false;
  if (json_object_object_get_ex(exp, "jobs", &v) && !expect_rows(r, v, false)) ok = false;
  if (json_object_object_get_ex(exp, "user_tasks", &v) && !expect_rows(r, v, true)) ok = false;
  return ok;
}

/* ================================================================ setup */

static bool load_models(struct run *r, struct json_object *doc) {
  struct json_object *jm;
  if (!json_object_object_get_ex(doc, "models", &jm) || !json_object_is_type(jm, json_type_array) ||
      json_object_array_length(jm) == 0) {
    failf(r, "\"models\" must be a non-empty list of BPMN files (relative to the scenario file)");
    return false;
  }
  size_t n = json_object_array_length(jm);
  r->models = cf_calloc(n, sizeof *r->models);
  r->model_names = cf_calloc(n, sizeof *r->model_names);
  if (!r->models || !r->model_names) {
    r->oom = true;
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < n; i++) {
    struct json_object *e = json_object_array_get_idx(jm, i);
    if (!json_object_is_type(e, json_type_string)) {
      failf(r, "\"models\" must list file names (strings)");
      return false;
    }
    const char *rel = json_object_get_string(e);
    struct cf_buf p;
    cf_buf_init(&p);
    if (rel[0] != '/' && r->dir[0]) cf_buf_printf(&p, "%s/", r->dir);
    cf_buf_puts(&p, rel);
    char *path = cf_buf_detach(&p);
    if (!path) {
      r->oom = true;
      return false;
    }
    r->model_names[r->nmodels] = path;
    char why[256];
    size_t len = 0;
    char *xml = cf_cli_read_file(path, CF_BPMN_MAX_BYTES + 1, &len, why, sizeof why);
    if (!xml) {
      failf(r, "model %s: cannot read it: %s", path, why);
      r->nmodels++;
      ok = false;
      continue;
    }
    struct cf_bpmn_problems probs;
    cf_bpmn_problems_init(&probs);
    struct cf_bpmn_model *m = cf_bpmn_parse(xml, len, path, &probs);
    cf_free(xml);
    if (!m) {
      failf(r, "model %s is refused (%zu problem%s)", path, probs.count, probs.count == 1 ? "" : "s");
      for (size_t k = 0; k < probs.count; k++) {
        const struct cf_bpmn_problem *pb = &probs.items[k];
        struct cf_buf b;
        cf_buf_init(&b);
        cf_buf_printf(&b, "%s:%d: ", path, pb->line);
        if (pb->element_id)
          cf_buf_printf(&b, "element %s (%s): ", pb->element_id, pb->element_type ? pb->element_type : "?");
        cf_buf_puts(&b, pb->message ? pb->message : "refused");
        failf(r, "%s", b.data);
        cf_buf_release(&b);
      }
      ok = false;
    }
    cf_bpmn_problems_release(&probs);
    r->models[r->nmodels++] = m;
  }
  return ok;
}

/*
 * Finds the scenario's process: the one named, or the only executable one
 * (versions of one process id count once). Of several versions of a
 * process id, the last model listed is the one deployed last: that one.
 */
static bool pick_process(struct run *r, struct json_object *doc) {
  struct json_object *jp;
  if (json_object_object_get_ex(doc, "process", &jp)) {
    if (!json_object_is_type(jp, json_type_string)) {
      failf(r, "\"process\" must be a process id (a string)");
      return false;
    }
    const char *id = json_object_get_string(jp);
    if (cf__memrt_find_process(&r->rt, id, &r->model, &r->process)) return true;
    failf(r, "no process \"%s\" in the models", id);
    return false;
  }
  struct cf_buf names;
  cf_buf_init(&names);
  size_t count = 0;
  const char *first = NULL;
  for (size_t i = 0; i < r->nmodels; i++)
    for (uint32_t p = 0; p < r->models[i]->nprocesses; p++) {
      const struct cf_bpmn_process *proc = &r->models[i]->processes[p];
      if (!proc->executable) continue;
      bool seen = false;
      for (size_t k = 0; k < i && !seen; k++) seen = cf_bpmn_find_process(r->models[k], proc->id) >= 0;
      if (seen) continue;
      cf_buf_printf(&names, "%s%s", count ? ", " : "", proc->id);
      if (!count++) first = proc->id;
    }
  bool ok = count == 1 && cf__memrt_find_process(&r->rt, first, &r->model, &r->process);
  if (!count) failf(r, "the models have no executable process");
  else if (count > 1) failf(r, "the models have %zu executable processes (%s): say which with \"process\"", count, names.data);
  cf_buf_release(&names);
  return ok;
}

static const char *const scenario_keys[] = {"name", "models", "process", "start", "steps", "expect", NULL};
static const char *const start_keys[] = {"variables", "at", "message", "correlation_key", NULL};

static bool check_keys(struct run *r, struct json_object *o, const char *const *keys, const char *what) {
  bool ok = true;
  json_object_object_foreach(o, key, val) {
    (void)val;
    bool known = remark_key(key);
    for (const char *const *k = keys; *k; k++)
      if (!strcmp(*k, key)) known = true;
    if (!known) {
      failf(r, "unknown key \"%s\" in %s", key, what);
      ok = false;
    }
  }
  return ok;
}

/* Whether the process has timer, message or signal start events (at process level). */
static bool has_event_starts(const struct cf_bpmn_model *m, uint32_t process) {
  const struct cf_bpmn_process *proc = &m->processes[process];
  for (uint32_t i = 0; i < proc->nelements; i++) {
    const struct cf_bpmn_element *el = &m->elements[proc->elements[i]];
    if (el->type == CF_BPMN_START_EVENT &&
        (el->event == CF_BPMN_EVENT_TIMER || el->event == CF_BPMN_EVENT_MESSAGE || el->event == CF_BPMN_EVENT_SIGNAL))
      return true;
  }
  return false;
}

/*
 * Deploys (schedules the timer start events) and starts the scenario's
 * instance: with "start.message" by publishing that message; else at the
 * none start event, unless "start" is left out and the process has timer,
 * message or signal start events: then no instance exists until a step
 * starts one (the first instance of the process becomes the scenario's).
 */
static bool start_instance(struct run *r, struct json_object *doc) {
  struct json_object *start = NULL;
  const char *message = NULL, *key = "";
  struct cf_feel_value vars;
  cf_feel_set_null(&vars);
  snprintf(r->where, sizeof r->where, "start");
  bool given = json_object_object_get_ex(doc, "start", &start);
  if (given) {
    if (!json_object_is_type(start, json_type_object)) {
      failf(r, "\"start\" must be a JSON object");
      return false;
    }
    if (!check_keys(r, start, start_keys, "start")) return false;
    const char *at = NULL;
    if (!jstr_opt(r, start, "at", &at) || !jstr_opt(r, start, "message", &message) ||
        !jkey(r, start, "correlation_key", &key))
      return false;
    if (at && !parse_instant(at, &r->rt.now_ms)) {
      failf(r, "\"at\" must be an ISO-8601 date and time with an offset, such as \"2026-01-05T09:00:00Z\" (got \"%s\")", at);
      return false;
    }
    if (!message && jhas(start, "correlation_key")) {
      failf(r, "\"correlation_key\" goes with \"message\" (a message start event)");
      return false;
    }
    if (!jvars(r, start, "variables", &vars)) return false;
  }
  const struct cf_bpmn_process *proc = &r->model->processes[r->process];
  bool events = has_event_starts(r->model, r->process);
  r->activated = cf_calloc(r->model->nelements + 1, sizeof *r->activated);
  if (!r->activated) {
    r->oom = true;
    cf_feel_value_release(&vars);
    return false;
  }
  bool ok = cf__memrt_schedule_starts(&r->rt);
  const struct cf_feel_value *v = vars.type == CF_FEEL_CONTEXT ? &vars : NULL;
  if (!ok) {
    /* the problem is reported */
  } else if (message) {
    r->rt.failed = false;
    cf__memrt_publish(&r->rt, message, key, v, 0, NULL);
    ok = !r->rt.failed;
    if (ok && r->rt.root == CF__MEMRT_NONE) {
      failf(r, "message \"%s\" started no instance of process %s (no message start event of that name%s)", message,
            proc->id, *key ? ", or one is active for that correlation key" : "");
      ok = false;
    }
  } else if (proc->none_start >= 0 && (given || !events)) {
    struct cf_error err;
    cf_error_clear(&err);
    size_t index;
    r->rt.failed = false;
    int rc = cf__memrt_start(&r->rt, r->model, r->process, -1, v, &index, &err);
    if (rc) {
      if (rc == CF_ENOMEM) r->oom = true;
      failf(r, "the engine could not start process %s: %s", proc->id, err.msg[0] ? err.msg : cf_strerror(rc));
    }
    ok = !rc && !r->rt.failed;
  } else if (!events) {
    failf(r, "process %s has no none start event", proc->id);
    ok = false;
  } else if (v) {
    failf(r, "process %s has no none start event to start with \"variables\" (its start events wait for a timer, "
             "a message or a signal)", proc->id);
    ok = false;
  } else {
    /* No instance yet: timers due now (a date in the past) fire. */
    r->rt.failed = false;
    cf__memrt_advance(&r->rt, r->rt.now_ms);
    ok = !r->rt.failed;
  }
  cf_feel_value_release(&vars);
  return ok;
}

static void run_doc(struct run *r, struct json_object *doc) {
  if (!json_object_is_type(doc, json_type_object)) {
    failf(r, "a scenario must be a JSON object");
    return;
  }
  if (!check_keys(r, doc, scenario_keys, "the scenario")) return;
  struct json_object *steps = NULL, *exp = NULL;
  if (json_object_object_get_ex(doc, "steps", &steps) && !json_object_is_type(steps, json_type_array)) {
    failf(r, "\"steps\" must be a list");
    return;
  }
  if (!load_models(r, doc)) return;
  cf__memrt_init(&r->rt, r->models, r->nmodels, DEFAULT_START_MS, FIRST_KEY);
  r->rt.on_output = take_events;
  r->rt.on_problem = take_problem;
  r->rt.arg = r;
  if (!pick_process(r, doc)) return;
  r->rt.root_process = r->model->processes[r->process].id;
  if (!start_instance(r, doc) || r->oom || r->rt.oom) return;
  size_t n = steps ? json_object_array_length(steps) : 0;
  for (size_t i = 0; i < n; i++) {
    if (!run_step(r, i + 1, json_object_array_get_idx(steps, i))) return;
    if (r->rt.oom) r->oom = true;
    if (r->oom) return;
  }
  if (json_object_object_get_ex(doc, "expect", &exp)) {
    snprintf(r->where, sizeof r->where, "expect");
    check_expect(r, exp);
  }
}

/* ================================================================ entry */

static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return cf_strdup("");
  if (slash == path) return cf_strdup("/");
  return cf_strndup(path, (size_t)(slash - path));
}

static char *default_name(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t len = strlen(base);
  static const char suffix[] = ".scenario.json";
  if (len > sizeof suffix - 1 && !strcmp(base + len - (sizeof suffix - 1), suffix)) len -= sizeof suffix - 1;
  return cf_strndup(base, len);
}

int cf__scenario_run(const char *path, struct cf__scenario_result *res) {
  struct run r;
  memset(&r, 0, sizeof r);
  r.res = res;
  r.path = path;
  r.rt.root = CF__MEMRT_NONE;
  res->file = cf_strdup(path);
  r.dir = dir_of(path);
  struct json_object *doc = NULL;
  if (!res->file || !r.dir) {
    r.oom = true;
    goto out;
  }
  char why[256];
  size_t len = 0;
  char *text = cf_cli_read_file(path, SCENARIO_MAX_BYTES, &len, why, sizeof why);
  if (!text) {
    failf(&r, "cannot read %s: %s", path, why);
    goto out;
  }
  struct cf_error err;
  cf_error_clear(&err);
  doc = cf_json_parse(text, len, &err);
  cf_free(text);
  if (!doc) {
    if (err.code) failf(&r, "%s is not valid JSON: %s", path, err.msg);
    else failf(&r, "%s holds JSON null, not a scenario object", path);
    goto out;
  }
  const char *name = json_object_is_type(doc, json_type_object) ? jstr(doc, "name") : NULL;
  if (name && !(res->name = cf_strdup(name))) r.oom = true;
  run_doc(&r, doc);

out:
  if (!res->name) res->name = default_name(path);
  if (r.oom || !res->name) {
    r.where[0] = 0;
    failf(&r, "out of memory");
  }
  res->passed = res->nfailures == 0 && !r.oom;
  json_object_put(doc);
  cf__memrt_release(&r.rt);
  for (size_t i = 0; i < r.nmodels; i++) {
    cf_bpmn_model_free(r.models ? r.models[i] : NULL);
    cf_free(r.model_names ? r.model_names[i] : NULL);
  }
  cf_free(r.models);
  cf_free(r.model_names);
  cf_free(r.activated);
  cf_free(r.completed);
  cf_free(r.dir);
  return r.oom || !res->name || !res->file ? CF_ENOMEM : CF_OK;
}

void cf__scenario_result_release(struct cf__scenario_result *res) {
  if (!res) return;
  cf_free(res->name);
  cf_free(res->file);
  for (size_t i = 0; i < res->nfailures; i++) cf_free(res->failures[i]);
  cf_free(res->failures);
  memset(res, 0, sizeof *res);
}
