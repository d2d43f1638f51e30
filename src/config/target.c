/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* target.c: target documents and the target catalog. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "config/config-util.h"
#include "config/runbook.h"
#include "config/target.h"
#include "config/window.h"
#include "config/unit-props.h"
#include "shared/log.h"

#define TARGET_FILE_SIZE_MAX (64 * 1024)
#define TARGET_GROUP_MAX 1024
#define TARGET_STRING_MAX 1024
#define TARGET_DESCRIPTION_MEMBERS 5
#define MAX_CONCURRENCY_DEFAULT 10

static const char *const local_keys[] = { "connector", "description", "user", "group", "unit_properties", "lock", "windows", NULL };
static const char *const ssh_keys[] = {
        "connector", "description", "host", "port", "user", "identity", "known_hosts", "lock", "windows", NULL,
};
static const char *const azure_keys[] = {
        "connector", "description", "subscription", "resource_group", "vm", "tenant", "client_id",
        "client_secret", "client_certificate", "managed_identity", "api", "cloud", "authority", "resource_manager",
        "audience", "imds", "ca_file", "lock", "windows", NULL,
};

/* Azure's clouds, as Azure publishes their endpoints (az cloud list: activeDirectory,
 * resourceManager; the token audience is the Resource Manager's own URL, which ARM lists among its
 * accepted audiences). "authority", "resource_manager" and "audience" override one each: a
 * sovereign or private cloud registered as 'az cloud register' does, Azure Stack Hub (its audience
 * from the ARM metadata endpoint), an egress proxy in front of ARM (resource_manager only). */
static const struct {
        const char *name, *authority, *resource_manager, *audience;
} azure_clouds[] = {
        { "AzureCloud", "https://login.microsoftonline.com", "https://management.azure.com",
          "https://management.azure.com/" },
        { "AzureUSGovernment", "https://login.microsoftonline.us", "https://management.usgovcloudapi.net",
          "https://management.usgovcloudapi.net/" },
        { "AzureChinaCloud", "https://login.chinacloudapi.cn", "https://management.chinacloudapi.cn",
          "https://management.chinacloudapi.cn/" },
};
static const char *const group_keys[] = { "group", "max_concurrency", "max_errors", "description", "lock", "windows", NULL };

/* Characters that must not appear in values that end up in URLs (Azure resource ids). */
#define URL_UNSAFE "/?#%\\\"<>"

/* config_error() at the document's member 'key': "<source>: $.<key>: <message>". */
_printf_(4, 5)
static int member_error(char **ret_error, const char *source, const char *key, const char *fmt, ...) {
        char path[JSON_PATH_MAX];
        va_list ap;
        int r;

        snprintf(path, sizeof path, "$.%s", key);
        va_start(ap, fmt);
        r = config_verror(ret_error, source, path, fmt, ap);
        va_end(ap);
        return r;
}

/* Gets string member 'key' into *ret: printable text on one line, at most TARGET_STRING_MAX bytes.
 * Errors never quote the value, which may be a secret someone wrote into the file by mistake. */
static int get_string(json_t *doc, const char *key, bool required, const char *source, const char **ret,
                      char **ret_error) {
        json_t *v = json_object_get(doc, key);
        const char *s;

        *ret = NULL;
        if (!v) {
                if (required)
                        return config_error(ret_error, source, "$", "missing required key '%s'", key);
                return 0;
        }
        s = config_json_string(v);
        if (!s)
                return member_error(ret_error, source, key, "must be a string");
        if (isempty(s))
                return member_error(ret_error, source, key, "must not be empty");
        if (strlen(s) > TARGET_STRING_MAX)
                return member_error(ret_error, source, key, "is too long (maximum %d bytes)", TARGET_STRING_MAX);
        if (!utf8_is_printable_text(s, TARGET_STRING_MAX) || strpbrk(s, "\t\n"))
                return member_error(ret_error, source, key, "must be printable text on one line");
        *ret = s;
        return 0;
}

/* No whitespace, not an option ("-x"), none of 'forbidden'. */
static bool string_is_token(const char *s, const char *forbidden) {
        if (s[0] == '-' || strchr(s, ' '))
                return false;
        return !forbidden || !strpbrk(s, forbidden);
}

static bool string_is_cred_ref(const char *s) {
        return strncmp(s, "cred:", 5) == 0 && config_name_is_valid(s + 5);
}

