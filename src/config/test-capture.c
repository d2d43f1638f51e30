/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-capture.c: a step's "capture" specs (their errors, with the JSON path) and taking the
 * values from stdout (regex, json, line; pattern, leading '-', text checks). */
#include <stdio.h>

#include "config/capture.h"
#include "shared/tests.h"

#define SRC "/x/runbooks/web.json"
#define PATH "$.steps[0].capture"

static char *spec_error(const char *text) {
        _cleanup_(json_decrefp) json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        CaptureSpec *c = NULL;
        size_t n = 0;
        char *error = NULL;

        check(v);
        check_int(capture_specs_from_json(v, SRC, PATH, &c, &n, &error), -EINVAL);
        check(!c && error);
        fprintf(stderr, "   %s\n", error);
        return error;
}

static void check_spec_error(const char *text, const char *expected) {
        _cleanup_free_ char *e = spec_error(text);
        check_streq(e, expected);
}

static CaptureSpec *specs(const char *text, size_t *n) {
        _cleanup_(json_decrefp) json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        _cleanup_free_ char *error = NULL;
        CaptureSpec *c = NULL;

        check(v);
        if (capture_specs_from_json(v, SRC, PATH, &c, n, &error) < 0)
                fprintf(stderr, "unexpected: %s\n", error);
        check(c);
        return c;
}

/* The value of the one capture in 'spec' from 'out', or NULL with *problem. */
static char *take(const char *spec, const char *out, char **problem) {
        size_t n = 0;
        CaptureSpec *c = specs(spec, &n);
        char *value = NULL;
        int r;

        check_int(n, 1);
        r = capture_extract(&c[0], out, strlen(out), &value, problem);
        check(r == 0 || r == 1);
        check((r == 0) == !!value && (r == 1) == !!*problem);
        if (*problem)
                fprintf(stderr, "   %s\n", *problem);
        capture_specs_free(c, n);
        return value;
}

static void check_value(const char *spec, const char *out, const char *expected) {
        _cleanup_free_ char *problem = NULL, *v = take(spec, out, &problem);
        check_streq(v, expected);
}

static void check_problem(const char *spec, const char *out, const char *expected) {
        _cleanup_free_ char *problem = NULL, *v = take(spec, out, &problem);
        check(!v);
        check_streq(problem, expected);
}

