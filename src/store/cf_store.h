/*
 * The store: every durable state of crmflow behind one interface.
 *
 * A backend (SQLite today, PostgreSQL next) is a table of function pointers
 * (struct cf_store_ops), like curl's TLS backends: nothing above this layer
 * knows SQL. The interface is shaped for several crmflow nodes sharing one
 * database: keys come in blocks reserved in the database, an instance row
 * carries a version for optimistic concurrency (an update that lost a race
 * is refused with CF_ECONFLICT, never applied twice), job leases are taken
 * with a conditional update, and every write happens inside a transaction
 * the caller batches (group commit: one durable sync per batch).
 *
 * Ownership: strings and values handed in are borrowed; rows handed out are
 * owned by the caller and released with the matching _release function.
 * A list hands out an array: release each row, then cf_free() the array
 * (an empty list gives NULL and 0).
 * A store handle is used by one thread at a time; readers open their own
 * handle (cf_store_open with CF_STORE_READONLY) so reads never wait for the
 * writer.
 *
 * Errors: CF_OK, or a code with err saying what and where: CF_ENOTFOUND,
 * CF_ECONFLICT (a concurrent change won), CF_EIO (the disk: full, read-only,
 * corrupt file — the message says which), CF_EUNSUPPORTED (a database of a
 * newer schema), CF_EINVAL.
 */
#ifndef CF_STORE_H
#define CF_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cf_buf.h"
#include "crmflow/cf_error.h"

struct cf_store;

enum cf_store_flags {
  CF_STORE_READONLY = 1 << 0, /* a reader: no writes, never blocks the writer */
  CF_STORE_FAST = 1 << 1      /* trade durability for speed (SQLite synchronous=NORMAL) */
};

/* ------------------------------------------------------------ rows */

struct cf_store_definition {
  uint64_t key;           /* process definition key */
  char *process_id;       /* bpmn process id */
  int32_t version;        /* 1, 2, ... per process id */
  char *version_tag;      /* zeebe:versionTag, or NULL */
  uint64_t deployment_key;
  char *resource_name;
  char *checksum;         /* of the resource (hex SHA-256) */
  char *xml;              /* the resource, whole (the same for every process of a resource) */
  size_t xml_len;
  int64_t deployed_ms;
};

enum cf_store_instance_state {
  CF_STORE_ACTIVE,
  CF_STORE_COMPLETED,
  CF_STORE_TERMINATED
};

struct cf_store_instance {
  uint64_t key;
  uint64_t definition_key;
  char *process_id;
  int32_t version;         /* of the definition */
  uint8_t state;           /* enum cf_store_instance_state */
  bool incident;           /* an open incident in the instance */
  char *business_key;      /* or NULL */
  uint64_t parent_key;     /* the calling instance, or 0 */
  int64_t started_ms, ended_ms; /* ended_ms 0 while active */
  int64_t row_version;     /* optimistic concurrency: bumped by every update */
  char *engine_state;      /* cf_engine_instance_save() JSON */
  size_t engine_state_len;
  char *variables;         /* the process-scope variables as JSON (for queries) */
};

struct cf_store_job {
  uint64_t key;
  uint64_t instance_key;
  uint64_t element_instance_key;
  char *element_id;
  char *type;
  int32_t retries;
  uint8_t state;           /* enum cf_engine_job_state */
  int64_t available_ms;    /* back-off */
  char *worker;            /* the lease holder, or NULL */
  int64_t lease_until_ms;  /* 0 when not leased */
  char *headers;           /* JSON object */
  char *error_message;
};

struct cf_store_user_task {
  uint64_t key;
  uint64_t instance_key;
  uint64_t element_instance_key;
  char *element_id;
  char *assignee;
  char *candidate_groups;  /* JSON array */
  char *candidate_users;   /* JSON array */
  char *due_date, *follow_up_date, *form_key;
  int32_t priority;
  int64_t created_ms;
  uint8_t state;           /* 0 created (open), 1 completed */
  int64_t completed_ms;    /* completed ones: when, and who (the actor) */
  char *completed_by;
  /* Filled by reads (search, task_get) from the instance; ignored by writes. */
  uint64_t definition_key;
  char *process_id;
  int32_t version;
};

