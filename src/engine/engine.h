/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine.h: the state machines of sessions and steps, driving connectors on the event loop.
 * No sd-bus here. Every transition is written to the store before it is acted on; the engine
 * syncs the store itself before it starts a command, and the bus layer syncs before it replies
 * or announces (see store_sync()).
 *
 * Errors returned by the engine (mapped to D-Bus errors in bus/bus-errors.c):
 *   -EINVAL   invalid parameter (message in *ret_error)
 *   -ENXIO    a step names a target that is not configured
 *   -ENOBUFS  too many active sessions
 *   -ESTALE   the step is not waiting for approval
 *   -EPERM    the session's creator (the same person) may not approve its own step
 *   -EALREADY this person already approved this step
 *   -ENOKEY   the approver is root (or runbookd's uid) with no login uid, and runbookd.json does not
 *             allow that
 *   -ESHUTDOWN the session is finished
 *   -ENOMSG   the session is not interrupted (Retry)
 *   -ENOENT   no such session / step */
#pragma once

#include <systemd/sd-event.h>

#include "config/runbook.h"
#include "config/target.h"
#include "model/session.h"
#include "store/store.h"

typedef struct Engine Engine;

typedef struct EngineConfig {
        bool allow_self_approval;
        bool allow_unattended_root_approval;  /* root/our uid with no login uid may approve */
        size_t output_cap;                /* per stream, bytes */
        unsigned max_active_sessions;
        unsigned max_active_sessions_per_user;  /* sessions not yet finished that one user started */
        int local_steps;                  /* LocalStepMode: how the local connector runs steps (the daemon sets it) */
        unsigned ssh_max_idle_connections; /* the ssh connector's pool bound (the daemon sets it) */
        usec_t approval_timeout_usec;     /* the default "approval_timeout" (0: none) */
        usec_t remind_before_usec;        /* the default "remind_before" (0: none) */
        usec_t approval_valid_for_usec;   /* the default "approval_valid_for" (0: none) */
        const struct ChangeFreeze *freeze; /* "freeze": no step runs in these (not owned: the caller
                                            * keeps them until the next engine_set_config()) */
        size_t n_freeze;
        /* "retention": finished sessions are removed from the store once they finished longer
         * ago than this many days, or are older than the newest max_sessions finished ones
         * (0: no such limit; both 0: kept for ever). See engine-retention.c. */
        unsigned retention_max_age_days;
        unsigned retention_max_sessions;
} EngineConfig;

#define ENGINE_MAX_ACTIVE_DEFAULT 4096
#define ENGINE_MAX_ACTIVE_PER_USER_DEFAULT 256

typedef struct EngineHooks {
        /* A session was created (already committed, not yet synced). */
        void (*session_new)(Session *s, void *userdata);
        /* Properties of the session and/or step changed ('st' may be NULL). */
        void (*changed)(Session *s, Step *st, void *userdata);
        /* Notifications were committed to the outbox (not yet synced). */
        void (*outbox)(void *userdata);
        /* Retention removed a finished session (and its n_steps steps) from the store; the removal
         * is synced already. The session is gone from the engine too. */
        void (*session_removed)(uint32_t id, size_t n_steps, void *userdata);
        void *userdata;
} EngineHooks;

int engine_new(sd_event *event, Store *store, Engine **ret);
Engine *engine_free(Engine *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(Engine *, engine_free);

void engine_set_hooks(Engine *e, const EngineHooks *hooks);
void engine_set_config(Engine *e, const EngineConfig *config);
const EngineConfig *engine_get_config(Engine *e);
/* Where notifications go; the engine does not own it (the caller keeps it alive until replaced). */
struct NotifyConfig;
void engine_set_notify(Engine *e, const struct NotifyConfig *c);
/* The engine does not own the catalog; the caller keeps it alive until replaced. */
void engine_set_targets(Engine *e, const TargetCatalog *targets);

/* On start-up: loads the active sessions; a step found running becomes interrupted (and so
 * does its session); sessions that can go on by themselves go on. */
int engine_load(Engine *e);

/* Retention (engine-retention.c): starts a pass over the stored sessions now, from the newest,
 * removing the finished ones the policy no longer keeps, in small batches, one transaction each,
 * back on the loop between batches. engine_load() and engine_set_config() call it; passes also
 * run hourly, and shortly after sessions finish when max_sessions is set. A no-op without a
 * policy. */
void engine_retention_kick(Engine *e);

/* Active sessions are kept in memory; finished ones are loaded from the store into a small
 * cache on demand. The pointer is valid until the next engine call that may load or finish a
 * session. */
int engine_get_session(Engine *e, uint32_t id, Session **ret);
size_t engine_n_active(Engine *e);
/* Iterates the active sessions in id order. */
int engine_foreach_active(Engine *e, int (*fn)(Session *s, void *userdata), void *userdata);
/* Locks between sessions (engine-lock.c): each lock held or waited for, with its holder (0:
 * none) and the sessions waiting for it in queue order. 'name' is the session's (valid until the
 * next engine call). */
typedef struct EngineLock {
        const char *name;
        uint32_t holder;
        uint32_t *waiters;
        size_t n_waiters;
} EngineLock;
int engine_list_locks(Engine *e, EngineLock **ret, size_t *ret_n);
EngineLock *engine_locks_free(EngineLock *l, size_t n);
/* The session holding lock 'name' (0: none). */
uint32_t engine_lock_holder(Engine *e, const char *name);
/* The same, for a session the engine holds (active or cached) */
uint32_t session_lock_holder(const Session *s, const char *name);
/* A session waiting for its locks: its place in the queue (1: next); 0 otherwise. */
unsigned engine_lock_position(const Session *s);
/* Change windows or freezes may have changed (a Reload): the steps waiting for theirs are looked
 * at again (engine-window.c). */
void engine_windows_recheck(Engine *e);
/* True when nothing runs, waits for approval, or is in flight. */
bool engine_is_idle(Engine *e);

/* 'who' is the caller (see Identity in session.h); the engine copies what it keeps. */
int engine_start_session(Engine *e, const Runbook *rb, const char *reference, json_t *given_params,
                         const Identity *who, Session **ret, char **ret_error);
/* What engine_start_session() would create, checked as it checks it (parameters, targets, group
 * members), created and written nowhere: a plan. The session is not the engine's (free it with
 * session_free()); its steps' commands show values only a capture will know as their
 * {{steps.ID.NAME}} references. The active-session limits are not checked (they are of the
 * moment a session is started). */
int engine_plan_session(Engine *e, const Runbook *rb, json_t *given_params, const Identity *who, Session **ret,
                        char **ret_error);
int engine_approve(Engine *e, Step *st, const Identity *who, const char *comment);
int engine_reject(Engine *e, Step *st, const Identity *who, const char *comment);
/* Break-glass (Session.BreakGlass): the step waiting for approval runs without the approvals it
 * still needs, on the word of 'who' and their reason; the session then needs a review. -EPERM:
 * the runbook forbids it ("break_glass": false); -ENOKEY: no person behind the caller; -ESTALE:
 * not waiting for approval. */
int engine_break_glass(Engine *e, Step *st, const Identity *who, const char *reason);
/* The after-the-fact review of a session that ran a step by break-glass (finished or not).
 * -ENOMSG: it needs none (or has one); -EPERM: 'who' broke the glass there; -ENOKEY: no person. */
int engine_review(Engine *e, Session *s, const Identity *who, const char *comment);
/* -EALREADY: cancelled already, its command is being stopped (rollback or finally steps follow) */
int engine_cancel(Engine *e, Session *s, const Identity *who);
/* An interrupted session: its interrupted step waits for a fresh approval. A session that failed
 * or timed out at a step (and whose rollback did not run): that step is re-armed behind a fresh
 * approval and the session goes on from it. -ENOMSG (with *ret_error saying why for a failed
 * one): neither; -ENOBUFS: too many active sessions. */
int engine_retry(Engine *e, Session *s, const Identity *who, char **ret_error);

/* True while the session is in the engine's active set (not finished; not a read-only copy). */
bool engine_session_is_active(const Session *s);

/* The step now waiting for approval, or NULL. */
Step *session_waiting_step(Session *s);
/* The step a break-glass would run: the one waiting for approval, or the one waiting for its
 * change window (NULL: none). */
Step *session_break_glass_step(Session *s);

/* Output of a step: live from a running command, else from the store. */
int engine_get_output(Engine *e, Step *st, uint8_t **ret_out, size_t *ret_out_n, uint8_t **ret_err,
                      size_t *ret_err_n, bool *ret_truncated);
/* The output of host 'target' of a group step (-ENOENT: no such host in the step). */
int engine_get_host_output(Engine *e, Step *st, const char *target, uint8_t **ret_out, size_t *ret_out_n,
                           uint8_t **ret_err, size_t *ret_err_n, bool *ret_truncated);

Store *engine_store(Engine *e);
