/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-runbook-steps.c: what a runbook says of its steps beyond running them: ids and
 * on_failure, retries, rollback and finally phases, conditions ("when"), and references to values
 * of earlier steps ({{steps.ID.NAME}}), rendered and checked at load. */
#include <stdio.h>

#include "config/template.h"
#include "config/test-config-fixture.h"

static void test_rollback_finally(void) {
        _cleanup_(runbook_freep) Runbook *rb = parse_runbook_ok(
                "{\"finally\": [{\"name\": \"f\", \"run\": \"pool-add {{steps.cur.v}}\"}],"
                " \"rollback\": [{\"name\": \"r\", \"run\": \"restore {{steps.cur.v}}\", \"id\": \"r\","
                "   \"capture\": {\"x\": {\"line\": 1}}}],"
                " \"postchecks\": [{\"name\": \"p\", \"run\": \"health\"}],"
                " \"steps\": [{\"name\": \"m\", \"run\": \"upgrade\"}],"
                " \"prechecks\": [{\"name\": \"c\", \"id\": \"cur\", \"run\": \"version\","
                "   \"capture\": {\"v\": {\"line\": 1}}}]}");

        /* in phase order, whatever the order of the keys */
        check_int(rb->n_steps, 5);
        check_int(rb->steps[0].phase, PHASE_PRECHECK);
        check_int(rb->steps[1].phase, PHASE_MAIN);
        check_int(rb->steps[2].phase, PHASE_POSTCHECK);
        check_int(rb->steps[3].phase, PHASE_ROLLBACK);
        check_streq(rb->steps[3].name, "r");
        check(rb->steps[3].requires_approval);   /* a person decides to roll back */
        check(rb->steps[3].refers_to_steps);
        check_int(rb->steps[4].phase, PHASE_FINALLY);
        check_streq(runbook_phase_key(PHASE_ROLLBACK), "rollback");
        check_streq(runbook_phase_key(PHASE_FINALLY), "finally");

        /* rollback and finally steps alone are not a runbook */
        check_runbook_error("{\"rollback\": [{\"name\": \"a\", \"run\": \"b\"}], \"finally\": [{\"name\": \"a\", \"run\": \"b\"}]}",
                    TEST_RUNBOOK_SRC ": $: the runbook has no steps (\"prechecks\", \"steps\" and \"postchecks\" are all empty)");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\"}], \"rollback\": {}}",
                    TEST_RUNBOOK_SRC ": $.rollback: must be an array of steps");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\"}], \"finally\": [{\"name\": \"a\"}]}",
                    TEST_RUNBOOK_SRC ": $.finally[0]: missing required key 'run'");
        /* a postcheck never runs before a rollback step */
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\"}],"
                    " \"postchecks\": [{\"name\": \"h\", \"id\": \"h\", \"run\": \"b\", \"capture\": {\"v\": {\"line\": 1}}}],"
                    " \"rollback\": [{\"name\": \"r\", \"run\": \"restore {{steps.h.v}}\"}]}",
                    TEST_RUNBOOK_SRC ": $.rollback[0].run: '{{steps.h.v}}': step 'h' is a postcheck, and postchecks never run before "
                    "a rollback step (rollback runs when the main steps did not succeed)");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\"}],"
                    " \"postchecks\": [{\"name\": \"h\", \"id\": \"h\", \"run\": \"b\"}],"
                    " \"rollback\": [{\"name\": \"r\", \"run\": \"restore\", \"when\": \"{{steps.h.exit_status}} == 0\"}]}",
                    TEST_RUNBOOK_SRC ": $.rollback[0].when (at offset 0): '{{steps.h.exit_status}}': step 'h' is a postcheck, and "
                    "postchecks never run before a rollback step (rollback runs when the main steps did not succeed)");
        /* a main step may not refer to a rollback step (it comes after) */
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b {{steps.r.x}}\"}],"
                    " \"rollback\": [{\"name\": \"r\", \"id\": \"r\", \"run\": \"b\", \"capture\": {\"x\": {\"line\": 1}}}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].run: '{{steps.r.x}}': no step before this one has id 'r'");
}