static int get_token(json_t *doc, const char *key, bool required, const char *forbidden, const char *source,
                     const char **ret, char **ret_error) {
        int r;

        r = get_string(doc, key, required, source, ret, ret_error);
        if (r < 0 || !*ret)
                return r;
        if (!string_is_token(*ret, forbidden))
                return member_error(ret_error, source, key, "must not contain spaces%s%s or start with '-'",
                                    forbidden ? " or any of " : "", strempty(forbidden));
        return 0;
}

static int get_absolute_path(json_t *doc, const char *key, bool required, const char *source, const char **ret,
                             char **ret_error) {
        int r;

        r = get_string(doc, key, required, source, ret, ret_error);
        if (r < 0 || !*ret)
                return r;
        if ((*ret)[0] != '/')
                return member_error(ret_error, source, key, "must be an absolute path");
        return 0;
}

static int get_url(json_t *doc, const char *key, bool allow_http, const char *default_url, const char *source,
                   json_t *copy, char **ret_error) {
        const char *s;
        int r;

        r = get_string(doc, key, false, source, &s, ret_error);
        if (r < 0)
                return r;
        if (!s)
                return json_object_set_new(copy, key, json_string(default_url)) < 0 ? -ENOMEM : 0;
        if (!((strncmp(s, "https://", 8) == 0 && s[8]) || (allow_http && strncmp(s, "http://", 7) == 0 && s[7])) ||
            strchr(s, ' '))
                return member_error(ret_error, source, key, "must be an %s URL",
                                    allow_http ? "http:// or https://" : "https://");
        return 0;
}

static int get_integer(json_t *doc, const char *key, json_int_t min, json_int_t max, json_int_t def,
                       const char *what, const char *source, json_t *copy, json_int_t *ret, char **ret_error) {
        json_t *v = json_object_get(doc, key);

        *ret = def;
        if (!v)
                return json_object_set_new(copy, key, json_integer(def)) < 0 ? -ENOMEM : 0;
        if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
                return member_error(ret_error, source, key, "must be %s", what);
        *ret = json_integer_value(v);
        return 0;
}

static int parse_ssh(json_t *doc, const char *source, json_t *copy, char **ret_summary, char **ret_error) {
        const char *host, *user, *identity, *known_hosts;
        json_int_t port;
        int r;

        if ((r = get_token(doc, "host", true, "/@", source, &host, ret_error)) < 0 ||
            (r = get_integer(doc, "port", 1, 65535, 22, "an integer from 1 to 65535", source, copy, &port,
                             ret_error)) < 0 ||
            (r = get_token(doc, "user", true, "@:/", source, &user, ret_error)) < 0 ||
            (r = get_string(doc, "identity", false, source, &identity, ret_error)) < 0 ||
            (r = get_absolute_path(doc, "known_hosts", true, source, &known_hosts, ret_error)) < 0)
                return r;
        if (identity && identity[0] != '/' && !string_is_cred_ref(identity))
                return config_error(ret_error, source, "$.identity",
                                    "must be an absolute path or a credential reference \"cred:NAME\"");

        /* an IPv6 address gets brackets, so that the port stays readable */
        return asprintf_safe(ret_summary, strchr(host, ':') ? "%s@[%s]:%lld" : "%s@%s:%lld", user, host,
                             (long long) port);
}

/* A user or group name as useradd(8) and systemd take it: a letter or '_', then letters, digits,
 * '_', '-' or '.', at most 32 bytes; never a number (a uid is not a name). */
static bool account_name_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 32 || !(ascii_isalpha(s[0]) || s[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!ascii_isalpha(s[i]) && !ascii_isdigit(s[i]) && !strchr("_-.", s[i]))
                        return false;
        return true;
}

static int parse_local(json_t *doc, const char *source, char **ret_summary, char **ret_error) {
        const char *user, *group;
        int r;

        if ((r = get_string(doc, "user", false, source, &user, ret_error)) < 0 ||
            (r = get_string(doc, "group", false, source, &group, ret_error)) < 0)
                return r;
        if (user && !account_name_is_valid(user))
                return member_error(ret_error, source, "user",
                                    "must be a user name (a letter or '_', then letters, digits, '_', '-' or '.'; at "
                                    "most 32 bytes)");
        if (group && !account_name_is_valid(group))
                return member_error(ret_error, source, "group",
                                    "must be a group name (a letter or '_', then letters, digits, '_', '-' or '.'; at "
                                    "most 32 bytes)");
        r = unit_props_check(json_object_get(doc, "unit_properties"), source, ret_error);
        if (r < 0)
                return r;
        if (user || group)
                return asprintf_safe(ret_summary, "this host, as %s%s%s", user ?: "root", group ? ":" : "", strempty(group));
        return asprintf_safe(ret_summary, "this host");
}

