/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cli-watch.c: watch (and start --watch): follows a session from its PropertiesChanged signals.
 * Race-free: the match is installed first (sd_bus_add_match waits for the bus to confirm it), then
 * the current state is read with GetAll, so a change between the two arrives as a signal. A
 * session that has already ended is reported at once. If runbookd leaves the bus, watch waits for
 * it to come back and reads the state again (a step that was running then ends "interrupted"). */
#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "cli/cli-bus.h"
#include "cli/cli-output.h"
#include "cli/runbookctl.h"

#define SPINNER_INTERVAL_USEC (100 * USEC_PER_MSEC)

typedef struct StepShown {
        char *state;       /* the state last reported */
        size_t approvals;  /* decisions already reported */
        uint32_t attempt;  /* the attempt last reported */
} StepShown;

typedef struct Watch {
        sd_bus *bus;
        sd_event *event;
        uint32_t id;
        SessionInfo s;
        StepShown *shown;
        size_t n_shown;
        bool tty;
        bool status_shown;
        unsigned spin;
        bool daemon_gone;
        bool rollback_announced;
        int error; /* negative errno once something failed (already printed) */
} Watch;

static void watch_done(Watch *w) {
        for (size_t i = 0; i < w->n_shown; i++)
                free(w->shown[i].state);
        free(w->shown);
        session_info_done(&w->s);
        sd_event_unref(w->event);
}

static void clear_status(Watch *w) {
        if (w->status_shown) {
                fputs("\r\x1B[K", stdout);
                w->status_shown = false;
        }
}

static const char *mark(const char *state) {
        if (!colors_enabled())
                return "*";
        if (streq_ptr(state, "succeeded"))
                return "✓";
        if (streq_ptr(state, "running"))
                return "▶";
        if (streq_ptr(state, "waiting_approval"))
                return "⏸";
        if (streq_ptr(state, "skipped") || streq_ptr(state, "approved"))
                return "•";
        return "✗";
}

static void print_step_line(Watch *w, const StepInfo *st, const char *fmt, ...) _printf_(3, 4);
static void print_step_line(Watch *w, const StepInfo *st, const char *fmt, ...) {
        va_list ap;

        clear_status(w);
        printf("%s%s%s Step %u (%s: %s) ", ansi(state_color(st->state)), mark(st->state), ansi(ANSI_NORMAL),
               st->index, strna(st->phase), strna(st->name));
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        fputc('\n', stdout);
        fflush(stdout); /* a line as it happens, also into a pipe or a file */
}

