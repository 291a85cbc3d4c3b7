/*
 * The SQLite backend of the store (cf_store.h): one database file in WAL
 * mode, one writer handle and any number of READONLY reader handles.
 *
 * - Durability: synchronous=FULL (every commit survives a power cut), or
 *   NORMAL with CF_STORE_FAST (a power cut may lose the last commits, never
 *   corrupt the file).
 * - Transactions: begin() is BEGIN IMMEDIATE, so the write lock is taken up
 *   front and a second writer waits (busy_timeout) instead of failing half
 *   way. A write call made outside begin()/commit() runs in a transaction of
 *   its own; inside the caller's, a multi-statement call runs in a SAVEPOINT
 *   so that a call that fails leaves nothing of itself behind.
 * - Statements are prepared once per handle (SQLITE_PREPARE_PERSISTENT) and
 *   reset after each use, so a reader's statement never pins an old snapshot.
 * - Foreign keys are off: side rows are replaced by the instance's key and
 *   pruning deletes them explicitly, which costs less than cascades on the
 *   hot path.
 * - Migrations: numbered, in schema_version; each runs in one transaction.
 *
 * This file and its siblings store_sqlite_search.c (searches),
 * store_sqlite_auth.c (principals) and store_sqlite_crm.c (CRM records),
 * sharing store_sqlite_int.h, are the only ones that talk to SQLite
 * (tests/check_layers.sh).
 */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_json.h"
#include <json-c/json.h>
#include <stdlib.h>
#include "store/cf_store.h"
#include "store/store_int.h"
#include "store/store_pack.h"
#include "store/store_sqlite_int.h"

/* ------------------------------------------------------------ the schema */

/*
 * Migrations, oldest first. Append only: a migration that shipped is never
 * edited, the next change is a new entry. Each runs in one transaction with
 * the schema_version update, so it is applied whole or not at all.
 */
static const char *const migrations[] = {
    /* 1: everything */
    "CREATE TABLE keys(id INTEGER PRIMARY KEY CHECK (id = 1), next INTEGER NOT NULL);"
    "INSERT INTO keys VALUES (1, 1);"

    "CREATE TABLE definitions(key INTEGER PRIMARY KEY, process_id TEXT NOT NULL,"
    " version INTEGER NOT NULL, version_tag TEXT, deployment_key INTEGER NOT NULL,"
    " resource_name TEXT NOT NULL, checksum TEXT NOT NULL, xml BLOB NOT NULL,"
    " deployed_ms INTEGER NOT NULL, UNIQUE (process_id, version));"
    "CREATE INDEX definitions_checksum ON definitions(process_id, checksum);"

    "CREATE TABLE instances(key INTEGER PRIMARY KEY, definition_key INTEGER NOT NULL,"
    " process_id TEXT NOT NULL, version INTEGER NOT NULL, state INTEGER NOT NULL,"
    " incident INTEGER NOT NULL, business_key TEXT, parent_key INTEGER NOT NULL,"
    " started_ms INTEGER NOT NULL, ended_ms INTEGER NOT NULL, row_version INTEGER NOT NULL,"
    " engine_state BLOB, variables TEXT);"
    "CREATE INDEX instances_process ON instances(process_id, key);"
    "CREATE INDEX instances_business ON instances(business_key) WHERE business_key IS NOT NULL;"
    "CREATE INDEX instances_ended ON instances(ended_ms) WHERE state <> 0;"

    "CREATE TABLE jobs(key INTEGER PRIMARY KEY, instance_key INTEGER NOT NULL,"
    " element_instance_key INTEGER NOT NULL, element_id TEXT NOT NULL, type TEXT NOT NULL,"
    " retries INTEGER NOT NULL, state INTEGER NOT NULL, available_ms INTEGER NOT NULL,"
    " worker TEXT, lease_until_ms INTEGER NOT NULL, headers TEXT, error_message TEXT);"
    "CREATE INDEX jobs_activate ON jobs(type, state, available_ms, lease_until_ms);"
    "CREATE INDEX jobs_instance ON jobs(instance_key);"

    "CREATE TABLE user_tasks(key INTEGER PRIMARY KEY, instance_key INTEGER NOT NULL,"
    " element_instance_key INTEGER NOT NULL, element_id TEXT NOT NULL, assignee TEXT,"
    " candidate_groups TEXT, candidate_users TEXT, due_date TEXT, follow_up_date TEXT,"
    " form_key TEXT, priority INTEGER NOT NULL, created_ms INTEGER NOT NULL);"
    "CREATE INDEX user_tasks_instance ON user_tasks(instance_key);"
    "CREATE INDEX user_tasks_assignee ON user_tasks(assignee, key);"

    /* instance_key 0: a timer start event's timer (definition_key set) */
    "CREATE TABLE timers(key INTEGER PRIMARY KEY, instance_key INTEGER NOT NULL,"
    " definition_key INTEGER NOT NULL, element_id TEXT NOT NULL, due_ms INTEGER NOT NULL);"
    "CREATE INDEX timers_due ON timers(due_ms, key);"
    "CREATE INDEX timers_instance ON timers(instance_key);"

    "CREATE TABLE subscriptions(key INTEGER PRIMARY KEY, instance_key INTEGER NOT NULL,"
    " element_id TEXT NOT NULL, kind INTEGER NOT NULL, name TEXT NOT NULL, correlation_key TEXT);"
    "CREATE INDEX subscriptions_find ON subscriptions(kind, name, correlation_key);"
    "CREATE INDEX subscriptions_instance ON subscriptions(instance_key);"

    "CREATE TABLE incidents(key INTEGER PRIMARY KEY, instance_key INTEGER NOT NULL,"
    " element_instance_key INTEGER NOT NULL, element_id TEXT NOT NULL, type INTEGER NOT NULL,"
    " job_key INTEGER NOT NULL, message TEXT, created_ms INTEGER NOT NULL);"
    "CREATE INDEX incidents_instance ON incidents(instance_key);"

    "CREATE TABLE messages(key INTEGER PRIMARY KEY, name TEXT NOT NULL, correlation_key TEXT,"
    " message_id TEXT UNIQUE, variables TEXT, published_ms INTEGER NOT NULL,"
    " expires_ms INTEGER NOT NULL);"
    "CREATE INDEX messages_find ON messages(name, correlation_key);"
    "CREATE INDEX messages_expires ON messages(expires_ms);"

    /* a buffered message correlates at most once per process id */
    "CREATE TABLE message_correlations(message_key INTEGER NOT NULL, process_id TEXT NOT NULL,"
    " PRIMARY KEY (message_key, process_id)) WITHOUT ROWID;"

    "CREATE TABLE history(id INTEGER PRIMARY KEY, instance_key INTEGER NOT NULL,"
    " at_ms INTEGER NOT NULL, kind TEXT NOT NULL, key INTEGER NOT NULL, element_id TEXT,"
    " detail TEXT, actor TEXT, variables TEXT);"
    "CREATE INDEX history_instance ON history(instance_key, id);",

    /* 2: history packed: one row per run of events of one instance, time and actor in an append
     * (the events of one engine call), the events a JSON array of [kind, "key", element_id, detail,
     * variables] with a seventh item, at_ms, only where an event's time differs from the row's */
    "CREATE TABLE history_packs(id INTEGER PRIMARY KEY, instance_key INTEGER NOT NULL,"
    " at_ms INTEGER NOT NULL, actor TEXT, events TEXT NOT NULL);"
    "INSERT INTO history_packs(instance_key, at_ms, actor, events) SELECT instance_key, at_ms, actor,"
    " json_array(json_array(kind, CAST(key AS TEXT), element_id, detail, variables))"
    " FROM history ORDER BY id;"
    "DROP TABLE history;"
    "CREATE INDEX history_packs_instance ON history_packs(instance_key, id);",

    /* 3: jobs to activate found in key order by (type, state), their time and lease read from the
     * row: taking a lease no longer rewrites the index, and no sort is needed for the oldest first */
    "DROP INDEX jobs_activate; CREATE INDEX jobs_activate ON jobs(type, state, key);",

    /* 4: a completed user task stays, with state 1, when and by whom, until its instance is pruned */
    "ALTER TABLE user_tasks ADD COLUMN state INTEGER NOT NULL DEFAULT 0;"
    " ALTER TABLE user_tasks ADD COLUMN completed_ms INTEGER NOT NULL DEFAULT 0;"
    " ALTER TABLE user_tasks ADD COLUMN completed_by TEXT;"
    " CREATE INDEX user_tasks_state ON user_tasks(state, key);",

    /* 5: principals of the API. A token's secret is never stored, only its hash (unique: the
     * lookup of every request). users.groups_json is a JSON array of group names; the groups
     * table is crm_groups because GROUPS is an SQL keyword. Roles are checked by the store's
     * code, not a CHECK, so that a new role needs no table rebuild. No index on hot-written
     * tables (user_tasks, jobs): searches use the existing ones (store_sqlite_search.c). */
    "CREATE TABLE api_tokens(name TEXT PRIMARY KEY, role TEXT NOT NULL, user_name TEXT,"
    " hash TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL);"
    " CREATE TABLE users(name TEXT PRIMARY KEY, display_name TEXT, role TEXT NOT NULL,"
    " password_hash TEXT, groups_json TEXT NOT NULL DEFAULT '[]', created_ms INTEGER NOT NULL);"
    " CREATE TABLE crm_groups(name TEXT PRIMARY KEY, display_name TEXT,"
    " created_ms INTEGER NOT NULL);",

    /* 6: the CRM layer (store_sqlite_crm.c). Records of every type in one table, fields a JSON
     * object: searches always name a type, so (type, key) gives a type's records in key order and
     * (type, updated_ms) the recently changed ones. Unique field values are claimed in
     * record_unique, whose primary key is the uniqueness (any number of unique fields per type,
     * no index per field); record_unique_record finds a record's claims to release them. The
     * history of changes (actor, not BY, a keyword) outlives the record. An enrollment is not
     * unique: a trigger may start a record's process again (its count is what is asked). A
     * trigger's date-relative timer is one per (trigger, record), found by due_ms. */
    "CREATE TABLE records(key INTEGER PRIMARY KEY, type TEXT NOT NULL, version INTEGER NOT NULL,"
    " fields TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    " created_by TEXT, updated_by TEXT);"
    " CREATE INDEX records_type ON records(type, key);"
    " CREATE INDEX records_updated ON records(type, updated_ms);"
    " CREATE TABLE record_unique(type TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL,"
    " record_key INTEGER NOT NULL, PRIMARY KEY (type, field, value)) WITHOUT ROWID;"
    " CREATE INDEX record_unique_record ON record_unique(record_key, field);"
    " CREATE TABLE record_changes(id INTEGER PRIMARY KEY, record_key INTEGER NOT NULL,"
    " type TEXT NOT NULL, at_ms INTEGER NOT NULL, actor TEXT, kind TEXT NOT NULL,"
    " changes TEXT NOT NULL);"
    " CREATE INDEX record_changes_record ON record_changes(record_key, id);"
    " CREATE TABLE record_types(name TEXT PRIMARY KEY, schema TEXT NOT NULL,"
    " updated_ms INTEGER NOT NULL);"
    " CREATE TABLE triggers(key INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " record_type TEXT NOT NULL, definition TEXT NOT NULL, created_ms INTEGER NOT NULL);"
    " CREATE TABLE trigger_enrollments(trigger_key INTEGER NOT NULL, record_key INTEGER NOT NULL,"
    " instance_key INTEGER NOT NULL, at_ms INTEGER NOT NULL);"
    " CREATE INDEX trigger_enrollments_find ON trigger_enrollments(trigger_key, record_key);"
    " CREATE TABLE crm_timers(trigger_key INTEGER NOT NULL, record_key INTEGER NOT NULL,"
    " record_type TEXT NOT NULL, due_ms INTEGER NOT NULL, PRIMARY KEY (trigger_key, record_key))"
    " WITHOUT ROWID;"
    " CREATE INDEX crm_timers_due ON crm_timers(due_ms);"
    " CREATE TABLE crm_state(name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* ------------------------------------------------------------ statements */

#define DEF_COLS \
  "key, process_id, version, version_tag, deployment_key, resource_name, checksum, xml, deployed_ms"
#define INST_COLS                                                                            \
  "key, definition_key, process_id, version, state, incident, business_key, parent_key," \
  " started_ms, ended_ms, row_version, engine_state, variables"
#define JOB_COLS                                                                         \
  "key, instance_key, element_instance_key, element_id, type, retries, state, available_ms," \
  " worker, lease_until_ms, headers, error_message"
#define TASK_INS_COLS                                                                      \
  "key, instance_key, element_instance_key, element_id, assignee, candidate_groups," \
  " candidate_users, due_date, follow_up_date, form_key, priority, created_ms"
#define TASK_COLS TASK_INS_COLS ", state, completed_ms, completed_by"
#define INC_COLS \
  "key, instance_key, element_instance_key, element_id, type, job_key, message, created_ms"
#define MSG_COLS "key, name, correlation_key, message_id, variables, published_ms, expires_ms"

