/*
 * Camunda search bodies into store queries (shared/camunda-rest.md §1.7).
 *
 *   { "filter": { field: value | { "$eq": .., "$neq": .., "$exists": bool, "$in": [..],
 *                                  "$notIn": [..], "$like": "..", "$gt"/"$gte"/"$lt"/"$lte": .. },
 *                 "$or": [ {filter}, ... ] },
 *     "sort": [ { "field": name, "order": "ASC" | "DESC" (any case) } ],
 *     "page": { "from": n, "limit": n } | { "after": cursor, "limit": n } | { "before": cursor, ... } }
 *
 * Each endpoint lists its fields (struct api_field): the Camunda name, the
 * store's name and how values convert (keys from digit strings, dates from
 * RFC 3339, states from their names). A field the endpoint does not know is
 * refused with 400 naming it, rather than ignored: a filter silently
 * dropped would return rows the caller asked not to see. Cursors are
 * offsets in the sorted result, base64url-encoded.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "base/cf_alloc.h"
#include "base/cf_json.h"

#define MAX_LIMIT 10000
#define MAX_CONDS 64

struct api_search_mem {
  struct api_search_mem *next;
  max_align_t data[];
};

static void *mem(struct api_search *s, size_t size) {
  struct api_search_mem *m = cf_calloc(1, sizeof *m + size);
  if (!m) return NULL;
  m->next = s->mem;
  s->mem = m;
  return m->data;
}

void api_search_release(struct api_search *s) {
  for (struct api_search_mem *m = s->mem, *next; m; m = next) {
    next = m->next;
    cf_free(m);
  }
  memset(s, 0, sizeof *s);
}

/* The conditions being built: ANDed ones, or a group of $or. */
struct conds {
  struct cf_store_qcond *items;
  size_t n;
};

static struct cf_store_qcond *cond_new(struct api_search *s, struct conds *cs) {
  if (cs->n >= MAX_CONDS) return NULL;
  if (!cs->items && !(cs->items = mem(s, MAX_CONDS * sizeof *cs->items))) return NULL;
  return &cs->items[cs->n++];
}

bool api_search_add(struct api_search *s, const char *field, enum cf_store_qop op, const struct cf_store_qvalue *v,
                    size_t n) {
  struct cf_store_qcond *items = mem(s, (s->q.nconds + 1) * sizeof *items);
  struct cf_store_qvalue *vals = mem(s, (n ? n : 1) * sizeof *vals);
  if (!items || !vals) return false;
  if (s->q.nconds) memcpy(items, s->q.conds, s->q.nconds * sizeof *items);
  for (size_t i = 0; i < n; i++) {
    vals[i] = v[i];
    if (v[i].is_text && v[i].text) {
      char *t = mem(s, strlen(v[i].text) + 1);
      if (!t) return false;
      strcpy(t, v[i].text);
      vals[i].text = t;
    }
  }
  items[s->q.nconds] = (struct cf_store_qcond){.field = field, .op = op, .values = vals, .nvalues = n};
  s->q.conds = items;
  s->q.nconds++;
  return true;
}

static const struct api_field *find_field(const struct api_search_spec *spec, const char *name) {
  for (size_t i = 0; i < spec->nfields; i++)
    if (!strcmp(spec->fields[i].name, name)) return &spec->fields[i];
  return NULL;
}

