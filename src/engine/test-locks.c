/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-locks.c: locks between sessions (engine-lock.c): all of a session's locks taken at once
 * (two runbooks naming two locks in opposite orders cannot deadlock), first come first served
 * (a session needing two locks is not overtaken by a later one needing one of them), a group
 * step needs its locked members' locks, and after a restart holders hold and waiters wait in the
 * same order. See test-engine-fixture.h. */

#include <stdio.h>
#include <sys/stat.h>

#include "engine/test-engine-fixture.h"

/* targets a and b with "lock": true, n without, g the group of a and b */
static void locked_targets(Fx *f) {
        static const char *const files[][2] = {
                { "a", "{\"connector\": \"local\", \"lock\": true}" },
                { "b", "{\"connector\": \"local\", \"lock\": true}" },
                { "n", "{\"connector\": \"local\"}" },
                { "g", "{\"group\": [\"a\", \"b\"]}" },
        };
        _cleanup_free_ char *dir = fx_path(f, "targets");

        check(mkdir(dir, 0755) == 0);
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *path = NULL;
                FILE *o;
                check(asprintf_safe(&path, "%s/%s.json", dir, files[i][0]) == 0);
                check((o = fopen(path, "we")));
                check(fputs(files[i][1], o) >= 0);
                check(fclose(o) == 0);
        }
        f->targets = target_catalog_free(f->targets);
        check(target_catalog_load(NULL, f->dir, &f->targets) == 0);
        check(f->targets->n_broken == 0);
        tc_use_for(f->targets);
        engine_set_targets(f->engine, f->targets);
}

static TcRun *wait_run(Fx *f, uint32_t id, uint32_t step) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

        for (;;) {
                TcRun *r = tc_last(id, step);
                if (r && r->job)
                        return r;
                check(now_usec(CLOCK_MONOTONIC) < end);
                check(sd_event_run(f->event, 50 * USEC_PER_MSEC) >= 0);
        }
}

static bool locks_are(const Session *s, const char *const *names, size_t n) {
        if (strv_length(s->locks) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(s->locks[i], names[i]))
                        return false;
        return true;
}

/* A runbook taking a then b, another b then a: the first takes both at its first step, the second
 * waits for both, and runs once the first has ended — where taking each lock at its own step
 * would leave each holding one and waiting for the other for ever. */
static void test_opposite_orders(void) {
        Fx f;
        Runbook *ab, *ba;
        Session *x, *y;
        uint32_t xid, yid;

        fx_setup(&f);
        locked_targets(&f);
        ab = rb_make(&f, "{ \"steps\": [ { \"name\": \"a\", \"run\": \"hold\", \"target\": \"a\", \"approval\": \"none\" },"
                         "              { \"name\": \"b\", \"run\": \"hold\", \"target\": \"b\", \"approval\": \"none\" } ] }");
        ba = rb_make(&f, "{ \"steps\": [ { \"name\": \"b\", \"run\": \"hold\", \"target\": \"b\", \"approval\": \"none\" },"
                         "              { \"name\": \"a\", \"run\": \"hold\", \"target\": \"a\", \"approval\": \"none\" } ] }");
        x = start(&f, ab, NULL);
        xid = x->id;
        check(locks_are(x, (const char *const[]) { "target:a", "target:b" }, 2));
        y = start(&f, ba, NULL);
        yid = y->id;
        check(locks_are(y, (const char *const[]) { "target:b", "target:a" }, 2));
        tc_finish(wait_run(&f, xid, 0), 0);
        wait_run(&f, xid, 1);
        settle(&f);
        y = get(&f, yid);
        check_int(y->state, SESSION_WAITING_LOCK);
        check_int(y->current_step, 0);
        check_int(y->lock_state, SESSION_LOCK_WAITING);
        check_int(engine_lock_position(y), 1);
        check(!tc_last(yid, 0));
        tc_finish(tc_last(xid, 1), 0);
        wait_state(&f, xid, SESSION_SUCCEEDED, -1, 10 * USEC_PER_SEC);
        tc_finish(wait_run(&f, yid, 0), 0);
        tc_finish(wait_run(&f, yid, 1), 0);
        wait_state(&f, yid, SESSION_SUCCEEDED, -1, 10 * USEC_PER_SEC);
        check_int(get(&f, yid)->lock_state, SESSION_LOCK_NONE);
        runbook_free(ab);
        runbook_free(ba);
        fx_done(&f);
}

/* x holds a; y needs a and b and waits; z needs only b, which is free — but y came first, so z
 * waits behind it instead of taking b (which would let a stream of z's starve y). A session
 * needing no lock is never held up. */
