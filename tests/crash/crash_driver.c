/*
 * The driver of the kill-and-restart test (tests/crash/run.sh): "nothing
 * lost". Three subcommands, each safe to SIGKILL at any moment and to run
 * again:
 *
 *   crash_driver load DB MODEL N     deploys MODEL and starts instances c-0..c-(N-1)
 *                                     (only those missing: a rerun after a kill completes the set)
 *   crash_driver work DB WORKER [TYPE...]
 *                                     a worker: completes every job (of the types its models name,
 *                                     plus TYPE...), every user task, and publishes the messages the
 *                                     instances wait for; exits 0 when no instance is active
 *   crash_driver check DB N           verifies the end state, prints a summary; exit 1 on a problem
 *
 * Nothing in it knows the model of tests/crash/crash.bpmn: job types,
 * message names and correlation keys come from the deployed models, and the
 * expected end of each instance from an oracle, the engine run in memory on
 * the same model and start variables, driven the way the workers drive the
 * real run (every job completed with {"<element>_by": WORKER, "<element>_job":
 * "<job key>"}, every user task with {"approved": true, "<element>_task":
 * "<task key>"}, every message with {"<name>_key": "<correlation key>"},
 * timers fired when nothing else can move). What it needs of a model: an
 * executable process with a none start event whose end state does not
 * depend on timing (no timer racing a job), and no call activities or
 * signals (the oracle cannot drive them; check says so).
 *
 * Acknowledged work is logged: a worker appends each job (task) key it
 * completed to DB.jobs.log (DB.tasks.log) with one write(2) after the
 * completion committed. A key there twice means two workers were both told
 * they completed it; a key there that the history has not completed means a
 * commit was acknowledged and then lost. A job handed variables without the
 * start variables (an old copy of the instance answered) goes to
 * DB.problems.log. check reports all three.
 *
 * The oracle completes the k-th job (task) of an element with the key and
 * worker of the real run's k-th completion of it (from the history), so the
 * two runs' variables must be equal, every one; their histories must hold
 * the same events per element (JOB_ACTIVATED, JOB_FAILED and VARIABLE_SET
 * aside, which the workers' retries and failures add).
 *
 * To make the runs differ, a worker fails some jobs once or more before it
 * completes them (key % 5 == 0 while retries >= 3), and publishes a
 * message early (before the subscription opens: the buffer) for instances
 * with an even key and late (when the subscription is open) for the others.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_json.h"
#include "bpmn/cf_bpmn.h"
#include "engine/cf_engine.h"
#include "feel/cf_feel.h"
#include "runtime/cf_runtime.h"
#include "store/cf_store.h"

#define JOB_TIMEOUT_MS 4000
#define JOBS_PER_ACTIVATION 50
#define STARTS_PER_BATCH 100
#define MESSAGE_TTL_MS (10 * 60 * 1000)
#define MESSAGE_PASS_MS 300

static const char *g_db = "?";

/* ================================================================ small things */

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "crash_driver: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* A failure the driver cannot go on after (the database is unusable): says so, naming it, and exits 1. */
static void fatal(const char *what, const struct cf_error *err) __attribute__((noreturn));
static void fatal(const char *what, const struct cf_error *err) {
  say("%s: %s: %s", g_db, what, err && err->msg[0] ? err->msg : "failed");
  exit(1);
}

/* Whether an error is one a worker lives with: a lock held too long, a lease taken over, a key gone. */
static bool transient(int rc) { return rc == CF_ECONFLICT || rc == CF_ENOTFOUND || rc == CF_EUNAVAILABLE; }

static void check_fatal(int rc, const char *what, const struct cf_error *err) {
  if (rc && !transient(rc) && rc != CF_EINVAL) fatal(what, err);
}

/* A FEEL context from JSON text (an object), or null. */
static int vars_from_json(const char *json, struct cf_feel_value *v) {
  cf_feel_set_null(v);
  if (!json) return CF_OK;
  struct cf_error err;
  cf_error_clear(&err);
  struct json_object *j = cf_json_parse(json, strlen(json), &err);
  if (!j) return err.code ? err.code : CF_OK;
  int rc = cf_feel_from_json(j, v);
  json_object_put(j);
  return rc;
}

/* The start variables of instance i (what `check` expects them to have been). */
static void start_vars_json(long i, char *buf, size_t len) {
  snprintf(buf, len, "{\"n\": %ld, \"path\": \"%s\", \"bk\": \"c-%ld\"}", i, i % 2 == 0 ? "a" : "b", i);
}

/* The variables a job completion, a task completion and a message carry. */
static void job_vars_json(struct cf_buf *b, const char *element_id, const char *worker, uint64_t key) {
  cf_buf_reset(b);
  cf_buf_putc(b, '{');
  char name[300];
  snprintf(name, sizeof name, "%s_by", element_id);
  cf_buf_json_string(b, name, strlen(name));
  cf_buf_putc(b, ':');
  cf_buf_json_string(b, worker, strlen(worker));
  snprintf(name, sizeof name, "%s_job", element_id);
  cf_buf_putc(b, ',');
  cf_buf_json_string(b, name, strlen(name));
  cf_buf_printf(b, ":\"%llu\"}", (unsigned long long)key);
}

static void task_vars_json(struct cf_buf *b, const char *element_id, uint64_t key) {
  cf_buf_reset(b);
  cf_buf_puts(b, "{\"approved\": true, ");
  char name[300];
  snprintf(name, sizeof name, "%s_task", element_id);
  cf_buf_json_string(b, name, strlen(name));
  cf_buf_printf(b, ":\"%llu\"}", (unsigned long long)key);
}

static void message_vars_json(struct cf_buf *b, const char *name, const char *key) {
  cf_buf_reset(b);
  cf_buf_putc(b, '{');
  char var[300];
  snprintf(var, sizeof var, "%s_key", name);
  cf_buf_json_string(b, var, strlen(var));
  cf_buf_putc(b, ':');
  cf_buf_json_string(b, key, strlen(key));
  cf_buf_putc(b, '}');
}

/* ---------------------------------------------------------------- a set of strings */

struct strset {
  char **slots;
  size_t n, cap;
};

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static bool strset_has(const struct strset *s, const char *k) {
  if (!s->cap) return false;
  for (size_t i = hash_str(k) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
    if (!s->slots[i]) return false;
    if (!strcmp(s->slots[i], k)) return true;
  }
}

