/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-session-restart.c: what the engine makes of a restart — of runbookd (sessions come back
 * as they were, a running step comes back interrupted), and of the machine (the start log, the
 * records written ahead, group hosts, remote runs). Steps run by the test connector; see
 * test-engine-fixture.h. */

#include <stdio.h>
#include <sys/stat.h>

#include "engine/test-engine-fixture.h"

static void test_restart_waiting(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        uint32_t id;
        usec_t waiting_since, approval_time;
        _cleanup_free_ char *digest = NULL;

        fx_setup(&f);
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"two\", \"run\": \"two\", \"approvers\": 2 } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        check_int(approve(&f, &s->steps[0], BOB), 0);
        waiting_since = s->steps[0].waiting_since;
        approval_time = s->steps[0].approvals[0].time;
        digest = strdup(s->steps[0].digest);
        check(digest);

        fx_close_engine(&f);
        hooks_reset();
        fx_open_engine(&f);

        check_int(engine_n_active(f.engine), 1);
        s = get(&f, id);
        check(engine_session_is_active(s));
        check(session_engine(s) == f.engine);
        check_int(s->state, SESSION_WAITING_APPROVAL);
        check_int(s->current_step, 0);
        check(session_waiting_step(s) == &s->steps[0]);
        check_int(s->steps[0].state, STEP_WAITING_APPROVAL);
        check_int(s->steps[0].waiting_since, waiting_since);
        check_streq(s->steps[0].digest, digest);
        check_int(s->steps[0].n_approvals, 1);
        check_int(s->steps[0].approvals[0].uid, BOB);
        check_int(s->steps[0].approvals[0].time, approval_time);
        check_int(step_count_approvals(&s->steps[0]), 1);
        settle(&f);
        check_int(tc_n_runs(), 0);

        check_int(approve(&f, &s->steps[0], BOB), -EALREADY);
        check_int(approve(&f, &s->steps[0], CAROL), 0);
        wait_state(&f, id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        CHECK_RUNS("two");
        check(hooks.n_changed > 0);

        /* ids go on after a restart */
        s = start(&f, rb, NULL);
        check_int(s->id, id + 1);

        runbook_free(rb);
        fx_done(&f);
}

static int put_boot_id(StoreTxn *t, void *userdata) {
        static const uint8_t other_boot[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
        store_put(t, DB_META, "boot_id", strlen("boot_id"), other_boot, sizeof other_boot);
        return t->ret;
}

/* runbookd stops (the engine is freed, its commands killed) and the machine reboots: the store
 * says it was last opened in another boot. Its content stays as written: what a real power loss
 * would have lost, a test leaves out of the store to begin with. */
static void fx_reboot(Fx *f) {
        fx_close_engine(f);
        check(store_open(f->state_dir, &f->store) == 0);
        check_int(store_write(f->store, put_boot_id, NULL), 0);
        check_int(store_sync(f->store), 0);
        f->store = store_free(f->store);
        fx_open_engine(f);
        check(!store_same_boot(f->store));
}

/* The store lost the commit that recorded a step as running (power loss), but the start log
 * has the start: after the reboot the step counts as having run (interrupted), never as not run. */
static void test_start_log_replay(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        uint32_t id;

        fx_setup(&f);
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"gated\", \"run\": \"gated\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        check_int(s->steps[0].state, STEP_WAITING_APPROVAL);

        /* what step_run makes durable first; the commit that goes with it is "lost" */
        check_int(start_log_append(store_start_log(f.store), id, 0, 1), 0);
        fx_reboot(&f);

        s = get(&f, id);
        check_int(s->state, SESSION_INTERRUPTED);
        check_int(s->steps[0].state, STEP_INTERRUPTED);
        check_int(s->steps[0].attempt, 1);
        check(strstr(s->steps[0].error, "the machine restarted while attempt 1 was starting or running"));
        settle(&f);
        check_int(tc_n_runs(), 0);   /* not (re-)run by itself */

        /* the same record is not replayed twice, and the step still goes on behind a retry */
        fx_reboot(&f);
        s = get(&f, id);
        check_int(s->steps[0].state, STEP_INTERRUPTED);
        check_int(engine_retry(f.engine, s, as(BOB), NULL), 0);
        check_int(s->steps[0].attempt, 2);
        check_int(approve(&f, &s->steps[0], BOB), 0);
        wait_state(&f, id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        CHECK_RUNS("gated");
        check_int(tc_run(0)->attempt, 2);

        /* a record the store already knows about changes nothing */
        fx_reboot(&f);
        s = get(&f, id);
        check_int(s->state, SESSION_SUCCEEDED);

        /* in the same boot the store has every commit, and the log is not read: a record the
         * store does not reflect changes nothing (a new session, its step waiting again) */
        s = start(&f, rb, NULL);
        id = s->id;
        check_int(start_log_append(store_start_log(f.store), id, 0, 1), 0);
        fx_close_engine(&f);
        fx_open_engine(&f);
        check(store_same_boot(f.store));
        s = get(&f, id);
        check_int(s->state, SESSION_WAITING_APPROVAL);
        check_int(s->steps[0].state, STEP_WAITING_APPROVAL);

        runbook_free(rb);
        fx_done(&f);
}

/* Three steps that start by themselves: while one runs, the next one's start record is written
 * ahead. After a reboot that record counts: the step after the running one is interrupted too
 * (it may have started), each goes on only behind its own Retry; the watermark other sessions'
 * commits carry does not pass a record written ahead. In the same boot nothing changes but the
 * running step. */
static void test_start_ahead(void) {
        Runbook *rb, *rb2;
        Session *s, *b;
        uint32_t id, bid;
        Fx f;

        fx_setup(&f);
        rb = rb_make(&f, "{ \"steps\": ["
                         "{ \"name\": \"a\", \"approval\": \"none\", \"run\": \"hold\" },"
                         "{ \"name\": \"b\", \"approval\": \"none\", \"run\": \"b\" },"
                         "{ \"name\": \"c\", \"approval\": \"none\", \"run\": \"c\" } ] }");
        rb2 = rb_make(&f, "{ \"steps\": ["
                          "{ \"name\": \"x\", \"approval\": \"none\", \"run\": \"x\" },"
                          "{ \"name\": \"y\", \"approval\": \"none\", \"run\": \"y\" } ] }");

        /* a reboot while step a runs; meanwhile another session ran two steps and ended */
        s = start(&f, rb, NULL);
        id = s->id;
        check_int(s->steps[0].state, STEP_RUNNING);
        b = start(&f, rb2, NULL);
        bid = b->id;
        settle(&f);
        check_int(b->state, SESSION_SUCCEEDED);
        check(reached(&f, id, SESSION_RUNNING, 0));
        CHECK_RUNS("hold", "x", "y");
        fx_reboot(&f);
        check(tc_run(0)->freed_running);

        s = get(&f, id);
        check_int(s->state, SESSION_INTERRUPTED);
        check_int(s->current_step, 0);
        check_int(s->steps[0].state, STEP_INTERRUPTED);
        check(strstr(s->steps[0].error, "runbookd stopped while attempt 1 was running"));
        check_int(s->steps[1].state, STEP_INTERRUPTED);
        check(strstr(s->steps[1].error, "the machine restarted while an earlier step ran"));
        check_int(s->steps[2].state, STEP_PENDING);
        check_int(get(&f, bid)->state, SESSION_SUCCEEDED);
        settle(&f);
        check_int(tc_n_runs(), 3);   /* a, once; nothing more by itself */

        /* Retry a: it runs, then the session stops at b */
        check_int(engine_retry(f.engine, s, as(BOB), NULL), 0);
        check_int(approve(&f, &s->steps[0], BOB), 0);
        settle(&f);
        tc_finish(tc_last(id, 0), 0);
        settle(&f);
        check(reached(&f, id, SESSION_INTERRUPTED, 1));
        check_int(s->steps[0].state, STEP_SUCCEEDED);
        check_int(s->steps[1].state, STEP_INTERRUPTED);
        check_int(s->steps[2].state, STEP_PENDING);
        check(strstr(s->error, "1 (b) was interrupted"));
        CHECK_RUNS("hold", "x", "y", "hold");

        /* Retry b (a fresh approval): b and c run */
        check_int(engine_retry(f.engine, s, as(BOB), NULL), 0);
        check_int(s->steps[1].state, STEP_WAITING_APPROVAL);
        check_int(approve(&f, &s->steps[1], BOB), 0);
        settle(&f);
        check(reached(&f, id, SESSION_SUCCEEDED, -2));
        CHECK_RUNS("hold", "x", "y", "hold", "b", "c");

        /* the same boot: a crash while a runs leaves b pending, as the store says */
        s = start(&f, rb, NULL);
        id = s->id;
        check_int(s->steps[0].state, STEP_RUNNING);
        settle(&f);
        fx_close_engine(&f);
        fx_open_engine(&f);
        check(store_same_boot(f.store));
        s = get(&f, id);
        check_int(s->state, SESSION_INTERRUPTED);
        check_int(s->steps[0].state, STEP_INTERRUPTED);
        check_int(s->steps[1].state, STEP_PENDING);
        check_int(engine_retry(f.engine, s, as(BOB), NULL), 0);
        check_int(approve(&f, &s->steps[0], BOB), 0);
        settle(&f);
        tc_finish(tc_last(id, 0), 0);
        settle(&f);
        check(reached(&f, id, SESSION_SUCCEEDED, -2));
        CHECK_RUNS("hold", "x", "y", "hold", "b", "c", "hold", "hold", "b", "c");

        runbook_free(rb);
        runbook_free(rb2);
        fx_done(&f);
}

/* Records of the session's steps in the start log. */
static size_t count_start_records(Fx *f, uint32_t id, uint32_t *ret_max_count) {
        _cleanup_free_ StartRecord *recs = NULL;
        size_t n = 0, m = 0;

        *ret_max_count = 0;
        check_int(start_log_read(store_start_log(f->store), 0, &recs, &n), 0);
        for (size_t i = 0; i < n; i++)
                if (recs[i].session == id) {
                        m++;
                        *ret_max_count = MAX(*ret_max_count, recs[i].count);
                }
        return m;
}

/* A run of quick steps: one record written ahead stands for several of them (the span doubles
 * with each quick step). After a reboot every step such a record covers that the store does
 * not show finished counts as possibly started. */
static void test_start_ahead_range(void) {
        static const char tmpl[] =
                "{ \"steps\": ["
                "{ \"name\": \"q0\", \"approval\": \"none\", \"run\": \"q0\" },"
                "{ \"name\": \"q1\", \"approval\": \"none\", \"run\": \"q1\" },"
                "{ \"name\": \"q2\", \"approval\": \"none\", \"run\": \"q2\" },"
                "{ \"name\": \"q3\", \"approval\": \"none\", \"run\": \"q3\" },"
                "{ \"name\": \"q4\", \"approval\": \"none\", \"run\": \"q4\" },"
                "{ \"name\": \"q5\", \"approval\": \"none\", \"run\": \"q5\" },"
                "{ \"name\": \"long\", \"approval\": \"none\", \"run\": \"%s\" },"
                "{ \"name\": \"t1\", \"approval\": \"none\", \"run\": \"t1\" },"
                "{ \"name\": \"t2\", \"approval\": \"none\", \"run\": \"t2\" },"
                "{ \"name\": \"t3\", \"approval\": \"none\", \"run\": \"t3\" } ] }";
        _cleanup_free_ char *quick_json = NULL, *hold_json = NULL;
        uint32_t id, max_count;
        Runbook *quick, *held;
        Session *s;
        Fx f;

        fx_setup(&f);
        check(asprintf_safe(&quick_json, tmpl, "long") == 0);
        check(asprintf_safe(&hold_json, tmpl, "hold") == 0);
        quick = rb_make(&f, quick_json);
        held = rb_make(&f, hold_json);
        /* what counts as quick is not what this is about: on a loaded machine (or under ASan) a
         * step may take longer than the daemon's 20 ms */
        f.engine->start_ahead_quick_usec = 60 * USEC_PER_SEC;

        /* all quick: nine steps start from the one before, with fewer records than that */
        s = start(&f, quick, NULL);
        id = s->id;
        settle(&f);
        check(reached(&f, id, SESSION_SUCCEEDED, -2));
        check_int(tc_n_runs(), 10);
        check(count_start_records(&f, id, &max_count) < 9);
        check(max_count > 1);

        /* a reboot while 'long' runs: t1..t3 are covered by a record written ahead */
        s = start(&f, held, NULL);
        id = s->id;
        settle(&f);
        check(reached(&f, id, SESSION_RUNNING, 6));
        check_int(tc_n_runs(), 17);
        fx_reboot(&f);

        s = get(&f, id);
        check_int(s->state, SESSION_INTERRUPTED);
        check_int(s->current_step, 6);
        for (size_t i = 0; i < 6; i++)
                check_int(s->steps[i].state, STEP_SUCCEEDED);
        check_int(s->steps[6].state, STEP_INTERRUPTED);
        for (size_t i = 7; i < 10; i++) {
                check_int(s->steps[i].state, STEP_INTERRUPTED);
                check(strstr(s->steps[i].error, "the machine restarted while an earlier step ran"));
        }
        settle(&f);
        check_int(tc_n_runs(), 17);   /* nothing more by itself */

        /* each goes on behind its own Retry */
        for (int i = 6; i < 10; i++) {
                check_int(s->current_step, i);
                check_int(engine_retry(f.engine, s, as(BOB), NULL), 0);
                check_int(approve(&f, &s->steps[i], BOB), 0);
                settle(&f);
                if (i == 6) {
                        tc_finish(tc_last(id, 6), 0);
                        settle(&f);
                }
                check_int(tc_last(id, i)->attempt, 2);
                if (i < 9)
                        check(reached(&f, id, SESSION_INTERRUPTED, i + 1));
        }
        check(reached(&f, id, SESSION_SUCCEEDED, -2));
        check_int(tc_n_runs(), 21);

        runbook_free(quick);
        runbook_free(held);
        fx_done(&f);
}

/* Three targets l1..l3 and a group 'g' of them (at most 2 at once), in the fixture's config
 * dir; l1..l3 run through the test connector. */
static void fx_group_targets(Fx *f) {
        static const char *const files[][2] = {
                { "l1", "{\"connector\": \"local\"}" },
                { "l2", "{\"connector\": \"local\"}" },
                { "l3", "{\"connector\": \"local\"}" },
                { "g", "{\"group\": [\"l1\", \"l2\", \"l3\"], \"max_concurrency\": 2}" },
        };
        _cleanup_free_ char *dir = fx_path(f, "targets");

        check(mkdir(dir, 0755) == 0);
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *path = NULL;
                FILE *o;
                check(asprintf_safe(&path, "%s/%s.json", dir, files[i][0]) == 0);
                o = fopen(path, "we");
                check(o);
                check(fputs(files[i][1], o) >= 0);
                check(fclose(o) == 0);
        }
        f->targets = target_catalog_free(f->targets);
        check(target_catalog_load(NULL, f->dir, &f->targets) == 0);
        check(f->targets->n_broken == 0);
        tc_use_for(f->targets);
        engine_set_targets(f->engine, f->targets);
}

/* A group step whose start only the start log has (the commit was lost with the machine): after
 * the reboot every host not recorded as finished counts as possibly started (interrupted), none
 * runs by itself, and Retry (behind a fresh approval) runs them all. */
static void test_group_restart_new_boot(void) {
        uint32_t id;
        Fx f;
        Runbook *rb;
        Session *s;
        Step *st;

        fx_setup(&f);
        fx_group_targets(&f);
        rb = rb_make(&f, "{ \"target\": \"g\", \"steps\": [ { \"name\": \"fan out\", \"run\": \"fan\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        st = &s->steps[0];
        check_int(st->n_hosts, 3);
        check_int(st->max_concurrency, 2);
        check_int(st->state, STEP_WAITING_APPROVAL);
        check(store_same_boot(f.store) == false);   /* a new store */

        /* what step_run makes durable first; its commit (and any host's) is "lost" ... */
        check_int(start_log_append(store_start_log(f.store), id, 0, 1), 0);
        fx_close_engine(&f);
        /* ... because the machine rebooted */
        check(store_open(f.state_dir, &f.store) == 0);
        check(store_same_boot(f.store));
        check_int(store_write(f.store, put_boot_id, NULL), 0);
        check_int(store_sync(f.store), 0);
        f.store = store_free(f.store);
        fx_open_engine(&f);
        check(!store_same_boot(f.store));
        settle(&f);

        s = get(&f, id);
        st = &s->steps[0];
        check_int(s->state, SESSION_INTERRUPTED);
        check_int(st->state, STEP_INTERRUPTED);
        for (size_t i = 0; i < 3; i++) {
                check_int(st->hosts[i].state, STEP_INTERRUPTED);
                check(strstr(st->hosts[i].error, "the machine restarted"));
        }
        check(strstr(st->error, "runbookd stopped while 3 of 3 hosts ran"));
        check_int(tc_n_runs(), 0);   /* nothing (re-)run by itself */

        check_int(engine_retry(f.engine, s, as(BOB), NULL), 0);
        check_int(approve(&f, st, BOB), 0);
        wait_state(&f, id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        CHECK_RUNS("fan", "fan", "fan");
        for (unsigned i = 0; i < 3; i++)
                check_int(tc_run(i)->attempt, 2);
        check_streq(tc_run(0)->target, "l1");
        check_streq(tc_run(1)->target, "l2");
        check_streq(tc_run(2)->target, "l3");
        for (size_t i = 0; i < 3; i++) {
                check_int(st->hosts[i].state, STEP_SUCCEEDED);
                check_int(st->hosts[i].attempt, 2);
        }

        /* the same boot: the store is exact, and pending hosts stay pending (test-group-stop.sh) */
        fx_close_engine(&f);
        fx_open_engine(&f);
        check(store_same_boot(f.store));

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

/* Steps of a resumable connector (azure) found running after a restart: without a remote
 * handle the remote run was never created (interrupted, saying so); with one whose target no
 * longer reaches that connector it cannot be followed (interrupted, naming the run); neither is
 * re-run. (Following a run that can be found: tests/integration/test-azure-restart.sh.) */
static void test_remote_restart(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        uint32_t id[2];

        fx_setup(&f);
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"remote\", \"run\": \"remote\" } ] }");
        for (unsigned i = 0; i < 2; i++) {
                s = start(&f, rb, NULL);
                id[i] = s->id;
                check_int(s->steps[0].state, STEP_WAITING_APPROVAL);
                /* as a daemon that stopped while the step ran on Azure left it */
                free(s->steps[0].connector);
                s->steps[0].connector = strdup("azure");
                check(s->steps[0].connector);
                s->steps[0].state = STEP_RUNNING;
                s->steps[0].attempt = 1;
                if (i == 1) {
                        s->steps[0].remote = json_pack("{s:s,s:s}", "connector", "azure", "name", "runbookd-2-0-a1-0badcafe");
                        check(s->steps[0].remote);
                }
                s->state = SESSION_RUNNING;
                check(store_write(f.store, save_fn, s) == 0);
        }
        check(store_sync(f.store) == 0);
        fx_close_engine(&f);
        fx_open_engine(&f);

        s = get(&f, id[0]);
        check_int(s->state, SESSION_INTERRUPTED);
        check_int(s->steps[0].state, STEP_INTERRUPTED);
        check(s->steps[0].error && strstr(s->steps[0].error, "the remote run was never created; not re-run"));
        check(!s->steps[0].remote);
        s = get(&f, id[1]);
        check_int(s->state, SESSION_INTERRUPTED);
        check_int(s->steps[0].state, STEP_INTERRUPTED);
        check(s->steps[0].error && strstr(s->steps[0].error, "runbookd-2-0-a1-0badcafe cannot be followed"));
        check(s->steps[0].remote);
        settle(&f);
        check_int(tc_n_runs(), 0);
        check(!step_rt(&s->steps[0])->job);

        runbook_free(rb);
        fx_done(&f);
}

static void test_interrupted(void) {
        Fx f;
        Runbook *rb;
        Session *s, *c;
        uint32_t id;
        TcRun *r;

        fx_setup(&f);
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"once\", \"approval\": \"none\", \"run\": \"hold\" },"
                     "  { \"name\": \"next\", \"run\": \"next\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        settle(&f);
        CHECK_RUNS("hold");
        r = tc_run(0);
        check(r->job);
        check_int(s->steps[0].state, STEP_RUNNING);

        /* retry needs an interrupted session */
        check_int(engine_retry(f.engine, s, as(BOB), NULL), -ENOMSG);

        /* "crash": the engine goes away while the command runs (its job is freed, as a stopping
         * runbookd's are; the local connector's kill on free: test-local.c) */
        fx_close_engine(&f);
        check(r->freed_running);
        check(!r->cancelled);
        hooks_reset();
        fx_open_engine(&f);

        s = get(&f, id);
        check(engine_session_is_active(s));
        check_int(s->state, SESSION_INTERRUPTED);
        check_int(s->current_step, 0);
        check_int(s->steps[0].state, STEP_INTERRUPTED);
        check_int(s->steps[0].attempt, 1);
        check(s->steps[0].error && strstr(s->steps[0].error, "not re-run"));
        check(s->error && strstr(s->error, "interrupted"));
        check_int(s->steps[1].state, STEP_PENDING);
        check(!session_waiting_step(s));
        check(!engine_is_idle(f.engine));
        settle(&f);
        check_int(tc_n_runs(), 1);   /* not re-run by itself, nothing after it */

        /* durable as interrupted */
        c = stored(&f, id);
        check_int(c->state, SESSION_INTERRUPTED);
        check_int(c->steps[0].state, STEP_INTERRUPTED);
        session_free(c);
        check(stored_active(&f, id));

        /* and still after another restart, nothing runs */
        fx_close_engine(&f);
        fx_open_engine(&f);
        s = get(&f, id);
        check_int(s->state, SESSION_INTERRUPTED);
        settle(&f);
        check_int(tc_n_runs(), 1);

        /* retry: a fresh approval for attempt 2 */
        hooks_reset();
        check_int(engine_retry(f.engine, s, as(BOB), NULL), 0);
        check(store_sync(f.store) == 0);
        check_int(hooks.n_changed, 1);
        check_int(s->state, SESSION_WAITING_APPROVAL);
        check_int(s->steps[0].state, STEP_WAITING_APPROVAL);
        check_int(s->steps[0].attempt, 2);
        check(!s->steps[0].error);
        check(!s->error);
        check(session_waiting_step(s) == &s->steps[0]);
        check_int(step_count_approvals(&s->steps[0]), 0);
        check_int(engine_retry(f.engine, s, as(BOB), NULL), -ENOMSG);
        settle(&f);
        check_int(tc_n_runs(), 1);

        c = stored(&f, id);
        check_int(c->state, SESSION_WAITING_APPROVAL);
        check_int(c->steps[0].attempt, 2);
        session_free(c);

        check_int(approve(&f, &s->steps[0], ALICE), -EPERM);
        check_int(approve(&f, &s->steps[0], CAROL), 0);
        settle(&f);
        r = tc_run(1);
        check_int(r->attempt, 2);
        tc_finish(r, 0);
        settle(&f);
        check(reached(&f, id, SESSION_SUCCEEDED, -2));
        CHECK_RUNS("hold", "hold", "next");
        s = get(&f, id);
        check_int(s->steps[0].state, STEP_SUCCEEDED);
        check_int(s->steps[0].attempt, 2);
        check_int(s->steps[0].n_approvals, 1);
        check_int(s->steps[0].approvals[0].attempt, 2);
        check_int(s->steps[1].state, STEP_SUCCEEDED);

        runbook_free(rb);
        fx_done(&f);
}

int main(void) {
        fx_main_init();

        TEST(restart_waiting);
        TEST(interrupted);
        TEST(remote_restart);
        TEST(start_log_replay);
        TEST(start_ahead);
        TEST(start_ahead_range);
        TEST(group_restart_new_boot);
        return 0;
}
