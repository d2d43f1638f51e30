/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ssh-pool.c: pooled, authenticated libssh2 sessions (see ssh-pool.h).
 *
 * A connection's life: RESOLVING (a child process; numeric hosts skip it) → CONNECTING (non-blocking
 * connect(), each address in turn) → HANDSHAKE → host key check against known_hosts (a local
 * file read) → AUTH_LIST (the server's accepted methods) → AUTH_KEY → LEASED ⇄ IDLE → freed.
 * One sd-event I/O source per connection watches the socket for whatever libssh2 blocked on; it
 * drives the set-up (ssh-conn.c), the user's handler while leased, and the liveness check while
 * idle. Here: requests, idle connections, and the pool of targets. */

#include <sys/stat.h>
#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "connector/connector.h"
#include "connector/ssh/ssh-pool-internal.h"
#include "shared/log.h"


static PoolTarget *pool_targets = NULL;
static bool pool_libssh2_ready = false;
usec_t pool_idle_usec = SSH_POOL_IDLE_USEC;
unsigned pool_idle_n = 0;
static unsigned pool_idle_max = SSH_MAX_IDLE_CONNECTIONS_DEFAULT;

void ssh_pool_set_idle_timeout(usec_t usec) {
        pool_idle_usec = usec > 0 ? usec : SSH_POOL_IDLE_USEC;
}

void ssh_endpoint_done(SshEndpoint *ep) {
        ep->host = mfree(ep->host);
        ep->user = mfree(ep->user);
        ep->identity = mfree(ep->identity);
        ep->known_hosts = mfree(ep->known_hosts);
}

int ssh_endpoint_copy(const SshEndpoint *from, SshEndpoint *to) {
        *to = (SshEndpoint) { .port = from->port };
        to->host = strdup(from->host);
        to->user = strdup(from->user);
        to->identity = from->identity ? strdup(from->identity) : NULL;
        to->known_hosts = strdup(from->known_hosts);
        if (!to->host || !to->user || !to->known_hosts || (from->identity && !to->identity)) {
                ssh_endpoint_done(to);
                return -ENOMEM;
        }
        return 0;
}

void pool_serve(PoolTarget *pt);
void detached_maybe_free(PoolTarget *pt);
int conn_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);
int conn_on_start(sd_event_source *s, void *userdata);

/* ---- requests ---- */

static int acquire_on_defer(sd_event_source *s, void *userdata);

/* Completes the request now (from the event loop): the last thing done with 'a'. */
void acquire_complete(SshAcquire *a, SshConn *c, int error, const char *message) {
        a->timer = sd_event_source_disable_unref(a->timer);
        a->defer = sd_event_source_disable_unref(a->defer);
        a->conn = NULL;
        if (c) {
                c->acq = NULL;
                c->state = CONN_LEASED;
                c->cb = NULL;
                (void) conn_watch(c, EPOLLIN);
                (void) sd_event_source_set_enabled(c->io, SD_EVENT_OFF);   /* until the user asks */
        }
        a->done(c, error, message, a->userdata);
}

/* Completes the request on the next loop iteration (for results known right away). */
static int acquire_complete_later(SshAcquire *a, int error, const char *message) {
        int r;

        a->error = error;
        free(a->message);
        a->message = message ? strdup(message) : NULL;
        if (a->defer)
                return sd_event_source_set_enabled(a->defer, SD_EVENT_ONESHOT);
        r = sd_event_add_defer(a->event, &a->defer, acquire_on_defer, a);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(a->defer, "ssh-acquire");
        return 0;
}

static int acquire_on_defer(sd_event_source *s, void *userdata) {
        SshAcquire *a = userdata;
        SshConn *c = a->conn;

        acquire_complete(a, a->error < 0 ? NULL : c, a->error, a->message);
        return 0;
}

/* The set-up for 'c' failed: free it and report 'message' (printf-style) to its request. */
_printf_(3, 4)
void conn_fail(SshConn *c, int error, const char *fmt, ...) {
        SshAcquire *a = c->acq;
        PoolTarget *pt = c->pt;
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        (void) vasprintf_safe(&msg, fmt, ap);
        va_end(ap);
        log_debug("ssh %s: %s", c->peer, strna(msg));

        bool serve = !pt->detached;   /* a detached target may be gone after the callback */

        if (a) {
                a->conn = NULL;
                a->progress = c->progress;
        }
        conn_free(c, false);
        if (a)
                acquire_complete(a, NULL, error, msg ?: "out of memory");
        if (serve)
                pool_serve(pt);
}

