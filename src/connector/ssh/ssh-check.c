/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ssh-check.c: Target.Check() for the ssh connector (see ssh-check.h and "Checks" in connector.h).
 *
 * The set-up is the pool's own (ssh_connect_unpooled(): the same resolve, connect, handshake,
 * host key and authentication code as a step's connection), on a connection that is never handed
 * out before nor kept after; the pool reports how far it got (SshProgress), which settles the
 * first four stages. The last, "run", execs 'true' on a session channel, reads to EOF and takes
 * the exit status; then the connection is closed. */

#include <stdio.h>

#include "connector/ssh/ssh-check.h"
#include "connector/ssh/ssh-setup.h"
#include "shared/log.h"

#define STDERR_KEEP 200

typedef enum RunPhase {
        RUN_OPEN,
        RUN_EXEC,
        RUN_READ,
        RUN_CLOSE,
        RUN_WAIT_CLOSED,
} RunPhase;

typedef struct SshCheck {
        ConnectorCheck *check;
        SshEndpoint ep;
        char peer[300];
        SshAcquire *acq;
        SshConn *conn;
        LIBSSH2_CHANNEL *ch;              /* freed with the connection's session */
        RunPhase phase;
        char err[STDERR_KEEP + 1];        /* the start of what 'true' wrote to stderr (a login shell's complaint) */
        size_t err_len;
        usec_t run_started;
} SshCheck;

/* The check's stages: the set-up's, then running 'true' once it is done. */
static const char *const stage_names[] = {
        [SSH_STAGE_RESOLVE] = "resolve",
        [SSH_STAGE_CONNECT] = "connect",
        [SSH_STAGE_HOST_KEY] = "host-key",
        [SSH_STAGE_AUTHENTICATE] = "authenticate",
        [SSH_STAGE_READY] = "run",
};

/* The stages the set-up got through are ok. */
static void report_setup(SshCheck *k, const SshProgress *p) {
        ConnectorCheck *c = k->check;
        const SshEndpoint *ep = &k->ep;

        if (p->stage > SSH_STAGE_RESOLVE) {
                if (p->numeric)
                        connector_check_stage(c, "resolve", CHECK_OK, "'%s' is an address: nothing to resolve",
                                              ep->host);
                else
                        connector_check_stage(c, "resolve", CHECK_OK, "'%s' resolved to %u address%s", ep->host,
                                              p->n_addrs, p->n_addrs == 1 ? "" : "es");
        }
        if (p->stage > SSH_STAGE_CONNECT)
                connector_check_stage(c, "connect", CHECK_OK, "connected to %s (address %s), SSH handshake done; "
                                      "the server is '%s'", k->peer, p->address, p->server_id);
        if (p->stage > SSH_STAGE_HOST_KEY)
                connector_check_stage(c, "host-key", CHECK_OK, "%s offered %s, as known_hosts file '%s' pins it",
                                      k->peer, p->host_key, ep->known_hosts);
        if (p->stage > SSH_STAGE_AUTHENTICATE) {
                if (ep->identity)
                        connector_check_stage(c, "authenticate", CHECK_OK, "authenticated as '%s' with identity '%s'",
                                              ep->user, ep->identity);
                else
                        connector_check_stage(c, "authenticate", CHECK_OK, "authenticated as '%s'", ep->user);
        }
}

static void run_ended(SshCheck *k) {
        LIBSSH2_SESSION *s = ssh_conn_session(k->conn);
        char *sig = NULL;
        int status = libssh2_channel_get_exit_status(k->ch);
        usec_t took = now_usec(CLOCK_MONOTONIC) - k->run_started;

        (void) libssh2_channel_get_exit_signal(k->ch, &sig, NULL, NULL, NULL, NULL, NULL);
        if (sig) {
                _cleanup_free_ char *name = strdup(sig);
                libssh2_free(s, sig);
                return connector_check_fail(k->check, "run", "'true' was killed by signal %s on %s", strna(name),
                                            k->peer);
        }
        while (k->err_len > 0 && strchr("\r\n ", k->err[k->err_len - 1]))
                k->err[--k->err_len] = 0;
        if (status != 0)
                return connector_check_fail(k->check, "run", "'true' exited with status %d on %s as '%s'%s%s", status,
                                            k->peer, k->ep.user, k->err_len > 0 ? ": " : "", k->err);
        connector_check_stage(k->check, "run", CHECK_OK, "'true' exited with status 0 on %s as '%s' (%llu ms)",
                              k->peer, k->ep.user, (unsigned long long) (took / USEC_PER_MSEC));
        connector_check_finish(k->check);   /* last: it may free k */
}

