/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-deadlines.c: approval deadlines ("approval_timeout", "remind_before"): a step with no
 * decision by its deadline expires and is never run, partial approvals included; an approval in
 * time runs it and nothing expires later; a deadline that passed while runbookd was stopped
 * expires the step as soon as it starts; rollback runs after an expiry as after a rejection; the
 * reminder comes once, before the deadline; the step's setting wins over the runbook's, which
 * wins over the daemon's; and what the runbook parser refuses. See test-engine-fixture.h. */

#include <stdio.h>
#include <unistd.h>

#include "engine/test-engine-fixture.h"

/* Runs the loop until the wall clock is past 'when' (a deadline), without acting on it. */
static void wait_past(usec_t when) {
        while (now_usec(CLOCK_REALTIME) <= when)
                usleep(20 * 1000);
}

static void test_expires(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        usec_t before;

        fx_setup(&f);
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"gated\", \"run\": \"gated\", \"approval_timeout\": 1 } ] }");
        before = now_usec(CLOCK_REALTIME);
        s = start(&f, rb, NULL);
        check_int(s->steps[0].state, STEP_WAITING_APPROVAL);
        check_int(s->steps[0].approval_timeout_usec, USEC_PER_SEC);
        check(s->steps[0].approval_deadline >= before + USEC_PER_SEC);
        check(s->steps[0].approval_deadline <= now_usec(CLOCK_REALTIME) + USEC_PER_SEC);
        /* not before its deadline */
        settle(&f);
        check_int(get(&f, s->id)->state, SESSION_WAITING_APPROVAL);

        wait_state(&f, s->id, SESSION_EXPIRED, -2, 5 * USEC_PER_SEC);
        check(now_usec(CLOCK_REALTIME) >= s->steps[0].approval_deadline);
        check_int(s->steps[0].state, STEP_EXPIRED);
        check(strstr(s->steps[0].error, "expired: no decision within 1s (0 of 1 approvals given); not run"));
        check(strstr(s->error, "main 0 (gated) expired"));
        settle(&f);
        check_int(tc_n_runs(), 0);
        /* a decision after the fact changes nothing */
        check_int(approve(&f, &s->steps[0], BOB), -ESHUTDOWN);
        Session *st = stored(&f, s->id);
        check_int(st->state, SESSION_EXPIRED);
        check_int(st->steps[0].state, STEP_EXPIRED);
        check_int(st->steps[0].approval_deadline, s->steps[0].approval_deadline);
        session_free(st);
        runbook_free(rb);
        fx_done(&f);
}

/* Two approvers, one gave it: not enough, it expires all the same. The other way, both in time:
 * it runs, and its deadline passing later does nothing. */
static void test_partial_and_in_time(void) {
        Fx f;
        Runbook *rb;
        Session *s, *t;

        fx_setup(&f);
        rb = rb_make(&f, "{ \"approval_timeout\": 1,"
                         "  \"steps\": [ { \"name\": \"two\", \"run\": \"two\", \"approvers\": 2 } ] }");
        s = start(&f, rb, NULL);
        t = start(&f, rb, NULL);
        check_int(approve(&f, &s->steps[0], BOB), 0);
        check_int(s->steps[0].state, STEP_WAITING_APPROVAL);
        check_int(approve(&f, &t->steps[0], BOB), 0);
        check_int(approve(&f, &t->steps[0], CAROL), 0);
        wait_state(&f, t->id, SESSION_SUCCEEDED, -2, 5 * USEC_PER_SEC);
        wait_state(&f, s->id, SESSION_EXPIRED, -2, 5 * USEC_PER_SEC);
        check(strstr(s->steps[0].error, "(1 of 2 approvals given)"));
        wait_past(t->steps[0].approval_deadline);
        settle(&f);
        check_int(get(&f, t->id)->state, SESSION_SUCCEEDED);
        check_int(get(&f, t->id)->steps[0].state, STEP_SUCCEEDED);
        CHECK_RUNS("two");
        runbook_free(rb);
        fx_done(&f);
}

/* runbookd is stopped while a step waits; its deadline passes; the next runbookd expires it at
 * once (it does not wait another timeout), and nothing runs. One still in time keeps waiting. */
