/*
 * The SQLite backend's private parts, shared between its files:
 * store_sqlite.c (the handle, transactions, the runtime's reads and writes),
 * store_sqlite_search.c (searches, single rows for the API, the cache of
 * statements prepared from generated SQL), store_sqlite_auth.c (principals)
 * and store_sqlite_crm.c (the CRM layer's records, triggers and timers). Nothing outside src/store/ includes this; only files named
 * *sqlite* may (tests/check_layers.sh), as it brings in sqlite3.h.
 *
 * The handle (struct cf_store) stays defined in store_sqlite.c: the other
 * files reach what they need of it through the functions below, so its
 * statement arrays (sized by that file's list of statements) stay its own.
 */
#ifndef CF_STORE_SQLITE_INT_H
#define CF_STORE_SQLITE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/cf_store.h"

/* ------------------------------------------------------------ the handle */

sqlite3 *cf__store_sqlite_db(struct cf_store *s);
bool cf__store_sqlite_readonly(const struct cf_store *s);

/* ------------------------------------------------------------ errors */

/* A SQLite result as a crmflow error naming the file and `what` (see fail_msg in store_sqlite.c). */
int cf__store_sqlite_fail(struct cf_store *s, int rc, struct cf_error *err, const char *what);

/* ------------------------------------------------------------ write scopes */

/*
 * The scope of one write call: a transaction of its own when the caller has
 * none open, else a savepoint inside the caller's (none inside an operation).
 * A read-only handle is refused (CF_EINVAL). call_end keeps the call's writes
 * when r is CF_OK, else undoes them; it returns r, or the commit's error.
 */
int cf__store_sqlite_call_begin(struct cf_store *s, int *scope, struct cf_error *err,
                                const char *what);
int cf__store_sqlite_call_end(struct cf_store *s, int scope, int r, struct cf_error *err);
/* Whether a transaction is open on the handle. */
bool cf__store_sqlite_in_tx(struct cf_store *s);

/* ------------------------------------------------------------ rows */

/*
 * Readers: fill *row from the current result row of a statement whose
 * columns are in the order of store_sqlite.c's *_COLS; false (row released)
 * when out of memory.
 */
bool cf__store_sqlite_read_definition(sqlite3_stmt *st, void *row);
bool cf__store_sqlite_read_instance(sqlite3_stmt *st, void *row);
bool cf__store_sqlite_read_job(sqlite3_stmt *st, void *row);
bool cf__store_sqlite_read_task(sqlite3_stmt *st, void *row);
bool cf__store_sqlite_read_incident(sqlite3_stmt *st, void *row);
/* store_sqlite_crm.c: columns key, type, version, fields, created_ms, updated_ms, created_by,
 * updated_by. */
bool cf__store_sqlite_read_record(sqlite3_stmt *st, void *row);

/* A TEXT column as a new string (NULL for NULL; *ok false when out of memory). */
char *cf__store_sqlite_col_str(sqlite3_stmt *st, int i, bool *ok);

/* One row (CF_ENOTFOUND naming `what` when none) / every row into a new array. Both reset st. */
int cf__store_sqlite_fetch_one(struct cf_store *s, sqlite3_stmt *st,
                               bool (*rd)(sqlite3_stmt *, void *), void *row, struct cf_error *err,
                               const char *what);
int cf__store_sqlite_fetch_all(struct cf_store *s, sqlite3_stmt *st, size_t sz,
                               bool (*rd)(sqlite3_stmt *, void *), void (*rel)(void *), void **out,
                               size_t *n, struct cf_error *err, const char *what);

/* ------------------------------------------------------------ the statement cache */

/*
 * Statements prepared from SQL text that is not in store_sqlite.c's fixed
 * list (a search's generated SQL, the API's reads, the principals, the CRM
 * records), kept per handle keyed by the text: a search of a shape seen
 * before reuses its statement and only binds again. A small cache (CF__SQLITE_CACHE_SIZE),
 * the least recently used statement finalized to make room.
 *
 * cached() hands out a reset statement owned by the cache: the caller binds
 * every parameter, steps and resets it, and does not keep it past the next
 * cached() call on the handle (that may finalize it). cache_free finalizes
 * all (the handle's close calls it); NULL does nothing.
 */
#define CF__SQLITE_CACHE_SIZE 64
struct cf__sqlite_cache;

int cf__store_sqlite_cached(struct cf_store *s, const char *sql, size_t len, sqlite3_stmt **st,
                            struct cf_error *err);
void cf__store_sqlite_cache_free(struct cf__sqlite_cache *c);
struct cf__sqlite_cache **cf__store_sqlite_cache(struct cf_store *s);

/* ------------------------------------------------------------ the operations of the other files */

/* store_sqlite_search.c */
int cf__store_sqlite_search(struct cf_store *s, const struct cf_store_query *q,
                            struct cf_store_result *out, struct cf_error *err);
int cf__store_sqlite_task_get(struct cf_store *s, uint64_t key, struct cf_store_user_task *out,
                              struct cf_error *err);
int cf__store_sqlite_incident_get(struct cf_store *s, uint64_t key, struct cf_store_incident *out,
                                  struct cf_error *err);

