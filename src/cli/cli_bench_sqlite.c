/*
 * `crmflow bench --store sqlite` (shared/contracts.md §8): N instances of a
 * model through the durable runtime, at the default durability (SQLite WAL,
 * synchronous=FULL: every commit survives a power cut).
 *
 * The bench plays a busy server: up to --inflight instances are in flight
 * at once. Each round is one batch (one durable commit, as the writer's
 * group commit makes it): it starts instances to fill the window, then
 * activates every job of the model's job types (leased to worker "bench")
 * and completes each with no variables, and completes every open user
 * task with none. Every command goes the whole way: the instance's state
 * is written, its side rows replaced, its history appended, the job leased
 * and checked. Rounds go on until every instance has ended.
 *
 * Beside it, in the same run and on the same disk, the physical limit: the
 * rate of durable SQLite commits of one small row each. The JSON line gives
 * both, and the throughput at each tenth of the run (to see that it stays
 * flat as the database grows). On a terminal, progress goes to stderr.
 *
 * --db postgres://... runs the same rounds on that PostgreSQL database
 * ("store": "postgres", "durability": "server": the server's
 * synchronous_commit). There the raw rate ("raw_commit_probe" says which) is
 * the server's rate of single-row INSERT commits from one connection, into a
 * probe table of the same database created and dropped for it
 * (cf_store_pg_commit_rate), measured after the store's migrations and
 * before the run; db_bytes is null (the server's files are not the bench's
 * to read). The database may hold crmflow data already: the model is
 * deployed (again) and the bench's instances are started beside the rest.
 *
 * --nodes N (PostgreSQL) plays N crmflow nodes on one database: N processes,
 * each with its own connection and its own batches (group commit per node),
 * started together once all are connected. Each starts its share of the
 * instances, keeping the instances in flight (all nodes together) under
 * --inflight; jobs are leased by whichever node asks first (FOR UPDATE SKIP
 * LOCKED, as serve nodes lease them), so an instance started on one node
 * moves on wherever its jobs are taken; user tasks are shared out by key.
 * The clock runs from the start signal until the last node has seen every
 * instance end; the counts are the sums over the nodes.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "cli/cli.h"
#include "runtime/cf_runtime.h"

#define MAX_ROUNDS_IDLE 3
#define BATCH_OPS 1024 /* operations per commit, as the writer's default max_batch */

/* Ends the batch when it holds BATCH_OPS operations, and opens the next. */
static int batch_tick(struct cf_runtime *rt, size_t *in_batch, struct cf_error *err) {
  if (++*in_batch < BATCH_OPS) return CF_OK;
  *in_batch = 0;
  int rc = cf_runtime_batch_commit(rt, err);
  return rc ? rc : cf_runtime_batch_begin(rt, err);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The static job types of the model's elements, each once. */
static size_t job_types(const struct cf_bpmn_model *m, const char **out, size_t max, bool *dynamic) {
  size_t n = 0;
  *dynamic = false;
  for (uint32_t i = 0; i < m->nelements; i++) {
    const struct cf_bpmn_value *t = &m->elements[i].job_type;
    if (!t->text) continue;
    if (t->expr) {
      *dynamic = true;
      continue;
    }
    bool seen = false;
    for (size_t k = 0; k < n && !seen; k++) seen = !strcmp(out[k], t->text);
    if (!seen && n < max) out[n++] = t->text;
  }
  return n;
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) ? 0 : (long)st.st_size;
}

/* ------------------------------------------------------------ one round */

/* What a round needs. */
struct round {
  struct cf_runtime *rt;
  const struct cf_store_ops *ops;
  struct cf_store *st;
  const char *pid;
  const struct cf_feel_value *vars;
  const char **types;
  size_t ntypes;
  long fetch;           /* jobs leased per type, user tasks read, per round */
  unsigned node, nodes; /* user tasks: this node completes those whose key % nodes == node */
};

/*
 * One round, one batch (one durable commit): starts `starts` instances, then
 * completes every job of the model's types it can lease and every open user
 * task of its share, with no variables. *moved: the commands that went
 * through. Says what failed on stderr and returns 1.
 */