static void test_expires_across_restart(void) {
        Fx f;
        Runbook *rb, *rb_long;
        Session *s;
        uint32_t id, id_long;
        usec_t deadline, deadline_long;

        fx_setup(&f);
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"gated\", \"run\": \"gated\", \"approval_timeout\": 1 } ] }");
        rb_long = rb_make(&f, "{ \"steps\": [ { \"name\": \"gated\", \"run\": \"gated\", \"approval_timeout\": 3600 } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        deadline = s->steps[0].approval_deadline;
        s = start(&f, rb_long, NULL);
        id_long = s->id;
        deadline_long = s->steps[0].approval_deadline;
        fx_close_engine(&f);
        wait_past(deadline);

        fx_open_engine(&f);
        s = get(&f, id);
        check_int(s->state, SESSION_WAITING_APPROVAL);   /* loaded as stored */
        check_int(s->steps[0].approval_deadline, deadline);
        wait_state(&f, id, SESSION_EXPIRED, -2, USEC_PER_SEC / 2);
        settle(&f);
        check_int(tc_n_runs(), 0);
        s = get(&f, id_long);
        check_int(s->state, SESSION_WAITING_APPROVAL);
        check_int(s->steps[0].approval_deadline, deadline_long);
        runbook_free(rb);
        runbook_free(rb_long);
        fx_done(&f);
}

/* A main step ran; the next one expires: the rollback runs, and the session ends expired. A
 * rollback step that expires leaves the rollback "expired". */
static void test_expiry_rolls_back(void) {
        Fx f;
        Runbook *rb;
        Session *s;

        fx_setup(&f);
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"change\", \"run\": \"change\", \"approval\": \"none\" },"
                         "              { \"name\": \"gated\", \"run\": \"gated\", \"approval_timeout\": 1 } ],"
                         "  \"rollback\": [ { \"name\": \"undo\", \"run\": \"undo\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        wait_state(&f, s->id, SESSION_EXPIRED, -2, 5 * USEC_PER_SEC);
        check_int(s->rollback, ROLLBACK_SUCCEEDED);
        check_int(s->steps[1].state, STEP_EXPIRED);
        CHECK_RUNS("change", "undo");
        runbook_free(rb);

        tc_reset();
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"change\", \"run\": \"change\", \"approval\": \"none\" },"
                         "              { \"name\": \"fails\", \"run\": \"exit 1\", \"approval\": \"none\" } ],"
                         "  \"rollback\": [ { \"name\": \"undo\", \"run\": \"undo\", \"approval_timeout\": 1 } ] }");
        s = start(&f, rb, NULL);
        wait_state(&f, s->id, SESSION_FAILED, -2, 5 * USEC_PER_SEC);
        check_int(s->rollback, ROLLBACK_EXPIRED);
        check_int(s->steps[2].state, STEP_EXPIRED);
        CHECK_RUNS("change", "exit 1");
        runbook_free(rb);
        fx_done(&f);
}

/* remind_before: the reminder comes once, at (deadline - remind_before), and is stored. */
static void test_reminder(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        Step *st;

        fx_setup(&f);
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"gated\", \"run\": \"gated\", \"approval_timeout\": 3,"
                         "                 \"remind_before\": 2 } ] }");
        s = start(&f, rb, NULL);
        st = &s->steps[0];
        check_int(st->remind_before_usec, 2 * USEC_PER_SEC);
        check(!st->reminded);
        while (!st->reminded) {
                check(now_usec(CLOCK_REALTIME) < st->approval_deadline);
                check(sd_event_run(f.event, 50 * USEC_PER_MSEC) >= 0);
        }
        /* not before its time (the timer's accuracy is 50 ms) */
        check(now_usec(CLOCK_REALTIME) + 50 * USEC_PER_MSEC >= st->approval_deadline - st->remind_before_usec);
        check_int(s->state, SESSION_WAITING_APPROVAL);
        settle(&f);
        Session *c = stored(&f, s->id);
        check(c->steps[0].reminded);
        session_free(c);
        wait_state(&f, s->id, SESSION_EXPIRED, -2, 5 * USEC_PER_SEC);
        runbook_free(rb);
        fx_done(&f);
}

/* The step's setting, else the runbook's, else the daemon's; 0 means none at any level. A retry
 * waits with a fresh deadline. */
