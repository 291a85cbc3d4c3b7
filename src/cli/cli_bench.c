/*
 * `crmflow bench` (shared/contracts.md §8): runs whole instances of a
 * model's executable process through the engine, in memory, and prints one
 * JSON line with the throughput and the memory an in-flight instance costs.
 *
 * Two phases, both on the same parsed model:
 *
 *   1. Throughput (timed). N instances, ONE AT A TIME: start an instance
 *      with --vars, then, until it ends, complete its first open job (no
 *      variables) or else its first open user task (no variables) through
 *      cf_engine_apply, then free it and start the next. The time covers
 *      cf_engine_start + every cf_engine_apply + freeing the instance and
 *      the events; the model is parsed before the clock starts. One
 *      untimed instance runs first to warm caches.
 *
 *   2. Memory (untimed). M instances INTERLEAVED: all M are started and
 *      left waiting at their first wait state, then every round completes
 *      one job or task in each of them, until all have ended. After the
 *      starts and after each round, the heap in use (glibc mallinfo2():
 *      uordblks + hblkhd, so malloc's chunk headers and rounding count
 *      too) minus the heap in use before the first start, divided by the
 *      number of instances still in flight, is one sample. The largest
 *      sample is "bytes_per_inflight_instance"; all samples are
 *      "inflight_bytes_by_step". It is what a runtime holding M waiting
 *      instances in memory pays per instance.
 *
 * The clock the engine sees is virtual (real time does not matter to
 * these models): a fixed instant, 2026-01-01T00:00:00Z, plus one
 * millisecond per instance. Keys come from a counter.
 *
 * An instance that cannot go on (an incident, a wait with nothing the bench
 * can complete, a refused command, more than MAX_COMMANDS commands) is
 * dropped and counted in "stuck"; the command then exits 1. An engine call
 * that does not return within WATCHDOG_SECS (a loop that never waits) ends
 * the process with a JSON line saying so, exit 1, rather than hanging.
 *
 * --store sqlite runs the instances through the durable runtime instead
 * (cli_bench_sqlite.c).
 */
#include <errno.h>
#include <json-c/json.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_json.h"
#include "cli/cli.h"
#include "engine/cf_engine.h"

int cf__cli_bench_sqlite(const char *model_path, const char *process_id, long instances, long inflight,
                         const struct cf_feel_value *vars, const char *db, unsigned nodes);

#define DEFAULT_INSTANCES 10000L
#define DEFAULT_INFLIGHT 1000L
#define MAX_INSTANCES 1000000000L
#define MAX_INFLIGHT 10000000L
#define MAX_COMMANDS 100000 /* per instance: a loop that never ends is stuck */
#define MAX_STEPS_SHOWN 32  /* samples in "inflight_bytes_by_step" */
#define WATCHDOG_SECS 10
#define VIRTUAL_EPOCH_MS 1767225600000LL /* 2026-01-01T00:00:00Z */

static const char usage_text[] =
    "usage: crmflow bench --model FILE.bpmn [--instances N] [--vars JSON]\n"
    "                     [--store memory|sqlite|postgres] [--db PATH|postgres://...]\n"
    "                     [--nodes K] [--process ID] [--inflight M]\n"
    "\n"
    "Runs N instances (default 10000) of the model's executable process to completion, one\n"
    "at a time, completing every job and user task at once with no variables, then M\n"
    "instances (default 1000; 0 skips) interleaved to measure the memory of an in-flight\n"
    "instance. Prints one JSON line. Exit 1 if an instance got stuck.\n"
    "\n"
    "--store sqlite (or --db PATH) runs them through the durable runtime, up to M in flight,\n"
    "one batch per round; --db postgres://... on PostgreSQL, and --nodes K there plays K\n"
    "nodes (processes) on the one database.\n";

/* ------------------------------------------------------------- state */

struct bench {
  const struct cf_bpmn_model *model;
  uint32_t process;
  struct cf_feel_value vars; /* start variables: a context, or null */
  uint64_t last_key;
  struct cf_engine_env env;
  struct cf_engine_output out;

  /* Counted in the timed phase only. */
  uint64_t commands, jobs, user_tasks, events;
  long stuck;
  char stuck_reason[600];
};