struct cf_store_timer {
  uint64_t key;
  uint64_t instance_key;   /* 0 for a timer start event (definition_key set) */
  uint64_t definition_key;
  char *element_id;
  int64_t due_ms;
};

struct cf_store_subscription {
  uint64_t key;
  uint64_t instance_key;
  char *element_id;
  uint8_t kind;            /* enum cf_engine_sub_kind */
  char *name;
  char *correlation_key;   /* messages */
};

struct cf_store_incident {
  uint64_t key;
  uint64_t instance_key;
  uint64_t element_instance_key;
  char *element_id;
  uint8_t type;            /* enum cf_engine_incident_type */
  uint64_t job_key;
  char *message;
  int64_t created_ms;
  /* Filled by reads (search, incident_get) from the instance; ignored by writes. */
  uint64_t definition_key;
  char *process_id;
  int32_t version;
};

struct cf_store_message {
  uint64_t key;
  char *name;
  char *correlation_key;
  char *message_id;        /* or NULL */
  char *variables;         /* JSON object */
  int64_t published_ms, expires_ms;
  /* Filled by message_list only (NULL and 0 from other reads; ignored by writes): the process ids
   * the message was already correlated to (its marks, see message_correlated), in byte order. */
  char **correlated;
  size_t ncorrelated;
};

/* One history event of an instance (append-only). */
struct cf_store_event {
  uint64_t instance_key;
  int64_t at_ms;
  char *kind;              /* cf_engine_event_name() */
  uint64_t key;
  char *element_id;        /* or NULL */
  char *detail;            /* or NULL */
  char *actor;             /* who or what: "cli", "worker:NAME", "timer", "api:TOKEN-NAME" */
  char *variables;         /* JSON, for commands that carried variables; or NULL */
};

/* Kinds of side rows (cf_store_instance_rows.known_empty). */
enum cf_store_rows_kind {
  CF_STORE_ROWS_JOBS = 1 << 0,
  CF_STORE_ROWS_TASKS = 1 << 1,
  CF_STORE_ROWS_TIMERS = 1 << 2,
  CF_STORE_ROWS_SUBS = 1 << 3,
  CF_STORE_ROWS_INCIDENTS = 1 << 4
};

/* The rows an instance's engine state implies, replaced whole on each update. */
struct cf_store_instance_rows {
  struct cf_store_job *jobs;
  size_t njobs;
  struct cf_store_user_task *tasks;
  size_t ntasks;
  struct cf_store_timer *timers;
  size_t ntimers;
  struct cf_store_subscription *subs;
  size_t nsubs;
  struct cf_store_incident *incidents;
  size_t nincidents;
  /* Kinds (enum cf_store_rows_kind) the caller knows the stored instance has no rows of (it wrote
   * none last time): an update need not look for old ones to remove. 0 when unsure. */
  unsigned known_empty;
  /* When prior_jobs_known: the keys of the jobs the stored instance has now (the caller wrote them
   * last), so that the update removes those gone without looking them up. */
  bool prior_jobs_known;
  const uint64_t *prior_jobs;
  size_t nprior_jobs;
};

void cf_store_definition_release(struct cf_store_definition *d);
void cf_store_instance_release(struct cf_store_instance *i);
void cf_store_job_release(struct cf_store_job *j);
void cf_store_user_task_release(struct cf_store_user_task *t);
void cf_store_timer_release(struct cf_store_timer *t);
void cf_store_subscription_release(struct cf_store_subscription *u);
void cf_store_incident_release(struct cf_store_incident *c);
void cf_store_message_release(struct cf_store_message *m);
void cf_store_event_release(struct cf_store_event *e);

/* Filters for lists; zero/NULL fields do not filter. */
struct cf_store_instance_filter {
  const char *process_id;
  int state;               /* -1 any, else enum cf_store_instance_state */
  int incident;            /* -1 any, 0 without, 1 with an open incident */
  const char *business_key;
  uint64_t parent_key;     /* 0: any; else the children of that instance */
  size_t limit;            /* 0: a default of 1000 */
  uint64_t after_key;      /* paging: keys greater than this */
};

