/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-step-values.c: values passed between steps — a step's "capture" taken from its stdout,
 * and {{steps.ID.NAME}} substituted in a later step's command when it is reached, before anyone
 * approves it (its Command and Digest show the value) — and conditions ("when") over them, with
 * steps run by the test connector (see test-engine-fixture.h). */

#include <stdio.h>
#include <sys/stat.h>

#include "engine/test-engine-fixture.h"

static const char flow_json[] =
        "{ \"parameters\": { \"env\": { \"default\": \"staging\" } },"
        "  \"prechecks\": [ { \"id\": \"current\", \"name\": \"current\", \"run\": \"%s\", \"approval\": \"none\","
        "                   \"on_failure\": \"%s\","
        "                   \"capture\": { \"version\": { \"regex\": \"^app (.+)$\" } } } ],"
        "  \"steps\": [ { \"id\": \"backup\", \"name\": \"backup\", \"run\": \"backup --tag {{steps.current.version}} {{env}}\" },"
        "              { \"name\": \"after\", \"run\": \"after\", \"approval\": \"none\" } ] }";

static Runbook *flow(Fx *f, const char *precheck_run, const char *on_failure) {
        _cleanup_free_ char *json = NULL;

        check(asprintf_safe(&json, flow_json, precheck_run, on_failure) == 0);
        return rb_make(f, json);
}

static char *digest_of(Fx *f, const char *command) {
        char *d = NULL;
        check(step_compute_digest("test", "local", "{\"connector\":\"local\"}", command, &d) == 0);
        return d;
}

/* The value is taken, and the next step shows it (quoted) before it is approved; the digest an
 * approval binds to covers it; the approval runs exactly that; all of it survives a restart. */
static void test_capture_and_refer(void) {
        _cleanup_free_ char *before = NULL, *after = NULL;
        Fx f;
        Runbook *rb;
        Session *s, *c;
        uint32_t id;

        fx_setup(&f);
        rb = flow(&f, "out starting; out app 2.4.1; out app 3", "stop");
        s = start(&f, rb, NULL);
        id = s->id;
        /* until it is reached, the command shows the reference */
        check_streq(s->steps[1].command, "backup --tag {{steps.current.version}} 'staging'");
        before = strdup(s->steps[1].digest);
        check(before);
        settle(&f);

        check_int(s->steps[0].state, STEP_SUCCEEDED);
        check_streq(json_string_value(json_object_get(s->steps[0].captured, "version")), "2.4.1");
        check_int(json_object_size(s->steps[0].captured), 1);
        check_int(s->steps[1].state, STEP_WAITING_APPROVAL);
        check_streq(s->steps[1].command, "backup --tag '2.4.1' 'staging'");
        after = digest_of(&f, "backup --tag '2.4.1' 'staging'");
        check_streq(s->steps[1].digest, after);
        check(!streq(before, after));
        check_int(hooks.last_step_states[1], STEP_WAITING_APPROVAL);

        /* durable as shown */
        c = stored(&f, id);
        check_streq(c->steps[1].command, "backup --tag '2.4.1' 'staging'");
        check_streq(c->steps[1].digest, after);
        check_streq(json_string_value(json_object_get(c->steps[0].captured, "version")), "2.4.1");
        session_free(c);
        fx_close_engine(&f);
        fx_open_engine(&f);
        s = get(&f, id);
        check_streq(s->steps[1].command, "backup --tag '2.4.1' 'staging'");
        check_streq(json_string_value(json_object_get(s->steps[0].captured, "version")), "2.4.1");

        check_int(approve(&f, &s->steps[1], BOB), 0);
        settle(&f);
        check_int(s->state, SESSION_SUCCEEDED);
        CHECK_RUNS("out starting; out app 2.4.1; out app 3", "backup --tag '2.4.1' 'staging'", "after");

        runbook_free(rb);
        fx_done(&f);
}

/* A captured value is data: quoted as one word, never read as shell (nor as a template:
 * test-template.c). */
static void test_hostile_value(void) {
        Fx f;
        Runbook *rb;
        Session *s;

        fx_setup(&f);
        rb = flow(&f, "out app x' && rm -rf / #$(id) `id`", "stop");
        s = start(&f, rb, NULL);
        settle(&f);
        check_int(s->steps[0].state, STEP_SUCCEEDED);
        check_streq(s->steps[1].command, "backup --tag 'x'\\'' && rm -rf / #$(id) `id`' 'staging'");
        runbook_free(rb);
        fx_done(&f);
}

/* A value that cannot be taken fails the step, saying which and why; a value a later step needs
 * but that was not taken (its step failed, allowed to) fails that later step, saying so. */
