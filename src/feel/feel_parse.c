/*
 * FEEL source -> tree (struct node, feel_ast.h).
 *
 * A hand-written lexer and a recursive-descent parser with one function per
 * precedence level (DMN 1.5 §10.3.1.2 and the precedence table):
 *   if/for/some/every/function < or < and < comparison, between, in,
 *   instance of < + - < * / < ** < unary - < path, filter, call < primary.
 *
 * Names with spaces (`date and time`, `string length`, a variable `Order
 * Total`) cannot be told from a sequence of names by the lexer, so the
 * parser matches the longest known name at each name position: built-in
 * function names, names the caller declared, and names in lexical scope
 * (context entries defined so far, loop variables, function parameters).
 *
 * Nodes live in an arena freed with the expression. Literal values are built
 * here, once, so evaluation never parses text.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/cf_alloc.h"
#include "feel/feel_ast.h"

#define MAX_DEPTH 200

/* ---------------------------------------------------------------- arena */

struct arena_block {
  struct arena_block *next;
  size_t used, cap;
  _Alignas(16) unsigned char data[];
};

static void *arena_alloc(struct cf_feel_expr *e, size_t size) {
  size = (size + 15) & ~(size_t)15;
  struct arena_block *b = e->arena;
  if (!b || b->used + size > b->cap) {
    size_t cap = size > 4000 ? size : 4000;
    b = cf_malloc(sizeof *b + cap);
    if (!b) return NULL;
    b->next = e->arena;
    b->used = 0;
    b->cap = cap;
    e->arena = b;
  }
  void *p = b->data + b->used;
  b->used += size;
  memset(p, 0, size);
  return p;
}

/* ---------------------------------------------------------------- lexer */

enum tok {
  TK_EOF,
  TK_NUM,
  TK_STR,
  TK_NAME,
  TK_BACKTICK, /* `a name` */
  TK_PUNCT,    /* text holds the punctuation */
  TK_ERROR
};

struct token {
  enum tok kind;
  uint32_t start, len; /* in the source */
  char p[3];           /* TK_PUNCT: the punctuation, NUL-terminated */
};

struct parser {
  const char *src;
  uint32_t len;
  uint32_t pos; /* lexer position: start of the next token */
  struct token tok;
  struct cf_feel_expr *e;
  struct cf_error *err;
  bool failed;
  bool nomem;
  bool no_filter; /* parsing the end of an interval: `[1..10[` closes, it is no filter */
  int depth;
  const char *const *known;
  size_t nknown;
  /* names in lexical scope (for names with spaces) */
  const char **scope;
  uint32_t *scope_len;
  size_t nscope, capscope;
};

