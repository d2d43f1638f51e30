/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ssh-pool.c: pooled, authenticated libssh2 sessions (see ssh-pool.h).
 *
 * A connection's life: RESOLVING (a child process; numeric hosts skip it) → CONNECTING (non-blocking
 * connect(), each address in turn) → HANDSHAKE → host key check against known_hosts (a local
 * file read) → AUTH_LIST (the server's accepted methods) → AUTH_KEY → LEASED ⇄ IDLE → freed.
 * One sd-event I/O source per connection watches the socket for whatever libssh2 blocked on; it
 * drives the set-up here, the user's handler while leased, and the liveness check while idle. */

#include <sys/stat.h>
#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "connector/ssh/ssh-pool.h"
#include "connector/ssh/ssh-setup.h"
#include "shared/log.h"


typedef enum ConnState {
        CONN_RESOLVING,
        CONN_CONNECTING,
        CONN_HANDSHAKE,
        CONN_AUTH_LIST,
        CONN_AUTH_KEY,
        CONN_LEASED,
        CONN_IDLE,
} ConnState;

typedef struct PoolTarget PoolTarget;

struct SshConn {
        PoolTarget *pt;
        sd_event *event;
        ConnState state;
        int fd;
        LIBSSH2_SESSION *session;
        sd_event_source *io;
        SshAcquire *acq;                  /* the request this connection is being set up for */
        SshResolve *resolve;              /* the name being resolved */
        struct sockaddr_storage addrs[SSH_ADDRS_MAX];
        socklen_t addr_lens[SSH_ADDRS_MAX];
        unsigned n_addrs, addr_i;
        char *connect_error;              /* the last address's failure, for the message */
        int connect_errno;
        sd_event_source *start;           /* begins the set-up from the loop */
        char *key_data;                   /* secret: only during AUTH_KEY, wiped */
        size_t key_len;
        char *key_name;                   /* the key file, for messages (a path or a cred name) */
        char *methods;                    /* the server's accepted auth methods */
        bool reused;
        struct stat known_hosts_st;       /* the known_hosts file the host key was checked against */
        bool known_hosts_st_valid;
        ssh_conn_io_t cb;
        void *userdata;
        sd_event_source *idle_timer, *keepalive_timer;
        SshConn *idle_next;
        char peer[300];                   /* "host:port" */
        SshProgress progress;
};

struct SshAcquire {
        PoolTarget *pt;
        sd_event *event;
        bool fresh;
        ssh_acquire_done_t done;
        void *userdata;
        SshConn *conn;                    /* connecting for us, or handed over (deliver pending) */
        sd_event_source *defer;           /* delivers conn or error */
        sd_event_source *timer;           /* the connect timeout */
        int error;
        char *message;
        SshAcquire *wait_next;
        bool waiting;
        SshProgress progress;             /* copied from the connection when it is done or fails */
};

struct PoolTarget {
        char *key;
        SshEndpoint ep;
        unsigned n_conns;                 /* connecting, leased and idle */
        SshConn *idle;
        SshAcquire *wait_head, *wait_tail;
        PoolTarget *next;
        bool detached;                    /* ssh_connect_unpooled(): not in the pool, one request */
        bool has_request;                 /* detached: its request is not freed yet */
};

static PoolTarget *pool_targets = NULL;
static bool pool_libssh2_ready = false;
static usec_t pool_idle_usec = SSH_POOL_IDLE_USEC;

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

static void pool_serve(PoolTarget *pt);
static void detached_maybe_free(PoolTarget *pt);
static int conn_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);
static int conn_on_start(sd_event_source *s, void *userdata);

/* ---- connections ---- */

static void conn_wipe_key(SshConn *c) {
        if (c->key_data) {
                explicit_bzero(c->key_data, c->key_len);
                c->key_data = mfree(c->key_data);
        }
        c->key_len = 0;
}

static void conn_close_socket(SshConn *c) {
        c->io = sd_event_source_disable_unref(c->io);
        if (c->fd >= 0) {
                (void) close(c->fd);
                c->fd = -1;
        }
}

/* Frees the connection. graceful: say goodbye first (best effort: one non-blocking try). The
 * socket is shut down before libssh2_session_free(), so nothing in it can wait for the peer. */
