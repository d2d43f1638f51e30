/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* local-unit.c: the local connector's unit mode. Where systemd is PID 1, each attempt of a local
 * step runs as its own transient service (StartTransientUnit on org.freedesktop.systemd1, as
 * systemd-run does), so that:
 *   - it runs as the target's "user"/"group" (default root), with the target's "unit_properties";
 *   - its whole control group is its process tree: a 'setsid' child dies with the step
 *     (KillMode=control-group), and the timeout is systemd's (RuntimeMaxSec=, then SIGKILL after
 *     TimeoutStopSec=, the kill grace);
 *   - it does not depend on runbookd: a restart of runbookd finds the unit and follows it to its end.
 *
 * The unit is named after the attempt (runbookd-step-SESSION-STEP-ATTEMPT-TARGET.service), and that
 * name and its two output files are the job's handle, committed durably before the unit is created
 * (connector_job_set_handle()): after a restart, runbookd finds the unit by name. Output goes to
 * two files in the state directory (step-output/NAME.stdout, .stderr) that runbookd creates and
 * hands to systemd as the unit's stdout and stderr (StandardOutputFileDescriptor=): runbookd reads
 * them as they grow, keeping head and tail as the direct mode does, and punches out of the files
 * what it has read and would not keep, so that a chatty step does not fill the disk. The unit stays
 * loaded after its command exits (RemainAfterExit=yes, or failed), so that its exit status is there
 * even if runbookd was not; runbookd stops it (killing what the command left behind) and removes it
 * and its files once it has the result. */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "config/secret-seal.h"
#include "config/unit-props.h"
#include "connector/local/local-internal.h"
#include "shared/log.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT_PREFIX "/org/freedesktop/systemd1/unit"
/* Output is read, and the unit's state asked for (should a signal have been missed), this often. */
#define UNIT_POLL_USEC (USEC_PER_SEC / 2)
/* Read output is punched out of the files in pieces of at least this much. */
#define UNIT_PUNCH_MIN ((uint64_t) 1024 * 1024)
#define UNIT_NAME_MAX 255

struct LocalUnit {
        char *name;               /* runbookd-step-….service */
        char *path;               /* its object path */
        char *file[2];            /* stdout, stderr */
        int fd[2];                /* read (and punch) ends of the files */
        char *marker;             /* NAME.exec: the unit's stdin; the shell writes a byte to it first */
        int marker_fd;            /* -1: unknown (not opened) */
        uint64_t exec_size;       /* the secrets' values at its start, read by the shell first (0: none) */
        uint64_t off[2];          /* how far they have been read */
        uint64_t punched[2];      /* how far they have been punched out (after the head) */
        sd_bus_message *start;    /* StartTransientUnit, built at start, sent once the handle is durable */
        sd_bus_slot *match;       /* PropertiesChanged of the unit */
        sd_bus_slot *call;        /* StartTransientUnit, then GetAll */
        sd_event_source *poll;
        sd_event_source *grace;   /* cancel: SIGKILL after the kill grace */
        bool sent;                /* StartTransientUnit went out */
        bool started;             /* systemd has (or had) the unit */
        bool requery;             /* something changed while GetAll was under way */
        bool ended;
        LocalStop stop;
        usec_t timeout_usec;
        char *message;
};

static LocalStepMode local_mode = LOCAL_STEPS_AUTO;
static char *local_output_dir = NULL;
static sd_bus *systemd_bus = NULL;

static const char *const local_step_mode_table[_LOCAL_STEPS_MAX] = {
        [LOCAL_STEPS_AUTO] = "auto",
        [LOCAL_STEPS_UNITS] = "units",
        [LOCAL_STEPS_DIRECT] = "direct",
};

const char *local_step_mode_to_string(LocalStepMode m) {
        return m >= 0 && m < _LOCAL_STEPS_MAX ? local_step_mode_table[m] : NULL;
}

LocalStepMode local_step_mode_from_string(const char *s) {
        for (int i = 0; s && i < _LOCAL_STEPS_MAX; i++)
                if (streq(s, local_step_mode_table[i]))
                        return (LocalStepMode) i;
        return _LOCAL_STEPS_INVALID;
}

int connector_local_configure(LocalStepMode mode, const char *output_dir) {
        if (mode < 0 || mode >= _LOCAL_STEPS_MAX)
                return -EINVAL;
        local_mode = mode;
        if (output_dir) {
                char *d = strdup(output_dir);
                if (!d)
                        return -ENOMEM;
                if (mkdir(d, 0700) < 0 && errno != EEXIST) {
                        int r = -errno;
                        free(d);
                        return r;
                }
                free(local_output_dir);
                local_output_dir = d;
        }
        return 0;
}

bool local_unit_mode(void) {
        static int booted = -1;

        if (local_mode != LOCAL_STEPS_AUTO)
                return local_mode == LOCAL_STEPS_UNITS;
        if (booted < 0)
                booted = sd_booted() > 0;
        return booted;
}

const char *local_unit_mode_describe(void) {
        if (local_unit_mode())
                return local_mode == LOCAL_STEPS_UNITS ? "as transient systemd units (runbookd.json: \"local_steps\": \"units\")"
                                                       : "as transient systemd units (systemd is PID 1)";
        return local_mode == LOCAL_STEPS_DIRECT ? "directly, as runbookd's children (runbookd.json: \"local_steps\": \"direct\")"
                                                : "directly, as runbookd's children (systemd is not PID 1)";
}

