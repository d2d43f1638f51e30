/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-connector.c: see test-connector.h. */
#include <signal.h>

#include "engine/test-connector.h"
#include "shared/tests.h"

typedef struct TcJob {
        ConnectorJob job;
        TcRun *run;
        sd_event_source *end;
        StepResult result;
        char *message;
} TcJob;

static TcRun **runs;
static size_t n_runs, n_runs_allocated;

static void tc_job_end(TcJob *j, StepResult result, const char *message);

static int on_end(sd_event_source *s, void *userdata) {
        TcJob *j = userdata;
        StepResult result = j->result;

        j->end = sd_event_source_disable_unref(j->end);
        result.message = j->message;
        j->run->outcome = (int) result.outcome;
        j->run->job = NULL;
        connector_job_finish(&j->job, &result);
        return 0;
}

/* Reports the end from the loop, once. */
static void tc_job_end(TcJob *j, StepResult result, const char *message) {
        check(!j->job.finished && !j->end);
        j->result = result;
        free(j->message);
        j->message = message ? strdup(message) : NULL;
        check(!message || j->message);
        check(sd_event_add_defer(j->job.event, &j->end, on_end, j) >= 0);
        /* after all else the loop has to do, as a real command's end comes while it is idle */
        check(sd_event_source_set_priority(j->end, SD_EVENT_PRIORITY_IDLE + 100) >= 0);
}

static const char *skip_space(const char *p) {
        while (*p == ' ')
                p++;
        return p;
}

/* The clause [p, e) begins with 'verb' and a space (or is just it): returns its argument. */
static const char *verb(const char *p, const char *e, const char *v) {
        size_t n = strlen(v);

        if ((size_t) (e - p) < n || strncmp(p, v, n) != 0 || (p + n < e && p[n] != ' '))
                return NULL;
        return skip_space(p + n);
}

static int tc_start(ConnectorJob *job, const StepRequest *req) {
        TcJob *j = (TcJob *) job;
        StepResult result = { .outcome = OUTCOME_EXITED, .exit_status = 0, .signal = 0 };
        _cleanup_free_ char *fail = NULL;
        TcRun *r;

        r = calloc(1, sizeof *r);
        check(r);
        *r = (TcRun) {
                .session_id = req->session_id,
                .step_index = req->step_index,
                .attempt = req->attempt,
                .command = strdup(req->command),
                .target = strdup(req->target ? req->target->name : "?"),
                .timeout_usec = req->timeout_usec,
                .output_cap = req->output_cap,
                .job = job,
                .outcome = -1,
        };
        check(r->command && r->target);
        check(GREEDY_REALLOC(runs, n_runs_allocated, n_runs + 1) == 0);
        runs[n_runs++] = r;
        j->run = r;

        for (const char *p = req->command; *p;) {
                const char *e = strchrnul(p, ';'), *a;
                size_t n;

                p = skip_space(p);
                n = (size_t) (e - p);
                while (n > 0 && p[n - 1] == ' ')
                        n--;
                if ((a = verb(p, p + n, "out")) || (a = verb(p, p + n, "err"))) {
                        OutputCapture *o = &job->output[p[0] == 'e'];
                        check(output_capture_append(o, a, (size_t) (p + n - a)) >= 0);
                        check(output_capture_append(o, "\n", 1) >= 0);
                } else if ((a = verb(p, p + n, "fill"))) {
                        char *t;
                        long k = strtol(a, &t, 10);
                        t = (char *) skip_space(t);
                        for (long i = 0; i < k; i++)
                                check(output_capture_append(&job->output[0], t, (size_t) (p + n - t)) >= 0);
                } else if ((a = verb(p, p + n, "exit")))
                        result = (StepResult) { .outcome = OUTCOME_EXITED, .exit_status = atoi(a) };
                else if ((a = verb(p, p + n, "killed")))
                        result = (StepResult) { .outcome = OUTCOME_KILLED, .exit_status = -1, .signal = atoi(a) };
                else if ((a = verb(p, p + n, "fail"))) {
                        free(fail);
                        fail = strndup(a, (size_t) (p + n - a));
                        check(fail);
                        result = (StepResult) { .outcome = OUTCOME_ERROR, .exit_status = -1, .error = -EIO };
                } else if (verb(p, p + n, "hold"))
                        r->held = true;
                else if (verb(p, p + n, "refuse"))
                        r->refused = true;
                p = *e ? e + 1 : e;
        }

        if (r->refused) {
                r->job = NULL;
                j->run = NULL;
                return -EIO;
        }
        if (!r->held)
                tc_job_end(j, result, fail);
        return 0;
}

