/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* azure-check.c: Target.Check() for the azure connector (see azure-check.h and "Checks" in
 * connector.h).
 *
 *   credentials: a fresh token for the target's identity (never the cached one: the check proves
 *                the credential works now) ─►
 *   vm:          GET …/virtualMachines/{vm}/instanceView: the VM exists and its PowerState/… is
 *                running (stopped, deallocated, … fail with the power state) ─►
 *   permission:  GET …/virtualMachines/{vm}/providers/Microsoft.Authorization/permissions (every
 *                page): each action the connector needs is matched by some entry's actions and not
 *                by that entry's notActions (Azure's evaluation; '*' wildcards, case-insensitive).
 *
 * Nothing is created on the VM. Tokens, secrets and request bodies are never logged nor put in a
 * reason; a reason names the identity by kind, client id and credential name. */

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <strings.h>

#include "connector/azure/azure-auth.h"
#include "connector/azure/azure-check.h"
#include "connector/azure/azure-decode.h"
#include "http/curl-event.h"
#include "shared/log.h"

#define ARM_API_VERSION "2024-11-01"
#define PERMISSIONS_API_VERSION "2022-04-01"
#define PERMISSION_PAGES_MAX 20

/* What the managed Run Command (the API the connector uses) needs on the VM (§6 of the contract):
 * PUT, GET ?$expand=instanceView, DELETE. */
static const char *const managed_actions[] = {
        "Microsoft.Compute/virtualMachines/runCommands/write",
        "Microsoft.Compute/virtualMachines/runCommands/read",
        "Microsoft.Compute/virtualMachines/runCommands/delete",
        NULL,
};
/* The classic action Run Command (POST …/runCommand). */
static const char *const action_actions[] = {
        "Microsoft.Compute/virtualMachines/runCommand/action",
        NULL,
};

typedef enum AcPhase {
        AC_TOKEN,
        AC_VM,
        AC_PERMISSION,
} AcPhase;

/* The check's stages, one a phase. */
static const char *const stage_names[] = {
        [AC_TOKEN] = "credentials",
        [AC_VM] = "vm",
        [AC_PERMISSION] = "permission",
};

typedef struct AzureCheck {
        ConnectorCheck *check;
        AzureIdentity *id;
        char *vm, *resource_group;
        char *vm_url;
        char *who;                /* the identity, for reasons: kind, client id, credential name */
        char *early_error;        /* the identity could not be set up: reported from the loop */
        const char *const *actions;
        char *auth_header;        /* "Authorization: Bearer …", wiped */
        AcPhase phase;
        char *next_url;           /* the next page of permissions */
        unsigned pages;
        json_t *permissions;      /* every page's "value" entries */
        AzureTokenRequest *token_req;
        HttpRequest *http;
        sd_event_source *defer;
} AzureCheck;

static const char *stage_of(AcPhase p) {
        return stage_names[p];
}

static void send_request(AzureCheck *k);

/* ---------------------------------------------------------------- credentials */

static void on_token(int r, const char *token, const char *message, void *userdata) {
        AzureCheck *k = userdata;

        k->token_req = azure_token_request_free(k->token_req);
        if (r < 0)
                return connector_check_fail(k->check, "credentials", "no token for %s: %s", k->who,
                                            message ?: "cannot get an access token");
        if (asprintf_safe(&k->auth_header, "Authorization: Bearer %s", token) < 0)
                return connector_check_fail(k->check, "credentials", "out of memory");
        connector_check_stage(k->check, "credentials", CHECK_OK, "obtained an access token for %s from %s "
                              "(audience '%s')", k->who,
                              k->id->kind == AZURE_IDENTITY_MANAGED ? "the instance metadata service (IMDS)" :
                              "the Microsoft identity platform", k->id->audience);
        k->phase = AC_VM;
        send_request(k);
}

