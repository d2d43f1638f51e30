/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The "when" expression language (expr.h): parse errors, operators, precedence, numbers,
 * patterns, short-circuit, limits, the reference walk and the values an evaluation saw. */
#include <stdio.h>
#include <string.h>

#include "config/expr.h"
#include "shared/tests.h"
#include "shared/util.h"

/* Values keyed by a reference's canonical text; a missing key has no value, and "{{io_error}}"
 * fails the lookup. */
static json_t *values;
static unsigned n_lookups;

static int lookup(const ExprRef *ref, void *userdata, const char **ret_value) {
        json_t *v;

        n_lookups++;
        if (streq(ref->text, "{{io_error}}"))
                return -EIO;
        v = json_object_get(userdata, ref->text);
        if (!v)
                return 0;
        *ret_value = json_string_value(v);
        return 1;
}

static Expr *parse_ok(const char *text) {
        char error[EXPR_ERROR_MAX];
        Expr *e = NULL;
        int r;

        r = expr_parse(text, &e, error, sizeof error);
        if (r < 0)
                fprintf(stderr, "unexpected parse error %d for: %s\n  %s\n", r, text, error);
        check_int(r, 0);
        check(e);
        return e;
}

static void parse_fails(const char *text, int expected_r, const char *expected_error) {
        char error[EXPR_ERROR_MAX];
        Expr *e = NULL;
        int r;

        r = expr_parse(text, &e, error, sizeof error);
        if (r != expected_r || !streq(error, expected_error))
                fprintf(stderr, "text: %s\n  got %d '%s'\n  expected %d '%s'\n", text, r, error, expected_r,
                        expected_error);
        check_int(r, expected_r);
        check_streq(error, expected_error);
        check(!e);
}

static int eval_text(const char *text, bool *ret, char *error, size_t size, json_t *seen) {
        _cleanup_(expr_freep) Expr *e = parse_ok(text);

        return expr_eval(e, lookup, values, seen, ret, error, size);
}

static void check_result(const char *text, bool expected) {
        char error[EXPR_ERROR_MAX];
        bool v = !expected;
        int r;

        r = eval_text(text, &v, error, sizeof error, NULL);
        if (r < 0 || v != expected)
                fprintf(stderr, "text: %s\n  got %d %s '%s', expected %s\n", text, r, v ? "true" : "false", error,
                        expected ? "true" : "false");
        check_int(r, 0);
        check(v == expected);
}
#define check_true(text) check_result(text, true)
#define check_false(text) check_result(text, false)

static void eval_fails(const char *text, int expected_r, const char *expected_error) {
        char error[EXPR_ERROR_MAX];
        bool v = false;
        int r;

        r = eval_text(text, &v, error, sizeof error, NULL);
        if (r != expected_r || !streq(error, expected_error))
                fprintf(stderr, "text: %s\n  got %d '%s'\n  expected %d '%s'\n", text, r, error, expected_r,
                        expected_error);
        check_int(r, expected_r);
        check_streq(error, expected_error);
}

static void check_format(const char *text, const char *expected) {
        _cleanup_(expr_freep) Expr *e = parse_ok(text), *again = NULL;
        _cleanup_free_ char *s = NULL, *s2 = NULL;

        check_int(expr_format(e, &s), 0);
        check_streq(s, expected);
        again = parse_ok(s);
        check_int(expr_format(again, &s2), 0);
        check_streq(s2, s);
}

