/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* azure-auth.c: tokens for Resource Manager: client secret, client certificate (JWT client
 * assertion), managed identity (IMDS); an in-memory cache per identity.
 *
 * Nothing here logs a secret, an assertion, a token or a request body. Error messages come from
 * the identity platform's 'error' and 'error_codes' (never from matching its prose), and name the
 * cause in terms an operator can act on. */

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "config/config-util.h"
#include "connector/azure/azure-auth.h"
#include "connector/azure/azure-decode.h"
#include "http/curl-event.h"
#include "shared/log.h"

#define TOKEN_CACHE_MAX 64
#define TOKEN_REFRESH_MARGIN_USEC (5 * 60 * USEC_PER_SEC)
#define TOKEN_RETRIES_MAX 4
#define TOKEN_HTTP_TIMEOUT_USEC (30 * USEC_PER_SEC)
#define IMDS_HTTP_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define ASSERTION_LIFETIME_SEC 600

typedef struct TokenEntry {
        char *key;
        char *token;
        usec_t refresh_at;        /* CLOCK_MONOTONIC: hand it out until then */
} TokenEntry;

static TokenEntry token_cache[TOKEN_CACHE_MAX];
static unsigned token_fetch_count = 0;

/* One token request on the wire (with its retries) for one identity, and everyone waiting for it. */
typedef struct TokenFetch TokenFetch;
struct TokenFetch {
        sd_event *event;
        AzureIdentity *id;        /* a reference: waiters may go away first */
        HttpRequest *http;
        sd_event_source *retry_timer;
        unsigned attempt;
        AzureTokenRequest *waiters;
        bool dispatching;
        TokenFetch *next;
};

struct AzureTokenRequest {
        TokenFetch *fetch;        /* NULL once answered */
        AzureTokenRequest *prev, *next;
        azure_token_done_t done;
        void *userdata;
};

static TokenFetch *fetches = NULL;   /* in flight */

unsigned azure_token_fetches(void) {
        return token_fetch_count;
}

char *azure_secret_free(char *s) {
        if (s)
                wipe_free(s, strlen(s));
        return NULL;
}

AzureIdentity *azure_identity_free(AzureIdentity *id) {
        if (!id)
                return NULL;
        assert(id->n_ref > 0);
        if (--id->n_ref > 0)
                return NULL;
        free(id->authority);
        free(id->tenant);
        free(id->client_id);
        free(id->imds);
        free(id->resource);
        free(id->audience);
        free(id->ca_file);
        free(id->cred_name);
        wipe_free(id->credential, id->credential_len);
        free(id->key);
        free(id);
        return NULL;
}

static char *strdup_trim_slash(const char *s) {
        char *c = s ? strdup(s) : NULL;
        size_t n;

        if (!c)
                return NULL;
        n = strlen(c);
        while (n > 0 && c[n - 1] == '/')
                c[--n] = 0;
        return c;
}

static const char *cfg_str(const Target *t, const char *key) {
        return json_string_value(json_object_get(t->config, key));
}

static int identity_make_key(AzureIdentity *id) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        const char *parts[] = { id->authority, id->tenant, id->client_id, id->imds, id->resource, id->audience };
        char kind = (char) ('0' + id->kind);
        int ok;

        if (!ctx)
                return -ENOMEM;
        ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) && EVP_DigestUpdate(ctx, &kind, 1);
        for (size_t i = 0; ok && i < ELEMENTSOF(parts); i++)
                ok = EVP_DigestUpdate(ctx, strempty(parts[i]), strlen(strempty(parts[i])) + 1);
        if (ok && id->credential)
                ok = EVP_DigestUpdate(ctx, id->credential, id->credential_len);
        ok = ok && EVP_DigestFinal_ex(ctx, md, &md_len);
        EVP_MD_CTX_free(ctx);
        if (!ok)
                return -EIO;
        id->key = malloc(md_len * 2 + 1);
        if (!id->key)
                return -ENOMEM;
        for (unsigned i = 0; i < md_len; i++)
                sprintf(id->key + 2 * i, "%02x", md[i]);
        return 0;
}