static void conn_free(SshConn *c, bool graceful) {
        if (!c)
                return;
        if (c->session) {
                if (graceful)
                        (void) libssh2_session_disconnect(c->session, c->pt && c->pt->detached ?
                                                          "runbookd: check done" : "runbookd: idle connection closed");
                if (c->fd >= 0)
                        (void) shutdown(c->fd, SHUT_RDWR);
                (void) libssh2_session_free(c->session);
        }
        conn_close_socket(c);
        c->start = sd_event_source_disable_unref(c->start);
        c->resolve = ssh_resolve_free(c->resolve);
        c->idle_timer = sd_event_source_disable_unref(c->idle_timer);
        c->keepalive_timer = sd_event_source_disable_unref(c->keepalive_timer);
        conn_wipe_key(c);
        free(c->key_name);
        free(c->methods);
        free(c->connect_error);
        if (c->pt) {
                assert(c->pt->n_conns > 0);
                c->pt->n_conns--;
        }
        sd_event_unref(c->event);
        free(c);
}

static void idle_unlink(SshConn *c) {
        for (SshConn **p = &c->pt->idle; *p; p = &(*p)->idle_next)
                if (*p == c) {
                        *p = c->idle_next;
                        break;
                }
        c->idle_next = NULL;
        c->idle_timer = sd_event_source_disable_unref(c->idle_timer);
        c->keepalive_timer = sd_event_source_disable_unref(c->keepalive_timer);
}

static void conn_drop_idle(SshConn *c, bool graceful) {
        PoolTarget *pt = c->pt;

        idle_unlink(c);
        conn_free(c, graceful);
        pool_serve(pt);
}

LIBSSH2_SESSION *ssh_conn_session(SshConn *c) {
        return c->session;
}

bool ssh_conn_reused(SshConn *c) {
        return c->reused;
}

const char *ssh_conn_peer(SshConn *c) {
        return c->peer;
}

void ssh_conn_set_handler(SshConn *c, ssh_conn_io_t cb, void *userdata) {
        c->cb = cb;
        c->userdata = userdata;
}

const char *ssh_conn_last_error(SshConn *c) {
        return ssh_session_error(c->session);
}

static int conn_watch(SshConn *c, uint32_t events) {
        int r;

        if (c->io) {
                r = sd_event_source_set_io_events(c->io, events);
                if (r < 0)
                        return r;
                return sd_event_source_set_enabled(c->io, SD_EVENT_ON);
        }
        r = sd_event_add_io(c->event, &c->io, c->fd, events, conn_on_io, c);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(c->io, "ssh-conn");
        return 0;
}

int ssh_conn_update_events(SshConn *c) {
        int dir = c->session ? libssh2_session_block_directions(c->session) : 0;
        uint32_t ev = 0;

        if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
                ev |= EPOLLIN;
        if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
                ev |= EPOLLOUT;
        return conn_watch(c, ev ?: EPOLLIN);
}

/* A connection is dead when its peer has closed it (EOF) or the socket reports an error. Data
 * waiting (a server's keepalive, say) is left for libssh2 to read when the connection is used. */
static bool conn_alive(SshConn *c) {
        char b;
        ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

        if (n > 0)
                return true;
        return n < 0 && (errno == EAGAIN || errno == EINTR);
}

/* ---- requests ---- */

static int acquire_on_defer(sd_event_source *s, void *userdata);

/* Completes the request now (from the event loop): the last thing done with 'a'. */
static void acquire_complete(SshAcquire *a, SshConn *c, int error, const char *message) {
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
static void conn_fail(SshConn *c, int error, const char *fmt, ...) {
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

static void conn_ready(SshConn *c) {
        SshAcquire *a = c->acq;

        conn_wipe_key(c);
        log_debug("ssh %s: authenticated as '%s'.", c->peer, c->pt->ep.user);
        c->progress.stage = SSH_STAGE_READY;
        a->progress = c->progress;
        acquire_complete(a, c, 0, NULL);
}

/* ---- set-up: connect ---- */

static void conn_connect_next(SshConn *c);

static void conn_connect_failed(SshConn *c, int e) {
        char a[INET6_ADDRSTRLEN] = "?";
        const struct sockaddr *sa = (const struct sockaddr *) &c->addrs[c->addr_i];
        const char *what = e == ECONNREFUSED ? "connection refused" :
                           e == EHOSTUNREACH || e == ENETUNREACH ? "host unreachable" :
                           e == ETIMEDOUT ? "connection timed out" : NULL;

        if (sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *) sa)->sin_addr, a, sizeof a);
        else
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) sa)->sin6_addr, a, sizeof a);
        free(c->connect_error);
        if (asprintf(&c->connect_error, "%s%s (address %s)", what ?: "connect failed: ", what ? "" : strerror(e),
                     a) < 0)
                c->connect_error = NULL;
        c->connect_errno = e;
        conn_close_socket(c);
        c->addr_i++;
        conn_connect_next(c);
}

