/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-phases.c: rollback and finally steps — when the rollback runs and when not, what the
 * session ends as (never green after a failure), a rejected, failed or cancelled rollback,
 * cancel while a main step runs, finally after success, failure and cancel, and that all of it
 * is stored (see test-engine-fixture.h; steps run by the test connector). */

#include <stdio.h>

#include "engine/test-engine-fixture.h"

#define ROLLBACK_RUNBOOK(main2)                                                                          \
        "{ \"prechecks\": [ { \"name\": \"pre\", \"run\": \"pre\", \"approval\": \"none\" } ],"          \
        "  \"steps\": [ { \"name\": \"m1\", \"run\": \"m1\", \"approval\": \"none\" },"                  \
        "              { \"name\": \"m2\", \"run\": \"" main2 "\", \"approval\": \"none\" },"            \
        "              { \"name\": \"m3\", \"run\": \"m3\", \"approval\": \"none\" } ],"                 \
        "  \"postchecks\": [ { \"name\": \"post\", \"run\": \"post\", \"approval\": \"none\" } ],"       \
        "  \"rollback\": [ { \"name\": \"r1\", \"run\": \"r1\" },"                                        \
        "                 { \"name\": \"r2\", \"run\": \"r2\", \"approval\": \"none\" } ],"              \
        "  \"finally\": [ { \"name\": \"fin\", \"run\": \"fin\", \"approval\": \"none\" } ] }"

/* A failed main step: the rollback waits for a person, runs, then finally; the session ends
 * failed (its cause), Rollback succeeded; everything stored. */
static void test_rollback_after_failure(void) {
        Fx f;
        Runbook *rb;
        Session *s, *c;
        uint32_t id;

        fx_setup(&f);
        rb = rb_make(&f, ROLLBACK_RUNBOOK("exit 4"));
        s = start(&f, rb, NULL);
        id = s->id;
        wait_state(&f, id, SESSION_WAITING_APPROVAL, 5, 10 * USEC_PER_SEC);
        s = get(&f, id);
        check_int(s->steps[2].state, STEP_FAILED);
        check_int(s->steps[3].state, STEP_SKIPPED);   /* m3 */
        check_int(s->steps[4].state, STEP_SKIPPED);   /* post */
        check_int(s->steps[5].state, STEP_WAITING_APPROVAL);
        check_int(s->rollback, ROLLBACK_RUNNING);
        check_int(s->outcome, SESSION_FAILED);
        check(s->error && strstr(s->error, "main 2 (m2) failed: exit status 4"));
        c = stored(&f, id);
        check_int(c->rollback, ROLLBACK_RUNNING);
        check_int(c->outcome, SESSION_FAILED);
        check_streq(c->outcome_error, s->outcome_error);
        check_int(c->state, SESSION_WAITING_APPROVAL);
        session_free(c);

        check_int(approve(&f, &s->steps[5], BOB), 0);
        wait_state(&f, id, SESSION_FAILED, -2, 10 * USEC_PER_SEC);
        s = get(&f, id);
        check_int(s->steps[5].state, STEP_SUCCEEDED);
        check_int(s->steps[6].state, STEP_SUCCEEDED);
        check_int(s->steps[7].state, STEP_SUCCEEDED);
        check_int(s->rollback, ROLLBACK_SUCCEEDED);
        check(s->error && strstr(s->error, "main 2 (m2) failed"));
        settle(&f);
        CHECK_RUNS("pre", "m1", "exit 4", "r1", "r2", "fin");
        c = stored(&f, id);
        check_int(c->state, SESSION_FAILED);
        check_int(c->rollback, ROLLBACK_SUCCEEDED);
        session_free(c);
        runbook_free(rb);
        fx_done(&f);
}