/* What driving an instance one step gave. */
enum step_result { STEP_MOVED, STEP_DONE, STEP_STUCK };

static uint64_t next_key(void *arg) {
  struct bench *b = arg;
  return ++b->last_key;
}

/* ------------------------------------------------------------- watchdog */

/*
 * Every engine call bumps `progress`; a timer checks it every second. A
 * call that has not returned for WATCHDOG_SECS cannot be interrupted
 * safely, so the handler writes a prepared JSON line and ends the process.
 */
static volatile sig_atomic_t progress;
static volatile sig_atomic_t watchdog_seen, watchdog_idle;
static char watchdog_line[1024];
static size_t watchdog_len;

static void watchdog_tick(int sig) {
  (void)sig;
  if (progress != watchdog_seen) {
    watchdog_seen = progress;
    watchdog_idle = 0;
    return;
  }
  if (++watchdog_idle < WATCHDOG_SECS) return;
  ssize_t w = write(STDOUT_FILENO, watchdog_line, watchdog_len);
  (void)w;
  _exit(1);
}

static void watchdog_arm(const char *model_path) {
  struct cf_buf b;
  cf_buf_init(&b);
  cf_buf_puts(&b, "{\"engine\": \"crmflow\", \"model\": ");
  cf_buf_json_string(&b, model_path, strlen(model_path));
  cf_buf_printf(&b, ", \"store\": \"memory\", \"stuck\": 1, \"error\": \"an engine call ran for %d s "
                    "without returning (a loop with no wait state?)\"}\n",
                WATCHDOG_SECS);
  if (!b.oom && b.len < sizeof watchdog_line) {
    memcpy(watchdog_line, b.data, b.len);
    watchdog_len = b.len;
  }
  cf_buf_release(&b);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = watchdog_tick;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{1, 0}, {1, 0}};
  setitimer(ITIMER_REAL, &it, NULL);
}

static void watchdog_disarm(void) {
  struct itimerval it = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &it, NULL);
  signal(SIGALRM, SIG_DFL);
}

