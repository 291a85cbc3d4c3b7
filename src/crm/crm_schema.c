/*
 * Record types and their fields (cf_crm.h): the seven built-in types of
 * shared/contracts.md §7, custom types and fields added through the API,
 * validation of a record's fields, and a record's JSON.
 *
 * A type's schema as JSON (the API's and the store's form):
 *   {"name": "project", "fields": [{"name": "title", "type": "string", "required": true,
 *     "unique": false, "personal": false, "values": [...] (enum), "refType": "account"
 *     (reference), "default": <JSON>}]}
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_json.h"
#include "base/cf_time.h"
#include "crm/crm_int.h"

static const char *const type_names[] = {"string", "decimal", "date", "date-time", "boolean",
                                         "enum",   "reference", "email", "phone"};

#define NAME_MAX_LEN 64

/* ------------------------------------------------------------ the built-in types */

struct builtin_field {
  const char *name;
  enum cf_crm_ftype type;
  bool required, personal;
  const char *values;  /* enum values, comma-separated */
  const char *ref;
  const char *def;     /* default JSON */
};

struct builtin_type {
  const char *name;
  struct builtin_field fields[8];
};

/* F(name, type, required, personal, enum values, reference type, default JSON) */
#define F(n, t, req, pers, vals, ref, def) {n, t, req, pers, vals, ref, def}
static const struct builtin_type builtins[] = {
    {"account",
     {F("name", CF_CRM_STRING, true, false, NULL, NULL, NULL), F("industry", CF_CRM_STRING, false, false, NULL, NULL, NULL),
      F("owner", CF_CRM_STRING, false, false, NULL, NULL, NULL)}},
    {"contact",
     {F("name", CF_CRM_STRING, true, true, NULL, NULL, NULL), F("email", CF_CRM_EMAIL, false, true, NULL, NULL, NULL),
      F("phone", CF_CRM_PHONE, false, true, NULL, NULL, NULL),
      F("account", CF_CRM_REFERENCE, false, false, NULL, "account", NULL)}},
    {"lead",
     {F("name", CF_CRM_STRING, true, true, NULL, NULL, NULL), F("email", CF_CRM_EMAIL, false, true, NULL, NULL, NULL),
      F("phone", CF_CRM_PHONE, false, true, NULL, NULL, NULL), F("source", CF_CRM_STRING, false, false, NULL, NULL, NULL),
      F("status", CF_CRM_ENUM, false, false, "new,contacted,qualified,lost", NULL, "\"new\""),
      F("owner", CF_CRM_STRING, false, false, NULL, NULL, NULL)}},
    {"opportunity",
     {F("name", CF_CRM_STRING, true, false, NULL, NULL, NULL),
      F("account", CF_CRM_REFERENCE, false, false, NULL, "account", NULL),
      F("amount", CF_CRM_DECIMAL, false, false, NULL, NULL, NULL),
      F("stage", CF_CRM_ENUM, false, false, "prospecting,qualification,proposal,negotiation,won,lost", NULL, NULL)}},
    {"order",
     {F("number", CF_CRM_STRING, false, false, NULL, NULL, NULL),
      F("account", CF_CRM_REFERENCE, false, false, NULL, "account", NULL),
      F("amount", CF_CRM_DECIMAL, true, false, NULL, NULL, NULL),
      F("status", CF_CRM_ENUM, false, false, "submitted,approved,shipped,completed,cancelled", NULL, "\"submitted\"")}},
    {"ticket",
     {F("subject", CF_CRM_STRING, true, false, NULL, NULL, NULL),
      F("description", CF_CRM_STRING, false, false, NULL, NULL, NULL),
      F("priority", CF_CRM_ENUM, false, false, "low,normal,high,urgent", NULL, "\"normal\""),
      F("status", CF_CRM_ENUM, false, false, "new,open,pending,resolved,closed", NULL, "\"new\""),
      F("contact", CF_CRM_REFERENCE, false, false, NULL, "contact", NULL)}},
    {"campaign",
     {F("name", CF_CRM_STRING, true, false, NULL, NULL, NULL), F("status", CF_CRM_STRING, false, false, NULL, NULL, NULL)}},
};
#undef F

