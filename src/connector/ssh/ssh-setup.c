/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ssh-setup.c: the parts of setting up an ssh connection that keep no connection state (see
 * ssh-setup.h). */

#include <assert.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "connector/ssh/known-hosts.h"
#include "connector/ssh/ssh-setup.h"
#include "shared/log.h"

#define SSH_KEY_FILE_MAX (64 * 1024)

_printf_(3, 4)
static int fail(char **ret_message, int error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) vasprintf_safe(ret_message, fmt, ap);
        va_end(ap);
        return error;
}

const char *ssh_session_error(LIBSSH2_SESSION *session) {
        char *msg = NULL;

        if (!session)
                return "";
        (void) libssh2_session_last_error(session, &msg, NULL, 0);
        return msg ?: "";
}

/* ---- name resolution ---- */

/* What the child sends back: one write, smaller than PIPE_BUF. */
typedef struct ResolveReply {
        int gai_error;
        int sys_errno;
        SshAddrs addrs;
} ResolveReply;

struct SshResolve {
        sd_event_source *child;           /* owns the child until its exit is seen */
        int fd;
        char *host;
        char *peer;
        ssh_resolved_t cb;
        void *userdata;
};

SshResolve *ssh_resolve_free(SshResolve *r) {
        if (!r)
                return NULL;
        /* freeing the source before the child's exit was seen kills and reaps the child */
        sd_event_source_disable_unref(r->child);
        if (r->fd >= 0)
                (void) close(r->fd);
        free(r->host);
        free(r->peer);
        free(r);
        return NULL;
}

static int on_resolver_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        SshResolve *r = userdata;
        _cleanup_free_ char *msg = NULL;
        ResolveReply rep = {};
        ssize_t n;
        int e = 0;

        (void) sd_event_source_set_child_process_own(s, false);   /* sd-event reaps it */
        do
                n = read(r->fd, &rep, sizeof rep);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t) sizeof rep)
                e = fail(&msg, -EHOSTUNREACH, "DNS failure: cannot resolve '%s' (for %s): the resolver process "
                         "failed", r->host, r->peer);
        else if (rep.gai_error != 0)
                e = fail(&msg, -EHOSTUNREACH, "DNS failure: cannot resolve '%s' (for %s): %s", r->host, r->peer,
                         rep.gai_error == EAI_SYSTEM ? strerror(rep.sys_errno) : gai_strerror(rep.gai_error));
        else if (rep.addrs.n == 0)
                e = fail(&msg, -EHOSTUNREACH, "DNS failure: '%s' (for %s) has no address", r->host, r->peer);
        rep.addrs.n = MIN(rep.addrs.n, (unsigned) SSH_ADDRS_MAX);
        r->cb(e, msg, e < 0 ? NULL : &rep.addrs, r->userdata);   /* last: it may free r */
        return 0;
}

/* A short-lived child process does the lookup (getaddrinfo() blocks, and libsystemd does not
 * export sd-resolve on Debian 12: no header, no symbols); the loop watches it with a child source
 * and reads the answer from a pipe once it has exited. The daemon is single-threaded, so the child
 * may call getaddrinfo() after fork(); it touches nothing else and leaves with _exit(). */
