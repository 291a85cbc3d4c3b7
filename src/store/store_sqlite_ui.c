/*
 * Aggregates for the web UI (cf_store.h: element_statistics, dashboard),
 * computed by SQLite and written as JSON: a diagram's counts per element,
 * and the dashboard's days, backlog, breaches and cycle times.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store/store_sqlite_int.h"

static int prepare(struct cf_store *s, const char *sql, sqlite3_stmt **st, struct cf_error *err) {
  return cf__store_sqlite_cached(s, sql, strlen(sql), st, err);
}

static const char *col(sqlite3_stmt *st, int i) {
  const char *t = (const char *)sqlite3_column_text(st, i);
  return t ? t : "";
}

int cf__store_sqlite_element_statistics(struct cf_store *s, uint64_t definition_key, struct cf_buf *out,
                                        struct cf_error *err) {
  static const char what[] = "counting a definition's element instances";
  sqlite3_stmt *st = NULL;
  int r = prepare(s,
                  "WITH i AS (SELECT key FROM instances WHERE definition_key = ?1 AND state = 0),"
                  " w AS (SELECT element_id FROM jobs WHERE instance_key IN (SELECT key FROM i)"
                  " UNION ALL SELECT element_id FROM user_tasks WHERE state = 0 AND instance_key IN (SELECT key FROM i)"
                  " UNION ALL SELECT element_id FROM timers WHERE instance_key IN (SELECT key FROM i)"
                  " UNION ALL SELECT element_id FROM subscriptions WHERE instance_key IN (SELECT key FROM i)),"
                  " a AS (SELECT element_id, count(*) AS n FROM w GROUP BY element_id),"
                  " c AS (SELECT element_id, count(*) AS n FROM incidents WHERE instance_key IN (SELECT key FROM i)"
                  " GROUP BY element_id)"
                  " SELECT e, sum(active), sum(inc) FROM (SELECT element_id AS e, n AS active, 0 AS inc FROM a"
                  " UNION ALL SELECT element_id, 0, n FROM c) GROUP BY e ORDER BY e",
                  &st, err);
  if (r) return r;
  sqlite3_bind_int64(st, 1, (sqlite3_int64)definition_key);
  cf_buf_puts(out, "{\"items\":[");
  int rc, n = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    cf_buf_puts(out, n++ ? ",{\"elementId\":" : "{\"elementId\":");
    cf_buf_json_string(out, col(st, 0), strlen(col(st, 0)));
    cf_buf_printf(out, ",\"active\":%lld,\"incidents\":%lld}", (long long)sqlite3_column_int64(st, 1),
                  (long long)sqlite3_column_int64(st, 2));
  }
  r = rc == SQLITE_DONE ? CF_OK : cf__store_sqlite_fail(s, rc, err, what);
  sqlite3_reset(st);
  cf_buf_puts(out, "]}");
  if (!r && out->oom) r = cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
  return r;
}

/* Runs st (parameters bound) and hands each row to fn. */
static int each(struct cf_store *s, sqlite3_stmt *st, void (*fn)(sqlite3_stmt *, struct cf_buf *, int), struct cf_buf *out,
                const char *what, struct cf_error *err) {
  int rc, n = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) fn(st, out, n++);
  int r = rc == SQLITE_DONE ? CF_OK : cf__store_sqlite_fail(s, rc, err, what);
  sqlite3_reset(st);
  return r;
}

static void day_row(sqlite3_stmt *st, struct cf_buf *b, int n) {
  cf_buf_printf(b, "%s{\"day\":\"%s\",\"started\":%lld,\"completed\":%lld}", n ? "," : "", col(st, 0),
                (long long)sqlite3_column_int64(st, 1), (long long)sqlite3_column_int64(st, 2));
}

static void backlog_row(sqlite3_stmt *st, struct cf_buf *b, int n) {
  cf_buf_puts(b, n ? ",{\"group\":" : "{\"group\":");
  cf_buf_json_string(b, col(st, 0), strlen(col(st, 0)));
  cf_buf_printf(b, ",\"open\":%lld}", (long long)sqlite3_column_int64(st, 1));
}

static void breach_row(sqlite3_stmt *st, struct cf_buf *b, int n) {
  cf_buf_printf(b, "%s{\"userTaskKey\":\"%lld\",\"elementId\":", n ? "," : "", (long long)sqlite3_column_int64(st, 0));
  cf_buf_json_string(b, col(st, 1), strlen(col(st, 1)));
  cf_buf_puts(b, ",\"dueDate\":");
  cf_buf_json_string(b, col(st, 2), strlen(col(st, 2)));
  cf_buf_puts(b, ",\"assignee\":");
  if (sqlite3_column_type(st, 3) == SQLITE_NULL) cf_buf_puts(b, "null");
  else cf_buf_json_string(b, col(st, 3), strlen(col(st, 3)));
  cf_buf_printf(b, ",\"candidateGroups\":%s,\"processInstanceKey\":\"%lld\"}",
                *col(st, 4) == '[' ? col(st, 4) : "[]", (long long)sqlite3_column_int64(st, 5));
}

