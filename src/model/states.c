/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "model/states.h"
#include "shared/macro.h"
#include "shared/util.h"

static const char *const step_phase_table[_PHASE_MAX] = {
        [PHASE_PRECHECK] = "precheck",
        [PHASE_MAIN] = "main",
        [PHASE_POSTCHECK] = "postcheck",
        [PHASE_ROLLBACK] = "rollback",
        [PHASE_FINALLY] = "finally",
};

const char *step_phase_to_string(StepPhase p) {
        if (p < 0 || p >= _PHASE_MAX)
                return NULL;
        return step_phase_table[p];
}

StepPhase step_phase_from_string(const char *s) {
        if (!s)
                return _PHASE_INVALID;
        for (StepPhase p = 0; p < _PHASE_MAX; p++)
                if (streq(s, step_phase_table[p]))
                        return p;
        return _PHASE_INVALID;
}

static const char *const rollback_state_table[_ROLLBACK_STATE_MAX] = {
        [ROLLBACK_NONE] = "none",
        [ROLLBACK_RUNNING] = "running",
        [ROLLBACK_SUCCEEDED] = "succeeded",
        [ROLLBACK_FAILED] = "failed",
        [ROLLBACK_REJECTED] = "rejected",
        [ROLLBACK_CANCELLED] = "cancelled",
        [ROLLBACK_SKIPPED] = "skipped",
        [ROLLBACK_EXPIRED] = "expired",
};

static const char *const review_state_table[_REVIEW_STATE_MAX] = {
        [REVIEW_NONE] = "none",
        [REVIEW_REQUIRED] = "required",
        [REVIEW_DONE] = "done",
};

const char *review_state_to_string(ReviewState s) {
        return s >= 0 && s < _REVIEW_STATE_MAX ? review_state_table[s] : NULL;
}

ReviewState review_state_from_string(const char *s) {
        for (int i = 0; s && i < _REVIEW_STATE_MAX; i++)
                if (streq(review_state_table[i], s))
                        return i;
        return _REVIEW_STATE_INVALID;
}

const char *rollback_state_to_string(RollbackState s) {
        return s >= 0 && s < _ROLLBACK_STATE_MAX ? rollback_state_table[s] : NULL;
}

RollbackState rollback_state_from_string(const char *s) {
        for (int i = 0; s && i < _ROLLBACK_STATE_MAX; i++)
                if (streq(rollback_state_table[i], s))
                        return i;
        return _ROLLBACK_STATE_INVALID;
}

static const char *const session_state_table[_SESSION_STATE_MAX] = {
        [SESSION_CREATED] = "created",
        [SESSION_WAITING_APPROVAL] = "waiting_approval",
        [SESSION_RUNNING] = "running",
        [SESSION_SUCCEEDED] = "succeeded",
        [SESSION_FAILED] = "failed",
        [SESSION_REJECTED] = "rejected",
        [SESSION_CANCELLED] = "cancelled",
        [SESSION_INTERRUPTED] = "interrupted",
        [SESSION_EXPIRED] = "expired",
        [SESSION_WAITING_LOCK] = "waiting_lock",
        [SESSION_WAITING_WINDOW] = "waiting_window",
};

static const char *const step_state_table[_STEP_STATE_MAX] = {
        [STEP_PENDING] = "pending",
        [STEP_WAITING_APPROVAL] = "waiting_approval",
        [STEP_APPROVED] = "approved",
        [STEP_RUNNING] = "running",
        [STEP_SUCCEEDED] = "succeeded",
        [STEP_FAILED] = "failed",
        [STEP_TIMED_OUT] = "timed_out",
        [STEP_REJECTED] = "rejected",
        [STEP_SKIPPED] = "skipped",
        [STEP_CANCELLED] = "cancelled",
        [STEP_INTERRUPTED] = "interrupted",
        [STEP_WAITING_RETRY] = "waiting_retry",
        [STEP_EXPIRED] = "expired",
};

const char *session_state_to_string(SessionState s) {
        return s >= 0 && s < _SESSION_STATE_MAX ? session_state_table[s] : NULL;
}

SessionState session_state_from_string(const char *s) {
        for (int i = 0; s && i < _SESSION_STATE_MAX; i++)
                if (streq(session_state_table[i], s))
                        return i;
        return _SESSION_STATE_INVALID;
}

const char *step_state_to_string(StepState s) {
        return s >= 0 && s < _STEP_STATE_MAX ? step_state_table[s] : NULL;
}

StepState step_state_from_string(const char *s) {
        for (int i = 0; s && i < _STEP_STATE_MAX; i++)
                if (streq(step_state_table[i], s))
                        return i;
        return _STEP_STATE_INVALID;
}

bool session_state_is_final(SessionState s) {
        return s == SESSION_SUCCEEDED || s == SESSION_FAILED || s == SESSION_REJECTED || s == SESSION_CANCELLED ||
               s == SESSION_EXPIRED;
}

bool step_state_is_failure(StepState s) {
        return s == STEP_FAILED || s == STEP_TIMED_OUT;
}

bool step_state_is_final(StepState s) {
        return s == STEP_SUCCEEDED || s == STEP_FAILED || s == STEP_TIMED_OUT || s == STEP_REJECTED ||
               s == STEP_SKIPPED || s == STEP_CANCELLED || s == STEP_INTERRUPTED || s == STEP_EXPIRED;
}

static const char *const session_lock_state_table[_SESSION_LOCK_STATE_MAX] = {
        [SESSION_LOCK_NONE] = "",
        [SESSION_LOCK_WAITING] = "waiting",
        [SESSION_LOCK_HELD] = "held",
};

const char *session_lock_state_to_string(SessionLockState s) {
        return s >= 0 && s < _SESSION_LOCK_STATE_MAX ? session_lock_state_table[s] : NULL;
}

SessionLockState session_lock_state_from_string(const char *s) {
        for (int i = 0; s && i < _SESSION_LOCK_STATE_MAX; i++)
                if (streq(session_lock_state_table[i], s))
                        return i;
        return _SESSION_LOCK_STATE_INVALID;
}
