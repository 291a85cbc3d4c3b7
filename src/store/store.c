/*
 * The backend-independent part of the store: choosing a backend by the
 * location, and releasing the rows every backend hands out.
 */
#include <string.h>

#include "base/cf_alloc.h"
#include "store/cf_store.h"
#include "store/store_int.h"

int cf_store_open(const char *location, unsigned flags, const struct cf_store_ops **ops,
                  struct cf_store **out, struct cf_error *err) {
  if (!location || !*location || !ops || !out)
    return cf_error_set(err, CF_EINVAL, "cf_store_open: no database location given");
  /* A URL names a PostgreSQL database (libpq's PG* variables fill in what it leaves out);
   * anything else is a SQLite file. */
  const struct cf_store_ops *o = &cf_store_sqlite;
  if (strncmp(location, "postgres://", 11) == 0 || strncmp(location, "postgresql://", 13) == 0)
    o = &cf_store_pg;
  int rc = o->open(location, flags, out, err);
  if (rc == CF_OK) *ops = o;
  return rc;
}

/* ------------------------------------------------------------ releasing rows */

void cf_store_definition_release(struct cf_store_definition *d) {
  if (!d) return;
  cf_free(d->process_id);
  cf_free(d->version_tag);
  cf_free(d->resource_name);
  cf_free(d->checksum);
  cf_free(d->xml);
  memset(d, 0, sizeof *d);
}

void cf_store_instance_release(struct cf_store_instance *i) {
  if (!i) return;
  cf_free(i->process_id);
  cf_free(i->business_key);
  cf_free(i->engine_state);
  cf_free(i->variables);
  memset(i, 0, sizeof *i);
}

void cf_store_job_release(struct cf_store_job *j) {
  if (!j) return;
  cf_free(j->element_id);
  cf_free(j->type);
  cf_free(j->worker);
  cf_free(j->headers);
  cf_free(j->error_message);
  memset(j, 0, sizeof *j);
}

void cf_store_user_task_release(struct cf_store_user_task *t) {
  if (!t) return;
  cf_free(t->element_id);
  cf_free(t->assignee);
  cf_free(t->candidate_groups);
  cf_free(t->candidate_users);
  cf_free(t->due_date);
  cf_free(t->follow_up_date);
  cf_free(t->form_key);
  cf_free(t->completed_by);
  cf_free(t->process_id);
  memset(t, 0, sizeof *t);
}

void cf_store_timer_release(struct cf_store_timer *t) {
  if (!t) return;
  cf_free(t->element_id);
  memset(t, 0, sizeof *t);
}

void cf_store_subscription_release(struct cf_store_subscription *u) {
  if (!u) return;
  cf_free(u->element_id);
  cf_free(u->name);
  cf_free(u->correlation_key);
  memset(u, 0, sizeof *u);
}

void cf_store_incident_release(struct cf_store_incident *c) {
  if (!c) return;
  cf_free(c->element_id);
  cf_free(c->message);
  cf_free(c->process_id);
  memset(c, 0, sizeof *c);
}

void cf_store_message_release(struct cf_store_message *m) {
  if (!m) return;
  cf_free(m->name);
  cf_free(m->correlation_key);
  cf_free(m->message_id);
  cf_free(m->variables);
  for (size_t i = 0; i < m->ncorrelated; i++) cf_free(m->correlated[i]);
  cf_free(m->correlated);
  memset(m, 0, sizeof *m);
}

bool cf__store_message_mark(struct cf_store_message *m, const char *process_id, size_t len) {
  char *copy = cf_strndup(process_id, len);
  char **grown = copy ? cf_realloc(m->correlated, (m->ncorrelated + 1) * sizeof *grown) : NULL;
  if (!grown) {
    cf_free(copy);
    return false;
  }
  grown[m->ncorrelated++] = copy;
  m->correlated = grown;
  return true;
}

void cf_store_event_release(struct cf_store_event *e) {
  if (!e) return;
  cf_free(e->kind);
  cf_free(e->element_id);
  cf_free(e->detail);
  cf_free(e->actor);
  cf_free(e->variables);
  memset(e, 0, sizeof *e);
}

/* Releases each row of whichever array is set (a result has one), then the arrays. */
void cf_store_result_release(struct cf_store_result *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n; i++) {
    if (r->instances) cf_store_instance_release(&r->instances[i]);
    if (r->tasks) cf_store_user_task_release(&r->tasks[i]);
    if (r->incidents) cf_store_incident_release(&r->incidents[i]);
    if (r->definitions) cf_store_definition_release(&r->definitions[i]);
    if (r->jobs) cf_store_job_release(&r->jobs[i]);
    if (r->records) cf_store_record_release(&r->records[i]);
  }
  cf_free(r->instances);
  cf_free(r->tasks);
  cf_free(r->incidents);
  cf_free(r->definitions);
  cf_free(r->jobs);
  cf_free(r->records);
  memset(r, 0, sizeof *r);
}

void cf_store_token_release(struct cf_store_token *t) {
  if (!t) return;
  cf_free(t->name);
  cf_free(t->role);
  cf_free(t->user);
  cf_free(t->hash);
  memset(t, 0, sizeof *t);
}

void cf_store_user_release(struct cf_store_user *u) {
  if (!u) return;
  cf_free(u->name);
  cf_free(u->display_name);
  cf_free(u->role);
  cf_free(u->password_hash);
  cf_free(u->groups);
  memset(u, 0, sizeof *u);
}

void cf_store_group_release(struct cf_store_group *g) {
  if (!g) return;
  cf_free(g->name);
  cf_free(g->display_name);
  memset(g, 0, sizeof *g);
}

void cf_store_record_release(struct cf_store_record *r) {
  if (!r) return;
  cf_free(r->type);
  cf_free(r->fields);
  cf_free(r->created_by);
  cf_free(r->updated_by);
  memset(r, 0, sizeof *r);
}

void cf_store_record_change_release(struct cf_store_record_change *c) {
  if (!c) return;
  cf_free(c->type);
  cf_free(c->by);
  cf_free(c->kind);
  cf_free(c->changes);
  memset(c, 0, sizeof *c);
}

void cf_store_record_type_release(struct cf_store_record_type *t) {
  if (!t) return;
  cf_free(t->name);
  cf_free(t->schema);
  memset(t, 0, sizeof *t);
}

void cf_store_trigger_release(struct cf_store_trigger *t) {
  if (!t) return;
  cf_free(t->name);
  cf_free(t->record_type);
  cf_free(t->definition);
  memset(t, 0, sizeof *t);
}

void cf_store_crm_timer_release(struct cf_store_crm_timer *t) {
  if (!t) return;
  cf_free(t->record_type);
  memset(t, 0, sizeof *t);
}
