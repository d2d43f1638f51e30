/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-journal.h>

#include "journal/catalog-ids.h"
#include "journal/events.h"
#include "shared/log.h"

#define FIELDS_MAX 32
#define RETENTION_IDS_TEXT_MAX (32 * 11 + 1)   /* a batch's ids, space-separated */

static bool use_journal = true;
static char store_id[40];

void events_init(const char *id) {
        snprintf(store_id, sizeof store_id, "%s", strempty(id));
        use_journal = access("/run/systemd/journal/socket", W_OK) == 0;
        if (!use_journal)
                log_info("No journal socket; execution records go to stderr.");
}

/* One record: its fields are formatted into one buffer (a field that does not fit gets a heap
 * copy of its own), so that sending a record costs no allocation in the common case. */
typedef struct Record {
        struct iovec iov[FIELDS_MAX];
        bool heap[FIELDS_MAX];
        size_t n;
        size_t used;
        bool oom;
        char buf[8192];
} Record;

/* Not '= {}': that would clear the whole buffer for every record. */
#define RECORD(r)                              \
        Record r;                              \
        r.n = r.used = 0;                      \
        r.oom = false

static void rec_add(Record *r, const char *field, const char *fmt, ...) _printf_(3, 4);
static void rec_add(Record *r, const char *field, const char *fmt, ...) {
        size_t avail, flen = strlen(field);
        char *p;
        va_list ap;
        int k;

        if (r->oom || r->n >= FIELDS_MAX)
                return;
        avail = sizeof r->buf - r->used;
        p = r->buf + r->used;
        k = -1;
        if (avail > flen + 1) {
                memcpy(p, field, flen);
                p[flen] = '=';
                va_start(ap, fmt);
                k = vsnprintf(p + flen + 1, avail - flen - 1, fmt, ap);
                va_end(ap);
        }
        if (k >= 0 && (size_t) k < avail - flen - 1) {
                r->iov[r->n] = (struct iovec) { .iov_base = p, .iov_len = flen + 1 + (size_t) k };
                r->heap[r->n++] = false;
                r->used += flen + 1 + (size_t) k + 1;
                return;
        }

        /* too long for what is left of the buffer */
        char *value = NULL, *line = NULL;
        va_start(ap, fmt);
        (void) vasprintf_safe(&value, fmt, ap);
        va_end(ap);
        if (!value || asprintf(&line, "%s=%s", field, value) < 0) {
                free(value);
                r->oom = true;
                return;
        }
        free(value);
        r->iov[r->n] = (struct iovec) { .iov_base = line, .iov_len = strlen(line) };
        r->heap[r->n++] = true;
}

static void rec_session(Record *r, const Session *s) {
        rec_add(r, "RUNBOOK_SESSION", "%u", s->id);
        if (store_id[0])
                rec_add(r, "RUNBOOK_STORE_ID", "%s", store_id);
        rec_add(r, "RUNBOOK_NAME", "%s", s->runbook);
        rec_add(r, "RUNBOOK_REFERENCE", "%s", strempty(s->reference));
}

static void rec_step_fields(Record *r, const Step *st, const char *target, const char *connector) {
        rec_session(r, st->session);
        rec_add(r, "RUNBOOK_STEP", "%u", st->index);
        rec_add(r, "RUNBOOK_STEP_NAME", "%s", st->name);
        rec_add(r, "RUNBOOK_PHASE", "%s", step_phase_to_string(st->phase));
        rec_add(r, "RUNBOOK_TARGET", "%s", target);
        rec_add(r, "RUNBOOK_CONNECTOR", "%s", connector);
        rec_add(r, "RUNBOOK_DIGEST", "%s", st->digest);
        rec_add(r, "RUNBOOK_ATTEMPT", "%u", st->attempt);
}

static void rec_step(Record *r, const Step *st) {
        rec_step_fields(r, st, st->target, st->connector);
}

/* A host of a group step: the step's fields, with the host as the target. */
static void rec_host(Record *r, const HostRun *h) {
        rec_step_fields(r, h->step, h->target, h->connector);
        rec_add(r, "RUNBOOK_GROUP", "%s", h->step->target);
        rec_add(r, "RUNBOOK_HOST_INDEX", "%u", h->index);
}

/* RUNBOOK_CAPTURED_<NAME> (upper case: capture names differ in more than case) for each value
 * the step captured. */
static void rec_captured(Record *r, const Step *st) {
        const char *key;
        json_t *value;

        json_object_foreach(st->captured, key, value) {
                char field[sizeof "RUNBOOK_CAPTURED_" + 64];
                size_t k = strlen("RUNBOOK_CAPTURED_");

                memcpy(field, "RUNBOOK_CAPTURED_", k);
                for (const char *p = key; *p && k < sizeof field - 1; p++)
                        field[k++] = *p >= 'a' && *p <= 'z' ? (char) (*p - 'a' + 'A') : *p;
                field[k] = 0;
                rec_add(r, field, "%s", json_string_value(value));
        }
}

