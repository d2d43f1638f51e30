/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* manager.c: the daemon's lifecycle: configuration, store, engine and bus, tied together. */
#include <sys/stat.h>
#include <stdio.h>

#include "bus/bus-errors.h"
#include "bus/bus-objects.h"
#include "connector/connector.h"
#include "daemon/manager.h"
#include "config/window.h"
#include "daemon/settings.h"
#include "journal/events.h"
#include "shared/log.h"


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
        if (r == -EBUSY)
                return r;   /* another instance holds it: store_open() said which */
        if (r < 0)
                return log_error_errno(r, "Failed to open the state store in '%s': %m", state_dir);
        r = engine_new(m->event, m->store, &m->engine);
        if (r < 0)
                return r;
        r = notifier_new(m->event, m->store, &m->notifier);
        if (r < 0)
                return r;
        r = bus_emit_setup(m);
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
        bus_emit_free(m);
        polkit_registry_free(m->polkit);
        bus_target_checks_free(m);   /* before the ssh pool goes */
        notifier_free(m->notifier);  /* its requests and programs: before the HTTP code goes */
        engine_free(m->engine);
        notify_config_free(m->notify);
        connector_shutdown_all();   /* pooled connections: after the jobs that lease them */
        store_free(m->store);
        runbook_catalog_free(m->runbooks);
        target_catalog_free(m->targets);
        change_freezes_free((ChangeFreeze *) m->config.freeze, m->config.n_freeze);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        free(m->config_dir);
        free(m->state_dir);
        free(m->vendor_dir);
        free(m);
        return NULL;
}

static void config_freezes_freep(EngineConfig **c) {
        if (*c)
                change_freezes_free((ChangeFreeze *) (*c)->freeze, (*c)->n_freeze);
}

int manager_load_config(Manager *m, char ***ret_errors) {
        _cleanup_(runbook_catalog_freep) RunbookCatalog *runbooks = NULL;
        _cleanup_(target_catalog_freep) TargetCatalog *targets = NULL;
        _cleanup_free_ char *error = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        _cleanup_(notify_config_freep) NotifyConfig *notify = NULL;
        EngineConfig c;
        int r;

        r = settings_load(m->config_dir, &c, &notify, &error);
        /* the freezes are the manager's, from m->config, once c is taken */
        _cleanup_(config_freezes_freep) EngineConfig *owned = r >= 0 ? &c : NULL;
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

        /* the output directory of steps run as units: in the state directory, which runbookd owns */
        _cleanup_free_ char *output_dir = NULL;
        if (asprintf_safe(&output_dir, "%s/step-output", m->state_dir) < 0)
                return -ENOMEM;
        r = connector_local_configure(c.local_steps, output_dir);
        if (r < 0)
                return log_error_errno(r, "Failed to set up '%s' for the output of local steps: %m", output_dir);
        if (!m->bus)   /* at start-up */
                log_info("Local steps run %s.", local_unit_mode_describe());

        /* the notifier keeps the queues of sinks that stay (by name) and gives up those of sinks
         * that are gone; the engine routes events by it from now on */
        r = notifier_set_config(m->notifier, notify);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the notification sinks: %m");
        change_freezes_free((ChangeFreeze *) m->config.freeze, m->config.n_freeze);
        if (c.retention_max_age_days != m->config.retention_max_age_days ||
            c.retention_max_sessions != m->config.retention_max_sessions || !m->bus) {
                char age[64] = "", count[64] = "";
                if (c.retention_max_age_days > 0)
                        (void) snprintf(age, sizeof age, "are removed %u days after they finish",
                                        c.retention_max_age_days);
                if (c.retention_max_sessions > 0)
                        (void) snprintf(count, sizeof count, "%s beyond the newest %u", age[0] ? ", and" : "are removed",
                                        c.retention_max_sessions);
                if (age[0] || count[0])
                        log_info("Retention: finished sessions %s%s.", age, count);
                else if (m->bus)
                        log_info("Retention: finished sessions are kept for ever.");
        }
        m->config = c;
        owned = NULL;
        connector_ssh_configure(c.ssh_max_idle_connections);
        engine_set_config(m->engine, &c);
        engine_set_notify(m->engine, notify);
        notify_config_free(m->notify);
        m->notify = TAKE_PTR(notify);
        if (m->notify->n_sinks > 0)
                log_info("%zu notification sink(s).", m->notify->n_sinks);
        /* steps keep target names, never pointers: swapping the catalog is safe */
        engine_set_targets(m->engine, targets);
        target_catalog_free(m->targets);
        m->targets = TAKE_PTR(targets);
        /* windows and freezes as they are now (a Reload): steps waiting for theirs look again */
        engine_windows_recheck(m->engine);
        runbook_catalog_free(m->runbooks);
        m->runbooks = TAKE_PTR(runbooks);
        log_info("Loaded %zu runbooks and %zu targets (%zu unusable files).", m->runbooks->n_runbooks,
                 m->targets->n_targets, m->runbooks->n_broken + m->targets->n_broken);
        if (ret_errors)
                *ret_errors = TAKE_PTR(errors);
        return 0;
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
