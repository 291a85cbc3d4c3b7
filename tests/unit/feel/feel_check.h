/*
 * Checks shared by the FEEL unit tests: compile and evaluate an expression
 * as a user would, then compare its result, as text, with what the test
 * wants; and sweep an evaluation with every allocation failing in turn.
 *
 * Header-only on purpose: each tests/unit/feel/test_*.c is its own cmocka
 * program (tests/CMakeLists.txt), so there is no test library to link, and
 * every function here is static. They are `static inline` only so that a
 * program that uses a few of them does not trip -Wunused-function.
 *
 * Everything takes a `const struct feel_opts *`, NULL for the defaults: no
 * variables, a zeroed env (1970-01-01T00:00:00Z, UTC), results as JSON. A
 * test file usually binds its options once in its EXPECT macros.
 *
 * Failures go through cmocka (fail_msg, assert_*), which jumps out of the
 * test: what was allocated on the way is then not freed, as in any failed
 * cmocka test. On success nothing leaks (the sanitizer build checks).
 */
#ifndef CF_TESTS_FEEL_CHECK_H
#define CF_TESTS_FEEL_CHECK_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "base/cf_json.h"
#include "feel/cf_feel.h"

/* How a result becomes the text a test compares. */
enum feel_form {
  /* Compact JSON (cf_feel_to_json, written as cf_json_dump writes it):
   * strings quoted, temporals as ISO-8601 strings, null as null. */
  FEEL_FORM_JSON = 0,
  /* What FEEL's string() gives (cf_feel_to_string): strings bare, lists as
   * "[1, 2]". A string "null" and null print alike here, so the checks also
   * compare null-ness: want "null" means the null value, nothing else. */
  FEEL_FORM_STRING
};

/* feel_check_oom gives up, and fails, after this many allocations by default. */
#define FEEL_OOM_STEPS 2000

/* The variable names passed to the compiler, at most (the rest still evaluate). */
#define FEEL_MAX_NAMES 32

struct feel_opts {
  /* JSON text of an object whose members are the variables, or NULL for
   * none. Its names are also given to the compiler, so that names with
   * spaces (`Order Total`) parse. */
  const char *vars;
  /* The clock and zone of the evaluation (borrowed); NULL: zeroed. */
  const struct cf_feel_env *env;
  enum feel_form form;
  /* Compile src as unary tests (cf_feel_compile_unary), evaluated with
   * input, JSON text (NULL: null), as `?`. */
  bool unary;
  const char *input;
  /* feel_check_oom only: allocations after which it gives up and fails;
   * 0: FEEL_OOM_STEPS. */
  long oom_steps;
};

/* One evaluation, as feel_eval gives it. Release with feel_result_release. */
struct feel_result {
  char *text;      /* the result in the form asked for; NULL if src did not compile */
  bool is_null;    /* the result is the null value */
  char *warning;   /* the first warning, or the syntax error if text is NULL; NULL if none */
  size_t warnings; /* warnings given, those kept and those dropped */
};

/* ---------------------------------------------------------- internals */

/* Arguments for a "%s%s%s" that names what was evaluated: src, and ? for unary tests. */
#define FEEL__WHAT(o, src)                        \
  (src), ((o) && (o)->unary ? " with ? = " : ""), \
      ((o) && (o)->unary ? ((o)->input ? (o)->input : "null") : "")

/* What one evaluation reads, built once from the options (the JSON parsed). */
struct feel__inputs {
  bool has_vars;
  struct cf_feel_value vars, input;
  const char *names[FEEL_MAX_NAMES]; /* borrowed from vars */
  size_t nnames;
  struct cf_feel_env env;
  enum feel_form form;
  bool unary;
};

static inline void feel__value_of_json(const char *text, struct cf_feel_value *v, int line) {
  struct cf_error err = {0};
  struct json_object *j = cf_json_parse(text, strlen(text), &err);
  if (!j && err.code != CF_OK) fail_msg("line %d: bad test JSON %s: %s", line, text, err.msg);
  if (cf_feel_from_json(j, v) != CF_OK) fail_msg("line %d: test JSON %s is no FEEL value", line, text);
  json_object_put(j);
}