static void test_parse_errors(void) {
        parse_fails("", -EINVAL, "at offset 0: expected a condition (a comparison, '(' or '!'), found the end of the expression");
        parse_fails("   ", -EINVAL, "at offset 3: expected a condition (a comparison, '(' or '!'), found the end of the expression");
        parse_fails("{{x}}", -EINVAL,
                    "at offset 5: expected a comparison operator (==, !=, <, <=, >, >=, =~) after {{x}}, found the end "
                    "of the expression (a value is not a condition)");
        parse_fails("'abc'", -EINVAL,
                    "at offset 5: expected a comparison operator (==, !=, <, <=, >, >=, =~) after 'abc', found the end "
                    "of the expression (a value is not a condition)");
        parse_fails("{{a}} == 1 && {{b}}", -EINVAL,
                    "at offset 19: expected a comparison operator (==, !=, <, <=, >, >=, =~) after {{b}}, found the end "
                    "of the expression (a value is not a condition)");
        parse_fails("({{x}}) == 1", -EINVAL,
                    "at offset 6: expected a comparison operator (==, !=, <, <=, >, >=, =~) after {{x}}, found ')' "
                    "(a value is not a condition)");
        parse_fails("!{{x}} == 1", -EINVAL,
                    "at offset 1: expected '(' after '!', found {{x}} ('!' negates a condition in parentheses: "
                    "!({{x}} == 'y'))");
        parse_fails("({{a}} == 1 && {{b}} == 2", -EINVAL,
                    "at offset 25: expected ')' to close the '(' at offset 0, found the end of the expression");
        parse_fails("({{a}} == 1 {{b}} == 2)", -EINVAL,
                    "at offset 12: expected ')' to close the '(' at offset 0, found {{b}}");
        parse_fails("{{a}} == 1)", -EINVAL, "at offset 10: ')' without a matching '('");
        parse_fails("{{a}} == 1 {{b}} == 2", -EINVAL,
                    "at offset 11: expected '&&', '||' or the end of the expression, found {{b}}");
        parse_fails("1 < {{a}} < 3", -EINVAL,
                    "at offset 10: comparisons do not chain: '<' follows a complete comparison (join them with '&&' or '||')");
        parse_fails("{{a}} == ", -EINVAL,
                    "at offset 9: expected a value ({{name}}, 'string' or number) after '==', found the end of the expression");
        parse_fails("{{a}} == &&", -EINVAL,
                    "at offset 9: expected a value ({{name}}, 'string' or number) after '==', found '&&'");
        parse_fails("{{a}} == 1 &&", -EINVAL,
                    "at offset 13: expected a condition (a comparison, '(' or '!'), found the end of the expression");
        parse_fails("|| {{a}} == 1", -EINVAL, "at offset 0: expected a condition (a comparison, '(' or '!'), found '||'");
        parse_fails("()", -EINVAL, "at offset 1: expected a condition (a comparison, '(' or '!'), found ')'");

        /* tokens */
        parse_fails("{{a}} = 1", -EINVAL, "at offset 6: unexpected '=' (compare with '==', match with '=~')");
        parse_fails("{{a}} == 1 & {{b}} == 2", -EINVAL, "at offset 11: unexpected '&' (did you mean '&&'?)");
        parse_fails("{{a}} == 1 | {{b}} == 2", -EINVAL, "at offset 11: unexpected '|' (did you mean '||'?)");
        parse_fails("{{a}} == abc", -EINVAL,
                    "at offset 9: unexpected character 'a' (strings are 'quoted', references {{name}})");
        parse_fails("{{a}} == \"abc\"", -EINVAL, "at offset 9: unexpected character '\"'");
        parse_fails("{{a}} == 'ab", -EINVAL, "at offset 9: unterminated string (no closing \"'\")");
        parse_fails("{{a}} == 'it''s", -EINVAL, "at offset 9: unterminated string (no closing \"'\")");
        parse_fails("{{a}} == 1 && {{b == 2", -EINVAL, "at offset 14: '{{' without '}}'");
        parse_fails("{a} == 1", -EINVAL, "at offset 0: unexpected '{' (a reference is {{name}})");
        parse_fails("{{a}}} == 1", -EINVAL, "at offset 5: unexpected character '}'");
        parse_fails("{{a}} == 1.", -EINVAL, "at offset 9: invalid number '1.' (numbers are [+-]digits[.digits])");
        parse_fails("{{a}} == .5", -EINVAL, "at offset 9: unexpected character '.'");
        parse_fails("{{a}} == 1.2.3", -EINVAL, "at offset 9: invalid number '1.2.3' (numbers are [+-]digits[.digits])");
        parse_fails("{{a}} == 1e3", -EINVAL, "at offset 9: invalid number '1e3' (numbers are [+-]digits[.digits])");
        parse_fails("{{a}} == 0x10", -EINVAL, "at offset 9: invalid number '0x10' (numbers are [+-]digits[.digits])");
        parse_fails("{{a}} == -", -EINVAL, "at offset 9: unexpected '-'");
        parse_fails("{{a}} == - 1", -EINVAL, "at offset 9: unexpected '-'");
        parse_fails("{{a}} == 1 \x01", -EINVAL, "at offset 11: unexpected byte \\x01");
        parse_fails("{{a}} == 1 \xc3\xa9", -EINVAL, "at offset 11: unexpected byte \\xc3");

        /* references */
        static const char *const bad_refs[] = {
                "{{}}", "{{ }}", "{{1x}}", "{{a-b}}", "{{a b}}", "{{steps.}}", "{{steps.a}}",
                "{{steps.a.}}", "{{steps..b}}", "{{steps.A.b}}", "{{steps.a b.c}}", "{{steps.a.1b}}",
                "{{steps.a.b.c}}", "{{step.a.b}}", "{{Steps.a.b}}", "{{x.y}}",
                "{{aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad_refs); i++) {
                _cleanup_free_ char *text = NULL, *expected = NULL;
                char shown[128];
                size_t n = strcspn(bad_refs[i], "}") + 2;

                check(asprintf_safe(&text, "%s == 1", bad_refs[i]) == 0);
                snprintf(shown, sizeof shown, "%.*s%s", (int) MIN(n, (size_t) 40), bad_refs[i], n > 40 ? "…" : "");
                check(asprintf_safe(&expected,
                                    "at offset 0: invalid reference %s (expected {{name}}, {{steps.ID.NAME}} or "
                                    "{{steps.ID.exit_status}}, where a name is [A-Za-z_][A-Za-z0-9_]{0,63} and an "
                                    "ID [a-z0-9_-]+)", shown) == 0);
                parse_fails(text, -EINVAL, expected);
        }

        /* literal operands of '<' & co. are checked at parse time */
        parse_fails("'abc' < 1", -EINVAL, "at offset 0: '<' needs numbers: left side 'abc' is not a number");
        parse_fails("{{a}} >= ''", -EINVAL, "at offset 9: '>=' needs numbers: right side '' is not a number");
        parse_fails("{{a}} > ' 1'", -EINVAL, "at offset 8: '>' needs numbers: right side ' 1' is not a number");
        expr_free(parse_ok("'1.5' <= 2"));

        /* patterns */
        parse_fails("{{a}} =~ {{b}}", -EINVAL,
                    "at offset 9: expected a 'string' pattern after '=~', found {{b}} (a pattern is a literal)");
        parse_fails("{{a}} =~ 1", -EINVAL,
                    "at offset 9: expected a 'string' pattern after '=~', found 1 (a pattern is a literal)");
        parse_fails("{{a}} =~ 'a('", -EINVAL, "at offset 9: invalid regular expression 'a(': Unmatched ( or \\(");
        parse_fails("{{a}} =~ '(a*)*\\1'", -EINVAL,
                    "at offset 9: back-references (\\1) are not allowed in patterns (they make matching exponentially slow)");
        parse_fails("{{a}} =~ '[\\]\\1'", -EINVAL,
                    "at offset 9: back-references (\\1) are not allowed in patterns (they make matching exponentially slow)");
        expr_free(parse_ok("{{a}} =~ '\\\\1'"));   /* an escaped backslash, then '1' */

        /* repetitions that glibc would expand into gigabytes; groups nested deeper than expressions */
        parse_fails("{{a}} =~ '(((a{100}){100}){100}){100}'", -E2BIG,
                    "at offset 9: the pattern's repetitions expand to more than 4096 elements");
        parse_fails("{{a}} =~ 'ab{4096}'", -E2BIG, "at offset 9: the pattern's repetitions expand to more than 4096 elements");
        parse_fails("{{a}} =~ '(a{64}){65}'", -E2BIG, "at offset 9: the pattern's repetitions expand to more than 4096 elements");
        parse_fails("{{a}} =~ 'a{,5000}'", -E2BIG, "at offset 9: the pattern's repetitions expand to more than 4096 elements");
        /* glibc compiles x+ as xx*: each '+' doubles what it repeats; and runs of repetitions,
         * or repetitions nested deep, make regcomp() exponentially slow: 'v+++?+++++++' took more
         * than a minute, '((((((((((a+?)+?)…' nested 10 deep more than 20 s (found by
         * tests/fuzz/fuzz-when) */
        parse_fails("{{a}} =~ '(a+){2100}'", -E2BIG,
                    "at offset 9: the pattern's repetitions expand to more than 4096 elements");
        parse_fails("{{a}} =~ '^v+++?+++++++'", -EINVAL,
                    "at offset 9: '+' right after '+' repeats a repetition (POSIX leaves that undefined, and it makes "
                    "compiling the pattern exponentially slow): write one, or group with '(…)'");
        parse_fails("{{a}} =~ 'a+?'", -EINVAL,
                    "at offset 9: '?' right after '+' repeats a repetition (POSIX leaves that undefined, and it makes "
                    "compiling the pattern exponentially slow): write one, or group with '(…)'");
        parse_fails("{{a}} =~ 'a{2}*'", -EINVAL,
                    "at offset 9: '*' right after '{' repeats a repetition (POSIX leaves that undefined, and it makes "
                    "compiling the pattern exponentially slow): write one, or group with '(…)'");
        parse_fails("{{a}} =~ '((((a+)?)+)?)'", -EINVAL,
                    "at offset 9: the pattern's repetitions are nested more than 3 deep (it makes compiling the "
                    "pattern exponentially slow)");
        expr_free(parse_ok("{{a}} =~ '^v[0-9]+\\.[0-9]+(-rc[0-9]+)?$'"));   /* the usual ones still parse */
        expr_free(parse_ok("{{a}} =~ '(a+)+b+'"));
        expr_free(parse_ok("{{a}} =~ '^((a+)?b)*(c|d+)$'"));   /* nested 3 deep */
        parse_fails("{{a}} =~ '((^{100}){100})'", -E2BIG, "at offset 9: the pattern's repetitions expand to more than 4096 elements");
        parse_fails("{{a}} =~ '[{]{5000}'", -E2BIG, "at offset 9: the pattern's repetitions expand to more than 4096 elements");
        expr_free(parse_ok("{{a}} =~ 'a{4096}'"));
        expr_free(parse_ok("{{a}} =~ '(a{64}){64}'"));
        expr_free(parse_ok("{{a}} =~ '\\{5000}'"));          /* a literal '{' */
        expr_free(parse_ok("{{a}} =~ '^[0-9]{1,3}(\\.[0-9]{1,3}){3}$'"));
        expr_free(parse_ok("{{a}} =~ '[[:digit:]]{3}[]{]{2}'"));
        {
                char deep[EXPR_DEPTH_MAX * 2 + 32], *p = deep;

                p = stpcpy(p, "{{a}} =~ '");
                for (int i = 0; i <= EXPR_DEPTH_MAX; i++)
                        *p++ = '(';
                *p++ = 'a';
                for (int i = 0; i <= EXPR_DEPTH_MAX; i++)
                        *p++ = ')';
                strcpy(p, "'");
                parse_fails(deep, -EINVAL, "at offset 9: the pattern's groups are nested deeper than 64 levels");
                memmove(deep + 10, deep + 11, strlen(deep + 11) + 1);
                deep[strlen(deep) - 2] = '\'';
                deep[strlen(deep) - 1] = 0;
                expr_free(parse_ok(deep));
        }

        /* error buffers: NULL, empty, short */
        {
                Expr *e = NULL;
                char small[16];

                check_int(expr_parse("{{x}}", &e, NULL, 0), -EINVAL);
                check_int(expr_parse("{{x}}", &e, small, 0), -EINVAL);
                check_int(expr_parse("{{x}}", &e, small, sizeof small), -EINVAL);
                check_streq(small, "at offset 5: ex");
                check(!e);
        }
}

