/*
 * Out-of-memory behaviour of FEEL compile + eval, by fault injection.
 *
 * For each expression, and for n = 0, 1, 2, ... until a run needs no failed
 * allocation: the (n+1)th allocation and every later one fail; the
 * expression is compiled and evaluated. The promise (cf_feel.h): no crash;
 * compilation either succeeds or fails with CF_ENOMEM; evaluation either
 * gives the right result or returns CF_ENOMEM with a null result. Nothing
 * may leak on any of these paths: the ASan build (make test-asan) checks.
 * The sweep itself is feel_check_oom (feel_check.h).
 */
#include <stdbool.h>
#include <stddef.h>

#include "feel/cf_feel.h"

#include "feel_check.h"

/* Above this many allocations for one case, the test gives up (and fails). */
#define MAX_STEPS 20000

struct oom_case {
  const char *expr;
  const char *expect; /* the result as compact JSON (FEEL_FORM_JSON) */
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

static void oom_case(void **state) {
  const struct oom_case *c = *state;
  const struct feel_opts o = {
      .vars = vars_json, .env = &env, .unary = c->unary, .input = c->input, .oom_steps = MAX_STEPS};
  feel_check_oom(&o, c->expr, c->expect, __LINE__);
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
