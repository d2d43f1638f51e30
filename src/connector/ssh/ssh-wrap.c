/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ssh-wrap.c: the shell text for a step on an SSH host.
 *
 * Closing an SSH channel does not stop its command (without a pty no server signals it), so the
 * connector stops a command by running 'kill' over a second channel, and needs a process group
 * that holds the command and everything it starts, and nothing else. OpenSSH starts the login
 * shell of a session in a session of its own (setsid()), so that shell leads such a group;
 * dropbear and others start it in their own process group, where 'kill -- -$$' finds nothing (and
 * the server's group must not be signalled). So the command sent is
 *
 *     exec /bin/sh -c <WRAPPER> sh <INNER>          (each shell-quoted)
 *
 * where WRAPPER, a fixed text (nothing of the step's in it: the step's command is its argument),
 * finds the process group of its own shell ($$) from /proc/$$/stat, or else 'ps -o pgid=', and
 *   - if $$ leads its group (OpenSSH): prints "runbookd-pgid $$" and execs /bin/sh -c INNER;
 *   - if not, and setsid(1) is there (util-linux, busybox): execs setsid, which (not being a
 *     group leader, it does not fork) makes the same process the leader of a new session and
 *     group, whose shell prints "runbookd-pgid $$" and execs /bin/sh -c INNER;
 *   - otherwise prints "runbookd-pid $$ <why>" and execs /bin/sh -c INNER: only that process can
 *     be signalled, and a stopped step says so.
 * Every path execs in the same process, so the exit status (all 0-255) and a killing signal
 * reach the server as the command's own. INNER exports RUNBOOK_SESSION, RUNBOOK_STEP and
 * RUNBOOK_TARGET, then runs the step's command. With secret parameters, INNER first reads their
 * values from its standard input, which the connector sends on the channel (one a line, then
 * EOF), into RUNBOOK_SECRET_* and exports them, and runs the command with /dev/null as stdin:
 * a command line (ps on the host shows this one) never holds a value, and no AcceptEnv is needed. The connector strips the first line from stdout
 * before anything reaches the capture. */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/template.h"
#include "connector/ssh/ssh-wrap.h"
#include "shared/util.h"

#define HEADER_GROUP "runbookd-pgid "
#define HEADER_PROCESS "runbookd-pid "

/* $1: INNER. */
static const char wrapper[] =
        "c=$1 p=$$ g=; "
        "if [ -r /proc/$p/stat ]; then read -r s </proc/$p/stat; s=${s##*) }; set -f; set -- $s; set +f; g=${3-}; "
        "else set -f; set -- $(ps -o pgid= -p $p 2>/dev/null); set +f; g=${1-}; fi; "
        "if [ \"$g\" = \"$p\" ]; then printf '" HEADER_GROUP "%s\\n' \"$p\"; exec /bin/sh -c \"$c\"; fi; "
        "if [ -n \"$g\" ] && command -v setsid >/dev/null 2>&1; then "
        "exec setsid /bin/sh -c 'printf \"" HEADER_GROUP "%s\\n\" \"$$\"; exec /bin/sh -c \"$1\"' sh \"$c\"; fi; "
        "if [ -n \"$g\" ]; then w='there is no setsid command'; "
        "else w='its process group is unknown (no /proc, no ps)'; fi; "
        "printf '" HEADER_PROCESS "%s %s\\n' \"$p\" \"$w\"; exec /bin/sh -c \"$c\"";

int ssh_wrap_command(uint32_t session_id, uint32_t step_index, const char *target, const char *read_secrets,
                     const char *command, char **ret) {
        _cleanup_free_ char *inner = NULL, *q = NULL, *qw = NULL;
        bool secrets = read_secrets && *read_secrets;

        /* the variables are set by the shell that runs the command: no env(1) to exec in between */
        if (asprintf_safe(&inner, "RUNBOOK_SESSION=%" PRIu32 " RUNBOOK_STEP=%" PRIu32 " RUNBOOK_TARGET=%s; "
                          "export RUNBOOK_SESSION RUNBOOK_STEP RUNBOOK_TARGET; %s%s%s",
                          session_id, step_index, target, secrets ? read_secrets : "",
                          secrets ? "exec </dev/null; " : "", command) < 0)
                return -ENOMEM;
        q = shell_quote(inner);
        qw = shell_quote(wrapper);
        if (!q || !qw)
                return -ENOMEM;
        return asprintf_safe(ret, "exec /bin/sh -c %s sh %s", qw, q) < 0 ? -ENOMEM : 0;
}

int ssh_wrap_parse_header(const char *line, SshWrapHeader *ret) {
        SshWrapHeader h = {};
        const char *p;
        char *end;
        size_t n;

        if (strncmp(line, HEADER_GROUP, strlen(HEADER_GROUP)) == 0) {
                p = line + strlen(HEADER_GROUP);
                h.group = true;
        } else if (strncmp(line, HEADER_PROCESS, strlen(HEADER_PROCESS)) == 0)
                p = line + strlen(HEADER_PROCESS);
        else
                return -EBADMSG;
        if (*p < '1' || *p > '9')
                return -EBADMSG;
        errno = 0;
        h.pid = strtol(p, &end, 10);
        if (errno != 0 || h.pid <= 1)
                return -EBADMSG;
        if (h.group) {
                if (strcmp(end, "\n") != 0)
                        return -EBADMSG;
        } else {
                if (*end != ' ')
                        return -EBADMSG;
                end++;
                n = strcspn(end, "\n");
                if (n == 0 || end[n] != '\n' || end[n + 1] != 0 || n >= sizeof h.reason)
                        return -EBADMSG;
                for (size_t i = 0; i < n; i++)
                        if ((unsigned char) end[i] < 0x20 || end[i] == 0x7f)
                                return -EBADMSG;
                memcpy(h.reason, end, n);
        }
        *ret = h;
        return 0;
}

int ssh_wrap_kill_command(const SshWrapHeader *h, const char *sig, char **ret) {
        /* "kill -SIG -PGID": the form every login shell's kill takes (dash's has no "--") */
        const char *g = h->group ? "-" : "";
        int r;

        if (streq(sig, "TERM"))
                r = asprintf_safe(ret, "kill -TERM %s%ld; kill -CONT %s%ld; true", g, h->pid, g, h->pid);
        else
                r = asprintf_safe(ret, "kill -%s %s%ld; true", sig, g, h->pid);
        return r < 0 ? -ENOMEM : 0;
}
