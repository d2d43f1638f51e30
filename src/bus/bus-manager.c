/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-manager.c: /org/runbookd1, org.runbookd1.Manager. */
#include "bus/bus-errors.h"
#include "bus/bus-objects.h"
#include "config.h"
#include "shared/log.h"
#include "store/store-records.h"

#define START_PARAMS_MAX 64

int bus_reply_durable(Manager *m, sd_bus_message *call, sd_bus_message *reply) {
        int r = bus_queue_reply(m, call, reply);
        return r < 0 ? r : 1;
}

int bus_reply_durable_empty(Manager *m, sd_bus_message *call) {
        sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(call, &reply);
        if (r == -EPERM) /* no reply expected */
                return 1;
        if (r < 0)
                return r;
        return bus_reply_durable(m, call, reply);
}

int bus_check_text(const char *what, const char *s, size_t max, sd_bus_error *error) {
        if (strlen(s) > max)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_PARAMETER,
                                         "The %s is %zu bytes long; at most %zu are allowed.", what, strlen(s), max);
        char buf[96];
        const char *problem = utf8_text_problem(s, max, buf, sizeof buf);
        if (problem)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_PARAMETER,
                                         "The %s must be printable UTF-8 text: it has a %s.", what, problem);
        return 0;
}

int bus_read_parameters(sd_bus_message *message, json_t **ret, sd_bus_error *error) {
        _cleanup_(json_decrefp) json_t *params = NULL;
        const char *key, *value;
        char cut[128 + 4];
        int r;

        params = json_object();
        if (!params)
                return -ENOMEM;
        r = sd_bus_message_enter_container(message, 'a', "{ss}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(message, "{ss}", &key, &value)) > 0) {
                if (json_object_size(params) >= START_PARAMS_MAX)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_PARAMETER,
                                                 "Too many parameters (at most %d).", START_PARAMS_MAX);
                if (strlen(key) > 64 || strlen(value) > RUNBOOK_PARAM_VALUE_MAX)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_PARAMETER,
                                                 "Parameter '%s' is too long (names: 64 bytes, values: %d bytes at most).",
                                                 utf8_cut(key, 64, cut, sizeof cut), RUNBOOK_PARAM_VALUE_MAX);
                if (json_object_set_new(params, key, json_string(value)) < 0)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_PARAMETER,
                                                 "The value of parameter '%s' is not valid UTF-8.", key);
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(message);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(params);
        return 0;
}

int bus_find_runbook(Manager *m, const char *name, const Runbook **ret, sd_bus_error *error) {
        char cut[128 + 4];
        const Runbook *rb;

        if (!config_name_is_valid(name))
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_RUNBOOK,
                                         "'%s' is not a valid runbook name.", utf8_cut(name, 128, cut, sizeof cut));
        rb = runbook_catalog_find(m->runbooks, name);
        if (!rb) {
                const RunbookBroken *b = runbook_catalog_find_broken(m->runbooks, name);
                if (b)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_RUNBOOK,
                                                 "Runbook '%s' cannot be used: %s", name, b->error);
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_RUNBOOK,
                                         "No runbook '%s' (ListRunbooks shows the runbooks there are).", name);
        }
        *ret = rb;
        return 0;
}