static bool is_name_start(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_name_part(unsigned char c) {
  return is_name_start(c) || (c >= '0' && c <= '9') || c == '\'';
}

static void line_col(const struct parser *p, uint32_t pos, int *line, int *col) {
  *line = 1;
  *col = 1;
  for (uint32_t i = 0; i < pos && i < p->len; i++) {
    if (p->src[i] == '\n') {
      (*line)++;
      *col = 1;
    } else if (((unsigned char)p->src[i] & 0xC0) != 0x80) {
      (*col)++;
    }
  }
}

static void fail_at(struct parser *p, uint32_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_at(struct parser *p, uint32_t pos, const char *fmt, ...) {
  if (p->failed) return;
  p->failed = true;
  char msg[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  int line, col;
  line_col(p, pos, &line, &col);
  cf_error_set(p->err, CF_ESYNTAX, "syntax error at line %d, column %d: %s", line, col, msg);
}

static void fail_nomem(struct parser *p) {
  if (p->failed) return;
  p->failed = true;
  p->nomem = true;
  cf_error_set(p->err, CF_ENOMEM, "out of memory");
}

static void skip_space(struct parser *p) {
  for (;;) {
    while (p->pos < p->len) {
      unsigned char c = (unsigned char)p->src[p->pos];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
        p->pos++;
      } else if (c == 0xC2 && p->pos + 1 < p->len && (unsigned char)p->src[p->pos + 1] == 0xA0) {
        p->pos += 2; /* no-break space */
      } else {
        break;
      }
    }
    if (p->pos + 1 < p->len && p->src[p->pos] == '/' && p->src[p->pos + 1] == '/') {
      while (p->pos < p->len && p->src[p->pos] != '\n') p->pos++;
      continue;
    }
    if (p->pos + 1 < p->len && p->src[p->pos] == '/' && p->src[p->pos + 1] == '*') {
      uint32_t start = p->pos;
      p->pos += 2;
      while (p->pos + 1 < p->len && !(p->src[p->pos] == '*' && p->src[p->pos + 1] == '/')) p->pos++;
      if (p->pos + 1 >= p->len) {
        fail_at(p, start, "unterminated comment");
        p->pos = p->len;
        return;
      }
      p->pos += 2;
      continue;
    }
    return;
  }
}

/* Reads the next token at p->pos into p->tok and advances past it. */
static void next(struct parser *p) {
  skip_space(p);
  struct token *t = &p->tok;
  t->start = p->pos;
  t->len = 0;
  t->p[0] = '\0';
  if (p->pos >= p->len) {
    t->kind = TK_EOF;
    return;
  }
  const char *s = p->src;
  uint32_t i = p->pos;
  unsigned char c = (unsigned char)s[i];
  if ((c >= '0' && c <= '9') || (c == '.' && i + 1 < p->len && s[i + 1] >= '0' && s[i + 1] <= '9')) {
    while (i < p->len && s[i] >= '0' && s[i] <= '9') i++;
    /* "1..2" is a range, not the number "1." */
    if (i < p->len && s[i] == '.' && !(i + 1 < p->len && s[i + 1] == '.')) {
      i++;
      while (i < p->len && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
      uint32_t j = i + 1;
      if (j < p->len && (s[j] == '+' || s[j] == '-')) j++;
      if (j < p->len && s[j] >= '0' && s[j] <= '9') {
        while (j < p->len && s[j] >= '0' && s[j] <= '9') j++;
        i = j;
      }
    }
    t->kind = TK_NUM;
  } else if (c == '"') {
    i++;
    while (i < p->len && s[i] != '"') {
      if (s[i] == '\\' && i + 1 < p->len) i++;
      i++;
    }
    if (i >= p->len) {
      fail_at(p, p->pos, "unterminated string");
      t->kind = TK_ERROR;
      p->pos = p->len;
      return;
    }
    i++;
    t->kind = TK_STR;
  } else if (c == '`') {
    i++;
    while (i < p->len && s[i] != '`') i++;
    if (i >= p->len) {
      fail_at(p, p->pos, "unterminated `name`");
      t->kind = TK_ERROR;
      p->pos = p->len;
      return;
    }
    i++;
    t->kind = TK_BACKTICK;
  } else if (is_name_start(c)) {
    while (i < p->len && is_name_part((unsigned char)s[i])) i++;
    t->kind = TK_NAME;
  } else {
    static const char *const two[] = {"**", "..", "!=", "<=", ">=", "->"};
    t->kind = TK_PUNCT;
    for (size_t k = 0; k < sizeof two / sizeof two[0]; k++) {
      if (i + 1 < p->len && s[i] == two[k][0] && s[i + 1] == two[k][1]) {
        memcpy(t->p, two[k], 3);
        p->pos = i + 2;
        t->len = 2;
        return;
      }
    }
    if (!strchr("()[]{},.:+-*/=<>?@", c)) {
      fail_at(p, i, "unexpected character '%c'", c >= 0x20 && c < 0x7f ? c : '?');
      t->kind = TK_ERROR;
      p->pos = p->len;
      return;
    }
    t->p[0] = (char)c;
    t->p[1] = '\0';
    i++;
  }
  t->len = i - p->pos;
  p->pos = i;
}

static bool is_punct(const struct parser *p, const char *s) {
  return p->tok.kind == TK_PUNCT && strcmp(p->tok.p, s) == 0;
}

static bool is_kw(const struct parser *p, const char *kw) {
  size_t n = strlen(kw);
  return p->tok.kind == TK_NAME && p->tok.len == n && memcmp(p->src + p->tok.start, kw, n) == 0;
}

static bool accept_punct(struct parser *p, const char *s) {
  if (!is_punct(p, s)) return false;
  next(p);
  return true;
}

static bool accept_kw(struct parser *p, const char *kw) {
  if (!is_kw(p, kw)) return false;
  next(p);
  return true;
}

static void describe_tok(const struct parser *p, char *buf, size_t size) {
  if (p->tok.kind == TK_EOF) {
    snprintf(buf, size, "end of input");
  } else {
    int n = (int)(p->tok.len > 20 ? 20 : p->tok.len);
    snprintf(buf, size, "'%.*s'", n, p->src + p->tok.start);
  }
}

static void expect_punct(struct parser *p, const char *s, const char *context) {
  if (accept_punct(p, s)) return;
  char got[40];
  describe_tok(p, got, sizeof got);
  fail_at(p, p->tok.start, "expected '%s' %s, found %s", s, context, got);
}

static void expect_kw(struct parser *p, const char *kw, const char *context) {
  if (accept_kw(p, kw)) return;
  char got[40];
  describe_tok(p, got, sizeof got);
  fail_at(p, p->tok.start, "expected '%s' %s, found %s", kw, context, got);
}

/* ---------------------------------------------------------------- nodes */

static struct node *mk(struct parser *p, enum node_kind kind, uint32_t pos) {
  struct node *n = arena_alloc(p->e, sizeof *n);
  if (!n) {
    fail_nomem(p);
    return NULL;
  }
  n->kind = (uint8_t)kind;
  n->pos = pos;
  return n;
}

static char *arena_strndup(struct parser *p, const char *s, size_t len) {
  char *d = arena_alloc(p->e, len + 1);
  if (!d) {
    fail_nomem(p);
    return NULL;
  }
  memcpy(d, s, len);
  d[len] = '\0';
  return d;
}

/* Registers a literal node so its value is released with the expression. */
static void track_lit(struct parser *p, struct node *n) {
  struct cf_feel_expr *e = p->e;
  if (e->nlits == e->caplits) {
    size_t cap = e->caplits ? e->caplits * 2 : 16;
    struct node **l = cf_realloc(e->lits, cap * sizeof *l);
    if (!l) {
      cf_feel_value_release(&n->lit);
      fail_nomem(p);
      return;
    }
    e->lits = l;
    e->caplits = cap;
  }
  e->lits[e->nlits++] = n;
}

struct nodevec {
  struct node **v;
  uint32_t n, cap;
  char **names;
};

static void vec_push(struct parser *p, struct nodevec *vec, struct node *n, char *name) {
  if (vec->n == vec->cap) {
    uint32_t cap = vec->cap ? vec->cap * 2 : 4;
    struct node **v = arena_alloc(p->e, cap * sizeof *v);
    char **names = arena_alloc(p->e, cap * sizeof *names);
    if (!v || !names) {
      fail_nomem(p);
      return;
    }
    if (vec->n) {
      memcpy(v, vec->v, vec->n * sizeof *v);
      memcpy(names, vec->names, vec->n * sizeof *names);
    }
    vec->v = v;
    vec->names = names;
    vec->cap = cap;
  }
  vec->v[vec->n] = n;
  vec->names[vec->n] = name;
  vec->n++;
}

/* ---------------------------------------------------------------- scope */

static void scope_push(struct parser *p, const char *name) {
  if (!name || !strchr(name, ' ')) {
    /* Only names with spaces need the parser's help. Keep a slot anyway. */
  }
  if (p->nscope == p->capscope) {
    size_t cap = p->capscope ? p->capscope * 2 : 8;
    const char **s = cf_realloc(p->scope, cap * sizeof *s);
    if (!s) {
      fail_nomem(p);
      return;
    }
    p->scope = s;
    uint32_t *l = cf_realloc(p->scope_len, cap * sizeof *l);
    if (!l) {
      fail_nomem(p);
      return;
    }
    p->scope_len = l;
    p->capscope = cap;
  }
  p->scope[p->nscope] = name ? name : "";
  p->scope_len[p->nscope] = name ? (uint32_t)strlen(name) : 0;
  p->nscope++;
}

/*
 * Does the source at pos spell `name` (words separated by any run of
 * spaces), not followed by more of a name? Returns the length matched, 0 if not.
 */
static uint32_t match_name(const struct parser *p, uint32_t pos, const char *name, size_t nlen) {
  uint32_t i = pos;
  size_t k = 0;
  while (k < nlen) {
    if (name[k] == ' ') {
      if (i >= p->len || (p->src[i] != ' ' && p->src[i] != '\t' && p->src[i] != '\n')) return 0;
      while (i < p->len && (p->src[i] == ' ' || p->src[i] == '\t' || p->src[i] == '\n')) i++;
      while (k < nlen && name[k] == ' ') k++;
      continue;
    }
    if (i >= p->len || p->src[i] != name[k]) return 0;
    i++;
    k++;
  }
  if (i < p->len && is_name_part((unsigned char)p->src[i])) return 0;
  return i - pos;
}

struct longest {
  const struct parser *p;
  uint32_t pos;
  uint32_t best;
  const char *name;
};

static void try_name(const char *name, void *arg) {
  struct longest *l = arg;
  if (!strchr(name, ' ')) return;
  uint32_t m = match_name(l->p, l->pos, name, strlen(name));
  if (m > l->best) {
    l->best = m;
    l->name = name;
  }
}

/* Words that end a name: the keywords of the grammar and the literals. */
static bool is_reserved(const struct parser *p) {
  static const char *const words[] = {"and", "or", "in", "between", "instance", "of", "if", "then",
                                      "else", "for", "return", "some", "every", "satisfies",
                                      "function", "external", "true", "false", "null", "not", NULL};
  for (size_t i = 0; words[i]; i++)
    if (is_kw(p, words[i])) return true;
  return false;
}

static const char *const property_names[] = {"time offset", "start included", "end included",
                                             NULL};

/*
 * At a name token: the longest multi-word name that starts here, among
 * built-ins, declared names, names in scope, and (after a '.') properties.
 * Returns it single-spaced (or the single token when no longer name
 * matches), and moves the lexer past it.
 */
static char *read_name(struct parser *p, bool after_dot) {
  struct longest l = {p, p->tok.start, 0, NULL};
  cf__feel_builtin_each_name(try_name, &l);
  for (size_t i = 0; i < p->nknown; i++) try_name(p->known[i], &l);
  for (size_t i = 0; i < p->nscope; i++) try_name(p->scope[i], &l);
  if (after_dot)
    for (size_t i = 0; property_names[i]; i++) try_name(property_names[i], &l);
  char *out;
  if (l.best > p->tok.len) {
    out = arena_strndup(p, l.name, strlen(l.name));
    p->pos = p->tok.start + l.best;
    next(p);
    return out;
  }
  /*
   * No known name: DMN lets a name hold spaces (`Vacation Approval Status`),
   * so following words join it until a keyword or anything else that is not
   * a plain word.
   */
  struct cf_buf b;
  cf_buf_init(&b);
  cf_buf_append(&b, p->src + p->tok.start, p->tok.len);
  next(p);
  while (p->tok.kind == TK_NAME && !is_reserved(p)) {
    cf_buf_putc(&b, ' ');
    cf_buf_append(&b, p->src + p->tok.start, p->tok.len);
    next(p);
  }
  out = b.oom ? NULL : arena_strndup(p, b.data, b.len);
  if (b.oom) fail_nomem(p);
  cf_buf_release(&b);
  return out;
}

/* ---------------------------------------------------------------- literals */

static int decode_string(struct parser *p, uint32_t start, uint32_t len, struct cf_feel_value *out) {
  /* start/len include the quotes */
  const char *s = p->src + start + 1;
  uint32_t n = len - 2;
  char *buf = cf_malloc(n + 1);
  if (!buf) return CF_ENOMEM;
  uint32_t o = 0;
  for (uint32_t i = 0; i < n; i++) {
    char c = s[i];
    if (c != '\\') {
      buf[o++] = c;
      continue;
    }
    if (++i >= n) break;
    c = s[i];
    switch (c) {
      case 'n': buf[o++] = '\n'; break;
      case 't': buf[o++] = '\t'; break;
      case 'r': buf[o++] = '\r'; break;
      case 'b': buf[o++] = '\b'; break;
      case 'f': buf[o++] = '\f'; break;
      case '\'': buf[o++] = '\''; break;
      case '"': buf[o++] = '"'; break;
      case '\\': buf[o++] = '\\'; break;
      case 'u':
      case 'U': {
        int digits = c == 'u' ? 4 : 6;
        uint32_t cp = 0;
        int k;
        for (k = 0; k < digits && i + 1 < n; k++) {
          char h = s[i + 1];
          int v = (h >= '0' && h <= '9') ? h - '0'
                  : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                  : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                           : -1;
          if (v < 0) break;
          cp = cp * 16 + (uint32_t)v;
          i++;
        }
        if (k != digits) {
          cf_free(buf);
          return CF_EINVAL;
        }
        /* A surrogate pair written as two \u escapes. */
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 < n + 0 + 1 && s[i + 1] == '\\' &&
            s[i + 2] == 'u') {
          uint32_t lo = 0;
          int kk;
          for (kk = 0; kk < 4 && i + 3 + (uint32_t)kk < n; kk++) {
            char h = s[i + 3 + (uint32_t)kk];
            int v = (h >= '0' && h <= '9') ? h - '0'
                    : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                    : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                             : -1;
            if (v < 0) break;
            lo = lo * 16 + (uint32_t)v;
          }
          if (kk == 4 && lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          }
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
          cf_free(buf);
          return CF_EINVAL;
        }
        o += (uint32_t)cf__feel_utf8_encode(cp, buf + o);
        break;
      }
      default:
        /* Unknown escapes keep the backslash, as feel-scala does. */
        buf[o++] = '\\';
        buf[o++] = c;
    }
  }
  int rc = cf_feel_set_string(out, buf, o);
  cf_free(buf);
  return rc;
}

static struct node *lit_node(struct parser *p, uint32_t pos) {
  struct node *n = mk(p, N_LIT, pos);
  return n;
}

/* ---------------------------------------------------------------- grammar */

static struct node *parse_expr(struct parser *p);
static struct node *parse_or(struct parser *p);
static struct node *parse_additive(struct parser *p);
static struct node *parse_positive_test(struct parser *p, bool full);

static bool enter(struct parser *p) {
  if (++p->depth > MAX_DEPTH) {
    fail_at(p, p->tok.start, "expression nested too deeply");
    return false;
  }
  return true;
}

static struct feel_type *parse_type(struct parser *p);

static struct feel_type *mk_type(struct parser *p, enum type_kind kind) {
  struct feel_type *t = arena_alloc(p->e, sizeof *t);
  if (!t) {
    fail_nomem(p);
    return NULL;
  }
  t->kind = kind;
  return t;
}

static const struct {
  const char *name;
  uint8_t type;
} simple_types[] = {
    {"number", CF_FEEL_NUMBER},
    {"string", CF_FEEL_STRING},
    {"boolean", CF_FEEL_BOOLEAN},
    {"date", CF_FEEL_DATE},
    {"time", CF_FEEL_TIME},
    {"date and time", CF_FEEL_DATETIME},
    {"dateTime", CF_FEEL_DATETIME},
    {"days and time duration", CF_FEEL_DT_DURATION},
    {"dayTimeDuration", CF_FEEL_DT_DURATION},
    {"years and months duration", CF_FEEL_YM_DURATION},
    {"yearMonthDuration", CF_FEEL_YM_DURATION},
    {"list", CF_FEEL_LIST},
    {"context", CF_FEEL_CONTEXT},
    {"range", CF_FEEL_RANGE},
    {"function", CF_FEEL_FUNCTION},
};

static struct feel_type *parse_type(struct parser *p) {
  if (!enter(p)) return NULL;
  struct feel_type *t = NULL;
  if (p->tok.kind != TK_NAME) {
    char got[40];
    describe_tok(p, got, sizeof got);
    fail_at(p, p->tok.start, "expected a type name, found %s", got);
    goto out;
  }
  /* The longest simple type name at this position. */
  uint32_t best = 0;
  int which = -1;
  for (size_t i = 0; i < sizeof simple_types / sizeof simple_types[0]; i++) {
    uint32_t m = match_name(p, p->tok.start, simple_types[i].name, strlen(simple_types[i].name));
    if (m > best) {
      best = m;
      which = (int)i;
    }
  }
  if (which < 0) {
    if (is_kw(p, "Any")) {
      t = mk_type(p, T_ANY);
      next(p);
    } else if (is_kw(p, "Null")) {
      t = mk_type(p, T_NULL);
      next(p);
    } else {
      /* An item definition of a DMN model: we have none, so it matches nothing. */
      uint32_t start = p->tok.start;
      next(p);
      while (accept_punct(p, ".")) {
        if (p->tok.kind == TK_NAME) next(p);
      }
      t = mk_type(p, T_UNKNOWN);
      if (t) t->unknown = arena_strndup(p, p->src + start, p->tok.start - start);
    }
    goto out;
  }
  p->pos = p->tok.start + best;
  next(p);
  uint8_t st = simple_types[which].type;
  if ((st == CF_FEEL_LIST || st == CF_FEEL_RANGE) && accept_punct(p, "<")) {
    t = mk_type(p, st == CF_FEEL_LIST ? T_LIST : T_RANGE);
    if (t) t->elem = parse_type(p);
    expect_punct(p, ">", "after the element type");
  } else if (st == CF_FEEL_CONTEXT && accept_punct(p, "<")) {
    t = mk_type(p, T_CONTEXT);
    struct nodevec names = {0};
    struct feel_type *types[64];
    uint32_t n = 0;
    while (t && !p->failed && !is_punct(p, ">")) {
      if (p->tok.kind != TK_NAME) {
        fail_at(p, p->tok.start, "expected an entry name in context type");
        break;
      }
      char *name = read_name(p, false);
      expect_punct(p, ":", "after the entry name in context type");
      struct feel_type *et = parse_type(p);
      if (n < 64) {
        vec_push(p, &names, NULL, name);
        types[n++] = et;
      }
      if (!accept_punct(p, ",")) break;
    }
    expect_punct(p, ">", "to close the context type");
    if (t && !p->failed) {
      t->n = n;
      t->names = names.names;
      t->types = arena_alloc(p->e, (n ? n : 1) * sizeof *t->types);
      if (t->types) memcpy(t->types, types, n * sizeof *types);
    }
  } else if (st == CF_FEEL_FUNCTION && accept_punct(p, "<")) {
    t = mk_type(p, T_FUNCTION);
    struct feel_type *types[32];
    uint32_t n = 0;
    while (t && !p->failed && !is_punct(p, ">")) {
      struct feel_type *pt = parse_type(p);
      if (n < 32) types[n++] = pt;
      if (!accept_punct(p, ",")) break;
    }
    expect_punct(p, ">", "to close the function parameter types");
    expect_punct(p, "->", "before the function result type");
    if (t && !p->failed) {
      t->n = n;
      t->types = arena_alloc(p->e, (n ? n : 1) * sizeof *t->types);
      if (t->types) memcpy(t->types, types, n * sizeof *types);
      t->ret = parse_type(p);
    }
  } else {
    t = mk_type(p, T_SIMPLE);
    if (t) t->simple = st;
  }
out:
  p->depth--;
  return t;
}

/* An interval whose opening bracket was already read: start..end then ] ) or [ */
static struct node *finish_interval(struct parser *p, uint32_t pos, bool start_incl,
                                    struct node *start) {
  bool saved = p->no_filter;
  p->no_filter = true;
  struct node *end = parse_expr(p);
  p->no_filter = saved;
  struct node *n = mk(p, N_RANGE, pos);
  if (!n) return NULL;
  n->a = start;
  n->b = end;
  n->start_incl = start_incl;
  if (accept_punct(p, "]")) {
    n->end_incl = true;
  } else if (accept_punct(p, ")") || accept_punct(p, "[")) {
    n->end_incl = false;
  } else {
    char got[40];
    describe_tok(p, got, sizeof got);
    fail_at(p, p->tok.start, "expected ']', ')' or '[' to close the range, found %s", got);
  }
  return n;
}

static struct node *parse_list_or_range(struct parser *p, uint32_t pos) {
  /* '[' already read */
  struct node *n = mk(p, N_LIST, pos);
  if (!n) return NULL;
  if (accept_punct(p, "]")) return n;
  struct nodevec items = {0};
  struct node *first = parse_expr(p);
  if (accept_punct(p, "..")) return finish_interval(p, pos, true, first);
  vec_push(p, &items, first, NULL);
  while (!p->failed && accept_punct(p, ",")) vec_push(p, &items, parse_expr(p), NULL);
  expect_punct(p, "]", "to close the list");
  n->kids = items.v;
  n->nkids = items.n;
  return n;
}

static char *read_key(struct parser *p, const char *what) {
  /* A context key or a named argument: a string literal, or name text up to ':' */
  if (p->tok.kind == TK_STR) {
    struct cf_feel_value v;
    int rc = decode_string(p, p->tok.start, p->tok.len, &v);
    if (rc) {
      if (rc == CF_ENOMEM) fail_nomem(p);
      else fail_at(p, p->tok.start, "invalid escape in string");
      return NULL;
    }
    char *k = arena_strndup(p, v.u.string->data, v.u.string->len);
    cf_feel_value_release(&v);
    next(p);
    return k;
  }
  if (p->tok.kind == TK_BACKTICK) {
    char *k = arena_strndup(p, p->src + p->tok.start + 1, p->tok.len - 2);
    next(p);
    return k;
  }
  if (p->tok.kind != TK_NAME) {
    char got[40];
    describe_tok(p, got, sizeof got);
    fail_at(p, p->tok.start, "expected %s, found %s", what, got);
    return NULL;
  }
  /* Words (and the punctuation names may hold) up to the colon, single-spaced. */
  uint32_t start = p->tok.start, end = start;
  while (p->tok.kind == TK_NAME || p->tok.kind == TK_NUM ||
         (p->tok.kind == TK_PUNCT && strchr(".-+*/'?", p->tok.p[0]) && p->tok.p[1] == '\0')) {
    end = p->tok.start + p->tok.len;
    next(p);
  }
  char *k = arena_alloc(p->e, end - start + 1);
  if (!k) {
    fail_nomem(p);
    return NULL;
  }
  uint32_t o = 0;
  bool space = false;
  for (uint32_t i = start; i < end; i++) {
    char c = p->src[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = true;
      continue;
    }
    if (space && o) k[o++] = ' ';
    space = false;
    k[o++] = c;
  }
  k[o] = '\0';
  return k;
}

static struct node *parse_context(struct parser *p, uint32_t pos) {
  /* '{' already read */
  struct node *n = mk(p, N_CONTEXT, pos);
  if (!n) return NULL;
  struct nodevec entries = {0};
  size_t mark = p->nscope;
  if (!is_punct(p, "}")) {
    do {
      uint32_t kpos = p->tok.start;
      char *key = read_key(p, "a context entry name");
      if (p->failed) break;
      for (uint32_t i = 0; i < entries.n; i++) {
        if (strcmp(entries.names[i], key) == 0) {
          fail_at(p, kpos, "duplicate context entry '%s'", key);
          break;
        }
      }
      expect_punct(p, ":", "after the context entry name");
      struct node *v = parse_expr(p);
      vec_push(p, &entries, v, key);
      scope_push(p, key);
    } while (!p->failed && accept_punct(p, ","));
  }
  p->nscope = mark;
  expect_punct(p, "}", "to close the context");
  n->kids = entries.v;
  n->names = entries.names;
  n->nkids = entries.n;
  return n;
}

static struct node *parse_funcdef(struct parser *p, uint32_t pos) {
  /* 'function' already read */
  struct node *n = mk(p, N_FUNCDEF, pos);
  if (!n) return NULL;
  expect_punct(p, "(", "after 'function'");
  struct nodevec params = {0};
  size_t mark = p->nscope;
  while (!p->failed && !is_punct(p, ")")) {
    char *name = read_key(p, "a parameter name");
    if (accept_punct(p, ":")) parse_type(p); /* a declared parameter type is not enforced */
    vec_push(p, &params, NULL, name);
    scope_push(p, name);
    if (!accept_punct(p, ",")) break;
  }
  expect_punct(p, ")", "to close the parameter list");
  if (is_kw(p, "external")) {
    fail_at(p, p->tok.start, "external functions are not supported");
    return n;
  }
  n->a = parse_expr(p);
  p->nscope = mark;
  n->names = params.names;
  n->nkids = params.n;
  return n;
}

static struct node *parse_iteration(struct parser *p, enum node_kind kind, uint32_t pos) {
  struct node *n = mk(p, kind, pos);
  if (!n) return NULL;
  struct nodevec its = {0};
  size_t mark = p->nscope;
  do {
    char *name = NULL;
    if (p->tok.kind == TK_NAME) {
      name = arena_strndup(p, p->src + p->tok.start, p->tok.len);
      next(p);
    } else {
      name = read_key(p, "a variable name");
    }
    expect_kw(p, "in", "after the variable name");
    struct node *dom = parse_or(p);
    if (kind == N_FOR && accept_punct(p, "..")) {
      struct node *r = mk(p, N_RANGE, dom ? dom->pos : pos);
      if (r) {
        r->a = dom;
        r->b = parse_or(p);
        r->start_incl = r->end_incl = true;
        r->op = 'f'; /* a for-loop range: counts down when start > end */
      }
      dom = r;
    }
    vec_push(p, &its, dom, name);
    scope_push(p, name);
  } while (!p->failed && accept_punct(p, ","));
  if (kind == N_FOR) {
    scope_push(p, "partial");
    expect_kw(p, "return", "after the iteration contexts of 'for'");
  } else {
    expect_kw(p, "satisfies", "after the iteration contexts");
  }
  n->a = parse_expr(p);
  p->nscope = mark;
  n->kids = its.v;
  n->names = its.names;
  n->nkids = its.n;
  return n;
}

static struct node *parse_call_args(struct parser *p, struct node *callee, uint32_t pos) {
  /* '(' already read */
  struct node *n = mk(p, N_CALL, pos);
  if (!n) return NULL;
  n->a = callee;
  struct nodevec args = {0};
  bool named = false;
  if (!is_punct(p, ")")) {
    /* Named arguments: a name followed by ':'. Look ahead without consuming. */
    if (p->tok.kind == TK_NAME) {
      uint32_t save = p->pos;
      struct token save_tok = p->tok;
      while (p->tok.kind == TK_NAME) next(p);
      named = is_punct(p, ":");
      p->pos = save;
      p->tok = save_tok;
    }
    do {
      char *name = NULL;
      if (named) {
        name = read_key(p, "a parameter name");
        expect_punct(p, ":", "after the parameter name");
      }
      vec_push(p, &args, parse_expr(p), name);
    } while (!p->failed && accept_punct(p, ","));
  }
  expect_punct(p, ")", "to close the argument list");
  n->kids = args.v;
  n->nkids = args.n;
  n->names = named ? args.names : NULL;
  return n;
}

static struct node *name_node(struct parser *p, char *name, uint32_t pos) {
  struct node *n = mk(p, N_NAME, pos);
  if (!n || !name) return n;
  n->name = name;
  n->namelen = (uint32_t)strlen(name);
  n->bi = cf__feel_builtin_find(name, n->namelen, &n->nbi);
  return n;
}

/* `< 10` and friends used as a value: a range (DMN 1.5). */
static struct node *unary_range(struct parser *p, uint32_t pos) {
  char op[3];
  memcpy(op, p->tok.p, 3);
  next(p);
  struct node *end = parse_additive(p);
  struct node *null_lit = lit_node(p, pos);
  struct node *n = mk(p, N_RANGE, pos);
  if (!n || !null_lit) return NULL;
  n->op = 'u'; /* one end open by construction, not a null written by the user */
  if (!strcmp(op, "<") || !strcmp(op, "<=")) {
    n->a = null_lit;
    n->b = end;
    n->end_incl = op[1] == '=';
  } else if (!strcmp(op, ">") || !strcmp(op, ">=")) {
    n->a = end;
    n->b = null_lit;
    n->start_incl = op[1] == '=';
  } else { /* = : [x..x], with x evaluated once (b stays NULL so no walk visits it twice) */
    n->a = end;
    n->op = 'e';
    n->start_incl = n->end_incl = true;
  }
  return n;
}

static struct node *parse_primary_inner(struct parser *p);

/* Brackets nest: inside them a '[' is a filter again. */
static struct node *parse_primary(struct parser *p) {
  bool saved = p->no_filter;
  bool opens = p->tok.kind == TK_PUNCT && strchr("([{]", p->tok.p[0]) && p->tok.p[1] == '\0';
  if (opens) p->no_filter = false;
  struct node *n = parse_primary_inner(p);
  p->no_filter = saved;
  return n;
}

static struct node *parse_primary_inner(struct parser *p) {
  uint32_t pos = p->tok.start;
  struct token t = p->tok;
  switch (t.kind) {
    case TK_NUM: {
      struct node *n = lit_node(p, pos);
      if (!n) return NULL;
      if (cf_feel_set_number_text(&n->lit, p->src + t.start, t.len) != CF_OK) {
        fail_at(p, pos, "invalid number");
        return n;
      }
      track_lit(p, n);
      next(p);
      return n;
    }
    case TK_STR: {
      struct node *n = lit_node(p, pos);
      if (!n) return NULL;
      int rc = decode_string(p, t.start, t.len, &n->lit);
      if (rc == CF_ENOMEM) {
        fail_nomem(p);
        return n;
      }
      if (rc) {
        fail_at(p, pos, "invalid string (bad escape or not UTF-8)");
        return n;
      }
      track_lit(p, n);
      next(p);
      return n;
    }
    case TK_BACKTICK: {
      char *name = arena_strndup(p, p->src + t.start + 1, t.len - 2);
      next(p);
      return name_node(p, name, pos);
    }
    case TK_NAME: {
      if (is_kw(p, "true") || is_kw(p, "false")) {
        struct node *n = lit_node(p, pos);
        if (n) cf_feel_set_bool(&n->lit, is_kw(p, "true"));
        next(p);
        return n;
      }
      if (is_kw(p, "null")) {
        next(p);
        return lit_node(p, pos);
      }
      if (is_kw(p, "if") || is_kw(p, "for") || is_kw(p, "some") || is_kw(p, "every")) {
        return parse_expr(p);
      }
      if (is_kw(p, "function")) {
        uint32_t save = p->pos;
        struct token st = p->tok;
        next(p);
        if (is_punct(p, "(")) return parse_funcdef(p, pos);
        p->pos = save;
        p->tok = st;
      }
      char *name = read_name(p, false);
      return name_node(p, name, pos);
    }
    case TK_PUNCT:
      if (accept_punct(p, "(")) {
        struct node *inner = parse_expr(p);
        if (accept_punct(p, "..")) return finish_interval(p, pos, false, inner);
        expect_punct(p, ")", "to close the parenthesis");
        return inner;
      }
      if (accept_punct(p, "[")) return parse_list_or_range(p, pos);
      if (accept_punct(p, "]")) {
        struct node *start = parse_expr(p);
        expect_punct(p, "..", "in the range");
        return finish_interval(p, pos, false, start);
      }
      if (accept_punct(p, "{")) return parse_context(p, pos);
      if (accept_punct(p, "?")) return mk(p, N_INPUT, pos);
      if (is_punct(p, "@")) {
        next(p);
        if (p->tok.kind != TK_STR) {
          fail_at(p, p->tok.start, "expected a string after '@'");
          return NULL;
        }
        struct cf_feel_value s;
        int rc = decode_string(p, p->tok.start, p->tok.len, &s);
        if (rc) {
          if (rc == CF_ENOMEM) fail_nomem(p);
          else fail_at(p, p->tok.start, "invalid string after '@'");
          return NULL;
        }
        struct node *n = lit_node(p, pos);
        if (!n) {
          cf_feel_value_release(&s);
          return NULL;
        }
        rc = cf__feel_temporal_literal(s.u.string->data, s.u.string->len, &n->lit);
        if (rc == CF_OK) {
          track_lit(p, n);
        } else {
          fail_at(p, pos, "@\"%.40s\" is not a date, time, date and time or duration",
                  s.u.string->data);
        }
        cf_feel_value_release(&s);
        next(p);
        return n;
      }
      if (is_punct(p, "<") || is_punct(p, "<=") || is_punct(p, ">") || is_punct(p, ">=") ||
          is_punct(p, "=")) {
        return unary_range(p, pos);
      }
      break;
    default: break;
  }
  char got[40];
  describe_tok(p, got, sizeof got);
  fail_at(p, pos, "unexpected %s", got);
  return NULL;
}

static struct node *parse_postfix(struct parser *p) {
  struct node *a = parse_primary(p);
  while (!p->failed) {
    uint32_t pos = p->tok.start;
    if (accept_punct(p, ".")) {
      if (p->tok.kind != TK_NAME && p->tok.kind != TK_BACKTICK) {
        char got[40];
        describe_tok(p, got, sizeof got);
        fail_at(p, p->tok.start, "expected a name after '.', found %s", got);
        break;
      }
      struct node *n = mk(p, N_PATH, pos);
      if (!n) break;
      n->a = a;
      if (p->tok.kind == TK_BACKTICK) {
        n->name = arena_strndup(p, p->src + p->tok.start + 1, p->tok.len - 2);
        next(p);
      } else {
        n->name = read_name(p, true);
      }
      n->namelen = n->name ? (uint32_t)strlen(n->name) : 0;
      a = n;
    } else if (!p->no_filter && accept_punct(p, "[")) {
      struct node *n = mk(p, N_FILTER, pos);
      if (!n) break;
      n->a = a;
      size_t mark = p->nscope;
      scope_push(p, "item");
      n->b = parse_expr(p);
      p->nscope = mark;
      expect_punct(p, "]", "to close the filter");
      a = n;
    } else if (accept_punct(p, "(")) {
      bool saved = p->no_filter;
      p->no_filter = false;
      a = parse_call_args(p, a, pos);
      p->no_filter = saved;
    } else {
      break;
    }
  }
  return a;
}

static struct node *parse_unary(struct parser *p) {
  uint32_t pos = p->tok.start;
  if (accept_punct(p, "-")) {
    if (!enter(p)) return NULL;
    struct node *n = mk(p, N_NEG, pos);
    if (n) n->a = parse_unary(p);
    p->depth--;
    return n;
  }
  return parse_postfix(p);
}

static struct node *binary(struct parser *p, enum node_kind kind, char op, struct node *a,
                           struct node *b, uint32_t pos) {
  struct node *n = mk(p, kind, pos);
  if (!n) return NULL;
  n->op = op;
  n->a = a;
  n->b = b;
  return n;
}

static struct node *parse_pow(struct parser *p) {
  struct node *a = parse_unary(p);
  while (!p->failed && is_punct(p, "**")) {
    uint32_t pos = p->tok.start;
    next(p);
    a = binary(p, N_ARITH, '^', a, parse_unary(p), pos);
  }
  return a;
}

static struct node *parse_mul(struct parser *p) {
  struct node *a = parse_pow(p);
  while (!p->failed && (is_punct(p, "*") || is_punct(p, "/"))) {
    char op = p->tok.p[0];
    uint32_t pos = p->tok.start;
    next(p);
    a = binary(p, N_ARITH, op, a, parse_pow(p), pos);
  }
  return a;
}

static struct node *parse_additive(struct parser *p) {
  if (!enter(p)) return NULL;
  struct node *a = parse_mul(p);
  while (!p->failed && (is_punct(p, "+") || is_punct(p, "-"))) {
    char op = p->tok.p[0];
    uint32_t pos = p->tok.start;
    next(p);
    a = binary(p, N_ARITH, op, a, parse_mul(p), pos);
  }
  p->depth--;
  return a;
}

static char cmp_op(const struct parser *p) {
  if (p->tok.kind != TK_PUNCT) return 0;
  if (!strcmp(p->tok.p, "=")) return '=';
  if (!strcmp(p->tok.p, "!=")) return '!';
  if (!strcmp(p->tok.p, "<")) return '<';
  if (!strcmp(p->tok.p, "<=")) return 'l';
  if (!strcmp(p->tok.p, ">")) return '>';
  if (!strcmp(p->tok.p, ">=")) return 'g';
  return 0;
}

/* Tests after `in`: one test, or a parenthesized list of them. */
static struct node *parse_in_tests(struct parser *p) {
  uint32_t pos = p->tok.start;
  struct node *list = mk(p, N_UT_LIST, pos);
  if (!list) return NULL;
  struct nodevec tests = {0};
  if (accept_punct(p, "(")) {
    struct node *first = parse_positive_test(p, true);
    if (!p->failed && accept_punct(p, "..") && first && first->kind == N_UT_EXPR) {
      struct node *range = finish_interval(p, pos, false, first->a);
      struct node *t = mk(p, N_UT_EXPR, pos);
      if (t) t->a = range;
      vec_push(p, &tests, t, NULL);
    } else {
      vec_push(p, &tests, first, NULL);
      while (!p->failed && accept_punct(p, ",")) vec_push(p, &tests, parse_positive_test(p, true), NULL);
      expect_punct(p, ")", "to close the list of tests");
    }
  } else {
    vec_push(p, &tests, parse_positive_test(p, false), NULL);
  }
  list->kids = tests.v;
  list->nkids = tests.n;
  return list;
}

static struct node *parse_comparison(struct parser *p) {
  struct node *a = parse_additive(p);
  while (!p->failed) {
    uint32_t pos = p->tok.start;
    char op = cmp_op(p);
    if (op) {
      next(p);
      a = binary(p, N_CMP, op, a, parse_additive(p), pos);
    } else if (accept_kw(p, "between")) {
      struct node *n = mk(p, N_BETWEEN, pos);
      if (!n) return NULL;
      n->a = a;
      n->b = parse_additive(p);
      expect_kw(p, "and", "in 'between ... and ...'");
      n->c = parse_additive(p);
      a = n;
    } else if (accept_kw(p, "in")) {
      a = binary(p, N_IN, 0, a, parse_in_tests(p), pos);
    } else if (is_kw(p, "instance")) {
      next(p);
      expect_kw(p, "of", "after 'instance'");
      struct node *n = mk(p, N_INSTANCE_OF, pos);
      if (!n) return NULL;
      n->a = a;
      n->type = parse_type(p);
      a = n;
    } else {
      break;
    }
  }
  return a;
}

static struct node *parse_and(struct parser *p) {
  struct node *a = parse_comparison(p);
  while (!p->failed && is_kw(p, "and")) {
    uint32_t pos = p->tok.start;
    next(p);
    a = binary(p, N_AND, 0, a, parse_comparison(p), pos);
  }
  return a;
}

static struct node *parse_or(struct parser *p) {
  struct node *a = parse_and(p);
  while (!p->failed && is_kw(p, "or")) {
    uint32_t pos = p->tok.start;
    next(p);
    a = binary(p, N_OR, 0, a, parse_and(p), pos);
  }
  return a;
}

static struct node *parse_expr(struct parser *p) {
  if (p->failed || !enter(p)) return NULL;
  uint32_t pos = p->tok.start;
  struct node *n = NULL;
  if (accept_kw(p, "if")) {
    n = mk(p, N_IF, pos);
    if (n) {
      n->a = parse_expr(p);
      expect_kw(p, "then", "after the condition of 'if'");
      n->b = parse_expr(p);
      expect_kw(p, "else", "after 'then' (FEEL requires an else branch)");
      n->c = parse_expr(p);
    }
  } else if (accept_kw(p, "for")) {
    n = parse_iteration(p, N_FOR, pos);
  } else if (is_kw(p, "some") || is_kw(p, "every")) {
    /* `some` and `every` are also ordinary names unless a variable follows. */
    uint32_t save = p->pos;
    struct token st = p->tok;
    enum node_kind k = is_kw(p, "some") ? N_SOME : N_EVERY;
    next(p);
    if (p->tok.kind == TK_NAME || p->tok.kind == TK_BACKTICK) {
      n = parse_iteration(p, k, pos);
    } else {
      p->pos = save;
      p->tok = st;
      n = parse_or(p);
    }
  } else {
    n = parse_or(p);
  }
  p->depth--;
  return n;
}

/* One positive unary test: `< e`, `= e`, an interval, or an expression. */
static struct node *parse_positive_test(struct parser *p, bool full) {
  uint32_t pos = p->tok.start;
  char op = cmp_op(p);
  if (op) {
    next(p);
    struct node *n = mk(p, N_UT_CMP, pos);
    if (!n) return NULL;
    n->op = op;
    n->a = parse_additive(p);
    return n;
  }
  struct node *n = mk(p, N_UT_EXPR, pos);
  if (!n) return NULL;
  n->a = full ? parse_expr(p) : parse_additive(p);
  return n;
}

static bool mentions_input(const struct node *n, int depth) {
  if (!n || depth > 300) return false;
  if (n->kind == N_INPUT) return true;
  if (n->kind == N_UT_EXPR || n->kind == N_UT_CMP || n->kind == N_UT_LIST) return false;
  if (mentions_input(n->a, depth + 1) || mentions_input(n->b, depth + 1) ||
      mentions_input(n->c, depth + 1))
    return true;
  for (uint32_t i = 0; i < n->nkids; i++)
    if (n->kids && mentions_input(n->kids[i], depth + 1)) return true;
  return false;
}

static void mark_input_use(struct node *n, int depth) {
  if (!n || depth > 300) return;
  if (n->kind == N_UT_EXPR) n->uses_input = mentions_input(n->a, 0);
  mark_input_use(n->a, depth + 1);
  mark_input_use(n->b, depth + 1);
  mark_input_use(n->c, depth + 1);
  for (uint32_t i = 0; i < n->nkids; i++)
    if (n->kids) mark_input_use(n->kids[i], depth + 1);
}

static struct node *parse_unary_tests(struct parser *p) {
  uint32_t pos = p->tok.start;
  if (is_punct(p, "-")) {
    uint32_t save = p->pos;
    struct token st = p->tok;
    next(p);
    if (p->tok.kind == TK_EOF) return mk(p, N_UT_ANY, pos);
    p->pos = save;
    p->tok = st;
  }
  bool negate = false;
  if (is_kw(p, "not")) {
    uint32_t save = p->pos;
    struct token st = p->tok;
    next(p);
    if (accept_punct(p, "(")) {
      negate = true;
    } else {
      p->pos = save;
      p->tok = st;
    }
  }
  struct node *list = mk(p, N_UT_LIST, pos);
  if (!list) return NULL;
  struct nodevec tests = {0};
  do {
    vec_push(p, &tests, parse_positive_test(p, true), NULL);
  } while (!p->failed && accept_punct(p, ","));
  list->kids = tests.v;
  list->nkids = tests.n;
  if (negate) {
    expect_punct(p, ")", "to close not(...)");
    struct node *n = mk(p, N_UT_NOT, pos);
    if (n) n->a = list;
    return n;
  }
  return list;
}

/* ---------------------------------------------------------------- entry */

void cf__feel_expr_ref(struct cf_feel_expr *e) { e->refs++; }

void cf_feel_expr_free(struct cf_feel_expr *e) {
  if (!e || --e->refs > 0) return;
  for (size_t i = 0; i < e->nlits; i++) cf_feel_value_release(&e->lits[i]->lit);
  cf_free(e->lits);
  struct arena_block *b = e->arena;
  while (b) {
    struct arena_block *nx = b->next;
    cf_free(b);
    b = nx;
  }
  cf_free(e->source);
  cf_free(e);
}

const char *cf_feel_expr_source(const struct cf_feel_expr *e) { return e->source; }

static struct cf_feel_expr *compile(const char *src, size_t len, const char *const *known,
                                    size_t nknown, struct cf_error *err, bool unary) {
  cf_error_clear(err);
  if (len > UINT32_MAX / 2) {
    cf_error_set(err, CF_ELIMIT, "expression too long");
    return NULL;
  }
  struct cf_feel_expr *e = cf_calloc(1, sizeof *e);
  if (!e) {
    cf_error_set(err, CF_ENOMEM, "out of memory");
    return NULL;
  }
  e->refs = 1;
  e->unary = unary;
  e->source = cf_strndup(src, len);
  if (!e->source) {
    cf_free(e);
    cf_error_set(err, CF_ENOMEM, "out of memory");
    return NULL;
  }
  struct parser p = {0};
  p.src = e->source;
  p.len = (uint32_t)len;
  p.e = e;
  p.err = err;
  p.known = known;
  p.nknown = nknown;
  uint32_t ncp;
  if (!cf__feel_utf8_count(src, len, &ncp)) {
    fail_at(&p, 0, "the expression is not valid UTF-8");
  } else if (memchr(src, '\0', len)) {
    fail_at(&p, (uint32_t)((const char *)memchr(src, '\0', len) - src), "NUL character in expression");
  } else {
    next(&p);
    if (p.tok.kind == TK_EOF && !p.failed) {
      fail_at(&p, 0, "empty expression");
    } else {
      e->root = unary ? parse_unary_tests(&p) : parse_expr(&p);
      if (!p.failed && p.tok.kind != TK_EOF) {
        char got[40];
        describe_tok(&p, got, sizeof got);
        fail_at(&p, p.tok.start, "unexpected %s after the end of the expression", got);
      }
      if (!p.failed) mark_input_use(e->root, 0);
    }
  }
  cf_free(p.scope);
  cf_free(p.scope_len);
  if (p.failed || !e->root) {
    if (!p.failed) cf_error_set(err, CF_ENOMEM, "out of memory");
    cf_feel_expr_free(e);
    return NULL;
  }
  return e;
}

struct cf_feel_expr *cf_feel_compile(const char *src, size_t len, const char *const *known_names,
                                     size_t nknown, struct cf_error *err) {
  return compile(src, len, known_names, nknown, err, false);
}

struct cf_feel_expr *cf_feel_compile_unary(const char *src, size_t len,
                                           const char *const *known_names, size_t nknown,
                                           struct cf_error *err) {
  return compile(src, len, known_names, nknown, err, true);
}
