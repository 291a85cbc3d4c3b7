/*
 * The built-in job workers: crm.create-record, crm.update-record,
 * crm.get-record, crm.assign, email.send and http.request, run by a few
 * threads inside the process that owns the writer (`crmflow serve`, or
 * `crmflow worker` beside it).
 *
 * Each thread loops: one writer operation activates jobs of every built-in
 * type (worker "crmflow-builtin"), then the jobs are handled and answered
 * through the writer; with none, it waits for the writer's batch hook
 * (cf_crm_workers_notify) or WAIT_MS. The hook fires after every batch,
 * including the workers' own activations: waking for those would spin (an
 * empty activation is a batch, which wakes them again), so the hook wakes
 * the threads only when the batch held operations other than activations
 * of the workers' own (counted), or when it comes from housekeeping that
 * fired timers.
 *
 * crm.* jobs are done in the writer, in ONE operation with their
 * completion: the record change and the job's completion commit together or
 * not at all, so a record is written exactly once per job even across a
 * crash. email.send and http.request do their I/O on the worker thread and
 * answer afterwards; a crash between the two sends again on retry (the
 * Message-ID and the Idempotency-Key let the receiver tell).
 *
 * Inputs: the job's variables (input mappings create local variables, so
 * they are there) win over the task headers (strings; JSON text starting
 * with '{' or '[' is parsed for object inputs).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/cf_alloc.h"
#include "base/cf_json.h"
#include "crm/cf_crm.h"
#include "crm/crm_workers_int.h"

#define WORKER "crmflow-builtin"
#define WAIT_MS 500
#define CRM_LEASE_MS 60000
#define CRM_MAX 32
#define NET_MAX 8
#define BACKOFF_MAX_MS 300000

enum jtype { J_CREATE, J_UPDATE, J_GET, J_ASSIGN, J_EMAIL, J_HTTP, J__COUNT };

static const char *const type_names[J__COUNT] = {"crm.create-record", "crm.update-record", "crm.get-record",
                                                 "crm.assign",        "email.send",        "http.request"};

static bool is_net(enum jtype t) { return t == J_EMAIL || t == J_HTTP; }

struct cf_crm_workers {
  struct cf_runtime_writer *writer;
  struct cf_crm *crm;
  void (*log)(void *arg, const char *line);
  void *log_arg;
  char *smtp_url, *smtp_from, *allow_hosts;
  char hostname[256];
  struct cf__crm_cfg cfg;

  pthread_t *threads;
  unsigned nthreads;

  pthread_mutex_t mu;
  pthread_cond_t cv; /* CLOCK_MONOTONIC */
  uint64_t gen;      /* bumped by a notify that may mean new jobs */
  bool stopping;
  /* What the last notify saw: the writer's batches and operations, and how many of those were the
   * workers' own activations. */
  uint64_t seen_batches, seen_ops, seen_own;
  uint64_t own_ops;  /* activations run (atomic) */
};

/* ------------------------------------------------------------ outcomes and inputs */

void cf__crm_outcome_release(struct cf__crm_outcome *o) { cf_feel_value_release(&o->vars); }

void cf__crm_fail_permanent(struct cf__crm_outcome *o, const char *fmt, ...) {
  cf_feel_value_release(&o->vars);
  o->kind = CF__CRM_FAIL;
  o->retries = 0;
  o->backoff_ms = 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(o->msg, sizeof o->msg, fmt, ap);
  va_end(ap);
}

int64_t cf__crm_backoff_ms(int32_t retries) {
  /* Zeebe's default is 3 retries: the attempts after the first wait 1, 2, 4 s... */
  int attempt = 3 - retries;
  if (attempt < 0) attempt = 0;
  if (attempt > 20) return BACKOFF_MAX_MS;
  int64_t ms = 1000LL << attempt;
  return ms > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms;
}

void cf__crm_fail_retry(struct cf__crm_outcome *o, const struct cf__crm_job *j, int64_t backoff_ms,
                        const char *fmt, ...) {
  cf_feel_value_release(&o->vars);
  o->kind = CF__CRM_FAIL;
  int32_t r = j->rj->job.retries;
  o->retries = r > 0 ? r - 1 : 0;
  o->backoff_ms = backoff_ms >= 0 ? backoff_ms : cf__crm_backoff_ms(r);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(o->msg, sizeof o->msg, fmt, ap);
  va_end(ap);
}