static int method_start_session(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(config_json_wipe_decrefp) json_t *params = NULL;   /* secret values, maybe */
        _cleanup_free_ char *detail = NULL, *path = NULL, *user = NULL;
        _cleanup_(identity_done) Identity who = { .login_uid = UID_INVALID };
        const char *name, *reference;
        const Runbook *rb;
        Session *s;
        int r;

        r = sd_bus_message_read(message, "ss", &name, &reference);
        if (r < 0)
                return r;
        r = bus_read_parameters(message, &params, error);
        if (r < 0)
                return r;
        if (!config_name_is_valid(name))
                return bus_find_runbook(m, name, &rb, error);   /* says the name is invalid */
        r = bus_check_text("reference", reference, REFERENCE_MAX, error);
        if (r < 0)
                return r;
        r = bus_find_runbook(m, name, &rb, error);
        if (r < 0)
                return r;

        const char *details[] = { "runbook", name, "reference", reference, NULL };
        r = bus_authorized_caller(m, message, RUNBOOKD_ACTION_START_SESSION, details, &who, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asked; the call comes back */
        r = engine_start_session(m->engine, rb, reference, params, &who, &s, &detail);
        if (r < 0)
                return bus_error_from_engine(error, r, "the new session", detail);
        user = identity_describe(&who);

        log_info("Session %u started from runbook '%s' by %s.", s->id, name, strna(user));
        path = session_path(s->id);
        if (!path)
                return -ENOMEM;
        sd_bus_message *reply = NULL;
        r = sd_bus_message_new_method_return(message, &reply);
        if (r == -EPERM)
                return 1;
        if (r >= 0)
                r = sd_bus_message_append(reply, "uo", s->id, path);
        if (r < 0) {
                sd_bus_message_unref(reply);
                return r;
        }
        return bus_reply_durable(m, message, reply);
}

#define LIST_LIMIT_DEFAULT 100u
#define LIST_LIMIT_MAX 1000u       /* sessions in one reply */
#define LIST_READ_MAX 20000u       /* session records read for one call: the walk resumes from 'next' */

struct list_ctx {
        sd_bus_message *reply;
        uint64_t states;           /* bit per SessionState; 0: all */
        usec_t since;
        unsigned limit, n;
        bool reached_since;
        bool unreviewed;           /* only sessions that need a review (after a break-glass) */
};

static int list_session_cb(const SessionSummary *sum, void *userdata) {
        struct list_ctx *c = userdata;
        _cleanup_free_ char *path = NULL;
        int r;

        if (c->since > 0 && sum->created_at < c->since) {
                c->reached_since = true;   /* ids follow creation: the rest is older */
                return 1;
        }
        if (c->states != 0 && (sum->state < 0 || !(c->states & (UINT64_C(1) << sum->state))))
                return 0;
        if (c->unreviewed && !sum->review_required)
                return 0;
        path = session_path(sum->id);
        if (!path)
                return -ENOMEM;
        r = sd_bus_message_append(c->reply, "(usssiustto)", sum->id, sum->runbook, sum->reference,
                                  sum->state >= 0 ? session_state_to_string(sum->state) : "", (int32_t) sum->current_step,
                                  (uint32_t) sum->creator_uid, sum->creator_name, (uint64_t) sum->created_at,
                                  (uint64_t) sum->finished_at, path);
        if (r < 0)
                return r;
        return ++c->n >= c->limit ? 1 : 0;
}

/* ListSessions' options: states (as), since (t), before (u), limit (u). */
static int read_list_options(sd_bus_message *m, struct list_ctx *c, uint32_t *before, sd_bus_error *error) {
        const char *key;
        char buf[64 + 4];
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                if (streq(key, "states")) {
                        const char *st;
                        r = sd_bus_message_enter_container(m, 'v', "as");
                        if (r < 0)
                                goto type;
                        r = sd_bus_message_enter_container(m, 'a', "s");
                        if (r < 0)
                                return r;
                        while ((r = sd_bus_message_read(m, "s", &st)) > 0) {
                                SessionState s = session_state_from_string(st);
                                if (s < 0)
                                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_PARAMETER,
                                                                 "ListSessions: '%s' in option 'states' is not a session "
                                                                 "state (created, waiting_approval, running, succeeded, failed, "
                                                                 "rejected, cancelled, interrupted, expired).",
                                                                 utf8_cut(st, 64, buf, sizeof buf));
                                c->states |= UINT64_C(1) << s;
                        }
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(m);
                } else if (streq(key, "unreviewed")) {
                        int v;
                        r = sd_bus_message_enter_container(m, 'v', "b");
                        if (r < 0)
                                goto type;
                        r = sd_bus_message_read(m, "b", &v);
                        c->unreviewed = v;
                } else if (streq(key, "since")) {
                        uint64_t v;
                        r = sd_bus_message_enter_container(m, 'v', "t");
                        if (r < 0)
                                goto type;
                        r = sd_bus_message_read(m, "t", &v);
                        c->since = v;
                } else if (streq(key, "before") || streq(key, "limit")) {
                        uint32_t v;
                        r = sd_bus_message_enter_container(m, 'v', "u");
                        if (r < 0)
                                goto type;
                        r = sd_bus_message_read(m, "u", &v);
                        if (streq(key, "before"))
                                *before = v;
                        else
                                c->limit = v;
                } else
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_PARAMETER,
                                                 "ListSessions: unknown option '%s' (known: states as, since t, "
                                                 "before u, limit u, unreviewed b).", utf8_cut(key, 64, buf, sizeof buf));
                if (r >= 0)
                        r = sd_bus_message_exit_container(m); /* the variant */
                if (r >= 0)
                        r = sd_bus_message_exit_container(m); /* the dict entry */
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
type:
        return sd_bus_error_setf(error, BUS_ERROR_INVALID_PARAMETER,
                                 "ListSessions: option '%s' has the wrong type (states as, since t, before u, limit u, "
                                 "unreviewed b).",
                                 utf8_cut(key, 64, buf, sizeof buf));
}

