/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-runbook.c: runbook documents — strict parsing with JSON paths in errors, parameters, templates
 * and where their references may stand, binding and quoting, and the catalog of runbook files. */
#include <stdio.h>
#include <sys/stat.h>

#include "config/lock-name.h"
#include "config/template.h"
#include "config/test-config-fixture.h"

static void test_phase_and_names(void) {
        check_streq(step_phase_to_string(PHASE_PRECHECK), "precheck");
        check_streq(step_phase_to_string(PHASE_MAIN), "main");
        check_streq(step_phase_to_string(PHASE_POSTCHECK), "postcheck");
        check(!step_phase_to_string(_PHASE_MAX));
        check(!step_phase_to_string(_PHASE_INVALID));
        check_int(step_phase_from_string("postcheck"), PHASE_POSTCHECK);
        check_int(step_phase_from_string("steps"), _PHASE_INVALID);
        check_int(step_phase_from_string(NULL), _PHASE_INVALID);
        check_streq(step_phase_to_string(PHASE_ROLLBACK), "rollback");
        check_streq(step_phase_to_string(PHASE_FINALLY), "finally");
        check_int(step_phase_from_string("finally"), PHASE_FINALLY);
        check_streq(rollback_state_to_string(ROLLBACK_NONE), "none");
        check_streq(rollback_state_to_string(ROLLBACK_SKIPPED), "skipped");
        check_int(rollback_state_from_string("rejected"), ROLLBACK_REJECTED);
        check_int(rollback_state_from_string("x"), _ROLLBACK_STATE_INVALID);
        check(!rollback_state_to_string(_ROLLBACK_STATE_MAX));

        check(config_name_is_valid("web-01"));
        check(config_name_is_valid("a.b@c_d"));
        check(!config_name_is_valid(""));
        check(!config_name_is_valid(NULL));
        check(!config_name_is_valid(".hidden"));
        check(!config_name_is_valid("a/b"));
        check(!config_name_is_valid("a b"));
        char longname[RUNBOOK_NAME_MAX + 2];
        memset(longname, 'a', sizeof longname);
        longname[RUNBOOK_NAME_MAX] = 0;
        check(config_name_is_valid(longname));
        longname[RUNBOOK_NAME_MAX] = 'a';
        longname[RUNBOOK_NAME_MAX + 1] = 0;
        check(!config_name_is_valid(longname));
}

static void test_valid(void) {
        _cleanup_free_ char *dir = make_tmpdir(), *path = NULL, *error = NULL;
        _cleanup_(runbook_freep) Runbook *rb = NULL;
        const RunbookParam *p;

        path = write_file(dir, "runbooks/web.json",
                "{\n"
                "  \"description\": \"Restart a web service and verify it\",\n"
                "  \"parameters\": {\n"
                "    \"service\": { \"description\": \"unit to restart\", \"default\": \"nginx\",\n"
                "                 \"pattern\": \"^[a-z0-9@._-]+$\" },\n"
                "    \"port\": {}\n"
                "  },\n"
                "  \"target\": \"web-01\",\n"
                "  \"postchecks\": [ { \"name\": \"is active\", \"run\": \"systemctl is-active {{service}}\",\n"
                "                    \"approval\": \"none\" } ],\n"
                "  \"steps\": [ { \"name\": \"restart\", \"run\": \"systemctl restart {{ service }}\", \"timeout\": 120,\n"
                "                 \"approvers\": 2 },\n"
                "               { \"name\": \"probe\", \"run\": \"curl -s localhost:{{port}}\", \"target\": \"local\",\n"
                "                 \"expect_exit\": 7, \"approval\": \"required\" } ],\n"
                "  \"prechecks\": [ { \"name\": \"disk space\", \"run\": \"df -h /\", \"target\": \"db\" } ]\n"
                "}\n");
        check_int(runbook_load_file(path, "web", &rb, &error), 0);
        check(!error);
        check_streq(rb->name, "web");
        check_streq(rb->file, path);
        check_streq(rb->description, "Restart a web service and verify it");
        check_streq(rb->target, "web-01");
        check(json_is_object(rb->json));
        check(json_object_get(rb->json, "prechecks"));

        check_int(rb->n_params, 2);
        check_streq(rb->params[0].name, "service");
        check_streq(rb->params[1].name, "port");
        p = runbook_find_param(rb, "service");
        check(p == &rb->params[0]);
        check_streq(p->description, "unit to restart");
        check_streq(p->default_value, "nginx");
        check_streq(p->pattern, "^[a-z0-9@._-]+$");
        p = runbook_find_param(rb, "port");
        check(p && !p->description && !p->default_value && !p->pattern);
        check(!runbook_find_param(rb, "nope"));

        check_int(rb->n_steps, 4);
        /* prechecks, then steps, then postchecks, whatever the order in the file */
        check_streq(rb->steps[0].name, "disk space");
        check_int(rb->steps[0].phase, PHASE_PRECHECK);
        check_streq(rb->steps[0].target, "db");
        check(rb->steps[0].requires_approval);
        check_int(rb->steps[0].approvers, 1);
        check(rb->steps[0].timeout_usec == STEP_TIMEOUT_DEFAULT_SEC * USEC_PER_SEC);
        check_int(rb->steps[0].expect_exit, 0);

        check_streq(rb->steps[1].name, "restart");
        check_int(rb->steps[1].phase, PHASE_MAIN);
        check_streq(rb->steps[1].run, "systemctl restart {{ service }}");
        check_streq(rb->steps[1].target, "web-01");
        check(rb->steps[1].timeout_usec == 120 * USEC_PER_SEC);
        check_int(rb->steps[1].approvers, 2);

        check_streq(rb->steps[2].name, "probe");
        check_int(rb->steps[2].phase, PHASE_MAIN);
        check_streq(rb->steps[2].target, "local");
        check_int(rb->steps[2].expect_exit, 7);
        check(rb->steps[2].requires_approval);

        check_streq(rb->steps[3].name, "is active");
        check_int(rb->steps[3].phase, PHASE_POSTCHECK);
        check(!rb->steps[3].requires_approval);
        check_streq(rb->steps[3].target, "web-01");

        rm_rf(dir);
}