static void test_literals(void) {
        check_format("'it''s' == 'it''s'", "'it''s' == 'it''s'");
        check_true("'it''s' == 'it''s'");
        check_false("'it''s' == 'its'");
        check_true("'''' == ''''");
        check_true("'a\\b' =~ '^a\\\\b$'");         /* backslashes are literal in strings */
        check_true("'' == ''");
        check_true("'x\ny' != 'x y'");
        check_true("{{ name }} == 'web-1'");
        check_true("{{\tname\t}} == 'web-1'");
        check_format("{{ name }}=='web-1'", "{{name}} == 'web-1'");
        check_true("\n{{name}}\t==\r\n'web-1'\n");
}

static void test_operators(void) {
        check_true("{{name}} == 'web-1'");
        check_false("{{name}} != 'web-1'");
        check_false("{{name}} == 'web-2'");
        check_true("{{name}} != 'web-2'");
        check_true("{{count}} == 3");
        check_true("{{count}} < 10");
        check_true("{{count}} <= 3");
        check_false("{{count}} < 3");
        check_true("{{count}} > 2.5");
        check_true("{{count}} >= 3.0");
        check_false("{{count}} > 3");
        check_true("{{steps.check.exit_status}} == 0");
        check_true("{{steps.check.exit_status}} == {{steps.check-2.exit_status}}");
        check_true("{{steps.fetch.sha}} =~ '^[0-9a-f]{7}$'");
        check_false("{{steps.fetch.sha}} =~ '^[0-9]+$'");
        check_true("{{steps.fetch.sha}} =~ 'c0'");           /* anywhere: not anchored */
        check_true("{{name}} =~ '^WEB' || {{name}} =~ 'web'");
        check_true("12 =~ '^1'");                             /* a number is a value like any */
        check_true("{{a}} == 1 && {{b}} == 0");
        check_false("{{a}} == 1 && {{b}} == 1");
        check_true("{{a}} == 0 || {{b}} == 0");
        check_false("{{a}} == 0 || {{b}} == 1");
        check_false("!({{a}} == 1)");
        check_true("!!({{a}} == 1)");
        check_true("!(!({{a}} == 1))");
        check_true("{{a}} == 1 && {{a}} == 1 && {{a}} == 1 && {{b}} == 0");
        check_false("{{a}} == 0 || {{a}} == 0 || {{b}} == 1");
}

