/*
 * The PostgreSQL backend of the store (cf_store.h), with libpq: one
 * connection per handle, any number of handles and of crmflow nodes on one
 * database.
 *
 * - Location: a postgres:// or postgresql:// URL, given to libpq as it is, so
 *   libpq's PG* environment variables (PGHOST, PGUSER, PGPASSWORD, ...) fill in
 *   what the URL leaves out, and ~/.pgpass works.
 * - Durability: synchronous_commit as the server says, or off with
 *   CF_STORE_FAST (a crash of the server may lose the last commits, never
 *   corrupt the database: the same trade as SQLite's synchronous=NORMAL).
 *   READONLY: default_transaction_read_only, and every write call refused
 *   here first (CF_EINVAL, as the SQLite backend does).
 * - Transactions: READ COMMITTED. In PostgreSQL a failed statement aborts the
 *   whole transaction, so every write call inside the caller's transaction
 *   runs in a SAVEPOINT (undone alone when it fails, the transaction stays
 *   usable), and op_begin/op_end use one too: the same guarantees as the
 *   SQLite backend's per-call savepoints. Inside an operation the calls take
 *   none, and the writes whose only answer is "done" (side rows, history, the
 *   instance's guarded update, the savepoints) go down libpq's pipeline
 *   without waiting: they travel with the next statement whose answer is
 *   read, or with op_end, which then reads them all (one round trip where
 *   there were one per statement). A refused one makes op_end fail with its
 *   error, the operation undone and the transaction still usable.
 * - Several nodes: an instance row's version makes a lost race CF_ECONFLICT
 *   (the UPDATE ... WHERE row_version = expected re-checks the row a
 *   concurrent writer committed), jobs are leased with FOR UPDATE SKIP LOCKED
 *   (two nodes never lease one job, and neither waits for the other), keys
 *   come in blocks from the keys row, taken inside a batch on a second
 *   connection that commits at once (no node waits for another's batch). Unique violations (23505) and
 *   serialization failures or deadlocks (40001, 40P01) are CF_ECONFLICT;
 *   a lost connection is CF_EIO with libpq's message.
 * - Statements are prepared once per connection (PQprepare, by name) on first
 *   use; parameters go as text, except the binary-safe BYTEA ones (the BPMN
 *   resource, the engine state), which go in binary format with their length.
 *   Results come back as text; a BYTEA column comes back in hex and is decoded
 *   here.
 * - Migrations: the SQLite backend's numbered list, translated (BIGINT keys,
 *   TEXT for JSON the C code reads back byte for byte, identity columns for
 *   SQLite's rowids), in schema_version; each runs in one transaction under an
 *   advisory lock, so two nodes starting at once migrate once.
 *
 * This file holds the handle and the runtime's operations; the principals
 * (store_pg_auth.c), the CRM layer's rows (store_pg_crm.c), and the searches
 * and the UI's aggregates (store_pg_search.c) reach it through
 * store_pg_int.h. Statements of this file are a fixed list prepared by name;
 * theirs come as SQL text through one cache per handle (cf__store_pg_query).
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_json.h"
#include "store/cf_store.h"
#include "store/store_pack.h"
#include "store/store_pg_int.h"

/* ------------------------------------------------------------ the schema */

/*
 * Migrations, oldest first, numbered as the SQLite backend's (store_sqlite.c)
 * so that a schema version means the same tables in both. Append only.
 */
static const char *const migrations[] = {
    /* 1: everything */
    "CREATE TABLE keys(id INTEGER PRIMARY KEY CHECK (id = 1), next BIGINT NOT NULL);"
    "INSERT INTO keys VALUES (1, 1);"

    "CREATE TABLE definitions(key BIGINT PRIMARY KEY, process_id TEXT NOT NULL,"
    " version INTEGER NOT NULL, version_tag TEXT, deployment_key BIGINT NOT NULL,"
    " resource_name TEXT NOT NULL, checksum TEXT NOT NULL, xml BYTEA NOT NULL,"
    " deployed_ms BIGINT NOT NULL, UNIQUE (process_id, version));"
    "CREATE INDEX definitions_checksum ON definitions(process_id, checksum);"

    "CREATE TABLE instances(key BIGINT PRIMARY KEY, definition_key BIGINT NOT NULL,"
    " process_id TEXT NOT NULL, version INTEGER NOT NULL, state INTEGER NOT NULL,"
    " incident INTEGER NOT NULL, business_key TEXT, parent_key BIGINT NOT NULL,"
    " started_ms BIGINT NOT NULL, ended_ms BIGINT NOT NULL, row_version BIGINT NOT NULL,"
    " engine_state BYTEA, variables TEXT);"
    "CREATE INDEX instances_process ON instances(process_id, key);"
    "CREATE INDEX instances_business ON instances(business_key) WHERE business_key IS NOT NULL;"
    "CREATE INDEX instances_ended ON instances(ended_ms) WHERE state <> 0;"

    "CREATE TABLE jobs(key BIGINT PRIMARY KEY, instance_key BIGINT NOT NULL,"
    " element_instance_key BIGINT NOT NULL, element_id TEXT NOT NULL, type TEXT NOT NULL,"
    " retries INTEGER NOT NULL, state INTEGER NOT NULL, available_ms BIGINT NOT NULL,"
    " worker TEXT, lease_until_ms BIGINT NOT NULL, headers TEXT, error_message TEXT);"
    "CREATE INDEX jobs_activate ON jobs(type, state, available_ms, lease_until_ms);"
    "CREATE INDEX jobs_instance ON jobs(instance_key);"

    "CREATE TABLE user_tasks(key BIGINT PRIMARY KEY, instance_key BIGINT NOT NULL,"
    " element_instance_key BIGINT NOT NULL, element_id TEXT NOT NULL, assignee TEXT,"
    " candidate_groups TEXT, candidate_users TEXT, due_date TEXT, follow_up_date TEXT,"
    " form_key TEXT, priority INTEGER NOT NULL, created_ms BIGINT NOT NULL);"
    "CREATE INDEX user_tasks_instance ON user_tasks(instance_key);"
    "CREATE INDEX user_tasks_assignee ON user_tasks(assignee, key);"

    "CREATE TABLE timers(key BIGINT PRIMARY KEY, instance_key BIGINT NOT NULL,"
    " definition_key BIGINT NOT NULL, element_id TEXT NOT NULL, due_ms BIGINT NOT NULL);"
    "CREATE INDEX timers_due ON timers(due_ms, key);"
    "CREATE INDEX timers_instance ON timers(instance_key);"

    "CREATE TABLE subscriptions(key BIGINT PRIMARY KEY, instance_key BIGINT NOT NULL,"
    " element_id TEXT NOT NULL, kind INTEGER NOT NULL, name TEXT NOT NULL, correlation_key TEXT);"
    "CREATE INDEX subscriptions_find ON subscriptions(kind, name, correlation_key);"
    "CREATE INDEX subscriptions_instance ON subscriptions(instance_key);"

    "CREATE TABLE incidents(key BIGINT PRIMARY KEY, instance_key BIGINT NOT NULL,"
    " element_instance_key BIGINT NOT NULL, element_id TEXT NOT NULL, type INTEGER NOT NULL,"
    " job_key BIGINT NOT NULL, message TEXT, created_ms BIGINT NOT NULL);"
    "CREATE INDEX incidents_instance ON incidents(instance_key);"

    "CREATE TABLE messages(key BIGINT PRIMARY KEY, name TEXT NOT NULL, correlation_key TEXT,"
    " message_id TEXT UNIQUE, variables TEXT, published_ms BIGINT NOT NULL,"
    " expires_ms BIGINT NOT NULL);"
    "CREATE INDEX messages_find ON messages(name, correlation_key);"
    "CREATE INDEX messages_expires ON messages(expires_ms);"

    "CREATE TABLE message_correlations(message_key BIGINT NOT NULL, process_id TEXT NOT NULL,"
    " PRIMARY KEY (message_key, process_id));"

    "CREATE TABLE history(id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " instance_key BIGINT NOT NULL, at_ms BIGINT NOT NULL, kind TEXT NOT NULL, key BIGINT NOT NULL,"
    " element_id TEXT, detail TEXT, actor TEXT, variables TEXT);"
    "CREATE INDEX history_instance ON history(instance_key, id);",

    /* 2: history packed (see store_sqlite.c); events stay TEXT: the C code parses them, and TEXT
     * keeps them byte for byte (JSONB would respace them) */
    "CREATE TABLE history_packs(id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " instance_key BIGINT NOT NULL, at_ms BIGINT NOT NULL, actor TEXT, events TEXT NOT NULL);"
    "INSERT INTO history_packs(instance_key, at_ms, actor, events) SELECT instance_key, at_ms, actor,"
    " json_build_array(json_build_array(kind, key::text, element_id, detail, variables))::text"
    " FROM history ORDER BY id;"
    "DROP TABLE history;"
    "CREATE INDEX history_packs_instance ON history_packs(instance_key, id);",

    /* 3: jobs to activate found in key order by (type, state) */
    "DROP INDEX jobs_activate; CREATE INDEX jobs_activate ON jobs(type, state, key);",

    /* 4: a completed user task stays, with state 1, when and by whom, until its instance is pruned */
    "ALTER TABLE user_tasks ADD COLUMN state INTEGER NOT NULL DEFAULT 0;"
    " ALTER TABLE user_tasks ADD COLUMN completed_ms BIGINT NOT NULL DEFAULT 0;"
    " ALTER TABLE user_tasks ADD COLUMN completed_by TEXT;"
    " CREATE INDEX user_tasks_state ON user_tasks(state, key);",

    /* 5: principals of the API */
    "CREATE TABLE api_tokens(name TEXT PRIMARY KEY, role TEXT NOT NULL, user_name TEXT,"
    " hash TEXT NOT NULL UNIQUE, created_ms BIGINT NOT NULL);"
    " CREATE TABLE users(name TEXT PRIMARY KEY, display_name TEXT, role TEXT NOT NULL,"
    " password_hash TEXT, groups_json TEXT NOT NULL DEFAULT '[]', created_ms BIGINT NOT NULL);"
    " CREATE TABLE crm_groups(name TEXT PRIMARY KEY, display_name TEXT,"
    " created_ms BIGINT NOT NULL);",

    /* 6: the CRM layer */
    "CREATE TABLE records(key BIGINT PRIMARY KEY, type TEXT NOT NULL, version BIGINT NOT NULL,"
    " fields TEXT NOT NULL, created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL,"
    " created_by TEXT, updated_by TEXT);"
    " CREATE INDEX records_type ON records(type, key);"
    " CREATE INDEX records_updated ON records(type, updated_ms);"
    " CREATE TABLE record_unique(type TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL,"
    " record_key BIGINT NOT NULL, PRIMARY KEY (type, field, value));"
    " CREATE INDEX record_unique_record ON record_unique(record_key, field);"
    " CREATE TABLE record_changes(id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " record_key BIGINT NOT NULL, type TEXT NOT NULL, at_ms BIGINT NOT NULL, actor TEXT,"
    " kind TEXT NOT NULL, changes TEXT NOT NULL);"
    " CREATE INDEX record_changes_record ON record_changes(record_key, id);"
    " CREATE TABLE record_types(name TEXT PRIMARY KEY, schema TEXT NOT NULL,"
    " updated_ms BIGINT NOT NULL);"
    " CREATE TABLE triggers(key BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " record_type TEXT NOT NULL, definition TEXT NOT NULL, created_ms BIGINT NOT NULL);"
    " CREATE TABLE trigger_enrollments(trigger_key BIGINT NOT NULL, record_key BIGINT NOT NULL,"
    " instance_key BIGINT NOT NULL, at_ms BIGINT NOT NULL);"
    " CREATE INDEX trigger_enrollments_find ON trigger_enrollments(trigger_key, record_key);"
    " CREATE TABLE crm_timers(trigger_key BIGINT NOT NULL, record_key BIGINT NOT NULL,"
    " record_type TEXT NOT NULL, due_ms BIGINT NOT NULL, PRIMARY KEY (trigger_key, record_key));"
    " CREATE INDEX crm_timers_due ON crm_timers(due_ms);"
    " CREATE TABLE crm_state(name TEXT PRIMARY KEY, value TEXT NOT NULL);",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* The advisory lock that serializes migrations between nodes ("crmflow" in ASCII). */
#define MIGRATION_LOCK "27991836889739127"

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
#define TIMER_COLS "key, instance_key, definition_key, element_id, due_ms"

