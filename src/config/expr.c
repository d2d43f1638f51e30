/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* expr.c: the recursive-descent parser of "when" expressions (grammar in expr.h; tokens in
 * expr-lex.c), the walk of their references, and freeing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/expr-lex.h"
#include "config/template.h"
#include "shared/util.h"

static const char *const ref_kind_table[_EXPR_REF_KIND_MAX] = {
        [EXPR_REF_PARAM] = "param",
        [EXPR_REF_STEP_VALUE] = "step-value",
        [EXPR_REF_STEP_EXIT_STATUS] = "step-exit-status",
};

const char *expr_ref_kind_to_string(ExprRefKind k) {
        if (k < 0 || k >= _EXPR_REF_KIND_MAX)
                return NULL;
        return ref_kind_table[k];
}

static bool step_id_is_valid(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(s[i] >= 'a' && s[i] <= 'z') && !ascii_isdigit(s[i]) && s[i] != '_' && s[i] != '-')
                        return false;
        return true;
}

static void value_done(ExprValue *v) {
        free(v->literal);
        free((char *) v->ref.step);
        free((char *) v->ref.name);
        free((char *) v->ref.text);
        *v = (ExprValue) {};
}

/* Splits the reference token 't' into 'v': {{name}}, {{steps.ID.NAME}} or {{steps.ID.exit_status}}. */
static int value_from_ref(Parser *P, const Token *t, ExprValue *v) {
        const char *a = P->text + t->offset + 2, *b = P->text + t->offset + t->length - 2, *dot1, *dot2;
        char shown[EXPR_SHOWN_SIZE];

        while (a < b && (*a == ' ' || *a == '\t'))
                a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
                b--;
        dot1 = memchr(a, '.', (size_t) (b - a));
        if (!dot1) {
                if (!template_name_is_valid(a, (size_t) (b - a)))
                        goto invalid;
                v->ref.kind = EXPR_REF_PARAM;
                v->ref.name = strndup(a, (size_t) (b - a));
                if (!v->ref.name)
                        return -ENOMEM;
                return asprintf_safe((char **) &v->ref.text, "{{%s}}", v->ref.name);
        }
        if (dot1 - a != 5 || memcmp(a, "steps", 5) != 0)
                goto invalid;
        dot2 = memchr(dot1 + 1, '.', (size_t) (b - dot1 - 1));
        if (!dot2 || !step_id_is_valid(dot1 + 1, (size_t) (dot2 - dot1 - 1)))
                goto invalid;
        v->ref.step = strndup(dot1 + 1, (size_t) (dot2 - dot1 - 1));
        if (!v->ref.step)
                return -ENOMEM;
        if ((size_t) (b - dot2 - 1) == strlen("exit_status") && memcmp(dot2 + 1, "exit_status", strlen("exit_status")) == 0) {
                v->ref.kind = EXPR_REF_STEP_EXIT_STATUS;
                return asprintf_safe((char **) &v->ref.text, "{{steps.%s.exit_status}}", v->ref.step);
        }
        if (!template_name_is_valid(dot2 + 1, (size_t) (b - dot2 - 1)))
                goto invalid;
        v->ref.kind = EXPR_REF_STEP_VALUE;
        v->ref.name = strndup(dot2 + 1, (size_t) (b - dot2 - 1));
        if (!v->ref.name)
                return -ENOMEM;
        return asprintf_safe((char **) &v->ref.text, "{{steps.%s.%s}}", v->ref.step, v->ref.name);

invalid:
        return parse_error(P, -EINVAL, t->offset,
                           "invalid reference %s (expected {{name}}, {{steps.ID.NAME}} or {{steps.ID.exit_status}}, "
                           "where a name is [A-Za-z_][A-Za-z0-9_]{0,63} and an ID [a-z0-9_-]+)",
                           expr_show_bytes(P->text + t->offset, t->length, shown, sizeof shown));
}

