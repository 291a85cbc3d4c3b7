/*
 * libFuzzer target: CSV text -> cf_csv_next (src/base/cf_csv.c, the reader
 * of `crmflow records import`).
 *
 * Beyond "no crash, no leak, never past the end": what was read writes
 * back (cf_csv_put, one record a line, CRLF) into text that reads again as
 * the same records and cells, byte for byte. A cell holding a NUL byte is
 * left out of the comparison (the reader's cells are NUL-terminated).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cf_buf.h"
#include "base/cf_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct cf_csv c;
  cf_csv_init(&c, (const char *)data, size);
  struct cf_buf out;
  cf_buf_init(&out);
  size_t records = 0;
  bool nul = memchr(data, 0, size) != NULL;
  int rc;
  while ((rc = cf_csv_next(&c)) == 1) {
    if (c.ncells == 0) abort();
    for (size_t i = 0; i < c.ncells; i++) {
      if (i) cf_buf_putc(&out, ',');
      const char *cell = cf_csv_cell(&c, i);
      cf_csv_put(&out, cell, strlen(cell));
    }
    cf_buf_puts(&out, "\r\n");
    records++;
  }
  if (rc == 0 && !nul && !out.oom) {
    /* The written text reads back as the same records. */
    struct cf_csv d;
    cf_csv_init(&d, out.data ? out.data : "", out.len);
    struct cf_csv e;
    cf_csv_init(&e, (const char *)data, size);
    size_t again = 0;
    while (cf_csv_next(&e) == 1) {
      if (cf_csv_next(&d) != 1 || d.ncells != e.ncells) {
        fprintf(stderr, "record %zu reads back differently\n", again + 1);
        abort();
      }
      for (size_t i = 0; i < e.ncells; i++)
        if (strcmp(cf_csv_cell(&d, i), cf_csv_cell(&e, i))) {
          fprintf(stderr, "record %zu cell %zu: '%s' read back as '%s'\n", again + 1, i, cf_csv_cell(&e, i),
                  cf_csv_cell(&d, i));
          abort();
        }
      again++;
    }
    if (again != records || cf_csv_next(&d) != 0) abort();
    cf_csv_release(&d);
    cf_csv_release(&e);
  }
  cf_csv_release(&c);
  cf_buf_release(&out);
  return 0;
}
