/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cli-sessions.c: the verbs that only read: runbooks, targets, list, pending, show, status, output. */
#include <stdio.h>

#include "cli/cli-bus.h"
#include "cli/cli-output.h"
#include "cli/runbookctl.h"

static int call_manager(sd_bus *bus, const char *method, sd_bus_error *error, sd_bus_message **reply) {
        return sd_bus_call_method(bus, RUNBOOKD_BUS_NAME, RUNBOOKD_MANAGER_PATH, RUNBOOKD_MANAGER_INTERFACE, method,
                                  error, reply, NULL);
}

/* One entry of ListSessions. */
typedef struct SessionRow {
        uint32_t id, creator_uid;
        const char *runbook, *reference, *state, *creator, *path;
        int32_t current_step;
        uint64_t created_at, finished_at;
} SessionRow;

#define LIST_PAGE 1000u /* the daemon's most per call */

/* Calls ListSessions page by page (each call bounded by the daemon), newest first, until
 * 'limit' sessions (0: all) have been given to 'fn'. */
static int list_sessions_paged(sd_bus *bus, char **states, uint64_t since, unsigned limit,
                               int (*fn)(const SessionRow *row, void *userdata), void *userdata, sd_bus_error *error) {
        uint32_t before = 0;
        unsigned n = 0;
        int r;

        do {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
                unsigned want = limit == 0 ? LIST_PAGE : MIN(LIST_PAGE, limit - n);
                SessionRow row;

                r = sd_bus_message_new_method_call(bus, &call, RUNBOOKD_BUS_NAME, RUNBOOKD_MANAGER_PATH,
                                                   RUNBOOKD_MANAGER_INTERFACE, "ListSessions");
                if (r >= 0)
                        r = sd_bus_message_open_container(call, 'a', "{sv}");
                if (r >= 0 && states && states[0]) {
                        r = sd_bus_message_open_container(call, 'e', "sv");
                        if (r >= 0)
                                r = sd_bus_message_append(call, "s", "states");
                        if (r >= 0)
                                r = sd_bus_message_open_container(call, 'v', "as");
                        if (r >= 0)
                                r = sd_bus_message_append_strv(call, states);
                        if (r >= 0)
                                r = sd_bus_message_close_container(call);
                        if (r >= 0)
                                r = sd_bus_message_close_container(call);
                }
                if (r >= 0 && since > 0)
                        r = sd_bus_message_append(call, "{sv}", "since", "t", since);
                if (r >= 0 && arg_unreviewed)
                        r = sd_bus_message_append(call, "{sv}", "unreviewed", "b", 1);
                if (r >= 0 && before > 0)
                        r = sd_bus_message_append(call, "{sv}", "before", "u", before);
                if (r >= 0)
                        r = sd_bus_message_append(call, "{sv}", "limit", "u", want);
                if (r >= 0)
                        r = sd_bus_message_close_container(call);
                if (r < 0)
                        return r;
                r = sd_bus_call(bus, call, 0, error, &reply);
                if (r < 0)
                        return r;
                r = sd_bus_message_enter_container(reply, 'a', "(usssiustto)");
                while (r >= 0 && (r = sd_bus_message_read(reply, "(usssiustto)", &row.id, &row.runbook, &row.reference,
                                                          &row.state, &row.current_step, &row.creator_uid, &row.creator,
                                                          &row.created_at, &row.finished_at, &row.path)) > 0) {
                        r = fn(&row, userdata);
                        if (r < 0)
                                return r;
                        n++;
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                uint32_t next = 0;
                if (r >= 0)
                        r = sd_bus_message_read(reply, "u", &next);
                if (r < 0)
                        return r;
                /* the cursor only goes down: a daemon that says otherwise cannot keep us here */
                if (next > 0 && before > 0 && next >= before)
                        return -EBADMSG;
                before = next;
        } while (before > 0 && (limit == 0 || n < limit));
        return 0;
}

static int open_or_fail(sd_bus **bus) {
        int r = cli_bus_open(bus);
        if (r < 0)
                return cli_error(r, "Failed to connect to the system bus: %s", strerror(-r));
        return 0;
}

/* ListRunbooks and ListTargets: both a(sss). */
static int list_triples(const char *method, const char *const keys[3], const char *const headers[3],
                        const char *singular, const char *plural) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_json_ json_t *array = NULL;
        const char *a, *b, *c;
        int r;

        r = open_or_fail(&bus);
        if (r < 0)
                return r;
        r = call_manager(bus, method, &error, &reply);
        if (r < 0)
                return cli_bus_error(r, &error, NULL, plural[0] == 'r' ? "list runbooks" : "list targets");
        t = table_new(3, headers);
        array = json_array();
        if (!t || !array)
                return cli_error(-ENOMEM, "Out of memory.");
        if (stdout_is_tty()) /* long descriptions are cut on a terminal; pipes get them whole */
                for (size_t i = 0; i < 3; i++)
                        if (streq(keys[i], "description"))
                                table_set_max_width(t, i, 60);
        r = sd_bus_message_enter_container(reply, 'a', "(sss)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(sss)", &a, &b, &c)) > 0) {
                json_t *o = json_object();
                if (!o || json_array_append_new(array, o) < 0)
                        return cli_error(-ENOMEM, "Out of memory.");
                if ((r = json_add_string(o, keys[0], a)) < 0 || (r = json_add_string(o, keys[1], b)) < 0 ||
                    (r = json_add_string(o, keys[2], c)) < 0 || (r = table_add_cell(t, a, ANSI_HIGHLIGHT)) < 0 ||
                    (r = table_add_cell(t, b, NULL)) < 0 || (r = table_add_cell(t, c, NULL)) < 0)
                        return cli_error(r, "Out of memory.");
        }
        if (r < 0)
                return cli_error(r, "Failed to parse runbookd's reply: %s", strerror(-r));
        return print_list(array, t, singular, plural);
}