int azure_identity_from_target(const Target *t, AzureIdentity **ret, char **ret_error) {
        _cleanup_(azure_identity_freep) AzureIdentity *id = NULL;
        const char *secret = cfg_str(t, "client_secret"), *cert = cfg_str(t, "client_certificate");
        const char *ref;
        int r;

        id = calloc(1, sizeof *id);
        if (!id)
                return -ENOMEM;
        id->n_ref = 1;
        id->kind = json_is_true(json_object_get(t->config, "managed_identity")) ? AZURE_IDENTITY_MANAGED :
                   cert ? AZURE_IDENTITY_CERTIFICATE : AZURE_IDENTITY_SECRET;
        id->authority = strdup_trim_slash(cfg_str(t, "authority") ?: "https://login.microsoftonline.com");
        id->imds = strdup_trim_slash(cfg_str(t, "imds") ?: "http://169.254.169.254");
        id->resource = strdup_trim_slash(cfg_str(t, "resource_manager") ?: "https://management.azure.com");
        /* as configured: IMDS takes it as the resource, as is (target.c sets the cloud's) */
        id->audience = strdup(cfg_str(t, "audience") ?: "https://management.azure.com/");
        if (!id->authority || !id->imds || !id->resource || !id->audience)
                return -ENOMEM;
        if (cfg_str(t, "tenant") && !(id->tenant = strdup(cfg_str(t, "tenant"))))
                return -ENOMEM;
        if (cfg_str(t, "client_id") && !(id->client_id = strdup(cfg_str(t, "client_id"))))
                return -ENOMEM;
        if (cfg_str(t, "ca_file") && !(id->ca_file = strdup(cfg_str(t, "ca_file"))))
                return -ENOMEM;

        ref = id->kind == AZURE_IDENTITY_CERTIFICATE ? cert : id->kind == AZURE_IDENTITY_SECRET ? secret : NULL;
        if (id->kind != AZURE_IDENTITY_MANAGED) {
                if (!ref || strncmp(ref, "cred:", 5) != 0)
                        return -EINVAL;   /* target.c validated this */
                id->cred_name = strdup(ref + 5);
                if (!id->cred_name)
                        return -ENOMEM;
                r = config_read_credential(ref, &id->credential, &id->credential_len, ret_error);
                if (r < 0)
                        return r;
                if (id->kind == AZURE_IDENTITY_SECRET)
                        /* a trailing newline from 'echo secret > file' is not part of the secret */
                        while (id->credential_len > 0 && strchr("\r\n", id->credential[id->credential_len - 1]))
                                id->credential[--id->credential_len] = 0;
        }
        r = identity_make_key(id);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(id);
        return 0;
}

/* ---------------------------------------------------------------- the cache */

static TokenEntry *cache_find(const char *key) {
        for (size_t i = 0; i < TOKEN_CACHE_MAX; i++)
                if (token_cache[i].key && streq(token_cache[i].key, key))
                        return &token_cache[i];
        return NULL;
}

static void cache_entry_clear(TokenEntry *e) {
        e->key = mfree(e->key);
        azure_secret_free(e->token);
        e->token = NULL;
        e->refresh_at = 0;
}

static int cache_put(const char *key, const char *token, usec_t lifetime) {
        TokenEntry *e = cache_find(key);
        usec_t n = now_usec(CLOCK_MONOTONIC), margin;

        if (!e) {
                /* a free slot, else the one due soonest */
                e = &token_cache[0];
                for (size_t i = 0; i < TOKEN_CACHE_MAX; i++) {
                        if (!token_cache[i].key) {
                                e = &token_cache[i];
                                break;
                        }
                        if (token_cache[i].refresh_at < e->refresh_at)
                                e = &token_cache[i];
                }
        }
        cache_entry_clear(e);
        e->key = strdup(key);
        e->token = strdup(token);
        if (!e->key || !e->token) {
                cache_entry_clear(e);
                return -ENOMEM;
        }
        /* refresh 5 minutes before expiry, or half way for short-lived tokens */
        margin = MIN(TOKEN_REFRESH_MARGIN_USEC, lifetime / 2);
        e->refresh_at = n + lifetime - margin;
        return 0;
}

/* ---------------------------------------------------------------- the client assertion */

