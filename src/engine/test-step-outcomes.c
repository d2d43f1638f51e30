/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-step-outcomes.c: how a step ends and what follows — failed prechecks, main steps and
 * postchecks, expected exit statuses, timeouts, cancel while running, a connector's failures,
 * bad parameters and targets, the output cap — with steps run by the test connector (see
 * test-engine-fixture.h). Approvals and the session's flow: test-session.c. */

#include <stdio.h>

#include "engine/test-engine-fixture.h"

static void test_failed_precheck(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        char *out, *err;
        bool trunc;

        fx_setup(&f);
        rb = rb_make(&f,
                     "{ \"prechecks\": [ { \"name\": \"check\", \"run\": \"out checking; exit 3\", \"approval\": \"none\" } ],"
                     "  \"steps\": [ { \"name\": \"main\", \"run\": \"main\", \"approval\": \"none\" } ],"
                     "  \"postchecks\": [ { \"name\": \"post\", \"run\": \"post\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        wait_state(&f, s->id, SESSION_FAILED, -2, 10 * USEC_PER_SEC);
        s = get(&f, s->id);
        check_int(s->steps[0].state, STEP_FAILED);
        check_int(s->steps[0].exit_status, 3);
        check(s->steps[0].error && strstr(s->steps[0].error, "exit status 3"));
        check_int(s->steps[1].state, STEP_SKIPPED);
        check_int(s->steps[2].state, STEP_SKIPPED);
        check(s->error && strstr(s->error, "precheck"));
        check(strstr(s->error, "exit status 3"));
        settle(&f);
        CHECK_RUNS("out checking; exit 3");
        get_output(&f, &s->steps[0], &out, NULL, &err, NULL, &trunc);
        check_streq(out, "checking\n");
        free(out);
        free(err);

        runbook_free(rb);
        fx_done(&f);
}

static void test_failed_main_and_postcheck(void) {
        Fx f;
        Runbook *rb;
        Session *s;

        fx_setup(&f);
        /* a failed main step skips the rest, including the postchecks */
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"m1\", \"run\": \"exit 1\", \"approval\": \"none\" },"
                     "              { \"name\": \"m2\", \"run\": \"m2\", \"approval\": \"none\" } ],"
                     "  \"postchecks\": [ { \"name\": \"post\", \"run\": \"post\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        wait_state(&f, s->id, SESSION_FAILED, -2, 10 * USEC_PER_SEC);
        check_int(s->steps[0].state, STEP_FAILED);
        check_int(s->steps[1].state, STEP_SKIPPED);
        check_int(s->steps[2].state, STEP_SKIPPED);
        settle(&f);
        CHECK_RUNS("exit 1");
        runbook_free(rb);

        /* a failed postcheck fails the session, after the main step ran */
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"m\", \"run\": \"m\", \"approval\": \"none\" } ],"
                     "  \"postchecks\": [ { \"name\": \"verify\", \"run\": \"exit 1\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        wait_state(&f, s->id, SESSION_FAILED, -2, 10 * USEC_PER_SEC);
        check_int(s->steps[0].state, STEP_SUCCEEDED);
        check_int(s->steps[1].state, STEP_FAILED);
        CHECK_RUNS("exit 1", "m", "exit 1");
        check(s->error && strstr(s->error, "postcheck"));
        runbook_free(rb);
        fx_done(&f);
}

static void test_expect_exit(void) {
        Fx f;
        Runbook *rb;
        Session *s;

        fx_setup(&f);
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"three\", \"run\": \"exit 3\", \"approval\": \"none\", \"expect_exit\": 3 } ] }");
        s = start(&f, rb, NULL);
        wait_state(&f, s->id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        check_int(s->steps[0].state, STEP_SUCCEEDED);
        check_int(s->steps[0].exit_status, 3);
        check(!s->steps[0].error);
        runbook_free(rb);

        /* and then 0 is a failure */
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"zero\", \"run\": \"exit 0\", \"approval\": \"none\", \"expect_exit\": 3 } ] }");
        s = start(&f, rb, NULL);
        wait_state(&f, s->id, SESSION_FAILED, -2, 10 * USEC_PER_SEC);
        check_int(s->steps[0].state, STEP_FAILED);
        check_int(s->steps[0].exit_status, 0);
        check(s->steps[0].error && strstr(s->steps[0].error, "exit status 0"));
        runbook_free(rb);
        fx_done(&f);
}

