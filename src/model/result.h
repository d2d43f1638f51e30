/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* result.h: how a step's command ended, as a connector reports it and the engine records it. */
#pragma once

#include <errno.h>

#include "shared/util.h"

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
