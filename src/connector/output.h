/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* output.h: a capped capture of one output stream of a step. Up to 'cap' bytes are kept:
 * while the stream is within the cap everything is kept; beyond it, the first cap/2 bytes
 * (head) and the last cap/2 bytes (tail) are kept and 'truncated' is set. */
#pragma once

#include "shared/util.h"

#define OUTPUT_CAP_DEFAULT (1024 * 1024)

typedef struct OutputCapture {
        size_t cap;
        uint8_t *head;            /* first min(total, head_cap) bytes */
        size_t head_len;
        uint8_t *tail;            /* ring buffer of the last bytes once past the head */
        size_t tail_len;          /* valid bytes in ring */
        size_t tail_pos;          /* next write position in ring */
        uint64_t total;           /* bytes seen */
        bool truncated;
} OutputCapture;

void output_capture_init(OutputCapture *o, size_t cap);
void output_capture_done(OutputCapture *o);
int output_capture_append(OutputCapture *o, const void *data, size_t n);
/* For a stream read from a file whose next 'avail' bytes are there to read: how many of them
 * would only pass through the ring and be dropped (0 until the head is full). */
size_t output_capture_skippable(const OutputCapture *o, uint64_t avail);
/* Counts 'n' bytes as seen without keeping them (only with the head full: after
 * output_capture_skippable()); the bytes appended next are the tail. */
void output_capture_skip(OutputCapture *o, size_t n);
/* The kept bytes in order (head, then tail); *ret is malloc'ed (may be NULL when *ret_len is 0). */
int output_capture_get(const OutputCapture *o, uint8_t **ret, size_t *ret_len);
