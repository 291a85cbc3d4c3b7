/*
 * What the operations on the embedded database (shared/contracts.md §5)
 * share: argument parsing, the values of options (keys, numbers, ISO-8601
 * durations, --vars), opening the database as a reader or through the
 * runtime, and printing (JSON pieces, aligned tables).
 *
 * The commands themselves live in cli_ops_instances.c (deploy, start,
 * instances, history), cli_ops_jobs.c (jobs, incidents) and cli_ops_tasks.c
 * (tasks, message, signal).
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_json.h"
#include "base/cf_time.h"
#include "cli/cli.h"
#include "engine/cf_engine.h"
#include "feel/cf_feel.h"
#include "runtime/cf_runtime.h"
#include "store/cf_store.h"

#define MS_PER_DAY 86400000LL

/* ------------------------------------------------------------ messages */

static void vsay(const struct cf_cli_args *a, const char *fmt, va_list ap) {
  fprintf(stderr, "crmflow: %s: ", a->cmd);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

int cf_cli_usage_error(const struct cf_cli_args *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsay(a, fmt, ap);
  va_end(ap);
  if (a->usage) fputs(a->usage, stderr);
  return 2;
}

int cf_cli_one_subcommand(int argc, char **argv, const char *cmd, const char *usage, const char *sub,
                          int (*fn)(int argc, char **argv)) {
  if (argc > 0 && !strcmp(argv[0], sub)) return fn(argc - 1, argv + 1);
  struct cf_cli_args a = {.cmd = cmd, .usage = usage};
  if (argc > 0 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
    fputs(usage, stdout);
    return 0;
  }
  if (argc == 0 || argv[0][0] == '-') return cf_cli_usage_error(&a, "missing subcommand (%s)", sub);
  return cf_cli_usage_error(&a, "unknown subcommand '%s' (%s)", argv[0], sub);
}

int cf_cli_refuse(const struct cf_cli_args *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsay(a, fmt, ap);
  va_end(ap);
  return 1;
}

/* ------------------------------------------------------------ arguments */

int cf_cli_args_parse(struct cf_cli_args *a, int argc, char **argv, struct cf_cli_opt *opts,
                      size_t nopts, int npos_min, int npos_max) {
  const char *env = getenv("CRMFLOW_DB");
  a->db = env && *env ? env : "./crmflow.db";
  a->json = false;
  a->npos = 0;
  for (size_t k = 0; k < nopts; k++) opts[k].value = NULL;
  bool dashdash = false;
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (dashdash || arg[0] != '-' || arg[1] == '\0') {
      if (a->npos >= npos_max || a->npos >= (int)(sizeof a->pos / sizeof a->pos[0]))
        return cf_cli_usage_error(a, "unexpected argument '%s'", arg);
      a->pos[a->npos++] = arg;
      continue;
    }
    if (!strcmp(arg, "--")) {
      dashdash = true;
      continue;
    }
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      fputs(a->usage, stdout);
      return CF_CLI_HELP;
    }
    /* "--name=value" or "--name value" */
    const char *eq = strchr(arg, '=');
    size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
    const char *value = eq ? eq + 1 : NULL;
    bool takes;
    const char **slot;
    const char *dummy = NULL;
    struct cf_cli_opt *o = NULL;
    for (size_t k = 0; k < nopts && !o; k++)
      if (strlen(opts[k].name) == nlen && !strncmp(opts[k].name, arg, nlen)) o = &opts[k];
    if (o) {
      takes = o->takes;
      slot = &o->value;
    } else if (nlen == 4 && !strncmp(arg, "--db", 4)) {
      takes = true;
      slot = &a->db;
    } else if (nlen == 6 && !strncmp(arg, "--json", 6)) {
      takes = false;
      slot = &dummy;
      a->json = true;
    } else {
      return cf_cli_usage_error(a, "unknown option '%.*s' (see 'crmflow %s --help')", (int)nlen, arg,
                                a->cmd);
    }
    if (!takes) {
      if (value) return cf_cli_usage_error(a, "%.*s takes no value", (int)nlen, arg);
      *slot = "";
      continue;
    }
    if (!value) {
      if (i + 1 >= argc) return cf_cli_usage_error(a, "%s needs a value", arg);
      value = argv[++i];
    }
    *slot = value;
  }
  if (!*a->db) return cf_cli_usage_error(a, "--db needs a path, not an empty string");
  if (a->npos < npos_min) return cf_cli_usage_error(a, "missing %s", a->what ? a->what : "argument");
  return 0;
}

