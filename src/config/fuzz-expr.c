/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-expr: random "when" expressions (expr.h). Each iteration
 *   - generates a well-formed expression from the grammar together with its expected result,
 *     computed here by an independent oracle (its own number recognizer and decimal comparison,
 *     short-circuit over precomputed operand results), and checks that it parses and evaluates
 *     to exactly that;
 *   - mutates it (bytes and tokens deleted, inserted, replaced, duplicated, truncated) and,
 *     now and then, makes random bytes, deep nestings and texts around the length limit: parsing
 *     must never crash and either succeed or fail cleanly with "at offset N: …";
 *   - for everything that parses, checks invariants: evaluation is deterministic and fails only
 *     cleanly; the values it saw are references the walk reports; the printed form parses back
 *     to the same print and the same result; !(E) is the negation of E, (E) && (E) and
 *     (E) || (E) are E (or all fail alike).
 *
 *   FUZZ_ITERATIONS=N (default 10000) FUZZ_SEED=S (default fixed) build/src/fuzz-expr
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/expr.h"
#include "shared/tests.h"
#include "shared/util.h"

static uint64_t rng_state, seed;
static unsigned long iteration;
static const char *current;     /* the text under test, shown when a check fails */

static uint64_t rng(void) {
        /* xorshift64*: reproducible for a seed */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned rnd(unsigned n) {
        return (unsigned) (rng() % n);
}

#define fcheck(expr)                                                                                  \
        do {                                                                                          \
                if (!(expr)) {                                                                        \
                        fprintf(stderr, "seed %#llx, iteration %lu, text (%zu bytes):\n%s\n",         \
                                (unsigned long long) seed, iteration, current ? strlen(current) : 0,  \
                                strna(current));                                                      \
                        check(expr);                                                                  \
                }                                                                                     \
        } while (0)

/* ---- the values references have --------------------------------------------------------- */

typedef struct RefValue {
        const char *text;         /* as written in generated expressions */
        const char *canonical;
        const char *value;        /* NULL: no value */
        int lookup_r;             /* what the lookup returns: 1, 0 (no value) or a negative errno */
} RefValue;

static const RefValue ref_values[] = {
        { "{{a}}", "{{a}}", "1", 1 },
        { "{{ b }}", "{{b}}", "0", 1 },
        { "{{n}}", "{{n}}", "-3.5", 1 },
        { "{{z}}", "{{z}}", "007", 1 },
        { "{{big}}", "{{big}}", "123456789012345678901234567890", 1 },
        { "{{big2}}", "{{big2}}", "123456789012345678901234567891", 1 },
        { "{{tiny}}", "{{tiny}}", "0.000000000000000000000000000001", 1 },
        { "{{s}}", "{{s}}", "abc", 1 },
        { "{{e}}", "{{e}}", "", 1 },
        { "{{q}}", "{{q}}", "it's", 1 },
        { "{{sp}}", "{{sp}}", " 1", 1 },
        { "{{exp}}", "{{exp}}", "1e3", 1 },
        { "{{hex}}", "{{hex}}", "0x10", 1 },
        { "{{bin}}", "{{bin}}", "\xff\xfe\x01", 1 },
        { "{{nl}}", "{{nl}}", "a\nb", 1 },
        { "{{\tsteps.s1.out\t}}", "{{steps.s1.out}}", "10.0", 1 },
        { "{{steps.s1.sha}}", "{{steps.s1.sha}}", "c0ffee", 1 },
        { "{{steps.s-2.exit_status}}", "{{steps.s-2.exit_status}}", "0", 1 },
        { "{{steps.s_3.exit_status}}", "{{steps.s_3.exit_status}}", "2", 1 },
        { "{{steps.s1.missing}}", "{{steps.s1.missing}}", NULL, 0 },
        { "{{missing}}", "{{missing}}", NULL, 0 },
        { "{{io}}", "{{io}}", NULL, -EIO },
};

static int lookup(const ExprRef *ref, void *userdata, const char **ret_value) {
        unsigned *n_lookups = userdata;

        (*n_lookups)++;
        for (size_t i = 0; i < ELEMENTSOF(ref_values); i++)
                if (streq(ref->text, ref_values[i].canonical)) {
                        if (ref_values[i].lookup_r > 0)
                                *ret_value = ref_values[i].value;
                        return ref_values[i].lookup_r;
                }
        return 0;   /* references made by mutations have no value */
}

/* ---- the oracle ----------------------------------------------------------------------------- */

static regex_t number_regex;

static bool oracle_is_number(const char *s) {
        return regexec(&number_regex, s, 0, NULL, 0) == 0;
}

/* Compares two numbers by padding both to the same shape: digits before the point padded on the
 * left, after it on the right, then compared as strings. */
static int oracle_number_compare(const char *a, const char *b) {
        const char *in[2] = { a, b };
        char *digits[2];
        bool negative[2];
        size_t n_int[2], n_frac[2], w_int, w_frac;
        int c;

        for (int i = 0; i < 2; i++) {
                const char *s = in[i], *dot;

                negative[i] = *s == '-';
                if (*s == '+' || *s == '-')
                        s++;
                dot = strchr(s, '.');
                n_int[i] = dot ? (size_t) (dot - s) : strlen(s);
                n_frac[i] = dot ? strlen(dot + 1) : 0;
        }
        w_int = MAX(n_int[0], n_int[1]);
        w_frac = MAX(n_frac[0], n_frac[1]);
        for (int i = 0; i < 2; i++) {
                const char *s = in[i] + (in[i][0] == '+' || in[i][0] == '-');
                bool zero = true;

                digits[i] = malloc(w_int + w_frac + 1);
                check(digits[i]);
                memset(digits[i], '0', w_int + w_frac);
                memcpy(digits[i] + (w_int - n_int[i]), s, n_int[i]);
                if (n_frac[i] > 0)
                        memcpy(digits[i] + w_int, s + n_int[i] + 1, n_frac[i]);
                digits[i][w_int + w_frac] = 0;
                for (char *p = digits[i]; *p; p++)
                        zero = zero && *p == '0';
                if (zero)
                        negative[i] = false;
        }
        if (negative[0] != negative[1])
                c = negative[0] ? -1 : 1;
        else {
                c = strcmp(digits[0], digits[1]);
                c = (c > 0) - (c < 0);
                if (negative[0])
                        c = -c;
        }
        free(digits[0]);
        free(digits[1]);
        return c;
}

typedef struct Result {
        int r;                    /* 0 or the negative errno of the evaluation */
        bool v;
} Result;

/* ---- the generator -------------------------------------------------------------------------- */

typedef struct Value {
        const char *text;
        const char *value;        /* what it evaluates to, if lookup_r > 0 */
        int lookup_r;
} Value;

static const char *const string_literals[][2] = {
        { "'1'", "1" }, { "'10'", "10" }, { "'abc'", "abc" }, { "''", "" }, { "'it''s'", "it's" },
        { "'0.0'", "0.0" }, { "'-0'", "-0" }, { "' 1'", " 1" }, { "'x y'", "x y" }, { "'\\'", "\\" },
        { "'1e3'", "1e3" }, { "'c0ffee'", "c0ffee" }, { "'a\nb'", "a\nb" }, { "'007'", "007" },
        { "'{{a}}'", "{{a}}" }, { "'$(touch x)'", "$(touch x)" }, { "'10.00'", "10.00" },
};

static const char *const number_literals[] = {
        "0", "1", "-1", "+2", "3.50", "10", "007", "-0.0", "123456789012345678901234567890", "-3.5", "2", "0.5",
        "123456789012345678901234567891", "0.000000000000000000000000000001",
};

/* Patterns as written, and what they are unquoted. */
static const char *const patterns[][2] = {
        { "'^a'", "^a" }, { "'b'", "b" }, { "'^[0-9]+$'", "^[0-9]+$" },
        { "'^[+-]?[0-9]+(\\.[0-9]+)?$'", "^[+-]?[0-9]+(\\.[0-9]+)?$" }, { "'it''s'", "it's" }, { "'^$'", "^$" },
        { "'.'", "." }, { "'(a|b)c'", "(a|b)c" }, { "'[[:space:]]'", "[[:space:]]" }, { "'\\\\'", "\\\\" },
        { "'^c0+f'", "^c0+f" }, { "'a{2,}'", "a{2,}" }, { "'[^0-9]'", "[^0-9]" }, { "'\\.'", "\\." },
};

static const char *ws(void) {
        static const char *const w[] = { "", " ", " ", " ", "  ", "\t", "\n", "\r\n" };
        return w[rnd(ELEMENTSOF(w))];
}

static Value pick_value(bool numbers_only) {
        unsigned k = rnd(4);

        if (k <= 1) {
                const RefValue *r = &ref_values[rnd(ELEMENTSOF(ref_values))];
                return (Value) { r->text, r->value, r->lookup_r };
        }
        if (k == 2 && !numbers_only) {
                size_t i = rnd(ELEMENTSOF(string_literals));
                return (Value) { string_literals[i][0], string_literals[i][1], 1 };
        }
        if (k == 2) {
                /* a quoted number is a number too */
                static const char *const quoted[][2] = { { "'1'", "1" }, { "'10'", "10" }, { "'-0'", "-0" },
                                                         { "'007'", "007" }, { "'10.00'", "10.00" } };
                size_t i = rnd(ELEMENTSOF(quoted));
                return (Value) { quoted[i][0], quoted[i][1], 1 };
        }
        {
                const char *n = number_literals[rnd(ELEMENTSOF(number_literals))];
                return (Value) { n, n, 1 };
        }
}

static Result value_result(const Value *v) {
        return (Result) { .r = v->lookup_r > 0 ? 0 : v->lookup_r == 0 ? -ENXIO : v->lookup_r };
}

static char *gen_comparison(Result *ret) {
        static const char *const ops[] = { "==", "!=", "<", "<=", ">", ">=", "=~" };
        const char *op = ops[rnd(ELEMENTSOF(ops))];
        bool ordering = op[0] == '<' || op[0] == '>';
        Value l = pick_value(ordering), r;
        Result lr = value_result(&l), rr;
        char *text;

        if (streq(op, "=~")) {
                size_t i = rnd(ELEMENTSOF(patterns));
                regex_t re;

                check(asprintf_safe(&text, "%s%s%s%s%s", l.text, ws(), op, ws(), patterns[i][0]) == 0);
                if (lr.r < 0) {
                        *ret = lr;
                        return text;
                }
                check(regcomp(&re, patterns[i][1], REG_EXTENDED | REG_NOSUB) == 0);
                *ret = (Result) { .v = regexec(&re, l.value, 0, NULL, 0) == 0 };
                regfree(&re);
                return text;
        }

        r = pick_value(ordering);
        rr = value_result(&r);
        check(asprintf_safe(&text, "%s%s%s%s%s", l.text, ws(), op, ws(), r.text) == 0);
        if (lr.r < 0 || rr.r < 0) {
                *ret = lr.r < 0 ? lr : rr;
                return text;
        }
        {
                bool numeric = oracle_is_number(l.value) && oracle_is_number(r.value);
                int c;

                if (ordering && !numeric) {
                        *ret = (Result) { .r = -EDOM };
                        return text;
                }
                c = numeric ? oracle_number_compare(l.value, r.value) : strcmp(l.value, r.value);
                *ret = (Result) {
                        .v = streq(op, "==") ? c == 0 : streq(op, "!=") ? c != 0 : streq(op, "<") ? c < 0 :
                             streq(op, "<=") ? c <= 0 : streq(op, ">") ? c > 0 : c >= 0,
                };
        }
        return text;
}

typedef enum Kind { KIND_OR, KIND_AND, KIND_OTHER } Kind;

static char *gen(unsigned depth, Result *ret, Kind *ret_kind) {
        unsigned k = depth >= 5 ? 0 : rnd(10);
        char *text;

        *ret_kind = KIND_OTHER;
        if (k <= 3)
                return gen_comparison(ret);

        if (k <= 6) {
                /* a chain: the first operand equal to 'decides' decides, an error first stops it */
                bool is_or = rnd(2);
                unsigned n = 2 + rnd(3);
                char *buf = NULL;
                size_t size = 0;
                FILE *f = open_memstream(&buf, &size);
                bool decided = false;

                check(f);
                *ret = (Result) { .v = !is_or };
                for (unsigned i = 0; i < n; i++) {
                        _cleanup_free_ char *child = NULL;
                        Result cr;
                        Kind ck;
                        bool parens;

                        child = gen(depth + 1, &cr, &ck);
                        /* '||' inside '&&' needs parentheses to stay one operand */
                        parens = (!is_or && ck == KIND_OR) || (ck != KIND_OTHER && rnd(2));
                        if (i > 0)
                                fprintf(f, "%s%s%s", ws(), is_or ? "||" : "&&", ws());
                        fprintf(f, parens ? "(%s%s%s)" : "%s%s%s", ws(), child, ws());
                        if (!decided && (cr.r < 0 || cr.v == is_or)) {
                                *ret = cr;
                                decided = true;
                        }
                }
                check(fclose(f) == 0);
                *ret_kind = is_or ? KIND_OR : KIND_AND;
                return buf;
        }

        {
                _cleanup_free_ char *child = NULL;
                Result cr;
                Kind ck;

                child = gen(depth + 1, &cr, &ck);
                if (k <= 8) {
                        /* '!' takes '(' or another '!' */
                        if (ck == KIND_OTHER && (child[0] == '!' || child[0] == '(') && rnd(2))
                                check(asprintf_safe(&text, "!%s%s", ws(), child) == 0);
                        else
                                check(asprintf_safe(&text, "!%s(%s%s%s)", ws(), ws(), child, ws()) == 0);
                        *ret = cr.r < 0 ? cr : (Result) { .v = !cr.v };
                } else {
                        check(asprintf_safe(&text, "(%s%s%s)", ws(), child, ws()) == 0);
                        *ret = cr;
                }
                return text;
        }
}

/* ---- mutations and hostile texts ------------------------------------------------------------ */

static const char *const fragments[] = {
        "&&", "||", "!", "(", ")", "{{", "}}", "'", "''", "==", "!=", "<", "<=", ">", ">=", "=~", "=", "&", "|",
        "{{a}}", "{{steps.s1.out}}", "{{steps.x.exit_status}}", "{{steps..}}", "{{1}}", "1.", "-", "+", ".5",
        "1e3", "0x1", "'a('", "'\\1'", "'[[:alpha:]'", "'*'", "'a{1,2'", " ", "\t", "\n", "\\", "{", "}", "$",
        "#", "\xc3\xa9", "\xff", "\x01", "!(", "((", "))", "'x'", "12", "-0", "{100}", "{2,}", "{,9}", "{64}",
        "[[:alpha:]]", "[]{]", "(a{64})",
};

static char *mutate(const char *text) {
        size_t n = strlen(text), cap = n * 2 + 256;
        char *s = malloc(cap);
        unsigned rounds = 1 + rnd(4);

        check(s);
        strcpy(s, text);
        for (unsigned i = 0; i < rounds; i++) {
                size_t len = strlen(s), at = len ? rnd((unsigned) len + 1) : 0;
                unsigned op = rnd(7);

                if (len + 64 >= cap)
                        break;
                switch (op) {
                case 0:   /* delete a few bytes */
                        if (at < len) {
                                size_t want = 1 + rnd(4), k = MIN(len - at, want);   /* MIN() evaluates twice */
                                memmove(s + at, s + at + k, len - at - k + 1);
                        }
                        break;
                case 1: { /* insert a fragment */
                        const char *f = fragments[rnd(ELEMENTSOF(fragments))];
                        size_t k = strlen(f);
                        memmove(s + at + k, s + at, len - at + 1);
                        memcpy(s + at, f, k);
                        break;
                }
                case 2:   /* replace a byte by any byte but NUL */
                        if (at < len)
                                s[at] = (char) (1 + rnd(255));
                        break;
                case 3: { /* duplicate a slice */
                        size_t want = rnd(32), k = MIN(len - at, want);
                        memmove(s + at + k, s + at, len - at + 1);
                        break;
                }
                case 4:   /* truncate */
                        s[at] = 0;
                        break;
                case 5: { /* swap two bytes */
                        size_t b = len ? rnd((unsigned) len) : 0;
                        if (at < len) {
                                char c = s[at];
                                s[at] = s[b];
                                s[b] = c;
                        }
                        break;
                }
                default: { /* insert a printable ASCII byte */
                        memmove(s + at + 1, s + at, len - at + 1);
                        s[at] = (char) (0x20 + rnd(0x5f));
                        break;
                }
                }
        }
        return s;
}

static char *random_text(void) {
        size_t n = rnd(64);
        char *s = malloc(n * 40 + 1);
        size_t k = 0;

        check(s);
        for (size_t i = 0; i < n; i++) {
                const char *f = fragments[rnd(ELEMENTSOF(fragments))];
                strcpy(s + k, f);
                k += strlen(f);
        }
        s[k] = 0;
        return s;
}

/* Nested '(' and '!' around a comparison, sometimes unbalanced, sometimes past the limit. */
static char *deep_text(void) {
        unsigned depth = rnd(150), closes;
        char *s = malloc(depth * 2 + 64);
        size_t k = 0;

        check(s);
        for (unsigned i = 0; i < depth; i++)
                s[k++] = rnd(3) ? '(' : '!';
        if (k > 0 && s[k - 1] == '!' && rnd(2))
                s[k++] = '(';
        k += (size_t) sprintf(s + k, "{{a}} == 1");
        closes = 0;
        for (size_t i = 0; i < k; i++)
                closes += s[i] == '(';
        if (rnd(4) == 0)
                closes = rnd(closes + 2);
        for (unsigned i = 0; i < closes; i++)
                s[k++] = ')';
        s[k] = 0;
        return s;
}

/* A generated expression padded with a long string to around EXPR_TEXT_MAX bytes. */
static char *long_text(const char *text) {
        size_t n = strlen(text), target = EXPR_TEXT_MAX - 8 + rnd(16), pad;
        char *s;

        if (n + 20 > target)
                return strdup(text);
        pad = target - n - 16;   /* "(" text ") && '" pad "' != ''" */
        s = malloc(target + 1);
        check(s);
        sprintf(s, "(%s) && '", text);
        memset(s + strlen(s), 'x', pad);
        strcpy(s + n + 8 + pad, "' != ''");
        return s;
}

/* ---- the checks ----------------------------------------------------------------------------- */

static unsigned long n_parsed, n_parse_errors, n_too_long, n_too_deep, n_eval_ok, n_eval_errors;

/* "at offset N: …" with N within the text, and valid UTF-8. */
static void check_message(const char *error, size_t len) {
        size_t offset;
        int consumed = 0;

        fcheck(!isempty(error));
        fcheck(utf8_is_printable_text(error, EXPR_ERROR_MAX));
        fcheck(sscanf(error, "at offset %zu: %n", &offset, &consumed) == 1 && consumed > 0);
        fcheck(offset <= len);
        fcheck(error[consumed] != 0);
}

static int eval_counting(const Expr *e, json_t *seen, Result *ret, char *error) {
        unsigned n_lookups = 0;
        bool v = false;
        int r;

        r = expr_eval(e, lookup, &n_lookups, seen, &v, error, EXPR_ERROR_MAX);
        *ret = (Result) { .r = r, .v = r == 0 && v };
        return r;
}

static bool results_equal(Result a, Result b) {
        return a.r == b.r && (a.r < 0 || a.v == b.v);
}

static int collect_ref(const ExprRef *ref, void *userdata) {
        json_t *refs = userdata;
        const char *text = current;

        fcheck(ref->offset + 2 <= strlen(text) && strncmp(text + ref->offset, "{{", 2) == 0);
        fcheck(ref->text && strncmp(ref->text, "{{", 2) == 0);
        fcheck((ref->kind == EXPR_REF_PARAM) == !ref->step);
        fcheck((ref->kind == EXPR_REF_STEP_EXIT_STATUS) == !ref->name);
        fcheck(expr_ref_kind_to_string(ref->kind));
        check(json_object_set_new(refs, ref->text, json_true()) == 0);
        return 0;
}

/* Parses 'wrapped' (built around text): it fails only for a limit, else evaluates like 'want'. */
static void check_wrapped(const char *wrapped, Result want, bool negate) {
        _cleanup_(expr_freep) Expr *e = NULL;
        char error[EXPR_ERROR_MAX];
        const char *saved = current;
        Result got;
        int r;

        current = wrapped;
        r = expr_parse(wrapped, &e, error, sizeof error);
        if (r == -E2BIG) {
                current = saved;
                return;
        }
        fcheck(r == 0);
        eval_counting(e, NULL, &got, error);
        if (negate && want.r == 0)
                want.v = !want.v;
        fcheck(results_equal(got, want));
        current = saved;
}

static void check_parsed(const char *text, const Expr *e, const Result *expected) {
        _cleanup_(json_decrefp) json_t *seen = json_object(), *refs = json_object();
        _cleanup_(expr_freep) Expr *again = NULL;
        _cleanup_free_ char *printed = NULL, *printed2 = NULL, *w = NULL;
        char error[EXPR_ERROR_MAX];
        const char *key;
        json_t *value;
        Result res, res2;
        int r;

        check(seen && refs);
        check_int(expr_foreach_ref(e, collect_ref, refs), 0);

        r = eval_counting(e, seen, &res, error);
        fcheck(r == 0 || r == -ENXIO || r == -EIO || r == -EDOM);
        if (r < 0) {
                check_message(error, strlen(text));
                n_eval_errors++;
        } else {
                fcheck(error[0] == 0);
                n_eval_ok++;
        }
        if (expected && !results_equal(res, *expected)) {
                fprintf(stderr, "oracle: %d %s, expr_eval: %d %s (%s)\n", expected->r, expected->v ? "true" : "false",
                        res.r, res.v ? "true" : "false", error);
                fcheck(!"the evaluation differs from the oracle");
        }
        eval_counting(e, NULL, &res2, error);
        fcheck(results_equal(res, res2));

        /* what it saw: references it makes, with their values */
        json_object_foreach(seen, key, value) {
                fcheck(json_object_get(refs, key));
                fcheck(json_is_null(value) || json_is_string(value));
        }

        /* printed and parsed again: the same print, the same result */
        check_int(expr_format(e, &printed), 0);
        current = printed;
        r = expr_parse(printed, &again, error, sizeof error);
        if (r == -E2BIG)
                fcheck(strlen(printed) > EXPR_TEXT_MAX);  /* the print only adds blanks, never nesting */
        else {
                fcheck(r == 0);
                check_int(expr_format(again, &printed2), 0);
                fcheck(streq(printed, printed2));
                eval_counting(again, NULL, &res2, error);
                fcheck(results_equal(res, res2));
        }
        current = text;

        check(asprintf_safe(&w, "!(%s)", text) == 0);
        check_wrapped(w, res, true);
        w = mfree(w);
        check(asprintf_safe(&w, "(%s) && (%s)", text, text) == 0);
        check_wrapped(w, res, false);
        w = mfree(w);
        check(asprintf_safe(&w, "(%s)||(%s)", text, text) == 0);
        check_wrapped(w, res, false);
}

/* Any text: parses, or fails cleanly; what parses keeps the invariants. */
static void check_text(const char *text, const Result *expected) {
        _cleanup_(expr_freep) Expr *e = NULL;
        char error[EXPR_ERROR_MAX];
        int r;

        current = text;
        r = expr_parse(text, &e, error, sizeof error);
        if (expected && r < 0 && r != -E2BIG)
                fprintf(stderr, "a generated expression did not parse: %s\n", error);
        /* a generated expression is well-formed, though now and then longer than the limit */
        fcheck(!expected || r == 0 || (r == -E2BIG && strlen(text) > EXPR_TEXT_MAX));
        if (r < 0) {
                fcheck(!e);
                fcheck(r == -EINVAL || r == -E2BIG);
                if (r == -E2BIG && strlen(text) > EXPR_TEXT_MAX) {
                        fcheck(streq(error, "expression is longer than 4096 bytes"));
                        n_too_long++;
                } else {
                        check_message(error, strlen(text));
                        if (r == -E2BIG) {
                                fcheck(strstr(error, "nested deeper than 64 levels") ||
                                       strstr(error, "repetitions expand to more than"));
                                n_too_deep++;
                        }
                        n_parse_errors++;
                }
                return;
        }
        fcheck(e);
        n_parsed++;
        check_parsed(text, e, expected);
        current = NULL;
}

int main(void) {
        const char *it = getenv("FUZZ_ITERATIONS"), *s = getenv("FUZZ_SEED");
        unsigned long iterations = it ? strtoul(it, NULL, 10) : 10000, generated_true = 0, generated_false = 0,
                      generated_errors = 0;

        seed = s ? strtoull(s, NULL, 0) : 0xe4b7c0de5eedULL;
        rng_state = seed ? seed : 1;
        check(regcomp(&number_regex, "^[+-]?[0-9]+(\\.[0-9]+)?$", REG_EXTENDED | REG_NOSUB) == 0);

        for (iteration = 0; iteration < iterations; iteration++) {
                _cleanup_free_ char *text = NULL, *mutated = NULL;
                Result expected;
                Kind kind;

                text = gen(0, &expected, &kind);
                check_text(text, &expected);
                if (expected.r < 0)
                        generated_errors++;
                else if (expected.v)
                        generated_true++;
                else
                        generated_false++;

                mutated = mutate(text);
                check_text(mutated, NULL);

                if (iteration % 8 == 0) {
                        _cleanup_free_ char *r = random_text();
                        check_text(r, NULL);
                }
                if (iteration % 16 == 0) {
                        _cleanup_free_ char *d = deep_text();
                        check_text(d, NULL);
                }
                if (iteration % 64 == 0) {
                        _cleanup_free_ char *l = long_text(text);
                        check_text(l, NULL);
                }
        }
        regfree(&number_regex);

        fprintf(stderr,
                "fuzz-expr: %lu generated (%lu true, %lu false, %lu evaluation errors, as the oracle said); "
                "%lu texts parsed, %lu refused (%lu too deep), %lu too long; evaluations: %lu ok, %lu failed cleanly\n",
                iterations, generated_true, generated_false, generated_errors, n_parsed, n_parse_errors, n_too_deep,
                n_too_long, n_eval_ok, n_eval_errors);
        if (iterations >= 500)
                check(generated_true > 0 && generated_false > 0 && generated_errors > 0 && n_parse_errors > 0 &&
                      n_too_deep > 0 && n_too_long > 0);
        return 0;
}
