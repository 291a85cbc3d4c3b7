/*
 * crmflow error codes.
 *
 * One X-macro list makes both the enum and the messages, so a code can never
 * lack a message. The list is append-only: codes are part of the public C
 * API and appear in logs. Every fallible public call returns one of these
 * (CF_OK is 0) and, where it takes one, fills a struct cf_error with a
 * message that says what failed and where (element id, line, field).
 */
#ifndef CRMFLOW_CF_ERROR_H
#define CRMFLOW_CF_ERROR_H

#include <stddef.h>

#define CF_ERRNO_MAP(X)                                              \
  X(OK, "success")                                                   \
  X(NOMEM, "out of memory")                                          \
  X(INVAL, "invalid argument")                                       \
  X(SYNTAX, "syntax error")                                          \
  X(EVAL, "evaluation error")                                        \
  X(NOTFOUND, "not found")                                           \
  X(IO, "input/output error")                                        \
  X(RANGE, "value out of range")                                     \
  X(TYPE, "type mismatch")                                           \
  X(UNSUPPORTED, "not supported")                                    \
  X(LIMIT, "limit exceeded")                                         \
  X(CONFLICT, "conflict")                                            \
  X(INTERNAL, "internal error")                                      \
  X(UNAVAILABLE, "unavailable (stopping or overloaded)")

enum cf_errno {
#define CF__ERR_ENUM(name, msg) CF_E##name,
  CF_ERRNO_MAP(CF__ERR_ENUM)
#undef CF__ERR_ENUM
  CF_E__COUNT
};
#define CF_OK CF_EOK

/* A caller-supplied error: the code and a message naming what and where. */
struct cf_error {
  int code;
  char msg[512];
};

/* The fixed message of a code; never NULL ("unknown error" if out of range). */
const char *cf_strerror(int code);

/* The symbolic name of a code ("NOMEM"); never NULL. */
const char *cf_err_name(int code);

/*
 * Fills err (if not NULL) with code and a printf-style message, and returns
 * code, so a failing path can `return cf_error_set(err, CF_EINVAL, ...)`.
 */
int cf_error_set(struct cf_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err to CF_OK and an empty message. err may be NULL. */
void cf_error_clear(struct cf_error *err);

#endif
