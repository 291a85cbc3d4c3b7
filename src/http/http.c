/*
 * The HTTP layer (cf_http.h) on libmicrohttpd 0.9.75: an internal thread
 * pool with epoll, and suspend/resume for the answers that come later.
 *
 * A request's state (struct req) is made at the first call of the access
 * handler (headers only), collects the body up to max_body, and is handed
 * to the API at the last call. When the API answers later, the connection
 * is suspended; the API's done callback (on the writer's thread) resumes
 * it, MHD calls the handler again, and the filled response is queued.
 *
 * The race: done may come (on another thread) before the handler has
 * suspended, even before cf_api_handle returns. So both sides decide under
 * the request's mutex: the handler suspends only when done has not arrived
 * yet (else it answers at once), and done resumes only what the handler did
 * suspend. Resume is called with the mutex held, so a connection is never
 * left suspended by a done that was about to resume it (MHD_stop_daemon
 * must not meet a suspended connection).
 *
 * Lifetime: the state is counted, one reference for MHD (dropped by the
 * completion callback) and one for the API while it holds the request
 * (dropped when cf_api_handle answers at once, or in done). MHD does not
 * time out a suspended connection, nor notice its client leaving, so the
 * completion callback never comes while the API holds the state; but after
 * a forced resume at shutdown it may, and the API's reference keeps *res
 * valid until done.
 *
 * Lock order: a request's mutex, then MHD's own (suspend, resume). The
 * server's mutex (the list of requests) is never held while calling MHD.
 *
 * One line per request is logged: method, path (MHD has already cut off the
 * query, which may carry secrets), status, milliseconds; never a header or
 * a body.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <microhttpd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "http/cf_http.h"

/* How long cf_http_stop waits for the requests the API holds, and then for the forced answers. */
#define DRAIN_MS 10000
#define FORCED_MS 1000
/* A body found too large while read is still read to its end (for the 413) up to this much at least. */
#define DISCARD_MIN (1u << 20)

struct req;

struct cf_http {
  struct MHD_Daemon *d;
  struct cf_api *api;
  size_t max_body;
  double upload_ms;
  void (*log)(void *arg, const char *line);
  void *log_arg;
  pthread_mutex_t mu; /* the list, busy */
  pthread_cond_t idle; /* busy went down */
  struct req *head;    /* every request MHD holds (first call to completion) */
  size_t busy;         /* of those, handed to the API */
  atomic_bool stopping; /* responses then say Connection: close */
  char *ui_dir;         /* the web UI's files, or NULL */
};

/* One request, from its headers to its completion (and to the API's done). */
struct req {
  atomic_int refs;    /* MHD's, and the API's while it holds the request */
  pthread_mutex_t mu; /* handed..forced: the suspend/resume hand-over */
  struct cf_http *h;
  struct MHD_Connection *c;
  int fd;             /* the connection's socket (valid while the connection is suspended) */
  struct req *prev, *next; /* in h->head, under h->mu */
  char method[16];
  char *path;
  struct timespec t0;
  double started;
  char *authorization, *content_type, *query, *cookie, *csrf;
  struct cf_buf body;
  size_t discarded;  /* bytes past max_body, read and dropped */
  bool too_large;
  bool answered;     /* a response was queued (logged then) */
  bool handed;       /* given to the API (counted in h->busy) */
  bool done_arrived; /* the API's done was called: res is filled */
  bool suspended;    /* the handler suspended the connection, nobody resumed it yet */
  bool forced;       /* resumed by the shutdown without an answer: 503 */
  struct cf_api_response res;
};

