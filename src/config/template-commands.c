/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* template-commands.c: what template_check_placements() knows of the programs a step may run.
 * A program not listed here takes its arguments as data; docs/runbooks.md says what that means
 * for a runbook's author. */
#include <string.h>

#include "config/template.h"
#include "shared/util.h"

/* Shell options: bash's and dash's; -s and -i read the program from standard input. */
#define SH_SHORT "abCefhkmnptuvxBEHPTlrc" "s@i@" "o:O:"
#define SH_LONG "norc,noprofile,posix,login,noediting,verbose,debugger,restricted,help,version,rcfile!,init-file!"

static const CommandSpec command_specs[] = {
        /* builtins that run, source or evaluate their arguments (bash evaluates the subscript of
         * a variable name given to read, declare, unset, … as arithmetic, which runs $(…)) */
        { ".",         RULE_EVAL, COMMAND_STDINPATH, "", "", 0 },
        { "source",    RULE_EVAL, COMMAND_STDINPATH, "", "", 0 },
        { "eval",      RULE_EVAL, 0, "", "", 0 },
        { "trap",      RULE_EVAL, 0, "", "", 0 },
        { "let",       RULE_EVAL, 0, "", "", 0 },
        { "alias",     RULE_EVAL, 0, "", "", 0 },
        { "declare",   RULE_DECLARE, 0, "", "", 0 },
        { "typeset",   RULE_DECLARE, 0, "", "", 0 },
        { "local",     RULE_DECLARE, 0, "", "", 0 },
        { "export",    RULE_DECLARE, 0, "", "", 0 },
        { "readonly",  RULE_DECLARE, 0, "", "", 0 },
        { "read",      RULE_EVAL, 0, "", "", 0 },
        { "readarray", RULE_EVAL, 0, "", "", 0 },
        { "mapfile",   RULE_EVAL, 0, "", "", 0 },
        { "unset",     RULE_EVAL, 0, "", "", 0 },
        { "getopts",   RULE_EVAL, 0, "", "", 0 },
        { "fc",        RULE_EVAL, 0, "", "", 0 },
        { "bind",      RULE_EVAL, 0, "", "", 0 },
        { "complete",  RULE_EVAL, 0, "", "", 0 },
        { "compgen",   RULE_EVAL, 0, "", "", 0 },
        { "enable",    RULE_EVAL, 0, "", "", 0 },
        { "hash",      RULE_EVAL, 0, "", "", 0 },
        { "coproc",    RULE_EVAL, 0, "", "", 0 },
        /* programs that run a command line or a script they are given in ways not followed here */
        { "crontab",   RULE_EVAL, 0, "", "", 0 },
        { "at",        RULE_EVAL, 0, "", "", 0 },
        { "batch",     RULE_EVAL, 0, "", "", 0 },
        { "systemd-run", RULE_EVAL, 0, "", "", 0 },
        { "machinectl", RULE_EVAL, 0, "", "", 0 },
        { "nsenter",   RULE_EVAL, 0, "", "", 0 },
        { "unshare",   RULE_EVAL, 0, "", "", 0 },
        { "setpriv",   RULE_EVAL, 0, "", "", 0 },
        { "capsh",     RULE_EVAL, 0, "", "", 0 },
        { "strace",    RULE_EVAL, 0, "", "", 0 },
        { "ltrace",    RULE_EVAL, 0, "", "", 0 },
        { "valgrind",  RULE_EVAL, 0, "", "", 0 },
        { "gdb",       RULE_EVAL, 0, "", "", 0 },
        { "script",    RULE_EVAL, 0, "", "", 0 },
        { "tmux",      RULE_EVAL, 0, "", "", 0 },
        { "screen",    RULE_EVAL, 0, "", "", 0 },
        { "parallel",  RULE_EVAL, 0, "", "", 0 },
        { "pdsh",      RULE_EVAL, 0, "", "", 0 },
        { "pssh",      RULE_EVAL, 0, "", "", 0 },
        { "clush",     RULE_EVAL, 0, "", "", 0 },
        { "ansible",   RULE_EVAL, 0, "", "", 0 },
        { "m4",        RULE_EVAL, 0, "", "", 0 },
        { "tclsh",     RULE_EVAL, COMMAND_VERSIONED, "", "", 0 },
        { "wish",      RULE_EVAL, COMMAND_VERSIONED, "", "", 0 },
        { "expect",    RULE_EVAL, 0, "", "", 0 },
        { "xterm",     RULE_EVAL, 0, "", "", 0 },

        /* command lines handed to another shell */
        { "ssh",       RULE_JOIN, 0, "46AaCfGgKkMNnqsTtVvXxYy" "B:b:c:D:E:e:i:J:L:l:m:O:p:Q:R:S:W:w:" "F!I!o!", "", 1 },
        { "su",        RULE_JOIN, COMMAND_DASHFLAG, "lmpfP" "g:G:w:" "c!s!C!",
          "login,preserve-environment,pty,group:,supp-group:,whitelist-environment:,command!,session-command!,shell!", 1 },
        { "runuser",   RULE_JOIN, COMMAND_DASHFLAG, "lmpfP" "g:G:w:u:" "c!s!",
          "login,preserve-environment,pty,group:,supp-group:,whitelist-environment:,user:,command!,session-command!,shell!", 1 },
        { "watch",     RULE_JOIN, 0, "bcCegptxwr" "n:q:", "beep,color,no-color,errexit,chgexit,precise,no-title,exec,no-wrap,no-rerun,interval:", 0 },
        { "sg",        RULE_JOIN, 0, "", "", 1 },

        /* interpreters: the first operand (or the argument of a code option) is the program */
        { "sh",        RULE_PROG, COMMAND_SHELL | COMMAND_STDINPATH, SH_SHORT, SH_LONG, 0 },
        { "bash",      RULE_PROG, COMMAND_SHELL | COMMAND_STDINPATH, SH_SHORT, SH_LONG, 0 },
        { "dash",      RULE_PROG, COMMAND_SHELL | COMMAND_STDINPATH, SH_SHORT, SH_LONG, 0 },
        { "ash",       RULE_PROG, COMMAND_SHELL | COMMAND_STDINPATH, SH_SHORT, SH_LONG, 0 },
        { "ksh",       RULE_PROG, COMMAND_SHELL | COMMAND_STDINPATH, SH_SHORT, SH_LONG, 0 },
        { "mksh",      RULE_PROG, COMMAND_SHELL | COMMAND_STDINPATH, SH_SHORT, SH_LONG, 0 },
        { "zsh",       RULE_PROG, COMMAND_SHELL | COMMAND_STDINPATH, SH_SHORT, SH_LONG, 0 },
        { "awk",       RULE_PROG, COMMAND_STDINPATH, "bcCgMnNOPrStV" "F:v:" "f!e!E!i!l!",
          "field-separator:,assign:,file!,source!,exec!,include!,load!,characters-as-bytes,traditional,posix,re-interval,sandbox,lint,no-optimize,optimize,bignum,use-lc-numeric,non-decimal-data,csv", 0 },
        { "gawk",      RULE_PROG, COMMAND_STDINPATH, "bcCgMnNOPrStV" "F:v:" "f!e!E!i!l!",
          "field-separator:,assign:,file!,source!,exec!,include!,load!,characters-as-bytes,traditional,posix,re-interval,sandbox,lint,no-optimize,optimize,bignum,use-lc-numeric,non-decimal-data,csv", 0 },
        { "mawk",      RULE_PROG, COMMAND_STDINPATH, "F:v:" "f!W!", "", 0 },
        { "nawk",      RULE_PROG, COMMAND_STDINPATH, "F:v:" "f!", "", 0 },
        { "sed",       RULE_PROG, COMMAND_PERMUTE | COMMAND_STDINPATH, "nrEsuz" "i?" "l:" "e!f!",
          "quiet,silent,regexp-extended,separate,null-data,zero-terminated,unbuffered,posix,debug,sandbox,follow-symlinks,in-place?,line-length:,expression!,file!", 0 },
        { "perl",      RULE_PROG, COMMAND_VERSIONED | COMMAND_STDINPATH, "acnpsTtuUwWSXv" "l?0?i?x?C?" "I:" "e!E!M!m!", "", 0 },
        { "python",    RULE_PROG, COMMAND_VERSIONED | COMMAND_STDINPATH, "bBdEhiIOPqsSuvVx" "W:X:" "c!m!", "help,version", 0 },
        { "pypy",      RULE_PROG, COMMAND_VERSIONED | COMMAND_STDINPATH, "bBdEhiIOPqsSuvVx" "W:X:" "c!m!", "help,version", 0 },
        { "ruby",      RULE_PROG, COMMAND_VERSIONED | COMMAND_STDINPATH, "acdlnpsSvwy" "0?i?x?" "C:I:" "e!r!", "", 0 },
        { "node",      RULE_PROG, COMMAND_STDINPATH, "hvic" "e!p!r!",
          "eval!,print!,require!,import!,loader!,experimental-loader!,input-type:,check,interactive", 0 },
        { "nodejs",    RULE_PROG, COMMAND_STDINPATH, "hvic" "e!p!r!",
          "eval!,print!,require!,import!,loader!,experimental-loader!,input-type:,check,interactive", 0 },
        { "php",       RULE_PROG, COMMAND_VERSIONED | COMMAND_STDINPATH, "hivmsalnHqw" "c:d:" "r!f!B!R!F!E!z!", "", 0 },
        { "lua",       RULE_PROG, COMMAND_VERSIONED | COMMAND_STDINPATH, "iEvW" "e!l!", "", 0 },
        { "jq",        RULE_PROG, COMMAND_PERMUTE, "rncseSjaCMhRV" "f!L!",
          "arg::,argjson::,slurpfile::,rawfile::,args,jsonargs,raw-output,raw-output0,join-output,ascii-output,"
          "compact-output,null-input,slurp,exit-status,tab,indent:,sort-keys,raw-input,seq,stream,stream-errors,"
          "color-output,monochrome-output,unbuffered,from-file!", 0 },
        { "dc",        RULE_PROG, COMMAND_STDINPATH, "V" "e!f!", "expression!,file!", 0 },

        /* programs that run another program named by an operand */
        { "sudo",      RULE_WRAP, 0, "AbEeHKklnPSVh" "i@s@" "C:D:g:h:p:R:r:T:t:U:u:",
          "askpass,background,edit,preserve-env?,set-home,login@,remove-timestamp,reset-timestamp,list,non-interactive,"
          "preserve-groups,stdin,shell@,validate,version,help,close-from:,chdir:,group:,host:,prompt:,chroot:,role:,"
          "type:,command-timeout:,other-user:,user:", 0 },
        { "doas",      RULE_WRAP, 0, "Ln" "s@" "u:C:", "", 0 },
        { "env",       RULE_WRAP, COMMAND_DASHFLAG | COMMAND_ASSIGN, "i0v" "u:C:" "S!",
          "ignore-environment,null,unset:,chdir:,split-string!,debug,block-signal?,default-signal?,ignore-signal?,list-signal-handling", 0 },
        { "nice",      RULE_WRAP, 0, "0123456789" "n:", "adjustment:", 0 },
        { "nohup",     RULE_WRAP, 0, "", "", 0 },
        { "timeout",   RULE_WRAP, 0, "v" "k:s:", "foreground,preserve-status,verbose,kill-after:,signal:", 1 },
        { "stdbuf",    RULE_WRAP, 0, "i:o:e:", "input:,output:,error:", 0 },
        { "setsid",    RULE_WRAP, 0, "cfw", "ctty,fork,wait", 0 },
        { "ionice",    RULE_WRAP, 0, "t" "c:n:", "class:,classdata:,ignore", 0 },
        { "chroot",    RULE_WRAP, 0, "", "userspec:,groups:,skip-chdir", 1 },
        { "exec",      RULE_WRAP, 0, "cl" "a:", "", 0 },
        { "command",   RULE_WRAP, 0, "pvV", "", 0 },
        { "builtin",   RULE_WRAP, 0, "", "", 0 },
        { "time",      RULE_WRAP, 0, "apvq" "o:f:", "append,portability,verbose,quiet,output:,format:", 0 },
        { "chrt",      RULE_WRAP, 0, "abdefiomrRv" "T:P:D:", "", 1 },
        { "taskset",   RULE_WRAP, 0, "ac", "all-tasks,cpu-list", 1 },
        { "flock",     RULE_WRAP, 0, "sexnuoFv" "w:E:" "c!",
          "shared,exclusive,unlock,nonblock,no-fork,close,verbose,wait:,timeout:,conflict-exit-code:,command!", 1 },
        { "xargs",     RULE_WRAP, 0, "0prtx" "i?l?e?" "a<" "d:E:I:L:n:P:s:",
          "null,arg-file<,delimiter:,eof?,replace?,max-lines?,max-args:,max-procs:,max-chars:,interactive,verbose,"
          "no-run-if-empty,exit,open-tty,show-limits", 0 },
        { "busybox",   RULE_WRAP, 0, "", "", 0 },

        { "docker",    RULE_CONTAINER, 0, "", "", 0 },
        { "podman",    RULE_CONTAINER, 0, "", "", 0 },
        { "nerdctl",   RULE_CONTAINER, 0, "", "", 0 },
        { "kubectl",   RULE_CONTAINER, 0, "", "", 0 },
        { "oc",        RULE_CONTAINER, 0, "", "", 0 },
        { "crictl",    RULE_CONTAINER, 0, "", "", 0 },
        { "ctr",       RULE_CONTAINER, 0, "", "", 0 },
        { "lxc",       RULE_CONTAINER, 0, "", "", 0 },
        { "lxc-attach", RULE_EVAL, 0, "", "", 0 },

        { "find",      RULE_FIND, 0, "", "", 0 },
        { "test",      RULE_TEST, 0, "", "", 0 },
        { "[",         RULE_TEST, 0, "", "", 0 },
        { "printf",    RULE_PRINTF, 0, "", "", 0 },
};