static void strset_add(struct strset *s, const char *k) {
  if (strset_has(s, k)) return;
  if ((s->n + 1) * 2 > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 1024;
    char **slots = calloc(cap, sizeof *slots);
    if (!slots) abort();
    for (size_t i = 0; i < s->cap; i++) {
      if (!s->slots[i]) continue;
      size_t j = hash_str(s->slots[i]) & (cap - 1);
      while (slots[j]) j = (j + 1) & (cap - 1);
      slots[j] = s->slots[i];
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
  }
  size_t j = hash_str(k) & (s->cap - 1);
  while (s->slots[j]) j = (j + 1) & (s->cap - 1);
  s->slots[j] = strdup(k);
  s->n++;
}

static void strset_free(struct strset *s) {
  for (size_t i = 0; i < s->cap; i++) free(s->slots[i]);
  free(s->slots);
  memset(s, 0, sizeof *s);
}

/* ---------------------------------------------------------------- compiled models, by definition key */

struct model {
  uint64_t def_key;
  char *process_id;
  struct cf_bpmn_model *bpmn;
  uint32_t process;
};

struct models {
  struct model *items;
  size_t n;
};

static struct model *models_get(struct models *ms, const struct cf_store_ops *ops, struct cf_store *st,
                                uint64_t def_key) {
  for (size_t i = 0; i < ms->n; i++)
    if (ms->items[i].def_key == def_key) return &ms->items[i];
  struct cf_store_definition d;
  struct cf_error err;
  cf_error_clear(&err);
  int rc = ops->definition_by_key(st, def_key, &d, &err);
  if (rc) {
    check_fatal(rc, "reading a definition", &err);
    return NULL;
  }
  struct cf_bpmn_problems probs;
  cf_bpmn_problems_init(&probs);
  struct cf_bpmn_model *bm = cf_bpmn_parse(d.xml, d.xml_len, d.resource_name, &probs);
  cf_bpmn_problems_release(&probs);
  int32_t p = bm ? cf_bpmn_find_process(bm, d.process_id) : -1;
  if (p < 0) {
    say("definition %llu (%s) does not compile", (unsigned long long)def_key, d.process_id);
    cf_bpmn_model_free(bm);
    cf_store_definition_release(&d);
    return NULL;
  }
  ms->items = realloc(ms->items, (ms->n + 1) * sizeof *ms->items);
  if (!ms->items) abort();
  struct model *m = &ms->items[ms->n++];
  *m = (struct model){def_key, strdup(d.process_id), bm, (uint32_t)p};
  cf_store_definition_release(&d);
  return m;
}

static void models_free(struct models *ms) {
  for (size_t i = 0; i < ms->n; i++) {
    free(ms->items[i].process_id);
    cf_bpmn_model_free(ms->items[i].bpmn);
  }
  free(ms->items);
  memset(ms, 0, sizeof *ms);
}

static bool is_message_catch(const struct cf_bpmn_element *e) {
  return (e->type == CF_BPMN_INTERMEDIATE_CATCH_EVENT && e->event == CF_BPMN_EVENT_MESSAGE) ||
         e->type == CF_BPMN_RECEIVE_TASK;
}

/* A static or FEEL attribute as text, evaluated against vars (a context or NULL); NULL when it gives none. */
static char *value_text(const struct cf_bpmn_value *v, const struct cf_feel_value *vars) {
  if (!v->text) return NULL;
  if (!v->expr) return strdup(v->text);
  struct cf_feel_env env = {.now_secs = now_ms() / 1000};
  struct cf_feel_value out;
  cf_feel_set_null(&out);
  if (cf_feel_eval(v->expr, vars, &env, &out, NULL)) return NULL;
  char *s = NULL;
  if (out.type == CF_FEEL_STRING || out.type == CF_FEEL_NUMBER) {
    struct cf_buf b;
    cf_buf_init(&b);
    cf_feel_to_string(&out, &b);
    s = cf_buf_detach(&b);
    if (s) {
      char *t = strdup(s);
      cf_free(s);
      s = t;
    }
  }
  cf_feel_value_release(&out);
  return s;
}

/* ================================================================ load */

static int open_runtime(const char *db, const char *actor, struct cf_runtime **rt) {
  struct cf_runtime_opts o = {.db = db, .actor = actor};
  if (getenv("CRASH_FAST")) o.store_flags = CF_STORE_FAST;
  struct cf_error err;
  cf_error_clear(&err);
  int rc = cf_runtime_open(&o, rt, &err);
  if (rc) fatal("cannot open the database", &err);
  return rc;
}

static char *slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return NULL;
  struct cf_buf b;
  cf_buf_init(&b);
  char chunk[8192];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) cf_buf_append(&b, chunk, n);
  fclose(fp);
  *len = b.len;
  return cf_buf_detach(&b);
}

/* Marks in have[] the instances c-i (0 <= i < n) that exist; counts those seen more than once. */
static void existing(const struct cf_store_ops *ops, struct cf_store *st, const char *process_id, long n,
                     unsigned char *have) {
  uint64_t after = 0;
  for (;;) {
    struct cf_store_instance_filter f = {.process_id = process_id, .state = -1, .incident = -1, .limit = 1000,
                                         .after_key = after};
    struct cf_store_instance *rows = NULL;
    size_t k = 0;
    struct cf_error err;
    cf_error_clear(&err);
    int rc = ops->instance_list(st, &f, &rows, &k, &err);
    if (rc) fatal("listing instances", &err);
    for (size_t j = 0; j < k; j++) {
      const char *bk = rows[j].business_key;
      char *end;
      if (bk && !strncmp(bk, "c-", 2)) {
        long i = strtol(bk + 2, &end, 10);
        if (!*end && i >= 0 && i < n && have[i] < 255) have[i]++;
      }
      after = rows[j].key;
      cf_store_instance_release(&rows[j]);
    }
    cf_free(rows);
    if (k < 1000) break;
  }
}

static int cmd_load(const char *db, const char *model_path, long n) {
  size_t len;
  char *xml = slurp(model_path, &len);
  if (!xml) {
    say("cannot read %s: %s", model_path, strerror(errno));
    return 1;
  }
  struct cf_runtime *rt;
  open_runtime(db, "loader", &rt);
  struct cf_runtime_deployed *d = NULL;
  size_t nd = 0;
  struct cf_error err;
  cf_error_clear(&err);
  const char *base = strrchr(model_path, '/') ? strrchr(model_path, '/') + 1 : model_path;
  int rc;
  do {
    rc = cf_runtime_deploy(rt, base, xml, len, &d, &nd, NULL, &err);
    if (rc == CF_ECONFLICT) sleep_ms(50);
  } while (rc == CF_ECONFLICT);
  cf_free(xml);
  if (rc) fatal("deploying the model", &err);
  /* The process to start: the first one with a none start event. */
  const char *process_id = NULL;
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  struct models ms = {0};
  for (size_t i = 0; i < nd && !process_id; i++) {
    struct model *m = models_get(&ms, ops, st, d[i].definition_key);
    if (m && m->bpmn->processes[m->process].none_start >= 0) process_id = d[i].process_id;
  }
  if (!process_id) {
    say("%s has no executable process with a none start event", model_path);
    return 1;
  }
  unsigned char *have = calloc((size_t)n + 1, 1);
  existing(ops, st, process_id, n, have);
  long missing = 0, started = 0;
  for (long i = 0; i < n; i++) missing += !have[i];
  fprintf(stderr, "crash_driver: load: %ld of %ld instances of %s exist, starting %ld\n", n - missing, n,
          process_id, missing);
  long i = 0;
  while (i < n) {
    /* One batch: up to STARTS_PER_BATCH missing instances, one commit. */
    long first = i, count = 0;
    rc = cf_runtime_batch_begin(rt, &err);
    if (rc) {
      if (transient(rc)) {
        sleep_ms(20);
        continue;
      }
      fatal("opening a batch", &err);
    }
    for (; i < n && count < STARTS_PER_BATCH; i++) {
      if (have[i]) continue;
      char vj[200], bk[32];
      start_vars_json(i, vj, sizeof vj);
      snprintf(bk, sizeof bk, "c-%ld", i);
      struct cf_feel_value v;
      vars_from_json(vj, &v);
      uint64_t key;
      rc = cf_runtime_start(rt, process_id, 0, &v, bk, &key, &err);
      cf_feel_value_release(&v);
      if (rc) fatal("starting an instance", &err);
      count++;
    }
    rc = cf_runtime_batch_commit(rt, &err);
    if (rc) {
      if (!transient(rc)) fatal("committing a batch of starts", &err);
      i = first; /* lost whole: start them again */
      continue;
    }
    for (long k = first; k < i; k++) have[k] = 1;
    started += count;
  }
  fprintf(stderr, "crash_driver: load: started %ld\n", started);
  free(have);
  models_free(&ms);
  cf_runtime_deployed_release(d, nd);
  cf_runtime_close(rt);
  return 0;
}

/* ================================================================ work */