#define STATEMENTS(X)                                                                              \
  X(DEF_ALL_LATEST, "SELECT key, process_id, version, version_tag, deployment_key, resource_name," \
                    " checksum, NULL, deployed_ms FROM definitions d WHERE version ="              \
                    " (SELECT max(version) FROM definitions e WHERE e.process_id = d.process_id)"  \
                    " ORDER BY process_id")                                                        \
  X(DEF_ALL, "SELECT key, process_id, version, version_tag, deployment_key, resource_name,"        \
             " checksum, NULL, deployed_ms FROM definitions ORDER BY process_id, version")         \
  X(KEYS, "UPDATE keys SET next = next + $1::bigint WHERE id = 1 RETURNING next - $1::bigint")     \
  X(DEF_CHECKSUM, "SELECT " DEF_COLS " FROM definitions WHERE process_id = $1 AND checksum = $2"   \
                  " ORDER BY version DESC LIMIT 1")                                                \
  X(DEF_NEXT, "SELECT coalesce(max(version), 0) + 1 FROM definitions WHERE process_id = $1")       \
  X(DEF_INSERT, "INSERT INTO definitions(" DEF_COLS ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)")       \
  X(DEF_LATEST, "SELECT " DEF_COLS " FROM definitions WHERE process_id = $1"                       \
                " ORDER BY version DESC LIMIT 1")                                                  \
  X(DEF_TAG, "SELECT " DEF_COLS " FROM definitions WHERE process_id = $1 AND version_tag = $2"     \
             " ORDER BY version DESC LIMIT 1")                                                     \
  X(DEF_VERSION, "SELECT " DEF_COLS " FROM definitions WHERE process_id = $1 AND version = $2")    \
  X(DEF_KEY, "SELECT " DEF_COLS " FROM definitions WHERE key = $1")                                \
  X(INST_INSERT, "INSERT INTO instances(" INST_COLS ")"                                            \
                 " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)")                           \
  X(INST_UPDATE, "UPDATE instances SET definition_key = $2, process_id = $3, version = $4,"        \
                 " state = $5, incident = $6, business_key = $7, parent_key = $8,"                 \
                 " started_ms = $9, ended_ms = $10, row_version = $11::bigint + 1,"                \
                 " engine_state = $12, variables = $13 WHERE key = $1 AND row_version = $11")      \
  X(INST_GET, "SELECT " INST_COLS " FROM instances WHERE key = $1")                                \
  X(INST_VERSION, "SELECT row_version FROM instances WHERE key = $1")                              \
  X(JOBS_DROP, "DELETE FROM jobs WHERE instance_key = $1 AND key <> ALL($2::bigint[])")            \
  /* A job that stays keeps its lease unless the engine recorded a failure or a */                 \
  /* retry (retries, state or available_ms changed): that attempt is over. */                      \
  /* A job row that stays is updated only when it changed, so one that did not is never locked  \
   * (another node may hold its lease: an upsert would wait for that node's batch, or deadlock  \
   * with it); a new one is inserted. */                                                         \
  X(JOB_UPDATE, "UPDATE jobs SET element_id = $2, type = $3, headers = $9, error_message = $10,"   \
                " worker = CASE WHEN retries = $4 AND state = $5 AND available_ms = $6"            \
                "   THEN worker ELSE $7 END,"                                                      \
                " lease_until_ms = CASE WHEN retries = $4 AND state = $5 AND available_ms = $6"    \
                "   THEN lease_until_ms ELSE $8 END,"                                              \
                " retries = $4, state = $5, available_ms = $6"                                     \
                " WHERE key = $1 AND (element_id IS DISTINCT FROM $2 OR type IS DISTINCT FROM $3"  \
                "   OR headers IS DISTINCT FROM $9 OR error_message IS DISTINCT FROM $10"          \
                "   OR retries IS DISTINCT FROM $4 OR state IS DISTINCT FROM $5"                   \
                "   OR available_ms IS DISTINCT FROM $6)")                                         \
  X(JOB_INSERT_NEW, "INSERT INTO jobs(" JOB_COLS ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)" \
                    " ON CONFLICT (key) DO NOTHING")                                               \
  X(TASKS_DELETE_OPEN, "DELETE FROM user_tasks WHERE instance_key = $1 AND state = 0")             \
  X(TIMERS_DELETE_ALL, "DELETE FROM timers WHERE instance_key = $1 AND instance_key <> 0")         \
  X(SUBS_DELETE_ALL, "DELETE FROM subscriptions WHERE instance_key = $1")                          \
  X(INCS_DELETE_ALL, "DELETE FROM incidents WHERE instance_key = $1")                              \
  X(TASK_INSERT, "INSERT INTO user_tasks(" TASK_INS_COLS ")"                                       \
                 " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)")                               \
  X(TASK_DONE, "INSERT INTO user_tasks(" TASK_COLS ")"                                             \
               " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,1,$13,$14)"                        \
               " ON CONFLICT (key) DO UPDATE SET instance_key = EXCLUDED.instance_key,"            \
               " element_instance_key = EXCLUDED.element_instance_key,"                            \
               " element_id = EXCLUDED.element_id, assignee = EXCLUDED.assignee,"                  \
               " candidate_groups = EXCLUDED.candidate_groups,"                                    \
               " candidate_users = EXCLUDED.candidate_users, due_date = EXCLUDED.due_date,"        \
               " follow_up_date = EXCLUDED.follow_up_date, form_key = EXCLUDED.form_key,"          \
               " priority = EXCLUDED.priority, created_ms = EXCLUDED.created_ms, state = 1,"       \
               " completed_ms = EXCLUDED.completed_ms, completed_by = EXCLUDED.completed_by")      \
  X(TIMER_INSERT, "INSERT INTO timers(" TIMER_COLS ") VALUES ($1,$2,$3,$4,$5)")                    \
  X(SUB_INSERT, "INSERT INTO subscriptions(key, instance_key, element_id, kind, name,"             \
                " correlation_key) VALUES ($1,$2,$3,$4,$5,$6)")                                    \
  X(INC_INSERT, "INSERT INTO incidents(" INC_COLS ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8)")            \
  X(OF_JOB, "SELECT instance_key FROM jobs WHERE key = $1")                                        \
  X(OF_TASK, "SELECT instance_key FROM user_tasks WHERE key = $1 AND state = 0")                   \
  X(OF_INCIDENT, "SELECT instance_key FROM incidents WHERE key = $1")                              \
  X(OF_SUB, "SELECT instance_key FROM subscriptions WHERE key = $1")                               \
  X(OF_TIMER, "SELECT instance_key FROM timers WHERE key = $1 AND instance_key <> 0")              \
  /* NEEDSWORK: a scan of the history, as in the SQLite backend (no index of element keys). */     \
  X(OF_ELEMENT, "SELECT instance_key FROM history_packs"                                           \
                " WHERE strpos(events, '[1,' || $1::text || ',') > 0"                              \
                " OR strpos(events, '[1,' || $1::text || ']') > 0"                                 \
                " OR strpos(events, '[\"ELEMENT_ACTIVATED\",\"' || $1::text || '\"') > 0"          \
                " ORDER BY id DESC LIMIT 1")                                                       \
  /* Candidates locked by another transaction (another node leasing them now) are skipped, */     \
  /* not waited for: each job is leased by one of them. */                                         \
  X(JOBS_ACTIVATE, "UPDATE jobs SET worker = $2, lease_until_ms = $3 WHERE key IN"                 \
                   " (SELECT key FROM jobs WHERE type = $1 AND state = 0 AND available_ms <= $4"   \
                   " AND lease_until_ms <= $4 ORDER BY key LIMIT $5 FOR UPDATE SKIP LOCKED)"       \
                   " RETURNING " JOB_COLS)                                                         \
  X(JOB_GET, "SELECT " JOB_COLS " FROM jobs WHERE key = $1")                                       \
  X(TASK_LIST, "SELECT " TASK_COLS " FROM user_tasks WHERE key > $1"                               \
               " AND ($5::integer < 0 OR state = $5) AND ($2::text IS NULL OR assignee = $2)"      \
               " AND ($3::text IS NULL OR jsonb_exists(candidate_groups::jsonb, $3))"              \
               " ORDER BY key LIMIT $4")                                                           \
  X(INC_LIST_ALL, "SELECT " INC_COLS " FROM incidents ORDER BY key")                               \
  X(INC_LIST, "SELECT " INC_COLS " FROM incidents WHERE instance_key = $1 ORDER BY key")           \
  X(TIMERS_DUE, "SELECT " TIMER_COLS " FROM timers WHERE due_ms <= $1 ORDER BY due_ms, key"        \
                " LIMIT $2")                                                                       \
  /* Inside a writer's transaction: the due timers no other node's batch holds, held until this   \
   * one ends (it fires them: deleted, or a start timer moved on), so each fires on one node. */    \
  X(TIMERS_CLAIM, "SELECT " TIMER_COLS " FROM timers WHERE due_ms <= $1 ORDER BY due_ms, key"      \
                  " LIMIT $2 FOR UPDATE SKIP LOCKED")                                              \
  X(TIMER_START_SET, "INSERT INTO timers(" TIMER_COLS ") VALUES ($1, 0, $2, $3, $4)"               \
                     " ON CONFLICT (key) DO UPDATE SET definition_key = EXCLUDED.definition_key,"  \
                     " element_id = EXCLUDED.element_id, due_ms = EXCLUDED.due_ms"                 \
                     " WHERE timers.instance_key = 0")                                             \
  X(TIMER_START_DELETE, "DELETE FROM timers WHERE key = $1 AND instance_key = 0")                  \
  X(SUBS_FIND, "SELECT key, instance_key, element_id, kind, name, correlation_key"                 \
               " FROM subscriptions WHERE kind = $1 AND name = $2"                                 \
               " AND correlation_key IS NOT DISTINCT FROM $3::text ORDER BY key")                  \
  X(MSG_CLEAR_ID, "DELETE FROM messages WHERE message_id = $1 AND expires_ms <= $2")               \
  X(MSG_INSERT, "INSERT INTO messages(" MSG_COLS ") VALUES ($1,$2,$3,$4,$5,$6,$7)")                \
  X(MSG_FIND, "SELECT " MSG_COLS " FROM messages WHERE name = $1"                                  \
              " AND correlation_key IS NOT DISTINCT FROM $2::text AND expires_ms > $3 ORDER BY key")\
  X(MSG_BY_ID, "SELECT 1 FROM messages WHERE message_id = $1 AND expires_ms > $2")                 \
  X(MSG_LIST, "SELECT " MSG_COLS " FROM messages WHERE key > $1 ORDER BY key LIMIT $2")            \
  X(CORR_LIST, "SELECT message_key, process_id FROM message_correlations"                          \
               " WHERE message_key > $1 AND message_key <= $2"                                     \
               " ORDER BY message_key, process_id COLLATE \"C\"")                                  \
  X(CORR_GET, "SELECT 1 FROM message_correlations WHERE message_key = $1 AND process_id = $2")     \
  X(CORR_MARK, "INSERT INTO message_correlations VALUES ($1, $2) ON CONFLICT DO NOTHING")          \
  X(MSG_EXPIRE_CORR, "DELETE FROM message_correlations WHERE message_key IN"                       \
                     " (SELECT key FROM messages WHERE expires_ms <= $1)")                         \
  X(MSG_EXPIRE, "DELETE FROM messages WHERE expires_ms <= $1")                                     \
  X(HIST_INSERT, "INSERT INTO history_packs(instance_key, at_ms, actor, events)"                   \
                 " VALUES ($1, $2, $3, $4)")                                                       \
  X(HIST_LIST, "SELECT at_ms, actor, events FROM history_packs WHERE instance_key = $1 ORDER BY id")\
  X(PRUNE_PICK, "SELECT key FROM instances WHERE state <> 0 AND ended_ms < $1"                     \
                " ORDER BY ended_ms LIMIT $2")                                                     \
  X(PRUNE_HIST, "DELETE FROM history_packs WHERE instance_key = ANY($1::bigint[])")                \
  X(PRUNE_JOBS, "DELETE FROM jobs WHERE instance_key = ANY($1::bigint[])")                         \
  X(PRUNE_TASKS, "DELETE FROM user_tasks WHERE instance_key = ANY($1::bigint[])")                  \
  X(PRUNE_TIMERS, "DELETE FROM timers WHERE instance_key = ANY($1::bigint[]) AND instance_key <> 0")\
  X(PRUNE_SUBS, "DELETE FROM subscriptions WHERE instance_key = ANY($1::bigint[])")                \
  X(PRUNE_INCS, "DELETE FROM incidents WHERE instance_key = ANY($1::bigint[])")                    \
  X(PRUNE_INST, "DELETE FROM instances WHERE key = ANY($1::bigint[])")

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

static const char *const stmt_name[] = {
#define STMT_NAME(id, sql) "cf_" #id,
    STATEMENTS(STMT_NAME)
#undef STMT_NAME
};

/*
 * How long a statement of a transaction that holds the locks of kept
 * operations waits for a row another node's batch holds, before it gives up
 * (lock_timeout) so that the caller commits what it holds and tries again
 * (must_end): two batches waiting for each other would otherwise wait for
 * PostgreSQL's deadlock detection (a second), and a long wait holds up
 * every node waiting on this one's locks.
 */
#define LOCK_WAIT_SQL "SET LOCAL lock_timeout = '50ms'"

/* Statements in the pipeline before it is synced (each result is a few bytes). */
#define PIPE_MAX 256

/* instance_list: one statement per combination of the filters in use. */
enum { LIST_PROCESS = 1, LIST_STATE = 2, LIST_INCIDENT = 4, LIST_BUSINESS = 8, LIST_PARENT = 16,
       LIST_VARIANTS = 32 };

struct cf_store {
  PGconn *conn;
  PGconn *keyconn;           /* keys reserved inside a transaction: opened on first use */
  char *location;            /* the URL, for keyconn */
  char *name;                /* "PostgreSQL database D on H:P", for messages (no password) */
  unsigned flags;
  bool op_open;              /* between op_begin and op_end */
  /*
   * Inside an operation, the writes whose only answer is "done" (side rows,
   * history, the savepoints) go to libpq's pipeline without waiting; the next
   * statement whose answer is needed, or op_end, sends them with it and
   * reads every answer at once (pipe_sync).
   */
  bool pipe;                 /* the connection is in pipeline mode */
  /* Lock waits between nodes (see pg_op_begin): */
  size_t kept_ops;           /* operations kept in the open transaction */
  bool short_wait;           /* lock_timeout is short (LOCK_WAIT_SQL) in the open transaction */
  bool lock_lost;            /* a statement of the transaction lost a lock wait (must_end) */
  /* The last kept operation's savepoint is released with the next operation's first statements
   * (not with its own end: a guarded update found stale at the end must still be undone). */
  bool release_pending;
  /* others_wrote: every writing transaction notifies crmflow_commit as it commits; a writable
   * handle listens from its opening. */
  bool listening, asked;
  bool dirty;                /* the open transaction wrote (or ran an operation) */
  size_t npend;              /* statements sent whose results are unread */
  struct pend {
    const char *what;        /* for the message if it failed */
    bool *prepared;          /* a PQsendPrepare: cleared if it failed */
    uint64_t instance;       /* an instance's guarded update: changing no row is a lost race */
    int64_t expected;        /* the row version it expected */
  } pend[PIPE_MAX];
  bool prepared[ST__COUNT];
  bool list_prepared[LIST_VARIANTS];
  /* Statements from SQL text (cf__store_pg_query): prepared as "cf_t<index>". */
  struct text_stmt {
    uint64_t hash;
    char *sql;
  } texts[CF__PG_CACHE_SIZE];
  size_t ntexts;
};

