/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <systemd/sd-event.h>

#include "bus/bus-errors.h"
#include "bus/bus-polkit.h"
#include "shared/log.h"
#include "shared/util.h"

#define POLKIT_QUERIES_MAX 256           /* in flight, for the whole daemon */
#define POLKIT_QUERIES_PER_UID_MAX 16    /* … for one user, whatever connections they use */
#define POLKIT_QUERIES_PER_SENDER_MAX 8  /* … for one connection */
#define UID_CACHE_SIZE 64

typedef struct AsyncQuery AsyncQuery;

struct AsyncQuery {
        PolkitRegistry *registry;
        sd_bus_message *request;
        sd_bus_slot *slot;
        char *action;
        char *details;            /* what polkit was asked about: re-entered calls must ask about the same */
        char *sender;             /* the caller's unique bus name, and its uid: per-caller bounds */
        uid_t uid;
        int result;               /* 0: pending; 1: authorized; -EACCES: denied; other: error */
        sd_bus_error error;
        sd_event_source *defer;
        AsyncQuery *next;
};

struct PolkitRegistry {
        sd_bus *bus;
        AsyncQuery *queries;
        unsigned n_queries;
        struct {
                char *name;
                uid_t uid;
                pid_t pid;
        } uid_cache[UID_CACHE_SIZE];
        unsigned uid_cache_next;
};

static AsyncQuery *query_free(AsyncQuery *q) {
        if (!q)
                return NULL;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        sd_event_source_disable_unref(q->defer);
        sd_bus_error_free(&q->error);
        free(q->action);
        free(q->details);
        free(q->sender);
        free(q);
        return NULL;
}

static void query_unlink(AsyncQuery *q) {
        PolkitRegistry *reg = q->registry;

        for (AsyncQuery **p = &reg->queries; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        reg->n_queries--;
                        return;
                }
}

int polkit_registry_new(sd_bus *bus, PolkitRegistry **ret) {
        PolkitRegistry *r = calloc(1, sizeof(PolkitRegistry));

        if (!r)
                return -ENOMEM;
        r->bus = sd_bus_ref(bus);
        *ret = r;
        return 0;
}

PolkitRegistry *polkit_registry_free(PolkitRegistry *r) {
        if (!r)
                return NULL;
        while (r->queries) {
                AsyncQuery *q = r->queries;
                r->queries = q->next;
                query_free(q);
        }
        for (unsigned i = 0; i < UID_CACHE_SIZE; i++)
                free(r->uid_cache[i].name);
        sd_bus_unref(r->bus);
        free(r);
        return NULL;
}

int bus_query_caller(PolkitRegistry *reg, sd_bus_message *m, uid_t *ret_uid, pid_t *ret_pid) {
        sd_bus_creds *creds = NULL;
        const char *sender = sd_bus_message_get_sender(m);
        uid_t uid;
        pid_t pid = 0;
        int r;

        if (reg && sender)
                for (unsigned i = 0; i < UID_CACHE_SIZE; i++)
                        if (streq_ptr(reg->uid_cache[i].name, sender)) {
                                *ret_uid = reg->uid_cache[i].uid;
                                if (ret_pid)
                                        *ret_pid = reg->uid_cache[i].pid;
                                return 0;
                        }

        /* never trust augmented (racy, /proc-derived) fields for authorization: the uid and the
         * pid are what dbus-daemon took from the socket when the caller connected */
        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r >= 0 && sd_bus_creds_get_pid(creds, &pid) < 0)
                pid = 0;
        sd_bus_creds_unref(creds);
        if (r < 0)
                return r;

        if (reg && sender) {
                unsigned i = reg->uid_cache_next++ % UID_CACHE_SIZE;
                free(reg->uid_cache[i].name);
                reg->uid_cache[i].name = strdup(sender);
                reg->uid_cache[i].uid = uid;
                reg->uid_cache[i].pid = pid;
        }
        *ret_uid = uid;
        if (ret_pid)
                *ret_pid = pid;
        return 0;
}

int bus_query_caller_uid(PolkitRegistry *reg, sd_bus_message *m, uid_t *ret) {
        return bus_query_caller(reg, m, ret, NULL);
}

static int query_defer_free(sd_event_source *s, void *userdata) {
        AsyncQuery *q = userdata;

        query_unlink(q);
        query_free(q);
        return 0;
}

static int polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AsyncQuery *q = userdata;
        int authorized = 0, challenge = 0, r;

        q->slot = sd_bus_slot_unref(q->slot);

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                        /* no polkit: nobody but root is authorized */
                        q->result = -EACCES;
                        log_debug("polkit is not available, denying '%s'", q->action);
                } else {
                        (void) sd_bus_error_copy(&q->error, e);
                        q->result = -sd_bus_error_get_errno(e) ?: -EIO;
                }
        } else {
                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (r < 0) {
                        q->result = r;
                        (void) sd_bus_error_setf(&q->error, SD_BUS_ERROR_FAILED,
                                                 "Cannot parse polkit's answer: %s", strerror(-r));
                } else if (authorized)
                        q->result = 1;
                else if (challenge) {
                        q->result = -EACCES;
                        (void) sd_bus_error_setf(&q->error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                                 "Authentication is required for '%s': call again allowing interactive authorization, with a polkit agent running.",
                                                 q->action);
                } else
                        q->result = -EACCES;
        }

        /* run the method again from the top; it finds the answer in the registry */
        r = sd_bus_message_rewind(q->request, true);
        if (r >= 0)
                r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(q->request), q->request);
        if (r < 0) {
                log_error_errno(r, "Failed to requeue a method call after polkit's answer: %m");
                query_unlink(q);
                query_free(q);
                return 0;
        }
        /* free the query once the requeued call has been handled */
        r = sd_event_add_defer(sd_bus_get_event(sd_bus_message_get_bus(q->request)), &q->defer, query_defer_free, q);
        if (r >= 0)
                r = sd_event_source_set_priority(q->defer, SD_EVENT_PRIORITY_IDLE);
        if (r < 0)
                log_warning_errno(r, "Failed to schedule freeing a polkit query, ignoring: %m");
        return 0;
}