/* Turns the current token, a value, into 'v' (the caller moves past it: it may check it first). */
static int parse_value(Parser *P, ExprValue *v) {
        const Token *t = &P->tok;
        int r;

        *v = (ExprValue) { .offset = t->offset };
        switch (t->type) {
        case TOK_REF:
                v->kind = EXPR_VALUE_REF;
                v->ref.offset = t->offset;
                r = value_from_ref(P, t, v);
                if (r < 0) {
                        value_done(v);
                        return r;
                }
                break;
        case TOK_STRING: {
                const char *s = P->text + t->offset + 1, *end = P->text + t->offset + t->length - 1;
                size_t k = 0;

                v->kind = EXPR_VALUE_STRING;
                v->literal = malloc((size_t) (end - s) + 1);
                if (!v->literal)
                        return -ENOMEM;
                for (; s < end; s++) {
                        v->literal[k++] = *s;
                        if (*s == '\'')
                                s++;      /* '' is one quote */
                }
                v->literal[k] = 0;
                break;
        }
        case TOK_NUMBER:
                v->kind = EXPR_VALUE_NUMBER;
                v->literal = strndup(P->text + t->offset, t->length);
                if (!v->literal)
                        return -ENOMEM;
                break;
        default:
                return -EINVAL;   /* callers check token_is_value() first */
        }
        return 0;
}

Expr *expr_free(Expr *e) {
        if (!e)
                return NULL;
        for (size_t i = 0; i < e->n_children; i++)
                expr_free(e->children[i]);
        free(e->children);
        value_done(&e->left);
        value_done(&e->right);
        if (e->regex_compiled)
                regfree(&e->regex);
        return mfree(e);
}

static Expr *node_new(ExprType type, size_t offset) {
        Expr *e = calloc(1, sizeof(Expr));

        if (e) {
                e->type = type;
                e->offset = offset;
        }
        return e;
}

/* Appends *child to e's children, taking it. */
static int node_add_child(Expr *e, Expr **child, size_t *allocated) {
        if (GREEDY_REALLOC(e->children, *allocated, e->n_children + 1) < 0)
                return -ENOMEM;
        e->children[e->n_children++] = TAKE_PTR(*child);
        return 0;
}

/* The error for a token that cannot follow a complete condition. */
static int unexpected_after_condition(Parser *P, const char *expected) {
        char d[EXPR_SHOWN_SIZE];

        if (token_is_comparison(P->tok.type))
                return parse_error(P, -EINVAL, P->tok.offset,
                                   "comparisons do not chain: %s follows a complete comparison (join them with '&&' or '||')",
                                   token_describe(P, &P->tok, d, sizeof d));
        return parse_error(P, -EINVAL, P->tok.offset, "expected %s, found %s", expected,
                           token_describe(P, &P->tok, d, sizeof d));
}

static int parse_chain(Parser *P, ExprType type, Expr **ret);

static int depth_enter(Parser *P) {
        if (P->depth >= EXPR_DEPTH_MAX)
                return parse_error(P, -E2BIG, P->tok.offset, "nested deeper than %d levels of '(' and '!'",
                                   EXPR_DEPTH_MAX);
        P->depth++;
        return 0;
}

/* Checks and compiles the pattern of '=~' (node->right, a string literal). */
static int pattern_compile(Parser *P, Expr *node) {
        const char *pattern = node->right.literal;
        char shown[EXPR_SHOWN_SIZE], msg[256];
        int r;

        r = expr_pattern_check(pattern, msg, sizeof msg);
        if (r < 0)
                return parse_error(P, r, node->right.offset, "%s", msg);
        r = regcomp(&node->regex, pattern, REG_EXTENDED | REG_NOSUB);
        if (r != 0) {
                /* no regfree(): after a failed regcomp() the regex_t holds nothing */
                regerror(r, &node->regex, msg, sizeof msg);
                return parse_error(P, r == REG_ESPACE ? -ENOMEM : -EINVAL, node->right.offset,
                                   "invalid regular expression '%s': %s",
                                   expr_show_bytes(pattern, strlen(pattern), shown, sizeof shown), msg);
        }
        node->regex_compiled = true;
        return 0;
}

