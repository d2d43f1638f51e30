/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-polkit.h: asynchronous polkit authorization of D-Bus method calls, in the manner of
 * systemd's bus-polkit.c: the first call of a handler sends CheckAuthorization (subject: the
 * caller's unique bus name) and returns 0, and the handler returns 1; when polkit answers, the
 * method call is queued again and the handler runs from the top, and this time gets 1, or
 * an error (-EACCES with AccessDenied, or InteractiveAuthorizationRequired). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

typedef struct PolkitRegistry PolkitRegistry;

int polkit_registry_new(sd_bus *bus, PolkitRegistry **ret);
PolkitRegistry *polkit_registry_free(PolkitRegistry *r);

/* 'details' is a NULL-terminated list of key, value pairs shown by polkit agents. */
int bus_verify_polkit_async(sd_bus_message *m, const char *action, const char **details, PolkitRegistry *registry,
                            sd_bus_error *error);

/* The caller's effective uid (cached per unique name: unique names are never reused). */
int bus_query_caller_uid(PolkitRegistry *registry, sd_bus_message *m, uid_t *ret);
/* The same, and the pid of the process that opened the caller's connection (0: unknown). */
int bus_query_caller(PolkitRegistry *registry, sd_bus_message *m, uid_t *ret_uid, pid_t *ret_pid);
