/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* manager.h: the daemon's context: event loop, bus, store, engine, configuration. */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus/bus-polkit.h"
#include "config/runbook.h"
#include "config/target.h"
#include "engine/engine.h"
#include "store/store.h"

typedef struct ChangedObject {
        uint32_t session;
        int32_t step;             /* -1: the session object itself */
        bool added;               /* announce as a new object (InterfacesAdded + SessionNew) */
} ChangedObject;

typedef struct PendingReply {
        sd_bus_message *call;
        sd_bus_message *reply;
} PendingReply;

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        Store *store;
        Engine *engine;

        char *config_dir;
        char *state_dir;
        char *vendor_dir;
        RunbookCatalog *runbooks;
        TargetCatalog *targets;
        EngineConfig config;

        PolkitRegistry *polkit;

        /* what to announce and whom to answer once the store is synced (bus-emit.c) */
        ChangedObject *changed;
        size_t n_changed, n_changed_allocated;
        PendingReply *replies;
        size_t n_replies, n_replies_allocated;
        sd_event_source *flush_source;
        sd_event_source *announce_timer;

        /* Target.Check() calls in progress (bus-target.c) */
        struct TargetCheck *checks;
        unsigned n_checks;
} Manager;

int manager_new(const char *config_dir, const char *state_dir, const char *vendor_dir, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Reads runbookd.json, runbooks and targets. With ret_errors, collects one line per broken file. */
int manager_load_config(Manager *m, char ***ret_errors);
int manager_connect_bus(Manager *m);
int manager_startup(Manager *m);

/* bus-emit.c */
/* Announces the object's change (or addition) once the store is durable: within
 * ANNOUNCE_DELAY_USEC, or as soon as the loop is idle when 'now'. */
void manager_queue_changed(Manager *m, uint32_t session, int32_t step, bool added, bool now);
/* Sends 'reply' (taking it) to 'call' once everything committed so far is durable. */
int manager_queue_reply(Manager *m, sd_bus_message *call, sd_bus_message *reply);
int manager_setup_flush(Manager *m);

/* object paths */
char *session_path(uint32_t id);
char *step_path(uint32_t id, uint32_t index);
