/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* connector.c: the job life cycle shared by all connectors (the registry: connector-table.c). */

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>

#include "connector/connector.h"

void step_secrets_free(StepSecret *s, size_t n) {
        if (!s)
                return;
        for (size_t i = 0; i < n; i++) {
                free(s[i].name);
                wipe_free(s[i].value, s[i].len);
        }
        free(s);
}

int step_secrets_read_script(const StepSecret *s, size_t n, char **ret) {
        _cleanup_free_ char *t = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&t, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                fprintf(f, "IFS= read -r %s; ", s[i].name);
        if (n > 0) {
                fputs("export", f);
                for (size_t i = 0; i < n; i++)
                        fprintf(f, " %s", s[i].name);
                fputs("; ", f);
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        if (!t && !(t = strdup("")))
                return -ENOMEM;
        *ret = TAKE_PTR(t);
        return 0;
}

int step_secrets_lines(const StepSecret *s, size_t n, char **ret, size_t *ret_len) {
        size_t len = 0, k = 0;
        char *b;

        for (size_t i = 0; i < n; i++)
                len += s[i].len + 1;
        b = malloc(len + 1);
        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                memcpy(b + k, s[i].value, s[i].len);
                k += s[i].len;
                b[k++] = '\n';
        }
        b[k] = 0;
        *ret = b;
        *ret_len = len;
        return 0;
}

/* Copies the request's secrets into the job, and masks their values in its output. */
static int job_take_secrets(ConnectorJob *job, const StepRequest *req) {
        if (req->n_secrets == 0)
                return 0;
        job->secrets = calloc(req->n_secrets, sizeof(StepSecret));
        job->masks = calloc(req->n_secrets, sizeof(OutputMask));
        if (!job->secrets || !job->masks)
                return -ENOMEM;
        for (size_t i = 0; i < req->n_secrets; i++) {
                StepSecret *d = &job->secrets[i];

                d->name = strdup(req->secrets[i].name);
                d->value = malloc(req->secrets[i].len + 1);
                if (!d->name || !d->value) {
                        free(d->name);
                        free(d->value);
                        *d = (StepSecret) {};
                        return -ENOMEM;
                }
                memcpy(d->value, req->secrets[i].value, req->secrets[i].len);
                d->value[req->secrets[i].len] = 0;
                d->len = req->secrets[i].len;
                job->n_secrets++;
                job->masks[i] = (OutputMask) { .data = (const uint8_t *) d->value, .len = d->len };
        }
        output_capture_set_masks(&job->output[0], job->masks, job->n_secrets);
        output_capture_set_masks(&job->output[1], job->masks, job->n_secrets);
        return 0;
}

static int job_begin(const ConnectorVTable *vt, sd_event *event, const StepRequest *req, json_t *handle,
                     connector_done_t done, void *userdata, ConnectorJob **ret) {
        ConnectorJob *job;
        size_t cap;
        int r;

        assert(vt);
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
        job->commit_handle = req->commit_handle;
        output_capture_init(&job->output[0], cap);
        output_capture_init(&job->output[1], cap);
        job->started_usec = now_usec(CLOCK_MONOTONIC);
        r = job_take_secrets(job, req);
        if (r < 0) {
                /* not started: the connector's destroy() must not see it */
                output_capture_done(&job->output[0]);
                output_capture_done(&job->output[1]);
                step_secrets_free(job->secrets, job->n_secrets);
                free(job->masks);
                sd_event_unref(job->event);
                free(job);
                return r;
        }

        r = handle ? vt->resume(job, req, handle) : vt->start(job, req);
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

int connector_start(const ConnectorVTable *vt, sd_event *event, const StepRequest *req,
                    connector_done_t done, void *userdata, ConnectorJob **ret) {
        assert(vt);
        assert(vt->start);
        return job_begin(vt, event, req, NULL, done, userdata, ret);
}

int connector_resume(const ConnectorVTable *vt, sd_event *event, const StepRequest *req, json_t *handle,
                     connector_done_t done, void *userdata, ConnectorJob **ret) {
        assert(vt);
        if (!vt->resume || !handle)
                return -EOPNOTSUPP;
        return job_begin(vt, event, req, handle, done, userdata, ret);
}

bool connector_keeps_handles(const ConnectorVTable *vt) {
        return vt && vt->resume && (!vt->keeps_handles || vt->keeps_handles());
}

int connector_resumable(const ConnectorVTable *vt, json_t *handle, char **ret_reason) {
        if (!vt || !vt->resume || !handle)
                return -EOPNOTSUPP;
        return vt->resumable ? vt->resumable(handle, ret_reason) : 1;
}

static int on_handle_committed(sd_event_source *s, void *userdata) {
        ConnectorJob *job = userdata;
        connector_continue_t cont = job->handle_cont;

        job->handle_defer = sd_event_source_disable_unref(job->handle_defer);
        job->handle_cont = NULL;
        if (cont && !job->finished)
                cont(job, job->handle_error);
        return 0;
}

int connector_job_set_handle(ConnectorJob *job, json_t *handle, connector_continue_t cont) {
        int r;

        assert(job);
        assert(handle);
        assert(cont);

        if (job->finished || job->handle_defer)
                return -EBUSY;
        /* the commit happens now, the continuation from the loop (never re-entrantly) */
        r = sd_event_add_defer(job->event, &job->handle_defer, on_handle_committed, job);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(job->handle_defer, "connector-handle");
        job->handle_cont = cont;
        job->handle_error = job->commit_handle ? job->commit_handle(job, handle, job->userdata) : 0;
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
        job->handle_defer = sd_event_source_disable_unref(job->handle_defer);
        output_capture_done(&job->output[0]);
        output_capture_done(&job->output[1]);
        step_secrets_free(job->secrets, job->n_secrets);
        free(job->masks);
        sd_event_unref(job->event);
        free(job);
        return NULL;
}

int connector_job_arm_timer(ConnectorJob *job, sd_event_source **timer, usec_t usec,
                            sd_event_time_handler_t handler, void *userdata, const char *description) {
        int r;

        assert(job);
        assert(timer);

        if (*timer) {
                r = sd_event_source_set_time_relative(*timer, usec);
                if (r < 0)
                        return r;
                return sd_event_source_set_enabled(*timer, SD_EVENT_ONESHOT);
        }
        r = sd_event_add_time_relative(job->event, timer, CLOCK_MONOTONIC, usec, 10 * USEC_PER_MSEC, handler,
                                       userdata);
        if (r < 0)
                return r;
        /* if the command ends while the timer elapses, let its end be seen first */
        (void) sd_event_source_set_priority(*timer, SD_EVENT_PRIORITY_NORMAL + 1);
        (void) sd_event_source_set_description(*timer, description);
        return 0;
}

const char *connector_format_timeout(char *buf, size_t size, usec_t usec) {
        if (usec % USEC_PER_SEC == 0) {
                snprintf(buf, size, "%" PRIu64 "s", (uint64_t) (usec / USEC_PER_SEC));
                return buf;
        }
        return format_duration(buf, size, usec);
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
