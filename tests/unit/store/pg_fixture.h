/*
 * Runs a store test program written for the SQLite backend against
 * PostgreSQL, unchanged: included before the program's source, it turns
 * cf_store_open into pgfx_open, which starts a throwaway server on first use
 * (tests/pg/pg.sh, stopped when the program exits) and maps each database
 * location the program names (".../tokens.db") to a schema of its own in
 * the server's database, so that two names are two databases and one name
 * opened twice is one, as with files. A machine without the server fails
 * the program (pg.sh says why): the backend is not left untested in silence.
 *
 * The test_pg_*.c programs include the SQLite programs' sources this way
 * (their main renamed) and run the cases that do not reach into SQLite
 * itself (the migrations from an old SQLite schema): the same assertions,
 * on both backends.
 */
#ifndef CF_TEST_PG_FIXTURE_H
#define CF_TEST_PG_FIXTURE_H

#include <ctype.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/cf_store.h"

static char pgfx_dir[64];
static char pgfx_url[256];
static bool pgfx_tried;

static int pgfx_sh(const char *cmd, char *out, size_t size) {
  const char *src = getenv("CF_SOURCE_DIR");
  if (!src) {
    fprintf(stderr, "pg_fixture: CF_SOURCE_DIR is not set (run it through ctest)\n");
    return -1;
  }
  char line[512];
  snprintf(line, sizeof line, "'%s/tests/pg/pg.sh' %s '%s'", src, cmd, pgfx_dir);
  FILE *p = popen(line, "r");
  if (!p) return -1;
  char buf[256] = "";
  if (!fgets(buf, sizeof buf, p)) buf[0] = '\0';
  int rc = pclose(p);
  buf[strcspn(buf, "\n")] = '\0';
  if (out) snprintf(out, size, "%s", buf);
  return rc == 0 ? 0 : -1;
}

static void pgfx_stop(void) {
  if (pgfx_url[0]) pgfx_sh("stop", NULL, 0);
  pgfx_url[0] = '\0';
}

static bool pgfx_start(void) {
  if (pgfx_tried) return pgfx_url[0] != '\0';
  pgfx_tried = true;
  strcpy(pgfx_dir, "/tmp/cf_pgfx_XXXXXX");
  if (!mkdtemp(pgfx_dir)) return false;
  if (pgfx_sh("start", pgfx_url, sizeof pgfx_url) != 0 || strncmp(pgfx_url, "postgres://", 11)) {
    fprintf(stderr, "pg_fixture: no PostgreSQL server could be started (tests/pg/pg.sh start, see"
                    " above); these tests need Debian's postgresql package (scripts/deps.sh)\n");
    pgfx_url[0] = '\0';
    pgfx_sh("stop", NULL, 0);
    rmdir(pgfx_dir);
    return false;
  }
  atexit(pgfx_stop);
  return true;
}

/* The schema of a location: "t_" and its file name, lower-case letters, digits and '_'. */
static void pgfx_schema(const char *location, char *out, size_t size) {
  const char *base = strrchr(location, '/');
  base = base ? base + 1 : location;
  size_t n = (size_t)snprintf(out, size, "t_");
  for (; *base && n + 1 < size; base++)
    out[n++] = isalnum((unsigned char)*base) ? (char)tolower((unsigned char)*base) : '_';
  out[n] = '\0';
}

static int pgfx_open(const char *location, unsigned flags, const struct cf_store_ops **ops,
                     struct cf_store **out, struct cf_error *err) {
  if (!pgfx_start()) return cf_error_set(err, CF_EIO, "pg_fixture: no PostgreSQL server");
  char schema[64], sql[128], url[400];
  pgfx_schema(location, schema, sizeof schema);
  PGconn *c = PQconnectdb(pgfx_url);
  snprintf(sql, sizeof sql, "SET client_min_messages = warning; CREATE SCHEMA IF NOT EXISTS %s",
           schema);
  PGresult *res = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
  bool made = res && PQresultStatus(res) == PGRES_COMMAND_OK;
  PQclear(res);
  PQfinish(c);
  if (!made) return cf_error_set(err, CF_EIO, "pg_fixture: cannot create schema %s", schema);
  snprintf(url, sizeof url, "%s?options=-csearch_path%%3D%s", pgfx_url, schema);
  return (cf_store_open)(url, flags, ops, out, err);
}

#define cf_store_open(location, flags, ops, out, err) pgfx_open(location, flags, ops, out, err)

#endif
