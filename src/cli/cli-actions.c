/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cli-actions.c: the verbs that change something, each behind a polkit action: start, approve,
 * reject, cancel, retry. */
#include <inttypes.h>
#include <stdio.h>

#include "cli/cli-bus.h"
#include "cli/cli-output.h"
#include "cli/runbookctl.h"

static int open_or_fail(sd_bus **bus) {
        int r = cli_bus_open(bus);
        if (r < 0)
                return cli_error(r, "Failed to connect to the system bus: %s", strerror(-r));
        return 0;
}

int verb_start(int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *path;
        uint32_t id;
        int r;

        r = open_or_fail(&bus);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, RUNBOOKD_BUS_NAME, RUNBOOKD_MANAGER_PATH,
                                           RUNBOOKD_MANAGER_INTERFACE, "StartSession");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", argv[1], arg_reference);
        if (r >= 0)
                r = cli_append_parameters(m, arg_parameters);
        if (r < 0)
                return cli_error(r, "Failed to build the call: %s", strerror(-r));

        polkit_agent_open();
        /* an interactive authorization may wait for a person */
        r = sd_bus_call(bus, m, arg_ask_password ? UINT64_C(300000000) : 0, &error, &reply);
        polkit_agent_close();
        if (r < 0)
                return cli_bus_error(r, &error, RUNBOOKD_ACTION_START_SESSION, "start a session");
        r = sd_bus_message_read(reply, "uo", &id, &path);
        if (r < 0)
                return cli_error(r, "Failed to parse runbookd's reply: %s", strerror(-r));

        if (arg_json != JSON_OFF) {
                _cleanup_json_ json_t *o = json_object();
                if (!o || json_add_integer(o, "id", id) < 0 || json_add_string(o, "path", path) < 0)
                        return cli_error(-ENOMEM, "Out of memory.");
                r = json_print(o);
        } else {
                printf("Session %u started: %s\n", id, path);
                r = fflush(stdout) == 0 ? 0 : -EIO;
        }
        if (r < 0 || !arg_watch)
                return r;
        return watch_session(bus, id);
}

/* Calls a method of a session (step < 0) or of one of its steps. */
static int call_object(const char *id_arg, const char *step_arg, const char *method, const char *action,
                       const char *what, const char *comment) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL, *description = NULL;
        uint32_t id, index = 0;
        int r;

        if (parse_session_id(id_arg, &id) < 0)
                return cli_error(-EINVAL, "Invalid session id '%s'.", id_arg);
        if (step_arg && parse_step_index(step_arg, &index) < 0)
                return cli_error(-EINVAL, "Invalid step number '%s'.", step_arg);
        path = step_arg ? step_path_of(id, index) : session_path_of(id);
        if (step_arg)
                r = asprintf_safe(&description, "%s step %u of session %u", what, index, id);
        else
                r = asprintf_safe(&description, "%s session %u", what, id);
        if (!path || r < 0)
                return cli_error(-ENOMEM, "Out of memory.");

        r = open_or_fail(&bus);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, RUNBOOKD_BUS_NAME, path,
                                           step_arg ? RUNBOOKD_STEP_INTERFACE : RUNBOOKD_SESSION_INTERFACE, method);
        if (r >= 0 && comment)
                r = sd_bus_message_append(m, "s", comment);
        if (r < 0)
                return cli_error(r, "Failed to build the call: %s", strerror(-r));

        polkit_agent_open();
        r = sd_bus_call(bus, m, arg_ask_password ? UINT64_C(300000000) : 0, &error, NULL);
        polkit_agent_close();
        if (r < 0) {
                /* a session or step that does not exist: the fallback finds no object */
                if (sd_bus_error_has_names(&error, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_METHOD,
                                           SD_BUS_ERROR_UNKNOWN_INTERFACE)) {
                        if (step_arg)
                                return cli_error(r, "No such step: session %u has no step %u.", id, index);
                        return cli_error(r, "No such session: %u.", id);
                }
                return cli_bus_error(r, &error, action, description);
        }
        return 0;
}

/* Without a step number: finds the step of session 'id_arg' that waits for approval, shows what
 * it runs, and returns its number in 'buf', so that the decision is made on that very step
 * (Step.Approve), not on whatever waits when polkit answers. */