/* A step whose timeout passes (as its connector reports it) fails the session; the connector was
 * given the step's timeout. */
static void test_timeout(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        TcRun *r;

        fx_setup(&f);
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"slow\", \"run\": \"hold\", \"approval\": \"none\", \"timeout\": 7 },"
                     "              { \"name\": \"after\", \"run\": \"after\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        check_int(s->steps[0].state, STEP_RUNNING);
        check_int(s->state, SESSION_RUNNING);
        check(step_rt(&s->steps[0])->job);
        {
                /* the running record is durable before the command starts */
                Session *c = stored(&f, s->id);
                check_int(c->steps[0].state, STEP_RUNNING);
                check_int(c->steps[0].attempt, 1);
                session_free(c);
        }
        r = tc_last(s->id, 0);
        check(r && r->job);
        check_int(r->timeout_usec, 7 * USEC_PER_SEC);
        settle(&f);
        check_int(s->steps[0].state, STEP_RUNNING);

        tc_expire(r);
        settle(&f);
        check_int(s->state, SESSION_FAILED);
        check_int(s->steps[0].state, STEP_TIMED_OUT);
        check_int(s->steps[0].exit_status, -1);
        check(s->steps[0].error && strstr(s->steps[0].error, "timed out"));
        check(s->error && strstr(s->error, "timed out"));
        check_int(s->steps[1].state, STEP_SKIPPED);
        check(!step_rt(&s->steps[0])->job);
        CHECK_RUNS("hold");
        check_int(r->outcome, OUTCOME_TIMED_OUT);
        runbook_free(rb);
        fx_done(&f);
}

/* Cancel while a step runs: the session ends at once, the connector is asked to stop, the
 * output captured until then is kept, and nothing after it runs. */
static void test_cancel_running(void) {
        Fx f;
        Runbook *rb;
        Session *s, *c;
        char *out, *err;
        bool trunc;
        uint32_t id;
        TcRun *r;

        fx_setup(&f);
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"long\", \"run\": \"out live; hold\", \"approval\": \"none\" },"
                     "              { \"name\": \"after\", \"run\": \"after\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        settle(&f);
        r = tc_last(id, 0);
        check(r && r->job);

        /* live output while it runs */
        get_output(&f, &s->steps[0], &out, NULL, &err, NULL, &trunc);
        check_streq(out, "live\n");
        free(out);
        free(err);
        check_int(s->steps[0].state, STEP_RUNNING);

        check_int(engine_cancel(f.engine, s, as(BOB)), 0);
        check(store_sync(f.store) == 0);
        check(r->cancelled);
        check_int(s->state, SESSION_CANCELLED);
        check_int(s->steps[0].state, STEP_CANCELLED);
        check_int(s->steps[1].state, STEP_SKIPPED);
        check(s->error && strstr(s->error, "cancelled by bob"));
        check_int(engine_cancel(f.engine, s, as(BOB)), -ESHUTDOWN);

        settle(&f);
        check(!step_rt(&s->steps[0])->job);
        check_int(r->outcome, OUTCOME_CANCELLED);
        s = get(&f, id);
        check(!engine_session_is_active(s));
        check_int(engine_n_active(f.engine), 0);
        check_int(s->steps[0].state, STEP_CANCELLED);
        check_int(s->state, SESSION_CANCELLED);
        check(s->steps[0].finished_at > 0);
        CHECK_RUNS("out live; hold");

        c = stored(&f, id);
        check_int(c->state, SESSION_CANCELLED);
        check_int(c->steps[0].state, STEP_CANCELLED);
        check_int(c->steps[1].state, STEP_SKIPPED);
        session_free(c);
        check(!stored_active(&f, id));

        /* the output captured until then was kept */
        get_output(&f, &s->steps[0], &out, NULL, &err, NULL, &trunc);
        check_streq(out, "live\n");
        free(out);
        free(err);

        runbook_free(rb);
        fx_done(&f);
}

