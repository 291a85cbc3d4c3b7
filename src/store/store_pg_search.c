/*
 * The PostgreSQL backend's searches (cf_store_ops.search), the API's
 * single-row reads (task_get, incident_get) and the web UI's aggregates
 * (element_statistics, dashboard): the SQLite backend's answers
 * (store_sqlite_search.c, store_sqlite_ui.c) in PostgreSQL's SQL.
 *
 * A search is compiled to SQL whose text depends only on the query's shape,
 * every value a parameter with an explicit type (never text pasted into
 * SQL), so that the cache of statements from SQL text (cf__store_pg_query)
 * prepares each shape once per connection.
 *
 * Where PostgreSQL differs from SQLite, the SQLite backend's behaviour wins:
 * - LIKE: '*' and '?' become '%' and '_', '\' escapes; a literal '%', '_'
 *   or '\' is escaped. PostgreSQL's LIKE is case-sensitive already.
 * - Text compares and sorts byte-wise (COLLATE "C"), whatever the database's
 *   locale; NULL (absent) sorts first ascending, last descending.
 * - NEQ and NOT_IN hold for a field that is not set (IS DISTINCT FROM).
 * - var:NAME is the JSON text of the variable, read with the json type
 *   (variables stay TEXT: the json type keeps the value's text as written,
 *   as SQLite's -> gives it; jsonb would respace objects). A number compared
 *   with = <> < <= > >= is compared as a number with variables that hold
 *   one. field:NAME (records) is the field's SQL value: a string compares as
 *   text, a number (and a boolean, as 1/0) as a number, never one with the
 *   other; a JSON null is absent.
 * - candidate_group/candidate_user: membership in the JSON array, with
 *   jsonb's ? and ?| operators.
 * - Task dates (due_ms, follow_up_ms): ISO-8601 date-times (a date, a time
 *   with optional seconds and fraction, optional Z or +hh:mm; none: UTC) in
 *   epoch ms rounded down to the second, like SQLite's unixepoch; anything
 *   else (a zone id) is absent. NEEDSWORK: a date the pattern takes but the
 *   calendar does not (2024-02-30) fails the statement (CF_EINVAL) instead of
 *   being absent: a guard needs a function in the schema (a migration of its
 *   own, which the SQLite backend's numbering would have to skip).
 * - total: the page and, when the page does not tell it, a count of the same
 *   WHERE, in one REPEATABLE READ transaction (outside the caller's) so that
 *   both come from one snapshot.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "store/store_pg_int.h"

/* ISO-8601 text X (a column) in epoch ms, or NULL. */
#define ISO_MS(X)                                                                                  \
  "(CASE WHEN " X " ~ '^\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?)?$'"            \
  " THEN floor(extract(epoch FROM " X "::timestamp))::bigint * 1000"                               \
  " WHEN " X " ~ '^\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})$'" \
  " THEN floor(extract(epoch FROM " X "::timestamptz))::bigint * 1000 END)"

/* ------------------------------------------------------------ entities and their fields */

enum ftype {
  F_NUM,   /* an integer column (keys, times, states, booleans 0/1) */
  F_TEXT,  /* a text column */
  F_ARRAY, /* a JSON array of strings: conditions test membership */
  F_VAR    /* var:NAME / field:NAME */
};

struct field {
  const char *name;
  const char *expr; /* SQL over the entity's aliases */
  enum ftype type;
  bool inst;        /* reads the instance (i): needs the join where the entity has one */
};

