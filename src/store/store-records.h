/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store-records.h: sessions, steps and their output as store records. */
#pragma once

#include "model/session.h"
#include "store/store.h"

/* Writes the session record; with 'created' (a new session) also its runbook snapshot and its
 * 'active' key, which is deleted once the session is final. */
void store_save_session(StoreTxn *t, const Session *s, bool created);
/* Writes a step's record, or a group host's (beside its step's). Which ones changed is the
 * writer's business: the store keeps no flags. */
void store_save_step(StoreTxn *t, const Step *st);
void store_save_host(StoreTxn *t, const HostRun *h);

/* Loads a session and all its steps. -ENOENT if there is none. */
int store_load_session(StoreTxn *t, uint32_t id, Session **ret);

/* Reads the ids of the active sessions, ascending. */
int store_list_active(StoreTxn *t, uint32_t **ret, size_t *ret_n);

/* Output of a step: replaced as a whole. stream 0 = stdout, 1 = stderr. */
void store_put_output(StoreTxn *t, uint32_t id, uint32_t index, uint8_t stream, const uint8_t *data, size_t n);
void store_del_output(StoreTxn *t, uint32_t id, uint32_t index);
int store_get_output(StoreTxn *t, uint32_t id, uint32_t index, uint8_t stream, uint8_t **ret, size_t *ret_n);
/* Output of host 'host' of a group step (store_del_output() of the step removes it too). */
void store_put_host_output(StoreTxn *t, uint32_t id, uint32_t index, uint32_t host, uint8_t stream,
                           const uint8_t *data, size_t n);
int store_get_host_output(StoreTxn *t, uint32_t id, uint32_t index, uint32_t host, uint8_t stream, uint8_t **ret,
                          size_t *ret_n);

/* Iterates session records newest first; fn gets the parsed session record JSON (borrowed). */
typedef int (*store_session_record_fn)(uint32_t id, json_t *record, void *userdata);
int store_foreach_session(StoreTxn *t, store_session_record_fn fn, void *userdata);

/* What a listing shows of a session, read from its record (strings valid during the callback). */
typedef struct SessionSummary {
        uint32_t id;
        const char *runbook, *reference, *creator_name;
        SessionState state;           /* _SESSION_STATE_INVALID for a record that names none */
        int current_step;
        size_t n_steps;
        uid_t creator_uid;
        usec_t created_at, finished_at;
        bool review_required;         /* a break-glass nobody has reviewed yet */
} SessionSummary;
/* The callback returns 0 to go on, > 0 to stop (the walk can be resumed after this session),
 * < 0 to fail. */
typedef int (*store_session_summary_fn)(const SessionSummary *s, void *userdata);
/* Walks the sessions newest first, from the one below id 'before' (0: from the newest), reading
 * at most 'max_read' session records (bounded work per call). *ret_next is the id to pass as
 * 'before' to go on, or 0 when the walk reached the oldest session. */
int store_walk_sessions(StoreTxn *t, uint32_t before, size_t max_read, store_session_summary_fn fn, void *userdata,
                        uint32_t *ret_next);

/* store-prune.c: deletes every record of finished session 'id' — its output chunks, steps and group
 * hosts, then its record and runbook snapshot — deleting at most about *budget keys (taken off it).
 * 1: the session is gone; 0: the budget ran out first (its record is still there: call again);
 * -EBUSY: the session is active (in the 'active' database), nothing is deleted; or the
 * transaction's error. Audit records, the outbox and meta are left alone. */
int store_prune_session(StoreTxn *t, uint32_t id, size_t *budget);