struct cf_store_task_filter {
  const char *assignee;
  const char *group;       /* a candidate group */
  int state;               /* 0 (the default) open ones, 1 completed ones, -1 both */
  size_t limit;
  uint64_t after_key;
};

/* ------------------------------------------------------------ searches */

/*
 * A search (what the HTTP API's `POST .../search` endpoints need): conditions
 * on named fields, ANDed, optionally ANDed with one OR of groups (each group
 * ANDed inside), sorted, paged, and counted. The backend compiles it to its
 * query language with bound parameters (never text pasted into SQL) and may
 * keep the compiled form for the next search of the same shape.
 *
 * Fields by entity (a name not listed: CF_EINVAL naming it). Times are epoch
 * ms (an end not reached yet is absent, not 0), states and types their enum numbers, booleans 0/1:
 *   instances:   key definition_key process_id version version_tag state incident
 *                business_key parent_key started_ms ended_ms  var:NAME
 *   user_tasks:  key instance_key element_instance_key element_id assignee
 *                candidate_group candidate_user (true when the list holds the value)
 *                priority created_ms completed_ms due_ms follow_up_ms state definition_key process_id
 *                var:NAME (a process variable of the task's instance)
 *   incidents:   key instance_key element_instance_key element_id type job_key message
 *                created_ms definition_key process_id
 *   definitions: key process_id version version_tag resource_name deployment_key latest
 *   jobs:        key instance_key element_instance_key element_id type retries state worker
 *                definition_key process_id
 *   records:     key type version created_ms updated_ms created_by updated_by  field:NAME
 *                (field:NAME: the field's JSON value; text fields compare as text, numbers as numbers)
 * var:NAME compares the JSON text of the variable's value ("\"A-1\"", "42").
 * Sort fields: the same names except var:; every sort ends with key ascending.
 */
enum cf_store_entity {
  CF_STORE_INSTANCES,
  CF_STORE_USER_TASKS,
  CF_STORE_INCIDENTS,
  CF_STORE_DEFINITIONS,
  CF_STORE_JOBS,
  CF_STORE_RECORDS
};

enum cf_store_qop {
  CF_STORE_EQ, CF_STORE_NEQ,
  CF_STORE_EXISTS,          /* values[0].num 1: the field is set (not NULL), 0: it is NULL */
  CF_STORE_IN, CF_STORE_NOT_IN,
  CF_STORE_LIKE,            /* text: '*' any run, '?' one character, '\\' escapes either */
  CF_STORE_GT, CF_STORE_GTE, CF_STORE_LT, CF_STORE_LTE
};

struct cf_store_qvalue {
  bool is_text;
  int64_t num;
  const char *text;
  bool is_real;            /* a decimal (record fields, variables): compared as a number, real */
  double real;
};

struct cf_store_qcond {
  const char *field;
  enum cf_store_qop op;
  const struct cf_store_qvalue *values; /* one, except for IN / NOT_IN (any number, 0: matches nothing) */
  size_t nvalues;
};

struct cf_store_qgroup {
  const struct cf_store_qcond *conds;
  size_t nconds;
};

struct cf_store_qsort {
  const char *field;
  bool desc;
};

struct cf_store_query {
  enum cf_store_entity entity;
  const struct cf_store_qcond *conds;
  size_t nconds;
  const struct cf_store_qgroup *any;   /* nany > 0: at least one group must hold */
  size_t nany;
  const struct cf_store_qsort *sort;
  size_t nsort;
  size_t offset;
  size_t limit;                        /* 0: none are returned, only the total */
};

/* A search's rows: the array of the query's entity is set (instances without engine_state,
 * definitions without xml); total counts every match, ignoring offset and limit. */
struct cf_store_result {
  struct cf_store_instance *instances;
  struct cf_store_user_task *tasks;
  struct cf_store_incident *incidents;
  struct cf_store_definition *definitions;
  struct cf_store_job *jobs;
  struct cf_store_record *records;
  size_t n;
  uint64_t total;
};

void cf_store_result_release(struct cf_store_result *r);

/* ------------------------------------------------------------ principals (authentication) */

