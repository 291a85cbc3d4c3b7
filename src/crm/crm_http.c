/*
 * http.request: a webhook call through libcurl.
 *
 * Only hosts named in --allow-hosts are called (exact names, loopback
 * included only when listed), redirects are not followed (a redirect could
 * lead off the list), and only http and https are spoken. The job key goes
 * in the Idempotency-Key header, so a receiver can drop a call repeated
 * after a lost answer.
 *
 * Outcomes, as a webhook's sender should treat them: 2xx completes with
 * the response in the variable `response`; 408, 429, 5xx, a network error
 * or a timeout are tried again with back-off (Retry-After honoured); any
 * other status is an incident at once, since sending the same request again
 * would get the same answer.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/cf_alloc.h"
#include "base/cf_json.h"
#include "base/cf_time.h"
#include "crm/crm_workers_int.h"

#define BODY_MAX (4u << 20)
#define RETRY_AFTER_MAX_MS (3600 * 1000LL)

bool cf__crm_host_allowed(const char *allow_hosts, const char *host) {
  if (!allow_hosts || !host) return false;
  size_t hl = strlen(host);
  if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') host++, hl -= 2;
  if (hl && host[hl - 1] == '.') hl--;
  if (!hl) return false;
  const char *p = allow_hosts;
  while (*p) {
    const char *e = strchr(p, ',');
    if (!e) e = p + strlen(p);
    const char *s = p, *t = e;
    while (s < t && isspace((unsigned char)*s)) s++;
    while (t > s && isspace((unsigned char)t[-1])) t--;
    if (t - s >= 2 && *s == '[' && t[-1] == ']') s++, t--;
    if (t > s && t[-1] == '.') t--;
    if ((size_t)(t - s) == hl && !strncasecmp(s, host, hl)) return true;
    p = *e ? e + 1 : e;
  }
  return false;
}

/* ------------------------------------------------------------ the response */

struct resp {
  struct cf_buf body;
  bool too_large;
  struct json_object *headers; /* lower-case names; repeated ones joined with ", " */
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg) {
  struct resp *r = arg;
  size_t n = size * nmemb;
  if (r->body.len + n > BODY_MAX) {
    r->too_large = true;
    return 0;
  }
  if (cf_buf_append(&r->body, data, n)) return 0;
  return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg) {
  struct resp *r = arg;
  size_t n = size * nmemb;
  if (n >= 5 && !memcmp(data, "HTTP/", 5)) {
    /* A new response (after 100 Continue, say): only the last one's headers count. */
    json_object_put(r->headers);
    r->headers = json_object_new_object();
    return n;
  }
  const char *colon = memchr(data, ':', n);
  if (!colon || !r->headers) return n;
  size_t nl = (size_t)(colon - data);
  const char *v = colon + 1, *e = data + n;
  while (v < e && (*v == ' ' || *v == '\t')) v++;
  while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t')) e--;
  char name[128];
  if (!nl || nl >= sizeof name) return n;
  for (size_t i = 0; i < nl; i++) name[i] = (char)tolower((unsigned char)data[i]);
  name[nl] = 0;
  struct json_object *old;
  struct cf_buf val;
  cf_buf_init(&val);
  if (json_object_object_get_ex(r->headers, name, &old)) {
    cf_buf_puts(&val, json_object_get_string(old));
    cf_buf_puts(&val, ", ");
  }
  cf_buf_append(&val, v, (size_t)(e - v));
  if (!val.oom) json_object_object_add(r->headers, name, json_object_new_string_len(val.data, (int)val.len));
  cf_buf_release(&val);
  return n;
}

/* Bytes that are not UTF-8 become '?', so the body can be a FEEL string. */
static void utf8_sanitize(char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned char c = (unsigned char)s[i];
    size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = k && i + k <= len && !(c == 0);
    for (size_t m = 1; ok && m < k; m++) ok = ((unsigned char)s[i + m] & 0xC0) == 0x80;
    if (ok && k == 2 && c < 0xC2) ok = false;
    if (!ok) {
      s[i++] = '?';
      continue;
    }
    i += k;
  }
}

