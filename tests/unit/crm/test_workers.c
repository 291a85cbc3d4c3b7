/*
 * The built-in job workers (src/crm/crm_workers.c, crm_email.c,
 * crm_http.c) in a real runtime on a temporary database, with a writer,
 * models deployed inline, and an SMTP and an HTTP server on loopback that
 * this test runs itself: what arrives there, and what the instances see
 * (variables, incidents, retries).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_json.h"
#include "crm/cf_crm.h"
#include "crm/crm_workers_int.h"
#include "runtime/cf_runtime.h"

/* ------------------------------------------------------------ a line reader over a socket */

struct conn {
  int fd;
  char buf[65536];
  size_t len;
};

/* The next line (without CRLF) into out; false at EOF. */
static bool read_line(struct conn *c, char *out, size_t outlen) {
  for (;;) {
    char *nl = memchr(c->buf, '\n', c->len);
    if (nl) {
      size_t n = (size_t)(nl - c->buf) + 1;
      size_t m = n - 1;
      if (m && c->buf[m - 1] == '\r') m--;
      if (m >= outlen) m = outlen - 1;
      memcpy(out, c->buf, m);
      out[m] = 0;
      memmove(c->buf, c->buf + n, c->len - n);
      c->len -= n;
      return true;
    }
    if (c->len == sizeof c->buf) return false;
    ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (r <= 0) return false;
    c->len += (size_t)r;
  }
}

static bool read_exact(struct conn *c, char *out, size_t n) {
  size_t got = c->len < n ? c->len : n;
  memcpy(out, c->buf, got);
  memmove(c->buf, c->buf + got, c->len - got);
  c->len -= got;
  while (got < n) {
    ssize_t r = recv(c->fd, out + got, n - got, 0);
    if (r <= 0) return false;
    got += (size_t)r;
  }
  return true;
}

static void say(int fd, const char *s) { (void)!send(fd, s, strlen(s), MSG_NOSIGNAL); }

static int listen_loopback(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(fd, 16), 0);
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  *port = ntohs(a.sin_port);
  return fd;
}

/* Accepts the next connection, or -1 when stop was set (checked every 50 ms). */
static int accept_or_stop(int lfd, const bool *stop) {
  for (;;) {
    if (__atomic_load_n(stop, __ATOMIC_ACQUIRE)) return -1;
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    if (poll(&p, 1, 50) == 1) return accept(lfd, NULL, NULL);
  }
}

/* ------------------------------------------------------------ an SMTP server */

struct mail {
  char from[256];
  char rcpts[1024]; /* "a\nb\n" */
  char *data;       /* the message, dot-stuffing undone */
};

struct smtp_srv {
  int lfd, port;
  pthread_t th;
  bool stop;
  pthread_mutex_t mu;
  struct mail mails[16];
  size_t n;
};

static void smtp_session(struct smtp_srv *s, int fd) {
  struct conn c = {.fd = fd};
  char line[4096];
  struct mail m = {0};
  say(fd, "220 test.local ESMTP\r\n");
  while (read_line(&c, line, sizeof line)) {
    if (!strncasecmp(line, "EHLO", 4) || !strncasecmp(line, "HELO", 4)) {
      say(fd, "250-test.local\r\n250 8BITMIME\r\n");
    } else if (!strncasecmp(line, "MAIL FROM:", 10)) {
      snprintf(m.from, sizeof m.from, "%.200s", line + 10);
      m.rcpts[0] = 0;
      say(fd, "250 OK\r\n");
    } else if (!strncasecmp(line, "RCPT TO:", 8)) {
      size_t l = strlen(m.rcpts);
      snprintf(m.rcpts + l, sizeof m.rcpts - l, "%.200s\n", line + 8);
      say(fd, "250 OK\r\n");
    } else if (!strncasecmp(line, "DATA", 4)) {
      say(fd, "354 go on\r\n");
      struct cf_buf b;
      cf_buf_init(&b);
      while (read_line(&c, line, sizeof line)) {
        if (!strcmp(line, ".")) break;
        cf_buf_puts(&b, line[0] == '.' ? line + 1 : line);
        cf_buf_puts(&b, "\r\n");
      }
      m.data = cf_buf_detach(&b);
      pthread_mutex_lock(&s->mu);
      if (s->n < 16) s->mails[s->n++] = m;
      else cf_free(m.data);
      pthread_mutex_unlock(&s->mu);
      memset(&m, 0, sizeof m);
      say(fd, "250 queued\r\n");
    } else if (!strncasecmp(line, "QUIT", 4)) {
      say(fd, "221 bye\r\n");
      break;
    } else if (!strncasecmp(line, "RSET", 4) || !strncasecmp(line, "NOOP", 4)) {
      say(fd, "250 OK\r\n");
    } else {
      say(fd, "502 not implemented\r\n");
    }
  }
  close(fd);
}

static void *smtp_main(void *arg) {
  struct smtp_srv *s = arg;
  int fd;
  while ((fd = accept_or_stop(s->lfd, &s->stop)) >= 0) smtp_session(s, fd);
  return NULL;
}

