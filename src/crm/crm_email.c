/*
 * email.send: templates with {{ FEEL }} placeholders, a MIME message, and
 * SMTP through libcurl.
 *
 * Templates are rendered against the job's variables; a placeholder that
 * does not compile or evaluates with a warning (an unknown variable, a
 * wrong type) is an incident naming it: a mail with a hole in it is worse
 * than none. In HTML the values are escaped, so a customer's name cannot
 * inject markup.
 *
 * The message: UTF-8 bodies in quoted-printable (readable on the wire,
 * lines within 76 characters), multipart/alternative when both text and
 * HTML are given, a Subject in RFC 2047 encoded words when it is not
 * ASCII, and a Message-ID made of the job key, so a mail sent twice (the
 * job retried after a lost answer) can be recognised by the receiver.
 *
 * SMTP failures (connection, 4xx, 5xx) are retried with back-off: the
 * server may be down or throttling. A missing --smtp is an incident.
 */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "crm/crm_workers_int.h"

/* ------------------------------------------------------------ templates */

/* Where the placeholder that starts at p (after "{{") ends: the "}}" outside strings and braces. */
static const char *placeholder_end(const char *p) {
  int depth = 0;
  for (; *p; p++) {
    if (*p == '"') {
      for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1]) p++;
      if (!*p) return NULL;
    } else if (*p == '{') {
      depth++;
    } else if (*p == '}') {
      if (depth == 0 && p[1] == '}') return p;
      if (depth > 0) depth--;
    }
  }
  return NULL;
}

static void html_escape(struct cf_buf *out, const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    switch (s[i]) {
    case '<': cf_buf_puts(out, "&lt;"); break;
    case '>': cf_buf_puts(out, "&gt;"); break;
    case '&': cf_buf_puts(out, "&amp;"); break;
    case '"': cf_buf_puts(out, "&quot;"); break;
    case '\'': cf_buf_puts(out, "&#39;"); break;
    default: cf_buf_putc(out, s[i]);
    }
  }
}

int cf__crm_render(const char *tpl, const struct cf_feel_value *vars, const struct cf_feel_env *env, bool html,
                   struct cf_buf *out, char *why, size_t whylen) {
  const char *p = tpl;
  struct cf_buf val;
  cf_buf_init(&val);
  int rc = CF_OK;
  for (;;) {
    const char *open = strstr(p, "{{");
    if (!open) {
      cf_buf_puts(out, p);
      break;
    }
    cf_buf_append(out, p, (size_t)(open - p));
    const char *src = open + 2;
    const char *end = placeholder_end(src);
    if (!end) {
      snprintf(why, whylen, "the placeholder '{{%.40s' is not closed with '}}'", src);
      rc = CF_EINVAL;
      goto out;
    }
    size_t len = (size_t)(end - src);
    /* The placeholder as written, trimmed, for messages. */
    const char *ts = src, *te = end;
    while (ts < te && (*ts == ' ' || *ts == '\t' || *ts == '\n' || *ts == '\r')) ts++;
    while (te > ts && (te[-1] == ' ' || te[-1] == '\t' || te[-1] == '\n' || te[-1] == '\r')) te--;
    int tl = te - ts > 80 ? 80 : (int)(te - ts);
    struct cf_error e;
    cf_error_clear(&e);
    struct cf_feel_expr *x = cf_feel_compile(src, len, NULL, 0, &e);
    if (!x) {
      snprintf(why, whylen, "the placeholder {{ %.*s }} does not compile: %s", tl, ts, e.msg);
      rc = e.code == CF_ENOMEM ? CF_ENOMEM : CF_EINVAL;
      goto out;
    }
    struct cf_feel_warnings w;
    cf_feel_warnings_init(&w);
    struct cf_feel_value v;
    cf_feel_set_null(&v);
    int erc = cf_feel_eval(x, vars, env, &v, &w);
    cf_feel_expr_free(x);
    if (erc || w.failed || w.count) {
      snprintf(why, whylen, "the placeholder {{ %.*s }} failed: %s", tl, ts,
               erc ? cf_strerror(erc) : w.count ? w.items[0] : "the evaluation failed");
      rc = erc == CF_ENOMEM ? CF_ENOMEM : CF_EINVAL;
      cf_feel_warnings_release(&w);
      cf_feel_value_release(&v);
      goto out;
    }
    cf_feel_warnings_release(&w);
    cf_buf_reset(&val);
    if (v.type != CF_FEEL_NULL) cf_feel_to_string(&v, &val);
    cf_feel_value_release(&v);
    if (html) html_escape(out, val.data, val.len);
    else cf_buf_append(out, val.data, val.len);
    p = end + 2;
  }
  if (out->oom || val.oom) rc = CF_ENOMEM;
out:
  if (rc == CF_ENOMEM) snprintf(why, whylen, "out of memory rendering a template");
  cf_buf_release(&val);
  return rc;
}