/* The connection to systemd (the system bus), opened once; attached to the loop once there is one. */
static int unit_bus(sd_event *event, sd_bus **ret) {
        int r;

        if (!systemd_bus) {
                _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;

                r = sd_bus_open_system_with_description(&bus, "runbookd-systemd");
                if (r < 0)
                        return r;
                /* unit signals are sent to subscribers only */
                r = sd_bus_call_method_async(bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", NULL, NULL, NULL);
                if (r < 0)
                        return r;
                systemd_bus = TAKE_PTR(bus);
        }
        if (event && !sd_bus_get_event(systemd_bus)) {
                r = sd_bus_attach_event(systemd_bus, event, SD_EVENT_PRIORITY_NORMAL);
                if (r < 0)
                        return r;
        }
        *ret = systemd_bus;
        return 0;
}

void local_unit_shutdown(void) {
        /* what is queued (stopping and removing finished units) goes out first */
        systemd_bus = sd_bus_flush_close_unref(systemd_bus);
        local_output_dir = mfree_str(local_output_dir);
}

/* "runbookd-step-12-3-1-web01.service"; characters of the target's name that a unit name cannot
 * have ('@' here: it separates a template's instance) escaped as systemd does (\x40). */
static int unit_name_make(const StepRequest *req, char **ret) {
        const char *target = req->target && req->target->name ? req->target->name : "local";
        char esc[4 * 128 + 1] = "", *p = esc;

        for (const char *c = target; *c && p < esc + sizeof esc - 5; c++) {
                if (ascii_isalpha(*c) || ascii_isdigit(*c) || strchr(":_.-", *c))
                        *p++ = *c;
                else
                        p += snprintf(p, 5, "\\x%02x", (unsigned) (uint8_t) *c);
        }
        *p = 0;
        if (req->session_id == 0)
                /* a Check: no session; unique by the time */
                return asprintf_safe(ret, "runbookd-check-%s-%" PRIu64 ".service", esc,
                                     (uint64_t) now_usec(CLOCK_REALTIME));
        return asprintf_safe(ret, "runbookd-step-%" PRIu32 "-%" PRIu32 "-%u-%s.service", req->session_id,
                             req->step_index, req->attempt, esc);
}

static bool unit_name_is_ours(const char *s) {
        size_t n = s ? strlen(s) : 0;

        return n > 17 && n <= UNIT_NAME_MAX && strncmp(s, "runbookd-", 9) == 0 && streq(s + n - 8, ".service") &&
               !strchr(s, '/');
}

static int append_prop_strv(sd_bus_message *m, const char *name, char **l) {
        int r;

        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, l);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* LogExtraFields= is an array of byte arrays (a field may hold any bytes). */
static int append_prop_fields(sd_bus_message *m, char **l) {
        int r;

        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "LogExtraFields");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "aay");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "ay");
        for (char **f = l; r >= 0 && f && *f; f++)
                r = sd_bus_message_append_array(m, 'y', *f, strlen(*f));
        for (int i = 0; r >= 0 && i < 3; i++)
                r = sd_bus_message_close_container(m);
        return r;
}

