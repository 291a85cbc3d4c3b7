#include "base/cf_json.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "base/cf_buf.h"

/*
 * json-c clamps an integer literal beyond 64 bits to UINT64_MAX (or INT64_MIN),
 * but keeps the text of a number with an exponent. So a long integer (more
 * than 18 digits) gets the marker "E+0" appended before parsing (outside
 * strings only): the value is unchanged, json-c keeps the text, and
 * strip_markers() takes the marker off the parsed numbers again, so
 * cf_json_number_text() gives back exactly what the input said. Only whole
 * number tokens of plain digits are marked: the digits of a fraction or an
 * exponent ("0.1234567890123456789012") are left alone, as are strings.
 */
#define MARKER "E+0"
#define MARKER_LEN 3

/* Whether text[0..n) is a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number(const char *t, size_t n) {
  size_t i = 0, d;
  if (i < n && t[i] == '-') i++;
  if (i < n && t[i] == '0') i++;
  else {
    for (d = 0; i < n && t[i] >= '0' && t[i] <= '9'; i++) d++;
    if (!d) return false;
  }
  if (i < n && t[i] == '.') {
    for (i++, d = 0; i < n && t[i] >= '0' && t[i] <= '9'; i++) d++;
    if (!d) return false;
  }
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    i++;
    if (i < n && (t[i] == '+' || t[i] == '-')) i++;
    for (d = 0; i < n && t[i] >= '0' && t[i] <= '9'; i++) d++;
    if (!d) return false;
  }
  return i == n;
}

/*
 * One pass over the text outside strings. It refuses what json-c lets through
 * even in strict mode but JSON does not allow (NaN, Infinity, "1.", "00",
 * single-quoted keys, raw control characters in strings): those would reach
 * the exact decimals as numbers FEEL has not got. It also counts the markers
 * the text needs and, if ends is not NULL, stores the first max of their
 * positions (the original offsets of the token ends), in order.
 * CF_OK, or CF_ESYNTAX with err naming the byte.
 */
static int scan_text(const char *text, size_t len, size_t *ends, size_t max, size_t *nmarkers,
                     struct cf_error *err) {
  size_t n = 0;
  bool in_str = false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    if (in_str) {
      if (c == '\\') i++;
      else if (c == '"') in_str = false;
      else if (c < 0x20)
        return cf_error_set(err, CF_ESYNTAX, "invalid JSON at byte %zu: control character in string", i);
      continue;
    }
    if (c == '"') {
      in_str = true;
    } else if (c == '\'') {
      return cf_error_set(err, CF_ESYNTAX, "invalid JSON at byte %zu: single quote", i);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t j = i, digits = 0;
      if (text[j] == '-') j++;
      while (j < len && text[j] >= '0' && text[j] <= '9') j++, digits++;
      bool plain = true;
      while (j < len && ((text[j] >= '0' && text[j] <= '9') || text[j] == '.' || text[j] == 'e' ||
                         text[j] == 'E' || text[j] == '+' || text[j] == '-')) {
        plain = false;
        j++;
      }
      if (!json_number(text + i, j - i))
        return cf_error_set(err, CF_ESYNTAX, "invalid JSON at byte %zu: invalid number", i);
      if (plain && digits > 18) {
        if (ends && n < max) ends[n] = j;
        n++;
      }
      i = j - 1;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      size_t j = i;
      while (j < len && ((text[j] >= 'a' && text[j] <= 'z') || (text[j] >= 'A' && text[j] <= 'Z')))
        j++;
      /* A word cut short by the end of the text is json-c's to report (end of input). */
      bool word = (j - i == 4 && (!memcmp(text + i, "true", 4) || !memcmp(text + i, "null", 4))) ||
                  (j - i == 5 && !memcmp(text + i, "false", 5)) ||
                  (j == len && (!strncmp("true", text + i, j - i) ||
                                !strncmp("null", text + i, j - i) ||
                                !strncmp("false", text + i, j - i)));
      if (!word)
        return cf_error_set(err, CF_ESYNTAX, "invalid JSON at byte %zu: unexpected word", i);
      i = j - 1;
    }
  }
  *nmarkers = n;
  return CF_OK;
}

/*
 * Checks the text (scan_text) and makes the widened copy of it in *out (NULL
 * when nothing needs a marker) with the marker positions (original offsets)
 * in *ends_out. CF_ESYNTAX or CF_ENOMEM with err set.
 */
static int widen_long_integers(const char *text, size_t len, char **out, size_t **ends_out,
                               size_t *nends, struct cf_error *err) {
  *out = NULL;
  *ends_out = NULL;
  int rc = scan_text(text, len, NULL, 0, nends, err);
  if (rc) return rc;
  if (!*nends) return CF_OK;
  size_t *ends = cf_malloc(*nends * sizeof *ends);
  char *w = cf_malloc(len + *nends * MARKER_LEN + 1);
  if (!ends || !w) {
    cf_free(ends);
    cf_free(w);
    return cf_error_set(err, CF_ENOMEM, "out of memory");
  }
  scan_text(text, len, ends, *nends, nends, NULL);
  size_t o = 0, prev = 0;
  for (size_t k = 0; k < *nends; k++) {
    memcpy(w + o, text + prev, ends[k] - prev);
    o += ends[k] - prev;
    memcpy(w + o, MARKER, MARKER_LEN);
    o += MARKER_LEN;
    prev = ends[k];
  }
  memcpy(w + o, text + prev, len - prev);
  o += len - prev;
  w[o] = '\0';
  *out = w;
  *ends_out = ends;
  return CF_OK;
}