static void test_ids_and_on_failure(void) {
        static const char *const bad_ids[] = { "\"\"", "\"Up\"", "\"a b\"", "\"a.b\"", "\"\\u00e9\"",
                                               "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"" };

        for (size_t i = 0; i < ELEMENTSOF(bad_ids); i++) {
                _cleanup_free_ char *text = NULL;
                check(asprintf_safe(&text, "{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"id\": %s}]}", bad_ids[i]) == 0);
                check_runbook_error(text, TEST_RUNBOOK_SRC ": $.steps[0].id: must match ^[a-z0-9_-]+$ (at most 64 characters)");
        }
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"id\": 5}]}", TEST_RUNBOOK_SRC ": $.steps[0].id: must be a string");
        /* unique across the phases */
        check_runbook_error("{\"prechecks\": [{\"name\": \"look\", \"run\": \"b\", \"id\": \"x\"}],"
                    " \"steps\": [{\"name\": \"a\", \"run\": \"b\"}, {\"name\": \"c\", \"run\": \"b\", \"id\": \"x\"}]}",
                    TEST_RUNBOOK_SRC ": $.steps[1].id: id 'x' is already the id of precheck step 'look'");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"on_failure\": \"ignore\"}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].on_failure: must be \"stop\" or \"continue\"");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"on_failure\": false}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].on_failure: must be a string");

        _cleanup_(runbook_freep) Runbook *rb =
                parse_runbook_ok("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"id\": \"back-up_2\", \"on_failure\": \"continue\"},"
                         " {\"name\": \"c\", \"run\": \"d\", \"on_failure\": \"stop\"}, {\"name\": \"e\", \"run\": \"f\"}]}");
        check_streq(rb->steps[0].id, "back-up_2");
        check(rb->steps[0].continue_on_failure);
        check(!rb->steps[1].id && !rb->steps[1].continue_on_failure);
        check(!rb->steps[2].continue_on_failure);
}

static void test_retries(void) {
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"retries\": 26}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].retries: must be an integer from 0 to 25 (failed attempts retried by themselves)");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"retries\": -1}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].retries: must be an integer from 0 to 25 (failed attempts retried by themselves)");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"retries\": \"2\"}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].retries: must be an integer from 0 to 25 (failed attempts retried by themselves)");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"retries\": 2, \"retry_delay\": 86401}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].retry_delay: must be an integer from 0 to 86400 (seconds)");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"retries\": 2, \"retry_delay\": 1.5}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].retry_delay: must be an integer from 0 to 86400 (seconds)");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"retry_delay\": 10}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].retry_delay: is set, but the step has no \"retries\"");

        _cleanup_(runbook_freep) Runbook *rb =
                parse_runbook_ok("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"retries\": 2, \"retry_delay\": 10},"
                         " {\"name\": \"c\", \"run\": \"d\", \"retries\": 25}, {\"name\": \"e\", \"run\": \"f\"}]}");
        check_int(rb->steps[0].retries, 2);
        check_int(rb->steps[0].retry_delay_usec, 10 * USEC_PER_SEC);
        check_int(rb->steps[1].retries, 25);
        check_int(rb->steps[1].retry_delay_usec, 0);
        check_int(rb->steps[2].retries, 0);
}