struct json_object *cf__crm_input(struct cf__crm_job *j, const char *name, bool parse_json) {
  struct json_object *v = NULL;
  if (j->vars && json_object_object_get_ex(j->vars, name, &v) && v) return v;
  if (!j->headers || !json_object_object_get_ex(j->headers, name, &v) || !v) return NULL;
  if (parse_json && json_object_is_type(v, json_type_string)) {
    const char *s = json_object_get_string(v);
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    if (*s == '{' || *s == '[') {
      struct cf_error e;
      cf_error_clear(&e);
      struct json_object *p = cf_json_parse(s, strlen(s), &e);
      if (p) {
        /* Kept in place of the text: later calls get the parsed value. */
        json_object_object_add(j->headers, name, p);
        return p;
      }
    }
  }
  return v;
}

const char *cf__crm_input_str(struct cf__crm_job *j, const char *name) {
  struct json_object *v = cf__crm_input(j, name, false);
  return v ? json_object_get_string(v) : NULL;
}

static void logf_(struct cf_crm_workers *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct cf_crm_workers *w, const char *fmt, ...) {
  if (!w->log) return;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  w->log(w->log_arg, line);
}

static bool stopping(struct cf_crm_workers *w) { return __atomic_load_n(&w->stopping, __ATOMIC_ACQUIRE); }

/* ------------------------------------------------------------ answers through the writer */

struct answer_op {
  const struct cf_runtime_job *rj;
  const struct cf__crm_outcome *o;
};

/* Who the workers' changes are by, in the instances' history. */
#define ACTOR "worker:" WORKER

static int answer_fn(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct answer_op *a = arg;
  if (cf_runtime_set_actor(rt, ACTOR)) return cf_error_set(err, CF_ENOMEM, "out of memory");
  if (a->o->kind == CF__CRM_COMPLETE)
    return cf_runtime_job_complete(rt, a->rj->job.key, WORKER, a->o->vars.type == CF_FEEL_NULL ? NULL : &a->o->vars,
                                   err);
  return cf_runtime_job_fail(rt, a->rj->job.key, WORKER, a->o->retries, a->o->msg, a->o->backoff_ms, NULL, err);
}

/* Hands the outcome to the writer and logs it (the job key, type and result; never a value). */
static void answer(struct cf_crm_workers *w, const struct cf_runtime_job *rj, const struct cf__crm_outcome *o) {
  struct answer_op a = {.rj = rj, .o = o};
  struct cf_error err;
  cf_error_clear(&err);
  int rc = cf_runtime_writer_submit(w->writer, answer_fn, &a, &err);
  unsigned long long key = (unsigned long long)rj->job.key;
  if (rc)
    logf_(w, "job %llu (%s): the answer was refused (%s); the job is taken again when its lease ends", key,
          rj->job.type, cf_err_name(rc));
  else if (o->kind == CF__CRM_COMPLETE)
    logf_(w, "job %llu (%s) completed", key, rj->job.type);
  else if (o->retries == 0)
    logf_(w, "job %llu (%s) failed: no retries left, an incident is open", key, rj->job.type);
  else
    logf_(w, "job %llu (%s) failed: %d retries left, next in %lld ms", key, rj->job.type, (int)o->retries,
          (long long)o->backoff_ms);
}

/* A leased job not started: back to the pool at once, its retries unchanged. */
static void hand_back(struct cf_crm_workers *w, const struct cf_runtime_job *rj, const char *why) {
  struct cf__crm_outcome o = {.kind = CF__CRM_FAIL, .retries = rj->job.retries, .backoff_ms = 0};
  snprintf(o.msg, sizeof o.msg, "handed back unstarted: %s", why);
  answer(w, rj, &o);
}

/* ------------------------------------------------------------ crm.* (in the writer) */

enum { STEP_NONE, STEP_CRM, STEP_COMPLETE };

