/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* store-lock.h: one process per state directory. */

#include <sys/types.h>

#define STORE_LOCK_FILE "runbookd.lock"

/* Takes an exclusive lock on DIR/runbookd.lock (made if missing), held while *ret_fd stays open,
 * and writes this process's PID into it. -EBUSY if another process holds it: *ret_holder is its
 * PID (0 if not known here, e.g. in another PID namespace), and the file is left as it was. */
int store_lock_dir(const char *dir, int *ret_fd, pid_t *ret_holder);