static int round_run(struct round *c, long starts, size_t *moved) {
  struct cf_error err;
  cf_error_clear(&err);
  *moved = 0;
  if (cf_runtime_batch_begin(c->rt, &err)) {
    fprintf(stderr, "crmflow bench: %s\n", err.msg);
    return 1;
  }
  size_t in_batch = 0;
  for (long i = 0; i < starts; i++) {
    if (cf_runtime_start(c->rt, c->pid, 0, c->vars, NULL, NULL, &err)) {
      fprintf(stderr, "crmflow bench: start refused: %s\n", err.msg);
      cf_runtime_batch_rollback(c->rt);
      return 1;
    }
    ++*moved;
    if (batch_tick(c->rt, &in_batch, &err)) goto commit_failed;
  }
  for (size_t t = 0; t < c->ntypes; t++) {
    struct cf_runtime_job *jobs = NULL;
    size_t n = 0;
    if (cf_runtime_jobs_activate(c->rt, c->types[t], (size_t)c->fetch, "bench", 300000, &jobs, &n, &err)) {
      fprintf(stderr, "crmflow bench: activating %s: %s\n", c->types[t], err.msg);
      cf_runtime_batch_rollback(c->rt);
      return 1;
    }
    for (size_t i = 0; i < n; i++) {
      if (cf_runtime_job_complete(c->rt, jobs[i].job.key, "bench", NULL, &err) == CF_OK) ++*moved;
      if (batch_tick(c->rt, &in_batch, &err)) {
        cf_runtime_jobs_release(jobs, n);
        goto commit_failed;
      }
    }
    cf_runtime_jobs_release(jobs, n);
  }
  struct cf_store_task_filter tf = {.limit = (size_t)c->fetch};
  struct cf_store_user_task *tasks = NULL;
  size_t nt = 0;
  if (c->ops->task_list(c->st, &tf, &tasks, &nt, &err) == CF_OK) {
    for (size_t i = 0; i < nt; i++) {
      bool mine = c->nodes < 2 || tasks[i].key % c->nodes == c->node;
      if (mine && cf_runtime_task_complete(c->rt, tasks[i].key, NULL, &err) == CF_OK) ++*moved;
      cf_store_user_task_release(&tasks[i]);
      if (mine && batch_tick(c->rt, &in_batch, &err)) {
        for (size_t k = i + 1; k < nt; k++) cf_store_user_task_release(&tasks[k]);
        cf_free(tasks);
        goto commit_failed;
      }
    }
    cf_free(tasks);
  }
  if (cf_runtime_batch_commit(c->rt, &err)) {
  commit_failed:
    fprintf(stderr, "crmflow bench: commit: %s\n", err.msg);
    cf_runtime_batch_rollback(c->rt);
    return 1;
  }
  return 0;
}

/* The counts the JSON line gives, of one run or summed over the nodes. */
struct tally {
  long started, ended; /* instances */
  uint64_t jobs, tasks, operations, commits;
  long rss_kb;
  int status; /* 0, 1 failed, 2 stuck */
};

static void tally_since(struct tally *t, const struct cf_runtime_stats *s0, const struct cf_runtime_stats *s) {
  t->ended = (long)((s->instances_completed + s->instances_terminated) - (s0->instances_completed + s0->instances_terminated));
  t->jobs = s->jobs_completed - s0->jobs_completed;
  t->tasks = s->user_tasks_completed - s0->user_tasks_completed;
  t->operations = s->operations - s0->operations;
  t->commits = s->commits - s0->commits;
}

/* ------------------------------------------------------------ several nodes */

#define MAX_NODES 16
#define STUCK_SECONDS 10.0

static long sum_field(struct tally *slots, unsigned n, bool ended) {
  long t = 0;
  for (unsigned i = 0; i < n; i++)
    t += ended ? __atomic_load_n(&slots[i].ended, __ATOMIC_RELAXED) : __atomic_load_n(&slots[i].started, __ATOMIC_RELAXED);
  return t;
}

/*
 * One node, in a process of its own: connects, says so on ready_fd ('r', or
 * 'x' when it cannot), waits for go_fd to close, then runs rounds until every
 * instance of every node has ended. Its counts go to slots[node] (shared).
 */
