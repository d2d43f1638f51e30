/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-store-records.c: session, step and host records, and the walks over them, each case in
 * its own mkdtemp directory. Output: test-store-output.c. */

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include "store/test-store-fixture.h"

/* ---- records ---- */

static void approval_set(Approval *a, uid_t uid, const char *user, bool approve, usec_t time,
                         const char *comment, const char *digest, unsigned attempt) {
        *a = (Approval) {
                .uid = uid,
                .user = strdup(user),
                .login_uid = UID_INVALID,
                .approve = approve,
                .time = time,
                .comment = strdup(comment),
                .digest = strdup(digest),
                .attempt = attempt,
        };
        check(a->user && a->comment && a->digest);
}

static void step_set(Session *s, size_t i, const char *name, StepPhase phase, const char *command,
                     bool requires_approval, unsigned approvers, StepState state) {
        Step *st = &s->steps[i];

        st->session = s;
        st->index = (uint32_t) i;
        st->name = strdup(name);
        st->phase = phase;
        st->command = strdup(command);
        st->target = strdup("local");
        st->connector = strdup("local");
        check(st->name && st->command && st->target && st->connector);
        st->requires_approval = requires_approval;
        st->approvals_required = approvers;
        st->timeout_usec = (usec_t) (10 + i) * USEC_PER_SEC;
        st->expect_exit = (int) i;
        st->state = state;
        st->exit_status = -1;
        st->attempt = 1;
        check(step_compute_digest(st->connector, st->target, NULL, st->command, &st->digest) == 0);
        check(strlen(st->digest) == 64);
}

/* A session of four steps, by hand, with every kind of field set. */
static Session *make_session(uint32_t id, SessionState state) {
        Session *s;
        Step *st;
        json_error_t err;

        s = calloc(1, sizeof(Session));
        check(s);
        s->id = id;
        s->runbook = strdup("restart-web");
        s->reference = strdup("TICKET-42");
        s->creator_name = strdup("alice");
        s->parameters = json_pack("{s:s,s:s}", "service", "nginx", "odd", "it's \"quoted\"\n");
        s->snapshot = json_loads("{\"description\":\"d\",\"steps\":[{\"name\":\"a\",\"run\":\"true\"}],"
                                 "\"parameters\":{\"service\":{\"default\":\"nginx\"}}}", 0, &err);
        check(s->runbook && s->reference && s->creator_name && s->parameters && s->snapshot);
        s->state = state;
        s->creator_uid = 1000;
        /* even ids: alice logged in as herself; odd: no login uid */
        s->creator_login_uid = id % 2 ? UID_INVALID : 1000;
        s->creator_login_name = id % 2 ? NULL : strdup("alice");
        check(id % 2 || s->creator_login_name);
        s->created_at = UINT64_C(1700000000123456);
        s->finished_at = 0;
        s->current_step = 2;
        s->error = NULL;
        s->n_steps = 4;
        s->steps = calloc(s->n_steps, sizeof(Step));
        check(s->steps);

        step_set(s, 0, "disk space", PHASE_PRECHECK, "df -h /", false, 1, STEP_SUCCEEDED);
        st = &s->steps[0];
        st->exit_status = 0;
        st->started_at = UINT64_C(1700000000200000);
        st->finished_at = UINT64_C(1700000000300000);

        step_set(s, 1, "restart", PHASE_MAIN, "systemctl restart 'nginx'", true, 2, STEP_FAILED);
        st = &s->steps[1];
        st->exit_status = 3;
        st->signal = 0;
        st->waiting_since = UINT64_C(1700000000310000);
        st->started_at = UINT64_C(1700000000400000);
        st->finished_at = UINT64_C(1700000000500000);
        st->attempt = 2;
        st->error = strdup("exit status 3, expected 1");
        st->truncated = true;
        st->n_approvals = 3;
        st->approvals = calloc(3, sizeof(Approval));
        check(st->approvals && st->error);
        approval_set(&st->approvals[0], 0, "root", true, UINT64_C(1700000000320000), "looks fine", st->digest, 1);
        st->approvals[0].login_uid = 1001; /* bob, through sudo */
        st->approvals[0].login_user = strdup("bob");
        check(st->approvals[0].login_user);
        approval_set(&st->approvals[1], 1002, "carol", false, UINT64_C(1700000000330000), "", st->digest, 1);
        approval_set(&st->approvals[2], 1001, "bob", true, UINT64_C(1700000000340000), "ünïcode ✓", "0000", 2);

        step_set(s, 2, "wait", PHASE_MAIN, "sleep 1", true, 1, STEP_TIMED_OUT);
        st = &s->steps[2];
        st->signal = SIGKILL;
        st->error = strdup("timed out after 12s");
        check(st->error);

        step_set(s, 3, "is active", PHASE_POSTCHECK, "systemctl is-active 'nginx'", false, 1, STEP_PENDING);
        return s;
}

