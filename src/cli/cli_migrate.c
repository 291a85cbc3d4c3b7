/*
 * `crmflow migrate --from SOURCE --to TARGET`: copies a whole database into an empty one (SQLite to
 * PostgreSQL, or any backend to any other), running instances included, through the store
 * interface only (src/store/cf_store.h), so either side may be either backend:
 *
 *   definitions     every version, same keys, versions, deployment keys and XML
 *   instances       every state, with their engine state, variables and row versions, and their
 *                   side rows: jobs (with their leases: a job leased in the source stays leased
 *                   to the same worker until the same time), open and completed user tasks, timers,
 *                   incidents, and message and signal subscriptions (these from the engine state:
 *                   the store lists none)
 *   timer start events' timers, history (every instance's events, in order)
 *   principals      tokens (their hashes: the same secrets work), users (password hashes), groups
 *   CRM             record types, records (same keys and versions) with their unique values and
 *                   their change history, triggers, enrollments, date-relative timers, the crm
 *                   layer's named state (crm.gen, assign.rr.GROUP)
 *   messages        buffered messages (expired ones too, as stored: same keys, names,
 *                   correlation keys, message ids, variables, publish and expiry times) with their
 *                   correlation marks (the processes each was already correlated to)
 *   the key counter the target's next key is the source's next key
 *
 * Not copied, for the store interface has no way to list it: the change history of records
 * already deleted. An enrollment whose instance was pruned from the source is kept with no
 * instance (it counts, it is not active).
 *
 * The source is read inside one transaction that is rolled back at the end (nothing is written
 * to it); the target is written in one transaction: a failed migration leaves it empty. The target
 * must be empty (no definitions, instances, principals, records, record types, triggers or
 * buffered messages).
 * At the end the counts of both are compared (instances by state, jobs, user tasks, incidents,
 * definitions, records, buffered messages) and printed; a difference is exit status 1.
 * Stop every `crmflow serve` of the source first: what it writes after the copy is not copied.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_json.h"
#include "bpmn/cf_bpmn.h"
#include "cli/cli.h"
#include "crm/cf_crm.h"
#include "engine/cf_engine.h"
#include "store/cf_store.h"

static const char usage[] =
    "usage: crmflow migrate --from SOURCE --to TARGET\n"
    "\n"
    "Copies the whole database SOURCE into TARGET, which must be empty: process definitions,\n"
    "instances (running ones too, with their jobs, user tasks, timers, subscriptions and\n"
    "incidents), history, tokens, users, groups, and the CRM's record types, records, triggers,\n"
    "enrollments and timers, and buffered messages (with the processes each was already\n"
    "correlated to). A location is a file path (SQLite; 'sqlite:PATH' too) or a postgres://\n"
    "URL. Stop the servers of SOURCE first.\n"
    "Prints the counts of both at the end; exit status 1 when they differ.\n"
    "\n"
    "  --from SOURCE  the database to copy (read only)\n"
    "  --to TARGET    the database to copy into (created if missing; must hold nothing)\n";

struct mig {
  const struct cf_store_ops *so, *to;
  struct cf_store *src, *dst;
  struct cf_error err;
  /* Compiled models by definition key, for the subscriptions of instances. */
  struct model {
    uint64_t key;
    struct cf_bpmn_model *m;
  } *models;
  size_t nmodels, capmodels;
  /* Every timer of the source (timers_due with no limit in time), by instance. */
  struct cf_store_timer *timers;
  size_t ntimers;
  size_t copied_instances, copied_events, copied_records, copied_changes, copied_enrollments;
  size_t copied_messages, copied_marks;
};

static const char *loc(const char *text) { return strncmp(text, "sqlite:", 7) ? text : text + 7; }

static int oom(struct mig *g) { return cf_error_set(&g->err, CF_ENOMEM, "out of memory"); }

/* ------------------------------------------------------------ counts */

struct counts {
  uint64_t inst[3], jobs, tasks, incidents, definitions, records, messages;
};

