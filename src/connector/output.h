/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* output.h: a capped capture of one output stream of a step. Up to 'cap' bytes are kept:
 * while the stream is within the cap everything is kept; beyond it, the first cap/2 bytes
 * (head) and the last cap/2 bytes (tail) are kept and 'truncated' is set. */
#pragma once

#include "shared/util.h"

#define OUTPUT_CAP_DEFAULT (1024 * 1024)

/* Masking: each occurrence of a secret value of at least OUTPUT_MASK_MIN bytes is replaced by
 * OUTPUT_MASK_TEXT before it is kept (shorter values would mask ordinary text everywhere). An
 * occurrence split across appends is found too: bytes that may begin one are held back until the
 * next append decides (at most the longest value's length - 1); output_capture_get() gives them
 * as they are, or masked when they are OUTPUT_MASK_MIN or more bytes of a value's beginning (the
 * stream ended inside a value). */
#define OUTPUT_MASK_MIN 4
#define OUTPUT_MASK_TEXT "***"

typedef struct OutputMask {
        const uint8_t *data;      /* not NUL-terminated; owned by the caller, valid while masking */
        size_t len;
} OutputMask;

typedef struct OutputCapture {
        size_t cap;
        uint8_t *head;            /* first min(total, head_cap) bytes */
        size_t head_len;
        uint8_t *tail;            /* ring buffer of the last bytes once past the head */
        size_t tail_len;          /* valid bytes in ring */
        size_t tail_pos;          /* next write position in ring */
        uint64_t total;           /* bytes seen */
        bool truncated;
        const OutputMask *masks;  /* see output_capture_set_masks() */
        size_t n_masks;
        size_t mask_max;          /* the longest mask's length */
        uint8_t *pending;         /* held back: may begin a value (wiped when freed) */
        size_t pending_len;
} OutputCapture;

void output_capture_init(OutputCapture *o, size_t cap);
void output_capture_done(OutputCapture *o);
int output_capture_append(OutputCapture *o, const void *data, size_t n);
/* Masks every occurrence of these values in what is appended from now on (masks shorter than
 * OUTPUT_MASK_MIN are ignored). 'm' must stay valid as long as the capture is used. With masks,
 * output_capture_skippable() is 0: every byte is looked at. */
void output_capture_set_masks(OutputCapture *o, const OutputMask *m, size_t n);
/* The masking of output_capture_append() on its own (for tests): masks 'in' (of 'n' bytes) into
 * 'out' (room for n bytes: the result is never longer), sets *ret_out_len, and returns how many
 * bytes at the end of 'in' were held back (not in 'out': they may begin a value). */
size_t output_mask(const OutputMask *m, size_t n_masks, const uint8_t *in, size_t n, uint8_t *out, size_t *ret_out_len);
/* For a stream read from a file whose next 'avail' bytes are there to read: how many of them
 * would only pass through the ring and be dropped (0 until the head is full). */
size_t output_capture_skippable(const OutputCapture *o, uint64_t avail);
/* Counts 'n' bytes as seen without keeping them (only with the head full: after
 * output_capture_skippable()); the bytes appended next are the tail. */
void output_capture_skip(OutputCapture *o, size_t n);
/* The kept bytes in order (head, then tail); *ret is malloc'ed (may be NULL when *ret_len is 0). */
int output_capture_get(const OutputCapture *o, uint8_t **ret, size_t *ret_len);