static void test_precedence(void) {
        /* a=1, b=0: '&&' binds tighter than '||' */
        check_true("{{a}} == 1 || {{b}} == 1 && {{b}} == 1");    /* a || (b && b) */
        check_false("({{a}} == 1 || {{b}} == 1) && {{b}} == 1");
        check_true("{{b}} == 1 && {{b}} == 1 || {{a}} == 1");    /* (b && b) || a */
        check_false("{{b}} == 1 && ({{b}} == 1 || {{a}} == 1)");
        /* '!' binds tighter than '&&' and '||' */
        check_true("!({{b}} == 1) && {{a}} == 1");
        check_false("!({{b}} == 1 || {{a}} == 1) && {{a}} == 1");
        check_true("!({{a}} == 1) || {{a}} == 1");
        /* and tighter than a comparison, which '!' therefore cannot take without parentheses */
        parse_fails("!{{a}} == 1", -EINVAL,
                    "at offset 1: expected '(' after '!', found {{a}} ('!' negates a condition in parentheses: "
                    "!({{x}} == 'y'))");
        /* the printer keeps the structure, with parentheses only where needed */
        check_format("{{a}} == 1 || {{b}} == 1 && {{c}} == 1", "{{a}} == 1 || {{b}} == 1 && {{c}} == 1");
        check_format("({{a}} == 1 || {{b}} == 1) && {{c}} == 1", "({{a}} == 1 || {{b}} == 1) && {{c}} == 1");
        check_format("(({{a}} == 1)) && ((({{b}} == 1)))", "{{a}} == 1 && {{b}} == 1");
        check_format("({{a}} == 1 && {{b}} == 1) && {{c}} == 1", "({{a}} == 1 && {{b}} == 1) && {{c}} == 1");
        check_format("{{a}} == 1 || ({{b}} == 1 || {{c}} == 1)", "{{a}} == 1 || ({{b}} == 1 || {{c}} == 1)");
        check_format("{{a}} == 1 || ({{b}} == 1 && {{c}} == 1)", "{{a}} == 1 || {{b}} == 1 && {{c}} == 1");
        check_format("!(!({{a}} == 1))", "!!({{a}} == 1)");
        check_format("!((({{a}} == 1 || {{b}} =~ 'x')))", "!({{a}} == 1 || {{b}} =~ 'x')");
        check_format("{{steps.s-1.exit_status}}>=-1.50", "{{steps.s-1.exit_status}} >= -1.50");
}