struct crm_op {
  struct cf_crm_workers *w;
  const struct cf_runtime_job *rj;
  enum jtype kind;
  const char *type;
  uint64_t key;
  struct json_object *fields;
  const char *group;
  bool least_busy;
  int step;
  char *assignee; /* crm.assign: the choice (for nothing but the log) */
};

static int put_string(struct cf_feel_value *ctx, const char *name, const char *s) {
  struct cf_feel_value v;
  cf_feel_set_null(&v);
  int rc = cf_feel_set_string(&v, s, strlen(s));
  if (!rc) rc = cf_feel_ctx_put(ctx, name, strlen(name), &v);
  return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* True when the JSON array text holds the string s. */
static bool json_array_has(const char *text, const char *s) {
  if (!text) return false;
  struct cf_error e;
  struct json_object *a = cf_json_parse(text, strlen(text), &e);
  bool has = false;
  if (a && json_object_is_type(a, json_type_array))
    for (size_t i = 0; i < json_object_array_length(a) && !has; i++) {
      struct json_object *x = json_object_array_get_idx(a, i);
      has = json_object_is_type(x, json_type_string) && !strcmp(json_object_get_string(x), s);
    }
  json_object_put(a);
  return has;
}

/*
 * The group's user to assign: round-robin after the last one chosen (kept
 * by name in the crm state "assign.rr.GROUP", so users added or removed do
 * not upset the order), or the one with the fewest open user tasks
 * assigned (ties: the first by name). *out: a new string.
 */
static int assign_pick(struct cf_runtime *rt, const char *group, bool least_busy, char **out, struct cf_error *err) {
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  struct cf_store_user *users = NULL;
  size_t nusers = 0, n = 0;
  char **names = NULL, *state = NULL, *stname = NULL;
  int rc = ops->user_list(st, &users, &nusers, err);
  if (rc) goto out;
  names = cf_calloc(nusers ? nusers : 1, sizeof *names);
  if (!names) {
    rc = cf_error_set(err, CF_ENOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < nusers; i++)
    if (json_array_has(users[i].groups, group)) names[n++] = users[i].name;
  if (!n) {
    rc = cf_error_set(err, CF_ENOTFOUND, "the group '%s' has no users", group);
    goto out;
  }
  qsort(names, n, sizeof *names, cmp_str);
  const char *pick = names[0];
  if (least_busy) {
    uint64_t best = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
      struct cf_store_qvalue v0 = {.num = 0}, vu = {.is_text = true, .text = names[i]};
      struct cf_store_qcond conds[] = {{.field = "state", .op = CF_STORE_EQ, .values = &v0, .nvalues = 1},
                                       {.field = "assignee", .op = CF_STORE_EQ, .values = &vu, .nvalues = 1}};
      struct cf_store_query q = {.entity = CF_STORE_USER_TASKS, .conds = conds, .nconds = 2, .limit = 0};
      struct cf_store_result res;
      memset(&res, 0, sizeof res);
      if ((rc = ops->search(st, &q, &res, err))) goto out;
      uint64_t total = res.total;
      cf_store_result_release(&res);
      if (total < best) {
        best = total;
        pick = names[i];
      }
    }
  } else {
    size_t len = strlen(group) + 16;
    if (!(stname = cf_malloc(len))) {
      rc = cf_error_set(err, CF_ENOMEM, "out of memory");
      goto out;
    }
    snprintf(stname, len, "assign.rr.%s", group);
    if ((rc = ops->crm_state_get(st, stname, &state, err))) goto out;
    if (state)
      for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], state) > 0) {
          pick = names[i];
          break;
        }
    if ((rc = ops->crm_state_put(st, stname, pick, err))) goto out;
  }
  if (!(*out = cf_strdup(pick))) rc = cf_error_set(err, CF_ENOMEM, "out of memory");
out:
  for (size_t i = 0; i < nusers; i++) cf_store_user_release(&users[i]);
  cf_free(users);
  cf_free(names);
  cf_free(state);
  cf_free(stname);
  return rc;
}