static void test_spec_errors(void) {
        check_spec_error("{}", SRC ": " PATH ": must be an object of named values, e.g. "
                         "{ \"version\": { \"regex\": \"^v([0-9.]+)$\" } }");
        check_spec_error("[]", SRC ": " PATH ": must be an object of named values, e.g. "
                         "{ \"version\": { \"regex\": \"^v([0-9.]+)$\" } }");
        check_spec_error("{\"9v\": {\"line\": 1}}",
                         SRC ": " PATH "[\"9v\"]: invalid name: a value's name is [A-Za-z_][A-Za-z0-9_]{0,63}");
        check_spec_error("{\"v\": {\"line\": 1}, \"V\": {\"line\": 2}}", SRC ": " PATH ".V: 'V' differs from 'v' only in case");
        check_spec_error("{\"v\": 1}", SRC ": " PATH ".v: must be an object with one of \"regex\", \"json\" or \"line\"");
        check_spec_error("{\"v\": {}}", SRC ": " PATH ".v: must have exactly one of \"regex\", \"json\" or \"line\"");
        check_spec_error("{\"v\": {\"line\": 1, \"json\": \"a\"}}",
                         SRC ": " PATH ".v: must have exactly one of \"regex\", \"json\" or \"line\"");
        check_spec_error("{\"v\": {\"line\": 1, \"colour\": 1}}",
                         SRC ": " PATH ".v.colour: unknown key (allowed: regex, json, line, pattern, allow_leading_dash)");
        check_spec_error("{\"v\": {\"regex\": \"^a$\"}}",
                         SRC ": " PATH ".v.regex: must have exactly one group ( … ), whose match is the value (it has 0)");
        check_spec_error("{\"v\": {\"regex\": \"(a)(b)\"}}",
                         SRC ": " PATH ".v.regex: must have exactly one group ( … ), whose match is the value (it has 2)");
        check_spec_error("{\"v\": {\"regex\": \"(a\"}}",
                         SRC ": " PATH ".v.regex: invalid regular expression: Unmatched ( or \\(");
        check_spec_error("{\"v\": {\"regex\": \"\"}}", SRC ": " PATH ".v.regex: must be a non-empty string");
        check_spec_error("{\"v\": {\"line\": 0}}", SRC ": " PATH ".v.line: must be an integer from 1 (the first line) to 100000");
        check_spec_error("{\"v\": {\"line\": \"1\"}}", SRC ": " PATH ".v.line: must be an integer from 1 (the first line) to 100000");
        check_spec_error("{\"v\": {\"json\": \"\"}}", SRC ": " PATH ".v.json: '' is empty");
        check_spec_error("{\"v\": {\"json\": \"a..b\"}}",
                         SRC ": " PATH ".v.json: 'a..b' has an empty member name (members are [A-Za-z0-9_-]+)");
        check_spec_error("{\"v\": {\"json\": \"a[x]\"}}", SRC ": " PATH ".v.json: 'a[x]' has a '[' without an index");
        check_spec_error("{\"v\": {\"json\": \"a[1\"}}",
                         SRC ": " PATH ".v.json: 'a[1' has an index that is not a number up to 1000000 in [ ]");
        check_spec_error("{\"v\": {\"json\": \"a b\"}}",
                         SRC ": " PATH ".v.json: 'a b' has something other than '.member' or '[N]' after a member");
        check_spec_error("{\"v\": {\"json\": \"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q\"}}",
                         SRC ": " PATH ".v.json: 'a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q' is too deep (at most 16 members and indexes)");
        check_spec_error("{\"v\": {\"line\": 1, \"pattern\": \"[\"}}",
                         SRC ": " PATH ".v.pattern: invalid regular expression: Invalid regular expression");
        check_spec_error("{\"v\": {\"regex\": \"^((((a+)?)+)?)\"}}",
                         SRC ": " PATH ".v.regex: the pattern's repetitions are nested more than 3 deep (it makes "
                         "compiling the pattern exponentially slow)");
        check_spec_error("{\"v\": {\"line\": 1, \"pattern\": \"(a)\\\\1\"}}",
                         SRC ": " PATH ".v.pattern: back-references (\\1) are not allowed in patterns (they make "
                         "matching exponentially slow)");
        check_spec_error("{\"v\": {\"line\": 1, \"allow_leading_dash\": 1}}",
                         SRC ": " PATH ".v.allow_leading_dash: must be true or false");
        {
                _cleanup_free_ char *many = strdup("{");
                for (int i = 0; i < CAPTURES_MAX + 1; i++) {
                        char *m = NULL;
                        check(asprintf_safe(&m, "%s%s\"v%d\": {\"line\": 1}", many, i ? ", " : "", i) == 0);
                        free(many);
                        many = m;
                }
                char *m = NULL;
                check(asprintf_safe(&m, "%s}", many) == 0);
                free(many);
                many = m;
                check_spec_error(many, SRC ": " PATH ": too many values (at most 16)");
        }
}

static void test_regex(void) {
        const char *spec = "{\"version\": {\"regex\": \"^app ([0-9.]+)$\"}}";

        check_value(spec, "starting\napp 2.4.1\napp 3.0\n", "2.4.1");      /* the first matching line */
        check_value(spec, "app 2.4.1\r\n", "2.4.1");                       /* CRLF */
        check_value(spec, "app 7", "7");                                   /* no newline at the end */
        check_problem(spec, "application 2\n", "no line of stdout matches '^app ([0-9.]+)$'");
        check_problem(spec, "", "no line of stdout matches '^app ([0-9.]+)$'");
        /* a group that takes part in no match gives the empty value */
        check_value("{\"v\": {\"regex\": \"^x(y)?$\"}}", "x\n", "");
}

