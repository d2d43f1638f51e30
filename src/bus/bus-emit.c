/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-emit.c: announcements and replies wait for the store to be durable. Changes are collected;
 * a flush syncs the store once (group commit), announces new objects and changed properties, and
 * sends the queued replies: at idle once a reply is queued, else within ANNOUNCE_DELAY_USEC. */
#include <inttypes.h>
#include <stdio.h>

#include "bus/bus-emit.h"
#include "bus/bus-errors.h"
#include "bus/bus-objects.h"
#include "daemon/manager.h"
#include "shared/log.h"

#define ANNOUNCE_DELAY_USEC (10 * USEC_PER_MSEC)

/* A reply is sent as soon as the loop is idle (after the store is synced, once for all the
 * calls handled in this iteration), and so is a change marked 'now' (a session that stops).
 * Other changes are announced within ANNOUNCE_DELAY_USEC: the commits of a busy stretch (a
 * fan-out, a run of quick steps) share one fsync instead of one each. */
static void arm(Manager *m, bool now) {
        int enabled = SD_EVENT_OFF;

        if (now) {
                if (m->flush_source)
                        (void) sd_event_source_set_enabled(m->flush_source, SD_EVENT_ONESHOT);
                return;
        }
        if (!m->announce_timer ||
            (sd_event_source_get_enabled(m->announce_timer, &enabled) >= 0 && enabled != SD_EVENT_OFF))
                return;
        (void) sd_event_source_set_time_relative(m->announce_timer, ANNOUNCE_DELAY_USEC);
        (void) sd_event_source_set_enabled(m->announce_timer, SD_EVENT_ONESHOT);
}

void bus_queue_changed(Manager *m, uint32_t session, int32_t step, bool added, bool now) {
        /* consecutive changes of the same object fold into one */
        for (size_t i = m->n_changed; i > 0 && i + 8 > m->n_changed; i--) {
                ChangedObject *c = &m->changed[i - 1];
                if (c->session == session && c->step == step) {
                        c->added = c->added || added;
                        arm(m, now);
                        return;
                }
        }
        if (GREEDY_REALLOC(m->changed, m->n_changed_allocated, m->n_changed + 1) < 0) {
                log_oom();
                return;
        }
        m->changed[m->n_changed++] = (ChangedObject) { session, step, added };
        arm(m, now);
}

int bus_queue_reply(Manager *m, sd_bus_message *call, sd_bus_message *reply) {
        if (GREEDY_REALLOC(m->replies, m->n_replies_allocated, m->n_replies + 1) < 0) {
                sd_bus_message_unref(reply);
                return -ENOMEM;
        }
        m->replies[m->n_replies++] = (PendingReply) { sd_bus_message_ref(call), reply };
        arm(m, true);
        return 0;
}

