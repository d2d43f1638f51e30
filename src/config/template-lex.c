/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* template-lex.c: the lexical half of the template check (see template-check.c): quotes,
 * escapes, $…, `…`, arithmetic, words and assignments, and where a reference stands in them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config/template-check-internal.h"

bool is_pl(const char *p) {
        return p[0] == '{' && p[1] == '{';
}

static bool is_meta(char c) {
        return c == 0 || strchr(" \t\n;&|<>()", c);
}

int refuse(Lexer *L, size_t off, const char *fmt, ...) {
        va_list ap;

        L->bad = off;
        va_start(ap, fmt);
        vsnprintf(L->problem, TEMPLATE_PROBLEM_MAX, fmt, ap);
        va_end(ap);
        return 1;
}

/* At a "{{": records the reference, refuses it if the context says so, moves past it. */
static int placement(Lexer *L) {
        const char *start, *end, *name;
        size_t len, off = (size_t) (L->p - L->s);
        int r;

        r = template_next(L->p, &start, &end, &name, &len);
        if (r <= 0 || start != L->p)
                return -EINVAL;
        if (L->first_pl == NONE)
                L->first_pl = off;
        if (L->refuse)
                return refuse(L, off, "%s", L->refuse);
        if (L->uncertain)
                return refuse(L, off, "follows %s, which runbookd cannot follow with certainty", L->uncertain);
        L->p = end;
        return 0;
}

/* A reference in a context that refuses it ('why' unless an outer context already says why). */
int placement_refused(Lexer *L, const char *why) {
        const char *saved = L->refuse;
        int r;

        L->refuse = saved ?: why;
        r = placement(L);
        L->refuse = saved;
        return r;
}

/* At a backslash: a reference right after it would lose its opening quote. */
static int skip_escape(Lexer *L) {
        if (is_pl(L->p + 1)) {
                L->p++;
                return placement_refused(L, "stands right after a backslash, which would make its opening quote a plain character");
        }
        L->p += L->p[1] ? 2 : 1;
        return 0;
}

bool enter(Lexer *L, const char *why, const char **ret_saved) {
        if (++L->depth > DEPTH_MAX) {
                /* too deep to follow: give up on the rest, failing closed */
                L->unterminated = "nesting deeper than 32 levels";
                L->p += strlen(L->p);
                return false;
        }
        *ret_saved = L->refuse;
        L->refuse = L->refuse ?: why;
        return true;
}

int leave(Lexer *L, const char *saved, int r) {
        L->refuse = saved;
        L->depth--;
        return r;
}

/* From the opening character at L->p up to 'closer' (with 'escapes', one not escaped by a
 * backslash), refusing a reference inside for 'why' (unless something outside already refuses
 * one); 'what' names the construct when it is not closed. */
static int skip_until(Lexer *L, char closer, bool escapes, const char *why, const char *what) {
        const char *saved = L->refuse;
        int r = 0;

        L->refuse = saved ?: why;
        for (L->p++;;) {
                if (!*L->p) {
                        L->unterminated = what;
                        break;
                }
                if (*L->p == closer) {
                        L->p++;
                        break;
                }
                if (is_pl(L->p)) {
                        r = placement(L);
                        break;
                }
                if (escapes && *L->p == '\\') {
                        r = skip_escape(L);
                        if (r)
                                break;
                        continue;
                }
                L->p++;
        }
        L->refuse = saved;
        return r;
}

/* At ' : up to the closing ' . */
static int skip_squote(Lexer *L) {
        return skip_until(L, '\'', false, "stands inside '…' quotes, where its own quotes would end and restart them",
                          "a '…' quote");
}

/* At ' of $'…' (bash): backslash escapes inside. */
static int skip_ansi(Lexer *L) {
        return skip_until(L, '\'', true, "stands inside $'…' quotes", "a $'…' quote");
}

static int skip_dollar(Lexer *L, bool quoted);
static int skip_dquote(Lexer *L);

/* At ` : up to the first backquote not preceded by a backslash. */
static int skip_backtick(Lexer *L) {
        return skip_until(L, '`', true, "stands inside `…`, whose text is parsed again as a command",
                          "a `…` command substitution");
}

/* Inside "…", ${…} or an arithmetic expression, at L->p: a reference, an escape, $… or `…`, with
 * *r what skipping it returned; false (and nothing done) for any other character. */