#define STATEMENTS(X)                                                                              \
  X(BEGIN, "BEGIN IMMEDIATE")                                                                      \
  X(COMMIT, "COMMIT")                                                                              \
  X(ROLLBACK, "ROLLBACK")                                                                          \
  X(SAVEPOINT, "SAVEPOINT cf_call")                                                                \
  X(RELEASE, "RELEASE cf_call")                                                                    \
  X(ROLLBACK_TO, "ROLLBACK TO cf_call")                                                            \
  X(DATA_VERSION, "PRAGMA data_version")                                                           \
  X(OP_SAVEPOINT, "SAVEPOINT cf_op")                                                               \
  X(OP_RELEASE, "RELEASE cf_op")                                                                   \
  X(OP_ROLLBACK_TO, "ROLLBACK TO cf_op")                                                           \
  X(DEF_ALL_LATEST, "SELECT key, process_id, version, version_tag, deployment_key, resource_name," \
                    " checksum, NULL, deployed_ms FROM definitions d WHERE version ="              \
                    " (SELECT max(version) FROM definitions e WHERE e.process_id = d.process_id)"  \
                    " ORDER BY process_id")                                                        \
  X(DEF_ALL, "SELECT key, process_id, version, version_tag, deployment_key, resource_name,"        \
             " checksum, NULL, deployed_ms FROM definitions ORDER BY process_id, version")         \
  X(KEYS, "UPDATE keys SET next = next + ?1 WHERE id = 1 RETURNING next - ?1")                     \
  X(DEF_CHECKSUM, "SELECT " DEF_COLS " FROM definitions WHERE process_id = ?1 AND checksum = ?2"   \
                  " ORDER BY version DESC LIMIT 1")                                                \
  X(DEF_NEXT, "SELECT coalesce(max(version), 0) + 1 FROM definitions WHERE process_id = ?1")       \
  X(DEF_INSERT, "INSERT INTO definitions(" DEF_COLS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)")       \
  X(DEF_LATEST, "SELECT " DEF_COLS " FROM definitions WHERE process_id = ?1"                       \
                " ORDER BY version DESC LIMIT 1")                                                  \
  X(DEF_TAG, "SELECT " DEF_COLS " FROM definitions WHERE process_id = ?1 AND version_tag = ?2"     \
             " ORDER BY version DESC LIMIT 1")                                                     \
  X(DEF_VERSION, "SELECT " DEF_COLS " FROM definitions WHERE process_id = ?1 AND version = ?2")    \
  X(DEF_KEY, "SELECT " DEF_COLS " FROM definitions WHERE key = ?1")                                \
  X(INST_INSERT, "INSERT INTO instances(" INST_COLS ")"                                            \
                 " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)")                           \
  X(INST_UPDATE, "UPDATE instances SET definition_key = ?2, process_id = ?3, version = ?4,"        \
                 " state = ?5, incident = ?6, business_key = ?7, parent_key = ?8,"                 \
                 " started_ms = ?9, ended_ms = ?10, row_version = ?11 + 1, engine_state = ?12,"    \
                 " variables = ?13 WHERE key = ?1 AND row_version = ?11")                          \
  X(INST_GET, "SELECT " INST_COLS " FROM instances WHERE key = ?1")                                \
  X(INST_VERSION, "SELECT row_version FROM instances WHERE key = ?1")                                \
  X(INST_DELETE, "DELETE FROM instances WHERE key = ?1")                                           \
  X(JOB_KEYS, "SELECT key FROM jobs WHERE instance_key = ?1")                                      \
  X(JOB_DELETE, "DELETE FROM jobs WHERE key = ?1")                                                 \
  /* A job that stays keeps its lease unless the engine recorded a failure or a */                 \
  /* retry (retries, state or available_ms changed): that attempt is over. */                      \
  X(JOB_UPSERT, "INSERT INTO jobs(" JOB_COLS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"   \
                " ON CONFLICT (key) DO UPDATE SET element_id = excluded.element_id,"               \
                " type = excluded.type, headers = excluded.headers,"                               \
                " error_message = excluded.error_message,"                                         \
                " worker = CASE WHEN retries = excluded.retries AND state = excluded.state"        \
                "   AND available_ms = excluded.available_ms THEN worker ELSE excluded.worker END,"\
                " lease_until_ms = CASE WHEN retries = excluded.retries AND state = excluded.state"\
                "   AND available_ms = excluded.available_ms THEN lease_until_ms"                  \
                "   ELSE excluded.lease_until_ms END,"                                             \
                " retries = excluded.retries, state = excluded.state,"                             \
                " available_ms = excluded.available_ms"                                            \
                /* A job that did not change is not written again. */                            \
                " WHERE element_id IS NOT excluded.element_id OR type IS NOT excluded.type"        \
                "   OR headers IS NOT excluded.headers OR error_message IS NOT excluded.error_message"\
                "   OR retries IS NOT excluded.retries OR state IS NOT excluded.state"             \
                "   OR available_ms IS NOT excluded.available_ms")                                 \
  X(JOBS_DELETE_ALL, "DELETE FROM jobs WHERE instance_key = ?1")                                   \
  X(TASKS_DELETE_ALL, "DELETE FROM user_tasks WHERE instance_key = ?1")                            \
  X(TIMERS_DELETE_ALL, "DELETE FROM timers WHERE instance_key = ?1 AND instance_key <> 0")         \
  X(SUBS_DELETE_ALL, "DELETE FROM subscriptions WHERE instance_key = ?1")                          \
  X(INCS_DELETE_ALL, "DELETE FROM incidents WHERE instance_key = ?1")                              \
  X(HIST_DELETE_ALL, "DELETE FROM history_packs WHERE instance_key = ?1")                                \
  X(TASK_INSERT, "INSERT INTO user_tasks(" TASK_INS_COLS ")"                                       \
                 " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)")                               \
  X(TASK_DONE, "INSERT OR REPLACE INTO user_tasks(" TASK_COLS ")"                                  \
               " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,1,?13,?14)")                       \
  X(TASKS_DELETE_OPEN, "DELETE FROM user_tasks INDEXED BY user_tasks_instance"                    \
                       " WHERE instance_key = ?1 AND state = 0")                                   \
  X(TIMER_INSERT, "INSERT INTO timers(key, instance_key, definition_key, element_id, due_ms)"      \
                  " VALUES (?1,?2,?3,?4,?5)")                                                      \
  X(SUB_INSERT, "INSERT INTO subscriptions(key, instance_key, element_id, kind, name,"             \
                " correlation_key) VALUES (?1,?2,?3,?4,?5,?6)")                                    \
  X(INC_INSERT, "INSERT INTO incidents(" INC_COLS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8)")            \
  X(OF_JOB, "SELECT instance_key FROM jobs WHERE key = ?1")                                        \
  X(OF_TASK, "SELECT instance_key FROM user_tasks WHERE key = ?1 AND state = 0")                                 \
  X(OF_INCIDENT, "SELECT instance_key FROM incidents WHERE key = ?1")                              \
  X(OF_SUB, "SELECT instance_key FROM subscriptions WHERE key = ?1")                               \
  X(OF_TIMER, "SELECT instance_key FROM timers WHERE key = ?1 AND instance_key <> 0")              \
  /* An element instance has no row: its ELEMENT_ACTIVATED event (kind 1) is found in the packs,     \
   * newest first. NEEDSWORK: a scan of the history; an index of element keys would cost every      \
   * activation a row, which the hot path has not been asked to pay. */                             \
  X(OF_ELEMENT, "SELECT instance_key FROM history_packs WHERE instr(events, '[1,' || ?1 || ',') > 0" \
                " OR instr(events, '[1,' || ?1 || ']') > 0"                                          \
                " OR instr(events, '[\"ELEMENT_ACTIVATED\",\"' || ?1 || '\"') > 0"                   \
                " ORDER BY id DESC LIMIT 1")                                                         \
  X(JOBS_CANDIDATES, "SELECT " JOB_COLS " FROM jobs WHERE type = ?1 AND state = 0"                 \
                     " AND available_ms <= ?2 AND lease_until_ms <= ?2 ORDER BY key LIMIT ?3")     \
  X(JOB_LEASE, "UPDATE jobs SET worker = ?2, lease_until_ms = ?3 WHERE key = ?1")                  \
  X(JOB_GET, "SELECT " JOB_COLS " FROM jobs WHERE key = ?1")                                       \
  X(TASK_LIST, "SELECT " TASK_COLS " FROM user_tasks WHERE key > ?1 AND ?5 < 0"                    \
               " AND (?2 IS NULL OR assignee = ?2) AND (?3 IS NULL OR EXISTS (SELECT 1 FROM"       \
               " json_each(user_tasks.candidate_groups) WHERE value = ?3)) ORDER BY key LIMIT ?4") \
  /* One state: through user_tasks_state (state, key), so the open ones are not looked for among */ \
  /* every completed one. */                                                                        \
  X(TASK_LIST_STATE, "SELECT " TASK_COLS " FROM user_tasks INDEXED BY user_tasks_state"            \
                     " WHERE state = ?5 AND key > ?1"                                              \
                     " AND (?2 IS NULL OR assignee = ?2) AND (?3 IS NULL OR EXISTS (SELECT 1 FROM" \
                     " json_each(user_tasks.candidate_groups) WHERE value = ?3)) ORDER BY key LIMIT ?4")\
  X(INC_LIST_ALL, "SELECT " INC_COLS " FROM incidents ORDER BY key")                               \
  X(INC_LIST, "SELECT " INC_COLS " FROM incidents WHERE instance_key = ?1 ORDER BY key")           \
  X(TIMERS_DUE, "SELECT key, instance_key, definition_key, element_id, due_ms FROM timers"         \
                " WHERE due_ms <= ?1 ORDER BY due_ms, key LIMIT ?2")                               \
  X(TIMER_START_SET, "INSERT INTO timers(key, instance_key, definition_key, element_id, due_ms)"   \
                     " VALUES (?1, 0, ?2, ?3, ?4) ON CONFLICT (key) DO UPDATE SET"                 \
                     " definition_key = excluded.definition_key,"                                  \
                     " element_id = excluded.element_id, due_ms = excluded.due_ms"                 \
                     " WHERE instance_key = 0")                                                    \
  X(TIMER_START_DELETE, "DELETE FROM timers WHERE key = ?1 AND instance_key = 0")                  \
  X(SUBS_FIND, "SELECT key, instance_key, element_id, kind, name, correlation_key"                 \
               " FROM subscriptions WHERE kind = ?1 AND name = ?2 AND correlation_key IS ?3"       \
               " ORDER BY key")                                                                    \
  X(MSG_CLEAR_ID, "DELETE FROM messages WHERE message_id = ?1 AND expires_ms <= ?2")               \
  X(MSG_INSERT, "INSERT INTO messages(" MSG_COLS ") VALUES (?1,?2,?3,?4,?5,?6,?7)")                \
  X(MSG_FIND, "SELECT " MSG_COLS " FROM messages WHERE name = ?1 AND correlation_key IS ?2"        \
              " AND expires_ms > ?3 ORDER BY key")                                                 \
  X(MSG_BY_ID, "SELECT 1 FROM messages WHERE message_id = ?1 AND expires_ms > ?2")                 \
  X(MSG_LIST, "SELECT " MSG_COLS " FROM messages WHERE key > ?1 ORDER BY key LIMIT ?2")            \
  X(CORR_LIST, "SELECT message_key, process_id FROM message_correlations"                          \
               " WHERE message_key > ?1 AND message_key <= ?2 ORDER BY message_key, process_id")   \
  X(CORR_GET, "SELECT 1 FROM message_correlations WHERE message_key = ?1 AND process_id = ?2")     \
  X(CORR_MARK, "INSERT OR IGNORE INTO message_correlations VALUES (?1, ?2)")                       \
  X(MSG_EXPIRE_CORR, "DELETE FROM message_correlations WHERE message_key IN"                       \
                     " (SELECT key FROM messages WHERE expires_ms <= ?1)")                         \
  X(MSG_EXPIRE, "DELETE FROM messages WHERE expires_ms <= ?1")                                     \
  X(HIST_INSERT, "INSERT INTO history_packs(instance_key, at_ms, actor, events)"                   \
                 " VALUES (?1, ?2, ?3, ?4)")                                                       \
  X(HIST_LIST, "SELECT at_ms, actor, events FROM history_packs WHERE instance_key = ?1 ORDER BY id")\
  X(PRUNE_PICK, "SELECT key FROM instances WHERE state <> 0 AND ended_ms < ?1"                     \
                " ORDER BY ended_ms LIMIT ?2")

enum stmt_id {
#define STMT_ENUM(id, sql) ST_##id,
  STATEMENTS(STMT_ENUM)
#undef STMT_ENUM
  ST__COUNT
};

static const char *const stmt_sql[] = {
#define STMT_SQL(id, sql) sql,
    STATEMENTS(STMT_SQL)
#undef STMT_SQL
};

