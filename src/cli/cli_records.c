/*
 * `crmflow records ...` and `crmflow triggers ...`: the CRM layer on the
 * command line (shared/contracts.md §7, docs/cli.md "CRM records and
 * triggers").
 *
 * Writes go through the runtime and a struct cf_crm, each one an operation
 * of its own (cf_runtime_run): a record, its history and the instances its
 * triggers start commit together or not at all. A CSV import is one batch
 * of such operations, committed only when every row went in. Reads (get,
 * search, history, export, the lists) open a read-only store of their own,
 * so they never wait for a writer.
 *
 * The first half holds what the commands share (opening, a type's schema,
 * values as text, the search filter, CSV); the commands follow.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_csv.h"
#include "base/cf_json.h"
#include "base/cf_time.h"
#include "cli/cli.h"
#include "crm/cf_crm.h"
#include "runtime/cf_runtime.h"
#include "store/cf_store.h"

/* The largest CSV file an import reads (it is held in memory and read twice). */
#define CSV_MAX_BYTES ((size_t)1 << 30)
/* A trigger file. */
#define TRIGGERS_MAX_BYTES ((size_t)16 << 20)
#define DEFAULT_LIMIT 1000
#define MAX_LIMIT 100000
#define EXPORT_PAGE 1000
/* Conditions a search filter may hold (the top level and each $or group). */
#define MAX_CONDS 64
#define MAX_GROUPS 16

static const struct cf_crm_origin cli_origin = {.actor = "cli"};

/* ------------------------------------------------------------ opening */

/* A database and a CRM over it: through the runtime (writes), or a read-only store (reads). */
struct session {
  struct cf_runtime *rt; /* NULL for a reader */
  const struct cf_store_ops *ops;
  struct cf_store *store;
  struct cf_crm *crm;
};

static void session_close(struct session *s) {
  cf_crm_free(s->crm);
  if (s->rt)
    cf_runtime_close(s->rt);
  else if (s->store)
    s->ops->close(s->store);
  memset(s, 0, sizeof *s);
}

/* 0, or 1 after saying why. Loads the database's custom types and triggers into the CRM. */
static int session_open(const struct cf_cli_args *a, bool writer, struct session *s) {
  memset(s, 0, sizeof *s);
  struct cf_error err;
  cf_error_clear(&err);
  if (writer) {
    if (cf_cli_open_runtime(a, false, "cli", &s->rt)) return 1;
    cf_runtime_store(s->rt, &s->ops, &s->store);
  } else if (cf_cli_open_reader(a, &s->ops, &s->store)) {
    return 1;
  }
  if (cf_crm_new(&s->crm, &err) != CF_OK || cf_crm_refresh(s->crm, s->ops, s->store, &err) != CF_OK) {
    session_close(s);
    return cf_cli_refuse(a, "cannot read the record types of %s: %s", a->db, err.msg);
  }
  return 0;
}

/* ------------------------------------------------------------ a type's schema */

/* The fields of a type in schema order, borrowed from root. */
struct schema {
  struct json_object *root;
  size_t n;
  const char **names;
  const char **types; /* "string", "decimal", "boolean", "date-time"... */
};

static void schema_release(struct schema *s) {
  if (s->root) json_object_put(s->root);
  cf_free(s->names);
  cf_free(s->types);
  memset(s, 0, sizeof *s);
}

/* 0, or 1 after saying why (no such type). */
static int schema_load(const struct cf_cli_args *a, struct session *ss, const char *type, struct schema *s) {
  memset(s, 0, sizeof *s);
  struct cf_buf b;
  cf_buf_init(&b);
  struct cf_error err;
  cf_error_clear(&err);
  int status = 0;
  int rc = cf_crm_type_json(ss->crm, type, &b, &err);
  if (rc == CF_ENOTFOUND) {
    status = cf_cli_refuse(a, "there is no record type '%s' (list them with 'crmflow records types')", type);
    goto out;
  }
  if (rc != CF_OK || b.oom || !(s->root = cf_json_parse(b.data, b.len, &err))) {
    status = cf_cli_refuse(a, "cannot read the schema of '%s': %s", type, b.oom ? "out of memory" : err.msg);
    goto out;
  }
  struct json_object *fields = NULL;
  if (!json_object_object_get_ex(s->root, "fields", &fields) || !json_object_is_type(fields, json_type_array)) {
    status = cf_cli_refuse(a, "the schema of '%s' has no fields", type);
    goto out;
  }
  size_t n = json_object_array_length(fields);
  s->names = cf_calloc(n ? n : 1, sizeof *s->names);
  s->types = cf_calloc(n ? n : 1, sizeof *s->types);
  if (!s->names || !s->types) {
    status = cf_cli_refuse(a, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    struct json_object *f = json_object_array_get_idx(fields, i), *name = NULL, *t = NULL;
    if (!f || !json_object_object_get_ex(f, "name", &name) || !json_object_is_type(name, json_type_string))
      continue;
    json_object_object_get_ex(f, "type", &t);
    s->names[s->n] = json_object_get_string(name);
    s->types[s->n] = t && json_object_is_type(t, json_type_string) ? json_object_get_string(t) : "string";
    s->n++;
  }
out:
  if (status) schema_release(s);
  cf_buf_release(&b);
  return status;
}

static int schema_find(const struct schema *s, const char *name) {
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp(s->names[i], name)) return (int)i;
  return -1;
}

/* ------------------------------------------------------------ values as text */

/* A JSON value as people read it (and as a CSV cell holds it): strings bare, null empty. */
static void value_text(struct cf_buf *b, struct json_object *v) {
  if (!v) return;
  switch (json_object_get_type(v)) {
  case json_type_string: cf_buf_puts(b, json_object_get_string(v)); break;
  case json_type_int:
  case json_type_double: {
    const char *t = cf_json_number_text(v);
    cf_buf_puts(b, t ? t : "");
    break;
  }
  case json_type_boolean: cf_buf_puts(b, json_object_get_boolean(v) ? "true" : "false"); break;
  default: {
    char *t = cf_json_dump(v);
    if (t)
      cf_buf_puts(b, t);
    else
      b->oom = true;
    cf_free(t);
  }
  }
}

/* n with thousands separators ("12,000"). */
static const char *grouped(size_t n, char *buf, size_t len) {
  char digits[32];
  int nd = snprintf(digits, sizeof digits, "%zu", n);
  size_t o = 0;
  for (int i = 0; i < nd && o + 2 < len; i++) {
    if (i && (nd - i) % 3 == 0) buf[o++] = ',';
    buf[o++] = digits[i];
  }
  buf[o] = '\0';
  return buf;
}

/*
 * A write's error as the command says it: "fields.email: ..." becomes
 * "field email: ...", preceded by where (a row) when given.
 */
static void say_error(char *out, size_t len, const char *where, const char *msg) {
  const char *sep = where && *where ? ", " : "";
  if (!where) where = "";
  if (!strncmp(msg, "fields.", 7)) {
    const char *colon = strchr(msg + 7, ':');
    if (colon) {
      snprintf(out, len, "%s%sfield %.*s:%s", where, sep, (int)(colon - msg - 7), msg + 7, colon + 1);
      return;
    }
  }
  snprintf(out, len, "%s%s%s", where, *where ? ": " : "", msg);
}

/* ------------------------------------------------------------ record operations */

enum rec_kind { REC_CREATE, REC_UPDATE, REC_DELETE };

/* One record write, run as an operation (cf_runtime_run may run it again after a conflict). */
struct rec_op {
  struct cf_crm *crm;
  enum rec_kind kind;
  const char *type;
  uint64_t key;
  struct json_object *fields;
  int64_t version;
  struct cf_store_record out;
};

static int rec_op_fn(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct rec_op *o = arg;
  cf_store_record_release(&o->out);
  switch (o->kind) {
  case REC_CREATE: return cf_crm_create(o->crm, rt, o->type, o->fields, &cli_origin, &o->out, err);
  case REC_UPDATE:
    return cf_crm_update(o->crm, rt, o->type, o->key, o->fields, o->version, &cli_origin, &o->out, err);
  case REC_DELETE: return cf_crm_delete(o->crm, rt, o->type, o->key, &cli_origin, err);
  }
  return cf_error_set(err, CF_EINVAL, "unknown record operation");
}

/* --fields: a JSON object (new reference in *out), or 2 after a usage error. */
static int parse_fields(const struct cf_cli_args *a, const char *text, struct json_object **out) {
  *out = NULL;
  if (!text) return cf_cli_usage_error(a, "--fields JSON is required (like '{\"name\": \"Ann\"}')");
  struct cf_error err;
  cf_error_clear(&err);
  struct json_object *j = cf_json_parse(text, strlen(text), &err);
  if (!j && err.code != CF_OK) return cf_cli_usage_error(a, "--fields is not JSON: %s", err.msg);
  if (!j || !json_object_is_type(j, json_type_object)) {
    if (j) json_object_put(j);
    return cf_cli_usage_error(a, "--fields must be a JSON object, like '{\"name\": \"Ann\"}'");
  }
  *out = j;
  return 0;
}

