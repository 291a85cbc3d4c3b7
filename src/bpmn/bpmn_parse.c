/*
 * BPMN 2.0 XML (libxml2 tree) -> struct cf_bpmn_model.
 *
 * Elements are matched by namespace URI, never by prefix: a file may bind
 * the BPMN namespace to `bpmn:`, `bpmn2:`, `semantic:` or to no prefix.
 *
 * The walk goes in steps, each over the whole document, so that every
 * reference can be resolved whatever the order of the XML:
 *   1. every BPMN element with an id goes into a table (duplicates found);
 *   2. processes, their flow elements and sequence flows are collected,
 *      sub-processes recursively, in document order;
 *   3. the model's arrays are allocated in the arena and filled: flows
 *      resolved to element indices, incoming/outgoing/children lists,
 *      event definitions, zeebe: extension elements, FEEL compiled;
 *   4. cf__bpmn_validate applies the execution rules.
 * Every problem is collected; the model is returned only if there is none.
 *
 * Structural problems (ids, references) are reported for every process.
 * Execution problems (missing job types, conditions that are not FEEL, FEEL
 * syntax, unsupported elements) only for executable processes: a
 * collaboration often carries non-executable pools drawn for documentation,
 * and Camunda deploys only the executable processes of a file. A
 * non-executable process stays in the model (executable false) and must
 * never be started; its FEEL values may be uncompiled (expr NULL).
 */
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "bpmn/bpmn_xml.h"

#define NS_BPMN "http://www.omg.org/spec/BPMN/20100524/MODEL"
#define NS_ZEEBE "http://camunda.org/schema/zeebe/1.0"

/* Longest expression text quoted in a problem. */
#define QUOTE_MAX 200

enum id_kind { ID_OTHER, ID_PROCESS, ID_ELEMENT, ID_FLOW, ID_MESSAGE, ID_ERROR, ID_SIGNAL, ID_ESCALATION };

struct id_entry {
  const char *id; /* arena copy */
  xmlNodePtr node;
  uint32_t index;
  uint8_t kind;
};

struct item {
  xmlNodePtr node;
  uint32_t process;
  int32_t parent; /* element index of the container, or -1 */
  uint8_t type;
};

struct vec {
  struct item *v;
  size_t n, cap;
};

struct parser {
  struct cf_bpmn_problems *problems;
  struct cf_bpmn__arena *a;
  struct cf_bpmn_model *m;
  bool oom;
  struct id_entry *ids;
  uint32_t ids_mask;
  xmlNodePtr *proc_nodes;
  size_t nproc, capproc;
  struct vec els, flows;
  struct vec assocs; /* bpmn:association artifacts: they link compensation boundaries to handlers */
};

/* Where a problem is: the element (or flow, or process) it is about. */
struct where {
  int line;
  const char *id;
  const char *type;
  bool exec; /* in an executable process: execution rules apply */
};

/* ================================================================ helpers */

static bool in_ns(const xmlNode *n, const char *ns, const char *local) {
  return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
         !strcmp((const char *)n->ns->href, ns) && (!local || !strcmp((const char *)n->name, local));
}
static bool is_bpmn(const xmlNode *n, const char *local) { return in_ns(n, NS_BPMN, local); }
static bool is_zeebe(const xmlNode *n, const char *local) { return in_ns(n, NS_ZEEBE, local); }

static const char *lname(const xmlNode *n) { return (const char *)n->name; }

static void oom(struct parser *p) {
  p->oom = true;
  cf__bpmn_problem_oom(p->problems);
}

