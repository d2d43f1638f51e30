/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* notifier.c: see notifier.h. */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "http/curl-event.h"
#include "journal/events.h"
#include "notify/notifier.h"
#include "notify/notify-unit.h"
#include "shared/child-util.h"
#include "shared/log.h"

#include <syslog.h>
#include <systemd/sd-journal.h>

#define BACKOFF_MIN_USEC (1 * USEC_PER_SEC)
#define BACKOFF_MAX_USEC (5 * 60 * USEC_PER_SEC)
#define RETRY_AFTER_MAX_USEC (3600 * USEC_PER_SEC)
/* a sink's timer may fire this much late (a notification is not a real-time event) */
#define TIMER_ACCURACY_USEC (100 * USEC_PER_MSEC)
/* Committed events wait this long for the store to be synced (by the engine, whose own backstop
 * is as long, or else by us): commits in a burst share one sync, and a sink that takes nothing
 * now costs a session nothing */
#define SYNC_DELAY_USEC (50 * USEC_PER_MSEC)
#define EXEC_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef struct Sink Sink;

typedef struct Item {
        uint64_t seq;
        usec_t created;           /* CLOCK_REALTIME, when the event was committed */
        unsigned attempts;
        bool in_flight;
        bool keep;                /* break_glass, review_needed, approval_expired: given up for max_pending last */
} Item;

/* One attempt to hand one notification to one sink. */
typedef struct Delivery {
        Sink *sink;
        uint64_t seq;
        char *event;
        char *event_id;
        uint32_t session;
        HttpRequest *http;
        NotifyUnit *unit;         /* exec where systemd is PID 1 */
        pid_t pid;
        sd_event_source *child;
        sd_event_source *timer;   /* exec: its timeout */
        bool timed_out;
} Delivery;

struct Sink {
        Notifier *notifier;
        char *name;
        const NotifySink *cfg;    /* NULL once it is no longer configured (while it is freed) */
        Item *items;              /* in seq order */
        size_t n_items, n_items_allocated;
        Delivery *flights[NOTIFY_PARALLEL];
        unsigned in_flight;
        unsigned failures;        /* attempts failed in a row */
        usec_t not_before;        /* CLOCK_MONOTONIC: no attempt before (backoff, Retry-After) */
        sd_event_source *timer;
};

struct Notifier {
        sd_event *event;
        Store *store;
        const NotifyConfig *config;
        Sink **sinks;
        size_t n_sinks;
        uint64_t scanned;         /* the last outbox seq looked at */
        bool started;
        sd_event_source *defer;
};

static void sink_dispatch(Sink *k);
static void notifier_arm(Notifier *n, usec_t delay);

/* ---- the outbox records ---- */

typedef struct DropCtx {
        uint64_t seq;
        const char *sink;
} DropCtx;

static int drop_fn(StoreTxn *t, void *userdata) {
        DropCtx *c = userdata;
        _cleanup_(json_decrefp) json_t *rec = NULL, *left = json_array();
        json_t *v;
        size_t i;

        if (!left)
                return -ENOMEM;
        if (store_outbox_get(t, c->seq, &rec) < 0)
                return 0;   /* gone already */
        json_array_foreach(json_object_get(rec, "sinks"), i, v)
                if (!streq_ptr(json_string_value(v), c->sink))
                        json_array_append(left, v);
        if (json_array_size(left) == 0)
                store_outbox_del(t, c->seq);
        else {
                json_object_set(rec, "sinks", left);
                store_outbox_put(t, c->seq, rec);
        }
        return t->ret;
}

/* The sink has the notification (or it was given up for it): its name leaves the record. Not
 * synced: lost to a crash, it is sent again (at least once). */
static void outbox_drop(Notifier *n, uint64_t seq, const char *sink) {
        DropCtx c = { .seq = seq, .sink = sink };
        int r = store_write(n->store, drop_fn, &c);

        if (r < 0)
                log_warning_errno(r, "Cannot mark notification %" PRIu64 " done for sink %s (it may be sent again): %m",
                                  seq, sink);
}

