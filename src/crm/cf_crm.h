/*
 * The CRM layer: what makes crmflow a CRM's workflow engine. Records with
 * typed fields (built-in types: account, contact, lead, opportunity, order,
 * ticket, campaign; and custom ones), every change kept with who made it
 * and the values before and after; triggers that start processes (or
 * publish messages) when records are created, updated or deleted, or at a
 * date relative to a record; and the built-in job workers (crm.*,
 * email.send, http.request).
 *
 * Record writes are runtime operations: they run on the writer's thread
 * inside an operation (cf_runtime_writer_submit, or a runtime used by one
 * thread), so a change, its history and the instances its triggers start
 * are one transaction: a trigger fires exactly once per change, also
 * across a crash. Reads (validation, JSON) work from any thread.
 *
 * It knows the runtime and the store; no HTTP (src/api/ above carries the
 * endpoints). libcurl (SMTP and HTTP for the workers) is used only here.
 */
#ifndef CF_CRM_H
#define CF_CRM_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cf_buf.h"
#include "crmflow/cf_error.h"
#include "runtime/cf_runtime.h"
#include "store/cf_store.h"

struct cf_crm;

/* ------------------------------------------------------------ schema */

enum cf_crm_ftype {
  CF_CRM_STRING,
  CF_CRM_DECIMAL,   /* an exact decimal (JSON number; kept as its text) */
  CF_CRM_DATE,      /* "YYYY-MM-DD" */
  CF_CRM_DATETIME,  /* RFC 3339 */
  CF_CRM_BOOLEAN,
  CF_CRM_ENUM,      /* one of values */
  CF_CRM_REFERENCE, /* the key (digit string) of a record of ref_type */
  CF_CRM_EMAIL,
  CF_CRM_PHONE
};

struct cf_crm_field {
  char *name;
  enum cf_crm_ftype type;
  bool required, unique, personal;
  char **values;        /* CF_CRM_ENUM */
  size_t nvalues;
  char *ref_type;       /* CF_CRM_REFERENCE */
  char *default_json;   /* a default's JSON text, or NULL */
};

struct cf_crm_type {
  char *name;
  struct cf_crm_field *fields;
  size_t nfields;
  bool builtin;         /* one of the seven (possibly with fields added) */
};

/* ------------------------------------------------------------ lifecycle */

/* A CRM with the built-in types. Thread-safe (a lock guards its caches). */
int cf_crm_new(struct cf_crm **out, struct cf_error *err);
void cf_crm_free(struct cf_crm *crm);

/*
 * (Re)loads custom types and triggers from a store when they changed since
 * the last load (another process may have added a trigger): cheap when
 * nothing changed. The write calls below do it themselves.
 */
int cf_crm_refresh(struct cf_crm *crm, const struct cf_store_ops *ops, struct cf_store *st, struct cf_error *err);

/* ------------------------------------------------------------ reads (any thread) */

/* The type (borrowed until the next refresh on another thread: copy what must outlive a call), or NULL. */
bool cf_crm_type_exists(struct cf_crm *crm, const char *type);
/* The type's schema as JSON {"name","builtin","fields":[{"name","type","required","unique","personal",...}]}. */
int cf_crm_type_json(struct cf_crm *crm, const char *type, struct cf_buf *out, struct cf_error *err);
/* Every type's name, as a JSON array. */
void cf_crm_types_json(struct cf_crm *crm, struct cf_buf *out);

/*
 * Checks fields (a JSON object, borrowed) for a record of type: every
 * field known, each value of its type (CF_EINVAL with err naming the field
 * and why); on create, required fields present and defaults added. *out
 * (new reference) is the normalised object (dates and decimals as given
 * when valid, emails lower-cased...). References are checked to exist by
 * the writes, not here.
 */
int cf_crm_validate(struct cf_crm *crm, const char *type, struct json_object *fields, bool create,
                    struct json_object **out, struct cf_error *err);

/* A record as the API shows it: {"recordKey","type","version","fields":{..., "createdAt","updatedAt"},
 * "createdBy","updatedBy"}. */
void cf_crm_record_json(const struct cf_store_record *r, struct cf_buf *out);

/* ------------------------------------------------------------ writes (the writer's thread) */

/* Who makes a change: a person or client (actor), or a process's job (instance and its process). */
struct cf_crm_origin {
  const char *actor;        /* "api:NAME", "cli", "job:KEY" */
  uint64_t instance_key;    /* a job's instance, else 0 */
  const char *process_id;   /* that instance's process */
};

/*
 * Record writes. Each validates, keeps unique values unique (CF_ECONFLICT
 * naming the field and the record holding the value), checks references,
 * writes the record and its change (with the values before and after), and
 * runs the matching triggers: starting processes with the trigger's
 * variables plus recordType and recordKey (enrollment and the loop guard
 * respected), publishing messages, scheduling date-relative timers. All in
 * the caller's operation: an error undoes all of it.
 * update: only the given fields change (a null removes an optional field);
 * expected_version > 0 must be the record's version (else CF_ECONFLICT).
 * *out (may be NULL) receives the record as stored.
 */
int cf_crm_create(struct cf_crm *crm, struct cf_runtime *rt, const char *type, struct json_object *fields,
                  const struct cf_crm_origin *origin, struct cf_store_record *out, struct cf_error *err);