int verb_runbooks(int argc, char *argv[]) {
        static const char *const keys[] = { "name", "description", "file" };
        static const char *const headers[] = { "NAME", "DESCRIPTION", "FILE" };
        return list_triples("ListRunbooks", keys, headers, "runbook", "runbooks");
}

/* ListLocks: who holds what, who waits */
int verb_locks(int argc, char *argv[]) {
        static const char *const headers[] = { "LOCK", "HELD BY", "WAITING" };
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_json_ json_t *array = NULL;
        int r;

        r = open_or_fail(&bus);
        if (r < 0)
                return r;
        r = call_manager(bus, "ListLocks", &error, &reply);
        if (r < 0)
                return cli_bus_error(r, &error, NULL, "list locks");
        t = table_new(ELEMENTSOF(headers), headers);
        array = json_array();
        if (!t || !array)
                return cli_error(-ENOMEM, "Out of memory.");
        r = sd_bus_message_enter_container(reply, 'a', "(suau)");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'r', "suau")) > 0) {
                _cleanup_free_ char *queue = NULL;
                const uint32_t *waiters;
                const char *name;
                uint32_t holder;
                size_t size = 0;
                json_t *o = json_object(), *w = json_array();

                if (!o || !w || json_array_append_new(array, o) < 0 || json_object_set_new(o, "waiting", w) < 0)
                        return cli_error(-ENOMEM, "Out of memory.");
                r = sd_bus_message_read(reply, "su", &name, &holder);
                if (r >= 0)
                        r = sd_bus_message_read_array(reply, 'u', (const void **) &waiters, &size);
                if (r < 0)
                        break;
                for (size_t i = 0; i < size / sizeof(uint32_t); i++) {
                        char *q = NULL;
                        if (json_array_append_new(w, json_integer(waiters[i])) < 0 ||
                            asprintf_safe(&q, "%s%s%u", strempty(queue), queue ? " " : "", waiters[i]) < 0)
                                return cli_error(-ENOMEM, "Out of memory.");
                        free(queue);
                        queue = q;
                }
                if (json_add_string(o, "name", name) < 0 ||
                    json_object_set_new(o, "holder", holder ? json_integer(holder) : json_null()) < 0 ||
                    table_add_cell(t, name, ANSI_HIGHLIGHT) < 0 ||
                    (holder ? table_add_cellf(t, NULL, "session %u", holder) : table_add_cell(t, "-", NULL)) < 0 ||
                    table_add_cell(t, queue ?: "-", queue ? ANSI_YELLOW : NULL) < 0)
                        return cli_error(-ENOMEM, "Out of memory.");
                r = sd_bus_message_exit_container(reply);
        }
        if (r < 0)
                return cli_error(r, "Failed to parse runbookd's reply: %s", strerror(-r));
        return print_list(array, t, "lock", "locks");
}

int verb_targets(int argc, char *argv[]) {
        static const char *const keys[] = { "name", "connector", "description" };
        static const char *const headers[] = { "NAME", "CONNECTOR", "DESCRIPTION" };
        return list_triples("ListTargets", keys, headers, "target", "targets");
}

struct list_rows {
        Table *table;
        json_t *array;
        sd_bus *bus;
};

static int list_row(const SessionRow *row, void *userdata) {
        struct list_rows *l = userdata;
        char age[48];
        json_t *o;
        int r;

        o = json_object();
        if (!o || json_array_append_new(l->array, o) < 0)
                return -ENOMEM;
        if ((r = json_add_integer(o, "id", row->id)) < 0 || (r = json_add_string(o, "runbook", row->runbook)) < 0 ||
            (r = json_add_string(o, "reference", row->reference)) < 0 || (r = json_add_string(o, "state", row->state)) < 0 ||
            (r = json_object_set_new(o, "current_step", row->current_step < 0 ? json_null() : json_integer(row->current_step))) < 0 ||
            (r = json_add_integer(o, "created_by_uid", row->creator_uid)) < 0 ||
            (r = json_add_string(o, "created_by", row->creator)) < 0 ||
            (r = json_add_time(o, "created_at", row->created_at)) < 0 ||
            (r = json_add_time(o, "finished_at", row->finished_at)) < 0 || (r = json_add_string(o, "path", row->path)) < 0)
                return -ENOMEM;
        /* a session waiting for a lock: its place in the queue (1: next) */
        uint32_t position = 0;
        if (streq_ptr(row->state, "waiting_lock") &&
            sd_bus_get_property_trivial(l->bus, RUNBOOKD_BUS_NAME, row->path, RUNBOOKD_SESSION_INTERFACE, "LockPosition",
                                        NULL, 'u', &position) >= 0 &&
            json_add_integer(o, "lock_position", position) < 0)
                return -ENOMEM;
        if ((r = table_add_cellf(l->table, ANSI_HIGHLIGHT, "%u", row->id)) < 0 ||
            (r = table_add_cell(l->table, row->runbook, NULL)) < 0 || (r = table_add_cell(l->table, row->reference, NULL)) < 0 ||
            (r = position > 0 ? table_add_cellf(l->table, state_color(row->state), "%s #%u", row->state, position)
                              : table_add_cell(l->table, row->state, state_color(row->state))) < 0 ||
            (r = row->current_step < 0 ? table_add_cell(l->table, NULL, NULL) : table_add_cellf(l->table, NULL, "%d", row->current_step)) < 0 ||
            (r = table_add_cell(l->table, row->creator, NULL)) < 0 ||
            (r = table_add_cell(l->table, format_timestamp_relative(age, sizeof age, row->created_at), NULL)) < 0)
                return r;
        return 0;
}