static void smtp_start(struct smtp_srv *s) {
  memset(s, 0, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
  s->lfd = listen_loopback(&s->port);
  assert_int_equal(pthread_create(&s->th, NULL, smtp_main, s), 0);
}

static void smtp_stop(struct smtp_srv *s) {
  __atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
  pthread_join(s->th, NULL);
  close(s->lfd);
  for (size_t i = 0; i < s->n; i++) cf_free(s->mails[i].data);
  pthread_mutex_destroy(&s->mu);
}

/* ------------------------------------------------------------ an HTTP server */

struct req {
  char method[16];
  char path[256];
  char *headers; /* the header block as received */
  char *body;
};

struct http_srv {
  int lfd, port;
  pthread_t th;
  bool stop;
  pthread_mutex_t mu;
  struct req reqs[32];
  size_t n;
  int flaky;
};

static void http_answer(int fd, int status, const char *extra_headers, const char *ctype, const char *body) {
  char head[1024];
  snprintf(head, sizeof head,
           "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", status, ctype,
           strlen(body), extra_headers);
  say(fd, head);
  say(fd, body);
}

static void http_session(struct http_srv *s, int fd) {
  struct conn c = {.fd = fd};
  char line[4096];
  struct req r = {0};
  struct cf_buf hb;
  cf_buf_init(&hb);
  if (!read_line(&c, line, sizeof line) || sscanf(line, "%15s %255s", r.method, r.path) != 2) goto out;
  size_t clen = 0;
  while (read_line(&c, line, sizeof line) && line[0]) {
    cf_buf_puts(&hb, line);
    cf_buf_puts(&hb, "\n");
    if (!strncasecmp(line, "content-length:", 15)) clen = (size_t)atol(line + 15);
  }
  r.headers = cf_buf_detach(&hb);
  r.body = cf_calloc(1, clen + 1);
  if (clen && !read_exact(&c, r.body, clen)) goto out;
  char path[256];
  snprintf(path, sizeof path, "%s", r.path);
  pthread_mutex_lock(&s->mu);
  int flaky = !strcmp(path, "/flaky") ? ++s->flaky : 0;
  if (s->n < 32) {
    s->reqs[s->n++] = r;
    r.headers = r.body = NULL;
  }
  pthread_mutex_unlock(&s->mu);
  if (!strcmp(path, "/ok")) {
    http_answer(fd, 200, "X-Test: yes\r\nX-Test: again\r\n", "application/json",
                "{\"ok\": true, \"amount\": 12.50, \"items\": [1, 2]}");
  } else if (!strcmp(path, "/flaky")) {
    if (flaky == 1) http_answer(fd, 503, "Retry-After: 1\r\n", "text/plain", "busy, come back");
    else http_answer(fd, 200, "", "text/plain; charset=utf-8", "fine");
  } else if (!strcmp(path, "/missing")) {
    http_answer(fd, 404, "", "text/plain", "no such thing here");
  } else if (!strcmp(path, "/slow")) {
    usleep(1200 * 1000);
    http_answer(fd, 200, "", "text/plain", "late");
  } else {
    http_answer(fd, 500, "", "text/plain", "unknown path");
  }
out:
  cf_buf_release(&hb);
  cf_free(r.headers);
  cf_free(r.body);
  close(fd);
}

static void *http_main(void *arg) {
  struct http_srv *s = arg;
  int fd;
  while ((fd = accept_or_stop(s->lfd, &s->stop)) >= 0) http_session(s, fd);
  return NULL;
}

static void http_start(struct http_srv *s) {
  memset(s, 0, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
  s->lfd = listen_loopback(&s->port);
  assert_int_equal(pthread_create(&s->th, NULL, http_main, s), 0);
}

static void http_stop(struct http_srv *s) {
  __atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
  pthread_join(s->th, NULL);
  close(s->lfd);
  for (size_t i = 0; i < s->n; i++) {
    cf_free(s->reqs[i].headers);
    cf_free(s->reqs[i].body);
  }
  pthread_mutex_destroy(&s->mu);
}

/* The value of a header (case-insensitive name) in a header block, into out; false when absent. */
static bool header_of(const char *block, const char *name, char *out, size_t outlen) {
  size_t nl = strlen(name);
  for (const char *p = block; p && *p;) {
    const char *e = strchr(p, '\n');
    if (!strncasecmp(p, name, nl) && p[nl] == ':') {
      const char *v = p + nl + 1;
      while (*v == ' ') v++;
      size_t n = e ? (size_t)(e - v) : strlen(v);
      if (n >= outlen) n = outlen - 1;
      memcpy(out, v, n);
      out[n] = 0;
      return true;
    }
    p = e ? e + 1 : NULL;
  }
  return false;
}

/* ------------------------------------------------------------ the fixture */

struct fx {
  char dir[64];
  char db[128];
  int64_t now; /* the runtime's clock (atomic: read by the writer) */
  struct cf_runtime *rt;
  struct cf_runtime_writer *wr;
  struct cf_crm *crm;
  struct cf_crm_workers *wk;
  struct smtp_srv smtp;
  struct http_srv http;
};

static int64_t fx_clock(void *arg) { return __atomic_load_n(&((struct fx *)arg)->now, __ATOMIC_ACQUIRE); }
static void fx_advance(struct fx *f, int64_t ms) { __atomic_fetch_add(&f->now, ms, __ATOMIC_ACQ_REL); }

static void on_batch(void *arg) {
  struct fx *f = arg;
  cf_crm_workers_notify(__atomic_load_n(&f->wk, __ATOMIC_ACQUIRE));
}

static void log_line(void *arg, const char *line) {
  (void)arg;
  if (getenv("CF_TEST_VERBOSE")) fprintf(stderr, "workers: %s\n", line);
}

static void ok(int rc, const struct cf_error *err) {
  if (rc) fprintf(stderr, "failed: %s (%s)\n", err->msg, cf_err_name(rc));
  assert_int_equal(rc, CF_OK);
}

/* A process: start -> a service task of type with inputs (target, FEEL source) and headers -> next. */
static void model(struct cf_buf *b, const char *id, const char *type, const char *const *inputs,
                  const char *const *headers, bool then_user_task) {
  cf_buf_printf(b,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<bpmn:definitions xmlns:bpmn=\"http://www.omg.org/spec/BPMN/20100524/MODEL\"\n"
                " xmlns:zeebe=\"http://camunda.org/schema/zeebe/1.0\" id=\"d_%s\" targetNamespace=\"t\">\n"
                "<bpmn:process id=\"%s\" isExecutable=\"true\">\n"
                "<bpmn:startEvent id=\"s\"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>\n"
                "<bpmn:serviceTask id=\"task\"><bpmn:extensionElements>\n"
                "<zeebe:taskDefinition type=\"%s\" retries=\"3\"/>\n",
                id, id, type);
  if (inputs && inputs[0]) {
    cf_buf_puts(b, "<zeebe:ioMapping>\n");
    for (size_t i = 0; inputs[i]; i += 2)
      cf_buf_printf(b, "<zeebe:input source=\"%s\" target=\"%s\"/>\n", inputs[i + 1], inputs[i]);
    cf_buf_puts(b, "</zeebe:ioMapping>\n");
  }
  if (headers && headers[0]) {
    cf_buf_puts(b, "<zeebe:taskHeaders>\n");
    for (size_t i = 0; headers[i]; i += 2)
      cf_buf_printf(b, "<zeebe:header key=\"%s\" value=\"%s\"/>\n", headers[i], headers[i + 1]);
    cf_buf_puts(b, "</zeebe:taskHeaders>\n");
  }
  cf_buf_puts(b, "</bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>"
                 "</bpmn:serviceTask>\n");
  if (then_user_task)
    cf_buf_puts(b, "<bpmn:userTask id=\"ut\"><bpmn:extensionElements><zeebe:userTask/>"
                   "<zeebe:assignmentDefinition assignee=\"=assignee\"/></bpmn:extensionElements>"
                   "<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>\n"
                   "<bpmn:endEvent id=\"e\"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>\n"
                   "<bpmn:sequenceFlow id=\"f3\" sourceRef=\"ut\" targetRef=\"e\"/>\n"
                   "<bpmn:sequenceFlow id=\"f2\" sourceRef=\"task\" targetRef=\"ut\"/>\n");
  else
    cf_buf_puts(b, "<bpmn:endEvent id=\"e\"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>\n"
                   "<bpmn:sequenceFlow id=\"f2\" sourceRef=\"task\" targetRef=\"e\"/>\n");
  cf_buf_puts(b, "<bpmn:sequenceFlow id=\"f1\" sourceRef=\"s\" targetRef=\"task\"/>\n</bpmn:process>\n"
                 "</bpmn:definitions>\n");
}

static void deploy_xml(struct cf_runtime *rt, const char *name, const char *xml) {
  struct cf_runtime_deployed *d = NULL;
  size_t n = 0;
  struct cf_error err;
  cf_error_clear(&err);
  ok(cf_runtime_deploy(rt, name, xml, strlen(xml), &d, &n, NULL, &err), &err);
  cf_runtime_deployed_release(d, n);
}

static void deploy(struct cf_runtime *rt, const char *id, const char *type, const char *const *inputs,
                   const char *const *headers, bool then_user_task) {
  struct cf_buf b;
  cf_buf_init(&b);
  model(&b, id, type, inputs, headers, then_user_task);
  char name[80];
  snprintf(name, sizeof name, "%s.bpmn", id);
  deploy_xml(rt, name, b.data);
  cf_buf_release(&b);
}

static void add_user(struct cf_runtime *rt, const char *name, const char *groups) {
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  struct cf_store_user u = {.name = (char *)name, .role = "agent", .groups = (char *)groups};
  struct cf_error err;
  cf_error_clear(&err);
  ok(ops->user_put(st, &u, true, &err), &err);
}

static void add_group(struct cf_runtime *rt, const char *name) {
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  struct cf_store_group g = {.name = (char *)name};
  struct cf_error err;
  cf_error_clear(&err);
  ok(ops->group_put(st, &g, true, &err), &err);
}

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/cf_wk_XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->db, sizeof f->db, "%s/t.db", f->dir);
  f->now = 1767225600000; /* 2026-01-01T00:00:00Z */
  struct cf_runtime_opts o = {.db = f->db, .clock_ms = fx_clock, .clock_arg = f, .actor = "test",
                              .store_flags = CF_STORE_FAST};
  struct cf_error err;
  cf_error_clear(&err);
  ok(cf_runtime_open(&o, &f->rt, &err), &err);
  ok(cf_crm_new(&f->crm, &err), &err);

  /* The models: templates in headers, values through input mappings. */
  const char *mail_in[] = {"to", "=customer.email", NULL};
  const char *mail_h[] = {"subject", "Votre commande {{ order.id }} est confirm\xc3\xa9" "e",
                          "text", "Hello {{customer.name}},&#10;total: {{ order.total }} EUR&#10;.&#10;bye",
                          "html", "&lt;p&gt;Hello &lt;b&gt;{{ customer.name }}&lt;/b&gt;&lt;/p&gt;",
                          "cc", "Boss &lt;boss@example.com&gt;", NULL};
  deploy(f->rt, "mail", "email.send", mail_in, mail_h, false);
  const char *bad_h[] = {"to", "ann@example.com", "subject", "x", "text", "Dear {{ nobody.name }}", NULL};
  deploy(f->rt, "mail_bad", "email.send", NULL, bad_h, false);
  const char *hook_in[] = {"body", "={orderId: order.id, total: order.total}", NULL};
  const char *hook_h[] = {"method", "post", "headers", "{&quot;X-Source&quot;: &quot;crmflow&quot;}", NULL};
  deploy(f->rt, "hook", "http.request", hook_in, hook_h, false);
  deploy(f->rt, "get", "http.request", NULL, NULL, false);
  const char *create_in[] = {"fields", "={name: who, email: mail}", NULL};
  const char *create_h[] = {"recordType", "lead", NULL};
  deploy(f->rt, "mk_lead", "crm.create-record", create_in, create_h, false);
  const char *upd_h[] = {"recordType", "lead", "fields", "{&quot;status&quot;: &quot;contacted&quot;}", NULL};
  deploy(f->rt, "upd_lead", "crm.update-record", NULL, upd_h, false);
  const char *get_h[] = {"recordType", "lead", NULL};
  deploy(f->rt, "get_lead", "crm.get-record", NULL, get_h, false);
  deploy(f->rt, "assign", "crm.assign", NULL, NULL, true);
  /* Busy work for least-busy: a user task assigned to =assignee, after a no-op assign of nobody. */
  deploy_xml(f->rt, "busy.bpmn",
             "<?xml version=\"1.0\"?><bpmn:definitions xmlns:bpmn=\"http://www.omg.org/spec/BPMN/20100524/MODEL\""
             " xmlns:zeebe=\"http://camunda.org/schema/zeebe/1.0\" id=\"d_busy\" targetNamespace=\"t\">"
             "<bpmn:process id=\"busy\" isExecutable=\"true\">"
             "<bpmn:startEvent id=\"s\"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>"
             "<bpmn:userTask id=\"ut\"><bpmn:extensionElements><zeebe:userTask/>"
             "<zeebe:assignmentDefinition assignee=\"=who\"/></bpmn:extensionElements>"
             "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>"
             "<bpmn:endEvent id=\"e\"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>"
             "<bpmn:sequenceFlow id=\"f1\" sourceRef=\"s\" targetRef=\"ut\"/>"
             "<bpmn:sequenceFlow id=\"f2\" sourceRef=\"ut\" targetRef=\"e\"/>"
             "</bpmn:process></bpmn:definitions>");
  add_group(f->rt, "sales");
  add_group(f->rt, "support");
  add_group(f->rt, "empty");
  add_user(f->rt, "cat", "[\"sales\"]");
  add_user(f->rt, "ann", "[\"sales\", \"support\"]");
  add_user(f->rt, "bob", "[\"sales\"]");
  add_user(f->rt, "dan", "[\"support\"]");

  smtp_start(&f->smtp);
  http_start(&f->http);
  struct cf_runtime_writer_opts wo = {.tick_ms = 50, .on_batch = on_batch, .batch_arg = f};
  ok(cf_runtime_writer_start(f->rt, &wo, &f->wr, &err), &err);
  char smtp_url[64];
  snprintf(smtp_url, sizeof smtp_url, "smtp://127.0.0.1:%d", f->smtp.port);
  struct cf_crm_workers_opts ko = {.writer = f->wr, .crm = f->crm, .smtp_url = smtp_url,
                                   .smtp_from = "CRM <crm@example.com>", .allow_hosts = "example.org, 127.0.0.1",
                                   .threads = 2, .log = log_line};
  struct cf_crm_workers *wk = NULL;
  ok(cf_crm_workers_start(&ko, &wk, &err), &err);
  __atomic_store_n(&f->wk, wk, __ATOMIC_RELEASE);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  struct cf_crm_workers *wk = f->wk;
  /* The workers first: they answer through the writer. */
  __atomic_store_n(&f->wk, NULL, __ATOMIC_RELEASE);
  cf_crm_workers_stop(wk);
  cf_runtime_writer_stop(f->wr);
  cf_runtime_close(f->rt);
  cf_crm_free(f->crm);
  smtp_stop(&f->smtp);
  http_stop(&f->http);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

/* ------------------------------------------------------------ driving instances */

struct start_op {
  const char *process_id;
  const char *vars;
  uint64_t key;
};

static int start_fn(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct start_op *s = arg;
  struct cf_feel_value v;
  cf_feel_set_null(&v);
  struct json_object *j = cf_json_parse(s->vars, strlen(s->vars), err);
  if (!j) return cf_error_set(err, CF_EINVAL, "bad test variables");
  cf_feel_from_json(j, &v);
  json_object_put(j);
  int rc = cf_runtime_start(rt, s->process_id, 0, &v, NULL, &s->key, err);
  cf_feel_value_release(&v);
  return rc;
}

static uint64_t start(struct fx *f, const char *process_id, const char *vars) {
  struct start_op s = {.process_id = process_id, .vars = vars};
  struct cf_error err;
  cf_error_clear(&err);
  ok(cf_runtime_writer_submit(f->wr, start_fn, &s, &err), &err);
  return s.key;
}

/* What an instance shows: its state, variables, first incident, and its job (if one is left). */
struct snap {
  uint64_t key;
  int state;
  struct json_object *vars;
  char incident[512];
  bool has_job;
  int32_t retries;
  char job_error[512];
};

static int snap_fn(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct snap *s = arg;
  const struct cf_store_ops *ops;
  struct cf_store *st;
  cf_runtime_store(rt, &ops, &st);
  struct cf_store_instance in;
  int rc = ops->instance_get(st, s->key, &in, err);
  if (rc) return rc;
  s->state = in.state;
  json_object_put(s->vars);
  s->vars = in.variables ? cf_json_parse(in.variables, strlen(in.variables), err) : NULL;
  cf_store_instance_release(&in);
  struct cf_store_incident *inc = NULL;
  size_t n = 0;
  if ((rc = ops->incident_list(st, s->key, &inc, &n, err))) return rc;
  s->incident[0] = 0;
  if (n) snprintf(s->incident, sizeof s->incident, "%s", inc[0].message ? inc[0].message : "");
  for (size_t i = 0; i < n; i++) cf_store_incident_release(&inc[i]);
  cf_free(inc);
  struct cf_store_qvalue v = {.num = (int64_t)s->key};
  struct cf_store_qcond c = {.field = "instance_key", .op = CF_STORE_EQ, .values = &v, .nvalues = 1};
  struct cf_store_query q = {.entity = CF_STORE_JOBS, .conds = &c, .nconds = 1, .limit = 10};
  struct cf_store_result res;
  memset(&res, 0, sizeof res);
  if ((rc = ops->search(st, &q, &res, err))) return rc;
  s->has_job = res.n > 0;
  s->job_error[0] = 0;
  if (res.n) {
    s->retries = res.jobs[0].retries;
    snprintf(s->job_error, sizeof s->job_error, "%s", res.jobs[0].error_message ? res.jobs[0].error_message : "");
  }
  cf_store_result_release(&res);
  return CF_OK;
}

static void snap_take(struct fx *f, struct snap *s) {
  struct cf_error err;
  cf_error_clear(&err);
  ok(cf_runtime_writer_submit(f->wr, snap_fn, s, &err), &err);
}

static void snap_release(struct snap *s) {
  json_object_put(s->vars);
  s->vars = NULL;
}

enum until { DONE, INCIDENT, JOB_ERROR, HAS_VAR };

/* Waits (10 s at most) until the instance completed, has an incident, its job failed, or has var. */
static void wait_until(struct fx *f, struct snap *s, enum until what, const char *var) {
  for (int i = 0; i < 500; i++) {
    snap_take(f, s);
    struct json_object *x;
    if ((what == DONE && s->state == CF_STORE_COMPLETED) || (what == INCIDENT && s->incident[0]) ||
        (what == JOB_ERROR && s->job_error[0]) ||
        (what == HAS_VAR && s->vars && json_object_object_get_ex(s->vars, var, &x)))
      return;
    if (what == DONE && s->incident[0]) fprintf(stderr, "incident: %s\n", s->incident);
    usleep(20000);
  }
  fprintf(stderr, "gave up waiting: state %d, incident '%s', job error '%s'\n", s->state, s->incident,
          s->job_error);
  fail();
}

static const char *var_str(struct snap *s, const char *path) {
  struct json_object *o = s->vars;
  char buf[128];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = strtok(buf, "."); p && o; p = strtok(NULL, "."))
    if (!json_object_object_get_ex(o, p, &o)) o = NULL;
  return o ? json_object_get_string(o) : NULL;
}

