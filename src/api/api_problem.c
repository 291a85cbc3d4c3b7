/*
 * Problem details (RFC 9457) as Camunda sends them: type about:blank, a
 * status name as title (INVALID_ARGUMENT, NOT_FOUND...), the status, a
 * detail for people, and the request path as instance.
 */
#include <string.h>

#include "api/cf_api.h"

void cf_api_problem(struct cf_api_response *res, int status, const char *title, const char *detail,
                    const char *instance) {
  res->status = status;
  res->content_type = "application/problem+json";
  cf_buf_reset(&res->body);
  cf_buf_puts(&res->body, "{\"type\":\"about:blank\",\"title\":");
  cf_buf_json_string(&res->body, title, strlen(title));
  cf_buf_printf(&res->body, ",\"status\":%d,\"detail\":", status);
  cf_buf_json_string(&res->body, detail, strlen(detail));
  cf_buf_puts(&res->body, ",\"instance\":");
  cf_buf_json_string(&res->body, instance ? instance : "", instance ? strlen(instance) : 0);
  cf_buf_puts(&res->body, "}");
}
