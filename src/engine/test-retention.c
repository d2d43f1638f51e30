/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-retention.c: "retention" (engine-retention.c) with an injected wall clock: sessions that
 * finished more than max_age_days ago are removed, whole (record, snapshot, steps, output), and
 * announced; a session waiting for approval, an interrupted one and one whose break-glass awaits
 * its review are kept whatever their age; max_sessions keeps the newest finished ones; the audit
 * records stay; a Reload (engine_set_config) applies a new policy. See test-engine-fixture.h. */

#include <stdio.h>

#include "engine/test-engine-fixture.h"

#define DAY (24 * 3600 * USEC_PER_SEC)

static usec_t clock_offset;
static usec_t fake_realtime(void) {
        return now_usec(CLOCK_REALTIME) + clock_offset;
}

static struct {
        unsigned n;
        uint32_t ids[64];
        size_t n_steps[64];
} removed;

static void on_removed(uint32_t id, size_t n_steps, void *userdata) {
        check(removed.n < ELEMENTSOF(removed.ids));
        removed.ids[removed.n] = id;
        removed.n_steps[removed.n++] = n_steps;
}

static bool was_removed(uint32_t id) {
        for (unsigned i = 0; i < removed.n; i++)
                if (removed.ids[i] == id)
                        return true;
        return false;
}

static void fx_retention_hooks(Fx *f) {
        static const EngineHooks h = { .session_new = on_session_new, .changed = on_changed,
                                       .session_removed = on_removed, .userdata = &hooks };
        engine_set_hooks(f->engine, &h);
        f->engine->realtime = fake_realtime;
        removed.n = 0;
}

static void set_policy(Fx *f, unsigned max_age_days, unsigned max_sessions) {
        EngineConfig c = *engine_get_config(f->engine);
        c.retention_max_age_days = max_age_days;
        c.retention_max_sessions = max_sessions;
        engine_set_config(f->engine, &c);   /* as a Reload does: kicks a pass */
}

/* Runs the loop until a retention pass begun now has completed. */
static void run_pass(Fx *f) {
        uint64_t passes = f->engine->retention.n_passes;
        usec_t end = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

        engine_retention_kick(f->engine);
        while (f->engine->retention.n_passes == passes) {
                check(now_usec(CLOCK_MONOTONIC) < end);
                check(sd_event_run(f->event, 20 * USEC_PER_MSEC) >= 0);
        }
}

static bool in_store(Fx *f, uint32_t id) {
        Session *s = NULL;
        StoreTxn t;
        int r;

        check(store_read_begin(f->store, &t) == 0);
        r = store_load_session(&t, id, &s);
        store_read_end(&t);
        session_free(s);
        check(r == 0 || r == -ENOENT);
        return r == 0;
}

struct keys_ctx {
        unsigned n;
};
static int count_keys_cb(const MDB_val *key, const MDB_val *val, void *userdata) {
        ((struct keys_ctx *) userdata)->n++;
        return 0;
}

/* Keys of session 'id' in 'db' (every key there begins with its be32 id). */
static unsigned keys_of(Fx *f, StoreDb db, uint32_t id) {
        struct keys_ctx c = {};
        uint8_t k[4];
        StoreTxn t;

        be32_put(k, id);
        check(store_read_begin(f->store, &t) == 0);
        check(store_foreach(&t, db, k, sizeof k, false, count_keys_cb, &c) == 0);
        store_read_end(&t);
        return c.n;
}

static int count_audit_cb(uint64_t seq, const char *text, size_t len, void *userdata) {
        (*(unsigned *) userdata)++;
        return 0;
}

static unsigned audit_records(Fx *f) {
        unsigned n = 0;
        StoreTxn t;

        check(store_read_begin(f->store, &t) == 0);
        check(store_audit_read(&t, 0, SIZE_MAX, count_audit_cb, &n) == 0);
        store_read_end(&t);
        return n;
}

