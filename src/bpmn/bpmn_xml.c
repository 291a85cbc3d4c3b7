/*
 * BPMN bytes -> libxml2 tree, defensively.
 *
 * A model arrives from a user, an editor or the network, so the reader
 * assumes hostile bytes:
 *   - no network (XML_PARSE_NONET), no DTD loading, no entity substitution;
 *   - a DOCTYPE is refused outright, from the SAX callback that announces it,
 *     before the internal subset (where entities would be declared) is read:
 *     a BPMN file never needs one, so XXE and "billion laughs" never start;
 *   - size, nesting depth and element count are limited (cf_bpmn.h), the last
 *     two counted in our SAX start-element hook, which stops the parser at
 *     once, so a hostile file never grows a large tree;
 *   - errors go to a structured handler on this parser context only (no
 *     global libxml2 handler is set; the per-thread generic handler is
 *     silenced for the duration of the call and restored).
 */
#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "bpmn/bpmn_xml.h"

/* libxml2's own errors after the first few add nothing a user can act on. */
#define MAX_XML_ERRORS 10

struct reader {
  struct cf_bpmn_problems *problems;
  unsigned depth;
  unsigned long elements;
  unsigned nerrors;
  bool stopped; /* we stopped the parser; the reason is recorded */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static void init_libxml(void) { xmlInitParser(); }

static void stop(xmlParserCtxtPtr ctxt, struct reader *r) {
  r->stopped = true;
  xmlStopParser(ctxt);
}

/*
 * libxml2 calls startElementNs once the start tag is read, so the input line
 * is that of its end. A start tag may span lines (bpmn:definitions always
 * does), and a user looks for the '<': count the newlines back to it. A raw
 * '<' cannot occur inside a start tag, so the first one found is its start.
 */
static int start_tag_line(xmlParserCtxtPtr ctxt) {
  xmlParserInputPtr in = ctxt->input;
  if (!in) return 0;
  int line = in->line;
  if (!in->base || !in->cur) return line;
  int newlines = 0;
  for (const xmlChar *p = in->cur; p > in->base;) {
    p--;
    if (*p == '<') return line - newlines > 0 ? line - newlines : line;
    if (*p == '\n') newlines++;
  }
  return line; /* the buffer no longer holds the '<': the end line will do */
}

static void on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                     int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
                     const xmlChar **attributes) {
  xmlParserCtxtPtr ctxt = ctx;
  struct reader *r = ctxt->_private;
  if (r->stopped) return;
  int line = start_tag_line(ctxt);
  r->depth++;
  r->elements++;
  if (r->depth > CF_BPMN_MAX_DEPTH) {
    cf__bpmn_problem(r->problems, line, NULL, NULL,
                     "elements are nested more than %d deep (the limit for a model)", CF_BPMN_MAX_DEPTH);
    stop(ctxt, r);
    return;
  }
  if (r->elements > CF_BPMN_MAX_ELEMENTS) {
    cf__bpmn_problem(r->problems, line, NULL, NULL,
                     "the document has more than %d XML elements (the limit for a model)", CF_BPMN_MAX_ELEMENTS);
    stop(ctxt, r);
    return;
  }
  xmlNodePtr parent = ctxt->node;
  xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes, nb_defaulted,
                        attributes);
  if (ctxt->node && ctxt->node != parent) ctxt->node->_private = (void *)(intptr_t)line;
}

static void on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri) {
  xmlParserCtxtPtr ctxt = ctx;
  struct reader *r = ctxt->_private;
  if (r->stopped) return;
  if (r->depth) r->depth--;
  xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id) {
  xmlParserCtxtPtr ctxt = ctx;
  struct reader *r = ctxt->_private;
  if (r->stopped) return;
  cf__bpmn_problem(r->problems, ctxt->input ? ctxt->input->line : 0, NULL, NULL,
                   "the document has a DOCTYPE: a BPMN model never needs one, and crmflow refuses DTDs and "
                   "entity declarations (they can read files or expand without bound)");
  stop(ctxt, r);
}