/* "when": parsed at load, its references checked like run's (and exit_status of an earlier step). */
static void test_when(void) {
        static const char head[] = "{\"parameters\": {\"env\": {}}, \"prechecks\": [{\"id\": \"cur\", \"name\": \"current\","
                                   " \"run\": \"v\", \"capture\": {\"version\": {\"line\": 1}}}], \"steps\": [";
        static const struct {
                const char *when, *error;
        } bad[] = {
                { "{{env}}", "$.steps[0].when: at offset 7: expected a comparison operator" },
                { "{{nope}} == 'x'", "$.steps[0].when (at offset 0): '{{nope}}' refers to an undeclared parameter 'nope'" },
                { "{{steps.cur.release}} == 'x'",
                  "$.steps[0].when (at offset 0): '{{steps.cur.release}}': step 'cur' captures no value 'release' (it captures: version)" },
                { "{{env}} == 'a' || {{steps.zz.exit_status}} == 0",
                  "$.steps[0].when (at offset 18): '{{steps.zz.exit_status}}': no step before this one has id 'zz'" },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(json_decrefp) json_t *doc = NULL;
                _cleanup_free_ char *text = NULL, *error = NULL, *prefix = NULL;
                Runbook *rb = NULL;
                check(asprintf_safe(&text, "%s{\"name\": \"up\", \"run\": \"up\"}]}", head) == 0);
                doc = json_loads(text, 0, NULL);
                check(doc);
                check(json_object_set_new(json_array_get(json_object_get(doc, "steps"), 0), "when", json_string(bad[i].when)) == 0);
                check_int(runbook_from_json(doc, "web", TEST_RUNBOOK_SRC, &rb, &error), -EINVAL);
                check(asprintf_safe(&prefix, TEST_RUNBOOK_SRC ": %s", bad[i].error) == 0);
                if (strncmp(error, prefix, strlen(prefix)) != 0)
                        fprintf(stderr, "got: %s\nwanted: %s\n", error, prefix);
                check(strncmp(error, prefix, strlen(prefix)) == 0);
        }
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"when\": \"\"}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].when: must be a non-empty string (an expression)");
        check_runbook_error("{\"steps\": [{\"name\": \"a\", \"run\": \"b\", \"capture\": {\"exit_status\": {\"line\": 1}}}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].capture.exit_status: 'exit_status' is a step's exit status in a \"when\" "
                    "({{steps.ID.exit_status}}), not a name for a value");

        _cleanup_free_ char *ok = NULL;
        check(asprintf_safe(&ok, "%s{\"name\": \"up\", \"run\": \"up\", \"when\": "
                            "\"{{steps.cur.version}} != '2.4.1' && {{steps.cur.exit_status}} == 0 && {{env}} =~ '^p'\"}]}", head) == 0);
        _cleanup_(runbook_freep) Runbook *rb = parse_runbook_ok(ok);
        check_streq(rb->steps[1].when, "{{steps.cur.version}} != '2.4.1' && {{steps.cur.exit_status}} == 0 && {{env}} =~ '^p'");
        check(!rb->steps[0].when);
}

/* {{steps.ID.NAME}}: substituted from the values earlier steps captured, in the same one pass
 * (a value that reads like a reference is data); kept as written until it has a value, when
 * asked; refused otherwise. */
static void test_render_steps(void) {
        _cleanup_(json_decrefp) json_t *params = json_pack("{s:s}", "a", "{{steps.x.v}}"),
                                      *steps = json_pack("{s:{s:s}}", "x", "v", "2.4'1 {{a}}");
        _cleanup_free_ char *out = NULL;

        check_int(template_render_steps("up {{steps.x.v}} {{a}}", params, steps, false, &out), 0);
        check_streq(out, "up '2.4'\\''1 {{a}}' '{{steps.x.v}}'");
        free(TAKE_PTR(out));
        check_int(template_render_steps("up {{ steps.x.v }} {{steps.y.w}}", params, steps, true, &out), 0);
        check_streq(out, "up '2.4'\\''1 {{a}}' {{steps.y.w}}");
        free(TAKE_PTR(out));
        check_int(template_render_steps("up {{steps.y.w}}", params, steps, false, &out), -ENXIO);
        check_int(template_render_steps("up {{steps.x.w}}", params, NULL, false, &out), -ENXIO);
        check_int(template_render("up {{steps.x.v}}", params, &out), -ENXIO);
        check(!out);
        /* what a step reference is */
        check(template_step_ref("steps.a-b_9.Name_1", 18, NULL, NULL, NULL, NULL));
        check(!template_step_ref("steps.A.v", 9, NULL, NULL, NULL, NULL));
        check(!template_step_ref("steps..v", 8, NULL, NULL, NULL, NULL));
        check(!template_step_ref("steps.a.", 8, NULL, NULL, NULL, NULL));
        check(!template_step_ref("steps.a.9v", 10, NULL, NULL, NULL, NULL));
        check(!template_step_ref("steps.a.b.c", 11, NULL, NULL, NULL, NULL));
        check(!template_step_ref("step.a.b", 8, NULL, NULL, NULL, NULL));
}

