/*
 * `crmflow token`, `crmflow user` and `crmflow group` (shared/contracts.md
 * §6, docs/cli.md): who may use the server's API.
 *
 * A token is printed once, on stdout alone (so `TOKEN=$(crmflow token
 * create ...)` works), and only its digest is stored. A password is read
 * from stdin (--password-stdin), never from the command line, where other
 * users could see it in the process list, and stored as argon2id.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/cf_api.h"
#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "cli/cli.h"
#include "store/cf_store.h"

static const char *const roles = "admin, designer, agent, worker, viewer";

static bool role_ok(const char *r) {
  static const char *const all[] = {"admin", "designer", "agent", "worker", "viewer"};
  for (size_t i = 0; i < 5; i++)
    if (r && !strcmp(r, all[i])) return true;
  return false;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Opens the database for writing (created when missing). */
static int open_writer(const struct cf_cli_args *a, const struct cf_store_ops **ops, struct cf_store **st) {
  struct cf_error err;
  cf_error_clear(&err);
  if (cf_store_open(a->db, 0, ops, st, &err) != CF_OK)
    return cf_cli_refuse(a, "cannot open the database %s: %s", a->db, err.msg);
  return 0;
}

/* A comma-separated list of names as a JSON array. */
static char *groups_json(const char *list) {
  struct cf_buf b;
  cf_buf_init(&b);
  cf_buf_putc(&b, '[');
  const char *p = list ? list : "";
  bool first = true;
  while (*p) {
    size_t n = strcspn(p, ",");
    if (n) {
      if (!first) cf_buf_putc(&b, ',');
      cf_buf_json_string(&b, p, n);
      first = false;
    }
    p += n;
    if (*p == ',') p++;
  }
  cf_buf_putc(&b, ']');
  cf_buf_putc(&b, '\0');
  return cf_buf_detach(&b);
}

/* ------------------------------------------------------------ tokens */

static const char token_usage[] =
    "usage: crmflow token create --name NAME --role ROLE [--user USER] [--db PATH]\n"
    "       crmflow token list [--db PATH] [--json]\n"
    "       crmflow token delete NAME [--db PATH]\n"
    "  API tokens for `crmflow serve`: requests send 'Authorization: Bearer TOKEN'. create prints\n"
    "  the new token once, on stdout alone; only its digest is stored. ROLE: admin, designer,\n"
    "  agent, worker, viewer. --user: the user an agent's token acts as (its tasks, its groups).\n";

static int token_create(int argc, char **argv) {
  struct cf_cli_opt opts[] = {{"--name", true, NULL}, {"--role", true, NULL}, {"--user", true, NULL}};
  struct cf_cli_args a = {.cmd = "token create", .usage = token_usage};
  int rc = cf_cli_args_parse(&a, argc, argv, opts, 3, 0, 0);
  if (rc) return rc == CF_CLI_HELP ? 0 : rc;
  const char *name = opts[0].value, *role = opts[1].value, *user = opts[2].value;
  if (!name || !*name) return cf_cli_usage_error(&a, "--name is required");
  if (!role_ok(role)) return cf_cli_usage_error(&a, "--role must be one of %s, not '%s'", roles, role ? role : "");
  const struct cf_store_ops *ops;
  struct cf_store *st;
  if ((rc = open_writer(&a, &ops, &st))) return rc;
  struct cf_error err;
  cf_error_clear(&err);
  if (user) {
    struct cf_store_user u;
    memset(&u, 0, sizeof u);
    int r = ops->user_get(st, user, &u, &err);
    cf_store_user_release(&u);
    if (r) {
      ops->close(st);
      return cf_cli_refuse(&a, "%s", r == CF_ENOTFOUND ? "no such user (crmflow user create first)" : err.msg);
    }
  }
  char secret[48], hash[65];
  cf_api_token_new(secret);
  cf_api_token_hash(secret, hash);
  struct cf_store_token t = {.name = (char *)name, .role = (char *)role, .user = (char *)user, .hash = hash,
                             .created_ms = now_ms()};
  rc = ops->token_insert(st, &t, &err);
  ops->close(st);
  if (rc == CF_ECONFLICT) return cf_cli_refuse(&a, "a token named '%s' exists already", name);
  if (rc) return cf_cli_refuse(&a, "%s", err.msg);
  printf("%s\n", secret);
  fflush(stdout);
  fprintf(stderr, "crmflow: token '%s' (%s) created; it is shown only this once\n", name, role);
  sodium_memzero(secret, sizeof secret);
  return 0;
}