/* Runs 'true' as far as it gets without waiting. */
static void run_pump(SshCheck *k) {
        LIBSSH2_SESSION *s = ssh_conn_session(k->conn);
        char buf[4096];
        ssize_t n;
        int rc, r;

        for (;;)
                switch (k->phase) {
                case RUN_OPEN:
                        k->ch = libssh2_channel_open_session(s);
                        if (!k->ch) {
                                if (libssh2_session_last_errno(s) == LIBSSH2_ERROR_EAGAIN)
                                        goto wait;
                                return connector_check_fail(k->check, "run", "cannot open a session channel on %s: %s",
                                                            k->peer, ssh_conn_last_error(k->conn));
                        }
                        k->phase = RUN_EXEC;
                        break;
                case RUN_EXEC:
                        rc = libssh2_channel_exec(k->ch, "true");
                        if (rc == LIBSSH2_ERROR_EAGAIN)
                                goto wait;
                        if (rc < 0)
                                return connector_check_fail(k->check, "run", "cannot run 'true' on %s: %s", k->peer,
                                                            ssh_conn_last_error(k->conn));
                        k->phase = RUN_READ;
                        break;
                case RUN_READ:
                        do
                                n = libssh2_channel_read(k->ch, buf, sizeof buf);
                        while (n > 0);
                        if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
                                return connector_check_fail(k->check, "run",
                                                            "connection lost while 'true' ran on %s: %s", k->peer,
                                                            ssh_conn_last_error(k->conn));
                        do {
                                n = libssh2_channel_read_stderr(k->ch, buf, sizeof buf);
                                if (n > 0 && k->err_len < STDERR_KEEP) {
                                        size_t m = MIN((size_t) n, STDERR_KEEP - k->err_len);
                                        memcpy(k->err + k->err_len, buf, m);
                                        k->err_len += m;
                                        k->err[k->err_len] = 0;
                                }
                        } while (n > 0);
                        if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
                                return connector_check_fail(k->check, "run",
                                                            "connection lost while 'true' ran on %s: %s", k->peer,
                                                            ssh_conn_last_error(k->conn));
                        if (!libssh2_channel_eof(k->ch))
                                goto wait;
                        k->phase = RUN_CLOSE;
                        break;
                case RUN_CLOSE:
                        rc = libssh2_channel_close(k->ch);
                        if (rc == LIBSSH2_ERROR_EAGAIN)
                                goto wait;
                        if (rc < 0)
                                return connector_check_fail(k->check, "run", "cannot close the channel on %s: %s",
                                                            k->peer, ssh_conn_last_error(k->conn));
                        k->phase = RUN_WAIT_CLOSED;
                        break;
                case RUN_WAIT_CLOSED:
                        rc = libssh2_channel_wait_closed(k->ch);
                        if (rc == LIBSSH2_ERROR_EAGAIN)
                                goto wait;
                        if (rc < 0)
                                return connector_check_fail(k->check, "run", "cannot close the channel on %s: %s",
                                                            k->peer, ssh_conn_last_error(k->conn));
                        return run_ended(k);
                }
wait:
        r = ssh_conn_update_events(k->conn);
        if (r < 0)
                connector_check_fail(k->check, "run", "cannot watch the connection to %s: %s", k->peer, strerror(-r));
}

static void on_conn_io(SshConn *conn, void *userdata) {
        run_pump(userdata);
}

static void on_connected(SshConn *conn, int error, const char *message, void *userdata) {
        SshCheck *k = userdata;
        const SshProgress *p = ssh_acquire_progress(k->acq);

        report_setup(k, p);
        if (!conn) {
                const char *stage = p->stage < SSH_STAGE_READY ? stage_names[p->stage] : "authenticate";
                connector_check_fail(k->check, stage, "%s", message ?: strerror(-error));   /* last: it may free k */
                return;
        }
        k->conn = conn;
        k->run_started = now_usec(CLOCK_MONOTONIC);
        ssh_conn_set_handler(conn, on_conn_io, k);
        run_pump(k);
}

int ssh_check(ConnectorCheck *c, const Target *t) {
        SshCheck *k;
        int r;

        r = connector_check_begin(c, stage_names, ELEMENTSOF(stage_names), sizeof(SshCheck));
        if (r < 0)
                return r;
        k = c->data;   /* from here on, check_destroy() frees it */
        k->check = c;
        r = ssh_endpoint_from_target(t, &k->ep);
        if (r < 0)
                return r;
        snprintf(k->peer, sizeof k->peer, strchr(k->ep.host, ':') ? "[%s]:%u" : "%s:%u", k->ep.host, k->ep.port);
        r = ssh_connect_unpooled(c->event, &k->ep, on_connected, k, &k->acq);
        if (r < 0)
                return r;
        log_debug("ssh %s: checking target '%s' as '%s'.", k->peer, t->name, k->ep.user);
        return 0;
}

void ssh_check_destroy(ConnectorCheck *c) {
        SshCheck *k = c->data;

        if (!k)
                return;
        if (!c->finished && k->acq && !k->conn)
                /* stopped while setting up (the timeout): what got through is ok */
                report_setup(k, ssh_acquire_progress(k->acq));
        c->data = NULL;
        if (k->conn)
                ssh_pool_release(TAKE_PTR(k->conn), false);   /* closed, with its channel */
        k->acq = ssh_acquire_free(k->acq);
        ssh_endpoint_done(&k->ep);
        free(k);
}