static void problem(struct parser *p, const struct where *w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(struct parser *p, const struct where *w, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (cf__bpmn_vproblem(p->problems, w ? w->line : 0, w ? w->id : NULL, w ? w->type : NULL, fmt, ap))
    p->oom = true;
  va_end(ap);
}

static char *dup(struct parser *p, const char *s) {
  if (!s) return NULL;
  char *c = cf__bpmn_arena_strdup(p->a, s);
  if (!c) oom(p);
  return c;
}

/* An attribute without namespace, copied into the arena; NULL if absent. */
static char *attr(struct parser *p, const xmlNode *n, const char *name) {
  xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
  if (!v) return NULL;
  char *c = dup(p, (const char *)v);
  xmlFree(v);
  return c;
}

static bool attr_is(const xmlNode *n, const char *name, const char *value) {
  xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
  bool eq = v && !strcmp((const char *)v, value);
  xmlFree(v);
  return eq;
}

/* Text content with surrounding white space trimmed, in the arena; "" if none. */
static char *text(struct parser *p, const xmlNode *n) {
  xmlChar *v = xmlNodeGetContent(n);
  const char *s = v ? (const char *)v : "";
  size_t len = strlen(s);
  while (len && strchr(" \t\r\n", s[len - 1])) len--;
  while (len && strchr(" \t\r\n", *s)) s++, len--;
  char *c = cf__bpmn_arena_strndup(p->a, s, len);
  xmlFree(v);
  if (!c) oom(p);
  return c;
}

static xmlNodePtr child(const xmlNode *n, bool (*match)(const xmlNode *, const char *), const char *local) {
  for (xmlNodePtr c = n->children; c; c = c->next)
    if (match(c, local)) return c;
  return NULL;
}

/*
 * Sets v from an attribute's text (NULL = absent): static text, or FEEL when
 * it starts with '='. A syntax error is a problem naming the attribute, the
 * expression and the FEEL message (with its line and column).
 */
static void value_text(struct parser *p, const struct where *w, const char *what, char *txt,
                       struct cf_bpmn_value *v) {
  v->text = txt;
  v->expr = NULL;
  if (!txt || txt[0] != '=') return;
  struct cf_error err;
  cf_error_clear(&err);
  const char *src = txt + 1;
  struct cf_feel_expr *e = cf_feel_compile(src, strlen(src), NULL, 0, &err);
  if (!e) {
    if (err.code == CF_ENOMEM) {
      oom(p);
    } else if (w->exec) {
      size_t n = strlen(txt);
      problem(p, w, "%s \"%.*s%s\" is not a valid FEEL expression: %s", what, n > QUOTE_MAX ? QUOTE_MAX : (int)n,
              txt, n > QUOTE_MAX ? "..." : "", err.msg);
    }
    return;
  }
  if (cf__bpmn_arena_own_expr(p->a, e)) {
    oom(p);
    return;
  }
  v->expr = e;
}

static void value_attr(struct parser *p, const struct where *w, const xmlNode *n, const char *name,
                       const char *what, struct cf_bpmn_value *v) {
  value_text(p, w, what, attr(p, n, name), v);
}

/* ================================================================ id table */

static uint32_t hash_str(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static struct id_entry *id_find(struct parser *p, const char *id) {
  if (!id || !p->ids) return NULL;
  for (uint32_t h = hash_str(id) & p->ids_mask; p->ids[h].id; h = (h + 1) & p->ids_mask)
    if (!strcmp(p->ids[h].id, id)) return &p->ids[h];
  return NULL;
}

static size_t count_bpmn(const xmlNode *n) {
  size_t c = 0;
  for (; n; n = n->next)
    if (n->type == XML_ELEMENT_NODE) c += (is_bpmn(n, NULL) ? 1 : 0) + count_bpmn(n->children);
  return c;
}

static void ids_insert(struct parser *p, xmlNodePtr n) {
  for (; n && !p->oom; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    if (is_bpmn(n, NULL)) {
      char *id = attr(p, n, "id");
      if (id) {
        uint32_t h = hash_str(id) & p->ids_mask;
        while (p->ids[h].id && strcmp(p->ids[h].id, id)) h = (h + 1) & p->ids_mask;
        if (p->ids[h].id) {
          struct where w = {cf__bpmn_xml_line(n), id, lname(n), true};
          problem(p, &w, "the id '%s' is already used by the %s on line %d", id, lname(p->ids[h].node),
                  cf__bpmn_xml_line(p->ids[h].node));
        } else {
          p->ids[h] = (struct id_entry){id, n, 0, ID_OTHER};
        }
      }
    }
    ids_insert(p, n->children);
  }
}

static int ids_build(struct parser *p, xmlNodePtr root) {
  size_t n = count_bpmn(root);
  size_t cap = 16;
  while (cap < n * 2) cap *= 2;
  p->ids = cf__bpmn_arena_array(p->a, cap, sizeof *p->ids);
  if (!p->ids) {
    oom(p);
    return CF_ENOMEM;
  }
  p->ids_mask = (uint32_t)(cap - 1);
  ids_insert(p, root);
  return p->oom ? CF_ENOMEM : CF_OK;
}

/* Marks the entry of node n's id as (kind, index) when n is its owner. */
static void ids_claim(struct parser *p, xmlNodePtr n, const char *id, uint8_t kind, uint32_t index) {
  struct id_entry *e = id_find(p, id);
  if (e && e->node == n) {
    e->kind = kind;
    e->index = index;
  }
}

/* The node a reference names, if it is of the kind wanted. */
static struct id_entry *ref(struct parser *p, const char *id, uint8_t kind) {
  struct id_entry *e = id_find(p, id);
  return e && e->kind == kind ? e : NULL;
}

/* ============================================================= collection */

static const struct {
  const char *name;
  uint8_t type;
} FLOW_NODES[] = {
    {"startEvent", CF_BPMN_START_EVENT},
    {"endEvent", CF_BPMN_END_EVENT},
    {"intermediateCatchEvent", CF_BPMN_INTERMEDIATE_CATCH_EVENT},
    {"intermediateThrowEvent", CF_BPMN_INTERMEDIATE_THROW_EVENT},
    {"boundaryEvent", CF_BPMN_BOUNDARY_EVENT},
    {"task", CF_BPMN_TASK},
    {"serviceTask", CF_BPMN_SERVICE_TASK},
    {"sendTask", CF_BPMN_SEND_TASK},
    {"receiveTask", CF_BPMN_RECEIVE_TASK},
    {"userTask", CF_BPMN_USER_TASK},
    {"manualTask", CF_BPMN_MANUAL_TASK},
    {"scriptTask", CF_BPMN_SCRIPT_TASK},
    {"businessRuleTask", CF_BPMN_BUSINESS_RULE_TASK},
    {"exclusiveGateway", CF_BPMN_EXCLUSIVE_GATEWAY},
    {"parallelGateway", CF_BPMN_PARALLEL_GATEWAY},
    {"inclusiveGateway", CF_BPMN_INCLUSIVE_GATEWAY},
    {"eventBasedGateway", CF_BPMN_EVENT_BASED_GATEWAY},
    {"complexGateway", CF_BPMN_COMPLEX_GATEWAY},
    {"subProcess", CF_BPMN_SUB_PROCESS},
    {"transaction", CF_BPMN_TRANSACTION},
    {"adHocSubProcess", CF_BPMN_AD_HOC_SUB_PROCESS},
    {"callActivity", CF_BPMN_CALL_ACTIVITY},
};

static int node_type(const xmlNode *n) {
  for (size_t i = 0; i < sizeof FLOW_NODES / sizeof *FLOW_NODES; i++)
    if (!strcmp(lname(n), FLOW_NODES[i].name)) {
      if (FLOW_NODES[i].type == CF_BPMN_SUB_PROCESS && attr_is(n, "triggeredByEvent", "true"))
        return CF_BPMN_EVENT_SUB_PROCESS;
      return FLOW_NODES[i].type;
    }
  return -1;
}

static bool push(struct parser *p, struct vec *v, struct item it) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 32;
    struct item *n = cf_realloc(v->v, cap * sizeof *n);
    if (!n) {
      oom(p);
      return false;
    }
    v->v = n;
    v->cap = cap;
  }
  v->v[v->n++] = it;
  return true;
}