static int tc_cancel(ConnectorJob *job) {
        TcJob *j = (TcJob *) job;

        j->run->cancelled = true;
        if (!j->end)
                tc_job_end(j, (StepResult) { .outcome = OUTCOME_CANCELLED, .exit_status = -1, .signal = SIGTERM },
                           "cancelled");
        return 0;
}

static void tc_destroy(ConnectorJob *job) {
        TcJob *j = (TcJob *) job;

        if (j->run && !job->finished) {
                j->run->freed_running = true;
                j->run->job = NULL;
        }
        j->end = sd_event_source_disable_unref(j->end);
        free(j->message);
}

const ConnectorVTable connector_test = {
        .name = "test",
        .object_size = sizeof(TcJob),
        .start = tc_start,
        .cancel = tc_cancel,
        .destroy = tc_destroy,
};

/* The test programs' connector table (instead of connector-table.c's). */
static const ConnectorVTable *const table[] = {
        &connector_local, &connector_ssh, &connector_azure, &connector_test, NULL,
};

const ConnectorVTable *connector_find(const char *name) {
        for (size_t i = 0; name && table[i]; i++)
                if (streq(table[i]->name, name))
                        return table[i];
        return NULL;
}

void connector_shutdown_all(void) {
        for (size_t i = 0; table[i]; i++)
                if (table[i]->shutdown)
                        table[i]->shutdown();
}

void tc_use_for(TargetCatalog *c) {
        for (size_t i = 0; i < c->n_targets; i++) {
                Target *t = c->targets[i];
                if (streq(t->connector, "group"))
                        continue;
                free(t->connector);
                t->connector = strdup("test");
                check(t->connector);
        }
}

void tc_reset(void) {
        for (size_t i = 0; i < n_runs; i++) {
                check(!runs[i]->job);
                free(runs[i]->command);
                free(runs[i]->target);
                free(runs[i]);
        }
        runs = mfree(runs);
        n_runs = n_runs_allocated = 0;
}

unsigned tc_n_runs(void) {
        return (unsigned) n_runs;
}

TcRun *tc_run(unsigned i) {
        check(i < n_runs);
        return runs[i];
}

unsigned tc_count(const char *command) {
        unsigned n = 0;

        for (size_t i = 0; i < n_runs; i++)
                n += streq(runs[i]->command, command);
        return n;
}

TcRun *tc_last(uint32_t session_id, uint32_t step_index) {
        for (size_t i = n_runs; i > 0; i--)
                if (runs[i - 1]->session_id == session_id && runs[i - 1]->step_index == step_index)
                        return runs[i - 1];
        return NULL;
}

void tc_finish(TcRun *r, int exit_status) {
        check(r && r->job && r->held);
        tc_job_end((TcJob *) r->job, (StepResult) { .outcome = OUTCOME_EXITED, .exit_status = exit_status }, NULL);
}

void tc_expire(TcRun *r) {
        check(r && r->job);
        tc_job_end((TcJob *) r->job, (StepResult) { .outcome = OUTCOME_TIMED_OUT, .exit_status = -1, .signal = SIGTERM },
                   "timed out (test)");
}
