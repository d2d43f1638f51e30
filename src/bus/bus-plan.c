/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-plan.c: Manager.PlanSession(s runbook, a{ss} parameters) → a(ussssssbussuttsas): what
 * StartSession would create, checked exactly as it checks it, created and written nowhere. */
#include "bus/bus-errors.h"
#include "bus/bus-objects.h"
#include "engine/engine.h"
#include "shared/log.h"

/* One step: (u index, s phase, s name, s id, s target, s connector, s command, b requires
 * approval, u approvals required, s when, s on_failure, u retries, t retry delay, t timeout,
 * s digest ("" when the command holds values only a capture will know), as captures). */
static int append_step(sd_bus_message *reply, const Step *st, const RunbookStep *rs) {
        int r;

        r = sd_bus_message_open_container(reply, 'r', "ussssssbussuttsas");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "ussssssbussutts", st->index, step_phase_to_string(st->phase), st->name,
                                  strempty(st->id), st->target, st->connector, st->command, (int) st->requires_approval,
                                  step_approvals_required(st), strempty(st->when),
                                  st->continue_on_failure ? "continue" : "stop", st->retries,
                                  (uint64_t) st->retry_delay_usec, (uint64_t) st->timeout_usec,
                                  rs->refers_to_steps ? "" : strempty(st->digest));
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && i < rs->n_captures; i++)
                r = sd_bus_message_append(reply, "s", rs->captures[i].name);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

int method_plan_session(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(config_json_wipe_decrefp) json_t *params = NULL;   /* secret values, maybe */
        _cleanup_(identity_done) Identity who = { .login_uid = UID_INVALID };
        _cleanup_(session_freep) Session *s = NULL;
        _cleanup_free_ char *detail = NULL;
        const Runbook *rb;
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        r = bus_read_parameters(message, &params, error);
        if (r < 0)
                return r;
        r = bus_find_runbook(m, name, &rb, error);
        if (r < 0)
                return r;
        r = bus_caller(m, message, &who, error);
        if (r < 0)
                return r;
        r = engine_plan_session(m->engine, rb, params, &who, &s, &detail);
        if (r < 0)
                return bus_error_from_engine(error, r, "the plan", detail);

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ussssssbussuttsas)");
        for (size_t i = 0; r >= 0 && i < s->n_steps; i++)
                r = append_step(reply, &s->steps[i], &rb->steps[i]);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_message_send(reply);
}
