/*
 * The `crmflow` command line: one function per subcommand family. Each takes
 * the arguments after its name and returns the process exit status
 * (0 success, 1 refused or failed, 2 usage error), per shared/contracts.md.
 */
#ifndef CF_CLI_H
#define CF_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct cf_buf;
struct cf_feel_value;
struct cf_runtime;
struct cf_store;
struct cf_store_incident;
struct cf_store_job;
struct cf_store_ops;
struct cf_store_user_task;
struct cf_time_duration;

int cf_cli_feel(int argc, char **argv);
int cf_cli_check(int argc, char **argv);
int cf_cli_test(int argc, char **argv);
int cf_cli_bench(int argc, char **argv);

/* Operations on the embedded database (shared/contracts.md §5, docs/cli.md). */
int cf_cli_deploy(int argc, char **argv);
int cf_cli_start(int argc, char **argv);
int cf_cli_instances(int argc, char **argv);
int cf_cli_jobs(int argc, char **argv);
int cf_cli_tasks(int argc, char **argv);
int cf_cli_message(int argc, char **argv);
int cf_cli_signal(int argc, char **argv);
int cf_cli_incidents(int argc, char **argv);
int cf_cli_history(int argc, char **argv);
/* `crmflow serve` (shared/contracts.md §6): housekeeping of a database until SIGTERM/SIGINT. */
int cf_cli_serve(int argc, char **argv);
/* `crmflow worker` (shared/contracts.md §7): the built-in job workers in a process of their own. */
int cf_cli_worker(int argc, char **argv);
int cf_cli_token(int argc, char **argv);
int cf_cli_user(int argc, char **argv);
int cf_cli_group(int argc, char **argv);
/* CRM records and triggers (shared/contracts.md §7; cli_records.c). */
int cf_cli_records(int argc, char **argv);
int cf_cli_triggers(int argc, char **argv);
int cf_cli_migrate(int argc, char **argv);

/*
 * Reads a whole file (at most max bytes) into a new NUL-terminated buffer
 * (cf_free), its length in *len. NULL with why saying what went wrong (the
 * OS error, "larger than N bytes", out of memory).
 */
char *cf_cli_read_file(const char *path, size_t max, size_t *len, char *why, size_t whylen);

/* Prints "crmflow: " and the message to stderr. */
void cf_cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------------------ helpers of the database operations
 *
 * Shared by cli_ops_*.c (cli_ops.c holds them). Each command parses its
 * arguments with cf_cli_args_parse, opens the database as a reader
 * (cf_cli_open_reader) or through the runtime (cf_cli_open_runtime), and
 * prints either a table for people or one JSON document (--json).
 */

/* An option a command takes; value is filled by the parser. */
struct cf_cli_opt {
  const char *name;  /* "--vars" */
  bool takes;        /* takes a value ("--vars JSON" or "--vars=JSON"); else a flag */
  const char *value; /* after parsing: the last value given ("" for a flag), NULL when absent */
};

struct cf_cli_args {
  const char *cmd;   /* "jobs complete": names the command in messages */
  const char *usage; /* the command's usage text (ends with a newline) */
  const char *what;  /* what the positional arguments are, for "missing KEY"; NULL: "argument" */
  const char *db;    /* --db, else $CRMFLOW_DB, else "./crmflow.db" */
  bool json;
  const char *pos[64]; /* the positional arguments */
  int npos;
};

/* cf_cli_args_parse's answer when --help was given (the usage went to stdout: exit 0). */
#define CF_CLI_HELP (-1)

/*
 * Parses argv (the arguments after the command's name) against opts plus
 * the common --db, --json and --help, expecting npos_min..npos_max
 * positional arguments. Returns 0, CF_CLI_HELP, or 2 after saying on stderr
 * what is wrong (an unknown option, a missing value, a missing or extra
 * argument) followed by the usage.
 */
int cf_cli_args_parse(struct cf_cli_args *a, int argc, char **argv, struct cf_cli_opt *opts,
                      size_t nopts, int npos_min, int npos_max);

