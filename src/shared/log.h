/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* log.h: the daemon's diagnostic log (stderr, which systemd hands to the journal).
 * Lower layers log only at debug level; the daemon and bus layers log once, where an error is handled. */
#pragma once

#include <syslog.h>

#include "shared/macro.h"

void log_set_max_level(int level);
int log_get_max_level(void);

/* Returns 'error' (negative errno) so callers can 'return log_error_errno(r, ...)'.
 * '%m' in fmt expands to strerror(-error). */
int log_internal(int level, int error, const char *file, int line, const char *func, const char *fmt, ...)
        _printf_(6, 7);

#define log_full_errno(level, error, ...) log_internal(level, error, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)
#define log_oom() log_full_errno(LOG_ERR, -ENOMEM, "Out of memory.")
