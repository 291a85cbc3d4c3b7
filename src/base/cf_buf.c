#include "base/cf_buf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "crmflow/cf_error.h"

static char empty[1];

void cf_buf_init(struct cf_buf *b) {
  b->data = empty;
  b->len = 0;
  b->cap = 0;
  b->oom = false;
}

void cf_buf_release(struct cf_buf *b) {
  if (b->cap) cf_free(b->data);
  cf_buf_init(b);
}

void cf_buf_reset(struct cf_buf *b) {
  b->len = 0;
  if (b->cap) b->data[0] = '\0';
  b->oom = false;
}

int cf_buf_reserve(struct cf_buf *b, size_t extra) {
  if (b->oom) return CF_ENOMEM;
  /* A size that does not fit size_t can only fail, and must not wrap around. */
  if (extra > SIZE_MAX - b->len - 1) {
    b->oom = true;
    return CF_ENOMEM;
  }
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return CF_OK;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  char *p = cf_realloc(b->cap ? b->data : NULL, cap);
  if (!p) {
    b->oom = true;
    return CF_ENOMEM;
  }
  if (!b->cap) p[0] = '\0';
  b->data = p;
  b->cap = cap;
  return CF_OK;
}

int cf_buf_append(struct cf_buf *b, const void *data, size_t len) {
  if (cf_buf_reserve(b, len)) return CF_ENOMEM;
  memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return CF_OK;
}

int cf_buf_puts(struct cf_buf *b, const char *s) { return cf_buf_append(b, s, strlen(s)); }

int cf_buf_putc(struct cf_buf *b, char c) { return cf_buf_append(b, &c, 1); }

int cf_buf_vprintf(struct cf_buf *b, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, ap2);
  va_end(ap2);
  if (n < 0) return CF_EINVAL;
  if ((size_t)n < sizeof small) return cf_buf_append(b, small, (size_t)n);
  if (cf_buf_reserve(b, (size_t)n)) return CF_ENOMEM;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
  return CF_OK;
}

int cf_buf_printf(struct cf_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = cf_buf_vprintf(b, fmt, ap);
  va_end(ap);
  return rc;
}

int cf_buf_json_string(struct cf_buf *b, const char *s, size_t len) {
  cf_buf_putc(b, '"');
  size_t start = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *esc = NULL;
    char tmp[8];
    switch (c) {
      case '"': esc = "\\\""; break;
      case '\\': esc = "\\\\"; break;
      case '\n': esc = "\\n"; break;
      case '\r': esc = "\\r"; break;
      case '\t': esc = "\\t"; break;
      case '\b': esc = "\\b"; break;
      case '\f': esc = "\\f"; break;
      default:
        if (c < 0x20) {
          snprintf(tmp, sizeof tmp, "\\u%04x", c);
          esc = tmp;
        }
    }
    if (esc) {
      cf_buf_append(b, s + start, i - start);
      cf_buf_puts(b, esc);
      start = i + 1;
    }
  }
  cf_buf_append(b, s + start, len - start);
  return cf_buf_putc(b, '"');
}

char *cf_buf_detach(struct cf_buf *b) {
  if (b->oom) {
    cf_buf_release(b);
    return NULL;
  }
  char *p = b->cap ? b->data : cf_strdup("");
  cf_buf_init(b);
  return p;
}
