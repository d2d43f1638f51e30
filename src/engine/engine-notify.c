/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine-notify.c: the notifications of a session's transitions. A transition queues its event
 * (session_notify()) where it is made; the commit that stores the transition (engine_persist())
 * writes it to the outbox, one record per event with the sinks that take it (notify_config_route())
 * and the document they get; after that commit the notifier is told (EngineHooks.outbox) and
 * delivers it, at least once, from the store. So an event is never sent for a transition that was
 * not stored, and never lost for one that was: a crash between the commit and the delivery sends
 * it after the restart. A commit that fails takes its events with it (its transition is not stored
 * either). Nothing here waits for a sink: a dead one never slows a session.
 *
 * The document (docs/notifications.md) carries what an approver needs without asking runbookd:
 * the exact command, target and digest, approvals given and needed, the deadline, a link; and a
 * one-line "text" for chat webhooks, in which what callers wrote (reference, reason, comment) is
 * made inert for chat markup ("<!channel>", "@here"). */
#include <unistd.h>

#include "engine/engine-internal.h"
#include "shared/log.h"
#include "store/store.h"

#define NOTIFY_QUEUE_MAX 16       /* events one commit of one session carries */
#define TEXT_VALUE_MAX 200        /* a caller's value in "text" is cut to this many bytes */

void engine_set_notify(Engine *e, const NotifyConfig *c) {
        e->notify = c;
        e->config_gen++;
}

void session_notify(Session *s, NotifyEvent event, const Step *st, const char *who, const char *comment) {
        SessionRuntime *rt = session_rt(s);
        Engine *e = rt ? rt->engine : NULL;
        PendingNotify *n;

        if (!e || !e->notify || e->notify->n_sinks == 0)
                return;   /* nothing configured: nothing to write */
        if (rt->n_notify >= NOTIFY_QUEUE_MAX) {
                log_warning("Session %u: too many notifications in one change; %s is not sent.", s->id,
                            notify_event_to_string(event));
                return;
        }
        if (GREEDY_REALLOC(rt->notify, rt->n_notify_allocated, rt->n_notify + 1) < 0) {
                log_oom();
                return;
        }
        n = &rt->notify[rt->n_notify];
        *n = (PendingNotify) { .event = event, .step = st ? (int) st->index : -1, .time = now_usec(CLOCK_REALTIME) };
        if ((who && !(n->who = strdup(who))) || (comment && !(n->comment = strdup(comment)))) {
                free(n->who);
                log_oom();
                return;
        }
        rt->n_notify++;
}

void session_notify_clear(Session *s) {
        SessionRuntime *rt = session_rt(s);

        for (size_t i = 0; i < rt->n_notify; i++) {
                free(rt->notify[i].who);
                free(rt->notify[i].comment);
        }
        rt->n_notify = 0;
}

/* ---- the document ---- */

/* A caller's value for "text": on one line, cut, with chat markup made inert (Slack's &, <, >
 * escapes; a zero-width space after '@', in "://" and in "](": no mention, no link). The
 * structured fields carry the exact value. */
static void text_value(FILE *f, const char *v) {
        char cut[TEXT_VALUE_MAX + 4];

        (void) utf8_cut(strempty(v), TEXT_VALUE_MAX, cut, sizeof cut);
        for (const char *p = cut; *p; p++)
                switch (*p) {
                case '&': fputs("&amp;", f); break;
                case '<': fputs("&lt;", f); break;
                case '>': fputs("&gt;", f); break;
                case '@': fputs("@\u200b", f); break;
                case '\n': case '\r': case '\t': fputc(' ', f); break;
                case ':':
                        /* no link of a caller's: "://" is not a URL to a chat, "](" not a Markdown link */
                        fputs(p[1] == '/' && p[2] == '/' ? ":\u200b" : ":", f);
                        break;
                case ']':
                        fputs(p[1] == '(' ? "]\u200b" : "]", f);
                        break;
                case '\xe2':
                        /* U+2028, U+2029 (line and paragraph separators): one line */
                        if ((unsigned char) p[1] == 0x80 && ((unsigned char) p[2] == 0xa8 || (unsigned char) p[2] == 0xa9)) {
                                fputc(' ', f);
                                p += 2;
                                break;
                        }
                        fputc(*p, f);
                        break;
                default: fputc(*p, f);
                }
}

