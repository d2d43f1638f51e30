/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ssh-pool-internal.h: what ssh-conn.c (a connection's set-up state machine) and ssh-pool.c
 * (requests, idle connections, the pool) share. Private to src/connector/ssh/. */
#pragma once

#include <sys/socket.h>
#include <sys/stat.h>

#include "connector/ssh/ssh-pool.h"
#include "connector/ssh/ssh-setup.h"

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
        usec_t idle_since;                /* CLOCK_MONOTONIC, while idle */
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


/* ssh-conn.c */
void conn_wipe_key(SshConn *c);
void conn_free(SshConn *c, bool graceful);
void idle_unlink(SshConn *c);
void conn_drop_idle(SshConn *c, bool graceful);
int conn_watch(SshConn *c, uint32_t events);
bool conn_alive(SshConn *c);
int conn_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);
int conn_on_start(sd_event_source *s, void *userdata);

/* ssh-pool.c */
extern usec_t pool_idle_usec;
extern unsigned pool_idle_n;              /* idle connections over all endpoints */
void acquire_complete(SshAcquire *a, SshConn *c, int error, const char *message);
void conn_fail(SshConn *c, int error, const char *fmt, ...) _printf_(3, 4);
void conn_ready(SshConn *c);
void pool_serve(PoolTarget *pt);
void detached_maybe_free(PoolTarget *pt);
int on_idle_timeout(sd_event_source *s, uint64_t usec, void *userdata);
int on_keepalive(sd_event_source *s, uint64_t usec, void *userdata);