static void test_default_target_local(void) {
        _cleanup_(runbook_freep) Runbook *rb = parse_runbook_ok("{\"postchecks\": [{\"name\": \"n\", \"run\": \"true\"}]}");

        check(!rb->target && !rb->description && rb->n_params == 0);
        check_int(rb->n_steps, 1);
        check_int(rb->steps[0].phase, PHASE_POSTCHECK);
        check_streq(rb->steps[0].target, "local");
}

static void test_syntax_error(void) {
        _cleanup_free_ char *dir = make_tmpdir(), *path = NULL, *error = NULL, *prefix = NULL;
        _cleanup_(runbook_freep) Runbook *rb = NULL;

        path = write_file(dir, "runbooks/web.json", "{\n  \"steps\": [\n    { \"name\": \"x\" \"run\": \"y\" }\n  ]\n}\n");
        check_int(runbook_load_file(path, "web", &rb, &error), -EINVAL);
        check(!rb);
        fprintf(stderr, "   %s\n", error);
        check(asprintf_safe(&prefix, "%s: line 3 column ", path) == 0);
        check(strncmp(error, prefix, strlen(prefix)) == 0);
        free(error);
        free(path);

        /* duplicate keys are refused, not silently merged */
        path = write_file(dir, "runbooks/dup.json", "{\"steps\": [], \"steps\": []}");
        check_int(runbook_load_file(path, "dup", &rb, &error), -EINVAL);
        check(strstr(error, "duplicate"));
        free(error);
        free(path);

        /* a missing file */
        check(asprintf_safe(&path, "%s/runbooks/none.json", dir) == 0);
        check_int(runbook_load_file(path, "none", &rb, &error), -ENOENT);
        check(strstr(error, path));
        rm_rf(dir);
}

static void test_unknown_keys(void) {
        check_runbook_error("{\"colour\": 1, \"steps\": [{\"name\": \"a\", \"run\": \"b\"}]}",
                    TEST_RUNBOOK_SRC ": $.colour: unknown key (allowed: description, parameters, target, prechecks, steps, postchecks, "
                    "rollback, finally, approval_timeout, remind_before, approval_valid_for, break_glass, lock, windows)");
        check_runbook_error("{\"prechecks\": [{\"name\": \"a\", \"run\": \"b\", \"colour\": \"red\"}]}",
                    TEST_RUNBOOK_SRC ": $.prechecks[0].colour: unknown key (allowed: name, run, id, when, approval, target, timeout, "
                    "expect_exit, approvers, on_failure, capture, retries, retry_delay, approval_timeout, remind_before, approval_valid_for)");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\"}, {\"name\": \"a\", \"run\": \"b\", \"odd key\": 1}]}",
                    TEST_RUNBOOK_SRC ": $.steps[1][\"odd key\"]: unknown key (allowed: name, run, id, when, approval, target, timeout, "
                    "expect_exit, approvers, on_failure, capture, retries, retry_delay, approval_timeout, remind_before, approval_valid_for)");
        check_runbook_error("{\"parameters\": {\"p\": {\"type\": \"string\"}}, \"steps\": [{\"name\": \"a\", \"run\": \"b\"}]}",
                    TEST_RUNBOOK_SRC ": $.parameters.p.type: unknown key (allowed: description, default, pattern, allow_leading_dash, secret, credentials)");
}

static void test_wrong_types(void) {
        check_runbook_error("[]", TEST_RUNBOOK_SRC ": $: must be a JSON object");
        check_runbook_error("{\"steps\": {}}", TEST_RUNBOOK_SRC ": $.steps: must be an array of steps");
        check_runbook_error("{\"description\": 5, \"steps\": [{\"name\": \"a\", \"run\": \"b\"}]}",
                    TEST_RUNBOOK_SRC ": $.description: must be a string");
        check_runbook_error("{\"parameters\": [], \"steps\": [{\"name\": \"a\", \"run\": \"b\"}]}",
                    TEST_RUNBOOK_SRC ": $.parameters: must be an object");
        check_runbook_error("{\"parameters\": {\"p\": \"x\"}, \"steps\": [{\"name\": \"a\", \"run\": \"b\"}]}",
                    TEST_RUNBOOK_SRC ": $.parameters.p: must be an object");
        check_runbook_error("{\"parameters\": {\"p\": {\"default\": 3}}, \"steps\": [{\"name\": \"a\", \"run\": \"b\"}]}",
                    TEST_RUNBOOK_SRC ": $.parameters.p.default: must be a string");
        check_runbook_error("{\"steps\": [\"echo\"]}", TEST_RUNBOOK_SRC ": $.steps[0]: must be an object");
        check_runbook_error("{\"steps\": [{\"name\": 1, \"run\": \"b\"}]}", TEST_RUNBOOK_SRC ": $.steps[0].name: must be a string");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": [\"b\"]}]}", TEST_RUNBOOK_SRC ": $.steps[0].run: must be a string");
        check_runbook_error("{\"target\": \"../etc\", \"steps\": [{\"name\": \"a\", \"run\": \"b\"}]}",
                    TEST_RUNBOOK_SRC ": $.target: invalid target name '../etc'");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"target\": \"a b\"}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].target: invalid target name 'a b'");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"expect_exit\": 256}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].expect_exit: must be an integer from 0 to 255");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"expect_exit\": \"0\"}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].expect_exit: must be an integer from 0 to 255");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"approvers\": 17}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].approvers: must be an integer from 1 to 16");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"approvers\": 0}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].approvers: must be an integer from 1 to 16");
}

