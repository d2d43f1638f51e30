/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* expr-eval.c: evaluation of a parsed "when" expression against looked-up values, and the
 * exact decimal comparison of values that are numbers. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config/expr-internal.h"
#include "shared/util.h"

bool expr_is_number(const char *s) {
        if (*s == '+' || *s == '-')
                s++;
        if (!ascii_isdigit(*s))
                return false;
        while (ascii_isdigit(*s))
                s++;
        if (*s == '.') {
                s++;
                if (!ascii_isdigit(*s))
                        return false;
                while (ascii_isdigit(*s))
                        s++;
        }
        return *s == 0;
}

/* A number as sign, integer digits without leading zeros and fraction digits without trailing
 * zeros: two numbers are equal exactly when these are. */
typedef struct Decimal {
        bool negative;
        const char *integer;
        size_t n_integer;
        const char *fraction;
        size_t n_fraction;
} Decimal;

static void decimal_split(const char *s, Decimal *d) {
        *d = (Decimal) {};
        if (*s == '+' || *s == '-')
                d->negative = *s++ == '-';
        while (*s == '0')
                s++;
        d->integer = s;
        while (ascii_isdigit(*s))
                s++;
        d->n_integer = (size_t) (s - d->integer);
        if (*s == '.') {
                d->fraction = ++s;
                d->n_fraction = strlen(s);
                while (d->n_fraction > 0 && s[d->n_fraction - 1] == '0')
                        d->n_fraction--;
        }
        if (d->n_integer == 0 && d->n_fraction == 0)
                d->negative = false;   /* -0 == 0 */
}

static int sign_of(int r) {
        return (r > 0) - (r < 0);
}

static int magnitude_compare(const Decimal *a, const Decimal *b) {
        size_t n;
        int r;

        if (a->n_integer != b->n_integer)
                return a->n_integer < b->n_integer ? -1 : 1;
        if (a->n_integer > 0) {
                r = memcmp(a->integer, b->integer, a->n_integer);
                if (r != 0)
                        return sign_of(r);
        }
        n = MIN(a->n_fraction, b->n_fraction);
        if (n > 0) {
                r = memcmp(a->fraction, b->fraction, n);
                if (r != 0)
                        return sign_of(r);
        }
        /* the longer fraction has a non-zero digit more */
        if (a->n_fraction != b->n_fraction)
                return a->n_fraction < b->n_fraction ? -1 : 1;
        return 0;
}

int expr_number_compare(const char *a, const char *b) {
        Decimal x, y;

        decimal_split(a, &x);
        decimal_split(b, &y);
        if (x.negative != y.negative)
                return x.negative ? -1 : 1;
        return x.negative ? -magnitude_compare(&x, &y) : magnitude_compare(&x, &y);
}

typedef struct Eval {
        expr_lookup_t lookup;
        void *userdata;
        json_t *seen;
        char *error;
        size_t error_size;
} Eval;

/* Records what the evaluation saw of 'ref': its value, or null. */
static int seen_add(Eval *E, const ExprRef *ref, const char *value) {
        json_t *v;

        if (!E->seen)
                return 0;
        if (!value)
                v = json_null();
        else {
                v = json_string(value);
                if (!v) {
                        /* not valid UTF-8: every byte outside ASCII as \xNN */
                        _cleanup_free_ char *escaped = malloc(strlen(value) * 4 + 1);
                        size_t k = 0;

                        if (!escaped)
                                return -ENOMEM;
                        for (const char *p = value; *p; p++) {
                                if ((unsigned char) *p < 0x80)
                                        escaped[k++] = *p;
                                else
                                        k += (size_t) sprintf(escaped + k, "\\x%02x", (unsigned) (unsigned char) *p);
                        }
                        escaped[k] = 0;
                        v = json_string(escaped);
                }
        }
        if (!v || json_object_set_new(E->seen, ref->text, v) < 0)
                return -ENOMEM;
        return 0;
}

