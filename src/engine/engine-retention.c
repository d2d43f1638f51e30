/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine-retention.c: "retention" in runbookd.json. Finished sessions are removed from the store
 * once they finished more than max_age_days ago, or once they are not among the newest
 * max_sessions finished sessions (by id: the order they were started in).
 *
 * Never removed: a session that is not finished (in the engine's active set or the store's
 * 'active' database: running, waiting for approval, interrupted and waiting for an operator), and
 * a finished session whose break-glass still waits for its review. The audit records (and their
 * hash chain) and the notification outbox stay as they are.
 *
 * A pass walks the sessions newest first and removes in batches: at most RETENTION_BATCH_MAX
 * sessions and about RETENTION_TXN_KEYS_MAX keys (a session's output may be many chunks) in one
 * write transaction, after reading at most RETENTION_READ_MAX session records; then the store is
 * synced, the batch gets one journal record, the sessions are announced as removed (the bus's
 * SessionRemoved and InterfacesRemoved), and the loop serves others before the next batch. Passes
 * run after start-up, after a Reload, hourly, and shortly after sessions finish when max_sessions
 * is set. The pages freed go to LMDB's free list, which later commits reuse (no reader keeps an
 * old snapshot for long: the store's pin moves at every sync), so a store at steady state stops
 * growing. */
#include <stdio.h>

#include "engine/engine-internal.h"
#include "journal/events.h"
#include "shared/log.h"
#include "store/store-records.h"

#define RETENTION_BATCH_MAX 32u           /* sessions removed in one transaction */
#define RETENTION_TXN_KEYS_MAX 2048u      /* keys deleted in one transaction, about */
#define RETENTION_READ_MAX 512u           /* session records read for one batch */
#define RETENTION_GAP_USEC (5 * USEC_PER_MSEC)          /* between the batches of a pass */
#define RETENTION_AFTER_FINISH_USEC (1 * USEC_PER_SEC)  /* sessions finishing together share a pass */
#define RETENTION_PERIOD_USEC (3600 * USEC_PER_SEC)
#define RETENTION_RETRY_USEC (60 * USEC_PER_SEC)        /* after a failed batch */

typedef struct Candidate {
        uint32_t id;
        uint32_t n_steps;
        uint64_t rank;            /* finished sessions newer than it */
        bool by_age, by_count;
} Candidate;

typedef struct Batch {
        Engine *engine;
        Candidate cand[RETENTION_BATCH_MAX];
        size_t n_cand;
        uint64_t n_final;         /* finished sessions seen, the pass's before it included */
        /* store_write()'s function's results (it may run more than once: reset each time) */
        bool removed[RETENTION_BATCH_MAX];
        size_t n_removed;
        ssize_t cut;              /* the candidate the key budget ran out at (-1: none) */
} Batch;

static usec_t retention_now(Engine *e) {
        return e->realtime ? e->realtime() : now_usec(CLOCK_REALTIME);
}

static bool retention_enabled(const Engine *e) {
        return e->config.retention_max_age_days > 0 || e->config.retention_max_sessions > 0;
}

/* Arms the timer 'delay' from now, unless it is armed to fire sooner already. */
static void retention_arm(Engine *e, usec_t delay) {
        int enabled = SD_EVENT_OFF;
        uint64_t at = 0, now = 0;

        if (!e->retention.timer)
                return;
        if (sd_event_now(e->event, CLOCK_MONOTONIC, &now) < 0)
                now = now_usec(CLOCK_MONOTONIC);
        if (sd_event_source_get_enabled(e->retention.timer, &enabled) >= 0 && enabled != SD_EVENT_OFF &&
            sd_event_source_get_time(e->retention.timer, &at) >= 0 && at <= now + delay)
                return;
        (void) sd_event_source_set_time(e->retention.timer, now + delay);
        (void) sd_event_source_set_enabled(e->retention.timer, SD_EVENT_ONESHOT);
}

static int select_cb(const SessionSummary *sum, void *userdata) {
        Batch *b = userdata;
        Engine *e = b->engine;
        const EngineConfig *c = &e->config;
        uint64_t rank;
        usec_t finished;
        Candidate *cd;

        if (sum->state < 0 || !session_state_is_final(sum->state))
                return 0;         /* not finished (interrupted included): not counted, never removed */
        rank = b->n_final++;
        if (engine_active_find(e, sum->id) || sum->review_required)
                return 0;
        finished = sum->finished_at > 0 ? sum->finished_at : sum->created_at;
        cd = &b->cand[b->n_cand];
        *cd = (Candidate) {
                .id = sum->id,
                .n_steps = (uint32_t) MIN(sum->n_steps, (size_t) SESSION_STEPS_MAX),
                .rank = rank,
                .by_count = c->retention_max_sessions > 0 && rank >= c->retention_max_sessions,
                .by_age = c->retention_max_age_days > 0 &&
                          finished + (usec_t) c->retention_max_age_days * 24 * 3600 * USEC_PER_SEC <= e->retention.now,
        };
        if (!cd->by_count && !cd->by_age)
                return 0;
        return ++b->n_cand >= RETENTION_BATCH_MAX ? 1 : 0;
}

static int prune_fn(StoreTxn *t, void *userdata) {
        Batch *b = userdata;
        size_t budget = RETENTION_TXN_KEYS_MAX;

        b->n_removed = 0;
        b->cut = -1;
        for (size_t i = 0; i < b->n_cand; i++) {
                int r = store_prune_session(t, b->cand[i].id, &budget);

                b->removed[i] = r > 0;
                if (r == -EBUSY)
                        continue;   /* active after all: kept */
                if (r < 0)
                        return r;
                if (r == 0) {
                        b->cut = (ssize_t) i;
                        break;
                }
                b->n_removed++;
        }
        return t->ret;
}

/* What a batch removed: out of the cache, into the journal, and announced. */
static void batch_announce(Engine *e, const Batch *b) {
        uint32_t ids[RETENTION_BATCH_MAX];
        size_t n = 0, by_age = 0, by_count = 0;

        for (size_t i = 0; i < b->n_cand; i++) {
                if (!b->removed[i])
                        continue;
                ids[n++] = b->cand[i].id;
                by_count += b->cand[i].by_count;
                by_age += b->cand[i].by_age && !b->cand[i].by_count;
                engine_cache_forget(e, b->cand[i].id);
        }
        if (n == 0)
                return;
        event_sessions_pruned(ids, n, by_age, by_count, e->config.retention_max_age_days,
                              e->config.retention_max_sessions);
        for (size_t i = 0; i < b->n_cand; i++)
                if (b->removed[i] && e->hooks.session_removed)
                        e->hooks.session_removed(b->cand[i].id, b->cand[i].n_steps, e->hooks.userdata);
}

/* One batch of the pass: 1 when the pass goes on, 0 when it is done, or a negative errno. */
static int retention_batch(Engine *e) {
        Batch b = { .engine = e, .n_final = e->retention.n_final, .cut = -1 };
        uint32_t next = 0;
        StoreTxn t;
        int r;

        r = store_read_begin(e->store, &t);
        if (r < 0)
                return r;
        r = store_walk_sessions(&t, e->retention.below, RETENTION_READ_MAX, select_cb, &b, &next);
        store_read_end(&t);
        if (r < 0)
                return r;

        if (b.n_cand > 0) {
                r = store_write(e->store, prune_fn, &b);
                if (r < 0)
                        return r;
                /* announce nothing that is not durable */
                r = store_sync(e->store);
                if (r < 0)
                        return r;
                e->retention.n_removed += b.n_removed;
                batch_announce(e, &b);
        }

        if (b.cut >= 0) {
                /* the key budget ran out within this session: the next batch goes on with it */
                e->retention.below = b.cand[b.cut].id + 1;
                e->retention.n_final = b.cand[b.cut].rank;
                return 1;
        }
        e->retention.below = next;
        e->retention.n_final = b.n_final;
        return next > 0;
}

static int retention_timer_cb(sd_event_source *source, uint64_t usec, void *userdata) {
        Engine *e = userdata;
        int r;

        if (!retention_enabled(e)) {
                e->retention.running = false;
                return 0;
        }
        if (!e->retention.running) {
                e->retention.running = true;
                e->retention.again = false;
                e->retention.below = 0;
                e->retention.n_final = 0;
                e->retention.n_removed = 0;
                e->retention.now = retention_now(e);
        }

        r = retention_batch(e);
        if (r > 0) {
                retention_arm(e, RETENTION_GAP_USEC);
                return 0;
        }
        e->retention.running = false;
        if (r < 0) {
                log_warning_errno(r, "Retention: removing finished sessions failed (trying again in %u s): %m",
                                  (unsigned) (RETENTION_RETRY_USEC / USEC_PER_SEC));
                retention_arm(e, RETENTION_RETRY_USEC);
                return 0;
        }
        e->retention.n_passes++;
        if (e->retention.n_removed > 0)
                log_debug("engine: retention pass removed %" PRIu64 " session(s)", e->retention.n_removed);
        retention_arm(e, e->retention.again ? RETENTION_AFTER_FINISH_USEC : RETENTION_PERIOD_USEC);
        return 0;
}

void engine_retention_kick(Engine *e) {
        if (!e->retention.timer)
                return;
        e->retention.running = false;   /* a pass under way starts again from the newest */
        if (!retention_enabled(e)) {
                (void) sd_event_source_set_enabled(e->retention.timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_enabled(e->retention.timer, SD_EVENT_OFF);
        retention_arm(e, 0);
}

void engine_retention_session_finished(Engine *e) {
        if (!e->loaded || e->config.retention_max_sessions == 0)
                return;
        if (e->retention.running)
                e->retention.again = true;
        else
                retention_arm(e, RETENTION_AFTER_FINISH_USEC);
}

int engine_retention_init(Engine *e) {
        int r;

        r = sd_event_add_time(e->event, &e->retention.timer, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_MSEC,
                              retention_timer_cb, e);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(e->retention.timer, "engine-retention");
        /* below what the bus and the steps need: those are served first */
        (void) sd_event_source_set_priority(e->retention.timer, SD_EVENT_PRIORITY_NORMAL + 10);
        return sd_event_source_set_enabled(e->retention.timer, SD_EVENT_OFF);
}

void engine_retention_done(Engine *e) {
        e->retention.timer = sd_event_source_disable_unref(e->retention.timer);
}