/* Without a journal: one line on stderr, MESSAGE first, then the other fields quoted. */
static void rec_write_line(Record *r) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return;
        for (size_t i = 0; i < r->n; i++)
                if (strncmp(r->iov[i].iov_base, "MESSAGE=", 8) == 0)
                        fputs((char *) r->iov[i].iov_base + 8, f);
        for (size_t i = 0; i < r->n; i++) {
                const char *field = r->iov[i].iov_base, *eq = strchr(field, '=');

                if (strncmp(field, "MESSAGE=", 8) == 0 || !eq)
                        continue;
                fprintf(f, " %.*s=\"", (int) (eq - field), field);
                for (const char *p = eq + 1; *p; p++) {
                        if (*p == '\n') {
                                fputs("\\n", f);
                                continue;
                        }
                        if (*p == '"' || *p == '\\')
                                fputc('\\', f);
                        fputc(*p, f);
                }
                fputc('"', f);
        }
        fputc('\n', f);
        if (fclose(f) == 0)
                (void) loop_write(STDERR_FILENO, buf, size);
}

/* Sends the record and frees it. */
static void rec_send(Record *r) {
        if (!r->oom) {
                int q = use_journal ? sd_journal_sendv(r->iov, (int) r->n) : -ENOTCONN;
                if (q < 0)
                        /* no journal (or a socket nobody listens on any more): the record is
                         * not lost, it goes to stderr */
                        rec_write_line(r);
        }
        for (size_t i = 0; i < r->n; i++)
                if (r->heap[i])
                        free(r->iov[i].iov_base);
        r->n = 0;
}

/* PREFIX_UID and PREFIX (uid and name), and PREFIX_LOGIN_UID and PREFIX_LOGIN when the caller
 * had a login uid (see Identity in session.h); 'who' gets what a message names. */
static void rec_who(Record *r, const char *prefix, uid_t uid, const char *user, uid_t login_uid, const char *login) {
        char f[64];

        (void) snprintf(f, sizeof f, "%s_UID", prefix);
        rec_add(r, f, "%u", (unsigned) uid);
        rec_add(r, prefix, "%s", strempty(user));
        if (uid_is_valid(login_uid)) {
                (void) snprintf(f, sizeof f, "%s_LOGIN_UID", prefix);
                rec_add(r, f, "%u", (unsigned) login_uid);
                (void) snprintf(f, sizeof f, "%s_LOGIN", prefix);
                rec_add(r, f, "%s", strempty(login));
        }
}

/* "alice", or "alice (as root)" */
static char *who_text(const char *user, uid_t uid, uid_t login_uid, const char *login) {
        Identity id = { .uid = uid, .user = (char *) user, .login_uid = login_uid, .login_user = (char *) login };
        return identity_describe(&id);
}

void event_session_started(const Session *s) {
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_SESSION_STARTED_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_NOTICE);
        _cleanup_free_ char *who = who_text(s->creator_name, s->creator_uid, s->creator_login_uid,
                                            s->creator_login_name);
        rec_add(&r, "MESSAGE", "[SESSION_START] Session %u started from runbook %s by %s", s->id, s->runbook,
                strna(who));
        rec_session(&r, s);
        rec_who(&r, "RUNBOOK_CREATOR", s->creator_uid, s->creator_name, s->creator_login_uid, s->creator_login_name);
        rec_send(&r);
}

void event_session_finished(const Session *s, uint64_t audit_seq, const char *audit_head) {
        RECORD(r);
        const char *state = session_state_to_string(s->state);
        unsigned failed = session_failed_steps(s);
        char allowed[160] = "";
        size_t n = 0;

        if (s->rollback != ROLLBACK_NONE)
                n = (size_t) snprintf(allowed, sizeof allowed, "; rollback %s", rollback_state_to_string(s->rollback));
        if (failed > 0 && n < sizeof allowed)
                snprintf(allowed + n, sizeof allowed - n, "; %u step%s failed, allowed by on_failure: continue%s",
                         failed, failed == 1 ? "" : "s", session_finally_failed(s) ? " or as finally steps" : "");
        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_SESSION_FINISHED_STR);
        rec_add(&r, "PRIORITY", "%d", s->state == SESSION_SUCCEEDED ? LOG_NOTICE : LOG_WARNING);
        if (s->error)
                rec_add(&r, "MESSAGE", "[SESSION_END] Session %u finished: %s (%s%s)", s->id, state, s->error, allowed);
        else if (allowed[0])
                rec_add(&r, "MESSAGE", "[SESSION_END] Session %u finished: %s (%s)", s->id, state, allowed + 2);
        else
                rec_add(&r, "MESSAGE", "[SESSION_END] Session %u finished: %s", s->id, state);
        rec_session(&r, s);
        rec_add(&r, "RUNBOOK_SESSION_STATE", "%s", state);
        rec_add(&r, "RUNBOOK_FAILED_STEPS", "%u", failed);
        if (s->rollback != ROLLBACK_NONE)
                rec_add(&r, "RUNBOOK_ROLLBACK", "%s", rollback_state_to_string(s->rollback));
        if (s->error)
                rec_add(&r, "RUNBOOK_ERROR", "%s", s->error);
        if (!isempty(audit_head)) {
                rec_add(&r, "RUNBOOK_AUDIT_SEQ", "%llu", (unsigned long long) audit_seq);
                rec_add(&r, "RUNBOOK_AUDIT_HEAD", "%s", audit_head);
        }
        rec_send(&r);
}