/* ------------------------------------------------------------ mail helpers */

static size_t mails(struct fx *f) {
  pthread_mutex_lock(&f->smtp.mu);
  size_t n = f->smtp.n;
  pthread_mutex_unlock(&f->smtp.mu);
  return n;
}

/* Quoted-printable decoded (soft breaks joined), into a new string. */
static char *qp_decode(const char *s, size_t len) {
  char *out = calloc(1, len + 1), *o = out;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '=' && i + 2 < len + 1 && s[i + 1] == '\r' && s[i + 2] == '\n') {
      i += 2;
    } else if (s[i] == '=' && i + 2 < len) {
      char hex[3] = {s[i + 1], s[i + 2], 0};
      *o++ = (char)strtol(hex, NULL, 16);
      i += 2;
    } else {
      *o++ = s[i];
    }
  }
  return out;
}

/* The decoded body of the part with the content type ctype in a message. */
static char *part_body(const char *msg, const char *ctype) {
  const char *p = strstr(msg, ctype);
  if (!p) return NULL;
  const char *start = strstr(p, "\r\n\r\n");
  assert_non_null(start);
  start += 4;
  const char *end = strstr(start, "\r\n--");
  if (!end) end = start + strlen(start);
  return qp_decode(start, (size_t)(end - start));
}

