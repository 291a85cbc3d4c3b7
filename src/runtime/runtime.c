/*
 * The runtime (cf_runtime.h): operations, the compiled-model and instance
 * caches, and persisting what one engine call did.
 *
 * Every engine call is followed at once by a write of the instance's new
 * state, its side rows and its history events, inside the operation's
 * transaction (or savepoint), so that the store's queries made by routing
 * later in the same operation (subscriptions, child instances) see the
 * current rows. An operation that fails is undone whole: its savepoint or
 * transaction is rolled back, the instances it touched are dropped from
 * the cache (their loaded state is ahead of the store), and so is the key
 * block (its reservation may have been rolled back with it).
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/cf_alloc.h"
#include "base/cf_json.h"
#include "base/cf_schedule.h"
#include "runtime/runtime_int.h"

#define KEY_BLOCK_MIN 16   /* a short-lived process (one CLI command) wastes few keys */
#define KEY_BLOCK_MAX 1024 /* a busy one reserves rarely */
#define KEY_AHEAD 8
#define CONFLICT_RETRIES 8

/* ================================================================ basics */

static int64_t system_ms(void *arg) {
  (void)arg;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cf_runtime_now(const struct cf_runtime *rt) { return rt->clock_ms(rt->clock_arg); }

static int oom(struct cf_error *err) { return cf_error_set(err, CF_ENOMEM, "out of memory"); }

/* Reserves a new key block (inside the operation's transaction). */
static int keys_reserve(struct cf_runtime *rt, uint64_t n, struct cf_error *err) {
  uint64_t first;
  int rc = rt->ops->reserve_keys(rt->st, n, &first, err);
  if (rc) return rc;
  rt->key_next = first;
  rt->key_end = first + n;
  return CF_OK;
}

/* The next block: twice the last, within bounds. */
static uint64_t key_block(struct cf_runtime *rt) {
  rt->key_block = rt->key_block ? rt->key_block * 2 : KEY_BLOCK_MIN;
  if (rt->key_block > KEY_BLOCK_MAX) rt->key_block = KEY_BLOCK_MAX;
  return rt->key_block;
}

static int keys_ensure(struct cf_runtime *rt, struct cf_error *err) {
  if (rt->key_end - rt->key_next >= KEY_AHEAD) return CF_OK;
  return keys_reserve(rt, key_block(rt), err);
}

uint64_t rt_next_key(void *arg) {
  struct cf_runtime *rt = arg;
  if (rt->key_next == rt->key_end) {
    struct cf_error e;
    cf_error_clear(&e);
    if (keys_reserve(rt, key_block(rt), &e)) {
      /* No error path here: hand out keys that are never stored (the operation fails after the call). */
      rt->key_failed = true;
      return UINT64_MAX - rt->key_poison++;
    }
  }
  return rt->key_next++;
}

struct cf_engine_env rt_env(struct cf_runtime *rt) {
  struct cf_engine_env env = {.now_ms = rt->now_ms, .next_key = rt_next_key, .key_arg = rt};
  return env;
}

char *rt_value_json(const struct cf_feel_value *v) {
  if (!v) return NULL;
  struct cf_buf b;
  cf_buf_init(&b);
  if (cf_feel_write_json(v, &b) || b.oom) {
    cf_buf_release(&b);
    return NULL;
  }
  return cf_buf_detach(&b);
}

bool rt_active(const struct rt_inst *ri) { return cf_engine_instance_state(ri->inst) == CF_ENGINE_ACTIVE; }

const char *rt_process_id(const struct rt_inst *ri) { return ri->m->process_id; }

/* ================================================================ models */

static void model_free(struct rt_model *m) {
  if (!m) return;
  cf_free(m->process_id);
  cf_bpmn_model_free(m->model);
  cf_free(m);
}

/* Compiles a stored definition (its resource's XML). */
static int model_compile(struct cf_runtime *rt, const struct cf_store_definition *d, struct rt_model **out,
                         struct cf_error *err) {
  struct cf_bpmn_problems probs;
  cf_bpmn_problems_init(&probs);
  struct cf_bpmn_model *bm = cf_bpmn_parse(d->xml, d->xml_len, d->resource_name, &probs);
  int32_t p = bm ? cf_bpmn_find_process(bm, d->process_id) : -1;
  if (!bm || p < 0) {
    int rc = cf_error_set(err, CF_EINVAL, "the stored definition %s version %d (key %llu) no longer compiles: %s",
                          d->process_id, d->version, (unsigned long long)d->key,
                          probs.count ? probs.items[0].message : "its process is missing");
    cf_bpmn_problems_release(&probs);
    cf_bpmn_model_free(bm);
    return rc;
  }
  cf_bpmn_problems_release(&probs);
  struct rt_model *m = cf_calloc(1, sizeof *m);
  if (!m || !(m->process_id = cf_strdup(d->process_id)) ||
      !cf_grow((void **)&rt->models, &rt->capmodels, rt->nmodels, sizeof *rt->models)) {
    if (m) cf_free(m->process_id);
    cf_free(m);
    cf_bpmn_model_free(bm);
    return oom(err);
  }
  m->def_key = d->key;
  m->version = d->version;
  m->deployed_ms = d->deployed_ms;
  m->model = bm;
  m->process = (uint32_t)p;
  m->op = rt->op_id;
  rt->models[rt->nmodels++] = m;
  *out = m;
  return CF_OK;
}

static int model_get_stored(struct cf_runtime *rt, const char *process_id, int32_t version,
                            const char *version_tag, struct rt_model **out, struct cf_error *err);

/* Forgets the latest definitions: another transaction may deploy. */
static void latest_forget(struct cf_runtime *rt) { rt->nlatest = 0; }

static struct rt_model *model_cached(struct cf_runtime *rt, uint64_t def_key) {
  for (size_t i = 0; i < rt->nmodels; i++)
    if (rt->models[i]->def_key == def_key) return rt->models[i];
  return NULL;
}

int rt_model_by_key(struct cf_runtime *rt, uint64_t def_key, struct rt_model **out, struct cf_error *err) {
  if ((*out = model_cached(rt, def_key))) return CF_OK;
  struct cf_store_definition d;
  int rc = rt->ops->definition_by_key(rt->st, def_key, &d, err);
  if (rc) return rc;
  rc = model_compile(rt, &d, out, err);
  cf_store_definition_release(&d);
  return rc;
}

int rt_model_get(struct cf_runtime *rt, const char *process_id, int32_t version, const char *version_tag,
                 struct rt_model **out, struct cf_error *err) {
  bool latest = version == 0 && !version_tag;
  if (latest)
    for (size_t i = 0; i < rt->nlatest; i++)
      if (!strcmp(rt->latest[i]->process_id, process_id)) {
        *out = rt->latest[i];
        return CF_OK;
      }
  int rc = model_get_stored(rt, process_id, version, version_tag, out, err);
  if (!rc && latest && cf_grow((void **)&rt->latest, &rt->caplatest, rt->nlatest, sizeof *rt->latest))
    rt->latest[rt->nlatest++] = *out;
  return rc;
}

static int model_get_stored(struct cf_runtime *rt, const char *process_id, int32_t version, const char *version_tag,
                            struct rt_model **out, struct cf_error *err) {
  struct cf_store_definition d;
  /* The definition row tells the key; the XML is compiled once per key. */
  int rc = rt->ops->definition_get(rt->st, process_id, version, version_tag, &d, err);
  if (rc) return rc;
  if ((*out = model_cached(rt, d.key))) {
    cf_store_definition_release(&d);
    return CF_OK;
  }
  rc = model_compile(rt, &d, out, err);
  cf_store_definition_release(&d);
  return rc;
}

/* ================================================================ the instance cache */

static size_t slot_of(const struct cf_runtime *rt, uint64_t key) {
  uint64_t h = key * 0x9E3779B97F4A7C15ull;
  return (size_t)(h >> 20) & (rt->nslots - 1);
}

static struct rt_inst *cache_find(struct cf_runtime *rt, uint64_t key) {
  for (size_t i = slot_of(rt, key);; i = (i + 1) & (rt->nslots - 1)) {
    if (!rt->slots[i]) return NULL;
    if (rt->slots[i]->key == key) return rt->slots[i];
  }
}

static void inst_free(struct rt_inst *ri) {
  if (!ri) return;
  cf_free(ri->jobs_written);
  cf_engine_instance_free(ri->inst);
  cf_free(ri->business_key);
  cf_free(ri);
}

/* Removes the entry at slot i (backward-shift deletion keeps probe chains whole). */
static void cache_remove_at(struct cf_runtime *rt, size_t i) {
  inst_free(rt->slots[i]);
  rt->slots[i] = NULL;
  rt->count--;
  size_t mask = rt->nslots - 1;
  for (size_t j = (i + 1) & mask; rt->slots[j]; j = (j + 1) & mask) {
    size_t home = slot_of(rt, rt->slots[j]->key);
    /* Move j back to i if its home is not in (i, j]. */
    bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!between) {
      rt->slots[i] = rt->slots[j];
      rt->slots[j] = NULL;
      i = j;
    }
  }
}

