/*
 * Request bodies and response writing for the API.
 *
 * Bodies are parsed with json-c under a depth limit (a deeply nested body
 * is refused before it costs stack or memory); a wrong field is answered
 * with Camunda's wording, naming the field ("The value for retries is
 * 'x' but must be an integer."). Unknown fields are ignored, as Camunda
 * does. Keys go out as digit strings and come in as strings or numbers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "base/cf_alloc.h"
#include "base/cf_json.h"
#include "base/cf_time.h"

bool api_fail(struct api_ctx *c, int status, const char *title, const char *fmt, ...) {
  char detail[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  cf_api_problem(c->res, status, title, detail, c->req->path);
  return true;
}

bool api_bad(struct api_ctx *c, const char *fmt, ...) {
  char detail[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  cf_api_problem(c->res, 400, "INVALID_ARGUMENT", detail, c->req->path);
  return true;
}

struct json_object *api_body(struct api_ctx *c, bool empty_ok) {
  const char *p = c->req->body ? c->req->body : "";
  size_t len = c->req->body_len;
  size_t i = 0;
  while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')) i++;
  if (i == len) {
    if (empty_ok) return json_object_new_object();
    api_bad(c, "No request body provided.");
    return NULL;
  }
  if (len > INT32_MAX) {
    api_bad(c, "The request body is too large.");
    return NULL;
  }
  struct json_tokener *tok = json_tokener_new_ex((int)c->api->max_depth);
  if (!tok) {
    api_fail(c, 500, "INTERNAL", "out of memory");
    return NULL;
  }
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
  struct json_object *o = json_tokener_parse_ex(tok, p, (int)len);
  enum json_tokener_error je = json_tokener_get_error(tok);
  size_t at = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  if (je != json_tokener_success) {
    if (o) json_object_put(o);
    if (je == json_tokener_error_depth)
      api_bad(c, "The request body is nested deeper than %zu levels.", c->api->max_depth);
    else if (je == json_tokener_continue)
      api_bad(c, "The request body is not valid JSON: it ends too early (at byte %zu).", len);
    else
      api_bad(c, "The request body is not valid JSON: %s at byte %zu.", json_tokener_error_desc(je), at);
    return NULL;
  }
  for (size_t k = at; k < len; k++)
    if (p[k] != ' ' && p[k] != '\t' && p[k] != '\r' && p[k] != '\n') {
      if (o) json_object_put(o);
      api_bad(c, "The request body is not valid JSON: unexpected text after the value at byte %zu.", k);
      return NULL;
    }
  if (!o || !json_object_is_type(o, json_type_object)) {
    if (o) json_object_put(o);
    api_bad(c, "The request body must be a JSON object.");
    return NULL;
  }
  return o;
}

static struct json_object *field(struct json_object *o, const char *name) {
  struct json_object *v = NULL;
  if (!o || !json_object_object_get_ex(o, name, &v)) return NULL;
  return v; /* NULL also for JSON null */
}

/* A short text of a JSON value for error messages. */
static const char *shown(struct json_object *v, char *buf, size_t len) {
  const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
  snprintf(buf, len, "%.60s%s", s ? s : "?", s && strlen(s) > 60 ? "..." : "");
  return buf;
}

bool api_get_string(struct api_ctx *c, struct json_object *o, const char *name, const char **out) {
  struct json_object *v = field(o, name);
  if (!v) return true;
  if (!json_object_is_type(v, json_type_string)) {
    char b[80];
    api_bad(c, "The value for %s is '%s' but must be a string.", name, shown(v, b, sizeof b));
    return false;
  }
  *out = json_object_get_string(v);
  return true;
}

static bool int_text(const char *s, int64_t *out) {
  if (!s || !*s) return false;
  errno = 0;
  char *end;
  long long v = strtoll(s, &end, 10);
  if (errno || *end) return false;
  *out = v;
  return true;
}

/* A digit string ("-?[0-9]+"), as the OCA client sends int64 fields (requestTimeout, timeToLive...) and
 * Jackson coerces to a number. */
