/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine-retry.c: automatic retries ("retries", "retry_delay"). A failed attempt whose command
 * ran leaves the step waiting_retry with its retry_at stored (and a journal record); a timer
 * starts the next attempt then, under the approvals the step already has (they were given for a
 * step whose runbook says it is retried). After a restart the wait goes on for what is left of
 * it. An attempt that was running when runbookd stopped is interrupted, never retried by itself. */
#include "engine/engine-internal.h"
#include "journal/events.h"
#include "shared/log.h"

/* the timer's slack: a retry is not a deadline */
#define RETRY_ACCURACY_USEC (10 * USEC_PER_MSEC)

void step_retry_disarm(Step *st) {
        StepRuntime *rt = step_rt(st);

        rt->retry_timer = sd_event_source_disable_unref(rt->retry_timer);
}

static int on_retry_due(sd_event_source *source, uint64_t usec, void *userdata) {
        Step *st = userdata;
        Session *s = st->session;

        step_retry_disarm(st);
        if (st->state != STEP_WAITING_RETRY || !session_rt(s)->active || session_current(s) != st ||
            session_state_is_final(s->state))
                return 0;
        st->attempt++;
        st->retries_done++;
        log_info("Session %u step %u (%s): attempt %u starts (automatic retry %u of %u).", s->id, st->index, st->name,
                 st->attempt, st->retries_done, st->retries);
        step_run(st, false);
        return 0;
}

int step_retry_arm(Step *st) {
        Engine *e = session_engine(st->session);
        usec_t now = now_usec(CLOCK_REALTIME), left;
        int r;

        if (st->state != STEP_WAITING_RETRY)
                return -ESTALE;
        /* what is left of the wait, on a clock that does not jump; never more than the delay
         * (the wall clock may have been set back since it was stored) */
        left = st->retry_at > now ? st->retry_at - now : 0;
        left = MIN(left, st->retry_delay_usec);
        step_retry_disarm(st);
        /* from the clock read now, after the wall clock above: sd_event_add_time_relative() counts
         * from the loop iteration's start, which may be earlier, and the attempt then started a little
         * before its RetryAt (test-retries caught it under ASan) */
        r = sd_event_add_time(e->event, &step_rt(st)->retry_timer, CLOCK_BOOTTIME, now_usec(CLOCK_BOOTTIME) + left,
                              RETRY_ACCURACY_USEC, on_retry_due, st);
        if (r < 0)
                return log_error_errno(r, "Session %u step %u: cannot arm the timer of its next attempt: %m",
                                       st->session->id, st->index);
        (void) sd_event_source_set_description(step_rt(st)->retry_timer, "step-retry");
        return 0;
}

bool step_retry_schedule(Step *st, StepState ns) {
        Session *s = st->session;
        Engine *e = session_engine(s);
        bool ran = step_rt(st)->ran;
        int r;

        step_rt(st)->ran = false;
        /* only a command that ran and did not do what was expected: not a step that was not run
         * (approvals, target, condition), not one cancelled, interrupted or of unknown outcome */
        if (!ran || !step_state_is_failure(ns) || st->state != ns || st->retries_done >= st->retries ||
            session_state_is_final(s->state))
                return false;

        /* the next step's start written ahead stands for nothing now */
        session_drop_start_ahead(s);
        st->state = STEP_WAITING_RETRY;
        st->retry_at = now_usec(CLOCK_REALTIME) + MAX(st->retry_delay_usec, (usec_t) 1);
        step_rt(st)->dirty = true;
        s->state = SESSION_RUNNING;
        session_rt(s)->dirty = true;
        /* the wait is stored (with the failed attempt's result, whose record follows the commit)
         * before it is announced; if it cannot be, the step fails as it would without retries */
        r = engine_persist_session(s);
        if (r < 0) {
                log_error_errno(r, "Session %u step %u: cannot record its automatic retry, failing it: %m", s->id, st->index);
                st->state = ns;
                st->retry_at = 0;
                return false;
        }
        engine_sync_soon(e);
        event_step_retry_scheduled(st);
        log_info("Session %u step %u (%s): attempt %u %s; attempt %u starts by itself in %llu ms.", s->id, st->index,
                 st->name, st->attempt, step_state_to_string(ns), st->attempt + 1,
                 (unsigned long long) (st->retry_delay_usec / USEC_PER_MSEC));
        engine_hooks_changed(e, s, st);
        if (step_retry_arm(st) < 0) {
                /* without a timer it would wait for ever: it fails now, saying why */
                StepResult res = { .outcome = OUTCOME_ERROR, .exit_status = -1, .error = -ENOMEM,
                                   .message = "runbookd could not arm the timer of the step's next attempt" };
                st->retry_at = 0;
                step_complete(st, &res, NULL);
        }
        return true;
}
