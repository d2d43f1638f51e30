/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-output.c: the capped capture (head + ring tail) against a straightforward reference. */

#undef NDEBUG
#include <stdio.h>

#include "connector/output.h"
#include "shared/tests.h"

static uint32_t rnd_state = 12345;

static uint32_t rnd(void) {
        rnd_state = rnd_state * 1103515245u + 12345u;
        return rnd_state >> 8;
}

static void check_get(const OutputCapture *o, const uint8_t *expect, size_t expect_len) {
        _cleanup_free_ uint8_t *b = NULL;
        size_t n = SIZE_MAX;

        check(output_capture_get(o, &b, &n) == 0);
        check_int(n, expect_len);
        check(expect_len == 0 || memcmp(b, expect, expect_len) == 0);
}

/* Feeds 'len' bytes of 'data' in chunks of random size (≤ max_chunk) and compares with the
 * reference: everything while within the cap, else the first cap/2 and the last cap-cap/2 bytes. */
/* 'skipping': as a reader of a file does (local-unit.c), knowing how much is left to read, it skips
 * what would only pass through the ring: the capture must come out the same. */
static void check_against_reference_mode(size_t cap, const uint8_t *data, size_t len, size_t max_chunk, bool skipping) {
        OutputCapture o;
        _cleanup_free_ uint8_t *expect = NULL;
        size_t expect_len, hc = cap / 2, tc = cap - hc;

        output_capture_init(&o, cap);
        for (size_t i = 0; i < len;) {
                size_t want = (size_t) (rnd() % max_chunk) + 1;   /* MIN() evaluates twice */
                size_t k, skip = skipping ? output_capture_skippable(&o, len - i) : 0;

                if (skip > 0) {
                        check(skip <= len - i);
                        output_capture_skip(&o, skip);
                        i += skip;
                        if (i == len)
                                break;
                }
                k = MIN(len - i, want);

                if (rnd() % 7 == 0)
                        check(output_capture_append(&o, data + i, 0) == 0);
                check(output_capture_append(&o, data + i, k) == 0);
                i += k;
        }

        check_int(o.total, len);
        check(o.truncated == (len > cap));

        if (len <= cap) {
                expect_len = len;
                expect = malloc(len + 1);
                check(expect);
                memcpy(expect, data, len);
        } else {
                expect_len = cap;
                expect = malloc(cap + 1);
                check(expect);
                memcpy(expect, data, hc);
                memcpy(expect + hc, data + len - tc, tc);
        }
        check_get(&o, expect, expect_len);
        output_capture_done(&o);
}

static void check_against_reference(size_t cap, const uint8_t *data, size_t len, size_t max_chunk) {
        check_against_reference_mode(cap, data, len, max_chunk, false);
        check_against_reference_mode(cap, data, len, max_chunk, true);
}

static void test_empty(void) {
        OutputCapture o;

        output_capture_init(&o, 100);
        check_get(&o, NULL, 0);
        check(!o.truncated);
        check_int(o.total, 0);
        output_capture_done(&o);
        output_capture_done(&o);   /* idempotent */
}

static void test_default_cap(void) {
        OutputCapture o;

        output_capture_init(&o, 0);
        check_int(o.cap, OUTPUT_CAP_DEFAULT);
        output_capture_done(&o);
}

static void test_within_cap(void) {
        OutputCapture o;
        _cleanup_free_ uint8_t *b = NULL;
        size_t n;

        output_capture_init(&o, 10);
        check(output_capture_append(&o, "hello", 5) == 0);
        check(output_capture_append(&o, " worl", 5) == 0);
        check(!o.truncated);
        check(output_capture_get(&o, &b, &n) == 0);
        check_int(n, 10);
        check(memcmp(b, "hello worl", 10) == 0);
        check_int(b[10], 0);   /* NUL-terminated for text consumers */

        check(output_capture_append(&o, "d", 1) == 0);
        check(o.truncated);
        check_int(o.total, 11);
        check_get(&o, (const uint8_t *) "hello" "world", 10);   /* head "hello", tail " worl"+"d" → "world" */
        output_capture_done(&o);
}

static void test_head_tail(void) {
        OutputCapture o;

        output_capture_init(&o, 8);
        for (char c = 'a'; c <= 'z'; c++)
                check(output_capture_append(&o, &c, 1) == 0);
        check(o.truncated);
        check_int(o.total, 26);
        check_get(&o, (const uint8_t *) "abcdwxyz", 8);
        output_capture_done(&o);
}

static void test_single_large_append(void) {
        static uint8_t data[100000];

        for (size_t i = 0; i < sizeof data; i++)
                data[i] = (uint8_t) rnd();
        check_against_reference(1000, data, sizeof data, sizeof data);
        check_against_reference(1001, data, sizeof data, sizeof data);
        check_against_reference(OUTPUT_CAP_DEFAULT, data, sizeof data, sizeof data);
}