int verb_list(int argc, char *argv[]) {
        static const char *const headers[] = { "ID", "RUNBOOK", "REFERENCE", "STATE", "STEP", "CREATED BY", "AGE" };
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_json_ json_t *array = NULL;
        int r;

        r = open_or_fail(&bus);
        if (r < 0)
                return r;
        t = table_new(ELEMENTSOF(headers), headers);
        array = json_array();
        if (!t || !array)
                return cli_error(-ENOMEM, "Out of memory.");
        table_set_max_width(t, 2, 32);
        struct list_rows l = { t, array, bus };
        r = list_sessions_paged(bus, arg_states, arg_since, arg_limit, list_row, &l, &error);
        if (r < 0)
                return sd_bus_error_is_set(&error) ? cli_bus_error(r, &error, NULL, "list sessions")
                                                   : cli_error(r, "Failed to list sessions: %s", strerror(-r));
        return print_list(array, t, "session", "sessions");
}

int verb_pending(int argc, char *argv[]) {
        static const char *const headers[] = { "SESSION", "STEP", "NAME", "COMMAND", "TARGET", "REQUESTED BY",
                                               "WAITING SINCE", "APPROVALS", "EXPIRES" };
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_json_ json_t *array = NULL;
        const char *runbook, *reference, *name, *phase, *command, *target, *creator, *path;
        uint32_t sid, index, uid, approvals, needed;
        uint64_t since, deadline;
        int r;

        r = open_or_fail(&bus);
        if (r < 0)
                return r;
        r = call_manager(bus, "ListPendingApprovals", &error, &reply);
        if (r < 0)
                return cli_bus_error(r, &error, NULL, "list pending approvals");
        t = table_new(ELEMENTSOF(headers), headers);
        array = json_array();
        if (!t || !array)
                return cli_error(-ENOMEM, "Out of memory.");
        table_set_max_width(t, 3, 48);
        r = sd_bus_message_enter_container(reply, 'a', "(uussssssustuuot)");
        while (r >= 0 &&
               (r = sd_bus_message_read(reply, "(uussssssustuuot)", &sid, &index, &runbook, &reference, &name, &phase,
                                        &command, &target, &uid, &creator, &since, &approvals, &needed, &path,
                                        &deadline)) > 0) {
                char age[48], left[48];
                json_t *o = json_object();

                if (!o || json_array_append_new(array, o) < 0)
                        return cli_error(-ENOMEM, "Out of memory.");
                if ((r = json_add_integer(o, "session_id", sid)) < 0 || (r = json_add_integer(o, "step", index)) < 0 ||
                    (r = json_add_string(o, "runbook", runbook)) < 0 ||
                    (r = json_add_string(o, "reference", reference)) < 0 || (r = json_add_string(o, "name", name)) < 0 ||
                    (r = json_add_string(o, "phase", phase)) < 0 || (r = json_add_string(o, "command", command)) < 0 ||
                    (r = json_add_string(o, "target", target)) < 0 ||
                    (r = json_add_integer(o, "requested_by_uid", uid)) < 0 ||
                    (r = json_add_string(o, "requested_by", creator)) < 0 ||
                    (r = json_add_time(o, "waiting_since", since)) < 0 ||
                    (r = json_add_integer(o, "approvals", approvals)) < 0 ||
                    (r = json_add_integer(o, "approvals_required", needed)) < 0 ||
                    (r = json_add_string(o, "path", path)) < 0 ||
                    (deadline > 0 && (r = json_add_time(o, "approval_deadline", deadline)) < 0))
                        return cli_error(-ENOMEM, "Out of memory.");
                if ((r = table_add_cellf(t, ANSI_HIGHLIGHT, "%u", sid)) < 0 || (r = table_add_cellf(t, NULL, "%u", index)) < 0 ||
                    (r = table_add_cell(t, name, NULL)) < 0 || (r = table_add_cell(t, command, NULL)) < 0 ||
                    (r = table_add_cell(t, target, NULL)) < 0 || (r = table_add_cell(t, creator, NULL)) < 0 ||
                    (r = table_add_cell(t, format_timestamp_relative(age, sizeof age, since), NULL)) < 0 ||
                    (r = table_add_cellf(t, ANSI_YELLOW, "%u/%u", approvals, needed)) < 0 ||
                    (r = table_add_cell(t, deadline > 0 ? format_timestamp_relative(left, sizeof left, deadline) : "-",
                                        deadline > 0 ? ANSI_YELLOW : NULL)) < 0)
                        return cli_error(r, "Out of memory.");
        }
        if (r < 0)
                return cli_error(r, "Failed to parse runbookd's reply: %s", strerror(-r));
        return print_list(array, t, "pending approval", "pending approvals");
}

