/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ssh-conn.c: one pooled connection's set-up, a state machine on its socket (see ssh-pool.c for
 * the states): resolve, connect to each address in turn, handshake, check the host key, list the
 * server's methods, authenticate; and the connection's accessors. */

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/epoll.h>

#include "connector/ssh/ssh-pool-internal.h"
#include "shared/log.h"

/* ---- connections ---- */

void conn_wipe_key(SshConn *c) {
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
void conn_free(SshConn *c, bool graceful) {
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

void idle_unlink(SshConn *c) {
        for (SshConn **p = &c->pt->idle; *p; p = &(*p)->idle_next)
                if (*p == c) {
                        *p = c->idle_next;
                        assert(pool_idle_n > 0);
                        pool_idle_n--;
                        break;
                }
        c->idle_next = NULL;
        c->idle_timer = sd_event_source_disable_unref(c->idle_timer);
        c->keepalive_timer = sd_event_source_disable_unref(c->keepalive_timer);
}

void conn_drop_idle(SshConn *c, bool graceful) {
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

int conn_watch(SshConn *c, uint32_t events) {
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
bool conn_alive(SshConn *c) {
        char b;
        ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

        if (n > 0)
                return true;
        return n < 0 && (errno == EAGAIN || errno == EINTR);
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

/* The host is an address (in c->addrs[0], 'len' bytes): nothing to resolve, connect to it. */
static int conn_connect_numeric(SshConn *c, socklen_t len) {
        c->addr_lens[0] = len;
        c->n_addrs = c->progress.n_addrs = 1;
        c->progress.numeric = true;
        conn_connect_next(c);
        return 0;
}

/* Numeric addresses are parsed here; names are resolved off the loop (ssh_resolve()). */
static int conn_resolve(SshConn *c) {
        const SshEndpoint *ep = &c->pt->ep;
        struct sockaddr_in *in = (struct sockaddr_in *) &c->addrs[0];
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &c->addrs[0];

        if (inet_pton(AF_INET, ep->host, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                in->sin_port = htons(ep->port);
                return conn_connect_numeric(c, sizeof *in);
        }
        if (inet_pton(AF_INET6, ep->host, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons(ep->port);
                return conn_connect_numeric(c, sizeof *in6);
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

/* What this libssh2 lacks that current servers may insist on (tinysshd: chacha20-poly1305 only). */
#if LIBSSH2_VERSION_NUM < 0x010b00
#define SSH_LIBSSH2_LACKS "; libssh2 " LIBSSH2_VERSION " has no chacha20-poly1305, AES-GCM or ETM MACs"
#elif LIBSSH2_VERSION_NUM < 0x010b01
#define SSH_LIBSSH2_LACKS "; libssh2 " LIBSSH2_VERSION " has no chacha20-poly1305"
#else
#define SSH_LIBSSH2_LACKS ""
#endif

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
                        ssh_server_id(c->session, c->progress.server_id, sizeof c->progress.server_id);
                        if (rc < 0)
                                return conn_fail(c, -EPROTO, "SSH handshake with %s%s%s%s failed: %s%s", c->peer,
                                                 c->progress.server_id[0] ? " (" : "", c->progress.server_id,
                                                 c->progress.server_id[0] ? ")" : "", ssh_conn_last_error(c),
                                                 rc == LIBSSH2_ERROR_KEX_FAILURE || rc == LIBSSH2_ERROR_METHOD_NOT_SUPPORTED
                                                 ? " (the server offers no key exchange, cipher or MAC in common with "
                                                   "runbookd's current ones: curve25519/ECDH/DH group 14-18 with SHA-2, "
                                                   "AES-CTR, HMAC-SHA2" SSH_LIBSSH2_LACKS ")" : "");
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

int conn_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
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
int conn_on_start(sd_event_source *s, void *userdata) {
        SshConn *c = userdata;
        int r;

        c->start = sd_event_source_disable_unref(c->start);
        r = conn_resolve(c);
        if (r < 0)
                conn_fail(c, r, "cannot connect to %s: %s", c->peer, strerror(-r));
        return 0;
}

