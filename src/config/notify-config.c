/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* notify-config.c: "notify" and "console_url" of runbookd.json (see notify-config.h).
 *
 *   "console_url": "https://ops.example.com:9090/runbookd",
 *   "notify": [
 *     {"name": "chat", "webhook": "cred:chat-url", "headers": {"Authorization": "cred:chat-token"},
 *      "events": ["approval_needed", "break_glass"], "runbooks": ["db-*"], "ca_file": "/etc/...",
 *      "timeout": 10, "max_age": 86400, "max_pending": 10000},
 *     {"name": "mail", "exec": "/usr/local/bin/notify-mail", "args": ["--to", "oncall"],
 *      "user": "nobody", "events": [...]}
 *   ]
 *
 * What a caller gives never gets here: the file is the administrator's (config_check_trusted()),
 * and a program to run must be too. Secrets (a webhook URL with a token in it, an Authorization
 * header) come from credentials and are never logged. */
#include <fnmatch.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "config/config-util.h"
#include "config/notify-config.h"

static const char *const event_table[_NOTIFY_EVENT_MAX] = {
        [NOTIFY_APPROVAL_NEEDED] = "approval_needed",
        [NOTIFY_APPROVAL_REMINDER] = "approval_reminder",
        [NOTIFY_APPROVAL_EXPIRED] = "approval_expired",
        [NOTIFY_STEP_FAILED] = "step_failed",
        [NOTIFY_SESSION_FINISHED] = "session_finished",
        [NOTIFY_BREAK_GLASS] = "break_glass",
        [NOTIFY_REVIEW_NEEDED] = "review_needed",
};

#define EVENTS_ALLOWED "approval_needed, approval_reminder, approval_expired, step_failed, session_finished, " \
        "break_glass, review_needed"

const char *notify_event_to_string(NotifyEvent e) {
        return e >= 0 && e < _NOTIFY_EVENT_MAX ? event_table[e] : NULL;
}

NotifyEvent notify_event_from_string(const char *s) {
        for (int i = 0; s && i < _NOTIFY_EVENT_MAX; i++)
                if (streq(s, event_table[i]))
                        return (NotifyEvent) i;
        return _NOTIFY_EVENT_INVALID;
}

/* A JSON path for a message (built from indexes and fixed keys: it fits; cut if not). */
static const char *pathf(char *buf, size_t size, const char *fmt, ...) _printf_(3, 4);
static const char *pathf(char *buf, size_t size, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(buf, size, fmt, ap);
        va_end(ap);
        return buf;
}

static void sink_done(NotifySink *k) {
        free(k->name);
        wipe_free(k->url, k->url_len);
        for (size_t i = 0; k->headers && k->headers[i]; i++)
                wipe_free(k->headers[i], k->header_lens[i]);
        free(k->headers);
        free(k->header_lens);
        free(k->ca_file);
        strv_free(k->argv);
        free(k->user);
        strv_free(k->runbooks);
}

NotifyConfig *notify_config_free(NotifyConfig *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_sinks; i++)
                sink_done(&c->sinks[i]);
        free(c->sinks);
        free(c->console_url);
        json_decref(c->doc);
        free(c);
        return NULL;
}

/* An HTTP header name: an RFC 9110 token. */
static bool header_name_ok(const char *s) {
        if (!s || !*s || strlen(s) > 64)
                return false;
        for (const char *p = s; *p; p++)
                if (!strchr("!#$%&'*+-.^_`|~", *p) && !(*p >= '0' && *p <= '9') && !(*p >= 'a' && *p <= 'z') &&
                    !(*p >= 'A' && *p <= 'Z'))
                        return false;
        return true;
}

/* Header values and URLs: printable ASCII or UTF-8, no control character (no CR or LF: a
 * credential cannot add a header or a request). */
