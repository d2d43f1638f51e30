/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-connector-fixture.h: what the connectors' unit tests share: a Run, which collects a job's
 * result and output when its 'done' is called, and running the loop until then. */
#pragma once

#undef NDEBUG
#include <stdbool.h>
#include <stdint.h>

#include "connector/connector.h"
#include "shared/tests.h"

/* One job: started with run_on_done() as 'done', the Run as userdata and &run->job as ret. */
typedef struct Run {
        bool done;
        bool free_in_done;        /* run_on_done() frees the job (run->job becomes NULL) */
        StepResult result;        /* .message and .connection point to the copies below */
        char *message, *connection;
        uint8_t *out, *err;
        size_t out_len, err_len;
        bool out_truncated;       /* of stdout */
        uint64_t out_total;
        ConnectorJob *job;
} Run;

/* Frees the job if it is still there, and what was collected; the Run can start a job again. */
void run_clear(Run *run);
/* A connector_done_t: checks it is called once, for run->job, finished, and collects. */
void run_on_done(ConnectorJob *job, const StepResult *r, void *userdata);
/* Runs the loop until the job is done (a failed check after 'max'); the job is not freed. */
void run_until_done(sd_event *e, Run *run, usec_t max);