struct entity {
  const char *what;
  const char *from;
  const char *join; /* the instance join, or NULL */
  bool rows_join;   /* the rows read the instance: always joined */
  const char *key;
  const char *cols;
  const char *vars; /* the variables' JSON text for var:NAME, or NULL */
  const struct field *fields;
  size_t nfields;
  size_t row_size;
  cf__pg_reader read;
  void (*release)(void *);
  const char *doc;  /* the JSON text of field:NAME (records' fields), or NULL */
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
    {"ended_ms", "NULLIF(i.ended_ms, 0)", F_NUM, false},
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
    {"completed_ms", "NULLIF(t.completed_ms, 0)", F_NUM, false},
    {"state", "t.state", F_NUM, false},
    {"due_ms", ISO_MS("t.due_date"), F_NUM, false},
    {"follow_up_ms", ISO_MS("t.follow_up_date"), F_NUM, false},
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
    {"latest", "(CASE WHEN d.version = (SELECT max(e.version) FROM definitions e"
               " WHERE e.process_id = d.process_id) THEN 1 ELSE 0 END)", F_NUM, false},
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

#define TASK_SEL                                                                                 \
  "t.key, t.instance_key, t.element_instance_key, t.element_id, t.assignee, t.candidate_groups," \
  " t.candidate_users, t.due_date, t.follow_up_date, t.form_key, t.priority, t.created_ms,"     \
  " t.state, t.completed_ms, t.completed_by, i.definition_key, i.process_id, i.version"
#define INC_SEL                                                                                 \
  "c.key, c.instance_key, c.element_instance_key, c.element_id, c.type, c.job_key, c.message," \
  " c.created_ms, i.definition_key, i.process_id, i.version"
#define TASK_JOIN " LEFT JOIN instances i ON i.key = t.instance_key"
#define INC_JOIN " LEFT JOIN instances i ON i.key = c.instance_key"

static bool read_task_full(const PGresult *res, int row, void *out) {
  struct cf_store_user_task *t = out;
  bool ok = true;
  if (!cf__store_pg_read_task(res, row, out)) return false;
  t->definition_key = (uint64_t)cf__pg_col_i64(res, row, 15);
  t->process_id = cf__pg_col_str(res, row, 16, &ok);
  t->version = (int32_t)cf__pg_col_i64(res, row, 17);
  if (!ok) cf_store_user_task_release(t);
  return ok;
}

static bool read_incident_full(const PGresult *res, int row, void *out) {
  struct cf_store_incident *c = out;
  bool ok = true;
  if (!cf__store_pg_read_incident(res, row, out)) return false;
  c->definition_key = (uint64_t)cf__pg_col_i64(res, row, 8);
  c->process_id = cf__pg_col_str(res, row, 9, &ok);
  c->version = (int32_t)cf__pg_col_i64(res, row, 10);
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
                            " i.row_version, NULL::bytea, i.variables",
                            "i.variables", instance_fields, NFIELDS(instance_fields),
                            sizeof(struct cf_store_instance), cf__store_pg_read_instance,
                            rel_instance, NULL},
    [CF_STORE_USER_TASKS] = {"user tasks", "user_tasks t", TASK_JOIN, true, "t.key", TASK_SEL,
                             "i.variables", task_fields, NFIELDS(task_fields),
                             sizeof(struct cf_store_user_task), read_task_full, rel_task, NULL},
    [CF_STORE_INCIDENTS] = {"incidents", "incidents c", INC_JOIN, true, "c.key", INC_SEL, NULL,
                            incident_fields, NFIELDS(incident_fields),
                            sizeof(struct cf_store_incident), read_incident_full, rel_incident,
                            NULL},
    [CF_STORE_DEFINITIONS] = {"definitions", "definitions d", NULL, false, "d.key",
                              "d.key, d.process_id, d.version, d.version_tag, d.deployment_key,"
                              " d.resource_name, d.checksum, NULL::bytea, d.deployed_ms",
                              NULL, definition_fields, NFIELDS(definition_fields),
                              sizeof(struct cf_store_definition), cf__store_pg_read_definition,
                              rel_definition, NULL},
    [CF_STORE_JOBS] = {"jobs", "jobs j", " LEFT JOIN instances i ON i.key = j.instance_key", false,
                       "j.key",
                       "j.key, j.instance_key, j.element_instance_key, j.element_id, j.type,"
                       " j.retries, j.state, j.available_ms, j.worker, j.lease_until_ms,"
                       " j.headers, j.error_message",
                       NULL, job_fields, NFIELDS(job_fields), sizeof(struct cf_store_job),
                       cf__store_pg_read_job, rel_job, NULL},
    [CF_STORE_RECORDS] = {.what = "records", .from = "records r", .key = "r.key",
                          .cols = "r.key, r.type, r.version, r.fields, r.created_ms, r.updated_ms,"
                                  " r.created_by, r.updated_by",
                          .fields = record_fields, .nfields = NFIELDS(record_fields),
                          .row_size = sizeof(struct cf_store_record),
                          .read = cf__store_pg_read_record, .release = rel_record,
                          .doc = "r.fields"},
};

/* ------------------------------------------------------------ compiling a query */

/* A parameter: its text (borrowed), or a number formatted into num, or text made here (owned). */
struct param {
  const char *text;
  char *owned;
  bool is_num;
  char num[32];
};

struct compiler {
  const struct entity *e;
  struct cf_buf where;
  struct param *p;
  size_t np, cap;
  bool join;
  struct cf_error *err;
  int r;
};

static int nomem(struct compiler *c) {
  return c->r = cf_error_set(c->err, CF_ENOMEM, "searching %s: out of memory", c->e->what);
}

