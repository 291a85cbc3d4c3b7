/*
 * The physical limit beside a benchmark: how many durable commits per
 * second SQLite makes on a disk, with the same settings as the store (WAL,
 * synchronous=FULL), each commit one small row. A runtime that commits in
 * batches can beat it in commands per second; it cannot beat it in commits.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "store/cf_store.h"

static double seconds_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cf_store_sqlite_commit_rate(const char *path, double budget_seconds, double *per_second,
                                struct cf_error *err) {
  *per_second = 0;
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc != SQLITE_OK) {
    cf_error_set(err, CF_EIO, "%s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return CF_EIO;
  }
  sqlite3_stmt *ins = NULL;
  rc = sqlite3_exec(db,
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                    " CREATE TABLE IF NOT EXISTS probe(id INTEGER PRIMARY KEY, v BLOB)",
                    NULL, NULL, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, "INSERT INTO probe(v) VALUES (zeroblob(200))", -1, &ins, NULL);
  long n = 0;
  double t0 = seconds_now(), t = t0;
  while (rc == SQLITE_OK && t - t0 < budget_seconds) {
    rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(ins) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    sqlite3_reset(ins);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    n++;
    t = seconds_now();
  }
  if (rc != SQLITE_OK) cf_error_set(err, CF_EIO, "%s: %s", path, sqlite3_errmsg(db));
  sqlite3_finalize(ins);
  sqlite3_close(db);
  if (rc != SQLITE_OK) return CF_EIO;
  *per_second = t > t0 ? (double)n / (t - t0) : 0;
  return CF_OK;
}
