/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* known-hosts.h: OpenSSH known_hosts matching (sshd(8), SSH_KNOWN_HOSTS FILE FORMAT): host
 * patterns with * and ? wildcards and !negation, hashed |1|salt|hash names, "[host]:port" for
 * ports other than 22 (a plain "host" entry is for port 22 only), @revoked keys (refused for the
 * hosts their line names, even if listed plainly too). @cert-authority lines are skipped:
 * runbookd's libssh2 does not use host certificates. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef enum KnownHostsResult {
        KNOWN_HOSTS_MATCH,        /* a line for this host holds this key */
        KNOWN_HOSTS_MISMATCH,     /* lines for this host hold other keys of the key's type */
        KNOWN_HOSTS_NOT_FOUND,    /* no line for this host holds a key of that type */
        KNOWN_HOSTS_REVOKED,      /* the key is marked @revoked for this host */
} KnownHostsResult;

/* Checks the server key 'blob' (the SSH wire encoding, as libssh2_session_hostkey() returns it)
 * of type 'key_type' ("ssh-ed25519", "ecdsa-sha2-nistp256", …) offered by host:port against the
 * file's text. *ret_expected_b64 (may be NULL) is set, for a mismatch, to the base64 key the
 * file expects (free()). Returns 0, or -ENOMEM. */
int known_hosts_check(const char *text, const char *host, uint16_t port, const char *key_type, const uint8_t *blob,
                      size_t blob_len, KnownHostsResult *ret, char **ret_expected_b64);