/* For '<', '<=', '>', '>=': a literal operand must be a number. */
static int check_ordering_operand(Parser *P, const Expr *node, const ExprValue *v, const char *side) {
        char shown[EXPR_SHOWN_SIZE];

        if (v->kind != EXPR_VALUE_STRING || expr_is_number(v->literal))
                return 0;
        return parse_error(P, -EINVAL, v->offset, "'%s' needs numbers: %s side '%s' is not a number",
                           expr_op_to_string(node->op), side,
                           expr_show_bytes(v->literal, strlen(v->literal), shown, sizeof shown));
}

static int parse_comparison(Parser *P, Expr **ret) {
        _cleanup_(expr_freep) Expr *node = NULL;
        char d1[EXPR_SHOWN_SIZE], d2[EXPR_SHOWN_SIZE];
        Token left;
        int r;

        if (!token_is_value(P->tok.type))
                return parse_error(P, -EINVAL, P->tok.offset,
                                   "expected a condition (a comparison, '(' or '!'), found %s",
                                   token_describe(P, &P->tok, d1, sizeof d1));
        node = node_new(EXPR_COMPARE, 0);
        if (!node)
                return -ENOMEM;
        left = P->tok;
        r = parse_value(P, &node->left);
        if (r < 0)
                return r;
        r = lex(P);
        if (r < 0)
                return r;

        if (!token_is_comparison(P->tok.type))
                return parse_error(P, -EINVAL, P->tok.offset,
                                   "expected a comparison operator (==, !=, <, <=, >, >=, =~) after %s, found %s "
                                   "(a value is not a condition)",
                                   token_describe(P, &left, d1, sizeof d1), token_describe(P, &P->tok, d2, sizeof d2));
        node->op = (ExprOp) (P->tok.type - TOK_EQ);
        node->offset = P->tok.offset;
        if (node->op >= EXPR_OP_LT && node->op <= EXPR_OP_GE) {
                r = check_ordering_operand(P, node, &node->left, "left");
                if (r < 0)
                        return r;
        }
        r = lex(P);
        if (r < 0)
                return r;

        if (node->op == EXPR_OP_MATCH) {
                node->type = EXPR_MATCH;
                if (P->tok.type != TOK_STRING)
                        return parse_error(P, -EINVAL, P->tok.offset,
                                           "expected a 'string' pattern after '=~', found %s (a pattern is a literal)",
                                           token_describe(P, &P->tok, d1, sizeof d1));
        } else if (!token_is_value(P->tok.type))
                return parse_error(P, -EINVAL, P->tok.offset,
                                   "expected a value ({{name}}, 'string' or number) after '%s', found %s",
                                   expr_op_to_string(node->op), token_describe(P, &P->tok, d1, sizeof d1));
        r = parse_value(P, &node->right);
        if (r < 0)
                return r;
        if (node->op >= EXPR_OP_LT && node->op <= EXPR_OP_GE) {
                r = check_ordering_operand(P, node, &node->right, "right");
                if (r < 0)
                        return r;
        }
        if (node->op == EXPR_OP_MATCH) {
                r = pattern_compile(P, node);
                if (r < 0)
                        return r;
        }
        r = lex(P);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(node);
        return 0;
}

