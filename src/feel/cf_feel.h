/*
 * FEEL: the expression language of DMN 1.5 (chapter 10) in the dialect that
 * Camunda 8 models use. Every part of crmflow that evaluates something from a
 * model (gateway conditions, mappings, scripts, triggers, templates, decision
 * tables) goes through this layer.
 *
 * Shape: an expression is compiled once (cf_feel_compile) into an immutable
 * tree with literals pre-built and built-in functions resolved, then
 * evaluated many times (cf_feel_eval) against a context of variables, without
 * parsing again. Evaluation errors are values, as the spec wants: the result
 * is null and a warning says why. Only a syntax error fails compilation.
 *
 * This layer depends on base only. It knows nothing of BPMN or storage. It
 * does no I/O, except reading the system's time-zone database (through
 * base/cf_tz) when a zone id is named; the current time is an input
 * (struct cf_feel_env), never read from a clock here.
 *
 * Values: struct cf_feel_value is a small tagged union passed by value.
 * Numbers (decNumber, 34 digits: DECIMAL128 semantics), booleans, dates,
 * times and durations live inline; strings, lists, contexts, ranges and
 * functions are reference-counted and immutable once shared. A value that a
 * call "returns" in an out parameter is owned by the caller, who releases it
 * with cf_feel_value_release(). Values are not thread-safe to share between
 * threads while being released (reference counts are plain integers); a
 * compiled expression is safe to evaluate from several threads at once.
 */
#ifndef CF_FEEL_H
#define CF_FEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DECNUMDIGITS 34
#include <decNumber.h>

#include "crmflow/cf_error.h"

struct json_object;
struct cf_buf;
struct cf_tz;

/* ---------------------------------------------------------------- values */

enum cf_feel_type {
  CF_FEEL_NULL = 0,
  CF_FEEL_BOOLEAN,
  CF_FEEL_NUMBER,
  CF_FEEL_STRING,
  CF_FEEL_DATE,
  CF_FEEL_TIME,
  CF_FEEL_DATETIME,
  CF_FEEL_DT_DURATION, /* days and time duration */
  CF_FEEL_YM_DURATION, /* years and months duration */
  CF_FEEL_LIST,
  CF_FEEL_CONTEXT,
  CF_FEEL_RANGE,
  CF_FEEL_FUNCTION,
  CF_FEEL__TYPE_COUNT
};

/* How a time or date-and-time is anchored. */
enum cf_feel_zone_kind {
  CF_FEEL_ZONE_LOCAL = 0, /* no offset, no zone: a local time */
  CF_FEEL_ZONE_OFFSET,    /* a fixed offset (Z is offset 0) */
  CF_FEEL_ZONE_ID         /* an IANA zone id; offset is the one in force */
};

/*
 * date, time and date and time share one layout. A date uses year..day and
 * leaves the time fields zero; a time uses hour..nanos and the zone fields.
 * Years are proleptic Gregorian and may be negative or up to 999,999,999.
 */
struct cf_feel_temporal {
  int32_t year;
  uint8_t month, day; /* 1-based */
  uint8_t hour, minute, second;
  uint8_t zone_kind;        /* enum cf_feel_zone_kind */
  uint32_t nanos;           /* 0..999,999,999 */
  int32_t offset;           /* seconds east of UTC, unless ZONE_LOCAL */
  const struct cf_tz *zone; /* ZONE_ID only: interned for the process, never freed */
};

/* A string: UTF-8 bytes, their length and their number of code points. */
struct cf_feel_str {
  uint32_t refs;
  uint32_t len; /* bytes, without the terminating NUL */
  uint32_t ncp; /* Unicode code points */
  char data[];  /* NUL-terminated */
};

struct cf_feel_value {
  uint8_t type; /* enum cf_feel_type */
  union {
    bool boolean;
    decNumber number;
    struct cf_feel_str *string;
    struct cf_feel_temporal t;
    struct {
      int64_t secs;  /* may be negative */
      int32_t nanos; /* same sign as secs (or zero), |nanos| < 1e9 */
    } dt;
    int64_t months; /* years and months duration, in months */
    struct cf_feel_list *list;
    struct cf_feel_ctx *ctx;
    struct cf_feel_range *range;
    struct cf_feel_fn *fn;
  } u;
};

struct cf_feel_list {
  uint32_t refs;
  uint32_t len, cap;
  struct cf_feel_value *items;
};

struct cf_feel_ctx_entry {
  struct cf_feel_str *key;
  struct cf_feel_value value;
};