static bool cache_put(struct cf_runtime *rt, struct rt_inst *ri) {
  if ((rt->count + 1) * 2 > rt->nslots) return false; /* full: never during an operation (trimmed after) */
  size_t i = slot_of(rt, ri->key);
  while (rt->slots[i]) i = (i + 1) & (rt->nslots - 1);
  rt->slots[i] = ri;
  rt->count++;
  return true;
}

/* Drops the entries touched by operations since first_op (their state is ahead of the store). */
static void cache_drop_since(struct cf_runtime *rt, uint64_t first_op) {
  for (size_t i = 0; i < rt->nslots;) {
    if (rt->slots[i] && rt->slots[i]->op >= first_op) cache_remove_at(rt, i); /* re-check slot i */
    else i++;
  }
}

/* Notes that the running operation uses ri (for cache_trim). */
static void touch(struct cf_runtime *rt, struct rt_inst *ri) {
  if (ri->op == rt->op_id) return;
  ri->op = rt->op_id;
  if (cf_grow((void **)&rt->touched, &rt->captouched, rt->ntouched, sizeof *rt->touched))
    rt->touched[rt->ntouched++] = ri->key;
}

static void cache_remove_key(struct cf_runtime *rt, uint64_t key) {
  for (size_t i = slot_of(rt, key);; i = (i + 1) & (rt->nslots - 1)) {
    if (!rt->slots[i]) return;
    if (rt->slots[i]->key == key) {
      cache_remove_at(rt, i);
      return;
    }
  }
}

/* After an operation: ended instances leave the cache, and it shrinks to its bound. */
static void cache_trim(struct cf_runtime *rt) {
  for (size_t k = 0; k < rt->ntouched; k++) {
    struct rt_inst *ri = cache_find(rt, rt->touched[k]);
    if (ri && !rt_active(ri)) cache_remove_key(rt, ri->key);
  }
  rt->ntouched = 0;
  /* Over the bound: drop the least recently used (a scan; it happens once per many operations). */
  if (rt->count <= rt->cache_max) return;
  uint64_t cut = rt->op_id;
  size_t excess = rt->count - rt->cache_max + rt->cache_max / 4;
  /* Find an op threshold: drop entries older than the op of the excess-th oldest (approximate by halving). */
  uint64_t lo = 0, hi = cut;
  while (lo + 1 < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    size_t older = 0;
    for (size_t i = 0; i < rt->nslots; i++)
      if (rt->slots[i] && rt->slots[i]->op < mid) older++;
    if (older >= excess) hi = mid;
    else lo = mid;
  }
  for (size_t i = 0; i < rt->nslots;) {
    if (rt->slots[i] && rt->slots[i]->op < hi && rt->slots[i]->op != rt->op_id) cache_remove_at(rt, i);
    else i++;
  }
}

static int inst_new(struct rt_model *m, struct cf_engine_instance *inst, uint64_t parent_key,
                    const char *business_key, int64_t started_ms, int64_t row_version, struct rt_inst **out) {
  struct rt_inst *ri = cf_calloc(1, sizeof *ri);
  if (!ri || (business_key && !(ri->business_key = cf_strdup(business_key)))) {
    cf_free(ri);
    return CF_ENOMEM;
  }
  ri->key = cf_engine_instance_key(inst);
  ri->inst = inst;
  ri->m = m;
  ri->parent_key = parent_key;
  ri->started_ms = started_ms;
  ri->row_version = row_version;
  *out = ri;
  return CF_OK;
}

int rt_load(struct cf_runtime *rt, uint64_t key, struct rt_inst **out, struct cf_error *err) {
  struct rt_inst *ri = cache_find(rt, key);
  if (ri && ri->checked_tx != rt->tx_id) {
    /*
     * Cached by an earlier transaction: another process (a CLI command, a worker, another node) may
     * have moved the instance on since. A write from a stale copy would lose on the row version, but
     * decisions that write nothing (a subscription or timer it does not know yet, the variables to
     * hand a worker) would go wrong silently; so the copy is checked once per transaction.
     */
    int64_t v;
    int rc = rt->ops->instance_version(rt->st, key, &v, err);
    if (rc && rc != CF_ENOTFOUND) return rc;
    if (rc == CF_OK && v == ri->row_version) {
      ri->checked_tx = rt->tx_id;
    } else if (ri->op == rt->op_id) {
      /* Held by this operation further up: not dropped under its holder; the operation runs again. */
      rt->conflict = true;
      return cf_error_set(err, CF_ECONFLICT, "instance %llu changed in the database meanwhile",
                          (unsigned long long)key);
    } else {
      cf_error_clear(err);
      cache_remove_key(rt, key);
      ri = NULL;
    }
  }
  if (ri) {
    touch(rt, ri);
    *out = ri;
    return CF_OK;
  }
  struct cf_store_instance row;
  int rc = rt->ops->instance_get(rt->st, key, &row, err);
  if (rc) return rc;
  struct rt_model *m;
  rc = rt_model_by_key(rt, row.definition_key, &m, err);
  struct cf_engine_instance *inst = NULL;
  if (!rc) {
    inst = cf_engine_instance_load(m->model, row.engine_state, row.engine_state_len, err);
    if (!inst) {
      char why[sizeof err->msg];
      snprintf(why, sizeof why, "%s", err->msg);
      rc = cf_error_set(err, err->code ? err->code : CF_EINVAL, "instance %llu: its stored state cannot be read: %s",
                        (unsigned long long)key, why);
    }
  }
  if (!rc && (rc = inst_new(m, inst, row.parent_key, row.business_key, row.started_ms, row.row_version, &ri))) {
    cf_engine_instance_free(inst);
    oom(err);
  }
  cf_store_instance_release(&row);
  if (rc) return rc;
  if (!cache_put(rt, ri)) {
    /* The table is full mid-operation: grow it. */
    size_t n = rt->nslots * 2;
    struct rt_inst **old = rt->slots, **slots = cf_calloc(n, sizeof *slots);
    if (!slots) {
      inst_free(ri);
      return oom(err);
    }
    size_t on = rt->nslots;
    rt->slots = slots;
    rt->nslots = n;
    rt->count = 0;
    for (size_t i = 0; i < on; i++)
      if (old[i]) cache_put(rt, old[i]);
    cf_free(old);
    cache_put(rt, ri);
  }
  touch(rt, ri);
  ri->loaded_op = rt->op_id;
  ri->checked_tx = rt->tx_id;
  *out = ri;
  return CF_OK;
}

int rt_load_of(struct cf_runtime *rt, const char *what, uint64_t key, struct rt_inst **out,
               struct cf_error *err) {
  uint64_t ik;
  int rc = rt->ops->instance_of(rt->st, what, key, &ik, err);
  if (rc == CF_ENOTFOUND) {
    const char *name = !strcmp(what, "user_task") ? "user task" : what;
    return cf_error_set(err, CF_ENOTFOUND, "no %s %llu (it ended, or the key is wrong)", name,
                        (unsigned long long)key);
  }
  return rc ? rc : rt_load(rt, ik, out, err);
}

/* ================================================================ persisting an engine call */

struct rows_buf {
  struct cf_store_instance_rows rows;
  char **owned; /* JSON texts made for the rows */
  size_t nowned, capowned;
};

static char *rows_own(struct rows_buf *rb, char *s) {
  if (!s) return NULL;
  if (!cf_grow((void **)&rb->owned, &rb->capowned, rb->nowned, sizeof *rb->owned)) {
    cf_free(s);
    return NULL;
  }
  rb->owned[rb->nowned++] = s;
  return s;
}

static void rows_release(struct rows_buf *rb) {
  cf_free(rb->rows.jobs);
  cf_free(rb->rows.tasks);
  cf_free(rb->rows.timers);
  cf_free(rb->rows.subs);
  cf_free(rb->rows.incidents);
  for (size_t i = 0; i < rb->nowned; i++) cf_free(rb->owned[i]);
  cf_free(rb->owned);
}

static const char *element_id(const struct cf_bpmn_model *m, uint32_t el) {
  return el < m->nelements ? m->elements[el].id : "?";
}

