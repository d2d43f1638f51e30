/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* notifier.h: delivers the notifications of the store's outbox (store-outbox.c) to their sinks
 * (notify-config.h), at least once each, on the daemon's loop: webhooks through curl-event.c,
 * programs as children watched by sd-event. Nothing here blocks, and nothing here changes a
 * session: a sink that is slow, failing or dead only makes its own notifications wait.
 *
 * Per sink, notifications go out in the order they were committed, up to NOTIFY_PARALLEL at a
 * time (one at a time while the sink fails). A failed attempt (a transport error, a timeout, an
 * HTTP status other than 2xx, a program's exit status other than 0) is tried again after an
 * exponential backoff per sink (1 s doubling to 5 min) or the sink's Retry-After; the sink's
 * failing and its recovery are journal records. A notification is given up (a journal record)
 * when it is older than the sink's max_age, when the sink refuses the document for good (HTTP
 * 400, 413, 415, 422), when more than max_pending wait for the sink, or when the sink is no longer
 * configured. Once a sink has it (or gave it up), its name leaves the outbox record; the record
 * goes with the last one. Before anything goes out, the store is synced: nobody hears of a
 * transition a crash could still take back. */
#pragma once

#include <systemd/sd-event.h>

#include "config/notify-config.h"
#include "store/store.h"

#define NOTIFY_PARALLEL 4

typedef struct Notifier Notifier;

int notifier_new(sd_event *event, Store *store, Notifier **ret);
Notifier *notifier_free(Notifier *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(Notifier *, notifier_free);

/* The sinks (not owned: kept alive by the caller until replaced; NULL: none). A sink that is gone
 * gives up what waited for it; one that stays (by name) keeps its queue. */
int notifier_set_config(Notifier *n, const NotifyConfig *c);   /* -ENOMEM: nothing changed */
/* Picks up what the outbox holds that it has not seen (at start-up: all of it), from the loop. */
void notifier_kick(Notifier *n);
/* Notifications waiting or in flight, over all sinks (for tests and status). */
size_t notifier_pending(Notifier *n);