static bool int_string(struct json_object *v, int64_t *out) {
  const char *s = json_object_get_string(v);
  size_t i = s && s[0] == '-' ? 1 : 0;
  if (!s || !s[i] || strspn(s + i, "0123456789") != strlen(s + i)) return false;
  return int_text(s, out);
}

bool api_get_int(struct api_ctx *c, struct json_object *o, const char *name, int64_t *out) {
  struct json_object *v = field(o, name);
  if (!v) return true;
  int64_t n;
  bool ok = json_object_is_type(v, json_type_string) ? int_string(v, &n)
                                                      : json_object_is_type(v, json_type_int) &&
                                                            int_text(cf_json_number_text(v), &n);
  if (!ok) {
    char b[80];
    api_bad(c, "The value for %s is '%s' but must be an integer.", name, shown(v, b, sizeof b));
    return false;
  }
  *out = n;
  return true;
}

bool api_get_bool(struct api_ctx *c, struct json_object *o, const char *name, bool *out) {
  struct json_object *v = field(o, name);
  if (!v) return true;
  if (!json_object_is_type(v, json_type_boolean)) {
    char b[80];
    api_bad(c, "The value for %s is '%s' but must be a boolean.", name, shown(v, b, sizeof b));
    return false;
  }
  *out = json_object_get_boolean(v);
  return true;
}

bool api_parse_key_text(const char *s, uint64_t *key) {
  int64_t v;
  if (!s || strlen(s) > 25 || !int_text(s, &v) || v <= 0) return false;
  for (const char *p = s; *p; p++)
    if ((*p < '0' || *p > '9') && !(p == s && *p == '-')) return false;
  *key = (uint64_t)v;
  return true;
}

bool api_get_key(struct api_ctx *c, struct json_object *o, const char *name, uint64_t *out, bool *present) {
  struct json_object *v = field(o, name);
  if (present) *present = v != NULL;
  if (!v) return true;
  const char *text = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                     : json_object_is_type(v, json_type_int)  ? cf_json_number_text(v)
                                                               : NULL;
  if (!api_parse_key_text(text, out)) {
    char b[80];
    api_bad(c, "The value for %s is '%s' but must be a key (a positive 64-bit integer as a string).", name,
            shown(v, b, sizeof b));
    return false;
  }
  return true;
}

bool api_get_vars(struct api_ctx *c, struct json_object *o, const char *name, struct cf_feel_value *out) {
  cf_feel_set_null(out);
  struct json_object *v = field(o, name);
  if (!v) return true;
  if (!json_object_is_type(v, json_type_object)) {
    char b[80];
    api_bad(c, "The value for %s is '%s' but must be a JSON object.", name, shown(v, b, sizeof b));
    return false;
  }
  int rc = cf_feel_from_json(v, out);
  if (rc) {
    api_bad(c, "The value for %s cannot be taken: %s.", name, cf_strerror(rc));
    return false;
  }
  return true;
}

static bool tenant_ok(const char *t) { return !*t || !strcmp(t, "<default>"); }

bool api_check_tenant(struct api_ctx *c, struct json_object *o) {
  const char *t = "";
  if (!api_get_string(c, o, "tenantId", &t)) return false;
  if (!tenant_ok(t)) {
    api_bad(c, "Expected to handle request with tenant identifier '%.100s', but multi-tenancy is disabled.", t);
    return false;
  }
  struct json_object *ids = field(o, "tenantIds");
  if (ids) {
    if (!json_object_is_type(ids, json_type_array)) {
      api_bad(c, "The value for tenantIds must be an array of strings.");
      return false;
    }
    for (size_t i = 0; i < json_object_array_length(ids); i++) {
      struct json_object *e = json_object_array_get_idx(ids, i);
      if (!e || !json_object_is_type(e, json_type_string) || !tenant_ok(json_object_get_string(e))) {
        api_bad(c, "Expected to handle request with tenant identifiers other than <default>, but multi-tenancy is "
                   "disabled.");
        return false;
      }
    }
  }
  return true;
}

bool api_path_key(struct api_ctx *c, uint64_t *key) {
  if (!api_parse_key_text(c->param, key)) {
    api_bad(c, "The key '%.60s' in the path is not a key (a positive 64-bit integer).", c->param ? c->param : "");
    return false;
  }
  return true;
}

