/*
 * The SQLite backend's searches (cf_store_ops.search), the API's single-row
 * reads (task_get, incident_get), and the cache of statements prepared from
 * SQL text that store_sqlite.c's fixed list does not hold.
 *
 * A search is compiled to SQL whose text depends only on the query's shape
 * (entities, fields, operators, the number of IN values rounded up to a
 * power of two, sorts): every value is a bound parameter, never text pasted
 * into SQL. So the API's searches, which come in a few shapes at a high
 * rate, are prepared once per handle and only bound again.
 *
 * Choices:
 * - LIKE ('*', '?', '\' escapes) is compiled to GLOB, which is case-sensitive
 *   like Camunda's $like (SQLite's LIKE is not, for ASCII, and switching
 *   PRAGMA case_sensitive_like would change it for the whole connection).
 *   A literal '*', '?' or '[' becomes a one-character class ("[*]").
 * - var:NAME is the JSON text of the process variable (instances.variables
 *   -> '$."NAME"'), NAME bound (the path built in SQL by json_quote). A number
 *   compared with =, <>, <, <=, >, >= is compared as a number (42 = 42.0),
 *   with variables that hold numbers only; text values compare JSON text.
 * - field:NAME (records) is the record field's SQL value (fields ->> '$."NAME"'):
 *   text compares as text, numbers (and booleans, as 1/0) as numbers; a
 *   record is sorted by it too (absent first). A search that names no type
 *   finds every type's records; records_type (type, key) serves one that does.
 * - NEQ and NOT_IN hold for a field that is not set (NULL): an unassigned
 *   task is "not assigned to bob".
 * - total: the page's rows tell it when the page is not full (no second
 *   query); else one count(*) of the same WHERE, both in one read
 *   transaction so that rows and total come from one snapshot. A window
 *   count(*) OVER () would read and sort every match before the LIMIT.
 * - Indexes: no new ones (user_tasks and jobs are rewritten on the hot path:
 *   each index there costs every instance update). A condition on
 *   instance_key goes through the *_instance index, one on assignee through
 *   user_tasks_assignee, named with INDEXED BY as store_sqlite.c does since
 *   e1f2419: without statistics the planner prefers user_tasks_state
 *   (state, key) for an ORDER BY key and reads every open task.
 *   NEEDSWORK: a sort of user tasks by created_ms reads the tasks that match
 *   (through an index when state, assignee or instance_key is given) and
 *   keeps the top offset+limit in a sorter; an index (state, created_ms)
 *   would avoid that at the cost of the write path. Wait for a measured need.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "store/cf_store.h"
#include "store/store_sqlite_int.h"

/* ------------------------------------------------------------ the statement cache */

struct cache_entry {
  char *sql;
  size_t len;
  uint64_t hash;
  sqlite3_stmt *st;
  uint64_t used; /* the cache's tick when last handed out */
};

struct cf__sqlite_cache {
  struct cache_entry e[CF__SQLITE_CACHE_SIZE];
  size_t n;
  uint64_t tick;
};

static uint64_t fnv1a(const char *s, size_t len) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ull;
  }
  return h;
}

int cf__store_sqlite_cached(struct cf_store *s, const char *sql, size_t len, sqlite3_stmt **st,
                            struct cf_error *err) {
  struct cf__sqlite_cache **cp = cf__store_sqlite_cache(s);
  if (!*cp && !(*cp = cf_calloc(1, sizeof **cp)))
    return cf_error_set(err, CF_ENOMEM, "preparing a statement: out of memory");
  struct cf__sqlite_cache *c = *cp;
  uint64_t h = fnv1a(sql, len);
  for (size_t i = 0; i < c->n; i++) {
    struct cache_entry *e = &c->e[i];
    if (e->hash == h && e->len == len && !memcmp(e->sql, sql, len)) {
      e->used = ++c->tick;
      *st = e->st;
      return CF_OK;
    }
  }
  if (len > (size_t)INT32_MAX)
    return cf_error_set(err, CF_EINVAL, "preparing a statement: the SQL is too long");
  sqlite3_stmt *nst = NULL;
  int rc = sqlite3_prepare_v3(cf__store_sqlite_db(s), sql, (int)len, SQLITE_PREPARE_PERSISTENT,
                              &nst, NULL);
  if (rc != SQLITE_OK) return cf__store_sqlite_fail(s, rc, err, "preparing a statement");
  char *copy = cf_strndup(sql, len);
  if (!copy) {
    sqlite3_finalize(nst);
    return cf_error_set(err, CF_ENOMEM, "preparing a statement: out of memory");
  }
  struct cache_entry *slot;
  if (c->n < CF__SQLITE_CACHE_SIZE) {
    slot = &c->e[c->n++];
  } else {
    slot = &c->e[0];
    for (size_t i = 1; i < c->n; i++)
      if (c->e[i].used < slot->used) slot = &c->e[i];
    sqlite3_finalize(slot->st);
    cf_free(slot->sql);
  }
  *slot = (struct cache_entry){.sql = copy, .len = len, .hash = h, .st = nst, .used = ++c->tick};
  *st = nst;
  return CF_OK;
}

void cf__store_sqlite_cache_free(struct cf__sqlite_cache *c) {
  if (!c) return;
  for (size_t i = 0; i < c->n; i++) {
    sqlite3_finalize(c->e[i].st);
    cf_free(c->e[i].sql);
  }
  cf_free(c);
}

static int cached(struct cf_store *s, const char *sql, sqlite3_stmt **st, struct cf_error *err) {
  return cf__store_sqlite_cached(s, sql, strlen(sql), st, err);
}

