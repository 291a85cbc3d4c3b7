/*
 * Process scenarios: the files `crmflow test` runs (shared/contracts.md §3,
 * docs/scenarios.md).
 *
 * A scenario names BPMN models, starts one process instance in memory with
 * a virtual clock and a counter for keys, applies steps in order (complete
 * or fail a job, complete a user task, resolve an incident, move the clock,
 * check expectations) and checks the final expectations. Nothing is stored;
 * the same file always gives the same result.
 *
 * This is CLI code: it drives the engine the way the runtime will, but
 * with everything in memory, and reports in words a process author reads.
 */
#ifndef CF_CLI_SCENARIO_H
#define CF_CLI_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

/* What one scenario file gave. Caller-owned: zero it, run, then release. */
struct cf__scenario_result {
  char *name;      /* the scenario's "name", or the file name without ".scenario.json" */
  char *file;      /* the path as given */
  bool passed;
  char **failures; /* one line each, in the order found */
  size_t nfailures, cap;
};

/*
 * Runs the scenario in the file at path and fills res (which must be
 * zeroed). Everything that goes wrong with the scenario (an unreadable or
 * invalid file, a refused model, a failed step or expectation) is a failure
 * in res, not an error. Returns CF_OK, or CF_ENOMEM (res may then be partly
 * filled; release it).
 */
int cf__scenario_run(const char *path, struct cf__scenario_result *res);

void cf__scenario_result_release(struct cf__scenario_result *res);

#endif
