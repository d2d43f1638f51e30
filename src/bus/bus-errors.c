/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "bus/bus-errors.h"
#include "shared/macro.h"

static const sd_bus_error_map runbookd_error_map[] = {
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_SESSION, ENOENT),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_STEP, ENOENT),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_RUNBOOK, ENOENT),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_TARGET, ENXIO),
        SD_BUS_ERROR_MAP(BUS_ERROR_INVALID_RUNBOOK, EBADMSG),
        SD_BUS_ERROR_MAP(BUS_ERROR_INVALID_PARAMETER, EINVAL),
        SD_BUS_ERROR_MAP(BUS_ERROR_NOT_WAITING_APPROVAL, ESTALE),
        SD_BUS_ERROR_MAP(BUS_ERROR_SELF_APPROVAL_FORBIDDEN, EPERM),
        SD_BUS_ERROR_MAP(BUS_ERROR_ALREADY_APPROVED, EALREADY),
        SD_BUS_ERROR_MAP(BUS_ERROR_SESSION_FINISHED, ESHUTDOWN),
        SD_BUS_ERROR_MAP(BUS_ERROR_NOT_INTERRUPTED, ENOMSG),
        SD_BUS_ERROR_MAP(BUS_ERROR_DIGEST_MISMATCH, EXDEV),
        SD_BUS_ERROR_MAP(BUS_ERROR_LIMIT_EXCEEDED, ENOBUFS),
        SD_BUS_ERROR_MAP(BUS_ERROR_STORE_FAILED, EIO),
        SD_BUS_ERROR_MAP(BUS_ERROR_APPROVER_UNIDENTIFIED, ENOKEY),
        SD_BUS_ERROR_MAP(BUS_ERROR_NOT_AN_APPROVER, EACCES),
        SD_BUS_ERROR_MAP(BUS_ERROR_NOT_AN_APPROVER, EXFULL),
        SD_BUS_ERROR_MAP(BUS_ERROR_APPROVAL_EXPIRED, ETIME),
        SD_BUS_ERROR_MAP_END,
};

int bus_errors_register(void) {
        return sd_bus_error_add_map(runbookd_error_map);
}

int bus_error_from_engine(sd_bus_error *error, int r, const char *what, const char *detail) {
        switch (r) {
        case -EINVAL:
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_PARAMETER, "%s", detail ?: "Invalid parameter.");
        case -ENXIO:
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_TARGET, "%s", detail ?: "No such target.");
        case -ETIME:
                return sd_bus_error_setf(error, BUS_ERROR_APPROVAL_EXPIRED,
                                         "%s expired: its approval deadline has passed, no decision is taken on it.", what);
        case -ENOBUFS:
                return sd_bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED, "%s", detail ?: "Limit exceeded.");
        case -ESTALE:
                return sd_bus_error_setf(error, BUS_ERROR_NOT_WAITING_APPROVAL, "%s is not waiting for approval.", what);
        case -EPERM:
                return sd_bus_error_setf(error, BUS_ERROR_SELF_APPROVAL_FORBIDDEN,
                                         "You started this session: %s needs the approval of someone else (four-eyes rule).",
                                         what);
        case -EALREADY:
                return sd_bus_error_setf(error, BUS_ERROR_ALREADY_APPROVED,
                                         "You already approved %s; it needs a different approver.", what);
        case -ENOKEY:
                return sd_bus_error_setf(error, BUS_ERROR_APPROVER_UNIDENTIFIED,
                                         "%s needs the approval of a person: this caller runs as root (or as runbookd's "
                                         "own user) with no login uid, as a service or a process left behind by a step "
                                         "does. Approve from a login session (sudo keeps the login uid), or set "
                                         "\"allow_unattended_root_approval\": true in runbookd.json.", what);
        case -ESHUTDOWN:
                return sd_bus_error_setf(error, BUS_ERROR_SESSION_FINISHED, "The session of %s is finished.", what);
        case -ENOMSG:
                if (detail)
                        return sd_bus_error_setf(error, BUS_ERROR_NOT_INTERRUPTED, "%s.", detail);
                return sd_bus_error_setf(error, BUS_ERROR_NOT_INTERRUPTED,
                                         "%s cannot be retried: only an interrupted session, or one that failed or "
                                         "timed out at a step, can.", what);
        case -ENOENT:
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_SESSION, "No such session: %s.", what);
        case -ENOSPC:
        case -EIO:
        case -EBADMSG:
                return sd_bus_error_setf(error, BUS_ERROR_STORE_FAILED,
                                         "runbookd could not record this in its state store (%s); nothing was changed.",
                                         strerror(-r));
        default:
                return sd_bus_error_set_errnof(error, r, "Failed on %s: %s", what, strerror(-r));
        }
}
