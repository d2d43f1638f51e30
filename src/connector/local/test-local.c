/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-local.c: the local connector on a real sd-event loop, running real /bin/sh commands. */

#undef NDEBUG
#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "connector/azure/azure-check.h"
#include "connector/azure/azure-decode.h"
#include "connector/connector.h"
#include "connector/test-connector-fixture.h"
#include "shared/tests.h"

static char tmpdir[] = "/tmp/test-local-XXXXXX";
static const Target local_target = { .name = (char *) "local", .connector = (char *) "local" };

static void run_for(sd_event *e, usec_t usec) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + usec, n;

        while ((n = now_usec(CLOCK_MONOTONIC)) < end)
                check(sd_event_run(e, end - n) >= 0);
}

static void start(sd_event *e, const char *cmd, usec_t timeout, size_t cap, Run *run) {
        StepRequest req = {
                .session_id = 7,
                .step_index = 2,
                .command = cmd,
                .target = &local_target,
                .timeout_usec = timeout,
                .output_cap = cap,
        };

        check(connector_start(&connector_local, e, &req, run_on_done, run, &run->job) == 0);
        check(run->job);
        check(!run->done);   /* never from within connector_start() */
}

static void run_command(const char *cmd, usec_t timeout, size_t cap, Run *run) {
        sd_event *e = NULL;

        check(sd_event_new(&e) >= 0);
        start(e, cmd, timeout, cap, run);
        run_until_done(e, run, 20 * USEC_PER_SEC);
        run->job = connector_job_free(run->job);
        sd_event_unref(e);
}

static void check_exited(const Run *run, int status) {
        check_int(run->result.outcome, OUTCOME_EXITED);
        check_int(run->result.exit_status, status);
        check_int(run->result.signal, 0);
        check(!run->result.message);
}

static void check_out(const Run *run, const char *out, const char *err) {
        check_int(run->out_len, strlen(out));
        check_streq((const char *) run->out, out);
        check_int(run->err_len, strlen(err));
        check_streq((const char *) run->err, err);
}

static char *tmp_path(const char *name) {
        char *p;

        check(asprintf_safe(&p, "%s/%s", tmpdir, name) == 0);
        (void) unlink(p);
        return p;
}

static pid_t read_pid(const char *path) {
        FILE *f = fopen(path, "re");
        int pid = 0;

        check(f);
        check(fscanf(f, "%d", &pid) == 1);
        fclose(f);
        check(pid > 1);
        return (pid_t) pid;
}

/* The process is gone: orphans are reparented to us (we are a subreaper), so reap them here. */
static void check_gone(pid_t pid) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + 5 * USEC_PER_SEC;

        for (;;) {
                pid_t r = waitpid(pid, NULL, WNOHANG);
                if (r == pid)
                        break;
                if (r < 0 && errno == ECHILD && kill(pid, 0) < 0 && errno == ESRCH)
                        break;
                check(now_usec(CLOCK_MONOTONIC) < end);
                usleep(10 * 1000);
        }
        check(kill(pid, 0) < 0 && errno == ESRCH);
}

