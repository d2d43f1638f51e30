/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ssh-pool.h: authenticated libssh2 sessions for the ssh connector, on the daemon's sd-event loop.
 *
 * A connection is set up asynchronously (resolve in a child process unless the host is numeric,
 * non-blocking connect, handshake, host key pinned by a known_hosts file, public key auth) and
 * handed to its user ("leased"); afterwards it goes back to the pool ("idle") for the next step on
 * the same endpoint, or is dropped. Idle connections are kept alive with keepalives, closed after
 * an idle timeout, and dropped as soon as the peer closes them; a connection is checked for life
 * again right before it is handed out. At most SSH_POOL_PER_TARGET_MAX connections exist per
 * endpoint; further requests wait in order. At most ssh_pool_set_idle_max() connections are
 * idle over all endpoints (each holds a descriptor, ~60 KiB of libssh2's buffers, and a session on
 * its host): a connection given back while the pool is full is closed, unless a request for its
 * endpoint waits for it. So a step over a fleet keeps the first hosts it finished warm, and
 * runbookd's descriptors stay within its concurrency plus that bound whatever the fleet's size.
 * No secret is kept: the key is read for each authentication and wiped right after. */
#pragma once

#include <libssh2.h>
#include <systemd/sd-event.h>

#include "shared/util.h"

#define SSH_POOL_PER_TARGET_MAX 4
#define SSH_POOL_IDLE_USEC (120 * USEC_PER_SEC)
#define SSH_POOL_KEEPALIVE_SEC 30
#define SSH_CONNECT_TIMEOUT_USEC (30 * USEC_PER_SEC)

typedef struct SshEndpoint {
        char *host;
        uint16_t port;
        char *user;
        char *identity;           /* key file path, or "cred:NAME"; NULL: none configured */
        char *known_hosts;
} SshEndpoint;

void ssh_endpoint_done(SshEndpoint *ep);
int ssh_endpoint_copy(const SshEndpoint *from, SshEndpoint *to);

typedef struct SshConn SshConn;
typedef struct SshAcquire SshAcquire;

/* Called once from the event loop: conn != NULL (error == 0) is a leased, authenticated
 * connection; else error is a negative errno and message says why. The callee may free the
 * SshAcquire from within the callback (and must free it at some point). */
typedef void (*ssh_acquire_done_t)(SshConn *conn, int error, const char *message, void *userdata);
/* Called when the leased connection's socket is ready for what libssh2 waits for. */
typedef void (*ssh_conn_io_t)(SshConn *conn, void *userdata);

/* Asks for a connection to 'ep' (copied). fresh: never hand out an idle one (the caller just saw
 * a reused one fail). 'done' is never called from within this function. */
int ssh_pool_acquire(sd_event *event, const SshEndpoint *ep, bool fresh, ssh_acquire_done_t done,
                     void *userdata, SshAcquire **ret);
/* Like ssh_pool_acquire(fresh), for a connection of its own that the pool neither hands out
 * before nor keeps after (Target.Check()): ssh_pool_release() closes it. It has no connect
 * timeout of its own: the caller's (the check's) applies. */
int ssh_connect_unpooled(sd_event *event, const SshEndpoint *ep, ssh_acquire_done_t done, void *userdata,
                         SshAcquire **ret);

/* How far a connection's set-up got, for reports stage by stage. */
typedef enum SshStage {
        SSH_STAGE_RESOLVE,        /* the host's name */
        SSH_STAGE_CONNECT,        /* TCP connect and the SSH handshake */
        SSH_STAGE_HOST_KEY,       /* known_hosts */
        SSH_STAGE_AUTHENTICATE,
        SSH_STAGE_READY,
} SshStage;

typedef struct SshProgress {
        SshStage stage;           /* the stage reached: where it failed, or SSH_STAGE_READY */
        bool numeric;             /* the host is an address: nothing to resolve */
        unsigned n_addrs;         /* addresses resolved */
        char address[64];         /* the address connected to, "" if none */
        char host_key[160];       /* "ssh-ed25519 SHA256:…" once checked */
        char server_id[256];      /* "SSH-2.0-…" once received (ssh_server_id()), "" before */
} SshProgress;

/* While the set-up runs: how far it got so far; during and after 'done': how far it got. */
const SshProgress *ssh_acquire_progress(SshAcquire *a);

/* Frees the request; if it was still pending, 'done' will not be called. */
SshAcquire *ssh_acquire_free(SshAcquire *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(SshAcquire *, ssh_acquire_free);

LIBSSH2_SESSION *ssh_conn_session(SshConn *c);
bool ssh_conn_reused(SshConn *c);
/* While leased: who gets the socket's events. */
void ssh_conn_set_handler(SshConn *c, ssh_conn_io_t cb, void *userdata);
/* Waits for what libssh2 last blocked on (libssh2_session_block_directions). */
int ssh_conn_update_events(SshConn *c);
/* libssh2's text for the last error of the connection's session ("" if none). */
const char *ssh_conn_last_error(SshConn *c);
const char *ssh_conn_peer(SshConn *c);  /* "host:port" for messages */
/* Gives a leased connection back: reusable (no channel left open, session in a clean state) or
 * not (it is closed). */
void ssh_pool_release(SshConn *c, bool reusable);

/* Closes every idle connection, frees the pool and calls libssh2_exit(). At daemon exit, after
 * every job is freed. The pool can be used again afterwards. */
void ssh_pool_shutdown(void);
/* For tests: the idle timeout (0: default). */
void ssh_pool_set_idle_timeout(usec_t usec);
/* How many connections may be idle at once over all endpoints (0: none is kept; at most
 * SSH_MAX_IDLE_CONNECTIONS_MAX). Idle ones beyond a lowered bound are closed now, the longest idle
 * first. */
void ssh_pool_set_idle_max(unsigned n);
/* Connections idle in the pool now (for tests and the log). */
unsigned ssh_pool_idle_count(void);