/* An API token: the secret itself is never stored, only a hash of it (hex). */
struct cf_store_token {
  char *name;          /* unique among tokens */
  char *role;          /* admin, designer, agent, worker, viewer */
  char *user;          /* the user the token acts as, or NULL */
  char *hash;          /* hex digest of the secret */
  int64_t created_ms;
};

struct cf_store_user {
  char *name;          /* unique */
  char *display_name;  /* or NULL */
  char *role;
  char *password_hash; /* crypto_pwhash_str (argon2id) text, or NULL: cannot sign in */
  char *groups;        /* JSON array of group names */
  int64_t created_ms;
};

struct cf_store_group {
  char *name;
  char *display_name;  /* or NULL */
  int64_t created_ms;
};

void cf_store_token_release(struct cf_store_token *t);
void cf_store_user_release(struct cf_store_user *u);
void cf_store_group_release(struct cf_store_group *g);

/* ------------------------------------------------------------ CRM records (src/crm/ above) */

/* A CRM record: its fields a JSON object whose shape the crm layer's schema checks (the store
 * keeps what it is given). */
struct cf_store_record {
  uint64_t key;
  char *type;              /* "lead", "order", a custom type... */
  int64_t version;         /* 1 when created, + 1 by every update */
  char *fields;            /* JSON object */
  int64_t created_ms, updated_ms;
  char *created_by, *updated_by;
};

/* One change of a record, kept until the record's history is pruned. */
struct cf_store_record_change {
  uint64_t record_key;
  char *type;
  int64_t at_ms;
  char *by;                /* the actor: "api:NAME", "cli", "job:KEY" ... */
  char *kind;              /* "create", "update", "delete", "erase" */
  char *changes;           /* JSON {field: {"from": v, "to": v}} */
};

/* A record type's schema (the crm layer's JSON), built-in types included once customised. */
struct cf_store_record_type {
  char *name;
  char *schema;            /* JSON */
  int64_t updated_ms;
};

/* A trigger: its definition as the crm layer's JSON. */
struct cf_store_trigger {
  uint64_t key;
  char *name;              /* unique */
  char *record_type;
  char *definition;        /* JSON */
  int64_t created_ms;
};

/* A date-relative trigger's timer for one record (at most one per trigger and record). */
struct cf_store_crm_timer {
  uint64_t trigger_key;
  uint64_t record_key;
  char *record_type;
  int64_t due_ms;
};

void cf_store_record_release(struct cf_store_record *r);
void cf_store_record_change_release(struct cf_store_record_change *c);
void cf_store_record_type_release(struct cf_store_record_type *t);
void cf_store_trigger_release(struct cf_store_trigger *t);
void cf_store_crm_timer_release(struct cf_store_crm_timer *t);

/* ------------------------------------------------------------ the backend table */

struct cf_store_ops {
  const char *name; /* "sqlite", "postgres" */

  int (*open)(const char *location, unsigned flags, struct cf_store **out, struct cf_error *err);
  void (*close)(struct cf_store *s);

  /* A write transaction; the writer puts a batch of commands in one. A write
   * call made without one runs in a transaction of its own; a write call that
   * fails inside one leaves nothing of itself behind (the transaction stays
   * open), except after CF_EIO, when the backend may have rolled it back
   * whole (commit then says so). A failed commit rolls back. */
  int (*begin)(struct cf_store *s, struct cf_error *err);
  int (*commit)(struct cf_store *s, struct cf_error *err);
  void (*rollback)(struct cf_store *s);
  /* One operation of a batch, inside the caller's transaction: op_end(keep=false) undoes what the
   * operation wrote and leaves the transaction open for the next. op_end says CF_EIO when the
   * database rolled back the whole transaction (a full disk, an I/O error). Inside an operation the
   * write calls take no savepoint of their own: one that fails may leave part of itself until the
   * operation ends with keep=false (which the caller must then do). A backend may also send the
   * writes whose only answer is "done" (side rows, history) with the operation's end (PostgreSQL
   * does, to save round trips): the call then says CF_OK, and when the database refuses the write,
   * op_end(keep=true) fails with the write's error (not CF_EIO), having undone the operation, and
   * the transaction stays open for the next. */
  int (*op_begin)(struct cf_store *s, struct cf_error *err);
  /* Inside a transaction: whether another connection (process, node) committed anything since this
   * handle last asked (true the first time). A runtime that keeps instances in memory checks them
   * only when someone else wrote. */
  int (*others_wrote)(struct cf_store *s, bool *wrote, struct cf_error *err);
  int (*op_end)(struct cf_store *s, bool keep, struct cf_error *err);
  /* May be NULL (never). After a call or an op_end that failed inside a batch: true when it lost a
   * lock wait to another transaction (another node's batch) while this transaction holds locks of
   * kept operations, so the failed operation can only succeed once this transaction ends: the
   * caller commits what it holds and runs the operation again in a new transaction. */
  bool (*must_end)(struct cf_store *s);

