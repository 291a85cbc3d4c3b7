/*
 * Evaluation of the compiled tree.
 *
 * A recursive walk over struct node with a chain of scopes on the C stack:
 * each frame binds one name (a loop variable, a parameter, `item`) or makes
 * a context's entries visible (a context literal being built, a filtered
 * item, a closure). The variables of the call sit below all frames.
 *
 * Errors are values: a problem gives null and a warning, never an abort.
 * Guards keep hostile input bounded: a step budget (so `for i in
 * 1..1000000000` ends), a cap on list sizes, and a depth limit on recursion
 * (so deep nesting or runaway recursive functions cannot exhaust the stack).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "feel/feel_ast.h"

#define MAX_DEPTH 600
#define MAX_STEPS 20000000ULL
#define MAX_LIST 1000000

struct scope {
  const struct scope *up;
  const struct cf_feel_ctx *ctx; /* entries visible, or NULL */
  const char *name;              /* or one binding */
  uint32_t namelen;
  const struct cf_feel_value *val;
};

struct cf_feel_eval {
  const struct cf_feel_env *env;
  struct cf_feel_warnings *w;
  const struct cf_feel_value *globals; /* a context value, or NULL */
  const struct scope *scope;
  const struct cf_feel_value *input; /* ? in unary tests */
  struct cf_feel_expr *expr;         /* the expression whose nodes run now */
  int depth;
  uint64_t steps;
  bool aborted;
  bool undefined; /* a name or context entry was missing (for `is defined`) */
};

static const struct cf_feel_env epoch_env = {0, 0, NULL};

/* ------------------------------------------------------------- warnings */

void cf_feel_warnings_init(struct cf_feel_warnings *w) { memset(w, 0, sizeof *w); }

void cf_feel_warnings_release(struct cf_feel_warnings *w) {
  if (!w) return;
  for (size_t i = 0; i < w->count; i++) cf_free(w->items[i]);
  cf_feel_warnings_init(w);
}

void cf__feel_warn(struct cf_feel_eval *ev, const char *fmt, ...) {
  if (!ev || !ev->w) return;
  struct cf_feel_warnings *w = ev->w;
  if (w->count >= CF_FEEL_MAX_WARNINGS) {
    w->dropped++;
    return;
  }
  char buf[400];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n >= (int)sizeof buf) {
    /* Cut at a character boundary, so the warning stays valid UTF-8. */
    size_t len = sizeof buf - 1, i = len;
    while (i > 0 && ((unsigned char)buf[i - 1] & 0xC0) == 0x80) i--;
    if (i > 0) {
      unsigned char lead = (unsigned char)buf[i - 1];
      size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
      if (len - (i - 1) < need) buf[i - 1] = '\0';
    }
  }
  /* The same warning twice (in a loop, say) says nothing new. */
  for (size_t i = 0; i < w->count; i++)
    if (strcmp(w->items[i], buf) == 0) return;
  char *s = cf_strdup(buf);
  if (!s) {
    w->dropped++;
    return;
  }
  w->items[w->count++] = s;
}

