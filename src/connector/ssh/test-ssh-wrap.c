/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-ssh-wrap.c: the ssh connector's command wrapper (ssh-wrap.c), run here by /bin/sh as a login
 * shell would run it on the host, in the three situations it handles: the shell already leads a
 * process group (OpenSSH), it does not (dropbear: setsid makes one), and it does not and there is
 * no setsid (only the shell can be signalled, and the header says why). In each, the command's
 * exit status and a killing signal come back as the command's own, its variables are set and
 * the wrapper's argument does not leak into it. Then the header parser and the kill commands. */

#undef NDEBUG
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "connector/ssh/ssh-wrap.h"
#include "shared/macro.h"
#include "shared/tests.h"

typedef enum Situation {
        LEADER,         /* the shell leads its own group, as under OpenSSH */
        MEMBER,         /* the shell is in its parent's group, as under dropbear */
        MEMBER_NO_SETSID,
} Situation;

/* The command prints its shell's pid and process group and its variables, then runs 'tail'. */
#define PROBE "a=\"$0|$1|\"; read -r s </proc/$$/stat; s=${s##*) }; set -- $s; " \
              "echo \"pid=$$ pgid=$3 v=$RUNBOOK_SESSION/$RUNBOOK_STEP/$RUNBOOK_TARGET args=$a\"; "

typedef struct Ran {
        pid_t pid;
        int status;
        char out[1024];
} Ran;

static void run_wrapped(Situation how, const char *tail, Ran *ret) {
        _cleanup_free_ char *wrapped = NULL, *command = NULL;
        int fd[2];
        size_t n = 0;
        ssize_t k;

        check(asprintf(&command, PROBE "%s", tail) > 0);
        check(ssh_wrap_command(7, 2, "web", NULL, command, &wrapped) == 0);
        check(pipe(fd) == 0);
        *ret = (Ran) {};
        ret->pid = fork();
        check(ret->pid >= 0);
        if (ret->pid == 0) {
                dup2(fd[1], STDOUT_FILENO);
                close(fd[0]);
                close(fd[1]);
                if (how == LEADER && setsid() < 0)
                        _exit(120);
                /* /bin/sh is found by its path, setsid and ps by PATH */
                execle("/bin/sh", "sh", "-c", wrapped, (char *) NULL,
                       (char *[]) { how == MEMBER_NO_SETSID ? "PATH=/nonexistent" : "PATH=/usr/bin:/bin", NULL });
                _exit(121);
        }
        close(fd[1]);
        while ((k = read(fd[0], ret->out + n, sizeof ret->out - 1 - n)) > 0)
                n += (size_t) k;
        ret->out[n] = 0;
        close(fd[0]);
        check(waitpid(ret->pid, &ret->status, 0) == ret->pid);
}

static void check_situation(Situation how) {
        char want[512];
        SshWrapHeader h;
        Ran r;
        long pgid = how == LEADER || how == MEMBER ? 0 : (long) getpgrp();

        run_wrapped(how, "exit 200", &r);
        fprintf(stderr, "   %d: %s", how, r.out);
        check(WIFEXITED(r.status));
        check_int(WEXITSTATUS(r.status), 200);   /* every status is the command's own */

        check(ssh_wrap_parse_header(r.out, &h) == -EBADMSG);   /* two lines */
        {
                char line[sizeof r.out] = "";
                const char *nl = strchr(r.out, '\n');
                check(nl);
                memcpy(line, r.out, (size_t) (nl - r.out) + 1);
                check(ssh_wrap_parse_header(line, &h) == 0);
        }
        check_int(h.pid, r.pid);
        if (how == MEMBER_NO_SETSID) {
                check(!h.group);
                check_streq(h.reason, "there is no setsid command");
        } else {
                check(h.group);
                pgid = r.pid;   /* the command leads its own group */
        }
        /* the same process all along (exec, no fork): the header's pid runs the command */
        snprintf(want, sizeof want, "pid=%ld pgid=%ld v=7/2/web args=/bin/sh||\n", (long) r.pid, pgid);
        check_streq(strchr(r.out, '\n') + 1, want);

        /* a signal that kills the command is the process's own end */
        run_wrapped(how, "kill -TERM $$", &r);
        check(WIFSIGNALED(r.status));
        check_int(WTERMSIG(r.status), SIGTERM);
}

static void test_leader(void) {
        check_situation(LEADER);
}

static void test_member(void) {
        check_situation(MEMBER);
}

static void test_member_no_setsid(void) {
        check_situation(MEMBER_NO_SETSID);
}

/* The step's command is data for the wrapper: quotes, $1 and a newline reach /bin/sh -c intact. */
static void test_command_is_data(void) {
        Ran r;

        run_wrapped(MEMBER, "printf '%s\\n' \"it's\" '$1' \"$(echo 'a\nb')\"", &r);
        check(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
        check(strstr(r.out, "\nit's\n$1\na\nb\n"));
}

static void test_parse(void) {
        SshWrapHeader h;

        check(ssh_wrap_parse_header("runbookd-pgid 1234\n", &h) == 0);
        check(h.group && h.pid == 1234);
        check(ssh_wrap_parse_header("runbookd-pid 99 there is no setsid command\n", &h) == 0);
        check(!h.group && h.pid == 99);
        check_streq(h.reason, "there is no setsid command");

        static const char *const bad[] = {
                "runbookd-pgid 1234", "runbookd-pgid 1\n", "runbookd-pgid 0\n", "runbookd-pgid -5\n",
                "runbookd-pgid 12x\n", "runbookd-pgid 12 x\n", "runbookd-pgid 99999999999999999999999\n",
                "runbookd-pid 99\n", "runbookd-pid 99 \n", "runbookd-pid 99 a\tb\n", "runbookd-pid 99 a\n\n",
                "hello\n", "", "runbookd-pgid \n",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                h = (SshWrapHeader) { .pid = 5 };
                check(ssh_wrap_parse_header(bad[i], &h) == -EBADMSG);
                check_int(h.pid, 5);   /* untouched */
        }
}

static void test_kill_commands(void) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        check(ssh_wrap_kill_command(&(SshWrapHeader) { .pid = 321, .group = true }, "TERM", &a) == 0);
        check_streq(a, "kill -TERM -321; kill -CONT -321; true");
        check(ssh_wrap_kill_command(&(SshWrapHeader) { .pid = 321, .group = true }, "KILL", &b) == 0);
        check_streq(b, "kill -KILL -321; true");
        check(ssh_wrap_kill_command(&(SshWrapHeader) { .pid = 321 }, "KILL", &c) == 0);
        check_streq(c, "kill -KILL 321; true");
}

