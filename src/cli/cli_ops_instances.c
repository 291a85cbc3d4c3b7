/*
 * `crmflow deploy`, `crmflow start`, `crmflow instances [show|cancel]` and
 * `crmflow history prune` (shared/contracts.md §5, docs/cli.md).
 *
 * Writes go through the runtime; lists and `instances show` read with a
 * read-only store of their own, so they never wait for a writer.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_time.h"
#include "bpmn/cf_bpmn.h"
#include "cli/cli.h"
#include "feel/cf_feel.h"
#include "runtime/cf_runtime.h"
#include "store/cf_store.h"

#define DEFAULT_LIMIT 1000

/* ------------------------------------------------------------ deploy */

static const char deploy_usage[] =
    "usage: crmflow deploy [--db PATH] [--json] FILE.bpmn...\n"
    "  Deploys BPMN models: each executable process gets a new version, unless the same\n"
    "  content is deployed already (then its version is kept, \"unchanged\"). All files or\n"
    "  none: a refused model deploys nothing. Creates the database when there is none.\n";

static void print_problems(const char *file, const struct cf_bpmn_problems *problems) {
  for (size_t k = 0; k < problems->count; k++) {
    const struct cf_bpmn_problem *p = &problems->items[k];
    if (p->line > 0)
      fprintf(stderr, "%s:%d: ", file, p->line);
    else
      fprintf(stderr, "%s: ", file);
    if (p->element_id && p->element_type)
      fprintf(stderr, "element %s (%s): ", p->element_id, p->element_type);
    else if (p->element_id)
      fprintf(stderr, "element %s: ", p->element_id);
    fprintf(stderr, "%s\n", p->message);
  }
}

/* The file name without its folders: the resource name a deployment records. */
static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s && s[1] ? s + 1 : path;
}

int cf_cli_deploy(int argc, char **argv) {
  struct cf_cli_args a = {.cmd = "deploy", .usage = deploy_usage, .what = "FILE.bpmn"};
  int status = cf_cli_args_parse(&a, argc, argv, NULL, 0, 1, 64);
  if (status) return status == CF_CLI_HELP ? 0 : status;

  char *data[64] = {0};
  size_t len[64] = {0};
  struct cf_runtime_deployed *dep[64] = {0};
  size_t ndep[64] = {0};
  struct cf_runtime *rt = NULL;
  struct cf_buf out;
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);

  /* Read and check every model before touching the database: a refused
   * deployment must not even create the file. */
  for (int i = 0; i < a.npos; i++) {
    char why[256];
    data[i] = cf_cli_read_file(a.pos[i], CF_BPMN_MAX_BYTES, &len[i], why, sizeof why);
    if (!data[i]) {
      status = cf_cli_refuse(&a, "cannot read %s: %s; nothing was deployed", a.pos[i], why);
      goto out;
    }
    struct cf_bpmn_problems problems;
    cf_bpmn_problems_init(&problems);
    struct cf_bpmn_model *m = cf_bpmn_parse(data[i], len[i], a.pos[i], &problems);
    if (!m) {
      print_problems(a.pos[i], &problems);
      status = cf_cli_refuse(&a, "%s was refused (%zu problem%s above; 'crmflow check %s' shows them"
                                 " again); nothing was deployed",
                             a.pos[i], problems.count, problems.count == 1 ? "" : "s", a.pos[i]);
    }
    cf_bpmn_model_free(m);
    cf_bpmn_problems_release(&problems);
    if (status) goto out;
  }

  if ((status = cf_cli_open_runtime(&a, true, "cli", &rt))) goto out;
  if (cf_runtime_batch_begin(rt, &err) != CF_OK) {
    status = cf_cli_refuse(&a, "%s", err.msg);
    goto out;
  }
  for (int i = 0; i < a.npos; i++) {
    struct cf_bpmn_problems problems;
    cf_bpmn_problems_init(&problems);
    int rc = cf_runtime_deploy(rt, base_name(a.pos[i]), data[i], len[i], &dep[i], &ndep[i], &problems,
                               &err);
    if (rc != CF_OK) {
      print_problems(a.pos[i], &problems);
      status = cf_cli_refuse(&a, "%s was refused: %s; nothing was deployed", a.pos[i], err.msg);
    }
    cf_bpmn_problems_release(&problems);
    if (status) {
      cf_runtime_batch_rollback(rt);
      goto out;
    }
  }
  if (cf_runtime_batch_commit(rt, &err) != CF_OK) {
    status = cf_cli_refuse(&a, "nothing was deployed: %s", err.msg);
    goto out;
  }

  if (a.json) cf_buf_puts(&out, "{\"deployments\":[");
  bool first = true;
  for (int i = 0; i < a.npos; i++) {
    if (!a.json && ndep[i] == 0)
      cf_buf_printf(&out, "%s: no executable process (nothing to run)\n", a.pos[i]);
    for (size_t k = 0; k < ndep[i]; k++) {
      const struct cf_runtime_deployed *d = &dep[i][k];
      if (a.json) {
        if (!first) cf_buf_putc(&out, ',');
        first = false;
        cf_buf_puts(&out, "{\"processDefinitionId\":");
        cf_cli_json_str(&out, d->process_id);
        cf_buf_printf(&out, ",\"version\":%d,\"processDefinitionKey\":", (int)d->version);
        cf_cli_json_key(&out, d->definition_key);
        cf_buf_puts(&out, ",\"resourceName\":");
        cf_cli_json_str(&out, d->resource_name);
        cf_buf_printf(&out, ",\"unchanged\":%s}", d->unchanged ? "true" : "false");
      } else {
        cf_buf_printf(&out, "%s %s version %d (key %llu) from %s\n",
                      d->unchanged ? "unchanged" : "deployed", d->process_id, (int)d->version,
                      (unsigned long long)d->definition_key, d->resource_name);
      }
    }
  }
  if (a.json) cf_buf_puts(&out, "]}\n");
  status = cf_cli_emit(&a, &out);
