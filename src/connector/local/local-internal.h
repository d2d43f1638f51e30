/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* local-internal.h: what the local connector's two ways of running a step share: spawned directly
 * by runbookd (local.c), or as a transient systemd unit (local-unit.c). */
#pragma once

#include <sys/types.h>

#include "connector/connector.h"

#define LOCAL_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef enum LocalStop {
        LOCAL_STOP_NONE,
        LOCAL_STOP_TIMEOUT,
        LOCAL_STOP_CANCEL,
} LocalStop;

typedef struct LocalUnit LocalUnit;

typedef struct LocalJob {
        ConnectorJob job;
        LocalUnit *unit;                  /* unit mode: everything else below is unused */
        pid_t pid;                        /* the shell; also its process group id */
        bool exited;                      /* the shell's exit was dispatched; pid is no longer ours */
        sd_event_source *child_source;
        int fd[2];                        /* read ends of stdout/stderr until an I/O source owns them */
        sd_event_source *io_source[2];    /* own fd[] */
        int exec_fd;                      /* read end of the errno pipe */
        sd_event_source *timer_source;    /* the timeout, then the kill grace */
        sd_event_source *fail_source;     /* finishes a job refused at start (local_fail_later()) */
        int fail_error;
        const char *shell;                /* what was executed, for the exec-failure message */
        usec_t timeout_usec;
        LocalStop stop;                   /* why we signalled the group */
        char *message;
} LocalJob;

/* Who a step of a local target runs as: its "user" (default root) and "group" (default the
 * user's), looked up on this host. */
typedef struct LocalUser {
        char *name;               /* NULL: the target names no user or group (runs as runbookd does) */
        char *group;              /* the target's "group", or NULL */
        uid_t uid;
        gid_t gid;
        gid_t *groups;            /* supplementary groups (direct mode) */
        int n_groups;
        char *home;
        char *shell;
} LocalUser;

void local_user_done(LocalUser *u);
/* Looks up the target's user and group; -ENOENT / -ESRCH with *ret_message saying which is missing. */
int local_user_lookup(const Target *t, LocalUser *ret, char **ret_message);

usec_t local_kill_grace_usec(void);
/* Finishes the job from the loop with OUTCOME_ERROR, 'error' and 'message' (taken). */
int local_fail_later(LocalJob *l, int error, char *message);

/* unit mode (local-unit.c) */
bool local_unit_mode(void);
int local_unit_start(LocalJob *l, const StepRequest *req);
int local_unit_resume(LocalJob *l, const StepRequest *req, json_t *handle);
int local_unit_cancel(LocalJob *l);
void local_unit_destroy(LocalJob *l);
int local_unit_resumable(json_t *handle, char **ret_reason);
void local_unit_shutdown(void);