static void conn_connect_next(SshConn *c) {
        int r;

        c->progress.stage = SSH_STAGE_CONNECT;
        for (; c->addr_i < c->n_addrs; c->addr_i++) {
                const struct sockaddr *sa = (const struct sockaddr *) &c->addrs[c->addr_i];

                c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
                if (c->fd < 0)
                        return conn_fail(c, -errno, "cannot connect to %s: socket: %m", c->peer);
                /* SSH is request and answer in small packets: without this, each exchange waits for
                 * a delayed ACK (40 ms) (OpenSSH sets it too) */
                if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &(int) { 1 }, sizeof(int)) < 0)
                        log_debug_errno(errno, "ssh %s: cannot set TCP_NODELAY, going on: %m", c->peer);
                c->state = CONN_CONNECTING;
                if (connect(c->fd, sa, c->addr_lens[c->addr_i]) < 0 && errno != EINPROGRESS)
                        return conn_connect_failed(c, errno);
                r = conn_watch(c, EPOLLOUT);
                if (r < 0)
                        return conn_fail(c, r, "cannot connect to %s: %s", c->peer, strerror(-r));
                return;
        }
        conn_fail(c, c->connect_errno > 0 ? -c->connect_errno : -EADDRNOTAVAIL, "cannot connect to %s: %s",
                  c->peer, c->connect_error ?: "no address to connect to");
}

static void on_resolved(int error, const char *message, const SshAddrs *addrs, void *userdata) {
        SshConn *c = userdata;

        c->resolve = ssh_resolve_free(c->resolve);
        if (error < 0)
                return conn_fail(c, error, "%s", strna(message));
        c->progress.n_addrs = addrs->n;
        for (unsigned i = 0; i < addrs->n; i++) {
                c->addrs[c->n_addrs] = addrs->addrs[i];
                c->addr_lens[c->n_addrs++] = addrs->lens[i];
        }
        conn_connect_next(c);
}

