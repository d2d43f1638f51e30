/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* runbookctl.c: main(), the global options and the verb table (in the manner of systemd's
 * verbs.c): each verb has a name, a minimum and maximum number of arguments and a function. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <time.h>
#include <locale.h>
#include <stdio.h>

#include "cli/cli-bus.h"
#include "cli/cli-output.h"
#include "cli/runbookctl.h"
#include "config.h"

char **arg_parameters = NULL;
const char *arg_reference = "";
bool arg_watch = false;
bool arg_until_end = false;
const char *arg_comment = NULL;
bool arg_unreviewed = false;
char **arg_states = NULL;
unsigned arg_limit = 0;
uint64_t arg_since = 0;
bool arg_stderr = false;
bool arg_follow = false;
const char *arg_directory = NULL;
unsigned arg_lines = 0;

typedef struct Verb {
        const char *name;
        int min_args, max_args; /* not counting the verb itself */
        int (*run)(int argc, char *argv[]);
        const char *synopsis;
        const char *summary;
        const char *options; /* the options that matter for this verb, for "VERB --help" */
} Verb;

#define JSON_OPT "     --json=MODE       short, pretty or off\n"
#define TABLE_OPTS "     --no-legend       no header and no \"N … listed.\" line\n     --no-pager        do not pipe into a pager\n" JSON_OPT