int cf_crm_update(struct cf_crm *crm, struct cf_runtime *rt, const char *type, uint64_t key,
                  struct json_object *fields, int64_t expected_version, const struct cf_crm_origin *origin,
                  struct cf_store_record *out, struct cf_error *err);
int cf_crm_delete(struct cf_crm *crm, struct cf_runtime *rt, const char *type, uint64_t key,
                  const struct cf_crm_origin *origin, struct cf_error *err);

/* Defines or extends a type: a built-in type may get fields added, never its own changed or removed. */
int cf_crm_type_put(struct cf_crm *crm, struct cf_runtime *rt, struct json_object *schema, struct cf_error *err);

/*
 * Adds a trigger (shared/contracts.md §7; docs/crm.md):
 *   {"name", "recordType", "on": ["create"|"update"|"delete"], "condition": "=FEEL",
 *    "processDefinitionId" | "message": {"name", "correlationKey": "=FEEL"},
 *    "variables": "=FEEL context", "enrollment": "every-time"|"once-per-record"|"not-while-active",
 *    "allowSelf": false,
 *    "at": "=FEEL date and time from record"   (date-relative: fires then, if condition holds)}
 * The FEEL is compiled now: an error names the field (CF_EINVAL). *key receives its key.
 */
int cf_crm_trigger_add(struct cf_crm *crm, struct cf_runtime *rt, struct json_object *def, uint64_t *key,
                       struct cf_error *err);
int cf_crm_trigger_delete(struct cf_crm *crm, struct cf_runtime *rt, uint64_t key, struct cf_error *err);
/* Checks a trigger definition or a type schema as the writes above would (any thread, nothing stored). */
int cf_crm_trigger_check(struct json_object *def, struct cf_error *err);
int cf_crm_type_check(struct json_object *schema, struct cf_error *err);
/* Every trigger as JSON {"items":[{"triggerKey", ...definition}]}. */
int cf_crm_triggers_json(struct cf_crm *crm, const struct cf_store_ops *ops, struct cf_store *st, struct cf_buf *out,
                         struct cf_error *err);

/* Date-relative triggers due now (each in an operation of its own), and when the next is due. */
int cf_crm_fire_timers(struct cf_crm *crm, struct cf_runtime *rt, size_t max, size_t *fired, struct cf_error *err);
int cf_crm_next_due(struct cf_crm *crm, struct cf_runtime *rt, int64_t *due_ms, struct cf_error *err);

/* ------------------------------------------------------------ personal data (crm_personal.c) */

/*
 * What crmflow holds of a record's personal fields (schema "personal"):
 * {"recordKey", "type", "fields": {current values}, "history": [the changes
 * of those fields], "instances": [{"processInstanceKey", "processDefinitionId",
 * "state"}]} (instances whose variable recordKey is the record's). Read
 * with any store handle.
 */
int cf_crm_personal_export(struct cf_crm *crm, const struct cf_store_ops *ops, struct cf_store *st, const char *type,
                           uint64_t key, struct cf_buf *out, struct cf_error *err);

/*
 * Erases a record's personal data (the writer's thread, one operation):
 * its personal fields' values, now and in its history, become the marker
 * "[erased]"; so do those values in the variables and history of every
 * instance working on the record; the erasure itself is recorded (a change
 * of kind "erase" naming the fields, and an instance event). *instances
 * (may be NULL) counts the instances touched.
 */
int cf_crm_personal_erase(struct cf_crm *crm, struct cf_runtime *rt, const char *type, uint64_t key,
                          const struct cf_crm_origin *origin, size_t *instances, struct cf_error *err);

#define CF_CRM_ERASED "[erased]"

/* ------------------------------------------------------------ built-in job workers (crm_workers.c) */

struct cf_crm_workers;

struct cf_crm_workers_opts {
  struct cf_runtime_writer *writer;
  struct cf_crm *crm;
  const char *smtp_url;      /* "smtp://HOST:PORT", or NULL: email.send jobs fail with an incident */
  const char *smtp_from;     /* the sender; NULL: "crmflow@localhost" */
  const char *allow_hosts;   /* "HOST[,HOST]" http.request may call; NULL: none */
  unsigned threads;          /* 0: 2 */
  void (*log)(void *arg, const char *line); /* one line per job handled (never a personal value) */
  void *log_arg;
};

/*
 * Starts the workers of crm.*, email.send and http.request inside this
 * process (crm NULL: only email.send and http.request are taken). They
 * lease jobs as "crmflow-builtin" and answer through the writer; inputs
 * come from the job's variables (input mappings), else its task headers.
 * Strings of o are copied. CF_EINVAL (no writer), CF_ENOMEM, CF_EIO (threads).
 */
int cf_crm_workers_start(const struct cf_crm_workers_opts *o, struct cf_crm_workers **out, struct cf_error *err);
/*
 * The writer finished a batch: jobs may be waiting (cheap, any thread; the
 * writer's on_batch hook calls it). Batches holding nothing but the
 * workers' own activations wake nobody. w NULL: nothing.
 */
void cf_crm_workers_notify(struct cf_crm_workers *w);
/*
 * Stops and frees: crm.* jobs in hand are finished, network jobs not
 * started are handed back (failed with their retries unchanged, no
 * back-off), calls under way end first (bounded by their timeouts); none is
 * left leased. Stop the workers BEFORE the writer, after the batch hook
 * stopped handing out w (a hook already inside notify is waited for).
 * NULL: nothing.
 */
void cf_crm_workers_stop(struct cf_crm_workers *w);

#endif