/* The side rows the engine state implies. Strings are borrowed from the engine or owned by rb. */
static int rows_build(const struct rt_inst *ri, struct rows_buf *rb) {
  memset(rb, 0, sizeof *rb);
  const struct cf_engine_instance *inst = ri->inst;
  const struct cf_bpmn_model *m = ri->m->model;
  struct cf_store_instance_rows *r = &rb->rows;
  size_t n;
  const struct cf_engine_job *jobs = cf_engine_jobs(inst, &n);
  if (n && !(r->jobs = cf_calloc(n, sizeof *r->jobs))) return CF_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    struct cf_store_job *j = &r->jobs[r->njobs++];
    j->key = jobs[i].key;
    j->instance_key = ri->key;
    j->element_instance_key = jobs[i].element_instance_key;
    j->element_id = (char *)element_id(m, jobs[i].element);
    j->type = jobs[i].type ? jobs[i].type : "";
    j->retries = jobs[i].retries;
    j->state = jobs[i].state;
    j->available_ms = jobs[i].available_at_ms;
    if (jobs[i].headers.type == CF_FEEL_CONTEXT && !(j->headers = rows_own(rb, rt_value_json(&jobs[i].headers))))
      return CF_ENOMEM;
    j->error_message = jobs[i].error_message;
  }
  const struct cf_engine_user_task *tasks = cf_engine_user_tasks(inst, &n);
  if (n && !(r->tasks = cf_calloc(n, sizeof *r->tasks))) return CF_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    struct cf_store_user_task *t = &r->tasks[r->ntasks++];
    t->key = tasks[i].key;
    t->instance_key = ri->key;
    t->element_instance_key = tasks[i].element_instance_key;
    t->element_id = (char *)element_id(m, tasks[i].element);
    t->assignee = tasks[i].assignee;
    if (tasks[i].candidate_groups.type == CF_FEEL_LIST &&
        !(t->candidate_groups = rows_own(rb, rt_value_json(&tasks[i].candidate_groups))))
      return CF_ENOMEM;
    if (tasks[i].candidate_users.type == CF_FEEL_LIST &&
        !(t->candidate_users = rows_own(rb, rt_value_json(&tasks[i].candidate_users))))
      return CF_ENOMEM;
    t->due_date = tasks[i].due_date;
    t->follow_up_date = tasks[i].follow_up_date;
    t->form_key = tasks[i].form_key;
    t->priority = tasks[i].priority;
    t->created_ms = tasks[i].created_ms;
  }
  const struct cf_engine_timer *timers = cf_engine_timers(inst, &n);
  if (n && !(r->timers = cf_calloc(n, sizeof *r->timers))) return CF_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    struct cf_store_timer *t = &r->timers[r->ntimers++];
    t->key = timers[i].key;
    t->instance_key = ri->key;
    t->definition_key = ri->m->def_key;
    t->element_id = (char *)element_id(m, timers[i].element);
    t->due_ms = timers[i].due_ms;
  }
  const struct cf_engine_subscription *subs = cf_engine_subscriptions(inst, &n);
  if (n && !(r->subs = cf_calloc(n, sizeof *r->subs))) return CF_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    struct cf_store_subscription *s = &r->subs[r->nsubs++];
    s->key = subs[i].key;
    s->instance_key = ri->key;
    s->element_id = (char *)element_id(m, subs[i].element);
    s->kind = subs[i].kind;
    s->name = subs[i].name ? subs[i].name : "";
    s->correlation_key = subs[i].kind == CF_ENGINE_SUB_MESSAGE
                             ? (subs[i].correlation_key ? subs[i].correlation_key : "")
                             : NULL;
  }
  const struct cf_engine_incident *incs = cf_engine_incidents(inst, &n);
  if (n && !(r->incidents = cf_calloc(n, sizeof *r->incidents))) return CF_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    struct cf_store_incident *c = &r->incidents[r->nincidents++];
    c->key = incs[i].key;
    c->instance_key = ri->key;
    c->element_instance_key = incs[i].element_instance_key;
    c->element_id = (char *)element_id(m, incs[i].element);
    c->type = incs[i].type;
    c->job_key = incs[i].job_key;
    c->message = incs[i].message;
    c->created_ms = incs[i].created_ms;
  }
  return CF_OK;
}

static void count_event(struct cf_runtime_stats *s, uint8_t kind) {
  s->events++;
  switch (kind) {
  case CF_ENGINE_EV_INSTANCE_COMPLETED: s->instances_completed++; break;
  case CF_ENGINE_EV_INSTANCE_TERMINATED: s->instances_terminated++; break;
  case CF_ENGINE_EV_JOB_COMPLETED: s->jobs_completed++; break;
  case CF_ENGINE_EV_JOB_FAILED: s->jobs_failed++; break;
  case CF_ENGINE_EV_USER_TASK_COMPLETED: s->user_tasks_completed++; break;
  case CF_ENGINE_EV_INCIDENT_CREATED: s->incidents_created++; break;
  default: break;
  }
}

static void stats_add(struct cf_runtime_stats *to, const struct cf_runtime_stats *from) {
  to->instances_started += from->instances_started;
  to->instances_completed += from->instances_completed;
  to->instances_terminated += from->instances_terminated;
  to->jobs_activated += from->jobs_activated;
  to->jobs_completed += from->jobs_completed;
  to->jobs_failed += from->jobs_failed;
  to->user_tasks_completed += from->user_tasks_completed;
  to->incidents_created += from->incidents_created;
  to->operations += from->operations;
  to->commits += from->commits;
  to->events += from->events;
}

void cf_runtime_stats(const struct cf_runtime *rt, struct cf_runtime_stats *out) { *out = rt->stats; }

/* Writes the history of one engine call: its events, the command's variables on the first. */
static int history_write(struct cf_runtime *rt, const struct rt_inst *ri, const struct cf_engine_output *out,
                         const char *vars_json, struct cf_error *err) {
  if (!out->count) return CF_OK;
  struct cf_store_event stack[32], *evs = out->count <= 32 ? stack : cf_calloc(out->count, sizeof *evs);
  if (!evs) return oom(err);
  const struct cf_bpmn_model *m = ri->m->model;
  for (size_t i = 0; i < out->count; i++) {
    const struct cf_engine_event *e = &out->events[i];
    struct cf_store_event *h = &evs[i];
    memset(h, 0, sizeof *h);
    h->instance_key = ri->key;
    h->at_ms = e->at_ms ? e->at_ms : rt->now_ms;
    h->kind = (char *)cf_engine_event_name(e->kind);
    h->key = e->key;
    if (e->element >= 0) {
      if (e->kind == CF_ENGINE_EV_FLOW_TAKEN)
        h->element_id = (uint32_t)e->element < m->nflows ? m->flows[e->element].id : NULL;
      else
        h->element_id = (uint32_t)e->element < m->nelements ? m->elements[e->element].id : NULL;
    }
    h->detail = e->detail;
    h->actor = rt->actor;
    count_event(&rt->st_op, e->kind);
    h->variables = i == 0 ? (char *)vars_json : e->variables;
  }
  int rc = rt->ops->history_append(rt->st, evs, out->count, err);
  if (evs != stack) cf_free(evs);
  return rc;
}

