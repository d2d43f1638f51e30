/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-session.c: the engine's session and step state machines, driving the real local connector
 * on a real sd-event loop, with a real store in a mkdtemp directory. */

#undef NDEBUG
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "config/runbook.h"
#include "config/target.h"
#include "connector/connector.h"
#include "engine/engine.h"
#include "engine/engine-internal.h" /* white box: jobs and runtime */
#include "store/start-log.h"
#include "shared/tests.h"
#include "store/store-records.h"

#define ALICE 1000   /* creates the sessions */
#define BOB 1001
#define CAROL 1002

/* ---- fixture ---- */

typedef struct Fx {
        char dir[64];
        char *state_dir;
        sd_event *event;
        TargetCatalog *targets;
        Store *store;
        Engine *engine;
} Fx;

typedef struct HookLog {
        unsigned n_new;
        uint32_t new_ids[64];
        unsigned n_changed, n_changed_session;
        uint32_t last_changed_id;
        int last_changed_step;            /* -1: the session itself */
        StepState last_step_states[64];   /* state of each step index at its last 'changed' */
        int announced[8][8];              /* [session id][step]: state at its last 'changed', or -1 */
} HookLog;

static HookLog hooks;

static void hooks_reset(void) {
        hooks = (HookLog) {};
        memset(hooks.announced, 0xff, sizeof hooks.announced);
}

static void on_session_new(Session *s, void *userdata) {
        check(userdata == &hooks);
        check(s);
        check(engine_session_is_active(s));
        check(hooks.n_new < ELEMENTSOF(hooks.new_ids));
        hooks.new_ids[hooks.n_new++] = s->id;
}

static void on_changed(Session *s, Step *st, void *userdata) {
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

static void fx_open_engine(Fx *f) {
        static const EngineHooks h = { .session_new = on_session_new, .changed = on_changed, .userdata = &hooks };

        check(store_open(f->state_dir, &f->store) == 0);
        check(engine_new(f->event, f->store, &f->engine) == 0);
        engine_set_targets(f->engine, f->targets);
        engine_set_hooks(f->engine, &h);
        check(engine_load(f->engine) == 0);
}

static void fx_close_engine(Fx *f) {
        f->engine = engine_free(f->engine);
        f->store = store_free(f->store);
}

static void fx_setup(Fx *f) {
        *f = (Fx) {};
        strcpy(f->dir, "/tmp/test-session-XXXXXX");
        check(mkdtemp(f->dir));
        check(asprintf_safe(&f->state_dir, "%s/state", f->dir) == 0);
        check(sd_event_new(&f->event) >= 0);
        check(target_catalog_load(NULL, NULL, &f->targets) == 0);
        check(target_catalog_find(f->targets, "local"));
        hooks_reset();
        fx_open_engine(f);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path) < 0 ? -1 : 0;
}

static void fx_done(Fx *f) {
        fx_close_engine(f);
        /* let the loop see nothing left over */
        f->event = sd_event_unref(f->event);
        f->targets = target_catalog_free(f->targets);
        check(nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0);
        free(f->state_dir);
}

static char *fx_path(const Fx *f, const char *name) {
        char *p = NULL;
        check(asprintf_safe(&p, "%s/%s", f->dir, name) == 0);
        return p;
}

/* Builds a runbook from a JSON text in which every "@D@" is the test's directory. */
static Runbook *rb_make(const Fx *f, const char *tmpl) {
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

static const char *user_of(uid_t uid) {
        return uid == ALICE ? "alice" : uid == BOB ? "bob" : uid == CAROL ? "carol" : uid == 0 ? "root" : "someone";
}

/* The caller with this uid and no login uid (as test users started without a login are). */
static const Identity *as(uid_t uid) {
        static Identity ids[4];
        static unsigned next;
        Identity *id = &ids[next++ % 4];
        *id = (Identity) { .uid = uid, .user = (char *) user_of(uid), .login_uid = UID_INVALID };
        return id;
}

/* The caller with uid 'uid' in the login session of 'login' (e.g. root through sudo). */
static const Identity *as_login(uid_t uid, uid_t login) {
        static Identity ids[4];
        static unsigned next;
        Identity *id = &ids[next++ % 4];
        *id = (Identity) { .uid = uid, .user = (char *) user_of(uid), .login_uid = login,
                           .login_user = (char *) user_of(login) };
        return id;
}

static Session *start(Fx *f, const Runbook *rb, const char *params_json) {
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

static int approve(Fx *f, Step *st, uid_t uid) {
        int r = engine_approve(f->engine, st, as(uid), "ok by me");
        if (r >= 0)
                check(store_sync(f->store) == 0);
        return r;
}

static Session *get(Fx *f, uint32_t id) {
        Session *s = NULL;
        check(engine_get_session(f->engine, id, &s) == 0);
        check(s && s->id == id);
        return s;
}

static bool reached(Fx *f, uint32_t id, SessionState state, int step) {
        Session *s = get(f, id);
        return s->state == state && (step < -1 || s->current_step == step);
}

/* Runs the loop until session 'id' is in 'state' (at 'step', unless step < -1). */
static void wait_state(Fx *f, uint32_t id, SessionState state, int step, usec_t max) {
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

/* Runs the loop until the step's command is done (the step pointer must stay valid). */
static void wait_no_job(Fx *f, Step *st, usec_t max) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + max;

        while (step_rt(st)->job) {
                check(now_usec(CLOCK_MONOTONIC) < end);
                check(sd_event_run(f->event, 50 * USEC_PER_MSEC) >= 0);
        }
}

static void run_for(Fx *f, usec_t usec) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + usec, n;

        while ((n = now_usec(CLOCK_MONOTONIC)) < end)
                check(sd_event_run(f->event, end - n) >= 0);
}

static int count_lines(const char *path);

/* Runs the loop until 'path' has at least n lines (commands write there as they run). */
static void wait_lines(Fx *f, const char *path, int n, usec_t max) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + max;

        while (count_lines(path) < n) {
                check(now_usec(CLOCK_MONOTONIC) < end);
                check(sd_event_run(f->event, 10 * USEC_PER_MSEC) >= 0);
        }
}