static void test_missing_name_run(void) {
        check_runbook_error("{\"steps\": [{\"run\": \"b\"}]}", TEST_RUNBOOK_SRC ": $.steps[0]: missing required key 'name'");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\"}], \"postchecks\": [{\"name\": \"a\"}]}",
                    TEST_RUNBOOK_SRC ": $.postchecks[0]: missing required key 'run'");
        check_runbook_error("{\"steps\": [{\"name\": \"\", \"run\": \"b\"}]}", TEST_RUNBOOK_SRC ": $.steps[0].name: must be a non-empty string");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"\"}]}", TEST_RUNBOOK_SRC ": $.steps[0].run: must be a non-empty string");
        check_runbook_error("{\"steps\": []}",
                    TEST_RUNBOOK_SRC ": $: the runbook has no steps (\"prechecks\", \"steps\" and \"postchecks\" are all empty)");
        check_runbook_error("{}",
                    TEST_RUNBOOK_SRC ": $: the runbook has no steps (\"prechecks\", \"steps\" and \"postchecks\" are all empty)");
}

static void test_bad_approval(void) {
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"approval\": \"maybe\"}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].approval: must be \"required\" or \"none\"");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"approval\": true}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].approval: must be a string");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"approval\": \"none\", \"approvers\": 2}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].approvers: more than one approver requires \"approval\": \"required\"");

        /* one approver with "none" is just the default spelled out */
        _cleanup_(runbook_freep) Runbook *rb =
                parse_runbook_ok("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"approval\": \"none\", \"approvers\": 1}]}");
        check(!rb->steps[0].requires_approval);
}

static void test_bad_timeout(void) {
        static const char *const bad[] = { "0", "-1", "1.5", "\"10\"", "true", "null" };
        const char *steps = "{\"steps\": [{\"name\": \"a\", \"run\": \"b\"}, {\"name\": \"a\", \"run\": \"b\"}, "
                            "{\"name\": \"a\", \"run\": \"b\", \"timeout\": %s}]}";

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *text = NULL;

                check(asprintf_safe(&text, steps, bad[i]) == 0);
                check_runbook_error(text, TEST_RUNBOOK_SRC ": $.steps[2].timeout: must be a positive integer (seconds)");
        }
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"timeout\": 604801}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].timeout: must be at most 604800 seconds (7 days)");

        _cleanup_(runbook_freep) Runbook *rb =
                parse_runbook_ok("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"timeout\": 604800}]}");
        check(rb->steps[0].timeout_usec == 604800 * USEC_PER_SEC);
}

static void test_templates(void) {
        check_runbook_error("{\"parameters\": {\"a\": {}}, \"steps\": [{\"name\": \"x\", \"run\": \"echo {{a}}\"},"
                    " {\"name\": \"y\", \"run\": \"echo {{ b }}\"}]}",
                    TEST_RUNBOOK_SRC ": $.steps[1].run: '{{b}}' refers to an undeclared parameter 'b'");
        check_runbook_error("{\"steps\": [{\"name\": \"x\", \"run\": \"echo {{a\"}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].run: unterminated '{{' (at offset 5)");
        check_runbook_error("{\"steps\": [{\"name\": \"x\", \"run\": \"echo {{}}\"}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].run: invalid parameter reference '{{}}' (expected {{name}} or {{steps.ID.NAME}})");
        check_runbook_error("{\"steps\": [{\"name\": \"x\", \"run\": \"echo {{a b}}\"}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].run: invalid parameter reference '{{a b}}' (expected {{name}} or {{steps.ID.NAME}})");

        _cleanup_(runbook_freep) Runbook *rb =
                parse_runbook_ok("{\"parameters\": {\"a\": {}, \"_b2\": {}}, \"steps\": [{\"name\": \"x\", "
                         "\"run\": \"echo {{a}}{{\\t_b2 }} }} {{  a}}\"}]}");
        check_int(rb->n_steps, 1);

        /* a reference must stand where its quoted value is one whole word of data */
        check_runbook_error("{\"parameters\": {\"v\": {}}, \"steps\": [{\"name\": \"x\", \"run\": \"echo ok\"},"
                    " {\"name\": \"y\", \"run\": \"logger -t rb \\\"{{v}}\\\"\"}]}",
                    TEST_RUNBOOK_SRC ": $.steps[1].run: '{{v}}' (at offset 14) stands inside \"…\" quotes, where its single quotes "
                    "are plain characters and $(…) still runs: a parameter may only stand where its quoted value is "
                    "one whole shell word of data (see docs/runbooks.md)");
        check_runbook_error("{\"parameters\": {\"v\": {}}, \"postchecks\": [{\"name\": \"x\", \"run\": \"sh -c {{ v }}\"}]}",
                    TEST_RUNBOOK_SRC ": $.postchecks[0].run: '{{ v }}' (at offset 6) is the program 'sh' runs (its first operand): "
                    "a parameter may only stand where its quoted value is one whole shell word of data (see docs/runbooks.md)");
}

