/*
 * multipart/form-data (RFC 7578) bodies, as deployments send them: parts
 * separated by "--boundary" lines, each with headers (Content-Disposition
 * naming the part and its file) and the data up to the next "\r\n--boundary".
 * The parser never reads past the body's length, whatever the bytes (it
 * has a fuzz target); part data points into the body, names are copies.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "base/cf_alloc.h"

#define MAX_PARTS 64

void api_parts_free(struct api_part *parts, size_t n) {
  for (size_t i = 0; i < n; i++) {
    cf_free((char *)parts[i].name);
    cf_free((char *)parts[i].filename);
  }
  cf_free(parts);
}

/* The boundary parameter of a Content-Type, into out (without quotes). */
static bool boundary_of(const char *ct, char *out, size_t len) {
  if (!ct) return false;
  size_t tl = strcspn(ct, ";");
  while (tl && (ct[tl - 1] == ' ' || ct[tl - 1] == '\t')) tl--;
  if (tl != strlen("multipart/form-data") || strncasecmp(ct, "multipart/form-data", tl)) return false;
  const char *p = ct + tl;
  while ((p = strchr(p, ';'))) {
    p++;
    while (*p == ' ' || *p == '\t') p++;
    if (strncasecmp(p, "boundary=", 9)) continue;
    p += 9;
    size_t n;
    if (*p == '"') {
      p++;
      n = strcspn(p, "\"");
    } else {
      n = strcspn(p, "; \t");
    }
    if (!n || n > 70 || n + 1 > len) return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
  }
  return false;
}

/* A parameter (name="value") of a Content-Disposition header line [h, end); a copy, or NULL. */
static char *disposition_param(const char *h, const char *end, const char *param) {
  size_t pl = strlen(param);
  for (const char *p = h; p + pl + 1 < end; p++) {
    if ((p == h || p[-1] == ';' || p[-1] == ' ' || p[-1] == '\t') && !strncasecmp(p, param, pl) && p[pl] == '=') {
      const char *v = p + pl + 1, *ve;
      if (v < end && *v == '"') {
        v++;
        ve = memchr(v, '"', (size_t)(end - v));
        if (!ve) return NULL;
      } else {
        ve = v;
        while (ve < end && *ve != ';' && *ve != ' ' && *ve != '\r') ve++;
      }
      char *out = cf_malloc((size_t)(ve - v) + 1);
      if (!out) return NULL;
      memcpy(out, v, (size_t)(ve - v));
      out[ve - v] = '\0';
      return out;
    }
  }
  return NULL;
}

int api_multipart(const char *content_type, const char *body, size_t len, struct api_part **parts, size_t *n,
                  struct cf_error *err) {
  *parts = NULL;
  *n = 0;
  char boundary[80], delim[90];
  if (!boundary_of(content_type, boundary, sizeof boundary))
    return cf_error_set(err, CF_EINVAL, "the body must be multipart/form-data with a boundary (Content-Type: %.80s)",
                        content_type ? content_type : "none");
  int dl = snprintf(delim, sizeof delim, "--%s", boundary);
  struct api_part *out = cf_calloc(MAX_PARTS, sizeof *out);
  if (!out) return cf_error_set(err, CF_ENOMEM, "out of memory");
  size_t count = 0;
  /* The first delimiter: at the start or after a preamble line. */
  const char *p = memmem(body, len, delim, (size_t)dl);
  const char *end = body + len;
  int rc = CF_OK;
  if (!p) {
    rc = cf_error_set(err, CF_EINVAL, "the multipart body has no part (no '%s' line)", delim);
    goto out;
  }
  for (;;) {
    p += dl;
    if (end - p >= 2 && p[0] == '-' && p[1] == '-') break; /* the closing delimiter */
    /* The rest of the delimiter line. */
    const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
    if (!eol) {
      rc = cf_error_set(err, CF_EINVAL, "part %zu: the body ends inside a delimiter line", count + 1);
      goto out;
    }
    const char *h = eol + 2;
    const char *hend = memmem(h, (size_t)(end - h), "\r\n\r\n", 4);
    if (!hend) {
      rc = cf_error_set(err, CF_EINVAL, "part %zu: its headers do not end (no empty line)", count + 1);
      goto out;
    }
    if (count == MAX_PARTS) {
      rc = cf_error_set(err, CF_EINVAL, "more than %d parts", MAX_PARTS);
      goto out;
    }
    struct api_part *pt = &out[count];
    /* Headers, one per line. */
    for (const char *line = h; line < hend;) {
      const char *le = memmem(line, (size_t)(hend + 2 - line), "\r\n", 2);
      if (!le) le = hend;
      if ((size_t)(le - line) > 20 && !strncasecmp(line, "Content-Disposition:", 20)) {
        cf_free((char *)pt->name);
        cf_free((char *)pt->filename);
        pt->name = disposition_param(line + 20, le, "name");
        pt->filename = disposition_param(line + 20, le, "filename");
      }
      line = le + 2;
    }
    const char *data = hend + 4;
    /* The data ends at CRLF + delimiter. */
    char close[96];
    int cl = snprintf(close, sizeof close, "\r\n%s", delim);
    const char *next = memmem(data, (size_t)(end - data), close, (size_t)cl);
    if (!next) {
      count++;
      rc = cf_error_set(err, CF_EINVAL, "part %zu: the body ends before its closing delimiter", count);
      goto out;
    }
    if (!pt->name) {
      count++;
      rc = cf_error_set(err, CF_EINVAL, "part %zu has no Content-Disposition name", count);
      goto out;
    }
    pt->data = data;
    pt->len = (size_t)(next - data);
    count++;
    p = next + 2;
  }
out:
  if (rc) {
    api_parts_free(out, MAX_PARTS); /* unused entries are zeroed */
    return rc;
  }
  *parts = out;
  *n = count;
  return CF_OK;
}