void conn_ready(SshConn *c) {
        SshAcquire *a = c->acq;

        conn_wipe_key(c);
        log_debug("ssh %s: authenticated as '%s'.", c->peer, c->pt->ep.user);
        c->progress.stage = SSH_STAGE_READY;
        a->progress = c->progress;
        acquire_complete(a, c, 0, NULL);
}

/* ---- idle connections ---- */

int on_idle_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        SshConn *c = userdata;

        log_debug("ssh %s: closing idle connection.", c->peer);
        conn_drop_idle(c, true);
        return 0;
}

int on_keepalive(sd_event_source *s, uint64_t usec, void *userdata) {
        SshConn *c = userdata;
        int next = SSH_POOL_KEEPALIVE_SEC, rc;

        rc = libssh2_keepalive_send(c->session, &next);
        if (rc < 0 && rc != LIBSSH2_ERROR_EAGAIN) {
                log_debug("ssh %s: keepalive failed (%s), dropping the connection.", c->peer, ssh_conn_last_error(c));
                conn_drop_idle(c, false);
                return 0;
        }
        (void) sd_event_source_set_time_relative(s, (usec_t) MAX(next, 1) * USEC_PER_SEC);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

void ssh_pool_release(SshConn *c, bool reusable) {
        PoolTarget *pt;

        if (!c)
                return;
        pt = c->pt;
        assert(c->state == CONN_LEASED);
        c->cb = NULL;
        c->userdata = NULL;

        /* a full pool keeps what it has: a connection handed straight to a waiting request is
         * not idle for long, any other is closed */
        bool full = pt && pool_idle_n >= pool_idle_max && !pt->wait_head;
        if (!reusable || !pt || pt->detached || full || !conn_alive(c) ||
            sd_event_add_time_relative(c->event, &c->idle_timer, CLOCK_MONOTONIC, pool_idle_usec, USEC_PER_SEC,
                                       on_idle_timeout, c) < 0 ||
            sd_event_add_time_relative(c->event, &c->keepalive_timer, CLOCK_MONOTONIC,
                                       SSH_POOL_KEEPALIVE_SEC * USEC_PER_SEC, USEC_PER_SEC, on_keepalive, c) < 0 ||
            conn_watch(c, EPOLLIN) < 0 ||
            sd_event_source_set_enabled(c->io, SD_EVENT_ON) < 0) {
                c->idle_timer = sd_event_source_disable_unref(c->idle_timer);
                c->keepalive_timer = sd_event_source_disable_unref(c->keepalive_timer);
                log_debug("ssh %s: closing connection%s.", c->peer,
                          !reusable ? " (not reusable)" : full ? " (the pool holds its maximum of idle connections)" : "");
                conn_free(c, pt && pt->detached);
                if (pt && pt->detached)
                        detached_maybe_free(pt);
                else if (pt)
                        pool_serve(pt);
                return;
        }
        (void) sd_event_source_set_description(c->idle_timer, "ssh-idle");
        (void) sd_event_source_set_description(c->keepalive_timer, "ssh-keepalive");
        c->state = CONN_IDLE;
        c->idle_next = pt->idle;
        c->idle_since = now_usec(CLOCK_MONOTONIC);
        pt->idle = c;
        pool_idle_n++;
        log_debug("ssh %s: connection back in the pool.", c->peer);
        pool_serve(pt);
}

/* ---- the pool ---- */

/* A detached target goes with the last of its request and its connection. */
void detached_maybe_free(PoolTarget *pt) {
        if (!pt->detached || pt->has_request || pt->n_conns > 0)
                return;
        free(pt->key);
        ssh_endpoint_done(&pt->ep);
        free(pt);
}

static int conn_new(SshAcquire *a) {
        PoolTarget *pt = a->pt;
        SshConn *c;
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->fd = -1;
        c->event = sd_event_ref(a->event);
        c->pt = pt;
        pt->n_conns++;
        c->acq = a;
        a->conn = c;
        snprintf(c->peer, sizeof c->peer, strchr(pt->ep.host, ':') ? "[%s]:%u" : "%s:%u", pt->ep.host, pt->ep.port);
        log_debug("ssh %s: opening a new connection.", c->peer);
        c->state = CONN_RESOLVING;
        c->progress.stage = SSH_STAGE_RESOLVE;
        r = sd_event_add_defer(c->event, &c->start, conn_on_start, c);
        if (r < 0) {
                a->conn = NULL;
                c->acq = NULL;
                conn_free(c, false);
                return r;
        }
        return 0;
}

static int on_connect_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        SshAcquire *a = userdata;
        SshConn *c = a->conn;
        static const char *const what[] = {
                [CONN_RESOLVING] = "resolving the name", [CONN_CONNECTING] = "connecting",
                [CONN_HANDSHAKE] = "in the SSH handshake", [CONN_AUTH_LIST] = "authenticating",
                [CONN_AUTH_KEY] = "authenticating",
        };

        if (c && c->state <= CONN_AUTH_KEY)
                conn_fail(c, -ETIMEDOUT, "timed out after %llus %s (%s)",
                          (unsigned long long) (SSH_CONNECT_TIMEOUT_USEC / USEC_PER_SEC), what[c->state], c->peer);
        return 0;
}