static const Verb verbs[] = {
        { "runbooks", 0, 0, verb_runbooks, "runbooks", "List the runbooks runbookd can run", TABLE_OPTS },
        { "targets", 0, 0, verb_targets, "targets", "List the targets steps can run on", TABLE_OPTS },
        { "locks", 0, 0, verb_locks, "locks", "List the locks sessions hold or wait for", TABLE_OPTS },
        { "list", 0, 0, verb_list, "list [--state=STATE[,STATE…]] [--since=TIME] [--limit=N] [--unreviewed]",
          "List sessions, newest first",
          "     --state=STATES    only sessions in these states (comma-separated; 'help' lists them)\n"
          "     --since=TIME      only sessions created since TIME: 'YYYY-MM-DD[ HH:MM[:SS]]' (local\n"
          "                       time), '@SECONDS' since the epoch, or '-N' + s, m, h or d (ago)\n"
          "     --limit=N         at most the N newest (default: all, fetched page by page)\n"
          "     --unreviewed      only sessions that ran a step by break-glass and need a review\n" TABLE_OPTS },
        { "pending", 0, 0, verb_pending, "pending", "List every step waiting for approval", TABLE_OPTS },
        { "show", 1, 1, verb_show, "show ID", "Show a session and each of its steps",
          "     --no-pager        do not pipe into a pager\n" JSON_OPT },
        { "status", 0, 0, verb_status, "status", "Show runbookd's version, sessions by state and pending approvals",
          JSON_OPT },
        { "plan", 1, 1, verb_plan, "plan RUNBOOK [-p NAME=VALUE]…",
          "Show what a session would run, step by step, checked as start checks it; creates nothing",
          "  -p --parameter=NAME=VALUE  a runbook parameter (repeatable)\n" JSON_OPT },
        { "start", 1, 1, verb_start, "start RUNBOOK [-p NAME=VALUE]… [--reference TICKET] [--watch [--until-end]]",
          "Start a session; prints its id and object path",
          "  -p --parameter=NAME=VALUE  a runbook parameter (repeatable)\n"
          "  -r --reference=TICKET  a reference (ticket) recorded with the session\n"
          "  -w --watch            follow the new session (exit status as for watch)\n"
          "     --until-end        with --watch: keep following through approvals\n"
          "     --no-ask-password  do not ask for authentication\n" JSON_OPT },
        { "approve", 1, 2, verb_approve, "approve ID [STEP] [-m COMMENT]",
          "Approve the step waiting for approval (or step STEP)",
          "  -m --comment=TEXT     the comment recorded with the approval\n"
          "     --no-ask-password  do not ask for authentication\n" },
        { "reject", 1, 2, verb_reject, "reject ID [STEP] -m COMMENT",
          "Reject the step waiting for approval (or step STEP); the session ends rejected",
          "  -m --comment=TEXT     why (required)\n"
          "     --no-ask-password  do not ask for authentication\n" },
        { "cancel", 1, 1, verb_cancel, "cancel ID", "Cancel a session (stops its running step)",
          "     --no-ask-password  do not ask for authentication\n" },
        { "retry", 1, 1, verb_retry, "retry ID", "Re-arm the interrupted or failed step of a session behind a fresh approval",
          "     --no-ask-password  do not ask for authentication\n" },
        { "break-glass", 1, 1, verb_break_glass, "break-glass ID -m REASON",
          "Run the step waiting for approval without the approvals it still needs (loud: recorded, reviewed)",
          "  -m --comment=TEXT     the reason (required)\n"
          "     --no-ask-password  do not ask for authentication\n" },
        { "review", 1, 1, verb_review, "review ID [-m COMMENT]",
          "Review a session that ran a step by break-glass (someone other than who broke the glass)",
          "  -m --comment=TEXT     the comment recorded with the review\n"
          "     --no-ask-password  do not ask for authentication\n" },
        { "audit", 1, 1, verb_audit, "audit verify|export [--since=TIME]",
          "Check the audit trail's hash chain (and the journal's copy of its head), or write it as JSON lines",
          "     --since=TIME      export: only records from TIME on\n"
          "  -D --directory=DIR    verify: the journal files to compare with (default: the local journal)\n"
          "     --no-ask-password  do not ask for authentication\n" },
        { "watch", 1, 1, verb_watch, "watch ID [--until-end]", "Follow a session live until it ends or waits for approval",
          "     --until-end        keep following through approvals until the session ends\n" },
        { "output", 2, 2, verb_output, "output ID STEP [--stderr]", "Write a step's captured output to stdout",
          "     --stderr           the step's standard error instead of its standard output\n" },
        { "logs", 1, 1, verb_logs, "logs ID [-f] [-n N] [--directory=DIR]", "Show the session's journal records",
          "  -f --follow           keep printing new records\n"
          "  -n --lines=N          only the last N records\n"
          "  -D --directory=DIR    read the journal files in DIR\n"
          "     --no-pager         do not pipe into a pager\n" JSON_OPT },
        { "check", 1, 1, verb_check, "check TARGET",
          "Check the way to a target stage by stage (ssh: resolve, connect, host-key, authenticate, run; "
          "azure: credentials, vm, permission)",
          "     --no-ask-password  do not ask for authentication\n" JSON_OPT },
};

#define EXIT_STATUS_TEXT                                                                                     \
        "Exit status:\n"                                                                                     \
        "  0 success (watch: the session succeeded)\n"                                                       \
        "  1 an error: bus, usage, authorization, no such session\n"                                         \
        "  3 watch: the session failed\n"                                                                    \
        "  4 watch: the session was rejected\n"                                                              \
        "  5 watch: the session was cancelled\n"                                                             \
        "  6 watch: the session was interrupted (runbookd stopped while a step ran)\n"                        \
        "  7 watch: stopped, the session is waiting for approval (not with --until-end)\n"                    \
        "  check: 0 every stage ok, 1 a stage failed (or an error)\n"

static const Verb *find_verb(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return &verbs[i];
        return NULL;
}

