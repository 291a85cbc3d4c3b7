/*
 * `crmflow jobs activate|complete|fail|throw-error` and `crmflow incidents
 * [resolve]` (shared/contracts.md §5, docs/cli.md).
 *
 * A worker written as a shell script leases jobs with `jobs activate`, does
 * the work, and answers with `jobs complete` or `jobs fail`, passing
 * --worker so a late answer (its lease expired and another worker took the
 * job) is refused instead of applied twice. Without --worker the command is
 * an operator's and no lease is checked.
 */
#include <stdlib.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_time.h"
#include "cli/cli.h"
#include "feel/cf_feel.h"
#include "runtime/cf_runtime.h"
#include "store/cf_store.h"

#define DEFAULT_MAX 10
#define DEFAULT_WORKER "cli"
#define DEFAULT_TIMEOUT "PT5M"

static const char jobs_usage[] =
    "usage: crmflow jobs activate --type T [--max N] [--timeout DURATION] [--worker NAME]\n"
    "       crmflow jobs complete KEY [--vars JSON] [--worker NAME]\n"
    "       crmflow jobs fail KEY --retries N [--message TEXT] [--backoff DURATION] [--vars JSON]\n"
    "                         [--worker NAME]\n"
    "       crmflow jobs throw-error KEY --code CODE [--message TEXT] [--vars JSON] [--worker NAME]\n"
    "  Every command also takes --db PATH and --json. activate leases up to --max jobs (10) of\n"
    "  a type to a worker (\"cli\") for --timeout (PT5M); a job stays leased until answered or\n"
    "  its lease runs out. fail with --retries 0 raises an incident.\n";

/* "worker:NAME" for the history, or "cli" for an operator. */
static void actor_of(const char *worker, char *buf, size_t len) {
  if (worker)
    snprintf(buf, len, "worker:%s", worker);
  else
    snprintf(buf, len, "cli");
}

/* A job duration option in ms from the runtime's now; false after a usage error. */
static bool duration_ms(const struct cf_cli_args *a, struct cf_runtime *rt, const char *what,
                        const struct cf_time_duration *d, int64_t *out) {
  int64_t now = cf_runtime_now(rt), at;
  if (!cf_cli_time_shift(now, d, 1, &at) || __builtin_sub_overflow(at, now, out)) {
    cf_cli_usage_error(a, "%s is too long", what);
    return false;
  }
  return true;
}

/* The refusal of an outcome for job key. */
static int job_refused(const struct cf_cli_args *a, uint64_t key, int rc, const struct cf_error *err) {
  if (rc == CF_ENOTFOUND)
    return cf_cli_refuse(a, "no job %llu (it was completed, or the key is wrong; list jobs with"
                            " 'crmflow instances show KEY')",
                         (unsigned long long)key);
  if (rc == CF_ECONFLICT)
    return cf_cli_refuse(a, "%s (only the worker holding a job's lease may answer it; without --worker"
                            " you act as an operator)",
                         err->msg);
  return cf_cli_refuse(a, "job %llu: %s", (unsigned long long)key, err->msg);
}

/* ------------------------------------------------------------ jobs activate */

