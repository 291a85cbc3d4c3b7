/*
 * FEEL values: lifecycle, builders, equality, ordering, string() and JSON.
 *
 * Heap payloads (strings, lists, contexts, ranges, functions) all start with
 * a reference count, so copying a value never allocates. A builder (list
 * push, context put) may only mutate a payload it holds the only reference
 * to; every value handed to a user is treated as immutable.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_json.h"
#include "feel/feel_int.h"

/* ------------------------------------------------------------- lifecycle */

static void str_unref(struct cf_feel_str *s) {
  if (s && --s->refs == 0) cf_free(s);
}

void cf_feel_value_release(struct cf_feel_value *v) {
  if (!v) return;
  switch (v->type) {
    case CF_FEEL_STRING: str_unref(v->u.string); break;
    case CF_FEEL_LIST: {
      struct cf_feel_list *l = v->u.list;
      if (l && --l->refs == 0) {
        for (uint32_t i = 0; i < l->len; i++) cf_feel_value_release(&l->items[i]);
        cf_free(l->items);
        cf_free(l);
      }
      break;
    }
    case CF_FEEL_CONTEXT: {
      struct cf_feel_ctx *c = v->u.ctx;
      if (c && --c->refs == 0) {
        for (uint32_t i = 0; i < c->len; i++) {
          str_unref(c->entries[i].key);
          cf_feel_value_release(&c->entries[i].value);
        }
        cf_free(c->entries);
        cf_free(c);
      }
      break;
    }
    case CF_FEEL_RANGE: {
      struct cf_feel_range *r = v->u.range;
      if (r && --r->refs == 0) {
        cf_feel_value_release(&r->start);
        cf_feel_value_release(&r->end);
        cf_free(r);
      }
      break;
    }
    case CF_FEEL_FUNCTION: cf__feel_fn_unref(v->u.fn); break;
    default: break;
  }
  v->type = CF_FEEL_NULL;
}

void cf_feel_value_copy(struct cf_feel_value *dst, const struct cf_feel_value *src) {
  *dst = *src;
  switch (src->type) {
    case CF_FEEL_STRING: src->u.string->refs++; break;
    case CF_FEEL_LIST: src->u.list->refs++; break;
    case CF_FEEL_CONTEXT: src->u.ctx->refs++; break;
    case CF_FEEL_RANGE: src->u.range->refs++; break;
    case CF_FEEL_FUNCTION: cf__feel_fn_ref(src->u.fn); break;
    default: break;
  }
}

void cf_feel_value_move(struct cf_feel_value *dst, struct cf_feel_value *src) {
  *dst = *src;
  src->type = CF_FEEL_NULL;
}

const char *cf_feel_type_name(enum cf_feel_type type) {
  switch (type) {
    case CF_FEEL_NULL: return "null";
    case CF_FEEL_BOOLEAN: return "boolean";
    case CF_FEEL_NUMBER: return "number";
    case CF_FEEL_STRING: return "string";
    case CF_FEEL_DATE: return "date";
    case CF_FEEL_TIME: return "time";
    case CF_FEEL_DATETIME: return "date and time";
    case CF_FEEL_DT_DURATION: return "days and time duration";
    case CF_FEEL_YM_DURATION: return "years and months duration";
    case CF_FEEL_LIST: return "list";
    case CF_FEEL_CONTEXT: return "context";
    case CF_FEEL_RANGE: return "range";
    case CF_FEEL_FUNCTION: return "function";
    default: return "unknown";
  }
}

/* --------------------------------------------------------------- UTF-8 */

bool cf__feel_utf8_count(const char *s, size_t len, uint32_t *ncp) {
  const unsigned char *p = (const unsigned char *)s;
  uint32_t n = 0;
  size_t i = 0;
  while (i < len) {
    unsigned char c = p[i];
    size_t k;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      n++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      k = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      k = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      k = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t j = 1; j <= k; j++) {
      if (i + j >= len || (p[i + j] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + j] & 0x3F);
    }
    /* Overlong forms, surrogates and values beyond U+10FFFF are not UTF-8. */
    if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += k + 1;
    n++;
  }
  *ncp = n;
  return true;
}

size_t cf__feel_utf8_decode(const char *s, uint32_t *cp) {
  const unsigned char *p = (const unsigned char *)s;
  if (p[0] < 0x80) {
    *cp = p[0];
    return 1;
  }
  if ((p[0] & 0xE0) == 0xC0) {
    *cp = ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    return 2;
  }
  if ((p[0] & 0xF0) == 0xE0) {
    *cp = ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    return 3;
  }
  *cp = ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
        ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
  return 4;
}