int ssh_resolve(sd_event *event, const char *host, uint16_t port, const char *peer, ssh_resolved_t cb,
                void *userdata, SshResolve **ret) {
        _cleanup_(ssh_resolve_freep) SshResolve *r = NULL;
        int p[2], k;
        pid_t pid;

        r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        r->fd = -1;
        r->host = strdup(host);
        r->peer = strdup(peer);
        if (!r->host || !r->peer)
                return -ENOMEM;
        r->cb = cb;
        r->userdata = userdata;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                k = -errno;
                (void) close(p[0]);
                (void) close(p[1]);
                return k;
        }
        if (pid == 0) {
                struct addrinfo *ai = NULL;
                ResolveReply rep = {};
                char service[8];

                snprintf(service, sizeof service, "%u", port);
                rep.gai_error = getaddrinfo(host, service, &(struct addrinfo) {
                        .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG }, &ai);
                rep.sys_errno = errno;
                for (struct addrinfo *i = ai; i && rep.addrs.n < SSH_ADDRS_MAX; i = i->ai_next)
                        if (i->ai_addrlen <= sizeof(struct sockaddr_storage)) {
                                memcpy(&rep.addrs.addrs[rep.addrs.n], i->ai_addr, i->ai_addrlen);
                                rep.addrs.lens[rep.addrs.n++] = i->ai_addrlen;
                        }
                (void) !write(p[1], &rep, sizeof rep);
                _exit(0);
        }
        (void) close(p[1]);
        r->fd = p[0];
        k = sd_event_add_child(event, &r->child, pid, WEXITED, on_resolver_exit, r);
        if (k < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return k;
        }
        (void) sd_event_source_set_child_process_own(r->child, true);
        (void) sd_event_source_set_description(r->child, "ssh-resolver");
        *ret = TAKE_PTR(r);
        return 0;
}

/* ---- host key ---- */

static void base64_nopad(const uint8_t *p, size_t n, char *out, size_t outsz) {
        size_t l;

        assert(outsz >= 4 * ((n + 2) / 3) + 1);
        EVP_EncodeBlock((unsigned char *) out, p, (int) n);
        l = strlen(out);
        while (l > 0 && out[l - 1] == '=')
                out[--l] = 0;
}

/* "SHA256:<base64>" of a key blob given in base64 (as known_hosts stores it). */
static void fingerprint_of_b64(const char *b64, char *out, size_t outsz) {
        size_t n = strlen(b64);
        _cleanup_free_ uint8_t *blob = malloc(n);
        uint8_t md[32];
        char enc[64];
        int len;

        snprintf(out, outsz, "(unknown)");
        if (!blob)
                return;
        len = EVP_DecodeBlock(blob, (const unsigned char *) b64, (int) n);
        if (len < 0)
                return;
        while (n > 0 && b64[n - 1] == '=') {   /* EVP_DecodeBlock counts padding as zero bytes */
                n--;
                len--;
        }
        if (EVP_Digest(blob, (size_t) len, md, NULL, EVP_sha256(), NULL) != 1)
                return;
        base64_nopad(md, sizeof md, enc, sizeof enc);
        snprintf(out, outsz, "SHA256:%s", enc);
}

static const char *hostkey_type_name(int type) {
        switch (type) {
        case LIBSSH2_HOSTKEY_TYPE_RSA: return "ssh-rsa";
        case LIBSSH2_HOSTKEY_TYPE_DSS: return "ssh-dss";
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return "ecdsa-sha2-nistp256";
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return "ecdsa-sha2-nistp384";
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return "ecdsa-sha2-nistp521";
        case LIBSSH2_HOSTKEY_TYPE_ED25519: return "ssh-ed25519";
        default: return "unknown";
        }
}

void ssh_hostkey_describe(LIBSSH2_SESSION *session, char *buf, size_t size) {
        const char *hash = libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256);
        char enc[64] = "(unknown)";
        size_t len;
        int type = -1;

        if (!libssh2_session_hostkey(session, &len, &type))
                type = -1;
        if (hash)
                base64_nopad((const uint8_t *) hash, 32, enc, sizeof enc);
        snprintf(buf, size, "%s %s%s", hostkey_type_name(type), hash ? "SHA256:" : "", enc);
}

void ssh_server_id(LIBSSH2_SESSION *session, char *buf, size_t size) {
        const char *b = libssh2_session_banner_get(session);
        size_t n = 0;

        assert(size > 0);
        for (; b && *b && n + 1 < size; b++)
                buf[n++] = *b >= 0x20 && *b < 0x7f ? *b : '?';
        buf[n] = 0;
}

