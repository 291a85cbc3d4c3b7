/*
 * Context built-in functions: DMN 1.5 §10.3.4.11 (get value, get entries,
 * context, context put, context merge) with Camunda 8's path forms (get
 * value(context, keys), context put(context, keys, value)).
 *
 * Contexts are immutable once shared, so every function that "changes" one
 * builds a new context holding new references to the old entries' values.
 *
 * Parameter names: DMN names the context `m` in get value and get entries,
 * Camunda names it `context`; both are accepted through overloads.
 */
#include "feel/feel_int.h"

/* True if v is a context; else warns that fname's parameter pname is not one. */
static bool need_context(struct cf_feel_eval *ev, const char *fname, const char *pname,
                         const struct cf_feel_value *v) {
  if (v->type == CF_FEEL_CONTEXT) return true;
  if (v->type == CF_FEEL_NULL)
    cf__feel_warn(ev, "%s: %s is null", fname, pname);
  else
    cf__feel_warn(ev, "%s: %s must be a context, not %s", fname, pname,
                  cf_feel_type_name((enum cf_feel_type)v->type));
  return false;
}

/*
 * A list argument, or a single non-list value standing for the list of it
 * (DMN's singleton-list conversion). *items and *n borrow from v.
 */
static void as_list(const struct cf_feel_value *v, const struct cf_feel_value **items, size_t *n) {
  if (v->type == CF_FEEL_LIST) {
    *items = v->u.list->items;
    *n = v->u.list->len;
  } else {
    *items = v;
    *n = 1;
  }
}

/*
 * Checks a key path: a non-empty list of strings (or, when one_key, a
 * single string). *keys and *n borrow from v. False (warned) if invalid.
 */
static bool get_path(struct cf_feel_eval *ev, const char *fname, const struct cf_feel_value *v,
                     bool allow_string, bool allow_list, const struct cf_feel_value **keys,
                     size_t *n) {
  if (v->type == CF_FEEL_STRING && allow_string) {
    *keys = v;
    *n = 1;
    return true;
  }
  if (v->type == CF_FEEL_LIST && allow_list) {
    *keys = v->u.list->items;
    *n = v->u.list->len;
    if (*n == 0) {
      cf__feel_warn(ev, "%s: keys is an empty list", fname);
      return false;
    }
    for (size_t i = 0; i < *n; i++)
      if ((*keys)[i].type != CF_FEEL_STRING) {
        cf__feel_warn(ev, "%s: key %zu of the path is %s, not a string", fname, i + 1,
                      cf_feel_type_name((enum cf_feel_type)(*keys)[i].type));
        return false;
      }
    return true;
  }
  const char *want = allow_string && allow_list ? "key must be a string or a list of strings"
                     : allow_string             ? "key must be a string"
                                                : "keys must be a list of strings";
  cf__feel_warn(ev, "%s: %s, not %s", fname, want, cf_feel_type_name((enum cf_feel_type)v->type));
  return false;
}

/* ---------------------------------------------------------- get value */

static int get_value(struct cf_feel_eval *ev, const struct cf_feel_value *args, bool allow_string,
                     bool allow_list, struct cf_feel_value *out) {
  static const char fn[] = "get value";
  const struct cf_feel_value *keys;
  size_t n;
  cf_feel_set_null(out);
  if (!need_context(ev, fn, "context", &args[0]) ||
      !get_path(ev, fn, &args[1], allow_string, allow_list, &keys, &n))
    return CF_OK;
  /* A missing entry anywhere along the path is simply null, as for a.b.c. */
  const struct cf_feel_value *v = &args[0];
  for (size_t i = 0; i < n; i++) {
    if (v->type != CF_FEEL_CONTEXT) return CF_OK;
    v = cf_feel_ctx_get(v->u.ctx, keys[i].u.string->data, keys[i].u.string->len);
    if (!v) return CF_OK;
  }
  cf_feel_value_copy(out, v);
  return CF_OK;
}

/* get value(m, key): positional calls come here, so key may also be a path (Camunda). */
static int bi_get_value(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                        struct cf_feel_value *out) {
  return get_value(ev, args, true, true, out);
}

static int bi_get_value_key(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                            size_t nargs, struct cf_feel_value *out) {
  return get_value(ev, args, true, false, out);
}