static int parse_azure(json_t *doc, const char *source, json_t *copy, char **ret_summary, char **ret_error) {
        const char *subscription, *resource_group, *vm, *tenant, *client_id, *secret, *cert, *api, *ca_file;
        const char *cloud_name;
        json_t *mi = json_object_get(doc, "managed_identity");
        size_t cloud = 0;
        int r;

        if ((r = get_token(doc, "subscription", true, URL_UNSAFE, source, &subscription, ret_error)) < 0 ||
            (r = get_token(doc, "resource_group", true, URL_UNSAFE, source, &resource_group, ret_error)) < 0 ||
            (r = get_token(doc, "vm", true, URL_UNSAFE, source, &vm, ret_error)) < 0)
                return r;

        if (mi && !json_is_boolean(mi))
                return config_error(ret_error, source, "$.managed_identity", "must be true or false");

        /* Secrets never go into target files: only references to credentials. Check this before
         * anything else about these keys, and never quote their values. */
        static const char *const secret_keys[] = { "client_secret", "client_certificate" };
        for (size_t i = 0; i < ELEMENTSOF(secret_keys); i++) {
                json_t *v = json_object_get(doc, secret_keys[i]);

                if (v && (!config_json_string(v) || !string_is_cred_ref(json_string_value(v))))
                        return member_error(ret_error, source, secret_keys[i],
                                            "must be a credential reference \"cred:NAME\"; do not write a secret "
                                            "into a target file, store it as a credential named NAME");
        }

        if (json_is_true(mi)) {
                static const char *const not_with_mi[] = { "tenant", "client_secret", "client_certificate" };

                for (size_t i = 0; i < ELEMENTSOF(not_with_mi); i++)
                        if (json_object_get(doc, not_with_mi[i]))
                                return member_error(ret_error, source, not_with_mi[i],
                                                    "not used with \"managed_identity\": true");
                r = get_token(doc, "client_id", false, URL_UNSAFE, source, &client_id, ret_error);
                if (r < 0)
                        return r;
        } else {
                if ((r = get_token(doc, "tenant", true, URL_UNSAFE, source, &tenant, ret_error)) < 0 ||
                    (r = get_token(doc, "client_id", true, URL_UNSAFE, source, &client_id, ret_error)) < 0 ||
                    (r = get_string(doc, "client_secret", false, source, &secret, ret_error)) < 0 ||
                    (r = get_string(doc, "client_certificate", false, source, &cert, ret_error)) < 0)
                        return r;
                if (secret && cert)
                        return config_error(ret_error, source, "$.client_certificate",
                                            "give either \"client_secret\" or \"client_certificate\", not both");
                if (!secret && !cert)
                        return config_error(ret_error, source, "$",
                                            "missing \"client_secret\" or \"client_certificate\" "
                                            "(or \"managed_identity\": true)");
        }

        r = get_string(doc, "api", false, source, &api, ret_error);
        if (r < 0)
                return r;
        if (!api) {
                if (json_object_set_new(copy, "api", json_string("managed")) < 0)
                        return -ENOMEM;
        } else if (!streq(api, "managed") && !streq(api, "action"))
                return config_error(ret_error, source, "$.api", "must be \"managed\" or \"action\"");

        r = get_string(doc, "cloud", false, source, &cloud_name, ret_error);
        if (r < 0)
                return r;
        if (cloud_name) {
                for (cloud = 0; cloud < ELEMENTSOF(azure_clouds); cloud++)
                        if (streq(azure_clouds[cloud].name, cloud_name))
                                break;
                if (cloud == ELEMENTSOF(azure_clouds))
                        return member_error(ret_error, source, "cloud",
                                            "unknown cloud '%s' (known: AzureCloud, AzureUSGovernment, "
                                            "AzureChinaCloud; for another, give authority, resource_manager and "
                                            "audience)", cloud_name);
        } else if (json_object_set_new(copy, "cloud", json_string(azure_clouds[0].name)) < 0)
                return -ENOMEM;
        if ((r = get_url(doc, "authority", false, azure_clouds[cloud].authority, source, copy, ret_error)) < 0 ||
            (r = get_url(doc, "resource_manager", false, azure_clouds[cloud].resource_manager, source, copy,
                         ret_error)) < 0 ||
            (r = get_url(doc, "audience", false, azure_clouds[cloud].audience, source, copy, ret_error)) < 0 ||
            (r = get_url(doc, "imds", true, "http://169.254.169.254", source, copy, ret_error)) < 0 ||
            (r = get_absolute_path(doc, "ca_file", false, source, &ca_file, ret_error)) < 0)
                return r;

        return asprintf_safe(ret_summary, "%s/%s", resource_group, vm);
}