size_t cf__feel_utf8_encode(uint32_t cp, char *out) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* ------------------------------------------------------------- builders */

static struct cf_feel_str *str_new(const char *s, size_t len, uint32_t ncp) {
  if (len > UINT32_MAX - sizeof(struct cf_feel_str) - 1) return NULL;
  struct cf_feel_str *str = cf_malloc(sizeof *str + len + 1);
  if (!str) return NULL;
  str->refs = 1;
  str->len = (uint32_t)len;
  str->ncp = ncp;
  if (len) memcpy(str->data, s, len);
  str->data[len] = '\0';
  return str;
}

int cf_feel_set_string(struct cf_feel_value *v, const char *s, size_t len) {
  uint32_t ncp;
  if (!cf__feel_utf8_count(s, len, &ncp)) return CF_EINVAL;
  struct cf_feel_str *str = str_new(s, len, ncp);
  if (!str) return CF_ENOMEM;
  v->type = CF_FEEL_STRING;
  v->u.string = str;
  return CF_OK;
}

int cf_feel_list_new(struct cf_feel_value *v, size_t cap) {
  struct cf_feel_list *l = cf_malloc(sizeof *l);
  if (!l) return CF_ENOMEM;
  if (cap > UINT32_MAX / 2) cap = 0;
  l->items = cap ? cf_malloc(cap * sizeof *l->items) : NULL;
  if (cap && !l->items) {
    cf_free(l);
    return CF_ENOMEM;
  }
  l->refs = 1;
  l->len = 0;
  l->cap = (uint32_t)cap;
  v->type = CF_FEEL_LIST;
  v->u.list = l;
  return CF_OK;
}

int cf_feel_list_push(struct cf_feel_value *list, struct cf_feel_value *item) {
  struct cf_feel_list *l = list->u.list;
  if (l->len == l->cap) {
    if (l->cap >= UINT32_MAX / 4) {
      cf_feel_value_release(item);
      return CF_ENOMEM;
    }
    uint32_t cap = l->cap ? l->cap * 2 : 4;
    struct cf_feel_value *items = cf_realloc(l->items, cap * sizeof *items);
    if (!items) {
      cf_feel_value_release(item);
      return CF_ENOMEM;
    }
    l->items = items;
    l->cap = cap;
  }
  cf_feel_value_move(&l->items[l->len++], item);
  return CF_OK;
}

int cf_feel_ctx_new(struct cf_feel_value *v, size_t cap) {
  struct cf_feel_ctx *c = cf_malloc(sizeof *c);
  if (!c) return CF_ENOMEM;
  if (cap > UINT32_MAX / 2) cap = 0;
  c->entries = cap ? cf_malloc(cap * sizeof *c->entries) : NULL;
  if (cap && !c->entries) {
    cf_free(c);
    return CF_ENOMEM;
  }
  c->refs = 1;
  c->len = 0;
  c->cap = (uint32_t)cap;
  v->type = CF_FEEL_CONTEXT;
  v->u.ctx = c;
  return CF_OK;
}

static struct cf_feel_ctx_entry *ctx_find(const struct cf_feel_ctx *c, const char *key,
                                          size_t keylen) {
  for (uint32_t i = 0; i < c->len; i++) {
    const struct cf_feel_str *k = c->entries[i].key;
    if (k->len == keylen && memcmp(k->data, key, keylen) == 0) return &c->entries[i];
  }
  return NULL;
}

const struct cf_feel_value *cf_feel_ctx_get(const struct cf_feel_ctx *ctx, const char *key,
                                            size_t keylen) {
  if (!ctx) return NULL;
  struct cf_feel_ctx_entry *e = ctx_find(ctx, key, keylen);
  return e ? &e->value : NULL;
}

int cf_feel_ctx_put(struct cf_feel_value *ctx, const char *key, size_t keylen,
                    struct cf_feel_value *item) {
  struct cf_feel_ctx *c = ctx->u.ctx;
  struct cf_feel_ctx_entry *e = ctx_find(c, key, keylen);
  if (e) {
    cf_feel_value_release(&e->value);
    cf_feel_value_move(&e->value, item);
    return CF_OK;
  }
  uint32_t ncp;
  if (!cf__feel_utf8_count(key, keylen, &ncp)) ncp = (uint32_t)keylen;
  struct cf_feel_str *k = str_new(key, keylen, ncp);
  if (!k) {
    cf_feel_value_release(item);
    return CF_ENOMEM;
  }
  if (c->len == c->cap) {
    uint32_t cap = c->cap ? c->cap * 2 : 4;
    struct cf_feel_ctx_entry *entries = cf_realloc(c->entries, cap * sizeof *entries);
    if (!entries) {
      str_unref(k);
      cf_feel_value_release(item);
      return CF_ENOMEM;
    }
    c->entries = entries;
    c->cap = cap;
  }
  c->entries[c->len].key = k;
  cf_feel_value_move(&c->entries[c->len].value, item);
  c->len++;
  return CF_OK;
}

