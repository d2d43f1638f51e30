/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* template-check-internal.h: what template-lex.c (quotes, escapes, expansions, words),
 * template-check.c (commands, reserved words, lists) and template-args.c (a known program's
 * options and operands) share. Private to src/config/. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/template.h"
#include "shared/util.h"

#define NONE SIZE_MAX
#define DEPTH_MAX 32
#define HEREDOCS_MAX 8
#define CASES_MAX 16
#define SMALL_MAX 64

typedef struct Heredoc {
        char delim[SMALL_MAX];
        bool strip_tabs;
} Heredoc;

typedef struct Lexer {
        const char *s, *p;
        const char *refuse;        /* non-NULL: a reference here is refused, this is why */
        const char *uncertain;     /* non-NULL: the scan lost its way here; later references are refused */
        const char *unterminated;  /* non-NULL: this construct runs to the end of the template */
        size_t first_pl;           /* offset of the first reference */
        size_t bad;                /* offset of the refused reference */
        char *problem;
        Heredoc heredocs[HEREDOCS_MAX];
        size_t n_heredocs;
        unsigned depth;
} Lexer;

typedef struct Word {
        const char *start, *end;
        size_t first_pl;           /* offset of the word's first reference, NONE if none */
        size_t lit_len;            /* length of its leading run of plain characters */
        bool plain;                /* no quotes, escapes, expansions or references */
        bool expands;              /* unquoted glob or brace expansion: may become several words, or others */
} Word;

typedef enum CaseState { CASE_WORD, CASE_IN, CASE_PATTERN, CASE_COMMANDS } CaseState;

typedef struct Frame {
        unsigned compound;         /* open if/while/until/for/select/case/{ */
        size_t item_pl;            /* first reference of the current pipeline (or open compound) */
        size_t any_pl;             /* first reference anywhere in the frame */
        CaseState cases[CASES_MAX];
        unsigned n_cases;
} Frame;

typedef enum Special {
        SP_NONE,
        SP_FOR_NAME, SP_FOR_IN, SP_FOR_WORDS,
        SP_CASE_WORD, SP_CASE_IN,
        SP_FUNC_NAME,
        SP_DBRACKET,
        SP_DONE,                   /* after fi, done, }, esac, ]], (…), ((…)): only redirections */
} Special;

typedef struct Cmd {
        bool any_word;
        bool started;              /* the program is known (or a keyword took the place) */
        bool in_wrapper;           /* the next operand names the program a wrapper runs */
        bool unknown;              /* the program's name is not written out */
        const CommandSpec *spec;
        CommandRule rule;
        Special special;
        char name[SMALL_MAX];
        unsigned operands;
        unsigned pending;          /* option arguments still expected */
        bool pending_code;
        bool pending_stdin;        /* the option argument names the program's standard input (xargs -a) */
        char pending_opt[SMALL_MAX];
        bool opts_done;
        bool decided;              /* PROG: the program is chosen; JOIN: the command line began */
        bool stdin_program;
        bool lost;                 /* runbookd cannot tell what the later arguments are */
        bool lost_expansion;       /* … because of a glob or brace expansion (else an unknown option) */
        bool find_exec;
        bool join_code;
        bool nameref;
        bool container_cmd;
        unsigned n_code;
        int redirect;              /* the next word is a redirection's target: '<' stdin, 'h' a
                                    * here-string (the word itself on stdin), '>' other */
        size_t prev_pl;            /* first reference of the pipeline's earlier commands */
        size_t own_pl;
        size_t stdin_pl;
        size_t here_pl;            /* first reference in a here-string (<<<): on stdin as it is */
} Cmd;

bool is_pl(const char *p);
int refuse(Lexer *L, size_t off, const char *fmt, ...) _printf_(3, 4);
int placement_refused(Lexer *L, const char *why);
/* Enters a construct one level deeper, in which a reference is refused for 'why' (unless an outer
 * one already is; 'why' may be NULL). False if that is too deep to follow: the rest of the template
 * is then given up on (unterminated), failing closed. Else *ret_saved is what leave() puts back. */
bool enter(Lexer *L, const char *why, const char **ret_saved);
/* Leaves what enter() entered; returns 'r'. */
int leave(Lexer *L, const char *saved, int r);
int skip_arith(Lexer *L, size_t skip, const char *why);
int read_word(Lexer *L, Word *w);
bool word_value(const Word *w, char *buf, size_t size);
bool is_stdin_path(const char *v);
size_t assignment_name(const Word *w, size_t *ret_eq);
int assignment(Lexer *L, const Word *w, size_t n, size_t eq);
int scan_list(Lexer *L, char closer, const char *refuse_why, size_t *ret_any_pl);

/* template-check.c: the first word of a simple command (also the one a wrapper runs). */
int first_word(Lexer *L, Frame *f, Cmd *c, const Word *w, const char *v);
/* template-args.c: a word after the program's name. */
int arg_word(Lexer *L, Frame *f, Cmd *c, const Word *w, const char *v);
