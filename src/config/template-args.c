/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* template-args.c: the arguments of a program that template-commands.c knows (see
 * template-check.c for the whole check): its options, read with the table's getopt-like specs,
 * its operands, and what the program's CommandRule makes of each — which one is code or names
 * code, which names the file it reads its program from, which is a command line for a shell,
 * and when runbookd can no longer tell. */
#include <stdio.h>
#include <string.h>

#include "config/template-check-internal.h"

/* Looks up option 'name' (of length n) in a comma-separated list; returns its suffix kind
 * ('f' a flag, ':' data, '!' code, '?' optional attached, '@' mode, '<' names stdin) and the number of ':'s,
 * or 0 if unknown. */
static char long_kind(const char *list, const char *name, size_t n, unsigned *ret_count) {
        for (const char *p = list; p && *p;) {
                const char *e = strchr(p, ','), *k;
                size_t len = e ? (size_t) (e - p) : strlen(p), base = len;

                while (base > 0 && strchr(":!?@<", p[base - 1]))
                        base--;
                if (base == n && memcmp(p, name, n) == 0) {
                        *ret_count = (unsigned) (len - base);
                        k = p + base;
                        return base == len ? 'f' : *k;
                }
                p = e ? e + 1 : NULL;
        }
        return 0;
}

static char short_kind(const char *spec, char ch) {
        for (const char *p = spec; *p; p++) {
                if (strchr(":!?@<", *p))
                        continue;
                if (*p == ch)
                        return p[1] && strchr(":!?@<", p[1]) ? p[1] : 'f';
        }
        return 0;
}

static void cmd_mode(Cmd *c) {
        if (c->rule == RULE_WRAP) {
                /* sudo -s / -i, doas -s: the rest is a command line for a shell */
                c->rule = RULE_JOIN;
                c->operands = 0;
        } else if (c->rule == RULE_PROG) {
                /* sh -s / -i: the program comes from standard input; operands are $1… */
                c->decided = true;
                c->stdin_program = true;
        }
}

static void cmd_code_option(Cmd *c) {
        if (c->rule == RULE_PROG)
                c->decided = true;
        else if (c->rule == RULE_JOIN)
                c->join_code = true;
}

static int lost(Lexer *L, Cmd *c, const Word *w) {
        c->lost = true;
        if (w->first_pl != NONE)
                return refuse(L, w->first_pl, "follows an option of '%s' that runbookd does not know, so it cannot tell what this argument does",
                              c->name);
        return 0;
}

