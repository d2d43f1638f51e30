/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* session.h: the model of execution sessions and their steps, and their state names.
 * No sd-bus here: the bus layer reads these structs, the engine changes them. */
#pragma once

#include <jansson.h>
#include <sys/types.h>

#include "model/states.h"
#include "shared/util.h"

/* What the engine keeps of a session while it runs it (jobs, what is not yet written): its own,
 * opaque here (engine/engine-internal.h); NULL outside the engine. */
typedef struct SessionRuntime SessionRuntime;



/* Who is behind a call: the caller's uid and, where the kernel keeps one, its audit login uid —
 * the user who logged in to the session the caller runs in, kept across sudo and su. The person
 * is the uid; for root (or runbookd's own uid) it is the login uid where there is one. Four eyes
 * and M-of-N count persons. */
typedef struct Identity {
        uid_t uid;
        char *user;               /* the uid's name */
        uid_t login_uid;          /* UID_INVALID: none */
        char *login_user;         /* the login uid's name; NULL when there is none */
} Identity;

/* uid 0 or runbookd's own uid */
bool uid_is_privileged(uid_t uid);
/* The person behind 'uid' with 'login_uid' (UID_INVALID: none): the login uid behind a
 * privileged uid, else the uid. */
uid_t person_of(uid_t uid, uid_t login_uid);
/* A privileged uid with no login uid, or a privileged one: a service, or a process a step left
 * behind, not a person. */
bool person_is_unattended(uid_t uid, uid_t login_uid);
uid_t identity_person(const Identity *id);
/* "alice", or "alice (as root)" when the login user acted under another uid. */
char *identity_describe(const Identity *id);
void identity_done(Identity *id);
int identity_copy(const Identity *from, Identity *to);

typedef struct Approval {
        uid_t uid;
        char *user;
        uid_t login_uid;          /* UID_INVALID: none (and for decisions stored before it was kept) */
        char *login_user;         /* NULL when login_uid is UID_INVALID */
        bool approve;             /* false: a rejection */
        usec_t time;              /* CLOCK_REALTIME */
        char *comment;
        char *digest;             /* the step digest this decision is bound to */
        unsigned attempt;         /* the step attempt it was given for */
        bool break_glass;         /* given with Session.BreakGlass(): it stands for every approval the
                                   * step still needed; its comment is the reason */
        uint32_t groups;          /* the step's approver groups the person was in when deciding (bit i:
                                   * approver_groups[i]); 0 when the step names none */
        bool lapsed;              /* an approval older than the step's approval_valid_for when another
                                   * arrived, or when the step was to start: it no longer counts */
} Approval;

typedef struct Session Session;
typedef struct Step Step;


#define SESSION_LOCKS_MAX 64      /* lock names of one session */
#define LOCK_NAME_MAX 128         /* bytes of a lock name */

#define SESSION_STEPS_MAX 1024    /* steps in a session (a runbook's, all phases) */
#define STEP_APPROVERS_MAX 16     /* persons a step may require */
#define STEP_DECISIONS_MAX 64     /* decisions kept for one attempt (lapsed approvals given again) */
#define STEP_HOSTS_MAX 1024
#define STEP_APPROVAL_TIMEOUT_MAX_USEC (30ULL * 24 * 3600 * 1000000)  /* "approval_timeout": 30 days */
#define STEP_RETRIES_MAX 25       /* automatic retries of a step ("retries") */
#define STEP_RETRY_DELAY_MAX_USEC (24ULL * 3600 * 1000000)  /* "retry_delay": one day */       /* members of a target group (target.c: TARGET_GROUP_MAX) */

/* One member of a target group, in a step that runs on the group (see engine-group.c). Its
 * states are the step states pending, running, succeeded, failed, timed_out, cancelled, skipped
 * (never started: too many errors, or the session ended first) and interrupted. Stored as a
 * record of its own beside the step's. */