static int method_list_sessions(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        struct list_ctx c = {};
        uint32_t before = 0, next = 0;
        StoreTxn t;
        int r;

        r = read_list_options(message, &c, &before, error);
        if (r < 0)
                return r;
        c.limit = c.limit == 0 ? LIST_LIMIT_DEFAULT : MIN(c.limit, LIST_LIMIT_MAX);

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(usssiustto)");
        if (r < 0)
                return r;
        r = store_read_begin(m->store, &t);
        if (r < 0)
                return r;
        c.reply = reply;
        r = store_walk_sessions(&t, before, LIST_READ_MAX, list_session_cb, &c, &next);
        store_read_end(&t);
        if (r < 0)
                return r;
        if (c.reached_since)
                next = 0;
        r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "u", next);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int pending_cb(Session *s, void *userdata) {
        sd_bus_message *reply = userdata;
        _cleanup_free_ char *path = NULL;
        Step *st = session_waiting_step(s);
        int r;

        if (!st)
                return 0;
        path = step_path(s->id, st->index);
        if (!path)
                return -ENOMEM;
        r = sd_bus_message_append(reply, "(uussssssustuuot)", s->id, st->index, s->runbook, strempty(s->reference),
                                  st->name, step_phase_to_string(st->phase), st->command, st->target,
                                  (uint32_t) s->creator_uid, s->creator_name, (uint64_t) st->waiting_since,
                                  step_count_approvals(st), step_approvals_required(st), path,
                                  (uint64_t) st->approval_deadline);
        return r < 0 ? r : 0; /* > 0 would stop the iteration */
}

