/*
 * The built-in job workers' private parts, shared by crm_workers.c (the
 * loop, inputs, the crm.* jobs), crm_email.c (email.send: templates, MIME,
 * SMTP) and crm_http.c (http.request).
 *
 * A handler of a network job (email, http) runs on a worker thread, off
 * the writer: it reads the job's inputs, does its I/O, and fills an outcome
 * (complete with variables, or fail with retries and back-off) that the
 * loop then hands to the writer. It never touches the runtime.
 */
#ifndef CF_CRM_WORKERS_INT_H
#define CF_CRM_WORKERS_INT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cf_buf.h"
#include "feel/cf_feel.h"
#include "runtime/cf_runtime.h"

/* What the handlers need of the workers' configuration (all borrowed, fixed while they run). */
struct cf__crm_cfg {
  const char *smtp_url;     /* or NULL */
  const char *smtp_from;    /* never NULL */
  const char *allow_hosts;  /* "H1,H2", or NULL */
  const char *hostname;     /* for Message-IDs */
};

/* One activated job being handled. */
struct cf__crm_job {
  const struct cf_runtime_job *rj;
  struct json_object *vars;    /* the variables visible at the element: an object (owned) */
  struct json_object *headers; /* the task headers: an object of strings (owned), or NULL */
  struct cf_feel_env env;      /* the runtime's time when the job was activated */
  const struct cf__crm_cfg *cfg;
};

enum cf__crm_outcome_kind { CF__CRM_COMPLETE, CF__CRM_FAIL };

/* What a handler decided. vars (complete) is a context or null, owned by the outcome. */
struct cf__crm_outcome {
  enum cf__crm_outcome_kind kind;
  struct cf_feel_value vars;
  int32_t retries;   /* fail: the job's retries left after this failure (0: an incident) */
  int64_t backoff_ms;
  char msg[512];
};

void cf__crm_outcome_release(struct cf__crm_outcome *o);

/* The job fails for good (retries 0: an incident) with the message. */
void cf__crm_fail_permanent(struct cf__crm_outcome *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * The job fails for now: retries - 1, after backoff_ms (< 0: the default
 * back-off, 2^(attempt) seconds capped at 5 minutes, the attempt counted
 * down from the job's retries).
 */
void cf__crm_fail_retry(struct cf__crm_outcome *o, const struct cf__crm_job *j, int64_t backoff_ms,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The default back-off of a job failing with retries left. */
int64_t cf__crm_backoff_ms(int32_t retries);

/*
 * An input of the job, borrowed: the variable name when the job's variables
 * have it (input mappings make local variables, which the job sees), else
 * the task header name (a string; a header holding JSON text that starts
 * with '{' or '[' is parsed when parse_json, the result cached in the job).
 * NULL when neither has it (or it is null).
 */
struct json_object *cf__crm_input(struct cf__crm_job *j, const char *name, bool parse_json);
/* An input as a string (numbers and booleans as their JSON text), or NULL. Borrowed. */
const char *cf__crm_input_str(struct cf__crm_job *j, const char *name);

/*
 * Renders a template: text with {{ FEEL }} placeholders evaluated against
 * vars (a context) at env's time and written as FEEL's string() gives them
 * (null as nothing). html: the values are HTML-escaped (the template's own
 * markup is kept). CF_OK; CF_EINVAL with why naming the placeholder when one
 * does not compile, is not closed, or evaluates with a warning (an unknown
 * variable...); CF_ENOMEM.
 */
int cf__crm_render(const char *tpl, const struct cf_feel_value *vars, const struct cf_feel_env *env, bool html,
                   struct cf_buf *out, char *why, size_t whylen);

/* A mail to build (cf__crm_mime_build): the parts rendered already. */
struct cf__crm_mail {
  const char *from;
  const char *const *to;
  size_t nto;
  const char *const *cc;
  size_t ncc;
  const char *subject;
  const char *text; /* or NULL */
  const char *html; /* or NULL; at least one of text and html */
  const char *message_id; /* "<...>" */
  int64_t date_ms;
  const char *boundary;   /* unique to the message */
};

/*
 * The RFC 5322 message with CRLF line ends: headers (Subject RFC 2047
 * encoded when not ASCII), a text/plain or text/html UTF-8 body in
 * quoted-printable, or multipart/alternative holding both. CF_EINVAL with
 * why when a header value holds a line break; CF_ENOMEM.
 */
int cf__crm_mime_build(const struct cf__crm_mail *m, struct cf_buf *out, char *why, size_t whylen);

/* The envelope address of "addr" or "Name <addr>" into out; false when it is not an address. */
bool cf__crm_mail_addr(const char *text, char *out, size_t outlen);

/* The handlers of the network jobs (crm_email.c, crm_http.c). */
void cf__crm_email_job(struct cf__crm_job *j, struct cf__crm_outcome *o);
void cf__crm_http_job(struct cf__crm_job *j, struct cf__crm_outcome *o);

/* True when host (case-insensitive; IPv6 with or without brackets) is one of the list "H1,H2". */
bool cf__crm_host_allowed(const char *allow_hosts, const char *host);

/* Longest http.request timeout: jobs of network types are leased for longer than this. */
#define CF__CRM_HTTP_TIMEOUT_MAX_MS 100000
#define CF__CRM_NET_LEASE_MS 120000

#endif