static void test_capture_failures(void) {
        Fx f;
        Runbook *rb;
        Session *s;

        fx_setup(&f);
        rb = flow(&f, "out version unknown", "stop");
        s = start(&f, rb, NULL);
        settle(&f);
        check_int(s->steps[0].state, STEP_FAILED);
        check_int(s->steps[0].exit_status, 0);
        check_streq(s->steps[0].error, "capture 'version': no line of stdout matches '^app (.+)$'");
        check(!s->steps[0].captured);
        check_int(s->state, SESSION_FAILED);
        check(strstr(s->error, "precheck 0 (current) failed: capture 'version'"));
        check_int(s->steps[1].state, STEP_SKIPPED);
        runbook_free(rb);

        /* the value a later step needs is missing: that step fails, and nothing of it runs */
        rb = flow(&f, "out nothing", "continue");
        s = start(&f, rb, NULL);
        settle(&f);
        check_int(s->steps[0].state, STEP_FAILED);
        check_int(s->steps[1].state, STEP_FAILED);
        check_streq(s->steps[1].error,
                    "'{{steps.current.version}}' has no value: step 0 (current) is failed and did not capture it");
        check_int(s->state, SESSION_FAILED);
        check_int(tc_count("backup --tag {{steps.current.version}} 'staging'"), 0);
        check_int(tc_n_runs(), 2);
        runbook_free(rb);

        /* output cut at the cap: a capture needs all of it */
        {
                EngineConfig cfg = *engine_get_config(f.engine);
                cfg.output_cap = 64;
                engine_set_config(f.engine, &cfg);
        }
        rb = flow(&f, "fill 100 x; out app 1", "stop");
        s = start(&f, rb, NULL);
        settle(&f);
        check_int(s->steps[0].state, STEP_FAILED);
        check_streq(s->steps[0].error, "cannot capture: stdout was longer than the output cap (64 bytes), and a capture needs all of it");
        runbook_free(rb);
        fx_done(&f);
}

static int save_fn(StoreTxn *t, void *userdata) {
        Session *s = userdata;

        store_save_session(t, s, true);
        for (size_t i = 0; i < s->n_steps; i++)
                store_save_step(t, &s->steps[i]);
        return t->ret;
}

/* A step found interrupted after a reboot may never have been reached (its start was written
 * ahead): Retry substitutes the values before it waits for approval. */
static void test_retry_renders(void) {
        _cleanup_free_ char *want = NULL;
        Fx f;
        Runbook *rb;
        Session *s;
        uint32_t id;

        fx_setup(&f);
        rb = flow(&f, "out app 2.4.1", "stop");
        s = start(&f, rb, NULL);
        id = s->id;
        settle(&f);
        check_int(s->steps[1].state, STEP_WAITING_APPROVAL);
        /* as the start log leaves it after a reboot: interrupted, never rendered */
        free(s->steps[1].command);
        s->steps[1].command = strdup("backup --tag {{steps.current.version}} 'staging'");
        check(s->steps[1].command);
        s->steps[1].state = STEP_INTERRUPTED;
        s->state = SESSION_INTERRUPTED;
        check(store_write(f.store, save_fn, s) == 0);
        check(store_sync(f.store) == 0);
        fx_close_engine(&f);
        fx_open_engine(&f);
        s = get(&f, id);
        check_int(s->state, SESSION_INTERRUPTED);

        check_int(engine_retry(f.engine, s, as(BOB), NULL), 0);
        check_int(s->steps[1].state, STEP_WAITING_APPROVAL);
        check_streq(s->steps[1].command, "backup --tag '2.4.1' 'staging'");
        want = digest_of(&f, "backup --tag '2.4.1' 'staging'");
        check_streq(s->steps[1].digest, want);
        check_int(approve(&f, &s->steps[1], CAROL), 0);
        settle(&f);
        check_int(s->state, SESSION_SUCCEEDED);
        CHECK_RUNS("out app 2.4.1", "backup --tag '2.4.1' 'staging'", "after");
        runbook_free(rb);
        fx_done(&f);
}

/* The same for its condition: false, Retry skips the step (as reaching it would have) and the
 * session goes on; nothing waits for an approval. */
