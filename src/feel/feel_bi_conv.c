/*
 * Conversion and boolean built-in functions: DMN 1.5 string(from),
 * number(from, grouping separator, decimal separator) and not(negand), and
 * Camunda 8's get or else(value, default) and assert(value, condition,
 * cause?). date(), time(), duration() and their kin live with the temporal
 * code (feel_temporal.c); `is defined` is a construct of the evaluator.
 */
#include <string.h>

#include "base/cf_alloc.h"
#include "feel/feel_int.h"

/* string(from): FEEL's text of any value; string(null) is null. */
static int bi_string(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                     struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (args[0].type == CF_FEEL_NULL) return CF_OK;
  if (args[0].type == CF_FEEL_STRING) {
    cf_feel_value_copy(out, &args[0]);
    return CF_OK;
  }
  struct cf_buf b;
  cf_buf_init(&b);
  int rc = cf_feel_to_string(&args[0], &b);
  if (rc == CF_OK && b.oom) rc = CF_ENOMEM;
  if (rc == CF_OK) {
    rc = cf_feel_set_string(out, b.data, b.len);
    if (rc != CF_OK && rc != CF_ENOMEM) { /* not UTF-8: cannot come from a FEEL value */
      cf__feel_warn(ev, "string: cannot convert a %s",
                    cf_feel_type_name((enum cf_feel_type)args[0].type));
      rc = CF_OK;
    }
  }
  cf_buf_release(&b);
  return rc;
}

/*
 * A separator argument of number(): absent or null is none (*sep = 0);
 * otherwise a one-character string among allowed. False (warned) if not.
 */
static bool get_separator(struct cf_feel_eval *ev, const char *pname, const char *allowed,
                          const struct cf_feel_value *args, size_t nargs, size_t i, char *sep) {
  *sep = 0;
  if (i >= nargs || args[i].type == CF_FEEL_NULL) return true;
  if (args[i].type == CF_FEEL_STRING && args[i].u.string->len == 1 &&
      strchr(allowed, args[i].u.string->data[0])) {
    *sep = args[i].u.string->data[0];
    return true;
  }
  cf__feel_warn(ev, "number: %s must be one of %s", pname,
                allowed[0] == ' ' ? "\" \", \",\" or \".\"" : "\",\" or \".\"");
  return false;
}

/*
 * number(from, grouping separator?, decimal separator?): from with every
 * grouping separator removed and the decimal separator made a '.', read as
 * a FEEL number. Grouping is one of " ", ",", "."; decimal one of ",", ".";
 * the two must differ. Anything that is then not a number gives null.
 */
static int bi_number(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                     struct cf_feel_value *out) {
  cf_feel_set_null(out);
  char group, dec;
  if (args[0].type != CF_FEEL_STRING) {
    if (args[0].type == CF_FEEL_NULL)
      cf__feel_warn(ev, "number: from is null");
    else
      cf__feel_warn(ev, "number: from must be a string, not %s",
                    cf_feel_type_name((enum cf_feel_type)args[0].type));
    return CF_OK;
  }
  if (!get_separator(ev, "grouping separator", " ,.", args, nargs, 1, &group) ||
      !get_separator(ev, "decimal separator", ",.", args, nargs, 2, &dec))
    return CF_OK;
  if (group && group == dec) {
    cf__feel_warn(ev, "number: the grouping and decimal separators are both \"%c\"", group);
    return CF_OK;
  }
  const struct cf_feel_str *from = args[0].u.string;
  char *text = cf_malloc(from->len + 1);
  if (!text) return CF_ENOMEM;
  size_t n = 0;
  for (uint32_t i = 0; i < from->len; i++) {
    char c = from->data[i];
    if (group && c == group) continue;
    text[n++] = dec && c == dec ? '.' : c;
  }
  if (cf_feel_set_number_text(out, text, n) != CF_OK) {
    cf_feel_set_null(out);
    cf__feel_warn(ev, "number: \"%s\" is not a number", from->data);
  }
  cf_free(text);
  return CF_OK;
}

/* not(negand): three-valued negation; anything but a boolean gives null. */
static int bi_not(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                  struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (args[0].type == CF_FEEL_BOOLEAN)
    cf_feel_set_bool(out, !args[0].u.boolean);
  else if (args[0].type != CF_FEEL_NULL)
    cf__feel_warn(ev, "not: negand must be a boolean, not %s",
                  cf_feel_type_name((enum cf_feel_type)args[0].type));
  return CF_OK;
}

/* get or else(value, default): value, or default when value is null (Camunda). */
static int bi_get_or_else(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                          struct cf_feel_value *out) {
  cf_feel_value_copy(out, args[0].type != CF_FEEL_NULL ? &args[0] : &args[1]);
  return CF_OK;
}

/*
 * assert(value, condition, cause?): value when condition is true (Camunda).
 * Otherwise the evaluation fails, as in Camunda: the result is null, the
 * warning carries the cause, and the warnings' `failed` flag tells an engine
 * to raise an incident rather than use the null.
 */
static int bi_assert(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                     struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (args[1].type == CF_FEEL_BOOLEAN && args[1].u.boolean) {
    cf_feel_value_copy(out, &args[0]);
    return CF_OK;
  }
  if (nargs > 2 && args[2].type == CF_FEEL_STRING) {
    cf__feel_fail(ev, "assert: assertion failed: %s", args[2].u.string->data);
  } else if (nargs > 2 && args[2].type != CF_FEEL_NULL) {
    struct cf_buf b;
    cf_buf_init(&b);
    int rc = cf_feel_to_string(&args[2], &b);
    if (rc == CF_OK && b.oom) rc = CF_ENOMEM;
    if (rc == CF_OK) cf__feel_fail(ev, "assert: assertion failed: %s", b.data);
    cf_buf_release(&b);
    return rc;
  } else {
    cf__feel_fail(ev, "assert: assertion failed (the condition is %s)",
                  args[1].type == CF_FEEL_BOOLEAN ? "false"
                                                  : args[1].type == CF_FEEL_NULL ? "null"
                                                                                 : "not a boolean");
  }
  return CF_OK;
}

const struct cf__feel_builtin cf__feel_builtins_conversion[] = {
    {"string", {"from"}, 1, 1, bi_string},
    {"number", {"from", "grouping separator", "decimal separator"}, 1, 3, bi_number},
    {"not", {"negand"}, 1, 1, bi_not},
    {"get or else", {"value", "default"}, 2, 2, bi_get_or_else},
    {"assert", {"value", "condition", "cause"}, 2, 3, bi_assert},
    {0},
};