/* One JSON value of field f as a store value (400 answered on error). */
static bool value_of(struct api_ctx *c, const struct api_field *f, const char *shown_name, struct json_object *v,
                     struct cf_store_qvalue *out) {
  memset(out, 0, sizeof *out);
  const char *want = "a value";
  switch (f->type) {
  case FT_KEY: {
    const char *t = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                    : json_object_is_type(v, json_type_int)  ? cf_json_number_text(v)
                                                              : NULL;
    uint64_t k;
    if (t && api_parse_key_text(t, &k)) {
      out->num = (int64_t)k;
      return true;
    }
    want = "a key (digits)";
    break;
  }
  case FT_STRING:
  case FT_VARS:
    if (json_object_is_type(v, json_type_string)) {
      out->is_text = true;
      out->text = json_object_get_string(v);
      return true;
    }
    want = "a string";
    break;
  case FT_INT:
    if (json_object_is_type(v, json_type_int)) {
      out->num = json_object_get_int64(v);
      return true;
    }
    want = "an integer";
    break;
  case FT_REAL:
    if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
      out->is_real = true;
      out->real = json_object_get_double(v);
      return true;
    }
    want = "a number";
    break;
  case FT_BOOL:
    if (json_object_is_type(v, json_type_boolean)) {
      out->num = json_object_get_boolean(v);
      return true;
    }
    want = "a boolean";
    break;
  case FT_TIME:
    if (json_object_is_type(v, json_type_string) && api_parse_time(json_object_get_string(v), &out->num)) return true;
    want = "an RFC 3339 date-time";
    break;
  case FT_ENUM:
    if (json_object_is_type(v, json_type_string)) {
      const char *t = json_object_get_string(v);
      for (int i = 0; f->enums[i]; i++)
        if (!strcmp(f->enums[i], t)) {
          out->num = i;
          return true;
        }
    }
    want = "one of the field's states";
    break;
  }
  const char *txt = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
  api_bad(c, "The value for filter.%s is '%.60s' but must be %s.", shown_name, txt ? txt : "?", want);
  return false;
}

static const struct {
  const char *name;
  enum cf_store_qop op;
  int arity; /* 1, or -1: an array */
} ops[] = {
    {"$eq", CF_STORE_EQ, 1},       {"$neq", CF_STORE_NEQ, 1},       {"$exists", CF_STORE_EXISTS, 1},
    {"$in", CF_STORE_IN, -1},      {"$notIn", CF_STORE_NOT_IN, -1}, {"$like", CF_STORE_LIKE, 1},
    {"$gt", CF_STORE_GT, 1},       {"$gte", CF_STORE_GTE, 1},       {"$lt", CF_STORE_LT, 1},
    {"$lte", CF_STORE_LTE, 1},
};