static double ms_since(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static void log_line(struct cf_http *h, const char *method, const char *path, int status, double ms,
                     const char *note) {
  char line[600];
  if (status)
    snprintf(line, sizeof line, "%s %.400s %d %.1fms%s", method, path ? path : "", status, ms, note);
  else
    snprintf(line, sizeof line, "%s %.400s - %.1fms%s", method, path ? path : "", ms, note);
  if (h->log) h->log(h->log_arg, line);
  else fprintf(stderr, "crmflow: http: %s\n", line);
}

/* libmicrohttpd's own messages (a refused connection, a closed one...) go to the same log. */
static void mhd_log(void *arg, const char *fmt, va_list ap) {
  struct cf_http *h = arg;
  char msg[400], line[440];
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
  snprintf(line, sizeof line, "libmicrohttpd: %s", msg);
  if (h->log) h->log(h->log_arg, line);
  else fprintf(stderr, "crmflow: http: %s\n", line);
}

/* ------------------------------------------------------------ request state */

static void req_unref(struct req *r) {
  if (atomic_fetch_sub(&r->refs, 1) != 1) return;
  pthread_mutex_destroy(&r->mu);
  cf_free(r->path);
  cf_free(r->authorization);
  cf_free(r->content_type);
  cf_free(r->cookie);
  cf_free(r->csrf);
  cf_free(r->query);
  cf_buf_release(&r->body);
  cf_api_response_release(&r->res);
  cf_free(r);
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  (void)kind;
  struct cf_buf *b = cls;
  if (b->len) cf_buf_putc(b, '&');
  cf_buf_puts(b, key ? key : "");
  if (value) {
    cf_buf_putc(b, '=');
    cf_buf_puts(b, value);
  }
  return MHD_YES;
}

static char *header_dup(struct MHD_Connection *c, const char *name, bool *oom) {
  const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
  if (!v) return NULL;
  char *s = cf_strdup(v);
  if (!s) *oom = true;
  return s;
}

/* A new request's state, listed in h; NULL when memory ran out. */
static struct req *req_new(struct cf_http *h, struct MHD_Connection *c, const char *method, const char *url) {
  struct req *r = cf_calloc(1, sizeof *r);
  if (!r) return NULL;
  atomic_init(&r->refs, 1);
  pthread_mutex_init(&r->mu, NULL);
  r->h = h;
  r->c = c;
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
  r->fd = ci ? ci->connect_fd : -1;
  clock_gettime(CLOCK_MONOTONIC, &r->t0);
  r->started = (double)r->t0.tv_sec + (double)r->t0.tv_nsec / 1e9;
  snprintf(r->method, sizeof r->method, "%s", method);
  cf_buf_init(&r->body);
  cf_api_response_init(&r->res);
  bool oom = !(r->path = cf_strdup(url));
  r->authorization = header_dup(c, MHD_HTTP_HEADER_AUTHORIZATION, &oom);
  r->content_type = header_dup(c, MHD_HTTP_HEADER_CONTENT_TYPE, &oom);
  r->cookie = header_dup(c, MHD_HTTP_HEADER_COOKIE, &oom);
  r->csrf = header_dup(c, "X-CSRF-Token", &oom);
  struct cf_buf q;
  cf_buf_init(&q);
  MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &q);
  if (q.oom) oom = true;
  else if (q.len) r->query = cf_buf_detach(&q);
  cf_buf_release(&q);
  if (oom) {
    req_unref(r);
    return NULL;
  }
  pthread_mutex_lock(&h->mu);
  r->next = h->head;
  if (h->head) h->head->prev = r;
  h->head = r;
  pthread_mutex_unlock(&h->mu);
  return r;
}

/* ------------------------------------------------------------ answers */

