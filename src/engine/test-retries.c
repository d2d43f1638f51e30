/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-retries.c: automatic retries ("retries", "retry_delay"): each attempt its own run with its
 * number, the approvals of the first covering the automatic ones and no more, the wait stored and
 * resumed after a restart, cancel during the wait, and what is never retried by itself (a step
 * that was not run, an interrupted attempt). See test-engine-fixture.h. */

#include <stdio.h>

#include "engine/test-engine-fixture.h"

/* Waits until attempt 'attempt' of step 'step' of session 'id' runs. */
static TcRun *wait_run(Fx *f, uint32_t id, uint32_t step, unsigned attempt) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

        for (;;) {
                TcRun *r = tc_last(id, step);
                if (r && r->attempt == attempt && r->job)
                        return r;
                check(now_usec(CLOCK_MONOTONIC) < end);
                check(sd_event_run(f->event, 50 * USEC_PER_MSEC) >= 0);
        }
}

/* Fails twice, succeeds the third time: three runs, attempts 1-3, no person asked again. */
static void test_retries_then_success(void) {
        Fx f;
        Runbook *rb;
        Session *s, *c;
        uint32_t id;
        TcRun *r;

        fx_setup(&f);
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"m1\", \"run\": \"hold\", \"retries\": 2 },"
                     "              { \"name\": \"m2\", \"run\": \"m2\", \"approval\": \"none\" } ] }");
        check_int(rb->steps[0].retries, 2);
        check_int(rb->steps[0].retry_delay_usec, 0);
        s = start(&f, rb, NULL);
        id = s->id;
        check_int(s->steps[0].retries, 2);
        check_int(approve(&f, &s->steps[0], BOB), 0);
        r = wait_run(&f, id, 0, 1);
        tc_finish(r, 3);
        r = wait_run(&f, id, 0, 2);
        s = get(&f, id);
        check_int(s->steps[0].retries_done, 1);
        check_int(s->steps[0].state, STEP_RUNNING);
        check_int(s->state, SESSION_RUNNING);
        tc_expire(r);                           /* a timeout is retried too */
        r = wait_run(&f, id, 0, 3);
        tc_finish(r, 0);
        wait_state(&f, id, SESSION_SUCCEEDED, -1, 10 * USEC_PER_SEC);
        settle(&f);
        CHECK_RUNS("hold", "hold", "hold", "m2");
        s = get(&f, id);
        check_int(s->steps[0].attempt, 3);
        check_int(s->steps[0].retries_done, 2);
        check_int(s->steps[0].retry_at, 0);
        check_int(s->steps[0].n_approvals, 1);
        c = stored(&f, id);
        check_int(c->steps[0].attempt, 3);
        check_int(c->steps[0].retries_done, 2);
        check_int(c->steps[0].retries, 2);
        session_free(c);
        runbook_free(rb);
        fx_done(&f);
}

/* Out of retries: the step fails as it would without them; the session's Retry() is a person's
 * decision again (a fresh approval), after which the automatic retries begin again. */
static void test_retries_exhausted(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        uint32_t id;
        TcRun *r;

        fx_setup(&f);
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"m1\", \"run\": \"hold\", \"retries\": 1 } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        check_int(approve(&f, &s->steps[0], BOB), 0);
        tc_finish(wait_run(&f, id, 0, 1), 1);
        tc_finish(wait_run(&f, id, 0, 2), 2);
        wait_state(&f, id, SESSION_FAILED, 0, 10 * USEC_PER_SEC);
        s = get(&f, id);
        check_int(s->steps[0].state, STEP_FAILED);
        check_int(s->steps[0].attempt, 2);
        check(s->steps[0].error && strstr(s->steps[0].error, "exit status 2"));
        check(s->error && strstr(s->error, "exit status 2"));

        check_int(engine_retry(f.engine, s, as(CAROL), NULL), 0);
        s = get(&f, id);
        check_int(s->steps[0].state, STEP_WAITING_APPROVAL);
        check_int(s->steps[0].attempt, 3);
        check_int(s->steps[0].retries_done, 0);
        check_int(approve(&f, &s->steps[0], BOB), 0);
        tc_finish(wait_run(&f, id, 0, 3), 1);
        /* attempt 4 is attempt 3's automatic retry: it runs under the approval of attempt 3 */
        r = wait_run(&f, id, 0, 4);
        s = get(&f, id);
        check_int(s->steps[0].retries_done, 1);
        tc_finish(r, 0);
        wait_state(&f, id, SESSION_SUCCEEDED, -1, 10 * USEC_PER_SEC);
        settle(&f);
        check_int(tc_count("hold"), 4);
        runbook_free(rb);
        fx_done(&f);
}

/* The wait is stored: a restart during it resumes it, and the next attempt runs after it; a
 * cancel during it ends the session without another attempt. */
