/*
 * Growable byte buffers (string builders), after git's strbuf.
 *
 * A buffer is caller-owned: cf_buf_init() then cf_buf_release(). The data is
 * always NUL-terminated. An append that cannot allocate returns CF_ENOMEM and
 * marks the buffer failed (b->oom); later appends are then no-ops, so a
 * builder can append many pieces and check once at the end.
 */
#ifndef CF_BASE_BUF_H
#define CF_BASE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct cf_buf {
  char *data; /* NUL-terminated; "" (static) while nothing was appended */
  size_t len;
  size_t cap;
  bool oom;
};

void cf_buf_init(struct cf_buf *b);
void cf_buf_release(struct cf_buf *b);
void cf_buf_reset(struct cf_buf *b); /* empties, keeps the memory */

int cf_buf_reserve(struct cf_buf *b, size_t extra);
int cf_buf_append(struct cf_buf *b, const void *data, size_t len);
int cf_buf_puts(struct cf_buf *b, const char *s);
int cf_buf_putc(struct cf_buf *b, char c);
int cf_buf_printf(struct cf_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int cf_buf_vprintf(struct cf_buf *b, const char *fmt, va_list ap);

/* Appends s as a JSON string literal, quotes included. */
int cf_buf_json_string(struct cf_buf *b, const char *s, size_t len);

/* Hands the data to the caller (who frees it with cf_free); b is reset. NULL on oom. */
char *cf_buf_detach(struct cf_buf *b);

#endif