static char *base64url(const unsigned char *data, size_t n) {
        size_t cap = 4 * ((n + 2) / 3) + 1;
        char *out = malloc(cap);
        int len;

        if (!out)
                return NULL;
        len = EVP_EncodeBlock((unsigned char *) out, data, (int) n);
        while (len > 0 && out[len - 1] == '=')
                len--;
        out[len] = 0;
        for (char *p = out; *p; p++)
                *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
        return out;
}

static char *base64url_json(json_t *j) {
        _cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);
        return s ? base64url((const unsigned char *) s, strlen(s)) : NULL;
}

static void drain_openssl_errors(const char *what) {
        unsigned long e;
        char buf[256];

        while ((e = ERR_get_error()) != 0) {
                ERR_error_string_n(e, buf, sizeof buf);
                log_debug("%s: %s", what, buf);
        }
}

/* Builds the signed JWT (RS256; header x5t = SHA-1 and x5t#S256 = SHA-256 thumbprints of the
 * certificate's DER). Checks the certificate's dates first, so an expired one is named as such. */
static int make_assertion(const AzureIdentity *id, const char *token_url, char **ret, char **ret_error) {
        BIO *bio = NULL;
        X509 *x509 = NULL;
        EVP_PKEY *pkey = NULL;
        EVP_MD_CTX *ctx = NULL;
        unsigned char sha1[EVP_MAX_MD_SIZE], sha256[EVP_MAX_MD_SIZE], uuid[16], *sig = NULL;
        unsigned l1 = 0, l256 = 0;
        size_t sig_len = 0;
        _cleanup_free_ char *t1 = NULL, *t256 = NULL, *h = NULL, *c = NULL, *s = NULL, *jti = NULL, *input = NULL;
        json_t *hdr = NULL, *claims = NULL;
        time_t now = time(NULL);
        int r = -EIO;

        bio = BIO_new_mem_buf(id->credential, (int) id->credential_len);
        if (bio)
                x509 = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
        bio = BIO_new_mem_buf(id->credential, (int) id->credential_len);
        if (bio)
                pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        BIO_free(bio);
        if (!x509 || !pkey) {
                drain_openssl_errors("client certificate");
                (void) asprintf_safe(ret_error, "credential '%s' does not hold a PEM certificate and its private key "
                                     "(client_certificate needs both)", id->cred_name);
                r = -EBADMSG;
                goto out;
        }
        if (X509_cmp_time(X509_get0_notAfter(x509), &now) < 0) {
                BIO *m = BIO_new(BIO_s_mem());
                char when[64] = "?";
                if (m && ASN1_TIME_print(m, X509_get0_notAfter(x509)) > 0) {
                        int k = BIO_read(m, when, sizeof when - 1);   /* once: MAX() evaluates twice */
                        when[k > 0 ? k : 0] = 0;
                }
                BIO_free(m);
                (void) asprintf_safe(ret_error, "the client certificate in credential '%s' expired on %s; "
                                     "register a new certificate for application '%s'", id->cred_name, when,
                                     id->client_id);
                r = -EKEYEXPIRED;
                goto out;
        }
        if (X509_cmp_time(X509_get0_notBefore(x509), &now) > 0) {
                (void) asprintf_safe(ret_error, "the client certificate in credential '%s' is not valid yet", id->cred_name);
                r = -EKEYEXPIRED;
                goto out;
        }
        if (!X509_digest(x509, EVP_sha1(), sha1, &l1) || !X509_digest(x509, EVP_sha256(), sha256, &l256))
                goto out;
        if (RAND_bytes(uuid, sizeof uuid) != 1)
                goto out;
        uuid[6] = (uuid[6] & 0x0f) | 0x40;
        uuid[8] = (uuid[8] & 0x3f) | 0x80;
        if (asprintf_safe(&jti, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                          uuid[0], uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7], uuid[8],
                          uuid[9], uuid[10], uuid[11], uuid[12], uuid[13], uuid[14], uuid[15]) < 0)
                goto out;

        t1 = base64url(sha1, l1);
        t256 = base64url(sha256, l256);
        if (!t1 || !t256)
                goto out;
        hdr = json_pack("{s:s, s:s, s:s, s:s}", "alg", "RS256", "typ", "JWT", "x5t", t1, "x5t#S256", t256);
        claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "aud", token_url, "iss", id->client_id,
                           "sub", id->client_id, "jti", jti, "nbf", (json_int_t) now, "iat", (json_int_t) now,
                           "exp", (json_int_t) now + ASSERTION_LIFETIME_SEC);
        if (!hdr || !claims)
                goto out;
        h = base64url_json(hdr);
        c = base64url_json(claims);
        if (!h || !c || asprintf_safe(&input, "%s.%s", h, c) < 0)
                goto out;

        ctx = EVP_MD_CTX_new();
        if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) != 1 ||
            EVP_DigestSign(ctx, NULL, &sig_len, (const unsigned char *) input, strlen(input)) != 1)
                goto sign_failed;
        sig = malloc(sig_len);
        if (!sig || EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *) input, strlen(input)) != 1)
                goto sign_failed;
        s = base64url(sig, sig_len);
        if (!s || asprintf_safe(ret, "%s.%s", input, s) < 0)
                goto out;
        r = 0;
        goto out;

