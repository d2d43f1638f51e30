/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* secret.c: names and values of secret parameters, and their credentials. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config-util.h"
#include "config/runbook.h"
#include "config/secret.h"
#include "shared/util.h"

char *secret_env_name(const char *param) {
        char *s = NULL;

        if (asprintf_safe(&s, SECRET_ENV_PREFIX "%s", param) < 0)
                return NULL;
        for (char *p = s + strlen(SECRET_ENV_PREFIX); *p; p++)
                if (*p >= 'a' && *p <= 'z')
                        *p = (char) (*p - 'a' + 'A');
        return s;
}

bool secret_credential_name_is_valid(const char *name) {
        size_t n = strnlen(name, SECRET_CRED_NAME_MAX + 1);

        if (n == 0 || n > SECRET_CRED_NAME_MAX || streq(name, ".") || streq(name, ".."))
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];
                if (!ascii_isalpha(c) && !ascii_isdigit(c) && !strchr("_.@:-", c))
                        return false;
        }
        return true;
}

bool secret_is_credential_ref(const char *s) {
        return strncmp(s, SECRET_CRED_PREFIX, strlen(SECRET_CRED_PREFIX)) == 0 &&
               secret_credential_name_is_valid(s + strlen(SECRET_CRED_PREFIX));
}

int secret_value_problem(const char *s, char why[static SECRET_PROBLEM_MAX]) {
        char buf[96];
        size_t n = strnlen(s, RUNBOOK_PARAM_VALUE_MAX + 1);

        if (n == 0) {
                snprintf(why, SECRET_PROBLEM_MAX, "a secret parameter's value must not be empty");
                return 1;
        }
        if (strncmp(s, SECRET_CRED_PREFIX, strlen(SECRET_CRED_PREFIX)) == 0) {
                if (secret_credential_name_is_valid(s + strlen(SECRET_CRED_PREFIX)))
                        return 0;
                snprintf(why, SECRET_PROBLEM_MAX, "'cred:…' must name a credential: 1 to %d characters of "
                         "A-Z a-z 0-9 _ . @ : -, not '.' or '..'", SECRET_CRED_NAME_MAX);
                return 1;
        }
        if (n > RUNBOOK_PARAM_VALUE_MAX) {
                snprintf(why, SECRET_PROBLEM_MAX, "value is too long (maximum %d bytes)", RUNBOOK_PARAM_VALUE_MAX);
                return 1;
        }
        if (n < SECRET_VALUE_MIN) {
                snprintf(why, SECRET_PROBLEM_MAX, "a secret parameter's value must be at least %d bytes (a shorter one "
                         "could not be told from other output, so not masked in it)", SECRET_VALUE_MIN);
                return 1;
        }
        if (utf8_text_problem(s, RUNBOOK_PARAM_VALUE_MAX, buf, sizeof buf) || strchr(s, '\n')) {
                /* not the detail: it may quote the value */
                snprintf(why, SECRET_PROBLEM_MAX, "value is not printable UTF-8 text of one line");
                return 1;
        }
        return 0;
}

static const char *cred_name(const char *ref) {
        return ref + strlen(SECRET_CRED_PREFIX);
}

int secret_check_credential(const char *ref, char **ret_why) {
        const char *dir = getenv("CREDENTIALS_DIRECTORY"), *name = cred_name(ref);
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (!secret_is_credential_ref(ref))
                return -EINVAL;
        if (!dir || !*dir) {
                (void) asprintf_safe(ret_why, "credential '%s' is not available: runbookd has no $CREDENTIALS_DIRECTORY "
                                     "(give it with LoadCredential=%s:PATH)", name, name);
                return -ENOKEY;
        }
        if (asprintf_safe(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0) {
                int r = -errno;
                (void) asprintf_safe(ret_why, "credential '%s' cannot be read from $CREDENTIALS_DIRECTORY: %s", name,
                                     strerror(-r));
                return r == -ENOENT ? -ENOKEY : r;
        }
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_CREDENTIAL_SIZE_MAX) {
                (void) asprintf_safe(ret_why, "credential '%s' is not a regular file of at most %d bytes", name,
                                     CONFIG_CREDENTIAL_SIZE_MAX);
                return -EFBIG;
        }
        return 0;
}

int secret_read_credential(const char *ref, char **ret, size_t *ret_len, char **ret_why) {
        char *v = NULL;
        size_t n = 0, size;
        int r;

        if (!secret_is_credential_ref(ref))
                return -EINVAL;
        r = config_read_credential(ref, &v, &n, ret_why);
        if (r < 0)
                return r;
        size = n + 1;
        if (n > 0 && v[n - 1] == '\n')
                v[--n] = 0;
        if (n < SECRET_VALUE_MIN || memchr(v, 0, n) || memchr(v, '\n', n)) {
                wipe_free(v, size);
                (void) asprintf_safe(ret_why, "credential '%s' %s", cred_name(ref),
                                     n == 0 ? "is empty" :
                                     n < SECRET_VALUE_MIN ? "is shorter than 4 bytes, too short to be masked in output" :
                                     "holds a NUL byte or more than one line, which an environment variable cannot carry");
                return -EBADMSG;
        }
        *ret = v;
        *ret_len = n;
        return 0;
}