static void test_retry_condition(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        uint32_t id;

        fx_setup(&f);
        rb = rb_make(&f,
                     "{ \"prechecks\": [ { \"id\": \"cur\", \"name\": \"current\", \"run\": \"out app 2.4.1\","
                     "                    \"approval\": \"none\", \"capture\": { \"v\": { \"regex\": \"^app (.*)$\" } } } ],"
                     "  \"steps\": [ { \"name\": \"pause\", \"run\": \"pause\" },"
                     "              { \"name\": \"upgrade\", \"run\": \"upgrade\", \"approval\": \"none\","
                     "                \"when\": \"{{steps.cur.v}} != '2.4.1'\" },"
                     "              { \"name\": \"after\", \"run\": \"after\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        settle(&f);
        check_int(s->steps[1].state, STEP_WAITING_APPROVAL);
        /* as the start log leaves it after a reboot: step 1 ended, step 2 interrupted, never reached */
        s->steps[1].state = STEP_SUCCEEDED;
        s->steps[2].state = STEP_INTERRUPTED;
        s->current_step = 2;
        s->state = SESSION_INTERRUPTED;
        check(store_write(f.store, save_fn, s) == 0);
        check(store_sync(f.store) == 0);
        fx_close_engine(&f);
        fx_open_engine(&f);
        s = get(&f, id);
        check_int(s->state, SESSION_INTERRUPTED);

        check_int(engine_retry(f.engine, s, as(BOB), NULL), 0);
        check_int(s->steps[2].state, STEP_SKIPPED);
        check(s->steps[2].error && strstr(s->steps[2].error, "2.4.1"));
        settle(&f);
        check_int(s->state, SESSION_SUCCEEDED);
        CHECK_RUNS("out app 2.4.1", "after");
        runbook_free(rb);
        fx_done(&f);
}

/* "when" is checked when the step is reached: false skips it (no approval asked, not run, the
 * reason and the values in its error); true runs it; one that cannot be evaluated fails it. */
static void test_when(void) {
        Fx f;
        Runbook *rb;
        Session *s, *c;
        uint32_t id;

        fx_setup(&f);
        rb = rb_make(&f,
                     "{ \"parameters\": { \"env\": { \"default\": \"staging\" } },"
                     "  \"prechecks\": [ { \"id\": \"cur\", \"name\": \"current\", \"run\": \"out 2.4.1\", \"approval\": \"none\","
                     "                    \"capture\": { \"version\": { \"line\": 1 } } } ],"
                     "  \"steps\": [ { \"name\": \"upgrade\", \"run\": \"upgrade\", \"when\": \"{{steps.cur.version}} != '2.4.1'\" },"
                     "              { \"name\": \"always\", \"run\": \"always\", \"approval\": \"none\","
                     "                \"when\": \"{{steps.cur.exit_status}} == 0 && {{env}} == 'staging'\" },"
                     "              { \"name\": \"bad\", \"run\": \"bad\", \"approval\": \"none\", \"on_failure\": \"continue\","
                     "                \"when\": \"{{steps.cur.version}} < 3\" },"
                     "              { \"name\": \"after\", \"run\": \"after\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        check_streq(s->steps[1].when, "{{steps.cur.version}} != '2.4.1'");
        settle(&f);

        check_int(s->steps[1].state, STEP_SKIPPED);
        check_int(s->steps[1].n_approvals, 0);
        check_streq(s->steps[1].error,
                    "skipped: its condition \"{{steps.cur.version}} != '2.4.1'\" is false (values: {\"{{steps.cur.version}}\":\"2.4.1\"})");
        check_int(hooks.announced[id][1], STEP_SKIPPED);
        check_int(s->steps[2].state, STEP_SUCCEEDED);
        check_int(s->steps[3].state, STEP_FAILED);
        check_streq(s->steps[3].error, "its condition \"{{steps.cur.version}} < 3\" cannot be evaluated: at offset 22: "
                    "'<' needs numbers: left side {{steps.cur.version}} is '2.4.1', not a number");
        check_int(s->steps[4].state, STEP_WAITING_APPROVAL);
        check_int(s->state, SESSION_WAITING_APPROVAL);
        CHECK_RUNS("out 2.4.1", "always");

        c = stored(&f, id);
        check_int(c->steps[1].state, STEP_SKIPPED);
        check_streq(c->steps[1].when, s->steps[1].when);
        check_streq(c->steps[1].error, s->steps[1].error);
        session_free(c);

        check_int(approve(&f, &s->steps[4], BOB), 0);
        settle(&f);
        check_int(s->state, SESSION_SUCCEEDED);
        check_int(session_failed_steps(s), 1);
        CHECK_RUNS("out 2.4.1", "always", "after");
        runbook_free(rb);
        fx_done(&f);
}

/* Captures need one target: a step on a target group that captures is refused at start. */
static void test_capture_on_group(void) {
        _cleanup_free_ char *err = NULL, *dir = NULL, *path = NULL;
        Fx f;
        Runbook *rb;
        Session *s = NULL;
        FILE *o;

        fx_setup(&f);
        dir = fx_path(&f, "targets");
        check(mkdir(dir, 0755) == 0);
        check(asprintf_safe(&path, "%s/g.json", dir) == 0);
        check((o = fopen(path, "we")));
        check(fputs("{\"group\": [\"local\"]}", o) >= 0);
        check(fclose(o) == 0);
        f.targets = target_catalog_free(f.targets);
        check(target_catalog_load(NULL, f.dir, &f.targets) == 0);
        tc_use_for(f.targets);
        engine_set_targets(f.engine, f.targets);
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"v\", \"run\": \"out 1\", \"target\": \"g\","
                         "  \"capture\": { \"v\": { \"line\": 1 } } } ] }");
        check_int(engine_start_session(f.engine, rb, NULL, NULL, as(ALICE), &s, &err), -EINVAL);
        check_streq(err, "main step 0 (v) captures values from its output, which needs one target, and runs on target group 'g'");
        check_int(stored_sessions(&f), 0);
        runbook_free(rb);
        fx_done(&f);
}

int main(void) {
        fx_main_init();

        TEST(capture_and_refer);
        TEST(hostile_value);
        TEST(capture_failures);
        TEST(capture_on_group);
        TEST(when);
        TEST(retry_renders);
        TEST(retry_condition);
        return 0;
}