sign_failed:
        drain_openssl_errors("signing the client assertion");
        (void) asprintf_safe(ret_error, "cannot sign the client assertion with the key in credential '%s' "
                             "(an RSA key is needed)", id->cred_name);
        r = -EBADMSG;
out:
        free(sig);
        EVP_MD_CTX_free(ctx);
        json_decref(hdr);
        json_decref(claims);
        X509_free(x509);
        EVP_PKEY_free(pkey);
        return r;
}

/* ---------------------------------------------------------------- requests */

static void fetch_unlink(TokenFetch *f) {
        for (TokenFetch **p = &fetches; *p; p = &(*p)->next)
                if (*p == f) {
                        *p = f->next;
                        break;
                }
        f->next = NULL;
}

static TokenFetch *fetch_free(TokenFetch *f) {
        if (!f)
                return NULL;
        assert(!f->waiters);
        fetch_unlink(f);
        http_request_free(f->http);
        sd_event_source_disable_unref(f->retry_timer);
        azure_identity_free(f->id);
        sd_event_unref(f->event);
        free(f);
        return NULL;
}

static TokenFetch *fetch_find(const char *key) {
        for (TokenFetch *f = fetches; f; f = f->next)
                if (streq(f->id->key, key))
                        return f;
        return NULL;
}

static void waiter_unlink(AzureTokenRequest *w) {
        TokenFetch *f = w->fetch;

        if (w->prev)
                w->prev->next = w->next;
        else
                f->waiters = w->next;
        if (w->next)
                w->next->prev = w->prev;
        w->prev = w->next = NULL;
        w->fetch = NULL;
}

AzureTokenRequest *azure_token_request_free(AzureTokenRequest *w) {
        TokenFetch *f;

        if (!w)
                return NULL;
        f = w->fetch;
        if (f) {
                waiter_unlink(w);
                if (!f->waiters && !f->dispatching)
                        fetch_free(f);   /* nobody waits any more: stop asking */
        }
        free(w);
        return NULL;
}

/* Answers every waiter (each callback may free its request, or other waiters), then ends the fetch. */
static void token_finish(TokenFetch *f, int r, const char *token, const char *message) {
        fetch_unlink(f);   /* from now on, azure_token_get() uses the cache or starts afresh */
        f->dispatching = true;
        while (f->waiters) {
                AzureTokenRequest *w = f->waiters;
                waiter_unlink(w);
                w->done(r, token, message, w->userdata);   /* may free w */
        }
        f->dispatching = false;
        fetch_free(f);
}

static int token_send(TokenFetch *tr, char **ret_error);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        TokenFetch *tr = userdata;
        _cleanup_free_ char *why = NULL;
        int r;

        tr->retry_timer = sd_event_source_disable_unref(tr->retry_timer);
        r = token_send(tr, &why);
        if (r < 0)
                token_finish(tr, r, NULL, why ?: "cannot request a token");
        return 0;
}

