/* Reading the files the command line is given (models, scenarios). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/cf_buf.h"
#include "cli/cli.h"

char *cf_cli_read_file(const char *path, size_t max, size_t *len, char *why, size_t whylen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(why, whylen, "%s", strerror(errno));
    return NULL;
  }
  struct cf_buf b;
  cf_buf_init(&b);
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (b.len + n > max) {
      snprintf(why, whylen, "larger than %zu bytes", max);
      goto fail;
    }
    if (cf_buf_append(&b, chunk, n)) {
      snprintf(why, whylen, "out of memory");
      goto fail;
    }
  }
  if (ferror(f)) {
    snprintf(why, whylen, "%s", strerror(errno));
    goto fail;
  }
  fclose(f);
  *len = b.len;
  char *data = cf_buf_detach(&b);
  if (!data) snprintf(why, whylen, "out of memory");
  return data;
fail:
  fclose(f);
  cf_buf_release(&b);
  return NULL;
}