/* The line for people after a write. */
static void record_line(struct cf_buf *b, const char *verb, const struct cf_store_record *r) {
  cf_buf_printf(b, "%s %s %llu (version %lld)\n", verb, r->type, (unsigned long long)r->key, (long long)r->version);
}

/* A record as a two-column table for people: every field in schema order, then the rest. */
static void render_record(struct cf_buf *b, const struct cf_store_record *r, const struct schema *s) {
  struct cf_error err;
  cf_error_clear(&err);
  struct json_object *f = r->fields ? cf_json_parse(r->fields, strlen(r->fields), &err) : NULL;
  static const char *const head[] = {"FIELD", "VALUE"};
  struct cf_cli_table t;
  cf_cli_table_init(&t, 2, head, 0);
  char k[24], v[24], t1[48], t2[48];
  snprintf(k, sizeof k, "%llu", (unsigned long long)r->key);
  snprintf(v, sizeof v, "%lld", (long long)r->version);
  const char *rows[][2] = {{"recordKey", k}, {"type", r->type}, {"version", v}};
  for (size_t i = 0; i < 3; i++) cf_cli_table_add(&t, rows[i]);
  struct cf_buf cell;
  cf_buf_init(&cell);
  for (size_t i = 0; s && i < s->n; i++) {
    struct json_object *x = NULL;
    cf_buf_reset(&cell);
    if (f && json_object_object_get_ex(f, s->names[i], &x)) value_text(&cell, x);
    cf_buf_putc(&cell, '\0');
    const char *row[] = {s->names[i], cell.oom ? "?" : cell.data};
    cf_cli_table_add(&t, row);
  }
  if (f && json_object_is_type(f, json_type_object)) {
    json_object_object_foreach(f, name, x) {
      if (s && schema_find(s, name) >= 0) continue;
      cf_buf_reset(&cell);
      value_text(&cell, x);
      cf_buf_putc(&cell, '\0');
      const char *row[] = {name, cell.oom ? "?" : cell.data};
      cf_cli_table_add(&t, row);
    }
  }
  const char *tail[][2] = {{"createdAt", cf_cli_format_time(r->created_ms, t1, sizeof t1)},
                           {"updatedAt", cf_cli_format_time(r->updated_ms, t2, sizeof t2)},
                           {"createdBy", r->created_by},
                           {"updatedBy", r->updated_by}};
  for (size_t i = 0; i < 4; i++) cf_cli_table_add(&t, tail[i]);
  cf_cli_table_render(&t, b);
  cf_cli_table_release(&t);
  cf_buf_release(&cell);
  if (f) json_object_put(f);
}

/* ------------------------------------------------------------ records create, update, delete */

static const char records_usage[] =
    "usage: crmflow records create TYPE --fields JSON          create a record\n"
    "       crmflow records get TYPE KEY                       show a record\n"
    "       crmflow records update TYPE KEY --fields JSON [--version N]\n"
    "                                                          change the given fields (null removes one)\n"
    "       crmflow records delete TYPE KEY\n"
    "       crmflow records search TYPE [--filter JSON] [--sort FIELD[:desc]] [--limit N]\n"
    "       crmflow records history TYPE KEY                   every change: when, by whom, from, to\n"
    "       crmflow records types                              the record types and their fields\n"
    "       crmflow records import TYPE FILE.csv               all rows or none (a header line of field names)\n"
    "       crmflow records export TYPE [--out FILE]           CSV: recordKey, the fields, createdAt, updatedAt\n"
    "  Each takes --db PATH and --json. Writes run triggers (their instances start in the same\n"
    "  transaction) and are recorded as done by 'cli'.\n";

/* Runs a write and prints its outcome; the record's TYPE and KEY are a->pos[0], a->pos[1]. */
static int record_write(struct cf_cli_args *a, enum rec_kind kind, const char *fields_text, const char *version_text) {
  const char *type = a->pos[0];
  uint64_t key = 0;
  long version = 0;
  if (kind != REC_CREATE && !cf_cli_parse_key(a, "KEY", a->pos[1], &key)) return 2;
  if (version_text && !cf_cli_parse_int(a, "--version", version_text, 1, INT32_MAX, &version)) return 2;
  struct json_object *fields = NULL;
  int status = 0;
  if (kind != REC_DELETE && (status = parse_fields(a, fields_text, &fields))) return status;

  struct session ss;
  struct schema sch;
  memset(&sch, 0, sizeof sch);
  struct cf_buf out;
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);
  struct rec_op op = {.kind = kind, .type = type, .key = key, .fields = fields, .version = version};
  if ((status = session_open(a, true, &ss))) goto out;
  if ((status = schema_load(a, &ss, type, &sch))) goto out;
  op.crm = ss.crm;
  int rc = cf_runtime_run(ss.rt, rec_op_fn, &op, &err);
  if (rc == CF_ENOTFOUND && kind != REC_CREATE) {
    status = cf_cli_refuse(a, "no %s record %llu (list them with 'crmflow records search %s')", type,
                           (unsigned long long)key, type);
    goto out;
  }
  if (rc != CF_OK) {
    char why[sizeof err.msg + 64];
    say_error(why, sizeof why, NULL, err.msg);
    status = cf_cli_refuse(a, "%s; nothing was changed", why);
    goto out;
  }
  if (kind == REC_DELETE) {
    if (a->json) {
      cf_buf_puts(&out, "{\"recordKey\":");
      cf_cli_json_key(&out, key);
      cf_buf_puts(&out, ",\"type\":");
      cf_cli_json_str(&out, type);
      cf_buf_puts(&out, ",\"deleted\":true}\n");
    } else {
      cf_buf_printf(&out, "deleted %s %llu\n", type, (unsigned long long)key);
    }
  } else if (a->json) {
    cf_crm_record_json(&op.out, &out);
    cf_buf_putc(&out, '\n');
  } else {
    record_line(&out, kind == REC_CREATE ? "created" : "updated", &op.out);
  }
  status = cf_cli_emit(a, &out);
out:
  cf_store_record_release(&op.out);
  schema_release(&sch);
  session_close(&ss);
  if (fields) json_object_put(fields);
  cf_buf_release(&out);
  return status;
}

static int records_create(int argc, char **argv) {
  struct cf_cli_opt opts[] = {{"--fields", true, NULL}};
  struct cf_cli_args a = {.cmd = "records create", .usage = records_usage, .what = "TYPE"};
  int status = cf_cli_args_parse(&a, argc, argv, opts, 1, 1, 1);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  return record_write(&a, REC_CREATE, opts[0].value, NULL);
}

static int records_update(int argc, char **argv) {
  struct cf_cli_opt opts[] = {{"--fields", true, NULL}, {"--version", true, NULL}};
  struct cf_cli_args a = {.cmd = "records update", .usage = records_usage, .what = "TYPE and KEY"};
  int status = cf_cli_args_parse(&a, argc, argv, opts, 2, 2, 2);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  return record_write(&a, REC_UPDATE, opts[0].value, opts[1].value);
}

static int records_delete(int argc, char **argv) {
  struct cf_cli_args a = {.cmd = "records delete", .usage = records_usage, .what = "TYPE and KEY"};
  int status = cf_cli_args_parse(&a, argc, argv, NULL, 0, 2, 2);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  return record_write(&a, REC_DELETE, NULL, NULL);
}

/* ------------------------------------------------------------ records get */

static int records_get(int argc, char **argv) {
  struct cf_cli_args a = {.cmd = "records get", .usage = records_usage, .what = "TYPE and KEY"};
  int status = cf_cli_args_parse(&a, argc, argv, NULL, 0, 2, 2);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  const char *type = a.pos[0];
  uint64_t key;
  if (!cf_cli_parse_key(&a, "KEY", a.pos[1], &key)) return 2;
  struct session ss;
  struct schema sch;
  memset(&sch, 0, sizeof sch);
  struct cf_store_record r;
  memset(&r, 0, sizeof r);
  struct cf_buf out;
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);
  if ((status = session_open(&a, false, &ss))) goto out;
  if ((status = schema_load(&a, &ss, type, &sch))) goto out;
  int rc = ss.ops->record_get(ss.store, type, key, &r, &err);
  if (rc == CF_ENOTFOUND) {
    status = cf_cli_refuse(&a, "no %s record %llu (it was deleted, or the key or type is wrong)", type,
                           (unsigned long long)key);
    goto out;
  }
  if (rc != CF_OK) {
    status = cf_cli_refuse(&a, "%s", err.msg);
    goto out;
  }
  if (a.json) {
    cf_crm_record_json(&r, &out);
    cf_buf_putc(&out, '\n');
  } else {
    render_record(&out, &r, &sch);
  }
  status = cf_cli_emit(&a, &out);