void event_step_starting(const Step *st) {
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_STEP_STARTING_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_INFO);
        rec_add(&r, "MESSAGE", "[EXECUTE_STEP] Starting execution of step %u (%s) in session %u", st->index,
                st->name, st->session->id);
        rec_step(&r, st);
        rec_send(&r);
}

void event_step_executing(const Step *st, const char *detail) {
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_STEP_EXECUTING_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_INFO);
        rec_add(&r, "MESSAGE", "[EXECUTE_STEP] Executing command via connector %s on %s", st->connector, st->target);
        rec_step(&r, st);
        if (detail)
                rec_add(&r, "RUNBOOK_CONNECTION", "%s", detail);
        rec_send(&r);
}

void event_step_result(const Step *st, bool success, const StepResult *res) {
        char dur[DURATION_MAX];
        RECORD(r);

        format_duration(dur, sizeof dur, res ? res->duration_usec : 0);
        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_STEP_RESULT_STR);
        rec_add(&r, "PRIORITY", "%d", success ? LOG_INFO : LOG_ERR);
        if (st->n_hosts > 0) {
                /* a group step: the summary of its hosts (each has a host result record) */
                unsigned ok = 0, failed = 0, other = 0;
                for (size_t i = 0; i < st->n_hosts; i++) {
                        StepState hs = st->hosts[i].state;
                        if (hs == STEP_SUCCEEDED)
                                ok++;
                        else if (hs == STEP_FAILED || hs == STEP_TIMED_OUT || hs == STEP_CANCELLED)
                                failed++;
                        else
                                other++;
                }
                rec_add(&r, "MESSAGE", "[EXECUTE_STEP] Command execution result: success=%s exit_status=%d duration=%s "
                        "hosts=%zu succeeded=%u failed=%u not_run=%u%s%s", success ? "true" : "false", st->exit_status,
                        dur, st->n_hosts, ok, failed, other, !success && st->error ? ": " : "",
                        !success && st->error ? st->error : "");
                rec_add(&r, "RUNBOOK_HOSTS", "%zu", st->n_hosts);
                rec_add(&r, "RUNBOOK_HOSTS_SUCCEEDED", "%u", ok);
                rec_add(&r, "RUNBOOK_HOSTS_FAILED", "%u", failed);
                rec_add(&r, "RUNBOOK_HOSTS_NOT_RUN", "%u", other);
        } else if (success || !st->error)
                rec_add(&r, "MESSAGE", "[EXECUTE_STEP] Command execution result: success=%s exit_status=%d duration=%s",
                        success ? "true" : "false", st->exit_status, dur);
        else
                rec_add(&r, "MESSAGE", "[EXECUTE_STEP] Command execution result: success=false exit_status=%d duration=%s: %s",
                        st->exit_status, dur, st->error);
        rec_step(&r, st);
        rec_add(&r, "RUNBOOK_SUCCESS", "%s", success ? "true" : "false");
        rec_add(&r, "RUNBOOK_EXIT_STATUS", "%d", st->exit_status);
        rec_add(&r, "RUNBOOK_DURATION_USEC", "%llu", (unsigned long long) (res ? res->duration_usec : 0));
        rec_add(&r, "RUNBOOK_STEP_STATE", "%s", step_state_to_string(st->state));
        if (st->signal > 0)
                rec_add(&r, "RUNBOOK_SIGNAL", "%d", st->signal);
        if (st->error)
                rec_add(&r, "RUNBOOK_ERROR", "%s", st->error);
        if (success)
                rec_captured(&r, st);
        if (res && res->connection)
                rec_add(&r, "RUNBOOK_CONNECTION", "%s", res->connection);
        if (res && res->outcome == OUTCOME_ERROR && res->error < 0)
                rec_add(&r, "ERRNO", "%d", -res->error);
        rec_send(&r);
}

