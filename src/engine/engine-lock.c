/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine-lock.c: locks between sessions.
 *
 * A session's locks (Session.locks) are named when it is created: its runbook's "lock" rendered
 * with its parameters, and "target:NAME" for each target (or member of a target group) its steps
 * run on that has "lock": true. When the session reaches its first step that needs one, it takes
 * all of them at once, or waits for them in state waiting_lock; it keeps them until it ends. A
 * session never holds some of its locks while it waits for others, so two sessions cannot wait
 * for each other (no deadlock), whatever order their runbooks name the locks in.
 *
 * The queue is first come, first served: a session waiting has a ticket (its place, given when it
 * began to wait); it takes its locks when none is held and no session with an earlier ticket waits
 * for one of them (a session needing two locks is not overtaken by later ones needing one).
 *
 * Nothing here is kept apart from the sessions: who holds and who waits, in what order, is in
 * their records (lock_state, lock_ticket), written with their transitions. After a restart the
 * holders hold, the waiters wait in the same order, and the queue is looked at again once the
 * sessions are loaded. */
#include <search.h>

#include "config/lock-name.h"
#include "engine/engine-internal.h"
#include "journal/events.h"
#include "shared/log.h"

static bool locks_contain(char *const *l, const char *name) {
        for (size_t i = 0; l && l[i]; i++)
                if (streq(l[i], name))
                        return true;
        return false;
}

static int locks_add(char ***l, char *name, char **ret_error) {
        if (!name)
                return -ENOMEM;
        if (locks_contain(*l, name)) {
                free(name);
                return 0;
        }
        if (strv_length(*l) >= SESSION_LOCKS_MAX) {
                free(name);
                (void) asprintf_safe(ret_error, "the session would need more than %d locks", SESSION_LOCKS_MAX);
                return -EINVAL;
        }
        return strv_consume(l, name);
}

static int target_lock_add(Engine *e, char ***l, const char *target, char **ret_error) {
        const Target *t = e->targets ? target_catalog_find(e->targets, target) : NULL;

        if (!target_is_locked(t))
                return 0;
        return locks_add(l, lock_name_for_target(target), ret_error);
}

int session_locks_init(Engine *e, Session *s, const Runbook *rb, json_t *values, char **ret_error) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        if (rb->lock) {
                _cleanup_free_ char *name = NULL;
                r = lock_name_render(rb->lock, values, &name, ret_error);
                if (r == -ENXIO) {
                        (void) asprintf_safe(ret_error, "the runbook's lock \"%s\" refers to a parameter without a value",
                                             rb->lock);
                        return -EINVAL;
                }
                if (r < 0)
                        return r;
                r = locks_add(&l, TAKE_PTR(name), ret_error);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < s->n_steps; i++) {
                const Step *st = &s->steps[i];
                r = target_lock_add(e, &l, st->target, ret_error);
                for (size_t h = 0; r >= 0 && h < st->n_hosts; h++)
                        r = target_lock_add(e, &l, st->hosts[h].target, ret_error);
                if (r < 0)
                        return r;
        }
        strv_free(s->locks);
        s->locks = TAKE_PTR(l);
        return 0;
}

/* The runbook's own lock (rather than a target's) is in the snapshot of the runbook. */
static bool session_has_runbook_lock(const Session *s) {
        return json_is_string(json_object_get(s->snapshot, "lock"));
}

static bool step_target_locked(const Session *s, const char *target) {
        _cleanup_free_ char *name = lock_name_for_target(target);
        return !name || locks_contain(s->locks, name);  /* out of memory: as if it were (fail closed) */
}

bool step_needs_lock(const Step *st) {
        const Session *s = st->session;

        if (!s->locks || !s->locks[0])
                return false;
        if (session_has_runbook_lock(s) || step_target_locked(s, st->target))
                return true;
        for (size_t h = 0; h < st->n_hosts; h++)
                if (step_target_locked(s, st->hosts[h].target))
                        return true;
        return false;
}

/* ---- the queue ---- */

typedef struct LockNode {
        const char *name;
        bool claimed;             /* held, or wanted by a session earlier in the queue */
        unsigned waiting;         /* sessions in the queue so far that wait for it */
        uint32_t holder;
} LockNode;

static int node_compare(const void *a, const void *b) {
        return strcmp(((const LockNode *) a)->name, ((const LockNode *) b)->name);
}

static LockNode *node_get(void **root, const char *name) {
        LockNode key = { .name = name }, *n;
        void *p = tfind(&key, root, node_compare);

        if (p)
                return *(LockNode **) p;
        n = calloc(1, sizeof *n);
        if (!n)
                return NULL;
        n->name = name;
        p = tsearch(n, root, node_compare);
        if (!p) {
                free(n);
                return NULL;
        }
        return n;
}

/* Its locks count as held: it holds them, or it ended and its command is still being stopped
 * (the next session does not start beside it). */
static bool session_holds_locks(const Session *s) {
        return s->locks && (s->lock_state == SESSION_LOCK_HELD || session_rt(s)->lock_draining);
}

