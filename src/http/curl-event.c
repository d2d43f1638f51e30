/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* curl-event.c: the curl multi interface driven by sd-event.
 *
 * One multi handle serves the process (one thread, one loop). It outlives the requests, so that
 * its connection cache (and the TLS sessions in a share handle) serve the next ones: at most
 * HTTP_MAX_HOST_CONNECTIONS connections per host at once (further transfers queue inside curl),
 * at most HTTP_MAX_CONNECTS kept open; the whole of it (and so every cached connection) is dropped
 * HTTP_IDLE_CLEANUP_USEC after the last request ended, and when the loop exits (an exit source;
 * requests still in flight then drop it with the last of them). curl tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION: one sd-event io source per socket, kept with sym_curl_multi_assign())
 * and when to call it back (CURLMOPT_TIMERFUNCTION: one time source); both events end in
 * sym_curl_multi_socket_action(), after which finished transfers are collected and their 'done'
 * callbacks run. */

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>

#include "config.h"
#include "http/curl-dl.h"
#include "http/curl-event.h"
#include "shared/log.h"

#define HTTP_MAX_HOST_CONNECTIONS 32L
#define HTTP_MAX_CONNECTS 32L
#define HTTP_IDLE_CLEANUP_USEC (60 * USEC_PER_SEC)

typedef struct CurlGlue {
        sd_event *event;
        CURLM *multi;
        CURLSH *share;            /* TLS sessions and DNS, for new connections */
        sd_event_source *timer;
        sd_event_source *idle_timer;
        sd_event_source *exit_source;
        unsigned n_requests;
        bool dispatching;
        bool closing;             /* in sym_curl_multi_cleanup(): arm nothing new */
        bool exiting;             /* the loop exits: drop everything once idle */
} CurlGlue;

struct HttpRequest {
        CURL *easy;
        struct curl_slist *headers;
        char *body;
        size_t body_len;
        char *buf;                /* response body */
        size_t buf_len, buf_alloc;
        bool too_big;
        bool discard;
        char *hdr_retry_after, *hdr_retry_after_ms, *hdr_location, *hdr_async;
        char errbuf[CURL_ERROR_SIZE];
        http_done_t done;
        void *userdata;
        bool in_multi;
};

static CurlGlue *glue = NULL;

unsigned http_requests_in_flight(void) {
        return glue ? glue->n_requests : 0;
}

static void glue_maybe_free(void);

static void glue_free(void) {
        if (!glue)
                return;
        /* closes the cached connections: curl says CURL_POLL_REMOVE for each socket */
        log_debug("Closing the HTTP multi handle and its cached connections.");
        glue->closing = true;
        sym_curl_multi_cleanup(glue->multi);
        if (glue->share)
                sym_curl_share_cleanup(glue->share);
        glue->timer = sd_event_source_disable_unref(glue->timer);
        glue->idle_timer = sd_event_source_disable_unref(glue->idle_timer);
        glue->exit_source = sd_event_source_disable_unref(glue->exit_source);
        sd_event_unref(glue->event);
        glue = mfree(glue);
}

static int on_idle(sd_event_source *s, uint64_t usec, void *userdata) {
        if (glue && glue->n_requests == 0 && !glue->dispatching) {
                log_debug("No HTTP requests for a while, closing cached connections.");
                glue_free();
        }
        return 0;
}

static int on_exit_loop(sd_event_source *s, void *userdata) {
        log_debug("Exiting: closing cached HTTP connections once no request is in flight (%u are).", glue->n_requests);
        glue->exiting = true;
        glue_maybe_free();
        return 0;
}