  /* Reserves n keys (a block, unique across every node): *first .. *first + n - 1. */
  int (*reserve_keys)(struct cf_store *s, uint64_t n, uint64_t *first, struct cf_error *err);

  /* --- deployments */
  int (*definition_find_checksum)(struct cf_store *s, const char *process_id, const char *checksum,
                                  struct cf_store_definition *out, struct cf_error *err);
  /* d->version <= 0: the store gives it the next version of its process id and
   * writes it back into d->version. A (process_id, version) that exists: CF_ECONFLICT. */
  int (*definition_insert)(struct cf_store *s, struct cf_store_definition *d, struct cf_error *err);
  /* version 0: the latest; version_tag non-NULL: the latest with that tag */
  int (*definition_get)(struct cf_store *s, const char *process_id, int32_t version,
                        const char *version_tag, struct cf_store_definition *out, struct cf_error *err);
  int (*definition_by_key)(struct cf_store *s, uint64_t key, struct cf_store_definition *out,
                           struct cf_error *err);
  /* Every definition (latest_only: the latest version of each process id), by process id and
   * version, without the xml (NULL). */
  int (*definition_list)(struct cf_store *s, bool latest_only, struct cf_store_definition **out,
                         size_t *n, struct cf_error *err);

  /* --- instances */
  int (*instance_insert)(struct cf_store *s, const struct cf_store_instance *i,
                         const struct cf_store_instance_rows *rows, struct cf_error *err);
  /* Updates if the row still has expected_version (then row_version becomes expected + 1): else CF_ECONFLICT
   * (CF_ENOTFOUND if there is no such row) and nothing is written. insert stores i->row_version as given.
   * Both replace the instance's side rows with rows (their instance_key is taken from i->key): jobs are
   * upserted by key, and a job that stays keeps its lease (worker, lease_until_ms) unless its retries,
   * state or available_ms changed (a failure or retry ended that attempt: it takes the row's worker and
   * lease, normally none). Rows' worker/lease fields are otherwise ignored. */
  int (*instance_update)(struct cf_store *s, const struct cf_store_instance *i, int64_t expected_version,
                         const struct cf_store_instance_rows *rows, struct cf_error *err);
  int (*instance_get)(struct cf_store *s, uint64_t key, struct cf_store_instance *out,
                      struct cf_error *err);
  /* Only the row version (a cheap check that a copy in memory is current), or CF_ENOTFOUND. */
  int (*instance_version)(struct cf_store *s, uint64_t key, int64_t *row_version, struct cf_error *err);
  /* Rows in key order, without engine_state (NULL): a list is for showing, instance_get for running. */
  int (*instance_list)(struct cf_store *s, const struct cf_store_instance_filter *f,
                       struct cf_store_instance **out, size_t *n, struct cf_error *err);
  /* The instance that holds a job / user task / incident / subscription / timer / element instance key,
   * or CF_ENOTFOUND. what: "job", "user_task", "incident", "subscription", "timer", "element" (else
   * CF_EINVAL). "element" looks through the history (slower than the others: no index). */
  int (*instance_of)(struct cf_store *s, const char *what, uint64_t key, uint64_t *instance_key,
                     struct cf_error *err);