static uint32_t run_quick(Fx *f, const Runbook *rb) {
        Session *s = start(f, rb, NULL);
        uint32_t id = s->id;
        wait_state(f, id, SESSION_SUCCEEDED, -2, 5 * USEC_PER_SEC);
        settle(f);
        return id;
}

static void test_max_age(void) {
        Runbook *quick, *gated, *held;
        uint32_t done1, done2, waiting, interrupted, unreviewed, reviewed;
        unsigned audit_before;
        Session *s;
        Fx f;

        fx_setup(&f);
        fx_retention_hooks(&f);
        clock_offset = 0;
        quick = rb_make(&f, "{ \"steps\": [ { \"name\": \"a\", \"run\": \"fill 150000 x; err oops\", \"approval\": \"none\" },"
                            "              { \"name\": \"b\", \"run\": \"out b\", \"approval\": \"none\" } ] }");
        gated = rb_make(&f, "{ \"steps\": [ { \"name\": \"gated\", \"run\": \"gated\" } ] }");
        held = rb_make(&f, "{ \"steps\": [ { \"name\": \"held\", \"run\": \"hold\", \"approval\": \"none\" } ] }");

        /* an interrupted session: its step ran when runbookd stopped */
        s = start(&f, held, NULL);
        interrupted = s->id;
        settle(&f);
        fx_close_engine(&f);
        fx_open_engine(&f);
        fx_retention_hooks(&f);
        check_int(get(&f, interrupted)->state, SESSION_INTERRUPTED);

        done1 = run_quick(&f, quick);
        done2 = run_quick(&f, quick);
        check(keys_of(&f, DB_OUTPUT, done1) >= 3);   /* stdout in chunks, stderr */
        waiting = start(&f, gated, NULL)->id;
        /* break-glass: finished, but its review is still required */
        s = start(&f, gated, NULL);
        unreviewed = s->id;
        check_int(engine_break_glass(f.engine, &s->steps[0], as_login(BOB, BOB), "outage"), 0);
        wait_state(&f, unreviewed, SESSION_SUCCEEDED, -2, 5 * USEC_PER_SEC);
        check_int(get(&f, unreviewed)->review, REVIEW_REQUIRED);
        /* the same, reviewed: an ordinary finished session */
        s = start(&f, gated, NULL);
        reviewed = s->id;
        check_int(engine_break_glass(f.engine, &s->steps[0], as_login(BOB, BOB), "outage"), 0);
        wait_state(&f, reviewed, SESSION_SUCCEEDED, -2, 5 * USEC_PER_SEC);
        check_int(engine_review(f.engine, get(&f, reviewed), as_login(CAROL, CAROL), "fine"), 0);
        settle(&f);
        audit_before = audit_records(&f);
        check(audit_before > 0);

        /* 30 days: nothing is that old yet */
        clock_offset = 10 * DAY;
        set_policy(&f, 30, 0);
        run_pass(&f);
        check_int(removed.n, 0);
        check(in_store(&f, done1) && in_store(&f, done2));

        /* 31 days later: the finished ones go, whole; the others stay */
        clock_offset = 31 * DAY;
        run_pass(&f);
        check_int(removed.n, 3);
        check(was_removed(done1) && was_removed(done2) && was_removed(reviewed));
        for (unsigned i = 0; i < removed.n; i++)
                check_int(removed.n_steps[i], removed.ids[i] == reviewed ? 1 : 2);
        for (uint32_t id = done1; id <= done2; id++) {
                check(!in_store(&f, id));
                check_int(keys_of(&f, DB_SESSIONS, id), 0);   /* the snapshot too */
                check_int(keys_of(&f, DB_STEPS, id), 0);
                check_int(keys_of(&f, DB_OUTPUT, id), 0);
                check_int(engine_get_session(f.engine, id, &s), -ENOENT);   /* not in the cache either */
        }
        check(in_store(&f, waiting) && in_store(&f, interrupted) && in_store(&f, unreviewed));
        check_int(get(&f, waiting)->state, SESSION_WAITING_APPROVAL);
        check_int(get(&f, interrupted)->state, SESSION_INTERRUPTED);
        /* the audit records stay, all of them */
        check_int(audit_records(&f), audit_before);
        /* ids are never given again */
        check(run_quick(&f, quick) > reviewed);

        /* a policy taken away keeps everything */
        set_policy(&f, 0, 0);
        clock_offset = 400 * DAY;
        settle(&f);
        check_int(removed.n, 3);

        runbook_free(quick);
        runbook_free(gated);
        runbook_free(held);
        fx_done(&f);
}