void crm_type_release(struct cf_crm_type *t) {
  if (!t) return;
  for (size_t i = 0; i < t->nfields; i++) {
    struct cf_crm_field *f = &t->fields[i];
    cf_free(f->name);
    for (size_t k = 0; k < f->nvalues; k++) cf_free(f->values[k]);
    cf_free(f->values);
    cf_free(f->ref_type);
    cf_free(f->default_json);
  }
  cf_free(t->fields);
  cf_free(t->name);
  memset(t, 0, sizeof *t);
}

static int split_values(const char *csv, struct cf_crm_field *f) {
  size_t n = 1;
  for (const char *p = csv; *p; p++) n += *p == ',';
  if (!(f->values = cf_calloc(n, sizeof *f->values))) return CF_ENOMEM;
  const char *p = csv;
  while (*p) {
    size_t len = strcspn(p, ",");
    if (!(f->values[f->nvalues] = cf_malloc(len + 1))) return CF_ENOMEM;
    memcpy(f->values[f->nvalues], p, len);
    f->values[f->nvalues++][len] = '\0';
    p += len;
    if (*p == ',') p++;
  }
  return CF_OK;
}

int crm_builtin_types(struct cf_crm_type **out, size_t *n) {
  size_t nt = sizeof builtins / sizeof builtins[0];
  struct cf_crm_type *ts = cf_calloc(nt, sizeof *ts);
  if (!ts) return CF_ENOMEM;
  int rc = CF_OK;
  for (size_t i = 0; i < nt && !rc; i++) {
    const struct builtin_type *b = &builtins[i];
    size_t nf = 0;
    while (nf < 8 && b->fields[nf].name) nf++;
    ts[i].builtin = true;
    if (!(ts[i].name = cf_strdup(b->name)) || !(ts[i].fields = cf_calloc(nf, sizeof *ts[i].fields))) {
      rc = CF_ENOMEM;
      break;
    }
    for (size_t k = 0; k < nf && !rc; k++) {
      const struct builtin_field *bf = &b->fields[k];
      struct cf_crm_field *f = &ts[i].fields[ts[i].nfields++];
      f->type = bf->type;
      f->required = bf->required;
      f->personal = bf->personal;
      if (!(f->name = cf_strdup(bf->name)) || (bf->ref && !(f->ref_type = cf_strdup(bf->ref))) ||
          (bf->def && !(f->default_json = cf_strdup(bf->def))) || (bf->values && split_values(bf->values, f)))
        rc = CF_ENOMEM;
    }
  }
  if (rc) {
    for (size_t i = 0; i < nt; i++) crm_type_release(&ts[i]);
    cf_free(ts);
    return rc;
  }
  *out = ts;
  *n = nt;
  return CF_OK;
}

/* ------------------------------------------------------------ schemas from and to JSON */

