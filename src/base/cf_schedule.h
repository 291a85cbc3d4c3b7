/*
 * Timer schedules: when a BPMN timer fires, from its definition text.
 *
 *   timeDate      an ISO-8601 date-time ("2026-01-05T09:00:00Z", with an
 *                 offset or a zone id "...@Europe/Paris"; without either, UTC)
 *   timeDuration  an ISO-8601 duration ("PT10M", "P3D", "P1M") from now
 *   timeCycle     an ISO-8601 repeating interval ("R3/PT10M", "R/P1D",
 *                 "R5/2026-01-05T09:00:00Z/PT1H"), or a cron expression as
 *                 Camunda 8 accepts it (Spring's six fields "sec min hour
 *                 day-of-month month day-of-week", with `*`, `?`, lists,
 *                 ranges, steps, names MON..SUN / JAN..DEC, `L`, `W`, `#`,
 *                 and the macros @yearly @monthly @weekly @daily @hourly)
 *
 * All times are milliseconds since 1970-01-01T00:00:00Z (UTC); cron fields
 * are read in UTC. Pure functions: no clock, no I/O (zone ids go through
 * base/cf_tz).
 */
#ifndef CF_BASE_SCHEDULE_H
#define CF_BASE_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crmflow/cf_error.h"

enum cf_schedule_kind { CF_SCHEDULE_DATE, CF_SCHEDULE_DURATION, CF_SCHEDULE_CYCLE };

struct cf_schedule {
  int64_t due_ms;       /* the first (next) firing */
  int32_t remaining;    /* firings left including due_ms; -1 unbounded; 1 for date/duration */
  /* For cycles: how the next firing follows the previous one. */
  int64_t every_ms;     /* the time part of a repeating interval's duration */
  int32_t every_months; /* its calendar part (P1M, P1Y) */
  bool cron;            /* next firings come from the cron expression */
  char cron_text[128];  /* the cron expression, when cron */
};

/*
 * Parses a timer definition of the given kind, as read at now_ms (a
 * duration counts from now; a cycle without a start begins after one
 * interval; a cron cycle's first firing is the first match after now).
 * CF_OK and *out, or CF_EINVAL with err saying what is wrong (and where in
 * the text). A date in the past is fine: it fires at once.
 */
int cf_schedule_parse(enum cf_schedule_kind kind, const char *text, size_t len, int64_t now_ms,
                      struct cf_schedule *out, struct cf_error *err);

/*
 * Moves a cycle to its next firing after the one at s->due_ms: true and
 * s updated (due_ms later, remaining decremented when bounded), or false when
 * no firing is left (remaining reached 0, or a cron that never matches again).
 */
bool cf_schedule_advance(struct cf_schedule *s);

#endif
