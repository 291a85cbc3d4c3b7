/*
 * What the store's tests share: a temporary folder per test (setup, teardown), databases in it, and
 * assertions that print the store's message. Included once by each test program (static helpers).
 * FIXTURE_NAME: the folder's prefix.
 */
#ifndef CF_TEST_STORE_FIXTURE_H
#define CF_TEST_STORE_FIXTURE_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/cf_store.h"

static char tmpdir[64];
static const struct cf_store_ops *O;

static const char *db_path(const char *name) {
  static char p[128];
  snprintf(p, sizeof p, "%s/%s", tmpdir, name);
  return p;
}

static struct cf_store *open_db(const char *name, unsigned flags) {
  struct cf_store *s = NULL;
  struct cf_error err = {0};
  if (cf_store_open(db_path(name), flags, &O, &s, &err) != CF_OK) fail_msg("open %s: %s", name, err.msg);
  return s;
}

static void ok(int rc, const struct cf_error *err) {
  if (rc != CF_OK) fail_msg("rc %d: %s", rc, err->msg);
}

static void has(const struct cf_error *err, const char *text) {
  if (!strstr(err->msg, text)) fail_msg("'%s' does not say '%s'", err->msg, text);
}

static int setup(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/%s_XXXXXX", FIXTURE_NAME);
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  DIR *d = opendir(tmpdir);
  if (!d) return -1;
  struct dirent *e;
  char p[512];
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
    unlink(p);
  }
  closedir(d);
  return rmdir(tmpdir);
}

#endif