/* The target's "unit_properties" (checked against the allow-list when the target was loaded). */
static int append_unit_properties(sd_bus_message *m, const Target *t) {
        json_t *props = t ? json_object_get(t->config, "unit_properties") : NULL;
        const char *key;
        json_t *v;
        int r = 0;

        json_object_foreach(props, key, v) {
                const UnitPropInfo *info = unit_prop_find(key);
                if (!info)
                        return -EINVAL;   /* not from a checked target */
                switch (info->kind) {
                case UNIT_PROP_BOOL:
                        r = sd_bus_message_append(m, "(sv)", info->bus_name, "b", json_is_true(v));
                        break;
                case UNIT_PROP_BYTES:
                case UNIT_PROP_PERCENT:
                case UNIT_PROP_WEIGHT:
                case UNIT_PROP_COUNT:
                        r = sd_bus_message_append(m, "(sv)", info->bus_name, "t", unit_prop_u64(info, v));
                        break;
                case UNIT_PROP_NICE:
                        r = sd_bus_message_append(m, "(sv)", info->bus_name, "i", (int32_t) json_integer_value(v));
                        break;
                case UNIT_PROP_ENUM:
                case UNIT_PROP_PATH:
                        r = sd_bus_message_append(m, "(sv)", info->bus_name, "s", json_string_value(v));
                        break;
                case UNIT_PROP_PATHS: {
                        _cleanup_strv_free_ char **l = NULL;
                        size_t i;
                        json_t *p;
                        json_array_foreach(v, i, p)
                                if (strv_extend(&l, json_string_value(p)) < 0)
                                        return -ENOMEM;
                        r = append_prop_strv(m, info->bus_name, l);
                        break;
                }
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* How runbookd tells systemd's failures to set up the command (a user that does not exist, a
 * directory that cannot be entered, a namespace that cannot be made: systemd's own exit statuses
 * 200-243, EXIT_CHDIR, EXIT_USER, ...) from the command's own exit status in that range: the unit's
 * stdin is a file runbookd made (NAME.exec), and the shell's first act, before the command, is to
 * write a byte to it and put /dev/null in its place. An empty file means the shell never ran.
 * (systemd's own view cannot tell: with Type=exec, a command that exits at once may be taken for
 * one whose execve() failed; an ExecStartPre= probe costs a process per step.) The command follows
 * on the same line, after "; ", so that it parses as it would alone and keeps its line numbers;
 * it never sees the file. */
#define UNIT_EXEC_PRELUDE "echo 2>/dev/null >&0; exec </dev/null; "
/* With secret parameters, the file begins with their values, one line each, which the shell reads
 * as data into its environment (step_secrets_read_script()) before that: never in the unit's
 * Environment= nor on a command line, which every user can see (systemctl show, ps). The file is
 * runbookd's (0600, in its state directory); the write makes it longer than the values were. */

/* StartTransientUnit(name, "fail", properties, []) for the request, its output going to wfd[0]
 * and wfd[1], its stdin wfd[2] (the marker). */
static int unit_build_start(sd_bus *bus, LocalUnit *u, const StepRequest *req, const int wfd[3],
                            sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_strv_free_ char **env = NULL, **fields = NULL;
        _cleanup_free_ char *desc = NULL;
        const char *target = req->target && req->target->name ? req->target->name : "local";
        const char *user = req->target ? json_string_value(json_object_get(req->target->config, "user")) : NULL;
        const char *group = req->target ? json_string_value(json_object_get(req->target->config, "group")) : NULL;
        _cleanup_free_ char *script = NULL;
        char *s;
        int r;

        _cleanup_free_ char *secrets = NULL;

        r = step_secrets_read_script(req->secrets, req->n_secrets, &secrets);
        if (r < 0)
                return r;
        /* The shell's first act tells that systemd's setup went through (see UNIT_EXEC_PRELUDE). */
        if (asprintf_safe(&script, "%s" UNIT_EXEC_PRELUDE "%s", secrets, req->command) < 0)
                return -ENOMEM;
        char *const argv[] = { (char *) "sh", (char *) "-c", script, NULL };

        if (req->session_id > 0)
                r = asprintf_safe(&desc, "runbookd: session %" PRIu32 " step %" PRIu32 " attempt %u on %s",
                                  req->session_id, req->step_index, req->attempt, target);
        else
                r = asprintf_safe(&desc, "runbookd: check of target %s", target);
        if (r < 0)
                return -ENOMEM;
        if (strv_extend(&env, "PATH=" LOCAL_PATH) < 0 || strv_extend(&env, "LANG=C.UTF-8") < 0 ||
            asprintf_safe(&s, "RUNBOOK_SESSION=%" PRIu32, req->session_id) < 0 || strv_consume(&env, s) < 0 ||
            asprintf_safe(&s, "RUNBOOK_STEP=%" PRIu32, req->step_index) < 0 || strv_consume(&env, s) < 0 ||
            asprintf_safe(&s, "RUNBOOK_TARGET=%s", target) < 0 || strv_consume(&env, s) < 0)
                return -ENOMEM;
        /* on what the command logs itself (logger, systemd-cat), as on runbookd's own records */
        if (asprintf_safe(&s, "RUNBOOK_SESSION=%" PRIu32, req->session_id) < 0 || strv_consume(&fields, s) < 0 ||
            asprintf_safe(&s, "RUNBOOK_STEP=%" PRIu32, req->step_index) < 0 || strv_consume(&fields, s) < 0 ||
            asprintf_safe(&s, "RUNBOOK_ATTEMPT=%u", req->attempt) < 0 || strv_consume(&fields, s) < 0 ||
            asprintf_safe(&s, "RUNBOOK_TARGET=%s", target) < 0 || strv_consume(&fields, s) < 0)
                return -ENOMEM;

        r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", u->name, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)",
                                          "Description", "s", desc,
                                          "Type", "s", "exec",
                                          "RemainAfterExit", "b", 1,
                                          "KillMode", "s", "control-group",
                                          "TimeoutStopUSec", "t", (uint64_t) local_kill_grace_usec(),
                                          "User", "s", user ?: "root",
                                          "StandardOutputFileDescriptor", "h", wfd[0],
                                          "StandardErrorFileDescriptor", "h", wfd[1]);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "StandardInputFileDescriptor", "h", wfd[2]);
        if (r >= 0 && group)
                r = sd_bus_message_append(m, "(sv)", "Group", "s", group);
        if (r >= 0 && req->timeout_usec > 0)
                r = sd_bus_message_append(m, "(sv)", "RuntimeMaxUSec", "t", (uint64_t) req->timeout_usec);
        if (r >= 0)
                r = append_prop_strv(m, "Environment", env);
        if (r >= 0)
                r = append_prop_fields(m, fields);
        if (r >= 0)
                r = append_unit_properties(m, req->target);
        /* ExecStart=:/bin/sh -c COMMAND: the command is one argument, handed to the shell byte for
         * byte: "no-env-expand" (the ':' prefix), or systemd would substitute $VAR and ${VAR} in it
         * and turn "$$" into "$" before the shell sees it (ExecStartEx, systemd >= 243) */
        static char *const flags[] = { (char *) "no-env-expand", NULL };
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "ExecStartEx");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a(sasas)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sasas)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sasas");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "/bin/sh");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, (char **) argv);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, (char **) flags);
        for (int i = 0; r >= 0 && i < 4; i++)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);   /* the properties */
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* ---- output ---- */