/* Stores ri's state after an engine call (insert when new), its history, and queues what to route. */
static int persist(struct cf_runtime *rt, struct rt_inst *ri, const struct cf_engine_output *out,
                   const struct cf_feel_value *cmd_vars, struct cf_error *err) {
  if (rt->key_failed) return cf_error_set(err, CF_EIO, "reserving keys failed: the operation is undone");
  cf_buf_reset(&rt->buf);
  if (cf_engine_instance_save(ri->inst, &rt->buf) || rt->buf.oom) return oom(err);
  struct rows_buf rb;
  int rc = rows_build(ri, &rb);
  char *vars = NULL, *cmd_json = NULL;
  const struct cf_feel_value *pv = cf_engine_variables(ri->inst, ri->key);
  if (!rc && !(vars = pv ? rt_value_json(pv) : cf_strdup("{}"))) rc = CF_ENOMEM;
  if (!rc && cmd_vars && cmd_vars->type == CF_FEEL_CONTEXT && !(cmd_json = rt_value_json(cmd_vars)))
    rc = CF_ENOMEM;
  if (rc) {
    rows_release(&rb);
    cf_free(vars);
    return oom(err);
  }
  enum cf_engine_state es = cf_engine_instance_state(ri->inst);
  size_t ninc;
  cf_engine_incidents(ri->inst, &ninc);
  struct cf_store_instance row = {
      .key = ri->key,
      .definition_key = ri->m->def_key,
      .process_id = ri->m->process_id,
      .version = ri->m->version,
      .state = es == CF_ENGINE_ACTIVE ? CF_STORE_ACTIVE
               : es == CF_ENGINE_COMPLETED ? CF_STORE_COMPLETED
                                           : CF_STORE_TERMINATED,
      .incident = ninc > 0,
      .business_key = ri->business_key,
      .parent_key = ri->parent_key,
      .started_ms = ri->started_ms,
      .ended_ms = es == CF_ENGINE_ACTIVE ? 0 : rt->now_ms,
      .row_version = ri->row_version ? ri->row_version : 1,
      .engine_state = rt->buf.data,
      .engine_state_len = rt->buf.len,
      .variables = vars,
  };
  unsigned kinds = (rb.rows.njobs ? CF_STORE_ROWS_JOBS : 0) | (rb.rows.ntasks ? CF_STORE_ROWS_TASKS : 0) |
                   (rb.rows.ntimers ? CF_STORE_ROWS_TIMERS : 0) | (rb.rows.nsubs ? CF_STORE_ROWS_SUBS : 0) |
                   (rb.rows.nincidents ? CF_STORE_ROWS_INCIDENTS : 0);
  unsigned all = CF_STORE_ROWS_JOBS | CF_STORE_ROWS_TASKS | CF_STORE_ROWS_TIMERS | CF_STORE_ROWS_SUBS |
                 CF_STORE_ROWS_INCIDENTS;
  rb.rows.known_empty = ri->rows_known ? all & ~ri->rows_written & ~kinds : 0;
  if (ri->rows_known) {
    rb.rows.prior_jobs_known = true;
    rb.rows.prior_jobs = ri->jobs_written;
    rb.rows.nprior_jobs = ri->njobs_written;
  }
  if (ri->row_version == 0) {
    rc = rt->ops->instance_insert(rt->st, &row, &rb.rows, err);
    if (!rc) ri->row_version = 1;
  } else {
    rc = rt->ops->instance_update(rt->st, &row, ri->row_version, &rb.rows, err);
    if (!rc) ri->row_version++;
    else if (rc == CF_ECONFLICT) rt->conflict = true;
  }
  rows_release(&rb);
  cf_free(vars);
  if (!rc) {
    /* What is stored now, for the next write. */
    size_t nj;
    const struct cf_engine_job *jobs = cf_engine_jobs(ri->inst, &nj);
    if (nj > ri->capjobs_written) {
      uint64_t *k = cf_realloc(ri->jobs_written, nj * sizeof *k);
      if (k) {
        ri->jobs_written = k;
        ri->capjobs_written = nj;
      }
    }
    if (nj <= ri->capjobs_written) {
      for (size_t i = 0; i < nj; i++) ri->jobs_written[i] = jobs[i].key;
      ri->njobs_written = nj;
      ri->rows_written = kinds;
      ri->rows_known = true;
    } else {
      ri->rows_known = false;
    }
  }
  if (!rc) rc = history_write(rt, ri, out, cmd_json, err);
  cf_free(cmd_json);
  if (!rc && rt_queue_output(rt, ri->key, out)) rc = oom(err);
  return rc;
}

int rt_apply(struct cf_runtime *rt, struct rt_inst *ri, const struct cf_engine_cmd *cmd, struct cf_error *err) {
  int rc = keys_ensure(rt, err);
  if (rc) return rc;
  struct cf_engine_output out;
  cf_engine_output_init(&out);
  struct cf_engine_env env = rt_env(rt);
  touch(rt, ri);
  rc = cf_engine_apply(ri->inst, cmd, &env, &out, err);
  if (rc == CF_OK) {
    rc = persist(rt, ri, &out, cmd->variables, err);
  } else if (rc != CF_ENOMEM && ri->loaded_op != rt->op_id) {
    /* A refusal by a copy kept from an earlier operation: another writer may have moved the
     * instance on since. Reload it and try again before believing the refusal. */
    rt->conflict = true;
    rc = CF_ECONFLICT;
  }
  cf_engine_output_release(&out);
  return rc;
}

int rt_adopt(struct cf_runtime *rt, struct cf_engine_instance *inst, struct rt_model *m, uint64_t parent_key,
             const char *business_key, const struct cf_engine_output *out, const struct cf_feel_value *vars,
             struct rt_inst **ri_out, struct cf_error *err) {
  struct rt_inst *ri;
  if (inst_new(m, inst, parent_key, business_key, rt->now_ms, 0, &ri)) {
    cf_engine_instance_free(inst);
    return oom(err);
  }
  ri->loaded_op = rt->op_id;
  ri->checked_tx = rt->tx_id;
  rt->st_op.instances_started++;
  if (cache_put(rt, ri)) touch(rt, ri);
  else {
    /* Not cached (full): it is stored all the same; keep it just for this call. */
    int rc = persist(rt, ri, out, vars, err);
    inst_free(ri);
    if (ri_out) *ri_out = NULL;
    return rc;
  }
  if (ri_out) *ri_out = ri;
  rt->last_adopted = cf_engine_instance_key(inst);
  return persist(rt, ri, out, vars, err);
}

int rt_start_event(struct cf_runtime *rt, struct rt_model *m, uint32_t element, const struct cf_feel_value *vars,
                   const char *business_key, struct cf_error *err) {
  int rc = keys_ensure(rt, err);
  if (rc) return rc;
  struct cf_engine_output out;
  cf_engine_output_init(&out);
  struct cf_engine_env env = rt_env(rt);
  if (vars && vars->type != CF_FEEL_CONTEXT) vars = NULL;
  struct cf_engine_instance *inst = cf_engine_start_event(m->model, m->process, (int32_t)element, vars, &env, &out, err);
  if (!inst) rc = err->code ? err->code : CF_EINVAL;
  else rc = rt_adopt(rt, inst, m, 0, business_key, &out, vars, NULL, err);
  cf_engine_output_release(&out);
  return rc;
}

/* ================================================================ operations */

/*
 * A transaction began: when another connection committed since this runtime last looked, the
 * instances it keeps in memory may be behind; a new tx_id makes rt_load check each against its row
 * version once. When nobody else wrote, they are current and nothing is checked.
 */
static int tx_started(struct cf_runtime *rt, struct cf_error *err) {
  bool wrote = true;
  int rc = rt->ops->others_wrote(rt->st, &wrote, err);
  if (rc) return rc;
  if (wrote) rt->tx_id++;
  return CF_OK;
}

static int run_op(struct cf_runtime *rt, cf_runtime_op_fn fn, void *arg, struct cf_error *err);
static int batch_split(struct cf_runtime *rt);

/* The batch cannot go on: every operation after this one fails, saying why. */
static void batch_died(struct cf_runtime *rt, const char *why) {
  rt->batch_dead = true;
  const char *w = why && *why ? why : "an I/O error";
  size_t n = strlen(w) < sizeof rt->dead_why - 1 ? strlen(w) : sizeof rt->dead_why - 1;
  memcpy(rt->dead_why, w, n);
  rt->dead_why[n] = '\0';
}

static void undo(struct cf_runtime *rt, uint64_t first_op) {
  cache_drop_since(rt, first_op);
  /* Definitions read in an undone operation may be gone (a deployment undone, its keys reused). */
  size_t k = 0;
  for (size_t i = 0; i < rt->nmodels; i++) {
    if (rt->models[i]->op >= first_op) model_free(rt->models[i]);
    else rt->models[k++] = rt->models[i];
  }
  rt->nmodels = k;
  latest_forget(rt);
  rt->key_next = rt->key_end = 0;
  rt_queue_clear(rt);
}

int cf_runtime_run(struct cf_runtime *rt, cf_runtime_op_fn fn, void *arg, struct cf_error *err) {
  return rt_run(rt, fn, arg, err);
}

int rt_run(struct cf_runtime *rt, cf_runtime_op_fn fn, void *arg, struct cf_error *err) {
  /* Called from inside an operation (the writer runs a function that calls the public API): part of
   * that operation, which routes, commits or undoes it whole. */
  if (rt->op_depth > 0) return fn(rt, arg, err);
  rt->op_depth++;
  int rc = run_op(rt, fn, arg, err);
  rt->op_depth--;
  return rc;
}

