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

static void session_advance(Session *s, bool chained);

static Step *session_current(Session *s) {
        if (s->current_step < 0 || (size_t) s->current_step >= s->n_steps)
                return NULL;
        return &s->steps[s->current_step];
}

static bool session_has_job(Session *s) {
        for (size_t i = 0; i < s->n_steps; i++)
                if (step_has_job(&s->steps[i]))
                        return true;
        return false;
}

/* Ends the session in 'state': the steps that have not run are skipped. */
static void session_finish(Session *s, SessionState state, const char *error) {
        Engine *e = session_engine(s);

        session_drop_start_ahead(s);
        for (size_t i = 0; i < s->n_steps; i++) {
                Step *st = &s->steps[i];
                if (st->state == STEP_PENDING || st->state == STEP_WAITING_APPROVAL || st->state == STEP_APPROVED) {
                        st->state = STEP_SKIPPED;
                        step_rt(st)->dirty = true;
                        hooks_changed(e, s, st); /* announced after the commit, by the bus layer */
                }
        }
        s->state = state;
        free(s->error);
        s->error = error ? strdup(error) : NULL;
        s->finished_at = now_usec(CLOCK_REALTIME);
        if (state == SESSION_SUCCEEDED)
                s->current_step = -1;
        session_rt(s)->dirty = true;
        (void) persist_session(s);
        event_session_finished(s);
        hooks_changed(e, s, NULL);
        if (!session_has_job(s))
                session_deactivate(s);
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
                char *d = json_dumps(t->config, JSON_SORT_KEYS | JSON_COMPACT);
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
                char *d = mt && mt->config ? json_dumps(mt->config, JSON_SORT_KEYS | JSON_COMPACT) : NULL;

                fprintf(f, "\n%s=%s", json_is_string(m) ? json_string_value(m) : "?", d ?: (mt ? "" : "(missing)"));
                free(d);
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int step_digest_now(Engine *e, const Step *st, const Target *t, char **ret) {
        _cleanup_free_ char *def = NULL;
        int r;

        r = target_definition(e, t, &def);
        if (r < 0)
                return r;
        return step_compute_digest(st->connector, st->target, def, st->command, ret);
}

static bool step_approvals_valid(const Step *st) {
        unsigned n = 0;

        if (!st->requires_approval && st->attempt <= 1)
                return true;
        for (size_t i = 0; i < st->n_approvals; i++) {
                const Approval *a = &st->approvals[i];
                if (!a->approve || a->attempt != st->attempt)
                        continue;
                if (!streq_ptr(a->digest, st->digest))
                        return false;
                n++;
        }
        return n >= step_approvals_needed(st);
}

static void step_complete(Step *st, const StepResult *res, ConnectorJob *job);

static void on_step_done(ConnectorJob *job, const StepResult *res, void *userdata) {
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
        r = persist_session_durably(s);
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

static const char *step_remote_name(const Step *st) {
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
        };
}

/* The records of a step that has started (or failed to): the result record of the step before it,
 * whose commit the start shared, then its own "starting" record. Sent after the command was
 * spawned, so that the journal's work overlaps the command instead of delaying it. */
static void step_announce(Step *st) {
        session_flush_pending(st->session);
        event_step_starting(st);
}

/* Runs an approved (or approval-free) step; 'chained': it follows a step that just succeeded. */
static void step_run(Step *st, bool chained) {
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

        st->state = STEP_RUNNING;
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
        r = persist(e, &c);
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
        hooks_changed(e, s, st);

        target = e->targets ? target_catalog_find(e->targets, st->target) : NULL;
        vt = connector_find(st->connector);
        /* what the approvals cover is computed again from what would run now */
        _cleanup_free_ char *digest_now = NULL;
        if (target && (st->requires_approval || st->attempt > 1) && step_digest_now(e, st, target, &digest_now) < 0)
                digest_now = NULL;
        if (!step_approvals_valid(st)) {
                res.error = -EPERM;
                res.message = "the step's approvals do not match what it would run (digest mismatch); not run";
        } else if (target && (st->requires_approval || st->attempt > 1) && !streq_ptr(digest_now, st->digest)) {
                res.error = -EPERM;
                if (group)
                        (void) asprintf_safe(&why, "the members of target group '%s' or their definitions changed since "
                                             "the step was approved (now digest %.12s…, not %.12s… as approved); not run",
                                             st->target, strna(digest_now), strna(st->digest));
                else
                        (void) asprintf_safe(&why, "target '%s' changed since the step was approved (its definition, now "
                                             "digest %.12s…, is not what the approval covers, %.12s…); not run",
                                             st->target, strna(digest_now), strna(st->digest));
                res.message = why;
        } else if (!target) {
                res.error = -ENXIO;
                (void) asprintf_safe(&why, "target '%s' is not configured (any more); not run", st->target);
                res.message = why;
        } else if (!streq(target->connector, st->connector)) {
                res.error = -ENXIO;
                (void) asprintf_safe(&why, "target '%s' now uses connector '%s', not '%s' as approved; not run",
                                     st->target, target->connector, st->connector);
                res.message = why;
        } else if (group) {
                step_announce(st);
                group_run(st, target);
                step_want_start_ahead(st);
                return;
        } else if (!vt) {
                res.error = -EOPNOTSUPP;
                (void) asprintf_safe(&why, "connector '%s' is not available in this runbookd; not run", st->connector);
                res.message = why;
        } else {
                StepRequest req = step_request(st, target);

                r = connector_start(vt, e->event, &req, on_step_done, st, &step_rt(st)->job);
                if (r >= 0) {
                        /* recorded once it is under way: the journal's work overlaps the command */
                        step_announce(st);
                        event_step_executing(st, NULL);
                        step_want_start_ahead(st);
                        return;
                }
                res.error = r;
                (void) asprintf_safe(&why, "could not start the command: %s", strerror(-r));
                res.message = why;
        }
        step_announce(st);
        step_complete(st, &res, NULL);
}

/* Keeps the finished command's output and result for the next commit (see persist()). */
static void step_keep_result(Step *st, const StepResult *res, ConnectorJob *job, bool success) {
        Session *s = st->session;

        for (unsigned i = 0; i < 2; i++) {
                free(session_rt(s)->pending_output.data[i]);
                session_rt(s)->pending_output.data[i] = NULL;
                session_rt(s)->pending_output.size[i] = 0;
                if (job && output_capture_get(&job->output[i], &session_rt(s)->pending_output.data[i], &session_rt(s)->pending_output.size[i]) < 0)
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
                (void) set_error(ret_error, "exit status %d, expected %d", res->exit_status, expect_exit);
                return STEP_FAILED;
        case OUTCOME_KILLED:
                (void) set_error(ret_error, "%s", res->message ?: "killed by a signal");
                return STEP_FAILED;
        case OUTCOME_TIMED_OUT:
                (void) set_error(ret_error, "%s", res->message ?: "timed out");
                return STEP_TIMED_OUT;
        case OUTCOME_CANCELLED:
                (void) set_error(ret_error, "%s", res->message ?: "cancelled");
                return STEP_CANCELLED;
        default:
                (void) set_error(ret_error, "%s", res->message ?: "the command could not be run");
                return STEP_FAILED;
        }
}

static void step_complete(Step *st, const StepResult *res, ConnectorJob *job) {
        _cleanup_free_ char *error = NULL;
        StepState ns;

        st->finished_at = now_usec(CLOCK_REALTIME);
        st->exit_status = res->outcome == OUTCOME_EXITED ? res->exit_status : -1;
        st->signal = res->signal;
        st->truncated = job && (job->output[0].truncated || job->output[1].truncated);
        ns = step_outcome_state(res, st->expect_exit, &error);
        /* a cancelled step keeps the error that says who cancelled it */
        if (error && !(ns == STEP_CANCELLED && st->error)) {
                free(st->error);
                st->error = TAKE_PTR(error);
        }
        step_settle(st, ns, res, job);
}

void step_settle(Step *st, StepState ns, const StepResult *res, ConnectorJob *job) {
        Session *s = st->session;
        Engine *e = session_engine(s);

        if (st->state == STEP_CANCELLED)
                ns = STEP_CANCELLED;
        st->state = ns;
        step_rt(st)->dirty = true;
        step_keep_result(st, res, job, ns == STEP_SUCCEEDED);
        if (job) {
                step_rt(st)->job = NULL;
                job_bury(e, job);
        }
        hooks_changed(e, s, st);

        if (ns == STEP_SUCCEEDED && !session_state_is_final(s->state)) {
                step_note_duration(st, res->duration_usec);
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
                (void) persist_session(s);
                if (!session_has_job(s))
                        session_deactivate(s);
                return;
        }

        if (ns == STEP_INTERRUPTED) {
                /* a group step some of whose hosts a restart lost: Retry or Cancel decides */
                s->state = SESSION_INTERRUPTED;
                (void) set_error(&s->error, "%s %u (%s) was interrupted; retry (with a fresh approval) or cancel",
                                 step_phase_to_string(st->phase), st->index, st->name);
                session_rt(s)->dirty = true;
                (void) persist_session(s);
                event_step_interrupted(st);
                hooks_changed(e, s, NULL);
                return;
        }

        _cleanup_free_ char *why = NULL;
        (void) asprintf_safe(&why, "%s %u (%s) %s: %s", step_phase_to_string(st->phase), st->index, st->name,
                             ns == STEP_TIMED_OUT ? "timed out" : "failed", strna(st->error));
        session_finish(s, SESSION_FAILED, why);
}

/* Moves the session on from its current step until something needs a person or a command. */
static void session_advance(Session *s, bool chained) {
        Engine *e = session_engine(s);

        for (;;) {
                Step *st = session_current(s);

                if (!st) {
                        session_finish(s, SESSION_SUCCEEDED, NULL);
                        return;
                }
                switch (st->state) {
                case STEP_PENDING:
                        if (st->requires_approval) {
                                st->state = STEP_WAITING_APPROVAL;
                                st->waiting_since = now_usec(CLOCK_REALTIME);
                                step_rt(st)->dirty = true;
                                s->state = SESSION_WAITING_APPROVAL;
                                session_rt(s)->dirty = true;
                                (void) persist_session(s);
                                hooks_changed(e, s, st);
                                return;
                        }
                        step_run(st, chained);
                        return;
                case STEP_APPROVED:
                        step_run(st, chained);
                        return;
                case STEP_SUCCEEDED:
                        s->current_step++;
                        session_rt(s)->dirty = true;
                        continue;
                case STEP_INTERRUPTED:
                        /* found possibly started after a reboot (engine-start.c), behind the one
                         * that was running then: Retry or Cancel decides */
                        s->state = SESSION_INTERRUPTED;
                        (void) set_error(&s->error, "%s %u (%s) was interrupted; retry (with a fresh approval) or cancel",
                                         step_phase_to_string(st->phase), st->index, st->name);
                        session_rt(s)->dirty = true;
                        (void) persist_session(s);
                        hooks_changed(e, s, NULL);
                        return;
                default:
                        return;
                }
        }
}

int engine_start_session(Engine *e, const Runbook *rb, const char *reference, json_t *given_params,
                         const Identity *who, Session **ret, char **ret_error) {
        _cleanup_(json_decrefp) json_t *values = NULL;
        _cleanup_(engine_session_freep) Session *s = NULL;
        PersistCtx c = {};
        int r;

        if (e->n_active >= e->config.max_active_sessions) {
                (void) asprintf_safe(ret_error, "too many active sessions (%u); finish or cancel some first",
                                     e->config.max_active_sessions);
                return -ENOBUFS;
        }
        /* one person cannot take every slot (whatever uid they use) */
        unsigned mine = 0;
        uid_t person = identity_person(who);
        for (size_t i = 0; i < e->n_active; i++)
                mine += session_creator_person(e->active[i]) == person;
        if (mine >= e->config.max_active_sessions_per_user) {
                _cleanup_free_ char *name = identity_describe(who);
                (void) asprintf_safe(ret_error, "%s already has %u active sessions (max_active_sessions_per_user); "
                                     "finish or cancel some first", strna(name), mine);
                return -ENOBUFS;
        }
        r = runbook_bind_parameters(rb, given_params, &values, ret_error);
        if (r < 0)
                return r;

        s = calloc(1, sizeof(Session));
        if (!s)
                return -ENOMEM;
        s->id = e->next_id;
        s->runbook = strdup(rb->name);
        s->reference = strdup(strempty(reference));
        s->creator_name = strdup(strempty(who->user));
        s->creator_login_uid = who->login_uid;
        if (who->login_user && !(s->creator_login_name = strdup(who->login_user)))
                return -ENOMEM;
        s->parameters = json_incref(values);
        s->snapshot = json_deep_copy(rb->json);
        s->steps = calloc(rb->n_steps, sizeof(Step));
        if (!s->runbook || !s->reference || !s->creator_name || !s->snapshot || !s->steps)
                return -ENOMEM;
        s->n_steps = rb->n_steps;
        s->creator_uid = who->uid;
        s->created_at = now_usec(CLOCK_REALTIME);
        s->current_step = 0;
        s->state = SESSION_CREATED;

        for (size_t i = 0; i < rb->n_steps; i++) {
                const RunbookStep *rs = &rb->steps[i];
                Step *st = &s->steps[i];
                const Target *t = e->targets ? target_catalog_find(e->targets, rs->target) : NULL;

                if (!t) {
                        const TargetBroken *b = e->targets ? target_catalog_find_broken(e->targets, rs->target) : NULL;
                        if (b)
                                (void) asprintf_safe(ret_error, "%s step %zu (%s) runs on target '%s', which cannot be used: %s",
                                                     step_phase_to_string(rs->phase), i, rs->name, rs->target, b->error);
                        else
                                (void) asprintf_safe(ret_error, "%s step %zu (%s) runs on target '%s', which is not configured",
                                                     step_phase_to_string(rs->phase), i, rs->name, rs->target);
                        return -ENXIO;
                }
                st->session = s;
                st->index = (uint32_t) i;
                st->phase = rs->phase;
                st->requires_approval = rs->requires_approval;
                st->approvals_required = MAX(rs->approvers, 1u);
                st->timeout_usec = rs->timeout_usec;
                st->expect_exit = rs->expect_exit;
                st->state = STEP_PENDING;
                st->exit_status = -1;
                st->attempt = 1;
                st->name = strdup(rs->name);
                st->target = strdup(rs->target);
                st->connector = strdup(t->connector);
                if (!st->name || !st->target || !st->connector)
                        return -ENOMEM;
                r = template_render(rs->run, values, &st->command);
                if (r < 0)
                        return r;
                if (streq(t->connector, "group")) {
                        _cleanup_free_ char *why = NULL;
                        r = group_step_init(e, st, t, &why);
                        if (r < 0) {
                                if (why)
                                        (void) asprintf_safe(ret_error, "%s step %zu (%s): %s",
                                                             step_phase_to_string(rs->phase), i, rs->name, why);
                                return r;
                        }
                }
                r = step_digest_now(e, st, t, &st->digest);
                if (r < 0)
                        return r;
        }
        r = session_runtime_attach(e, s);
        if (r < 0)
                return r;

        /* the first stop needs no action: take it in the same transaction */
        if (s->steps[0].requires_approval) {
                s->steps[0].state = STEP_WAITING_APPROVAL;
                s->steps[0].waiting_since = s->created_at;
                s->state = SESSION_WAITING_APPROVAL;
        }

        c = (PersistCtx) {
                .session = s,
                .force = true,
                .write_next_id = true,
                .audit = audit_event("start", s, NULL, who, NULL),
        };
        r = persist(e, &c);
        if (r < 0)
                return r;
        r = active_add(e, s);
        if (r < 0)
                return r;
        e->next_id++;

        Session *created = TAKE_PTR(s);
        event_session_started(created);
        if (e->hooks.session_new)
                e->hooks.session_new(created, e->hooks.userdata);
        if (created->state == SESSION_CREATED)
                session_advance(created, false);
        *ret = created;
        return 0;
}

static void approval_pop(Step *st) {
        Approval *a = &st->approvals[--st->n_approvals];
        free(a->user);
        free(a->login_user);
        free(a->comment);
        free(a->digest);
}

static int step_add_decision(Step *st, const Identity *who, bool approve, const char *comment) {
        Approval *a;

        a = realloc(st->approvals, (st->n_approvals + 1) * sizeof(Approval));
        if (!a)
                return -ENOMEM;
        st->approvals = a;
        a = &st->approvals[st->n_approvals];
        *a = (Approval) {
                .uid = who->uid,
                .login_uid = who->login_uid,
                .approve = approve,
                .time = now_usec(CLOCK_REALTIME),
                .attempt = st->attempt,
                .user = strdup(strempty(who->user)),
                .login_user = who->login_user ? strdup(who->login_user) : NULL,
                .comment = strdup(strempty(comment)),
                .digest = strdup(st->digest),
        };
        st->n_approvals++;
        if (!a->user || !a->comment || !a->digest || (who->login_user && !a->login_user)) {
                approval_pop(st);
                return -ENOMEM;
        }
        step_rt(st)->dirty = true;
        return 0;
}

static int check_decision(Engine *e, Step *st, const Identity *who, bool approve) {
        Session *s = st->session;

        if (!session_rt(s)->active || session_state_is_final(s->state))
                return -ESHUTDOWN;
        if (st->state != STEP_WAITING_APPROVAL)
                return -ESTALE;
        if (!approve)
                return 0;
        /* root (or our own uid) with no login uid (or root's) is a service or a process a step
         * left behind, not a person: it cannot count as an approver unless configured to */
        if (person_is_unattended(who->uid, who->login_uid) && !e->config.allow_unattended_root_approval)
                return -ENOKEY;
        /* four eyes and M-of-N count persons, whatever uid each one acts as */
        if (identity_person(who) == session_creator_person(s) && !e->config.allow_self_approval)
                return -EPERM;
        if (step_approved_by(st, identity_person(who)))
                return -EALREADY;
        return 0;
}

int engine_approve(Engine *e, Step *st, const Identity *who, const char *comment) {
        Session *s = st->session;
        PersistCtx c = { .session = s };
        int r;

        r = check_decision(e, st, who, true);
        if (r < 0)
                return r;
        r = step_add_decision(st, who, true, comment);
        if (r < 0)
                return r;
        if (step_count_approvals(st) >= step_approvals_needed(st))
                st->state = STEP_APPROVED;

        /* the approval is durable before anyone is told (the bus layer syncs before replying) */
        c.audit = audit_event("approve", s, st, who, comment);
        r = persist(e, &c);
        if (r < 0) {
                approval_pop(st);
                st->state = STEP_WAITING_APPROVAL;
                return r;
        }
        event_step_approved(st, &st->approvals[st->n_approvals - 1]);
        hooks_changed(e, s, st);
        if (st->state == STEP_APPROVED)
                session_advance(s, false);
        return 0;
}

int engine_reject(Engine *e, Step *st, const Identity *who, const char *comment) {
        Session *s = st->session;
        PersistCtx c = { .session = s };
        _cleanup_free_ char *why = NULL, *user = identity_describe(who);
        int r;

        r = check_decision(e, st, who, false);
        if (r < 0)
                return r;
        r = step_add_decision(st, who, false, comment);
        if (r < 0)
                return r;
        st->state = STEP_REJECTED;
        st->finished_at = now_usec(CLOCK_REALTIME);
        (void) set_error(&st->error, "rejected by %s%s%s", strna(user), isempty(comment) ? "" : ": ", strempty(comment));
        c.audit = audit_event("reject", s, st, who, comment);
        r = persist(e, &c);
        if (r < 0) {
                approval_pop(st);
                st->state = STEP_WAITING_APPROVAL;
                st->finished_at = 0;
                return r;
        }
        event_step_rejected(st, &st->approvals[st->n_approvals - 1]);
        hooks_changed(e, s, st);
        (void) asprintf_safe(&why, "%s %u (%s) rejected by %s", step_phase_to_string(st->phase), st->index, st->name,
                             strna(user));
        session_finish(s, SESSION_REJECTED, why);
        return 0;
}

int engine_cancel(Engine *e, Session *s, const Identity *who) {
        PersistCtx c = { .session = s };
        _cleanup_free_ char *why = NULL, *user = identity_describe(who);
        Step *cur;
        int r;

        if (!session_rt(s)->active || session_state_is_final(s->state))
                return -ESHUTDOWN;

        cur = session_current(s);
        if (cur && !step_state_is_final(cur->state)) {
                cur->state = STEP_CANCELLED;
                (void) set_error(&cur->error, "cancelled by %s", strna(user));
                if (!step_has_job(cur))
                        cur->finished_at = now_usec(CLOCK_REALTIME);
                step_rt(cur)->dirty = true;
                if (cur->n_hosts > 0) {
                        _cleanup_free_ char *skip = NULL;
                        (void) asprintf_safe(&skip, "the session was cancelled by %s", strna(user));
                        group_skip_pending(cur, strna(skip));
                }
        }
        c.audit = audit_event("cancel", s, NULL, who, NULL);
        r = persist(e, &c);
        if (r < 0)
                return r;
        event_session_cancelled(s, who);
        if (cur && !step_has_job(cur))
                hooks_changed(e, s, cur); /* a running one is announced when its command ends */
        (void) asprintf_safe(&why, "cancelled by %s", strna(user));
        session_finish(s, SESSION_CANCELLED, why);

        /* recorded first, then acted on */
        if (cur && step_has_job(cur)) {
                r = store_sync(e->store);
                if (r < 0)
                        log_warning_errno(r, "Failed to sync the store before stopping session %u's command, stopping it anyway: %m",
                                          s->id);
                if (step_rt(cur)->job)
                        (void) connector_job_cancel(step_rt(cur)->job);
                group_cancel_jobs(cur);
        }
        return 0;
}

int engine_retry(Engine *e, Session *s, const Identity *who) {
        PersistCtx c = { .session = s };
        Step *st;
        int r;

        if (!session_rt(s)->active || session_state_is_final(s->state))
                return -ESHUTDOWN;
        st = session_current(s);
        if (s->state != SESSION_INTERRUPTED || !st || st->state != STEP_INTERRUPTED)
                return -ENOMSG;

        st->attempt++;
        st->state = STEP_WAITING_APPROVAL;
        st->waiting_since = now_usec(CLOCK_REALTIME);
        st->error = mfree_str(st->error);
        step_rt(st)->dirty = true;
        s->state = SESSION_WAITING_APPROVAL;
        s->error = mfree_str(s->error);
        session_rt(s)->dirty = true;
        c.audit = audit_event("retry", s, st, who, NULL);
        r = persist(e, &c);
        if (r < 0) {
                /* put the model back as the store has it */
                st->attempt--;
                st->state = STEP_INTERRUPTED;
                s->state = SESSION_INTERRUPTED;
                return r;
        }
        event_step_retry(st, who);
        hooks_changed(e, s, st);
        return 0;
}

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
                StepRequest req = step_request(st, target);

                r = connector_resume(vt, e->event, &req, st->remote, on_step_done, st, &step_rt(st)->job);
                if (r >= 0) {
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
                Session *s = active_find(e, ids[i]);
                Step *st = s ? session_current(s) : NULL;
                if (!st || st->state != STEP_RUNNING || step_has_job(st) || s->state != SESSION_RUNNING)
                        continue;
                if (st->n_hosts > 0)
                        group_resume(st);
                else if (st->remote)
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
                        r = active_add(e, s);
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
                                if (st->n_hosts == 0 && vt && vt->resume)
                                        /* its remote run is named durably before it is created */
                                        (void) set_error(&st->error, "the machine restarted while an earlier step ran; "
                                                         "this step's remote run was never created; not run again by itself");
                                else
                                        (void) set_error(&st->error, "the machine restarted while an earlier step ran; this "
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
                        if (st->remote && vt && vt->resume && target && streq(target->connector, st->connector)) {
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
                        if (st->remote)
                                (void) set_error(&st->error, "runbookd stopped while attempt %u was running; its remote run "
                                                 "%s cannot be followed (target '%s' is not configured for connector '%s' "
                                                 "any more); not re-run", st->attempt, step_remote_name(st), st->target,
                                                 st->connector);
                        else if (vt && vt->resume)
                                (void) set_error(&st->error, "runbookd stopped before attempt %u's remote run was created: "
                                                 "the remote run was never created; not re-run", st->attempt);
                        else if (step_rt(st)->start_replayed)
                                (void) set_error(&st->error, "the machine restarted while attempt %u was starting or "
                                                 "running (the store lost its last writes); not re-run", st->attempt);
                        else
                                (void) set_error(&st->error, "runbookd stopped while attempt %u was running; not re-run",
                                                 st->attempt);
                        step_rt(st)->dirty = true;
                        s->state = SESSION_INTERRUPTED;
                        s->current_step = (int) j;
                        (void) set_error(&s->error, "%s %zu (%s) was interrupted; retry (with a fresh approval) or cancel",
                                         step_phase_to_string(st->phase), j, st->name);
                        session_rt(s)->dirty = true;
                        event_step_interrupted(st);
                }
                if (session_rt(s)->dirty)
                        (void) persist_session(s);
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

        /* sessions that were between two steps go on */
        for (size_t i = 0; i < e->n_active;) {
                Session *s = e->active[i];
                size_t before = e->n_active;
                if (s->state == SESSION_CREATED || s->state == SESSION_RUNNING ||
                    (session_current(s) && session_current(s)->state == STEP_APPROVED))
                        session_advance(s, false);
                if (e->n_active == before)
                        i++;
        }
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
                        r = output_capture_get(&job->output[i], &data[i], &n[i]);
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
