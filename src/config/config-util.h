/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config-util.h: what the parsers of runbooks and targets share: names, JSON paths and errors
 * that name them, strict key checks, file loading, the listing and loading of vendor and admin
 * directories, and the entries of files that could not be used. */
#pragma once

#include <jansson.h>
#include <stdarg.h>

#include "shared/util.h"

/* JSON paths are built from validated names and indexes: they fit. */
#define JSON_PATH_MAX 256

#define CONFIG_NAME_MAX 128

/* True if 'name' is a valid runbook or target name: [A-Za-z0-9_.@-]{1,128}, not starting with '.'. */
bool config_name_is_valid(const char *name);

/* A file that could not be used, with the reason (which names the file and the JSON path). */
typedef struct ConfigBroken {
        char *name;
        char *file;
        char *error;
} ConfigBroken;

/* Fills the next entry of 'broken' for file 'name' at 'path' that failed with 'r'; takes
 * *error (which may be NULL: then the message is made from 'r'). */
int config_broken_add(ConfigBroken *broken, size_t *n, const char *name, const char *path, int r, char **error);
void config_broken_free_many(ConfigBroken *broken, size_t n);
const ConfigBroken *config_broken_find(const ConfigBroken *broken, size_t n, const char *name);

/* Binary search in 'items', sorted by name, of objects whose first member is 'char *name'
 * (Runbook, Target); NULL if none has 'name'. */
const void *config_find_by_name(void *const *items, size_t n, const char *name);

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

/* Loads the document of file 'path', named 'name' (valid), into *ret: 0, or a negative errno with
 * *ret_error saying why (or NULL: then the error is made from the errno). */
typedef int (*ConfigLoadFunc)(const char *path, const char *name, void **ret, char **ret_error);

/* Loads each file that config_files_list() lists for 'subdir', in name order: one whose name is not
 * valid is refused as an "invalid <what> name", any other is loaded with 'load'. What loads goes
 * into *items, what does not into *broken (with its error, logged at debug level); both come out
 * sorted by name. *items has room for one entry more than the files (for a built-in one). Either
 * list is allocated here, and may be partly filled on failure: the caller frees both. */
int config_dir_load(const char *vendor_dir, const char *config_dir, const char *subdir, const char *what,
                    ConfigLoadFunc load, void ***items, size_t *n_items, ConfigBroken **broken, size_t *n_broken);

/* Reads a JSON object or array of at most max_size bytes, rejecting duplicate keys. On failure
 * returns a negative errno and sets *ret_error, e.g. "<path>: line 3 column 5: <jansson text>". */
int config_json_load_file(const char *path, size_t max_size, json_t **ret, char **ret_error);

/* Refuses (-EPERM, with *ret_error saying why) a file described by 'st', or its directory, that
 * is group- or world-writable or owned by anyone but root or runbookd's own user. */
struct stat;
int config_check_trusted(const char *path, const struct stat *st, char **ret_error);

/* Sets *ret_error (if not NULL) to "<source>: <path>: <message>" ("<path>: <message>" if source
 * is NULL) and returns -EINVAL, or -ENOMEM if the message could not be allocated. */
int config_error(char **ret_error, const char *source, const char *path, const char *fmt, ...) _printf_(4, 5);
int config_verror(char **ret_error, const char *source, const char *path, const char *fmt, va_list ap)
        _printf_(4, 0);

/* The JSON path of member 'key' of 'parent': "$.a.b", or "$.a[\"odd key\"]" for keys that are not
 * identifiers. NULL on OOM. */
char *config_path_key(const char *parent, const char *key);

/* Fails with "<path>.<key>: unknown key (allowed: a, b, c)" for the first key of 'obj' that is not
 * in the NULL-terminated 'allowed' list. */
int config_check_keys(json_t *obj, const char *const *allowed, const char *source, const char *path,
                      char **ret_error);

/* The value of a JSON string without embedded NUL characters; NULL for anything else. */
const char *config_json_string(json_t *v);
/* Whether a string of 'doc' (its values, in objects and arrays at any depth) is "cred:NAME", or
 * the path $CREDENTIALS_DIRECTORY/NAME (e.g. an ssh identity given as a file): a credential the
 * document uses. */
bool config_json_uses_credential(json_t *doc, const char *name);
/* Drops a reference to a document that may hold secrets (a caller's parameters); the last one
 * wipes its strings first (in objects and arrays, at any depth), so that no value lingers in freed
 * memory. NULL is fine. */
void config_json_wipe_decref(json_t *v);
static inline void config_json_wipe_decrefp(json_t **v) {
        config_json_wipe_decref(*v);
}

/* Reads the credential $CREDENTIALS_DIRECTORY/NAME ('ref' is "cred:NAME"; LoadCredential= in the
 * unit) into *ret (NUL-terminated, *ret_len bytes; the caller wipes it when done). -ENOKEY (with
 * *ret_error) when it is not there, -EINVAL for a NAME with '/', -EFBIG for one too large. */
#define CONFIG_CREDENTIAL_SIZE_MAX (64 * 1024)
int config_read_credential(const char *ref, char **ret, size_t *ret_len, char **ret_error);