static void help(void) {
        printf("runbookctl [OPTIONS…] COMMAND …\n\n"
               "Start, approve and follow runbookd's runbook sessions.\n\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-38s %s\n", verbs[i].synopsis, verbs[i].summary);
        printf("\nOptions:\n"
               "  -h --help              show this help (COMMAND --help: the command's help)\n"
               "     --version           show the version\n"
               "  -p --parameter=NAME=VALUE  start, plan: a runbook parameter (repeatable)\n"
               "     --parameters-file=FILE  start, plan: parameters from FILE, one NAME=VALUE a line\n"
               "  -r --reference=TICKET  start: the session's reference\n"
               "  -w --watch             start: follow the new session\n"
               "     --until-end         watch: follow through approvals until the session ends\n"
               "  -m --comment=TEXT      approve, reject: the comment\n"
               "     --state=STATES      list: only these states (comma-separated)\n"
               "     --since=TIME        list: only sessions created since TIME\n"
               "     --limit=N           list: at most the N newest\n"
               "     --stderr            output: standard error instead of standard output\n"
               "  -f --follow            logs: keep printing new records\n"
               "  -n --lines=N           logs: the last N records\n"
               "  -D --directory=DIR     logs: the journal files in DIR\n"
               "     --json=MODE         short, pretty or off (runbooks, targets, list, pending, show,\n"
               "                         status, logs, start, plan,\n"
               "                         check)\n"
               "     --no-legend         no table header and legend\n"
               "     --no-pager          do not pipe output into a pager\n"
               "     --no-ask-password   do not ask for authentication (no polkit agent)\n"
               "\n" EXIT_STATUS_TEXT
               "\nSee runbookctl(1).\n");
}

static void help_verb(const Verb *v) {
        printf("runbookctl %s\n\n%s.\n", v->synopsis, v->summary);
        if (!isempty(v->options))
                printf("\nOptions:\n%s", v->options);
        if (streq(v->name, "watch") || streq(v->name, "start"))
                printf("\n" EXIT_STATUS_TEXT);
        else if (streq(v->name, "check"))
                printf("\nExit status: 0 if every stage is ok, 1 if a stage failed or on error.\n");
        else
                printf("\nExit status: 0 on success, 1 on failure.\n");
        printf("\nSee runbookctl(1).\n");
}

enum {
        ARG_VERSION = 0x100,
        ARG_UNTIL_END,
        ARG_UNREVIEWED,
        ARG_STATE,
        ARG_SINCE,
        ARG_LIMIT,
        ARG_STDERR,
        ARG_JSON,
        ARG_NO_LEGEND,
        ARG_NO_PAGER,
        ARG_NO_ASK_PASSWORD,
        ARG_PARAMETERS_FILE,
};

static int add_parameter(const char *a) {
        const char *eq = strchr(a, '=');
        _cleanup_free_ char *name = NULL;
        int r;

        if (!eq || eq == a)
                return cli_error(-EINVAL, "Invalid parameter '%s': expected NAME=VALUE.", a);
        name = strndup(a, (size_t) (eq - a));
        if (!name)
                return -ENOMEM;
        r = strv_extend(&arg_parameters, name);
        if (r >= 0)
                r = strv_extend(&arg_parameters, eq + 1);
        return r;
}

/* --parameters-file: NAME=VALUE lines ('#' comments and blank lines skipped); VALUE is the rest of
 * the line, as is (systemd timers: /etc/runbookd/schedules/NAME.conf). */
static int add_parameters_file(const char *path) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        unsigned n = 0;
        ssize_t len;
        int r;

        if (!f)
                return cli_error(-errno, "Cannot read parameters file '%s': %s", path, strerror(errno));
        while ((len = getline(&line, &size, f)) >= 0) {
                const char *eq;
                n++;
                if (len > 0 && line[len - 1] == '\n')
                        line[--len] = 0;
                if ((size_t) len != strlen(line))
                        return cli_error(-EINVAL, "%s:%u: a NUL byte in the line.", path, n);
                if (len == 0 || line[0] == '#')
                        continue;
                eq = strchr(line, '=');
                if (!eq || eq == line || strcspn(line, " \t") < (size_t) (eq - line))
                        return cli_error(-EINVAL, "%s:%u: expected NAME=VALUE (a comment starts with '#').", path, n);
                r = add_parameter(line);
                if (r < 0)
                        return r;
        }
        if (ferror(f))
                return cli_error(-EIO, "Cannot read parameters file '%s'.", path);
        return 0;
}