static bool name_ok(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (!n || n > NAME_MAX_LEN || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
  for (const char *p = s; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '_') return false;
  return true;
}

static const char *jstr(struct json_object *o, const char *k) {
  struct json_object *v = NULL;
  return json_object_object_get_ex(o, k, &v) && v && json_object_is_type(v, json_type_string)
             ? json_object_get_string(v)
             : NULL;
}

static bool jbool(struct json_object *o, const char *k) {
  struct json_object *v = NULL;
  return json_object_object_get_ex(o, k, &v) && v && json_object_get_boolean(v);
}

int crm_type_from_json(struct json_object *schema, struct cf_crm_type *out, struct cf_error *err) {
  memset(out, 0, sizeof *out);
  if (!schema || !json_object_is_type(schema, json_type_object))
    return cf_error_set(err, CF_EINVAL, "a type's schema must be a JSON object");
  const char *name = jstr(schema, "name");
  if (!name_ok(name))
    return cf_error_set(err, CF_EINVAL, "name: a type name is letters, digits and _ (at most %d), not '%.80s'",
                        NAME_MAX_LEN, name ? name : "");
  struct json_object *fields = NULL;
  if (!json_object_object_get_ex(schema, "fields", &fields) || !fields || !json_object_is_type(fields, json_type_array))
    return cf_error_set(err, CF_EINVAL, "fields: an array of fields is needed");
  size_t n = json_object_array_length(fields);
  if (!(out->name = cf_strdup(name)) || (n && !(out->fields = cf_calloc(n, sizeof *out->fields)))) {
    crm_type_release(out);
    return cf_error_set(err, CF_ENOMEM, "out of memory");
  }
  int rc = CF_OK;
  for (size_t i = 0; i < n && !rc; i++) {
    struct json_object *fo = json_object_array_get_idx(fields, i);
    struct cf_crm_field *f = &out->fields[out->nfields];
    const char *fname = fo ? jstr(fo, "name") : NULL;
    const char *ftype = fo ? jstr(fo, "type") : NULL;
    if (!name_ok(fname) || !strcmp(fname, "createdAt") || !strcmp(fname, "updatedAt")) {
      rc = cf_error_set(err, CF_EINVAL, "fields[%zu].name: letters, digits and _ (not createdAt or updatedAt), not "
                                        "'%.80s'",
                        i, fname ? fname : "");
      break;
    }
    for (size_t k = 0; k < out->nfields; k++)
      if (!strcmp(out->fields[k].name, fname)) rc = cf_error_set(err, CF_EINVAL, "fields[%zu].name: '%s' twice", i, fname);
    if (rc) break;
    int t = -1;
    for (int k = 0; ftype && k < (int)(sizeof type_names / sizeof type_names[0]); k++)
      if (!strcmp(type_names[k], ftype)) t = k;
    if (t < 0) {
      rc = cf_error_set(err, CF_EINVAL, "fields[%zu].type: one of string, decimal, date, date-time, boolean, enum, "
                                        "reference, email, phone, not '%.40s'",
                        i, ftype ? ftype : "");
      break;
    }
    out->nfields++;
    f->type = (enum cf_crm_ftype)t;
    f->required = jbool(fo, "required");
    f->unique = jbool(fo, "unique");
    f->personal = jbool(fo, "personal");
    if (!(f->name = cf_strdup(fname))) rc = cf_error_set(err, CF_ENOMEM, "out of memory");
    if (!rc && f->type == CF_CRM_ENUM) {
      struct json_object *vals = NULL;
      if (!json_object_object_get_ex(fo, "values", &vals) || !vals || !json_object_is_type(vals, json_type_array) ||
          !json_object_array_length(vals)) {
        rc = cf_error_set(err, CF_EINVAL, "fields[%zu].values: an enum field needs a list of values", i);
        break;
      }
      size_t nv = json_object_array_length(vals);
      if (!(f->values = cf_calloc(nv, sizeof *f->values))) rc = cf_error_set(err, CF_ENOMEM, "out of memory");
      for (size_t k = 0; k < nv && !rc; k++) {
        struct json_object *v = json_object_array_get_idx(vals, k);
        if (!v || !json_object_is_type(v, json_type_string) || !*json_object_get_string(v))
          rc = cf_error_set(err, CF_EINVAL, "fields[%zu].values[%zu]: a non-empty string", i, k);
        else if (!(f->values[f->nvalues++] = cf_strdup(json_object_get_string(v))))
          rc = cf_error_set(err, CF_ENOMEM, "out of memory");
      }
    }
    if (!rc && f->type == CF_CRM_REFERENCE) {
      const char *ref = jstr(fo, "refType");
      if (!name_ok(ref)) rc = cf_error_set(err, CF_EINVAL, "fields[%zu].refType: the type a reference points to", i);
      else if (!(f->ref_type = cf_strdup(ref))) rc = cf_error_set(err, CF_ENOMEM, "out of memory");
    }
    struct json_object *def = NULL;
    if (!rc && json_object_object_get_ex(fo, "default", &def) && def &&
        !(f->default_json = cf_json_dump(def)))
      rc = cf_error_set(err, CF_ENOMEM, "out of memory");
  }
  if (rc) crm_type_release(out);
  return rc;
}

void crm_type_to_json(const struct cf_crm_type *t, struct cf_buf *b) {
  cf_buf_puts(b, "{\"name\":");
  cf_buf_json_string(b, t->name, strlen(t->name));
  cf_buf_printf(b, ",\"builtin\":%s,\"fields\":[", t->builtin ? "true" : "false");
  for (size_t i = 0; i < t->nfields; i++) {
    const struct cf_crm_field *f = &t->fields[i];
    cf_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
    cf_buf_json_string(b, f->name, strlen(f->name));
    cf_buf_printf(b, ",\"type\":\"%s\",\"required\":%s,\"unique\":%s,\"personal\":%s", type_names[f->type],
                  f->required ? "true" : "false", f->unique ? "true" : "false", f->personal ? "true" : "false");
    if (f->nvalues) {
      cf_buf_puts(b, ",\"values\":[");
      for (size_t k = 0; k < f->nvalues; k++) {
        if (k) cf_buf_putc(b, ',');
        cf_buf_json_string(b, f->values[k], strlen(f->values[k]));
      }
      cf_buf_putc(b, ']');
    }
    if (f->ref_type) {
      cf_buf_puts(b, ",\"refType\":");
      cf_buf_json_string(b, f->ref_type, strlen(f->ref_type));
    }
    if (f->default_json) {
      cf_buf_puts(b, ",\"default\":");
      cf_buf_puts(b, f->default_json);
    }
    cf_buf_putc(b, '}');
  }
  cf_buf_puts(b, "]}");
}

/* ------------------------------------------------------------ lookups */

const struct cf_crm_type *crm_type(const struct cf_crm *crm, const char *name) {
  for (size_t i = 0; name && i < crm->ntypes; i++)
    if (!strcmp(crm->types[i].name, name)) return &crm->types[i];
  return NULL;
}

const struct cf_crm_field *crm_field(const struct cf_crm_type *t, const char *name) {
  for (size_t i = 0; t && i < t->nfields; i++)
    if (!strcmp(t->fields[i].name, name)) return &t->fields[i];
  return NULL;
}

bool cf_crm_type_exists(struct cf_crm *crm, const char *type) {
  pthread_mutex_lock(&crm->mu);
  bool yes = crm_type(crm, type) != NULL;
  pthread_mutex_unlock(&crm->mu);
  return yes;
}

int cf_crm_type_json(struct cf_crm *crm, const char *type, struct cf_buf *out, struct cf_error *err) {
  pthread_mutex_lock(&crm->mu);
  const struct cf_crm_type *t = crm_type(crm, type);
  if (t) crm_type_to_json(t, out);
  pthread_mutex_unlock(&crm->mu);
  return t ? CF_OK : cf_error_set(err, CF_ENOTFOUND, "no record type '%.80s'", type ? type : "");
}

void cf_crm_types_json(struct cf_crm *crm, struct cf_buf *out) {
  pthread_mutex_lock(&crm->mu);
  cf_buf_puts(out, "{\"items\":[");
  for (size_t i = 0; i < crm->ntypes; i++) {
    if (i) cf_buf_putc(out, ',');
    crm_type_to_json(&crm->types[i], out);
  }
  cf_buf_puts(out, "]}");
  pthread_mutex_unlock(&crm->mu);
}

/* ------------------------------------------------------------ validation */

static bool valid_date(const char *s) {
  struct cf_time_civil c;
  size_t len = strlen(s);
  return len == 10 && cf_time_parse_date(s, len, &c) == len;
}

static bool valid_datetime(const char *s) {
  struct cf_time_civil c;
  size_t len = strlen(s);
  size_t n = cf_time_parse_date(s, len, &c);
  if (!n || n >= len || (s[n] != 'T' && s[n] != 't')) return false;
  size_t m = cf_time_parse_clock(s + n + 1, len - n - 1, &c);
  if (!m) return false;
  size_t at = n + 1 + m;
  int32_t off;
  size_t k = cf_time_parse_offset(s + at, len - at, &off);
  return k && at + k == len;
}

static bool valid_email(const char *s) {
  const char *at = strchr(s, '@');
  if (!at || at == s || strchr(at + 1, '@') || strlen(s) > 254) return false;
  const char *dot = strrchr(at, '.');
  if (!dot || dot == at + 1 || !dot[1]) return false;
  for (const char *p = s; *p; p++)
    if ((unsigned char)*p <= ' ' || strchr("<>()[],;:\\\"", *p)) return false;
  return true;
}

static bool valid_phone(const char *s) {
  size_t digits = 0;
  for (const char *p = s; *p; p++) {
    if (isdigit((unsigned char)*p)) digits++;
    else if (!strchr(" +-().", *p)) return false;
  }
  return digits >= 5 && digits <= 20 && strlen(s) <= 40;
}

static bool decimal_text(const char *s) {
  const char *p = s;
  if (*p == '-' || *p == '+') p++;
  size_t d = 0;
  while (isdigit((unsigned char)*p)) p++, d++;
  if (*p == '.') {
    p++;
    while (isdigit((unsigned char)*p)) p++, d++;
  }
  if (d && (*p == 'e' || *p == 'E')) {
    p++;
    if (*p == '-' || *p == '+') p++;
    if (!isdigit((unsigned char)*p)) return false;
    while (isdigit((unsigned char)*p)) p++;
  }
  return d && !*p && strlen(s) <= 60;
}

/* One value of field f: a new normalised JSON value in *out, or CF_EINVAL with err. */
static int check_value(const struct cf_crm_field *f, struct json_object *v, struct json_object **out,
                       struct cf_error *err) {
  const char *n = f->name;
  const char *s = v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
  char shown[80];
  snprintf(shown, sizeof shown, "%.60s", v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "null");
  switch (f->type) {
  case CF_CRM_STRING:
    if (!s) return cf_error_set(err, CF_EINVAL, "fields.%s: a string is expected, not %s", n, shown);
    if (strlen(s) > 100000) return cf_error_set(err, CF_EINVAL, "fields.%s: longer than 100000 bytes", n);
    *out = json_object_new_string(s);
    break;
  case CF_CRM_DECIMAL: {
    const char *t = json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)
                        ? cf_json_number_text(v)
                        : s;
    if (!t || !decimal_text(t)) return cf_error_set(err, CF_EINVAL, "fields.%s: a decimal number is expected, not %s", n, shown);
    *out = cf_json_new_number(t[0] == '+' ? t + 1 : t);
    break;
  }
  case CF_CRM_DATE:
    if (!s || !valid_date(s)) return cf_error_set(err, CF_EINVAL, "fields.%s: a date YYYY-MM-DD is expected, not %s", n, shown);
    *out = json_object_new_string(s);
    break;
  case CF_CRM_DATETIME:
    if (!s || !valid_datetime(s))
      return cf_error_set(err, CF_EINVAL, "fields.%s: a date-time (RFC 3339, e.g. 2026-01-31T09:00:00Z) is expected, not %s", n,
                          shown);
    *out = json_object_new_string(s);
    break;
  case CF_CRM_BOOLEAN:
    if (!json_object_is_type(v, json_type_boolean))
      return cf_error_set(err, CF_EINVAL, "fields.%s: true or false is expected, not %s", n, shown);
    *out = json_object_new_boolean(json_object_get_boolean(v));
    break;
  case CF_CRM_ENUM: {
    for (size_t k = 0; s && k < f->nvalues; k++)
      if (!strcmp(f->values[k], s)) {
        *out = json_object_new_string(s);
        return *out ? CF_OK : cf_error_set(err, CF_ENOMEM, "out of memory");
      }
    char allowed[300] = "";
    for (size_t k = 0; k < f->nvalues; k++) {
      size_t len = strlen(allowed);
      snprintf(allowed + len, sizeof allowed - len, "%s%s", k ? ", " : "", f->values[k]);
    }
    return cf_error_set(err, CF_EINVAL, "fields.%s: one of %s, not %s", n, allowed, shown);
  }
  case CF_CRM_REFERENCE: {
    const char *t = s ? s : json_object_is_type(v, json_type_int) ? cf_json_number_text(v) : NULL;
    bool ok = t && *t && strlen(t) <= 19;
    for (const char *p = t; ok && *p; p++) ok = isdigit((unsigned char)*p);
    if (!ok || strtoull(t, NULL, 10) == 0)
      return cf_error_set(err, CF_EINVAL, "fields.%s: the key of a %s record is expected, not %s", n, f->ref_type, shown);
    *out = json_object_new_string(t);
    break;
  }
  case CF_CRM_EMAIL: {
    if (!s || !valid_email(s)) return cf_error_set(err, CF_EINVAL, "fields.%s: an e-mail address is expected, not %s", n, shown);
    /* The domain is case-insensitive: kept in lower case, so unique addresses compare equal. */
    char *copy = cf_strdup(s);
    if (!copy) return cf_error_set(err, CF_ENOMEM, "out of memory");
    for (char *p = strchr(copy, '@'); *p; p++) *p = (char)tolower((unsigned char)*p);
    *out = json_object_new_string(copy);
    cf_free(copy);
    break;
  }
  case CF_CRM_PHONE:
    if (!s || !valid_phone(s)) return cf_error_set(err, CF_EINVAL, "fields.%s: a phone number is expected, not %s", n, shown);
    *out = json_object_new_string(s);
    break;
  }
  return *out ? CF_OK : cf_error_set(err, CF_ENOMEM, "out of memory");
}