/* ------------------------------------------------------------ errors */

static int nomem(struct cf_error *err, const char *what) {
  return cf_error_set(err, CF_ENOMEM, "%s: out of memory", what);
}

/* libpq's last message on the connection, without its trailing newline, into buf. */
static const char *conn_msg(PGconn *c, char *buf, size_t size) {
  snprintf(buf, size, "%s", c ? PQerrorMessage(c) : "out of memory");
  size_t n = strlen(buf);
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = '\0';
  return buf;
}

/*
 * Turns a failed result (or none: libpq ran out of memory or lost the
 * connection) into a crmflow error saying what failed, in words a user can
 * act on, by SQLSTATE.
 */
static int pg_fail(struct cf_store *s, const PGresult *res, struct cf_error *err, const char *what) {
  char buf[512];
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
  if (!msg) msg = conn_msg(s->conn, buf, sizeof buf);
  if (!state || PQstatus(s->conn) == CONNECTION_BAD || !strncmp(state, "08", 2) ||
      !strncmp(state, "57P", 3))
    return cf_error_set(err, CF_EIO, "%s: the connection to the %s failed (%s)", what, s->name,
                        msg);
  if (!strcmp(state, "23505") || !strcmp(state, "23P01"))
    return cf_error_set(err, CF_ECONFLICT, "%s: %s%s%s", what, msg, detail ? ": " : "",
                        detail ? detail : "");
  if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03")) {
    s->lock_lost = true;
    return cf_error_set(err, CF_ECONFLICT, "%s: a concurrent transaction won (%s): retry", what,
                        msg);
  }
  if (!strcmp(state, "53100"))
    return cf_error_set(err, CF_EIO,
                        "%s: the disk of the %s is full (%s; free space, then retry); nothing of"
                        " it was stored",
                        what, s->name, msg);
  /* A value the database cannot read as its type (JSON text it refuses, ...): the caller's. */
  if (!strncmp(state, "22", 2))
    return cf_error_set(err, CF_EINVAL, "%s: %s", what, msg);
  if (!strcmp(state, "25006"))
    return cf_error_set(err, CF_EINVAL, "%s: %s was opened read-only (%s)", what, s->name, msg);
  if (!strcmp(state, "25P02"))
    return cf_error_set(err, CF_EIO,
                        "%s: the transaction was aborted by an earlier error (%s): roll it back",
                        what, msg);
  return cf_error_set(err, CF_EIO, "%s: %s: %s (SQLSTATE %s)", what, s->name, msg, state);
}

/* ------------------------------------------------------------ parameters */

static void p_limit(struct cf__pg_params *p, size_t v) {
  cf__pg_i64(p, v > (size_t)INT64_MAX ? INT64_MAX : (int64_t)v);
}

static void p_blob(struct cf__pg_params *p, const char *b, size_t len) {
  p->v[p->n] = b ? (len ? b : "") : NULL;
  p->len[p->n] = (int)len;
  p->fmt[p->n++] = 1;
}

/* ------------------------------------------------------------ running statements */

static bool ok_result(const PGresult *res) {
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* ------------------------------------------------------------ the pipeline */

/*
 * Sends the pipeline's statements and a sync point, and reads every result
 * up to it. The first failure is the answer (the statements after it were
 * not run: the server aborted the pipeline); *kept (may be NULL) gets the
 * last statement's result when it and all before it succeeded. Leaves
 * pipeline mode.
 */
static int pipe_sync(struct cf_store *s, PGresult **kept, struct cf_error *err) {
  int r = CF_OK;
  size_t n = s->npend, i = 0;
  s->npend = 0;
  if (kept) *kept = NULL;
  if (!s->pipe) return CF_OK;
  s->pipe = false;
  bool synced = false;
  if (PQpipelineSync(s->conn) != 1) {
    r = pg_fail(s, NULL, err, n ? s->pend[0].what : "sending statements");
  } else {
    /* Each statement's results end with a NULL; the sync point ends them all. */
    for (size_t guard = 0; guard < 3 * n + 8; guard++) {
      PGresult *res = PQgetResult(s->conn);
      if (!res) {
        if (PQstatus(s->conn) == CONNECTION_BAD) break;
        if (i < n) i++;
        continue;
      }
      ExecStatusType st = PQresultStatus(res);
      if (st == PGRES_PIPELINE_SYNC) {
        PQclear(res);
        synced = true;
        break;
      }
      bool ok = ok_result(res);
      if (!ok && i < n && s->pend[i].prepared) *s->pend[i].prepared = false;
      if (!ok && r == CF_OK)
        r = pg_fail(s, st == PGRES_PIPELINE_ABORTED ? NULL : res, err, i < n ? s->pend[i].what : "a statement");
      if (ok && i < n && s->pend[i].instance && r == CF_OK && !strcmp(PQcmdTuples(res), "0"))
        r = cf_error_set(err, CF_ECONFLICT,
                         "instance %llu was changed concurrently (expected version %lld) or is gone:"
                         " load it again and retry",
                         (unsigned long long)s->pend[i].instance, (long long)s->pend[i].expected);
      if (ok && kept && i + 1 == n && r == CF_OK) {
        if (*kept) PQclear(*kept);
        *kept = res;
      } else {
        PQclear(res);
      }
    }
    if (!synced && r == CF_OK) r = pg_fail(s, NULL, err, n ? s->pend[n - 1].what : "reading results");
  }
  /* Statements prepared in a pipeline that never answered may not exist: prepare them again. */
  if (!synced)
    for (size_t k = i; k < n; k++)
      if (s->pend[k].prepared) *s->pend[k].prepared = false;
  if (PQpipelineStatus(s->conn) != PQ_PIPELINE_OFF && PQexitPipelineMode(s->conn) != 1 && r == CF_OK)
    r = pg_fail(s, NULL, err, "leaving pipeline mode");
  if (r != CF_OK && kept && *kept) {
    PQclear(*kept);
    *kept = NULL;
  }
  return r;
}

/* Enters pipeline mode (once) with room for two more statements (syncing a full one). */
static int pipe_room(struct cf_store *s, struct cf_error *err, const char *what) {
  if (s->pipe && s->npend + 2 > PIPE_MAX) {
    int r = pipe_sync(s, NULL, err);
    if (r) return r;
  }
  if (s->pipe) return CF_OK;
  if (PQenterPipelineMode(s->conn) != 1) return pg_fail(s, NULL, err, what);
  s->pipe = true;
  return CF_OK;
}

/* A send libpq refused (connection lost, out of memory): the pipeline is read off, the error is the send's. */
static int pipe_send_failed(struct cf_store *s, struct cf_error *err, const char *what) {
  int r = pg_fail(s, NULL, err, what);
  pipe_sync(s, NULL, NULL);
  return r;
}

/*
 * Sends statement name (prepared from sql first, in the pipeline too, when
 * it is not yet) into the pipeline. want: syncs and returns its result (the
 * caller PQclears it), or NULL with *r the error of it or of a statement
 * before it; else returns NULL with *r CF_OK, its answer read later.
 */
static PGresult *pipe_send(struct cf_store *s, const char *name, const char *sql, bool *prepared,
                           const struct cf__pg_params *p, bool want, int *r, struct cf_error *err,
                           const char *what) {
  if ((*r = pipe_room(s, err, what))) return NULL;
  if (!*prepared) {
    if (PQsendPrepare(s->conn, name, sql, 0, NULL) != 1) {
      *r = pipe_send_failed(s, err, what);
      return NULL;
    }
    s->pend[s->npend++] = (struct pend){.what = what, .prepared = prepared};
    *prepared = true;
  }
  if (PQsendQueryPrepared(s->conn, name, p ? p->n : 0, p ? p->v : NULL, p ? p->len : NULL,
                          p ? p->fmt : NULL, 0) != 1) {
    *r = pipe_send_failed(s, err, what);
    return NULL;
  }
  s->pend[s->npend++] = (struct pend){.what = what};
  if (!want) return NULL;
  PGresult *res = NULL;
  *r = pipe_sync(s, &res, err);
  return res;
}

/* Sends one SQL command without parameters (a savepoint) into the pipeline; its answer is read later. */
static int pipe_send_sql(struct cf_store *s, const char *sql, struct cf_error *err, const char *what) {
  int r = pipe_room(s, err, what);
  if (r) return r;
  if (PQsendQueryParams(s->conn, sql, 0, NULL, NULL, NULL, NULL, 0) != 1) return pipe_send_failed(s, err, what);
  s->pend[s->npend++] = (struct pend){.what = what};
  return CF_OK;
}

/* Before a statement outside the pipeline: the pipeline's statements, sent and answered. */
static int pipe_flush(struct cf_store *s, struct cf_error *err) {
  return s->pipe ? pipe_sync(s, NULL, err) : CF_OK;
}

/* ------------------------------------------------------------ running statements, continued */

/*
 * Runs the statement named name (prepared from sql on first use on this
 * connection: *prepared says whether it was). Returns its result (the caller
 * PQclears it), or NULL with *r the error.
 */
static PGresult *exec_named(struct cf_store *s, const char *name, const char *sql, bool *prepared,
                            const struct cf__pg_params *p, int *r, struct cf_error *err, const char *what) {
  if (s->op_open) return pipe_send(s, name, sql, prepared, p, true, r, err, what);
  if (s->pipe && (*r = pipe_flush(s, err))) return NULL;
  if (!*prepared) {
    PGresult *pr = PQprepare(s->conn, name, sql, 0, NULL);
    if (!ok_result(pr)) {
      *r = pg_fail(s, pr, err, what);
      PQclear(pr);
      return NULL;
    }
    PQclear(pr);
    *prepared = true;
  }
  PGresult *res = PQexecPrepared(s->conn, name, p ? p->n : 0, p ? p->v : NULL, p ? p->len : NULL,
                                 p ? p->fmt : NULL, 0);
  if (!ok_result(res)) {
    *r = pg_fail(s, res, err, what);
    PQclear(res);
    return NULL;
  }
  *r = CF_OK;
  return res;
}

static PGresult *exec_st(struct cf_store *s, enum stmt_id id, const struct cf__pg_params *p, int *r,
                         struct cf_error *err, const char *what) {
  return exec_named(s, stmt_name[id], stmt_sql[id], &s->prepared[id], p, r, err, what);
}

/* Runs a statement whose rows do not matter; *changed (may be NULL) gets how many rows it changed. */
static int run_st(struct cf_store *s, enum stmt_id id, const struct cf__pg_params *p, size_t *changed,
                  struct cf_error *err, const char *what) {
  int r;
  PGresult *res = exec_st(s, id, p, &r, err, what);
  if (!res) return r;
  if (changed) *changed = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
  PQclear(res);
  return CF_OK;
}

/*
 * Runs a write whose answer is only "done": inside an operation it goes to the
 * pipeline, and a failure is the operation's, reported by the next statement
 * whose answer is read or by op_end. Only for writes that fail when the
 * database does (a full disk, a lost connection), never as an answer the
 * caller handles.
 */
static int defer_st(struct cf_store *s, enum stmt_id id, const struct cf__pg_params *p,
                    struct cf_error *err, const char *what) {
  if (!s->op_open) return run_st(s, id, p, NULL, err, what);
  int r;
  pipe_send(s, stmt_name[id], stmt_sql[id], &s->prepared[id], p, false, &r, err, what);
  return r;
}

/* Runs SQL text without parameters (transaction control, migrations). */
static int exec_sql(struct cf_store *s, const char *sql, struct cf_error *err, const char *what) {
  if (s->pipe) {
    int r = pipe_flush(s, err);
    if (r) return r;
  }
  PGresult *res = PQexec(s->conn, sql);
  int r = ok_result(res) ? CF_OK : pg_fail(s, res, err, what);
  PQclear(res);
  return r;
}

int cf__store_pg_exec(struct cf_store *s, const char *sql, struct cf_error *err) {
  return exec_sql(s, sql, err, "exec");
}

/* ------------------------------------------------------------ statements from SQL text */

static uint64_t fnv1a(const char *t) {
  uint64_t h = 1469598103934665603ull;
  for (; *t; t++) {
    h ^= (unsigned char)*t;
    h *= 1099511628211ull;
  }
  return h;
}

PGresult *cf__store_pg_query(struct cf_store *s, const char *sql, int n, const char *const *values,
                             int *r, struct cf_error *err, const char *what) {
  if (s->pipe && (*r = pipe_flush(s, err))) return NULL;
  uint64_t h = fnv1a(sql);
  size_t i = 0;
  while (i < s->ntexts && !(s->texts[i].hash == h && !strcmp(s->texts[i].sql, sql))) i++;
  char name[32];
  if (i == s->ntexts && s->ntexts < CF__PG_CACHE_SIZE) {
    char *copy = cf_strdup(sql);
    if (!copy) {
      *r = nomem(err, what);
      return NULL;
    }
    snprintf(name, sizeof name, "cf_t%zu", i);
    PGresult *pr = PQprepare(s->conn, name, sql, 0, NULL);
    if (!ok_result(pr)) {
      *r = pg_fail(s, pr, err, what);
      PQclear(pr);
      cf_free(copy);
      return NULL;
    }
    PQclear(pr);
    s->texts[s->ntexts++] = (struct text_stmt){.hash = h, .sql = copy};
  }
  PGresult *res;
  if (i < s->ntexts) {
    snprintf(name, sizeof name, "cf_t%zu", i);
    res = PQexecPrepared(s->conn, name, n, values, NULL, NULL, 0);
  } else {
    res = PQexecParams(s->conn, sql, n, NULL, values, NULL, NULL, 0);
  }
  if (!ok_result(res)) {
    *r = pg_fail(s, res, err, what);
    PQclear(res);
    return NULL;
  }
  *r = CF_OK;
  return res;
}

int cf__store_pg_write(struct cf_store *s, const char *sql, const struct cf__pg_params *p,
                       size_t *changed, struct cf_error *err, const char *what) {
  int r;
  PGresult *res = cf__store_pg_run(s, sql, p, &r, err, what);
  if (!res) return r;
  if (changed) *changed = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
  PQclear(res);
  return CF_OK;
}

int cf__store_pg_int(struct cf_store *s, const char *sql, const struct cf__pg_params *p, int64_t *v,
                     bool *found, struct cf_error *err, const char *what) {
  int r;
  PGresult *res = cf__store_pg_run(s, sql, p, &r, err, what);
  if (!res) return r;
  *found = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0);
  *v = *found ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
  PQclear(res);
  return CF_OK;
}