/*
 * Collects the flow elements and sequence flows of a process or container.
 * Anything else (lanes, artifacts, data objects, documentation, BPMN
 * elements crmflow has no use for, other namespaces) is not flow: skipped.
 */
static void collect(struct parser *p, const xmlNode *container, uint32_t proc, int32_t parent) {
  for (xmlNodePtr c = container->children; c && !p->oom; c = c->next) {
    if (!is_bpmn(c, NULL)) continue;
    if (!strcmp(lname(c), "sequenceFlow")) {
      push(p, &p->flows, (struct item){c, proc, parent, 0});
      continue;
    }
    if (!strcmp(lname(c), "association")) {
      push(p, &p->assocs, (struct item){c, proc, parent, 0});
      continue;
    }
    int t = node_type(c);
    if (t < 0) continue;
    if (!push(p, &p->els, (struct item){c, proc, parent, (uint8_t)t})) return;
    if (cf__bpmn_is_container((uint8_t)t)) collect(p, c, proc, (int32_t)(p->els.n - 1));
  }
}

/* ============================================================ extensions */

static struct where where_of(struct parser *p, const struct cf_bpmn_element *e) {
  return (struct where){e->line, e->id, cf__bpmn_tname(e), p->m->processes[e->process].executable};
}

static void parse_io_mapping(struct parser *p, const struct where *w, const xmlNode *ext,
                             struct cf_bpmn_element *e) {
  uint32_t nin = 0, nout = 0;
  for (xmlNodePtr io = ext->children; io; io = io->next)
    if (is_zeebe(io, "ioMapping"))
      for (xmlNodePtr c = io->children; c; c = c->next) {
        if (is_zeebe(c, "input")) nin++;
        if (is_zeebe(c, "output")) nout++;
      }
  if (!nin && !nout) return;
  if ((nin && !(e->inputs = cf__bpmn_arena_array(p->a, nin, sizeof *e->inputs))) ||
      (nout && !(e->outputs = cf__bpmn_arena_array(p->a, nout, sizeof *e->outputs)))) {
    oom(p);
    return;
  }
  for (xmlNodePtr io = ext->children; io; io = io->next) {
    if (!is_zeebe(io, "ioMapping")) continue;
    for (xmlNodePtr c = io->children; c && !p->oom; c = c->next) {
      bool in = is_zeebe(c, "input");
      if (!in && !is_zeebe(c, "output")) continue;
      struct cf_bpmn_mapping *mp = in ? &e->inputs[e->ninputs++] : &e->outputs[e->noutputs++];
      struct where cw = *w;
      cw.line = cf__bpmn_xml_line(c);
      mp->target = attr(p, c, "target");
      value_attr(p, &cw, c, "source", in ? "zeebe:input source" : "zeebe:output source", &mp->source);
      if (w->exec && (!mp->target || !*mp->target))
        problem(p, &cw, "a %s has no target variable", in ? "zeebe:input" : "zeebe:output");
    }
  }
}

static void parse_pairs(struct parser *p, const xmlNode *list, const char *item, const char *key_attr,
                        struct cf_bpmn_pair **out, uint32_t *nout) {
  uint32_t n = 0;
  for (xmlNodePtr c = list->children; c; c = c->next)
    if (is_zeebe(c, item)) n++;
  if (!n) return;
  struct cf_bpmn_pair *pairs = cf__bpmn_arena_array(p->a, n + *nout, sizeof *pairs);
  if (!pairs) {
    oom(p);
    return;
  }
  if (*nout) memcpy(pairs, *out, *nout * sizeof *pairs);
  uint32_t k = *nout;
  for (xmlNodePtr c = list->children; c; c = c->next)
    if (is_zeebe(c, item)) {
      pairs[k].key = attr(p, c, key_attr);
      pairs[k].value = attr(p, c, "value");
      k++;
    }
  *out = pairs;
  *nout = k;
}

static bool attr_false(const xmlNode *n, const char *name) { return attr_is(n, name, "false"); }

/*
 * The zeebe: extension elements of an element. Unknown ones (execution
 * listeners, other vendors' elements) are skipped: they are not errors.
 */
static void parse_extensions(struct parser *p, const xmlNode *node, struct cf_bpmn_element *e) {
  xmlNodePtr ext = child(node, is_bpmn, "extensionElements");
  if (!ext) return;
  struct where w = where_of(p, e);
  parse_io_mapping(p, &w, ext, e);
  for (xmlNodePtr c = ext->children; c && !p->oom; c = c->next) {
    if (!is_zeebe(c, NULL)) continue;
    const char *n = lname(c);
    struct where cw = w;
    cw.line = cf__bpmn_xml_line(c);
    if (!strcmp(n, "taskDefinition")) {
      value_attr(p, &cw, c, "type", "zeebe:taskDefinition type", &e->job_type);
      if (!e->job_type.text) e->job_type.text = dup(p, ""); /* present, so "no type" is reported as empty */
      value_attr(p, &cw, c, "retries", "zeebe:taskDefinition retries", &e->job_retries);
      if (!e->job_retries.text) e->job_retries.text = dup(p, "3");
    } else if (!strcmp(n, "taskHeaders")) {
      parse_pairs(p, c, "header", "key", &e->headers, &e->nheaders);
    } else if (!strcmp(n, "properties")) {
      parse_pairs(p, c, "property", "name", &e->properties, &e->nproperties);
    } else if (!strcmp(n, "assignmentDefinition")) {
      value_attr(p, &cw, c, "assignee", "zeebe:assignmentDefinition assignee", &e->assignee);
      value_attr(p, &cw, c, "candidateGroups", "zeebe:assignmentDefinition candidateGroups", &e->candidate_groups);
      value_attr(p, &cw, c, "candidateUsers", "zeebe:assignmentDefinition candidateUsers", &e->candidate_users);
    } else if (!strcmp(n, "taskSchedule")) {
      value_attr(p, &cw, c, "dueDate", "zeebe:taskSchedule dueDate", &e->due_date);
      value_attr(p, &cw, c, "followUpDate", "zeebe:taskSchedule followUpDate", &e->follow_up_date);
    } else if (!strcmp(n, "priorityDefinition")) {
      value_attr(p, &cw, c, "priority", "zeebe:priorityDefinition priority", &e->priority);
    } else if (!strcmp(n, "userTask")) {
      e->zeebe_user_task = true;
    } else if (!strcmp(n, "formDefinition")) {
      e->form_key = attr(p, c, "formKey");
      if (!e->form_key) e->form_key = attr(p, c, "formId");
      if (!e->form_key) e->form_key = attr(p, c, "externalReference");
    } else if (!strcmp(n, "script")) {
      value_attr(p, &cw, c, "expression", "zeebe:script expression", &e->script);
      if (!e->script.text) e->script.text = dup(p, "");
      e->result_variable = attr(p, c, "resultVariable");
    } else if (!strcmp(n, "calledElement")) {
      value_attr(p, &cw, c, "processId", "zeebe:calledElement processId", &e->called_process_id);
      e->propagate_all_child_variables = !attr_false(c, "propagateAllChildVariables");
      e->propagate_all_parent_variables = !attr_false(c, "propagateAllParentVariables");
      if (attr_is(c, "bindingType", "versionTag")) {
        e->called_version_tag = attr(p, c, "versionTag");
        if (!e->called_version_tag || !*e->called_version_tag)
          problem(p, &cw, "zeebe:calledElement bindingType=\"versionTag\" needs a versionTag");
      }
    } else if (!strcmp(n, "calledDecision")) {
      value_attr(p, &cw, c, "decisionId", "zeebe:calledDecision decisionId", &e->called_decision_id);
      if (!e->called_decision_id.text) e->called_decision_id.text = dup(p, "");
      e->decision_result_variable = attr(p, c, "resultVariable");
    }
  }
}