static int outbox_doc(Notifier *n, uint64_t seq, json_t **ret) {
        _cleanup_(json_decrefp) json_t *rec = NULL;
        StoreTxn t;
        int r;

        r = store_read_begin(n->store, &t);
        if (r < 0)
                return r;
        r = store_outbox_get(&t, seq, &rec);
        store_read_end(&t);
        if (r < 0)
                return r;
        if (!json_is_object(json_object_get(rec, "doc")))
                return -EBADMSG;
        *ret = json_incref(json_object_get(rec, "doc"));
        return 0;
}

/* ---- queues ---- */

static Sink *sink_find(Notifier *n, const char *name) {
        for (size_t i = 0; i < n->n_sinks; i++)
                if (streq(n->sinks[i]->name, name))
                        return n->sinks[i];
        return NULL;
}

static void item_remove(Sink *k, size_t i) {
        memmove(k->items + i, k->items + i + 1, (k->n_items - i - 1) * sizeof(Item));
        k->n_items--;
}

static size_t item_find(Sink *k, uint64_t seq) {
        size_t lo = 0, hi = k->n_items;

        /* in seq order: a binary search */
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (k->items[mid].seq < seq)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < k->n_items && k->items[lo].seq == seq ? lo : SIZE_MAX;
}

/* Gives up item i of the sink: a journal record, and the sink's name leaves the record. */
static void item_give_up(Sink *k, size_t i, const char *reason) {
        Item it = k->items[i];
        _cleanup_(json_decrefp) json_t *doc = NULL;
        const char *event = "?", *id = "?";
        uint32_t session = 0;

        if (outbox_doc(k->notifier, it.seq, &doc) >= 0) {
                event = json_string_value(json_object_get(doc, "event")) ?: "?";
                id = json_string_value(json_object_get(doc, "event_id")) ?: "?";
                session = (uint32_t) json_integer_value(json_object_get(doc, "session"));
        }
        event_notify_gave_up(k->name, event, id, session, it.attempts, reason);
        log_warning("Notification %s (%s of session %" PRIu32 ") given up for sink %s: %s", id, event, session, k->name,
                    reason);
        item_remove(k, i);
        outbox_drop(k->notifier, it.seq, k->name);
}

/* Adds a notification the scan found (seqs come in order: it goes last). No store write here:
 * the scan's read transaction is open (sink_trim() comes after it). */
static int sink_add_item(Sink *k, uint64_t seq, usec_t created, bool keep) {
        if (k->n_items > 0 && k->items[k->n_items - 1].seq >= seq)
                return 0;   /* known already */
        if (GREEDY_REALLOC(k->items, k->n_items_allocated, k->n_items + 1) < 0)
                return -ENOMEM;
        k->items[k->n_items++] = (Item) { .seq = seq, .created = created, .keep = keep };
        return 0;
}

/* A bound on what waits for one sink: beyond max_pending the oldest are given up, those that
 * tell of a break-glass, a review or an expiry last (a flood of ordinary events does not push
 * them out first). */
static void sink_trim(Sink *k) {
        for (bool keep = false; k->cfg && k->n_items > k->cfg->max_pending; keep = true) {
                for (size_t i = 0; i < k->n_items && k->n_items > k->cfg->max_pending;) {
                        if (k->items[i].in_flight || k->items[i].keep != keep) {
                                i++;
                                continue;
                        }
                        item_give_up(k, i, "too many notifications wait for this sink (max_pending)");
                }
                if (keep)
                        break;
        }
}

/* ---- attempts ---- */

static void delivery_free(Delivery *d) {
        if (!d)
                return;
        http_request_free(d->http);
        notify_unit_free(d->unit);
        d->timer = sd_event_source_disable_unref(d->timer);
        if (d->child) {
                /* still running: the source owns the child, and kills and reaps it when freed */
                if (d->pid > 0)
                        (void) kill(-d->pid, SIGKILL);
                d->child = sd_event_source_disable_unref(d->child);
        }
        free(d->event);
        free(d->event_id);
        free(d);
}