/* Reads what stream k's file has beyond what was read, skipping what would only pass through the
 * ring, then punches out of the file what was read and is neither head nor (the last) tail. */
static void unit_read(LocalJob *l, unsigned k) {
        LocalUnit *u = l->unit;
        OutputCapture *o = &l->job.output[k];
        static uint8_t buf[64 * 1024];
        struct stat st;
        uint64_t hc = o->cap / 2, tc = o->cap - o->cap / 2, end;

        if (u->fd[k] < 0 || fstat(u->fd[k], &st) < 0 || (uint64_t) st.st_size <= u->off[k])
                return;
        end = (uint64_t) st.st_size;
        size_t skip = output_capture_skippable(o, end - u->off[k]);
        if (skip > 0) {
                output_capture_skip(o, skip);
                u->off[k] += skip;
        }
        while (u->off[k] < end) {
                ssize_t n = pread(u->fd[k], buf, (size_t) MIN((uint64_t) sizeof buf, end - u->off[k]), (off_t) u->off[k]);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (output_capture_append(o, buf, (size_t) n) < 0)
                        log_debug("Out of memory capturing output of unit %s, dropping %zd bytes.", u->name, n);
                u->off[k] += (uint64_t) n;
                /* past the head, only the last tc bytes count: skip again */
                skip = output_capture_skippable(o, end - u->off[k]);
                if (skip > 0) {
                        output_capture_skip(o, skip);
                        u->off[k] += skip;
                }
        }
        /* the file keeps its head and the last tc bytes read, for a restart of runbookd */
        uint64_t from = MAX(hc, u->punched[k]), to = u->off[k] > hc + tc ? u->off[k] - tc : 0;
        if (to > from && to - from >= UNIT_PUNCH_MIN) {
                if (fallocate(u->fd[k], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t) from, (off_t) (to - from)) < 0)
                        log_debug_errno(-errno, "Failed to punch read output out of %s: %m", u->file[k]);
                else
                        u->punched[k] = to;
        }
}

/* ---- the unit's state ---- */

typedef struct UnitState {
        const char *load_state, *active_state, *result;
        int32_t code, status;
        uint64_t exit_usec, start_usec;
        bool has_job;
} UnitState;

static int unit_state_read(sd_bus_message *m, UnitState *ret) {
        UnitState s = { .code = -1, .status = -1 };
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name;
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                if (streq(name, "LoadState"))
                        r = sd_bus_message_read(m, "v", "s", &s.load_state);
                else if (streq(name, "ActiveState"))
                        r = sd_bus_message_read(m, "v", "s", &s.active_state);
                else if (streq(name, "Result"))
                        r = sd_bus_message_read(m, "v", "s", &s.result);
                else if (streq(name, "ExecMainCode"))
                        r = sd_bus_message_read(m, "v", "i", &s.code);
                else if (streq(name, "ExecMainStatus"))
                        r = sd_bus_message_read(m, "v", "i", &s.status);
                else if (streq(name, "ExecMainExitTimestampMonotonic"))
                        r = sd_bus_message_read(m, "v", "t", &s.exit_usec);
                else if (streq(name, "ExecMainStartTimestampMonotonic"))
                        r = sd_bus_message_read(m, "v", "t", &s.start_usec);
                else if (streq(name, "Job")) {
                        uint32_t id = 0;
                        const char *p;
                        r = sd_bus_message_read(m, "v", "(uo)", &id, &p);
                        s.has_job = id > 0;
                } else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        *ret = s;
        return sd_bus_message_exit_container(m);
}

/* systemd's own exit statuses (systemd.exec(5), "Process Exit Codes") for what went wrong before
 * the command ran. */
