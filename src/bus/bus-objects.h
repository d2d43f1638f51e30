/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-objects.h: the vtables of runbookd's objects and the helpers their handlers share. */
#pragma once

#include <systemd/sd-bus.h>

#include "daemon/manager.h"

extern const sd_bus_vtable manager_vtable[];
extern const sd_bus_vtable session_vtable[];
extern const sd_bus_vtable step_vtable[];
extern const sd_bus_vtable target_vtable[];

int session_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                        sd_bus_error *error);
int step_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                     sd_bus_error *error);
int target_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                       sd_bus_error *error);
int target_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);
/* Stops the Target.Check() calls in progress (at exit; their callers get no reply). */
void bus_target_checks_free(Manager *m);
int session_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);

/* Registers every object, the enumerator and the ObjectManager. */
int bus_register_objects(Manager *m);
/* Appends an a{ss} of the string members of JSON object 'o' (NULL: empty). */
int bus_append_string_map(sd_bus_message *m, json_t *o);

/* Replies to 'call' (with 'reply', taken) once the store is durable; returns 1. */
int bus_reply_durable(Manager *m, sd_bus_message *call, sd_bus_message *reply);
/* Replies with no arguments once the store is durable; returns 1. */
int bus_reply_durable_empty(Manager *m, sd_bus_message *call);

/* Who is calling: uid, user name, and login uid and its name where the caller has one
 * (bus-caller.c); the caller frees it with identity_done(). */
int bus_caller(Manager *m, sd_bus_message *call, Identity *ret, sd_bus_error *error);
/* polkit's answer for 'action' on 'details' (see bus_verify_polkit_async()), then who is calling:
 * 1 with *ret filled when authorized, 0 when polkit is being asked (the handler returns 1 and
 * is called again with the answer), < 0 on error or refusal. */
int bus_authorized_caller(Manager *m, sd_bus_message *call, const char *action, const char **details, Identity *ret,
                          sd_bus_error *error);

/* Reads StartSession's and PlanSession's a{ss} of parameters into a JSON object of strings,
 * bounded (count, lengths, UTF-8). */
int bus_read_parameters(sd_bus_message *message, json_t **ret, sd_bus_error *error);
/* The runbook named 'name', or an error naming what is wrong (invalid name, none, unusable). */
int bus_find_runbook(Manager *m, const char *name, const Runbook **ret, sd_bus_error *error);
/* Manager.PlanSession (bus-plan.c). */
int method_plan_session(sd_bus_message *message, void *userdata, sd_bus_error *error);

/* Validates a free-text argument (comment, reference): printable UTF-8, at most 'max' bytes. */
int bus_check_text(const char *what, const char *s, size_t max, sd_bus_error *error);

/* Shared by Session.Approve/Reject and Step.Approve/Reject. */
int bus_step_decide(Manager *m, sd_bus_message *call, Step *st, bool approve, const char *comment,
                    sd_bus_error *error);

/* Object paths of sessions and steps. */
char *session_path(uint32_t id);
char *step_path(uint32_t id, uint32_t index);

/* The Manager, from inside a handler of a fallback vtable. */
Manager *manager_of(sd_bus_message *message);

#define COMMENT_MAX 4096
#define REFERENCE_MAX 256
