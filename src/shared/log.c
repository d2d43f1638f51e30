/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "shared/log.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

int log_internal(int level, int error, const char *file, int line, const char *func, const char *fmt, ...) {
        char buf[2048];
        va_list ap;
        int saved = errno;

        if (level > max_level)
                return error < 0 ? error : -abs(error);

        /* %m takes its text from errno */
        errno = error < 0 ? -error : error;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        /* "<N>" prefixes are understood by journald's stdout stream and by systemd's StandardError=journal */
        if (getenv("JOURNAL_STREAM"))
                fprintf(stderr, "<%d>%s\n", level, buf);
        else
                fprintf(stderr, "runbookd: %s\n", buf);
        errno = saved;
        return error < 0 ? error : -abs(error);
}
