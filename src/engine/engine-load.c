/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine-load.c: start-up. The active sessions come back from the store; what was running is
 * reconciled (interrupted, never re-run blindly; a remote run is followed to its end). */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>

#include "config/template.h"
#include "engine/engine-internal.h"
#include "journal/events.h"
#include "shared/log.h"
#include "store/store-records.h"

/* Follows a remote run that was under way when runbookd stopped (its handle is in the record). */
static void step_resume(Step *st) {
        Session *s = st->session;
        Engine *e = session_engine(s);
        const Target *target = e->targets ? target_catalog_find(e->targets, st->target) : NULL;
        const ConnectorVTable *vt = connector_find(st->connector);
        StepResult res = { .outcome = OUTCOME_ERROR, .exit_status = -1 };
        _cleanup_free_ char *why = NULL, *detail = NULL;
        int r = -ENXIO;

        if (target && vt && streq(target->connector, st->connector)) {
                _cleanup_free_ char *no = NULL;

                /* for the masks of the output still to come (the command has its values) */
                step_drop_secrets(st);
                step_rt(st)->output_unmaskable = false;
                if (session_resolve_secrets(s, &step_rt(st)->secrets, &step_rt(st)->n_secrets, &no) < 0) {
                        /* fail closed: nothing of it is kept rather than a secret in clear */
                        log_warning("Session %u step %u: %s; its output cannot be masked and is not kept.", s->id,
                                    st->index, strna(no));
                        step_rt(st)->output_unmaskable = true;
                }
                StepRequest req = step_request(st, target);

                r = connector_resume(vt, e->event, &req, st->remote, on_step_done, st, &step_rt(st)->job);
                if (r >= 0) {
                        step_rt(st)->ran = true;
                        (void) asprintf_safe(&detail, "reconciling after a restart: following remote run %s of attempt %u",
                                             step_remote_name(st), st->attempt);
                        event_step_executing(st, detail);
                        return;
                }
        }
        res.error = r;
        (void) asprintf_safe(&why, "runbookd could not follow the remote run %s after a restart (%s); it may or may not "
                             "have run; not re-run", step_remote_name(st), strerror(-r));
        res.message = why;
        step_complete(st, &res, NULL);
}

static int on_resume(sd_event_source *source, void *userdata) {
        Engine *e = userdata;
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0;

        e->resumer = sd_event_source_disable_unref(e->resumer);
        /* step_resume() may finish sessions (and so change the active set): note them first */
        ids = calloc(e->n_active + 1, sizeof(uint32_t));
        if (!ids)
                return log_oom();
        for (size_t i = 0; i < e->n_active; i++)
                ids[n++] = e->active[i]->id;
        for (size_t i = 0; i < n; i++) {
                Session *s = engine_active_find(e, ids[i]);
                Step *st = s ? session_current(s) : NULL;
                if (!st || st->state != STEP_RUNNING || step_has_job(st) || s->state != SESSION_RUNNING)
                        continue;
                if (st->n_hosts > 0) {
                        step_rt(st)->ran = true;
                        group_resume(st);
                } else if (st->remote)
                        step_resume(st);
        }
        return 0;
}