void event_step_captured(const Step *st) {
        _cleanup_free_ char *list = NULL;
        const char *key;
        json_t *value;
        RECORD(r);

        json_object_foreach(st->captured, key, value) {
                char *l = NULL;
                if (asprintf_safe(&l, "%s%s%s=%s", strempty(list), list ? ", " : "", key, json_string_value(value)) < 0)
                        return;
                free(list);
                list = l;
        }
        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_STEP_CAPTURED_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_INFO);
        rec_add(&r, "MESSAGE", "[CAPTURE] Step %u (%s) in session %u captured %s", st->index, st->name,
                st->session->id, strempty(list));
        rec_step(&r, st);
        rec_captured(&r, st);
        rec_send(&r);
}

void event_step_skipped(const Step *st, json_t *seen) {
        _cleanup_free_ char *values = seen ? json_dumps(seen, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_STEP_SKIPPED_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_NOTICE);
        rec_add(&r, "MESSAGE", "[SKIP_STEP] Step %u (%s) in session %u skipped: its condition %s is false (values: %s)",
                st->index, st->name, st->session->id, strna(st->when), strna(values));
        rec_step(&r, st);
        rec_add(&r, "RUNBOOK_WHEN", "%s", strna(st->when));
        rec_add(&r, "RUNBOOK_WHEN_VALUES", "%s", strna(values));
        rec_send(&r);
}

static unsigned phase_count(const Session *s, StepPhase p) {
        unsigned n = 0;
        for (size_t i = 0; i < s->n_steps; i++)
                n += s->steps[i].phase == p;
        return n;
}

void event_rollback_started(const Session *s) {
        RECORD(r);
        unsigned n = phase_count(s, PHASE_ROLLBACK);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_ROLLBACK_STARTED_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_WARNING);
        rec_add(&r, "MESSAGE", "[ROLLBACK_START] Session %u rolls back (%u step%s): %s", s->id, n, n == 1 ? "" : "s",
                strna(s->outcome_error));
        rec_session(&r, s);
        rec_add(&r, "RUNBOOK_OUTCOME", "%s", strna(session_state_to_string(s->outcome)));
        rec_add(&r, "RUNBOOK_ERROR", "%s", strna(s->outcome_error));
        rec_add(&r, "RUNBOOK_ROLLBACK_STEPS", "%u", n);
        rec_send(&r);
}

void event_rollback_ended(const Session *s, const Step *at) {
        const char *state = rollback_state_to_string(s->rollback);
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_ROLLBACK_ENDED_STR);
        rec_add(&r, "PRIORITY", "%d", s->rollback == ROLLBACK_SUCCEEDED ? LOG_NOTICE : LOG_WARNING);
        if (at)
                rec_add(&r, "MESSAGE", "[ROLLBACK_END] Session %u rollback %s at step %u (%s): %s", s->id, state,
                        at->index, at->name, strna(at->error));
        else
                rec_add(&r, "MESSAGE", "[ROLLBACK_END] Session %u rollback %s", s->id, state);
        rec_session(&r, s);
        rec_add(&r, "RUNBOOK_ROLLBACK", "%s", state);
        rec_add(&r, "RUNBOOK_OUTCOME", "%s", strna(session_state_to_string(s->outcome)));
        if (at) {
                rec_add(&r, "RUNBOOK_STEP", "%u", at->index);
                rec_add(&r, "RUNBOOK_STEP_NAME", "%s", at->name);
                if (at->error)
                        rec_add(&r, "RUNBOOK_ERROR", "%s", at->error);
        }
        rec_send(&r);
}

static void approval_record(const Step *st, const Approval *a, bool approve) {
        _cleanup_free_ char *who = who_text(a->user, a->uid, a->login_uid, a->login_user);
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", approve ? RUNBOOK_MESSAGE_STEP_APPROVED_STR : RUNBOOK_MESSAGE_STEP_REJECTED_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_NOTICE);
        if (approve)
                rec_add(&r, "MESSAGE", "[APPROVE_STEP] Step %u (%s) in session %u approved by %s (%u/%u)", st->index,
                        st->name, st->session->id, strna(who), step_count_approvals(st), step_approvals_required(st));
        else
                rec_add(&r, "MESSAGE", "[REJECT_STEP] Step %u (%s) in session %u rejected by %s", st->index, st->name,
                        st->session->id, strna(who));
        rec_step(&r, st);
        rec_who(&r, "RUNBOOK_APPROVER", a->uid, a->user, a->login_uid, a->login_user);
        if (!isempty(a->comment))
                rec_add(&r, "RUNBOOK_COMMENT", "%s", a->comment);
        rec_send(&r);
}