int cf_feel_range_new(struct cf_feel_value *v, struct cf_feel_value *start, bool start_incl,
                      struct cf_feel_value *end, bool end_incl) {
  struct cf_feel_range *r = cf_malloc(sizeof *r);
  if (!r) {
    cf_feel_value_release(start);
    cf_feel_value_release(end);
    return CF_ENOMEM;
  }
  r->refs = 1;
  r->start_incl = start_incl;
  r->end_incl = end_incl;
  cf_feel_value_move(&r->start, start);
  cf_feel_value_move(&r->end, end);
  v->type = CF_FEEL_RANGE;
  v->u.range = r;
  return CF_OK;
}

/* ----------------------------------------------------------- comparison */

static bool is_temporal(uint8_t t) {
  return t == CF_FEEL_DATE || t == CF_FEEL_TIME || t == CF_FEEL_DATETIME ||
         t == CF_FEEL_DT_DURATION || t == CF_FEEL_YM_DURATION;
}

int cf_feel_equal(const struct cf_feel_value *a, const struct cf_feel_value *b) {
  if (a->type == CF_FEEL_NULL || b->type == CF_FEEL_NULL)
    return a->type == b->type ? 1 : 0;
  if (a->type != b->type) {
    /* A date and a date-time at midnight UTC... FEEL keeps them apart. */
    return -1;
  }
  switch (a->type) {
    case CF_FEEL_BOOLEAN: return a->u.boolean == b->u.boolean;
    case CF_FEEL_NUMBER: {
      decContext ctx;
      cf__feel_dec_context(&ctx);
      decNumber r;
      decNumberCompare(&r, &a->u.number, &b->u.number, &ctx);
      return decNumberIsZero(&r) ? 1 : 0;
    }
    case CF_FEEL_STRING:
      return a->u.string->len == b->u.string->len &&
             memcmp(a->u.string->data, b->u.string->data, a->u.string->len) == 0;
    case CF_FEEL_LIST: {
      const struct cf_feel_list *x = a->u.list, *y = b->u.list;
      if (x->len != y->len) return 0;
      int res = 1;
      for (uint32_t i = 0; i < x->len; i++) {
        int e = cf_feel_equal(&x->items[i], &y->items[i]);
        if (e == 0) return 0;
        if (e < 0) res = -1;
      }
      return res;
    }
    case CF_FEEL_CONTEXT: {
      const struct cf_feel_ctx *x = a->u.ctx, *y = b->u.ctx;
      if (x->len != y->len) return 0;
      int res = 1;
      for (uint32_t i = 0; i < x->len; i++) {
        const struct cf_feel_value *other =
            cf_feel_ctx_get(y, x->entries[i].key->data, x->entries[i].key->len);
        if (!other) return 0;
        int e = cf_feel_equal(&x->entries[i].value, other);
        if (e == 0) return 0;
        if (e < 0) res = -1;
      }
      return res;
    }
    case CF_FEEL_RANGE: {
      const struct cf_feel_range *x = a->u.range, *y = b->u.range;
      if (x->start_incl != y->start_incl || x->end_incl != y->end_incl) return 0;
      int s = cf_feel_equal(&x->start, &y->start);
      int e = cf_feel_equal(&x->end, &y->end);
      if (s == 0 || e == 0) return 0;
      if (s < 0 || e < 0) return -1;
      return 1;
    }
    case CF_FEEL_FUNCTION: return a->u.fn == b->u.fn ? 1 : -1;
    default:
      if (is_temporal(a->type)) return cf__feel_temporal_equal(a, b);
      return -1;
  }
}