/* ------------------------------------------------------------ option values */

bool cf_cli_parse_key(const struct cf_cli_args *a, const char *what, const char *text, uint64_t *out) {
  size_t len = strlen(text);
  bool digits = len > 0 && len <= 20;
  for (size_t i = 0; digits && i < len; i++) digits = text[i] >= '0' && text[i] <= '9';
  if (digits) {
    errno = 0;
    unsigned long long v = strtoull(text, NULL, 10);
    if (!errno && v > 0) {
      *out = (uint64_t)v;
      return true;
    }
  }
  cf_cli_usage_error(a, "%s must be a key (digits, like 2251799813685249), not '%s'", what, text);
  return false;
}

bool cf_cli_parse_int(const struct cf_cli_args *a, const char *what, const char *text, long min,
                      long max, long *out) {
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno || end == text || *end || v < min || v > max) {
    cf_cli_usage_error(a, "%s wants a whole number from %ld to %ld, not '%s'", what, min, max, text);
    return false;
  }
  *out = v;
  return true;
}

bool cf_cli_parse_duration(const struct cf_cli_args *a, const char *what, const char *text,
                           struct cf_time_duration *out) {
  struct cf_time_duration d;
  int rc = cf_time_parse_duration(text, strlen(text), &d);
  if (rc == CF_ERANGE) {
    cf_cli_usage_error(a, "%s: the duration '%s' is too large", what, text);
    return false;
  }
  if (rc != CF_OK) {
    cf_cli_usage_error(a, "%s wants an ISO-8601 duration like PT30S, PT5M or P1D, not '%s'", what, text);
    return false;
  }
  if (d.months < 0 || d.secs < 0 || d.nanos < 0) {
    cf_cli_usage_error(a, "%s must not be negative ('%s')", what, text);
    return false;
  }
  *out = d;
  return true;
}

int cf_cli_parse_vars(const struct cf_cli_args *a, const char *what, const char *text,
                      struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (!text) return 0;
  struct cf_error err;
  cf_error_clear(&err);
  struct json_object *j = cf_json_parse(text, strlen(text), &err);
  if (!j && err.code != CF_OK) return cf_cli_usage_error(a, "%s is not JSON: %s", what, err.msg);
  if (!j || !json_object_is_type(j, json_type_object)) {
    json_object_put(j);
    return cf_cli_usage_error(a, "%s must be a JSON object, like '{\"amount\": 10}'", what);
  }
  int rc = cf_feel_from_json(j, out);
  json_object_put(j);
  if (rc == CF_ENOMEM) return cf_cli_refuse(a, "out of memory reading %s", what);
  if (rc != CF_OK)
    return cf_cli_usage_error(a, "%s holds a number beyond the decimal range or a string that is not UTF-8",
                              what);
  return 0;
}

/* ------------------------------------------------------------ time */

bool cf_cli_time_shift(int64_t at_ms, const struct cf_time_duration *d, int sign, int64_t *out) {
  int64_t t = at_ms;
  if (d->months) {
    int64_t days = cf_time_floor_div(t, MS_PER_DAY), in_day = cf_time_floor_mod(t, MS_PER_DAY);
    int64_t y;
    unsigned m, day;
    cf_time_civil_from_days(days, &y, &m, &day);
    if (d->months > (CF_TIME_YEAR_MAX - CF_TIME_YEAR_MIN + 1) * 12) return false;
    int64_t total = y * 12 + (int64_t)(m - 1) + sign * d->months;
    int64_t ny = cf_time_floor_div(total, 12);
    unsigned nm = (unsigned)cf_time_floor_mod(total, 12) + 1;
    if (ny < CF_TIME_YEAR_MIN || ny > CF_TIME_YEAR_MAX) return false;
    unsigned last = cf_time_days_in_month(ny, nm);
    if (day > last) day = last;
    int64_t ms;
    if (__builtin_mul_overflow(cf_time_days_from_civil(ny, nm, day), MS_PER_DAY, &ms) ||
        __builtin_add_overflow(ms, in_day, &t))
      return false;
  }
  int64_t exact;
  if (__builtin_mul_overflow(d->secs, (int64_t)1000, &exact) ||
      __builtin_add_overflow(exact, (int64_t)(d->nanos / 1000000), &exact))
    return false;
  if (sign < 0 ? __builtin_sub_overflow(t, exact, &t) : __builtin_add_overflow(t, exact, &t))
    return false;
  *out = t;
  return true;
}

