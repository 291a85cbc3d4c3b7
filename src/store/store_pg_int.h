/*
 * The PostgreSQL backend's private parts, shared between its files:
 * store_pg.c (the handle, transactions, the runtime's reads and writes),
 * store_pg_auth.c (principals), store_pg_crm.c (the CRM layer's rows),
 * store_pg_search.c (searches, single rows for the API, the UI's
 * aggregates), and the backend's tests. It brings in libpq-fe.h, so only
 * files named *pg* include it (tests/check_layers.sh); store.c, which picks
 * the backend, finds cf_store_pg in store_int.h.
 *
 * The handle (struct cf_store) stays defined in store_pg.c: the other files
 * reach it through the functions below.
 */
#ifndef CF_STORE_PG_INT_H
#define CF_STORE_PG_INT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/cf_store.h"
#include "store/store_int.h"

/*
 * Runs SQL text (one or more statements) on a PostgreSQL store handle,
 * outside the prepared statements. For tests and diagnostics only, like
 * cf__store_sqlite_exec: tests use it to set up what the interface cannot
 * reach (a schema version from the future, a clean database). Errors as any
 * store call.
 */
int cf__store_pg_exec(struct cf_store *s, const char *sql, struct cf_error *err);

/* ------------------------------------------------------------ parameters */

/*
 * The parameters of one statement: text, except BYTEA ones in binary with
 * their length. Numbers are formatted into num (the struct owns them); text
 * is borrowed until the statement ran.
 */
#define CF__PG_MAX_PARAMS 16
struct cf__pg_params {
  int n;
  const char *v[CF__PG_MAX_PARAMS];
  int len[CF__PG_MAX_PARAMS];
  int fmt[CF__PG_MAX_PARAMS];
  char num[CF__PG_MAX_PARAMS][24];
};

static inline void cf__pg_i64(struct cf__pg_params *p, int64_t v) {
  snprintf(p->num[p->n], sizeof p->num[0], "%lld", (long long)v);
  p->v[p->n] = p->num[p->n];
  p->len[p->n] = 0;
  p->fmt[p->n++] = 0;
}

/* Keys are unsigned 64-bit in C and BIGINT in the database: stored as the same bits. */
static inline void cf__pg_key(struct cf__pg_params *p, uint64_t v) { cf__pg_i64(p, (int64_t)v); }

static inline void cf__pg_text(struct cf__pg_params *p, const char *t) {
  p->v[p->n] = t;
  p->len[p->n] = 0;
  p->fmt[p->n++] = 0;
}

/* ------------------------------------------------------------ the handle */

bool cf__store_pg_readonly(const struct cf_store *s);
/* "PostgreSQL database D on H:P": for messages (no password). */
const char *cf__store_pg_name(const struct cf_store *s);
/* Whether a transaction is open (also one a failed statement aborted). */
bool cf__store_pg_in_tx(struct cf_store *s);

/* A failed result (or none) as a crmflow error naming `what`, by SQLSTATE (see pg_fail). */
int cf__store_pg_fail(struct cf_store *s, const PGresult *res, struct cf_error *err, const char *what);

/*
 * The scope of one write call: a transaction of its own when the caller has
 * none open, else a savepoint inside the caller's (none inside an
 * operation). A read-only handle is refused (CF_EINVAL). call_end keeps the
 * call's writes when r is CF_OK, else undoes them; it returns r, or the
 * commit's error.
 */
int cf__store_pg_call_begin(struct cf_store *s, int *scope, struct cf_error *err, const char *what);
int cf__store_pg_call_end(struct cf_store *s, int scope, int r, struct cf_error *err);

/* ------------------------------------------------------------ statements from SQL text */

/*
 * Runs sql with n text parameters (values[i] NULL for SQL NULL), prepared on
 * this connection the first time the handle sees that text (a cache of
 * CF__PG_CACHE_SIZE statements per handle keyed by the text; beyond it a
 * statement runs unprepared, never evicting: the server keeps what it
 * prepared for the connection's life). Returns the result (the caller
 * PQclears it), or NULL with *r the error.
 */