/* ------------------------------------------------------------ MIME */

static const char hexdig[] = "0123456789ABCDEF";

/* Quoted-printable (RFC 2045 6.7): line ends become CRLF, lines stay within 76 characters. */
static void qp_encode(struct cf_buf *out, const char *s) {
  size_t col = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '\r' && p[1] == '\n') continue;
    if (*p == '\n' || *p == '\r') {
      cf_buf_puts(out, "\r\n");
      col = 0;
      continue;
    }
    bool eol = p[1] == '\n' || p[1] == '\r' || p[1] == 0;
    char enc[4];
    size_t n;
    /* A leading dot is encoded too: some relays mangle dot-stuffing. */
    if (((*p == ' ' || *p == '\t') && !eol) || (*p >= 33 && *p <= 126 && *p != '=' && !(*p == '.' && col == 0))) {
      enc[0] = (char)*p;
      n = 1;
    } else {
      enc[0] = '=';
      enc[1] = hexdig[*p >> 4];
      enc[2] = hexdig[*p & 15];
      n = 3;
    }
    if (col + n > 75) {
      cf_buf_puts(out, "=\r\n");
      col = 0;
    }
    cf_buf_append(out, enc, n);
    col += n;
  }
  cf_buf_puts(out, "\r\n");
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(struct cf_buf *out, const unsigned char *s, size_t len) {
  for (size_t i = 0; i < len; i += 3) {
    unsigned v = (unsigned)s[i] << 16 | (i + 1 < len ? (unsigned)s[i + 1] << 8 : 0) | (i + 2 < len ? s[i + 2] : 0);
    char q[4] = {b64[v >> 18 & 63], b64[v >> 12 & 63], i + 1 < len ? b64[v >> 6 & 63] : '=',
                 i + 2 < len ? b64[v & 63] : '='};
    cf_buf_append(out, q, 4);
  }
}

static bool needs_encoding(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p >= 0x80 || *p < 0x20) return true;
  return strstr(s, "=?") != NULL;
}

/* RFC 2047 "B" encoded words of at most 75 characters, folded, never splitting a UTF-8 sequence. */
static void encoded_words(struct cf_buf *out, const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  size_t len = strlen(s);
  bool first = true;
  while (len) {
    size_t n = len < 45 ? len : 45;
    while (n < len && n > 0 && (p[n] & 0xC0) == 0x80) n--;
    if (!n) n = len < 45 ? len : 45;
    if (!first) cf_buf_puts(out, "\r\n ");
    cf_buf_puts(out, "=?UTF-8?B?");
    base64(out, p, n);
    cf_buf_puts(out, "?=");
    p += n;
    len -= n;
    first = false;
  }
}

/* An address header entry: "addr" as is; "Name <addr>" with the name encoded when not ASCII. */
static void address(struct cf_buf *out, const char *s) {
  const char *lt = strchr(s, '<');
  if (!lt || !needs_encoding(s)) {
    cf_buf_puts(out, s);
    return;
  }
  const char *ns = s, *ne = lt;
  while (ns < ne && *ns == ' ') ns++;
  while (ne > ns && ne[-1] == ' ') ne--;
  if (ne - ns >= 2 && *ns == '"' && ne[-1] == '"') ns++, ne--;
  char *name = cf_strndup(ns, (size_t)(ne - ns));
  if (!name) {
    cf_buf_puts(out, s);
    return;
  }
  encoded_words(out, name);
  cf_free(name);
  cf_buf_putc(out, ' ');
  cf_buf_puts(out, lt);
}

static bool has_break(const char *s) { return s && strpbrk(s, "\r\n") != NULL; }

static void date_header(struct cf_buf *out, int64_t ms) {
  static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  cf_buf_printf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday], tm.tm_mday,
                months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void part(struct cf_buf *out, const char *subtype, const char *body) {
  cf_buf_printf(out, "Content-Type: text/%s; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
                subtype);
  qp_encode(out, body);
}