static void report_step(Watch *w, size_t i) {
        const StepInfo *st = &w->s.step_info[i];
        StepShown *sh = &w->shown[i];
        char span[48];
        char *c;

        /* decisions first: they explain the state change that follows them */
        for (; sh->approvals < st->n_approvals; sh->approvals++) {
                const Approval *a = &st->approvals[sh->approvals];
                char who[160];
                clear_status(w);
                printf("  Step %u %s by %s%s%s%s\n", st->index,
                       streq_ptr(a->decision, "approve") ? "approved" :
                       streq_ptr(a->decision, "lapsed") ? "approved (lapsed)" :
                       streq_ptr(a->decision, "break_glass") ? "run by BREAK-GLASS" : "rejected",
                       cli_esc(approval_who(a, who, sizeof who)),
                       isempty(a->comment) ? "" : ": \"", strempty(a->comment), isempty(a->comment) ? "" : "\"");
                fflush(stdout);
        }
        /* an automatic retry may go from running to running (its wait too short to be seen) */
        if (!st->state || (streq_ptr(st->state, sh->state) && st->attempt == sh->attempt))
                return;
        sh->attempt = st->attempt;
        if (streq(st->state, "running")) {
                if (st->attempt > 1)
                        print_step_line(w, st, "started on %s (attempt %u): %s", strna(st->target), st->attempt,
                                        strna(st->command));
                else
                        print_step_line(w, st, "started on %s: %s", strna(st->target), strna(st->command));
        } else if (streq(st->state, "waiting_retry")) {
                char at[FORMAT_TIMESTAMP_MAX];
                print_step_line(w, st, "%sattempt %u failed%s (%s); attempt %u (retry %u of %u) starts by itself at %s",
                                ansi(ANSI_YELLOW), st->attempt, ansi(ANSI_NORMAL), strna(cli_esc(st->error)), st->attempt + 1,
                                st->retries_done + 1, st->retries, format_timestamp_both(at, sizeof at, st->retry_at));
        } else if (streq(st->state, "waiting_approval")) {
                size_t approved = 0;
                for (size_t k = 0; k < st->n_approvals; k++)
                        approved += streq_ptr(st->approvals[k].decision, "approve");
                print_step_line(w, st, "is waiting for approval (%zu/%u) to run on %s: %s", approved,
                                st->approvals_required, strna(st->target), strna(st->command));
        } else if (streq(st->state, "skipped") || streq(st->state, "pending") || streq(st->state, "approved")) {
                if (streq(st->state, "skipped"))
                        /* by its condition (the error says why, with the values), or by the session's end */
                        print_step_line(w, st, "skipped%s%s%s", isempty(st->error) ? "" : " (",
                                        isempty(st->error) ? "" : cli_esc(st->error), isempty(st->error) ? "" : ")");
        } else if (cli_step_state_final(st->state)) {
                usec_t d = st->started_at > 0 && st->finished_at >= st->started_at ? st->finished_at - st->started_at : 0;
                char status[64] = "";
                if (st->signal > 0)
                        snprintf(status, sizeof status, ": killed by signal %d", st->signal);
                else if (st->exit_status >= 0)
                        snprintf(status, sizeof status, ": exit status %d", st->exit_status);
                print_step_line(w, st, "%s%s%s%s%s%s%s%s%s", ansi(state_color(st->state)), st->state,
                                ansi(ANSI_NORMAL), status, st->started_at > 0 ? " after " : "",
                                st->started_at > 0 ? format_timespan(span, sizeof span, d) : "",
                                isempty(st->error) || streq(st->state, "succeeded") ? "" : " (",
                                streq(st->state, "succeeded") ? "" : strempty(cli_esc(st->error)),
                                isempty(st->error) || streq(st->state, "succeeded") ? "" : ")");
        }
        c = strdup(st->state);
        if (c) {
                free(sh->state);
                sh->state = c;
        }
}

static int sync_shown(Watch *w) {
        if (w->n_shown == w->s.n_step_info)
                return 0;
        for (size_t i = 0; i < w->n_shown; i++)
                free(w->shown[i].state);
        free(w->shown);
        w->n_shown = 0;
        w->shown = calloc(MAX(w->s.n_step_info, (size_t) 1), sizeof(StepShown));
        if (!w->shown)
                return -ENOMEM;
        w->n_shown = w->s.n_step_info;
        return 0;
}

static void draw_status(Watch *w) {
        static const char *const frames[] = { "⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏" };
        const StepInfo *st = NULL;
        char span[48];
        usec_t n = now_usec(CLOCK_REALTIME);

        if (!w->tty)
                return;
        for (size_t i = 0; i < w->s.n_step_info; i++)
                if (streq_ptr(w->s.step_info[i].state, "running") ||
                    streq_ptr(w->s.step_info[i].state, "waiting_approval"))
                        st = &w->s.step_info[i];
        fputs("\r\x1B[K", stdout);
        if (w->daemon_gone)
                printf("%s waiting for runbookd to come back…", frames[w->spin % ELEMENTSOF(frames)]);
        else if (st && streq_ptr(st->state, "running"))
                printf("%s%s%s step %u (%s) running for %s", ansi(ANSI_HIGHLIGHT), frames[w->spin % ELEMENTSOF(frames)],
                       ansi(ANSI_NORMAL), st->index, strna(st->name),
                       format_timespan(span, sizeof span, st->started_at > 0 && n > st->started_at ? n - st->started_at : 0));
        else if (st)
                printf("%s%s%s step %u (%s) waiting for approval", ansi(ANSI_YELLOW),
                       frames[w->spin % ELEMENTSOF(frames)], ansi(ANSI_NORMAL), st->index, strna(st->name));
        else
                printf("%s session %u %s", frames[w->spin % ELEMENTSOF(frames)], w->id, strna(w->s.state));
        w->status_shown = true;
        w->spin++;
        fflush(stdout);
}