/* instance_list: one statement per combination of the filters in use. */
enum { LIST_PROCESS = 1, LIST_STATE = 2, LIST_INCIDENT = 4, LIST_BUSINESS = 8, LIST_PARENT = 16,
       LIST_VARIANTS = 32 };

struct cf_store {
  sqlite3 *db;
  int64_t data_version;      /* PRAGMA data_version when others_wrote last asked */
  bool op_open;              /* between op_begin and op_end */
  bool data_version_known;
  char *path;
  unsigned flags;
  sqlite3_stmt *st[ST__COUNT];
  sqlite3_stmt *list_st[LIST_VARIANTS];
  struct cf__sqlite_cache *cache; /* statements of generated SQL (store_sqlite_search.c), or NULL */
};

/* ------------------------------------------------------------ errors */

/*
 * The errno of the system call behind an I/O error, or 0. The files' own
 * record comes first: sqlite3_system_errno() misses a failed COMMIT (SQLite
 * rolls back before it records one) and reads errno late. A file keeps its
 * last errno, so after an earlier error this may be that one's.
 */
static int os_errno(struct cf_store *s) {
  int e = 0;
  sqlite3_file *wal = NULL;
  if (!s || !s->db) return 0;
  if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) == SQLITE_OK &&
      wal && wal->pMethods && wal->pMethods->xFileControl &&
      wal->pMethods->xFileControl(wal, SQLITE_FCNTL_LAST_ERRNO, &e) == SQLITE_OK && e)
    return e;
  if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_LAST_ERRNO, &e) == SQLITE_OK && e) return e;
  return sqlite3_system_errno(s->db);
}

/*
 * Turns a SQLite result into a crmflow error that says what happened to
 * which file, in words a user can act on. rc is the extended result code
 * (SQLITE_OPEN_EXRESCODE): a read-only folder and a read-only file are told
 * apart by it. For an I/O error the OS errno says which: a file that may not
 * grow (EFBIG, RLIMIT_FSIZE) or a quota fails a write() with it instead of
 * SQLITE_FULL (which SQLite gives for ENOSPC).
 */
static int fail_msg(struct cf_store *s, int rc, const char *msg, struct cf_error *err,
                    const char *what) {
  const char *path = s ? s->path : "?";
  int sys = (rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN ? os_errno(s) : 0;
  if (!msg) msg = sqlite3_errstr(rc);
  switch (rc & 0xff) {
  case SQLITE_NOMEM:
    return cf_error_set(err, CF_ENOMEM, "%s: out of memory (%s)", what, msg);
  case SQLITE_IOERR: {
    /* A failed fsync may have left the data on disk, or not: say only what is known. */
    const char *stored = rc == SQLITE_IOERR_FSYNC || rc == SQLITE_IOERR_DIR_FSYNC
                             ? "it may not have been stored"
                             : "nothing of it was stored";
    if (sys == ENOSPC || sys == EDQUOT)
      return cf_error_set(err, CF_EIO,
                          "%s: the disk is full writing %s (%s; free space, then retry); %s",
                          what, path, strerror(sys), stored);
    if (sys == EFBIG)
      return cf_error_set(err, CF_EIO,
                          "%s: %s cannot grow: it reached the file size limit of this process"
                          " (%s; raise ulimit -f, or free space, then retry); %s",
                          what, path, strerror(sys), stored);
    if (sys)
      return cf_error_set(err, CF_EIO, "%s: an I/O error on %s (%s: %s)", what, path, msg,
                          strerror(sys));
    return cf_error_set(err, CF_EIO, "%s: an I/O error on %s (%s)", what, path, msg);
  }
  case SQLITE_FULL:
    return cf_error_set(err, CF_EIO,
                        "%s: the disk is full writing %s (%s; free space, then retry);"
                        " nothing of it was stored",
                        what, path, msg);
  case SQLITE_READONLY:
    if (rc == SQLITE_READONLY_DIRECTORY)
      return cf_error_set(err, CF_EIO,
                          "%s: the folder of %s is read-only, so SQLite cannot create the"
                          " %s-wal and -shm files it needs beside the database, even to read"
                          " it (make the folder writable)",
                          what, path, path);
    if (rc == SQLITE_READONLY_CANTINIT || rc == SQLITE_READONLY_RECOVERY)
      return cf_error_set(err, CF_EIO,
                          "%s: %s needs its %s-shm set up or recovered, which a reader may not"
                          " do (%s): open it once for writing, or make %s-shm writable",
                          what, path, path, msg, path);
    return cf_error_set(err, CF_EIO, "%s: %s is read-only (%s)", what, path, msg);
  case SQLITE_NOTADB:
    return cf_error_set(err, CF_EIO,
                        "%s: %s is not a crmflow database, or it is corrupt (%s): check the path,"
                        " or restore it from a backup",
                        what, path, msg);
  case SQLITE_CORRUPT:
    return cf_error_set(err, CF_EIO,
                        "%s: %s is corrupt: damaged or truncated (%s); restore it from a backup",
                        what, path, msg);
  case SQLITE_CANTOPEN:
    if (sys)
      return cf_error_set(err, CF_EIO, "%s: cannot open %s (%s: %s)", what, path, msg,
                          strerror(sys));
    return cf_error_set(err, CF_EIO, "%s: cannot open %s (%s)", what, path, msg);
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return cf_error_set(err, CF_ECONFLICT, "%s: %s is locked by another writer (%s)", what, path,
                        msg);
  case SQLITE_CONSTRAINT:
    return cf_error_set(err, CF_ECONFLICT, "%s: %s", what, msg);
  default:
    return cf_error_set(err, CF_EIO, "%s: %s: %s", what, path, msg);
  }
}

static int fail(struct cf_store *s, int rc, struct cf_error *err, const char *what) {
  return fail_msg(s, rc, s && s->db ? sqlite3_errmsg(s->db) : NULL, err, what);
}

static int nomem(struct cf_error *err, const char *what) {
  return cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
}

/* ------------------------------------------------------------ statement helpers */

/* The cached statement id, prepared on first use. Statements are left reset. */
static int prep(struct cf_store *s, enum stmt_id id, sqlite3_stmt **st, struct cf_error *err) {
  if (!s->st[id]) {
    int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->st[id],
                                NULL);
    if (rc != SQLITE_OK) return fail(s, rc, err, "preparing a statement");
  }
  *st = s->st[id];
  return CF_OK;
}

static int bind_text(sqlite3_stmt *st, int i, const char *v) {
  return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static int bind_blob(sqlite3_stmt *st, int i, const char *v, size_t len) {
  if (!v) return sqlite3_bind_null(st, i);
  return sqlite3_bind_blob64(st, i, v, (sqlite3_uint64)len, SQLITE_STATIC);
}

static int bind_key(sqlite3_stmt *st, int i, uint64_t v) {
  return sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

static int bind_limit(sqlite3_stmt *st, int i, size_t v) {
  return sqlite3_bind_int64(st, i, v > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)v);
}

/* Steps st to its end (rows ignored) and resets it. */
static int run(struct cf_store *s, sqlite3_stmt *st, struct cf_error *err, const char *what) {
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
  }
  int r = rc == SQLITE_DONE ? CF_OK : fail(s, rc, err, what);
  sqlite3_reset(st);
  return r;
}

/* A bind failed (only a programming error or out of memory). */
static int bind_failed(struct cf_store *s, sqlite3_stmt *st, struct cf_error *err,
                       const char *what) {
  int r = fail(s, sqlite3_errcode(s->db), err, what);
  sqlite3_reset(st);
  return r;
}

static char *col_str(sqlite3_stmt *st, int i, bool *ok) {
  if (sqlite3_column_type(st, i) == SQLITE_NULL) return NULL;
  const unsigned char *t = sqlite3_column_text(st, i);
  if (!t) {
    *ok = false;
    return NULL;
  }
  char *d = cf_strndup((const char *)t, (size_t)sqlite3_column_bytes(st, i));
  if (!d) *ok = false;
  return d;
}

/* A BLOB column as a NUL-terminated copy (the text it holds) and its length. */
static char *col_blob(sqlite3_stmt *st, int i, size_t *len, bool *ok) {
  *len = 0;
  if (sqlite3_column_type(st, i) == SQLITE_NULL) return NULL;
  const void *b = sqlite3_column_blob(st, i);
  size_t n = (size_t)sqlite3_column_bytes(st, i);
  char *d = cf_malloc(n + 1);
  if (!d) {
    *ok = false;
    return NULL;
  }
  if (n) memcpy(d, b, n);
  d[n] = '\0';
  *len = n;
  return d;
}

static uint64_t col_key(sqlite3_stmt *st, int i) { return (uint64_t)sqlite3_column_int64(st, i); }
static int64_t col_i64(sqlite3_stmt *st, int i) { return sqlite3_column_int64(st, i); }
static int32_t col_i32(sqlite3_stmt *st, int i) { return (int32_t)sqlite3_column_int(st, i); }

/* ------------------------------------------------------------ row readers */

/* Each fills *row from the current result row; false (row released) when out of memory. */

static bool read_definition(sqlite3_stmt *st, void *row) {
  struct cf_store_definition *d = row;
  bool ok = true;
  memset(d, 0, sizeof *d);
  d->key = col_key(st, 0);
  d->process_id = col_str(st, 1, &ok);
  d->version = col_i32(st, 2);
  d->version_tag = col_str(st, 3, &ok);
  d->deployment_key = col_key(st, 4);
  d->resource_name = col_str(st, 5, &ok);
  d->checksum = col_str(st, 6, &ok);
  d->xml = col_blob(st, 7, &d->xml_len, &ok);
  d->deployed_ms = col_i64(st, 8);
  if (!ok) cf_store_definition_release(d);
  return ok;
}

static bool read_instance(sqlite3_stmt *st, void *row) {
  struct cf_store_instance *i = row;
  bool ok = true;
  memset(i, 0, sizeof *i);
  i->key = col_key(st, 0);
  i->definition_key = col_key(st, 1);
  i->process_id = col_str(st, 2, &ok);
  i->version = col_i32(st, 3);
  i->state = (uint8_t)sqlite3_column_int(st, 4);
  i->incident = sqlite3_column_int(st, 5) != 0;
  i->business_key = col_str(st, 6, &ok);
  i->parent_key = col_key(st, 7);
  i->started_ms = col_i64(st, 8);
  i->ended_ms = col_i64(st, 9);
  i->row_version = col_i64(st, 10);
  i->engine_state = col_blob(st, 11, &i->engine_state_len, &ok);
  i->variables = col_str(st, 12, &ok);
  if (!ok) cf_store_instance_release(i);
  return ok;
}

static bool read_job(sqlite3_stmt *st, void *row) {
  struct cf_store_job *j = row;
  bool ok = true;
  memset(j, 0, sizeof *j);
  j->key = col_key(st, 0);
  j->instance_key = col_key(st, 1);
  j->element_instance_key = col_key(st, 2);
  j->element_id = col_str(st, 3, &ok);
  j->type = col_str(st, 4, &ok);
  j->retries = col_i32(st, 5);
  j->state = (uint8_t)sqlite3_column_int(st, 6);
  j->available_ms = col_i64(st, 7);
  j->worker = col_str(st, 8, &ok);
  j->lease_until_ms = col_i64(st, 9);
  j->headers = col_str(st, 10, &ok);
  j->error_message = col_str(st, 11, &ok);
  if (!ok) cf_store_job_release(j);
  return ok;
}

static bool read_task(sqlite3_stmt *st, void *row) {
  struct cf_store_user_task *t = row;
  bool ok = true;
  memset(t, 0, sizeof *t);
  t->key = col_key(st, 0);
  t->instance_key = col_key(st, 1);
  t->element_instance_key = col_key(st, 2);
  t->element_id = col_str(st, 3, &ok);
  t->assignee = col_str(st, 4, &ok);
  t->candidate_groups = col_str(st, 5, &ok);
  t->candidate_users = col_str(st, 6, &ok);
  t->due_date = col_str(st, 7, &ok);
  t->follow_up_date = col_str(st, 8, &ok);
  t->form_key = col_str(st, 9, &ok);
  t->priority = col_i32(st, 10);
  t->created_ms = col_i64(st, 11);
  t->state = (uint8_t)col_i32(st, 12);
  t->completed_ms = col_i64(st, 13);
  t->completed_by = col_str(st, 14, &ok);
  if (!ok) cf_store_user_task_release(t);
  return ok;
}

static bool read_timer(sqlite3_stmt *st, void *row) {
  struct cf_store_timer *t = row;
  bool ok = true;
  memset(t, 0, sizeof *t);
  t->key = col_key(st, 0);
  t->instance_key = col_key(st, 1);
  t->definition_key = col_key(st, 2);
  t->element_id = col_str(st, 3, &ok);
  t->due_ms = col_i64(st, 4);
  if (!ok) cf_store_timer_release(t);
  return ok;
}

