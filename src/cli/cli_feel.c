/*
 * `crmflow feel eval` (shared/contracts.md §2) and `crmflow feel test`.
 *
 * The output line is {"value": V, "type": T} plus "warnings" when the
 * evaluation reported problems; a syntax error is a warning too, and the
 * line is still answered, so a JSON-lines client never loses its place.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_json.h"
#include "base/cf_tz.h"
#include "cli/cli.h"
#include "feel/cf_feel.h"

static void env_now(struct cf_feel_env *env) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  env->now_secs = ts.tv_sec;
  env->now_nanos = (int32_t)ts.tv_nsec;
  env->zone = NULL;
  const char *tz = getenv("CRMFLOW_TZ");
  if (tz && *tz) env->zone = cf_tz_find(tz, strlen(tz));
}

/* Names of the variables, so the parser can see names with spaces. */
static size_t var_names(const struct cf_feel_value *vars, const char **names, size_t max) {
  size_t n = 0;
  if (vars->type != CF_FEEL_CONTEXT) return 0;
  for (uint32_t i = 0; i < vars->u.ctx->len && n < max; i++)
    names[n++] = vars->u.ctx->entries[i].key->data;
  return n;
}

/*
 * Evaluates expr (or unary tests against input) and appends the answer line
 * to out. Returns CF_OK, or CF_ENOMEM.
 */
static int answer(const char *expr, size_t len, struct json_object *jvars, struct json_object *jinput,
                  bool unary, const struct cf_feel_env *env, struct cf_buf *out) {
  struct cf_feel_value vars, input, result;
  cf_feel_set_null(&vars);
  cf_feel_set_null(&input);
  cf_feel_set_null(&result);
  struct cf_feel_warnings w;
  cf_feel_warnings_init(&w);
  struct cf_feel_expr *e = NULL;
  struct cf_error err;
  cf_error_clear(&err);
  char *synerr = NULL;
  int rc = CF_OK;

  if (jvars && (rc = cf_feel_from_json(jvars, &vars))) {
    synerr = cf_strdup(rc == CF_ENOMEM ? "out of memory" : "vars: a number beyond the decimal range or a string that is not UTF-8");
    rc = synerr ? CF_OK : CF_ENOMEM;
    goto print;
  }
  if (jvars && vars.type != CF_FEEL_CONTEXT) {
    synerr = cf_strdup("vars must be a JSON object");
    goto print;
  }
  if (jinput && (rc = cf_feel_from_json(jinput, &input))) {
    synerr = cf_strdup("input: a number beyond the decimal range or a string that is not UTF-8");
    rc = CF_OK;
    goto print;
  }
  {
    const char *names[256];
    size_t nn = var_names(&vars, names, 256);
    e = unary ? cf_feel_compile_unary(expr, len, names, nn, &err)
              : cf_feel_compile(expr, len, names, nn, &err);
  }
  if (!e) {
    if (err.code == CF_ENOMEM) {
      rc = CF_ENOMEM;
      goto out;
    }
    synerr = cf_strdup(err.msg);
    goto print;
  }
  rc = unary ? cf_feel_eval_unary(e, &input, &vars, env, &result, &w)
             : cf_feel_eval(e, &vars, env, &result, &w);
  if (rc) goto out;

print:;
  struct json_object *value = NULL;
  if ((rc = cf_feel_to_json(&result, &value))) goto out;
  struct json_object *line = json_object_new_object();
  json_object_object_add(line, "value", value);
  json_object_object_add(line, "type", json_object_new_string(cf_feel_type_name(result.type)));
  if (synerr || w.count) {
    struct json_object *warns = json_object_new_array();
    if (synerr) json_object_array_add(warns, json_object_new_string(synerr));
    for (size_t i = 0; i < w.count; i++) json_object_array_add(warns, json_object_new_string(w.items[i]));
    json_object_object_add(line, "warnings", warns);
  }
  char *text = cf_json_dump(line);
  json_object_put(line);
  if (!text) {
    rc = CF_ENOMEM;
    goto out;
  }
  cf_buf_puts(out, text);
  cf_buf_putc(out, '\n');
  cf_free(text);
  if (out->oom) rc = CF_ENOMEM;
out:
  cf_free(synerr);
  cf_feel_expr_free(e);
  cf_feel_value_release(&vars);
  cf_feel_value_release(&input);
  cf_feel_value_release(&result);
  cf_feel_warnings_release(&w);
  return rc;
}