static int count_one(const struct cf_store_ops *ops, struct cf_store *st, enum cf_store_entity e, const char *field,
                     int64_t value, uint64_t *out, struct cf_error *err) {
  struct cf_store_qvalue v = {.num = value};
  struct cf_store_qcond c = {.field = field, .op = CF_STORE_EQ, .values = &v, .nvalues = 1};
  struct cf_store_query q = {.entity = e, .conds = field ? &c : NULL, .nconds = field ? 1 : 0, .limit = 0};
  struct cf_store_result r;
  memset(&r, 0, sizeof r);
  int rc = ops->search(st, &q, &r, err);
  if (!rc) *out = r.total;
  cf_store_result_release(&r);
  return rc;
}

/* Buffered messages as stored (expired ones too, as they are copied): the search has no entity for them. */
static int count_messages(const struct cf_store_ops *ops, struct cf_store *st, uint64_t *out, struct cf_error *err) {
  uint64_t total = 0, after = 0;
  for (;;) {
    struct cf_store_message *m = NULL;
    size_t n = 0;
    int rc = ops->message_list(st, after, 500, &m, &n, err);
    if (rc) return rc;
    total += n;
    if (n) after = m[n - 1].key;
    for (size_t i = 0; i < n; i++) cf_store_message_release(&m[i]);
    cf_free(m);
    if (n < 500) break;
  }
  *out = total;
  return CF_OK;
}

static int count_all(const struct cf_store_ops *ops, struct cf_store *st, struct counts *c, struct cf_error *err) {
  memset(c, 0, sizeof *c);
  int rc = 0;
  for (int s = 0; s < 3 && !rc; s++) rc = count_one(ops, st, CF_STORE_INSTANCES, "state", s, &c->inst[s], err);
  if (!rc) rc = count_one(ops, st, CF_STORE_JOBS, NULL, 0, &c->jobs, err);
  if (!rc) rc = count_one(ops, st, CF_STORE_USER_TASKS, NULL, 0, &c->tasks, err);
  if (!rc) rc = count_one(ops, st, CF_STORE_INCIDENTS, NULL, 0, &c->incidents, err);
  if (!rc) rc = count_one(ops, st, CF_STORE_DEFINITIONS, NULL, 0, &c->definitions, err);
  if (!rc) rc = count_one(ops, st, CF_STORE_RECORDS, NULL, 0, &c->records, err);
  if (!rc) rc = count_messages(ops, st, &c->messages, err);
  return rc;
}

/* ------------------------------------------------------------ definitions */

static struct cf_bpmn_model *model_of(struct mig *g, uint64_t def_key) {
  for (size_t i = 0; i < g->nmodels; i++)
    if (g->models[i].key == def_key) return g->models[i].m;
  return NULL;
}

static int copy_definitions(struct mig *g, size_t *n_out) {
  struct cf_store_definition *defs = NULL;
  size_t n = 0;
  int rc = g->so->definition_list(g->src, false, &defs, &n, &g->err);
  if (rc) return rc;
  for (size_t i = 0; i < n && !rc; i++) {
    struct cf_store_definition d;
    memset(&d, 0, sizeof d);
    if ((rc = g->so->definition_by_key(g->src, defs[i].key, &d, &g->err))) break;
    rc = g->to->definition_insert(g->dst, &d, &g->err);
    if (!rc && d.version != defs[i].version)
      rc = cf_error_set(&g->err, CF_EINVAL, "definition %s: version %d became %d", d.process_id, defs[i].version,
                        d.version);
    if (!rc) {
      struct cf_bpmn_problems probs;
      cf_bpmn_problems_init(&probs);
      struct cf_bpmn_model *m = cf_bpmn_parse(d.xml, d.xml_len, d.resource_name, &probs);
      cf_bpmn_problems_release(&probs);
      /* A definition that no longer compiles has no running instances to speak of: its instances
       * are copied without subscriptions (an error below if one has any). */
      if (m) {
        if (!cf_grow((void **)&g->models, &g->capmodels, g->nmodels, sizeof *g->models)) {
          cf_bpmn_model_free(m);
          rc = oom(g);
        } else {
          g->models[g->nmodels++] = (struct model){.key = d.key, .m = m};
        }
      }
    }
    cf_store_definition_release(&d);
  }
  for (size_t i = 0; i < n; i++) cf_store_definition_release(&defs[i]);
  cf_free(defs);
  *n_out = n;
  return rc;
}

/* ------------------------------------------------------------ instances */