static void test_parameters(void) {
        check_runbook_error("{\"parameters\": {\"1x\": {}}, \"steps\": [{\"name\": \"a\", \"run\": \"b\"}]}",
                    TEST_RUNBOOK_SRC ": $.parameters[\"1x\"]: invalid parameter name (must match [A-Za-z_][A-Za-z0-9_]{0,63})");
        check_runbook_error("{\"parameters\": {\"a-b\": {}}, \"steps\": [{\"name\": \"a\", \"run\": \"b\"}]}",
                    TEST_RUNBOOK_SRC ": $.parameters[\"a-b\"]: invalid parameter name (must match [A-Za-z_][A-Za-z0-9_]{0,63})");
        check_runbook_error_prefix("{\"parameters\": {\"p\": {\"pattern\": \"([a-z\"}}, \"steps\": [{\"name\": \"a\", \"run\": \"b\"}]}",
                           TEST_RUNBOOK_SRC ": $.parameters.p.pattern: invalid regular expression '([a-z': ");
        /* the checks of '=~' patterns (expr_pattern_check()): a runbook's patterns are compiled at
         * every Reload, and matched against callers' values */
        check_runbook_error("{\"parameters\": {\"p\": {\"pattern\": \"^(a*)\\\\1$\"}}, \"steps\": [{\"name\": \"a\", \"run\": \"b\"}]}",
                    TEST_RUNBOOK_SRC ": $.parameters.p.pattern: back-references (\\1) are not allowed in patterns "
                    "(they make matching exponentially slow)");
        check_runbook_error("{\"parameters\": {\"p\": {\"pattern\": \"^v+++?+++++++\"}}, \"steps\": [{\"name\": \"a\", \"run\": \"b\"}]}",
                    TEST_RUNBOOK_SRC ": $.parameters.p.pattern: '+' right after '+' repeats a repetition (POSIX leaves "
                    "that undefined, and it makes compiling the pattern exponentially slow): write one, or group with '(…)'");
        check_runbook_error("{\"parameters\": {\"p\": {\"pattern\": \"^[a-z]+$\", \"default\": \"Nope\"}}, "
                    "\"steps\": [{\"name\": \"a\", \"run\": \"b\"}]}",
                    TEST_RUNBOOK_SRC ": $.parameters.p.default: value 'Nope' does not match pattern '^[a-z]+$'");
        check_runbook_error("{\"parameters\": {\"p\": {\"default\": \"a\\u0001b\"}}, \"steps\": [{\"name\": \"a\", \"run\": \"b\"}]}",
                    TEST_RUNBOOK_SRC ": $.parameters.p.default: value is not printable UTF-8 text (control character U+0001 at byte 1)");
}

static Runbook *bind_runbook(void) {
        return parse_runbook_ok("{\"parameters\": {"
                        "\"service\": {\"pattern\": \"^[a-z0-9@._-]+$\"},"
                        "\"port\": {\"default\": \"80\", \"pattern\": \"^[0-9]+$\"},"
                        "\"note\": {\"default\": \"\"}},"
                        "\"steps\": [{\"name\": \"a\", \"run\": \"b {{service}} {{port}} {{note}}\"}]}");
}

static void check_bind_error(const Runbook *rb, const char *given_text, const char *expected) {
        _cleanup_(json_decrefp) json_t *given = json_loads(given_text, 0, NULL), *bound = NULL;
        _cleanup_free_ char *error = NULL;

        check(given);
        check_int(runbook_bind_parameters(rb, given, NULL, NULL, &bound, &error), -EINVAL);
        check(!bound);
        fprintf(stderr, "   %s\n", error);
        check_streq(error, expected);
}

