/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine-run.c: the transitions of sessions and steps. Each one changes the model, writes it to
 * the store, and only then acts (starts or stops a command) or reports (journal, hooks). */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>


#include "engine/engine-internal.h"
#include "config/template.h"
#include "journal/events.h"
#include "shared/log.h"
#include "store/store-records.h"


Step *session_current(Session *s) {
        if (s->current_step < 0 || (size_t) s->current_step >= s->n_steps)
                return NULL;
        return &s->steps[s->current_step];
}

bool session_has_job(Session *s) {
        for (size_t i = 0; i < s->n_steps; i++)
                if (step_has_job(&s->steps[i]))
                        return true;
        return false;
}

/* Ends the session in 'state': the steps that have not run are skipped. */
void session_finish(Session *s, SessionState state, const char *error) {
        Engine *e = session_engine(s);

        session_drop_start_ahead(s);
        session_lock_release(s);
        for (size_t i = 0; i < s->n_steps; i++) {
                Step *st = &s->steps[i];
                if (st->state == STEP_PENDING || st->state == STEP_WAITING_APPROVAL || st->state == STEP_APPROVED) {
                        st->state = STEP_SKIPPED;
                        step_rt(st)->dirty = true;
                        engine_hooks_changed(e, s, st); /* announced after the commit, by the bus layer */
                }
        }
        s->state = state;
        free(s->error);
        s->error = error ? strdup(error) : NULL;
        s->finished_at = now_usec(CLOCK_REALTIME);
        if (state == SESSION_SUCCEEDED)
                s->current_step = -1;
        else if (session_state_is_final(s->outcome))
                s->current_step = s->outcome_step;  /* where its flow ended, not its last finally step */
        session_rt(s)->dirty = true;
        /* the end is an audit record too; the chain's head after it goes into the journal's end
         * record, so that the journal and the store vouch for each other */
        Identity self = { .uid = geteuid(), .user = (char *) "runbookd", .login_uid = UID_INVALID };
        PersistCtx c = { .session = s, .audit = engine_audit_event("end", s, NULL, &self, NULL) };
        if (c.audit)
                json_object_set_new(c.audit, "state", json_string(session_state_to_string(state)));
        session_notify(s, NOTIFY_SESSION_FINISHED, NULL, NULL, NULL);
        if (s->review == REVIEW_REQUIRED)
                session_notify(s, NOTIFY_REVIEW_NEEDED, NULL, NULL, NULL);
        char head[AUDIT_HASH_HEX] = "";
        uint64_t head_seq = 0;
        if (engine_persist(e, &c) >= 0) {
                StoreTxn t;
                if (store_read_begin(e->store, &t) >= 0) {
                        (void) store_audit_head(&t, &head_seq, head);
                        store_read_end(&t);
                }
        }
        event_session_finished(s, head_seq, head);
        engine_hooks_changed(e, s, NULL);
        if (!session_has_job(s))
                session_deactivate(s);
}

/* A target's document as a digest covers it: without "lock" and "windows", which say when a step
 * may run, not what runs or where (changing them leaves approvals standing). */
static char *target_document(const Target *t) {
        json_t *c = t->config;
        _cleanup_(json_decrefp) json_t *copy = NULL;

        if (json_object_get(c, "lock") || json_object_get(c, "windows")) {
                copy = json_copy(c);
                if (!copy)
                        return NULL;
                (void) json_object_del(copy, "lock");
                (void) json_object_del(copy, "windows");
                c = copy;
        }
        return json_dumps(c, JSON_SORT_KEYS | JSON_COMPACT);
}

/* The definition a step's digest covers: the target's document, and for a group its members'
 * ("" for the built-in local target). */
