/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* template-check.c: where may a {{name}} stand in a step's command?
 *
 * A value is substituted single-quoted ('…', each ' written '\''), which makes it exactly one
 * word of data — if the shell reads the quotes as quotes, and if nothing runs that word as code.
 * This file reads a template the way sh/bash do (quotes, escapes, $…, `…`, (…), comments,
 * here-documents, redirections, reserved words, case patterns) and refuses, with the reason,
 * every reference that stands
 *   - where the quotes would not be quotes: inside '…', "…", $'…', `…`, $(…), ${…}, $((…)),
 *     ((…)), [[…]], <(…), a comment or a here-document, after '$' or a backslash;
 *   - where the word would choose what runs: the program's name, the name of an assignment,
 *     an assignment to PATH, LD_PRELOAD, …;
 *   - where a known program runs the word as code: eval/./trap/…, the program of sh, awk, sed,
 *     python, … (their first operand or a code option), the command line of ssh, su, sudo -s, …,
 *     find -exec, a command run inside a container;
 *   - where it feeds a program that reads its program from standard input (… | sh, sh < file).
 * When it cannot follow the template (a construct it does not know, an option it does not
 * know), every later reference is refused: the check fails closed.
 *
 * This file follows the shell: words, commands, reserved words, lists, here-documents; what a
 * known program makes of its arguments is in template-args.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config/template-check-internal.h"

static void cmd_reset(Cmd *c, const Frame *f) {
        *c = (Cmd) { .prev_pl = f->item_pl, .own_pl = NONE, .stdin_pl = NONE, .here_pl = NONE };
}

/* The program of the command is known: 'spec' (NULL: one whose arguments are data). */
static void cmd_program(Cmd *c, const CommandSpec *spec, const char *name) {
        *c = (Cmd) {
                .any_word = true,
                .started = true,
                .spec = spec,
                .rule = spec ? spec->rule : RULE_DATA,
                .redirect = c->redirect,
                .prev_pl = c->prev_pl,
                .own_pl = c->own_pl,
                .stdin_pl = c->stdin_pl,
                .here_pl = c->here_pl,
        };
        snprintf(c->name, sizeof c->name, "%s", name);
}

static CaseState *case_top(Frame *f) {
        return f->n_cases > 0 ? &f->cases[f->n_cases - 1] : NULL;
}

/* The first word of a simple command: a reserved word, an assignment, or the program. */
int first_word(Lexer *L, Frame *f, Cmd *c, const Word *w, const char *v) {
        size_t n, eq;

        if (!c->in_wrapper && w->plain && v) {
                if (streq(v, "if") || streq(v, "while") || streq(v, "until") || streq(v, "{")) {
                        f->compound++;
                        return 0;
                }
                if (streq(v, "then") || streq(v, "else") || streq(v, "elif") || streq(v, "do") || streq(v, "!"))
                        return 0;
                if (streq(v, "fi") || streq(v, "done") || streq(v, "}")) {
                        if (f->compound > 0)
                                f->compound--;
                        c->started = true;
                        c->special = SP_DONE;
                        return 0;
                }
                if (streq(v, "esac") && case_top(f)) {
                        f->n_cases--;
                        if (f->compound > 0)
                                f->compound--;
                        c->started = true;
                        c->special = SP_DONE;
                        return 0;
                }
                if (streq(v, "case")) {
                        if (f->n_cases >= CASES_MAX) {
                                L->uncertain = L->uncertain ?: "case statements nested too deep";
                                return 0;
                        }
                        f->cases[f->n_cases++] = CASE_WORD;
                        f->compound++;
                        c->started = true;
                        c->special = SP_CASE_WORD;
                        return 0;
                }
                if (streq(v, "for") || streq(v, "select")) {
                        f->compound++;
                        c->started = true;
                        c->special = SP_FOR_NAME;
                        return 0;
                }
                if (streq(v, "function")) {
                        c->started = true;
                        c->special = SP_FUNC_NAME;
                        return 0;
                }
                if (streq(v, "[[")) {
                        c->started = true;
                        c->special = SP_DBRACKET;
                        return 0;
                }
        }
        if (!c->in_wrapper) {
                n = assignment_name(w, &eq);
                if (n > 0)
                        return assignment(L, w, n, eq);
        }
        if (w->first_pl != NONE)
                return refuse(L, w->first_pl, "is (part of) the name of the program to run");
        if (!v || w->expands) {
                cmd_program(c, NULL, "?");
                c->unknown = true;
                c->rule = RULE_EVAL;
                snprintf(c->name, sizeof c->name, "%.*s", (int) MIN((size_t) (w->end - w->start), (size_t) 40),
                         w->start);
                return 0;
        }
        const char *base = strrchr(v, '/');
        base = base && base[1] ? base + 1 : v;
        cmd_program(c, command_spec_find(base), base);
        if (streq(base, "alias") || streq(base, "shopt"))
                /* an alias can turn any later word into a command (dash expands aliases) */
                L->uncertain = L->uncertain ?: "an alias definition (or shopt), which can change what later words mean";
        return 0;
}

