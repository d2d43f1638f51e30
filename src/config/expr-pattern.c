/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* expr-pattern.c: what a pattern of '=~' may not do before regcomp() sees it: use back-references
 * (glibc matches them by backtracking, exponential in the length of the value, and values are
 * data from the steps); repeat itself into more elements than the longest plain pattern has
 * (glibc expands {m,n} when compiling: "(((a{100}){100}){100}){100}" takes gigabytes and half a
 * minute before failing; x+ is compiled as xx*, so each '+' doubles what it repeats); nest groups
 * deeper than expressions may nest (glibc parses them recursively); put one repetition right
 * after another ("a++", "a+?", "a{2}*": POSIX leaves it undefined, and glibc's compile time grows
 * exponentially with such runs: 'v+++?+++++++' took more than a minute); or nest repetitions more
 * than EXPR_PATTERN_NESTING_MAX deep ("((((a+?)+?)+?)+?)…": seconds per level). Found by
 * tests/fuzz/fuzz-when. */
#include <errno.h>
#include <stdio.h>

#include "config/expr-internal.h"
#include "shared/util.h"

/* Saturating: sizes only need to be compared with EXPR_PATTERN_SIZE_MAX. */
static uint64_t size_mul(uint64_t a, uint64_t b) {
        return b != 0 && a > UINT32_MAX / b ? UINT32_MAX : MIN(a * b, (uint64_t) UINT32_MAX);
}

static uint64_t size_add(uint64_t a, uint64_t b) {
        return MIN(a + b, (uint64_t) UINT32_MAX);
}

/* Past the bracket expression that starts at p[0] == '['. */
static const char *skip_bracket(const char *p) {
        p++;
        if (*p == '^')
                p++;
        if (*p == ']')
                p++;                      /* a ']' first is a member */
        while (*p && *p != ']') {
                if (p[0] == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
                        char kind = p[1];

                        for (p += 2; *p && !(p[0] == kind && p[1] == ']'); p++)
                                ;
                        if (!*p)
                                return p; /* regcomp() refuses it */
                        p += 2;
                } else
                        p++;
        }
        return *p ? p + 1 : p;
}

/* Reads "{m}", "{m,}", "{m,n}" or (glibc) "{,n}" at p; the larger number (at least 1) into *ret.
 * NULL if it is not a bound (regcomp() then decides what it is). */
static const char *parse_bound(const char *p, uint64_t *ret) {
        uint64_t m = 0, n = 0;

        p++;
        if (!ascii_isdigit(*p) && *p != ',')
                return NULL;
        for (; ascii_isdigit(*p); p++)
                m = MIN(m * 10 + (uint64_t) (*p - '0'), (uint64_t) UINT32_MAX);
        if (*p == ',')
                for (p++; ascii_isdigit(*p); p++)
                        n = MIN(n * 10 + (uint64_t) (*p - '0'), (uint64_t) UINT32_MAX);
        if (*p != '}')
                return NULL;
        *ret = MAX(MAX(m, n), (uint64_t) 1);
        return p + 1;
}

/* A repetition operator at p, applied to what was read last (nesting *lastq): refused right after
 * another, or nested too deep. */
static int repetition(const char **quant, const char *p, unsigned *lastq, unsigned *curq, char *problem,
                      size_t size);

/* How deep repetitions may nest: "^v[0-9]+(\\.[0-9]+)*$" nests 2, "((a+)?b)*" 3. */
#define EXPR_PATTERN_NESTING_MAX 3