static bool no_controls(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

static bool url_ok(const char *s, size_t n) {
        if (!no_controls(s, n) || memchr(s, ' ', n))
                return false;
        if (n > 8 && strncasecmp(s, "https://", 8) == 0)
                return true;
        return n > 7 && strncasecmp(s, "http://", 7) == 0;
}

/* A value that may be "cred:NAME": the credential's content (a single trailing newline dropped),
 * else a copy. */
static int value_or_credential(const char *v, char **ret, size_t *ret_len, bool *ret_secret, const char *source,
                               const char *path, char **ret_error) {
        _cleanup_free_ char *e = NULL;
        char *buf;
        size_t n;
        int r;

        if (strncmp(v, "cred:", 5) != 0) {
                buf = strdup(v);
                if (!buf)
                        return -ENOMEM;
                *ret = buf;
                *ret_len = strlen(buf);
                if (ret_secret)
                        *ret_secret = false;
                return 0;
        }
        r = config_read_credential(v, &buf, &n, &e);
        if (r < 0)
                return config_error(ret_error, source, path, "%s", e ?: strerror(-r)) == -ENOMEM ? -ENOMEM : r;
        if (n > 0 && buf[n - 1] == '\n')
                buf[--n] = 0;
        if (memchr(buf, 0, n) || n == 0) {
                wipe_free(buf, n);
                return config_error(ret_error, source, path, "credential '%s' %s", v + 5,
                                    n == 0 ? "is empty" : "holds a NUL byte");
        }
        *ret = buf;
        *ret_len = n;
        if (ret_secret)
                *ret_secret = true;
        return 0;
}

static int seconds(json_t *v, long long min, long long max, usec_t *ret, const char *source, const char *path,
                   char **ret_error) {
        if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
                return config_error(ret_error, source, path, "must be an integer from %lld to %lld (seconds)", min, max);
        *ret = (usec_t) json_integer_value(v) * USEC_PER_SEC;
        return 0;
}

static int parse_headers(NotifySink *k, json_t *h, const char *source, const char *path, char **ret_error) {
        static const char *const reserved[] = { "host", "content-length", "content-type", "transfer-encoding",
                                                "connection", "runbookd-event-id", "runbookd-event", "expect", NULL };
        const char *name;
        json_t *v;
        size_t n = 0;

        if (!json_is_object(h))
                return config_error(ret_error, source, path, "must be an object of header names and values");
        k->headers = calloc(json_object_size(h) + 1, sizeof(char *));
        k->header_lens = calloc(json_object_size(h) + 1, sizeof(size_t));
        if (!k->headers || !k->header_lens)
                return -ENOMEM;
        json_object_foreach(h, name, v) {
                _cleanup_free_ char *p = config_path_key(path, name);
                char *val = NULL, *line = NULL;
                size_t len;
                int r;

                if (!p)
                        return -ENOMEM;
                if (!header_name_ok(name))
                        return config_error(ret_error, source, p, "not a header name (letters, digits and !#$%%&'*+-.^_`|~)");
                for (size_t i = 0; reserved[i]; i++)
                        if (strcasecmp(name, reserved[i]) == 0)
                                return config_error(ret_error, source, p, "runbookd sets this header itself");
                if (!config_json_string(v))
                        return config_error(ret_error, source, p, "must be a string (or \"cred:NAME\")");
                r = value_or_credential(json_string_value(v), &val, &len, NULL, source, p, ret_error);
                if (r < 0)
                        return r;
                if (!no_controls(val, len)) {
                        wipe_free(val, len);
                        return config_error(ret_error, source, p, "holds a control character (CR, LF, ...)");
                }
                r = asprintf_safe(&line, "%s: %s", name, val);
                wipe_free(val, len);
                if (r < 0)
                        return -ENOMEM;
                k->headers[n] = line;
                k->header_lens[n++] = strlen(line);
        }
        return 0;
}

static int parse_events(NotifySink *k, json_t *ev, const char *source, const char *path, char **ret_error) {
        size_t i;
        json_t *v;

        if (!json_is_array(ev) || json_array_size(ev) == 0)
                return config_error(ret_error, source, path, "must be a non-empty array of event names (" EVENTS_ALLOWED ")");
        k->events = 0;
        json_array_foreach(ev, i, v) {
                NotifyEvent e = notify_event_from_string(config_json_string(v));
                if (e < 0) {
                        char p[JSON_PATH_MAX];
                        (void) pathf(p, sizeof p, "%s[%zu]", path, i);
                        return config_error(ret_error, source, p, "not an event (allowed: " EVENTS_ALLOWED ")");
                }
                k->events |= 1u << e;
        }
        return 0;
}

static int parse_strings(char ***ret, json_t *arr, bool nonempty, const char *what, const char *source,
                         const char *path, char **ret_error) {
        size_t i;
        json_t *v;

        if (!json_is_array(arr) || (nonempty && json_array_size(arr) == 0) || json_array_size(arr) > 64)
                return config_error(ret_error, source, path, "must be an array of %s%s (at most 64)",
                                    nonempty ? "one or more " : "", what);
        json_array_foreach(arr, i, v) {
                const char *s = config_json_string(v);
                if (!s || !*s || strlen(s) > 4096 || !no_controls(s, strlen(s))) {
                        char p[JSON_PATH_MAX];
                        (void) pathf(p, sizeof p, "%s[%zu]", path, i);
                        return config_error(ret_error, source, p, "must be a non-empty string without control characters");
                }
                if (strv_extend(ret, s) < 0)
                        return -ENOMEM;
        }
        if (!*ret && !(*ret = calloc(1, sizeof(char *))))
                return -ENOMEM;
        return 0;
}

static int parse_exec_user(NotifySink *k, json_t *u, const char *source, const char *path, char **ret_error) {
        const char *name = config_json_string(u);
        struct passwd *pw;

        if (u && !name)
                return config_error(ret_error, source, path, "must be a user name");
        if (geteuid() != 0) {
                /* runbookd unprivileged (the installed service): the program runs as a unit of PID 1
                 * with a dynamic user of its own; without systemd, it could only run as runbookd,
                 * with runbookd's credentials and store, which a program reading what callers
                 * wrote must not have */
                if (sd_booted() <= 0)
                        return config_error(ret_error, source, path, "runbookd runs unprivileged (uid %u) where systemd "
                                            "is not PID 1: a notification program would run with runbookd's own "
                                            "authority (its credentials, its store): use a webhook", (unsigned) geteuid());
                if (name)
                        return config_error(ret_error, source, path, "runbookd runs unprivileged: the program runs as a "
                                            "dynamic user of its own (DynamicUser=yes); leave \"user\" out");
                k->user = NULL;
                k->uid = k->gid = UID_INVALID;
                return 0;
        }
        {
                errno = 0;
                pw = getpwnam(name ?: "nobody");
                if (!pw)
                        return config_error(ret_error, source, path, "user '%s' does not exist on this host",
                                            name ?: "nobody");
                if (pw->pw_uid == 0 || pw->pw_gid == 0)
                        return config_error(ret_error, source, path, "the program must run as an unprivileged user, not '%s'"
                                            "%s", pw->pw_name, pw->pw_uid == 0 ? "" : " (its primary group is root's)");
        }
        k->uid = pw->pw_uid;
        k->gid = pw->pw_gid;
        k->user = strdup(pw->pw_name);
        return k->user ? 0 : -ENOMEM;
}

static int parse_sink(NotifySink *k, size_t idx, json_t *o, const char *source, char **ret_error) {
        static const char *const allowed[] = { "name", "webhook", "exec", "args", "user", "headers", "ca_file", "events",
                                               "runbooks", "max_age", "timeout", "max_pending", NULL };
        char path[JSON_PATH_MAX], p[JSON_PATH_MAX];
        json_t *w, *x, *v;
        int r;

        (void) pathf(path, sizeof path, "$.notify[%zu]", idx);
        if (!json_is_object(o))
                return config_error(ret_error, source, path, "must be an object with \"webhook\" or \"exec\"");
        r = config_check_keys(o, allowed, source, path, ret_error);
        if (r < 0)
                return r;
        w = json_object_get(o, "webhook");
        x = json_object_get(o, "exec");
        if (!!w == !!x)
                return config_error(ret_error, source, path, "needs exactly one of \"webhook\" (a URL) and \"exec\" (a program)");
        k->kind = w ? NOTIFY_SINK_WEBHOOK : NOTIFY_SINK_EXEC;

        v = json_object_get(o, "name");
        if (v) {
                (void) pathf(p, sizeof p, "%s.name", path);
                if (!config_name_is_valid(config_json_string(v)))
                        return config_error(ret_error, source, p, "must be a name of [A-Za-z0-9_.@-], 1 to 128 characters");
                k->name = strdup(json_string_value(v));
        } else
                r = asprintf_safe(&k->name, "%s-%zu", w ? "webhook" : "exec", idx + 1);
        if (!k->name)
                return -ENOMEM;

        if (w) {
                bool secret;
                (void) pathf(p, sizeof p, "%s.webhook", path);
                if (!config_json_string(w))
                        return config_error(ret_error, source, p, "must be an http:// or https:// URL (or \"cred:NAME\")");
                r = value_or_credential(json_string_value(w), &k->url, &k->url_len, &secret, source, p, ret_error);
                if (r < 0)
                        return r;
                if (!url_ok(k->url, k->url_len))
                        /* never the URL itself: it may hold a token */
                        return config_error(ret_error, source, p, "%s is not an http:// or https:// URL without spaces "
                                            "and control characters", secret ? "the credential" : "the value");
                v = json_object_get(o, "headers");
                if (v) {
                        (void) pathf(p, sizeof p, "%s.headers", path);
                        r = parse_headers(k, v, source, p, ret_error);
                        if (r < 0)
                                return r;
                }
                v = json_object_get(o, "ca_file");
                if (v) {
                        (void) pathf(p, sizeof p, "%s.ca_file", path);
                        if (!config_json_string(v) || json_string_value(v)[0] != '/')
                                return config_error(ret_error, source, p, "must be an absolute path (a PEM bundle)");
                        if (access(json_string_value(v), R_OK) < 0)
                                return config_error(ret_error, source, p, "cannot read %s: %m", json_string_value(v));
                        k->ca_file = strdup(json_string_value(v));
                        if (!k->ca_file)
                                return -ENOMEM;
                }
                if (json_object_get(o, "args") || json_object_get(o, "user"))
                        return config_error(ret_error, source, path, "\"args\" and \"user\" are for \"exec\", not a webhook");
                k->timeout_usec = NOTIFY_WEBHOOK_TIMEOUT_DEFAULT_USEC;
        } else {
                const char *prog = config_json_string(x);
                struct stat st;

                (void) pathf(p, sizeof p, "%s.exec", path);
                if (!prog || prog[0] != '/')
                        return config_error(ret_error, source, p, "must be the absolute path of a program");
                if (stat(prog, &st) < 0)
                        return config_error(ret_error, source, p, "%s: %m", prog);
                if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
                        return config_error(ret_error, source, p, "%s is not an executable file", prog);
                /* runbookd runs it: it must be as trusted as runbookd.json */
                _cleanup_free_ char *why = NULL;
                r = config_check_trusted(prog, &st, &why);
                if (r < 0)
                        return config_error(ret_error, source, p, "%s", why ?: strerror(-r));
                if (strv_extend(&k->argv, prog) < 0)
                        return -ENOMEM;
                v = json_object_get(o, "args");
                if (v) {
                        (void) pathf(p, sizeof p, "%s.args", path);
                        r = parse_strings(&k->argv, v, false, "strings", source, p, ret_error);
                        if (r < 0)
                                return r;
                }
                (void) pathf(p, sizeof p, "%s.user", path);
                r = parse_exec_user(k, json_object_get(o, "user"), source, p, ret_error);
                if (r < 0)
                        return r;
                if (json_object_get(o, "headers") || json_object_get(o, "ca_file"))
                        return config_error(ret_error, source, path, "\"headers\" and \"ca_file\" are for a webhook, not \"exec\"");
                k->timeout_usec = NOTIFY_EXEC_TIMEOUT_DEFAULT_USEC;
        }

        k->events = (1u << _NOTIFY_EVENT_MAX) - 1;
        v = json_object_get(o, "events");
        if (v) {
                (void) pathf(p, sizeof p, "%s.events", path);
                r = parse_events(k, v, source, p, ret_error);
                if (r < 0)
                        return r;
        }
        v = json_object_get(o, "runbooks");
        if (v) {
                (void) pathf(p, sizeof p, "%s.runbooks", path);
                r = parse_strings(&k->runbooks, v, true, "runbook names or patterns", source, p, ret_error);
                if (r < 0)
                        return r;
        }
        k->max_age_usec = NOTIFY_MAX_AGE_DEFAULT_USEC;
        v = json_object_get(o, "max_age");
        if (v) {
                (void) pathf(p, sizeof p, "%s.max_age", path);
                r = seconds(v, 1, NOTIFY_MAX_AGE_MAX_SEC, &k->max_age_usec, source, p, ret_error);
                if (r < 0)
                        return r;
        }
        v = json_object_get(o, "timeout");
        if (v) {
                (void) pathf(p, sizeof p, "%s.timeout", path);
                r = seconds(v, 1, NOTIFY_TIMEOUT_MAX_SEC, &k->timeout_usec, source, p, ret_error);
                if (r < 0)
                        return r;
        }
        k->max_pending = NOTIFY_MAX_PENDING_DEFAULT;
        v = json_object_get(o, "max_pending");
        if (v) {
                (void) pathf(p, sizeof p, "%s.max_pending", path);
                if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > NOTIFY_MAX_PENDING_MAX)
                        return config_error(ret_error, source, p, "must be an integer from 1 to %d", NOTIFY_MAX_PENDING_MAX);
                k->max_pending = (unsigned) json_integer_value(v);
        }
        return 0;
}

