/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ssh-check.h: Target.Check() for the ssh connector (the vtable's check hooks): resolve, connect
 * (TCP and the SSH handshake), host-key, authenticate, run ('true'), on a connection of its own. */
#pragma once

#include "connector/connector.h"
#include "connector/ssh/ssh-pool.h"

int ssh_check(ConnectorCheck *c, const Target *t);
void ssh_check_destroy(ConnectorCheck *c);

/* ssh.c: the endpoint a target describes (copied); -EINVAL if it is not an ssh target. */
int ssh_endpoint_from_target(const Target *t, SshEndpoint *ep);