static bool read_sub(sqlite3_stmt *st, void *row) {
  struct cf_store_subscription *u = row;
  bool ok = true;
  memset(u, 0, sizeof *u);
  u->key = col_key(st, 0);
  u->instance_key = col_key(st, 1);
  u->element_id = col_str(st, 2, &ok);
  u->kind = (uint8_t)sqlite3_column_int(st, 3);
  u->name = col_str(st, 4, &ok);
  u->correlation_key = col_str(st, 5, &ok);
  if (!ok) cf_store_subscription_release(u);
  return ok;
}

static bool read_incident(sqlite3_stmt *st, void *row) {
  struct cf_store_incident *c = row;
  bool ok = true;
  memset(c, 0, sizeof *c);
  c->key = col_key(st, 0);
  c->instance_key = col_key(st, 1);
  c->element_instance_key = col_key(st, 2);
  c->element_id = col_str(st, 3, &ok);
  c->type = (uint8_t)sqlite3_column_int(st, 4);
  c->job_key = col_key(st, 5);
  c->message = col_str(st, 6, &ok);
  c->created_ms = col_i64(st, 7);
  if (!ok) cf_store_incident_release(c);
  return ok;
}

static bool read_message(sqlite3_stmt *st, void *row) {
  struct cf_store_message *m = row;
  bool ok = true;
  memset(m, 0, sizeof *m);
  m->key = col_key(st, 0);
  m->name = col_str(st, 1, &ok);
  m->correlation_key = col_str(st, 2, &ok);
  m->message_id = col_str(st, 3, &ok);
  m->variables = col_str(st, 4, &ok);
  m->published_ms = col_i64(st, 5);
  m->expires_ms = col_i64(st, 6);
  if (!ok) cf_store_message_release(m);
  return ok;
}

static void rel_definition(void *r) { cf_store_definition_release(r); }
static void rel_instance(void *r) { cf_store_instance_release(r); }
static void rel_job(void *r) { cf_store_job_release(r); }
static void rel_task(void *r) { cf_store_user_task_release(r); }
static void rel_timer(void *r) { cf_store_timer_release(r); }
static void rel_sub(void *r) { cf_store_subscription_release(r); }
static void rel_incident(void *r) { cf_store_incident_release(r); }
static void rel_message(void *r) { cf_store_message_release(r); }

/*
 * Runs a bound statement and reads at most one row into *row: CF_ENOTFOUND
 * (err naming `what`) when there is none. Resets st.
 */
static int fetch_one(struct cf_store *s, sqlite3_stmt *st, bool (*rd)(sqlite3_stmt *, void *),
                     void *row, struct cf_error *err, const char *what) {
  int rc = sqlite3_step(st), r;
  if (rc == SQLITE_ROW)
    r = rd(st, row) ? CF_OK : nomem(err, what);
  else if (rc == SQLITE_DONE)
    r = cf_error_set(err, CF_ENOTFOUND, "%s: not found", what);
  else
    r = fail(s, rc, err, what);
  sqlite3_reset(st);
  return r;
}

/*
 * Runs a bound statement and collects every row into a new array of
 * elements of size sz. On failure nothing is handed out. Resets st.
 */
static int fetch_all(struct cf_store *s, sqlite3_stmt *st, size_t sz,
                     bool (*rd)(sqlite3_stmt *, void *), void (*rel)(void *), void **out,
                     size_t *n, struct cf_error *err, const char *what) {
  char *items = NULL;
  size_t cap = 0, cnt = 0;
  int r = CF_OK, rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (!cf_grow((void **)&items, &cap, cnt, sz) || !rd(st, items + cnt * sz)) {
      r = nomem(err, what);
      goto out;
    }
    cnt++;
  }
  if (rc != SQLITE_DONE) r = fail(s, rc, err, what);
out:
  sqlite3_reset(st);
  if (r != CF_OK) {
    for (size_t i = 0; i < cnt; i++) rel(items + i * sz);
    cf_free(items);
    return r;
  }
  *out = items;
  *n = cnt;
  return CF_OK;
}

/* Runs a statement that yields one integer (or no row: *found false). */
static int fetch_int(struct cf_store *s, sqlite3_stmt *st, int64_t *v, bool *found,
                     struct cf_error *err, const char *what) {
  int rc = sqlite3_step(st), r = CF_OK;
  bool row = rc == SQLITE_ROW;
  int64_t value = row ? sqlite3_column_int64(st, 0) : 0;
  /* Step to the end: an UPDATE ... RETURNING outside a transaction commits there. */
  while (rc == SQLITE_ROW) rc = sqlite3_step(st);
  if (rc != SQLITE_DONE) r = fail(s, rc, err, what);
  sqlite3_reset(st);
  if (r == CF_OK) {
    *found = row;
    if (row) *v = value;
  }
  return r;
}

/* ------------------------------------------------------------ transactions */

static int exec_stmt(struct cf_store *s, enum stmt_id id, struct cf_error *err, const char *what) {
  sqlite3_stmt *st = NULL;
  int r = prep(s, id, &st, err);
  return r ? r : run(s, st, err, what);
}

static bool in_tx(struct cf_store *s) { return !sqlite3_get_autocommit(s->db); }

static int sq_begin(struct cf_store *s, struct cf_error *err) {
  if (s->flags & CF_STORE_READONLY)
    return cf_error_set(err, CF_EINVAL, "begin: %s was opened read-only", s->path);
  if (in_tx(s)) return cf_error_set(err, CF_EINVAL, "begin: a transaction is already open");
  return exec_stmt(s, ST_BEGIN, err, "begin");
}

static void sq_rollback(struct cf_store *s) {
  s->op_open = false;
  if (in_tx(s)) {
    sqlite3_stmt *st = NULL;
    if (prep(s, ST_ROLLBACK, &st, NULL) == CF_OK) run(s, st, NULL, "rollback");
  }
}

/* A failed commit rolls back: nothing of the transaction is stored. */
static int sq_commit(struct cf_store *s, struct cf_error *err) {
  if (!in_tx(s))
    return cf_error_set(err, CF_EINVAL,
                        "commit: no transaction is open (an earlier error rolled it back)");
  int r = exec_stmt(s, ST_COMMIT, err, "commit");
  if (r != CF_OK) sq_rollback(s);
  return r;
}

enum { TX_NONE, TX_OWN, TX_SAVEPOINT };

/*
 * Opens the scope of one write call: a transaction of its own when the
 * caller has none open, else a savepoint inside the caller's.
 */
static int call_begin(struct cf_store *s, int *scope, struct cf_error *err, const char *what) {
  *scope = TX_NONE;
  if (s->flags & CF_STORE_READONLY)
    return cf_error_set(err, CF_EINVAL, "%s: %s was opened read-only", what, s->path);
  if (in_tx(s)) {
    /* Inside an operation its savepoint undoes a failed call with the rest (op_end keep=false). */
    if (s->op_open) return CF_OK;
    int r = exec_stmt(s, ST_SAVEPOINT, err, what);
    if (r == CF_OK) *scope = TX_SAVEPOINT;
    return r;
  }
  int r = exec_stmt(s, ST_BEGIN, err, what);
  if (r == CF_OK) *scope = TX_OWN;
  return r;
}

/* Closes the scope: keeps the call's writes when r is CF_OK, else undoes them. Returns r or the commit's error. */
static int call_end(struct cf_store *s, int scope, int r, struct cf_error *err) {
  if (scope == TX_OWN) {
    if (r == CF_OK) return sq_commit(s, err);
    sq_rollback(s);
  } else if (scope == TX_SAVEPOINT) {
    /* After SQLITE_FULL or an I/O error SQLite may have rolled back the whole transaction. */
    if (r != CF_OK && in_tx(s)) exec_stmt(s, ST_ROLLBACK_TO, NULL, "rollback");
    if (in_tx(s)) {
      int rr = exec_stmt(s, ST_RELEASE, r == CF_OK ? err : NULL, "release");
      if (r == CF_OK) r = rr;
    }
  }
  return r;
}

/* ------------------------------------------------------------ open, migrate, close */

static void sq_close(struct cf_store *s) {
  if (!s) return;
  if (s->db) {
    if (in_tx(s)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < ST__COUNT; i++) sqlite3_finalize(s->st[i]);
    for (int i = 0; i < LIST_VARIANTS; i++) sqlite3_finalize(s->list_st[i]);
    cf__store_sqlite_cache_free(s->cache);
    sqlite3_close(s->db);
  }
  cf_free(s->path);
  cf_free(s);
}

static int exec_sql(struct cf_store *s, const char *sql, struct cf_error *err, const char *what) {
  char *msg = NULL;
  int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
  int r = rc == SQLITE_OK ? CF_OK : fail_msg(s, rc, msg, err, what);
  sqlite3_free(msg);
  return r;
}

int cf__store_sqlite_exec(struct cf_store *s, const char *sql, struct cf_error *err) {
  return exec_sql(s, sql, err, "exec");
}

/*
 * The schema version of the open database: 0 for a new (empty) database.
 * A database with tables but no schema_version is somebody else's.
 */
static int schema_version(struct cf_store *s, int *version, struct cf_error *err) {
  sqlite3_stmt *st = NULL;
  int r = CF_OK, rc;
  rc = sqlite3_prepare_v2(s->db,
                          "SELECT (SELECT count(*) FROM sqlite_schema WHERE name = 'schema_version'),"
                          " (SELECT count(*) FROM sqlite_schema WHERE type = 'table')",
                          -1, &st, NULL);
  if (rc != SQLITE_OK) return fail(s, rc, err, "reading the schema");
  rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    r = fail(s, rc, err, "reading the schema");
    goto out;
  }
  int has_version = sqlite3_column_int(st, 0), tables = sqlite3_column_int(st, 1);
  sqlite3_finalize(st);
  st = NULL;
  if (!has_version) {
    *version = 0;
    if (tables > 0)
      r = cf_error_set(err, CF_EIO,
                       "%s is not a crmflow database (it is a SQLite database of something else)",
                       s->path);
    goto out;
  }
  rc = sqlite3_prepare_v2(s->db, "SELECT max(version) FROM schema_version", -1, &st, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    r = fail(s, rc, err, "reading the schema version");
    goto out;
  }
  *version = sqlite3_column_int(st, 0);
out:
  sqlite3_finalize(st);
  return r;
}

static int newer_schema(struct cf_store *s, int v, struct cf_error *err) {
  return cf_error_set(err, CF_EUNSUPPORTED,
                      "%s: the database was written by a newer crmflow (schema %d, this one knows"
                      " up to %d)",
                      s->path, v, SCHEMA_VERSION);
}

/* Applies the pending migrations, each in one transaction. */
static int migrate(struct cf_store *s, struct cf_error *err) {
  int v, r = schema_version(s, &v, err);
  if (r != CF_OK) return r;
  if (v > SCHEMA_VERSION) return newer_schema(s, v, err);
  while (v < SCHEMA_VERSION) {
    /* Read the version again under the write lock: another process may have migrated. */
    if ((r = exec_sql(s, "BEGIN IMMEDIATE", err, "migrating")) != CF_OK) return r;
    if ((r = schema_version(s, &v, err)) != CF_OK) goto undo;
    if (v >= SCHEMA_VERSION) {
      sq_rollback(s);
      return v > SCHEMA_VERSION ? newer_schema(s, v, err) : CF_OK;
    }
    if (v == 0)
      r = exec_sql(s, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);"
                      "INSERT INTO schema_version SELECT 0"
                      " WHERE NOT EXISTS (SELECT 1 FROM schema_version);",
                   err, "migrating");
    char *msg = NULL;
    int rc = SQLITE_OK;
    if (r == CF_OK) rc = sqlite3_exec(s->db, migrations[v], NULL, NULL, &msg);
    if (r == CF_OK && rc != SQLITE_OK) {
      struct cf_error e;
      fail_msg(s, rc, msg, &e, "migrating");
      r = cf_error_set(err, e.code,
                       "%s: migration %d failed (%s); the database is as it was", s->path, v + 1,
                       msg ? msg : sqlite3_errstr(rc));
    }
    sqlite3_free(msg);
    if (r != CF_OK) goto undo;
    char sql[64];
    snprintf(sql, sizeof sql, "UPDATE schema_version SET version = %d", v + 1);
    if ((r = exec_sql(s, sql, err, "migrating")) != CF_OK) goto undo;
    if ((r = exec_sql(s, "COMMIT", err, "migrating")) != CF_OK) goto undo;
    v++;
  }
  return CF_OK;
undo:
  sq_rollback(s);
  return r;
}

/*
 * Process-wide SQLite settings, once, before SQLite starts: no memory
 * statistics (they take a global mutex on every allocation, and a command
 * makes many).
 */