/* The conditions of one field's filter value (plain or operators) into cs. */
static bool field_conds(struct api_ctx *c, struct api_search *s, struct conds *cs, const struct api_field *f,
                        const char *store_name, const char *shown_name, struct json_object *v) {
  if (!v) {
    struct cf_store_qcond *q = cond_new(s, cs);
    struct cf_store_qvalue *val = mem(s, sizeof *val);
    if (!q || !val) return api_bad(c, "The filter has too many conditions."), false;
    val->num = 0;
    *q = (struct cf_store_qcond){.field = store_name, .op = CF_STORE_EXISTS, .values = val, .nvalues = 1};
    return true;
  }
  if (!json_object_is_type(v, json_type_object)) {
    struct cf_store_qcond *q = cond_new(s, cs);
    struct cf_store_qvalue *val = mem(s, sizeof *val);
    if (!q || !val) return api_bad(c, "The filter has too many conditions."), false;
    if (!value_of(c, f, shown_name, v, val)) return false;
    *q = (struct cf_store_qcond){.field = store_name, .op = CF_STORE_EQ, .values = val, .nvalues = 1};
    return true;
  }
  bool any = false;
  json_object_object_foreach(v, opname, arg) {
    size_t k = 0;
    while (k < sizeof ops / sizeof ops[0] && strcmp(ops[k].name, opname)) k++;
    if (k == sizeof ops / sizeof ops[0])
      return api_bad(c, "The operator filter.%s.%.40s is not known (use $eq, $neq, $exists, $in, $notIn, $like, "
                        "$gt, $gte, $lt, $lte).",
                     shown_name, opname),
             false;
    any = true;
    struct cf_store_qcond *q = cond_new(s, cs);
    if (!q) return api_bad(c, "The filter has too many conditions."), false;
    q->field = store_name;
    q->op = ops[k].op;
    if (ops[k].op == CF_STORE_EXISTS) {
      struct cf_store_qvalue *val = mem(s, sizeof *val);
      if (!val) return api_fail(c, 500, "INTERNAL", "out of memory"), false;
      if (!arg || !json_object_is_type(arg, json_type_boolean))
        return api_bad(c, "The value for filter.%s.$exists must be a boolean.", shown_name), false;
      val->num = json_object_get_boolean(arg);
      q->values = val;
      q->nvalues = 1;
    } else if (ops[k].arity < 0) {
      if (!arg || !json_object_is_type(arg, json_type_array))
        return api_bad(c, "The value for filter.%s.%s must be an array.", shown_name, opname), false;
      size_t n = json_object_array_length(arg);
      struct cf_store_qvalue *vals = mem(s, (n ? n : 1) * sizeof *vals);
      if (!vals) return api_fail(c, 500, "INTERNAL", "out of memory"), false;
      for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(arg, i);
        if (!e || !value_of(c, f, shown_name, e, &vals[i])) {
          if (!e) api_bad(c, "The value for filter.%s.%s holds a null.", shown_name, opname);
          return false;
        }
      }
      q->values = vals;
      q->nvalues = n;
    } else {
      struct cf_store_qvalue *val = mem(s, sizeof *val);
      if (!val) return api_fail(c, 500, "INTERNAL", "out of memory"), false;
      if (!arg) return api_bad(c, "The value for filter.%s.%s must not be null.", shown_name, opname), false;
      if (ops[k].op == CF_STORE_LIKE && f->type != FT_STRING && f->type != FT_VARS && f->type != FT_ENUM)
        return api_bad(c, "The operator $like applies to text fields, not filter.%s.", shown_name), false;
      if (ops[k].op == CF_STORE_LIKE && f->type == FT_ENUM) {
        /* A state pattern: compare the names, then match by the numbers they have. */
        if (!json_object_is_type(arg, json_type_string))
          return api_bad(c, "The value for filter.%s.$like must be a string.", shown_name), false;
        /* Rewritten as $in of the names the pattern matches (see below). */
        const char *pat = json_object_get_string(arg);
        size_t n = 0;
        for (int i = 0; f->enums[i]; i++) n++;
        struct cf_store_qvalue *vals = mem(s, (n ? n : 1) * sizeof *vals);
        if (!vals) return api_fail(c, 500, "INTERNAL", "out of memory"), false;
        size_t m = 0;
        for (int i = 0; f->enums[i]; i++) {
          /* '*' and '?' wildcards, as the store's LIKE. */
          const char *p = pat, *t = f->enums[i], *star = NULL, *mark = NULL;
          while (*t) {
            if (*p == '\\' && p[1] && p[1] == *t) p += 2, t++;
            else if (*p == '?' || (*p && *p != '*' && *p != '\\' && *p == *t)) p++, t++;
            else if (*p == '*') star = p++, mark = t;
            else if (star) p = star + 1, t = ++mark;
            else break;
          }
          while (*p == '*') p++;
          if (!*t && !*p) vals[m++].num = i;
        }
        q->op = CF_STORE_IN;
        q->values = vals;
        q->nvalues = m;
        continue;
      }
      if (!value_of(c, f, shown_name, arg, val)) return false;
      q->values = val;
      q->nvalues = 1;
    }
  }
  if (!any) return api_bad(c, "The value for filter.%s is an empty object.", shown_name), false;
  return true;
}

/* Variable filters: [{name, value}], each value a string filter on the JSON text. */
static bool var_conds(struct api_ctx *c, struct api_search *s, struct conds *cs, const struct api_field *f,
                      struct json_object *v) {
  if (!v || !json_object_is_type(v, json_type_array))
    return api_bad(c, "The value for filter.%s must be an array of {name, value}.", f->name), false;
  for (size_t i = 0; i < json_object_array_length(v); i++) {
    struct json_object *e = json_object_array_get_idx(v, i), *name = NULL, *val = NULL;
    if (!e || !json_object_is_type(e, json_type_object) || !json_object_object_get_ex(e, "name", &name) ||
        !name || !json_object_is_type(name, json_type_string) || !json_object_object_get_ex(e, "value", &val))
      return api_bad(c, "filter.%s[%zu] needs a name (string) and a value.", f->name, i), false;
    const char *n = json_object_get_string(name);
    char *field = mem(s, strlen(n) + 5);
    if (!field) return api_fail(c, 500, "INTERNAL", "out of memory"), false;
    snprintf(field, strlen(n) + 5, "var:%s", n);
    if (!field_conds(c, s, cs, f, field, f->name, val)) return false;
  }
  return true;
}