/* After a request ended: when none is left, the cache stays for a while (or goes now, at exit). */
static void glue_maybe_free(void) {
        int r;

        if (!glue || glue->n_requests > 0 || glue->dispatching)
                return;
        if (glue->exiting) {
                glue_free();
                return;
        }
        if (glue->idle_timer) {
                r = sd_event_source_set_time_relative(glue->idle_timer, HTTP_IDLE_CLEANUP_USEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(glue->idle_timer, SD_EVENT_ONESHOT);
        } else {
                r = sd_event_add_time_relative(glue->event, &glue->idle_timer, CLOCK_MONOTONIC, HTTP_IDLE_CLEANUP_USEC,
                                               USEC_PER_SEC, on_idle, NULL);
                if (r >= 0)
                        (void) sd_event_source_set_description(glue->idle_timer, "curl-idle");
        }
        if (r < 0) {
                log_debug_errno(r, "Failed to arm the HTTP idle timer, closing cached connections now: %m");
                glue_free();
        }
}

static int errno_from_curl(CURLcode c) {
        switch (c) {
        case CURLE_OK:
                return 0;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_ISSUER_ERROR:
                return -EPROTO;
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
                return -ECONNRESET;
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
                return -EINVAL;
        default:
                return -EIO;
        }
}

static void glue_collect(void) {
        CURLMsg *msg;
        int left;

        while ((msg = sym_curl_multi_info_read(glue->multi, &left))) {
                HttpRequest *req = NULL;
                HttpResponse resp = {};

                if (msg->msg != CURLMSG_DONE)
                        continue;
                (void) sym_curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &req);
                assert(req);
                CURLcode code = msg->data.result;   /* msg is invalid after remove_handle */

                (void) sym_curl_multi_remove_handle(glue->multi, req->easy);
                req->in_multi = false;
                glue->n_requests--;

                if (code == CURLE_OK && req->too_big) {
                        resp.error = -EFBIG;
                        resp.error_text = "response body too large";
                } else if (code != CURLE_OK) {
                        resp.error = errno_from_curl(code);
                        resp.error_text = req->errbuf[0] ? req->errbuf : sym_curl_easy_strerror(code);
                } else
                        (void) sym_curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &resp.status);
                resp.body = req->buf ?: "";
                resp.body_len = req->buf_len;
                resp.retry_after = req->hdr_retry_after;
                resp.retry_after_ms = req->hdr_retry_after_ms;
                resp.location = req->hdr_location;
                resp.async_operation = req->hdr_async;
                req->done(req, &resp, req->userdata);   /* may free req, and others */
        }
}

static void glue_action(curl_socket_t fd, int flags) {
        int running;
        CURLMcode m;

        glue->dispatching = true;
        m = sym_curl_multi_socket_action(glue->multi, fd, flags, &running);
        if (m != CURLM_OK)
                log_debug("sym_curl_multi_socket_action() failed: %s", sym_curl_multi_strerror(m));
        glue_collect();
        glue->dispatching = false;
        glue_maybe_free();
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        int flags = 0;

        if (revents & (EPOLLIN | EPOLLHUP))
                flags |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
        if (revents & EPOLLERR)
                flags |= CURL_CSELECT_ERR;
        glue_action(fd, flags);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        glue_action(CURL_SOCKET_TIMEOUT, 0);
        return 0;
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        sd_event_source *src = socketp;
        uint32_t events = 0;
        int r;

        if (what == CURL_POLL_REMOVE) {
                if (src) {
                        (void) sym_curl_multi_assign(glue->multi, fd, NULL);
                        sd_event_source_disable_unref(src);
                }
                return 0;
        }
        if (glue->closing)
                return 0;
        if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
                events |= EPOLLIN;
        if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
                events |= EPOLLOUT;

        if (src) {
                r = sd_event_source_set_io_events(src, events);
                if (r >= 0)
                        r = sd_event_source_set_enabled(src, SD_EVENT_ON);
        } else {
                r = sd_event_add_io(glue->event, &src, fd, events, on_io, NULL);
                if (r >= 0) {
                        (void) sd_event_source_set_description(src, "curl-io");
                        (void) sym_curl_multi_assign(glue->multi, fd, src);
                }
        }
        if (r < 0) {
                log_debug_errno(r, "Failed to watch curl socket %d: %m", (int) fd);
                return -1;
        }
        return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp) {
        int r;

        if (timeout_ms < 0 || glue->closing) {
                if (glue->timer)
                        (void) sd_event_source_set_enabled(glue->timer, SD_EVENT_OFF);
                return 0;
        }
        /* Never call curl back from here: a zero timeout fires on the next loop iteration. */
        usec_t usec = (usec_t) timeout_ms * USEC_PER_MSEC;
        if (glue->timer) {
                r = sd_event_source_set_time_relative(glue->timer, usec);
                if (r >= 0)
                        r = sd_event_source_set_enabled(glue->timer, SD_EVENT_ONESHOT);
        } else {
                r = sd_event_add_time_relative(glue->event, &glue->timer, CLOCK_MONOTONIC, usec,
                                               USEC_PER_MSEC, on_timer, NULL);
                if (r >= 0)
                        (void) sd_event_source_set_description(glue->timer, "curl-timer");
        }
        if (r < 0) {
                log_debug_errno(r, "Failed to arm curl timer: %m");
                return -1;
        }
        return 0;
}