static int run_op(struct cf_runtime *rt, cf_runtime_op_fn fn, void *arg, struct cf_error *err) {
  for (int attempt = 0;; attempt++) {
    rt->now_ms = rt->clock_ms(rt->clock_arg);
    rt->op_id++;
    rt->conflict = false;
    rt->key_failed = false;
    memset(&rt->st_op, 0, sizeof rt->st_op);
    cf_error_clear(err);
    bool own = !rt->in_batch;
    if (rt->in_batch && rt->batch_dead)
      return cf_error_set(err, CF_EIO, "the batch was rolled back by the database after an error (%s)", rt->dead_why);
    if (own) latest_forget(rt);
    int rc = own ? rt->ops->begin(rt->st, err) : rt->ops->op_begin(rt->st, err);
    if (rc) return rc;
    if (own && (rc = tx_started(rt, err))) {
      rt->ops->rollback(rt->st);
      return rc;
    }
    rc = fn(rt, arg, err);
    if (rc == CF_OK) rc = rt_drain(rt, err);
    if (rc == CF_OK && rt->key_failed) rc = cf_error_set(err, CF_EIO, "reserving keys failed: the operation is undone");
    if (rc == CF_OK) {
      rt->st_op.operations = 1;
      if (own) {
        rc = rt->ops->commit(rt->st, err);
        if (rc) {
          undo(rt, rt->op_id);
        } else {
          rt->st_op.commits = 1;
          stats_add(&rt->stats, &rt->st_op);
        }
      } else {
        rc = rt->ops->op_end(rt->st, true, err);
        if (rc == CF_EIO) {
          batch_died(rt, err->msg);
          undo(rt, rt->batch_first_op);
        } else if (rc) {
          /* A write sent with the end was refused: the store undid the operation alone. A lost
           * race on an instance's row version (CF_ECONFLICT) runs it again, reloaded. */
          undo(rt, rt->op_id);
          if (rc == CF_ECONFLICT) rt->conflict = true;
        } else {
          stats_add(&rt->st_batch, &rt->st_op);
        }
      }
    } else {
      if (own) {
        rt->ops->rollback(rt->st);
      } else {
        struct cf_error e2;
        cf_error_clear(&e2);
        if (rt->ops->op_end(rt->st, false, &e2)) batch_died(rt, e2.msg);
      }
      undo(rt, rt->batch_dead ? rt->batch_first_op : rt->op_id);
    }
    cache_trim(rt);
    if (rc != CF_OK && !own && !rt->batch_dead && rt->ops->must_end && rt->ops->must_end(rt->st) &&
        attempt < CONFLICT_RETRIES) {
      /* Lost a lock wait to another node's batch while this one holds locks it may wait for: commit
       * what the batch holds, and run the operation again in a new transaction. */
      if (batch_split(rt) == CF_OK) continue;
      return rc;
    }
    if (rc == CF_ECONFLICT && rt->conflict && attempt < CONFLICT_RETRIES) continue; /* reloaded: try again */
    return rc;
  }
}

/* Commits the batch's operations so far and opens the next part (cf_runtime_batch_part). */
static int batch_split(struct cf_runtime *rt) {
  struct cf_error e2;
  cf_error_clear(&e2);
  int rc = rt->ops->commit(rt->st, &e2);
  if (rc) {
    batch_died(rt, e2.msg);
    undo(rt, rt->batch_first_op);
    return rc;
  }
  rt->st_batch.commits = 1;
  stats_add(&rt->stats, &rt->st_batch);
  memset(&rt->st_batch, 0, sizeof rt->st_batch);
  rt->batch_part++;
  rt->batch_first_op = rt->op_id + 1;
  latest_forget(rt);
  if ((rc = rt->ops->begin(rt->st, &e2)) == CF_OK && (rc = tx_started(rt, &e2)) != CF_OK) rt->ops->rollback(rt->st);
  if (rc) batch_died(rt, e2.msg); /* the parts before are durable; the rest of the batch fails */
  return rc;
}

unsigned cf_runtime_batch_part(const struct cf_runtime *rt) { return rt->batch_part; }

int cf_runtime_cached_definition(struct cf_runtime *rt, uint64_t instance_key, uint64_t *definition_key,
                                 int32_t *version) {
  struct rt_inst *ri = cache_find(rt, instance_key);
  if (!ri || !ri->m) return CF_ENOTFOUND;
  *definition_key = ri->m->def_key;
  *version = ri->m->version;
  return CF_OK;
}

int cf_runtime_batch_begin(struct cf_runtime *rt, struct cf_error *err) {
  if (rt->in_batch) return cf_error_set(err, CF_EINVAL, "a batch is already open");
  latest_forget(rt);
  int rc = rt->ops->begin(rt->st, err);
  if (rc) return rc;
  if ((rc = tx_started(rt, err))) {
    rt->ops->rollback(rt->st);
    return rc;
  }
  rt->in_batch = true;
  rt->batch_dead = false;
  rt->batch_part = 0;
  memset(&rt->st_batch, 0, sizeof rt->st_batch);
  rt->batch_first_op = rt->op_id + 1;
  return CF_OK;
}

int cf_runtime_batch_commit(struct cf_runtime *rt, struct cf_error *err) {
  if (!rt->in_batch) return cf_error_set(err, CF_EINVAL, "no batch is open");
  rt->in_batch = false;
  int rc;
  if (rt->batch_dead) {
    rt->ops->rollback(rt->st);
    rc = cf_error_set(err, CF_EIO, "the batch was rolled back by the database after an error (%s)", rt->dead_why);
  } else {
    rc = rt->ops->commit(rt->st, err);
  }
  if (rc) {
    undo(rt, rt->batch_first_op);
  } else {
    rt->st_batch.commits = 1;
    stats_add(&rt->stats, &rt->st_batch);
  }
  return rc;
}

void cf_runtime_batch_rollback(struct cf_runtime *rt) {
  if (!rt->in_batch) return;
  rt->in_batch = false;
  rt->ops->rollback(rt->st);
  undo(rt, rt->batch_first_op);
}

/* ================================================================ open, close */

int cf_runtime_open(const struct cf_runtime_opts *o, struct cf_runtime **out, struct cf_error *err) {
  *out = NULL;
  if (sodium_init() < 0) return cf_error_set(err, CF_EIO, "libsodium could not start");
  struct cf_runtime *rt = cf_calloc(1, sizeof *rt);
  if (!rt) return oom(err);
  rt->clock_ms = o->clock_ms ? o->clock_ms : system_ms;
  rt->clock_arg = o->clock_arg;
  rt->cache_max = o->cache_instances ? o->cache_instances : 4096;
  rt->nslots = 16;
  while (rt->nslots < rt->cache_max * 2 + 64) rt->nslots *= 2;
  cf_buf_init(&rt->buf);
  rt->slots = cf_calloc(rt->nslots, sizeof *rt->slots);
  if (!rt->slots || cf_runtime_set_actor(rt, o->actor ? o->actor : "runtime")) {
    cf_runtime_close(rt);
    return oom(err);
  }
  int rc = cf_store_open(o->db, o->store_flags, &rt->ops, &rt->st, err);
  if (rc) {
    cf_runtime_close(rt);
    return rc;
  }
  *out = rt;
  return CF_OK;
}

void cf_runtime_close(struct cf_runtime *rt) {
  if (!rt) return;
  if (rt->in_batch) cf_runtime_batch_rollback(rt);
  for (size_t i = 0; i < rt->nslots && rt->slots; i++) inst_free(rt->slots[i]);
  cf_free(rt->slots);
  for (size_t i = 0; i < rt->nmodels; i++) model_free(rt->models[i]);
  cf_free(rt->models);
  rt_queue_clear(rt);
  cf_free(rt->queue);
  cf_free(rt->touched);
  cf_free(rt->latest);
  cf_buf_release(&rt->buf);
  if (rt->st) rt->ops->close(rt->st);
  cf_free(rt->actor);
  cf_free(rt);
}

int cf_runtime_set_actor(struct cf_runtime *rt, const char *actor) {
  char *a = cf_strdup(actor ? actor : "runtime");
  if (!a) return CF_ENOMEM;
  cf_free(rt->actor);
  rt->actor = a;
  return CF_OK;
}

void cf_runtime_store(struct cf_runtime *rt, const struct cf_store_ops **ops, struct cf_store **store) {
  *ops = rt->ops;
  *store = rt->st;
}

/* ================================================================ deployments */

void cf_runtime_deployed_release(struct cf_runtime_deployed *d, size_t n) {
  for (size_t i = 0; i < n; i++) {
    cf_free(d[i].process_id);
    cf_free(d[i].resource_name);
  }
  cf_free(d);
}

struct deploy_arg {
  const char *name, *xml;
  size_t len;
  struct cf_bpmn_model *model;
  struct cf_runtime_deployed *out;
  size_t n;
};

static enum cf_schedule_kind schedule_kind(uint8_t timer_kind) {
  switch (timer_kind) {
  case CF_BPMN_TIMER_DATE: return CF_SCHEDULE_DATE;
  case CF_BPMN_TIMER_DURATION: return CF_SCHEDULE_DURATION;
  default: return CF_SCHEDULE_CYCLE;
  }
}

int64_t rt_start_timer_next(struct cf_runtime *rt, struct rt_model *m, uint32_t element, int64_t after_ms,
                            struct cf_error *err) {
  const struct cf_bpmn_element *e = &m->model->elements[element];
  char *text = rt_static_text(rt, &e->timer, err);
  if (!text) return -2;
  struct cf_schedule s;
  int rc = cf_schedule_parse(schedule_kind(e->timer_kind), text, strlen(text), m->deployed_ms, &s, err);
  cf_free(text);
  if (rc) return -2;
  /* The schedule counts from the deployment; a restart that missed firings fires them late, one by one. */
  for (size_t guard = 0; s.due_ms <= after_ms; guard++) {
    if (guard > 10000000 || !cf_schedule_advance(&s)) return -1;
  }
  return s.due_ms;
}