static int add_states(const char *a) {
        _cleanup_free_ char *copy = strdup(a);
        char *save = NULL;
        int r;

        if (!copy)
                return -ENOMEM;
        for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
                bool known = false;
                for (const char *const *k = cli_session_states; *k; k++)
                        known = known || streq(*k, s);
                if (!known)
                        return cli_error(-EINVAL, "Unknown session state '%s' (runbookctl list --state=help lists them).",
                                         s);
                r = strv_extend(&arg_states, s);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --since: 'YYYY-MM-DD[ HH:MM[:SS]]' (local time), '@SECONDS', or '-N' + s/m/h/d before now. */
static int parse_since(const char *s, uint64_t *ret) {
        char *end;

        if (s[0] == '@' || s[0] == '-') {
                errno = 0;
                unsigned long long v = strtoull(s + 1, &end, 10);
                if (errno != 0 || end == s + 1 || !isdigit((unsigned char) s[1]))
                        return -EINVAL;
                if (s[0] == '@') {
                        if (*end != '\0' || v > UINT64_MAX / USEC_PER_SEC)
                                return -EINVAL;
                        *ret = (uint64_t) v * USEC_PER_SEC;
                        return 0;
                }
                uint64_t unit = streq(end, "s") ? 1 : streq(end, "m") ? 60 : streq(end, "h") ? 3600 : streq(end, "d") ? 86400 : 0;
                uint64_t now = now_usec(CLOCK_REALTIME);
                if (unit == 0 || v > now / USEC_PER_SEC / unit)
                        return -EINVAL;
                *ret = now - (uint64_t) v * unit * USEC_PER_SEC;
                return 0;
        }
        static const char *const formats[] = { "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d" };
        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                struct tm tm = { .tm_isdst = -1 };
                end = strptime(s, formats[i], &tm);
                if (!end || *end != '\0')
                        continue;
                time_t t = mktime(&tm);
                if (t < 0)
                        return -EINVAL;
                *ret = (uint64_t) t * USEC_PER_SEC;
                return 0;
        }
        return -EINVAL;
}