/* Numeric addresses are parsed here; names are resolved off the loop (ssh_resolve()). */
static int conn_resolve(SshConn *c) {
        const SshEndpoint *ep = &c->pt->ep;
        struct sockaddr_in *in = (struct sockaddr_in *) &c->addrs[0];
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &c->addrs[0];

        if (inet_pton(AF_INET, ep->host, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                in->sin_port = htons(ep->port);
                c->addr_lens[0] = sizeof *in;
                c->n_addrs = c->progress.n_addrs = 1;
                c->progress.numeric = true;
                conn_connect_next(c);
                return 0;
        }
        if (inet_pton(AF_INET6, ep->host, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons(ep->port);
                c->addr_lens[0] = sizeof *in6;
                c->n_addrs = c->progress.n_addrs = 1;
                c->progress.numeric = true;
                conn_connect_next(c);
                return 0;
        }

        c->state = CONN_RESOLVING;
        return ssh_resolve(c->event, ep->host, ep->port, c->peer, on_resolved, c, &c->resolve);
}

/* ---- set-up: host key ---- */

/* ---- set-up: authentication ---- */

static void conn_auth_failed(SshConn *c, int rc) {
        const char *id = c->pt->ep.identity;

        if (rc == LIBSSH2_ERROR_FILE)
                return conn_fail(c, -ENOKEY, "cannot use key file '%s' (identity '%s'): %s (keys with a "
                                 "passphrase are not supported)", strna(c->key_name), id, ssh_conn_last_error(c));
        if (ssh_key_is_rsa(c->key_data))
                return conn_fail(c, -EACCES, "authentication refused for user '%s' at %s with key file '%s': "
                                 "the key is RSA, and libssh2 %s signs with RSA-SHA1 (ssh-rsa) only, which the "
                                 "server refuses (OpenSSH >= 8.8 does by default); use an ed25519 or ECDSA key "
                                 "(server accepts: %s)", c->pt->ep.user, c->peer, strna(c->key_name),
                                 LIBSSH2_VERSION, strna(c->methods));
        conn_fail(c, -EACCES, "authentication refused for user '%s' at %s with key file '%s': %s (server "
                  "accepts: %s)", c->pt->ep.user, c->peer, strna(c->key_name), ssh_conn_last_error(c),
                  strna(c->methods));
}

/* Runs the set-up as far as it gets without waiting. */
static void conn_advance(SshConn *c) {
        const SshEndpoint *ep = &c->pt->ep;
        _cleanup_free_ char *msg = NULL;
        int rc, r;

        for (;;)
                switch (c->state) {
                case CONN_HANDSHAKE:
                        rc = libssh2_session_handshake(c->session, c->fd);
                        if (rc == LIBSSH2_ERROR_EAGAIN)
                                goto wait;
                        if (rc < 0)
                                return conn_fail(c, -EPROTO, "SSH handshake with %s failed: %s%s", c->peer,
                                                 ssh_conn_last_error(c),
                                                 rc == LIBSSH2_ERROR_KEX_FAILURE || rc == LIBSSH2_ERROR_METHOD_NOT_SUPPORTED
                                                 ? " (the server offers no key exchange, cipher or MAC in common with "
                                                   "runbookd's current ones: curve25519/ECDH/DH group 14-18 with SHA-2, "
                                                   "AES-CTR, HMAC-SHA2)" : "");
                        c->progress.stage = SSH_STAGE_HOST_KEY;
                        c->known_hosts_st_valid = ep->known_hosts && stat(ep->known_hosts, &c->known_hosts_st) >= 0;
                        r = ssh_check_hostkey(c->session, ep->host, ep->port, ep->known_hosts, c->peer, &msg);
                        if (r < 0)
                                return conn_fail(c, r, "%s", strna(msg));
                        ssh_hostkey_describe(c->session, c->progress.host_key, sizeof c->progress.host_key);
                        c->progress.stage = SSH_STAGE_AUTHENTICATE;
                        log_debug("ssh %s: host key matches '%s'.", c->peer, ep->known_hosts);
                        c->state = CONN_AUTH_LIST;
                        break;

                case CONN_AUTH_LIST: {
                        const char *m = libssh2_userauth_list(c->session, ep->user, (unsigned) strlen(ep->user));
                        if (!m) {
                                if (libssh2_userauth_authenticated(c->session))
                                        return conn_ready(c);   /* "none" was accepted */
                                if (libssh2_session_last_errno(c->session) == LIBSSH2_ERROR_EAGAIN)
                                        goto wait;
                                return conn_fail(c, -EPROTO, "cannot list the authentication methods of %s: %s",
                                                 c->peer, ssh_conn_last_error(c));
                        }
                        free(c->methods);
                        c->methods = strdup(m);
                        if (!c->pt->ep.identity)
                                return conn_fail(c, -EACCES, "authentication refused for user '%s' at %s: the "
                                                 "target has no identity (key file) configured (server accepts: %s)",
                                                 ep->user, c->peer, m);
                        if (!strstr(m, "publickey"))
                                return conn_fail(c, -EACCES, "authentication refused for user '%s' at %s: the "
                                                 "server does not accept public keys (server accepts: %s)",
                                                 ep->user, c->peer, m);
                        free(c->key_name);
                        c->key_name = NULL;
                        r = ssh_read_identity(ep->identity, &c->key_data, &c->key_len, &c->key_name, &msg);
                        if (r < 0)
                                return conn_fail(c, r, "%s", msg ?: strerror(-r));
                        c->state = CONN_AUTH_KEY;
                        break;
                }

                case CONN_AUTH_KEY:
                        rc = libssh2_userauth_publickey_frommemory(c->session, ep->user, strlen(ep->user),
                                                                   NULL, 0, c->key_data, c->key_len, NULL);
                        if (rc == LIBSSH2_ERROR_EAGAIN)
                                goto wait;
                        if (rc < 0)
                                return conn_auth_failed(c, rc);
                        return conn_ready(c);

                default:
                        assert(false);
                        return;
                }
wait:
        r = ssh_conn_update_events(c);
        if (r < 0)
                conn_fail(c, r, "cannot watch the connection to %s: %s", c->peer, strerror(-r));
}

static void conn_connected(SshConn *c) {
        const struct sockaddr *sa = (const struct sockaddr *) &c->addrs[c->addr_i];
        char a[INET6_ADDRSTRLEN] = "?";
        int r;

        if (sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *) sa)->sin_addr, a, sizeof a);
        else
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) sa)->sin6_addr, a, sizeof a);
        snprintf(c->progress.address, sizeof c->progress.address, "%s", a);

        c->session = libssh2_session_init_ex(NULL, NULL, NULL, c);
        if (!c->session)
                return conn_fail(c, -ENOMEM, "cannot create an SSH session for %s", c->peer);
        libssh2_session_set_blocking(c->session, 0);
        libssh2_keepalive_config(c->session, 0, SSH_POOL_KEEPALIVE_SEC);
        r = ssh_prefer_known_hostkeys(c->session, c->pt->ep.host, c->pt->ep.port, c->pt->ep.known_hosts);
        if (r < 0)
                log_debug_errno(r, "ssh %s: cannot steer the host key algorithms, using libssh2's order: %m", c->peer);
        r = ssh_restrict_algorithms(c->session);
        if (r < 0)
                return conn_fail(c, r, "cannot restrict the SSH algorithms offered to %s to current ones", c->peer);
        c->state = CONN_HANDSHAKE;
        r = conn_watch(c, EPOLLIN | EPOLLOUT);
        if (r < 0)
                return conn_fail(c, r, "cannot watch the connection to %s: %s", c->peer, strerror(-r));
        conn_advance(c);
}