/* --- show --- */

static usec_t step_duration(const StepInfo *st) {
        if (st->started_at == 0)
                return 0;
        if (st->finished_at >= st->started_at)
                return st->finished_at - st->started_at;
        return now_usec(CLOCK_REALTIME) - MIN(st->started_at, now_usec(CLOCK_REALTIME));
}

static json_t *step_json(const StepInfo *st) {
        _cleanup_json_ json_t *o = json_object(), *approvals = json_array();
        usec_t d = step_duration(st);

        if (!o || !approvals)
                return NULL;
        for (size_t i = 0; i < st->n_approvals; i++) {
                const Approval *a = &st->approvals[i];
                json_t *j = json_object();
                if (!j || json_array_append_new(approvals, j) < 0 || json_add_integer(j, "uid", a->uid) < 0 ||
                    json_add_string(j, "user", a->user) < 0 ||
                    (a->login_user && (json_add_integer(j, "login_uid", a->login_uid) < 0 ||
                                       json_add_string(j, "login_user", a->login_user) < 0)) ||
                    json_add_integer(j, "attempt", a->attempt) < 0 || json_add_string(j, "decision", a->decision) < 0 ||
                    json_add_time(j, "time", a->time) < 0 || json_add_string(j, "comment", a->comment) < 0 ||
                    json_add_string(j, "digest", a->digest) < 0)
                        return NULL;
        }
        if (json_add_integer(o, "index", st->index) < 0 || json_add_string(o, "name", st->name) < 0 ||
            json_add_string(o, "phase", st->phase) < 0 || json_add_string(o, "command", st->command) < 0 ||
            json_add_string(o, "target", st->target) < 0 || json_add_string(o, "connector", st->connector) < 0 ||
            json_add_string(o, "state", st->state) < 0 ||
            json_object_set_new(o, "requires_approval", json_boolean(st->requires_approval)) < 0 ||
            json_add_integer(o, "approvals_required", st->approvals_required) < 0 ||
            json_object_set(o, "approvals", approvals) < 0 ||
            json_object_set_new(o, "exit_status", st->exit_status < 0 ? json_null() : json_integer(st->exit_status)) < 0 ||
            json_object_set_new(o, "signal", st->signal == 0 ? json_null() : json_integer(st->signal)) < 0 ||
            json_add_time(o, "started_at", st->started_at) < 0 || json_add_time(o, "finished_at", st->finished_at) < 0 ||
            json_object_set_new(o, "duration", st->started_at == 0 ? json_null() : json_integer((json_int_t) d)) < 0 ||
            json_add_integer(o, "timeout", (long long) st->timeout) < 0 ||
            json_add_integer(o, "expect_exit", st->expect_exit) < 0 || json_add_string(o, "digest", st->digest) < 0 ||
            json_add_integer(o, "attempt", st->attempt) < 0 || json_add_string(o, "error", st->error) < 0 ||
            json_object_set_new(o, "truncated", json_boolean(st->truncated)) < 0 ||
            json_add_string(o, "path", st->path) < 0 ||
            json_object_set_new(o, "id", isempty(st->step_id) ? json_null() : json_string(st->step_id)) < 0 ||
            json_add_string(o, "on_failure", st->on_failure ?: "stop") < 0 ||
            json_object_set_new(o, "when", isempty(st->when) ? json_null() : json_string(st->when)) < 0 ||
            json_add_integer(o, "retries", st->retries) < 0 || json_add_integer(o, "retry_delay", (long long) st->retry_delay) < 0 ||
            json_add_integer(o, "retries_done", st->retries_done) < 0 || json_add_time(o, "retry_at", st->retry_at) < 0 ||
            json_add_time(o, "window_opens_at", st->window_opens_at) < 0 ||
            (st->window_opens_at > 0 && json_add_string(o, "window_reason", st->window_reason) < 0) ||
            json_add_integer(o, "approval_timeout", (long long) st->approval_timeout) < 0 ||
            json_add_time(o, "approval_deadline", st->approval_deadline) < 0)
                return NULL;
        {
                _cleanup_json_ json_t *captured = json_object();
                if (!captured)
                        return NULL;
                for (char **p = st->captured; p && p[0] && p[1]; p += 2)
                        if (json_add_string(captured, p[0], p[1]) < 0)
                                return NULL;
                if (json_object_set(o, "captured", captured) < 0)
                        return NULL;
        }
        if (st->n_results > 0) {
                _cleanup_json_ json_t *hosts = json_array();
                if (!hosts)
                        return NULL;
                for (size_t i = 0; i < st->n_results; i++) {
                        const HostResult *h = &st->results[i];
                        _cleanup_json_ json_t *ho = json_object();
                        if (!ho || json_add_string(ho, "target", h->target) < 0 ||
                            json_add_string(ho, "state", h->state) < 0 ||
                            json_object_set_new(ho, "exit_status", h->exit_status < 0 ? json_null() :
                                                json_integer(h->exit_status)) < 0 ||
                            json_add_integer(ho, "signal", h->signal) < 0 ||
                            json_add_time(ho, "started_at", h->started_at) < 0 ||
                            json_add_time(ho, "finished_at", h->finished_at) < 0 ||
                            json_object_set_new(ho, "truncated", json_boolean(h->truncated)) < 0 ||
                            json_add_string(ho, "error", h->error) < 0 || json_array_append(hosts, ho) < 0)
                                return NULL;
                }
                if (json_object_set(o, "hosts", hosts) < 0)
                        return NULL;
        }
        return TAKE_PTR(o);
}

