/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-step.c: /org/runbookd1/session/<id>/step/<n>, org.runbookd1.Step. */
#include <stdio.h>

#include "bus/bus-errors.h"
#include "bus/bus-objects.h"
#include "shared/log.h"

#define STEP_GETTER(name, type, expr)                                                                           \
        static int property_get_##name(sd_bus *bus, const char *path, const char *interface, const char *property, \
                                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {            \
                Step *st = userdata;                                                                            \
                return sd_bus_message_append(reply, type, expr);                                                \
        }

STEP_GETTER(index, "u", st->index)
STEP_GETTER(name, "s", st->name)
STEP_GETTER(step_id, "s", strempty(st->id))
STEP_GETTER(when, "s", strempty(st->when))

static int property_get_captured(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Step *st = userdata;

        return bus_append_string_map(reply, st->captured);
}
STEP_GETTER(on_failure, "s", st->continue_on_failure ? "continue" : "stop")
STEP_GETTER(phase, "s", step_phase_to_string(st->phase))
STEP_GETTER(command, "s", st->command)
STEP_GETTER(target, "s", st->target)
STEP_GETTER(connector, "s", st->connector)
STEP_GETTER(requires_approval, "b", (int) st->requires_approval)
STEP_GETTER(approvals_required, "u", step_approvals_required(st))
STEP_GETTER(state, "s", step_state_to_string(st->state))
STEP_GETTER(exit_status, "i", (int32_t) st->exit_status)
STEP_GETTER(signal, "i", (int32_t) st->signal)
STEP_GETTER(started_at, "t", (uint64_t) st->started_at)
STEP_GETTER(finished_at, "t", (uint64_t) st->finished_at)
STEP_GETTER(timeout, "t", (uint64_t) st->timeout_usec)
STEP_GETTER(expect_exit, "i", (int32_t) st->expect_exit)
STEP_GETTER(digest, "s", st->digest)
STEP_GETTER(attempt, "u", st->attempt)
STEP_GETTER(retries, "u", st->retries)
STEP_GETTER(retry_delay, "t", (uint64_t) st->retry_delay_usec)
STEP_GETTER(retries_done, "u", st->retries_done)
STEP_GETTER(retry_at, "t", (uint64_t) st->retry_at)
STEP_GETTER(window_opens_at, "t", (uint64_t) st->window_at)
STEP_GETTER(window_reason, "s", strempty(st->window_why))
STEP_GETTER(approval_deadline, "t", (uint64_t) st->approval_deadline)
STEP_GETTER(approval_timeout, "t", (uint64_t) st->approval_timeout_usec)
STEP_GETTER(remind_before, "t", (uint64_t) st->remind_before_usec)
STEP_GETTER(approval_valid_for, "t", (uint64_t) st->approval_valid_for_usec)
STEP_GETTER(approvers_from_each, "b", (int) st->approvers_from_each)
STEP_GETTER(break_glass, "b", (int) (step_break_glass(st, st->attempt) != NULL))
STEP_GETTER(error, "s", strempty(st->error))
STEP_GETTER(truncated, "b", (int) st->truncated)

/* "dba, sre": the approver groups of the step in 'mask' */
static char *step_groups_text(const Step *st, uint32_t mask) {
        char *t = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&t, &n);

        if (!f)
                return NULL;
        for (size_t i = 0, k = 0; i < st->n_approver_groups; i++)
                if (mask & (UINT32_C(1) << i))
                        fprintf(f, "%s%s", k++ ? ", " : "", st->approver_groups[i]);
        if (fclose(f) != 0)
                return mfree(t);
        return t;
}

/* "approve", "reject", "lapsed" (an approval that no longer counts: approval_valid_for) or
 * "break_glass" (Session.BreakGlass; the comment is the reason) */
static const char *approval_decision(const Approval *a) {
        return !a->approve ? "reject" : a->break_glass ? "break_glass" : a->lapsed ? "lapsed" : "approve";
}