static int glue_get(sd_event *event) {
        static bool global_done = false;
        int r;

        if (glue) {
                if (glue->event != event)
                        return -EXDEV;   /* one loop per process */
                return 0;
        }
        if (!global_done) {
                r = curl_dl_open(NULL);
                if (r < 0)
                        return r;
                if (sym_curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                        return -EIO;
                global_done = true;
        }
        glue = calloc(1, sizeof *glue);
        if (!glue)
                return -ENOMEM;
        glue->multi = sym_curl_multi_init();
        if (!glue->multi) {
                glue = mfree(glue);
                return -ENOMEM;
        }
        glue->event = sd_event_ref(event);
        (void) sym_curl_multi_setopt(glue->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
        (void) sym_curl_multi_setopt(glue->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
        (void) sym_curl_multi_setopt(glue->multi, CURLMOPT_MAX_HOST_CONNECTIONS, HTTP_MAX_HOST_CONNECTIONS);
        (void) sym_curl_multi_setopt(glue->multi, CURLMOPT_MAXCONNECTS, HTTP_MAX_CONNECTS);
        glue->share = sym_curl_share_init();
        if (glue->share) {
                (void) sym_curl_share_setopt(glue->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
                (void) sym_curl_share_setopt(glue->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        }
        r = sd_event_add_exit(event, &glue->exit_source, on_exit_loop, NULL);
        if (r < 0) {
                glue_free();
                return r;
        }
        (void) sd_event_source_set_description(glue->exit_source, "curl-exit");
        return 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata) {
        HttpRequest *req = userdata;
        size_t n = size * nmemb;

        if (req->discard)
                return n;
        if (req->too_big || req->buf_len + n > HTTP_BODY_MAX) {
                req->too_big = true;
                return n;   /* keep reading, drop it */
        }
        if (req->buf_len + n + 1 > req->buf_alloc) {
                size_t a = MAX(req->buf_alloc * 2, req->buf_len + n + 1);
                a = MAX(a, (size_t) 4096);
                /* not realloc(): the old buffer may hold a token; it is wiped, not left behind */
                char *p = malloc(a);
                if (!p)
                        return 0;   /* makes curl fail the transfer */
                if (req->buf) {
                        memcpy(p, req->buf, req->buf_len);
                        explicit_bzero(req->buf, req->buf_alloc);
                        free(req->buf);
                }
                req->buf = p;
                req->buf_alloc = a;
        }
        memcpy(req->buf + req->buf_len, ptr, n);
        req->buf_len += n;
        req->buf[req->buf_len] = 0;
        return n;
}

static int set_header(char **slot, const char *v, size_t n) {
        char *c = strndup(v, n);
        if (!c)
                return -ENOMEM;
        free(*slot);
        *slot = c;
        return 0;
}

static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *userdata) {
        HttpRequest *req = userdata;
        size_t n = size * nmemb, name_len;
        const char *colon = memchr(ptr, ':', n), *v, *end;
        static const struct { const char *name; size_t off; } want[] = {
                { "retry-after",            offsetof(HttpRequest, hdr_retry_after) },
                { "retry-after-ms",         offsetof(HttpRequest, hdr_retry_after_ms) },
                { "x-ms-retry-after-ms",    offsetof(HttpRequest, hdr_retry_after_ms) },
                { "location",               offsetof(HttpRequest, hdr_location) },
                { "azure-asyncoperation",   offsetof(HttpRequest, hdr_async) },
        };

        if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
                /* a new response (after a 100 Continue or a redirect): forget the previous headers */
                for (size_t i = 0; i < ELEMENTSOF(want); i++)
                        *(char **) ((uint8_t *) req + want[i].off) = mfree(*(char **) ((uint8_t *) req + want[i].off));
                return n;
        }
        if (!colon)
                return n;
        name_len = (size_t) (colon - ptr);
        v = colon + 1;
        end = ptr + n;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && isspace((unsigned char) end[-1]))
                end--;
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                if (strlen(want[i].name) == name_len && strncasecmp(ptr, want[i].name, name_len) == 0)
                        if (set_header((char **) ((uint8_t *) req + want[i].off), v, (size_t) (end - v)) < 0)
                                return 0;
        return n;
}

HttpRequest *http_request_free(HttpRequest *req) {
        if (!req)
                return NULL;
        if (req->in_multi && glue) {
                (void) sym_curl_multi_remove_handle(glue->multi, req->easy);
                glue->n_requests--;
        }
        if (req->easy)
                sym_curl_easy_cleanup(req->easy);
        /* request headers ("Authorization: Bearer …"), request bodies (client secrets, assertions)
         * and response bodies (access tokens) are wiped before they are freed */
        for (struct curl_slist *l = req->headers; l; l = l->next)
                if (l->data)
                        explicit_bzero(l->data, strlen(l->data));
        sym_curl_slist_free_all(req->headers);
        if (req->body) {
                explicit_bzero(req->body, req->body_len);
                free(req->body);
        }
        if (req->buf) {
                explicit_bzero(req->buf, req->buf_alloc);
                free(req->buf);
        }
        free(req->hdr_retry_after);
        free(req->hdr_retry_after_ms);
        free(req->hdr_location);
        free(req->hdr_async);
        free(req);
        glue_maybe_free();
        return NULL;
}

int http_request_start(sd_event *event, const HttpRequestParams *p, http_done_t done, void *userdata,
                       HttpRequest **ret) {
        _cleanup_(http_request_freep) HttpRequest *req = NULL;
        usec_t timeout;
        CURLMcode m;
        int r;

        assert(event);
        assert(p && p->method && p->url);
        assert(done);
        assert(ret);

        r = glue_get(event);
        if (r < 0)
                return r;

        req = calloc(1, sizeof *req);
        if (!req) {
                glue_maybe_free();
                return -ENOMEM;
        }
        req->done = done;
        req->userdata = userdata;
        req->easy = sym_curl_easy_init();
        if (!req->easy)
                return -ENOMEM;

        for (const char *const *h = p->headers; h && *h; h++) {
                struct curl_slist *l = sym_curl_slist_append(req->headers, *h);
                if (!l)
                        return -ENOMEM;
                req->headers = l;
        }
        req->discard = p->discard_body;
        if (p->body) {
                req->body = malloc(p->body_len + 1);
                if (!req->body)
                        return -ENOMEM;
                memcpy(req->body, p->body, p->body_len);
                req->body[p->body_len] = 0;
                req->body_len = p->body_len;
        }

        timeout = p->timeout_usec > 0 ? p->timeout_usec : HTTP_TIMEOUT_DEFAULT_USEC;
        CURL *e = req->easy;
        if (sym_curl_easy_setopt(e, CURLOPT_URL, p->url) != CURLE_OK)
                return -EINVAL;
        (void) sym_curl_easy_setopt(e, CURLOPT_PRIVATE, req);
        (void) sym_curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        (void) sym_curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        (void) sym_curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
        (void) sym_curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
        (void) sym_curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
        if (p->ca_file) {
                /* the target's CA bundle REPLACES the system store: no built-in CA directory either
                 * (libcurl's default CAPATH, /etc/ssl/certs on Debian, would add every system CA) */
                if (sym_curl_easy_setopt(e, CURLOPT_CAINFO, p->ca_file) != CURLE_OK ||
                    sym_curl_easy_setopt(e, CURLOPT_CAPATH, (char *) NULL) != CURLE_OK)
                        return -EINVAL;
        }
        if (p->no_proxy)
                (void) sym_curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
        (void) sym_curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) (timeout / USEC_PER_MSEC));
        (void) sym_curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long) MIN(timeout, 15 * USEC_PER_SEC) / (long) USEC_PER_MSEC);
        (void) sym_curl_easy_setopt(e, CURLOPT_USERAGENT, "runbookd/" PACKAGE_VERSION);
        (void) sym_curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers);
        (void) sym_curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf);
        (void) sym_curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
        (void) sym_curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
        (void) sym_curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
        (void) sym_curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
        (void) sym_curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
        if (streq(p->method, "GET") || streq(p->method, "DELETE"))
                (void) sym_curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        else {
                (void) sym_curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ?: "");
                (void) sym_curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
        }
        if (!streq(p->method, "GET") && !streq(p->method, "POST"))
                (void) sym_curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, p->method);

        if (glue->share)
                (void) sym_curl_easy_setopt(e, CURLOPT_SHARE, glue->share);
        if (p->fresh_connection) {
                (void) sym_curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
                (void) sym_curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
        }
        m = sym_curl_multi_add_handle(glue->multi, e);
        if (m != CURLM_OK)
                return m == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
        req->in_multi = true;
        glue->n_requests++;
        if (glue->idle_timer)
                (void) sd_event_source_set_enabled(glue->idle_timer, SD_EVENT_OFF);

        *ret = TAKE_PTR(req);
        return 0;
}

