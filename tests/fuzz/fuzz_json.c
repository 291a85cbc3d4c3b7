/*
 * libFuzzer target: JSON text -> cf_json_parse -> FEEL value -> JSON.
 *
 * Beyond "no crash, no leak", it checks the round trip the CLI and the store
 * rely on: once a JSON value has become a FEEL value, converting it to JSON
 * and back must give the same FEEL value (cf_feel_equal) and the same text
 * again (the conversion is idempotent after the first pass, which may
 * normalize numbers: 1.50 -> 1.5, 1e2 -> 100).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/cf_alloc.h"
#include "base/cf_json.h"
#include "feel/cf_feel.h"

/* FEEL value -> JSON text (new, cf_free). NULL if the conversion failed. */
static char *to_text(const struct cf_feel_value *v) {
  struct json_object *j = NULL; /* NULL is JSON null */
  if (cf_feel_to_json(v, &j) != CF_OK) return NULL;
  char *s = cf_json_dump(j);
  json_object_put(j);
  return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct cf_error err;
  struct json_object *j = cf_json_parse((const char *)data, size, &err);
  if (!j) return 0; /* an error, or JSON null */
  /* Whatever parsed must serialize, and parse again. */
  char *dump = cf_json_dump(j);
  if (!dump) abort();
  struct json_object *again = cf_json_parse(dump, strlen(dump), &err);
  if (!again && err.code != CF_OK) {
    fprintf(stderr, "cf_json_dump gave text cf_json_parse refuses: %s (%s)\n", dump, err.msg);
    abort();
  }
  json_object_put(again);
  cf_free(dump);

  struct cf_feel_value v;
  cf_feel_set_null(&v);
  if (cf_feel_from_json(j, &v) == CF_OK) {
    char *t1 = to_text(&v);
    if (t1) {
      struct json_object *j1 = cf_json_parse(t1, strlen(t1), &err);
      if (!j1 && err.code != CF_OK) { /* NULL with CF_OK is JSON null */
        fprintf(stderr, "cf_feel_to_json gave invalid JSON: %s (%s)\n", t1, err.msg);
        abort();
      }
      struct cf_feel_value v2;
      cf_feel_set_null(&v2);
      if (cf_feel_from_json(j1, &v2) != CF_OK) {
        fprintf(stderr, "cf_feel_to_json output is refused by cf_feel_from_json: %s\n", t1);
        abort();
      }
      if (cf_feel_equal(&v, &v2) != 1) {
        fprintf(stderr, "round trip changed the value: %s\n", t1);
        abort();
      }
      char *t2 = to_text(&v2);
      if (t2 && strcmp(t1, t2) != 0) {
        fprintf(stderr, "round trip is not stable:\n  %s\n  %s\n", t1, t2);
        abort();
      }
      cf_free(t2);
      cf_feel_value_release(&v2);
      json_object_put(j1);
      cf_free(t1);
    }
    cf_feel_value_release(&v);
  }
  json_object_put(j);
  return 0;
}
