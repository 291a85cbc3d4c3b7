/*
 * The CSV reader and writer (cf_csv.h).
 */
#include "base/cf_csv.h"

#include <stdio.h>
#include <string.h>

#include "base/cf_alloc.h"

void cf_csv_rewind(struct cf_csv *c, const char *data, size_t len) {
  c->row = 0;
  c->p = data;
  c->end = data + len;
  if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) c->p += 3;
}

void cf_csv_init(struct cf_csv *c, const char *data, size_t len) {
  memset(c, 0, sizeof *c);
  cf_csv_rewind(c, data, len);
}

void cf_csv_release(struct cf_csv *c) {
  cf_free(c->buf);
  cf_free(c->offs);
  c->buf = NULL;
  c->offs = NULL;
}

static bool putch(struct cf_csv *c, char ch) {
  if (!cf_grow((void **)&c->buf, &c->cap, c->len, 1)) return false;
  c->buf[c->len++] = ch;
  return true;
}

const char *cf_csv_cell(const struct cf_csv *c, size_t i) { return c->buf + c->offs[i]; }

static bool eol(const struct cf_csv *c, const char *p) {
  return p < c->end && (*p == '\n' || (*p == '\r' && p + 1 < c->end && p[1] == '\n'));
}

int cf_csv_next(struct cf_csv *c) {
  if (c->p >= c->end) return 0;
  c->row++;
  c->ncells = 0;
  c->len = 0;
  for (;;) {
    if (!cf_grow((void **)&c->offs, &c->capcells, c->ncells, sizeof *c->offs)) goto oom;
    c->offs[c->ncells++] = c->len;
    if (c->p < c->end && *c->p == '"') {
      c->p++;
      for (;;) {
        if (c->p >= c->end) {
          snprintf(c->why, sizeof c->why, "row %zu: a quoted cell is not closed (a quote is missing)", c->row);
          return -1;
        }
        if (*c->p == '"') {
          if (c->p + 1 < c->end && c->p[1] == '"') {
            if (!putch(c, '"')) goto oom;
            c->p += 2;
            continue;
          }
          c->p++;
          break;
        }
        if (!putch(c, *c->p++)) goto oom;
      }
      if (c->p < c->end && *c->p != ',' && !eol(c, c->p)) {
        snprintf(c->why, sizeof c->why,
                 "row %zu, cell %zu: text after the closing quote (a quote inside a quoted cell is written twice: \"\")",
                 c->row, c->ncells);
        return -1;
      }
    } else {
      while (c->p < c->end && *c->p != ',' && !eol(c, c->p))
        if (!putch(c, *c->p++)) goto oom;
    }
    if (!putch(c, '\0')) goto oom;
    if (c->p >= c->end) return 1;
    if (*c->p == ',') {
      c->p++;
      continue;
    }
    c->p += *c->p == '\r' ? 2 : 1;
    return 1;
  }
oom:
  snprintf(c->why, sizeof c->why, "row %zu: out of memory", c->row);
  return -1;
}

bool cf_csv_blank(const struct cf_csv *c) { return c->ncells == 1 && !*cf_csv_cell(c, 0); }

void cf_csv_put(struct cf_buf *b, const char *s, size_t len) {
  /* A leading byte order mark is quoted too: unquoted at the start of a file it would be read as one. */
  bool quote = len && (s[0] == ' ' || s[len - 1] == ' ' || (len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)));
  for (size_t i = 0; i < len && !quote; i++) quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
  if (!quote) {
    cf_buf_append(b, s, len);
    return;
  }
  cf_buf_putc(b, '"');
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '"') cf_buf_putc(b, '"');
    cf_buf_putc(b, s[i]);
  }
  cf_buf_putc(b, '"');
}