/* bpmn:multiInstanceLoopCharacteristics with its zeebe:loopCharacteristics. */
static void parse_loop(struct parser *p, const xmlNode *node, struct cf_bpmn_element *e) {
  struct where w = where_of(p, e);
  xmlNodePtr std = child(node, is_bpmn, "standardLoopCharacteristics");
  if (std && w.exec) {
    w.line = cf__bpmn_xml_line(std);
    problem(p, &w, "crmflow does not execute %s (standard loop: Camunda 8 does not either; use multi-instance)",
            cf__bpmn_tname(e));
  }
  xmlNodePtr mi = child(node, is_bpmn, "multiInstanceLoopCharacteristics");
  if (!mi) return;
  struct cf_bpmn_multi_instance *x = cf__bpmn_arena_alloc(p->a, sizeof *x);
  if (!x) {
    oom(p);
    return;
  }
  e->multi = x;
  x->sequential = attr_is(mi, "isSequential", "true");
  w.line = cf__bpmn_xml_line(mi);
  xmlNodePtr cc = child(mi, is_bpmn, "completionCondition");
  if (cc) value_text(p, &w, "bpmn:completionCondition", text(p, cc), &x->completion_condition);
  xmlNodePtr card = child(mi, is_bpmn, "loopCardinality");
  if (card) value_text(p, &w, "bpmn:loopCardinality", text(p, card), &x->cardinality);
  xmlNodePtr ext = child(mi, is_bpmn, "extensionElements");
  xmlNodePtr lc = ext ? child(ext, is_zeebe, "loopCharacteristics") : NULL;
  if (lc) {
    w.line = cf__bpmn_xml_line(lc);
    value_attr(p, &w, lc, "inputCollection", "zeebe:loopCharacteristics inputCollection", &x->input_collection);
    x->input_element = attr(p, lc, "inputElement");
    x->output_collection = attr(p, lc, "outputCollection");
    value_attr(p, &w, lc, "outputElement", "zeebe:loopCharacteristics outputElement", &x->output_element);
  }
}

/* ====================================================== event definitions */

static const struct {
  const char *name;
  uint8_t event;
} EVENT_DEFS[] = {
    {"messageEventDefinition", CF_BPMN_EVENT_MESSAGE},
    {"timerEventDefinition", CF_BPMN_EVENT_TIMER},
    {"signalEventDefinition", CF_BPMN_EVENT_SIGNAL},
    {"errorEventDefinition", CF_BPMN_EVENT_ERROR},
    {"escalationEventDefinition", CF_BPMN_EVENT_ESCALATION},
    {"compensateEventDefinition", CF_BPMN_EVENT_COMPENSATION},
    {"conditionalEventDefinition", CF_BPMN_EVENT_CONDITIONAL},
    {"linkEventDefinition", CF_BPMN_EVENT_LINK},
    {"terminateEventDefinition", CF_BPMN_EVENT_TERMINATE},
    {"cancelEventDefinition", CF_BPMN_EVENT_CANCEL},
};

static int event_kind(const xmlNode *n) {
  if (!is_bpmn(n, NULL)) return -1;
  for (size_t i = 0; i < sizeof EVENT_DEFS / sizeof *EVENT_DEFS; i++)
    if (!strcmp(lname(n), EVENT_DEFS[i].name)) return EVENT_DEFS[i].event;
  return -1;
}

/* messageRef -> the bpmn:message's name (static or FEEL) and zeebe:subscription. */
static void parse_message_ref(struct parser *p, const struct where *w, const xmlNode *n,
                              struct cf_bpmn_element *e) {
  char *id = attr(p, n, "messageRef");
  if (!id) return;
  struct id_entry *r = ref(p, id, ID_MESSAGE);
  if (!r) {
    problem(p, w, "messageRef '%s' does not name a bpmn:message of this file", id);
    return;
  }
  struct where mw = *w;
  mw.line = cf__bpmn_xml_line(r->node);
  e->message_ref_name = attr(p, r->node, "name");
  value_text(p, &mw, "bpmn:message name", e->message_ref_name, &e->message_name);
  xmlNodePtr ext = child(r->node, is_bpmn, "extensionElements");
  xmlNodePtr sub = ext ? child(ext, is_zeebe, "subscription") : NULL;
  if (sub) value_attr(p, &mw, sub, "correlationKey", "zeebe:subscription correlationKey", &e->correlation_key);
}