/* A first line of the identity platform's description, for the message (no secrets in it). */
static char *first_line(const char *s, size_t max) {
        size_t n = strcspn(strempty(s), "\r\n");
        return strndup(strempty(s), MIN(n, max));
}

/* The v2.0 endpoint's scope for the audience: its App ID URI, without a trailing slash, then
 * "/.default" (https://management.azure.com/.default). */
static int token_scope(const AzureIdentity *id, char **ret) {
        size_t n = strlen(id->audience);

        while (n > 0 && id->audience[n - 1] == '/')
                n--;
        return asprintf_safe(ret, "%.*s/.default", (int) n, id->audience) < 0 ? -ENOMEM : 0;
}

static char *token_error_message(const TokenFetch *tr, const HttpResponse *resp, json_t *body) {
        const AzureIdentity *id = tr->id;
        const char *err = json_string_value(json_object_get(body, "error"));
        json_int_t code = json_integer_value(json_array_get(json_object_get(body, "error_codes"), 0));
        _cleanup_free_ char *desc = first_line(json_string_value(json_object_get(body, "error_description")), 240);
        char *m = NULL;

        if (id->kind == AZURE_IDENTITY_MANAGED) {
                if (resp->status == 400 && desc && strstr(desc, "AADSTS500011"))
                        (void) asprintf_safe(&m, "managed identity: IMDS refused a token for the audience '%s' "
                                             "(AADSTS500011: no such resource): set the target's \"cloud\", or "
                                             "\"audience\" to the token audience its Resource Manager accepts: %s",
                                             id->audience, desc);
                else if (resp->status == 400)
                        (void) asprintf_safe(&m, "managed identity: IMDS refused the token request (HTTP 400 %s): "
                                             "this VM has no managed identity%s%s%s assigned: %s", strna(err),
                                             id->client_id ? " with client_id '" : "", strempty(id->client_id),
                                             id->client_id ? "'" : "", strempty(desc));
                else
                        (void) asprintf_safe(&m, "managed identity: IMDS answered HTTP %ld %s: %s", resp->status,
                                             strna(err), strempty(desc));
                return m;
        }
        switch (code) {
        case 7000215:
                (void) asprintf_safe(&m, "Azure AD rejected the client secret (AADSTS7000215: wrong or expired secret) "
                                     "for client_id '%s' in tenant '%s'; check credential '%s'",
                                     id->client_id, id->tenant, id->cred_name);
                return m;
        case 700016:
                (void) asprintf_safe(&m, "unknown client: application '%s' was not found in tenant '%s' (AADSTS700016); "
                                     "check client_id and tenant", id->client_id, id->tenant);
                return m;
        case 90002:
                (void) asprintf_safe(&m, "unknown tenant '%s' (AADSTS90002)", id->tenant);
                return m;
        case 700024:
                (void) asprintf_safe(&m, "Azure AD rejected the client certificate assertion as outside its validity "
                                     "window (AADSTS700024): check this host's clock and the certificate's dates");
                return m;
        case 700027:
                (void) asprintf_safe(&m, "Azure AD rejected the client certificate assertion (AADSTS700027): bad "
                                     "signature, or the certificate in credential '%s' is not registered for "
                                     "application '%s'", id->cred_name, id->client_id);
                return m;
        case 70011:
        case 500011: {
                _cleanup_free_ char *scope = NULL;
                (void) token_scope(id, &scope);
                (void) asprintf_safe(&m, "Azure AD refused a token for the audience '%s' (scope '%s', AADSTS%" PRIi64
                                     "%s): set the target's \"cloud\", or \"audience\" to the token audience its "
                                     "Resource Manager accepts", id->audience, strna(scope), (int64_t) code,
                                     code == 70011 ? ": invalid scope" : ": no such resource in the tenant");
                return m;
        }
        default:
                (void) asprintf_safe(&m, "Azure AD refused the token request for client_id '%s' in tenant '%s' "
                                     "(HTTP %ld %s%s%" PRIi64 "): %s", id->client_id, id->tenant, resp->status,
                                     strna(err), code ? ", AADSTS" : "", (int64_t) code, strempty(desc));
                return m;
        }
}