static int parse_unary(Parser *P, Expr **ret) {
        _cleanup_(expr_freep) Expr *node = NULL, *child = NULL;
        Token t = P->tok;
        char d[EXPR_SHOWN_SIZE];
        int r;

        switch (t.type) {
        case TOK_NOT:
                r = depth_enter(P);
                if (r < 0)
                        return r;
                r = lex(P);
                if (r < 0)
                        return r;
                if (P->tok.type != TOK_NOT && P->tok.type != TOK_LPAREN)
                        return parse_error(P, -EINVAL, P->tok.offset,
                                           "expected '(' after '!', found %s ('!' negates a condition in "
                                           "parentheses: !({{x}} == 'y'))",
                                           token_describe(P, &P->tok, d, sizeof d));
                r = parse_unary(P, &child);
                if (r < 0)
                        return r;
                P->depth--;
                node = node_new(EXPR_NOT, t.offset);
                if (!node)
                        return -ENOMEM;
                node->children = malloc(sizeof(Expr *));
                if (!node->children)
                        return -ENOMEM;
                node->children[0] = TAKE_PTR(child);
                node->n_children = 1;
                *ret = TAKE_PTR(node);
                return 0;

        case TOK_LPAREN: {
                char expected[64];

                r = depth_enter(P);
                if (r < 0)
                        return r;
                r = lex(P);
                if (r < 0)
                        return r;
                r = parse_chain(P, EXPR_OR, &child);
                if (r < 0)
                        return r;
                if (P->tok.type != TOK_RPAREN) {
                        snprintf(expected, sizeof expected, "')' to close the '(' at offset %zu", t.offset);
                        return unexpected_after_condition(P, expected);
                }
                r = lex(P);
                if (r < 0)
                        return r;
                P->depth--;
                *ret = TAKE_PTR(child);
                return 0;
        }

        default:
                return parse_comparison(P, ret);
        }
}

/* expr := and ('||' and)*, and := unary ('&&' unary)*: one n-ary node per chain. */
static int parse_chain(Parser *P, ExprType type, Expr **ret) {
        _cleanup_(expr_freep) Expr *first = NULL, *node = NULL;
        TokenType op = type == EXPR_OR ? TOK_OR : TOK_AND;
        size_t allocated = 0;
        int r;

        r = type == EXPR_OR ? parse_chain(P, EXPR_AND, &first) : parse_unary(P, &first);
        if (r < 0)
                return r;
        if (P->tok.type != op) {
                *ret = TAKE_PTR(first);
                return 0;
        }
        node = node_new(type, P->tok.offset);
        if (!node)
                return -ENOMEM;
        r = node_add_child(node, &first, &allocated);
        if (r < 0)
                return r;
        while (P->tok.type == op) {
                _cleanup_(expr_freep) Expr *next = NULL;

                r = lex(P);
                if (r < 0)
                        return r;
                r = type == EXPR_OR ? parse_chain(P, EXPR_AND, &next) : parse_unary(P, &next);
                if (r < 0)
                        return r;
                r = node_add_child(node, &next, &allocated);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(node);
        return 0;
}

int expr_parse(const char *text, Expr **ret, char *error, size_t error_size) {
        Parser P = { .text = text, .error = error, .error_size = error_size };
        _cleanup_(expr_freep) Expr *e = NULL;
        int r;

        if (error && error_size > 0)
                error[0] = 0;
        if (strnlen(text, EXPR_TEXT_MAX + 1) > EXPR_TEXT_MAX) {
                if (error && error_size > 0)
                        snprintf(error, error_size, "expression is longer than %d bytes", EXPR_TEXT_MAX);
                return -E2BIG;
        }
        r = lex(&P);
        if (r < 0)
                return r;
        r = parse_chain(&P, EXPR_OR, &e);
        if (r < 0)
                return r;
        if (P.tok.type == TOK_RPAREN)
                return parse_error(&P, -EINVAL, P.tok.offset, "')' without a matching '('");
        if (P.tok.type != TOK_END)
                return unexpected_after_condition(&P, "'&&', '||' or the end of the expression");
        *ret = TAKE_PTR(e);
        return 0;
}

static int foreach_value(const ExprValue *v, int (*cb)(const ExprRef *ref, void *userdata), void *userdata) {
        int r;

        if (v->kind != EXPR_VALUE_REF)
                return 0;
        r = cb(&v->ref, userdata);
        return MIN(r, 0);
}

int expr_foreach_ref(const Expr *e, int (*cb)(const ExprRef *ref, void *userdata), void *userdata) {
        int r;

        for (size_t i = 0; i < e->n_children; i++) {
                r = expr_foreach_ref(e->children[i], cb, userdata);
                if (r < 0)
                        return r;
        }
        if (e->type == EXPR_COMPARE || e->type == EXPR_MATCH) {
                r = foreach_value(&e->left, cb, userdata);
                if (r < 0)
                        return r;
                return foreach_value(&e->right, cb, userdata);
        }
        return 0;
}