int engine_load(Engine *e) {
        _cleanup_free_ uint32_t *ids = NULL;
        uint64_t start_seq = 0;
        size_t n = 0, n_resume = 0;
        StoreTxn t;
        int r;

        r = store_read_begin(e->store, &t);
        if (r < 0)
                return r;
        e->next_id = (uint32_t) store_meta_get_u64(&t, "next_session_id", 1);
        start_seq = store_meta_get_u64(&t, "start_seq", 0);
        r = store_list_active(&t, &ids, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                Session *s;
                int q = store_load_session(&t, ids[i], &s);
                if (q < 0) {
                        log_warning_errno(q, "Failed to load active session %u, ignoring: %m", ids[i]);
                        continue;
                }
                r = session_runtime_attach(e, s);
                if (r >= 0 && s->id >= e->next_id)
                        e->next_id = s->id + 1;
                if (r >= 0)
                        r = engine_active_add(e, s);
                if (r >= 0)
                        e->lock_ticket = MAX(e->lock_ticket, s->lock_ticket);
                if (r < 0)
                        engine_session_free(s);
        }
        store_read_end(&t);
        if (r < 0)
                return r;

        engine_replay_starts(e, start_seq);
        for (size_t i = 0; i < e->n_active; i++) {
                Session *s = e->active[i];
                bool seen_running = false;
                for (size_t j = 0; j < s->n_steps; j++) {
                        Step *st = &s->steps[j];
                        const Target *target;
                        const ConnectorVTable *vt;
                        if (st->state != STEP_RUNNING)
                                continue;
                        if (seen_running) {
                                /* a later step that only a record written ahead names (after a
                                 * reboot, engine-start.c): it may have started once the one before
                                 * it ended; the session stays on its first running step */
                                vt = connector_find(st->connector);
                                if (st->n_hosts > 0)
                                        (void) group_load(st, false);
                                st->state = STEP_INTERRUPTED;
                                st->finished_at = now_usec(CLOCK_REALTIME);
                                if (st->n_hosts == 0 && connector_keeps_handles(vt))
                                        /* its remote run is named durably before it is created */
                                        (void) engine_set_error(&st->error, "the machine restarted while an earlier step ran; "
                                                         "this step's remote run was never created; not run again by itself");
                                else
                                        (void) engine_set_error(&st->error, "the machine restarted while an earlier step ran; this "
                                                         "step may have started after it (attempt %u); not run again by "
                                                         "itself", st->attempt);
                                step_rt(st)->dirty = true;
                                session_rt(s)->dirty = true;
                                event_step_interrupted(st);
                                continue;
                        }
                        seen_running = true;
                        if (st->n_hosts > 0) {
                                /* hosts that can be followed are; the others are interrupted; the
                                 * fan-out goes on only if none was (engine-group.c) */
                                unsigned followed = group_load(st, store_same_boot(e->store));
                                log_info("Session %u step %zu (a group step) was running: following %u of its hosts.",
                                         s->id, j, followed);
                                s->state = SESSION_RUNNING;
                                s->current_step = (int) j;
                                session_rt(s)->dirty = true;
                                n_resume++;
                                continue;
                        }
                        target = e->targets ? target_catalog_find(e->targets, st->target) : NULL;
                        vt = connector_find(st->connector);
                        _cleanup_free_ char *gone = NULL;
                        int q = st->remote && vt && vt->resume && target && streq(target->connector, st->connector) ?
                                connector_resumable(vt, st->remote, &gone) : -EOPNOTSUPP;
                        if (q > 0) {
                                /* its remote run was named durably before it was created: find it
                                 * and follow it to its end (from the loop, after loading) */
                                log_info("Session %u step %zu attempt %u was running remotely (%s): reconciling it.",
                                         s->id, j, st->attempt, step_remote_name(st));
                                s->state = SESSION_RUNNING;
                                s->current_step = (int) j;
                                n_resume++;
                                continue;
                        }
                        /* it may have had effects: never re-run by itself */
                        st->state = STEP_INTERRUPTED;
                        st->finished_at = now_usec(CLOCK_REALTIME);
                        if (q == 0)
                                (void) engine_set_error(&st->error, "runbookd stopped while attempt %u was running; %s; not re-run",
                                                 st->attempt, strna(gone));
                        else if (q != -EOPNOTSUPP)
                                (void) engine_set_error(&st->error, "runbookd stopped while attempt %u was running; whether its "
                                                 "run %s goes on cannot be told (%s); not re-run", st->attempt,
                                                 step_remote_name(st), strerror(-q));
                        else if (st->remote)
                                (void) engine_set_error(&st->error, "runbookd stopped while attempt %u was running; its remote run "
                                                 "%s cannot be followed (target '%s' is not configured for connector '%s' "
                                                 "any more); not re-run", st->attempt, step_remote_name(st), st->target,
                                                 st->connector);
                        else if (connector_keeps_handles(vt))
                                (void) engine_set_error(&st->error, "runbookd stopped before attempt %u's remote run was created: "
                                                 "the remote run was never created; not re-run", st->attempt);
                        else if (step_rt(st)->start_replayed)
                                (void) engine_set_error(&st->error, "the machine restarted while attempt %u was starting or "
                                                 "running (the store lost its last writes); not re-run", st->attempt);
                        else
                                (void) engine_set_error(&st->error, "runbookd stopped while attempt %u was running; not re-run",
                                                 st->attempt);
                        step_rt(st)->dirty = true;
                        s->state = SESSION_INTERRUPTED;
                        s->current_step = (int) j;
                        (void) engine_set_error(&s->error, "%s %zu (%s) was interrupted; retry (with a fresh approval) or cancel",
                                         step_phase_to_string(st->phase), j, st->name);
                        session_rt(s)->dirty = true;
                        event_step_interrupted(st);
                        session_notify(s, NOTIFY_STEP_FAILED, st, NULL, NULL);
                }
                if (session_rt(s)->dirty)
                        (void) engine_persist_session(s);
        }
        if (n_resume > 0) {
                r = sd_event_add_defer(e->event, &e->resumer, on_resume, e);
                if (r < 0)
                        return log_error_errno(r, "Failed to arm resuming remote runs: %m");
                (void) sd_event_source_set_description(e->resumer, "engine-resume");
        }
        r = store_sync(e->store);
        if (r < 0)
                return r;

        /* the deadlines of steps waiting for approval (one passed while runbookd was down: at once) */
        for (size_t i = 0; i < e->n_active; i++)
                if (session_current(e->active[i]))
                        (void) step_deadline_arm(session_current(e->active[i]));

        /* sessions waiting for locks: those that can take them now do (from the loop); one
         * recorded as holding them but still waiting (stopped between the two) goes on */
        for (size_t i = 0; i < e->n_active; i++)
                if (e->active[i]->state == SESSION_WAITING_LOCK && e->active[i]->lock_state == SESSION_LOCK_HELD)
                        session_rt(e->active[i])->lock_granted = true;
        engine_locks_kick(e);

        /* sessions that were between two steps go on */
        for (size_t i = 0; i < e->n_active;) {
                Session *s = e->active[i];
                size_t before = e->n_active;
                if (s->state == SESSION_CREATED || s->state == SESSION_RUNNING || s->state == SESSION_WAITING_WINDOW ||
                    (session_current(s) && session_current(s)->state == STEP_APPROVED))
                        session_advance(s, false);
                if (e->n_active == before)
                        i++;
        }
        /* what the retention policy no longer keeps goes, from the loop, in small batches */
        e->loaded = true;
        engine_retention_kick(e);
        return 0;
}

