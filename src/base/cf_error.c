#include "crmflow/cf_error.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const messages[] = {
#define CF__ERR_MSG(name, msg) msg,
    CF_ERRNO_MAP(CF__ERR_MSG)
#undef CF__ERR_MSG
};

static const char *const names[] = {
#define CF__ERR_NAME(name, msg) #name,
    CF_ERRNO_MAP(CF__ERR_NAME)
#undef CF__ERR_NAME
};

const char *cf_strerror(int code) {
  if (code < 0 || code >= CF_E__COUNT) return "unknown error";
  return messages[code];
}

const char *cf_err_name(int code) {
  if (code < 0 || code >= CF_E__COUNT) return "UNKNOWN";
  return names[code];
}

int cf_error_set(struct cf_error *err, int code, const char *fmt, ...) {
  if (!err) return code;
  err->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return code;
}

void cf_error_clear(struct cf_error *err) {
  if (!err) return;
  err->code = CF_OK;
  err->msg[0] = '\0';
}
