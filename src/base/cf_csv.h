/*
 * CSV (RFC 4180) held in memory: records separated by CRLF or LF, cells by
 * commas; a cell in double quotes may hold commas, line breaks and quotes
 * (written twice). A UTF-8 byte order mark at the start is skipped, as
 * spreadsheets write one. The reader never reads past the text's length,
 * whatever the bytes (it has a fuzz target: tests/fuzz/fuzz_csv.c).
 */
#ifndef CF_BASE_CSV_H
#define CF_BASE_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "base/cf_buf.h"

struct cf_csv {
  const char *p, *end;
  size_t row;            /* the record just read, from 1 */
  char *buf;             /* the cells of the record, NUL-terminated one after the other */
  size_t len, cap;
  size_t *offs;          /* where each cell starts in buf */
  size_t ncells, capcells;
  char why[160];         /* what is wrong, after cf_csv_next returned -1 */
};

void cf_csv_init(struct cf_csv *c, const char *data, size_t len);
/* Reads data from its start again (the buffers are kept). */
void cf_csv_rewind(struct cf_csv *c, const char *data, size_t len);
void cf_csv_release(struct cf_csv *c);

/* The next record: 1 (ncells cells), 0 at the end, -1 with why (an unclosed quote, text after a
 * closing quote, out of memory), naming the row. */
int cf_csv_next(struct cf_csv *c);
/* Cell i of the record just read (i < ncells), NUL-terminated. */
const char *cf_csv_cell(const struct cf_csv *c, size_t i);
/* Whether the record is an empty line. */
bool cf_csv_blank(const struct cf_csv *c);

/* Appends a cell (len bytes) to b, quoted when it holds a comma, a quote or a line break, starts or
 * ends with a space, or starts with a byte order mark. */
void cf_csv_put(struct cf_buf *b, const char *s, size_t len);

#endif