static int crm_fn(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct crm_op *c = arg;
  if (cf_runtime_set_actor(rt, ACTOR)) return cf_error_set(err, CF_ENOMEM, "out of memory");
  c->step = STEP_CRM;
  cf_free(c->assignee); /* a retry of the operation after a conflict picks again */
  c->assignee = NULL;
  char actor[48];
  snprintf(actor, sizeof actor, "job:%llu", (unsigned long long)c->rj->job.key);
  struct cf_crm_origin origin = {.actor = actor, .instance_key = c->rj->job.instance_key,
                                 .process_id = c->rj->process_id};
  struct cf_feel_value vars;
  cf_feel_set_null(&vars);
  struct cf_store_record rec;
  memset(&rec, 0, sizeof rec);
  struct json_object *rj = NULL;
  struct cf_buf b;
  cf_buf_init(&b);
  int rc = CF_OK;
  switch (c->kind) {
  case J_CREATE:
    if ((rc = cf_crm_create(c->w->crm, rt, c->type, c->fields, &origin, &rec, err))) goto out;
    char key[24];
    snprintf(key, sizeof key, "%llu", (unsigned long long)rec.key);
    if ((rc = cf_feel_ctx_new(&vars, 1)) || (rc = put_string(&vars, "recordKey", key))) goto oom;
    break;
  case J_UPDATE:
    if ((rc = cf_crm_update(c->w->crm, rt, c->type, c->key, c->fields, 0, &origin, NULL, err))) goto out;
    break;
  case J_GET: {
    const struct cf_store_ops *ops;
    struct cf_store *st;
    cf_runtime_store(rt, &ops, &st);
    rc = ops->record_get(st, c->type, c->key, &rec, err);
    if (rc == CF_ENOTFOUND)
      rc = cf_error_set(err, CF_ENOTFOUND, "no %s record %llu", c->type, (unsigned long long)c->key);
    if (rc) goto out;
    cf_crm_record_json(&rec, &b);
    struct cf_error pe;
    if (b.oom || !(rj = cf_json_parse(b.data, b.len, &pe))) goto oom;
    struct cf_feel_value r;
    cf_feel_set_null(&r);
    if ((rc = cf_feel_ctx_new(&vars, 1)) || (rc = cf_feel_from_json(rj, &r)) ||
        (rc = cf_feel_ctx_put(&vars, "record", 6, &r)))
      goto oom;
    break;
  }
  case J_ASSIGN:
    if ((rc = assign_pick(rt, c->group, c->least_busy, &c->assignee, err))) goto out;
    if ((rc = cf_feel_ctx_new(&vars, 1)) || (rc = put_string(&vars, "assignee", c->assignee))) goto oom;
    break;
  default:
    rc = cf_error_set(err, CF_EINTERNAL, "not a crm job");
    goto out;
  }
  c->step = STEP_COMPLETE;
  rc = cf_runtime_job_complete(rt, c->rj->job.key, WORKER, vars.type == CF_FEEL_NULL ? NULL : &vars, err);
  goto out;
oom:
  rc = cf_error_set(err, CF_ENOMEM, "out of memory");
out:
  cf_feel_value_release(&vars);
  if (rec.type || rec.fields) cf_store_record_release(&rec);
  json_object_put(rj);
  cf_buf_release(&b);
  return rc;
}

/* A code the crm part returns for a job that would fail the same way again. */
static bool permanent(int code) {
  return code == CF_EINVAL || code == CF_ENOTFOUND || code == CF_ECONFLICT || code == CF_ETYPE ||
         code == CF_ERANGE || code == CF_ELIMIT || code == CF_EUNSUPPORTED || code == CF_ESYNTAX;
}

/* A record key input: a digit string or a whole number. 0 when neither. */
static uint64_t key_input(struct cf__crm_job *j) {
  struct json_object *v = cf__crm_input(j, "recordKey", false);
  if (!v) return 0;
  const char *s = json_object_get_string(v);
  if (!s || *s < '0' || *s > '9') return 0;
  char *end;
  errno = 0;
  unsigned long long k = strtoull(s, &end, 10);
  return errno || *end ? 0 : (uint64_t)k;
}

