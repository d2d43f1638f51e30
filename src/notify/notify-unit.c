/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* notify-unit.c: see notify-unit.h. The unit is runbookd-notify-SEQ-ATTEMPT-RANDOM.service,
 * Type=exec with RemainAfterExit=yes (its exit status stays until runbookd has read it); runbookd
 * follows it by its PropertiesChanged signals and a poll, then stops and removes it. A unit left
 * behind by a runbookd that stopped meanwhile ends by its RuntimeMaxSec= and is collected by
 * CollectMode=inactive-or-failed once stopped; the notification is sent again (at least once). */
#include <inttypes.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "notify/notify-unit.h"
#include "shared/log.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define POLL_USEC (250 * USEC_PER_MSEC)

struct NotifyUnit {
        sd_event *event;
        char *name, *path;
        sd_bus_slot *match, *call;
        sd_event_source *poll;
        bool started, ended, requery;
        notify_unit_done_t done;
        void *userdata;
};

static sd_bus *unit_bus = NULL;

bool notify_unit_mode(void) {
        static int booted = -1;

        if (booted < 0)
                booted = sd_booted() > 0;
        return booted;
}

static int bus_get(sd_event *event, sd_bus **ret) {
        int r;

        if (!unit_bus) {
                _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
                r = sd_bus_open_system_with_description(&bus, "runbookd-notify");
                if (r < 0)
                        return r;
                r = sd_bus_call_method_async(bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", NULL, NULL, NULL);
                if (r < 0)
                        return r;
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
                if (r < 0)
                        return r;
                unit_bus = TAKE_PTR(bus);
        }
        *ret = unit_bus;
        return 0;
}

void notify_unit_shutdown(void) {
        unit_bus = sd_bus_flush_close_unref(unit_bus);
}

static int append_sv(sd_bus_message *m, const char *name, const char *type, ...) {
        va_list ap;
        int r;

        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', type);
        va_start(ap, type);
        if (r >= 0)
                r = sd_bus_message_appendv(m, type, ap);
        va_end(ap);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int append_strv(sd_bus_message *m, const char *name, char **l) {
        int r = sd_bus_message_open_container(m, 'r', "sv");

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

static void unit_end(NotifyUnit *u, int error, const char *reason) {
        if (u->ended)
                return;
        u->ended = true;
        u->poll = sd_event_source_disable_unref(u->poll);
        u->match = sd_bus_slot_unref(u->match);
        u->call = sd_bus_slot_unref(u->call);
        u->done(u, error, reason, u->userdata);   /* last: it may free u */
}

static int query(NotifyUnit *u);

static int on_state(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        NotifyUnit *u = userdata;
        const char *active = NULL, *result = NULL, *load = NULL;
        int32_t code = -1, status = -1;
        uint64_t exit_usec = 0;
        uint32_t job = 0;
        char reason[160];
        int r;

        u->call = sd_bus_slot_unref(u->call);
        if (sd_bus_message_is_method_error(reply, NULL))
                return 0;   /* the poll asks again */
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *name;
                r = sd_bus_message_read(reply, "s", &name);
                if (r < 0)
                        break;
                if (streq(name, "ActiveState"))
                        r = sd_bus_message_read(reply, "v", "s", &active);
                else if (streq(name, "LoadState"))
                        r = sd_bus_message_read(reply, "v", "s", &load);
                else if (streq(name, "Result"))
                        r = sd_bus_message_read(reply, "v", "s", &result);
                else if (streq(name, "ExecMainCode"))
                        r = sd_bus_message_read(reply, "v", "i", &code);
                else if (streq(name, "ExecMainStatus"))
                        r = sd_bus_message_read(reply, "v", "i", &status);
                else if (streq(name, "ExecMainExitTimestampMonotonic"))
                        r = sd_bus_message_read(reply, "v", "t", &exit_usec);
                else if (streq(name, "Job")) {
                        const char *p;
                        r = sd_bus_message_read(reply, "v", "(uo)", &job, &p);
                } else
                        r = sd_bus_message_skip(reply, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0) {
                log_debug_errno(r, "Cannot parse the state of unit %s: %m", u->name);
                return 0;
        }
        if (streq_ptr(load, "not-found")) {
                unit_end(u, -ENOENT, "its unit is gone without a result");
                return 0;
        }
        if (streq_ptr(result, "timeout")) {
                unit_end(u, -ETIME, "the program did not finish within its timeout");
                return 0;
        }
        if (exit_usec > 0 || streq_ptr(active, "failed") || (streq_ptr(active, "inactive") && job == 0)) {
                if (code == CLD_EXITED && status == 0 && exit_usec > 0)
                        unit_end(u, 0, "delivered");
                else {
                        if (exit_usec == 0)
                                (void) snprintf(reason, sizeof reason, "systemd did not run the program (result '%s'; "
                                                "journalctl -u %s)", strna(result), u->name);
                        else if (code == CLD_EXITED)
                                (void) snprintf(reason, sizeof reason, "the program exited with status %d", status);
                        else
                                (void) snprintf(reason, sizeof reason, "the program was killed by signal %d", status);
                        unit_end(u, -EIO, reason);
                }
                return 0;
        }
        if (u->requery) {
                u->requery = false;
                (void) query(u);
        }
        return 0;
}

static int query(NotifyUnit *u) {
        if (u->call) {
                u->requery = true;
                return 0;
        }
        return sd_bus_call_method_async(unit_bus, &u->call, SD_DEST, u->path, "org.freedesktop.DBus.Properties", "GetAll",
                                        on_state, u, "s", "");
}

static int on_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        NotifyUnit *u = userdata;

        if (u->started && !u->ended)
                (void) query(u);
        return 0;
}

static int on_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        NotifyUnit *u = userdata;

        if (u->started)
                (void) query(u);
        (void) sd_event_source_set_time_relative(s, POLL_USEC);
        return sd_event_source_set_enabled(s, SD_EVENT_ON);
}

static int on_started(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        NotifyUnit *u = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        char reason[256];

        u->call = sd_bus_slot_unref(u->call);
        if (e) {
                (void) snprintf(reason, sizeof reason, "systemd did not start unit %s: %s", u->name, e->message ?: e->name);
                unit_end(u, -sd_bus_error_get_errno(e) ?: -EIO, reason);
                return 0;
        }
        u->started = true;
        (void) query(u);
        return 0;
}

int notify_unit_start(sd_event *event, const NotifySink *c, const char *ev, const char *event_id, uint64_t seq,
                      unsigned attempt, int doc_fd, notify_unit_done_t done, void *userdata, NotifyUnit **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_free_ char *desc = NULL, *ident = NULL;
        NotifyUnit *u;
        sd_bus *bus;
        uint32_t rnd = 0;
        char *s;
        int r;

        r = bus_get(event, &bus);
        if (r < 0)
                return r;
        u = calloc(1, sizeof *u);
        if (!u)
                return -ENOMEM;
        u->event = event;
        u->done = done;
        u->userdata = userdata;
        if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t) sizeof rnd)
                rnd = (uint32_t) now_usec(CLOCK_MONOTONIC);   /* only a name: unique enough */
        if (asprintf_safe(&u->name, "runbookd-notify-%" PRIu64 "-%u-%08x.service", seq, attempt, rnd) < 0 ||
            sd_bus_path_encode("/org/freedesktop/systemd1/unit", u->name, &u->path) < 0 ||
            asprintf_safe(&desc, "runbookd: notification %s (%s) for sink %s", event_id, ev, c->name) < 0 ||
            asprintf_safe(&ident, "runbookd-notify-%s", c->name) < 0 ||
            strv_extend(&env, "LANG=C.UTF-8") < 0 ||
            asprintf_safe(&s, "RUNBOOKD_EVENT=%s", ev) < 0 || strv_consume(&env, s) < 0 ||
            asprintf_safe(&s, "RUNBOOKD_EVENT_ID=%s", event_id) < 0 || strv_consume(&env, s) < 0 ||
            asprintf_safe(&s, "RUNBOOKD_SINK=%s", c->name) < 0 || strv_consume(&env, s) < 0) {
                notify_unit_free(u);
                return -ENOMEM;
        }

        r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", u->name, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)",
                                          "Description", "s", desc,
                                          "Type", "s", "exec",
                                          "RemainAfterExit", "b", 1,
                                          "CollectMode", "s", "inactive-or-failed",
                                          "KillMode", "s", "control-group",
                                          "RuntimeMaxUSec", "t", (uint64_t) c->timeout_usec,
                                          "StandardInputFileDescriptor", "h", doc_fd,
                                          "StandardOutput", "s", "null",
                                          "StandardError", "s", "journal",
                                          "SyslogIdentifier", "s", ident,
                                          "NoNewPrivileges", "b", 1,
                                          "PrivateTmp", "b", 1,
                                          "ProtectSystem", "s", "strict");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)",
                                          "ProtectHome", "s", "yes",
                                          "PrivateDevices", "b", 1,
                                          "WorkingDirectory", "s", "/",
                                          "RestrictSUIDSGID", "b", 1);
        /* runbookd as root names the user; unprivileged, the program gets a user of its own */
        if (r >= 0)
                r = geteuid() == 0 && c->user ? append_sv(m, "User", "s", c->user) : append_sv(m, "DynamicUser", "b", 1);
        if (r >= 0)
                r = append_strv(m, "Environment", env);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "ExecStart");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a(sasb)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sasb)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sasb");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", c->argv[0]);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, c->argv);
        if (r >= 0)
                r = sd_bus_message_append(m, "b", 0);
        for (int i = 0; r >= 0 && i < 5; i++)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r >= 0)
                r = sd_bus_match_signal_async(bus, &u->match, SD_DEST, u->path, "org.freedesktop.DBus.Properties",
                                              "PropertiesChanged", on_changed, NULL, u);
        if (r >= 0)
                r = sd_bus_call_async(bus, &u->call, m, on_started, u, 0);
        if (r >= 0)
                r = sd_event_add_time_relative(event, &u->poll, CLOCK_MONOTONIC, POLL_USEC, 50 * USEC_PER_MSEC, on_poll, u);
        if (r < 0) {
                notify_unit_free(u);
                return r;
        }
        (void) sd_event_source_set_description(u->poll, "notify-unit-poll");
        *ret = u;
        return 0;
}

NotifyUnit *notify_unit_free(NotifyUnit *u) {
        if (!u)
                return NULL;
        u->poll = sd_event_source_disable_unref(u->poll);
        u->match = sd_bus_slot_unref(u->match);
        u->call = sd_bus_slot_unref(u->call);
        if (unit_bus && u->name && (u->started || !u->ended)) {
                /* its whole control group goes; then the unit (CollectMode= takes a failed one too) */
                (void) sd_bus_call_method_async(unit_bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, "StopUnit", NULL, NULL, "ss",
                                                u->name, "replace");
                (void) sd_bus_call_method_async(unit_bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, "ResetFailedUnit", NULL, NULL,
                                                "s", u->name);
        }
        free(u->name);
        free(u->path);
        free(u);
        return NULL;
}