void event_approval_lapsed(const Step *st, const Approval *a, const char *when) {
        _cleanup_free_ char *who = who_text(a->user, a->uid, a->login_uid, a->login_user);
        usec_t now = now_usec(CLOCK_REALTIME);
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_APPROVAL_LAPSED_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_NOTICE);
        rec_add(&r, "MESSAGE", "[APPROVAL_LAPSED] The approval of step %u (%s) in session %u by %s lapsed: given %llu s "
                "ago, %s (%llu s); %u/%u approvals now", st->index, st->name, st->session->id, strna(who),
                (unsigned long long) ((now > a->time ? now - a->time : 0) / USEC_PER_SEC), strna(when),
                (unsigned long long) (st->approval_valid_for_usec / USEC_PER_SEC), step_count_approvals(st),
                step_approvals_required(st));
        rec_step(&r, st);
        rec_who(&r, "RUNBOOK_APPROVER", a->uid, a->user, a->login_uid, a->login_user);
        rec_add(&r, "RUNBOOK_APPROVAL_TIME", "%llu", (unsigned long long) a->time);
        rec_add(&r, "RUNBOOK_APPROVAL_VALID_FOR_SEC", "%llu", (unsigned long long) (st->approval_valid_for_usec / USEC_PER_SEC));
        rec_send(&r);
}

void event_break_glass(const Step *st, const Approval *a) {
        _cleanup_free_ char *who = who_text(a->user, a->uid, a->login_uid, a->login_user);
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_BREAK_GLASS_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_WARNING);
        rec_add(&r, "MESSAGE", "[BREAK_GLASS] Step %u (%s) in session %u runs by break-glass of %s, without %u of %u "
                "approvals: %s", st->index, st->name, st->session->id, strna(who),
                step_approvals_required(st) - MIN(step_count_approvals(st), step_approvals_required(st)),
                step_approvals_required(st), strempty(a->comment));
        rec_step(&r, st);
        rec_who(&r, "RUNBOOK_APPROVER", a->uid, a->user, a->login_uid, a->login_user);
        rec_add(&r, "RUNBOOK_REASON", "%s", strempty(a->comment));
        rec_add(&r, "RUNBOOK_APPROVALS", "%u", step_count_approvals(st));
        rec_add(&r, "RUNBOOK_APPROVALS_REQUIRED", "%u", step_approvals_required(st));
        rec_send(&r);
}

void event_session_reviewed(const Session *s) {
        const Approval *a = &s->reviewer;
        _cleanup_free_ char *who = who_text(a->user, a->uid, a->login_uid, a->login_user);
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_SESSION_REVIEWED_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_NOTICE);
        rec_add(&r, "MESSAGE", "[REVIEW_SESSION] Session %u (break-glass) reviewed by %s%s%s", s->id, strna(who),
                isempty(a->comment) ? "" : ": ", strempty(a->comment));
        rec_session(&r, s);
        rec_who(&r, "RUNBOOK_REVIEWER", a->uid, a->user, a->login_uid, a->login_user);
        if (!isempty(a->comment))
                rec_add(&r, "RUNBOOK_COMMENT", "%s", a->comment);
        rec_send(&r);
}

void event_step_approved(const Step *st, const Approval *a) {
        approval_record(st, a, true);
}

void event_step_rejected(const Step *st, const Approval *a) {
        approval_record(st, a, false);
}

void event_session_cancelled(const Session *s, const Identity *by) {
        _cleanup_free_ char *who = identity_describe(by);
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_SESSION_CANCELLED_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_NOTICE);
        rec_add(&r, "MESSAGE", "[CANCEL_SESSION] Session %u cancelled by %s", s->id, strna(who));
        rec_session(&r, s);
        rec_who(&r, "RUNBOOK_CANCELLER", by->uid, by->user, by->login_uid, by->login_user);
        rec_send(&r);
}

void event_step_interrupted(const Step *st) {
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_STEP_INTERRUPTED_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_WARNING);
        rec_add(&r, "MESSAGE", "[INTERRUPT_STEP] Step %u (%s) in session %u was running when runbookd stopped; not re-run",
                st->index, st->name, st->session->id);
        rec_step(&r, st);
        rec_send(&r);
}

void event_step_retry(const Step *st, const Identity *by) {
        _cleanup_free_ char *who = identity_describe(by);
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_STEP_RETRY_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_NOTICE);
        rec_add(&r, "MESSAGE", "[RETRY_STEP] Step %u (%s) in session %u re-armed for attempt %u by %s", st->index,
                st->name, st->session->id, st->attempt, strna(who));
        rec_step(&r, st);
        rec_who(&r, "RUNBOOK_REQUESTER", by->uid, by->user, by->login_uid, by->login_user);
        rec_send(&r);
}

