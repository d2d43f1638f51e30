/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* azure-check.h: Target.Check() for the azure connector (the vtable's check hooks): credentials
 * (a token is obtained), vm (the VM exists and its power state, from its instance view, is
 * running), permission (Azure's permissions API on the VM's scope grants the actions the
 * connector uses). */
#pragma once

#include "connector/connector.h"

int azure_check(ConnectorCheck *c, const Target *t);
void azure_check_destroy(ConnectorCheck *c);