/*
 * A timer start event's timer key: derived from its definition and element,
 * in a range the key sequence never reaches, so that the timer of a replaced
 * version can be found again to remove it.
 */
static uint64_t start_timer_key(uint64_t def_key, uint32_t element) {
  return (UINT64_C(1) << 62) | (def_key << 16) | (element & 0xFFFF);
}

static bool is_timer_start(const struct cf_bpmn_element *e) {
  return e->type == CF_BPMN_START_EVENT && e->event == CF_BPMN_EVENT_TIMER;
}

/* Schedules the timer start events of a new latest version, and removes those of the one it replaces. */
static int schedule_start_timers(struct cf_runtime *rt, struct rt_model *m, uint64_t replaced_def,
                                 struct cf_error *err) {
  int rc = CF_OK;
  if (replaced_def) {
    struct rt_model *old;
    rc = rt_model_by_key(rt, replaced_def, &old, err);
    if (rc) return rc;
    const struct cf_bpmn_process *p = &old->model->processes[old->process];
    for (uint32_t i = 0; i < p->nelements && !rc; i++) {
      const struct cf_bpmn_element *e = &old->model->elements[p->elements[i]];
      if (!is_timer_start(e)) continue;
      struct cf_store_timer t = {.key = start_timer_key(old->def_key, p->elements[i]),
                                 .definition_key = old->def_key, .element_id = e->id, .due_ms = -1};
      rc = rt->ops->timer_start_set(rt->st, &t, err);
    }
  }
  const struct cf_bpmn_process *p = &m->model->processes[m->process];
  for (uint32_t i = 0; i < p->nelements && !rc; i++) {
    uint32_t el = p->elements[i];
    const struct cf_bpmn_element *e = &m->model->elements[el];
    if (!is_timer_start(e)) continue;
    int64_t due = rt_start_timer_next(rt, m, el, INT64_MIN, err);
    if (due == -2) {
      char why[sizeof err->msg];
      snprintf(why, sizeof why, "%s", err->msg);
      return cf_error_set(err, CF_EINVAL, "timer start event %s: %s", e->id, why);
    }
    struct cf_store_timer t = {.key = start_timer_key(m->def_key, el), .definition_key = m->def_key,
                               .element_id = e->id, .due_ms = due};
    rc = rt->ops->timer_start_set(rt->st, &t, err);
  }
  return rc;
}

static int deploy_op(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct deploy_arg *a = arg;
  latest_forget(rt);
  unsigned char hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(hash, (const unsigned char *)a->xml, a->len);
  char checksum[2 * sizeof hash + 1];
  sodium_bin2hex(checksum, sizeof checksum, hash, sizeof hash);
  const struct cf_bpmn_model *bm = a->model;
  uint64_t deployment_key = 0;
  int rc = CF_OK;
  for (uint32_t p = 0; p < bm->nprocesses && !rc; p++) {
    if (!bm->processes[p].executable) continue;
    const char *pid = bm->processes[p].id;
    struct cf_runtime_deployed *d = &a->out[a->n];
    memset(d, 0, sizeof *d);
    struct cf_store_definition latest;
    int lr = rt->ops->definition_get(rt->st, pid, 0, NULL, &latest, err);
    if (lr && lr != CF_ENOTFOUND) return lr;
    cf_error_clear(err);
    if (lr == CF_OK && !strcmp(latest.checksum, checksum)) {
      d->version = latest.version;
      d->definition_key = latest.key;
      d->deployment_key = latest.deployment_key;
      d->unchanged = true;
    } else {
      if (!deployment_key && (rc = rt->ops->reserve_keys(rt->st, 1, &deployment_key, err))) {
        if (lr == CF_OK) cf_store_definition_release(&latest);
        return rc;
      }
      uint64_t key;
      rc = rt->ops->reserve_keys(rt->st, 1, &key, err);
      struct cf_store_definition nd = {.key = key, .process_id = (char *)pid, .version = 0,
                                       .version_tag = bm->processes[p].version_tag,
                                       .deployment_key = deployment_key, .resource_name = (char *)a->name,
                                       .checksum = checksum, .xml = (char *)a->xml, .xml_len = a->len,
                                       .deployed_ms = rt->now_ms};
      if (!rc) rc = rt->ops->definition_insert(rt->st, &nd, err);
      struct rt_model *m = NULL;
      if (!rc) rc = rt_model_by_key(rt, key, &m, err);
      if (!rc) rc = schedule_start_timers(rt, m, lr == CF_OK ? latest.key : 0, err);
      d->version = nd.version;
      d->definition_key = key;
      d->deployment_key = deployment_key;
    }
    if (lr == CF_OK) cf_store_definition_release(&latest);
    if (!rc && (!(d->process_id = cf_strdup(pid)) || !(d->resource_name = cf_strdup(a->name)))) {
      cf_free(d->process_id);
      rc = oom(err);
    }
    if (!rc) a->n++;
  }
  latest_forget(rt);
  return rc;
}

int cf_runtime_deploy(struct cf_runtime *rt, const char *resource_name, const char *xml, size_t len,
                      struct cf_runtime_deployed **out, size_t *n, struct cf_bpmn_problems *problems,
                      struct cf_error *err) {
  *out = NULL;
  *n = 0;
  struct cf_bpmn_problems local;
  cf_bpmn_problems_init(&local);
  struct cf_bpmn_problems *probs = problems ? problems : &local;
  struct deploy_arg a = {.name = resource_name ? resource_name : "model.bpmn", .xml = xml, .len = len};
  a.model = cf_bpmn_parse(xml, len, a.name, probs);
  int rc;
  if (!a.model) {
    const struct cf_bpmn_problem *p = probs->count ? &probs->items[0] : NULL;
    rc = cf_error_set(err, CF_EINVAL, "%s is refused: %s%s%s%s (line %d)", a.name, p && p->element_id ? "element " : "",
                      p && p->element_id ? p->element_id : "", p && p->element_id ? ": " : "",
                      p ? p->message : "it is not a BPMN model", p ? p->line : 0);
  } else {
    size_t nexec = 0;
    for (uint32_t p = 0; p < a.model->nprocesses; p++) nexec += a.model->processes[p].executable;
    if (!nexec) {
      rc = cf_error_set(err, CF_EINVAL, "%s has no executable process (isExecutable=\"true\")", a.name);
    } else if (!(a.out = cf_calloc(nexec, sizeof *a.out))) {
      rc = oom(err);
    } else {
      rc = rt_run(rt, deploy_op, &a, err);
    }
  }
  cf_bpmn_model_free(a.model);
  cf_bpmn_problems_release(&local);
  if (rc) {
    cf_runtime_deployed_release(a.out, a.n);
    return rc;
  }
  *out = a.out;
  *n = a.n;
  return CF_OK;
}

/* ================================================================ commands */

struct start_arg {
  const char *process_id;
  int32_t version;
  const struct cf_feel_value *vars;
  const char *business_key;
  uint64_t key;
};

static int start_op(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct start_arg *a = arg;
  struct rt_model *m;
  int rc = rt_model_get(rt, a->process_id, a->version, NULL, &m, err);
  if (rc) return rc;
  if ((rc = keys_ensure(rt, err))) return rc;
  struct cf_engine_output out;
  cf_engine_output_init(&out);
  struct cf_engine_env env = rt_env(rt);
  struct cf_engine_instance *inst = cf_engine_start(m->model, m->process, -1, a->vars, &env, &out, err);
  if (!inst) {
    rc = err->code ? err->code : CF_EINVAL;
  } else {
    a->key = cf_engine_instance_key(inst);
    rc = rt_adopt(rt, inst, m, 0, a->business_key, &out, a->vars, NULL, err);
  }
  cf_engine_output_release(&out);
  return rc;
}

int cf_runtime_start(struct cf_runtime *rt, const char *process_id, int32_t version,
                     const struct cf_feel_value *variables, const char *business_key,
                     uint64_t *instance_key, struct cf_error *err) {
  if (variables && variables->type == CF_FEEL_NULL) variables = NULL;
  if (variables && variables->type != CF_FEEL_CONTEXT)
    return cf_error_set(err, CF_EINVAL, "the variables must be a JSON object");
  struct start_arg a = {process_id, version, variables, business_key, 0};
  int rc = rt_run(rt, start_op, &a, err);
  if (!rc && instance_key) *instance_key = a.key;
  return rc;
}

/* --- jobs */

void cf_runtime_jobs_release(struct cf_runtime_job *jobs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    cf_store_job_release(&jobs[i].job);
    cf_free(jobs[i].process_id);
    cf_free(jobs[i].variables);
  }
  cf_free(jobs);
}