/* store_sqlite_auth.c */
int cf__store_sqlite_token_insert(struct cf_store *s, const struct cf_store_token *t,
                                  struct cf_error *err);
int cf__store_sqlite_token_by_hash(struct cf_store *s, const char *hash,
                                   struct cf_store_token *out, struct cf_error *err);
int cf__store_sqlite_token_list(struct cf_store *s, struct cf_store_token **out, size_t *n,
                                struct cf_error *err);
int cf__store_sqlite_token_delete(struct cf_store *s, const char *name, struct cf_error *err);
int cf__store_sqlite_user_put(struct cf_store *s, const struct cf_store_user *u, bool create,
                              struct cf_error *err);
int cf__store_sqlite_user_get(struct cf_store *s, const char *name, struct cf_store_user *out,
                              struct cf_error *err);
int cf__store_sqlite_user_list(struct cf_store *s, struct cf_store_user **out, size_t *n,
                               struct cf_error *err);
int cf__store_sqlite_user_delete(struct cf_store *s, const char *name, struct cf_error *err);
int cf__store_sqlite_group_put(struct cf_store *s, const struct cf_store_group *g, bool create,
                               struct cf_error *err);
int cf__store_sqlite_group_get(struct cf_store *s, const char *name, struct cf_store_group *out,
                               struct cf_error *err);
int cf__store_sqlite_group_list(struct cf_store *s, struct cf_store_group **out, size_t *n,
                                struct cf_error *err);
int cf__store_sqlite_group_delete(struct cf_store *s, const char *name, struct cf_error *err);

/* store_sqlite_crm.c */
int cf__store_sqlite_record_insert(struct cf_store *s, const struct cf_store_record *r,
                                   struct cf_error *err);
int cf__store_sqlite_record_update(struct cf_store *s, const struct cf_store_record *r,
                                   int64_t expected_version, struct cf_error *err);
int cf__store_sqlite_record_get(struct cf_store *s, const char *type, uint64_t key,
                                struct cf_store_record *out, struct cf_error *err);
int cf__store_sqlite_record_delete(struct cf_store *s, const char *type, uint64_t key,
                                   struct cf_error *err);
int cf__store_sqlite_record_unique(struct cf_store *s, const char *type, const char *field,
                                   const char *value, uint64_t record_key, struct cf_error *err);
int cf__store_sqlite_record_change_append(struct cf_store *s, const struct cf_store_record_change *c,
                                          struct cf_error *err);
int cf__store_sqlite_record_history(struct cf_store *s, uint64_t record_key,
                                    struct cf_store_record_change **out, size_t *n,
                                    struct cf_error *err);
int cf__store_sqlite_element_statistics(struct cf_store *s, uint64_t definition_key, struct cf_buf *out,
                                        struct cf_error *err);
int cf__store_sqlite_dashboard(struct cf_store *s, int64_t since_ms, int64_t now_ms, struct cf_buf *out,
                               struct cf_error *err);
int cf__store_sqlite_history_erase(struct cf_store *s, uint64_t instance_key, const char *values, const char *marker,
                                   size_t *replaced, struct cf_error *err);
int cf__store_sqlite_record_history_erase(struct cf_store *s, uint64_t record_key,
                                          const char *fields, const char *marker,
                                          struct cf_error *err);
int cf__store_sqlite_record_type_put(struct cf_store *s, const struct cf_store_record_type *t,
                                     struct cf_error *err);
int cf__store_sqlite_record_type_list(struct cf_store *s, struct cf_store_record_type **out,
                                      size_t *n, struct cf_error *err);
int cf__store_sqlite_trigger_insert(struct cf_store *s, const struct cf_store_trigger *t,
                                    struct cf_error *err);
int cf__store_sqlite_trigger_list(struct cf_store *s, struct cf_store_trigger **out, size_t *n,
                                  struct cf_error *err);
int cf__store_sqlite_trigger_delete(struct cf_store *s, uint64_t key, struct cf_error *err);
int cf__store_sqlite_enrollment_insert(struct cf_store *s, uint64_t trigger_key,
                                       uint64_t record_key, uint64_t instance_key, int64_t at_ms,
                                       struct cf_error *err);
int cf__store_sqlite_enrollment_find(struct cf_store *s, uint64_t trigger_key, uint64_t record_key,
                                     size_t *count, bool *active, struct cf_error *err);
int cf__store_sqlite_crm_timer_set(struct cf_store *s, const struct cf_store_crm_timer *t,
                                   struct cf_error *err);
int cf__store_sqlite_crm_timers_due(struct cf_store *s, int64_t now_ms, size_t max,
                                    struct cf_store_crm_timer **out, size_t *n,
                                    struct cf_error *err);
int cf__store_sqlite_crm_timer_next(struct cf_store *s, int64_t *due_ms, struct cf_error *err);
int cf__store_sqlite_crm_state_get(struct cf_store *s, const char *name, char **value,
                                   struct cf_error *err);
int cf__store_sqlite_crm_state_put(struct cf_store *s, const char *name, const char *value,
                                   struct cf_error *err);

#endif