static int token_list(int argc, char **argv) {
  struct cf_cli_args a = {.cmd = "token list", .usage = token_usage};
  int rc = cf_cli_args_parse(&a, argc, argv, NULL, 0, 0, 0);
  if (rc) return rc == CF_CLI_HELP ? 0 : rc;
  const struct cf_store_ops *ops;
  struct cf_store *st;
  if ((rc = cf_cli_open_reader(&a, &ops, &st))) return rc;
  struct cf_store_token *t = NULL;
  size_t n = 0;
  struct cf_error err;
  cf_error_clear(&err);
  rc = ops->token_list(st, &t, &n, &err);
  ops->close(st);
  if (rc) return cf_cli_refuse(&a, "%s", err.msg);
  struct cf_buf b;
  cf_buf_init(&b);
  if (a.json) {
    cf_buf_puts(&b, "{\"tokens\":[");
    for (size_t i = 0; i < n; i++) {
      cf_buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
      cf_cli_json_str(&b, t[i].name);
      cf_buf_puts(&b, ",\"role\":");
      cf_cli_json_str(&b, t[i].role);
      cf_buf_puts(&b, ",\"user\":");
      cf_cli_json_str(&b, t[i].user);
      cf_buf_puts(&b, ",\"created\":");
      cf_cli_json_time(&b, t[i].created_ms);
      cf_buf_putc(&b, '}');
    }
    cf_buf_puts(&b, "]}\n");
  } else {
    static const char *const head[] = {"NAME", "ROLE", "USER", "CREATED"};
    struct cf_cli_table tb;
    cf_cli_table_init(&tb, 4, head, 60);
    for (size_t i = 0; i < n; i++) {
      char when[48];
      const char *row[] = {t[i].name, t[i].role, t[i].user ? t[i].user : "", cf_cli_format_time(t[i].created_ms, when, sizeof when)};
      cf_cli_table_add(&tb, row);
    }
    cf_cli_table_render(&tb, &b);
    cf_cli_table_release(&tb);
  }
  for (size_t i = 0; i < n; i++) cf_store_token_release(&t[i]);
  cf_free(t);
  rc = cf_cli_emit(&a, &b);
  cf_buf_release(&b);
  return rc;
}

static int token_delete(int argc, char **argv) {
  struct cf_cli_args a = {.cmd = "token delete", .usage = token_usage, .what = "NAME"};
  int rc = cf_cli_args_parse(&a, argc, argv, NULL, 0, 1, 1);
  if (rc) return rc == CF_CLI_HELP ? 0 : rc;
  const struct cf_store_ops *ops;
  struct cf_store *st;
  if ((rc = open_writer(&a, &ops, &st))) return rc;
  struct cf_error err;
  cf_error_clear(&err);
  rc = ops->token_delete(st, a.pos[0], &err);
  ops->close(st);
  if (rc == CF_ENOTFOUND) return cf_cli_refuse(&a, "no token named '%s'", a.pos[0]);
  if (rc) return cf_cli_refuse(&a, "%s", err.msg);
  fprintf(stderr, "crmflow: token '%s' deleted (a running server refuses it within seconds)\n", a.pos[0]);
  return 0;
}

int cf_cli_token(int argc, char **argv) {
  if (argc >= 1 && !strcmp(argv[0], "create")) return token_create(argc - 1, argv + 1);
  if (argc >= 1 && !strcmp(argv[0], "list")) return token_list(argc - 1, argv + 1);
  if (argc >= 1 && !strcmp(argv[0], "delete")) return token_delete(argc - 1, argv + 1);
  if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
    fputs(token_usage, stdout);
    return 0;
  }
  fputs(token_usage, stderr);
  return 2;
}

/* ------------------------------------------------------------ users and groups */

static const char user_usage[] =
    "usage: crmflow user create NAME --role ROLE [--groups G1,G2] [--display-name TEXT] [--password-stdin]\n"
    "       crmflow user list [--json]\n"
    "       crmflow user delete NAME\n"
    "       crmflow group create NAME [--display-name TEXT]\n"
    "       crmflow group list [--json]\n"
    "       crmflow group delete NAME\n"
    "  (each takes --db PATH) Users sign in to the UI and may use Basic authentication; their\n"
    "  password is read from stdin (one line) with --password-stdin and stored as argon2id.\n"
    "  An agent works the tasks assigned to it or offered to it or to one of its groups.\n";

