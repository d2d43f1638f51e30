/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* unit-props.c: the allow-list of a local target's "unit_properties" (unit-props.h). Only settings
 * that limit or confine a step: none may widen what it can do, run something else, or change who
 * it runs as (that is the target's "user"). */
#include <stdio.h>

#include "config/config-util.h"
#include "config/unit-props.h"

#define UNIT_PATHS_MAX 64
#define UNIT_PATH_MAX 4096

static const char *const protect_system_words[] = { "no", "yes", "full", "strict", NULL };
static const char *const protect_home_words[] = { "no", "yes", "read-only", "tmpfs", NULL };

static const UnitPropInfo unit_props[] = {
        { "MemoryMax", "MemoryMax", UNIT_PROP_BYTES, NULL },
        { "MemoryHigh", "MemoryHigh", UNIT_PROP_BYTES, NULL },
        { "MemorySwapMax", "MemorySwapMax", UNIT_PROP_BYTES, NULL },
        { "TasksMax", "TasksMax", UNIT_PROP_COUNT, NULL },
        { "CPUQuota", "CPUQuotaPerSecUSec", UNIT_PROP_PERCENT, NULL },
        { "CPUWeight", "CPUWeight", UNIT_PROP_WEIGHT, NULL },
        { "IOWeight", "IOWeight", UNIT_PROP_WEIGHT, NULL },
        { "Nice", "Nice", UNIT_PROP_NICE, NULL },
        { "ProtectSystem", "ProtectSystem", UNIT_PROP_ENUM, protect_system_words },
        { "ProtectHome", "ProtectHome", UNIT_PROP_ENUM, protect_home_words },
        { "PrivateTmp", "PrivateTmp", UNIT_PROP_BOOL, NULL },
        { "PrivateDevices", "PrivateDevices", UNIT_PROP_BOOL, NULL },
        { "PrivateNetwork", "PrivateNetwork", UNIT_PROP_BOOL, NULL },
        { "NoNewPrivileges", "NoNewPrivileges", UNIT_PROP_BOOL, NULL },
        { "ProtectKernelTunables", "ProtectKernelTunables", UNIT_PROP_BOOL, NULL },
        { "ProtectKernelModules", "ProtectKernelModules", UNIT_PROP_BOOL, NULL },
        { "ProtectKernelLogs", "ProtectKernelLogs", UNIT_PROP_BOOL, NULL },
        { "ProtectControlGroups", "ProtectControlGroups", UNIT_PROP_BOOL, NULL },
        { "ProtectClock", "ProtectClock", UNIT_PROP_BOOL, NULL },
        { "ProtectHostname", "ProtectHostname", UNIT_PROP_BOOL, NULL },
        { "RestrictSUIDSGID", "RestrictSUIDSGID", UNIT_PROP_BOOL, NULL },
        { "RestrictRealtime", "RestrictRealtime", UNIT_PROP_BOOL, NULL },
        { "LockPersonality", "LockPersonality", UNIT_PROP_BOOL, NULL },
        { "MemoryDenyWriteExecute", "MemoryDenyWriteExecute", UNIT_PROP_BOOL, NULL },
        { "ReadOnlyPaths", "ReadOnlyPaths", UNIT_PROP_PATHS, NULL },
        { "ReadWritePaths", "ReadWritePaths", UNIT_PROP_PATHS, NULL },
        { "InaccessiblePaths", "InaccessiblePaths", UNIT_PROP_PATHS, NULL },
        { "WorkingDirectory", "WorkingDirectory", UNIT_PROP_PATH, NULL },
};

const UnitPropInfo *unit_prop_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(unit_props); i++)
                if (streq(unit_props[i].name, name))
                        return &unit_props[i];
        return NULL;
}

const char *unit_props_allowed(void) {
        static char buf[1024];

        if (!buf[0]) {
                size_t n = 0;
                for (size_t i = 0; i < ELEMENTSOF(unit_props) && n < sizeof buf; i++)
                        n += (size_t) snprintf(buf + n, sizeof buf - n, "%s%s", i > 0 ? ", " : "", unit_props[i].name);
        }
        return buf;
}

/* "512M", "1G", "4096" (K, M, G, T: powers of 1024, as systemd reads them) -> bytes; false if not
 * one of those or it overflows. */