/* A search of entity e for instance_key = key (state = task_state too for user tasks when >= 0). */
static int search_of(struct mig *g, enum cf_store_entity e, uint64_t key, int task_state, struct cf_store_result *r) {
  struct cf_store_qvalue v[2] = {{.num = (int64_t)key}, {.num = task_state}};
  struct cf_store_qcond c[2] = {{.field = "instance_key", .op = CF_STORE_EQ, .values = &v[0], .nvalues = 1},
                                {.field = "state", .op = CF_STORE_EQ, .values = &v[1], .nvalues = 1}};
  struct cf_store_query q = {.entity = e, .conds = c, .nconds = task_state >= 0 ? 2 : 1, .limit = 100000};
  memset(r, 0, sizeof *r);
  return g->so->search(g->src, &q, r, &g->err);
}

static int copy_instance(struct mig *g, uint64_t key) {
  struct cf_store_instance in;
  memset(&in, 0, sizeof in);
  struct cf_store_result jobs, open_tasks, done_tasks;
  memset(&jobs, 0, sizeof jobs);
  memset(&open_tasks, 0, sizeof open_tasks);
  memset(&done_tasks, 0, sizeof done_tasks);
  struct cf_store_incident *incs = NULL;
  size_t nincs = 0;
  struct cf_store_timer *timers = NULL;
  struct cf_store_subscription *subs = NULL;
  size_t ntimers = 0, nsubs = 0;
  struct cf_engine_instance *inst = NULL;
  struct cf_store_event *evs = NULL;
  size_t nevs = 0;
  int rc = g->so->instance_get(g->src, key, &in, &g->err);
  if (!rc) rc = search_of(g, CF_STORE_JOBS, key, -1, &jobs);
  if (!rc) rc = search_of(g, CF_STORE_USER_TASKS, key, 0, &open_tasks);
  if (!rc) rc = search_of(g, CF_STORE_USER_TASKS, key, 1, &done_tasks);
  if (!rc) rc = g->so->incident_list(g->src, key, &incs, &nincs, &g->err);
  if (rc) goto out;
  for (size_t i = 0; i < g->ntimers; i++)
    if (g->timers[i].instance_key == key) ntimers++;
  if (ntimers && !(timers = cf_calloc(ntimers, sizeof *timers))) {
    rc = oom(g);
    goto out;
  }
  ntimers = 0;
  for (size_t i = 0; i < g->ntimers; i++)
    if (g->timers[i].instance_key == key) timers[ntimers++] = g->timers[i]; /* borrowed strings */
  /* Subscriptions: from the engine state (the store has no list of them). */
  if (in.state == CF_STORE_ACTIVE && in.engine_state) {
    struct cf_bpmn_model *m = model_of(g, in.definition_key);
    if (!m) {
      rc = cf_error_set(&g->err, CF_EINVAL, "instance %" PRIu64 ": its definition %" PRIu64 " does not compile", key,
                        in.definition_key);
      goto out;
    }
    if (!(inst = cf_engine_instance_load(m, in.engine_state, in.engine_state_len, &g->err))) {
      rc = g->err.code ? g->err.code : CF_EINVAL;
      goto out;
    }
    size_t n;
    const struct cf_engine_subscription *es = cf_engine_subscriptions(inst, &n);
    if (n && !(subs = cf_calloc(n, sizeof *subs))) {
      rc = oom(g);
      goto out;
    }
    for (size_t i = 0; i < n; i++) {
      struct cf_store_subscription *s = &subs[nsubs++];
      s->key = es[i].key;
      s->instance_key = key;
      s->element_id = es[i].element < m->nelements ? m->elements[es[i].element].id : "?";
      s->kind = es[i].kind;
      s->name = es[i].name ? es[i].name : "";
      s->correlation_key =
          es[i].kind == CF_ENGINE_SUB_MESSAGE ? (es[i].correlation_key ? es[i].correlation_key : "") : NULL;
    }
  }
  struct cf_store_instance_rows rows = {.jobs = jobs.jobs, .njobs = jobs.n, .tasks = open_tasks.tasks,
                                        .ntasks = open_tasks.n, .timers = timers, .ntimers = ntimers,
                                        .subs = subs, .nsubs = nsubs, .incidents = incs, .nincidents = nincs};
  if ((rc = g->to->instance_insert(g->dst, &in, &rows, &g->err))) goto out;
  for (size_t i = 0; i < done_tasks.n && !rc; i++) rc = g->to->task_done(g->dst, &done_tasks.tasks[i], &g->err);
  if (!rc) rc = g->so->history_list(g->src, key, &evs, &nevs, &g->err);
  if (!rc && nevs) rc = g->to->history_append(g->dst, evs, nevs, &g->err);
  if (!rc) {
    g->copied_instances++;
    g->copied_events += nevs;
  }
out:
  if (rc && !strstr(g->err.msg, "instance ")) {
    char why[sizeof g->err.msg];
    snprintf(why, sizeof why, "%s", g->err.msg);
    cf_error_set(&g->err, rc, "instance %" PRIu64 ": %s", key, why);
  }
  if (inst) cf_engine_instance_free(inst);
  cf_free(subs);
  cf_free(timers);
  for (size_t i = 0; i < nevs; i++) cf_store_event_release(&evs[i]);
  cf_free(evs);
  for (size_t i = 0; i < nincs; i++) cf_store_incident_release(&incs[i]);
  cf_free(incs);
  cf_store_result_release(&jobs);
  cf_store_result_release(&open_tasks);
  cf_store_result_release(&done_tasks);
  cf_store_instance_release(&in);
  return rc;
}

