/*
 * The API layer without sockets: routes, methods, and the problem+json
 * shape every error has.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "api/cf_api.h"
#include "base/cf_json.h"

static struct json_object *call(struct cf_api *api, const char *method, const char *path, int *status,
                                const char **type, char *allow) {
  struct cf_api_request req = {.method = method, .path = path};
  struct cf_api_response res;
  cf_api_response_init(&res);
  cf_api_handle(api, &req, &res, NULL, NULL);
  *status = res.status;
  *type = res.content_type;
  if (allow) strcpy(allow, res.allow);
  struct cf_error err;
  struct json_object *j = cf_json_parse(res.body.data, res.body.len, &err);
  cf_api_response_release(&res);
  assert_non_null(j);
  return j;
}

static const char *str(struct json_object *o, const char *k) {
  struct json_object *v;
  return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static void test_topology_and_health(void **state) {
  (void)state;
  struct cf_api *api;
  assert_int_equal(cf_api_new(&(struct cf_api_opts){.version = "9.9.9", .host = "127.0.0.1", .port = 8080}, &api, NULL),
                   CF_OK);
  int status;
  const char *type;
  struct json_object *j = call(api, "GET", "/v2/topology", &status, &type, NULL);
  assert_int_equal(status, 200);
  assert_string_equal(type, "application/json");
  struct json_object *brokers, *b0, *parts;
  assert_true(json_object_object_get_ex(j, "brokers", &brokers));
  assert_int_equal(json_object_array_length(brokers), 1);
  b0 = json_object_array_get_idx(brokers, 0);
  assert_string_equal(str(b0, "host"), "127.0.0.1");
  assert_string_equal(str(b0, "port"), "8080");
  assert_true(json_object_object_get_ex(b0, "partitions", &parts));
  assert_string_equal(str(json_object_array_get_idx(parts, 0), "role"), "leader");
  assert_string_equal(str(j, "clusterSize"), "1");
  assert_string_equal(str(j, "gatewayVersion"), "8.8.0");
  assert_string_equal(str(j, "lastCompletedChangeId"), "-1");
  json_object_put(j);
  j = call(api, "GET", "/healthz", &status, &type, NULL);
  assert_int_equal(status, 200);
  assert_string_equal(str(j, "status"), "UP");
  assert_string_equal(str(j, "version"), "9.9.9");
  json_object_put(j);
  cf_api_free(api);
}

static void test_errors_are_problems(void **state) {
  (void)state;
  struct cf_api *api;
  assert_int_equal(cf_api_new(&(struct cf_api_opts){.version = "1", .host = "h", .port = 1}, &api, NULL), CF_OK);
  int status;
  const char *type;
  char allow[64];
  struct json_object *j = call(api, "GET", "/v2/no-such-thing", &status, &type, allow);
  assert_int_equal(status, 404);
  assert_string_equal(type, "application/problem+json");
  assert_string_equal(str(j, "title"), "NOT_FOUND");
  assert_string_equal(str(j, "status"), "404");
  assert_string_equal(str(j, "instance"), "/v2/no-such-thing");
  assert_string_equal(allow, "");
  json_object_put(j);
  j = call(api, "DELETE", "/v2/topology", &status, &type, allow);
  assert_int_equal(status, 405);
  assert_string_equal(type, "application/problem+json");
  assert_string_equal(allow, "GET");
  assert_non_null(strstr(str(j, "detail"), "DELETE"));
  json_object_put(j);
  cf_api_free(api);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_topology_and_health),
      cmocka_unit_test(test_errors_are_problems),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
