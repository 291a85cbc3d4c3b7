/*
 * CRM records, record types and triggers over HTTP (shared/contracts.md §7):
 *
 *   POST   /v2/crm/records/{type}               {"fields"}           201 the record
 *   GET    /v2/crm/records/{type}/{key}                              200 the record
 *   PATCH  /v2/crm/records/{type}/{key}         {"fields", "version"?} 200 the record
 *   DELETE /v2/crm/records/{type}/{key}                              204
 *   POST   /v2/crm/records/{type}/search        Camunda search shapes over the fields
 *   GET    /v2/crm/records/{type}/{key}/history                      {"items": [{at, by, kind, changes}]}
 *   GET    /v2/crm/record-types[/{name}], PUT /v2/crm/record-types/{name}
 *   POST   /v2/crm/triggers, GET /v2/crm/triggers, DELETE /v2/crm/triggers/{key}
 *
 * Writes are commands for the writer (the record, its history and the
 * instances its triggers start in one operation); the fields are checked on
 * the HTTP thread first, so most mistakes are answered without the writer.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "base/cf_alloc.h"
#include "base/cf_json.h"
#include "crm/cf_crm.h"

static bool need_crm(struct api_ctx *c) {
  if (c->api->crm) return true;
  api_fail(c, 503, "UNAVAILABLE", "this server has no CRM");
  return false;
}

/* Refreshes the crm's types from the store (another process may have added one). */
static bool refresh(struct api_ctx *c) {
  struct api_reader *r = api_reader_for(c);
  if (!r) return false;
  struct cf_error err;
  cf_error_clear(&err);
  int rc = cf_crm_refresh(c->api->crm, r->ops, r->st, &err);
  api_reader_put(c->api, r);
  if (rc) api_error_problem(c->res, &err, c->req->path);
  return rc == CF_OK;
}

static bool known_type(struct api_ctx *c, const char *type) {
  if (cf_crm_type_exists(c->api->crm, type)) return true;
  api_fail(c, 404, "NOT_FOUND", "There is no record type '%.80s'.", type);
  return false;
}

/* ------------------------------------------------------------ writes */

struct record_cmd {
  struct api_cmd cmd;
  int kind; /* 0 create, 1 update, 2 delete, 3 type put, 4 trigger add, 5 trigger delete, 6 erase */
  size_t erased;
  char type[128];
  uint64_t key;
  int64_t version;
  struct json_object *body; /* the request's JSON (kept for fields, schemas, definitions) */
  struct json_object *fields;
  struct cf_store_record out;
};

static void record_release(struct api_cmd *c) {
  struct record_cmd *k = (struct record_cmd *)c;
  if (k->body) json_object_put(k->body);
  cf_store_record_release(&k->out);
  cf_free(k);
}

static int record_run(struct cf_runtime *rt, struct api_cmd *c, struct cf_error *err) {
  struct record_cmd *k = (struct record_cmd *)c;
  struct cf_crm *crm = c->reply.api->crm;
  struct cf_crm_origin o = {.actor = c->actor};
  switch (k->kind) {
  case 0: return cf_crm_create(crm, rt, k->type, k->fields, &o, &k->out, err);
  case 1: return cf_crm_update(crm, rt, k->type, k->key, k->fields, k->version, &o, &k->out, err);
  case 2: return cf_crm_delete(crm, rt, k->type, k->key, &o, err);
  case 3: return cf_crm_type_put(crm, rt, k->body, err);
  case 4: return cf_crm_trigger_add(crm, rt, k->body, &k->key, err);
  case 5: return cf_crm_trigger_delete(crm, rt, k->key, err);
  default: return cf_crm_personal_erase(crm, rt, k->type, k->key, &o, &k->erased, err);
  }
}

static bool record_answer(struct api_cmd *c) {
  struct record_cmd *k = (struct record_cmd *)c;
  struct cf_api_response *res = c->reply.res;
  res->content_type = "application/json";
  switch (k->kind) {
  case 0:
  case 1:
    cf_crm_record_json(&k->out, &res->body);
    res->status = k->kind == 0 ? 201 : 200;
    break;
  case 3:
    cf_crm_type_json(c->reply.api->crm, k->type, &res->body, &(struct cf_error){0});
    res->status = 200;
    break;
  case 4: {
    /* The definition as given, with its key first. */
    const char *d = json_object_to_json_string_ext(k->body, JSON_C_TO_STRING_PLAIN);
    cf_buf_printf(&res->body, "{\"triggerKey\":\"%" PRIu64 "\"", k->key);
    if (d && d[0] == '{' && d[1] != '}') cf_buf_putc(&res->body, ',');
    cf_buf_puts(&res->body, d ? d + 1 : "}");
    res->status = 201;
    break;
  }
  case 6:
    cf_buf_printf(&res->body, "{\"recordKey\":\"%" PRIu64 "\",\"type\":", k->key);
    cf_buf_json_string(&res->body, k->type, strlen(k->type));
    cf_buf_printf(&res->body, ",\"instances\":%zu,\"marker\":\"%s\"}", k->erased, CF_CRM_ERASED);
    res->status = 200;
    break;
  default:
    res->status = 204;
    break;
  }
  return true;
}