static int property_get_approver_groups(sd_bus *bus, const char *path, const char *interface, const char *property,
                                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Step *st = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && i < st->n_approver_groups; i++)
                r = sd_bus_message_append(reply, "s", st->approver_groups[i]);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int property_get_approvals(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Step *st = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(usstss)");
        for (size_t i = 0; r >= 0 && i < st->n_approvals; i++) {
                const Approval *a = &st->approvals[i];
                r = sd_bus_message_append(reply, "(usstss)", (uint32_t) a->uid, a->user, approval_decision(a),
                                          (uint64_t) a->time, strempty(a->comment), strempty(a->digest));
        }
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

/* Every decision with the person behind it: (uid, login uid — 4294967295 when none —, user,
 * login user — "" when none —, decision, time, attempt, comment, digest). */
static int property_get_decisions(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Step *st = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(uussstuss)");
        for (size_t i = 0; r >= 0 && i < st->n_approvals; i++) {
                const Approval *a = &st->approvals[i];
                r = sd_bus_message_append(reply, "(uussstuss)", (uint32_t) a->uid, (uint32_t) a->login_uid, a->user,
                                          strempty(a->login_user), approval_decision(a), (uint64_t) a->time,
                                          (uint32_t) a->attempt, strempty(a->comment), strempty(a->digest));
        }
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

/* One entry per host of a step on a target group; empty for other steps. */
static int property_get_results(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Step *st = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(ssiittbs)");
        for (size_t i = 0; r >= 0 && i < st->n_hosts; i++) {
                const HostRun *h = &st->hosts[i];
                r = sd_bus_message_append(reply, "(ssiittbs)", h->target, step_state_to_string(h->state),
                                          (int32_t) h->exit_status, (int32_t) h->signal, (uint64_t) h->started_at,
                                          (uint64_t) h->finished_at, (int) h->truncated, strempty(h->error));
        }
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

int bus_step_decide(Manager *m, sd_bus_message *call, Step *st, bool approve, const char *comment,
                    sd_bus_error *error) {
        _cleanup_free_ char *user = NULL, *what = NULL, *sid = NULL, *idx = NULL;
        _cleanup_(identity_done) Identity who = { .login_uid = UID_INVALID };
        Session *s = st->session;
        uint32_t session_id = s->id, index = st->index;
        int r;

        r = bus_check_text("comment", comment, COMMENT_MAX, error);
        if (r < 0)
                return r;
        if (asprintf_safe(&what, "step %u (%s) of session %u", st->index, st->name, s->id) < 0 ||
            asprintf_safe(&sid, "%u", s->id) < 0 || asprintf_safe(&idx, "%u", st->index) < 0)
                return -ENOMEM;
        if (!engine_session_is_active(s) || session_state_is_final(s->state))
                return bus_error_from_engine(error, -ESHUTDOWN, what, NULL);
        if (st->state != STEP_WAITING_APPROVAL)
                return sd_bus_error_setf(error, BUS_ERROR_NOT_WAITING_APPROVAL,
                                         "Step %u (%s) of session %u is not waiting for approval (it is %s).",
                                         st->index, st->name, s->id, step_state_to_string(st->state));

        const char *details[] = {
                "session", sid, "step", idx, "runbook", s->runbook, "step_name", st->name,
                "phase", step_phase_to_string(st->phase), "command", st->command, "target", st->target,
                "digest", strempty(st->digest), NULL,
        };
        r = bus_authorized_caller(m, call, RUNBOOKD_ACTION_APPROVE_STEP, details, &who, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asked; the call comes back */
        user = identity_describe(&who);
        r = approve ? engine_approve(m->engine, st, &who, comment) : engine_reject(m->engine, st, &who, comment);
        if (r == -ENOLINK)
                return sd_bus_error_setf(error, BUS_ERROR_NOT_AN_APPROVER,
                                         "%s may only be approved by members of some Unix groups, and the user or group "
                                         "database could not be read to tell whether %s is one; nothing was decided.",
                                         what, strna(user));
        if (r == -EACCES || r == -EXFULL) {
                _cleanup_free_ char *groups = step_groups_text(st, UINT32_MAX), *missing = NULL;
                uint32_t left = 0;

                (void) step_count_groups_with(st, 0, &left);
                missing = step_groups_text(st, left);
                if (r == -EACCES)
                        return sd_bus_error_setf(error, BUS_ERROR_NOT_AN_APPROVER,
                                                 "%s may only be approved by members of %s%s; %s is in none of them.",
                                                 what, st->approvers_from_each ? "each of " : "", strna(groups), strna(user));
                return sd_bus_error_setf(error, BUS_ERROR_NOT_AN_APPROVER,
                                         "%s needs one approver from each of %s: every one of them that %s is in has an "
                                         "approver already; it still needs one from %s.", what, strna(groups), strna(user),
                                         strna(missing));
        }
        if (r < 0)
                return bus_error_from_engine(error, r, what, NULL);
        /* the session may have ended and left the active set: use the ids, not the objects */
        log_info("Step %u of session %u %s by %s.", index, session_id, approve ? "approved" : "rejected",
                 strna(user));
        return bus_reply_durable_empty(m, call);
}

static int method_decide(sd_bus_message *message, Step *st, bool approve, sd_bus_error *error) {
        const char *comment;
        int r;

        r = sd_bus_message_read(message, "s", &comment);
        if (r < 0)
                return r;
        return bus_step_decide(manager_of(message), message, st, approve, comment, error);
}

static int method_approve(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_decide(message, userdata, true, error);
}

static int method_reject(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_decide(message, userdata, false, error);
}

static int reply_output(sd_bus_message *message, const uint8_t *out, size_t out_n, const uint8_t *err, size_t err_n,
                        bool truncated) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 'y', out ?: (uint8_t *) "", out_n);
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 'y', err ?: (uint8_t *) "", err_n);
        if (r >= 0)
                r = sd_bus_message_append(reply, "b", (int) truncated);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* Step output may hold what the systems it ran on print (secrets included): polkit decides who
 * reads it (org.runbookd1.read-output). 1: go on; 0: the answer is pending; < 0: refused. */
static int verify_read_output(Manager *m, sd_bus_message *message, Step *st, sd_bus_error *error) {
        char sid[16], idx[16];

        snprintf(sid, sizeof sid, "%u", st->session->id);
        snprintf(idx, sizeof idx, "%u", st->index);
        const char *details[] = { "session", sid, "step", idx, "runbook", st->session->runbook, "target", st->target, NULL };
        return bus_verify_polkit_async(message, RUNBOOKD_ACTION_READ_OUTPUT, details, m->polkit, error);
}

static int method_get_output(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ uint8_t *out = NULL, *err = NULL;
        Manager *m = manager_of(message);
        Step *st = userdata;
        size_t out_n = 0, err_n = 0;
        bool truncated = false;
        int r;

        r = verify_read_output(m, message, st, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = engine_get_output(m->engine, st, &out, &out_n, &err, &err_n, &truncated);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot read the output of step %u of session %u: %s",
                                               st->index, st->session->id, strerror(-r));
        return reply_output(message, out, out_n, err, err_n, truncated);
}

static int method_get_host_output(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ uint8_t *out = NULL, *err = NULL;
        Manager *m = manager_of(message);
        Step *st = userdata;
        size_t out_n = 0, err_n = 0;
        bool truncated = false;
        const char *target;
        int r;

        r = sd_bus_message_read(message, "s", &target);
        if (r < 0)
                return r;
        r = verify_read_output(m, message, st, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        if (st->n_hosts == 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Step %u of session %u does not run on a target group (use GetOutput).",
                                         st->index, st->session->id);
        r = engine_get_host_output(m->engine, st, target, &out, &out_n, &err, &err_n, &truncated);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_TARGET,
                                         "Step %u of session %u runs on group '%s', which has no member '%s'.",
                                         st->index, st->session->id, st->target, target);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot read the output of host %s of step %u of session %u: %s",
                                               target, st->index, st->session->id, strerror(-r));
        return reply_output(message, out, out_n, err, err_n, truncated);
}

const sd_bus_vtable step_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Index", "u", property_get_index, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Name", "s", property_get_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Phase", "s", property_get_phase, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Command", "s", property_get_command, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Target", "s", property_get_target, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Connector", "s", property_get_connector, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("RequiresApproval", "b", property_get_requires_approval, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ApprovalsRequired", "u", property_get_approvals_required, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Approvals", "a(usstss)", property_get_approvals, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Decisions", "a(uussstuss)", property_get_decisions, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ExitStatus", "i", property_get_exit_status, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Signal", "i", property_get_signal, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StartedAt", "t", property_get_started_at, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FinishedAt", "t", property_get_finished_at, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Timeout", "t", property_get_timeout, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ExpectExit", "i", property_get_expect_exit, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("StepId", "s", property_get_step_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("OnFailure", "s", property_get_on_failure, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("When", "s", property_get_when, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Captured", "a{ss}", property_get_captured, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Digest", "s", property_get_digest, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Attempt", "u", property_get_attempt, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Retries", "u", property_get_retries, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("RetryDelay", "t", property_get_retry_delay, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("RetriesDone", "u", property_get_retries_done, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RetryAt", "t", property_get_retry_at, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("WindowOpensAt", "t", property_get_window_opens_at, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("WindowReason", "s", property_get_window_reason, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ApprovalDeadline", "t", property_get_approval_deadline, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ApprovalTimeout", "t", property_get_approval_timeout, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("RemindBefore", "t", property_get_remind_before, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ApprovalValidFor", "t", property_get_approval_valid_for, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ApproverGroups", "as", property_get_approver_groups, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ApproversFromEach", "b", property_get_approvers_from_each, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("BreakGlass", "b", property_get_break_glass, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Error", "s", property_get_error, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Truncated", "b", property_get_truncated, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Results", "a(ssiittbs)", property_get_results, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Approve", SD_BUS_ARGS("s", comment), SD_BUS_NO_RESULT, method_approve,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reject", SD_BUS_ARGS("s", comment), SD_BUS_NO_RESULT, method_reject,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetOutput", SD_BUS_NO_ARGS, SD_BUS_RESULT("ay", stdout, "ay", stderr, "b", truncated),
                                method_get_output, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetHostOutput", SD_BUS_ARGS("s", target),
                                SD_BUS_RESULT("ay", stdout, "ay", stderr, "b", truncated),
                                method_get_host_output, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};
