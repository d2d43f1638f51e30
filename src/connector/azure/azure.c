/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* azure.c: the "azure" connector: runs a step on an Azure VM through Run Command, in one of two
 * flavours chosen by the target's "api":
 *
 *   "managed" (default, azure-managed.c): the …/virtualMachines/{vm}/runCommands/{name} resource,
 *       which reports the script's exit code; created, polled, deleted.
 *   "action" (azure-action.c): the classic POST …/virtualMachines/{vm}/runCommand, followed
 *       through its asynchronous operation; the exit status comes from a marker line the
 *       connector's wrapper prints (Azure drops it).
 *
 * This file is what both share: copying the target at start, the access token, sending requests,
 * 429/5xx/transport retries with back-off (Retry-After when given), 409 Conflict ("another run
 * command is in progress") retried until the step's timeout, 401 refreshing the token once, and
 * every other failure turned into OUTCOME_ERROR with a message naming the cause (the VM's power
 * state is looked up when a failure suggests the VM is not running); the step's timeout and
 * cancel; the remote handle committed before the run is created.
 *
 * Everything the job needs is copied from the Target at start (Reload may replace the catalog).
 * No token, secret or request body is ever logged. */

#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <strings.h>

#include "connector/azure/azure-check.h"
#include "connector/azure/azure-job.h"
#include "shared/log.h"

#define BACKOFF_MAX_USEC (60 * USEC_PER_SEC)
#define TRANSIENT_RETRIES_MAX 8
#define CONFLICT_WAIT_DEFAULT_USEC (10 * 60 * USEC_PER_SEC)   /* steps without a timeout */
#define DELETE_ATTEMPTS_MAX 4

static AzureJob *azure_job(ConnectorJob *j) {
        return (AzureJob *) j;
}

static const char *phase_method(AzPhase p) {
        return p == AZ_PUT ? "PUT" : p == AZ_DELETE ? "DELETE" : p == AZ_POST ? "POST" : "GET";
}

static bool phase_polls(AzPhase p) {
        return p == AZ_POLL || p == AZ_OPERATION || p == AZ_RESULT;
}

/* ---------------------------------------------------------------- finishing */

static void az_clear_io(AzureJob *a) {
        a->token_req = azure_token_request_free(a->token_req);
        a->http = http_request_free(a->http);
        a->timer = sd_event_source_disable_unref(a->timer);
}

static void az_finish_now(AzureJob *a) {
        StepResult res = a->result;

        az_clear_io(a);
        a->deadline_timer = sd_event_source_disable_unref(a->deadline_timer);
        a->cancel_defer = sd_event_source_disable_unref(a->cancel_defer);
        res.message = a->message;
        res.connection = a->note ?: a->action ? "azure run command (action API)" : "azure run command";
        connector_job_finish(&a->job, &res);   /* last: may free the job */
}

/* Records the outcome, then deletes the run command if it may exist (managed), then reports. */
void az_conclude(AzureJob *a, StepOutcome outcome, int error, int exit_status, char *message) {
        if (!a->have_result) {
                a->have_result = true;
                a->result = (StepResult) { .outcome = outcome, .error = error, .exit_status = exit_status };
                free(a->message);
                a->message = message;
        } else
                free(message);
        az_clear_io(a);
        if (!a->action && a->created && a->phase != AZ_DELETE) {
                a->phase = AZ_DELETE;
                a->transient = 0;
                az_send(a);
                return;
        }
        az_finish_now(a);
}

void az_fail(AzureJob *a, int error, const char *fmt, ...) {
        char *m = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&m, fmt, ap) < 0)
                m = NULL;
        va_end(ap);
        az_conclude(a, OUTCOME_ERROR, error < 0 ? error : -EIO, -1, m);
}

/* ---------------------------------------------------------------- timers */

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        AzureJob *a = userdata;

        a->timer = sd_event_source_disable_unref(a->timer);
        az_send(a);
        return 0;
}

void az_later(AzureJob *a, usec_t delay) {
        int r;

        a->timer = sd_event_source_disable_unref(a->timer);
        r = sd_event_add_time_relative(a->job.event, &a->timer, CLOCK_MONOTONIC, delay, 10 * USEC_PER_MSEC,
                                       on_timer, a);
        if (r < 0) {
                az_fail(a, r, "cannot arm a timer: %s", strerror(-r));
                return;
        }
        (void) sd_event_source_set_description(a->timer, "azure-retry");
}

