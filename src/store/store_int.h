/*
 * The store layer's private parts, shared between its files and its tests.
 * Nothing outside src/store/ and tests/unit/store/ includes this.
 */
#ifndef CF_STORE_INT_H
#define CF_STORE_INT_H

#include "store/cf_store.h"

/*
 * Runs SQL text (one or more statements) on a SQLite store handle, outside
 * the statement cache. For tests and diagnostics only: tests use it to set up
 * what they cannot reach through the interface (a schema version from the
 * future, a page limit that makes the "disk" full). Errors as any store call.
 */
int cf__store_sqlite_exec(struct cf_store *s, const char *sql, struct cf_error *err);

/*
 * Appends a copy of process_id (len bytes) to m's correlation marks (message_list's rows).
 * false when out of memory: m is left as it was (cf_store_message_release frees what it holds).
 */
bool cf__store_message_mark(struct cf_store_message *m, const char *process_id, size_t len);

/* The PostgreSQL backend (store_pg.c, name "postgres"): cf_store_open hands it out for postgres://
 * and postgresql:// URLs. Its private parts are in store_pg_int.h (libpq). */
extern const struct cf_store_ops cf_store_pg;

#endif
