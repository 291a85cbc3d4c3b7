/*
 * Internals of the BPMN layer, shared between its files.
 *
 *   bpmn_arena.c    the arena a model lives in, and the problem list
 *   bpmn_xml.c      bytes -> libxml2 tree, with limits, no DOCTYPE, errors per parser context
 *   bpmn_parse.c    libxml2 tree -> struct cf_bpmn_model, with structural checks
 *   bpmn_validate.c execution rules on the parsed model
 *   bpmn_support.c  the one table of what the engine executes today
 *
 * libxml2 types appear only in bpmn_xml.c and bpmn_parse.c; nothing here
 * exposes them, so the rest of the layer (and the engine) never sees XML.
 */
#ifndef CF_BPMN_INT_H
#define CF_BPMN_INT_H

#include <stdarg.h>

#include "bpmn/cf_bpmn.h"

/* ------------------------------------------------------------------ arena */

/*
 * Every byte of a model lives in its arena: strings, arrays, the id index,
 * and the list of compiled FEEL expressions (freed with the arena). One
 * cf_bpmn_model_free() releases it all.
 */
struct cf_bpmn__arena *cf__bpmn_arena_create(void);
void cf__bpmn_arena_free(struct cf_bpmn__arena *a);

/* size bytes, zeroed, aligned for any type; NULL on oom. */
void *cf__bpmn_arena_alloc(struct cf_bpmn__arena *a, size_t size);
/* n items of size bytes each, zeroed; NULL on oom or overflow (n == 0 gives NULL too). */
void *cf__bpmn_arena_array(struct cf_bpmn__arena *a, size_t n, size_t size);
/* A copy of len bytes of s, NUL-terminated; NULL on oom. */
char *cf__bpmn_arena_strndup(struct cf_bpmn__arena *a, const char *s, size_t len);
char *cf__bpmn_arena_strdup(struct cf_bpmn__arena *a, const char *s);
/* Hands e to the arena, which frees it with the model. CF_ENOMEM (e freed) on oom. */
int cf__bpmn_arena_own_expr(struct cf_bpmn__arena *a, struct cf_feel_expr *e);

/* Builds the element id index used by cf_bpmn_find_element. CF_ENOMEM. */
int cf__bpmn_arena_index(struct cf_bpmn__arena *a, const struct cf_bpmn_model *m);

/* --------------------------------------------------------------- problems */

/*
 * Appends a problem (element_id, element_type may be NULL; line 0 = unknown).
 * On oom the list still ends up holding an "out of memory" problem: see
 * cf__bpmn_problem_oom. Returns CF_OK or CF_ENOMEM.
 */
int cf__bpmn_problem(struct cf_bpmn_problems *p, int line, const char *element_id,
                     const char *element_type, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int cf__bpmn_vproblem(struct cf_bpmn_problems *p, int line, const char *element_id,
                      const char *element_type, const char *fmt, va_list ap);

/*
 * Records "out of memory" (once), needing no allocation at all: when even
 * the list cannot grow, a static item stands in, or the last problem is
 * replaced. So a refused parse always reports at least one problem.
 */
void cf__bpmn_problem_oom(struct cf_bpmn_problems *p);

/* ------------------------------------------------------------- validation */

/*
 * Execution rules over a parsed model (only its executable processes): start
 * events, gateways' flows and conditions, job types, and the support table.
 * Appends problems; returns CF_OK or CF_ENOMEM.
 */
int cf__bpmn_validate(const struct cf_bpmn_model *m, struct cf_bpmn_problems *problems, bool support);

/*
 * cf_bpmn_parse, with the support table applied (support true, as every
 * deployment does) or not (false: tests of the parser, and of engine work on
 * elements not yet enabled, inspect fully parsed timers, messages...).
 */
struct cf_bpmn_model *cf__bpmn_parse(const char *xml, size_t len, const char *resource_name,
                                     struct cf_bpmn_problems *problems, bool support);

/*
 * The support table (bpmn_support.c): NULL when the engine executes e, else
 * what it does not execute ("timer", "multi-instance"...), for the problem
 * "crmflow does not execute <type> (<what>)".
 */
const char *cf__bpmn_unsupported(const struct cf_bpmn_model *m, const struct cf_bpmn_element *e);

/* Same for a sequence flow (conditions the engine does not evaluate). */
const char *cf__bpmn_unsupported_flow(const struct cf_bpmn_model *m, const struct cf_bpmn_flow *f);

/* The type name for messages: like cf_bpmn_type_name. */
static inline const char *cf__bpmn_tname(const struct cf_bpmn_element *e) {
  return cf_bpmn_type_name((enum cf_bpmn_type)e->type);
}

static inline bool cf__bpmn_is_activity(uint8_t type) {
  switch (type) {
  case CF_BPMN_TASK:
  case CF_BPMN_SERVICE_TASK:
  case CF_BPMN_SEND_TASK:
  case CF_BPMN_RECEIVE_TASK:
  case CF_BPMN_USER_TASK:
  case CF_BPMN_MANUAL_TASK:
  case CF_BPMN_SCRIPT_TASK:
  case CF_BPMN_BUSINESS_RULE_TASK:
  case CF_BPMN_SUB_PROCESS:
  case CF_BPMN_EVENT_SUB_PROCESS:
  case CF_BPMN_TRANSACTION:
  case CF_BPMN_AD_HOC_SUB_PROCESS:
  case CF_BPMN_CALL_ACTIVITY:
    return true;
  default:
    return false;
  }
}

static inline bool cf__bpmn_is_container(uint8_t type) {
  return type == CF_BPMN_SUB_PROCESS || type == CF_BPMN_EVENT_SUB_PROCESS ||
         type == CF_BPMN_TRANSACTION || type == CF_BPMN_AD_HOC_SUB_PROCESS;
}

static inline bool cf__bpmn_is_gateway(uint8_t type) {
  return type == CF_BPMN_EXCLUSIVE_GATEWAY || type == CF_BPMN_PARALLEL_GATEWAY ||
         type == CF_BPMN_INCLUSIVE_GATEWAY || type == CF_BPMN_EVENT_BASED_GATEWAY ||
         type == CF_BPMN_COMPLEX_GATEWAY;
}

#endif