static int bi_get_value_keys(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                             size_t nargs, struct cf_feel_value *out) {
  return get_value(ev, args, false, true, out);
}

/* -------------------------------------------------------- get entries */

/* get entries(m): the list of {key, value} contexts, in the context's order. */
static int bi_get_entries(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                          struct cf_feel_value *out) {
  struct cf_feel_value list = {0}, entry = {0}, item = {0};
  cf_feel_set_null(out);
  if (!need_context(ev, "get entries", "m", &args[0])) return CF_OK;
  const struct cf_feel_ctx *c = args[0].u.ctx;
  int rc = cf_feel_list_new(&list, c->len);
  for (uint32_t i = 0; rc == CF_OK && i < c->len; i++) {
    if ((rc = cf_feel_ctx_new(&entry, 2)) != CF_OK) break;
    cf_feel_value_copy(&item, &(struct cf_feel_value){.type = CF_FEEL_STRING,
                                                      .u.string = c->entries[i].key});
    if ((rc = cf_feel_ctx_put(&entry, "key", 3, &item)) != CF_OK) break;
    cf_feel_value_copy(&item, &c->entries[i].value);
    if ((rc = cf_feel_ctx_put(&entry, "value", 5, &item)) != CF_OK) break;
    rc = cf_feel_list_push(&list, &entry);
  }
  if (rc == CF_OK) cf_feel_value_move(out, &list);
  cf_feel_value_release(&entry);
  cf_feel_value_release(&list);
  return rc;
}

/* ------------------------------------------------------------ context */

/*
 * context(entries): the context of a list of {key, value} contexts. An item
 * without a string key or without a value entry, or a key given twice,
 * makes the result null.
 */
static int bi_context(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                      struct cf_feel_value *out) {
  static const char fn[] = "context";
  struct cf_feel_value ctx = {0}, item = {0};
  const struct cf_feel_value *items;
  size_t n;
  cf_feel_set_null(out);
  if (args[0].type != CF_FEEL_LIST && args[0].type != CF_FEEL_CONTEXT) {
    cf__feel_warn(ev, "%s: entries must be a list of {key, value} contexts, not %s", fn,
                  cf_feel_type_name((enum cf_feel_type)args[0].type));
    return CF_OK;
  }
  as_list(&args[0], &items, &n);
  int rc = cf_feel_ctx_new(&ctx, n);
  for (size_t i = 0; rc == CF_OK && i < n; i++) {
    const struct cf_feel_value *key = NULL, *value = NULL;
    if (items[i].type == CF_FEEL_CONTEXT) {
      key = cf_feel_ctx_get(items[i].u.ctx, "key", 3);
      value = cf_feel_ctx_get(items[i].u.ctx, "value", 5);
    }
    if (!key || key->type != CF_FEEL_STRING || !value) {
      cf__feel_warn(ev, "%s: entry %zu is not a context with a string key and a value", fn, i + 1);
      goto fail;
    }
    const struct cf_feel_str *k = key->u.string;
    if (cf_feel_ctx_get(ctx.u.ctx, k->data, k->len)) {
      cf__feel_warn(ev, "%s: duplicate key \"%s\"", fn, k->data);
      goto fail;
    }
    cf_feel_value_copy(&item, value);
    rc = cf_feel_ctx_put(&ctx, k->data, k->len, &item);
  }
  if (rc == CF_OK) cf_feel_value_move(out, &ctx);
fail:
  cf_feel_value_release(&ctx);
  return rc;
}

/* -------------------------------------------------------- context put */

/*
 * *out becomes a copy of the context c with keys[0..n) set to value (a new
 * reference is taken). Missing intermediate contexts are created; an
 * intermediate entry that is not a context makes the result null (warned).
 */
