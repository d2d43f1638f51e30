/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* azure-action.c: the classic "action" Run Command ("api": "action" on the target), as the
 * contract (shared/azure-run-command.md §2, §7) says Azure's own SDKs follow it:
 *
 *   commit the run's name ─► POST …/virtualMachines/{vm}/runCommand {commandId: RunShellScript,
 *   script: [wrapper lines]} ─► 202 with Azure-AsyncOperation and Location (verbatim) ─► commit
 *   them ─► after Retry-After (else our interval) GET Azure-AsyncOperation until its status is
 *   Succeeded, Failed or Canceled ─► Succeeded: one GET on Location (202: keep polling it; 200:
 *   RunCommandResult) ─► parse "[stdout]" and "[stderr]" out of the result's message.
 *   A synchronous 200 to the POST carries the result itself; only a Location: poll it.
 *
 * Exit status (the contract's design note, §2.8): the platform drops it (the message says
 * "Enable succeeded" whatever the script returned), so the script is sent inside a wrapper that
 * runs it with /bin/sh -c and prints, as the last line of stdout and again of stderr,
 *     "\n__RUNBOOKD_EXIT_<run name>=<status>\n"
 * The marker is at the very end of each stream, so it survives Azure's 4096-byte tail whatever
 * came before; it carries the run's random name, so a script cannot print it by accident; the
 * newline printed before it is removed with it, so each stream is exactly what the script wrote.
 * The status is read from the copy that ends the whole result (the end of stderr): a script that
 * prints a marker of its own, on either stream, prints it before that one, so it is never taken. The wrapper
 * also exports RUNBOOK_SESSION and RUNBOOK_STEP (as the managed API passes them), and when the
 * step has a timeout runs the script under timeout(1) (if the VM has it), because this API has no
 * way to stop a running script: a timed-out or cancelled step can only say so. Without the marker
 * (the script was killed on the VM) an older extension's "Enable failed: … exit status=N" prefix
 * is used, else the step fails saying the exit status was not reported.
 *
 * Restarts: the run's name is committed before the POST, the operation's URLs as soon as the 202
 * names them; a restart follows the committed URLs to the end. Residual window: a restart between
 * sending the POST and committing its 202 (one round trip and one fsync) finds no URL to follow
 * (the action API has no way to look a run up); that step fails, saying it may or may not have
 * run, and is never re-run. */

#include <inttypes.h>
#include <stdio.h>
#include <strings.h>

#include "config/template.h"
#include "connector/azure/azure-job.h"
#include "shared/log.h"

#define KILL_AFTER_SEC 5

/* The operation URLs are used verbatim, but only on Resource Manager's own host: the bearer
 * token goes with every poll. */
static bool url_on_arm(const AzureJob *a, const char *url) {
        size_t n = strlen(a->id->resource);

        return url && strncasecmp(url, a->id->resource, n) == 0 && (url[n] == '/' || url[n] == '?');
}