static void test_retry_wait_restart_and_cancel(void) {
        Fx f;
        Runbook *rb;
        Session *s, *c;
        uint32_t id;
        usec_t failed_at;

        fx_setup(&f);
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"m1\", \"run\": \"hold\", \"retries\": 3, \"retry_delay\": 1,"
                     "                 \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        failed_at = now_usec(CLOCK_REALTIME);
        tc_finish(wait_run(&f, id, 0, 1), 1);
        while (get(&f, id)->steps[0].state != STEP_WAITING_RETRY)
                check(sd_event_run(f.event, 50 * USEC_PER_MSEC) >= 0);
        s = get(&f, id);
        check_int(s->state, SESSION_RUNNING);
        check(s->steps[0].retry_at >= failed_at + USEC_PER_SEC);
        check_int(s->steps[0].attempt, 1);
        check_streq(s->steps[0].error, "exit status 1, expected 0");
        c = stored(&f, id);
        check_int(c->steps[0].state, STEP_WAITING_RETRY);
        check_int(c->steps[0].retry_at, s->steps[0].retry_at);
        session_free(c);

        fx_close_engine(&f);
        check_int(tc_count("hold"), 1);
        fx_open_engine(&f);
        s = get(&f, id);
        check_int(s->steps[0].state, STEP_WAITING_RETRY);
        check_int(tc_count("hold"), 1);
        /* the next attempt starts once the wait is over, not before */
        TcRun *r = wait_run(&f, id, 0, 2);
        check(now_usec(CLOCK_REALTIME) >= get(&f, id)->steps[0].started_at);
        check(get(&f, id)->steps[0].started_at >= failed_at + USEC_PER_SEC);
        tc_finish(r, 1);
        while (get(&f, id)->steps[0].state != STEP_WAITING_RETRY)
                check(sd_event_run(f.event, 50 * USEC_PER_MSEC) >= 0);

        check_int(engine_cancel(f.engine, get(&f, id), as(BOB)), 0);
        s = get(&f, id);
        check_int(s->state, SESSION_CANCELLED);
        check_int(s->steps[0].state, STEP_CANCELLED);
        check_int(s->steps[0].retry_at, 0);
        /* the wait would have ended by now: nothing more runs */
        usec_t end = now_usec(CLOCK_MONOTONIC) + 1500 * USEC_PER_MSEC;
        while (now_usec(CLOCK_MONOTONIC) < end)
                check(sd_event_run(f.event, 100 * USEC_PER_MSEC) >= 0);
        check_int(tc_count("hold"), 2);
        c = stored(&f, id);
        check_int(c->steps[0].state, STEP_CANCELLED);
        session_free(c);
        runbook_free(rb);
        fx_done(&f);
}

/* on_failure: continue: the step is retried first; its last failure lets the session go on. */
static void test_retries_then_continue(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        uint32_t id;

        fx_setup(&f);
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"m1\", \"run\": \"hold\", \"retries\": 1, \"on_failure\": \"continue\","
                     "                 \"approval\": \"none\" },"
                     "              { \"name\": \"m2\", \"run\": \"m2\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        tc_finish(wait_run(&f, id, 0, 1), 1);
        tc_finish(wait_run(&f, id, 0, 2), 1);
        wait_state(&f, id, SESSION_SUCCEEDED, -1, 10 * USEC_PER_SEC);
        settle(&f);
        CHECK_RUNS("hold", "hold", "m2");
        s = get(&f, id);
        check_int(s->steps[0].state, STEP_FAILED);
        check_int(s->steps[0].attempt, 2);
        check_int(session_failed_steps(s), 1);
        runbook_free(rb);
        fx_done(&f);
}

/* Never retried by itself: a step that was not run (its connector refused it), and an attempt
 * that was running when runbookd stopped (interrupted). */
static void test_not_retried(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        uint32_t id;

        fx_setup(&f);
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"m1\", \"run\": \"refuse\", \"retries\": 2, \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        wait_state(&f, id, SESSION_FAILED, 0, 10 * USEC_PER_SEC);
        check_int(get(&f, id)->steps[0].attempt, 1);
        check_int(tc_count("refuse"), 1);
        runbook_free(rb);

        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"m1\", \"run\": \"hold\", \"retries\": 2, \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        (void) wait_run(&f, id, 0, 1);
        fx_close_engine(&f);
        fx_open_engine(&f);
        s = get(&f, id);
        check_int(s->state, SESSION_INTERRUPTED);
        check_int(s->steps[0].state, STEP_INTERRUPTED);
        settle(&f);
        check_int(tc_count("hold"), 1);
        runbook_free(rb);
        fx_done(&f);
}

int main(void) {
        fx_main_init();
        TEST(retries_then_success);
        TEST(retries_exhausted);
        TEST(retry_wait_restart_and_cancel);
        TEST(retries_then_continue);
        TEST(not_retried);
        return 0;
}