int expr_pattern_check(const char *pattern, char *problem, size_t size) {
        /* the size of the sequence read so far in each enclosing group, outermost first, and
         * the deepest nesting of repetitions in it */
        uint64_t stack[EXPR_DEPTH_MAX], cur = 0, last = 1;
        unsigned qstack[EXPR_DEPTH_MAX], curq = 0, lastq = 0;
        size_t depth = 0;
        const char *quant = NULL;         /* the repetition operator just read, if the last thing read is one */

        /* Back-references, by a scan that cannot miss one: a backslash followed by 1…9 anywhere,
         * even inside a bracket expression (where it would be two literal characters). */
        for (const char *c = pattern; *c; c++) {
                if (*c != '\\')
                        continue;
                if (c[1] >= '1' && c[1] <= '9') {
                        snprintf(problem, size, "back-references (\\%c) are not allowed in patterns (they make "
                                 "matching exponentially slow)", c[1]);
                        return -EINVAL;
                }
                if (c[1] == 0)
                        break;
                c++;
        }

        /* The size once repetitions are expanded: each atom counts 1, a bound multiplies the atom
         * or group before it. */
        for (const char *p = pattern; *p;) {
                uint64_t bound;
                const char *q;

                switch (*p) {
                case '(':
                        if (depth >= ELEMENTSOF(stack)) {
                                snprintf(problem, size, "the pattern's groups are nested deeper than %d levels",
                                         EXPR_DEPTH_MAX);
                                return -EINVAL;
                        }
                        qstack[depth] = curq;
                        stack[depth++] = cur;
                        cur = 0;
                        last = 1;
                        curq = lastq = 0;
                        quant = NULL;
                        p++;
                        continue;
                case ')':
                        if (depth == 0)
                                break;            /* a literal ')' in ERE */
                        last = cur;
                        lastq = curq;
                        depth--;
                        cur = size_add(stack[depth], cur);
                        curq = MAX(qstack[depth], curq);
                        quant = NULL;
                        p++;
                        continue;
                case '[':
                        p = skip_bracket(p);
                        cur = size_add(cur, 1);
                        last = 1;
                        lastq = 0;
                        quant = NULL;
                        continue;
                case '\\':
                        p += p[1] ? 2 : 1;
                        cur = size_add(cur, 1);
                        last = 1;
                        lastq = 0;
                        quant = NULL;
                        continue;
                case '{':
                        q = parse_bound(p, &bound);
                        if (!q)
                                break;            /* not a bound: a literal '{' */
                        if (repetition(&quant, p, &lastq, &curq, problem, size) < 0)
                                return -EINVAL;
                        cur = size_add(cur, size_mul(last, bound - 1));
                        last = size_mul(last, bound);
                        p = q;
                        if (cur > EXPR_PATTERN_SIZE_MAX) {
                                snprintf(problem, size, "the pattern's repetitions expand to more than %d elements",
                                         EXPR_PATTERN_SIZE_MAX);
                                return -E2BIG;
                        }
                        continue;
                case '+':
                        if (repetition(&quant, p, &lastq, &curq, problem, size) < 0)
                                return -EINVAL;
                        /* glibc compiles x+ as xx*: the atom or group before it, twice */
                        cur = size_add(cur, last);
                        last = size_mul(last, 2);
                        p++;
                        if (cur > EXPR_PATTERN_SIZE_MAX) {
                                snprintf(problem, size, "the pattern's repetitions expand to more than %d elements",
                                         EXPR_PATTERN_SIZE_MAX);
                                return -E2BIG;
                        }
                        continue;
                case '*':
                case '?':
                        if (repetition(&quant, p, &lastq, &curq, problem, size) < 0)
                                return -EINVAL;
                        p++;
                        continue;
                }
                /* anything else counts as one element ('|', '^' and '$' too: glibc repeats them) */
                cur = size_add(cur, 1);
                last = 1;
                lastq = 0;
                quant = NULL;
                p++;
        }
        return 0;
}

static int repetition(const char **quant, const char *p, unsigned *lastq, unsigned *curq, char *problem,
                      size_t size) {
        if (*quant) {
                snprintf(problem, size, "'%c' right after '%c' repeats a repetition (POSIX leaves that undefined, "
                         "and it makes compiling the pattern exponentially slow): write one, or group with '(…)'",
                         *p, **quant);
                return -EINVAL;
        }
        if (*lastq + 1 > EXPR_PATTERN_NESTING_MAX) {
                snprintf(problem, size, "the pattern's repetitions are nested more than %d deep (it makes compiling "
                         "the pattern exponentially slow)", EXPR_PATTERN_NESTING_MAX);
                return -EINVAL;
        }
        *quant = p;
        *lastq += 1;
        *curq = MAX(*curq, *lastq);
        return 0;
}
