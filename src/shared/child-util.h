/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* child-util.h: what a child of the daemon does before execve(). Only system calls: safe after
 * fork() in a process with threads, and in a clone(CLONE_VM|CLONE_VFORK) child. */
#pragma once

#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Every signal back to its default disposition, none blocked: the daemon blocks SIGCHLD and
 * SIGTERM and may ignore SIGPIPE. The system call itself, as glibc's sigaction() refuses the two
 * signals it reserves (32, 33), which a parent may still have left ignored. */
static inline int child_reset_signals(void) {
        struct { void (*handler)(int); unsigned long flags; void (*restorer)(void); uint64_t mask; } ksa = {
                .handler = SIG_DFL,
        };   /* the kernel's struct sigaction */
        sigset_t ss;

        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(uint64_t));
        sigemptyset(&ss);
        return sigprocmask(SIG_SETMASK, &ss, NULL);
}