/* A reference must name a value that a step before this one captures. */
static void test_step_refs(void) {
        static const char head[] = "{\"prechecks\": [{\"id\": \"cur\", \"name\": \"current\", \"run\": \"app --version\","
                                   " \"capture\": {\"version\": {\"regex\": \"^app (.*)$\"}}}], \"steps\": [";

        _cleanup_free_ char *ok = NULL, *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;
        check(asprintf_safe(&ok, "%s{\"name\": \"up\", \"run\": \"up {{steps.cur.version}}\"}, "
                            "{\"name\": \"plain\", \"run\": \"x\"}]}", head) == 0);
        _cleanup_(runbook_freep) Runbook *rb = parse_runbook_ok(ok);
        check(rb->steps[1].refers_to_steps);
        check(!rb->steps[2].refers_to_steps && !rb->steps[0].refers_to_steps);
        check_int(rb->steps[0].n_captures, 1);

        check(asprintf_safe(&e1, "%s{\"name\": \"up\", \"run\": \"up {{steps.cur.release}}\"}]}", head) == 0);
        check_runbook_error(e1, TEST_RUNBOOK_SRC ": $.steps[0].run: '{{steps.cur.release}}': step 'cur' captures no value 'release' "
                    "(it captures: version)");
        check(asprintf_safe(&e2, "%s{\"name\": \"up\", \"run\": \"up {{steps.nope.v}}\"}]}", head) == 0);
        check_runbook_error(e2, TEST_RUNBOOK_SRC ": $.steps[0].run: '{{steps.nope.v}}': no step before this one has id 'nope'");
        /* a later step, or the step itself, does not run before */
        check(asprintf_safe(&e3, "{\"steps\": [{\"name\": \"a\", \"run\": \"a {{steps.b.v}}\"},"
                            " {\"id\": \"b\", \"name\": \"b\", \"run\": \"b\", \"capture\": {\"v\": {\"line\": 1}}}]}") == 0);
        check_runbook_error(e3, TEST_RUNBOOK_SRC ": $.steps[0].run: '{{steps.b.v}}': no step before this one has id 'b'");
        check(asprintf_safe(&e4, "{\"steps\": [{\"id\": \"b\", \"name\": \"b\", \"run\": \"b {{steps.b.v}}\","
                            " \"capture\": {\"v\": {\"line\": 1}}}]}") == 0);
        check_runbook_error(e4, TEST_RUNBOOK_SRC ": $.steps[0].run: '{{steps.b.v}}': no step before this one has id 'b'");
        check_runbook_error("{\"steps\": [{\"id\": \"b\", \"name\": \"b\", \"run\": \"b\"}, {\"name\": \"c\", \"run\": \"c {{steps.b.v}}\"}]}",
                    TEST_RUNBOOK_SRC ": $.steps[1].run: '{{steps.b.v}}': step 'b' captures no value 'v' (it captures nothing)");
        /* the placement rules hold for step references as for parameters */
        check_runbook_error_prefix("{\"steps\": [{\"id\": \"b\", \"name\": \"b\", \"run\": \"b\", \"capture\": {\"v\": {\"line\": 1}}},"
                           " {\"name\": \"c\", \"run\": \"sh -c {{steps.b.v}}\"}]}",
                           TEST_RUNBOOK_SRC ": $.steps[1].run: '{{steps.b.v}}' (at offset 6) ");
        check_runbook_error("{\"steps\": [{\"name\": \"b\", \"run\": \"b\", \"capture\": {\"v\": 1}}]}",
                    TEST_RUNBOOK_SRC ": $.steps[0].capture.v: must be an object with one of \"regex\", \"json\" or \"line\"");
}

int main(void) {
        TEST(rollback_finally);
        TEST(ids_and_on_failure);
        TEST(retries);
        TEST(when);
        TEST(render_steps);
        TEST(step_refs);
        return 0;
}
