/*
 * Reading the XML of a BPMN document into a libxml2 tree (bpmn_xml.c), for
 * bpmn_parse.c only: the one place besides it that sees libxml2 types.
 */
#ifndef CF_BPMN_XML_H
#define CF_BPMN_XML_H

#include <libxml/tree.h>

#include "bpmn/bpmn_int.h"

/*
 * Parses len bytes of XML into a tree, or returns NULL and appends the
 * reasons to problems (at least one): the size, depth or element-count limit,
 * a DOCTYPE (refused before any entity or DTD is read), or libxml2's own
 * message with its line. No network, no entity substitution, no DTD loading.
 * Errors are captured through the parser context, never printed and never
 * through libxml2's global handlers, so parses in several threads are
 * independent. The tree's element nodes carry the line of their start tag in
 * _private (use cf__bpmn_xml_line). Free the tree with xmlFreeDoc.
 */
xmlDocPtr cf__bpmn_xml_read(const char *xml, size_t len, struct cf_bpmn_problems *problems);

/* The line of an element's start tag (its first line, where the '<' is). */
int cf__bpmn_xml_line(const xmlNode *n);

#endif
