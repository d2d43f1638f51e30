/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* expr-lex.h: the lexer of "when" expressions (expr-lex.c), which the parser (expr.c) drives one
 * token at a time. */
#pragma once

#include "config/expr-internal.h"

typedef enum TokenType {
        TOK_END,
        TOK_REF,
        TOK_STRING,
        TOK_NUMBER,
        TOK_LPAREN,
        TOK_RPAREN,
        TOK_NOT,
        TOK_AND,
        TOK_OR,
        TOK_EQ,
        TOK_NE,
        TOK_LT,
        TOK_LE,
        TOK_GT,
        TOK_GE,
        TOK_MATCH,
} TokenType;

typedef struct Token {
        TokenType type;
        size_t offset, length;
} Token;

typedef struct Parser {
        const char *text;
        size_t pos;               /* where the lexer goes on */
        Token tok;                /* the current token */
        unsigned depth;           /* '(' and '!' open around the current token */
        char *error;
        size_t error_size;
} Parser;

static inline bool token_is_value(TokenType t) {
        return t == TOK_REF || t == TOK_STRING || t == TOK_NUMBER;
}

/* The comparison tokens are in the order of ExprOp: the parser maps one to the other by subtracting. */
_Static_assert(TOK_NE - TOK_EQ == EXPR_OP_NE && TOK_LT - TOK_EQ == EXPR_OP_LT && TOK_LE - TOK_EQ == EXPR_OP_LE &&
               TOK_GT - TOK_EQ == EXPR_OP_GT && TOK_GE - TOK_EQ == EXPR_OP_GE && TOK_MATCH - TOK_EQ == EXPR_OP_MATCH,
               "comparison tokens and ExprOp differ");

static inline bool token_is_comparison(TokenType t) {
        return t >= TOK_EQ && t <= TOK_MATCH;
}

#define parse_error(P, r, offset, ...) expr_error((P)->error, (P)->error_size, (r), (offset), __VA_ARGS__)

/* Reads the token at P->pos into P->tok; a negative errno (with the message in P->error) for
 * text that is no token. */
int lex(Parser *P);

/* How 't' is shown in messages: {{x}}, 'a string', 12, '&&', or "the end of the expression". */
const char *token_describe(const Parser *P, const Token *t, char *buf, size_t size);
