/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* connector.h: how a step's command reaches its target. A connector is an asynchronous driver
 * on the daemon's sd-event loop: start, capture output, report the outcome exactly once,
 * cancel. Connectors never touch the bus or the store; they report through the 'done' callback.
 *
 * To add a connector: write src/connector/<name>.c with a 'const ConnectorVTable connector_<name>',
 * and list it in connector_table[] in connector.c. */
#pragma once

#include <systemd/sd-event.h>

#include "config/target.h"
#include "connector/output.h"

typedef struct ConnectorJob ConnectorJob;

typedef enum StepOutcome {
        OUTCOME_EXITED,           /* the command ran and exited: exit_status is valid */
        OUTCOME_KILLED,           /* the command was killed by signal 'signal' (not by us) */
        OUTCOME_TIMED_OUT,        /* we stopped it because the step's timeout passed */
        OUTCOME_CANCELLED,        /* we stopped it because connector_job_cancel() was called */
        OUTCOME_ERROR,            /* the command could not be run at all: see 'error' and 'message' */
        _OUTCOME_MAX,
        _OUTCOME_INVALID = -EINVAL,
} StepOutcome;

typedef struct StepResult {
        StepOutcome outcome;
        int exit_status;          /* OUTCOME_EXITED: the status; else -1 */
        int signal;               /* OUTCOME_KILLED, and the signal that ended a timed-out/cancelled command; else 0 */
        int error;                /* OUTCOME_ERROR: negative errno */
        const char *message;      /* human-readable reason for anything but a clean exit, may be NULL */
        usec_t duration_usec;     /* from start to end, CLOCK_MONOTONIC */
        const char *connection;   /* how the target was reached, for the result record
                                   * (RUNBOOK_CONNECTION), e.g. "new" or "reused"; may be NULL */
} StepResult;

/* Called exactly once per started job, from the event loop (never from within connector_start()).
 * The job stays valid during the callback; the caller frees it with connector_job_free() afterwards. */
typedef void (*connector_done_t)(ConnectorJob *job, const StepResult *result, void *userdata);

typedef struct StepRequest {
        uint32_t session_id;
        uint32_t step_index;
        const char *command;      /* the final command line, run by /bin/sh -c on the target */
        const Target *target;
        usec_t timeout_usec;      /* 0: none */
        size_t output_cap;        /* per stream; 0: OUTPUT_CAP_DEFAULT */
} StepRequest;

typedef struct ConnectorVTable {
        const char *name;
        size_t object_size;       /* sizeof the connector's job struct, which begins with ConnectorJob */
        int (*start)(ConnectorJob *job, const StepRequest *req);
        int (*cancel)(ConnectorJob *job);   /* begin stopping; 'done' follows with OUTCOME_CANCELLED */
        void (*destroy)(ConnectorJob *job); /* release the connector's part of the job (optional) */
} ConnectorVTable;

struct ConnectorJob {
        const ConnectorVTable *vtable;
        sd_event *event;
        connector_done_t done;
        void *userdata;
        OutputCapture output[2];  /* [0] stdout, [1] stderr */
        usec_t started_usec;      /* CLOCK_MONOTONIC */
        bool finished;            /* 'done' has been called */
};

extern const ConnectorVTable connector_local;
extern const ConnectorVTable connector_ssh;

/* ssh: closes the pooled connections and releases libssh2. The daemon calls it at exit, after
 * every job is freed (engine_free()); the pool can be used again afterwards. */
void connector_ssh_shutdown(void);
/* ssh: like connector_local_set_kill_grace(), for the remote command's process group. For tests. */
void connector_ssh_set_kill_grace(usec_t usec);
extern const ConnectorVTable connector_azure;

/* local: the grace period between SIGTERM and SIGKILL when a job times out or is cancelled
 * (default LOCAL_KILL_GRACE_USEC, 5 s); 0 restores the default. For tests. */
void connector_local_set_kill_grace(usec_t usec);
/* local: the shell run as '<shell> -c <command>' (default "/bin/sh"); NULL restores the default.
 * For tests (e.g. of the exec-failure path); the string must stay valid while it is set. */
void connector_local_set_shell(const char *path);

const ConnectorVTable *connector_find(const char *name);

/* Starts the command. On success *ret is the job, and 'done' will be called once. On failure
 * returns a negative errno and 'done' is not called. */
int connector_start(const ConnectorVTable *vt, sd_event *event, const StepRequest *req,
                    connector_done_t done, void *userdata, ConnectorJob **ret);
/* Asks the job to stop (TERM, then KILL after a grace period, for local). Returns 0 if stopping
 * was begun, -EALREADY if the job has already finished. */
int connector_job_cancel(ConnectorJob *job);
ConnectorJob *connector_job_free(ConnectorJob *job);
DEFINE_TRIVIAL_CLEANUP_FUNC(ConnectorJob *, connector_job_free);

/* Called by connectors to finish a job: fills in the duration, marks it finished, calls 'done'. */
void connector_job_finish(ConnectorJob *job, StepResult *result);