const char *cf_cli_format_time(int64_t at_ms, char *buf, size_t len) {
  if (at_ms == 0) {
    if (len) buf[0] = '\0';
    return buf;
  }
  int64_t days = cf_time_floor_div(at_ms, MS_PER_DAY), in_day = cf_time_floor_mod(at_ms, MS_PER_DAY);
  int64_t y;
  unsigned m, d;
  cf_time_civil_from_days(days, &y, &m, &d);
  snprintf(buf, len, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", (long long)y, m, d,
           (long long)(in_day / 3600000), (long long)(in_day / 60000 % 60),
           (long long)(in_day / 1000 % 60), (long long)(in_day % 1000));
  return buf;
}

/* ------------------------------------------------------------ opening the database */

/* 0 when the database exists (or is no file: a URL), else 1 after saying so. */
static int require_db(const struct cf_cli_args *a) {
  if (strstr(a->db, "://")) return 0;
  struct stat st;
  if (stat(a->db, &st) == 0) return 0;
  if (errno == ENOENT)
    return cf_cli_refuse(a, "no database at %s (deploy a model first, or pass --db)", a->db);
  return cf_cli_refuse(a, "cannot open the database %s: %s", a->db, strerror(errno));
}

int cf_cli_open_reader(const struct cf_cli_args *a, const struct cf_store_ops **ops,
                       struct cf_store **store) {
  if (require_db(a)) return 1;
  struct cf_error err;
  cf_error_clear(&err);
  if (cf_store_open(a->db, CF_STORE_READONLY, ops, store, &err) != CF_OK)
    return cf_cli_refuse(a, "cannot read the database %s: %s", a->db, err.msg);
  return 0;
}

int cf_cli_open_runtime(const struct cf_cli_args *a, bool create, const char *actor,
                        struct cf_runtime **rt) {
  if (!create && require_db(a)) return 1;
  struct cf_runtime_opts o;
  memset(&o, 0, sizeof o);
  o.db = a->db;
  o.actor = actor;
  /* One process, a few operations: keep the cache small. */
  o.cache_instances = 64;
  struct cf_error err;
  cf_error_clear(&err);
  if (cf_runtime_open(&o, rt, &err) != CF_OK)
    return cf_cli_refuse(a, "cannot open the database %s: %s", a->db, err.msg);
  return 0;
}

/* ------------------------------------------------------------ JSON */

void cf_cli_json_str(struct cf_buf *b, const char *s) {
  if (s)
    cf_buf_json_string(b, s, strlen(s));
  else
    cf_buf_puts(b, "null");
}

void cf_cli_json_key(struct cf_buf *b, uint64_t key) {
  if (key)
    cf_buf_printf(b, "\"%llu\"", (unsigned long long)key);
  else
    cf_buf_puts(b, "null");
}

void cf_cli_json_time(struct cf_buf *b, int64_t at_ms) {
  char t[48];
  if (at_ms)
    cf_buf_printf(b, "\"%s\"", cf_cli_format_time(at_ms, t, sizeof t));
  else
    cf_buf_puts(b, "null");
}

void cf_cli_json_raw(struct cf_buf *b, const char *text, const char *fallback) {
  if (!text || !*text) {
    cf_buf_puts(b, fallback);
    return;
  }
  /* The store wrote it, but one bad row must not make the whole document unreadable. */
  struct cf_error err;
  cf_error_clear(&err);
  struct json_object *j = cf_json_parse(text, strlen(text), &err);
  if (!j && err.code != CF_OK) {
    cf_buf_puts(b, fallback);
    return;
  }
  json_object_put(j);
  cf_buf_puts(b, text);
}

int cf_cli_emit(const struct cf_cli_args *a, struct cf_buf *b) {
  if (b->oom) return cf_cli_refuse(a, "out of memory printing the answer");
  if (b->len && fwrite(b->data, 1, b->len, stdout) != b->len) {
    fflush(stdout);
    return cf_cli_refuse(a, "cannot write the answer: %s", strerror(errno));
  }
  if (fflush(stdout) != 0) return cf_cli_refuse(a, "cannot write the answer: %s", strerror(errno));
  return 0;
}

