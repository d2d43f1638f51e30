/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tests.h: the assertion macros of the unit tests (they stay active under NDEBUG). */
#pragma once

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#define check(expr)                                                                            \
        do {                                                                                   \
                if (!(expr)) {                                                                 \
                        fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__, __LINE__,   \
                                __func__, #expr);                                              \
                        abort();                                                               \
                }                                                                              \
        } while (0)

#define check_streq(a, b)                                                                      \
        do {                                                                                   \
                const char *_a = (a), *_b = (b);                                               \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                       \
                        fprintf(stderr, "%s:%d: %s: check failed: %s == %s (\"%s\" vs \"%s\")\n", \
                                __FILE__, __LINE__, __func__, #a, #b, _a ? _a : "(null)",      \
                                _b ? _b : "(null)");                                           \
                        abort();                                                               \
                }                                                                              \
        } while (0)

#define check_int(a, b)                                                                        \
        do {                                                                                   \
                long long _a = (long long) (a), _b = (long long) (b);                          \
                if (_a != _b) {                                                                \
                        fprintf(stderr, "%s:%d: %s: check failed: %s == %s (%lld vs %lld)\n",  \
                                __FILE__, __LINE__, __func__, #a, #b, _a, _b);                 \
                        abort();                                                               \
                }                                                                              \
        } while (0)

#define TEST(name) do { fprintf(stderr, "-- %s\n", #name); test_##name(); } while (0)

/* As the daemon has it: SIGCHLD (needed by child event sources) and SIGTERM blocked, SIGPIPE
 * ignored; and no core dumps from the tests' own crashes. */
static inline void test_process_setup(void) {
        struct rlimit nocore = {};
        sigset_t ss;

        sigemptyset(&ss);
        sigaddset(&ss, SIGCHLD);
        sigaddset(&ss, SIGTERM);
        check(sigprocmask(SIG_BLOCK, &ss, NULL) == 0);
        (void) signal(SIGPIPE, SIG_IGN);
        (void) setrlimit(RLIMIT_CORE, &nocore);
}
