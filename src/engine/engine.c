/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>

#include "connector/connector.h"
#include "engine/engine.h"
#include "journal/events.h"
#include "shared/log.h"
#include "store/store-records.h"
#include "engine/engine-internal.h"


void engine_hooks_changed(Engine *e, Session *s, Step *st) {
        if (e->hooks.changed)
                e->hooks.changed(s, st, e->hooks.userdata);
}

int engine_set_error(char **field, const char *fmt, ...) {
        char *m = NULL;
        va_list ap;

        va_start(ap, fmt);
        (void) vasprintf_safe(&m, fmt, ap);
        va_end(ap);
        free(*field);
        *field = m;
        return m ? 0 : -ENOMEM;
}

/* Writes what changed of a session (all of it with c->force: a new session). */
static void save_changed(StoreTxn *t, Session *s, bool force) {
        SessionRuntime *rt = session_rt(s);

        if (force || rt->dirty)
                store_save_session(t, s, force);
        for (size_t i = 0; i < s->n_steps; i++) {
                const Step *st = &s->steps[i];
                if (force || rt->steps[i].dirty)
                        store_save_step(t, st);
                for (size_t h = 0; h < st->n_hosts; h++)
                        if (force || rt->steps[i].hosts[h].dirty)
                                store_save_host(t, &st->hosts[h]);
        }
}

/* After a commit: nothing of the session is left unwritten. */
static void mark_clean(Session *s) {
        SessionRuntime *rt = session_rt(s);

        rt->dirty = false;
        for (size_t i = 0; i < s->n_steps; i++) {
                rt->steps[i].dirty = false;
                for (size_t h = 0; h < s->steps[i].n_hosts; h++)
                        rt->steps[i].hosts[h].dirty = false;
        }
}

static int persist_fn(StoreTxn *t, void *userdata) {
        PersistCtx *c = userdata;
        Session *s = c->session;
        SessionRuntime *rt = session_rt(s);

        save_changed(t, s, c->force);
        if (c->write_next_id)
                store_meta_put_u64(t, "next_session_id", (uint64_t) s->id + 1);
        if (c->start_seq != rt->engine->start_seq_stored)
                store_meta_put_u64(t, "start_seq", c->start_seq);
        if (c->clear_output)
                store_del_output(t, s->id, c->clear_output->index);
        if (c->host_output)
                for (uint8_t i = 0; i < 2; i++)
                        store_put_host_output(t, s->id, c->host_output->step->index, c->host_output->index, i,
                                              c->host_data[i], c->host_size[i]);
        if (rt->pending_output.set)
                for (uint8_t i = 0; i < 2; i++)
                        store_put_output(t, s->id, rt->pending_output.step, i, rt->pending_output.data[i],
                                         rt->pending_output.size[i]);
        if (c->audit)
                store_audit_append(t, c->audit);
        if (c->outbox)
                engine_notify_write(t, rt->engine->store, c->outbox);
        return t->ret;
}

int engine_persist(Engine *e, PersistCtx *c) {
        int r;

        c->start_seq = engine_start_watermark(e, c->start_record);
        c->outbox = session_rt(c->session)->n_notify > 0 ? engine_notify_records(e, c->session) : NULL;
        r = store_write(e->store, persist_fn, c);
        json_decref(c->audit);
        c->audit = NULL;
        /* written: the notifier is told. Not written: the events stay queued for the session's
         * next commit, with the transition that stays in memory; a caller that takes its
         * transition back drops them (session_notify_clear()) */
        if (r >= 0)
                session_notify_clear(c->session);
        if (c->outbox && r >= 0 && e->hooks.outbox)
                e->hooks.outbox(e->hooks.userdata);
        json_decref(c->outbox);
        c->outbox = NULL;
        if (r < 0)
                return log_debug_errno(r, "engine: failed to write session %u: %m", c->session->id);
        e->start_seq_stored = c->start_seq;
        mark_clean(c->session);
        if (!c->keep_pending)
                session_flush_pending(c->session);
        return 0;
}