/* An option word of a PROG, JOIN or WRAP command. */
static int option_word(Lexer *L, Cmd *c, const Word *w) {
        const char *t = w->start;
        size_t wlen = (size_t) (w->end - w->start);
        unsigned count = 0;
        char kind;

        if (t[0] == '-' && t[1] == '-' && w->lit_len >= 2) {
                const char *eq = memchr(t + 2, '=', w->lit_len - 2);
                size_t n = eq ? (size_t) (eq - t - 2) : w->lit_len - 2;

                if (!eq && !w->plain) {
                        if (w->first_pl != NONE)
                                return refuse(L, w->first_pl, "is part of an option name of '%s'", c->name);
                        return lost(L, c, w);
                }
                kind = long_kind(c->spec ? c->spec->longopts : NULL, t + 2, n, &count);
                if (kind == 0)
                        return lost(L, c, w);
                if (kind == '@')
                        cmd_mode(c);
                if (kind == '<') {
                        if (eq) {
                                if (w->first_pl != NONE && c->stdin_pl == NONE)
                                        c->stdin_pl = w->first_pl;
                        } else {
                                c->pending = 1;
                                c->pending_stdin = true;
                        }
                        return 0;
                }
                if (eq) {
                        if (kind == '!') {
                                cmd_code_option(c);
                                if (w->first_pl != NONE)
                                        return refuse(L, w->first_pl, "is the argument of '%s --%.*s', which is code or names code",
                                                      c->name, (int) n, t + 2);
                        }
                        return 0;
                }
                if (kind == ':' || kind == '!') {
                        c->pending = kind == ':' ? count : 1;
                        c->pending_code = kind == '!';
                        snprintf(c->pending_opt, sizeof c->pending_opt, "--%.*s", (int) MIN(n, (size_t) 40), t + 2);
                }
                return 0;
        }

        for (size_t i = 1; i < wlen; i++) {
                if (i >= w->lit_len) {
                        if (w->first_pl != NONE)
                                return refuse(L, w->first_pl, "is glued to the options '%.*s' of '%s'", (int) MIN(i, (size_t) 40), t,
                                              c->name);
                        return lost(L, c, w);
                }
                kind = short_kind(c->spec ? c->spec->shortopts : "", t[i]);
                if (kind == 0)
                        return lost(L, c, w);
                if (kind == '<') {
                        /* its argument names the file the program reads as standard input */
                        if (i + 1 < wlen) {
                                if (w->first_pl != NONE && c->stdin_pl == NONE)
                                        c->stdin_pl = w->first_pl;
                                return 0;
                        }
                        c->pending = 1;
                        c->pending_stdin = true;
                        return 0;
                }
                if (kind == 'f')
                        continue;
                if (kind == '@') {
                        cmd_mode(c);
                        continue;
                }
                if (kind == '?')
                        return 0;
                /* ':' or '!': the rest of the word, or the next word, is the argument */
                if (kind == '!')
                        cmd_code_option(c);
                if (i + 1 < wlen) {
                        if (kind == '!' && w->first_pl != NONE)
                                return refuse(L, w->first_pl, "is the argument of '%s -%c', which is code or names code", c->name,
                                              t[i]);
                        return 0;
                }
                c->pending = 1;
                c->pending_code = kind == '!';
                snprintf(c->pending_opt, sizeof c->pending_opt, "-%c", t[i]);
                return 0;
        }
        return 0;
}

static int operand(Lexer *L, Frame *f, Cmd *c, const Word *w, const char *v) {
        const CommandSpec *s = c->spec;
        size_t off = w->first_pl, n, eq;

        switch (c->rule) {
        case RULE_PROG:
                if (!c->decided) {
                        c->decided = true;
                        if (!(s->flags & COMMAND_PERMUTE))
                                c->opts_done = true;
                        if (v && (s->flags & COMMAND_STDINPATH) && is_stdin_path(v))
                                c->stdin_program = true;
                        if (off != NONE)
                                return refuse(L, off, "is the program '%s' runs (its first operand)", c->name);
                        return 0;
                }
                c->operands++;
                return 0;
        case RULE_JOIN:
                if (c->n_code == 0 && c->operands < s->n_data) {
                        c->operands++;
                        return 0;
                }
                c->n_code++;
                c->opts_done = true;
                if (off != NONE)
                        return refuse(L, off, "is part of the command line '%s' hands to a shell", c->name);
                return 0;
        case RULE_WRAP:
                if ((s->flags & COMMAND_ASSIGN) && (n = assignment_name(w, &eq)) > 0)
                        return assignment(L, w, n, eq);
                if (c->operands < s->n_data) {
                        c->operands++;
                        return 0;
                }
                c->started = false;
                c->in_wrapper = true;
                return first_word(L, f, c, w, v);
        default:
                return 0;
        }
}