static void test_levels(void) {
        EngineConfig cfg;
        Fx f;
        Runbook *rb;
        Session *s;

        fx_setup(&f);
        cfg = *engine_get_config(f.engine);
        cfg.approval_timeout_usec = 7200 * USEC_PER_SEC;
        engine_set_config(f.engine, &cfg);
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"a\", \"run\": \"a\" },"
                         "              { \"name\": \"b\", \"run\": \"b\", \"approval_timeout\": 60 },"
                         "              { \"name\": \"c\", \"run\": \"c\", \"approval_timeout\": 0 },"
                         "              { \"name\": \"d\", \"run\": \"d\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        check_int(s->steps[0].approval_timeout_usec, 7200 * USEC_PER_SEC);
        check_int(s->steps[1].approval_timeout_usec, 60 * USEC_PER_SEC);
        check_int(s->steps[2].approval_timeout_usec, 0);
        /* one that needs no approval keeps the default too: it waits for one after a Retry() */
        check_int(s->steps[3].approval_timeout_usec, 7200 * USEC_PER_SEC);
        check_int(s->steps[1].approval_deadline, 0);   /* set when it starts waiting */
        runbook_free(rb);
        rb = rb_make(&f, "{ \"approval_timeout\": 300, \"steps\": [ { \"name\": \"a\", \"run\": \"a\" },"
                         "  { \"name\": \"b\", \"run\": \"b\", \"approval_timeout\": 0 } ] }");
        s = start(&f, rb, NULL);
        check_int(s->steps[0].approval_timeout_usec, 300 * USEC_PER_SEC);
        check_int(s->steps[1].approval_timeout_usec, 0);
        check_int(approve(&f, &s->steps[0], BOB), 0);
        wait_state(&f, s->id, SESSION_WAITING_APPROVAL, 1, 5 * USEC_PER_SEC);
        check_int(s->steps[1].approval_deadline, 0);   /* waits without one */
        runbook_free(rb);
        fx_done(&f);
}

/* approval_valid_for with two approvers: the first approval is too old when the second arrives;
 * it lapses (kept, marked, not counted) and its giver may give it again, which runs the step. */
static void test_valid_for(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        Step *st;

        fx_setup(&f);
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"two\", \"run\": \"two\", \"approvers\": 2,"
                         "                 \"approval_valid_for\": 1 } ] }");
        s = start(&f, rb, NULL);
        st = &s->steps[0];
        check_int(st->approval_valid_for_usec, USEC_PER_SEC);
        check_int(approve(&f, st, BOB), 0);
        wait_past(st->approvals[0].time + USEC_PER_SEC);
        check_int(approve(&f, st, CAROL), 0);
        check_int(st->state, STEP_WAITING_APPROVAL);
        check(st->approvals[0].lapsed);
        check(!st->approvals[1].lapsed);
        check_int(step_count_approvals(st), 1);
        settle(&f);
        check_int(tc_n_runs(), 0);
        Session *c = stored(&f, s->id);
        check(c->steps[0].approvals[0].lapsed && !c->steps[0].approvals[1].lapsed);
        session_free(c);
        /* the same person again: counted (the lapsed one is not "already approved") */
        check_int(approve(&f, st, CAROL), -EALREADY);
        check_int(approve(&f, st, BOB), 0);
        wait_state(&f, s->id, SESSION_SUCCEEDED, -2, 5 * USEC_PER_SEC);
        CHECK_RUNS("two");
        check_int(st->n_approvals, 3);
        runbook_free(rb);
        fx_done(&f);
}

/* An approved step that could not start within approval_valid_for (runbookd was down between the
 * approval and the start): its approval lapses, it waits for approval again, nothing runs. */
static void test_valid_for_at_start(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        Step *st;
        uint32_t id;

        fx_setup(&f);
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"gated\", \"run\": \"gated\", \"approval_valid_for\": 1,"
                         "                 \"approval_timeout\": 3600 } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        st = &s->steps[0];
        /* what the store holds when runbookd stops right after an approval was committed */
        st->approvals = calloc(1, sizeof(Approval));
        check(st->approvals);
        st->approvals[0] = (Approval) { .uid = BOB, .user = strdup("bob"), .login_uid = UID_INVALID, .approve = true,
                                        .time = now_usec(CLOCK_REALTIME), .comment = strdup(""),
                                        .digest = strdup(st->digest), .attempt = st->attempt };
        st->n_approvals = 1;
        st->state = STEP_APPROVED;
        step_rt(st)->dirty = true;
        check_int(engine_persist_session(s), 0);
        fx_close_engine(&f);
        wait_past(now_usec(CLOCK_REALTIME) + USEC_PER_SEC);

        fx_open_engine(&f);
        settle(&f);
        s = get(&f, id);
        st = &s->steps[0];
        check_int(tc_n_runs(), 0);
        check_int(st->state, STEP_WAITING_APPROVAL);
        check_int(s->state, SESSION_WAITING_APPROVAL);
        check(st->approvals[0].lapsed);
        check(st->approval_deadline > now_usec(CLOCK_REALTIME) + 3500 * USEC_PER_SEC);   /* a fresh deadline */
        Session *c = stored(&f, id);
        check_int(c->steps[0].state, STEP_WAITING_APPROVAL);
        check(c->steps[0].approvals[0].lapsed);
        session_free(c);
        check_int(approve(&f, st, BOB), 0);
        wait_state(&f, id, SESSION_SUCCEEDED, -2, 5 * USEC_PER_SEC);
        CHECK_RUNS("gated");
        runbook_free(rb);
        fx_done(&f);
}

