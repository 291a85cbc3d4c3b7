/*
 * Out-of-memory behaviour of FEEL compile + eval, by fault injection.
 *
 * For each expression, and for n = 0, 1, 2, ... until a run needs no failed
 * allocation: the (n+1)th allocation and every later one fail; the
 * expression is compiled and evaluated. The promise (cf_feel.h): no crash;
 * compilation either succeeds or fails with CF_ENOMEM; evaluation either
 * gives the right result or returns CF_ENOMEM with a null result. Nothing
 * may leak on any of these paths: the ASan build (make test-asan) checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/cf_alloc.h"
#include "base/cf_json.h"
#include "feel/cf_feel.h"

/* Above this many allocations for one case, the test gives up (and fails). */
#define MAX_STEPS 20000

struct oom_case {
  const char *expr;
  const char *expect; /* the result as compact JSON (cf_feel_to_json + cf_json_dump) */
  bool unary;         /* unary tests, evaluated with `input` as ? */
  const char *input;  /* JSON of the input value, for unary tests */
};

static const struct oom_case cases[] = {
    {"amount > 1000", "true", false, NULL},
    {"customer.tier = \"gold\" and amount >= 500", "true", false, NULL},
    {"if priority = \"urgent\" then \"PT1H\" else \"PT8H\"", "\"PT1H\"", false, NULL},
    {"sum(items.price) * 1.2", "150.588", false, NULL},
    {"string join(for i in items return i.name, \", \")", "\"widget, gadget, gizmo\"", false, NULL},
    {"date(\"2026-01-05\") + duration(\"P3D\") > today()", "true", false, NULL},
    {"{a: 1, b: a + 1, c: [b, b * 2]}", "{\"a\":1,\"b\":2,\"c\":[2,4]}", false, NULL},
    {"for x in [1, 2, 3] return x * x", "[1,4,9]", false, NULL},
    {"items[price > 10].name", "[\"widget\",\"gizmo\"]", false, NULL},
    {"some i in items satisfies i.price > 50", "true", false, NULL},
    {"every i in items satisfies i.price > 50", "false", false, NULL},
    {"upper case(substring(\"crmflow\", 4))", "\"FLOW\"", false, NULL},
    {"matches(customer.email, \"^[a-z]+@[a-z]+\\\\.com$\")", "true", false, NULL},
    {"replace(\"a1b22\", \"[0-9]+\", \"#\")", "\"a#b#\"", false, NULL},
    {"(function(x) x + 1)(41)", "42", false, NULL},
    {"sort([3, 1, 2], function(x, y) x < y)", "[1,2,3]", false, NULL},
    {"substring(string: \"crmflow\", start position: 1, length: 3)", "\"crm\"", false, NULL},
    {"@\"2026-01-05T09:30:00Z\" + @\"PT1H\"", "\"2026-01-05T10:30:00Z\"", false, NULL},
    {"amount between 1000 and 2000 and priority in (\"urgent\", \"high\")", "true", false, NULL},
    {"10 / 0", "null", false, NULL},
    {"12345678901234567891 + 1", "12345678901234567892", false, NULL},
    {"> 1000", "true", true, "1500"},
    {"\"low\", \"urgent\"", "true", true, "\"urgent\""},
    {"[1..5], > 100", "false", true, "50"},
};

static const char vars_json[] =
    "{\"amount\": 1500, \"priority\": \"urgent\","
    " \"customer\": {\"tier\": \"gold\", \"email\": \"ada@example.com\"},"
    " \"items\": [{\"name\": \"widget\", \"price\": 19.99}, {\"name\": \"gadget\", \"price\": 5.5},"
    "             {\"name\": \"gizmo\", \"price\": 100}]}";

/* 2026-01-05T09:00:00Z */
static const struct cf_feel_env env = {.now_secs = 1767603600, .now_nanos = 0, .zone = NULL};

static void value_of_json(const char *text, struct cf_feel_value *v) {
  struct cf_error err;
  struct json_object *j = cf_json_parse(text, strlen(text), &err);
  if (!j) fail_msg("bad test JSON %s: %s", text, err.msg);
  assert_int_equal(cf_feel_from_json(j, v), CF_OK);
  json_object_put(j);
}

