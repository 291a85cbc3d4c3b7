/*
 * The crm layer's private parts:
 *
 *   crm_schema.c    types (the seven built-in ones and custom ones), validation, record JSON
 *   crm_records.c   record writes: create, update, delete, with their history and uniques
 *   crm_triggers.c  triggers: compile, match a change, enrollment, loop guard, date-relative timers
 *   crm_workers.c   the built-in job workers (crm.*, email.send, http.request)
 *
 * The types and triggers are cached in struct cf_crm and reloaded when the
 * store's generation ("crm.gen" in crm_state) moved: another process (the
 * CLI, a second node) may have added one.
 */
#ifndef CF_CRM_INT_H
#define CF_CRM_INT_H

#include <pthread.h>

#include "crm/cf_crm.h"
#include "feel/cf_feel.h"

enum crm_enrollment { ENROLL_EVERY, ENROLL_ONCE, ENROLL_NOT_ACTIVE };

struct crm_trigger {
  uint64_t key;
  char *name, *record_type;
  bool on_create, on_update, on_delete;
  struct cf_feel_expr *condition; /* NULL: always */
  struct cf_feel_expr *variables; /* NULL: none */
  struct cf_feel_expr *at;        /* date-relative: when; NULL: fires on the change */
  struct cf_feel_expr *corr;      /* a message's correlation key */
  char *process_id;               /* starts this, or */
  char *message;                  /* publishes this */
  int64_t ttl_ms;                 /* the message's time to live */
  enum crm_enrollment enrollment;
  bool allow_self;
  char *json;                     /* the definition as stored */
};

struct cf_crm {
  pthread_mutex_t mu;
  struct cf_crm_type *types;
  size_t ntypes;
  size_t nbuiltin;
  struct crm_trigger *triggers;
  size_t ntriggers;
  char gen[40];                   /* the store's generation last loaded ("" before any) */
  bool loaded;
};

/* Under crm->mu. */
const struct cf_crm_type *crm_type(const struct cf_crm *crm, const char *name);
const struct cf_crm_field *crm_field(const struct cf_crm_type *t, const char *name);
void crm_type_release(struct cf_crm_type *t);
/* Builds a type from its schema JSON (validated: CF_EINVAL naming the field). */
int crm_type_from_json(struct json_object *schema, struct cf_crm_type *out, struct cf_error *err);
void crm_type_to_json(const struct cf_crm_type *t, struct cf_buf *out);
int crm_builtin_types(struct cf_crm_type **out, size_t *n);
/* RFC 3339 in UTC with milliseconds. */
void crm_time_text(int64_t ms, char out[40]);

void crm_trigger_release(struct crm_trigger *t);
int crm_trigger_compile(struct json_object *def, struct crm_trigger *out, struct cf_error *err);

/* Moves the store's generation on (after a write of types or triggers). */
int crm_bump(const struct cf_store_ops *ops, struct cf_store *st, struct cf_error *err);
/* Reloads under crm->mu when the generation moved (the caller holds mu). */
int crm_refresh_locked(struct cf_crm *crm, const struct cf_store_ops *ops, struct cf_store *st, struct cf_error *err);

/* A change just written: runs the triggers of type (the caller holds mu; in the caller's operation). */
struct crm_change {
  const char *type;
  uint64_t key;
  const char *event;                 /* "create", "update", "delete" */
  struct json_object *record;        /* the fields after (before, for a delete), with createdAt/updatedAt */
  struct json_object *previous;      /* the fields before (NULL on create) */
  struct json_object *changed;       /* a JSON array of the changed field names */
};
int crm_run_triggers(struct cf_crm *crm, struct cf_runtime *rt, const struct crm_change *ch,
                     const struct cf_crm_origin *origin, struct cf_error *err);

/* The FEEL context {record, previous, changed, recordKey, recordType} of a change (caller releases). */
int crm_change_context(const struct crm_change *ch, struct cf_feel_value *out);
struct cf_feel_env crm_env(struct cf_runtime *rt);

#endif