static int special_word(Lexer *L, Frame *f, Cmd *c, const Word *w, const char *v) {
        size_t off = w->first_pl;
        CaseState *cs;

        switch (c->special) {
        case SP_FOR_NAME:
                c->special = SP_FOR_IN;
                if (off != NONE)
                        return refuse(L, off, "is the name of a loop variable");
                return 0;
        case SP_FOR_IN:
                if (v && w->plain && streq(v, "in")) {
                        c->special = SP_FOR_WORDS;
                        return 0;
                }
                if (v && w->plain && streq(v, "do")) {
                        cmd_reset(c, f);
                        return 0;
                }
                L->uncertain = L->uncertain ?: "a for loop";
                return off != NONE ? refuse(L, off, "stands in a for loop runbookd cannot follow") : 0;
        case SP_FOR_WORDS:
                return 0;      /* the loop's words are data */
        case SP_CASE_WORD:
                c->special = SP_CASE_IN;
                return 0;      /* the word a case matches is data */
        case SP_CASE_IN:
                cs = case_top(f);
                if (v && w->plain && streq(v, "in") && cs) {
                        *cs = CASE_PATTERN;
                        cmd_reset(c, f);
                        return 0;
                }
                L->uncertain = L->uncertain ?: "a case statement";
                return off != NONE ? refuse(L, off, "stands in a case statement runbookd cannot follow") : 0;
        case SP_FUNC_NAME:
                if (off != NONE)
                        return refuse(L, off, "is the name of a function");
                cmd_reset(c, f);
                c->any_word = true;
                c->started = true;
                c->special = SP_DONE;     /* "()" may follow, then the body */
                return 0;
        case SP_DBRACKET:
                if (v && w->plain && streq(v, "]]")) {
                        c->special = SP_DONE;
                        return 0;
                }
                if (off != NONE)
                        return refuse(L, off, "stands inside [[ … ]], whose operands bash may evaluate as arithmetic (use [ … ])");
                return 0;
        case SP_DONE:
                if (off != NONE)
                        return refuse(L, off, "follows the end of a compound command");
                return 0;
        case SP_NONE:
                break;
        }
        return 0;
}

static int cmd_word(Lexer *L, Frame *f, Cmd *c, const Word *w) {
        char buf[SMALL_MAX];
        const char *v = word_value(w, buf, sizeof buf) ? buf : NULL;
        size_t off = w->first_pl;

        if (off != NONE) {
                c->own_pl = MIN(c->own_pl, off);
                f->any_pl = MIN(f->any_pl, off);
        }
        c->any_word = true;
        if (c->redirect) {
                if (c->redirect == '<' && off != NONE && c->stdin_pl == NONE)
                        c->stdin_pl = off;
                if (c->redirect == 'h' && off != NONE && c->here_pl == NONE)
                        c->here_pl = off;
                c->redirect = 0;
                return 0;
        }
        if (c->special != SP_NONE)
                return special_word(L, f, c, w, v);
        if (!c->started)
                return first_word(L, f, c, w, v);
        return arg_word(L, f, c, w, v);
}