static void test_reference(void) {
        static const size_t caps[] = { 1, 2, 3, 7, 10, 64, 1000, 4095, 4096, 4097, 10000, 65536 };
        static uint8_t data[200000];

        for (size_t i = 0; i < sizeof data; i++)
                data[i] = (uint8_t) rnd();

        for (size_t c = 0; c < ELEMENTSOF(caps); c++) {
                size_t cap = caps[c];
                size_t lens[] = { 0, 1, cap / 2, cap - 1, cap, cap + 1, cap + cap / 2, 2 * cap,
                                  3 * cap + 17, 50000, sizeof data };

                for (size_t l = 0; l < ELEMENTSOF(lens); l++) {
                        size_t len = MIN(lens[l], sizeof data);

                        check_against_reference(cap, data, len, 1);
                        check_against_reference(cap, data, len, 13);
                        check_against_reference(cap, data, len, 5000);
                        check_against_reference(cap, data, len, 70000);
                }
        }
}

/* Masking: the same result however the stream is cut into appends (every cut point, every pair
 * of cut points), for overlapping and nested values. */
static char *masked_in_chunks(const OutputMask *m, size_t n_masks, const char *in, size_t cut1, size_t cut2) {
        OutputCapture o;
        size_t len = strlen(in), n = 0;
        uint8_t *b = NULL;

        output_capture_init(&o, 4096);
        output_capture_set_masks(&o, m, n_masks);
        check(output_capture_append(&o, in, cut1) == 0);
        check(output_capture_append(&o, in + cut1, cut2 - cut1) == 0);
        check(output_capture_append(&o, in + cut2, len - cut2) == 0);
        check(output_capture_get(&o, &b, &n) == 0);
        check(strlen((char *) b) == n);
        output_capture_done(&o);
        return (char *) b;
}

static void check_masked(const char *in, const char *expect) {
        static const char *values[] = { "s3cret", "s3cret-longer", "abcd", "xyz" /* too short: never masked */ };
        OutputMask m[ELEMENTSOF(values)];
        size_t len = strlen(in);

        for (size_t i = 0; i < ELEMENTSOF(values); i++)
                m[i] = (OutputMask) { .data = (const uint8_t *) values[i], .len = strlen(values[i]) };
        for (size_t a = 0; a <= len; a++)
                for (size_t b = a; b <= len; b++) {
                        _cleanup_free_ char *got = masked_in_chunks(m, ELEMENTSOF(m), in, a, b);
                        if (!streq(got, expect))
                                fprintf(stderr, "cut at %zu, %zu: '%s' -> '%s', expected '%s'\n", a, b, in, got, expect);
                        check_streq(got, expect);
                }
}

static void test_mask(void) {
        check_masked("", "");
        check_masked("no secret here xyz", "no secret here xyz");
        check_masked("s3cret", "***");
        check_masked("token=s3cret;", "token=***;");
        check_masked("s3crets3cret", "******");
        check_masked("s3cret-longer and s3cret-long", "*** and ***-long");
        check_masked("abcdabcdabc", "******abc");
        check_masked("ss3cre", "s***");      /* ended inside a value */
        check_masked("s3c-s3cret", "s3c-***");
        check_masked("xs3cre x", "xs3cre x");
        check_masked("the end: s3cr", "the end: ***");   /* ended inside a value: 4 of its bytes */
        check_masked("the end: s3c", "the end: s3c");
        check_masked("line\nabc\nd abcd\n", "line\nabc\nd ***\n");
}

/* A long stream past the cap with a value in it: masked in the head and in the tail. */
static void test_mask_capped(void) {
        OutputMask m = { .data = (const uint8_t *) "TOPSECRET", .len = 9 };
        _cleanup_free_ uint8_t *b = NULL;
        OutputCapture o;
        size_t n = 0;

        output_capture_init(&o, 64);
        output_capture_set_masks(&o, &m, 1);
        check(output_capture_skippable(&o, 100000) == 0);
        for (unsigned i = 0; i < 1000; i++)
                check(output_capture_append(&o, "..TOPSE", 7) == 0 && output_capture_append(&o, "CRET..", 6) == 0);
        check(output_capture_get(&o, &b, &n) == 0);
        check(o.truncated);
        check(!memmem(b, n, "TOPS", 4) && !memmem(b, n, "CRET", 4));
        check(memmem(b, n, "..***..", 7));
        output_capture_done(&o);
}

int main(void) {
        TEST(empty);
        TEST(default_cap);
        TEST(within_cap);
        TEST(head_tail);
        TEST(single_large_append);
        TEST(reference);
        TEST(mask);
        TEST(mask_capped);
        return 0;
}
