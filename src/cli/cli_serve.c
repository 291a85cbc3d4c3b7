/*
 * `crmflow serve` (shared/contracts.md §6): the long-running process of a
 * database. It owns the runtime's writer thread, which applies the API's
 * commands in group-committed batches, fires due timers, expires buffered
 * messages and prunes ended instances (with --retention); job leases expire
 * by themselves (a lease is a time in the job's row). It serves the HTTP API
 * on --listen (src/http/ and src/api/): the Camunda 8 REST subset and
 * crmflow's own endpoints, with bearer tokens (`crmflow token create`);
 * --no-auth makes every request an admin's, for a trial on one's own machine.
 *
 * Signals: SIGTERM and SIGINT are blocked in every thread and taken with
 * sigwait() by the main thread, so no work happens in a signal handler; on
 * either, the writer finishes what it acknowledged, the runtime closes, and
 * the process exits 0. A SIGKILL loses nothing acknowledged either: every
 * answer of the writer means "committed" (tests/crash/run.sh kills it).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/cf_time.h"
#include "api/cf_api.h"
#include "crm/cf_crm.h"
#include "cli/cli.h"
#include "http/cf_http.h"
#include "runtime/cf_runtime.h"
#include "store/cf_store.h"

#define TICK_MS 200

#ifndef CF_VERSION
#define CF_VERSION "0.0.0"
#endif

static const char usage[] =
    "usage: crmflow serve [--db PATH] [--listen HOST:PORT] [--retention DURATION] [--fast]\n"
    "                     [--max-body BYTES] [--max-queue N] [--no-auth]\n"
    "                     [--smtp URL] [--smtp-from ADDRESS] [--allow-hosts H1,H2]\n"
    "\n"
    "Serves the HTTP API (a Camunda 8 REST subset under /v2/, crmflow's own under /v2/crm/,\n"
    "/metrics; docs/api.md) until SIGTERM or SIGINT, and runs the database's housekeeping:\n"
    "fires due timers (late, never early, also those that fell due while nothing ran), expires\n"
    "buffered messages, and with --retention removes instances that ended longer ago than\n"
    "DURATION. Requests need 'Authorization: Bearer TOKEN' (crmflow token create), except\n"
    "GET /healthz, /v2/topology, /v2/status and /v2/license.\n"
    "\n"
    "  --db PATH             the database (default ./crmflow.db, or $CRMFLOW_DB); created if missing\n"
    "  --listen HOST:PORT    where to serve HTTP (default 127.0.0.1:8080; an IPv4 address or\n"
    "                        localhost)\n"
    "  --retention DURATION  an ISO-8601 duration (P90D, PT12H): prune ended instances older than it\n"
    "  --fast                commit without waiting for the disk (SQLite synchronous=NORMAL): faster,\n"
    "                        but a power cut may lose the last commits (a crash of the process does not)\n"
    "  --max-body BYTES      the largest request body taken (default 16777216); larger ones get 413\n"
    "  --no-auth             no tokens: every request acts as admin (only for a trial on your own\n"
    "                        machine; refused on an address other than loopback)\n"
    "  --smtp smtp://HOST:PORT  the mail server of the built-in email.send worker (none: its jobs\n"
    "                        raise incidents)\n"
    "  --smtp-from ADDRESS   the sender of its mails (default crmflow@localhost)\n"
    "  --allow-hosts H1,H2   the hosts the built-in http.request worker may call (loopback only when\n"
    "                        listed; none by default)\n"
    "  --no-workers          do not run the built-in job workers here (run `crmflow worker` instead)\n"
    "  --ui DIR              the web UI's built files (default: web/dist of the source tree this\n"
    "                        binary was built from, when it exists; --ui '' serves none)\n"
    "  --max-queue N         commands waiting for the writer at most (default 65536); past it a\n"
    "                        command is refused with 503 RESOURCE_EXHAUSTED (clients retry it)\n";

/* "HOST:PORT" or "[V6HOST]:PORT", a port from 1 to 65535. */
static bool listen_ok(const char *text) {
  const char *colon = strrchr(text, ':');
  if (!colon || colon == text) return false;
  if (text[0] == '[' && colon[-1] != ']') return false;
  const char *p = colon + 1;
  if (!*p || strlen(p) > 5) return false;
  long port = 0;
  for (; *p; p++) {
    if (*p < '0' || *p > '9') return false;
    port = port * 10 + (*p - '0');
  }
  return port >= 1 && port <= 65535;
}

/* Where the writer's housekeeping failures go: one line each on stderr, with the time; a failure that
 * repeats (a timer that keeps failing, a full disk) is said again at most every LOG_REPEAT_MS. */
#define LOG_REPEAT_MS 10000

