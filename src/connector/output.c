/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* output.c: the capped capture of one output stream (head + ring tail).
 *
 * The head keeps the first cap/2 bytes, the ring the last cap - cap/2 bytes. While the stream is
 * within the cap the ring has not wrapped yet, so everything is kept. Both buffers grow on demand
 * (their allocated size is a function of their fill level), so small outputs stay small. */

#include <assert.h>

#include "connector/output.h"

#define OUTPUT_ALLOC_MIN ((size_t) 4096)

static size_t head_cap(const OutputCapture *o) {
        return o->cap / 2;
}

static size_t tail_cap(const OutputCapture *o) {
        return o->cap - head_cap(o);
}

/* The allocated size of a buffer holding 'len' bytes of at most 'max': 0 when empty, else the
 * next power of two ≥ len (at least OUTPUT_ALLOC_MIN), never more than 'max'. */
static size_t alloc_size(size_t len, size_t max) {
        size_t a;

        if (len == 0)
                return 0;
        a = OUTPUT_ALLOC_MIN;
        while (a < len && a < max)
                a *= 2;
        return MIN(a, max);
}

static int buffer_reserve(uint8_t **buf, size_t len, size_t new_len, size_t max) {
        size_t have = alloc_size(len, max), want = alloc_size(new_len, max);
        uint8_t *p;

        if (want <= have && *buf)
                return 0;
        p = realloc(*buf, want);
        if (!p)
                return -ENOMEM;
        *buf = p;
        return 0;
}

void output_capture_init(OutputCapture *o, size_t cap) {
        assert(o);
        *o = (OutputCapture) {
                .cap = cap > 0 ? cap : OUTPUT_CAP_DEFAULT,
        };
}

void output_capture_done(OutputCapture *o) {
        if (!o)
                return;
        free(o->head);
        free(o->tail);
        if (o->pending)
                wipe_free((char *) o->pending, o->mask_max);
        *o = (OutputCapture) { .cap = o->cap };
}

void output_capture_set_masks(OutputCapture *o, const OutputMask *m, size_t n) {
        assert(o);
        o->masks = m;
        o->n_masks = n;
        o->mask_max = 0;
        for (size_t i = 0; i < n; i++)
                if (m[i].len >= OUTPUT_MASK_MIN)
                        o->mask_max = MAX(o->mask_max, m[i].len);
}

/* 'final': the stream ended: nothing is held back; bytes that may only begin a value are masked
 * when there are OUTPUT_MASK_MIN or more of them. */
static size_t mask_run(const OutputMask *m, size_t n_masks, const uint8_t *in, size_t n, bool final, uint8_t *out,
                       size_t *ret_out_len) {
        size_t i = 0, k = 0;

        while (i < n) {
                size_t full = 0, avail = n - i;
                bool partial = false;

                for (size_t j = 0; j < n_masks; j++) {
                        size_t len = m[j].len;

                        if (len < OUTPUT_MASK_MIN || m[j].data[0] != in[i])
                                continue;
                        if (len <= avail) {
                                if (len > full && memcmp(in + i, m[j].data, len) == 0)
                                        full = len;
                        } else if (memcmp(in + i, m[j].data, avail) == 0)
                                partial = true;  /* a longer value may begin here: wait for more */
                }
                if (partial && !final) {
                        /* a value longer than any that matches here may still: decide later */
                        *ret_out_len = k;
                        return n - i;
                }
                if (partial && full == 0 && avail >= OUTPUT_MASK_MIN) {
                        memcpy(out + k, OUTPUT_MASK_TEXT, strlen(OUTPUT_MASK_TEXT));
                        k += strlen(OUTPUT_MASK_TEXT);
                        break;
                }
                if (full > 0) {
                        memcpy(out + k, OUTPUT_MASK_TEXT, strlen(OUTPUT_MASK_TEXT));
                        k += strlen(OUTPUT_MASK_TEXT);
                        i += full;
                } else
                        out[k++] = in[i++];
        }
        *ret_out_len = k;
        return 0;
}

size_t output_mask(const OutputMask *m, size_t n_masks, const uint8_t *in, size_t n, uint8_t *out, size_t *ret_out_len) {
        return mask_run(m, n_masks, in, n, false, out, ret_out_len);
}

static int tail_append(OutputCapture *o, const uint8_t *p, size_t n) {
        size_t tc = tail_cap(o), k;
        int r;

        if (tc == 0) {
                o->total += n;
                return 0;
        }

        if (n >= tc) {
                /* The new data alone fills the ring: keep its last bytes, in order from 0. */
                r = buffer_reserve(&o->tail, o->tail_len, tc, tc);
                if (r < 0)
                        return r;
                memcpy(o->tail, p + (n - tc), tc);
                o->tail_len = tc;
                o->tail_pos = 0;
                o->total += n;
                return 0;
        }

        /* Before the ring is full, tail_pos == tail_len and nothing wraps unless we reach 'tc',
         * in which case the buffer is grown to its full size first. */
        r = buffer_reserve(&o->tail, o->tail_len, MIN(o->tail_len + n, tc), tc);
        if (r < 0)
                return r;

        k = MIN(n, tc - o->tail_pos);
        memcpy(o->tail + o->tail_pos, p, k);
        if (n > k)
                memcpy(o->tail, p + k, n - k);
        o->tail_pos = (o->tail_pos + n) % tc;
        o->tail_len = MIN(o->tail_len + n, tc);
        o->total += n;
        return 0;
}