static void announce(Manager *m, const ChangedObject *c) {
        _cleanup_free_ char *path = NULL;
        int r;

        path = c->step < 0 ? session_path(c->session) : step_path(c->session, (uint32_t) c->step);
        if (!path)
                return;
        if (c->added) {
                r = sd_bus_emit_object_added(m->bus, path);
                if (r < 0)
                        log_debug_errno(r, "Failed to announce %s: %m", path);
                if (c->step < 0)
                        (void) sd_bus_emit_signal(m->bus, "/org/runbookd1", "org.runbookd1.Manager", "SessionNew", "uo",
                                                  c->session, path);
                return;
        }
        r = sd_bus_emit_properties_changed_strv(m->bus, path,
                                                c->step < 0 ? "org.runbookd1.Session" : "org.runbookd1.Step", NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to send PropertiesChanged for %s: %m", path);
}

static int flush_cb(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        ChangedObject *changed;
        PendingReply *replies;
        size_t n_changed, n_replies;
        int r;

        (void) sd_event_source_set_enabled(m->announce_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(m->flush_source, SD_EVENT_OFF);
        r = store_sync(m->store);
        if (r < 0)
                log_error_errno(r, "Failed to make the state store durable: %m");

        /* take the queues: announcing may lead to more changes being queued */
        changed = TAKE_PTR(m->changed);
        n_changed = m->n_changed;
        m->n_changed = m->n_changed_allocated = 0;
        replies = TAKE_PTR(m->replies);
        n_replies = m->n_replies;
        m->n_replies = m->n_replies_allocated = 0;

        for (size_t i = 0; i < n_changed; i++)
                announce(m, &changed[i]);
        for (size_t i = 0; i < n_replies; i++) {
                if (r < 0) {
                        /* not durable: do not claim success */
                        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                        (void) sd_bus_error_setf(&e, BUS_ERROR_STORE_FAILED,
                                                 "runbookd could not make this durable in its state store: %s",
                                                 strerror(-r));
                        (void) sd_bus_reply_method_error(replies[i].call, &e);
                } else
                        (void) sd_bus_send(m->bus, replies[i].reply, NULL);
                sd_bus_message_unref(replies[i].call);
                sd_bus_message_unref(replies[i].reply);
        }
        free(changed);
        free(replies);
        return 0;
}

static int announce_timer_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        return flush_cb(s, userdata);
}

/* The engine's hooks: what it created or changed is announced once it is durable. */
static void hook_session_new(Session *s, void *userdata) {
        Manager *m = userdata;

        bus_queue_changed(m, s->id, -1, true, false);
        for (size_t i = 0; i < s->n_steps; i++)
                bus_queue_changed(m, s->id, (int32_t) i, true, false);
}

/* Notifications were committed: the notifier sends them once the store is synced. */
static void hook_outbox(void *userdata) {
        Manager *m = userdata;

        notifier_kick(m->notifier);
}

/* Retention removed a finished session (its removal is synced): what was queued about it goes,
 * and it is announced gone: SessionRemoved, and InterfacesRemoved for it and its steps. */
static void hook_session_removed(uint32_t id, size_t n_steps, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ char *path = NULL;
        size_t k = 0;
        int r;

        for (size_t i = 0; i < m->n_changed; i++)
                if (m->changed[i].session != id)
                        m->changed[k++] = m->changed[i];
        m->n_changed = k;

        if (!m->bus)
                return;
        path = session_path(id);
        if (!path)
                return (void) log_oom();
        for (size_t i = 0; i < n_steps; i++) {
                _cleanup_free_ char *sp = step_path(id, (uint32_t) i);
                if (!sp)
                        return (void) log_oom();
                r = sd_bus_emit_interfaces_removed(m->bus, sp, "org.runbookd1.Step", NULL);
                if (r < 0)
                        log_debug_errno(r, "Failed to announce the removal of %s: %m", sp);
        }
        /* named explicitly: the object cannot be found any more to list its interfaces */
        r = sd_bus_emit_interfaces_removed(m->bus, path, "org.runbookd1.Session", NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to announce the removal of %s: %m", path);
        r = sd_bus_emit_signal(m->bus, "/org/runbookd1", "org.runbookd1.Manager", "SessionRemoved", "uo", id, path);
        if (r < 0)
                log_debug_errno(r, "Failed to send SessionRemoved for session %" PRIu32 ": %m", id);
}

static void hook_changed(Session *s, Step *st, void *userdata) {
        Manager *m = userdata;
        /* a session that stops (at its end, at a gate, interrupted) is what clients wait for:
         * announced at once; progress in between may wait a little and share an fsync */
        bool stops = session_state_is_final(s->state) || s->state == SESSION_WAITING_APPROVAL ||
                s->state == SESSION_WAITING_LOCK || s->state == SESSION_WAITING_WINDOW ||
                s->state == SESSION_INTERRUPTED;

        if (st)
                bus_queue_changed(m, s->id, (int32_t) st->index, false, stops);
        bus_queue_changed(m, s->id, -1, false, stops);
}

void bus_emit_free(Manager *m) {
        for (size_t i = 0; i < m->n_replies; i++) {
                sd_bus_message_unref(m->replies[i].call);
                sd_bus_message_unref(m->replies[i].reply);
        }
        m->replies = mfree(m->replies);
        m->n_replies = m->n_replies_allocated = 0;
        m->changed = mfree(m->changed);
        m->n_changed = m->n_changed_allocated = 0;
        m->flush_source = sd_event_source_disable_unref(m->flush_source);
        m->announce_timer = sd_event_source_disable_unref(m->announce_timer);
}

int bus_emit_setup(Manager *m) {
        int r;

        engine_set_hooks(m->engine, &(EngineHooks) {
                .session_new = hook_session_new,
                .changed = hook_changed,
                .outbox = hook_outbox,
                .session_removed = hook_session_removed,
                .userdata = m,
        });

        r = sd_event_add_time(m->event, &m->announce_timer, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_MSEC,
                              announce_timer_cb, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(m->announce_timer, "announce");
        r = sd_event_source_set_enabled(m->announce_timer, SD_EVENT_OFF);
        if (r < 0)
                return r;

        r = sd_event_add_defer(m->event, &m->flush_source, flush_cb, m);
        if (r < 0)
                return r;
        /* after the bus has handled what is queued: that is what groups the commits */
        r = sd_event_source_set_priority(m->flush_source, SD_EVENT_PRIORITY_IDLE);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(m->flush_source, "flush");
        return sd_event_source_set_enabled(m->flush_source, SD_EVENT_OFF);
}