void event_step_retry_scheduled(const Step *st) {
        usec_t delay = st->retry_delay_usec;
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_RETRY_SCHEDULED_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_WARNING);
        rec_add(&r, "MESSAGE", "[RETRY_SCHEDULED] Step %u (%s) in session %u: attempt %u %s (%s); attempt %u (retry %u of %u) "
                "starts by itself in %llu s",
                st->index, st->name, st->session->id, st->attempt, st->state == STEP_TIMED_OUT ? "timed out" : "failed",
                strna(st->error), st->attempt + 1, st->retries_done + 1, st->retries,
                (unsigned long long) ((delay + USEC_PER_SEC - 1) / USEC_PER_SEC));
        rec_step(&r, st);
        rec_add(&r, "RUNBOOK_ERROR", "%s", strna(st->error));
        rec_add(&r, "RUNBOOK_NEXT_ATTEMPT", "%u", st->attempt + 1);
        rec_add(&r, "RUNBOOK_RETRY", "%u", st->retries_done + 1);
        rec_add(&r, "RUNBOOK_RETRIES", "%u", st->retries);
        rec_add(&r, "RUNBOOK_RETRY_DELAY_SEC", "%llu", (unsigned long long) (delay / USEC_PER_SEC));
        rec_add(&r, "RUNBOOK_RETRY_AT", "%llu", (unsigned long long) st->retry_at);
        rec_send(&r);
}

static void rec_deadline(Record *r, const Step *st) {
        rec_add(r, "RUNBOOK_APPROVAL_DEADLINE", "%llu", (unsigned long long) st->approval_deadline);
        rec_add(r, "RUNBOOK_APPROVAL_TIMEOUT_SEC", "%llu", (unsigned long long) (st->approval_timeout_usec / USEC_PER_SEC));
        rec_add(r, "RUNBOOK_APPROVALS", "%u", step_count_approvals(st));
        rec_add(r, "RUNBOOK_APPROVALS_REQUIRED", "%u", step_approvals_required(st));
}

void event_step_expired(const Step *st) {
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_STEP_EXPIRED_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_WARNING);
        rec_add(&r, "MESSAGE", "[EXPIRE_STEP] Step %u (%s) in session %u expired: no decision within %llu s "
                "(%u of %u approvals); not run",
                st->index, st->name, st->session->id, (unsigned long long) (st->approval_timeout_usec / USEC_PER_SEC),
                step_count_approvals(st), step_approvals_required(st));
        rec_step(&r, st);
        rec_deadline(&r, st);
        rec_send(&r);
}

void event_approval_reminder(const Step *st) {
        usec_t now = now_usec(CLOCK_REALTIME);
        usec_t left = st->approval_deadline > now ? st->approval_deadline - now : 0;
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_APPROVAL_REMINDER_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_NOTICE);
        rec_add(&r, "MESSAGE", "[APPROVAL_REMINDER] Step %u (%s) in session %u waits for approval (%u of %u); "
                "it expires in %llu s",
                st->index, st->name, st->session->id, step_count_approvals(st), step_approvals_required(st),
                (unsigned long long) ((left + USEC_PER_SEC - 1) / USEC_PER_SEC));
        rec_step(&r, st);
        rec_deadline(&r, st);
        rec_send(&r);
}

void event_host_executing(const HostRun *h, const char *detail) {
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_HOST_EXECUTING_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_INFO);
        rec_add(&r, "MESSAGE", "[EXECUTE_STEP] Executing command via connector %s on %s (group %s)", h->connector,
                h->target, h->step->target);
        rec_host(&r, h);
        if (detail)
                rec_add(&r, "RUNBOOK_CONNECTION", "%s", detail);
        rec_send(&r);
}

void event_host_result(const HostRun *h, bool success, const StepResult *res) {
        char dur[DURATION_MAX];
        RECORD(r);

        format_duration(dur, sizeof dur, h->duration_usec);
        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_HOST_RESULT_STR);
        rec_add(&r, "PRIORITY", "%d", success ? LOG_INFO : LOG_ERR);
        if (success || !h->error)
                rec_add(&r, "MESSAGE", "[EXECUTE_STEP] Command execution result on %s: success=%s exit_status=%d duration=%s",
                        h->target, success ? "true" : "false", h->exit_status, dur);
        else
                rec_add(&r, "MESSAGE", "[EXECUTE_STEP] Command execution result on %s: success=false exit_status=%d duration=%s: %s",
                        h->target, h->exit_status, dur, h->error);
        rec_host(&r, h);
        rec_add(&r, "RUNBOOK_SUCCESS", "%s", success ? "true" : "false");
        rec_add(&r, "RUNBOOK_EXIT_STATUS", "%d", h->exit_status);
        rec_add(&r, "RUNBOOK_DURATION_USEC", "%llu", (unsigned long long) h->duration_usec);
        rec_add(&r, "RUNBOOK_HOST_STATE", "%s", step_state_to_string(h->state));
        if (h->signal > 0)
                rec_add(&r, "RUNBOOK_SIGNAL", "%d", h->signal);
        if (h->error)
                rec_add(&r, "RUNBOOK_ERROR", "%s", h->error);
        if (res && res->connection)
                rec_add(&r, "RUNBOOK_CONNECTION", "%s", res->connection);
        if (res && res->outcome == OUTCOME_ERROR && res->error < 0)
                rec_add(&r, "ERRNO", "%d", -res->error);
        rec_send(&r);
}