typedef struct SaveCtx {
        Session *s;
        const Step *step;         /* only this step's record */
        bool all;                 /* a new session: everything */
} SaveCtx;

static int save_fn(StoreTxn *t, void *userdata) {
        SaveCtx *c = userdata;

        if (c->step) {
                store_save_step(t, c->step);
                return 0;
        }
        store_save_session(t, c->s, c->all);
        for (size_t i = 0; c->all && i < c->s->n_steps; i++) {
                store_save_step(t, &c->s->steps[i]);
                for (size_t h = 0; h < c->s->steps[i].n_hosts; h++)
                        store_save_host(t, &c->s->steps[i].hosts[h]);
        }
        return 0;
}

/* save(st, s, true): a new session, all of it; save(st, s, false): the session record. */
static void save(Store *st, Session *s, bool all) {
        SaveCtx c = { .s = s, .all = all };
        check(store_write(st, save_fn, &c) == 0);
}

/* A new session saved whole, for the cases that only read it back. */
static void save_new_session(Store *st, uint32_t id, SessionState state) {
        Session *s = make_session(id, state);
        save(st, s, true);
        session_free(s);
}

static void save_step(Store *st, const Step *step) {
        SaveCtx c = { .step = step };
        check(store_write(st, save_fn, &c) == 0);
}

static Session *load(Store *st, uint32_t id, int expect) {
        Session *s = NULL;
        StoreTxn t;

        check(store_read_begin(st, &t) == 0);
        check_int(store_load_session(&t, id, &s), expect);
        store_read_end(&t);
        check(expect == 0 ? s != NULL : s == NULL);
        return s;
}

static void check_same_step(const Step *a, const Step *b, const Session *bs) {
        check(b->session == bs);
        check_int(a->index, b->index);
        check_streq(a->name, b->name);
        check_int(a->phase, b->phase);
        check_streq(a->command, b->command);
        check_streq(a->target, b->target);
        check_streq(a->connector, b->connector);
        check_int(a->requires_approval, b->requires_approval);
        check_int(a->approvals_required, b->approvals_required);
        check_int(a->timeout_usec, b->timeout_usec);
        check_int(a->expect_exit, b->expect_exit);
        check_int(a->state, b->state);
        check_int(a->exit_status, b->exit_status);
        check_int(a->signal, b->signal);
        check_int(a->waiting_since, b->waiting_since);
        check_int(a->started_at, b->started_at);
        check_int(a->finished_at, b->finished_at);
        check_streq(a->digest, b->digest);
        check_int(a->attempt, b->attempt);
        check(streq_ptr(a->error, b->error));
        check_int(a->truncated, b->truncated);
        check(a->remote ? json_equal(a->remote, b->remote) : !b->remote);
        check_int(a->n_approvals, b->n_approvals);
        for (size_t i = 0; i < a->n_approvals; i++) {
                const Approval *x = &a->approvals[i], *y = &b->approvals[i];
                check_int(x->uid, y->uid);
                check_streq(x->user, y->user);
                check_int(x->login_uid, y->login_uid);
                check(streq_ptr(x->login_user, y->login_user));
                check_int(x->approve, y->approve);
                check_int(x->time, y->time);
                check_streq(x->comment, y->comment);
                check_streq(x->digest, y->digest);
                check_int(x->attempt, y->attempt);
        }
        check_int(step_count_approvals(a), step_count_approvals(b));
}

static void check_same_session(const Session *a, const Session *b) {
        check_int(a->id, b->id);
        check_streq(a->runbook, b->runbook);
        check_streq(a->reference, b->reference);
        check(json_equal(a->parameters, b->parameters));
        check(json_equal(a->snapshot, b->snapshot));
        check_int(a->state, b->state);
        check_int(a->creator_uid, b->creator_uid);
        check_streq(a->creator_name, b->creator_name);
        check_int(a->creator_login_uid, b->creator_login_uid);
        check(streq_ptr(a->creator_login_name, b->creator_login_name));
        check_int(a->created_at, b->created_at);
        check_int(a->finished_at, b->finished_at);
        check_int(a->current_step, b->current_step);
        check(streq_ptr(a->error, b->error));
        check(!b->runtime);
        check_int(a->n_steps, b->n_steps);
        for (size_t i = 0; i < a->n_steps; i++)
                check_same_step(&a->steps[i], &b->steps[i], b);
}