static int conn_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        SshConn *c = userdata;
        int e = 0;
        socklen_t l = sizeof e;

        switch (c->state) {
        case CONN_CONNECTING:
                if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0)
                        e = errno;
                if (e == EINPROGRESS)
                        return 0;
                if (e != 0)
                        conn_connect_failed(c, e);
                else
                        conn_connected(c);
                return 0;
        case CONN_HANDSHAKE:
        case CONN_AUTH_LIST:
        case CONN_AUTH_KEY:
                conn_advance(c);
                return 0;
        case CONN_LEASED:
                if (c->cb)
                        c->cb(c, c->userdata);
                return 0;
        case CONN_IDLE:
                if (!conn_alive(c)) {
                        log_debug("ssh %s: idle connection closed by the peer, dropping it.", c->peer);
                        conn_drop_idle(c, false);
                } else
                        /* data for libssh2 to read when the connection is used next */
                        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
                return 0;
        default:
                return 0;
        }
}

/* The set-up starts from the loop, so that no failure is reported from within ssh_pool_acquire(). */
static int conn_on_start(sd_event_source *s, void *userdata) {
        SshConn *c = userdata;
        int r;

        c->start = sd_event_source_disable_unref(c->start);
        r = conn_resolve(c);
        if (r < 0)
                conn_fail(c, r, "cannot connect to %s: %s", c->peer, strerror(-r));
        return 0;
}

/* ---- idle connections ---- */

static int on_idle_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        SshConn *c = userdata;

        log_debug("ssh %s: closing idle connection.", c->peer);
        conn_drop_idle(c, true);
        return 0;
}

static int on_keepalive(sd_event_source *s, uint64_t usec, void *userdata) {
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

        if (!reusable || !pt || pt->detached || !conn_alive(c) ||
            sd_event_add_time_relative(c->event, &c->idle_timer, CLOCK_MONOTONIC, pool_idle_usec, USEC_PER_SEC,
                                       on_idle_timeout, c) < 0 ||
            sd_event_add_time_relative(c->event, &c->keepalive_timer, CLOCK_MONOTONIC,
                                       SSH_POOL_KEEPALIVE_SEC * USEC_PER_SEC, USEC_PER_SEC, on_keepalive, c) < 0 ||
            conn_watch(c, EPOLLIN) < 0 ||
            sd_event_source_set_enabled(c->io, SD_EVENT_ON) < 0) {
                c->idle_timer = sd_event_source_disable_unref(c->idle_timer);
                c->keepalive_timer = sd_event_source_disable_unref(c->keepalive_timer);
                log_debug("ssh %s: closing connection%s.", c->peer, reusable ? " (not reusable)" : "");
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
        pt->idle = c;
        log_debug("ssh %s: connection back in the pool.", c->peer);
        pool_serve(pt);
}

/* ---- the pool ---- */

/* A detached target goes with the last of its request and its connection. */
static void detached_maybe_free(PoolTarget *pt) {
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
static void pool_serve(PoolTarget *pt) {
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
        a = calloc(1, sizeof *a);
        if (!pt || !a || ssh_endpoint_copy(ep, &pt->ep) < 0) {
                free(pt);
                free(a);
                return -ENOMEM;
        }
        pt->detached = pt->has_request = true;
        a->pt = pt;
        a->event = sd_event_ref(event);
        a->fresh = true;
        a->done = done;
        a->userdata = userdata;
        a->waiting = true;
        pt->wait_head = pt->wait_tail = a;
        pool_serve(pt);
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

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        a->pt = pt;
        a->event = sd_event_ref(event);
        a->fresh = fresh;
        a->done = done;
        a->userdata = userdata;

        /* Idle connections whose peer has gone are dropped here, before anyone uses them. */
        for (SshConn *c = pt->idle, *next; c; c = next) {
                next = c->idle_next;
                if (!conn_alive(c)) {
                        log_debug("ssh %s: idle connection is dead, dropping it.", c->peer);
                        idle_unlink(c);
                        conn_free(c, false);
                }
        }

        a->waiting = true;
        if (pt->wait_tail)
                pt->wait_tail->wait_next = a;
        else
                pt->wait_head = a;
        pt->wait_tail = a;
        pool_serve(pt);

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