/* Appends a parameter; its number, or 0 when out of memory (c->r set). */
static size_t add_param(struct compiler *c, struct param v) {
  if (!cf_grow((void **)&c->p, &c->cap, c->np, sizeof *c->p)) {
    cf_free(v.owned);
    nomem(c);
    return 0;
  }
  c->p[c->np++] = v;
  return c->np;
}

static struct param text_param(const char *t) { return (struct param){.text = t}; }

static struct param num_param(const struct cf_store_qvalue *v) {
  struct param p = {.is_num = true};
  if (v->is_real) snprintf(p.num, sizeof p.num, "%.17g", v->real);
  else snprintf(p.num, sizeof p.num, "%lld", (long long)v->num);
  return p;
}

/* A value as its own type: text, or a number (numeric: integers and reals compare alike). */
static void put_value(struct compiler *c, const struct cf_store_qvalue *v) {
  size_t n = add_param(c, v->is_text ? text_param(v->text) : num_param(v));
  if (n) cf_buf_printf(&c->where, v->is_text ? "$%zu::text" : "$%zu::numeric", n);
}

/* A value as the JSON text of a number, or text (var: lists compare JSON text). */
static void put_text(struct compiler *c, const struct cf_store_qvalue *v) {
  size_t n = add_param(c, v->is_text ? text_param(v->text) : num_param(v));
  if (n) cf_buf_printf(&c->where, "$%zu::text", n);
}

