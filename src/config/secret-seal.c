/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* secret-seal.c: sealing literal secret values (see secret-seal.h). */
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config/secret-seal.h"
#include "shared/util.h"

#define KEY_SIZE 32
#define NONCE_SIZE 12
#define TAG_SIZE 16
#define SEALED_MAX (64 * 1024)

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_CIPHER_CTX *, EVP_CIPHER_CTX_free);

const char *secret_seal_dir(void) {
        static char dir[PATH_MAX];
        const char *e = getenv("RUNTIME_DIRECTORY");

        if (e && *e) {
                /* systemd passes a colon-separated list: ours is the first */
                snprintf(dir, sizeof dir, "%.*s", (int) strcspn(e, ":"), e);
                return dir;
        }
        return RUNBOOKD_RUNTIME_DIR;
}

static int key_read(int fd, uint8_t key[KEY_SIZE]) {
        struct stat st;
        size_t n = 0;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size != KEY_SIZE || (st.st_mode & 077) != 0 || st.st_uid != geteuid())
                return -EPERM;
        while (n < KEY_SIZE) {
                ssize_t k = read(fd, key + n, KEY_SIZE - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? -errno : -EIO;
                n += (size_t) k;
        }
        return 0;
}

/* The key; made when 'create' and there is none. */
static int key_get(bool create, uint8_t key[KEY_SIZE]) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        const char *dir = secret_seal_dir();
        _cleanup_close_ int fd = -1;
        int r;

        if (asprintf_safe(&path, "%s/" SECRET_SEAL_KEY_FILE, dir) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd >= 0)
                return key_read(fd, key);
        if (errno != ENOENT)
                return -errno;
        if (!create)
                return -ENOKEY;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (getrandom(key, KEY_SIZE, 0) != KEY_SIZE)
                return errno > 0 ? -errno : -EIO;
        /* written whole under another name, then linked: no reader ever sees half a key */
        if (asprintf_safe(&tmp, "%s/." SECRET_SEAL_KEY_FILE ".%" PRIu64, dir, (uint64_t) getpid()) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0)
                return -errno;
        r = write(fd, key, KEY_SIZE) == KEY_SIZE ? 0 : -EIO;
        if (r >= 0 && link(tmp, path) < 0)
                r = -errno;
        if (unlink(tmp) < 0 && r >= 0 && errno != ENOENT)
                r = -errno;
        if (r == -EEXIST)
                return key_get(false, key);   /* made by someone else meanwhile */
        return r;
}

/* "runbookd secret\0<session id>\0<param>" */
static int aad_make(uint32_t session_id, const char *param, char **ret, int *ret_len) {
        static const char prefix[] = "runbookd secret";
        char id[16];
        size_t n, k = 0;
        char *a;

        snprintf(id, sizeof id, "%" PRIu32, session_id);
        n = sizeof prefix + strlen(id) + 1 + strlen(param);
        a = malloc(n);
        if (!a)
                return -ENOMEM;
        memcpy(a, prefix, sizeof prefix);            /* with its NUL */
        k += sizeof prefix;
        memcpy(a + k, id, strlen(id) + 1);
        k += strlen(id) + 1;
        memcpy(a + k, param, strlen(param));
        *ret = a;
        *ret_len = (int) n;
        return 0;
}

