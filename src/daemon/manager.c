/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* manager.c: the daemon's lifecycle: configuration, store, engine and bus, tied together. */
#include <sys/stat.h>
#include <stdio.h>

#include "bus/bus-errors.h"
#include "bus/bus-objects.h"
#include "connector/connector.h"
#include "daemon/manager.h"
#include "journal/events.h"
#include "shared/log.h"

#define OUTPUT_CAP_MIN 1024
#define OUTPUT_CAP_MAX (64 * 1024 * 1024)

static void hook_session_new(Session *s, void *userdata) {
        Manager *m = userdata;

        manager_queue_changed(m, s->id, -1, true, false);
        for (size_t i = 0; i < s->n_steps; i++)
                manager_queue_changed(m, s->id, (int32_t) i, true, false);
}

static void hook_changed(Session *s, Step *st, void *userdata) {
        Manager *m = userdata;
        /* a session that stops (at its end, at a gate, interrupted) is what clients wait for:
         * announced at once; progress in between may wait a little and share an fsync */
        bool stops = session_state_is_final(s->state) || s->state == SESSION_WAITING_APPROVAL ||
                s->state == SESSION_INTERRUPTED;

        if (st)
                manager_queue_changed(m, s->id, (int32_t) st->index, false, stops);
        manager_queue_changed(m, s->id, -1, false, stops);
}

int manager_new(const char *config_dir, const char *state_dir, const char *vendor_dir, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        m->config_dir = strdup(config_dir);
        m->state_dir = strdup(state_dir);
        m->vendor_dir = vendor_dir ? strdup(vendor_dir) : NULL;
        if (!m->config_dir || !m->state_dir || (vendor_dir && !m->vendor_dir))
                return -ENOMEM;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        r = store_open(state_dir, &m->store);
        if (r < 0)
                return log_error_errno(r, "Failed to open the state store in '%s': %m", state_dir);
        r = engine_new(m->event, m->store, &m->engine);
        if (r < 0)
                return r;
        engine_set_hooks(m->engine, &(EngineHooks) {
                .session_new = hook_session_new,
                .changed = hook_changed,
                .userdata = m,
        });
        r = manager_setup_flush(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        if (m->store)
                (void) store_sync(m->store);
        for (size_t i = 0; i < m->n_replies; i++) {
                sd_bus_message_unref(m->replies[i].call);
                sd_bus_message_unref(m->replies[i].reply);
        }
        free(m->replies);
        free(m->changed);
        sd_event_source_disable_unref(m->flush_source);
        sd_event_source_disable_unref(m->announce_timer);
        polkit_registry_free(m->polkit);
        bus_target_checks_free(m);   /* before the ssh pool goes */
        engine_free(m->engine);
        connector_ssh_shutdown();   /* pooled ssh connections: after the jobs that lease them */
        store_free(m->store);
        runbook_catalog_free(m->runbooks);
        target_catalog_free(m->targets);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        free(m->config_dir);
        free(m->state_dir);
        free(m->vendor_dir);
        free(m);
        return NULL;
}

/* <config-dir>/runbookd.json: daemon settings; absent means the defaults. */
static int load_settings(const char *config_dir, EngineConfig *c, char **ret_error) {
        _cleanup_(json_decrefp) json_t *doc = NULL;
        _cleanup_free_ char *path = NULL;
        json_error_t jerr;
        const char *key;
        json_t *v;

        *c = (EngineConfig) {
                .allow_self_approval = false,
                .output_cap = OUTPUT_CAP_DEFAULT,
                .max_active_sessions = ENGINE_MAX_ACTIVE_DEFAULT,
                .max_active_sessions_per_user = ENGINE_MAX_ACTIVE_PER_USER_DEFAULT,
        };
        if (asprintf_safe(&path, "%s/runbookd.json", config_dir) < 0)
                return -ENOMEM;
        struct stat st;
        if (stat(path, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        int r = config_check_trusted(path, &st, ret_error);
        if (r < 0)
                return r;
        doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!doc) {
                (void) asprintf_safe(ret_error, "%s: line %d column %d: %s", path, jerr.line, jerr.column, jerr.text);
                return -EINVAL;
        }
        if (!json_is_object(doc)) {
                (void) asprintf_safe(ret_error, "%s: $: must be an object", path);
                return -EINVAL;
        }
        json_object_foreach(doc, key, v) {
                if (streq(key, "allow_self_approval")) {
                        if (!json_is_boolean(v))
                                goto type;
                        c->allow_self_approval = json_is_true(v);
                } else if (streq(key, "allow_unattended_root_approval")) {
                        if (!json_is_boolean(v))
                                goto type;
                        c->allow_unattended_root_approval = json_is_true(v);
                } else if (streq(key, "output_cap")) {
                        if (!json_is_integer(v) || json_integer_value(v) < OUTPUT_CAP_MIN ||
                            json_integer_value(v) > OUTPUT_CAP_MAX) {
                                (void) asprintf_safe(ret_error, "%s: $.output_cap: must be an integer from %d to %d (bytes)",
                                                     path, OUTPUT_CAP_MIN, OUTPUT_CAP_MAX);
                                return -EINVAL;
                        }
                        c->output_cap = (size_t) json_integer_value(v);
                } else if (streq(key, "max_active_sessions")) {
                        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000000) {
                                (void) asprintf_safe(ret_error, "%s: $.max_active_sessions: must be an integer from 1 to 1000000",
                                                     path);
                                return -EINVAL;
                        }
                        c->max_active_sessions = (unsigned) json_integer_value(v);
                } else if (streq(key, "max_active_sessions_per_user")) {
                        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000000) {
                                (void) asprintf_safe(ret_error,
                                                     "%s: $.max_active_sessions_per_user: must be an integer from 1 to 1000000",
                                                     path);
                                return -EINVAL;
                        }
                        c->max_active_sessions_per_user = (unsigned) json_integer_value(v);
                } else {
                        (void) asprintf_safe(ret_error,
                                             "%s: $.%s: unknown key (allowed: allow_self_approval, "
                                             "allow_unattended_root_approval, output_cap, max_active_sessions, "
                                             "max_active_sessions_per_user)",
                                             path, key);
                        return -EINVAL;
                }
                continue;
        type:
                (void) asprintf_safe(ret_error, "%s: $.%s: must be true or false", path, key);
                return -EINVAL;
        }
        return 0;
}

