/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-session.c: /org/runbookd1/session/<id>, org.runbookd1.Session, served from the engine
 * (active sessions) or the store (finished ones) on demand through a fallback vtable. */
#include <stdio.h>

#include "bus/bus-errors.h"
#include "bus/bus-objects.h"
#include "shared/log.h"

#define SESSION_PREFIX "/org/runbookd1/session/"

/* Parses "<id>" or "<id>/step/<n>" after the prefix. Returns 1 with a step, 0 without, -EINVAL. */
static int parse_path(const char *path, uint32_t *ret_id, uint32_t *ret_step) {
        const char *p;
        char *end;
        unsigned long id, step;

        if (strncmp(path, SESSION_PREFIX, strlen(SESSION_PREFIX)) != 0)
                return -EINVAL;
        p = path + strlen(SESSION_PREFIX);
        if (*p < '1' || *p > '9')
                return -EINVAL;
        errno = 0;
        id = strtoul(p, &end, 10);
        if (errno != 0 || id == 0 || id > UINT32_MAX)
                return -EINVAL;
        *ret_id = (uint32_t) id;
        if (*end == 0)
                return 0;
        if (strncmp(end, "/step/", 6) != 0)
                return -EINVAL;
        p = end + 6;
        if (*p < '0' || *p > '9' || (*p == '0' && p[1] != 0))
                return -EINVAL;
        errno = 0;
        step = strtoul(p, &end, 10);
        if (errno != 0 || *end != 0 || step > UINT32_MAX)
                return -EINVAL;
        *ret_step = (uint32_t) step;
        return 1;
}

/* The session (want_step false) or the step a path names, if there is one. */
static int object_find(Manager *m, const char *path, bool want_step, void **found) {
        uint32_t id = 0, step = 0;
        Session *s;
        int r;

        if (parse_path(path, &id, &step) != (want_step ? 1 : 0))
                return 0;
        r = engine_get_session(m->engine, id, &s);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (!want_step) {
                *found = s;
                return 1;
        }
        if (step >= s->n_steps)
                return 0;
        *found = &s->steps[step];
        return 1;
}

int session_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                        sd_bus_error *error) {
        return object_find(userdata, path, false, found);
}

int step_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                     sd_bus_error *error) {
        return object_find(userdata, path, true, found);
}

struct enum_ctx {
        char **nodes;
        size_t n, allocated;
};

static int enum_add(struct enum_ctx *c, char *path) {
        if (!path)
                return -ENOMEM;
        if (GREEDY_REALLOC(c->nodes, c->allocated, c->n + 2) < 0) {
                free(path);
                return -ENOMEM;
        }
        c->nodes[c->n++] = path;
        c->nodes[c->n] = NULL;
        return 0;
}

static int enum_active_cb(Session *s, void *userdata) {
        int r = enum_add(userdata, session_path(s->id));
        for (size_t i = 0; r >= 0 && i < s->n_steps; i++)
                r = enum_add(userdata, step_path(s->id, (uint32_t) i));
        return r < 0 ? r : 0;
}

/* The active sessions and their steps (bounded by max_active_sessions): what GetManagedObjects
 * and introspection show. A finished session is still reachable by its path (the fallback
 * vtable finds it in the store), it is just not enumerated: that would walk the whole store on
 * the event loop for any caller. ListSessions pages through all of them. */
int session_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = userdata;
        struct enum_ctx c = {};
        int r;

        r = engine_foreach_active(m->engine, enum_active_cb, &c);
        if (r < 0) {
                strv_free(c.nodes);
                return r;
        }
        *nodes = c.nodes;
        return 0;
}

#define SESSION_GETTER(name, type, expr)                                                                        \
        static int property_get_##name(sd_bus *bus, const char *path, const char *interface, const char *property, \
                                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {            \
                Session *s = userdata;                                                                          \
                return sd_bus_message_append(reply, type, expr);                                                \
        }