void event_host_interrupted(const HostRun *h) {
        event_host_result(h, false, NULL);
}

/* ---- notifications ---- */

static void rec_store(Record *r) {
        if (store_id[0])
                rec_add(r, "RUNBOOK_STORE_ID", "%s", store_id);
}

void event_notify_gave_up(const char *sink, const char *event, const char *event_id, uint32_t session,
                          unsigned attempts, const char *reason) {
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_NOTIFY_GAVE_UP_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_WARNING);
        rec_add(&r, "MESSAGE", "[NOTIFY] Gave up the %s notification of session %u (event %s) for sink %s after %u "
                "attempt(s): %s", event, session, event_id, sink, attempts, reason);
        rec_add(&r, "RUNBOOK_SESSION", "%u", session);
        rec_store(&r);
        rec_add(&r, "RUNBOOK_NOTIFY_SINK", "%s", sink);
        rec_add(&r, "RUNBOOK_NOTIFY_EVENT", "%s", event);
        rec_add(&r, "RUNBOOK_NOTIFY_EVENT_ID", "%s", event_id);
        rec_add(&r, "RUNBOOK_NOTIFY_ATTEMPTS", "%u", attempts);
        rec_add(&r, "RUNBOOK_NOTIFY_REASON", "%s", reason);
        rec_send(&r);
}

void event_notify_failing(const char *sink, const char *reason, usec_t retry_in) {
        char b[DURATION_MAX];
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_NOTIFY_FAILING_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_WARNING);
        rec_add(&r, "MESSAGE", "[NOTIFY] Sink %s fails: %s; notifications for it wait and are tried again (next in %s)",
                sink, reason, format_duration(b, sizeof b, retry_in));
        rec_store(&r);
        rec_add(&r, "RUNBOOK_NOTIFY_SINK", "%s", sink);
        rec_add(&r, "RUNBOOK_NOTIFY_REASON", "%s", reason);
        rec_send(&r);
}

void event_notify_recovered(const char *sink, unsigned failures) {
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_NOTIFY_RECOVERED_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_INFO);
        rec_add(&r, "MESSAGE", "[NOTIFY] Sink %s works again after %u failed attempt(s)", sink, failures);
        rec_store(&r);
        rec_add(&r, "RUNBOOK_NOTIFY_SINK", "%s", sink);
        rec_add(&r, "RUNBOOK_NOTIFY_ATTEMPTS", "%u", failures);
        rec_send(&r);
}

/* ---- locks between sessions (engine/engine-lock.c) ---- */

static char *locks_joined(const Session *s) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        for (size_t i = 0; s->locks && s->locks[i]; i++)
                fprintf(f, "%s%s", i > 0 ? " " : "", s->locks[i]);
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(buf);
}

void event_lock_waiting(const Step *st, uint32_t holder, unsigned position) {
        _cleanup_free_ char *names = locks_joined(st->session);
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_LOCK_WAITING_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_NOTICE);
        rec_add(&r, "MESSAGE", "[WAIT_LOCK] Session %u waits at step %u (%s) for %s, held by session %u (position %u)",
                st->session->id, st->index, st->name, strna(names), holder, position);
        rec_step(&r, st);
        rec_add(&r, "RUNBOOK_LOCKS", "%s", strna(names));
        rec_add(&r, "RUNBOOK_LOCK_HOLDER", "%u", holder);
        rec_add(&r, "RUNBOOK_LOCK_POSITION", "%u", position);
        rec_send(&r);
}

void event_lock_taken(const Session *s, usec_t waited_usec) {
        _cleanup_free_ char *names = locks_joined(s);
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_LOCK_TAKEN_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_INFO);
        rec_add(&r, "MESSAGE", "[TAKE_LOCK] Session %u took %s (waited %" PRIu64 " ms)", s->id, strna(names),
                waited_usec / USEC_PER_MSEC);
        rec_session(&r, s);
        rec_add(&r, "RUNBOOK_LOCKS", "%s", strna(names));
        rec_add(&r, "RUNBOOK_LOCK_WAITED_USEC", "%" PRIu64, waited_usec);
        rec_send(&r);
}

void event_lock_released(const Session *s, bool held) {
        _cleanup_free_ char *names = locks_joined(s);
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_LOCK_RELEASED_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_INFO);
        if (held)
                rec_add(&r, "MESSAGE", "[RELEASE_LOCK] Session %u released %s", s->id, strna(names));
        else
                rec_add(&r, "MESSAGE", "[RELEASE_LOCK] Session %u stopped waiting for %s", s->id, strna(names));
        rec_session(&r, s);
        rec_add(&r, "RUNBOOK_LOCKS", "%s", strna(names));
        rec_add(&r, "RUNBOOK_LOCK_HELD", "%s", held ? "1" : "0");
        rec_send(&r);
}