static struct record_cmd *new_cmd(struct api_ctx *c, int kind) {
  struct record_cmd *k = cf_calloc(1, sizeof *k);
  if (!k) {
    api_fail(c, 500, "INTERNAL", "out of memory");
    return NULL;
  }
  k->kind = kind;
  k->cmd.run = record_run;
  k->cmd.answer = record_answer;
  k->cmd.release = record_release;
  return k;
}

/* The body's "fields" object, checked against the type (400 naming the field). */
static bool take_fields(struct api_ctx *c, struct record_cmd *k, bool create) {
  if (!(k->body = api_body(c, false))) return false;
  struct json_object *fields = NULL;
  if (!json_object_object_get_ex(k->body, "fields", &fields) || !fields ||
      !json_object_is_type(fields, json_type_object))
    return api_bad(c, "No fields provided: the body is {\"fields\": {...}}."), false;
  struct json_object *norm = NULL;
  struct cf_error err;
  cf_error_clear(&err);
  if (cf_crm_validate(c->api->crm, k->type, fields, create, &norm, &err)) {
    api_error_problem(c->res, &err, c->req->path);
    return false;
  }
  json_object_put(norm); /* validated again in the writer, against the schema then */
  k->fields = fields;
  int64_t version = 0;
  if (!api_get_int(c, k->body, "version", &version)) return false;
  k->version = version;
  return true;
}

static bool path_type_key(struct api_ctx *c, struct record_cmd *k) {
  snprintf(k->type, sizeof k->type, "%s", c->param0);
  if (!known_type(c, k->type)) return false;
  if (!api_parse_key_text(c->param, &k->key))
    return api_bad(c, "The key '%.60s' in the path is not a record key.", c->param), false;
  return true;
}

static bool submit_or_drop(struct api_ctx *c, struct record_cmd *k, bool ok) {
  if (!ok) {
    record_release(&k->cmd);
    return true;
  }
  return api_cmd_submit(c, &k->cmd);
}

bool api_h_record_create(struct api_ctx *c) {
  if (!need_crm(c) || !refresh(c)) return true;
  struct record_cmd *k = new_cmd(c, 0);
  if (!k) return true;
  snprintf(k->type, sizeof k->type, "%s", c->param0);
  return submit_or_drop(c, k, known_type(c, k->type) && take_fields(c, k, true));
}

bool api_h_record_update(struct api_ctx *c) {
  if (!need_crm(c) || !refresh(c)) return true;
  struct record_cmd *k = new_cmd(c, 1);
  if (!k) return true;
  return submit_or_drop(c, k, path_type_key(c, k) && take_fields(c, k, false));
}

bool api_h_record_delete(struct api_ctx *c) {
  if (!need_crm(c) || !refresh(c)) return true;
  struct record_cmd *k = new_cmd(c, 2);
  if (!k) return true;
  return submit_or_drop(c, k, path_type_key(c, k));
}

bool api_h_record_type_put(struct api_ctx *c) {
  if (!need_crm(c)) return true;
  struct record_cmd *k = new_cmd(c, 3);
  if (!k) return true;
  snprintf(k->type, sizeof k->type, "%s", c->param);
  bool ok = (k->body = api_body(c, false)) != NULL;
  if (ok) {
    const char *name = NULL;
    ok = api_get_string(c, k->body, "name", &name);
    if (ok && name && strcmp(name, k->type)) ok = (api_bad(c, "name: '%.80s' is not the type of the path (%s).", name, k->type), false);
    if (ok && !name) json_object_object_add(k->body, "name", json_object_new_string(k->type));
    struct cf_error err;
    cf_error_clear(&err);
    if (ok && cf_crm_type_check(k->body, &err)) {
      api_error_problem(c->res, &err, c->req->path);
      ok = false;
    }
  }
  return submit_or_drop(c, k, ok);
}

