/*
 * `crmflow test [--json] PATH...` (shared/contracts.md §3): runs process
 * scenarios and reports one line per scenario, then `N passed, N failed`.
 *
 * A PATH is a scenario file (run whatever its name) or a folder, searched
 * recursively for *.scenario.json files, run in sorted order. Hidden
 * entries (".git") are skipped. Exit status: 0 when every scenario passed,
 * 1 when any failed (or none was found), 2 for a usage error.
 */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "cli/cli.h"
#include "cli/scenario.h"

#define SUFFIX ".scenario.json"
#define MAX_DEPTH 64 /* against symlink loops */

struct paths {
  char **items;
  size_t n, cap;
  bool oom;
};

static void paths_add(struct paths *p, char *s) {
  if (!s) {
    p->oom = true;
    return;
  }
  if (p->n == p->cap) {
    size_t ncap = p->cap ? p->cap * 2 : 32;
    char **items = cf_realloc(p->items, ncap * sizeof *items);
    if (!items) {
      cf_free(s);
      p->oom = true;
      return;
    }
    p->items = items;
    p->cap = ncap;
  }
  p->items[p->n++] = s;
}

static void paths_release(struct paths *p) {
  for (size_t i = 0; i < p->n; i++) cf_free(p->items[i]);
  cf_free(p->items);
}

static int cmp_path(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_scenario(const char *name) {
  size_t n = strlen(name), k = sizeof SUFFIX - 1;
  return n > k && !strcmp(name + n - k, SUFFIX);
}

/* Adds the scenario files under dir (recursively) to p. */
static void collect(struct paths *p, const char *dir, int depth) {
  if (depth > MAX_DEPTH) return;
  DIR *d = opendir(dir);
  if (!d) {
    cf_cli_errorf("cannot read folder %s: %s", dir, strerror(errno));
    return;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    struct cf_buf b;
    cf_buf_init(&b);
    size_t dl = strlen(dir);
    cf_buf_printf(&b, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", e->d_name);
    char *path = cf_buf_detach(&b);
    if (!path) {
      p->oom = true;
      break;
    }
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
      collect(p, path, depth + 1);
      cf_free(path);
    } else if (is_scenario(e->d_name)) {
      paths_add(p, path);
    } else {
      cf_free(path);
    }
  }
  closedir(d);
}

static void usage(void) {
  fputs("usage: crmflow test [--json] PATH...\n"
        "  runs the process scenarios in the files, or in the *.scenario.json files under the folders\n",
        stderr);
}

/* Prints a result in the text form: "ok   NAME (FILE)" or "FAIL NAME (FILE)" and its failures. */
static void print_text(const struct cf__scenario_result *res) {
  printf("%s %s (%s)\n", res->passed ? "ok  " : "FAIL", res->name, res->file);
  for (size_t i = 0; i < res->nfailures; i++) printf("    %s\n", res->failures[i]);
  fflush(stdout);
}

static struct json_object *result_json(const struct cf__scenario_result *res) {
  struct json_object *o = json_object_new_object();
  struct json_object *f = json_object_new_array();
  if (!o || !f) {
    json_object_put(o);
    json_object_put(f);
    return NULL;
  }
  json_object_object_add(o, "name", json_object_new_string(res->name));
  json_object_object_add(o, "file", json_object_new_string(res->file));
  json_object_object_add(o, "passed", json_object_new_boolean(res->passed));
  for (size_t i = 0; i < res->nfailures; i++) json_object_array_add(f, json_object_new_string(res->failures[i]));
  json_object_object_add(o, "failures", f);
  return o;
}

int cf_cli_test(int argc, char **argv) {
  bool as_json = false, opts = true;
  struct paths p = {0};
  int rc = 2, nargs = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (opts && !strcmp(a, "--json")) {
      as_json = true;
    } else if (opts && !strcmp(a, "--")) {
      opts = false;
    } else if (opts && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
      usage();
      paths_release(&p);
      return 0;
    } else if (opts && a[0] == '-' && a[1]) {
      cf_cli_errorf("test: unknown option '%s'", a);
      usage();
      goto out;
    } else {
      nargs++;
      struct stat st;
      if (stat(a, &st) == 0 && S_ISDIR(st.st_mode)) {
        size_t first = p.n;
        collect(&p, a, 0);
        qsort(p.items + first, p.n - first, sizeof *p.items, cmp_path);
        if (p.n == first) cf_cli_errorf("test: no *" SUFFIX " files under %s", a);
      } else {
        /* A file, or a path that does not exist: the run reports it as a failed scenario. */
        paths_add(&p, cf_strdup(a));
      }
    }
  }
  if (!nargs) {
    usage();
    goto out;
  }
  if (p.oom) {
    cf_cli_errorf("test: out of memory");
    rc = 1;
    goto out;
  }

  struct json_object *doc = NULL, *list = NULL;
  if (as_json) {
    doc = json_object_new_object();
    list = json_object_new_array();
    if (!doc || !list) {
      json_object_put(doc);
      json_object_put(list);
      cf_cli_errorf("test: out of memory");
      rc = 1;
      goto out;
    }
    json_object_object_add(doc, "scenarios", list);
  }
  size_t passed = 0, failed = 0;
  bool oom = false;
  for (size_t i = 0; i < p.n; i++) {
    struct cf__scenario_result res;
    memset(&res, 0, sizeof res);
    if (cf__scenario_run(p.items[i], &res)) oom = true;
    if (!res.name || !res.file) {
      cf__scenario_result_release(&res);
      failed++;
      continue;
    }
    if (res.passed) passed++;
    else failed++;
    if (as_json) {
      struct json_object *o = result_json(&res);
      if (!o) oom = true;
      else json_object_array_add(list, o);
    } else {
      print_text(&res);
    }
    cf__scenario_result_release(&res);
  }
  if (oom) cf_cli_errorf("test: out of memory");
  if (as_json) {
    json_object_object_add(doc, "passed", json_object_new_int64((int64_t)passed));
    json_object_object_add(doc, "failed", json_object_new_int64((int64_t)failed));
    puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(doc);
  } else {
    printf("%zu passed, %zu failed\n", passed, failed);
  }
  rc = failed || oom || passed == 0 ? 1 : 0;
out:
  paths_release(&p);
  return rc;
}