int cf_crm_validate(struct cf_crm *crm, const char *type, struct json_object *fields, bool create,
                    struct json_object **out, struct cf_error *err) {
  *out = NULL;
  if (!fields || !json_object_is_type(fields, json_type_object))
    return cf_error_set(err, CF_EINVAL, "fields: a JSON object of the record's fields is expected");
  pthread_mutex_lock(&crm->mu);
  const struct cf_crm_type *t = crm_type(crm, type);
  int rc = CF_OK;
  struct json_object *o = json_object_new_object();
  if (!t) rc = cf_error_set(err, CF_ENOTFOUND, "no record type '%.80s'", type ? type : "");
  else if (!o) rc = cf_error_set(err, CF_ENOMEM, "out of memory");
  if (!rc) {
    json_object_object_foreach(fields, name, v) {
      if (!strcmp(name, "createdAt") || !strcmp(name, "updatedAt")) {
        rc = cf_error_set(err, CF_EINVAL, "fields.%s: set by crmflow, not by the caller", name);
        break;
      }
      const struct cf_crm_field *f = crm_field(t, name);
      if (!f) {
        rc = cf_error_set(err, CF_EINVAL, "fields.%.80s: a %s has no such field", name, t->name);
        break;
      }
      if (!v) {
        /* null: absent on create; removed on update (not a required field). */
        if (f->required) {
          rc = cf_error_set(err, CF_EINVAL, "fields.%s: required, it cannot be null", name);
          break;
        }
        if (!create) json_object_object_add(o, name, NULL);
        continue;
      }
      struct json_object *nv = NULL;
      if ((rc = check_value(f, v, &nv, err))) break;
      json_object_object_add(o, name, nv);
    }
  }
  if (!rc && create) {
    for (size_t i = 0; i < t->nfields && !rc; i++) {
      const struct cf_crm_field *f = &t->fields[i];
      struct json_object *v = NULL;
      if (json_object_object_get_ex(o, f->name, &v) && v) continue;
      if (f->default_json) {
        struct cf_error e2;
        struct json_object *d = cf_json_parse(f->default_json, strlen(f->default_json), &e2);
        if (d) json_object_object_add(o, f->name, d);
        continue;
      }
      if (f->required) rc = cf_error_set(err, CF_EINVAL, "fields.%s: required", f->name);
    }
  }
  pthread_mutex_unlock(&crm->mu);
  if (rc) {
    if (o) json_object_put(o);
    return rc;
  }
  *out = o;
  return CF_OK;
}