static void test_bind(void) {
        _cleanup_(runbook_freep) Runbook *rb = bind_runbook();
        _cleanup_(json_decrefp) json_t *given = NULL, *bound = NULL;
        _cleanup_free_ char *error = NULL, *big = NULL;

        check_bind_error(rb, "{\"service\": \"nginx\", \"foo\": \"1\"}",
                         "unknown parameter 'foo' (runbook 'web' takes: service, port, note)");
        check_bind_error(rb, "{\"port\": \"8080\"}", "parameter 'service' is required");
        check_bind_error(rb, "{\"service\": \"x; rm -rf /\"}",
                         "parameter 'service': value 'x; rm -rf /' does not match pattern '^[a-z0-9@._-]+$'");
        check_bind_error(rb, "{\"service\": \"nginx\", \"port\": \"80a\"}",
                         "parameter 'port': value '80a' does not match pattern '^[0-9]+$'");
        check_bind_error(rb, "{\"service\": \"a\\u001bb\"}",
                         "parameter 'service': value is not printable UTF-8 text (control character U+001B at byte 1)");
        check_bind_error(rb, "{\"service\": \"ab\\u202ec\"}",
                         "parameter 'service': value is not printable UTF-8 text (bidirectional control character U+202E at byte 2)");
        check_bind_error(rb, "{\"service\": \"a\\u0085\"}",
                         "parameter 'service': value is not printable UTF-8 text (C1 control character U+0085 at byte 1)");
        check_bind_error(rb, "{\"service\": 5}", "parameter 'service': value must be a string");
        check_bind_error(rb, "[\"nginx\"]", "parameters must be a JSON object of strings");
        check_bind_error(rb, "{\"service\": \"nginx\", \"note\": \"--help\"}",
                         "parameter 'note': value starts with '-', which a program could take as an option "
                         "(the runbook may allow it with \"allow_leading_dash\": true)");
        {
                _cleanup_(runbook_freep) Runbook *dash = parse_runbook_ok(
                        "{\"parameters\": {\"n\": {\"allow_leading_dash\": true}},"
                        " \"steps\": [{\"name\": \"a\", \"run\": \"echo {{n}}\"}]}");
                _cleanup_(json_decrefp) json_t *g = json_pack("{s:s}", "n", "-5"), *b = NULL;
                _cleanup_free_ char *e = NULL;

                check_int(runbook_bind_parameters(dash, g, NULL, NULL, &b, &e), 0);
                check_streq(json_string_value(json_object_get(b, "n")), "-5");
        }
        check_runbook_error("{\"parameters\": {\"n\": {\"allow_leading_dash\": \"yes\"}}, \"steps\": [{\"name\": \"a\", \"run\": \"b\"}]}",
                    TEST_RUNBOOK_SRC ": $.parameters.n.allow_leading_dash: must be true or false");

        big = malloc(RUNBOOK_PARAM_VALUE_MAX + 2);
        check(big);
        memset(big, 'a', RUNBOOK_PARAM_VALUE_MAX + 1);
        big[RUNBOOK_PARAM_VALUE_MAX + 1] = 0;
        given = json_pack("{s:s}", "service", big);
        check_int(runbook_bind_parameters(rb, given, NULL, NULL, &bound, &error), -EINVAL);
        check_streq(error, "parameter 'service': value is too long (maximum 4096 bytes)");
        json_decref(TAKE_PTR(given));
        free(TAKE_PTR(error));

        /* defaults are filled in */
        given = json_pack("{s:s}", "service", "nginx");
        check_int(runbook_bind_parameters(rb, given, NULL, NULL, &bound, &error), 0);
        check_int(json_object_size(bound), 3);
        check_streq(json_string_value(json_object_get(bound, "service")), "nginx");
        check_streq(json_string_value(json_object_get(bound, "port")), "80");
        check_streq(json_string_value(json_object_get(bound, "note")), "");
        json_decref(TAKE_PTR(bound));

        /* NULL: nothing given */
        check_int(runbook_bind_parameters(rb, NULL, NULL, NULL, &bound, &error), -EINVAL);
        check_streq(error, "parameter 'service' is required");
        free(TAKE_PTR(error));

        _cleanup_(runbook_freep) Runbook *none = parse_runbook_ok("{\"steps\": [{\"name\": \"a\", \"run\": \"b\"}]}");
        check_int(runbook_bind_parameters(none, NULL, NULL, NULL, &bound, &error), 0);
        check_int(json_object_size(bound), 0);
        check_bind_error(none, "{\"x\": \"1\"}", "unknown parameter 'x' (runbook 'web' takes no parameters)");
}

