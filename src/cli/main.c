/*
 * crmflow: the command line. Dispatches to the subcommand families.
 */
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
        "  bench --model FILE [--instances N] [--vars JSON] [--store memory|sqlite] [--db PATH]\n"
        "                                 run N instances of a model, print throughput and memory (JSON)\n"
        "  version                        print the version\n"
        "  help                           print this help\n",
        out);
}

int main(int argc, char **argv) {
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
  cf_cli_errorf("unknown command '%s' (try 'crmflow help')", cmd);
  return 2;
}