/* A reference to a global element (signal, error, escalation) and one of its attributes. */
static void parse_global_ref(struct parser *p, const struct where *w, const xmlNode *def, const char *ref_attr,
                             uint8_t kind, const char *what_elem, const char *code_attr,
                             struct cf_bpmn_value *out) {
  char *id = attr(p, def, ref_attr);
  if (!id) return;
  struct id_entry *r = ref(p, id, kind);
  if (!r) {
    problem(p, w, "%s '%s' does not name a %s of this file", ref_attr, id, what_elem);
    return;
  }
  struct where gw = *w;
  gw.line = cf__bpmn_xml_line(r->node);
  char what[96];
  snprintf(what, sizeof what, "%s %s", what_elem, code_attr);
  value_attr(p, &gw, r->node, code_attr, what, out);
}

static void parse_event_def(struct parser *p, const xmlNode *d, uint8_t kind, struct cf_bpmn_element *e) {
  struct where w = where_of(p, e);
  w.line = cf__bpmn_xml_line(d);
  switch (kind) {
  case CF_BPMN_EVENT_MESSAGE:
    parse_message_ref(p, &w, d, e);
    break;
  case CF_BPMN_EVENT_TIMER: {
    static const char *const names[] = {"timeDate", "timeDuration", "timeCycle"};
    static const uint8_t kinds[] = {CF_BPMN_TIMER_DATE, CF_BPMN_TIMER_DURATION, CF_BPMN_TIMER_CYCLE};
    int found = 0;
    for (xmlNodePtr c = d->children; c; c = c->next)
      for (int i = 0; i < 3; i++)
        if (is_bpmn(c, names[i])) {
          char what[32];
          snprintf(what, sizeof what, "bpmn:%s", names[i]);
          e->timer_kind = kinds[i];
          value_text(p, &w, what, text(p, c), &e->timer);
          found++;
        }
    if (found > 1 && w.exec) problem(p, &w, "a timer has more than one of timeDate, timeDuration and timeCycle");
    break;
  }
  case CF_BPMN_EVENT_SIGNAL:
    parse_global_ref(p, &w, d, "signalRef", ID_SIGNAL, "bpmn:signal", "name", &e->signal_name);
    break;
  case CF_BPMN_EVENT_ERROR:
    parse_global_ref(p, &w, d, "errorRef", ID_ERROR, "bpmn:error", "errorCode", &e->error_code);
    break;
  case CF_BPMN_EVENT_ESCALATION:
    parse_global_ref(p, &w, d, "escalationRef", ID_ESCALATION, "bpmn:escalation", "escalationCode",
                     &e->escalation_code);
    break;
  case CF_BPMN_EVENT_LINK:
    e->link_name = attr(p, d, "name");
    break;
  case CF_BPMN_EVENT_COMPENSATION: {
    char *id = attr(p, d, "activityRef");
    if (id) {
      struct id_entry *r = ref(p, id, ID_ELEMENT);
      if (!r)
        problem(p, &w, "activityRef '%s' does not name an activity of this file", id);
      else
        e->compensation_activity = (int32_t)r->index;
    }
    break;
  }
  default:
    break;
  }
}

static void parse_events(struct parser *p, const xmlNode *node, struct cf_bpmn_element *e) {
  int count = 0;
  for (xmlNodePtr c = node->children; c && !p->oom; c = c->next) {
    const xmlNode *d = c;
    if (is_bpmn(c, "eventDefinitionRef")) { /* a reference to a definition at definitions level */
      char *id = text(p, c);
      struct id_entry *r = id ? id_find(p, id) : NULL;
      if (!r) {
        struct where w = where_of(p, e);
        problem(p, &w, "eventDefinitionRef '%s' does not name an event definition of this file", id ? id : "");
        continue;
      }
      d = r->node;
    }
    int k = event_kind(d);
    if (k < 0) continue;
    count++;
    e->event = (uint8_t)k;
    parse_event_def(p, d, (uint8_t)k, e);
  }
  if (count > 1) e->event = CF_BPMN_EVENT_MULTIPLE;
}

/* ================================================================ filling */

static void fill_element(struct parser *p, uint32_t i) {
  struct cf_bpmn_model *m = p->m;
  struct cf_bpmn_element *e = &m->elements[i];
  const struct item *it = &p->els.v[i];
  xmlNodePtr n = it->node;
  struct where w = where_of(p, e);

  switch (e->type) {
  case CF_BPMN_START_EVENT:
    e->interrupting = !attr_false(n, "isInterrupting");
    /* fall through */
  case CF_BPMN_END_EVENT:
  case CF_BPMN_INTERMEDIATE_CATCH_EVENT:
  case CF_BPMN_INTERMEDIATE_THROW_EVENT:
    parse_events(p, n, e);
    break;
  case CF_BPMN_BOUNDARY_EVENT: {
    parse_events(p, n, e);
    e->cancel_activity = !attr_false(n, "cancelActivity");
    char *to = attr(p, n, "attachedToRef");
    struct id_entry *r = to ? ref(p, to, ID_ELEMENT) : NULL;
    if (!to) {
      problem(p, &w, "a boundary event must be attached to an activity (attachedToRef is missing)");
    } else if (!r) {
      problem(p, &w, "attachedToRef '%s' does not name an element of this process", to);
    } else {
      const struct cf_bpmn_element *t = &m->elements[r->index];
      if (!cf__bpmn_is_activity(t->type))
        problem(p, &w, "is attached to '%s', a %s: a boundary event can only be attached to an activity", to,
                cf__bpmn_tname(t));
      else if (t->parent != e->parent || t->process != e->process)
        problem(p, &w, "is attached to '%s', which is in another (sub-)process", to);
      else
        e->attached_to = (int32_t)r->index;
    }
    break;
  }
  case CF_BPMN_RECEIVE_TASK:
    parse_message_ref(p, &w, n, e);
    break;
  default:
    break;
  }
  if (cf__bpmn_is_activity(e->type)) {
    e->is_for_compensation = attr_is(n, "isForCompensation", "true");
    parse_loop(p, n, e);
  }
  parse_extensions(p, n, e);
}