int cf_feel_compare(const struct cf_feel_value *a, const struct cf_feel_value *b, int *cmp) {
  if (a->type != b->type) return CF_ETYPE;
  switch (a->type) {
    case CF_FEEL_NUMBER: {
      decContext ctx;
      cf__feel_dec_context(&ctx);
      decNumber r;
      decNumberCompare(&r, &a->u.number, &b->u.number, &ctx);
      *cmp = decNumberIsZero(&r) ? 0 : decNumberIsNegative(&r) ? -1 : 1;
      return CF_OK;
    }
    case CF_FEEL_STRING: {
      /* Byte order of UTF-8 is code point order. */
      const struct cf_feel_str *x = a->u.string, *y = b->u.string;
      size_t n = x->len < y->len ? x->len : y->len;
      int c = memcmp(x->data, y->data, n);
      if (c == 0) c = (x->len > y->len) - (x->len < y->len);
      *cmp = c < 0 ? -1 : c > 0;
      return CF_OK;
    }
    default:
      if (is_temporal(a->type)) return cf__feel_temporal_compare(a, b, cmp);
      return CF_ETYPE;
  }
}

/* ------------------------------------------------------------- string() */

static int to_string(const struct cf_feel_value *v, struct cf_buf *out, bool nested) {
  switch (v->type) {
    case CF_FEEL_NULL: return cf_buf_puts(out, "null");
    case CF_FEEL_BOOLEAN: return cf_buf_puts(out, v->u.boolean ? "true" : "false");
    case CF_FEEL_NUMBER: {
      char buf[CF_FEEL_NUMBER_TEXT_MAX];
      cf_feel_number_format(&v->u.number, buf);
      return cf_buf_puts(out, buf);
    }
    case CF_FEEL_STRING:
      if (!nested) return cf_buf_append(out, v->u.string->data, v->u.string->len);
      return cf_buf_json_string(out, v->u.string->data, v->u.string->len);
    case CF_FEEL_LIST: {
      cf_buf_putc(out, '[');
      for (uint32_t i = 0; i < v->u.list->len; i++) {
        if (i) cf_buf_puts(out, ", ");
        to_string(&v->u.list->items[i], out, true);
      }
      return cf_buf_putc(out, ']');
    }
    case CF_FEEL_CONTEXT: {
      cf_buf_putc(out, '{');
      for (uint32_t i = 0; i < v->u.ctx->len; i++) {
        if (i) cf_buf_puts(out, ", ");
        cf_buf_append(out, v->u.ctx->entries[i].key->data, v->u.ctx->entries[i].key->len);
        cf_buf_puts(out, ": ");
        to_string(&v->u.ctx->entries[i].value, out, true);
      }
      return cf_buf_putc(out, '}');
    }
    case CF_FEEL_RANGE: {
      const struct cf_feel_range *r = v->u.range;
      cf_buf_putc(out, r->start_incl ? '[' : '(');
      if (r->start.type != CF_FEEL_NULL) to_string(&r->start, out, true);
      cf_buf_puts(out, "..");
      if (r->end.type != CF_FEEL_NULL) to_string(&r->end, out, true);
      return cf_buf_putc(out, r->end_incl ? ']' : ')');
    }
    case CF_FEEL_FUNCTION: return cf_buf_puts(out, "function");
    default: return cf__feel_temporal_format(v, out);
  }
}

int cf_feel_to_string(const struct cf_feel_value *v, struct cf_buf *out) {
  to_string(v, out, false);
  return out->oom ? CF_ENOMEM : CF_OK;
}

/* ----------------------------------------------------------------- JSON */

int cf_feel_from_json(struct json_object *json, struct cf_feel_value *v) {
  int rc = CF_OK;
  switch (json_object_get_type(json)) {
    case json_type_null: cf_feel_set_null(v); return CF_OK;
    case json_type_boolean: cf_feel_set_bool(v, json_object_get_boolean(json)); return CF_OK;
    case json_type_int:
    case json_type_double: {
      const char *text = cf_json_number_text(json);
      /* Out of the decimal range (1e6145) or not finite: FEEL has no such number. */
      cf_feel_set_null(v);
      return cf_feel_set_number_text(v, text, strlen(text));
    }
    case json_type_string:
      return cf_feel_set_string(v, json_object_get_string(json),
                                (size_t)json_object_get_string_len(json));
    case json_type_array: {
      size_t n = json_object_array_length(json);
      if ((rc = cf_feel_list_new(v, n))) return rc;
      for (size_t i = 0; i < n; i++) {
        struct cf_feel_value item;
        if ((rc = cf_feel_from_json(json_object_array_get_idx(json, i), &item))) break;
        if ((rc = cf_feel_list_push(v, &item))) break;
      }
      break;
    }
    case json_type_object: {
      if ((rc = cf_feel_ctx_new(v, (size_t)json_object_object_length(json)))) return rc;
      json_object_object_foreach(json, key, val) {
        struct cf_feel_value item;
        if (!val) {
          cf_feel_set_null(&item);
        } else if ((rc = cf_feel_from_json(val, &item))) {
          break;
        }
        if ((rc = cf_feel_ctx_put(v, key, strlen(key), &item))) break;
      }
      break;
    }
  }
  if (rc) cf_feel_value_release(v);
  return rc;
}