static void test_json(void) {
        check_value("{\"v\": {\"json\": \"a.b[1]\"}}", "{\"a\": {\"b\": [\"x\", \"y\"]}}", "y");
        check_value("{\"v\": {\"json\": \"[0].n\"}}", "[{\"n\": 42}]", "42");
        check_value("{\"v\": {\"json\": \"f\"}}", "{\"f\": 1.5}", "1.5");
        check_value("{\"v\": {\"json\": \"t\"}}", "{\"t\": true}\n", "true");
        check_value("{\"v\": {\"json\": \"with-dash_1\"}}", "{\"with-dash_1\": \"ok\"}", "ok");
        check_problem("{\"v\": {\"json\": \"a\"}}", "not json", "stdout is not JSON (line 1 column 3: invalid token near 'not')");
        check_problem("{\"v\": {\"json\": \"a.c\"}}", "{\"a\": {\"b\": 1}}", "stdout's JSON has no member 'c' (a.c)");
        check_problem("{\"v\": {\"json\": \"a[3]\"}}", "{\"a\": [1]}", "stdout's JSON has no element [3] (a[3])");
        check_problem("{\"v\": {\"json\": \"a\"}}", "{\"a\": {}}", "a in stdout's JSON is an object, not a value");
        check_problem("{\"v\": {\"json\": \"a\"}}", "{\"a\": null}", "a in stdout's JSON is null, not a value");
        check_problem("{\"v\": {\"json\": \"a\"}}", "{\"a\": 1, \"a\": 2}",
                      "stdout is not JSON (line 1 column 12: duplicate object key near '\"a\"')");
        check_problem("{\"v\": {\"json\": \"a\"}}", "{\"a\": \"two\\nlines\"}", "the value has more than one line");
}

static void test_line(void) {
        check_value("{\"v\": {\"line\": 2}}", "one\ntwo\nthree\n", "two");
        check_value("{\"v\": {\"line\": 1}}", "\n", "");
        check_problem("{\"v\": {\"line\": 4}}", "one\ntwo\nthree\n", "stdout has no line 4");
}

static void test_value_checks(void) {
        check_problem("{\"v\": {\"line\": 1, \"pattern\": \"^[0-9]+$\"}}", "12a\n",
                      "the value '12a' does not match its pattern '^[0-9]+$'");
        check_value("{\"v\": {\"line\": 1, \"pattern\": \"^[0-9]+$\"}}", "12\n", "12");
        check_problem("{\"v\": {\"line\": 1}}", "--force\n",
                      "the value starts with '-', which a program could take as an option "
                      "(the capture may allow it with \"allow_leading_dash\": true)");
        check_value("{\"v\": {\"line\": 1, \"allow_leading_dash\": true}}", "-5\n", "-5");
        check_problem("{\"v\": {\"line\": 1}}", "a\x1b[31mb\n",
                      "the value is not printable UTF-8 text (control character U+001B at byte 1)");
        check_problem("{\"v\": {\"line\": 1}}", "\xff\n", "the value is not printable UTF-8 text (invalid UTF-8 at byte 0)");
        {
                char big[CAPTURE_VALUE_MAX + 3];
                memset(big, 'a', sizeof big - 2);
                big[sizeof big - 2] = '\n';
                big[sizeof big - 1] = 0;
                check_problem("{\"v\": {\"line\": 1}}", big, "the value is too long (4097 bytes, at most 4096)");
        }
        /* a NUL in stdout ends the text a line capture sees */
        {
                size_t n = 0;
                CaptureSpec *c = specs("{\"v\": {\"line\": 2}}", &n);
                char *value = NULL, *problem = NULL;
                check_int(capture_extract(&c[0], "a\0b\nc\n", 6, &value, &problem), 1);
                check_streq(problem, "stdout has no line 2");
                free(problem);
                capture_specs_free(c, n);
        }
}

static void test_find(void) {
        size_t n = 0;
        CaptureSpec *c = specs("{\"a\": {\"line\": 1}, \"bb\": {\"line\": 2}}", &n);

        check_int(n, 2);
        check(capture_spec_find(c, n, "bb", 2) == &c[1]);
        check(capture_spec_find(c, n, "bbx", 2) == &c[1]);
        check(!capture_spec_find(c, n, "b", 1));
        check(!capture_spec_find(c, n, "A", 1));
        capture_specs_free(c, n);
}

int main(void) {
        TEST(spec_errors);
        TEST(regex);
        TEST(json);
        TEST(line);
        TEST(value_checks);
        TEST(find);
        return 0;
}