out:
  cf_store_record_release(&r);
  schema_release(&sch);
  session_close(&ss);
  cf_buf_release(&out);
  return status;
}

/* ------------------------------------------------------------ records search: the filter */

/*
 * A search being built: conditions on the store's record fields (type =
 * TYPE first), and up to MAX_GROUPS groups of $or. Field names and texts
 * are borrowed from the parsed filter, which outlives the query.
 */
struct search {
  struct cf_store_qcond conds[MAX_CONDS];
  struct cf_store_qvalue vals[MAX_CONDS * 8];
  size_t nconds, nvals;
  struct cf_store_qgroup groups[MAX_GROUPS];
  struct cf_store_qcond gconds[MAX_GROUPS][MAX_CONDS];
  size_t ngroups;
  char names[MAX_CONDS * (MAX_GROUPS + 1)][80]; /* "field:NAME" */
  size_t nnames;
  struct cf_store_qvalue *big;                  /* values of long $in lists */
  size_t nbig;
  struct cf_store_qvalue **bigs;
  size_t nbigs, capbigs;
};

static void search_release(struct search *s) {
  for (size_t i = 0; i < s->nbigs; i++) cf_free(s->bigs[i]);
  cf_free(s->bigs);
}

/* Milliseconds since the epoch of an RFC 3339 date-time ("2026-01-31T09:00:00Z", "...+02:00"). */
static bool parse_time_ms(const char *s, int64_t *ms) {
  size_t len = strlen(s);
  struct cf_time_civil c;
  memset(&c, 0, sizeof c);
  size_t n = cf_time_parse_date(s, len, &c);
  if (!n || n >= len || (s[n] != 'T' && s[n] != 't')) return false;
  size_t m = cf_time_parse_clock(s + n + 1, len - n - 1, &c);
  if (!m) return false;
  size_t at = n + 1 + m;
  int32_t off = 0;
  size_t k = cf_time_parse_offset(s + at, len - at, &off);
  if (!k || at + k != len) return false;
  *ms = cf_time_days_from_civil(c.year, c.month, c.day) * 86400000LL + (int64_t)c.hour * 3600000LL +
        (int64_t)c.minute * 60000LL + (int64_t)c.second * 1000LL + (int64_t)(c.nanos / 1000000u) -
        (int64_t)off * 1000LL;
  return true;
}

/* How a filter field's values convert. */
enum fkind { FK_TEXT, FK_NUMBER, FK_BOOL, FK_TIME, FK_KEY, FK_INT };

/* The store's name and kind of a filter (or sort) field: 0, or 2 after a usage error. */
static int filter_field(const struct cf_cli_args *a, const char *opt, const struct schema *sch, const char *name,
                        struct search *s, const char **store, enum fkind *kind) {
  static const struct {
    const char *name, *store;
    enum fkind kind;
  } fixed[] = {{"recordKey", "key", FK_KEY},          {"key", "key", FK_KEY},
               {"version", "version", FK_INT},        {"createdAt", "created_ms", FK_TIME},
               {"updatedAt", "updated_ms", FK_TIME},  {"createdBy", "created_by", FK_TEXT},
               {"updatedBy", "updated_by", FK_TEXT}};
  int i = schema_find(sch, name);
  if (i >= 0) {
    if (s->nnames >= sizeof s->names / sizeof s->names[0] || strlen(name) > 70)
      return cf_cli_usage_error(a, "%s: too many conditions, or the field name '%.40s' is too long", opt, name);
    char *n = s->names[s->nnames++];
    snprintf(n, sizeof s->names[0], "field:%s", name);
    *store = n;
    const char *t = sch->types[i];
    *kind = !strcmp(t, "decimal") ? FK_NUMBER : !strcmp(t, "boolean") ? FK_BOOL : FK_TEXT;
    return 0;
  }
  for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
    if (!strcmp(fixed[k].name, name)) {
      *store = fixed[k].store;
      *kind = fixed[k].kind;
      return 0;
    }
  return cf_cli_usage_error(a, "%s: a %s has no field '%s' (see 'crmflow records types --json')", opt,
                            sch->root ? json_object_get_string(json_object_object_get(sch->root, "name")) : "record",
                            name);
}

/* One value of a field of kind k into *v: 0, or 2 after a usage error. */
static int filter_value(const struct cf_cli_args *a, const char *name, enum fkind k, struct json_object *j,
                        struct cf_store_qvalue *v) {
  memset(v, 0, sizeof *v);
  const char *want = "a value";
  switch (k) {
  case FK_TEXT:
    /* References are digit strings; a number is taken as its text. */
    if (json_object_is_type(j, json_type_string)) {
      v->is_text = true;
      v->text = json_object_get_string(j);
      return 0;
    }
    if (json_object_is_type(j, json_type_int)) {
      v->is_text = true;
      v->text = cf_json_number_text(j);
      return 0;
    }
    want = "a string";
    break;
  case FK_NUMBER:
    if (json_object_is_type(j, json_type_int)) {
      v->num = json_object_get_int64(j);
      return 0;
    }
    if (json_object_is_type(j, json_type_double)) {
      v->is_real = true;
      v->real = json_object_get_double(j);
      return 0;
    }
    want = "a number";
    break;
  case FK_BOOL:
    if (json_object_is_type(j, json_type_boolean)) {
      v->num = json_object_get_boolean(j);
      return 0;
    }
    want = "true or false";
    break;
  case FK_TIME:
    if (json_object_is_type(j, json_type_string) && parse_time_ms(json_object_get_string(j), &v->num)) return 0;
    want = "an RFC 3339 date-time (2026-01-31T09:00:00Z)";
    break;
  case FK_KEY: {
    const char *t = json_object_is_type(j, json_type_string) ? json_object_get_string(j)
                    : json_object_is_type(j, json_type_int)  ? cf_json_number_text(j)
                                                             : NULL;
    char *end = NULL;
    errno = 0;
    unsigned long long x = t && *t >= '0' && *t <= '9' ? strtoull(t, &end, 10) : 0;
    if (t && end && !*end && !errno && x > 0 && x <= INT64_MAX) {
      v->num = (int64_t)x;
      return 0;
    }
    want = "a key (digits)";
    break;
  }
  case FK_INT:
    if (json_object_is_type(j, json_type_int)) {
      v->num = json_object_get_int64(j);
      return 0;
    }
    want = "a whole number";
    break;
  }
  return cf_cli_usage_error(a, "--filter: the value of %s is %.60s, but must be %s", name,
                            j ? json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN) : "null", want);
}

static struct cf_store_qvalue *vals_new(struct search *s, size_t n) {
  if (s->nvals + n <= sizeof s->vals / sizeof s->vals[0]) {
    struct cf_store_qvalue *v = &s->vals[s->nvals];
    s->nvals += n;
    return v;
  }
  if (!cf_grow((void **)&s->bigs, &s->capbigs, s->nbigs, sizeof *s->bigs)) return NULL;
  struct cf_store_qvalue *v = cf_calloc(n ? n : 1, sizeof *v);
  if (v) s->bigs[s->nbigs++] = v;
  return v;
}

static const struct {
  const char *name;
  enum cf_store_qop op;
} qops[] = {{"$eq", CF_STORE_EQ},       {"$neq", CF_STORE_NEQ},       {"$exists", CF_STORE_EXISTS},
            {"$in", CF_STORE_IN},       {"$notIn", CF_STORE_NOT_IN}, {"$like", CF_STORE_LIKE},
            {"$gt", CF_STORE_GT},       {"$gte", CF_STORE_GTE},       {"$lt", CF_STORE_LT},
            {"$lte", CF_STORE_LTE}};