  /* --- jobs: leases */
  /* Leases up to max available jobs of a type (state activatable, not leased or lease expired:
   * lease_until_ms <= now, available_ms <= now), lowest key first, to worker until lease_until_ms.
   * Atomic: inside the caller's transaction, or in one of its own when none is open. */
  int (*jobs_activate)(struct cf_store *s, const char *type, size_t max, const char *worker,
                       int64_t now_ms, int64_t lease_until_ms, struct cf_store_job **out, size_t *n,
                       struct cf_error *err);
  int (*job_get)(struct cf_store *s, uint64_t key, struct cf_store_job *out, struct cf_error *err);

  /* --- lists */
  int (*task_list)(struct cf_store *s, const struct cf_store_task_filter *f,
                   struct cf_store_user_task **out, size_t *n, struct cf_error *err);
  /* Keeps a user task that was completed (its row as it was, state 1, completed_ms, completed_by)
   * until its instance is pruned; an instance's update replaces only its open tasks. */
  int (*task_done)(struct cf_store *s, const struct cf_store_user_task *t, struct cf_error *err);
  int (*incident_list)(struct cf_store *s, uint64_t instance_key /* 0: all */,
                       struct cf_store_incident **out, size_t *n, struct cf_error *err);
  /* Timers due at or before now (instance timers and start-event timers), earliest first. */
  int (*timers_due)(struct cf_store *s, int64_t now_ms, size_t max, struct cf_store_timer **out,
                    size_t *n, struct cf_error *err);
  /* Inserts or replaces (by key) a timer start event's timer (instance_key ignored: 0);
   * t->due_ms < 0 removes it. */
  int (*timer_start_set)(struct cf_store *s, const struct cf_store_timer *t, struct cf_error *err);
  int (*subscriptions_find)(struct cf_store *s, uint8_t kind, const char *name,
                            const char *correlation_key /* NULL for signals */,
                            struct cf_store_subscription **out, size_t *n, struct cf_error *err);

  /* --- buffered messages */
  /* A message_id still buffered (not expired at m->published_ms): CF_ECONFLICT. */
  int (*message_insert)(struct cf_store *s, const struct cf_store_message *m, struct cf_error *err);
  /* Unexpired (expires_ms > now) messages of that name and key, oldest first. */
  int (*message_find)(struct cf_store *s, const char *name, const char *correlation_key,
                      int64_t now_ms, struct cf_store_message **out, size_t *n, struct cf_error *err);
  int (*message_by_id)(struct cf_store *s, const char *message_id, int64_t now_ms, bool *exists,
                       struct cf_error *err);
  /* *already: the message was correlated to an instance of process_id; mark: record it now
   * (atomically with the check). */
  int (*message_correlated)(struct cf_store *s, uint64_t message_key, const char *process_id,
                            bool *already, bool mark, struct cf_error *err);
  /* Every buffered message as stored (expired ones too) with key > after_key, by key, at most
   * limit (0: a default of 1000), each with its correlation marks (->correlated): a page of a
   * whole database's copy (crmflow migrate). Caller releases each row and frees *out; on failure
   * nothing is handed out. Inside a transaction, the pages are of one snapshot. */
  int (*message_list)(struct cf_store *s, uint64_t after_key, size_t limit,
                      struct cf_store_message **out, size_t *n, struct cf_error *err);
  /* Removes messages with expires_ms <= now (and their correlation marks). */
  int (*messages_expire)(struct cf_store *s, int64_t now_ms, size_t *removed, struct cf_error *err);

  /* --- history */
  int (*history_append)(struct cf_store *s, const struct cf_store_event *events, size_t n,
                        struct cf_error *err);
  int (*history_list)(struct cf_store *s, uint64_t instance_key, struct cf_store_event **out,
                      size_t *n, struct cf_error *err);
  /* Personal data erasure: in every history event of the instance, each JSON string equal to one of
   * values (a JSON array of strings) becomes marker; *replaced counts them (may be NULL). */
  int (*history_erase)(struct cf_store *s, uint64_t instance_key, const char *values, const char *marker,
                       size_t *replaced, struct cf_error *err);
  /* --- searches and single rows for the API */
  int (*search)(struct cf_store *s, const struct cf_store_query *q, struct cf_store_result *out,
                struct cf_error *err);
  /* An open or completed user task by key (with definition_key, process_id, version), or CF_ENOTFOUND. */
  int (*task_get)(struct cf_store *s, uint64_t key, struct cf_store_user_task *out, struct cf_error *err);
  int (*incident_get)(struct cf_store *s, uint64_t key, struct cf_store_incident *out, struct cf_error *err);