int secret_seal(uint32_t session_id, const char *param, const char *value, size_t len, char **ret) {
        _cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *ctx = NULL;
        _cleanup_free_ char *aad = NULL, *out = NULL;
        _cleanup_free_ uint8_t *raw = NULL;
        uint8_t key[KEY_SIZE];
        int aad_len, n, f, r;

        if (len > SEALED_MAX)
                return -E2BIG;
        r = key_get(true, key);
        if (r < 0)
                goto finish;
        r = aad_make(session_id, param, &aad, &aad_len);
        if (r < 0)
                goto finish;
        raw = malloc(NONCE_SIZE + len + TAG_SIZE);
        out = malloc(strlen(SECRET_SEAL_PREFIX) + 4 * ((NONCE_SIZE + len + TAG_SIZE + 2) / 3) + 1);
        ctx = EVP_CIPHER_CTX_new();
        if (!raw || !out || !ctx) {
                r = -ENOMEM;
                goto finish;
        }
        if (getrandom(raw, NONCE_SIZE, 0) != NONCE_SIZE) {
                r = -EIO;
                goto finish;
        }
        r = -EIO;
        if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_SIZE, NULL) != 1 ||
            EVP_EncryptInit_ex(ctx, NULL, NULL, key, raw) != 1 ||
            EVP_EncryptUpdate(ctx, NULL, &n, (const uint8_t *) aad, aad_len) != 1 ||
            EVP_EncryptUpdate(ctx, raw + NONCE_SIZE, &n, (const uint8_t *) value, (int) len) != 1 ||
            EVP_EncryptFinal_ex(ctx, raw + NONCE_SIZE + n, &f) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_SIZE, raw + NONCE_SIZE + len) != 1)
                goto finish;
        strcpy(out, SECRET_SEAL_PREFIX);
        EVP_EncodeBlock((unsigned char *) out + strlen(SECRET_SEAL_PREFIX), raw, (int) (NONCE_SIZE + len + TAG_SIZE));
        *ret = TAKE_PTR(out);
        r = 0;
finish:
        explicit_bzero(key, sizeof key);
        return r;
}

int secret_unseal(uint32_t session_id, const char *param, const char *sealed, char **ret, size_t *ret_len) {
        _cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *ctx = NULL;
        _cleanup_free_ char *aad = NULL;
        _cleanup_free_ uint8_t *raw = NULL;
        char *value = NULL;
        uint8_t key[KEY_SIZE];
        const char *b64;
        size_t b64_len, raw_len, len;
        int aad_len, n, f, r;

        if (strncmp(sealed, SECRET_SEAL_PREFIX, strlen(SECRET_SEAL_PREFIX)) != 0)
                return -EINVAL;
        b64 = sealed + strlen(SECRET_SEAL_PREFIX);
        b64_len = strlen(b64);
        if (b64_len % 4 != 0 || b64_len > 4 * (SEALED_MAX / 3 + 16) || b64_len < 4 * ((NONCE_SIZE + TAG_SIZE + 2) / 3))
                return -EINVAL;
        raw = malloc(b64_len / 4 * 3 + 1);
        if (!raw)
                return -ENOMEM;
        n = EVP_DecodeBlock(raw, (const unsigned char *) b64, (int) b64_len);
        if (n < 0)
                return -EINVAL;
        raw_len = (size_t) n - (b64[b64_len - 1] == '=') - (b64[b64_len - 2] == '=');
        if (raw_len < NONCE_SIZE + TAG_SIZE)
                return -EINVAL;
        len = raw_len - NONCE_SIZE - TAG_SIZE;

        r = key_get(false, key);
        if (r < 0)
                goto finish;
        r = aad_make(session_id, param, &aad, &aad_len);
        if (r < 0)
                goto finish;
        value = malloc(len + 1);
        ctx = EVP_CIPHER_CTX_new();
        if (!value || !ctx) {
                r = -ENOMEM;
                goto finish;
        }
        r = -EBADMSG;
        if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_SIZE, NULL) != 1 ||
            EVP_DecryptInit_ex(ctx, NULL, NULL, key, raw) != 1 ||
            EVP_DecryptUpdate(ctx, NULL, &n, (const uint8_t *) aad, aad_len) != 1 ||
            EVP_DecryptUpdate(ctx, (uint8_t *) value, &n, raw + NONCE_SIZE, (int) len) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_SIZE, raw + NONCE_SIZE + len) != 1 ||
            EVP_DecryptFinal_ex(ctx, (uint8_t *) value + n, &f) != 1)
                goto finish;
        value[len] = 0;
        *ret = TAKE_PTR(value);
        *ret_len = len;
        r = 0;
finish:
        explicit_bzero(key, sizeof key);
        if (value)
                wipe_free(value, len + 1);
        return r;
}
