/*
 * crmflow: the command line. Dispatches to the subcommand families.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#ifndef CF_VERSION
#define CF_VERSION "0.0.0"
#endif

void cf_cli_errorf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("crmflow: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static void usage(FILE *out) {
  fputs("usage: crmflow COMMAND [ARGS...]\n"
        "\n"
        "commands:\n"
        "  feel eval [--vars JSON] EXPR   evaluate a FEEL expression, print {\"value\", \"type\"}\n"
        "  feel eval --jsonl              evaluate {\"expr\", \"vars\"} JSON lines from stdin\n"
        "  feel test [--vars JSON] [--input JSON] TESTS\n"
        "                                 evaluate unary tests (a decision-table cell) against an input\n"
        "  test [--json] PATH...          run process scenarios (*.scenario.json files or folders)\n"
        "  check [--json] MODEL.bpmn...   validate BPMN models as a deployment would, storing nothing\n"
        "  bench --model FILE [--instances N] [--vars JSON] [--store memory|sqlite|postgres]\n"
        "        [--db PATH|postgres://...] [--nodes K]\n"
        "                                 run N instances of a model, print throughput and memory (JSON)\n"
        "\n"
        "operations on the embedded database (each takes --db PATH, default ./crmflow.db or\n"
        "$CRMFLOW_DB, and --json for one JSON document; 'crmflow COMMAND --help' for more):\n"
        "  deploy FILE.bpmn...            deploy models (a new version each, unless unchanged)\n"
        "  start PROCESS_ID [--vars JSON] [--business-key K] [--version N]\n"
        "                                 start an instance\n"
        "  instances [--state S] [--process ID] [--limit N]\n"
        "                                 list instances (S: active, completed, terminated, incident)\n"
        "  instances show KEY             an instance's state, variables, history, jobs, tasks, incidents\n"
        "  instances cancel KEY           terminate an active instance\n"
        "  jobs activate --type T [--max N] [--timeout DURATION] [--worker NAME]\n"
        "                                 lease jobs of a type, with their variables\n"
        "  jobs complete KEY [--vars JSON] [--worker NAME]\n"
        "  jobs fail KEY --retries N [--message TEXT] [--backoff DURATION] [--worker NAME]\n"
        "  jobs throw-error KEY --code CODE [--message TEXT] [--vars JSON]\n"
        "  tasks [--assignee U] [--group G] [--state created|completed]\n"
        "                                 list user tasks\n"
        "  tasks claim KEY --assignee U   assign a user task (tasks unclaim KEY: unassign)\n"
        "  tasks complete KEY [--vars JSON]\n"
        "  message publish NAME --key K [--vars JSON] [--ttl DURATION] [--id MESSAGE_ID]\n"
        "  signal broadcast NAME [--vars JSON]\n"
        "  incidents                      list open incidents\n"
        "  incidents resolve KEY [--retries N]\n"
        "  history prune --older-than DURATION\n"
        "                                 remove instances that ended longer ago (P90D, PT1H)\n"
        "  serve [--listen HOST:PORT] [--retention DURATION] [--fast] [--no-auth]\n"
        "                                 serve the HTTP API (Camunda 8 REST subset) and run the\n"
        "                                 database's timers, leases and retention until SIGTERM\n"
        "  worker [--smtp URL] [--smtp-from ADDR] [--allow-hosts H1,H2]\n"
        "                                 run the built-in job workers (crm.*, email.send,\n"
        "                                 http.request) until SIGTERM\n"
        "  token create --name NAME --role ROLE [--user USER]\n"
        "                                 print a new API token (shown once; stored hashed)\n"
        "  token list | token delete NAME\n"
        "  user create NAME --role ROLE [--groups G,..] [--password-stdin] | user list | user delete NAME\n"
        "  group create NAME | group list | group delete NAME\n"
        "  records create TYPE --fields JSON | records get TYPE KEY\n"
        "  records update TYPE KEY --fields JSON [--version N] | records delete TYPE KEY\n"
        "  records search TYPE [--filter JSON] [--sort FIELD[:desc]] [--limit N]\n"
        "  records history TYPE KEY | records types\n"
        "                                 CRM records (lead, contact, order...; custom types)\n"
        "  records import TYPE FILE.csv   import CSV rows, all or none (a header of field names)\n"
        "  records export TYPE [--out FILE]\n"
        "                                 export CSV: recordKey, the fields, createdAt, updatedAt\n"
        "  triggers add FILE.json | triggers list | triggers delete KEY\n"
        "                                 start processes when records are created, updated, deleted\n"
        "  migrate --from sqlite:PATH --to postgres://USER@HOST/DB\n"
        "                                 copy a whole database (running instances too) to an empty\n"
        "                                 one, and check the counts\n"
        "\n"
        "  version                        print the version\n"
        "  help                           print this help\n",
        out);
}

int main(int argc, char **argv) {
  /* A file that reaches the size limit: the write fails and the store says so, rather than the
   * process dying of the signal. */
  signal(SIGXFSZ, SIG_IGN);
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
    printf("crmflow %s\n", CF_VERSION);
    return 0;
  }
  if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(cmd, "feel")) return cf_cli_feel(argc - 2, argv + 2);
  if (!strcmp(cmd, "check")) return cf_cli_check(argc - 2, argv + 2);
  if (!strcmp(cmd, "test")) return cf_cli_test(argc - 2, argv + 2);
  if (!strcmp(cmd, "bench")) return cf_cli_bench(argc - 2, argv + 2);
  if (!strcmp(cmd, "deploy")) return cf_cli_deploy(argc - 2, argv + 2);
  if (!strcmp(cmd, "start")) return cf_cli_start(argc - 2, argv + 2);
  if (!strcmp(cmd, "instances")) return cf_cli_instances(argc - 2, argv + 2);
  if (!strcmp(cmd, "jobs")) return cf_cli_jobs(argc - 2, argv + 2);
  if (!strcmp(cmd, "tasks")) return cf_cli_tasks(argc - 2, argv + 2);
  if (!strcmp(cmd, "message")) return cf_cli_message(argc - 2, argv + 2);
  if (!strcmp(cmd, "signal")) return cf_cli_signal(argc - 2, argv + 2);
  if (!strcmp(cmd, "incidents")) return cf_cli_incidents(argc - 2, argv + 2);
  if (!strcmp(cmd, "history")) return cf_cli_history(argc - 2, argv + 2);
  if (!strcmp(cmd, "serve")) return cf_cli_serve(argc - 2, argv + 2);
  if (!strcmp(cmd, "worker")) return cf_cli_worker(argc - 2, argv + 2);
  if (!strcmp(cmd, "token")) return cf_cli_token(argc - 2, argv + 2);
  if (!strcmp(cmd, "user")) return cf_cli_user(argc - 2, argv + 2);
  if (!strcmp(cmd, "group")) return cf_cli_group(argc - 2, argv + 2);
  if (!strcmp(cmd, "records")) return cf_cli_records(argc - 2, argv + 2);
  if (!strcmp(cmd, "triggers")) return cf_cli_triggers(argc - 2, argv + 2);
  if (!strcmp(cmd, "migrate")) return cf_cli_migrate(argc - 2, argv + 2);
  cf_cli_errorf("unknown command '%s' (try 'crmflow help')", cmd);
  return 2;
}