static void sqlite_configure(void) { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

static int sq_open(const char *location, unsigned flags, struct cf_store **out,
                   struct cf_error *err) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, sqlite_configure);
  int r = CF_OK, rc;
  struct cf_store *s = cf_calloc(1, sizeof *s);
  if (!s || !(s->path = cf_strdup(location))) {
    cf_free(s);
    return nomem(err, "opening the store");
  }
  s->flags = flags;
  bool ro = flags & CF_STORE_READONLY;
  /* An empty file where a database was (truncated to nothing) is not taken for a new one. */
  struct stat fst, wst;
  char walp[4096];
  snprintf(walp, sizeof walp, "%s-wal", location);
  if (stat(location, &fst) == 0 && S_ISREG(fst.st_mode) && fst.st_size == 0 &&
      !(stat(walp, &wst) == 0 && wst.st_size > 0)) {
    r = cf_error_set(err, CF_EIO,
                     "%s is empty (0 bytes), not a crmflow database: restore it from a backup, or remove it"
                     " to start a new database",
                     location);
    goto out;
  }
  int oflags = (ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
               SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  rc = sqlite3_open_v2(location, &s->db, oflags, NULL);
  if (rc != SQLITE_OK) {
    r = s->db ? fail(s, rc, err, "opening") : fail_msg(s, rc, NULL, err, "opening");
    goto out;
  }
  sqlite3_busy_timeout(s->db, 5000);
  /* A larger lookaside: most of a statement's small allocations come from it instead of malloc. */
  sqlite3_db_config(s->db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 512, 1024);
  /* SQLite opens a file it may not write read-only without saying so. */
  if (!ro && sqlite3_db_readonly(s->db, "main") == 1) {
    r = cf_error_set(err, CF_EIO,
                     "%s is read-only (no permission to write it): fix its permissions, or open"
                     " it read-only",
                     location);
    goto out;
  }
  if (!ro) {
    /* Also the first read of the file: a file that is no database fails here. */
    if ((r = exec_sql(s, "PRAGMA journal_mode = WAL", err, "opening")) != CF_OK) goto out;
    if ((r = exec_sql(s,
                      flags & CF_STORE_FAST ? "PRAGMA synchronous = NORMAL"
                                            : "PRAGMA synchronous = FULL",
                      err, "opening")) != CF_OK)
      goto out;
    /* A page cache that holds the hot pages of a busy database, and checkpoints every 32 MiB
     * of WAL rather than every 4 MiB: a page written by many batches is copied back once.
     * Temporary files in memory: the savepoint of every operation keeps its undo pages there
     * instead of writing them to a file. */
    if ((r = exec_sql(s, "PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 8192; PRAGMA temp_store = MEMORY", err, "opening")) != CF_OK)
      goto out;
    r = migrate(s, err);
  } else {
    if ((r = exec_sql(s, "PRAGMA query_only = 1", err, "opening")) != CF_OK) goto out;
    int v;
    if ((r = schema_version(s, &v, err)) != CF_OK) goto out;
    if (v > SCHEMA_VERSION)
      r = newer_schema(s, v, err);
    else if (v == 0)
      r = cf_error_set(err, CF_EIO, "%s is not a crmflow database (it has no schema)", location);
    else if (v < SCHEMA_VERSION)
      r = cf_error_set(err, CF_EUNSUPPORTED,
                       "%s has schema %d, this crmflow needs %d: open it once for writing to"
                       " upgrade it",
                       location, v, SCHEMA_VERSION);
  }
out:
  if (r != CF_OK) {
    sq_close(s);
    return r;
  }
  *out = s;
  return CF_OK;
}

/* ------------------------------------------------------------ keys */

static int sq_reserve_keys(struct cf_store *s, uint64_t n, uint64_t *first, struct cf_error *err) {
  static const char what[] = "reserving keys";
  if (n == 0 || n > (uint64_t)INT64_MAX / 2) return cf_error_set(err, CF_EINVAL, "%s: bad count", what);
  if (s->flags & CF_STORE_READONLY)
    return cf_error_set(err, CF_EINVAL, "%s: %s was opened read-only", what, s->path);
  sqlite3_stmt *st = NULL;
  int r = prep(s, ST_KEYS, &st, err);
  if (r) return r;
  if (bind_key(st, 1, n)) return bind_failed(s, st, err, what);
  /* One statement: atomic in or out of a transaction. */
  int64_t v = 0;
  bool found;
  if ((r = fetch_int(s, st, &v, &found, err, what)) != CF_OK) return r;
  if (!found) return cf_error_set(err, CF_EIO, "%s: %s has no key counter", what, s->path);
  *first = (uint64_t)v;
  return CF_OK;
}

/* ------------------------------------------------------------ deployments */

static int sq_definition_find_checksum(struct cf_store *s, const char *process_id,
                                       const char *checksum, struct cf_store_definition *out,
                                       struct cf_error *err) {
  sqlite3_stmt *st = NULL;
  int r = prep(s, ST_DEF_CHECKSUM, &st, err);
  if (r) return r;
  if (bind_text(st, 1, process_id) || bind_text(st, 2, checksum))
    return bind_failed(s, st, err, "finding a deployment");
  struct cf_store_definition d;
  r = fetch_one(s, st, read_definition, &d, err, "finding a deployment");
  if (r == CF_ENOTFOUND)
    return cf_error_set(err, CF_ENOTFOUND, "no deployment of process '%s' with checksum %s",
                        process_id, checksum);
  if (r == CF_OK) *out = d;
  return r;
}

static int sq_definition_insert(struct cf_store *s, struct cf_store_definition *d,
                                struct cf_error *err) {
  static const char what[] = "deploying";
  if (!d->key || !d->process_id || !d->resource_name || !d->checksum || !d->xml)
    return cf_error_set(err, CF_EINVAL, "%s: a definition needs a key, process id, resource"
                        " name, checksum and XML", what);
  int scope, r = call_begin(s, &scope, err, what);
  if (r) return r;
  sqlite3_stmt *st = NULL;
  int32_t version = d->version;
  if (version <= 0) {
    int64_t v = 1;
    bool found;
    if ((r = prep(s, ST_DEF_NEXT, &st, err)) != CF_OK) goto out;
    if (bind_text(st, 1, d->process_id)) {
      r = bind_failed(s, st, err, what);
      goto out;
    }
    if ((r = fetch_int(s, st, &v, &found, err, what)) != CF_OK) goto out;
    version = (int32_t)v;
  }
  if ((r = prep(s, ST_DEF_INSERT, &st, err)) != CF_OK) goto out;
  if (bind_key(st, 1, d->key) || bind_text(st, 2, d->process_id) ||
      sqlite3_bind_int(st, 3, version) || bind_text(st, 4, d->version_tag) ||
      bind_key(st, 5, d->deployment_key) || bind_text(st, 6, d->resource_name) ||
      bind_text(st, 7, d->checksum) || bind_blob(st, 8, d->xml, d->xml_len) ||
      sqlite3_bind_int64(st, 9, d->deployed_ms)) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  r = run(s, st, err, what);
out:
  r = call_end(s, scope, r, err);
  if (r == CF_OK) d->version = version;
  return r;
}

static int sq_definition_get(struct cf_store *s, const char *process_id, int32_t version,
                             const char *version_tag, struct cf_store_definition *out,
                             struct cf_error *err) {
  sqlite3_stmt *st = NULL;
  enum stmt_id id = version_tag ? ST_DEF_TAG : version > 0 ? ST_DEF_VERSION : ST_DEF_LATEST;
  int r = prep(s, id, &st, err);
  if (r) return r;
  int b = bind_text(st, 1, process_id);
  if (id == ST_DEF_TAG) b |= bind_text(st, 2, version_tag);
  if (id == ST_DEF_VERSION) b |= sqlite3_bind_int(st, 2, version);
  if (b) return bind_failed(s, st, err, "getting a definition");
  struct cf_store_definition d;
  r = fetch_one(s, st, read_definition, &d, err, "getting a definition");
  if (r == CF_ENOTFOUND) {
    if (id == ST_DEF_TAG)
      return cf_error_set(err, CF_ENOTFOUND, "no process '%s' with version tag '%s' is deployed",
                          process_id, version_tag);
    if (id == ST_DEF_VERSION)
      return cf_error_set(err, CF_ENOTFOUND, "no process '%s' version %d is deployed", process_id,
                          (int)version);
    return cf_error_set(err, CF_ENOTFOUND, "no process '%s' is deployed", process_id);
  }
  if (r == CF_OK) *out = d;
  return r;
}

static int sq_definition_by_key(struct cf_store *s, uint64_t key, struct cf_store_definition *out,
                                struct cf_error *err) {
  sqlite3_stmt *st = NULL;
  int r = prep(s, ST_DEF_KEY, &st, err);
  if (r) return r;
  if (bind_key(st, 1, key)) return bind_failed(s, st, err, "getting a definition");
  struct cf_store_definition d;
  r = fetch_one(s, st, read_definition, &d, err, "getting a definition");
  if (r == CF_ENOTFOUND)
    return cf_error_set(err, CF_ENOTFOUND, "no process definition with key %llu",
                        (unsigned long long)key);
  if (r == CF_OK) *out = d;
  return r;
}

/* ------------------------------------------------------------ instances */

static int bind_instance(sqlite3_stmt *st, const struct cf_store_instance *i) {
  return bind_key(st, 1, i->key) | bind_key(st, 2, i->definition_key) |
         bind_text(st, 3, i->process_id) | sqlite3_bind_int(st, 4, i->version) |
         sqlite3_bind_int(st, 5, i->state) | sqlite3_bind_int(st, 6, i->incident ? 1 : 0) |
         bind_text(st, 7, i->business_key) | bind_key(st, 8, i->parent_key) |
         sqlite3_bind_int64(st, 9, i->started_ms) | sqlite3_bind_int64(st, 10, i->ended_ms) |
         bind_blob(st, 12, i->engine_state, i->engine_state_len) |
         bind_text(st, 13, i->variables);
}

/* Runs statement id with ?1 = key (the DELETE ... WHERE instance_key = ?1 family). */
static int run_key(struct cf_store *s, enum stmt_id id, uint64_t key, struct cf_error *err,
                   const char *what) {
  sqlite3_stmt *st = NULL;
  int r = prep(s, id, &st, err);
  if (r) return r;
  if (bind_key(st, 1, key)) return bind_failed(s, st, err, what);
  return run(s, st, err, what);
}

static bool rows_have_job(const struct cf_store_instance_rows *rows, uint64_t key) {
  for (size_t i = 0; rows && i < rows->njobs; i++)
    if (rows->jobs[i].key == key) return true;
  return false;
}

/* Deletes the instance's jobs that are not in rows. */
static int jobs_drop_missing(struct cf_store *s, uint64_t ikey,
                             const struct cf_store_instance_rows *rows, struct cf_error *err,
                             const char *what) {
  uint64_t stack[32], *gone = stack;
  size_t n = 0, cap = 32;
  sqlite3_stmt *st = NULL;
  int r = prep(s, ST_JOB_KEYS, &st, err), rc;
  if (r) return r;
  if (bind_key(st, 1, ikey)) return bind_failed(s, st, err, what);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    uint64_t k = col_key(st, 0);
    if (rows_have_job(rows, k)) continue;
    if (n == cap) {
      uint64_t *g = cf_malloc(2 * cap * sizeof *g);
      if (!g) {
        sqlite3_reset(st);
        r = nomem(err, what);
        goto out;
      }
      memcpy(g, gone, n * sizeof *g);
      if (gone != stack) cf_free(gone);
      gone = g;
      cap *= 2;
    }
    gone[n++] = k;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    r = fail(s, rc, err, what);
    goto out;
  }
  for (size_t i = 0; i < n && r == CF_OK; i++) r = run_key(s, ST_JOB_DELETE, gone[i], err, what);
out:
  if (gone != stack) cf_free(gone);
  return r;
}

/*
 * Writes the side rows of instance ikey. fresh: the instance is new, so
 * there is nothing to replace. Jobs are upserted (a job that stays keeps its
 * lease); the other rows are replaced whole.
 */
