/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-engine-fixture.c: see test-engine-fixture.h. */
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "engine/test-engine-fixture.h"

/* ---- fixture ---- */

HookLog hooks;

void hooks_reset(void) {
        hooks = (HookLog) {};
        memset(hooks.announced, 0xff, sizeof hooks.announced);
}

void on_session_new(Session *s, void *userdata) {
        check(userdata == &hooks);
        check(s);
        check(engine_session_is_active(s));
        check(hooks.n_new < ELEMENTSOF(hooks.new_ids));
        hooks.new_ids[hooks.n_new++] = s->id;
}

void on_changed(Session *s, Step *st, void *userdata) {
        check(userdata == &hooks);
        check(s);
        hooks.n_changed++;
        hooks.last_changed_id = s->id;
        if (st) {
                check(st->session == s);
                check(st->index < ELEMENTSOF(hooks.last_step_states));
                hooks.last_step_states[st->index] = st->state;
                if (s->id < 8 && st->index < 8)
                        hooks.announced[s->id][st->index] = (int) st->state;
                hooks.last_changed_step = (int) st->index;
        } else {
                hooks.n_changed_session++;
                hooks.last_changed_step = -1;
        }
}

void fx_open_engine(Fx *f) {
        static const EngineHooks h = { .session_new = on_session_new, .changed = on_changed, .userdata = &hooks };

        check(store_open(f->state_dir, &f->store) == 0);
        check(engine_new(f->event, f->store, &f->engine) == 0);
        engine_set_targets(f->engine, f->targets);
        engine_set_hooks(f->engine, &h);
        check(engine_load(f->engine) == 0);
}

void fx_close_engine(Fx *f) {
        f->engine = engine_free(f->engine);
        f->store = store_free(f->store);
}

void fx_setup(Fx *f) {
        *f = (Fx) {};
        strcpy(f->dir, "/tmp/test-session-XXXXXX");
        check(mkdtemp(f->dir));
        check(asprintf_safe(&f->state_dir, "%s/state", f->dir) == 0);
        check(sd_event_new(&f->event) >= 0);
        check(target_catalog_load(NULL, NULL, &f->targets) == 0);
        check(target_catalog_find(f->targets, "local"));
        tc_use_for(f->targets);
        hooks_reset();
        fx_open_engine(f);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path) < 0 ? -1 : 0;
}

void fx_done(Fx *f) {
        fx_close_engine(f);
        /* let the loop see nothing left over */
        f->event = sd_event_unref(f->event);
        f->targets = target_catalog_free(f->targets);
        tc_reset();
        check(nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0);
        free(f->state_dir);
}

char *fx_path(const Fx *f, const char *name) {
        char *p = NULL;
        check(asprintf_safe(&p, "%s/%s", f->dir, name) == 0);
        return p;
}

/* Builds a runbook from a JSON text in which every "@D@" is the test's directory. */
Runbook *rb_make(const Fx *f, const char *tmpl) {
        _cleanup_free_ char *text = NULL, *err = NULL;
        size_t dl = strlen(f->dir), n = 0;
        json_error_t jerr;
        Runbook *rb = NULL;
        json_t *doc;
        char *o;
        int r;

        for (const char *p = tmpl; *p; p++)
                n += strncmp(p, "@D@", 3) == 0 ? dl : 1;
        text = o = malloc(n + 1);
        check(text);
        for (const char *p = tmpl; *p;)
                if (strncmp(p, "@D@", 3) == 0) {
                        memcpy(o, f->dir, dl);
                        o += dl;
                        p += 3;
                } else
                        *o++ = *p++;
        *o = 0;

        doc = json_loads(text, 0, &jerr);
        if (!doc)
                fprintf(stderr, "bad test JSON: %s: %s\n", jerr.text, text);
        check(doc);
        r = runbook_from_json(doc, "test-rb", "test-rb.json", &rb, &err);
        if (r < 0)
                fprintf(stderr, "runbook_from_json: %s\n", strna(err));
        check(r == 0);
        json_decref(doc);
        return rb;
}

const char *user_of(uid_t uid) {
        return uid == ALICE ? "alice" : uid == BOB ? "bob" : uid == CAROL ? "carol" : uid == 0 ? "root" : "someone";
}

/* The caller with this uid and no login uid (as test users started without a login are). */
const Identity *as(uid_t uid) {
        static Identity ids[4];
        static unsigned next;
        Identity *id = &ids[next++ % 4];
        *id = (Identity) { .uid = uid, .user = (char *) user_of(uid), .login_uid = UID_INVALID };
        return id;
}

/* The caller with uid 'uid' in the login session of 'login' (e.g. root through sudo). */
const Identity *as_login(uid_t uid, uid_t login) {
        static Identity ids[4];
        static unsigned next;
        Identity *id = &ids[next++ % 4];
        *id = (Identity) { .uid = uid, .user = (char *) user_of(uid), .login_uid = login,
                           .login_user = (char *) user_of(login) };
        return id;
}