struct worker {
  const char *name;
  struct cf_runtime *rt;
  const struct cf_store_ops *ops;
  struct cf_store *st;
  struct models ms;
  char **types;
  size_t ntypes;
  int log_jobs, log_tasks, log_problems;
  struct strset published; /* message ids this process published */
  struct cf_buf b;
  uint64_t rnd;
  size_t per_activation; /* at most this many jobs per activation and user tasks per batch (CRASH_BATCH) */
  long jobs_done, jobs_failed, tasks_done, messages;
};

static uint64_t rnd_next(struct worker *w) {
  w->rnd ^= w->rnd << 13;
  w->rnd ^= w->rnd >> 7;
  w->rnd ^= w->rnd << 17;
  return w->rnd;
}

static void add_type(struct worker *w, const char *t) {
  for (size_t i = 0; i < w->ntypes; i++)
    if (!strcmp(w->types[i], t)) return;
  w->types = realloc(w->types, (w->ntypes + 1) * sizeof *w->types);
  w->types[w->ntypes++] = strdup(t);
}

/* The static job types of every deployed definition. */
static void discover_types(struct worker *w) {
  struct cf_store_definition *defs = NULL;
  size_t n = 0;
  struct cf_error err;
  cf_error_clear(&err);
  int rc = w->ops->definition_list(w->st, false, &defs, &n, &err);
  if (rc) {
    check_fatal(rc, "listing definitions", &err);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    struct model *m = models_get(&w->ms, w->ops, w->st, defs[i].key);
    if (!m) continue;
    for (uint32_t e = 0; e < m->bpmn->nelements; e++) {
      const struct cf_bpmn_element *el = &m->bpmn->elements[e];
      if (el->process != m->process || !el->job_type.text) continue;
      if (el->job_type.expr) {
        static bool warned;
        if (!warned) say("worker %s: job type %s of %s is an expression: pass its values as TYPE arguments",
                         w->name, el->job_type.text, el->id);
        warned = true;
        continue;
      }
      add_type(w, el->job_type.text);
    }
  }
  for (size_t i = 0; i < n; i++) cf_store_definition_release(&defs[i]);
  cf_free(defs);
}

static void log_key(int fd, uint64_t key, const char *worker) {
  char line[200];
  int len = snprintf(line, sizeof line, "%llu %s\n", (unsigned long long)key, worker);
  if (write(fd, line, (size_t)len) != len) {
    say("cannot write the log: %s", strerror(errno));
    exit(1);
  }
}

/*
 * The variables a job is handed must be the instance's as they are now: at least the start variables
 * (an old copy of the instance in some process's memory would hand out fewer, or none). A job that
 * lacks them is written to DB.problems.log, which check reports.
 */
static void check_job_variables(struct worker *w, const struct cf_runtime_job *j) {
  struct json_object *v = j->variables ? json_tokener_parse(j->variables) : NULL;
  struct json_object *bk = NULL;
  bool ok = v && json_object_object_get_ex(v, "bk", &bk) && json_object_is_type(bk, json_type_string) &&
            !strncmp(json_object_get_string(bk), "c-", 2) && json_object_object_get_ex(v, "n", NULL);
  json_object_put(v);
  if (ok) return;
  char line[1200];
  int len = snprintf(line, sizeof line, "job %llu (%s, instance %llu) was handed the variables %.900s\n",
                     (unsigned long long)j->job.key, j->job.element_id ? j->job.element_id : "-",
                     (unsigned long long)j->job.instance_key, j->variables ? j->variables : "(none)");
  if (len > (int)sizeof line - 1) len = (int)sizeof line - 1;
  if (write(w->log_problems, line, (size_t)len) != len) say("cannot write the problems log: %s", strerror(errno));
}

/* Opens a batch, waiting while another process holds the write lock. false: give up this round. */
static bool batch_open(struct worker *w) {
  struct cf_error err;
  for (int tries = 0; tries < 50; tries++) {
    cf_error_clear(&err);
    int rc = cf_runtime_batch_begin(w->rt, &err);
    if (!rc) return true;
    if (!transient(rc)) fatal("opening a batch", &err);
    sleep_ms(10);
  }
  return false;
}

/* Activates and finishes (completes, or fails once) the jobs of one type. Returns how many it finished. */
static long do_jobs(struct worker *w, const char *type) {
  struct cf_runtime_job *jobs = NULL;
  size_t n = 0;
  struct cf_error err;
  cf_error_clear(&err);
  size_t max = 1 + (size_t)(rnd_next(w) % w->per_activation); /* 1..CRASH_BATCH: small batches and large */
  int rc = cf_runtime_jobs_activate(w->rt, type, max, w->name, JOB_TIMEOUT_MS, &jobs, &n, &err);
  if (rc) {
    check_fatal(rc, "activating jobs", &err);
    return 0;
  }
  if (!n) return 0;
  for (size_t i = 0; i < n; i++) check_job_variables(w, &jobs[i]);
  uint64_t *done = calloc(n, sizeof *done);
  size_t ndone = 0;
  long nfailed = 0;
  /* Sometimes one batch for all, sometimes one transaction each: both paths must hold. */
  bool batched = rnd_next(w) % 4 != 0;
  for (int attempt = 0; attempt < 3; attempt++) {
    if (batched && !batch_open(w)) continue;
    ndone = 0;
    nfailed = 0;
    for (size_t i = 0; i < n; i++) {
      const struct cf_store_job *j = &jobs[i].job;
      struct cf_feel_value v;
      cf_error_clear(&err);
      if (j->key % 5 == 0 && j->retries >= 3) {
        rc = cf_runtime_job_fail(w->rt, j->key, w->name, j->retries - 1, "failed on purpose (crash test)", 0, NULL,
                                 &err);
        if (!rc) nfailed++;
      } else {
        job_vars_json(&w->b, j->element_id, w->name, j->key);
        vars_from_json(w->b.data, &v);
        rc = cf_runtime_job_complete(w->rt, j->key, w->name, &v, &err);
        cf_feel_value_release(&v);
        if (!rc) {
          done[ndone++] = j->key;
          if (!batched) log_key(w->log_jobs, j->key, w->name);
        }
      }
      if (rc == CF_EIO && batched) break;
      if (rc) check_fatal(rc, "finishing a job", &err);
    }
    if (!batched) break;
    cf_error_clear(&err);
    rc = cf_runtime_batch_commit(w->rt, &err);
    if (!rc) {
      for (size_t k = 0; k < ndone; k++) log_key(w->log_jobs, done[k], w->name);
      break;
    }
    if (!transient(rc)) fatal("committing a batch of jobs", &err);
    ndone = 0;
    nfailed = 0; /* lost whole: the leases are still ours, try again */
  }
  w->jobs_done += (long)ndone;
  w->jobs_failed += nfailed;
  free(done);
  cf_runtime_jobs_release(jobs, n);
  return (long)ndone + nfailed;
}

