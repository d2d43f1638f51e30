/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cli-logs.c: logs: a session's journal records, read with sd-journal by the field match
 * RUNBOOK_SESSION=ID, printed like journalctl's short output or as JSON. Any local user can
 * write a record with RUNBOOK_* fields (logger --journald): only records runbookd wrote count,
 * told by the fields journald itself adds and nobody can forge, _UID (runbookd's uid) and
 * _COMM=runbookd. */
#include <pwd.h>
#include <stdio.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "cli/cli-output.h"
#include "cli/cli-bus.h"
#include "cli/runbookctl.h"

static inline void journal_closep(sd_journal **j) {
        if (*j)
                sd_journal_close(*j);
}

/* The value of FIELD in the current entry, as a new string; NULL when missing. */
static char *field(sd_journal *j, const char *name) {
        const void *data;
        size_t len, n = strlen(name);

        if (sd_journal_get_data(j, name, &data, &len) < 0 || len <= n || ((const char *) data)[n] != '=')
                return NULL;
        return strndup((const char *) data + n + 1, len - n - 1);
}

static int print_short(sd_journal *j) {
        _cleanup_free_ char *message = NULL, *host = NULL, *ident = NULL, *pid = NULL, *priority = NULL;
        uint64_t t;
        time_t sec;
        struct tm tm;
        char when[64];
        int r, prio;

        r = sd_journal_get_realtime_usec(j, &t);
        if (r < 0)
                return r;
        message = field(j, "MESSAGE");
        host = field(j, "_HOSTNAME");
        ident = field(j, "SYSLOG_IDENTIFIER");
        if (!ident)
                ident = field(j, "_COMM");
        pid = field(j, "_PID");
        priority = field(j, "PRIORITY");
        prio = priority ? atoi(priority) : 6;
        sec = (time_t) (t / USEC_PER_SEC);
        if (!localtime_r(&sec, &tm) || strftime(when, sizeof when, "%b %d %H:%M:%S", &tm) == 0)
                snprintf(when, sizeof when, "%llu", (unsigned long long) t);
        printf("%s %s %s%s%s%s: %s%s%s\n", when, strna(host), strna(ident), pid ? "[" : "", strempty(pid),
               pid ? "]" : "", prio <= 3 ? ansi(ANSI_RED) : prio <= 4 ? ansi(ANSI_YELLOW) : "", strempty(cli_esc(message)),
               prio <= 4 ? ansi(ANSI_NORMAL) : "");
        return 0;
}

static int print_json(sd_journal *j) {
        _cleanup_json_ json_t *o = json_object(), *fields = json_object();
        _cleanup_free_ char *message = NULL, *message_id = NULL, *priority = NULL, *step = NULL;
        const void *data;
        size_t len;
        uint64_t t;
        int r;

        if (!o || !fields)
                return -ENOMEM;
        r = sd_journal_get_realtime_usec(j, &t);
        if (r < 0)
                return r;
        SD_JOURNAL_FOREACH_DATA(j, data, len) {
                const char *eq = memchr(data, '=', len);
                _cleanup_free_ char *name = NULL;
                json_t *v;
                if (!eq)
                        continue;
                name = strndup(data, (size_t) (eq - (const char *) data));
                v = json_bytes(eq + 1, len - (size_t) (eq + 1 - (const char *) data));
                if (!name || !v || json_object_set_new(fields, name, v) < 0)
                        return -ENOMEM;
        }
        message = field(j, "MESSAGE");
        message_id = field(j, "MESSAGE_ID");
        priority = field(j, "PRIORITY");
        step = field(j, "RUNBOOK_STEP");
        if (json_add_time(o, "time", t) < 0 || json_add_string(o, "message", message) < 0 ||
            json_add_string(o, "message_id", message_id) < 0 ||
            json_object_set_new(o, "priority", priority ? json_integer(atoi(priority)) : json_null()) < 0 ||
            json_object_set_new(o, "step", step ? json_integer(atoi(step)) : json_null()) < 0 ||
            json_object_set(o, "fields", fields) < 0)
                return -ENOMEM;
        return json_print(o);
}

static int print_entry(sd_journal *j) {
        return arg_json == JSON_OFF ? print_short(j) : print_json(j);
}

/* The journal is shared: other runbookd instances (another state directory, an older store) may
 * have had a session with the same id. When runbookd knows the session, its store's id
 * (RUNBOOK_STORE_ID), runbook, reference and lifetime narrow the match down to this one. */
static int session_identity(uint32_t id, SessionInfo *s, char **ret_store_id) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = session_path_of(id);
        int r;

        if (!path)
                return -ENOMEM;
        r = cli_bus_open(&bus);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, RUNBOOKD_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll", &error,
                               &reply, "s", RUNBOOKD_SESSION_INTERFACE);
        if (r < 0)
                return r;
        r = session_info_update(s, reply);
        if (r < 0)
                return r;
        /* a daemon from before store ids: no such property, no such match */
        if (sd_bus_get_property_string(bus, RUNBOOKD_BUS_NAME, RUNBOOKD_MANAGER_PATH, RUNBOOKD_MANAGER_INTERFACE,
                                       "StoreId", NULL, ret_store_id) < 0)
                *ret_store_id = NULL;
        return 0;
}