static int compare_ticket(const void *a, const void *b) {
        const Session *x = *(Session *const *) a, *y = *(Session *const *) b;
        return x->lock_ticket < y->lock_ticket ? -1 : x->lock_ticket > y->lock_ticket;
}

/* One pass over the queue: the sessions that can take their locks now are marked so
 * (lock_state held, runtime lock_granted); the others get their place (runtime lock_position,
 * announced when it changed); *ret_holder, when 'for_session' waits, is the holder of one of its
 * locks (0: a session ahead of it waits for it). Returns the number of sessions granted. */
static int locks_pass(Engine *e, const Session *for_session, uint32_t *ret_holder) {
        _cleanup_free_ Session **waiters = NULL;
        void *root = NULL;
        size_t n = 0;
        int granted = 0, r = 0;

        if (ret_holder)
                *ret_holder = 0;
        waiters = calloc(e->n_active ?: 1, sizeof(Session *));
        if (!waiters)
                return -ENOMEM;
        for (size_t i = 0; i < e->n_active && r >= 0; i++) {
                Session *s = e->active[i];
                if (s->lock_state == SESSION_LOCK_WAITING && s->locks)
                        waiters[n++] = s;
                else if (session_holds_locks(s))
                        for (size_t k = 0; s->locks[k]; k++) {
                                LockNode *node = node_get(&root, s->locks[k]);
                                if (!node) {
                                        r = -ENOMEM;
                                        break;
                                }
                                node->claimed = true;
                                node->holder = s->id;
                        }
        }
        if (r >= 0)
                qsort(waiters, n, sizeof(Session *), compare_ticket);
        for (size_t i = 0; i < n && r >= 0; i++) {
                Session *s = waiters[i];
                bool blocked = false;
                unsigned ahead = 0;
                uint32_t holder = 0;

                for (size_t k = 0; s->locks[k]; k++) {
                        LockNode *node = node_get(&root, s->locks[k]);
                        if (!node) {
                                r = -ENOMEM;
                                break;
                        }
                        blocked = blocked || node->claimed;
                        ahead = MAX(ahead, node->waiting);
                        if (!holder)
                                holder = node->holder;
                }
                if (r < 0)
                        break;
                for (size_t k = 0; s->locks[k]; k++) {
                        LockNode *node = node_get(&root, s->locks[k]);
                        node->claimed = true;
                        if (blocked)
                                node->waiting++;
                        else
                                node->holder = s->id;
                }
                if (s == for_session && ret_holder)
                        *ret_holder = holder;
                if (!blocked) {
                        s->lock_state = SESSION_LOCK_HELD;
                        session_rt(s)->lock_granted = true;
                        session_rt(s)->lock_position = 0;
                        session_rt(s)->dirty = true;
                        granted++;
                } else if (session_rt(s)->lock_position != ahead + 1) {
                        session_rt(s)->lock_position = ahead + 1;
                        if (s != for_session)
                                engine_hooks_changed(e, s, NULL);   /* LockPosition */
                }
        }
        tdestroy(root, free);
        return r < 0 ? r : granted;
}

static int on_lock_granter(sd_event_source *source, void *userdata) {
        Engine *e = userdata;
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0;
        int r;

        r = locks_pass(e, NULL, NULL);
        if (r < 0) {
                log_error_errno(r, "Failed to look at the lock queue, trying again: %m");
                engine_locks_kick(e);
                return 0;
        }
        /* moving a session on may end it (and change the active set): by id */
        ids = calloc(e->n_active ?: 1, sizeof(uint32_t));
        if (!ids)
                return log_oom();
        for (size_t i = 0; i < e->n_active; i++)
                if (session_rt(e->active[i])->lock_granted)
                        ids[n++] = e->active[i]->id;
        for (size_t i = 0; i < n; i++) {
                Session *s = engine_active_find(e, ids[i]);
                usec_t now = now_usec(CLOCK_REALTIME);

                if (!s || !session_rt(s)->lock_granted)
                        continue;
                session_rt(s)->lock_granted = false;
                event_lock_taken(s, now > s->lock_since ? now - s->lock_since : 0);
                s->lock_since = now;
                if (s->state == SESSION_WAITING_LOCK)
                        s->state = SESSION_RUNNING;
                session_rt(s)->dirty = true;
                engine_hooks_changed(e, s, NULL);
                /* its next transition is written with its holding them */
                session_advance(s, false);
        }
        return 0;
}

void engine_locks_kick(Engine *e) {
        int r;

        if (!e->lock_granter) {
                r = sd_event_add_defer(e->event, &e->lock_granter, on_lock_granter, e);
                if (r < 0) {
                        log_error_errno(r, "Failed to arm the lock queue: %m");
                        return;
                }
                (void) sd_event_source_set_description(e->lock_granter, "engine-locks");
        }
        (void) sd_event_source_set_enabled(e->lock_granter, SD_EVENT_ONESHOT);
}