static int put_path(struct cf_feel_eval *ev, const struct cf_feel_ctx *c,
                    const struct cf_feel_value *keys, size_t n, const struct cf_feel_value *value,
                    struct cf_feel_value *out) {
  struct cf_feel_value copy = {0}, item = {0};
  const struct cf_feel_str *k = keys[0].u.string;
  int rc = cf_feel_ctx_new(&copy, (c ? c->len : 0) + 1);
  for (uint32_t i = 0; rc == CF_OK && c && i < c->len; i++) {
    cf_feel_value_copy(&item, &c->entries[i].value);
    rc = cf_feel_ctx_put(&copy, c->entries[i].key->data, c->entries[i].key->len, &item);
  }
  if (rc != CF_OK) goto out;
  if (n == 1) {
    cf_feel_value_copy(&item, value);
  } else {
    const struct cf_feel_value *child = c ? cf_feel_ctx_get(c, k->data, k->len) : NULL;
    if (child && child->type != CF_FEEL_CONTEXT) {
      cf__feel_warn(ev, "context put: \"%s\" is a %s, not a context", k->data,
                    cf_feel_type_name((enum cf_feel_type)child->type));
      goto out;
    }
    rc = put_path(ev, child ? child->u.ctx : NULL, keys + 1, n - 1, value, &item);
    if (rc != CF_OK || item.type == CF_FEEL_NULL) goto out;
  }
  rc = cf_feel_ctx_put(&copy, k->data, k->len, &item);
  if (rc == CF_OK) cf_feel_value_move(out, &copy);
out:
  cf_feel_value_release(&copy);
  return rc;
}

static int context_put(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                       bool allow_string, bool allow_list, struct cf_feel_value *out) {
  const struct cf_feel_value *keys;
  size_t n;
  cf_feel_set_null(out);
  if (!need_context(ev, "context put", "context", &args[0]) ||
      !get_path(ev, "context put", &args[1], allow_string, allow_list, &keys, &n))
    return CF_OK;
  return put_path(ev, args[0].u.ctx, keys, n, &args[2], out);
}

/*
 * The first overload takes positional calls, where the second argument may
 * be a key or a path; named calls say which they mean.
 */
static int bi_context_put(struct cf_feel_eval *ev, const struct cf_feel_value *args, size_t nargs,
                          struct cf_feel_value *out) {
  return context_put(ev, args, true, true, out);
}

static int bi_context_put_key(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                              size_t nargs, struct cf_feel_value *out) {
  return context_put(ev, args, true, false, out);
}

/* ------------------------------------------------------ context merge */

/* context merge(contexts): one context of all their entries; later ones win. */
static int bi_context_merge(struct cf_feel_eval *ev, const struct cf_feel_value *args,
                            size_t nargs, struct cf_feel_value *out) {
  struct cf_feel_value ctx = {0}, item = {0};
  const struct cf_feel_value *items;
  size_t n, total = 0;
  cf_feel_set_null(out);
  as_list(&args[0], &items, &n);
  for (size_t i = 0; i < n; i++) {
    if (items[i].type != CF_FEEL_CONTEXT) {
      cf__feel_warn(ev, "context merge: item %zu is %s, not a context", i + 1,
                    cf_feel_type_name((enum cf_feel_type)items[i].type));
      return CF_OK;
    }
    total += items[i].u.ctx->len;
  }
  int rc = cf_feel_ctx_new(&ctx, total);
  for (size_t i = 0; rc == CF_OK && i < n; i++) {
    const struct cf_feel_ctx *c = items[i].u.ctx;
    for (uint32_t j = 0; rc == CF_OK && j < c->len; j++) {
      cf_feel_value_copy(&item, &c->entries[j].value);
      rc = cf_feel_ctx_put(&ctx, c->entries[j].key->data, c->entries[j].key->len, &item);
    }
  }
  if (rc == CF_OK) cf_feel_value_move(out, &ctx);
  cf_feel_value_release(&ctx);
  return rc;
}

/*
 * Overloads: a positional call takes the first entry of a name, a named call
 * the first whose parameter names cover the call's (feel_int.h).
 */
const struct cf__feel_builtin cf__feel_builtins_context[] = {
    {"get value", {"m", "key"}, 2, 2, bi_get_value},
    {"get value", {"context", "key"}, 2, 2, bi_get_value_key},
    {"get value", {"context", "keys"}, 2, 2, bi_get_value_keys},
    {"get entries", {"m"}, 1, 1, bi_get_entries},
    {"get entries", {"context"}, 1, 1, bi_get_entries},
    {"context", {"entries"}, 1, 1, bi_context},
    /* keys first: the positional overload must accept both a key and a path. */
    {"context put", {"context", "keys", "value"}, 3, 3, bi_context_put},
    {"context put", {"context", "key", "value"}, 3, 3, bi_context_put_key},
    {"context merge", {"contexts"}, 1, 1, bi_context_merge},
    {0},
};