int cf__crm_mime_build(const struct cf__crm_mail *m, struct cf_buf *out, char *why, size_t whylen) {
  if (has_break(m->from) || has_break(m->subject)) {
    snprintf(why, whylen, "the %s holds a line break", has_break(m->from) ? "sender" : "subject");
    return CF_EINVAL;
  }
  for (size_t i = 0; i < m->nto + m->ncc; i++) {
    if (has_break(i < m->nto ? m->to[i] : m->cc[i - m->nto])) {
      snprintf(why, whylen, "a recipient holds a line break");
      return CF_EINVAL;
    }
  }
  cf_buf_puts(out, "From: ");
  address(out, m->from);
  cf_buf_puts(out, "\r\n");
  for (int k = 0; k < 2; k++) {
    const char *const *list = k ? m->cc : m->to;
    size_t n = k ? m->ncc : m->nto;
    if (!n) continue;
    cf_buf_puts(out, k ? "Cc: " : "To: ");
    for (size_t i = 0; i < n; i++) {
      if (i) cf_buf_puts(out, ",\r\n ");
      address(out, list[i]);
    }
    cf_buf_puts(out, "\r\n");
  }
  cf_buf_puts(out, "Subject: ");
  if (needs_encoding(m->subject)) encoded_words(out, m->subject);
  else cf_buf_puts(out, m->subject);
  cf_buf_puts(out, "\r\n");
  date_header(out, m->date_ms);
  cf_buf_printf(out, "Message-ID: %s\r\nMIME-Version: 1.0\r\n", m->message_id);
  if (m->text && m->html) {
    cf_buf_printf(out, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", m->boundary);
    cf_buf_printf(out, "This is a multi-part message in MIME format.\r\n\r\n--%s\r\n", m->boundary);
    part(out, "plain", m->text);
    cf_buf_printf(out, "--%s\r\n", m->boundary);
    part(out, "html", m->html);
    cf_buf_printf(out, "--%s--\r\n", m->boundary);
  } else {
    part(out, m->html ? "html" : "plain", m->html ? m->html : m->text);
  }
  if (out->oom) {
    snprintf(why, whylen, "out of memory building the message");
    return CF_ENOMEM;
  }
  return CF_OK;
}

bool cf__crm_mail_addr(const char *text, char *out, size_t outlen) {
  const char *s = text, *e;
  const char *lt = strrchr(text, '<');
  if (lt) {
    s = lt + 1;
    e = strchr(s, '>');
    if (!e) return false;
    for (const char *q = e + 1; *q; q++)
      if (*q != ' ' && *q != '\t') return false;
  } else {
    while (*s == ' ' || *s == '\t') s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
  }
  size_t len = (size_t)(e - s);
  if (!len || len >= outlen) return false;
  const char *at = NULL;
  for (const char *q = s; q < e; q++) {
    unsigned char c = (unsigned char)*q;
    if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',' || c == '"' || c == '(' || c == ')') return false;
    if (c == '@') at = q;
  }
  if (!at || at == s || at == e - 1) return false;
  memcpy(out, s, len);
  out[len] = 0;
  return true;
}

/* ------------------------------------------------------------ SMTP */

struct upload {
  const char *data;
  size_t len, off;
};

static size_t upload_read(char *buf, size_t size, size_t nmemb, void *arg) {
  struct upload *u = arg;
  size_t room = size * nmemb, left = u->len - u->off;
  size_t n = left < room ? left : room;
  memcpy(buf, u->data + u->off, n);
  u->off += n;
  return n;
}

/* Sends msg to the recipients; CF_OK, or CF_EIO with why (curl's error and the server's last code). */
static int smtp_send(const char *url, const char *from, char *const *rcpts, size_t n, const struct cf_buf *msg,
                     char *why, size_t whylen) {
  CURL *c = curl_easy_init();
  if (!c) {
    snprintf(why, whylen, "cannot start an SMTP session (out of memory)");
    return CF_EIO;
  }
  struct curl_slist *rl = NULL;
  char env[512];
  int rc = CF_OK;
  for (size_t i = 0; i < n; i++) {
    snprintf(env, sizeof env, "<%s>", rcpts[i]);
    struct curl_slist *t = curl_slist_append(rl, env);
    if (!t) {
      snprintf(why, whylen, "out of memory");
      rc = CF_EIO;
      goto out;
    }
    rl = t;
  }
  snprintf(env, sizeof env, "<%s>", from);
  struct upload u = {.data = msg->data, .len = msg->len};
  char ebuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, env);
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rl);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, upload_read);
  curl_easy_setopt(c, CURLOPT_READDATA, &u);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)msg->len);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
  CURLcode cc = curl_easy_perform(c);
  if (cc != CURLE_OK) {
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    snprintf(why, whylen, "SMTP: %s (server code %ld)", ebuf[0] ? ebuf : curl_easy_strerror(cc), code);
    rc = CF_EIO;
  }