/* How a connector's report becomes the step's state and error: killed by a signal, could not run
 * at all, and a connector that refuses to start — each fails the step with the reason, keeps what
 * output there was, and runs nothing after it. */
static void test_connector_outcomes(void) {
        static const struct {
                const char *run, *error;
                int signal;
        } cases[] = {
                { "out partial; killed 9", "killed by a signal", 9 },
                { "fail no route to host", "no route to host", 0 },
                { "refuse", "could not start the command: Input/output error", 0 },
        };
        Fx f;

        fx_setup(&f);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *json = NULL;
                Runbook *rb;
                Session *s, *c;
                char *out, *err;
                bool trunc;

                check(asprintf_safe(&json, "{ \"steps\": [ { \"name\": \"x\", \"run\": \"%s\", \"approval\": \"none\" },"
                                    "  { \"name\": \"after\", \"run\": \"after\", \"approval\": \"none\" } ] }",
                                    cases[i].run) == 0);
                rb = rb_make(&f, json);
                s = start(&f, rb, NULL);
                settle(&f);
                check_int(s->state, SESSION_FAILED);
                check_int(s->steps[0].state, STEP_FAILED);
                check_int(s->steps[0].exit_status, -1);
                check_int(s->steps[0].signal, cases[i].signal);
                check(s->steps[0].error && strstr(s->steps[0].error, cases[i].error));
                check_int(s->steps[1].state, STEP_SKIPPED);
                check_int(tc_count("after"), 0);
                check_int(tc_n_runs(), i + 1);
                check(tc_run(i)->refused == (i == 2));
                get_output(&f, &s->steps[0], &out, NULL, &err, NULL, &trunc);
                check_streq(out, i == 0 ? "partial\n" : "");
                free(out);
                free(err);
                c = stored(&f, s->id);
                check_int(c->steps[0].state, STEP_FAILED);
                check_streq(c->steps[0].error, s->steps[0].error);
                session_free(c);
                runbook_free(rb);
        }
        fx_done(&f);
}

/* "on_failure": "continue": a failed or timed-out step stays so, the session goes on and can end
 * succeeded, counting it (FailedSteps); the default still stops; both survive a restart. */