/* Host key algorithms in the order offered when known_hosts has no key of the host (OpenSSH's). */
static const struct {
        int type;                 /* LIBSSH2_KNOWNHOST_KEY_* */
        const char *method;
} hostkey_methods[] = {
        { LIBSSH2_KNOWNHOST_KEY_ED25519, "ssh-ed25519" },
        { LIBSSH2_KNOWNHOST_KEY_ECDSA_256, "ecdsa-sha2-nistp256" },
        { LIBSSH2_KNOWNHOST_KEY_ECDSA_384, "ecdsa-sha2-nistp384" },
        { LIBSSH2_KNOWNHOST_KEY_ECDSA_521, "ecdsa-sha2-nistp521" },
        { LIBSSH2_KNOWNHOST_KEY_SSHRSA, "rsa-sha2-512" },
        { LIBSSH2_KNOWNHOST_KEY_SSHRSA, "rsa-sha2-256" },
        { LIBSSH2_KNOWNHOST_KEY_SSHRSA, "ssh-rsa" },
};

/* What runbookd offers, strongest first; what this libssh2 lacks is left out (Debian's 1.10 has no
 * GCM, chacha20 or ETM MACs). No SHA-1 key exchange or MAC, no CBC, 3DES, arcfour or blowfish. */
static const struct {
        int method;
        const char *name;
        const char *const *allowed;
} algorithm_policy[] = {
        { LIBSSH2_METHOD_KEX, "key exchange", (const char *const[]) {
                "curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
                "ecdh-sha2-nistp521", "diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512",
                "diffie-hellman-group14-sha256", "diffie-hellman-group-exchange-sha256", NULL } },
        { LIBSSH2_METHOD_CRYPT_CS, "cipher", (const char *const[]) {
                "chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com",
                "aes256-ctr", "aes192-ctr", "aes128-ctr", NULL } },
        { LIBSSH2_METHOD_CRYPT_SC, "cipher", (const char *const[]) {
                "chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com",
                "aes256-ctr", "aes192-ctr", "aes128-ctr", NULL } },
        { LIBSSH2_METHOD_MAC_CS, "MAC", (const char *const[]) {
                "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256", "hmac-sha2-512",
                NULL } },
        { LIBSSH2_METHOD_MAC_SC, "MAC", (const char *const[]) {
                "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256", "hmac-sha2-512",
                NULL } },
};

int ssh_restrict_algorithms(LIBSSH2_SESSION *session) {
        for (size_t i = 0; i < ELEMENTSOF(algorithm_policy); i++) {
                const char **algs = NULL;
                char pref[512];
                size_t n = 0;
                int n_algs;

                /* only names this libssh2 implements: 1.10 mishandles a list with others */
                n_algs = libssh2_session_supported_algs(session, algorithm_policy[i].method, &algs);
                if (n_algs <= 0)
                        return -EOPNOTSUPP;
                for (const char *const *a = algorithm_policy[i].allowed; *a; a++)
                        for (int k = 0; k < n_algs; k++)
                                if (streq(algs[k], *a) && n + strlen(*a) + 2 < sizeof pref) {
                                        n += (size_t) snprintf(pref + n, sizeof pref - n, "%s%s", n > 0 ? "," : "", *a);
                                        break;
                                }
                libssh2_free(session, algs);
                if (n == 0) {
                        log_error("libssh2 implements no acceptable %s.", algorithm_policy[i].name);
                        return -EOPNOTSUPP;
                }
                if (libssh2_session_method_pref(session, algorithm_policy[i].method, pref) < 0)
                        return -EOPNOTSUPP;
        }
        return 0;
}