static void test_numbers(void) {
        /* both sides numbers: exact decimal comparison */
        check_true("'10' == 10.0");
        check_true("'+010' == 10");
        check_true("-0 == 0");
        check_true("'-0.000' == '+0'");
        check_true("'9' < '10'");                         /* numerically; as strings '9' > '10' */
        check_true("-2 < -1.5");
        check_true("-1.5 < 1");
        check_false("0.1 > 0.10");
        check_true("9007199254740993 != 9007199254740992");   /* no rounding through a double */
        check_true("0.1 < 0.10000000000000000001");
        check_true("123456789012345678901234567890 > 123456789012345678901234567889.999");
        check_true("{{count}} == '3'");
        check_true("{{big}} > 1");
        /* anything else compares bytes, and only '==' and '!=' may */
        check_false("'1e3' == 1000");
        check_false("' 1' == 1");
        check_false("'1 ' == 1");
        check_false("'0x10' == 16");
        check_true("'abc' != 'abd'");
        check_false("'ABC' == 'abc'");
        check_true("{{empty}} == ''");
        eval_fails("{{name}} < 10", -EDOM, "at offset 9: '<' needs numbers: left side {{name}} is 'web-1', not a number");
        eval_fails("10 >= {{name}}", -EDOM, "at offset 3: '>=' needs numbers: right side {{name}} is 'web-1', not a number");
        eval_fails("{{empty}} > 0", -EDOM, "at offset 10: '>' needs numbers: left side {{empty}} is '', not a number");
        eval_fails("{{spaced}} <= 1", -EDOM, "at offset 11: '<=' needs numbers: left side {{spaced}} is ' 1', not a number");
        eval_fails("{{long}} < 1", -EDOM,
                   "at offset 9: '<' needs numbers: left side {{long}} is "
                   "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…', not a number");
        eval_fails("{{binary}} < 1", -EDOM,
                   "at offset 11: '<' needs numbers: left side {{binary}} is '\\xff\\x01\\x0a', not a number");
}