static int on_begin(sd_event_source *s, void *userdata) {
        AzureCheck *k = userdata;
        _cleanup_free_ char *why = NULL;
        const char *token = NULL;
        int r;

        k->defer = sd_event_source_disable_unref(k->defer);
        if (k->early_error) {
                connector_check_fail(k->check, "credentials", "no token for %s: %s", k->who, k->early_error);
                return 0;
        }
        r = azure_token_get(k->check->event, k->id, /* refresh= */ true, on_token, k, &token, &k->token_req, &why);
        if (r < 0)
                connector_check_fail(k->check, "credentials", "no token for %s: %s", k->who, why ?: strerror(-r));
        else if (r > 0)
                on_token(0, token, NULL, k);   /* not expected with refresh, but harmless */
        return 0;
}

/* ---------------------------------------------------------------- Resource Manager */

static void on_response(HttpRequest *req, const HttpResponse *resp, void *userdata);

static void send_request(AzureCheck *k) {
        _cleanup_free_ char *url = NULL;
        const char *headers[] = { k->auth_header, "Accept: application/json", NULL };
        int r;

        if (k->phase == AC_VM)
                r = asprintf_safe(&url, "%s/instanceView?api-version=" ARM_API_VERSION, k->vm_url);
        else if (k->next_url) {
                url = TAKE_PTR(k->next_url);
                r = 0;
        } else
                r = asprintf_safe(&url, "%s/providers/Microsoft.Authorization/permissions?api-version="
                                  PERMISSIONS_API_VERSION, k->vm_url);
        if (r < 0)
                return connector_check_fail(k->check, stage_of(k->phase), "out of memory");

        HttpRequestParams p = {
                .method = "GET",
                .url = url,
                .headers = headers,
                .ca_file = k->id->ca_file,
                .fresh_connection = true,   /* a check uses no cached connection and leaves none */
        };
        k->http = http_request_free(k->http);
        r = http_request_start(k->check->event, &p, on_response, k, &k->http);
        if (r < 0)
                return connector_check_fail(k->check, stage_of(k->phase),
                                            "cannot send a request to Azure Resource Manager: %s", strerror(-r));
        log_debug("Azure check of VM %s/%s: GET %s.", k->resource_group, k->vm,
                  k->phase == AC_VM ? "instance view" : "permissions");
}

static void on_instance_view(AzureCheck *k, json_t *body) {
        const char *display = NULL, *power = azure_power_state(body, &display);

        if (!power)
                return connector_check_fail(k->check, "vm", "VM '%s/%s' exists, but its instance view has no "
                                            "power state (PowerState/…); it may be changing state: retry",
                                            k->resource_group, k->vm);
        if (strcasecmp(power, "running") != 0)
                return connector_check_fail(k->check, "vm",
                                            "VM '%s/%s' is not running (power state: %s%s%s%s); start it",
                                            k->resource_group, k->vm, power, display ? ", \"" : "", strempty(display),
                                            display ? "\"" : "");
        connector_check_stage(k->check, "vm", CHECK_OK, "VM '%s/%s' exists and is running (PowerState/%s)",
                              k->resource_group, k->vm, power);
        k->phase = AC_PERMISSION;
        send_request(k);
}

/* Azure's evaluation: an action is granted when some permission entry (one per role assignment)
 * matches it in actions and not in notActions. */
static void evaluate_permissions(AzureCheck *k) {
        _cleanup_free_ char *missing = NULL, *excluded = NULL;
        size_t n_missing = 0;

        for (const char *const *a = k->actions; *a; a++) {
                const char *not_pattern = NULL;

                if (azure_permitted(k->permissions, *a, &not_pattern))
                        continue;
                char *m = NULL;
                if (asprintf_safe(&m, "%s%s%s", strempty(missing), missing ? ", " : "", *a) < 0)
                        return connector_check_fail(k->check, "permission", "out of memory");
                free(missing);
                missing = m;
                n_missing++;
                if (not_pattern && !excluded && asprintf_safe(&excluded, "; %s is excluded by notActions '%s'",
                                                             *a, not_pattern) < 0)
                        return connector_check_fail(k->check, "permission", "out of memory");
        }
        if (n_missing > 0)
                return connector_check_fail(k->check, "permission", "permission missing: %s may not perform %s on "
                                            "VM '%s/%s' (Azure's permissions API on the VM's scope%s); grant it the "
                                            "Virtual Machine Contributor role (or a role with %s) on the VM, its "
                                            "resource group or the subscription", k->who, missing, k->resource_group,
                                            k->vm, strempty(excluded), n_missing == 1 ? "that action" : "those actions");
        connector_check_stage(k->check, "permission", CHECK_OK, "%s may perform %s on VM '%s/%s'", k->who,
                              k->actions == managed_actions ? "the managed Run Command's actions "
                              "(runCommands/write, read, delete)" : "Microsoft.Compute/virtualMachines/runCommand/action",
                              k->resource_group, k->vm);
        connector_check_finish(k->check);   /* last: it may free k */
}