static int value_get(Eval *E, const ExprValue *v, const char **ret) {
        const char *value = NULL;
        int r, k;

        if (v->kind != EXPR_VALUE_REF) {
                *ret = v->literal;
                return 0;
        }
        r = E->lookup ? E->lookup(&v->ref, E->userdata, &value) : 0;
        if (r < 0)
                return expr_error(E->error, E->error_size, r, v->offset, "looking up %s failed: %s", v->ref.text,
                                  strerror(-r));
        if (r == 0)
                value = NULL;
        k = seen_add(E, &v->ref, value);
        if (k < 0)
                return k;
        if (!value)
                return expr_error(E->error, E->error_size, -ENXIO, v->offset, "%s has no value", v->ref.text);
        *ret = value;
        return 0;
}

static int not_a_number(Eval *E, const Expr *e, const ExprValue *v, const char *value, const char *side) {
        char shown[EXPR_SHOWN_SIZE];

        expr_show_bytes(value, strlen(value), shown, sizeof shown);
        if (v->kind == EXPR_VALUE_REF)
                return expr_error(E->error, E->error_size, -EDOM, e->offset,
                                  "'%s' needs numbers: %s side %s is '%s', not a number",
                                  expr_op_to_string(e->op), side, v->ref.text, shown);
        return expr_error(E->error, E->error_size, -EDOM, e->offset, "'%s' needs numbers: %s side '%s' is not a number",
                          expr_op_to_string(e->op), side, shown);
}

static int eval_compare(Eval *E, const Expr *e, bool *ret) {
        const char *a, *b;
        bool numeric;
        int r, c;

        r = value_get(E, &e->left, &a);
        if (r < 0)
                return r;
        r = value_get(E, &e->right, &b);
        if (r < 0)
                return r;

        if (e->type == EXPR_MATCH) {
                r = regexec(&e->regex, a, 0, NULL, 0);
                if (r != 0 && r != REG_NOMATCH) {
                        char msg[128];

                        regerror(r, &e->regex, msg, sizeof msg);
                        return expr_error(E->error, E->error_size, -ENOMEM, e->offset, "matching failed: %s", msg);
                }
                *ret = r == 0;
                return 0;
        }

        numeric = expr_is_number(a) && expr_is_number(b);
        if (!numeric && e->op != EXPR_OP_EQ && e->op != EXPR_OP_NE) {
                if (!expr_is_number(a))
                        return not_a_number(E, e, &e->left, a, "left");
                return not_a_number(E, e, &e->right, b, "right");
        }
        c = numeric ? expr_number_compare(a, b) : strcmp(a, b);
        switch (e->op) {
        case EXPR_OP_EQ:
                *ret = c == 0;
                break;
        case EXPR_OP_NE:
                *ret = c != 0;
                break;
        case EXPR_OP_LT:
                *ret = c < 0;
                break;
        case EXPR_OP_LE:
                *ret = c <= 0;
                break;
        case EXPR_OP_GT:
                *ret = c > 0;
                break;
        case EXPR_OP_GE:
                *ret = c >= 0;
                break;
        default:
                return -EINVAL;
        }
        return 0;
}

/* Recursion is bounded: the tree is at most about EXPR_DEPTH_MAX deep (expr-internal.h). */
static int eval_node(Eval *E, const Expr *e, bool *ret) {
        bool v;
        int r;

        switch (e->type) {
        case EXPR_OR:
        case EXPR_AND: {
                /* the first operand equal to 'decides' decides: true for '||', false for '&&' */
                bool decides = e->type == EXPR_OR;

                for (size_t i = 0; i < e->n_children; i++) {
                        r = eval_node(E, e->children[i], &v);
                        if (r < 0)
                                return r;
                        if (v == decides) {
                                *ret = decides;
                                return 0;
                        }
                }
                *ret = !decides;
                return 0;
        }
        case EXPR_NOT:
                r = eval_node(E, e->children[0], &v);
                if (r < 0)
                        return r;
                *ret = !v;
                return 0;
        case EXPR_COMPARE:
        case EXPR_MATCH:
                return eval_compare(E, e, ret);
        }
        return -EINVAL;
}

int expr_eval(const Expr *e, expr_lookup_t lookup, void *userdata, json_t *seen, bool *ret, char *error,
              size_t error_size) {
        Eval E = { .lookup = lookup, .userdata = userdata, .seen = seen, .error = error, .error_size = error_size };
        bool v = false;
        int r;

        if (error && error_size > 0)
                error[0] = 0;
        if (seen && !json_is_object(seen))
                return -EINVAL;
        r = eval_node(&E, e, &v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}