typedef struct HostRun {
        Step *step;
        uint32_t index;           /* in the step's hosts[] */
        char *target;             /* the member target's name */
        char *connector;          /* its connector, as when the session was created */
        StepState state;
        int exit_status;          /* -1: none */
        int signal;               /* 0: none */
        usec_t started_at;        /* CLOCK_REALTIME */
        usec_t finished_at;
        usec_t duration_usec;     /* as the connector measured it */
        unsigned attempt;         /* the step attempt it last ran in; 0: never ran */
        bool truncated;
        char *error;              /* why it did not succeed; NULL otherwise */
        json_t *remote;           /* its remote run's handle (azure), as a step's */
} HostRun;

struct Step {
        Session *session;
        uint32_t index;
        char *id;                 /* the runbook's id for it; NULL: none */
        char *name;
        StepPhase phase;
        char *command;            /* final, parameters substituted */
        char *target;
        char *connector;
        bool requires_approval;
        unsigned approvals_required;
        /* who may approve ("approvers" as an object): each approver in one of these Unix groups
         * ("groups"), or one approver from each of them ("from_each": approvals_required is their
         * number); none: anyone polkit allows */
        char **approver_groups;
        size_t n_approver_groups;
        bool approvers_from_each;
        usec_t timeout_usec;
        int expect_exit;
        bool continue_on_failure; /* its failure does not stop the session ("on_failure": "continue") */
        char *when;               /* its condition as written; NULL: none (it always runs) */
        unsigned retries;         /* failed attempts retried by themselves ("retries"); 0: none */
        usec_t retry_delay_usec;  /* the wait before each of them ("retry_delay") */
        usec_t approval_timeout_usec; /* how long it waits for its decisions ("approval_timeout"); 0: for ever */
        usec_t remind_before_usec;    /* a reminder this long before the deadline ("remind_before"); 0: none */
        usec_t approval_valid_for_usec; /* how long an approval counts ("approval_valid_for"); 0: until used */

        StepState state;
        Approval *approvals;      /* every decision, over all attempts */
        size_t n_approvals;
        int exit_status;          /* -1: none */
        int signal;               /* 0: none */
        usec_t waiting_since;     /* CLOCK_REALTIME, when it entered waiting_approval */
        usec_t approval_deadline; /* CLOCK_REALTIME: it expires if not decided by then (ApprovalDeadline); 0: none */
        bool reminded;            /* the reminder before that deadline was sent */
        usec_t started_at;
        usec_t finished_at;
        char *digest;             /* hex SHA-256 */
        unsigned attempt;         /* 0 until first run; +1 for each run or retry */
        unsigned retries_done;    /* attempts started by themselves since the last decision: the
                                   * approvals of attempt (attempt - retries_done) cover them */
        usec_t retry_at;          /* CLOCK_REALTIME: when the next attempt starts (waiting_retry); 0: none */
        usec_t window_at;         /* CLOCK_REALTIME: waiting for its change window, when it may run; 0: not waiting */
        char *window_why;         /* what holds it (a window closed, a freeze); NULL when not waiting */
        char *error;              /* why it did not succeed; NULL otherwise */
        bool truncated;           /* output was cut */
        json_t *remote;           /* what identifies the attempt's remote run (a connector's handle,
                                   * committed before the run is created); NULL: none */
        json_t *captured;         /* values taken from its stdout ("capture"): object name -> string;
                                   * NULL: none (yet) */

        /* a step on a target group (connector "group"): its members, fixed when the session was
         * created, and the group's limits then; n_hosts == 0 for any other step */
        HostRun *hosts;
        size_t n_hosts;
        unsigned max_concurrency;
        unsigned max_errors;      /* failed hosts tolerated; one more and the step fails */
};