static void test_missing_and_short_circuit(void) {
        char error[EXPR_ERROR_MAX];
        bool v;

        eval_fails("{{missing}} == 1", -ENXIO, "at offset 0: {{missing}} has no value");
        eval_fails("{{a}} == 1 && {{steps.x.out}} == 1", -ENXIO, "at offset 14: {{steps.x.out}} has no value");
        eval_fails("{{steps.x.exit_status}} == 0", -ENXIO, "at offset 0: {{steps.x.exit_status}} has no value");
        eval_fails("!({{missing}} == 1)", -ENXIO, "at offset 2: {{missing}} has no value");
        eval_fails("{{io_error}} == 1", -EIO, "at offset 0: looking up {{io_error}} failed: Input/output error");
        /* '<' on a value that is no number is an error even when the other side would decide */
        eval_fails("{{name}} < 1 || {{a}} == 1", -EDOM,
                   "at offset 9: '<' needs numbers: left side {{name}} is 'web-1', not a number");

        /* decided by the left side: the right side's references are not looked up */
        n_lookups = 0;
        check_false("{{b}} == 1 && {{missing}} == 1");
        check_int(n_lookups, 1);
        check_true("{{a}} == 1 || {{missing}} == 1");
        check_false("{{b}} == 1 && {{name}} < 1");               /* would be -EDOM */
        check_true("{{a}} == 1 || {{io_error}} == 1");           /* would be -EIO */
        check_false("{{a}} == 0 && ({{missing}} == 1 || {{missing}} == 2)");
        check_true("{{b}} == 1 || {{a}} == 1 || {{missing}} == 1");
        check_false("!({{a}} == 1 || {{missing}} == 1)");
        /* not decided by the left side: the right side is needed */
        eval_fails("{{a}} == 1 && {{missing}} == 1", -ENXIO, "at offset 14: {{missing}} has no value");
        eval_fails("{{b}} == 1 || {{missing}} == 1", -ENXIO, "at offset 14: {{missing}} has no value");
        /* evaluation order is left to right, so a missing left side fails whatever the right */
        eval_fails("{{missing}} == 1 && {{b}} == 1", -ENXIO, "at offset 0: {{missing}} has no value");

        /* no lookup function: every reference has no value; literals alone still evaluate */
        {
                _cleanup_(expr_freep) Expr *e = parse_ok("1 == 1 || {{a}} == 1"), *f = parse_ok("{{a}} == 1");

                check_int(expr_eval(e, NULL, NULL, NULL, &v, error, sizeof error), 0);
                check(v);
                check_int(expr_eval(f, NULL, NULL, NULL, &v, error, sizeof error), -ENXIO);
                check_streq(error, "at offset 0: {{a}} has no value");
                check_int(expr_eval(f, NULL, NULL, NULL, &v, NULL, 0), -ENXIO);
        }
}