out:
  for (int i = 0; i < a.npos; i++) {
    cf_free(data[i]);
    cf_runtime_deployed_release(dep[i], ndep[i]);
  }
  if (rt) cf_runtime_close(rt);
  cf_buf_release(&out);
  return status;
}

/* ------------------------------------------------------------ start */

static const char start_usage[] =
    "usage: crmflow start [--db PATH] [--json] PROCESS_ID [--vars JSON] [--business-key K] [--version N]\n"
    "  Starts an instance of the latest version of a deployed process (or of --version N)\n"
    "  at its none start event, with --vars (a JSON object) as its variables.\n";

int cf_cli_start(int argc, char **argv) {
  struct cf_cli_opt opts[] = {{"--vars", true, NULL}, {"--business-key", true, NULL},
                              {"--version", true, NULL}};
  struct cf_cli_args a = {.cmd = "start", .usage = start_usage, .what = "PROCESS_ID"};
  int status = cf_cli_args_parse(&a, argc, argv, opts, 3, 1, 1);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  long version = 0;
  if (opts[2].value && !cf_cli_parse_int(&a, "--version", opts[2].value, 1, INT32_MAX, &version))
    return 2;
  struct cf_feel_value vars;
  if ((status = cf_cli_parse_vars(&a, "--vars", opts[0].value, &vars))) return status;

  struct cf_runtime *rt = NULL;
  struct cf_buf out;
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);
  uint64_t key = 0;
  const char *pid = a.pos[0];
  if ((status = cf_cli_open_runtime(&a, false, "cli", &rt))) goto out;
  int rc = cf_runtime_start(rt, pid, (int32_t)version, opts[0].value ? &vars : NULL, opts[1].value,
                            &key, &err);
  if (rc == CF_ENOTFOUND && version)
    status = cf_cli_refuse(&a, "%s (leave out --version to start the latest of '%s')", err.msg, pid);
  else if (rc == CF_ENOTFOUND)
    status = cf_cli_refuse(&a, "%s: deploy its model with 'crmflow deploy FILE.bpmn'", err.msg);
  else if (rc != CF_OK)
    status = cf_cli_refuse(&a, "cannot start '%s': %s", pid, err.msg);
  if (status) goto out;
  if (a.json) {
    cf_buf_puts(&out, "{\"processInstanceKey\":");
    cf_cli_json_key(&out, key);
    cf_buf_puts(&out, ",\"processDefinitionId\":");
    cf_cli_json_str(&out, pid);
    cf_buf_puts(&out, "}\n");
  } else {
    cf_buf_printf(&out, "started instance %llu of %s\n", (unsigned long long)key, pid);
  }
  status = cf_cli_emit(&a, &out);
out:
  if (rt) cf_runtime_close(rt);
  cf_feel_value_release(&vars);
  cf_buf_release(&out);
  return status;
}

