/*
 * The HTTP layer: libmicrohttpd (its only user), a thread pool over epoll,
 * request bodies collected up to a limit, one log line per request, and
 * every request handed to the API layer (src/api/) as plain data.
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
  size_t max_body;         /* 0: 16 MiB */
  void (*log)(void *arg, const char *line); /* NULL: stderr */
  void *log_arg;
};

/* Starts listening; CF_EIO with err saying why (the port is taken, the address is not local...). */
int cf_http_start(const struct cf_http_opts *o, struct cf_api *api, struct cf_http **out, struct cf_error *err);
/* Stops taking connections, finishes the requests in progress, and frees. */
void cf_http_stop(struct cf_http *h);

#endif