static long do_tasks(struct worker *w) {
  struct cf_store_task_filter f = {.limit = w->per_activation * 2};
  struct cf_store_user_task *tasks = NULL;
  size_t n = 0;
  struct cf_error err;
  cf_error_clear(&err);
  int rc = w->ops->task_list(w->st, &f, &tasks, &n, &err);
  if (rc) {
    check_fatal(rc, "listing user tasks", &err);
    return 0;
  }
  if (!n) return 0;
  long count = 0;
  uint64_t *done = calloc(n, sizeof *done);
  size_t ndone = 0;
  /* Both workers see the same tasks: start at a random place so they collide only sometimes. */
  size_t from = (size_t)(rnd_next(w) % n);
  if (batch_open(w)) {
    for (size_t k = 0; k < n && k < w->per_activation; k++) {
      const struct cf_store_user_task *t = &tasks[(from + k) % n];
      task_vars_json(&w->b, t->element_id, t->key);
      struct cf_feel_value v;
      vars_from_json(w->b.data, &v);
      cf_error_clear(&err);
      rc = cf_runtime_task_complete(w->rt, t->key, &v, &err);
      cf_feel_value_release(&v);
      if (!rc) done[ndone++] = t->key;
      else if (rc == CF_EIO) break;
      else check_fatal(rc, "completing a user task", &err);
    }
    cf_error_clear(&err);
    rc = cf_runtime_batch_commit(w->rt, &err);
    if (!rc) {
      for (size_t k = 0; k < ndone; k++) log_key(w->log_tasks, done[k], w->name);
      count = (long)ndone;
    } else if (!transient(rc)) {
      fatal("committing a batch of user tasks", &err);
    }
  }
  w->tasks_done += count;
  free(done);
  for (size_t i = 0; i < n; i++) cf_store_user_task_release(&tasks[i]);
  cf_free(tasks);
  return count;
}

struct pending_msg {
  char *name, *key, *id;
};

static void queue_message(struct worker *w, struct pending_msg **q, size_t *nq, const char *name, const char *key) {
  char id[600];
  snprintf(id, sizeof id, "crash:%s:%s", name, key);
  if (strset_has(&w->published, id)) return;
  for (size_t i = 0; i < *nq; i++)
    if (!strcmp((*q)[i].id, id)) return;
  *q = realloc(*q, (*nq + 1) * sizeof **q);
  (*q)[(*nq)++] = (struct pending_msg){strdup(name), strdup(key), strdup(id)};
}

/* The messages an instance waits for, or will: early (from the model, its variables now) or late (its open subscriptions). */
static void messages_of(struct worker *w, const struct cf_store_instance *row, struct pending_msg **q, size_t *nq) {
  struct model *m = models_get(&w->ms, w->ops, w->st, row->definition_key);
  if (!m) return;
  if (row->key % 2 == 0) {
    struct cf_feel_value vars;
    if (vars_from_json(row->variables, &vars)) return;
    for (uint32_t e = 0; e < m->bpmn->nelements; e++) {
      const struct cf_bpmn_element *el = &m->bpmn->elements[e];
      if (el->process != m->process || !is_message_catch(el)) continue;
      char *name = value_text(&el->message_name, &vars);
      char *key = name ? value_text(&el->correlation_key, &vars) : NULL;
      if (name && key) queue_message(w, q, nq, name, key);
      free(name);
      free(key);
    }
    cf_feel_value_release(&vars);
    return;
  }
  struct cf_store_instance full;
  struct cf_error err;
  cf_error_clear(&err);
  int rc = w->ops->instance_get(w->st, row->key, &full, &err);
  if (rc) {
    check_fatal(rc, "reading an instance", &err);
    return;
  }
  struct cf_engine_instance *inst = cf_engine_instance_load(m->bpmn, full.engine_state, full.engine_state_len, &err);
  if (inst) {
    size_t ns;
    const struct cf_engine_subscription *subs = cf_engine_subscriptions(inst, &ns);
    for (size_t i = 0; i < ns; i++)
      if (subs[i].kind == CF_ENGINE_SUB_MESSAGE && subs[i].correlation_key)
        queue_message(w, q, nq, subs[i].name, subs[i].correlation_key);
    cf_engine_instance_free(inst);
  } else {
    say("instance %llu: its state does not load: %s", (unsigned long long)row->key, err.msg);
  }
  cf_store_instance_release(&full);
}

/* Publishes what the active instances wait for. Sets *active to whether any instance is active. */
static long do_messages(struct worker *w, bool *active) {
  struct pending_msg *q = NULL;
  size_t nq = 0;
  uint64_t after = 0;
  *active = false;
  for (;;) {
    struct cf_store_instance_filter f = {.state = CF_STORE_ACTIVE, .incident = -1, .limit = 500, .after_key = after};
    struct cf_store_instance *rows = NULL;
    size_t k = 0;
    struct cf_error err;
    cf_error_clear(&err);
    int rc = w->ops->instance_list(w->st, &f, &rows, &k, &err);
    if (rc) {
      check_fatal(rc, "listing active instances", &err);
      *active = true;
      break;
    }
    if (k) *active = true;
    for (size_t j = 0; j < k; j++) {
      messages_of(w, &rows[j], &q, &nq);
      after = rows[j].key;
      cf_store_instance_release(&rows[j]);
    }
    cf_free(rows);
    if (k < 500) break;
  }
  long count = 0;
  for (size_t i = 0; i < nq;) {
    size_t end = i + 100 < nq ? i + 100 : nq;
    if (!batch_open(w)) break;
    bool ok = true;
    for (size_t k = i; k < end && ok; k++) {
      message_vars_json(&w->b, q[k].name, q[k].key);
      struct cf_feel_value v;
      vars_from_json(w->b.data, &v);
      struct cf_error err;
      cf_error_clear(&err);
      uint64_t mk;
      bool dup;
      int rc = cf_runtime_publish(w->rt, q[k].name, q[k].key, &v, MESSAGE_TTL_MS, q[k].id, &mk, &dup, &err);
      cf_feel_value_release(&v);
      if (rc == CF_EIO) ok = false;
      else check_fatal(rc, "publishing a message", &err);
    }
    struct cf_error err;
    cf_error_clear(&err);
    int rc = cf_runtime_batch_commit(w->rt, &err);
    if (rc) {
      if (!transient(rc)) fatal("committing a batch of messages", &err);
      continue; /* try the same batch again */
    }
    for (size_t k = i; k < end; k++) strset_add(&w->published, q[k].id);
    count += (long)(end - i);
    i = end;
  }
  for (size_t i = 0; i < nq; i++) {
    free(q[i].name);
    free(q[i].key);
    free(q[i].id);
  }
  free(q);
  w->messages += count;
  return count;
}

static int open_log(const char *db, const char *suffix) {
  char path[4096];
  snprintf(path, sizeof path, "%s.%s", db, suffix);
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    say("cannot open %s: %s", path, strerror(errno));
    exit(1);
  }
  return fd;
}

static int cmd_work(const char *db, const char *name, char **types, int ntypes) {
  struct worker w;
  memset(&w, 0, sizeof w);
  w.name = name;
  char actor[200];
  snprintf(actor, sizeof actor, "worker:%s", name);
  open_runtime(db, actor, &w.rt);
  cf_runtime_store(w.rt, &w.ops, &w.st);
  cf_buf_init(&w.b);
  /* CRASH_SEED (run.sh passes one from its seed) makes the worker's choices replayable. */
  const char *seed = getenv("CRASH_SEED");
  w.rnd = seed ? (strtoull(seed, NULL, 10) + 1) * 0x9E3779B97F4A7C15ull : (uint64_t)now_ms() * 2654435761u ^ (uint64_t)getpid();
  if (!w.rnd) w.rnd = 1;
  w.log_jobs = open_log(db, "jobs.log");
  w.log_tasks = open_log(db, "tasks.log");
  w.log_problems = open_log(db, "problems.log");
  const char *batch = getenv("CRASH_BATCH");
  w.per_activation = batch && atoi(batch) > 0 ? (size_t)atoi(batch) : JOBS_PER_ACTIVATION;
  for (int i = 0; i < ntypes; i++) add_type(&w, types[i]);
  discover_types(&w);
  int64_t last_discover = now_ms(), last_messages = 0;
  for (;;) {
    long progress = 0;
    if (now_ms() - last_discover > 5000) {
      discover_types(&w);
      last_discover = now_ms();
    }
    for (size_t t = 0; t < w.ntypes; t++) progress += do_jobs(&w, w.types[t]);
    progress += do_tasks(&w);
    if (!progress || now_ms() - last_messages >= MESSAGE_PASS_MS) {
      bool active;
      progress += do_messages(&w, &active);
      last_messages = now_ms();
      if (!progress && !active) break;
    }
    if (!progress) sleep_ms(30 + (int64_t)(rnd_next(&w) % 40));
  }
  fprintf(stderr, "crash_driver: worker %s: no active instance left (this run: %ld jobs completed, %ld failed on purpose,"
          " %ld user tasks, %ld messages)\n", name, w.jobs_done, w.jobs_failed, w.tasks_done, w.messages);
  close(w.log_jobs);
  close(w.log_tasks);
  close(w.log_problems);
  strset_free(&w.published);
  for (size_t i = 0; i < w.ntypes; i++) free(w.types[i]);
  free(w.types);
  models_free(&w.ms);
  cf_buf_release(&w.b);
  cf_runtime_close(w.rt);
  return 0;
}