static void flight_remove(Sink *k, Delivery *d) {
        for (unsigned i = 0; i < NOTIFY_PARALLEL; i++)
                if (k->flights[i] == d) {
                        k->flights[i] = NULL;
                        k->in_flight--;
                        return;
                }
}

static int on_sink_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Sink *k = userdata;

        k->timer = sd_event_source_disable_unref(k->timer);
        sink_dispatch(k);
        return 0;
}

static usec_t backoff(unsigned failures) {
        usec_t d = BACKOFF_MIN_USEC;

        for (unsigned i = 1; i < failures && d < BACKOFF_MAX_USEC; i++)
                d *= 2;
        return MIN(d, BACKOFF_MAX_USEC);
}

typedef enum Outcome {
        DELIVERED,
        FAILED,                   /* try again later */
        REFUSED,                  /* the sink refuses this document for good */
} Outcome;

/* The attempt is over: the item leaves the queue, or waits for the sink's next try. Frees d. */
static void delivery_done(Delivery *d, Outcome o, usec_t retry_after, const char *reason) {
        Sink *k = d->sink;
        size_t i = item_find(k, d->seq);

        flight_remove(k, d);
        if (i != SIZE_MAX) {
                k->items[i].in_flight = false;
                k->items[i].attempts++;
        }
        if (o == FAILED) {
                /* the sink's Retry-After, but never sooner than our own backoff (a "0" or a date
                 * in the past would have us hammer it) */
                usec_t delay = backoff(k->failures + 1);
                if (retry_after != USEC_INFINITY)
                        delay = MAX(delay, MIN(retry_after, RETRY_AFTER_MAX_USEC));
                k->failures++;
                k->not_before = now_usec(CLOCK_MONOTONIC) + delay;
                if (k->failures == 1)
                        event_notify_failing(k->name, reason, delay);
                log_debug("Notification %s for sink %s failed (%u in a row): %s", d->event_id, k->name, k->failures, reason);
        } else {
                if (k->failures > 0) {
                        event_notify_recovered(k->name, k->failures);
                        log_info("Notification sink %s works again after %u failed attempt(s).", k->name, k->failures);
                }
                k->failures = 0;
                k->not_before = 0;
                if (i != SIZE_MAX) {
                        if (o == REFUSED)
                                item_give_up(k, i, reason);
                        else {
                                log_debug("Notification %s (%s) delivered to sink %s.", d->event_id, d->event, k->name);
                                item_remove(k, i);
                                outbox_drop(k->notifier, d->seq, k->name);
                        }
                }
        }
        delivery_free(d);
        sink_dispatch(k);
}

static void on_http_done(HttpRequest *req, const HttpResponse *resp, void *userdata) {
        Delivery *d = userdata;
        long status = resp->status;
        usec_t retry_after;
        char reason[256];

        /* all of the response that is needed, before the request (which holds it) goes */
        if (status == 0)
                (void) snprintf(reason, sizeof reason, "%s", resp->error_text ?: strerror(-resp->error));
        else
                (void) snprintf(reason, sizeof reason, "HTTP status %ld", status);
        retry_after = http_retry_after(resp);
        d->http = http_request_free(req);
        if (status >= 200 && status < 300)
                delivery_done(d, DELIVERED, USEC_INFINITY, "delivered");
        else if (status == 400 || status == 413 || status == 415 || status == 422)
                delivery_done(d, REFUSED, USEC_INFINITY, reason);
        else
                delivery_done(d, FAILED, retry_after, reason);
}