int ssh_prefer_known_hostkeys(LIBSSH2_SESSION *session, const char *host, uint16_t port, const char *known_hosts) {
        bool known[ELEMENTSOF(hostkey_methods)] = {};
        struct libssh2_knownhost *k = NULL;
        LIBSSH2_KNOWNHOSTS *kh;
        char name[300], pref[256] = "";
        const char **algs = NULL;
        size_t n = 0;
        int n_algs;

        if (port == 22)
                snprintf(name, sizeof name, "%s", host);
        else
                snprintf(name, sizeof name, "[%s]:%u", host, port);
        kh = libssh2_knownhost_init(session);
        if (!kh)
                return -ENOMEM;
        /* an unreadable file is reported by the check after the handshake, with its reason */
        if (libssh2_knownhost_readfile(kh, known_hosts, LIBSSH2_KNOWNHOST_FILE_OPENSSH) >= 0)
                while (libssh2_knownhost_get(kh, &k, k) == 0)
                        if (k->name && strcasecmp(k->name, name) == 0)
                                for (size_t i = 0; i < ELEMENTSOF(hostkey_methods); i++)
                                        if ((k->typemask & LIBSSH2_KNOWNHOST_KEY_MASK) == hostkey_methods[i].type)
                                                known[i] = true;
        libssh2_knownhost_free(kh);

        /* only what this libssh2 implements (Debian's 1.10: no rsa-sha2-* host keys): on a list with
         * others, libssh2 1.10 drops them with an overlapping memcpy() */
        n_algs = libssh2_session_supported_algs(session, LIBSSH2_METHOD_HOSTKEY, &algs);
        if (n_algs <= 0)
                return -EOPNOTSUPP;
        /* the algorithms of the keys known for this host first, as OpenSSH orders them */
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < ELEMENTSOF(hostkey_methods); i++) {
                        bool supported = false;
                        if (known[i] != (pass == 0))
                                continue;
                        for (int a = 0; a < n_algs && !supported; a++)
                                supported = streq(algs[a], hostkey_methods[i].method);
                        if (supported)
                                n += snprintf(pref + n, sizeof pref - n, "%s%s", n > 0 ? "," : "",
                                              hostkey_methods[i].method);
                }
        libssh2_free(session, algs);
        if (n == 0 || libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, pref) < 0)
                return -EOPNOTSUPP;
        return 0;
}

#define KNOWN_HOSTS_MAX (4 * 1024 * 1024)

/* The whole of a small file, NUL-terminated. -EFBIG past 'max'. */
static int read_small_file(const char *path, size_t max, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;
        FILE *f = fopen(path, "re");

        if (!f)
                return -errno;
        buf = malloc(max + 1);
        if (!buf) {
                fclose(f);
                return -ENOMEM;
        }
        n = fread(buf, 1, max + 1, f);
        if (ferror(f)) {
                fclose(f);
                return -EIO;
        }
        fclose(f);
        if (n > max)
                return -EFBIG;
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

int ssh_check_hostkey(LIBSSH2_SESSION *session, const char *host, uint16_t port, const char *known_hosts,
                      const char *peer, char **ret_message) {
        const char *key, *hash;
        char seen[80] = "(unknown)", expected[80];
        size_t len;
        int type, r;

        key = libssh2_session_hostkey(session, &len, &type);
        if (!key)
                return fail(ret_message, -EPROTO, "no host key from %s: %s", peer, ssh_session_error(session));
        hash = libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256);
        if (hash) {
                char enc[64];
                base64_nopad((const uint8_t *) hash, 32, enc, sizeof enc);
                snprintf(seen, sizeof seen, "SHA256:%s", enc);
        }

        /* matched here, as OpenSSH does: libssh2 1.10 ignores @revoked and !negations, and
         * takes a plain "host" entry for every port */
        _cleanup_free_ char *text = NULL, *want = NULL;
        KnownHostsResult check;
        r = read_small_file(known_hosts, KNOWN_HOSTS_MAX, &text);
        if (r < 0)
                return fail(ret_message, r, "cannot read known_hosts file '%s': %s; not connecting to %s",
                            known_hosts, r == -EFBIG ? "larger than 4 MiB" : strerror(-r), peer);
        r = known_hosts_check(text, host, port, hostkey_type_name(type), (const uint8_t *) key, len, &check, &want);
        if (r < 0)
                return r;
        if (want)
                fingerprint_of_b64(want, expected, sizeof expected);
        else
                snprintf(expected, sizeof expected, "(unknown)");

        switch (check) {
        case KNOWN_HOSTS_REVOKED:
                return fail(ret_message, -EPERM, "revoked host key for %s: the server offered %s %s, which known_hosts "
                            "file '%s' marks @revoked; not connecting", peer, hostkey_type_name(type), seen, known_hosts);
        case KNOWN_HOSTS_MATCH:
                log_debug("ssh %s: host key %s %s matches '%s'.", peer, hostkey_type_name(type), seen,
                          known_hosts);
                return 0;
        case KNOWN_HOSTS_MISMATCH:
                return fail(ret_message, -EPERM, "changed host key for %s: the server offered %s %s, but "
                            "known_hosts file '%s' expects %s; not connecting (the host was reinstalled, or "
                            "someone is intercepting the connection)", peer, hostkey_type_name(type), seen,
                            known_hosts, expected);
        case KNOWN_HOSTS_NOT_FOUND:
        default:
                return fail(ret_message, -EPERM, "unknown host key for %s: the server offered %s %s, which is "
                            "not in known_hosts file '%s' for %s (a plain host entry is for port 22 only; other "
                            "ports are written [host]:port); not connecting", peer, hostkey_type_name(type), seen,
                            known_hosts, peer);
        }
}