/*
 * Writing JSON text straight into a buffer (cf_feel_write_json): the same
 * bytes as cf_json_dump() of cf_feel_to_json(), without building json-c
 * objects, for the hot path of saving an instance after every command. What
 * json-c does and this must copy: strings escaped as cf_buf_json_string does
 * ('/' stays, since cf_json_dump asks for JSON_C_TO_STRING_NOSLASHESCAPE);
 * no spaces; object keys taken as C strings (cut at a NUL byte, and a later
 * key equal to an earlier one after the cut replaces its value in place).
 */

/*
 * Appends s as a JSON string. The usual string needs no escape: then one
 * reserve and one copy; otherwise cf_buf_json_string (which escapes as
 * json-c does) writes it all.
 */
static void put_json_string(struct cf_buf *out, const char *s, size_t len) {
  size_t i = 0;
  while (i < len && (unsigned char)s[i] >= 0x20 && s[i] != '"' && s[i] != '\\') i++;
  if (i < len) {
    cf_buf_json_string(out, s, len);
    return;
  }
  if (cf_buf_reserve(out, len + 2)) return;
  char *p = out->data + out->len;
  p[0] = '"';
  memcpy(p + 1, s, len);
  p[len + 1] = '"';
  p[len + 2] = '\0';
  out->len += len + 2;
}

static void write_json(const struct cf_feel_value *v, struct cf_buf *out);

/*
 * A context whose keys hold a NUL byte: json-c keeps such a key up to the
 * NUL, and an entry whose cut key equals an earlier one's replaces that
 * one's value where it stands (json_object_object_add). Quadratic, but only
 * for such contexts, which only context put() (or a builder) can make with a
 * "\u0000" in a key: JSON objects and context literals cut keys themselves.
 */
static void write_ctx_cut_keys(const struct cf_feel_ctx *c, struct cf_buf *out) {
  bool first = true;
  for (uint32_t i = 0; i < c->len; i++) {
    const char *k = c->entries[i].key->data;
    bool seen = false;
    for (uint32_t j = 0; j < i && !seen; j++) seen = strcmp(c->entries[j].key->data, k) == 0;
    if (seen) continue;
    uint32_t last = i;
    for (uint32_t j = i + 1; j < c->len; j++)
      if (strcmp(c->entries[j].key->data, k) == 0) last = j;
    if (!first) cf_buf_putc(out, ',');
    first = false;
    put_json_string(out, k, strlen(k));
    cf_buf_putc(out, ':');
    write_json(&c->entries[last].value, out);
  }
}

static void write_json(const struct cf_feel_value *v, struct cf_buf *out) {
  switch (v->type) {
    case CF_FEEL_NULL:
    case CF_FEEL_FUNCTION: cf_buf_append(out, "null", 4); return;
    case CF_FEEL_BOOLEAN:
      if (v->u.boolean) cf_buf_append(out, "true", 4);
      else cf_buf_append(out, "false", 5);
      return;
    case CF_FEEL_NUMBER: {
      char buf[CF_FEEL_NUMBER_TEXT_MAX];
      cf_feel_number_format(&v->u.number, buf);
      cf_buf_puts(out, buf);
      return;
    }
    case CF_FEEL_STRING:
      put_json_string(out, v->u.string->data, v->u.string->len);
      return;
    case CF_FEEL_LIST: {
      const struct cf_feel_list *l = v->u.list;
      cf_buf_putc(out, '[');
      for (uint32_t i = 0; i < l->len; i++) {
        if (i) cf_buf_putc(out, ',');
        write_json(&l->items[i], out);
      }
      cf_buf_putc(out, ']');
      return;
    }
    case CF_FEEL_CONTEXT: {
      const struct cf_feel_ctx *c = v->u.ctx;
      cf_buf_putc(out, '{');
      size_t mark = out->len;
      for (uint32_t i = 0; i < c->len; i++) {
        const struct cf_feel_str *k = c->entries[i].key;
        size_t klen = strlen(k->data);
        if (klen != k->len) {
          /* Rare: start this context over the slow way. */
          if (!out->oom) {
            out->len = mark;
            out->data[mark] = '\0';
          }
          write_ctx_cut_keys(c, out);
          break;
        }
        if (i) cf_buf_putc(out, ',');
        put_json_string(out, k->data, klen);
        cf_buf_putc(out, ':');
        write_json(&c->entries[i].value, out);
      }
      cf_buf_putc(out, '}');
      return;
    }
    case CF_FEEL_RANGE: {
      const struct cf_feel_range *r = v->u.range;
      cf_buf_puts(out, "{\"start\":");
      write_json(&r->start, out);
      cf_buf_puts(out, ",\"end\":");
      write_json(&r->end, out);
      cf_buf_puts(out, r->start_incl ? ",\"startIncluded\":true" : ",\"startIncluded\":false");
      cf_buf_puts(out, r->end_incl ? ",\"endIncluded\":true}" : ",\"endIncluded\":false}");
      return;
    }
    default:
      /*
       * Temporals: their string() as a JSON string, written as it is: its
       * characters (digits, "-+:.TPYMDHSZ@" and zone ids, which cf_tz only
       * accepts made of [A-Za-z0-9_+/-]) never need an escape.
       */
      cf_buf_putc(out, '"');
      cf__feel_temporal_format(v, out);
      cf_buf_putc(out, '"');
      return;
  }
}