static int parse_group(json_t *doc, const char *source, json_t *copy, char **ret_summary, char **ret_error) {
        json_t *members = json_object_get(doc, "group"), *v;
        json_int_t max_concurrency;
        char *buf = NULL;
        size_t i, size = 0;
        FILE *f;
        int r;

        if (!json_is_array(members) || json_array_size(members) == 0)
                return config_error(ret_error, source, "$.group", "must be a non-empty array of target names");
        if (json_array_size(members) > TARGET_GROUP_MAX)
                return config_error(ret_error, source, "$.group", "too many members (maximum %d)", TARGET_GROUP_MAX);
        json_array_foreach(members, i, v) {
                const char *s = config_json_string(v);
                char path[JSON_PATH_MAX];

                snprintf(path, sizeof path, "$.group[%zu]", i);
                if (!s || !config_name_is_valid(s))
                        return config_error(ret_error, source, path, "must be a target name");
                for (size_t j = 0; j < i; j++)
                        if (streq(s, json_string_value(json_array_get(members, j))))
                                return config_error(ret_error, source, path, "'%s' is listed twice", s);
        }

        r = get_integer(doc, "max_concurrency", 1, INT32_MAX, MAX_CONCURRENCY_DEFAULT, "a positive integer",
                        source, copy, &max_concurrency, ret_error);
        if (r < 0)
                return r;

        v = json_object_get(doc, "max_errors");
        if (v && !(json_is_integer(v) && json_integer_value(v) >= 0)) {
                const char *s = config_json_string(v);
                char *end = NULL;
                unsigned long pct = 0;

                if (s && s[0] >= '0' && s[0] <= '9') {
                        errno = 0;
                        pct = strtoul(s, &end, 10);
                }
                if (!end || errno != 0 || !streq(end, "%") || pct > 100)
                        return config_error(ret_error, source, "$.max_errors",
                                            "must be an integer >= 0 or a percentage \"N%%\" from 0 to 100");
        }

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "group of %zu: ", json_array_size(members));
        json_array_foreach(members, i, v) {
                if (i == TARGET_DESCRIPTION_MEMBERS) {
                        fputs(", …", f);
                        break;
                }
                fprintf(f, "%s%s", i > 0 ? ", " : "", json_string_value(v));
        }
        r = ferror(f) ? -ENOMEM : 0;
        if (fclose(f) != 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret_summary = buf;
        return 0;
}

Target *target_free(Target *t) {
        if (!t)
                return NULL;
        free(t->name);
        free(t->connector);
        free(t->file);
        free(t->description);
        json_decref(t->config);
        free(t);
        return NULL;
}