static int eval_jsonl(const struct cf_feel_env *env) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  struct cf_buf out;
  cf_buf_init(&out);
  int status = 0;
  while ((n = getline(&line, &cap, stdin)) >= 0) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    if (n == 0) continue;
    cf_buf_reset(&out);
    struct cf_error err;
    struct json_object *req = cf_json_parse(line, (size_t)n, &err);
    struct json_object *jexpr = NULL, *jvars = NULL, *jinput = NULL;
    bool unary = false;
    if (req && json_object_is_type(req, json_type_object)) {
      json_object_object_get_ex(req, "expr", &jexpr);
      json_object_object_get_ex(req, "vars", &jvars);
      if (json_object_object_get_ex(req, "unaryTests", &jexpr) ||
          json_object_object_get_ex(req, "tests", &jexpr)) {
        unary = true;
        json_object_object_get_ex(req, "input", &jinput);
      } else {
        json_object_object_get_ex(req, "expr", &jexpr);
      }
    }
    int rc;
    if (!jexpr || !json_object_is_type(jexpr, json_type_string)) {
      char msg[600];
      snprintf(msg, sizeof msg, "%s",
               req || err.code == CF_OK ? "the line needs an \"expr\" string" : err.msg);
      struct json_object *o = json_object_new_object();
      json_object_object_add(o, "value", NULL);
      json_object_object_add(o, "type", json_object_new_string("null"));
      struct json_object *warns = json_object_new_array();
      json_object_array_add(warns, json_object_new_string(msg));
      json_object_object_add(o, "warnings", warns);
      cf_buf_puts(&out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
      cf_buf_putc(&out, '\n');
      json_object_put(o);
      rc = out.oom ? CF_ENOMEM : CF_OK;
    } else {
      rc = answer(json_object_get_string(jexpr), (size_t)json_object_get_string_len(jexpr),
                  jvars && !json_object_is_type(jvars, json_type_null) ? jvars : NULL, jinput, unary,
                  env, &out);
    }
    json_object_put(req);
    if (rc) {
      cf_cli_errorf("out of memory");
      status = 1;
      break;
    }
    fwrite(out.data, 1, out.len, stdout);
    fflush(stdout);
  }
  free(line);
  cf_buf_release(&out);
  return status;
}

static void feel_usage(void) {
  fputs("usage: crmflow feel eval [--vars JSON] EXPR\n"
        "       crmflow feel eval --jsonl\n"
        "       crmflow feel test [--vars JSON] [--input JSON] TESTS\n",
        stderr);
}

int cf_cli_feel(int argc, char **argv) {
  if (argc < 1 || (strcmp(argv[0], "eval") != 0 && strcmp(argv[0], "test") != 0)) {
    feel_usage();
    return 2;
  }
  bool unary = strcmp(argv[0], "test") == 0;
  const char *vars_text = NULL, *input_text = NULL, *expr = NULL;
  bool jsonl = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--jsonl")) {
      jsonl = true;
    } else if (!strcmp(argv[i], "--vars") && i + 1 < argc) {
      vars_text = argv[++i];
    } else if (unary && !strcmp(argv[i], "--input") && i + 1 < argc) {
      input_text = argv[++i];
    } else if (!strcmp(argv[i], "--")) {
      if (i + 1 < argc) expr = argv[++i];
    } else if (argv[i][0] == '-' && argv[i][1] == '-') {
      cf_cli_errorf("unknown option '%s'", argv[i]);
      feel_usage();
      return 2;
    } else if (!expr) {
      expr = argv[i];
    } else {
      cf_cli_errorf("one expression at a time (quote it): unexpected '%s'", argv[i]);
      return 2;
    }
  }
  struct cf_feel_env env;
  env_now(&env);
  if (jsonl) {
    if (expr || vars_text) {
      cf_cli_errorf("--jsonl reads expressions from stdin; give no EXPR or --vars");
      return 2;
    }
    return eval_jsonl(&env);
  }
  if (!expr) {
    feel_usage();
    return 2;
  }
  struct json_object *jvars = NULL, *jinput = NULL;
  struct cf_error err;
  if (vars_text) {
    jvars = cf_json_parse(vars_text, strlen(vars_text), &err);
    if (!jvars && err.code != CF_OK) {
      cf_cli_errorf("--vars: %s", err.msg);
      return 2;
    }
  }
  if (input_text) {
    jinput = cf_json_parse(input_text, strlen(input_text), &err);
    if (!jinput && err.code != CF_OK) {
      cf_cli_errorf("--input: %s", err.msg);
      json_object_put(jvars);
      return 2;
    }
  }
  struct cf_buf out;
  cf_buf_init(&out);
  int rc = answer(expr, strlen(expr), jvars, jinput, unary, &env, &out);
  json_object_put(jvars);
  json_object_put(jinput);
  if (rc) {
    cf_cli_errorf("out of memory");
    cf_buf_release(&out);
    return 1;
  }
  fwrite(out.data, 1, out.len, stdout);
  cf_buf_release(&out);
  return 0;
}