static void list_active(Store *st, uint32_t **ids, size_t *n) {
        StoreTxn t;

        check(store_read_begin(st, &t) == 0);
        check(store_list_active(&t, ids, n) == 0);
        store_read_end(&t);
}

static void test_session_roundtrip(void) {
        StoreFx f = {};
        Session *s, *l;

        store_fx_setup(&f);

        check(!load(f.store, 7, -ENOENT));

        s = make_session(7, SESSION_RUNNING);
        save(f.store, s, true);

        l = load(f.store, 7, 0);
        check_same_session(s, l);
        check(l->reference && streq(l->reference, "TICKET-42"));
        check(!l->steps[0].error);
        session_free(l);

        /* a finished session with an error string; across a reopen */
        s->state = SESSION_FAILED;
        s->finished_at = UINT64_C(1700000000600000);
        s->current_step = 1;
        s->error = strdup("main 1 (restart) failed: exit status 3, expected 1");
        check(s->error);
        s->steps[1].retries = 3;
        s->steps[1].retries_done = 1;
        s->steps[1].retry_delay_usec = 5 * USEC_PER_SEC;
        s->steps[2].retries = 1;
        s->steps[2].state = STEP_WAITING_RETRY;
        s->steps[2].retry_at = UINT64_C(1700000000700000);
        save(f.store, s, false);
        save_step(f.store, &s->steps[1]);
        save_step(f.store, &s->steps[2]);

        store_fx_reopen(&f);
        l = load(f.store, 7, 0);
        check_same_session(s, l);
        check_streq(l->error, "main 1 (restart) failed: exit status 3, expected 1");
        check_int(l->steps[1].n_approvals, 3);
        check_int(l->steps[1].approvals[1].approve, false);
        check_streq(l->steps[1].approvals[2].comment, "ünïcode ✓");
        check_int(step_count_approvals(&l->steps[1]), 1);   /* attempt 2: one approval */
        check_int(l->steps[1].retries, 3);
        check_int(l->steps[1].retries_done, 1);
        check_int(l->steps[1].retry_delay_usec, 5 * USEC_PER_SEC);
        check_int(l->steps[1].retry_at, 0);
        check_int(l->steps[2].state, STEP_WAITING_RETRY);
        check_int(l->steps[2].retry_at, UINT64_C(1700000000700000));
        check_int(l->steps[0].retries, 0);
        check(step_approved_by(&l->steps[1], 1001));
        check(!step_approved_by(&l->steps[1], 1002));
        session_free(l);

        session_free(s);
        store_fx_done(&f);
}

/* Decoding trusts a record no further than its key and the engine's bounds: a step record that
 * claims another index than its key, and fields out of range, make the session unloadable
 * (-EBADMSG) instead of being used as array indices or counts. */
typedef struct CorruptCtx {
        uint32_t id, key_index;
        const char *field;
        json_t *value;
        bool session_record;
} CorruptCtx;

static int corrupt_fn(StoreTxn *t, void *userdata) {
        CorruptCtx *c = userdata;
        _cleanup_(json_decrefp) json_t *j = NULL;
        uint8_t k[8];

        k[0] = (uint8_t) (c->id >> 24); k[1] = (uint8_t) (c->id >> 16); k[2] = (uint8_t) (c->id >> 8); k[3] = (uint8_t) c->id;
        k[4] = (uint8_t) (c->key_index >> 24); k[5] = (uint8_t) (c->key_index >> 16);
        k[6] = (uint8_t) (c->key_index >> 8); k[7] = (uint8_t) c->key_index;
        check(store_get_json(t, c->session_record ? DB_SESSIONS : DB_STEPS, k, c->session_record ? 4 : 8, &j) == 0);
        check(json_object_set(j, c->field, c->value) == 0);
        store_put_json(t, c->session_record ? DB_SESSIONS : DB_STEPS, k, c->session_record ? 4 : 8, j);
        return 0;
}