/* The output of a step (h NULL) or of one host of a group step: live from its job while it runs,
 * else as stored. */
static int get_output(Engine *e, Step *st, const HostRun *h, uint8_t **ret_out, size_t *ret_out_n,
                      uint8_t **ret_err, size_t *ret_err_n, bool *ret_truncated) {
        ConnectorJob *job = h ? host_rt(h)->job : step_rt(st)->job;
        uint8_t *data[2] = {};
        size_t n[2] = {};
        StoreTxn t;
        int r = 0;

        if (job) {
                for (unsigned i = 0; r >= 0 && i < 2; i++)
                        r = engine_job_output(job, i, step_rt(st)->output_unmaskable, &data[i], &n[i]);
                *ret_truncated = job->output[0].truncated || job->output[1].truncated;
        } else {
                r = store_read_begin(e->store, &t);
                if (r < 0)
                        return r;
                for (uint8_t i = 0; r >= 0 && i < 2; i++)
                        r = h ? store_get_host_output(&t, st->session->id, st->index, h->index, i, &data[i], &n[i]) :
                                store_get_output(&t, st->session->id, st->index, i, &data[i], &n[i]);
                store_read_end(&t);
                *ret_truncated = h ? h->truncated : st->truncated;
        }
        if (r < 0) {
                free(data[0]);
                free(data[1]);
                return r;
        }
        *ret_out = data[0];
        *ret_out_n = n[0];
        *ret_err = data[1];
        *ret_err_n = n[1];
        return 0;
}

int engine_get_output(Engine *e, Step *st, uint8_t **ret_out, size_t *ret_out_n, uint8_t **ret_err,
                      size_t *ret_err_n, bool *ret_truncated) {
        return get_output(e, st, NULL, ret_out, ret_out_n, ret_err, ret_err_n, ret_truncated);
}

int engine_get_host_output(Engine *e, Step *st, const char *target, uint8_t **ret_out, size_t *ret_out_n,
                           uint8_t **ret_err, size_t *ret_err_n, bool *ret_truncated) {
        for (size_t i = 0; i < st->n_hosts; i++)
                if (streq(st->hosts[i].target, target))
                        return get_output(e, st, &st->hosts[i], ret_out, ret_out_n, ret_err, ret_err_n, ret_truncated);
        return -ENOENT;
}