/* One filter object (the top level, or a group of $or) into conds: 0, or 2 after a usage error. */
static int filter_object(const struct cf_cli_args *a, const struct schema *sch, struct search *s,
                         struct json_object *filter, struct cf_store_qcond *conds, size_t *nconds, bool top) {
  json_object_object_foreach(filter, name, v) {
    if (!strcmp(name, "$or")) {
      if (!top) return cf_cli_usage_error(a, "--filter: a $or inside a $or is not supported");
      if (!v || !json_object_is_type(v, json_type_array))
        return cf_cli_usage_error(a, "--filter: $or is an array of filter objects");
      size_t n = json_object_array_length(v);
      if (n > MAX_GROUPS) return cf_cli_usage_error(a, "--filter: $or holds at most %d filters", MAX_GROUPS);
      for (size_t g = 0; g < n; g++) {
        struct json_object *e = json_object_array_get_idx(v, g);
        if (!e || !json_object_is_type(e, json_type_object))
          return cf_cli_usage_error(a, "--filter: $or is an array of filter objects");
        size_t gn = 0;
        int st = filter_object(a, sch, s, e, s->gconds[s->ngroups], &gn, false);
        if (st) return st;
        s->groups[s->ngroups] = (struct cf_store_qgroup){.conds = s->gconds[s->ngroups], .nconds = gn};
        s->ngroups++;
      }
      continue;
    }
    const char *field;
    enum fkind kind;
    int st = filter_field(a, "--filter", sch, name, s, &field, &kind);
    if (st) return st;
    /* {"op": arg, ...}, or a plain value (equality), or null (absent). */
    struct json_object *plain = NULL;
    bool is_ops = v && json_object_is_type(v, json_type_object);
    if (!is_ops) {
      plain = json_object_new_object();
      if (!plain) return cf_cli_refuse(a, "out of memory");
      json_object_object_add(plain, v ? "$eq" : "$exists", v ? json_object_get(v) : json_object_new_boolean(0));
      v = plain;
    } else if (json_object_object_length(v) == 0) {
      return cf_cli_usage_error(a, "--filter: the value of %s is an empty object", name);
    }
    st = 0;
    json_object_object_foreach(v, opname, arg) {
      size_t k = 0;
      while (k < sizeof qops / sizeof qops[0] && strcmp(qops[k].name, opname)) k++;
      if (k == sizeof qops / sizeof qops[0]) {
        st = cf_cli_usage_error(a, "--filter: %s.%s is no operator (use $eq, $neq, $exists, $in, $notIn, $like, "
                                   "$gt, $gte, $lt, $lte)",
                                name, opname);
        break;
      }
      if (*nconds >= MAX_CONDS) {
        st = cf_cli_usage_error(a, "--filter: at most %d conditions", MAX_CONDS);
        break;
      }
      struct cf_store_qcond *q = &conds[*nconds];
      q->field = field;
      q->op = qops[k].op;
      if (q->op == CF_STORE_IN || q->op == CF_STORE_NOT_IN) {
        if (!arg || !json_object_is_type(arg, json_type_array)) {
          st = cf_cli_usage_error(a, "--filter: %s.%s is an array of values", name, opname);
          break;
        }
        size_t n = json_object_array_length(arg);
        struct cf_store_qvalue *vals = vals_new(s, n);
        if (!vals) {
          st = cf_cli_refuse(a, "out of memory");
          break;
        }
        for (size_t i = 0; i < n && !st; i++) st = filter_value(a, name, kind, json_object_array_get_idx(arg, i), &vals[i]);
        q->values = vals;
        q->nvalues = n;
      } else {
        struct cf_store_qvalue *val = vals_new(s, 1);
        if (!val) {
          st = cf_cli_refuse(a, "out of memory");
          break;
        }
        if (q->op == CF_STORE_EXISTS) {
          if (!arg || !json_object_is_type(arg, json_type_boolean))
            st = cf_cli_usage_error(a, "--filter: %s.$exists is true or false", name);
          else
            val->num = json_object_get_boolean(arg);
        } else if (!arg) {
          st = cf_cli_usage_error(a, "--filter: %s.%s must not be null", name, opname);
        } else if (q->op == CF_STORE_LIKE && (kind != FK_TEXT || !json_object_is_type(arg, json_type_string))) {
          st = cf_cli_usage_error(a, "--filter: $like takes a text pattern ('*' and '?'), on a text field, not %s",
                                  name);
        } else {
          st = filter_value(a, name, kind, arg, val);
        }
        q->values = val;
        q->nvalues = 1;
      }
      if (st) break;
      (*nconds)++;
    }
    if (plain) json_object_put(plain);
    if (st) return st;
  }
  return 0;
}

/* ------------------------------------------------------------ records search */

/* The record's fields as a JSON object (new reference), or NULL. */
static struct json_object *record_fields(const struct cf_store_record *r) {
  struct cf_error err;
  cf_error_clear(&err);
  struct json_object *f = r->fields ? cf_json_parse(r->fields, strlen(r->fields), &err) : NULL;
  if (f && !json_object_is_type(f, json_type_object)) {
    json_object_put(f);
    f = NULL;
  }
  return f;
}

static void render_records(struct cf_buf *b, const struct cf_store_record *rows, size_t n, const struct schema *s) {
  /* The record's key, the first fields of the schema (a table holds 16 columns), when it last changed. */
  const char *head[16];
  char upper[14][72];
  size_t nf = s->n < 13 ? s->n : 13;
  head[0] = "RECORD";
  for (size_t i = 0; i < nf; i++) {
    snprintf(upper[i], sizeof upper[i], "%s", s->names[i]);
    for (char *p = upper[i]; *p; p++)
      if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
    head[1 + i] = upper[i];
  }
  head[1 + nf] = "VERSION";
  head[2 + nf] = "UPDATED";
  size_t ncols = nf + 3;
  struct cf_cli_table t;
  cf_cli_table_init(&t, ncols, head, 40);
  struct cf_buf cells[13];
  for (size_t i = 0; i < nf; i++) cf_buf_init(&cells[i]);
  for (size_t r = 0; r < n; r++) {
    struct json_object *f = record_fields(&rows[r]);
    char k[24], v[24], up[48];
    snprintf(k, sizeof k, "%llu", (unsigned long long)rows[r].key);
    snprintf(v, sizeof v, "%lld", (long long)rows[r].version);
    const char *row[16];
    row[0] = k;
    for (size_t i = 0; i < nf; i++) {
      struct json_object *x = NULL;
      cf_buf_reset(&cells[i]);
      if (f && json_object_object_get_ex(f, s->names[i], &x)) value_text(&cells[i], x);
      cf_buf_putc(&cells[i], '\0');
      row[1 + i] = cells[i].oom ? "?" : cells[i].data;
    }
    row[1 + nf] = v;
    row[2 + nf] = cf_cli_format_time(rows[r].updated_ms, up, sizeof up);
    cf_cli_table_add(&t, row);
    if (f) json_object_put(f);
  }
  cf_cli_table_render(&t, b);
  cf_cli_table_release(&t);
  for (size_t i = 0; i < nf; i++) cf_buf_release(&cells[i]);
}

static int records_search(int argc, char **argv) {
  struct cf_cli_opt opts[] = {{"--filter", true, NULL}, {"--sort", true, NULL}, {"--limit", true, NULL}};
  struct cf_cli_args a = {.cmd = "records search", .usage = records_usage, .what = "TYPE"};
  int status = cf_cli_args_parse(&a, argc, argv, opts, 3, 1, 1);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  const char *type = a.pos[0];
  long limit = DEFAULT_LIMIT;
  if (opts[2].value && !cf_cli_parse_int(&a, "--limit", opts[2].value, 1, MAX_LIMIT, &limit)) return 2;
  struct json_object *filter = NULL;
  struct cf_error err;
  cf_error_clear(&err);
  if (opts[0].value) {
    filter = cf_json_parse(opts[0].value, strlen(opts[0].value), &err);
    if (!filter && err.code != CF_OK) return cf_cli_usage_error(&a, "--filter is not JSON: %s", err.msg);
    if (!filter || !json_object_is_type(filter, json_type_object)) {
      if (filter) json_object_put(filter);
      return cf_cli_usage_error(&a, "--filter must be a JSON object, like '{\"status\": \"new\"}'");
    }
  }

  struct session ss;
  memset(&ss, 0, sizeof ss);
  struct schema sch;
  memset(&sch, 0, sizeof sch);
  struct cf_store_result res;
  memset(&res, 0, sizeof res);
  struct search *s = cf_calloc(1, sizeof *s);
  struct cf_buf out;
  cf_buf_init(&out);
  char sortname[128] = "";
  if (!s) {
    status = cf_cli_refuse(&a, "out of memory");
    goto out;
  }
  if ((status = session_open(&a, false, &ss))) goto out;
  if ((status = schema_load(&a, &ss, type, &sch))) goto out;
  struct cf_store_qvalue *tv = vals_new(s, 1);
  tv->is_text = true;
  tv->text = type;
  s->conds[0] = (struct cf_store_qcond){.field = "type", .op = CF_STORE_EQ, .values = tv, .nvalues = 1};
  s->nconds = 1;
  if (filter && (status = filter_object(&a, &sch, s, filter, s->conds, &s->nconds, true))) goto out;
  struct cf_store_qsort sort = {.field = "key"};
  if (opts[1].value) {
    snprintf(sortname, sizeof sortname, "%s", opts[1].value);
    char *colon = strrchr(sortname, ':');
    if (colon && (!strcasecmp(colon + 1, "desc") || !strcasecmp(colon + 1, "asc"))) {
      sort.desc = !strcasecmp(colon + 1, "desc");
      *colon = '\0';
    }
    enum fkind kind;
    if ((status = filter_field(&a, "--sort", &sch, sortname, s, &sort.field, &kind))) goto out;
  }
  struct cf_store_query q = {.entity = CF_STORE_RECORDS, .conds = s->conds, .nconds = s->nconds,
                             .any = s->ngroups ? s->groups : NULL, .nany = s->ngroups, .sort = &sort, .nsort = 1,
                             .limit = (size_t)limit};
  if (ss.ops->search(ss.store, &q, &res, &err) != CF_OK) {
    status = cf_cli_refuse(&a, "%s", err.msg);
    goto out;
  }
  bool more = res.total > res.n;
  if (a.json) {
    cf_buf_puts(&out, "{\"items\":[");
    for (size_t i = 0; i < res.n; i++) {
      if (i) cf_buf_putc(&out, ',');
      cf_crm_record_json(&res.records[i], &out);
    }
    cf_buf_printf(&out, "],\"total\":%llu,\"more\":%s}\n", (unsigned long long)res.total, more ? "true" : "false");
  } else if (res.n == 0) {
    cf_buf_printf(&out, "no %s records\n", type);
  } else {
    render_records(&out, res.records, res.n, &sch);
  }
  status = cf_cli_emit(&a, &out);
  if (!status && more)
    fprintf(stderr, "crmflow: records search: %llu match; showing the first %zu (pass --limit)\n",
            (unsigned long long)res.total, res.n);
out:
  cf_store_result_release(&res);
  if (s) search_release(s);
  cf_free(s);
  schema_release(&sch);
  session_close(&ss);
  if (filter) json_object_put(filter);
  cf_buf_release(&out);
  return status;
}