/* One filter object (the top level or a $or group) into cs; ors: where $or groups go (NULL: none allowed). */
static bool filter_conds(struct api_ctx *c, struct api_search *s, const struct api_search_spec *spec,
                         struct json_object *filter, struct conds *cs, bool top) {
  json_object_object_foreach(filter, name, v) {
    if (!strcmp(name, "$or")) {
      if (!top) return api_bad(c, "A $or inside a $or is not supported."), false;
      if (!v || !json_object_is_type(v, json_type_array))
        return api_bad(c, "The value for filter.$or must be an array of filter objects."), false;
      size_t n = json_object_array_length(v);
      struct cf_store_qgroup *groups = mem(s, (n ? n : 1) * sizeof *groups);
      if (!groups) return api_fail(c, 500, "INTERNAL", "out of memory"), false;
      for (size_t i = 0; i < n; i++) {
        struct json_object *g = json_object_array_get_idx(v, i);
        if (!g || !json_object_is_type(g, json_type_object))
          return api_bad(c, "filter.$or[%zu] must be a filter object.", i), false;
        struct conds gc = {0};
        if (!filter_conds(c, s, spec, g, &gc, false)) return false;
        groups[i] = (struct cf_store_qgroup){.conds = gc.items, .nconds = gc.n};
      }
      s->q.any = groups;
      s->q.nany = n;
      continue;
    }
    if (!strcmp(name, "tenantId")) {
      /* One tenant: "<default>" is everything, another matches nothing. */
      const char *t = v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "<default>";
      if (strcmp(t, "<default>")) {
        struct cf_store_qcond *q = cond_new(s, cs);
        struct cf_store_qvalue *val = mem(s, sizeof *val);
        if (!q || !val) return api_fail(c, 500, "INTERNAL", "out of memory"), false;
        *q = (struct cf_store_qcond){.field = "key", .op = CF_STORE_IN, .values = val, .nvalues = 0};
      }
      continue;
    }
    const struct api_field *f = find_field(spec, name);
    if (!f) return api_bad(c, "The filter field %.60s is not known here.", name), false;
    if (!f->store) return api_bad(c, "The filter field %s is not supported by crmflow.", name), false;
    if (f->type == FT_VARS) {
      if (!var_conds(c, s, cs, f, v)) return false;
    } else if (!field_conds(c, s, cs, f, f->store, f->name, v)) {
      return false;
    }
  }
  return true;
}