static int capture_append(OutputCapture *o, const void *data, size_t n);

/* Appends through the masks: the bytes held back, then 'data', masked; what may begin a value
 * is held back again. */
static int masked_append(OutputCapture *o, const uint8_t *data, size_t n) {
        uint8_t *in, *out;
        size_t len = o->pending_len + n, out_len, held;
        int r;

        if (!o->pending) {
                o->pending = malloc(o->mask_max);
                if (!o->pending)
                        return -ENOMEM;
        }
        in = malloc(len);
        out = malloc(len);
        if (!in || !out) {
                free(in);
                free(out);
                return -ENOMEM;
        }
        memcpy(in, o->pending, o->pending_len);
        memcpy(in + o->pending_len, data, n);
        held = output_mask(o->masks, o->n_masks, in, len, out, &out_len);
        assert(held < o->mask_max);
        memcpy(o->pending, in + len - held, held);
        o->pending_len = held;
        r = capture_append(o, out, out_len);
        wipe_free((char *) in, len);
        wipe_free((char *) out, len);
        return r;
}

int output_capture_append(OutputCapture *o, const void *data, size_t n) {
        assert(o);
        assert(data || n == 0);

        if (o->mask_max > 0 && n > 0)
                return masked_append(o, data, n);
        return capture_append(o, data, n);
}

static int capture_append(OutputCapture *o, const void *data, size_t n) {
        const uint8_t *p = data;
        size_t hc;
        int r;

        assert(o);
        assert(data || n == 0);

        if (o->cap == 0)
                o->cap = OUTPUT_CAP_DEFAULT;
        hc = head_cap(o);

        if (n > 0 && o->head_len < hc) {
                size_t k = MIN(n, hc - o->head_len);

                r = buffer_reserve(&o->head, o->head_len, o->head_len + k, hc);
                if (r < 0)
                        return r;
                memcpy(o->head + o->head_len, p, k);
                o->head_len += k;
                o->total += k;
                p += k;
                n -= k;
        }

        if (n > 0) {
                r = tail_append(o, p, n);
                if (r < 0)
                        return r;
        }

        o->truncated = o->total > o->cap;
        return 0;
}

int output_capture_get(const OutputCapture *o, uint8_t **ret, size_t *ret_len) {
        size_t len, tc;
        uint8_t *b;

        assert(o);
        assert(ret);
        assert(ret_len);

        len = o->head_len + o->tail_len;
        /* the bytes held back by the masks: the stream ended in them */
        uint8_t fin[o->pending_len + 1];
        size_t extra = 0;
        if (o->pending_len > 0)
                (void) mask_run(o->masks, o->n_masks, o->pending, o->pending_len, true, fin, &extra);
        b = malloc(len + extra + 1);   /* always NUL-terminated for the convenience of text consumers */
        if (!b)
                return -ENOMEM;

        if (o->head_len > 0)
                memcpy(b, o->head, o->head_len);

        tc = tail_cap(o);
        if (o->tail_len > 0) {
                if (o->tail_len < tc)
                        /* Not wrapped yet: the bytes are in order from 0. */
                        memcpy(b + o->head_len, o->tail, o->tail_len);
                else {
                        /* Full ring: the oldest byte is at tail_pos. */
                        memcpy(b + o->head_len, o->tail + o->tail_pos, tc - o->tail_pos);
                        memcpy(b + o->head_len + (tc - o->tail_pos), o->tail, o->tail_pos);
                }
        }
        if (extra > 0)
                memcpy(b + len, fin, extra);
        explicit_bzero(fin, sizeof fin);
        len += extra;
        b[len] = 0;

        *ret = b;
        *ret_len = len;
        return 0;
}

size_t output_capture_skippable(const OutputCapture *o, uint64_t avail) {
        assert(o);

        if (o->cap == 0 || o->mask_max > 0 || o->head_len < head_cap(o) || avail <= tail_cap(o))
                return 0;
        return (size_t) MIN(avail - tail_cap(o), (uint64_t) SIZE_MAX);
}

void output_capture_skip(OutputCapture *o, size_t n) {
        assert(o);
        assert(o->head_len == head_cap(o));

        if (n == 0)
                return;
        /* the ring's bytes are older than the skipped ones: what follows refills it, in order from 0 */
        o->tail_len = 0;
        o->tail_pos = 0;
        o->total += n;
        o->truncated = o->total > o->cap;
}
