/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* expr-lex.c: the tokens of "when" expressions, and the messages that show them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config/expr-lex.h"
#include "shared/util.h"

static const char *const op_table[_EXPR_OP_MAX] = {
        [EXPR_OP_EQ] = "==",
        [EXPR_OP_NE] = "!=",
        [EXPR_OP_LT] = "<",
        [EXPR_OP_LE] = "<=",
        [EXPR_OP_GT] = ">",
        [EXPR_OP_GE] = ">=",
        [EXPR_OP_MATCH] = "=~",
};

const char *expr_op_to_string(ExprOp op) {
        if (op < 0 || op >= _EXPR_OP_MAX)
                return NULL;
        return op_table[op];
}

int expr_error(char *error, size_t error_size, int r, size_t offset, const char *fmt, ...) {
        va_list ap;
        int n;

        if (!error || error_size == 0)
                return r;
        n = snprintf(error, error_size, "at offset %zu: ", offset);
        if (n < 0 || (size_t) n >= error_size)
                return r;
        va_start(ap, fmt);
        vsnprintf(error + n, error_size - (size_t) n, fmt, ap);
        va_end(ap);
        return r;
}

const char *expr_show_bytes(const char *s, size_t n, char *buf, size_t size) {
        size_t k = 0;

        for (size_t i = 0; i < n && i < EXPR_SHOWN_MAX && k + 5 < size; i++) {
                unsigned char c = (unsigned char) s[i];

                if (c >= 0x20 && c < 0x7f)
                        buf[k++] = (char) c;
                else
                        k += (size_t) snprintf(buf + k, size - k, "\\x%02x", c);
        }
        if (n > EXPR_SHOWN_MAX && k + 4 < size) {
                memcpy(buf + k, "…", strlen("…"));
                k += strlen("…");
        }
        buf[k] = 0;
        return buf;
}

const char *token_describe(const Parser *P, const Token *t, char *buf, size_t size) {
        char shown[EXPR_SHOWN_SIZE];

        if (t->type == TOK_END)
                return "the end of the expression";
        expr_show_bytes(P->text + t->offset, t->length, shown, sizeof shown);
        if (token_is_value(t->type))
                snprintf(buf, size, "%s", shown);
        else
                snprintf(buf, size, "'%s'", shown);
        return buf;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_word_char(char c) {
        return ascii_isalpha(c) || ascii_isdigit(c) || c == '_' || c == '.';
}

static int lex_number(Parser *P, size_t i, Token *t) {
        const char *s = P->text;
        size_t j = i;
        bool ok = true;
        char shown[EXPR_SHOWN_SIZE];

        if (s[j] == '+' || s[j] == '-')
                j++;
        if (!ascii_isdigit(s[j]))
                return parse_error(P, -EINVAL, i, "unexpected '%c'", s[i]);
        while (ascii_isdigit(s[j]))
                j++;
        if (s[j] == '.') {
                j++;
                ok = ascii_isdigit(s[j]);
                while (ascii_isdigit(s[j]))
                        j++;
        }
        if (!ok || is_word_char(s[j])) {
                while (is_word_char(s[j]))
                        j++;
                return parse_error(P, -EINVAL, i, "invalid number '%s' (numbers are [+-]digits[.digits])",
                                   expr_show_bytes(s + i, j - i, shown, sizeof shown));
        }
        t->type = TOK_NUMBER;
        t->length = j - i;
        return 0;
}

int lex(Parser *P) {
        const char *s = P->text;
        size_t i = P->pos;
        Token t = {};
        int r;

        while (is_blank(s[i]))
                i++;
        t.offset = i;
        t.length = 1;
        switch (s[i]) {
        case 0:
                t.type = TOK_END;
                t.length = 0;
                break;
        case '(':
                t.type = TOK_LPAREN;
                break;
        case ')':
                t.type = TOK_RPAREN;
                break;
        case '!':
                if (s[i + 1] == '=') {
                        t.type = TOK_NE;
                        t.length = 2;
                } else
                        t.type = TOK_NOT;
                break;
        case '=':
                if (s[i + 1] != '=' && s[i + 1] != '~')
                        return parse_error(P, -EINVAL, i, "unexpected '=' (compare with '==', match with '=~')");
                t.type = s[i + 1] == '=' ? TOK_EQ : TOK_MATCH;
                t.length = 2;
                break;
        case '<':
        case '>':
                if (s[i + 1] == '=') {
                        t.type = s[i] == '<' ? TOK_LE : TOK_GE;
                        t.length = 2;
                } else
                        t.type = s[i] == '<' ? TOK_LT : TOK_GT;
                break;
        case '&':
        case '|':
                if (s[i + 1] != s[i])
                        return parse_error(P, -EINVAL, i, "unexpected '%c' (did you mean '%c%c'?)", s[i], s[i], s[i]);
                t.type = s[i] == '&' ? TOK_AND : TOK_OR;
                t.length = 2;
                break;
        case '\'': {
                size_t j = i + 1;

                for (;;) {
                        if (s[j] == 0)
                                return parse_error(P, -EINVAL, i, "unterminated string (no closing \"'\")");
                        if (s[j] == '\'') {
                                if (s[j + 1] != '\'')
                                        break;
                                j++;
                        }
                        j++;
                }
                t.type = TOK_STRING;
                t.length = j + 1 - i;
                break;
        }
        case '{': {
                const char *close;

                if (s[i + 1] != '{')
                        return parse_error(P, -EINVAL, i, "unexpected '{' (a reference is {{name}})");
                close = strstr(s + i + 2, "}}");
                if (!close)
                        return parse_error(P, -EINVAL, i, "'{{' without '}}'");
                t.type = TOK_REF;
                t.length = (size_t) (close + 2 - (s + i));
                break;
        }
        default:
                if (s[i] == '+' || s[i] == '-' || ascii_isdigit(s[i])) {
                        r = lex_number(P, i, &t);
                        if (r < 0)
                                return r;
                        break;
                }
                if ((unsigned char) s[i] >= 0x20 && (unsigned char) s[i] < 0x7f)
                        return parse_error(P, -EINVAL, i, "unexpected character '%c'%s", s[i],
                                           ascii_isalpha(s[i]) ? " (strings are 'quoted', references {{name}})" : "");
                return parse_error(P, -EINVAL, i, "unexpected byte \\x%02x", (unsigned) (unsigned char) s[i]);
        }
        P->tok = t;
        P->pos = i + t.length;
        return 0;
}