static void test_corrupt_records(void) {
        static const struct {
                bool session_record;
                uint32_t key_index;
                const char *field;
                const char *value;   /* JSON */
        } cases[] = {
                { false, 1, "index", "3" },                  /* step 1's record says it is step 3 */
                { false, 1, "index", "99" },
                { false, 0, "approvals_required", "0" },
                { false, 0, "approvals_required", "1000" },
                { false, 2, "exit_status", "4096" },
                { false, 2, "signal", "-5" },
                { false, 3, "attempt", "0" },
                { false, 0, "state", "\"bogus\"" },
                { false, 0, "hosts", "-1" },
                { false, 0, "retries", "26" },
                { false, 0, "retries_done", "1" },           /* more than its retries (none) */
                { false, 0, "retry_delay_usec", "-1" },
                { false, 0, "state", "\"waiting_retry\"" }, /* waiting, but for no time */
                { true, 0, "current_step", "4" },            /* four steps: 0..3 */
                { true, 0, "current_step", "-7" },
                { true, 0, "n_steps", "100000" },
                { true, 0, "creator_login_uid", "-1" },
                { true, 0, "creator_login_uid", "4294967295" },
                { true, 0, "creator_login_uid", "5" },       /* a login uid with no name */
                { true, 0, "creator_login_name", "\"x\"" },  /* a name with no login uid */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                StoreFx f = {};
                Session *s, *l;
                CorruptCtx c = { 7, cases[i].key_index, cases[i].field, NULL, cases[i].session_record };

                store_fx_setup(&f);
                s = make_session(7, SESSION_RUNNING);
                save(f.store, s, true);
                l = load(f.store, 7, 0);       /* as written it loads */
                session_free(l);
                c.value = json_loads(cases[i].value, JSON_DECODE_ANY, NULL);
                check(c.value);
                check(store_write(f.store, corrupt_fn, &c) == 0);
                fprintf(stderr, "   %s record, %s = %s: refused\n", cases[i].session_record ? "session" : "step",
                        cases[i].field, cases[i].value);
                check(!load(f.store, 7, -EBADMSG));
                json_decref(c.value);
                session_free(s);
                store_fx_done(&f);
        }
}

/* A step's remote handle ("remote"): written before a remote run is created, read back as it
 * was (across a reopen), dropped when cleared; records without it load with none. */
static void test_step_remote(void) {
        StoreFx f = {};
        Session *s, *l;
        json_t *h;

        store_fx_setup(&f);

        s = make_session(9, SESSION_RUNNING);
        save(f.store, s, true);
        l = load(f.store, 9, 0);
        for (size_t i = 0; i < l->n_steps; i++)
                check(!l->steps[i].remote);
        session_free(l);

        h = json_pack("{s:s,s:s,s:s,s:s,s:I}", "connector", "azure", "api", "managed",
                      "name", "runbookd-9-1-a2-0badcafe",
                      "url", "https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/"
                             "Microsoft.Compute/virtualMachines/vm/runCommands/runbookd-9-1-a2-0badcafe",
                      "created_at", (json_int_t) UINT64_C(1700000000700000));
        check(h);
        s->steps[1].state = STEP_RUNNING;
        s->steps[1].remote = h;
        save_step(f.store, &s->steps[1]);

        store_fx_reopen(&f);
        l = load(f.store, 9, 0);
        check_same_session(s, l);
        check(l->steps[1].remote && l->steps[1].remote != h);
        check_streq(json_string_value(json_object_get(l->steps[1].remote, "name")), "runbookd-9-1-a2-0badcafe");
        check_int(json_integer_value(json_object_get(l->steps[1].remote, "created_at")), UINT64_C(1700000000700000));
        check(!l->steps[0].remote);
        session_free(l);

        /* a new attempt clears it */
        json_decref(s->steps[1].remote);
        s->steps[1].remote = NULL;
        save_step(f.store, &s->steps[1]);
        l = load(f.store, 9, 0);
        check(!l->steps[1].remote);
        check_same_session(s, l);
        session_free(l);

        session_free(s);
        store_fx_done(&f);
}

/* Each save writes its own record and nothing else (what changed is the engine's business). */
static void test_save_parts(void) {
        StoreFx f = {};
        Session *s, *l;

        store_fx_setup(&f);

        s = make_session(3, SESSION_WAITING_APPROVAL);
        save(f.store, s, true);
        s->steps[3].state = STEP_RUNNING;
        s->current_step = 3;

        /* a step's record, not the session's */
        save_step(f.store, &s->steps[3]);
        l = load(f.store, 3, 0);
        check_int(l->steps[3].state, STEP_RUNNING);
        check_int(l->current_step, 2);
        session_free(l);

        /* the session's record, not its steps' */
        s->steps[2].state = STEP_SUCCEEDED;
        save(f.store, s, false);
        l = load(f.store, 3, 0);
        check_int(l->current_step, 3);
        check_int(l->steps[2].state, STEP_TIMED_OUT);
        session_free(l);

        /* forced: everything */
        save(f.store, s, true);
        l = load(f.store, 3, 0);
        check_same_session(s, l);
        session_free(l);

        session_free(s);
        store_fx_done(&f);
}

