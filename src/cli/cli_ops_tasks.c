/*
 * `crmflow tasks [claim|unclaim|complete]`, `crmflow message publish` and
 * `crmflow signal broadcast` (shared/contracts.md §5, docs/cli.md).
 *
 * User tasks are rows of the store, open ones and completed ones (kept, with
 * when and by whom, until their instance is pruned): both lists are one query.
 */
#include <stdlib.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_time.h"
#include "cli/cli.h"
#include "feel/cf_feel.h"
#include "runtime/cf_runtime.h"
#include "store/cf_store.h"

#define DEFAULT_LIMIT 1000

static const char tasks_usage[] =
    "usage: crmflow tasks [--db PATH] [--json] [--assignee U] [--group G] [--state created|completed]\n"
    "                     [--limit N]\n"
    "       crmflow tasks claim KEY --assignee U\n"
    "       crmflow tasks unclaim KEY\n"
    "       crmflow tasks complete KEY [--vars JSON]\n"
    "  Lists user tasks (open ones by default, or completed ones),\n"
    "  assigns and unassigns one, and completes one, carrying its instance on.\n";

/* ------------------------------------------------------------ tasks */

static int tasks_list(int argc, char **argv) {
  struct cf_cli_opt opts[] = {{"--assignee", true, NULL}, {"--group", true, NULL},
                              {"--state", true, NULL}, {"--limit", true, NULL}};
  struct cf_cli_args a = {.cmd = "tasks", .usage = tasks_usage};
  int status = cf_cli_args_parse(&a, argc, argv, opts, 4, 0, 0);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  const char *state = opts[2].value ? opts[2].value : "created";
  bool completed = !strcmp(state, "completed");
  if (!completed && strcmp(state, "created"))
    return cf_cli_usage_error(&a, "--state is created or completed, not '%s'", state);
  long limit = DEFAULT_LIMIT;
  if (opts[3].value && !cf_cli_parse_int(&a, "--limit", opts[3].value, 1, 1000000, &limit)) return 2;

  const struct cf_store_ops *ops = NULL;
  struct cf_store *store = NULL;
  struct cf_store_user_task *tasks = NULL;
  size_t n = 0;
  struct cf_buf out;
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);
  if ((status = cf_cli_open_reader(&a, &ops, &store))) goto out;
  bool more = false;
  struct cf_store_task_filter f = {.assignee = opts[0].value, .group = opts[1].value, .state = completed ? 1 : 0,
                                   .limit = (size_t)limit + 1};
  if (ops->task_list(store, &f, &tasks, &n, &err) != CF_OK) {
    status = cf_cli_refuse(&a, "%s", err.msg);
    goto out;
  }
  more = n > (size_t)limit;
  size_t shown = more ? (size_t)limit : n;
  if (a.json) {
    cf_buf_puts(&out, "{\"items\":[");
    for (size_t i = 0; i < shown; i++) {
      if (i) cf_buf_putc(&out, ',');
      cf_cli_json_task(&out, &tasks[i]);
    }
    cf_buf_puts(&out, "]}\n");
  } else if (shown == 0) {
    cf_buf_puts(&out, completed ? "no completed user tasks\n" : "no open user tasks\n");
  } else {
    cf_cli_render_tasks(&out, tasks, shown);
  }
  status = cf_cli_emit(&a, &out);
  if (!status && more)
    fprintf(stderr, "crmflow: tasks: more than %ld match; showing the first %ld (pass --limit)\n", limit,
            limit);
out:
  for (size_t i = 0; i < n; i++) cf_store_user_task_release(&tasks[i]);
  cf_free(tasks);
  if (store) ops->close(store);
  cf_buf_release(&out);
  return status;
}

enum task_op { CLAIM, UNCLAIM, COMPLETE };

static int task_refused(const struct cf_cli_args *a, uint64_t key, int rc, const struct cf_error *err) {
  if (rc == CF_ENOTFOUND)
    return cf_cli_refuse(a, "no open user task %llu (it was completed, or the key is wrong; list tasks"
                            " with 'crmflow tasks')",
                         (unsigned long long)key);
  return cf_cli_refuse(a, "user task %llu: %s", (unsigned long long)key, err->msg);
}