static int start_webhook(Delivery *d, const char *body) {
        const NotifySink *c = d->sink->cfg;
        _cleanup_free_ char *h_id = NULL, *h_event = NULL;
        _cleanup_free_ const char **headers = NULL;
        size_t n = 0, extra = strv_length(c->headers);
        int r;

        headers = calloc(extra + 5, sizeof(char *));
        if (!headers || asprintf_safe(&h_id, "Runbookd-Event-Id: %s", d->event_id) < 0 ||
            asprintf_safe(&h_event, "Runbookd-Event: %s", d->event) < 0)
                return -ENOMEM;
        headers[n++] = "Content-Type: application/json";
        headers[n++] = "User-Agent: runbookd/" PACKAGE_VERSION;
        headers[n++] = h_id;
        headers[n++] = h_event;
        for (size_t i = 0; i < extra; i++)
                headers[n++] = c->headers[i];
        HttpRequestParams p = {
                .method = "POST",
                .url = c->url,
                .headers = headers,
                .body = body,
                .body_len = strlen(body),
                .ca_file = c->ca_file,
                .timeout_usec = c->timeout_usec,
                .discard_body = true,
        };
        r = http_request_start(d->sink->notifier->event, &p, on_http_done, d, &d->http);
        return r;
}

static int on_exec_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Delivery *d = userdata;
        char reason[128];

        /* sd-event reaps it after this callback; nothing is left to kill */
        (void) sd_event_source_set_child_process_own(s, false);
        (void) kill(-d->pid, SIGKILL);   /* what it left in its process group */
        d->child = sd_event_source_disable_unref(d->child);
        d->pid = 0;
        if (d->timed_out)
                (void) snprintf(reason, sizeof reason, "the program did not finish within %s",
                                format_duration((char[DURATION_MAX]) {}, DURATION_MAX, d->sink->cfg->timeout_usec));
        else if (si->si_code == CLD_EXITED && si->si_status == 0) {
                delivery_done(d, DELIVERED, USEC_INFINITY, "delivered");
                return 0;
        } else if (si->si_code == CLD_EXITED)
                (void) snprintf(reason, sizeof reason, "the program exited with status %d", si->si_status);
        else
                (void) snprintf(reason, sizeof reason, "the program was killed by signal %d", si->si_status);
        delivery_done(d, FAILED, USEC_INFINITY, reason);
        return 0;
}

static int on_exec_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Delivery *d = userdata;

        d->timer = sd_event_source_disable_unref(d->timer);
        d->timed_out = true;
        if (d->pid > 0)
                (void) kill(-d->pid, SIGKILL);
        return 0;
}

/* In the child (after fork(): system calls only): the document on stdin, /dev/null as stdout,
 * runbookd's stderr (its log) as stderr, its own session, the sink's user with its primary group
 * only, and nothing else of runbookd's. Never returns. */
