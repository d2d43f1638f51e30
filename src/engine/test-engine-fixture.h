/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-engine-fixture.h: what the engine's unit tests share: a store in a mkdtemp directory, an
 * engine on a real sd-event loop driving the real local connector, and helpers to drive it. */
#pragma once

#undef NDEBUG
#include <sys/types.h>

#include "config/runbook.h"
#include "config/target.h"
#include "connector/connector.h"
#include "engine/engine.h"
#include "engine/engine-internal.h" /* white box: jobs and runtime */
#include "engine/test-connector.h"
#include "shared/tests.h"
#include "store/start-log.h"
#include "store/store-records.h"

#define ALICE 1000   /* creates the sessions */
#define BOB 1001
#define CAROL 1002

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

extern HookLog hooks;

void hooks_reset(void);
void on_session_new(Session *s, void *userdata);
void on_changed(Session *s, Step *st, void *userdata);
void fx_open_engine(Fx *f);
void fx_close_engine(Fx *f);
void fx_setup(Fx *f);
void fx_done(Fx *f);
char *fx_path(const Fx *f, const char *name);
Runbook *rb_make(const Fx *f, const char *tmpl);
const char *user_of(uid_t uid);
const Identity *as(uid_t uid);
const Identity *as_login(uid_t uid, uid_t login);
Session *start(Fx *f, const Runbook *rb, const char *params_json);
int approve(Fx *f, Step *st, uid_t uid);
Session *get(Fx *f, uint32_t id);
bool reached(Fx *f, uint32_t id, SessionState state, int step);
void wait_state(Fx *f, uint32_t id, SessionState state, int step, usec_t max);
void settle(Fx *f);
/* The test connector ran exactly these commands, in this order. */
void check_runs(const char *const *commands, size_t n);
#define CHECK_RUNS(...) check_runs((const char *const[]) { __VA_ARGS__ }, \
                                   sizeof((const char *const[]) { __VA_ARGS__ }) / sizeof(const char *))
void get_output(Fx *f, Step *st, char **out, size_t *out_n, char **err, size_t *err_n, bool *trunc);
int count_session_cb(uint32_t id, json_t *record, void *userdata);
unsigned stored_sessions(Fx *f);
uint64_t stored_meta(Fx *f, const char *name, uint64_t def);
Session *stored(Fx *f, uint32_t id);
bool stored_active(Fx *f, uint32_t id);
/* The process set-up every engine test binary makes first (signals, no core, no journal). */
void fx_main_init(void);