static int show_json(const SessionInfo *s) {
        _cleanup_json_ json_t *o = json_object(), *params = json_object(), *steps = json_array();

        if (!o || !params || !steps)
                return -ENOMEM;
        for (char **p = s->parameters; p && p[0] && p[1]; p += 2)
                if (json_add_string(params, p[0], p[1]) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < s->n_step_info; i++) {
                json_t *j = step_json(&s->step_info[i]);
                if (!j || json_array_append_new(steps, j) < 0)
                        return -ENOMEM;
        }
        if (json_add_integer(o, "id", s->id) < 0 || json_add_string(o, "runbook", s->runbook) < 0 ||
            json_add_string(o, "reference", s->reference) < 0 || json_object_set(o, "parameters", params) < 0 ||
            json_add_string(o, "state", s->state) < 0 || json_add_string(o, "created_by", s->created_by) < 0 ||
            json_add_integer(o, "created_by_uid", s->created_by_uid) < 0 ||
            json_add_time(o, "created_at", s->created_at) < 0 || json_add_time(o, "finished_at", s->finished_at) < 0 ||
            json_object_set_new(o, "current_step", s->current_step < 0 ? json_null() : json_integer(s->current_step)) < 0 ||
            json_add_string(o, "error", s->error) < 0 || json_add_string(o, "path", s->path) < 0 ||
            json_add_integer(o, "failed_steps", s->failed_steps) < 0 ||
            json_add_string(o, "rollback", s->rollback ?: "none") < 0 ||
            json_add_string(o, "review", s->review ?: "none") < 0 ||
            json_object_set(o, "steps", steps) < 0)
                return -ENOMEM;
        if (s->locks && s->locks[0]) {
                json_t *locks = json_array();
                if (!locks || json_object_set_new(o, "locks", locks) < 0)
                        return -ENOMEM;
                for (size_t i = 0; s->locks[i]; i++) {
                        json_t *l = json_object();
                        if (!l || json_array_append_new(locks, l) < 0 || json_add_string(l, "name", s->locks[i]) < 0 ||
                            json_object_set_new(l, "holder", s->lock_holders[i] ? json_integer(s->lock_holders[i]) : json_null()) < 0)
                                return -ENOMEM;
                }
                if (json_add_string(o, "lock_state", isempty(s->lock_state) ? "none" : s->lock_state) < 0 ||
                    json_object_set_new(o, "lock_position", s->lock_position ? json_integer(s->lock_position) : json_null()) < 0)
                        return -ENOMEM;
        }
        return json_print(o);
}

#define FIELD(label) printf("%*s: ", 14, label)