static int rows_write(struct cf_store *s, uint64_t ikey, const struct cf_store_instance_rows *rows,
                      bool fresh, struct cf_error *err, const char *what) {
  int r = CF_OK;
  sqlite3_stmt *st = NULL;
  if (!fresh) {
    /* Kinds the caller knows the stored instance has none of are not looked at. */
    unsigned none = rows ? rows->known_empty : 0;
    if (rows && rows->prior_jobs_known) {
      for (size_t i = 0; i < rows->nprior_jobs && r == CF_OK; i++)
        if (!rows_have_job(rows, rows->prior_jobs[i])) r = run_key(s, ST_JOB_DELETE, rows->prior_jobs[i], err, what);
      if (r) return r;
      none |= CF_STORE_ROWS_JOBS;
    }
    if ((!(none & CF_STORE_ROWS_JOBS) && (r = jobs_drop_missing(s, ikey, rows, err, what))) ||
        (!(none & CF_STORE_ROWS_TASKS) && (r = run_key(s, ST_TASKS_DELETE_OPEN, ikey, err, what))) ||
        (!(none & CF_STORE_ROWS_TIMERS) && (r = run_key(s, ST_TIMERS_DELETE_ALL, ikey, err, what))) ||
        (!(none & CF_STORE_ROWS_SUBS) && (r = run_key(s, ST_SUBS_DELETE_ALL, ikey, err, what))) ||
        (!(none & CF_STORE_ROWS_INCIDENTS) && (r = run_key(s, ST_INCS_DELETE_ALL, ikey, err, what))))
      return r;
  }
  if (!rows) return CF_OK;
  for (size_t i = 0; i < rows->njobs; i++) {
    const struct cf_store_job *j = &rows->jobs[i];
    if ((r = prep(s, ST_JOB_UPSERT, &st, err))) return r;
    if (bind_key(st, 1, j->key) | bind_key(st, 2, ikey) | bind_key(st, 3, j->element_instance_key) |
        bind_text(st, 4, j->element_id ? j->element_id : "") |
        bind_text(st, 5, j->type ? j->type : "") | sqlite3_bind_int(st, 6, j->retries) |
        sqlite3_bind_int(st, 7, j->state) | sqlite3_bind_int64(st, 8, j->available_ms) |
        bind_text(st, 9, j->worker) | sqlite3_bind_int64(st, 10, j->worker ? j->lease_until_ms : 0) |
        bind_text(st, 11, j->headers) | bind_text(st, 12, j->error_message))
      return bind_failed(s, st, err, what);
    if ((r = run(s, st, err, what))) return r;
  }
  for (size_t i = 0; i < rows->ntasks; i++) {
    const struct cf_store_user_task *t = &rows->tasks[i];
    if ((r = prep(s, ST_TASK_INSERT, &st, err))) return r;
    if (bind_key(st, 1, t->key) | bind_key(st, 2, ikey) | bind_key(st, 3, t->element_instance_key) |
        bind_text(st, 4, t->element_id ? t->element_id : "") | bind_text(st, 5, t->assignee) |
        bind_text(st, 6, t->candidate_groups) | bind_text(st, 7, t->candidate_users) |
        bind_text(st, 8, t->due_date) | bind_text(st, 9, t->follow_up_date) |
        bind_text(st, 10, t->form_key) | sqlite3_bind_int(st, 11, t->priority) |
        sqlite3_bind_int64(st, 12, t->created_ms))
      return bind_failed(s, st, err, what);
    if ((r = run(s, st, err, what))) return r;
  }
  for (size_t i = 0; i < rows->ntimers; i++) {
    const struct cf_store_timer *t = &rows->timers[i];
    if ((r = prep(s, ST_TIMER_INSERT, &st, err))) return r;
    if (bind_key(st, 1, t->key) | bind_key(st, 2, ikey) | bind_key(st, 3, t->definition_key) |
        bind_text(st, 4, t->element_id ? t->element_id : "") |
        sqlite3_bind_int64(st, 5, t->due_ms))
      return bind_failed(s, st, err, what);
    if ((r = run(s, st, err, what))) return r;
  }
  for (size_t i = 0; i < rows->nsubs; i++) {
    const struct cf_store_subscription *u = &rows->subs[i];
    if ((r = prep(s, ST_SUB_INSERT, &st, err))) return r;
    if (bind_key(st, 1, u->key) | bind_key(st, 2, ikey) |
        bind_text(st, 3, u->element_id ? u->element_id : "") | sqlite3_bind_int(st, 4, u->kind) |
        bind_text(st, 5, u->name ? u->name : "") | bind_text(st, 6, u->correlation_key))
      return bind_failed(s, st, err, what);
    if ((r = run(s, st, err, what))) return r;
  }
  for (size_t i = 0; i < rows->nincidents; i++) {
    const struct cf_store_incident *c = &rows->incidents[i];
    if ((r = prep(s, ST_INC_INSERT, &st, err))) return r;
    if (bind_key(st, 1, c->key) | bind_key(st, 2, ikey) | bind_key(st, 3, c->element_instance_key) |
        bind_text(st, 4, c->element_id ? c->element_id : "") | sqlite3_bind_int(st, 5, c->type) |
        bind_key(st, 6, c->job_key) | bind_text(st, 7, c->message) |
        sqlite3_bind_int64(st, 8, c->created_ms))
      return bind_failed(s, st, err, what);
    if ((r = run(s, st, err, what))) return r;
  }
  return CF_OK;
}

static int sq_instance_insert(struct cf_store *s, const struct cf_store_instance *i,
                              const struct cf_store_instance_rows *rows, struct cf_error *err) {
  static const char what[] = "storing a new instance";
  if (!i->key || !i->process_id)
    return cf_error_set(err, CF_EINVAL, "%s: an instance needs a key and a process id", what);
  int scope, r = call_begin(s, &scope, err, what);
  if (r) return r;
  sqlite3_stmt *st = NULL;
  if ((r = prep(s, ST_INST_INSERT, &st, err))) goto out;
  if (bind_instance(st, i) | sqlite3_bind_int64(st, 11, i->row_version)) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  if ((r = run(s, st, err, what))) goto out;
  r = rows_write(s, i->key, rows, true, err, what);
out:
  return call_end(s, scope, r, err);
}

static int sq_instance_update(struct cf_store *s, const struct cf_store_instance *i,
                              int64_t expected_version, const struct cf_store_instance_rows *rows,
                              struct cf_error *err) {
  static const char what[] = "storing an instance";
  if (!i->key || !i->process_id)
    return cf_error_set(err, CF_EINVAL, "%s: an instance needs a key and a process id", what);
  int scope, r = call_begin(s, &scope, err, what);
  if (r) return r;
  sqlite3_stmt *st = NULL;
  if ((r = prep(s, ST_INST_UPDATE, &st, err))) goto out;
  if (bind_instance(st, i) | sqlite3_bind_int64(st, 11, expected_version)) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  if ((r = run(s, st, err, what))) goto out;
  if (sqlite3_changes(s->db) == 0) {
    int64_t v = 0;
    bool found = false;
    if ((r = prep(s, ST_INST_GET, &st, err))) goto out;
    if (bind_key(st, 1, i->key)) {
      r = bind_failed(s, st, err, what);
      goto out;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      found = true;
      v = col_i64(st, 10);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
      r = fail(s, rc, err, what);
    else if (!found)
      r = cf_error_set(err, CF_ENOTFOUND, "%s: no instance with key %llu", what,
                       (unsigned long long)i->key);
    else
      r = cf_error_set(err, CF_ECONFLICT,
                       "instance %llu was changed concurrently (version %lld, expected %lld):"
                       " load it again and retry",
                       (unsigned long long)i->key, (long long)v, (long long)expected_version);
    goto out;
  }
  r = rows_write(s, i->key, rows, false, err, what);
out:
  return call_end(s, scope, r, err);
}

static int sq_instance_get(struct cf_store *s, uint64_t key, struct cf_store_instance *out,
                           struct cf_error *err) {
  sqlite3_stmt *st = NULL;
  int r = prep(s, ST_INST_GET, &st, err);
  if (r) return r;
  if (bind_key(st, 1, key)) return bind_failed(s, st, err, "getting an instance");
  struct cf_store_instance i;
  r = fetch_one(s, st, read_instance, &i, err, "getting an instance");
  if (r == CF_ENOTFOUND)
    return cf_error_set(err, CF_ENOTFOUND, "no instance with key %llu", (unsigned long long)key);
  if (r == CF_OK) *out = i;
  return r;
}

/* Lists leave engine_state out (NULL): it is only needed to run an instance. */
static int sq_instance_version(struct cf_store *s, uint64_t key, int64_t *row_version, struct cf_error *err) {
  static const char what[] = "reading an instance's version";
  sqlite3_stmt *st = NULL;
  int r = prep(s, ST_INST_VERSION, &st, err), rc;
  if (r) return r;
  if (bind_key(st, 1, key)) return bind_failed(s, st, err, what);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *row_version = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  if (rc == SQLITE_ROW) return CF_OK;
  if (rc == SQLITE_DONE)
    return cf_error_set(err, CF_ENOTFOUND, "no process instance %llu", (unsigned long long)key);
  return fail(s, rc, err, what);
}

static int sq_instance_list(struct cf_store *s, const struct cf_store_instance_filter *f,
                            struct cf_store_instance **out, size_t *n, struct cf_error *err) {
  static const char what[] = "listing instances";
  struct cf_store_instance_filter none = {.state = -1, .incident = -1};
  if (!f) f = &none;
  unsigned mask = (f->process_id ? LIST_PROCESS : 0) | (f->state >= 0 ? LIST_STATE : 0) |
                  (f->incident >= 0 ? LIST_INCIDENT : 0) | (f->business_key ? LIST_BUSINESS : 0) |
                  (f->parent_key ? LIST_PARENT : 0);
  if (!s->list_st[mask]) {
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT key, definition_key, process_id, version, state, incident, business_key,"
             " parent_key, started_ms, ended_ms, row_version, NULL, variables FROM instances"
             " WHERE key > ?1%s%s%s%s%s ORDER BY key LIMIT ?6",
             mask & LIST_PROCESS ? " AND process_id = ?2" : "",
             mask & LIST_STATE ? " AND state = ?3" : "",
             mask & LIST_INCIDENT ? " AND incident = ?4" : "",
             mask & LIST_BUSINESS ? " AND business_key = ?5" : "",
             mask & LIST_PARENT ? " AND parent_key = ?7" : "");
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->list_st[mask], NULL);
    if (rc != SQLITE_OK) return fail(s, rc, err, what);
  }
  sqlite3_stmt *st = s->list_st[mask];
  int b = bind_key(st, 1, f->after_key) | bind_limit(st, 6, f->limit ? f->limit : 1000);
  if (mask & LIST_PROCESS) b |= bind_text(st, 2, f->process_id);
  if (mask & LIST_STATE) b |= sqlite3_bind_int(st, 3, f->state);
  if (mask & LIST_INCIDENT) b |= sqlite3_bind_int(st, 4, f->incident ? 1 : 0);
  if (mask & LIST_BUSINESS) b |= bind_text(st, 5, f->business_key);
  if (mask & LIST_PARENT) b |= bind_key(st, 7, f->parent_key);
  if (b) return bind_failed(s, st, err, what);
  return fetch_all(s, st, sizeof **out, read_instance, rel_instance, (void **)out, n, err, what);
}

static int sq_instance_of(struct cf_store *s, const char *what, uint64_t key,
                          uint64_t *instance_key, struct cf_error *err) {
  enum stmt_id id;
  if (!what) return cf_error_set(err, CF_EINVAL, "instance_of: what is missing");
  if (!strcmp(what, "job"))
    id = ST_OF_JOB;
  else if (!strcmp(what, "user_task") || !strcmp(what, "task"))
    id = ST_OF_TASK;
  else if (!strcmp(what, "incident"))
    id = ST_OF_INCIDENT;
  else if (!strcmp(what, "subscription"))
    id = ST_OF_SUB;
  else if (!strcmp(what, "timer"))
    id = ST_OF_TIMER;
  else if (!strcmp(what, "element"))
    id = ST_OF_ELEMENT;
  else
    return cf_error_set(err, CF_EINVAL,
                        "instance_of: '%s' is not job, user_task, incident, subscription, timer or element",
                        what);
  sqlite3_stmt *st = NULL;
  int r = prep(s, id, &st, err);
  if (r) return r;
  if (bind_key(st, 1, key)) return bind_failed(s, st, err, "finding an instance");
  int64_t v = 0;
  bool found;
  if ((r = fetch_int(s, st, &v, &found, err, "finding an instance"))) return r;
  if (!found)
    return cf_error_set(err, CF_ENOTFOUND, "no %s with key %llu", what, (unsigned long long)key);
  *instance_key = (uint64_t)v;
  return CF_OK;
}

/* ------------------------------------------------------------ jobs */

/*
 * Reads the candidates first and builds the rows (out of memory: nothing
 * leased), then leases them: inside the caller's transaction, or one of its
 * own, so no other writer can lease the same job.
 */
static int sq_jobs_activate(struct cf_store *s, const char *type, size_t max, const char *worker,
                            int64_t now_ms, int64_t lease_until_ms, struct cf_store_job **out,
                            size_t *n, struct cf_error *err) {
  static const char what[] = "activating jobs";
  if (!type || !worker) return cf_error_set(err, CF_EINVAL, "%s: a type and a worker are needed", what);
  if (max == 0) {
    *out = NULL;
    *n = 0;
    return CF_OK;
  }
  int scope, r = call_begin(s, &scope, err, what);
  if (r) return r;
  struct cf_store_job *jobs = NULL;
  size_t cnt = 0;
  sqlite3_stmt *st = NULL;
  if ((r = prep(s, ST_JOBS_CANDIDATES, &st, err))) goto out;
  if (bind_text(st, 1, type) | sqlite3_bind_int64(st, 2, now_ms) | bind_limit(st, 3, max)) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  if ((r = fetch_all(s, st, sizeof *jobs, read_job, rel_job, (void **)&jobs, &cnt, err, what)))
    goto out;
  for (size_t i = 0; i < cnt; i++) {
    char *w = cf_strdup(worker);
    if (!w) {
      r = nomem(err, what);
      goto out;
    }
    cf_free(jobs[i].worker);
    jobs[i].worker = w;
    jobs[i].lease_until_ms = lease_until_ms;
  }
  for (size_t i = 0; i < cnt && r == CF_OK; i++) {
    if ((r = prep(s, ST_JOB_LEASE, &st, err))) goto out;
    if (bind_key(st, 1, jobs[i].key) | bind_text(st, 2, worker) |
        sqlite3_bind_int64(st, 3, lease_until_ms)) {
      r = bind_failed(s, st, err, what);
      goto out;
    }
    r = run(s, st, err, what);
  }
out:
  r = call_end(s, scope, r, err);
  if (r != CF_OK) {
    for (size_t i = 0; i < cnt; i++) cf_store_job_release(&jobs[i]);
    cf_free(jobs);
    return r;
  }
  *out = jobs;
  *n = cnt;
  return CF_OK;
}