/* The first bytes of the body for a message: one line, at most 200 bytes, not cut inside a character. */
static void excerpt(const struct cf_buf *b, char *out, size_t outlen) {
  size_t n = b->len < 200 ? b->len : 200;
  if (n >= outlen) n = outlen - 1;
  while (n < b->len && n > 0 && ((unsigned char)b->data[n] & 0xC0) == 0x80) n--;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)b->data[i];
    out[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
  }
  out[n] = 0;
  if (n < b->len && n + 4 < outlen) strcat(out, "...");
}

static bool json_type_of(const char *ct) {
  if (!ct) return false;
  const char *semi = strchr(ct, ';');
  size_t n = semi ? (size_t)(semi - ct) : strlen(ct);
  while (n && ct[n - 1] == ' ') n--;
  if (n == 16 && !strncasecmp(ct, "application/json", 16)) return true;
  return n >= 5 && !strncasecmp(ct + n - 5, "+json", 5);
}

/* Retry-After: seconds or an HTTP date; -1 when absent or unreadable. */
static int64_t retry_after_ms(struct json_object *headers) {
  struct json_object *v;
  if (!headers || !json_object_object_get_ex(headers, "retry-after", &v)) return -1;
  const char *s = json_object_get_string(v);
  char *end;
  long long secs = strtoll(s, &end, 10);
  if (end != s && !*end && secs >= 0) return secs * 1000 > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : secs * 1000;
  time_t at = curl_getdate(s, NULL);
  if (at < 0) return -1;
  int64_t ms = ((int64_t)at - (int64_t)time(NULL)) * 1000;
  if (ms < 0) ms = 0;
  return ms > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : ms;
}

/* ------------------------------------------------------------ inputs */

/* The timeout input: a number of ms (or its text), or an ISO-8601 duration. -1 when absent, 0 when bad. */
static int64_t timeout_input(struct cf__crm_job *j) {
  struct json_object *v = cf__crm_input(j, "timeout", false);
  if (!v) return -1;
  if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
    double d = json_object_get_double(v);
    return d >= 1 && d < 1e12 ? (int64_t)d : 0;
  }
  if (!json_object_is_type(v, json_type_string)) return 0;
  const char *s = json_object_get_string(v);
  char *end;
  long long n = strtoll(s, &end, 10);
  if (end != s && !*end) return n >= 1 ? n : 0;
  struct cf_time_duration d;
  if (cf_time_parse_duration(s, strlen(s), &d) || d.months || d.secs < 0 || d.secs > 1000000000LL) return 0;
  int64_t ms = d.secs * 1000 + d.nanos / 1000000;
  return ms >= 1 ? ms : 0;
}

static bool token_ok(const char *s) {
  if (!*s) return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s)) return false;
  return true;
}

/* Adds the headers input (an object) to *list; false with why. has_ct: a Content-Type was given. */
static bool add_headers(struct json_object *h, struct curl_slist **list, bool *has_ct, char *why, size_t whylen) {
  if (!h) return true;
  if (!json_object_is_type(h, json_type_object)) {
    snprintf(why, whylen, "headers must be an object of header names and values");
    return false;
  }
  struct cf_buf line;
  cf_buf_init(&line);
  bool ok = true;
  json_object_object_foreach(h, name, val) {
    if (!token_ok(name)) {
      snprintf(why, whylen, "headers: '%.60s' is not a header name", name);
      ok = false;
      break;
    }
    if (!strcasecmp(name, "idempotency-key")) continue; /* the job key, always */
    const char *v = val == NULL ? "" : json_object_is_type(val, json_type_string)
                                           ? json_object_get_string(val)
                                           : json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);
    if (strpbrk(v, "\r\n")) {
      snprintf(why, whylen, "headers: the value of %.60s holds a line break", name);
      ok = false;
      break;
    }
    if (!strcasecmp(name, "content-type")) *has_ct = true;
    cf_buf_reset(&line);
    cf_buf_printf(&line, "%s: %s", name, v);
    struct curl_slist *t = line.oom ? NULL : curl_slist_append(*list, line.data);
    if (!t) {
      snprintf(why, whylen, "out of memory");
      ok = false;
      break;
    }
    *list = t;
  }
  cf_buf_release(&line);
  return ok;
}