const char *api_query_arg(const struct api_ctx *c, const char *name, char *buf, size_t len) {
  const char *q = c->req->query;
  size_t nl = strlen(name);
  while (q && *q) {
    const char *amp = strchr(q, '&');
    size_t seg = amp ? (size_t)(amp - q) : strlen(q);
    if (seg > nl && !strncmp(q, name, nl) && q[nl] == '=') {
      snprintf(buf, len, "%.*s", (int)(seg - nl - 1), q + nl + 1);
      return buf;
    }
    q = amp ? amp + 1 : NULL;
  }
  return NULL;
}

/* ------------------------------------------------------------ writing */

static void sep(struct cf_buf *b, const char *name, bool first) {
  if (!first) cf_buf_putc(b, ',');
  cf_buf_putc(b, '"');
  cf_buf_puts(b, name);
  cf_buf_puts(b, "\":");
}

void api_json_key(struct cf_buf *b, const char *name, uint64_t key, bool first) {
  sep(b, name, first);
  if (key) cf_buf_printf(b, "\"%" PRIu64 "\"", key);
  else cf_buf_puts(b, "null");
}

void api_json_str(struct cf_buf *b, const char *name, const char *s, bool first) {
  sep(b, name, first);
  if (s) cf_buf_json_string(b, s, strlen(s));
  else cf_buf_puts(b, "null");
}

void api_json_int(struct cf_buf *b, const char *name, int64_t v, bool first) {
  sep(b, name, first);
  cf_buf_printf(b, "%" PRId64, v);
}

void api_json_bool(struct cf_buf *b, const char *name, bool v, bool first) {
  sep(b, name, first);
  cf_buf_puts(b, v ? "true" : "false");
}

void api_format_time(int64_t at_ms, char out[32]) {
  char tmp[96];
  int64_t days = cf_time_floor_div(at_ms, 86400000), in_day = cf_time_floor_mod(at_ms, 86400000);
  int64_t y;
  unsigned m, d;
  cf_time_civil_from_days(days, &y, &m, &d);
  snprintf(tmp, sizeof tmp, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", (long long)y, m, d,
           (long long)(in_day / 3600000), (long long)(in_day / 60000 % 60), (long long)(in_day / 1000 % 60),
           (long long)(in_day % 1000));
  snprintf(out, 32, "%.31s", tmp);
}

void api_json_time(struct cf_buf *b, const char *name, int64_t at_ms, bool first) {
  sep(b, name, first);
  if (!at_ms) {
    cf_buf_puts(b, "null");
    return;
  }
  char t[32];
  api_format_time(at_ms, t);
  cf_buf_printf(b, "\"%s\"", t);
}

bool api_parse_time(const char *s, int64_t *ms) {
  struct cf_time_civil dt;
  size_t len = strlen(s);
  size_t n = cf_time_parse_date(s, len, &dt);
  if (!n || n >= len || (s[n] != 'T' && s[n] != 't')) return false;
  size_t m = cf_time_parse_clock(s + n + 1, len - n - 1, &dt);
  if (!m) return false;
  size_t at = n + 1 + m;
  int32_t offset = 0;
  if (at < len && (s[at] == 'Z' || s[at] == 'z')) at++;
  else {
    size_t k = cf_time_parse_offset(s + at, len - at, &offset);
    if (!k) return false;
    at += k;
  }
  if (at != len) return false;
  int64_t days = cf_time_days_from_civil(dt.year, dt.month, dt.day);
  *ms = days * 86400000 + (int64_t)dt.hour * 3600000 + (int64_t)dt.minute * 60000 + (int64_t)dt.second * 1000 +
        dt.nanos / 1000000 - (int64_t)offset * 1000;
  return true;
}

bool api_ok_json(struct api_ctx *c) {
  c->res->status = 200;
  c->res->content_type = "application/json";
  return true;
}

bool api_no_content(struct api_ctx *c) {
  cf_buf_reset(&c->res->body);
  c->res->status = 204;
  c->res->content_type = "application/json";
  return true;
}
