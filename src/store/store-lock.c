/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store-lock.c: a second runbookd on the same state directory would find the first one's running
 * steps in the store, mark them interrupted and could start approved steps twice; LMDB itself lets
 * any number of processes open an environment. So the store's directory gets a lock file, locked
 * before anything in the directory is read or written, for as long as the store is open.
 *
 * A POSIX record lock (fcntl F_SETLK), not flock(): F_GETLK names the holder's PID, in this PID
 * namespace. It belongs to the process and ends with it (also on SIGKILL): no stale lock to clean
 * up. The PID is written into the file as well, for people (cat DIR/runbookd.lock), and as the
 * answer where F_GETLK cannot tell it. The file is never truncated or written before the lock is
 * held: a refused instance changes nothing. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared/macro.h"
#include "store/store-lock.h"

static pid_t pid_in_file(int fd) {
        char buf[32];
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        char *end;
        long v;

        if (n <= 0)
                return 0;
        buf[n] = 0;
        errno = 0;
        v = strtol(buf, &end, 10);
        return errno == 0 && end != buf && v > 0 && v <= INT32_MAX ? (pid_t) v : 0;
}

int store_lock_dir(const char *dir, int *ret_fd, pid_t *ret_holder) {
        _cleanup_close_ int dfd = -1, fd = -1;
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
        char line[32];
        int n;

        *ret_holder = 0;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        fd = openat(dfd, STORE_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0)
                return -errno;
        if (fcntl(fd, F_SETLK, &fl) < 0) {
                if (errno != EAGAIN && errno != EACCES)
                        return -errno;
                fl = (struct flock) { .l_type = F_WRLCK, .l_whence = SEEK_SET };
                if (fcntl(fd, F_GETLK, &fl) >= 0 && fl.l_type != F_UNLCK && fl.l_pid > 0)
                        *ret_holder = fl.l_pid;
                else
                        *ret_holder = pid_in_file(fd);
                return -EBUSY;
        }
        n = snprintf(line, sizeof line, "%ld\n", (long) getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t) n, 0) != n)
                return errno > 0 ? -errno : -EIO;
        *ret_fd = TAKE_FD(fd);
        return 0;
}
