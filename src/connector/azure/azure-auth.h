/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* azure-auth.h: access tokens for Azure Resource Manager, asynchronously on the loop: a service
 * principal with a client secret or a client certificate (a JWT client assertion, RS256, signed
 * with OpenSSL), or the VM host's managed identity through IMDS.
 *
 * Tokens are cached in memory per identity (keyed by a digest of the identity and its credential)
 * and handed out until shortly before they expire; they are never logged or stored, and are wiped
 * from memory when replaced. Fetches are coalesced: while a token request for an identity is in
 * flight, everyone else who needs that identity's token waits for it (one request on the wire),
 * and all get its token or its error. Credentials are read from $CREDENTIALS_DIRECTORY/NAME. */
#pragma once

#include <systemd/sd-event.h>

#include "config/target.h"
#include "shared/util.h"

typedef enum AzureIdentityKind {
        AZURE_IDENTITY_SECRET,
        AZURE_IDENTITY_CERTIFICATE,
        AZURE_IDENTITY_MANAGED,
} AzureIdentityKind;

typedef struct AzureIdentity {
        AzureIdentityKind kind;
        char *authority;          /* https://login.microsoftonline.com, no trailing slash */
        char *tenant;             /* NULL for a managed identity */
        char *client_id;          /* NULL: the VM's system-assigned identity */
        char *imds;               /* http://169.254.169.254 */
        char *resource;           /* the Resource Manager URL, e.g. https://management.azure.com */
        char *audience;           /* the token's audience, e.g. https://management.azure.com/ */
        char *ca_file;            /* NULL: the system store */
        char *cred_name;          /* the credential's NAME (for messages), or NULL */
        char *credential;         /* the secret, or the certificate PEM with its key; wiped */
        size_t credential_len;
        char *key;                /* cache key: a hex SHA-256 over all of the above */
        unsigned n_ref;           /* a token fetch in flight keeps the identity it was started for */
} AzureIdentity;

/* Wipes a secret string (a token, an Authorization header, a command) and frees it; returns NULL. */
char *azure_secret_free(char *s);

/* Copies the identity out of an azure target and reads its credential. On failure *ret_error
 * says why (never quoting a secret). */
int azure_identity_from_target(const Target *t, AzureIdentity **ret, char **ret_error);
/* Drops a reference (the caller's); the identity is freed with the last one. */
AzureIdentity *azure_identity_free(AzureIdentity *id);
DEFINE_TRIVIAL_CLEANUP_FUNC(AzureIdentity *, azure_identity_free);

typedef struct AzureTokenRequest AzureTokenRequest;

/* r < 0: no token; 'message' names the cause. Else 'token' is valid during the callback. */
typedef void (*azure_token_done_t)(int r, const char *token, const char *message, void *userdata);

/* Returns 1 and *ret_token (valid until the loop runs again) when a fresh cached token exists
 * and 'refresh' is false; else joins the fetch in flight for this identity, or starts one, and
 * returns 0 with *ret_req ('done' follows, from the loop); or a negative errno with *ret_error.
 * Freeing *ret_req before 'done' withdraws it (the fetch stops when nobody waits any more). */
int azure_token_get(sd_event *event, const AzureIdentity *id, bool refresh,
                    azure_token_done_t done, void *userdata,
                    const char **ret_token, AzureTokenRequest **ret_req, char **ret_error);
AzureTokenRequest *azure_token_request_free(AzureTokenRequest *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(AzureTokenRequest *, azure_token_request_free);

/* How many token requests have been sent over the wire (for tests and debugging). */
unsigned azure_token_fetches(void);