bool api_h_trigger_create(struct api_ctx *c) {
  if (!need_crm(c)) return true;
  struct record_cmd *k = new_cmd(c, 4);
  if (!k) return true;
  bool ok = (k->body = api_body(c, false)) != NULL;
  if (ok) {
    /* Checked here too: a mistake is answered without the writer. */
    struct cf_error err;
    cf_error_clear(&err);
    if (cf_crm_trigger_check(k->body, &err)) {
      api_error_problem(c->res, &err, c->req->path);
      ok = false;
    }
  }
  return submit_or_drop(c, k, ok);
}

bool api_h_trigger_delete(struct api_ctx *c) {
  if (!need_crm(c)) return true;
  struct record_cmd *k = new_cmd(c, 5);
  if (!k) return true;
  return submit_or_drop(c, k, api_path_key(c, &k->key));
}

/* ------------------------------------------------------------ reads */

bool api_h_record_get(struct api_ctx *c) {
  if (!need_crm(c) || !refresh(c)) return true;
  struct record_cmd k;
  memset(&k, 0, sizeof k);
  if (!path_type_key(c, &k)) return true;
  struct api_reader *r = api_reader_for(c);
  if (!r) return true;
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_store_record rec;
  memset(&rec, 0, sizeof rec);
  int rc = r->ops->record_get(r->st, k.type, k.key, &rec, &err);
  api_reader_put(c->api, r);
  if (rc == CF_ENOTFOUND) api_fail(c, 404, "NOT_FOUND", "No %s record with key %s.", k.type, c->param);
  else if (rc) api_error_problem(c->res, &err, c->req->path);
  else {
    cf_crm_record_json(&rec, &c->res->body);
    api_ok_json(c);
  }
  cf_store_record_release(&rec);
  return true;
}

bool api_h_record_history(struct api_ctx *c) {
  if (!need_crm(c) || !refresh(c)) return true;
  struct record_cmd k;
  memset(&k, 0, sizeof k);
  if (!path_type_key(c, &k)) return true;
  struct api_reader *r = api_reader_for(c);
  if (!r) return true;
  struct cf_error err;
  cf_error_clear(&err);
  struct cf_store_record_change *ch = NULL;
  size_t n = 0;
  int rc = r->ops->record_history(r->st, k.key, &ch, &n, &err);
  api_reader_put(c->api, r);
  if (rc) return api_error_problem(c->res, &err, c->req->path), true;
  size_t shown = 0;
  struct cf_buf *b = &c->res->body;
  cf_buf_puts(b, "{\"items\":[");
  for (size_t i = 0; i < n; i++) {
    if (ch[i].type && strcmp(ch[i].type, k.type)) continue;
    cf_buf_puts(b, shown++ ? ",{" : "{");
    api_json_time(b, "at", ch[i].at_ms, true);
    api_json_str(b, "by", ch[i].by, false);
    api_json_str(b, "kind", ch[i].kind, false);
    cf_buf_puts(b, ",\"changes\":");
    cf_buf_puts(b, ch[i].changes && *ch[i].changes == '{' ? ch[i].changes : "{}");
    cf_buf_putc(b, '}');
  }
  for (size_t i = 0; i < n; i++) cf_store_record_change_release(&ch[i]);
  cf_free(ch);
  cf_buf_puts(b, "]}");
  if (!shown) {
    cf_buf_reset(b);
    return api_fail(c, 404, "NOT_FOUND", "No %s record with key %s, now or before.", k.type, c->param);
  }
  return api_ok_json(c);
}

bool api_h_record_types(struct api_ctx *c) {
  if (!need_crm(c) || !refresh(c)) return true;
  cf_crm_types_json(c->api->crm, &c->res->body);
  return api_ok_json(c);
}

bool api_h_record_type_get(struct api_ctx *c) {
  if (!need_crm(c) || !refresh(c)) return true;
  struct cf_error err;
  cf_error_clear(&err);
  if (cf_crm_type_json(c->api->crm, c->param, &c->res->body, &err)) {
    cf_buf_reset(&c->res->body);
    return api_fail(c, 404, "NOT_FOUND", "There is no record type '%.80s'.", c->param);
  }
  return api_ok_json(c);
}

bool api_h_trigger_list(struct api_ctx *c) {
  if (!need_crm(c)) return true;
  struct api_reader *r = api_reader_for(c);
  if (!r) return true;
  struct cf_error err;
  cf_error_clear(&err);
  int rc = cf_crm_triggers_json(c->api->crm, r->ops, r->st, &c->res->body, &err);
  api_reader_put(c->api, r);
  if (rc) return api_error_problem(c->res, &err, c->req->path), true;
  return api_ok_json(c);
}