_Noreturn static void exec_child(const NotifySink *c, int doc_fd, int null_fd, int err_fd, char **env) {
        if (setsid() < 0 || child_reset_signals() < 0)
                _exit(127);
        /* (all three are above 2: the dup2()s cannot clobber each other, and clear FD_CLOEXEC) */
        if (dup2(doc_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(err_fd, 2) < 0)
                _exit(127);
        if (close_range(3, ~0U, 0) < 0)
                _exit(127);   /* nothing of runbookd's may reach the program */
        if (geteuid() == 0 &&
            (syscall(SYS_setgroups, (size_t) 0, NULL) < 0 || syscall(SYS_setresgid, c->gid, c->gid, c->gid) < 0 ||
             syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0))
                _exit(126);
        if (chdir("/") < 0)
                _exit(127);
        execve(c->argv[0], c->argv, env);
        _exit(127);
}

/* fd, moved above 0-2 (a daemon started with its stdio closed gets them from open()), CLOEXEC */
static int fd_above_stdio(int fd) {
        int r;

        if (fd < 0)
                return -errno;
        if (fd > 2)
                return fd;
        r = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (r < 0)
                r = -errno;
        (void) close(fd);
        return r;
}

static void on_unit_done(NotifyUnit *u, int error, const char *reason, void *userdata) {
        Delivery *d = userdata;
        _cleanup_free_ char *why = strdup(reason);

        d->unit = notify_unit_free(u);   /* stops and removes it */
        delivery_done(d, error >= 0 ? DELIVERED : FAILED, USEC_INFINITY, why ?: "failed");
}

static int start_exec(Delivery *d, const char *body) {
        const NotifySink *c = d->sink->cfg;
        Notifier *n = d->sink->notifier;
        _cleanup_close_ int doc_fd = -1, null_fd = -1, err_fd = -1;
        _cleanup_strv_free_ char **env = NULL;
        char *s;
        int r;

        doc_fd = memfd_create("runbookd-notification", MFD_CLOEXEC);
        if (doc_fd < 0)
                return -errno;
        r = loop_write(doc_fd, body, strlen(body));
        if (r < 0)
                return r;
        if (lseek(doc_fd, 0, SEEK_SET) < 0)
                return -errno;
        if (notify_unit_mode()) {
                size_t i = item_find(d->sink, d->seq);
                unsigned attempt = i != SIZE_MAX ? d->sink->items[i].attempts + 1 : 1;
                return notify_unit_start(n->event, c, d->event, d->event_id, d->seq, attempt, doc_fd, on_unit_done, d,
                                         &d->unit);
        }
        null_fd = fd_above_stdio(open("/dev/null", O_WRONLY | O_CLOEXEC | O_NOCTTY));
        if (null_fd < 0)
                return null_fd;
        doc_fd = fd_above_stdio(TAKE_FD(doc_fd));
        if (doc_fd < 0)
                return doc_fd;
        /* its stderr: a journal stream of its own (not runbookd's, whose lines are runbookd's),
         * taken as plain text (no "<N>" priority prefixes); else /dev/null */
        _cleanup_free_ char *ident = NULL;
        if (asprintf_safe(&ident, "runbookd-notify-%s", c->name) < 0)
                return -ENOMEM;
        err_fd = sd_journal_stream_fd(ident, LOG_WARNING, 0);
        if (err_fd < 0)
                err_fd = open("/dev/null", O_WRONLY | O_CLOEXEC | O_NOCTTY);
        err_fd = fd_above_stdio(err_fd);
        if (err_fd < 0)
                return err_fd;
        if (strv_extend(&env, "PATH=" EXEC_PATH) < 0 || strv_extend(&env, "LANG=C.UTF-8") < 0 ||
            strv_extend(&env, "HOME=/") < 0 ||
            asprintf_safe(&s, "USER=%s", c->user) < 0 || strv_consume(&env, s) < 0 ||
            asprintf_safe(&s, "RUNBOOKD_EVENT=%s", d->event) < 0 || strv_consume(&env, s) < 0 ||
            asprintf_safe(&s, "RUNBOOKD_EVENT_ID=%s", d->event_id) < 0 || strv_consume(&env, s) < 0 ||
            asprintf_safe(&s, "RUNBOOKD_SINK=%s", c->name) < 0 || strv_consume(&env, s) < 0)
                return -ENOMEM;

        d->pid = fork();
        if (d->pid < 0)
                return -errno;
        if (d->pid == 0)
                exec_child(c, doc_fd, null_fd, err_fd, env);
        r = sd_event_add_child(n->event, &d->child, d->pid, WEXITED, on_exec_exit, d);
        if (r < 0) {
                (void) kill(d->pid, SIGKILL);
                (void) waitpid(d->pid, NULL, 0);
                d->pid = 0;
                return r;
        }
        (void) sd_event_source_set_child_process_own(d->child, true);
        (void) sd_event_source_set_description(d->child, "notify-exec");
        r = sd_event_add_time_relative(n->event, &d->timer, CLOCK_MONOTONIC, c->timeout_usec, TIMER_ACCURACY_USEC,
                                       on_exec_timeout, d);
        if (r < 0)
                return r;   /* delivery_free() kills it */
        return 0;
}

static int delivery_start(Sink *k, Item *it) {
        _cleanup_(json_decrefp) json_t *doc = NULL;
        _cleanup_free_ char *body = NULL;
        Delivery *d;
        int r;

        r = outbox_doc(k->notifier, it->seq, &doc);
        if (r < 0)
                return r;
        body = json_dumps(doc, JSON_COMPACT);
        d = calloc(1, sizeof *d);
        if (!body || !d) {
                free(d);
                return -ENOMEM;
        }
        d->sink = k;
        d->seq = it->seq;
        d->session = (uint32_t) json_integer_value(json_object_get(doc, "session"));
        d->event = strdup(json_string_value(json_object_get(doc, "event")) ?: "?");
        d->event_id = strdup(json_string_value(json_object_get(doc, "event_id")) ?: "?");
        if (!d->event || !d->event_id) {
                delivery_free(d);
                return -ENOMEM;
        }
        for (unsigned i = 0; i < NOTIFY_PARALLEL; i++)
                if (!k->flights[i]) {
                        k->flights[i] = d;
                        break;
                }
        k->in_flight++;
        it->in_flight = true;
        r = k->cfg->kind == NOTIFY_SINK_WEBHOOK ? start_webhook(d, body) : start_exec(d, body);
        if (r < 0) {
                char reason[128];
                (void) snprintf(reason, sizeof reason, "cannot start the attempt: %s", strerror(-r));
                delivery_done(d, FAILED, USEC_INFINITY, reason);
                return 1;   /* done with (the sink was dispatched again) */
        }
        return 0;
}

/* Starts what the sink may take now; arms its timer for what must wait. */
static void sink_dispatch(Sink *k) {
        usec_t now = now_usec(CLOCK_MONOTONIC), wall = now_usec(CLOCK_REALTIME);
        unsigned parallel = k->failures > 0 ? 1 : NOTIFY_PARALLEL;

        if (!k->cfg)
                return;
        if (k->not_before > now) {
                if (k->in_flight == 0 && k->n_items > 0 && !k->timer &&
                    sd_event_add_time(k->notifier->event, &k->timer, CLOCK_MONOTONIC, k->not_before, TIMER_ACCURACY_USEC,
                                      on_sink_timer, k) >= 0)
                        (void) sd_event_source_set_description(k->timer, "notify-backoff");
                return;
        }
        for (size_t i = 0; i < k->n_items && k->in_flight < parallel;) {
                Item *it = &k->items[i];
                if (it->in_flight) {
                        i++;
                        continue;
                }
                if (wall > it->created && wall - it->created > k->cfg->max_age_usec) {
                        char b[DURATION_MAX], reason[128];
                        (void) snprintf(reason, sizeof reason, "not delivered within max_age (%s)",
                                        format_duration(b, sizeof b, k->cfg->max_age_usec));
                        item_give_up(k, i, reason);
                        continue;
                }
                if (store_needs_sync(k->notifier->store)) {
                        /* nothing goes out before what it tells of is durable: after the next sync */
                        notifier_arm(k->notifier, SYNC_DELAY_USEC);
                        return;
                }
                int r = delivery_start(k, it);
                if (r != 0) {
                        if (r < 0)
                                log_warning_errno(r, "Cannot read notification %" PRIu64 " for sink %s: %m", it->seq, k->name);
                        if (r < 0 && r != -ENOMEM)
                                item_give_up(k, i, "its record in the store cannot be read");
                        return;   /* a failure dispatched the sink again, or memory is short */
                }
                i++;
        }
}

/* ---- the outbox, read ---- */

typedef struct ScanCtx {
        Notifier *notifier;
        DropCtx *orphans;         /* (seq, sink) of sinks no longer configured */
        size_t n_orphans, n_orphans_allocated;
        json_t *names;            /* keeps the orphans' names alive */
} ScanCtx;

static int scan_cb(uint64_t seq, const char *text, size_t len, void *userdata) {
        ScanCtx *c = userdata;
        Notifier *n = c->notifier;
        _cleanup_(json_decrefp) json_t *rec = json_loadb(text, len, 0, NULL);
        json_t *v;
        size_t i;

        n->scanned = seq;
        if (!rec) {
                log_warning("Notification %" PRIu64 " in the outbox is not JSON; skipped.", seq);
                return 0;
        }
        json_array_foreach(json_object_get(rec, "sinks"), i, v) {
                const char *name = json_string_value(v);
                Sink *k = name ? sink_find(n, name) : NULL;
                if (k) {
                        const char *ev = json_string_value(json_object_get(json_object_get(rec, "doc"), "event"));
                        bool keep = streq_ptr(ev, "break_glass") || streq_ptr(ev, "review_needed") ||
                                    streq_ptr(ev, "approval_expired");
                        if (sink_add_item(k, seq, (usec_t) json_integer_value(json_object_get(rec, "created")), keep) < 0)
                                return -ENOMEM;
                } else if (name) {
                        if (GREEDY_REALLOC(c->orphans, c->n_orphans_allocated, c->n_orphans + 1) < 0 ||
                            json_array_append(c->names, v) < 0)
                                return -ENOMEM;
                        c->orphans[c->n_orphans++] = (DropCtx) { .seq = seq, .sink = name };
                }
        }
        return 0;
}

static void notifier_scan(Notifier *n) {
        ScanCtx c = { .notifier = n, .names = json_array() };
        StoreTxn t;
        int r;

        if (!c.names)
                return (void) log_oom();
        r = store_read_begin(n->store, &t);
        if (r >= 0) {
                r = store_outbox_read(&t, n->scanned, scan_cb, &c);
                store_read_end(&t);
        }
        if (r < 0)
                log_warning_errno(r, "Cannot read the notification outbox: %m");
        /* the read transaction is over: now the store may be written */
        for (size_t i = 0; i < c.n_orphans; i++) {
                const char *name = json_string_value(json_array_get(c.names, i));
                event_notify_gave_up(name, "?", "?", 0, 0, "the sink is no longer in runbookd.json");
                outbox_drop(n, c.orphans[i].seq, name);
        }
        for (size_t i = 0; i < n->n_sinks; i++)
                sink_trim(n->sinks[i]);
        free(c.orphans);
        json_decref(c.names);
}

static int on_sync_timer(sd_event_source *s, uint64_t usec, void *userdata);

static void notifier_arm(Notifier *n, usec_t delay) {
        if (n->defer)
                return;
        if (sd_event_add_time_relative(n->event, &n->defer, CLOCK_MONOTONIC, delay, 0, on_sync_timer, n) < 0) {
                log_error("Cannot arm the notifier: notifications wait for the next change.");
                return;
        }
        (void) sd_event_source_set_description(n->defer, "notify-outbox");
        /* after the bus layer's flush, which syncs the store for what it answers: one sync for both */
        (void) sd_event_source_set_priority(n->defer, SD_EVENT_PRIORITY_IDLE + 1);
}

/* Whether the sink would start an attempt now. */
static bool sink_ready(const Sink *k) {
        unsigned parallel = k->failures > 0 ? 1 : NOTIFY_PARALLEL;

        if (!k->cfg || k->in_flight >= parallel || k->not_before > now_usec(CLOCK_MONOTONIC))
                return false;
        for (size_t i = 0; i < k->n_items; i++)
                if (!k->items[i].in_flight)
                        return true;
        return false;
}

static int on_sync_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Notifier *n = userdata;
        bool ready = false;
        int r;

        n->defer = sd_event_source_disable_unref(n->defer);
        notifier_scan(n);
        for (size_t i = 0; i < n->n_sinks && !ready; i++)
                ready = sink_ready(n->sinks[i]);
        if (!ready)
                return 0;   /* each sink waits for its timer, or for an attempt to end */
        /* what the world hears of must not be taken back by a crash */
        r = store_sync(n->store);
        if (r < 0) {
                log_warning_errno(r, "Cannot sync the store before notifying; trying again: %m");
                notifier_arm(n, BACKOFF_MIN_USEC);
                return 0;
        }
        for (size_t i = 0; i < n->n_sinks; i++)
                sink_dispatch(n->sinks[i]);
        return 0;
}