static int method_list_pending_approvals(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(uussssssustuuot)");
        if (r < 0)
                return r;
        r = engine_foreach_active(m->engine, pending_cb, reply);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_runbooks(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sss)");
        for (size_t i = 0; r >= 0 && i < m->runbooks->n_runbooks; i++) {
                const Runbook *rb = m->runbooks->runbooks[i];
                r = sd_bus_message_append(reply, "(sss)", rb->name, strempty(rb->description), rb->file);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_runbook(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_free_ char *text = NULL;
        const Runbook *rb;
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        r = bus_find_runbook(m, name, &rb, error);
        if (r < 0)
                return r;
        text = json_dumps(rb->json, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!text)
                return -ENOMEM;
        return sd_bus_reply_method_return(message, "s", text);
}

static int method_list_targets(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sss)");
        for (size_t i = 0; r >= 0 && i < m->targets->n_targets; i++) {
                const Target *t = m->targets->targets[i];
                r = sd_bus_message_append(reply, "(sss)", t->name, t->connector, strempty(t->description));
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* ListLocks() -> a(suau): each lock held or waited for, its holder (0: none), the sessions waiting
 * for it in queue order */
static int method_list_locks(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        EngineLock *l = NULL;
        size_t n = 0;
        int r;

        r = engine_list_locks(m->engine, &l, &n);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(suau)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = sd_bus_message_open_container(reply, 'r', "suau");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "su", l[i].name, l[i].holder);
                if (r >= 0)
                        r = sd_bus_message_append_array(reply, 'u', l[i].waiters, l[i].n_waiters * sizeof(uint32_t));
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        engine_locks_free(l, n);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_session(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_free_ char *path = NULL;
        Session *s;
        uint32_t id;
        int r;

        r = sd_bus_message_read(message, "u", &id);
        if (r < 0)
                return r;
        r = engine_get_session(m->engine, id, &s);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_SESSION, "No session %u.", id);
        if (r < 0)
                return r;
        path = session_path(id);
        if (!path)
                return -ENOMEM;
        return sd_bus_reply_method_return(message, "o", path);
}

#define AUDIT_PAGE_MAX 1000u

static int audit_record_cb(uint64_t seq, const char *text, size_t len, void *userdata) {
        sd_bus_message *reply = userdata;
        _cleanup_free_ char *s = strndup(text, len);

        if (!s)
                return -ENOMEM;
        /* as stored, byte for byte (the chain is over these bytes); a record that is not text
         * (damaged) is sent as it is, the check will say so */
        return sd_bus_message_append(reply, "(ts)", seq, utf8_is_printable_text(s, len) ? s : "");
}

/* The audit records after 'after', at most 'max' (1000 a call), each as its stored text, with the
 * chain's head as the store has it (polkit action read-audit). */
static int method_get_audit_records(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        char head[AUDIT_HASH_HEX];
        uint64_t after, head_seq;
        uint32_t max;
        StoreTxn t;
        int r;

        r = sd_bus_message_read(message, "tu", &after, &max);
        if (r < 0)
                return r;
        r = bus_verify_polkit_async(message, RUNBOOKD_ACTION_READ_AUDIT, NULL, m->polkit, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;
        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = store_read_begin(m->store, &t);
        if (r < 0)
                return bus_error_from_engine(error, -EIO, "the audit records", NULL);
        r = sd_bus_message_open_container(reply, 'a', "(ts)");
        if (r >= 0)
                r = store_audit_read(&t, after, MIN(max ?: AUDIT_PAGE_MAX, AUDIT_PAGE_MAX), audit_record_cb, reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = store_audit_head(&t, &head_seq, head);
        store_read_end(&t);
        if (r >= 0)
                r = sd_bus_message_append(reply, "ts", head_seq, head);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_reload(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        Manager *m = userdata;
        int r;

        r = bus_verify_polkit_async(message, RUNBOOKD_ACTION_MANAGE, NULL, m->polkit, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = manager_load_config(m, &errors);
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_RUNBOOK,
                                         "Reload failed, the previous configuration stays: %s",
                                         errors && errors[0] ? errors[0] : strerror(-r));
        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "uu", (uint32_t) m->runbooks->n_runbooks, (uint32_t) m->targets->n_targets);
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, errors);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int property_get_store_id(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", store_id(m->store));
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("StoreId", "s", property_get_store_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("StartSession",
                                SD_BUS_ARGS("s", runbook, "s", reference, "a{ss}", parameters),
                                SD_BUS_RESULT("u", id, "o", path),
                                method_start_session, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("PlanSession", SD_BUS_ARGS("s", runbook, "a{ss}", parameters),
                                SD_BUS_RESULT("a(ussssssbussuttsas)", steps),
                                method_plan_session, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("ListSessions", SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("a(usssiustto)", sessions, "u", next),
                                method_list_sessions, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListPendingApprovals", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(uussssssustuuot)", steps),
                                method_list_pending_approvals, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListRunbooks", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sss)", runbooks),
                                method_list_runbooks, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetRunbook", SD_BUS_ARGS("s", name), SD_BUS_RESULT("s", json),
                                method_get_runbook, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListTargets", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sss)", targets),
                                method_list_targets, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListLocks", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(suau)", locks),
                                method_list_locks, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetSession", SD_BUS_ARGS("u", id), SD_BUS_RESULT("o", path),
                                method_get_session, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetAuditRecords", SD_BUS_ARGS("t", after, "u", max),
                                SD_BUS_RESULT("a(ts)", records, "t", head_seq, "s", head),
                                method_get_audit_records, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_NO_ARGS, SD_BUS_RESULT("u", runbooks, "u", targets, "as", errors),
                                method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("SessionNew", SD_BUS_ARGS("u", id, "o", path), 0),
        SD_BUS_SIGNAL_WITH_ARGS("SessionRemoved", SD_BUS_ARGS("u", id, "o", path), 0),
        SD_BUS_VTABLE_END,
};