char *http_escape(const char *s) {
        static const char hex[] = "0123456789ABCDEF";
        size_t n = strlen(s);
        char *out = malloc(n * 3 + 1), *o = out;

        if (!out)
                return NULL;
        for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
                if (isalnum(*c) || strchr("-._~", *c))
                        *o++ = (char) *c;
                else {
                        *o++ = '%';
                        *o++ = hex[*c >> 4];
                        *o++ = hex[*c & 15];
                }
        }
        *o = 0;
        return out;
}

usec_t http_retry_after(const HttpResponse *resp) {
        char *end;

        if (resp->retry_after_ms) {
                unsigned long long ms = strtoull(resp->retry_after_ms, &end, 10);
                if (end != resp->retry_after_ms && *end == 0)
                        return (usec_t) MIN(ms, 3600ULL * 1000) * USEC_PER_MSEC;
        }
        if (resp->retry_after) {
                unsigned long long sec = strtoull(resp->retry_after, &end, 10);
                if (end != resp->retry_after && *end == 0)
                        return (usec_t) MIN(sec, 3600ULL) * USEC_PER_SEC;
                time_t t = sym_curl_getdate(resp->retry_after, NULL);
                if (t > 0) {
                        time_t n = time(NULL);
                        return t > n ? (usec_t) MIN(t - n, 3600) * USEC_PER_SEC : 0;
                }
        }
        return USEC_INFINITY;
}
