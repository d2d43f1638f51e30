/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-objects.c: runbookd's objects on the bus — the Manager, sessions and their steps (found
 * on demand), targets — and the ObjectManager; object paths. */
#include <stdio.h>

#include "bus/bus-objects.h"
#include "shared/util.h"

char *session_path(uint32_t id) {
        char *p;
        return asprintf_safe(&p, "/org/runbookd1/session/%u", id) < 0 ? NULL : p;
}

char *step_path(uint32_t id, uint32_t index) {
        char *p;
        return asprintf_safe(&p, "/org/runbookd1/session/%u/step/%u", id, index) < 0 ? NULL : p;
}

Manager *manager_of(sd_bus_message *message) {
        /* the fallback vtables are registered with the Manager as the slot's userdata; the
         * handler's own userdata is the object the find callback returned */
        return sd_bus_slot_get_userdata(sd_bus_get_current_slot(sd_bus_message_get_bus(message)));
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

int bus_append_string_map(sd_bus_message *m, json_t *o) {
        const char *key;
        json_t *value;
        int r;

        r = sd_bus_message_open_container(m, 'a', "{ss}");
        json_object_foreach(o, key, value) {
                if (r < 0)
                        return r;
                r = sd_bus_message_append(m, "{ss}", key, json_string_value(value) ?: "");
        }
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}
