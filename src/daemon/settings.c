/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* settings.c: <config-dir>/runbookd.json, the daemon's settings. */
#include <stdio.h>
#include <sys/stat.h>

#include "config/config-util.h"
#include "config/runbook.h"
#include "config/window.h"
#include "connector/connector.h"
#include "connector/output.h"
#include "daemon/settings.h"
#include "shared/log.h"

#define OUTPUT_CAP_MIN 1024
#define OUTPUT_CAP_MAX (64 * 1024 * 1024)
#define RETENTION_MAX_AGE_DAYS_MAX 36500        /* a hundred years */
#define RETENTION_MAX_SESSIONS_MAX 100000000

/* "retention": {"max_age_days": N, "max_sessions": N}, either or both. */
static int parse_retention(json_t *v, const char *path, EngineConfig *c, char **ret_error) {
        const char *key;
        json_t *x;

        if (!json_is_object(v)) {
                (void) asprintf_safe(ret_error, "%s: $.retention: must be an object, e.g. "
                                     "{\"max_age_days\": 90, \"max_sessions\": 10000}", path);
                return -EINVAL;
        }
        json_object_foreach(v, key, x) {
                if (streq(key, "max_age_days")) {
                        if (!json_is_integer(x) || json_integer_value(x) < 1 ||
                            json_integer_value(x) > RETENTION_MAX_AGE_DAYS_MAX) {
                                (void) asprintf_safe(ret_error, "%s: $.retention.max_age_days: must be an integer from 1 "
                                                     "to %d (days; leave it out to keep sessions whatever their age)",
                                                     path, RETENTION_MAX_AGE_DAYS_MAX);
                                return -EINVAL;
                        }
                        c->retention_max_age_days = (unsigned) json_integer_value(x);
                } else if (streq(key, "max_sessions")) {
                        if (!json_is_integer(x) || json_integer_value(x) < 1 ||
                            json_integer_value(x) > RETENTION_MAX_SESSIONS_MAX) {
                                (void) asprintf_safe(ret_error, "%s: $.retention.max_sessions: must be an integer from 1 "
                                                     "to %d (finished sessions kept; leave it out for no limit)",
                                                     path, RETENTION_MAX_SESSIONS_MAX);
                                return -EINVAL;
                        }
                        c->retention_max_sessions = (unsigned) json_integer_value(x);
                } else {
                        (void) asprintf_safe(ret_error, "%s: $.retention.%s: unknown key (allowed: max_age_days, "
                                             "max_sessions)", path, key);
                        return -EINVAL;
                }
        }
        return 0;
}

