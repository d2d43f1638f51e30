/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* curl-event.h: asynchronous HTTP(S) requests on the daemon's sd-event loop, through the curl
 * multi interface (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION → sd-event io and time sources,
 * curl_multi_socket_action()). Nothing here blocks; every completion is dispatched from the loop.
 *
 * Connections (and TLS sessions) are kept and reused across requests and jobs, within bounds,
 * and closed after an idle period and when the loop exits (see curl-event.c).
 *
 * TLS peer and host verification are always on. Request bodies and headers are never logged:
 * they may carry secrets (client secrets, assertions, bearer tokens). */
#pragma once

#include <systemd/sd-event.h>

#include "shared/util.h"

typedef struct HttpRequest HttpRequest;

typedef struct HttpResponse {
        long status;              /* HTTP status; 0 when the transfer failed (see 'error') */
        int error;                /* 0, or a negative errno for a transport failure */
        const char *error_text;   /* curl's description of a transport failure, else NULL */
        const char *body;         /* NUL-terminated (may hold embedded NULs; see body_len) */
        size_t body_len;
        const char *retry_after;  /* header values (last one seen), or NULL */
        const char *retry_after_ms;   /* retry-after-ms or x-ms-retry-after-ms */
        const char *location;
        const char *async_operation;  /* Azure-AsyncOperation */
} HttpResponse;

/* Called once per request, from the loop. The request is still valid; the callback may free it
 * (or any other request). */
typedef void (*http_done_t)(HttpRequest *req, const HttpResponse *resp, void *userdata);

typedef struct HttpRequestParams {
        const char *method;       /* "GET", "PUT", "POST", "DELETE" */
        const char *url;
        const char *const *headers;   /* NULL-terminated "Name: value" lines, may be NULL */
        const char *body;         /* may be NULL; copied; wiped from our memory when freed */
        size_t body_len;
        const char *ca_file;      /* CA bundle, the only CAs trusted (not added to the system store); NULL: the system store */
        bool no_proxy;            /* never through a proxy (IMDS) */
        bool fresh_connection;    /* a new connection, closed afterwards (checks); else cached ones are reused */
        usec_t timeout_usec;      /* whole transfer; 0: HTTP_TIMEOUT_DEFAULT_USEC */
        bool discard_body;        /* the response body is not wanted: read and dropped (resp->body is "") */
} HttpRequestParams;

#define HTTP_TIMEOUT_DEFAULT_USEC (60 * USEC_PER_SEC)
#define HTTP_BODY_MAX (8 * 1024 * 1024)

int http_request_start(sd_event *event, const HttpRequestParams *p, http_done_t done, void *userdata,
                       HttpRequest **ret);
/* Aborts the transfer if it is still running ('done' is then never called). Accepts NULL. */
HttpRequest *http_request_free(HttpRequest *req);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpRequest *, http_request_free);

/* The number of requests in flight, for tests and debugging. */
unsigned http_requests_in_flight(void);

/* Percent-encodes 's' for a URL path segment or a form value (RFC 3986 unreserved kept). */
char *http_escape(const char *s);
/* Parses a Retry-After-style hint: retry-after-ms (milliseconds), else Retry-After (integer
 * seconds or an HTTP date). Returns the delay, or USEC_INFINITY when there is none. */
usec_t http_retry_after(const HttpResponse *resp);