/* After a commit: the finished step's output is in the store, and its result record may go. */
void session_flush_pending(Session *s) {
        SessionRuntime *rt = session_rt(s);

        if (rt->pending_output.set) {
                for (unsigned i = 0; i < 2; i++)
                        rt->pending_output.data[i] = mfree(rt->pending_output.data[i]);
                rt->pending_output.set = false;
        }
        if (rt->pending_result.set) {
                StepResult res = {
                        .outcome = rt->pending_result.outcome,
                        .error = rt->pending_result.error,
                        .duration_usec = rt->pending_result.duration_usec,
                        .connection = rt->pending_result.connection,
                };
                rt->pending_result.set = false;
                event_step_result(&s->steps[rt->pending_result.step], rt->pending_result.success, &res);
                if (rt->pending_result.success && s->steps[rt->pending_result.step].captured)
                        event_step_captured(&s->steps[rt->pending_result.step]);
                rt->pending_result.connection = mfree(rt->pending_result.connection);
        }
}

int engine_persist_session(Session *s) {
        PersistCtx c = { .session = s };
        return engine_persist(session_engine(s), &c);
}

int engine_persist_session_durably(Session *s) {
        int r = engine_persist_session(s);
        return r < 0 ? r : store_sync(session_engine(s)->store);
}

json_t *engine_audit_event(const char *what, const Session *s, const Step *st, const Identity *who, const char *comment) {
        json_t *j = json_pack("{s:s,s:I,s:I,s:I,s:s}", "event", what, "time", (json_int_t) now_usec(CLOCK_REALTIME),
                              "session", (json_int_t) s->id, "uid", (json_int_t) who->uid, "user", strempty(who->user));
        if (!j)
                return NULL;
        if (uid_is_valid(who->login_uid)) {
                json_object_set_new(j, "login_uid", json_integer((json_int_t) who->login_uid));
                json_object_set_new(j, "login_user", json_string(strempty(who->login_user)));
        }
        if (st) {
                json_object_set_new(j, "step", json_integer(st->index));
                json_object_set_new(j, "digest", json_string(st->digest));
                json_object_set_new(j, "attempt", json_integer(st->attempt));
        }
        if (comment)
                json_object_set_new(j, "comment", json_string(comment));
        return j;
}

/* ---- active set and read cache ---- */