static void cycle_row(sqlite3_stmt *st, struct cf_buf *b, int n) {
  cf_buf_puts(b, n ? ",{\"processDefinitionId\":" : "{\"processDefinitionId\":");
  cf_buf_json_string(b, col(st, 0), strlen(col(st, 0)));
  cf_buf_printf(b, ",\"completed\":%lld,\"averageMs\":%lld}", (long long)sqlite3_column_int64(st, 1),
                (long long)sqlite3_column_int64(st, 2));
}

int cf__store_sqlite_dashboard(struct cf_store *s, int64_t since_ms, int64_t now_ms, struct cf_buf *out,
                               struct cf_error *err) {
  static const char what[] = "computing the dashboard";
  sqlite3_stmt *st = NULL;
  /* Started and completed per day (UTC), every day of the window listed. */
  int r = prepare(s,
                  "WITH RECURSIVE d(day) AS (SELECT date(?1 / 1000, 'unixepoch')"
                  " UNION ALL SELECT date(day, '+1 day') FROM d WHERE day < date(?2 / 1000, 'unixepoch'))"
                  " SELECT day,"
                  " (SELECT count(*) FROM instances WHERE started_ms >= unixepoch(day) * 1000"
                  "  AND started_ms < unixepoch(day, '+1 day') * 1000),"
                  " (SELECT count(*) FROM instances WHERE state = 1 AND ended_ms >= unixepoch(day) * 1000"
                  "  AND ended_ms < unixepoch(day, '+1 day') * 1000)"
                  " FROM d ORDER BY day",
                  &st, err);
  if (r) return r;
  sqlite3_bind_int64(st, 1, since_ms);
  sqlite3_bind_int64(st, 2, now_ms);
  cf_buf_puts(out, "{\"days\":[");
  if ((r = each(s, st, day_row, out, what, err))) return r;
  /* Open user tasks per candidate group (a task offered to two groups counts in both). */
  if ((r = prepare(s,
                   "SELECT g.value, count(*) FROM user_tasks t, json_each(CASE WHEN json_valid(t.candidate_groups)"
                   " THEN t.candidate_groups ELSE '[]' END) g WHERE t.state = 0 GROUP BY g.value ORDER BY 2 DESC, 1",
                   &st, err)))
    return r;
  cf_buf_puts(out, "],\"backlog\":[");
  if ((r = each(s, st, backlog_row, out, what, err))) return r;
  /* Open tasks past their due date. */
  if ((r = prepare(s,
                   "SELECT count(*) FROM user_tasks WHERE state = 0 AND due_date IS NOT NULL"
                   " AND unixepoch(due_date) * 1000 < ?1",
                   &st, err)))
    return r;
  sqlite3_bind_int64(st, 1, now_ms);
  int rc = sqlite3_step(st);
  long long overdue = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_reset(st);
  if (rc != SQLITE_ROW) return cf__store_sqlite_fail(s, rc, err, what);
  cf_buf_printf(out, "],\"slaBreaches\":{\"overdueTasks\":%lld,\"items\":[", overdue);
  if ((r = prepare(s,
                   "SELECT key, element_id, due_date, assignee, candidate_groups, instance_key FROM user_tasks"
                   " WHERE state = 0 AND due_date IS NOT NULL AND unixepoch(due_date) * 1000 < ?1"
                   " ORDER BY unixepoch(due_date), key LIMIT 50",
                   &st, err)))
    return r;
  sqlite3_bind_int64(st, 1, now_ms);
  if ((r = each(s, st, breach_row, out, what, err))) return r;
  /* Average cycle time of the instances completed in the window, per process. */
  if ((r = prepare(s,
                   "SELECT process_id, count(*), CAST(avg(ended_ms - started_ms) AS INTEGER) FROM instances"
                   " WHERE state = 1 AND ended_ms >= ?1 GROUP BY process_id ORDER BY process_id",
                   &st, err)))
    return r;
  sqlite3_bind_int64(st, 1, since_ms);
  cf_buf_puts(out, "]},\"cycleTime\":[");
  if ((r = each(s, st, cycle_row, out, what, err))) return r;
  cf_buf_puts(out, "]}");
  if (out->oom) return cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
  return CF_OK;
}