static void test_max_sessions(void) {
        Runbook *quick, *gated;
        uint32_t ids[6], waiting;
        Fx f;

        fx_setup(&f);
        fx_retention_hooks(&f);
        clock_offset = 0;
        quick = rb_make(&f, "{ \"steps\": [ { \"name\": \"a\", \"run\": \"out a\", \"approval\": \"none\" } ] }");
        gated = rb_make(&f, "{ \"steps\": [ { \"name\": \"gated\", \"run\": \"gated\" } ] }");

        waiting = start(&f, gated, NULL)->id;   /* the oldest of all, still waiting */
        for (unsigned i = 0; i < ELEMENTSOF(ids); i++)
                ids[i] = run_quick(&f, quick);

        set_policy(&f, 0, 2);
        run_pass(&f);
        check_int(removed.n, 4);
        for (unsigned i = 0; i < 4; i++)
                check(!in_store(&f, ids[i]) && was_removed(ids[i]));
        check(in_store(&f, ids[4]) && in_store(&f, ids[5]) && in_store(&f, waiting));
        check(stored_active(&f, waiting));

        /* a session that finishes: a pass follows by itself, soon */
        uint32_t newest = start(&f, quick, NULL)->id;
        usec_t end = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;
        while (in_store(&f, ids[4])) {
                check(now_usec(CLOCK_MONOTONIC) < end);
                check(sd_event_run(f.event, 50 * USEC_PER_MSEC) >= 0);
        }
        check(in_store(&f, ids[5]) && in_store(&f, newest) && in_store(&f, waiting));
        check_int(removed.n, 5);

        /* a new policy (a Reload) is applied at once */
        set_policy(&f, 0, 1);
        run_pass(&f);
        check(!in_store(&f, ids[5]) && in_store(&f, newest) && in_store(&f, waiting));

        runbook_free(quick);
        runbook_free(gated);
        fx_done(&f);
}

/* After a restart, the policy applies from the start (engine_load kicks the first pass). */
static void test_at_start(void) {
        Runbook *quick;
        uint32_t a, b;
        Fx f;

        fx_setup(&f);
        clock_offset = 0;
        quick = rb_make(&f, "{ \"steps\": [ { \"name\": \"a\", \"run\": \"out a\", \"approval\": \"none\" } ] }");
        a = run_quick(&f, quick);
        b = run_quick(&f, quick);
        fx_close_engine(&f);

        check(store_open(f.state_dir, &f.store) == 0);
        check(engine_new(f.event, f.store, &f.engine) == 0);
        engine_set_targets(f.engine, f.targets);
        fx_retention_hooks(&f);
        set_policy(&f, 0, 1);             /* before the load, as at start-up: no pass yet */
        check_int(removed.n, 0);
        check(!f.engine->retention.running);
        check(engine_load(f.engine) == 0);
        usec_t end = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;
        while (f.engine->retention.n_passes == 0) {
                check(now_usec(CLOCK_MONOTONIC) < end);
                check(sd_event_run(f.event, 20 * USEC_PER_MSEC) >= 0);
        }
        check(!in_store(&f, a) && in_store(&f, b));
        runbook_free(quick);
        fx_done(&f);
}

int main(void) {
        fx_main_init();
        TEST(max_age);
        TEST(max_sessions);
        TEST(at_start);
        return 0;
}
