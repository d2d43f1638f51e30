/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine-window.c: change windows and freezes. A step of the prechecks, main steps or postchecks
 * runs only inside one of its runbook's "windows" (as the session's snapshot has them) and one
 * of its target's (as configured now), and outside every "freeze" of runbookd.json; otherwise,
 * once its approvals are in, it waits (the session in waiting_window) until the first instant
 * all of them allow, which it records (Step.WindowOpensAt, and why it waits). The wait is a
 * wall-clock timer; at its end, after a restart, and when runbookd.json or the targets are
 * reloaded, the step is looked at again. Rollback and finally steps do not wait: they undo or
 * tidy up what a step run inside a window began. A break-glass runs the step outside its window
 * and says so. */
#include "config/window.h"
#include "engine/engine-internal.h"
#include "journal/events.h"
#include "shared/log.h"

#define WINDOW_ACCURACY_USEC (100 * USEC_PER_MSEC)

static void step_window_clear(Step *st) {
        if (st->window_at == 0 && !st->window_why)
                return;
        st->window_at = 0;
        st->window_why = mfree_str(st->window_why);
        step_rt(st)->dirty = true;
}

void step_window_disarm(Step *st) {
        step_rt(st)->window_timer = sd_event_source_disable_unref(step_rt(st)->window_timer);
}

static int on_window_due(sd_event_source *source, usec_t usec, void *userdata) {
        Step *st = userdata;
        Session *s = st->session;

        step_window_disarm(st);
        if (s->state == SESSION_WAITING_WINDOW && session_current(s) == st)
                session_advance(s, false);   /* looked at again: it runs, or waits on */
        return 0;
}

static int step_window_arm(Step *st) {
        Engine *e = session_engine(st->session);
        int r;

        step_window_disarm(st);
        r = sd_event_add_time(e->event, &step_rt(st)->window_timer, CLOCK_REALTIME, st->window_at, WINDOW_ACCURACY_USEC,
                              on_window_due, st);
        if (r < 0)
                return log_error_errno(r, "Session %u step %u: cannot arm the timer of its change window: %m",
                                       st->session->id, st->index);
        (void) sd_event_source_set_description(step_rt(st)->window_timer, "step-window");
        return 0;
}

/* Its runbook's windows (from the snapshot) and its target's (from the catalog): validated when
 * they were loaded, so an error here is out of memory or a store that was changed by hand. */
static int step_windows(Step *st, ChangeWindow **rw, size_t *n_rw, ChangeWindow **tw, size_t *n_tw, char **ret_error) {
        Session *s = st->session;
        Engine *e = session_engine(s);
        const Target *t = e->targets ? target_catalog_find(e->targets, st->target) : NULL;
        json_t *v;
        int r;

        *rw = *tw = NULL;
        *n_rw = *n_tw = 0;
        v = json_object_get(s->snapshot, "windows");
        if (v) {
                r = change_windows_parse(v, s->runbook, "$.windows", rw, n_rw, ret_error);
                if (r < 0)
                        return r;
        }
        v = t && t->config ? json_object_get(t->config, "windows") : NULL;
        if (v) {
                r = change_windows_parse(v, t->file ?: t->name, "$.windows", tw, n_tw, ret_error);
                if (r < 0) {
                        change_windows_free(*rw, *n_rw);
                        *rw = NULL;
                        *n_rw = 0;
                        return r;
                }
        }
        return 0;
}

int step_window_gate(Step *st, char **ret_why) {
        Session *s = st->session;
        Engine *e = session_engine(s);
        _cleanup_free_ char *why = NULL, *error = NULL;
        ChangeWindow *rw = NULL, *tw = NULL;
        size_t n_rw = 0, n_tw = 0;
        usec_t now = now_usec(CLOCK_REALTIME), at = 0;
        int r;

        *ret_why = NULL;
        if (st->phase == PHASE_ROLLBACK || st->phase == PHASE_FINALLY) {
                step_window_clear(st);
                return WINDOW_OPEN;
        }
        r = step_windows(st, &rw, &n_rw, &tw, &n_tw, &error);
        if (r >= 0)
                r = change_policy_next(rw, n_rw, tw, n_tw, e->config.freeze, e->config.n_freeze, now, &at, &why);
        change_windows_free(rw, n_rw);
        change_windows_free(tw, n_tw);
        if (r < 0) {
                (void) asprintf_safe(ret_why, "its change windows cannot be read (%s); not run",
                                     error ?: strerror(-r));
                return WINDOW_NEVER;
        }
        if (r > 0) {
                step_window_clear(st);
                return WINDOW_OPEN;
        }
        /* a break-glass stands for the window too, and says so */
        if (step_break_glass(st, step_decided_attempt(st))) {
                event_window_overridden(st, why);
                step_window_clear(st);
                return WINDOW_OPEN;
        }
        if (at == 0) {
                (void) asprintf_safe(ret_why, "no change window opens within %llu days (%s); not run",
                                     (unsigned long long) (CHANGE_HORIZON_USEC / (24 * 3600 * USEC_PER_SEC)), strna(why));
                return WINDOW_NEVER;
        }

        bool changed = st->window_at != at || !streq_ptr(st->window_why, why) || s->state != SESSION_WAITING_WINDOW;
        st->window_at = at;
        free(st->window_why);
        st->window_why = TAKE_PTR(why);
        step_rt(st)->dirty = true;
        s->state = SESSION_WAITING_WINDOW;
        s->current_step = (int) st->index;
        session_rt(s)->dirty = true;
        (void) engine_persist_session(s);
        if (step_window_arm(st) < 0)
                /* no timer: looked at again from the loop in a minute rather than never */
                st->window_at = now + 60 * USEC_PER_SEC, (void) step_window_arm(st);
        if (changed) {
                event_window_waiting(st);
                engine_hooks_changed(e, s, st);
        }
        return WINDOW_WAIT;
}

void engine_windows_recheck(Engine *e) {
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0;

        ids = calloc(e->n_active ?: 1, sizeof(uint32_t));
        if (!ids) {
                log_oom();
                return;
        }
        for (size_t i = 0; i < e->n_active; i++)
                if (e->active[i]->state == SESSION_WAITING_WINDOW)
                        ids[n++] = e->active[i]->id;
        for (size_t i = 0; i < n; i++) {
                Session *s = engine_active_find(e, ids[i]);
                if (s && s->state == SESSION_WAITING_WINDOW)
                        session_advance(s, false);
        }
}