static const char *exec_status_name(int status) {
        static const struct { int status; const char *name; } table[] = {
                { 200, "CHDIR" }, { 201, "NICE" }, { 202, "FDS" }, { 203, "EXEC" }, { 204, "MEMORY" },
                { 205, "LIMITS" }, { 206, "OOM_ADJUST" }, { 207, "SIGNAL_MASK" }, { 208, "STDIN" },
                { 209, "STDOUT" }, { 210, "CHROOT" }, { 211, "IOPRIO" }, { 212, "TIMERSLACK" },
                { 213, "SECUREBITS" }, { 214, "SETSCHEDULER" }, { 215, "CPUAFFINITY" }, { 216, "GROUP" },
                { 217, "USER" }, { 218, "CAPABILITIES" }, { 219, "CGROUP" }, { 220, "SETSID" },
                { 221, "CONFIRM" }, { 222, "STDERR" }, { 224, "PAM" }, { 225, "NETWORK" },
                { 226, "NAMESPACE" }, { 227, "NO_NEW_PRIVILEGES" }, { 228, "SECCOMP" }, { 229, "SELINUX_CONTEXT" },
                { 230, "PERSONALITY" }, { 231, "APPARMOR_PROFILE" }, { 232, "ADDRESS_FAMILIES" },
                { 233, "RUNTIME_DIRECTORY" }, { 235, "CHOWN" }, { 236, "SMACK_PROCESS_LABEL" },
                { 237, "KEYRING" }, { 238, "STATE_DIRECTORY" }, { 239, "CACHE_DIRECTORY" },
                { 240, "LOGS_DIRECTORY" }, { 241, "CONFIGURATION_DIRECTORY" }, { 242, "NUMA_POLICY" },
                { 243, "CREDENTIALS" },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (table[i].status == status)
                        return table[i].name;
        return NULL;
}

static void unit_kill(LocalUnit *u, int sig) {
        if (!systemd_bus || !u->started)
                return;
        (void) sd_bus_call_method_async(systemd_bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, "KillUnit", NULL, NULL,
                                        "ssi", u->name, "all", (int32_t) sig);
}

static void unit_finish(LocalJob *l, StepResult *res) {
        LocalUnit *u = l->unit;

        u->ended = true;
        u->poll = sd_event_source_disable_unref(u->poll);
        u->grace = sd_event_source_disable_unref(u->grace);
        u->match = sd_bus_slot_unref(u->match);
        u->call = sd_bus_slot_unref(u->call);
        for (unsigned k = 0; k < 2; k++)
                unit_read(l, k);
        connector_job_finish(&l->job, res);   /* last: it may free the job */
}

static void unit_fail(LocalJob *l, int error, const char *fmt, ...) _printf_(3, 4);
static void unit_fail(LocalJob *l, int error, const char *fmt, ...) {
        LocalUnit *u = l->unit;
        StepResult res = { .outcome = OUTCOME_ERROR, .exit_status = -1, .error = error };
        va_list ap;

        va_start(ap, fmt);
        free(u->message);
        u->message = NULL;
        (void) vasprintf_safe(&u->message, fmt, ap);
        va_end(ap);
        res.message = u->message;
        unit_finish(l, &res);
}

/* Whether the unit's shell wrote its byte to the marker (UNIT_EXEC_PRELUDE); a marker runbookd
 * could not open (a unit started by an older runbookd) counts as written: its status is taken as
 * the command's, as it was then. */
static bool unit_shell_ran(LocalUnit *u) {
        struct stat st;

        if (u->marker_fd < 0)
                return true;
        return fstat(u->marker_fd, &st) < 0 || (uint64_t) st.st_size > u->exec_size;
}

/* The command has ended (or the unit has, without running it): the result. */
static void unit_end(LocalJob *l, const UnitState *s) {
        LocalUnit *u = l->unit;
        StepResult res = { .exit_status = -1 };
        bool killed = s->code == CLD_KILLED || s->code == CLD_DUMPED;
        char b[DURATION_MAX];

        /* what the command left behind goes with it, as in direct mode */
        unit_kill(u, SIGKILL);
        free(u->message);
        u->message = NULL;
        if (u->stop == LOCAL_STOP_CANCEL) {
                res.outcome = OUTCOME_CANCELLED;
                res.signal = killed ? s->status : 0;
                res.message = "cancelled";
        } else if (streq_ptr(s->result, "timeout")) {
                res.outcome = OUTCOME_TIMED_OUT;
                res.signal = killed ? s->status : 0;
                (void) asprintf_safe(&u->message, "timed out after %s",
                                     connector_format_timeout(b, sizeof b, u->timeout_usec));
                res.message = u->message;
        } else if (s->code == CLD_EXITED && exec_status_name(s->status) && !unit_shell_ran(u)) {
                /* systemd's own status, and the shell never ran: the command did not either */
                res.outcome = OUTCOME_ERROR;
                res.error = -EIO;
                (void) asprintf_safe(&u->message, "systemd could not run the command in unit %s: EXIT_%s (status %d; "
                                     "see journalctl -u %s)", u->name, exec_status_name(s->status), s->status,
                                     u->name);
                res.message = u->message;
        } else if (s->exit_usec == 0) {
                res.outcome = OUTCOME_ERROR;
                res.error = -EIO;
                (void) asprintf_safe(&u->message, "systemd ended unit %s without running the command (result '%s'): "
                                     "see journalctl -u %s", u->name, strna(s->result), u->name);
                res.message = u->message;
        } else if (killed) {
                const char *abbrev = sigabbrev_np(s->status);
                res.outcome = OUTCOME_KILLED;
                res.signal = s->status;
                if (abbrev)
                        (void) asprintf_safe(&u->message, "killed by signal SIG%s", abbrev);
                else
                        (void) asprintf_safe(&u->message, "killed by signal %d", s->status);
                res.message = u->message;
        } else {
                res.outcome = OUTCOME_EXITED;
                res.exit_status = s->status;
        }
        unit_finish(l, &res);
}

static int unit_query(LocalJob *l);

static int on_state(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        LocalJob *l = userdata;
        LocalUnit *u = l->unit;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        UnitState s;
        int r;

        u->call = sd_bus_slot_unref(u->call);
        if (e) {
                log_debug("Cannot read the state of unit %s: %s", u->name, e->message ?: e->name);
                return 0;   /* the poll asks again */
        }
        r = unit_state_read(reply, &s);
        if (r < 0) {
                log_debug_errno(r, "Cannot parse the state of unit %s: %m", u->name);
                return 0;
        }
        if (streq_ptr(s.load_state, "not-found")) {
                if (u->stop == LOCAL_STOP_CANCEL) {
                        StepResult res = { .outcome = OUTCOME_CANCELLED, .exit_status = -1, .message = "cancelled" };
                        unit_finish(l, &res);
                } else
                        unit_fail(l, -ENOENT, "unit %s is gone without a result (stopped and removed by someone "
                                  "else?)", u->name);
                return 0;
        }
        if (s.exit_usec > 0 ||
            streq_ptr(s.active_state, "failed") ||
            (streq_ptr(s.active_state, "inactive") && !s.has_job && s.start_usec == 0 && u->started)) {
                unit_end(l, &s);   /* last: it may free the job */
                return 0;
        }
        if (u->requery) {
                u->requery = false;
                (void) unit_query(l);
        }
        return 0;
}

/* Asks for the unit's properties (all interfaces); on_state() decides whether it has ended. */
static int unit_query(LocalJob *l) {
        LocalUnit *u = l->unit;

        if (u->call) {
                u->requery = true;
                return 0;
        }
        return sd_bus_call_method_async(systemd_bus, &u->call, SD_DEST, u->path, "org.freedesktop.DBus.Properties",
                                        "GetAll", on_state, l, "s", "");
}

static int on_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        LocalJob *l = userdata;

        if (!l->unit->ended)
                (void) unit_query(l);
        return 0;
}