/* The flow succeeds: no rollback (its steps skipped, saying why), finally runs, succeeded. */
static void test_success_skips_rollback(void) {
        Fx f;
        Runbook *rb;
        Session *s;

        fx_setup(&f);
        rb = rb_make(&f, ROLLBACK_RUNBOOK("m2"));
        s = start(&f, rb, NULL);
        wait_state(&f, s->id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        check_int(s->steps[5].state, STEP_SKIPPED);
        check(s->steps[5].error && strstr(s->steps[5].error, "main steps succeeded"));
        check_int(s->steps[6].state, STEP_SKIPPED);
        check_int(s->steps[7].state, STEP_SUCCEEDED);
        check_int(s->rollback, ROLLBACK_NONE);
        check(!s->error);
        settle(&f);
        CHECK_RUNS("pre", "m1", "m2", "m3", "post", "fin");
        runbook_free(rb);
        fx_done(&f);
}

/* A failed precheck: nothing changed, no rollback (skipped); finally still runs. A failed
 * postcheck: no rollback either (none). A finally step's failure does not change the end. */
static void test_no_rollback_cases(void) {
        Fx f;
        Runbook *rb;
        Session *s;

        fx_setup(&f);
        rb = rb_make(&f,
                     "{ \"prechecks\": [ { \"name\": \"pre\", \"run\": \"exit 1\", \"approval\": \"none\" } ],"
                     "  \"steps\": [ { \"name\": \"m\", \"run\": \"m\", \"approval\": \"none\" } ],"
                     "  \"rollback\": [ { \"name\": \"r\", \"run\": \"r\" } ],"
                     "  \"finally\": [ { \"name\": \"fin\", \"run\": \"fin\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        wait_state(&f, s->id, SESSION_FAILED, -2, 10 * USEC_PER_SEC);
        check_int(s->rollback, ROLLBACK_SKIPPED);
        check_int(s->steps[1].state, STEP_SKIPPED);
        check_int(s->steps[2].state, STEP_SKIPPED);
        check(s->steps[2].error && strstr(s->steps[2].error, "no main step had started"));
        check_int(s->steps[3].state, STEP_SUCCEEDED);
        check(s->error && strstr(s->error, "precheck 0 (pre) failed"));
        settle(&f);
        CHECK_RUNS("exit 1", "fin");
        runbook_free(rb);

        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"m\", \"run\": \"m\", \"approval\": \"none\" } ],"
                     "  \"postchecks\": [ { \"name\": \"post\", \"run\": \"exit 2\", \"approval\": \"none\" } ],"
                     "  \"rollback\": [ { \"name\": \"r\", \"run\": \"r\" } ],"
                     "  \"finally\": [ { \"name\": \"f1\", \"run\": \"exit 5\", \"approval\": \"none\" },"
                     "                { \"name\": \"f2\", \"run\": \"f2\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        wait_state(&f, s->id, SESSION_FAILED, -2, 10 * USEC_PER_SEC);
        check_int(s->rollback, ROLLBACK_NONE);
        check_int(s->steps[2].state, STEP_SKIPPED);
        check_int(s->steps[3].state, STEP_FAILED);
        check_int(s->steps[4].state, STEP_SKIPPED);   /* after a failed finally step (on_failure: stop) */
        check(s->error && strstr(s->error, "postcheck 1 (post) failed"));
        check_int(session_failed_steps(s), 1);
        settle(&f);
        CHECK_RUNS("exit 1", "fin", "m", "exit 2", "exit 5");
        runbook_free(rb);

        /* after success, a failed finally step is counted and the session still succeeds */
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"m\", \"run\": \"m\", \"approval\": \"none\" } ],"
                     "  \"finally\": [ { \"name\": \"f1\", \"run\": \"exit 5\", \"approval\": \"none\", \"on_failure\": \"continue\" },"
                     "                { \"name\": \"f2\", \"run\": \"f2\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        wait_state(&f, s->id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        check_int(s->steps[1].state, STEP_FAILED);
        check_int(s->steps[2].state, STEP_SUCCEEDED);
        check_int(session_failed_steps(s), 1);
        check(!s->error);
        runbook_free(rb);
        fx_done(&f);
}

/* Rejecting a main step after one ran rolls back; rejecting the rollback step ends the rollback
 * (rejected), the finally steps still run, and the session ends rejected. */
static void test_reject_and_rejected_rollback(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        uint32_t id;

        fx_setup(&f);
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"m1\", \"run\": \"m1\", \"approval\": \"none\" },"
                     "              { \"name\": \"m2\", \"run\": \"m2\" } ],"
                     "  \"rollback\": [ { \"name\": \"r1\", \"run\": \"r1\" }, { \"name\": \"r2\", \"run\": \"r2\" } ],"
                     "  \"finally\": [ { \"name\": \"fin\", \"run\": \"fin\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        wait_state(&f, id, SESSION_WAITING_APPROVAL, 1, 10 * USEC_PER_SEC);
        check_int(engine_reject(f.engine, &s->steps[1], as(BOB), "no"), 0);
        s = get(&f, id);
        check_int(s->state, SESSION_WAITING_APPROVAL);
        check_int(s->current_step, 2);
        check_int(s->rollback, ROLLBACK_RUNNING);
        check_int(s->outcome, SESSION_REJECTED);
        check_int(engine_reject(f.engine, &s->steps[2], as(BOB), "leave it"), 0);
        wait_state(&f, id, SESSION_REJECTED, -2, 10 * USEC_PER_SEC);
        s = get(&f, id);
        check_int(s->rollback, ROLLBACK_REJECTED);
        check_int(s->steps[2].state, STEP_REJECTED);
        check_int(s->steps[3].state, STEP_SKIPPED);
        check_int(s->steps[4].state, STEP_SUCCEEDED);
        check(s->error && strstr(s->error, "main 1 (m2) rejected by bob"));
        settle(&f);
        CHECK_RUNS("m1", "fin");
        runbook_free(rb);

        /* rejecting the first main step: nothing ran, no rollback */
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"m1\", \"run\": \"m1\" } ],"
                     "  \"rollback\": [ { \"name\": \"r1\", \"run\": \"r1\" } ] }");
        s = start(&f, rb, NULL);
        check_int(engine_reject(f.engine, &s->steps[0], as(BOB), NULL), 0);
        check_int(s->state, SESSION_REJECTED);
        check_int(s->rollback, ROLLBACK_SKIPPED);
        check_int(s->steps[1].state, STEP_SKIPPED);
        runbook_free(rb);
        fx_done(&f);
}

/* Cancel while a main step runs: the rollback waits until the command has stopped, then runs;
 * cancel during the rollback stops it, and finally still runs; the session ends cancelled. */
static void test_cancel(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        uint32_t id;
        TcRun *r;

        fx_setup(&f);
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"m1\", \"run\": \"hold\", \"approval\": \"none\" },"
                     "              { \"name\": \"m2\", \"run\": \"m2\", \"approval\": \"none\" } ],"
                     "  \"rollback\": [ { \"name\": \"r1\", \"run\": \"hold\", \"approval\": \"none\" },"
                     "                 { \"name\": \"r2\", \"run\": \"r2\", \"approval\": \"none\" } ],"
                     "  \"finally\": [ { \"name\": \"fin\", \"run\": \"fin\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        settle(&f);
        r = tc_last(id, 0);
        check(r && r->job);
        check_int(engine_cancel(f.engine, s, as(BOB)), 0);
        check(r->cancelled);
        /* the rollback has not started: the cancelled command has not ended yet */
        check_int(s->steps[0].state, STEP_CANCELLED);
        check_int(s->steps[2].state, STEP_PENDING);
        check(!session_state_is_final(s->state));
        check_int(engine_cancel(f.engine, s, as(CAROL)), -EALREADY);
        settle(&f);
        s = get(&f, id);
        check_int(s->rollback, ROLLBACK_RUNNING);
        check_int(s->outcome, SESSION_CANCELLED);
        check_int(s->steps[1].state, STEP_SKIPPED);
        check_int(s->steps[2].state, STEP_RUNNING);
        r = tc_last(id, 2);
        check(r && r->job);

        /* cancel during the rollback: it stops, finally runs */
        check_int(engine_cancel(f.engine, s, as(CAROL)), 0);
        settle(&f);
        wait_state(&f, id, SESSION_CANCELLED, -2, 10 * USEC_PER_SEC);
        s = get(&f, id);
        check_int(s->rollback, ROLLBACK_CANCELLED);
        check_int(s->steps[2].state, STEP_CANCELLED);
        check_int(s->steps[3].state, STEP_SKIPPED);
        check_int(s->steps[4].state, STEP_SUCCEEDED);
        check(s->error && strstr(s->error, "cancelled by bob"));
        CHECK_RUNS("hold", "hold", "fin");

        /* runbookd stops after the cancel, before the cancelled command ended: after the restart
         * the rollback runs */
        s = start(&f, rb, NULL);
        id = s->id;
        settle(&f);
        check_int(engine_cancel(f.engine, s, as(BOB)), 0);
        check_int(s->steps[0].state, STEP_CANCELLED);
        fx_close_engine(&f);
        fx_open_engine(&f);
        settle(&f);
        s = get(&f, id);
        check_int(s->rollback, ROLLBACK_RUNNING);
        check_int(s->outcome, SESSION_CANCELLED);
        check_int(s->steps[2].state, STEP_RUNNING);
        check(s->error && strstr(s->error, "cancelled by bob"));
        check_int(engine_cancel(f.engine, s, as(BOB)), 0);
        settle(&f);
        wait_state(&f, id, SESSION_CANCELLED, -2, 10 * USEC_PER_SEC);
        runbook_free(rb);

        /* no rollback or finally: cancel ends the session at once, as before */
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"m1\", \"run\": \"hold\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        settle(&f);
        check_int(engine_cancel(f.engine, s, as(BOB)), 0);
        check_int(s->state, SESSION_CANCELLED);
        check_int(s->rollback, ROLLBACK_NONE);
        settle(&f);
        runbook_free(rb);
        fx_done(&f);
}

/* A failed rollback step ends the rollback (failed); a restart in the middle of a rollback
 * keeps where it was. */
static void test_failed_rollback_and_restart(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        uint32_t id;

        fx_setup(&f);
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"m1\", \"run\": \"exit 1\", \"approval\": \"none\" } ],"
                     "  \"rollback\": [ { \"name\": \"r1\", \"run\": \"r1\" },"
                     "                 { \"name\": \"r2\", \"run\": \"exit 9\", \"approval\": \"none\" },"
                     "                 { \"name\": \"r3\", \"run\": \"r3\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        wait_state(&f, id, SESSION_WAITING_APPROVAL, 1, 10 * USEC_PER_SEC);

        /* restart: the session comes back waiting for the rollback's approval */
        fx_close_engine(&f);
        fx_open_engine(&f);
        s = get(&f, id);
        check_int(s->state, SESSION_WAITING_APPROVAL);
        check_int(s->rollback, ROLLBACK_RUNNING);
        check_int(s->outcome, SESSION_FAILED);
        check(s->outcome_error && strstr(s->outcome_error, "main 0 (m1) failed"));

        check_int(approve(&f, &s->steps[1], BOB), 0);
        wait_state(&f, id, SESSION_FAILED, -2, 10 * USEC_PER_SEC);
        s = get(&f, id);
        check_int(s->rollback, ROLLBACK_FAILED);
        check_int(s->steps[2].state, STEP_FAILED);
        check_int(s->steps[3].state, STEP_SKIPPED);
        check(s->error && strstr(s->error, "main 0 (m1) failed"));
        runbook_free(rb);
        fx_done(&f);
}

/* Retry of a failed session: the failed step waits for a fresh approval (even with approval:
 * none), the steps before it do not run again, the finally steps run again at the new end; not
 * after a rollback ran; after a rejected rollback it may. */
static void test_retry_failed(void) {
        Fx f;
        Runbook *rb;
        Session *s, *c;
        uint32_t id;
        TcRun *r;

        fx_setup(&f);
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"m1\", \"run\": \"m1\", \"approval\": \"none\" },"
                     "              { \"name\": \"m2\", \"run\": \"hold\", \"approval\": \"none\" },"
                     "              { \"name\": \"m3\", \"run\": \"m3\", \"approval\": \"none\" } ],"
                     "  \"finally\": [ { \"name\": \"fin\", \"run\": \"fin\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        settle(&f);
        r = tc_last(id, 1);
        check(r && r->job);
        tc_finish(r, 1);
        wait_state(&f, id, SESSION_FAILED, 1, 10 * USEC_PER_SEC);
        s = get(&f, id);
        check(!engine_session_is_active(s));
        check_int(s->steps[3].state, STEP_SUCCEEDED);

        check_int(engine_retry(f.engine, s, as(BOB), NULL), 0);
        s = get(&f, id);
        check(engine_session_is_active(s));
        check_int(s->state, SESSION_WAITING_APPROVAL);
        check_int(s->steps[1].state, STEP_WAITING_APPROVAL);
        check_int(s->steps[1].attempt, 2);
        check_int(s->steps[2].state, STEP_PENDING);
        check_int(s->steps[3].state, STEP_PENDING);
        check_int(s->steps[3].attempt, 1);      /* needs no approval: keeps its number */
        check(!s->error);
        check_int(s->finished_at, 0);
        c = stored(&f, id);
        check_int(c->state, SESSION_WAITING_APPROVAL);
        check_int(c->steps[1].attempt, 2);
        session_free(c);
        check(stored_active(&f, id));
        /* a retry is a decision: the creator cannot approve it alone */
        check_int(engine_approve(f.engine, &s->steps[1], as(ALICE), NULL), -EPERM);
        check_int(approve(&f, &s->steps[1], BOB), 0);
        settle(&f);
        r = tc_last(id, 1);
        check(r && r->job);
        check_int(r->attempt, 2);
        tc_finish(r, 0);
        wait_state(&f, id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        settle(&f);
        CHECK_RUNS("m1", "hold", "fin", "hold", "m3", "fin");
        /* succeeded: nothing to retry */
        check_int(engine_retry(f.engine, get(&f, id), as(BOB), NULL), -ESHUTDOWN);
        runbook_free(rb);

        /* the rollback ran: no retry, saying why */
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"m1\", \"run\": \"exit 1\", \"approval\": \"none\" } ],"
                     "  \"rollback\": [ { \"name\": \"r1\", \"run\": \"r1\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        wait_state(&f, id, SESSION_FAILED, 0, 10 * USEC_PER_SEC);
        check_int(s->rollback, ROLLBACK_SUCCEEDED);
        {
                _cleanup_free_ char *why = NULL;
                check_int(engine_retry(f.engine, s, as(BOB), &why), -ENOMSG);
                check(why && strstr(why, "its rollback ran (succeeded)"));
                check(why && strstr(why, "start a new session"));
        }
        s = get(&f, id);
        check_int(s->state, SESSION_FAILED);
        check(!stored_active(&f, id));
        runbook_free(rb);

        /* the rollback was rejected: it may be retried, and the rollback is armed again */
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"m1\", \"run\": \"exit 1\", \"approval\": \"none\" } ],"
                     "  \"rollback\": [ { \"name\": \"r1\", \"run\": \"r1\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        wait_state(&f, id, SESSION_WAITING_APPROVAL, 1, 10 * USEC_PER_SEC);
        check_int(engine_reject(f.engine, &s->steps[1], as(BOB), NULL), 0);
        s = get(&f, id);
        check_int(s->state, SESSION_FAILED);
        check_int(s->rollback, ROLLBACK_REJECTED);
        check_int(engine_retry(f.engine, s, as(CAROL), NULL), 0);
        s = get(&f, id);
        check_int(s->rollback, ROLLBACK_NONE);
        check_int(s->steps[1].state, STEP_PENDING);
        check_int(s->steps[1].attempt, 2);      /* the rejection stays with attempt 1 */
        check_int(s->steps[0].state, STEP_WAITING_APPROVAL);
        runbook_free(rb);
        fx_done(&f);
}

int main(void) {
        fx_main_init();
        TEST(rollback_after_failure);
        TEST(success_skips_rollback);
        TEST(no_rollback_cases);
        TEST(reject_and_rejected_rollback);
        TEST(cancel);
        TEST(failed_rollback_and_restart);
        TEST(retry_failed);
        return 0;
}
