/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-errors.h: runbookd's D-Bus error names, and the one place where engine errnos become them. */
#pragma once

#include <systemd/sd-bus.h>

#include "runbookd-dbus.h"

/* Registers the errno mapping so that clients of sd-bus get meaningful errnos. */
int bus_errors_register(void);

/* Fills 'error' for an engine error 'r' (see engine.h) about 'what' (a phrase naming the
 * object, e.g. "step 2 of session 7"); 'detail' (may be NULL) is the engine's message.
 * Returns a negative errno, for 'return bus_error_from_engine(...)'. */
int bus_error_from_engine(sd_bus_error *error, int r, const char *what, const char *detail);