struct serve_log {
  const char *db;
  char last[sizeof ((struct cf_error *)0)->msg];
  int64_t last_ms;
  long repeats;
};

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Called by the writer thread only. */
static void log_error(void *arg, const struct cf_error *err) {
  struct serve_log *l = arg;
  const char *msg = err->msg[0] ? err->msg : cf_strerror(err->code);
  int64_t now = wall_ms();
  if (!strcmp(msg, l->last) && now - l->last_ms < LOG_REPEAT_MS) {
    l->repeats++;
    return;
  }
  char when[48];
  cf_cli_format_time(now, when, sizeof when);
  if (l->repeats)
    fprintf(stderr, "%s crmflow serve: %s: (the last message repeated %ld more times)\n", when, l->db, l->repeats);
  fprintf(stderr, "%s crmflow serve: %s: %s\n", when, l->db, msg);
  snprintf(l->last, sizeof l->last, "%s", msg);
  l->last_ms = now;
  l->repeats = 0;
}

/* The writer's batch hook: parked long polls look again. The API comes after the writer, so the hook
 * finds it through this pointer (NULL until it exists, and again while it is freed). */
static struct cf_api *notify_api;
static struct cf_crm_workers *notify_workers;

static void on_batch(void *arg) {
  (void)arg;
  struct cf_api *api = __atomic_load_n(&notify_api, __ATOMIC_ACQUIRE);
  if (api) cf_api_notify(api);
  struct cf_crm_workers *wk = __atomic_load_n(&notify_workers, __ATOMIC_ACQUIRE);
  if (wk) cf_crm_workers_notify(wk);
}

/* The writer's extra housekeeping: date-relative triggers that fell due. */
static int crm_housekeep(struct cf_runtime *rt, void *arg, size_t *done, int64_t *next_due, struct cf_error *err) {
  struct cf_crm *crm = arg;
  cf_runtime_set_actor(rt, "trigger");
  int rc = cf_crm_fire_timers(crm, rt, 256, done, err);
  struct cf_error e2;
  cf_error_clear(&e2);
  if (cf_crm_next_due(crm, rt, next_due, &e2)) *next_due = INT64_MAX;
  return rc;
}