static int invalid(struct compiler *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

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

/* A '*'/'?' pattern with '\' escapes as a LIKE pattern (new, or NULL when out of memory). */
static char *like_pattern(const char *pat) {
  struct cf_buf b;
  cf_buf_init(&b);
  for (const char *q = pat; *q; q++) {
    char ch = *q;
    bool literal = false;
    if (ch == '\\') {
      literal = true;
      if (q[1]) ch = *++q;
    }
    if (!literal && ch == '*') cf_buf_putc(&b, '%');
    else if (!literal && ch == '?') cf_buf_putc(&b, '_');
    else if (ch == '%' || ch == '_' || ch == '\\') cf_buf_printf(&b, "\\%c", ch);
    else cf_buf_putc(&b, ch);
  }
  if (b.oom) {
    cf_buf_release(&b);
    return NULL;
  }
  char *d = cf_buf_detach(&b);
  if (!d) d = cf_strdup("");
  return d;
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

#define MAX_IN 1024

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

/*
 * Writes "(v1,v2,...)" for the values of q that wants_text selects (text
 * ones, or number ones; as_text: numbers as JSON text), padded to a power of
 * two with the last one (one shape per size class, not one per count). Writes
 * nothing and returns false when none is selected.
 */
static bool put_list(struct compiler *c, const struct cf_store_qcond *q, int select, bool as_text) {
  size_t picked = 0, last = 0;
  for (size_t k = 0; k < q->nvalues; k++)
    if (select < 0 || (select == 1) == q->values[k].is_text) {
      picked++;
      last = k;
    }
  if (!picked) return false;
  size_t slots = 1;
  while (slots < picked) slots *= 2;
  cf_buf_putc(&c->where, '(');
  size_t done = 0;
  for (size_t k = 0; k < q->nvalues && c->r == CF_OK; k++) {
    if (!(select < 0 || (select == 1) == q->values[k].is_text)) continue;
    if (done++) cf_buf_putc(&c->where, ',');
    if (as_text) put_text(c, &q->values[k]);
    else put_value(c, &q->values[k]);
  }
  for (; done < slots && c->r == CF_OK; done++) {
    cf_buf_putc(&c->where, ',');
    if (as_text) put_text(c, &q->values[last]);
    else put_value(c, &q->values[last]);
  }
  cf_buf_putc(&c->where, ')');
  return true;
}

/* A condition on a list column (candidate groups and users): membership in its JSON array. */
static void compile_array(struct compiler *c, const struct cf_store_qcond *q, const char *col) {
  struct cf_buf *w = &c->where;
  switch (q->op) {
  case CF_STORE_EXISTS:
    cf_buf_printf(w, "coalesce(jsonb_array_length(%s::jsonb), 0) %s 0", col,
                  q->values[0].num ? ">" : "=");
    return;
  case CF_STORE_IN:
  case CF_STORE_NOT_IN:
    if (q->nvalues == 0) {
      cf_buf_puts(w, q->op == CF_STORE_IN ? "false" : "true");
      return;
    }
    cf_buf_printf(w, "%scoalesce(%s::jsonb ?| ARRAY", q->op == CF_STORE_NOT_IN ? "NOT " : "", col);
    /* ARRAY(...) needs brackets: written as a list, then its parentheses swapped. */
    size_t at = w->len;
    put_list(c, q, 1, false);
    if (!w->oom && w->len > at) {
      w->data[at] = '[';
      w->data[w->len - 1] = ']';
    }
    cf_buf_puts(w, ", false)");
    return;
  default: /* EQ, NEQ */
    cf_buf_printf(w, "%scoalesce(%s::jsonb ? ", q->op == CF_STORE_NEQ ? "NOT " : "", col);
    put_value(c, &q->values[0]);
    cf_buf_puts(w, ", false)");
  }
}

/* A condition on expression x of one SQL type (a column, or a variable's JSON text as text). */
static void compile_plain(struct compiler *c, const struct cf_store_qcond *q, const char *x,
                          bool text, bool var) {
  struct cf_buf *w = &c->where;
  const struct cf_store_qvalue *v = q->nvalues ? &q->values[0] : NULL;
  const char *coll = text ? " COLLATE \"C\"" : "";
  switch (q->op) {
  case CF_STORE_EXISTS:
    cf_buf_printf(w, "%s IS %sNULL", x, v->num ? "NOT " : "");
    return;
  case CF_STORE_IN:
    if (q->nvalues == 0) {
      cf_buf_puts(w, "false");
      return;
    }
    cf_buf_printf(w, "%s IN ", x);
    put_list(c, q, -1, var);
    return;
  case CF_STORE_NOT_IN:
    if (q->nvalues == 0) {
      cf_buf_puts(w, "true");
      return;
    }
    cf_buf_printf(w, "(%s IS NULL OR %s NOT IN ", x, x);
    put_list(c, q, -1, var);
    cf_buf_putc(w, ')');
    return;
  case CF_STORE_LIKE: {
    char *g = like_pattern(v->text);
    if (!g) {
      nomem(c);
      return;
    }
    size_t n = add_param(c, (struct param){.text = g, .owned = g});
    if (n) cf_buf_printf(w, "%s LIKE $%zu::text", x, n);
    return;
  }
  case CF_STORE_NEQ:
    cf_buf_printf(w, "%s IS DISTINCT FROM ", x);
    break;
  default:
    cf_buf_printf(w, "%s%s", x, cmp_sql(q->op));
  }
  put_value(c, v);
  if (q->op >= CF_STORE_GT) cf_buf_puts(w, coll);
}

/*
 * var:NAME (field false) and field:NAME (field true), NAME a parameter. A
 * name with '"' is refused, as the SQLite backend must (its JSON paths
 * cannot say one), so that both backends answer alike.
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
  size_t np = add_param(c, text_param(name));
  if (!np) return;
  char json[96], num[512], txt[256], sqlv[160];
  snprintf(json, sizeof json, "(%s::json -> $%zu::text)", col, np);
  /* The value as a number when it holds one (field: booleans as 1/0), else NULL. */
  char boolean[160] = "";
  if (field)
    snprintf(boolean, sizeof boolean, " WHEN 'boolean' THEN CASE WHEN %s::text = 'true' THEN 1 ELSE 0 END",
             json);
  snprintf(num, sizeof num, "(CASE json_typeof(%s) WHEN 'number' THEN (%s::text)::numeric%s END)", json,
           json, boolean);
  /* field: a string's text, else NULL; var: the JSON text. */
  snprintf(txt, sizeof txt,
           field ? "(CASE WHEN json_typeof(%s) = 'string' THEN (%s::json ->> $%zu::text) END)"
                 : "(%s::text)",
           json, col, np);
  /* field: the SQL value's presence (a JSON null is absent). */
  snprintf(sqlv, sizeof sqlv, "(%s::json ->> $%zu::text)", col, np);
  struct cf_buf *w = &c->where;
  bool numeric = q->op != CF_STORE_EXISTS && q->op != CF_STORE_IN && q->op != CF_STORE_NOT_IN &&
                 q->op != CF_STORE_LIKE && !q->values[0].is_text;
  if (q->op == CF_STORE_EXISTS) {
    cf_buf_printf(w, "%s IS %sNULL", field ? sqlv : json, q->values[0].num ? "NOT " : "");
    return;
  }
  if (numeric) {
    if (q->op == CF_STORE_NEQ) cf_buf_printf(w, "NOT coalesce(%s = ", num);
    else cf_buf_printf(w, "%s%s", num, cmp_sql(q->op));
    put_value(c, &q->values[0]);
    if (q->op == CF_STORE_NEQ) cf_buf_puts(w, ", false)");
    return;
  }
  if (!field || q->op == CF_STORE_LIKE || (q->op != CF_STORE_IN && q->op != CF_STORE_NOT_IN)) {
    compile_plain(c, q, txt, true, !field);
    return;
  }
  /* field: IN / NOT_IN: text values against a string's text, numbers against a number's value. */
  if (q->nvalues == 0) {
    cf_buf_puts(w, q->op == CF_STORE_IN ? "false" : "true");
    return;
  }
  if (q->op == CF_STORE_NOT_IN) cf_buf_printf(w, "(%s IS NULL OR NOT (", sqlv);
  else cf_buf_putc(w, '(');
  cf_buf_printf(w, "coalesce(%s IN ", txt);
  if (!put_list(c, q, 1, false)) cf_buf_puts(w, "(NULL)");
  cf_buf_printf(w, ", false) OR coalesce(%s IN ", num);
  if (!put_list(c, q, 0, false)) cf_buf_puts(w, "(NULL)");
  cf_buf_puts(w, q->op == CF_STORE_NOT_IN ? ", false)))" : ", false))");
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
  if (!q->field)
    return c->r = cf_error_set(c->err, CF_EINVAL, "searching %s: a condition has no field", c->e->what);
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
  if (f->type == F_ARRAY) compile_array(c, q, f->expr);
  else compile_plain(c, q, f->expr, f->type == F_TEXT, false);
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

/* ------------------------------------------------------------ running a search */

/* The parameters' texts, in order (new array; the strings stay the compiler's). */
static const char **param_values(struct compiler *c, size_t extra) {
  const char **v = cf_calloc(c->np + extra + 1, sizeof *v);
  if (!v) return NULL;
  for (size_t i = 0; i < c->np; i++) v[i] = c->p[i].is_num ? c->p[i].num : c->p[i].text;
  return v;
}

int cf__store_pg_search(struct cf_store *s, const struct cf_store_query *q, struct cf_store_result *out,
                        struct cf_error *err) {
  if (!q || !out) return cf_error_set(err, CF_EINVAL, "search: no query");
  if ((unsigned)q->entity >= sizeof entities / sizeof entities[0])
    return cf_error_set(err, CF_EINVAL, "search: unknown entity %d", (int)q->entity);
  if ((q->nconds && !q->conds) || (q->nany && !q->any) || (q->nsort && !q->sort))
    return cf_error_set(err, CF_EINVAL, "search: a list of conditions or sorts is missing");
  const struct entity *e = &entities[q->entity];
  char what[64];
  snprintf(what, sizeof what, "searching %s", e->what);
  struct compiler c = {.e = e, .err = err};
  struct cf_buf page, count, order;
  cf_buf_init(&c.where);
  cf_buf_init(&page);
  cf_buf_init(&count);
  cf_buf_init(&order);
  void *rows = NULL;
  size_t n = 0;
  uint64_t total = 0;
  bool own_tx = false;
  const char **vals = NULL;
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
      if (q->any[g].nconds == 0) cf_buf_puts(&c.where, "true");
      compile_conds(&c, q->any[g].conds, q->any[g].nconds);
      cf_buf_putc(&c.where, ')');
    }
    cf_buf_putc(&c.where, ')');
  }
  if (c.r) goto out;
  size_t nwhere = c.np;
  /* ORDER BY: the sorts (NULL first ascending, as SQLite), then the key ascending. */
  bool by_key = false;
  for (size_t i = 0; i < q->nsort && c.r == CF_OK; i++) {
    const char *name = q->sort[i].field ? q->sort[i].field : "";
    const char *dir = q->sort[i].desc ? " DESC NULLS LAST" : " NULLS FIRST";
    if (e->doc && !strncmp(name, "field:", 6)) {
      /* By the field's SQL value: absent (or null) first, then numbers (booleans 1/0), then text. */
      if (!name[6] || strchr(name + 6, '"')) {
        c.r = cf_error_set(err, CF_EINVAL, "%s: cannot sort by '%s' (not a field name)", what, name);
        break;
      }
      size_t np = add_param(&c, text_param(name + 6));
      if (!np) break;
      char j[96];
      snprintf(j, sizeof j, "(%s::json -> $%zu::text)", e->doc, np);
      cf_buf_printf(&order,
                    "%s(CASE json_typeof(%s) WHEN 'number' THEN 1 WHEN 'boolean' THEN 1"
                    " WHEN 'null' THEN 0 WHEN 'string' THEN 2 ELSE CASE WHEN %s IS NULL THEN 0"
                    " ELSE 2 END END)%s,"
                    " (CASE json_typeof(%s) WHEN 'number' THEN (%s::text)::numeric"
                    " WHEN 'boolean' THEN CASE WHEN %s::text = 'true' THEN 1 ELSE 0 END END)%s,"
                    " (%s::json ->> $%zu::text) COLLATE \"C\"%s",
                    i ? ", " : "", j, j, q->sort[i].desc ? " DESC" : "", j, j, j, dir, e->doc, np,
                    dir);
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
    cf_buf_printf(&order, "%s%s%s%s", i ? ", " : "", f->expr,
                  f->type == F_TEXT ? " COLLATE \"C\"" : "", dir);
  }
  if (!by_key) cf_buf_printf(&order, "%s%s", q->nsort ? ", " : "", e->key);
  if (c.r) goto out;
  if (order.oom) {
    nomem(&c);
    goto out;
  }
  bool has_where = c.where.len > 0;
  const char *where_sql = has_where ? c.where.data : "";
  if (q->limit)
    cf_buf_printf(&page, "SELECT %s FROM %s%s%s%s ORDER BY %s LIMIT $%zu OFFSET $%zu", e->cols, e->from,
                  e->join && (e->rows_join || c.join) ? e->join : "", has_where ? " WHERE " : "",
                  where_sql, order.data, c.np + 1, c.np + 2);
  cf_buf_printf(&count, "SELECT count(*) FROM %s%s%s%s", e->from, e->join && c.join ? e->join : "",
                has_where ? " WHERE " : "", where_sql);
  if (c.where.oom || page.oom || count.oom || !(vals = param_values(&c, 2))) {
    nomem(&c);
    goto out;
  }
  char lim[24], off[24];
  snprintf(lim, sizeof lim, "%llu",
           (unsigned long long)(q->limit > (size_t)INT64_MAX ? (size_t)INT64_MAX : q->limit));
  snprintf(off, sizeof off, "%llu",
           (unsigned long long)(q->offset > (size_t)INT64_MAX ? (size_t)INT64_MAX : q->offset));
  /* Rows and total from one snapshot. */
  if (q->limit && !cf__store_pg_in_tx(s)) {
    PGresult *b = cf__store_pg_query(s, "BEGIN ISOLATION LEVEL REPEATABLE READ", 0, NULL, &c.r, err, what);
    if (!b) goto out;
    PQclear(b);
    own_tx = true;
  }
  bool need_count = true;
  if (q->limit) {
    vals[c.np] = lim;
    vals[c.np + 1] = off;
    PGresult *res = cf__store_pg_query(s, page.data, (int)c.np + 2, vals, &c.r, err, what);
    if (!res) goto out;
    if ((c.r = cf__store_pg_collect(res, e->row_size, e->read, e->release, &rows, &n, err, what)))
      goto out;
    if (n < q->limit && (n > 0 || q->offset == 0)) {
      total = (uint64_t)q->offset + n;
      need_count = false;
    }
  }
  if (need_count) {
    PGresult *res = cf__store_pg_query(s, count.data, (int)nwhere, vals, &c.r, err, what);
    if (!res) goto out;
    total = (uint64_t)cf__pg_col_i64(res, 0, 0);
    PQclear(res);
  }
out:
  if (own_tx && cf__store_pg_in_tx(s)) {
    int rr;
    PGresult *res = cf__store_pg_query(s, c.r ? "ROLLBACK" : "COMMIT", 0, NULL, &rr,
                                       c.r ? NULL : err, what);
    PQclear(res);
    if (!c.r) c.r = rr;
  }
  cf_free(vals);
  for (size_t i = 0; i < c.np; i++) cf_free(c.p[i].owned);
  cf_free(c.p);
  cf_buf_release(&c.where);
  cf_buf_release(&page);
  cf_buf_release(&count);
  cf_buf_release(&order);
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

static int get_by_key(struct cf_store *s, const char *sql, uint64_t key, cf__pg_reader rd, void *row,
                      const char *kind, struct cf_error *err, const char *what) {
  struct cf__pg_params p = {0};
  cf__pg_key(&p, key);
  int r;
  PGresult *res = cf__store_pg_run(s, sql, &p, &r, err, what);
  if (!res) return r;
  r = cf__store_pg_first(res, rd, row, err, what);
  if (r == CF_ENOTFOUND)
    return cf_error_set(err, CF_ENOTFOUND, "no %s with key %llu", kind, (unsigned long long)key);
  return r;
}

int cf__store_pg_task_get(struct cf_store *s, uint64_t key, struct cf_store_user_task *out,
                          struct cf_error *err) {
  struct cf_store_user_task t;
  int r = get_by_key(s, "SELECT " TASK_SEL " FROM user_tasks t" TASK_JOIN " WHERE t.key = $1", key,
                     read_task_full, &t, "user task", err, "getting a user task");
  if (r == CF_OK) *out = t;
  return r;
}

int cf__store_pg_incident_get(struct cf_store *s, uint64_t key, struct cf_store_incident *out,
                              struct cf_error *err) {
  struct cf_store_incident c;
  int r = get_by_key(s, "SELECT " INC_SEL " FROM incidents c" INC_JOIN " WHERE c.key = $1", key,
                     read_incident_full, &c, "incident", err, "getting an incident");
  if (r == CF_OK) *out = c;
  return r;
}

/* ------------------------------------------------------------ aggregates for the web UI */

static const char *col(const PGresult *res, int row, int i) { return PQgetvalue(res, row, i); }

int cf__store_pg_element_statistics(struct cf_store *s, uint64_t definition_key, struct cf_buf *out,
                                    struct cf_error *err) {
  static const char what[] = "counting a definition's element instances";
  struct cf__pg_params p = {0};
  cf__pg_key(&p, definition_key);
  int r;
  PGresult *res = cf__store_pg_run(
      s,
      "WITH i AS (SELECT key FROM instances WHERE definition_key = $1 AND state = 0),"
      " w AS (SELECT element_id FROM jobs WHERE instance_key IN (SELECT key FROM i)"
      " UNION ALL SELECT element_id FROM user_tasks WHERE state = 0 AND instance_key IN (SELECT key FROM i)"
      " UNION ALL SELECT element_id FROM timers WHERE instance_key IN (SELECT key FROM i)"
      " UNION ALL SELECT element_id FROM subscriptions WHERE instance_key IN (SELECT key FROM i)),"
      " a AS (SELECT element_id, count(*) AS n FROM w GROUP BY element_id),"
      " c AS (SELECT element_id, count(*) AS n FROM incidents WHERE instance_key IN (SELECT key FROM i)"
      " GROUP BY element_id)"
      " SELECT e, sum(active)::bigint, sum(inc)::bigint FROM (SELECT element_id AS e, n AS active,"
      " 0 AS inc FROM a UNION ALL SELECT element_id, 0, n FROM c) x GROUP BY e ORDER BY e COLLATE \"C\"",
      &p, &r, err, what);
  if (!res) return r;
  cf_buf_puts(out, "{\"items\":[");
  for (int i = 0; i < PQntuples(res); i++) {
    cf_buf_puts(out, i ? ",{\"elementId\":" : "{\"elementId\":");
    cf_buf_json_string(out, col(res, i, 0), strlen(col(res, i, 0)));
    cf_buf_printf(out, ",\"active\":%lld,\"incidents\":%lld}", (long long)cf__pg_col_i64(res, i, 1),
                  (long long)cf__pg_col_i64(res, i, 2));
  }
  PQclear(res);
  cf_buf_puts(out, "]}");
  if (out->oom) return cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
  return CF_OK;
}

static void day_row(const PGresult *res, int i, struct cf_buf *b) {
  cf_buf_printf(b, "%s{\"day\":\"%s\",\"started\":%lld,\"completed\":%lld}", i ? "," : "",
                col(res, i, 0), (long long)cf__pg_col_i64(res, i, 1),
                (long long)cf__pg_col_i64(res, i, 2));
}

static void backlog_row(const PGresult *res, int i, struct cf_buf *b) {
  cf_buf_puts(b, i ? ",{\"group\":" : "{\"group\":");
  cf_buf_json_string(b, col(res, i, 0), strlen(col(res, i, 0)));
  cf_buf_printf(b, ",\"open\":%lld}", (long long)cf__pg_col_i64(res, i, 1));
}

static void breach_row(const PGresult *res, int i, struct cf_buf *b) {
  cf_buf_printf(b, "%s{\"userTaskKey\":\"%lld\",\"elementId\":", i ? "," : "",
                (long long)cf__pg_col_i64(res, i, 0));
  cf_buf_json_string(b, col(res, i, 1), strlen(col(res, i, 1)));
  cf_buf_puts(b, ",\"dueDate\":");
  cf_buf_json_string(b, col(res, i, 2), strlen(col(res, i, 2)));
  cf_buf_puts(b, ",\"assignee\":");
  if (cf__pg_null(res, i, 3)) cf_buf_puts(b, "null");
  else cf_buf_json_string(b, col(res, i, 3), strlen(col(res, i, 3)));
  cf_buf_printf(b, ",\"candidateGroups\":%s,\"processInstanceKey\":\"%lld\"}",
                *col(res, i, 4) == '[' ? col(res, i, 4) : "[]", (long long)cf__pg_col_i64(res, i, 5));
}

static void cycle_row(const PGresult *res, int i, struct cf_buf *b) {
  cf_buf_puts(b, i ? ",{\"processDefinitionId\":" : "{\"processDefinitionId\":");
  cf_buf_json_string(b, col(res, i, 0), strlen(col(res, i, 0)));
  cf_buf_printf(b, ",\"completed\":%lld,\"averageMs\":%lld}", (long long)cf__pg_col_i64(res, i, 1),
                (long long)cf__pg_col_i64(res, i, 2));
}

/* Runs sql and hands each row to fn. */
static int each(struct cf_store *s, const char *sql, const struct cf__pg_params *p,
                void (*fn)(const PGresult *, int, struct cf_buf *), struct cf_buf *out,
                const char *what, struct cf_error *err) {
  int r;
  PGresult *res = cf__store_pg_run(s, sql, p, &r, err, what);
  if (!res) return r;
  for (int i = 0; i < PQntuples(res); i++) fn(res, i, out);
  PQclear(res);
  return CF_OK;
}

#define DUE_MS ISO_MS("due_date")

int cf__store_pg_dashboard(struct cf_store *s, int64_t since_ms, int64_t now_ms, struct cf_buf *out,
                           struct cf_error *err) {
  static const char what[] = "computing the dashboard";
  struct cf__pg_params p = {0};
  cf__pg_i64(&p, since_ms);
  cf__pg_i64(&p, now_ms);
  int r;
  /* Started and completed per day (UTC), every day of the window listed. */
  cf_buf_puts(out, "{\"days\":[");
  if ((r = each(s,
                "SELECT to_char(g.d, 'YYYY-MM-DD'),"
                " (SELECT count(*) FROM instances WHERE started_ms >= extract(epoch FROM g.d)::bigint * 1000"
                "  AND started_ms < extract(epoch FROM g.d + interval '1 day')::bigint * 1000),"
                " (SELECT count(*) FROM instances WHERE state = 1"
                "  AND ended_ms >= extract(epoch FROM g.d)::bigint * 1000"
                "  AND ended_ms < extract(epoch FROM g.d + interval '1 day')::bigint * 1000)"
                " FROM generate_series((to_timestamp(div($1::bigint, 1000)) AT TIME ZONE 'UTC')::date,"
                " (to_timestamp(div($2::bigint, 1000)) AT TIME ZONE 'UTC')::date, interval '1 day') AS g(d)"
                " ORDER BY g.d",
                &p, day_row, out, what, err)))
    return r;
  /* Open user tasks per candidate group (a task offered to two groups counts in both). */
  cf_buf_puts(out, "],\"backlog\":[");
  if ((r = each(s,
                "SELECT g.v, count(*) FROM user_tasks t, json_array_elements_text(CASE WHEN"
                " json_typeof(coalesce(t.candidate_groups, '[]')::json) = 'array'"
                " THEN t.candidate_groups::json ELSE '[]'::json END) AS g(v) WHERE t.state = 0"
                " GROUP BY g.v ORDER BY 2 DESC, g.v COLLATE \"C\"",
                NULL, backlog_row, out, what, err)))
    return r;
  /* Open tasks past their due date. */
  struct cf__pg_params q = {0};
  cf__pg_i64(&q, now_ms);
  int64_t overdue = 0;
  bool found = false;
  if ((r = cf__store_pg_int(s,
                            "SELECT count(*) FROM user_tasks WHERE state = 0 AND due_date IS NOT NULL"
                            " AND " DUE_MS " < $1",
                            &q, &overdue, &found, err, what)))
    return r;
  cf_buf_printf(out, "],\"slaBreaches\":{\"overdueTasks\":%lld,\"items\":[", (long long)overdue);
  if ((r = each(s,
                "SELECT key, element_id, due_date, assignee, candidate_groups, instance_key FROM user_tasks"
                " WHERE state = 0 AND due_date IS NOT NULL AND " DUE_MS " < $1"
                " ORDER BY " DUE_MS ", key LIMIT 50",
                &q, breach_row, out, what, err)))
    return r;
  /* Average cycle time of the instances completed in the window, per process. */
  struct cf__pg_params w = {0};
  cf__pg_i64(&w, since_ms);
  cf_buf_puts(out, "]},\"cycleTime\":[");
  if ((r = each(s,
                "SELECT process_id, count(*), trunc(avg(ended_ms - started_ms))::bigint FROM instances"
                " WHERE state = 1 AND ended_ms >= $1 GROUP BY process_id ORDER BY process_id COLLATE \"C\"",
                &w, cycle_row, out, what, err)))
    return r;
  cf_buf_puts(out, "]}");
  if (out->oom) return cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
  return CF_OK;
}