/* One line from stdin, without its newline; NULL when empty. */
static char *read_password(void) {
  char buf[1024];
  if (!fgets(buf, sizeof buf, stdin)) return NULL;
  buf[strcspn(buf, "\r\n")] = '\0';
  char *p = buf[0] ? cf_strdup(buf) : NULL;
  sodium_memzero(buf, sizeof buf);
  return p;
}

static int user_create(int argc, char **argv) {
  struct cf_cli_opt opts[] = {{"--role", true, NULL},
                              {"--groups", true, NULL},
                              {"--display-name", true, NULL},
                              {"--password-stdin", false, NULL}};
  struct cf_cli_args a = {.cmd = "user create", .usage = user_usage, .what = "NAME"};
  int rc = cf_cli_args_parse(&a, argc, argv, opts, 4, 1, 1);
  if (rc) return rc == CF_CLI_HELP ? 0 : rc;
  if (!role_ok(opts[0].value))
    return cf_cli_usage_error(&a, "--role must be one of %s, not '%s'", roles, opts[0].value ? opts[0].value : "");
  char hash[crypto_pwhash_STRBYTES] = "";
  if (opts[3].value) {
    char *pw = read_password();
    if (!pw || strlen(pw) < 8) {
      cf_free(pw);
      return cf_cli_usage_error(&a, "the password (one line on stdin) must have at least 8 characters");
    }
    if (sodium_init() < 0 || crypto_pwhash_str(hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                               crypto_pwhash_MEMLIMIT_INTERACTIVE)) {
      sodium_memzero(pw, strlen(pw));
      cf_free(pw);
      return cf_cli_refuse(&a, "cannot hash the password (out of memory)");
    }
    sodium_memzero(pw, strlen(pw));
    cf_free(pw);
  }
  char *groups = groups_json(opts[1].value);
  if (!groups) return cf_cli_refuse(&a, "out of memory");
  const struct cf_store_ops *ops;
  struct cf_store *st;
  if ((rc = open_writer(&a, &ops, &st))) {
    cf_free(groups);
    return rc;
  }
  struct cf_store_user u = {.name = (char *)a.pos[0], .display_name = (char *)opts[2].value,
                            .role = (char *)opts[0].value, .password_hash = hash[0] ? hash : NULL,
                            .groups = groups, .created_ms = now_ms()};
  struct cf_error err;
  cf_error_clear(&err);
  rc = ops->user_put(st, &u, true, &err);
  ops->close(st);
  cf_free(groups);
  sodium_memzero(hash, sizeof hash);
  if (rc == CF_ECONFLICT) return cf_cli_refuse(&a, "a user named '%s' exists already", a.pos[0]);
  if (rc) return cf_cli_refuse(&a, "%s", err.msg);
  fprintf(stderr, "crmflow: user '%s' (%s) created\n", a.pos[0], opts[0].value);
  return 0;
}

static int names_list(int argc, char **argv, bool users) {
  struct cf_cli_args a = {.cmd = users ? "user list" : "group list", .usage = user_usage};
  int rc = cf_cli_args_parse(&a, argc, argv, NULL, 0, 0, 0);
  if (rc) return rc == CF_CLI_HELP ? 0 : rc;
  const struct cf_store_ops *ops;
  struct cf_store *st;
  if ((rc = cf_cli_open_reader(&a, &ops, &st))) return rc;
  struct cf_store_user *u = NULL;
  struct cf_store_group *g = NULL;
  size_t n = 0;
  struct cf_error err;
  cf_error_clear(&err);
  rc = users ? ops->user_list(st, &u, &n, &err) : ops->group_list(st, &g, &n, &err);
  ops->close(st);
  if (rc) return cf_cli_refuse(&a, "%s", err.msg);
  struct cf_buf b;
  cf_buf_init(&b);
  if (a.json) {
    cf_buf_puts(&b, users ? "{\"users\":[" : "{\"groups\":[");
    for (size_t i = 0; i < n; i++) {
      cf_buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
      cf_cli_json_str(&b, users ? u[i].name : g[i].name);
      cf_buf_puts(&b, ",\"displayName\":");
      cf_cli_json_str(&b, users ? u[i].display_name : g[i].display_name);
      if (users) {
        cf_buf_puts(&b, ",\"role\":");
        cf_cli_json_str(&b, u[i].role);
        cf_buf_puts(&b, ",\"groups\":");
        cf_cli_json_raw(&b, u[i].groups, "[]");
        cf_buf_printf(&b, ",\"canSignIn\":%s", u[i].password_hash ? "true" : "false");
      }
      cf_buf_putc(&b, '}');
    }
    cf_buf_puts(&b, "]}\n");
  } else {
    static const char *const uhead[] = {"NAME", "ROLE", "GROUPS", "SIGN-IN"};
    static const char *const ghead[] = {"NAME", "DISPLAY NAME"};
    struct cf_cli_table tb;
    cf_cli_table_init(&tb, users ? 4 : 2, users ? uhead : ghead, 60);
    for (size_t i = 0; i < n; i++) {
      if (users) {
        const char *row[] = {u[i].name, u[i].role, u[i].groups ? u[i].groups : "[]",
                             u[i].password_hash ? "yes" : "no"};
        cf_cli_table_add(&tb, row);
      } else {
        const char *row[] = {g[i].name, g[i].display_name ? g[i].display_name : ""};
        cf_cli_table_add(&tb, row);
      }
    }
    cf_cli_table_render(&tb, &b);
    cf_cli_table_release(&tb);
  }
  for (size_t i = 0; i < n; i++) {
    if (users) cf_store_user_release(&u[i]);
    else cf_store_group_release(&g[i]);
  }
  cf_free(u);
  cf_free(g);
  rc = cf_cli_emit(&a, &b);
  cf_buf_release(&b);
  return rc;
}