void az_poll_later(AzureJob *a, const HttpResponse *resp) {
        usec_t d = resp ? http_retry_after(resp) : USEC_INFINITY;

        a->transient = 0;
        if (d == USEC_INFINITY) {
                d = a->poll_delay;
                a->poll_delay = MIN(a->poll_delay * 3 / 2, POLL_MAX_USEC);
        }
        az_later(a, d);
}

static void az_stop(AzureJob *a, AzStop why) {
        char *m = NULL;

        if (a->stop != AZ_STOP_NONE)
                return;
        a->stop = why;
        if (a->action)
                m = azure_action_stop_message(a, why);
        else if (why == AZ_STOP_TIMEOUT) {
                char b[DURATION_MAX];
                (void) asprintf_safe(&m, "timed out after %s%s", connector_format_timeout(b, sizeof b, a->timeout_usec),
                                     a->created ? "; the run command was deleted on the VM, which stops the script" : "");
        } else
                m = strdup(a->created ? "cancelled; the run command was deleted on the VM, which stops the script" :
                           "cancelled");
        az_conclude(a, why == AZ_STOP_TIMEOUT ? OUTCOME_TIMED_OUT : OUTCOME_CANCELLED, 0, -1, m);
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        AzureJob *a = userdata;

        a->deadline_timer = sd_event_source_disable_unref(a->deadline_timer);
        if (a->have_result)
                return 0;   /* already concluding (deleting) */
        az_stop(a, AZ_STOP_TIMEOUT);
        return 0;
}

/* A transient failure: retry after Retry-After, else exponential backoff, while time is left. */
static void az_retry(AzureJob *a, const HttpResponse *resp, const char *what) {
        usec_t d = resp ? http_retry_after(resp) : USEC_INFINITY;

        if (a->phase != AZ_DELETE && a->transient >= TRANSIENT_RETRIES_MAX &&
            (d == USEC_INFINITY || a->transient >= 4 * TRANSIENT_RETRIES_MAX)) {
                az_fail(a, -EAGAIN, "Azure Resource Manager kept failing (%s) after %u attempts", what, a->transient + 1);
                return;
        }
        if (a->phase == AZ_DELETE && ++a->delete_attempts >= DELETE_ATTEMPTS_MAX) {
                log_debug("Giving up deleting run command %s: %s", a->rc_name, what);
                az_finish_now(a);
                return;
        }
        if (d == USEC_INFINITY)
                d = MIN(USEC_PER_SEC << MIN(a->transient, 6u), BACKOFF_MAX_USEC);
        a->transient++;
        log_debug("Azure %s on %s for run %s: %s; retrying in %" PRIu64 " ms.", phase_method(a->phase),
                  a->vm, a->rc_name, what, d / USEC_PER_MSEC);
        az_later(a, d);
}

/* ---------------------------------------------------------------- requests */

static int set_auth_header(AzureJob *a, const char *token) {
        a->auth_header = azure_secret_free(a->auth_header);
        return asprintf_safe(&a->auth_header, "Authorization: Bearer %s", token) < 0 ? -ENOMEM : 0;
}

static void on_token(int r, const char *token, const char *message, void *userdata) {
        AzureJob *a = userdata;

        a->token_req = azure_token_request_free(a->token_req);
        if (r < 0) {
                if (a->phase == AZ_DELETE) {
                        log_debug("Cannot delete run command %s without a token: %s", a->rc_name, strna(message));
                        az_finish_now(a);
                        return;
                }
                az_fail(a, r, "%s", message ?: "cannot get an access token");
                return;
        }
        if (set_auth_header(a, token) < 0) {
                az_fail(a, -ENOMEM, "out of memory");
                return;
        }
        a->token_fresh = true;
        az_send(a);
}