static bool cursor_decode(const char *text, size_t *offset) {
  unsigned char buf[64];
  size_t n = 0;
  if (!text || strlen(text) < 2 || strlen(text) > 300 ||
      sodium_base642bin(buf, sizeof buf - 1, text, strlen(text), NULL, &n, NULL,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
      n < 3 || buf[0] != 'o' || buf[1] != ':')
    return false;
  buf[n] = '\0';
  char *end;
  unsigned long long v = strtoull((char *)buf + 2, &end, 10);
  if (*end) return false;
  *offset = (size_t)v;
  return true;
}

static void cursor_encode(size_t offset, char out[64]) {
  char plain[32];
  int n = snprintf(plain, sizeof plain, "o:%zu", offset);
  sodium_bin2base64(out, 64, (const unsigned char *)plain, (size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

bool api_search_parse(struct api_ctx *c, struct json_object *body, const struct api_search_spec *spec,
                      struct api_search *s) {
  memset(s, 0, sizeof *s);
  s->q.entity = spec->entity;
  s->q.limit = 100;
  struct json_object *filter = NULL, *sort = NULL, *page = NULL;
  json_object_object_get_ex(body, "filter", &filter);
  json_object_object_get_ex(body, "sort", &sort);
  json_object_object_get_ex(body, "page", &page);
  if (filter) {
    if (!json_object_is_type(filter, json_type_object))
      return api_bad(c, "The value for filter must be an object."), false;
    struct conds cs = {0};
    if (!filter_conds(c, s, spec, filter, &cs, true)) return false;
    s->q.conds = cs.items;
    s->q.nconds = cs.n;
  }
  if (sort) {
    if (!json_object_is_type(sort, json_type_array)) return api_bad(c, "The value for sort must be an array."), false;
    size_t n = json_object_array_length(sort);
    struct cf_store_qsort *ss = mem(s, (n ? n : 1) * sizeof *ss);
    if (!ss) return api_fail(c, 500, "INTERNAL", "out of memory"), false;
    for (size_t i = 0; i < n; i++) {
      struct json_object *e = json_object_array_get_idx(sort, i), *fv = NULL, *ov = NULL;
      if (!e || !json_object_is_type(e, json_type_object) || !json_object_object_get_ex(e, "field", &fv) || !fv ||
          !json_object_is_type(fv, json_type_string))
        return api_bad(c, "No sort[%zu].field provided.", i), false;
      const struct api_field *f = find_field(spec, json_object_get_string(fv));
      if (!f || !f->sortable || !f->store)
        return api_bad(c, "The value for sort[%zu].field is '%.60s' but must be a sortable field.", i,
                       json_object_get_string(fv)),
               false;
      bool desc = false;
      if (json_object_object_get_ex(e, "order", &ov) && ov) {
        const char *o = json_object_is_type(ov, json_type_string) ? json_object_get_string(ov) : "";
        if (!strcasecmp(o, "desc")) desc = true;
        else if (strcasecmp(o, "asc"))
          return api_bad(c, "The value for sort[%zu].order is '%.20s' but must be ASC or DESC.", i, o), false;
      }
      ss[i] = (struct cf_store_qsort){.field = f->store, .desc = desc};
    }
    s->q.sort = ss;
    s->q.nsort = n;
  }
  if (page) {
    if (!json_object_is_type(page, json_type_object)) return api_bad(c, "The value for page must be an object."), false;
    int64_t from = 0, limit = 100;
    if (!api_get_int(c, page, "from", &from) || !api_get_int(c, page, "limit", &limit)) return false;
    const char *after = NULL, *before = NULL;
    if (!api_get_string(c, page, "after", &after) || !api_get_string(c, page, "before", &before)) return false;
    if (from < 0) return api_bad(c, "The value for page.from is '%lld' but must be 0 or more.", (long long)from), false;
    if (limit < 1) return api_bad(c, "The value for page.limit is '%lld' but must be 1 or more.", (long long)limit), false;
    if ((after || before) && json_object_object_get_ex(page, "from", NULL))
      return api_bad(c, "Only one of [from, after, before] is allowed."), false;
    if (after && before) return api_bad(c, "Only one of [after, before] is allowed."), false;
    if (limit > MAX_LIMIT) limit = MAX_LIMIT;
    s->from = (size_t)from;
    size_t off;
    if (after) {
      if (!cursor_decode(after, &off)) return api_bad(c, "The value for page.after is not a cursor of this server."), false;
      s->from = off;
    } else if (before) {
      if (!cursor_decode(before, &off)) return api_bad(c, "The value for page.before is not a cursor of this server."), false;
      s->from = off > (size_t)limit ? off - (size_t)limit : 0;
      if (off < (size_t)limit) limit = (int64_t)off;
    }
    s->q.limit = (size_t)limit;
  }
  s->q.offset = s->from;
  return true;
}

void api_search_page(struct cf_buf *b, const struct api_search *s, const struct cf_store_result *r) {
  cf_buf_printf(b, "\"page\":{\"totalItems\":%llu,\"hasMoreTotalItems\":false", (unsigned long long)r->total);
  if (r->n) {
    char cur[64];
    cursor_encode(s->from, cur);
    cf_buf_printf(b, ",\"startCursor\":\"%s\"", cur);
    cursor_encode(s->from + r->n, cur);
    cf_buf_printf(b, ",\"endCursor\":\"%s\"", cur);
  }
  cf_buf_putc(b, '}');
}

bool api_search_answer(struct api_ctx *c, struct api_search *s, api_item_fn item) {
  struct api_reader *r = api_reader_for(c);
  if (!r) return true;
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_store_result res;
  memset(&res, 0, sizeof res);
  if (r->ops->search(r->st, &s->q, &res, &err)) {
    api_reader_put(c->api, r);
    api_error_problem(c->res, &err, c->req->path);
    return true;
  }
  struct cf_buf *b = &c->res->body;
  cf_buf_puts(b, "{\"items\":[");
  for (size_t i = 0; i < res.n; i++) {
    if (i) cf_buf_putc(b, ',');
    item(c, r, &res, i);
  }
  cf_buf_puts(b, "],");
  api_search_page(b, s, &res);
  cf_buf_putc(b, '}');
  cf_store_result_release(&res);
  api_reader_put(c->api, r);
  return api_ok_json(c);
}