/* ------------------------------------------------------------ the job */

static void complete_with(struct cf__crm_job *j, struct cf__crm_outcome *o, long status, struct resp *r,
                          bool is_json) {
  struct json_object *resp = json_object_new_object();
  struct json_object *body = NULL;
  if (r->body.len) {
    if (is_json) {
      struct cf_error e;
      cf_error_clear(&e);
      body = cf_json_parse(r->body.data, r->body.len, &e);
      if (!body && e.code != CF_OK) is_json = false;
    }
    if (!is_json) {
      utf8_sanitize(r->body.data, r->body.len);
      body = json_object_new_string_len(r->body.data, (int)r->body.len);
    }
  }
  json_object_object_add(resp, "status", json_object_new_int((int)status));
  json_object_object_add(resp, "headers", r->headers ? json_object_get(r->headers) : json_object_new_object());
  json_object_object_add(resp, "body", body);
  struct json_object *vars = json_object_new_object();
  json_object_object_add(vars, "response", resp);
  o->kind = CF__CRM_COMPLETE;
  if (cf_feel_from_json(vars, &o->vars)) {
    /* Headers not in UTF-8 (the body was made so): answer without the response rather than call again. */
    cf_feel_set_null(&o->vars);
  }
  json_object_put(vars);
  (void)j;
}

