/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* expr.h: the expression language of a step's "when" condition: parsing into a tree, the walk
 * of the references it makes, evaluation against looked-up values, and a canonical printer.
 * No sd-bus, no store. Values are data: nothing is ever executed, and the only regular
 * expressions are the runbook's own literals, compiled when the expression is parsed.
 *
 * Grammar (whitespace — space, tab, newline, CR — between tokens is ignored):
 *
 *   expr       := and ( '||' and )*
 *   and        := unary ( '&&' unary )*
 *   unary      := '!' negated | '(' expr ')' | comparison
 *   negated    := '!' negated | '(' expr ')'
 *   comparison := value ( '==' | '!=' | '<' | '<=' | '>' | '>=' ) value
 *               | value '=~' STRING
 *   value      := REF | STRING | NUMBER
 *   REF        := '{{' name '}}' | '{{' 'steps.' ID '.' name '}}' | '{{' 'steps.' ID '.exit_status' '}}'
 *                 (blanks allowed just inside the braces, as in command templates; "exit_status"
 *                 is never a captured value's name)
 *   name       := [A-Za-z_][A-Za-z0-9_]{0,63}        (template_name_is_valid())
 *   ID         := [a-z0-9_-]+
 *   STRING     := "'" ( any byte but "'" | "''" )* "'"   ('' is one quote; backslashes are literal)
 *   NUMBER     := [+-]?[0-9]+(\.[0-9]+)?
 *
 * Precedence: '!' binds tighter than a comparison, which binds tighter than '&&', then '||'.
 * There is no truthiness: a value is never a condition, so "{{x}}" or "'abc'" alone, "!{{x}}"
 * (write "!({{x}} == …)"), "({{x}}) == 1" and "a == b == c" are parse errors.
 *
 * Limits: at most EXPR_TEXT_MAX bytes, at most EXPR_DEPTH_MAX nested '(' and '!', and patterns
 * bounded as expr_parse() says. */
#pragma once

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "shared/macro.h"

#define EXPR_TEXT_MAX 4096
#define EXPR_DEPTH_MAX 64
/* A good size for the 'error' buffers below. */
#define EXPR_ERROR_MAX 512

typedef struct Expr Expr;

typedef enum ExprRefKind {
        EXPR_REF_PARAM,             /* {{name}}: a parameter of the runbook */
        EXPR_REF_STEP_VALUE,        /* {{steps.ID.NAME}}: a value captured by an earlier step */
        EXPR_REF_STEP_EXIT_STATUS,  /* {{steps.ID.exit_status}}: an earlier step's exit status */
        _EXPR_REF_KIND_MAX,
        _EXPR_REF_KIND_INVALID = -EINVAL,
} ExprRefKind;

typedef struct ExprRef {
        ExprRefKind kind;
        const char *step;           /* the step id; NULL for EXPR_REF_PARAM */
        const char *name;           /* the parameter or value name; NULL for EXPR_REF_STEP_EXIT_STATUS */
        const char *text;           /* canonical form, e.g. "{{steps.fetch.sha}}" (the key in 'seen') */
        size_t offset;              /* byte offset of its "{{" in the parsed text */
} ExprRef;

const char *expr_ref_kind_to_string(ExprRefKind k);

/* Parses 'text' (NUL-terminated) into *ret. On failure writes into 'error' (if not NULL) a message
 * naming the byte offset and what is wrong, e.g. "at offset 12: expected ')' to close the '(' at
 * offset 0, found the end of the expression", and returns -EINVAL (syntax error, bad number,
 * bad regular expression), -E2BIG (longer than EXPR_TEXT_MAX bytes, nested deeper than
 * EXPR_DEPTH_MAX, a pattern too large once expanded) or -ENOMEM.
 *
 * Checked here rather than at evaluation: a literal that is not a number on either side of '<',
 * '<=', '>' or '>='; the pattern of '=~', which must be a string literal and a valid POSIX
 * extended regular expression (compiled with REG_EXTENDED|REG_NOSUB) without back-references
 * ("\1" … "\9" anywhere: they make matching exponential in the value's length), with groups
 * nested at most EXPR_DEPTH_MAX deep, and with its {m,n} repetitions expanding to at most
 * EXPR_TEXT_MAX elements (glibc expands them when compiling). */
int expr_parse(const char *text, Expr **ret, char *error, size_t error_size);

Expr *expr_free(Expr *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(Expr *, expr_free);

/* Calls 'cb' for each reference in text order (a reference made twice is reported twice). A
 * negative return from 'cb' stops the walk and is returned; otherwise returns 0. The ExprRef and
 * its strings live as long as 'e'. */
int expr_foreach_ref(const Expr *e, int (*cb)(const ExprRef *ref, void *userdata), void *userdata);

/* Resolves a reference: returns 1 with *ret_value set (the string must stay valid until
 * expr_eval() returns), 0 if the reference has no value, or a negative errno. */
typedef int (*expr_lookup_t)(const ExprRef *ref, void *userdata, const char **ret_value);

/* Evaluates 'e'. Returns 0 with *ret the result, or a negative errno with a message in 'error' —
 * never a guessed true or false:
 *   -ENXIO   a reference the evaluation needed has no value ("at offset 3: {{x}} has no value")
 *   -EDOM    '<', '<=', '>' or '>=' on a value that is not a number
 *            ("at offset 6: '<' needs numbers: left side {{x}} is 'abc', not a number")
 *   -EINVAL  'seen' is not a JSON object
 *   -ENOMEM, or whatever negative errno 'lookup' returned ("at offset 0: looking up {{x}} failed: …").
 *
 * Semantics: two values that are both numbers — [+-]?[0-9]+(\.[0-9]+)? exactly, no blanks, no
 * exponent, no hex — compare as exact decimals ("10" == "10.0" == "+010", "-0" == "0"; no
 * rounding, no overflow); '==' and '!=' on anything else compare the bytes; '=~' is true if the
 * pattern matches anywhere in the value (anchor it with ^…$ for a whole match). '&&' and '||'
 * evaluate left to right and stop at the first operand that decides: the references of the
 * operands after it are not looked up, so "{{steps.a.exit_status}} == 0 && {{steps.a.out}} ==
 * 'x'" is false, not an error, when step a failed and captured nothing.
 *
 * If 'seen' is not NULL it must be a JSON object: each reference looked up is set in it, its
 * canonical text as the key, its value as a string (a value that is not valid UTF-8 with each
 * byte outside ASCII written as "\xNN") or null if it had none. */
int expr_eval(const Expr *e, expr_lookup_t lookup, void *userdata, json_t *seen, bool *ret, char *error,
              size_t error_size);

/* The canonical text of 'e': references as {{name}}, strings and numbers as written, single
 * spaces around binary operators, parentheses only where the structure needs them. Parsing it
 * gives the same tree back. 0, or -ENOMEM. */
int expr_format(const Expr *e, char **ret);

/* Refuses a regular expression (of '=~', a parameter's "pattern", a capture's "regex" or
 * "pattern") before regcomp() sees it if it uses back-references (-EINVAL), nests groups deeper
 * than EXPR_DEPTH_MAX or repetitions deeper than 3, puts a repetition right after another
 * (-EINVAL), or would expand into more than EXPR_PATTERN_SIZE_MAX elements (-E2BIG); each makes
 * glibc's compiling or matching exponentially slow. The reason in 'problem' (expr-pattern.c). */
#define EXPR_PATTERN_SIZE_MAX EXPR_TEXT_MAX
int expr_pattern_check(const char *pattern, char *problem, size_t size);
