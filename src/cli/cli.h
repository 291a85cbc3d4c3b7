/*
 * The `crmflow` command line: one function per subcommand family. Each takes
 * the arguments after its name and returns the process exit status
 * (0 success, 1 refused or failed, 2 usage error), per shared/contracts.md.
 */
#ifndef CF_CLI_H
#define CF_CLI_H

#include <stdio.h>

int cf_cli_feel(int argc, char **argv);
int cf_cli_check(int argc, char **argv);
int cf_cli_test(int argc, char **argv);
int cf_cli_bench(int argc, char **argv);

/*
 * Reads a whole file (at most max bytes) into a new NUL-terminated buffer
 * (cf_free), its length in *len. NULL with why saying what went wrong (the
 * OS error, "larger than N bytes", out of memory).
 */
char *cf_cli_read_file(const char *path, size_t max, size_t *len, char *why, size_t whylen);

/* Prints "crmflow: " and the message to stderr. */
void cf_cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