int cf_feel_write_json(const struct cf_feel_value *v, struct cf_buf *out) {
  write_json(v, out);
  return out->oom ? CF_ENOMEM : CF_OK;
}

static int string_json(const struct cf_feel_value *v, struct json_object **out) {
  struct cf_buf b;
  cf_buf_init(&b);
  int rc = cf_feel_to_string(v, &b);
  if (rc == CF_OK) {
    *out = json_object_new_string_len(b.data, (int)b.len);
    if (!*out) rc = CF_ENOMEM;
  }
  cf_buf_release(&b);
  return rc;
}

int cf_feel_to_json(const struct cf_feel_value *v, struct json_object **out) {
  *out = NULL;
  switch (v->type) {
    case CF_FEEL_NULL:
    case CF_FEEL_FUNCTION: return CF_OK;
    case CF_FEEL_BOOLEAN: *out = json_object_new_boolean(v->u.boolean); break;
    case CF_FEEL_NUMBER: {
      char buf[CF_FEEL_NUMBER_TEXT_MAX];
      cf_feel_number_format(&v->u.number, buf);
      *out = cf_json_new_number(buf);
      break;
    }
    case CF_FEEL_STRING:
      *out = json_object_new_string_len(v->u.string->data, (int)v->u.string->len);
      break;
    case CF_FEEL_LIST: {
      struct json_object *a = json_object_new_array_ext((int)v->u.list->len);
      if (!a) return CF_ENOMEM;
      for (uint32_t i = 0; i < v->u.list->len; i++) {
        struct json_object *item;
        if (cf_feel_to_json(&v->u.list->items[i], &item) || json_object_array_add(a, item)) {
          json_object_put(item);
          json_object_put(a);
          return CF_ENOMEM;
        }
      }
      *out = a;
      return CF_OK;
    }
    case CF_FEEL_CONTEXT: {
      struct json_object *o = json_object_new_object();
      if (!o) return CF_ENOMEM;
      for (uint32_t i = 0; i < v->u.ctx->len; i++) {
        struct json_object *item;
        if (cf_feel_to_json(&v->u.ctx->entries[i].value, &item) ||
            json_object_object_add(o, v->u.ctx->entries[i].key->data, item)) {
          json_object_put(item);
          json_object_put(o);
          return CF_ENOMEM;
        }
      }
      *out = o;
      return CF_OK;
    }
    case CF_FEEL_RANGE: {
      const struct cf_feel_range *r = v->u.range;
      struct json_object *o = json_object_new_object(), *s = NULL, *e = NULL;
      if (!o || cf_feel_to_json(&r->start, &s) || cf_feel_to_json(&r->end, &e)) {
        json_object_put(o);
        json_object_put(s);
        return CF_ENOMEM;
      }
      json_object_object_add(o, "start", s);
      json_object_object_add(o, "end", e);
      json_object_object_add(o, "startIncluded", json_object_new_boolean(r->start_incl));
      json_object_object_add(o, "endIncluded", json_object_new_boolean(r->end_incl));
      *out = o;
      return CF_OK;
    }
    default: return string_json(v, out);
  }
  return *out ? CF_OK : CF_ENOMEM;
}