/* ------------------------------------------------------------ records history */

static int records_history(int argc, char **argv) {
  struct cf_cli_args a = {.cmd = "records history", .usage = records_usage, .what = "TYPE and KEY"};
  int status = cf_cli_args_parse(&a, argc, argv, NULL, 0, 2, 2);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  const char *type = a.pos[0];
  uint64_t key;
  if (!cf_cli_parse_key(&a, "KEY", a.pos[1], &key)) return 2;
  struct session ss;
  struct schema sch;
  memset(&sch, 0, sizeof sch);
  struct cf_store_record_change *ch = NULL;
  size_t n = 0;
  struct cf_buf out;
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);
  if ((status = session_open(&a, false, &ss))) goto out;
  if ((status = schema_load(&a, &ss, type, &sch))) goto out;
  if (ss.ops->record_history(ss.store, key, &ch, &n, &err) != CF_OK) {
    status = cf_cli_refuse(&a, "%s", err.msg);
    goto out;
  }
  /* The store keeps history by key alone: a key of another type has none of this one. */
  size_t mine = 0;
  for (size_t i = 0; i < n; i++) mine += ch[i].type && !strcmp(ch[i].type, type);
  if (mine == 0) {
    status = cf_cli_refuse(&a, "no %s record %llu has a history (the key or the type is wrong)", type,
                           (unsigned long long)key);
    goto out;
  }
  if (a.json) {
    cf_buf_puts(&out, "{\"recordKey\":");
    cf_cli_json_key(&out, key);
    cf_buf_puts(&out, ",\"type\":");
    cf_cli_json_str(&out, type);
    cf_buf_puts(&out, ",\"items\":[");
    bool first = true;
    for (size_t i = 0; i < n; i++) {
      if (!ch[i].type || strcmp(ch[i].type, type)) continue;
      cf_buf_puts(&out, first ? "{\"at\":" : ",{\"at\":");
      first = false;
      cf_cli_json_time(&out, ch[i].at_ms);
      cf_buf_puts(&out, ",\"by\":");
      cf_cli_json_str(&out, ch[i].by);
      cf_buf_puts(&out, ",\"kind\":");
      cf_cli_json_str(&out, ch[i].kind);
      cf_buf_puts(&out, ",\"changes\":");
      cf_cli_json_raw(&out, ch[i].changes, "{}");
      cf_buf_putc(&out, '}');
    }
    cf_buf_puts(&out, "]}\n");
  } else {
    /* One row per field changed, the change's time, actor and kind on each (grep finds them). */
    static const char *const head[] = {"AT", "BY", "KIND", "FIELD", "FROM", "TO"};
    struct cf_cli_table t;
    cf_cli_table_init(&t, 6, head, 60);
    struct cf_buf from, to;
    cf_buf_init(&from);
    cf_buf_init(&to);
    for (size_t i = 0; i < n; i++) {
      if (!ch[i].type || strcmp(ch[i].type, type)) continue;
      char at[48];
      cf_cli_format_time(ch[i].at_ms, at, sizeof at);
      struct json_object *c = ch[i].changes ? cf_json_parse(ch[i].changes, strlen(ch[i].changes), &err) : NULL;
      bool any = false;
      if (c && json_object_is_type(c, json_type_object)) {
        json_object_object_foreach(c, field, d) {
          struct json_object *x = NULL;
          cf_buf_reset(&from);
          cf_buf_reset(&to);
          if (d && json_object_object_get_ex(d, "from", &x)) value_text(&from, x);
          if (d && json_object_object_get_ex(d, "to", &x)) value_text(&to, x);
          cf_buf_putc(&from, '\0');
          cf_buf_putc(&to, '\0');
          const char *row[] = {at, ch[i].by, ch[i].kind, field, from.oom ? "?" : from.data, to.oom ? "?" : to.data};
          cf_cli_table_add(&t, row);
          any = true;
        }
      }
      if (!any) {
        const char *row[] = {at, ch[i].by, ch[i].kind, NULL, NULL, NULL};
        cf_cli_table_add(&t, row);
      }
      if (c) json_object_put(c);
    }
    cf_cli_table_render(&t, &out);
    cf_cli_table_release(&t);
    cf_buf_release(&from);
    cf_buf_release(&to);
  }
  status = cf_cli_emit(&a, &out);
out:
  for (size_t i = 0; i < n; i++) cf_store_record_change_release(&ch[i]);
  cf_free(ch);
  schema_release(&sch);
  session_close(&ss);
  cf_buf_release(&out);
  return status;
}

/* ------------------------------------------------------------ records types */

static int records_types(int argc, char **argv) {
  struct cf_cli_args a = {.cmd = "records types", .usage = records_usage};
  int status = cf_cli_args_parse(&a, argc, argv, NULL, 0, 0, 0);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  struct session ss;
  struct cf_buf json, out;
  cf_buf_init(&json);
  cf_buf_init(&out);
  struct json_object *doc = NULL;
  if ((status = session_open(&a, false, &ss))) goto out;
  cf_crm_types_json(ss.crm, &json);
  if (a.json) {
    cf_buf_append(&out, json.data, json.len);
    cf_buf_putc(&out, '\n');
    if (json.oom) out.oom = true;
  } else {
    struct cf_error err;
    cf_error_clear(&err);
    struct json_object *items = NULL;
    if (json.oom || !(doc = cf_json_parse(json.data, json.len, &err)) ||
        !json_object_object_get_ex(doc, "items", &items)) {
      status = cf_cli_refuse(&a, "cannot read the record types");
      goto out;
    }
    static const char *const head[] = {"TYPE", "BUILTIN", "FIELDS (* required)"};
    struct cf_cli_table t;
    cf_cli_table_init(&t, 3, head, 0);
    struct cf_buf fl;
    cf_buf_init(&fl);
    for (size_t i = 0; i < json_object_array_length(items); i++) {
      struct json_object *ty = json_object_array_get_idx(items, i), *fields = NULL;
      cf_buf_reset(&fl);
      if (json_object_object_get_ex(ty, "fields", &fields))
        for (size_t k = 0; k < json_object_array_length(fields); k++) {
          struct json_object *f = json_object_array_get_idx(fields, k);
          cf_buf_printf(&fl, "%s%s%s (%s)", k ? ", " : "", json_object_get_string(json_object_object_get(f, "name")),
                        json_object_get_boolean(json_object_object_get(f, "required")) ? "*" : "",
                        json_object_get_string(json_object_object_get(f, "type")));
        }
      cf_buf_putc(&fl, '\0');
      const char *row[] = {json_object_get_string(json_object_object_get(ty, "name")),
                           json_object_get_boolean(json_object_object_get(ty, "builtin")) ? "yes" : "no",
                           fl.oom ? "?" : fl.data};
      cf_cli_table_add(&t, row);
    }
    cf_cli_table_render(&t, &out);
    cf_cli_table_release(&t);
    cf_buf_release(&fl);
  }
  status = cf_cli_emit(&a, &out);
out:
  if (doc) json_object_put(doc);
  session_close(&ss);
  cf_buf_release(&json);
  cf_buf_release(&out);
  return status;
}

/* ------------------------------------------------------------ records import */

/* Columns the header may name besides the type's fields: what an export writes, set by crmflow (ignored). */
static bool ignored_column(const char *name) {
  return !strcmp(name, "recordKey") || !strcmp(name, "createdAt") || !strcmp(name, "updatedAt") ||
         !strcmp(name, "createdBy") || !strcmp(name, "updatedBy");
}

/*
 * A row as the fields of a record (new reference, NULL when out of memory):
 * empty cells absent, decimals as numbers, booleans as true/false, the rest
 * as text. A cell that does not convert stays text, for validation to
 * refuse by name.
 */