out:
  curl_slist_free_all(rl);
  curl_easy_cleanup(c);
  return rc;
}

/* ------------------------------------------------------------ the job */

struct addrs {
  char **v;      /* as written (header) */
  char **env;    /* the envelope address */
  size_t n, cap;
};

static void addrs_release(struct addrs *a) {
  for (size_t i = 0; i < a->n; i++) {
    cf_free(a->v[i]);
    cf_free(a->env[i]);
  }
  cf_free(a->v);
  cf_free(a->env);
}

/* Adds the comma-separated addresses of text (rendered first); false with why. */
static bool addrs_add(struct addrs *a, const char *text, const char *what, const struct cf_feel_value *vars,
                      const struct cf_feel_env *fenv, char *why, size_t whylen) {
  struct cf_buf r;
  cf_buf_init(&r);
  bool ok = false;
  if (cf__crm_render(text, vars, fenv, false, &r, why, whylen)) goto out;
  const char *p = r.data;
  while (*p) {
    /* A comma inside a quoted name or angle brackets does not separate. */
    const char *q = p;
    bool quoted = false, angle = false;
    for (; *q && (quoted || angle || *q != ','); q++) {
      if (*q == '"') quoted = !quoted;
      else if (*q == '<' && !quoted) angle = true;
      else if (*q == '>' && !quoted) angle = false;
    }
    const char *s = p, *e = q;
    while (s < e && (*s == ' ' || *s == '\t')) s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
    if (e > s) {
      char *one = cf_strndup(s, (size_t)(e - s));
      char envbuf[320];
      if (!one) {
        snprintf(why, whylen, "out of memory");
        goto out;
      }
      if (!cf__crm_mail_addr(one, envbuf, sizeof envbuf)) {
        /* The address itself stays out of the message: it is personal data, and messages are logged. */
        snprintf(why, whylen, "%s: entry %zu is not an email address", what, a->n + 1);
        cf_free(one);
        goto out;
      }
      if (a->n == a->cap) {
        size_t cap = a->cap, cap2 = a->cap;
        if (!cf_grow((void **)&a->v, &cap, a->n, sizeof *a->v) ||
            !cf_grow((void **)&a->env, &cap2, a->n, sizeof *a->env)) {
          cf_free(one);
          snprintf(why, whylen, "out of memory");
          goto out;
        }
        a->cap = cap < cap2 ? cap : cap2;
      }
      a->v[a->n] = one;
      a->env[a->n] = cf_strdup(envbuf);
      if (!a->env[a->n]) {
        cf_free(one);
        snprintf(why, whylen, "out of memory");
        goto out;
      }
      a->n++;
    }
    p = *q ? q + 1 : q;
  }
  ok = true;
out:
  cf_buf_release(&r);
  return ok;
}

/* An input that is a string or a list of strings, each added. */
static bool addrs_input(struct cf__crm_job *j, const char *name, struct addrs *a,
                        const struct cf_feel_value *vars, char *why, size_t whylen) {
  struct json_object *v = cf__crm_input(j, name, true);
  if (!v) return true;
  if (json_object_is_type(v, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(v); i++) {
      struct json_object *e = json_object_array_get_idx(v, i);
      if (!json_object_is_type(e, json_type_string)) {
        snprintf(why, whylen, "%s: entry %zu is not a string", name, i + 1);
        return false;
      }
      if (!addrs_add(a, json_object_get_string(e), name, vars, &j->env, why, whylen)) return false;
    }
    return true;
  }
  if (!json_object_is_type(v, json_type_string)) {
    snprintf(why, whylen, "%s must be a string or a list of strings", name);
    return false;
  }
  return addrs_add(a, json_object_get_string(v), name, vars, &j->env, why, whylen);
}

