/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* connector-check.c: the life cycle of a target check shared by all connectors (see "Checks" in
 * connector.h): stages, the timeout, finishing once. */

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

#include "connector/connector.h"

static const char *const verdict_table[_CHECK_VERDICT_MAX] = {
        [CHECK_PENDING] = "pending",
        [CHECK_OK] = "ok",
        [CHECK_FAILED] = "failed",
        [CHECK_SKIPPED] = "skipped",
};

const char *check_verdict_to_string(CheckVerdict v) {
        return v >= 0 && v < _CHECK_VERDICT_MAX ? verdict_table[v] : NULL;
}

static CheckStage *stage_find(ConnectorCheck *c, const char *name) {
        for (size_t i = 0; i < c->n_stages; i++)
                if (streq(c->stages[i].name, name))
                        return &c->stages[i];
        return NULL;
}

int connector_check_add_stage(ConnectorCheck *c, const char *name) {
        assert(c);
        assert(name);

        if (c->n_stages >= CONNECTOR_CHECK_STAGES_MAX || stage_find(c, name))
                return -EINVAL;
        c->stages[c->n_stages++] = (CheckStage) { .name = name, .verdict = CHECK_PENDING };
        return 0;
}

int connector_check_begin(ConnectorCheck *c, const char *const *stages, size_t n_stages, size_t data_size) {
        int r;

        assert(c);
        assert(!c->data);

        for (size_t i = 0; i < n_stages; i++) {
                r = connector_check_add_stage(c, stages[i]);
                if (r < 0)
                        return r;
        }
        c->data = calloc(1, data_size);
        if (!c->data)
                return -ENOMEM;
        return 0;
}

static void stage_set(CheckStage *st, CheckVerdict verdict, char *reason) {
        free(st->reason);
        st->reason = reason;
        st->verdict = verdict;
}

/* 'fallback': the reason when the formatted one cannot be allocated (NULL: none) */
_printf_(5, 0)
static void stage_settlev(ConnectorCheck *c, const char *name, CheckVerdict verdict, const char *fallback,
                          const char *fmt, va_list ap) {
        CheckStage *st;
        char *reason = NULL;

        assert(c);
        st = stage_find(c, name);
        assert(st);
        if (!st || c->finished)
                return;
        if (vasprintf_safe(&reason, fmt, ap) < 0 && fallback)
                reason = strdup(fallback);
        stage_set(st, verdict, reason);
}

void connector_check_stage(ConnectorCheck *c, const char *name, CheckVerdict verdict, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        stage_settlev(c, name, verdict, NULL, fmt, ap);
        va_end(ap);
}

void connector_check_fail(ConnectorCheck *c, const char *name, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        stage_settlev(c, name, CHECK_FAILED, "out of memory", fmt, ap);
        va_end(ap);
        connector_check_finish(c);   /* last: it may free c */
}

bool connector_check_passed(const ConnectorCheck *c) {
        for (size_t i = 0; i < c->n_stages; i++)
                if (c->stages[i].verdict != CHECK_OK)
                        return false;
        return c->n_stages > 0;
}

static void check_complete(ConnectorCheck *c) {
        c->timer = sd_event_source_disable_unref(c->timer);
        c->finished = true;
        c->done(c, c->userdata);   /* last: it may free c */
}

void connector_check_finish(ConnectorCheck *c) {
        bool failed = false;

        assert(c);
        assert(!c->finished);

        for (size_t i = 0; i < c->n_stages; i++) {
                CheckStage *st = &c->stages[i];
                if (st->verdict == CHECK_FAILED)
                        failed = true;
                else if (st->verdict == CHECK_PENDING)
                        stage_set(st, failed ? CHECK_SKIPPED : CHECK_FAILED,
                                  strdup(failed ? "an earlier stage failed" : "not run"));
        }
        check_complete(c);
}

static int on_check_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        ConnectorCheck *c = userdata;
        char reason[64];

        /* stop the work first: nothing may settle a stage any more */
        if (c->vtable->check_destroy)
                c->vtable->check_destroy(c);
        c->data = NULL;
        snprintf(reason, sizeof reason, "timed out (the check's limit is %llus)",
                 (unsigned long long) (c->timeout_usec / USEC_PER_SEC));
        for (size_t i = 0; i < c->n_stages; i++)
                if (c->stages[i].verdict == CHECK_PENDING)
                        stage_set(&c->stages[i], CHECK_FAILED, strdup(reason));
        check_complete(c);
        return 0;
}

int connector_check_start(const ConnectorVTable *vt, sd_event *event, const Target *t, usec_t timeout_usec,
                          connector_check_done_t done, void *userdata, ConnectorCheck **ret) {
        _cleanup_(connector_check_freep) ConnectorCheck *c = NULL;
        int r;

        assert(vt);
        assert(event);
        assert(t);
        assert(done);
        assert(ret);

        if (!vt->check)
                return -EOPNOTSUPP;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->vtable = vt;
        c->event = sd_event_ref(event);
        c->done = done;
        c->userdata = userdata;
        c->timeout_usec = timeout_usec;

        if (timeout_usec > 0) {
                r = sd_event_add_time_relative(event, &c->timer, CLOCK_MONOTONIC, timeout_usec, USEC_PER_SEC / 10,
                                               on_check_timeout, c);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(c->timer, "connector-check-timeout");
        }
        r = vt->check(c, t);
        if (r < 0) {
                assert(!c->finished);
                return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

ConnectorCheck *connector_check_free(ConnectorCheck *c) {
        if (!c)
                return NULL;
        if (c->vtable->check_destroy)
                c->vtable->check_destroy(c);
        c->timer = sd_event_source_disable_unref(c->timer);
        for (size_t i = 0; i < c->n_stages; i++)
                free(c->stages[i].reason);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}
