/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* secret-seal.h: a literal secret parameter's value, sealed for the store. AES-256-GCM with a
 * random nonce, authenticated with the session id and the parameter's name (a sealed value cannot
 * be moved to another session or parameter), under a key that exists only in runbookd's runtime
 * directory ($RUNTIME_DIRECTORY, else /run/runbookd: a tmpfs), 0600, made on first use. A restart
 * of runbookd keeps it (the unit says RuntimeDirectoryPreserve=yes); a reboot of the machine
 * loses it, and with it every literal value sealed before: those steps fail, saying so. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SECRET_SEAL_KEY_FILE "secret-seal.key"
#define SECRET_SEAL_PREFIX "v1:"

/* The runtime directory the key lives in. */
const char *secret_seal_dir(void);
/* Seals 'value' (of 'len' bytes) for parameter 'param' of session 'session_id': *ret is
 * "v1:" + base64(nonce | ciphertext | tag). Makes the key if there is none. */
int secret_seal(uint32_t session_id, const char *param, const char *value, size_t len, char **ret);
/* The reverse: *ret (NUL-terminated, to wipe_free(*ret, *ret_len + 1)). -ENOKEY: there is no key
 * (the machine restarted since); -EBADMSG: not sealed under this key for this session and
 * parameter (also after a reboot, once a new key was made); -EINVAL: malformed. */
int secret_unseal(uint32_t session_id, const char *param, const char *sealed, char **ret, size_t *ret_len);