/* ------------------------------------------------------------ a record's JSON */

void crm_time_text(int64_t ms, char out[40]) {
  int64_t days = cf_time_floor_div(ms, 86400000), in_day = cf_time_floor_mod(ms, 86400000);
  int64_t y;
  unsigned m, d;
  cf_time_civil_from_days(days, &y, &m, &d);
  char tmp[96];
  snprintf(tmp, sizeof tmp, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", (long long)y, m, d,
           (long long)(in_day / 3600000), (long long)(in_day / 60000 % 60), (long long)(in_day / 1000 % 60),
           (long long)(in_day % 1000));
  snprintf(out, 40, "%.39s", tmp);
}

void cf_crm_record_json(const struct cf_store_record *r, struct cf_buf *b) {
  cf_buf_printf(b, "{\"recordKey\":\"%llu\",\"type\":", (unsigned long long)r->key);
  cf_buf_json_string(b, r->type, strlen(r->type));
  cf_buf_printf(b, ",\"version\":%lld,\"fields\":", (long long)r->version);
  const char *f = r->fields && *r->fields == '{' ? r->fields : "{}";
  size_t len = strlen(f);
  /* The stored object without its closing brace, then the two times. */
  while (len && f[len - 1] != '}') len--;
  cf_buf_append(b, f, len ? len - 1 : 0);
  bool empty = true;
  for (size_t i = 1; i + 1 < len && empty; i++) empty = f[i] == ' ' || f[i] == '\n' || f[i] == '\t';
  char t[40];
  crm_time_text(r->created_ms, t);
  cf_buf_printf(b, "%s\"createdAt\":\"%s\"", empty ? "" : ",", t);
  crm_time_text(r->updated_ms, t);
  cf_buf_printf(b, ",\"updatedAt\":\"%s\"}", t);
  cf_buf_printf(b, ",\"createdBy\":");
  if (r->created_by) cf_buf_json_string(b, r->created_by, strlen(r->created_by));
  else cf_buf_puts(b, "null");
  cf_buf_printf(b, ",\"updatedBy\":");
  if (r->updated_by) cf_buf_json_string(b, r->updated_by, strlen(r->updated_by));
  else cf_buf_puts(b, "null");
  cf_buf_putc(b, '}');
}