/* ---- change windows (engine/engine-window.c) ---- */

static const char *format_utc(char *buf, size_t size, usec_t t) {
        time_t x = (time_t) (t / USEC_PER_SEC);
        struct tm tm;

        if (!gmtime_r(&x, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
                snprintf(buf, size, "@%" PRIu64, (uint64_t) (t / USEC_PER_SEC));
        return buf;
}

void event_window_waiting(const Step *st) {
        char when[64];
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_WINDOW_WAITING_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_NOTICE);
        rec_add(&r, "MESSAGE", "[WAIT_WINDOW] Step %u (%s) in session %u waits until %s: %s", st->index, st->name,
                st->session->id, format_utc(when, sizeof when, st->window_at), strna(st->window_why));
        rec_step(&r, st);
        rec_add(&r, "RUNBOOK_WINDOW_OPENS_AT", "%" PRIu64, (uint64_t) st->window_at);
        rec_add(&r, "RUNBOOK_WINDOW_REASON", "%s", strna(st->window_why));
        rec_send(&r);
}

void event_window_overridden(const Step *st, const char *why) {
        RECORD(r);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_WINDOW_OVERRIDDEN_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_WARNING);
        rec_add(&r, "MESSAGE", "[BREAK_GLASS] Step %u (%s) in session %u runs by break-glass %s", st->index, st->name,
                st->session->id, strna(why));
        rec_step(&r, st);
        rec_add(&r, "RUNBOOK_WINDOW_REASON", "%s", strna(why));
        rec_send(&r);
}

/* ---- retention ---- */

void event_sessions_pruned(const uint32_t *ids, size_t n, size_t by_age, size_t by_count, unsigned max_age_days,
                           unsigned max_sessions) {
        char list[RETENTION_IDS_TEXT_MAX] = "", why[160] = "", first_last[48];
        uint32_t lo = UINT32_MAX, hi = 0;
        size_t used = 0;
        RECORD(r);

        if (n == 0)
                return;
        for (size_t i = 0; i < n; i++) {
                int k = snprintf(list + used, sizeof list - used, "%s%" PRIu32, i > 0 ? " " : "", ids[i]);
                if (k < 0 || (size_t) k >= sizeof list - used)
                        break;
                used += (size_t) k;
                lo = MIN(lo, ids[i]);
                hi = MAX(hi, ids[i]);
        }
        if (by_age > 0 && by_count > 0)
                (void) snprintf(why, sizeof why, "%zu finished more than %u days ago, %zu beyond the newest %u finished",
                                by_age, max_age_days, by_count, max_sessions);
        else if (by_age > 0)
                (void) snprintf(why, sizeof why, "finished more than %u days ago", max_age_days);
        else
                (void) snprintf(why, sizeof why, "beyond the newest %u finished sessions", max_sessions);
        if (lo == hi)
                (void) snprintf(first_last, sizeof first_last, "%" PRIu32, lo);
        else
                (void) snprintf(first_last, sizeof first_last, "%" PRIu32 "..%" PRIu32, lo, hi);

        rec_add(&r, "MESSAGE_ID", "%s", RUNBOOK_MESSAGE_SESSIONS_PRUNED_STR);
        rec_add(&r, "PRIORITY", "%d", LOG_INFO);
        rec_add(&r, "MESSAGE", "[RETENTION] Removed %zu finished session%s (%s) from the store: %s", n,
                n == 1 ? "" : "s", first_last, why);
        rec_store(&r);
        rec_add(&r, "RUNBOOK_PRUNED_COUNT", "%zu", n);
        rec_add(&r, "RUNBOOK_PRUNED_SESSIONS", "%s", list);
        rec_add(&r, "RUNBOOK_PRUNED_FIRST", "%" PRIu32, lo);
        rec_add(&r, "RUNBOOK_PRUNED_LAST", "%" PRIu32, hi);
        rec_add(&r, "RUNBOOK_PRUNE_REASON", "%s",
                by_age > 0 && by_count > 0 ? "age,count" : by_age > 0 ? "age" : "count");
        rec_add(&r, "RUNBOOK_PRUNED_BY_AGE", "%zu", by_age);
        rec_add(&r, "RUNBOOK_PRUNED_BY_COUNT", "%zu", by_count);
        if (max_age_days > 0)
                rec_add(&r, "RUNBOOK_RETENTION_MAX_AGE_DAYS", "%u", max_age_days);
        if (max_sessions > 0)
                rec_add(&r, "RUNBOOK_RETENTION_MAX_SESSIONS", "%u", max_sessions);
        rec_send(&r);
}
