/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* azure-managed.c: the managed Run Command resource (…/virtualMachines/{vm}/runCommands/{name}),
 * which reports the script's exit code (the default "api"):
 *
 *   token ─► GET VM (its location) ─► PUT run command (script, timeout) ─► GET ?$expand=instanceView
 *   until executionState ends ─► record exit code, stdout, stderr ─► DELETE the run command ─► done
 *
 * The run command's name (and URL) is committed before the PUT; timeout and cancel delete the run
 * command, which stops the script on the VM. Azure keeps only the last 4096 bytes of each stream:
 * a stream of that size is marked truncated. Errors and retries: azure.c. */

#include <inttypes.h>
#include <stdio.h>
#include <strings.h>

#include "connector/azure/azure-job.h"
#include "shared/log.h"

/* Wipes the values of protectedParameters in 'j' (jansson's own copies) before it is freed. */
static void wipe_protected(json_t *j) {
        json_t *pp = json_object_get(json_object_get(j, "properties"), "protectedParameters"), *e;
        size_t i;

        json_array_foreach(pp, i, e) {
                json_t *v = json_object_get(e, "value");
                if (json_is_string(v))
                        explicit_bzero((char *) json_string_value(v), json_string_length(v));
        }
}

/* The secret parameters as "protectedParameters": environment variables of the script on a Linux
 * VM, never echoed back by Azure (azure-run-command.md §3.2-3.3); never in "parameters" nor the
 * script, which any reader of the run command resource sees. */