/*
 * A compensation boundary event names its handler through an association
 * (an artifact, not a flow): boundary -> activity with isForCompensation.
 */
static void fill_compensation(struct parser *p) {
  struct cf_bpmn_model *m = p->m;
  for (size_t k = 0; k < p->assocs.n && !p->oom; k++) {
    char *src = attr(p, p->assocs.v[k].node, "sourceRef");
    char *dst = attr(p, p->assocs.v[k].node, "targetRef");
    struct id_entry *a = src ? ref(p, src, ID_ELEMENT) : NULL;
    struct id_entry *b = dst ? ref(p, dst, ID_ELEMENT) : NULL;
    if (!a || !b) continue; /* an association to a text annotation, say */
    struct cf_bpmn_element *from = &m->elements[a->index];
    const struct cf_bpmn_element *to = &m->elements[b->index];
    if (from->type == CF_BPMN_BOUNDARY_EVENT && from->event == CF_BPMN_EVENT_COMPENSATION &&
        to->is_for_compensation)
      from->compensation_handler = (int32_t)b->index;
  }
  for (uint32_t i = 0; i < m->nelements; i++) {
    const struct cf_bpmn_element *e = &m->elements[i];
    if (e->type == CF_BPMN_BOUNDARY_EVENT && e->event == CF_BPMN_EVENT_COMPENSATION &&
        e->compensation_handler < 0 && m->processes[e->process].executable) {
      struct where w = where_of(p, e);
      problem(p, &w, "a compensation boundary event needs an association to its handler "
                     "(an activity with isForCompensation=\"true\")");
    }
  }
}

static void fill_flow(struct parser *p, uint32_t i) {
  struct cf_bpmn_model *m = p->m;
  struct cf_bpmn_flow *f = &m->flows[i];
  const struct item *it = &p->flows.v[i];
  struct where w = {f->line, f->id, "sequenceFlow", m->processes[it->process].executable};
  f->source = f->target = UINT32_MAX;
  const char *names[2] = {"sourceRef", "targetRef"};
  uint32_t *ends[2] = {&f->source, &f->target};
  for (int k = 0; k < 2; k++) {
    char *id = attr(p, it->node, names[k]);
    struct id_entry *r = id ? ref(p, id, ID_ELEMENT) : NULL;
    if (!id || !*id) {
      problem(p, &w, "a sequence flow needs a %s", names[k]);
    } else if (!r) {
      problem(p, &w, "%s '%s' does not name a flow element of this process", names[k], id);
    } else {
      const struct cf_bpmn_element *e = &m->elements[r->index];
      if (e->process != it->process || e->parent != it->parent)
        problem(p, &w, "%s '%s' is in another (sub-)process: a sequence flow cannot cross a sub-process boundary",
                names[k], id);
      else
        *ends[k] = r->index;
    }
  }
  xmlNodePtr ce = child(it->node, is_bpmn, "conditionExpression");
  if (ce) {
    char *t = text(p, ce);
    if (t && *t) {
      value_text(p, &w, "condition", t, &f->condition);
      /*
       * Camunda 8 reads a condition without '=' as a static value, which is
       * no condition at all, and refuses it; so do we (the text is most
       * likely a Camunda 7 or Signavio expression).
       */
      if (t[0] != '=' && w.exec)
        problem(p, &w, "condition \"%.*s\" must be a FEEL expression starting with '='", QUOTE_MAX, t);
    }
  }
}

/* The default attribute of a gateway or activity. */
static void fill_default(struct parser *p, uint32_t i) {
  struct cf_bpmn_element *e = &p->m->elements[i];
  char *id = attr(p, p->els.v[i].node, "default");
  if (!id || !*id) return;
  struct id_entry *r = ref(p, id, ID_FLOW);
  if (!r || p->m->flows[r->index].source != i) {
    struct where w = where_of(p, e);
    problem(p, &w, "default flow '%s' is not an outgoing sequence flow of this element", id);
    return;
  }
  e->default_flow = (int32_t)r->index;
  /* Its condition is never evaluated (as in Camunda 8): the engine never sees one. */
  p->m->flows[r->index].condition = (struct cf_bpmn_value){NULL, NULL};
}