static void test_seen(void) {
        _cleanup_(json_decrefp) json_t *seen = json_object(), *expected = NULL, *not_object = json_array();
        _cleanup_(expr_freep) Expr *e = NULL;
        char error[EXPR_ERROR_MAX];
        bool v;

        check(seen && not_object);
        check_int(eval_text("{{ a }} == 1 && {{steps.fetch.sha}} =~ '^c' && {{b}} == 1 && {{missing}} == 1",
                            &v, error, sizeof error, seen), 0);
        check(!v);
        expected = json_pack("{s:s,s:s,s:s}", "{{a}}", "1", "{{steps.fetch.sha}}", "c0ffee1", "{{b}}", "0");
        check(expected && json_equal(seen, expected));

        json_object_clear(seen);
        check_int(eval_text("{{a}} == 1 && {{missing}} == 1", &v, error, sizeof error, seen), -ENXIO);
        json_decref(expected);
        expected = json_pack("{s:s,s:n}", "{{a}}", "1", "{{missing}}");
        check(expected && json_equal(seen, expected));

        /* not UTF-8: written with \xNN */
        json_object_clear(seen);
        check_int(eval_text("{{binary}} == 'x' || {{name}} == 'web-1'", &v, error, sizeof error, seen), 0);
        check(v);
        check_streq(json_string_value(json_object_get(seen, "{{binary}}")), "\\xff\x01\n");
        check_streq(json_string_value(json_object_get(seen, "{{name}}")), "web-1");

        e = parse_ok("{{a}} == 1");
        check_int(expr_eval(e, lookup, values, not_object, &v, error, sizeof error), -EINVAL);
}

static void test_limits(void) {
        _cleanup_free_ char *deep = NULL, *too_deep = NULL, *nots = NULL, *too_many_nots = NULL, *mixed = NULL,
                            *longest = NULL, *too_long = NULL, *chain = NULL;
        char error[EXPR_ERROR_MAX];
        Expr *e = NULL;
        size_t k;

        /* 64 levels of '(' */
        deep = malloc(64 * 2 + 32);
        check(deep);
        k = 0;
        for (int i = 0; i < 64; i++)
                deep[k++] = '(';
        k += (size_t) sprintf(deep + k, "{{a}} == 1");
        for (int i = 0; i < 64; i++)
                deep[k++] = ')';
        deep[k] = 0;
        check_true(deep);
        check_int(asprintf_safe(&too_deep, "(%s)", deep), 0);
        parse_fails(too_deep, -E2BIG, "at offset 64: nested deeper than 64 levels of '(' and '!'");

        /* 64 levels of '!' (the '(' after them is one more) */
        nots = malloc(64 + 32);
        check(nots);
        memset(nots, '!', 63);
        strcpy(nots + 63, "({{a}} == 1)");
        check_false(nots);
        too_many_nots = malloc(64 + 32);
        check(too_many_nots);
        memset(too_many_nots, '!', 64);
        strcpy(too_many_nots + 64, "({{a}} == 1)");
        parse_fails(too_many_nots, -E2BIG, "at offset 64: nested deeper than 64 levels of '(' and '!'");
        /* a hostile nesting stops at the limit, not at the stack's */
        mixed = malloc(EXPR_TEXT_MAX + 1);
        check(mixed);
        for (k = 0; k < EXPR_TEXT_MAX; k++)
                mixed[k] = k % 2 ? '(' : '!';
        mixed[k] = 0;
        parse_fails(mixed, -E2BIG, "at offset 64: nested deeper than 64 levels of '(' and '!'");

        /* a long chain is not deep */
        chain = malloc(EXPR_TEXT_MAX + 1);
        check(chain);
        k = 0;
        while (k + 14 < EXPR_TEXT_MAX)
                k += (size_t) sprintf(chain + k, "%s{{a}} == 1", k == 0 ? "" : "&&");
        check(k > 3900);
        check_true(chain);

        /* 4096 bytes, and one more */
        longest = malloc(EXPR_TEXT_MAX + 1);
        check(longest);
        memset(longest, 'x', EXPR_TEXT_MAX);
        memcpy(longest, "{{a}} != '", 10);
        longest[EXPR_TEXT_MAX - 1] = '\'';
        longest[EXPR_TEXT_MAX] = 0;
        check_true(longest);
        check_int(asprintf_safe(&too_long, "%s ", longest), 0);
        check_int(expr_parse(too_long, &e, error, sizeof error), -E2BIG);
        check_streq(error, "expression is longer than 4096 bytes");
        check(!e);
}