static int az_ensure_token(AzureJob *a, bool refresh) {
        _cleanup_free_ char *why = NULL;
        const char *token = NULL;
        int r;

        r = azure_token_get(a->job.event, a->id, refresh, on_token, a, &token, &a->token_req, &why);
        if (r < 0) {
                if (a->phase == AZ_DELETE) {
                        az_finish_now(a);
                        return 0;
                }
                az_fail(a, r, "%s", why ?: "cannot get an access token");
                return 0;
        }
        if (r == 0)
                return 0;   /* on_token() continues */
        r = set_auth_header(a, token);
        return r < 0 ? r : 1;
}

static void on_response(HttpRequest *req, const HttpResponse *resp, void *userdata);

/* Sends the request of the current phase (after making sure we hold a token). */
void az_send(AzureJob *a) {
        _cleanup_free_ char *url = NULL, *body = NULL;
        const char *headers[] = { NULL, "Accept: application/json", "Content-Type: application/json", NULL };
        int r;

        if (a->token_req)
                return;   /* on_token() sends it */
        if (!a->token_fresh || !a->auth_header) {
                r = az_ensure_token(a, false);
                if (r < 0) {
                        az_fail(a, r, "out of memory");
                        return;
                }
                if (r == 0)
                        return;
        }
        a->token_fresh = false;
        headers[0] = a->auth_header;

        if (a->phase == AZ_CHECK_POWER)
                r = asprintf_safe(&url, "%s/instanceView?api-version=" ARM_API_VERSION, a->vm_url);
        else if (a->action)
                r = azure_action_request(a, &url, &body);
        else
                r = azure_managed_request(a, &url, &body);
        if (r < 0) {
                az_fail(a, r, "cannot build the request: %s", strerror(-r));
                return;
        }
        if (a->phase == AZ_PUT || a->phase == AZ_POST)
                a->created = true;

        HttpRequestParams p = {
                .method = phase_method(a->phase),
                .url = url,
                .headers = headers,
                .body = body,
                .body_len = body ? strlen(body) : 0,
                .ca_file = a->id->ca_file,
        };
        a->http = http_request_free(a->http);
        r = http_request_start(a->job.event, &p, on_response, a, &a->http);
        if (body)
                explicit_bzero(body, strlen(body));
        if (r < 0) {
                if (a->phase == AZ_DELETE)
                        az_finish_now(a);
                else
                        az_fail(a, r, "cannot send a request to Azure Resource Manager: %s", strerror(-r));
                return;
        }
        log_debug("Azure %s %s (run %s).", p.method, a->phase == AZ_GET_VM || a->phase == AZ_CHECK_POWER ? "VM" :
                  a->phase == AZ_OPERATION || a->phase == AZ_RESULT ? "operation" : "run command", a->rc_name);
}

/* ---------------------------------------------------------------- the remote handle */

static void on_handle_committed(ConnectorJob *j, int error) {
        AzureJob *a = azure_job(j);

        if (a->have_result)
                return;   /* cancelled or timed out meanwhile: nothing was created */
        if (error < 0) {
                az_fail(a, error, "could not record the run's name durably before creating it (%s); not run",
                        strerror(-error));
                return;
        }
        az_send(a);
}

/* What identifies the run, durable before the request that creates it (see connector.h); the
 * action API commits it again once Azure has named the operation. 'cont' NULL: send the
 * current phase's request once it is durable. */
void az_commit_handle(AzureJob *a, connector_continue_t cont) {
        _cleanup_(json_decrefp) json_t *h = NULL;
        int r;

        if (a->created_at == 0)
                a->created_at = now_usec(CLOCK_REALTIME);
        h = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "connector", "azure", "api", a->action ? "action" : "managed",
                      "name", a->rc_name, "vm", a->vm, "resource_group", a->resource_group,
                      "created_at", (json_int_t) a->created_at);
        if (!h || (!a->action && json_object_set_new(h, "url", json_string(a->rc_url)) < 0) ||
            (a->op_url && json_object_set_new(h, "operation", json_string(a->op_url)) < 0) ||
            (a->loc_url && json_object_set_new(h, "location", json_string(a->loc_url)) < 0)) {
                az_fail(a, -ENOMEM, "out of memory");
                return;
        }
        r = connector_job_set_handle(&a->job, h, cont ?: on_handle_committed);
        if (r < 0)
                az_fail(a, r, "could not record the run's name before creating it (%s); not run", strerror(-r));
}