static int resolve_waiting_step(const char *id_arg, const char *verb, char *buf, size_t size) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL, *spath = NULL, *state = NULL, *name = NULL, *command = NULL,
                            *target = NULL, *sstate = NULL;
        uint32_t id;
        int32_t current;
        int r;

        if (parse_session_id(id_arg, &id) < 0)
                return cli_error(-EINVAL, "Invalid session id '%s'.", id_arg);
        r = open_or_fail(&bus);
        if (r < 0)
                return r;
        path = session_path_of(id);
        if (!path)
                return cli_error(-ENOMEM, "Out of memory.");
        r = sd_bus_get_property_trivial(bus, RUNBOOKD_BUS_NAME, path, RUNBOOKD_SESSION_INTERFACE, "CurrentStep",
                                        &error, 'i', &current);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, RUNBOOKD_BUS_NAME, path, RUNBOOKD_SESSION_INTERFACE, "State",
                                               &error, &sstate);
        if (r < 0) {
                if (sd_bus_error_has_names(&error, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_METHOD,
                                           SD_BUS_ERROR_UNKNOWN_INTERFACE, SD_BUS_ERROR_UNKNOWN_PROPERTY))
                        return cli_error(r, "No such session: %u.", id);
                return cli_bus_error(r, &error, NULL, "read the session");
        }
        if (current >= 0) {
                spath = step_path_of(id, (uint32_t) current);
                if (!spath)
                        return cli_error(-ENOMEM, "Out of memory.");
                r = sd_bus_get_property_string(bus, RUNBOOKD_BUS_NAME, spath, RUNBOOKD_STEP_INTERFACE, "State", &error,
                                               &state);
                if (r >= 0)
                        r = sd_bus_get_property_string(bus, RUNBOOKD_BUS_NAME, spath, RUNBOOKD_STEP_INTERFACE, "Name",
                                                       &error, &name);
                if (r >= 0)
                        r = sd_bus_get_property_string(bus, RUNBOOKD_BUS_NAME, spath, RUNBOOKD_STEP_INTERFACE,
                                                       "Command", &error, &command);
                if (r >= 0)
                        r = sd_bus_get_property_string(bus, RUNBOOKD_BUS_NAME, spath, RUNBOOKD_STEP_INTERFACE,
                                                       "Target", &error, &target);
                if (r < 0)
                        return cli_bus_error(r, &error, NULL, "read the waiting step");
        }
        if (current < 0 || !streq_ptr(state, "waiting_approval"))
                return cli_error(-ESTALE, "Session %u has no step waiting for approval (it is %s).", id, strna(sstate));

        /* what the decision covers: the person sees it before polkit asks */
        _cleanup_free_ char *shown = cli_escape(command);
        if (!shown)
                return cli_error(-ENOMEM, "Out of memory.");
        fprintf(arg_json != JSON_OFF ? stderr : stdout, "%s step %" PRIi32 " (%s) of session %u on %s:\n    %s\n",
                verb, current, name, id, target, shown);
        fflush(stdout);
        snprintf(buf, size, "%" PRIi32, current);
        return 0;
}

int verb_approve(int argc, char *argv[]) {
        char step[16];
        int r;

        if (argc <= 2) {
                r = resolve_waiting_step(argv[1], "Approving", step, sizeof step);
                if (r < 0)
                        return r;
        }
        return call_object(argv[1], argc > 2 ? argv[2] : step, "Approve", RUNBOOKD_ACTION_APPROVE_STEP, "approve",
                           strempty(arg_comment));
}

int verb_reject(int argc, char *argv[]) {
        char step[16];
        int r;

        if (isempty(arg_comment))
                return cli_error(-EINVAL, "reject needs a comment that says why: runbookctl reject ID [STEP] -m COMMENT");
        if (argc <= 2) {
                r = resolve_waiting_step(argv[1], "Rejecting", step, sizeof step);
                if (r < 0)
                        return r;
        }
        return call_object(argv[1], argc > 2 ? argv[2] : step, "Reject", RUNBOOKD_ACTION_APPROVE_STEP, "reject",
                           arg_comment);
}

int verb_cancel(int argc, char *argv[]) {
        return call_object(argv[1], NULL, "Cancel", RUNBOOKD_ACTION_CANCEL_SESSION, "cancel", NULL);
}

int verb_break_glass(int argc, char *argv[]) {
        if (isempty(arg_comment))
                return cli_error(-EINVAL, "break-glass needs a reason: runbookctl break-glass ID -m REASON");
        return call_object(argv[1], NULL, "BreakGlass", RUNBOOKD_ACTION_BREAK_GLASS, "break the glass in", arg_comment);
}

int verb_review(int argc, char *argv[]) {
        return call_object(argv[1], NULL, "Review", RUNBOOKD_ACTION_APPROVE_STEP, "review", strempty(arg_comment));
}

int verb_retry(int argc, char *argv[]) {
        return call_object(argv[1], NULL, "Retry", RUNBOOKD_ACTION_START_SESSION, "retry", NULL);
}