/* <config-dir>/runbookd.json: daemon settings; absent means the defaults. */
int settings_load(const char *config_dir, EngineConfig *c, NotifyConfig **ret_notify, char **ret_error) {
        _cleanup_(json_decrefp) json_t *doc = NULL;
        json_t *notify = NULL, *console_url = NULL, *freeze = NULL;
        _cleanup_free_ char *path = NULL;
        json_error_t jerr;
        const char *key;
        json_t *v;

        *c = (EngineConfig) {
                .allow_self_approval = false,
                .output_cap = OUTPUT_CAP_DEFAULT,
                .max_active_sessions = ENGINE_MAX_ACTIVE_DEFAULT,
                .max_active_sessions_per_user = ENGINE_MAX_ACTIVE_PER_USER_DEFAULT,
                .local_steps = LOCAL_STEPS_AUTO,
                .ssh_max_idle_connections = SSH_MAX_IDLE_CONNECTIONS_DEFAULT,
        };
        if (asprintf_safe(&path, "%s/runbookd.json", config_dir) < 0)
                return -ENOMEM;
        struct stat st;
        if (stat(path, &st) < 0) {
                if (errno != ENOENT)
                        return negative_errno();
                return notify_config_parse(NULL, NULL, path, ret_notify, ret_error);
        }
        int r = config_check_trusted(path, &st, ret_error);
        if (r < 0)
                return r;
        doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!doc) {
                (void) asprintf_safe(ret_error, "%s: line %d column %d: %s", path, jerr.line, jerr.column, jerr.text);
                return -EINVAL;
        }
        if (!json_is_object(doc)) {
                (void) asprintf_safe(ret_error, "%s: $: must be an object", path);
                return -EINVAL;
        }
        json_object_foreach(doc, key, v) {
                if (streq(key, "allow_self_approval")) {
                        if (!json_is_boolean(v))
                                goto type;
                        c->allow_self_approval = json_is_true(v);
                } else if (streq(key, "allow_unattended_root_approval")) {
                        if (!json_is_boolean(v))
                                goto type;
                        c->allow_unattended_root_approval = json_is_true(v);
                } else if (streq(key, "output_cap")) {
                        if (!json_is_integer(v) || json_integer_value(v) < OUTPUT_CAP_MIN ||
                            json_integer_value(v) > OUTPUT_CAP_MAX) {
                                (void) asprintf_safe(ret_error, "%s: $.output_cap: must be an integer from %d to %d (bytes)",
                                                     path, OUTPUT_CAP_MIN, OUTPUT_CAP_MAX);
                                return -EINVAL;
                        }
                        c->output_cap = (size_t) json_integer_value(v);
                } else if (streq(key, "max_active_sessions")) {
                        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000000) {
                                (void) asprintf_safe(ret_error, "%s: $.max_active_sessions: must be an integer from 1 to 1000000",
                                                     path);
                                return -EINVAL;
                        }
                        c->max_active_sessions = (unsigned) json_integer_value(v);
                } else if (streq(key, "max_active_sessions_per_user")) {
                        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000000) {
                                (void) asprintf_safe(ret_error,
                                                     "%s: $.max_active_sessions_per_user: must be an integer from 1 to 1000000",
                                                     path);
                                return -EINVAL;
                        }
                        c->max_active_sessions_per_user = (unsigned) json_integer_value(v);
                } else if (streq(key, "approval_timeout") || streq(key, "remind_before") ||
                           streq(key, "approval_valid_for")) {
                        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                            json_integer_value(v) > APPROVAL_TIMEOUT_MAX_SEC) {
                                (void) asprintf_safe(ret_error, "%s: $.%s: must be an integer from 0 to %d (seconds; 0: none)",
                                                     path, key, APPROVAL_TIMEOUT_MAX_SEC);
                                return -EINVAL;
                        }
                        *(streq(key, "approval_timeout") ? &c->approval_timeout_usec :
                          streq(key, "remind_before") ? &c->remind_before_usec : &c->approval_valid_for_usec) =
                                (usec_t) json_integer_value(v) * USEC_PER_SEC;
                } else if (streq(key, "local_steps")) {
                        LocalStepMode mode = local_step_mode_from_string(json_string_value(v));
                        if (mode < 0) {
                                (void) asprintf_safe(ret_error,
                                                     "%s: $.local_steps: must be \"auto\" (as systemd units where "
                                                     "systemd is PID 1), \"units\" or \"direct\"", path);
                                return -EINVAL;
                        }
                        c->local_steps = mode;
                } else if (streq(key, "ssh_max_idle_connections")) {
                        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                            json_integer_value(v) > SSH_MAX_IDLE_CONNECTIONS_MAX) {
                                (void) asprintf_safe(ret_error, "%s: $.ssh_max_idle_connections: must be an integer from 0 "
                                                     "to %d (ssh connections kept open between steps, over all hosts; "
                                                     "0: none)", path, SSH_MAX_IDLE_CONNECTIONS_MAX);
                                return -EINVAL;
                        }
                        c->ssh_max_idle_connections = (unsigned) json_integer_value(v);
                } else if (streq(key, "retention")) {
                        r = parse_retention(v, path, c, ret_error);
                        if (r < 0)
                                return r;
                } else if (streq(key, "notify"))
                        notify = v;
                else if (streq(key, "console_url"))
                        console_url = v;
                else if (streq(key, "freeze"))
                        freeze = v;
                else {
                        (void) asprintf_safe(ret_error,
                                             "%s: $.%s: unknown key (allowed: allow_self_approval, "
                                             "allow_unattended_root_approval, output_cap, max_active_sessions, "
                                             "max_active_sessions_per_user, local_steps, approval_timeout, remind_before, approval_valid_for, "
                                             "ssh_max_idle_connections, retention, notify, console_url, freeze)",
                                             path, key);
                        return -EINVAL;
                }
                continue;
        type:
                (void) asprintf_safe(ret_error, "%s: $.%s: must be true or false", path, key);
                return -EINVAL;
        }
        if (c->remind_before_usec > 0 && c->remind_before_usec >= c->approval_timeout_usec) {
                (void) asprintf_safe(ret_error, "%s: $.remind_before: %s", path, c->approval_timeout_usec == 0 ?
                                     "is set, but there is no \"approval_timeout\" to remind before" :
                                     "must be shorter than \"approval_timeout\"");
                return -EINVAL;
        }
        r = notify_config_parse(notify, console_url, path, ret_notify, ret_error);
        if (r < 0)
                return r;
        if (freeze) {
                ChangeFreeze *f = NULL;
                r = change_freezes_parse(freeze, path, "$.freeze", &f, &c->n_freeze, ret_error);
                if (r < 0) {
                        *ret_notify = notify_config_free(*ret_notify);
                        return r;
                }
                c->freeze = f;
        }
        return 0;
}