int cf_cli_serve(int argc, char **argv) {
  struct cf_cli_opt opts[] = {
      {"--listen", true, NULL},
      {"--retention", true, NULL},
      {"--fast", false, NULL},
      {"--max-body", true, NULL},
      {"--no-auth", false, NULL},
      {"--max-queue", true, NULL},
      {"--smtp", true, NULL},
      {"--smtp-from", true, NULL},
      {"--allow-hosts", true, NULL},
      {"--ui", true, NULL},
      {"--no-workers", false, NULL},
  };
  struct cf_cli_args a = {.cmd = "serve", .usage = usage};
  int rc = cf_cli_args_parse(&a, argc, argv, opts, sizeof opts / sizeof opts[0], 0, 0);
  if (rc == CF_CLI_HELP) return 0;
  if (rc) return rc;
  const char *listen = opts[0].value ? opts[0].value : "127.0.0.1:8080";
  if (!listen_ok(listen))
    return cf_cli_usage_error(&a, "--listen wants HOST:PORT with a port from 1 to 65535, not '%s'", listen);
  int64_t retention_ms = 0;
  if (opts[1].value) {
    struct cf_time_duration d;
    if (!cf_cli_parse_duration(&a, "--retention", opts[1].value, &d)) return 2;
    /* Months are calendar months: measure the span back from now. */
    int64_t now = wall_ms(), then;
    if (!cf_cli_time_shift(now, &d, -1, &then) || now - then <= 0)
      return cf_cli_usage_error(&a, "--retention must be a positive duration that fits, not '%s'",
                                opts[1].value);
    retention_ms = now - then;
  }
  size_t max_body = 0;
  if (opts[3].value) {
    char *end;
    errno = 0;
    unsigned long long n = strtoull(opts[3].value, &end, 10);
    if (errno || *end || !n || opts[3].value[0] == '-' || n > SIZE_MAX)
      return cf_cli_usage_error(&a, "--max-body wants a positive number of bytes, not '%s'", opts[3].value);
    max_body = (size_t)n;
  }
  size_t max_queue = 0;
  if (opts[5].value) {
    char *end;
    errno = 0;
    unsigned long long n = strtoull(opts[5].value, &end, 10);
    if (errno || *end || !n || opts[5].value[0] == '-' || n > 100000000ull)
      return cf_cli_usage_error(&a, "--max-queue wants a number of commands from 1 to 100000000, not '%s'",
                                opts[5].value);
    max_queue = (size_t)n;
  }

  /* Past the file size limit (ulimit -f) a write then fails with EFBIG, which the store reports like a
   * full disk, instead of SIGXFSZ killing the server mid-commit. */
  signal(SIGXFSZ, SIG_IGN);
  /* Block the signals before any thread starts: the writer inherits the mask, sigwait takes them. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &stop, NULL)) return cf_cli_refuse(&a, "cannot block SIGTERM and SIGINT");

  struct cf_runtime_opts o = {.db = a.db, .store_flags = opts[2].value ? CF_STORE_FAST : 0, .actor = "serve"};
  struct cf_runtime *rt = NULL;
  struct cf_error err;
  cf_error_clear(&err);
  if (cf_runtime_open(&o, &rt, &err) != CF_OK)
    return cf_cli_refuse(&a, "cannot open the database %s: %s", a.db, err.msg);
  struct serve_log log = {.db = a.db};
  struct cf_crm *crm = NULL;
  if (cf_crm_new(&crm, &err) != CF_OK) {
    cf_runtime_close(rt);
    return cf_cli_refuse(&a, "%s", err.msg);
  }
  struct cf_runtime_writer_opts wo = {.tick_ms = TICK_MS, .retention_ms = retention_ms,
                                      .on_error = log_error, .arg = &log, .on_batch = on_batch,
                                      .max_queue = max_queue, .housekeep = crm_housekeep, .housekeep_arg = crm};
  struct cf_runtime_writer *w = NULL;
  if (cf_runtime_writer_start(rt, &wo, &w, &err) != CF_OK) {
    cf_crm_free(crm);
    cf_runtime_close(rt);
    return cf_cli_refuse(&a, "cannot start serving %s: %s", a.db, err.msg);
  }
  /* HTTP last: the database is open and its work runs before anyone is answered. */
  char host[256];
  const char *colon = strrchr(listen, ':');
  snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
  int port = atoi(colon + 1);
  bool no_auth = opts[4].value != NULL;
  if (no_auth && strcmp(host, "127.0.0.1") && strcmp(host, "localhost")) {
    cf_runtime_writer_stop(w);
    cf_runtime_close(rt);
    return cf_cli_usage_error(&a, "--no-auth serves loopback only (127.0.0.1 or localhost), not %s", host);
  }
  struct cf_api_opts ao = {.version = CF_VERSION, .host = host, .port = port, .db = a.db, .rt = rt, .writer = w,
                           .crm = crm, .no_auth = no_auth};
  struct cf_api *api = NULL;
  struct cf_http *http = NULL;
  /* The web UI: --ui DIR, else the build's web/dist when it was built. */
  const char *ui = opts[9].value;
#ifdef CF_WEB_DIR
  struct stat ui_st;
  if (!ui && stat(CF_WEB_DIR "/index.html", &ui_st) == 0) ui = CF_WEB_DIR;
#endif
  if (ui && !*ui) ui = NULL;
  struct cf_http_opts ho = {.host = host, .port = port, .max_body = max_body, .ui_dir = ui};
  cf_error_clear(&err);
  if (cf_api_new(&ao, &api, &err) == CF_OK) {
    __atomic_store_n(&notify_api, api, __ATOMIC_RELEASE);
    cf_http_start(&ho, api, &http, &err);
  }
  if (!http) {
    /* The writer first: its batch hook may use the API until it stopped. */
    cf_api_shutdown(api);
    cf_runtime_writer_stop(w);
    __atomic_store_n(&notify_api, NULL, __ATOMIC_RELEASE);
    cf_api_free(api);
    cf_crm_free(crm);
    cf_runtime_close(rt);
    return cf_cli_refuse(&a, "%s", err.msg[0] ? err.msg : "out of memory");
  }
  /* The built-in job workers (crm.*, email.send, http.request), on the writer like any worker. */
  struct cf_crm_workers_opts wko = {.writer = w, .crm = crm, .smtp_url = opts[6].value, .smtp_from = opts[7].value,
                                    .allow_hosts = opts[8].value};
  struct cf_crm_workers *workers = NULL;
  if (!opts[10].value && cf_crm_workers_start(&wko, &workers, &err) != CF_OK)
    cf_cli_errorf("serve: the built-in job workers do not run: %s", err.msg);
  __atomic_store_n(&notify_workers, workers, __ATOMIC_RELEASE);
  if (ui) fprintf(stderr, "crmflow: the web UI (%s) at http://%s/\n", ui, listen);
  fprintf(stderr, "crmflow: serving %s on http://%s%s\n", a.db, listen,
          no_auth ? " WITHOUT authentication (--no-auth: every request acts as admin)" : "");
  fflush(stderr);

  int sig = 0;
  for (;;) {
    int r = sigwait(&stop, &sig);
    if (r == 0) break;
    if (r != EINTR) {
      cf_cli_errorf("serve: sigwait failed (%s); stopping", strerror(r));
      break;
    }
  }
  cf_http_stop(http);         /* no new requests; those in progress are answered */
  __atomic_store_n(&notify_workers, NULL, __ATOMIC_RELEASE);
  cf_crm_workers_stop(workers); /* the jobs in hand finished or handed back (the writer still runs) */
  cf_runtime_writer_stop(w);  /* finishes what was queued */
  __atomic_store_n(&notify_api, NULL, __ATOMIC_RELEASE);
  cf_api_free(api);
  cf_crm_free(crm);
  cf_runtime_close(rt);
  fprintf(stderr, "crmflow: stopped serving %s (%s)\n", a.db, sig == SIGINT ? "SIGINT" : "SIGTERM");
  return 0;
}