/* "k1=v1, k2=v2": the details a query was made with (the command may be long; it is kept whole). */
static char *details_key(const char **details) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        for (const char **d = details; d && d[0] && d[1]; d += 2)
                fprintf(f, "%s%s=%s", d == details ? "" : ", ", d[0], d[1]);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

int bus_verify_polkit_async(sd_bus_message *m, const char *action, const char **details, PolkitRegistry *registry,
                            sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *pk = NULL;
        AsyncQuery *q;
        const char *sender;
        uid_t uid;
        int r;

        _cleanup_free_ char *key = details_key(details);
        if (!key)
                return -ENOMEM;

        for (q = registry->queries; q; q = q->next)
                if (q->request == m && streq(q->action, action)) {
                        if (q->result == 0)
                                return 0; /* still waiting */
                        /* the call is re-entered with polkit's answer: it must be about what the
                         * caller was asked about, else the answer covers something else */
                        if (!streq(q->details, key))
                                return sd_bus_error_setf(error, BUS_ERROR_DIGEST_MISMATCH,
                                                         "What this call acts on changed while polkit was deciding "
                                                         "(asked about: %.400s; now: %.400s); nothing was done. Look again.",
                                                         q->details, key);
                        if (q->result > 0)
                                return 1;
                        if (sd_bus_error_is_set(&q->error))
                                return sd_bus_error_copy(error, &q->error);
                        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                                 "Not authorized: polkit refused action '%s' to this caller.", action);
                }

        /* root and our own uid need no polkit */
        r = bus_query_caller_uid(registry, m, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot determine the caller's user: %s", strerror(-r));
        if (uid == 0 || uid == geteuid())
                return 1;

        sender = sd_bus_message_get_sender(m);
        if (!sender)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized: the caller has no bus name.");
        /* one caller cannot hold every check: bounds per connection and per user, then overall */
        unsigned by_sender = 0, by_uid = 0;
        for (q = registry->queries; q; q = q->next)
                if (q->result == 0) {
                        by_sender += streq_ptr(q->sender, sender);
                        by_uid += q->uid == uid;
                }
        if (by_sender >= POLKIT_QUERIES_PER_SENDER_MAX || by_uid >= POLKIT_QUERIES_PER_UID_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "Too many authorization requests in flight from this caller (%u from this "
                                         "connection, %u from uid %u; at most %d and %d): try again when they are answered.",
                                         by_sender, by_uid, (unsigned) uid, POLKIT_QUERIES_PER_SENDER_MAX,
                                         POLKIT_QUERIES_PER_UID_MAX);
        if (registry->n_queries >= POLKIT_QUERIES_MAX)
                return sd_bus_error_set(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                        "Too many authorization requests in flight; try again later.");

        r = sd_bus_message_new_method_call(sd_bus_message_get_bus(m), &pk, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(pk, "(sa{sv})s", "system-bus-name", 1, "name", "s", sender, action);
        if (r >= 0)
                r = sd_bus_message_open_container(pk, 'a', "{ss}");
        for (const char **d = details; r >= 0 && d && d[0] && d[1]; d += 2)
                r = sd_bus_message_append(pk, "{ss}", d[0], d[1]);
        if (r >= 0)
                r = sd_bus_message_close_container(pk);
        if (r >= 0)
                r = sd_bus_message_append(pk, "us", (uint32_t) (sd_bus_message_get_allow_interactive_authorization(m) > 0),
                                          "");
        if (r < 0)
                return r;

        q = calloc(1, sizeof(AsyncQuery));
        if (!q)
                return -ENOMEM;
        q->registry = registry;
        q->request = sd_bus_message_ref(m);
        q->action = strdup(action);
        q->details = TAKE_PTR(key);
        q->sender = strdup(sender);
        q->uid = uid;
        if (!q->action || !q->sender) {
                query_free(q);
                return -ENOMEM;
        }
        /* an interactive check may wait for a person: no short timeout then */
        r = sd_bus_call_async(sd_bus_message_get_bus(m), &q->slot, pk, polkit_reply, q,
                              sd_bus_message_get_allow_interactive_authorization(m) > 0 ? UINT64_C(300000000) : 0);
        if (r < 0) {
                query_free(q);
                return r;
        }
        q->next = registry->queries;
        registry->queries = q;
        registry->n_queries++;
        log_debug("Asked polkit whether %s (uid %u) may %s (%.200s).", sender, (unsigned) uid, action, q->details);
        return 0;
}