static bool skip_expansion(Lexer *L, int *r) {
        char c = *L->p;

        if (is_pl(L->p))
                *r = placement(L);
        else if (c == '\\')
                *r = skip_escape(L);
        else if (c == '$')
                *r = skip_dollar(L, true);
        else if (c == '`')
                *r = skip_backtick(L);
        else
                return false;
        return true;
}

/* The inside of "…" (closer '"') or of ${…} (closer '}'), from L->p + skip up to 'closer',
 * following references, escapes, $… and `…`; 'why' and 'what' as for skip_until(). Inside ${…},
 * quotes and braces make the rest uncertain: their rules differ between shells and contexts. */
static int skip_nested(Lexer *L, size_t skip, char closer, const char *why, const char *what) {
        const char *saved;
        int r = 0;

        if (!enter(L, why, &saved))
                return 0;
        for (L->p += skip;;) {
                char c = *L->p;

                if (!c) {
                        L->unterminated = what;
                        break;
                }
                if (c == closer) {
                        L->p++;
                        break;
                }
                if (closer == '}' && (c == '"' || c == '\'' || (c == '{' && !is_pl(L->p)))) {
                        L->uncertain = L->uncertain ?: "quotes or braces inside ${…}";
                        r = c == '"' ? skip_dquote(L) : c == '\'' ? skip_squote(L) : (L->p++, 0);
                } else if (!skip_expansion(L, &r))
                        L->p++;
                if (r)
                        break;
        }
        return leave(L, saved, r);
}

/* At " : up to the closing " , following $…, `…` and escapes inside. */
static int skip_dquote(Lexer *L) {
        return skip_nested(L, 1, '"', "stands inside \"…\" quotes, where its single quotes are plain characters and $(…) still runs",
                           "a \"…\" quote");
}

/* At the first '(' of $(( or ((, or the '[' of $[ : an arithmetic expression. */
int skip_arith(Lexer *L, size_t skip, const char *why) {
        bool bracket = L->p[0] == '[';
        const char *saved;
        unsigned depth = 0;
        int r = 0;

        if (!enter(L, why, &saved))
                return 0;
        for (L->p += skip;;) {
                char c = *L->p;

                if (!c) {
                        L->unterminated = "an arithmetic expression";
                        break;
                }
                if (bracket && c == ']') {
                        L->p++;
                        break;
                }
                if (!bracket && c == ')') {
                        if (depth == 0) {
                                if (L->p[1] == ')') {
                                        L->p += 2;
                                        break;
                                }
                                L->uncertain = L->uncertain ?: "an arithmetic expression";
                                L->p++;
                                break;
                        }
                        depth--;
                        L->p++;
                        continue;
                }
                if (c == '(')
                        depth++;
                if (c == '"')
                        r = skip_dquote(L);
                else if (c == '\'')
                        r = skip_squote(L);
                else if (!skip_expansion(L, &r))
                        L->p++;
                if (r)
                        break;
        }
        return leave(L, saved, r);
}

/* At ${ : up to its } . */
static int skip_param(Lexer *L) {
        return skip_nested(L, 2, '}', "stands inside ${…}", "a ${…} expansion");
}

/* At $ : what follows it. */
static int skip_dollar(Lexer *L, bool quoted) {
        const char *q = L->p;

        if (is_pl(q + 1)) {
                L->p++;
                return placement_refused(L, "stands right after '$', which would make its quotes $'…' or $\"…\"");
        }
        if (q[1] == '(' && q[2] == '(') {
                L->p++;
                return skip_arith(L, 2, "stands inside an arithmetic expression $((…)), which evaluates it");
        }
        if (q[1] == '(') {
                L->p += 2;
                return scan_list(L, ')', "stands inside $(…)", NULL);
        }
        if (q[1] == '[') {
                L->p++;
                return skip_arith(L, 1, "stands inside an arithmetic expression $[…], which evaluates it");
        }
        if (q[1] == '{')
                return skip_param(L);
        if (!quoted && q[1] == '\'') {
                L->p++;
                return skip_ansi(L);
        }
        if (!quoted && q[1] == '"') {
                L->p++;
                return skip_dquote(L);
        }
        L->p++;
        return 0;
}

/* Whether the unquoted text from 'p' (the first of * ? [ { in a word) to 'end' may expand into
 * other or several words: a glob (*, ?, […]) or a brace expansion ({a,b}, {1..3}). Quoted parts
 * are counted too, which can only err on the side of "it may". */