/* ================================================================ check */

struct problems {
  long count;
  long shown;
};

static void problem(struct problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct problems *p, const char *fmt, ...) {
  p->count++;
  if (p->shown >= 200) return;
  p->shown++;
  va_list ap;
  va_start(ap, fmt);
  fputs("PROBLEM: ", stdout);
  vprintf(fmt, ap);
  fputc('\n', stdout);
  va_end(ap);
}

/* "KIND|element" strings, for comparing what happened with what the oracle did. */
struct evlist {
  char **items;
  size_t n;
};

static void evlist_add(struct evlist *l, const char *kind, const char *element) {
  char buf[400];
  snprintf(buf, sizeof buf, "%s|%s", kind, element ? element : "");
  l->items = realloc(l->items, (l->n + 1) * sizeof *l->items);
  l->items[l->n++] = strdup(buf);
}

static void evlist_free(struct evlist *l) {
  for (size_t i = 0; i < l->n; i++) free(l->items[i]);
  free(l->items);
  memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The kinds whose count per element the real run must share with the oracle (JOB_ACTIVATED, JOB_FAILED and
 * VARIABLE_SET differ by the workers' doing). */
static bool compared_kind(const char *k) {
  static const enum cf_engine_event_kind kinds[] = {
      CF_ENGINE_EV_ELEMENT_ACTIVATED, CF_ENGINE_EV_ELEMENT_COMPLETED, CF_ENGINE_EV_ELEMENT_TERMINATED,
      CF_ENGINE_EV_FLOW_TAKEN, CF_ENGINE_EV_JOB_CREATED, CF_ENGINE_EV_JOB_COMPLETED, CF_ENGINE_EV_JOB_CANCELED,
      CF_ENGINE_EV_JOB_ERROR_THROWN, CF_ENGINE_EV_USER_TASK_CREATED, CF_ENGINE_EV_USER_TASK_COMPLETED,
      CF_ENGINE_EV_USER_TASK_CANCELED, CF_ENGINE_EV_INCIDENT_CREATED, CF_ENGINE_EV_INSTANCE_COMPLETED,
      CF_ENGINE_EV_INSTANCE_TERMINATED, CF_ENGINE_EV_TIMER_CREATED, CF_ENGINE_EV_TIMER_TRIGGERED,
      CF_ENGINE_EV_TIMER_CANCELED, CF_ENGINE_EV_SUBSCRIPTION_OPENED, CF_ENGINE_EV_SUBSCRIPTION_CORRELATED,
      CF_ENGINE_EV_SUBSCRIPTION_CLOSED, CF_ENGINE_EV_SIGNAL_THROWN, CF_ENGINE_EV_CALL_STARTED};
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (!strcmp(cf_engine_event_name(kinds[i]), k)) return true;
  return false;
}

struct oracle {
  uint64_t next;
  struct evlist evs;
  char *variables; /* JSON of the process scope at the end */
  bool ended;
  char why[700];   /* why it could not finish */
};

static uint64_t oracle_key(void *arg) { return ++((struct oracle *)arg)->next; }

static void oracle_record(struct oracle *o, const struct cf_bpmn_model *m, const struct cf_engine_output *out) {
  for (size_t i = 0; i < out->count; i++) {
    const struct cf_engine_event *e = &out->events[i];
    const char *kind = cf_engine_event_name(e->kind);
    if (!compared_kind(kind)) continue;
    const char *id = NULL;
    if (e->element >= 0) {
      if (e->kind == CF_ENGINE_EV_FLOW_TAKEN) id = (uint32_t)e->element < m->nflows ? m->flows[e->element].id : NULL;
      else id = (uint32_t)e->element < m->nelements ? m->elements[e->element].id : NULL;
    }
    evlist_add(&o->evs, kind, id);
  }
}

/*
 * What the real run completed, per element in history order: the oracle completes its k-th job (task)
 * of an element with the key and worker of the k-th real one, so that its variables are the very values
 * the real run should have (also those a mapping derives from a key or a worker's name).
 */
struct done {
  const char *element; /* borrowed from the history */
  uint64_t key;
  const char *worker;
  bool used;
};

struct dones {
  struct done *items;
  size_t n;
};

static void dones_add(struct dones *d, const char *element, uint64_t key, const char *actor) {
  d->items = realloc(d->items, (d->n + 1) * sizeof *d->items);
  if (actor && !strncmp(actor, "worker:", 7)) actor += 7;
  d->items[d->n++] = (struct done){element ? element : "", key, actor ? actor : "?", false};
}

/* The next real completion of element, or NULL. */
static struct done *dones_take(struct dones *d, const char *element) {
  for (size_t i = 0; i < d->n; i++)
    if (!d->items[i].used && !strcmp(d->items[i].element, element)) {
      d->items[i].used = true;
      return &d->items[i];
    }
  return NULL;
}

/* Runs the instance in memory as the workers would drive it. */
static void oracle_run(struct oracle *o, const struct model *m, const char *start_json, int64_t start_ms,
                       struct dones *real_jobs, struct dones *real_tasks) {
  memset(o, 0, sizeof *o);
  struct cf_engine_env env = {.now_ms = start_ms, .next_key = oracle_key, .key_arg = o};
  struct cf_engine_output out;
  cf_engine_output_init(&out);
  struct cf_feel_value vars;
  vars_from_json(start_json, &vars);
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_engine_instance *inst = cf_engine_start(m->bpmn, m->process, -1, &vars, &env, &out, &err);
  cf_feel_value_release(&vars);
  if (!inst) {
    snprintf(o->why, sizeof o->why, "the oracle cannot start the instance: %s", err.msg);
    cf_engine_output_release(&out);
    return;
  }
  oracle_record(o, m->bpmn, &out);
  cf_engine_output_release(&out);
  struct cf_buf b;
  cf_buf_init(&b);
  for (int step = 0; step < 100000 && cf_engine_instance_state(inst) == CF_ENGINE_ACTIVE; step++) {
    struct cf_engine_cmd cmd = {0};
    struct cf_feel_value cv;
    cf_feel_set_null(&cv);
    size_t n;
    const struct cf_engine_job *jobs = cf_engine_jobs(inst, &n);
    for (size_t i = 0; i < n && !cmd.key; i++) {
      if (jobs[i].state != CF_ENGINE_JOB_ACTIVATABLE) continue;
      const char *el = m->bpmn->elements[jobs[i].element].id;
      struct done *d = dones_take(real_jobs, el);
      job_vars_json(&b, el, d ? d->worker : "(no such completion in the history)", d ? d->key : 0);
      cmd = (struct cf_engine_cmd){.kind = CF_ENGINE_CMD_COMPLETE_JOB, .key = jobs[i].key};
    }
    const struct cf_engine_user_task *tasks = cmd.key ? NULL : cf_engine_user_tasks(inst, &n);
    for (size_t i = 0; tasks && i < n && !cmd.key; i++) {
      const char *el = m->bpmn->elements[tasks[i].element].id;
      struct done *d = dones_take(real_tasks, el);
      task_vars_json(&b, el, d ? d->key : 0);
      cmd = (struct cf_engine_cmd){.kind = CF_ENGINE_CMD_COMPLETE_USER_TASK, .key = tasks[i].key};
    }
    const struct cf_engine_subscription *subs = cmd.key ? NULL : cf_engine_subscriptions(inst, &n);
    for (size_t i = 0; subs && i < n && !cmd.key; i++) {
      if (subs[i].kind != CF_ENGINE_SUB_MESSAGE || !subs[i].correlation_key) continue;
      message_vars_json(&b, subs[i].name, subs[i].correlation_key);
      cmd = (struct cf_engine_cmd){.kind = CF_ENGINE_CMD_CORRELATE, .key = subs[i].key};
    }
    if (!cmd.key) {
      const struct cf_engine_timer *ts = cf_engine_timers(inst, &n);
      const struct cf_engine_timer *first = NULL;
      for (size_t i = 0; i < n; i++)
        if (!first || ts[i].due_ms < first->due_ms) first = &ts[i];
      if (first) {
        if (first->due_ms > env.now_ms) env.now_ms = first->due_ms;
        cmd = (struct cf_engine_cmd){.kind = CF_ENGINE_CMD_FIRE_TIMER, .key = first->key};
        cf_buf_reset(&b);
      }
    }
    if (!cmd.key) {
      size_t ni;
      cf_engine_incidents(inst, &ni);
      snprintf(o->why, sizeof o->why, "the oracle's instance waits on nothing it can drive%s",
               ni ? " (it has an incident)" : " (a signal or a call?)");
      break;
    }
    if (b.len) vars_from_json(b.data, &cv);
    cmd.variables = cv.type == CF_FEEL_CONTEXT ? &cv : NULL;
    cf_engine_output_init(&out);
    cf_error_clear(&err);
    int rc = cf_engine_apply(inst, &cmd, &env, &out, &err);
    cf_feel_value_release(&cv);
    if (rc) {
      snprintf(o->why, sizeof o->why, "the oracle's command was refused: %s", err.msg);
      cf_engine_output_release(&out);
      break;
    }
    oracle_record(o, m->bpmn, &out);
    cf_engine_output_release(&out);
  }
  cf_buf_release(&b);
  o->ended = cf_engine_instance_state(inst) != CF_ENGINE_ACTIVE;
  if (o->ended && !o->why[0]) {
    const struct cf_feel_value *pv = cf_engine_variables(inst, cf_engine_instance_key(inst));
    struct json_object *j = NULL;
    if (pv) cf_feel_to_json(pv, &j);
    o->variables = j ? strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN)) : strdup("{}");
    json_object_put(j);
  } else if (!o->why[0]) {
    snprintf(o->why, sizeof o->why, "the oracle's instance did not end");
  }
  cf_engine_instance_free(inst);
}

