/*
 * The physical limit beside a benchmark on PostgreSQL: how many commits per
 * second the server makes for one client, each commit one single-row INSERT
 * (200 bytes) in a transaction of its own, with the server's durability
 * settings (synchronous_commit as configured: on a default server each
 * commit waits for its WAL flush). The rows go into a table of the same
 * database and schema, crmflow_commit_probe, created for the measurement
 * and dropped after it; the bench takes it after the store's migrations, so
 * a probe table left by a crash never makes the database look foreign.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/cf_store.h"
#include "store/store_pg_int.h"

static double seconds_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs sql; false with err set (naming the database) when it failed. */
static bool run(PGconn *c, const char *sql, struct cf_error *err) {
  PGresult *res = PQexec(c, sql);
  ExecStatusType st = PQresultStatus(res);
  bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
  if (!ok) {
    char msg[256];
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
    msg[strcspn(msg, "\n")] = '\0';
    cf_error_set(err, CF_EIO, "measuring the commit rate of PostgreSQL database %s: %s", PQdb(c), msg);
  }
  PQclear(res);
  return ok;
}

int cf_store_pg_commit_rate(const char *url, double budget_seconds, double *per_second,
                            struct cf_error *err) {
  *per_second = 0;
  PGconn *c = PQconnectdb(url);
  if (!c || PQstatus(c) != CONNECTION_OK) {
    cf_error_set(err, CF_EIO, "measuring the commit rate: cannot connect to %s: %s",
                 c && PQdb(c) ? PQdb(c) : "the database", c ? PQerrorMessage(c) : "out of memory");
    PQfinish(c);
    return CF_EIO;
  }
  long n = 0;
  double t0 = 0, t = 0;
  bool ok = run(c, "SET client_min_messages = warning;"
                   " DROP TABLE IF EXISTS crmflow_commit_probe;"
                   " CREATE TABLE crmflow_commit_probe(id BIGINT GENERATED ALWAYS AS IDENTITY"
                   " PRIMARY KEY, v BYTEA NOT NULL)",
                err);
  if (ok) {
    PGresult *pr = PQprepare(c, "cf_probe", "INSERT INTO crmflow_commit_probe(v) VALUES"
                                            " (decode(repeat('00', 200), 'hex'))", 0, NULL);
    ok = PQresultStatus(pr) == PGRES_COMMAND_OK;
    PQclear(pr);
    if (!ok)
      cf_error_set(err, CF_EIO, "measuring the commit rate of PostgreSQL database %s: %s", PQdb(c),
                   PQerrorMessage(c));
  }
  t0 = t = seconds_now();
  /* Autocommit: each INSERT is one transaction, one commit. */
  while (ok && t - t0 < budget_seconds) {
    PGresult *res = PQexecPrepared(c, "cf_probe", 0, NULL, NULL, NULL, 0);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
      cf_error_set(err, CF_EIO, "measuring the commit rate of PostgreSQL database %s: %s", PQdb(c),
                   PQerrorMessage(c));
      break;
    }
    n++;
    t = seconds_now();
  }
  struct cf_error drop_err = {0};
  bool dropped = run(c, "DROP TABLE IF EXISTS crmflow_commit_probe", ok ? err : &drop_err);
  PQfinish(c);
  if (!ok || !dropped) return CF_EIO;
  *per_second = t > t0 ? (double)n / (t - t0) : 0;
  return CF_OK;
}
