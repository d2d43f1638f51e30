/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* local.c: the "local" connector: runs '/bin/sh -c <command>' on this host, asynchronously on
 * the sd-event loop (modelled on machined's operation.c).
 *
 * The shell runs in its own process group with stdin on /dev/null, stdout and stderr on two pipes,
 * no other fds, default signal state, cwd "/" and a minimal environment. The parent watches it
 * with a pidfd child source and reads the pipes as non-blocking I/O sources. When the shell has
 * exited, whatever is left of its process group is killed, so background leftovers cannot hold
 * the pipes open. Timeouts and cancellation send SIGTERM to the group, then SIGKILL after a grace
 * period. Exec failures travel to the parent over a CLOEXEC pipe. */

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "connector/local/local-internal.h"
#include "shared/child-util.h"
#include "shared/log.h"

#define LOCAL_KILL_GRACE_USEC (5 * USEC_PER_SEC)
#define LOCAL_SHELL "/bin/sh"
/* Bytes read from one pipe per dispatch, so that one chatty job cannot starve the loop. */
#define LOCAL_READ_PER_DISPATCH (256 * 1024)
/* Bytes drained from one pipe after the shell exited, before its group is killed. */
#define LOCAL_DRAIN_MAX (16 * 1024 * 1024)

static usec_t local_kill_grace = LOCAL_KILL_GRACE_USEC;
static const char *local_shell = LOCAL_SHELL;

usec_t local_kill_grace_usec(void) {
        return local_kill_grace;
}

void connector_local_set_kill_grace(usec_t usec) {
        local_kill_grace = usec > 0 ? usec : LOCAL_KILL_GRACE_USEC;
}

void connector_local_set_shell(const char *path) {
        local_shell = path ?: LOCAL_SHELL;
}

static LocalJob *local_job(ConnectorJob *j) {
        return (LocalJob *) j;
}

static void close_fd(int *fd) {
        if (*fd >= 0) {
                (void) close(*fd);
                *fd = -1;
        }
}

/* Signals whatever is left of the shell's process group. Safe until the shell is reaped, which
 * happens only after our child handler has run: until then its pid (= pgid) cannot be reused. */
static void local_kill_group(LocalJob *l, int sig) {
        if (l->pid <= 0 || l->exited)
                return;
        if (kill(-l->pid, sig) < 0 && errno != ESRCH)
                log_debug_errno(-errno, "Failed to send signal %d to process group %d: %m", sig, (int) l->pid);
}

/* In the child after fork() or clone(CLONE_VM|CLONE_VFORK): only async-signal-safe system calls
 * until execve(), no malloc. Never returns. */
typedef struct ChildArgs {
        const char *shell;
        char *const *argv;
        char *const *envp;
        int out_w, err_w, exec_w, max_fd;
        const LocalUser *user;            /* switch to it; NULL: stay who runbookd is */
} ChildArgs;

_Noreturn static void local_child(const ChildArgs *a) {
        const char *shell = a->shell;
        char *const *argv = a->argv, *const *envp = a->envp;
        int out_w = a->out_w, err_w = a->err_w, exec_w = a->exec_w, max_fd = a->max_fd;
        int src[4], fds[4], ex = exec_w, e;

        if (setpgid(0, 0) < 0)
                goto fail;

        /* the shell gets the default signal dispositions */
        if (child_reset_signals() < 0)
                goto fail;

        src[0] = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (src[0] < 0)
                goto fail;
        src[1] = out_w;
        src[2] = err_w;
        src[3] = exec_w;

        /* Move everything above 2 first, so the dup2()s below cannot clobber each other. */
        for (int i = 0; i < 4; i++) {
                fds[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3);
                if (fds[i] < 0)
                        goto fail;
        }
        ex = fds[3];
        for (int i = 0; i < 3; i++)
                if (dup2(fds[i], i) < 0)   /* dup2() clears FD_CLOEXEC on 0..2 */
                        goto fail;
        if (fds[3] != 3) {
                if (dup2(fds[3], 3) < 0)
                        goto fail;
                ex = 3;
                if (fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
                        goto fail;
        }
        if (close_range(4, ~0U, 0) < 0)
                for (int fd = 4; fd < max_fd; fd++)
                        (void) close(fd);

        if (a->user) {
                /* groups first, while we may still change them */
                /* The system calls themselves, for this task alone: glibc's wrappers change the
                 * credentials of every thread of the process (SIGSETXID to each), and this child
                 * shares the daemon's memory and so its list of threads (libcurl's resolver). */
                if (syscall(SYS_setgroups, (size_t) a->user->n_groups, a->user->groups) < 0 ||
                    syscall(SYS_setresgid, a->user->gid, a->user->gid, a->user->gid) < 0 ||
                    syscall(SYS_setresuid, a->user->uid, a->user->uid, a->user->uid) < 0)
                        goto fail;
        }

        if (chdir("/") < 0)
                goto fail;

        execve(shell, argv, envp);
fail:
        e = errno;
        (void) !write(ex, &e, sizeof e);
        _exit(127);
}

/* The home of the user the daemon runs as: looked up once (the uid does not change). */
static char *local_home(void) {
        static char *cached = NULL;
        struct passwd pw, *res = NULL;
        char buf[4096];

        if (!cached) {
                if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &res) == 0 && res && !isempty(res->pw_dir))
                        cached = strdup(res->pw_dir);
                else
                        cached = strdup("/");
        }
        return cached ? strdup(cached) : NULL;
}