typedef enum Sep { SEP_PIPE, SEP_LIST } Sep;

static int end_command(Lexer *L, Frame *f, Cmd *c, Sep sep) {
        bool stdin_program = false;

        if (c->started && c->special == SP_NONE)
                switch (c->rule) {
                case RULE_PROG:
                        stdin_program = !c->decided || c->stdin_program;
                        break;
                case RULE_JOIN:
                        stdin_program = c->n_code == 0 && !c->join_code;
                        break;
                case RULE_EVAL:
                        stdin_program = c->unknown || c->stdin_program;
                        break;
                default:
                        break;
                }
        if (stdin_program) {
                if (c->prev_pl != NONE)
                        return refuse(L, c->prev_pl, "feeds '%s', which reads the program it runs from standard input", c->name);
                if (c->stdin_pl != NONE)
                        return refuse(L, c->stdin_pl, "names the file '%s' reads the program it runs from", c->name);
                if (c->here_pl != NONE)
                        return refuse(L, c->here_pl, "is the here-string '%s' reads the program it runs from", c->name);
        }
        f->item_pl = MIN(f->item_pl, c->own_pl);
        if (sep == SEP_LIST && f->compound == 0)
                f->item_pl = NONE;
        cmd_reset(c, f);
        return 0;
}

/* After a newline: the bodies of the here-documents whose operators were on that line. */
static int read_heredocs(Lexer *L) {
        for (size_t i = 0; i < L->n_heredocs; i++) {
                const Heredoc *h = &L->heredocs[i];

                for (;;) {
                        const char *line = L->p, *e;
                        int r;

                        if (!*line) {
                                L->unterminated = "a here-document";
                                return 0;
                        }
                        e = strchrnul(line, '\n');
                        if (h->strip_tabs)
                                while (line < e && *line == '\t')
                                        line++;
                        if ((size_t) (e - line) == strlen(h->delim) && memcmp(line, h->delim, (size_t) (e - line)) == 0) {
                                L->p = *e ? e + 1 : e;
                                break;
                        }
                        for (; L->p < e; L->p++)
                                if (is_pl(L->p)) {
                                        r = placement_refused(L, "stands in a here-document, whose text is not a shell word");
                                        if (r)
                                                return r;
                                }
                        L->p = *e ? e + 1 : e;
                }
        }
        L->n_heredocs = 0;
        return 0;
}

/* At << or <<- : the delimiter word; the body is read after the line ends. */
static int heredoc(Lexer *L) {
        const char *saved = L->refuse;
        Heredoc h = {};
        size_t k = 0;
        Word w;
        int r;

        L->p += 2;
        if (*L->p == '-') {
                h.strip_tabs = true;
                L->p++;
        }
        while (*L->p == ' ' || *L->p == '\t')
                L->p++;
        L->refuse = saved ?: "is the delimiter of a here-document";
        r = read_word(L, &w);
        L->refuse = saved;
        if (r)
                return r;
        for (const char *p = w.start; p < w.end; p++) {
                if (*p == '\'' || *p == '"' || *p == '\\')
                        continue;
                if (k + 1 >= sizeof h.delim)
                        break;
                h.delim[k++] = *p;
        }
        if (k == 0 || L->n_heredocs >= HEREDOCS_MAX) {
                L->uncertain = L->uncertain ?: "a here-document";
                return 0;
        }
        L->heredocs[L->n_heredocs++] = h;
        return 0;
}

/* Reads a list of commands up to 'closer' (')') or the end. A reference anywhere in it is
 * refused for 'refuse' if given; *ret_any_pl is the offset of its first reference. */
