/*
 * The arena a compiled model lives in, the model's lookups, and the problem
 * list that cf_bpmn_parse fills.
 */
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"
#include "bpmn/bpmn_int.h"

/* ================================================================== arena */

/* Blocks grow geometrically from 4 KiB so a small model costs one or two allocations. */
#define ARENA_FIRST_BLOCK 4096
#define ARENA_ALIGN (alignof(max_align_t))

struct block {
  struct block *next;
  size_t used, cap;
  alignas(max_align_t) unsigned char data[];
};

struct cf_bpmn__arena {
  struct block *head;
  size_t next_size;
  struct cf_feel_expr **exprs; /* owned compiled expressions */
  size_t nexprs, capexprs;
  const struct cf_bpmn_model *model; /* for the index */
  uint32_t *index;                   /* open addressing over element ids; UINT32_MAX = empty */
  uint32_t index_mask;
};

struct cf_bpmn__arena *cf__bpmn_arena_create(void) {
  struct cf_bpmn__arena *a = cf_calloc(1, sizeof *a);
  if (a) a->next_size = ARENA_FIRST_BLOCK;
  return a;
}

void cf__bpmn_arena_free(struct cf_bpmn__arena *a) {
  if (!a) return;
  for (struct block *b = a->head, *next; b; b = next) {
    next = b->next;
    cf_free(b);
  }
  for (size_t i = 0; i < a->nexprs; i++) cf_feel_expr_free(a->exprs[i]);
  cf_free(a->exprs);
  cf_free(a->index);
  cf_free(a);
}

void *cf__bpmn_arena_alloc(struct cf_bpmn__arena *a, size_t size) {
  size = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
  if (size == 0) size = ARENA_ALIGN;
  struct block *b = a->head;
  if (!b || b->cap - b->used < size) {
    size_t cap = a->next_size;
    while (cap < size) cap *= 2;
    if (cap > SIZE_MAX / 2 || sizeof *b + cap < cap) return NULL;
    b = cf_malloc(sizeof *b + cap);
    if (!b) return NULL;
    b->cap = cap;
    b->used = 0;
    b->next = a->head;
    a->head = b;
    if (a->next_size < (1u << 20)) a->next_size *= 2;
  }
  void *p = b->data + b->used;
  b->used += size;
  memset(p, 0, size);
  return p;
}

void *cf__bpmn_arena_array(struct cf_bpmn__arena *a, size_t n, size_t size) {
  if (n == 0 || size == 0 || n > SIZE_MAX / 2 / size) return NULL;
  return cf__bpmn_arena_alloc(a, n * size);
}