static void test_list_active(void) {
        StoreFx f = {};
        Session *s[4];
        uint32_t *ids = NULL;
        size_t n = 99;

        store_fx_setup(&f);

        list_active(f.store, &ids, &n);
        check_int(n, 0);
        free(ids);

        /* saved out of order; listed ascending */
        s[0] = make_session(300, SESSION_WAITING_APPROVAL);
        s[1] = make_session(2, SESSION_RUNNING);
        s[2] = make_session(1000, SESSION_INTERRUPTED);   /* not final: waits for retry or cancel */
        s[3] = make_session(5, SESSION_SUCCEEDED);
        for (size_t i = 0; i < 4; i++)
                save(f.store, s[i], true);

        list_active(f.store, &ids, &n);
        check_int(n, 3);
        check_int(ids[0], 2);
        check_int(ids[1], 300);
        check_int(ids[2], 1000);
        free(ids);

        /* each final state takes it out; created is active */
        static const SessionState finals[] = { SESSION_FAILED, SESSION_REJECTED, SESSION_CANCELLED };
        for (size_t i = 0; i < 3; i++) {
                s[i]->state = finals[i];
                save(f.store, s[i], false);
        }
        /* no transition leaves a final state; the key is written with a new session ('force')
         * and not again on later transitions */
        s[3]->state = SESSION_CREATED;
        save(f.store, s[3], false);
        list_active(f.store, &ids, &n);
        check_int(n, 0);
        free(ids);
        save(f.store, s[3], true);

        list_active(f.store, &ids, &n);
        check_int(n, 1);
        check_int(ids[0], 5);
        free(ids);

        /* a session record written again while final stays inactive */
        save(f.store, s[0], false);
        list_active(f.store, &ids, &n);
        check_int(n, 1);
        free(ids);

        /* many: more than the first allocation */
        for (uint32_t id = 2000; id < 2100; id++)
                save_new_session(f.store, id, SESSION_WAITING_APPROVAL);
        list_active(f.store, &ids, &n);
        check_int(n, 101);
        check_int(ids[0], 5);
        for (size_t i = 1; i < n; i++)
                check_int(ids[i], 2000 + i - 1);
        free(ids);

        for (size_t i = 0; i < 4; i++)
                session_free(s[i]);
        store_fx_done(&f);
}

typedef struct SessionsSeen {
        uint32_t ids[16];
        char *states[16];
        size_t n, stop_after;
} SessionsSeen;

static int sessions_cb(uint32_t id, json_t *record, void *userdata) {
        SessionsSeen *c = userdata;

        check(c->n < ELEMENTSOF(c->ids));
        check_int(json_integer_value(json_object_get(record, "id")), id);
        c->ids[c->n] = id;
        c->states[c->n] = strdup(json_string_value(json_object_get(record, "state")));
        check(c->states[c->n]);
        c->n++;
        return c->stop_after > 0 && c->n >= c->stop_after ? 1 : 0;
}

static void sessions_clear(SessionsSeen *c) {
        for (size_t i = 0; i < c->n; i++)
                free(c->states[i]);
        *c = (SessionsSeen) {};
}

static void foreach_sessions(Store *st, SessionsSeen *c) {
        StoreTxn t;

        check(store_read_begin(st, &t) == 0);
        check(store_foreach_session(&t, sessions_cb, c) == 0);
        store_read_end(&t);
}

static void test_foreach_session(void) {
        StoreFx f = {};
        SessionsSeen c = {};
        static const uint32_t ids[] = { 1, 2, 3, 256, 70000 };

        store_fx_setup(&f);

        foreach_sessions(f.store, &c);
        check_int(c.n, 0);

        for (size_t i = 0; i < ELEMENTSOF(ids); i++)
                save_new_session(f.store, ids[i], i % 2 ? SESSION_SUCCEEDED : SESSION_WAITING_APPROVAL);

        foreach_sessions(f.store, &c);
        check_int(c.n, ELEMENTSOF(ids));
        for (size_t i = 0; i < c.n; i++) {
                size_t j = ELEMENTSOF(ids) - 1 - i;
                check_int(c.ids[i], ids[j]);
                check_streq(c.states[i], j % 2 ? "succeeded" : "waiting_approval");
        }
        sessions_clear(&c);

        c.stop_after = 2;
        foreach_sessions(f.store, &c);
        check_int(c.n, 2);
        check_int(c.ids[0], 70000);
        check_int(c.ids[1], 256);
        sessions_clear(&c);

        store_fx_done(&f);
}