static void oracle_free(struct oracle *o) {
  evlist_free(&o->evs);
  free(o->variables);
}

/* A map from u64 keys to small counters, for the logs. */
struct keycount {
  uint64_t *keys;
  uint32_t *counts;
  size_t n, cap;
};

static uint32_t *keycount_slot(struct keycount *kc, uint64_t key) {
  if ((kc->n + 1) * 2 > kc->cap) {
    size_t cap = kc->cap ? kc->cap * 2 : 4096;
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint32_t *counts = calloc(cap, sizeof *counts);
    for (size_t i = 0; i < kc->cap; i++) {
      if (!kc->keys[i]) continue;
      size_t j = (kc->keys[i] * 0x9E3779B97F4A7C15ull >> 20) & (cap - 1);
      while (keys[j]) j = (j + 1) & (cap - 1);
      keys[j] = kc->keys[i];
      counts[j] = kc->counts[i];
    }
    free(kc->keys);
    free(kc->counts);
    kc->keys = keys;
    kc->counts = counts;
    kc->cap = cap;
  }
  size_t j = (key * 0x9E3779B97F4A7C15ull >> 20) & (kc->cap - 1);
  while (kc->keys[j] && kc->keys[j] != key) j = (j + 1) & (kc->cap - 1);
  if (!kc->keys[j]) {
    kc->keys[j] = key;
    kc->n++;
  }
  return &kc->counts[j];
}

static uint32_t keycount_get(const struct keycount *kc, uint64_t key) {
  if (!kc->cap) return 0;
  size_t j = (key * 0x9E3779B97F4A7C15ull >> 20) & (kc->cap - 1);
  while (kc->keys[j]) {
    if (kc->keys[j] == key) return kc->counts[j];
    j = (j + 1) & (kc->cap - 1);
  }
  return 0;
}

static void keycount_free(struct keycount *kc) {
  free(kc->keys);
  free(kc->counts);
}

/* Reads a log of "KEY WORKER" lines into kc (count per key). Returns the number of lines. */
static long read_log(const char *db, const char *suffix, struct keycount *kc, struct problems *p) {
  char path[4096];
  snprintf(path, sizeof path, "%s.%s", db, suffix);
  FILE *fp = fopen(path, "r");
  if (!fp) return 0;
  char line[512];
  long lines = 0;
  while (fgets(line, sizeof line, fp)) {
    char *end;
    unsigned long long k = strtoull(line, &end, 10);
    if (end == line || *end != ' ') {
      problem(p, "%s: a torn or foreign line: %s", path, line);
      continue;
    }
    lines++;
    uint32_t *c = keycount_slot(kc, (uint64_t)k);
    if (++*c == 2) problem(p, "%s: key %llu was completed twice (acknowledged to two workers, or twice to one)", path, k);
  }
  fclose(fp);
  return lines;
}

struct key_events {
  uint64_t key;
  int created, completed, canceled, correlated, failed, other;
  long first, last; /* event indices */
  const char *element;
};