/* ------------------------------------------------------------ entities and their fields */

enum ftype {
  F_NUM,   /* an integer column (keys, times, states, booleans 0/1) */
  F_TEXT,  /* a text column */
  F_ARRAY, /* a JSON array of strings: conditions test membership */
  F_VAR    /* var:NAME */
};

struct field {
  const char *name;
  const char *expr;  /* SQL over the entity's aliases */
  enum ftype type;
  bool inst;         /* reads the instance (i): needs the join where the entity has one */
};

struct entity {
  const char *what;     /* for messages: "user tasks" */
  const char *from;     /* "user_tasks t" */
  const char *join;     /* the instance join, or NULL (instances are i themselves) */
  bool rows_join;       /* the rows read the instance: always joined */
  const char *key;      /* "t.key" */
  const char *cols;     /* the rows' columns, in the order of the reader */
  const char *vars;     /* the variables JSON for var:NAME, or NULL: none */
  const struct field *fields;
  size_t nfields;
  size_t row_size;
  bool (*read)(sqlite3_stmt *, void *);
  void (*release)(void *);
  const char *doc;      /* the JSON object of field:NAME (records' fields), or NULL: none */
};

#define NFIELDS(a) (sizeof a / sizeof a[0])

static const struct field instance_fields[] = {
    {"key", "i.key", F_NUM, false},
    {"definition_key", "i.definition_key", F_NUM, false},
    {"process_id", "i.process_id", F_TEXT, false},
    {"version", "i.version", F_NUM, false},
    {"version_tag", "(SELECT d.version_tag FROM definitions d WHERE d.key = i.definition_key)",
     F_TEXT, false},
    {"state", "i.state", F_NUM, false},
    {"incident", "i.incident", F_NUM, false},
    {"business_key", "i.business_key", F_TEXT, false},
    {"parent_key", "i.parent_key", F_NUM, false},
    {"started_ms", "i.started_ms", F_NUM, false},
    {"ended_ms", "NULLIF(i.ended_ms, 0)", F_NUM, false}, /* 0 while active: absent */
};

static const struct field task_fields[] = {
    {"key", "t.key", F_NUM, false},
    {"instance_key", "t.instance_key", F_NUM, false},
    {"element_instance_key", "t.element_instance_key", F_NUM, false},
    {"element_id", "t.element_id", F_TEXT, false},
    {"assignee", "t.assignee", F_TEXT, false},
    {"candidate_group", "t.candidate_groups", F_ARRAY, false},
    {"candidate_user", "t.candidate_users", F_ARRAY, false},
    {"priority", "t.priority", F_NUM, false},
    {"created_ms", "t.created_ms", F_NUM, false},
    {"completed_ms", "NULLIF(t.completed_ms, 0)", F_NUM, false}, /* 0 while open: absent */
    {"state", "t.state", F_NUM, false},
    /* The dates as the model gave them (ISO-8601 text) in epoch ms; NULL when absent or not a plain
     * date-time (a zone id such as @Europe/Paris). */
    {"due_ms", "(unixepoch(t.due_date) * 1000)", F_NUM, false},
    {"follow_up_ms", "(unixepoch(t.follow_up_date) * 1000)", F_NUM, false},
    {"definition_key", "i.definition_key", F_NUM, true},
    {"process_id", "i.process_id", F_TEXT, true},
};

static const struct field incident_fields[] = {
    {"key", "c.key", F_NUM, false},
    {"instance_key", "c.instance_key", F_NUM, false},
    {"element_instance_key", "c.element_instance_key", F_NUM, false},
    {"element_id", "c.element_id", F_TEXT, false},
    {"type", "c.type", F_NUM, false},
    {"job_key", "c.job_key", F_NUM, false},
    {"message", "c.message", F_TEXT, false},
    {"created_ms", "c.created_ms", F_NUM, false},
    {"definition_key", "i.definition_key", F_NUM, true},
    {"process_id", "i.process_id", F_TEXT, true},
};

static const struct field definition_fields[] = {
    {"key", "d.key", F_NUM, false},
    {"process_id", "d.process_id", F_TEXT, false},
    {"version", "d.version", F_NUM, false},
    {"version_tag", "d.version_tag", F_TEXT, false},
    {"resource_name", "d.resource_name", F_TEXT, false},
    {"deployment_key", "d.deployment_key", F_NUM, false},
    /* UNIQUE (process_id, version) answers the max() */
    {"latest", "(d.version = (SELECT max(e.version) FROM definitions e"
               " WHERE e.process_id = d.process_id))", F_NUM, false},
};

static const struct field record_fields[] = {
    {"key", "r.key", F_NUM, false},
    {"type", "r.type", F_TEXT, false},
    {"version", "r.version", F_NUM, false},
    {"created_ms", "r.created_ms", F_NUM, false},
    {"updated_ms", "r.updated_ms", F_NUM, false},
    {"created_by", "r.created_by", F_TEXT, false},
    {"updated_by", "r.updated_by", F_TEXT, false},
};

static const struct field job_fields[] = {
    {"key", "j.key", F_NUM, false},
    {"instance_key", "j.instance_key", F_NUM, false},
    {"element_instance_key", "j.element_instance_key", F_NUM, false},
    {"element_id", "j.element_id", F_TEXT, false},
    {"type", "j.type", F_TEXT, false},
    {"retries", "j.retries", F_NUM, false},
    {"state", "j.state", F_NUM, false},
    {"worker", "j.worker", F_TEXT, false},
    {"definition_key", "i.definition_key", F_NUM, true},
    {"process_id", "i.process_id", F_TEXT, true},
};