static int b64v(char c) {
  const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const char *p = strchr(t, c);
  return p && c ? (int)(p - t) : -1;
}

/* Decodes the RFC 2047 B-encoded words of a header value (folded) into out. */
static void decode_words(const char *v, char *out, size_t outlen) {
  size_t o = 0;
  while ((v = strstr(v, "=?UTF-8?B?"))) {
    v += 10;
    unsigned acc = 0;
    int bits = 0;
    for (; *v && *v != '?'; v++) {
      int x = b64v(*v);
      if (x < 0) continue;
      acc = acc << 6 | (unsigned)x;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        if (o + 1 < outlen) out[o++] = (char)(acc >> bits & 0xff);
      }
    }
  }
  out[o] = 0;
}

/* ------------------------------------------------------------ tests: email.send */

static void email_arrives_rendered(void **state) {
  struct fx *f = *state;
  struct snap s = {.key = start(f, "mail", "{\"customer\": {\"name\": \"Zo\xc3\xab <Z>\", \"email\": "
                                           "\"zoe@example.com\"}, \"order\": {\"id\": \"A-17\", \"total\": 99.90}}")};
  wait_until(f, &s, DONE, NULL);
  const char *mid = var_str(&s, "messageId");
  assert_non_null(mid);
  assert_true(mid[0] == '<' && strstr(mid, ".crmflow@") && mid[strlen(mid) - 1] == '>');
  assert_int_equal(mails(f), 1);
  struct mail *m = &f->smtp.mails[0];
  assert_string_equal(m->from, "<crm@example.com>");
  assert_non_null(strstr(m->rcpts, "<zoe@example.com>\n"));
  assert_non_null(strstr(m->rcpts, "<boss@example.com>\n"));
  /* Headers. */
  assert_non_null(strstr(m->data, "To: zoe@example.com\r\n"));
  assert_non_null(strstr(m->data, "Cc: Boss <boss@example.com>\r\n"));
  assert_non_null(strstr(m->data, "From: CRM <crm@example.com>\r\n"));
  assert_non_null(strstr(m->data, "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"));
  char line[256];
  snprintf(line, sizeof line, "Message-ID: %s\r\n", mid);
  assert_non_null(strstr(m->data, line));
  /* The Message-ID is made of the job key. */
  assert_true(mid[1] >= '1' && mid[1] <= '9');
  assert_non_null(strstr(m->data, "MIME-Version: 1.0\r\n"));
  assert_non_null(strstr(m->data, "Content-Type: multipart/alternative; boundary="));
  const char *subj = strstr(m->data, "Subject: ");
  assert_non_null(subj);
  const char *subj_end = strstr(subj, "\r\nDate:");
  char raw[512], decoded[256];
  snprintf(raw, sizeof raw, "%.*s", (int)(subj_end - subj), subj);
  assert_non_null(strstr(raw, "=?UTF-8?B?"));
  decode_words(raw, decoded, sizeof decoded);
  assert_string_equal(decoded, "Votre commande A-17 est confirm\xc3\xa9" "e");
  /* Bodies: rendered, the HTML with the value escaped; a line with a lone dot survives the SMTP transfer. */
  char *text = part_body(m->data, "Content-Type: text/plain; charset=UTF-8");
  char *html = part_body(m->data, "Content-Type: text/html; charset=UTF-8");
  assert_non_null(text);
  assert_non_null(html);
  assert_string_equal(text, "Hello Zo\xc3\xab <Z>,\r\ntotal: 99.9 EUR\r\n.\r\nbye");
  assert_string_equal(html, "<p>Hello <b>Zo\xc3\xab &lt;Z&gt;</b></p>");
  /* Quoted-printable lines stay within 76 characters. */
  for (const char *p = m->data; *p;) {
    const char *e = strstr(p, "\r\n");
    if (!e) break;
    assert_true(e - p <= 76);
    p = e + 2;
  }
  free(text);
  free(html);
  snap_release(&s);
}