/* Per-key counters of one instance's history, for one family of events. */
static struct key_events *ke_find(struct key_events **arr, size_t *n, uint64_t key) {
  for (size_t i = 0; i < *n; i++)
    if ((*arr)[i].key == key) return &(*arr)[i];
  *arr = realloc(*arr, (*n + 1) * sizeof **arr);
  struct key_events *k = &(*arr)[(*n)++];
  memset(k, 0, sizeof *k);
  k->key = key;
  k->first = -1;
  return k;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

/* Adds the job and task keys an instance's history completed to the sets (for an instance not checked whole). */
static void collect_done(const struct cf_store_ops *ops, struct cf_store *st, uint64_t key, struct keycount *jobs_done,
                         struct keycount *tasks_done) {
  struct cf_store_event *evs = NULL;
  size_t nev = 0;
  struct cf_error err;
  cf_error_clear(&err);
  if (ops->history_list(st, key, &evs, &nev, &err)) return;
  for (size_t i = 0; i < nev; i++) {
    if (!strcmp(evs[i].kind, "JOB_COMPLETED")) (*keycount_slot(jobs_done, evs[i].key))++;
    if (!strcmp(evs[i].kind, "USER_TASK_COMPLETED")) (*keycount_slot(tasks_done, evs[i].key))++;
    cf_store_event_release(&evs[i]);
  }
  cf_free(evs);
}

/* Checks one instance; adds its completed job and task keys to the sets. Returns whether it passed. */
static bool check_instance(const char *bk, const struct cf_store_instance *row, const struct cf_store_ops *ops,
                           struct cf_store *st, struct models *ms, long n_index, struct keycount *jobs_done,
                           struct keycount *tasks_done, struct problems *p, long *oracle_skipped) {
  long before = p->count;
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_store_event *evs = NULL;
  size_t nev = 0;
  int rc = ops->history_list(st, row->key, &evs, &nev, &err);
  if (rc) {
    problem(p, "%s: its history cannot be read: %s", bk, err.msg);
    return false;
  }
  struct key_events *jobs = NULL, *tasks = NULL, *elems = NULL, *timers = NULL, *subs = NULL;
  size_t nj = 0, nt = 0, ne = 0, ntm = 0, ns = 0;
  long completed_at = -1, ncompleted = 0;
  struct evlist real = {0};
  struct dones real_jobs = {0}, real_tasks = {0};
  for (size_t i = 0; i < nev; i++) {
    const struct cf_store_event *e = &evs[i];
    const char *k = e->kind;
    if (compared_kind(k)) evlist_add(&real, k, e->element_id);
    if (completed_at >= 0) {
      problem(p, "%s: event %zu (%s of %s) comes after INSTANCE_COMPLETED", bk, i, k,
              e->element_id ? e->element_id : "-");
    }
    struct key_events *ke = NULL;
    if (!strncmp(k, "JOB_", 4)) ke = ke_find(&jobs, &nj, e->key);
    else if (!strncmp(k, "USER_TASK_", 10)) ke = ke_find(&tasks, &nt, e->key);
    else if (!strncmp(k, "ELEMENT_", 8)) ke = ke_find(&elems, &ne, e->key);
    else if (!strncmp(k, "TIMER_", 6)) ke = ke_find(&timers, &ntm, e->key);
    else if (!strncmp(k, "SUBSCRIPTION_", 13)) ke = ke_find(&subs, &ns, e->key);
    if (ke) {
      if (ke->first < 0) ke->first = (long)i;
      ke->last = (long)i;
      if (!ke->element) ke->element = e->element_id;
      if (ends_with(k, "_CREATED") || ends_with(k, "_ACTIVATED") || ends_with(k, "_OPENED")) {
        if (!strcmp(k, "JOB_ACTIVATED")) ke->other++;
        else ke->created++;
      } else if (ends_with(k, "_COMPLETED") || ends_with(k, "_TRIGGERED")) ke->completed++;
      else if (ends_with(k, "_CANCELED") || ends_with(k, "_TERMINATED") || ends_with(k, "_CLOSED")) ke->canceled++;
      else if (ends_with(k, "_CORRELATED")) ke->correlated++;
      else if (ends_with(k, "_FAILED")) ke->failed++;
      else ke->other++;
    }
    if (!strcmp(k, "INSTANCE_COMPLETED")) {
      ncompleted++;
      if (completed_at < 0) completed_at = (long)i;
    }
    if (!strcmp(k, "JOB_COMPLETED")) {
      (*keycount_slot(jobs_done, e->key))++;
      dones_add(&real_jobs, e->element_id, e->key, e->actor);
    }
    if (!strcmp(k, "USER_TASK_COMPLETED")) {
      (*keycount_slot(tasks_done, e->key))++;
      dones_add(&real_tasks, e->element_id, e->key, e->actor);
    }
  }
  if (ncompleted != 1) problem(p, "%s: %ld INSTANCE_COMPLETED events (want exactly 1)", bk, ncompleted);
  for (size_t i = 0; i < nj; i++) {
    struct key_events *k = &jobs[i];
    if (k->created != 1)
      problem(p, "%s: job %llu (%s): JOB_CREATED %d times (want 1)", bk, (unsigned long long)k->key,
              k->element ? k->element : "-", k->created);
    if (k->completed + k->canceled != 1)
      problem(p, "%s: job %llu (%s): completed %d times, canceled %d times (want one of them once)", bk,
              (unsigned long long)k->key, k->element ? k->element : "-", k->completed, k->canceled);
  }
  for (size_t i = 0; i < nt; i++) {
    struct key_events *k = &tasks[i];
    if (k->created != 1 || k->completed + k->canceled != 1)
      problem(p, "%s: user task %llu (%s): created %d, completed %d, canceled %d times", bk,
              (unsigned long long)k->key, k->element ? k->element : "-", k->created, k->completed, k->canceled);
  }
  for (size_t i = 0; i < ne; i++) {
    struct key_events *k = &elems[i];
    if (k->created != 1 || k->completed + k->canceled != 1)
      problem(p, "%s: element instance %llu (%s): activated %d, completed %d, terminated %d times", bk,
              (unsigned long long)k->key, k->element ? k->element : "-", k->created, k->completed, k->canceled);
  }
  for (size_t i = 0; i < ntm; i++) {
    struct key_events *k = &timers[i];
    if (k->created != 1 || k->completed + k->canceled < 1 || k->canceled > 1)
      problem(p, "%s: timer %llu (%s): created %d, triggered %d, canceled %d times", bk, (unsigned long long)k->key,
              k->element ? k->element : "-", k->created, k->completed, k->canceled);
  }
  for (size_t i = 0; i < ns; i++) {
    struct key_events *k = &subs[i];
    if (k->created != 1 || k->correlated > 1 || k->correlated + k->canceled < 1)
      problem(p, "%s: subscription %llu (%s): opened %d, correlated %d, closed %d times", bk,
              (unsigned long long)k->key, k->element ? k->element : "-", k->created, k->correlated, k->canceled);
  }

  /* The final variables: each element's _job / _task must name the job / task its history completed. */
  struct json_object *vars = row->variables ? json_tokener_parse(row->variables) : NULL;
  if (!vars || !json_object_is_type(vars, json_type_object)) {
    problem(p, "%s: its variables are not a JSON object", bk);
  } else {
    json_object_object_foreach(vars, name, val) {
      bool is_job = ends_with(name, "_job"), is_task = ends_with(name, "_task");
      if (!is_job && !is_task) continue;
      size_t elen = strlen(name) - (is_job ? 4 : 5);
      const char *text = json_object_get_string(val);
      uint64_t want = text ? strtoull(text, NULL, 10) : 0;
      struct key_events *arr = is_job ? jobs : tasks;
      size_t narr = is_job ? nj : nt;
      bool found = false;
      for (size_t i = 0; i < narr && !found; i++)
        found = arr[i].key == want && arr[i].completed == 1 && arr[i].element &&
                strlen(arr[i].element) == elen && !strncmp(arr[i].element, name, elen);
      if (!found)
        problem(p, "%s: variable %s = %s names no %s of element %.*s that its history completed", bk, name,
                text ? text : "null", is_job ? "job" : "user task", (int)elen, name);
    }
  }