static int tasks_op(enum task_op what, int argc, char **argv) {
  static const char *const names[] = {"tasks claim", "tasks unclaim", "tasks complete"};
  struct cf_cli_opt claim_opts[] = {{"--assignee", true, NULL}};
  struct cf_cli_opt complete_opts[] = {{"--vars", true, NULL}};
  struct cf_cli_args a = {.cmd = names[what], .usage = tasks_usage, .what = "KEY"};
  struct cf_cli_opt *opts = what == CLAIM ? claim_opts : what == COMPLETE ? complete_opts : NULL;
  int status = cf_cli_args_parse(&a, argc, argv, opts, opts ? 1 : 0, 1, 1);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  uint64_t key;
  if (!cf_cli_parse_key(&a, "KEY", a.pos[0], &key)) return 2;
  if (what == CLAIM && (!claim_opts[0].value || !*claim_opts[0].value))
    return cf_cli_usage_error(&a, "--assignee U is required (who takes the task)");
  struct cf_feel_value vars;
  const char *vars_text = what == COMPLETE ? complete_opts[0].value : NULL;
  if ((status = cf_cli_parse_vars(&a, "--vars", vars_text, &vars))) return status;

  struct cf_runtime *rt = NULL;
  struct cf_buf out;
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);
  if ((status = cf_cli_open_runtime(&a, false, "cli", &rt))) goto out;
  int rc;
  if (what == COMPLETE)
    rc = cf_runtime_task_complete(rt, key, vars_text ? &vars : NULL, &err);
  else
    rc = cf_runtime_task_assign(rt, key, what == CLAIM ? claim_opts[0].value : NULL, &err);
  if (rc != CF_OK) {
    status = task_refused(&a, key, rc, &err);
    goto out;
  }
  if (a.json) {
    cf_buf_puts(&out, "{\"userTaskKey\":");
    cf_cli_json_key(&out, key);
    if (what != COMPLETE) {
      cf_buf_puts(&out, ",\"assignee\":");
      cf_cli_json_str(&out, what == CLAIM ? claim_opts[0].value : NULL);
    }
    cf_buf_puts(&out, "}\n");
  } else if (what == CLAIM) {
    cf_buf_printf(&out, "user task %llu assigned to %s\n", (unsigned long long)key, claim_opts[0].value);
  } else if (what == UNCLAIM) {
    cf_buf_printf(&out, "user task %llu unassigned\n", (unsigned long long)key);
  } else {
    cf_buf_printf(&out, "user task %llu completed\n", (unsigned long long)key);
  }
  status = cf_cli_emit(&a, &out);
out:
  if (rt) cf_runtime_close(rt);
  cf_feel_value_release(&vars);
  cf_buf_release(&out);
  return status;
}

int cf_cli_tasks(int argc, char **argv) {
  if (argc > 0 && !strcmp(argv[0], "claim")) return tasks_op(CLAIM, argc - 1, argv + 1);
  if (argc > 0 && !strcmp(argv[0], "unclaim")) return tasks_op(UNCLAIM, argc - 1, argv + 1);
  if (argc > 0 && !strcmp(argv[0], "complete")) return tasks_op(COMPLETE, argc - 1, argv + 1);
  return tasks_list(argc, argv);
}

/* ------------------------------------------------------------ message publish */

static const char message_usage[] =
    "usage: crmflow message publish NAME --key K [--vars JSON] [--ttl DURATION] [--id MESSAGE_ID]\n"
    "                               [--db PATH] [--json]\n"
    "  Publishes a message: correlated to the instances waiting for NAME with correlation key K\n"
    "  (at most one per process) and to message start events, and kept for --ttl (PT0S: not\n"
    "  kept) for instances that wait for it later. A second publish with an --id still kept\n"
    "  is a duplicate and does nothing.\n";