/* ------------------------------------------------------------ instances */

static const char instances_usage[] =
    "usage: crmflow instances [--db PATH] [--json] [--state active|completed|terminated|incident]\n"
    "                         [--process ID] [--business-key K] [--limit N]\n"
    "       crmflow instances show KEY      state, variables, history, open jobs, tasks, incidents\n"
    "       crmflow instances cancel KEY    terminates an active instance (and its called children)\n";

static const char *state_name(uint8_t state) {
  switch (state) {
  case CF_STORE_ACTIVE: return "active";
  case CF_STORE_COMPLETED: return "completed";
  case CF_STORE_TERMINATED: return "terminated";
  default: return "unknown";
  }
}

static void json_instance_fields(struct cf_buf *b, const struct cf_store_instance *i) {
  cf_buf_puts(b, "\"processInstanceKey\":");
  cf_cli_json_key(b, i->key);
  cf_buf_puts(b, ",\"processDefinitionId\":");
  cf_cli_json_str(b, i->process_id);
  cf_buf_printf(b, ",\"version\":%d,\"processDefinitionKey\":", (int)i->version);
  cf_cli_json_key(b, i->definition_key);
  cf_buf_printf(b, ",\"state\":\"%s\",\"incident\":%s,\"businessKey\":", state_name(i->state),
                i->incident ? "true" : "false");
  cf_cli_json_str(b, i->business_key);
  cf_buf_puts(b, ",\"parentProcessInstanceKey\":");
  cf_cli_json_key(b, i->parent_key);
  cf_buf_puts(b, ",\"startDate\":");
  cf_cli_json_time(b, i->started_ms);
  cf_buf_puts(b, ",\"endDate\":");
  cf_cli_json_time(b, i->ended_ms);
}

static int instances_list(int argc, char **argv) {
  struct cf_cli_opt opts[] = {{"--state", true, NULL}, {"--process", true, NULL},
                              {"--business-key", true, NULL}, {"--limit", true, NULL}};
  struct cf_cli_args a = {.cmd = "instances", .usage = instances_usage};
  int status = cf_cli_args_parse(&a, argc, argv, opts, 4, 0, 0);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  struct cf_store_instance_filter f = {.process_id = opts[1].value, .state = -1, .incident = -1,
                                       .business_key = opts[2].value};
  const char *st = opts[0].value;
  if (!st) {
  } else if (!strcmp(st, "active")) {
    f.state = CF_STORE_ACTIVE;
  } else if (!strcmp(st, "completed")) {
    f.state = CF_STORE_COMPLETED;
  } else if (!strcmp(st, "terminated")) {
    f.state = CF_STORE_TERMINATED;
  } else if (!strcmp(st, "incident")) {
    f.state = CF_STORE_ACTIVE;
    f.incident = 1;
  } else {
    return cf_cli_usage_error(&a, "--state is active, completed, terminated or incident, not '%s'", st);
  }
  long limit = DEFAULT_LIMIT;
  if (opts[3].value && !cf_cli_parse_int(&a, "--limit", opts[3].value, 1, 1000000, &limit)) return 2;
  f.limit = (size_t)limit + 1; /* one more tells whether there are more */

  const struct cf_store_ops *ops = NULL;
  struct cf_store *store = NULL;
  struct cf_store_instance *rows = NULL;
  size_t n = 0;
  struct cf_buf out;
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);
  if ((status = cf_cli_open_reader(&a, &ops, &store))) goto out;
  if (ops->instance_list(store, &f, &rows, &n, &err) != CF_OK) {
    status = cf_cli_refuse(&a, "%s", err.msg);
    goto out;
  }
  bool more = n > (size_t)limit;
  size_t shown = more ? (size_t)limit : n;
  if (a.json) {
    cf_buf_puts(&out, "{\"items\":[");
    for (size_t i = 0; i < shown; i++) {
      cf_buf_puts(&out, i ? ",{" : "{");
      json_instance_fields(&out, &rows[i]);
      cf_buf_putc(&out, '}');
    }
    cf_buf_printf(&out, "],\"more\":%s}\n", more ? "true" : "false");
  } else if (shown == 0) {
    cf_buf_puts(&out, "no instances\n");
  } else {
    static const char *const head[] = {"INSTANCE", "PROCESS", "VERSION", "STATE", "BUSINESS KEY",
                                       "STARTED", "ENDED"};
    struct cf_cli_table t;
    cf_cli_table_init(&t, 7, head, 60);
    for (size_t i = 0; i < shown; i++) {
      const struct cf_store_instance *r = &rows[i];
      char k[24], v[16], s1[48], s2[48];
      snprintf(k, sizeof k, "%llu", (unsigned long long)r->key);
      snprintf(v, sizeof v, "%d", (int)r->version);
      const char *state = r->incident && r->state == CF_STORE_ACTIVE ? "active, incident" : state_name(r->state);
      const char *row[] = {k, r->process_id, v, state, r->business_key,
                           cf_cli_format_time(r->started_ms, s1, sizeof s1),
                           cf_cli_format_time(r->ended_ms, s2, sizeof s2)};
      cf_cli_table_add(&t, row);
    }
    cf_cli_table_render(&t, &out);
    cf_cli_table_release(&t);
  }
  status = cf_cli_emit(&a, &out);
  if (!status && more)
    fprintf(stderr, "crmflow: instances: more than %ld match; showing the first %ld (pass --limit)\n",
            limit, limit);