/* ------------------------------------------------------------ columns */

static bool col_null(const PGresult *res, int row, int c) { return PQgetisnull(res, row, c); }

static int64_t col_i64(const PGresult *res, int row, int c) {
  return col_null(res, row, c) ? 0 : strtoll(PQgetvalue(res, row, c), NULL, 10);
}

static uint64_t col_key(const PGresult *res, int row, int c) { return (uint64_t)col_i64(res, row, c); }
static int32_t col_i32(const PGresult *res, int row, int c) { return (int32_t)col_i64(res, row, c); }

static char *col_str(const PGresult *res, int row, int c, bool *ok) {
  if (col_null(res, row, c)) return NULL;
  char *d = cf_strndup(PQgetvalue(res, row, c), (size_t)PQgetlength(res, row, c));
  if (!d) *ok = false;
  return d;
}

int64_t cf__pg_col_i64(const PGresult *res, int row, int c) { return col_i64(res, row, c); }
char *cf__pg_col_str(const PGresult *res, int row, int c, bool *ok) { return col_str(res, row, c, ok); }

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* A BYTEA column (text result: "\x" and hex) as a NUL-terminated copy of its bytes, and its length. */
static char *col_blob(const PGresult *res, int row, int c, size_t *len, bool *ok) {
  *len = 0;
  if (col_null(res, row, c)) return NULL;
  const char *v = PQgetvalue(res, row, c);
  size_t n = (size_t)PQgetlength(res, row, c);
  if (n < 2 || v[0] != '\\' || v[1] != 'x') {
    /* Not hex (bytea_output = escape): libpq's unescaping, copied into our allocator's memory. */
    size_t m = 0;
    unsigned char *u = PQunescapeBytea((const unsigned char *)v, &m);
    char *d = u ? cf_malloc(m + 1) : NULL;
    if (!d) {
      PQfreemem(u);
      *ok = false;
      return NULL;
    }
    if (m) memcpy(d, u, m);
    d[m] = '\0';
    PQfreemem(u);
    *len = m;
    return d;
  }
  size_t m = (n - 2) / 2;
  char *d = cf_malloc(m + 1);
  if (!d) {
    *ok = false;
    return NULL;
  }
  for (size_t i = 0; i < m; i++) {
    int hi = hexval(v[2 + 2 * i]), lo = hexval(v[3 + 2 * i]);
    d[i] = (char)((hi < 0 ? 0 : hi) << 4 | (lo < 0 ? 0 : lo));
  }
  d[m] = '\0';
  *len = m;
  return d;
}

/* ------------------------------------------------------------ row readers */


bool cf__store_pg_read_definition(const PGresult *res, int row, void *out) {
  struct cf_store_definition *d = out;
  bool ok = true;
  memset(d, 0, sizeof *d);
  d->key = col_key(res, row, 0);
  d->process_id = col_str(res, row, 1, &ok);
  d->version = col_i32(res, row, 2);
  d->version_tag = col_str(res, row, 3, &ok);
  d->deployment_key = col_key(res, row, 4);
  d->resource_name = col_str(res, row, 5, &ok);
  d->checksum = col_str(res, row, 6, &ok);
  d->xml = col_blob(res, row, 7, &d->xml_len, &ok);
  d->deployed_ms = col_i64(res, row, 8);
  if (!ok) cf_store_definition_release(d);
  return ok;
}

bool cf__store_pg_read_instance(const PGresult *res, int row, void *out) {
  struct cf_store_instance *i = out;
  bool ok = true;
  memset(i, 0, sizeof *i);
  i->key = col_key(res, row, 0);
  i->definition_key = col_key(res, row, 1);
  i->process_id = col_str(res, row, 2, &ok);
  i->version = col_i32(res, row, 3);
  i->state = (uint8_t)col_i32(res, row, 4);
  i->incident = col_i32(res, row, 5) != 0;
  i->business_key = col_str(res, row, 6, &ok);
  i->parent_key = col_key(res, row, 7);
  i->started_ms = col_i64(res, row, 8);
  i->ended_ms = col_i64(res, row, 9);
  i->row_version = col_i64(res, row, 10);
  i->engine_state = col_blob(res, row, 11, &i->engine_state_len, &ok);
  i->variables = col_str(res, row, 12, &ok);
  if (!ok) cf_store_instance_release(i);
  return ok;
}

bool cf__store_pg_read_job(const PGresult *res, int row, void *out) {
  struct cf_store_job *j = out;
  bool ok = true;
  memset(j, 0, sizeof *j);
  j->key = col_key(res, row, 0);
  j->instance_key = col_key(res, row, 1);
  j->element_instance_key = col_key(res, row, 2);
  j->element_id = col_str(res, row, 3, &ok);
  j->type = col_str(res, row, 4, &ok);
  j->retries = col_i32(res, row, 5);
  j->state = (uint8_t)col_i32(res, row, 6);
  j->available_ms = col_i64(res, row, 7);
  j->worker = col_str(res, row, 8, &ok);
  j->lease_until_ms = col_i64(res, row, 9);
  j->headers = col_str(res, row, 10, &ok);
  j->error_message = col_str(res, row, 11, &ok);
  if (!ok) cf_store_job_release(j);
  return ok;
}

bool cf__store_pg_read_task(const PGresult *res, int row, void *out) {
  struct cf_store_user_task *t = out;
  bool ok = true;
  memset(t, 0, sizeof *t);
  t->key = col_key(res, row, 0);
  t->instance_key = col_key(res, row, 1);
  t->element_instance_key = col_key(res, row, 2);
  t->element_id = col_str(res, row, 3, &ok);
  t->assignee = col_str(res, row, 4, &ok);
  t->candidate_groups = col_str(res, row, 5, &ok);
  t->candidate_users = col_str(res, row, 6, &ok);
  t->due_date = col_str(res, row, 7, &ok);
  t->follow_up_date = col_str(res, row, 8, &ok);
  t->form_key = col_str(res, row, 9, &ok);
  t->priority = col_i32(res, row, 10);
  t->created_ms = col_i64(res, row, 11);
  t->state = (uint8_t)col_i32(res, row, 12);
  t->completed_ms = col_i64(res, row, 13);
  t->completed_by = col_str(res, row, 14, &ok);
  if (!ok) cf_store_user_task_release(t);
  return ok;
}

static bool read_timer(const PGresult *res, int row, void *out) {
  struct cf_store_timer *t = out;
  bool ok = true;
  memset(t, 0, sizeof *t);
  t->key = col_key(res, row, 0);
  t->instance_key = col_key(res, row, 1);
  t->definition_key = col_key(res, row, 2);
  t->element_id = col_str(res, row, 3, &ok);
  t->due_ms = col_i64(res, row, 4);
  if (!ok) cf_store_timer_release(t);
  return ok;
}

static bool read_sub(const PGresult *res, int row, void *out) {
  struct cf_store_subscription *u = out;
  bool ok = true;
  memset(u, 0, sizeof *u);
  u->key = col_key(res, row, 0);
  u->instance_key = col_key(res, row, 1);
  u->element_id = col_str(res, row, 2, &ok);
  u->kind = (uint8_t)col_i32(res, row, 3);
  u->name = col_str(res, row, 4, &ok);
  u->correlation_key = col_str(res, row, 5, &ok);
  if (!ok) cf_store_subscription_release(u);
  return ok;
}

bool cf__store_pg_read_incident(const PGresult *res, int row, void *out) {
  struct cf_store_incident *c = out;
  bool ok = true;
  memset(c, 0, sizeof *c);
  c->key = col_key(res, row, 0);
  c->instance_key = col_key(res, row, 1);
  c->element_instance_key = col_key(res, row, 2);
  c->element_id = col_str(res, row, 3, &ok);
  c->type = (uint8_t)col_i32(res, row, 4);
  c->job_key = col_key(res, row, 5);
  c->message = col_str(res, row, 6, &ok);
  c->created_ms = col_i64(res, row, 7);
  if (!ok) cf_store_incident_release(c);
  return ok;
}