typedef struct WalkSeen {
        uint32_t ids[16];
        SessionState states[16];
        size_t n, stop_after;
} WalkSeen;

static int walk_cb(const SessionSummary *sum, void *userdata) {
        WalkSeen *c = userdata;

        check(c->n < ELEMENTSOF(c->ids));
        check_streq(sum->runbook, "restart-web");
        check_streq(sum->reference, "TICKET-42");
        check_streq(sum->creator_name, "alice");
        check_int(sum->creator_uid, 1000);
        check_int(sum->current_step, 2);
        check_int(sum->created_at, UINT64_C(1700000000123456));
        c->ids[c->n] = sum->id;
        c->states[c->n++] = sum->state;
        return c->stop_after > 0 && c->n >= c->stop_after ? 1 : 0;
}

static uint32_t walk(Store *st, uint32_t before, size_t max_read, WalkSeen *c) {
        uint32_t next = 12345;
        StoreTxn t;

        check(store_read_begin(st, &t) == 0);
        check_int(store_walk_sessions(&t, before, max_read, walk_cb, c, &next), 0);
        store_read_end(&t);
        return next;
}

/* store_walk_sessions(): newest first, from below a cursor, at most max_read records a call,
 * and the cursor to go on from (0 at the oldest); resumed, it sees each session once. */
static void test_walk_sessions(void) {
        static const uint32_t ids[] = { 1, 2, 3, 256, 70000 };
        StoreFx f = {};
        WalkSeen c = {};

        store_fx_setup(&f);
        check_int(walk(f.store, 0, 100, &c), 0);
        check_int(c.n, 0);

        for (size_t i = 0; i < ELEMENTSOF(ids); i++)
                save_new_session(f.store, ids[i], i % 2 ? SESSION_SUCCEEDED : SESSION_WAITING_APPROVAL);

        /* all, newest first, with their states (snapshot keys are not sessions) */
        check_int(walk(f.store, 0, 100, &c), 0);
        check_int(c.n, ELEMENTSOF(ids));
        for (size_t i = 0; i < c.n; i++) {
                size_t j = ELEMENTSOF(ids) - 1 - i;
                check_int(c.ids[i], ids[j]);
                check_int(c.states[i], j % 2 ? SESSION_SUCCEEDED : SESSION_WAITING_APPROVAL);
        }

        /* below a cursor: an id that exists, one that does not, one above them all */
        c = (WalkSeen) {};
        check_int(walk(f.store, 256, 100, &c), 0);
        check_int(c.n, 3);
        check_int(c.ids[0], 3);
        c = (WalkSeen) {};
        check_int(walk(f.store, 200, 100, &c), 0);
        check_int(c.n, 3);
        check_int(c.ids[0], 3);
        c = (WalkSeen) {};
        check_int(walk(f.store, 100000, 100, &c), 0);
        check_int(c.n, 5);
        c = (WalkSeen) {};
        check_int(walk(f.store, 1, 100, &c), 0);
        check_int(c.n, 0);

        /* the callback stops it: go on below the last one it took */
        c = (WalkSeen) { .stop_after = 2 };
        check_int(walk(f.store, 0, 100, &c), 256);
        check_int(c.n, 2);

        /* at most max_read records a call; resumed from the cursor, each one once */
        uint32_t next = 0, seen[8];
        size_t n_seen = 0, calls = 0;
        do {
                c = (WalkSeen) {};
                next = walk(f.store, next, 2, &c);
                check(c.n <= 2);
                for (size_t i = 0; i < c.n; i++)
                        seen[n_seen++] = c.ids[i];
                calls++;
        } while (next != 0 && calls < 10);
        check_int(next, 0);
        check_int(calls, 3);
        check_int(n_seen, ELEMENTSOF(ids));
        for (size_t i = 0; i < n_seen; i++)
                check_int(seen[i], ids[ELEMENTSOF(ids) - 1 - i]);

        store_fx_done(&f);
}

int main(void) {
        TEST(session_roundtrip);
        TEST(corrupt_records);
        TEST(walk_sessions);
        TEST(step_remote);
        TEST(save_parts);
        TEST(list_active);
        TEST(foreach_session);
        return 0;
}