out:
  for (size_t i = 0; i < n; i++) cf_store_instance_release(&rows[i]);
  cf_free(rows);
  if (store) ops->close(store);
  cf_buf_release(&out);
  return status;
}

/*
 * The open jobs and user tasks of an instance. The store lists neither by
 * instance, so the keys come from the history (JOB_CREATED,
 * USER_TASK_CREATED) and each is looked up: a job or task that is done is
 * gone from the store.
 */
static int open_rows(const struct cf_store_ops *ops, struct cf_store *store, const struct cf_store_event *ev,
                     size_t nev, struct cf_store_job **jobs, size_t *njobs, struct cf_store_user_task **tasks,
                     size_t *ntasks, struct cf_error *err) {
  size_t capj = 0, capt = 0;
  for (size_t i = 0; i < nev; i++) {
    const struct cf_store_event *e = &ev[i];
    if (!e->kind || !e->key) continue;
    bool is_job = !strcmp(e->kind, "JOB_CREATED"), is_task = !strcmp(e->kind, "USER_TASK_CREATED");
    if (!is_job && !is_task) continue;
    /* A key seen before (a job created again after a retry is the same job). */
    bool seen = false;
    for (size_t k = 0; k < *njobs && is_job && !seen; k++) seen = (*jobs)[k].key == e->key;
    for (size_t k = 0; k < *ntasks && is_task && !seen; k++) seen = (*tasks)[k].key == e->key;
    if (seen) continue;
    if (is_job) {
      struct cf_store_job j;
      int rc = ops->job_get(store, e->key, &j, err);
      if (rc == CF_ENOTFOUND) continue;
      if (rc != CF_OK) return rc;
      if (!cf_grow((void **)jobs, &capj, *njobs, sizeof **jobs)) {
        cf_store_job_release(&j);
        return cf_error_set(err, CF_ENOMEM, "out of memory");
      }
      (*jobs)[(*njobs)++] = j;
    } else {
      struct cf_store_task_filter f = {.limit = 1, .after_key = e->key - 1};
      struct cf_store_user_task *t = NULL;
      size_t n = 0;
      int rc = ops->task_list(store, &f, &t, &n, err);
      if (rc != CF_OK) return rc;
      if (n == 1 && t[0].key == e->key && cf_grow((void **)tasks, &capt, *ntasks, sizeof **tasks)) {
        (*tasks)[(*ntasks)++] = t[0];
      } else if (n == 1 && t[0].key == e->key) {
        cf_store_user_task_release(&t[0]);
        cf_free(t);
        return cf_error_set(err, CF_ENOMEM, "out of memory");
      } else {
        for (size_t k = 0; k < n; k++) cf_store_user_task_release(&t[k]);
      }
      cf_free(t);
    }
  }
  return CF_OK;
}

static void render_history(struct cf_buf *b, const struct cf_store_event *ev, size_t n) {
  static const char *const head[] = {"AT", "EVENT", "ELEMENT", "KEY", "ACTOR", "DETAIL", "VARIABLES"};
  struct cf_cli_table t;
  cf_cli_table_init(&t, 7, head, 48);
  for (size_t i = 0; i < n; i++) {
    const struct cf_store_event *e = &ev[i];
    char at[48], k[24] = "";
    if (e->key) snprintf(k, sizeof k, "%llu", (unsigned long long)e->key);
    const char *row[] = {cf_cli_format_time(e->at_ms, at, sizeof at), e->kind, e->element_id, k,
                         e->actor, e->detail, e->variables};
    cf_cli_table_add(&t, row);
  }
  cf_cli_table_render(&t, b);
  cf_cli_table_release(&t);
}