/* The columns of store_sqlite.c's *_COLS, then (tasks, incidents) the instance's. */
#define TASK_SEL                                                                                 \
  "t.key, t.instance_key, t.element_instance_key, t.element_id, t.assignee, t.candidate_groups," \
  " t.candidate_users, t.due_date, t.follow_up_date, t.form_key, t.priority, t.created_ms,"     \
  " t.state, t.completed_ms, t.completed_by, i.definition_key, i.process_id, i.version"
#define INC_SEL                                                                                 \
  "c.key, c.instance_key, c.element_instance_key, c.element_id, c.type, c.job_key, c.message," \
  " c.created_ms, i.definition_key, i.process_id, i.version"
#define TASK_JOIN " LEFT JOIN instances i ON i.key = t.instance_key"
#define INC_JOIN " LEFT JOIN instances i ON i.key = c.instance_key"

/* Readers of the rows with the instance's columns after the entity's own. */
static bool read_task_full(sqlite3_stmt *st, void *row) {
  struct cf_store_user_task *t = row;
  bool ok = true;
  if (!cf__store_sqlite_read_task(st, row)) return false;
  t->definition_key = (uint64_t)sqlite3_column_int64(st, 15);
  t->process_id = cf__store_sqlite_col_str(st, 16, &ok);
  t->version = (int32_t)sqlite3_column_int(st, 17);
  if (!ok) cf_store_user_task_release(t);
  return ok;
}

static bool read_incident_full(sqlite3_stmt *st, void *row) {
  struct cf_store_incident *c = row;
  bool ok = true;
  if (!cf__store_sqlite_read_incident(st, row)) return false;
  c->definition_key = (uint64_t)sqlite3_column_int64(st, 8);
  c->process_id = cf__store_sqlite_col_str(st, 9, &ok);
  c->version = (int32_t)sqlite3_column_int(st, 10);
  if (!ok) cf_store_incident_release(c);
  return ok;
}

static void rel_instance(void *r) { cf_store_instance_release(r); }
static void rel_task(void *r) { cf_store_user_task_release(r); }
static void rel_incident(void *r) { cf_store_incident_release(r); }
static void rel_definition(void *r) { cf_store_definition_release(r); }
static void rel_job(void *r) { cf_store_job_release(r); }
static void rel_record(void *r) { cf_store_record_release(r); }

static const struct entity entities[] = {
    [CF_STORE_INSTANCES] = {"instances", "instances i", NULL, false, "i.key",
                            "i.key, i.definition_key, i.process_id, i.version, i.state,"
                            " i.incident, i.business_key, i.parent_key, i.started_ms, i.ended_ms,"
                            " i.row_version, NULL, i.variables",
                            "i.variables", instance_fields, NFIELDS(instance_fields),
                            sizeof(struct cf_store_instance), cf__store_sqlite_read_instance,
                            rel_instance, NULL},
    [CF_STORE_USER_TASKS] = {"user tasks", "user_tasks t", TASK_JOIN, true, "t.key", TASK_SEL,
                             "i.variables", task_fields, NFIELDS(task_fields),
                             sizeof(struct cf_store_user_task), read_task_full, rel_task, NULL},
    [CF_STORE_INCIDENTS] = {"incidents", "incidents c", INC_JOIN, true, "c.key", INC_SEL, NULL,
                            incident_fields, NFIELDS(incident_fields),
                            sizeof(struct cf_store_incident), read_incident_full, rel_incident, NULL},
    [CF_STORE_DEFINITIONS] = {"definitions", "definitions d", NULL, false, "d.key",
                              "d.key, d.process_id, d.version, d.version_tag, d.deployment_key,"
                              " d.resource_name, d.checksum, NULL, d.deployed_ms",
                              NULL, definition_fields, NFIELDS(definition_fields),
                              sizeof(struct cf_store_definition), cf__store_sqlite_read_definition,
                              rel_definition, NULL},
    [CF_STORE_JOBS] = {"jobs", "jobs j", " LEFT JOIN instances i ON i.key = j.instance_key", false,
                       "j.key",
                       "j.key, j.instance_key, j.element_instance_key, j.element_id, j.type,"
                       " j.retries, j.state, j.available_ms, j.worker, j.lease_until_ms,"
                       " j.headers, j.error_message",
                       NULL, job_fields, NFIELDS(job_fields), sizeof(struct cf_store_job),
                       cf__store_sqlite_read_job, rel_job, NULL},
    /* records_type (type, key) gives a type's records in key order. */
    [CF_STORE_RECORDS] = {.what = "records", .from = "records r", .key = "r.key",
                          .cols = "r.key, r.type, r.version, r.fields, r.created_ms, r.updated_ms,"
                                  " r.created_by, r.updated_by",
                          .fields = record_fields, .nfields = NFIELDS(record_fields),
                          .row_size = sizeof(struct cf_store_record),
                          .read = cf__store_sqlite_read_record, .release = rel_record,
                          .doc = "r.fields"},
};

/* ------------------------------------------------------------ compiling a query */

/* A bound parameter: a number, or text (borrowed, or owned when made here). */
struct param {
  bool is_text;
  int64_t num;
  const char *text;
  char *owned;
  bool is_real;
  double real;
};

struct compiler {
  const struct entity *e;
  struct cf_buf where;  /* the WHERE clause's text, without the keyword */
  struct param *p;
  size_t np, cap;
  bool join;            /* a condition or sort reads the instance */
  const char *index;    /* an INDEXED BY for the entity's table, or NULL */
  struct cf_error *err;
  int r;
};