static void text_step(FILE *f, const Step *st) {
        fprintf(f, "%s step %" PRIu32 " \"", step_phase_to_string(st->phase), st->index);
        text_value(f, st->name);
        fputs("\" on ", f);
        text_value(f, st->target);
}

static char *make_text(const Session *s, const Step *st, const PendingNotify *n, const char *host, const char *url) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        char ts[TIMESTAMP_MAX];
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        if (n->event == NOTIFY_BREAK_GLASS)
                fputs("BREAK-GLASS ", f);
        fprintf(f, "runbookd on %s: session %" PRIu32 " (", host, s->id);
        text_value(f, s->runbook);
        if (!isempty(s->reference)) {
                fputs(", ", f);
                text_value(f, s->reference);
        }
        fputs(")", f);
        if (st && n->event != NOTIFY_SESSION_FINISHED && n->event != NOTIFY_REVIEW_NEEDED) {
                fputs(": ", f);
                text_step(f, st);
        }
        switch (n->event) {
        case NOTIFY_APPROVAL_NEEDED:
        case NOTIFY_APPROVAL_REMINDER:
                fprintf(f, " %s approval (%u of %u given)", n->event == NOTIFY_APPROVAL_REMINDER ? "still waits for" :
                        "waits for", st ? step_count_approvals(st) : 0, st ? step_approvals_required(st) : 0);
                if (st && st->approval_deadline > 0)
                        fprintf(f, "; it expires at %s", format_timestamp(ts, sizeof ts, st->approval_deadline));
                break;
        case NOTIFY_APPROVAL_EXPIRED:
                fputs(" expired without a decision; not run", f);
                break;
        case NOTIFY_STEP_FAILED:
                fprintf(f, " %s", st ? step_state_to_string(st->state) : "failed");
                if (st && st->error) {
                        fputs(": ", f);
                        text_value(f, st->error);
                }
                break;
        case NOTIFY_SESSION_FINISHED:
                fprintf(f, " ended %s", session_state_to_string(s->state));
                if (s->error) {
                        fputs(": ", f);
                        text_value(f, s->error);
                }
                if (s->review == REVIEW_REQUIRED)
                        fputs(" (a step ran by break-glass: it needs a review)", f);
                break;
        case NOTIFY_BREAK_GLASS:
                fputs(" was run by ", f);
                text_value(f, n->who);
                fputs(" without the approvals it needed. Reason: ", f);
                text_value(f, n->comment);
                break;
        case NOTIFY_REVIEW_NEEDED:
                fprintf(f, " ran a step by break-glass and needs a review by someone else (runbookctl review %" PRIu32 ")",
                        s->id);
                break;
        default:
                break;
        }
        if (url)
                fprintf(f, " %s", url);
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(buf);
}

static json_t *time_json(usec_t t) {
        char b[TIMESTAMP_MAX];

        return t > 0 ? json_string(format_timestamp(b, sizeof b, t)) : json_null();
}

static json_t *step_json(const Step *st) {
        json_t *by = json_array();
        unsigned attempt = step_decided_attempt(st);

        for (size_t i = 0; by && i < st->n_approvals; i++) {
                const Approval *a = &st->approvals[i];
                if (a->approve && !a->lapsed && a->attempt == attempt)
                        json_array_append_new(by, json_string(a->login_user ?: strempty(a->user)));
        }
        return json_pack("{s:I,s:o,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:o,s:o,s:o,s:{s:I,s:I,s:o},s:o,s:b}",
                         "index", (json_int_t) st->index,
                         "id", st->id ? json_string(st->id) : json_null(),
                         "name", strempty(st->name),
                         "phase", step_phase_to_string(st->phase),
                         "state", step_state_to_string(st->state),
                         "target", strempty(st->target),
                         "connector", strempty(st->connector),
                         "command", strempty(st->command),
                         "digest", strempty(st->digest),
                         "attempt", (json_int_t) st->attempt,
                         "exit_status", st->exit_status >= 0 ? json_integer(st->exit_status) : json_null(),
                         "error", st->error ? json_string(st->error) : json_null(),
                         "deadline", time_json(st->approval_deadline),
                         "approvals",
                                 "given", (json_int_t) step_count_approvals(st),
                                 "needed", (json_int_t) (st->requires_approval ? step_approvals_required(st) : 0),
                                 "by", by ? by : json_array(),
                         "finished_at", time_json(st->finished_at),
                         "requires_approval", st->requires_approval);
}