static int copy_instances(struct mig *g) {
  /* Every timer: instance timers go with their instances, start-event timers on their own. */
  int rc = g->so->timers_due(g->src, INT64_MAX, (size_t)1 << 30, &g->timers, &g->ntimers, &g->err);
  for (size_t i = 0; i < g->ntimers && !rc; i++)
    if (!g->timers[i].instance_key) rc = g->to->timer_start_set(g->dst, &g->timers[i], &g->err);
  uint64_t after = 0;
  while (!rc) {
    struct cf_store_instance_filter f = {.state = -1, .incident = -1, .limit = 500, .after_key = after};
    struct cf_store_instance *list = NULL;
    size_t n = 0;
    if ((rc = g->so->instance_list(g->src, &f, &list, &n, &g->err))) break;
    for (size_t i = 0; i < n && !rc; i++) rc = copy_instance(g, list[i].key);
    if (n) after = list[n - 1].key;
    for (size_t i = 0; i < n; i++) cf_store_instance_release(&list[i]);
    cf_free(list);
    if (!n) break;
  }
  return rc;
}

/* ------------------------------------------------------------ principals */

static int copy_principals(struct mig *g, size_t *ntok, size_t *nusers, size_t *ngroups) {
  struct cf_store_token *toks = NULL;
  struct cf_store_user *users = NULL;
  struct cf_store_group *groups = NULL;
  *ntok = *nusers = *ngroups = 0;
  int rc = g->so->group_list(g->src, &groups, ngroups, &g->err);
  for (size_t i = 0; i < *ngroups && !rc; i++) rc = g->to->group_put(g->dst, &groups[i], true, &g->err);
  if (!rc) rc = g->so->user_list(g->src, &users, nusers, &g->err);
  for (size_t i = 0; i < *nusers && !rc; i++) rc = g->to->user_put(g->dst, &users[i], true, &g->err);
  if (!rc) rc = g->so->token_list(g->src, &toks, ntok, &g->err);
  for (size_t i = 0; i < *ntok && !rc; i++) rc = g->to->token_insert(g->dst, &toks[i], &g->err);
  for (size_t i = 0; i < *ngroups; i++) cf_store_group_release(&groups[i]);
  for (size_t i = 0; i < *nusers; i++) cf_store_user_release(&users[i]);
  for (size_t i = 0; i < *ntok; i++) cf_store_token_release(&toks[i]);
  cf_free(groups);
  cf_free(users);
  cf_free(toks);
  return rc;
}

/* ------------------------------------------------------------ CRM */