/* The result as compact JSON text (new, cf_free). */
static char *result_text(const struct cf_feel_value *v) {
  struct json_object *j = NULL; /* NULL is JSON null */
  assert_int_equal(cf_feel_to_json(v, &j), CF_OK);
  char *s = cf_json_dump(j);
  json_object_put(j);
  assert_non_null(s);
  return s;
}

/*
 * One run with allocations failing after `countdown` (negative: never).
 * Returns true when no allocation was refused (the run was complete).
 */
static bool run_once(const struct oom_case *c, const struct cf_feel_value *vars,
                     const struct cf_feel_value *input, long countdown) {
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_feel_warnings w;
  cf_feel_warnings_init(&w);
  struct cf_feel_value out;
  cf_feel_set_null(&out);
  int rc = CF_OK;
  size_t len = strlen(c->expr);

  cf_alloc_fail_after(countdown);
  struct cf_feel_expr *e = c->unary ? cf_feel_compile_unary(c->expr, len, NULL, 0, &err)
                                    : cf_feel_compile(c->expr, len, NULL, 0, &err);
  if (e) {
    rc = c->unary ? cf_feel_eval_unary(e, input, vars, &env, &out, &w)
                  : cf_feel_eval(e, vars, &env, &out, &w);
  }
  long failures = cf_alloc_failures();
  cf_alloc_fail_reset();

  if (!e) {
    /* A valid expression fails to compile only for lack of memory. */
    if (failures == 0 || err.code != CF_ENOMEM)
      fail_msg("%s: after %ld allocations: compile failed with %s (%s), %ld refused", c->expr,
               countdown, cf_err_name(err.code), err.msg, failures);
  } else if (rc == CF_ENOMEM) {
    if (failures == 0) fail_msg("%s: CF_ENOMEM with no refused allocation", c->expr);
    if (out.type != CF_FEEL_NULL)
      fail_msg("%s: after %ld allocations: CF_ENOMEM but the result is a %s, not null", c->expr,
               countdown, cf_feel_type_name(out.type));
  } else if (rc != CF_OK) {
    fail_msg("%s: after %ld allocations: eval returned %s", c->expr, countdown, cf_err_name(rc));
  } else {
    /* CF_OK: then the result must be right, whatever was refused on the way. */
    char *got = result_text(&out);
    if (strcmp(got, c->expect) != 0) {
      const char *why = w.count ? w.items[0] : "no warning";
      fail_msg("%s: after %ld allocations (%ld refused): got %s (%s), want %s", c->expr,
               countdown, failures, got, why, c->expect);
    }
    cf_free(got);
  }
  cf_feel_value_release(&out);
  cf_feel_warnings_release(&w);
  cf_feel_expr_free(e);
  return failures == 0;
}

static void oom_case(void **state) {
  const struct oom_case *c = *state;
  struct cf_feel_value vars, input;
  value_of_json(vars_json, &vars);
  cf_feel_set_null(&input);
  if (c->unary) value_of_json(c->input, &input);

  /* Without injection first, so a wrong result is not mistaken for an OOM problem. */
  assert_true(run_once(c, &vars, &input, -1));
  long n;
  for (n = 0; n < MAX_STEPS; n++)
    if (run_once(c, &vars, &input, n)) break;
  if (n == MAX_STEPS) fail_msg("%s: still refusing allocations after %d", c->expr, MAX_STEPS);
  cf_feel_value_release(&input);
  cf_feel_value_release(&vars);
}

int main(void) {
  enum { N = sizeof cases / sizeof *cases };
  struct CMUnitTest tests[N];
  for (size_t i = 0; i < N; i++) {
    tests[i] = (struct CMUnitTest){.name = cases[i].expr,
                                   .test_func = oom_case,
                                   .setup_func = NULL,
                                   .teardown_func = NULL,
                                   .initial_state = (void *)&cases[i]};
  }
  return _cmocka_run_group_tests("feel.oom", tests, N, NULL, NULL);
}