static bool token_retryable(const TokenFetch *tr, long status) {
        if (status == 408 || status == 429 || (status >= 500 && status <= 599))
                return true;
        return tr->id->kind == AZURE_IDENTITY_MANAGED && (status == 404 || status == 410);
}

/* A token response, parsed: its access_token is wiped before the document is freed. */
static void token_json_wipe_decrefp(json_t **j) {
        json_t *t;

        if (!*j)
                return;
        t = json_object_get(*j, "access_token");
        if (json_is_string(t))
                explicit_bzero((char *) json_string_value(t), json_string_length(t));
        json_decref(*j);
        *j = NULL;
}

static void on_token_response(HttpRequest *req, const HttpResponse *resp, void *userdata) {
        TokenFetch *tr = userdata;
        _cleanup_(token_json_wipe_decrefp) json_t *body = NULL;
        _cleanup_free_ char *msg = NULL;
        const char *token;
        usec_t lifetime;
        int r;
        /* resp points into the request: free it on return, not before */
        _unused_ _cleanup_(http_request_freep) HttpRequest *finished = TAKE_PTR(tr->http);

        if (resp->error < 0 || token_retryable(tr, resp->status)) {
                if (tr->attempt < TOKEN_RETRIES_MAX) {
                        usec_t d = http_retry_after(resp);
                        if (d == USEC_INFINITY)
                                d = (USEC_PER_SEC << tr->attempt);
                        d = MIN(d, 60 * USEC_PER_SEC);
                        tr->attempt++;
                        log_debug("Token request failed (%s), retrying in %" PRIu64 " ms.",
                                  resp->error < 0 ? strna(resp->error_text) : "throttled or unavailable", d / USEC_PER_MSEC);
                        r = sd_event_add_time_relative(tr->event, &tr->retry_timer, CLOCK_MONOTONIC, d, 0, on_retry, tr);
                        if (r >= 0)
                                return;
                }
                if (resp->error < 0) {
                        const char *where = tr->id->kind == AZURE_IDENTITY_MANAGED ? tr->id->imds : tr->id->authority;
                        (void) asprintf_safe(&msg, "cannot reach the %s at %s: %s",
                                             tr->id->kind == AZURE_IDENTITY_MANAGED ?
                                             "managed identity endpoint (IMDS; is this an Azure VM?)" : "identity platform",
                                             where, strna(resp->error_text));
                        token_finish(tr, resp->error, NULL, msg ?: "cannot reach the identity platform");
                } else {
                        (void) asprintf_safe(&msg, "the %s kept failing (HTTP %ld) after %u attempts",
                                             tr->id->kind == AZURE_IDENTITY_MANAGED ? "managed identity endpoint" :
                                             "identity platform", resp->status, tr->attempt + 1);
                        token_finish(tr, -EAGAIN, NULL, msg ?: "the identity platform kept failing");
                }
                return;
        }

        body = json_loadb(resp->body, resp->body_len, 0, NULL);
        if (resp->status != 200) {
                msg = token_error_message(tr, resp, body);
                token_finish(tr, resp->status == 400 || resp->status == 401 ? -EACCES : -EPROTO, NULL,
                             msg ?: "the token request was refused");
                return;
        }
        if (azure_token_response(body, &token, &lifetime) < 0) {
                token_finish(tr, -EBADMSG, NULL, "the token response carries no access_token");
                return;
        }
        r = cache_put(tr->id->key, token, lifetime);
        if (r < 0)
                log_debug_errno(r, "Failed to cache a token: %m");
        token_finish(tr, 0, token, NULL);
}

