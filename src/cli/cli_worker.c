/*
 * `crmflow worker`: the built-in job workers (crm.*, email.send,
 * http.request; shared/contracts.md §7) in a process of their own, beside
 * `crmflow serve` or instead of it, against the same database.
 *
 * It opens a runtime and a writer of its own (the store's row versions
 * and leases keep two processes on one database apart) and runs the
 * workers until SIGTERM or SIGINT. Signals are blocked in every thread and
 * taken with sigwait() by the main thread, as serve does: on either, the
 * workers finish or hand back the jobs they hold, then the writer finishes
 * what it acknowledged, and the process exits 0.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "crm/cf_crm.h"
#include "runtime/cf_runtime.h"

static const char usage[] =
    "usage: crmflow worker [--db PATH] [--smtp URL] [--smtp-from ADDRESS] [--allow-hosts HOST[,HOST]]\n"
    "                      [--threads N] [--fast]\n"
    "\n"
    "Runs the built-in job workers against the database until SIGTERM or SIGINT: crm.create-record,\n"
    "crm.update-record, crm.get-record, crm.assign, email.send and http.request (docs/crm.md).\n"
    "\n"
    "  --db PATH               the database (default ./crmflow.db, or $CRMFLOW_DB)\n"
    "  --smtp URL              the mail server of email.send: smtp://HOST:PORT (or smtps://);\n"
    "                          without it email.send jobs fail with an incident\n"
    "  --smtp-from ADDRESS     the sender when a task gives none (default crmflow@localhost)\n"
    "  --allow-hosts H1,H2     the hosts http.request may call (exact names; loopback only when listed);\n"
    "                          without it every http.request job fails with an incident\n"
    "  --threads N             worker threads (default 2)\n"
    "  --fast                  commit without waiting for the disk (as serve --fast)\n";

/* The writer's batch hook: jobs may be waiting. The workers start after the writer. */
static struct cf_crm_workers *notify_workers;

static void on_batch(void *arg) {
  (void)arg;
  cf_crm_workers_notify(__atomic_load_n(&notify_workers, __ATOMIC_ACQUIRE));
}

static void log_error(void *arg, const struct cf_error *err) {
  const char *db = arg;
  cf_cli_errorf("worker: %s: %s", db, err->msg[0] ? err->msg : cf_strerror(err->code));
}

static void log_line(void *arg, const char *line) {
  (void)arg;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char when[48];
  cf_cli_format_time((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, when, sizeof when);
  fprintf(stderr, "%s crmflow worker: %s\n", when, line);
}

int cf_cli_worker(int argc, char **argv) {
  struct cf_cli_opt opts[] = {
      {"--smtp", true, NULL},
      {"--smtp-from", true, NULL},
      {"--allow-hosts", true, NULL},
      {"--threads", true, NULL},
      {"--fast", false, NULL},
  };
  struct cf_cli_args a = {.cmd = "worker", .usage = usage};
  int rc = cf_cli_args_parse(&a, argc, argv, opts, sizeof opts / sizeof opts[0], 0, 0);
  if (rc == CF_CLI_HELP) return 0;
  if (rc) return rc;
  const char *smtp = opts[0].value;
  if (smtp && strncmp(smtp, "smtp://", 7) && strncmp(smtp, "smtps://", 8))
    return cf_cli_usage_error(&a, "--smtp wants smtp://HOST:PORT or smtps://HOST:PORT, not '%s'", smtp);
  long threads = 2;
  if (opts[3].value && !cf_cli_parse_int(&a, "--threads", opts[3].value, 1, 64, &threads)) return 2;

  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &stop, NULL)) return cf_cli_refuse(&a, "cannot block SIGTERM and SIGINT");

  struct cf_runtime *rt = NULL;
  if (cf_cli_open_runtime(&a, false, "worker:crmflow-builtin", &rt)) return 1;
  if (opts[4].value) {
    /* The store flags are the runtime's: reopen with them. */
    cf_runtime_close(rt);
    rt = NULL;
    struct cf_runtime_opts o = {.db = a.db, .store_flags = CF_STORE_FAST, .actor = "worker:crmflow-builtin"};
    struct cf_error e;
    cf_error_clear(&e);
    if (cf_runtime_open(&o, &rt, &e)) return cf_cli_refuse(&a, "cannot open the database %s: %s", a.db, e.msg);
  }
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_crm *crm = NULL;
  if (cf_crm_new(&crm, &err)) {
    cf_runtime_close(rt);
    return cf_cli_refuse(&a, "%s", err.msg);
  }
  struct cf_runtime_writer_opts wo = {.tick_ms = 200, .on_error = log_error, .arg = (void *)a.db,
                                      .on_batch = on_batch};
  struct cf_runtime_writer *w = NULL;
  if (cf_runtime_writer_start(rt, &wo, &w, &err)) {
    cf_crm_free(crm);
    cf_runtime_close(rt);
    return cf_cli_refuse(&a, "cannot start on %s: %s", a.db, err.msg);
  }
  struct cf_crm_workers_opts ko = {.writer = w, .crm = crm, .smtp_url = smtp, .smtp_from = opts[1].value,
                                   .allow_hosts = opts[2].value, .threads = (unsigned)threads, .log = log_line};
  struct cf_crm_workers *wk = NULL;
  if (cf_crm_workers_start(&ko, &wk, &err)) {
    cf_runtime_writer_stop(w);
    cf_crm_free(crm);
    cf_runtime_close(rt);
    return cf_cli_refuse(&a, "%s", err.msg);
  }
  __atomic_store_n(&notify_workers, wk, __ATOMIC_RELEASE);
  fprintf(stderr, "crmflow: workers running on %s (%ld threads; SMTP %s; hosts %s)\n", a.db, threads,
          smtp ? "configured" : "not configured", opts[2].value ? opts[2].value : "none allowed");
  fflush(stderr);

  int sig = 0;
  for (;;) {
    int r = sigwait(&stop, &sig);
    if (r == 0) break;
    if (r != EINTR) {
      cf_cli_errorf("worker: sigwait failed (%s); stopping", strerror(r));
      break;
    }
  }
  /* The workers first: they answer through the writer. */
  __atomic_store_n(&notify_workers, NULL, __ATOMIC_RELEASE);
  cf_crm_workers_stop(wk);
  cf_runtime_writer_stop(w);
  cf_crm_free(crm);
  cf_runtime_close(rt);
  fprintf(stderr, "crmflow: workers stopped on %s (%s)\n", a.db, sig == SIGINT ? "SIGINT" : "SIGTERM");
  return 0;
}