static void show_step(const StepInfo *st) {
        char buf[FORMAT_TIMESTAMP_MAX];

        printf("\n%s%s Step %u%s (%s: %s) %s%s%s\n", ansi(state_color(st->state)), colors_enabled() ? "●" : "*",
               st->index, ansi(ANSI_NORMAL), strna(st->phase), strna(cli_esc(st->name)), ansi(state_color(st->state)),
               strna(st->state), ansi(ANSI_NORMAL));
        if (!isempty(st->step_id)) {
                FIELD("Id");
                printf("%s\n", cli_esc(st->step_id));
        }
        if (!isempty(st->when)) {
                FIELD("When");
                printf("%s\n", cli_esc(st->when));
        }
        FIELD("Command");
        printf("%s\n", strna(cli_esc(st->command)));
        if (streq_ptr(st->on_failure, "continue")) {
                FIELD("On failure");
                printf("continue (a failure does not stop the session)\n");
        }
        FIELD("Target");
        printf("%s (%s)\n", strna(cli_esc(st->target)), strna(cli_esc(st->connector)));
        if (st->attempt > 1) {
                FIELD("Attempt");
                printf("%u\n", st->attempt);
        }
        if (st->retries > 0) {
                FIELD("Retries");
                printf("%u done of %u, each after %s\n", st->retries_done, st->retries,
                       format_timespan(buf, sizeof buf, st->retry_delay));
        }
        if (st->approval_deadline > 0 && streq_ptr(st->state, "waiting_approval")) {
                FIELD("Expires");
                printf("%s, without a decision\n", format_timestamp_both(buf, sizeof buf, st->approval_deadline));
        } else if (st->approval_timeout > 0 && streq_ptr(st->state, "expired")) {
                FIELD("Expired");
                printf("no decision within %s\n", format_timespan(buf, sizeof buf, st->approval_timeout));
        }
        if (st->window_opens_at > 0) {
                FIELD("Window");
                printf("%swaits%s until %s: %s\n", ansi(ANSI_YELLOW), ansi(ANSI_NORMAL),
                       format_timestamp_both(buf, sizeof buf, st->window_opens_at), cli_esc(st->window_reason));
        }
        if (st->retry_at > 0) {
                FIELD("Next attempt");
                printf("%u at %s\n", st->attempt + 1, format_timestamp_both(buf, sizeof buf, st->retry_at));
        }
        if (st->started_at > 0) {
                FIELD("Started");
                printf("%s\n", format_timestamp_both(buf, sizeof buf, st->started_at));
        }
        if (st->finished_at > 0) {
                FIELD("Finished");
                printf("%s\n", format_timestamp_both(buf, sizeof buf, st->finished_at));
        }
        if (st->started_at > 0) {
                FIELD("Duration");
                printf("%s%s\n", format_timespan(buf, sizeof buf, step_duration(st)),
                       st->finished_at > 0 ? "" : " (running)");
        }
        if (st->exit_status >= 0 || st->signal > 0) {
                FIELD("Exit status");
                if (st->signal > 0)
                        printf("killed by signal %d (%s)\n", st->signal, strsignal(st->signal));
                else
                        printf("%d%s\n", st->exit_status,
                               st->exit_status == st->expect_exit ? "" : " (unexpected)");
        }
        if (!isempty(st->error)) {
                FIELD("Error");
                printf("%s%s%s\n", ansi(ANSI_RED), cli_esc(st->error), ansi(ANSI_NORMAL));
        }
        if (st->captured && st->captured[0]) {
                FIELD("Captured");
                for (char **p = st->captured; p[0] && p[1]; p += 2)
                        printf("%s%s=%s\n", p == st->captured ? "" : "                ", cli_esc(p[0]), cli_esc(p[1]));
        }
        if (st->requires_approval || st->n_approvals > 0) {
                size_t approved = 0;
                for (size_t i = 0; i < st->n_approvals; i++)
                        approved += streq_ptr(st->approvals[i].decision, "approve");
                FIELD("Approvals");
                printf("%zu/%u", approved, st->approvals_required);
                if (st->approver_groups && st->approver_groups[0]) {
                        printf(" (%s", st->approvers_from_each ? "one from each of" : "approvers in");
                        for (char **g = st->approver_groups; *g; g++)
                                printf("%s %s", g == st->approver_groups ? "" : ",", cli_esc(*g));
                        fputc(')', stdout);
                }
                fputc('\n', stdout);
                for (size_t i = 0; i < st->n_approvals; i++) {
                        const Approval *a = &st->approvals[i];
                        char who[160];
                        printf("%*s  %s %s by %s (uid %u) on %s", 14, "",
                               streq_ptr(a->decision, "approve") ? "✓" : streq_ptr(a->decision, "lapsed") ? "-" :
                               streq_ptr(a->decision, "break_glass") ? "!" : "✗",
                               streq_ptr(a->decision, "approve") ? "approved" :
                               streq_ptr(a->decision, "lapsed") ? "approved (lapsed: approval_valid_for)" :
                               streq_ptr(a->decision, "break_glass") ? "BREAK-GLASS" : "rejected",
                               cli_esc(approval_who(a, who, sizeof who)), a->uid,
                               format_timestamp_both(buf, sizeof buf, a->time));
                        if (!isempty(a->comment))
                                printf(": \"%s\"", cli_esc(a->comment));
                        fputc('\n', stdout);
                }
        }
        if (st->n_results > 0) {
                unsigned counts[4] = {}; /* succeeded, failed, running, other */
                for (size_t i = 0; i < st->n_results; i++) {
                        const char *hs = st->results[i].state;
                        counts[streq_ptr(hs, "succeeded") ? 0 :
                               streq_ptr(hs, "failed") || streq_ptr(hs, "timed_out") || streq_ptr(hs, "cancelled") ? 1 :
                               streq_ptr(hs, "running") ? 2 : 3]++;
                }
                FIELD("Hosts");
                printf("%zu: %u succeeded, %u failed, %u running, %u other\n", st->n_results, counts[0], counts[1],
                       counts[2], counts[3]);
                for (size_t i = 0; i < st->n_results; i++) {
                        const HostResult *h = &st->results[i];
                        printf("%*s  %s%-11s%s %-20s", 14, "", ansi(state_color(h->state)), strna(h->state),
                               ansi(ANSI_NORMAL), strna(h->target));
                        if (h->signal > 0)
                                printf(" signal %d", h->signal);
                        else if (h->exit_status >= 0)
                                printf(" exit %d", h->exit_status);
                        if (h->started_at > 0 && h->finished_at >= h->started_at)
                                printf(" %s", format_timespan(buf, sizeof buf, h->finished_at - h->started_at));
                        if (h->truncated)
                                fputs(" (output truncated)", stdout);
                        if (!isempty(h->error))
                                printf(": %s", h->error);
                        fputc('\n', stdout);
                }
        }
        if (st->truncated) {
                FIELD("Output");
                printf("%struncated%s (runbookd kept only the first part; runbookctl output shows it)\n",
                       ansi(ANSI_YELLOW), ansi(ANSI_NORMAL));
        }
}

