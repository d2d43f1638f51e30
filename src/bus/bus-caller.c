/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-caller.c: who is behind a method call — its uid, and the audit login uid of the person
 * whose login session it runs in (see Identity in engine/session.h). */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "bus/bus-objects.h"
#include "shared/log.h"

/* Reads the whole of a small file under 'dfd' into 'buf' (NUL-terminated). */
static int read_small(int dfd, const char *name, char *buf, size_t size) {
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;

        fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        return 0;
}

static int parse_uid(const char *s, uid_t *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || v > UINT32_MAX)
                return -EINVAL;
        *ret = (uid_t) v;
        return 0;
}

/* The effective uid in /proc/<pid>/status ("Uid:\treal\teffective\tsaved\tfs"). */
static int status_euid(int dfd, uid_t *ret) {
        char buf[4096], *p;

        int r = read_small(dfd, "status", buf, sizeof buf);
        if (r < 0)
                return r;
        p = strstr(buf, "\nUid:");
        if (!p)
                return -EBADMSG;
        (void) strtoul(p + strlen("\nUid:"), &p, 10); /* the real uid */
        return parse_uid(p, ret);
}

/* The audit login uid of process 'pid', which dbus-daemon says runs as 'euid'. dbus-daemon
 * (1.14) gives a pid, not a pidfd, so the pid is pinned with a pidfd, /proc/<pid> is read, and
 * the result counts only if the process is still alive afterwards (then /proc/<pid> was that
 * process) and runs as the uid the bus reported (a pid the caller left and another uid's
 * process took cannot lend its login uid). UID_INVALID when the process has no login uid, or the
 * kernel keeps none (no audit support: /proc/<pid>/loginuid absent). */
static int process_login_uid(pid_t pid, uid_t euid, uid_t *ret) {
        _cleanup_close_ int pidfd = -EBADF, dfd = -EBADF;
        char path[32], buf[32];
        uid_t login = UID_INVALID, proc_euid;
        int r;

        if (pid <= 0)
                return -ESRCH;
        pidfd = pidfd_open(pid, 0);
        if (pidfd < 0)
                return -errno;
        (void) snprintf(path, sizeof path, "/proc/%d", (int) pid);
        dfd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;

        r = status_euid(dfd, &proc_euid);
        if (r < 0)
                return r;
        r = read_small(dfd, "loginuid", buf, sizeof buf);
        if (r == -ENOENT)
                login = UID_INVALID; /* a kernel without audit */
        else if (r < 0)
                return r;
        else if (parse_uid(buf, &login) < 0)
                return -EBADMSG;

        struct pollfd p = { .fd = pidfd, .events = POLLIN };
        r = poll(&p, 1, 0);
        if (r < 0)
                return -errno;
        if (r > 0) /* it has exited: what was read may be another process's */
                return -ESRCH;
        if (proc_euid != euid)
                return -ESRCH;
        *ret = login; /* 4294967295 (unset) is UID_INVALID */
        return 0;
}

int bus_caller(Manager *m, sd_bus_message *call, Identity *ret, sd_bus_error *error) {
        Identity id = { .login_uid = UID_INVALID };
        pid_t pid;
        int r;

        r = bus_query_caller(m->polkit, call, &id.uid, &pid);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot determine the caller's user: %s", strerror(-r));
        /* the login uid counts only behind root or our own uid (see person_of()): no need to
         * read it for anyone else */
        r = uid_is_privileged(id.uid) ? process_login_uid(pid, id.uid, &id.login_uid) : 0;
        if (r < 0)
                return sd_bus_error_set_errnof(error, r,
                                               "Cannot determine who is calling (the login uid of process %d, which "
                                               "opened this bus connection as uid %u): %s. Call again from a process "
                                               "that stays until the reply.",
                                               (int) pid, (unsigned) id.uid, strerror(-r));
        id.user = uid_to_name(id.uid);
        if (!id.user)
                return -ENOMEM;
        if (uid_is_valid(id.login_uid)) {
                id.login_user = uid_to_name(id.login_uid);
                if (!id.login_user) {
                        identity_done(&id);
                        return -ENOMEM;
                }
        }
        *ret = id;
        return 0;
}

int bus_authorized_caller(Manager *m, sd_bus_message *call, const char *action, const char **details, Identity *ret,
                          sd_bus_error *error) {
        int r;

        r = bus_verify_polkit_async(call, action, details, m->polkit, error);
        if (r <= 0)
                return r;
        r = bus_caller(m, call, ret, error);
        return r < 0 ? r : 1;
}
