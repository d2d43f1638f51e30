/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* azure-job.h: the azure connector's job, shared by its parts (private to src/connector/azure/):
 *   azure.c          the plumbing both APIs share: setup, token, sending, retries and back-off,
 *                    ARM error classification, timeout, cancel, finishing; the vtable
 *   azure-managed.c  the managed Run Command resource (PUT, poll the instance view, DELETE)
 *   azure-action.c   the classic "action" Run Command (POST …/runCommand, follow the
 *                    asynchronous operation, record the result)
 *   azure-decode.c   reading Azure's answers: pure functions of the document (azure-decode.h) */
#pragma once

#include <jansson.h>

#include "connector/azure/azure-auth.h"
#include "connector/azure/azure-decode.h"
#include "connector/connector.h"
#include "http/curl-event.h"

#define ARM_API_VERSION "2024-11-01"
#define POLL_FIRST_USEC (1 * USEC_PER_SEC)
#define POLL_MAX_USEC (15 * USEC_PER_SEC)

#define strcaseeq_ascii(a, b) (strcasecmp((a), (b)) == 0)

typedef enum AzPhase {
        AZ_GET_VM,                /* managed: the VM's location */
        AZ_PUT,                   /* managed: create the run command */
        AZ_POLL,                  /* managed: its instance view */
        AZ_CHECK_POWER,           /* both: the VM's power state, to name a failure */
        AZ_DELETE,                /* managed: delete the run command */
        AZ_POST,                  /* action: POST …/runCommand */
        AZ_OPERATION,             /* action: GET the Azure-AsyncOperation URL */
        AZ_RESULT,                /* action: the final GET on the Location URL */
} AzPhase;

typedef enum AzStop {
        AZ_STOP_NONE,
        AZ_STOP_TIMEOUT,
        AZ_STOP_CANCEL,
} AzStop;

typedef struct AzureJob {
        ConnectorJob job;
        AzureIdentity *id;
        bool action;              /* the classic action API (else the managed resource) */
        char *vm, *resource_group;
        char *vm_url, *rc_name, *rc_url;
        char *op_url, *loc_url;   /* action: Azure-AsyncOperation and Location, verbatim */
        char *command;
        char *location;
        char *auth_header;        /* "Authorization: Bearer …", wiped */
        usec_t timeout_usec, deadline;
        usec_t created_at;        /* CLOCK_REALTIME of the first handle (durations after a restart) */
        uint32_t session_id, step_index;
        bool resumed;             /* following a run created before a restart (its handle) */
        bool seen;                /* resumed: the run was found at least once */

        AzPhase phase;
        AzStop stop;
        bool created;             /* a PUT/POST was sent: the run may exist */
        bool token_refreshed;     /* after a 401, once */
        bool token_fresh;         /* auth_header was just filled in by on_token() */
        const char *note;         /* for the result record (RUNBOOK_CONNECTION) */
        sd_event_source *cancel_defer;
        unsigned transient;       /* consecutive 429/5xx/transport failures */
        unsigned delete_attempts;
        usec_t poll_delay;

        AzureTokenRequest *token_req;
        HttpRequest *http;
        sd_event_source *timer;   /* poll/backoff */
        sd_event_source *deadline_timer;
        sd_event_source *defer;

        bool have_result;         /* the outcome, kept while the run command is deleted */
        StepResult result;
        char *message;
        char *context;            /* CHECK_POWER: the failure that made us look */
} AzureJob;

/* azure.c, for the API parts */
void az_send(AzureJob *a);
void az_later(AzureJob *a, usec_t delay);
/* the next poll: Retry-After when given, else our own interval (growing) */
void az_poll_later(AzureJob *a, const HttpResponse *resp);
void az_conclude(AzureJob *a, StepOutcome outcome, int error, int exit_status, char *message);
_printf_(3, 4) void az_fail(AzureJob *a, int error, const char *fmt, ...);
void az_check_power(AzureJob *a, char *context);
void az_commit_handle(AzureJob *a, connector_continue_t cont);
/* Adds a stream's text to the job's output; a stream of Azure's tail size is marked truncated. */
void az_take_stream(AzureJob *a, unsigned k, const char *s, size_t n, bool *truncated);

/* azure-managed.c */
int azure_managed_request(AzureJob *a, char **ret_url, char **ret_body);
void azure_managed_response(AzureJob *a, const HttpResponse *resp, long status, json_t *body);

/* azure-action.c */
int azure_action_setup(AzureJob *a, json_t *handle);
int azure_action_request(AzureJob *a, char **ret_url, char **ret_body);
void azure_action_response(AzureJob *a, const HttpResponse *resp, long status, json_t *body);
/* the message of a timed-out or cancelled action run (the API cannot stop a script) */
char *azure_action_stop_message(AzureJob *a, AzStop why);
