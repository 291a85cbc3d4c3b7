/*
 * The HTTP layer (cf_http.h) on libmicrohttpd: an internal thread pool
 * with epoll. A request's body is collected in its connection's state up to
 * max_body (past it: 413 at once); then the API layer answers, and the
 * answer goes out with its status and content type. One line per request
 * is logged: method, path, status, milliseconds (never a body or header).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "http/cf_http.h"

struct cf_http {
  struct MHD_Daemon *d;
  struct cf_api *api;
  size_t max_body;
  void (*log)(void *arg, const char *line);
  void *log_arg;
};

/* What a connection holds while its request's body arrives. */
struct pending {
  struct cf_buf body;
  bool too_large;
  struct timespec t0;
};

static double ms_since(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static void log_line(struct cf_http *h, const char *method, const char *url, int status, double ms) {
  char line[600];
  snprintf(line, sizeof line, "%s %.400s %d %.1fms", method, url, status, ms);
  if (h->log) h->log(h->log_arg, line);
  else fprintf(stderr, "crmflow: http: %s\n", line);
}

static enum MHD_Result respond(struct MHD_Connection *c, int status, const char *type, const char *body,
                               size_t len, const char *allow) {
  struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  if (allow && *allow) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
  enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
  MHD_destroy_response(r);
  return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **state) {
  (void)version;
  struct cf_http *h = cls;
  struct pending *p = *state;
  if (!p) {
    /* First call: headers only. */
    if (!(p = cf_calloc(1, sizeof *p))) return MHD_NO;
    cf_buf_init(&p->body);
    clock_gettime(CLOCK_MONOTONIC, &p->t0);
    *state = p;
    return MHD_YES;
  }
  if (*upload_size) {
    if (p->too_large || p->body.len + *upload_size > h->max_body) p->too_large = true;
    else cf_buf_append(&p->body, upload, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  int status;
  enum MHD_Result ok;
  if (p->too_large || p->body.oom) {
    char body[200];
    status = p->too_large ? 413 : 500;
    snprintf(body, sizeof body,
             "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%d,\"detail\":\"%s\"}",
             p->too_large ? "Payload Too Large" : "Internal Server Error", status,
             p->too_large ? "the request body is larger than the server takes" : "out of memory");
    ok = respond(c, status, "application/problem+json", body, strlen(body), NULL);
  } else {
    struct cf_api_request req = {.method = method, .path = url, .body = p->body.data, .body_len = p->body.len};
    struct cf_api_response res;
    cf_api_response_init(&res);
    cf_api_handle(h->api, &req, &res, NULL, NULL);
    status = res.status;
    ok = respond(c, status, res.content_type, res.body.data ? res.body.data : "", res.body.len, res.allow);
    cf_api_response_release(&res);
  }
  log_line(h, method, url, status, ms_since(&p->t0));
  return ok;
}

static void on_done(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode why) {
  (void)cls;
  (void)c;
  (void)why;
  struct pending *p = *state;
  if (!p) return;
  cf_buf_release(&p->body);
  cf_free(p);
  *state = NULL;
}

int cf_http_start(const struct cf_http_opts *o, struct cf_api *api, struct cf_http **out, struct cf_error *err) {
  *out = NULL;
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)o->port);
  const char *host = o->host && strcmp(o->host, "localhost") ? o->host : "127.0.0.1";
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
    return cf_error_set(err, CF_EINVAL, "cannot listen on %s: not an IPv4 address", o->host ? o->host : "");
  struct cf_http *h = cf_calloc(1, sizeof *h);
  if (!h) return cf_error_set(err, CF_ENOMEM, "out of memory");
  h->api = api;
  h->max_body = o->max_body ? o->max_body : 16u << 20;
  h->log = o->log;
  h->log_arg = o->log_arg;
  unsigned threads = o->threads ? o->threads : 2;
  errno = 0;
  h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG,
                          (uint16_t)o->port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, &addr,
                          MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED, on_done, h,
                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
  if (!h->d) {
    int e = errno;
    cf_free(h);
    return cf_error_set(err, CF_EIO, "cannot listen on %s:%d%s%s", host, o->port, e ? ": " : "",
                        e ? strerror(e) : " (is another server on that port?)");
  }
  *out = h;
  return CF_OK;
}

void cf_http_stop(struct cf_http *h) {
  if (!h) return;
  MHD_stop_daemon(h->d);
  cf_free(h);
}