static int message_publish(int argc, char **argv) {
  struct cf_cli_opt opts[] = {{"--key", true, NULL}, {"--vars", true, NULL}, {"--ttl", true, NULL},
                              {"--id", true, NULL}};
  struct cf_cli_args a = {.cmd = "message publish", .usage = message_usage, .what = "NAME"};
  int status = cf_cli_args_parse(&a, argc, argv, opts, 4, 1, 1);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  if (!*a.pos[0]) return cf_cli_usage_error(&a, "the message NAME must not be empty");
  if (!opts[0].value)
    return cf_cli_usage_error(&a, "--key K is required (the correlation key; --key '' for none)");
  struct cf_time_duration ttl = {0};
  if (opts[2].value && !cf_cli_parse_duration(&a, "--ttl", opts[2].value, &ttl)) return 2;
  if (opts[3].value && !*opts[3].value) return cf_cli_usage_error(&a, "--id must not be empty");
  struct cf_feel_value vars;
  if ((status = cf_cli_parse_vars(&a, "--vars", opts[1].value, &vars))) return status;

  struct cf_runtime *rt = NULL;
  struct cf_buf out;
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);
  uint64_t mkey = 0;
  bool duplicate = false;
  int64_t now, until, ttl_ms = 0;
  if ((status = cf_cli_open_runtime(&a, false, "cli", &rt))) goto out;
  now = cf_runtime_now(rt);
  if (!cf_cli_time_shift(now, &ttl, 1, &until) || __builtin_sub_overflow(until, now, &ttl_ms)) {
    status = cf_cli_usage_error(&a, "--ttl is too long");
    goto out;
  }
  if (cf_runtime_publish(rt, a.pos[0], opts[0].value, opts[1].value ? &vars : NULL, ttl_ms, opts[3].value,
                         &mkey, &duplicate, &err) != CF_OK) {
    status = cf_cli_refuse(&a, "cannot publish '%s': %s", a.pos[0], err.msg);
    goto out;
  }
  if (a.json) {
    cf_buf_puts(&out, "{\"messageKey\":");
    cf_cli_json_key(&out, mkey);
    cf_buf_printf(&out, ",\"duplicate\":%s}\n", duplicate ? "true" : "false");
  } else if (duplicate) {
    cf_buf_printf(&out, "duplicate: a message with id %s is still kept; nothing was published\n",
                  opts[3].value);
  } else {
    cf_buf_printf(&out, "published message %s (key %llu)\n", a.pos[0], (unsigned long long)mkey);
  }
  status = cf_cli_emit(&a, &out);
out:
  if (rt) cf_runtime_close(rt);
  cf_feel_value_release(&vars);
  cf_buf_release(&out);
  return status;
}

int cf_cli_message(int argc, char **argv) {
  return cf_cli_one_subcommand(argc, argv, "message", message_usage, "publish", message_publish);
}

/* ------------------------------------------------------------ signal broadcast */

static const char signal_usage[] =
    "usage: crmflow signal broadcast NAME [--vars JSON] [--db PATH] [--json]\n"
    "  Broadcasts a signal to every instance waiting for it and to signal start events.\n";

static int signal_broadcast(int argc, char **argv) {
  struct cf_cli_opt opts[] = {{"--vars", true, NULL}};
  struct cf_cli_args a = {.cmd = "signal broadcast", .usage = signal_usage, .what = "NAME"};
  int status = cf_cli_args_parse(&a, argc, argv, opts, 1, 1, 1);
  if (status) return status == CF_CLI_HELP ? 0 : status;
  if (!*a.pos[0]) return cf_cli_usage_error(&a, "the signal NAME must not be empty");
  struct cf_feel_value vars;
  if ((status = cf_cli_parse_vars(&a, "--vars", opts[0].value, &vars))) return status;

  struct cf_runtime *rt = NULL;
  struct cf_buf out;
  cf_buf_init(&out);
  struct cf_error err;
  cf_error_clear(&err);
  size_t reached = 0;
  if ((status = cf_cli_open_runtime(&a, false, "cli", &rt))) goto out;
  if (cf_runtime_broadcast(rt, a.pos[0], opts[0].value ? &vars : NULL, &reached, &err) != CF_OK) {
    status = cf_cli_refuse(&a, "cannot broadcast '%s': %s", a.pos[0], err.msg);
    goto out;
  }
  if (a.json)
    cf_buf_printf(&out, "{\"reached\":%zu}\n", reached);
  else
    cf_buf_printf(&out, "signal %s reached %zu subscription%s\n", a.pos[0], reached, reached == 1 ? "" : "s");
  status = cf_cli_emit(&a, &out);
out:
  if (rt) cf_runtime_close(rt);
  cf_feel_value_release(&vars);
  cf_buf_release(&out);
  return status;
}

int cf_cli_signal(int argc, char **argv) {
  return cf_cli_one_subcommand(argc, argv, "signal", signal_usage, "broadcast", signal_broadcast);
}
