/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* util.h: time, string and small list helpers. */
#pragma once

#include <stdarg.h>
#include <stdint.h>
#include <time.h>

#include "shared/macro.h"

typedef uint64_t usec_t;
#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define NSEC_PER_USEC ((uint64_t) 1000ULL)

usec_t now_usec(clockid_t clock);

/* Formats 'usec' as seconds with millisecond precision ("1.203s") into buf. */
const char *format_duration(char *buf, size_t size, usec_t usec);
#define DURATION_MAX 32

/* Formats a realtime usec as RFC 3339 UTC ("2026-11-25T16:21:44.123Z"). */
const char *format_timestamp(char *buf, size_t size, usec_t usec);
#define TIMESTAMP_MAX 40

int asprintf_safe(char **ret, const char *fmt, ...) _printf_(2, 3);
/* vasprintf() that leaves *ret NULL when it fails (-ENOMEM). */
int vasprintf_safe(char **ret, const char *fmt, va_list ap) _printf_(2, 0);

/* Makes room for 'need' elements of 'size' bytes in *p, which has room for *allocated: grows
 * by doubling (at least 8); 0, or -ENOMEM with *p as it was. */
int greedy_realloc(void **p, size_t *allocated, size_t need, size_t size);
#define GREEDY_REALLOC(array, allocated, need) \
        greedy_realloc((void **) &(array), &(allocated), (need), sizeof((array)[0]))

size_t strv_length(char *const *l);
/* Appends a copy of 's'. */
int strv_extend(char ***l, const char *s);
/* Takes ownership of 's' (freed on failure). */
int strv_consume(char ***l, char *s);

/* Lower-case hex of 'n' bytes into a new string. */
char *hexmem(const void *p, size_t n);

/* True if 's' is valid UTF-8 without NUL and control characters other than \t and \n. */
bool utf8_is_printable_text(const char *s, size_t max_len);
/* Why 's' is not printable text (NULL if it is): invalid UTF-8, a C0 control other than tab and
 * newline, DEL, a C1 control, a bidirectional control, more than 'max_len' characters; written
 * into 'buf' with the code point and byte offset. */
const char *utf8_text_problem(const char *s, size_t max_len, char *buf, size_t size);

/* At most 'max' bytes of the valid UTF-8 string 's', cut on a character boundary, with "…" after
 * it when cut, in 'buf' (which must hold max + 4 bytes); returns buf. For quoting caller input in
 * messages: a message cut inside a character is not valid UTF-8, and D-Bus refuses to send it. */
const char *utf8_cut(const char *s, size_t max, char *buf, size_t size);

/* Looks up the user name of 'uid'; "uid:N" when the user has no name. */
char *uid_to_name(uid_t uid);

#define UID_INVALID ((uid_t) -1)
static inline bool uid_is_valid(uid_t u) {
        return u != UID_INVALID;
}

/* Writes all of 'n' bytes, retrying on EINTR. */
int loop_write(int fd, const void *buf, size_t n);

/* Overwrites n bytes of s (a secret), then frees it; accepts NULL. */
static inline void wipe_free(char *s, size_t n) {
        if (!s)
                return;
        explicit_bzero(s, n);
        free(s);
}