struct Session {
        uint32_t id;
        char *runbook;
        char *reference;
        json_t *parameters;       /* object name -> string, as bound; a secret parameter's is its
                                   * "cred:NAME", or "***" for a literal value (sealed below) */
        json_t *sealed;           /* literal secret values: name -> sealed (config/secret-seal.h); may be NULL */
        json_t *snapshot;         /* the runbook document as it was at creation */
        SessionState state;
        uid_t creator_uid;
        char *creator_name;
        uid_t creator_login_uid;  /* UID_INVALID: none */
        char *creator_login_name; /* NULL when creator_login_uid is UID_INVALID */
        usec_t created_at;
        usec_t finished_at;
        int current_step;         /* -1: none */
        char *error;              /* why it ended as it did; NULL if it succeeded or is not over */
        /* once its main flow ended without success and rollback or finally steps run: the state it
         * ends in afterwards (a final state), and why; any other state: none, it goes on as usual */
        SessionState outcome;
        char *outcome_error;
        int outcome_step;         /* the step it ended at (-1: none, outside any step); its CurrentStep at the end */
        RollbackState rollback;
        ReviewState review;       /* after a break-glass: required until someone else reviews it */
        Approval reviewer;        /* REVIEW_DONE: who reviewed it, when, and their comment */
        /* its locks, fixed when it was created: the runbook's "lock" as rendered, then
         * "target:NAME" for each target of its steps (or member of their groups) with "lock": true */
        char **locks;             /* NULL-terminated; NULL: none */
        SessionLockState lock_state;
        uint64_t lock_ticket;     /* its place in the queue (lower first), given when it began waiting */
        usec_t lock_since;        /* CLOCK_REALTIME: when it began waiting, then when it took them */
        Step *steps;
        size_t n_steps;


        SessionRuntime *runtime;  /* the engine's (see above) */
};

/* Frees the session and its steps; the engine frees its runtime first. */
Session *session_free(Session *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Session *, session_free);

/* Steps that failed or timed out but were allowed to ("on_failure": "continue", and the
 * "finally" steps, which never change how the session ends). */
unsigned session_failed_steps(const Session *s);
/* A finally step failed (or timed out). */
bool session_finally_failed(const Session *s);

/* Number of approvals (approve decisions, not lapsed) given for the step's current attempt; with
 * "from_each", the number of its groups that distinct approvers stand for (a person in two of the
 * groups stands for one of them). */
unsigned step_count_approvals(const Step *step);
/* The same for the approvals given for 'attempt'. */
unsigned step_count_approvals_for(const Step *step, unsigned attempt);
/* "from_each": how many groups the current attempt's approvals stand for with one more approver in
 * the groups of 'mask' (greater than step_count_approvals() when that approver adds one), and
 * the groups still without an approver (*ret_missing, a mask; may be NULL). */
unsigned step_count_groups_with(const Step *step, uint32_t mask, uint32_t *ret_missing);
/* The person behind a decision: its login uid, else its uid. */
uid_t approval_person(const Approval *a);
/* The person who created the session. */
uid_t session_creator_person(const Session *s);
/* The break-glass decision given for 'attempt' of the step, or NULL. */
const Approval *step_break_glass(const Step *step, unsigned attempt);
/* The approval is to be freed (its strings). */
void approval_done(Approval *a);
/* True if 'person' approved the step's current attempt already. */
bool step_approved_by(const Step *step, uid_t person);

/* The number of approvals the step needs before it may run (>= 1). */
unsigned step_approvals_required(const Step *step);
/* The attempt its decisions were given for: the current one, less those that started by
 * themselves after it ("retries"). */
unsigned step_decided_attempt(const Step *step);

/* Hex SHA-256 over connector, target and command (NUL-separated). */
/* The hex SHA-256 of what a step runs: its connector, its target's name and definition (the
 * target document, and its members' for a group: host, port, user, VM, credential names, …)
 * and the command. An approval binds to it; it is computed again just before the step runs. */
int step_compute_digest(const char *connector, const char *target, const char *target_definition,
                        const char *command, char **ret);