static void on_error(void *data, xmlErrorPtr e) {
  if (!e) return;
  xmlParserCtxtPtr ctxt = e->ctxt ? (xmlParserCtxtPtr)e->ctxt : (xmlParserCtxtPtr)data;
  if (!ctxt || !ctxt->_private) return;
  struct reader *r = ctxt->_private;
  if (r->stopped || e->level < XML_ERR_ERROR) return;
  if (e->code == XML_ERR_NO_MEMORY) {
    cf__bpmn_problem_oom(r->problems);
    r->nerrors++;
    return;
  }
  if (r->nerrors++ >= MAX_XML_ERRORS) return;
  const char *msg = e->message ? e->message : "not well-formed XML";
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ' || msg[n - 1] == '\r')) n--;
  if (e->int2 > 0)
    cf__bpmn_problem(r->problems, e->line, NULL, NULL, "%.*s (column %d)", (int)n, msg, e->int2);
  else
    cf__bpmn_problem(r->problems, e->line, NULL, NULL, "%.*s", (int)n, msg);
}

/* Stands in for the per-thread generic handler, which some paths use directly. */
static void quiet(void *ctx, const char *msg, ...) {}

int cf__bpmn_xml_line(const xmlNode *n) {
  intptr_t l = (intptr_t)n->_private;
  if (l > 0 && l <= INT32_MAX) return (int)l;
  long x = xmlGetLineNo(n);
  return x > 0 && x <= INT32_MAX ? (int)x : 0;
}

xmlDocPtr cf__bpmn_xml_read(const char *xml, size_t len, struct cf_bpmn_problems *problems) {
  if (len > CF_BPMN_MAX_BYTES) {
    cf__bpmn_problem(problems, 0, NULL, NULL, "the document is %zu bytes, more than the %u bytes a model may have",
                     len, CF_BPMN_MAX_BYTES);
    return NULL;
  }
  pthread_once(&init_once, init_libxml);

  xmlGenericErrorFunc saved_generic = xmlGenericError;
  void *saved_generic_ctx = xmlGenericErrorContext;
  xmlSetGenericErrorFunc(NULL, quiet);

  struct reader r = {.problems = problems};
  size_t before = problems->count;
  xmlDocPtr doc = NULL;
  xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
  if (!ctxt) {
    cf__bpmn_problem_oom(problems);
    goto out;
  }
  ctxt->_private = &r;
  ctxt->sax->startElementNs = on_start;
  ctxt->sax->endElementNs = on_end;
  ctxt->sax->internalSubset = on_doctype;
  ctxt->sax->externalSubset = NULL;
  ctxt->sax->serror = on_error;

  /*
   * Deliberately absent: XML_PARSE_NOENT (entity substitution),
   * XML_PARSE_DTDLOAD, XML_PARSE_DTDATTR, XML_PARSE_DTDVALID, XML_PARSE_XINCLUDE,
   * XML_PARSE_HUGE (it would lift libxml2's own limits) and XML_PARSE_RECOVER.
   */
  int opts = XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOCDATA | XML_PARSE_BIG_LINES;
  doc = xmlCtxtReadMemory(ctxt, len ? xml : "", (int)len, NULL, NULL, opts);

  bool refused = r.stopped || r.nerrors > 0 || !doc || !ctxt->wellFormed || !ctxt->nsWellFormed;
  if (refused) {
    if (problems->count == before) {
      const xmlError *last = &ctxt->lastError;
      if (last->code != XML_ERR_OK && last->message)
        on_error(ctxt, (xmlErrorPtr)last);
      if (problems->count == before)
        cf__bpmn_problem(problems, ctxt->input ? ctxt->input->line : 0, NULL, NULL, "not well-formed XML");
    }
    xmlFreeDoc(doc);
    doc = NULL;
  }

out:
  if (ctxt) {
    ctxt->_private = NULL;
    xmlFreeParserCtxt(ctxt);
  }
  xmlSetGenericErrorFunc(saved_generic_ctx, saved_generic);
  return doc;
}