static bool parse_bytes(const char *s, uint64_t *ret) {
        static const struct { char suffix; unsigned shift; } units[] = {
                { 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 },
        };
        uint64_t v = 0;
        const char *p = s;

        if (!ascii_isdigit(*p))
                return false;
        for (; ascii_isdigit(*p); p++) {
                if (v > (UINT64_MAX - 9) / 10)
                        return false;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        if (*p) {
                bool found = false;
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (*p == units[i].suffix) {
                                if (v > (UINT64_MAX >> units[i].shift))
                                        return false;
                                v <<= units[i].shift;
                                found = true;
                        }
                if (!found || p[1])
                        return false;
        }
        *ret = v;
        return true;
}

/* "N%" with N from 1 to 100000 (a quota of up to 1000 CPUs) -> N. */
static bool parse_percent(const char *s, uint64_t *ret) {
        uint64_t v = 0;
        const char *p = s;

        for (; ascii_isdigit(*p) && p - s < 7; p++)
                v = v * 10 + (uint64_t) (*p - '0');
        if (p == s || !streq(p, "%") || v < 1 || v > 100000)
                return false;
        *ret = v;
        return true;
}

static bool path_is_plain_absolute(const char *s) {
        if (!s || s[0] != '/' || strlen(s) > UNIT_PATH_MAX || !utf8_is_printable_text(s, UNIT_PATH_MAX) ||
            strpbrk(s, " \t\n\\\"'"))
                return false;
        /* no "." or ".." components: the path says plainly what it is */
        for (const char *p = s; (p = strchr(p, '/')); p++)
                if ((p[1] == '.' && (p[2] == '/' || !p[2])) || (p[1] == '.' && p[2] == '.' && (p[3] == '/' || !p[3])))
                        return false;
        return true;
}

int unit_prop_check(const UnitPropInfo *info, json_t *v, const char *source, char **ret_error) {
        char path[JSON_PATH_MAX];
        const char *s = json_string_value(v);
        uint64_t u;

        snprintf(path, sizeof path, "$.unit_properties.%s", info->name);
        switch (info->kind) {
        case UNIT_PROP_BOOL:
                if (!json_is_boolean(v))
                        return config_error(ret_error, source, path, "must be true or false");
                return 0;
        case UNIT_PROP_BYTES:
                if (json_is_integer(v) && json_integer_value(v) >= 1)
                        return 0;
                if (s && (streq(s, "infinity") || (parse_bytes(s, &u) && u >= 1)))
                        return 0;
                return config_error(ret_error, source, path,
                                    "must be a size in bytes: a positive integer, a number with K, M, G or T "
                                    "(1024-based, e.g. \"512M\"), or \"infinity\"");
        case UNIT_PROP_PERCENT:
                if (s && parse_percent(s, &u))
                        return 0;
                return config_error(ret_error, source, path, "must be a percentage from \"1%%\" to \"100000%%\"");
        case UNIT_PROP_WEIGHT:
                if (json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 10000)
                        return 0;
                return config_error(ret_error, source, path, "must be an integer from 1 to 10000");
        case UNIT_PROP_COUNT:
                if ((json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= UINT32_MAX) ||
                    (s && streq(s, "infinity")))
                        return 0;
                return config_error(ret_error, source, path, "must be an integer from 1 to 4294967295 or \"infinity\"");
        case UNIT_PROP_NICE:
                if (json_is_integer(v) && json_integer_value(v) >= -20 && json_integer_value(v) <= 19)
                        return 0;
                return config_error(ret_error, source, path, "must be an integer from -20 to 19");
        case UNIT_PROP_ENUM:
                for (size_t i = 0; s && info->words[i]; i++)
                        if (streq(s, info->words[i]))
                                return 0;
                return config_error(ret_error, source, path, "must be one of \"%s\", \"%s\", \"%s\", \"%s\"",
                                    info->words[0], info->words[1], info->words[2], info->words[3]);
        case UNIT_PROP_PATH:
                if (path_is_plain_absolute(s))
                        return 0;
                return config_error(ret_error, source, path,
                                    "must be an absolute path without spaces, quotes, '.' or '..' components");
        case UNIT_PROP_PATHS: {
                size_t i;
                json_t *p;

                if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > UNIT_PATHS_MAX)
                        return config_error(ret_error, source, path, "must be an array of 1 to %d absolute paths",
                                            UNIT_PATHS_MAX);
                json_array_foreach(v, i, p)
                        if (!path_is_plain_absolute(json_string_value(p)))
                                return config_error(ret_error, source, path,
                                                    "[%zu] must be an absolute path without spaces, quotes, '.' or "
                                                    "'..' components (systemd's '-' and '+' prefixes are not taken)", i);
                return 0;
        }
        }
        return config_error(ret_error, source, path, "unsupported");
}

int unit_props_check(json_t *props, const char *source, char **ret_error) {
        const char *key;
        json_t *v;
        int r;

        if (!props)
                return 0;
        if (!json_is_object(props))
                return config_error(ret_error, source, "$.unit_properties", "must be an object of unit settings");
        json_object_foreach(props, key, v) {
                const UnitPropInfo *info = unit_prop_find(key);
                if (!info)
                        return config_error(ret_error, source, "$.unit_properties",
                                            "'%s' is not one of the unit settings a target may set (allowed: %s)",
                                            key, unit_props_allowed());
                r = unit_prop_check(info, v, source, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

uint64_t unit_prop_u64(const UnitPropInfo *info, json_t *v) {
        const char *s = json_string_value(v);
        uint64_t u = 0;

        if (json_is_integer(v))
                return (uint64_t) json_integer_value(v);
        if (s && streq(s, "infinity"))
                return UINT64_MAX;
        if (info->kind == UNIT_PROP_PERCENT && s && parse_percent(s, &u))
                return u * (USEC_PER_SEC / 100);
        if (s && parse_bytes(s, &u))
                return u;
        return UINT64_MAX;
}