static void test_no_overtaking(void) {
        Fx f;
        Runbook *ra, *rg, *rb_, *rn;
        uint32_t x, y, z, n;

        fx_setup(&f);
        locked_targets(&f);
        ra = rb_make(&f, "{ \"steps\": [ { \"name\": \"a\", \"run\": \"hold\", \"target\": \"a\", \"approval\": \"none\" } ] }");
        rg = rb_make(&f, "{ \"steps\": [ { \"name\": \"g\", \"run\": \"hold\", \"target\": \"g\", \"approval\": \"none\" } ] }");
        rb_ = rb_make(&f, "{ \"steps\": [ { \"name\": \"b\", \"run\": \"hold\", \"target\": \"b\", \"approval\": \"none\" } ] }");
        rn = rb_make(&f, "{ \"steps\": [ { \"name\": \"n\", \"run\": \"hold\", \"target\": \"n\", \"approval\": \"none\" } ] }");
        x = start(&f, ra, NULL)->id;
        wait_run(&f, x, 0);
        y = start(&f, rg, NULL)->id;
        check(locks_are(get(&f, y), (const char *const[]) { "target:a", "target:b" }, 2));
        z = start(&f, rb_, NULL)->id;
        n = start(&f, rn, NULL)->id;
        settle(&f);
        check_int(get(&f, y)->state, SESSION_WAITING_LOCK);
        check_int(get(&f, z)->state, SESSION_WAITING_LOCK);
        check_int(engine_lock_position(get(&f, y)), 1);
        check_int(engine_lock_position(get(&f, z)), 2);
        check(!get(&f, n)->locks);
        tc_finish(wait_run(&f, n, 0), 0);
        wait_state(&f, n, SESSION_SUCCEEDED, -1, 10 * USEC_PER_SEC);

        {
                EngineLock *l = NULL;
                size_t nl = 0;
                check(engine_list_locks(f.engine, &l, &nl) == 0);
                check_int(nl, 2);
                check_streq(l[0].name, "target:a");
                check_int(l[0].holder, x);
                check_int(l[0].n_waiters, 1);
                check_int(l[0].waiters[0], y);
                check_streq(l[1].name, "target:b");
                check_int(l[1].holder, 0);
                check_int(l[1].n_waiters, 2);
                check_int(l[1].waiters[0], y);
                check_int(l[1].waiters[1], z);
                engine_locks_free(l, nl);
        }

        tc_finish(tc_last(x, 0), 0);
        wait_state(&f, x, SESSION_SUCCEEDED, -1, 10 * USEC_PER_SEC);
        wait_run(&f, y, 0);
        settle(&f);
        check_int(get(&f, z)->state, SESSION_WAITING_LOCK);
        check_int(engine_lock_position(get(&f, z)), 1);
        check(!tc_last(z, 0));
        /* a group step: one run per member */
        for (unsigned i = 0; i < tc_n_runs(); i++)
                if (tc_run(i)->session_id == y && tc_run(i)->job)
                        tc_finish(tc_run(i), 0);
        wait_state(&f, y, SESSION_SUCCEEDED, -1, 10 * USEC_PER_SEC);
        tc_finish(wait_run(&f, z, 0), 0);
        wait_state(&f, z, SESSION_SUCCEEDED, -1, 10 * USEC_PER_SEC);
        runbook_free(ra);
        runbook_free(rg);
        runbook_free(rb_);
        runbook_free(rn);
        fx_done(&f);
}

/* The queue after a restart: a holder waiting for approval keeps its lock; three waiters keep
 * their order (tickets), new ones queue behind them; nothing runs until its turn. */
static void test_restart(void) {
        Fx f;
        Runbook *rb;
        uint32_t h, w[3], late;
        uint64_t tickets[3];

        fx_setup(&f);
        rb = rb_make(&f, "{ \"parameters\": { \"c\": {} }, \"lock\": \"db-{{c}}\","
                         "  \"steps\": [ { \"name\": \"s\", \"run\": \"hold\" } ] }");
        h = start(&f, rb, "{\"c\": \"main\"}")->id;
        check_int(get(&f, h)->state, SESSION_WAITING_APPROVAL);
        check_int(get(&f, h)->lock_state, SESSION_LOCK_HELD);
        for (unsigned i = 0; i < 3; i++) {
                w[i] = start(&f, rb, "{\"c\": \"main\"}")->id;
                check_int(get(&f, w[i])->state, SESSION_WAITING_LOCK);
                tickets[i] = get(&f, w[i])->lock_ticket;
                check(i == 0 || tickets[i] > tickets[i - 1]);
        }
        settle(&f);

        fx_close_engine(&f);
        fx_open_engine(&f);
        settle(&f);
        check_int(get(&f, h)->state, SESSION_WAITING_APPROVAL);
        check_int(get(&f, h)->lock_state, SESSION_LOCK_HELD);
        for (unsigned i = 0; i < 3; i++) {
                Session *s = get(&f, w[i]);
                check_int(s->state, SESSION_WAITING_LOCK);
                check_int(s->lock_ticket, tickets[i]);
                check_int(engine_lock_position(s), i + 1);
        }
        late = start(&f, rb, "{\"c\": \"main\"}")->id;
        check(get(&f, late)->lock_ticket > tickets[2]);
        check_int(engine_lock_position(get(&f, late)), 4);

        check_int(approve(&f, &get(&f, h)->steps[0], BOB), 0);
        tc_finish(wait_run(&f, h, 0), 0);
        wait_state(&f, h, SESSION_SUCCEEDED, -1, 10 * USEC_PER_SEC);
        for (unsigned i = 0; i < 3; i++) {
                wait_state(&f, w[i], SESSION_WAITING_APPROVAL, 0, 10 * USEC_PER_SEC);
                check_int(get(&f, w[i])->lock_state, SESSION_LOCK_HELD);
                for (unsigned j = i + 1; j < 3; j++)
                        check_int(get(&f, w[j])->state, SESSION_WAITING_LOCK);
                check_int(approve(&f, &get(&f, w[i])->steps[0], BOB), 0);
                tc_finish(wait_run(&f, w[i], 0), 0);
                wait_state(&f, w[i], SESSION_SUCCEEDED, -1, 10 * USEC_PER_SEC);
        }
        wait_state(&f, late, SESSION_WAITING_APPROVAL, 0, 10 * USEC_PER_SEC);
        check_int(tc_count("hold"), 4);
        runbook_free(rb);
        fx_done(&f);
}

int main(void) {
        fx_main_init();

        TEST(opposite_orders);
        TEST(no_overtaking);
        TEST(restart);
        return 0;
}
