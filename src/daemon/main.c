/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* runbookd: runs operational runbooks step by step, with approval gates, over D-Bus. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "config/window.h"
#include "daemon/manager.h"
#include "shared/log.h"

static const char *arg_config_dir = RUNBOOKD_CONFIG_DIR;
static const char *arg_vendor_dir = RUNBOOKD_VENDOR_DIR;
static char *arg_state_dir = NULL;

static void help(void) {
        printf("runbookd [OPTIONS...]\n\n"
               "Runs operational runbooks step by step, with approval gates, over D-Bus (org.runbookd1).\n\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "     --config-dir=DIR    Runbooks, targets and runbookd.json (default: %s)\n"
               "     --vendor-dir=DIR    Vendor defaults, overridden by the config dir (default: %s)\n"
               "     --state-dir=DIR     The state store (default: $STATE_DIRECTORY, else %s)\n"
               "     --log-level=LEVEL   debug, info, notice, warning or err (default: info)\n",
               RUNBOOKD_CONFIG_DIR, RUNBOOKD_VENDOR_DIR, RUNBOOKD_STATE_DIR);
}

static int parse_log_level(const char *s) {
        static const char *const names[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug" };
        for (int i = 0; i < (int) ELEMENTSOF(names); i++)
                if (streq(s, names[i]))
                        return i;
        return -EINVAL;
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_CONFIG_DIR, ARG_VENDOR_DIR, ARG_STATE_DIR, ARG_LOG_LEVEL };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config-dir", required_argument, NULL, ARG_CONFIG_DIR },
                { "vendor-dir", required_argument, NULL, ARG_VENDOR_DIR },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                {},
        };
        int c, l;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("runbookd %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_CONFIG_DIR:
                        arg_config_dir = optarg;
                        break;
                case ARG_VENDOR_DIR:
                        arg_vendor_dir = optarg;
                        break;
                case ARG_STATE_DIR:
                        free(arg_state_dir);
                        arg_state_dir = strdup(optarg);
                        if (!arg_state_dir)
                                return log_oom();
                        break;
                case ARG_LOG_LEVEL:
                        l = parse_log_level(optarg);
                        if (l < 0) {
                                log_error("Unknown log level '%s'.", optarg);
                                return -EINVAL;
                        }
                        log_set_max_level(l);
                        break;
                case '?':
                        return -EINVAL;
                default:
                        abort();
                }
        if (optind < argc) {
                log_error("This program takes no arguments.");
                return -EINVAL;
        }
        if (!arg_state_dir) {
                const char *e = getenv("STATE_DIRECTORY");
                /* systemd passes a colon-separated list: ours is the first */
                arg_state_dir = e && *e ? strndup(e, strcspn(e, ":")) : strdup(RUNBOOKD_STATE_DIR);
                if (!arg_state_dir)
                        return log_oom();
        }
        return 1;
}

static int run(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        sigset_t ss;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;

        umask(0022);
        /* change windows switch TZ to read local times (config/window.c); with TZ in the
         * environment from the start, before any thread, that only ever replaces its value in place */
        change_windows_init();
        /* runbookd holds secrets (client secrets, keys, access tokens): no core dump may carry them,
         * and no other user may ptrace it or read its memory (/proc/PID/mem, environ). The unit
         * says LimitCORE=0 too; this covers a runbookd started some other way. Steps inherit the
         * core limit (a program they exec is dumpable again, as usual). */
        if (setrlimit(RLIMIT_CORE, &(struct rlimit) { 0, 0 }) < 0)
                return log_error_errno(-errno, "Failed to disable core dumps: %m");
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return log_error_errno(-errno, "Failed to make the process non-dumpable: %m");
        /* child processes and termination are event sources */
        sigemptyset(&ss);
        sigaddset(&ss, SIGCHLD);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        signal(SIGPIPE, SIG_IGN);

        r = manager_new(arg_config_dir, arg_state_dir, arg_vendor_dir, &m);
        if (r < 0)
                return r;
        r = sd_event_add_signal(m->event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, NULL, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to watch for termination signals: %m");
        (void) sd_event_set_watchdog(m->event, true);

        r = manager_startup(m);
        if (r < 0)
                return r;
        r = manager_connect_bus(m);
        if (r < 0)
                return r;

        log_info("runbookd %s serving org.runbookd1 (config '%s', state '%s').", PACKAGE_VERSION, arg_config_dir,
                 arg_state_dir);
        (void) sd_notify(false, "READY=1\nSTATUS=Serving org.runbookd1");

        r = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down");
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        log_info("runbookd stopping.");
        return 0;
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);
        free(arg_state_dir);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