static void email_template_error_is_an_incident(void **state) {
  struct fx *f = *state;
  size_t before = mails(f);
  struct snap s = {.key = start(f, "mail_bad", "{}")};
  wait_until(f, &s, INCIDENT, NULL);
  assert_non_null(strstr(s.incident, "{{ nobody.name }}"));
  assert_non_null(strstr(s.incident, "text"));
  assert_int_equal(s.retries, 0);
  assert_int_equal(mails(f), before); /* nothing was sent */
  snap_release(&s);
}

/* ------------------------------------------------------------ tests: http.request */

static const struct req *last_req(struct fx *f) {
  pthread_mutex_lock(&f->http.mu);
  const struct req *r = f->http.n ? &f->http.reqs[f->http.n - 1] : NULL;
  pthread_mutex_unlock(&f->http.mu);
  return r;
}

static size_t reqs(struct fx *f) {
  pthread_mutex_lock(&f->http.mu);
  size_t n = f->http.n;
  pthread_mutex_unlock(&f->http.mu);
  return n;
}

static void http_json_roundtrip(void **state) {
  struct fx *f = *state;
  char vars[256];
  snprintf(vars, sizeof vars, "{\"url\": \"http://127.0.0.1:%d/ok\", \"order\": {\"id\": \"A-1\", \"total\": 19.99}}",
           f->http.port);
  struct snap s = {.key = start(f, "hook", vars)};
  wait_until(f, &s, DONE, NULL);
  const struct req *r = last_req(f);
  assert_non_null(r);
  assert_string_equal(r->method, "POST");
  assert_string_equal(r->path, "/ok");
  char v[128];
  assert_true(header_of(r->headers, "Content-Type", v, sizeof v));
  assert_string_equal(v, "application/json");
  assert_true(header_of(r->headers, "X-Source", v, sizeof v));
  assert_string_equal(v, "crmflow");
  /* The idempotency key is the job's key. */
  assert_true(header_of(r->headers, "Idempotency-Key", v, sizeof v));
  assert_true(v[0] >= '1' && v[0] <= '9');
  /* The body: JSON from the FEEL input mapping, numbers exact. */
  struct cf_error err;
  struct json_object *b = cf_json_parse(r->body, strlen(r->body), &err);
  assert_non_null(b);
  struct json_object *x;
  assert_true(json_object_object_get_ex(b, "orderId", &x));
  assert_string_equal(json_object_get_string(x), "A-1");
  assert_true(json_object_object_get_ex(b, "total", &x));
  assert_string_equal(cf_json_number_text(x), "19.99");
  json_object_put(b);
  /* The response: status, lower-case headers (repeated ones joined), the JSON body parsed. */
  assert_string_equal(var_str(&s, "response.status"), "200");
  assert_string_equal(var_str(&s, "response.headers.x-test"), "yes, again");
  assert_string_equal(var_str(&s, "response.headers.content-type"), "application/json");
  assert_string_equal(var_str(&s, "response.body.ok"), "true");
  struct json_object *resp, *body, *amount;
  assert_true(json_object_object_get_ex(s.vars, "response", &resp));
  assert_true(json_object_object_get_ex(resp, "body", &body));
  assert_true(json_object_object_get_ex(body, "amount", &amount));
  assert_string_equal(cf_json_number_text(amount), "12.5");
  snap_release(&s);
}

