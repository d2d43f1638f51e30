/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-errors.h: runbookd's D-Bus error names, and the one place where engine errnos become them. */
#pragma once

#include <systemd/sd-bus.h>

#define BUS_ERROR_NO_SUCH_SESSION "org.runbookd1.Error.NoSuchSession"
#define BUS_ERROR_NO_SUCH_STEP "org.runbookd1.Error.NoSuchStep"
#define BUS_ERROR_NO_SUCH_RUNBOOK "org.runbookd1.Error.NoSuchRunbook"
#define BUS_ERROR_NO_SUCH_TARGET "org.runbookd1.Error.NoSuchTarget"
#define BUS_ERROR_INVALID_RUNBOOK "org.runbookd1.Error.InvalidRunbook"
#define BUS_ERROR_INVALID_PARAMETER "org.runbookd1.Error.InvalidParameter"
#define BUS_ERROR_NOT_WAITING_APPROVAL "org.runbookd1.Error.NotWaitingApproval"
#define BUS_ERROR_SELF_APPROVAL_FORBIDDEN "org.runbookd1.Error.SelfApprovalForbidden"
#define BUS_ERROR_ALREADY_APPROVED "org.runbookd1.Error.AlreadyApproved"
#define BUS_ERROR_SESSION_FINISHED "org.runbookd1.Error.SessionFinished"
#define BUS_ERROR_NOT_INTERRUPTED "org.runbookd1.Error.NotInterrupted"
#define BUS_ERROR_LIMIT_EXCEEDED "org.runbookd1.Error.LimitExceeded"
#define BUS_ERROR_STORE_FAILED "org.runbookd1.Error.StoreFailed"

/* Registers the errno mapping so that clients of sd-bus get meaningful errnos. */
int bus_errors_register(void);

/* Fills 'error' for an engine error 'r' (see engine.h) about 'what' (a phrase naming the
 * object, e.g. "step 2 of session 7"); 'detail' (may be NULL) is the engine's message.
 * Returns a negative errno, for 'return bus_error_from_engine(...)'. */
int bus_error_from_engine(sd_bus_error *error, int r, const char *what, const char *detail);