/* ---------------------------------------------------------------- responses */

static void az_fail_forbidden(AzureJob *a, const char *message, const char *needed) {
        _cleanup_free_ char *action = azure_forbidden_action(message);

        az_fail(a, -EACCES, "permission missing: the identity (%s) may not perform %s on VM '%s/%s' "
                "(AuthorizationFailed); grant it the Virtual Machine Contributor role (or a role with that action) "
                "on the VM, its resource group or the subscription",
                a->id->client_id ? a->id->client_id : "managed identity", action ?: needed,
                a->resource_group, a->vm);
}

static const char *phase_action(AzPhase p) {
        switch (p) {
        case AZ_PUT:
                return "Microsoft.Compute/virtualMachines/runCommands/write";
        case AZ_POLL:
                return "Microsoft.Compute/virtualMachines/runCommands/read";
        case AZ_POST:
                return "Microsoft.Compute/virtualMachines/runCommand/action";
        case AZ_OPERATION:
        case AZ_RESULT:
                return "Microsoft.Compute/locations/operations/read";
        default:
                return "Microsoft.Compute/virtualMachines/read";
        }
}

void az_check_power(AzureJob *a, char *context) {
        free(a->context);
        a->context = context;
        a->phase = AZ_CHECK_POWER;
        a->transient = 0;
        az_send(a);
}

static void on_power(AzureJob *a, long status, json_t *body) {
        const char *power = azure_power_state(body, NULL);

        if (status == 200 && power && strcasecmp(power, "running") != 0)
                az_fail(a, -EHOSTDOWN, "VM '%s/%s' is not running (power state: %s); start it and retry (%s)",
                        a->resource_group, a->vm, power, strna(a->context));
        else
                az_fail(a, -EIO, "%s", strna(a->context));
}

void az_take_stream(AzureJob *a, unsigned k, const char *s, size_t n, bool *truncated) {
        if (n == 0)
                return;
        if (output_capture_append(&a->job.output[k], s, n) < 0)
                log_debug("Out of memory keeping the output of run %s.", a->rc_name);
        if (n >= AZURE_OUTPUT_TAIL) {
                /* Azure kept only the last 4096 bytes of this stream */
                a->job.output[k].truncated = true;
                *truncated = true;
        }
}

static bool is_token_error(const char *code) {
        return streq(code, "InvalidAuthenticationToken") || streq(code, "ExpiredAuthenticationToken") ||
               streq(code, "AuthenticationFailed") || streq(code, "InvalidAuthenticationTokenAudience") || !*code;
}

/* 409 on the request that creates a run: another run command is in progress; wait and retry
 * within the step's timeout (a deallocating VM is not "busy"). */
static void az_busy(AzureJob *a, const HttpResponse *resp, const char *code, const char *msg) {
        usec_t d = http_retry_after(resp);

        a->created = false;
        if (d == USEC_INFINITY)
                d = MIN(2 * USEC_PER_SEC << MIN(a->transient, 3u), 15 * USEC_PER_SEC);
        a->transient = MIN(a->transient + 1, 10u);
        if (a->timeout_usec == 0 && now_usec(CLOCK_MONOTONIC) + d > a->deadline) {
                az_fail(a, -EBUSY, "VM '%s/%s' stayed busy with another run command (%s: %s)",
                        a->resource_group, a->vm, code, msg);
                return;
        }
        log_debug("VM %s is busy (%s), trying again in %" PRIu64 " ms.", a->vm, code, d / USEC_PER_MSEC);
        az_later(a, d);
}

/* 404 while following a run: it is gone. */
static void az_gone(AzureJob *a) {
        const char *what = a->action ? "operation of run" : "run command";

        a->created = false;
        if (a->resumed && !a->seen)
                az_fail(a, -ENXIO, "the remote run (%s %s on VM '%s/%s') was not found after a restart; "
                        "it may or may not have run; not re-run", what, a->rc_name, a->resource_group, a->vm);
        else
                az_fail(a, -ENXIO, "%s %s disappeared from VM '%s/%s' while it ran (deleted by someone else?)",
                        what, a->rc_name, a->resource_group, a->vm);
}

