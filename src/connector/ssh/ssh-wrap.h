/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* ssh-wrap.h: the shell text the ssh connector sends for a step, and the line it reports back
 * first: which process group (or, failing that, which process) timeout and cancel signal. */

#include <stdbool.h>
#include <stdint.h>

/* The longest first line the wrapper prints, newline included. */
#define SSH_WRAP_HEADER_MAX 160

/* Wraps 'command' (run by /bin/sh -c on the host, with RUNBOOK_SESSION, RUNBOOK_STEP and
 * RUNBOOK_TARGET exported) for the login shell: see ssh-wrap.c. 'read_secrets' (NULL or "": none)
 * is shell text that reads the secrets' values from standard input (step_secrets_read_script()),
 * run before the command, whose stdin is then /dev/null. */
int ssh_wrap_command(uint32_t session_id, uint32_t step_index, const char *target, const char *read_secrets,
                     const char *command, char **ret);

typedef struct SshWrapHeader {
        long pid;               /* the process to signal (> 1) */
        bool group;             /* pid is a process group of the command's own: signal -pid */
        char reason[128];       /* !group: why not, in words */
} SshWrapHeader;

/* Parses the wrapper's first line (with its newline). -EBADMSG if it is not one. */
int ssh_wrap_parse_header(const char *line, SshWrapHeader *ret);

/* The shell command that sends SIG<sig> (a name: "TERM", "KILL") as the header says; TERM is
 * followed by CONT, for a stopped command. */
int ssh_wrap_kill_command(const SshWrapHeader *h, const char *sig, char **ret);