int verb_show(int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(session_info_done) SessionInfo s = { .current_step = -1 };
        char buf[FORMAT_TIMESTAMP_MAX];
        uint32_t id;
        int r;

        if (parse_session_id(argv[1], &id) < 0)
                return cli_error(-EINVAL, "Invalid session id '%s'.", argv[1]);
        r = open_or_fail(&bus);
        if (r < 0)
                return r;
        r = session_info_load(bus, id, &s, &error);
        if (r < 0)
                return cli_bus_error(r, &error, NULL, "read the session");
        if (arg_json != JSON_OFF) {
                r = show_json(&s);
                return r < 0 ? cli_error(r, "Failed to format JSON: %s", strerror(-r)) : 0;
        }
        pager_open();
        printf("%s%s%s Session %u%s - %s%s%s\n", ansi(state_color(s.state)), colors_enabled() ? "●" : "*",
               ansi(ANSI_HIGHLIGHT), s.id, ansi(ANSI_NORMAL), strna(s.runbook),
               isempty(s.reference) ? "" : " - ", strempty(s.reference));
        FIELD("State");
        printf("%s%s%s\n", ansi(state_color(s.state)), strna(s.state), ansi(ANSI_NORMAL));
        FIELD("Runbook");
        printf("%s\n", strna(cli_esc(s.runbook)));
        FIELD("Reference");
        printf("%s\n", isempty(s.reference) ? "-" : cli_esc(s.reference));
        if (s.parameters && s.parameters[0]) {
                FIELD("Parameters");
                for (char **p = s.parameters; p[0] && p[1]; p += 2)
                        printf("%s%s=%s\n", p == s.parameters ? "" : "                ", cli_esc(p[0]), cli_esc(p[1]));
        }
        FIELD("Created by");
        printf("%s (uid %u)\n", strna(s.created_by), s.created_by_uid);
        FIELD("Created");
        printf("%s\n", format_timestamp_both(buf, sizeof buf, s.created_at));
        if (s.finished_at > 0) {
                FIELD("Finished");
                printf("%s\n", format_timestamp_both(buf, sizeof buf, s.finished_at));
        }
        if (s.current_step >= 0) {
                FIELD("Current step");
                printf("%d\n", s.current_step);
        }
        if (!isempty(s.error)) {
                FIELD("Error");
                printf("%s\n", cli_esc(s.error));
        }
        if (s.failed_steps > 0) {
                FIELD("Failed steps");
                bool fin = false;
                for (size_t i = 0; i < s.n_step_info; i++)
                        fin = fin || (streq_ptr(s.step_info[i].phase, "finally") &&
                                      (streq_ptr(s.step_info[i].state, "failed") || streq_ptr(s.step_info[i].state, "timed_out")));
                printf("%s%u%s (allowed by on_failure: continue%s)\n", ansi(ANSI_RED), s.failed_steps, ansi(ANSI_NORMAL),
                       fin ? " or as finally steps" : "");
        }
        if (!isempty(s.rollback) && !streq(s.rollback, "none")) {
                FIELD("Rollback");
                printf("%s%s%s\n", ansi(streq(s.rollback, "succeeded") ? ANSI_GREEN : ANSI_RED), cli_esc(s.rollback),
                       ansi(ANSI_NORMAL));
        }
        if (streq_ptr(s.review, "required")) {
                FIELD("Review");
                printf("%srequired%s (a step ran by break-glass: runbookctl review %u)\n", ansi(ANSI_RED),
                       ansi(ANSI_NORMAL), s.id);
        } else if (streq_ptr(s.review, "done")) {
                FIELD("Review");
                printf("done by %s on %s%s%s%s\n", cli_esc(s.reviewed_by), format_timestamp_both(buf, sizeof buf, s.reviewed_at),
                       isempty(s.review_comment) ? "" : ": \"", isempty(s.review_comment) ? "" : cli_esc(s.review_comment),
                       isempty(s.review_comment) ? "" : "\"");
        }
        for (size_t i = 0; s.locks && s.locks[i]; i++) {
                if (i == 0)
                        FIELD("Locks");
                else
                        printf("%*s  ", 14, "");
                uint32_t h = s.lock_holders[i];
                if (h == s.id)
                        printf("%s (held by this session)\n", cli_esc(s.locks[i]));
                else if (h > 0)
                        printf("%s (held by session %u)\n", cli_esc(s.locks[i]), h);
                else
                        printf("%s (free)\n", cli_esc(s.locks[i]));
        }
        if (streq_ptr(s.lock_state, "waiting")) {
                FIELD("Lock queue");
                printf("%swaiting%s, position %u (runbookctl locks)\n", ansi(ANSI_YELLOW), ansi(ANSI_NORMAL), s.lock_position);
        }
        for (size_t i = 0; i < s.n_step_info; i++)
                show_step(&s.step_info[i]);
        return fflush(stdout) == 0 ? 0 : -EIO;
}