static int jobs_activate(int argc, char **argv) {
  struct cf_cli_opt opts[] = {{"--type", true, NULL}, {"--max", true, NULL},
                              {"--timeout", true, NULL}, {"--worker", true, NULL}};
  struct cf_cli_args a = {.cmd = "jobs activate", .usage = jobs_usage};
  int status = cf_cli_args_parse(&a, argc, argv, opts, 4, 0, 0);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  if (!opts[0].value || !*opts[0].value) return cf_cli_usage_error(&a, "--type T is required (the job type)");
  long max = DEFAULT_MAX;
  if (opts[1].value && !cf_cli_parse_int(&a, "--max", opts[1].value, 1, 10000, &max)) return 2;
  struct cf_time_duration timeout;
  if (!cf_cli_parse_duration(&a, "--timeout", opts[2].value ? opts[2].value : DEFAULT_TIMEOUT, &timeout))
    return 2;
  if (timeout.months == 0 && timeout.secs == 0 && timeout.nanos < 1000000)
    return cf_cli_usage_error(&a, "--timeout must be 1 ms or longer");
  const char *worker = opts[3].value ? opts[3].value : DEFAULT_WORKER;
  if (!*worker) return cf_cli_usage_error(&a, "--worker needs a name");

  struct cf_runtime *rt = NULL;
  struct cf_runtime_job *jobs = NULL;
  size_t n = 0;
  struct cf_buf out;
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);
  char actor[256];
  actor_of(opts[3].value, actor, sizeof actor);
  int64_t timeout_ms;
  if ((status = cf_cli_open_runtime(&a, false, actor, &rt))) goto out;
  if (!duration_ms(&a, rt, "--timeout", &timeout, &timeout_ms)) {
    status = 2;
    goto out;
  }
  if (cf_runtime_jobs_activate(rt, opts[0].value, (size_t)max, worker, timeout_ms, &jobs, &n, &err) !=
      CF_OK) {
    status = cf_cli_refuse(&a, "%s", err.msg);
    goto out;
  }
  if (a.json) {
    cf_buf_puts(&out, "{\"jobs\":[");
    for (size_t i = 0; i < n; i++) {
      if (i) cf_buf_putc(&out, ',');
      cf_cli_json_job(&out, &jobs[i].job, jobs[i].variables ? jobs[i].variables : "{}");
    }
    cf_buf_puts(&out, "]}\n");
  } else if (n == 0) {
    cf_buf_printf(&out, "no job of type '%s' is available\n", opts[0].value);
  } else {
    static const char *const head[] = {"JOB", "INSTANCE", "ELEMENT", "RETRIES", "DEADLINE", "VARIABLES"};
    struct cf_cli_table t;
    cf_cli_table_init(&t, 6, head, 0);
    for (size_t i = 0; i < n; i++) {
      const struct cf_store_job *j = &jobs[i].job;
      char k[24], ik[24], r[16], dl[48];
      snprintf(k, sizeof k, "%llu", (unsigned long long)j->key);
      snprintf(ik, sizeof ik, "%llu", (unsigned long long)j->instance_key);
      snprintf(r, sizeof r, "%d", (int)j->retries);
      const char *row[] = {k, ik, j->element_id, r, cf_cli_format_time(j->lease_until_ms, dl, sizeof dl),
                           jobs[i].variables};
      cf_cli_table_add(&t, row);
    }
    cf_cli_table_render(&t, &out);
    cf_cli_table_release(&t);
  }
  status = cf_cli_emit(&a, &out);
out:
  cf_runtime_jobs_release(jobs, n);
  if (rt) cf_runtime_close(rt);
  cf_buf_release(&out);
  return status;
}

/* ------------------------------------------------------------ jobs complete, fail, throw-error */

enum outcome { COMPLETE, FAIL, THROW };