static inline void feel__inputs_init(struct feel__inputs *in, const struct feel_opts *o, int line) {
  static const struct feel_opts defaults = {0};
  if (!o) o = &defaults;
  memset(in, 0, sizeof *in);
  cf_feel_set_null(&in->vars);
  cf_feel_set_null(&in->input);
  if (o->env) in->env = *o->env;
  in->form = o->form;
  in->unary = o->unary;
  if (o->vars) {
    feel__value_of_json(o->vars, &in->vars, line);
    if (in->vars.type != CF_FEEL_CONTEXT) fail_msg("line %d: variables %s are no JSON object", line, o->vars);
    in->has_vars = true;
    for (uint32_t i = 0; i < in->vars.u.ctx->len && in->nnames < FEEL_MAX_NAMES; i++)
      in->names[in->nnames++] = in->vars.u.ctx->entries[i].key->data;
  }
  if (o->unary && o->input) feel__value_of_json(o->input, &in->input, line);
}

static inline void feel__inputs_release(struct feel__inputs *in) {
  cf_feel_value_release(&in->vars);
  cf_feel_value_release(&in->input);
}

/* One compile and evaluation; release with feel__run_release. */
struct feel__run {
  struct cf_feel_expr *e; /* NULL: compilation failed, err says why */
  struct cf_error err;
  int rc; /* of the evaluation */
  struct cf_feel_value out;
  struct cf_feel_warnings w;
};

static inline void feel__run_start(struct feel__run *r, const struct feel__inputs *in, const char *src) {
  cf_error_clear(&r->err);
  cf_feel_warnings_init(&r->w);
  cf_feel_set_null(&r->out);
  r->rc = CF_OK;
  size_t len = strlen(src);
  r->e = in->unary ? cf_feel_compile_unary(src, len, in->names, in->nnames, &r->err)
                   : cf_feel_compile(src, len, in->names, in->nnames, &r->err);
  if (!r->e) return;
  const struct cf_feel_value *vars = in->has_vars ? &in->vars : NULL;
  r->rc = in->unary ? cf_feel_eval_unary(r->e, &in->input, vars, &in->env, &r->out, &r->w)
                    : cf_feel_eval(r->e, vars, &in->env, &r->out, &r->w);
}

static inline void feel__run_release(struct feel__run *r) {
  cf_feel_value_release(&r->out);
  cf_feel_warnings_release(&r->w);
  cf_feel_expr_free(r->e);
}

/* v as text in the given form (new; free()). */
static inline char *feel__text(const struct cf_feel_value *v, enum feel_form form) {
  char *text;
  if (form == FEEL_FORM_STRING) {
    struct cf_buf b;
    cf_buf_init(&b);
    assert_int_equal(cf_feel_to_string(v, &b), CF_OK);
    text = strdup(b.data);
    cf_buf_release(&b);
  } else {
    struct json_object *j = NULL; /* json-c's JSON null */
    assert_int_equal(cf_feel_to_json(v, &j), CF_OK);
    text = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
  }
  assert_non_null(text);
  return text;
}

/* Whether a result (text, null-ness) is what want says, in that form. */
static inline bool feel__is(const char *text, bool is_null, const char *want, enum feel_form form) {
  if (strcmp(text, want) != 0) return false;
  return form != FEEL_FORM_STRING || is_null == (strcmp(want, "null") == 0);
}

/* What to say after a result's text where string() leaves null-ness unclear. */
static inline const char *feel__tag(const char *text, bool is_null, enum feel_form form) {
  if (form != FEEL_FORM_STRING) return "";
  if (is_null) return " (null)";
  return strcmp(text, "null") == 0 ? " (a string)" : "";
}

static inline enum feel_form feel__form(const struct feel_opts *o) { return o ? o->form : FEEL_FORM_JSON; }

/* ------------------------------------------------------------ evaluate */

