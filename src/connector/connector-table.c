/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* connector-table.c: the connectors this runbookd has, by name. Only connector_find() and
 * connector_shutdown_all() live here, so that a test program can link its own table instead
 * (src/engine/test-connector.c). */

#include "connector/connector.h"

static const ConnectorVTable *const connector_table[] = {
        &connector_local,
        &connector_ssh,
        &connector_azure,
        NULL,
};

void connector_shutdown_all(void) {
        for (size_t i = 0; connector_table[i]; i++)
                if (connector_table[i]->shutdown)
                        connector_table[i]->shutdown();
}

const ConnectorVTable *connector_find(const char *name) {
        if (!name)
                return NULL;
        for (size_t i = 0; connector_table[i]; i++)
                if (streq(connector_table[i]->name, name))
                        return connector_table[i];
        return NULL;
}