/* A context keeps its entries in insertion order; keys are unique. */
struct cf_feel_ctx {
  uint32_t refs;
  uint32_t len, cap;
  struct cf_feel_ctx_entry *entries;
};

/*
 * A range. An unbounded end is a null value (`< 10` is the range with a null
 * start and end 10, end excluded). `=10` as a range is [10..10].
 */
struct cf_feel_range {
  uint32_t refs;
  bool start_incl, end_incl;
  struct cf_feel_value start, end;
};

/* Gives up the reference v holds and sets v to null. NULL-safe. */
void cf_feel_value_release(struct cf_feel_value *v);

/* dst becomes another reference to src's value (no allocation). dst must not hold a value. */
void cf_feel_value_copy(struct cf_feel_value *dst, const struct cf_feel_value *src);

/* Moves src into dst (dst must not hold a value); src becomes null. */
void cf_feel_value_move(struct cf_feel_value *dst, struct cf_feel_value *src);

static inline void cf_feel_set_null(struct cf_feel_value *v) { v->type = CF_FEEL_NULL; }
static inline void cf_feel_set_bool(struct cf_feel_value *v, bool b) {
  v->type = CF_FEEL_BOOLEAN;
  v->u.boolean = b;
}

/* The FEEL name of a type ("date and time", "days and time duration"...). */
const char *cf_feel_type_name(enum cf_feel_type type);

/* --- numbers */

/* v becomes the number n. */
void cf_feel_set_int(struct cf_feel_value *v, int64_t n);

/*
 * v becomes the decimal that text (len bytes) spells: an optional sign,
 * digits with an optional '.', an optional exponent. Rounded to 34 digits.
 * CF_EINVAL (v untouched) if text is not such a number.
 */
int cf_feel_set_number_text(struct cf_feel_value *v, const char *text, size_t len);

/* True and *out set if v is a number with an integral value that fits int64. */
bool cf_feel_number_to_int64(const struct cf_feel_value *v, int64_t *out);

/* v's number as a double (for approximate uses only: never for money). */
double cf_feel_number_to_double(const struct cf_feel_value *v);

/*
 * Writes the number as plain decimal text with every significant digit and
 * no trailing fractional zeros ("0.3", "12345678901234567891", "-1.5"); an
 * exponent only beyond 1e40 or below 1e-40. buf needs CF_FEEL_NUMBER_TEXT_MAX bytes.
 */
#define CF_FEEL_NUMBER_TEXT_MAX 96
void cf_feel_number_format(const decNumber *n, char *buf);

/* --- strings */

/*
 * v becomes a new string of len bytes of s. CF_EINVAL if s is not valid
 * UTF-8, CF_ENOMEM on allocation failure; v is then untouched.
 */
int cf_feel_set_string(struct cf_feel_value *v, const char *s, size_t len);

/* --- lists and contexts (builders: valid only while the value has one reference) */

/* v becomes an empty list with room for cap items. CF_ENOMEM. */
int cf_feel_list_new(struct cf_feel_value *v, size_t cap);
/* Appends item, taking ownership of it (item becomes null). On CF_ENOMEM item is released. */
int cf_feel_list_push(struct cf_feel_value *list, struct cf_feel_value *item);

/* v becomes an empty context with room for cap entries. CF_ENOMEM. */
int cf_feel_ctx_new(struct cf_feel_value *v, size_t cap);
/*
 * Puts key -> item into the context, replacing an entry with the same key
 * (which keeps its position). Takes ownership of item. CF_ENOMEM (item released).
 */
int cf_feel_ctx_put(struct cf_feel_value *ctx, const char *key, size_t keylen,
                    struct cf_feel_value *item);
/* The entry's value for key, borrowed; NULL if absent. ctx may be NULL. */
const struct cf_feel_value *cf_feel_ctx_get(const struct cf_feel_ctx *ctx, const char *key,
                                            size_t keylen);

/* v becomes a range; takes ownership of start and end (null = unbounded). CF_ENOMEM. */
int cf_feel_range_new(struct cf_feel_value *v, struct cf_feel_value *start, bool start_incl,
                      struct cf_feel_value *end, bool end_incl);

/* --- comparison */

/*
 * FEEL equality (`=`): 1 true, 0 false, -1 when the values are not
 * comparable (the result of `=` is then null). null = null is true; null
 * against anything else is false. Deep for lists, contexts and ranges.
 */
int cf_feel_equal(const struct cf_feel_value *a, const struct cf_feel_value *b);

/*
 * FEEL ordering (`<`): *cmp < 0, 0, > 0. CF_ETYPE when the two values have no
 * order between them (different types, null, booleans, lists...).
 */
