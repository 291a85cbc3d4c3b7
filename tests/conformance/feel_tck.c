/*
 * Runs the DMN TCK FEEL cases (../shared/conformance/feel/tck-public.jsonl):
 * each line's `expr` and `expected` are both evaluated, and the case passes
 * when type and value agree (numbers as exact decimals), or, where the TCK
 * expects an error, when the result is null. Prints the pass rate per suite
 * and overall, and fails when the overall rate is below the threshold kept
 * in feel_tck_threshold.txt (raised as conformance rises).
 *
 * usage: feel_tck CASES.jsonl THRESHOLD_FILE [--failures]
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/cf_buf.h"
#include "base/cf_json.h"
#include "feel/cf_feel.h"

struct suite {
  char name[80];
  int pass, total;
};

static int eval_text(const char *text, const struct cf_feel_env *env, struct cf_feel_value *out) {
  struct cf_error err;
  struct cf_feel_expr *e = cf_feel_compile(text, strlen(text), NULL, 0, &err);
  cf_feel_set_null(out);
  if (!e) return -1;
  int rc = cf_feel_eval(e, NULL, env, out, NULL);
  cf_feel_expr_free(e);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: feel_tck CASES.jsonl THRESHOLD_FILE [--failures]\n");
    return 2;
  }
  bool show = argc > 3 && !strcmp(argv[3], "--failures");
  FILE *f = fopen(argv[1], "r");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  FILE *tf = fopen(argv[2], "r");
  double threshold = 0;
  if (!tf || fscanf(tf, "%lf", &threshold) != 1) {
    fprintf(stderr, "cannot read the threshold from %s\n", argv[2]);
    return 2;
  }
  fclose(tf);

  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct cf_feel_env env = {ts.tv_sec, (int32_t)ts.tv_nsec, NULL};

  struct suite suites[200];
  int nsuites = 0, pass = 0, total = 0;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) > 0) {
    struct cf_error err;
    struct json_object *c = cf_json_parse(line, (size_t)n, &err);
    if (!c) continue;
    struct json_object *js, *jid, *je, *jx, *jerr;
    if (!json_object_object_get_ex(c, "suite", &js) || !json_object_object_get_ex(c, "id", &jid) ||
        !json_object_object_get_ex(c, "expr", &je) || !json_object_object_get_ex(c, "expected", &jx)) {
      json_object_put(c);
      continue;
    }
    bool want_error = json_object_object_get_ex(c, "error", &jerr) && json_object_get_boolean(jerr);
    const char *sname = json_object_get_string(js);
    struct suite *s = NULL;
    for (int i = 0; i < nsuites; i++)
      if (!strcmp(suites[i].name, sname)) s = &suites[i];
    if (!s && nsuites < 200) {
      s = &suites[nsuites++];
      snprintf(s->name, sizeof s->name, "%s", sname);
      s->pass = s->total = 0;
    }
    struct cf_feel_value got, want;
    eval_text(json_object_get_string(je), &env, &got);
    bool ok;
    if (want_error) {
      ok = got.type == CF_FEEL_NULL;
      cf_feel_set_null(&want);
    } else {
      eval_text(json_object_get_string(jx), &env, &want);
      ok = got.type == want.type && cf_feel_equal(&got, &want) == 1;
    }
    if (s) {
      s->total++;
      s->pass += ok;
    }
    total++;
    pass += ok;
    if (!ok && show) {
      struct cf_buf b;
      cf_buf_init(&b);
      cf_feel_to_string(&got, &b);
      printf("FAIL %s %s: %s\n     got %s: %s\n     expected %s%s\n", sname, json_object_get_string(jid),
             json_object_get_string(je), cf_feel_type_name(got.type), b.data,
             json_object_get_string(jx), want_error ? " (error)" : "");
      cf_buf_release(&b);
    }
    cf_feel_value_release(&got);
    cf_feel_value_release(&want);
    json_object_put(c);
  }
  free(line);
  fclose(f);
  for (int i = 0; i < nsuites; i++)
    printf("%-40s %4d/%-4d %6.1f%%\n", suites[i].name, suites[i].pass, suites[i].total,
           100.0 * suites[i].pass / suites[i].total);
  double rate = total ? 100.0 * pass / total : 0;
  printf("overall: %d/%d = %.2f%% (threshold %.2f%%)\n", pass, total, rate, threshold);
  printf("%d passed, %d failed\n", pass, total - pass);
  if (rate < threshold) {
    printf("FAIL: the pass rate dropped below the threshold in %s\n", argv[2]);
    return 1;
  }
  return 0;
}
