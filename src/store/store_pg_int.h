/*
 * The PostgreSQL backend's private parts, for the store layer's own files and
 * its tests. It names no libpq type, so store.c (which picks the backend) may
 * include it; only files named *pg* include libpq-fe.h (tests/check_layers.sh).
 */
#ifndef CF_STORE_PG_INT_H
#define CF_STORE_PG_INT_H

#include "store/cf_store.h"

/* The backend (name "postgres"); cf_store_open hands it out for postgres:// and postgresql:// URLs. */
extern const struct cf_store_ops cf_store_pg;

/*
 * Runs SQL text (one or more statements) on a PostgreSQL store handle,
 * outside the prepared statements. For tests and diagnostics only, like
 * cf__store_sqlite_exec: tests use it to set up what the interface cannot
 * reach (a schema version from the future, a clean database). Errors as any
 * store call.
 */
int cf__store_pg_exec(struct cf_store *s, const char *sql, struct cf_error *err);

#endif