/* ------------------------------------------------------------ search */

static void record_item(struct api_ctx *c, struct api_reader *r, const struct cf_store_result *res, size_t i) {
  (void)r;
  cf_crm_record_json(&res->records[i], &c->res->body);
}

bool api_h_record_search(struct api_ctx *c) {
  if (!need_crm(c) || !refresh(c)) return true;
  const char *type = c->param;
  if (!known_type(c, type)) return true;
  /* The type's fields make the search's: field:NAME in the store, typed by the schema. */
  struct cf_buf schema;
  cf_buf_init(&schema);
  struct cf_error err;
  cf_error_clear(&err);
  cf_crm_type_json(c->api->crm, type, &schema, &err);
  struct json_object *sj = schema.oom ? NULL : cf_json_parse(schema.data, schema.len, &err), *fl = NULL;
  cf_buf_release(&schema);
  if (!sj || !json_object_object_get_ex(sj, "fields", &fl)) {
    if (sj) json_object_put(sj);
    return api_fail(c, 500, "INTERNAL", "out of memory");
  }
  size_t nf = json_object_array_length(fl);
  struct api_field *fields = cf_calloc(nf + 5, sizeof *fields);
  char (*names)[80] = cf_calloc(nf + 1, sizeof *names);
  struct json_object *body = NULL;
  if (!fields || !names) {
    api_fail(c, 500, "INTERNAL", "out of memory");
    goto out;
  }
  size_t n = 0;
  fields[n++] = (struct api_field){"recordKey", "key", FT_KEY, NULL, true};
  fields[n++] = (struct api_field){"version", "version", FT_INT, NULL, true};
  fields[n++] = (struct api_field){"createdAt", "created_ms", FT_TIME, NULL, true};
  fields[n++] = (struct api_field){"updatedAt", "updated_ms", FT_TIME, NULL, true};
  for (size_t i = 0; i < nf; i++) {
    struct json_object *f = json_object_array_get_idx(fl, i), *v = NULL;
    const char *fname = json_object_object_get_ex(f, "name", &v) ? json_object_get_string(v) : "";
    const char *ftype = json_object_object_get_ex(f, "type", &v) ? json_object_get_string(v) : "";
    snprintf(names[i], sizeof names[i], "field:%.70s", fname);
    enum api_ftype t = !strcmp(ftype, "decimal") ? FT_REAL : !strcmp(ftype, "boolean") ? FT_BOOL : FT_STRING;
    fields[n++] = (struct api_field){fname, names[i], t, NULL, true};
  }
  struct api_search_spec spec = {CF_STORE_RECORDS, fields, n};
  if (!(body = api_body(c, true))) goto out;
  struct api_search s;
  if (api_search_parse(c, body, &spec, &s)) {
    struct cf_store_qvalue tv = {.is_text = true, .text = type};
    if (api_search_add(&s, "type", CF_STORE_EQ, &tv, 1)) api_search_answer(c, &s, record_item);
    else api_fail(c, 500, "INTERNAL", "out of memory");
  }
  api_search_release(&s);
out:
  if (body) json_object_put(body);
  json_object_put(sj); /* the field names point into it: after the search */
  cf_free(fields);
  cf_free(names);
  return true;
}

/* ------------------------------------------------------------ personal data */

bool api_h_personal_export(struct api_ctx *c) {
  if (!need_crm(c) || !refresh(c)) return true;
  struct record_cmd k;
  memset(&k, 0, sizeof k);
  if (!path_type_key(c, &k)) return true;
  struct api_reader *r = api_reader_for(c);
  if (!r) return true;
  struct cf_error err;
  cf_error_clear(&err);
  int rc = cf_crm_personal_export(c->api->crm, r->ops, r->st, k.type, k.key, &c->res->body, &err);
  api_reader_put(c->api, r);
  if (rc) {
    cf_buf_reset(&c->res->body);
    api_error_problem(c->res, &err, c->req->path);
    return true;
  }
  return api_ok_json(c);
}

bool api_h_personal_erase(struct api_ctx *c) {
  if (!need_crm(c) || !refresh(c)) return true;
  struct record_cmd *k = new_cmd(c, 6);
  if (!k) return true;
  bool ok = path_type_key(c, k);
  if (ok) {
    struct json_object *body = api_body(c, true);
    ok = body != NULL;
    if (body) json_object_put(body);
  }
  return submit_or_drop(c, k, ok);
}