#define CF__PG_CACHE_SIZE 256
PGresult *cf__store_pg_query(struct cf_store *s, const char *sql, int n, const char *const *values,
                             int *r, struct cf_error *err, const char *what);

static inline PGresult *cf__store_pg_run(struct cf_store *s, const char *sql,
                                         const struct cf__pg_params *p, int *r,
                                         struct cf_error *err, const char *what) {
  return cf__store_pg_query(s, sql, p ? p->n : 0, p ? p->v : NULL, r, err, what);
}

/* Runs a statement whose rows do not matter; *changed (may be NULL): how many rows it changed. */
int cf__store_pg_write(struct cf_store *s, const char *sql, const struct cf__pg_params *p,
                       size_t *changed, struct cf_error *err, const char *what);

/* A statement that yields at most one integer: *found false for no row or NULL. */
int cf__store_pg_int(struct cf_store *s, const char *sql, const struct cf__pg_params *p, int64_t *v,
                     bool *found, struct cf_error *err, const char *what);

/* ------------------------------------------------------------ columns and rows */

static inline bool cf__pg_null(const PGresult *res, int row, int c) { return PQgetisnull(res, row, c); }
int64_t cf__pg_col_i64(const PGresult *res, int row, int c);
/* A text column as a new string (NULL for NULL; *ok false when out of memory). */
char *cf__pg_col_str(const PGresult *res, int row, int c, bool *ok);

typedef bool (*cf__pg_reader)(const PGresult *, int, void *);

/* Readers: columns in the order of store_pg.c's *_COLS; false (row released) when out of memory. */
bool cf__store_pg_read_definition(const PGresult *res, int row, void *out);
bool cf__store_pg_read_instance(const PGresult *res, int row, void *out);
bool cf__store_pg_read_job(const PGresult *res, int row, void *out);
bool cf__store_pg_read_task(const PGresult *res, int row, void *out);
bool cf__store_pg_read_incident(const PGresult *res, int row, void *out);
/* store_pg_crm.c: columns key, type, version, fields, created_ms, updated_ms, created_by, updated_by. */
bool cf__store_pg_read_record(const PGresult *res, int row, void *out);

/* Every row of res into a new array (NULL for none); clears res. Nothing handed out on failure. */
int cf__store_pg_collect(PGresult *res, size_t sz, cf__pg_reader rd, void (*rel)(void *), void **out,
                         size_t *n, struct cf_error *err, const char *what);
/* The first row of res into *row (CF_ENOTFOUND naming `what` when none); clears res. */
int cf__store_pg_first(PGresult *res, cf__pg_reader rd, void *row, struct cf_error *err,
                       const char *what);

/* ------------------------------------------------------------ the operations of the other files */

/* store_pg_auth.c */
int cf__store_pg_token_insert(struct cf_store *s, const struct cf_store_token *t, struct cf_error *err);
int cf__store_pg_token_by_hash(struct cf_store *s, const char *hash, struct cf_store_token *out,
                               struct cf_error *err);
int cf__store_pg_token_list(struct cf_store *s, struct cf_store_token **out, size_t *n,
                            struct cf_error *err);
int cf__store_pg_token_delete(struct cf_store *s, const char *name, struct cf_error *err);
int cf__store_pg_user_put(struct cf_store *s, const struct cf_store_user *u, bool create,
                          struct cf_error *err);
int cf__store_pg_user_get(struct cf_store *s, const char *name, struct cf_store_user *out,
                          struct cf_error *err);
int cf__store_pg_user_list(struct cf_store *s, struct cf_store_user **out, size_t *n,
                           struct cf_error *err);
int cf__store_pg_user_delete(struct cf_store *s, const char *name, struct cf_error *err);
int cf__store_pg_group_put(struct cf_store *s, const struct cf_store_group *g, bool create,
                           struct cf_error *err);
int cf__store_pg_group_get(struct cf_store *s, const char *name, struct cf_store_group *out,
                           struct cf_error *err);