char *cf__bpmn_arena_strndup(struct cf_bpmn__arena *a, const char *s, size_t len) {
  char *p = cf__bpmn_arena_alloc(a, len + 1);
  if (!p) return NULL;
  memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

char *cf__bpmn_arena_strdup(struct cf_bpmn__arena *a, const char *s) {
  return cf__bpmn_arena_strndup(a, s, strlen(s));
}

int cf__bpmn_arena_own_expr(struct cf_bpmn__arena *a, struct cf_feel_expr *e) {
  if (a->nexprs == a->capexprs) {
    size_t cap = a->capexprs ? a->capexprs * 2 : 16;
    struct cf_feel_expr **n = cf_realloc(a->exprs, cap * sizeof *n);
    if (!n) {
      cf_feel_expr_free(e);
      return CF_ENOMEM;
    }
    a->exprs = n;
    a->capexprs = cap;
  }
  a->exprs[a->nexprs++] = e;
  return CF_OK;
}

/* FNV-1a: ids are short and few; this is only for deploy-time and lookups by id. */
static uint32_t hash_str(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

int cf__bpmn_arena_index(struct cf_bpmn__arena *a, const struct cf_bpmn_model *m) {
  size_t cap = 16;
  while (cap < (size_t)m->nelements * 2) cap *= 2;
  uint32_t *idx = cf_malloc(cap * sizeof *idx);
  if (!idx) return CF_ENOMEM;
  memset(idx, 0xff, cap * sizeof *idx);
  uint32_t mask = (uint32_t)(cap - 1);
  for (uint32_t i = 0; i < m->nelements; i++) {
    uint32_t h = hash_str(m->elements[i].id) & mask;
    while (idx[h] != UINT32_MAX) {
      if (!strcmp(m->elements[idx[h]].id, m->elements[i].id)) break; /* first one wins */
      h = (h + 1) & mask;
    }
    if (idx[h] == UINT32_MAX) idx[h] = i;
  }
  cf_free(a->index);
  a->index = idx;
  a->index_mask = mask;
  a->model = m;
  return CF_OK;
}

/* ================================================================ lookups */

void cf_bpmn_model_free(struct cf_bpmn_model *m) {
  if (!m) return;
  /* The model struct itself is the arena's first allocation. */
  cf__bpmn_arena_free(m->arena);
}

int32_t cf_bpmn_find_element(const struct cf_bpmn_model *m, const char *id) {
  if (!m || !id) return -1;
  const struct cf_bpmn__arena *a = m->arena;
  if (a && a->index && a->model == m) {
    uint32_t h = hash_str(id) & a->index_mask;
    for (; a->index[h] != UINT32_MAX; h = (h + 1) & a->index_mask)
      if (!strcmp(m->elements[a->index[h]].id, id)) return (int32_t)a->index[h];
    return -1;
  }
  for (uint32_t i = 0; i < m->nelements; i++)
    if (!strcmp(m->elements[i].id, id)) return (int32_t)i;
  return -1;
}

int32_t cf_bpmn_find_process(const struct cf_bpmn_model *m, const char *id) {
  if (!m || !id) return -1;
  for (uint32_t i = 0; i < m->nprocesses; i++)
    if (!strcmp(m->processes[i].id, id)) return (int32_t)i;
  return -1;
}

/* =============================================================== problems */

/*
 * The "out of memory" problem must be recordable with no allocation at all,
 * so its text and, in the worst case, the item holding it are static. They
 * are never written to; release recognizes and skips them.
 */
static char oom_text[] = "out of memory";
static struct cf_bpmn_problem oom_item = {0, NULL, NULL, oom_text};

void cf_bpmn_problems_init(struct cf_bpmn_problems *p) {
  p->items = NULL;
  p->count = p->cap = 0;
}

static void problem_release(struct cf_bpmn_problem *it) {
  cf_free(it->element_id);
  cf_free(it->element_type);
  if (it->message != oom_text) cf_free(it->message);
}

void cf_bpmn_problems_release(struct cf_bpmn_problems *p) {
  if (!p) return;
  if (p->items != &oom_item) {
    for (size_t i = 0; i < p->count; i++) problem_release(&p->items[i]);
    cf_free(p->items);
  }
  cf_bpmn_problems_init(p);
}

/* Room for one more item; the static item is replaced by a real array. */
static int problems_grow(struct cf_bpmn_problems *p) {
  bool is_static = p->items == &oom_item;
  if (!is_static && p->count < p->cap) return CF_OK;
  size_t cap = p->cap < 8 ? 8 : p->cap * 2;
  struct cf_bpmn_problem *n = is_static ? cf_malloc(cap * sizeof *n) : cf_realloc(p->items, cap * sizeof *n);
  if (!n) return CF_ENOMEM;
  if (is_static) n[0] = oom_item;
  p->items = n;
  p->cap = cap;
  return CF_OK;
}

void cf__bpmn_problem_oom(struct cf_bpmn_problems *p) {
  for (size_t i = 0; i < p->count; i++)
    if (p->items[i].message == oom_text) return;
  if (problems_grow(p) == CF_OK) {
    p->items[p->count++] = (struct cf_bpmn_problem){0, NULL, NULL, oom_text};
    return;
  }
  if (p->count == 0) {
    p->items = &oom_item;
    p->count = p->cap = 1;
    return;
  }
  /* Keep the count, lose the last detail: "out of memory" matters more. */
  problem_release(&p->items[p->count - 1]);
  p->items[p->count - 1] = (struct cf_bpmn_problem){0, NULL, NULL, oom_text};
}

int cf__bpmn_vproblem(struct cf_bpmn_problems *p, int line, const char *element_id,
                      const char *element_type, const char *fmt, va_list ap) {
  struct cf_buf b;
  cf_buf_init(&b);
  cf_buf_vprintf(&b, fmt, ap);
  char *msg = cf_buf_detach(&b);
  /* One problem is one line of `crmflow check` output. */
  for (char *c = msg; c && *c; c++)
    if (*c == '\n' || *c == '\r' || *c == '\t') *c = ' ';
  char *id = element_id ? cf_strdup(element_id) : NULL;
  char *type = element_type ? cf_strdup(element_type) : NULL;
  if (!msg || (element_id && !id) || (element_type && !type) || problems_grow(p) != CF_OK) {
    cf_free(msg);
    cf_free(id);
    cf_free(type);
    cf__bpmn_problem_oom(p);
    return CF_ENOMEM;
  }
  p->items[p->count++] = (struct cf_bpmn_problem){line < 0 ? 0 : line, id, type, msg};
  return CF_OK;
}

int cf__bpmn_problem(struct cf_bpmn_problems *p, int line, const char *element_id,
                     const char *element_type, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = cf__bpmn_vproblem(p, line, element_id, element_type, fmt, ap);
  va_end(ap);
  return rc;
}