static int touch(const char *path) {
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        return fd < 0 ? -errno : close(fd);
}

/* Lines in a file; -1 if it does not exist. */
static int count_lines(const char *path) {
        FILE *fp = fopen(path, "re");
        int c, n = 0;

        if (!fp) {
                check(errno == ENOENT);
                return -1;
        }
        while ((c = fgetc(fp)) != EOF)
                if (c == '\n')
                        n++;
        fclose(fp);
        return n;
}

static char *read_file_str(const char *path) {
        FILE *fp = fopen(path, "re");
        char *buf = NULL;
        size_t n = 0;

        if (!fp)
                return NULL;
        check(getdelim(&buf, &n, 0, fp) >= 0 || feof(fp));
        fclose(fp);
        return buf;
}

static bool file_exists(const Fx *f, const char *name) {
        _cleanup_free_ char *p = fx_path(f, name);
        return access(p, F_OK) == 0;
}

/* Waits until a file holds a pid (a line written by the command), and returns it. */
static pid_t wait_pid_file(Fx *f, const char *name) {
        _cleanup_free_ char *p = fx_path(f, name);
        usec_t end = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

        for (;;) {
                if (count_lines(p) >= 1) {
                        _cleanup_free_ char *s = read_file_str(p);
                        int pid = s ? atoi(s) : 0;
                        check(pid > 1);
                        return (pid_t) pid;
                }
                check(now_usec(CLOCK_MONOTONIC) < end);
                check(sd_event_run(f->event, 20 * USEC_PER_MSEC) >= 0);
        }
}

/* The process is gone: orphans are reparented to us (a subreaper), so reap them here. */
static void check_gone(pid_t pid) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + 5 * USEC_PER_SEC;

        for (;;) {
                pid_t r = waitpid(pid, NULL, WNOHANG);
                if (r == pid)
                        break;
                if (r < 0 && errno == ECHILD && kill(pid, 0) < 0 && errno == ESRCH)
                        break;
                check(now_usec(CLOCK_MONOTONIC) < end);
                usleep(10 * 1000);
        }
        check(kill(pid, 0) < 0 && errno == ESRCH);
}

