/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* expr-internal.h: the tree that expr_parse() builds (expr.c) and that evaluation (expr-eval.c)
 * and printing (expr-format.c) walk. '&&' and '||' are n-ary nodes, so the depth of the tree is
 * bounded by the nesting of '(' and '!' (EXPR_DEPTH_MAX), never by the length of a chain. */
#pragma once

#include <regex.h>

#include "config/expr.h"

typedef enum ExprType {
        EXPR_OR,
        EXPR_AND,
        EXPR_NOT,
        EXPR_COMPARE,
        EXPR_MATCH,
} ExprType;

typedef enum ExprOp {
        EXPR_OP_EQ,
        EXPR_OP_NE,
        EXPR_OP_LT,
        EXPR_OP_LE,
        EXPR_OP_GT,
        EXPR_OP_GE,
        EXPR_OP_MATCH,
        _EXPR_OP_MAX,
} ExprOp;

typedef enum ExprValueKind {
        EXPR_VALUE_REF,
        EXPR_VALUE_STRING,
        EXPR_VALUE_NUMBER,
} ExprValueKind;

typedef struct ExprValue {
        ExprValueKind kind;
        char *literal;              /* STRING: the unquoted bytes; NUMBER: as written; REF: NULL */
        ExprRef ref;                /* REF: its strings are owned here (step, name, text) */
        size_t offset;              /* where the value starts in the text */
} ExprValue;

struct Expr {
        ExprType type;
        size_t offset;              /* the operator's offset ('!', '&&', '||', '==', …) */
        /* EXPR_OR, EXPR_AND: at least two children; EXPR_NOT: one */
        Expr **children;
        size_t n_children;
        /* EXPR_COMPARE, EXPR_MATCH (right is then the pattern, a STRING) */
        ExprOp op;
        ExprValue left, right;
        regex_t regex;              /* EXPR_MATCH: compiled right.literal */
        bool regex_compiled;
};

const char *expr_op_to_string(ExprOp op);


/* [+-]?[0-9]+(\.[0-9]+)? exactly. */
bool expr_is_number(const char *s);
/* Compares two strings for which expr_is_number() is true as exact decimals: <0, 0, >0. */
int expr_number_compare(const char *a, const char *b);

/* How text and values are shown in messages: at most EXPR_SHOWN_MAX bytes (then "…"), every
 * byte that is not printable ASCII as \xNN, so messages are valid UTF-8 whatever the text holds. */
#define EXPR_SHOWN_MAX 40
#define EXPR_SHOWN_SIZE (EXPR_SHOWN_MAX * 4 + 16)
const char *expr_show_bytes(const char *s, size_t n, char *buf, size_t size);

/* Writes "at offset N: <message>" into 'error' (if not NULL) and returns r. */
int expr_error(char *error, size_t error_size, int r, size_t offset, const char *fmt, ...) _printf_(5, 6);