static void on_response(HttpRequest *req, const HttpResponse *resp, void *userdata) {
        AzureJob *a = userdata;
        _cleanup_(json_decrefp) json_t *body = NULL;
        const char *code, *msg;
        long status = resp->status;
        bool creates = a->phase == AZ_PUT || a->phase == AZ_POST;
        /* resp points into the request: free it on return, not before */
        _unused_ _cleanup_(http_request_freep) HttpRequest *finished = TAKE_PTR(a->http);

        if (a->phase == AZ_DELETE) {
                if (resp->error < 0 || status == 429 || status >= 500) {
                        az_retry(a, resp, resp->error < 0 ? strna(resp->error_text) : "throttled or unavailable");
                        return;
                }
                log_debug("Deleted run command %s (HTTP %ld).", a->rc_name, status);
                az_finish_now(a);
                return;
        }
        if (resp->error < 0) {
                if (resp->error == -EPROTO) {
                        az_fail(a, resp->error, "TLS failure talking to Azure Resource Manager: %s", strna(resp->error_text));
                        return;
                }
                az_retry(a, NULL, strna(resp->error_text));
                return;
        }
        if (status == 408 || status == 429 || (status >= 500 && status <= 599)) {
                char what[32];
                snprintf(what, sizeof what, "HTTP %ld", status);
                az_retry(a, resp, what);
                return;
        }
        a->transient = 0;
        body = json_loadb(resp->body, resp->body_len, 0, NULL);
        azure_arm_error(body, &code, &msg);

        if (status == 401) {
                if (!a->token_refreshed && is_token_error(code)) {
                        a->token_refreshed = true;
                        if (creates)
                                a->created = false;   /* refused: nothing was created */
                        int r = az_ensure_token(a, true);
                        if (r > 0)
                                az_send(a);
                        return;
                }
                if (streq(code, "InvalidAuthenticationTokenAudience"))
                        az_fail(a, -EACCES, "Azure Resource Manager at %s does not accept the token's audience '%s' "
                                "(InvalidAuthenticationTokenAudience): set the target's \"cloud\", or \"audience\" to "
                                "one it accepts: %s", a->id->resource, a->id->audience, msg);
                else
                        az_fail(a, -EACCES, "Azure Resource Manager rejected the access token (%s): %s", code, msg);
                return;
        }
        if (status >= 400 && creates)
                a->created = false;   /* a refused create created nothing */
        if (status == 403) {
                az_fail_forbidden(a, msg, phase_action(a->phase));
                return;
        }
        if (status == 404 && !phase_polls(a->phase)) {
                if (streq(code, "ResourceGroupNotFound"))
                        az_fail(a, -ENXIO, "resource group '%s' not found (ResourceGroupNotFound): %s", a->resource_group, msg);
                else if (streq(code, "SubscriptionNotFound"))
                        az_fail(a, -ENXIO, "subscription not found (SubscriptionNotFound): %s", msg);
                else
                        az_fail(a, -ENXIO, "VM '%s' not found in resource group '%s' (%s): %s", a->vm,
                                a->resource_group, *code ? code : "ResourceNotFound", msg);
                return;
        }
        if (status == 404) {
                az_gone(a);
                return;
        }
        if (status == 409 && creates && (streq(code, "Conflict") || streq(code, "RetryableErrorDueToAnotherOperation")) &&
            !strstr(msg, "deallocat")) {
                az_busy(a, resp, code, msg);
                return;
        }
        if (status == 409 || (status == 400 && streq(code, "OperationNotAllowed"))) {
                char *ctx = NULL;
                (void) asprintf_safe(&ctx, "%s: %s", code, msg);
                if (a->phase == AZ_CHECK_POWER)
                        az_fail(a, -EIO, "%s", strna(ctx));
                else
                        az_check_power(a, ctx);
                return;
        }
        if (status >= 400) {
                az_fail(a, -EINVAL, "Azure Resource Manager refused the %s (HTTP %ld %s): %s",
                        creates ? "run command" : "request", status, code, msg);
                return;
        }

        if (a->phase == AZ_CHECK_POWER)
                on_power(a, status, body);
        else if (a->action)
                azure_action_response(a, resp, status, body);
        else
                azure_managed_response(a, resp, status, body);
}

