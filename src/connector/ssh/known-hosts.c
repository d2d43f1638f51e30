/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connector/ssh/known-hosts.h"
#include "shared/util.h"

static char ascii_tolower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

/* base64 → bytes; -1 if it is not base64. */
static int b64_decode(const char *s, size_t n, uint8_t *out, size_t outsz) {
        int len;

        if (n == 0 || n % 4 != 0 || (n / 4) * 3 > outsz)
                return -1;
        len = EVP_DecodeBlock(out, (const unsigned char *) s, (int) n);
        if (len < 0)
                return -1;
        for (size_t i = n; i > 0 && s[i - 1] == '='; i--)
                len--;       /* EVP_DecodeBlock counts padding as zero bytes */
        return len;
}

/* "|1|base64(salt)|base64(HMAC-SHA1(salt, name))" */
static bool hashed_matches(const char *pattern, size_t n, const char *name) {
        uint8_t salt[64], want[64], got[EVP_MAX_MD_SIZE];
        const char *sep;
        unsigned got_len = 0;
        int salt_len, want_len;

        if (n < 3 || strncmp(pattern, "|1|", 3) != 0)
                return false;
        sep = memchr(pattern + 3, '|', n - 3);
        if (!sep)
                return false;
        salt_len = b64_decode(pattern + 3, (size_t) (sep - pattern - 3), salt, sizeof salt);
        want_len = b64_decode(sep + 1, (size_t) (pattern + n - sep - 1), want, sizeof want);
        if (salt_len <= 0 || want_len != 20)
                return false;
        if (!HMAC(EVP_sha1(), salt, salt_len, (const unsigned char *) name, strlen(name), got, &got_len))
                return false;
        return got_len == 20 && memcmp(got, want, 20) == 0;
}

/* OpenSSH's match_pattern(): '*' and '?' are the only wildcards ('[' is a plain character, as
 * in "[host]:port"), letters compare case-insensitively. */
static bool wildcard_match(const char *pat, size_t n, const char *s) {
        const char *star = NULL, *resume = NULL;
        size_t i = 0;

        while (*s) {
                if (i < n && (pat[i] == '?' || ascii_tolower(pat[i]) == ascii_tolower(*s))) {
                        i++;
                        s++;
                } else if (i < n && pat[i] == '*') {
                        star = pat + i++;
                        resume = s;
                } else if (star) {
                        i = (size_t) (star - pat) + 1;
                        s = ++resume;
                } else
                        return false;
        }
        while (i < n && pat[i] == '*')
                i++;
        return i == n;
}

/* As OpenSSH's match_hostname(): 1 if a pattern of the list matches, -1 if a negated one does
 * (which decides), 0 if none. Names compare case-insensitively. */
static int patterns_match(const char *list, size_t n, const char *name) {
        int result = 0;

        for (const char *p = list, *end = list + n; p < end;) {
                const char *comma = memchr(p, ',', (size_t) (end - p));
                size_t len = (size_t) ((comma ?: end) - p);
                bool negate = len > 0 && p[0] == '!';
                bool m;

                if (negate) {
                        p++;
                        len--;
                }
                if (len > 0) {
                        if (p[0] == '|')
                                m = !negate && hashed_matches(p, len, name);  /* hashed entries are not negated */
                        else
                                m = wildcard_match(p, len, name);
                        if (m && negate)
                                return -1;
                        if (m)
                                result = 1;
                }
                p = comma ? comma + 1 : end;
        }
        return result;
}

int known_hosts_check(const char *text, const char *host, uint16_t port, const char *key_type, const uint8_t *blob,
                      size_t blob_len, KnownHostsResult *ret, char **ret_expected_b64) {
        char name[300];
        bool matched = false, revoked = false, other = false;
        char *expected = NULL;

        if (port == 22)
                snprintf(name, sizeof name, "%s", host);
        else
                snprintf(name, sizeof name, "[%s]:%u", host, port);

        for (const char *line = text; line && *line;) {
                const char *eol = strchrnul(line, '\n'), *f[4];
                size_t fl[4], nf = 0;
                bool is_revoked = false;

                /* split into whitespace-separated fields (the comment is the rest) */
                for (const char *p = line; p < eol && nf < 4;) {
                        while (p < eol && (*p == ' ' || *p == '\t' || *p == '\r'))
                                p++;
                        if (p >= eol)
                                break;
                        f[nf] = p;
                        while (p < eol && *p != ' ' && *p != '\t' && *p != '\r')
                                p++;
                        fl[nf] = (size_t) (p - f[nf]);
                        nf++;
                }
                line = *eol ? eol + 1 : NULL;
                if (nf == 0 || f[0][0] == '#')
                        continue;
                if (f[0][0] == '@') {
                        if (fl[0] == 8 && strncmp(f[0], "@revoked", 8) == 0)
                                is_revoked = true;
                        else
                                continue;       /* @cert-authority, or a marker we do not know */
                        /* the marker's fields shift by one */
                        for (size_t i = 0; i + 1 < nf; i++) {
                                f[i] = f[i + 1];
                                fl[i] = fl[i + 1];
                        }
                        nf--;
                }
                if (nf < 3)
                        continue;
                if (patterns_match(f[0], fl[0], name) <= 0)
                        continue;

                uint8_t *key = malloc(fl[2]);
                if (!key) {
                        free(expected);
                        return -ENOMEM;
                }
                int klen = b64_decode(f[2], fl[2], key, fl[2]);
                bool same_type = strlen(key_type) == fl[1] && strncmp(f[1], key_type, fl[1]) == 0;
                bool same_key = klen >= 0 && (size_t) klen == blob_len && memcmp(key, blob, blob_len) == 0;
                free(key);
                if (klen < 0)
                        continue;       /* a line OpenSSH could not read either */

                if (is_revoked) {
                        revoked = revoked || same_key;
                        continue;
                }
                if (!same_type)
                        continue;
                if (same_key)
                        matched = true;
                else {
                        other = true;
                        if (!expected) {
                                expected = strndup(f[2], fl[2]);
                                if (!expected)
                                        return -ENOMEM;
                        }
                }
        }

        *ret = revoked ? KNOWN_HOSTS_REVOKED : matched ? KNOWN_HOSTS_MATCH : other ? KNOWN_HOSTS_MISMATCH
                                                                                  : KNOWN_HOSTS_NOT_FOUND;
        if (ret_expected_b64 && *ret == KNOWN_HOSTS_MISMATCH)
                *ret_expected_b64 = expected;
        else
                free(expected);
        return 0;
}