/* ------------------------------------------------------------ tables */

/* Characters (UTF-8 code points) in s, the width a terminal gives it, near enough. */
static size_t text_width(const char *s) {
  size_t w = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80) w++;
  return w;
}

/* A copy of s for a cell: NULL and "" become "-", newlines spaces, cut at max characters. */
static char *cell_text(const char *s, size_t max) {
  if (!s || !*s) return cf_strdup("-");
  size_t len = strlen(s), cut = len;
  if (max > 3 && text_width(s) > max) {
    size_t w = 0;
    for (cut = 0; cut < len; cut++) {
      if (((unsigned char)s[cut] & 0xC0) != 0x80 && w++ == max - 3) break;
    }
  }
  char *c = cf_malloc(cut + 4);
  if (!c) return NULL;
  memcpy(c, s, cut);
  if (cut < len)
    memcpy(c + cut, "...", 4);
  else
    c[cut] = '\0';
  for (char *p = c; *p; p++)
    if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
  return c;
}

void cf_cli_table_init(struct cf_cli_table *t, size_t ncols, const char *const *header, size_t max_cell) {
  memset(t, 0, sizeof *t);
  t->ncols = ncols;
  t->max_cell = max_cell;
  cf_cli_table_add(t, header);
}

void cf_cli_table_add(struct cf_cli_table *t, const char *const *cells) {
  if (t->oom) return;
  size_t need = (t->nrows + 1) * t->ncols;
  while (t->cap < need)
    if (!cf_grow((void **)&t->cells, &t->cap, t->cap, sizeof *t->cells)) {
      t->oom = true;
      return;
    }
  char **row = t->cells + t->nrows * t->ncols;
  for (size_t c = 0; c < t->ncols; c++) {
    row[c] = cell_text(cells[c], t->max_cell);
    if (!row[c]) {
      for (size_t k = 0; k < c; k++) cf_free(row[k]);
      t->oom = true;
      return;
    }
  }
  t->nrows++;
}

void cf_cli_table_render(const struct cf_cli_table *t, struct cf_buf *b) {
  if (t->oom) {
    b->oom = true;
    return;
  }
  size_t width[16] = {0};
  size_t ncols = t->ncols < 16 ? t->ncols : 16;
  for (size_t r = 0; r < t->nrows; r++)
    for (size_t c = 0; c < ncols; c++) {
      size_t w = text_width(t->cells[r * t->ncols + c]);
      if (w > width[c]) width[c] = w;
    }
  for (size_t r = 0; r < t->nrows; r++) {
    for (size_t c = 0; c < ncols; c++) {
      const char *cell = t->cells[r * t->ncols + c];
      cf_buf_puts(b, cell);
      if (c + 1 < ncols) cf_buf_printf(b, "%*s", (int)(width[c] - text_width(cell) + 2), "");
    }
    cf_buf_putc(b, '\n');
  }
}