int notify_config_parse(json_t *notify, json_t *console_url, const char *source, NotifyConfig **ret, char **ret_error) {
        _cleanup_(notify_config_freep) NotifyConfig *c = NULL;
        size_t i;
        json_t *v;
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        if (console_url) {
                const char *u = config_json_string(console_url);
                if (!u || !url_ok(u, strlen(u)))
                        return config_error(ret_error, source, "$.console_url",
                                            "must be an http:// or https:// URL (e.g. the Cockpit page, "
                                            "https://HOST:9090/runbookd)");
                c->console_url = strdup(u);
                if (!c->console_url)
                        return -ENOMEM;
        }
        if (notify) {
                if (!json_is_array(notify) || json_array_size(notify) > NOTIFY_SINKS_MAX)
                        return config_error(ret_error, source, "$.notify", "must be an array of at most %d sinks "
                                            "({\"webhook\": URL, ...} or {\"exec\": PROGRAM, ...})", NOTIFY_SINKS_MAX);
                c->sinks = calloc(MAX(json_array_size(notify), (size_t) 1), sizeof(NotifySink));
                if (!c->sinks)
                        return -ENOMEM;
                json_array_foreach(notify, i, v) {
                        c->n_sinks++;
                        r = parse_sink(&c->sinks[i], i, v, source, ret_error);
                        if (r < 0)
                                return r;
                        for (size_t j = 0; j < i; j++)
                                if (streq(c->sinks[j].name, c->sinks[i].name)) {
                                        char p[JSON_PATH_MAX];
                                        (void) pathf(p, sizeof p, "$.notify[%zu]", i);
                                        return config_error(ret_error, source, p, "a second sink named '%s' (give each "
                                                            "its own \"name\")", c->sinks[i].name);
                                }
                }
        }
        c->doc = json_incref(notify);
        *ret = TAKE_PTR(c);
        return 0;
}