static int instances_show(int argc, char **argv) {
  struct cf_cli_args a = {.cmd = "instances show", .usage = instances_usage, .what = "KEY"};
  int status = cf_cli_args_parse(&a, argc, argv, NULL, 0, 1, 1);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  uint64_t key;
  if (!cf_cli_parse_key(&a, "KEY", a.pos[0], &key)) return 2;

  const struct cf_store_ops *ops = NULL;
  struct cf_store *store = NULL;
  struct cf_store_instance inst;
  memset(&inst, 0, sizeof inst);
  struct cf_store_event *ev = NULL;
  struct cf_store_incident *inc = NULL;
  struct cf_store_job *jobs = NULL;
  struct cf_store_user_task *tasks = NULL;
  size_t nev = 0, ninc = 0, njobs = 0, ntasks = 0;
  struct cf_buf out;
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);
  if ((status = cf_cli_open_reader(&a, &ops, &store))) goto out;
  int rc = ops->instance_get(store, key, &inst, &err);
  if (rc == CF_ENOTFOUND) {
    status = cf_cli_refuse(&a, "no instance %llu (the key is wrong, or it ended and was pruned; list"
                               " instances with 'crmflow instances')",
                           (unsigned long long)key);
    goto out;
  }
  if (rc != CF_OK || ops->history_list(store, key, &ev, &nev, &err) != CF_OK ||
      ops->incident_list(store, key, &inc, &ninc, &err) != CF_OK ||
      open_rows(ops, store, ev, nev, &jobs, &njobs, &tasks, &ntasks, &err) != CF_OK) {
    status = cf_cli_refuse(&a, "%s", err.msg);
    goto out;
  }

  if (a.json) {
    cf_buf_putc(&out, '{');
    json_instance_fields(&out, &inst);
    cf_buf_puts(&out, ",\"variables\":");
    cf_cli_json_raw(&out, inst.variables, "{}");
    cf_buf_puts(&out, ",\"history\":[");
    for (size_t i = 0; i < nev; i++) {
      const struct cf_store_event *e = &ev[i];
      cf_buf_puts(&out, i ? ",{\"at\":" : "{\"at\":");
      cf_cli_json_time(&out, e->at_ms);
      cf_buf_puts(&out, ",\"kind\":");
      cf_cli_json_str(&out, e->kind);
      cf_buf_puts(&out, ",\"elementId\":");
      cf_cli_json_str(&out, e->element_id);
      cf_buf_puts(&out, ",\"key\":");
      cf_cli_json_key(&out, e->key);
      cf_buf_puts(&out, ",\"actor\":");
      cf_cli_json_str(&out, e->actor);
      cf_buf_puts(&out, ",\"detail\":");
      cf_cli_json_str(&out, e->detail);
      cf_buf_puts(&out, ",\"variables\":");
      cf_cli_json_raw(&out, e->variables, "null");
      cf_buf_putc(&out, '}');
    }
    cf_buf_puts(&out, "],\"jobs\":[");
    for (size_t i = 0; i < njobs; i++) {
      if (i) cf_buf_putc(&out, ',');
      cf_cli_json_job(&out, &jobs[i], NULL);
    }
    cf_buf_puts(&out, "],\"userTasks\":[");
    for (size_t i = 0; i < ntasks; i++) {
      if (i) cf_buf_putc(&out, ',');
      cf_cli_json_task(&out, &tasks[i]);
    }
    cf_buf_puts(&out, "],\"incidents\":[");
    for (size_t i = 0; i < ninc; i++) {
      if (i) cf_buf_putc(&out, ',');
      cf_cli_json_incident(&out, &inc[i]);
    }
    cf_buf_puts(&out, "]}\n");
  } else {
    char s1[48], s2[48];
    cf_buf_printf(&out, "instance     %llu\n", (unsigned long long)inst.key);
    cf_buf_printf(&out, "process      %s version %d\n", inst.process_id ? inst.process_id : "?",
                  (int)inst.version);
    cf_buf_printf(&out, "state        %s%s\n", state_name(inst.state),
                  inst.incident && inst.state == CF_STORE_ACTIVE ? ", with an incident" : "");
    if (inst.business_key) cf_buf_printf(&out, "business key %s\n", inst.business_key);
    if (inst.parent_key) cf_buf_printf(&out, "called by    %llu\n", (unsigned long long)inst.parent_key);
    cf_buf_printf(&out, "started      %s\n", cf_cli_format_time(inst.started_ms, s1, sizeof s1));
    if (inst.ended_ms) cf_buf_printf(&out, "ended        %s\n", cf_cli_format_time(inst.ended_ms, s2, sizeof s2));
    cf_buf_printf(&out, "variables    %s\n", inst.variables && *inst.variables ? inst.variables : "{}");
    if (njobs) {
      cf_buf_puts(&out, "\nopen jobs:\n");
      cf_cli_render_jobs(&out, jobs, njobs);
    }
    if (ntasks) {
      cf_buf_puts(&out, "\nuser tasks:\n");
      cf_cli_render_tasks(&out, tasks, ntasks);
    }
    if (ninc) {
      cf_buf_puts(&out, "\nincidents:\n");
      cf_cli_render_incidents(&out, inc, ninc);
    }
    cf_buf_puts(&out, "\nhistory:\n");
    render_history(&out, ev, nev);
  }
  status = cf_cli_emit(&a, &out);