static bool read_message(const PGresult *res, int row, void *out) {
  struct cf_store_message *m = out;
  bool ok = true;
  memset(m, 0, sizeof *m);
  m->key = col_key(res, row, 0);
  m->name = col_str(res, row, 1, &ok);
  m->correlation_key = col_str(res, row, 2, &ok);
  m->message_id = col_str(res, row, 3, &ok);
  m->variables = col_str(res, row, 4, &ok);
  m->published_ms = col_i64(res, row, 5);
  m->expires_ms = col_i64(res, row, 6);
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

/* Reads every row of res into a new array (NULL for none); clears res. Nothing handed out on failure. */
int cf__store_pg_collect(PGresult *res, size_t sz, cf__pg_reader rd, void (*rel)(void *), void **out, size_t *n,
                   struct cf_error *err, const char *what) {
  int rows = PQntuples(res), r = CF_OK;
  char *items = NULL;
  size_t cnt = 0;
  if (rows > 0 && !(items = cf_malloc((size_t)rows * sz))) r = nomem(err, what);
  for (int i = 0; r == CF_OK && i < rows; i++) {
    if (!rd(res, i, items + cnt * sz)) {
      r = nomem(err, what);
      break;
    }
    cnt++;
  }
  PQclear(res);
  if (r != CF_OK) {
    for (size_t i = 0; i < cnt; i++) rel(items + i * sz);
    cf_free(items);
    return r;
  }
  *out = items;
  *n = cnt;
  return CF_OK;
}

static int fetch_all(struct cf_store *s, enum stmt_id id, const struct cf__pg_params *p, size_t sz,
                     cf__pg_reader rd, void (*rel)(void *), void **out, size_t *n,
                     struct cf_error *err, const char *what) {
  int r;
  PGresult *res = exec_st(s, id, p, &r, err, what);
  if (!res) return r;
  return cf__store_pg_collect(res, sz, rd, rel, out, n, err, what);
}

/* At most one row into *row: CF_ENOTFOUND (err naming `what`) when there is none. */
static int fetch_one(struct cf_store *s, enum stmt_id id, const struct cf__pg_params *p, cf__pg_reader rd,
                     void *row, struct cf_error *err, const char *what) {
  int r;
  PGresult *res = exec_st(s, id, p, &r, err, what);
  if (!res) return r;
  if (PQntuples(res) == 0)
    r = cf_error_set(err, CF_ENOTFOUND, "%s: not found", what);
  else
    r = rd(res, 0, row) ? CF_OK : nomem(err, what);
  PQclear(res);
  return r;
}

int cf__store_pg_first(PGresult *res, cf__pg_reader rd, void *row, struct cf_error *err,
                       const char *what) {
  int r;
  if (PQntuples(res) == 0)
    r = cf_error_set(err, CF_ENOTFOUND, "%s: not found", what);
  else
    r = rd(res, 0, row) ? CF_OK : nomem(err, what);
  PQclear(res);
  return r;
}

/* A statement that yields one integer (or no row: *found false). */
static int fetch_int(struct cf_store *s, enum stmt_id id, const struct cf__pg_params *p, int64_t *v,
                     bool *found, struct cf_error *err, const char *what) {
  int r;
  PGresult *res = exec_st(s, id, p, &r, err, what);
  if (!res) return r;
  *found = PQntuples(res) > 0;
  if (*found) *v = col_i64(res, 0, 0);
  PQclear(res);
  return CF_OK;
}

/* ------------------------------------------------------------ transactions */

/* Whether a transaction is open (also one a failed statement aborted, until it is rolled back). */
static bool in_tx(struct cf_store *s) {
  PGTransactionStatusType t = PQtransactionStatus(s->conn);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

static bool readonly(struct cf_store *s) { return s->flags & CF_STORE_READONLY; }

static int refuse_readonly(struct cf_store *s, struct cf_error *err, const char *what) {
  return cf_error_set(err, CF_EINVAL, "%s: the %s was opened read-only", what, s->name);
}

bool cf__store_pg_readonly(const struct cf_store *s) { return s->flags & CF_STORE_READONLY; }
const char *cf__store_pg_name(const struct cf_store *s) { return s->name; }
bool cf__store_pg_in_tx(struct cf_store *s) { return in_tx(s); }
int cf__store_pg_fail(struct cf_store *s, const PGresult *res, struct cf_error *err, const char *what) {
  return pg_fail(s, res, err, what);
}

/* A new transaction, or none: no operation kept, the server's lock_timeout. */
static void tx_reset(struct cf_store *s) {
  s->dirty = false;
  s->release_pending = false;
  s->kept_ops = 0;
  s->short_wait = false;
  s->lock_lost = false;
}

static int pg_begin(struct cf_store *s, struct cf_error *err) {
  tx_reset(s);
  if (readonly(s)) return refuse_readonly(s, err, "begin");
  if (in_tx(s)) return cf_error_set(err, CF_EINVAL, "begin: a transaction is already open");
  return exec_sql(s, "BEGIN", err, "begin");
}

static void pg_rollback(struct cf_store *s) {
  s->op_open = false;
  tx_reset(s);
  if (in_tx(s)) exec_sql(s, "ROLLBACK", NULL, "rollback");
}

/* A failed commit rolls back: nothing of the transaction is stored. */
static int pg_commit(struct cf_store *s, struct cf_error *err) {
  s->op_open = false;
  bool notify = s->dirty, short_wait = s->short_wait;
  tx_reset(s);
  if (s->pipe) {
    int r = pipe_flush(s, err);
    if (r) {
      pg_rollback(s);
      return r;
    }
  }
  PGTransactionStatusType t = PQtransactionStatus(s->conn);
  if (t == PQTRANS_IDLE)
    return cf_error_set(err, CF_EINVAL,
                        "commit: no transaction is open (an earlier error rolled it back)");
  /* PostgreSQL answers COMMIT of an aborted transaction with a rollback, not an error. */
  if (t == PQTRANS_INERROR) {
    pg_rollback(s);
    return cf_error_set(err, CF_EIO,
                        "commit: a statement of the transaction failed, so the database aborted"
                        " it; nothing of it was stored");
  }
  /* The notification goes out with the commit, to every other handle's others_wrote. */
  /* NOTIFY takes the database's notification lock as it commits (one committing notifier at a
   * time, each for its commit's flush): never with the short lock wait of a batch, which would
   * fail the commit when another node's commit holds it a little longer. */
  PGresult *res = PQexec(s->conn, !notify         ? "COMMIT"
                                  : short_wait ? "SET LOCAL lock_timeout = 0; NOTIFY crmflow_commit; COMMIT"
                                               : "NOTIFY crmflow_commit; COMMIT");
  int r = CF_OK;
  if (!ok_result(res))
    r = pg_fail(s, res, err, "commit");
  else if (!strcmp(PQcmdStatus(res), "ROLLBACK"))
    r = cf_error_set(err, CF_EIO, "commit: the database rolled the transaction back");
  PQclear(res);
  if (r != CF_OK) pg_rollback(s);
  return r;
}

enum { TX_NONE, TX_OWN, TX_SAVEPOINT };

/*
 * Opens the scope of one write call: a transaction of its own when the
 * caller has none open, else a savepoint inside the caller's (none inside an
 * operation: its own savepoint undoes a failed call with the rest).
 */
static int call_begin(struct cf_store *s, int *scope, struct cf_error *err, const char *what) {
  *scope = TX_NONE;
  if (readonly(s)) return refuse_readonly(s, err, what);
  s->dirty = true;
  if (in_tx(s)) {
    if (s->op_open) return CF_OK;
    int r = exec_sql(s, "SAVEPOINT cf_call", err, what);
    if (r == CF_OK) *scope = TX_SAVEPOINT;
    return r;
  }
  int r = exec_sql(s, "BEGIN", err, what);
  if (r == CF_OK) *scope = TX_OWN;
  return r;
}

/* Closes the scope: keeps the call's writes when r is CF_OK, else undoes them. Returns r or the commit's error. */
static int call_end(struct cf_store *s, int scope, int r, struct cf_error *err) {
  if (scope == TX_OWN) {
    if (r == CF_OK) return pg_commit(s, err);
    pg_rollback(s);
  } else if (scope == TX_SAVEPOINT && in_tx(s)) {
    if (r != CF_OK)
      exec_sql(s, "ROLLBACK TO SAVEPOINT cf_call; RELEASE SAVEPOINT cf_call", NULL, "rollback");
    else
      r = exec_sql(s, "RELEASE SAVEPOINT cf_call", err, "release");
  }
  return r;
}

int cf__store_pg_call_begin(struct cf_store *s, int *scope, struct cf_error *err, const char *what) {
  return call_begin(s, scope, err, what);
}

int cf__store_pg_call_end(struct cf_store *s, int scope, int r, struct cf_error *err) {
  return call_end(s, scope, r, err);
}

/*
 * Whether another connection committed a write since this handle last asked:
 * a writing transaction sends NOTIFY crmflow_commit with its COMMIT, and a
 * writable handle LISTENs from its opening; libpq keeps the notifications
 * that came with any answer, and the server sends those pending before it
 * reads the next command (so, asked right after BEGIN, every commit the
 * server had signalled before the BEGIN is seen). One committed in the
 * instant before, not yet signalled, is seen at the next ask: the same as a
 * commit during the transaction, which no asking at its start can see, and
 * which the instance row's version guards against. A handle that does not
 * listen (read-only) says true.
 */
static int pg_others_wrote(struct cf_store *s, bool *wrote, struct cf_error *err) {
  (void)err;
  *wrote = true;
  if (!s->listening || s->pipe) return CF_OK;
  bool any = !s->asked;
  s->asked = true;
  if (!PQconsumeInput(s->conn)) return CF_OK; /* the next statement says what is wrong */
  int me = PQbackendPID(s->conn);
  PGnotify *n;
  while ((n = PQnotifies(s->conn))) {
    if (n->be_pid != me) any = true;
    PQfreemem(n);
  }
  *wrote = any;
  return CF_OK;
}

static int pg_op_begin(struct cf_store *s, struct cf_error *err) {
  if (!in_tx(s)) return cf_error_set(err, CF_EINVAL, "an operation needs an open transaction");
  if (s->op_open) return cf_error_set(err, CF_EINVAL, "an operation is already open");
  s->lock_lost = false;
  s->dirty = true;
  int r = CF_OK;
  if (s->release_pending) {
    if ((r = pipe_send_sql(s, "RELEASE SAVEPOINT cf_op", err, "starting an operation"))) return r;
    s->release_pending = false;
  }
  /* Once the transaction holds kept operations' locks, a lock wait is short (50 ms, LOCK_WAIT_SQL); the
   * first operation waits as long as it takes (it holds nothing another node can wait for). SET
   * LOCAL before the savepoint: undoing the operation does not undo it. */
  if (s->kept_ops > 0 && !s->short_wait) {
    r = pipe_send_sql(s, LOCK_WAIT_SQL, err, "starting an operation");
    if (r) return r;
    s->short_wait = true;
  }
  /* Sent with the operation's first statement whose answer is read. */
  r = pipe_send_sql(s, "SAVEPOINT cf_op", err, "starting an operation");
  if (r == CF_OK) s->op_open = true;
  return r;
}

/*
 * Keeps or undoes the operation. Its deferred writes are sent here with the
 * release: when one of them fails, the operation is undone and the error is
 * the write's, and the transaction stays open for the next operation (the
 * store contract's op_end). CF_EIO: the transaction is lost.
 */
static int pg_op_end(struct cf_store *s, bool keep, struct cf_error *err) {
  s->op_open = false;
  int r = CF_OK;
  if (keep && s->pipe) {
    /* The usual end: the operation's deferred writes, in one round trip (the release goes later). */
    if ((r = pipe_sync(s, NULL, err)) == CF_OK) {
      s->release_pending = true;
      s->kept_ops++;
      return CF_OK;
    }
    keep = false; /* a write failed or a guarded update found its row changed (err says which): undone below */
  } else if (s->pipe) {
    pipe_sync(s, NULL, NULL); /* undone anyway: what its writes answered does not matter */
  }
  if (!in_tx(s))
    return cf_error_set(err, CF_EIO,
                        "the transaction was rolled back by the database (the connection lost?)");
  /* A call that failed inside the operation aborted the transaction: only undoing it helps. */
  if (keep && PQtransactionStatus(s->conn) == PQTRANS_INERROR) {
    keep = false;
    r = cf_error_set(err, CF_EINVAL,
                     "ending an operation: a call inside it failed, so it cannot be kept (undone)");
  }
  if (keep) {
    s->release_pending = true;
    s->kept_ops++;
    return CF_OK;
  }
  struct cf_error e2;
  cf_error_clear(&e2);
  if (exec_sql(s, "ROLLBACK TO SAVEPOINT cf_op; RELEASE SAVEPOINT cf_op", &e2, "undoing an operation"))
    return cf_error_set(err, CF_EIO, "%s: the transaction cannot go on", e2.msg);
  return r;
}

/* After a failed call or operation: whether it lost a lock wait (or a deadlock) to another transaction. */
static bool pg_must_end(struct cf_store *s) {
  return s->lock_lost && s->kept_ops > 0;
}

/* ------------------------------------------------------------ open, migrate, close */

static void pg_close(struct cf_store *s) {
  if (!s) return;
  if (s->conn) {
    if (PQstatus(s->conn) == CONNECTION_OK && in_tx(s)) exec_sql(s, "ROLLBACK", NULL, "closing");
    PQfinish(s->conn);
  }
  if (s->keyconn) PQfinish(s->keyconn);
  cf_free(s->location);
  for (size_t i = 0; i < s->ntexts; i++) cf_free(s->texts[i].sql);
  cf_free(s->name);
  cf_free(s);
}

/* Notices (IF NOT EXISTS, ...) are not for the user's terminal. */
static void quiet_notices(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

/*
 * The schema version of the database: 0 for a new one (no tables in the
 * connection's schema). A database with tables but no schema_version is
 * somebody else's.
 */
static int schema_version(struct cf_store *s, int *version, struct cf_error *err) {
  PGresult *res = PQexec(s->conn,
                         "SELECT to_regclass('schema_version') IS NOT NULL,"
                         " (SELECT count(*) FROM information_schema.tables"
                         "  WHERE table_schema = current_schema())");
  if (!ok_result(res) || PQntuples(res) != 1) {
    int r = pg_fail(s, res, err, "reading the schema");
    PQclear(res);
    return r;
  }
  bool has_version = PQgetvalue(res, 0, 0)[0] == 't';
  int64_t tables = col_i64(res, 0, 1);
  PQclear(res);
  if (!has_version) {
    *version = 0;
    if (tables > 0)
      return cf_error_set(err, CF_EIO,
                          "the %s is not a crmflow database (it has tables of something else):"
                          " name an empty database",
                          s->name);
    return CF_OK;
  }
  res = PQexec(s->conn, "SELECT coalesce(max(version), 0) FROM schema_version");
  if (!ok_result(res) || PQntuples(res) != 1) {
    int r = pg_fail(s, res, err, "reading the schema version");
    PQclear(res);
    return r;
  }
  *version = (int)col_i64(res, 0, 0);
  PQclear(res);
  return CF_OK;
}

static int newer_schema(struct cf_store *s, int v, struct cf_error *err) {
  return cf_error_set(err, CF_EUNSUPPORTED,
                      "the %s was written by a newer crmflow (schema %d, this one knows up to %d)",
                      s->name, v, SCHEMA_VERSION);
}

/* Applies the pending migrations, each in one transaction, under an advisory lock (another node may be migrating). */
static int migrate(struct cf_store *s, struct cf_error *err) {
  int v, r = schema_version(s, &v, err);
  if (r != CF_OK) return r;
  if (v > SCHEMA_VERSION) return newer_schema(s, v, err);
  while (v < SCHEMA_VERSION) {
    if ((r = exec_sql(s, "BEGIN; SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")", err,
                      "migrating")) != CF_OK)
      goto undo;
    if ((r = schema_version(s, &v, err)) != CF_OK) goto undo;
    if (v >= SCHEMA_VERSION) {
      pg_rollback(s);
      return v > SCHEMA_VERSION ? newer_schema(s, v, err) : CF_OK;
    }
    if (v == 0 && (r = exec_sql(s,
                                "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);"
                                "INSERT INTO schema_version SELECT 0"
                                " WHERE NOT EXISTS (SELECT 1 FROM schema_version)",
                                err, "migrating")) != CF_OK)
      goto undo;
    struct cf_error e = {0};
    if (exec_sql(s, migrations[v], &e, "migrating") != CF_OK) {
      r = cf_error_set(err, e.code, "the %s: migration %d failed (%s); the database is as it was",
                       s->name, v + 1, e.msg);
      goto undo;
    }
    char sql[64];
    snprintf(sql, sizeof sql, "UPDATE schema_version SET version = %d", v + 1);
    if ((r = exec_sql(s, sql, err, "migrating")) != CF_OK) goto undo;
    if ((r = pg_commit(s, err)) != CF_OK) return r;
    v++;
  }
  return CF_OK;
undo:
  pg_rollback(s);
  return r;
}

static int pg_open(const char *location, unsigned flags, struct cf_store **out, struct cf_error *err) {
  int r = CF_OK;
  struct cf_store *s = cf_calloc(1, sizeof *s);
  if (!s) return nomem(err, "opening the store");
  s->flags = flags;
  s->conn = PQconnectdb(location);
  if (!s->conn || !(s->location = cf_strdup(location))) {
    pg_close(s);
    return nomem(err, "opening the store");
  }
  {
    const char *db = PQdb(s->conn), *host = PQhost(s->conn), *port = PQport(s->conn);
    char name[256];
    snprintf(name, sizeof name, "PostgreSQL database %s on %s%s%s", db && *db ? db : "?",
             host && *host ? host : "?", port && *port ? ":" : "", port ? port : "");
    if (!(s->name = cf_strdup(name))) {
      r = nomem(err, "opening the store");
      goto out;
    }
  }
  if (PQstatus(s->conn) != CONNECTION_OK) {
    char buf[512];
    r = cf_error_set(err, CF_EIO, "cannot connect to the %s: %s", s->name,
                     conn_msg(s->conn, buf, sizeof buf));
    goto out;
  }
  PQsetNoticeProcessor(s->conn, quiet_notices, NULL);
  if ((r = exec_sql(s, "SET client_min_messages = warning", err, "opening")) != CF_OK) goto out;
  if ((flags & CF_STORE_FAST) &&
      (r = exec_sql(s, "SET synchronous_commit = off", err, "opening")) != CF_OK)
    goto out;
  if (!readonly(s)) {
    if ((r = migrate(s, err)) == CF_OK && (r = exec_sql(s, "LISTEN crmflow_commit", err, "opening")) == CF_OK)
      s->listening = true;
  } else {
    if ((r = exec_sql(s, "SET default_transaction_read_only = on", err, "opening")) != CF_OK)
      goto out;
    int v;
    if ((r = schema_version(s, &v, err)) != CF_OK) goto out;
    if (v > SCHEMA_VERSION)
      r = newer_schema(s, v, err);
    else if (v == 0)
      r = cf_error_set(err, CF_EIO, "the %s is not a crmflow database (it has no schema)", s->name);
    else if (v < SCHEMA_VERSION)
      r = cf_error_set(err, CF_EUNSUPPORTED,
                       "the %s has schema %d, this crmflow needs %d: open it once for writing to"
                       " upgrade it",
                       s->name, v, SCHEMA_VERSION);
  }
out:
  if (r != CF_OK) {
    pg_close(s);
    return r;
  }
  *out = s;
  return CF_OK;
}

/* ------------------------------------------------------------ keys */

/*
 * A block of keys taken inside the caller's transaction comes from a
 * connection of its own, in a transaction of its own (committed at once):
 * the keys row is then locked for one statement, never for the caller's whole
 * batch, so nodes reserving keys do not wait for each other's batches. Keys
 * of a batch rolled back are not handed out again (gaps, never duplicates).
 */
static int reserve_on_keyconn(struct cf_store *s, uint64_t n, int64_t *v, struct cf_error *err,
                              const char *what) {
  char buf[512];
  if (s->keyconn && PQstatus(s->keyconn) != CONNECTION_OK) {
    PQfinish(s->keyconn);
    s->keyconn = NULL;
  }
  if (!s->keyconn) {
    s->keyconn = PQconnectdb(s->location);
    if (!s->keyconn) return nomem(err, what);
    if (PQstatus(s->keyconn) != CONNECTION_OK)
      return cf_error_set(err, CF_EIO, "%s: cannot connect to the %s: %s", what, s->name,
                          conn_msg(s->keyconn, buf, sizeof buf));
    PQsetNoticeProcessor(s->keyconn, quiet_notices, NULL);
    if (s->flags & CF_STORE_FAST) PQclear(PQexec(s->keyconn, "SET synchronous_commit = off"));
  }
  char count[24];
  snprintf(count, sizeof count, "%llu", (unsigned long long)n);
  const char *values[1] = {count};
  PGresult *res = PQexecParams(s->keyconn, stmt_sql[ST_KEYS], 1, NULL, values, NULL, NULL, 0);
  int r = CF_OK;
  if (!ok_result(res)) {
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    r = cf_error_set(err, CF_EIO, "%s: the %s failed: %s", what, s->name,
                     msg ? msg : conn_msg(s->keyconn, buf, sizeof buf));
  } else if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
    r = cf_error_set(err, CF_EIO, "%s: the %s has no key counter", what, s->name);
  } else {
    *v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
  }
  PQclear(res);
  return r;
}

static int pg_reserve_keys(struct cf_store *s, uint64_t n, uint64_t *first, struct cf_error *err) {
  static const char what[] = "reserving keys";
  if (n == 0 || n > (uint64_t)INT64_MAX / 2) return cf_error_set(err, CF_EINVAL, "%s: bad count", what);
  if (readonly(s)) return refuse_readonly(s, err, what);
  int64_t v = 0;
  int r;
  if (in_tx(s)) {
    r = reserve_on_keyconn(s, n, &v, err, what);
  } else {
    int scope;
    if ((r = call_begin(s, &scope, err, what))) return r;
    struct cf__pg_params p = {0};
    cf__pg_key(&p, n);
    bool found = false;
    if ((r = fetch_int(s, ST_KEYS, &p, &v, &found, err, what)) == CF_OK && !found)
      r = cf_error_set(err, CF_EIO, "%s: the %s has no key counter", what, s->name);
    r = call_end(s, scope, r, err);
  }
  if (r == CF_OK) *first = (uint64_t)v;
  return r;
}

/* ------------------------------------------------------------ deployments */

static int pg_definition_find_checksum(struct cf_store *s, const char *process_id,
                                       const char *checksum, struct cf_store_definition *out,
                                       struct cf_error *err) {
  struct cf__pg_params p = {0};
  cf__pg_text(&p, process_id);
  cf__pg_text(&p, checksum);
  struct cf_store_definition d;
  int r = fetch_one(s, ST_DEF_CHECKSUM, &p, cf__store_pg_read_definition, &d, err, "finding a deployment");
  if (r == CF_ENOTFOUND)
    return cf_error_set(err, CF_ENOTFOUND, "no deployment of process '%s' with checksum %s",
                        process_id, checksum);
  if (r == CF_OK) *out = d;
  return r;
}

static int pg_definition_insert(struct cf_store *s, struct cf_store_definition *d,
                                struct cf_error *err) {
  static const char what[] = "deploying";
  if (!d->key || !d->process_id || !d->resource_name || !d->checksum || !d->xml)
    return cf_error_set(err, CF_EINVAL, "%s: a definition needs a key, process id, resource"
                        " name, checksum and XML", what);
  int scope, r = call_begin(s, &scope, err, what);
  if (r) return r;
  int32_t version = d->version;
  if (version <= 0) {
    struct cf__pg_params p = {0};
    cf__pg_text(&p, d->process_id);
    int64_t v = 1;
    bool found;
    if ((r = fetch_int(s, ST_DEF_NEXT, &p, &v, &found, err, what)) != CF_OK) goto out;
    version = (int32_t)v;
  }
  struct cf__pg_params p = {0};
  cf__pg_key(&p, d->key);
  cf__pg_text(&p, d->process_id);
  cf__pg_i64(&p, version);
  cf__pg_text(&p, d->version_tag);
  cf__pg_key(&p, d->deployment_key);
  cf__pg_text(&p, d->resource_name);
  cf__pg_text(&p, d->checksum);
  p_blob(&p, d->xml, d->xml_len);
  cf__pg_i64(&p, d->deployed_ms);
  r = run_st(s, ST_DEF_INSERT, &p, NULL, err, what);
out:
  r = call_end(s, scope, r, err);
  if (r == CF_OK) d->version = version;
  return r;
}

static int pg_definition_get(struct cf_store *s, const char *process_id, int32_t version,
                             const char *version_tag, struct cf_store_definition *out,
                             struct cf_error *err) {
  enum stmt_id id = version_tag ? ST_DEF_TAG : version > 0 ? ST_DEF_VERSION : ST_DEF_LATEST;
  struct cf__pg_params p = {0};
  cf__pg_text(&p, process_id);
  if (id == ST_DEF_TAG) cf__pg_text(&p, version_tag);
  if (id == ST_DEF_VERSION) cf__pg_i64(&p, version);
  struct cf_store_definition d;
  int r = fetch_one(s, id, &p, cf__store_pg_read_definition, &d, err, "getting a definition");
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

static int pg_definition_by_key(struct cf_store *s, uint64_t key, struct cf_store_definition *out,
                                struct cf_error *err) {
  struct cf__pg_params p = {0};
  cf__pg_key(&p, key);
  struct cf_store_definition d;
  int r = fetch_one(s, ST_DEF_KEY, &p, cf__store_pg_read_definition, &d, err, "getting a definition");
  if (r == CF_ENOTFOUND)
    return cf_error_set(err, CF_ENOTFOUND, "no process definition with key %llu",
                        (unsigned long long)key);
  if (r == CF_OK) *out = d;
  return r;
}

static int pg_definition_list(struct cf_store *s, bool latest_only, struct cf_store_definition **out,
                              size_t *n, struct cf_error *err) {
  return fetch_all(s, latest_only ? ST_DEF_ALL_LATEST : ST_DEF_ALL, NULL, sizeof **out,
                   cf__store_pg_read_definition, rel_definition, (void **)out, n, err, "listing definitions");
}

/* ------------------------------------------------------------ instances */

/* $1..$13 of INST_INSERT / INST_UPDATE; $11 is the row version (insert) or the expected one (update). */
static void instance_params(struct cf__pg_params *p, const struct cf_store_instance *i, int64_t v11) {
  cf__pg_key(p, i->key);
  cf__pg_key(p, i->definition_key);
  cf__pg_text(p, i->process_id);
  cf__pg_i64(p, i->version);
  cf__pg_i64(p, i->state);
  cf__pg_i64(p, i->incident ? 1 : 0);
  cf__pg_text(p, i->business_key);
  cf__pg_key(p, i->parent_key);
  cf__pg_i64(p, i->started_ms);
  cf__pg_i64(p, i->ended_ms);
  cf__pg_i64(p, v11);
  p_blob(p, i->engine_state, i->engine_state_len);
  cf__pg_text(p, i->variables);
}

static int run_key(struct cf_store *s, enum stmt_id id, uint64_t key, struct cf_error *err,
                   const char *what) {
  struct cf__pg_params p = {0};
  cf__pg_key(&p, key);
  return run_st(s, id, &p, NULL, err, what);
}

/* A side row's delete by instance key: deferred inside an operation (defer_st). */
static int defer_key(struct cf_store *s, enum stmt_id id, uint64_t key, struct cf_error *err,
                     const char *what) {
  struct cf__pg_params p = {0};
  cf__pg_key(&p, key);
  return defer_st(s, id, &p, err, what);
}

/* "{k1,k2,...}": an array of keys as a BIGINT[] parameter's text. */
static bool key_array(struct cf_buf *b, const uint64_t *keys, size_t n, size_t stride) {
  cf_buf_putc(b, '{');
  for (size_t i = 0; i < n; i++) {
    uint64_t k = *(const uint64_t *)((const char *)keys + i * stride);
    cf_buf_printf(b, "%s%lld", i ? "," : "", (long long)k);
  }
  cf_buf_putc(b, '}');
  return !b->oom;
}

static bool known_key(const uint64_t *keys, size_t n, uint64_t key) {
  for (size_t i = 0; i < n; i++)
    if (keys[i] == key) return true;
  return false;
}

/*
 * Writes the side rows of instance ikey. fresh: the instance is new, so
 * there is nothing to replace. Jobs are upserted (a job that stays keeps its
 * lease); the other rows are replaced whole.
 */
static int rows_write(struct cf_store *s, uint64_t ikey, const struct cf_store_instance_rows *rows,
                      bool fresh, struct cf_error *err, const char *what) {
  int r = CF_OK;
  if (!fresh) {
    unsigned none = rows ? rows->known_empty : 0;
    /* Without a job in rows and none known before, there is nothing to drop. */
    if (rows && rows->prior_jobs_known && rows->nprior_jobs == 0) none |= CF_STORE_ROWS_JOBS;
    if (!(none & CF_STORE_ROWS_JOBS)) {
      struct cf_buf b;
      cf_buf_init(&b);
      /* The jobs' keys are the first field of struct cf_store_job. */
      if (!key_array(&b, rows && rows->njobs ? &rows->jobs[0].key : NULL, rows ? rows->njobs : 0,
                     sizeof(struct cf_store_job))) {
        cf_buf_release(&b);
        return nomem(err, what);
      }
      struct cf__pg_params p = {0};
      cf__pg_key(&p, ikey);
      cf__pg_text(&p, b.data);
      r = defer_st(s, ST_JOBS_DROP, &p, err, what);
      cf_buf_release(&b);
      if (r) return r;
    }
    if ((!(none & CF_STORE_ROWS_TASKS) && (r = defer_key(s, ST_TASKS_DELETE_OPEN, ikey, err, what))) ||
        (!(none & CF_STORE_ROWS_TIMERS) && (r = defer_key(s, ST_TIMERS_DELETE_ALL, ikey, err, what))) ||
        (!(none & CF_STORE_ROWS_SUBS) && (r = defer_key(s, ST_SUBS_DELETE_ALL, ikey, err, what))) ||
        (!(none & CF_STORE_ROWS_INCIDENTS) && (r = defer_key(s, ST_INCS_DELETE_ALL, ikey, err, what))))
      return r;
  }
  if (!rows) return CF_OK;
  for (size_t i = 0; i < rows->njobs; i++) {
    const struct cf_store_job *j = &rows->jobs[i];
    struct cf__pg_params p = {0};
    cf__pg_key(&p, j->key);
    cf__pg_key(&p, ikey);
    cf__pg_key(&p, j->element_instance_key);
    cf__pg_text(&p, j->element_id ? j->element_id : "");
    cf__pg_text(&p, j->type ? j->type : "");
    cf__pg_i64(&p, j->retries);
    cf__pg_i64(&p, j->state);
    cf__pg_i64(&p, j->available_ms);
    cf__pg_text(&p, j->worker);
    cf__pg_i64(&p, j->worker ? j->lease_until_ms : 0);
    cf__pg_text(&p, j->headers);
    cf__pg_text(&p, j->error_message);
    if (!fresh) {
      struct cf__pg_params u = {0};
      cf__pg_key(&u, j->key);
      cf__pg_text(&u, j->element_id ? j->element_id : "");
      cf__pg_text(&u, j->type ? j->type : "");
      cf__pg_i64(&u, j->retries);
      cf__pg_i64(&u, j->state);
      cf__pg_i64(&u, j->available_ms);
      cf__pg_text(&u, j->worker);
      cf__pg_i64(&u, j->worker ? j->lease_until_ms : 0);
      cf__pg_text(&u, j->headers);
      cf__pg_text(&u, j->error_message);
      if ((r = defer_st(s, ST_JOB_UPDATE, &u, err, what))) return r;
      /* A job known to be stored already is not inserted: the insert's key check would wait for a
       * node whose batch holds the row's lease. */
      if (rows->prior_jobs_known && known_key(rows->prior_jobs, rows->nprior_jobs, j->key)) continue;
    }
    if ((r = defer_st(s, ST_JOB_INSERT_NEW, &p, err, what))) return r;
  }
  for (size_t i = 0; i < rows->ntasks; i++) {
    const struct cf_store_user_task *t = &rows->tasks[i];
    struct cf__pg_params p = {0};
    cf__pg_key(&p, t->key);
    cf__pg_key(&p, ikey);
    cf__pg_key(&p, t->element_instance_key);
    cf__pg_text(&p, t->element_id ? t->element_id : "");
    cf__pg_text(&p, t->assignee);
    cf__pg_text(&p, t->candidate_groups);
    cf__pg_text(&p, t->candidate_users);
    cf__pg_text(&p, t->due_date);
    cf__pg_text(&p, t->follow_up_date);
    cf__pg_text(&p, t->form_key);
    cf__pg_i64(&p, t->priority);
    cf__pg_i64(&p, t->created_ms);
    if ((r = defer_st(s, ST_TASK_INSERT, &p, err, what))) return r;
  }
  for (size_t i = 0; i < rows->ntimers; i++) {
    const struct cf_store_timer *t = &rows->timers[i];
    struct cf__pg_params p = {0};
    cf__pg_key(&p, t->key);
    cf__pg_key(&p, ikey);
    cf__pg_key(&p, t->definition_key);
    cf__pg_text(&p, t->element_id ? t->element_id : "");
    cf__pg_i64(&p, t->due_ms);
    if ((r = defer_st(s, ST_TIMER_INSERT, &p, err, what))) return r;
  }
  for (size_t i = 0; i < rows->nsubs; i++) {
    const struct cf_store_subscription *u = &rows->subs[i];
    struct cf__pg_params p = {0};
    cf__pg_key(&p, u->key);
    cf__pg_key(&p, ikey);
    cf__pg_text(&p, u->element_id ? u->element_id : "");
    cf__pg_i64(&p, u->kind);
    cf__pg_text(&p, u->name ? u->name : "");
    cf__pg_text(&p, u->correlation_key);
    if ((r = defer_st(s, ST_SUB_INSERT, &p, err, what))) return r;
  }
  for (size_t i = 0; i < rows->nincidents; i++) {
    const struct cf_store_incident *c = &rows->incidents[i];
    struct cf__pg_params p = {0};
    cf__pg_key(&p, c->key);
    cf__pg_key(&p, ikey);
    cf__pg_key(&p, c->element_instance_key);
    cf__pg_text(&p, c->element_id ? c->element_id : "");
    cf__pg_i64(&p, c->type);
    cf__pg_key(&p, c->job_key);
    cf__pg_text(&p, c->message);
    cf__pg_i64(&p, c->created_ms);
    if ((r = defer_st(s, ST_INC_INSERT, &p, err, what))) return r;
  }
  return CF_OK;
}

static int pg_instance_insert(struct cf_store *s, const struct cf_store_instance *i,
                              const struct cf_store_instance_rows *rows, struct cf_error *err) {
  static const char what[] = "storing a new instance";
  if (!i->key || !i->process_id)
    return cf_error_set(err, CF_EINVAL, "%s: an instance needs a key and a process id", what);
  int scope, r = call_begin(s, &scope, err, what);
  if (r) return r;
  struct cf__pg_params p = {0};
  instance_params(&p, i, i->row_version);
  if ((r = defer_st(s, ST_INST_INSERT, &p, err, what)) == CF_OK)
    r = rows_write(s, i->key, rows, true, err, what);
  return call_end(s, scope, r, err);
}

static int pg_instance_update(struct cf_store *s, const struct cf_store_instance *i,
                              int64_t expected_version, const struct cf_store_instance_rows *rows,
                              struct cf_error *err) {
  static const char what[] = "storing an instance";
  if (!i->key || !i->process_id)
    return cf_error_set(err, CF_EINVAL, "%s: an instance needs a key and a process id", what);
  int scope, r = call_begin(s, &scope, err, what);
  if (r) return r;
  struct cf__pg_params p = {0};
  instance_params(&p, i, expected_version);
  if (s->op_open) {
    /* Sent with the operation's end, which says CF_ECONFLICT when the guard changed no row. */
    pipe_send(s, stmt_name[ST_INST_UPDATE], stmt_sql[ST_INST_UPDATE], &s->prepared[ST_INST_UPDATE], &p,
              false, &r, err, what);
    if (r == CF_OK) {
      s->pend[s->npend - 1].instance = i->key;
      s->pend[s->npend - 1].expected = expected_version;
      r = rows_write(s, i->key, rows, false, err, what);
    }
    goto out;
  }
  size_t changed = 0;
  if ((r = run_st(s, ST_INST_UPDATE, &p, &changed, err, what))) goto out;
  if (changed == 0) {
    /* Lost a race (or no such row): which, and the version that won. */
    struct cf__pg_params q = {0};
    cf__pg_key(&q, i->key);
    int64_t v = 0;
    bool found = false;
    if ((r = fetch_int(s, ST_INST_VERSION, &q, &v, &found, err, what))) goto out;
    if (!found)
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

static int pg_instance_get(struct cf_store *s, uint64_t key, struct cf_store_instance *out,
                           struct cf_error *err) {
  struct cf__pg_params p = {0};
  cf__pg_key(&p, key);
  struct cf_store_instance i;
  int r = fetch_one(s, ST_INST_GET, &p, cf__store_pg_read_instance, &i, err, "getting an instance");
  if (r == CF_ENOTFOUND)
    return cf_error_set(err, CF_ENOTFOUND, "no instance with key %llu", (unsigned long long)key);
  if (r == CF_OK) *out = i;
  return r;
}

static int pg_instance_version(struct cf_store *s, uint64_t key, int64_t *row_version,
                               struct cf_error *err) {
  struct cf__pg_params p = {0};
  cf__pg_key(&p, key);
  int64_t v = 0;
  bool found = false;
  int r = fetch_int(s, ST_INST_VERSION, &p, &v, &found, err, "reading an instance's version");
  if (r) return r;
  if (!found)
    return cf_error_set(err, CF_ENOTFOUND, "no process instance %llu", (unsigned long long)key);
  *row_version = v;
  return CF_OK;
}

/* Lists leave engine_state out (NULL): it is only needed to run an instance. */
static int pg_instance_list(struct cf_store *s, const struct cf_store_instance_filter *f,
                            struct cf_store_instance **out, size_t *n, struct cf_error *err) {
  static const char what[] = "listing instances";
  struct cf_store_instance_filter none = {.state = -1, .incident = -1};
  if (!f) f = &none;
  unsigned mask = (f->process_id ? LIST_PROCESS : 0) | (f->state >= 0 ? LIST_STATE : 0) |
                  (f->incident >= 0 ? LIST_INCIDENT : 0) | (f->business_key ? LIST_BUSINESS : 0) |
                  (f->parent_key ? LIST_PARENT : 0);
  /* Parameters numbered in the order of use: PostgreSQL infers a type for each $n it sees. */
  struct cf__pg_params p = {0};
  char sql[640], where[256] = "", name[32];
  size_t w = 0;
  cf__pg_key(&p, f->after_key);
  p_limit(&p, f->limit ? f->limit : 1000);
#define LIST_COND(bit, cond, bind)                                                            \
  if (mask & (bit)) {                                                                         \
    w += (size_t)snprintf(where + w, sizeof where - w, " AND " cond " = $%d", p.n + 1);     \
    bind;                                                                                     \
  }
  LIST_COND(LIST_PROCESS, "process_id", cf__pg_text(&p, f->process_id))
  LIST_COND(LIST_STATE, "state", cf__pg_i64(&p, f->state))
  LIST_COND(LIST_INCIDENT, "incident", cf__pg_i64(&p, f->incident ? 1 : 0))
  LIST_COND(LIST_BUSINESS, "business_key", cf__pg_text(&p, f->business_key))
  LIST_COND(LIST_PARENT, "parent_key", cf__pg_key(&p, f->parent_key))
#undef LIST_COND
  snprintf(sql, sizeof sql,
           "SELECT key, definition_key, process_id, version, state, incident, business_key,"
           " parent_key, started_ms, ended_ms, row_version, NULL::bytea, variables FROM instances"
           " WHERE key > $1%s ORDER BY key LIMIT $2",
           where);
  snprintf(name, sizeof name, "cf_INST_LIST_%u", mask);
  int r;
  PGresult *res = exec_named(s, name, sql, &s->list_prepared[mask], &p, &r, err, what);
  if (!res) return r;
  return cf__store_pg_collect(res, sizeof **out, cf__store_pg_read_instance, rel_instance, (void **)out, n, err, what);
}

static int pg_instance_of(struct cf_store *s, const char *what, uint64_t key,
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
  struct cf__pg_params p = {0};
  cf__pg_key(&p, key);
  int64_t v = 0;
  bool found = false;
  int r = fetch_int(s, id, &p, &v, &found, err, "finding an instance");
  if (r) return r;
  if (!found)
    return cf_error_set(err, CF_ENOTFOUND, "no %s with key %llu", what, (unsigned long long)key);
  *instance_key = (uint64_t)v;
  return CF_OK;
}

/* ------------------------------------------------------------ jobs */

static int cmp_job_key(const void *a, const void *b) {
  uint64_t x = ((const struct cf_store_job *)a)->key, y = ((const struct cf_store_job *)b)->key;
  return x < y ? -1 : x > y;
}

/*
 * One statement leases the jobs (a lowest-key-first pick that skips the rows
 * another transaction holds) and hands them back; reading them runs inside
 * the call's scope, so out of memory undoes the leases with it.
 */
static int pg_jobs_activate(struct cf_store *s, const char *type, size_t max, const char *worker,
                            int64_t now_ms, int64_t lease_until_ms, struct cf_store_job **out,
                            size_t *n, struct cf_error *err) {
  static const char what[] = "activating jobs";
  if (!type || !worker) return cf_error_set(err, CF_EINVAL, "%s: a type and a worker are needed", what);
  if (readonly(s)) return refuse_readonly(s, err, what);
  if (max == 0) {
    *out = NULL;
    *n = 0;
    return CF_OK;
  }
  int scope, r = call_begin(s, &scope, err, what);
  if (r) return r;
  struct cf_store_job *jobs = NULL;
  size_t cnt = 0;
  struct cf__pg_params p = {0};
  cf__pg_text(&p, type);
  cf__pg_text(&p, worker);
  cf__pg_i64(&p, lease_until_ms);
  cf__pg_i64(&p, now_ms);
  p_limit(&p, max);
  if ((r = fetch_all(s, ST_JOBS_ACTIVATE, &p, sizeof *jobs, cf__store_pg_read_job, rel_job, (void **)&jobs, &cnt,
                     err, what)) == CF_OK &&
      cnt > 1)
    qsort(jobs, cnt, sizeof *jobs, cmp_job_key); /* RETURNING keeps no order */
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

static int pg_job_get(struct cf_store *s, uint64_t key, struct cf_store_job *out,
                      struct cf_error *err) {
  struct cf__pg_params p = {0};
  cf__pg_key(&p, key);
  struct cf_store_job j;
  int r = fetch_one(s, ST_JOB_GET, &p, cf__store_pg_read_job, &j, err, "getting a job");
  if (r == CF_ENOTFOUND)
    return cf_error_set(err, CF_ENOTFOUND, "no job with key %llu", (unsigned long long)key);
  if (r == CF_OK) *out = j;
  return r;
}

/* ------------------------------------------------------------ lists */

static int pg_task_list(struct cf_store *s, const struct cf_store_task_filter *f,
                        struct cf_store_user_task **out, size_t *n, struct cf_error *err) {
  struct cf_store_task_filter none = {0};
  if (!f) f = &none;
  struct cf__pg_params p = {0};
  cf__pg_key(&p, f->after_key);
  cf__pg_text(&p, f->assignee);
  cf__pg_text(&p, f->group);
  p_limit(&p, f->limit ? f->limit : 1000);
  cf__pg_i64(&p, f->state);
  return fetch_all(s, ST_TASK_LIST, &p, sizeof **out, cf__store_pg_read_task, rel_task, (void **)out, n, err,
                   "listing user tasks");
}

static int pg_task_done(struct cf_store *s, const struct cf_store_user_task *t, struct cf_error *err) {
  static const char what[] = "keeping a completed user task";
  int scope, r = call_begin(s, &scope, err, what);
  if (r) return r;
  struct cf__pg_params p = {0};
  cf__pg_key(&p, t->key);
  cf__pg_key(&p, t->instance_key);
  cf__pg_key(&p, t->element_instance_key);
  cf__pg_text(&p, t->element_id ? t->element_id : "");
  cf__pg_text(&p, t->assignee);
  cf__pg_text(&p, t->candidate_groups);
  cf__pg_text(&p, t->candidate_users);
  cf__pg_text(&p, t->due_date);
  cf__pg_text(&p, t->follow_up_date);
  cf__pg_text(&p, t->form_key);
  cf__pg_i64(&p, t->priority);
  cf__pg_i64(&p, t->created_ms);
  cf__pg_i64(&p, t->completed_ms);
  cf__pg_text(&p, t->completed_by);
  r = run_st(s, ST_TASK_DONE, &p, NULL, err, what);
  return call_end(s, scope, r, err);
}

static int pg_incident_list(struct cf_store *s, uint64_t instance_key,
                            struct cf_store_incident **out, size_t *n, struct cf_error *err) {
  struct cf__pg_params p = {0};
  if (instance_key) cf__pg_key(&p, instance_key);
  return fetch_all(s, instance_key ? ST_INC_LIST : ST_INC_LIST_ALL, &p, sizeof **out,
                   cf__store_pg_read_incident, rel_incident, (void **)out, n, err, "listing incidents");
}

static int pg_timers_due(struct cf_store *s, int64_t now_ms, size_t max, struct cf_store_timer **out,
                         size_t *n, struct cf_error *err) {
  struct cf__pg_params p = {0};
  cf__pg_i64(&p, now_ms);
  p_limit(&p, max ? max : 1000);
  return fetch_all(s, in_tx(s) && !readonly(s) ? ST_TIMERS_CLAIM : ST_TIMERS_DUE, &p, sizeof **out, read_timer,
                   rel_timer, (void **)out, n, err, "listing due timers");
}

static int pg_timer_start_set(struct cf_store *s, const struct cf_store_timer *t,
                              struct cf_error *err) {
  static const char what[] = "setting a start timer";
  if (readonly(s)) return refuse_readonly(s, err, what);
  if (!t->key) return cf_error_set(err, CF_EINVAL, "%s: the timer has no key", what);
  int scope, r = call_begin(s, &scope, err, what);
  if (r) return r;
  if (t->due_ms < 0) {
    r = run_key(s, ST_TIMER_START_DELETE, t->key, err, what);
  } else {
    struct cf__pg_params p = {0};
    cf__pg_key(&p, t->key);
    cf__pg_key(&p, t->definition_key);
    cf__pg_text(&p, t->element_id ? t->element_id : "");
    cf__pg_i64(&p, t->due_ms);
    r = run_st(s, ST_TIMER_START_SET, &p, NULL, err, what);
  }
  return call_end(s, scope, r, err);
}

static int pg_subscriptions_find(struct cf_store *s, uint8_t kind, const char *name,
                                 const char *correlation_key, struct cf_store_subscription **out,
                                 size_t *n, struct cf_error *err) {
  struct cf__pg_params p = {0};
  cf__pg_i64(&p, kind);
  cf__pg_text(&p, name ? name : "");
  cf__pg_text(&p, correlation_key);
  return fetch_all(s, ST_SUBS_FIND, &p, sizeof **out, read_sub, rel_sub, (void **)out, n, err,
                   "finding subscriptions");
}

/* ------------------------------------------------------------ buffered messages */

static int pg_message_insert(struct cf_store *s, const struct cf_store_message *m,
                             struct cf_error *err) {
  static const char what[] = "buffering a message";
  if (!m->key || !m->name)
    return cf_error_set(err, CF_EINVAL, "%s: a message needs a key and a name", what);
  int scope, r = call_begin(s, &scope, err, what);
  if (r) return r;
  /* An expired message no longer holds its id. */
  if (m->message_id) {
    struct cf__pg_params p = {0};
    cf__pg_text(&p, m->message_id);
    cf__pg_i64(&p, m->published_ms);
    if ((r = run_st(s, ST_MSG_CLEAR_ID, &p, NULL, err, what))) goto out;
  }
  struct cf__pg_params p = {0};
  cf__pg_key(&p, m->key);
  cf__pg_text(&p, m->name);
  cf__pg_text(&p, m->correlation_key);
  cf__pg_text(&p, m->message_id);
  cf__pg_text(&p, m->variables);
  cf__pg_i64(&p, m->published_ms);
  cf__pg_i64(&p, m->expires_ms);
  r = run_st(s, ST_MSG_INSERT, &p, NULL, err, what);
  if (r == CF_ECONFLICT && m->message_id)
    r = cf_error_set(err, CF_ECONFLICT, "%s: a message with id '%s' is already buffered", what,
                     m->message_id);
out:
  return call_end(s, scope, r, err);
}

static int pg_message_find(struct cf_store *s, const char *name, const char *correlation_key,
                           int64_t now_ms, struct cf_store_message **out, size_t *n,
                           struct cf_error *err) {
  struct cf__pg_params p = {0};
  cf__pg_text(&p, name ? name : "");
  cf__pg_text(&p, correlation_key);
  cf__pg_i64(&p, now_ms);
  return fetch_all(s, ST_MSG_FIND, &p, sizeof **out, read_message, rel_message, (void **)out, n,
                   err, "finding buffered messages");
}

static int pg_message_by_id(struct cf_store *s, const char *message_id, int64_t now_ms,
                            bool *exists, struct cf_error *err) {
  struct cf__pg_params p = {0};
  cf__pg_text(&p, message_id ? message_id : "");
  cf__pg_i64(&p, now_ms);
  int64_t v;
  return fetch_int(s, ST_MSG_BY_ID, &p, &v, exists, err, "finding a message id");
}

static int pg_message_correlated(struct cf_store *s, uint64_t message_key, const char *process_id,
                                 bool *already, bool mark, struct cf_error *err) {
  static const char what[] = "checking a message correlation";
  if (!process_id) return cf_error_set(err, CF_EINVAL, "%s: no process id", what);
  struct cf__pg_params p = {0};
  cf__pg_key(&p, message_key);
  cf__pg_text(&p, process_id);
  if (!mark) {
    int64_t v;
    bool found = false;
    int r = fetch_int(s, ST_CORR_GET, &p, &v, &found, err, what);
    if (r == CF_OK) *already = found;
    return r;
  }
  /* One statement: checks and marks atomically (a concurrent mark waits on the key, then does nothing). */
  int scope, r = call_begin(s, &scope, err, what);
  if (r) return r;
  size_t changed = 0;
  r = run_st(s, ST_CORR_MARK, &p, &changed, err, what);
  r = call_end(s, scope, r, err);
  if (r == CF_OK) *already = changed == 0;
  return r;
}

/* The marks of the listed messages (by key) are read with one statement over their keys; byte
 * order (COLLATE "C") as SQLite's. */
static int pg_message_list(struct cf_store *s, uint64_t after_key, size_t limit,
                           struct cf_store_message **out, size_t *n, struct cf_error *err) {
  static const char what[] = "listing buffered messages";
  struct cf_store_message *m = NULL;
  size_t cnt = 0, at = 0;
  struct cf__pg_params p = {0};
  cf__pg_key(&p, after_key);
  p_limit(&p, limit ? limit : 1000);
  int r = fetch_all(s, ST_MSG_LIST, &p, sizeof *m, read_message, rel_message, (void **)&m, &cnt,
                    err, what);
  if (r || cnt == 0) goto out;
  struct cf__pg_params q = {0};
  cf__pg_key(&q, after_key);
  cf__pg_key(&q, m[cnt - 1].key);
  PGresult *res = exec_st(s, ST_CORR_LIST, &q, &r, err, what);
  if (!res) goto out;
  for (int row = 0, rows = PQntuples(res); row < rows; row++) {
    uint64_t key = col_key(res, row, 0);
    while (at < cnt && m[at].key < key) at++;
    if (at == cnt || m[at].key != key) continue; /* a mark of no message: not listed */
    if (!cf__store_message_mark(&m[at], PQgetvalue(res, row, 1),
                                (size_t)PQgetlength(res, row, 1))) {
      r = nomem(err, what);
      break;
    }
  }
  PQclear(res);
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

static int pg_messages_expire(struct cf_store *s, int64_t now_ms, size_t *removed,
                              struct cf_error *err) {
  static const char what[] = "expiring messages";
  int scope, r = call_begin(s, &scope, err, what);
  if (r) return r;
  size_t gone = 0;
  struct cf__pg_params p = {0};
  cf__pg_i64(&p, now_ms);
  if ((r = run_st(s, ST_MSG_EXPIRE_CORR, &p, NULL, err, what)) == CF_OK)
    r = run_st(s, ST_MSG_EXPIRE, &p, &gone, err, what);
  r = call_end(s, scope, r, err);
  if (r == CF_OK && removed) *removed = gone;
  return r;
}

/* ------------------------------------------------------------ history */

/*
 * History is stored packed, in the format of store_pack.c (the SQLite
 * backend's too, so a database moved from one to the other reads back
 * alike): one row per run of events of one instance and actor in an append,
 * the events a JSON array.
 */
static bool same_actor(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

static int pg_history_append(struct cf_store *s, const struct cf_store_event *events, size_t n,
                             struct cf_error *err) {
  static const char what[] = "appending history";
  if (readonly(s)) return refuse_readonly(s, err, what);
  if (n == 0) return CF_OK;
  int scope, r = call_begin(s, &scope, err, what);
  if (r) return r;
  struct cf_buf b;
  cf_buf_init(&b);
  for (size_t i = 0; i < n && r == CF_OK;) {
    size_t k = i;
    cf_buf_reset(&b);
    cf_buf_putc(&b, '[');
    for (; k < n && events[k].instance_key == events[i].instance_key &&
           same_actor(events[k].actor, events[i].actor);
         k++) {
      if (k > i) cf_buf_putc(&b, ',');
      cf__store_pack_event(&b, &events[k], events[i].at_ms);
    }
    cf_buf_putc(&b, ']');
    if (b.oom) {
      r = nomem(err, what);
      break;
    }
    struct cf__pg_params p = {0};
    cf__pg_key(&p, events[i].instance_key);
    cf__pg_i64(&p, events[i].at_ms);
    cf__pg_text(&p, events[i].actor);
    cf__pg_text(&p, b.data);
    r = defer_st(s, ST_HIST_INSERT, &p, err, what);
    i = k;
  }
  cf_buf_release(&b);
  return call_end(s, scope, r, err);
}

static int pg_history_list(struct cf_store *s, uint64_t instance_key, struct cf_store_event **out,
                           size_t *n, struct cf_error *err) {
  static const char what[] = "reading history";
  struct cf__pg_params p = {0};
  cf__pg_key(&p, instance_key);
  int r;
  PGresult *res = exec_st(s, ST_HIST_LIST, &p, &r, err, what);
  if (!res) return r;
  struct cf_store_event *evs = NULL;
  size_t count = 0, cap = 0;
  int rows = PQntuples(res);
  char db[300];
  snprintf(db, sizeof db, "the %s", s->name);
  for (int i = 0; i < rows && r == CF_OK; i++) {
    const char *text = col_null(res, i, 2) ? "[]" : PQgetvalue(res, i, 2);
    size_t len = col_null(res, i, 2) ? 2 : (size_t)PQgetlength(res, i, 2);
    r = cf__store_pack_unpack(db, instance_key, col_i64(res, i, 0), col_null(res, i, 1) ? NULL : PQgetvalue(res, i, 1),
               text, len, &evs, &count, &cap, err);
  }
  PQclear(res);
  if (r) {
    for (size_t i = 0; i < count; i++) cf_store_event_release(&evs[i]);
    cf_free(evs);
    return r;
  }
  *out = evs;
  *n = count;
  return CF_OK;
}

/* ------------------------------------------------------------ pruning */

/* Removes up to batch ended instances, oldest end first, with their history and side rows, in one transaction (or the caller's). */
static int pg_prune(struct cf_store *s, int64_t before_ms, size_t batch, size_t *removed,
                    struct cf_error *err) {
  static const char what[] = "pruning";
  if (batch == 0) batch = 1000;
  int scope, r = call_begin(s, &scope, err, what);
  if (r) return r;
  struct cf_buf b;
  cf_buf_init(&b);
  size_t cnt = 0;
  struct cf__pg_params p = {0};
  cf__pg_i64(&p, before_ms);
  p_limit(&p, batch);
  PGresult *res = exec_st(s, ST_PRUNE_PICK, &p, &r, err, what);
  if (res) {
    cnt = (size_t)PQntuples(res);
    cf_buf_putc(&b, '{');
    for (size_t i = 0; i < cnt; i++)
      cf_buf_printf(&b, "%s%s", i ? "," : "", PQgetvalue(res, (int)i, 0));
    cf_buf_putc(&b, '}');
    PQclear(res);
    if (b.oom) r = nomem(err, what);
  }
  static const enum stmt_id deletes[] = {ST_PRUNE_HIST, ST_PRUNE_JOBS, ST_PRUNE_TASKS,
                                         ST_PRUNE_TIMERS, ST_PRUNE_SUBS, ST_PRUNE_INCS,
                                         ST_PRUNE_INST};
  for (size_t d = 0; cnt > 0 && r == CF_OK && d < sizeof deletes / sizeof deletes[0]; d++) {
    struct cf__pg_params q = {0};
    cf__pg_text(&q, b.data);
    r = run_st(s, deletes[d], &q, NULL, err, what);
  }
  cf_buf_release(&b);
  r = call_end(s, scope, r, err);
  if (r == CF_OK && removed) *removed = cnt;
  return r;
}

/* ------------------------------------------------------------ the table */

const struct cf_store_ops cf_store_pg = {
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .op_begin = pg_op_begin,
    .others_wrote = pg_others_wrote,
    .op_end = pg_op_end,
    .must_end = pg_must_end,
    .reserve_keys = pg_reserve_keys,
    .definition_find_checksum = pg_definition_find_checksum,
    .definition_insert = pg_definition_insert,
    .definition_get = pg_definition_get,
    .definition_by_key = pg_definition_by_key,
    .definition_list = pg_definition_list,
    .instance_insert = pg_instance_insert,
    .instance_update = pg_instance_update,
    .instance_get = pg_instance_get,
    .instance_version = pg_instance_version,
    .instance_list = pg_instance_list,
    .instance_of = pg_instance_of,
    .jobs_activate = pg_jobs_activate,
    .job_get = pg_job_get,
    .task_list = pg_task_list,
    .task_done = pg_task_done,
    .incident_list = pg_incident_list,
    .timers_due = pg_timers_due,
    .timer_start_set = pg_timer_start_set,
    .subscriptions_find = pg_subscriptions_find,
    .message_insert = pg_message_insert,
    .message_find = pg_message_find,
    .message_by_id = pg_message_by_id,
    .message_correlated = pg_message_correlated,
    .message_list = pg_message_list,
    .messages_expire = pg_messages_expire,
    .history_append = pg_history_append,
    .history_list = pg_history_list,
    .history_erase = cf__store_pg_history_erase,
    .search = cf__store_pg_search,
    .task_get = cf__store_pg_task_get,
    .incident_get = cf__store_pg_incident_get,
    .token_insert = cf__store_pg_token_insert,
    .token_by_hash = cf__store_pg_token_by_hash,
    .token_list = cf__store_pg_token_list,
    .token_delete = cf__store_pg_token_delete,
    .user_put = cf__store_pg_user_put,
    .user_get = cf__store_pg_user_get,
    .user_list = cf__store_pg_user_list,
    .user_delete = cf__store_pg_user_delete,
    .group_put = cf__store_pg_group_put,
    .group_get = cf__store_pg_group_get,
    .group_list = cf__store_pg_group_list,
    .group_delete = cf__store_pg_group_delete,
    .record_insert = cf__store_pg_record_insert,
    .record_update = cf__store_pg_record_update,
    .record_get = cf__store_pg_record_get,
    .record_delete = cf__store_pg_record_delete,
    .record_unique = cf__store_pg_record_unique,
    .record_change_append = cf__store_pg_record_change_append,
    .record_history = cf__store_pg_record_history,
    .record_history_erase = cf__store_pg_record_history_erase,
    .record_type_put = cf__store_pg_record_type_put,
    .record_type_list = cf__store_pg_record_type_list,
    .trigger_insert = cf__store_pg_trigger_insert,
    .trigger_list = cf__store_pg_trigger_list,
    .trigger_delete = cf__store_pg_trigger_delete,
    .enrollment_insert = cf__store_pg_enrollment_insert,
    .enrollment_find = cf__store_pg_enrollment_find,
    .crm_timer_set = cf__store_pg_crm_timer_set,
    .crm_timers_due = cf__store_pg_crm_timers_due,
    .crm_timer_next = cf__store_pg_crm_timer_next,
    .crm_state_get = cf__store_pg_crm_state_get,
    .crm_state_put = cf__store_pg_crm_state_put,
    .element_statistics = cf__store_pg_element_statistics,
    .dashboard = cf__store_pg_dashboard,
    .prune = pg_prune,
};