static bool runbook_matches(char **patterns, const char *runbook) {
        if (!patterns)
                return true;
        for (size_t i = 0; patterns[i]; i++)
                if (fnmatch(patterns[i], runbook, 0) == 0)
                        return true;
        return false;
}

json_t *notify_config_route(const NotifyConfig *c, NotifyEvent event, const char *runbook) {
        json_t *a = NULL;

        if (!c || event < 0 || event >= _NOTIFY_EVENT_MAX)
                return NULL;
        for (size_t i = 0; i < c->n_sinks; i++) {
                const NotifySink *k = &c->sinks[i];
                if (!(k->events & (1u << event)) || !runbook_matches(k->runbooks, strempty(runbook)))
                        continue;
                if (!a && !(a = json_array()))
                        return NULL;
                if (json_array_append_new(a, json_string(k->name)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

const NotifySink *notify_config_find(const NotifyConfig *c, const char *name) {
        for (size_t i = 0; c && name && i < c->n_sinks; i++)
                if (streq(c->sinks[i].name, name))
                        return &c->sinks[i];
        return NULL;
}

char *notify_config_session_url(const NotifyConfig *c, uint32_t id) {
        const char *at;
        char *u = NULL;

        if (!c || !c->console_url)
                return NULL;
        at = strstr(c->console_url, "{session}");
        if (at)
                (void) asprintf_safe(&u, "%.*s%" PRIu32 "%s", (int) (at - c->console_url), c->console_url, id,
                                     at + strlen("{session}"));
        else
                (void) asprintf_safe(&u, "%s#/session/%" PRIu32, c->console_url, id);
        return u;
}