static void get_output(Fx *f, Step *st, char **out, size_t *out_n, char **err, size_t *err_n, bool *trunc) {
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

static int count_session_cb(uint32_t id, json_t *record, void *userdata) {
        (*(unsigned *) userdata)++;
        return 0;
}

static unsigned stored_sessions(Fx *f) {
        StoreTxn t;
        unsigned n = 0;

        check(store_read_begin(f->store, &t) == 0);
        check(store_foreach_session(&t, count_session_cb, &n) == 0);
        store_read_end(&t);
        return n;
}

static uint64_t stored_meta(Fx *f, const char *name, uint64_t def) {
        StoreTxn t;
        uint64_t v;

        check(store_read_begin(f->store, &t) == 0);
        v = store_meta_get_u64(&t, name, def);
        store_read_end(&t);
        return v;
}

/* The session as the store has it (a fresh copy, not the engine's). */
static Session *stored(Fx *f, uint32_t id) {
        Session *s = NULL;
        StoreTxn t;

        check(store_read_begin(f->store, &t) == 0);
        check(store_load_session(&t, id, &s) == 0);
        store_read_end(&t);
        return s;
}

static bool stored_active(Fx *f, uint32_t id) {
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

/* ---- cases ---- */

static const char scenario_json[] =
        "{ \"parameters\": { \"svc\": { \"default\": \"web\", \"pattern\": \"^[a-z]+$\" } },"
        "  \"prechecks\": [ { \"name\": \"pre\", \"run\": \"echo pre-{{svc}}; echo pre >> @D@/log\" } ],"
        "  \"steps\": ["
        "    { \"name\": \"auto\", \"run\": \"echo auto >> @D@/log; echo to-stderr >&2\", \"approval\": \"none\" },"
        "    { \"name\": \"main\", \"run\": \"echo main >> @D@/log\" } ],"
        "  \"postchecks\": ["
        "    { \"name\": \"post\", \"run\": \"echo post >> @D@/log; exit 4\", \"approval\": \"none\", \"expect_exit\": 4 } ] }";

static void test_scenario(void) {
        Fx f;
        Runbook *rb;
        Session *s, *c;
        _cleanup_free_ char *log = NULL, *expect_cmd = NULL, *text = NULL;
        char *out, *err;
        bool trunc;
        uint32_t id;

        fx_setup(&f);
        log = fx_path(&f, "log");
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
        check(asprintf_safe(&expect_cmd, "echo pre-'api'; echo pre >> %s/log", f.dir) == 0);
        check_streq(s->steps[0].command, expect_cmd);
        {
                _cleanup_free_ char *dg = NULL;
                check(step_compute_digest("local", "local", "{\"connector\":\"local\"}", expect_cmd, &dg) == 0);
                check_streq(s->steps[0].digest, dg);
        }
        run_for(&f, 200 * USEC_PER_MSEC);
        check_int(s->state, SESSION_WAITING_APPROVAL);
        check_int(count_lines(log), -1);

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
        check_int(count_lines(log), 2);
        text = read_file_str(log);
        check_streq(text, "pre\nauto\n");
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
        check_streq(out, "pre-api\n");
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
        free(text);
        text = read_file_str(log);
        check_streq(text, "pre\nauto\nmain\npost\n");

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
        check_streq(out, "pre-api\n");
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
        check_int(engine_retry(f.engine, s, as(BOB)), -ESHUTDOWN);

        /* unknown ids */
        {
                Session *x = NULL;
                check_int(engine_get_session(f.engine, 999, &x), -ENOENT);
        }

        runbook_free(rb);
        fx_done(&f);
}

static const char one_step_json[] =
        "{ \"steps\": [ { \"name\": \"only\", \"run\": \"echo ran >> @D@/marker\" } ] }";

static void test_self_approval(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        EngineConfig cfg;
        _cleanup_free_ char *marker = NULL;

        fx_setup(&f);
        marker = fx_path(&f, "marker");
        rb = rb_make(&f, one_step_json);

        check(!engine_get_config(f.engine)->allow_self_approval);
        s = start(&f, rb, NULL);
        check_int(approve(&f, &s->steps[0], ALICE), -EPERM);
        check_int(s->steps[0].n_approvals, 0);
        check_int(s->steps[0].state, STEP_WAITING_APPROVAL);
        run_for(&f, 100 * USEC_PER_MSEC);
        check_int(count_lines(marker), -1);

        /* the creator may reject (stop) their own session */
        cfg = *engine_get_config(f.engine);
        cfg.allow_self_approval = true;
        engine_set_config(f.engine, &cfg);
        check(engine_get_config(f.engine)->allow_self_approval);
        check(engine_get_config(f.engine)->output_cap > 0);
        check_int(approve(&f, &s->steps[0], ALICE), 0);
        wait_state(&f, s->id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        check_int(count_lines(marker), 1);

        runbook_free(rb);
        fx_done(&f);
}

static void test_two_approvers(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        _cleanup_free_ char *marker = NULL;
        unsigned changed;

        fx_setup(&f);
        marker = fx_path(&f, "marker");
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"two\", \"run\": \"echo ran >> @D@/marker\", \"approvers\": 2 } ] }");

        s = start(&f, rb, NULL);
        check_int(s->steps[0].approvals_required, 2);
        changed = hooks.n_changed;
        check_int(approve(&f, &s->steps[0], BOB), 0);
        check(hooks.n_changed > changed);
        run_for(&f, 200 * USEC_PER_MSEC);
        check_int(s->state, SESSION_WAITING_APPROVAL);
        check_int(s->steps[0].state, STEP_WAITING_APPROVAL);
        check_int(step_count_approvals(&s->steps[0]), 1);
        check_int(count_lines(marker), -1);

        check_int(approve(&f, &s->steps[0], BOB), -EALREADY);
        check_int(s->steps[0].n_approvals, 1);
        check_int(approve(&f, &s->steps[0], ALICE), -EPERM);

        check_int(approve(&f, &s->steps[0], CAROL), 0);
        wait_state(&f, s->id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        check_int(count_lines(marker), 1);
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
                "{ \"steps\": [ { \"name\": \"two\", \"run\": \"echo ran >> @D@/marker\", \"approvers\": 2 } ] }";
        Fx f;
        Runbook *rb;
        Session *s, *s2 = NULL, *s3;
        EngineConfig cfg;
        uint32_t id;
        _cleanup_free_ char *marker = NULL, *err = NULL;

        fx_setup(&f);
        marker = fx_path(&f, "marker");
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
        check_int(count_lines(marker), 1);
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
                     "{ \"steps\": [ { \"name\": \"a\", \"run\": \"touch @D@/marker\" },"
                     "              { \"name\": \"b\", \"run\": \"touch @D@/marker2\", \"approval\": \"none\" } ],"
                     "  \"postchecks\": [ { \"name\": \"c\", \"run\": \"touch @D@/marker3\", \"approval\": \"none\" } ] }");
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

        run_for(&f, 300 * USEC_PER_MSEC);
        check(!file_exists(&f, "marker"));
        check(!file_exists(&f, "marker2"));
        check(!file_exists(&f, "marker3"));
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

static void test_failed_precheck(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        char *out, *err;
        bool trunc;

        fx_setup(&f);
        rb = rb_make(&f,
                     "{ \"prechecks\": [ { \"name\": \"check\", \"run\": \"echo checking; exit 3\", \"approval\": \"none\" } ],"
                     "  \"steps\": [ { \"name\": \"main\", \"run\": \"touch @D@/main\", \"approval\": \"none\" } ],"
                     "  \"postchecks\": [ { \"name\": \"post\", \"run\": \"touch @D@/post\", \"approval\": \"none\" } ] }");
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
        check(!file_exists(&f, "main"));
        check(!file_exists(&f, "post"));
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
                     "{ \"steps\": [ { \"name\": \"m1\", \"run\": \"false\", \"approval\": \"none\" },"
                     "              { \"name\": \"m2\", \"run\": \"touch @D@/m2\", \"approval\": \"none\" } ],"
                     "  \"postchecks\": [ { \"name\": \"post\", \"run\": \"touch @D@/post\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        wait_state(&f, s->id, SESSION_FAILED, -2, 10 * USEC_PER_SEC);
        check_int(s->steps[0].state, STEP_FAILED);
        check_int(s->steps[1].state, STEP_SKIPPED);
        check_int(s->steps[2].state, STEP_SKIPPED);
        check(!file_exists(&f, "m2"));
        check(!file_exists(&f, "post"));
        runbook_free(rb);

        /* a failed postcheck fails the session, after the main step ran */
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"m\", \"run\": \"touch @D@/m\", \"approval\": \"none\" } ],"
                     "  \"postchecks\": [ { \"name\": \"verify\", \"run\": \"exit 1\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        wait_state(&f, s->id, SESSION_FAILED, -2, 10 * USEC_PER_SEC);
        check_int(s->steps[0].state, STEP_SUCCEEDED);
        check_int(s->steps[1].state, STEP_FAILED);
        check(file_exists(&f, "m"));
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
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"zero\", \"run\": \"true\", \"approval\": \"none\", \"expect_exit\": 3 } ] }");
        s = start(&f, rb, NULL);
        wait_state(&f, s->id, SESSION_FAILED, -2, 10 * USEC_PER_SEC);
        check_int(s->steps[0].state, STEP_FAILED);
        check_int(s->steps[0].exit_status, 0);
        check(s->steps[0].error && strstr(s->steps[0].error, "exit status 0"));
        runbook_free(rb);
        fx_done(&f);
}

static void test_timeout(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        usec_t t0;

        fx_setup(&f);
        connector_local_set_kill_grace(300 * USEC_PER_MSEC);
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"slow\", \"run\": \"echo $$ > @D@/pid; sleep 30\", \"approval\": \"none\", \"timeout\": 1 },"
                     "              { \"name\": \"after\", \"run\": \"touch @D@/after\", \"approval\": \"none\" } ] }");
        t0 = now_usec(CLOCK_MONOTONIC);
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
        wait_state(&f, s->id, SESSION_FAILED, -2, 10 * USEC_PER_SEC);
        check(now_usec(CLOCK_MONOTONIC) - t0 < 5 * USEC_PER_SEC);
        check(now_usec(CLOCK_MONOTONIC) - t0 >= 1 * USEC_PER_SEC);
        check_int(s->steps[0].state, STEP_TIMED_OUT);
        check_int(s->steps[0].exit_status, -1);
        check(s->steps[0].error && strstr(s->steps[0].error, "timed out"));
        check(s->error && strstr(s->error, "timed out"));
        check_int(s->steps[1].state, STEP_SKIPPED);
        check(!file_exists(&f, "after"));
        check_gone(wait_pid_file(&f, "pid"));
        connector_local_set_kill_grace(0);
        runbook_free(rb);
        fx_done(&f);
}

static void test_cancel_running(void) {
        Fx f;
        Runbook *rb;
        Session *s, *c;
        pid_t sh, child;
        char *out, *err;
        bool trunc;
        uint32_t id;

        fx_setup(&f);
        connector_local_set_kill_grace(300 * USEC_PER_MSEC);
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"long\", \"run\": \"echo $$ > @D@/pid; sleep 300 & echo $! > @D@/child; echo live; wait\", \"approval\": \"none\" },"
                     "              { \"name\": \"after\", \"run\": \"touch @D@/after\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        sh = wait_pid_file(&f, "pid");
        child = wait_pid_file(&f, "child");
        check(kill(-sh, 0) == 0);

        /* live output while it runs */
        {
                usec_t end = now_usec(CLOCK_MONOTONIC) + 5 * USEC_PER_SEC;
                for (;;) {
                        get_output(&f, &s->steps[0], &out, NULL, &err, NULL, &trunc);
                        bool ok = streq(out, "live\n");
                        free(out);
                        free(err);
                        if (ok)
                                break;
                        check(now_usec(CLOCK_MONOTONIC) < end);
                        check(sd_event_run(f.event, 20 * USEC_PER_MSEC) >= 0);
                }
        }
        check_int(s->steps[0].state, STEP_RUNNING);

        check_int(engine_cancel(f.engine, s, as(BOB)), 0);
        check(store_sync(f.store) == 0);
        check_int(s->state, SESSION_CANCELLED);
        check_int(s->steps[0].state, STEP_CANCELLED);
        check_int(s->steps[1].state, STEP_SKIPPED);
        check(s->error && strstr(s->error, "cancelled by bob"));
        check_int(engine_cancel(f.engine, s, as(BOB)), -ESHUTDOWN);

        wait_no_job(&f, &s->steps[0], 10 * USEC_PER_SEC);
        s = get(&f, id);
        check(!engine_session_is_active(s));
        check_int(engine_n_active(f.engine), 0);
        check_int(s->steps[0].state, STEP_CANCELLED);
        check_int(s->state, SESSION_CANCELLED);
        check(s->steps[0].finished_at > 0);
        check_gone(child);
        check_gone(sh);
        check(kill(-sh, 0) < 0 && errno == ESRCH);
        check(!file_exists(&f, "after"));

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

        connector_local_set_kill_grace(0);
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
        run_for(&f, 100 * USEC_PER_MSEC);
        check(!file_exists(&f, "marker"));
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
                     "  \"steps\": [ { \"name\": \"x\", \"run\": \"echo {{svc}} >> @D@/marker\", \"approval\": \"none\" } ] }");

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
        {
                _cleanup_free_ char *m = fx_path(&f, "marker");
                _cleanup_free_ char *t = read_file_str(m);
                check_streq(t, "good\n");
        }
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
                     "{ \"steps\": [ { \"name\": \"here\", \"run\": \"true\" },"
                     "              { \"name\": \"there\", \"run\": \"touch @D@/marker\", \"target\": \"nowhere\" } ] }");
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
        rb = rb_make(&f, one_step_json);
        s = start(&f, rb, NULL);
        check_int(s->id, 1);
        runbook_free(rb);
        fx_done(&f);
}