static unsigned n_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        unsigned n = 0;

        check(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

static void test_true(void) {
        unsigned fds = n_fds();
        Run run = {};

        run_command("true", 0, 0, &run);
        check_int(n_fds(), fds);   /* pipes, pidfd and event loop all closed */
        check_exited(&run, 0);
        check_out(&run, "", "");
        check(run.result.duration_usec > 0);
        check(run.result.duration_usec < 5 * USEC_PER_SEC);
        run_clear(&run);
}

static void test_exit_status(void) {
        Run run = {};

        run_command("exit 3", 0, 0, &run);
        check_exited(&run, 3);
        run_clear(&run);

        run_command("false", 0, 0, &run);
        check_exited(&run, 1);
        run_clear(&run);

        run_command("/nonexistent-command", 0, 0, &run);
        check_exited(&run, 127);
        check(run.err_len > 0);
        run_clear(&run);
}

static void test_stdout_stderr(void) {
        Run run = {};

        run_command("printf 'out1\\nout2\\n'; printf 'err1\\n' >&2; printf 'out3'; printf 'err2' 1>&2",
                    0, 0, &run);
        check_exited(&run, 0);
        check_out(&run, "out1\nout2\nout3", "err1\nerr2");
        run_clear(&run);

        /* Binary data, byte for byte. */
        run_command("printf 'a\\000b\\001\\377'", 0, 0, &run);
        check_exited(&run, 0);
        check_int(run.out_len, 5);
        check(memcmp(run.out, "a\0b\001\377", 5) == 0);
        run_clear(&run);
}

static char *seq_text(unsigned n, size_t *ret_len) {
        size_t len = 0, alloc = 16;
        char *b = malloc(alloc);

        check(b);
        for (unsigned i = 1; i <= n; i++) {
                char line[16];
                int k = snprintf(line, sizeof line, "%u\n", i);

                if (len + (size_t) k + 1 > alloc) {
                        alloc = 2 * (len + (size_t) k + 1);
                        b = realloc(b, alloc);
                        check(b);
                }
                memcpy(b + len, line, (size_t) k);
                len += (size_t) k;
        }
        b[len] = 0;
        *ret_len = len;
        return b;
}

static void test_output_cap(void) {
        _cleanup_free_ char *expect = NULL;
        size_t len;
        Run run = {};

        expect = seq_text(20000, &len);
        run_command("seq 1 20000; echo small >&2", 0, 1000, &run);
        check_exited(&run, 0);
        check(run.out_truncated);
        check_int(run.out_total, len);
        check_int(run.out_len, 1000);
        check(memcmp(run.out, expect, 500) == 0);
        check(memcmp(run.out + 500, expect + len - 500, 500) == 0);
        check_streq((const char *) run.err, "small\n");
        run_clear(&run);

        run_command("head -c 5000 /dev/urandom | base64", 0, 1000, &run);
        check_exited(&run, 0);
        check(run.out_truncated);
        check_int(run.out_len, 1000);
        check(run.out_total > 5000);
        check_int(run.out[999], '\n');   /* the tail ends where the output ended */
        run_clear(&run);
}

static void test_large_output_both_streams(void) {
        _cleanup_free_ char *expect = NULL;
        size_t len;
        Run run = {};

        /* Both pipes fill up concurrently: neither may block the other. */
        expect = seq_text(100000, &len);
        run_command("seq 1 100000 >&2 & seq 1 100000; wait", 0, 0, &run);
        check_exited(&run, 0);
        check(!run.out_truncated);
        check_int(run.out_len, len);
        check_int(run.err_len, len);
        check(memcmp(run.out, expect, len) == 0);
        check(memcmp(run.err, expect, len) == 0);
        run_clear(&run);
}

static void test_timeout(void) {
        _cleanup_free_ char *bg = tmp_path("bg.pid"), *sh = tmp_path("sh.pid"), *cmd = NULL;
        Run run = {};
        pid_t bg_pid, sh_pid;

        check(asprintf_safe(&cmd, "sleep 300 & echo $! > %s; echo $$ > %s; sleep 30", bg, sh) == 0);
        run_command(cmd, 300 * USEC_PER_MSEC, 0, &run);
        check_int(run.result.outcome, OUTCOME_TIMED_OUT);
        check_int(run.result.exit_status, -1);
        check_int(run.result.signal, SIGTERM);
        check_streq(run.result.message, "timed out after 0.300s");
        check(run.result.duration_usec >= 300 * USEC_PER_MSEC);
        check(run.result.duration_usec < 3 * USEC_PER_SEC);

        sh_pid = read_pid(sh);
        bg_pid = read_pid(bg);
        /* The shell was reaped by the loop: not our child any more, and gone. */
        check(waitpid(sh_pid, NULL, WNOHANG) < 0 && errno == ECHILD);
        check(kill(sh_pid, 0) < 0 && errno == ESRCH);
        check_gone(bg_pid);
        run_clear(&run);

        /* Whole seconds are reported as such. */
        run_command("sleep 30", 1 * USEC_PER_SEC, 0, &run);
        check_int(run.result.outcome, OUTCOME_TIMED_OUT);
        check_streq(run.result.message, "timed out after 1s");
        run_clear(&run);

        /* A command that finishes in time is not affected by its timeout. */
        run_command("echo fast", 10 * USEC_PER_SEC, 0, &run);
        check_exited(&run, 0);
        check_out(&run, "fast\n", "");
        run_clear(&run);
}

static void test_timeout_escalation(void) {
        _cleanup_free_ char *bg = tmp_path("bg.pid"), *cmd = NULL;
        Run run = {};

        connector_local_set_kill_grace(400 * USEC_PER_MSEC);
        check(asprintf_safe(&cmd, "trap '' TERM; sleep 300 & echo $! > %s; sleep 30", bg) == 0);
        run_command(cmd, 500 * USEC_PER_MSEC, 0, &run);
        check_int(run.result.outcome, OUTCOME_TIMED_OUT);
        check_int(run.result.signal, SIGKILL);
        check_streq(run.result.message, "timed out after 0.500s");
        check(run.result.duration_usec >= 900 * USEC_PER_MSEC);
        check(run.result.duration_usec < 4 * USEC_PER_SEC);
        check_gone(read_pid(bg));
        connector_local_set_kill_grace(0);
        run_clear(&run);
}

static void test_cancel(void) {
        _cleanup_free_ char *bg = tmp_path("bg.pid"), *cmd = NULL;
        sd_event *e = NULL;
        Run run = {};

        check(sd_event_new(&e) >= 0);

        check(asprintf_safe(&cmd, "sleep 300 & echo $! > %s; sleep 30", bg) == 0);
        start(e, cmd, 0, 0, &run);
        run_for(e, 200 * USEC_PER_MSEC);
        check(!run.done);
        check(connector_job_cancel(run.job) == 0);
        check(connector_job_cancel(run.job) == 0);   /* already stopping */
        check(!run.done);                              /* 'done' comes from the loop */
        run_until_done(e, &run, 3 * USEC_PER_SEC);
        check_int(run.result.outcome, OUTCOME_CANCELLED);
        check_int(run.result.signal, SIGTERM);
        check_streq(run.result.message, "cancelled");
        check(connector_job_cancel(run.job) == -EALREADY);
        run.job = connector_job_free(run.job);
        check_gone(read_pid(bg));
        run_clear(&run);

        /* TERM-proof: escalates to KILL after the grace period. */
        connector_local_set_kill_grace(300 * USEC_PER_MSEC);
        start(e, "trap '' TERM; sleep 30", 0, 0, &run);
        run_for(e, 200 * USEC_PER_MSEC);
        check(connector_job_cancel(run.job) == 0);
        run_until_done(e, &run, 3 * USEC_PER_SEC);
        check_int(run.result.outcome, OUTCOME_CANCELLED);
        check_int(run.result.signal, SIGKILL);
        check(run.result.duration_usec >= 500 * USEC_PER_MSEC);
        run.job = connector_job_free(run.job);
        connector_local_set_kill_grace(0);
        run_clear(&run);

        sd_event_unref(e);
}

static void test_background_leftover(void) {
        _cleanup_free_ char *bg = tmp_path("bg.pid"), *cmd = NULL;
        Run run = {};

        /* The background sleep keeps stdout open; completion must not wait for it. */
        check(asprintf_safe(&cmd, "sleep 100 & echo $! > %s; echo hi", bg) == 0);
        run_command(cmd, 0, 0, &run);
        check_exited(&run, 0);
        check_out(&run, "hi\n", "");
        check(run.result.duration_usec < 5 * USEC_PER_SEC);
        check_gone(read_pid(bg));
        run_clear(&run);
}

static void test_environment(void) {
        _cleanup_free_ char *home = NULL, *expect = NULL;
        struct passwd *pw = getpwuid(getuid());
        Run run = {};

        home = strdup(pw && !isempty(pw->pw_dir) ? pw->pw_dir : "/");
        check(home);
        check(setenv("RUNBOOK_TEST_LEAK", "1", 1) == 0);

        /* dash adds PWD itself; sorted for a stable comparison. */
        run_command("env | LC_ALL=C sort", 0, 0, &run);
        check_exited(&run, 0);
        check(asprintf_safe(&expect,
                            "HOME=%s\n"
                            "LANG=C.UTF-8\n"
                            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
                            "PWD=/\n"
                            "RUNBOOK_SESSION=7\n"
                            "RUNBOOK_STEP=2\n"
                            "RUNBOOK_TARGET=local\n",
                            home) == 0);
        check_out(&run, expect, "");
        run_clear(&run);
        check(unsetenv("RUNBOOK_TEST_LEAK") == 0);

        run_command("pwd", 0, 0, &run);
        check_out(&run, "/\n", "");
        run_clear(&run);
}

static void run_on_target(const char *target_json, const char *cmd, Run *run) {
        Target t = { .name = (char *) "as-user", .connector = (char *) "local" };
        json_error_t je;
        sd_event *e = NULL;

        t.config = json_loads(target_json, 0, &je);
        check(t.config);
        check(sd_event_new(&e) >= 0);
        check(connector_start(&connector_local, e, &(StepRequest) { .session_id = 7, .step_index = 2, .command = cmd,
                                                                   .target = &t }, run_on_done, run, &run->job) == 0);
        check(!run->done);
        run_until_done(e, run, 20 * USEC_PER_SEC);
        run->job = connector_job_free(run->job);
        sd_event_unref(e);
        json_decref(t.config);
}

/* A local target's "user" and "group", in direct mode: runbookd (root) switches to them in the
 * child; a user that does not exist, or "unit_properties" that only systemd could apply, refuse
 * the step with the reason (the command never runs). */
static void test_run_as_user(void) {
        _cleanup_free_ char *flag = tmp_path("ran-as-user"), *cmd = NULL;
        struct passwd *pw = getpwnam("nobody");
        Run run = {};

        if (geteuid() == 0 && pw) {
                _cleanup_free_ char *expect = NULL;
                check(asprintf_safe(&expect, "%u %u %s %s %s\n", (unsigned) pw->pw_uid, (unsigned) pw->pw_gid,
                                    pw->pw_dir, pw->pw_name, pw->pw_name) == 0);
                run_on_target("{\"connector\": \"local\", \"user\": \"nobody\"}",
                              "echo $(id -u) $(id -g) $HOME $USER $LOGNAME", &run);
                check_exited(&run, 0);
                check_out(&run, expect, "");
                run_clear(&run);
                /* the group replaces the user's own; supplementary groups are the user's */
                run_on_target("{\"connector\": \"local\", \"user\": \"nobody\", \"group\": \"adm\"}",
                              "id -gn; id -un", &run);
                check_exited(&run, 0);
                check_out(&run, "adm\nnobody\n", "");
                run_clear(&run);
        } else
                fprintf(stderr, "not root: the user switch itself is not tried\n");

        check(asprintf_safe(&cmd, "touch %s", flag) == 0);
        run_on_target("{\"connector\": \"local\", \"user\": \"no-such-user-rb\"}", cmd, &run);
        check_int(run.result.outcome, OUTCOME_ERROR);
        check_int(run.result.error, -ENOENT);
        check_streq(run.result.message, "user 'no-such-user-rb' of target 'as-user' does not exist on this host");
        run_clear(&run);
        run_on_target("{\"connector\": \"local\", \"user\": \"root\", \"group\": \"no-such-group-rb\"}", cmd, &run);
        check_int(run.result.outcome, OUTCOME_ERROR);
        check_streq(run.result.message, "group 'no-such-group-rb' of target 'as-user' does not exist on this host");
        run_clear(&run);
        run_on_target("{\"connector\": \"local\", \"unit_properties\": {\"MemoryMax\": \"1G\"}}", cmd, &run);
        check_int(run.result.outcome, OUTCOME_ERROR);
        check_int(run.result.error, -EOPNOTSUPP);
        check_streq(run.result.message, "target 'as-user' sets \"unit_properties\", which apply only to steps run as "
                    "systemd units (systemd is not PID 1 here, or runbookd.json says \"local_steps\": \"direct\"); "
                    "not run without them");
        run_clear(&run);
        check(access(flag, F_OK) < 0 && errno == ENOENT);
}

static void test_stdin_null(void) {
        Run run = {};

        run_command("cat; readlink /proc/self/fd/0", 0, 0, &run);
        check_exited(&run, 0);
        check_out(&run, "/dev/null\n", "");
        check(run.result.duration_usec < 5 * USEC_PER_SEC);
        run_clear(&run);
}

static void test_process_state(void) {
        int leak;
        Run run = {};

        /* An fd of ours without CLOEXEC must not reach the command. */
        leak = open("/dev/null", O_RDONLY);
        check(leak > 2);

        /* Not in a pipeline: then the shell holds nothing but 0..2 while ls runs. */
        run_command("ls /proc/$$/fd", 0, 0, &run);
        check_exited(&run, 0);
        check_out(&run, "0\n1\n2\n", "");
        run_clear(&run);
        close(leak);

        /* Signal mask and dispositions are reset (we block SIGCHLD/SIGTERM and ignore SIGPIPE). */
        /* /proc/self: grep inherited them; the shell itself blocks signals briefly around fork(). */
        run_command("grep -E '^Sig(Blk|Ign):' /proc/self/status", 0, 0, &run);
        check_exited(&run, 0);
        check_out(&run, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n", "");
        run_clear(&run);

        /* Own process group, led by the shell. */
        run_command("echo $$; cut -d' ' -f5 /proc/$$/stat", 0, 0, &run);
        check_exited(&run, 0);
        {
                int a = 0, b = 0;
                check(sscanf((const char *) run.out, "%d\n%d\n", &a, &b) == 2);
                check_int(a, b);
                check(a != getpgrp());
        }
        run_clear(&run);
}

static void test_killed_by_signal(void) {
        Run run = {};

        run_command("kill -SEGV $$", 0, 0, &run);
        check_int(run.result.outcome, OUTCOME_KILLED);
        check_int(run.result.exit_status, -1);
        check_int(run.result.signal, SIGSEGV);
        check_streq(run.result.message, "killed by signal SIGSEGV");
        run_clear(&run);

        run_command("echo before; kill -USR1 $$; echo after", 0, 0, &run);
        check_int(run.result.outcome, OUTCOME_KILLED);
        check_int(run.result.signal, SIGUSR1);
        check_streq(run.result.message, "killed by signal SIGUSR1");
        check_out(&run, "before\n", "");
        run_clear(&run);
}

static void test_exec_failure(void) {
        Run run = {};

        connector_local_set_shell("/nonexistent/sh");
        run_command("true", 0, 0, &run);
        connector_local_set_shell(NULL);
        check_int(run.result.outcome, OUTCOME_ERROR);
        check_int(run.result.error, -ENOENT);
        check_int(run.result.exit_status, -1);
        check_streq(run.result.message, "failed to execute /nonexistent/sh: No such file or directory");
        check_out(&run, "", "");
        run_clear(&run);
}

static void test_free_in_done(void) {
        Run run = { .free_in_done = true };

        run_command("echo x; sleep 100 &", 0, 0, &run);
        check(!run.job);
        check_exited(&run, 0);
        check_out(&run, "x\n", "");
        run_clear(&run);
}

static void test_free_while_running(void) {
        _cleanup_free_ char *bg = tmp_path("bg.pid"), *sh = tmp_path("sh.pid"), *cmd = NULL;
        sd_event *e = NULL;
        Run run = {};
        pid_t sh_pid, bg_pid;

        check(sd_event_new(&e) >= 0);
        check(asprintf_safe(&cmd, "sleep 300 & echo $! > %s; echo $$ > %s.tmp; mv %s.tmp %s; sleep 300",
                            bg, sh, sh, sh) == 0);
        start(e, cmd, 0, 0, &run);
        for (usec_t end = now_usec(CLOCK_MONOTONIC) + 5 * USEC_PER_SEC; access(sh, F_OK) < 0;) {
                check(now_usec(CLOCK_MONOTONIC) < end);
                run_for(e, 10 * USEC_PER_MSEC);
        }
        sh_pid = read_pid(sh);
        bg_pid = read_pid(bg);

        run.job = connector_job_free(run.job);
        check(!run.done);
        /* No zombie: the shell was killed and reaped. */
        check(waitpid(sh_pid, NULL, WNOHANG) < 0 && errno == ECHILD);
        check(kill(sh_pid, 0) < 0 && errno == ESRCH);
        check_gone(bg_pid);

        run_for(e, 50 * USEC_PER_MSEC);
        check(!run.done);
        sd_event_unref(e);
        run_clear(&run);
}

static void test_find(void) {
        check(connector_find("local") == &connector_local);
        check_streq(connector_find("local")->name, "local");
        check(!connector_find("nope"));
        check(!connector_find(NULL));
}

static void test_start_invalid(void) {
        StepRequest req = { .command = NULL, .target = &local_target };
        ConnectorJob *job = NULL;
        sd_event *e = NULL;
        Run run = {};

        check(sd_event_new(&e) >= 0);
        check(connector_start(&connector_local, e, &req, run_on_done, &run, &job) == -EINVAL);
        check(!job);
        check(!run.done);
        sd_event_unref(e);
}

/* Target.Check() through the local connector: one stage, "run"; a failing shell; the timeout; a
 * connector without the hook. */
static void on_check_done(ConnectorCheck *c, void *userdata) {
        int *calls = userdata;
        (*calls)++;
}

static ConnectorCheck *check_run(sd_event *e, usec_t timeout, int *calls) {
        ConnectorCheck *c = NULL;
        usec_t end = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

        *calls = 0;
        check(connector_check_start(&connector_local, e, &local_target, timeout, on_check_done, calls, &c) == 0);
        check(*calls == 0);   /* never from within the call */
        while (*calls == 0) {
                check(now_usec(CLOCK_MONOTONIC) < end);
                check(sd_event_run(e, 100 * USEC_PER_MSEC) >= 0);
        }
        run_for(e, 50 * USEC_PER_MSEC);
        check(*calls == 1);
        check(c->finished);
        check(c->n_stages == 1);
        check_streq(c->stages[0].name, "run");
        return c;
}

static void test_check(void) {
        _cleanup_free_ char *slow = tmp_path("slow-sh");
        ConnectorCheck *c = NULL;
        sd_event *e = NULL;
        int calls;
        FILE *f;

        check(sd_event_new(&e) >= 0);

        c = check_run(e, 5 * USEC_PER_SEC, &calls);
        check(c->stages[0].verdict == CHECK_OK);
        check(strstr(c->stages[0].reason, "'/bin/sh -c true' exited with status 0"));
        check(connector_check_passed(c));
        check_streq(check_verdict_to_string(c->stages[0].verdict), "ok");
        c = connector_check_free(c);

        connector_local_set_shell("/nonexistent/sh");
        c = check_run(e, 5 * USEC_PER_SEC, &calls);
        connector_local_set_shell(NULL);
        check(c->stages[0].verdict == CHECK_FAILED);
        check(strstr(c->stages[0].reason, "/nonexistent/sh"));
        check(!connector_check_passed(c));
        c = connector_check_free(c);

        /* a shell that hangs: the check's timeout fails the stage, and the shell is gone */
        check(f = fopen(slow, "we"));
        fputs("#!/bin/sh\nexec sleep 30\n", f);
        check(fclose(f) == 0);
        check(chmod(slow, 0755) == 0);
        connector_local_set_shell(slow);
        c = check_run(e, 300 * USEC_PER_MSEC, &calls);
        connector_local_set_shell(NULL);
        check(c->stages[0].verdict == CHECK_FAILED);
        check(strstr(c->stages[0].reason, "timed out"));
        c = connector_check_free(c);

        /* Azure RBAC action patterns (azure-decode.c): '*' wildcards, case-insensitive */
        check(azure_action_matches("*", "Microsoft.Compute/virtualMachines/runCommands/write"));
        check(azure_action_matches("Microsoft.Compute/virtualMachines/*", "Microsoft.Compute/virtualMachines/runCommand/action"));
        check(azure_action_matches("microsoft.compute/*/runCommands/*", "Microsoft.Compute/virtualMachines/runCommands/write"));
        check(azure_action_matches("*/read", "Microsoft.Compute/virtualMachines/runCommands/read"));
        check(!azure_action_matches("*/read", "Microsoft.Compute/virtualMachines/runCommands/write"));
        check(!azure_action_matches("Microsoft.Compute/virtualMachines/runCommands/*", "Microsoft.Compute/virtualMachines/runCommand/action"));
        check(!azure_action_matches("Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/virtualMachines/readX"));
        check(azure_action_matches("a**b*c", "aXbYbZc"));
        check(!azure_action_matches("", "a"));

        /* a connector without the hook */
        static const ConnectorVTable no_check = { .name = "no-check" };
        check(connector_check_start(&no_check, e, &local_target, 0, on_check_done, &calls, &c) == -EOPNOTSUPP);
        check(!c);
        sd_event_unref(e);
}

int main(void) {
        test_process_setup();
        /* Orphaned background processes of the commands become our children, so that the tests
         * can see them gone (PID 1 here may not reap zombies). */
        check(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
        check(mkdtemp(tmpdir));
        /* spawned directly, whether or not this machine runs systemd */
        check(connector_local_configure(LOCAL_STEPS_DIRECT, NULL) == 0);

        TEST(find);
        TEST(start_invalid);
        TEST(true);
        TEST(exit_status);
        TEST(stdout_stderr);
        TEST(output_cap);
        TEST(large_output_both_streams);
        TEST(timeout);
        TEST(timeout_escalation);
        TEST(cancel);
        TEST(background_leftover);
        TEST(environment);
        TEST(run_as_user);
        TEST(stdin_null);
        TEST(process_state);
        TEST(killed_by_signal);
        TEST(exec_failure);
        TEST(free_in_done);
        TEST(free_while_running);
        TEST(check);

        {
                _cleanup_free_ char *cmd = NULL;
                check(asprintf_safe(&cmd, "rm -rf '%s'", tmpdir) == 0);
                check(system(cmd) == 0);
        }
        return 0;
}