static enum MHD_Result respond(struct cf_http *h, struct req *r, const struct cf_api_response *res,
                               const char *note) {
  int status = res->status;
  bool no_body = status == 204 || status == 304;
  size_t len = no_body ? 0 : res->body.len;
  struct MHD_Response *m =
      MHD_create_response_from_buffer(len, len ? (void *)res->body.data : (void *)"", MHD_RESPMEM_MUST_COPY);
  if (!m) return MHD_NO;
  if (!no_body && res->content_type) MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
  if (res->allow[0]) MHD_add_response_header(m, MHD_HTTP_HEADER_ALLOW, res->allow);
  if (res->www_authenticate) MHD_add_response_header(m, MHD_HTTP_HEADER_WWW_AUTHENTICATE, res->www_authenticate);
  if (res->cache_control) MHD_add_response_header(m, MHD_HTTP_HEADER_CACHE_CONTROL, res->cache_control);
  if (res->set_cookie[0]) MHD_add_response_header(m, MHD_HTTP_HEADER_SET_COOKIE, res->set_cookie);
  /* A keep-alive client is told to go: the server is stopping. */
  if (atomic_load(&h->stopping)) MHD_add_response_header(m, MHD_HTTP_HEADER_CONNECTION, "close");
  enum MHD_Result ok = MHD_queue_response(r->c, (unsigned)status, m);
  MHD_destroy_response(m);
  r->answered = true;
  log_line(h, r->method, r->path, status, ms_since(&r->t0), note);
  return ok;
}

/* An answer of the HTTP layer's own (413, 500, 503), as problem+json. */
static enum MHD_Result respond_problem(struct cf_http *h, struct req *r, int status, const char *title,
                                       const char *detail) {
  struct cf_api_response res;
  cf_api_response_init(&res);
  cf_api_problem(&res, status, title, detail, r->path);
  enum MHD_Result ok = res.body.oom ? MHD_NO : respond(h, r, &res, "");
  cf_api_response_release(&res);
  return ok;
}

static enum MHD_Result respond_too_large(struct cf_http *h, struct req *r) {
  char detail[128];
  snprintf(detail, sizeof detail, "the request body is larger than the server takes (%zu bytes)", h->max_body);
  return respond_problem(h, r, 413, "PAYLOAD_TOO_LARGE", detail);
}

/* The API's done: on its thread (the writer's), once r->res is filled. */
static void on_api_done(void *arg) {
  struct req *r = arg;
  pthread_mutex_lock(&r->mu);
  r->done_arrived = true;
  if (r->suspended) {
    r->suspended = false;
    MHD_resume_connection(r->c); /* MHD calls the handler again, which answers */
  }
  pthread_mutex_unlock(&r->mu);
  req_unref(r); /* the API's reference */
}

enum wait { READY, SUSPENDED, FORCED };

/* Suspends r's connection until done, unless done came already (READY: r->res is filled) or the server
 * is stopping and gave up on the API (FORCED). */
static enum wait wait_for_api(struct req *r) {
  enum wait w = SUSPENDED;
  pthread_mutex_lock(&r->mu);
  if (r->done_arrived) w = READY;
  else if (r->forced) w = FORCED;
  else if (!r->suspended) {
    MHD_suspend_connection(r->c);
    r->suspended = true;
  }
  pthread_mutex_unlock(&r->mu);
  return w;
}

/* Answers r as wait_for_api found it. */
static enum MHD_Result answer(struct cf_http *h, struct req *r) {
  switch (wait_for_api(r)) {
  case READY:
    return respond(h, r, &r->res, "");
  case FORCED: /* r->res may still be written by the API: answer from a response of our own */
    return respond_problem(h, r, 503, "UNAVAILABLE", "the server is stopping");
  case SUSPENDED:
    break;
  }
  return MHD_YES;
}

/*
 * Whether the client of a waiting request has gone. libmicrohttpd does not watch a suspended
 * connection, so a long poll whose client left would otherwise take jobs for nobody until its
 * timeout. Only while suspended: then MHD neither reads nor closes the socket, so peeking at it is
 * safe. End of file or a reset means gone; pending bytes (a pipelined request) or none mean here.
 */
