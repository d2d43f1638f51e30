/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* states.h: the states of sessions and steps and the phases of steps, with their names (the
 * words the store, the journal and the bus use). */
#pragma once

#include <errno.h>
#include <stdbool.h>

typedef enum StepPhase {
        PHASE_PRECHECK,
        PHASE_MAIN,
        PHASE_POSTCHECK,
        PHASE_ROLLBACK,           /* run when the main steps end without success (engine-phases.c) */
        PHASE_FINALLY,            /* run at the end, whatever happened */
        _PHASE_MAX,
        _PHASE_INVALID = -EINVAL,
} StepPhase;

const char *step_phase_to_string(StepPhase p);     /* "precheck", "main", "postcheck", "rollback", "finally" */
StepPhase step_phase_from_string(const char *s);

typedef enum SessionState {
        SESSION_CREATED,
        SESSION_WAITING_APPROVAL,
        SESSION_RUNNING,
        SESSION_SUCCEEDED,
        SESSION_FAILED,
        SESSION_REJECTED,
        SESSION_CANCELLED,
        SESSION_INTERRUPTED,
        SESSION_EXPIRED,          /* a step got no decision by its approval deadline */
        SESSION_WAITING_LOCK,     /* its next step needs a lock ("lock") another session holds */
        SESSION_WAITING_WINDOW,   /* its next step may run only in a change window, outside freezes */
        _SESSION_STATE_MAX,
        _SESSION_STATE_INVALID = -EINVAL,
} SessionState;

typedef enum StepState {
        STEP_PENDING,
        STEP_WAITING_APPROVAL,
        STEP_APPROVED,
        STEP_RUNNING,
        STEP_SUCCEEDED,
        STEP_FAILED,
        STEP_TIMED_OUT,
        STEP_REJECTED,
        STEP_SKIPPED,
        STEP_CANCELLED,
        STEP_INTERRUPTED,
        STEP_WAITING_RETRY,       /* an attempt failed; the next starts by itself at its RetryAt ("retries") */
        STEP_EXPIRED,             /* no decision by its approval deadline ("approval_timeout"): never run */
        _STEP_STATE_MAX,
        _STEP_STATE_INVALID = -EINVAL,
} StepState;

/* What became of a session's rollback steps (Session.Rollback). */
typedef enum RollbackState {
        ROLLBACK_NONE,            /* not needed (the main steps succeeded, or the session is not over), or none defined */
        ROLLBACK_RUNNING,
        ROLLBACK_SUCCEEDED,
        ROLLBACK_FAILED,          /* a rollback step failed or timed out */
        ROLLBACK_REJECTED,        /* a rollback step was rejected */
        ROLLBACK_CANCELLED,       /* the session was cancelled during its rollback */
        ROLLBACK_SKIPPED,         /* the session ended without success before any main step started */
        ROLLBACK_EXPIRED,         /* a rollback step got no decision by its approval deadline */
        _ROLLBACK_STATE_MAX,
        _ROLLBACK_STATE_INVALID = -EINVAL,
} RollbackState;

/* Whether a session needs an after-the-fact review (Session.Review): after a break-glass. */
typedef enum ReviewState {
        REVIEW_NONE,              /* nothing to review */
        REVIEW_REQUIRED,          /* a step ran by break-glass; nobody has reviewed it yet */
        REVIEW_DONE,              /* reviewed by someone other than who broke the glass */
        _REVIEW_STATE_MAX,
        _REVIEW_STATE_INVALID = -EINVAL,
} ReviewState;

/* Where a session stands with its locks ("lock" of its runbook, "lock": true of its targets):
 * it takes all of them at once when it reaches its first step that needs one, and holds them
 * until it ends (engine/engine-lock.c). */
typedef enum SessionLockState {
        SESSION_LOCK_NONE,        /* none needed, or not reached yet, or released at its end */
        SESSION_LOCK_WAITING,     /* queued behind other sessions (SESSION_WAITING_LOCK) */
        SESSION_LOCK_HELD,
        _SESSION_LOCK_STATE_MAX,
        _SESSION_LOCK_STATE_INVALID = -EINVAL,
} SessionLockState;

const char *session_lock_state_to_string(SessionLockState s);  /* "", "waiting", "held" */
SessionLockState session_lock_state_from_string(const char *s);

const char *review_state_to_string(ReviewState s);
ReviewState review_state_from_string(const char *s);

const char *rollback_state_to_string(RollbackState s);
RollbackState rollback_state_from_string(const char *s);

const char *session_state_to_string(SessionState s);
SessionState session_state_from_string(const char *s);
const char *step_state_to_string(StepState s);
StepState step_state_from_string(const char *s);

/* Finished: no further transition happens by itself (interrupted waits for Retry or Cancel). */
bool session_state_is_final(SessionState s);
bool step_state_is_final(StepState s);
/* The command ran and did not do what was expected: failed or timed out. */
bool step_state_is_failure(StepState s);