SESSION_GETTER(id, "u", s->id)
SESSION_GETTER(runbook, "s", s->runbook)
SESSION_GETTER(reference, "s", strempty(s->reference))
SESSION_GETTER(state, "s", session_state_to_string(s->state))
SESSION_GETTER(created_by, "s", s->creator_name)
SESSION_GETTER(created_by_uid, "u", (uint32_t) s->creator_uid)
SESSION_GETTER(created_by_login_uid, "u", (uint32_t) s->creator_login_uid)
SESSION_GETTER(created_by_login, "s", strempty(s->creator_login_name))
SESSION_GETTER(created_at, "t", (uint64_t) s->created_at)
SESSION_GETTER(failed_steps, "u", session_failed_steps(s))
SESSION_GETTER(finished_at, "t", (uint64_t) s->finished_at)
SESSION_GETTER(current_step, "i", (int32_t) s->current_step)
SESSION_GETTER(error, "s", strempty(s->error))
SESSION_GETTER(rollback, "s", rollback_state_to_string(s->rollback))
SESSION_GETTER(review, "s", review_state_to_string(s->review))
SESSION_GETTER(lock_state, "s", session_lock_state_to_string(s->lock_state))
SESSION_GETTER(lock_position, "u", (uint32_t) engine_lock_position(s))

/* Locks a(su): each of its locks, and the session holding it now (0: none) */
static int property_get_locks(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(su)");
        for (size_t i = 0; r >= 0 && s->locks && s->locks[i]; i++)
                r = sd_bus_message_append(reply, "(su)", s->locks[i], session_lock_holder(s, s->locks[i]));
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}
SESSION_GETTER(reviewed_by, "s", s->review == REVIEW_DONE ? strempty(s->reviewer.login_user ?: s->reviewer.user) : "")
SESSION_GETTER(reviewed_at, "t", (uint64_t) (s->review == REVIEW_DONE ? s->reviewer.time : 0))
SESSION_GETTER(review_comment, "s", s->review == REVIEW_DONE ? strempty(s->reviewer.comment) : "")

static int property_get_parameters(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Session *s = userdata;

        return bus_append_string_map(reply, s->parameters);
}

static int property_get_steps(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "o");
        for (size_t i = 0; r >= 0 && i < s->n_steps; i++) {
                _cleanup_free_ char *p = step_path(s->id, (uint32_t) i);
                if (!p)
                        return -ENOMEM;
                r = sd_bus_message_append(reply, "o", p);
        }
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}


static int method_decide(sd_bus_message *message, Session *s, bool approve, sd_bus_error *error) {
        const char *comment;
        Step *st;
        int r;

        r = sd_bus_message_read(message, "s", &comment);
        if (r < 0)
                return r;
        st = session_waiting_step(s);
        if (!st) {
                if (session_state_is_final(s->state))
                        return sd_bus_error_setf(error, BUS_ERROR_SESSION_FINISHED, "Session %u is finished (%s).",
                                                 s->id, session_state_to_string(s->state));
                return sd_bus_error_setf(error, BUS_ERROR_NOT_WAITING_APPROVAL,
                                         "Session %u has no step waiting for approval (it is %s).", s->id,
                                         session_state_to_string(s->state));
        }
        return bus_step_decide(manager_of(message), message, st, approve, comment, error);
}

static int method_approve(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_decide(message, userdata, true, error);
}

static int method_reject(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_decide(message, userdata, false, error);
}

/* The caller, if polkit lets it take 'action' on session 's' (the details polkit's agent shows
 * name the session): 1 with *who; 0 if polkit is asked and the call comes back; or an error. */
static int session_caller(Manager *m, sd_bus_message *message, const Session *s, const char *action,
                          Identity *who, sd_bus_error *error) {
        char id[sizeof "4294967295"];
        const char *details[] = { "session", id, "runbook", s->runbook, "reference", strempty(s->reference), NULL };

        (void) snprintf(id, sizeof id, "%u", s->id);
        return bus_authorized_caller(m, message, action, details, who, error);
}

/* Break-glass: the waiting step runs without the approvals it still needs (polkit's
 * org.runbookd1.break-glass, asked with the step's details as approve-step is, so that the
 * decision binds to what the caller was shown), and the session then needs a review. */
