/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cli-bus.h: runbookctl's side of the bus: connecting, the polkit text agent, turning D-Bus errors
 * into one-line messages, and reading session and step objects into plain structs. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "runbookd-dbus.h"
#include "shared/util.h"

/* --no-ask-password clears it. */
extern bool arg_ask_password;

/* Connects to the system bus ($DBUS_SYSTEM_BUS_ADDRESS); allows interactive authorization when
 * stdin is a terminal and asking is allowed. */
int cli_bus_open(sd_bus **ret);

/* Starts pkttyagent (when stdin is a terminal and asking is allowed) and waits until it is
 * registered; polkit_agent_close() stops it. Failures are ignored: the call then goes ahead
 * without an agent. */
void polkit_agent_open(void);
void polkit_agent_close(void);

/* Prints one line for a failed call: polkit refusals name the action and user, runbookd's errors
 * keep the daemon's message, bus failures say what went wrong. 'action' is the polkit action the
 * call needs (NULL for read-only calls); 'what' says what was being done ("approve session 3").
 * Returns r (negative). */
int cli_bus_error(int r, const sd_bus_error *error, const char *action, const char *what);

/* Appends NAME, VALUE, NAME, VALUE, … (NULL: none) as an a{ss}. */
int cli_append_parameters(sd_bus_message *m, char **params);

/* "12" → 12; -EINVAL for anything else. */
int parse_session_id(const char *s, uint32_t *ret);
int parse_step_index(const char *s, uint32_t *ret);
char *session_path_of(uint32_t id);
char *step_path_of(uint32_t id, uint32_t index);

/* One decision on a step (Step.Decisions). */
typedef struct Approval {
        uint32_t uid;
        char *user;
        uint32_t login_uid;       /* 4294967295: none */
        char *login_user;         /* NULL: none */
        char *decision;
        usec_t time;
        unsigned attempt;
        char *comment;
        char *digest;
} Approval;

/* Who decided: "alice", or "alice (as root)" when alice's login acted under another uid. */
const char *approval_who(const Approval *a, char *buf, size_t size);

/* One host of a step on a target group (Step.Results). */
typedef struct HostResult {
        char *target, *state, *error;
        int32_t exit_status, signal;
        usec_t started_at, finished_at;
        bool truncated;
} HostResult;

typedef struct StepInfo {
        char *path;
        uint32_t index;
        char *name, *phase, *command, *target, *connector, *state, *digest, *error;
        char *step_id, *on_failure, *when;
        char **captured;          /* name, value, name, value, …, NULL */
        char **approver_groups;   /* the Unix groups approvers come from (ApproverGroups) */
        bool approvers_from_each;
        bool requires_approval, truncated;
        uint32_t approvals_required, attempt, retries, retries_done;
        Approval *approvals;
        size_t n_approvals;
        HostResult *results;
        size_t n_results;
        int32_t exit_status, signal, expect_exit;
        usec_t started_at, finished_at, timeout, retry_delay, retry_at;
        usec_t approval_deadline, approval_timeout;
        usec_t window_opens_at;   /* WindowOpensAt */
        char *window_reason;      /* WindowReason */
} StepInfo;

typedef struct SessionInfo {
        char *path;
        uint32_t id;
        char *runbook, *reference, *state, *created_by, *error, *rollback;
        char *review, *reviewed_by, *review_comment;   /* Review, ReviewedBy, ReviewComment */
        char *lock_state;                              /* LockState */
        uint32_t lock_position;                        /* LockPosition */
        char **locks;                                  /* Locks: the names */
        uint32_t *lock_holders;                        /* Locks: the holder of each (0: none) */
        usec_t reviewed_at;
        char **parameters; /* key, value, key, value, …, NULL */
        uint32_t created_by_uid, failed_steps;
        usec_t created_at, finished_at;
        int32_t current_step;
        char **steps; /* object paths */
        StepInfo *step_info;
        size_t n_step_info;
} SessionInfo;

void session_info_done(SessionInfo *s);
void step_info_done(StepInfo *s);

/* Reads an a{sv} (a GetAll reply, or PropertiesChanged's changed properties) into the struct;
 * unknown properties are skipped. */
int session_info_update(SessionInfo *s, sd_bus_message *m);
int step_info_update(StepInfo *s, sd_bus_message *m);

/* GetAll on the session and then on each of its steps (step_info[i] for Steps[i]). */
int session_info_load(sd_bus *bus, uint32_t id, SessionInfo *ret, sd_bus_error *error);
int step_info_load(sd_bus *bus, const char *path, StepInfo *s, sd_bus_error *error);

bool cli_session_state_final(const char *state);
bool cli_step_state_final(const char *state);
extern const char *const cli_session_states[];