/* ---------------------------------------------------------------- the vtable */

static int on_begin(sd_event_source *s, void *userdata) {
        AzureJob *a = userdata;

        a->defer = sd_event_source_disable_unref(a->defer);
        if (a->message) {   /* a failure found in start(), reported from the loop */
                char *m = TAKE_PTR(a->message);
                az_conclude(a, OUTCOME_ERROR, a->result.error ?: -EINVAL, -1, m);
                return 0;
        }
        a->poll_delay = POLL_FIRST_USEC;
        if (a->resumed)
                /* the run exists (or did): follow it, never create it again */
                a->phase = !a->action ? AZ_POLL : a->op_url ? AZ_OPERATION : AZ_RESULT;
        else if (a->action) {
                a->phase = AZ_POST;
                az_commit_handle(a, NULL);
                return 0;
        } else
                a->phase = AZ_GET_VM;
        az_send(a);
        return 0;
}

static const char *cfg(const Target *t, const char *key) {
        return json_string_value(json_object_get(t->config, key));
}

/* Resume: the name (and URLs) committed before the run was created. */
static int setup_resume(AzureJob *a, const StepRequest *req, json_t *handle) {
        const char *name = json_string_value(json_object_get(handle, "name"));
        const char *url = json_string_value(json_object_get(handle, "url"));
        const char *api = json_string_value(json_object_get(handle, "api"));
        json_t *ca = json_object_get(handle, "created_at");
        usec_t now_rt = now_usec(CLOCK_REALTIME), elapsed = 0, left;

        if (isempty(name) || strchr(name, '/'))
                return -EBADMSG;
        a->action = streq_ptr(api, "action");   /* the API that started it, whatever the target says now */
        a->rc_name = strdup(name);
        if (!a->rc_name || (!a->action && url && !(a->rc_url = strdup(url))))
                return -ENOMEM;
        if (json_is_integer(ca) && json_integer_value(ca) > 0) {
                a->created_at = (usec_t) json_integer_value(ca);
                if (a->created_at < now_rt)
                        elapsed = now_rt - a->created_at;
        }
        if (elapsed < a->job.started_usec)
                a->job.started_usec -= elapsed;   /* the duration counts from the creation */
        /* Azure stops the script at its timeout; give the last poll a little time to see it */
        left = req->timeout_usec > elapsed ? req->timeout_usec - elapsed : 0;
        a->deadline = now_usec(CLOCK_MONOTONIC) + (req->timeout_usec > 0 ? left + 10 * USEC_PER_SEC :
                                                   CONFLICT_WAIT_DEFAULT_USEC);
        a->resumed = a->created = true;
        return 0;
}

