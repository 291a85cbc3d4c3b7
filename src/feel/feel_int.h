/*
 * Internal interfaces between the files of the FEEL layer. Not for use
 * outside src/feel/.
 *
 * Files:
 *   feel_value.c     values: lifecycle, equality, ordering, string(), JSON
 *   feel_number.c    decimal arithmetic over decNumber (34 digits, half-even)
 *   feel_lex.c, feel_parse.c   source -> tree
 *   feel_eval.c      tree evaluation, scopes, invocation, unary tests
 *   feel_temporal.c  date/time/duration parsing, formatting, arithmetic, properties
 *   feel_bi_*.c      the built-in function library, one table per family
 */
#ifndef CF_FEEL_INT_H
#define CF_FEEL_INT_H

#include "base/cf_buf.h"
#include "feel/cf_feel.h"

/* ---------------------------------------------------------------- errors */

struct cf_feel_eval; /* one evaluation in progress (feel_eval.c) */

/* Adds a warning to the evaluation (printf-style). Never fails visibly. */
void cf__feel_warn(struct cf_feel_eval *ev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Fails the evaluation outright, as Camunda's assert() does: a warning, and
 * the `failed` flag of the warnings, so an engine raises an incident instead
 * of using the null result.
 */
void cf__feel_fail(struct cf_feel_eval *ev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The environment of the evaluation (never NULL; defaults to the epoch, UTC). */
const struct cf_feel_env *cf__feel_env(const struct cf_feel_eval *ev);

/*
 * Calls a function value (built-in or user-defined) with positional args
 * (borrowed). *out receives the result. A non-function, or a wrong argument
 * count, gives null and a warning. CF_OK or CF_ENOMEM.
 */
int cf__feel_invoke(struct cf_feel_eval *ev, const struct cf_feel_value *fn,
                    const struct cf_feel_value *args, size_t nargs, struct cf_feel_value *out);

/*
 * Compiles and evaluates a small piece of FEEL text (a range endpoint for
 * range(), for instance) in an empty scope. Null and a warning on error.
 */
int cf__feel_eval_text(struct cf_feel_eval *ev, const char *text, size_t len,
                       struct cf_feel_value *out);

/* Reference counting of function values (feel_eval.c). */
struct cf_feel_fn;
void cf__feel_fn_ref(struct cf_feel_fn *fn);
void cf__feel_fn_unref(struct cf_feel_fn *fn);

/* ----------------------------------------------------- built-in functions */

/*
 * A built-in function. args are borrowed and hold nargs values, nargs between
 * min_args and max_args (CF__FEEL_VARIADIC: any number from min_args). With
 * named arguments, the evaluator puts each in its parameter's position and
 * fills gaps before the last given one with null.
 *
 * The function sets *out (owned by the caller) and returns CF_OK; a bad
 * argument gives *out = null and a warning (cf__feel_warn) naming the
 * function and the problem. CF_ENOMEM only when memory ran out.
 *
 * Several entries may share a name (overloads, e.g. date(from) and
 * date(year, month, day)): a positional call takes the first entry whose
 * argument count fits; a named call the first whose parameter names cover
 * the given names.
 */
#define CF__FEEL_VARIADIC 255
#define CF__FEEL_MAX_PARAMS 6
typedef int (*cf__feel_builtin_fn)(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                                   size_t nargs, struct cf_feel_value *out);
struct cf__feel_builtin {
  const char *name;
  const char *params[CF__FEEL_MAX_PARAMS + 1]; /* NULL-terminated */
  uint8_t min_args;
  uint8_t max_args;
  cf__feel_builtin_fn fn;
};

/* The tables, each ending with an entry whose name is NULL. */
extern const struct cf__feel_builtin cf__feel_builtins_conversion[]; /* feel_bi_conv.c */
extern const struct cf__feel_builtin cf__feel_builtins_string[];     /* feel_bi_string.c */
extern const struct cf__feel_builtin cf__feel_builtins_list[];       /* feel_bi_list.c */
extern const struct cf__feel_builtin cf__feel_builtins_numeric[];    /* feel_bi_numeric.c */
extern const struct cf__feel_builtin cf__feel_builtins_context[];    /* feel_bi_context.c */
extern const struct cf__feel_builtin cf__feel_builtins_range[];      /* feel_bi_range.c */
extern const struct cf__feel_builtin cf__feel_builtins_temporal[];   /* feel_temporal.c */

/*
 * Looks up the built-ins of a name (the first of its overloads), or NULL.
 * *count receives how many consecutive entries share it.
 */
const struct cf__feel_builtin *cf__feel_builtin_find(const char *name, size_t len, size_t *count);

/* True if b is `is defined`, which the evaluator treats specially. */
bool cf__feel_builtin_is_defined(const struct cf__feel_builtin *b);

/* Calls f(name, len, arg) for every built-in name (for the parser's multi-word names). */
void cf__feel_builtin_each_name(void (*f)(const char *name, void *arg), void *arg);

/* ------------------------------------------------------------- numbers */

/* A fresh decimal context: 34 digits, half-even, DECIMAL128 exponent range, no traps. */
void cf__feel_dec_context(decContext *ctx);

/* v = a op b on numbers. Division by zero, overflow and the like: null + warning. */
int cf__feel_num_arith(struct cf_feel_eval *ev, char op, const decNumber *a, const decNumber *b,
                       struct cf_feel_value *out);

/* v becomes the number n (already computed; rounded to 34 digits). */
void cf__feel_set_decnumber(struct cf_feel_value *v, const decNumber *n);

/* True if n is an integer value. */
bool cf__feel_dec_is_integer(const decNumber *n);

/* --------------------------------------------------------------- strings */

/* Counts code points of valid UTF-8; false if s is not valid UTF-8. */
bool cf__feel_utf8_count(const char *s, size_t len, uint32_t *ncp);

/* Decodes one code point at s (valid UTF-8 assumed); returns its byte length. */
size_t cf__feel_utf8_decode(const char *s, uint32_t *cp);

/* Encodes cp as UTF-8 into out (4 bytes room); returns the byte length. */
size_t cf__feel_utf8_encode(uint32_t cp, char *out);

/* ------------------------------------------------------------ temporals */

/*
 * Parses the text of an @"..." literal: a date, a time, a date and time, or
 * a duration (days-time or years-months). CF_OK with *out set, or CF_EINVAL.
 */
int cf__feel_temporal_literal(const char *s, size_t len, struct cf_feel_value *out);

/* Appends the ISO-8601 text of a date, time, date-and-time or duration (FEEL string()). */
int cf__feel_temporal_format(const struct cf_feel_value *v, struct cf_buf *out);

/*
 * Equality of two temporal values of the same type (dates, times, date-times,
 * dt durations, ym durations): 1, 0, or -1 when not comparable.
 */
int cf__feel_temporal_equal(const struct cf_feel_value *a, const struct cf_feel_value *b);

/* Ordering of two temporal values of the same type; CF_ETYPE if not comparable. */
int cf__feel_temporal_compare(const struct cf_feel_value *a, const struct cf_feel_value *b,
                              int *cmp);

/*
 * a op b (op one of + - * /) where a or b is a date, time, date-time or
 * duration (the other may be a number, for * and /). An invalid combination
 * gives null and a warning.
 */
int cf__feel_temporal_arith(struct cf_feel_eval *ev, char op, const struct cf_feel_value *a,
                            const struct cf_feel_value *b, struct cf_feel_value *out);

/*
 * A property of a temporal value (`d.year`, `t.time offset`, `dur.days`...).
 * CF_ENOTFOUND when v's type has no such property (the caller warns), else
 * CF_OK with *out set.
 */
int cf__feel_temporal_property(const struct cf_feel_value *v, const char *name, size_t len,
                               struct cf_feel_value *out);

#endif