/* Whether known_hosts is still the file this connection's host key was checked against. */
static bool conn_known_hosts_unchanged(SshConn *c) {
        struct stat st;

        if (!c->known_hosts_st_valid || !c->pt->ep.known_hosts || stat(c->pt->ep.known_hosts, &st) < 0)
                return false;
        return st.st_dev == c->known_hosts_st.st_dev && st.st_ino == c->known_hosts_st.st_ino &&
               st.st_size == c->known_hosts_st.st_size &&
               st.st_mtim.tv_sec == c->known_hosts_st.st_mtim.tv_sec &&
               st.st_mtim.tv_nsec == c->known_hosts_st.st_mtim.tv_nsec &&
               st.st_ctim.tv_sec == c->known_hosts_st.st_ctim.tv_sec &&
               st.st_ctim.tv_nsec == c->known_hosts_st.st_ctim.tv_nsec;
}

/* Gives waiting requests what there is: idle connections, else new ones within the limit. */
void pool_serve(PoolTarget *pt) {
        while (pt->wait_head) {
                SshAcquire *a = pt->wait_head;
                int r;

                /* a pooled connection is reused only while known_hosts is as it was checked */
                while (pt->idle && !conn_known_hosts_unchanged(pt->idle)) {
                        SshConn *c = pt->idle;
                        log_info("ssh %s: known_hosts '%s' changed since this idle connection's host key was checked; "
                                 "closing it.", c->peer, strna(pt->ep.known_hosts));
                        idle_unlink(c);
                        conn_free(c, true);
                }

                if (!pt->idle && pt->n_conns >= SSH_POOL_PER_TARGET_MAX)
                        return;
                pt->wait_head = a->wait_next;
                if (!pt->wait_head)
                        pt->wait_tail = NULL;
                a->wait_next = NULL;
                a->waiting = false;

                if (pt->idle && !a->fresh) {
                        SshConn *c = pt->idle;
                        idle_unlink(c);
                        c->state = CONN_LEASED;
                        c->reused = true;
                        c->acq = a;
                        a->conn = c;
                        r = acquire_complete_later(a, 0, NULL);
                } else if (pt->n_conns < SSH_POOL_PER_TARGET_MAX || pt->idle) {
                        if (pt->n_conns >= SSH_POOL_PER_TARGET_MAX) {
                                SshConn *c = pt->idle;   /* make room: a fresh one was asked for */
                                idle_unlink(c);
                                conn_free(c, true);
                        }
                        r = conn_new(a);
                        /* a connection of a check's own has the check's timeout only: two timers
                         * of the same length would race over which one says why it failed */
                        if (r >= 0 && !pt->detached)
                                r = sd_event_add_time_relative(a->event, &a->timer, CLOCK_MONOTONIC,
                                                               SSH_CONNECT_TIMEOUT_USEC, USEC_PER_SEC,
                                                               on_connect_timeout, a);
                        if (r < 0 && a->conn) {
                                SshConn *c = a->conn;
                                a->conn = NULL;
                                c->acq = NULL;
                                conn_free(c, false);
                        }
                        if (r < 0) {
                                char m[256];
                                snprintf(m, sizeof m, "cannot connect to %s:%u: %s", pt->ep.host, pt->ep.port,
                                         strerror(-r));
                                r = acquire_complete_later(a, r, m);
                        }
                } else
                        r = 0;
                if (r < 0)
                        log_debug_errno(r, "Failed to complete an ssh connection request: %m");
        }
}

