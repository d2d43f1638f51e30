/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine-start.c: a step's start is durable before its command runs.
 *
 * The 'running' record is an LMDB commit, which the store makes durable later (group commit). A
 * command may start before that only if something else already stands for its start on disk:
 *
 *   - a step started by a decision (StartSession, Approve, the loop after a restart): the store is
 *     synced before the command starts, so the decision that let it run is durable with it;
 *   - a step that follows a step that just succeeded: a start-log record. That record is written
 *     ahead, while the step before it runs, when the next step will start by itself (it needs no
 *     approval); so the common case of a chain of steps waits for no disk write between them.
 *     After quick steps one record covers the next few (a span that doubles with each step
 *     quicker than START_AHEAD_QUICK_USEC, up to START_AHEAD_SPAN_MAX): one write for all.
 *
 * Meta "start_seq" (the watermark) is committed with every store write: every start-log record
 * up to it is reflected in the store (its step's start is committed, or that step can no longer
 * start under it). Records written ahead and not yet resolved hold it back.
 *
 * After a restart in the same boot of the machine the store has every commit (the page cache
 * survives a crash of runbookd), and the log is not read. After a reboot the store may have lost
 * its last commits: every record above the watermark whose step the store does not show started
 * names steps that may have started, which then count as interrupted: never as not run. With
 * records written ahead that may include the steps after the one that ran (as many as the
 * record covers); Retry (with a fresh approval) decides for each. */
#include <inttypes.h>

#include "engine/engine-internal.h"
#include "shared/log.h"
#include "store/start-log.h"

static void ahead_remove(Engine *e, size_t i) {
        memmove(e->ahead + i, e->ahead + i + 1, (e->n_ahead - i - 1) * sizeof(StartAhead));
        e->n_ahead--;
}

static StartAhead *ahead_find(Engine *e, uint32_t session) {
        for (size_t i = 0; i < e->n_ahead; i++)
                if (e->ahead[i].session == session)
                        return &e->ahead[i];
        return NULL;
}

void session_drop_start_ahead(Session *s) {
        Engine *e = session_engine(s);
        StartAhead *a = ahead_find(e, s->id);

        if (a)
                ahead_remove(e, (size_t) (a - e->ahead));
}

uint64_t engine_start_watermark(Engine *e, bool own_record) {
        uint64_t w = start_log_next_seq(store_start_log(e->store));

        if (!own_record)
                w--;
        for (size_t i = 0; i < e->n_ahead; i++)
                w = MIN(w, e->ahead[i].seq - 1);
        return w;
}

bool step_take_start_ahead(Step *st) {
        Session *s = st->session;
        StartAhead *a = ahead_find(session_engine(s), s->id);
        bool ok;

        if (!a)
                return false;
        ok = a->step == st->index && a->attempt == st->attempt &&
             start_log_holds(store_start_log(session_engine(s)->store), a->seq);
        if (ok && st->index < a->last)
                a->step = st->index + 1;  /* it stands for the steps after this one still */
        else
                /* its last step starts, or it cannot be used: either way it is resolved */
                ahead_remove(session_engine(s), (size_t) (a - session_engine(s)->ahead));
        return ok;
}

void step_note_duration(Step *st, usec_t duration) {
        Session *s = st->session;

        /* quick steps: one record for more of them, doubling up to START_AHEAD_SPAN_MAX; a step
         * that takes long hides the write of a record for its successor alone */
        if (duration < session_engine(s)->start_ahead_quick_usec)
                session_rt(s)->ahead_span = MIN(MAX(session_rt(s)->ahead_span, 1u) * 2, START_AHEAD_SPAN_MAX);
        else
                session_rt(s)->ahead_span = 1;
}

int step_start_durable(Step *st, bool chained) {
        Session *s = st->session;
        Engine *e = session_engine(s);

        if (chained)
                return start_log_append(store_start_log(e->store), s->id, st->index, st->attempt);
        return store_sync(e->store);
}

/* The step after st, if it would start by itself once st succeeds. */
static Step *step_next_chained(Step *st) {
        Session *s = st->session;
        Step *next;

        if (st->index + 1 >= s->n_steps)
                return NULL;
        next = &s->steps[st->index + 1];
        /* not across phases: after the flow come rollback steps, which run only when it fails */
        if (next->phase != st->phase && (next->phase > PHASE_POSTCHECK || st->phase > PHASE_POSTCHECK))
                return NULL;
        return next->state == STEP_PENDING && !next->requires_approval ? next : NULL;
}

static void step_write_start_ahead(Step *st) {
        Session *s = st->session;
        Engine *e = session_engine(s);
        StartLog *log = store_start_log(e->store);
        Step *next = step_next_chained(st);
        uint64_t seq;
        uint32_t n = 1;
        int r;

        if (!next || ahead_find(e, s->id))
                return;
        /* the steps after it that would start by themselves too, at the same attempt */
        for (Step *o = next; n < MAX(session_rt(s)->ahead_span, 1u); n++) {
                o = step_next_chained(o);
                if (!o || o->attempt != next->attempt)
                        break;
        }
        if (GREEDY_REALLOC(e->ahead, e->n_ahead_allocated, e->n_ahead + 1) < 0) {
                log_oom();
                return;
        }
        seq = start_log_next_seq(log);
        r = start_log_append_range(log, s->id, next->index, next->attempt, n);
        if (r < 0) {
                /* not fatal: the next step writes its own record when it starts */
                log_debug_errno(r, "engine: cannot write session %u step %u's start ahead: %m", s->id, next->index);
                return;
        }
        e->ahead[e->n_ahead++] = (StartAhead) {
                .session = s->id,
                .step = next->index,
                .last = next->index + n - 1,
                .attempt = next->attempt,
                .seq = seq,
        };
}