static struct json_object *row_fields(const struct cf_csv *c, const int *col_field, const struct schema *s) {
  struct json_object *o = json_object_new_object();
  if (!o) return NULL;
  for (size_t i = 0; i < c->ncells; i++) {
    const char *cell = cf_csv_cell(c, i);
    if (col_field[i] < 0 || !*cell) continue;
    const char *t = s->types[col_field[i]];
    struct json_object *v = NULL;
    if (!strcmp(t, "decimal")) {
      struct cf_error err;
      cf_error_clear(&err);
      struct json_object *n = cf_json_parse(cell, strlen(cell), &err);
      if (n && (json_object_is_type(n, json_type_int) || json_object_is_type(n, json_type_double)))
        v = n;
      else if (n)
        json_object_put(n);
    } else if (!strcmp(t, "boolean")) {
      if (!strcasecmp(cell, "true")) v = json_object_new_boolean(1);
      else if (!strcasecmp(cell, "false")) v = json_object_new_boolean(0);
    }
    if (!v) v = json_object_new_string(cell);
    if (!v) {
      json_object_put(o);
      return NULL;
    }
    json_object_object_add(o, s->names[col_field[i]], v);
  }
  return o;
}

struct import_row {
  struct cf_crm *crm;
  const char *type;
  struct json_object *fields;
};

static int import_row_fn(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct import_row *r = arg;
  return cf_crm_create(r->crm, rt, r->type, r->fields, &cli_origin, NULL, err);
}

static int records_import(int argc, char **argv) {
  struct cf_cli_args a = {.cmd = "records import", .usage = records_usage, .what = "TYPE and FILE.csv"};
  int status = cf_cli_args_parse(&a, argc, argv, NULL, 0, 2, 2);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  const char *type = a.pos[0], *file = a.pos[1];
  size_t len = 0;
  char why[256];
  char *data = cf_cli_read_file(file, CSV_MAX_BYTES, &len, why, sizeof why);
  if (!data) return cf_cli_refuse(&a, "cannot read %s: %s", file, why);

  struct session ss;
  memset(&ss, 0, sizeof ss);
  struct schema sch;
  memset(&sch, 0, sizeof sch);
  struct cf_csv c;
  cf_csv_init(&c, data, len);
  int *col_field = NULL;
  size_t ncols = 0, nrows = 0, rejected = 0, imported = 0;
  bool in_batch = false;
  struct cf_buf out;
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);
  bool tty = isatty(fileno(stderr));

  /* The whole file must be CSV before anything is opened. */
  int rc = cf_csv_next(&c);
  if (rc < 0) {
    status = cf_cli_refuse(&a, "%s: %s; nothing was imported", file, c.why);
    goto out;
  }
  if (rc == 0) {
    status = cf_cli_refuse(&a, "%s is empty: a header line of field names comes first; nothing was imported", file);
    goto out;
  }
  ncols = c.ncells;
  while ((rc = cf_csv_next(&c)) > 0) nrows += !cf_csv_blank(&c);
  if (rc < 0) {
    status = cf_cli_refuse(&a, "%s: %s; nothing was imported", file, c.why);
    goto out;
  }

  if ((status = session_open(&a, true, &ss))) goto out;
  if ((status = schema_load(&a, &ss, type, &sch))) goto out;

  /* The header: each column a field of the type (or a column an export writes), once. */
  cf_csv_rewind(&c, data, len);
  cf_csv_next(&c);
  if (!(col_field = cf_calloc(ncols, sizeof *col_field))) {
    status = cf_cli_refuse(&a, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < ncols; i++) {
    const char *name = cf_csv_cell(&c, i);
    col_field[i] = schema_find(&sch, name);
    if (col_field[i] < 0 && !ignored_column(name)) {
      status = cf_cli_refuse(&a, "%s: row 1, column %zu: a %s has no field '%s' (see 'crmflow records types');"
                                 " nothing was imported",
                             file, i + 1, type, name);
      goto out;
    }
    for (size_t k = 0; k < i; k++)
      if (!strcmp(cf_csv_cell(&c, k), name)) {
        status = cf_cli_refuse(&a, "%s: row 1: the column '%s' appears twice; nothing was imported", file, name);
        goto out;
      }
  }

  /* Every row checked first, each rejected one said. */
  while (cf_csv_next(&c) > 0) {
    if (cf_csv_blank(&c)) continue;
    char where[64];
    snprintf(where, sizeof where, "row %zu", c.row);
    if (c.ncells != ncols) {
      fprintf(stderr, "%s: %s: %zu cells, but the header has %zu\n", file, where, c.ncells, ncols);
      rejected++;
      continue;
    }
    struct json_object *f = row_fields(&c, col_field, &sch), *norm = NULL;
    if (!f) {
      status = cf_cli_refuse(&a, "out of memory");
      goto out;
    }
    cf_error_clear(&err);
    if (cf_crm_validate(ss.crm, type, f, true, &norm, &err) != CF_OK) {
      char msg[sizeof err.msg + 80];
      say_error(msg, sizeof msg, where, err.msg);
      fprintf(stderr, "%s: %s\n", file, msg);
      rejected++;
    }
    if (norm) json_object_put(norm);
    json_object_put(f);
  }
  if (rejected) {
    status = cf_cli_refuse(&a, "%zu of %zu rows of %s were rejected (above); nothing was imported", rejected, nrows,
                           file);
    goto out;
  }

  /* All rows in one batch, each an operation (its triggers' instances with it): all or nothing. */
  if (cf_runtime_batch_begin(ss.rt, &err) != CF_OK) {
    status = cf_cli_refuse(&a, "%s; nothing was imported", err.msg);
    goto out;
  }
  in_batch = true;
  cf_csv_rewind(&c, data, len);
  cf_csv_next(&c);
  int shown = -1;
  char total[32];
  grouped(nrows, total, sizeof total);
  while (cf_csv_next(&c) > 0) {
    if (cf_csv_blank(&c)) continue;
    struct import_row r = {.crm = ss.crm, .type = type, .fields = row_fields(&c, col_field, &sch)};
    if (!r.fields) {
      status = cf_cli_refuse(&a, "out of memory; nothing was imported");
      goto out;
    }
    rc = cf_runtime_run(ss.rt, import_row_fn, &r, &err);
    json_object_put(r.fields);
    if (rc != CF_OK) {
      char where[64], msg[sizeof err.msg + 80];
      snprintf(where, sizeof where, "row %zu", c.row);
      say_error(msg, sizeof msg, where, err.msg);
      if (tty && shown >= 0) fputc('\n', stderr);
      status = cf_cli_refuse(&a, "%s: %s; nothing was imported", file, msg);
      goto out;
    }
    imported++;
    int pct = (int)(imported * 100 / (nrows ? nrows : 1));
    if (tty && pct != shown) {
      fprintf(stderr, "\rimporting %s rows: %d%%", total, pct);
      fflush(stderr);
      shown = pct;
    }
  }
  if (tty && shown >= 0) fputc('\n', stderr);
  in_batch = false;
  if (cf_runtime_batch_commit(ss.rt, &err) != CF_OK) {
    status = cf_cli_refuse(&a, "%s; nothing was imported", err.msg);
    goto out;
  }
  if (a.json)
    cf_buf_printf(&out, "{\"imported\":%zu,\"type\":", imported);
  else
    cf_buf_printf(&out, "imported %zu %s record%s\n", imported, type, imported == 1 ? "" : "s");
  if (a.json) {
    cf_cli_json_str(&out, type);
    cf_buf_puts(&out, "}\n");
  }
  status = cf_cli_emit(&a, &out);
out:
  if (in_batch) cf_runtime_batch_rollback(ss.rt);
  cf_free(col_field);
  cf_csv_release(&c);
  schema_release(&sch);
  session_close(&ss);
  cf_free(data);
  cf_buf_release(&out);
  return status;
}

/* ------------------------------------------------------------ records export */

/* One record as a CSV line: key, the schema's fields, createdAt, updatedAt. */
static void export_row(struct cf_buf *b, struct cf_buf *cell, const struct cf_store_record *r, const struct schema *s) {
  char k[24], t[48];
  snprintf(k, sizeof k, "%llu", (unsigned long long)r->key);
  cf_buf_puts(b, k);
  struct json_object *f = record_fields(r);
  for (size_t i = 0; i < s->n; i++) {
    struct json_object *x = NULL;
    cf_buf_reset(cell);
    if (f && json_object_object_get_ex(f, s->names[i], &x)) value_text(cell, x);
    if (cell->oom) b->oom = true;
    cf_buf_putc(b, ',');
    cf_csv_put(b, cell->data ? cell->data : "", cell->len);
  }
  if (f) json_object_put(f);
  cf_buf_printf(b, ",%s", cf_cli_format_time(r->created_ms, t, sizeof t));
  cf_buf_printf(b, ",%s\r\n", cf_cli_format_time(r->updated_ms, t, sizeof t));
}