static void test_on_failure_continue(void) {
        Fx f;
        Runbook *rb;
        Session *s, *c;
        uint32_t id;

        fx_setup(&f);
        rb = rb_make(&f,
                     "{ \"prechecks\": [ { \"id\": \"probe\", \"name\": \"probe\", \"run\": \"exit 2\", \"approval\": \"none\","
                     "                    \"on_failure\": \"continue\" } ],"
                     "  \"steps\": [ { \"name\": \"warm\", \"run\": \"hold\", \"approval\": \"none\", \"on_failure\": \"continue\" },"
                     "              { \"id\": \"main\", \"name\": \"main\", \"run\": \"main\", \"approval\": \"none\", \"on_failure\": \"stop\" },"
                     "              { \"name\": \"strict\", \"run\": \"exit 1\", \"approval\": \"none\" } ],"
                     "  \"postchecks\": [ { \"name\": \"post\", \"run\": \"post\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        check_streq(s->steps[0].id, "probe");
        check(!s->steps[1].id);
        check_streq(s->steps[2].id, "main");
        check(s->steps[0].continue_on_failure && s->steps[1].continue_on_failure);
        check(!s->steps[2].continue_on_failure && !s->steps[3].continue_on_failure);
        settle(&f);
        /* the precheck failed and the session went on to 'warm' */
        check_int(s->steps[0].state, STEP_FAILED);
        check(strstr(s->steps[0].error, "exit status 2"));
        check_int(s->state, SESSION_RUNNING);
        check_int(s->current_step, 1);
        check_int(session_failed_steps(s), 1);
        check_int(hooks.last_changed_id, id);

        /* 'warm' times out: the session goes on, and stops at the strict step's failure */
        tc_expire(tc_last(id, 1));
        settle(&f);
        check_int(s->steps[1].state, STEP_TIMED_OUT);
        check_int(s->steps[2].state, STEP_SUCCEEDED);
        check_int(s->steps[3].state, STEP_FAILED);
        check_int(s->steps[4].state, STEP_SKIPPED);
        check_int(s->state, SESSION_FAILED);
        check(strstr(s->error, "main 3 (strict) failed"));
        check_int(session_failed_steps(s), 2);
        CHECK_RUNS("exit 2", "hold", "main", "exit 1");

        /* as stored, and after a restart */
        c = stored(&f, id);
        check_streq(c->steps[0].id, "probe");
        check(c->steps[1].continue_on_failure && !c->steps[3].continue_on_failure);
        check_int(session_failed_steps(c), 2);
        session_free(c);
        runbook_free(rb);

        /* without the strict step the session succeeds, with its failures counted */
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"a\", \"run\": \"exit 1\", \"approval\": \"none\", \"on_failure\": \"continue\" },"
                         "              { \"name\": \"b\", \"run\": \"b\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        settle(&f);
        check_int(s->state, SESSION_SUCCEEDED);
        check(!s->error);
        check_int(s->steps[0].state, STEP_FAILED);
        check_int(s->steps[1].state, STEP_SUCCEEDED);
        check_int(session_failed_steps(s), 1);
        fx_close_engine(&f);
        fx_open_engine(&f);
        s = get(&f, id);
        check_int(s->state, SESSION_SUCCEEDED);
        check_int(session_failed_steps(s), 1);
        check_streq(step_state_to_string(s->steps[0].state), "failed");

        runbook_free(rb);
        fx_done(&f);
}

static void test_bad_parameters(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        static const char *const bad[] = {
                "{\"svc\": \"BAD; rm -rf /\"}",
                "{\"svc\": \"\"}",
                "{\"nope\": \"x\"}",
                "{\"svc\": 5}",
                "[\"svc\"]",
                "{}",
        };

        fx_setup(&f);
        rb = rb_make(&f,
                     "{ \"parameters\": { \"svc\": { \"pattern\": \"^[a-z]+$\" } },"
                     "  \"steps\": [ { \"name\": \"x\", \"run\": \"out {{svc}}\", \"approval\": \"none\" } ] }");

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *err = NULL;
                json_t *p = json_loads(bad[i], 0, NULL);
                check(p);
                s = NULL;
                check_int(engine_start_session(f.engine, rb, "T", p, as(ALICE), &s, &err), -EINVAL);
                json_decref(p);
                check(!s);
                check(err);
                check(strlen(err) > 0);
                if (i != 4)
                        check(strstr(err, i == 2 ? "nope" : "svc"));
        }
        /* no parameters at all, but one is required */
        {
                _cleanup_free_ char *err = NULL;
                check_int(engine_start_session(f.engine, rb, NULL, NULL, as(ALICE), &s, &err), -EINVAL);
                check(err && strstr(err, "svc"));
        }

        /* nothing in the store, nothing active, no hook */
        check_int(stored_sessions(&f), 0);
        check_int(stored_meta(&f, "next_session_id", 0), 0);
        check_int(stored_meta(&f, "audit_seq", 0), 0);
        check_int(engine_n_active(f.engine), 0);
        check_int(hooks.n_new, 0);
        check_int(hooks.n_changed, 0);

        /* the id was not consumed */
        s = start(&f, rb, "{\"svc\": \"good\"}");
        check_int(s->id, 1);
        wait_state(&f, 1, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        check_int(stored_sessions(&f), 1);
        CHECK_RUNS("out 'good'");
        runbook_free(rb);
        fx_done(&f);
}

static void test_no_such_target(void) {
        Fx f;
        Runbook *rb;
        Session *s = NULL;
        _cleanup_free_ char *err = NULL;

        fx_setup(&f);
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"here\", \"run\": \"here\" },"
                     "              { \"name\": \"there\", \"run\": \"there\", \"target\": \"nowhere\" } ] }");
        check_int(engine_start_session(f.engine, rb, NULL, NULL, as(ALICE), &s, &err), -ENXIO);
        check(!s);
        check(err && strstr(err, "nowhere"));
        check_int(stored_sessions(&f), 0);
        check_int(engine_n_active(f.engine), 0);
        check_int(hooks.n_new, 0);
        runbook_free(rb);

        /* the runbook's default target */
        free(err);
        err = NULL;
        rb = rb_make(&f, "{ \"target\": \"elsewhere\", \"steps\": [ { \"name\": \"x\", \"run\": \"true\" } ] }");
        check_int(engine_start_session(f.engine, rb, NULL, NULL, as(ALICE), &s, &err), -ENXIO);
        check(err && strstr(err, "elsewhere"));
        check_int(stored_sessions(&f), 0);
        runbook_free(rb);

        /* the id is still free */
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"only\", \"run\": \"only\" } ] }");
        s = start(&f, rb, NULL);
        check_int(s->id, 1);
        runbook_free(rb);
        fx_done(&f);
}