static bool word_expands(const char *p, const char *end) {
        for (const char *q = p; q < end; q++) {
                if (*q == '*' || *q == '?')
                        return true;
                if (*q == '[' && memchr(q + 1, ']', (size_t) (end - q - 1)))
                        return true;
                if (*q == '{') {
                        const char *close = memchr(q + 1, '}', (size_t) (end - q - 1));
                        if (close && (memchr(q + 1, ',', (size_t) (close - q - 1)) || memmem(q + 1, (size_t) (close - q - 1), "..", 2)))
                                return true;
                }
        }
        return false;
}

int read_word(Lexer *L, Word *w) {
        const char *special = NULL;
        bool lit = true;
        int r = 0;

        *w = (Word) { .start = L->p, .first_pl = NONE, .plain = true };
        for (;;) {
                char c = *L->p;

                if (is_meta(c))
                        break;
                if (is_pl(L->p)) {
                        size_t off = (size_t) (L->p - L->s);

                        r = placement(L);
                        if (w->first_pl == NONE)
                                w->first_pl = off;
                } else if (c == '\\') {
                        if (L->p[1] == '\n')
                                L->p += 2;
                        else
                                r = skip_escape(L);
                } else if (c == '\'')
                        r = skip_squote(L);
                else if (c == '"')
                        r = skip_dquote(L);
                else if (c == '`')
                        r = skip_backtick(L);
                else if (c == '$')
                        r = skip_dollar(L, false);
                else {
                        if (c == '*' || c == '?' || c == '[' || c == '{')
                                special = special ?: L->p;
                        L->p++;
                        if (lit)
                                w->lit_len++;
                        continue;
                }
                if (r)
                        return r;
                lit = false;
                w->plain = false;
        }
        w->end = L->p;
        w->expands = special && word_expands(special, w->end);
        return 0;
}

/* The word after quote removal, if it has no expansion and no reference and fits in 'size'. */
bool word_value(const Word *w, char *buf, size_t size) {
        size_t k = 0;

        for (const char *p = w->start; p < w->end;) {
                char c = *p;

                if (c == '$' || c == '`' || is_pl(p))
                        return false;
                if (c == '\\') {
                        if (p + 1 >= w->end)
                                return false;
                        c = p[1];
                        p += 2;
                } else if (c == '\'' || c == '"') {
                        char q = c;

                        for (p++; p < w->end && *p != q; p++) {
                                if (q == '"' && (*p == '$' || *p == '`' || *p == '\\'))
                                        return false;
                                if (is_pl(p) || k + 1 >= size)
                                        return false;
                                buf[k++] = *p;
                        }
                        if (p >= w->end)
                                return false;
                        p++;
                        continue;
                } else
                        p++;
                if (k + 1 >= size)
                        return false;
                buf[k++] = c;
        }
        buf[k] = 0;
        return true;
}

bool is_stdin_path(const char *v) {
        return streq(v, "-") || streq(v, "/dev/stdin") || streq(v, "/dev/fd/0") || streq(v, "/proc/self/fd/0");
}

/* If 'w' is NAME=…, NAME+=… or NAME[…]=…: the length of NAME, with *ret_eq the offset of '='. */
size_t assignment_name(const Word *w, size_t *ret_eq) {
        const char *p = w->start;
        size_t n = 0;

        if (w->lit_len == 0 || !(ascii_isalpha(p[0]) || p[0] == '_'))
                return 0;
        while (p + n < w->end && (ascii_isalpha(p[n]) || ascii_isdigit(p[n]) || p[n] == '_'))
                n++;
        if (p + n < w->end && p[n] == '=') {
                *ret_eq = n;
                return n;
        }
        if (p + n + 1 < w->end && p[n] == '+' && p[n + 1] == '=') {
                *ret_eq = n + 1;
                return n;
        }
        if (p + n < w->end && p[n] == '[') {
                const char *e = memmem(p + n, (size_t) (w->end - p - n), "]=", 2);
                if (e) {
                        *ret_eq = (size_t) (e - p) + 1;
                        return n;
                }
        }
        return 0;
}

int assignment(Lexer *L, const Word *w, size_t n, size_t eq) {
        size_t start = (size_t) (w->start - L->s);

        if (w->first_pl == NONE)
                return 0;
        if (w->first_pl < start + eq)
                return refuse(L, w->first_pl, "stands in the name of a variable assignment");
        if (command_variable_is_dangerous(w->start, n))
                return refuse(L, w->first_pl, "is assigned to %.*s, which decides what programs run or load",
                              (int) n, w->start);
        return 0;
}