static bool client_gone(void *arg) {
  struct req *r = arg;
  bool gone = false;
  pthread_mutex_lock(&r->mu);
  if (r->suspended && !r->done_arrived && r->fd >= 0) {
    char b;
    ssize_t n = recv(r->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    gone = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  }
  pthread_mutex_unlock(&r->mu);
  return gone;
}

/* The last call of a request (its body complete): hand it to the API. */
static enum MHD_Result hand_over(struct cf_http *h, struct req *r) {
  if (r->too_large) return respond_too_large(h, r);
  if (r->body.oom) return respond_problem(h, r, 500, "INTERNAL", "out of memory");
  pthread_mutex_lock(&h->mu);
  r->handed = true;
  h->busy++;
  pthread_mutex_unlock(&h->mu);
  struct cf_api_request q = {.method = r->method,
                             .path = r->path,
                             .query = r->query,
                             .body = r->body.data,
                             .body_len = r->body.len,
                             .authorization = r->authorization,
                             .content_type = r->content_type,
                             .cookie = r->cookie,
                             .csrf = r->csrf,
                             .started = r->started,
                             .gone = client_gone,
                             .gone_arg = r};
  atomic_fetch_add(&r->refs, 1); /* the API's */
  if (cf_api_handle(h->api, &q, &r->res, on_api_done, r)) {
    req_unref(r); /* answered now: done will not be called; MHD's reference remains */
    return respond(h, r, &r->res, "");
  }
  /* The body is no longer needed (the API copied what it needs). */
  cf_buf_release(&r->body);
  return answer(h, r);
}

/* ------------------------------------------------------------ the web UI's files */

static bool is_api_path(const char *url) {
  return !strncmp(url, "/v2/", 4) || !strcmp(url, "/v2") || !strcmp(url, "/healthz") || !strcmp(url, "/metrics");
}

static const char *mime_of(const char *path) {
  static const struct {
    const char *ext, *type;
  } types[] = {{".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
               {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
               {".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
               {".ico", "image/x-icon"}, {".woff2", "font/woff2"}, {".woff", "font/woff"},
               {".txt", "text/plain; charset=utf-8"}, {".map", "application/json"}};
  const char *dot = strrchr(path, '.');
  for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
    if (!strcmp(dot, types[i].ext)) return types[i].type;
  return "application/octet-stream";
}

/*
 * Serves a file of the UI. Names are checked, never resolved past the folder: no "..", no
 * backslash, no NUL. Hashed assets (/assets/...) are cached for a year (immutable: a new build has
 * new names); index.html is revalidated each time, so a new build is seen at once.
 */
static enum MHD_Result serve_static(struct cf_http *h, struct req *r, const char *url) {
  char path[1024];
  const char *rel = url[0] == '/' ? url + 1 : url;
  bool bad = strstr(rel, "..") || strchr(rel, '\\') || strlen(rel) > 512;
  const char *file = !*rel ? "index.html" : rel;
  int fd = -1;
  struct stat sb;
  if (!bad) {
    snprintf(path, sizeof path, "%s/%s", h->ui_dir, file);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && (fstat(fd, &sb) || !S_ISREG(sb.st_mode))) {
      close(fd);
      fd = -1;
    }
    /* A route of the UI (no extension): the app itself. */
    const char *slash = strrchr(file, '/'), *dot = strrchr(file, '.');
    if (fd < 0 && (!dot || (slash && dot < slash))) {
      file = "index.html";
      snprintf(path, sizeof path, "%s/index.html", h->ui_dir);
      fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd >= 0 && (fstat(fd, &sb) || !S_ISREG(sb.st_mode))) {
        close(fd);
        fd = -1;
      }
    }
  }
  if (fd < 0) {
    struct cf_api_response res;
    cf_api_response_init(&res);
    cf_api_problem(&res, 404, "NOT_FOUND", bad ? "not a file name of the UI" : "no such file", r->path);
    enum MHD_Result ok = res.body.oom ? MHD_NO : respond(h, r, &res, "");
    cf_api_response_release(&res);
    return ok;
  }
  struct MHD_Response *m = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
  if (!m) {
    close(fd);
    return MHD_NO;
  }
  MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, mime_of(file));
  MHD_add_response_header(m, MHD_HTTP_HEADER_CACHE_CONTROL,
                          !strncmp(file, "assets/", 7) ? "public, max-age=31536000, immutable" : "no-cache");
  MHD_add_response_header(m, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(m, "X-Frame-Options", "DENY");
  MHD_add_response_header(m, "Referrer-Policy", "same-origin");
  if (!strcmp(file, "index.html"))
    MHD_add_response_header(m, "Content-Security-Policy",
                            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                            "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'");
  if (atomic_load(&h->stopping)) MHD_add_response_header(m, MHD_HTTP_HEADER_CONNECTION, "close");
  enum MHD_Result ok = MHD_queue_response(r->c, MHD_HTTP_OK, m);
  MHD_destroy_response(m);
  r->answered = true;
  log_line(h, r->method, r->path, 200, ms_since(&r->t0), "");
  return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **state) {
  (void)version;
  struct cf_http *h = cls;
  struct req *r = *state;
  if (!r) {
    /* First call: headers only. */
    if (!(r = req_new(h, c, method, url))) return MHD_NO;
    *state = r;
    if (h->ui_dir && (!strcmp(method, "GET") || !strcmp(method, "HEAD")) && !is_api_path(url))
      return serve_static(h, r, url);
    /* A body announced too large is refused before it is read (MHD then closes the connection). */
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
      errno = 0;
      unsigned long long n = strtoull(cl, NULL, 10);
      if (errno || n > h->max_body) {
        r->too_large = true;
        return respond_too_large(h, r);
      }
    }
    return MHD_YES;
  }
  if (r->handed) return answer(h, r); /* again after a resume */
  if (*upload_size) {
    /* A client that keeps trickling bytes would hold the connection forever (each byte resets the
     * inactivity timeout): the upload as a whole has a time limit. */
    if (ms_since(&r->t0) > h->upload_ms) {
      log_line(h, r->method, r->path, 0, ms_since(&r->t0), " (upload too slow: connection closed)");
      return MHD_NO;
    }
    size_t n = *upload_size;
    *upload_size = 0;
    if (!r->too_large && r->body.len + n > h->max_body) {
      r->too_large = true;
      cf_buf_release(&r->body);
    }
    if (r->too_large) {
      /* Without Content-Length (chunked) the excess shows only now; MHD takes a response only once the
       * body is read, so the rest is read and dropped for a 413, up to once more the limit (1 MiB at
       * least); past that, the cut. */
      r->discarded += n;
      if (r->discarded > (h->max_body > DISCARD_MIN ? h->max_body : DISCARD_MIN)) {
        log_line(h, r->method, r->path, 0, ms_since(&r->t0), " (body too large: connection closed)");
        return MHD_NO;
      }
      return MHD_YES;
    }
    cf_buf_append(&r->body, upload, n);
    return MHD_YES;
  }
  return hand_over(h, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode why) {
  (void)c;
  struct cf_http *h = cls;
  struct req *r = *state;
  if (!r) return;
  *state = NULL;
  if (!r->answered && why != MHD_REQUEST_TERMINATED_WITH_ERROR)
    log_line(h, r->method, r->path, 0, ms_since(&r->t0),
             why == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? " (client idle: connection closed)"
                                                           : " (connection closed)");
  pthread_mutex_lock(&h->mu);
  if (r->prev) r->prev->next = r->next;
  else h->head = r->next;
  if (r->next) r->next->prev = r->prev;
  r->prev = r->next = NULL;
  if (r->handed) {
    h->busy--;
    pthread_cond_broadcast(&h->idle);
  }
  pthread_mutex_unlock(&h->mu);
  req_unref(r); /* MHD's */
}

/* ------------------------------------------------------------ lifecycle */

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
  h->upload_ms = 1000.0 * (o->upload_timeout_s ? o->upload_timeout_s : 30);
  h->log = o->log;
  h->log_arg = o->log_arg;
  if (o->ui_dir && !(h->ui_dir = cf_strdup(o->ui_dir))) {
    cf_free(h);
    return cf_error_set(err, CF_ENOMEM, "out of memory");
  }
  pthread_mutex_init(&h->mu, NULL);
  pthread_cond_init(&h->idle, NULL);
  unsigned threads = o->threads ? o->threads : 2;
  unsigned max_conn = o->max_connections ? o->max_connections : 1024;
  unsigned per_ip = o->max_per_ip ? o->max_per_ip : 256;
  unsigned idle = o->idle_timeout_s ? o->idle_timeout_s : 10;
  errno = 0;
  h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                              MHD_ALLOW_SUSPEND_RESUME,
                          (uint16_t)o->port, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
                          MHD_OPTION_SOCK_ADDR, &addr,
                          MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                          MHD_OPTION_CONNECTION_TIMEOUT, idle, MHD_OPTION_CONNECTION_LIMIT, max_conn,
                          MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, MHD_OPTION_END);
  if (!h->d) {
    int e = errno;
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->idle);
    cf_free(h->ui_dir);
    cf_free(h);
    return cf_error_set(err, CF_EIO, "cannot listen on %s:%d%s%s", host, o->port, e ? ": " : "",
                        e ? strerror(e) : " (is another server on that port?)");
  }
  *out = h;
  return CF_OK;
}