static void test_shell_quote(void) {
        static const struct { const char *in, *out; } cases[] = {
                { "abc", "'abc'" },
                { "it's", "'it'\\''s'" },
                { "", "''" },
                { "'", "''\\'''" },
                { "''", "''\\'''\\'''" },
                { "a b\tc\nd", "'a b\tc\nd'" },
                { "$(id) `id` \"x\" \\", "'$(id) `id` \"x\" \\'" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *q = shell_quote(cases[i].in);
                check_streq(q, cases[i].out);
        }
}

static void test_render(void) {
        _cleanup_(json_decrefp) json_t *values = json_pack("{s:s, s:s}", "a", "x y", "b", "it's");
        _cleanup_free_ char *out = NULL;

        check_int(template_render("cmd {{a}} {{ b }}{{a}} }} {", values, &out), 0);
        check_streq(out, "cmd 'x y' 'it'\\''s''x y' }} {");
        free(TAKE_PTR(out));
        check_int(template_render("no refs", values, &out), 0);
        check_streq(out, "no refs");
        free(TAKE_PTR(out));
        check_int(template_render("", values, &out), 0);
        check_streq(out, "");
        free(TAKE_PTR(out));
        check_int(template_render("{{c}}", values, &out), -ENXIO);
        check_int(template_render("{{a", values, &out), -EINVAL);
        check_int(template_render("{{a b}}", values, &out), -EINVAL);
        check(!out);
}

/* Runs 'cmd' with /bin/sh -c and returns what it printed on stdout. */
static char *run_sh(const char *cmd) {
        char *buf = NULL, chunk[4096];
        size_t size = 0, n;
        FILE *p, *m;

        m = open_memstream(&buf, &size);
        check(m);
        p = popen(cmd, "re");
        check(p);
        while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
                fwrite(chunk, 1, n, m);
        check(pclose(p) == 0);
        check(fclose(m) == 0);
        return buf;
}

static void test_injection(void) {
        _cleanup_free_ char *dir = make_tmpdir(), *canary = NULL;
        _cleanup_(runbook_freep) Runbook *rb = NULL;
        const char *values[] = {
                "x; rm -rf /", "$(touch CANARY)", "`touch CANARY`", "'; touch CANARY; '", "\"; touch CANARY; \"",
                "\\'; touch CANARY #", "a && touch CANARY", "a | touch CANARY", "${IFS}$HOME", "*", "~", "-n",
                "it's", "'", "''", "\\", "\\n", "", "a\tb", "line1\nline2", ">CANARY", "$((1+1))", "ünïcødé ✓",
        };

        check(asprintf_safe(&canary, "%s/pwned", dir) == 0);
        rb = parse_runbook_ok("{\"parameters\": {\"v\": {\"pattern\": \".*\", \"allow_leading_dash\": true}},"
                      "\"steps\": [{\"name\": \"echo\", \"run\": \"echo {{v}}\"},"
                      "            {\"name\": \"printf\", \"run\": \"printf '%s' {{ v }}\"}]}");

        /* the canonical case, with echo: check the rendered text before running it */
        {
                _cleanup_(json_decrefp) json_t *given = json_pack("{s:s}", "v", "x; rm -rf /"), *bound = NULL;
                _cleanup_free_ char *error = NULL, *cmd = NULL, *out = NULL;

                check_int(runbook_bind_parameters(rb, given, NULL, NULL, &bound, &error), 0);
                check_int(template_render(rb->steps[0].run, bound, &cmd), 0);
                check_streq(cmd, "echo 'x; rm -rf /'");
                out = run_sh(cmd);
                check_streq(out, "x; rm -rf /\n");
        }

        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                _cleanup_(json_decrefp) json_t *given = NULL, *bound = NULL;
                _cleanup_free_ char *error = NULL, *cmd = NULL, *out = NULL, *value = NULL, *full = NULL;
                const char *c = strstr(values[i], "CANARY");

                /* point the would-be side effects into our directory */
                if (c)
                        check(asprintf_safe(&value, "%.*s%s%s", (int) (c - values[i]), values[i], canary,
                                            c + strlen("CANARY")) == 0);
                else
                        check(value = strdup(values[i]));
                given = json_pack("{s:s}", "v", value);
                check_int(runbook_bind_parameters(rb, given, NULL, NULL, &bound, &error), 0);
                check_int(template_render(rb->steps[1].run, bound, &cmd), 0);
                /* run in the temporary directory, so that '*' could only ever glob there */
                check(asprintf_safe(&full, "cd '%s' && %s", dir, cmd) == 0);
                out = run_sh(full);
                if (!streq(out, value))
                        fprintf(stderr, "value <%s> came out as <%s>\n", value, out);
                check_streq(out, value);
                check(access(canary, F_OK) < 0 && errno == ENOENT);
        }
        rm_rf(dir);
}

static void test_catalog(void) {
        _cleanup_free_ char *vendor = make_tmpdir(), *admin = make_tmpdir(), *missing = NULL;
        _cleanup_(runbook_catalog_freep) RunbookCatalog *c = NULL;
        const char *ok = "{\"description\": \"%s\", \"steps\": [{\"name\": \"a\", \"run\": \"true\"}]}";
        const RunbookBroken *b;
        const Runbook *rb;
        char *text;

#define PUT(dir, rel, desc)                                             \
        do {                                                            \
                check(asprintf_safe(&text, ok, desc) == 0);             \
                put_file(dir, rel, text);                               \
                free(text);                                             \
        } while (0)

        PUT(vendor, "runbooks/zeta.json", "vendor zeta");
        PUT(vendor, "runbooks/alpha.json", "vendor alpha");
        PUT(vendor, "runbooks/web.json", "vendor web");
        PUT(vendor, "runbooks/db.json", "vendor db");
        PUT(vendor, "runbooks/.hidden.json", "hidden");
        PUT(vendor, "runbooks/notes.txt", "not json");
        PUT(vendor, "runbooks/web.json~", "backup");
        PUT(admin, "runbooks/web.json", "admin web");
        PUT(admin, "runbooks/mid.json", "admin mid");
        put_file(admin, "runbooks/db.json", "{\"steps\": [{\"name\": \"a\"}]}");
        put_file(admin, "runbooks/bad name.json", "{}");
        put_file(vendor, "runbooks/syntax.json", "{");

        check_int(runbook_catalog_load(vendor, admin, &c), 0);
        check_int(c->n_runbooks, 4);
        check_streq(c->runbooks[0]->name, "alpha");
        check_streq(c->runbooks[1]->name, "mid");
        check_streq(c->runbooks[2]->name, "web");
        check_streq(c->runbooks[3]->name, "zeta");

        rb = runbook_catalog_find(c, "web");
        check(rb);
        check_streq(rb->description, "admin web");
        check(strncmp(rb->file, admin, strlen(admin)) == 0);
        check_streq(runbook_catalog_find(c, "alpha")->description, "vendor alpha");
        check_streq(runbook_catalog_find(c, "zeta")->description, "vendor zeta");
        check(!runbook_catalog_find(c, "hidden"));
        check(!runbook_catalog_find(c, ".hidden"));
        check(!runbook_catalog_find(c, "notes"));

        /* a broken admin file hides the vendor one, and says why */
        check(!runbook_catalog_find(c, "db"));
        check_int(c->n_broken, 3);
        b = runbook_catalog_find_broken(c, "db");
        check(b);
        check(strncmp(b->file, admin, strlen(admin)) == 0);
        fprintf(stderr, "   %s\n", b->error);
        check(strstr(b->error, ": $.steps[0]: missing required key 'run'"));
        check(strncmp(b->error, b->file, strlen(b->file)) == 0);
        b = runbook_catalog_find_broken(c, "bad name");
        check(b);
        check(strstr(b->error, "invalid runbook name 'bad name'"));
        b = runbook_catalog_find_broken(c, "syntax");
        check(b);
        check(strstr(b->error, ": line 1 column "));
        check(!runbook_catalog_find_broken(c, "web"));
        check_streq(c->broken[0].name, "bad name");
        check_streq(c->broken[1].name, "db");
        check_streq(c->broken[2].name, "syntax");
        runbook_catalog_free(TAKE_PTR(c));

        /* missing directories and NULL are empty */
        check(asprintf_safe(&missing, "%s/nonexistent", admin) == 0);
        check_int(runbook_catalog_load(missing, NULL, &c), 0);
        check_int(c->n_runbooks, 0);
        check_int(c->n_broken, 0);
        check(!runbook_catalog_find(c, "web"));
        runbook_catalog_free(TAKE_PTR(c));
        check_int(runbook_catalog_load(NULL, vendor, &c), 0);
        check_int(c->n_runbooks, 4);
        check_streq(runbook_catalog_find(c, "web")->description, "vendor web");
        check_streq(runbook_catalog_find(c, "db")->description, "vendor db");
        check_int(c->n_broken, 1);

        rm_rf(vendor);
        rm_rf(admin);
#undef PUT
}