void cf__crm_email_job(struct cf__crm_job *j, struct cf__crm_outcome *o) {
  char why[400];
  struct addrs to = {0}, cc = {0}, from = {0};
  struct cf_buf subject, text, html, msg;
  cf_buf_init(&subject);
  cf_buf_init(&text);
  cf_buf_init(&html);
  cf_buf_init(&msg);
  struct cf_feel_value vars;
  cf_feel_set_null(&vars);
  char **rcpts = NULL;

  if (!j->cfg->smtp_url) {
    cf__crm_fail_permanent(o, "email.send: no SMTP server is configured (start crmflow with --smtp smtp://HOST:PORT)");
    goto out;
  }
  if (cf_feel_from_json(j->vars, &vars)) {
    cf__crm_fail_retry(o, j, -1, "email.send: cannot read the job's variables");
    goto out;
  }
  if (!addrs_input(j, "to", &to, &vars, why, sizeof why) || !addrs_input(j, "cc", &cc, &vars, why, sizeof why)) {
    cf__crm_fail_permanent(o, "email.send: %s", why);
    goto out;
  }
  if (!to.n) {
    cf__crm_fail_permanent(o, "email.send: the input 'to' is missing or empty");
    goto out;
  }
  const char *from_text = cf__crm_input_str(j, "from");
  if (!addrs_add(&from, from_text ? from_text : j->cfg->smtp_from, "from", &vars, &j->env, why, sizeof why) ||
      from.n != 1) {
    cf__crm_fail_permanent(o, "email.send: %s", from.n > 1 ? "from: one sender only" : why);
    goto out;
  }
  const char *subj_t = cf__crm_input_str(j, "subject");
  const char *text_t = cf__crm_input_str(j, "text");
  const char *html_t = cf__crm_input_str(j, "html");
  if (!text_t && !html_t) {
    cf__crm_fail_permanent(o, "email.send: give the input 'text' or 'html' (or both)");
    goto out;
  }
  int rc = CF_OK;
  const char *which = "subject";
  if (subj_t) rc = cf__crm_render(subj_t, &vars, &j->env, false, &subject, why, sizeof why);
  if (!rc && text_t) which = "text", rc = cf__crm_render(text_t, &vars, &j->env, false, &text, why, sizeof why);
  if (!rc && html_t) which = "html", rc = cf__crm_render(html_t, &vars, &j->env, true, &html, why, sizeof why);
  if (rc) {
    if (rc == CF_ENOMEM) cf__crm_fail_retry(o, j, -1, "email.send: %s", why);
    else cf__crm_fail_permanent(o, "email.send: %s: %s", which, why);
    goto out;
  }
  char mid[300], boundary[64];
  snprintf(mid, sizeof mid, "<%llu.crmflow@%s>", (unsigned long long)j->rj->job.key, j->cfg->hostname);
  snprintf(boundary, sizeof boundary, "=_crmflow_%llu", (unsigned long long)j->rj->job.key);
  struct cf__crm_mail m = {.from = from.v[0], .to = (const char *const *)to.v, .nto = to.n,
                           .cc = (const char *const *)cc.v, .ncc = cc.n, .subject = subject.data,
                           .text = text_t ? text.data : NULL, .html = html_t ? html.data : NULL,
                           .message_id = mid, .boundary = boundary,
                           .date_ms = j->env.now_secs * 1000 + j->env.now_nanos / 1000000};
  if ((rc = cf__crm_mime_build(&m, &msg, why, sizeof why))) {
    if (rc == CF_ENOMEM) cf__crm_fail_retry(o, j, -1, "email.send: %s", why);
    else cf__crm_fail_permanent(o, "email.send: %s", why);
    goto out;
  }
  size_t n = to.n + cc.n;
  rcpts = cf_calloc(n, sizeof *rcpts);
  if (!rcpts) {
    cf__crm_fail_retry(o, j, -1, "email.send: out of memory");
    goto out;
  }
  for (size_t i = 0; i < n; i++) rcpts[i] = i < to.n ? to.env[i] : cc.env[i - to.n];
  if (smtp_send(j->cfg->smtp_url, from.env[0], rcpts, n, &msg, why, sizeof why)) {
    cf__crm_fail_retry(o, j, -1, "email.send: %s", why);
    goto out;
  }
  o->kind = CF__CRM_COMPLETE;
  struct cf_feel_value id;
  cf_feel_set_null(&id);
  if (cf_feel_ctx_new(&o->vars, 1) || cf_feel_set_string(&id, mid, strlen(mid)) ||
      cf_feel_ctx_put(&o->vars, "messageId", 9, &id)) {
    /* The mail went: complete without the variable rather than send it again. */
    cf_feel_value_release(&o->vars);
  }
out:
  cf_free(rcpts);
  cf_feel_value_release(&vars);
  addrs_release(&to);
  addrs_release(&cc);
  addrs_release(&from);
  cf_buf_release(&subject);
  cf_buf_release(&text);
  cf_buf_release(&html);
  cf_buf_release(&msg);
}
