/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine-group.c: a step on a target group fans out to the group's members.
 *
 * The members (and the group's max_concurrency and max_errors) are fixed when the session is
 * created; when the step runs, the group must still have exactly those members, or nothing runs.
 * At most max_concurrency hosts run at once. The step's start is durable before any host starts
 * (start log); each host's start is committed before its command starts, and synced soon after:
 * after a restart in the same boot the store knows exactly which hosts ran, and after a reboot
 * every host not recorded as finished counts as possibly started (interrupted). Each host's end
 * is committed with
 * its output before its result record is sent. Once more than max_errors hosts have failed, no
 * further host starts; the step fails when the fan-out is over. It succeeds when at most
 * max_errors hosts failed (the failures stay on record: Step.Results, one result record each).
 * The step's timeout applies to each host's command. Cancel stops the running hosts and skips
 * the rest. A restart follows hosts whose remote runs can be followed (azure) and marks the other
 * running hosts interrupted; the step then ends interrupted, and Retry (behind a fresh approval)
 * runs again only the hosts that did not succeed. */
#include <stdio.h>

#include "engine/engine-internal.h"
#include "journal/events.h"
#include "shared/log.h"

#define GROUP_ERROR_HOSTS_LISTED 5

bool step_has_job(const Step *st) {
        if (step_rt(st)->job)
                return true;
        for (size_t i = 0; i < st->n_hosts; i++)
                if (host_rt(&st->hosts[i])->job)
                        return true;
        return false;
}

/* max_errors of a group: a count, or "N%" of its members (rounded down, as a count of hosts). */
static unsigned group_max_errors(json_t *v, size_t n_members) {
        const char *s = json_string_value(v);

        if (json_is_integer(v))
                return (unsigned) MIN(json_integer_value(v), (json_int_t) UINT32_MAX);
        if (s)
                return (unsigned) ((size_t) strtoul(s, NULL, 10) * n_members / 100);
        return 0;
}

int group_step_init(Engine *e, Step *st, const Target *group, char **ret_error) {
        json_t *members = json_object_get(group->config, "group"), *v;
        json_int_t conc = json_integer_value(json_object_get(group->config, "max_concurrency"));
        size_t i, n = json_array_size(members);

        if (n == 0 || n > STEP_HOSTS_MAX)
                return asprintf_safe(ret_error, "target group '%s' has %zu members (1 to %d allowed)", group->name, n,
                                     STEP_HOSTS_MAX) < 0 ? -ENOMEM : -EINVAL;
        st->hosts = calloc(n, sizeof(HostRun));
        if (!st->hosts)
                return -ENOMEM;
        st->n_hosts = n;
        json_array_foreach(members, i, v) {
                const char *name = json_string_value(v);
                const Target *t = e->targets ? target_catalog_find(e->targets, name) : NULL;
                HostRun *h = &st->hosts[i];

                if (!t || streq(t->connector, "group")) {
                        (void) asprintf_safe(ret_error, "member '%s' of target group '%s' %s", name, group->name,
                                             t ? "is a group itself (groups do not nest)" : "is not configured");
                        return -ENXIO;
                }
                *h = (HostRun) {
                        .step = st,
                        .index = (uint32_t) i,
                        .target = strdup(name),
                        .connector = strdup(t->connector),
                        .state = STEP_PENDING,
                        .exit_status = -1,
                };
                if (!h->target || !h->connector)
                        return -ENOMEM;
        }
        st->max_concurrency = conc > 0 ? (unsigned) MIN(conc, (json_int_t) STEP_HOSTS_MAX) : 1;
        st->max_errors = group_max_errors(json_object_get(group->config, "max_errors"), n);
        return 0;
}

/* Whether the group 'target' still has exactly the step's members. */
static bool group_unchanged(const Step *st, const Target *target) {
        json_t *members = json_object_get(target->config, "group");

        if (json_array_size(members) != st->n_hosts)
                return false;
        for (size_t i = 0; i < st->n_hosts; i++)
                if (!streq_ptr(json_string_value(json_array_get(members, i)), st->hosts[i].target))
                        return false;
        return true;
}

static bool host_failed(const HostRun *h) {
        return h->state == STEP_FAILED || h->state == STEP_TIMED_OUT || h->state == STEP_CANCELLED;
}

typedef struct GroupCounts {
        unsigned pending, running, succeeded, failed, skipped, interrupted;
} GroupCounts;

static GroupCounts group_count(const Step *st) {
        GroupCounts c = {};

        for (size_t i = 0; i < st->n_hosts; i++) {
                const HostRun *h = &st->hosts[i];
                if (h->state == STEP_PENDING)
                        c.pending++;
                else if (h->state == STEP_RUNNING)
                        c.running++;
                else if (h->state == STEP_SUCCEEDED)
                        c.succeeded++;
                else if (h->state == STEP_INTERRUPTED)
                        c.interrupted++;
                else if (h->state == STEP_SKIPPED)
                        c.skipped++;
                else if (host_failed(h))
                        c.failed++;
        }
        return c;
}

/* Hosts not started yet will not be: 'why' says so. */
void group_skip_pending(Step *st, const char *why) {
        for (size_t i = 0; i < st->n_hosts; i++) {
                HostRun *h = &st->hosts[i];
                if (h->state != STEP_PENDING)
                        continue;
                h->state = STEP_SKIPPED;
                (void) engine_set_error(&h->error, "not started: %s", why);
                host_rt(h)->dirty = true;
        }
}

/* The step's end, once no host runs and none will start. */
static void group_finish(Step *st) {
        GroupCounts c = group_count(st);
        StepResult res = { .outcome = OUTCOME_EXITED, .exit_status = -1 };
        _cleanup_free_ char *buf = NULL;
        StepState ns;
        size_t size = 0, listed = 0;
        bool same_exit = true;
        FILE *f;

        st->finished_at = now_usec(CLOCK_REALTIME);
        st->signal = 0;
        st->truncated = false;
        st->exit_status = -1;
        for (size_t i = 0; i < st->n_hosts; i++) {
                const HostRun *h = &st->hosts[i];
                st->truncated = st->truncated || h->truncated;
                if (h->state != STEP_SUCCEEDED && !host_failed(h))
                        continue;
                if (h->exit_status < 0 || (st->exit_status >= 0 && h->exit_status != st->exit_status))
                        same_exit = false;
                st->exit_status = h->exit_status;
        }
        if (!same_exit)
                st->exit_status = -1;
        res.exit_status = st->exit_status;
        if (step_rt(st)->group_started_mono > 0)
                res.duration_usec = now_usec(CLOCK_MONOTONIC) - step_rt(st)->group_started_mono;
        else if (st->finished_at > st->started_at)
                res.duration_usec = st->finished_at - st->started_at;

        f = open_memstream(&buf, &size);
        if (!f) {
                log_oom();
                return;
        }
        if (st->state == STEP_CANCELLED)
                ns = STEP_CANCELLED;
        else if (c.interrupted > 0) {
                ns = STEP_INTERRUPTED;
                fprintf(f, "runbookd stopped while %u of %zu hosts ran (not re-run); %u succeeded, %u failed, %u not started; "
                        "retry runs the hosts that did not succeed", c.interrupted, st->n_hosts, c.succeeded, c.failed,
                        c.pending + c.skipped);
        } else if (c.failed > st->max_errors) {
                ns = STEP_FAILED;
                fprintf(f, "%u of %zu hosts failed, more than max_errors %u", c.failed, st->n_hosts, st->max_errors);
                if (c.skipped > 0)
                        fprintf(f, " (%u not started)", c.skipped);
                for (size_t i = 0; i < st->n_hosts; i++) {
                        const HostRun *h = &st->hosts[i];
                        if (!host_failed(h))
                                continue;
                        if (listed++ == GROUP_ERROR_HOSTS_LISTED) {
                                fputs("; …", f);
                                break;
                        }
                        fprintf(f, "%s %s: %s", listed == 1 ? ":" : ";", h->target, strna(h->error));
                }
        } else
                ns = STEP_SUCCEEDED;
        if (fclose(f) != 0) {
                log_oom();
                return;
        }
        if (ns == STEP_FAILED || ns == STEP_INTERRUPTED) {
                free(st->error);
                st->error = TAKE_PTR(buf);
        } else if (ns == STEP_SUCCEEDED)
                st->error = mfree_str(st->error);
        if (ns != STEP_SUCCEEDED)
                res.outcome = ns == STEP_CANCELLED ? OUTCOME_CANCELLED : OUTCOME_ERROR;
        step_rt(st)->group_started_mono = 0;
        step_settle(st, ns, &res, NULL);
}

static void host_complete(HostRun *h, const StepResult *res, ConnectorJob *job);

static void on_host_done(ConnectorJob *job, const StepResult *res, void *userdata) {
        host_complete(userdata, res, job);
}

static int on_host_handle(ConnectorJob *job, json_t *handle, void *userdata) {
        HostRun *h = userdata;
        Session *s = h->step->session;
        int r;

        json_decref(h->remote);
        h->remote = json_incref(handle);
        host_rt(h)->dirty = true;
        r = engine_persist_session_durably(s);
        if (r < 0)
                return log_error_errno(r, "Session %u step %u host %s: cannot record the remote run durably, not creating it: %m",
                                       s->id, h->step->index, h->target);
        return 0;
}

static StepRequest host_request(HostRun *h, const Target *target) {
        StepRequest req = step_request(h->step, target);

        req.commit_handle = on_host_handle;
        return req;
}

/* The host could not be started (or followed): it fails without running; the caller commits. */
static void host_fail_now(HostRun *h, int error, const char *why) {
        StepResult res = { .outcome = OUTCOME_ERROR, .exit_status = -1, .error = error, .message = why };

        h->state = STEP_FAILED;
        h->finished_at = now_usec(CLOCK_REALTIME);
        h->exit_status = -1;
        h->duration_usec = 0;
        (void) engine_set_error(&h->error, "%s", why);
        host_rt(h)->dirty = true;
        event_host_result(h, false, &res);
}

/* The step's secrets for a host about to start. Once after each Reload, first: a caller's
 * credential that the Reload made runbookd's own (a target's, a sink's) goes to no further host. */
static int host_secrets(Step *st, Engine *e, char **ret_why) {
        int r;

        if (step_rt(st)->secrets_config_gen != e->config_gen) {
                r = session_check_secrets_own(st->session, ret_why);
                if (r < 0)
                        return r;
                step_rt(st)->secrets_config_gen = e->config_gen;
        }
        return step_ensure_secrets(st, ret_why);
}

/* Starts host h's command; on failure the host has failed (not committed yet). */
static void host_start(HostRun *h) {
        Step *st = h->step;
        Engine *e = session_engine(st->session);
        const Target *target = e->targets ? target_catalog_find(e->targets, h->target) : NULL;
        const ConnectorVTable *vt = connector_find(h->connector);
        _cleanup_free_ char *why = NULL;
        int r;

        if (!target) {
                (void) asprintf_safe(&why, "target '%s' is not configured (any more); not run", h->target);
                host_fail_now(h, -ENXIO, why);
        } else if (!streq(target->connector, h->connector)) {
                (void) asprintf_safe(&why, "target '%s' now uses connector '%s', not '%s' as when the session was created; not run",
                                     h->target, target->connector, h->connector);
                host_fail_now(h, -ENXIO, why);
        } else if (!vt) {
                (void) asprintf_safe(&why, "connector '%s' is not available in this runbookd; not run", h->connector);
                host_fail_now(h, -EOPNOTSUPP, why);
        } else if ((r = host_secrets(st, e, &why)) < 0) {
                /* after a restart: a sealed value may not have survived a reboot */
                if (!why)
                        (void) asprintf_safe(&why, "the secret parameters' values cannot be had: %s", strerror(-r));
                host_fail_now(h, r, why);
        } else {
                StepRequest req = host_request(h, target);

                r = connector_start(vt, e->event, &req, on_host_done, h, &host_rt(h)->job);
                if (r >= 0) {
                        event_host_executing(h, NULL);
                        return;
                }
                (void) asprintf_safe(&why, "could not start the command: %s", strerror(-r));
                host_fail_now(h, r, why);
        }
}

/* Starts hosts while the limits allow, or ends the step when nothing runs and nothing will. */
/* A host that just ended: its result and output go into the next commit (the one that starts the
 * next host, when there is one), and its result record right after that commit. */
typedef struct HostDone {
        HostRun *host;            /* NULL: none, or already committed */
        const StepResult *res;
        uint8_t *data[2];
        size_t size[2];
} HostDone;

static void host_done_clear(HostDone *d) {
        for (unsigned i = 0; i < 2; i++)
                d->data[i] = mfree(d->data[i]);
        d->host = NULL;
}

/* Commits what changed, with the ended host's output; then sends its result record. */
static int group_persist(Step *st, PersistCtx *pc, HostDone *done) {
        Session *s = st->session;
        int r;

        if (done && done->host) {
                pc->host_output = done->host;
                for (unsigned i = 0; i < 2; i++) {
                        pc->host_data[i] = done->data[i];
                        pc->host_size[i] = done->size[i];
                }
        }
        r = engine_persist(session_engine(s), pc);
        if (r < 0 && done && done->host)
                log_error("Session %u step %u host %s: cannot record the host's result: it stays in memory only",
                          s->id, st->index, done->host->target);
        if (done && done->host) {
                event_host_result(done->host, done->host->state == STEP_SUCCEEDED, done->res);
                host_done_clear(done);
        }
        return r;
}

static void group_pump(Step *st, HostDone *done) {
        Session *s = st->session;
        Engine *e = session_engine(s);
        bool changed = done && done->host;

        for (;;) {
                GroupCounts c = group_count(st);
                size_t want, started = 0;
                int r;

                if (c.failed > st->max_errors && c.pending > 0) {
                        _cleanup_free_ char *why = NULL;
                        (void) asprintf_safe(&why, "%u hosts failed, more than max_errors %u", c.failed, st->max_errors);
                        group_skip_pending(st, strna(why));
                        changed = true;
                        continue;
                }
                /* nothing new starts once the step is over for the session, or after a restart
                 * lost hosts (the step ends interrupted: Retry decides about the rest) */
                if (c.pending == 0 || st->state != STEP_RUNNING || session_state_is_final(s->state) ||
                    c.interrupted > 0 || c.running >= st->max_concurrency) {
                        if (changed) {
                                PersistCtx pc = { .session = s };
                                (void) group_persist(st, &pc, done);
                        }
                        if (c.running == 0 && !step_has_job(st))
                                group_finish(st);
                        else if (changed)
                                engine_hooks_changed(e, s, st);
                        return;
                }

                /* the step's durable start (engine-start.c) covers its hosts: after a
                 * restart in another boot, every host not recorded as finished counts as possibly
                 * started (group_load()); within one boot the store is exact (page cache) */
                want = MIN((size_t) c.pending, (size_t) (st->max_concurrency - c.running));
                for (size_t i = 0; i < st->n_hosts && started < want; i++) {
                        HostRun *h = &st->hosts[i];
                        if (h->state != STEP_PENDING)
                                continue;
                        h->state = STEP_RUNNING;
                        h->attempt = st->attempt;
                        h->started_at = now_usec(CLOCK_REALTIME);
                        h->finished_at = 0;
                        h->duration_usec = 0;
                        h->exit_status = -1;
                        h->signal = 0;
                        h->truncated = false;
                        h->error = mfree_str(h->error);
                        json_decref(h->remote);
                        h->remote = NULL;
                        host_rt(h)->dirty = true;
                        started++;
                }
                PersistCtx pc = { .session = s };
                r = group_persist(st, &pc, done);
                engine_sync_soon(e);
                for (size_t i = 0; i < st->n_hosts; i++) {
                        HostRun *h = &st->hosts[i];
                        if (h->state != STEP_RUNNING || host_rt(h)->job)
                                continue;
                        if (r < 0)
                                host_fail_now(h, r, "runbookd could not record the host as running in its state store; not run");
                        else
                                host_start(h);
                }
                changed = true;
                engine_hooks_changed(e, s, st);
        }
}

static void host_complete(HostRun *h, const StepResult *res, ConnectorJob *job) {
        Step *st = h->step;
        Session *s = st->session;
        Engine *e = session_engine(s);
        HostDone done = { .host = h, .res = res };
        _cleanup_free_ char *error = NULL;

        h->finished_at = now_usec(CLOCK_REALTIME);
        h->duration_usec = res->duration_usec;
        h->exit_status = res->outcome == OUTCOME_EXITED ? res->exit_status : -1;
        h->signal = res->signal;
        h->truncated = job && (job->output[0].truncated || job->output[1].truncated);
        h->state = step_outcome_state(res, st->expect_exit, &error);
        free(h->error);
        h->error = TAKE_PTR(error);
        host_rt(h)->dirty = true;
        host_rt(h)->job = NULL;

        for (unsigned i = 0; job && i < 2; i++)
                if (engine_job_output(job, i, step_rt(st)->output_unmaskable, &done.data[i], &done.size[i]) < 0)
                        log_oom();
        engine_hooks_changed(e, s, st);
        /* its end and the next host's start share one commit */
        group_pump(st, &done);
        host_done_clear(&done);
        if (job)
                engine_job_bury(e, job); /* after the result record: 'res' points into it */
}

void group_run(Step *st, const Target *target) {
        Session *s = st->session;
        _cleanup_free_ char *detail = NULL;
        StepResult res = { .outcome = OUTCOME_ERROR, .exit_status = -1, .error = -ENXIO };

        if (!group_unchanged(st, target)) {
                (void) engine_set_error(&st->error, "the members of target group '%s' changed since session %u was created; not run "
                                 "(start a new session to run on the group as it is now)", st->target, s->id);
                st->finished_at = now_usec(CLOCK_REALTIME);
                step_rt(st)->ran = false;
                step_settle(st, STEP_FAILED, &res, NULL);
                return;
        }
        /* a first run starts every host; a retry, those that did not succeed */
        for (size_t i = 0; i < st->n_hosts; i++) {
                HostRun *h = &st->hosts[i];
                if (h->state == STEP_SUCCEEDED || h->state == STEP_PENDING)
                        continue;
                h->state = STEP_PENDING;
                h->error = mfree_str(h->error);
                host_rt(h)->dirty = true;
        }
        step_rt(st)->group_started_mono = now_usec(CLOCK_MONOTONIC);
        (void) asprintf_safe(&detail, "%zu hosts, at most %u at once, up to %u failures tolerated", st->n_hosts,
                             st->max_concurrency, st->max_errors);
        event_step_executing(st, detail);
        group_pump(st, NULL);
}

/* After a restart (engine_load): hosts that were running and cannot be followed are interrupted,
 * and after a reboot those not started too (their start may be lost); returns how many can be
 * followed (they stay running until group_resume()). */
unsigned group_load(Step *st, bool same_boot) {
        Engine *e = session_engine(st->session);
        unsigned n = 0;

        for (size_t i = 0; i < st->n_hosts; i++) {
                HostRun *h = &st->hosts[i];
                const ConnectorVTable *vt = connector_find(h->connector);
                const Target *t = e->targets ? target_catalog_find(e->targets, h->target) : NULL;

                if (h->state == STEP_PENDING && !same_boot) {
                        /* the machine restarted: the commit that had it running may be lost */
                        h->state = STEP_INTERRUPTED;
                        h->finished_at = now_usec(CLOCK_REALTIME);
                        (void) engine_set_error(&h->error, "the machine restarted while the step ran, before this host's start "
                                         "or end was certainly on disk; it may have started; not run again by itself");
                        host_rt(h)->dirty = true;
                        event_host_interrupted(h);
                        continue;
                }
                if (h->state != STEP_RUNNING)
                        continue;
                _cleanup_free_ char *gone = NULL;
                int q = h->remote && vt && vt->resume && t && streq(t->connector, h->connector) ?
                        connector_resumable(vt, h->remote, &gone) : -EOPNOTSUPP;
                if (q > 0) {
                        n++;
                        continue;
                }
                h->state = STEP_INTERRUPTED;
                h->finished_at = now_usec(CLOCK_REALTIME);
                if (q == 0)
                        (void) engine_set_error(&h->error, "runbookd stopped while it ran; %s; not re-run",
                                         strna(gone));
                else if (q != -EOPNOTSUPP)
                        (void) engine_set_error(&h->error, "runbookd stopped while it ran; whether its run %s goes on "
                                         "cannot be told (%s); not re-run", remote_run_name(h->remote), strerror(-q));
                else if (h->remote)
                        (void) engine_set_error(&h->error, "runbookd stopped while it ran; its remote run %s cannot be followed "
                                         "(target '%s' is not configured for connector '%s' any more); not re-run",
                                         remote_run_name(h->remote), h->target, h->connector);
                else if (connector_keeps_handles(vt))
                        (void) engine_set_error(&h->error, "runbookd stopped before its remote run was created; not re-run");
                else
                        (void) engine_set_error(&h->error, "runbookd stopped while it ran; not re-run");
                host_rt(h)->dirty = true;
                event_host_interrupted(h);
        }
        return n;
}

/* From the loop after engine_load(): follows the hosts' remote runs, then goes on. */
void group_resume(Step *st) {
        Engine *e = session_engine(st->session);

        for (size_t i = 0; i < st->n_hosts; i++) {
                HostRun *h = &st->hosts[i];
                const Target *t = e->targets ? target_catalog_find(e->targets, h->target) : NULL;
                const ConnectorVTable *vt = connector_find(h->connector);
                _cleanup_free_ char *why = NULL, *detail = NULL;
                int r = -ENXIO;

                if (h->state != STEP_RUNNING || host_rt(h)->job)
                        continue;
                if (t && vt && h->remote) {
                        _cleanup_free_ char *no = NULL;
                        /* for the masks of the output still to come */
                        if (step_ensure_secrets(st, &no) < 0) {
                                log_warning("Session %u step %u: %s; its output cannot be masked and is not kept.",
                                            st->session->id, st->index, strna(no));
                                step_rt(st)->output_unmaskable = true;
                        }
                        StepRequest req = host_request(h, t);
                        r = connector_resume(vt, e->event, &req, h->remote, on_host_done, h, &host_rt(h)->job);
                        if (r >= 0) {
                                (void) asprintf_safe(&detail, "reconciling after a restart: following remote run %s",
                                                     remote_run_name(h->remote));
                                event_host_executing(h, detail);
                                continue;
                        }
                }
                (void) asprintf_safe(&why, "runbookd could not follow the remote run after a restart (%s); it may or may "
                                     "not have run; not re-run", strerror(-r));
                host_fail_now(h, r, strna(why));
        }
        (void) engine_persist_session(st->session);
        group_pump(st, NULL);
}

/* Stops the running hosts (their ends follow through host_complete()). */
void group_cancel_jobs(Step *st) {
        for (size_t i = 0; i < st->n_hosts; i++)
                if (host_rt(&st->hosts[i])->job)
                        (void) connector_job_cancel(host_rt(&st->hosts[i])->job);
}
