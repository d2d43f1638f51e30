/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <pwd.h>
#include <stdio.h>

#include "shared/util.h"

usec_t now_usec(clockid_t clock) {
        struct timespec ts;
        if (clock_gettime(clock, &ts) < 0)
                abort();
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / NSEC_PER_USEC;
}

const char *format_duration(char *buf, size_t size, usec_t usec) {
        snprintf(buf, size, "%llu.%03llus",
                 (unsigned long long) (usec / USEC_PER_SEC),
                 (unsigned long long) ((usec % USEC_PER_SEC) / USEC_PER_MSEC));
        return buf;
}

const char *format_timestamp(char *buf, size_t size, usec_t usec) {
        time_t sec = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;
        char b[32];

        if (usec == 0 || !gmtime_r(&sec, &tm)) {
                snprintf(buf, size, "n/a");
                return buf;
        }
        strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, size, "%s.%03lluZ", b, (unsigned long long) ((usec % USEC_PER_SEC) / USEC_PER_MSEC));
        return buf;
}

int vasprintf_safe(char **ret, const char *fmt, va_list ap) {
        if (vasprintf(ret, fmt, ap) < 0) {
                *ret = NULL; /* vasprintf() leaves it undefined */
                return -ENOMEM;
        }
        return 0;
}

int asprintf_safe(char **ret, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf_safe(ret, fmt, ap);
        va_end(ap);
        return r;
}

int greedy_realloc(void **p, size_t *allocated, size_t need, size_t size) {
        size_t n;
        void *q;

        if (need <= *allocated)
                return 0;
        n = MAX(need, MAX(*allocated * 2, (size_t) 8));
        if (n > SIZE_MAX / size)
                return -ENOMEM;
        q = realloc(*p, n * size);
        if (!q)
                return -ENOMEM;
        *p = q;
        *allocated = n;
        return 0;
}

size_t strv_length(char *const *l) {
        size_t n = 0;
        if (l)
                while (l[n])
                        n++;
        return n;
}

int strv_consume(char ***l, char *s) {
        size_t n;
        char **c;

        if (!s)
                return -ENOMEM;
        n = strv_length(*l);
        c = realloc(*l, sizeof(char *) * (n + 2));
        if (!c) {
                free(s);
                return -ENOMEM;
        }
        c[n] = s;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_extend(char ***l, const char *s) {
        return strv_consume(l, strdup(s));
}

char *hexmem(const void *p, size_t n) {
        static const char table[] = "0123456789abcdef";
        const uint8_t *b = p;
        char *r = malloc(n * 2 + 1);

        if (!r)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                r[i * 2] = table[b[i] >> 4];
                r[i * 2 + 1] = table[b[i] & 15];
        }
        r[n * 2] = 0;
        return r;
}

const char *utf8_text_problem(const char *s, size_t max_len, char *buf, size_t size) {
        const unsigned char *p = (const unsigned char *) s;
        size_t len = 0;

        while (*p) {
                size_t at = (size_t) (p - (const unsigned char *) s);
                unsigned n;
                uint32_t cp;

                if (++len > max_len) {
                        snprintf(buf, size, "longer than %zu characters", max_len);
                        return buf;
                }
                if (*p < 0x80) {
                        if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f) {
                                snprintf(buf, size, "control character U+%04X at byte %zu", *p, at);
                                return buf;
                        }
                        p++;
                        continue;
                }
                if ((*p & 0xe0) == 0xc0) {
                        n = 1;
                        cp = *p & 0x1f;
                } else if ((*p & 0xf0) == 0xe0) {
                        n = 2;
                        cp = *p & 0x0f;
                } else if ((*p & 0xf8) == 0xf0) {
                        n = 3;
                        cp = *p & 0x07;
                } else
                        goto invalid;
                p++;
                for (unsigned i = 0; i < n; i++, p++) {
                        if ((*p & 0xc0) != 0x80)
                                goto invalid;
                        cp = (cp << 6) | (*p & 0x3f);
                }
                if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
                    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        goto invalid;
                if (cp >= 0x80 && cp <= 0x9f) {
                        snprintf(buf, size, "C1 control character U+%04X at byte %zu", (unsigned) cp, at);
                        return buf;
                }
                /* bidirectional embeddings, overrides, isolates and marks: text that reads
                 * differently from what it is ("Trojan Source") */
                if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e ||
                    cp == 0x200f || cp == 0x061c) {
                        snprintf(buf, size, "bidirectional control character U+%04X at byte %zu", (unsigned) cp, at);
                        return buf;
                }
                continue;
        invalid:
                snprintf(buf, size, "invalid UTF-8 at byte %zu", at);
                return buf;
        }
        return NULL;
}

bool utf8_is_printable_text(const char *s, size_t max_len) {
        char buf[96];
        return !utf8_text_problem(s, max_len, buf, sizeof buf);
}

char *uid_to_name(uid_t uid) {
        struct passwd pw, *result = NULL;
        char buf[4096];
        char *s;

        if (getpwuid_r(uid, &pw, buf, sizeof buf, &result) == 0 && result)
                return strdup(result->pw_name);
        if (asprintf_safe(&s, "uid:%u", (unsigned) uid) < 0)
                return NULL;
        return s;
}

int loop_write(int fd, const void *buf, size_t n) {
        const uint8_t *p = buf;

        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

const char *utf8_cut(const char *s, size_t max, char *buf, size_t size) {
        size_t n = strlen(s);
        bool cut = n > max;

        if (cut) {
                n = max;
                while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
                        n--;
        }
        if (size == 0)
                return buf;
        n = MIN(n, size - 1 - (cut ? strlen("…") : 0));
        while (cut && n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
                n--;
        memcpy(buf, s, n);
        buf[n] = '\0';
        if (cut)
                strcat(buf, "…");
        return buf;
}
