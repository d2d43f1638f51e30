/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* known_hosts matching as OpenSSH does it: ports, negation, wildcards, hashed names, @revoked. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector/ssh/known-hosts.h"
#include "shared/tests.h"
#include "shared/util.h"

/* Two fake ed25519 key blobs (the matcher compares bytes; it does not parse keys). */
static const uint8_t KEY_A[] = "\0\0\0\x0b" "ssh-ed25519\0\0\0\x20" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
static const uint8_t KEY_B[] = "\0\0\0\x0b" "ssh-ed25519\0\0\0\x20" "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
static char b64_a[128], b64_b[128];

static KnownHostsResult check_text(const char *fmt_text, const char *host, uint16_t port, const uint8_t *key) {
        _cleanup_free_ char *text = NULL, *want = NULL;
        KnownHostsResult r;
        /* "A" and "B" in the text stand for the two keys' base64 */
        size_t n = 0;
        text = malloc(4096);
        check(text);
        for (const char *p = fmt_text; *p; p++) {
                const char *rep = *p == '%' && p[1] == 'A' ? b64_a : *p == '%' && p[1] == 'B' ? b64_b : NULL;
                if (rep) {
                        n += (size_t) snprintf(text + n, 4096 - n, "%s", rep);
                        p++;
                } else
                        text[n++] = *p;
        }
        text[n] = 0;
        check(known_hosts_check(text, host, port, "ssh-ed25519", key, sizeof KEY_A - 1, &r, &want) == 0);
        return r;
}

static void hashed_name(const char *name, char *out, size_t size) {
        uint8_t salt[20], md[20];
        unsigned len = 0;
        char s64[64], h64[64];

        for (unsigned i = 0; i < sizeof salt; i++)
                salt[i] = (uint8_t) (i * 7 + 3);
        check(HMAC(EVP_sha1(), salt, sizeof salt, (const unsigned char *) name, strlen(name), md, &len));
        EVP_EncodeBlock((unsigned char *) s64, salt, sizeof salt);
        EVP_EncodeBlock((unsigned char *) h64, md, 20);
        snprintf(out, size, "|1|%s|%s", s64, h64);
}

int main(void) {
        char line[512], h[200];

        EVP_EncodeBlock((unsigned char *) b64_a, KEY_A, sizeof KEY_A - 1);
        EVP_EncodeBlock((unsigned char *) b64_b, KEY_B, sizeof KEY_B - 1);

        /* ports: a plain entry is for port 22 only */
        check_int(check_text("web ssh-ed25519 %A\n", "web", 22, KEY_A), KNOWN_HOSTS_MATCH);
        check_int(check_text("web ssh-ed25519 %A\n", "web", 2222, KEY_A), KNOWN_HOSTS_NOT_FOUND);
        check_int(check_text("[web]:2222 ssh-ed25519 %A\n", "web", 2222, KEY_A), KNOWN_HOSTS_MATCH);
        check_int(check_text("[web]:2222 ssh-ed25519 %A\n", "web", 22, KEY_A), KNOWN_HOSTS_NOT_FOUND);
        /* mismatch, other key types, comments, case */
        check_int(check_text("web ssh-ed25519 %B\n", "web", 22, KEY_A), KNOWN_HOSTS_MISMATCH);
        check_int(check_text("web ecdsa-sha2-nistp256 %B\n", "web", 22, KEY_A), KNOWN_HOSTS_NOT_FOUND);
        check_int(check_text("# web ssh-ed25519 %A\n\nWEB ssh-ed25519 %A a comment\n", "web", 22, KEY_A), KNOWN_HOSTS_MATCH);
        /* lists, wildcards, negation (a negated match decides) */
        check_int(check_text("db,web ssh-ed25519 %A\n", "web", 22, KEY_A), KNOWN_HOSTS_MATCH);
        check_int(check_text("*.example.com ssh-ed25519 %A\n", "web.example.com", 22, KEY_A), KNOWN_HOSTS_MATCH);
        check_int(check_text("*.example.com,!web.example.com ssh-ed25519 %A\n", "web.example.com", 22, KEY_A),
                  KNOWN_HOSTS_NOT_FOUND);
        check_int(check_text("!web,* ssh-ed25519 %A\n", "web", 22, KEY_A), KNOWN_HOSTS_NOT_FOUND);
        check_int(check_text("[*]:2222 ssh-ed25519 %A\n", "web", 2222, KEY_A), KNOWN_HOSTS_MATCH);
        /* @revoked wins over a plain listing; @cert-authority lines are skipped */
        check_int(check_text("web ssh-ed25519 %A\n@revoked * ssh-ed25519 %A\n", "web", 22, KEY_A), KNOWN_HOSTS_REVOKED);
        check_int(check_text("@revoked * ssh-ed25519 %B\nweb ssh-ed25519 %A\n", "web", 22, KEY_A), KNOWN_HOSTS_MATCH);
        check_int(check_text("@cert-authority * ssh-ed25519 %A\n", "web", 22, KEY_A), KNOWN_HOSTS_NOT_FOUND);
        /* hashed names, for the name OpenSSH hashes ("[host]:port" off port 22) */
        hashed_name("web", h, sizeof h);
        snprintf(line, sizeof line, "%s ssh-ed25519 %%A\n", h);
        check_int(check_text(line, "web", 22, KEY_A), KNOWN_HOSTS_MATCH);
        check_int(check_text(line, "db", 22, KEY_A), KNOWN_HOSTS_NOT_FOUND);
        check_int(check_text(line, "web", 2222, KEY_A), KNOWN_HOSTS_NOT_FOUND);
        hashed_name("[web]:2222", h, sizeof h);
        snprintf(line, sizeof line, "%s ssh-ed25519 %%A\n", h);
        check_int(check_text(line, "web", 2222, KEY_A), KNOWN_HOSTS_MATCH);
        /* garbage does not match */
        check_int(check_text("web ssh-ed25519 not-base64!\nweb\n@revoked\n", "web", 22, KEY_A), KNOWN_HOSTS_NOT_FOUND);
        fprintf(stderr, "known_hosts: all cases as OpenSSH decides them\n");
        return 0;
}