static int jobs_outcome(enum outcome what, int argc, char **argv) {
  static const char *const names[] = {"jobs complete", "jobs fail", "jobs throw-error"};
  struct cf_cli_opt opts[] = {{"--vars", true, NULL},    {"--worker", true, NULL},
                              {"--retries", true, NULL}, {"--message", true, NULL},
                              {"--backoff", true, NULL}, {"--code", true, NULL}};
  /* Each outcome takes the options it uses. */
  size_t nopts = what == COMPLETE ? 2 : 6;
  struct cf_cli_args a = {.cmd = names[what], .usage = jobs_usage, .what = "KEY"};
  int status = cf_cli_args_parse(&a, argc, argv, opts, nopts, 1, 1);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  if (what == FAIL && opts[5].value)
    return cf_cli_usage_error(&a, "unknown option '--code' (it goes with 'jobs throw-error')");
  if (what == THROW && (opts[2].value || opts[4].value))
    return cf_cli_usage_error(&a, "unknown option '%s' (it goes with 'jobs fail')",
                              opts[2].value ? "--retries" : "--backoff");
  uint64_t key;
  if (!cf_cli_parse_key(&a, "KEY", a.pos[0], &key)) return 2;
  const char *worker = opts[1].value;
  if (worker && !*worker) return cf_cli_usage_error(&a, "--worker needs a name");
  long retries = 0;
  struct cf_time_duration backoff = {0};
  if (what == FAIL) {
    if (!opts[2].value)
      return cf_cli_usage_error(&a, "--retries N is required (the retries left; 0 raises an incident)");
    if (!cf_cli_parse_int(&a, "--retries", opts[2].value, 0, INT32_MAX, &retries)) return 2;
    if (opts[4].value && !cf_cli_parse_duration(&a, "--backoff", opts[4].value, &backoff)) return 2;
  }
  if (what == THROW && (!opts[5].value || !*opts[5].value))
    return cf_cli_usage_error(&a, "--code CODE is required (the BPMN error code to throw)");
  struct cf_feel_value vars;
  if ((status = cf_cli_parse_vars(&a, "--vars", opts[0].value, &vars))) return status;
  const struct cf_feel_value *pvars = opts[0].value ? &vars : NULL;

  struct cf_runtime *rt = NULL;
  struct cf_buf out;
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);
  char actor[256];
  actor_of(worker, actor, sizeof actor);
  if ((status = cf_cli_open_runtime(&a, false, actor, &rt))) goto out;
  int rc;
  const char *done;
  if (what == COMPLETE) {
    rc = cf_runtime_job_complete(rt, key, worker, pvars, &err);
    done = "completed";
  } else if (what == FAIL) {
    int64_t backoff_ms = 0;
    if (!duration_ms(&a, rt, "--backoff", &backoff, &backoff_ms)) {
      status = 2;
      goto out;
    }
    rc = cf_runtime_job_fail(rt, key, worker, (int32_t)retries, opts[3].value, backoff_ms, pvars, &err);
    done = retries > 0 ? "failed (it will be retried)" : "failed (no retries left: an incident is raised)";
  } else {
    rc = cf_runtime_job_throw_error(rt, key, worker, opts[5].value, opts[3].value, pvars, &err);
    done = "threw the error for";
  }
  if (rc != CF_OK) {
    status = job_refused(&a, key, rc, &err);
    goto out;
  }
  if (a.json) {
    cf_buf_puts(&out, "{\"jobKey\":");
    cf_cli_json_key(&out, key);
    if (what == FAIL) cf_buf_printf(&out, ",\"retries\":%ld", retries);
    cf_buf_puts(&out, "}\n");
  } else if (what == THROW) {
    cf_buf_printf(&out, "threw error %s from job %llu\n", opts[5].value, (unsigned long long)key);
  } else {
    cf_buf_printf(&out, "job %llu %s\n", (unsigned long long)key, done);
  }
  status = cf_cli_emit(&a, &out);
out:
  if (rt) cf_runtime_close(rt);
  cf_feel_value_release(&vars);
  cf_buf_release(&out);
  return status;
}

int cf_cli_jobs(int argc, char **argv) {
  struct cf_cli_args a = {.cmd = "jobs", .usage = jobs_usage};
  const char *sub = argc > 0 ? argv[0] : "";
  if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
    fputs(jobs_usage, stdout);
    return 0;
  }
  if (!strcmp(sub, "activate")) return jobs_activate(argc - 1, argv + 1);
  if (!strcmp(sub, "complete")) return jobs_outcome(COMPLETE, argc - 1, argv + 1);
  if (!strcmp(sub, "fail")) return jobs_outcome(FAIL, argc - 1, argv + 1);
  if (!strcmp(sub, "throw-error")) return jobs_outcome(THROW, argc - 1, argv + 1);
  if (!*sub || *sub == '-')
    return cf_cli_usage_error(&a, "missing subcommand (activate, complete, fail, throw-error)");
  return cf_cli_usage_error(&a, "unknown subcommand '%s' (activate, complete, fail, throw-error)", sub);
}

/* ------------------------------------------------------------ incidents */

static const char incidents_usage[] =
    "usage: crmflow incidents [--db PATH] [--json] [--instance KEY]\n"
    "       crmflow incidents resolve KEY [--retries N]\n"
    "  Lists the open incidents. resolve marks one resolved and carries the instance on;\n"
    "  for a job without retries left, --retries N gives the job N retries first.\n";