static void test_lock_names(void) {
        char *const params[] = { "cluster", "region" };
        _cleanup_(json_decrefp) json_t *values = json_pack("{s:s,s:s,s:s}", "cluster", "main", "region", "eu west",
                                                            "evil", "{{cluster}}");
        size_t offset = 0;
        char *problem = NULL, *name = NULL, *error = NULL;

        check(lock_name_is_valid("db-main"));
        check(!lock_name_is_valid(""));
        check(!lock_name_is_valid("a b"));
        check(!lock_name_is_valid("a\nb"));
        check(!lock_name_is_valid("é"));

        check(lock_template_check("db-{{cluster}}", params, 2, &offset, &problem) == 0);
        check(lock_template_check("db-{{ cluster }}-{{region}}", params, 2, &offset, &problem) == 0);
        check(lock_template_check("db-{{nope}}", params, 2, &offset, &problem) == -EINVAL);
        check(offset == 3 && streq(problem, "{{nope}} is not a parameter of the runbook"));
        problem = mfree(problem);
        check(lock_template_check("db {{cluster}}", params, 2, &offset, &problem) == -EINVAL && offset == 2);
        problem = mfree(problem);
        check(lock_template_check("db-{{steps.a.b}}", params, 2, &offset, &problem) == -EINVAL);
        problem = mfree(problem);
        check(lock_template_check("db-{{cluster", params, 2, &offset, &problem) == -EINVAL);
        problem = mfree(problem);
        check(lock_template_check("", params, 2, &offset, &problem) == -EINVAL);
        problem = mfree(problem);

        check(lock_name_render("db-{{cluster}}", values, &name, &error) == 0 && streq(name, "db-main"));
        name = mfree(name);
        /* a value is substituted once, as it is: never read as a template again */
        check(lock_name_render("x{{evil}}", values, &name, &error) == 0 && streq(name, "x{{cluster}}"));
        name = mfree(name);
        check(lock_name_render("db-{{region}}", values, &name, &error) == -EINVAL);
        check(strstr(error, "\"db-eu west\"") != NULL);
        error = mfree(error);
        check(lock_name_render("db-{{missing}}", values, &name, &error) == -ENXIO);
        {
                _cleanup_(json_decrefp) json_t *t = json_pack("{s:s}", "x", "target:prod-db");
                check(lock_name_render("{{x}}", t, &name, &error) == -EINVAL);
                check(strstr(error, "is a target's lock"));
                error = mfree(error);
                check(lock_name_render("target:{{x}}", t, &name, &error) == 0);   /* the runbook's own choice */
                name = mfree(name);
        }

        check_runbook_error("{\"parameters\": {\"c\": {}}, \"lock\": \"db {{c}}\", \"steps\": [{\"name\": \"a\", \"run\": \"b\"}]}",
                            TEST_RUNBOOK_SRC ": $.lock: at offset 2: a lock name is printable ASCII without spaces");
        /* a lock's name is shown and stored: a secret cannot make it */
        check_runbook_error("{\"parameters\": {\"k\": {\"secret\": true}}, \"lock\": \"db-{{k}}\", "
                            "\"steps\": [{\"name\": \"a\", \"run\": \"b\"}]}",
                            TEST_RUNBOOK_SRC ": $.lock: at offset 3: {{k}} is a secret parameter, which cannot name a lock");
}

