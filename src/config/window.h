/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* window.h: change windows ("windows" of a runbook or a target) and change freezes ("freeze" in
 * runbookd.json), and when a step may run under them. Local times are read in each window's
 * time zone through the C library's time zone database (TZ), so days, times and DST changes are
 * the zone's. No sd-bus, no store. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "shared/util.h"

#define CHANGE_WINDOWS_MAX 32
#define CHANGE_FREEZES_MAX 64
/* how far ahead an opening is looked for: none by then, the step is not run */
#define CHANGE_HORIZON_USEC (400ULL * 24 * 3600 * USEC_PER_SEC)

/* {"days": "Mon..Fri", "from": "22:00", "to": "06:00", "timezone": "Europe/Berlin"}: open from
 * 'from' on each of its days until 'to' (the next day when 'to' is not after 'from'; 'from' equal
 * to 'to': 24 hours) */
typedef struct ChangeWindow {
        uint8_t days;             /* bit N: struct tm's tm_wday N (0: Sunday) */
        int from, to;             /* seconds after local midnight; to may be 86400 ("24:00") */
        char *timezone;           /* NULL: the system's local time */
        char *text;               /* for messages: "Mon..Fri 22:00-06:00 Europe/Berlin" */
} ChangeWindow;

/* {"from": "2026-12-20", "to": "2027-01-03", "timezone": …, "reason": …}: closed from the start
 * of 'from' to the end of 'to' (a date), or to the instant 'to' ("YYYY-MM-DDTHH:MM[:SS]") */
typedef struct ChangeFreeze {
        usec_t from, to;          /* [from, to), CLOCK_REALTIME */
        char *reason;             /* may be NULL */
        char *text;               /* for messages: "2026-12-20..2027-01-03 (year-end)" */
} ChangeFreeze;

/* Puts TZ in the environment (the system's local time, as when it is unset) if it is not there:
 * once, at start-up, before any thread. The windows then change its value, never remove it, so
 * the environment is never reallocated under another thread's getenv() (libcurl's resolver). */
void change_windows_init(void);

/* A JSON array of windows / freezes; errors name 'source' and the JSON path under 'path'. */
int change_windows_parse(json_t *v, const char *source, const char *path, ChangeWindow **ret, size_t *ret_n,
                         char **ret_error);
void change_windows_free(ChangeWindow *w, size_t n);
/* Validates the "windows" of document 'doc' (a runbook's or a target's), if it has any. */
int change_windows_check(json_t *doc, const char *source, char **ret_error);
int change_freezes_parse(json_t *v, const char *source, const char *path, ChangeFreeze **ret, size_t *ret_n,
                         char **ret_error);
void change_freezes_free(ChangeFreeze *f, size_t n);

/* True if 't' is inside one of the 'n' windows (n == 0: always); otherwise *ret_next is when the
 * first of them opens after 't' (0: none within CHANGE_HORIZON_USEC). */
bool change_windows_open(const ChangeWindow *w, size_t n, usec_t t, usec_t *ret_next);

/* When a step may run from 'now' on: inside one of the runbook's windows and one of the target's
 * (each list empty: no constraint) and outside every freeze. Returns 1 when it may now; 0 with
 * *ret_at the first instant it may (0: none within CHANGE_HORIZON_USEC) and *ret_why what holds
 * it now (allocated); -ENOMEM. */
int change_policy_next(const ChangeWindow *rw, size_t n_rw, const ChangeWindow *tw, size_t n_tw,
                       const ChangeFreeze *f, size_t n_f, usec_t now, usec_t *ret_at, char **ret_why);