struct activate_arg {
  const char *type, *worker;
  size_t max;
  int64_t timeout_ms;
  struct cf_runtime_job *out;
  size_t n;
};

static int activate_op(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct activate_arg *a = arg;
  struct cf_store_job *jobs = NULL;
  size_t n = 0;
  int rc = rt->ops->jobs_activate(rt->st, a->type, a->max, a->worker, rt->now_ms, rt->now_ms + a->timeout_ms,
                                  &jobs, &n, err);
  if (rc) return rc;
  if (n && !(a->out = cf_calloc(n, sizeof *a->out))) rc = oom(err);
  struct cf_store_event *hist = n && !rc ? cf_calloc(n, sizeof *hist) : NULL;
  if (n && !rc && !hist) rc = oom(err);
  for (size_t i = 0; i < n && !rc; i++) {
    struct rt_inst *ri;
    rc = rt_load(rt, jobs[i].instance_key, &ri, err);
    struct cf_feel_value vars;
    cf_feel_set_null(&vars);
    if (!rc && cf_engine_visible_variables(ri->inst, jobs[i].element_instance_key, &vars)) rc = oom(err);
    struct cf_runtime_job *j = &a->out[i];
    if (!rc && (!(j->variables = vars.type == CF_FEEL_CONTEXT ? rt_value_json(&vars) : cf_strdup("{}")) ||
                !(j->process_id = cf_strdup(rt_process_id(ri)))))
      rc = oom(err);
    if (!rc) {
      j->definition_key = ri->m->def_key;
      j->version = ri->m->version;
    }
    cf_feel_value_release(&vars);
    if (rc) break;
    j->job = jobs[i];
    memset(&jobs[i], 0, sizeof jobs[i]);
    a->n++;
    hist[i] = (struct cf_store_event){.instance_key = j->job.instance_key, .at_ms = rt->now_ms,
                                      .kind = "JOB_ACTIVATED", .key = j->job.key,
                                      .element_id = j->job.element_id, .detail = (char *)a->worker,
                                      .actor = rt->actor};
  }
  if (!rc && n) rc = rt->ops->history_append(rt->st, hist, n, err);
  rt->st_op.jobs_activated += a->n;
  rt->st_op.events += a->n;
  cf_free(hist);
  for (size_t i = 0; i < n; i++) cf_store_job_release(&jobs[i]);
  cf_free(jobs);
  if (rc) {
    cf_runtime_jobs_release(a->out, a->n);
    a->out = NULL;
    a->n = 0;
  }
  return rc;
}

int cf_runtime_jobs_activate(struct cf_runtime *rt, const char *type, size_t max, const char *worker,
                             int64_t timeout_ms, struct cf_runtime_job **out, size_t *n,
                             struct cf_error *err) {
  *out = NULL;
  *n = 0;
  if (!type || !*type) return cf_error_set(err, CF_EINVAL, "a job type is needed");
  if (!worker || !*worker) return cf_error_set(err, CF_EINVAL, "a worker name is needed");
  if (timeout_ms <= 0) return cf_error_set(err, CF_EINVAL, "the job timeout must be positive");
  struct activate_arg a = {.type = type, .worker = worker, .max = max ? max : 1, .timeout_ms = timeout_ms};
  int rc = rt_run(rt, activate_op, &a, err);
  if (rc) return rc;
  *out = a.out;
  *n = a.n;
  return CF_OK;
}

struct job_arg {
  struct cf_engine_cmd cmd;
  const char *worker;
  bool retries_first; /* incident resolve: give the job retries first */
  int32_t retries;
};

/*
 * The job's row: its instance, and its lease. A worker acting on a job must
 * hold its lease, or have held it last with no one else holding it now.
 */
static int job_op(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct job_arg *a = arg;
  struct cf_store_job j;
  int rc = rt->ops->job_get(rt->st, a->cmd.key, &j, err);
  if (rc == CF_ENOTFOUND)
    return cf_error_set(err, CF_ENOTFOUND, "no job %llu (it was completed or cancelled, or the key is wrong)",
                        (unsigned long long)a->cmd.key);
  if (rc) return rc;
  if (a->worker && j.worker && strcmp(j.worker, a->worker))
    rc = cf_error_set(err, CF_ECONFLICT, "job %llu is leased to worker '%s'%s, not to '%s'",
                      (unsigned long long)a->cmd.key, j.worker,
                      j.lease_until_ms > rt->now_ms ? "" : " (its lease expired, but it took the job last)",
                      a->worker);
  uint64_t ik = j.instance_key;
  cf_store_job_release(&j);
  if (rc) return rc;
  struct rt_inst *ri;
  if ((rc = rt_load(rt, ik, &ri, err))) return rc;
  return rt_apply(rt, ri, &a->cmd, err);
}

static int check_vars(const struct cf_feel_value **vars, struct cf_error *err) {
  if (*vars && (*vars)->type == CF_FEEL_NULL) *vars = NULL;
  if (*vars && (*vars)->type != CF_FEEL_CONTEXT)
    return cf_error_set(err, CF_EINVAL, "the variables must be a JSON object");
  return CF_OK;
}

int cf_runtime_job_complete(struct cf_runtime *rt, uint64_t job_key, const char *worker,
                            const struct cf_feel_value *variables, struct cf_error *err) {
  if (check_vars(&variables, err)) return err->code;
  struct job_arg a = {.cmd = {.kind = CF_ENGINE_CMD_COMPLETE_JOB, .key = job_key, .variables = variables},
                      .worker = worker};
  return rt_run(rt, job_op, &a, err);
}

int cf_runtime_job_fail(struct cf_runtime *rt, uint64_t job_key, const char *worker, int32_t retries,
                        const char *message, int64_t backoff_ms, const struct cf_feel_value *variables,
                        struct cf_error *err) {
  if (check_vars(&variables, err)) return err->code;
  struct job_arg a = {.cmd = {.kind = CF_ENGINE_CMD_FAIL_JOB, .key = job_key, .retries = retries,
                              .message = message, .backoff_ms = backoff_ms, .variables = variables},
                      .worker = worker};
  return rt_run(rt, job_op, &a, err);
}

int cf_runtime_job_throw_error(struct cf_runtime *rt, uint64_t job_key, const char *worker, const char *code,
                               const char *message, const struct cf_feel_value *variables,
                               struct cf_error *err) {
  if (check_vars(&variables, err)) return err->code;
  if (!code || !*code) return cf_error_set(err, CF_EINVAL, "an error code is needed");
  struct job_arg a = {.cmd = {.kind = CF_ENGINE_CMD_THROW_ERROR, .key = job_key, .error_code = code,
                              .message = message, .variables = variables},
                      .worker = worker};
  return rt_run(rt, job_op, &a, err);
}

int cf_runtime_job_retries(struct cf_runtime *rt, uint64_t job_key, int32_t retries, struct cf_error *err) {
  struct job_arg a = {.cmd = {.kind = CF_ENGINE_CMD_UPDATE_JOB_RETRIES, .key = job_key, .retries = retries}};
  return rt_run(rt, job_op, &a, err);
}

/* --- user tasks, incidents, instances */

struct keyed_arg {
  const char *what; /* instance_of kind, or NULL: key is the instance */
  struct cf_engine_cmd cmd;
  uint64_t instance_key;
  int32_t retries;
};

static int keyed_op(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct keyed_arg *a = arg;
  struct rt_inst *ri;
  int rc = a->what ? rt_load_of(rt, a->what, a->cmd.key, &ri, err) : rt_load(rt, a->instance_key, &ri, err);
  if (rc == CF_ENOTFOUND && !a->what)
    return cf_error_set(err, CF_ENOTFOUND, "no process instance %llu", (unsigned long long)a->instance_key);
  if (rc) return rc;
  if (a->cmd.kind == CF_ENGINE_CMD_RESOLVE_INCIDENT && a->retries > 0) {
    size_t n;
    const struct cf_engine_incident *incs = cf_engine_incidents(ri->inst, &n);
    for (size_t i = 0; i < n; i++) {
      if (incs[i].key != a->cmd.key || !incs[i].job_key) continue;
      struct cf_engine_cmd up = {.kind = CF_ENGINE_CMD_UPDATE_JOB_RETRIES, .key = incs[i].job_key,
                                 .retries = a->retries};
      if ((rc = rt_apply(rt, ri, &up, err))) return rc;
      break;
    }
  }
  if (a->cmd.kind != CF_ENGINE_CMD_COMPLETE_USER_TASK) return rt_apply(rt, ri, &a->cmd, err);
  /* A completed task is kept (the engine forgets it): its row as it was, taken before. */
  struct cf_store_user_task done;
  memset(&done, 0, sizeof done);
  size_t n;
  const struct cf_engine_user_task *tasks = cf_engine_user_tasks(ri->inst, &n);
  for (size_t i = 0; i < n; i++) {
    if (tasks[i].key != a->cmd.key) continue;
    const struct cf_engine_user_task *t = &tasks[i];
    const struct cf_bpmn_model *m = ri->m->model;
    done.key = t->key;
    done.instance_key = ri->key;
    done.element_instance_key = t->element_instance_key;
    bool ok = (done.element_id = cf_strdup(t->element < m->nelements ? m->elements[t->element].id : "?")) &&
              (!t->assignee || (done.assignee = cf_strdup(t->assignee))) &&
              (t->candidate_groups.type != CF_FEEL_LIST ||
               (done.candidate_groups = rt_value_json(&t->candidate_groups))) &&
              (t->candidate_users.type != CF_FEEL_LIST || (done.candidate_users = rt_value_json(&t->candidate_users))) &&
              (!t->due_date || (done.due_date = cf_strdup(t->due_date))) &&
              (!t->follow_up_date || (done.follow_up_date = cf_strdup(t->follow_up_date))) &&
              (!t->form_key || (done.form_key = cf_strdup(t->form_key))) &&
              (done.completed_by = cf_strdup(rt->actor));
    if (!ok) {
      cf_store_user_task_release(&done);
      return oom(err);
    }
    done.priority = t->priority;
    done.created_ms = t->created_ms;
    done.state = 1;
    done.completed_ms = rt->now_ms;
    break;
  }
  rc = rt_apply(rt, ri, &a->cmd, err);
  if (!rc && done.key) rc = rt->ops->task_done(rt->st, &done, err);
  cf_store_user_task_release(&done);
  return rc;
}