typedef struct Walk {
        char log[1024];
        unsigned n;
        unsigned stop_after;
} Walk;

static int walk_cb(const ExprRef *ref, void *userdata) {
        Walk *w = userdata;
        size_t k = strlen(w->log);

        snprintf(w->log + k, sizeof w->log - k, "%s%s:%s:%s:%s@%zu", k ? " " : "", expr_ref_kind_to_string(ref->kind),
                 strna(ref->step), strna(ref->name), ref->text, ref->offset);
        if (++w->n == w->stop_after)
                return -ECANCELED;
        return 0;
}

static void test_refs(void) {
        static const char text[] =
                "{{ host }} == 'a' && ({{steps.check.exit_status}} == 0 || !({{steps.fetch-2.sha}} =~ 'x'))"
                " || 1 < {{count}} && {{host}} != {{steps.check.host_name}}";
        _cleanup_(expr_freep) Expr *e = parse_ok(text), *literal = parse_ok("1 == 1 && ('a' =~ 'b')");
        Walk w = {};

        check_int(expr_foreach_ref(e, walk_cb, &w), 0);
        check_streq(w.log,
                    "param:n/a:host:{{host}}@0 "
                    "step-exit-status:check:n/a:{{steps.check.exit_status}}@22 "
                    "step-value:fetch-2:sha:{{steps.fetch-2.sha}}@60 "
                    "param:n/a:count:{{count}}@98 "
                    "param:n/a:host:{{host}}@111 "
                    "step-value:check:host_name:{{steps.check.host_name}}@123");
        check_int(w.n, 6);
        check(strncmp(text + 60, "{{steps.fetch-2.sha}}", 21) == 0);

        w = (Walk) { .stop_after = 2 };
        check_int(expr_foreach_ref(e, walk_cb, &w), -ECANCELED);
        check_int(w.n, 2);

        w = (Walk) {};
        check_int(expr_foreach_ref(literal, walk_cb, &w), 0);
        check_int(w.n, 0);

        check_streq(expr_ref_kind_to_string(EXPR_REF_PARAM), "param");
        check(!expr_ref_kind_to_string(_EXPR_REF_KIND_MAX));
        check(!expr_ref_kind_to_string(_EXPR_REF_KIND_INVALID));

        /* {{steps}} alone is a parameter named 'steps' */
        {
                _cleanup_(expr_freep) Expr *p = parse_ok("{{steps}} == 1");

                w = (Walk) {};
                check_int(expr_foreach_ref(p, walk_cb, &w), 0);
                check_streq(w.log, "param:n/a:steps:{{steps}}@0");
        }
}

int main(void) {
        values = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
                           "{{name}}", "web-1",
                           "{{count}}", "3",
                           "{{a}}", "1",
                           "{{b}}", "0",
                           "{{c}}", "0",
                           "{{empty}}", "",
                           "{{spaced}}", " 1",
                           "{{big}}", "100000000000000000000000000000000000000000000000000000",
                           "{{steps.check.exit_status}}", "0",
                           "{{steps.check-2.exit_status}}", "0",
                           "{{steps.fetch.sha}}", "c0ffee1",
                           "{{long}}", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        check(values);
        /* json_pack refuses invalid UTF-8: a lookup may still return it */
        check(json_object_set_new(values, "{{binary}}", json_stringn_nocheck("\xff\x01\n", 3)) == 0);

        TEST(parse_errors);
        TEST(literals);
        TEST(operators);
        TEST(precedence);
        TEST(numbers);
        TEST(missing_and_short_circuit);
        TEST(seen);
        TEST(limits);
        TEST(refs);
        json_decref(values);
        return 0;
}
