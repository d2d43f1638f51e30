/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* azure.c: the "azure" connector: runs a step on an Azure VM through the managed Run Command
 * resource (…/virtualMachines/{vm}/runCommands/{name}), which reports the script's exit code.
 *
 *   token ─► GET VM (its location) ─► PUT run command (script, timeout) ─► GET ?$expand=instanceView
 *   until executionState ends ─► record exit code, stdout, stderr ─► DELETE the run command ─► done
 *
 * 429, 5xx and transport errors are retried with backoff (Retry-After when given); 409 Conflict
 * ("another run command is in progress") is retried until the step's timeout; 401 on a token
 * refreshes it once. Every other failure becomes OUTCOME_ERROR with a message naming the cause
 * (the VM's power state is looked up when a failure suggests the VM is not running). Timeout and
 * cancel delete the run command, which stops the script on the VM. Azure keeps only the last
 * 4096 bytes of each stream: a stream of that size is marked truncated.
 *
 * Everything the job needs is copied from the Target at start (Reload may replace the catalog).
 * No token, secret or request body is ever logged. */

#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <strings.h>

#include "connector/azure-auth.h"
#include "connector/azure-check.h"
#include "connector/connector.h"
#include "connector/curl-event.h"
#include "shared/log.h"

#define ARM_API_VERSION "2024-11-01"
#define AZURE_OUTPUT_TAIL 4096
#define POLL_FIRST_USEC (1 * USEC_PER_SEC)
#define POLL_MAX_USEC (15 * USEC_PER_SEC)
#define BACKOFF_MAX_USEC (60 * USEC_PER_SEC)
#define TRANSIENT_RETRIES_MAX 8
#define CONFLICT_WAIT_DEFAULT_USEC (10 * 60 * USEC_PER_SEC)   /* steps without a timeout */
#define DELETE_ATTEMPTS_MAX 4

#define strcaseeq_ascii(a, b) (strcasecmp((a), (b)) == 0)

typedef enum AzPhase {
        AZ_GET_VM,
        AZ_PUT,
        AZ_POLL,
        AZ_CHECK_POWER,
        AZ_DELETE,
} AzPhase;

typedef enum AzStop {
        AZ_STOP_NONE,
        AZ_STOP_TIMEOUT,
        AZ_STOP_CANCEL,
} AzStop;

typedef struct AzureJob {
        ConnectorJob job;
        AzureIdentity *id;
        char *vm, *resource_group;
        char *vm_url, *rc_name, *rc_url;
        char *command;
        char *location;
        char *auth_header;        /* "Authorization: Bearer …", wiped */
        usec_t timeout_usec, deadline;
        uint32_t session_id, step_index;
        bool resumed;             /* following a run created before a restart (its handle) */
        bool seen;                /* resumed: the run command was found at least once */

        AzPhase phase;
        AzStop stop;
        bool created;             /* a PUT was sent: the resource may exist */
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

static AzureJob *azure_job(ConnectorJob *j) {
        return (AzureJob *) j;
}

static void az_send(AzureJob *a);
static void az_step(AzureJob *a);
static void az_commit_handle(AzureJob *a);

static const char *phase_method(AzPhase p) {
        return p == AZ_PUT ? "PUT" : p == AZ_DELETE ? "DELETE" : "GET";
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
        res.connection = a->note ?: "azure run command";
        connector_job_finish(&a->job, &res);   /* last: may free the job */
}

/* Records the outcome, then deletes the run command if it may exist, then reports. */
static void az_conclude(AzureJob *a, StepOutcome outcome, int error, int exit_status, char *message) {
        if (!a->have_result) {
                a->have_result = true;
                a->result = (StepResult) { .outcome = outcome, .error = error, .exit_status = exit_status };
                free(a->message);
                a->message = message;
        } else
                free(message);
        az_clear_io(a);
        if (a->created && a->phase != AZ_DELETE) {
                a->phase = AZ_DELETE;
                a->transient = 0;
                az_send(a);
                return;
        }
        az_finish_now(a);
}

_printf_(3, 4)
static void az_fail(AzureJob *a, int error, const char *fmt, ...) {
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

static void az_later(AzureJob *a, usec_t delay) {
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

/* "3s" for whole seconds (as the local connector says it), else "1.500s" */
static const char *format_timeout(char *buf, size_t size, usec_t usec) {
        if (usec % USEC_PER_SEC == 0) {
                snprintf(buf, size, "%" PRIu64 "s", (uint64_t) (usec / USEC_PER_SEC));
                return buf;
        }
        return format_duration(buf, size, usec);
}

static void az_stop(AzureJob *a, AzStop why) {
        char *m = NULL;

        if (a->stop != AZ_STOP_NONE)
                return;
        a->stop = why;
        if (why == AZ_STOP_TIMEOUT) {
                char b[DURATION_MAX];
                (void) asprintf_safe(&m, "timed out after %s%s", format_timeout(b, sizeof b, a->timeout_usec),
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
        log_debug("Azure %s on %s for run command %s: %s; retrying in %" PRIu64 " ms.", phase_method(a->phase),
                  a->vm, a->rc_name, what, d / USEC_PER_MSEC);
        az_later(a, d);
}

/* ---------------------------------------------------------------- requests */

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
        if (a->auth_header) {
                explicit_bzero(a->auth_header, strlen(a->auth_header));
                a->auth_header = mfree(a->auth_header);
        }
        if (asprintf_safe(&a->auth_header, "Authorization: Bearer %s", token) < 0) {
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
        if (a->auth_header) {
                explicit_bzero(a->auth_header, strlen(a->auth_header));
                a->auth_header = mfree(a->auth_header);
        }
        if (asprintf_safe(&a->auth_header, "Authorization: Bearer %s", token) < 0)
                return -ENOMEM;
        return 1;
}

static void on_response(HttpRequest *req, const HttpResponse *resp, void *userdata);

static char *put_body(AzureJob *a) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        char s[16], st[16];

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
        return json_dumps(j, JSON_COMPACT);
}

/* Sends the request of the current phase (after making sure we hold a token). */
static void az_send(AzureJob *a) {
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

        switch (a->phase) {
        case AZ_GET_VM:
                r = asprintf_safe(&url, "%s?api-version=" ARM_API_VERSION, a->vm_url);
                break;
        case AZ_CHECK_POWER:
                r = asprintf_safe(&url, "%s/instanceView?api-version=" ARM_API_VERSION, a->vm_url);
                break;
        case AZ_PUT:
                body = put_body(a);
                r = body ? asprintf_safe(&url, "%s?api-version=" ARM_API_VERSION, a->rc_url) : -ENOMEM;
                a->created = true;
                break;
        case AZ_POLL:
                r = asprintf_safe(&url, "%s?$expand=instanceView&api-version=" ARM_API_VERSION, a->rc_url);
                break;
        case AZ_DELETE:
                r = asprintf_safe(&url, "%s?api-version=" ARM_API_VERSION, a->rc_url);
                break;
        default:
                assert(false);
                r = -EINVAL;
        }
        if (r < 0) {
                az_fail(a, -ENOMEM, "out of memory");
                return;
        }

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
        log_debug("Azure %s %s (run command %s).", p.method, a->phase == AZ_GET_VM || a->phase == AZ_CHECK_POWER ?
                  "VM" : "run command", a->rc_name);
}

/* ---------------------------------------------------------------- responses */

static void arm_error(json_t *body, const char **ret_code, const char **ret_message) {
        json_t *e = json_object_get(body, "error");

        *ret_code = json_string_value(json_object_get(e, "code")) ?: "";
        *ret_message = json_string_value(json_object_get(e, "message")) ?: "";
}

static void az_fail_forbidden(AzureJob *a, const char *message, const char *needed) {
        _cleanup_free_ char *action = NULL;
        const char *p = strstr(message, "action '");

        if (p) {
                p += strlen("action '");
                action = strndup(p, strcspn(p, "'"));
        }
        az_fail(a, -EACCES, "permission missing: the identity (%s) may not perform %s on VM '%s/%s' "
                "(AuthorizationFailed); grant it the Virtual Machine Contributor role (or a role with that action) "
                "on the VM, its resource group or the subscription",
                a->id->client_id ? a->id->client_id : "managed identity", action ?: needed,
                a->resource_group, a->vm);
}

static void az_check_power(AzureJob *a, char *context) {
        free(a->context);
        a->context = context;
        a->phase = AZ_CHECK_POWER;
        a->transient = 0;
        az_send(a);
}

static void on_power(AzureJob *a, long status, json_t *body) {
        json_t *statuses = json_object_get(body, "statuses"), *s;
        const char *power = NULL;
        size_t i;

        json_array_foreach(statuses, i, s) {
                const char *code = json_string_value(json_object_get(s, "code"));
                if (code && strncmp(code, "PowerState/", 11) == 0)
                        power = code + 11;
        }
        if (status == 200 && power && !streq(power, "running"))
                az_fail(a, -EHOSTDOWN, "VM '%s/%s' is not running (power state: %s); start it and retry (%s)",
                        a->resource_group, a->vm, power, strna(a->context));
        else
                az_fail(a, -EIO, "%s", strna(a->context));
}

static void on_handle_committed(ConnectorJob *j, int error) {
        AzureJob *a = azure_job(j);

        if (a->have_result)
                return;   /* cancelled or timed out meanwhile: nothing was created */
        if (error < 0) {
                az_fail(a, error, "could not record the run command's name durably before creating it (%s); not run",
                        strerror(-error));
                return;
        }
        az_send(a);
}

/* What identifies the run is durable before the PUT that creates it (see connector.h). */
static void az_commit_handle(AzureJob *a) {
        _cleanup_(json_decrefp) json_t *h = NULL;
        int r;

        h = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "connector", "azure", "api", "managed",
                      "name", a->rc_name, "url", a->rc_url, "vm", a->vm, "resource_group", a->resource_group,
                      "created_at", (json_int_t) now_usec(CLOCK_REALTIME));
        if (!h) {
                az_fail(a, -ENOMEM, "out of memory");
                return;
        }
        r = connector_job_set_handle(&a->job, h, on_handle_committed);
        if (r < 0)
                az_fail(a, r, "could not record the run command's name before creating it (%s); not run", strerror(-r));
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
        az_commit_handle(a);
}

static void on_put(AzureJob *a, long status, json_t *body) {
        if (status != 200 && status != 201) {
                az_fail(a, -EBADMSG, "unexpected answer to PUT run command (HTTP %ld)", status);
                return;
        }
        a->phase = AZ_POLL;
        a->poll_delay = POLL_FIRST_USEC;
        az_later(a, a->poll_delay);
}

static void take_stream(AzureJob *a, unsigned k, json_t *v, bool *truncated) {
        const char *s = json_string_value(v);
        size_t n = s ? strlen(s) : 0;

        if (n == 0)
                return;
        if (output_capture_append(&a->job.output[k], s, n) < 0)
                log_debug("Out of memory keeping the output of run command %s.", a->rc_name);
        if (n >= AZURE_OUTPUT_TAIL) {
                /* Azure kept only the last 4096 bytes of this stream */
                a->job.output[k].truncated = true;
                *truncated = true;
        }
}

static void on_poll(AzureJob *a, const HttpResponse *resp, long status, json_t *body) {
        json_t *props = json_object_get(body, "properties"), *iv = json_object_get(props, "instanceView");
        const char *state = json_string_value(json_object_get(iv, "executionState"));
        const char *prov = json_string_value(json_object_get(props, "provisioningState"));
        const char *emsg = json_string_value(json_object_get(iv, "executionMessage"));
        json_t *ec = json_object_get(iv, "exitCode");
        int exit_code = json_is_integer(ec) ? (int) json_integer_value(ec) : 0;
        bool truncated = false;
        usec_t d;

        if (status != 200) {
                az_fail(a, -EBADMSG, "unexpected answer polling run command %s (HTTP %ld)", a->rc_name, status);
                return;
        }
        if (state && (strcaseeq_ascii(state, "Succeeded") || strcaseeq_ascii(state, "Failed") ||
                      strcaseeq_ascii(state, "TimedOut") || strcaseeq_ascii(state, "Canceled"))) {
                char *note = NULL;

                a->seen = true;
                take_stream(a, 0, json_object_get(iv, "output"), &truncated);
                take_stream(a, 1, json_object_get(iv, "error"), &truncated);
                if (truncated)
                        a->note = "azure run command; Azure keeps only the last 4096 bytes of each stream";
                if (strcaseeq_ascii(state, "TimedOut") ||
                    (a->timeout_usec > 0 && exit_code == -1 &&
                     now_usec(CLOCK_MONOTONIC) + USEC_PER_SEC >= a->deadline)) {
                        char b[DURATION_MAX];
                        (void) asprintf_safe(&note, "timed out after %s (stopped on the VM)",
                                             format_timeout(b, sizeof b, a->timeout_usec));
                        az_conclude(a, OUTCOME_TIMED_OUT, 0, -1, note);
                } else if (strcaseeq_ascii(state, "Canceled"))
                        az_fail(a, -ECANCELED, "the run command was cancelled on the VM (%s)", strna(emsg));
                else if (exit_code < 0)
                        az_fail(a, -EIO, "the VM's run command handler failed with code %d: %s", exit_code, strna(emsg));
                else
                        az_conclude(a, OUTCOME_EXITED, 0, exit_code, NULL);
                return;
        }
        if (prov && strcaseeq_ascii(prov, "Failed")) {
                char *ctx = NULL;
                (void) asprintf_safe(&ctx, "the run command failed on VM '%s/%s' before the script ran (%s)",
                                     a->resource_group, a->vm, emsg ?: "provisioningState Failed");
                az_check_power(a, ctx);
                return;
        }
        a->seen = true;
        a->transient = 0;
        d = http_retry_after(resp);
        if (d == USEC_INFINITY) {
                d = a->poll_delay;
                a->poll_delay = MIN(a->poll_delay * 3 / 2, POLL_MAX_USEC);
        }
        az_later(a, d);
}

static bool is_token_error(const char *code) {
        return streq(code, "InvalidAuthenticationToken") || streq(code, "ExpiredAuthenticationToken") ||
               streq(code, "AuthenticationFailed") || streq(code, "InvalidAuthenticationTokenAudience") || !*code;
}

static void on_response(HttpRequest *req, const HttpResponse *resp, void *userdata) {
        AzureJob *a = userdata;
        _cleanup_(json_decrefp) json_t *body = NULL;
        const char *code, *msg;
        long status = resp->status;
        /* resp points into the request: free it on return, not before */
        _cleanup_(http_request_freep) HttpRequest *finished = TAKE_PTR(a->http);

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
        arm_error(body, &code, &msg);

        if (status == 401) {
                if (!a->token_refreshed && is_token_error(code)) {
                        a->token_refreshed = true;
                        int r = az_ensure_token(a, true);
                        if (r > 0)
                                az_send(a);
                        return;
                }
                az_fail(a, -EACCES, "Azure Resource Manager rejected the access token (%s): %s", code, msg);
                return;
        }
        if (status == 403) {
                az_fail_forbidden(a, msg, a->phase == AZ_PUT ? "Microsoft.Compute/virtualMachines/runCommands/write" :
                                  a->phase == AZ_POLL ? "Microsoft.Compute/virtualMachines/runCommands/read" :
                                  "Microsoft.Compute/virtualMachines/read");
                return;
        }
        if (status == 404 && a->phase != AZ_POLL) {
                if (streq(code, "ResourceGroupNotFound"))
                        az_fail(a, -ENXIO, "resource group '%s' not found (ResourceGroupNotFound): %s", a->resource_group, msg);
                else if (streq(code, "SubscriptionNotFound"))
                        az_fail(a, -ENXIO, "subscription not found (SubscriptionNotFound): %s", msg);
                else
                        az_fail(a, -ENXIO, "VM '%s' not found in resource group '%s' (%s): %s", a->vm,
                                a->resource_group, *code ? code : "ResourceNotFound", msg);
                return;
        }
        if (status == 404 && a->resumed && !a->seen) {
                a->created = false;
                az_fail(a, -ENXIO, "the remote run (run command %s on VM '%s/%s') was not found after a restart; "
                        "it may or may not have run; not re-run", a->rc_name, a->resource_group, a->vm);
                return;
        }
        if (status == 404) {
                a->created = false;
                az_fail(a, -ENXIO, "run command %s disappeared from VM '%s/%s' while it ran (deleted by someone else?)",
                        a->rc_name, a->resource_group, a->vm);
                return;
        }
        if (status == 409 && a->phase == AZ_PUT && (streq(code, "Conflict") || streq(code, "RetryableErrorDueToAnotherOperation")) &&
            !strstr(msg, "deallocat")) {
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
                return;
        }
        if (status == 409 || (status == 400 && streq(code, "OperationNotAllowed"))) {
                char *ctx = NULL;
                if (a->phase == AZ_PUT)
                        a->created = false;
                (void) asprintf_safe(&ctx, "%s: %s", code, msg);
                if (a->phase == AZ_CHECK_POWER)
                        az_fail(a, -EIO, "%s", strna(ctx));
                else
                        az_check_power(a, ctx);
                return;
        }
        if (status >= 400) {
                if (a->phase == AZ_PUT)
                        a->created = false;
                az_fail(a, -EINVAL, "Azure Resource Manager refused the %s (HTTP %ld %s): %s",
                        a->phase == AZ_PUT ? "run command" : "request", status, code, msg);
                return;
        }

        switch (a->phase) {
        case AZ_GET_VM:
                on_vm(a, status, body);
                break;
        case AZ_PUT:
                on_put(a, status, body);
                break;
        case AZ_POLL:
                on_poll(a, resp, status, body);
                break;
        case AZ_CHECK_POWER:
                on_power(a, status, body);
                break;
        default:
                break;
        }
}

/* ---------------------------------------------------------------- the vtable */

static int on_begin(sd_event_source *s, void *userdata) {
        AzureJob *a = userdata;

        a->defer = sd_event_source_disable_unref(a->defer);
        az_step(a);
        return 0;
}

static void az_step(AzureJob *a) {
        if (a->message) {   /* a failure found in start(), reported from the loop */
                char *m = TAKE_PTR(a->message);
                az_conclude(a, OUTCOME_ERROR, a->result.error ?: -EINVAL, -1, m);
                return;
        }
        if (a->resumed) {
                /* the run command exists (or did): follow it, never create it again */
                a->phase = AZ_POLL;
                a->poll_delay = POLL_FIRST_USEC;
        } else
                a->phase = AZ_GET_VM;
        az_send(a);
}

static const char *cfg(const Target *t, const char *key) {
        return json_string_value(json_object_get(t->config, key));
}

/* Both start and resume: copies what the job needs; 'handle' (resume) names the run command. */
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
                /* resume: the name (and URL) committed before the run command was created */
                const char *name = json_string_value(json_object_get(handle, "name"));
                const char *url = json_string_value(json_object_get(handle, "url"));
                json_t *ca = json_object_get(handle, "created_at");
                usec_t now_rt = now_usec(CLOCK_REALTIME), elapsed = 0, left;

                if (isempty(name) || strchr(name, '/'))
                        return -EBADMSG;
                a->rc_name = strdup(name);
                if (!a->rc_name || (url && !(a->rc_url = strdup(url))))
                        return -ENOMEM;
                if (json_is_integer(ca) && (usec_t) json_integer_value(ca) < now_rt)
                        elapsed = now_rt - (usec_t) json_integer_value(ca);
                if (elapsed < j->started_usec)
                        j->started_usec -= elapsed;   /* the duration counts from the creation */
                /* Azure stops the script at its timeout; give the last poll a little time to see it */
                left = req->timeout_usec > elapsed ? req->timeout_usec - elapsed : 0;
                a->deadline = now_usec(CLOCK_MONOTONIC) + (req->timeout_usec > 0 ? left + 10 * USEC_PER_SEC :
                                                           CONFLICT_WAIT_DEFAULT_USEC);
                a->resumed = a->created = true;
        } else {
                if (RAND_bytes(rnd, sizeof rnd) != 1)
                        return -EIO;
                /* (session, step, attempt) and a random suffix: no clash with an earlier attempt */
                if (asprintf_safe(&a->rc_name, "runbookd-%" PRIu32 "-%" PRIu32 "-a%u-%02x%02x%02x%02x", req->session_id,
                                  req->step_index, req->attempt, rnd[0], rnd[1], rnd[2], rnd[3]) < 0)
                        return -ENOMEM;
        }

        r = azure_identity_from_target(t, &a->id, &why);
        if (r < 0 && !why)
                return r;
        if (r >= 0) {
                if (asprintf_safe(&a->vm_url, "%s/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/"
                                  "virtualMachines/%s", a->id->resource, esub, erg, evm) < 0 ||
                    (!a->rc_url && asprintf_safe(&a->rc_url, "%s/runCommands/%s", a->vm_url, a->rc_name) < 0))
                        return -ENOMEM;
                if (!handle && streq_ptr(cfg(t, "api"), "action")) {
                        r = -EOPNOTSUPP;
                        why = strdup("the classic \"action\" Run Command API is not supported yet; use \"api\": \"managed\"");
                }
        }
        if (r < 0) {
                a->result.error = r;
                a->message = TAKE_PTR(why);
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
        log_debug("%s step %" PRIu32 " of session %" PRIu32 " on Azure VM %s/%s as run command %s.",
                  handle ? "Resuming" : "Running", req->step_index, req->session_id, a->resource_group, a->vm, a->rc_name);
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
        if (a->auth_header) {
                explicit_bzero(a->auth_header, strlen(a->auth_header));
                free(a->auth_header);
        }
        if (a->command) {
                explicit_bzero(a->command, strlen(a->command));
                free(a->command);
        }
        azure_identity_free(a->id);
        free(a->vm);
        free(a->resource_group);
        free(a->vm_url);
        free(a->rc_name);
        free(a->rc_url);
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
