/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-notify: runbookd.json's "notify" and "console_url" through notify_config_parse(), and what
 * an accepted configuration promises: every sink has a unique valid name, a webhook's URL and
 * header lines hold no control character (no header or request can be smuggled), an exec sink
 * has an absolute program and never runs as root, routing names only configured sinks, and a
 * session's link carries its id. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config-util.h"
#include "config/notify-config.h"
#include "fuzz.h"
#include "shared/tests.h"

static bool no_controls(const char *s) {
        for (; s && *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const runbooks[] = { "db-main", "web", "", "x*", NULL };
        json_t *doc = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, NULL);
        NotifyConfig *c = NULL;
        char *error = NULL;

        if (!doc)
                return 0;
        if (notify_config_parse(json_object_get(doc, "notify"), json_object_get(doc, "console_url"), "fuzz.json", &c,
                                &error) >= 0) {
                check(!error);
                for (size_t i = 0; i < c->n_sinks; i++) {
                        const NotifySink *k = &c->sinks[i];
                        check(config_name_is_valid(k->name));
                        for (size_t j = 0; j < i; j++)
                                check(!streq(c->sinks[j].name, k->name));
                        check(notify_config_find(c, k->name) == k);
                        check(k->events != 0 && k->timeout_usec > 0 && k->max_age_usec > 0 && k->max_pending > 0);
                        if (k->kind == NOTIFY_SINK_WEBHOOK) {
                                check(k->url && no_controls(k->url) && !strchr(k->url, ' '));
                                check(strncasecmp(k->url, "http://", 7) == 0 || strncasecmp(k->url, "https://", 8) == 0);
                                for (size_t h = 0; k->headers && k->headers[h]; h++)
                                        check(no_controls(k->headers[h]) && strstr(k->headers[h], ": "));
                        } else {
                                check(k->argv && k->argv[0] && k->argv[0][0] == '/');
                                check(k->uid != 0);
                        }
                }
                for (int e = 0; e < _NOTIFY_EVENT_MAX; e++)
                        for (size_t r = 0; runbooks[r]; r++) {
                                json_t *a = notify_config_route(c, (NotifyEvent) e, runbooks[r]);
                                size_t i;
                                json_t *v;
                                check(!a || json_array_size(a) > 0);
                                json_array_foreach(a, i, v)
                                        check(notify_config_find(c, json_string_value(v)));
                                json_decref(a);
                        }
                char *u = notify_config_session_url(c, 4242);
                check(!c->console_url == !u);
                check(!u || strstr(u, "4242"));
                free(u);
                notify_config_free(c);
        } else
                check(!c && error);
        free(error);
        json_decref(doc);
        return 0;
}