out:
  cf_store_instance_release(&inst);
  for (size_t i = 0; i < nev; i++) cf_store_event_release(&ev[i]);
  for (size_t i = 0; i < ninc; i++) cf_store_incident_release(&inc[i]);
  for (size_t i = 0; i < njobs; i++) cf_store_job_release(&jobs[i]);
  for (size_t i = 0; i < ntasks; i++) cf_store_user_task_release(&tasks[i]);
  cf_free(ev);
  cf_free(inc);
  cf_free(jobs);
  cf_free(tasks);
  if (store) ops->close(store);
  cf_buf_release(&out);
  return status;
}

static int instances_cancel(int argc, char **argv) {
  struct cf_cli_args a = {.cmd = "instances cancel", .usage = instances_usage, .what = "KEY"};
  int status = cf_cli_args_parse(&a, argc, argv, NULL, 0, 1, 1);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  uint64_t key;
  if (!cf_cli_parse_key(&a, "KEY", a.pos[0], &key)) return 2;
  struct cf_runtime *rt = NULL;
  struct cf_buf out;
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);
  if ((status = cf_cli_open_runtime(&a, false, "cli", &rt))) goto out;
  int rc = cf_runtime_cancel(rt, key, &err);
  if (rc == CF_ENOTFOUND)
    status = cf_cli_refuse(&a, "no instance %llu (the key is wrong, or it was pruned; list instances"
                               " with 'crmflow instances --state active')",
                           (unsigned long long)key);
  else if (rc != CF_OK)
    status = cf_cli_refuse(&a, "cannot cancel instance %llu: %s", (unsigned long long)key, err.msg);
  if (status) goto out;
  if (a.json) {
    cf_buf_puts(&out, "{\"processInstanceKey\":");
    cf_cli_json_key(&out, key);
    cf_buf_puts(&out, ",\"state\":\"terminated\"}\n");
  } else {
    cf_buf_printf(&out, "canceled instance %llu\n", (unsigned long long)key);
  }
  status = cf_cli_emit(&a, &out);
out:
  if (rt) cf_runtime_close(rt);
  cf_buf_release(&out);
  return status;
}

int cf_cli_instances(int argc, char **argv) {
  if (argc > 0 && !strcmp(argv[0], "show")) return instances_show(argc - 1, argv + 1);
  if (argc > 0 && !strcmp(argv[0], "cancel")) return instances_cancel(argc - 1, argv + 1);
  return instances_list(argc, argv);
}

/* ------------------------------------------------------------ history prune */

static const char history_usage[] =
    "usage: crmflow history prune [--db PATH] [--json] --older-than DURATION\n"
    "  Removes the instances that ended (completed or terminated) longer ago than DURATION\n"
    "  (ISO-8601: P90D, PT1H, P1M), with their history. Shows progress on a terminal.\n";