/* ------------------------------------------------------------- helpers */

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bytes malloc has handed out and not had back (mmap'd blocks included). */
static size_t heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

/* Forgets the events of the last engine call (counting them), keeping the array. */
static void output_clear(struct bench *b, bool count) {
  for (size_t i = 0; i < b->out.count; i++) cf_free(b->out.events[i].detail);
  if (count) b->events += b->out.count;
  b->out.count = 0;
}

static void note_stuck(struct bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_stuck(struct bench *b, const char *fmt, ...) {
  if (b->stuck_reason[0]) return; /* the first one tells the story */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b->stuck_reason, sizeof b->stuck_reason, fmt, ap);
  va_end(ap);
}

static const char *element_id(const struct bench *b, uint32_t element) {
  return element < b->model->nelements ? b->model->elements[element].id : "?";
}

/* Says why an active instance has nothing the bench can complete. */
static void explain_stuck(struct bench *b, const struct cf_engine_instance *inst) {
  size_t n;
  const struct cf_engine_incident *inc = cf_engine_incidents(inst, &n);
  if (n) {
    note_stuck(b, "incident at '%s': %s", element_id(b, inc[0].element),
               inc[0].message ? inc[0].message : "");
    return;
  }
  const struct cf_engine_element_instance *eis = cf_engine_elements(inst, &n);
  for (size_t i = 0; i < n; i++) {
    if (eis[i].state == CF_ENGINE_EI_ACTIVATED && !eis[i].job_key && !eis[i].user_task_key &&
        eis[i].element < b->model->nelements &&
        b->model->elements[eis[i].element].type != CF_BPMN_SUB_PROCESS) {
      note_stuck(b, "waits at '%s' (%s) with no job or user task to complete",
                 element_id(b, eis[i].element),
                 cf_bpmn_type_name((enum cf_bpmn_type)b->model->elements[eis[i].element].type));
      return;
    }
  }
  note_stuck(b, "active with nothing to complete (%zu element instances)", n);
}

/*
 * Completes the instance's first open job, or else its first user task.
 * count: add to the phase-1 counters.
 */
static enum step_result step(struct bench *b, struct cf_engine_instance *inst, bool count) {
  if (cf_engine_instance_state(inst) != CF_ENGINE_ACTIVE) return STEP_DONE;
  struct cf_engine_cmd cmd;
  memset(&cmd, 0, sizeof cmd);
  size_t n;
  const struct cf_engine_job *jobs = cf_engine_jobs(inst, &n);
  for (size_t i = 0; i < n; i++) {
    if (jobs[i].state == CF_ENGINE_JOB_ACTIVATABLE) {
      cmd.kind = CF_ENGINE_CMD_COMPLETE_JOB;
      cmd.key = jobs[i].key;
      break;
    }
  }
  if (!cmd.key) {
    const struct cf_engine_user_task *tasks = cf_engine_user_tasks(inst, &n);
    if (n) {
      cmd.kind = CF_ENGINE_CMD_COMPLETE_USER_TASK;
      cmd.key = tasks[0].key;
    }
  }
  if (!cmd.key) {
    if (count) explain_stuck(b, inst);
    return STEP_STUCK;
  }
  struct cf_error err;
  int rc = cf_engine_apply(inst, &cmd, &b->env, &b->out, &err);
  progress++;
  output_clear(b, count);
  if (rc) {
    if (count)
      note_stuck(b, "%s %llu refused: %s", cmd.kind == CF_ENGINE_CMD_COMPLETE_JOB ? "job" : "user task",
                 (unsigned long long)cmd.key, err.msg);
    return STEP_STUCK;
  }
  if (count) {
    b->commands++;
    if (cmd.kind == CF_ENGINE_CMD_COMPLETE_JOB) b->jobs++;
    else b->user_tasks++;
  }
  return cf_engine_instance_state(inst) == CF_ENGINE_ACTIVE ? STEP_MOVED : STEP_DONE;
}

/* Starts an instance; NULL (and a stuck note when counting) if the engine refused. */
static struct cf_engine_instance *start(struct bench *b, bool count, int *rc) {
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_engine_instance *inst =
      cf_engine_start(b->model, b->process, -1, &b->vars, &b->env, &b->out, &err);
  progress++;
  output_clear(b, count);
  *rc = inst ? CF_OK : err.code;
  if (!inst && count) note_stuck(b, "start refused: %s", err.msg);
  return inst;
}

/* Runs one instance to its end. false: it got stuck (or could not start). */
static bool run_one(struct bench *b, bool count, int *rc) {
  struct cf_engine_instance *inst = start(b, count, rc);
  if (!inst) return false;
  enum step_result s = STEP_MOVED;
  for (long c = 0; s == STEP_MOVED; c++) {
    if (c == MAX_COMMANDS) {
      if (count) note_stuck(b, "still active after %d commands (a loop that never ends?)", MAX_COMMANDS);
      s = STEP_STUCK;
      break;
    }
    s = step(b, inst, count);
  }
  cf_engine_instance_free(inst);
  return s == STEP_DONE;
}

/* ------------------------------------------------------------- phases */

/* Phase 1: n instances one at a time. CF_ENOMEM stops it; stuck ones are counted. */
static int run_sequential(struct bench *b, long n, double *seconds) {
  int rc = CF_OK;
  double t0 = now_seconds();
  for (long i = 0; i < n; i++) {
    b->env.now_ms = VIRTUAL_EPOCH_MS + i;
    if (!run_one(b, true, &rc)) {
      if (rc == CF_ENOMEM) return rc;
      b->stuck++;
    }
  }
  *seconds = now_seconds() - t0;
  return CF_OK;
}

/*
 * Phase 2: m instances interleaved; fills samples (bytes per in-flight
 * instance after the starts and after each round, up to maxs of them) and
 * *peak. Returns CF_ENOMEM, or CF_OK.
 */
static int run_inflight(struct bench *b, long m, long *samples, size_t maxs, size_t *nsamples,
                        long *peak) {
  *nsamples = 0;
  *peak = 0;
  struct cf_engine_instance **insts = cf_calloc((size_t)m, sizeof *insts);
  if (!insts) return CF_ENOMEM;
  int rc = CF_OK;
  size_t base = heap_in_use();
  for (long i = 0; i < m; i++) {
    b->env.now_ms = VIRTUAL_EPOCH_MS + i;
    insts[i] = start(b, false, &rc);
    if (!insts[i]) {
      if (rc == CF_ENOMEM) goto out;
      continue;
    }
    if (cf_engine_instance_state(insts[i]) != CF_ENGINE_ACTIVE) { /* ended without waiting */
      cf_engine_instance_free(insts[i]);
      insts[i] = NULL;
    }
  }
  for (;;) {
    long live = 0;
    for (long i = 0; i < m; i++) live += insts[i] != NULL;
    if (live == 0) break;
    size_t used = heap_in_use();
    long per = used > base ? (long)((used - base) / (size_t)live) : 0;
    if (*nsamples < maxs) samples[(*nsamples)++] = per;
    if (per > *peak) *peak = per;
    /* One round: each instance moves one step; ended and stuck ones are freed. */
    for (long i = 0; i < m; i++) {
      if (!insts[i]) continue;
      enum step_result s = step(b, insts[i], false);
      if (s != STEP_MOVED) {
        cf_engine_instance_free(insts[i]);
        insts[i] = NULL;
      }
    }
  }
out:
  for (long i = 0; i < m; i++) cf_engine_instance_free(insts[i]);
  cf_free(insts);
  return rc;
}

/* ------------------------------------------------------------- setup */


static struct cf_bpmn_model *load_model(const char *path) {
  char why[256];
  size_t len = 0;
  char *xml = cf_cli_read_file(path, CF_BPMN_MAX_BYTES + 1, &len, why, sizeof why);
  if (!xml) {
    fprintf(stderr, "crmflow bench: cannot read %s: %s\n", path, why);
    return NULL;
  }
  struct cf_bpmn_problems probs;
  cf_bpmn_problems_init(&probs);
  struct cf_bpmn_model *m = cf_bpmn_parse(xml, len, path, &probs);
  cf_free(xml);
  if (!m) {
    fprintf(stderr, "crmflow bench: %s is refused:\n", path);
    for (size_t i = 0; i < probs.count; i++) {
      const struct cf_bpmn_problem *p = &probs.items[i];
      fprintf(stderr, "  %s:%d: ", path, p->line);
      if (p->element_id)
        fprintf(stderr, "element %s (%s): ", p->element_id, p->element_type ? p->element_type : "?");
      fprintf(stderr, "%s\n", p->message ? p->message : "refused");
    }
  }
  cf_bpmn_problems_release(&probs);
  return m;
}

/* The process to run: the one named, or the only executable one with a none start event. */
static int pick_process(const struct cf_bpmn_model *m, const char *id, uint32_t *out) {
  if (id) {
    int32_t p = cf_bpmn_find_process(m, id);
    if (p < 0) {
      fprintf(stderr, "crmflow bench: the model has no process '%s'\n", id);
      return CF_ENOTFOUND;
    }
    *out = (uint32_t)p;
    return CF_OK;
  }
  long found = -1;
  for (uint32_t i = 0; i < m->nprocesses; i++) {
    if (!m->processes[i].executable || m->processes[i].none_start < 0) continue;
    if (found >= 0) {
      fprintf(stderr, "crmflow bench: the model has several executable processes ('%s', '%s'...): "
                      "choose one with --process ID\n",
              m->processes[found].id, m->processes[i].id);
      return CF_EINVAL;
    }
    found = i;
  }
  if (found < 0) {
    fprintf(stderr, "crmflow bench: the model has no executable process with a none start event\n");
    return CF_ENOTFOUND;
  }
  *out = (uint32_t)found;
  return CF_OK;
}

/* --vars: a JSON object (or null). 0, or the exit status of a usage error. */
static int parse_vars(const char *text, struct cf_feel_value *vars) {
  cf_feel_set_null(vars);
  if (!text) return 0;
  struct cf_error err;
  cf_error_clear(&err);
  struct json_object *j = cf_json_parse(text, strlen(text), &err);
  if (!j && err.code != CF_OK) {
    fprintf(stderr, "crmflow bench: --vars: %s\n", err.msg);
    return 2;
  }
  if (!j) return 0;
  if (!json_object_is_type(j, json_type_object)) {
    json_object_put(j);
    fprintf(stderr, "crmflow bench: --vars must be a JSON object\n");
    return 2;
  }
  int rc = cf_feel_from_json(j, vars);
  json_object_put(j);
  if (rc) {
    fprintf(stderr, "crmflow bench: --vars: %s\n",
            rc == CF_ENOMEM ? "out of memory" : "a number beyond the decimal range or a string that is not UTF-8");
    return rc == CF_ENOMEM ? 1 : 2;
  }
  return 0;
}

static bool parse_count(const char *opt, const char *text, long min, long max, long *out) {
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno || end == text || *end || v < min || v > max) {
    fprintf(stderr, "crmflow bench: %s wants a whole number from %ld to %ld, not '%s'\n", opt, min, max,
            text);
    return false;
  }
  *out = v;
  return true;
}

