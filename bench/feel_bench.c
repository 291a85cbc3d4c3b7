/*
 * FEEL micro-benchmark: compile cost, evaluation cost and allocations per
 * evaluation of CRM-like expressions, each against a peer in the same run.
 *
 * The peer is the same comparison or arithmetic written by hand in plain C
 * (doubles, C strings, a stack buffer): a floor, "how far from hand-written
 * C". FEEL does more by design (exact decimals, null semantics, dynamic
 * types, warnings), so the ratio is expected to be well above 1; what matters
 * is that it does not grow from one commit to the next. Absolute numbers
 * depend on the machine; compare ratios.
 *
 * Output: one JSON line per expression (see bench/README.md).
 *
 * Allocations are counted by defining malloc/calloc/realloc/free in this
 * program, which interposes them for the whole process (our libraries and
 * the shared libraries alike), forwarding to glibc's __libc_* entry points.
 * No LD_PRELOAD, no link flags.
 *
 * Built by bench/run.sh, not by CMake.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "base/cf_buf.h"
#include "base/cf_json.h"
#include "feel/cf_feel.h"

/* ------------------------------------------------------ counting malloc */

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static unsigned long long n_allocs; /* malloc + calloc + realloc calls */

void *malloc(size_t n) {
  n_allocs++;
  return __libc_malloc(n);
}
void *calloc(size_t n, size_t s) {
  n_allocs++;
  return __libc_calloc(n, s);
}
void *realloc(void *p, size_t n) {
  n_allocs++;
  return __libc_realloc(p, n);
}
void free(void *p) { __libc_free(p); }

/* ------------------------------------------------------------- timing */

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#define MIN_RUN_NS 3e8 /* each measurement runs at least 0.3 s */

/* ------------------------------------------------------------- inputs */

static const char vars_json[] =
    "{\"amount\": 1500, \"customer\": {\"tier\": \"gold\", \"name\": \"Ada\"},"
    " \"priority\": \"urgent\","
    " \"items\": [{\"name\": \"widget\", \"price\": 19.99}, {\"name\": \"gadget\", \"price\": 5.5},"
    "             {\"name\": \"gizmo\", \"price\": 100}]}";

/* 2026-01-05T09:00:00Z */
static const struct cf_feel_env env = {.now_secs = 1767603600, .now_nanos = 0, .zone = NULL};

/* The same data as plain C, for the peer. volatile reads keep the compiler from folding. */
struct item {
  const char *name;
  double price;
};
static struct {
  double amount;
  const char *tier;
  const char *priority;
  struct item items[3];
  size_t nitems;
  int64_t now_secs;
} plain = {1500, "gold", "urgent", {{"widget", 19.99}, {"gadget", 5.5}, {"gizmo", 100}}, 3,
           1767603600};
static volatile double sink_d;
static volatile size_t sink_z;
static void *volatile plain_ptr = &plain;

static double peer_amount(void) {
  typeof(plain) *p = plain_ptr;
  return p->amount > 1000;
}
static double peer_gold(void) {
  typeof(plain) *p = plain_ptr;
  return strcmp(p->tier, "gold") == 0 && p->amount >= 500;
}
static double peer_urgent(void) {
  typeof(plain) *p = plain_ptr;
  const char *r = strcmp(p->priority, "urgent") == 0 ? "PT1H" : "PT8H";
  return (double)r[2];
}
static double peer_sum(void) {
  typeof(plain) *p = plain_ptr;
  double s = 0;
  for (size_t i = 0; i < p->nitems; i++) s += p->items[i].price;
  return s * 1.2;
}
static double peer_join(void) {
  typeof(plain) *p = plain_ptr;
  char buf[256];
  size_t n = 0;
  for (size_t i = 0; i < p->nitems; i++) {
    if (i) {
      memcpy(buf + n, ", ", 2);
      n += 2;
    }
    size_t l = strlen(p->items[i].name);
    memcpy(buf + n, p->items[i].name, l);
    n += l;
  }
  buf[n] = '\0';
  sink_z = n;
  return (double)buf[n / 2];
}
/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}
static double peer_date(void) {
  typeof(plain) *p = plain_ptr;
  int64_t day = days_from_civil(2026, 1, 5) + 3;
  int64_t today = p->now_secs / 86400;
  return day > today;
}

struct bench_case {
  const char *expr;
  double (*peer)(void);
};

static const struct bench_case cases[] = {
    {"amount > 1000", peer_amount},
    {"customer.tier = \"gold\" and amount >= 500", peer_gold},
    {"if priority = \"urgent\" then \"PT1H\" else \"PT8H\"", peer_urgent},
    {"sum(items.price) * 1.2", peer_sum},
    {"string join(for i in items return i.name, \", \")", peer_join},
    {"date(\"2026-01-05\") + duration(\"P3D\") > today()", peer_date},
};

/* -------------------------------------------------------------- measure */