static int records_export(int argc, char **argv) {
  struct cf_cli_opt opts[] = {{"--out", true, NULL}};
  struct cf_cli_args a = {.cmd = "records export", .usage = records_usage, .what = "TYPE"};
  int status = cf_cli_args_parse(&a, argc, argv, opts, 1, 1, 1);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  const char *type = a.pos[0], *path = opts[0].value;
  if (a.json && !path) return cf_cli_usage_error(&a, "--json needs --out FILE (the CSV itself goes to stdout)");
  if (path && !*path) return cf_cli_usage_error(&a, "--out needs a file name");

  struct session ss;
  memset(&ss, 0, sizeof ss);
  struct schema sch;
  memset(&sch, 0, sizeof sch);
  struct cf_buf b, cell, out;
  cf_buf_init(&b);
  cf_buf_init(&cell);
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);
  char *tmp = NULL;
  FILE *f = NULL;
  size_t count = 0;
  if ((status = session_open(&a, false, &ss))) goto out;
  if ((status = schema_load(&a, &ss, type, &sch))) goto out;
  if (path) {
    /* Written aside and renamed at the end: a failed export leaves no half file behind. */
    size_t n = strlen(path) + 16;
    if (!(tmp = cf_malloc(n))) {
      status = cf_cli_refuse(&a, "out of memory");
      goto out;
    }
    snprintf(tmp, n, "%s.part", path);
    if (!(f = fopen(tmp, "wb"))) {
      status = cf_cli_refuse(&a, "cannot write %s: %s", tmp, strerror(errno));
      goto out;
    }
  } else {
    f = stdout;
  }
  cf_buf_puts(&b, "recordKey");
  for (size_t i = 0; i < sch.n; i++) {
    cf_buf_putc(&b, ',');
    cf_csv_put(&b, sch.names[i], strlen(sch.names[i]));
  }
  cf_buf_puts(&b, ",createdAt,updatedAt\r\n");

  /* Pages in key order: each after the last key seen, so a record written meanwhile is never shown twice. */
  struct cf_store_qvalue vtype = {.is_text = true, .text = type}, vafter = {.num = 0};
  struct cf_store_qcond conds[] = {{.field = "type", .op = CF_STORE_EQ, .values = &vtype, .nvalues = 1},
                                   {.field = "key", .op = CF_STORE_GT, .values = &vafter, .nvalues = 1}};
  struct cf_store_qsort sort = {.field = "key"};
  struct cf_store_query q = {.entity = CF_STORE_RECORDS, .conds = conds, .nconds = 2, .sort = &sort, .nsort = 1,
                             .limit = EXPORT_PAGE};
  for (;;) {
    struct cf_store_result res;
    memset(&res, 0, sizeof res);
    if (ss.ops->search(ss.store, &q, &res, &err) != CF_OK) {
      status = cf_cli_refuse(&a, "%s", err.msg);
      goto out;
    }
    for (size_t i = 0; i < res.n; i++) export_row(&b, &cell, &res.records[i], &sch);
    count += res.n;
    if (res.n) vafter.num = (int64_t)res.records[res.n - 1].key;
    size_t got = res.n;
    cf_store_result_release(&res);
    if (b.oom) {
      status = cf_cli_refuse(&a, "out of memory");
      goto out;
    }
    if (b.len && fwrite(b.data, 1, b.len, f) != b.len) {
      status = cf_cli_refuse(&a, "cannot write %s: %s", path ? tmp : "the CSV", strerror(errno));
      goto out;
    }
    cf_buf_reset(&b);
    if (got < EXPORT_PAGE) break;
  }
  if (fflush(f) != 0 || (path && fsync(fileno(f)) != 0)) {
    status = cf_cli_refuse(&a, "cannot write %s: %s", path ? tmp : "the CSV", strerror(errno));
    goto out;
  }
  if (path) {
    int closed = fclose(f);
    f = NULL;
    if (closed != 0 || rename(tmp, path) != 0) {
      status = cf_cli_refuse(&a, "cannot write %s: %s", path, strerror(errno));
      goto out;
    }
    cf_free(tmp);
    tmp = NULL;
    if (a.json) {
      cf_buf_printf(&out, "{\"exported\":%zu,\"type\":", count);
      cf_cli_json_str(&out, type);
      cf_buf_puts(&out, ",\"file\":");
      cf_cli_json_str(&out, path);
      cf_buf_puts(&out, "}\n");
    } else {
      cf_buf_printf(&out, "exported %zu %s record%s to %s\n", count, type, count == 1 ? "" : "s", path);
    }
    status = cf_cli_emit(&a, &out);
  }
out:
  if (f && f != stdout) fclose(f);
  if (tmp) {
    unlink(tmp);
    cf_free(tmp);
  }
  schema_release(&sch);
  session_close(&ss);
  cf_buf_release(&b);
  cf_buf_release(&cell);
  cf_buf_release(&out);
  return status;
}

int cf_cli_records(int argc, char **argv) {
  static const struct {
    const char *name;
    int (*fn)(int, char **);
  } subs[] = {{"create", records_create}, {"get", records_get},         {"update", records_update},
              {"delete", records_delete}, {"search", records_search},   {"history", records_history},
              {"types", records_types},   {"import", records_import},   {"export", records_export}};
  for (size_t i = 0; argc > 0 && i < sizeof subs / sizeof subs[0]; i++)
    if (!strcmp(argv[0], subs[i].name)) return subs[i].fn(argc - 1, argv + 1);
  struct cf_cli_args a = {.cmd = "records", .usage = records_usage};
  if (argc > 0 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
    fputs(records_usage, stdout);
    return 0;
  }
  if (argc == 0 || argv[0][0] == '-')
    return cf_cli_usage_error(&a, "missing subcommand (create, get, update, delete, search, history, types, import,"
                                  " export)");
  return cf_cli_usage_error(&a, "unknown subcommand '%s'", argv[0]);
}

/* ------------------------------------------------------------ triggers */

static const char triggers_usage[] =
    "usage: crmflow triggers add FILE.json       add a trigger, or an array of them (all or none)\n"
    "       crmflow triggers list                every trigger with its key\n"
    "       crmflow triggers delete KEY\n"
    "  Each takes --db PATH and --json. A trigger: {\"name\", \"recordType\", \"on\": [\"create\"|\"update\"|\n"
    "  \"delete\"], \"condition\": \"=FEEL\", \"processDefinitionId\", \"variables\": \"=FEEL context\",\n"
    "  \"enrollment\": \"every-time\"|\"once-per-record\"|\"not-while-active\"} (docs/crm.md).\n";

struct trigger_op {
  struct cf_crm *crm;
  struct json_object *def; /* add */
  uint64_t key;            /* add: the new key; delete: which */
};

static int trigger_add_fn(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct trigger_op *o = arg;
  return cf_crm_trigger_add(o->crm, rt, o->def, &o->key, err);
}

static int trigger_delete_fn(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct trigger_op *o = arg;
  return cf_crm_trigger_delete(o->crm, rt, o->key, err);
}

static const char *trigger_name(struct json_object *def) {
  struct json_object *n = NULL;
  return def && json_object_object_get_ex(def, "name", &n) && json_object_is_type(n, json_type_string)
             ? json_object_get_string(n)
             : NULL;
}