static void crm_job(struct cf_crm_workers *w, struct cf__crm_job *j, enum jtype kind) {
  const char *name = type_names[kind];
  struct cf__crm_outcome o = {.kind = CF__CRM_FAIL};
  struct crm_op c = {.w = w, .rj = j->rj, .kind = kind};
  if (kind != J_ASSIGN) {
    c.type = cf__crm_input_str(j, "recordType");
    if (!c.type || !*c.type) {
      cf__crm_fail_permanent(&o, "%s: the input 'recordType' is missing", name);
      goto fail;
    }
  }
  if (kind == J_UPDATE || kind == J_GET) {
    if (!(c.key = key_input(j))) {
      cf__crm_fail_permanent(&o, "%s: the input 'recordKey' is missing or not a record key", name);
      goto fail;
    }
  }
  if (kind == J_CREATE || kind == J_UPDATE) {
    c.fields = cf__crm_input(j, "fields", true);
    if (!c.fields || !json_object_is_type(c.fields, json_type_object)) {
      cf__crm_fail_permanent(&o, "%s: the input 'fields' must be an object of field names and values", name);
      goto fail;
    }
  }
  if (kind == J_ASSIGN) {
    c.group = cf__crm_input_str(j, "group");
    const char *strategy = cf__crm_input_str(j, "strategy");
    if (!c.group || !*c.group) {
      cf__crm_fail_permanent(&o, "%s: the input 'group' is missing", name);
      goto fail;
    }
    if (strategy && strcmp(strategy, "round-robin") && strcmp(strategy, "least-busy")) {
      cf__crm_fail_permanent(&o, "%s: strategy must be round-robin or least-busy, not '%.40s'", name, strategy);
      goto fail;
    }
    c.least_busy = strategy && !strcmp(strategy, "least-busy");
  }
  struct cf_error err;
  cf_error_clear(&err);
  int rc = cf_runtime_writer_submit(w->writer, crm_fn, &c, &err);
  unsigned long long key = (unsigned long long)j->rj->job.key;
  if (!rc) {
    logf_(w, "job %llu (%s) completed", key, name);
    goto out;
  }
  if (c.step == STEP_NONE) {
    /* Not run: the writer is stopping or overloaded. The lease ends and the job is taken again. */
    logf_(w, "job %llu (%s): the writer refused it (%s)", key, name, cf_err_name(rc));
    goto out;
  }
  if (c.step == STEP_COMPLETE && (rc == CF_ECONFLICT || rc == CF_ENOTFOUND)) {
    /* The lease was lost (another worker has the job) or the job is gone: undone, nothing to answer. */
    logf_(w, "job %llu (%s): not completed, the lease was lost (%s)", key, name, cf_err_name(rc));
    goto out;
  }
  if (c.step == STEP_CRM && permanent(rc)) cf__crm_fail_permanent(&o, "%s: %s", name, err.msg);
  else cf__crm_fail_retry(&o, j, -1, "%s: %s", name, err.msg[0] ? err.msg : cf_strerror(rc));
fail:
  answer(w, j->rj, &o);
out:
  cf_free(c.assignee);
  cf__crm_outcome_release(&o);
}

/* ------------------------------------------------------------ the loop */

struct act_op {
  struct cf_crm_workers *w;
  struct cf_runtime_job *jobs[J__COUNT];
  size_t n[J__COUNT];
  int64_t now_ms;
  bool counted;
};

static void act_release(struct act_op *a) {
  for (int t = 0; t < J__COUNT; t++) {
    cf_runtime_jobs_release(a->jobs[t], a->n[t]);
    a->jobs[t] = NULL;
    a->n[t] = 0;
  }
}