static int exit_code_for(const char *state) {
        if (streq_ptr(state, "succeeded"))
                return EXIT_WATCH_SUCCEEDED;
        if (streq_ptr(state, "failed"))
                return EXIT_WATCH_FAILED;
        if (streq_ptr(state, "rejected"))
                return EXIT_WATCH_REJECTED;
        if (streq_ptr(state, "cancelled"))
                return EXIT_WATCH_CANCELLED;
        if (streq_ptr(state, "interrupted"))
                return EXIT_WATCH_INTERRUPTED;
        if (streq_ptr(state, "expired"))
                return EXIT_WATCH_EXPIRED;
        return EXIT_WATCH_ERROR;
}

/* Reports what changed; returns the exit code when watching is over, -1 to go on. */
static int report(Watch *w) {
        if (sync_shown(w) < 0) {
                w->error = cli_error(-ENOMEM, "Out of memory.");
                return EXIT_WATCH_ERROR;
        }
        /* in order: a step's end is reported before anything about later steps (signals of
         * different objects may arrive in any order) */
        for (size_t i = 0; i < w->s.n_step_info; i++) {
                const StepInfo *st = &w->s.step_info[i];
                if (streq_ptr(st->phase, "rollback") && !w->rollback_announced && !isempty(w->s.rollback) &&
                    !streq(w->s.rollback, "none") && !streq(w->s.rollback, "skipped")) {
                        clear_status(w);
                        printf("%s↺%s Session %u rolls back: %s\n", ansi(ANSI_YELLOW), ansi(ANSI_NORMAL), w->id,
                               cli_esc(strempty(w->s.error)));
                        w->rollback_announced = true;
                }
                report_step(w, i);
                if (streq_ptr(w->s.step_info[i].state, "running") ||
                    streq_ptr(w->s.step_info[i].state, "waiting_approval"))
                        break;
        }

        if (cli_session_state_final(w->s.state)) {
                clear_status(w);
                bool rb = !isempty(w->s.rollback) && !streq(w->s.rollback, "none");
                printf("%s%s%s Session %u %s%s%s%s%s%s%s%s\n", ansi(state_color(w->s.state)), mark(w->s.state),
                       ansi(ANSI_NORMAL), w->id, ansi(state_color(w->s.state)), w->s.state, ansi(ANSI_NORMAL),
                       isempty(w->s.error) ? "" : ": ", cli_esc(strempty(w->s.error)), rb ? "; rollback " : "",
                       rb ? w->s.rollback : "", ".");
                return exit_code_for(w->s.state);
        }
        if (streq_ptr(w->s.state, "waiting_approval") && !arg_until_end) {
                const StepInfo *st = NULL;
                for (size_t i = 0; i < w->s.n_step_info; i++)
                        if (streq_ptr(w->s.step_info[i].state, "waiting_approval"))
                                st = &w->s.step_info[i];
                clear_status(w);
                if (st)
                        printf("%s%s%s Session %u is waiting for approval of step %u (%s): runbookctl approve %u\n",
                               ansi(ANSI_YELLOW), mark("waiting_approval"), ansi(ANSI_NORMAL), w->id, st->index,
                               strna(st->name), w->id);
                else
                        printf("Session %u is waiting for approval.\n", w->id);
                return EXIT_WATCH_WAITING;
        }
        draw_status(w);
        return -1;
}

static void finish(Watch *w, int code) {
        fflush(stdout);
        (void) sd_event_exit(w->event, code);
}

/* Reads everything again: at the start, after runbookd came back, and whenever the session's
 * state changes (so every step's last change is seen before the session's end is reported). */
static int reload(Watch *w) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = session_info_load(w->bus, w->id, &w->s, &error);
        if (r < 0) {
                clear_status(w);
                if (sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_OBJECT))
                        w->error = cli_error(r, "No such session: %u.", w->id);
                else
                        w->error = cli_bus_error(r, &error, NULL, "read the session");
                return r;
        }
        return 0;
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Watch *w = userdata;
        const char *path = sd_bus_message_get_path(m), *interface;
        int code, r;

        if (w->daemon_gone)
                return 0;
        r = sd_bus_message_read(m, "s", &interface);
        if (r < 0)
                goto fail;
        if (streq(interface, RUNBOOKD_SESSION_INTERFACE) && streq_ptr(path, w->s.path)) {
                r = reload(w);
                if (r < 0) {
                        finish(w, EXIT_WATCH_ERROR);
                        return 0;
                }
        } else if (streq(interface, RUNBOOKD_STEP_INTERFACE)) {
                for (size_t i = 0; i < w->s.n_step_info; i++)
                        if (streq_ptr(w->s.step_info[i].path, path)) {
                                r = step_info_update(&w->s.step_info[i], m);
                                if (r < 0)
                                        goto fail;
                                break;
                        }
        } else
                return 0;
        code = report(w);
        if (code >= 0)
                finish(w, code);
        return 0;
