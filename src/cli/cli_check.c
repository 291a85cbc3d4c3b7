/*
 * `crmflow check [--json] MODEL.bpmn...` (shared/contracts.md §4): parses and
 * validates each model as a deployment would, storing nothing.
 *
 * Text output: nothing for a model that would deploy; for a refused one, a
 * line per problem on stdout,
 *     FILE:LINE: element ID (TYPE): what is wrong
 *     FILE:LINE: what is wrong                 (a problem not about one element)
 * with "FILE: ..." when the line is unknown (an unreadable file, a file too
 * large). --json prints one document instead:
 *     {"models": [{"file", "valid", "problems": [{"line", "elementId",
 *      "elementType", "message"}], "processes": [ids of executable processes]}]}
 * where an unknown line, element id or type is null.
 *
 * Exit status: 0 when every model would deploy, 1 when any is refused (or
 * unreadable), 2 for a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "bpmn/cf_bpmn.h"
#include "cli/cli.h"

static void check_usage(FILE *out) {
  fputs("usage: crmflow check [--json] MODEL.bpmn...\n", out);
}

/*
 * Reads at most CF_BPMN_MAX_BYTES + 1 bytes of path (one more than a model
 * may have, so the parser can tell it is too large without us reading a huge
 * file whole). Returns CF_OK with *data (cf_free) and *len, or the errno.
 */
static int read_file(const char *path, char **data, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return errno ? errno : EIO;
  size_t cap = 64 * 1024, n = 0, max = (size_t)CF_BPMN_MAX_BYTES + 1;
  char *buf = cf_malloc(cap);
  int rc = buf ? 0 : ENOMEM;
  while (!rc && n < max) {
    if (n == cap) {
      size_t ncap = cap * 2 > max ? max : cap * 2;
      char *nb = cf_realloc(buf, ncap);
      if (!nb) {
        rc = ENOMEM;
        break;
      }
      buf = nb;
      cap = ncap;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) {
      if (ferror(f)) rc = errno ? errno : EIO;
      break;
    }
  }
  fclose(f);
  if (rc) {
    cf_free(buf);
    return rc;
  }
  *data = buf;
  *len = n;
  return 0;
}

static void json_str_or_null(struct cf_buf *b, const char *s) {
  if (s)
    cf_buf_json_string(b, s, strlen(s));
  else
    cf_buf_puts(b, "null");
}

static void print_problem(const char *file, const struct cf_bpmn_problem *p) {
  if (p->line > 0)
    printf("%s:%d: ", file, p->line);
  else
    printf("%s: ", file);
  if (p->element_id && p->element_type)
    printf("element %s (%s): ", p->element_id, p->element_type);
  else if (p->element_id)
    printf("element %s: ", p->element_id);
  printf("%s\n", p->message);
}

static void json_model(struct cf_buf *out, const char *file, const struct cf_bpmn_model *m,
                       const struct cf_bpmn_problems *problems) {
  cf_buf_puts(out, "{\"file\":");
  json_str_or_null(out, file);
  cf_buf_printf(out, ",\"valid\":%s,\"problems\":[", m ? "true" : "false");
  for (size_t i = 0; i < problems->count; i++) {
    const struct cf_bpmn_problem *p = &problems->items[i];
    if (i) cf_buf_putc(out, ',');
    if (p->line > 0)
      cf_buf_printf(out, "{\"line\":%d,\"elementId\":", p->line);
    else
      cf_buf_puts(out, "{\"line\":null,\"elementId\":");
    json_str_or_null(out, p->element_id);
    cf_buf_puts(out, ",\"elementType\":");
    json_str_or_null(out, p->element_type);
    cf_buf_puts(out, ",\"message\":");
    json_str_or_null(out, p->message);
    cf_buf_putc(out, '}');
  }
  cf_buf_puts(out, "],\"processes\":[");
  bool first = true;
  for (uint32_t i = 0; m && i < m->nprocesses; i++) {
    if (!m->processes[i].executable) continue;
    if (!first) cf_buf_putc(out, ',');
    first = false;
    json_str_or_null(out, m->processes[i].id);
  }
  cf_buf_puts(out, "]}");
}

int cf_cli_check(int argc, char **argv) {
  /* Options anywhere before "--"; everything else is a model file. */
  bool json = false, dashdash = false;
  int nfiles = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (!dashdash && !strcmp(a, "--")) {
      dashdash = true;
    } else if (!dashdash && !strcmp(a, "--json")) {
      json = true;
    } else if (!dashdash && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
      check_usage(stdout);
      return 0;
    } else if (!dashdash && a[0] == '-' && a[1] != '\0') {
      cf_cli_errorf("check: unknown option '%s'", a);
      check_usage(stderr);
      return 2;
    } else {
      argv[nfiles++] = argv[i]; /* files move to the front, in order */
    }
  }
  if (nfiles == 0) {
    cf_cli_errorf("check: no model given");
    check_usage(stderr);
    return 2;
  }

  int status = 0;
  struct cf_buf out;
  cf_buf_init(&out);
  if (json) cf_buf_puts(&out, "{\"models\":[");
  bool first_model = true;
  for (int i = 0; i < nfiles; i++) {
    const char *file = argv[i];
    struct cf_bpmn_problems problems;
    cf_bpmn_problems_init(&problems);
    struct cf_bpmn_model *m = NULL;
    char *data = NULL;
    size_t len = 0;
    int err = read_file(file, &data, &len);
    if (err) {
      /* A problem like any other, so --json readers see it in place. */
      struct cf_bpmn_problem p = {0, NULL, NULL, NULL};
      char msg[512];
      snprintf(msg, sizeof msg, "cannot read the file: %s", strerror(err));
      p.message = msg;
      struct cf_bpmn_problems one = {&p, 1, 1};
      if (json) {
        if (!first_model) cf_buf_putc(&out, ',');
        json_model(&out, file, NULL, &one);
      } else {
        print_problem(file, &p);
      }
      status = 1;
      first_model = false;
      continue;
    }
    m = cf_bpmn_parse(data, len, file, &problems);
    cf_free(data);
    if (!m) status = 1;
    if (json) {
      if (!first_model) cf_buf_putc(&out, ',');
      json_model(&out, file, m, &problems);
    } else {
      for (size_t k = 0; k < problems.count; k++) print_problem(file, &problems.items[k]);
    }
    first_model = false;
    cf_bpmn_model_free(m);
    cf_bpmn_problems_release(&problems);
  }
  if (json) {
    cf_buf_puts(&out, "]}\n");
    if (out.oom) {
      cf_cli_errorf("check: out of memory");
      status = 1;
    } else {
      fwrite(out.data, 1, out.len, stdout);
    }
  }
  cf_buf_release(&out);
  if (fflush(stdout) != 0) status = status ? status : 1;
  return status;
}