static int act_fn(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct act_op *a = arg;
  if (cf_runtime_set_actor(rt, ACTOR)) return cf_error_set(err, CF_ENOMEM, "out of memory");
  if (!a->counted) {
    __atomic_fetch_add(&a->w->own_ops, 1, __ATOMIC_RELAXED);
    a->counted = true;
  }
  act_release(a); /* a retry after a conflict: the first attempt was undone */
  a->now_ms = cf_runtime_now(rt);
  for (int t = 0; t < J__COUNT; t++) {
    if (!is_net((enum jtype)t) && !a->w->crm) continue;
    int rc = cf_runtime_jobs_activate(rt, type_names[t], is_net((enum jtype)t) ? NET_MAX : CRM_MAX, WORKER,
                                      is_net((enum jtype)t) ? CF__CRM_NET_LEASE_MS : CRM_LEASE_MS, &a->jobs[t],
                                      &a->n[t], err);
    if (rc) return rc;
  }
  return CF_OK;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void handle(struct cf_crm_workers *w, const struct cf_runtime_job *rj, enum jtype t, int64_t now_ms) {
  struct cf__crm_job j = {.rj = rj, .cfg = &w->cfg};
  struct cf_error e;
  j.env.now_secs = now_ms / 1000;
  j.env.now_nanos = (int32_t)(now_ms % 1000) * 1000000;
  if (rj->variables) j.vars = cf_json_parse(rj->variables, strlen(rj->variables), &e);
  if (j.vars && !json_object_is_type(j.vars, json_type_object)) {
    json_object_put(j.vars);
    j.vars = NULL;
  }
  if (!j.vars) j.vars = json_object_new_object();
  if (rj->job.headers) j.headers = cf_json_parse(rj->job.headers, strlen(rj->job.headers), &e);
  if (j.headers && !json_object_is_type(j.headers, json_type_object)) {
    json_object_put(j.headers);
    j.headers = NULL;
  }
  if (!j.vars) {
    struct cf__crm_outcome o = {0};
    cf__crm_fail_retry(&o, &j, -1, "%s: out of memory", type_names[t]);
    answer(w, rj, &o);
  } else if (is_net(t)) {
    struct cf__crm_outcome o = {.kind = CF__CRM_FAIL};
    cf_feel_set_null(&o.vars);
    if (t == J_EMAIL) cf__crm_email_job(&j, &o);
    else cf__crm_http_job(&j, &o);
    answer(w, rj, &o);
    cf__crm_outcome_release(&o);
  } else {
    crm_job(w, &j, t);
  }
  json_object_put(j.vars);
  json_object_put(j.headers);
}

/* Activates and handles one round; false when no job was found. */
static bool round_once(struct cf_crm_workers *w) {
  struct act_op a = {.w = w};
  struct cf_error err;
  cf_error_clear(&err);
  int64_t t0 = mono_ms();
  if (cf_runtime_writer_submit(w->writer, act_fn, &a, &err)) {
    /* Not durable: the leases are not held. */
    act_release(&a);
    return false;
  }
  size_t total = 0;
  for (int t = 0; t < J__COUNT; t++) total += a.n[t];
  if (!total) return false;
  /* crm.* first: quick, and in the writer. */
  for (int t = 0; t < J__COUNT; t++) {
    for (size_t i = 0; i < a.n[t]; i++) {
      const struct cf_runtime_job *rj = &a.jobs[t][i];
      if (is_net((enum jtype)t)) {
        if (stopping(w)) {
          hand_back(w, rj, "the worker is stopping");
          continue;
        }
        /* The call must end within the lease: past this, the remaining jobs are left to others. */
        if (mono_ms() - t0 > CF__CRM_NET_LEASE_MS - CF__CRM_HTTP_TIMEOUT_MAX_MS - 5000) {
          hand_back(w, rj, "its lease would have ended before the call");
          continue;
        }
      }
      handle(w, rj, (enum jtype)t, a.now_ms);
    }
  }
  act_release(&a);
  return true;
}

static void *worker_main(void *arg) {
  struct cf_crm_workers *w = arg;
  for (;;) {
    pthread_mutex_lock(&w->mu);
    bool stop = w->stopping;
    uint64_t gen = w->gen;
    pthread_mutex_unlock(&w->mu);
    if (stop) break;
    if (round_once(w)) continue;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += (long)WAIT_MS * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&w->mu);
    while (!w->stopping && w->gen == gen)
      if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT) break;
    pthread_mutex_unlock(&w->mu);
  }
  return NULL;
}

/* ------------------------------------------------------------ lifecycle */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static void workers_free(struct cf_crm_workers *w) {
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  cf_free(w->threads);
  cf_free(w->smtp_url);
  cf_free(w->smtp_from);
  cf_free(w->allow_hosts);
  cf_free(w);
}