void cf_cli_table_release(struct cf_cli_table *t) {
  for (size_t i = 0; i < t->nrows * t->ncols; i++) cf_free(t->cells[i]);
  cf_free(t->cells);
  memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------ rows: jobs, user tasks, incidents */

static const char *job_state(const struct cf_store_job *j) {
  return j->state == CF_ENGINE_JOB_FAILED ? "failed" : "activatable";
}

void cf_cli_json_job(struct cf_buf *b, const struct cf_store_job *j, const char *variables) {
  cf_buf_puts(b, "{\"jobKey\":");
  cf_cli_json_key(b, j->key);
  cf_buf_puts(b, ",\"type\":");
  cf_cli_json_str(b, j->type);
  cf_buf_puts(b, ",\"processInstanceKey\":");
  cf_cli_json_key(b, j->instance_key);
  cf_buf_puts(b, ",\"elementId\":");
  cf_cli_json_str(b, j->element_id);
  cf_buf_puts(b, ",\"elementInstanceKey\":");
  cf_cli_json_key(b, j->element_instance_key);
  cf_buf_printf(b, ",\"retries\":%d,\"state\":\"%s\"", (int)j->retries, job_state(j));
  if (variables) {
    cf_buf_puts(b, ",\"variables\":");
    cf_cli_json_raw(b, variables, "{}");
  }
  cf_buf_puts(b, ",\"customHeaders\":");
  cf_cli_json_raw(b, j->headers, "{}");
  cf_buf_puts(b, ",\"worker\":");
  cf_cli_json_str(b, j->worker);
  cf_buf_puts(b, ",\"deadline\":");
  cf_cli_json_time(b, j->worker ? j->lease_until_ms : 0);
  /* When a failed job may be activated again (its back-off); null for a job that never failed. */
  cf_buf_puts(b, ",\"retryAt\":");
  cf_cli_json_time(b, j->error_message ? j->available_ms : 0);
  cf_buf_puts(b, ",\"errorMessage\":");
  cf_cli_json_str(b, j->error_message);
  cf_buf_putc(b, '}');
}

void cf_cli_json_task(struct cf_buf *b, const struct cf_store_user_task *t) {
  cf_buf_puts(b, "{\"userTaskKey\":");
  cf_cli_json_key(b, t->key);
  cf_buf_puts(b, ",\"elementId\":");
  cf_cli_json_str(b, t->element_id);
  cf_buf_puts(b, ",\"elementInstanceKey\":");
  cf_cli_json_key(b, t->element_instance_key);
  cf_buf_puts(b, ",\"processInstanceKey\":");
  cf_cli_json_key(b, t->instance_key);
  cf_buf_puts(b, ",\"assignee\":");
  cf_cli_json_str(b, t->assignee);
  cf_buf_puts(b, ",\"candidateGroups\":");
  cf_cli_json_raw(b, t->candidate_groups, "[]");
  cf_buf_puts(b, ",\"candidateUsers\":");
  cf_cli_json_raw(b, t->candidate_users, "[]");
  cf_buf_puts(b, t->state ? ",\"state\":\"completed\",\"creationDate\":" : ",\"state\":\"created\",\"creationDate\":");
  cf_cli_json_time(b, t->created_ms);
  cf_buf_puts(b, ",\"completionDate\":");
  if (t->state) cf_cli_json_time(b, t->completed_ms);
  else cf_buf_puts(b, "null");
  cf_buf_puts(b, ",\"completedBy\":");
  cf_cli_json_str(b, t->state ? t->completed_by : NULL);
  cf_buf_puts(b, ",\"dueDate\":");
  cf_cli_json_str(b, t->due_date);
  cf_buf_puts(b, ",\"followUpDate\":");
  cf_cli_json_str(b, t->follow_up_date);
  cf_buf_puts(b, ",\"formKey\":");
  cf_cli_json_str(b, t->form_key);
  cf_buf_printf(b, ",\"priority\":%d}", (int)t->priority);
}

const char *cf_cli_incident_type(int type) {
  switch (type) {
  case CF_ENGINE_INC_JOB_NO_RETRIES: return "JOB_NO_RETRIES";
  case CF_ENGINE_INC_EXPRESSION: return "EXTRACT_VALUE_ERROR";
  case CF_ENGINE_INC_CONDITION: return "CONDITION_ERROR";
  case CF_ENGINE_INC_UNHANDLED_ERROR: return "UNHANDLED_ERROR_EVENT";
  case CF_ENGINE_INC_EXTRACT_VALUE: return "EXTRACT_VALUE_ERROR";
  default: return "UNKNOWN";
  }
}

void cf_cli_json_incident(struct cf_buf *b, const struct cf_store_incident *c) {
  cf_buf_puts(b, "{\"incidentKey\":");
  cf_cli_json_key(b, c->key);
  cf_buf_puts(b, ",\"processInstanceKey\":");
  cf_cli_json_key(b, c->instance_key);
  cf_buf_puts(b, ",\"elementId\":");
  cf_cli_json_str(b, c->element_id);
  cf_buf_puts(b, ",\"elementInstanceKey\":");
  cf_cli_json_key(b, c->element_instance_key);
  cf_buf_printf(b, ",\"errorType\":\"%s\",\"errorMessage\":", cf_cli_incident_type(c->type));
  cf_cli_json_str(b, c->message);
  cf_buf_puts(b, ",\"jobKey\":");
  cf_cli_json_key(b, c->job_key);
  cf_buf_puts(b, ",\"creationDate\":");
  cf_cli_json_time(b, c->created_ms);
  cf_buf_puts(b, ",\"state\":\"active\"}");
}

/* A key as text for a cell ("" for 0). */
static const char *key_text(uint64_t key, char *buf, size_t len) {
  if (key)
    snprintf(buf, len, "%llu", (unsigned long long)key);
  else if (len)
    buf[0] = '\0';
  return buf;
}

void cf_cli_render_jobs(struct cf_buf *b, const struct cf_store_job *jobs, size_t n) {
  static const char *const head[] = {"JOB", "TYPE", "INSTANCE", "ELEMENT", "RETRIES", "STATE", "WORKER",
                                     "DEADLINE", "ERROR"};
  struct cf_cli_table t;
  cf_cli_table_init(&t, 9, head, 60);
  for (size_t i = 0; i < n; i++) {
    const struct cf_store_job *j = &jobs[i];
    char k[24], ik[24], r[16], dl[48];
    snprintf(r, sizeof r, "%d", (int)j->retries);
    const char *row[] = {key_text(j->key, k, sizeof k), j->type, key_text(j->instance_key, ik, sizeof ik),
                         j->element_id, r, job_state(j), j->worker,
                         cf_cli_format_time(j->worker ? j->lease_until_ms : 0, dl, sizeof dl),
                         j->error_message};
    cf_cli_table_add(&t, row);
  }
  cf_cli_table_render(&t, b);
  cf_cli_table_release(&t);
}

/* ["a","b"] as "a, b" (the text itself when it is no array of strings). */
static void join_list(const char *json, char *out, size_t len) {
  out[0] = '\0';
  if (!json) return;
  struct cf_error err;
  cf_error_clear(&err);
  struct json_object *j = cf_json_parse(json, strlen(json), &err);
  if (!j || !json_object_is_type(j, json_type_array)) {
    snprintf(out, len, "%s", j ? json : "");
    json_object_put(j);
    return;
  }
  size_t used = 0;
  for (size_t i = 0; i < json_object_array_length(j) && used < len; i++) {
    struct json_object *e = json_object_array_get_idx(j, i);
    const char *s = e && json_object_is_type(e, json_type_string) ? json_object_get_string(e) : "?";
    int w = snprintf(out + used, len - used, "%s%s", i ? ", " : "", s);
    if (w < 0) break;
    used += (size_t)w;
  }
  json_object_put(j);
}

void cf_cli_render_tasks(struct cf_buf *b, const struct cf_store_user_task *tasks, size_t n) {
  static const char *const head[] = {"TASK", "ELEMENT", "INSTANCE", "ASSIGNEE", "GROUPS", "PRIORITY",
                                     "CREATED", "DUE"};
  struct cf_cli_table t;
  cf_cli_table_init(&t, 8, head, 60);
  for (size_t i = 0; i < n; i++) {
    const struct cf_store_user_task *u = &tasks[i];
    char k[24], ik[24], p[16], cr[48], groups[256];
    snprintf(p, sizeof p, "%d", (int)u->priority);
    join_list(u->candidate_groups, groups, sizeof groups);
    const char *row[] = {key_text(u->key, k, sizeof k), u->element_id,
                         key_text(u->instance_key, ik, sizeof ik), u->assignee, groups, p,
                         cf_cli_format_time(u->created_ms, cr, sizeof cr), u->due_date};
    cf_cli_table_add(&t, row);
  }
  cf_cli_table_render(&t, b);
  cf_cli_table_release(&t);
}

void cf_cli_render_incidents(struct cf_buf *b, const struct cf_store_incident *inc, size_t n) {
  static const char *const head[] = {"INCIDENT", "INSTANCE", "ELEMENT", "TYPE", "JOB", "CREATED",
                                     "MESSAGE"};
  struct cf_cli_table t;
  cf_cli_table_init(&t, 7, head, 0);
  for (size_t i = 0; i < n; i++) {
    const struct cf_store_incident *c = &inc[i];
    char k[24], ik[24], jk[24], cr[48];
    const char *row[] = {key_text(c->key, k, sizeof k), key_text(c->instance_key, ik, sizeof ik),
                         c->element_id, cf_cli_incident_type(c->type), key_text(c->job_key, jk, sizeof jk),
                         cf_cli_format_time(c->created_ms, cr, sizeof cr), c->message};
    cf_cli_table_add(&t, row);
  }
  cf_cli_table_render(&t, b);
  cf_cli_table_release(&t);
}
