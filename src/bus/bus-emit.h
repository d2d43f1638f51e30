/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-emit.h: announcements (InterfacesAdded, SessionNew, PropertiesChanged) and method replies
 * that wait until the store is durable (bus-emit.c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "engine/engine.h"

typedef struct Manager Manager;

typedef struct ChangedObject {
        uint32_t session;
        int32_t step;             /* -1: the session object itself */
        bool added;               /* announce as a new object (InterfacesAdded + SessionNew) */
} ChangedObject;

typedef struct PendingReply {
        sd_bus_message *call;
        sd_bus_message *reply;
} PendingReply;

/* Announces the object's change (or addition) once the store is durable: within
 * ANNOUNCE_DELAY_USEC, or as soon as the loop is idle when 'now'. */
void bus_queue_changed(Manager *m, uint32_t session, int32_t step, bool added, bool now);
/* Sends 'reply' (taking it) to 'call' once everything committed so far is durable. */
int bus_queue_reply(Manager *m, sd_bus_message *call, sd_bus_message *reply);
/* Sets up the flush (event sources) and gives the engine the hooks that announce its changes. */
int bus_emit_setup(Manager *m);
/* Drops what was not sent (at exit). */
void bus_emit_free(Manager *m);