static void test_output_cap(void) {
        Fx f;
        Runbook *rb;
        Session *s, *c;
        EngineConfig cfg;
        char *out, *err;
        size_t out_n, err_n;
        bool trunc;

        fx_setup(&f);
        cfg = *engine_get_config(f.engine);
        cfg.output_cap = 1000;
        engine_set_config(f.engine, &cfg);
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"chatty\", \"approval\": \"none\", \"run\":"
                     "  \"fill 1 HEAD; fill 500 0123456789; fill 1 TAIL; err small\" } ] }");
        s = start(&f, rb, NULL);
        wait_state(&f, s->id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        check_int(tc_run(0)->output_cap, 1000);
        check(s->steps[0].truncated);

        get_output(&f, &s->steps[0], &out, &out_n, &err, &err_n, &trunc);
        check(trunc);
        check_int(out_n, 1000);
        check(strncmp(out, "HEAD0123456789", 14) == 0);
        check(out_n >= 4 && memcmp(out + out_n - 14, "0123456789TAIL", 14) == 0);
        check_streq(err, "small\n");
        free(out);
        free(err);

        c = stored(&f, s->id);
        check(c->steps[0].truncated);
        session_free(c);

        /* after a restart, from the store */
        fx_close_engine(&f);
        fx_open_engine(&f);
        s = get(&f, 1);
        get_output(&f, &s->steps[0], &out, &out_n, &err, &err_n, &trunc);
        check(trunc);
        check_int(out_n, 1000);
        check(strncmp(out, "HEAD", 4) == 0);
        check(memcmp(out + out_n - 4, "TAIL", 4) == 0);
        free(out);
        free(err);

        runbook_free(rb);
        fx_done(&f);
}

int main(void) {
        fx_main_init();

        TEST(failed_precheck);
        TEST(failed_main_and_postcheck);
        TEST(expect_exit);
        TEST(timeout);
        TEST(cancel_running);
        TEST(connector_outcomes);
        TEST(on_failure_continue);
        TEST(bad_parameters);
        TEST(no_such_target);
        TEST(output_cap);
        return 0;
}