/* Maps an offset in the widened text back to the caller's text. */
static size_t original_offset(size_t off, const size_t *ends, size_t nends) {
  size_t shift = 0;
  for (size_t k = 0; k < nends; k++) {
    size_t at = ends[k] + shift; /* where marker k starts in the widened text */
    if (off < at) break;
    if (off < at + MARKER_LEN) return ends[k];
    shift += MARKER_LEN;
  }
  return off - shift;
}

static int number_serializer(struct json_object *jso, struct printbuf *pb, int level, int flags);
static void number_free_userdata(struct json_object *jso, void *userdata);

/* Takes the markers off the numbers of a parsed tree. CF_ENOMEM. */
static int strip_markers(struct json_object *obj) {
  switch (json_object_get_type(obj)) {
    case json_type_double: {
      const char *t = json_object_get_string(obj);
      size_t n = t ? strlen(t) : 0;
      if (n <= MARKER_LEN || memcmp(t + n - MARKER_LEN, MARKER, MARKER_LEN) != 0) return CF_OK;
      for (size_t i = (t[0] == '-'); i < n - MARKER_LEN; i++)
        if (t[i] < '0' || t[i] > '9') return CF_OK;
      char *copy = cf_strndup(t, n - MARKER_LEN);
      if (!copy) return CF_ENOMEM;
      json_object_set_serializer(obj, number_serializer, copy, number_free_userdata);
      return CF_OK;
    }
    case json_type_array: {
      size_t n = json_object_array_length(obj);
      for (size_t i = 0; i < n; i++)
        if (strip_markers(json_object_array_get_idx(obj, i))) return CF_ENOMEM;
      return CF_OK;
    }
    case json_type_object: {
      json_object_object_foreach(obj, key, val) {
        (void)key;
        if (strip_markers(val)) return CF_ENOMEM;
      }
      return CF_OK;
    }
    default: return CF_OK;
  }
}

