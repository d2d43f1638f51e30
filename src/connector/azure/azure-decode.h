/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* azure-decode.h: what runbookd reads out of the answers of Azure Resource Manager and of the
 * identity platform, as functions of the document alone (no job, no I/O, no allocation but where
 * said). The connector's response handlers act on what they return; the fuzz target
 * (tests/fuzz/fuzz-azure.c) feeds them anything. Strings returned point into the document. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "shared/util.h"

#define AZURE_OUTPUT_TAIL 4096                       /* Azure keeps the last 4096 bytes of a stream */
#define AZURE_EXIT_MARKER "__RUNBOOKD_EXIT_"         /* the action wrapper's exit status line */
#define AZURE_TOKEN_LIFETIME_DEFAULT (60 * USEC_PER_SEC)
#define AZURE_TOKEN_LIFETIME_MAX (24 * 3600 * USEC_PER_SEC)

/* Resource Manager's error document {"error": {"code", "message"}}: "" for what is absent. */
void azure_arm_error(json_t *body, const char **ret_code, const char **ret_message);

/* The action an AuthorizationFailed message names ("… perform action 'X' over scope …"), newly
 * allocated; NULL when it names none (or out of memory). */
char *azure_forbidden_action(const char *message);

/* The power state in a VM's instance view ("statuses": [{"code": "PowerState/running"}] gives
 * "running", compared case-insensitively), and its displayStatus; NULL when it has none. */
const char *azure_power_state(json_t *body, const char **ret_display);

/* Whether an Azure RBAC action pattern (case-insensitive ASCII, '*' matches any run of
 * characters) matches ACTION. */
bool azure_action_matches(const char *pattern, const char *action);

/* Azure's evaluation of the permissions API's entries (one per role assignment): ACTION is
 * granted when some entry matches it in "actions" and not in "notActions". When it is not,
 * *ret_not_pattern (if given) is the first notActions pattern that took it away, or NULL. */
bool azure_permitted(json_t *permissions, const char *action, const char **ret_not_pattern);

/* ---------------------------------------------------------------- managed Run Command */

typedef enum AzRunKind {
        AZ_RUN_GOING,             /* no state yet, or Pending/Running/Unknown: poll again */
        AZ_RUN_PROVISION_FAILED,  /* provisioningState Failed before the script ended */
        AZ_RUN_ENDED,             /* any other executionState: the run is over */
} AzRunKind;

/* The managed run command's instance view (GET …/runCommands/NAME?$expand=instanceView). */
typedef struct AzRunView {
        AzRunKind kind;
        const char *state;        /* executionState */
        const char *message;      /* executionMessage, or NULL */
        const char *output, *error; /* the streams (Azure's tail of each), or NULL */
        bool has_exit_code;
        int exit_code;            /* 0…255, or the handler's own negative code (≥ -100000) */
        const char *exit_code_why; /* !has_exit_code: "missing", "is not an integer", "is out of range" */
} AzRunView;

void azure_run_view(json_t *body, AzRunView *ret);

typedef enum AzVerdict {
        AZ_VERDICT_TIMED_OUT,     /* TimedOut, or killed (-1) when the step's timeout had come */
        AZ_VERDICT_CANCELED,      /* Canceled on the VM */
        AZ_VERDICT_EXITED,        /* exit_code is the script's exit status: 0 with Succeeded, 1…255 with Failed */
        AZ_VERDICT_HANDLER_FAILED, /* Failed with a negative code: the VM's handler failed */
        AZ_VERDICT_UNCLEAR,       /* anything else (states and codes that do not agree): never a success */
} AzVerdict;

/* What an ended run means. AT_DEADLINE: the step has a timeout and it has come (then a run
 * killed with -1 timed out). */
AzVerdict azure_run_verdict(const AzRunView *v, bool at_deadline);

/* ---------------------------------------------------------------- action Run Command */

typedef enum AzResultProblem {
        AZ_RESULT_OK,             /* exit_status is the script's (0…255) */
        AZ_RESULT_NO_EXIT,        /* streams, but no exit status reported (killed on the VM) */
        AZ_RESULT_NO_STATUS,      /* RunCommandResult without a "value" list */
        AZ_RESULT_NO_STDOUT,      /* the message has no "[stdout]" section */
        AZ_RESULT_MALFORMED,      /* the exit marker ends stderr but not stdout (stdout is kept) */
        AZ_RESULT_TWO_STREAMS,    /* separate StdOut/StdErr statuses (Windows): no exit marker */
} AzResultProblem;

/* A RunCommandResult, read. The streams point into the document; a stream whose raw text was
 * Azure's whole tail (AZURE_OUTPUT_TAIL bytes or more) is marked truncated. */
typedef struct AzRunResult {
        AzResultProblem problem;
        const char *message;      /* NO_STDOUT: the message that has none */
        const char *out, *err;
        size_t n_out, n_err;
        bool out_truncated, err_truncated;
        int exit_status;          /* -1 unless OK */
} AzRunResult;

/* "value" of a RunCommandResult ([InstanceViewStatus…]); RC_NAME is the run's name, which the
 * exit marker carries. -ENOMEM only. */
int azure_run_result(json_t *value, const char *rc_name, AzRunResult *ret);

/* Linux's one message: "Enable succeeded: \n[stdout]\n<tail>\n[stderr]\n<tail>" (§2.5). */
int azure_run_message(const char *msg, const char *rc_name, AzRunResult *ret);

/* ---------------------------------------------------------------- the identity platform */

/* A token response: its access_token, and its lifetime from expires_in (seconds, as a number or
 * a string of digits; AZURE_TOKEN_LIFETIME_DEFAULT when absent, zero or unreadable; at most
 * AZURE_TOKEN_LIFETIME_MAX). -EBADMSG when it carries no non-empty access_token. */
int azure_token_response(json_t *body, const char **ret_token, usec_t *ret_lifetime);
