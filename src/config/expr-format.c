/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* expr-format.c: the canonical text of a parsed "when" expression. */
#include <stdio.h>

#include "config/expr-internal.h"
#include "shared/util.h"

static void format_value(FILE *f, const ExprValue *v) {
        switch (v->kind) {
        case EXPR_VALUE_REF:
                fputs(v->ref.text, f);
                break;
        case EXPR_VALUE_NUMBER:
                fputs(v->literal, f);
                break;
        case EXPR_VALUE_STRING:
                fputc('\'', f);
                for (const char *p = v->literal; *p; p++)
                        fputs(*p == '\'' ? "''" : (char[]) { *p, 0 }, f);
                fputc('\'', f);
                break;
        }
}

/* Recursion is bounded like the tree's depth. */
static void format_node(FILE *f, const Expr *e) {
        switch (e->type) {
        case EXPR_OR:
        case EXPR_AND:
                for (size_t i = 0; i < e->n_children; i++) {
                        const Expr *c = e->children[i];
                        /* keep the tree: '||' in a chain, or a chain of the same operator, in parentheses */
                        bool parens = c->type == EXPR_OR || c->type == e->type;

                        if (i > 0)
                                fputs(e->type == EXPR_OR ? " || " : " && ", f);
                        if (parens)
                                fputc('(', f);
                        format_node(f, c);
                        if (parens)
                                fputc(')', f);
                }
                break;
        case EXPR_NOT:
                fputc('!', f);
                if (e->children[0]->type == EXPR_NOT)
                        format_node(f, e->children[0]);
                else {
                        fputc('(', f);
                        format_node(f, e->children[0]);
                        fputc(')', f);
                }
                break;
        case EXPR_COMPARE:
        case EXPR_MATCH:
                format_value(f, &e->left);
                fprintf(f, " %s ", expr_op_to_string(e->op));
                format_value(f, &e->right);
                break;
        }
}

int expr_format(const Expr *e, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r = 0;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        format_node(f, e);
        if (ferror(f))
                r = -ENOMEM;
        if (fclose(f) != 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        return 0;
}
