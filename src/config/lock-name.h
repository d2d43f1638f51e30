/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lock-name.h: the names of locks between sessions — a runbook's "lock", a template over its
 * parameters ("db-{{cluster}}"), and "target:NAME" for a target with "lock": true. A value is
 * substituted as it is (a name is data, never quoted nor read again as a template). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "model/session.h"

/* 1..LOCK_NAME_MAX bytes of printable ASCII without spaces. */
bool lock_name_is_valid(const char *s);

/* Checks a runbook's "lock" template: well-formed references, each to one of the 'n' parameter
 * names in 'params' (no step values: the name is fixed when the session is created), and text
 * that can make a valid name. 0, or -EINVAL with *ret_problem saying what is wrong (static text
 * or made: free it), and *ret_offset the byte offset it is at. */
int lock_template_check(const char *tmpl, char *const *params, size_t n, size_t *ret_offset, char **ret_problem);

/* Substitutes each {{name}} by values[name]. -ENXIO: a reference without a string value; -EINVAL
 * when the result is not a valid lock name, with *ret_error saying why (the name quoted). */
int lock_name_render(const char *tmpl, json_t *values, char **ret, char **ret_error);

/* "target:NAME" */
char *lock_name_for_target(const char *target);
