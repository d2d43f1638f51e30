/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* notify-config.h: "notify" and "console_url" in runbookd.json: where notifications go. A sink is
 * a webhook (an HTTP(S) POST of the event's JSON document) or a program (run as an unprivileged
 * user, the document on its stdin), each for some events and some runbooks. The engine asks which
 * sinks an event goes to (notify_config_route()) when it commits the event to the outbox; the
 * notifier (notify/notifier.c) delivers it. */
#pragma once

#include <jansson.h>
#include <sys/types.h>

#include "shared/util.h"

typedef enum NotifyEvent {
        NOTIFY_APPROVAL_NEEDED,
        NOTIFY_APPROVAL_REMINDER,
        NOTIFY_APPROVAL_EXPIRED,
        NOTIFY_STEP_FAILED,
        NOTIFY_SESSION_FINISHED,
        NOTIFY_BREAK_GLASS,
        NOTIFY_REVIEW_NEEDED,
        _NOTIFY_EVENT_MAX,
        _NOTIFY_EVENT_INVALID = -EINVAL,
} NotifyEvent;

const char *notify_event_to_string(NotifyEvent e);
NotifyEvent notify_event_from_string(const char *s);

typedef enum NotifySinkKind {
        NOTIFY_SINK_WEBHOOK,
        NOTIFY_SINK_EXEC,
} NotifySinkKind;

#define NOTIFY_SINKS_MAX 32
#define NOTIFY_MAX_AGE_DEFAULT_USEC (24ULL * 3600 * USEC_PER_SEC)
#define NOTIFY_MAX_AGE_MAX_SEC (30 * 24 * 3600)
#define NOTIFY_WEBHOOK_TIMEOUT_DEFAULT_USEC (10 * USEC_PER_SEC)
#define NOTIFY_EXEC_TIMEOUT_DEFAULT_USEC (30 * USEC_PER_SEC)
#define NOTIFY_TIMEOUT_MAX_SEC 300
#define NOTIFY_MAX_PENDING_DEFAULT 10000
#define NOTIFY_MAX_PENDING_MAX 1000000

typedef struct NotifySink {
        char *name;               /* "name", else "webhook-N" / "exec-N" (N: its place in the list, from 1) */
        NotifySinkKind kind;
        char *url;                /* webhook: the URL (a credential's content for "cred:NAME"); never logged */
        size_t url_len;
        char **headers;           /* webhook: "Name: value" lines, credentials resolved; never logged */
        size_t *header_lens;
        char *ca_file;            /* webhook: the only CAs trusted (NULL: the system's) */
        char **argv;              /* exec: the program (absolute path) and its "args" */
        char *user;               /* exec: whom it runs as */
        uid_t uid;
        gid_t gid;
        uint32_t events;          /* bit (1 << NotifyEvent) */
        char **runbooks;          /* fnmatch(3) patterns of runbook names; NULL: every runbook */
        usec_t max_age_usec;      /* a notification not delivered by then is given up (journal record) */
        usec_t timeout_usec;      /* one attempt */
        unsigned max_pending;     /* notifications kept for it; the oldest are given up beyond */
} NotifySink;

typedef struct NotifyConfig {
        char *console_url;        /* a session's link: "{session}" replaced, else "#/session/N" appended */
        NotifySink *sinks;
        size_t n_sinks;
        json_t *doc;              /* "notify" as given: which credentials the sinks use (never their values) */
} NotifyConfig;

/* Parses "notify" (an array, may be NULL) and "console_url" (may be NULL) of runbookd.json;
 * 'source' names the file in errors ("<source>: $.notify[1].events[0]: ..."). Reads credentials
 * ("cred:NAME") and looks up users now. */
int notify_config_parse(json_t *notify, json_t *console_url, const char *source, NotifyConfig **ret, char **ret_error);
NotifyConfig *notify_config_free(NotifyConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(NotifyConfig *, notify_config_free);

/* The names of the sinks that take 'event' of runbook 'runbook' (a new JSON array of strings), or
 * NULL when none does (or c is NULL). */
json_t *notify_config_route(const NotifyConfig *c, NotifyEvent event, const char *runbook);
const NotifySink *notify_config_find(const NotifyConfig *c, const char *name);
/* The link to session 'id' (a new string), or NULL without a console_url. */
char *notify_config_session_url(const NotifyConfig *c, uint32_t id);
