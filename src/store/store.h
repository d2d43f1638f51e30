/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store.h: the LMDB environment in the state directory, with sticky-error transactions and
 * a map that grows on MDB_MAP_FULL. Only the daemon's loop thread uses it.
 *
 * Named databases; integer keys are big-endian so that cursors iterate in order:
 *   meta      "next_session_id", "audit_seq", "start_seq" (the start log's watermark), "store_id"
 *             (16 random bytes, made when the store is created), "boot_id" (the machine's boot
 *             when it was last opened)
 *   sessions  be32 id                               -> session record (JSON)
 *             be32 id | 's'                         -> the runbook as it was at creation (JSON)
 *   steps     be32 id | be32 index                  -> step record (JSON)
 *             be32 id | be32 index | be32 host      -> a group step's host record (JSON)
 *   output    be32 id | be32 index | u8 stream | be32 chunk -> bytes
 *             be32 id | be32 index | 'h' | be32 host | u8 stream | be32 chunk -> a host's bytes
 *   audit     be64 seq                              -> event (JSON), append-only
 *   active    be32 id                               -> "" (sessions not finished)
 *   outbox    be64 seq                              -> a notification not yet delivered to every
 *             sink it is for (JSON: {"sinks": [...], "created": usec, "doc": {...}}); meta
 *             "outbox_seq" is the last seq given (store-outbox.c)
 * (store-records.c writes and reads the record keys; the start log is a file of its own.)
 *
 * Commits are made without fsync; store_sync() makes everything committed so far durable,
 * so that concurrent requests share one fsync (group commit). Callers sync before acting on
 * a transition or announcing it. */
#pragma once

#include <lmdb.h>

#include "shared/bytes.h"
#include "shared/util.h"

typedef enum StoreDb {
        DB_META,
        DB_SESSIONS,
        DB_STEPS,
        DB_OUTPUT,
        DB_AUDIT,
        DB_ACTIVE,
        DB_OUTBOX,
        _DB_MAX,
} StoreDb;

typedef struct Store Store;

typedef struct StoreTxn {
        Store *store;
        MDB_txn *txn;
        int ret;                  /* sticky: the first error; every later operation is a no-op */
} StoreTxn;

int store_open(const char *dir, Store **ret);
/* The same, with an initial map size and the most it may grow to (for tests and tuning). */
int store_open_sized(const char *dir, size_t initial_map, size_t max_map, Store **ret);
Store *store_free(Store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_free);

/* Runs 'fn' in a write transaction and commits it. On MDB_MAP_FULL the transaction is aborted,
 * the map grows, and 'fn' runs again (so 'fn' must only write, from state it does not change).
 * Returns fn's negative error, -ENOSPC when the map cannot grow further, or 0. */
typedef int (*store_write_fn)(StoreTxn *t, void *userdata);
int store_write(Store *s, store_write_fn fn, void *userdata);

int store_read_begin(Store *s, StoreTxn *t);
void store_read_end(StoreTxn *t);

/* Makes all commits durable (fdatasync); a no-op if nothing was committed since the last sync. */
int store_sync(Store *s);
bool store_needs_sync(Store *s);

void store_put(StoreTxn *t, StoreDb db, const void *key, size_t klen, const void *val, size_t vlen);
void store_del(StoreTxn *t, StoreDb db, const void *key, size_t klen);
/* Deletes every key that begins with 'prefix'. */
void store_del_prefix(StoreTxn *t, StoreDb db, const void *prefix, size_t plen);
/* The same, deleting at most *budget keys (bounded work in one transaction), and taking those
 * deleted off *budget: 1 when no key with the prefix is left, 0 when the budget ran out first,
 * or the transaction's (sticky) error. */
int store_del_prefix_bounded(StoreTxn *t, StoreDb db, const void *prefix, size_t plen, size_t *budget);
/* 0 and the value (valid until the transaction ends), -ENOENT, or another error. */
int store_get(StoreTxn *t, StoreDb db, const void *key, size_t klen, MDB_val *ret);

/* Iterates the keys that begin with 'prefix' (all keys when plen is 0), in order, or in reverse
 * order. The callback returns 0 to go on, > 0 to stop, < 0 to fail. */
typedef int (*store_foreach_fn)(const MDB_val *key, const MDB_val *val, void *userdata);
int store_foreach(StoreTxn *t, StoreDb db, const void *prefix, size_t plen, bool reverse,
                  store_foreach_fn fn, void *userdata);

/* Iterates the keys below 'key' (all keys when klen is 0) in reverse order, from the greatest;
 * the callback as for store_foreach(). */
int store_foreach_below(StoreTxn *t, StoreDb db, const void *key, size_t klen, store_foreach_fn fn, void *userdata);

/* JSON helpers: a record is a compact JSON object. */
#include <jansson.h>
void store_put_json(StoreTxn *t, StoreDb db, const void *key, size_t klen, json_t *v);
int store_get_json(StoreTxn *t, StoreDb db, const void *key, size_t klen, json_t **ret);

/* The store's id (32 hex digits), made when the store was created. */
const char *store_id(Store *s);
/* Whether the store was last opened in this boot of the machine (meta "boot_id"): then nothing
 * committed before a crash of the process is lost (the page cache has it). */
bool store_same_boot(Store *s);

/* meta counters */
uint64_t store_meta_get_u64(StoreTxn *t, const char *name, uint64_t def);
void store_meta_put_u64(StoreTxn *t, const char *name, uint64_t v);

/* Calls 'fn' for each key from the first >= 'from' on, in order (as store_foreach()). */
int store_foreach_from(StoreTxn *t, StoreDb db, const void *from, size_t flen, store_foreach_fn fn, void *userdata);

/* store-audit.c: the audit database, a hash chain. Appends an audit event: its sequence number
 * (meta "audit_seq" + 1) and the SHA-256 of the record before it ("prev", hex) are added, and the
 * record is stored as that exact compact JSON text, whose SHA-256 becomes meta "audit_head". */
void store_audit_append(StoreTxn *t, json_t *event);
#define AUDIT_HASH_HEX 65
/* The last record's sequence number and hash (hex; "" when there is none). */
int store_audit_head(StoreTxn *t, uint64_t *ret_seq, char ret_hash[AUDIT_HASH_HEX]);
/* Calls 'fn' with each record after 'after' (its sequence number from its key, its text as
 * stored), in order, until it returns non-zero; at most 'max' records. */
typedef int (*store_audit_fn)(uint64_t seq, const char *text, size_t len, void *userdata);
int store_audit_read(StoreTxn *t, uint64_t after, size_t max, store_audit_fn fn, void *userdata);

/* store-outbox.c: notifications committed with the transitions that cause them, until delivered.
 * Adds a record (its key: meta "outbox_seq" + 1, returned); the caller puts the event id that
 * names that seq into the record first if it wants one (see store_outbox_next()). */
uint64_t store_outbox_next(StoreTxn *t);
void store_outbox_add(StoreTxn *t, uint64_t seq, json_t *record);
/* Replaces (the sinks still to deliver to changed) or deletes a record. */
void store_outbox_put(StoreTxn *t, uint64_t seq, json_t *record);
void store_outbox_del(StoreTxn *t, uint64_t seq);
/* Calls 'fn' with each record after 'after' (its seq and its JSON text), in order, until it
 * returns non-zero. */
typedef int (*store_outbox_fn)(uint64_t seq, const char *text, size_t len, void *userdata);
int store_outbox_read(StoreTxn *t, uint64_t after, store_outbox_fn fn, void *userdata);
int store_outbox_get(StoreTxn *t, uint64_t seq, json_t **ret);

size_t store_map_size(Store *s);

/* The log of step starts kept beside the environment (see start-log.h). */
typedef struct StartLog StartLog;
StartLog *store_start_log(Store *s);