static bool name_matches(const CommandSpec *s, const char *name) {
        size_t n = strlen(s->name);

        if (streq(s->name, name))
                return true;
        if (!(s->flags & COMMAND_VERSIONED) || strncmp(s->name, name, n) != 0 || name[n] == 0)
                return false;
        for (const char *p = name + n; *p; p++)
                if (!ascii_isdigit(*p) && *p != '.')
                        return false;
        return true;
}

const CommandSpec *command_spec_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(command_specs); i++)
                if (name_matches(&command_specs[i], name))
                        return &command_specs[i];
        return NULL;
}

/* Variables whose value decides which program runs or what it loads and runs. */
static const char *const dangerous_exact[] = {
        "PATH", "IFS", "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "PS4", "PROMPT_COMMAND", "GLOBIGNORE",
        "CDPATH", "SHELL", "EDITOR", "VISUAL", "PAGER", "MANPAGER", "SYSTEMD_PAGER", "BROWSER",
        "SUDO_ASKPASS", "SSH_ASKPASS", "GCONV_PATH", "HOSTALIASES", "OPENSSL_CONF", "NLSPATH", "LOCPATH",
        "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "RUBYOPT", "RUBYLIB", "NODE_OPTIONS", "NODE_PATH",
        "PERLLIB", "LESSOPEN", "LESSCLOSE", "HOME", "XDG_CONFIG_HOME", "TMPDIR",
};
static const char *const dangerous_prefix[] = {
        "LD_", "BASH_FUNC_", "PYTHON", "PERL5", "GIT_", "MALLOC_", "GLIBC_", "LUA_",
};

bool command_variable_is_dangerous(const char *name, size_t len) {
        for (size_t i = 0; i < ELEMENTSOF(dangerous_exact); i++)
                if (strlen(dangerous_exact[i]) == len && memcmp(dangerous_exact[i], name, len) == 0)
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(dangerous_prefix); i++) {
                size_t n = strlen(dangerous_prefix[i]);
                if (len >= n && memcmp(dangerous_prefix[i], name, n) == 0)
                        return true;
        }
        return false;
}