/*
 * Compiles and evaluates src with o's variables, env and input, and fills r
 * (new strings: release with feel_result_release). A src that does not
 * compile is no failure here: r->text is then NULL and r->warning holds the
 * syntax error. An evaluation that does not return CF_OK fails the test.
 */
static inline void feel_eval(const struct feel_opts *o, const char *src, struct feel_result *r, int line) {
  struct feel__inputs in;
  feel__inputs_init(&in, o, line);
  struct feel__run run;
  feel__run_start(&run, &in, src);
  memset(r, 0, sizeof *r);
  if (!run.e) {
    r->warning = strdup(run.err.msg);
  } else {
    if (run.rc != CF_OK)
      fail_msg("line %d: %s%s%s: eval failed with %s", line, FEEL__WHAT(o, src), cf_err_name(run.rc));
    r->text = feel__text(&run.out, in.form);
    r->is_null = run.out.type == CF_FEEL_NULL;
    r->warning = run.w.count ? strdup(run.w.items[0]) : NULL;
    r->warnings = run.w.count + run.w.dropped;
  }
  feel__run_release(&run);
  feel__inputs_release(&in);
}

static inline void feel_result_release(struct feel_result *r) {
  free(r->text);
  free(r->warning);
  r->text = r->warning = NULL;
}

static inline void feel__eval_compiled(const struct feel_opts *o, const char *src, struct feel_result *r,
                                       int line) {
  feel_eval(o, src, r, line);
  if (!r->text) fail_msg("line %d: %s%s%s does not compile: %s", line, FEEL__WHAT(o, src), r->warning);
}

/* --------------------------------------------------------------- check */

/* The result of src must be want; with no_warning, src must not warn either. */
static inline void feel__expect(const struct feel_opts *o, const char *src, const char *want, bool no_warning,
                                int line) {
  struct feel_result r;
  feel__eval_compiled(o, src, &r, line);
  if (!feel__is(r.text, r.is_null, want, feel__form(o)))
    fail_msg("line %d: %s%s%s gave %s%s, want %s%s%s", line, FEEL__WHAT(o, src), r.text,
             feel__tag(r.text, r.is_null, feel__form(o)), want, r.warning ? "; warning: " : "",
             r.warning ? r.warning : "");
  if (no_warning && r.warnings)
    fail_msg("line %d: %s%s%s warned: %s", line, FEEL__WHAT(o, src), r.warning ? r.warning : "?");
  feel_result_release(&r);
}

/* The result of src must be want (text in o's form), with no warning. */
static inline void feel_check(const struct feel_opts *o, const char *src, const char *want, int line) {
  feel__expect(o, src, want, true, line);
}

/*
 * The result of src must be want, whether or not it warned: for tests of
 * values alone (a null result's warning is checked elsewhere, or not at all).
 */
static inline void feel_check_result(const struct feel_opts *o, const char *src, const char *want, int line) {
  feel__expect(o, src, want, false, line);
}

/*
 * The result of src must be null, with a warning; with what not NULL, the
 * first warning must contain what.
 */
static inline void feel_check_null(const struct feel_opts *o, const char *src, const char *what, int line) {
  struct feel_result r;
  feel__eval_compiled(o, src, &r, line);
  if (!feel__is(r.text, r.is_null, "null", feel__form(o)))
    fail_msg("line %d: %s%s%s gave %s%s, want null", line, FEEL__WHAT(o, src), r.text,
             feel__tag(r.text, r.is_null, feel__form(o)));
  if (!r.warnings) fail_msg("line %d: %s%s%s gave null without a warning", line, FEEL__WHAT(o, src));
  if (what && !(r.warning && strstr(r.warning, what)))
    fail_msg("line %d: %s%s%s warned \"%s\", which does not mention \"%s\"", line, FEEL__WHAT(o, src),
             r.warning ? r.warning : "?", what);
  feel_result_release(&r);
}