int azure_action_setup(AzureJob *a, json_t *handle) {
        const char *op, *loc;

        if (!handle)
                return 0;
        op = json_string_value(json_object_get(handle, "operation"));
        loc = json_string_value(json_object_get(handle, "location"));
        if ((op && !(a->op_url = strdup(op))) || (loc && !(a->loc_url = strdup(loc))))
                return -ENOMEM;
        if (!op && !loc) {
                a->result.error = -ENXIO;
                if (asprintf_safe(&a->message, "the run %s was requested from VM '%s/%s' just before runbookd stopped, "
                                  "but Azure's answer (the operation to follow) was not recorded; it may or may not "
                                  "have run; not re-run", a->rc_name, a->resource_group, a->vm) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static char *post_body(AzureJob *a) {
        _cleanup_free_ char *quoted = NULL, *wrapper = NULL, *run = NULL;
        _cleanup_(json_decrefp) json_t *j = NULL, *lines = NULL;
        char *body;

        quoted = shell_quote(a->command);
        if (!quoted)
                return NULL;
        if (a->timeout_usec > 0) {
                unsigned long long sec = (a->timeout_usec + USEC_PER_SEC - 1) / USEC_PER_SEC;
                if (asprintf_safe(&run, "if command -v timeout >/dev/null 2>&1; then timeout -k %d %llu /bin/sh -c "
                                  "\"$runbookd_script\"; else /bin/sh -c \"$runbookd_script\"; fi", KILL_AFTER_SEC, sec) < 0)
                        return NULL;
        } else if (!(run = strdup("/bin/sh -c \"$runbookd_script\"")))
                return NULL;
        if (asprintf_safe(&wrapper,
                          "export RUNBOOK_SESSION=%" PRIu32 " RUNBOOK_STEP=%" PRIu32 "\n"
                          "runbookd_script=%s\n"
                          "%s\n"
                          "runbookd_rc=$?\n"
                          "printf '\\n%%s=%%d\\n' '" AZURE_EXIT_MARKER "%s' \"$runbookd_rc\"\n"
                          "printf '\\n%%s=%%d\\n' '" AZURE_EXIT_MARKER "%s' \"$runbookd_rc\" >&2",
                          a->session_id, a->step_index, quoted, run, a->rc_name, a->rc_name) < 0)
                return NULL;
        explicit_bzero(quoted, strlen(quoted));

        /* "script" is an array of lines (the guest joins them with newlines) */
        lines = json_array();
        if (!lines)
                return NULL;
        for (const char *p = wrapper;;) {
                size_t k = strcspn(p, "\n");
                if (json_array_append_new(lines, json_stringn(p, k)) < 0)
                        return NULL;
                if (!p[k])
                        break;
                p += k + 1;
        }
        explicit_bzero(wrapper, strlen(wrapper));
        j = json_pack("{s:s, s:O}", "commandId", "RunShellScript", "script", lines);
        if (!j)
                return NULL;
        body = json_dumps(j, JSON_COMPACT);
        return body;
}

int azure_action_request(AzureJob *a, char **ret_url, char **ret_body) {
        switch (a->phase) {
        case AZ_POST:
                *ret_body = post_body(a);
                if (!*ret_body)
                        return -ENOMEM;
                return asprintf_safe(ret_url, "%s/runCommand?api-version=" ARM_API_VERSION, a->vm_url) < 0 ? -ENOMEM : 0;
        case AZ_OPERATION:
                *ret_url = strdup(a->op_url);
                return *ret_url ? 0 : -ENOMEM;
        case AZ_RESULT:
                *ret_url = strdup(a->loc_url);
                return *ret_url ? 0 : -ENOMEM;
        default:
                return -EINVAL;
        }
}

char *azure_action_stop_message(AzureJob *a, AzStop why) {
        char b[DURATION_MAX], *m = NULL;

        if (why == AZ_STOP_TIMEOUT)
                (void) asprintf_safe(&m, "timed out after %s%s", connector_format_timeout(b, sizeof b, a->timeout_usec),
                                     a->created ? "; the classic Run Command API cannot stop a script: the VM stops "
                                     "it at the same timeout (timeout(1) in runbookd's wrapper)" : "");
        else if (a->created)
                (void) asprintf_safe(&m, "cancelled; the classic Run Command API cannot stop a script: it may go on "
                                     "running on VM '%s/%s'%s", a->resource_group, a->vm,
                                     a->timeout_usec > 0 ? " until the step's timeout" : "");
        else
                m = strdup("cancelled");
        return m;
}

/* ---------------------------------------------------------------- the result */

/* The result, read by azure_run_result(): its streams recorded, then the step concluded. */
static void on_result(AzureJob *a, json_t *value) {
        bool truncated = false;
        AzRunResult r;

        if (azure_run_result(value, a->rc_name, &r) < 0) {
                az_fail(a, -ENOMEM, "out of memory");
                return;
        }
        if (r.out)
                az_take_stream(a, 0, r.out, r.n_out, &truncated);
        if (r.err)
                az_take_stream(a, 1, r.err, r.n_err, &truncated);
        if (r.out_truncated || r.err_truncated) {
                a->job.output[0].truncated |= r.out_truncated;
                a->job.output[1].truncated |= r.err_truncated;
                truncated = true;
        }
        if (truncated)
                a->note = "azure run command (action API); Azure keeps only the last 4096 bytes of each stream";
        switch (r.problem) {
        case AZ_RESULT_OK:
                az_conclude(a, OUTCOME_EXITED, 0, r.exit_status, NULL);
                return;
        case AZ_RESULT_NO_EXIT:
                az_fail(a, -EIO, "run %s on VM '%s/%s' ended without reporting its exit status (runbookd's wrapper "
                        "did not end the output with it: the script was stopped on the VM, or something it started "
                        "went on writing); its output is recorded", a->rc_name, a->resource_group, a->vm);
                return;
        case AZ_RESULT_NO_STATUS:
                az_fail(a, -EBADMSG, "the result of run %s carries no status (\"value\")", a->rc_name);
                return;
        case AZ_RESULT_NO_STDOUT:
                az_fail(a, -EBADMSG, "the result of run %s has no [stdout] section: %.200s", a->rc_name, r.message);
                return;
        case AZ_RESULT_MALFORMED:
                az_fail(a, -EBADMSG, "the result of run %s on VM '%s/%s' is malformed: runbookd's exit marker "
                        "ends stderr but not stdout; not taken as a result", a->rc_name, a->resource_group, a->vm);
                return;
        case AZ_RESULT_TWO_STREAMS:
                az_fail(a, -EIO, "run %s on VM '%s/%s' reported its streams without runbookd's exit status marker "
                        "(not a Linux VM?)", a->rc_name, a->resource_group, a->vm);
                return;
        }
}

static void on_committed(ConnectorJob *j, int error) {
        AzureJob *a = (AzureJob *) j;

        if (a->have_result)
                return;
        if (error < 0)
                /* the run exists: follow it anyway; only a restart could not */
                log_debug_errno(error, "Could not record the operation of run %s, following it anyway: %m", a->rc_name);
        usec_t d = a->poll_delay;
        a->poll_delay = POLL_FIRST_USEC;
        az_later(a, d);
}

static void on_accepted(AzureJob *a, const HttpResponse *resp) {
        usec_t d = http_retry_after(resp);

        if (!resp->async_operation && !resp->location) {
                az_fail(a, -EBADMSG, "Azure accepted run %s but named no operation to follow (no Azure-AsyncOperation "
                        "or Location header)", a->rc_name);
                return;
        }
        if ((resp->async_operation && !url_on_arm(a, resp->async_operation)) ||
            (resp->location && !url_on_arm(a, resp->location))) {
                az_fail(a, -EBADMSG, "Azure named an operation URL outside Resource Manager (%s) for run %s; not "
                        "following it with our token", a->id->resource, a->rc_name);
                return;
        }
        if ((resp->async_operation && !(a->op_url = strdup(resp->async_operation))) ||
            (resp->location && !(a->loc_url = strdup(resp->location)))) {
                az_fail(a, -ENOMEM, "out of memory");
                return;
        }
        a->phase = a->op_url ? AZ_OPERATION : AZ_RESULT;
        /* the first poll honours the 202's Retry-After (as Go's poller does), else our interval */
        a->poll_delay = d != USEC_INFINITY ? d : POLL_FIRST_USEC;
        az_commit_handle(a, on_committed);
}

static void on_operation(AzureJob *a, const HttpResponse *resp, json_t *body) {
        const char *status = json_string_value(json_object_get(body, "status"));
        json_t *e = json_object_get(body, "error");
        const char *code = strempty(json_string_value(json_object_get(e, "code")));
        const char *msg = strempty(json_string_value(json_object_get(e, "message")));

        if (!status) {
                az_fail(a, -EBADMSG, "the operation of run %s answered without a status", a->rc_name);
                return;
        }
        a->seen = true;
        if (strcaseeq_ascii(status, "Succeeded")) {
                usec_t d = http_retry_after(resp);
                if (!a->loc_url) {
                        on_result(a, json_object_get(json_object_get(json_object_get(body, "properties"), "output"), "value"));
                        return;
                }
                a->phase = AZ_RESULT;
                az_later(a, d == USEC_INFINITY ? 0 : d);
                return;
        }
        if (strcaseeq_ascii(status, "Failed")) {
                char *ctx = NULL;
                (void) asprintf_safe(&ctx, "run %s failed on VM '%s/%s' (%s): %s", a->rc_name, a->resource_group, a->vm,
                                     *code ? code : "no error code", msg);
                if (streq(code, "OperationNotAllowed"))
                        az_check_power(a, ctx);
                else
                        az_conclude(a, OUTCOME_ERROR, -EIO, -1, ctx);
                return;
        }
        if (strcaseeq_ascii(status, "Canceled")) {
                az_fail(a, -ECANCELED, "run %s was cancelled on VM '%s/%s' (%s): %s", a->rc_name, a->resource_group,
                        a->vm, *code ? code : "no error code", msg);
                return;
        }
        az_poll_later(a, resp);
}

void azure_action_response(AzureJob *a, const HttpResponse *resp, long status, json_t *body) {
        switch (a->phase) {
        case AZ_POST:
                if (status == 200)
                        on_result(a, json_object_get(body, "value"));
                else
                        on_accepted(a, resp);
                return;
        case AZ_OPERATION:
                if (status != 200) {
                        az_fail(a, -EBADMSG, "unexpected answer polling the operation of run %s (HTTP %ld)",
                                a->rc_name, status);
                        return;
                }
                on_operation(a, resp, body);
                return;
        case AZ_RESULT:
                a->seen = true;
                if (status == 202) {
                        if (resp->location && url_on_arm(a, resp->location) && !streq(resp->location, a->loc_url)) {
                                char *l = strdup(resp->location);
                                if (l) {
                                        free(a->loc_url);
                                        a->loc_url = l;
                                }
                        }
                        az_poll_later(a, resp);
                        return;
                }
                on_result(a, json_object_get(body, "value"));
                return;
        default:
                az_fail(a, -EINVAL, "internal error: unexpected phase %d", (int) a->phase);
        }
}