/* The text a unique field's value is claimed with (as src/crm/crm_records.c claims it). */
static const char *value_text(struct json_object *v) {
  if (!v) return NULL;
  if (json_object_is_type(v, json_type_string)) return json_object_get_string(v);
  const char *n = cf_json_number_text(v);
  return n ? n : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

/* The unique fields of a type, from the crm layer's JSON of the source's types. */
static struct json_object *unique_fields(struct json_object *types, const char *type) {
  struct json_object *items = NULL;
  if (json_object_is_type(types, json_type_array)) items = types;
  else if (!json_object_object_get_ex(types, "items", &items)) return NULL;
  for (size_t i = 0; i < json_object_array_length(items); i++) {
    struct json_object *t = json_object_array_get_idx(items, i), *name, *fields;
    if (json_object_object_get_ex(t, "name", &name) && !strcmp(json_object_get_string(name), type) &&
        json_object_object_get_ex(t, "fields", &fields))
      return fields;
  }
  return NULL;
}

static int copy_crm(struct mig *g, size_t *ntypes, size_t *ntriggers) {
  struct cf_store_record_type *types = NULL;
  struct cf_store_trigger *trig = NULL;
  struct cf_store_crm_timer *ct = NULL;
  size_t nct = 0;
  struct cf_crm *crm = NULL;
  struct json_object *tj = NULL;
  struct cf_buf b;
  cf_buf_init(&b);
  *ntypes = *ntriggers = 0;
  int rc = g->so->record_type_list(g->src, &types, ntypes, &g->err);
  for (size_t i = 0; i < *ntypes && !rc; i++) rc = g->to->record_type_put(g->dst, &types[i], &g->err);
  /* The source's types as the crm layer sees them (built-in ones included), for their unique fields. */
  if (!rc) rc = cf_crm_new(&crm, &g->err);
  if (!rc) rc = cf_crm_refresh(crm, g->so, g->src, &g->err);
  if (!rc) {
    cf_crm_types_json(crm, &b);
    if (!(tj = json_tokener_parse(b.data))) rc = cf_error_set(&g->err, CF_EINVAL, "the record types' JSON");
  }
  /* Records, with their unique values and history, by key. */
  for (size_t off = 0; !rc;) {
    struct cf_store_qsort s = {.field = "key"};
    struct cf_store_query q = {.entity = CF_STORE_RECORDS, .sort = &s, .nsort = 1, .offset = off, .limit = 500};
    struct cf_store_result r;
    memset(&r, 0, sizeof r);
    if ((rc = g->so->search(g->src, &q, &r, &g->err))) break;
    for (size_t i = 0; i < r.n && !rc; i++) {
      const struct cf_store_record *rec = &r.records[i];
      if ((rc = g->to->record_insert(g->dst, rec, &g->err))) break;
      g->copied_records++;
      struct json_object *fields = json_tokener_parse(rec->fields ? rec->fields : "{}");
      struct json_object *uf = unique_fields(tj, rec->type);
      for (size_t k = 0; uf && fields && k < json_object_array_length(uf) && !rc; k++) {
        struct json_object *f = json_object_array_get_idx(uf, k), *u, *name, *v;
        if (!json_object_object_get_ex(f, "unique", &u) || !json_object_get_boolean(u)) continue;
        if (!json_object_object_get_ex(f, "name", &name)) continue;
        if (!json_object_object_get_ex(fields, json_object_get_string(name), &v) || !v) continue;
        rc = g->to->record_unique(g->dst, rec->type, json_object_get_string(name), value_text(v), rec->key, &g->err);
      }
      json_object_put(fields);
      struct cf_store_record_change *ch = NULL;
      size_t nch = 0;
      if (!rc) rc = g->so->record_history(g->src, rec->key, &ch, &nch, &g->err);
      for (size_t k = 0; k < nch && !rc; k++) rc = g->to->record_change_append(g->dst, &ch[k], &g->err);
      if (!rc) g->copied_changes += nch;
      for (size_t k = 0; k < nch; k++) cf_store_record_change_release(&ch[k]);
      cf_free(ch);
    }
    size_t got = r.n;
    cf_store_result_release(&r);
    if (got < 500) break;
    off += got;
  }
  /* Triggers (same keys), then their enrollments: the store tells how many a trigger made for a
   * record, not which instances; those are the trigger's process's instances started with the
   * record's key (recordKey), as src/crm/crm_triggers.c starts them. */
  if (!rc) rc = g->so->trigger_list(g->src, &trig, ntriggers, &g->err);
  for (size_t i = 0; i < *ntriggers && !rc; i++) {
    const struct cf_store_trigger *t = &trig[i];
    if ((rc = g->to->trigger_insert(g->dst, t, &g->err))) break;
    struct json_object *def = json_tokener_parse(t->definition ? t->definition : "{}"), *pid = NULL;
    const char *process_id =
        def && json_object_object_get_ex(def, "processDefinitionId", &pid) ? json_object_get_string(pid) : NULL;
    for (size_t off = 0; !rc;) {
      struct cf_store_qvalue tv = {.is_text = true, .text = t->record_type};
      struct cf_store_qcond c = {.field = "type", .op = CF_STORE_EQ, .values = &tv, .nvalues = 1};
      struct cf_store_query q = {.entity = CF_STORE_RECORDS, .conds = &c, .nconds = 1, .offset = off, .limit = 500};
      struct cf_store_result r;
      memset(&r, 0, sizeof r);
      if ((rc = g->so->search(g->src, &q, &r, &g->err))) break;
      for (size_t k = 0; k < r.n && !rc; k++) {
        size_t count = 0;
        bool active = false;
        if ((rc = g->so->enrollment_find(g->src, t->key, r.records[k].key, &count, &active, &g->err)) || !count)
          continue;
        /* The instances of the process with that recordKey. */
        struct cf_store_result ir;
        memset(&ir, 0, sizeof ir);
        size_t found = 0;
        if (process_id) {
          char text[48];
          snprintf(text, sizeof text, "\"%" PRIu64 "\"", r.records[k].key);
          struct cf_store_qvalue v[2] = {{.is_text = true, .text = process_id}, {.is_text = true, .text = text}};
          struct cf_store_qcond ic[2] = {{.field = "process_id", .op = CF_STORE_EQ, .values = &v[0], .nvalues = 1},
                                         {.field = "var:recordKey", .op = CF_STORE_EQ, .values = &v[1], .nvalues = 1}};
          struct cf_store_qsort s = {.field = "key"};
          struct cf_store_query iq = {.entity = CF_STORE_INSTANCES, .conds = ic, .nconds = 2, .sort = &s, .nsort = 1,
                                      .limit = count};
          if ((rc = g->so->search(g->src, &iq, &ir, &g->err))) break;
          found = ir.n;
        }
        for (size_t e = 0; e < count && !rc; e++) {
          uint64_t ik = e < found ? ir.instances[e].key : 0;
          int64_t at = e < found ? ir.instances[e].started_ms : t->created_ms;
          rc = g->to->enrollment_insert(g->dst, t->key, r.records[k].key, ik, at, &g->err);
          if (!rc) g->copied_enrollments++;
        }
        cf_store_result_release(&ir);
      }
      size_t got = r.n;
      cf_store_result_release(&r);
      if (got < 500) break;
      off += got;
    }
    json_object_put(def);
  }
  if (!rc) rc = g->so->crm_timers_due(g->src, INT64_MAX, (size_t)1 << 30, &ct, &nct, &g->err);
  for (size_t i = 0; i < nct && !rc; i++) rc = g->to->crm_timer_set(g->dst, &ct[i], &g->err);
  /* The crm layer's named state: crm.gen, and a round-robin position per group. */
  struct cf_store_group *groups = NULL;
  size_t ngroups = 0;
  if (!rc) rc = g->so->group_list(g->src, &groups, &ngroups, &g->err);
  for (size_t i = 0; i <= ngroups && !rc; i++) {
    char name[512];
    if (i == ngroups) snprintf(name, sizeof name, "crm.gen");
    else snprintf(name, sizeof name, "assign.rr.%s", groups[i].name);
    char *v = NULL;
    rc = g->so->crm_state_get(g->src, name, &v, &g->err);
    if (!rc && v) rc = g->to->crm_state_put(g->dst, name, v, &g->err);
    cf_free(v);
  }
  for (size_t i = 0; i < ngroups; i++) cf_store_group_release(&groups[i]);
  cf_free(groups);
  for (size_t i = 0; i < nct; i++) cf_store_crm_timer_release(&ct[i]);
  cf_free(ct);
  for (size_t i = 0; i < *ntriggers; i++) cf_store_trigger_release(&trig[i]);
  cf_free(trig);
  for (size_t i = 0; i < *ntypes; i++) cf_store_record_type_release(&types[i]);
  cf_free(types);
  json_object_put(tj);
  cf_buf_release(&b);
  if (crm) cf_crm_free(crm);
  return rc;
}

/* ------------------------------------------------------------ buffered messages */

/* Every buffered message, expired ones too (the target's engine expires them as the source's
 * would), with the same key, and its correlation marks: a process it was correlated to does not
 * take it again on the target. */
static int copy_messages(struct mig *g) {
  int rc = CF_OK;
  for (uint64_t after = 0; !rc;) {
    struct cf_store_message *m = NULL;
    size_t n = 0;
    if ((rc = g->so->message_list(g->src, after, 500, &m, &n, &g->err))) break;
    for (size_t i = 0; i < n && !rc; i++) {
      if ((rc = g->to->message_insert(g->dst, &m[i], &g->err))) break;
      g->copied_messages++;
      for (size_t k = 0; k < m[i].ncorrelated && !rc; k++) {
        bool already = false;
        rc = g->to->message_correlated(g->dst, m[i].key, m[i].correlated[k], &already, true, &g->err);
        if (!rc) g->copied_marks++;
      }
    }
    if (n) after = m[n - 1].key;
    for (size_t i = 0; i < n; i++) cf_store_message_release(&m[i]);
    cf_free(m);
    if (n < 500) break;
  }
  return rc;
}

/* ------------------------------------------------------------ the command */

/* Whether the target holds anything. */
static int target_empty(struct mig *g, bool *empty, const char **what) {
  *empty = true;
  struct counts c;
  int rc = count_all(g->to, g->dst, &c, &g->err);
  if (rc) return rc;
  if (c.definitions) *what = "process definitions";
  else if (c.inst[0] + c.inst[1] + c.inst[2]) *what = "process instances";
  else if (c.records) *what = "records";
  else if (c.messages) *what = "buffered messages";
  if (*what) {
    *empty = false;
    return CF_OK;
  }
  size_t n = 0;
  struct cf_store_token *t = NULL;
  struct cf_store_user *u = NULL;
  struct cf_store_group *gr = NULL;
  struct cf_store_record_type *rt = NULL;
  struct cf_store_trigger *tr = NULL;
  if (!(rc = g->to->token_list(g->dst, &t, &n, &g->err)) && n) *what = "tokens";
  for (size_t i = 0; i < n; i++) cf_store_token_release(&t[i]);
  cf_free(t);
  if (!rc && !*what && !(rc = g->to->user_list(g->dst, &u, &n, &g->err)) && n) *what = "users";
  if (u) {
    for (size_t i = 0; i < n; i++) cf_store_user_release(&u[i]);
    cf_free(u);
  }
  if (!rc && !*what && !(rc = g->to->group_list(g->dst, &gr, &n, &g->err)) && n) *what = "groups";
  if (gr) {
    for (size_t i = 0; i < n; i++) cf_store_group_release(&gr[i]);
    cf_free(gr);
  }
  if (!rc && !*what && !(rc = g->to->record_type_list(g->dst, &rt, &n, &g->err)) && n) *what = "record types";
  if (rt) {
    for (size_t i = 0; i < n; i++) cf_store_record_type_release(&rt[i]);
    cf_free(rt);
  }
  if (!rc && !*what && !(rc = g->to->trigger_list(g->dst, &tr, &n, &g->err)) && n) *what = "triggers";
  if (tr) {
    for (size_t i = 0; i < n; i++) cf_store_trigger_release(&tr[i]);
    cf_free(tr);
  }
  *empty = !*what;
  return rc;
}

static void print_counts(const char *label, const struct counts *c) {
  printf("%-7s instances active %" PRIu64 ", completed %" PRIu64 ", terminated %" PRIu64 "; jobs %" PRIu64
         "; user tasks %" PRIu64 "; incidents %" PRIu64 "; definitions %" PRIu64 "; records %" PRIu64
         "; messages %" PRIu64 "\n",
         label, c->inst[0], c->inst[1], c->inst[2], c->jobs, c->tasks, c->incidents, c->definitions, c->records,
         c->messages);
}

int cf_cli_migrate(int argc, char **argv) {
  struct cf_cli_opt opts[] = {{"--from", true, NULL}, {"--to", true, NULL}};
  struct cf_cli_args a = {.cmd = "migrate", .usage = usage};
  int rc = cf_cli_args_parse(&a, argc, argv, opts, 2, 0, 0);
  if (rc == CF_CLI_HELP) return 0;
  if (rc) return rc;
  if (!opts[0].value || !opts[1].value) return cf_cli_usage_error(&a, "--from and --to are both needed");
  const char *from = loc(opts[0].value), *to = loc(opts[1].value);
  if (!strcmp(from, to)) return cf_cli_usage_error(&a, "--from and --to name the same database");
  struct mig g;
  memset(&g, 0, sizeof g);
  cf_error_clear(&g.err);
  /* The source must exist: opening a missing SQLite file would create it. */
  if (strncmp(from, "postgres://", 11) && strncmp(from, "postgresql://", 13)) {
    FILE *f = fopen(from, "rb");
    if (!f) return cf_cli_refuse(&a, "no database at %s", from);
    fclose(f);
  }
  if (cf_store_open(from, 0, &g.so, &g.src, &g.err))
    return cf_cli_refuse(&a, "cannot open the source %s: %s", from, g.err.msg);
  if (cf_store_open(to, 0, &g.to, &g.dst, &g.err)) {
    g.so->close(g.src);
    return cf_cli_refuse(&a, "cannot open the target %s: %s", to, g.err.msg);
  }
  int status = 1;
  bool src_tx = false, dst_tx = false;
  bool empty = false;
  const char *what = NULL;
  size_t ndefs = 0, ntok = 0, nusers = 0, ngroups = 0, ntypes = 0, ntriggers = 0;
  uint64_t next = 0, first = 0;
  struct counts cs, ct;
  if ((rc = target_empty(&g, &empty, &what))) goto fail;
  if (!empty) {
    cf_cli_refuse(&a, "the target %s is not empty (it holds %s): migrate copies into an empty database only", to, what);
    goto out;
  }
  /* The source in one transaction, rolled back at the end: a consistent read, nothing written. The
   * key it reserves tells its counter (and is given back by the rollback). */
  if ((rc = g.so->begin(g.src, &g.err))) goto fail;
  src_tx = true;
  if ((rc = g.so->reserve_keys(g.src, 1, &next, &g.err))) goto fail;
  if ((rc = count_all(g.so, g.src, &cs, &g.err))) goto fail;
  if ((rc = g.to->begin(g.dst, &g.err))) goto fail;
  dst_tx = true;
  if ((rc = copy_definitions(&g, &ndefs))) goto fail;
  if ((rc = copy_instances(&g))) goto fail;
  if ((rc = copy_principals(&g, &ntok, &nusers, &ngroups))) goto fail;
  if ((rc = copy_crm(&g, &ntypes, &ntriggers))) goto fail;
  if ((rc = copy_messages(&g))) goto fail;
  /* The key counter: the target's next key is the source's. */
  if ((rc = g.to->reserve_keys(g.dst, 1, &first, &g.err))) goto fail;
  if (first + 1 < next && (rc = g.to->reserve_keys(g.dst, next - first - 1, &first, &g.err))) goto fail;
  if ((rc = g.to->commit(g.dst, &g.err))) {
    dst_tx = false;
    goto fail;
  }
  dst_tx = false;
  if ((rc = count_all(g.to, g.dst, &ct, &g.err))) goto fail;
  printf("migrated %s to %s: %zu definitions, %zu instances (%zu history events), %zu tokens, %zu users, %zu groups,"
         " %zu record types, %zu records (%zu changes), %zu triggers (%zu enrollments), %zu buffered messages"
         " (%zu correlation marks); next key %" PRIu64 "\n",
         from, to, ndefs, g.copied_instances, g.copied_events, ntok, nusers, ngroups, ntypes, g.copied_records,
         g.copied_changes, ntriggers, g.copied_enrollments, g.copied_messages, g.copied_marks, next);
  print_counts("source:", &cs);
  print_counts("target:", &ct);
  if (memcmp(&cs, &ct, sizeof cs)) {
    cf_cli_refuse(&a, "the counts differ (above)");
    goto out;
  }
  status = 0;
  goto out;
fail:
  cf_cli_refuse(&a, "%s", g.err.msg[0] ? g.err.msg : cf_strerror(rc));
  if (dst_tx) cf_cli_errorf("migrate: nothing was written to %s", to);
out:
  if (dst_tx) g.to->rollback(g.dst);
  if (src_tx) g.so->rollback(g.src);
  for (size_t i = 0; i < g.nmodels; i++) cf_bpmn_model_free(g.models[i].m);
  cf_free(g.models);
  for (size_t i = 0; i < g.ntimers; i++) cf_store_timer_release(&g.timers[i]);
  cf_free(g.timers);
  g.to->close(g.dst);
  g.so->close(g.src);
  return status;
}
