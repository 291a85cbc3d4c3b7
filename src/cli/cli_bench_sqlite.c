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
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

int cf__cli_bench_sqlite(const char *model_path, const char *process_id, long instances, long inflight,
                         const struct cf_feel_value *vars, const char *db_arg) {
  char dir[256] = "", db[512], probe[600];
  bool pg = db_arg && (!strncmp(db_arg, "postgres://", 11) || !strncmp(db_arg, "postgresql://", 13));
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

  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  long started = 0, idle = 0, stuck = 0;
  struct cf_runtime_stats s0, s;
  cf_runtime_stats(rt, &s0);
  double t0 = now_seconds(), tprev = t0, last_shown = 0;
  bool tty = isatty(STDERR_FILENO);
  long next_tenth = instances / 10 > 0 ? instances / 10 : 1, prev_done = 0;
  for (;;) {
    cf_runtime_stats(rt, &s);
    long done = (long)((s.instances_completed + s.instances_terminated) - (s0.instances_completed + s0.instances_terminated));
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
    if (cf_runtime_batch_begin(rt, &err)) {
      fprintf(stderr, "crmflow bench: %s\n", err.msg);
      goto out;
    }
    size_t moved = 0, in_batch = 0;
    while (started < instances && active < inflight) {
      if (cf_runtime_start(rt, pid, 0, vars, NULL, NULL, &err)) {
        fprintf(stderr, "crmflow bench: start refused: %s\n", err.msg);
        cf_runtime_batch_rollback(rt);
        goto out;
      }
      started++;
      active++;
      moved++;
      if (batch_tick(rt, &in_batch, &err)) goto commit_failed;
    }
    for (size_t t = 0; t < ntypes; t++) {
      struct cf_runtime_job *jobs = NULL;
      size_t n = 0;
      if (cf_runtime_jobs_activate(rt, types[t], (size_t)inflight * 2, "bench", 300000, &jobs, &n, &err)) {
        fprintf(stderr, "crmflow bench: activating %s: %s\n", types[t], err.msg);
        cf_runtime_batch_rollback(rt);
        goto out;
      }
      for (size_t i = 0; i < n; i++) {
        if (cf_runtime_job_complete(rt, jobs[i].job.key, "bench", NULL, &err) == CF_OK) moved++;
        if (batch_tick(rt, &in_batch, &err)) {
          cf_runtime_jobs_release(jobs, n);
          goto commit_failed;
        }
      }
      cf_runtime_jobs_release(jobs, n);
    }
    struct cf_store_task_filter tf = {.limit = (size_t)inflight * 2};
    struct cf_store_user_task *tasks = NULL;
    size_t nt = 0;
    if (ops->task_list(st, &tf, &tasks, &nt, &err) == CF_OK) {
      for (size_t i = 0; i < nt; i++) {
        if (cf_runtime_task_complete(rt, tasks[i].key, NULL, &err) == CF_OK) moved++;
        cf_store_user_task_release(&tasks[i]);
        if (batch_tick(rt, &in_batch, &err)) {
          for (size_t k = i + 1; k < nt; k++) cf_store_user_task_release(&tasks[k]);
          cf_free(tasks);
          goto commit_failed;
        }
      }
      cf_free(tasks);
    }
    if (cf_runtime_batch_commit(rt, &err)) {
    commit_failed:
      fprintf(stderr, "crmflow bench: commit: %s\n", err.msg);
      cf_runtime_batch_rollback(rt);
      goto out;
    }
    if (moved) {
      idle = 0;
    } else if (++idle >= MAX_ROUNDS_IDLE) {
      stuck = active;
      fprintf(stderr, "crmflow bench: %ld instances cannot go on (an incident, a timer, a message, or a job type %s)\n",
              active, dynamic ? "given by an expression" : "the bench does not know");
      break;
    }
  }
  double seconds = now_seconds() - t0;
  if (tty) fputc('\n', stderr);
  cf_runtime_stats(rt, &s);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  long done = (long)((s.instances_completed + s.instances_terminated) - (s0.instances_completed + s0.instances_terminated));
  uint64_t commits = s.commits - s0.commits, opsn = s.operations - s0.operations;
  double ips = seconds > 0 ? (double)done / seconds : 0;
  char wal[700];
  snprintf(wal, sizeof wal, "%s-wal", db);
  cf_buf_puts(&line, "{\"engine\": \"crmflow\", \"model\": ");
  cf_buf_json_string(&line, model_path, strlen(model_path));
  cf_buf_puts(&line, ", \"process\": ");
  cf_buf_json_string(&line, pid, strlen(pid));
  cf_buf_printf(&line,
                ", \"store\": \"%s\", \"durability\": \"%s\", \"instances\": %ld, \"seconds\": %.3f, "
                "\"instances_per_second\": %.1f, \"peak_rss_kb\": %ld, \"completed\": %ld, \"stuck\": %ld, "
                "\"inflight\": %ld, \"jobs\": %llu, \"user_tasks\": %llu, \"operations\": %llu, \"commits\": %llu, "
                "\"operations_per_commit\": %.1f, \"commits_per_second\": %.1f, "
                "\"raw_durable_commits_per_second\": %.1f, \"commit_rate_fraction\": %.3f, "
                "\"instances_per_raw_commit\": %.2f, \"raw_commit_probe\": \"%s\","
                " \"instances_per_second_by_tenth\": [",
                pg ? "postgres" : "sqlite", pg ? "server" : "full", instances, seconds, ips, ru.ru_maxrss, done, stuck, inflight,
                (unsigned long long)(s.jobs_completed - s0.jobs_completed),
                (unsigned long long)(s.user_tasks_completed - s0.user_tasks_completed), (unsigned long long)opsn,
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
