/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ssh-setup.h: the parts of setting up an ssh connection that keep no connection state: name
 * resolution off the loop, the host key check against a known_hosts file, reading the identity
 * (a key file, or a credential), telling RSA keys apart. A failure returns a negative errno and a
 * message (malloc'ed) that names its cause. */
#pragma once

#include <libssh2.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "shared/util.h"

#define SSH_ADDRS_MAX 8

typedef struct SshAddrs {
        unsigned n;
        socklen_t lens[SSH_ADDRS_MAX];
        struct sockaddr_storage addrs[SSH_ADDRS_MAX];
} SshAddrs;

typedef struct SshResolve SshResolve;
/* Called once from the loop: error 0 and the addresses, or a negative errno and a message. The
 * callee may free the SshResolve from within (and must free it at some point). */
typedef void (*ssh_resolved_t)(int error, const char *message, const SshAddrs *addrs, void *userdata);

/* Resolves host:port (for a TCP connection) without blocking the loop; peer is "host:port" for
 * messages. Freeing the request before the callback cancels it. */
int ssh_resolve(sd_event *event, const char *host, uint16_t port, const char *peer, ssh_resolved_t cb,
                void *userdata, SshResolve **ret);
SshResolve *ssh_resolve_free(SshResolve *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(SshResolve *, ssh_resolve_free);

/* 0 if the session's host key is the one known_hosts pins for host:port (OpenSSH's "[host]:port"
 * entries for ports other than 22); else -EPERM ("unknown host key" with the fingerprint seen, or
 * "changed host key" with the fingerprints seen and expected: SHA256, base64, as OpenSSH prints
 * them) or another errno (the file is unreadable or malformed). Reads a local file. */
int ssh_check_hostkey(LIBSSH2_SESSION *session, const char *host, uint16_t port, const char *known_hosts,
                      const char *peer, char **ret_message);

/* Before the handshake: asks the server for a host key of a type known_hosts has for host:port
 * (as OpenSSH does), so that a server with several host keys presents one that can be checked;
 * without such an entry, ed25519 first. */
int ssh_prefer_known_hostkeys(LIBSSH2_SESSION *session, const char *host, uint16_t port, const char *known_hosts);

/* Offers only current key exchanges, ciphers and MACs (see ssh-setup.c), before the handshake. */
int ssh_restrict_algorithms(LIBSSH2_SESSION *session);

/* "<key type> SHA256:<base64>" of the session's host key, for messages. */
void ssh_hostkey_describe(LIBSSH2_SESSION *session, char *buf, size_t size);

/* The server's identification string ("SSH-2.0-OpenSSH_9.2p1 Debian-2"), once it was received,
 * with anything but printable ASCII as '?'; "" before. */
void ssh_server_id(LIBSSH2_SESSION *session, char *buf, size_t size);

/* Reads the identity: a key file path, or "cred:NAME" for $CREDENTIALS_DIRECTORY/NAME. *ret_data
 * (NUL-terminated, *ret_len bytes) is a secret: explicit_bzero() it before freeing it. *ret_path
 * is the file read, for messages. */
int ssh_read_identity(const char *identity, char **ret_data, size_t *ret_len, char **ret_path, char **ret_message);

/* Whether a private key (PEM "RSA PRIVATE KEY", or OpenSSH's format) is an RSA key. */
bool ssh_key_is_rsa(const char *data);

/* libssh2's text for the session's last error ("" if none). */
const char *ssh_session_error(LIBSSH2_SESSION *session);