void cf__crm_http_job(struct cf__crm_job *j, struct cf__crm_outcome *o) {
  char why[400], ebuf[CURL_ERROR_SIZE] = "", host_for_msg[200] = "";
  struct curl_slist *hl = NULL;
  char *body_text = NULL;
  char *host = NULL, *scheme = NULL;
  CURLU *u = NULL;
  CURL *c = NULL;
  struct resp r = {.headers = json_object_new_object()};
  cf_buf_init(&r.body);

  const char *url = cf__crm_input_str(j, "url");
  if (!url || !*url) {
    cf__crm_fail_permanent(o, "http.request: the input 'url' is missing");
    goto out;
  }
  u = curl_url();
  if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
    cf__crm_fail_permanent(o, "http.request: the url is not an absolute http or https URL");
    goto out;
  }
  if (strcasecmp(scheme, "http") && strcasecmp(scheme, "https")) {
    cf__crm_fail_permanent(o, "http.request: only http and https URLs are called, not %.20s", scheme);
    goto out;
  }
  snprintf(host_for_msg, sizeof host_for_msg, "%s", host);
  if (!cf__crm_host_allowed(j->cfg->allow_hosts, host)) {
    cf__crm_fail_permanent(o, "http.request: host %s is not in --allow-hosts", host_for_msg);
    goto out;
  }

  char method[16] = "";
  const char *m = cf__crm_input_str(j, "method");
  struct json_object *body = cf__crm_input(j, "body", true);
  if (m && *m) {
    if (strlen(m) >= sizeof method || !token_ok(m)) {
      cf__crm_fail_permanent(o, "http.request: '%.20s' is not an HTTP method", m);
      goto out;
    }
    for (size_t i = 0; m[i]; i++) method[i] = (char)toupper((unsigned char)m[i]);
    method[strlen(m)] = 0;
  } else {
    strcpy(method, body ? "POST" : "GET");
  }

  bool has_ct = false;
  if (!add_headers(cf__crm_input(j, "headers", true), &hl, &has_ct, why, sizeof why)) {
    cf__crm_fail_permanent(o, "http.request: %s", why);
    goto out;
  }
  char line[64];
  snprintf(line, sizeof line, "Idempotency-Key: %llu", (unsigned long long)j->rj->job.key);
  struct curl_slist *t = curl_slist_append(hl, line);
  if (t) hl = t;
  if (t && body && !has_ct && (t = curl_slist_append(hl, json_object_is_type(body, json_type_string)
                                                             ? "Content-Type: text/plain; charset=utf-8"
                                                             : "Content-Type: application/json")))
    hl = t;
  if (t && (t = curl_slist_append(hl, "Expect:"))) hl = t;
  if (!t) {
    cf__crm_fail_retry(o, j, -1, "http.request: out of memory");
    goto out;
  }

  int64_t timeout = timeout_input(j);
  if (timeout == 0) {
    cf__crm_fail_permanent(o, "http.request: timeout must be a positive number of milliseconds or an ISO-8601 "
                              "duration (PT30S)");
    goto out;
  }
  if (timeout < 0) timeout = 30000;
  /* The job's lease must outlast the call. */
  if (timeout > CF__CRM_HTTP_TIMEOUT_MAX_MS) timeout = CF__CRM_HTTP_TIMEOUT_MAX_MS;

  c = curl_easy_init();
  if (!c) {
    cf__crm_fail_retry(o, j, -1, "http.request: out of memory");
    goto out;
  }
  curl_easy_setopt(c, CURLOPT_CURLU, u);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout < 10000 ? timeout : 10000));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "crmflow");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
  if (body) {
    body_text = json_object_is_type(body, json_type_string) ? cf_strdup(json_object_get_string(body))
                                                             : cf_json_dump(body);
    if (!body_text) {
      cf__crm_fail_retry(o, j, -1, "http.request: out of memory");
      goto out;
    }
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body_text);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body_text));
    if (strcmp(method, "POST")) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  } else if (!strcmp(method, "HEAD")) {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (strcmp(method, "GET")) {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  }

  CURLcode cc = curl_easy_perform(c);
  if (r.too_large) {
    cf__crm_fail_permanent(o, "http.request: %s %s answered with a body larger than %u bytes", method, host_for_msg,
                           BODY_MAX);
    goto out;
  }
  if (cc == CURLE_OPERATION_TIMEDOUT) {
    cf__crm_fail_retry(o, j, -1, "http.request: %s %s timed out after %lld ms", method, host_for_msg,
                       (long long)timeout);
    goto out;
  }
  if (cc != CURLE_OK) {
    cf__crm_fail_retry(o, j, -1, "http.request: %s %s: %s", method, host_for_msg,
                       ebuf[0] ? ebuf : curl_easy_strerror(cc));
    goto out;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  struct json_object *ct = NULL;
  json_object_object_get_ex(r.headers, "content-type", &ct);
  bool is_json = json_type_of(ct ? json_object_get_string(ct) : NULL);
  if (status >= 200 && status < 300) {
    complete_with(j, o, status, &r, is_json);
    goto out;
  }
  char ex[210];
  excerpt(&r.body, ex, sizeof ex);
  if (status == 408 || status == 429 || status >= 500) {
    cf__crm_fail_retry(o, j, retry_after_ms(r.headers), "http.request: %s %s answered %ld%s%s", method,
                       host_for_msg, status, ex[0] ? ": " : "", ex);
    goto out;
  }
  cf__crm_fail_permanent(o, "http.request: %s %s answered %ld%s%s%s", method, host_for_msg, status,
                         status >= 300 && status < 400 ? " (redirects are not followed)" : "", ex[0] ? ": " : "",
                         ex);
out:
  if (c) curl_easy_cleanup(c);
  curl_url_cleanup(u);
  curl_free(host);
  curl_free(scheme);
  curl_slist_free_all(hl);
  cf_free(body_text);
  json_object_put(r.headers);
  cf_buf_release(&r.body);
}