/* A decision that arrives after the deadline, before the loop ran the timer (a busy loop, a
 * restart with calls queued): refused, and the step expires then; nothing runs. Break-glass too. */
static void test_late_decision(void) {
        Fx f;
        Runbook *rb;
        Session *s, *t;

        fx_setup(&f);
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"gated\", \"run\": \"gated\", \"approval_timeout\": 1 } ] }");
        s = start(&f, rb, NULL);
        t = start(&f, rb, NULL);
        wait_past(t->steps[0].approval_deadline);
        check_int(approve(&f, &s->steps[0], BOB), -ETIME);
        check_int(s->steps[0].state, STEP_EXPIRED);
        check_int(s->state, SESSION_EXPIRED);
        check_int(engine_break_glass(f.engine, &t->steps[0], as_login(BOB, BOB), "too late"), -ETIME);
        check_int(t->steps[0].state, STEP_EXPIRED);
        check_int(engine_reject(f.engine, &t->steps[0], as(BOB), "late"), -ESHUTDOWN);
        settle(&f);
        check_int(tc_n_runs(), 0);
        Session *c = stored(&f, s->id);
        check_int(c->state, SESSION_EXPIRED);
        session_free(c);
        runbook_free(rb);
        fx_done(&f);
}

static void expect_refused(const char *json, const char *error) {
        json_t *doc = json_loads(json, 0, NULL);
        _cleanup_free_ char *err = NULL;
        Runbook *rb = NULL;

        check(doc);
        check_int(runbook_from_json(doc, "rb", "rb.json", &rb, &err), -EINVAL);
        if (!strstr(strna(err), error))
                fprintf(stderr, "got: %s\n", strna(err));
        check(strstr(strna(err), error));
        json_decref(doc);
}

static void test_parse(void) {
        expect_refused("{ \"steps\": [ { \"name\": \"a\", \"run\": \"a\", \"approval\": \"none\", \"approval_timeout\": 5 } ] }",
                       "rb.json: $.steps[0].approval_timeout: is set, but the step needs no approval");
        expect_refused("{ \"steps\": [ { \"name\": \"a\", \"run\": \"a\", \"approval_timeout\": -1 } ] }",
                       "$.steps[0].approval_timeout: must be an integer from 0 to 2592000 (seconds; 0: none)");
        expect_refused("{ \"steps\": [ { \"name\": \"a\", \"run\": \"a\", \"approval_timeout\": \"1h\" } ] }",
                       "$.steps[0].approval_timeout: must be an integer");
        expect_refused("{ \"steps\": [ { \"name\": \"a\", \"run\": \"a\", \"approval_timeout\": 60, \"remind_before\": 60 } ] }",
                       "$.steps[0].remind_before: must be shorter than \"approval_timeout\"");
        expect_refused("{ \"approval_timeout\": 2592001, \"steps\": [ { \"name\": \"a\", \"run\": \"a\" } ] }",
                       "rb.json: $.approval_timeout: must be an integer from 0 to 2592000");
        expect_refused("{ \"steps\": [ { \"name\": \"a\", \"run\": \"a\", \"approval\": \"none\", \"approval_valid_for\": 5 } ] }",
                       "$.steps[0].approval_valid_for: is set, but the step needs no approval");
        expect_refused("{ \"approval_timeout\": 0, \"remind_before\": 5, \"steps\": [ { \"name\": \"a\", \"run\": \"a\" } ] }",
                       "$.remind_before: is set, but there is no \"approval_timeout\" to remind before");
}

int main(void) {
        fx_main_init();
        TEST(expires);
        TEST(partial_and_in_time);
        TEST(expires_across_restart);
        TEST(expiry_rolls_back);
        TEST(reminder);
        TEST(levels);
        TEST(valid_for);
        TEST(valid_for_at_start);
        TEST(late_decision);
        TEST(parse);
        return 0;
}