static void http_503_then_200_retries(void **state) {
  struct fx *f = *state;
  char vars[160];
  snprintf(vars, sizeof vars, "{\"url\": \"http://127.0.0.1:%d/flaky\", \"order\": {\"id\": \"B\", \"total\": 1}}",
           f->http.port);
  size_t before = reqs(f);
  struct snap s = {.key = start(f, "hook", vars)};
  wait_until(f, &s, JOB_ERROR, NULL);
  assert_non_null(strstr(s.job_error, "503"));
  assert_non_null(strstr(s.job_error, "busy, come back"));
  assert_int_equal(s.retries, 2);
  assert_false(s.incident[0]);
  /* Retry-After: 1: not before a second has passed on the runtime's clock. */
  usleep(700 * 1000);
  assert_int_equal(reqs(f), before + 1);
  fx_advance(f, 1500);
  wait_until(f, &s, DONE, NULL);
  assert_int_equal(reqs(f), before + 2);
  char k1[64], k2[64];
  assert_true(header_of(f->http.reqs[before].headers, "Idempotency-Key", k1, sizeof k1));
  assert_true(header_of(f->http.reqs[before + 1].headers, "Idempotency-Key", k2, sizeof k2));
  assert_string_equal(k1, k2);
  assert_string_equal(var_str(&s, "response.status"), "200");
  assert_string_equal(var_str(&s, "response.body"), "fine");
  snap_release(&s);
}

