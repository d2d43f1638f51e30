/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-mask: the masking of secret values in a step's output (connector/output.c), on output a
 * command controls. Input: a first line of up to 4 values separated by '|', then the stream; the
 * stream is appended in chunks whose sizes come from its own bytes. What it promises: the result
 * does not depend on where the stream was cut, and no value of 4 bytes or more (without '*',
 * which the mask text itself is made of) is left in it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector/output.h"
#include "fuzz.h"
#include "shared/tests.h"

#define VALUES_MAX 4

static uint8_t *masked(const OutputMask *m, size_t n, const uint8_t *s, size_t len, bool chunked, size_t *ret_len) {
        OutputCapture o;
        uint8_t *b = NULL;

        output_capture_init(&o, 1024 * 1024);   /* no truncation: head and tail never meet */
        output_capture_set_masks(&o, m, n);
        for (size_t i = 0; i < len;) {
                size_t k = chunked ? (size_t) (s[i] % 7) + 1 : len;
                k = MIN(k, len - i);
                check(output_capture_append(&o, s + i, k) == 0);
                i += k;
        }
        check(output_capture_get(&o, &b, ret_len) == 0);
        output_capture_done(&o);
        return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *nl = memchr(data, '\n', size), *p = data;
        OutputMask m[VALUES_MAX];
        size_t n = 0, a_len, b_len;

        if (!nl || size > 64 * 1024)
                return 0;
        while (p < nl && n < VALUES_MAX) {
                const uint8_t *bar = memchr(p, '|', (size_t) (nl - p));
                const uint8_t *end = bar ?: nl;
                m[n++] = (OutputMask) { .data = p, .len = (size_t) (end - p) };
                p = end + (bar ? 1 : 0);
                if (!bar)
                        break;
        }
        const uint8_t *s = nl + 1;
        size_t len = size - (size_t) (s - data);

        uint8_t *a = masked(m, n, s, len, false, &a_len);
        uint8_t *b = masked(m, n, s, len, true, &b_len);
        check(a_len == b_len && memcmp(a, b, a_len) == 0);
        check(a_len <= len + strlen(OUTPUT_MASK_TEXT));
        for (size_t i = 0; i < n; i++)
                if (m[i].len >= OUTPUT_MASK_MIN && !memchr(m[i].data, '*', m[i].len))
                        check(!memmem(a, a_len, m[i].data, m[i].len));
        free(a);
        free(b);
        return 0;
}