static size_t active_pos(Engine *e, uint32_t id) {
        size_t lo = 0, hi = e->n_active;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (e->active[mid]->id < id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

Session *engine_active_find(Engine *e, uint32_t id) {
        size_t p = active_pos(e, id);
        return p < e->n_active && e->active[p]->id == id ? e->active[p] : NULL;
}

int engine_active_add(Engine *e, Session *s) {
        size_t p;

        if (GREEDY_REALLOC(e->active, e->n_allocated, e->n_active + 1) < 0)
                return -ENOMEM;
        p = active_pos(e, s->id);
        memmove(e->active + p + 1, e->active + p, (e->n_active - p) * sizeof(Session *));
        e->active[p] = s;
        e->n_active++;
        session_rt(s)->active = true;
        return 0;
}

void engine_cache_forget(Engine *e, uint32_t id) {
        for (unsigned i = 0; i < ENGINE_CACHE_SIZE; i++)
                if (e->cache[i] && e->cache[i]->id == id && !engine_session_is_active(e->cache[i]))
                        e->cache[i] = engine_session_free(e->cache[i]);
}

static void cache_add(Engine *e, Session *s) {
        unsigned i = e->cache_next++ % ENGINE_CACHE_SIZE;

        engine_session_free(e->cache[i]);
        e->cache[i] = s;
}

int session_runtime_attach(Engine *e, Session *s) {
        SessionRuntime *rt;

        rt = calloc(1, sizeof(SessionRuntime));
        if (!rt)
                return -ENOMEM;
        rt->engine = e;
        rt->steps = calloc(MAX(s->n_steps, (size_t) 1), sizeof(StepRuntime));
        if (!rt->steps) {
                free(rt);
                return -ENOMEM;
        }
        s->runtime = rt;
        for (size_t i = 0; i < s->n_steps; i++)
                if (s->steps[i].n_hosts > 0) {
                        rt->steps[i].hosts = calloc(s->steps[i].n_hosts, sizeof(HostRuntime));
                        if (!rt->steps[i].hosts)
                                return -ENOMEM; /* the caller frees the session, and this with it */
                }
        return 0;
}

Session *engine_session_free(Session *s) {
        SessionRuntime *rt;

        if (!s)
                return NULL;
        rt = s->runtime;
        if (rt) {
                for (size_t i = 0; i < s->n_steps; i++) {
                        free(rt->steps[i].hosts);
                        step_secrets_free(rt->steps[i].secrets, rt->steps[i].n_secrets);
                        sd_event_source_disable_unref(rt->steps[i].retry_timer);
                        sd_event_source_disable_unref(rt->steps[i].deadline_timer);
                        sd_event_source_disable_unref(rt->steps[i].window_timer);
                }
                free(rt->steps);
                session_notify_clear(s);
                free(rt->notify);
                free(rt->pending_output.data[0]);
                free(rt->pending_output.data[1]);
                free(rt->pending_result.connection);
                free(rt);
                s->runtime = NULL;
        }
        return session_free(s);
}

bool engine_session_is_active(const Session *s) {
        return s->runtime && s->runtime->active;
}

/* A finished session leaves the active set; it stays readable from the cache for now. */
void session_deactivate(Session *s) {
        Engine *e = session_engine(s);
        size_t p = active_pos(e, s->id);

        if (!session_rt(s)->active)
                return;
        session_drop_start_ahead(s);
        for (size_t i = 0; i < s->n_steps; i++) {
                step_retry_disarm(&s->steps[i]);
                step_window_disarm(&s->steps[i]);
        }
        if (p < e->n_active && e->active[p] == s) {
                memmove(e->active + p, e->active + p + 1, (e->n_active - p - 1) * sizeof(Session *));
                e->n_active--;
        }
        session_rt(s)->active = false;
        if (session_rt(s)->lock_draining) {
                session_rt(s)->lock_draining = false;
                engine_locks_kick(e);
        }
        cache_add(e, s);
        engine_retention_session_finished(e);
}

int engine_get_session(Engine *e, uint32_t id, Session **ret) {
        StoreTxn t;
        Session *s;
        int r;

        s = engine_active_find(e, id);
        if (!s)
                for (unsigned i = 0; i < ENGINE_CACHE_SIZE; i++)
                        if (e->cache[i] && e->cache[i]->id == id) {
                                s = e->cache[i];
                                break;
                        }
        if (s) {
                *ret = s;
                return 0;
        }

        r = store_read_begin(e->store, &t);
        if (r < 0)
                return r;
        r = store_load_session(&t, id, &s);
        store_read_end(&t);
        if (r < 0)
                return r;
        r = session_runtime_attach(e, s);
        if (r < 0) {
                engine_session_free(s);
                return r;
        }
        cache_add(e, s);
        *ret = s;
        return 0;
}

size_t engine_n_active(Engine *e) {
        return e->n_active;
}

int engine_foreach_active(Engine *e, int (*fn)(Session *s, void *userdata), void *userdata) {
        for (size_t i = 0; i < e->n_active; i++) {
                int r = fn(e->active[i], userdata);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        return 0;
}

bool engine_is_idle(Engine *e) {
        return e->n_active == 0;
}

/* ---- jobs ---- */

static int reaper_cb(sd_event_source *source, void *userdata) {
        Engine *e = userdata;

        for (size_t i = 0; i < e->n_graveyard; i++)
                connector_job_free(e->graveyard[i]);
        e->n_graveyard = 0;
        return sd_event_source_set_enabled(source, SD_EVENT_OFF);
}

void engine_job_bury(Engine *e, ConnectorJob *job) {
        if (GREEDY_REALLOC(e->graveyard, e->n_graveyard_allocated, e->n_graveyard + 1) < 0) {
                log_oom();
                return; /* leak rather than free a job that may still be on the stack */
        }
        e->graveyard[e->n_graveyard++] = job;
        (void) sd_event_source_set_enabled(e->reaper, SD_EVENT_ONESHOT);
}

static int syncer_cb(sd_event_source *source, uint64_t usec, void *userdata) {
        Engine *e = userdata;
        int r;

        r = store_sync(e->store);
        if (r < 0)
                log_error_errno(r, "Failed to make the state store durable: %m");
        return sd_event_source_set_enabled(source, SD_EVENT_OFF);
}

/* What was committed becomes durable shortly (ENGINE_SYNC_DELAY_USEC): one fsync for all the
 * commits in between. What must be durable before something happens is synced right there (or
 * has its start-log record); this only bounds how long the rest can stay in the page cache, and
 * how many start-log records a start-up may have to replay. */
void engine_sync_soon(Engine *e) {
        int enabled = SD_EVENT_OFF;

        if (sd_event_source_get_enabled(e->syncer, &enabled) >= 0 && enabled != SD_EVENT_OFF)
                return;
        (void) sd_event_source_set_time_relative(e->syncer, ENGINE_SYNC_DELAY_USEC);
        (void) sd_event_source_set_enabled(e->syncer, SD_EVENT_ONESHOT);
}

/* ---- lifecycle ---- */

int engine_new(sd_event *event, Store *store, Engine **ret) {
        _cleanup_(engine_freep) Engine *e = NULL;
        int r;

        e = calloc(1, sizeof(Engine));
        if (!e)
                return -ENOMEM;
        e->event = sd_event_ref(event);
        e->store = store;
        e->next_id = 1;
        e->start_ahead_quick_usec = START_AHEAD_QUICK_USEC;
        e->config = (EngineConfig) {
                .output_cap = OUTPUT_CAP_DEFAULT,
                .max_active_sessions = ENGINE_MAX_ACTIVE_DEFAULT,
                .max_active_sessions_per_user = ENGINE_MAX_ACTIVE_PER_USER_DEFAULT,
        };
        r = sd_event_add_defer(event, &e->reaper, reaper_cb, e);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(e->reaper, SD_EVENT_OFF);
        (void) sd_event_source_set_description(e->reaper, "engine-reaper");
        r = sd_event_add_time(event, &e->syncer, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_MSEC,
                              syncer_cb, e);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(e->syncer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(e->syncer, "engine-sync");
        r = engine_start_init(e);
        if (r < 0)
                return r;
        r = engine_retention_init(e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(e);
        return 0;
}

Engine *engine_free(Engine *e) {
        if (!e)
                return NULL;
        for (size_t i = 0; i < e->n_active; i++) {
                Session *s = e->active[i];
                for (size_t j = 0; j < s->n_steps; j++) {
                        /* the daemon stops while a command runs: on the next start the
                         * step is found 'running' in the store and becomes interrupted */
                        StepRuntime *srt = &session_rt(s)->steps[j];
                        srt->job = connector_job_free(srt->job);
                        for (size_t h = 0; h < s->steps[j].n_hosts; h++)
                                srt->hosts[h].job = connector_job_free(srt->hosts[h].job);
                }
                engine_session_free(s);
        }
        free(e->active);
        for (unsigned i = 0; i < ENGINE_CACHE_SIZE; i++)
                engine_session_free(e->cache[i]);
        for (size_t i = 0; i < e->n_graveyard; i++)
                connector_job_free(e->graveyard[i]);
        free(e->graveyard);
        engine_start_done(e);
        engine_retention_done(e);
        sd_event_source_disable_unref(e->reaper);
        sd_event_source_disable_unref(e->syncer);
        sd_event_source_disable_unref(e->resumer);
        sd_event_source_disable_unref(e->lock_granter);
        sd_event_unref(e->event);
        free(e);
        return NULL;
}

void engine_set_hooks(Engine *e, const EngineHooks *hooks) {
        e->hooks = *hooks;
}

void engine_set_config(Engine *e, const EngineConfig *config) {
        bool retention_changed = e->config.retention_max_age_days != config->retention_max_age_days ||
                e->config.retention_max_sessions != config->retention_max_sessions;

        e->config = *config;
        if (e->config.output_cap == 0)
                e->config.output_cap = OUTPUT_CAP_DEFAULT;
        if (e->config.max_active_sessions == 0)
                e->config.max_active_sessions = ENGINE_MAX_ACTIVE_DEFAULT;
        if (e->config.max_active_sessions_per_user == 0)
                e->config.max_active_sessions_per_user = ENGINE_MAX_ACTIVE_PER_USER_DEFAULT;
        /* a Reload applies the policy at once (a pass from the newest: ranks may have changed);
         * at start-up engine_load() starts the first pass */
        if (e->loaded && (retention_changed || !e->retention.running))
                engine_retention_kick(e);
}

const EngineConfig *engine_get_config(Engine *e) {
        return &e->config;
}

void engine_set_targets(Engine *e, const TargetCatalog *targets) {
        e->targets = targets;
        e->config_gen++;
}

Store *engine_store(Engine *e) {
        return e->store;
}

Step *session_break_glass_step(Session *s) {
        Step *st = session_current(s);

        if (s->state == SESSION_WAITING_WINDOW && st && (st->state == STEP_APPROVED || st->state == STEP_PENDING))
                return st;
        return session_waiting_step(s);
}

Step *session_waiting_step(Session *s) {
        if (s->current_step < 0 || (size_t) s->current_step >= s->n_steps)
                return NULL;
        return s->steps[s->current_step].state == STEP_WAITING_APPROVAL ? &s->steps[s->current_step] : NULL;
}