static int name_delete(int argc, char **argv, bool users) {
  struct cf_cli_args a = {.cmd = users ? "user delete" : "group delete", .usage = user_usage, .what = "NAME"};
  int rc = cf_cli_args_parse(&a, argc, argv, NULL, 0, 1, 1);
  if (rc) return rc == CF_CLI_HELP ? 0 : rc;
  const struct cf_store_ops *ops;
  struct cf_store *st;
  if ((rc = open_writer(&a, &ops, &st))) return rc;
  struct cf_error err;
  cf_error_clear(&err);
  rc = users ? ops->user_delete(st, a.pos[0], &err) : ops->group_delete(st, a.pos[0], &err);
  ops->close(st);
  if (rc == CF_ENOTFOUND) return cf_cli_refuse(&a, "no %s named '%s'", users ? "user" : "group", a.pos[0]);
  if (rc) return cf_cli_refuse(&a, "%s", err.msg);
  return 0;
}

static int group_create(int argc, char **argv) {
  struct cf_cli_opt opts[] = {{"--display-name", true, NULL}};
  struct cf_cli_args a = {.cmd = "group create", .usage = user_usage, .what = "NAME"};
  int rc = cf_cli_args_parse(&a, argc, argv, opts, 1, 1, 1);
  if (rc) return rc == CF_CLI_HELP ? 0 : rc;
  const struct cf_store_ops *ops;
  struct cf_store *st;
  if ((rc = open_writer(&a, &ops, &st))) return rc;
  struct cf_store_group g = {.name = (char *)a.pos[0], .display_name = (char *)opts[0].value, .created_ms = now_ms()};
  struct cf_error err;
  cf_error_clear(&err);
  rc = ops->group_put(st, &g, true, &err);
  ops->close(st);
  if (rc == CF_ECONFLICT) return cf_cli_refuse(&a, "a group named '%s' exists already", a.pos[0]);
  if (rc) return cf_cli_refuse(&a, "%s", err.msg);
  return 0;
}

int cf_cli_user(int argc, char **argv) {
  if (argc >= 1 && !strcmp(argv[0], "create")) return user_create(argc - 1, argv + 1);
  if (argc >= 1 && !strcmp(argv[0], "list")) return names_list(argc - 1, argv + 1, true);
  if (argc >= 1 && !strcmp(argv[0], "delete")) return name_delete(argc - 1, argv + 1, true);
  if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
    fputs(user_usage, stdout);
    return 0;
  }
  fputs(user_usage, stderr);
  return 2;
}

int cf_cli_group(int argc, char **argv) {
  if (argc >= 1 && !strcmp(argv[0], "create")) return group_create(argc - 1, argv + 1);
  if (argc >= 1 && !strcmp(argv[0], "list")) return names_list(argc - 1, argv + 1, false);
  if (argc >= 1 && !strcmp(argv[0], "delete")) return name_delete(argc - 1, argv + 1, false);
  if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
    fputs(user_usage, stdout);
    return 0;
  }
  fputs(user_usage, stderr);
  return 2;
}