/* Lists of flow indices per element (incoming, outgoing) and element indices (children, boundaries). */
static void fill_lists(struct parser *p) {
  struct cf_bpmn_model *m = p->m;
  for (uint32_t i = 0; i < m->nflows; i++) {
    const struct cf_bpmn_flow *f = &m->flows[i];
    if (f->source == UINT32_MAX || f->target == UINT32_MAX) continue;
    m->elements[f->source].noutgoing++;
    m->elements[f->target].nincoming++;
  }
  for (uint32_t i = 0; i < m->nelements; i++) {
    struct cf_bpmn_element *e = &m->elements[i];
    if (e->parent >= 0)
      m->elements[e->parent].nchildren++;
    else
      m->processes[e->process].nelements++;
    if (e->attached_to >= 0) m->elements[e->attached_to].nboundaries++;
  }
  for (uint32_t i = 0; i < m->nprocesses; i++) {
    struct cf_bpmn_process *pr = &m->processes[i];
    if (pr->nelements && !(pr->elements = cf__bpmn_arena_array(p->a, pr->nelements, sizeof(uint32_t)))) goto oom;
    pr->nelements = 0;
  }
  for (uint32_t i = 0; i < m->nelements; i++) {
    struct cf_bpmn_element *e = &m->elements[i];
    if ((e->nincoming && !(e->incoming = cf__bpmn_arena_array(p->a, e->nincoming, sizeof(uint32_t)))) ||
        (e->noutgoing && !(e->outgoing = cf__bpmn_arena_array(p->a, e->noutgoing, sizeof(uint32_t)))) ||
        (e->nchildren && !(e->children = cf__bpmn_arena_array(p->a, e->nchildren, sizeof(uint32_t)))) ||
        (e->nboundaries && !(e->boundaries = cf__bpmn_arena_array(p->a, e->nboundaries, sizeof(uint32_t)))))
      goto oom;
    e->nincoming = e->noutgoing = e->nchildren = e->nboundaries = 0;
  }
  for (uint32_t i = 0; i < m->nflows; i++) {
    const struct cf_bpmn_flow *f = &m->flows[i];
    if (f->source == UINT32_MAX || f->target == UINT32_MAX) continue;
    struct cf_bpmn_element *s = &m->elements[f->source], *t = &m->elements[f->target];
    s->outgoing[s->noutgoing++] = i;
    t->incoming[t->nincoming++] = i;
  }
  for (uint32_t i = 0; i < m->nelements; i++) {
    struct cf_bpmn_element *e = &m->elements[i];
    bool none_start = e->type == CF_BPMN_START_EVENT && e->event == CF_BPMN_EVENT_NONE;
    if (e->parent >= 0) {
      struct cf_bpmn_element *c = &m->elements[e->parent];
      c->children[c->nchildren++] = i;
      if (none_start && c->none_start < 0) c->none_start = (int32_t)i;
    } else {
      struct cf_bpmn_process *pr = &m->processes[e->process];
      pr->elements[pr->nelements++] = i;
      if (none_start && pr->none_start < 0) pr->none_start = (int32_t)i;
    }
    if (e->attached_to >= 0) {
      struct cf_bpmn_element *act = &m->elements[e->attached_to];
      act->boundaries[act->nboundaries++] = i;
    }
  }
  return;
oom:
  oom(p);
}

/* The process's zeebe:versionTag value. */
static char *version_tag(struct parser *p, const xmlNode *proc) {
  xmlNodePtr ext = child(proc, is_bpmn, "extensionElements");
  xmlNodePtr vt = ext ? child(ext, is_zeebe, "versionTag") : NULL;
  return vt ? attr(p, vt, "value") : NULL;
}

static void build(struct parser *p, xmlNodePtr defs) {
  struct cf_bpmn_model *m = p->m;
  struct where dw = {cf__bpmn_xml_line(defs), NULL, NULL, true};

  if (ids_build(p, defs)) return;

  /* Global definitions that events refer to. */
  static const struct {
    const char *name;
    uint8_t kind;
  } globals[] = {{"message", ID_MESSAGE}, {"error", ID_ERROR}, {"signal", ID_SIGNAL}, {"escalation", ID_ESCALATION}};
  for (xmlNodePtr c = defs->children; c && !p->oom; c = c->next) {
    for (size_t k = 0; k < sizeof globals / sizeof *globals; k++)
      if (is_bpmn(c, globals[k].name)) {
        char *id = attr(p, c, "id");
        if (id) ids_claim(p, c, id, globals[k].kind, 0);
      }
    if (!is_bpmn(c, "process")) continue;
    if (p->nproc == p->capproc) {
      size_t cap = p->capproc ? p->capproc * 2 : 4;
      xmlNodePtr *n = cf_realloc(p->proc_nodes, cap * sizeof *n);
      if (!n) {
        oom(p);
        return;
      }
      p->proc_nodes = n;
      p->capproc = cap;
    }
    p->proc_nodes[p->nproc++] = c;
  }
  for (size_t i = 0; i < p->nproc && !p->oom; i++) collect(p, p->proc_nodes[i], (uint32_t)i, -1);
  if (p->oom) return;
  /* Embedded forms (zeebe:userTaskForm, in a process's extensionElements). */
  size_t nforms = 0;
  for (size_t i = 0; i < p->nproc; i++) {
    xmlNodePtr ext = child(p->proc_nodes[i], is_bpmn, "extensionElements");
    for (xmlNodePtr f = ext ? ext->children : NULL; f; f = f->next) nforms += is_zeebe(f, "userTaskForm");
  }
  if (nforms && !(m->forms = cf__bpmn_arena_array(p->a, nforms, sizeof *m->forms))) {
    oom(p);
    return;
  }
  for (size_t i = 0; i < p->nproc && !p->oom; i++) {
    xmlNodePtr ext = child(p->proc_nodes[i], is_bpmn, "extensionElements");
    for (xmlNodePtr f = ext ? ext->children : NULL; f && !p->oom; f = f->next) {
      if (!is_zeebe(f, "userTaskForm")) continue;
      struct cf_bpmn_form *form = &m->forms[m->nforms];
      form->id = attr(p, f, "id");
      form->json = text(p, f);
      if (form->id && form->json) m->nforms++;
    }
  }

  m->nprocesses = (uint32_t)p->nproc;
  m->nelements = (uint32_t)p->els.n;
  m->nflows = (uint32_t)p->flows.n;
  if ((m->nprocesses && !(m->processes = cf__bpmn_arena_array(p->a, m->nprocesses, sizeof *m->processes))) ||
      (m->nelements && !(m->elements = cf__bpmn_arena_array(p->a, m->nelements, sizeof *m->elements))) ||
      (m->nflows && !(m->flows = cf__bpmn_arena_array(p->a, m->nflows, sizeof *m->flows)))) {
    oom(p);
    return;
  }

  bool any_exec = false;
  for (uint32_t i = 0; i < m->nprocesses && !p->oom; i++) {
    struct cf_bpmn_process *pr = &m->processes[i];
    xmlNodePtr n = p->proc_nodes[i];
    pr->line = cf__bpmn_xml_line(n);
    pr->id = attr(p, n, "id");
    pr->name = attr(p, n, "name");
    pr->executable = attr_is(n, "isExecutable", "true");
    pr->version_tag = version_tag(p, n);
    pr->none_start = -1;
    any_exec |= pr->executable;
    if (!pr->id) {
      struct where w = {pr->line, NULL, "process", true};
      problem(p, &w, "a process needs an id");
      pr->id = dup(p, "");
    } else {
      ids_claim(p, n, pr->id, ID_PROCESS, i);
    }
  }
  for (uint32_t i = 0; i < m->nelements && !p->oom; i++) {
    struct cf_bpmn_element *e = &m->elements[i];
    const struct item *it = &p->els.v[i];
    e->line = cf__bpmn_xml_line(it->node);
    e->type = it->type;
    e->event = CF_BPMN_EVENT_NONE;
    e->process = it->process;
    e->parent = it->parent;
    e->default_flow = e->none_start = e->attached_to = e->compensation_activity = -1;
    e->compensation_handler = -1;
    e->cancel_activity = e->interrupting = true;
    e->propagate_all_child_variables = e->propagate_all_parent_variables = true;
    e->name = attr(p, it->node, "name");
    e->id = attr(p, it->node, "id");
    if (!e->id) {
      struct where w = {e->line, NULL, cf__bpmn_tname(e), true};
      problem(p, &w, "a %s needs an id", cf__bpmn_tname(e));
      e->id = dup(p, "");
    } else {
      ids_claim(p, it->node, e->id, ID_ELEMENT, i);
    }
  }
  for (uint32_t i = 0; i < m->nflows && !p->oom; i++) {
    struct cf_bpmn_flow *f = &m->flows[i];
    const struct item *it = &p->flows.v[i];
    f->line = cf__bpmn_xml_line(it->node);
    f->name = attr(p, it->node, "name");
    f->id = attr(p, it->node, "id");
    if (!f->id) {
      struct where w = {f->line, NULL, "sequenceFlow", true};
      problem(p, &w, "a sequence flow needs an id");
      f->id = dup(p, "");
    } else {
      ids_claim(p, it->node, f->id, ID_FLOW, i);
    }
  }
  if (p->oom) return;

  for (uint32_t i = 0; i < m->nflows && !p->oom; i++) fill_flow(p, i);
  for (uint32_t i = 0; i < m->nelements && !p->oom; i++) fill_element(p, i);
  for (uint32_t i = 0; i < m->nelements && !p->oom; i++)
    if (cf__bpmn_is_gateway(m->elements[i].type) || cf__bpmn_is_activity(m->elements[i].type)) fill_default(p, i);
  if (p->oom) return;
  fill_lists(p);
  if (p->oom) return;
  fill_compensation(p);

  if (!any_exec)
    problem(p, &dw,
            m->nprocesses ? "no executable process: set isExecutable=\"true\" on the process to deploy "
                            "(Camunda 8 refuses such a file too)"
                          : "no executable process: the file has no bpmn:process");
}