/* ---- identity ---- */

int ssh_read_identity(const char *id, char **ret_data, size_t *ret_len, char **ret_path, char **ret_message) {
        _cleanup_free_ char *path = NULL;
        char *data;
        size_t len = 0;
        _cleanup_close_ int fd = -1;
        struct stat st;
        ssize_t n;

        if (strncmp(id, "cred:", 5) == 0) {
                const char *dir = getenv("CREDENTIALS_DIRECTORY");
                if (isempty(dir)) {
                        return fail(ret_message, -ENOKEY, "key file unreadable: identity '%s' is a credential, "
                                    "but $CREDENTIALS_DIRECTORY is not set (LoadCredential= in the unit)", id);
                }
                if (asprintf(&path, "%s/%s", dir, id + 5) < 0)
                        return -ENOMEM;
        } else if (!(path = strdup(id)))
                return -ENOMEM;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > SSH_KEY_FILE_MAX) {
                int e = fd < 0 ? errno : !S_ISREG(st.st_mode) ? EISDIR : st.st_size > SSH_KEY_FILE_MAX ? EFBIG : errno;
                return fail(ret_message, -e, "key file '%s' (identity '%s') unreadable: %s", path, id, strerror(e));
        }
        data = malloc((size_t) st.st_size + 1);
        if (!data)
                return -ENOMEM;
        while (len < (size_t) st.st_size) {
                n = read(fd, data + len, (size_t) st.st_size - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        int e = n < 0 ? errno : EIO;
                        explicit_bzero(data, len);
                        free(data);
                        return fail(ret_message, -e, "key file '%s' unreadable: %s", path, strerror(e));
                }
                len += (size_t) n;
        }
        data[len] = 0;
        *ret_data = data;
        *ret_len = len;
        *ret_path = TAKE_PTR(path);
        return 0;
}

/* Whether the key in memory is an RSA key: PEM "RSA PRIVATE KEY", or OpenSSH's format whose
 * public key blob starts with the string "ssh-rsa". */
bool ssh_key_is_rsa(const char *data) {
        static const char begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
        _cleanup_free_ char *b64 = NULL;
        _cleanup_free_ uint8_t *bin = NULL;
        const char *p, *e;
        size_t n = 0;
        int len;

        if (strstr(data, "BEGIN RSA PRIVATE KEY"))
                return true;
        p = strstr(data, begin);
        if (!p)
                return false;
        p += sizeof begin - 1;
        e = strstr(p, "-----END");
        if (!e)
                return false;
        b64 = malloc((size_t) (e - p) + 1);
        bin = malloc((size_t) (e - p) + 1);
        if (!b64 || !bin)
                return false;
        for (; p < e; p++)
                if (!strchr(" \t\r\n", *p))
                        b64[n++] = *p;
        len = EVP_DecodeBlock(bin, (unsigned char *) b64, (int) n);
        return len > 0 && memmem(bin, (size_t) len, "\0\0\0\7ssh-rsa", 11);
}