static int triggers_add(int argc, char **argv) {
  struct cf_cli_args a = {.cmd = "triggers add", .usage = triggers_usage, .what = "FILE.json"};
  int status = cf_cli_args_parse(&a, argc, argv, NULL, 0, 1, 1);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  const char *file = a.pos[0];
  size_t len = 0;
  char why[256];
  char *data = cf_cli_read_file(file, TRIGGERS_MAX_BYTES, &len, why, sizeof why);
  if (!data) return cf_cli_refuse(&a, "cannot read %s: %s", file, why);
  struct cf_error err;
  cf_error_clear(&err);
  struct json_object *doc = cf_json_parse(data, len, &err), *list = NULL;
  cf_free(data);
  struct session ss;
  memset(&ss, 0, sizeof ss);
  struct cf_buf out;
  cf_buf_init(&out);
  uint64_t *keys = NULL;
  bool in_batch = false;
  size_t n = 0;
  if (!doc) {
    status = cf_cli_refuse(&a, "%s is not JSON: %s", file, err.code ? err.msg : "it is null");
    goto out;
  }
  if (json_object_is_type(doc, json_type_object)) {
    if (!(list = json_object_new_array())) {
      status = cf_cli_refuse(&a, "out of memory");
      goto out;
    }
    json_object_array_add(list, json_object_get(doc));
  } else if (json_object_is_type(doc, json_type_array)) {
    list = json_object_get(doc);
  } else {
    status = cf_cli_refuse(&a, "%s holds neither a trigger (a JSON object) nor an array of them", file);
    goto out;
  }
  n = json_object_array_length(list);
  if (n == 0) {
    status = cf_cli_refuse(&a, "%s holds an empty array: no trigger to add", file);
    goto out;
  }
  if (!(keys = cf_calloc(n, sizeof *keys))) {
    status = cf_cli_refuse(&a, "out of memory");
    goto out;
  }
  if ((status = session_open(&a, true, &ss))) goto out;
  if (cf_runtime_batch_begin(ss.rt, &err) != CF_OK) {
    status = cf_cli_refuse(&a, "%s; no trigger was added", err.msg);
    goto out;
  }
  in_batch = true;
  for (size_t i = 0; i < n; i++) {
    struct trigger_op op = {.crm = ss.crm, .def = json_object_array_get_idx(list, i)};
    const char *name = trigger_name(op.def);
    char which[160];
    if (json_object_is_type(doc, json_type_array))
      snprintf(which, sizeof which, "%s: trigger %zu%s%.80s%s", file, i + 1, name ? " (" : "", name ? name : "",
               name ? ")" : "");
    else
      snprintf(which, sizeof which, "%s%s%.80s%s", file, name ? ": trigger " : "", name ? name : "", "");
    if (!op.def || !json_object_is_type(op.def, json_type_object)) {
      status = cf_cli_refuse(&a, "%s is not a JSON object; no trigger was added", which);
      goto out;
    }
    if (cf_runtime_run(ss.rt, trigger_add_fn, &op, &err) != CF_OK) {
      status = cf_cli_refuse(&a, "%s: %s; no trigger was added", which, err.msg);
      goto out;
    }
    keys[i] = op.key;
  }
  in_batch = false;
  if (cf_runtime_batch_commit(ss.rt, &err) != CF_OK) {
    status = cf_cli_refuse(&a, "%s; no trigger was added", err.msg);
    goto out;
  }
  if (a.json) cf_buf_puts(&out, "{\"triggers\":[");
  for (size_t i = 0; i < n; i++) {
    const char *name = trigger_name(json_object_array_get_idx(list, i));
    if (a.json) {
      cf_buf_puts(&out, i ? ",{\"triggerKey\":" : "{\"triggerKey\":");
      cf_cli_json_key(&out, keys[i]);
      cf_buf_puts(&out, ",\"name\":");
      cf_cli_json_str(&out, name);
      cf_buf_putc(&out, '}');
    } else {
      cf_buf_printf(&out, "added trigger %llu (%s)\n", (unsigned long long)keys[i], name ? name : "unnamed");
    }
  }
  if (a.json) cf_buf_puts(&out, "]}\n");
  status = cf_cli_emit(&a, &out);
out:
  if (in_batch) cf_runtime_batch_rollback(ss.rt);
  session_close(&ss);
  cf_free(keys);
  if (list) json_object_put(list);
  if (doc) json_object_put(doc);
  cf_buf_release(&out);
  return status;
}

/* A member of a trigger as a cell: strings bare, the rest as JSON. */
static void member_text(struct cf_buf *b, struct json_object *o, const char *name) {
  struct json_object *v = NULL;
  cf_buf_reset(b);
  if (json_object_object_get_ex(o, name, &v) && v) {
    if (json_object_is_type(v, json_type_array)) {
      for (size_t i = 0; i < json_object_array_length(v); i++) {
        if (i) cf_buf_puts(b, ",");
        value_text(b, json_object_array_get_idx(v, i));
      }
    } else {
      value_text(b, v);
    }
  }
  cf_buf_putc(b, '\0');
}

static int triggers_list(int argc, char **argv) {
  struct cf_cli_args a = {.cmd = "triggers list", .usage = triggers_usage};
  int status = cf_cli_args_parse(&a, argc, argv, NULL, 0, 0, 0);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  struct session ss;
  struct cf_buf json, out;
  cf_buf_init(&json);
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);
  struct json_object *doc = NULL, *items = NULL;
  if ((status = session_open(&a, false, &ss))) goto out;
  if (cf_crm_triggers_json(ss.crm, ss.ops, ss.store, &json, &err) != CF_OK) {
    status = cf_cli_refuse(&a, "%s", err.msg);
    goto out;
  }
  if (a.json) {
    cf_buf_append(&out, json.data, json.len);
    cf_buf_putc(&out, '\n');
    if (json.oom) out.oom = true;
  } else {
    if (json.oom || !(doc = cf_json_parse(json.data, json.len, &err)) ||
        !json_object_object_get_ex(doc, "items", &items)) {
      status = cf_cli_refuse(&a, "cannot read the triggers");
      goto out;
    }
    if (json_object_array_length(items) == 0) {
      cf_buf_puts(&out, "no triggers\n");
    } else {
      static const char *const head[] = {"TRIGGER", "NAME", "TYPE", "ON", "STARTS", "ENROLLMENT", "CONDITION"};
      static const char *const members[] = {"triggerKey", "name", "recordType", "on", NULL, "enrollment", "condition"};
      struct cf_cli_table t;
      cf_cli_table_init(&t, 7, head, 60);
      struct cf_buf cells[7];
      for (size_t k = 0; k < 7; k++) cf_buf_init(&cells[k]);
      for (size_t i = 0; i < json_object_array_length(items); i++) {
        struct json_object *tr = json_object_array_get_idx(items, i);
        const char *row[7];
        for (size_t k = 0; k < 7; k++) {
          if (members[k]) {
            member_text(&cells[k], tr, members[k]);
          } else {
            /* What it starts: a process, or a message it publishes. */
            struct json_object *m = NULL;
            member_text(&cells[k], tr, "processDefinitionId");
            if (cells[k].len <= 1 && json_object_object_get_ex(tr, "message", &m) && m) {
              struct cf_buf mn;
              cf_buf_init(&mn);
              member_text(&mn, m, "name");
              cf_buf_reset(&cells[k]);
              cf_buf_printf(&cells[k], "message %s", mn.oom ? "?" : mn.data);
              cf_buf_putc(&cells[k], '\0');
              cf_buf_release(&mn);
            }
          }
          row[k] = cells[k].oom ? "?" : cells[k].data;
        }
        cf_cli_table_add(&t, row);
      }
      cf_cli_table_render(&t, &out);
      cf_cli_table_release(&t);
      for (size_t k = 0; k < 7; k++) cf_buf_release(&cells[k]);
    }
  }
  status = cf_cli_emit(&a, &out);
out:
  if (doc) json_object_put(doc);
  session_close(&ss);
  cf_buf_release(&json);
  cf_buf_release(&out);
  return status;
}

static int triggers_delete(int argc, char **argv) {
  struct cf_cli_args a = {.cmd = "triggers delete", .usage = triggers_usage, .what = "KEY"};
  int status = cf_cli_args_parse(&a, argc, argv, NULL, 0, 1, 1);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  struct trigger_op op;
  memset(&op, 0, sizeof op);
  if (!cf_cli_parse_key(&a, "KEY", a.pos[0], &op.key)) return 2;
  struct session ss;
  struct cf_buf out;
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);
  if ((status = session_open(&a, true, &ss))) goto out;
  op.crm = ss.crm;
  int rc = cf_runtime_run(ss.rt, trigger_delete_fn, &op, &err);
  if (rc == CF_ENOTFOUND) {
    status = cf_cli_refuse(&a, "no trigger %llu (list them with 'crmflow triggers list')", (unsigned long long)op.key);
    goto out;
  }
  if (rc != CF_OK) {
    status = cf_cli_refuse(&a, "cannot delete trigger %llu: %s", (unsigned long long)op.key, err.msg);
    goto out;
  }
  if (a.json) {
    cf_buf_puts(&out, "{\"triggerKey\":");
    cf_cli_json_key(&out, op.key);
    cf_buf_puts(&out, ",\"deleted\":true}\n");
  } else {
    cf_buf_printf(&out, "deleted trigger %llu\n", (unsigned long long)op.key);
  }
  status = cf_cli_emit(&a, &out);
out:
  session_close(&ss);
  cf_buf_release(&out);
  return status;
}

int cf_cli_triggers(int argc, char **argv) {
  if (argc > 0 && !strcmp(argv[0], "add")) return triggers_add(argc - 1, argv + 1);
  if (argc > 0 && !strcmp(argv[0], "list")) return triggers_list(argc - 1, argv + 1);
  if (argc > 0 && !strcmp(argv[0], "delete")) return triggers_delete(argc - 1, argv + 1);
  struct cf_cli_args a = {.cmd = "triggers", .usage = triggers_usage};
  if (argc > 0 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
    fputs(triggers_usage, stdout);
    return 0;
  }
  if (argc == 0 || argv[0][0] == '-') return cf_cli_usage_error(&a, "missing subcommand (add, list, delete)");
  return cf_cli_usage_error(&a, "unknown subcommand '%s' (add, list, delete)", argv[0]);
}
