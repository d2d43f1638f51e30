/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* manager.h: the daemon's context: event loop, bus, store, engine, configuration. */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus/bus-emit.h"
#include "bus/bus-polkit.h"
#include "config/runbook.h"
#include "config/target.h"
#include "config/notify-config.h"
#include "engine/engine.h"
#include "notify/notifier.h"
#include "store/store.h"

struct Manager {
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
        NotifyConfig *notify;     /* "notify" and "console_url" of runbookd.json */
        Notifier *notifier;

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
};

int manager_new(const char *config_dir, const char *state_dir, const char *vendor_dir, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Reads runbookd.json, runbooks and targets. With ret_errors, collects one line per broken file. */
int manager_load_config(Manager *m, char ***ret_errors);
int manager_connect_bus(Manager *m);
int manager_startup(Manager *m);