static int method_break_glass(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        Manager *m = manager_of(message);
        _cleanup_free_ char *user = NULL, *what = NULL;
        _cleanup_(identity_done) Identity who = { .login_uid = UID_INVALID };
        char sid[16], idx[16];
        const char *reason;
        Step *st;
        int r;

        r = sd_bus_message_read(message, "s", &reason);
        if (r < 0)
                return r;
        r = bus_check_text("reason", reason, COMMENT_MAX, error);
        if (r < 0)
                return r;
        if (isempty(reason))
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_PARAMETER,
                                         "BreakGlass needs a reason: it is recorded, sent and reviewed.");
        if (!engine_session_is_active(s) || session_state_is_final(s->state))
                return sd_bus_error_setf(error, BUS_ERROR_SESSION_FINISHED, "Session %u is finished (%s).", s->id,
                                         session_state_to_string(s->state));
        st = session_break_glass_step(s);
        if (!st)
                return sd_bus_error_setf(error, BUS_ERROR_NOT_WAITING_APPROVAL,
                                         "Session %u has no step waiting for approval or for its change window (it is %s).",
                                         s->id, session_state_to_string(s->state));
        if (json_is_false(json_object_get(s->snapshot, "break_glass")))
                return sd_bus_error_setf(error, BUS_ERROR_BREAK_GLASS_FORBIDDEN,
                                         "Runbook %s forbids break-glass (\"break_glass\": false): step %u (%s) of "
                                         "session %u needs its approvals.", s->runbook, st->index, st->name, s->id);
        if (asprintf_safe(&what, "step %u (%s) of session %u", st->index, st->name, s->id) < 0)
                return -ENOMEM;
        snprintf(sid, sizeof sid, "%u", s->id);
        snprintf(idx, sizeof idx, "%u", st->index);
        const char *details[] = {
                "session", sid, "step", idx, "runbook", s->runbook, "step_name", st->name,
                "phase", step_phase_to_string(st->phase), "command", st->command, "target", st->target,
                "digest", strempty(st->digest), "reason", reason, NULL,
        };
        r = bus_authorized_caller(m, message, RUNBOOKD_ACTION_BREAK_GLASS, details, &who, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: polkit is asked; the call comes back */
        user = identity_describe(&who);
        r = engine_break_glass(m->engine, st, &who, reason);
        if (r == -EPERM)
                return sd_bus_error_setf(error, BUS_ERROR_BREAK_GLASS_FORBIDDEN, "Runbook %s forbids break-glass.",
                                         s->runbook);
        if (r < 0)
                return bus_error_from_engine(error, r, what, NULL);
        log_warning("Break-glass on %s by %s.", what, strna(user));
        return bus_reply_durable_empty(m, message);
}

