/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-secret.c: secret parameters' names and values, credentials, and sealing literal values. */

#undef NDEBUG
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/secret-seal.h"
#include "config/secret.h"
#include "shared/tests.h"
#include "shared/util.h"

static char dir[] = "/tmp/test-secret.XXXXXX";

static void test_names(void) {
        _cleanup_free_ char *e = secret_env_name("api_Key2");

        check_streq(e, "RUNBOOK_SECRET_API_KEY2");
        check(secret_credential_name_is_valid("ops-key"));
        check(secret_credential_name_is_valid("a.b@c:d_e"));
        check(!secret_credential_name_is_valid(""));
        check(!secret_credential_name_is_valid("."));
        check(!secret_credential_name_is_valid(".."));
        check(!secret_credential_name_is_valid("../x"));
        check(!secret_credential_name_is_valid("a/b"));
        check(!secret_credential_name_is_valid("a b"));
        check(secret_is_credential_ref("cred:x"));
        check(!secret_is_credential_ref("cred:"));
        check(!secret_is_credential_ref("x"));
}

static void test_values(void) {
        char why[SECRET_PROBLEM_MAX];

        check(secret_value_problem("hunter2", why) == 0);
        check(secret_value_problem("cred:ok", why) == 0);
        check(secret_value_problem("", why) == 1);
        check(secret_value_problem("cred:../etc/shadow", why) == 1);
        check(secret_value_problem("two\nlines", why) == 1);
        check(!strstr(why, "two"));
        check(secret_value_problem("bell\a", why) == 1);
}

static void write_file(const char *path, const char *content, size_t n) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        check(fd >= 0);
        check(write(fd, content, n) == (ssize_t) n);
        check(close(fd) == 0);
}

static void test_credentials(void) {
        _cleanup_free_ char *creds = NULL, *p = NULL, *why = NULL;
        char *v = NULL;
        size_t n = 0;

        check(asprintf(&creds, "%s/creds", dir) > 0);
        check(mkdir(creds, 0700) == 0);
        check(setenv("CREDENTIALS_DIRECTORY", creds, 1) == 0);
        check(asprintf(&p, "%s/tok", creds) > 0);
        write_file(p, "value-1\n", 8);
        check(secret_check_credential("cred:tok", &why) == 0);
        check(secret_read_credential("cred:tok", &v, &n, &why) == 0);
        check_int(n, 7);
        check_streq(v, "value-1");
        wipe_free(v, n + 1);
        write_file(p, "a\nb\n", 4);
        check(secret_read_credential("cred:tok", &v, &n, &why) == -EBADMSG);
        why = mfree(why);
        write_file(p, "\n", 1);
        check(secret_read_credential("cred:tok", &v, &n, &why) == -EBADMSG);
        why = mfree(why);
        check(secret_check_credential("cred:nosuch", &why) == -ENOKEY);
        check(strstr(why, "nosuch"));
}

static void test_seal(void) {
        _cleanup_free_ char *run = NULL, *sealed = NULL, *sealed2 = NULL, *key = NULL;
        const char *value = "s3cret value with 'quotes'";
        char *v = NULL;
        size_t n = 0;
        struct stat st;

        check(asprintf(&run, "%s/run", dir) > 0);
        check(setenv("RUNTIME_DIRECTORY", run, 1) == 0);
        check(secret_unseal(1, "x", "v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &v, &n) == -ENOKEY);
        check(secret_seal(7, "token", value, strlen(value), &sealed) == 0);
        check(strncmp(sealed, SECRET_SEAL_PREFIX, strlen(SECRET_SEAL_PREFIX)) == 0);
        check(!strstr(sealed, "s3cret"));
        check(asprintf(&key, "%s/" SECRET_SEAL_KEY_FILE, run) > 0);
        check(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == 32);

        /* the round trip */
        check(secret_unseal(7, "token", sealed, &v, &n) == 0);
        check_int(n, strlen(value));
        check_streq(v, value);
        wipe_free(v, n + 1);
        /* a random nonce: sealing again differs */
        check(secret_seal(7, "token", value, strlen(value), &sealed2) == 0);
        check(!streq(sealed, sealed2));
        /* bound to the session and the parameter */
        check(secret_unseal(8, "token", sealed, &v, &n) == -EBADMSG);
        check(secret_unseal(7, "tokeN", sealed, &v, &n) == -EBADMSG);
        /* tampered with */
        sealed[10] = sealed[10] == 'A' ? 'B' : 'A';
        check(secret_unseal(7, "token", sealed, &v, &n) == -EBADMSG);
        check(secret_unseal(7, "token", "v1:!!", &v, &n) == -EINVAL);
        check(secret_unseal(7, "token", "nope", &v, &n) == -EINVAL);
        /* a reboot: the key is gone; then a new key does not open the old value */
        check(unlink(key) == 0);
        check(secret_unseal(7, "token", sealed2, &v, &n) == -ENOKEY);
        free(sealed);
        sealed = NULL;
        check(secret_seal(9, "other", "x", 1, &sealed) == 0);
        check(secret_unseal(7, "token", sealed2, &v, &n) == -EBADMSG);
        /* an empty value seals too */
        free(sealed);
        sealed = NULL;
        check(secret_seal(9, "e", "", 0, &sealed) == 0);
        check(secret_unseal(9, "e", sealed, &v, &n) == 0);
        check_int(n, 0);
        wipe_free(v, 1);
}

int main(void) {
        check(mkdtemp(dir));
        TEST(names);
        TEST(values);
        TEST(credentials);
        TEST(seal);
        _cleanup_free_ char *cmd = NULL;
        check(asprintf(&cmd, "rm -rf '%s'", dir) > 0);
        check(system(cmd) == 0);
        return 0;
}