/* ------------------------------------------------------------ lifecycle */

int cf_crm_new(struct cf_crm **out, struct cf_error *err) {
  *out = NULL;
  struct cf_crm *crm = cf_calloc(1, sizeof *crm);
  if (!crm) return cf_error_set(err, CF_ENOMEM, "out of memory");
  pthread_mutex_init(&crm->mu, NULL);
  if (crm_builtin_types(&crm->types, &crm->ntypes)) {
    cf_crm_free(crm);
    return cf_error_set(err, CF_ENOMEM, "out of memory");
  }
  crm->nbuiltin = crm->ntypes;
  *out = crm;
  return CF_OK;
}

void cf_crm_free(struct cf_crm *crm) {
  if (!crm) return;
  for (size_t i = 0; i < crm->ntypes; i++) crm_type_release(&crm->types[i]);
  cf_free(crm->types);
  for (size_t i = 0; i < crm->ntriggers; i++) crm_trigger_release(&crm->triggers[i]);
  cf_free(crm->triggers);
  pthread_mutex_destroy(&crm->mu);
  cf_free(crm);
}

int crm_bump(const struct cf_store_ops *ops, struct cf_store *st, struct cf_error *err) {
  char *v = NULL;
  int rc = ops->crm_state_get(st, "crm.gen", &v, err);
  if (rc) return rc;
  unsigned long long g = v ? strtoull(v, NULL, 10) : 0;
  cf_free(v);
  char next[32];
  snprintf(next, sizeof next, "%llu", g + 1);
  return ops->crm_state_put(st, "crm.gen", next, err);
}