static void http_404_is_an_incident_at_once(void **state) {
  struct fx *f = *state;
  char vars[160];
  snprintf(vars, sizeof vars, "{\"url\": \"http://127.0.0.1:%d/missing\", \"order\": {\"id\": \"C\", \"total\": 1}}",
           f->http.port);
  size_t before = reqs(f);
  struct snap s = {.key = start(f, "hook", vars)};
  wait_until(f, &s, INCIDENT, NULL);
  assert_non_null(strstr(s.incident, "404"));
  assert_non_null(strstr(s.incident, "no such thing here"));
  assert_int_equal(s.retries, 0);
  assert_int_equal(reqs(f), before + 1);
  snap_release(&s);
}

static void http_host_not_allowed(void **state) {
  struct fx *f = *state;
  char vars[160];
  /* localhost is loopback too, but only 127.0.0.1 is listed. */
  snprintf(vars, sizeof vars, "{\"url\": \"http://localhost:%d/ok\"}", f->http.port);
  size_t before = reqs(f);
  struct snap s = {.key = start(f, "get", vars)};
  wait_until(f, &s, INCIDENT, NULL);
  assert_non_null(strstr(s.incident, "host localhost is not in --allow-hosts"));
  assert_int_equal(reqs(f), before);
  snap_release(&s);
}

static void http_timeout_retries(void **state) {
  struct fx *f = *state;
  char vars[160];
  snprintf(vars, sizeof vars, "{\"url\": \"http://127.0.0.1:%d/slow\", \"timeout\": \"PT0.3S\"}", f->http.port);
  struct snap s = {.key = start(f, "get", vars)};
  wait_until(f, &s, JOB_ERROR, NULL);
  assert_non_null(strstr(s.job_error, "timed out after 300 ms"));
  assert_int_equal(s.retries, 2);
  assert_false(s.incident[0]);
  snap_release(&s);
}

/* ------------------------------------------------------------ tests: crm.* */

static void crm_records_create_update_get(void **state) {
  struct fx *f = *state;
  struct snap s = {.key = start(f, "mk_lead", "{\"who\": \"Ada Lovelace\", \"mail\": \"ADA@example.com\"}")};
  wait_until(f, &s, DONE, NULL);
  const char *key = var_str(&s, "recordKey");
  assert_non_null(key);
  char vars[128];
  snprintf(vars, sizeof vars, "{\"recordKey\": \"%s\"}", key);
  snap_release(&s);

  struct snap u = {.key = start(f, "upd_lead", vars)};
  wait_until(f, &u, DONE, NULL);
  snap_release(&u);

  struct snap g = {.key = start(f, "get_lead", vars)};
  wait_until(f, &g, DONE, NULL);
  assert_string_equal(var_str(&g, "record.type"), "lead");
  assert_string_equal(var_str(&g, "record.fields.name"), "Ada Lovelace");
  assert_string_equal(var_str(&g, "record.fields.status"), "contacted");
  assert_string_equal(var_str(&g, "record.version"), "2");
  snap_release(&g);

  /* A record that does not exist: an incident naming it. */
  struct snap m = {.key = start(f, "get_lead", "{\"recordKey\": \"999999\"}")};
  wait_until(f, &m, INCIDENT, NULL);
  assert_non_null(strstr(m.incident, "999999"));
  snap_release(&m);
  /* A field that fails validation: an incident, no record. */
  struct snap v = {.key = start(f, "mk_lead", "{\"who\": null, \"mail\": \"x@example.com\"}")};
  wait_until(f, &v, INCIDENT, NULL);
  assert_non_null(strstr(v.incident, "crm.create-record"));
  snap_release(&v);
}

static const char *assign_one(struct fx *f, const char *group, const char *strategy, char *out, size_t outlen) {
  char vars[128];
  snprintf(vars, sizeof vars, "{\"group\": \"%s\", \"strategy\": \"%s\"}", group, strategy);
  struct snap s = {.key = start(f, "assign", vars)};
  wait_until(f, &s, HAS_VAR, "assignee");
  snprintf(out, outlen, "%s", var_str(&s, "assignee"));
  snap_release(&s);
  return out;
}

static void crm_assign_round_robin(void **state) {
  struct fx *f = *state;
  char who[32];
  const char *want[] = {"ann", "bob", "cat", "ann", "bob"};
  for (size_t i = 0; i < 5; i++) assert_string_equal(assign_one(f, "sales", "round-robin", who, sizeof who), want[i]);
  /* Another group keeps its own position. */
  assert_string_equal(assign_one(f, "support", "round-robin", who, sizeof who), "ann");
  assert_string_equal(assign_one(f, "support", "round-robin", who, sizeof who), "dan");
  /* A group without users: an incident naming it. */
  struct snap s = {.key = start(f, "assign", "{\"group\": \"empty\"}")};
  wait_until(f, &s, INCIDENT, NULL);
  assert_non_null(strstr(s.incident, "'empty'"));
  snap_release(&s);
}

static void crm_assign_least_busy(void **state) {
  struct fx *f = *state;
  /* Open tasks: ann 2, bob 1, cat 0 (and one completed task would not count). */
  const char *busy[] = {"ann", "ann", "bob"};
  for (size_t i = 0; i < 3; i++) {
    char vars[64];
    snprintf(vars, sizeof vars, "{\"who\": \"%s\"}", busy[i]);
    start(f, "busy", vars);
  }
  char who[32];
  assert_string_equal(assign_one(f, "sales", "least-busy", who, sizeof who), "cat");
  /* Now bob and cat have one each: the first by name. */
  assert_string_equal(assign_one(f, "sales", "least-busy", who, sizeof who), "bob");
  assert_string_equal(assign_one(f, "sales", "least-busy", who, sizeof who), "cat");
}

