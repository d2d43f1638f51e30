/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* notify-unit.h: a notification program run as a transient unit of PID 1 (where systemd is PID 1):
 * its own dynamic user (DynamicUser=yes) or the sink's user, a sandbox, the document as its stdin
 * (a memfd), its stderr to the journal under its own identifier, its whole control group killed
 * at its timeout (RuntimeMaxSec=) or when runbookd gives it up. So runbookd, unprivileged, never
 * runs the program itself: it has neither runbookd's credentials nor its store. */
#pragma once

#include <systemd/sd-event.h>

#include "config/notify-config.h"

typedef struct NotifyUnit NotifyUnit;

/* 'done' is called once, from the loop, with 0 (the program exited 0) or a negative errno and a
 * reason; the unit is then stopped and removed. */
typedef void (*notify_unit_done_t)(NotifyUnit *u, int error, const char *reason, void *userdata);

/* Starts the program of sink 'c' for the event ('ev', 'event_id'; 'attempt' names the unit) with
 * 'doc_fd' as stdin. */
int notify_unit_start(sd_event *event, const NotifySink *c, const char *ev, const char *event_id, uint64_t seq,
                      unsigned attempt, int doc_fd, notify_unit_done_t done, void *userdata, NotifyUnit **ret);
/* Stops the unit if it still runs ('done' is not called). Accepts NULL. */
NotifyUnit *notify_unit_free(NotifyUnit *u);
/* Whether notification programs run as units here (systemd is PID 1). */
bool notify_unit_mode(void);
/* Sends what is queued (stopping units) and closes the connection to systemd. */
void notify_unit_shutdown(void);
