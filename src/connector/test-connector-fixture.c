/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-connector-fixture.c: see test-connector-fixture.h. */

#include "connector/test-connector-fixture.h"

void run_clear(Run *run) {
        connector_job_free(run->job);
        free(run->message);
        free(run->connection);
        free(run->out);
        free(run->err);
        *run = (Run) {};
}

void run_on_done(ConnectorJob *job, const StepResult *r, void *userdata) {
        Run *run = userdata;

        check(!run->done);
        check(job == run->job);
        check(job->finished);
        run->done = true;
        run->result = *r;
        run->message = r->message ? strdup(r->message) : NULL;
        run->result.message = run->message;
        run->connection = r->connection ? strdup(r->connection) : NULL;
        run->result.connection = run->connection;
        check(output_capture_get(&job->output[0], &run->out, &run->out_len) == 0);
        check(output_capture_get(&job->output[1], &run->err, &run->err_len) == 0);
        run->out_truncated = job->output[0].truncated;
        run->out_total = job->output[0].total;
        if (run->free_in_done)
                run->job = connector_job_free(job);
}

void run_until_done(sd_event *e, Run *run, usec_t max) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + max;

        while (!run->done) {
                check(now_usec(CLOCK_MONOTONIC) < end);
                check(sd_event_run(e, 100 * USEC_PER_MSEC) >= 0);
        }
}