/* --- status --- */

struct status_counts {
        unsigned counts[16], total;
};

static int count_row(const SessionRow *row, void *userdata) {
        struct status_counts *c = userdata;

        c->total++;
        for (size_t i = 0; cli_session_states[i] && i < ELEMENTSOF(c->counts); i++)
                if (streq(cli_session_states[i], row->state))
                        c->counts[i]++;
        return 0;
}

int verb_status(int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *pending = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *version = NULL;
        _cleanup_json_ json_t *o = NULL, *by_state = NULL;
        struct status_counts c = {};
        unsigned n_pending = 0;
        int r;

        r = open_or_fail(&bus);
        if (r < 0)
                return r;
        r = sd_bus_get_property_string(bus, RUNBOOKD_BUS_NAME, RUNBOOKD_MANAGER_PATH, RUNBOOKD_MANAGER_INTERFACE,
                                       "Version", &error, &version);
        if (r >= 0)
                r = list_sessions_paged(bus, NULL, 0, 0, count_row, &c, &error);
        if (r >= 0)
                r = call_manager(bus, "ListPendingApprovals", &error, &pending);
        if (r < 0)
                return cli_bus_error(r, &error, NULL, "read runbookd's status");

        r = sd_bus_message_enter_container(pending, 'a', "(uussssssustuuot)");
        while (r >= 0 && (r = sd_bus_message_skip(pending, "(uussssssustuuot)")) > 0)
                n_pending++;
        if (r < 0)
                return cli_error(r, "Failed to parse runbookd's reply: %s", strerror(-r));

        if (arg_json != JSON_OFF) {
                o = json_object();
                by_state = json_object();
                if (!o || !by_state)
                        return cli_error(-ENOMEM, "Out of memory.");
                for (size_t i = 0; cli_session_states[i]; i++)
                        if (json_add_integer(by_state, cli_session_states[i], c.counts[i]) < 0)
                                return cli_error(-ENOMEM, "Out of memory.");
                if (json_add_string(o, "version", version) < 0 || json_object_set(o, "sessions", by_state) < 0 ||
                    json_add_integer(o, "sessions_total", c.total) < 0 ||
                    json_add_integer(o, "pending_approvals", n_pending) < 0)
                        return cli_error(-ENOMEM, "Out of memory.");
                return json_print(o);
        }
        printf("%s%s%s runbookd %s (%s on the system bus)\n", ansi(ANSI_GREEN), colors_enabled() ? "●" : "*",
               ansi(ANSI_NORMAL), version, RUNBOOKD_BUS_NAME);
        FIELD("Sessions");
        printf("%u\n", c.total);
        for (size_t i = 0; cli_session_states[i]; i++)
                if (c.counts[i] > 0) {
                        printf("%*s  %s%s%s: %u\n", 14, "", ansi(state_color(cli_session_states[i])),
                               cli_session_states[i], ansi(ANSI_NORMAL), c.counts[i]);
                }
        FIELD("Pending");
        printf("%s%u%s approval%s\n", n_pending > 0 ? ansi(ANSI_YELLOW) : "", n_pending,
               n_pending > 0 ? ansi(ANSI_NORMAL) : "", n_pending == 1 ? "" : "s");
        return fflush(stdout) == 0 ? 0 : -EIO;
}

/* --- output --- */

int verb_output(int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL;
        const void *out, *err;
        size_t n_out, n_err;
        uint32_t id, index;
        int truncated, r;

        if (parse_session_id(argv[1], &id) < 0)
                return cli_error(-EINVAL, "Invalid session id '%s'.", argv[1]);
        if (parse_step_index(argv[2], &index) < 0)
                return cli_error(-EINVAL, "Invalid step number '%s'.", argv[2]);
        path = step_path_of(id, index);
        if (!path)
                return cli_error(-ENOMEM, "Out of memory.");
        r = open_or_fail(&bus);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, RUNBOOKD_BUS_NAME, path, RUNBOOKD_STEP_INTERFACE, "GetOutput", &error, &reply, NULL);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_OBJECT) ||
                    sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_METHOD))
                        return cli_error(r, "No such step: session %u has no step %u.", id, index);
                return cli_bus_error(r, &error, RUNBOOKD_ACTION_READ_OUTPUT, "read the step's output");
        }
        r = sd_bus_message_read_array(reply, 'y', &out, &n_out);
        if (r >= 0)
                r = sd_bus_message_read_array(reply, 'y', &err, &n_err);
        if (r >= 0)
                r = sd_bus_message_read(reply, "b", &truncated);
        if (r < 0)
                return cli_error(r, "Failed to parse runbookd's reply: %s", strerror(-r));
        r = loop_write(STDOUT_FILENO, arg_stderr ? err : out, arg_stderr ? n_err : n_out);
        if (r < 0)
                return cli_error(r, "Failed to write the output: %s", strerror(-r));
        if (truncated)
                cli_note("Note: the output of step %u was truncated by runbookd (its output_cap); this is the part kept.",
                         index);
        return 0;
}