/* A usage error of a: prints "crmflow: CMD: MESSAGE" and the usage to stderr, and returns 2. */
int cf_cli_usage_error(const struct cf_cli_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A command with one subcommand (`message publish`): runs fn on it, --help, or a usage error. */
int cf_cli_one_subcommand(int argc, char **argv, const char *cmd, const char *usage, const char *sub,
                          int (*fn)(int argc, char **argv));
/* A refusal of a: prints "crmflow: CMD: MESSAGE" to stderr and returns 1. */
int cf_cli_refuse(const struct cf_cli_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parsers of option values: true, or false after a usage error naming what (an option or argument). */
bool cf_cli_parse_key(const struct cf_cli_args *a, const char *what, const char *text, uint64_t *out);
bool cf_cli_parse_int(const struct cf_cli_args *a, const char *what, const char *text, long min,
                      long max, long *out);
/* An ISO-8601 duration ("PT30S", "P1D", "P1M"), not negative. */
bool cf_cli_parse_duration(const struct cf_cli_args *a, const char *what, const char *text,
                           struct cf_time_duration *out);
/*
 * --vars: a JSON object, into *out (a context; release it with
 * cf_feel_value_release). text NULL leaves *out null. 0, or 2 after a usage
 * error naming the option, or 1 when out of memory.
 */
int cf_cli_parse_vars(const struct cf_cli_args *a, const char *what, const char *text,
                      struct cf_feel_value *out);

/*
 * The time d after (sign 1) or before (sign -1) at_ms: months move the
 * calendar date in UTC (the day clamped to the month's last), the rest is
 * exact. false when the result leaves the range of int64 milliseconds.
 */
bool cf_cli_time_shift(int64_t at_ms, const struct cf_time_duration *d, int sign, int64_t *out);

/* at_ms as "2026-11-25T10:00:00.000Z" (buf of 40 bytes at least); "" when at_ms is 0. */
const char *cf_cli_format_time(int64_t at_ms, char *buf, size_t len);

/*
 * Opens a's database for reading: 0 with *ops and *store (close with
 * (*ops)->close), or 1 after saying why (no such file: "no database at
 * PATH (deploy a model first, or pass --db)").
 */
int cf_cli_open_reader(const struct cf_cli_args *a, const struct cf_store_ops **ops,
                       struct cf_store **store);

/*
 * Opens the runtime on a's database, acting as actor. create: a missing
 * database file is created (deploy); else it is refused like a reader's.
 * 0 with *rt (cf_runtime_close), or 1 after saying why.
 */
int cf_cli_open_runtime(const struct cf_cli_args *a, bool create, const char *actor,
                        struct cf_runtime **rt);

/* JSON output pieces, appended to b. */
void cf_cli_json_str(struct cf_buf *b, const char *s);  /* a string, or null for NULL */
void cf_cli_json_key(struct cf_buf *b, uint64_t key);   /* a key as a digit string, or null for 0 */
void cf_cli_json_time(struct cf_buf *b, int64_t at_ms); /* ISO-8601, or null for 0 */
/* JSON text stored in the database (variables, headers), or fallback when it is NULL or not JSON. */
void cf_cli_json_raw(struct cf_buf *b, const char *text, const char *fallback);

/* The rows the commands show, as JSON objects (job variables: a JSON object, or NULL to leave them out). */
void cf_cli_json_job(struct cf_buf *b, const struct cf_store_job *j, const char *variables);
void cf_cli_json_task(struct cf_buf *b, const struct cf_store_user_task *t);
void cf_cli_json_incident(struct cf_buf *b, const struct cf_store_incident *c);
/* Zeebe's name of an incident type ("JOB_NO_RETRIES", "CONDITION_ERROR"...). */
const char *cf_cli_incident_type(int type);
/* The same rows as tables for people, appended to b. */
void cf_cli_render_jobs(struct cf_buf *b, const struct cf_store_job *jobs, size_t n);
void cf_cli_render_tasks(struct cf_buf *b, const struct cf_store_user_task *tasks, size_t n);
void cf_cli_render_incidents(struct cf_buf *b, const struct cf_store_incident *inc, size_t n);

/*
 * Writes b to stdout (one JSON document or the text for people). 0, or 1
 * when b ran out of memory or stdout failed (said on stderr).
 */
int cf_cli_emit(const struct cf_cli_args *a, struct cf_buf *b);

/*
 * A table for people: columns aligned with two spaces between them, also
 * when stdout is no terminal; an empty cell shows as "-", a cell longer
 * than max_cell bytes (0: no limit) is cut with "...".
 */
struct cf_cli_table {
  size_t ncols, nrows, cap;
  char **cells; /* nrows * ncols, row 0 the header */
  size_t max_cell;
  bool oom;
};

void cf_cli_table_init(struct cf_cli_table *t, size_t ncols, const char *const *header, size_t max_cell);
/* Adds a row of ncols cells (copied; NULL is an empty cell). */
void cf_cli_table_add(struct cf_cli_table *t, const char *const *cells);
/* Appends the table, header first, to b. */
void cf_cli_table_render(const struct cf_cli_table *t, struct cf_buf *b);
void cf_cli_table_release(struct cf_cli_table *t);

#endif