int cf_runtime_task_complete(struct cf_runtime *rt, uint64_t task_key, const struct cf_feel_value *variables,
                             struct cf_error *err) {
  if (check_vars(&variables, err)) return err->code;
  struct keyed_arg a = {.what = "user_task",
                        .cmd = {.kind = CF_ENGINE_CMD_COMPLETE_USER_TASK, .key = task_key, .variables = variables}};
  return rt_run(rt, keyed_op, &a, err);
}

int cf_runtime_task_assign(struct cf_runtime *rt, uint64_t task_key, const char *assignee, struct cf_error *err) {
  struct keyed_arg a = {.what = "user_task",
                        .cmd = {.kind = CF_ENGINE_CMD_ASSIGN_USER_TASK, .key = task_key, .assignee = assignee}};
  return rt_run(rt, keyed_op, &a, err);
}

int cf_runtime_incident_resolve(struct cf_runtime *rt, uint64_t incident_key, int32_t retries,
                                struct cf_error *err) {
  struct keyed_arg a = {.what = "incident", .cmd = {.kind = CF_ENGINE_CMD_RESOLVE_INCIDENT, .key = incident_key},
                        .retries = retries};
  return rt_run(rt, keyed_op, &a, err);
}

int cf_runtime_cancel(struct cf_runtime *rt, uint64_t instance_key, struct cf_error *err) {
  struct keyed_arg a = {.cmd = {.kind = CF_ENGINE_CMD_CANCEL}, .instance_key = instance_key};
  return rt_run(rt, keyed_op, &a, err);
}

int cf_runtime_set_variables(struct cf_runtime *rt, uint64_t instance_key, uint64_t scope_key,
                             const struct cf_feel_value *variables, bool local, struct cf_error *err) {
  if (check_vars(&variables, err)) return err->code;
  if (!variables) return cf_error_set(err, CF_EINVAL, "no variables to set");
  struct keyed_arg a = {.cmd = {.kind = CF_ENGINE_CMD_SET_VARIABLES, .key = scope_key ? scope_key : instance_key,
                                .variables = variables, .local = local},
                        .instance_key = instance_key};
  return rt_run(rt, keyed_op, &a, err);
}

/* --- housekeeping */

int cf_runtime_fire_timers(struct cf_runtime *rt, size_t max, size_t *fired, struct cf_error *err) {
  size_t count = 0;
  if (fired) *fired = 0;
  int64_t now = cf_runtime_now(rt);
  struct cf_store_timer *due = NULL;
  size_t n = 0;
  int rc = rt->ops->timers_due(rt->st, now, max ? max : 256, &due, &n, err);
  if (rc) return rc;
  int first_rc = CF_OK;
  struct cf_error e;
  for (size_t i = 0; i < n; i++) {
    cf_error_clear(&e);
    int r = rt_run(rt, rt_fire_timer_op, &due[i], &e);
    if (r == CF_OK) count++;
    else if (r != CF_ENOTFOUND && !first_rc) {
      first_rc = r;
      *err = e;
    }
    if (r == CF_EIO && rt->in_batch) break;
  }
  for (size_t i = 0; i < n; i++) cf_store_timer_release(&due[i]);
  cf_free(due);
  if (fired) *fired = count;
  return first_rc;
}

int cf_runtime_expire_messages(struct cf_runtime *rt, size_t *removed, struct cf_error *err) {
  size_t r = 0;
  int rc = rt->ops->messages_expire(rt->st, cf_runtime_now(rt), &r, err);
  if (removed) *removed = r;
  return rc;
}

int cf_runtime_next_due(struct cf_runtime *rt, int64_t *due_ms, struct cf_error *err) {
  struct cf_store_timer *t = NULL;
  size_t n = 0;
  *due_ms = INT64_MAX;
  int rc = rt->ops->timers_due(rt->st, INT64_MAX, 1, &t, &n, err);
  if (rc) return rc;
  if (n) *due_ms = t[0].due_ms;
  for (size_t i = 0; i < n; i++) cf_store_timer_release(&t[i]);
  cf_free(t);
  return CF_OK;
}

int cf_runtime_prune(struct cf_runtime *rt, int64_t before_ms, size_t *removed, struct cf_error *err) {
  size_t total = 0, r;
  int rc;
  do {
    r = 0;
    rc = rt->ops->prune(rt->st, before_ms, 500, &r, err);
    total += r;
  } while (!rc && r > 0);
  if (removed) *removed = total;
  return rc;
}

/* ================================================================ personal data erasure */

struct erase_arg {
  uint64_t key;
  const char *const *values;
  size_t n;
  const char *marker;
  size_t replaced;
};

static int erase_op(struct cf_runtime *rt, void *arg, struct cf_error *err) {
  struct erase_arg *a = arg;
  struct rt_inst *ri;
  int rc = rt_load(rt, a->key, &ri, err);
  if (rc) return rc;
  cf_buf_reset(&rt->buf);
  if (cf_engine_instance_save(ri->inst, &rt->buf) || rt->buf.oom) return oom(err);
  size_t count = 0;
  char *text = cf_json_erase_strings(rt->buf.data, rt->buf.len, a->values, a->n, a->marker, &count);
  if (!text) return oom(err);
  if (count) {
    struct cf_engine_instance *inst = cf_engine_instance_load(ri->m->model, text, strlen(text), err);
    if (!inst) {
      cf_free(text);
      return err->code ? err->code : CF_EINTERNAL;
    }
    cf_engine_instance_free(ri->inst);
    ri->inst = inst;
  }
  cf_free(text);
  a->replaced = count;
  /* The history: the same values become the marker there. */
  struct cf_buf vals;
  cf_buf_init(&vals);
  cf_buf_putc(&vals, '[');
  for (size_t i = 0; i < a->n; i++) {
    if (i) cf_buf_putc(&vals, ',');
    cf_buf_json_string(&vals, a->values[i], strlen(a->values[i]));
  }
  cf_buf_puts(&vals, "]");
  cf_buf_putc(&vals, '\0');
  if (vals.oom) rc = oom(err);
  if (!rc) rc = rt->ops->history_erase(rt->st, a->key, vals.data, a->marker, NULL, err);
  cf_buf_release(&vals);
  if (rc) return rc;
  /* The state written again (a row version further), and the erasure recorded. */
  struct cf_engine_output out;
  cf_engine_output_init(&out);
  rc = persist(rt, ri, &out, NULL, err);
  cf_engine_output_release(&out);
  if (rc) return rc;
  char detail[64];
  snprintf(detail, sizeof detail, "%zu values", count);
  struct cf_store_event ev = {.instance_key = a->key, .at_ms = rt->now_ms, .kind = "PERSONAL_DATA_ERASED",
                              .key = a->key, .detail = detail, .actor = rt->actor};
  return rt->ops->history_append(rt->st, &ev, 1, err);
}

int cf_runtime_erase_values(struct cf_runtime *rt, uint64_t instance_key, const char *const *values, size_t n,
                            const char *marker, size_t *replaced, struct cf_error *err) {
  struct erase_arg a = {.key = instance_key, .values = values, .n = n, .marker = marker ? marker : "[erased]"};
  int rc = rt_run(rt, erase_op, &a, err);
  if (!rc && replaced) *replaced = a.replaced;
  return rc;
}