int cf__store_pg_group_list(struct cf_store *s, struct cf_store_group **out, size_t *n,
                            struct cf_error *err);
int cf__store_pg_group_delete(struct cf_store *s, const char *name, struct cf_error *err);

/* store_pg_crm.c */
int cf__store_pg_record_insert(struct cf_store *s, const struct cf_store_record *r, struct cf_error *err);
int cf__store_pg_record_update(struct cf_store *s, const struct cf_store_record *r,
                               int64_t expected_version, struct cf_error *err);
int cf__store_pg_record_get(struct cf_store *s, const char *type, uint64_t key,
                            struct cf_store_record *out, struct cf_error *err);
int cf__store_pg_record_delete(struct cf_store *s, const char *type, uint64_t key, struct cf_error *err);
int cf__store_pg_record_unique(struct cf_store *s, const char *type, const char *field,
                               const char *value, uint64_t record_key, struct cf_error *err);
int cf__store_pg_record_change_append(struct cf_store *s, const struct cf_store_record_change *c,
                                      struct cf_error *err);
int cf__store_pg_record_history(struct cf_store *s, uint64_t record_key,
                                struct cf_store_record_change **out, size_t *n, struct cf_error *err);
int cf__store_pg_record_history_erase(struct cf_store *s, uint64_t record_key, const char *fields,
                                      const char *marker, struct cf_error *err);
int cf__store_pg_record_type_put(struct cf_store *s, const struct cf_store_record_type *t,
                                 struct cf_error *err);
int cf__store_pg_record_type_list(struct cf_store *s, struct cf_store_record_type **out, size_t *n,
                                  struct cf_error *err);
int cf__store_pg_trigger_insert(struct cf_store *s, const struct cf_store_trigger *t, struct cf_error *err);
int cf__store_pg_trigger_list(struct cf_store *s, struct cf_store_trigger **out, size_t *n,
                              struct cf_error *err);
int cf__store_pg_trigger_delete(struct cf_store *s, uint64_t key, struct cf_error *err);
int cf__store_pg_enrollment_insert(struct cf_store *s, uint64_t trigger_key, uint64_t record_key,
                                   uint64_t instance_key, int64_t at_ms, struct cf_error *err);
int cf__store_pg_enrollment_find(struct cf_store *s, uint64_t trigger_key, uint64_t record_key,
                                 size_t *count, bool *active, struct cf_error *err);
int cf__store_pg_crm_timer_set(struct cf_store *s, const struct cf_store_crm_timer *t, struct cf_error *err);
int cf__store_pg_crm_timers_due(struct cf_store *s, int64_t now_ms, size_t max,
                                struct cf_store_crm_timer **out, size_t *n, struct cf_error *err);
int cf__store_pg_crm_timer_next(struct cf_store *s, int64_t *due_ms, struct cf_error *err);
int cf__store_pg_crm_state_get(struct cf_store *s, const char *name, char **value, struct cf_error *err);
int cf__store_pg_crm_state_put(struct cf_store *s, const char *name, const char *value,
                               struct cf_error *err);
int cf__store_pg_history_erase(struct cf_store *s, uint64_t instance_key, const char *values,
                               const char *marker, size_t *replaced, struct cf_error *err);

/* store_pg_search.c */
int cf__store_pg_search(struct cf_store *s, const struct cf_store_query *q, struct cf_store_result *out,
                        struct cf_error *err);
int cf__store_pg_task_get(struct cf_store *s, uint64_t key, struct cf_store_user_task *out,
                          struct cf_error *err);
int cf__store_pg_incident_get(struct cf_store *s, uint64_t key, struct cf_store_incident *out,
                              struct cf_error *err);
int cf__store_pg_element_statistics(struct cf_store *s, uint64_t definition_key, struct cf_buf *out,
                                    struct cf_error *err);
int cf__store_pg_dashboard(struct cf_store *s, int64_t since_ms, int64_t now_ms, struct cf_buf *out,
                           struct cf_error *err);

#endif