static int add_protected(AzureJob *a, json_t *j) {
        json_t *pp;

        if (a->job.n_secrets == 0)
                return 0;
        pp = json_array();
        if (!pp || json_object_set_new(json_object_get(j, "properties"), "protectedParameters", pp) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < a->job.n_secrets; i++) {
                json_t *e = json_pack("{s:s, s:s%}", "name", a->job.secrets[i].name, "value", a->job.secrets[i].value,
                                      a->job.secrets[i].len);
                if (!e || json_array_append_new(pp, e) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static char *put_body(AzureJob *a) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        char s[16], st[16], *body;

        snprintf(s, sizeof s, "%" PRIu32, a->session_id);
        snprintf(st, sizeof st, "%" PRIu32, a->step_index);
        j = json_pack("{s:s, s:{s:{s:s}, s:[{s:s,s:s},{s:s,s:s}], s:b, s:b}}",
                      "location", a->location,
                      "properties",
                      "source", "script", a->command,
                      "parameters", "name", "RUNBOOK_SESSION", "value", s, "name", "RUNBOOK_STEP", "value", st,
                      "asyncExecution", 0, "treatFailureAsDeploymentFailure", 0);
        if (!j)
                return NULL;
        if (a->timeout_usec > 0)
                (void) json_object_set_new(json_object_get(j, "properties"), "timeoutInSeconds",
                                           json_integer((json_int_t) ((a->timeout_usec + USEC_PER_SEC - 1) / USEC_PER_SEC)));
        body = add_protected(a, j) < 0 ? NULL : json_dumps(j, JSON_COMPACT);
        wipe_protected(j);
        return body;
}

int azure_managed_request(AzureJob *a, char **ret_url, char **ret_body) {
        switch (a->phase) {
        case AZ_GET_VM:
                return asprintf_safe(ret_url, "%s?api-version=" ARM_API_VERSION, a->vm_url) < 0 ? -ENOMEM : 0;
        case AZ_PUT:
                *ret_body = put_body(a);
                if (!*ret_body)
                        return -ENOMEM;
                return asprintf_safe(ret_url, "%s?api-version=" ARM_API_VERSION, a->rc_url) < 0 ? -ENOMEM : 0;
        case AZ_POLL:
                return asprintf_safe(ret_url, "%s?$expand=instanceView&api-version=" ARM_API_VERSION, a->rc_url) < 0 ?
                        -ENOMEM : 0;
        case AZ_DELETE:
                return asprintf_safe(ret_url, "%s?api-version=" ARM_API_VERSION, a->rc_url) < 0 ? -ENOMEM : 0;
        default:
                return -EINVAL;
        }
}

static void on_vm(AzureJob *a, long status, json_t *body) {
        const char *loc = json_string_value(json_object_get(body, "location"));

        if (status != 200 || !loc) {
                az_fail(a, -EBADMSG, "unexpected answer to GET VM '%s/%s' (HTTP %ld)", a->resource_group, a->vm, status);
                return;
        }
        a->location = strdup(loc);
        if (!a->location) {
                az_fail(a, -ENOMEM, "out of memory");
                return;
        }
        a->phase = AZ_PUT;
        az_commit_handle(a, NULL);   /* then the PUT */
}

static void on_put(AzureJob *a, long status) {
        if (status != 200 && status != 201) {
                az_fail(a, -EBADMSG, "unexpected answer to PUT run command (HTTP %ld)", status);
                return;
        }
        a->phase = AZ_POLL;
        a->poll_delay = POLL_FIRST_USEC;
        az_later(a, a->poll_delay);
}

static void take_stream(AzureJob *a, unsigned k, const char *s, bool *truncated) {
        az_take_stream(a, k, s, s ? strlen(s) : 0, truncated);
}

/* What azure_run_verdict() says of an ended run, done. */
static void conclude_ended(AzureJob *a, const AzRunView *v) {
        bool at_deadline = a->timeout_usec > 0 && now_usec(CLOCK_MONOTONIC) + USEC_PER_SEC >= a->deadline;
        char b[DURATION_MAX];
        char *note = NULL;

        switch (azure_run_verdict(v, at_deadline)) {
        case AZ_VERDICT_TIMED_OUT:
                (void) asprintf_safe(&note, "timed out after %s (stopped on the VM)",
                                     connector_format_timeout(b, sizeof b, a->timeout_usec));
                az_conclude(a, OUTCOME_TIMED_OUT, 0, -1, note);
                return;
        case AZ_VERDICT_CANCELED:
                az_fail(a, -ECANCELED, "the run command was cancelled on the VM (%s)", strna(v->message));
                return;
        case AZ_VERDICT_EXITED:
                az_conclude(a, OUTCOME_EXITED, 0, v->exit_code, NULL);
                return;
        case AZ_VERDICT_HANDLER_FAILED:
                az_fail(a, -EIO, "the VM's run command handler failed with code %d: %s", v->exit_code, strna(v->message));
                return;
        case AZ_VERDICT_UNCLEAR:
                break;
        }
        if (v->has_exit_code)
                az_fail(a, -EBADMSG, "Azure reported executionState '%s' with exit code %d for run command %s on VM "
                        "'%s/%s', which do not agree; not taken as a success: %s", strna(v->state), v->exit_code,
                        a->rc_name, a->resource_group, a->vm, strna(v->message));
        else
                az_fail(a, -EBADMSG, "Azure reported executionState '%s' for run command %s on VM '%s/%s' without an "
                        "integer exit code (exitCode %s); not taken as a success: %s", strna(v->state), a->rc_name,
                        a->resource_group, a->vm, v->exit_code_why, strna(v->message));
}

static void on_poll(AzureJob *a, const HttpResponse *resp, long status, json_t *body) {
        bool truncated = false;
        AzRunView v;

        if (status != 200) {
                az_fail(a, -EBADMSG, "unexpected answer polling run command %s (HTTP %ld)", a->rc_name, status);
                return;
        }
        azure_run_view(body, &v);
        switch (v.kind) {
        case AZ_RUN_ENDED:
                a->seen = true;
                take_stream(a, 0, v.output, &truncated);
                take_stream(a, 1, v.error, &truncated);
                if (truncated)
                        a->note = "azure run command; Azure keeps only the last 4096 bytes of each stream";
                conclude_ended(a, &v);
                return;
        case AZ_RUN_PROVISION_FAILED: {
                char *ctx = NULL;
                (void) asprintf_safe(&ctx, "the run command failed on VM '%s/%s' before the script ran (%s)",
                                     a->resource_group, a->vm, v.message ?: "provisioningState Failed");
                az_check_power(a, ctx);
                return;
        }
        case AZ_RUN_GOING:
                a->seen = true;
                az_poll_later(a, resp);
                return;
        }
}

void azure_managed_response(AzureJob *a, const HttpResponse *resp, long status, json_t *body) {
        switch (a->phase) {
        case AZ_GET_VM:
                on_vm(a, status, body);
                break;
        case AZ_PUT:
                on_put(a, status);
                break;
        case AZ_POLL:
                on_poll(a, resp, status, body);
                break;
        default:
                az_fail(a, -EINVAL, "internal error: unexpected phase %d", (int) a->phase);
        }
}