static int sq_job_get(struct cf_store *s, uint64_t key, struct cf_store_job *out,
                      struct cf_error *err) {
  sqlite3_stmt *st = NULL;
  int r = prep(s, ST_JOB_GET, &st, err);
  if (r) return r;
  if (bind_key(st, 1, key)) return bind_failed(s, st, err, "getting a job");
  struct cf_store_job j;
  r = fetch_one(s, st, read_job, &j, err, "getting a job");
  if (r == CF_ENOTFOUND)
    return cf_error_set(err, CF_ENOTFOUND, "no job with key %llu", (unsigned long long)key);
  if (r == CF_OK) *out = j;
  return r;
}

/* ------------------------------------------------------------ lists */

static int sq_task_list(struct cf_store *s, const struct cf_store_task_filter *f,
                        struct cf_store_user_task **out, size_t *n, struct cf_error *err) {
  static const char what[] = "listing user tasks";
  struct cf_store_task_filter none = {0};
  if (!f) f = &none;
  sqlite3_stmt *st = NULL;
  int r = prep(s, f->state >= 0 ? ST_TASK_LIST_STATE : ST_TASK_LIST, &st, err);
  if (r) return r;
  if (bind_key(st, 1, f->after_key) | bind_text(st, 2, f->assignee) | bind_text(st, 3, f->group) |
      bind_limit(st, 4, f->limit ? f->limit : 1000) | sqlite3_bind_int(st, 5, f->state))
    return bind_failed(s, st, err, what);
  return fetch_all(s, st, sizeof **out, read_task, rel_task, (void **)out, n, err, what);
}

static int sq_task_done(struct cf_store *s, const struct cf_store_user_task *t, struct cf_error *err) {
  static const char what[] = "keeping a completed user task";
  int scope, r = call_begin(s, &scope, err, what);
  if (r) return r;
  sqlite3_stmt *st = NULL;
  if (!(r = prep(s, ST_TASK_DONE, &st, err))) {
    if (bind_key(st, 1, t->key) | bind_key(st, 2, t->instance_key) | bind_key(st, 3, t->element_instance_key) |
        bind_text(st, 4, t->element_id ? t->element_id : "") | bind_text(st, 5, t->assignee) |
        bind_text(st, 6, t->candidate_groups) | bind_text(st, 7, t->candidate_users) |
        bind_text(st, 8, t->due_date) | bind_text(st, 9, t->follow_up_date) | bind_text(st, 10, t->form_key) |
        sqlite3_bind_int(st, 11, t->priority) | sqlite3_bind_int64(st, 12, t->created_ms) |
        sqlite3_bind_int64(st, 13, t->completed_ms) | bind_text(st, 14, t->completed_by))
      r = bind_failed(s, st, err, what);
    else
      r = run(s, st, err, what);
  }
  return call_end(s, scope, r, err);
}

static int sq_incident_list(struct cf_store *s, uint64_t instance_key,
                            struct cf_store_incident **out, size_t *n, struct cf_error *err) {
  static const char what[] = "listing incidents";
  sqlite3_stmt *st = NULL;
  int r = prep(s, instance_key ? ST_INC_LIST : ST_INC_LIST_ALL, &st, err);
  if (r) return r;
  if (instance_key && bind_key(st, 1, instance_key)) return bind_failed(s, st, err, what);
  return fetch_all(s, st, sizeof **out, read_incident, rel_incident, (void **)out, n, err, what);
}

static int sq_timers_due(struct cf_store *s, int64_t now_ms, size_t max, struct cf_store_timer **out,
                         size_t *n, struct cf_error *err) {
  static const char what[] = "listing due timers";
  sqlite3_stmt *st = NULL;
  int r = prep(s, ST_TIMERS_DUE, &st, err);
  if (r) return r;
  if (sqlite3_bind_int64(st, 1, now_ms) | bind_limit(st, 2, max ? max : 1000))
    return bind_failed(s, st, err, what);
  return fetch_all(s, st, sizeof **out, read_timer, rel_timer, (void **)out, n, err, what);
}

static int sq_timer_start_set(struct cf_store *s, const struct cf_store_timer *t,
                              struct cf_error *err) {
  static const char what[] = "setting a start timer";
  if (s->flags & CF_STORE_READONLY)
    return cf_error_set(err, CF_EINVAL, "%s: %s was opened read-only", what, s->path);
  if (!t->key) return cf_error_set(err, CF_EINVAL, "%s: the timer has no key", what);
  if (t->due_ms < 0) return run_key(s, ST_TIMER_START_DELETE, t->key, err, what);
  sqlite3_stmt *st = NULL;
  int r = prep(s, ST_TIMER_START_SET, &st, err);
  if (r) return r;
  if (bind_key(st, 1, t->key) | bind_key(st, 2, t->definition_key) |
      bind_text(st, 3, t->element_id ? t->element_id : "") | sqlite3_bind_int64(st, 4, t->due_ms))
    return bind_failed(s, st, err, what);
  return run(s, st, err, what);
}

static int sq_subscriptions_find(struct cf_store *s, uint8_t kind, const char *name,
                                 const char *correlation_key, struct cf_store_subscription **out,
                                 size_t *n, struct cf_error *err) {
  static const char what[] = "finding subscriptions";
  sqlite3_stmt *st = NULL;
  int r = prep(s, ST_SUBS_FIND, &st, err);
  if (r) return r;
  if (sqlite3_bind_int(st, 1, kind) | bind_text(st, 2, name ? name : "") |
      bind_text(st, 3, correlation_key))
    return bind_failed(s, st, err, what);
  return fetch_all(s, st, sizeof **out, read_sub, rel_sub, (void **)out, n, err, what);
}

/* ------------------------------------------------------------ buffered messages */

static int sq_message_insert(struct cf_store *s, const struct cf_store_message *m,
                             struct cf_error *err) {
  static const char what[] = "buffering a message";
  if (!m->key || !m->name)
    return cf_error_set(err, CF_EINVAL, "%s: a message needs a key and a name", what);
  int scope, r = call_begin(s, &scope, err, what);
  if (r) return r;
  sqlite3_stmt *st = NULL;
  /* An expired message no longer holds its id. */
  if (m->message_id) {
    if ((r = prep(s, ST_MSG_CLEAR_ID, &st, err))) goto out;
    if (bind_text(st, 1, m->message_id) | sqlite3_bind_int64(st, 2, m->published_ms)) {
      r = bind_failed(s, st, err, what);
      goto out;
    }
    if ((r = run(s, st, err, what))) goto out;
  }
  if ((r = prep(s, ST_MSG_INSERT, &st, err))) goto out;
  if (bind_key(st, 1, m->key) | bind_text(st, 2, m->name) | bind_text(st, 3, m->correlation_key) |
      bind_text(st, 4, m->message_id) | bind_text(st, 5, m->variables) |
      sqlite3_bind_int64(st, 6, m->published_ms) | sqlite3_bind_int64(st, 7, m->expires_ms)) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  r = run(s, st, err, what);
  if (r == CF_ECONFLICT && m->message_id)
    r = cf_error_set(err, CF_ECONFLICT, "%s: a message with id '%s' is already buffered", what,
                     m->message_id);
out:
  return call_end(s, scope, r, err);
}

static int sq_message_find(struct cf_store *s, const char *name, const char *correlation_key,
                           int64_t now_ms, struct cf_store_message **out, size_t *n,
                           struct cf_error *err) {
  static const char what[] = "finding buffered messages";
  sqlite3_stmt *st = NULL;
  int r = prep(s, ST_MSG_FIND, &st, err);
  if (r) return r;
  if (bind_text(st, 1, name ? name : "") | bind_text(st, 2, correlation_key) |
      sqlite3_bind_int64(st, 3, now_ms))
    return bind_failed(s, st, err, what);
  return fetch_all(s, st, sizeof **out, read_message, rel_message, (void **)out, n, err, what);
}

static int sq_message_by_id(struct cf_store *s, const char *message_id, int64_t now_ms,
                            bool *exists, struct cf_error *err) {
  static const char what[] = "finding a message id";
  sqlite3_stmt *st = NULL;
  int r = prep(s, ST_MSG_BY_ID, &st, err);
  if (r) return r;
  if (bind_text(st, 1, message_id ? message_id : "") | sqlite3_bind_int64(st, 2, now_ms))
    return bind_failed(s, st, err, what);
  int64_t v;
  return fetch_int(s, st, &v, exists, err, what);
}

static int sq_message_correlated(struct cf_store *s, uint64_t message_key, const char *process_id,
                                 bool *already, bool mark, struct cf_error *err) {
  static const char what[] = "checking a message correlation";
  if (!process_id) return cf_error_set(err, CF_EINVAL, "%s: no process id", what);
  if (mark && (s->flags & CF_STORE_READONLY))
    return cf_error_set(err, CF_EINVAL, "%s: %s was opened read-only", what, s->path);
  sqlite3_stmt *st = NULL;
  int r;
  if (mark) {
    /* One statement: checks and marks atomically, in or out of a transaction. */
    if ((r = prep(s, ST_CORR_MARK, &st, err))) return r;
    if (bind_key(st, 1, message_key) | bind_text(st, 2, process_id))
      return bind_failed(s, st, err, what);
    if ((r = run(s, st, err, what))) return r;
    *already = sqlite3_changes(s->db) == 0;
    return CF_OK;
  }
  if ((r = prep(s, ST_CORR_GET, &st, err))) return r;
  if (bind_key(st, 1, message_key) | bind_text(st, 2, process_id))
    return bind_failed(s, st, err, what);
  int64_t v;
  bool found;
  if ((r = fetch_int(s, st, &v, &found, err, what))) return r;
  *already = found;
  return CF_OK;
}

/* The marks of the listed messages m[0..n) (by key) are read with one statement over their keys. */
static int sq_message_list(struct cf_store *s, uint64_t after_key, size_t limit,
                           struct cf_store_message **out, size_t *n, struct cf_error *err) {
  static const char what[] = "listing buffered messages";
  struct cf_store_message *m = NULL;
  size_t cnt = 0, at = 0;
  sqlite3_stmt *st = NULL;
  int rc, r = prep(s, ST_MSG_LIST, &st, err);
  if (r) return r;
  if (bind_key(st, 1, after_key) | bind_limit(st, 2, limit ? limit : 1000))
    return bind_failed(s, st, err, what);
  if ((r = fetch_all(s, st, sizeof *m, read_message, rel_message, (void **)&m, &cnt, err, what)))
    return r;
  if (cnt == 0) goto out;
  if ((r = prep(s, ST_CORR_LIST, &st, err))) goto out;
  if (bind_key(st, 1, after_key) | bind_key(st, 2, m[cnt - 1].key)) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    uint64_t key = col_key(st, 0);
    while (at < cnt && m[at].key < key) at++;
    if (at == cnt || m[at].key != key) continue; /* a mark of no message: not listed */
    const unsigned char *pid = sqlite3_column_text(st, 1);
    if (!pid || !cf__store_message_mark(&m[at], (const char *)pid,
                                        (size_t)sqlite3_column_bytes(st, 1))) {
      r = nomem(err, what);
      break;
    }
  }
  if (r == CF_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) r = fail(s, rc, err, what);
  sqlite3_reset(st);
out:
  if (r != CF_OK) {
    for (size_t i = 0; i < cnt; i++) cf_store_message_release(&m[i]);
    cf_free(m);
    return r;
  }
  *out = m;
  *n = cnt;
  return CF_OK;
}

static int sq_messages_expire(struct cf_store *s, int64_t now_ms, size_t *removed,
                              struct cf_error *err) {
  static const char what[] = "expiring messages";
  int scope, r = call_begin(s, &scope, err, what);
  if (r) return r;
  size_t gone = 0;
  sqlite3_stmt *st = NULL;
  if ((r = prep(s, ST_MSG_EXPIRE_CORR, &st, err))) goto out;
  if (sqlite3_bind_int64(st, 1, now_ms)) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  if ((r = run(s, st, err, what))) goto out;
  if ((r = prep(s, ST_MSG_EXPIRE, &st, err))) goto out;
  if (sqlite3_bind_int64(st, 1, now_ms)) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  if ((r = run(s, st, err, what))) goto out;
  gone = (size_t)sqlite3_changes64(s->db);
out:
  r = call_end(s, scope, r, err);
  if (r == CF_OK && removed) *removed = gone;
  return r;
}

/* ------------------------------------------------------------ history */

/*
 * History is stored packed: one row per run of events of one instance in an
 * append (the events of one engine call), the events a JSON array. A row
 * per event cost most of a command's time in B-tree inserts; a pack is one.
 */