void cf__feel_fail(struct cf_feel_eval *ev, const char *fmt, ...) {
  if (!ev) return;
  char buf[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  cf__feel_warn(ev, "%s", buf);
  if (ev->w) ev->w->failed = true;
  ev->aborted = true;
}

const struct cf_feel_env *cf__feel_env(const struct cf_feel_eval *ev) {
  return ev && ev->env ? ev->env : &epoch_env;
}

/* ------------------------------------------------------------- functions */

void cf__feel_fn_ref(struct cf_feel_fn *fn) { fn->refs++; }

void cf__feel_fn_unref(struct cf_feel_fn *fn) {
  if (!fn || --fn->refs > 0) return;
  cf_feel_value_release(&fn->closure);
  cf_feel_value_release(&fn->globals);
  if (fn->owner) cf_feel_expr_free(fn->owner);
  cf_free(fn);
}

static int builtin_value(const struct cf__feel_builtin *bi, size_t nbi, struct cf_feel_value *out) {
  struct cf_feel_fn *fn = cf_calloc(1, sizeof *fn);
  if (!fn) return CF_ENOMEM;
  fn->refs = 1;
  fn->bi = bi;
  fn->nbi = nbi;
  out->type = CF_FEEL_FUNCTION;
  out->u.fn = fn;
  return CF_OK;
}

/* ------------------------------------------------------------- lookup */

static const struct cf_feel_value *lookup(const struct cf_feel_eval *ev, const char *name,
                                          uint32_t len) {
  for (const struct scope *s = ev->scope; s; s = s->up) {
    if (s->ctx) {
      const struct cf_feel_value *v = cf_feel_ctx_get(s->ctx, name, len);
      if (v) return v;
    } else if (s->namelen == len && memcmp(s->name, name, len) == 0) {
      return s->val;
    }
  }
  if (ev->globals && ev->globals->type == CF_FEEL_CONTEXT)
    return cf_feel_ctx_get(ev->globals->u.ctx, name, len);
  return NULL;
}

/* ------------------------------------------------------------- helpers */

static int eval(struct cf_feel_eval *ev, const struct node *n, struct cf_feel_value *out);

static int eval_bool(struct cf_feel_eval *ev, const struct node *n, int *tri) {
  /* 1 true, 0 false, -1 null or not a boolean */
  struct cf_feel_value v;
  int rc = eval(ev, n, &v);
  if (rc) return rc;
  *tri = v.type == CF_FEEL_BOOLEAN ? v.u.boolean : -1;
  cf_feel_value_release(&v);
  return CF_OK;
}

static void set_tri(struct cf_feel_value *out, int tri) {
  if (tri < 0) cf_feel_set_null(out);
  else cf_feel_set_bool(out, tri);
}

/* Is x inside range r? 1, 0, or -1 when not comparable. */
static int range_includes(const struct cf_feel_range *r, const struct cf_feel_value *x) {
  int c;
  if (x->type == CF_FEEL_NULL) return -1;
  if (r->start.type != CF_FEEL_NULL) {
    if (cf_feel_compare(x, &r->start, &c)) return -1;
    if (c < 0 || (c == 0 && !r->start_incl)) return 0;
  }
  if (r->end.type != CF_FEEL_NULL) {
    if (cf_feel_compare(x, &r->end, &c)) return -1;
    if (c > 0 || (c == 0 && !r->end_incl)) return 0;
  }
  if (r->start.type == CF_FEEL_NULL && r->end.type == CF_FEEL_NULL) return -1;
  return 1;
}

/* Does input match value v (an expression used as a unary test)? */
static int match_value(const struct cf_feel_value *input, const struct cf_feel_value *v) {
  if (v->type == CF_FEEL_LIST) {
    int res = 0;
    for (uint32_t i = 0; i < v->u.list->len; i++) {
      const struct cf_feel_value *item = &v->u.list->items[i];
      int m = item->type == CF_FEEL_RANGE ? range_includes(item->u.range, input)
                                           : cf_feel_equal(input, item);
      if (m == 1) return 1;
      if (m < 0) res = -1;
    }
    /* A list equal to the input as a whole also matches ([1,2] in [[1,2]] aside). */
    if (input->type == CF_FEEL_LIST && cf_feel_equal(input, v) == 1) return 1;
    return res < 0 ? 0 : 0;
  }
  if (v->type == CF_FEEL_RANGE) return range_includes(v->u.range, input);
  return cf_feel_equal(input, v);
}

static int cmp_values(struct cf_feel_eval *ev, char op, const struct cf_feel_value *a,
                      const struct cf_feel_value *b, uint32_t pos) {
  if (op == '=' || op == '!') {
    int e = cf_feel_equal(a, b);
    if (e < 0) {
      cf__feel_warn(ev, "cannot compare %s with %s", cf_feel_type_name(a->type),
                    cf_feel_type_name(b->type));
      return -1;
    }
    return op == '=' ? e : !e;
  }
  if (a->type == CF_FEEL_NULL || b->type == CF_FEEL_NULL) return -1;
  int c;
  if (cf_feel_compare(a, b, &c)) {
    cf__feel_warn(ev, "cannot compare %s with %s", cf_feel_type_name(a->type),
                  cf_feel_type_name(b->type));
    return -1;
  }
  switch (op) {
    case '<': return c < 0;
    case 'l': return c <= 0;
    case '>': return c > 0;
    case 'g': return c >= 0;
  }
  return -1;
}

/* ------------------------------------------------------------- instance of */

static bool type_matches(const struct feel_type *t, const struct cf_feel_value *v) {
  if (!t) return false;
  switch (t->kind) {
    case T_ANY: return v->type != CF_FEEL_NULL;
    case T_NULL: return v->type == CF_FEEL_NULL;
    case T_SIMPLE: return v->type == t->simple;
    case T_LIST:
      if (v->type != CF_FEEL_LIST) return false;
      for (uint32_t i = 0; i < v->u.list->len; i++)
        if (v->u.list->items[i].type != CF_FEEL_NULL && !type_matches(t->elem, &v->u.list->items[i]))
          return false;
      return true;
    case T_RANGE:
      if (v->type != CF_FEEL_RANGE) return false;
      if (v->u.range->start.type != CF_FEEL_NULL && !type_matches(t->elem, &v->u.range->start))
        return false;
      if (v->u.range->end.type != CF_FEEL_NULL && !type_matches(t->elem, &v->u.range->end))
        return false;
      return true;
    case T_CONTEXT:
      if (v->type != CF_FEEL_CONTEXT) return false;
      for (uint32_t i = 0; i < t->n; i++) {
        const struct cf_feel_value *e = cf_feel_ctx_get(v->u.ctx, t->names[i], strlen(t->names[i]));
        if (!e || (e->type != CF_FEEL_NULL && !type_matches(t->types[i], e))) return false;
      }
      return true;
    case T_FUNCTION: {
      if (v->type != CF_FEEL_FUNCTION) return false;
      const struct cf_feel_fn *fn = v->u.fn;
      if (fn->def) return fn->def->nkids == t->n;
      for (size_t i = 0; i < fn->nbi; i++)
        if (t->n >= fn->bi[i].min_args && t->n <= fn->bi[i].max_args) return true;
      return false;
    }
    default: return false;
  }
}

/* ------------------------------------------------------------- invocation */

static int call_builtin(struct cf_feel_eval *ev, const struct cf__feel_builtin *bi, size_t nbi,
                        const struct cf_feel_value *args, size_t nargs, char *const *names,
                        struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (!names) {
    for (size_t i = 0; i < nbi; i++) {
      if (nargs >= bi[i].min_args && (bi[i].max_args == CF__FEEL_VARIADIC || nargs <= bi[i].max_args))
        return bi[i].fn(ev, args, nargs, out);
    }
    cf__feel_warn(ev, "%s: no version of the function takes %zu argument%s", bi->name, nargs,
                  nargs == 1 ? "" : "s");
    return CF_OK;
  }
  /* Named: the first overload whose parameters cover every given name. */
  for (size_t i = 0; i < nbi; i++) {
    struct cf_feel_value ordered[CF__FEEL_MAX_PARAMS];
    int slot_of[CF__FEEL_MAX_PARAMS + 8];
    size_t given = 0;
    bool ok = nargs <= CF__FEEL_MAX_PARAMS;
    for (size_t a = 0; ok && a < nargs; a++) {
      int found = -1;
      for (int k = 0; k < CF__FEEL_MAX_PARAMS && bi[i].params[k]; k++)
        if (strcmp(bi[i].params[k], names[a]) == 0) found = k;
      if (found < 0) ok = false;
      slot_of[a] = found;
      if (found >= 0 && (size_t)found + 1 > given) given = (size_t)found + 1;
    }
    if (!ok) continue;
    if (given < bi[i].min_args) continue;
    if (bi[i].max_args != CF__FEEL_VARIADIC && given > bi[i].max_args) continue;
    for (size_t k = 0; k < given; k++) cf_feel_set_null(&ordered[k]);
    for (size_t a = 0; a < nargs; a++) ordered[slot_of[a]] = args[a]; /* borrowed views */
    return bi[i].fn(ev, ordered, given, out);
  }
  cf__feel_warn(ev, "%s: the parameter names given do not match the function", bi->name);
  return CF_OK;
}

static const struct cf_feel_value *globals_of(const struct cf_feel_fn *fn) {
  return fn->globals.type == CF_FEEL_CONTEXT ? &fn->globals : NULL;
}

static int call_user(struct cf_feel_eval *ev, const struct cf_feel_fn *fn,
                     const struct cf_feel_value *args, size_t nargs, char *const *names,
                     struct cf_feel_value *out) {
  const struct node *def = fn->def;
  cf_feel_set_null(out);
  if (names ? nargs > def->nkids : nargs != def->nkids) {
    cf__feel_warn(ev, "function takes %u argument%s, got %zu", def->nkids,
                  def->nkids == 1 ? "" : "s", nargs);
    return CF_OK;
  }
  if (ev->depth > MAX_DEPTH - 20) {
    cf__feel_warn(ev, "function calls nested too deeply");
    ev->aborted = true;
    return CF_OK;
  }
  /* Frames: parameters above the closure above the caller's scope. */
  struct scope stack_frames[8];
  struct scope *frames = def->nkids + 1 <= 8 ? stack_frames
                                              : cf_malloc((def->nkids + 1) * sizeof *frames);
  if (!frames) return CF_ENOMEM;
  static const struct cf_feel_value null_value = {.type = CF_FEEL_NULL};
  struct scope closure = {ev->scope, NULL, NULL, 0, NULL};
  if (fn->closure.type == CF_FEEL_CONTEXT) closure.ctx = fn->closure.u.ctx;
  const struct scope *up = closure.ctx ? &closure : ev->scope;
  /* The definer's variables, if they differ from the caller's. */
  struct scope gl = {up, NULL, NULL, 0, NULL};
  const struct cf_feel_value *g = globals_of(fn);
  if (g && g != ev->globals && (!ev->globals || g->u.ctx != ev->globals->u.ctx)) {
    gl.ctx = g->u.ctx;
    /* Below the closure, above the caller: put it under the closure. */
    gl.up = ev->scope;
    closure.up = &gl;
    up = closure.ctx ? &closure : &gl;
  }
  for (uint32_t i = 0; i < def->nkids; i++) {
    const struct cf_feel_value *val = &null_value;
    if (names) {
      for (size_t a = 0; a < nargs; a++)
        if (strcmp(names[a], def->names[i]) == 0) val = &args[a];
    } else if (i < nargs) {
      val = &args[i];
    }
    frames[i] = (struct scope){up, NULL, def->names[i], (uint32_t)strlen(def->names[i]), val};
    up = &frames[i];
  }
  if (names) {
    for (size_t a = 0; a < nargs; a++) {
      bool known = false;
      for (uint32_t i = 0; i < def->nkids; i++)
        if (strcmp(names[a], def->names[i]) == 0) known = true;
      if (!known) {
        cf__feel_warn(ev, "function has no parameter named '%s'", names[a]);
        if (frames != stack_frames) cf_free(frames);
        return CF_OK;
      }
    }
  }
  const struct scope *saved = ev->scope;
  struct cf_feel_expr *saved_expr = ev->expr;
  ev->scope = up;
  ev->expr = fn->owner;
  ev->depth += 10;
  int rc = eval(ev, def->a, out);
  ev->depth -= 10;
  ev->scope = saved;
  ev->expr = saved_expr;
  if (frames != stack_frames) cf_free(frames);
  return rc;
}

static int invoke(struct cf_feel_eval *ev, const struct cf_feel_value *fnv,
                  const struct cf_feel_value *args, size_t nargs, char *const *names,
                  struct cf_feel_value *out) {
  if (fnv->type != CF_FEEL_FUNCTION) {
    cf__feel_warn(ev, "cannot call a %s: it is not a function", cf_feel_type_name(fnv->type));
    cf_feel_set_null(out);
    return CF_OK;
  }
  const struct cf_feel_fn *fn = fnv->u.fn;
  if (fn->bi) return call_builtin(ev, fn->bi, fn->nbi, args, nargs, names, out);
  return call_user(ev, fn, args, nargs, names, out);
}

int cf__feel_invoke(struct cf_feel_eval *ev, const struct cf_feel_value *fn,
                    const struct cf_feel_value *args, size_t nargs, struct cf_feel_value *out) {
  return invoke(ev, fn, args, nargs, NULL, out);
}

static int eval_call(struct cf_feel_eval *ev, const struct node *n, struct cf_feel_value *out) {
  const struct node *callee = n->a;
  cf_feel_set_null(out);
  /* `is defined(x)`: a missing name is the answer, not an error. */
  if (callee->kind == N_NAME && callee->bi && cf__feel_builtin_is_defined(callee->bi) &&
      !lookup(ev, callee->name, callee->namelen) && n->nkids == 1) {
    bool saved_undef = ev->undefined;
    struct cf_feel_warnings *saved_w = ev->w;
    ev->undefined = false;
    ev->w = NULL; /* its warnings are the point, not a problem */
    struct cf_feel_value v;
    int rc = eval(ev, n->kids[0], &v);
    ev->w = saved_w;
    bool undef = ev->undefined;
    ev->undefined = saved_undef;
    if (rc) return rc;
    cf_feel_value_release(&v);
    cf_feel_set_bool(out, !undef);
    return CF_OK;
  }

  struct cf_feel_value argv_small[6];
  struct cf_feel_value *argv = n->nkids <= 6 ? argv_small : cf_malloc(n->nkids * sizeof *argv);
  if (!argv) return CF_ENOMEM;
  uint32_t done = 0;
  int rc = CF_OK;
  for (; done < n->nkids; done++) {
    if ((rc = eval(ev, n->kids[done], &argv[done]))) break;
  }
  if (rc == CF_OK) {
    const struct cf_feel_value *local = NULL;
    if (callee->kind == N_NAME) local = lookup(ev, callee->name, callee->namelen);
    if (callee->kind == N_NAME && callee->bi && (!local || local->type != CF_FEEL_FUNCTION)) {
      rc = call_builtin(ev, callee->bi, callee->nbi, argv, n->nkids, n->names, out);
    } else {
      struct cf_feel_value fnv;
      rc = eval(ev, callee, &fnv);
      if (rc == CF_OK) {
        if (fnv.type == CF_FEEL_NULL && callee->kind == N_NAME) {
          cf__feel_warn(ev, "no function found with name '%s'", callee->name);
        } else {
          rc = invoke(ev, &fnv, argv, n->nkids, n->names, out);
        }
        cf_feel_value_release(&fnv);
      }
    }
  }
  for (uint32_t i = 0; i < done; i++) cf_feel_value_release(&argv[i]);
  if (argv != argv_small) cf_free(argv);
  return rc;
}

/* ------------------------------------------------------------- paths, filters */

static int path_of(struct cf_feel_eval *ev, const struct cf_feel_value *v, const char *name,
                   uint32_t len, struct cf_feel_value *out) {
  cf_feel_set_null(out);
  switch (v->type) {
    case CF_FEEL_NULL: ev->undefined = true; return CF_OK;
    case CF_FEEL_CONTEXT: {
      const struct cf_feel_value *e = cf_feel_ctx_get(v->u.ctx, name, len);
      if (e) {
        cf_feel_value_copy(out, e);
      } else {
        ev->undefined = true;
        cf__feel_warn(ev, "no context entry found with key '%s'", name);
      }
      return CF_OK;
    }
    case CF_FEEL_LIST: {
      int rc = cf_feel_list_new(out, v->u.list->len);
      if (rc) return rc;
      for (uint32_t i = 0; i < v->u.list->len; i++) {
        struct cf_feel_value item;
        if ((rc = path_of(ev, &v->u.list->items[i], name, len, &item)) ||
            (rc = cf_feel_list_push(out, &item))) {
          cf_feel_value_release(out);
          return rc;
        }
      }
      return CF_OK;
    }
    case CF_FEEL_RANGE: {
      const struct cf_feel_range *r = v->u.range;
      if (!strcmp(name, "start")) cf_feel_value_copy(out, &r->start);
      else if (!strcmp(name, "end")) cf_feel_value_copy(out, &r->end);
      else if (!strcmp(name, "start included")) cf_feel_set_bool(out, r->start_incl);
      else if (!strcmp(name, "end included")) cf_feel_set_bool(out, r->end_incl);
      else cf__feel_warn(ev, "a range has no property '%s'", name);
      return CF_OK;
    }
    case CF_FEEL_DATE:
    case CF_FEEL_TIME:
    case CF_FEEL_DATETIME:
    case CF_FEEL_DT_DURATION:
    case CF_FEEL_YM_DURATION: {
      int rc = cf__feel_temporal_property(v, name, len, out);
      if (rc == CF_ENOTFOUND) {
        cf_feel_set_null(out);
        cf__feel_warn(ev, "a %s has no property '%s'", cf_feel_type_name(v->type), name);
        return CF_OK;
      }
      return rc;
    }
    default:
      cf__feel_warn(ev, "cannot read '%s' of a %s", name, cf_feel_type_name(v->type));
      return CF_OK;
  }
}

static int eval_filter(struct cf_feel_eval *ev, const struct node *n, struct cf_feel_value *out) {
  struct cf_feel_value base;
  int rc = eval(ev, n->a, &base);
  if (rc) return rc;
  cf_feel_set_null(out);
  const struct cf_feel_value *items;
  uint32_t count;
  if (base.type == CF_FEEL_LIST) {
    items = base.u.list->items;
    count = base.u.list->len;
  } else if (base.type == CF_FEEL_NULL) {
    cf_feel_value_release(&base);
    return CF_OK;
  } else {
    items = &base; /* a single value filters like a list of one */
    count = 1;
  }
  const struct scope *saved = ev->scope;
  struct cf_feel_value res;
  bool index_mode = false;
  int64_t index = 0;
  if (count == 0) {
    /* No item to try the filter on: evaluate it alone to tell index from condition. */
    rc = eval(ev, n->b, &res);
    if (rc == CF_OK) {
      if (res.type == CF_FEEL_NUMBER) {
        cf_feel_set_null(out);
      } else {
        rc = cf_feel_list_new(out, 0);
      }
      cf_feel_value_release(&res);
    }
    cf_feel_value_release(&base);
    return rc;
  }
  bool is_list = base.type == CF_FEEL_LIST;
  struct cf_feel_value result;
  cf_feel_set_null(&result);
  for (uint32_t i = 0; i < count; i++) {
    struct scope item = {saved, NULL, "item", 4, &items[i]};
    struct scope entries = {&item, NULL, NULL, 0, NULL};
    const struct scope *top = &item;
    if (items[i].type == CF_FEEL_CONTEXT) {
      entries.ctx = items[i].u.ctx;
      top = &entries;
    }
    ev->scope = top;
    rc = eval(ev, n->b, &res);
    ev->scope = saved;
    if (rc) break;
    if (i == 0 && res.type == CF_FEEL_NUMBER) {
      index_mode = true;
      if (!cf_feel_number_to_int64(&res, &index)) {
        /* A fractional index selects nothing. */
        index = 0;
      }
      cf_feel_value_release(&res);
      break;
    }
    if (i == 0 && (rc = cf_feel_list_new(&result, count))) {
      cf_feel_value_release(&res);
      break;
    }
    if (res.type == CF_FEEL_BOOLEAN && res.u.boolean) {
      struct cf_feel_value copy;
      cf_feel_value_copy(&copy, &items[i]);
      if ((rc = cf_feel_list_push(&result, &copy))) {
        cf_feel_value_release(&res);
        break;
      }
    }
    cf_feel_value_release(&res);
  }
  if (rc == CF_OK) {
    if (index_mode) {
      int64_t idx = index > 0 ? index - 1 : (int64_t)count + index;
      if (index != 0 && idx >= 0 && idx < (int64_t)count) {
        cf_feel_value_copy(out, &items[idx]);
      } else {
        cf__feel_warn(ev, "index %lld is out of the list's bounds (%u items)", (long long)index,
                      count);
      }
    } else {
      cf_feel_value_move(out, &result);
      (void)is_list;
    }
  }
  cf_feel_value_release(&result);
  cf_feel_value_release(&base);
  return rc;
}

/* ------------------------------------------------------------- iteration */

struct iter_state {
  const struct node *n;
  struct cf_feel_value *domains; /* one list per iteration context */
  struct cf_feel_value *result;  /* for: the list; some/every: unused */
  struct scope *frames;
  int verdict; /* some/every: -1 null seen, 1/0 */
  bool decided;
};

/* The dates from a to b (either direction), one day apart. */
static int date_steps(struct cf_feel_eval *ev, const struct cf_feel_value *a,
                      const struct cf_feel_value *b, struct cf_feel_value *out) {
  int cmp;
  if (cf_feel_compare(a, b, &cmp)) return CF_OK;
  struct cf_feel_value day, cur;
  day.type = CF_FEEL_DT_DURATION;
  day.u.dt.secs = cmp <= 0 ? 86400 : -86400;
  day.u.dt.nanos = 0;
  int rc = cf_feel_list_new(out, 0);
  if (rc) return rc;
  cf_feel_value_copy(&cur, a);
  for (uint32_t i = 0; i < MAX_LIST; i++) {
    struct cf_feel_value item, next_day;
    cf_feel_value_copy(&item, &cur);
    if ((rc = cf_feel_list_push(out, &item))) break;
    int c;
    if (cf_feel_compare(&cur, b, &c) || c == 0) break;
    if ((rc = cf__feel_temporal_arith(ev, '+', &cur, &day, &next_day))) break;
    if (next_day.type != CF_FEEL_DATE) break;
    cur = next_day;
  }
  if (rc) cf_feel_value_release(out);
  return rc;
}

/* Domain of an iteration context as a list (a numeric range expands). */
static int domain_of(struct cf_feel_eval *ev, const struct node *dn, struct cf_feel_value *out) {
  if (dn && dn->kind == N_RANGE && dn->op == 'f') {
    struct cf_feel_value a, b;
    int rc = eval(ev, dn->a, &a);
    if (rc) return rc;
    if ((rc = eval(ev, dn->b, &b))) {
      cf_feel_value_release(&a);
      return rc;
    }
    int64_t from, to;
    cf_feel_set_null(out);
    if (a.type == CF_FEEL_DATE && b.type == CF_FEEL_DATE) {
      rc = date_steps(ev, &a, &b, out);
    } else if (!cf_feel_number_to_int64(&a, &from) || !cf_feel_number_to_int64(&b, &to)) {
      cf__feel_warn(ev, "a for-loop range needs whole numbers (or dates) at both ends");
    } else if ((from > to ? from - to : to - from) >= MAX_LIST) {
      cf__feel_warn(ev, "a for-loop range of more than %d numbers", MAX_LIST);
    } else {
      int64_t step = from <= to ? 1 : -1;
      size_t cnt = (size_t)((to - from) * step + 1);
      rc = cf_feel_list_new(out, cnt);
      for (int64_t i = from; rc == CF_OK; i += step) {
        struct cf_feel_value v;
        cf_feel_set_int(&v, i);
        rc = cf_feel_list_push(out, &v);
        if (i == to) break;
      }
      if (rc) cf_feel_value_release(out);
      ev->steps += cnt;
    }
    cf_feel_value_release(&a);
    cf_feel_value_release(&b);
    return rc;
  }
  struct cf_feel_value v;
  int rc = eval(ev, dn, &v);
  if (rc) return rc;
  if (v.type == CF_FEEL_LIST) {
    cf_feel_value_move(out, &v);
    return CF_OK;
  }
  if (v.type == CF_FEEL_RANGE) {
    /* A range of whole numbers iterates over its members. */
    const struct cf_feel_range *r = v.u.range;
    int64_t from, to;
    cf_feel_set_null(out);
    if (cf_feel_number_to_int64(&r->start, &from) && cf_feel_number_to_int64(&r->end, &to) &&
        from <= to && to - from < MAX_LIST) {
      if (!r->start_incl) from += from <= to ? 1 : -1;
      if (!r->end_incl) to -= from <= to ? 1 : -1;
      int64_t step = from <= to ? 1 : -1;
      rc = cf_feel_list_new(out, 0);
      for (int64_t i = from; rc == CF_OK; i += step) {
        struct cf_feel_value item;
        cf_feel_set_int(&item, i);
        rc = cf_feel_list_push(out, &item);
        if (i == to) break;
      }
      if (rc) cf_feel_value_release(out);
    } else {
      cf__feel_warn(ev, "cannot iterate over this range");
    }
    cf_feel_value_release(&v);
    return rc;
  }
  if (v.type == CF_FEEL_NULL) {
    cf_feel_set_null(out);
    cf__feel_warn(ev, "cannot iterate over null");
    return CF_OK;
  }
  /* A single value iterates as a list of one. */
  rc = cf_feel_list_new(out, 1);
  if (rc == CF_OK) rc = cf_feel_list_push(out, &v);
  else cf_feel_value_release(&v);
  return rc;
}

static int iterate(struct cf_feel_eval *ev, struct iter_state *st, uint32_t level,
                   const struct scope *up) {
  const struct node *n = st->n;
  if (level == n->nkids) {
    const struct scope *saved = ev->scope;
    struct scope partial = {up, NULL, "partial", 7, st->result};
    ev->scope = n->kind == N_FOR ? &partial : up;
    struct cf_feel_value v;
    int rc = eval(ev, n->a, &v);
    ev->scope = saved;
    if (rc) return rc;
    if (n->kind == N_FOR) {
      if (st->result->u.list->len >= MAX_LIST) {
        cf_feel_value_release(&v);
        cf__feel_warn(ev, "for produced more than %d items", MAX_LIST);
        ev->aborted = true;
        return CF_OK;
      }
      return cf_feel_list_push(st->result, &v);
    }
    int t = v.type == CF_FEEL_BOOLEAN ? v.u.boolean : -1;
    cf_feel_value_release(&v);
    if (n->kind == N_SOME) {
      if (t == 1) {
        st->verdict = 1;
        st->decided = true;
      } else if (t < 0) {
        st->verdict = -1;
      }
    } else {
      if (t == 0) {
        st->verdict = 0;
        st->decided = true;
      } else if (t < 0) {
        st->verdict = -1;
      }
    }
    return CF_OK;
  }
  struct cf_feel_value dom;
  int rc;
  const struct scope *saved = ev->scope;
  ev->scope = up;
  rc = domain_of(ev, n->kids[level], &dom);
  ev->scope = saved;
  if (rc) return rc;
  if (dom.type != CF_FEEL_LIST) {
    st->verdict = -1;
    st->decided = true;
    cf_feel_value_release(st->result);
    if (n->kind == N_FOR) cf_feel_set_null(st->result);
    return CF_OK;
  }
  for (uint32_t i = 0; i < dom.u.list->len && !st->decided && !ev->aborted; i++) {
    st->frames[level] =
        (struct scope){up, NULL, n->names[level], (uint32_t)strlen(n->names[level]), &dom.u.list->items[i]};
    if ((rc = iterate(ev, st, level + 1, &st->frames[level]))) break;
    if (n->kind == N_FOR && st->result->type != CF_FEEL_LIST) break;
  }
  cf_feel_value_release(&dom);
  return rc;
}

static int eval_iteration(struct cf_feel_eval *ev, const struct node *n, struct cf_feel_value *out) {
  struct scope small[4];
  struct scope *frames = n->nkids <= 4 ? small : cf_malloc(n->nkids * sizeof *frames);
  if (!frames) return CF_ENOMEM;
  struct cf_feel_value result;
  cf_feel_set_null(&result);
  int rc = CF_OK;
  if (n->kind == N_FOR) rc = cf_feel_list_new(&result, 0);
  struct iter_state st = {n, NULL, &result, frames, n->kind == N_SOME ? 0 : 1, false};
  if (rc == CF_OK) rc = iterate(ev, &st, 0, ev->scope);
  if (frames != small) cf_free(frames);
  if (rc) {
    cf_feel_value_release(&result);
    return rc;
  }
  if (n->kind == N_FOR) {
    cf_feel_value_move(out, &result);
  } else {
    set_tri(out, st.verdict);
  }
  return CF_OK;
}

/* ------------------------------------------------------------- closures */

static int capture(struct cf_feel_eval *ev, struct cf_feel_value *closure) {
  cf_feel_set_null(closure);
  if (!ev->scope) return CF_OK;
  int rc = cf_feel_ctx_new(closure, 4);
  if (rc) return rc;
  for (const struct scope *s = ev->scope; s; s = s->up) {
    if (s->ctx) {
      for (uint32_t i = 0; i < s->ctx->len; i++) {
        const struct cf_feel_ctx_entry *e = &s->ctx->entries[i];
        if (cf_feel_ctx_get(closure->u.ctx, e->key->data, e->key->len)) continue;
        struct cf_feel_value v;
        cf_feel_value_copy(&v, &e->value);
        if ((rc = cf_feel_ctx_put(closure, e->key->data, e->key->len, &v))) goto fail;
      }
    } else if (s->val && !cf_feel_ctx_get(closure->u.ctx, s->name, s->namelen)) {
      struct cf_feel_value v;
      cf_feel_value_copy(&v, s->val);
      if ((rc = cf_feel_ctx_put(closure, s->name, s->namelen, &v))) goto fail;
    }
  }
  return CF_OK;
fail:
  cf_feel_value_release(closure);
  return rc;
}

/* ------------------------------------------------------------- the walk */

static int eval_arith(struct cf_feel_eval *ev, char op, const struct cf_feel_value *a,
                      const struct cf_feel_value *b, struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (a->type == CF_FEEL_NULL || b->type == CF_FEEL_NULL) return CF_OK;
  if (a->type == CF_FEEL_NUMBER && b->type == CF_FEEL_NUMBER)
    return cf__feel_num_arith(ev, op, &a->u.number, &b->u.number, out);
  if (op == '+' && a->type == CF_FEEL_STRING && b->type == CF_FEEL_STRING) {
    struct cf_buf buf;
    cf_buf_init(&buf);
    cf_buf_append(&buf, a->u.string->data, a->u.string->len);
    cf_buf_append(&buf, b->u.string->data, b->u.string->len);
    int rc = buf.oom ? CF_ENOMEM : cf_feel_set_string(out, buf.data, buf.len);
    cf_buf_release(&buf);
    return rc;
  }
  bool ta = a->type >= CF_FEEL_DATE && a->type <= CF_FEEL_YM_DURATION;
  bool tb = b->type >= CF_FEEL_DATE && b->type <= CF_FEEL_YM_DURATION;
  if (op != '^' && (ta || tb)) return cf__feel_temporal_arith(ev, op, a, b, out);
  const char *opname = op == '+' ? "add" : op == '-' ? "subtract" : op == '*' ? "multiply"
                       : op == '/' ? "divide" : "raise";
  cf__feel_warn(ev, "cannot %s %s and %s", opname, cf_feel_type_name(a->type),
                cf_feel_type_name(b->type));
  return CF_OK;
}

static int eval_unary_test(struct cf_feel_eval *ev, const struct node *n, int *tri);

static int eval(struct cf_feel_eval *ev, const struct node *n, struct cf_feel_value *out) {
  cf_feel_set_null(out);
  if (ev->aborted || !n) return CF_OK;
  if (++ev->steps > MAX_STEPS) {
    cf__feel_warn(ev, "evaluation took too many steps (more than %llu)", MAX_STEPS);
    ev->aborted = true;
    return CF_OK;
  }
  if (++ev->depth > MAX_DEPTH) {
    cf__feel_warn(ev, "expression nested too deeply");
    ev->aborted = true;
    ev->depth--;
    return CF_OK;
  }
  int rc = CF_OK;
  struct cf_feel_value a, b, c;
  switch ((enum node_kind)n->kind) {
    case N_LIT: cf_feel_value_copy(out, &n->lit); break;
    case N_NAME: {
      const struct cf_feel_value *v = lookup(ev, n->name, n->namelen);
      if (v) {
        cf_feel_value_copy(out, v);
      } else if (n->bi) {
        rc = builtin_value(n->bi, n->nbi, out);
      } else {
        ev->undefined = true;
        cf__feel_warn(ev, "no variable found with name '%s'", n->name);
      }
      break;
    }
    case N_INPUT:
      if (ev->input) cf_feel_value_copy(out, ev->input);
      break;
    case N_PATH:
      if ((rc = eval(ev, n->a, &a))) break;
      rc = path_of(ev, &a, n->name, n->namelen, out);
      cf_feel_value_release(&a);
      break;
    case N_FILTER: rc = eval_filter(ev, n, out); break;
    case N_CALL: rc = eval_call(ev, n, out); break;
    case N_NEG:
      if ((rc = eval(ev, n->a, &a))) break;
      if (a.type == CF_FEEL_NUMBER) {
        cf_feel_value_move(out, &a);
        out->u.number.bits ^= DECNEG;
        if (decNumberIsZero(&out->u.number)) out->u.number.bits &= (uint8_t)~DECNEG;
      } else if (a.type == CF_FEEL_DT_DURATION) {
        cf_feel_value_move(out, &a);
        out->u.dt.secs = -out->u.dt.secs;
        out->u.dt.nanos = -out->u.dt.nanos;
      } else if (a.type == CF_FEEL_YM_DURATION) {
        cf_feel_value_move(out, &a);
        out->u.months = -out->u.months;
      } else if (a.type != CF_FEEL_NULL) {
        cf__feel_warn(ev, "cannot negate a %s", cf_feel_type_name(a.type));
      }
      cf_feel_value_release(&a);
      break;
    case N_ARITH:
      if ((rc = eval(ev, n->a, &a))) break;
      if ((rc = eval(ev, n->b, &b))) {
        cf_feel_value_release(&a);
        break;
      }
      rc = eval_arith(ev, n->op, &a, &b, out);
      cf_feel_value_release(&a);
      cf_feel_value_release(&b);
      break;
    case N_CMP:
      if ((rc = eval(ev, n->a, &a))) break;
      if ((rc = eval(ev, n->b, &b))) {
        cf_feel_value_release(&a);
        break;
      }
      set_tri(out, cmp_values(ev, n->op, &a, &b, n->pos));
      cf_feel_value_release(&a);
      cf_feel_value_release(&b);
      break;
    case N_AND:
    case N_OR: {
      int x, y;
      if ((rc = eval_bool(ev, n->a, &x))) break;
      bool and = n->kind == N_AND;
      if (x == (and ? 0 : 1)) {
        cf_feel_set_bool(out, !and);
        break;
      }
      if ((rc = eval_bool(ev, n->b, &y))) break;
      if (y == (and ? 0 : 1)) cf_feel_set_bool(out, !and);
      else if (x < 0 || y < 0) cf_feel_set_null(out);
      else cf_feel_set_bool(out, and);
      break;
    }
    case N_BETWEEN: {
      if ((rc = eval(ev, n->a, &a))) break;
      if ((rc = eval(ev, n->b, &b))) {
        cf_feel_value_release(&a);
        break;
      }
      if ((rc = eval(ev, n->c, &c))) {
        cf_feel_value_release(&a);
        cf_feel_value_release(&b);
        break;
      }
      int lo = cmp_values(ev, 'g', &a, &b, n->pos);
      int hi = cmp_values(ev, 'l', &a, &c, n->pos);
      if (lo == 0 || hi == 0) cf_feel_set_bool(out, false);
      else if (lo < 0 || hi < 0) cf_feel_set_null(out);
      else cf_feel_set_bool(out, true);
      cf_feel_value_release(&a);
      cf_feel_value_release(&b);
      cf_feel_value_release(&c);
      break;
    }
    case N_IN: {
      if ((rc = eval(ev, n->a, &a))) break;
      const struct cf_feel_value *saved = ev->input;
      ev->input = &a;
      int t;
      rc = eval_unary_test(ev, n->b, &t);
      ev->input = saved;
      cf_feel_value_release(&a);
      if (rc == CF_OK) set_tri(out, t);
      break;
    }
    case N_INSTANCE_OF:
      if ((rc = eval(ev, n->a, &a))) break;
      if (n->type && n->type->kind == T_UNKNOWN) {
        cf__feel_warn(ev, "unknown type '%s'", n->type->unknown ? n->type->unknown : "?");
      } else {
        cf_feel_set_bool(out, type_matches(n->type, &a));
      }
      cf_feel_value_release(&a);
      break;
    case N_IF: {
      int t;
      if ((rc = eval_bool(ev, n->a, &t))) break;
      rc = eval(ev, t == 1 ? n->b : n->c, out);
      break;
    }
    case N_FOR:
    case N_SOME:
    case N_EVERY: rc = eval_iteration(ev, n, out); break;
    case N_LIST: {
      if ((rc = cf_feel_list_new(out, n->nkids))) break;
      for (uint32_t i = 0; i < n->nkids; i++) {
        if ((rc = eval(ev, n->kids[i], &a)) || (rc = cf_feel_list_push(out, &a))) {
          cf_feel_value_release(out);
          break;
        }
      }
      break;
    }
    case N_CONTEXT: {
      if ((rc = cf_feel_ctx_new(out, n->nkids))) break;
      const struct scope *saved = ev->scope;
      struct scope frame = {saved, out->u.ctx, NULL, 0, NULL};
      for (uint32_t i = 0; i < n->nkids; i++) {
        ev->scope = &frame;
        rc = eval(ev, n->kids[i], &a);
        ev->scope = saved;
        if (rc || (rc = cf_feel_ctx_put(out, n->names[i], strlen(n->names[i]), &a))) {
          cf_feel_value_release(out);
          break;
        }
      }
      break;
    }
    case N_RANGE: {
      if ((rc = eval(ev, n->a, &a))) break;
      if (n->op == 'e') {
        cf_feel_value_copy(&b, &a);
      } else if ((rc = eval(ev, n->b, &b))) {
        cf_feel_value_release(&a);
        break;
      }
      int cmp;
      if (a.type != CF_FEEL_NULL && b.type != CF_FEEL_NULL && cf_feel_compare(&a, &b, &cmp)) {
        cf__feel_warn(ev, "a range needs comparable ends of one type, not %s and %s",
                      cf_feel_type_name(a.type), cf_feel_type_name(b.type));
        cf_feel_value_release(&a);
        cf_feel_value_release(&b);
        break;
      }
      if ((a.type == CF_FEEL_NULL || b.type == CF_FEEL_NULL) && n->op != 'u' && n->op != 'e') {
        /* `[1..null]`: only `< 10` and friends make a range open at one end. */
        cf__feel_warn(ev, "a range endpoint is null");
        cf_feel_value_release(&a);
        cf_feel_value_release(&b);
        break;
      }
      rc = cf_feel_range_new(out, &a, n->start_incl, &b, n->end_incl);
      break;
    }
    case N_FUNCDEF: {
      struct cf_feel_fn *fn = cf_calloc(1, sizeof *fn);
      if (!fn) {
        rc = CF_ENOMEM;
        break;
      }
      fn->refs = 1;
      fn->def = n;
      fn->owner = ev->expr;
      cf__feel_expr_ref(ev->expr);
      if (ev->globals) cf_feel_value_copy(&fn->globals, ev->globals);
      else cf_feel_set_null(&fn->globals);
      if ((rc = capture(ev, &fn->closure))) {
        cf__feel_fn_unref(fn);
        break;
      }
      out->type = CF_FEEL_FUNCTION;
      out->u.fn = fn;
      break;
    }
    case N_UT_CMP:
    case N_UT_ANY:
    case N_UT_NOT:
    case N_UT_EXPR:
    case N_UT_LIST: {
      int t;
      if ((rc = eval_unary_test(ev, n, &t))) break;
      set_tri(out, t);
      break;
    }
  }
  ev->depth--;
  if (rc) cf_feel_value_release(out);
  return rc;
}

/* A unary test against ev->input: 1, 0, or -1 (null). */
static int eval_unary_test(struct cf_feel_eval *ev, const struct node *n, int *tri) {
  static const struct cf_feel_value null_value = {.type = CF_FEEL_NULL};
  const struct cf_feel_value *input = ev->input ? ev->input : &null_value;
  *tri = -1;
  int rc = CF_OK;
  struct cf_feel_value v;
  switch ((enum node_kind)n->kind) {
    case N_UT_ANY: *tri = 1; return CF_OK;
    case N_UT_NOT:
      if ((rc = eval_unary_test(ev, n->a, tri))) return rc;
      if (*tri >= 0) *tri = !*tri;
      return CF_OK;
    case N_UT_LIST: {
      int res = 0;
      for (uint32_t i = 0; i < n->nkids; i++) {
        int t;
        if ((rc = eval_unary_test(ev, n->kids[i], &t))) return rc;
        if (t == 1) {
          *tri = 1;
          return CF_OK;
        }
        if (t < 0) res = -1;
      }
      *tri = res;
      return CF_OK;
    }
    case N_UT_CMP:
      if ((rc = eval(ev, n->a, &v))) return rc;
      if (n->op == '=' || n->op == '!') {
        int e = cf_feel_equal(input, &v);
        *tri = e < 0 ? -1 : n->op == '=' ? e : !e;
      } else {
        *tri = cmp_values(ev, n->op, input, &v, n->pos);
      }
      cf_feel_value_release(&v);
      return CF_OK;
    case N_UT_EXPR:
      if ((rc = eval(ev, n->a, &v))) return rc;
      if (n->uses_input && v.type == CF_FEEL_BOOLEAN) {
        *tri = v.u.boolean;
      } else {
        *tri = match_value(input, &v);
      }
      cf_feel_value_release(&v);
      return CF_OK;
    default:
      if ((rc = eval(ev, n, &v))) return rc;
      *tri = v.type == CF_FEEL_BOOLEAN ? v.u.boolean : -1;
      cf_feel_value_release(&v);
      return CF_OK;
  }
}

/* ------------------------------------------------------------- entry */

static void init_eval(struct cf_feel_eval *ev, const struct cf_feel_expr *e,
                      const struct cf_feel_value *vars, const struct cf_feel_env *env,
                      struct cf_feel_warnings *w) {
  memset(ev, 0, sizeof *ev);
  ev->env = env ? env : &epoch_env;
  ev->w = w;
  ev->globals = vars && vars->type == CF_FEEL_CONTEXT ? vars : NULL;
  /* Function values made here keep the expression alive; it is never freed under us. */
  ev->expr = (struct cf_feel_expr *)e;
}

int cf_feel_eval(const struct cf_feel_expr *e, const struct cf_feel_value *vars,
                 const struct cf_feel_env *env, struct cf_feel_value *out,
                 struct cf_feel_warnings *w) {
  struct cf_feel_eval ev;
  init_eval(&ev, e, vars, env, w);
  int rc = eval(&ev, e->root, out);
  if (ev.aborted) cf_feel_value_release(out);
  return rc;
}

int cf_feel_eval_unary(const struct cf_feel_expr *e, const struct cf_feel_value *input,
                       const struct cf_feel_value *vars, const struct cf_feel_env *env,
                       struct cf_feel_value *out, struct cf_feel_warnings *w) {
  struct cf_feel_eval ev;
  init_eval(&ev, e, vars, env, w);
  ev.input = input;
  int rc = eval(&ev, e->root, out);
  if (ev.aborted) cf_feel_value_release(out);
  return rc;
}

int cf__feel_eval_text(struct cf_feel_eval *ev, const char *text, size_t len,
                       struct cf_feel_value *out) {
  cf_feel_set_null(out);
  struct cf_error err;
  struct cf_feel_expr *e = cf_feel_compile(text, len, NULL, 0, &err);
  if (!e) {
    if (err.code == CF_ENOMEM) return CF_ENOMEM;
    cf__feel_warn(ev, "%s", err.msg);
    return CF_OK;
  }
  struct cf_feel_eval sub;
  init_eval(&sub, e, NULL, ev ? ev->env : NULL, ev ? ev->w : NULL);
  sub.depth = ev ? ev->depth : 0;
  int rc = eval(&sub, e->root, out);
  if (sub.aborted) cf_feel_value_release(out);
  cf_feel_expr_free(e);
  return rc;
}