int manager_load_config(Manager *m, char ***ret_errors) {
        _cleanup_(runbook_catalog_freep) RunbookCatalog *runbooks = NULL;
        _cleanup_(target_catalog_freep) TargetCatalog *targets = NULL;
        _cleanup_free_ char *error = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        EngineConfig c;
        int r;

        r = load_settings(m->config_dir, &c, &error);
        if (r < 0) {
                if (error) {
                        log_error("%s", error);
                        if (ret_errors)
                                (void) strv_consume(ret_errors, TAKE_PTR(error));
                }
                return r;
        }
        r = runbook_catalog_load(m->vendor_dir, m->config_dir, &runbooks);
        if (r < 0)
                return log_error_errno(r, "Failed to read runbooks from '%s': %m", m->config_dir);
        r = target_catalog_load(m->vendor_dir, m->config_dir, &targets);
        if (r < 0)
                return log_error_errno(r, "Failed to read targets from '%s': %m", m->config_dir);

        for (size_t i = 0; i < runbooks->n_broken; i++) {
                log_warning("Runbook '%s' is not usable: %s", runbooks->broken[i].name, runbooks->broken[i].error);
                if (strv_extend(&errors, runbooks->broken[i].error) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < targets->n_broken; i++) {
                log_warning("Target '%s' is not usable: %s", targets->broken[i].name, targets->broken[i].error);
                if (strv_extend(&errors, targets->broken[i].error) < 0)
                        return -ENOMEM;
        }

        m->config = c;
        engine_set_config(m->engine, &c);
        /* steps keep target names, never pointers: swapping the catalog is safe */
        engine_set_targets(m->engine, targets);
        target_catalog_free(m->targets);
        m->targets = TAKE_PTR(targets);
        runbook_catalog_free(m->runbooks);
        m->runbooks = TAKE_PTR(runbooks);
        log_info("Loaded %zu runbooks and %zu targets (%zu unusable files).", m->runbooks->n_runbooks,
                 m->targets->n_targets, m->runbooks->n_broken + m->targets->n_broken);
        if (ret_errors)
                *ret_errors = TAKE_PTR(errors);
        return 0;
}

int bus_register_objects(Manager *m) {
        int r;

        r = sd_bus_add_object_vtable(m->bus, NULL, "/org/runbookd1", "org.runbookd1.Manager", manager_vtable, m);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(m->bus, NULL, "/org/runbookd1/session", "org.runbookd1.Session", session_vtable,
                                       session_object_find, m);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(m->bus, NULL, "/org/runbookd1/session", "org.runbookd1.Step", step_vtable,
                                       step_object_find, m);
        if (r < 0)
                return r;
        r = sd_bus_add_node_enumerator(m->bus, NULL, "/org/runbookd1/session", session_node_enumerator, m);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(m->bus, NULL, "/org/runbookd1/target", "org.runbookd1.Target", target_vtable,
                                       target_object_find, m);
        if (r < 0)
                return r;
        r = sd_bus_add_node_enumerator(m->bus, NULL, "/org/runbookd1/target", target_node_enumerator, m);
        if (r < 0)
                return r;
        return sd_bus_add_object_manager(m->bus, NULL, "/org/runbookd1");
}

int manager_connect_bus(Manager *m) {
        int r;

        r = bus_errors_register();
        if (r < 0)
                return r;
        r = sd_bus_open_system_with_description(&m->bus, "runbookd");
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        r = polkit_registry_new(m->bus, &m->polkit);
        if (r < 0)
                return r;
        r = bus_register_objects(m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the bus objects: %m");
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        r = sd_bus_request_name(m->bus, "org.runbookd1", 0);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire the bus name org.runbookd1: %m");
        return 0;
}

int manager_startup(Manager *m) {
        int r;

        events_init(store_id(m->store));
        r = manager_load_config(m, NULL);
        if (r < 0)
                return r;
        r = engine_load(m->engine);
        if (r < 0)
                return log_error_errno(r, "Failed to load the active sessions: %m");
        log_info("%zu active sessions.", engine_n_active(m->engine));
        return 0;
}
