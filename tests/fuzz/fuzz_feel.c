/*
 * libFuzzer target: FEEL compile + evaluate + JSON conversion.
 *
 * The input is compiled as a FEEL expression and evaluated against a fixed
 * context of CRM-like variables; the result goes through cf_feel_to_json and
 * is serialized. The same input is then compiled as unary tests and evaluated
 * against two inputs. Everything is released, so the leak checker catches a
 * lost reference. Any crash, sanitizer report, leak or hang is a finding.
 *
 * Evaluation time and memory must stay bounded whatever the input
 * (`for i in 1..1000000000 return i`): the run script gives each input 10
 * seconds and 2 GB.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/cf_json.h"
#include "feel/cf_feel.h"

static const char vars_json[] =
    "{\"amount\": 1500, \"discount\": 0.15, \"big\": 12345678901234567891,"
    " \"customer\": {\"tier\": \"gold\", \"name\": \"Ada Lovelace\", \"email\": \"ada@example.com\","
    "   \"since\": \"2019-03-01\", \"tags\": [\"vip\", \"b2b\"]},"
    " \"items\": [{\"name\": \"widget\", \"price\": 19.99, \"qty\": 2},"
    "             {\"name\": \"gadget\", \"price\": 5.5, \"qty\": 10},"
    "             {\"name\": \"gizmo\", \"price\": 100, \"qty\": 1}],"
    " \"priority\": \"urgent\", \"approved\": true, \"note\": null,"
    " \"created\": \"2026-01-05T09:30:00Z\", \"Order Total\": 99.95,"
    " \"numbers\": [3, 1, 4, 1, 5, 9, 2, 6], \"empty\": [], \"ctx\": {}}";

/* Lets the parser see names with spaces. */
static const char *const known[] = {"Order Total"};

static struct cf_feel_value vars;
static bool vars_ready;

static void setup(void) {
  struct cf_error err;
  struct json_object *j = cf_json_parse(vars_json, sizeof vars_json - 1, &err);
  if (!j) abort();
  if (cf_feel_from_json(j, &vars) != CF_OK) abort();
  json_object_put(j);
  vars_ready = true;
}

/* Converts v to JSON and serializes it, as the CLI would. */
static void emit(const struct cf_feel_value *v) {
  struct json_object *j = NULL;
  if (cf_feel_to_json(v, &j) == CF_OK) {
    const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
    if (!s) abort();
    json_object_put(j);
  } else if (j) {
    abort(); /* a failed conversion leaves *out NULL */
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!vars_ready) setup();
  /* 2026-01-05T09:00:00Z, UTC */
  const struct cf_feel_env env = {.now_secs = 1767603600, .now_nanos = 0, .zone = NULL};
  struct cf_error err;
  struct cf_feel_warnings w;

  struct cf_feel_expr *e = cf_feel_compile((const char *)data, size, known, 1, &err);
  if (e) {
    struct cf_feel_value out;
    cf_feel_set_null(&out);
    cf_feel_warnings_init(&w);
    int rc = cf_feel_eval(e, &vars, &env, &out, &w);
    if (rc != CF_OK && out.type != CF_FEEL_NULL) abort(); /* the contract: error means null */
    emit(&out);
    cf_feel_value_release(&out);
    cf_feel_warnings_release(&w);
    cf_feel_expr_free(e);
  }

  e = cf_feel_compile_unary((const char *)data, size, known, 1, &err);
  if (e) {
    const struct cf_feel_value *inputs[2] = {
        cf_feel_ctx_get(vars.u.ctx, "amount", 6),
        cf_feel_ctx_get(vars.u.ctx, "priority", 8),
    };
    for (int i = 0; i < 2; i++) {
      struct cf_feel_value out;
      cf_feel_set_null(&out);
      cf_feel_warnings_init(&w);
      int rc = cf_feel_eval_unary(e, inputs[i], &vars, &env, &out, &w);
      if (rc != CF_OK && out.type != CF_FEEL_NULL) abort();
      /* Unary tests answer true, false or null. */
      if (rc == CF_OK && out.type != CF_FEEL_NULL && out.type != CF_FEEL_BOOLEAN) abort();
      emit(&out);
      cf_feel_value_release(&out);
      cf_feel_warnings_release(&w);
    }
    cf_feel_expr_free(e);
  }
  return 0;
}