/* The end times of the ended instances that ended before before_ms, sorted. */
static int ended_before(const struct cf_store_ops *ops, struct cf_store *store, int64_t before_ms,
                        int64_t **out, size_t *n, struct cf_error *err) {
  size_t cap = 0;
  static const int states[] = {CF_STORE_COMPLETED, CF_STORE_TERMINATED};
  for (size_t s = 0; s < 2; s++) {
    struct cf_store_instance_filter f = {.state = states[s], .incident = -1, .limit = 1000};
    for (;;) {
      struct cf_store_instance *rows = NULL;
      size_t got = 0;
      int rc = ops->instance_list(store, &f, &rows, &got, err);
      if (rc != CF_OK) return rc;
      for (size_t i = 0; i < got; i++) {
        if (rc == CF_OK && rows[i].ended_ms && rows[i].ended_ms < before_ms) {
          if (cf_grow((void **)out, &cap, *n, sizeof **out))
            (*out)[(*n)++] = rows[i].ended_ms;
          else
            rc = cf_error_set(err, CF_ENOMEM, "out of memory");
        }
        if (i + 1 == got) f.after_key = rows[i].key;
        cf_store_instance_release(&rows[i]);
      }
      cf_free(rows);
      if (rc != CF_OK) return rc;
      if (got < f.limit) break;
    }
  }
  return CF_OK;
}

static int cmp_i64(const void *x, const void *y) {
  int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
  return (a > b) - (a < b);
}

static int history_prune(int argc, char **argv) {
  struct cf_cli_opt opts[] = {{"--older-than", true, NULL}};
  struct cf_cli_args a = {.cmd = "history prune", .usage = history_usage};
  int status = cf_cli_args_parse(&a, argc, argv, opts, 1, 0, 0);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  if (!opts[0].value) return cf_cli_usage_error(&a, "--older-than DURATION is required (like P90D)");
  struct cf_time_duration d;
  if (!cf_cli_parse_duration(&a, "--older-than", opts[0].value, &d)) return 2;

  struct cf_runtime *rt = NULL;
  int64_t *ends = NULL;
  size_t nends = 0, removed = 0;
  struct cf_buf out;
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);
  if ((status = cf_cli_open_runtime(&a, false, "cli", &rt))) goto out;
  int64_t before;
  if (!cf_cli_time_shift(cf_runtime_now(rt), &d, -1, &before)) {
    status = cf_cli_usage_error(&a, "--older-than %s reaches beyond the calendar", opts[0].value);
    goto out;
  }
  if (!isatty(fileno(stderr))) {
    if (cf_runtime_prune(rt, before, &removed, &err) != CF_OK) {
      status = cf_cli_refuse(&a, "%s (%zu instances were removed before that)", err.msg, removed);
      goto out;
    }
  } else {
    /* Progress: prune up to successive end times, a thousand instances at a time. */
    const struct cf_store_ops *ops;
    struct cf_store *store;
    cf_runtime_store(rt, &ops, &store);
    if (ended_before(ops, store, before, &ends, &nends, &err) != CF_OK) {
      status = cf_cli_refuse(&a, "%s", err.msg);
      goto out;
    }
    qsort(ends, nends, sizeof *ends, cmp_i64);
    size_t done = 0;
    do {
      size_t next = done + 1000 < nends ? done + 1000 : nends;
      int64_t upto = next < nends ? ends[next - 1] + 1 : before;
      size_t got = 0;
      if (cf_runtime_prune(rt, upto, &got, &err) != CF_OK) {
        fputc('\n', stderr);
        status = cf_cli_refuse(&a, "%s (%zu instances were removed before that)", err.msg, removed);
        goto out;
      }
      removed += got;
      done = next;
      fprintf(stderr, "\rpruning: %zu of %zu ended instances removed", removed, nends);
      fflush(stderr);
    } while (done < nends);
    fputc('\n', stderr);
  }
  char t[48];
  cf_cli_format_time(before, t, sizeof t);
  if (a.json)
    cf_buf_printf(&out, "{\"removed\":%zu,\"endedBefore\":\"%s\"}\n", removed, t);
  else
    cf_buf_printf(&out, "removed %zu ended instance%s (ended before %s)\n", removed,
                  removed == 1 ? "" : "s", t);
  status = cf_cli_emit(&a, &out);
out:
  cf_free(ends);
  if (rt) cf_runtime_close(rt);
  cf_buf_release(&out);
  return status;
}

int cf_cli_history(int argc, char **argv) {
  return cf_cli_one_subcommand(argc, argv, "history", history_usage, "prune", history_prune);
}
