/*
 * libFuzzer target: bytes -> cf_bpmn_parse.
 *
 * Beyond "no crash, no leak, no hang": a refused document reports at least
 * one problem, and an accepted model is consistent, since the engine indexes
 * its arrays without checking: every flow joins two elements of one
 * (sub-)process, every incoming/outgoing/children/boundary list points
 * back, and every element is found again by its id.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpmn/cf_bpmn.h"

#define CHECK(cond)                                                    \
  do {                                                                 \
    if (!(cond)) {                                                     \
      fprintf(stderr, "fuzz_bpmn: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                         \
    }                                                                  \
  } while (0)

static void check_model(const struct cf_bpmn_model *m) {
  for (uint32_t i = 0; i < m->nflows; i++) {
    const struct cf_bpmn_flow *f = &m->flows[i];
    CHECK(f->id && f->source < m->nelements && f->target < m->nelements);
    CHECK(m->elements[f->source].parent == m->elements[f->target].parent);
    CHECK(m->elements[f->source].process == m->elements[f->target].process);
  }
  for (uint32_t i = 0; i < m->nelements; i++) {
    const struct cf_bpmn_element *e = &m->elements[i];
    CHECK(e->id && e->type < CF_BPMN__TYPE_COUNT && e->event < CF_BPMN__EVENT_COUNT);
    CHECK(e->process < m->nprocesses);
    CHECK(e->parent < (int32_t)m->nelements);
    int32_t found = cf_bpmn_find_element(m, e->id);
    CHECK(found >= 0 && !strcmp(m->elements[found].id, e->id));
    for (uint32_t k = 0; k < e->noutgoing; k++) CHECK(m->flows[e->outgoing[k]].source == i);
    for (uint32_t k = 0; k < e->nincoming; k++) CHECK(m->flows[e->incoming[k]].target == i);
    for (uint32_t k = 0; k < e->nchildren; k++) CHECK(m->elements[e->children[k]].parent == (int32_t)i);
    for (uint32_t k = 0; k < e->nboundaries; k++) CHECK(m->elements[e->boundaries[k]].attached_to == (int32_t)i);
    if (e->default_flow >= 0) CHECK((uint32_t)e->default_flow < m->nflows && m->flows[e->default_flow].source == i);
    if (e->attached_to >= 0) CHECK((uint32_t)e->attached_to < m->nelements);
  }
  for (uint32_t p = 0; p < m->nprocesses; p++) {
    const struct cf_bpmn_process *pr = &m->processes[p];
    CHECK(pr->id);
    for (uint32_t k = 0; k < pr->nelements; k++) {
      CHECK(m->elements[pr->elements[k]].parent == -1);
      CHECK(m->elements[pr->elements[k]].process == p);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct cf_bpmn_problems problems;
  cf_bpmn_problems_init(&problems);
  struct cf_bpmn_model *m = cf_bpmn_parse((const char *)data, size, "fuzz.bpmn", &problems);
  if (m) {
    CHECK(problems.count == 0);
    check_model(m);
  } else {
    CHECK(problems.count > 0);
    for (size_t i = 0; i < problems.count; i++) CHECK(problems.items[i].message != NULL);
  }
  cf_bpmn_model_free(m);
  cf_bpmn_problems_release(&problems);
  return 0;
}
