/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cli-check.c: "runbookctl check TARGET": Target.Check(), one line per stage. */
#include <stdio.h>

#include "cli/cli-bus.h"
#include "cli/cli-output.h"
#include "cli/runbookctl.h"

/* An interactive authorization may wait for a person; the check itself ends within 30 s. */
#define CHECK_CALL_TIMEOUT_USEC (300 * USEC_PER_SEC)
#define CHECK_CALL_TIMEOUT_NO_ASK_USEC (90 * USEC_PER_SEC)

static void print_stage(const char *stage, const char *verdict, const char *reason) {
        bool ok = streq(verdict, "ok"), failed = streq(verdict, "failed");
        const char *color = ok ? ANSI_GREEN : failed ? ANSI_RED : ANSI_GREY;
        const char *mark = ok ? "✓" : failed ? "✗" : "-";

        printf("%s%s%s %-13s %s%-7s%s %s\n", ansi(color), mark, ansi(ANSI_NORMAL), stage, ansi(color), verdict,
               ansi(ANSI_NORMAL), reason);
}

int verb_check(int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_json_ json_t *o = NULL, *stages = NULL;
        _cleanup_free_ char *path = NULL, *what = NULL;
        const char *name = argv[1], *stage, *verdict, *reason;
        bool passed = true;
        size_t n = 0;
        int r;

        if (isempty(name))
                return cli_error(-EINVAL, "Invalid target name ''.");
        r = sd_bus_path_encode(RUNBOOKD_TARGET_PREFIX, name, &path);
        if (r < 0 || asprintf_safe(&what, "check target '%s'", name) < 0)
                return cli_error(-ENOMEM, "Out of memory.");
        r = cli_bus_open(&bus);
        if (r < 0)
                return cli_error(r, "Failed to connect to the system bus: %s", strerror(-r));

        r = sd_bus_message_new_method_call(bus, &m, RUNBOOKD_BUS_NAME, path, RUNBOOKD_TARGET_INTERFACE, "Check");
        if (r < 0)
                return cli_error(r, "Failed to build the call: %s", strerror(-r));
        polkit_agent_open();
        r = sd_bus_call(bus, m, arg_ask_password ? CHECK_CALL_TIMEOUT_USEC : CHECK_CALL_TIMEOUT_NO_ASK_USEC, &error,
                        &reply);
        polkit_agent_close();
        if (r < 0) {
                if (sd_bus_error_has_names(&error, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_METHOD))
                        return cli_error(r, "No such target '%s' (runbookctl targets lists them).", name);
                return cli_bus_error(r, &error, RUNBOOKD_ACTION_MANAGE, what);
        }

        o = json_object();
        stages = json_array();
        if (!o || !stages)
                return cli_error(-ENOMEM, "Out of memory.");
        r = sd_bus_message_enter_container(reply, 'a', "(sss)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(sss)", &stage, &verdict, &reason)) > 0) {
                json_t *s = json_object();

                n++;
                passed = passed && streq(verdict, "ok");
                if (!s || json_array_append_new(stages, s) < 0 || json_add_string(s, "stage", stage) < 0 ||
                    json_add_string(s, "verdict", verdict) < 0 || json_add_string(s, "reason", reason) < 0)
                        return cli_error(-ENOMEM, "Out of memory.");
                if (arg_json == JSON_OFF)
                        print_stage(stage, verdict, reason);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return cli_error(r, "Failed to parse runbookd's reply: %s", strerror(-r));
        passed = passed && n > 0;

        if (arg_json != JSON_OFF) {
                if (json_add_string(o, "target", name) < 0 || json_object_set_new(o, "passed", json_boolean(passed)) < 0 ||
                    json_object_set(o, "stages", stages) < 0)
                        return cli_error(-ENOMEM, "Out of memory.");
                r = json_print(o);
                if (r < 0)
                        return r;
        }
        if (fflush(stdout) != 0)
                return -EIO;
        return passed ? 0 : 1;
}