/* ------------------------------------------------------------- the command */

int cf_cli_bench(int argc, char **argv) {
  const char *model_path = NULL, *vars_text = NULL, *store = "memory", *db = NULL, *process_id = NULL;
  long instances = DEFAULT_INSTANCES, inflight = DEFAULT_INFLIGHT, nodes = 0;
  bool inflight_set = false, store_set = false;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(usage_text, stdout);
      return 0;
    }
    bool takes = !strcmp(a, "--model") || !strcmp(a, "--instances") || !strcmp(a, "--vars") ||
                 !strcmp(a, "--store") || !strcmp(a, "--db") || !strcmp(a, "--process") ||
                 !strcmp(a, "--inflight") || !strcmp(a, "--nodes");
    if (!takes) {
      fprintf(stderr, "crmflow bench: unknown argument '%s'\n%s", a, usage_text);
      return 2;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "crmflow bench: %s needs a value\n", a);
      return 2;
    }
    const char *v = argv[++i];
    if (!strcmp(a, "--model")) model_path = v;
    else if (!strcmp(a, "--vars")) vars_text = v;
    else if (!strcmp(a, "--store")) store = v, store_set = true;
    else if (!strcmp(a, "--db")) db = v;
    else if (!strcmp(a, "--process")) process_id = v;
    else if (!strcmp(a, "--instances")) {
      if (!parse_count(a, v, 1, MAX_INSTANCES, &instances)) return 2;
    } else if (!strcmp(a, "--nodes")) {
      if (!parse_count(a, v, 1, 16, &nodes)) return 2;
    } else if (!parse_count(a, v, 0, MAX_INFLIGHT, &inflight)) {
      return 2;
    } else {
      inflight_set = true;
    }
  }
  if (!model_path) {
    fprintf(stderr, "crmflow bench: --model FILE is required\n%s", usage_text);
    return 2;
  }
  bool pg_url = db && (!strncmp(db, "postgres://", 11) || !strncmp(db, "postgresql://", 13));
  /* --db alone says which durable store: a file is SQLite, a URL PostgreSQL. */
  if (db && !store_set) store = pg_url ? "postgres" : "sqlite";
  if (strcmp(store, "memory") && strcmp(store, "sqlite") && strcmp(store, "postgres")) {
    fprintf(stderr, "crmflow bench: --store is memory, sqlite or postgres, not '%s'\n", store);
    return 2;
  }
  if (!strcmp(store, "postgres") && !pg_url) {
    fprintf(stderr, "crmflow bench: --store postgres needs --db postgres://USER@HOST/DBNAME\n");
    return 2;
  }
  if (db && !strcmp(store, "memory")) {
    fprintf(stderr, "crmflow bench: --db goes with --store sqlite or postgres\n");
    return 2;
  }
  if (nodes && !pg_url) {
    fprintf(stderr, "crmflow bench: --nodes needs --db postgres://... (the nodes share one PostgreSQL database)\n");
    return 2;
  }
  if (strcmp(store, "memory")) {
    struct cf_feel_value vars;
    int st = parse_vars(vars_text, &vars);
    if (st) return st;
    st = cf__cli_bench_sqlite(model_path, process_id, instances, inflight_set ? inflight : 1000,
                              vars.type == CF_FEEL_CONTEXT ? &vars : NULL, db, (unsigned)nodes);
    cf_feel_value_release(&vars);
    return st;
  }

  struct bench b;
  memset(&b, 0, sizeof b);
  cf_engine_output_init(&b.out);
  b.env.next_key = next_key;
  b.env.key_arg = &b;
  b.env.now_ms = VIRTUAL_EPOCH_MS;
  int status = parse_vars(vars_text, &b.vars);
  if (status) return status;

  struct cf_bpmn_model *model = load_model(model_path);
  if (!model) {
    cf_feel_value_release(&b.vars);
    return 1;
  }
  b.model = model;
  long samples[MAX_STEPS_SHOWN];
  size_t nsamples = 0;
  long peak_bytes = 0;
  double seconds = 0;
  int rc = CF_OK;
  struct cf_buf line;
  cf_buf_init(&line);
  if (pick_process(model, process_id, &b.process)) {
    status = 1;
    goto out;
  }

  watchdog_arm(model_path);
  /* Warm-up: first use of lazily built tables and malloc's arenas. */
  run_one(&b, false, &rc);
  if (rc != CF_ENOMEM) rc = run_sequential(&b, instances, &seconds);
  if (rc == CF_OK && inflight > 0)
    rc = run_inflight(&b, inflight, samples, MAX_STEPS_SHOWN, &nsamples, &peak_bytes);
  watchdog_disarm();
  if (rc) {
    fprintf(stderr, "crmflow bench: %s\n", rc == CF_ENOMEM ? "out of memory" : cf_strerror(rc));
    status = 1;
    goto out;
  }

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  long done = instances - b.stuck;
  cf_buf_puts(&line, "{\"engine\": \"crmflow\", \"model\": ");
  cf_buf_json_string(&line, model_path, strlen(model_path));
  cf_buf_puts(&line, ", \"process\": ");
  const char *pid = model->processes[b.process].id;
  cf_buf_json_string(&line, pid, strlen(pid));
  cf_buf_printf(&line,
                ", \"store\": \"memory\", \"mode\": \"sequential\", \"instances\": %ld, \"seconds\": %.6f, "
                "\"instances_per_second\": %.1f, \"peak_rss_kb\": %ld, \"completed\": %ld, \"stuck\": %ld, "
                "\"jobs\": %llu, \"user_tasks\": %llu, \"engine_calls_per_second\": %.1f, "
                "\"events\": %llu",
                instances, seconds, seconds > 0 ? (double)done / seconds : 0.0, ru.ru_maxrss, done,
                b.stuck, (unsigned long long)b.jobs, (unsigned long long)b.user_tasks,
                seconds > 0 ? (double)(b.commands + (uint64_t)instances) / seconds : 0.0,
                (unsigned long long)b.events);
  if (inflight > 0) {
    cf_buf_printf(&line, ", \"inflight_instances\": %ld, \"bytes_per_inflight_instance\": %ld", inflight,
                  peak_bytes);
    cf_buf_puts(&line, ", \"inflight_bytes_by_step\": [");
    for (size_t i = 0; i < nsamples; i++) cf_buf_printf(&line, "%s%ld", i ? ", " : "", samples[i]);
    cf_buf_putc(&line, ']');
  }
  if (b.stuck) {
    cf_buf_puts(&line, ", \"stuck_reason\": ");
    cf_buf_json_string(&line, b.stuck_reason, strlen(b.stuck_reason));
  }
  cf_buf_puts(&line, "}\n");
  if (line.oom) {
    fprintf(stderr, "crmflow bench: out of memory\n");
    status = 1;
    goto out;
  }
  fputs(line.data, stdout);
  fflush(stdout);
  if (b.stuck) {
    fprintf(stderr, "crmflow bench: %ld of %ld instances got stuck; the first: %s\n", b.stuck, instances,
            b.stuck_reason);
    status = 1;
  }
out:
  cf_buf_release(&line);
  cf_engine_output_release(&b.out);
  cf_feel_value_release(&b.vars);
  cf_bpmn_model_free(model);
  return status;
}