/* Custom types over the built-in ones: a stored built-in name adds its fields to the built-in's. */
static int load_types(struct cf_crm *crm, const struct cf_store_ops *ops, struct cf_store *st, struct cf_error *err) {
  struct cf_crm_type *types = NULL;
  size_t ntypes = 0;
  int rc = crm_builtin_types(&types, &ntypes);
  if (rc) return cf_error_set(err, rc, "out of memory");
  struct cf_store_record_type *rows = NULL;
  size_t n = 0;
  if ((rc = ops->record_type_list(st, &rows, &n, err))) goto out;
  for (size_t i = 0; i < n && !rc; i++) {
    struct cf_error e2;
    struct json_object *j = cf_json_parse(rows[i].schema, strlen(rows[i].schema), &e2);
    struct cf_crm_type t;
    if (!j || crm_type_from_json(j, &t, &e2)) {
      if (j) json_object_put(j);
      continue; /* a stored schema this build cannot read: skipped, not fatal */
    }
    json_object_put(j);
    struct cf_crm_type *same = NULL;
    for (size_t k = 0; k < ntypes; k++)
      if (!strcmp(types[k].name, t.name)) same = &types[k];
    if (same) {
      /* Fields the built-in lacks are added; its own stay as they are. */
      for (size_t k = 0; k < t.nfields; k++) {
        if (crm_field(same, t.fields[k].name)) continue;
        struct cf_crm_field *nf = cf_realloc(same->fields, (same->nfields + 1) * sizeof *nf);
        if (!nf) {
          rc = cf_error_set(err, CF_ENOMEM, "out of memory");
          break;
        }
        same->fields = nf;
        same->fields[same->nfields++] = t.fields[k];
        memset(&t.fields[k], 0, sizeof t.fields[k]);
      }
      crm_type_release(&t);
      continue;
    }
    struct cf_crm_type *nt = cf_realloc(types, (ntypes + 1) * sizeof *nt);
    if (!nt) {
      crm_type_release(&t);
      rc = cf_error_set(err, CF_ENOMEM, "out of memory");
      break;
    }
    types = nt;
    types[ntypes++] = t;
  }
out:
  for (size_t i = 0; i < n; i++) cf_store_record_type_release(&rows[i]);
  cf_free(rows);
  if (rc) {
    for (size_t i = 0; i < ntypes; i++) crm_type_release(&types[i]);
    cf_free(types);
    return rc;
  }
  for (size_t i = 0; i < crm->ntypes; i++) crm_type_release(&crm->types[i]);
  cf_free(crm->types);
  crm->types = types;
  crm->ntypes = ntypes;
  return CF_OK;
}