static bool same_actor(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

static int sq_history_append(struct cf_store *s, const struct cf_store_event *events, size_t n,
                             struct cf_error *err) {
  static const char what[] = "appending history";
  if (n == 0) return CF_OK;
  int scope, r = call_begin(s, &scope, err, what);
  if (r) return r;
  struct cf_buf b;
  cf_buf_init(&b);
  for (size_t i = 0; i < n && r == CF_OK;) {
    size_t k = i;
    cf_buf_reset(&b);
    cf_buf_putc(&b, '[');
    for (; k < n && events[k].instance_key == events[i].instance_key && same_actor(events[k].actor, events[i].actor);
         k++) {
      if (k > i) cf_buf_putc(&b, ',');
      cf__store_pack_event(&b, &events[k], events[i].at_ms);
    }
    cf_buf_putc(&b, ']');
    if (b.oom) {
      r = nomem(err, what);
      break;
    }
    sqlite3_stmt *st = NULL;
    if ((r = prep(s, ST_HIST_INSERT, &st, err))) break;
    if (bind_key(st, 1, events[i].instance_key) || sqlite3_bind_int64(st, 2, events[i].at_ms) ||
        bind_text(st, 3, events[i].actor) ||
        sqlite3_bind_text(st, 4, b.data, (int)b.len, SQLITE_STATIC) != SQLITE_OK) {
      r = bind_failed(s, st, err, what);
      break;
    }
    r = run(s, st, err, what);
    i = k;
  }
  cf_buf_release(&b);
  return call_end(s, scope, r, err);
}

static int sq_history_list(struct cf_store *s, uint64_t instance_key, struct cf_store_event **out,
                           size_t *n, struct cf_error *err) {
  static const char what[] = "reading history";
  sqlite3_stmt *st = NULL;
  int r = prep(s, ST_HIST_LIST, &st, err);
  if (r) return r;
  if (bind_key(st, 1, instance_key)) return bind_failed(s, st, err, what);
  struct cf_store_event *evs = NULL;
  size_t count = 0, cap = 0;
  int rc;
  while (r == CF_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *text = (const char *)sqlite3_column_text(st, 2);
    size_t len = (size_t)sqlite3_column_bytes(st, 2);
    r = cf__store_pack_unpack(s->path, instance_key, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
               text ? text : "[]", text ? len : 2, &evs, &count, &cap, err);
  }
  if (r == CF_OK && rc != SQLITE_DONE) r = fail(s, rc, err, what);
  sqlite3_reset(st);
  if (r) {
    for (size_t i = 0; i < count; i++) cf_store_event_release(&evs[i]);
    cf_free(evs);
    return r;
  }
  *out = evs;
  *n = count;
  return CF_OK;
}

/*
 * Removes up to batch ended instances, oldest end first, with their history
 * and side rows, in one transaction (or the caller's): a short batch keeps
 * the write lock short, so pruning never stalls the writer for long.
 */
static int sq_prune(struct cf_store *s, int64_t before_ms, size_t batch, size_t *removed,
                    struct cf_error *err) {
  static const char what[] = "pruning";
  if (batch == 0) batch = 1000;
  int scope, r = call_begin(s, &scope, err, what);
  if (r) return r;
  uint64_t *keys = NULL;
  size_t cnt = 0, cap = 0;
  sqlite3_stmt *st = NULL;
  int rc;
  if ((r = prep(s, ST_PRUNE_PICK, &st, err))) goto out;
  if (sqlite3_bind_int64(st, 1, before_ms) | bind_limit(st, 2, batch)) {
    r = bind_failed(s, st, err, what);
    goto out;
  }
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (!cf_grow((void **)&keys, &cap, cnt, sizeof *keys)) {
      r = nomem(err, what);
      break;
    }
    keys[cnt++] = col_key(st, 0);
  }
  if (r == CF_OK && rc != SQLITE_DONE) r = fail(s, rc, err, what);
  sqlite3_reset(st);
  static const enum stmt_id deletes[] = {ST_HIST_DELETE_ALL, ST_JOBS_DELETE_ALL,
                                         ST_TASKS_DELETE_ALL, ST_TIMERS_DELETE_ALL,
                                         ST_SUBS_DELETE_ALL,  ST_INCS_DELETE_ALL,
                                         ST_INST_DELETE};
  for (size_t i = 0; i < cnt && r == CF_OK; i++)
    for (size_t d = 0; d < sizeof deletes / sizeof deletes[0] && r == CF_OK; d++)
      r = run_key(s, deletes[d], keys[i], err, what);
out:
  cf_free(keys);
  r = call_end(s, scope, r, err);
  if (r == CF_OK && removed) *removed = cnt;
  return r;
}

/* ------------------------------------------------------------ operations inside a batch */

/* PRAGMA data_version changes when another connection commits (never for this one's commits). */
static int sq_others_wrote(struct cf_store *s, bool *wrote, struct cf_error *err) {
  sqlite3_stmt *st = NULL;
  int r = prep(s, ST_DATA_VERSION, &st, err);
  if (r) return r;
  int rc = sqlite3_step(st);
  int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_reset(st);
  if (rc != SQLITE_ROW) return fail(s, rc, err, "reading the data version");
  *wrote = !s->data_version_known || v != s->data_version;
  s->data_version = v;
  s->data_version_known = true;
  return CF_OK;
}

static int sq_op_begin(struct cf_store *s, struct cf_error *err) {
  if (!in_tx(s)) return cf_error_set(err, CF_EINVAL, "an operation needs an open transaction");
  if (s->op_open) return cf_error_set(err, CF_EINVAL, "an operation is already open");
  int r = exec_stmt(s, ST_OP_SAVEPOINT, err, "starting an operation");
  if (r == CF_OK) s->op_open = true;
  return r;
}

static int sq_op_end(struct cf_store *s, bool keep, struct cf_error *err) {
  s->op_open = false;
  /* After SQLITE_FULL or an I/O error SQLite may have rolled back the whole transaction. */
  if (!in_tx(s))
    return cf_error_set(err, CF_EIO, "the transaction was rolled back by the database (an I/O error?)");
  /* Neither fails short of the transaction's end: CF_EIO, as the contract reads op_end's failures. */
  struct cf_error e2;
  cf_error_clear(&e2);
  if ((!keep && exec_stmt(s, ST_OP_ROLLBACK_TO, &e2, "undoing an operation")) ||
      (in_tx(s) && exec_stmt(s, ST_OP_RELEASE, &e2, "ending an operation")))
    return cf_error_set(err, CF_EIO, "%s: the transaction cannot go on", e2.msg);
  return CF_OK;
}

static int sq_definition_list(struct cf_store *s, bool latest_only, struct cf_store_definition **out,
                              size_t *n, struct cf_error *err) {
  sqlite3_stmt *st = NULL;
  int r = prep(s, latest_only ? ST_DEF_ALL_LATEST : ST_DEF_ALL, &st, err);
  if (r) return r;
  return fetch_all(s, st, sizeof **out, read_definition, rel_definition, (void **)out, n, err,
                   "listing definitions");
}

/* ------------------------------------------------------------ for the backend's other files */

/* store_sqlite_int.h: what store_sqlite_search.c and store_sqlite_auth.c use of this file. */

sqlite3 *cf__store_sqlite_db(struct cf_store *s) { return s->db; }
bool cf__store_sqlite_readonly(const struct cf_store *s) { return s->flags & CF_STORE_READONLY; }
struct cf__sqlite_cache **cf__store_sqlite_cache(struct cf_store *s) { return &s->cache; }

int cf__store_sqlite_fail(struct cf_store *s, int rc, struct cf_error *err, const char *what) {
  return fail(s, rc, err, what);
}

int cf__store_sqlite_call_begin(struct cf_store *s, int *scope, struct cf_error *err,
                                const char *what) {
  return call_begin(s, scope, err, what);
}

int cf__store_sqlite_call_end(struct cf_store *s, int scope, int r, struct cf_error *err) {
  return call_end(s, scope, r, err);
}

bool cf__store_sqlite_in_tx(struct cf_store *s) { return in_tx(s); }

bool cf__store_sqlite_read_definition(sqlite3_stmt *st, void *row) { return read_definition(st, row); }
bool cf__store_sqlite_read_instance(sqlite3_stmt *st, void *row) { return read_instance(st, row); }
bool cf__store_sqlite_read_job(sqlite3_stmt *st, void *row) { return read_job(st, row); }
bool cf__store_sqlite_read_task(sqlite3_stmt *st, void *row) { return read_task(st, row); }
bool cf__store_sqlite_read_incident(sqlite3_stmt *st, void *row) { return read_incident(st, row); }
char *cf__store_sqlite_col_str(sqlite3_stmt *st, int i, bool *ok) { return col_str(st, i, ok); }

int cf__store_sqlite_fetch_one(struct cf_store *s, sqlite3_stmt *st,
                               bool (*rd)(sqlite3_stmt *, void *), void *row, struct cf_error *err,
                               const char *what) {
  return fetch_one(s, st, rd, row, err, what);
}

int cf__store_sqlite_fetch_all(struct cf_store *s, sqlite3_stmt *st, size_t sz,
                               bool (*rd)(sqlite3_stmt *, void *), void (*rel)(void *), void **out,
                               size_t *n, struct cf_error *err, const char *what) {
  return fetch_all(s, st, sz, rd, rel, out, n, err, what);
}

/* ------------------------------------------------------------ the table */

const struct cf_store_ops cf_store_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .reserve_keys = sq_reserve_keys,
    .definition_find_checksum = sq_definition_find_checksum,
    .definition_insert = sq_definition_insert,
    .definition_get = sq_definition_get,
    .definition_by_key = sq_definition_by_key,
    .definition_list = sq_definition_list,
    .op_begin = sq_op_begin,
    .others_wrote = sq_others_wrote,
    .op_end = sq_op_end,
    .instance_insert = sq_instance_insert,
    .instance_update = sq_instance_update,
    .instance_get = sq_instance_get,
    .instance_version = sq_instance_version,
    .instance_list = sq_instance_list,
    .instance_of = sq_instance_of,
    .jobs_activate = sq_jobs_activate,
    .job_get = sq_job_get,
    .task_list = sq_task_list,
    .task_done = sq_task_done,
    .incident_list = sq_incident_list,
    .timers_due = sq_timers_due,
    .timer_start_set = sq_timer_start_set,
    .subscriptions_find = sq_subscriptions_find,
    .message_insert = sq_message_insert,
    .message_find = sq_message_find,
    .message_by_id = sq_message_by_id,
    .message_correlated = sq_message_correlated,
    .message_list = sq_message_list,
    .messages_expire = sq_messages_expire,
    .history_append = sq_history_append,
    .history_list = sq_history_list,
    .search = cf__store_sqlite_search,
    .task_get = cf__store_sqlite_task_get,
    .incident_get = cf__store_sqlite_incident_get,
    .token_insert = cf__store_sqlite_token_insert,
    .token_by_hash = cf__store_sqlite_token_by_hash,
    .token_list = cf__store_sqlite_token_list,
    .token_delete = cf__store_sqlite_token_delete,
    .user_put = cf__store_sqlite_user_put,
    .user_get = cf__store_sqlite_user_get,
    .user_list = cf__store_sqlite_user_list,
    .user_delete = cf__store_sqlite_user_delete,
    .group_put = cf__store_sqlite_group_put,
    .group_get = cf__store_sqlite_group_get,
    .group_list = cf__store_sqlite_group_list,
    .group_delete = cf__store_sqlite_group_delete,
    .record_insert = cf__store_sqlite_record_insert,
    .record_update = cf__store_sqlite_record_update,
    .record_get = cf__store_sqlite_record_get,
    .record_delete = cf__store_sqlite_record_delete,
    .record_unique = cf__store_sqlite_record_unique,
    .record_change_append = cf__store_sqlite_record_change_append,
    .record_history = cf__store_sqlite_record_history,
    .record_history_erase = cf__store_sqlite_record_history_erase,
    .history_erase = cf__store_sqlite_history_erase,
    .element_statistics = cf__store_sqlite_element_statistics,
    .dashboard = cf__store_sqlite_dashboard,
    .record_type_put = cf__store_sqlite_record_type_put,
    .record_type_list = cf__store_sqlite_record_type_list,
    .trigger_insert = cf__store_sqlite_trigger_insert,
    .trigger_list = cf__store_sqlite_trigger_list,
    .trigger_delete = cf__store_sqlite_trigger_delete,
    .enrollment_insert = cf__store_sqlite_enrollment_insert,
    .enrollment_find = cf__store_sqlite_enrollment_find,
    .crm_timer_set = cf__store_sqlite_crm_timer_set,
    .crm_timers_due = cf__store_sqlite_crm_timers_due,
    .crm_timer_next = cf__store_sqlite_crm_timer_next,
    .crm_state_get = cf__store_sqlite_crm_state_get,
    .crm_state_put = cf__store_sqlite_crm_state_put,
    .prune = sq_prune,
};