static int on_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        LocalJob *l = userdata;
        LocalUnit *u = l->unit;

        for (unsigned k = 0; k < 2; k++)
                unit_read(l, k);
        if (!u->call)
                (void) unit_query(l);
        (void) sd_event_source_set_time_relative(s, UNIT_POLL_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

/* From the unit's existence on: follow it (signals, and the poll should one be missed). */
static int unit_follow(LocalJob *l) {
        LocalUnit *u = l->unit;
        int r;

        u->started = true;
        if (!u->match) {
                r = sd_bus_match_signal_async(systemd_bus, &u->match, SD_DEST, u->path, "org.freedesktop.DBus.Properties",
                                              "PropertiesChanged", on_changed, NULL, l);
                if (r < 0)
                        return r;
        }
        r = sd_event_add_time_relative(l->job.event, &u->poll, CLOCK_MONOTONIC, UNIT_POLL_USEC, 50 * USEC_PER_MSEC,
                                       on_poll, l);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(u->poll, "local-unit-poll");
        return unit_query(l);
}

static int on_grace(sd_event_source *s, uint64_t usec, void *userdata);

static int on_started(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        LocalJob *l = userdata;
        LocalUnit *u = l->unit;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int r;

        u->call = sd_bus_slot_unref(u->call);
        if (e) {
                unit_fail(l, -sd_bus_error_get_errno(e) ?: -EIO, "systemd did not start unit %s: %s", u->name,
                          e->message ?: e->name);
                return 0;
        }
        log_debug("Started unit %s.", u->name);
        r = unit_follow(l);
        if (r < 0) {
                /* it runs; without a way to follow it, say so (a restart would find it) */
                unit_fail(l, r, "cannot follow unit %s: %s", u->name, strerror(-r));
                return 0;
        }
        if (u->stop == LOCAL_STOP_CANCEL) {
                /* cancelled while systemd started it: stop it now, as local_unit_cancel() does */
                unit_kill(u, SIGTERM);
                unit_kill(u, SIGCONT);
                r = connector_job_arm_timer(&l->job, &u->grace, local_kill_grace_usec(), on_grace, l,
                                            "local-unit-grace");
                if (r < 0)
                        unit_kill(u, SIGKILL);
        }
        return 0;
}

/* The handle is durable (or could not be made so): create the unit. */
static void on_committed(ConnectorJob *j, int error) {
        LocalJob *l = (LocalJob *) j;
        LocalUnit *u = l->unit;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = TAKE_PTR(u->start);
        int r;

        if (error < 0) {
                unit_fail(l, error, "cannot record unit %s durably, not starting it: %s", u->name, strerror(-error));
                return;
        }
        if (u->stop == LOCAL_STOP_CANCEL) {
                StepResult res = { .outcome = OUTCOME_CANCELLED, .exit_status = -1, .message = "cancelled before it started" };
                unit_finish(l, &res);
                return;
        }
        r = sd_bus_match_signal_async(systemd_bus, &u->match, SD_DEST, u->path, "org.freedesktop.DBus.Properties",
                                      "PropertiesChanged", on_changed, NULL, l);
        if (r >= 0)
                r = sd_bus_call_async(systemd_bus, &u->call, m, on_started, l, 0);
        if (r >= 0)
                u->sent = true;
        if (r < 0)
                unit_fail(l, r, "cannot ask systemd to start unit %s: %s", u->name, strerror(-r));
}

static LocalUnit *unit_new(LocalJob *l, const StepRequest *req) {
        LocalUnit *u = calloc(1, sizeof *u);

        if (!u)
                return NULL;
        u->fd[0] = u->fd[1] = u->marker_fd = -1;
        u->timeout_usec = req->timeout_usec;
        l->unit = u;
        return u;
}

static int unit_set_name(LocalUnit *u, char *name) {
        u->name = name;
        return sd_bus_path_encode(SD_UNIT_PREFIX, u->name, &u->path);
}

int local_unit_start(LocalJob *l, const StepRequest *req) {
        _cleanup_(json_decrefp) json_t *handle = NULL;
        _cleanup_free_ char *name = NULL;
        int wfd[3] = { -1, -1, -1 };
        LocalUnit *u;
        sd_bus *bus;
        int r;

        if (!local_output_dir)
                return -ENOTDIR;
        u = unit_new(l, req);
        if (!u)
                return -ENOMEM;
        r = unit_name_make(req, &name);
        if (r < 0)
                return r;
        r = unit_set_name(u, TAKE_PTR(name));
        if (r < 0)
                return r;
        r = unit_bus(l->job.event, &bus);
        if (r < 0)
                return log_debug_errno(r, "Cannot connect to systemd: %m");

        for (unsigned k = 0; k < 2; k++) {
                if (asprintf_safe(&u->file[k], "%s/%s.%s", local_output_dir, u->name, k == 0 ? "stdout" : "stderr") < 0)
                        return -ENOMEM;
                u->fd[k] = open(u->file[k], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
                if (u->fd[k] < 0)
                        return log_debug_errno(-errno, "Cannot create %s: %m", u->file[k]);
        }
        /* a marker that begins with the secrets' values is on tmpfs, in runbookd's runtime
         * directory (0700): never on a disk, and gone with a reboot if a crash left it behind */
        const char *mdir = req->n_secrets > 0 ? secret_seal_dir() : local_output_dir;
        if (req->n_secrets > 0 && mkdir(mdir, 0700) < 0 && errno != EEXIST)
                return log_debug_errno(-errno, "Cannot create %s: %m", mdir);
        if (asprintf_safe(&u->marker, "%s/%s.exec", mdir, u->name) < 0)
                return -ENOMEM;
        u->marker_fd = open(u->marker, O_RDONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (u->marker_fd < 0)
                return log_debug_errno(-errno, "Cannot create %s: %m", u->marker);
        for (unsigned k = 0; k < 3; k++) {
                /* the marker is read too when it begins with the secrets */
                int mode = k == 2 && req->n_secrets > 0 ? O_RDWR : O_WRONLY;
                wfd[k] = open(k < 2 ? u->file[k] : u->marker, mode | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
                if (wfd[k] < 0) {
                        r = -errno;
                        goto out;
                }
        }
        if (req->n_secrets > 0) {
                _cleanup_free_ char *lines = NULL;
                size_t len = 0;
                ssize_t n;

                r = step_secrets_lines(req->secrets, req->n_secrets, &lines, &len);
                if (r < 0)
                        goto out;
                n = write(wfd[2], lines, len);
                r = n < 0 ? -errno : (size_t) n != len ? -EIO : 0;
                explicit_bzero(lines, len);
                /* the shell reads them through this very open file (systemd passes it on): from
                 * the start; its marker byte still goes to the end (O_APPEND) */
                if (r >= 0 && lseek(wfd[2], 0, SEEK_SET) < 0)
                        r = -errno;
                if (r < 0)
                        goto out;
                u->exec_size = len;
        }
        /* sd-bus keeps its own copies of the fds */
        r = unit_build_start(bus, u, req, wfd, &u->start);
        if (r < 0)
                goto out;

        handle = json_pack("{s:s,s:s,s:s}", "name", u->name, "stdout", u->file[0], "stderr", u->file[1]);
        if (handle && u->exec_size > 0 &&
            json_object_set_new(handle, "exec_size", json_integer((json_int_t) u->exec_size)) < 0) {
                json_decref(handle);
                handle = NULL;
        }
        if (!handle) {
                r = -ENOMEM;
                goto out;
        }
        r = connector_job_set_handle(&l->job, handle, on_committed);
out:
        for (unsigned k = 0; k < 3; k++)
                if (wfd[k] >= 0)
                        (void) close(wfd[k]);
        return r;
}

/* The handle's unit name and files; the files must be the ones runbookd would give that unit in
 * its output directory (never any other path the store might hold). */
static int handle_get(json_t *handle, const char **ret_name, const char *ret_file[2]) {
        const char *name = json_string_value(json_object_get(handle, "name"));
        char *want = NULL;

        ret_file[0] = json_string_value(json_object_get(handle, "stdout"));
        ret_file[1] = json_string_value(json_object_get(handle, "stderr"));
        if (!unit_name_is_ours(name) || !ret_file[0] || !ret_file[1] || !local_output_dir)
                return -EBADMSG;
        for (unsigned k = 0; k < 2; k++) {
                bool same;
                if (asprintf_safe(&want, "%s/%s.%s", local_output_dir, name, k == 0 ? "stdout" : "stderr") < 0)
                        return -ENOMEM;
                same = streq(want, ret_file[k]);
                want = mfree(want);
                if (!same)
                        return -EBADMSG;
        }
        *ret_name = name;
        return 0;
}

int local_unit_resume(LocalJob *l, const StepRequest *req, json_t *handle) {
        const char *name, *file[2];
        char *n;
        LocalUnit *u;
        sd_bus *bus;
        int r;

        r = handle_get(handle, &name, file);
        if (r < 0)
                return r;
        u = unit_new(l, req);
        if (!u)
                return -ENOMEM;
        n = strdup(name);
        if (!n)
                return -ENOMEM;
        r = unit_set_name(u, n);
        if (r < 0)
                return r;
        for (unsigned k = 0; k < 2; k++) {
                u->file[k] = strdup(file[k]);
                if (!u->file[k])
                        return -ENOMEM;
                u->fd[k] = open(u->file[k], O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
                if (u->fd[k] < 0)
                        /* followed all the same, for its result: the output is lost */
                        log_warning_errno(-errno, "Cannot open %s, the output of unit %s: %m", u->file[k], u->name);
        }
        json_t *es = json_object_get(handle, "exec_size");
        if (json_is_integer(es) && json_integer_value(es) > 0)
                u->exec_size = (uint64_t) json_integer_value(es);
        if (asprintf_safe(&u->marker, "%s/%s.exec", u->exec_size > 0 ? secret_seal_dir() : local_output_dir, u->name) < 0)
                return -ENOMEM;
        u->marker_fd = open(u->marker, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (u->marker_fd < 0 && errno != ENOENT)
                log_warning_errno(-errno, "Cannot open %s of unit %s: %m", u->marker, u->name);
        r = unit_bus(l->job.event, &bus);
        if (r < 0)
                return r;
        return unit_follow(l);
}

int local_unit_resumable(json_t *handle, char **ret_reason) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *name, *file[2];
        sd_bus *bus;
        int r;

        r = handle_get(handle, &name, file);
        if (r < 0)
                return r;
        r = unit_bus(NULL, &bus);
        if (r < 0)
                return r;
        /* GetUnit() finds loaded units only (it does not load one): a unit runbookd has not removed
         * is loaded until then, running, exited or failed */
        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &error, &reply, "s", name);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, "org.freedesktop.systemd1.NoSuchUnit")) {
                        (void) asprintf_safe(ret_reason, "its unit %s is gone without a result", name);
                        return 0;
                }
                return r;
        }
        /* (output files that are gone do not stop it being followed: its result is there) */
        return 1;
}

static int on_grace(sd_event_source *s, uint64_t usec, void *userdata) {
        LocalJob *l = userdata;

        unit_kill(l->unit, SIGKILL);
        return 0;
}

int local_unit_cancel(LocalJob *l) {
        LocalUnit *u = l->unit;

        if (u->ended || l->job.finished)
                return -EALREADY;
        if (u->stop != LOCAL_STOP_NONE)
                return 0;
        u->stop = LOCAL_STOP_CANCEL;
        if (!u->started)
                return 0;   /* on_committed() or on_started() sees it */
        unit_kill(u, SIGTERM);
        unit_kill(u, SIGCONT);
        return connector_job_arm_timer(&l->job, &u->grace, local_kill_grace_usec(), on_grace, l, "local-unit-grace");
}

/* Overwrites the secrets' values at the start of the marker before it goes. */
static void marker_wipe(LocalUnit *u) {
        static const char zeros[4096];
        _cleanup_close_ int fd = open(u->marker, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);

        if (fd < 0)
                return;
        for (uint64_t off = 0; off < u->exec_size;) {
                ssize_t n = pwrite(fd, zeros, (size_t) MIN(u->exec_size - off, (uint64_t) sizeof zeros), (off_t) off);
                if (n <= 0) {
                        log_debug_errno(n < 0 ? -errno : -EIO, "Cannot overwrite %s: %m", u->marker);
                        return;
                }
                off += (uint64_t) n;
        }
        if (fdatasync(fd) < 0)
                log_debug_errno(-errno, "Cannot sync %s: %m", u->marker);
}

void local_unit_destroy(LocalJob *l) {
        LocalUnit *u = l->unit;

        if (!u)
                return;
        u->poll = sd_event_source_disable_unref(u->poll);
        u->grace = sd_event_source_disable_unref(u->grace);
        u->match = sd_bus_slot_unref(u->match);
        u->call = sd_bus_slot_unref(u->call);
        u->start = sd_bus_message_unref(u->start);
        if ((l->job.finished || !u->sent) && u->name) {
                /* the result is out (or the unit was never asked for): the unit and its files go; a
                 * unit still running at runbookd's exit stays, for the next runbookd to follow */
                if (systemd_bus && u->started) {
                        (void) sd_bus_call_method_async(systemd_bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, "StopUnit", NULL,
                                                        NULL, "ss", u->name, "replace");
                        (void) sd_bus_call_method_async(systemd_bus, NULL, SD_DEST, SD_PATH, SD_MANAGER,
                                                        "ResetFailedUnit", NULL, NULL, "s", u->name);
                }
                for (unsigned k = 0; k < 2; k++)
                        if (u->file[k] && unlink(u->file[k]) < 0 && errno != ENOENT)
                                log_debug_errno(-errno, "Failed to remove %s: %m", u->file[k]);
                if (u->marker && u->exec_size > 0)
                        marker_wipe(u);
                if (u->marker && unlink(u->marker) < 0 && errno != ENOENT)
                        log_debug_errno(-errno, "Failed to remove %s: %m", u->marker);
        }
        if (u->marker_fd >= 0)
                (void) close(u->marker_fd);
        free(u->marker);
        for (unsigned k = 0; k < 2; k++) {
                if (u->fd[k] >= 0)
                        (void) close(u->fd[k]);
                free(u->file[k]);
        }
        free(u->name);
        free(u->path);
        free(u->message);
        free(u);
        l->unit = NULL;
}