/* The review after a break-glass: someone polkit allows to approve steps, not who broke the glass. */
static int method_review(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        Manager *m = manager_of(message);
        _cleanup_free_ char *user = NULL;
        _cleanup_(identity_done) Identity who = { .login_uid = UID_INVALID };
        const char *comment;
        uint32_t sid = s->id;
        int r;

        r = sd_bus_message_read(message, "s", &comment);
        if (r < 0)
                return r;
        r = bus_check_text("comment", comment, COMMENT_MAX, error);
        if (r < 0)
                return r;
        if (s->review != REVIEW_REQUIRED)
                return sd_bus_error_setf(error, BUS_ERROR_NOT_REVIEWABLE, "Session %u needs no review (%s).", s->id,
                                         s->review == REVIEW_DONE ? "it was reviewed already" : "no step ran by break-glass");
        r = session_caller(m, message, s, RUNBOOKD_ACTION_APPROVE_STEP, &who, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        user = identity_describe(&who);
        r = engine_review(m->engine, s, &who, comment);
        if (r == -EPERM)
                return sd_bus_error_setf(error, BUS_ERROR_SELF_APPROVAL_FORBIDDEN, "%s broke the glass in session %u: "
                                         "its review needs someone else.", strna(user), sid);
        if (r == -ENOMSG)
                return sd_bus_error_setf(error, BUS_ERROR_NOT_REVIEWABLE, "Session %u needs no review.", sid);
        if (r < 0) {
                _cleanup_free_ char *what = NULL;
                (void) asprintf_safe(&what, "session %u", sid);
                return bus_error_from_engine(error, r, strna(what), NULL);
        }
        log_info("Session %u reviewed by %s.", sid, strna(user));
        return bus_reply_durable_empty(m, message);
}

static int method_cancel(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        Manager *m = manager_of(message);
        _cleanup_free_ char *user = NULL, *what = NULL;
        _cleanup_(identity_done) Identity who = { .login_uid = UID_INVALID };
        uint32_t sid = s->id;
        int r;

        if (!engine_session_is_active(s) || session_state_is_final(s->state))
                return sd_bus_error_setf(error, BUS_ERROR_SESSION_FINISHED, "Session %u is finished (%s).", s->id,
                                         session_state_to_string(s->state));
        r = session_caller(m, message, s, RUNBOOKD_ACTION_CANCEL_SESSION, &who, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: polkit is asked; the call comes back */
        user = identity_describe(&who);
        r = engine_cancel(m->engine, s, &who);
        if (r == -EALREADY) {
                /* cancelled already; its command is being stopped before its rollback or finally steps */
                log_info("Session %u: cancel by %s: it is being cancelled already.", sid, strna(user));
                return bus_reply_durable_empty(m, message);
        }
        if (r < 0) {
                (void) asprintf_safe(&what, "session %u", sid);
                return bus_error_from_engine(error, r, strna(what), NULL);
        }
        log_info("Session %u cancelled by %s.", sid, strna(user));
        return bus_reply_durable_empty(m, message);
}

static int method_retry(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Session *s = userdata;
        Manager *m = manager_of(message);
        _cleanup_free_ char *user = NULL, *what = NULL;
        _cleanup_(identity_done) Identity who = { .login_uid = UID_INVALID };
        int r;

        if (asprintf_safe(&what, "Session %u", s->id) < 0)
                return -ENOMEM;
        /* a failed session's retry is a decision to run its failed step again: approve-step */
        bool failed = s->state == SESSION_FAILED;
        if (session_state_is_final(s->state) && !failed)
                return bus_error_from_engine(error, -ESHUTDOWN, what, NULL);
        if (!failed && s->state != SESSION_INTERRUPTED)
                return bus_error_from_engine(error, -ENOMSG, what, NULL);
        r = session_caller(m, message, s, failed ? RUNBOOKD_ACTION_APPROVE_STEP : RUNBOOKD_ACTION_START_SESSION, &who,
                           error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: polkit is asked; the call comes back */
        user = identity_describe(&who);
        _cleanup_free_ char *why = NULL;
        r = engine_retry(m->engine, s, &who, &why);
        if (r < 0)
                return bus_error_from_engine(error, r, what, why);
        log_info("Session %u re-armed for a retry by %s.", s->id, strna(user));
        return bus_reply_durable_empty(m, message);
}

const sd_bus_vtable session_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "u", property_get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Runbook", "s", property_get_runbook, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Reference", "s", property_get_reference, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Parameters", "a{ss}", property_get_parameters, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("CreatedBy", "s", property_get_created_by, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("CreatedByUid", "u", property_get_created_by_uid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("CreatedByLoginUid", "u", property_get_created_by_login_uid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("CreatedByLogin", "s", property_get_created_by_login, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("CreatedAt", "t", property_get_created_at, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("FinishedAt", "t", property_get_finished_at, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("CurrentStep", "i", property_get_current_step, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Steps", "ao", property_get_steps, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Error", "s", property_get_error, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FailedSteps", "u", property_get_failed_steps, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Rollback", "s", property_get_rollback, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Review", "s", property_get_review, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ReviewedBy", "s", property_get_reviewed_by, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ReviewedAt", "t", property_get_reviewed_at, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ReviewComment", "s", property_get_review_comment, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Locks", "a(su)", property_get_locks, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LockState", "s", property_get_lock_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LockPosition", "u", property_get_lock_position, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Approve", SD_BUS_ARGS("s", comment), SD_BUS_NO_RESULT, method_approve,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reject", SD_BUS_ARGS("s", comment), SD_BUS_NO_RESULT, method_reject,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Cancel", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_cancel, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Retry", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_retry, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("BreakGlass", SD_BUS_ARGS("s", reason), SD_BUS_NO_RESULT, method_break_glass,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Review", SD_BUS_ARGS("s", comment), SD_BUS_NO_RESULT, method_review,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};