static int endpoint_key(const SshEndpoint *ep, char **ret) {
        return asprintf_safe(ret, "%s\n%s\n%u\n%s\n%s", ep->user, ep->host, ep->port, strempty(ep->identity),
                             ep->known_hosts);
}

static int pool_target_get(const SshEndpoint *ep, PoolTarget **ret) {
        _cleanup_free_ char *key = NULL;
        PoolTarget *pt;
        int r;

        r = endpoint_key(ep, &key);
        if (r < 0)
                return r;
        for (pt = pool_targets; pt; pt = pt->next)
                if (streq(pt->key, key)) {
                        *ret = pt;
                        return 0;
                }
        pt = calloc(1, sizeof *pt);
        if (!pt)
                return -ENOMEM;
        r = ssh_endpoint_copy(ep, &pt->ep);
        if (r < 0) {
                free(pt);
                return r;
        }
        pt->key = TAKE_PTR(key);
        pt->next = pool_targets;
        pool_targets = pt;
        *ret = pt;
        return 0;
}

static int pool_init(void) {
        if (!pool_libssh2_ready) {
                if (libssh2_init(0) != 0)
                        return -EIO;
                pool_libssh2_ready = true;
        }
        return 0;
}

static SshAcquire *acquire_new(PoolTarget *pt, sd_event *event, bool fresh, ssh_acquire_done_t done,
                               void *userdata) {
        SshAcquire *a = calloc(1, sizeof *a);

        if (!a)
                return NULL;
        a->pt = pt;
        a->event = sd_event_ref(event);
        a->fresh = fresh;
        a->done = done;
        a->userdata = userdata;
        return a;
}

/* Queues the request behind the target's others, then serves the queue. */
static void acquire_enqueue(SshAcquire *a) {
        PoolTarget *pt = a->pt;

        a->waiting = true;
        if (pt->wait_tail)
                pt->wait_tail->wait_next = a;
        else
                pt->wait_head = a;
        pt->wait_tail = a;
        pool_serve(pt);
}

int ssh_connect_unpooled(sd_event *event, const SshEndpoint *ep, ssh_acquire_done_t done, void *userdata,
                         SshAcquire **ret) {
        PoolTarget *pt;
        SshAcquire *a;
        int r;

        assert(event && ep && done && ret);

        r = pool_init();
        if (r < 0)
                return r;
        pt = calloc(1, sizeof *pt);
        if (!pt)
                return -ENOMEM;
        pt->detached = true;   /* from here on, detached_maybe_free() frees it */
        a = ssh_endpoint_copy(ep, &pt->ep) < 0 ? NULL : acquire_new(pt, event, /* fresh= */ true, done, userdata);
        if (!a) {
                detached_maybe_free(pt);
                return -ENOMEM;
        }
        pt->has_request = true;
        acquire_enqueue(a);
        *ret = a;
        return 0;
}

int ssh_pool_acquire(sd_event *event, const SshEndpoint *ep, bool fresh, ssh_acquire_done_t done,
                     void *userdata, SshAcquire **ret) {
        PoolTarget *pt;
        SshAcquire *a;
        int r;

        assert(event && ep && done && ret);

        r = pool_init();
        if (r < 0)
                return r;
        r = pool_target_get(ep, &pt);
        if (r < 0)
                return r;

        a = acquire_new(pt, event, fresh, done, userdata);
        if (!a)
                return -ENOMEM;

        /* Idle connections whose peer has gone are dropped here, before anyone uses them. */
        for (SshConn *c = pt->idle, *next; c; c = next) {
                next = c->idle_next;
                if (!conn_alive(c)) {
                        log_debug("ssh %s: idle connection is dead, dropping it.", c->peer);
                        idle_unlink(c);
                        conn_free(c, false);
                }
        }

        acquire_enqueue(a);
        *ret = a;
        return 0;
}

