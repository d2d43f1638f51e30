/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* runbookd-dbus.h: the public names of runbookd's D-Bus API, shared by the daemon and its
 * clients (docs/dbus-api.md describes them). */
#pragma once

#define RUNBOOKD_BUS_NAME "org.runbookd1"
#define RUNBOOKD_MANAGER_PATH "/org/runbookd1"
#define RUNBOOKD_SESSION_PREFIX "/org/runbookd1/session"
#define RUNBOOKD_TARGET_PREFIX "/org/runbookd1/target"

#define RUNBOOKD_MANAGER_INTERFACE "org.runbookd1.Manager"
#define RUNBOOKD_SESSION_INTERFACE "org.runbookd1.Session"
#define RUNBOOKD_STEP_INTERFACE "org.runbookd1.Step"
#define RUNBOOKD_TARGET_INTERFACE "org.runbookd1.Target"

#define RUNBOOKD_ACTION_START_SESSION "org.runbookd1.start-session"
#define RUNBOOKD_ACTION_APPROVE_STEP "org.runbookd1.approve-step"
#define RUNBOOKD_ACTION_CANCEL_SESSION "org.runbookd1.cancel-session"
#define RUNBOOKD_ACTION_MANAGE "org.runbookd1.manage"
#define RUNBOOKD_ACTION_READ_OUTPUT "org.runbookd1.read-output"
#define RUNBOOKD_ACTION_BREAK_GLASS "org.runbookd1.break-glass"
#define RUNBOOKD_ACTION_READ_AUDIT "org.runbookd1.read-audit"

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
#define BUS_ERROR_DIGEST_MISMATCH "org.runbookd1.Error.DigestMismatch"
#define BUS_ERROR_LIMIT_EXCEEDED "org.runbookd1.Error.LimitExceeded"
#define BUS_ERROR_STORE_FAILED "org.runbookd1.Error.StoreFailed"
#define BUS_ERROR_APPROVER_UNIDENTIFIED "org.runbookd1.Error.ApproverUnidentified"
#define BUS_ERROR_NOT_AN_APPROVER "org.runbookd1.Error.NotAnApprover"
#define BUS_ERROR_BREAK_GLASS_FORBIDDEN "org.runbookd1.Error.BreakGlassForbidden"
#define BUS_ERROR_NOT_REVIEWABLE "org.runbookd1.Error.NotReviewable"
#define BUS_ERROR_APPROVAL_EXPIRED "org.runbookd1.Error.ApprovalExpired"
