/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine-deadline.c: approval deadlines ("approval_timeout", "remind_before"). A step that starts
 * waiting for approval gets its deadline, stored with it (ApprovalDeadline, wall clock). A timer
 * on CLOCK_REALTIME (a deadline is a time of day: a clock set forward brings it nearer) first
 * sends the reminder, once per wait, then expires the step: it becomes expired, is never run,
 * and the session ends expired, after its rollback and finally steps as after a rejection. No
 * step is ever approved by default. After a restart the timer is armed again from the stored
 * deadline; one that passed while runbookd was down expires the step at once. */
#include <unistd.h>

#include "engine/engine-internal.h"
#include "journal/events.h"
#include "shared/log.h"

/* how late a deadline may be acted on: it is a deadline, but not a real-time one */
#define DEADLINE_ACCURACY_USEC (50 * USEC_PER_MSEC)
/* an expiry that could not be stored is tried again after this */
#define DEADLINE_RETRY_USEC (5 * USEC_PER_SEC)

void step_enter_waiting(Step *st, usec_t now) {
        Session *s = st->session;

        st->state = STEP_WAITING_APPROVAL;
        st->waiting_since = now;
        st->approval_deadline = st->approval_timeout_usec > 0 ? now + st->approval_timeout_usec : 0;
        st->reminded = false;
        /* no longer waiting for a change window: its approvals come first again */
        st->window_at = 0;
        st->window_why = mfree_str(st->window_why);
        s->state = SESSION_WAITING_APPROVAL;
        if (s->runtime) {
                step_window_disarm(st);
                step_rt(st)->dirty = true;
                session_rt(s)->dirty = true;
                session_notify(s, NOTIFY_APPROVAL_NEEDED, st, NULL, NULL);
        }
}

void step_deadline_disarm(Step *st) {
        StepRuntime *rt = step_rt(st);

        rt->deadline_timer = sd_event_source_disable_unref(rt->deadline_timer);
}

/* When the timer is due next: the reminder, then the deadline. */
static usec_t next_due(const Step *st) {
        if (!st->reminded && st->remind_before_usec > 0 && st->approval_deadline > st->remind_before_usec)
                return st->approval_deadline - st->remind_before_usec;
        return st->approval_deadline;
}

static bool waits_for_deadline(const Step *st) {
        Session *s = st->session;

        return st->state == STEP_WAITING_APPROVAL && st->approval_deadline > 0 && session_rt(s)->active &&
               session_current(s) == st && !session_state_is_final(s->state);
}

static int arm_at(Step *st, usec_t when);
static void step_expire(Step *st);

bool step_deadline_passed(Step *st) {
        if (st->state != STEP_WAITING_APPROVAL || st->approval_deadline == 0 ||
            now_usec(CLOCK_REALTIME) < st->approval_deadline)
                return false;
        /* a decision that comes after the deadline, before its timer: the step expires now */
        if (session_rt(st->session)->active && session_current(st->session) == st)
                step_expire(st);
        return true;
}

static void step_expire(Step *st) {
        Session *s = st->session;
        Engine *e = session_engine(s);
        Identity self = { .uid = geteuid(), .user = (char *) "runbookd", .login_uid = UID_INVALID };
        PersistCtx c = { .session = s };
        _cleanup_free_ char *why = NULL;
        char b[DURATION_MAX];
        int r;

        st->state = STEP_EXPIRED;
        st->finished_at = now_usec(CLOCK_REALTIME);
        (void) engine_set_error(&st->error, "expired: no decision within %s (%u of %u approvals given); not run",
                                connector_format_timeout(b, sizeof b, st->approval_timeout_usec), step_count_approvals(st),
                                step_approvals_required(st));
        step_rt(st)->dirty = true;
        c.audit = engine_audit_event("expire", s, st, &self, NULL);
        session_notify(s, NOTIFY_APPROVAL_EXPIRED, st, NULL, NULL);
        r = engine_persist(e, &c);
        if (r < 0) {
                /* it stays waiting (it is not approved by this either) and expires when it can be stored */
                log_error_errno(r, "Session %u step %u: cannot record its expiry, trying again: %m", s->id, st->index);
                session_notify_clear(s);   /* queued again with the next try */
                st->state = STEP_WAITING_APPROVAL;
                st->finished_at = 0;
                st->error = mfree(st->error);
                (void) arm_at(st, now_usec(CLOCK_REALTIME) + DEADLINE_RETRY_USEC);
                return;
        }
        engine_sync_soon(e);
        event_step_expired(st);
        log_warning("Session %u step %u (%s) expired without a decision.", s->id, st->index, st->name);
        engine_hooks_changed(e, s, st);
        (void) asprintf_safe(&why, "%s %u (%s) expired: no decision within %s", step_phase_to_string(st->phase),
                             st->index, st->name, connector_format_timeout(b, sizeof b, st->approval_timeout_usec));
        session_end_flow(s, st, SESSION_EXPIRED, why);
}