static int incidents_list(int argc, char **argv) {
  struct cf_cli_opt opts[] = {{"--instance", true, NULL}};
  struct cf_cli_args a = {.cmd = "incidents", .usage = incidents_usage};
  int status = cf_cli_args_parse(&a, argc, argv, opts, 1, 0, 0);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  uint64_t instance = 0;
  if (opts[0].value && !cf_cli_parse_key(&a, "--instance", opts[0].value, &instance)) return 2;

  const struct cf_store_ops *ops = NULL;
  struct cf_store *store = NULL;
  struct cf_store_incident *inc = NULL;
  size_t n = 0;
  struct cf_buf out;
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);
  if ((status = cf_cli_open_reader(&a, &ops, &store))) goto out;
  if (ops->incident_list(store, instance, &inc, &n, &err) != CF_OK) {
    status = cf_cli_refuse(&a, "%s", err.msg);
    goto out;
  }
  if (a.json) {
    cf_buf_puts(&out, "{\"items\":[");
    for (size_t i = 0; i < n; i++) {
      if (i) cf_buf_putc(&out, ',');
      cf_cli_json_incident(&out, &inc[i]);
    }
    cf_buf_puts(&out, "]}\n");
  } else if (n == 0) {
    cf_buf_puts(&out, "no open incidents\n");
  } else {
    cf_cli_render_incidents(&out, inc, n);
  }
  status = cf_cli_emit(&a, &out);
out:
  for (size_t i = 0; i < n; i++) cf_store_incident_release(&inc[i]);
  cf_free(inc);
  if (store) ops->close(store);
  cf_buf_release(&out);
  return status;
}

static int incidents_resolve(int argc, char **argv) {
  struct cf_cli_opt opts[] = {{"--retries", true, NULL}};
  struct cf_cli_args a = {.cmd = "incidents resolve", .usage = incidents_usage, .what = "KEY"};
  int status = cf_cli_args_parse(&a, argc, argv, opts, 1, 1, 1);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  uint64_t key;
  if (!cf_cli_parse_key(&a, "KEY", a.pos[0], &key)) return 2;
  long retries = 0;
  if (opts[0].value && !cf_cli_parse_int(&a, "--retries", opts[0].value, 1, INT32_MAX, &retries)) return 2;

  struct cf_runtime *rt = NULL;
  struct cf_buf out;
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);
  if ((status = cf_cli_open_runtime(&a, false, "cli", &rt))) goto out;
  int rc = cf_runtime_incident_resolve(rt, key, (int32_t)retries, &err);
  if (rc == CF_ENOTFOUND)
    status = cf_cli_refuse(&a, "no open incident %llu (it was resolved, or the key is wrong; list"
                               " incidents with 'crmflow incidents')",
                           (unsigned long long)key);
  else if (rc == CF_ECONFLICT && !retries)
    status = cf_cli_refuse(&a, "cannot resolve incident %llu: %s (pass --retries N)",
                           (unsigned long long)key, err.msg);
  else if (rc != CF_OK)
    status = cf_cli_refuse(&a, "cannot resolve incident %llu: %s", (unsigned long long)key, err.msg);
  if (status) goto out;
  if (a.json) {
    cf_buf_puts(&out, "{\"incidentKey\":");
    cf_cli_json_key(&out, key);
    cf_buf_puts(&out, "}\n");
  } else if (retries) {
    cf_buf_printf(&out, "resolved incident %llu (its job has %ld retr%s)\n", (unsigned long long)key,
                  retries, retries == 1 ? "y" : "ies");
  } else {
    cf_buf_printf(&out, "resolved incident %llu\n", (unsigned long long)key);
  }
  status = cf_cli_emit(&a, &out);
out:
  if (rt) cf_runtime_close(rt);
  cf_buf_release(&out);
  return status;
}

int cf_cli_incidents(int argc, char **argv) {
  if (argc > 0 && !strcmp(argv[0], "resolve")) return incidents_resolve(argc - 1, argv + 1);
  return incidents_list(argc, argv);
}