static int local_child_main(void *p) {
        local_child(p);
}

/* Like posix_spawn(): the child shares our memory until it execs (CLONE_VM|CLONE_VFORK), so
 * starting a command costs no copy of the page tables and no copy-on-write faults afterwards.
 * The child runs on its own stack and makes only system calls (no malloc, no locks) until
 * execve(). Sanitizer runtimes do not follow such a child: those builds fork(). */
static pid_t local_spawn(const ChildArgs *a) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
        pid_t pid = fork();
        if (pid == 0)
                local_child_main((void *) a);
        return pid;
#else
        /* One stack serves every spawn: the loop is one thread, and CLONE_VFORK keeps us
         * waiting until the child has exec'd or exited. */
        static void *stack = NULL;
        const size_t size = 64 * 1024;

        if (!stack) {
                stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
                if (stack == MAP_FAILED) {
                        stack = NULL;
                        return -1;
                }
        }
        return clone(local_child_main, (uint8_t *) stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, (void *) a);
#endif
}

/* Wipes the environment's strings (they may hold secrets); the caller frees them. */
static void env_wipe(char **env) {
        for (char **e = env; e && *e; e++)
                explicit_bzero(*e, strlen(*e));
}

static void env_wipe_freep(char ***env) {
        env_wipe(*env);
        *env = strv_free(*env);
}

static int local_make_env(const StepRequest *req, const LocalUser *user, char ***ret) {
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_free_ char *home = NULL;
        char *s;
        int r;

        home = user && user->home ? strdup(user->home) : local_home();
        if (!home)
                return -ENOMEM;
        if (user && user->name &&
            ((asprintf_safe(&s, "USER=%s", user->name) < 0 || strv_consume(&env, s) < 0) ||
             (asprintf_safe(&s, "LOGNAME=%s", user->name) < 0 || strv_consume(&env, s) < 0)))
                return -ENOMEM;

        r = strv_extend(&env, "PATH=" LOCAL_PATH);
        if (r < 0)
                return r;
        r = strv_extend(&env, "LANG=C.UTF-8");
        if (r < 0)
                return r;
        if (asprintf_safe(&s, "HOME=%s", home) < 0 || strv_consume(&env, s) < 0)
                return -ENOMEM;
        if (asprintf_safe(&s, "RUNBOOK_SESSION=%" PRIu32, req->session_id) < 0 || strv_consume(&env, s) < 0)
                return -ENOMEM;
        if (asprintf_safe(&s, "RUNBOOK_STEP=%" PRIu32, req->step_index) < 0 || strv_consume(&env, s) < 0)
                return -ENOMEM;
        if (req->target && req->target->name &&
            (asprintf_safe(&s, "RUNBOOK_TARGET=%s", req->target->name) < 0 || strv_consume(&env, s) < 0))
                return -ENOMEM;
        /* the secrets: execve()'s environment, which only the same user (and root) can read, in
         * /proc/PID/environ; never argv, which everyone can (ps) */
        for (size_t i = 0; i < req->n_secrets; i++)
                if (asprintf_safe(&s, "%s=%s", req->secrets[i].name, req->secrets[i].value) < 0 ||
                    strv_consume(&env, s) < 0) {
                        env_wipe(env);
                        return -ENOMEM;
                }

        *ret = TAKE_PTR(env);
        return 0;
}