/* Writes the records asked for, once the loop is idle: after the replies and announcements of
 * this iteration (bus-emit.c flushes at SD_EVENT_PRIORITY_IDLE), so that a quick command's end
 * is not taken before the change that started it is announced. A step whose command ended
 * already simply writes its own record when the next step starts. */
static int ahead_writer_cb(sd_event_source *source, void *userdata) {
        Engine *e = userdata;
        _cleanup_free_ uint32_t *ids = TAKE_PTR(e->want_ahead);
        size_t n = e->n_want_ahead;

        e->n_want_ahead = e->n_want_ahead_allocated = 0; /* the array went with the ids */
        for (size_t i = 0; i < n; i++) {
                Session *s = engine_active_find(e, ids[i]);
                Step *st;

                if (!s || s->current_step < 0 || (size_t) s->current_step >= s->n_steps)
                        continue;
                st = &s->steps[s->current_step];
                if (st->state == STEP_RUNNING)
                        step_write_start_ahead(st);
        }
        return sd_event_source_set_enabled(source, SD_EVENT_OFF);
}

void step_want_start_ahead(Step *st) {
        Session *s = st->session;
        Engine *e = session_engine(s);

        if (!e->ahead_writer || !step_next_chained(st))
                return;
        if (GREEDY_REALLOC(e->want_ahead, e->n_want_ahead_allocated, e->n_want_ahead + 1) < 0) {
                log_oom();
                return;
        }
        e->want_ahead[e->n_want_ahead++] = s->id;
        (void) sd_event_source_set_enabled(e->ahead_writer, SD_EVENT_ONESHOT);
}

int engine_start_init(Engine *e) {
        int r;

        r = sd_event_add_defer(e->event, &e->ahead_writer, ahead_writer_cb, e);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(e->ahead_writer, SD_EVENT_OFF);
        (void) sd_event_source_set_priority(e->ahead_writer, SD_EVENT_PRIORITY_IDLE + 1);
        (void) sd_event_source_set_description(e->ahead_writer, "engine-start-ahead");
        return 0;
}

void engine_start_done(Engine *e) {
        e->ahead_writer = sd_event_source_disable_unref(e->ahead_writer);
        e->want_ahead = mfree(e->want_ahead);
        e->n_want_ahead = e->n_want_ahead_allocated = 0;
        e->ahead = mfree(e->ahead);
        e->n_ahead = e->n_ahead_allocated = 0;
}

/* The highest attempt a start record may name: far above any real count of retries, far below
 * where counting on would wrap around. */
#define REPLAY_ATTEMPT_MAX (UINT32_MAX / 2)

/* After a reboot: the steps whose start is in the start log but not in the store may have run.
 * They are marked running (and so become interrupted when the engine loads). */
void engine_replay_starts(Engine *e, uint64_t start_seq) {
        _cleanup_free_ StartRecord *recs = NULL;
        StartLog *log = store_start_log(e->store);
        size_t n = 0;
        int r;

        start_log_seq_at_least(log, start_seq);
        e->start_seq_stored = start_seq;
        if (store_same_boot(e->store))
                return;
        r = start_log_read(log, start_seq, &recs, &n);
        if (r < 0) {
                log_warning_errno(r, "Failed to read the start log, ignoring: %m");
                return;
        }
        for (size_t i = 0; i < n; i++) {
                Session *s = engine_active_find(e, recs[i].session);

                if (!s || recs[i].step >= s->n_steps) {
                        log_debug("engine: start record %" PRIu64 " names no active step, ignoring", recs[i].seq);
                        continue;
                }
                if (recs[i].attempt == 0 || recs[i].attempt > REPLAY_ATTEMPT_MAX) {
                        /* no runbookd numbers an attempt so (and a retry must still count on) */
                        log_warning("Start record %" PRIu64 " names attempt %" PRIu32 " of session %" PRIu32
                                    " step %" PRIu32 ", which cannot be; ignoring it.",
                                    recs[i].seq, recs[i].attempt, recs[i].session, recs[i].step);
                        continue;
                }
                for (uint32_t k = recs[i].step; k < s->n_steps && k - recs[i].step < recs[i].count; k++) {
                        Step *st = &s->steps[k];

                        if (st->attempt > recs[i].attempt ||
                            (st->attempt == recs[i].attempt && st->state != STEP_PENDING &&
                             st->state != STEP_WAITING_APPROVAL && st->state != STEP_APPROVED))
                                continue; /* the store knows of this start already */
                        log_warning("Session %u step %u attempt %u may have started before the machine restarted, but "
                                    "the store does not have that record: it counts as running.",
                                    s->id, st->index, recs[i].attempt);
                        st->attempt = recs[i].attempt;
                        st->state = STEP_RUNNING;
                        st->retry_at = 0;
                        step_rt(st)->start_replayed = true;
                        step_rt(st)->dirty = true;
                }
        }
}