static int token_send(TokenFetch *tr, char **ret_error) {
        const AzureIdentity *id = tr->id;
        _cleanup_free_ char *url = NULL, *scope = NULL, *escope = NULL, *ecid = NULL, *body = NULL;
        _cleanup_free_ char *assertion = NULL, *ecred = NULL;
        HttpRequestParams p = { .ca_file = id->ca_file };
        int r;

        if (id->kind == AZURE_IDENTITY_MANAGED) {
                static const char *const headers[] = { "Metadata: true", "Accept: application/json", NULL };

                if (!(escope = http_escape(id->audience)))
                        return -ENOMEM;
                if (id->client_id && !(ecid = http_escape(id->client_id)))
                        return -ENOMEM;
                if (asprintf_safe(&url, "%s/metadata/identity/oauth2/token?api-version=2018-02-01&resource=%s%s%s",
                                  id->imds, escope, ecid ? "&client_id=" : "", strempty(ecid)) < 0)
                        return -ENOMEM;
                p.method = "GET";
                p.headers = headers;
                p.no_proxy = true;
                p.timeout_usec = IMDS_HTTP_TIMEOUT_USEC;
        } else {
                static const char *const headers[] = {
                        "Content-Type: application/x-www-form-urlencoded", "Accept: application/json", NULL };
                _cleanup_free_ char *etenant = http_escape(id->tenant);

                if (!etenant || asprintf_safe(&url, "%s/%s/oauth2/v2.0/token", id->authority, etenant) < 0)
                        return -ENOMEM;
                if (token_scope(id, &scope) < 0 || !(escope = http_escape(scope)) ||
                    !(ecid = http_escape(id->client_id)))
                        return -ENOMEM;
                if (id->kind == AZURE_IDENTITY_CERTIFICATE) {
                        r = make_assertion(id, url, &assertion, ret_error);
                        if (r < 0)
                                return r;
                        r = asprintf_safe(&body, "client_id=%s&scope=%s&grant_type=client_credentials"
                                          "&client_assertion_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Aclient-assertion-type%%3Ajwt-bearer"
                                          "&client_assertion=%s", ecid, escope, assertion);
                        azure_secret_free(TAKE_PTR(assertion));
                } else {
                        ecred = http_escape(id->credential);
                        if (!ecred)
                                return -ENOMEM;
                        r = asprintf_safe(&body, "client_id=%s&scope=%s&grant_type=client_credentials&client_secret=%s",
                                          ecid, escope, ecred);
                        azure_secret_free(TAKE_PTR(ecred));
                }
                if (r < 0)
                        return -ENOMEM;
                p.method = "POST";
                p.headers = headers;
                p.body = body;
                p.body_len = strlen(body);
                p.timeout_usec = TOKEN_HTTP_TIMEOUT_USEC;
        }
        p.url = url;
        r = http_request_start(tr->event, &p, on_token_response, tr, &tr->http);
        azure_secret_free(TAKE_PTR(body));
        if (r < 0)
                return r;
        token_fetch_count++;
        log_debug("Requesting an access token for %s from %s (attempt %u).",
                  id->kind == AZURE_IDENTITY_MANAGED ? "the managed identity" : id->client_id,
                  id->kind == AZURE_IDENTITY_MANAGED ? id->imds : id->authority, tr->attempt + 1);
        return 0;
}

int azure_token_get(sd_event *event, const AzureIdentity *id, bool refresh,
                    azure_token_done_t done, void *userdata,
                    const char **ret_token, AzureTokenRequest **ret_req, char **ret_error) {
        _cleanup_free_ AzureTokenRequest *w = NULL;
        TokenEntry *e = cache_find(id->key);
        TokenFetch *f;
        int r;

        if (e && refresh)
                cache_entry_clear(e);
        else if (e && now_usec(CLOCK_MONOTONIC) < e->refresh_at) {
                *ret_token = e->token;
                return 1;
        }

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->done = done;
        w->userdata = userdata;

        /* a fetch for this identity is under way (it is sent after any token it would replace): wait for it */
        f = fetch_find(id->key);
        if (!f) {
                f = calloc(1, sizeof *f);
                if (!f)
                        return -ENOMEM;
                f->event = sd_event_ref(event);
                f->id = (AzureIdentity *) id;
                f->id->n_ref++;
                r = token_send(f, ret_error);
                if (r < 0) {
                        fetch_free(f);
                        return r;
                }
                f->next = fetches;
                fetches = f;
        } else
                log_debug("Waiting for the token request in flight for %s.",
                          id->kind == AZURE_IDENTITY_MANAGED ? "the managed identity" : id->client_id);
        w->fetch = f;
        w->next = f->waiters;
        if (w->next)
                w->next->prev = w;
        f->waiters = w;
        *ret_req = TAKE_PTR(w);
        return 0;
}