/* ns per call of peer, over at least MIN_RUN_NS. */
static double time_peer(double (*peer)(void)) {
  for (int i = 0; i < 1000; i++) sink_d = peer();
  long iters = 1000;
  for (;;) {
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) sink_d = peer();
    double dt = now_ns() - t0;
    if (dt >= MIN_RUN_NS) return dt / (double)iters;
    iters *= dt < MIN_RUN_NS / 10 ? 10 : 2;
  }
}

static int eval_once(const struct cf_feel_expr *e, const struct cf_feel_value *vars) {
  struct cf_feel_value out;
  cf_feel_set_null(&out);
  int rc = cf_feel_eval(e, vars, &env, &out, NULL);
  cf_feel_value_release(&out);
  return rc;
}

static void json_str(FILE *f, const char *s) {
  struct cf_buf b;
  cf_buf_init(&b);
  cf_buf_json_string(&b, s, strlen(s));
  fputs(b.data, f);
  cf_buf_release(&b);
}

static int run_case(const struct bench_case *c, const struct cf_feel_value *vars) {
  struct cf_error err;
  size_t len = strlen(c->expr);

  /* Compile: once for the result, then repeatedly for a stable figure. */
  double t0 = now_ns();
  struct cf_feel_expr *e = cf_feel_compile(c->expr, len, NULL, 0, &err);
  double first_compile = now_ns() - t0;
  if (!e) {
    printf("{\"bench\":\"feel\",\"expr\":");
    json_str(stdout, c->expr);
    printf(",\"error\":");
    json_str(stdout, err.msg);
    printf("}\n");
    return 1;
  }
  int ncompile = 200;
  t0 = now_ns();
  for (int i = 0; i < ncompile; i++) cf_feel_expr_free(cf_feel_compile(c->expr, len, NULL, 0, &err));
  double compile_ns = (now_ns() - t0) / ncompile;

  /* The result, and its warnings: a benchmark of a null is no benchmark. */
  struct cf_feel_value out;
  struct cf_feel_warnings w;
  cf_feel_set_null(&out);
  cf_feel_warnings_init(&w);
  cf_feel_eval(e, vars, &env, &out, &w);
  struct json_object *rj = NULL;
  char *result = cf_feel_to_json(&out, &rj) == CF_OK ? cf_json_dump(rj) : NULL;
  json_object_put(rj);
  const char *warning = w.count ? w.items[0] : NULL;

  /* Allocations per evaluation. */
  const int nalloc = 1000;
  unsigned long long a0 = n_allocs;
  for (int i = 0; i < nalloc; i++) eval_once(e, vars);
  double allocs = (double)(n_allocs - a0) / nalloc;

  /* Evaluation time. */
  long iters = 1000;
  double eval_ns;
  for (;;) {
    t0 = now_ns();
    for (long i = 0; i < iters; i++) eval_once(e, vars);
    double dt = now_ns() - t0;
    if (dt >= MIN_RUN_NS) {
      eval_ns = dt / (double)iters;
      break;
    }
    iters *= dt < MIN_RUN_NS / 10 ? 10 : 2;
  }
  double peer_ns = time_peer(c->peer);

  printf("{\"bench\":\"feel\",\"expr\":");
  json_str(stdout, c->expr);
  printf(",\"result\":%s", result ? result : "null");
  if (warning) {
    printf(",\"warning\":");
    json_str(stdout, warning);
  }
  printf(",\"first_compile_ns\":%.0f,\"compile_ns\":%.0f,\"eval_ns_per_op\":%.1f,"
         "\"eval_iterations\":%ld,\"allocs_per_eval\":%.2f,"
         "\"peer\":\"hand-written C on doubles and C strings\",\"peer_ns_per_op\":%.2f,"
         "\"ratio_vs_peer\":%.1f}\n",
         first_compile, compile_ns, eval_ns, iters, allocs, peer_ns, eval_ns / peer_ns);
  fflush(stdout);

  free(result);
  cf_feel_value_release(&out);
  cf_feel_warnings_release(&w);
  cf_feel_expr_free(e);
  return 0;
}

int main(int argc, char **argv) {
  struct cf_error err;
  struct json_object *j = cf_json_parse(vars_json, sizeof vars_json - 1, &err);
  if (!j) {
    fprintf(stderr, "feel_bench: vars: %s\n", err.msg);
    return 1;
  }
  struct cf_feel_value vars;
  if (cf_feel_from_json(j, &vars) != CF_OK) {
    fprintf(stderr, "feel_bench: cf_feel_from_json failed\n");
    return 1;
  }
  json_object_put(j);

  int failed = 0;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    /* An optional argument selects cases by substring. */
    if (argc > 1 && !strstr(cases[i].expr, argv[1])) continue;
    failed |= run_case(&cases[i], &vars);
  }
  cf_feel_value_release(&vars);
  return failed;
}
