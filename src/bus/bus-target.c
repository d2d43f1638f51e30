/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-target.c: /org/runbookd1/target/<bus-escaped name>, org.runbookd1.Target: the configured
 * destinations of steps. Read-only; no secret is exposed (values "cred:NAME" name a credential). */
#include "bus/bus-errors.h"
#include "bus/bus-objects.h"
#include "connector/connector.h"
#include "shared/log.h"

#define TARGET_PREFIX "/org/runbookd1/target"
#define TARGET_CHECKS_MAX 8
#define TARGET_CHECK_TIMEOUT_USEC (30 * USEC_PER_SEC)

int target_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                       sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_free_ char *name = NULL;
        const Target *t;
        int r;

        r = sd_bus_path_decode(path, TARGET_PREFIX, &name);
        if (r <= 0)
                return r;
        t = target_catalog_find(m->targets, name);
        if (!t)
                return 0;
        *found = (void *) t;
        return 1;
}

int target_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_strv_free_ char **l = NULL;
        int r;

        for (size_t i = 0; i < m->targets->n_targets; i++) {
                char *p = NULL;
                r = sd_bus_path_encode(TARGET_PREFIX, m->targets->targets[i]->name, &p);
                if (r < 0)
                        return r;
                r = strv_consume(&l, p);
                if (r < 0)
                        return r;
        }
        *nodes = TAKE_PTR(l);
        return 0;
}

static int property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Target *t = userdata;
        const char *v = streq(property, "Name") ? t->name :
                        streq(property, "Connector") ? t->connector :
                        streq(property, "Description") ? t->description : t->file;
        return sd_bus_message_append(reply, "s", strempty(v));
}

static int property_get_members(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Target *t = userdata;
        json_t *group = json_object_get(t->config, "group"), *v;
        size_t i;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        json_array_foreach(group, i, v) {
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "s", json_string_value(v) ?: "");
        }
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

/* ---- Check(): the way to the target, stage by stage (see "Checks" in connector.h) ---- */

typedef struct TargetCheck {
        Manager *m;
        sd_bus_message *call;
        ConnectorCheck *check;
        char *target;
        char *user;
        struct TargetCheck *next;
} TargetCheck;

static void target_check_free(TargetCheck *tc) {
        Manager *m = tc->m;

        for (TargetCheck **p = &m->checks; *p; p = &(*p)->next)
                if (*p == tc) {
                        *p = tc->next;
                        m->n_checks--;
                        break;
                }
        connector_check_free(tc->check);
        sd_bus_message_unref(tc->call);
        free(tc->target);
        free(tc->user);
        free(tc);
}

void bus_target_checks_free(Manager *m) {
        while (m->checks)
                target_check_free(m->checks);
}

static int check_reply(TargetCheck *tc) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(tc->call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sss)");
        for (size_t i = 0; r >= 0 && i < tc->check->n_stages; i++) {
                const CheckStage *st = &tc->check->stages[i];
                r = sd_bus_message_append(reply, "(sss)", st->name, check_verdict_to_string(st->verdict),
                                          st->reason ?: "");
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        return r;
}

static void on_check_done(ConnectorCheck *c, void *userdata) {
        TargetCheck *tc = userdata;
        const CheckStage *bad = NULL;
        int r;

        for (size_t i = 0; !bad && i < c->n_stages; i++)
                if (c->stages[i].verdict != CHECK_OK)
                        bad = &c->stages[i];
        if (bad)
                log_info("Check of target '%s' by %s: %s %s: %s", tc->target, tc->user, bad->name,
                         check_verdict_to_string(bad->verdict), strna(bad->reason));
        else
                log_info("Check of target '%s' by %s: every stage ok.", tc->target, tc->user);
        r = check_reply(tc);
        if (r < 0)
                log_warning_errno(r, "Cannot send the result of the check of target '%s': %m", tc->target);
        target_check_free(tc);   /* and the check: allowed from its 'done' */
}

static int method_check(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = manager_of(message);
        const Target *t = userdata;
        const ConnectorVTable *vt;
        TargetCheck *tc;
        _cleanup_(identity_done) Identity who = { .login_uid = UID_INVALID };
        int r;

        /* a check connects to hosts with the daemon's credentials: the manage action, first */
        const char *details[] = { "target", t->name, "action", "check", NULL };
        r = bus_verify_polkit_async(message, RUNBOOKD_ACTION_MANAGE, details, m->polkit, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        vt = connector_find(t->connector);
        if (!vt || !vt->check)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Target '%s' cannot be checked: its connector '%s' has no check.", t->name,
                                         t->connector);
        if (m->n_checks >= TARGET_CHECKS_MAX)
                return sd_bus_error_setf(error, BUS_ERROR_LIMIT_EXCEEDED,
                                         "Too many target checks in progress (at most %u); try again shortly.",
                                         TARGET_CHECKS_MAX);

        tc = calloc(1, sizeof *tc);
        if (!tc)
                return -ENOMEM;
        tc->m = m;
        tc->call = sd_bus_message_ref(message);
        tc->target = strdup(t->name);
        tc->next = m->checks;
        m->checks = tc;
        m->n_checks++;
        r = bus_caller(m, message, &who, error);
        if (r >= 0 && !(tc->user = identity_describe(&who)))
                r = -ENOMEM;
        if (r >= 0 && !tc->target)
                r = -ENOMEM;
        if (r >= 0)
                r = connector_check_start(vt, m->event, t, TARGET_CHECK_TIMEOUT_USEC, on_check_done, tc, &tc->check);
        if (r < 0) {
                target_check_free(tc);
                if (sd_bus_error_is_set(error))
                        return r;
                return sd_bus_error_set_errnof(error, r, "Cannot check target '%s': %s", t->name, strerror(-r));
        }
        log_info("Checking target '%s' for %s.", t->name, tc->user);
        return 1;   /* the reply follows when the check is done */
}

const sd_bus_vtable target_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Connector", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Description", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("File", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Members", "as", property_get_members, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("Check", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sss)", stages), method_check,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};