/* ================================================================== entry */

struct keyed {
  struct cf_bpmn_problem p;
  size_t order;
};

static int by_line(const void *a, const void *b) {
  const struct keyed *x = a, *y = b;
  if (x->p.line != y->p.line) return x->p.line < y->p.line ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* Problems from index `from` on, by line (stably): the order a user reads the file in. */
static void sort_problems(struct cf_bpmn_problems *problems, size_t from) {
  size_t n = problems->count - from;
  if (n < 2) return;
  struct keyed *k = cf_malloc(n * sizeof *k);
  if (!k) return; /* unsorted is still right */
  for (size_t i = 0; i < n; i++) k[i] = (struct keyed){problems->items[from + i], i};
  qsort(k, n, sizeof *k, by_line);
  for (size_t i = 0; i < n; i++) problems->items[from + i] = k[i].p;
  cf_free(k);
}

struct cf_bpmn_model *cf_bpmn_parse(const char *xml, size_t len, const char *resource_name,
                                    struct cf_bpmn_problems *problems) {
  return cf__bpmn_parse(xml, len, resource_name, problems, true);
}

struct cf_bpmn_model *cf__bpmn_parse(const char *xml, size_t len, const char *resource_name,
                                     struct cf_bpmn_problems *problems, bool support) {
  size_t before = problems->count;
  struct parser p = {.problems = problems};
  struct cf_bpmn_model *m = NULL;
  xmlDocPtr doc = cf__bpmn_xml_read(xml, len, problems);
  if (!doc) goto out;

  xmlNodePtr root = xmlDocGetRootElement(doc);
  if (!is_bpmn(root, "definitions")) {
    const char *ns = root && root->ns && root->ns->href ? (const char *)root->ns->href : "no namespace";
    cf__bpmn_problem(problems, root ? cf__bpmn_xml_line(root) : 0, NULL, NULL,
                     "not a BPMN 2.0 model: the root element is %s (%s), not definitions (" NS_BPMN ")",
                     root ? lname(root) : "missing", ns);
    goto out;
  }
  p.a = cf__bpmn_arena_create();
  if (!p.a || !(m = cf__bpmn_arena_alloc(p.a, sizeof *m))) {
    oom(&p);
    goto out;
  }
  p.m = m;
  m->arena = p.a;
  if (resource_name && !(m->resource_name = dup(&p, resource_name))) goto out;

  build(&p, root);
  /* Validation copes with the dangling references reported above, so every problem shows at once. */
  if (!p.oom && cf__bpmn_validate(m, problems, support)) oom(&p);
  if (!p.oom && problems->count == before && cf__bpmn_arena_index(p.a, m)) oom(&p);

out:
  cf_free(p.els.v);
  cf_free(p.flows.v);
  cf_free(p.assocs.v);
  cf_free(p.proc_nodes);
  xmlFreeDoc(doc);
  if (p.oom || problems->count != before) {
    if (problems->count == before) cf__bpmn_problem_oom(problems);
    sort_problems(problems, before);
    if (m)
      cf_bpmn_model_free(m);
    else
      cf__bpmn_arena_free(p.a);
    return NULL;
  }
  return m;
}