/* "secret": true: where it is refused at load, and how its values bind (never quoted in errors). */
static void test_secret_params(void) {
        _cleanup_(runbook_freep) Runbook *rb = NULL;
        _cleanup_(json_decrefp) json_t *given = NULL, *bound = NULL;
        _cleanup_free_ char *error = NULL;

        check_runbook_error_prefix("{\"parameters\": {\"tok\": {\"secret\": true}}, \"steps\": [{\"name\": \"a\", "
                                   "\"run\": \"curl -H {{tok}} x\"}]}",
                                   "/x/runbooks/web.json: $.steps[0].run: '{{tok}}' (at offset 8) is a secret parameter, whose "
                                   "value is never put into a command: use \"$RUNBOOK_SECRET_TOK\"");
        check_runbook_error_prefix("{\"parameters\": {\"tok\": {\"secret\": true}}, \"steps\": [{\"name\": \"a\", "
                                   "\"run\": \"true\", \"when\": \"{{tok}} == 'x'\"}]}",
                                   "/x/runbooks/web.json: $.steps[0].when (at offset 0): '{{tok}}' is a secret parameter");
        check_runbook_error("{\"parameters\": {\"tok\": {\"secret\": true, \"pattern\": \"^a$\"}}, \"steps\": "
                            "[{\"name\": \"a\", \"run\": \"true\"}]}",
                            "/x/runbooks/web.json: $.parameters.tok: a secret parameter takes no \"pattern\"");
        check_runbook_error_prefix("{\"parameters\": {\"tok\": {\"secret\": true, \"default\": \"hunter2\"}}, \"steps\": "
                                   "[{\"name\": \"a\", \"run\": \"true\"}]}",
                                   "/x/runbooks/web.json: $.parameters.tok.default: the default of a secret parameter must "
                                   "name a credential");
        check_runbook_error("{\"parameters\": {\"tok\": {\"secret\": 1}}, \"steps\": [{\"name\": \"a\", \"run\": \"true\"}]}",
                            "/x/runbooks/web.json: $.parameters.tok.secret: must be true or false");
        check_runbook_error("{\"parameters\": {\"tok\": {\"secret\": true}, \"TOK\": {\"secret\": true}}, \"steps\": "
                            "[{\"name\": \"a\", \"run\": \"true\"}]}",
                            "/x/runbooks/web.json: $.parameters.TOK: secret parameters 'tok' and 'TOK' would have the same "
                            "environment variable");

        rb = parse_runbook_ok("{\"parameters\": {\"tok\": {\"secret\": true, \"default\": \"cred:api\"}, "
                              "\"k\": {\"secret\": true}}, "
                              "\"steps\": [{\"name\": \"a\", \"run\": \"printf %s \\\"$RUNBOOK_SECRET_TOK\\\"\"}]}");
        check(rb->params[0].secret || rb->params[1].secret);
        check(runbook_json_param_is_secret(rb->json, "tok"));
        check(!runbook_json_param_is_secret(rb->json, "nope"));
        /* a leading dash is fine (never an argument); the default fills in; an empty value is refused */
        given = json_pack("{s:s}", "k", "-hunter2 x");
        check(runbook_bind_parameters(rb, given, NULL, NULL, &bound, &error) == 0);
        check_streq(json_string_value(json_object_get(bound, "tok")), "cred:api");
        json_decref(given);
        json_decref(bound);
        bound = NULL;
        given = json_pack("{s:s}", "k", "");
        check_int(runbook_bind_parameters(rb, given, NULL, NULL, &bound, &error), -EINVAL);
        check_streq(error, "parameter 'k': a secret parameter's value must not be empty");
        error = mfree(error);
        json_decref(given);
        given = json_pack("{s:s}", "k", "sec\x01ret");
        check_int(runbook_bind_parameters(rb, given, NULL, NULL, &bound, &error), -EINVAL);
        check(!strstr(error, "sec"));
}

static bool own_ops_key(const char *name, void *userdata) {
        (*(unsigned *) userdata)++;
        return streq(name, "ops-key");
}

/* "credentials": ["*"] lets a caller name any credential but runbookd's own (a target's, a
 * sink's: the callback says which), and both refusals read the same; a runbook's default that
 * names one is the runbook's business (the callback is not asked). */
static void test_secret_credentials_own(void) {
        _cleanup_(runbook_freep) Runbook *rb = NULL;
        json_t *given, *bound = NULL;
        char *error = NULL;
        unsigned asked = 0;

        rb = parse_runbook_ok("{\"parameters\": {\"tok\": {\"secret\": true, \"credentials\": [\"*\"]}, "
                              "\"d\": {\"secret\": true, \"default\": \"cred:ops-key\"}}, "
                              "\"steps\": [{\"name\": \"a\", \"run\": \"true\"}]}");
        given = json_pack("{s:s}", "tok", "cred:ops-key");
        check_int(runbook_bind_parameters(rb, given, own_ops_key, &asked, &bound, &error), -EINVAL);
        check_streq(error, "parameter 'tok': credential 'ops-key' is not one this parameter may name (the runbook's "
                           "\"credentials\" for it)");
        check_int(asked, 1);
        check(!bound);
        error = mfree(error);
        json_decref(given);

        given = json_pack("{s:s}", "tok", "cred:db-password");
        check_int(runbook_bind_parameters(rb, given, own_ops_key, &asked, &bound, &error), 0);
        check_streq(json_string_value(json_object_get(bound, "tok")), "cred:db-password");
        check_streq(json_string_value(json_object_get(bound, "d")), "cred:ops-key");
        check_int(asked, 2);
        json_decref(given);
        json_decref(bound);
}

int main(void) {
        umask(022);   /* the files written here must pass the ownership and mode checks */
        TEST(phase_and_names);
        TEST(secret_params);
        TEST(secret_credentials_own);
        TEST(valid);
        TEST(default_target_local);
        TEST(syntax_error);
        TEST(unknown_keys);
        TEST(wrong_types);
        TEST(missing_name_run);
        TEST(bad_approval);
        TEST(bad_timeout);
        TEST(templates);
        TEST(parameters);
        TEST(bind);
        TEST(shell_quote);
        TEST(render);
        TEST(injection);
        TEST(catalog);
        TEST(lock_names);
        return 0;
}