/* Both start and resume: copies what the job needs; 'handle' (resume) names the run. */
static int azure_setup(ConnectorJob *j, const StepRequest *req, json_t *handle) {
        AzureJob *a = azure_job(j);
        const Target *t = req->target;
        _cleanup_free_ char *why = NULL, *esub = NULL, *erg = NULL, *evm = NULL;
        unsigned char rnd[4];
        int r;

        a->timeout_usec = req->timeout_usec;
        a->session_id = req->session_id;
        a->step_index = req->step_index;
        a->deadline = now_usec(CLOCK_MONOTONIC) + (req->timeout_usec > 0 ? req->timeout_usec : CONFLICT_WAIT_DEFAULT_USEC);
        a->command = strdup(req->command);
        a->vm = strdup(strempty(cfg(t, "vm")));
        a->resource_group = strdup(strempty(cfg(t, "resource_group")));
        esub = http_escape(strempty(cfg(t, "subscription")));
        erg = http_escape(a->resource_group ?: "");
        evm = http_escape(a->vm ?: "");
        if (!a->command || !a->vm || !a->resource_group || !esub || !erg || !evm)
                return -ENOMEM;
        if (handle) {
                r = setup_resume(a, req, handle);
                if (r < 0)
                        return r;
        } else {
                a->action = streq_ptr(cfg(t, "api"), "action");
                if (RAND_bytes(rnd, sizeof rnd) != 1)
                        return -EIO;
                /* (session, step, attempt) and a random suffix: no clash with an earlier attempt */
                if (asprintf_safe(&a->rc_name, "runbookd-%" PRIu32 "-%" PRIu32 "-a%u-%02x%02x%02x%02x", req->session_id,
                                  req->step_index, req->attempt, rnd[0], rnd[1], rnd[2], rnd[3]) < 0)
                        return -ENOMEM;
        }
        if (a->action) {
                r = azure_action_setup(a, handle);
                if (r < 0)
                        return r;
        }

        r = azure_identity_from_target(t, &a->id, &why);
        if (r < 0 && !why)
                return r;
        if (r >= 0 &&
            (asprintf_safe(&a->vm_url, "%s/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/"
                           "virtualMachines/%s", a->id->resource, esub, erg, evm) < 0 ||
             (!a->action && !a->rc_url && asprintf_safe(&a->rc_url, "%s/runCommands/%s", a->vm_url, a->rc_name) < 0)))
                return -ENOMEM;
        if (r < 0) {
                a->result.error = r;
                free(a->message);
                a->message = TAKE_PTR(why);
        } else if (a->action && req->n_secrets > 0 && !handle) {
                /* its "parameters" are no place for a secret, and it has no protected ones */
                a->result.error = -EOPNOTSUPP;
                free(a->message);
                a->message = strdup("the session has secret parameters, which the classic Run Command API "
                                    "(\"api\": \"action\") cannot pass protected; use the managed one (the default); not run");
                if (!a->message)
                        return -ENOMEM;
        }

        r = sd_event_add_defer(j->event, &a->defer, on_begin, a);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(a->defer, "azure-begin");
        if (req->timeout_usec > 0) {
                r = sd_event_add_time(j->event, &a->deadline_timer, CLOCK_MONOTONIC, a->deadline, 10 * USEC_PER_MSEC,
                                      on_deadline, a);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(a->deadline_timer, "azure-deadline");
        }
        log_debug("%s step %" PRIu32 " of session %" PRIu32 " on Azure VM %s/%s as %s %s.",
                  handle ? "Resuming" : "Running", req->step_index, req->session_id, a->resource_group, a->vm,
                  a->action ? "action run" : "run command", a->rc_name);
        return 0;
}

static int azure_start(ConnectorJob *j, const StepRequest *req) {
        return azure_setup(j, req, NULL);
}

static int azure_resume(ConnectorJob *j, const StepRequest *req, json_t *handle) {
        return azure_setup(j, req, handle);
}

static int on_cancel(sd_event_source *s, void *userdata) {
        AzureJob *a = userdata;

        a->cancel_defer = sd_event_source_disable_unref(a->cancel_defer);
        if (!a->have_result)
                az_stop(a, AZ_STOP_CANCEL);
        return 0;
}

/* 'done' must come from the loop, not from within this call: stop from a defer source. */
static int azure_cancel(ConnectorJob *j) {
        AzureJob *a = azure_job(j);

        if (a->have_result || a->cancel_defer)
                return 0;   /* already concluding */
        a->defer = sd_event_source_disable_unref(a->defer);
        return sd_event_add_defer(j->event, &a->cancel_defer, on_cancel, a);
}

static void azure_destroy(ConnectorJob *j) {
        AzureJob *a = azure_job(j);

        az_clear_io(a);
        a->deadline_timer = sd_event_source_disable_unref(a->deadline_timer);
        a->defer = sd_event_source_disable_unref(a->defer);
        a->cancel_defer = sd_event_source_disable_unref(a->cancel_defer);
        azure_secret_free(a->auth_header);
        azure_secret_free(a->command);
        azure_identity_free(a->id);
        free(a->vm);
        free(a->resource_group);
        free(a->vm_url);
        free(a->rc_name);
        free(a->rc_url);
        free(a->op_url);
        free(a->loc_url);
        free(a->location);
        free(a->message);
        free(a->context);
}

const ConnectorVTable connector_azure = {
        .name = "azure",
        .object_size = sizeof(AzureJob),
        .start = azure_start,
        .cancel = azure_cancel,
        .destroy = azure_destroy,
        .resume = azure_resume,
        .check = azure_check,
        .check_destroy = azure_check_destroy,
};
