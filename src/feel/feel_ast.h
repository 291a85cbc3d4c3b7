/*
 * The compiled form of a FEEL expression: a tree of nodes allocated in one
 * arena per expression, with literals already built as values and built-in
 * functions already resolved. Shared by feel_parse.c (which builds it) and
 * feel_eval.c (which walks it). Private to src/feel/.
 */
#ifndef CF_FEEL_AST_H
#define CF_FEEL_AST_H

#include "feel/feel_int.h"

enum node_kind {
  N_LIT,         /* lit */
  N_NAME,        /* name: a variable, or a built-in function (bi) */
  N_INPUT,       /* ? : the value under test in unary tests */
  N_PATH,        /* a.name */
  N_FILTER,      /* a[b] */
  N_CALL,        /* a(kids...), argnames when named */
  N_NEG,         /* -a */
  N_ARITH,       /* a op b, op one of + - * / ^ */
  N_CMP,         /* a op b, op one of = ! < l > g (l: <=, g: >=, !: !=) */
  N_AND,         /* a and b */
  N_OR,          /* a or b */
  N_BETWEEN,     /* a between b and c */
  N_IN,          /* a in b (b a unary-test node) */
  N_INSTANCE_OF, /* a instance of type */
  N_IF,          /* if a then b else c */
  N_FOR,         /* for names[i] in kids[i]... return a */
  N_SOME,        /* some names[i] in kids[i]... satisfies a */
  N_EVERY,       /* every ... satisfies a */
  N_LIST,        /* [kids...] */
  N_CONTEXT,     /* {names[i]: kids[i]...} */
  N_RANGE,       /* a..b with incl flags (interval literal) */
  N_FUNCDEF,     /* function(names...) a */
  N_UT_CMP,      /* unary test: input op a (op as N_CMP) */
  N_UT_ANY,      /* unary test: - */
  N_UT_NOT,      /* unary test: not(kids...) */
  N_UT_EXPR,     /* unary test: an expression a, equal/contained/boolean (uses_input) */
  N_UT_LIST      /* unary tests: kids..., any matches */
};

/* A type for `instance of`. */
enum type_kind {
  T_ANY,
  T_NULL,
  T_SIMPLE, /* simple: one of enum cf_feel_type */
  T_LIST,   /* list<elem> */
  T_RANGE,  /* range<elem> */
  T_CONTEXT,/* context<names: types> */
  T_FUNCTION,
  T_UNKNOWN /* a name we do not know (an item definition of a DMN model) */
};

struct feel_type {
  enum type_kind kind;
  uint8_t simple;            /* T_SIMPLE */
  struct feel_type *elem;    /* T_LIST, T_RANGE */
  uint32_t n;                /* T_CONTEXT entries, T_FUNCTION params */
  char **names;              /* T_CONTEXT keys */
  struct feel_type **types;  /* T_CONTEXT entry types, T_FUNCTION params */
  struct feel_type *ret;     /* T_FUNCTION */
  char *unknown;             /* T_UNKNOWN: its name */
};

struct node {
  uint8_t kind; /* enum node_kind */
  char op;
  bool start_incl, end_incl; /* N_RANGE */
  bool uses_input;           /* N_UT_EXPR: the expression mentions ? */
  uint32_t pos;              /* byte offset in the source, for messages */
  struct node *a, *b, *c;
  struct node **kids;
  uint32_t nkids;
  char **names;   /* N_FOR/N_SOME/N_EVERY/N_CONTEXT/N_FUNCDEF names; N_CALL argument names or NULL */
  char *name;     /* N_NAME, N_PATH */
  uint32_t namelen;
  const struct cf__feel_builtin *bi; /* N_NAME naming a built-in */
  size_t nbi;
  struct feel_type *type;            /* N_INSTANCE_OF */
  struct cf_feel_value lit;          /* N_LIT */
};

struct cf_feel_expr {
  uint32_t refs;          /* function values made by this expression hold a reference */
  struct node *root;
  char *source;
  bool unary;
  struct arena_block *arena;
  /* literals to release (values inside nodes) */
  struct node **lits;
  size_t nlits, caplits;
};

void cf__feel_expr_ref(struct cf_feel_expr *e);

/* A user-defined function value, or a built-in taken as a value (`f: string length`). */
struct cf_feel_fn {
  uint32_t refs;
  const struct cf__feel_builtin *bi; /* built-in: the overloads */
  size_t nbi;
  const struct node *def;     /* user-defined: the N_FUNCDEF node */
  struct cf_feel_expr *owner; /* the expression def lives in (a reference) */
  struct cf_feel_value closure; /* context of the names visible where it was defined, or null */
  struct cf_feel_value globals; /* the variables of the evaluation that made it */
};

#endif