SshAcquire *ssh_acquire_free(SshAcquire *a) {
        PoolTarget *pt;

        if (!a)
                return NULL;
        pt = a->pt;
        if (a->waiting) {
                SshAcquire **p;
                for (p = &pt->wait_head; *p && *p != a; p = &(*p)->wait_next)
                        ;
                if (*p)
                        *p = a->wait_next;
                pt->wait_tail = NULL;
                for (SshAcquire *i = pt->wait_head; i; i = i->wait_next)
                        pt->wait_tail = i;
        }
        if (a->conn) {
                /* still being set up for us, or handed over but not yet delivered */
                SshConn *c = a->conn;
                c->acq = NULL;
                if (c->state == CONN_LEASED)
                        ssh_pool_release(c, true);
                else
                        conn_free(c, false);
                a->conn = NULL;
        }
        a->timer = sd_event_source_disable_unref(a->timer);
        a->defer = sd_event_source_disable_unref(a->defer);
        free(a->message);
        sd_event_unref(a->event);
        free(a);
        if (pt->detached) {
                pt->has_request = false;
                detached_maybe_free(pt);
        } else
                pool_serve(pt);
        return NULL;
}

unsigned ssh_pool_idle_count(void) {
        return pool_idle_n;
}

static int conn_idle_since_cmp(const void *a, const void *b) {
        const SshConn *x = *(SshConn *const *) a, *y = *(SshConn *const *) b;
        return (x->idle_since > y->idle_since) - (x->idle_since < y->idle_since);
}

/* Closes an idle connection to lower the bound. An endpoint with idle connections has no request
 * waiting (pool_serve() gives them out first): closing one serves nobody and touches no other. */
static void idle_close_surplus(SshConn *c) {
        assert(!c->pt->wait_head);
        idle_unlink(c);
        conn_free(c, true);
}

void ssh_pool_set_idle_max(unsigned n) {
        _cleanup_free_ SshConn **all = NULL;
        size_t k = 0, surplus;

        pool_idle_max = MIN(n, (unsigned) SSH_MAX_IDLE_CONNECTIONS_MAX);
        if (pool_idle_n <= pool_idle_max)
                return;
        surplus = pool_idle_n - pool_idle_max;
        all = calloc(pool_idle_n, sizeof *all);
        for (PoolTarget *pt = pool_targets; all && pt; pt = pt->next)
                for (SshConn *c = pt->idle; c; c = c->idle_next)
                        all[k++] = c;
        if (!all) {   /* no memory for the order: any will do */
                while (pool_idle_n > pool_idle_max) {
                        PoolTarget *pt = pool_targets;
                        while (!pt->idle)
                                pt = pt->next;
                        idle_close_surplus(pt->idle);
                }
                return;
        }
        assert(k == pool_idle_n);
        qsort(all, k, sizeof *all, conn_idle_since_cmp);
        log_debug("ssh: closing %zu idle connections (at most %u are kept idle now).", surplus, pool_idle_max);
        for (size_t i = 0; i < surplus; i++)
                idle_close_surplus(all[i]);
}

const SshProgress *ssh_acquire_progress(SshAcquire *a) {
        return a->conn ? &a->conn->progress : &a->progress;
}

void ssh_pool_shutdown(void) {
        while (pool_targets) {
                PoolTarget *pt = pool_targets;

                pool_targets = pt->next;
                while (pt->idle) {
                        SshConn *c = pt->idle;
                        idle_unlink(c);
                        c->pt = NULL;
                        conn_free(c, true);
                }
                /* Leased connections and requests belong to jobs, which are freed before this. */
                free(pt->key);
                ssh_endpoint_done(&pt->ep);
                free(pt);
        }
        if (pool_libssh2_ready) {
                libssh2_exit();
                pool_libssh2_ready = false;
        }
}