Session *start(Fx *f, const Runbook *rb, const char *params_json) {
        _cleanup_free_ char *err = NULL;
        json_t *params = params_json ? json_loads(params_json, 0, NULL) : NULL;
        Session *s = NULL;
        int r;

        check(!params_json || params);
        r = engine_start_session(f->engine, rb, "TICKET-1", params, as(ALICE), &s, &err);
        if (r < 0)
                fprintf(stderr, "engine_start_session: %d %s\n", r, strna(err));
        check(r == 0);
        check(s);
        json_decref(params);
        check(store_sync(f->store) == 0);   /* as the bus layer does before it replies */
        return s;
}

int approve(Fx *f, Step *st, uid_t uid) {
        int r = engine_approve(f->engine, st, as(uid), "ok by me");
        if (r >= 0)
                check(store_sync(f->store) == 0);
        return r;
}

Session *get(Fx *f, uint32_t id) {
        Session *s = NULL;
        check(engine_get_session(f->engine, id, &s) == 0);
        check(s && s->id == id);
        return s;
}

bool reached(Fx *f, uint32_t id, SessionState state, int step) {
        Session *s = get(f, id);
        return s->state == state && (step < -1 || s->current_step == step);
}

/* Runs the loop until session 'id' is in 'state' (at 'step', unless step < -1). */
void wait_state(Fx *f, uint32_t id, SessionState state, int step, usec_t max) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + max;

        while (!reached(f, id, state, step)) {
                if (now_usec(CLOCK_MONOTONIC) >= end) {
                        Session *s = get(f, id);
                        fprintf(stderr, "session %u: state %s step %d, wanted %s step %d\n", id,
                                session_state_to_string(s->state), s->current_step,
                                session_state_to_string(state), step);
                }
                check(now_usec(CLOCK_MONOTONIC) < end);
                check(sd_event_run(f->event, 50 * USEC_PER_MSEC) >= 0);
        }
}

/* Runs the loop until nothing is ready to run: every end the test connector reported, and all
 * that follows from it, has happened. */
void settle(Fx *f) {
        int r;

        while ((r = sd_event_run(f->event, 0)) > 0)
                ;
        check(r >= 0);
}

void get_output(Fx *f, Step *st, char **out, size_t *out_n, char **err, size_t *err_n, bool *trunc) {
        uint8_t *o = NULL, *e = NULL;
        size_t on = 0, en = 0;

        check(engine_get_output(f->engine, st, &o, &on, &e, &en, trunc) == 0);
        *out = calloc(1, on + 1);
        *err = calloc(1, en + 1);
        check(*out && *err);
        if (on)
                memcpy(*out, o, on);
        if (en)
                memcpy(*err, e, en);
        free(o);
        free(e);
        if (out_n)
                *out_n = on;
        if (err_n)
                *err_n = en;
}

int count_session_cb(uint32_t id, json_t *record, void *userdata) {
        (*(unsigned *) userdata)++;
        return 0;
}

unsigned stored_sessions(Fx *f) {
        StoreTxn t;
        unsigned n = 0;

        check(store_read_begin(f->store, &t) == 0);
        check(store_foreach_session(&t, count_session_cb, &n) == 0);
        store_read_end(&t);
        return n;
}

uint64_t stored_meta(Fx *f, const char *name, uint64_t def) {
        StoreTxn t;
        uint64_t v;

        check(store_read_begin(f->store, &t) == 0);
        v = store_meta_get_u64(&t, name, def);
        store_read_end(&t);
        return v;
}

/* The session as the store has it (a fresh copy, not the engine's). */
Session *stored(Fx *f, uint32_t id) {
        Session *s = NULL;
        StoreTxn t;

        check(store_read_begin(f->store, &t) == 0);
        check(store_load_session(&t, id, &s) == 0);
        store_read_end(&t);
        return s;
}

bool stored_active(Fx *f, uint32_t id) {
        uint32_t *ids = NULL;
        size_t n = 0;
        StoreTxn t;
        bool found = false;

        check(store_read_begin(f->store, &t) == 0);
        check(store_list_active(&t, &ids, &n) == 0);
        store_read_end(&t);
        for (size_t i = 0; i < n; i++)
                found = found || ids[i] == id;
        free(ids);
        return found;
}

/* The commands the test connector ran, in order. */
void check_runs(const char *const *commands, size_t n) {
        if (tc_n_runs() != n)
                for (unsigned i = 0; i < tc_n_runs(); i++)
                        fprintf(stderr, "run %u: %s\n", i, tc_run(i)->command);
        check_int(tc_n_runs(), n);
        for (size_t i = 0; i < n; i++)
                check_streq(tc_run(i)->command, commands[i]);
}

void fx_main_init(void) {
        test_process_setup();

        /* Keep the execution records of these tests out of a journal that may be running on this
         * machine (best effort, needs privileges): with no journal socket they go nowhere. */
        if (unshare(CLONE_NEWNS) == 0 &&
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
                (void) mount("tmpfs", "/run/systemd/journal", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
}
