/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* unit-props.h: a local target's "unit_properties": the systemd unit settings (resource control
 * and sandboxing) its steps' transient units get, from an allow-list. Each value is checked here
 * as systemd would take it in a unit file, and converted to what StartTransientUnit takes. */
#pragma once

#include <jansson.h>

#include "shared/util.h"

typedef enum UnitPropKind {
        UNIT_PROP_BOOL,           /* true/false -> b */
        UNIT_PROP_BYTES,          /* "1G", "512M", 1048576, "infinity" -> t (bytes) */
        UNIT_PROP_PERCENT,        /* "50%" -> t (CPUQuotaPerSecUSec: 500000) */
        UNIT_PROP_WEIGHT,         /* 1..10000 -> t */
        UNIT_PROP_COUNT,          /* 1..2^32 or "infinity" -> t (TasksMax, LimitNOFILE) */
        UNIT_PROP_NICE,           /* -20..19 -> i */
        UNIT_PROP_ENUM,           /* one of the listed words -> s */
        UNIT_PROP_PATH,           /* an absolute path -> s */
        UNIT_PROP_PATHS,          /* an array of absolute paths -> as */
} UnitPropKind;

typedef struct UnitPropInfo {
        const char *name;         /* as in a unit file, e.g. "MemoryMax" */
        const char *bus_name;     /* the property StartTransientUnit takes (often the same) */
        UnitPropKind kind;
        const char *const *words; /* UNIT_PROP_ENUM */
} UnitPropInfo;

const UnitPropInfo *unit_prop_find(const char *name);
/* Checks 'v' for property 'info'; on error fills *ret_error as "<source>: $.unit_properties.<name>:
 * <what is wrong>" and returns -EINVAL. */
int unit_prop_check(const UnitPropInfo *info, json_t *v, const char *source, char **ret_error);
/* Checks a whole "unit_properties" object (NULL: none). */
int unit_props_check(json_t *props, const char *source, char **ret_error);
/* The value of a checked UNIT_PROP_BYTES / _PERCENT / _WEIGHT / _COUNT property as StartTransientUnit
 * takes it. */
uint64_t unit_prop_u64(const UnitPropInfo *info, json_t *v);
/* The allowed names, ", "-separated, for messages and documentation. */
const char *unit_props_allowed(void);
