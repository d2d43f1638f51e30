/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* template.h: step command templates — "{{name}}" references, their shell-quoted substitution,
 * and the check that every reference stands where its quoted value is one whole shell word of
 * data (never inside quotes, substitutions, comments or here-documents, never the program to
 * run, never an argument that a known program runs as code). No sd-bus, no store. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define TEMPLATE_PROBLEM_MAX 256

#define TEMPLATE_STEP_ID_MAX 64

/* [A-Za-z_][A-Za-z0-9_]{0,63}, as a (name, length) span. */
bool template_name_is_valid(const char *s, size_t n);
/* "steps.ID.NAME" (ID ^[a-z0-9_-]{1,64}$, NAME a valid name), as a (name, length) span: a value
 * an earlier step captured. Returns true with the spans of ID and NAME (the pointers may be
 * NULL when they are not wanted). */
bool template_step_ref(const char *s, size_t n, const char **ret_id, size_t *ret_id_len, const char **ret_value,
                       size_t *ret_value_len);

/* Finds the next "{{ name }}" (or "{{ steps.ID.NAME }}") at or after 'p'. Returns 0 if there is
 * none; 1 with the span of the whole reference in [*ret_start, *ret_end) and of the name in
 * *ret_name, *ret_name_len; -EINVAL if a "{{" has no "}}"; -EBADMSG if the braces hold neither a
 * valid parameter name nor a step reference (*ret_end is then set too). */
int template_next(const char *p, const char **ret_start, const char **ret_end, const char **ret_name,
                  size_t *ret_name_len);

/* Quotes 's' for /bin/sh: 'abc' with each ' written as '\'' . NULL on -ENOMEM. */
char *shell_quote(const char *s);

/* Substitutes each {{name}} in 'tmpl' by the shell-quoted value from 'values'. -EINVAL for a
 * malformed template, -ENXIO for a reference without a string value, -ENOMEM. */
int template_render(const char *tmpl, json_t *values, char **ret);
/* The same, and each {{steps.ID.NAME}} by the shell-quoted steps[ID][NAME]; one without a value
 * stays as it is written when keep_unresolved is set (a command shown before the value is
 * known), else it is -ENXIO. One pass over 'tmpl': a value is never read as a template. */
int template_render_steps(const char *tmpl, json_t *values, json_t *steps, bool keep_unresolved, char **ret);

/* Checks where each {{name}} of 'tmpl' stands (tmpl must hold only well-formed references:
 * check with template_next() first). Returns 0 if every placement is one whole shell word of
 * data; 1 if one is not, with *ret_offset the byte offset of its "{{" and 'problem' (of
 * TEMPLATE_PROBLEM_MAX bytes) saying where it stands, e.g. "stands inside \"…\" quotes";
 * -EINVAL for a malformed reference; -ENOMEM. */
int template_check_placements(const char *tmpl, size_t *ret_offset, char *problem);

/* The table of programs whose arguments template_check_placements() knows (template-commands.c). */
typedef enum CommandRule {
        RULE_DATA,        /* arguments are data (every program not in the table) */
        RULE_EVAL,        /* every argument may be run as code: eval, ., trap, declare, … */
        RULE_JOIN,        /* after its data operands, the arguments are joined into a command line
                           * for another shell: ssh, su, watch, … */
        RULE_PROG,        /* an interpreter: its program (first operand, or a code option) is code */
        RULE_WRAP,        /* runs another program named by an operand: sudo, env, timeout, xargs, … */
        RULE_FIND,        /* find: -exec … ; runs a program */
        RULE_TEST,        /* test, [ : the word after -v names a variable (bash evaluates subscripts) */
        RULE_PRINTF,      /* printf: -v names a variable */
        RULE_DECLARE,     /* export, declare, local, …: only the value of NAME=VALUE is data */
        RULE_CONTAINER,   /* docker, kubectl, …: after "exec", "run", … the words are a command */
} CommandRule;

enum {
        COMMAND_VERSIONED = 1 << 0,  /* also matches name + [0-9.]+ (python3.11, perl5.36) */
        COMMAND_PERMUTE   = 1 << 1,  /* options may follow operands (GNU getopt) */
        COMMAND_SHELL     = 1 << 2,  /* a shell: '+o' options, the first operand is the program */
        COMMAND_DASHFLAG  = 1 << 3,  /* a lone '-' is an option (su -, env -) */
        COMMAND_ASSIGN    = 1 << 4,  /* NAME=VALUE operands before the program (env) */
        COMMAND_STDINPATH = 1 << 5,  /* an operand /dev/stdin (or '-') means "read the program from stdin" */
};

typedef struct CommandSpec {
        const char *name;
        CommandRule rule;
        unsigned flags;
        /* Short options, getopt-like: "x" a flag, "x:" takes a data argument, "x!" takes a code
         * argument (or one that names the program), "x?" takes an optional attached argument,
         * "x@" switches mode (sudo -s: the rest is a shell command line; sh -s: the program comes
         * from standard input), "x<" takes a data argument that names the program's standard input
         * (xargs -a FILE). */
        const char *shortopts;
        /* Long options, comma-separated, each with the same suffixes; "name::" takes two data
         * arguments (jq --arg NAME VALUE). */
        const char *longopts;
        unsigned n_data;  /* RULE_WRAP, RULE_JOIN: data operands before the program or command line */
} CommandSpec;

const CommandSpec *command_spec_find(const char *name);

/* True if assigning 'name' (NAME=value before a command, or env NAME=value) decides what runs:
 * PATH, LD_*, IFS, BASH_ENV, PYTHONPATH, … */
bool command_variable_is_dangerous(const char *name, size_t len);
