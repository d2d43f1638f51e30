/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cli-plan.c: runbookctl plan RUNBOOK [-p NAME=VALUE]… — what a session would run, step by step
 * (Manager.PlanSession), checked as StartSession checks it; nothing is created. */
#include <inttypes.h>
#include <stdio.h>

#include "cli/cli-bus.h"
#include "cli/cli-output.h"
#include "cli/runbookctl.h"

#define FIELD(label) printf("%*s: ", 14, label)

typedef struct PlanStep {
        uint32_t index, approvals_required, retries;
        const char *phase, *name, *id, *target, *connector, *command, *when, *on_failure, *digest;
        int requires_approval;
        uint64_t retry_delay, timeout;
        char **captures;
} PlanStep;

static json_t *plan_step_json(const PlanStep *p) {
        _cleanup_json_ json_t *o = json_object(), *captures = json_array();

        if (!o || !captures)
                return NULL;
        for (char **c = p->captures; c && *c; c++)
                if (json_array_append_new(captures, json_string(*c)) < 0)
                        return NULL;
        if (json_add_integer(o, "index", p->index) < 0 || json_add_string(o, "phase", p->phase) < 0 ||
            json_add_string(o, "name", p->name) < 0 ||
            json_object_set_new(o, "id", isempty(p->id) ? json_null() : json_string(p->id)) < 0 ||
            json_add_string(o, "target", p->target) < 0 || json_add_string(o, "connector", p->connector) < 0 ||
            json_add_string(o, "command", p->command) < 0 ||
            json_object_set_new(o, "requires_approval", json_boolean(p->requires_approval)) < 0 ||
            json_add_integer(o, "approvals_required", p->approvals_required) < 0 ||
            json_object_set_new(o, "when", isempty(p->when) ? json_null() : json_string(p->when)) < 0 ||
            json_add_string(o, "on_failure", p->on_failure) < 0 || json_add_integer(o, "retries", p->retries) < 0 ||
            json_add_integer(o, "retry_delay", (long long) p->retry_delay) < 0 ||
            json_add_integer(o, "timeout", (long long) p->timeout) < 0 ||
            json_object_set_new(o, "digest", isempty(p->digest) ? json_null() : json_string(p->digest)) < 0 ||
            json_object_set(o, "captures", captures) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static void plan_step_print(const PlanStep *p) {
        char buf[FORMAT_TIMESTAMP_MAX];

        printf("\n%s%s Step %" PRIu32 "%s (%s: %s)\n", ansi(ANSI_HIGHLIGHT), colors_enabled() ? "●" : "*", p->index,
               ansi(ANSI_NORMAL), cli_esc(p->phase), cli_esc(p->name));
        if (!isempty(p->id)) {
                FIELD("Id");
                printf("%s\n", cli_esc(p->id));
        }
        if (!isempty(p->when)) {
                FIELD("When");
                printf("%s\n", cli_esc(p->when));
        }
        FIELD("Command");
        printf("%s\n", cli_esc(p->command));
        FIELD("Target");
        printf("%s (%s)\n", cli_esc(p->target), cli_esc(p->connector));
        FIELD("Approval");
        if (!p->requires_approval)
                printf("none\n");
        else
                printf("%srequired%s (%" PRIu32 " approver%s)\n", ansi(ANSI_YELLOW), ansi(ANSI_NORMAL),
                       p->approvals_required, p->approvals_required == 1 ? "" : "s");
        if (streq_ptr(p->on_failure, "continue")) {
                FIELD("On failure");
                printf("continue (a failure does not stop the session)\n");
        }
        if (p->retries > 0) {
                FIELD("Retries");
                printf("%" PRIu32 ", each after %s\n", p->retries, format_timespan(buf, sizeof buf, p->retry_delay));
        }
        FIELD("Timeout");
        printf("%s\n", format_timespan(buf, sizeof buf, p->timeout));
        if (p->captures && p->captures[0]) {
                FIELD("Captures");
                for (char **c = p->captures; *c; c++)
                        printf("%s%s", c == p->captures ? "" : ", ", cli_esc(*c));
                printf("\n");
        }
        FIELD("Digest");
        if (isempty(p->digest))
                printf("computed when the step is reached (its command uses values of earlier steps)\n");
        else
                printf("%s\n", p->digest);
}

int verb_plan(int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_json_ json_t *steps = json_array();
        unsigned n = 0, gates = 0, phases[5] = {};
        int r;

        if (!steps)
                return cli_error(-ENOMEM, "Out of memory.");
        r = cli_bus_open(&bus);
        if (r < 0)
                return cli_error(r, "Failed to connect to the system bus: %s", strerror(-r));
        r = sd_bus_message_new_method_call(bus, &m, RUNBOOKD_BUS_NAME, RUNBOOKD_MANAGER_PATH,
                                           RUNBOOKD_MANAGER_INTERFACE, "PlanSession");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", argv[1]);
        if (r >= 0)
                r = cli_append_parameters(m, arg_parameters);
        if (r < 0)
                return cli_error(r, "Failed to build the call: %s", strerror(-r));
        r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r < 0)
                return cli_bus_error(r, &error, NULL, "plan a session");

        if (arg_json == JSON_OFF)
                printf("Plan of runbook %s%s%s (nothing is created; values that only a step's capture will know show "
                       "as their {{steps.ID.NAME}} reference):\n", ansi(ANSI_HIGHLIGHT), cli_esc(argv[1]), ansi(ANSI_NORMAL));
        r = sd_bus_message_enter_container(reply, 'a', "(ussssssbussuttsas)");
        while (r >= 0) {
                PlanStep p = {};
                r = sd_bus_message_enter_container(reply, 'r', "ussssssbussuttsas");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(reply, "ussssssbussutts", &p.index, &p.phase, &p.name, &p.id, &p.target,
                                        &p.connector, &p.command, &p.requires_approval, &p.approvals_required,
                                        &p.when, &p.on_failure, &p.retries, &p.retry_delay, &p.timeout, &p.digest);
                if (r >= 0)
                        r = sd_bus_message_read_strv(reply, &p.captures);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0) {
                        strv_free(p.captures);
                        break;
                }
                n++;
                gates += p.requires_approval;
                if (!streq(p.phase, "precheck") && !streq(p.phase, "main") && !streq(p.phase, "postcheck"))
                        phases[streq(p.phase, "rollback") ? 3 : 4]++;
                if (arg_json != JSON_OFF) {
                        json_t *o = plan_step_json(&p);
                        if (!o || json_array_append_new(steps, o) < 0)
                                r = -ENOMEM;
                } else
                        plan_step_print(&p);
                strv_free(p.captures);
                if (r < 0)
                        break;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return cli_error(r, "Failed to parse runbookd's reply: %s", strerror(-r));

        if (arg_json != JSON_OFF) {
                _cleanup_json_ json_t *o = json_object();
                if (!o || json_add_string(o, "runbook", argv[1]) < 0 || json_object_set(o, "steps", steps) < 0)
                        return cli_error(-ENOMEM, "Out of memory.");
                return json_print(o);
        }
        printf("\n%u step%s (%u rollback, %u finally); %u need%s approval before %s run%s.\n", n, n == 1 ? "" : "s",
               phases[3], phases[4], gates, gates == 1 ? "s" : "", gates == 1 ? "it" : "they", gates == 1 ? "s" : "");
        return fflush(stdout) == 0 ? 0 : -EIO;
}