  /* The oracle: the same model and start variables, in memory. */
  struct model *m = models_get(ms, ops, st, row->definition_key);
  if (m) {
    char sv[200];
    start_vars_json(n_index, sv, sizeof sv);
    struct oracle o;
    oracle_run(&o, m, sv, row->started_ms, &real_jobs, &real_tasks);
    if (o.why[0]) {
      (*oracle_skipped)++;
      if (*oracle_skipped == 1) printf("note: %s: %s; checked without the oracle\n", bk, o.why);
    } else {
      /* Same events per element (keys aside). */
      qsort(real.items, real.n, sizeof *real.items, cmp_str);
      qsort(o.evs.items, o.evs.n, sizeof *o.evs.items, cmp_str);
      size_t i = 0, j = 0;
      int shown = 0;
      while ((i < real.n || j < o.evs.n) && shown < 5) {
        int c = i >= real.n ? 1 : j >= o.evs.n ? -1 : strcmp(real.items[i], o.evs.items[j]);
        if (c == 0) {
          i++;
          j++;
        } else if (c < 0) {
          problem(p, "%s: the history has %s, which the oracle's run has not (or fewer times)", bk, real.items[i++]);
          shown++;
        } else {
          problem(p, "%s: the history lacks %s, which the oracle's run has (a gap)", bk, o.evs.items[j++]);
          shown++;
        }
      }
      /* The same variables, every one (the oracle used the real keys and workers). */
      struct json_object *want = json_tokener_parse(o.variables);
      if (vars && want) {
        json_object_object_foreach(want, name, wv) {
          struct json_object *got = NULL;
          if (!json_object_object_get_ex(vars, name, &got))
            problem(p, "%s: variable %s is missing (the oracle has %s)", bk, name, json_object_to_json_string(wv));
          else if (!json_object_equal(got, wv))
            problem(p, "%s: variable %s = %s, the oracle has %s", bk, name, json_object_to_json_string(got),
                    json_object_to_json_string(wv));
        }
        json_object_object_foreach(vars, gname, gv) {
          (void)gv;
          if (!json_object_object_get_ex(want, gname, NULL))
            problem(p, "%s: variable %s is set, the oracle has no such variable", bk, gname);
        }
      }
      json_object_put(want);
    }
    oracle_free(&o);
  }
  json_object_put(vars);
  evlist_free(&real);
  free(real_jobs.items);
  free(real_tasks.items);
  free(jobs);
  free(tasks);
  free(elems);
  free(timers);
  free(subs);
  for (size_t i = 0; i < nev; i++) cf_store_event_release(&evs[i]);
  cf_free(evs);
  return p->count == before;
}

static int cmd_check(const char *db, long n) {
  const struct cf_store_ops *ops;
  struct cf_store *st;
  struct cf_error err;
  cf_error_clear(&err);
  if (cf_store_open(db, CF_STORE_READONLY, &ops, &st, &err)) fatal("cannot open the database", &err);
  struct problems p = {0};
  struct models ms = {0};
  /* Every top-level instance, by business key. */
  uint64_t *key_of = calloc((size_t)n + 1, sizeof *key_of);
  long counts[3] = {0}, total = 0, foreign = 0, passed = 0, oracle_skipped = 0, children = 0;
  struct keycount jobs_done = {0}, tasks_done = {0};
  uint64_t after = 0;
  for (;;) {
    struct cf_store_instance_filter f = {.state = -1, .incident = -1, .limit = 1000, .after_key = after};
    struct cf_store_instance *rows = NULL;
    size_t k = 0;
    cf_error_clear(&err);
    if (ops->instance_list(st, &f, &rows, &k, &err)) fatal("listing instances", &err);
    for (size_t j = 0; j < k; j++) {
      struct cf_store_instance *r = &rows[j];
      after = r->key;
      if (r->parent_key) {
        children++;
        cf_store_instance_release(r);
        continue;
      }
      total++;
      if (r->state <= CF_STORE_TERMINATED) counts[r->state]++;
      if (r->state != CF_STORE_COMPLETED) collect_done(ops, st, r->key, &jobs_done, &tasks_done);
      const char *bk = r->business_key;
      char *end = NULL;
      long i = bk && !strncmp(bk, "c-", 2) ? strtol(bk + 2, &end, 10) : -1;
      if (i < 0 || i >= n || !end || *end) {
        foreign++;
        problem(&p, "instance %llu has business key %s, not one of c-0..c-%ld", (unsigned long long)r->key,
                bk ? bk : "(none)", n - 1);
      } else if (key_of[i]) {
        problem(&p, "%s: started twice (instances %llu and %llu)", bk, (unsigned long long)key_of[i],
                (unsigned long long)r->key);
      } else {
        key_of[i] = r->key;
        if (r->state != CF_STORE_COMPLETED) {
          problem(&p, "%s: instance %llu is %s%s", bk, (unsigned long long)r->key,
                  r->state == CF_STORE_ACTIVE ? "still active" : "terminated", r->incident ? " (with an incident)" : "");
        } else {
          struct cf_store_instance full;
          cf_error_clear(&err);
          if (ops->instance_get(st, r->key, &full, &err)) {
            problem(&p, "%s: cannot read instance %llu: %s", bk, (unsigned long long)r->key, err.msg);
          } else {
            passed += check_instance(bk, &full, ops, st, &ms, i, &jobs_done, &tasks_done, &p, &oracle_skipped);
            cf_store_instance_release(&full);
          }
        }
      }
      cf_store_instance_release(r);
    }
    cf_free(rows);
    if (k < 1000) break;
  }
  long missing = 0;
  for (long i = 0; i < n; i++) {
    if (key_of[i]) continue;
    if (++missing <= 20) problem(&p, "c-%ld: no instance", i);
    else p.count++;
  }
  /* The workers' logs against the history. */
  struct keycount logged_jobs = {0}, logged_tasks = {0};
  long job_lines = read_log(db, "jobs.log", &logged_jobs, &p);
  long task_lines = read_log(db, "tasks.log", &logged_tasks, &p);
  {
    char path[4096];
    snprintf(path, sizeof path, "%s.problems.log", db);
    FILE *fp = fopen(path, "r");
    char line[1400];
    while (fp && fgets(line, sizeof line, fp)) {
      line[strcspn(line, "\n")] = 0;
      problem(&p, "a worker saw: %s", line);
    }
    if (fp) fclose(fp);
  }
  long lost = 0;
  for (size_t i = 0; i < logged_jobs.cap; i++)
    if (logged_jobs.keys[i] && !keycount_get(&jobs_done, logged_jobs.keys[i]) && lost++ < 20)
      problem(&p, "job %llu: a worker was told it completed it, but no history has it completed (lost)",
              (unsigned long long)logged_jobs.keys[i]);
  for (size_t i = 0; i < logged_tasks.cap; i++)
    if (logged_tasks.keys[i] && !keycount_get(&tasks_done, logged_tasks.keys[i]) && lost++ < 40)
      problem(&p, "user task %llu: a worker was told it completed it, but no history has it completed (lost)",
              (unsigned long long)logged_tasks.keys[i]);
  printf("check: %ld instances (%ld active, %ld completed, %ld terminated, %ld foreign, %ld children), %ld expected;"
         " %ld passed every check; logs: %ld job completions, %ld user task completions; %ld problems\n",
         total, counts[0], counts[1], counts[2], foreign, children, n, passed, job_lines, task_lines, p.count);
  if (oracle_skipped) printf("check: %ld instances were checked without the oracle\n", oracle_skipped);
  keycount_free(&jobs_done);
  keycount_free(&tasks_done);
  keycount_free(&logged_jobs);
  keycount_free(&logged_tasks);
  free(key_of);
  models_free(&ms);
  ops->close(st);
  return p.count ? 1 : 0;
}

/* ================================================================ main */

static int usage(void) {
  fputs("usage: crash_driver load DB MODEL N\n"
        "       crash_driver work DB WORKER [TYPE...]\n"
        "       crash_driver check DB N\n",
        stderr);
  return 2;
}

static bool parse_n(const char *s, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < 0 || v > 10000000) return false;
  *out = v;
  return true;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGXFSZ, SIG_IGN); /* past ulimit -f: EFBIG, reported like a full disk (faults.sh) */
  if (argc < 3) return usage();
  g_db = argv[2];
  long n;
  if (!strcmp(argv[1], "load") && argc == 5 && parse_n(argv[4], &n)) return cmd_load(argv[2], argv[3], n);
  if (!strcmp(argv[1], "work") && argc >= 4 && argv[3][0]) return cmd_work(argv[2], argv[3], argv + 4, argc - 4);
  if (!strcmp(argv[1], "check") && argc == 4 && parse_n(argv[3], &n)) return cmd_check(argv[2], n);
  return usage();
}