/* Reads up to 'max' bytes from stream k into its capture. Returns 1 while the pipe stays open
 * (nothing more to read now), 0 on EOF, negative errno on a read error. */
static int local_read(LocalJob *l, unsigned k, size_t max) {
        static uint8_t buf[64 * 1024];
        int fd = sd_event_source_get_io_fd(l->io_source[k]);
        size_t done = 0;

        while (done < max) {
                ssize_t n = read(fd, buf, sizeof buf);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 1;
                        return -errno;
                }
                if (n == 0)
                        return 0;
                if (output_capture_append(&l->job.output[k], buf, (size_t) n) < 0)
                        log_debug("Out of memory capturing output of process %d, dropping %zd bytes.",
                                  (int) l->pid, n);
                done += (size_t) n;
        }
        return 1;
}

static void local_close_stream(LocalJob *l, unsigned k) {
        l->io_source[k] = sd_event_source_disable_unref(l->io_source[k]);  /* closes the fd */
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        LocalJob *l = userdata;

        assert(l);
        unsigned k = s == l->io_source[0] ? 0 : 1;
        int r;

        assert(s == l->io_source[k]);

        r = local_read(l, k, LOCAL_READ_PER_DISPATCH);
        if (r < 0)
                log_debug_errno(r, "Failed to read output of process %d: %m", (int) l->pid);
        if (r <= 0)
                local_close_stream(l, k);
        return 0;
}

/* Returns the errno the child reported before exec, or 0 if exec succeeded. The shell has exited,
 * so the write end is closed everywhere and this read cannot block. */
static int local_exec_error(LocalJob *l) {
        int e = 0;
        ssize_t n;

        if (l->exec_fd < 0)
                return 0;
        do
                n = read(l->exec_fd, &e, sizeof e);
        while (n < 0 && errno == EINTR);
        close_fd(&l->exec_fd);
        if (n != (ssize_t) sizeof e)
                return 0;
        return e > 0 ? e : EIO;
}

static void local_finish(LocalJob *l, const siginfo_t *si) {
        StepResult res = { .exit_status = -1 };
        bool by_signal = si->si_code != CLD_EXITED;
        int e;

        e = local_exec_error(l);
        if (e > 0) {
                res.outcome = OUTCOME_ERROR;
                res.error = -e;
                if (asprintf_safe(&l->message, "failed to execute %s: %s", l->shell, strerror(e)) >= 0)
                        res.message = l->message;
        } else if (l->stop == LOCAL_STOP_TIMEOUT) {
                char b[DURATION_MAX];

                res.outcome = OUTCOME_TIMED_OUT;
                res.signal = by_signal ? si->si_status : 0;
                (void) asprintf_safe(&l->message, "timed out after %s",
                                     connector_format_timeout(b, sizeof b, l->timeout_usec));
                res.message = l->message;
        } else if (l->stop == LOCAL_STOP_CANCEL) {
                res.outcome = OUTCOME_CANCELLED;
                res.signal = by_signal ? si->si_status : 0;
                res.message = "cancelled";
        } else if (!by_signal) {
                res.outcome = OUTCOME_EXITED;
                res.exit_status = si->si_status;
        } else {
                const char *abbrev = sigabbrev_np(si->si_status);

                res.outcome = OUTCOME_KILLED;
                res.signal = si->si_status;
                if (abbrev)
                        (void) asprintf_safe(&l->message, "killed by signal SIG%s", abbrev);
                else
                        (void) asprintf_safe(&l->message, "killed by signal %d", si->si_status);
                res.message = l->message;
        }

        connector_job_finish(&l->job, &res);
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata) {
        LocalJob *l = userdata;

        assert(l);
        siginfo_t info = *si;

        /* sd-event reaps the shell right after this callback; nothing is left for us to kill or
         * reap when the source is freed (possibly from within 'done'). */
        (void) sd_event_source_set_child_process_own(s, false);

        /* Collect what the shell wrote before it exited, then kill its leftovers (which may hold
         * the pipes open forever), then stop reading. */
        for (unsigned k = 0; k < 2; k++)
                if (l->io_source[k])
                        (void) local_read(l, k, LOCAL_DRAIN_MAX);
        local_kill_group(l, SIGKILL);
        l->exited = true;
        for (unsigned k = 0; k < 2; k++)
                local_close_stream(l, k);
        l->timer_source = sd_event_source_disable_unref(l->timer_source);

        /* Last: 'done' may free the job. */
        local_finish(l, &info);
        return 0;
}