/* ------------------------------------------------------------ pure parts */

static void host_allow_list(void **state) {
  (void)state;
  assert_true(cf__crm_host_allowed("example.org, 127.0.0.1", "127.0.0.1"));
  assert_true(cf__crm_host_allowed("example.org,127.0.0.1", "EXAMPLE.org"));
  assert_true(cf__crm_host_allowed("[::1]", "[::1]"));
  assert_true(cf__crm_host_allowed("::1", "[::1]"));
  assert_false(cf__crm_host_allowed("example.org", "api.example.org"));
  assert_false(cf__crm_host_allowed("example.org", "localhost"));
  assert_false(cf__crm_host_allowed(NULL, "example.org"));
  assert_false(cf__crm_host_allowed("", "example.org"));
}

static void mail_addresses(void **state) {
  (void)state;
  char a[64];
  assert_true(cf__crm_mail_addr("ann@example.com", a, sizeof a));
  assert_string_equal(a, "ann@example.com");
  assert_true(cf__crm_mail_addr("\"Doe, Ann\" <ann@example.com>", a, sizeof a));
  assert_string_equal(a, "ann@example.com");
  assert_false(cf__crm_mail_addr("ann", a, sizeof a));
  assert_false(cf__crm_mail_addr("ann@example.com>\r\nBcc: x@y", a, sizeof a));
  assert_false(cf__crm_mail_addr("a b@example.com", a, sizeof a));
}

static void mime_single_part(void **state) {
  (void)state;
  const char *to[] = {"\xc3\x85sa <asa@example.com>"};
  struct cf__crm_mail m = {.from = "crm@example.com", .to = to, .nto = 1, .subject = "plain",
                           .text = "caf\xc3\xa9 = 1 \n", .message_id = "<1.crmflow@h>", .date_ms = 0,
                           .boundary = "=_b"};
  struct cf_buf b;
  cf_buf_init(&b);
  char why[128];
  assert_int_equal(cf__crm_mime_build(&m, &b, why, sizeof why), CF_OK);
  assert_non_null(strstr(b.data, "To: =?UTF-8?B?w4VzYQ==?= <asa@example.com>\r\n"));
  assert_non_null(strstr(b.data, "Subject: plain\r\n"));
  assert_non_null(strstr(b.data, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
  assert_non_null(strstr(b.data, "Content-Type: text/plain; charset=UTF-8\r\n"));
  assert_null(strstr(b.data, "multipart"));
  /* '=' and the trailing space encoded, the é as two bytes. */
  assert_non_null(strstr(b.data, "\r\n\r\ncaf=C3=A9 =3D 1=20\r\n"));
  cf_buf_release(&b);
  /* A line break in a header value is refused (header injection). */
  m.subject = "hi\r\nBcc: x@example.com";
  cf_buf_init(&b);
  assert_int_equal(cf__crm_mime_build(&m, &b, why, sizeof why), CF_EINVAL);
  assert_non_null(strstr(why, "subject"));
  cf_buf_release(&b);
}

static void no_smtp_is_an_incident(void **state) {
  struct fx *f = *state;
  /* Workers of another process without --smtp: stop ours, start those. */
  struct cf_crm_workers *wk = f->wk;
  __atomic_store_n(&f->wk, NULL, __ATOMIC_RELEASE);
  cf_crm_workers_stop(wk);
  struct cf_crm_workers_opts ko = {.writer = f->wr, .crm = f->crm, .threads = 1, .log = log_line};
  struct cf_error err;
  cf_error_clear(&err);
  ok(cf_crm_workers_start(&ko, &wk, &err), &err);
  __atomic_store_n(&f->wk, wk, __ATOMIC_RELEASE);
  struct snap s = {.key = start(f, "mail_bad", "{}")};
  wait_until(f, &s, INCIDENT, NULL);
  assert_non_null(strstr(s.incident, "no SMTP server is configured"));
  snap_release(&s);
}

/* Idle workers poll a couple of times a second; their own empty activations must not wake them again. */
static void idle_workers_do_not_spin(void **state) {
  struct fx *f = *state;
  usleep(300 * 1000);
  struct cf_runtime_writer_stats a, b;
  cf_runtime_writer_stats(f->wr, &a);
  usleep(1000 * 1000);
  cf_runtime_writer_stats(f->wr, &b);
  /* Two threads, one activation every 500 ms each: about 4 batches. */
  assert_true(b.batches - a.batches <= 8);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(host_allow_list),
      cmocka_unit_test(mail_addresses),
      cmocka_unit_test(mime_single_part),
      cmocka_unit_test_setup_teardown(idle_workers_do_not_spin, setup, teardown),
      cmocka_unit_test_setup_teardown(email_arrives_rendered, setup, teardown),
      cmocka_unit_test_setup_teardown(email_template_error_is_an_incident, setup, teardown),
      cmocka_unit_test_setup_teardown(no_smtp_is_an_incident, setup, teardown),
      cmocka_unit_test_setup_teardown(http_json_roundtrip, setup, teardown),
      cmocka_unit_test_setup_teardown(http_503_then_200_retries, setup, teardown),
      cmocka_unit_test_setup_teardown(http_404_is_an_incident_at_once, setup, teardown),
      cmocka_unit_test_setup_teardown(http_host_not_allowed, setup, teardown),
      cmocka_unit_test_setup_teardown(http_timeout_retries, setup, teardown),
      cmocka_unit_test_setup_teardown(crm_records_create_update_get, setup, teardown),
      cmocka_unit_test_setup_teardown(crm_assign_round_robin, setup, teardown),
      cmocka_unit_test_setup_teardown(crm_assign_least_busy, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