/* src must not compile; with what not NULL, the error must contain what. */
static inline void feel_check_syntax(const struct feel_opts *o, const char *src, const char *what, int line) {
  struct feel_result r;
  feel_eval(o, src, &r, line);
  if (r.text)
    fail_msg("line %d: %s%s%s compiled and gave %s, want a syntax error", line, FEEL__WHAT(o, src), r.text);
  if (what && !strstr(r.warning, what))
    fail_msg("line %d: %s%s%s: syntax error \"%s\" does not mention \"%s\"", line, FEEL__WHAT(o, src),
             r.warning, what);
  feel_result_release(&r);
}

/* ---------------------------------------------------------- out of memory */

/*
 * One compile and evaluation with allocations failing after `countdown` (<0:
 * never). Fails the test unless it gives want, or fails for lack of memory
 * as cf_feel.h promises: compilation with CF_ENOMEM, or evaluation with
 * CF_ENOMEM and a null result; and only when an allocation was refused.
 * Returns true when none was refused (the run was complete).
 */
static inline bool feel__oom_step(const struct feel_opts *o, const struct feel__inputs *in, const char *src,
                                  const char *want, long countdown, int line) {
  struct feel__run run;
  cf_alloc_fail_after(countdown);
  feel__run_start(&run, in, src);
  long failures = cf_alloc_failures();
  cf_alloc_fail_reset();
  char when[64];
  if (countdown < 0)
    snprintf(when, sizeof when, "with no allocation failing");
  else
    snprintf(when, sizeof when, "after %ld allocations (%ld refused)", countdown, failures);

  if (!run.e) {
    /* A valid expression fails to compile only for lack of memory. */
    if (failures == 0 || run.err.code != CF_ENOMEM)
      fail_msg("line %d: %s%s%s: %s: compile failed with %s (%s)", line, FEEL__WHAT(o, src), when,
               cf_err_name(run.err.code), run.err.msg);
  } else if (run.rc == CF_ENOMEM) {
    if (failures == 0)
      fail_msg("line %d: %s%s%s: CF_ENOMEM with no refused allocation", line, FEEL__WHAT(o, src));
    if (run.out.type != CF_FEEL_NULL)
      fail_msg("line %d: %s%s%s: %s: CF_ENOMEM but the result is a %s, not null", line, FEEL__WHAT(o, src),
               when, cf_feel_type_name(run.out.type));
  } else if (run.rc != CF_OK) {
    fail_msg("line %d: %s%s%s: %s: eval returned %s", line, FEEL__WHAT(o, src), when, cf_err_name(run.rc));
  } else {
    /* CF_OK: then the result must be right, whatever was refused on the way. */
    char *got = feel__text(&run.out, in->form);
    if (!feel__is(got, run.out.type == CF_FEEL_NULL, want, in->form))
      fail_msg("line %d: %s%s%s: %s: got %s%s (%s), want %s", line, FEEL__WHAT(o, src), when, got,
               feel__tag(got, run.out.type == CF_FEEL_NULL, in->form),
               run.w.count ? run.w.items[0] : "no warning", want);
    free(got);
  }
  feel__run_release(&run);
  return failures == 0;
}

/*
 * Makes each allocation of compiling and evaluating src fail in turn (the
 * (n+1)th and every later one, for n = 0, 1, ... until a run needs no refused
 * allocation): every run must give want (compared as feel_check does) or
 * CF_ENOMEM with a null result, never crash or leak (the sanitizer build
 * checks leaks). A first run without failures checks want alone, so that a
 * wrong result is not taken for an out-of-memory problem. Fails when src
 * still allocates after o->oom_steps (default FEEL_OOM_STEPS) allocations.
 * Variables and input are parsed before, outside the sweep.
 */
static inline void feel_check_oom(const struct feel_opts *o, const char *src, const char *want, int line) {
  struct feel__inputs in;
  feel__inputs_init(&in, o, line);
  long steps = o && o->oom_steps > 0 ? o->oom_steps : FEEL_OOM_STEPS;
  feel__oom_step(o, &in, src, want, -1, line);
  long n = 0;
  while (n < steps && !feel__oom_step(o, &in, src, want, n, line)) n++;
  feel__inputs_release(&in);
  if (n == steps)
    fail_msg("line %d: %s%s%s: still refusing allocations after %ld", line, FEEL__WHAT(o, src), steps);
}

#endif