static bool local_child_has_exited(LocalJob *l) {
        siginfo_t si = {};

        if (waitid(P_PID, (id_t) l->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
                return false;
        return si.si_pid == l->pid;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata);

static int local_arm_timer(LocalJob *l, usec_t usec) {
        return connector_job_arm_timer(&l->job, &l->timer_source, usec, on_timer, l, "local-timer");
}

/* TERM the group (with CONT, in case it is stopped), then KILL it after the grace period. */
static int local_begin_stop(LocalJob *l, LocalStop why) {
        assert(why != LOCAL_STOP_NONE);

        if (l->stop != LOCAL_STOP_NONE)
                return 0;   /* already stopping; the first reason stands */
        l->stop = why;
        local_kill_group(l, SIGTERM);
        local_kill_group(l, SIGCONT);
        return local_arm_timer(l, local_kill_grace);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        LocalJob *l = userdata;

        assert(l);
        int r;

        if (l->stop == LOCAL_STOP_NONE) {
                /* The deadline passed. If the shell did exit in time (the exit is merely not
                 * dispatched yet), let on_child() report that. */
                if (local_child_has_exited(l))
                        return 0;
                r = local_begin_stop(l, LOCAL_STOP_TIMEOUT);
                if (r < 0) {
                        /* Without a grace timer, do not leave the job hanging on a TERM-proof command. */
                        log_debug_errno(r, "Failed to arm kill timer, killing at once: %m");
                        local_kill_group(l, SIGKILL);
                }
                return 0;
        }

        /* The grace period is over. */
        local_kill_group(l, SIGKILL);
        return 0;
}

static int local_watch_child(LocalJob *l) {
        int r;

        /* sd-event watches the child through a pidfd where the kernel has them (and through
         * SIGCHLD + waitid() where not); given the pid, it need not look the pid up again. */
        r = sd_event_add_child(l->job.event, &l->child_source, l->pid, WEXITED, on_child, l);
        if (r < 0)
                return r;
        /* Freeing the source before the exit was dispatched SIGKILLs and reaps the shell. */
        r = sd_event_source_set_child_process_own(l->child_source, true);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(l->child_source, "local-child");
        return 0;
}

static int local_watch_stream(LocalJob *l, unsigned k) {
        int r;

        if (fcntl(l->fd[k], F_SETFL, fcntl(l->fd[k], F_GETFL) | O_NONBLOCK) < 0)
                return -errno;
        r = sd_event_add_io(l->job.event, &l->io_source[k], l->fd[k], EPOLLIN, on_io, l);
        if (r < 0)
                return r;
        (void) sd_event_source_set_io_fd_own(l->io_source[k], true);
        l->fd[k] = -1;
        (void) sd_event_source_set_description(l->io_source[k], k == 0 ? "local-stdout" : "local-stderr");
        return 0;
}

void local_user_done(LocalUser *u) {
        free(u->name);
        free(u->group);
        free(u->groups);
        free(u->home);
        free(u->shell);
        *u = (LocalUser) {};
}

int local_user_lookup(const Target *t, LocalUser *ret, char **ret_message) {
        const char *user = t ? json_string_value(json_object_get(t->config, "user")) : NULL;
        const char *group = t ? json_string_value(json_object_get(t->config, "group")) : NULL;
        _cleanup_free_ char *buf = NULL;
        struct passwd pw, *pwr = NULL;
        struct group gr, *grr = NULL;
        long size = sysconf(_SC_GETPW_R_SIZE_MAX);
        LocalUser u = {};
        int r, n = 64;

        *ret = (LocalUser) {};
        if (!user && !group)
                return 0;
        size = MAX(size, 16384L);
        buf = malloc((size_t) size);
        if (!buf)
                return -ENOMEM;
        r = getpwnam_r(user ?: "root", &pw, buf, (size_t) size, &pwr);
        if (r != 0 || !pwr) {
                (void) asprintf_safe(ret_message, "user '%s' of target '%s' %s", user ?: "root", t->name,
                                     r != 0 ? strerror(r) : "does not exist on this host");
                return r != 0 ? -r : -ENOENT;
        }
        u.name = strdup(pw.pw_name);
        u.home = strdup(isempty(pw.pw_dir) ? "/" : pw.pw_dir);
        u.shell = strdup(strempty(pw.pw_shell));
        u.uid = pw.pw_uid;
        u.gid = pw.pw_gid;
        if (!u.name || !u.home || !u.shell) {
                local_user_done(&u);
                return -ENOMEM;
        }
        if (group) {
                r = getgrnam_r(group, &gr, buf, (size_t) size, &grr);
                if (r != 0 || !grr) {
                        (void) asprintf_safe(ret_message, "group '%s' of target '%s' %s", group, t->name,
                                             r != 0 ? strerror(r) : "does not exist on this host");
                        local_user_done(&u);
                        return r != 0 ? -r : -ESRCH;
                }
                u.gid = gr.gr_gid;
                u.group = strdup(group);
                if (!u.group) {
                        local_user_done(&u);
                        return -ENOMEM;
                }
        }
        /* the user's supplementary groups, as a login would have them */
        for (;;) {
                int want = n;
                gid_t *g = reallocarray(u.groups, (size_t) n, sizeof(gid_t));
                if (!g) {
                        local_user_done(&u);
                        return -ENOMEM;
                }
                u.groups = g;
                if (getgrouplist(u.name, u.gid, u.groups, &want) >= 0) {
                        u.n_groups = want;
                        break;
                }
                if (want <= n || want > 65536) {
                        local_user_done(&u);
                        return -E2BIG;
                }
                n = want;
        }
        *ret = u;
        return 0;
}

static int on_fail_later(sd_event_source *s, void *userdata) {
        LocalJob *l = userdata;
        StepResult res = { .outcome = OUTCOME_ERROR, .exit_status = -1, .message = l->message };

        l->fail_source = sd_event_source_disable_unref(l->fail_source);
        res.error = l->fail_error;
        connector_job_finish(&l->job, &res);   /* last: it may free the job */
        return 0;
}

int local_fail_later(LocalJob *l, int error, char *message) {
        int r;

        free(l->message);
        l->message = message;
        r = sd_event_add_defer(l->job.event, &l->fail_source, on_fail_later, l);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(l->fail_source, "local-fail");
        l->fail_error = error;
        return 0;
}

/* Whether the step's user or one of its groups is runbookd's own (not root): it would have
 * runbookd's powers (its store, its credentials, its bus name; callers of its uid need no polkit,
 * and their login uid is believed). */
static bool local_user_is_runbookd(const LocalUser *u) {
        uid_t me = geteuid();
        gid_t my_gid = getegid();

        if (me != 0 && u->uid == me)
                return true;
        if (my_gid != 0 && u->gid == my_gid)
                return true;
        for (int i = 0; i < u->n_groups; i++)
                if (my_gid != 0 && u->groups[i] == my_gid)
                        return true;
        return false;
}

/* The checks both ways share: the user exists and is not runbookd's own; the unit settings can be
 * applied. */
static int local_refuse(LocalJob *l, const StepRequest *req, LocalUser *user) {
        _cleanup_free_ char *msg = NULL;
        int r;

        r = local_user_lookup(req->target, user, &msg);
        if (r < 0 && msg)
                return local_fail_later(l, r, TAKE_PTR(msg)) ?: 1;
        if (r < 0)
                return r;
        if (user->name && local_user_is_runbookd(user)) {
                (void) asprintf_safe(&msg, "target '%s' would run its steps as runbookd's own user or group (uid %u, "
                                     "gid %u): a step must not have runbookd's powers; name another user",
                                     req->target->name, (unsigned) user->uid, (unsigned) user->gid);
                return local_fail_later(l, -EPERM, TAKE_PTR(msg)) ?: 1;
        }
        if (local_unit_mode())
                return 0;
        if (geteuid() != 0) {
                (void) asprintf_safe(&msg, "runbookd runs as uid %u (not root) and spawns local steps itself here: "
                                     "a step would run as runbookd, with its store, credentials and bus name; local "
                                     "steps need systemd as PID 1 (\"local_steps\": \"auto\" or \"units\"), or "
                                     "runbookd run as root", (unsigned) geteuid());
                return local_fail_later(l, -EPERM, TAKE_PTR(msg)) ?: 1;
        }
        if (req->target && json_object_get(req->target->config, "unit_properties")) {
                (void) asprintf_safe(&msg, "target '%s' sets \"unit_properties\", which apply only to steps run as "
                                     "systemd units (systemd is not PID 1 here, or runbookd.json says "
                                     "\"local_steps\": \"direct\"); not run without them", req->target->name);
                return local_fail_later(l, -EOPNOTSUPP, TAKE_PTR(msg)) ?: 1;
        }
        return 0;
}

static int local_start(ConnectorJob *j, const StepRequest *req) {
        LocalJob *l = local_job(j);
        _cleanup_(local_user_done) LocalUser user = {};
        _cleanup_(env_wipe_freep) char **env = NULL;
        int out[2] = { -1, -1 }, err[2] = { -1, -1 }, ex[2] = { -1, -1 };
        char *argv[] = { (char *) "sh", (char *) "-c", (char *) req->command, NULL };
        const char *shell = local_shell;
        int max_fd, r;

        /* Before anything can fail: destroy() handles every state from here on. */
        l->fd[0] = l->fd[1] = l->exec_fd = -1;
        l->timeout_usec = req->timeout_usec;
        l->shell = shell;

        r = local_refuse(l, req, &user);
        if (r != 0)
                return r < 0 ? r : 0;
        if (local_unit_mode())
                return local_unit_start(l, req);

        r = local_make_env(req, &user, &env);
        if (r < 0)
                return r;

        max_fd = (int) MIN(sysconf(_SC_OPEN_MAX), (long) INT_MAX);
        if (max_fd < 0)
                max_fd = 65536;

        if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || pipe2(ex, O_CLOEXEC) < 0) {
                r = -errno;
                goto fail;
        }

        l->pid = local_spawn(&(ChildArgs) {
                .shell = shell, .argv = argv, .envp = env,
                .out_w = out[1], .err_w = err[1], .exec_w = ex[1], .max_fd = max_fd,
                .user = user.name ? &user : NULL,
        });
        if (l->pid < 0) {
                r = -errno;
                l->pid = 0;
                goto fail;
        }

        /* Also here, so that kill(-pid) works before the child got to it. EACCES: it already
         * exec'd, after doing it itself. */
        (void) setpgid(l->pid, l->pid);

        close_fd(&out[1]);
        close_fd(&err[1]);
        close_fd(&ex[1]);
        l->fd[0] = TAKE_FD(out[0]);
        l->fd[1] = TAKE_FD(err[0]);
        l->exec_fd = TAKE_FD(ex[0]);
        if (fcntl(l->exec_fd, F_SETFL, O_NONBLOCK) < 0)
                return -errno;

        log_debug("Started '%s -c %s' as process %d.", shell, req->command, (int) l->pid);

        r = local_watch_child(l);
        if (r < 0)
                return r;
        for (unsigned k = 0; k < 2; k++) {
                r = local_watch_stream(l, k);
                if (r < 0)
                        return r;
        }
        if (req->timeout_usec > 0) {
                r = local_arm_timer(l, req->timeout_usec);
                if (r < 0)
                        return r;
        }
        return 0;

fail:
        close_fd(&out[0]);
        close_fd(&out[1]);
        close_fd(&err[0]);
        close_fd(&err[1]);
        close_fd(&ex[0]);
        close_fd(&ex[1]);
        return r;
}

static int local_resume(ConnectorJob *j, const StepRequest *req, json_t *handle) {
        LocalJob *l = local_job(j);

        l->fd[0] = l->fd[1] = l->exec_fd = -1;
        l->timeout_usec = req->timeout_usec;
        l->shell = local_shell;
        return local_unit_resume(l, req, handle);
}

static int local_cancel(ConnectorJob *j) {
        LocalJob *l = local_job(j);

        if (l->unit)
                return local_unit_cancel(l);
        if (l->exited)
                return -EALREADY;
        return local_begin_stop(l, LOCAL_STOP_CANCEL);
}

static void local_destroy(ConnectorJob *j) {
        LocalJob *l = local_job(j);

        l->fail_source = sd_event_source_disable_unref(l->fail_source);
        if (l->unit)
                local_unit_destroy(l);

        l->timer_source = sd_event_source_disable_unref(l->timer_source);
        for (unsigned k = 0; k < 2; k++) {
                local_close_stream(l, k);
                close_fd(&l->fd[k]);
        }
        close_fd(&l->exec_fd);

        if (l->pid > 0 && !l->exited) {
                /* Freed while running (e.g. daemon shutdown): kill the whole group, and reap the
                 * shell so that no zombie remains. The child source owns the process: freeing it
                 * SIGKILLs the shell and waits for it. */
                local_kill_group(l, SIGKILL);
                if (!l->child_source)
                        while (waitpid(l->pid, NULL, 0) < 0 && errno == EINTR)
                                ;
        }
        l->child_source = sd_event_source_disable_unref(l->child_source);
        l->exited = true;
        free(l->message);
        l->message = NULL;
}

/* ---- Target.Check(): one stage, "run": '/bin/sh -c true' as a job of this connector ---- */

typedef struct LocalCheck {
        ConnectorJob *job;
        sd_event_source *defer;           /* finishes the check outside the job's 'done' */
} LocalCheck;

static int on_local_check_defer(sd_event_source *s, void *userdata) {
        ConnectorCheck *c = userdata;

        connector_check_finish(c);   /* last: it may free c */
        return 0;
}

static void on_local_check_done(ConnectorJob *job, const StepResult *res, void *userdata) {
        ConnectorCheck *c = userdata;
        LocalCheck *lc = c->data;
        const char *shell = local_job(job)->shell;

        if (res->outcome == OUTCOME_EXITED && res->exit_status == 0)
                connector_check_stage(c, "run", CHECK_OK, "'%s -c true' exited with status 0 (%llu ms)", shell,
                                      (unsigned long long) (res->duration_usec / USEC_PER_MSEC));
        else if (res->outcome == OUTCOME_EXITED)
                connector_check_stage(c, "run", CHECK_FAILED, "'%s -c true' exited with status %d", shell,
                                      res->exit_status);
        else if (res->outcome == OUTCOME_KILLED)
                connector_check_stage(c, "run", CHECK_FAILED, "'%s -c true' was killed by signal %s", shell,
                                      strna(sigabbrev_np(res->signal)));
        else
                connector_check_stage(c, "run", CHECK_FAILED, "cannot run '%s -c true': %s", shell,
                                      res->message ?: strerror(-res->error));
        /* the job may not be freed from within its own 'done' */
        if (sd_event_add_defer(c->event, &lc->defer, on_local_check_defer, c) < 0)
                log_error("Cannot finish the check of a local target: out of memory.");
}

static int local_check(ConnectorCheck *c, const Target *t) {
        LocalCheck *lc;
        int r;

        r = connector_check_begin(c, (const char *const[]) { "run" }, 1, sizeof(LocalCheck));
        if (r < 0)
                return r;
        lc = c->data;
        return connector_start(&connector_local, c->event, &(StepRequest) { .command = "true", .target = t },
                               on_local_check_done, c, &lc->job);
}

static void local_check_destroy(ConnectorCheck *c) {
        LocalCheck *lc = c->data;

        if (!lc)
                return;
        c->data = NULL;
        lc->defer = sd_event_source_disable_unref(lc->defer);
        connector_job_free(lc->job);
        free(lc);
}

const ConnectorVTable connector_local = {
        .name = "local",
        .object_size = sizeof(LocalJob),
        .start = local_start,
        .cancel = local_cancel,
        .destroy = local_destroy,
        .resume = local_resume,
        .resumable = local_unit_resumable,
        .keeps_handles = local_unit_mode,
        .check = local_check,
        .check_destroy = local_check_destroy,
        .shutdown = local_unit_shutdown,
};
