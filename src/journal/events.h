/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* events.h: one function per journal event (see docs/journal.md and systemd/runbookd.catalog).
 * Each sends one structured record with sd_journal_send(), or, when no journal socket exists,
 * writes the same fields as one line on stderr. No secret is ever passed here. */
#pragma once

#include "model/result.h"
#include "model/session.h"

/* Decides once whether records go to the journal or to stderr; 'store_id' (the state store's
 * id, see store_id()) goes on every record as RUNBOOK_STORE_ID (NULL: none). */
void events_init(const char *store_id);

void event_session_started(const Session *s);
/* With the audit chain's head after the session's end record (seq 0, "": none). */
void event_session_finished(const Session *s, uint64_t audit_seq, const char *audit_head);
void event_step_starting(const Step *st);
void event_step_executing(const Step *st, const char *detail);
void event_step_result(const Step *st, bool success, const StepResult *res);
/* The values the step captured from its output ("capture"), after its result record. */
void event_step_captured(const Step *st);
/* The step was skipped because its condition ("when") was false; 'seen': the values it saw. */
void event_step_skipped(const Step *st, json_t *seen);
/* The main steps ended without success ('why', the session's outcome): its rollback steps run. */
void event_rollback_started(const Session *s);
/* Its rollback ended (s->rollback), at step 'at' (NULL: all of its steps ran). */
void event_rollback_ended(const Session *s, const Step *at);
void event_step_approved(const Step *st, const Approval *a);
void event_step_rejected(const Step *st, const Approval *a);
void event_session_cancelled(const Session *s, const Identity *by);
void event_step_interrupted(const Step *st);
void event_step_retry(const Step *st, const Identity *by);
/* The step's attempt failed and the next starts by itself at its retry_at ("retries"). */
/* A step runs by break-glass (warning priority; the approval's comment is the reason). */
void event_break_glass(const Step *st, const Approval *a);
/* A session that ran a step by break-glass was reviewed (Session.reviewer). */
void event_session_reviewed(const Session *s);
/* An approval stopped counting: older than the step's approval_valid_for ('when' says at what point). */
void event_approval_lapsed(const Step *st, const Approval *a, const char *when);
/* A step got no decision by its approval deadline (it expired; the session ends expired). */
void event_step_expired(const Step *st);
/* A step waiting for approval is reminded of ("remind_before" before its deadline). */
void event_approval_reminder(const Step *st);
void event_step_retry_scheduled(const Step *st);
/* The hosts of a step on a target group: RUNBOOK_TARGET is the host, RUNBOOK_GROUP the group. */
void event_host_executing(const HostRun *h, const char *detail);
void event_host_result(const HostRun *h, bool success, const StepResult *res);
void event_host_interrupted(const HostRun *h);

/* Locks between sessions (engine/engine-lock.c): the session waits at step 'st' for its locks,
 * one held by session 'holder', at 'position' of the queue; it took them; it released them (or,
 * 'held' false, stopped waiting for them). */
void event_lock_waiting(const Step *st, uint32_t holder, unsigned position);
void event_lock_taken(const Session *s, usec_t waited_usec);
void event_lock_released(const Session *s, bool held);

/* Change windows (engine/engine-window.c): the step waits for its window until st->window_at
 * (st->window_why); a break-glass runs it outside its window ('why' holds it otherwise). */
void event_window_waiting(const Step *st);
void event_window_overridden(const Step *st, const char *why);

/* Notifications (notify/notifier.c). A notification was given up for a sink: too old
 * ("max_age"), refused for good by the sink, the sink's queue full, or the sink no longer
 * configured (warning priority). */
void event_notify_gave_up(const char *sink, const char *event, const char *event_id, uint32_t session,
                          unsigned attempts, const char *reason);
/* A sink's delivery failed after it had worked (or for the first time): once per run of failures;
 * and when it works again. */
void event_notify_failing(const char *sink, const char *reason, usec_t retry_in);
void event_notify_recovered(const char *sink, unsigned failures);

/* Retention removed a batch of finished sessions from the store (ids ascending or as removed;
 * by_age: removed for their age only, by_count: beyond the newest max_sessions). */
void event_sessions_pruned(const uint32_t *ids, size_t n, size_t by_age, size_t by_count, unsigned max_age_days,
                           unsigned max_sessions);