static int node_run(const char *db, const struct round *proto, long share, long total, long inflight,
                    struct tally *slots, int ready_fd, int go_fd) {
  struct round c = *proto;
  struct tally *me = &slots[c.node];
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_runtime_opts o = {.db = db, .actor = "bench", .cache_instances = (size_t)inflight * 2};
  char ready = 'r', go;
  if (cf_runtime_open(&o, &c.rt, &err)) {
    fprintf(stderr, "crmflow bench: node %u: %s\n", c.node + 1, err.msg);
    ready = 'x';
  }
  if (write(ready_fd, &ready, 1) != 1 || ready != 'r') {
    cf_runtime_close(c.rt);
    return 1;
  }
  while (read(go_fd, &go, 1) < 0 && errno == EINTR) {
  }
  cf_runtime_store(c.rt, &c.ops, &c.st);
  struct cf_runtime_stats s0, s;
  cf_runtime_stats(c.rt, &s0);
  long started = 0, seen = -1;
  double moved_at = now_seconds();
  int status = 1;
  for (;;) {
    long ended_all = sum_field(slots, c.nodes, true), started_all = sum_field(slots, c.nodes, false);
    if (started == share && ended_all >= total) {
      status = 0;
      break;
    }
    /* The window is shared: each node fills its part of what is free. */
    long room = (inflight - (started_all - ended_all)) / (long)c.nodes;
    long starts = share - started < room ? share - started : room;
    if (starts < 0) starts = 0;
    size_t moved;
    if (round_run(&c, starts, &moved)) break;
    started += starts;
    cf_runtime_stats(c.rt, &s);
    tally_since(me, &s0, &s);
    __atomic_store_n(&me->started, started, __ATOMIC_RELAXED);
    long progress = sum_field(slots, c.nodes, true) + sum_field(slots, c.nodes, false);
    double t = now_seconds();
    if (progress != seen) {
      seen = progress;
      moved_at = t;
    } else if (t - moved_at > STUCK_SECONDS) {
      fprintf(stderr, "crmflow bench: node %u: no instance moved for %.0f s (an incident, a timer, a message, or a job type the bench does not know)\n",
              c.node + 1, STUCK_SECONDS);
      status = 2;
      break;
    }
    if (!moved) usleep(2000); /* the others hold the work: do not spin */
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  me->rss_kb = ru.ru_maxrss;
  me->status = status;
  cf_runtime_close(c.rt);
  return status;
}

/*
 * Runs `nodes` node processes and waits for them. *seconds: from the start
 * signal to the last node's end; *sum: their counts summed (rss: the
 * largest); tenths as in the single-process run.
 */
static int nodes_run(unsigned nodes, const char *db, const struct round *proto, long instances, long inflight,
                     double *seconds, struct tally *sum, double *tenth_rate, int *ntenths) {
  struct tally *slots = mmap(NULL, sizeof *slots * nodes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (slots == MAP_FAILED) {
    fprintf(stderr, "crmflow bench: shared memory for the nodes: %s\n", strerror(errno));
    return 1;
  }
  memset(slots, 0, sizeof *slots * nodes);
  int ready[2], go[2];
  if (pipe(ready) || pipe(go)) {
    fprintf(stderr, "crmflow bench: pipe: %s\n", strerror(errno));
    munmap(slots, sizeof *slots * nodes);
    return 1;
  }
  pid_t kids[MAX_NODES];
  unsigned nkids = 0;
  fflush(stdout);
  fflush(stderr);
  for (unsigned i = 0; i < nodes; i++) {
    pid_t k = fork();
    if (k < 0) {
      fprintf(stderr, "crmflow bench: fork: %s\n", strerror(errno));
      break;
    }
    if (k == 0) {
      close(ready[0]);
      close(go[1]);
      struct round c = *proto;
      c.node = i;
      c.nodes = nodes;
      long share = instances / nodes + ((long)i < instances % nodes ? 1 : 0);
      _exit(node_run(db, &c, share, instances, inflight, slots, ready[1], go[0]));
    }
    kids[nkids++] = k;
  }
  close(ready[1]);
  close(go[0]);
  int status = nkids == nodes ? 0 : 1;
  for (unsigned i = 0; i < nkids && status == 0; i++) {
    char c = 0;
    ssize_t got;
    while ((got = read(ready[0], &c, 1)) < 0 && errno == EINTR) {
    }
    if (got != 1 || c != 'r') status = 1;
  }
  close(ready[0]);
  if (status)
    for (unsigned i = 0; i < nkids; i++) kill(kids[i], SIGTERM);
  double t0 = now_seconds(), tprev = t0, last_shown = 0;
  close(go[1]); /* go */
  bool tty = isatty(STDERR_FILENO);
  long next_tenth = instances / 10 > 0 ? instances / 10 : 1, prev_done = 0;
  unsigned running = nkids;
  while (running > 0) {
    int ws;
    pid_t k = waitpid(-1, &ws, WNOHANG);
    if (k > 0) {
      running--;
      if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) status = status ? status : (WIFEXITED(ws) ? WEXITSTATUS(ws) : 1);
      continue;
    }
    if (k < 0 && errno != EINTR) break;
    long done = sum_field(slots, nodes, true);
    double t = now_seconds();
    if (done >= next_tenth && *ntenths < 10) {
      double rate = t > tprev ? (double)(done - prev_done) / (t - tprev) : 0;
      while (done >= next_tenth && *ntenths < 10) {
        tenth_rate[(*ntenths)++] = rate;
        next_tenth += instances / 10 > 0 ? instances / 10 : 1;
      }
      tprev = t;
      prev_done = done;
    }
    if (tty && t - last_shown >= 0.5) {
      last_shown = t;
      fprintf(stderr, "\r  %ld of %ld instances completed on %u nodes, %.0f/s ", done, instances, nodes,
              t > t0 ? (double)done / (t - t0) : 0.0);
      fflush(stderr);
    }
    usleep(20000);
  }
  *seconds = now_seconds() - t0;
  if (tty) fputc('\n', stderr);
  memset(sum, 0, sizeof *sum);
  for (unsigned i = 0; i < nodes; i++) {
    sum->started += slots[i].started;
    sum->ended += slots[i].ended;
    sum->jobs += slots[i].jobs;
    sum->tasks += slots[i].tasks;
    sum->operations += slots[i].operations;
    sum->commits += slots[i].commits;
    if (slots[i].rss_kb > sum->rss_kb) sum->rss_kb = slots[i].rss_kb;
  }
  munmap(slots, sizeof *slots * nodes);
  return status;
}

/* ------------------------------------------------------------ the command */

int cf__cli_bench_sqlite(const char *model_path, const char *process_id, long instances, long inflight,
                         const struct cf_feel_value *vars, const char *db_arg, unsigned nodes) {
  char dir[256] = "", db[512], probe[600];
  bool pg = db_arg && (!strncmp(db_arg, "postgres://", 11) || !strncmp(db_arg, "postgresql://", 13));
  if (nodes > 0 && !pg) {
    fprintf(stderr, "crmflow bench: --nodes needs --db postgres://... (nodes share one PostgreSQL database)\n");
    return 2;
  }
  if (nodes > MAX_NODES) {
    fprintf(stderr, "crmflow bench: --nodes is at most %d\n", MAX_NODES);
    return 2;
  }
  if (pg) {
    snprintf(db, sizeof db, "%s", db_arg);
    probe[0] = '\0';
  } else if (db_arg) {
    snprintf(db, sizeof db, "%s", db_arg);
    if (access(db, F_OK) == 0) {
      fprintf(stderr, "crmflow bench: %s exists; the bench wants a new database (remove it, or name another)\n", db);
      return 1;
    }
    snprintf(probe, sizeof probe, "%s.probe", db);
  } else {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/crmflow-bench-XXXXXX", tmp && *tmp ? tmp : "/var/tmp");
    if (!mkdtemp(dir)) {
      fprintf(stderr, "crmflow bench: cannot make a temporary directory %s: %s\n", dir, strerror(errno));
      return 1;
    }
    snprintf(db, sizeof db, "%s/bench.db", dir);
    snprintf(probe, sizeof probe, "%s/probe.db", dir);
  }
  if (inflight <= 0) inflight = 1000;
  int status = 1;
  char why[256];
  size_t len = 0;
  char *xml = cf_cli_read_file(model_path, CF_BPMN_MAX_BYTES + 1, &len, why, sizeof why);
  struct cf_runtime *rt = NULL;
  struct cf_runtime_deployed *dep = NULL;
  size_t ndep = 0;
  struct cf_bpmn_model *model = NULL;
  struct cf_error err;
  cf_error_clear(&err);
  double raw = 0;
  double tenth_rate[10] = {0};
  int ntenths = 0;
  struct cf_buf line;
  cf_buf_init(&line);
  if (!xml) {
    fprintf(stderr, "crmflow bench: cannot read %s: %s\n", model_path, why);
    goto out;
  }
  /* The disk's limit first, while nothing else writes (PostgreSQL: once the store has migrated). */
  if (!pg && cf_store_sqlite_commit_rate(probe, 2.0, &raw, &err)) {
    fprintf(stderr, "crmflow bench: measuring the disk's commit rate: %s\n", err.msg);
    goto out;
  }
  if (!pg) {
    unlink(probe);
    char side[700];
    snprintf(side, sizeof side, "%s-wal", probe);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", probe);
    unlink(side);
  }

  struct cf_runtime_opts o = {.db = db, .actor = "bench", .cache_instances = (size_t)inflight * 2};
  if (cf_runtime_open(&o, &rt, &err)) {
    fprintf(stderr, "crmflow bench: %s\n", err.msg);
    goto out;
  }
  if (pg && cf_store_pg_commit_rate(db, 2.0, &raw, &err)) {
    fprintf(stderr, "crmflow bench: measuring the server's commit rate: %s\n", err.msg);
    goto out;
  }
  struct cf_bpmn_problems probs;
  cf_bpmn_problems_init(&probs);
  int rc = cf_runtime_deploy(rt, model_path, xml, len, &dep, &ndep, &probs, &err);
  cf_bpmn_problems_release(&probs);
  if (rc) {
    fprintf(stderr, "crmflow bench: %s\n", err.msg);
    goto out;
  }
  const char *pid = NULL;
  for (size_t i = 0; i < ndep; i++)
    if (!process_id || !strcmp(dep[i].process_id, process_id)) {
      pid = dep[i].process_id;
      break;
    }
  if (!pid) {
    fprintf(stderr, "crmflow bench: the model has no executable process '%s'\n", process_id ? process_id : "");
    goto out;
  }
  cf_bpmn_problems_init(&probs);
  model = cf_bpmn_parse(xml, len, model_path, &probs);
  cf_bpmn_problems_release(&probs);
  const char *types[64];
  bool dynamic = false;
  size_t ntypes = model ? job_types(model, types, 64, &dynamic) : 0;

  struct round rnd = {.pid = pid, .vars = vars, .types = types, .ntypes = ntypes, .fetch = inflight * 2};
  struct tally sum = {0};
  long stuck = 0;
  double seconds = 0;
  if (nodes > 0) {
    /* The nodes connect on their own; this process keeps no connection across the fork. */
    cf_runtime_close(rt);
    rt = NULL;
    int ns = nodes_run(nodes, db, &rnd, instances, inflight, &seconds, &sum, tenth_rate, &ntenths);
    if (ns == 1) goto out;
    if (ns) stuck = instances - sum.ended;
  } else {
    rnd.rt = rt;
    cf_runtime_store(rt, &rnd.ops, &rnd.st);
    long started = 0, idle = 0;
    struct cf_runtime_stats s0, s;
    cf_runtime_stats(rt, &s0);
    double t0 = now_seconds(), tprev = t0, last_shown = 0;
    bool tty = isatty(STDERR_FILENO);
    long next_tenth = instances / 10 > 0 ? instances / 10 : 1, prev_done = 0;
    for (;;) {
      cf_runtime_stats(rt, &s);
      tally_since(&sum, &s0, &s);
      long done = sum.ended;
      if (done >= next_tenth && ntenths < 10) {
        /* The rate since the last tenth crossed, for every tenth crossed now. */
        double t = now_seconds();
        double rate = t > tprev ? (double)(done - prev_done) / (t - tprev) : 0;
        while (done >= next_tenth && ntenths < 10) {
          tenth_rate[ntenths++] = rate;
          next_tenth += instances / 10 > 0 ? instances / 10 : 1;
        }
        tprev = t;
        prev_done = done;
      }
      long active = started - done;
      if (tty) {
        double t = now_seconds();
        if (t - last_shown >= 0.5 || (started == instances && active == 0)) {
          last_shown = t;
          fprintf(stderr, "\r  %ld of %ld instances completed, %.0f/s ", done, instances,
                  t > t0 ? (double)done / (t - t0) : 0.0);
          fflush(stderr);
        }
      }
      if (started == instances && active == 0) break;
      long starts = instances - started < inflight - active ? instances - started : inflight - active;
      size_t moved;
      if (round_run(&rnd, starts, &moved)) goto out;
      started += starts;
      if (moved) {
        idle = 0;
      } else if (++idle >= MAX_ROUNDS_IDLE) {
        stuck = active;
        fprintf(stderr, "crmflow bench: %ld instances cannot go on (an incident, a timer, a message, or a job type %s)\n",
                active, dynamic ? "given by an expression" : "the bench does not know");
        break;
      }
    }
    seconds = now_seconds() - t0;
    if (tty) fputc('\n', stderr);
    cf_runtime_stats(rt, &s);
    tally_since(&sum, &s0, &s);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    sum.rss_kb = ru.ru_maxrss;
  }
  long done = sum.ended;
  uint64_t commits = sum.commits, opsn = sum.operations;
  double ips = seconds > 0 ? (double)done / seconds : 0;
  char wal[700];
  snprintf(wal, sizeof wal, "%s-wal", db);
  cf_buf_puts(&line, "{\"engine\": \"crmflow\", \"model\": ");
  cf_buf_json_string(&line, model_path, strlen(model_path));
  cf_buf_puts(&line, ", \"process\": ");
  cf_buf_json_string(&line, pid, strlen(pid));
  cf_buf_printf(&line,
                ", \"store\": \"%s\", \"durability\": \"%s\", \"nodes\": %u, \"instances\": %ld, \"seconds\": %.3f, "
                "\"instances_per_second\": %.1f, \"peak_rss_kb\": %ld, \"completed\": %ld, \"stuck\": %ld, "
                "\"inflight\": %ld, \"jobs\": %llu, \"user_tasks\": %llu, \"operations\": %llu, \"commits\": %llu, "
                "\"operations_per_commit\": %.1f, \"commits_per_second\": %.1f, "
                "\"raw_durable_commits_per_second\": %.1f, \"commit_rate_fraction\": %.3f, "
                "\"instances_per_raw_commit\": %.2f, \"raw_commit_probe\": \"%s\","
                " \"instances_per_second_by_tenth\": [",
                pg ? "postgres" : "sqlite", pg ? "server" : "full", nodes > 0 ? nodes : 1u, instances, seconds, ips,
                sum.rss_kb, done, stuck, inflight, (unsigned long long)sum.jobs, (unsigned long long)sum.tasks,
                (unsigned long long)opsn,
                (unsigned long long)commits, commits ? (double)opsn / (double)commits : 0.0,
                seconds > 0 ? (double)commits / seconds : 0.0, raw,
                raw > 0 && seconds > 0 ? (double)commits / seconds / raw : 0.0, raw > 0 ? ips / raw : 0.0,
                pg ? "postgres: single-row INSERT commits from one connection, probe table of the same database"
                   : "sqlite: single-row commits, WAL, synchronous=FULL, beside the database");
  for (int i = 0; i < ntenths; i++) cf_buf_printf(&line, "%s%.1f", i ? ", " : "", tenth_rate[i]);
  /* The file's size once closed (the last connection checkpoints the WAL into it). */
  cf_runtime_close(rt);
  rt = NULL;
  if (pg)
    cf_buf_puts(&line, "], \"db_bytes\": null, \"db_bytes_per_instance\": null}\n");
  else
    cf_buf_printf(&line, "], \"db_bytes\": %ld, \"db_bytes_per_instance\": %.0f}\n", file_size(db) + file_size(wal),
                  done ? (double)(file_size(db) + file_size(wal)) / (double)done : 0.0);
  fputs(line.data ? line.data : "{}\n", stdout);
  fflush(stdout);
  status = stuck ? 1 : 0;
out:
  cf_buf_release(&line);
  cf_runtime_deployed_release(dep, ndep);
  cf_runtime_close(rt);
  cf_bpmn_model_free(model);
  cf_free(xml);
  if (dir[0]) {
    const char *sfx[] = {"bench.db", "bench.db-wal", "bench.db-shm", "probe.db", "probe.db-wal", "probe.db-shm"};
    for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
      char p[600];
      snprintf(p, sizeof p, "%s/%s", dir, sfx[i]);
      unlink(p);
    }
    rmdir(dir);
  }
  return status;
}