/* The kill commands work in dash (Debian's /bin/sh, the login shell of many a service user),
 * whose kill takes no "--": a wrapped command in its own group, and a child of it, end by the
 * signal sent to the group. */
static void test_kill_in_dash(void) {
        const char *shells[] = { "/bin/sh", "/bin/dash", "/bin/bash" };

        for (size_t i = 0; i < sizeof shells / sizeof shells[0]; i++) {
                _cleanup_free_ char *wrapped = NULL, *kill_cmd = NULL;
                SshWrapHeader h;
                char line[SSH_WRAP_HEADER_MAX] = "";
                int fd[2], status;
                pid_t pid, killer;
                ssize_t n;
                FILE *f;

                if (access(shells[i], X_OK) < 0)
                        continue;
                check(ssh_wrap_command(1, 0, "t", NULL, "sleep 300 & sleep 300", &wrapped) == 0);
                check(pipe(fd) == 0);
                pid = fork();
                check(pid >= 0);
                if (pid == 0) {
                        dup2(fd[1], STDOUT_FILENO);
                        close(fd[0]);
                        close(fd[1]);
                        execl(shells[i], "sh", "-c", wrapped, (char *) NULL);
                        _exit(121);
                }
                close(fd[1]);
                f = fdopen(fd[0], "r");
                check(f && fgets(line, sizeof line, f));
                check(ssh_wrap_parse_header(line, &h) == 0 && h.group);
                check(ssh_wrap_kill_command(&h, "TERM", &kill_cmd) == 0);
                killer = fork();
                check(killer >= 0);
                if (killer == 0) {
                        execl(shells[i], "sh", "-c", kill_cmd, (char *) NULL);
                        _exit(121);
                }
                check(waitpid(killer, &status, 0) == killer && WIFEXITED(status) && WEXITSTATUS(status) == 0);
                check(waitpid(pid, &status, 0) == pid);
                check(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
                /* the background sleep, in the same group, got it too: the pipe's last writer is gone */
                n = (ssize_t) fread(line, 1, sizeof line, f);
                check_int(n, 0);
                check(feof(f));
                fclose(f);
                fprintf(stderr, "   %s: group %ld ended by SIGTERM\n", shells[i], h.pid);
        }
}

/* With secrets: the wrapped shell reads their values from stdin (as the connector sends them),
 * exports them, and the command's own stdin is empty; in each situation. */
static void test_secrets(void) {
        for (Situation how = LEADER; how <= MEMBER_NO_SETSID; how++) {
                _cleanup_free_ char *wrapped = NULL;
                const char *values = "v a'l $(x)\nsecond\nleft over\n";
                int in[2], out[2];
                char buf[1024];
                size_t n = 0;
                ssize_t k;
                pid_t pid;
                int status;

                check(ssh_wrap_command(1, 0, "t",
                                       "IFS= read -r RUNBOOK_SECRET_A; IFS= read -r RUNBOOK_SECRET_B; "
                                       "export RUNBOOK_SECRET_A RUNBOOK_SECRET_B; ",
                                       "printf '[%s][%s]\\n' \"$RUNBOOK_SECRET_A\" \"$RUNBOOK_SECRET_B\"; "
                                       "while IFS= read -r l; do echo \"stdin: $l\"; done; echo end", &wrapped) == 0);
                check(pipe(in) == 0 && pipe(out) == 0);
                pid = fork();
                check(pid >= 0);
                if (pid == 0) {
                        dup2(in[0], STDIN_FILENO);
                        dup2(out[1], STDOUT_FILENO);
                        close(in[0]);
                        close(in[1]);
                        close(out[0]);
                        close(out[1]);
                        if (how == LEADER && setsid() < 0)
                                _exit(120);
                        execle("/bin/sh", "sh", "-c", wrapped, (char *) NULL,
                               (char *[]) { how == MEMBER_NO_SETSID ? "PATH=/nonexistent" : "PATH=/usr/bin:/bin", NULL });
                        _exit(121);
                }
                close(in[0]);
                close(out[1]);
                check(write(in[1], values, strlen(values)) == (ssize_t) strlen(values));
                close(in[1]);
                while ((k = read(out[0], buf + n, sizeof buf - 1 - n)) > 0)
                        n += (size_t) k;
                buf[n] = 0;
                close(out[0]);
                check(waitpid(pid, &status, 0) == pid);
                check(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                fprintf(stderr, "   %d: %s", how, buf);
                /* after the header line: the values, and nothing from stdin */
                char *body = strchr(buf, '\n');
                check(body);
                check_streq(body + 1, "[v a'l $(x)][second]\nend\n");
        }
}

int main(void) {
        TEST(leader);
        TEST(member);
        TEST(member_no_setsid);
        TEST(command_is_data);
        TEST(parse);
        TEST(kill_commands);
        TEST(kill_in_dash);
        TEST(secrets);
        return 0;
}
