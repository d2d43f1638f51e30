/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-target.c: /org/runbookd1/target/<bus-escaped name>, org.runbookd1.Target: the configured
 * destinations of steps. Read-only; no secret is exposed (values "cred:NAME" name a credential). */
#include "bus/bus-objects.h"

#define TARGET_PREFIX "/org/runbookd1/target"

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

const sd_bus_vtable target_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Connector", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Description", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("File", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Members", "as", property_get_members, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END,
};