int scan_list(Lexer *L, char closer, const char *refuse_why, size_t *ret_any_pl) {
        Frame f = { .item_pl = NONE, .any_pl = NONE };
        const char *saved;
        Cmd c;
        int r = 0;

        if (!enter(L, refuse_why, &saved))
                return 0;
        cmd_reset(&c, &f);

        for (;;) {
                const char *p = L->p;
                CaseState *cs = case_top(&f);
                Word w;

                if (*p == ' ' || *p == '\t') {
                        L->p++;
                        continue;
                }
                if (p[0] == '\\' && p[1] == '\n') {
                        L->p += 2;
                        continue;
                }
                if (*p == 0) {
                        if (closer)
                                L->unterminated = L->unterminated ?: "a (…)";
                        r = end_command(L, &f, &c, SEP_LIST);
                        break;
                }
                if (*p == '#') {
                        while (*L->p && *L->p != '\n') {
                                if (is_pl(L->p)) {
                                        r = placement_refused(L, "stands in a comment, which a newline in the value would end");
                                        if (r)
                                                goto out;
                                        continue;
                                }
                                L->p++;
                        }
                        continue;
                }
                if (*p == '\n') {
                        r = end_command(L, &f, &c, SEP_LIST);
                        if (r)
                                break;
                        L->p++;
                        r = read_heredocs(L);
                        if (r)
                                break;
                        continue;
                }

                /* case patterns: "(a | b)" */
                if (cs && *cs == CASE_PATTERN && !c.any_word) {
                        if (*p == '(' || *p == '|' || *p == ';') {
                                L->p++;
                                continue;
                        }
                        if (*p == ')') {
                                *cs = CASE_COMMANDS;
                                L->p++;
                                continue;
                        }
                        r = read_word(L, &w);
                        if (r)
                                break;
                        char buf[SMALL_MAX];
                        if (w.plain && word_value(&w, buf, sizeof buf) && streq(buf, "esac")) {
                                f.n_cases--;
                                if (f.compound > 0)
                                        f.compound--;
                                c.started = true;
                                c.any_word = true;
                                c.special = SP_DONE;
                        }
                        if (w.end == w.start) {
                                L->uncertain = L->uncertain ?: "a case pattern";
                                L->p++;
                        }
                        continue;       /* a pattern is data */
                }

                if (c.special == SP_DBRACKET && strchr("<>&|()", *p)) {
                        /* operators of the test, not of the shell */
                        L->p++;
                        continue;
                }

                switch (*p) {
                case ';':
                        if (p[1] == ';' || p[1] == '&') {
                                L->p += p[1] == ';' && p[2] == '&' ? 3 : 2;
                                r = end_command(L, &f, &c, SEP_LIST);
                                if (cs && *cs == CASE_COMMANDS)
                                        *cs = CASE_PATTERN;
                                else
                                        L->uncertain = L->uncertain ?: "a ';;' outside a case";
                        } else {
                                L->p++;
                                r = end_command(L, &f, &c, SEP_LIST);
                        }
                        break;
                case '&':
                        if (p[1] == '>') {
                                L->p += p[2] == '>' ? 3 : 2;
                                c.redirect = '>';
                        } else {
                                L->p += p[1] == '&' ? 2 : 1;
                                r = end_command(L, &f, &c, SEP_LIST);
                        }
                        break;
                case '|':
                        if (p[1] == '|') {
                                L->p += 2;
                                r = end_command(L, &f, &c, SEP_LIST);
                        } else {
                                L->p += p[1] == '&' ? 2 : 1;
                                r = end_command(L, &f, &c, SEP_PIPE);
                        }
                        break;
                case '<':
                case '>':
                        if (p[1] == '(') {
                                size_t sub = NONE;

                                L->p += 2;
                                r = scan_list(L, ')', "stands inside a process substitution <(…) or >(…)", &sub);
                                if (!c.started) {
                                        cmd_program(&c, NULL, "<(…)");
                                        c.unknown = true;
                                        c.rule = RULE_EVAL;
                                }
                                c.any_word = true;
                                break;
                        }
                        if (p[0] == '<' && p[1] == '<' && p[2] == '<') {
                                L->p += 3;
                                c.redirect = 'h';      /* a here-string: the word on stdin */
                                break;
                        }
                        if (p[0] == '<' && p[1] == '<') {
                                r = heredoc(L);
                                break;
                        }
                        c.redirect = p[0] == '<' ? '<' : '>';
                        L->p += (p[1] == '>' || p[1] == '&' || p[1] == '|') ? 2 : 1;
                        break;
                case '(':
                        if (!c.started && p[1] == '(') {
                                L->p++;
                                r = skip_arith(L, 1, "stands inside an arithmetic command ((…)), which evaluates it");
                                c.started = true;
                                c.any_word = true;
                                c.special = SP_DONE;
                        } else if (!c.started) {
                                size_t sub = NONE;

                                L->p++;
                                r = scan_list(L, ')', NULL, &sub);
                                c.started = true;
                                c.any_word = true;
                                c.special = SP_DONE;
                                c.own_pl = MIN(c.own_pl, sub);
                                f.any_pl = MIN(f.any_pl, sub);
                        } else if (c.special == SP_FOR_IN && p[1] == '(') {
                                L->p++;
                                r = skip_arith(L, 1, "stands inside an arithmetic for loop");
                                c.special = SP_FOR_WORDS;
                        } else {
                                /* "name()": a function definition, else not something we follow */
                                const char *q = p + 1;
                                while (*q == ' ' || *q == '\t')
                                        q++;
                                if (*q == ')' && (c.special == SP_DONE || (c.special == SP_NONE && c.operands == 0 && !c.pending))) {
                                        L->p = q + 1;
                                        cmd_reset(&c, &f);
                                } else {
                                        L->uncertain = L->uncertain ?: "a '(' inside a command";
                                        L->p++;
                                }
                        }
                        break;
                case ')':
                        if (cs && *cs == CASE_PATTERN) {
                                *cs = CASE_COMMANDS;
                                L->p++;
                                cmd_reset(&c, &f);
                                break;
                        }
                        if (closer == ')') {
                                r = end_command(L, &f, &c, SEP_LIST);
                                L->p++;
                                goto out;
                        }
                        L->uncertain = L->uncertain ?: "an unmatched ')'";
                        L->p++;
                        break;
                default:
                        r = read_word(L, &w);
                        if (r)
                                break;
                        if (w.end == w.start) {
                                L->p++;
                                break;
                        }
                        /* "2>file": a file descriptor number, not a word */
                        if (w.plain && (*L->p == '<' || *L->p == '>')) {
                                bool digits = true;
                                for (const char *q = w.start; q < w.end; q++)
                                        digits = digits && ascii_isdigit(*q);
                                if (digits)
                                        break;
                        }
                        r = cmd_word(L, &f, &c, &w);
                        break;
                }
                if (r)
                        break;
        }
out:
        if (r == 0 && f.n_cases > 0)
                L->unterminated = L->unterminated ?: "a case statement";
        if (ret_any_pl)
                *ret_any_pl = f.any_pl;
        return leave(L, saved, r);
}

int template_check_placements(const char *tmpl, size_t *ret_offset, char *problem) {
        Lexer L = { .s = tmpl, .p = tmpl, .first_pl = NONE, .bad = NONE, .problem = problem };
        int r;

        problem[0] = 0;
        r = scan_list(&L, 0, NULL, NULL);
        if (r == 0 && L.first_pl != NONE && (L.unterminated || L.n_heredocs > 0))
                r = refuse(&L, L.first_pl, "stands in a command that does not parse: %s is not closed",
                           L.unterminated ?: "a here-document");
        if (r == 1)
                *ret_offset = L.bad;
        return r;
}