/* Waits until no request is held by the API (or the deadline). Called with h->mu held. */
static void wait_idle(struct cf_http *h, long ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  while (h->busy && pthread_cond_timedwait(&h->idle, &h->mu, &ts) != ETIMEDOUT) {
  }
}

/*
 * MHD_stop_daemon must not meet a suspended connection (libmicrohttpd's
 * documentation: an API violation, leaks or worse), and the requests waiting
 * for the writer should get their answer. So: the API answers what it parked
 * and takes no new commands; no new connections; wait until every request
 * handed to the API has been answered and sent; then whatever is still
 * suspended (an API that never called done) is resumed here and gets a 503;
 * only then the daemon stops.
 */
void cf_http_stop(struct cf_http *h) {
  if (!h) return;
  cf_api_shutdown(h->api);
  atomic_store(&h->stopping, true);
  MHD_socket listener = MHD_quiesce_daemon(h->d);
  pthread_mutex_lock(&h->mu);
  wait_idle(h, DRAIN_MS);
  size_t n = 0, cap = 0;
  struct req **held = NULL;
  for (struct req *r = h->head; r; r = r->next) {
    if (!r->handed) continue;
    /* NEEDSWORK: out of memory here leaves the rest to MHD_stop_daemon as they are. */
    if (!cf_grow((void **)&held, &cap, n, sizeof *held)) break;
    atomic_fetch_add(&r->refs, 1);
    held[n++] = r;
  }
  pthread_mutex_unlock(&h->mu);
  for (size_t i = 0; i < n; i++) {
    struct req *r = held[i];
    pthread_mutex_lock(&r->mu);
    if (!r->done_arrived) r->forced = true; /* also one not suspended yet: it will not be */
    if (r->suspended) {
      r->suspended = false;
      MHD_resume_connection(r->c);
    }
    pthread_mutex_unlock(&r->mu);
    req_unref(r);
  }
  cf_free(held);
  if (n) {
    pthread_mutex_lock(&h->mu);
    wait_idle(h, FORCED_MS);
    pthread_mutex_unlock(&h->mu);
  }
  MHD_stop_daemon(h->d);
  if (listener != MHD_INVALID_SOCKET) close(listener);
  pthread_mutex_destroy(&h->mu);
  pthread_cond_destroy(&h->idle);
  cf_free(h->ui_dir);
  cf_free(h);
}