int target_from_json(json_t *doc, const char *name, const char *source, Target **ret, char **ret_error) {
        _cleanup_(target_freep) Target *t = NULL;
        _cleanup_(json_decrefp) json_t *copy = NULL;
        _cleanup_free_ char *summary = NULL;
        const char *connector, *description;
        int r;

        if (!source)
                source = name;
        if (!config_name_is_valid(name))
                return config_error(ret_error, source, "$", "invalid target name '%s'", strna(name));
        if (!json_is_object(doc))
                return config_error(ret_error, source, "$", "must be a JSON object");
        copy = json_deep_copy(doc);
        if (!copy)
                return -ENOMEM;

        /* a target group has "group" (its members) and no "connector"; a local target's "group" is
         * the group its steps run as */
        if (json_object_get(doc, "group") && !json_object_get(doc, "connector")) {
                connector = "group";
                r = config_check_keys(doc, group_keys, source, "$", ret_error);
                if (r >= 0)
                        r = parse_group(doc, source, copy, &summary, ret_error);
        } else {
                json_t *c = json_object_get(doc, "connector");

                if (!c)
                        return config_error(ret_error, source, "$",
                                            "missing required key 'connector' (or 'group' for a target group)");
                connector = config_json_string(c);
                if (!connector)
                        return config_error(ret_error, source, "$.connector", "must be a string");
                if (streq(connector, "local")) {
                        r = config_check_keys(doc, local_keys, source, "$", ret_error);
                        if (r >= 0)
                                r = parse_local(doc, source, &summary, ret_error);
                } else if (streq(connector, "ssh")) {
                        r = config_check_keys(doc, ssh_keys, source, "$", ret_error);
                        if (r >= 0)
                                r = parse_ssh(doc, source, copy, &summary, ret_error);
                } else if (streq(connector, "azure")) {
                        r = config_check_keys(doc, azure_keys, source, "$", ret_error);
                        if (r >= 0)
                                r = parse_azure(doc, source, copy, &summary, ret_error);
                } else
                        return config_error(ret_error, source, "$.connector",
                                            "unknown connector '%s' (known: local, ssh, azure)", connector);
        }
        if (r < 0)
                return r;
        r = get_string(doc, "description", false, source, &description, ret_error);
        if (r < 0)
                return r;
        if (json_object_get(doc, "lock") && !json_is_boolean(json_object_get(doc, "lock")))
                return config_error(ret_error, source, "$.lock", "must be true or false (true: one session at a time "
                                    "runs steps on this target)");
        r = change_windows_check(doc, source, ret_error);
        if (r < 0)
                return r;

        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->name = strdup(name);
        t->connector = strdup(connector);
        t->file = strdup(source);
        t->description = description ? strdup(description) : TAKE_PTR(summary);
        if (!t->name || !t->connector || !t->file || !t->description)
                return -ENOMEM;
        t->config = TAKE_PTR(copy);
        *ret = TAKE_PTR(t);
        return 0;
}

static int target_new_local(Target **ret) {
        _cleanup_(target_freep) Target *t = NULL;

        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->name = strdup("local");
        t->connector = strdup("local");
        t->description = strdup("this host");
        t->config = json_pack("{s:s}", "connector", "local");
        if (!t->name || !t->connector || !t->description || !t->config)
                return -ENOMEM;
        *ret = TAKE_PTR(t);
        return 0;
}

/* A ConfigLoadFunc */
static int target_load_item(const char *path, const char *name, void **ret, char **ret_error) {
        _cleanup_(json_decrefp) json_t *doc = NULL;
        Target *t = NULL;
        int r;

        if (streq(name, "local"))
                return config_error(ret_error, path, "$", "'local' is built in and cannot be defined by a file");
        r = config_json_load_file(path, TARGET_FILE_SIZE_MAX, &doc, ret_error);
        if (r < 0)
                return r;
        r = target_from_json(doc, name, path, &t, ret_error);
        *ret = t;
        return r;
}

TargetCatalog *target_catalog_free(TargetCatalog *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_targets; i++)
                target_free(c->targets[i]);
        free(c->targets);
        config_broken_free_many(c->broken, c->n_broken);
        free(c);
        return NULL;
}

int target_catalog_load(const char *vendor_dir, const char *config_dir, TargetCatalog **ret) {
        _cleanup_(target_catalog_freep) TargetCatalog *c = NULL;
        _cleanup_(target_freep) Target *local = NULL;
        size_t i = 0;
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        r = config_dir_load(vendor_dir, config_dir, "targets", "target", target_load_item,
                            (void ***) &c->targets, &c->n_targets, &c->broken, &c->n_broken);
        if (r < 0)
                return r;

        /* The built-in "local" goes in at its place (no file defines it): there is room for it. */
        r = target_new_local(&local);
        if (r < 0)
                return r;
        while (i < c->n_targets && strcmp(c->targets[i]->name, "local") < 0)
                i++;
        memmove(c->targets + i + 1, c->targets + i, (c->n_targets - i) * sizeof(Target *));
        c->targets[i] = TAKE_PTR(local);
        c->n_targets++;
        *ret = TAKE_PTR(c);
        return 0;
}

/* config_find_by_name() reads the name as the first member */
_Static_assert(offsetof(Target, name) == 0, "Target.name must come first");

bool target_is_locked(const Target *t) {
        return t && t->config && json_is_true(json_object_get(t->config, "lock"));
}

const Target *target_catalog_find(const TargetCatalog *c, const char *name) {
        return config_find_by_name((void *const *) c->targets, c->n_targets, name);
}

const TargetBroken *target_catalog_find_broken(const TargetCatalog *c, const char *name) {
        return config_broken_find(c->broken, c->n_broken, name);
}