static void step_remind(Step *st) {
        Session *s = st->session;

        st->reminded = true;
        step_rt(st)->dirty = true;
        session_notify(s, NOTIFY_APPROVAL_REMINDER, st, NULL, NULL);
        /* sent once: stored first (a reminder lost to a crash is not worth a second one) */
        if (engine_persist_session(s) < 0)
                log_warning("Session %u step %u: cannot record its reminder; it is sent anyway.", s->id, st->index);
        event_approval_reminder(st);
        log_info("Session %u step %u (%s) still waits for approval; reminder sent.", s->id, st->index, st->name);
        engine_hooks_changed(session_engine(s), s, st);
}

static int on_deadline(sd_event_source *source, uint64_t usec, void *userdata) {
        Step *st = userdata;
        usec_t now = now_usec(CLOCK_REALTIME);

        step_deadline_disarm(st);
        if (!waits_for_deadline(st))
                return 0;
        if (now >= st->approval_deadline) {
                step_expire(st);
                return 0;
        }
        if (!st->reminded && st->remind_before_usec > 0 && now >= next_due(st))
                step_remind(st);
        (void) arm_at(st, next_due(st));
        return 0;
}

static int arm_at(Step *st, usec_t when) {
        Engine *e = session_engine(st->session);
        int r;

        step_deadline_disarm(st);
        r = sd_event_add_time(e->event, &step_rt(st)->deadline_timer, CLOCK_REALTIME, when, DEADLINE_ACCURACY_USEC,
                              on_deadline, st);
        if (r < 0)
                return log_error_errno(r, "Session %u step %u: cannot arm the timer of its approval deadline: %m",
                                       st->session->id, st->index);
        (void) sd_event_source_set_description(step_rt(st)->deadline_timer, "step-deadline");
        return 0;
}

int step_deadline_arm(Step *st) {
        if (!waits_for_deadline(st)) {
                step_deadline_disarm(st);
                return 0;
        }
        return arm_at(st, next_due(st));
}

/* ---------------------------------------------------------------- approval_valid_for */

size_t step_lapse_stale(Step *st, usec_t now, size_t *idx, size_t max) {
        size_t n = 0;

        if (st->approval_valid_for_usec == 0)
                return 0;
        for (size_t i = 0; i < st->n_approvals && n < max; i++) {
                Approval *a = &st->approvals[i];

                if (!a->approve || a->lapsed || a->attempt != st->attempt || a->time + st->approval_valid_for_usec >= now)
                        continue;
                a->lapsed = true;
                idx[n++] = i;
        }
        if (n > 0 && st->session->runtime)
                step_rt(st)->dirty = true;
        return n;
}

void step_unlapse(Step *st, const size_t *idx, size_t n) {
        for (size_t i = 0; i < n; i++)
                st->approvals[idx[i]].lapsed = false;
}

void step_lapses_announce(Step *st, const size_t *idx, size_t n, const char *when) {
        for (size_t i = 0; i < n; i++) {
                const Approval *a = &st->approvals[idx[i]];

                event_approval_lapsed(st, a, when);
                log_info("Session %u step %u (%s): the approval of %s lapsed (%s).", st->session->id, st->index,
                         st->name, strna(a->login_user ?: a->user), when);
        }
}

json_t *step_lapses_json(const Step *st, const size_t *idx, size_t n) {
        json_t *list = json_array();

        for (size_t i = 0; list && i < n; i++) {
                const Approval *a = &st->approvals[idx[i]];
                json_t *o = json_pack("{s:I,s:s,s:I}", "uid", (json_int_t) a->uid, "user", strempty(a->user),
                                      "time", (json_int_t) a->time);
                if (!o || json_array_append_new(list, o) < 0) {
                        json_decref(list);
                        return NULL;
                }
        }
        return list;
}

bool step_approvals_still_valid(Step *st) {
        Session *s = st->session;
        Engine *e = session_engine(s);
        Identity self = { .uid = geteuid(), .user = (char *) "runbookd", .login_uid = UID_INVALID };
        size_t idx[STEP_APPROVERS_MAX];
        PersistCtx c = { .session = s };
        size_t n;
        int r;

        /* the approvals of an attempt cover the automatic retries after it (engine-retry.c); a
         * break-glass stands for every approval the step needed */
        if (st->state != STEP_APPROVED || st->retries_done > 0 || step_break_glass(st, st->attempt))
                return true;
        n = step_lapse_stale(st, now_usec(CLOCK_REALTIME), idx, ELEMENTSOF(idx));
        if (n == 0 || step_count_approvals(st) >= step_approvals_required(st))
                return true;
        /* given too long before the step could start: it waits for them again */
        step_enter_waiting(st, now_usec(CLOCK_REALTIME));
        c.audit = engine_audit_event("lapse", s, st, &self, NULL);
        if (c.audit)
                json_object_set_new(c.audit, "lapsed", step_lapses_json(st, idx, n));
        r = engine_persist(e, &c);
        if (r < 0)
                log_error_errno(r, "Session %u step %u: cannot record that its approvals lapsed: %m", s->id, st->index);
        engine_sync_soon(e);
        step_lapses_announce(st, idx, n, "older than approval_valid_for when the step was to start");
        (void) step_deadline_arm(st);
        engine_hooks_changed(e, s, st);
        return false;
}
