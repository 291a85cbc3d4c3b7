/*
 * JSON helpers over json-c.
 *
 * json-c keeps the source text of every parsed number, so a number read from
 * a request ("19.99", "12345678901234567891") can become an exact decimal
 * instead of a double. cf_json_number_text() gives that text back; callers
 * that need exact numbers must use it rather than json_object_get_double().
 * To write an exact number, cf_json_new_number() makes a json-c number whose
 * serialization is exactly the given text.
 */
#ifndef CF_BASE_JSON_H
#define CF_BASE_JSON_H

#include <json-c/json.h>
#include <stddef.h>

#include "crmflow/cf_error.h"

/*
 * Parses text (len bytes; it need not be NUL-terminated) as one JSON value.
 * Returns a new reference, or NULL with err saying what is wrong and at which
 * byte offset. Trailing non-space text is an error. JSON null gives NULL
 * with err->code == CF_OK (json-c spells null as a NULL pointer).
 */
struct json_object *cf_json_parse(const char *text, size_t len, struct cf_error *err);

/*
 * The decimal text of a json-c number as it was parsed (or as json-c prints
 * it for a number built in memory). Borrowed; valid while obj lives. NULL if
 * obj is not a number.
 */
const char *cf_json_number_text(struct json_object *obj);

/* A new json-c number that serializes as exactly `text` (a valid JSON number). NULL on oom. */
struct json_object *cf_json_new_number(const char *text);

/* Serializes obj compactly into a new string (caller frees with cf_free). NULL on oom. */
char *cf_json_dump(struct json_object *obj);

/*
 * Personal data erasure on JSON text: in every string value of text (len
 * bytes; member names and everything outside strings untouched), each
 * occurrence of one of values (n plain strings) becomes marker. The text
 * stays valid JSON of the same shape. Returns a new NUL-terminated text
 * (cf_free) and adds the replacements to *count; NULL on oom.
 */
char *cf_json_erase_strings(const char *text, size_t len, const char *const *values, size_t n, const char *marker,
                            size_t *count);

/* The same on a plain string (not JSON): a new string (cf_free), NULL on oom. */
char *cf_str_erase(const char *s, const char *const *values, size_t n, const char *marker, size_t *count);

#endif
