#include "feel/feel_int.h"

const struct cf__feel_builtin cf__feel_builtins_context[] = {{0}};
