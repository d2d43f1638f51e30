/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* runbookctl.h: the command line options shared by the verbs, and the verbs themselves. Each verb
 * gets argv with argv[0] the verb's name and returns a negative errno (exit status 1; the verb has
 * printed the error) or the exit status (0, or watch's EXIT_* below). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* watch's exit codes (documented in --help and runbookctl(1)) */
enum {
        EXIT_WATCH_SUCCEEDED = 0,
        EXIT_WATCH_ERROR = 1,
        EXIT_WATCH_FAILED = 3,
        EXIT_WATCH_REJECTED = 4,
        EXIT_WATCH_CANCELLED = 5,
        EXIT_WATCH_INTERRUPTED = 6,
        EXIT_WATCH_WAITING = 7,
        EXIT_WATCH_EXPIRED = 8,
};

extern char **arg_parameters; /* NAME, VALUE, NAME, VALUE, … */
extern const char *arg_reference;
extern bool arg_watch;
extern bool arg_until_end;
extern const char *arg_comment;
extern bool arg_unreviewed;  /* list --unreviewed */
extern char **arg_states;
extern unsigned arg_limit;   /* list --limit; 0: all */
extern uint64_t arg_since;   /* list --since, µs since the epoch; 0: any */
extern bool arg_stderr;
extern bool arg_follow;
extern const char *arg_directory;
extern unsigned arg_lines; /* logs -n; 0: all */

int verb_runbooks(int argc, char *argv[]);
int verb_targets(int argc, char *argv[]);
int verb_locks(int argc, char *argv[]);
int verb_list(int argc, char *argv[]);
int verb_pending(int argc, char *argv[]);
int verb_show(int argc, char *argv[]);
int verb_status(int argc, char *argv[]);
int verb_output(int argc, char *argv[]);
int verb_start(int argc, char *argv[]);
int verb_plan(int argc, char *argv[]);
int verb_approve(int argc, char *argv[]);
int verb_reject(int argc, char *argv[]);
int verb_cancel(int argc, char *argv[]);
int verb_retry(int argc, char *argv[]);
int verb_break_glass(int argc, char *argv[]);
int verb_review(int argc, char *argv[]);
int verb_audit(int argc, char *argv[]);
int verb_watch(int argc, char *argv[]);
int verb_logs(int argc, char *argv[]);
int verb_check(int argc, char *argv[]);

/* Follows session 'id' on an open bus until it ends (or waits for approval, unless --until-end);
 * returns the EXIT_WATCH_* code, or a negative errno after printing the error. */
typedef struct sd_bus sd_bus;
int watch_session(sd_bus *bus, uint32_t id);