int cf_crm_workers_start(const struct cf_crm_workers_opts *o, struct cf_crm_workers **out, struct cf_error *err) {
  *out = NULL;
  if (!o || !o->writer) return cf_error_set(err, CF_EINVAL, "the workers need a writer");
  pthread_once(&curl_once, curl_init);
  struct cf_crm_workers *w = cf_calloc(1, sizeof *w);
  if (!w) return cf_error_set(err, CF_ENOMEM, "out of memory");
  w->writer = o->writer;
  w->crm = o->crm;
  w->log = o->log;
  w->log_arg = o->log_arg;
  w->nthreads = o->threads ? o->threads : 2;
  pthread_mutex_init(&w->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cv, &ca);
  pthread_condattr_destroy(&ca);
  if ((o->smtp_url && !(w->smtp_url = cf_strdup(o->smtp_url))) ||
      !(w->smtp_from = cf_strdup(o->smtp_from ? o->smtp_from : "crmflow@localhost")) ||
      (o->allow_hosts && !(w->allow_hosts = cf_strdup(o->allow_hosts))) ||
      !(w->threads = cf_calloc(w->nthreads, sizeof *w->threads))) {
    workers_free(w);
    return cf_error_set(err, CF_ENOMEM, "out of memory");
  }
  if (gethostname(w->hostname, sizeof w->hostname - 1) || !w->hostname[0]) strcpy(w->hostname, "localhost");
  w->cfg = (struct cf__crm_cfg){.smtp_url = w->smtp_url, .smtp_from = w->smtp_from,
                                .allow_hosts = w->allow_hosts, .hostname = w->hostname};
  struct cf_runtime_writer_stats s;
  cf_runtime_writer_stats(w->writer, &s);
  w->seen_batches = s.batches;
  w->seen_ops = s.ops;
  for (unsigned i = 0; i < w->nthreads; i++) {
    if (pthread_create(&w->threads[i], NULL, worker_main, w)) {
      w->nthreads = i;
      cf_crm_workers_stop(w);
      return cf_error_set(err, CF_EIO, "cannot start the worker threads");
    }
  }
  *out = w;
  return CF_OK;
}

void cf_crm_workers_notify(struct cf_crm_workers *w) {
  if (!w) return;
  struct cf_runtime_writer_stats s;
  cf_runtime_writer_stats(w->writer, &s);
  uint64_t own = __atomic_load_n(&w->own_ops, __ATOMIC_RELAXED);
  pthread_mutex_lock(&w->mu);
  /* No new batch: housekeeping fired timers (or a caller who knows). Else: a batch with operations
   * other than the workers' activations (a start, a completion...) may have made jobs. */
  bool wake = s.batches == w->seen_batches || s.ops - w->seen_ops > own - w->seen_own;
  w->seen_batches = s.batches;
  w->seen_ops = s.ops;
  w->seen_own = own;
  if (wake) {
    w->gen++;
    pthread_cond_broadcast(&w->cv);
  }
  pthread_mutex_unlock(&w->mu);
}

static int barrier_fn(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  (void)rt;
  (void)arg;
  (void)err;
  return CF_OK;
}

void cf_crm_workers_stop(struct cf_crm_workers *w) {
  if (!w) return;
  pthread_mutex_lock(&w->mu);
  __atomic_store_n(&w->stopping, true, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
  for (unsigned i = 0; i < w->nthreads; i++) pthread_join(w->threads[i], NULL);
  /* A batch hook that loaded this pointer before the caller withdrew it may still be in notify: the
   * hook runs on the writer's thread between batches, so once one more batch went through, it is out.
   * A writer that stopped refuses at once (and runs no hook). Overloaded: try again a little. */
  for (int i = 0; i < 200; i++) {
    struct cf_error err;
    cf_error_clear(&err);
    int rc = cf_runtime_writer_submit(w->writer, barrier_fn, NULL, &err);
    if (rc != CF_EUNAVAILABLE || !strstr(err.msg, "overload")) break;
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
  workers_free(w);
}
