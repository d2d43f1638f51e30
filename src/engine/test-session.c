/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-session.c: a session's flow through the engine — approvals (four eyes, M of N, persons),
 * reject, cancel while waiting, many sessions, announcements — with steps run by the test
 * connector on a real sd-event loop, and a real store (see test-engine-fixture.h). How steps end:
 * test-step-outcomes.c. Restarts: test-session-restart.c. */

#include <stdio.h>

#include "engine/test-engine-fixture.h"

static const char scenario_json[] =
        "{ \"parameters\": { \"svc\": { \"default\": \"web\", \"pattern\": \"^[a-z]+$\" } },"
        "  \"prechecks\": [ { \"name\": \"pre\", \"run\": \"out pre-{{svc}}\" } ],"
        "  \"steps\": ["
        "    { \"name\": \"auto\", \"run\": \"err to-stderr\", \"approval\": \"none\" },"
        "    { \"name\": \"main\", \"run\": \"main\" } ],"
        "  \"postchecks\": ["
        "    { \"name\": \"post\", \"run\": \"exit 4\", \"approval\": \"none\", \"expect_exit\": 4 } ] }";

static void test_scenario(void) {
        Fx f;
        Runbook *rb;
        Session *s, *c;
        char *out, *err;
        bool trunc;
        uint32_t id;

        fx_setup(&f);
        rb = rb_make(&f, scenario_json);
        check(engine_is_idle(f.engine));

        s = start(&f, rb, "{\"svc\": \"api\"}");
        id = s->id;
        check_int(id, 1);
        check_int(hooks.n_new, 1);
        check_int(hooks.new_ids[0], id);
        check_int(engine_n_active(f.engine), 1);
        check(!engine_is_idle(f.engine));

        /* the precheck requires approval: waiting at step 0, nothing ran */
        check_int(s->state, SESSION_WAITING_APPROVAL);
        check_int(s->current_step, 0);
        check_int(s->n_steps, 4);
        check_streq(s->runbook, "test-rb");
        check_streq(s->reference, "TICKET-1");
        check_int(s->creator_uid, ALICE);
        check_streq(s->creator_name, "alice");
        check_streq(json_string_value(json_object_get(s->parameters, "svc")), "api");
        check(json_object_get(s->snapshot, "prechecks"));
        check(session_waiting_step(s) == &s->steps[0]);
        check_int(s->steps[0].state, STEP_WAITING_APPROVAL);
        check(s->steps[0].waiting_since > 0);
        check_int(s->steps[0].phase, PHASE_PRECHECK);
        check_int(s->steps[1].phase, PHASE_MAIN);
        check_int(s->steps[3].phase, PHASE_POSTCHECK);
        for (size_t i = 1; i < 4; i++)
                check_int(s->steps[i].state, STEP_PENDING);
        check_streq(s->steps[0].command, "out pre-'api'");
        check_streq(s->steps[0].connector, "test");
        {
                _cleanup_free_ char *dg = NULL;
                check(step_compute_digest("test", "local", "{\"connector\":\"local\"}", "out pre-'api'", &dg) == 0);
                check_streq(s->steps[0].digest, dg);
        }
        settle(&f);
        check_int(s->state, SESSION_WAITING_APPROVAL);
        check_int(tc_n_runs(), 0);

        /* it is in the store as it is in memory */
        c = stored(&f, id);
        check_int(c->state, SESSION_WAITING_APPROVAL);
        check_int(c->steps[0].state, STEP_WAITING_APPROVAL);
        check_streq(c->steps[0].digest, s->steps[0].digest);
        session_free(c);
        check(stored_active(&f, id));
        check_int(stored_meta(&f, "next_session_id", 0), 2);

        /* a different user approves: it runs, the approval-none step runs by itself, and it stops
         * at the next step that requires approval */
        check_int(approve(&f, &s->steps[0], BOB), 0);
        check_int(s->steps[0].n_approvals, 1);
        check_int(s->steps[0].approvals[0].uid, BOB);
        check_streq(s->steps[0].approvals[0].user, "bob");
        check_streq(s->steps[0].approvals[0].comment, "ok by me");
        check_streq(s->steps[0].approvals[0].digest, s->steps[0].digest);
        check_int(s->steps[0].approvals[0].attempt, 1);
        check(s->steps[0].approvals[0].approve);
        check_int(approve(&f, &s->steps[0], CAROL), -ESTALE);   /* not waiting any more */

        wait_state(&f, id, SESSION_WAITING_APPROVAL, 2, 10 * USEC_PER_SEC);
        CHECK_RUNS("out pre-'api'", "err to-stderr");
        check_int(tc_run(0)->session_id, id);
        check_int(tc_run(0)->step_index, 0);
        check_int(tc_run(0)->attempt, 1);
        check_streq(tc_run(0)->target, "local");
        check_int(tc_run(1)->step_index, 1);
        check_int(s->steps[0].state, STEP_SUCCEEDED);
        check_int(s->steps[0].exit_status, 0);
        check_int(s->steps[0].attempt, 1);
        check(s->steps[0].started_at > 0 && s->steps[0].finished_at >= s->steps[0].started_at);
        check(!s->steps[0].error);
        check_int(s->steps[1].state, STEP_SUCCEEDED);
        check_int(s->steps[1].n_approvals, 0);
        check_int(s->steps[2].state, STEP_WAITING_APPROVAL);
        check(session_waiting_step(s) == &s->steps[2]);
        check_int(s->steps[3].state, STEP_PENDING);

        get_output(&f, &s->steps[0], &out, NULL, &err, NULL, &trunc);
        check_streq(out, "pre-'api'\n");
        check_streq(err, "");
        check(!trunc);
        free(out);
        free(err);
        get_output(&f, &s->steps[1], &out, NULL, &err, NULL, &trunc);
        check_streq(out, "");
        check_streq(err, "to-stderr\n");
        free(out);
        free(err);

        /* the main step, then the postcheck (expect_exit 4) */
        check_int(approve(&f, &s->steps[2], CAROL), 0);
        wait_state(&f, id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        CHECK_RUNS("out pre-'api'", "err to-stderr", "main", "exit 4");

        s = get(&f, id);
        check(!engine_session_is_active(s));
        check_int(s->current_step, -1);
        check(!s->error);
        check(s->finished_at > 0);
        for (size_t i = 0; i < 4; i++) {
                check_int(s->steps[i].state, STEP_SUCCEEDED);
                check(!step_rt(&s->steps[i])->job);
        }
        check_int(s->steps[3].exit_status, 4);
        check_int(s->steps[2].exit_status, 0);
        check_int(engine_n_active(f.engine), 0);
        check(engine_is_idle(f.engine));
        check(!stored_active(&f, id));
        check(!session_waiting_step(s));

        /* the record is final in the store too */
        c = stored(&f, id);
        check_int(c->state, SESSION_SUCCEEDED);
        check_int(c->current_step, -1);
        for (size_t i = 0; i < 4; i++) {
                check_int(c->steps[i].state, STEP_SUCCEEDED);
                check_int(c->steps[i].exit_status, i == 3 ? 4 : 0);
                check(c->steps[i].finished_at > 0);
        }
        check_int(c->steps[2].n_approvals, 1);
        check_int(c->steps[2].approvals[0].uid, CAROL);
        session_free(c);

        /* output of a finished step comes from the store */
        get_output(&f, &s->steps[0], &out, NULL, &err, NULL, &trunc);
        check_streq(out, "pre-'api'\n");
        free(out);
        free(err);

        /* an audit trail: start and the two approvals at least */
        check(stored_meta(&f, "audit_seq", 0) >= 3);

        /* hooks: one new session; changes for steps and for the session's end */
        check_int(hooks.n_new, 1);
        check(hooks.n_changed >= 8);
        check(hooks.n_changed_session >= 1);
        check_int(hooks.last_changed_id, id);
        for (size_t i = 0; i < 4; i++)
                check_int(hooks.last_step_states[i], STEP_SUCCEEDED);

        /* a finished session takes no decisions, and cannot be cancelled or retried */
        check_int(engine_approve(f.engine, &s->steps[2], as(BOB), NULL), -ESHUTDOWN);
        check_int(engine_reject(f.engine, &s->steps[2], as(BOB), NULL), -ESHUTDOWN);
        check_int(engine_cancel(f.engine, s, as(BOB)), -ESHUTDOWN);
        check_int(engine_retry(f.engine, s, as(BOB), NULL), -ESHUTDOWN);

        /* unknown ids */
        {
                Session *x = NULL;
                check_int(engine_get_session(f.engine, 999, &x), -ENOENT);
        }

        runbook_free(rb);
        fx_done(&f);
}

static const char one_step_json[] =
        "{ \"steps\": [ { \"name\": \"only\", \"run\": \"only\" } ] }";

static void test_self_approval(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        EngineConfig cfg;

        fx_setup(&f);
        rb = rb_make(&f, one_step_json);

        check(!engine_get_config(f.engine)->allow_self_approval);
        s = start(&f, rb, NULL);
        check_int(approve(&f, &s->steps[0], ALICE), -EPERM);
        check_int(s->steps[0].n_approvals, 0);
        check_int(s->steps[0].state, STEP_WAITING_APPROVAL);
        settle(&f);
        check_int(tc_n_runs(), 0);

        /* the creator may reject (stop) their own session */
        cfg = *engine_get_config(f.engine);
        cfg.allow_self_approval = true;
        engine_set_config(f.engine, &cfg);
        check(engine_get_config(f.engine)->allow_self_approval);
        check(engine_get_config(f.engine)->output_cap > 0);
        check_int(approve(&f, &s->steps[0], ALICE), 0);
        wait_state(&f, s->id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        CHECK_RUNS("only");

        runbook_free(rb);
        fx_done(&f);
}

static void test_two_approvers(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        unsigned changed;

        fx_setup(&f);
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"two\", \"run\": \"two\", \"approvers\": 2 } ] }");

        s = start(&f, rb, NULL);
        check_int(s->steps[0].approvals_required, 2);
        changed = hooks.n_changed;
        check_int(approve(&f, &s->steps[0], BOB), 0);
        check(hooks.n_changed > changed);
        settle(&f);
        check_int(s->state, SESSION_WAITING_APPROVAL);
        check_int(s->steps[0].state, STEP_WAITING_APPROVAL);
        check_int(step_count_approvals(&s->steps[0]), 1);
        check_int(tc_n_runs(), 0);

        check_int(approve(&f, &s->steps[0], BOB), -EALREADY);
        check_int(s->steps[0].n_approvals, 1);
        check_int(approve(&f, &s->steps[0], ALICE), -EPERM);

        check_int(approve(&f, &s->steps[0], CAROL), 0);
        wait_state(&f, s->id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        CHECK_RUNS("two");
        s = get(&f, s->id);
        check_int(s->steps[0].n_approvals, 2);
        check_int(s->steps[0].approvals[0].uid, BOB);
        check_int(s->steps[0].approvals[1].uid, CAROL);

        runbook_free(rb);
        fx_done(&f);
}

/* Four eyes and M-of-N count persons — the login uid where there is one — not uids; root with no
 * login uid approves only when the configuration allows it (issue #11, item 4). */
static void test_persons(void) {
        static const char two_json[] =
                "{ \"steps\": [ { \"name\": \"two\", \"run\": \"two\", \"approvers\": 2 } ] }";
        Fx f;
        Runbook *rb;
        Session *s, *s2 = NULL, *s3;
        EngineConfig cfg;
        uint32_t id;
        _cleanup_free_ char *err = NULL;

        fx_setup(&f);
        rb = rb_make(&f, two_json);

        s = start(&f, rb, NULL); /* alice, no login uid */
        id = s->id;
        check_int(s->creator_login_uid, UID_INVALID);
        /* alice through sudo is still alice */
        check_int(engine_approve(f.engine, &s->steps[0], as_login(0, ALICE), NULL), -EPERM);
        /* root with no login uid (a service, a step's leftover process) is nobody */
        check_int(engine_approve(f.engine, &s->steps[0], as(0), NULL), -ENOKEY);
        check_int(s->steps[0].n_approvals, 0);
        /* bob as root, then bob as himself: one person */
        check_int(engine_approve(f.engine, &s->steps[0], as_login(0, BOB), "as root"), 0);
        check_int(engine_approve(f.engine, &s->steps[0], as(BOB), NULL), -EALREADY);
        /* an ordinary user's login uid proves nothing (a process that has none may set its own):
         * alice claiming bob's login is alice; root logged in as root is nobody */
        check_int(engine_approve(f.engine, &s->steps[0], as_login(ALICE, BOB), NULL), -EPERM);
        check_int(engine_approve(f.engine, &s->steps[0], as_login(0, 0), NULL), -ENOKEY);
        check_int(s->steps[0].n_approvals, 1);
        check_int(s->steps[0].state, STEP_WAITING_APPROVAL);
        check_int(store_sync(f.store), 0);

        /* the decision keeps both uids, across a restart */
        fx_close_engine(&f);
        hooks_reset();
        fx_open_engine(&f);
        s = get(&f, id);
        check_int(s->steps[0].approvals[0].uid, 0);
        check_streq(s->steps[0].approvals[0].user, "root");
        check_int(s->steps[0].approvals[0].login_uid, BOB);
        check_streq(s->steps[0].approvals[0].login_user, "bob");
        check_int(engine_approve(f.engine, &s->steps[0], as(BOB), NULL), -EALREADY);
        check_int(engine_approve(f.engine, &s->steps[0], as(CAROL), NULL), 0);
        wait_state(&f, id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        CHECK_RUNS("two");
        s = get(&f, id);
        check_int(s->steps[0].approvals[1].login_uid, UID_INVALID);
        check(!s->steps[0].approvals[1].login_user);

        /* a session alice starts through sudo is hers */
        check_int(engine_start_session(f.engine, rb, NULL, NULL, as_login(0, ALICE), &s2, &err), 0);
        check_int(store_sync(f.store), 0);
        id = s2->id;
        check_int(s2->creator_uid, 0);
        check_int(s2->creator_login_uid, ALICE);
        check_int(engine_approve(f.engine, &s2->steps[0], as(ALICE), NULL), -EPERM);
        /* root with no login uid may reject: that stops, it does not run anything */
        fx_close_engine(&f);
        fx_open_engine(&f);
        s2 = get(&f, id);
        check_int(s2->creator_login_uid, ALICE);
        check_streq(s2->creator_login_name, "alice");
        check_int(engine_approve(f.engine, &s2->steps[0], as(ALICE), NULL), -EPERM);
        check_int(engine_reject(f.engine, &s2->steps[0], as(0), "no"), 0);
        check_int(s2->state, SESSION_REJECTED);

        /* when runbookd.json allows it, root with no login uid approves, as one person (uid 0) */
        cfg = *engine_get_config(f.engine);
        cfg.allow_unattended_root_approval = true;
        engine_set_config(f.engine, &cfg);
        s3 = start(&f, rb, NULL);
        check_int(engine_approve(f.engine, &s3->steps[0], as(0), NULL), 0);
        check_int(engine_approve(f.engine, &s3->steps[0], as(0), NULL), -EALREADY);

        /* max_active_sessions_per_user counts persons: alice (s3) has one; through sudo too */
        cfg.max_active_sessions_per_user = 1;
        engine_set_config(f.engine, &cfg);
        err = mfree(err);
        s2 = NULL;
        check_int(engine_start_session(f.engine, rb, NULL, NULL, as_login(0, ALICE), &s2, &err), -ENOBUFS);
        check(err && strstr(err, "alice (as root)"));
        err = mfree(err);
        check_int(engine_start_session(f.engine, rb, NULL, NULL, as_login(0, BOB), &s2, &err), 0);

        runbook_free(rb);
        fx_done(&f);
}

static void test_reject(void) {
        Fx f;
        Runbook *rb;
        Session *s, *c;
        uint32_t id;

        fx_setup(&f);
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"a\", \"run\": \"a\" },"
                     "              { \"name\": \"b\", \"run\": \"b\", \"approval\": \"none\" } ],"
                     "  \"postchecks\": [ { \"name\": \"c\", \"run\": \"c\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;

        check_int(engine_reject(f.engine, &s->steps[0], as(BOB), "not today"), 0);
        check(store_sync(f.store) == 0);
        check_int(s->state, SESSION_REJECTED);
        check_int(s->steps[0].state, STEP_REJECTED);
        check_int(s->steps[1].state, STEP_SKIPPED);
        check_int(s->steps[2].state, STEP_SKIPPED);
        check(s->error && strstr(s->error, "rejected by bob"));
        check(s->steps[0].error && strstr(s->steps[0].error, "not today"));
        check_int(s->steps[0].n_approvals, 1);
        check(!s->steps[0].approvals[0].approve);
        check(!engine_session_is_active(s));
        check(s->finished_at > 0);

        settle(&f);
        check_int(tc_n_runs(), 0);
        check_int(engine_n_active(f.engine), 0);
        check(!stored_active(&f, id));

        c = stored(&f, id);
        check_int(c->state, SESSION_REJECTED);
        check_int(c->steps[0].state, STEP_REJECTED);
        check_int(c->steps[1].state, STEP_SKIPPED);
        check_int(c->steps[2].state, STEP_SKIPPED);
        check_streq(c->error, s->error);
        session_free(c);

        check_int(engine_approve(f.engine, &s->steps[0], as(CAROL), NULL), -ESHUTDOWN);
        check_int(hooks.last_changed_id, id);

        runbook_free(rb);
        fx_done(&f);
}

static void test_cancel_waiting(void) {
        Fx f;
        Runbook *rb;
        Session *s;

        fx_setup(&f);
        rb = rb_make(&f, one_step_json);
        s = start(&f, rb, NULL);
        check_int(engine_cancel(f.engine, s, as(ALICE)), 0);
        check_int(s->state, SESSION_CANCELLED);
        check_int(s->steps[0].state, STEP_CANCELLED);
        check(s->steps[0].finished_at > 0);
        check(!engine_session_is_active(s));
        check_int(approve(&f, &s->steps[0], BOB), -ESHUTDOWN);
        settle(&f);
        check_int(tc_n_runs(), 0);
        runbook_free(rb);
        fx_done(&f);
}

/* Every step state a session reaches is announced through the 'changed' hook with that step
 * (so that the bus layer emits PropertiesChanged on the step object), including the steps a
 * finishing session rejects, cancels or skips. */
static void check_all_announced(Fx *f, uint32_t id) {
        Session *s = get(f, id);

        check(s->n_steps <= 8 && id < 8);
        for (size_t i = 0; i < s->n_steps; i++) {
                if (s->steps[i].state == STEP_PENDING)
                        continue;   /* never changed */
                if (hooks.announced[id][i] != (int) s->steps[i].state)
                        fprintf(stderr, "session %u step %zu: state %s, last announced %s\n", id, i,
                                step_state_to_string(s->steps[i].state),
                                hooks.announced[id][i] < 0 ? "(never)" : step_state_to_string(hooks.announced[id][i]));
                check_int(hooks.announced[id][i], s->steps[i].state);
        }
}

static void test_hooks(void) {
        Fx f;
        Runbook *rb;
        Session *s1, *s2, *s3, *s4;

        fx_setup(&f);
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"a\", \"run\": \"a\", \"approval\": \"none\" },"
                         "              { \"name\": \"b\", \"run\": \"b\" },"
                         "              { \"name\": \"c\", \"run\": \"c\", \"approval\": \"none\" } ] }");
        s1 = start(&f, rb, NULL);
        s2 = start(&f, rb, NULL);
        check_int(hooks.n_new, 2);
        check_int(hooks.new_ids[0], s1->id);
        check_int(hooks.new_ids[1], s2->id);
        /* the first step started at once: announced as running */
        check(hooks.n_changed >= 2);
        check_int(hooks.last_step_states[0], STEP_RUNNING);

        wait_state(&f, s1->id, SESSION_WAITING_APPROVAL, 1, 10 * USEC_PER_SEC);
        wait_state(&f, s2->id, SESSION_WAITING_APPROVAL, 1, 10 * USEC_PER_SEC);
        check_int(hooks.last_step_states[0], STEP_SUCCEEDED);
        check_int(hooks.last_step_states[1], STEP_WAITING_APPROVAL);
        check_all_announced(&f, s1->id);
        check_all_announced(&f, s2->id);

        /* approve: runs to the end */
        check_int(approve(&f, &s1->steps[1], BOB), 0);
        wait_state(&f, s1->id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        check_all_announced(&f, s1->id);

        /* reject: the session's end is announced, and so is each step it changed */
        {
                unsigned before = hooks.n_changed, before_session = hooks.n_changed_session;
                check_int(engine_reject(f.engine, &s2->steps[1], as(BOB), NULL), 0);
                check(hooks.n_changed > before);
                check(hooks.n_changed_session > before_session);
                check_int(hooks.last_changed_id, s2->id);
        }

        /* cancel while waiting */
        s3 = start(&f, rb, NULL);
        wait_state(&f, s3->id, SESSION_WAITING_APPROVAL, 1, 10 * USEC_PER_SEC);
        check_int(engine_cancel(f.engine, s3, as(BOB)), 0);

        /* a failing first step: the rest is skipped */
        runbook_free(rb);
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"a\", \"run\": \"exit 1\", \"approval\": \"none\" },"
                         "              { \"name\": \"b\", \"run\": \"b\" } ] }");
        s4 = start(&f, rb, NULL);
        wait_state(&f, s4->id, SESSION_FAILED, -2, 10 * USEC_PER_SEC);
        check_int(hooks.n_new, 4);

        check_all_announced(&f, s4->id);
        check_all_announced(&f, s3->id);
        check_all_announced(&f, s2->id);

        runbook_free(rb);
        fx_done(&f);
}

/* Many sessions at once; the active set stays ordered and the finished ones leave it. */
static int collect_active(Session *s, void *userdata) {
        uint32_t *last = userdata;
        check(s->id > *last);
        *last = s->id;
        return 0;
}

static void test_many(void) {
        Fx f;
        Runbook *rb;
        uint32_t last = 0;
        Session *ss[40];

        fx_setup(&f);
        rb = rb_make(&f, one_step_json);
        for (size_t i = 0; i < ELEMENTSOF(ss); i++)
                ss[i] = start(&f, rb, NULL);
        check_int(engine_n_active(f.engine), ELEMENTSOF(ss));
        check(engine_foreach_active(f.engine, collect_active, &last) == 0);
        check_int(last, ELEMENTSOF(ss));
        /* reject every other one, from the middle out */
        for (size_t i = 0; i < ELEMENTSOF(ss); i += 2)
                check_int(engine_reject(f.engine, &ss[i]->steps[0], as(BOB), NULL), 0);
        check_int(engine_n_active(f.engine), ELEMENTSOF(ss) / 2);
        last = 0;
        check(engine_foreach_active(f.engine, collect_active, &last) == 0);
        check_int(last, ELEMENTSOF(ss));
        for (uint32_t id = 1; id <= ELEMENTSOF(ss); id++) {
                Session *s = get(&f, id);
                check_int(s->state, id % 2 ? SESSION_REJECTED : SESSION_WAITING_APPROVAL);
        }
        check_int(stored_sessions(&f), ELEMENTSOF(ss));

        /* the limit */
        {
                EngineConfig cfg = *engine_get_config(f.engine);
                _cleanup_free_ char *err = NULL;
                Session *s = NULL;
                cfg.max_active_sessions = 20;
                engine_set_config(f.engine, &cfg);
                check_int(engine_start_session(f.engine, rb, NULL, NULL, as(ALICE), &s, &err), -ENOBUFS);
                check(err);
                check_int(stored_sessions(&f), ELEMENTSOF(ss));
        }
        runbook_free(rb);
        fx_done(&f);
}

int main(void) {
        fx_main_init();

        TEST(scenario);
        TEST(self_approval);
        TEST(two_approvers);
        TEST(persons);
        TEST(reject);
        TEST(cancel_waiting);
        TEST(many);
        TEST(hooks);
        return 0;
}