bool session_lock_gate(Session *s, Step *st) {
        Engine *e = session_engine(s);
        usec_t now = now_usec(CLOCK_REALTIME);
        uint32_t holder = 0;
        int r;

        if (s->lock_state == SESSION_LOCK_HELD || !step_needs_lock(st))
                return true;
        if (s->lock_state != SESSION_LOCK_WAITING) {
                s->lock_state = SESSION_LOCK_WAITING;
                s->lock_ticket = ++e->lock_ticket;
                s->lock_since = now;
                session_rt(s)->lock_position = 0;
                session_rt(s)->dirty = true;
        }
        r = locks_pass(e, s, &holder);
        if (r < 0)
                log_error_errno(r, "Session %u: failed to look at the lock queue; it waits: %m", s->id);
        if (r > 0 && s->lock_state == SESSION_LOCK_HELD) {
                session_rt(s)->lock_granted = false;
                event_lock_taken(s, now > s->lock_since ? now - s->lock_since : 0);
                s->lock_since = now;
                if (r > 1)
                        engine_locks_kick(e);   /* others too (after a restart): they go on from the loop */
                return true;                    /* written with the step's next transition */
        }
        if (r > 0)
                engine_locks_kick(e);
        s->state = SESSION_WAITING_LOCK;
        s->current_step = (int) st->index;
        session_rt(s)->dirty = true;
        (void) engine_persist_session(s);
        event_lock_waiting(st, holder, session_rt(s)->lock_position);
        engine_hooks_changed(e, s, NULL);
        if (r < 0)
                engine_locks_kick(e);
        return false;
}

void session_lock_release(Session *s) {
        Engine *e = session_engine(s);
        bool held = s->lock_state == SESSION_LOCK_HELD;

        if (s->lock_state == SESSION_LOCK_NONE)
                return;
        s->lock_state = SESSION_LOCK_NONE;
        session_rt(s)->lock_granted = false;
        session_rt(s)->lock_position = 0;
        /* a command still being stopped keeps them until it has (session_deactivate()) */
        session_rt(s)->lock_draining = held && session_has_job(s);
        session_rt(s)->dirty = true;
        event_lock_released(s, held);
        engine_locks_kick(e);
}

/* ---- what the bus shows ---- */

uint32_t engine_lock_holder(Engine *e, const char *name) {
        for (size_t i = 0; i < e->n_active; i++) {
                const Session *s = e->active[i];
                if (session_holds_locks(s) && locks_contain(s->locks, name))
                        return s->id;
        }
        return 0;
}

uint32_t session_lock_holder(const Session *s, const char *name) {
        return s->runtime ? engine_lock_holder(session_engine(s), name) : 0;
}

unsigned engine_lock_position(const Session *s) {
        return s->runtime && s->lock_state == SESSION_LOCK_WAITING ? MAX(session_rt(s)->lock_position, 1u) : 0;
}

static int compare_name(const void *a, const void *b) {
        return strcmp(((const EngineLock *) a)->name, ((const EngineLock *) b)->name);
}

EngineLock *engine_locks_free(EngineLock *l, size_t n) {
        for (size_t i = 0; l && i < n; i++)
                free(l[i].waiters);
        free(l);
        return NULL;
}

int engine_list_locks(Engine *e, EngineLock **ret, size_t *ret_n) {
        _cleanup_free_ Session **waiters = NULL;
        EngineLock *l = NULL;
        size_t n = 0, n_allocated = 0, n_waiters = 0;

        waiters = calloc(e->n_active ?: 1, sizeof(Session *));
        if (!waiters)
                return -ENOMEM;
        for (size_t i = 0; i < e->n_active; i++)
                if (e->active[i]->lock_state == SESSION_LOCK_WAITING && e->active[i]->locks)
                        waiters[n_waiters++] = e->active[i];
        qsort(waiters, n_waiters, sizeof(Session *), compare_ticket);

        for (size_t i = 0; i < e->n_active; i++) {
                const Session *s = e->active[i];
                if (!s->locks || (!session_holds_locks(s) && s->lock_state != SESSION_LOCK_WAITING))
                        continue;
                for (size_t k = 0; s->locks[k]; k++) {
                        bool seen = false;
                        for (size_t j = 0; j < n && !seen; j++)
                                seen = streq(l[j].name, s->locks[k]);
                        if (seen)
                                continue;
                        if (GREEDY_REALLOC(l, n_allocated, n + 1) < 0)
                                return engine_locks_free(l, n), -ENOMEM;
                        l[n] = (EngineLock) { .name = s->locks[k], .holder = engine_lock_holder(e, s->locks[k]) };
                        l[n].waiters = calloc(n_waiters ?: 1, sizeof(uint32_t));
                        if (!l[n].waiters)
                                return engine_locks_free(l, n), -ENOMEM;
                        for (size_t w = 0; w < n_waiters; w++)
                                if (locks_contain(waiters[w]->locks, s->locks[k]))
                                        l[n].waiters[l[n].n_waiters++] = waiters[w]->id;
                        n++;
                }
        }
        if (n > 0)
                qsort(l, n, sizeof(EngineLock), compare_name);
        *ret = l;
        *ret_n = n;
        return 0;
}
