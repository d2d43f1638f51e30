/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-known-hosts: a known_hosts file's text against a fixed host, port and ed25519 key, for
 * port 22 and another port; the verdict is one of the four, and an expected key is only given
 * for a mismatch. */
#include <stdlib.h>

#include "connector/ssh/known-hosts.h"
#include "fuzz.h"
#include "shared/tests.h"

static const uint8_t KEY[] = "\0\0\0\x0b" "ssh-ed25519\0\0\0\x20" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_string(data, size);
        static const uint16_t ports[] = { 22, 2222 };

        if (!text)
                return 0;
        for (size_t i = 0; i < 2; i++) {
                KnownHostsResult r = KNOWN_HOSTS_NOT_FOUND;
                char *expected = NULL;
                check(known_hosts_check(text, "web.example", ports[i], "ssh-ed25519", KEY, sizeof KEY - 1, &r,
                                        &expected) >= 0);
                check(r == KNOWN_HOSTS_MATCH || r == KNOWN_HOSTS_MISMATCH || r == KNOWN_HOSTS_NOT_FOUND ||
                      r == KNOWN_HOSTS_REVOKED);
                check(!expected || r == KNOWN_HOSTS_MISMATCH);
                free(expected);
        }
        free(text);
        return 0;
}