  /* --- principals. Names are unique: an insert of a taken name is CF_ECONFLICT. */
  int (*token_insert)(struct cf_store *s, const struct cf_store_token *t, struct cf_error *err);
  int (*token_by_hash)(struct cf_store *s, const char *hash, struct cf_store_token *out, struct cf_error *err);
  int (*token_list)(struct cf_store *s, struct cf_store_token **out, size_t *n, struct cf_error *err);
  int (*token_delete)(struct cf_store *s, const char *name, struct cf_error *err);
  /* create: insert (CF_ECONFLICT if the name exists); else update the existing row (CF_ENOTFOUND). */
  int (*user_put)(struct cf_store *s, const struct cf_store_user *u, bool create, struct cf_error *err);
  int (*user_get)(struct cf_store *s, const char *name, struct cf_store_user *out, struct cf_error *err);
  int (*user_list)(struct cf_store *s, struct cf_store_user **out, size_t *n, struct cf_error *err);
  /* Also deletes the tokens that act as that user. */
  int (*user_delete)(struct cf_store *s, const char *name, struct cf_error *err);
  int (*group_put)(struct cf_store *s, const struct cf_store_group *g, bool create, struct cf_error *err);
  int (*group_get)(struct cf_store *s, const char *name, struct cf_store_group *out, struct cf_error *err);
  int (*group_list)(struct cf_store *s, struct cf_store_group **out, size_t *n, struct cf_error *err);
  /* Also removes the group from every user's groups. */
  int (*group_delete)(struct cf_store *s, const char *name, struct cf_error *err);

  /* --- CRM records. Write calls join the caller's transaction (or run in one of their own). */
  /* r->key given (reserve_keys); r->version is stored as given. A key that exists: CF_ECONFLICT. */
  int (*record_insert)(struct cf_store *s, const struct cf_store_record *r, struct cf_error *err);
  /* Replaces fields, updated_ms, updated_by and sets version = expected_version + 1, if the row of that
   * type and key has expected_version: else CF_ECONFLICT (CF_ENOTFOUND: no such record). */
  int (*record_update)(struct cf_store *s, const struct cf_store_record *r, int64_t expected_version,
                       struct cf_error *err);
  int (*record_get)(struct cf_store *s, const char *type, uint64_t key, struct cf_store_record *out,
                    struct cf_error *err);
  /* Removes the record and its unique values (its history stays). CF_ENOTFOUND: none. */
  int (*record_delete)(struct cf_store *s, const char *type, uint64_t key, struct cf_error *err);
  /* Claims value (text) of a unique field for a record; value NULL releases the record's claim on
   * that field. Taken by another record of the type: CF_ECONFLICT with err naming the holder's key. */
  int (*record_unique)(struct cf_store *s, const char *type, const char *field, const char *value,
                       uint64_t record_key, struct cf_error *err);
  int (*record_change_append)(struct cf_store *s, const struct cf_store_record_change *c,
                              struct cf_error *err);
  /* A record's changes, oldest first (also after the record was deleted). */
  int (*record_history)(struct cf_store *s, uint64_t record_key, struct cf_store_record_change **out,
                        size_t *n, struct cf_error *err);
  /* Rewrites every stored change of a record with fields replaced: for each name in the JSON array
   * fields, "from" and "to" values become marker (a JSON string) in its history. */
  int (*record_history_erase)(struct cf_store *s, uint64_t record_key, const char *fields, const char *marker,
                              struct cf_error *err);

  int (*record_type_put)(struct cf_store *s, const struct cf_store_record_type *t, struct cf_error *err);
  int (*record_type_list)(struct cf_store *s, struct cf_store_record_type **out, size_t *n,
                          struct cf_error *err);

