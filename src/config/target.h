/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* target.h: targets (<dir>/targets/<name>.json): where a step's command runs. */
#pragma once

#include <jansson.h>

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

typedef struct TargetBroken {
        char *name;
        char *file;
        char *error;
} TargetBroken;

typedef struct TargetCatalog {
        Target **targets;         /* sorted by name; always contains "local" */
        size_t n_targets;
        TargetBroken *broken;
        size_t n_broken;
} TargetCatalog;

int target_catalog_load(const char *vendor_dir, const char *config_dir, TargetCatalog **ret);
TargetCatalog *target_catalog_free(TargetCatalog *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(TargetCatalog *, target_catalog_free);
const Target *target_catalog_find(const TargetCatalog *c, const char *name);
const TargetBroken *target_catalog_find_broken(const TargetCatalog *c, const char *name);

/* Helpers shared by the config parsers (runbook.c, target.c; implemented in target.c);
 * not meant for other layers. */

/* A candidate config file: <dir>/<subdir>/<name>.json. */
typedef struct ConfigFile {
        char *name;               /* the file name without ".json" (not validated) */
        char *path;
} ConfigFile;

/* Lists <dir>/<subdir>/ *.json of vendor_dir and of config_dir (either may be NULL; a missing
 * directory is empty), skipping hidden files. A config_dir file wins over a vendor file of the
 * same name. *ret is sorted by name and ends with an entry whose name is NULL. */
int config_files_list(const char *vendor_dir, const char *config_dir, const char *subdir, ConfigFile **ret);
ConfigFile *config_files_free(ConfigFile *files);
DEFINE_TRIVIAL_CLEANUP_FUNC(ConfigFile *, config_files_free);

/* Reads a JSON object or array of at most max_size bytes, rejecting duplicate keys. On failure
 * returns a negative errno and sets *ret_error, e.g. "<path>: line 3 column 5: <jansson text>". */
int config_json_load_file(const char *path, size_t max_size, json_t **ret, char **ret_error);

/* Sets *ret_error (if not NULL) to "<source>: <path>: <message>" ("<path>: <message>" if source
 * is NULL) and returns -EINVAL, or -ENOMEM if the message could not be allocated. */
int config_error(char **ret_error, const char *source, const char *path, const char *fmt, ...) _printf_(4, 5);

/* The JSON path of member 'key' of 'parent': "$.a.b", or "$.a[\"odd key\"]" for keys that are not
 * identifiers. NULL on OOM. */
char *config_path_key(const char *parent, const char *key);

/* Fails with "<path>.<key>: unknown key (allowed: a, b, c)" for the first key of 'obj' that is not
 * in the NULL-terminated 'allowed' list. */
int config_check_keys(json_t *obj, const char *const *allowed, const char *source, const char *path,
                      char **ret_error);

/* The value of a JSON string without embedded NUL characters; NULL for anything else. */
const char *config_json_string(json_t *v);