static void on_permissions(AzureCheck *k, json_t *body) {
        json_t *value = json_object_get(body, "value");
        const char *next = json_string_value(json_object_get(body, "nextLink"));

        if (!json_is_array(value))
                return connector_check_fail(k->check, "permission",
                                            "unexpected answer from Azure's permissions API (no \"value\")");
        if (json_array_extend(k->permissions, value) < 0)
                return connector_check_fail(k->check, "permission", "out of memory");
        if (!isempty(next)) {
                /* only ever to Resource Manager itself: the request carries the token */
                size_t n = strlen(k->id->resource);
                if (strncmp(next, k->id->resource, n) != 0 || next[n] != '/')
                        return connector_check_fail(k->check, "permission",
                                                    "Azure's permissions API sent a nextLink outside %s",
                                                    k->id->resource);
                if (++k->pages >= PERMISSION_PAGES_MAX)
                        return connector_check_fail(k->check, "permission",
                                                    "Azure's permissions API sent more than %d pages",
                                                    PERMISSION_PAGES_MAX);
                k->next_url = strdup(next);
                if (!k->next_url)
                        return connector_check_fail(k->check, "permission", "out of memory");
                return send_request(k);
        }
        evaluate_permissions(k);
}

static void on_response(HttpRequest *req, const HttpResponse *resp, void *userdata) {
        AzureCheck *k = userdata;
        _cleanup_(json_decrefp) json_t *body = NULL;
        /* resp points into the request: free it on return, not before */
        _unused_ _cleanup_(http_request_freep) HttpRequest *finished = TAKE_PTR(k->http);
        const char *stage = stage_of(k->phase), *code, *msg;
        json_t *e;
        long status = resp->status;

        if (resp->error < 0)
                return connector_check_fail(k->check, stage, "cannot reach Azure Resource Manager at %s: %s",
                                            k->id->resource, strna(resp->error_text));
        body = json_loadb(resp->body, resp->body_len, 0, NULL);
        e = json_object_get(body, "error");
        code = json_string_value(json_object_get(e, "code")) ?: "";
        msg = json_string_value(json_object_get(e, "message")) ?: "";

        if (status == 401 && streq(code, "InvalidAuthenticationTokenAudience"))
                return connector_check_fail(k->check, stage,
                                            "Azure Resource Manager at %s does not accept the audience '%s' of the "
                                            "token of %s (HTTP 401 %s): set the target's \"cloud\", or \"audience\" "
                                            "to one it accepts: %s", k->id->resource, k->id->audience, k->who, code,
                                            msg);
        if (status == 401)
                return connector_check_fail(k->check, stage,
                                            "Azure Resource Manager rejected the access token of %s (HTTP 401 %s): %s",
                                            k->who, code, msg);
        if (status == 403 && k->phase == AC_VM)
                return connector_check_fail(k->check, stage, "permission missing: %s may not read VM '%s/%s' "
                                            "(Microsoft.Compute/virtualMachines/read, %s); grant it the Virtual "
                                            "Machine Contributor role on the VM, its resource group or the "
                                            "subscription",
                                            k->who, k->resource_group, k->vm, *code ? code : "HTTP 403");
        if (status == 404 && k->phase == AC_VM) {
                if (streq(code, "ResourceGroupNotFound"))
                        return connector_check_fail(k->check, stage,
                                                    "resource group '%s' not found (ResourceGroupNotFound): %s",
                                                    k->resource_group, msg);
                if (streq(code, "SubscriptionNotFound"))
                        return connector_check_fail(k->check, stage,
                                                    "subscription not found (SubscriptionNotFound): %s", msg);
                return connector_check_fail(k->check, stage, "VM '%s' not found in resource group '%s' (%s): %s", k->vm,
                                            k->resource_group, *code ? code : "ResourceNotFound", msg);
        }
        if (status != 200)
                return connector_check_fail(k->check, stage,
                                            "Azure Resource Manager answered HTTP %ld%s%s%s%s to GET %s", status,
                                            *code ? " " : "", code, *msg ? ": " : "", msg,
                                            k->phase == AC_VM ? "instance view" : "permissions");
        if (!body)
                return connector_check_fail(k->check, stage, "Azure Resource Manager sent an answer that is not JSON");
        if (k->phase == AC_VM)
                on_instance_view(k, body);
        else
                on_permissions(k, body);
}