/* A word after the program's name. */
int arg_word(Lexer *L, Frame *f, Cmd *c, const Word *w, const char *v) {
        size_t off = w->first_pl, n, eq;

        switch (c->rule) {
        case RULE_DATA:
                return 0;
        case RULE_EVAL:
                if (c->unknown) {
                        if (off != NONE)
                                return refuse(L, off, "is an argument of a program whose name is not written out (%s)", c->name);
                        return 0;
                }
                if (off != NONE)
                        return refuse(L, off, "is an argument of '%s', which runs or evaluates its arguments as code", c->name);
                if (v && (c->spec->flags & COMMAND_STDINPATH) && is_stdin_path(v))
                        c->stdin_program = true;
                return 0;
        case RULE_DECLARE:
                if (w->plain && v && (v[0] == '-' || v[0] == '+')) {
                        if (strchr(v, 'n'))
                                c->nameref = true;
                        return 0;
                }
                if (off == NONE)
                        return 0;
                n = assignment_name(w, &eq);
                if (n == 0 || c->nameref || memchr(w->start, '[', eq))
                        return refuse(L, off, "is an argument of '%s' other than the value of NAME=VALUE", c->name);
                return assignment(L, w, n, eq);
        case RULE_TEST:
        case RULE_PRINTF:
                if (c->pending) {
                        c->pending = 0;
                        if (off != NONE)
                                return refuse(L, off, "names the variable of '%s -v', whose subscript bash evaluates", c->name);
                        return 0;
                }
                if (v && (streq(v, "-v") || (streq(v, "-R") && c->rule == RULE_TEST)) && (c->rule == RULE_TEST || c->operands == 0))
                        c->pending = 1;
                c->operands++;
                return 0;
        case RULE_FIND:
                if (c->find_exec) {
                        if (v && (streq(v, ";") || streq(v, "+")))
                                c->find_exec = false;
                        else if (off != NONE)
                                return refuse(L, off, "is part of the command '%s -exec' runs", c->name);
                        return 0;
                }
                if (v && (streq(v, "-exec") || streq(v, "-execdir") || streq(v, "-ok") || streq(v, "-okdir")))
                        c->find_exec = true;
                return 0;
        case RULE_CONTAINER:
                if (c->container_cmd) {
                        if (off != NONE)
                                return refuse(L, off, "follows '%s %s', which runs a command in a container", c->name, c->pending_opt);
                        return 0;
                }
                if (v && (streq(v, "exec") || streq(v, "run") || streq(v, "create") || streq(v, "debug") ||
                          streq(v, "attach") || streq(v, "--"))) {
                        c->container_cmd = true;
                        snprintf(c->pending_opt, sizeof c->pending_opt, "%s", v);
                }
                return 0;
        case RULE_PROG:
        case RULE_JOIN:
        case RULE_WRAP:
                break;
        }

        if (w->expands && !c->lost && c->pending == 0) {
                /* a glob or brace expansion may become several words (or an option): the
                 * positions of the words after it are unknown */
                c->lost = c->lost_expansion = true;
                if (off != NONE)
                        return refuse(L, off, "is in a word that the shell may expand into several (a glob or {a,b}) among the arguments of '%s'",
                                      c->name);
                return 0;
        }
        if (c->lost) {
                if (off != NONE && c->lost_expansion)
                        return refuse(L, off, "follows a word that the shell may expand into several (a glob or {a,b}), "
                                      "so runbookd cannot tell what this argument of '%s' is", c->name);
                if (off != NONE)
                        return refuse(L, off, "follows an option of '%s' that runbookd does not know, so it cannot tell what this argument does",
                                      c->name);
                return 0;
        }
        if (c->pending > 0) {
                c->pending--;
                if (c->pending_stdin) {
                        c->pending_stdin = false;
                        if (off != NONE && c->stdin_pl == NONE)
                                c->stdin_pl = off;
                        return 0;
                }
                if (c->pending_code) {
                        if (off != NONE)
                                return refuse(L, off, "is the argument of '%s %s', which is code or names code", c->name,
                                              c->pending_opt);
                }
                return 0;
        }
        if (!c->opts_done && w->lit_len >= 1) {
                const char *t = w->start;
                bool dash = t[0] == '-' || (t[0] == '+' && (c->spec->flags & COMMAND_SHELL));
                size_t wlen = (size_t) (w->end - w->start);

                if (dash && wlen == 2 && t[0] == '-' && t[1] == '-' && w->plain) {
                        c->opts_done = true;
                        return 0;
                }
                if (dash && wlen == 1) {
                        if (c->spec->flags & COMMAND_DASHFLAG)
                                return 0;
                        if (c->spec->flags & COMMAND_SHELL) {
                                c->opts_done = true;
                                return 0;
                        }
                } else if (dash)
                        return option_word(L, c, w);
        }
        return operand(L, f, c, w, v);
}