/* Appends a parameter and writes its placeholder; 0 when out of memory. */
static size_t add_param(struct compiler *c, struct param v) {
  if (!cf_grow((void **)&c->p, &c->cap, c->np, sizeof *c->p)) {
    cf_free(v.owned);
    c->r = cf_error_set(c->err, CF_ENOMEM, "searching %s: out of memory", c->e->what);
    return 0;
  }
  c->p[c->np++] = v;
  return c->np;
}

static void put_param(struct compiler *c, struct param v) {
  size_t n = add_param(c, v);
  if (n) cf_buf_printf(&c->where, "?%zu", n);
}

static int invalid(struct compiler *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* CF_EINVAL naming the field and why. */
static int invalid(struct compiler *c, const char *field, const char *fmt, ...) {
  char why[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  c->r = cf_error_set(c->err, CF_EINVAL, "searching %s: field '%s': %s", c->e->what, field, why);
  return c->r;
}

static const char *op_name(enum cf_store_qop op) {
  static const char *const names[] = {"EQ", "NEQ", "EXISTS", "IN", "NOT_IN", "LIKE",
                                      "GT", "GTE", "LT", "LTE"};
  return (unsigned)op < sizeof names / sizeof names[0] ? names[op] : "?";
}

/*
 * A '*'/'?' pattern with '\' escapes as a GLOB pattern (new, or NULL when out
 * of memory). GLOB's own specials taken literally become one-character
 * classes; a trailing lone '\' is a literal backslash.
 */
static char *glob_pattern(const char *pat) {
  struct cf_buf b;
  cf_buf_init(&b);
  for (const char *q = pat; *q; q++) {
    char ch = *q;
    bool literal = false;
    if (ch == '\\') {
      literal = true;
      if (q[1]) ch = *++q;
    }
    if (!literal && (ch == '*' || ch == '?'))
      cf_buf_putc(&b, ch);
    else if (ch == '*' || ch == '?' || ch == '[')
      cf_buf_printf(&b, "[%c]", ch);
    else
      cf_buf_putc(&b, ch);
  }
  if (b.oom) {
    cf_buf_release(&b);
    return NULL;
  }
  char *d = cf_buf_detach(&b);
  if (!d) d = cf_strdup(""); /* nothing appended: detach of the static "" */
  return d;
}

/* A value as a parameter for a var: IN list: the JSON text of a number is its digits. */
static struct param var_text_param(const struct cf_store_qvalue *v) {
  if (v->is_text) return (struct param){.is_text = true, .text = v->text};
  char tmp[40];
  if (v->is_real) snprintf(tmp, sizeof tmp, "%.17g", v->real);
  else snprintf(tmp, sizeof tmp, "%lld", (long long)v->num);
  char *d = cf_strdup(tmp);
  return (struct param){.is_text = true, .text = d, .owned = d};
}

/* Writes "(?a,?b,...)" for n values, padded to a power of two with the last value (one shape per
 * size class, not one per count). */
static void put_list(struct compiler *c, const struct cf_store_qcond *q, bool var) {
  size_t slots = 1;
  while (slots < q->nvalues) slots *= 2;
  cf_buf_putc(&c->where, '(');
  for (size_t k = 0; k < slots && c->r == CF_OK; k++) {
    const struct cf_store_qvalue *v = &q->values[k < q->nvalues ? k : q->nvalues - 1];
    if (k) cf_buf_putc(&c->where, ',');
    struct param p = var ? var_text_param(v)
                         : (struct param){.is_text = v->is_text, .num = v->num, .text = v->text,
                                          .is_real = v->is_real, .real = v->real};
    if (var && !p.text) {
      c->r = cf_error_set(c->err, CF_ENOMEM, "searching %s: out of memory", c->e->what);
      break;
    }
    put_param(c, p);
  }
  cf_buf_putc(&c->where, ')');
}

static const char *cmp_sql(enum cf_store_qop op) {
  switch (op) {
  case CF_STORE_GT: return " > ";
  case CF_STORE_GTE: return " >= ";
  case CF_STORE_LT: return " < ";
  case CF_STORE_LTE: return " <= ";
  default: return " = ";
  }
}

/* The largest IN list: beyond it a caller is better served by another query. */
#define MAX_IN 1024

/* Checks a condition's values against its field's type; CF_OK or CF_EINVAL naming the field. */
static int check_values(struct compiler *c, const struct cf_store_qcond *q, enum ftype type) {
  const char *f = q->field;
  bool list = q->op == CF_STORE_IN || q->op == CF_STORE_NOT_IN;
  if ((unsigned)q->op > CF_STORE_LTE) return invalid(c, f, "unknown operator %d", (int)q->op);
  if (type == F_NUM && q->op == CF_STORE_LIKE)
    return invalid(c, f, "LIKE compares text, and this field is a number");
  if (type == F_ARRAY && (q->op == CF_STORE_LIKE || q->op >= CF_STORE_GT))
    return invalid(c, f, "a list takes EQ, NEQ, IN, NOT_IN or EXISTS, not %s", op_name(q->op));
  if (q->nvalues && !q->values) return invalid(c, f, "%s", "values missing");
  if (q->op == CF_STORE_EXISTS) {
    if (q->nvalues != 1 || q->values[0].is_text)
      return invalid(c, f, "%s", "EXISTS takes one value, 1 (set) or 0 (not set)");
    return CF_OK;
  }
  if (!list && q->nvalues != 1) return invalid(c, f, "%s takes one value", op_name(q->op));
  if (list && q->nvalues > MAX_IN) return invalid(c, f, "%s", "more than 1024 values");
  for (size_t k = 0; k < q->nvalues; k++) {
    const struct cf_store_qvalue *v = &q->values[k];
    if (v->is_text && !v->text) return invalid(c, f, "%s", "a text value is NULL");
    if (type == F_NUM && v->is_text) return invalid(c, f, "%s", "a number is expected, not text");
    if ((type == F_TEXT || type == F_ARRAY) && !v->is_text)
      return invalid(c, f, "%s", "text is expected, not a number");
    if (type == F_VAR && q->op == CF_STORE_LIKE && !v->is_text)
      return invalid(c, f, "%s", "LIKE takes a text pattern");
  }
  return CF_OK;
}

/* A condition on a list column (candidate groups and users). */
static void compile_array(struct compiler *c, const struct cf_store_qcond *q, const char *col) {
  struct cf_buf *w = &c->where;
  switch (q->op) {
  case CF_STORE_EXISTS:
    cf_buf_printf(w, "coalesce(json_array_length(%s), 0) %s 0", col,
                  q->values[0].num ? ">" : "=");
    return;
  case CF_STORE_IN:
  case CF_STORE_NOT_IN:
    if (q->nvalues == 0) {
      cf_buf_puts(w, q->op == CF_STORE_IN ? "0" : "1");
      return;
    }
    cf_buf_printf(w, "%sEXISTS (SELECT 1 FROM json_each(%s) WHERE value IN ",
                  q->op == CF_STORE_NOT_IN ? "NOT " : "", col);
    put_list(c, q, false);
    cf_buf_putc(w, ')');
    return;
  default: /* EQ, NEQ */
    cf_buf_printf(w, "%sEXISTS (SELECT 1 FROM json_each(%s) WHERE value = ",
                  q->op == CF_STORE_NEQ ? "NOT " : "", col);
    put_param(c, (struct param){.is_text = true, .text = q->values[0].text});
    cf_buf_putc(w, ')');
  }
}

/* A condition on expression x (a column, or a variable's JSON text). */
static void compile_plain(struct compiler *c, const struct cf_store_qcond *q, const char *x,
                          bool var) {
  struct cf_buf *w = &c->where;
  const struct cf_store_qvalue *v = q->nvalues ? &q->values[0] : NULL;
  switch (q->op) {
  case CF_STORE_EXISTS:
    cf_buf_printf(w, "%s IS %sNULL", x, v->num ? "NOT " : "");
    return;
  case CF_STORE_IN:
    if (q->nvalues == 0) {
      cf_buf_puts(w, "0");
      return;
    }
    cf_buf_printf(w, "%s IN ", x);
    put_list(c, q, var);
    return;
  case CF_STORE_NOT_IN:
    if (q->nvalues == 0) {
      cf_buf_puts(w, "1");
      return;
    }
    cf_buf_printf(w, "(%s IS NULL OR %s NOT IN ", x, x);
    put_list(c, q, var);
    cf_buf_putc(w, ')');
    return;
  case CF_STORE_LIKE: {
    char *g = glob_pattern(v->text);
    if (!g) {
      c->r = cf_error_set(c->err, CF_ENOMEM, "searching %s: out of memory", c->e->what);
      return;
    }
    cf_buf_printf(w, "%s GLOB ", x);
    put_param(c, (struct param){.is_text = true, .text = g, .owned = g});
    return;
  }
  case CF_STORE_NEQ:
    cf_buf_printf(w, "%s IS NOT ", x);
    break;
  default:
    cf_buf_printf(w, "%s%s", x, cmp_sql(q->op));
  }
  put_param(c, (struct param){.is_text = v->is_text, .num = v->num, .text = v->text, .is_real = v->is_real,
                              .real = v->real});
}

/*
 * var:NAME (field false) and field:NAME (field true). The path '$."NAME"' is
 * built in SQL from the bound name; SQLite's path syntax has no escape for
 * '"' inside a quoted label, so such a name is refused rather than silently
 * matching nothing.
 *
 * var: compares the JSON text of the value (->), field: its SQL value (->>:
 * text as text, a number as a number, true/false as 1/0, JSON null as NULL,
 * so that EXISTS 0 holds for a null field as for an absent one). A number
 * compared with =, <>, <, <=, >, >= is compared as a number with values that
 * hold one (for field:, booleans too): text never compares with a number
 * (SQLite would put every text above every number). LIKE on field: matches
 * text values only.
 */
static void compile_json(struct compiler *c, const struct cf_store_qcond *q, const char *name,
                         bool field) {
  if (!*name || strchr(name, '"')) {
    invalid(c, q->field, "%s",
            *name ? (field ? "a field name with '\"' cannot be searched"
                           : "a variable name with '\"' cannot be searched")
                  : (field ? "the field name is empty" : "the variable name is empty"));
    return;
  }
  const char *col = field ? c->e->doc : c->e->vars;
  size_t np = add_param(c, (struct param){.is_text = true, .text = name});
  if (!np) return;
  char path[64], json[160], num[320];
  snprintf(path, sizeof path, "('$.' || json_quote(?%zu))", np);
  snprintf(json, sizeof json, "(%s %s %s)", col, field ? "->>" : "->", path);
  bool numeric = q->op != CF_STORE_EXISTS && q->op != CF_STORE_IN && q->op != CF_STORE_NOT_IN &&
                 q->op != CF_STORE_LIKE && !q->values[0].is_text;
  struct cf_buf *w = &c->where;
  if (!numeric) {
    if (field && q->op == CF_STORE_LIKE) cf_buf_printf(w, "json_type(%s, %s) = 'text' AND ", col, path);
    compile_plain(c, q, json, !field);
    return;
  }
  /* A number: compared as a number with values that hold one. */
  snprintf(num, sizeof num, "(json_type(%s, %s) IN ('integer', 'real'%s) AND (%s ->> %s)", col,
           path, field ? ", 'true', 'false'" : "", col, path);
  if (q->op == CF_STORE_NEQ)
    cf_buf_printf(w, "NOT coalesce(%s = ", num);
  else
    cf_buf_printf(w, "%s%s", num, cmp_sql(q->op));
  put_param(c, (struct param){.num = q->values[0].num, .is_real = q->values[0].is_real, .real = q->values[0].real});
  cf_buf_puts(w, q->op == CF_STORE_NEQ ? "), 0)" : ")");
}

static const struct field *find_field(const struct entity *e, const char *name) {
  for (size_t i = 0; i < e->nfields; i++)
    if (!strcmp(e->fields[i].name, name)) return &e->fields[i];
  return NULL;
}

static int unknown_field(struct compiler *c, const char *name) {
  struct cf_buf names;
  cf_buf_init(&names);
  for (size_t i = 0; i < c->e->nfields; i++)
    cf_buf_printf(&names, "%s%s", i ? " " : "", c->e->fields[i].name);
  if (c->e->vars) cf_buf_puts(&names, " var:NAME");
  if (c->e->doc) cf_buf_puts(&names, " field:NAME");
  c->r = cf_error_set(c->err, CF_EINVAL, "searching %s: unknown field '%s' (fields: %s)",
                      c->e->what, name, names.oom ? "?" : names.data);
  cf_buf_release(&names);
  return c->r;
}

static int compile_cond(struct compiler *c, const struct cf_store_qcond *q) {
  if (!q->field) return c->r = cf_error_set(c->err, CF_EINVAL, "searching %s: a condition has no field", c->e->what);
  if (!strncmp(q->field, "var:", 4)) {
    if (!c->e->vars) return unknown_field(c, q->field);
    if (check_values(c, q, F_VAR)) return c->r;
    if (c->e->join) c->join = true;
    compile_json(c, q, q->field + 4, false);
    return c->r;
  }
  if (!strncmp(q->field, "field:", 6) && c->e->doc) {
    if (check_values(c, q, F_VAR)) return c->r;
    compile_json(c, q, q->field + 6, true);
    return c->r;
  }
  const struct field *f = find_field(c->e, q->field);
  if (!f) return unknown_field(c, q->field);
  if (check_values(c, q, f->type)) return c->r;
  if (f->inst) c->join = true;
  if (f->type == F_ARRAY)
    compile_array(c, q, f->expr);
  else
    compile_plain(c, q, f->expr, false);
  return c->r;
}

static void compile_conds(struct compiler *c, const struct cf_store_qcond *conds, size_t n) {
  for (size_t i = 0; i < n && c->r == CF_OK; i++) {
    if (i) cf_buf_puts(&c->where, " AND ");
    cf_buf_putc(&c->where, '(');
    compile_cond(c, &conds[i]);
    cf_buf_putc(&c->where, ')');
  }
}

/*
 * The index a top-level condition makes the one to use (see the file's
 * comment): an equality or IN on instance_key, else on assignee (tasks).
 */
static const char *pick_index(enum cf_store_entity ent, const struct cf_store_query *q) {
  static const char *const by_instance[] = {
      [CF_STORE_USER_TASKS] = "user_tasks_instance", [CF_STORE_INCIDENTS] = "incidents_instance",
      [CF_STORE_JOBS] = "jobs_instance"};
  const char *pick = NULL;
  for (size_t i = 0; i < q->nconds; i++) {
    const struct cf_store_qcond *k = &q->conds[i];
    if (k->op != CF_STORE_EQ && !(k->op == CF_STORE_IN && k->nvalues > 0)) continue;
    if (!strcmp(k->field, "instance_key") && ent < sizeof by_instance / sizeof by_instance[0] &&
        by_instance[ent])
      return by_instance[ent];
    if (ent == CF_STORE_USER_TASKS && !strcmp(k->field, "assignee")) pick = "user_tasks_assignee";
  }
  return pick;
}

/* ------------------------------------------------------------ running a search */

static int bind_params(struct cf_store *s, sqlite3_stmt *st, const struct param *p, size_t n,
                       struct cf_error *err, const char *what) {
  for (size_t i = 0; i < n; i++) {
    int rc = p[i].is_text   ? sqlite3_bind_text(st, (int)i + 1, p[i].text, -1, SQLITE_STATIC)
             : p[i].is_real ? sqlite3_bind_double(st, (int)i + 1, p[i].real)
                            : sqlite3_bind_int64(st, (int)i + 1, p[i].num);
    if (rc != SQLITE_OK) {
      int r = cf__store_sqlite_fail(s, rc, err, what);
      sqlite3_reset(st);
      return r;
    }
  }
  return CF_OK;
}

static int64_t clamp(size_t v) { return v > (size_t)INT64_MAX ? INT64_MAX : (int64_t)v; }

/* Runs the simple statement sql (BEGIN, COMMIT, ROLLBACK) through the cache. */
static int exec_cached(struct cf_store *s, const char *sql, struct cf_error *err, const char *what) {
  sqlite3_stmt *st = NULL;
  int r = cached(s, sql, &st, err);
  if (r) return r;
  int rc = sqlite3_step(st);
  if (rc != SQLITE_DONE) r = cf__store_sqlite_fail(s, rc, err, what);
  sqlite3_reset(st);
  return r;
}

int cf__store_sqlite_search(struct cf_store *s, const struct cf_store_query *q,
                            struct cf_store_result *out, struct cf_error *err) {
  if (!q || !out) return cf_error_set(err, CF_EINVAL, "search: no query");
  if ((unsigned)q->entity >= sizeof entities / sizeof entities[0])
    return cf_error_set(err, CF_EINVAL, "search: unknown entity %d", (int)q->entity);
  if ((q->nconds && !q->conds) || (q->nany && !q->any) || (q->nsort && !q->sort))
    return cf_error_set(err, CF_EINVAL, "search: a list of conditions or sorts is missing");
  const struct entity *e = &entities[q->entity];
  char what[64];
  snprintf(what, sizeof what, "searching %s", e->what);
  struct compiler c = {.e = e, .err = err};
  struct cf_buf page, count;
  cf_buf_init(&c.where);
  cf_buf_init(&page);
  cf_buf_init(&count);
  void *rows = NULL;
  size_t n = 0;
  uint64_t total = 0;
  bool own_tx = false;

  compile_conds(&c, q->conds, q->nconds);
  if (c.r == CF_OK && q->nany) {
    if (q->nconds) cf_buf_puts(&c.where, " AND ");
    cf_buf_putc(&c.where, '(');
    for (size_t g = 0; g < q->nany && c.r == CF_OK; g++) {
      if (g) cf_buf_puts(&c.where, " OR ");
      if (q->any[g].nconds && !q->any[g].conds) {
        c.r = cf_error_set(err, CF_EINVAL, "%s: a group's conditions are missing", what);
        break;
      }
      cf_buf_putc(&c.where, '(');
      if (q->any[g].nconds == 0) cf_buf_putc(&c.where, '1');
      compile_conds(&c, q->any[g].conds, q->any[g].nconds);
      cf_buf_putc(&c.where, ')');
    }
    cf_buf_putc(&c.where, ')');
  }
  if (c.r) goto out;
  /* The count reads the WHERE's parameters only (a sort by field:NAME adds its own). */
  size_t nwhere = c.np;

  /* ORDER BY: the sorts, then the key ascending (unless a sort is the key already). */
  struct cf_buf order;
  cf_buf_init(&order);
  bool by_key = false;
  for (size_t i = 0; i < q->nsort && c.r == CF_OK; i++) {
    const char *name = q->sort[i].field ? q->sort[i].field : "";
    if (e->doc && !strncmp(name, "field:", 6)) {
      /* By the field's SQL value: NULL (absent) first, then numbers, then text. */
      if (!name[6] || strchr(name + 6, '"')) {
        c.r = cf_error_set(err, CF_EINVAL, "%s: cannot sort by '%s' (not a field name)", what, name);
        break;
      }
      size_t np = add_param(&c, (struct param){.is_text = true, .text = name + 6});
      if (!np) break;
      cf_buf_printf(&order, "%s(%s ->> ('$.' || json_quote(?%zu)))%s", i ? ", " : "", e->doc, np,
                    q->sort[i].desc ? " DESC" : "");
      continue;
    }
    const struct field *f = find_field(e, name);
    if (!f) {
      if (!strncmp(name, "var:", 4))
        c.r = cf_error_set(err, CF_EINVAL, "%s: cannot sort by '%s' (a variable)", what, name);
      else
        unknown_field(&c, name);
      break;
    }
    if (f->type == F_ARRAY) {
      c.r = cf_error_set(err, CF_EINVAL, "%s: cannot sort by '%s' (a list)", what, name);
      break;
    }
    if (f->inst && e->join) c.join = true;
    if (!strcmp(name, "key")) by_key = true;
    cf_buf_printf(&order, "%s%s%s", i ? ", " : "", f->expr, q->sort[i].desc ? " DESC" : "");
  }
  /* Sorted by something else than the key (then the key's index cannot give the order). */
  bool sorted = q->nsort > 0 && !(q->nsort == 1 && by_key);
  if (!by_key) cf_buf_printf(&order, "%s%s", q->nsort ? ", " : "", e->key);
  if (c.r || order.oom) {
    if (!c.r) c.r = cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
    cf_buf_release(&order);
    goto out;
  }

  c.index = pick_index(q->entity, q);
  const char *indexed = c.index ? " INDEXED BY " : "";
  const char *index = c.index ? c.index : "";
  bool has_where = c.where.len > 0;
  if (q->limit && !sorted) {
    /* In key order an index hands the rows in order: the first offset + limit are read. */
    cf_buf_printf(&page, "SELECT %s FROM %s%s%s%s%s%s ORDER BY %s LIMIT ?%zu OFFSET ?%zu", e->cols,
                  e->from, indexed, index, e->join && (e->rows_join || c.join) ? e->join : "",
                  has_where ? " WHERE " : "", c.where.data, order.data, c.np + 1, c.np + 2);
  } else if (q->limit) {
    /* Another order sorts every match: only their keys (and sort fields), without the instance
     * unless a condition needs it; the page's rows are read and joined after. */
    cf_buf_printf(&page,
                  "SELECT %s FROM (SELECT %s AS k FROM %s%s%s%s%s%s ORDER BY %s LIMIT ?%zu"
                  " OFFSET ?%zu) x JOIN %s ON %s = x.k%s ORDER BY %s",
                  e->cols, e->key, e->from, indexed, index, e->join && c.join ? e->join : "",
                  has_where ? " WHERE " : "", c.where.data, order.data, c.np + 1, c.np + 2,
                  e->from, e->key, e->join && (e->rows_join || c.join) ? e->join : "",
                  order.data);
  }
  cf_buf_printf(&count, "SELECT count(*) FROM %s%s%s%s%s%s", e->from, indexed, index,
                e->join && c.join ? e->join : "", has_where ? " WHERE " : "", c.where.data);
  cf_buf_release(&order);
  if (c.where.oom || page.oom || count.oom) {
    c.r = cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
    goto out;
  }

  /* Rows and total from one snapshot. */
  if (q->limit && !cf__store_sqlite_in_tx(s)) {
    if ((c.r = exec_cached(s, "BEGIN", err, what))) goto out;
    own_tx = true;
  }
  bool need_count = true;
  if (q->limit) {
    sqlite3_stmt *st = NULL;
    if ((c.r = cf__store_sqlite_cached(s, page.data, page.len, &st, err))) goto out;
    if ((c.r = bind_params(s, st, c.p, c.np, err, what))) goto out;
    if (sqlite3_bind_int64(st, (int)c.np + 1, clamp(q->limit)) ||
        sqlite3_bind_int64(st, (int)c.np + 2, clamp(q->offset))) {
      c.r = cf__store_sqlite_fail(s, sqlite3_errcode(cf__store_sqlite_db(s)), err, what);
      sqlite3_reset(st);
      goto out;
    }
    if ((c.r = cf__store_sqlite_fetch_all(s, st, e->row_size, e->read, e->release, &rows, &n, err,
                                          what)))
      goto out;
    /* A page that is not full ends the matches: its rows tell the total (unless it is empty
     * past the offset, when the matches may have ended before it). */
    if (n < q->limit && (n > 0 || q->offset == 0)) {
      total = (uint64_t)q->offset + n;
      need_count = false;
    }
  }
  if (need_count) {
    sqlite3_stmt *st = NULL;
    if ((c.r = cf__store_sqlite_cached(s, count.data, count.len, &st, err))) goto out;
    if ((c.r = bind_params(s, st, c.p, nwhere, err, what))) goto out;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) total = (uint64_t)sqlite3_column_int64(st, 0);
    else c.r = cf__store_sqlite_fail(s, rc, err, what);
    sqlite3_reset(st);
    if (c.r) goto out;
  }

out:
  if (own_tx && cf__store_sqlite_in_tx(s)) {
    int rr = exec_cached(s, c.r ? "ROLLBACK" : "COMMIT", c.r ? NULL : err, what);
    if (!c.r) c.r = rr;
  }
  for (size_t i = 0; i < c.np; i++) cf_free(c.p[i].owned);
  cf_free(c.p);
  cf_buf_release(&c.where);
  cf_buf_release(&page);
  cf_buf_release(&count);
  if (c.r) {
    for (size_t i = 0; i < n; i++) e->release((char *)rows + i * e->row_size);
    cf_free(rows);
    return c.r;
  }
  memset(out, 0, sizeof *out);
  switch (q->entity) {
  case CF_STORE_INSTANCES: out->instances = rows; break;
  case CF_STORE_USER_TASKS: out->tasks = rows; break;
  case CF_STORE_INCIDENTS: out->incidents = rows; break;
  case CF_STORE_DEFINITIONS: out->definitions = rows; break;
  case CF_STORE_JOBS: out->jobs = rows; break;
  case CF_STORE_RECORDS: out->records = rows; break;
  }
  out->n = n;
  out->total = total;
  return CF_OK;
}

/* ------------------------------------------------------------ single rows for the API */

int cf__store_sqlite_task_get(struct cf_store *s, uint64_t key, struct cf_store_user_task *out,
                              struct cf_error *err) {
  static const char what[] = "getting a user task";
  sqlite3_stmt *st = NULL;
  int r = cached(s, "SELECT " TASK_SEL " FROM user_tasks t" TASK_JOIN " WHERE t.key = ?1", &st,
                 err);
  if (r) return r;
  if (sqlite3_bind_int64(st, 1, (sqlite3_int64)key))
    return cf__store_sqlite_fail(s, sqlite3_errcode(cf__store_sqlite_db(s)), err, what);
  struct cf_store_user_task t;
  r = cf__store_sqlite_fetch_one(s, st, read_task_full, &t, err, what);
  if (r == CF_ENOTFOUND)
    return cf_error_set(err, CF_ENOTFOUND, "no user task with key %llu", (unsigned long long)key);
  if (r == CF_OK) *out = t;
  return r;
}

int cf__store_sqlite_incident_get(struct cf_store *s, uint64_t key, struct cf_store_incident *out,
                                  struct cf_error *err) {
  static const char what[] = "getting an incident";
  sqlite3_stmt *st = NULL;
  int r = cached(s, "SELECT " INC_SEL " FROM incidents c" INC_JOIN " WHERE c.key = ?1", &st, err);
  if (r) return r;
  if (sqlite3_bind_int64(st, 1, (sqlite3_int64)key))
    return cf__store_sqlite_fail(s, sqlite3_errcode(cf__store_sqlite_db(s)), err, what);
  struct cf_store_incident c;
  r = cf__store_sqlite_fetch_one(s, st, read_incident_full, &c, err, what);
  if (r == CF_ENOTFOUND)
    return cf_error_set(err, CF_ENOTFOUND, "no incident with key %llu", (unsigned long long)key);
  if (r == CF_OK) *out = c;
  return r;
}
