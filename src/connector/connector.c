/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* connector.c: the static connector registry and the job life cycle shared by all connectors. */

#include <assert.h>

#include "connector/connector.h"

static const ConnectorVTable *const connector_table[] = {
        &connector_local,
        &connector_ssh,
        &connector_azure,
        NULL,
};

const ConnectorVTable *connector_find(const char *name) {
        if (!name)
                return NULL;
        for (size_t i = 0; connector_table[i]; i++)
                if (streq(connector_table[i]->name, name))
                        return connector_table[i];
        return NULL;
}

int connector_start(const ConnectorVTable *vt, sd_event *event, const StepRequest *req,
                    connector_done_t done, void *userdata, ConnectorJob **ret) {
        ConnectorJob *job;
        size_t cap;
        int r;

        assert(vt);
        assert(vt->start);
        assert(vt->object_size >= sizeof(ConnectorJob));
        assert(event);
        assert(req);
        assert(done);
        assert(ret);

        if (!req->command)
                return -EINVAL;

        job = calloc(1, vt->object_size);
        if (!job)
                return -ENOMEM;

        cap = req->output_cap > 0 ? req->output_cap : OUTPUT_CAP_DEFAULT;
        job->vtable = vt;
        job->event = sd_event_ref(event);
        job->done = done;
        job->userdata = userdata;
        output_capture_init(&job->output[0], cap);
        output_capture_init(&job->output[1], cap);
        job->started_usec = now_usec(CLOCK_MONOTONIC);

        r = vt->start(job, req);
        if (r < 0) {
                /* 'done' must not have been called: connectors report early failures by returning
                 * them here, or later from a deferred event source. */
                assert(!job->finished);
                connector_job_free(job);
                return r;
        }

        *ret = job;
        return 0;
}

int connector_job_cancel(ConnectorJob *job) {
        assert(job);

        if (job->finished)
                return -EALREADY;
        if (!job->vtable->cancel)
                return -EOPNOTSUPP;
        return job->vtable->cancel(job);
}

ConnectorJob *connector_job_free(ConnectorJob *job) {
        if (!job)
                return NULL;

        if (job->vtable->destroy)
                job->vtable->destroy(job);
        output_capture_done(&job->output[0]);
        output_capture_done(&job->output[1]);
        sd_event_unref(job->event);
        free(job);
        return NULL;
}

void connector_job_finish(ConnectorJob *job, StepResult *result) {
        usec_t n;

        assert(job);
        assert(result);
        assert(!job->finished);

        n = now_usec(CLOCK_MONOTONIC);
        result->duration_usec = n > job->started_usec ? n - job->started_usec : 0;
        job->finished = true;
        job->done(job, result, job->userdata);
}
