/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ssh-exec-baseline: the baseline of bench/ssh.sh (not installed): the cost of one bare libssh2
 * channel exec on a session that is already open and authenticated.
 *
 *   ssh-exec-baseline [--nagle] HOST PORT USER KEY KNOWN_HOSTS COUNT [COMMAND]
 *
 * Opens one session (TCP connect, handshake, host key checked against KNOWN_HOSTS, public key
 * authentication with KEY), then runs COMMAND (default "true", with little output) COUNT times
 * one after another, each as: open a session channel, exec, read stdout and stderr to EOF,
 * close, wait for the close, exit status, free. Blocking libssh2: this is a reference, not the
 * daemon. Every exec must exit 0, else it fails.
 *
 * The socket has TCP_NODELAY, as an SSH client's should: without it (--nagle, for comparison)
 * a channel open written right after the previous channel's close waits in the kernel for the
 * close's ACK, which the server delays (~40 ms on Linux), so each exec costs ~40 ms more.
 *
 * Prints "name value unit" lines: session_setup (connect to authenticated, ms), exec_mean,
 * exec_median, exec_p90, exec_min (ms per exec), exec_count. */
#include <arpa/inet.h>
#include <libssh2.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shared/util.h"

static int cmp_u64(const void *a, const void *b) {
        usec_t x = *(const usec_t *) a, y = *(const usec_t *) b;
        return x < y ? -1 : x > y;
}

static const char *session_error(LIBSSH2_SESSION *s) {
        char *msg = NULL;

        libssh2_session_last_error(s, &msg, NULL, 0);
        return msg ?: "unknown error";
}

static int check_hostkey(LIBSSH2_SESSION *s, const char *host, int port, const char *known_hosts) {
        struct libssh2_knownhost *known = NULL;
        LIBSSH2_KNOWNHOSTS *kh;
        const char *key;
        size_t len;
        int type, check;

        key = libssh2_session_hostkey(s, &len, &type);
        if (!key)
                return fprintf(stderr, "no host key: %s\n", session_error(s)), -1;
        kh = libssh2_knownhost_init(s);
        if (!kh)
                return -1;
        if (libssh2_knownhost_readfile(kh, known_hosts, LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
                libssh2_knownhost_free(kh);
                return fprintf(stderr, "cannot read known_hosts '%s': %s\n", known_hosts, session_error(s)), -1;
        }
        check = libssh2_knownhost_checkp(kh, host, port, key, len,
                                         LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
                                         ((type + 1) << LIBSSH2_KNOWNHOST_KEY_SHIFT),
                                         &known);
        libssh2_knownhost_free(kh);
        if (check != LIBSSH2_KNOWNHOST_CHECK_MATCH)
                return fprintf(stderr, "host key of %s:%d not matched in '%s' (check %d)\n", host, port, known_hosts,
                               check), -1;
        return 0;
}

/* One exec of 'command' on a new channel; returns its exit status, or -1. */
static int exec_once(LIBSSH2_SESSION *s, const char *command) {
        LIBSSH2_CHANNEL *ch;
        char buf[4096];
        int status;

        ch = libssh2_channel_open_session(s);
        if (!ch)
                return fprintf(stderr, "channel open: %s\n", session_error(s)), -1;
        if (libssh2_channel_exec(ch, command) < 0) {
                fprintf(stderr, "exec: %s\n", session_error(s));
                libssh2_channel_free(ch);
                return -1;
        }
        while (!libssh2_channel_eof(ch)) {
                ssize_t n = libssh2_channel_read(ch, buf, sizeof buf);
                ssize_t e = libssh2_channel_read_stderr(ch, buf, sizeof buf);
                if (n < 0 || e < 0) {
                        fprintf(stderr, "read: %s\n", session_error(s));
                        libssh2_channel_free(ch);
                        return -1;
                }
        }
        if (libssh2_channel_close(ch) < 0 || libssh2_channel_wait_closed(ch) < 0) {
                fprintf(stderr, "close: %s\n", session_error(s));
                libssh2_channel_free(ch);
                return -1;
        }
        status = libssh2_channel_get_exit_status(ch);
        libssh2_channel_free(ch);
        return status;
}

int main(int argc, char *argv[]) {
        struct sockaddr_in sa = { .sin_family = AF_INET };
        const char *host, *user, *key, *known_hosts, *command;
        LIBSSH2_SESSION *s;
        usec_t t0, t1, *lat, sum = 0;
        bool nagle = false;
        unsigned count;
        int port, fd, one = 1;

        if (argc > 1 && streq(argv[1], "--nagle")) {
                nagle = true;
                argv++;
                argc--;
        }
        if (argc < 7 || argc > 8) {
                fprintf(stderr, "usage: %s [--nagle] HOST PORT USER KEY KNOWN_HOSTS COUNT [COMMAND]\n", argv[0]);
                return 2;
        }
        host = argv[1];
        port = atoi(argv[2]);
        user = argv[3];
        key = argv[4];
        known_hosts = argv[5];
        count = (unsigned) atoi(argv[6]);
        command = argc > 7 ? argv[7] : "true";
        if (port <= 0 || port > 65535 || count == 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
                fprintf(stderr, "bad arguments: HOST must be an IPv4 address, PORT 1-65535, COUNT > 0\n");
                return 2;
        }
        sa.sin_port = htons((uint16_t) port);
        lat = calloc(count, sizeof(usec_t));
        if (!lat || libssh2_init(0) != 0)
                return 1;

        t0 = now_usec(CLOCK_MONOTONIC);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || (!nagle && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) ||
            connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return perror("connect"), 1;
        s = libssh2_session_init();
        if (!s)
                return 1;
        libssh2_session_set_blocking(s, 1);
        if (libssh2_session_handshake(s, fd) < 0)
                return fprintf(stderr, "handshake: %s\n", session_error(s)), 1;
        if (check_hostkey(s, host, port, known_hosts) < 0)
                return 1;
        if (libssh2_userauth_publickey_fromfile(s, user, NULL, key, NULL) < 0)
                return fprintf(stderr, "authentication as %s with %s: %s\n", user, key, session_error(s)), 1;
        t1 = now_usec(CLOCK_MONOTONIC);
        printf("session_setup %.3f ms\n", (t1 - t0) / 1000.0);

        for (unsigned i = 0; i < count; i++) {
                int status;

                t0 = now_usec(CLOCK_MONOTONIC);
                status = exec_once(s, command);
                lat[i] = now_usec(CLOCK_MONOTONIC) - t0;
                if (status != 0)
                        return fprintf(stderr, "exec %u of '%s' exited %d\n", i, command, status), 1;
                sum += lat[i];
        }
        qsort(lat, count, sizeof(usec_t), cmp_u64);
        printf("exec_mean %.3f ms\n", sum / 1000.0 / count);
        printf("exec_median %.3f ms\n", lat[count / 2] / 1000.0);
        printf("exec_p90 %.3f ms\n", lat[(count * 9) / 10] / 1000.0);
        printf("exec_min %.3f ms\n", lat[0] / 1000.0);
        printf("exec_count %u\n", count);

        libssh2_session_disconnect(s, "done");
        libssh2_session_free(s);
        close(fd);
        libssh2_exit();
        free(lat);
        return 0;
}