static int load_triggers(struct cf_crm *crm, const struct cf_store_ops *ops, struct cf_store *st, struct cf_error *err) {
  struct cf_store_trigger *rows = NULL;
  size_t n = 0;
  int rc = ops->trigger_list(st, &rows, &n, err);
  if (rc) return rc;
  struct crm_trigger *ts = n ? cf_calloc(n, sizeof *ts) : NULL;
  size_t nt = 0;
  if (n && !ts) rc = cf_error_set(err, CF_ENOMEM, "out of memory");
  for (size_t i = 0; i < n && !rc; i++) {
    struct cf_error e2;
    struct json_object *j = cf_json_parse(rows[i].definition, strlen(rows[i].definition), &e2);
    if (j && !crm_trigger_compile(j, &ts[nt], &e2)) {
      ts[nt].key = rows[i].key;
      nt++;
    }
    if (j) json_object_put(j);
  }
  for (size_t i = 0; i < n; i++) cf_store_trigger_release(&rows[i]);
  cf_free(rows);
  if (rc) {
    for (size_t i = 0; i < nt; i++) crm_trigger_release(&ts[i]);
    cf_free(ts);
    return rc;
  }
  for (size_t i = 0; i < crm->ntriggers; i++) crm_trigger_release(&crm->triggers[i]);
  cf_free(crm->triggers);
  crm->triggers = ts;
  crm->ntriggers = nt;
  return CF_OK;
}

int crm_refresh_locked(struct cf_crm *crm, const struct cf_store_ops *ops, struct cf_store *st, struct cf_error *err) {
  char *gen = NULL;
  int rc = ops->crm_state_get(st, "crm.gen", &gen, err);
  if (rc) return rc;
  const char *g = gen ? gen : "0";
  if (crm->loaded && !strcmp(crm->gen, g)) {
    cf_free(gen);
    return CF_OK;
  }
  rc = load_types(crm, ops, st, err);
  if (!rc) rc = load_triggers(crm, ops, st, err);
  if (!rc) {
    snprintf(crm->gen, sizeof crm->gen, "%s", g);
    crm->loaded = true;
  }
  cf_free(gen);
  return rc;
}

int cf_crm_refresh(struct cf_crm *crm, const struct cf_store_ops *ops, struct cf_store *st, struct cf_error *err) {
  pthread_mutex_lock(&crm->mu);
  int rc = crm_refresh_locked(crm, ops, st, err);
  pthread_mutex_unlock(&crm->mu);
  return rc;
}

int cf_crm_type_check(struct json_object *schema, struct cf_error *err) {
  struct cf_crm_type t;
  int rc = crm_type_from_json(schema, &t, err);
  if (!rc) crm_type_release(&t);
  return rc;
}
