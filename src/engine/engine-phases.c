/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine-phases.c: what follows the main flow of a session (prechecks, main steps, postchecks).
 * The steps are stored in phase order: the flow, then "rollback", then "finally".
 *
 * When the flow succeeds, the rollback steps are skipped and the finally steps run. When it ends
 * without success (a step failed, timed out or was rejected, or the session was cancelled), the
 * session keeps what ended it (its outcome), its rollback steps run if a main step had started,
 * then its finally steps; only then does it end, in its outcome: a handled failure never turns
 * green, and nothing a rollback or finally step does changes how the session ends. */
#include <assert.h>

#include "engine/engine-internal.h"
#include "journal/events.h"
#include "shared/log.h"

static bool phase_in_flow(StepPhase p) {
        return p == PHASE_PRECHECK || p == PHASE_MAIN || p == PHASE_POSTCHECK;
}

/* The first step of phase 'p' or of a later one; n_steps: none. */
static size_t phase_start(const Session *s, StepPhase p) {
        size_t i = 0;

        while (i < s->n_steps && s->steps[i].phase < p)
                i++;
        return i;
}

static bool session_has_phase(const Session *s, StepPhase p) {
        size_t i = phase_start(s, p);
        return i < s->n_steps && s->steps[i].phase == p;
}

/* A main step was set running (it may have changed something). */
static bool session_main_started(const Session *s) {
        for (size_t i = 0; i < s->n_steps; i++)
                if (s->steps[i].phase == PHASE_MAIN && s->steps[i].started_at != 0)
                        return true;
        return false;
}

/* Skips the steps from 'from' on that have not run, up to the first step of phase 'until'. */
static void skip_steps(Session *s, size_t from, StepPhase until, const char *why) {
        Engine *e = session_engine(s);

        for (size_t i = from; i < s->n_steps && s->steps[i].phase < until; i++) {
                Step *st = &s->steps[i];

                if (st->state != STEP_PENDING && st->state != STEP_WAITING_APPROVAL && st->state != STEP_APPROVED)
                        continue;
                st->state = STEP_SKIPPED;
                st->finished_at = now_usec(CLOCK_REALTIME);
                free(st->error);
                st->error = why ? strdup(why) : NULL;
                step_rt(st)->dirty = true;
                engine_hooks_changed(e, s, st);
        }
}

/* Where a session goes once its flow, or its rollback, ends at step 'at' (NULL: the flow, outside
 * any step): the first rollback or finally step to run, or n_steps (it ends now). */
static size_t next_after_end(const Session *s, const Step *at, bool *ret_rollback) {
        StepPhase phase = at ? at->phase : PHASE_MAIN;

        *ret_rollback = false;
        if (phase_in_flow(phase) && phase == PHASE_MAIN && session_has_phase(s, PHASE_ROLLBACK) &&
            session_main_started(s)) {
                *ret_rollback = true;
                return phase_start(s, PHASE_ROLLBACK);
        }
        if (phase == PHASE_FINALLY)
                return s->n_steps;
        return phase_start(s, PHASE_FINALLY);
}

bool session_end_runs_more(const Session *s, const Step *at) {
        bool rollback;
        return next_after_end(s, at, &rollback) < s->n_steps;
}

static void session_go_to(Session *s, size_t i) {
        s->current_step = (int) i;
        s->state = SESSION_RUNNING;
        session_rt(s)->dirty = true;
        engine_hooks_changed(session_engine(s), s, NULL);
        session_advance(s, false);
}

void session_end_flow(Session *s, Step *at, SessionState cause, const char *why) {
        StepPhase phase = at ? at->phase : PHASE_MAIN;
        bool rollback;
        size_t next;

        assert(session_state_is_final(cause));
        session_drop_start_ahead(s);
        next = next_after_end(s, at, &rollback);

        if (phase_in_flow(phase)) {
                if (next >= s->n_steps) {
                        /* nothing runs after it: it ends as it always did */
                        if (session_has_phase(s, PHASE_ROLLBACK))
                                s->rollback = phase == PHASE_POSTCHECK ? ROLLBACK_NONE : ROLLBACK_SKIPPED;
                        session_finish(s, cause, why);
                        return;
                }
                s->outcome = cause;
                s->outcome_step = at ? (int) at->index : -1;
                free(s->outcome_error);
                s->outcome_error = why ? strdup(why) : NULL;
                free(s->error);
                s->error = why ? strdup(why) : NULL;
                skip_steps(s, 0, PHASE_ROLLBACK, NULL);
                if (rollback) {
                        s->rollback = ROLLBACK_RUNNING;
                        log_info("Session %u: %s; it rolls back.", s->id, strna(why));
                        event_rollback_started(s);
                } else if (session_has_phase(s, PHASE_ROLLBACK)) {
                        /* a failed postcheck, or nothing changed yet: no rollback */
                        s->rollback = phase == PHASE_POSTCHECK ? ROLLBACK_NONE : ROLLBACK_SKIPPED;
                        skip_steps(s, phase_start(s, PHASE_ROLLBACK), PHASE_FINALLY,
                                   phase == PHASE_POSTCHECK ? "not run: a postcheck failed after the main steps succeeded"
                                                            : "not run: no main step had started");
                }
                session_go_to(s, next);
                return;
        }

        if (phase == PHASE_ROLLBACK) {
                s->rollback = cause == SESSION_REJECTED ? ROLLBACK_REJECTED :
                              cause == SESSION_EXPIRED ? ROLLBACK_EXPIRED :
                              cause == SESSION_CANCELLED ? ROLLBACK_CANCELLED : ROLLBACK_FAILED;
                skip_steps(s, at->index + 1, PHASE_FINALLY, "not run: the rollback ended at an earlier step");
                log_warning("Session %u: its rollback %s at %s %u (%s).", s->id, rollback_state_to_string(s->rollback),
                            step_phase_to_string(at->phase), at->index, at->name);
                event_rollback_ended(s, at);
        }
        /* a finally step's failure is recorded with it; the session ends as its flow did */
        if (next < s->n_steps) {
                session_go_to(s, next);
                return;
        }
        skip_steps(s, 0, _PHASE_MAX, NULL);
        if (session_state_is_final(s->outcome))
                session_finish(s, s->outcome, s->outcome_error);
        else
                session_finish(s, SESSION_SUCCEEDED, NULL);
}

int session_enter_phase(Session *s, const Step *st) {
        /* the rollback has run to its end */
        if ((!st || st->phase == PHASE_FINALLY) && s->rollback == ROLLBACK_RUNNING) {
                s->rollback = ROLLBACK_SUCCEEDED;
                session_rt(s)->dirty = true;
                log_info("Session %u: its rollback succeeded.", s->id);
                event_rollback_ended(s, NULL);
                engine_hooks_changed(session_engine(s), s, NULL);
        }
        if (!st) {
                if (session_state_is_final(s->outcome))
                        session_finish(s, s->outcome, s->outcome_error);
                else
                        session_finish(s, SESSION_SUCCEEDED, NULL);
                return PHASE_ENTER_ENDED;
        }
        /* the flow succeeded: no rollback */
        if (st->phase == PHASE_ROLLBACK && !session_state_is_final(s->outcome)) {
                size_t next = phase_start(s, PHASE_FINALLY);

                skip_steps(s, st->index, PHASE_FINALLY, "not run: the main steps succeeded");
                s->current_step = (int) next;
                session_rt(s)->dirty = true;
                return PHASE_ENTER_MOVED;
        }
        return PHASE_ENTER_GO;
}
