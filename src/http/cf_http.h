/*
 * The HTTP layer: libmicrohttpd (its only user), a thread pool over epoll,
 * request bodies collected up to a limit, one log line per request, and
 * every request handed to the API layer (src/api/) as plain data.
 *
 * A request the API answers later (a command waiting for the writer's
 * batch, a long poll) does not hold a thread: its connection is suspended
 * until the API's done callback, then resumed and answered.
 *
 * Limits keep one client from taking the server: the body size (413), the
 * connections in all and per address, the inactivity of a connection (a
 * client that stalls is disconnected), and the time a request's upload may
 * take (a client that trickles bytes is disconnected).
 */
#ifndef CF_HTTP_H
#define CF_HTTP_H

#include <stddef.h>

#include "api/cf_api.h"
#include "crmflow/cf_error.h"

struct cf_http;

struct cf_http_opts {
  const char *host;        /* an IPv4 address or "localhost" */
  int port;
  unsigned threads;        /* 0: 2 */
  size_t max_body;         /* 0: 16 MiB; past it 413 (at once when Content-Length says so) */
  unsigned max_connections;  /* 0: 1024; past it new connections are closed at once */
  unsigned max_per_ip;       /* connections from one address; 0: 256 */
  unsigned idle_timeout_s;   /* a connection silent this long is closed; 0: 10 */
  unsigned upload_timeout_s; /* a request whose body takes longer is cut off (connection closed); 0: 30 */
  void (*log)(void *arg, const char *line); /* NULL: stderr; called from any of the server's threads */
  void *log_arg;
  /* The web UI's built files (web/dist): served at / for GET and HEAD of every path outside the API
   * (/v2/, /healthz, /metrics); a path with no such file and no extension gets index.html (the UI's
   * own routes). NULL: none. */
  const char *ui_dir;
};

/* Starts listening; CF_EIO with err saying why (the port is taken, the address is not local...). */
int cf_http_start(const struct cf_http_opts *o, struct cf_api *api, struct cf_http **out, struct cf_error *err);
/*
 * Stops: tells the API (cf_api_shutdown: parked long polls are answered,
 * new commands refused), stops taking connections, waits (10 s at most) for
 * the requests the API holds to be answered and sent, and frees. A request
 * still unanswered then gets a 503. Call before cf_api_free and before the
 * writer stops (the writer answers what the API submitted).
 */
void cf_http_stop(struct cf_http *h);

#endif