static json_t *notify_doc(Engine *e, const Session *s, const PendingNotify *n) {
        const Step *st = n->step >= 0 && (size_t) n->step < s->n_steps ? &s->steps[n->step] : NULL;
        _cleanup_free_ char *url = notify_config_session_url(e->notify, s->id), *text = NULL;
        char host[256] = "";
        json_t *doc;

        if (gethostname(host, sizeof host - 1) < 0)
                strcpy(host, "?");
        text = make_text(s, st, n, host, url);
        doc = json_pack("{s:s,s:o,s:I,s:s,s:I,s:s,s:o,s:s,s:s,s:o,s:o,s:o,s:s}",
                        "event", notify_event_to_string(n->event),
                        "time", time_json(n->time),
                        "time_usec", (json_int_t) n->time,
                        "host", host,
                        "session", (json_int_t) s->id,
                        "runbook", strempty(s->runbook),
                        "reference", s->reference ? json_string(s->reference) : json_null(),
                        "state", session_state_to_string(s->state),
                        "created_by", s->creator_login_name ?: strempty(s->creator_name),
                        "error", s->error ? json_string(s->error) : json_null(),
                        "url", url ? json_string(url) : json_null(),
                        "step", st ? step_json(st) : json_null(),
                        "text", strempty(text));
        if (!doc)
                return NULL;
        if (st) {
                /* the approval figures and deadline at the top too: what a chat template wants first */
                json_object_set_new(doc, "deadline", time_json(st->approval_deadline));
                json_object_set(doc, "approvals", json_object_get(json_object_get(doc, "step"), "approvals"));
        }
        if (n->who)
                json_object_set_new(doc, "by", json_string(n->who));
        if (n->comment)
                json_object_set_new(doc, n->event == NOTIFY_BREAK_GLASS ? "reason" : "comment", json_string(n->comment));
        if (s->review != REVIEW_NONE)
                json_object_set_new(doc, "review", json_string(review_state_to_string(s->review)));
        return doc;
}

json_t *engine_notify_records(Engine *e, Session *s) {
        SessionRuntime *rt = session_rt(s);
        json_t *records = NULL;

        for (size_t i = 0; i < rt->n_notify; i++) {
                const PendingNotify *n = &rt->notify[i];
                _cleanup_(json_decrefp) json_t *sinks = notify_config_route(e->notify, n->event, s->runbook);
                json_t *doc, *rec;

                if (!sinks)
                        continue;
                doc = notify_doc(e, s, n);
                rec = doc ? json_pack("{s:O,s:I,s:o}", "sinks", sinks, "created", (json_int_t) n->time, "doc", doc) : NULL;
                if (!rec || (!records && !(records = json_array())) || json_array_append_new(records, rec) < 0) {
                        log_error("Session %u: out of memory for its %s notification; it is not sent.", s->id,
                                  notify_event_to_string(n->event));
                        continue;
                }
        }
        return records;
}

void engine_notify_write(StoreTxn *t, Store *store, json_t *records) {
        size_t i;
        json_t *rec;

        json_array_foreach(records, i, rec) {
                uint64_t seq = store_outbox_next(t);
                char id[128];

                /* the event's id, the same for every sink and every attempt: "<store id>-<seq>" */
                (void) snprintf(id, sizeof id, "%s-%" PRIu64, store_id(store), seq);
                if (json_object_set_new(json_object_get(rec, "doc"), "event_id", json_string(id)) < 0) {
                        t->ret = -ENOMEM;
                        return;
                }
                store_outbox_add(t, seq, rec);
        }
}