fail:
        w->error = cli_error(r, "Failed to parse a change signal: %s", strerror(-r));
        finish(w, EXIT_WATCH_ERROR);
        return 0;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Watch *w = userdata;
        const char *name, *old_owner, *new_owner;
        int code;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || !streq(name, RUNBOOKD_BUS_NAME))
                return 0;
        if (isempty(new_owner)) {
                w->daemon_gone = true;
                clear_status(w);
                cli_note("runbookd left the bus; waiting for it to come back…");
                draw_status(w);
                return 0;
        }
        w->daemon_gone = false;
        if (reload(w) < 0) {
                finish(w, EXIT_WATCH_ERROR);
                return 0;
        }
        code = report(w);
        if (code >= 0)
                finish(w, code);
        return 0;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Watch *w = userdata;

        draw_status(w);
        (void) sd_event_source_set_time(s, usec + SPINNER_INTERVAL_USEC);
        return sd_event_source_set_enabled(s, SD_EVENT_ON);
}

static int on_disconnect(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Watch *w = userdata;

        clear_status(w);
        w->error = cli_error(-ECONNRESET, "Lost the connection to the system bus.");
        finish(w, EXIT_WATCH_ERROR);
        return 0;
}

int watch_session(sd_bus *bus, uint32_t id) {
        _cleanup_(watch_done) Watch w = { .bus = bus, .id = id, .s = { .current_step = -1 } };
        _cleanup_(sd_event_source_unrefp) sd_event_source *tick = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *changed = NULL, *owner = NULL, *disconnected = NULL;
        _cleanup_free_ char *rule = NULL;
        int code, r;

        w.tty = stdout_is_tty();
        w.s.path = session_path_of(id);
        if (!w.s.path)
                return cli_error(-ENOMEM, "Out of memory.");
        r = sd_event_new(&w.event);
        if (r >= 0)
                r = sd_bus_attach_event(bus, w.event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return cli_error(r, "Failed to set up the event loop: %s", strerror(-r));

        /* 1. subscribe (synchronously: the bus has the match before we read anything) */
        if (asprintf_safe(&rule,
                          "type='signal',sender='" RUNBOOKD_BUS_NAME "',interface='org.freedesktop.DBus.Properties',"
                          "member='PropertiesChanged',path_namespace='%s'",
                          w.s.path) < 0)
                return cli_error(-ENOMEM, "Out of memory.");
        r = sd_bus_add_match(bus, &changed, rule, on_properties_changed, &w);
        if (r >= 0)
                r = sd_bus_match_signal(bus, &owner, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed, &w);
        if (r >= 0)
                r = sd_bus_match_signal(bus, &disconnected, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                        "org.freedesktop.DBus.Local", "Disconnected", on_disconnect, &w);
        if (r < 0)
                return cli_error(r, "Failed to subscribe to runbookd's signals: %s", strerror(-r));

        /* 2. read the current state; 3. report it (an ended session ends the watch at once) */
        r = reload(&w);
        if (r < 0)
                return w.error;
        code = report(&w);
        if (code >= 0)
                return w.error < 0 ? w.error : code;

        if (w.tty) {
                r = sd_event_add_time_relative(w.event, &tick, CLOCK_MONOTONIC, SPINNER_INTERVAL_USEC, 0, on_tick, &w);
                if (r < 0)
                        return cli_error(r, "Failed to set up a timer: %s", strerror(-r));
        }
        code = sd_event_loop(w.event);
        clear_status(&w);
        fflush(stdout);
        if (w.error < 0)
                return w.error;
        if (code < 0)
                return cli_error(code, "Failed to follow the session: %s", strerror(-code));
        return code;
}

int verb_watch(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        uint32_t id;
        int r;

        if (parse_session_id(argv[1], &id) < 0)
                return cli_error(-EINVAL, "Invalid session id '%s'.", argv[1]);
        r = cli_bus_open(&bus);
        if (r < 0)
                return cli_error(r, "Failed to connect to the system bus: %s", strerror(-r));
        return watch_session(bus, id);
}