struct json_object *cf_json_parse(const char *text, size_t len, struct cf_error *err) {
  const char *orig = text;
  size_t orig_len = len;
  char *widened = NULL;
  size_t *ends = NULL, nends = 0;
  struct json_object *obj = NULL;
  struct json_tokener *tok = NULL;
  /*
   * json-c spells JSON null as NULL: a caller tells `null` from an error by
   * err->code, which is CF_OK after a successful parse.
   */
  cf_error_clear(err);
  if (len > (size_t)INT32_MAX / 2) {
    cf_error_set(err, CF_ELIMIT, "JSON text too large");
    goto out;
  }
  if (widen_long_integers(text, len, &widened, &ends, &nends, err)) goto out;
  if (widened) {
    text = widened;
    len += nends * MARKER_LEN;
  }
  tok = json_tokener_new_ex(64);
  if (!tok) {
    cf_error_set(err, CF_ENOMEM, "out of memory");
    goto out;
  }
  /* Strict mode refuses what JSON refuses (single quotes, trailing commas...). */
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
  obj = json_tokener_parse_ex(tok, text, (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t end = json_tokener_get_parse_end(tok);
  if (jerr == json_tokener_continue && end == len) {
    /*
     * json-c cannot tell that a number at the very end ("19.99") is complete
     * until it sees a character after it: give it the end-of-text NUL.
     */
    obj = json_tokener_parse_ex(tok, "", 1);
    jerr = json_tokener_get_error(tok);
    if (jerr == json_tokener_error_parse_eof) jerr = json_tokener_continue;
    end = len;
  }
  if (jerr == json_tokener_continue) {
    cf_error_set(err, CF_ESYNTAX, "invalid JSON at byte %zu: unexpected end of input", orig_len);
    json_object_put(obj);
    obj = NULL;
  } else if (jerr != json_tokener_success) {
    size_t off = original_offset(end, ends, nends);
    if (off > orig_len) off = orig_len;
    cf_error_set(err, CF_ESYNTAX, "invalid JSON at byte %zu: %s", off,
                 json_tokener_error_desc(jerr));
    json_object_put(obj);
    obj = NULL;
  } else {
    size_t off = original_offset(end, ends, nends);
    for (size_t i = off; i < orig_len; i++) {
      char c = orig[i];
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
        cf_error_set(err, CF_ESYNTAX, "invalid JSON at byte %zu: trailing text", i);
        json_object_put(obj);
        obj = NULL;
        break;
      }
    }
    if (obj && nends && strip_markers(obj)) {
      cf_error_set(err, CF_ENOMEM, "out of memory");
      json_object_put(obj);
      obj = NULL;
    }
  }
out:
  if (tok) json_tokener_free(tok);
  cf_free(widened);
  cf_free(ends);
  return obj;
}

const char *cf_json_number_text(struct json_object *obj) {
  if (!obj) return NULL;
  enum json_type t = json_object_get_type(obj);
  if (t != json_type_int && t != json_type_double) return NULL;
  return json_object_get_string(obj);
}

static int number_serializer(struct json_object *jso, struct printbuf *pb, int level, int flags) {
  const char *text = json_object_get_userdata(jso);
  return printbuf_memappend(pb, text, (int)strlen(text));
}

static void number_free_userdata(struct json_object *jso, void *userdata) { cf_free(userdata); }

struct json_object *cf_json_new_number(const char *text) {
  /* The double only serves consumers that ask json-c for a double. */
  struct json_object *obj = json_object_new_double(strtod(text, NULL));
  if (!obj) return NULL;
  char *copy = cf_strdup(text);
  if (!copy) {
    json_object_put(obj);
    return NULL;
  }
  json_object_set_serializer(obj, number_serializer, copy, number_free_userdata);
  return obj;
}

char *cf_json_dump(struct json_object *obj) {
  const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  return s ? cf_strdup(s) : NULL;
}

/* ------------------------------------------------------------ erasure */

/* Appends src (len bytes) to out with every occurrence of one of pats (their lens) replaced by rep. */
static void replace_all(struct cf_buf *out, const char *src, size_t len, char *const *pats, const size_t *lens,
                        size_t n, const char *rep, size_t rep_len, size_t *count) {
  size_t i = 0;
  while (i < len) {
    size_t best = 0;
    for (size_t k = 0; k < n; k++)
      if (lens[k] && lens[k] <= len - i && lens[k] > best && !memcmp(src + i, pats[k], lens[k])) best = lens[k];
    if (best) {
      cf_buf_append(out, rep, rep_len);
      (*count)++;
      i += best;
    } else {
      cf_buf_putc(out, src[i++]);
    }
  }
}

char *cf_str_erase(const char *s, const char *const *values, size_t n, const char *marker, size_t *count) {
  size_t *lens = cf_calloc(n ? n : 1, sizeof *lens);
  if (!lens) return NULL;
  for (size_t k = 0; k < n; k++) lens[k] = values[k] ? strlen(values[k]) : 0;
  struct cf_buf out;
  cf_buf_init(&out);
  replace_all(&out, s, strlen(s), (char *const *)values, lens, n, marker, strlen(marker), count);
  cf_buf_putc(&out, '\0');
  cf_free(lens);
  if (out.oom) {
    cf_buf_release(&out);
    return NULL;
  }
  return cf_buf_detach(&out);
}

char *cf_json_erase_strings(const char *text, size_t len, const char *const *values, size_t n, const char *marker,
                            size_t *count) {
  /* The values and the marker as they appear inside a JSON string (escaped, without the quotes). */
  char **pats = cf_calloc(n ? n : 1, sizeof *pats);
  size_t *lens = cf_calloc(n ? n : 1, sizeof *lens);
  struct cf_buf tmp, rep, out;
  cf_buf_init(&tmp);
  cf_buf_init(&rep);
  cf_buf_init(&out);
  bool oom = !pats || !lens;
  for (size_t k = 0; k < n && !oom; k++) {
    if (!values[k] || !*values[k]) continue;
    cf_buf_reset(&tmp);
    cf_buf_json_string(&tmp, values[k], strlen(values[k]));
    if (tmp.oom || tmp.len < 2 || !(pats[k] = cf_malloc(tmp.len - 1))) {
      oom = true;
      break;
    }
    memcpy(pats[k], tmp.data + 1, tmp.len - 2);
    lens[k] = tmp.len - 2;
  }
  cf_buf_json_string(&rep, marker, strlen(marker));
  oom = oom || rep.oom;
  size_t i = 0;
  while (!oom && i < len) {
    if (text[i] != '"') {
      cf_buf_putc(&out, text[i++]);
      continue;
    }
    /* A string token: its end, past escapes. */
    size_t j = i + 1;
    while (j < len && text[j] != '"') j += text[j] == '\\' ? 2 : 1;
    if (j >= len) j = len - 1;
    size_t after = j + 1;
    while (after < len && (text[after] == ' ' || text[after] == '\n' || text[after] == '\t' || text[after] == '\r'))
      after++;
    bool key = after < len && text[after] == ':';
    cf_buf_putc(&out, '"');
    if (key) cf_buf_append(&out, text + i + 1, j - i - 1);
    else replace_all(&out, text + i + 1, j - i - 1, pats, lens, n, rep.data + 1, rep.len - 2, count);
    if (j > i && j < len && text[j] == '"') cf_buf_putc(&out, '"');
    i = j + 1;
  }
  cf_buf_putc(&out, '\0');
  for (size_t k = 0; pats && k < n; k++) cf_free(pats[k]);
  cf_free(pats);
  cf_free(lens);
  cf_buf_release(&tmp);
  cf_buf_release(&rep);
  if (oom || out.oom) {
    cf_buf_release(&out);
    return NULL;
  }
  return cf_buf_detach(&out);
}
