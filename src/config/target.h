/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* target.h: targets (<dir>/targets/<name>.json): where a step's command runs. */
#pragma once

#include <jansson.h>

#include "config/config-util.h"

#include "shared/util.h"

typedef struct Target {
        char *name;
        char *connector;          /* "local", "ssh", "azure", or "group" for a target group */
        char *file;               /* NULL for the built-in "local" */
        char *description;        /* human summary, e.g. "ops@10.0.0.5:22" or "rg-app/vm-web-01"; never a secret */
        json_t *config;           /* the validated document; values "cred:NAME" are references, not secrets */
} Target;

/* Parses and validates a target document for its connector (strict keys, types; errors name
 * the source and the JSON path, as runbook_from_json does). */
int target_from_json(json_t *doc, const char *name, const char *source, Target **ret, char **ret_error);
Target *target_free(Target *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Target *, target_free);

typedef ConfigBroken TargetBroken;

typedef struct TargetCatalog {
        Target **targets;         /* sorted by name; always contains "local" */
        size_t n_targets;
        TargetBroken *broken;
        size_t n_broken;
} TargetCatalog;

int target_catalog_load(const char *vendor_dir, const char *config_dir, TargetCatalog **ret);
TargetCatalog *target_catalog_free(TargetCatalog *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(TargetCatalog *, target_catalog_free);
/* "lock": true — one session at a time runs steps on it (lock-name.h: "target:NAME") */
bool target_is_locked(const Target *t);
const Target *target_catalog_find(const TargetCatalog *c, const char *name);
const TargetBroken *target_catalog_find_broken(const TargetCatalog *c, const char *name);