int cf_feel_compare(const struct cf_feel_value *a, const struct cf_feel_value *b, int *cmp);

/* --- conversion */

/*
 * Appends what FEEL's string() gives for v: strings as they are, numbers as
 * cf_feel_number_format, temporals as ISO-8601, lists as "[1, 2]", contexts
 * as "{a: 1}", null as "null". CF_ENOMEM.
 */
int cf_feel_to_string(const struct cf_feel_value *v, struct cf_buf *out);

/*
 * v becomes the FEEL value of a JSON value: objects become contexts, arrays
 * lists, numbers exact decimals (from their source text), strings strings.
 * CF_ENOMEM; CF_EINVAL for a string that is not UTF-8 or a number beyond
 * the decimal range (|n| >= 1e6145). v is null after a failure.
 */
int cf_feel_from_json(struct json_object *json, struct cf_feel_value *v);

/*
 * The JSON form of v, as a new json-c reference in *out (json-c spells JSON
 * null as NULL): numbers with every significant digit, temporals as their
 * ISO-8601 string, ranges as {"start", "end", "startIncluded",
 * "endIncluded"}, functions as null. CF_OK or CF_ENOMEM (*out NULL).
 */
int cf_feel_to_json(const struct cf_feel_value *v, struct json_object **out);

/*
 * Appends the JSON text of v to out: byte for byte what cf_json_dump() gives
 * for cf_feel_to_json()'s result, without building json-c objects (only the
 * buffer grows). CF_OK, or CF_ENOMEM with out failed (out->oom), as any
 * failed cf_buf append leaves it.
 */
int cf_feel_write_json(const struct cf_feel_value *v, struct cf_buf *out);

/* ------------------------------------------------------------ evaluation */

/* What evaluation takes from the world: the current time and the local zone. */
struct cf_feel_env {
  int64_t now_secs;         /* seconds since 1970-01-01T00:00:00Z */
  int32_t now_nanos;        /* 0..999,999,999 */
  const struct cf_tz *zone; /* zone of now() and today(); NULL = UTC */
};

/* Warnings an evaluation produced, in order; at most CF_FEEL_MAX_WARNINGS kept. */
#define CF_FEEL_MAX_WARNINGS 8
struct cf_feel_warnings {
  char *items[CF_FEEL_MAX_WARNINGS];
  size_t count;   /* kept */
  size_t dropped; /* beyond the limit */
  bool failed;    /* the evaluation failed outright (a failed assert()): the caller must not use the null result as a value */
};
void cf_feel_warnings_init(struct cf_feel_warnings *w);
void cf_feel_warnings_release(struct cf_feel_warnings *w);

struct cf_feel_expr;

/*
 * Compiles src (len bytes of UTF-8) as a FEEL expression. known_names lists
 * variable names the caller will provide (they let the parser recognize names
 * with spaces, such as `Order Total`); may be NULL. Returns the compiled
 * expression, or NULL with err set: CF_ESYNTAX with the line and column and
 * what was expected, or CF_ENOMEM.
 */
struct cf_feel_expr *cf_feel_compile(const char *src, size_t len, const char *const *known_names,
                                     size_t nknown, struct cf_error *err);

/*
 * Compiles src as unary tests (`> 10`, `[1..5]`, `"a","b"`, `-`, `not(1, 2)`),
 * as decision-table input entries use them. Same errors as cf_feel_compile.
 */
struct cf_feel_expr *cf_feel_compile_unary(const char *src, size_t len,
                                           const char *const *known_names, size_t nknown,
                                           struct cf_error *err);

void cf_feel_expr_free(struct cf_feel_expr *e);

/* The source text the expression was compiled from (borrowed). */
const char *cf_feel_expr_source(const struct cf_feel_expr *e);

/*
 * Evaluates e against vars (a context, or NULL for none) at env's time.
 * *out receives the result (caller releases it). Evaluation problems give a
 * null result and a warning in w (which may be NULL). For unary tests, input
 * is the value tested (`?`), and the result is a boolean (or null).
 * Returns CF_OK, or CF_ENOMEM (then *out is null).
 */
int cf_feel_eval(const struct cf_feel_expr *e, const struct cf_feel_value *vars,
                 const struct cf_feel_env *env, struct cf_feel_value *out,
                 struct cf_feel_warnings *w);
int cf_feel_eval_unary(const struct cf_feel_expr *e, const struct cf_feel_value *input,
                       const struct cf_feel_value *vars, const struct cf_feel_env *env,
                       struct cf_feel_value *out, struct cf_feel_warnings *w);

#endif