  /* A trigger name that exists: CF_ECONFLICT. */
  int (*trigger_insert)(struct cf_store *s, const struct cf_store_trigger *t, struct cf_error *err);
  /* Every trigger, by key. */
  int (*trigger_list)(struct cf_store *s, struct cf_store_trigger **out, size_t *n, struct cf_error *err);
  /* Also removes its enrollments and timers. CF_ENOTFOUND: none. */
  int (*trigger_delete)(struct cf_store *s, uint64_t key, struct cf_error *err);
  /* Records that a trigger started an instance for a record. */
  int (*enrollment_insert)(struct cf_store *s, uint64_t trigger_key, uint64_t record_key, uint64_t instance_key,
                           int64_t at_ms, struct cf_error *err);
  /* How often the trigger started an instance for the record, and whether one of them is active. */
  int (*enrollment_find)(struct cf_store *s, uint64_t trigger_key, uint64_t record_key, size_t *count,
                         bool *active, struct cf_error *err);
  /* Inserts or replaces (by trigger and record); due_ms < 0 removes it. */
  int (*crm_timer_set)(struct cf_store *s, const struct cf_store_crm_timer *t, struct cf_error *err);
  /* Timers due at or before now, earliest first. */
  int (*crm_timers_due)(struct cf_store *s, int64_t now_ms, size_t max, struct cf_store_crm_timer **out,
                        size_t *n, struct cf_error *err);
  /* The earliest timer's due time, or INT64_MAX. */
  int (*crm_timer_next)(struct cf_store *s, int64_t *due_ms, struct cf_error *err);
  /* A small named state of the crm layer (round-robin positions...): value NULL when absent. */
  int (*crm_state_get)(struct cf_store *s, const char *name, char **value, struct cf_error *err);
  int (*crm_state_put)(struct cf_store *s, const char *name, const char *value, struct cf_error *err);

  /* --- aggregates for the web UI, as JSON text appended to out */
  /* {"items":[{"elementId","active","incidents"}]}: for the active instances of a definition, what waits
   * at each element (jobs, open user tasks, timers, subscriptions) and the open incidents there. */
  int (*element_statistics)(struct cf_store *s, uint64_t definition_key, struct cf_buf *out, struct cf_error *err);
  /* {"days":[{"day","started","completed"}], "backlog":[{"group","open"}], "slaBreaches":{"overdueTasks",
   * "items":[{"userTaskKey","elementId","dueDate","assignee","candidateGroups","processInstanceKey"}]},
   * "cycleTime":[{"processDefinitionId","completed","averageMs"}]} since since_ms (days in UTC). */
  int (*dashboard)(struct cf_store *s, int64_t since_ms, int64_t now_ms, struct cf_buf *out, struct cf_error *err);

  /* Removes ended instances (and their history and side rows) that ended before before_ms, at most
   * batch of them (0: 1000), oldest first; *removed says how many. Call again until it is 0. */
  int (*prune)(struct cf_store *s, int64_t before_ms, size_t batch, size_t *removed,
               struct cf_error *err);
};

/*
 * The rate of durable SQLite commits (WAL, synchronous=FULL, one small row
 * each) at path (a file it creates), measured for about budget_seconds:
 * the disk's limit a benchmark reports beside its own figure.
 */
int cf_store_sqlite_commit_rate(const char *path, double budget_seconds, double *per_second,
                                struct cf_error *err);

/*
 * The rate of commits of the PostgreSQL database at url (a postgres:// URL),
 * measured for about budget_seconds from one connection: single-row INSERTs
 * of 200 bytes, each its own transaction, at the server's durability
 * (synchronous_commit), into a table crmflow_commit_probe it creates in the
 * URL's schema and drops after. What a benchmark on PostgreSQL reports
 * beside its own figure, as it reports cf_store_sqlite_commit_rate on SQLite.
 */
int cf_store_pg_commit_rate(const char *url, double budget_seconds, double *per_second,
                            struct cf_error *err);

/* The backends built in. */
extern const struct cf_store_ops cf_store_sqlite;

/*
 * Opens a store at location: a file path (SQLite), or a "postgres://" URL
 * (later). Applies pending migrations (a failed one leaves the database as
 * it was); refuses a database of a newer schema (CF_EUNSUPPORTED).
 * *ops receives the backend's table.
 */
int cf_store_open(const char *location, unsigned flags, const struct cf_store_ops **ops,
                  struct cf_store **out, struct cf_error *err);

#endif