/* ---------------------------------------------------------------- the hooks */

static const char *cfg(const Target *t, const char *key) {
        return json_string_value(json_object_get(t->config, key));
}

/* "NAME" of a "cred:NAME" reference (targets only allow those), else "?" */
static const char *cred_name(const char *ref) {
        return ref && strncmp(ref, "cred:", 5) == 0 ? ref + 5 : "?";
}

static int describe_identity(AzureCheck *k, const Target *t) {
        const char *cid = cfg(t, "client_id");
        const char *cred = NULL;

        /* from the target alone (the identity may not have been set up) */
        if (json_is_true(json_object_get(t->config, "managed_identity"))) {
                if (cid)
                        return asprintf_safe(&k->who, "the user-assigned managed identity '%s'", cid);
                return asprintf_safe(&k->who, "the VM host's system-assigned managed identity");
        }
        if ((cred = cfg(t, "client_certificate")))
                return asprintf_safe(&k->who, "application '%s' in tenant '%s' with a client certificate (credential '%s')",
                                     strna(cid), strna(cfg(t, "tenant")), cred_name(cred));
        cred = cfg(t, "client_secret");
        return asprintf_safe(&k->who, "application '%s' in tenant '%s' with a client secret (credential '%s')",
                             strna(cid), strna(cfg(t, "tenant")), cred_name(cred));
}

int azure_check(ConnectorCheck *c, const Target *t) {
        _cleanup_free_ char *esub = NULL, *erg = NULL, *evm = NULL;
        AzureCheck *k;
        int r;

        r = connector_check_begin(c, stage_names, ELEMENTSOF(stage_names), sizeof(AzureCheck));
        if (r < 0)
                return r;
        k = c->data;   /* from here on, check_destroy() frees it */
        k->check = c;
        k->actions = streq_ptr(cfg(t, "api"), "action") ? action_actions : managed_actions;
        k->vm = strdup(strempty(cfg(t, "vm")));
        k->resource_group = strdup(strempty(cfg(t, "resource_group")));
        k->permissions = json_array();
        esub = http_escape(strempty(cfg(t, "subscription")));
        erg = http_escape(strempty(cfg(t, "resource_group")));
        evm = http_escape(strempty(cfg(t, "vm")));
        if (!k->vm || !k->resource_group || !k->permissions || !esub || !erg || !evm || describe_identity(k, t) < 0)
                return -ENOMEM;

        r = azure_identity_from_target(t, &k->id, &k->early_error);
        if (r < 0 && !k->early_error)
                return r;
        if (r >= 0 && asprintf_safe(&k->vm_url, "%s/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/"
                                    "virtualMachines/%s", k->id->resource, esub, erg, evm) < 0)
                return -ENOMEM;

        /* stages are settled from the loop, never from within this hook */
        r = sd_event_add_defer(c->event, &k->defer, on_begin, k);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(k->defer, "azure-check-begin");
        log_debug("Azure: checking target '%s' (VM %s/%s).", t->name, k->resource_group, k->vm);
        return 0;
}

void azure_check_destroy(ConnectorCheck *c) {
        AzureCheck *k = c->data;

        if (!k)
                return;
        c->data = NULL;
        k->defer = sd_event_source_disable_unref(k->defer);
        k->token_req = azure_token_request_free(k->token_req);
        k->http = http_request_free(k->http);
        azure_secret_free(k->auth_header);
        azure_identity_free(k->id);
        json_decref(k->permissions);
        free(k->vm);
        free(k->resource_group);
        free(k->vm_url);
        free(k->who);
        free(k->early_error);
        free(k->next_url);
        free(k);
}
