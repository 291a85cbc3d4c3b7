/*
 * The registry of built-in functions: the tables of the feel_bi_*.c files
 * (and feel_temporal.c), looked up by name when an expression is compiled, so
 * evaluation calls a resolved function pointer.
 */
#include <string.h>

#include "feel/feel_int.h"

/* `is defined` needs the evaluator (an undefined name is not an error there). */
static int bi_is_defined_marker(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                                size_t nargs, struct cf_feel_value *out) {
  /* Reached only when called as a value (`f: is defined`); the argument is then already evaluated. */
  cf_feel_set_bool(out, args[0].type != CF_FEEL_NULL);
  return CF_OK;
}

static const struct cf__feel_builtin builtins_core[] = {
    {"is defined", {"value", NULL}, 1, 1, bi_is_defined_marker},
    {NULL, {NULL}, 0, 0, NULL},
};

static const struct cf__feel_builtin *const tables[] = {
    builtins_core,
    cf__feel_builtins_conversion,
    cf__feel_builtins_string,
    cf__feel_builtins_list,
    cf__feel_builtins_numeric,
    cf__feel_builtins_context,
    cf__feel_builtins_range,
    cf__feel_builtins_temporal,
};

const struct cf__feel_builtin *cf__feel_builtin_find(const char *name, size_t len, size_t *count) {
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
    for (const struct cf__feel_builtin *b = tables[t]; b->name; b++) {
      if (strlen(b->name) == len && memcmp(b->name, name, len) == 0) {
        size_t n = 1;
        while (b[n].name && strcmp(b[n].name, b->name) == 0) n++;
        *count = n;
        return b;
      }
    }
  }
  *count = 0;
  return NULL;
}

bool cf__feel_builtin_is_defined(const struct cf__feel_builtin *b) { return b == builtins_core; }

void cf__feel_builtin_each_name(void (*f)(const char *name, void *arg), void *arg) {
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
    for (const struct cf__feel_builtin *b = tables[t]; b->name; b++) f(b->name, arg);
}