void notifier_kick(Notifier *n) {
        if (!n || n->n_sinks == 0)
                return;
        notifier_arm(n, store_needs_sync(n->store) ? SYNC_DELAY_USEC : 0);
}

/* ---- sinks ---- */

static Sink *sink_free(Sink *k) {
        if (!k)
                return NULL;
        for (unsigned i = 0; i < NOTIFY_PARALLEL; i++)
                delivery_free(k->flights[i]);
        k->timer = sd_event_source_disable_unref(k->timer);
        free(k->items);
        free(k->name);
        free(k);
        return NULL;
}

int notifier_set_config(Notifier *n, const NotifyConfig *c) {
        size_t want = c ? c->n_sinks : 0;
        _cleanup_free_ Sink **sinks = calloc(MAX(want, (size_t) 1), sizeof(Sink *));

        if (!sinks)
                return -ENOMEM;
        /* a sink kept by name keeps its queue and its state (its settings may change) */
        for (size_t i = 0; i < want; i++) {
                sinks[i] = sink_find(n, c->sinks[i].name);
                if (sinks[i])
                        continue;
                sinks[i] = calloc(1, sizeof(Sink));
                if (!sinks[i] || !(sinks[i]->name = strdup(c->sinks[i].name))) {
                        if (sinks[i])
                                free(sinks[i]);
                        for (size_t j = 0; j < i; j++)
                                if (sinks[j]->notifier != n)
                                        sink_free(sinks[j]);
                        return -ENOMEM;   /* nothing changed */
                }
        }
        for (size_t i = 0; i < want; i++) {
                for (size_t j = 0; j < n->n_sinks; j++)
                        if (n->sinks[j] == sinks[i])
                                n->sinks[j] = NULL;
                sinks[i]->notifier = n;
                sinks[i]->cfg = &c->sinks[i];
        }
        /* sinks that are gone: what waited for them is given up */
        for (size_t j = 0; j < n->n_sinks; j++) {
                Sink *k = n->sinks[j];
                if (!k)
                        continue;
                k->cfg = NULL;
                while (k->n_items > 0)
                        item_give_up(k, 0, "the sink is no longer in runbookd.json");
                sink_free(k);
        }
        free(n->sinks);
        n->sinks = TAKE_PTR(sinks);
        n->n_sinks = want;
        n->config = c;
        for (size_t i = 0; i < n->n_sinks; i++) {
                sink_trim(n->sinks[i]);   /* its max_pending may be lower now */
                sink_dispatch(n->sinks[i]);
        }
        notifier_kick(n);
        return 0;
}

size_t notifier_pending(Notifier *n) {
        size_t sum = 0;

        for (size_t i = 0; n && i < n->n_sinks; i++)
                sum += n->sinks[i]->n_items;
        return sum;
}

int notifier_new(sd_event *event, Store *store, Notifier **ret) {
        Notifier *n = calloc(1, sizeof *n);

        if (!n)
                return -ENOMEM;
        n->event = sd_event_ref(event);
        n->store = store;
        *ret = n;
        return 0;
}

Notifier *notifier_free(Notifier *n) {
        if (!n)
                return NULL;
        for (size_t i = 0; i < n->n_sinks; i++)
                sink_free(n->sinks[i]);
        free(n->sinks);
        n->defer = sd_event_source_disable_unref(n->defer);
        notify_unit_shutdown();   /* the StopUnit of a program still running goes out */
        sd_event_unref(n->event);
        free(n);
        return NULL;
}