static int target_definition(Engine *e, const Target *t, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;
        json_t *members, *m;
        size_t i;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        if (t->config) {
                char *d = target_document(t);
                if (d) {
                        fputs(d, f);
                        free(d);
                } else
                        fputs("?", f);
        }
        members = t->config ? json_object_get(t->config, "group") : NULL;
        json_array_foreach(members, i, m) {
                const Target *mt = e->targets && json_is_string(m) ?
                        target_catalog_find(e->targets, json_string_value(m)) : NULL;
                char *d = mt && mt->config ? target_document(mt) : NULL;

                fprintf(f, "\n%s=%s", json_is_string(m) ? json_string_value(m) : "?", d ?: (mt ? "" : "(missing)"));
                free(d);
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

int step_digest_now(Engine *e, const Step *st, const Target *t, char **ret) {
        _cleanup_free_ char *def = NULL, *secrets = NULL, *command = NULL;
        int r;

        r = target_definition(e, t, &def);
        if (r < 0)
                return r;
        /* and where each secret's value comes from (engine-secret.c): never the value */
        r = session_secrets_digest_text(st->session, &secrets);
        if (r < 0)
                return r;
        if (secrets && asprintf_safe(&command, "%s%s", st->command, secrets) < 0)
                return -ENOMEM;
        return step_compute_digest(st->connector, st->target, def, command ?: st->command, ret);
}

/* Whether its approvals cover this attempt: those given for it, or for the attempt whose automatic
 * retries ("retries") this one is. */
static bool step_approvals_valid(const Step *st) {
        unsigned decided = step_decided_attempt(st);

        if (!st->requires_approval && decided <= 1)
                return true;
        /* break-glass stands for the approvals it still needed, bound to what it was shown */
        const Approval *bg = step_break_glass(st, decided);
        if (bg)
                return streq_ptr(bg->digest, st->digest);
        for (size_t i = 0; i < st->n_approvals; i++) {
                const Approval *a = &st->approvals[i];
                if (!a->approve || a->lapsed || a->attempt != decided)
                        continue;
                if (!streq_ptr(a->digest, st->digest))
                        return false;
        }
        return step_count_approvals_for(st, decided) >= step_approvals_required(st);
}


void on_step_done(ConnectorJob *job, const StepResult *res, void *userdata) {
        step_complete(userdata, res, job);
}

/* A connector's remote handle: written into the step record ("remote") and synced before the
 * connector creates the remote run, so that a restart finds the run instead of losing or
 * repeating it. */
static int on_step_handle(ConnectorJob *job, json_t *handle, void *userdata) {
        Step *st = userdata;
        Session *s = st->session;
        int r;

        json_decref(st->remote);
        st->remote = json_incref(handle);
        step_rt(st)->dirty = true;
        r = engine_persist_session_durably(s);
        if (r < 0) {
                log_error_errno(r, "Session %u step %u: cannot record the remote run durably, not creating it: %m",
                                s->id, st->index);
                return r;
        }
        return 0;
}

const char *remote_run_name(const json_t *remote) {
        return json_string_value(json_object_get(remote, "name")) ?: "(unnamed)";
}

const char *step_remote_name(const Step *st) {
        return remote_run_name(st->remote);
}

/* What a connector is given to run (or follow) the step's command on 'target'. */
StepRequest step_request(Step *st, const Target *target) {
        return (StepRequest) {
                .session_id = st->session->id,
                .step_index = st->index,
                .command = st->command,
                .target = target,
                .timeout_usec = st->timeout_usec,
                .output_cap = session_engine(st->session)->config.output_cap,
                .attempt = st->attempt,
                .commit_handle = on_step_handle,
                .secrets = step_rt(st)->secrets,
                .n_secrets = step_rt(st)->n_secrets,
        };
}

/* The records of a step that has started (or failed to): the result record of the step before it,
 * whose commit the start shared, then its own "starting" record. Sent after the command was
 * spawned, so that the journal's work overlaps the command instead of delaying it. */
static void step_announce(Step *st) {
        session_flush_pending(st->session);
        event_step_starting(st);
}

/* Refused just before it would start: never recorded as running nor announced as starting; it
 * fails with the reason (one result record), as an attempt whose command did not run. */
static void step_refuse(Step *st, const StepResult *res) {
        Session *s = st->session;

        st->retry_at = 0;
        step_rt(st)->ran = false;
        st->started_at = 0;
        st->finished_at = 0;
        st->exit_status = -1;
        st->signal = 0;
        st->truncated = false;
        st->error = mfree_str(st->error);
        step_rt(st)->dirty = true;
        s->state = SESSION_RUNNING;
        s->current_step = (int) st->index;
        session_rt(s)->dirty = true;
        log_warning("Session %u %s %u (%s) refused: %s", s->id, step_phase_to_string(st->phase), st->index, st->name,
                    strna(res->message));
        step_complete(st, res, NULL);
}

/* 0 if the step may start now; else a negative errno, with res->error and res->message (in *why,
 * when made) saying why: what its approvals cover is computed again from what would run, and its
 * target and connector must be the ones approved. */
static int step_check_start(Step *st, const Target *target, const ConnectorVTable *vt, StepResult *res, char **why) {
        Engine *e = session_engine(st->session);
        _cleanup_free_ char *digest_now = NULL;
        bool approved = st->requires_approval || step_decided_attempt(st) > 1;
        bool group = st->n_hosts > 0;

        if (target && (approved || st->attempt > 1) && step_digest_now(e, st, target, &digest_now) < 0)
                digest_now = NULL;
        if (!step_approvals_valid(st)) {
                res->error = -EPERM;
                res->message = "the step's approvals do not match what it would run (digest mismatch); not run";
        } else if (target && (approved || st->attempt > 1) && !streq_ptr(digest_now, st->digest)) {
                res->error = -EPERM;
                if (group)
                        (void) asprintf_safe(why, "the members of target group '%s' or their definitions changed since "
                                             "the step was approved (now digest %.12s…, not %.12s… as approved); not run",
                                             st->target, strna(digest_now), strna(st->digest));
                else
                        (void) asprintf_safe(why, "target '%s' changed since the step was approved (its definition, now "
                                             "digest %.12s…, is not what the approval covers, %.12s…); not run",
                                             st->target, strna(digest_now), strna(st->digest));
        } else if (!target) {
                res->error = -ENXIO;
                (void) asprintf_safe(why, "target '%s' is not configured (any more); not run", st->target);
        } else if (!streq(target->connector, st->connector)) {
                res->error = -ENXIO;
                (void) asprintf_safe(why, "target '%s' now uses connector '%s', not '%s' as approved; not run",
                                     st->target, target->connector, st->connector);
        } else if (!group && !vt) {
                res->error = -EOPNOTSUPP;
                (void) asprintf_safe(why, "connector '%s' is not available in this runbookd; not run", st->connector);
        } else
                return 0;
        if (*why)
                res->message = *why;
        return res->error;
}

int engine_job_output(ConnectorJob *job, unsigned i, bool unmaskable, uint8_t **ret, size_t *ret_n) {
        static const char withheld[] = "(output withheld: runbookd was restarted while the command ran and could not "
                                       "get its secret parameters' values again to mask them)\n";

        if (!unmaskable)
                return output_capture_get(&job->output[i], ret, ret_n);
        *ret = (uint8_t *) strdup(withheld);
        *ret_n = sizeof withheld - 1;
        return *ret ? 0 : -ENOMEM;
}

void step_run(Step *st, bool chained) {
        Session *s = st->session;
        Engine *e = session_engine(s);
        const ConnectorVTable *vt;
        const Target *target;
        StepResult res = { .outcome = OUTCOME_ERROR, .exit_status = -1 };
        bool group = st->n_hosts > 0;
        /* a record written ahead stands only for a start no decision made (that one is synced) */
        bool ahead = step_take_start_ahead(st) && chained;
        /* a group step keeps the output of hosts that succeeded in an earlier attempt */
        PersistCtx c = {
                .session = s,
                .clear_output = group ? NULL : st,
                .start_record = chained && !ahead,
                .keep_pending = true,  /* the previous step's result record goes after the spawn */
        };
        _cleanup_free_ char *why = NULL;
        int r;

        if (!step_approvals_still_valid(st))
                return;
        /* nothing runs without its locks, however it came to run (taken before its approval
         * when it was reached; a failed session's Retry re-arms the step without them) */
        if (!session_lock_gate(s, st))
                return;
        /* and only inside its change windows, outside freezes (engine-window.c) */
        switch (step_window_gate(st, &why)) {
        case WINDOW_WAIT:
                return;
        case WINDOW_NEVER:
                res.error = -ETIME;
                res.message = why;
                return step_refuse(st, &res);
        default:
                break;
        }
        target = e->targets ? target_catalog_find(e->targets, st->target) : NULL;
        vt = connector_find(st->connector);
        if (step_check_start(st, target, vt, &res, &why) < 0)
                return step_refuse(st, &res);
        /* the secrets' values, read (or unsealed) now: a credential as it is when the step runs; a
         * value that cannot be had refuses the step before it is recorded as running */
        step_drop_secrets(st);
        step_rt(st)->output_unmaskable = false;
        r = session_resolve_secrets(s, &step_rt(st)->secrets, &step_rt(st)->n_secrets, &why);
        if (r < 0) {
                res.error = r;
                if (!why)
                        (void) asprintf_safe(&why, "the secret parameters' values cannot be had: %s", strerror(-r));
                res.message = why;
                return step_refuse(st, &res);
        }

        st->state = STEP_RUNNING;
        st->retry_at = 0;
        step_rt(st)->ran = false;
        st->started_at = now_usec(CLOCK_REALTIME);
        st->finished_at = 0;
        st->exit_status = -1;
        st->signal = 0;
        st->truncated = false;
        st->error = mfree_str(st->error);
        json_decref(st->remote);  /* a fresh attempt: its remote run is not created yet */
        st->remote = NULL;
        step_rt(st)->dirty = true;
        s->state = SESSION_RUNNING;
        s->current_step = (int) st->index;
        session_rt(s)->dirty = true;

        /* the 'running' record (with its attempt) is durable before the command starts: the
         * commit, and what stands for it until the commit is synced (engine-start.c) */
        r = engine_persist(e, &c);
        if (r >= 0 && !ahead) {
                r = step_start_durable(st, chained);
                if (r < 0)
                        session_flush_pending(s); /* the commit went through: its records may go */
        }
        engine_sync_soon(e);
        if (r < 0) {
                log_error_errno(r, "Session %u step %u: cannot record the step as running, not starting it: %m",
                                s->id, st->index);
                res.error = r;
                res.message = "runbookd could not record the step as running in its state store";
                step_complete(st, &res, NULL);
                return;
        }
        engine_hooks_changed(e, s, st);

        if (group) {
                step_announce(st);
                step_rt(st)->ran = true;  /* group_run() clears it if the group changed */
                group_run(st, target);
                step_want_start_ahead(st);
                return;
        }

        StepRequest req = step_request(st, target);
        r = connector_start(vt, e->event, &req, on_step_done, st, &step_rt(st)->job);
        if (r >= 0) {
                step_rt(st)->ran = true;
                /* recorded once it is under way: the journal's work overlaps the command */
                step_announce(st);
                event_step_executing(st, NULL);
                step_want_start_ahead(st);
                return;
        }
        res.error = r;
        (void) asprintf_safe(&why, "could not start the command: %s", strerror(-r));
        res.message = why;
        step_announce(st);
        step_complete(st, &res, NULL);
}

/* Keeps the finished command's output and result for the next commit (see engine_persist()). */
static void step_keep_result(Step *st, const StepResult *res, ConnectorJob *job, bool success) {
        Session *s = st->session;

        for (unsigned i = 0; i < 2; i++) {
                free(session_rt(s)->pending_output.data[i]);
                session_rt(s)->pending_output.data[i] = NULL;
                session_rt(s)->pending_output.size[i] = 0;
                if (job && engine_job_output(job, i, step_rt(st)->output_unmaskable, &session_rt(s)->pending_output.data[i],
                                             &session_rt(s)->pending_output.size[i]) < 0)
                        log_oom();
        }
        session_rt(s)->pending_output.step = st->index;
        session_rt(s)->pending_output.set = job != NULL;
        session_rt(s)->pending_result.step = st->index;
        session_rt(s)->pending_result.success = success;
        session_rt(s)->pending_result.outcome = res->outcome;
        session_rt(s)->pending_result.error = res->error;
        session_rt(s)->pending_result.duration_usec = res->duration_usec;
        free(session_rt(s)->pending_result.connection);
        session_rt(s)->pending_result.connection = res->connection ? strdup(res->connection) : NULL;
        session_rt(s)->pending_result.set = true;
}

StepState step_outcome_state(const StepResult *res, int expect_exit, char **ret_error) {
        *ret_error = NULL;
        switch (res->outcome) {
        case OUTCOME_EXITED:
                if (res->exit_status == expect_exit)
                        return STEP_SUCCEEDED;
                (void) engine_set_error(ret_error, "exit status %d, expected %d", res->exit_status, expect_exit);
                return STEP_FAILED;
        case OUTCOME_KILLED:
                (void) engine_set_error(ret_error, "%s", res->message ?: "killed by a signal");
                return STEP_FAILED;
        case OUTCOME_TIMED_OUT:
                (void) engine_set_error(ret_error, "%s", res->message ?: "timed out");
                return STEP_TIMED_OUT;
        case OUTCOME_CANCELLED:
                (void) engine_set_error(ret_error, "%s", res->message ?: "cancelled");
                return STEP_CANCELLED;
        default:
                (void) engine_set_error(ret_error, "%s", res->message ?: "the command could not be run");
                return STEP_FAILED;
        }
}

void step_complete(Step *st, const StepResult *res, ConnectorJob *job) {
        _cleanup_free_ char *error = NULL;
        StepState ns;

        st->finished_at = now_usec(CLOCK_REALTIME);
        st->exit_status = res->outcome == OUTCOME_EXITED ? res->exit_status : -1;
        st->signal = res->signal;
        st->truncated = job && (job->output[0].truncated || job->output[1].truncated);
        ns = step_outcome_state(res, st->expect_exit, &error);
        if (ns == STEP_SUCCEEDED) {
                /* the step succeeds only if its values can be taken from its output */
                int r = engine_step_take_captures(st, job, &error);
                if (r < 0)
                        (void) engine_set_error(&error, "could not take the captured values: %s", strerror(-r));
                if (r != 0)
                        ns = STEP_FAILED;
        }
        /* a cancelled step keeps the error that says who cancelled it */
        if (error && !(ns == STEP_CANCELLED && st->error)) {
                free(st->error);
                st->error = TAKE_PTR(error);
        }
        step_settle(st, ns, res, job);
}

/* A failure the runbook allows ("on_failure": "continue"): the session goes on after it. */
static bool step_continues_after(const Step *st, StepState ns) {
        return st->continue_on_failure && step_state_is_failure(ns);
}

void step_settle(Step *st, StepState ns, const StepResult *res, ConnectorJob *job) {
        Session *s = st->session;
        Engine *e = session_engine(s);

        step_drop_secrets(st);   /* the job has its own copies, wiped with it */
        if (st->state == STEP_CANCELLED)
                ns = STEP_CANCELLED;
        st->state = ns;
        step_rt(st)->dirty = true;
        step_keep_result(st, res, job, ns == STEP_SUCCEEDED);
        if (job) {
                step_rt(st)->job = NULL;
                engine_job_bury(e, job);
        }
        engine_hooks_changed(e, s, st);

        /* a failed attempt the runbook retries by itself ("retries"): the step waits for the next
         * (before on_failure: continue lets the session go on after its last failure) */
        if (step_retry_schedule(st, ns))
                return;
        if (step_state_is_failure(ns) || ns == STEP_INTERRUPTED)
                session_notify(s, NOTIFY_STEP_FAILED, st, NULL, NULL);

        if ((ns == STEP_SUCCEEDED || step_continues_after(st, ns)) && !session_state_is_final(s->state)) {
                if (ns == STEP_SUCCEEDED)
                        step_note_duration(st, res->duration_usec);
                else {
                        log_info("Session %u: %s %u (%s) %s, and may (on_failure: continue): the session goes on.",
                                 s->id, step_phase_to_string(st->phase), st->index, st->name, step_state_to_string(ns));
                        engine_hooks_changed(e, s, NULL);   /* FailedSteps */
                }
                /* the next transition (the next step running, waiting for approval, or the end)
                 * is written in the same transaction as this one */
                s->current_step++;
                session_rt(s)->dirty = true;
                session_advance(s, true);
                return;
        }
        session_drop_start_ahead(s);

        if (session_state_is_final(s->state)) {
                /* cancelled while it ran: the session was already ended */
                (void) engine_persist_session(s);
                if (!session_has_job(s))
                        session_deactivate(s);
                return;
        }

        if (ns == STEP_INTERRUPTED) {
                /* a group step some of whose hosts a restart lost: Retry or Cancel decides */
                s->state = SESSION_INTERRUPTED;
                (void) engine_set_error(&s->error, "%s %u (%s) was interrupted; retry (with a fresh approval) or cancel",
                                 step_phase_to_string(st->phase), st->index, st->name);
                session_rt(s)->dirty = true;
                (void) engine_persist_session(s);
                event_step_interrupted(st);
                engine_hooks_changed(e, s, NULL);
                return;
        }

        if (ns == STEP_CANCELLED) {
                /* cancelled while it ran, and rollback or finally steps run after it: now that its
                 * command has ended */
                _cleanup_free_ char *why = NULL;
                (void) asprintf_safe(&why, "%s", st->error ?: "cancelled");
                session_end_flow(s, st, SESSION_CANCELLED, why);
                return;
        }
        _cleanup_free_ char *why = NULL;
        (void) asprintf_safe(&why, "%s %u (%s) %s: %s", step_phase_to_string(st->phase), st->index, st->name,
                             ns == STEP_TIMED_OUT ? "timed out" : "failed", strna(st->error));
        session_end_flow(s, st, SESSION_FAILED, why);
}

enum {
        STEP_PREPARE_READY,       /* to be approved or run */
        STEP_PREPARE_SKIPPED,     /* its condition is false: skipped, the session goes on */
        STEP_PREPARE_FAILED,      /* it failed before it ran (and the session went on from it, or ended) */
};

/* A step that was not run before (no approval given yet): the values of earlier steps go into its
 * command, and its condition decides whether it runs — before anyone is asked to approve it. */
static int step_prepare(Step *st) {
        _cleanup_(json_decrefp) json_t *seen = NULL;
        _cleanup_free_ char *why = NULL;
        Session *s = st->session;
        Engine *e = session_engine(s);
        bool run = true;
        int r;

        r = engine_step_render(st, &why);
        if (r == 0)
                r = engine_step_condition(st, &run, &why, &seen);
        if (r != 0) {
                StepResult res = { .outcome = OUTCOME_ERROR, .exit_status = -1, .error = r < 0 ? r : -EINVAL };
                if (r < 0)
                        (void) engine_set_error(&why, "could not prepare the step: %s", strerror(-r));
                res.message = why;
                /* the step before it (its result durable, then its record), as step_run's "not
                 * run" does: a starting record, then the result */
                (void) engine_persist_session(s);
                step_announce(st);
                step_complete(st, &res, NULL);
                return STEP_PREPARE_FAILED;
        }
        if (run)
                return STEP_PREPARE_READY;

        st->state = STEP_SKIPPED;
        st->finished_at = now_usec(CLOCK_REALTIME);
        free(st->error);
        st->error = TAKE_PTR(why);
        step_rt(st)->dirty = true;
        s->current_step++;
        session_rt(s)->dirty = true;
        (void) engine_persist_session(s);
        event_step_skipped(st, seen);
        engine_hooks_changed(e, s, st);
        return STEP_PREPARE_SKIPPED;
}

/* Moves the session on from its current step until something needs a person or a command. */
void session_advance(Session *s, bool chained) {
        Engine *e = session_engine(s);

        for (;;) {
                Step *st = session_current(s);
                int where = session_enter_phase(s, st);

                if (where == PHASE_ENTER_ENDED)
                        return;
                if (where == PHASE_ENTER_MOVED)
                        continue;
                switch (st->state) {
                case STEP_PENDING: {
                        int r = step_prepare(st);
                        if (r == STEP_PREPARE_SKIPPED)
                                continue;
                        if (r == STEP_PREPARE_FAILED)
                                return;
                        /* its locks are taken before anyone is asked to approve it */
                        if (!session_lock_gate(s, st))
                                return;
                        if (st->requires_approval) {
                                step_enter_waiting(st, now_usec(CLOCK_REALTIME));
                                (void) engine_persist_session(s);
                                (void) step_deadline_arm(st);
                                engine_hooks_changed(e, s, st);
                                return;
                        }
                        step_run(st, chained);
                        return;
                }
                case STEP_APPROVED:
                        step_run(st, chained);
                        return;
                case STEP_WAITING_RETRY:
                        /* after a restart: it goes on waiting for its next attempt */
                        if (step_retry_arm(st) < 0) {
                                StepResult res = { .outcome = OUTCOME_ERROR, .exit_status = -1, .error = -ENOMEM,
                                                   .message = "runbookd could not wait for the step's next attempt" };
                                step_rt(st)->ran = false;
                                step_complete(st, &res, NULL);
                        }
                        return;
                case STEP_FAILED:
                case STEP_TIMED_OUT:
                        if (!st->continue_on_failure)
                                return;
                        __attribute__((fallthrough));
                case STEP_SKIPPED:        /* by its condition */
                        __attribute__((fallthrough));
                case STEP_SUCCEEDED:
                        s->current_step++;
                        session_rt(s)->dirty = true;
                        continue;
                case STEP_CANCELLED:
                        /* cancelled while its command ran, rollback or finally steps waiting for
                         * its end, and runbookd stopped before it came (engine_load()) */
                        if (!step_has_job(st)) {
                                _cleanup_free_ char *why = strdup(st->error ?: "cancelled");
                                session_end_flow(s, st, SESSION_CANCELLED, why);
                        }
                        return;
                case STEP_INTERRUPTED:
                        /* found possibly started after a reboot (engine-start.c), behind the one
                         * that was running then: Retry or Cancel decides */
                        s->state = SESSION_INTERRUPTED;
                        session_notify(s, NOTIFY_STEP_FAILED, st, NULL, NULL);
                        (void) engine_set_error(&s->error, "%s %u (%s) was interrupted; retry (with a fresh approval) or cancel",
                                         step_phase_to_string(st->phase), st->index, st->name);
                        session_rt(s)->dirty = true;
                        (void) engine_persist_session(s);
                        engine_hooks_changed(e, s, NULL);
                        return;
                default:
                        return;
                }
        }
}