/* Returns 1 to go on, 0 to exit successfully, negative on error. */
static int parse_argv(int argc, char *argv[], bool *ret_help) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "parameter", required_argument, NULL, 'p' },
                { "parameters-file", required_argument, NULL, ARG_PARAMETERS_FILE },
                { "reference", required_argument, NULL, 'r' },
                { "watch", no_argument, NULL, 'w' },
                { "until-end", no_argument, NULL, ARG_UNTIL_END },
                { "unreviewed", no_argument, NULL, ARG_UNREVIEWED },
                { "comment", required_argument, NULL, 'm' },
                { "state", required_argument, NULL, ARG_STATE },
                { "since", required_argument, NULL, ARG_SINCE },
                { "limit", required_argument, NULL, ARG_LIMIT },
                { "stderr", no_argument, NULL, ARG_STDERR },
                { "follow", no_argument, NULL, 'f' },
                { "lines", required_argument, NULL, 'n' },
                { "directory", required_argument, NULL, 'D' },
                { "json", required_argument, NULL, ARG_JSON },
                { "no-legend", no_argument, NULL, ARG_NO_LEGEND },
                { "no-pager", no_argument, NULL, ARG_NO_PAGER },
                { "no-ask-password", no_argument, NULL, ARG_NO_ASK_PASSWORD },
                {},
        };
        int c, r;

        *ret_help = false;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "hp:r:wm:fn:D:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        *ret_help = true;
                        break;
                case ARG_VERSION:
                        printf("runbookctl %s\n", PACKAGE_VERSION);
                        return 0;
                case 'p':
                        r = add_parameter(optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_PARAMETERS_FILE:
                        r = add_parameters_file(optarg);
                        if (r < 0)
                                return r;
                        break;
                case 'r':
                        arg_reference = optarg;
                        break;
                case 'w':
                        arg_watch = true;
                        break;
                case ARG_UNTIL_END:
                        arg_until_end = true;
                        break;
                case ARG_UNREVIEWED:
                        arg_unreviewed = true;
                        break;
                case 'm':
                        arg_comment = optarg;
                        break;
                case ARG_STATE:
                        if (streq(optarg, "help")) {
                                for (const char *const *k = cli_session_states; *k; k++)
                                        puts(*k);
                                return 0;
                        }
                        r = add_states(optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_SINCE:
                        r = parse_since(optarg, &arg_since);
                        if (r < 0)
                                return cli_error(r, "Invalid time '%s' for --since: expected 'YYYY-MM-DD[ HH:MM[:SS]]', "
                                                 "'@SECONDS' or '-N' followed by s, m, h or d.", optarg);
                        break;
                case ARG_LIMIT: {
                        uint32_t n;
                        if (parse_step_index(optarg, &n) < 0 || n == 0)
                                return cli_error(-EINVAL, "Invalid --limit '%s': expected a number from 1.", optarg);
                        arg_limit = n;
                        break;
                }
                case ARG_STDERR:
                        arg_stderr = true;
                        break;
                case 'f':
                        arg_follow = true;
                        break;
                case 'n': {
                        uint32_t n;
                        if (parse_step_index(optarg, &n) < 0)
                                return cli_error(-EINVAL, "Invalid number of lines '%s'.", optarg);
                        arg_lines = n;
                        break;
                }
                case 'D':
                        arg_directory = optarg;
                        break;
                case ARG_JSON:
                        if (streq(optarg, "help")) {
                                puts("short\npretty\noff");
                                return 0;
                        }
                        if (json_mode_from_string(optarg) < 0)
                                return cli_error(-EINVAL, "Unknown JSON mode '%s': expected short, pretty or off.",
                                                 optarg);
                        arg_json = json_mode_from_string(optarg);
                        break;
                case ARG_NO_LEGEND:
                        arg_legend = false;
                        break;
                case ARG_NO_PAGER:
                        arg_pager = false;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        arg_ask_password = false;
                        break;
                case '?':
                        if (optopt != 0 && optopt < 0x100)
                                return cli_error(-EINVAL, "Unknown option '-%c' (see runbookctl --help).", optopt);
                        return cli_error(-EINVAL, "Unknown option '%s' (see runbookctl --help).", argv[optind - 1]);
                case ':':
                default:
                        return cli_error(-EINVAL, "Option '%s' needs an argument.", argv[optind - 1]);
                }
        return 1;
}

static int dispatch(int argc, char *argv[], bool want_help) {
        const Verb *v;
        int n;

        if (argc <= optind) {
                if (want_help) {
                        help();
                        return 0;
                }
                return cli_error(-EINVAL, "Missing command (see runbookctl --help).");
        }
        v = find_verb(argv[optind]);
        if (!v)
                return cli_error(-EINVAL, "Unknown command '%s' (see runbookctl --help).", argv[optind]);
        if (want_help) {
                help_verb(v);
                return 0;
        }
        n = argc - optind - 1;
        if (n < v->min_args)
                return cli_error(-EINVAL, "Too few arguments for '%s': runbookctl %s", v->name, v->synopsis);
        if (n > v->max_args)
                return cli_error(-EINVAL, "Too many arguments for '%s': runbookctl %s", v->name, v->synopsis);
        return v->run(argc - optind, argv + optind);
}

int main(int argc, char *argv[]) {
        bool want_help;
        int r;

        (void) setlocale(LC_ALL, "");
        colors_init();
        r = parse_argv(argc, argv, &want_help);
        if (r > 0)
                r = dispatch(argc, argv, want_help);
        pager_close();
        polkit_agent_close();
        strv_free(arg_parameters);
        strv_free(arg_states);
        return r < 0 ? EXIT_FAILURE : r;
}
