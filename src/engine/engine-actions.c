/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine-actions.c: what callers ask of the engine — start a session, approve or reject its
 * waiting step, cancel it, retry it — each checked, written to the store, then acted on. */
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>

#include "config/template.h"
#include "engine/engine-internal.h"
#include "journal/events.h"
#include "shared/log.h"
#include "store/store-records.h"

/* The session a runbook and the caller's parameters make, as it would be created — parameters
 * bound and checked, each step's target resolved, its command rendered (values of earlier steps
 * still as their references) and its digest computed — but not stored, not active, without the
 * engine's runtime (a plan, or what engine_start_session() goes on with). */
static int session_build(Engine *e, const Runbook *rb, const char *reference, json_t *given_params, bool plan,
                         const Identity *who, Session **ret, char **ret_error) {
        _cleanup_(config_json_wipe_decrefp) json_t *values = NULL;   /* wiped unless the session keeps it */
        _cleanup_(session_freep) Session *s = NULL;
        int r;

        /* a plan, which anyone may ask for, does not say whether a credential is runbookd's own:
         * StartSession refuses it */
        r = runbook_bind_parameters(rb, given_params, plan ? NULL : engine_credential_is_own, e, &values, ret_error);
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
        if (!s->snapshot)
                return -ENOMEM;
        /* a plan seals nothing: it is never run */
        r = session_bind_secrets(s, given_params, !plan, ret_error);
        if (r < 0)
                return r;
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
                st->approvers_from_each = rs->approvers_from_each;
                if (rs->n_approver_groups > 0) {
                        st->approver_groups = calloc(rs->n_approver_groups, sizeof(char *));
                        if (!st->approver_groups)
                                return -ENOMEM;
                        for (size_t k = 0; k < rs->n_approver_groups; k++) {
                                st->approver_groups[k] = strdup(rs->approver_groups[k]);
                                if (!st->approver_groups[k])
                                        return -ENOMEM;
                                st->n_approver_groups++;
                        }
                }
                st->timeout_usec = rs->timeout_usec;
                st->expect_exit = rs->expect_exit;
                st->continue_on_failure = rs->continue_on_failure;
                st->retries = rs->retries;
                st->retry_delay_usec = rs->retry_delay_usec;
                /* for every step: one that needs no approval waits for one after a Retry() */
                {
                        st->approval_timeout_usec = config_duration_pick(rs->approval_timeout, rb->approval_timeout,
                                                                         e->config.approval_timeout_usec);
                        st->remind_before_usec = config_duration_pick(rs->remind_before, rb->remind_before,
                                                                      e->config.remind_before_usec);
                        st->approval_valid_for_usec = config_duration_pick(rs->approval_valid_for,
                                                                           rb->approval_valid_for,
                                                                           e->config.approval_valid_for_usec);
                        /* a reminder no earlier than the step starts waiting */
                        if (st->approval_timeout_usec == 0 || st->remind_before_usec >= st->approval_timeout_usec)
                                st->remind_before_usec = 0;
                }
                st->state = STEP_PENDING;
                st->exit_status = -1;
                st->attempt = 1;
                st->name = strdup(rs->name);
                st->target = strdup(rs->target);
                st->connector = strdup(t->connector);
                st->id = rs->id ? strdup(rs->id) : NULL;
                st->when = rs->when ? strdup(rs->when) : NULL;
                if (!st->name || !st->target || !st->connector || (rs->id && !st->id) || (rs->when && !st->when))
                        return -ENOMEM;
                /* values of earlier steps are substituted when the step is reached (engine-capture.c);
                 * until then the command shows their references */
                r = template_render_steps(rs->run, values, NULL, true, &st->command);
                if (r < 0)
                        return r;
                if (streq(t->connector, "group") && rs->n_captures > 0) {
                        (void) asprintf_safe(ret_error, "%s step %zu (%s) captures values from its output, which needs one "
                                             "target, and runs on target group '%s'",
                                             step_phase_to_string(rs->phase), i, rs->name, rs->target);
                        return -EINVAL;
                }
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
        r = session_locks_init(e, s, rb, values, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int engine_plan_session(Engine *e, const Runbook *rb, json_t *given_params, const Identity *who, Session **ret,
                        char **ret_error) {
        return session_build(e, rb, "", given_params, true, who, ret, ret_error);
}

int engine_start_session(Engine *e, const Runbook *rb, const char *reference, json_t *given_params,
                         const Identity *who, Session **ret, char **ret_error) {
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
        r = session_build(e, rb, reference, given_params, false, who, &s, ret_error);
        if (r < 0)
                return r;
        r = session_runtime_attach(e, s);
        if (r < 0)
                return r;

        /* the first stop needs no action: take it in the same transaction */
        if (s->steps[0].requires_approval && !step_needs_lock(&s->steps[0]))
                step_enter_waiting(&s->steps[0], s->created_at);

        c = (PersistCtx) {
                .session = s,
                .force = true,
                .write_next_id = true,
                .audit = engine_audit_event("start", s, NULL, who, NULL),
        };
        r = engine_persist(e, &c);
        if (r < 0)
                return r;
        r = engine_active_add(e, s);
        if (r < 0)
                return r;
        e->next_id++;

        Session *created = TAKE_PTR(s);
        (void) step_deadline_arm(&created->steps[0]);
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

/* The step's approver groups that 'person' is in, by the group database (getgrouplist(3): their
 * primary group and every group that lists them), as a mask over st->approver_groups. A person
 * the user database does not know is in none. */
static int person_approver_groups(const Step *st, uid_t person, uint32_t *ret) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ gid_t *gids = NULL;
        struct passwd pw, *pwp = NULL;
        size_t size = 4096;
        int n = 64, r;

        *ret = 0;
        /* the answer may not fit a first buffer (sysconf()'s is small): a larger one, up to 1 MiB */
        for (;;) {
                free(buf);
                buf = malloc(size);
                if (!buf)
                        return -ENOMEM;
                r = getpwuid_r(person, &pw, buf, size, &pwp);
                if (r != ERANGE || size >= 1024 * 1024)
                        break;
                size *= 2;
        }
        if (r != 0)
                return -ENOLINK;   /* the user database could not be read: not "not a member" */
        if (!pwp)
                return 0;
        for (;;) {
                int got = n;
                gid_t *g = reallocarray(gids, (size_t) n, sizeof(gid_t));
                if (!g)
                        return -ENOMEM;
                gids = g;
                if (getgrouplist(pw.pw_name, pw.pw_gid, gids, &got) >= 0) {
                        n = got;
                        break;
                }
                if (got <= n || got > 65536)
                        return -ENOLINK;
                n = got;
        }
        for (size_t i = 0; i < st->n_approver_groups; i++) {
                _cleanup_free_ char *gbuf = NULL;
                struct group gr, *grp = NULL;
                size_t gsize = 4096;

                for (;;) {
                        free(gbuf);
                        gbuf = malloc(gsize);
                        if (!gbuf)
                                return -ENOMEM;
                        r = getgrnam_r(st->approver_groups[i], &gr, gbuf, gsize, &grp);
                        if (r != ERANGE || gsize >= 16 * 1024 * 1024)
                                break;
                        gsize *= 2;   /* a large group's member list */
                }
                if (r != 0)
                        return -ENOLINK;
                if (!grp)
                        continue;   /* no such group: nobody is in it */
                for (int k = 0; k < n; k++)
                        if (gids[k] == grp->gr_gid) {
                                *ret |= UINT32_C(1) << i;
                                break;
                        }
        }
        return 0;
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

static int check_decision(Engine *e, Step *st, const Identity *who, bool approve, uint32_t *ret_groups) {
        Session *s = st->session;
        int r;

        if (!session_rt(s)->active || session_state_is_final(s->state))
                return -ESHUTDOWN;
        if (st->state != STEP_WAITING_APPROVAL)
                return -ESTALE;
        if (step_deadline_passed(st))
                return -ETIME;
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
        /* lapsed approvals may be given again: a bound on how many decisions one attempt keeps */
        unsigned n_decisions = 0;
        for (size_t i = 0; i < st->n_approvals; i++)
                n_decisions += st->approvals[i].attempt == st->attempt;
        if (n_decisions >= STEP_DECISIONS_MAX)
                return -ENOBUFS;
        /* who may approve: the step's approver groups (a rejection, which stops, is anyone's polkit allows) */
        if (st->n_approver_groups > 0) {
                uint32_t mask;

                r = person_approver_groups(st, identity_person(who), &mask);
                if (r < 0)
                        return r;
                if (mask == 0)
                        return -EACCES;
                /* from_each: the approval must stand for a group no other approver stands for */
                if (st->approvers_from_each && step_count_groups_with(st, mask, NULL) <= step_count_approvals(st))
                        return -EXFULL;
                *ret_groups = mask;
        }
        return 0;
}

int engine_approve(Engine *e, Step *st, const Identity *who, const char *comment) {
        Session *s = st->session;
        PersistCtx c = { .session = s };
        size_t lapsed[STEP_APPROVERS_MAX], n_lapsed = 0;
        int r;

        /* approvals given longer than approval_valid_for ago lapse when another one arrives (their
         * givers may give them again) */
        if (st->state == STEP_WAITING_APPROVAL && session_rt(s)->active) {
                /* past its deadline it expires as it is, its approvals not marked lapsed first */
                if (step_deadline_passed(st))
                        return -ETIME;
                n_lapsed = step_lapse_stale(st, now_usec(CLOCK_REALTIME), lapsed, ELEMENTSOF(lapsed));
        }
        uint32_t groups = 0;
        r = check_decision(e, st, who, true, &groups);
        if (r >= 0)
                r = step_add_decision(st, who, true, comment);
        if (r < 0) {
                step_unlapse(st, lapsed, n_lapsed);
                return r;
        }
        st->approvals[st->n_approvals - 1].groups = groups;
        if (step_count_approvals(st) >= step_approvals_required(st)) {
                st->state = STEP_APPROVED;
                step_deadline_disarm(st);
        }

        /* the approval is durable before anyone is told (the bus layer syncs before replying) */
        c.audit = engine_audit_event("approve", s, st, who, comment);
        if (c.audit && n_lapsed > 0)
                json_object_set_new(c.audit, "lapsed", step_lapses_json(st, lapsed, n_lapsed));
        r = engine_persist(e, &c);
        if (r < 0) {
                session_notify_clear(s);   /* the transition is taken back: its events too */
                approval_pop(st);
                step_unlapse(st, lapsed, n_lapsed);
                st->state = STEP_WAITING_APPROVAL;
                (void) step_deadline_arm(st);
                return r;
        }
        step_lapses_announce(st, lapsed, n_lapsed, "older than approval_valid_for when another approval arrived");
        event_step_approved(st, &st->approvals[st->n_approvals - 1]);
        engine_hooks_changed(e, s, st);
        if (st->state == STEP_APPROVED)
                session_advance(s, false);
        return 0;
}

int engine_reject(Engine *e, Step *st, const Identity *who, const char *comment) {
        Session *s = st->session;
        PersistCtx c = { .session = s };
        _cleanup_free_ char *why = NULL, *user = identity_describe(who);
        int r;

        r = check_decision(e, st, who, false, NULL);
        if (r < 0)
                return r;
        r = step_add_decision(st, who, false, comment);
        if (r < 0)
                return r;
        st->state = STEP_REJECTED;
        step_deadline_disarm(st);
        st->finished_at = now_usec(CLOCK_REALTIME);
        (void) engine_set_error(&st->error, "rejected by %s%s%s", strna(user), isempty(comment) ? "" : ": ", strempty(comment));
        c.audit = engine_audit_event("reject", s, st, who, comment);
        r = engine_persist(e, &c);
        if (r < 0) {
                session_notify_clear(s);   /* the transition is taken back: its events too */
                approval_pop(st);
                st->state = STEP_WAITING_APPROVAL;
                st->finished_at = 0;
                (void) step_deadline_arm(st);
                return r;
        }
        event_step_rejected(st, &st->approvals[st->n_approvals - 1]);
        engine_hooks_changed(e, s, st);
        (void) asprintf_safe(&why, "%s %u (%s) rejected by %s", step_phase_to_string(st->phase), st->index, st->name,
                             strna(user));
        session_end_flow(s, st, SESSION_REJECTED, why);
        return 0;
}

int engine_break_glass(Engine *e, Step *st, const Identity *who, const char *reason) {
        Session *s = st->session;
        PersistCtx c = { .session = s };
        ReviewState old_review = s->review;
        StepState old_state = st->state;
        int r;

        if (!session_rt(s)->active || session_state_is_final(s->state))
                return -ESHUTDOWN;
        /* waiting for its approvals, or with them for its change window (engine-window.c) */
        if (session_break_glass_step(s) != st)
                return -ESTALE;
        if (json_is_false(json_object_get(s->snapshot, "break_glass")))
                return -EPERM;
        /* a person, on the record: not a service or a process a step left behind (whatever
         * allow_unattended_root_approval says: this one is reviewed by person) */
        if (person_is_unattended(who->uid, who->login_uid))
                return -ENOKEY;
        if (step_deadline_passed(st))
                return -ETIME;
        if (isempty(reason))
                return -EINVAL;
        r = step_add_decision(st, who, true, reason);
        if (r < 0)
                return r;
        st->approvals[st->n_approvals - 1].break_glass = true;
        st->state = STEP_APPROVED;
        step_deadline_disarm(st);
        s->review = REVIEW_REQUIRED;
        session_rt(s)->dirty = true;
        c.audit = engine_audit_event("break_glass", s, st, who, reason);
        {
                _cleanup_free_ char *by = identity_describe(who);
                session_notify(s, NOTIFY_BREAK_GLASS, st, by ?: who->user, reason);
        }
        r = engine_persist(e, &c);
        if (r < 0) {
                session_notify_clear(s);   /* the transition is taken back: its events too */
                approval_pop(st);
                st->state = old_state;
                s->review = old_review;
                (void) step_deadline_arm(st);
                return r;
        }
        engine_sync_soon(e);
        event_break_glass(st, &st->approvals[st->n_approvals - 1]);
        engine_hooks_changed(e, s, st);
        engine_hooks_changed(e, s, NULL);
        session_advance(s, false);
        return 0;
}

int engine_review(Engine *e, Session *s, const Identity *who, const char *comment) {
        PersistCtx c = { .session = s, .force = true };
        Approval old = s->reviewer;
        int r;

        if (s->review != REVIEW_REQUIRED)
                return -ENOMSG;
        if (person_is_unattended(who->uid, who->login_uid))
                return -ENOKEY;
        /* someone else than whoever broke the glass in it */
        for (size_t i = 0; i < s->n_steps; i++)
                for (size_t k = 0; k < s->steps[i].n_approvals; k++)
                        if (s->steps[i].approvals[k].break_glass &&
                            approval_person(&s->steps[i].approvals[k]) == identity_person(who))
                                return -EPERM;
        s->reviewer = (Approval) {
                .uid = who->uid,
                .user = strdup(strempty(who->user)),
                .login_uid = who->login_uid,
                .login_user = who->login_user ? strdup(who->login_user) : NULL,
                .approve = true,
                .time = now_usec(CLOCK_REALTIME),
                .comment = strdup(strempty(comment)),
        };
        if (!s->reviewer.user || !s->reviewer.comment || (who->login_user && !s->reviewer.login_user)) {
                approval_done(&s->reviewer);
                s->reviewer = old;
                return -ENOMEM;
        }
        s->review = REVIEW_DONE;
        session_rt(s)->dirty = true;
        c.audit = engine_audit_event("review", s, NULL, who, comment);
        r = engine_persist(e, &c);
        if (r < 0) {
                session_notify_clear(s);   /* the transition is taken back: its events too */
                approval_done(&s->reviewer);
                s->reviewer = old;
                s->review = REVIEW_REQUIRED;
                return r;
        }
        approval_done(&old);
        engine_sync_soon(e);
        event_session_reviewed(s);
        engine_hooks_changed(e, s, NULL);
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
        /* cancelled already, its command not ended yet (rollback or finally steps wait for it) */
        if (cur && cur->state == STEP_CANCELLED && step_has_job(cur))
                return -EALREADY;
        if (cur && !step_state_is_final(cur->state)) {
                if (cur->state == STEP_WAITING_RETRY) {
                        step_retry_disarm(cur);
                        cur->retry_at = 0;
                }
                cur->state = STEP_CANCELLED;
                (void) engine_set_error(&cur->error, "cancelled by %s", strna(user));
                if (!step_has_job(cur))
                        cur->finished_at = now_usec(CLOCK_REALTIME);
                step_rt(cur)->dirty = true;
                if (cur->n_hosts > 0) {
                        _cleanup_free_ char *skip = NULL;
                        (void) asprintf_safe(&skip, "the session was cancelled by %s", strna(user));
                        group_skip_pending(cur, strna(skip));
                }
        }
        c.audit = engine_audit_event("cancel", s, NULL, who, NULL);
        r = engine_persist(e, &c);
        if (r < 0)
                return r;
        event_session_cancelled(s, who);
        if (cur && !step_has_job(cur))
                engine_hooks_changed(e, s, cur); /* a running one is announced when its command ends */
        (void) asprintf_safe(&why, "cancelled by %s", strna(user));
        /* rollback or finally steps after a running command wait until it has stopped (its
         * step_settle() goes on); else the session ends now, and the command is stopped */
        bool wait = cur && step_has_job(cur) && session_end_runs_more(s, cur);
        if (!wait)
                session_end_flow(s, cur, SESSION_CANCELLED, why);

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

/* A step after the one retried goes back to pending, as if it had not been reached: its earlier
 * run (a finally step's), decisions (a rejected rollback step's) and values stay in the record of
 * that attempt. */
static void step_rearm_later(Step *st) {
        if (st->state == STEP_PENDING)
                return;
        /* the decisions given for its earlier attempt do not count for the next one; a step that
         * needs none keeps its number (an attempt after the first needs a person's approval) */
        if (st->requires_approval && (st->started_at != 0 || st->n_approvals > 0))
                st->attempt++;
        st->state = STEP_PENDING;
        st->error = mfree_str(st->error);
        st->exit_status = -1;
        st->signal = 0;
        st->retries_done = 0;
        st->retry_at = 0;
        st->started_at = st->finished_at = st->waiting_since = 0;
        st->truncated = false;
        json_decref(st->captured);
        st->captured = NULL;
        json_decref(st->remote);
        st->remote = NULL;
        for (size_t h = 0; h < st->n_hosts; h++) {
                HostRun *hr = &st->hosts[h];
                hr->state = STEP_PENDING;
                hr->error = mfree_str(hr->error);
                hr->exit_status = -1;
                hr->signal = 0;
                hr->started_at = hr->finished_at = hr->duration_usec = 0;
                hr->truncated = false;
                json_decref(hr->remote);
                hr->remote = NULL;
        }
}

/* The cached copy of a finished session goes back into the active set. */
static int session_reactivate(Engine *e, Session *s) {
        for (unsigned i = 0; i < ENGINE_CACHE_SIZE; i++)
                if (e->cache[i] == s)
                        e->cache[i] = NULL;
        return engine_active_add(e, s);
}

/* The cached copy is dropped: the next reader loads the session from the store as it is. */
static void session_uncache(Engine *e, Session *s) {
        for (unsigned i = 0; i < ENGINE_CACHE_SIZE; i++)
                if (e->cache[i] == s) {
                        e->cache[i] = NULL;
                        engine_session_free(s);
                        return;
                }
}

/* Session.Retry() of a session that failed or timed out at a step: that step is re-armed (its
 * next attempt) behind a fresh approval, whatever its runbook says, and the session goes on
 * from there; the steps before it are not run again. */
static int retry_failed(Engine *e, Session *s, const Identity *who, char **ret_error) {
        PersistCtx c = { .session = s, .force = true };
        _cleanup_free_ char *why = NULL;
        Step *st = session_current(s);
        int r;

        if (!st || (st->state != STEP_FAILED && st->state != STEP_TIMED_OUT)) {
                (void) asprintf_safe(ret_error, "Session %u did not fail at a step that can be retried; start a new session",
                                     s->id);
                return -ENOMSG;
        }
        if (s->rollback != ROLLBACK_NONE && s->rollback != ROLLBACK_SKIPPED && s->rollback != ROLLBACK_REJECTED &&
            s->rollback != ROLLBACK_EXPIRED) {
                (void) asprintf_safe(ret_error, "Session %u cannot be retried: its rollback ran (%s), so what its steps "
                                     "did was undone (or partly); start a new session",
                                     s->id, rollback_state_to_string(s->rollback));
                return -ENOMSG;
        }
        if (e->n_active >= e->config.max_active_sessions) {
                (void) asprintf_safe(ret_error, "too many active sessions (%u); finish or cancel some first",
                                     e->config.max_active_sessions);
                return -ENOBUFS;
        }
        unsigned mine = 0;
        for (size_t i = 0; i < e->n_active; i++)
                mine += session_creator_person(e->active[i]) == session_creator_person(s);
        if (mine >= e->config.max_active_sessions_per_user) {
                (void) asprintf_safe(ret_error, "the creator of session %u already has %u active sessions "
                                     "(max_active_sessions_per_user); finish or cancel some first", s->id, mine);
                return -ENOBUFS;
        }

        for (size_t i = st->index + 1; i < s->n_steps; i++) {
                step_rearm_later(&s->steps[i]);
                step_rt(&s->steps[i])->dirty = true;
        }
        r = engine_step_render(st, &why);
        if (r < 0) {
                session_uncache(e, s);
                return r;
        }
        st->attempt++;
        st->retries_done = 0;   /* a person's decision: its automatic retries begin again */
        step_enter_waiting(st, now_usec(CLOCK_REALTIME));
        st->error = mfree_str(st->error);
        s->error = mfree_str(s->error);
        s->outcome = SESSION_CREATED;   /* none */
        s->outcome_error = mfree_str(s->outcome_error);
        s->outcome_step = -1;
        s->rollback = ROLLBACK_NONE;
        s->finished_at = 0;
        session_rt(s)->dirty = true;
        c.audit = engine_audit_event("retry", s, st, who, NULL);
        r = engine_persist(e, &c);
        if (r < 0) {
                session_notify_clear(s);   /* the transition is taken back: its events too */
                /* the cached copy no longer matches the store: drop it */
                session_uncache(e, s);
                return r;
        }
        r = session_reactivate(e, s);
        if (r < 0)
                return r;
        event_step_retry(st, who);
        (void) step_deadline_arm(st);
        if (e->hooks.session_new)
                e->hooks.session_new(s, e->hooks.userdata);   /* back among the managed objects */
        engine_hooks_changed(e, s, st);
        if (why) {
                StepResult res = { .outcome = OUTCOME_ERROR, .exit_status = -1, .error = -EINVAL, .message = why };
                step_complete(st, &res, NULL);
        }
        return 0;
}

int engine_retry(Engine *e, Session *s, const Identity *who, char **ret_error) {
        PersistCtx c = { .session = s };
        _cleanup_free_ char *why = NULL;
        Step *st;
        int r;

        if (s->state == SESSION_FAILED && !session_rt(s)->active) {
                _cleanup_free_ char *unused = NULL;
                return retry_failed(e, s, who, ret_error ?: &unused);
        }
        if (!session_rt(s)->active || session_state_is_final(s->state))
                return -ESHUTDOWN;
        st = session_current(s);
        if (s->state != SESSION_INTERRUPTED || !st || st->state != STEP_INTERRUPTED)
                return -ENOMSG;

        /* the values of earlier steps, as when a step is reached: one found interrupted after a
         * reboot (its start written ahead) may never have been */
        r = engine_step_render(st, &why);
        if (r < 0)
                return r;
        /* and its condition (it depends only on parameters and values stored before the step):
         * false, the step is skipped as it would have been when reached */
        _cleanup_(json_decrefp) json_t *seen = NULL;
        _cleanup_free_ char *skip = NULL;
        bool run = true;
        if (!why) {
                r = engine_step_condition(st, &run, &skip, &seen);
                if (r < 0)
                        return r;
                if (r > 0) {
                        why = TAKE_PTR(skip);  /* it cannot be evaluated: the attempt fails, saying why */
                        run = true;
                }
        }
        _cleanup_free_ char *old_error = TAKE_PTR(st->error), *old_session_error = TAKE_PTR(s->error);
        unsigned old_retries_done = st->retries_done;
        usec_t old_deadline = st->approval_deadline, old_waiting_since = st->waiting_since;
        bool old_reminded = st->reminded;
        st->attempt++;
        st->retries_done = 0;
        if (run)
                step_enter_waiting(st, now_usec(CLOCK_REALTIME));
        else {
                st->state = STEP_SKIPPED;
                st->finished_at = now_usec(CLOCK_REALTIME);
                st->error = TAKE_PTR(skip);
                s->state = SESSION_RUNNING;
                s->current_step++;
        }
        step_rt(st)->dirty = true;
        session_rt(s)->dirty = true;
        c.audit = engine_audit_event("retry", s, st, who, NULL);
        r = engine_persist(e, &c);
        if (r < 0) {
                session_notify_clear(s);   /* the transition is taken back: its events too */
                /* put the model back as the store has it */
                st->attempt--;
                st->retries_done = old_retries_done;
                if (!run)
                        s->current_step--;
                st->state = STEP_INTERRUPTED;
                s->state = SESSION_INTERRUPTED;
                st->approval_deadline = old_deadline;
                st->waiting_since = old_waiting_since;
                st->reminded = old_reminded;
                free(st->error);
                st->error = TAKE_PTR(old_error);
                s->error = TAKE_PTR(old_session_error);
                return r;
        }
        event_step_retry(st, who);
        (void) step_deadline_arm(st);
        engine_hooks_changed(e, s, st);
        if (!run) {
                event_step_skipped(st, seen);
                session_advance(s, false);
                return 0;
        }
        if (why) {
                /* a value it needs is missing: this attempt fails before it runs, saying why */
                StepResult res = { .outcome = OUTCOME_ERROR, .exit_status = -1, .error = -EINVAL, .message = why };
                step_complete(st, &res, NULL);
        }
        return 0;
}