static void test_restart_waiting(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        uint32_t id;
        usec_t waiting_since, approval_time;
        _cleanup_free_ char *digest = NULL, *marker = NULL;

        fx_setup(&f);
        marker = fx_path(&f, "marker");
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"two\", \"run\": \"echo ran >> @D@/marker\", \"approvers\": 2 } ] }");
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
        run_for(&f, 200 * USEC_PER_MSEC);
        check_int(count_lines(marker), -1);

        check_int(approve(&f, &s->steps[0], BOB), -EALREADY);
        check_int(approve(&f, &s->steps[0], CAROL), 0);
        wait_state(&f, id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        check_int(count_lines(marker), 1);
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
        _cleanup_free_ char *marker = NULL;

        fx_setup(&f);
        marker = fx_path(&f, "marker");
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"gated\", \"run\": \"echo ran >> @D@/marker\" } ] }");
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
        run_for(&f, 200 * USEC_PER_MSEC);
        check_int(count_lines(marker), -1);   /* not (re-)run by itself */

        /* the same record is not replayed twice, and the step still goes on behind a retry */
        fx_reboot(&f);
        s = get(&f, id);
        check_int(s->steps[0].state, STEP_INTERRUPTED);
        check_int(engine_retry(f.engine, s, as(BOB)), 0);
        check_int(s->steps[0].attempt, 2);
        check_int(approve(&f, &s->steps[0], BOB), 0);
        wait_state(&f, id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        check_int(count_lines(marker), 1);

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
        _cleanup_free_ char *marker = NULL, *fast = NULL;
        Runbook *rb, *rb2;
        Session *s, *b;
        uint32_t id, bid;
        Fx f;

        fx_setup(&f);
        marker = fx_path(&f, "marker");
        fast = fx_path(&f, "fast");
        rb = rb_make(&f, "{ \"steps\": ["
                         "{ \"name\": \"a\", \"approval\": \"none\", \"run\": \"echo a >> @D@/marker; test -e @D@/fast || sleep 20\" },"
                         "{ \"name\": \"b\", \"approval\": \"none\", \"run\": \"echo b >> @D@/marker\" },"
                         "{ \"name\": \"c\", \"approval\": \"none\", \"run\": \"echo c >> @D@/marker\" } ] }");
        rb2 = rb_make(&f, "{ \"steps\": ["
                          "{ \"name\": \"x\", \"approval\": \"none\", \"run\": \"true\" },"
                          "{ \"name\": \"y\", \"approval\": \"none\", \"run\": \"true\" } ] }");

        /* a reboot while step a runs; meanwhile another session ran two steps and ended */
        s = start(&f, rb, NULL);
        id = s->id;
        check_int(s->steps[0].state, STEP_RUNNING);
        b = start(&f, rb2, NULL);
        bid = b->id;
        wait_state(&f, bid, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        wait_lines(&f, marker, 1, 10 * USEC_PER_SEC);   /* a is under way */
        wait_state(&f, id, SESSION_RUNNING, 0, USEC_PER_SEC);
        fx_reboot(&f);

        s = get(&f, id);
        check_int(s->state, SESSION_INTERRUPTED);
        check_int(s->current_step, 0);
        check_int(s->steps[0].state, STEP_INTERRUPTED);
        check(strstr(s->steps[0].error, "runbookd stopped while attempt 1 was running"));
        check_int(s->steps[1].state, STEP_INTERRUPTED);
        check(strstr(s->steps[1].error, "the machine restarted while an earlier step ran"));
        check_int(s->steps[2].state, STEP_PENDING);
        check_int(get(&f, bid)->state, SESSION_SUCCEEDED);
        run_for(&f, 200 * USEC_PER_MSEC);
        check_int(count_lines(marker), 1);   /* a, once; nothing more by itself */

        /* Retry a: it runs, then the session stops at b */
        check(touch(fast) == 0);
        check_int(engine_retry(f.engine, s, as(BOB)), 0);
        check_int(approve(&f, &s->steps[0], BOB), 0);
        wait_state(&f, id, SESSION_INTERRUPTED, 1, 10 * USEC_PER_SEC);
        check_int(s->steps[0].state, STEP_SUCCEEDED);
        check_int(s->steps[1].state, STEP_INTERRUPTED);
        check_int(s->steps[2].state, STEP_PENDING);
        check(strstr(s->error, "1 (b) was interrupted"));
        check_int(count_lines(marker), 2);

        /* Retry b (a fresh approval): b and c run */
        check_int(engine_retry(f.engine, s, as(BOB)), 0);
        check_int(s->steps[1].state, STEP_WAITING_APPROVAL);
        check_int(approve(&f, &s->steps[1], BOB), 0);
        wait_state(&f, id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        check_int(count_lines(marker), 4);

        /* the same boot: a crash while a runs leaves b pending, as the store says */
        check(unlink(fast) == 0);
        s = start(&f, rb, NULL);
        id = s->id;
        check_int(s->steps[0].state, STEP_RUNNING);
        wait_lines(&f, marker, 5, 10 * USEC_PER_SEC);   /* a is under way */
        fx_close_engine(&f);
        fx_open_engine(&f);
        check(store_same_boot(f.store));
        s = get(&f, id);
        check_int(s->state, SESSION_INTERRUPTED);
        check_int(s->steps[0].state, STEP_INTERRUPTED);
        check_int(s->steps[1].state, STEP_PENDING);
        check(touch(fast) == 0);
        check_int(engine_retry(f.engine, s, as(BOB)), 0);
        check_int(approve(&f, &s->steps[0], BOB), 0);
        wait_state(&f, id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        check_int(count_lines(marker), 8);

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
                "{ \"name\": \"q0\", \"approval\": \"none\", \"run\": \"echo q0 >> @D@/marker\" },"
                "{ \"name\": \"q1\", \"approval\": \"none\", \"run\": \"echo q1 >> @D@/marker\" },"
                "{ \"name\": \"q2\", \"approval\": \"none\", \"run\": \"echo q2 >> @D@/marker\" },"
                "{ \"name\": \"q3\", \"approval\": \"none\", \"run\": \"echo q3 >> @D@/marker\" },"
                "{ \"name\": \"q4\", \"approval\": \"none\", \"run\": \"echo q4 >> @D@/marker\" },"
                "{ \"name\": \"q5\", \"approval\": \"none\", \"run\": \"echo q5 >> @D@/marker\" },"
                "{ \"name\": \"long\", \"approval\": \"none\", \"run\": \"echo long >> @D@/marker; test -e @D@/fast || sleep 20\" },"
                "{ \"name\": \"t1\", \"approval\": \"none\", \"run\": \"echo t1 >> @D@/marker\" },"
                "{ \"name\": \"t2\", \"approval\": \"none\", \"run\": \"echo t2 >> @D@/marker\" },"
                "{ \"name\": \"t3\", \"approval\": \"none\", \"run\": \"echo t3 >> @D@/marker\" } ] }";
        _cleanup_free_ char *marker = NULL, *fast = NULL;
        uint32_t id, max_count;
        Runbook *rb;
        Session *s;
        Fx f;

        fx_setup(&f);
        marker = fx_path(&f, "marker");
        fast = fx_path(&f, "fast");
        rb = rb_make(&f, tmpl);
        /* what counts as quick is not what this is about: on a loaded machine (or under ASan) a
         * 'true' may take longer than the daemon's 20 ms */
        f.engine->start_ahead_quick_usec = 60 * USEC_PER_SEC;

        /* all quick: nine steps start from the one before, with fewer records than that */
        check(touch(fast) == 0);
        s = start(&f, rb, NULL);
        id = s->id;
        wait_state(&f, id, SESSION_SUCCEEDED, -2, 20 * USEC_PER_SEC);
        check_int(count_lines(marker), 10);
        check(count_start_records(&f, id, &max_count) < 9);
        check(max_count > 1);

        /* a reboot while 'long' runs: t1..t3 are covered by a record written ahead */
        check(unlink(fast) == 0);
        check(unlink(marker) == 0);
        s = start(&f, rb, NULL);
        id = s->id;
        wait_state(&f, id, SESSION_RUNNING, 6, 20 * USEC_PER_SEC);
        wait_lines(&f, marker, 7, 10 * USEC_PER_SEC);   /* long is under way */
        run_for(&f, 100 * USEC_PER_MSEC);
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
        run_for(&f, 200 * USEC_PER_MSEC);
        check_int(count_lines(marker), 7);   /* nothing more by itself */

        /* each goes on behind its own Retry */
        check(touch(fast) == 0);
        for (int i = 6; i < 10; i++) {
                check_int(s->current_step, i);
                check_int(engine_retry(f.engine, s, as(BOB)), 0);
                check_int(approve(&f, &s->steps[i], BOB), 0);
                if (i < 9)
                        wait_state(&f, id, SESSION_INTERRUPTED, i + 1, 10 * USEC_PER_SEC);
        }
        wait_state(&f, id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        check_int(count_lines(marker), 11);

        runbook_free(rb);
        fx_done(&f);
}

/* Three local targets l1..l3 and a group 'g' of them (at most 2 at once), in the fixture's
 * config dir. */
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
        engine_set_targets(f->engine, f->targets);
}

/* A group step whose start only the start log has (the commit was lost with the machine): after
 * the reboot every host not recorded as finished counts as possibly started (interrupted), none
 * runs by itself, and Retry (behind a fresh approval) runs them all. */
static void test_group_restart_new_boot(void) {
        _cleanup_free_ char *marker = NULL;
        uint32_t id;
        Fx f;
        Runbook *rb;
        Session *s;
        Step *st;

        fx_setup(&f);
        fx_group_targets(&f);
        marker = fx_path(&f, "marker");
        rb = rb_make(&f, "{ \"target\": \"g\", \"steps\": [ { \"name\": \"fan out\", "
                         "\"run\": \"echo $RUNBOOK_TARGET >> @D@/marker\" } ] }");
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
        run_for(&f, 200 * USEC_PER_MSEC);

        s = get(&f, id);
        st = &s->steps[0];
        check_int(s->state, SESSION_INTERRUPTED);
        check_int(st->state, STEP_INTERRUPTED);
        for (size_t i = 0; i < 3; i++) {
                check_int(st->hosts[i].state, STEP_INTERRUPTED);
                check(strstr(st->hosts[i].error, "the machine restarted"));
        }
        check(strstr(st->error, "runbookd stopped while 3 of 3 hosts ran"));
        check_int(count_lines(marker), -1);   /* nothing (re-)run by itself */

        check_int(engine_retry(f.engine, s, as(BOB)), 0);
        check_int(approve(&f, st, BOB), 0);
        wait_state(&f, id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        check_int(count_lines(marker), 3);
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
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"remote\", \"run\": \"echo x >> @D@/ran\" } ] }");
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
        run_for(&f, 200 * USEC_PER_MSEC);
        check(!file_exists(&f, "ran"));
        check(!step_rt(&s->steps[0])->job);

        runbook_free(rb);
        fx_done(&f);
}

static void test_interrupted(void) {
        Fx f;
        Runbook *rb;
        Session *s, *c;
        uint32_t id;
        pid_t sh, child;
        _cleanup_free_ char *count = NULL;

        fx_setup(&f);
        count = fx_path(&f, "count");
        /* the first run hangs; a second one (after retry) finishes */
        rb = rb_make(&f,
                     "{ \"steps\": [ { \"name\": \"once\", \"approval\": \"none\", \"run\":"
                     "  \"echo x >> @D@/count; if [ $(wc -l < @D@/count) -lt 2 ]; then echo $$ > @D@/pid; sleep 300 & echo $! > @D@/child; wait; fi\" },"
                     "  { \"name\": \"next\", \"run\": \"echo next >> @D@/next\", \"approval\": \"none\" } ] }");
        s = start(&f, rb, NULL);
        id = s->id;
        sh = wait_pid_file(&f, "pid");
        child = wait_pid_file(&f, "child");
        check_int(count_lines(count), 1);
        check_int(s->steps[0].state, STEP_RUNNING);

        /* retry needs an interrupted session */
        check_int(engine_retry(f.engine, s, as(BOB)), -ENOMSG);

        /* "crash": the engine goes away while the command runs */
        fx_close_engine(&f);
        check_gone(child);
        check_gone(sh);
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
        run_for(&f, 300 * USEC_PER_MSEC);
        check_int(count_lines(count), 1);   /* not re-run by itself */
        check(!file_exists(&f, "next"));

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
        run_for(&f, 100 * USEC_PER_MSEC);
        check_int(count_lines(count), 1);

        /* retry: a fresh approval for attempt 2 */
        hooks_reset();
        check_int(engine_retry(f.engine, s, as(BOB)), 0);
        check(store_sync(f.store) == 0);
        check_int(hooks.n_changed, 1);
        check_int(s->state, SESSION_WAITING_APPROVAL);
        check_int(s->steps[0].state, STEP_WAITING_APPROVAL);
        check_int(s->steps[0].attempt, 2);
        check(!s->steps[0].error);
        check(!s->error);
        check(session_waiting_step(s) == &s->steps[0]);
        check_int(step_count_approvals(&s->steps[0]), 0);
        check_int(engine_retry(f.engine, s, as(BOB)), -ENOMSG);
        run_for(&f, 100 * USEC_PER_MSEC);
        check_int(count_lines(count), 1);

        c = stored(&f, id);
        check_int(c->state, SESSION_WAITING_APPROVAL);
        check_int(c->steps[0].attempt, 2);
        session_free(c);

        check_int(approve(&f, &s->steps[0], ALICE), -EPERM);
        check_int(approve(&f, &s->steps[0], CAROL), 0);
        wait_state(&f, id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        check_int(count_lines(count), 2);
        check(file_exists(&f, "next"));
        s = get(&f, id);
        check_int(s->steps[0].state, STEP_SUCCEEDED);
        check_int(s->steps[0].attempt, 2);
        check_int(s->steps[0].n_approvals, 1);
        check_int(s->steps[0].approvals[0].attempt, 2);
        check_int(s->steps[1].state, STEP_SUCCEEDED);

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
                     "  \"printf HEAD; i=0; while [ $i -lt 500 ]; do printf 0123456789; i=$((i+1)); done; printf TAIL; echo small >&2\" } ] }");
        s = start(&f, rb, NULL);
        wait_state(&f, s->id, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
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
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"a\", \"run\": \"true\", \"approval\": \"none\" },"
                         "              { \"name\": \"b\", \"run\": \"true\" },"
                         "              { \"name\": \"c\", \"run\": \"true\", \"approval\": \"none\" } ] }");
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
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"a\", \"run\": \"false\", \"approval\": \"none\" },"
                         "              { \"name\": \"b\", \"run\": \"true\" } ] }");
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
        struct rlimit nocore = {};
        sigset_t ss;

        sigemptyset(&ss);
        sigaddset(&ss, SIGCHLD);
        sigaddset(&ss, SIGTERM);
        check(sigprocmask(SIG_BLOCK, &ss, NULL) == 0);
        (void) signal(SIGPIPE, SIG_IGN);
        check(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
        (void) setrlimit(RLIMIT_CORE, &nocore);

        /* Keep the execution records of these tests out of a journal that may be running on this
         * machine (best effort, needs privileges): with no journal socket they go nowhere. */
        if (unshare(CLONE_NEWNS) == 0 &&
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
                (void) mount("tmpfs", "/run/systemd/journal", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");

        TEST(scenario);
        TEST(self_approval);
        TEST(two_approvers);
        TEST(persons);
        TEST(reject);
        TEST(failed_precheck);
        TEST(failed_main_and_postcheck);
        TEST(expect_exit);
        TEST(timeout);
        TEST(cancel_running);
        TEST(cancel_waiting);
        TEST(bad_parameters);
        TEST(no_such_target);
        TEST(restart_waiting);
        TEST(interrupted);
        TEST(remote_restart);
        TEST(start_log_replay);
        TEST(start_ahead);
        TEST(start_ahead_range);
        TEST(group_restart_new_boot);
        TEST(output_cap);
        TEST(many);
        TEST(hooks);
        return 0;
}