/* The uid runbookd runs as: the owner of its bus name (only the user runbookd and root may own
 * it, says the bus policy); when runbookd is not running, the user runbookd's (the installed
 * service runs as it), else root. */
static uid_t daemon_uid(void) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *c = NULL;
        uid_t uid;

        if (cli_bus_open(&bus) < 0 ||
            sd_bus_get_name_creds(bus, RUNBOOKD_BUS_NAME, SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID, &c) < 0) {
                struct passwd *pw = getpwnam("runbookd");
                return pw ? pw->pw_uid : 0;
        }
        if (sd_bus_creds_get_euid(c, &uid) >= 0 || sd_bus_creds_get_uid(c, &uid) >= 0)
                return uid;
        return 0;
}

/* Slack around the session's lifetime for records written just before CreatedAt is taken or
 * after FinishedAt. */
#define LIFETIME_SLACK_USEC (5 * USEC_PER_SEC)

int verb_logs(int argc, char *argv[]) {
        _cleanup_(journal_closep) sd_journal *j = NULL;
        _cleanup_(session_info_done) SessionInfo s = { .current_step = -1 };
        _cleanup_free_ char *match = NULL, *uid_match = NULL, *store = NULL;
        usec_t since = 0, until = 0;
        uint32_t id;
        unsigned n = 0;
        int r;

        if (parse_session_id(argv[1], &id) < 0)
                return cli_error(-EINVAL, "Invalid session id '%s'.", argv[1]);
        if (arg_directory)
                r = sd_journal_open_directory(&j, arg_directory, 0);
        else
                r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
        if (r < 0)
                return cli_error(r, "Failed to open the journal%s%s: %s", arg_directory ? " in " : "",
                                 strempty(arg_directory), strerror(-r));
        if (asprintf_safe(&match, "RUNBOOK_SESSION=%u", id) < 0 ||
            asprintf_safe(&uid_match, "_UID=%u", (unsigned) daemon_uid()) < 0)
                return cli_error(-ENOMEM, "Out of memory.");
        r = sd_journal_add_match(j, match, 0);
        /* runbookd's own records only (trusted fields, see the top of this file) */
        if (r >= 0)
                r = sd_journal_add_match(j, uid_match, 0);
        if (r >= 0)
                r = sd_journal_add_match(j, "_COMM=runbookd", 0);
        if (r >= 0 && session_identity(id, &s, &store) >= 0 && s.runbook && s.created_at > 0) {
                _cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL;
                if (asprintf_safe(&m1, "RUNBOOK_NAME=%s", s.runbook) < 0 ||
                    asprintf_safe(&m2, "RUNBOOK_REFERENCE=%s", strempty(s.reference)) < 0 ||
                    (store && asprintf_safe(&m3, "RUNBOOK_STORE_ID=%s", store) < 0))
                        return cli_error(-ENOMEM, "Out of memory.");
                r = sd_journal_add_match(j, m1, 0);
                if (r >= 0)
                        r = sd_journal_add_match(j, m2, 0);
                if (r >= 0 && m3)
                        r = sd_journal_add_match(j, m3, 0);
                since = s.created_at > LIFETIME_SLACK_USEC ? s.created_at - LIFETIME_SLACK_USEC : 0;
                until = s.finished_at > 0 ? s.finished_at + LIFETIME_SLACK_USEC : 0;
        }
        if (r < 0)
                return cli_error(r, "Failed to add the journal match: %s", strerror(-r));

        bool positioned = false;
        if (arg_lines > 0) {
                /* the last N: from the end, N back; that entry is printed first */
                r = sd_journal_seek_tail(j);
                if (r >= 0) {
                        r = sd_journal_previous_skip(j, arg_lines);
                        positioned = r > 0;
                }
        } else if (since > 0)
                r = sd_journal_seek_realtime_usec(j, since);
        else
                r = sd_journal_seek_head(j);
        if (r < 0)
                return cli_error(r, "Failed to seek in the journal: %s", strerror(-r));

        if (!arg_follow)
                pager_open();
        for (;;) {
                r = positioned ? 1 : sd_journal_next(j);
                positioned = false;
                if (r < 0)
                        return cli_error(r, "Failed to read the journal: %s", strerror(-r));
                if (r == 0) {
                        if (!arg_follow)
                                break;
                        fflush(stdout);
                        r = sd_journal_wait(j, UINT64_MAX);
                        if (r < 0)
                                return cli_error(r, "Failed to wait for the journal: %s", strerror(-r));
                        continue;
                }
                if (since > 0 || until > 0) {
                        uint64_t t;
                        if (sd_journal_get_realtime_usec(j, &t) >= 0 && (t < since || (until > 0 && t > until)))
                                continue;
                }
                r = print_entry(j);
                if (r < 0)
                        return cli_error(r, "Failed to print a journal record: %s", strerror(-r));
                n++;
        }
        if (n == 0 && arg_json == JSON_OFF && arg_legend)
                printf("-- No entries --\n");
        return fflush(stdout) == 0 ? 0 : -EIO;
}
