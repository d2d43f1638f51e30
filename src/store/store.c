/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/stat.h>
#include <systemd/sd-id128.h>

#include "shared/log.h"
#include "store/start-log.h"
#include "store/store-lock.h"
#include "store/store.h"

#define STORE_MAP_INITIAL ((size_t) 64 << 20)
#define STORE_MAP_MAX ((size_t) 64 << 30)

struct Store {
        MDB_env *env;
        StartLog *start_log;
        MDB_dbi dbi[_DB_MAX];
        size_t map_size;
        size_t map_max;
        bool dirty;
        /* A read transaction on the last synced snapshot. LMDB reuses the pages of a snapshot
         * no reader holds; with MDB_NOSYNC the transactions committed since the last sync could
         * otherwise write over the pages of the one snapshot that is certainly on disk, and a
         * crash of the machine in between would leave neither whole. Renewed at every sync. */
        MDB_txn *pin;
        int fd;                   /* data.mdb, for early writeback; -1 if unknown */
        int lock_fd;              /* DIR/runbookd.lock, locked (store-lock.c) */
        off_t data_start;         /* past the two meta pages */
        char id[SD_ID128_STRING_MAX];
        bool same_boot;           /* the store was last opened since this machine booted */
};

static const char *const db_names[_DB_MAX] = {
        [DB_META] = "meta",
        [DB_SESSIONS] = "sessions",
        [DB_STEPS] = "steps",
        [DB_OUTPUT] = "output",
        [DB_AUDIT] = "audit",
        [DB_ACTIVE] = "active",
        [DB_OUTBOX] = "outbox",
};

/* LMDB's codes to negative errnos, at the module edge. */
static int mdb_to_errno(int r) {
        switch (r) {
        case MDB_SUCCESS:
                return 0;
        case MDB_NOTFOUND:
                return -ENOENT;
        case MDB_KEYEXIST:
                return -EEXIST;
        case MDB_MAP_FULL:
                return -ENOSPC;
        case MDB_TXN_FULL:
                return -E2BIG;
        case MDB_BAD_VALSIZE:
                return -EINVAL;
        case MDB_READERS_FULL:
                return -EAGAIN;
        case MDB_MAP_RESIZED:
                return -ESTALE;
        case MDB_INVALID:
        case MDB_CORRUPTED:
        case MDB_PAGE_NOTFOUND:
        case MDB_VERSION_MISMATCH:
                return -EBADMSG;
        default:
                return r > 0 ? -r : -EIO;
        }
}

StartLog *store_start_log(Store *s) {
        return s->start_log;
}

size_t store_map_size(Store *s) {
        return s->map_size;
}

/* Starts writing the pages of the commits just made, not the meta pages, so that the next sync
 * finds most of them on disk already and blocks the loop for less. Nothing relies on it: it is
 * not durability, and only pages no synced snapshot uses (the pin sees to that) are written
 * early; the meta pages that make a transaction visible wait for the sync. */
static void store_writeback_start(Store *s) {
        if (s->fd >= 0 && sync_file_range(s->fd, s->data_start, 0, SYNC_FILE_RANGE_WRITE) < 0 && errno != ENOSYS)
                log_debug_errno(-errno, "store: sync_file_range failed, ignoring: %m");
}

/* Moves the pin to the newest snapshot, which must be synced. */
static int store_repin(Store *s) {
        if (!s->pin)
                return mdb_to_errno(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->pin));
        mdb_txn_reset(s->pin);
        return mdb_to_errno(mdb_txn_renew(s->pin));
}

/* mdb_env_set_mapsize() wants no transaction active: the pin is let go around it (after a sync,
 * so that it can take the newest snapshot again). */
static int store_set_mapsize(Store *s, size_t n) {
        int r;

        r = store_sync(s);
        if (r < 0)
                return r;
        if (s->pin)
                mdb_txn_reset(s->pin);
        r = mdb_to_errno(mdb_env_set_mapsize(s->env, n));
        if (s->pin) {
                int q = mdb_to_errno(mdb_txn_renew(s->pin));
                if (r >= 0)
                        r = q;
        }
        return r;
}

static int store_grow(Store *s) {
        size_t n;
        int r;

        if (s->map_size >= s->map_max)
                return -ENOSPC;
        n = MIN(s->map_size * 2, s->map_max);
        r = store_set_mapsize(s, n);
        if (r < 0)
                return r;
        log_debug("store: map grown from %zu to %zu bytes", s->map_size, n);
        s->map_size = n;
        return 0;
}

/* The store's identity: a random 128-bit id made when the store is created (meta "store_id").
 * Session ids start at 1 in every store; the journal records carry this id beside them, so that
 * a session's records are told from those of a session with the same id in an earlier store. */
static int store_id_ensure(Store *s, MDB_txn *txn) {
        MDB_val k = { .mv_size = strlen("store_id"), .mv_data = (void *) "store_id" }, v;
        sd_id128_t id;
        int r;

        r = mdb_get(txn, s->dbi[DB_META], &k, &v);
        if (r == 0 && v.mv_size == sizeof id.bytes)
                memcpy(id.bytes, v.mv_data, sizeof id.bytes);
        else if (r == 0 || r == MDB_NOTFOUND) {
                r = sd_id128_randomize(&id);
                if (r < 0)
                        return r;
                v = (MDB_val) { .mv_size = sizeof id.bytes, .mv_data = id.bytes };
                r = mdb_put(txn, s->dbi[DB_META], &k, &v, 0);
                if (r != 0)
                        return mdb_to_errno(r);
        } else
                return mdb_to_errno(r);
        sd_id128_to_string(id, s->id);
        return 0;
}

const char *store_id(Store *s) {
        return s->id;
}

/* Whether the store was last opened in this boot of the machine (meta "boot_id"), noted and
 * updated at open. Within one boot, a commit reaches the page cache and survives the process
 * (kill -9 loses nothing committed); after a reboot, the last commits before the crash may be
 * missing (they are synced within ENGINE_SYNC_DELAY_USEC). */
static int store_boot_ensure(Store *s, MDB_txn *txn) {
        MDB_val k = { .mv_size = strlen("boot_id"), .mv_data = (void *) "boot_id" }, v;
        sd_id128_t boot;
        int r;

        r = sd_id128_get_boot(&boot);
        if (r < 0)
                return r;
        r = mdb_get(txn, s->dbi[DB_META], &k, &v);
        if (r != 0 && r != MDB_NOTFOUND)
                return mdb_to_errno(r);
        s->same_boot = r == 0 && v.mv_size == sizeof boot.bytes && memcmp(v.mv_data, boot.bytes, sizeof boot.bytes) == 0;
        if (s->same_boot)
                return 0;
        v = (MDB_val) { .mv_size = sizeof boot.bytes, .mv_data = boot.bytes };
        r = mdb_put(txn, s->dbi[DB_META], &k, &v, 0);
        return r != 0 ? mdb_to_errno(r) : 0;
}

bool store_same_boot(Store *s) {
        return s->same_boot;
}

int store_open_sized(const char *dir, size_t initial_map, size_t max_map, Store **ret) {
        _cleanup_(store_freep) Store *s = NULL;
        MDB_envinfo info;
        MDB_txn *txn = NULL;
        int r, dead = 0;

        s = calloc(1, sizeof(Store));
        if (!s)
                return -ENOMEM;
        s->map_max = max_map;
        s->fd = -1;
        s->lock_fd = -1;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        /* before anything in the directory is read: one process per store */
        {
                pid_t holder;
                r = store_lock_dir(dir, &s->lock_fd, &holder);
                if (r == -EBUSY) {
                        if (holder > 0)
                                log_error("The state directory '%s' is in use by another process (PID %ld holds "
                                          "%s/" STORE_LOCK_FILE "): not opening it.", dir, (long) holder, dir);
                        else
                                log_error("The state directory '%s' is in use by another process (it holds "
                                          "%s/" STORE_LOCK_FILE "): not opening it.", dir, dir);
                        return r;
                }
                if (r < 0)
                        return log_error_errno(r, "Cannot lock the state directory '%s' (%s/" STORE_LOCK_FILE "): %m",
                                               dir, dir);
        }

        r = mdb_env_create(&s->env);
        if (r != 0)
                return mdb_to_errno(r);
        r = mdb_env_set_maxdbs(s->env, _DB_MAX);
        if (r == 0)
                r = mdb_env_set_mapsize(s->env, initial_map);
        if (r == 0)
                r = mdb_env_set_maxreaders(s->env, 126);
        if (r == 0)
                /* MDB_NOSYNC: store_sync() makes commits durable, once for many (group commit).
                 * MDB_NOTLS: one thread; read transactions are not tied to thread-local slots. */
                r = mdb_env_open(s->env, dir, MDB_NOSYNC | MDB_NOTLS, 0600);
        if (r != 0)
                return mdb_to_errno(r);

        /* adopt a larger size an earlier run grew the file to */
        r = mdb_env_set_mapsize(s->env, 0);
        if (r != 0)
                return mdb_to_errno(r);
        r = mdb_env_info(s->env, &info);
        if (r != 0)
                return mdb_to_errno(r);
        s->map_size = info.me_mapsize;
        if (s->map_max < s->map_size)
                s->map_max = s->map_size;
        {
                mdb_filehandle_t fd;
                MDB_stat st;
                if (mdb_env_get_fd(s->env, &fd) == 0 && mdb_env_stat(s->env, &st) == 0) {
                        s->fd = fd;
                        s->data_start = 2 * (off_t) st.ms_psize;
                }
        }

        (void) mdb_reader_check(s->env, &dead);
        if (dead > 0)
                log_debug("store: cleared %d stale reader slots", dead);

        r = mdb_txn_begin(s->env, NULL, 0, &txn);
        if (r != 0)
                return mdb_to_errno(r);
        for (StoreDb d = 0; d < _DB_MAX; d++) {
                r = mdb_dbi_open(txn, db_names[d], MDB_CREATE, &s->dbi[d]);
                if (r != 0) {
                        mdb_txn_abort(txn);
                        return mdb_to_errno(r);
                }
        }
        r = store_id_ensure(s, txn);
        if (r >= 0)
                r = store_boot_ensure(s, txn);
        if (r < 0) {
                mdb_txn_abort(txn);
                return r;
        }
        r = mdb_txn_commit(txn);
        if (r != 0)
                return mdb_to_errno(r);
        r = mdb_env_sync(s->env, 1);
        if (r != 0)
                return mdb_to_errno(r);
        r = store_repin(s);
        if (r < 0)
                return r;

        r = start_log_open(dir, &s->start_log);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

int store_open(const char *dir, Store **ret) {
        return store_open_sized(dir, STORE_MAP_INITIAL, STORE_MAP_MAX, ret);
}

Store *store_free(Store *s) {
        if (!s)
                return NULL;
        if (s->env) {
                if (s->pin)
                        mdb_txn_abort(s->pin);
                if (s->dirty)
                        (void) mdb_env_sync(s->env, 1);
                mdb_env_close(s->env);
        }
        start_log_free(s->start_log);
        if (s->lock_fd >= 0)
                close(s->lock_fd);   /* last: the lock ends with it */
        free(s);
        return NULL;
}

int store_write(Store *s, store_write_fn fn, void *userdata) {
        for (unsigned attempt = 0;; attempt++) {
                StoreTxn t = { .store = s };
                int r;

                r = mdb_txn_begin(s->env, NULL, 0, &t.txn);
                if (r == MDB_MAP_RESIZED && attempt < 8) {
                        (void) store_set_mapsize(s, 0);
                        continue;
                }
                if (r != 0)
                        return mdb_to_errno(r);

                r = fn(&t, userdata);
                if (r >= 0)
                        r = t.ret;
                if (r >= 0) {
                        r = mdb_to_errno(mdb_txn_commit(t.txn));
                        t.txn = NULL;
                        if (r >= 0) {
                                s->dirty = true;
                                store_writeback_start(s);
                                return 0;
                        }
                } else
                        mdb_txn_abort(t.txn);

                if (r != -ENOSPC || attempt >= 16)
                        return r;
                /* MDB_MAP_FULL: grow while no transaction is active, then redo the writes */
                r = store_grow(s);
                if (r < 0)
                        return r;
        }
}

int store_read_begin(Store *s, StoreTxn *t) {
        int r;

        *t = (StoreTxn) { .store = s };
        r = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t->txn);
        if (r == MDB_READERS_FULL) {
                int dead = 0;
                (void) mdb_reader_check(s->env, &dead);
                r = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t->txn);
        }
        if (r == MDB_MAP_RESIZED) {
                (void) store_set_mapsize(s, 0);
                r = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t->txn);
        }
        if (r != 0) {
                t->txn = NULL;
                return (t->ret = mdb_to_errno(r));
        }
        return 0;
}

void store_read_end(StoreTxn *t) {
        if (t->txn)
                mdb_txn_abort(t->txn);
        t->txn = NULL;
}

bool store_needs_sync(Store *s) {
        return s->dirty;
}

int store_sync(Store *s) {
        int r;

        if (!s->dirty)
                return 0;
        r = mdb_env_sync(s->env, 1);
        if (r != 0)
                return mdb_to_errno(r);
        s->dirty = false;
        r = store_repin(s);
        if (r < 0)
                /* the commits are durable; only the pin is missing until the next sync */
                log_warning_errno(r, "store: cannot hold the synced snapshot: %m");
        return 0;
}

void store_put(StoreTxn *t, StoreDb db, const void *key, size_t klen, const void *val, size_t vlen) {
        MDB_val k = { klen, (void *) key }, v = { vlen, (void *) val };

        if (t->ret < 0)
                return;
        t->ret = mdb_to_errno(mdb_put(t->txn, t->store->dbi[db], &k, &v, 0));
}

void store_del(StoreTxn *t, StoreDb db, const void *key, size_t klen) {
        MDB_val k = { klen, (void *) key };
        int r;

        if (t->ret < 0)
                return;
        r = mdb_to_errno(mdb_del(t->txn, t->store->dbi[db], &k, NULL));
        if (r < 0 && r != -ENOENT)
                t->ret = r;
}

int store_get(StoreTxn *t, StoreDb db, const void *key, size_t klen, MDB_val *ret) {
        MDB_val k = { klen, (void *) key };

        if (t->ret < 0)
                return t->ret;
        return mdb_to_errno(mdb_get(t->txn, t->store->dbi[db], &k, ret));
}

/* Opens a cursor on 'db'; a transaction that has failed already gives its error instead. */
static int cursor_open(StoreTxn *t, StoreDb db, MDB_cursor **ret) {
        if (t->ret < 0)
                return t->ret;
        return mdb_to_errno(mdb_cursor_open(t->txn, t->store->dbi[db], ret));
}

/* Puts the cursor on the greatest key below 'key' (the greatest of all when klen is 0). */
static int cursor_last_below(MDB_cursor *c, const void *key, size_t klen, MDB_val *k, MDB_val *v) {
        int r;

        if (klen == 0)
                return mdb_cursor_get(c, k, v, MDB_LAST);
        /* the first key >= 'key', then one back; none >= 'key': the last */
        *k = (MDB_val) { klen, (void *) key };
        r = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
        if (r != 0 && r != MDB_NOTFOUND)
                return r;
        return mdb_cursor_get(c, k, v, r == 0 ? MDB_PREV : MDB_LAST);
}

/* Calls 'fn' for each key that begins with 'prefix' (every key when plen is 0), from 'from'
 * forwards (the first key >= 'from', the first of all when flen is 0) or back (the greatest key
 * below 'from', the greatest of all when flen is 0). */
static int cursor_foreach(StoreTxn *t, StoreDb db, const void *from, size_t flen, bool reverse,
                          const void *prefix, size_t plen, store_foreach_fn fn, void *userdata) {
        MDB_cursor *c = NULL;
        MDB_val k, v;
        int r;

        r = cursor_open(t, db, &c);
        if (r < 0)
                return r;
        if (reverse)
                r = cursor_last_below(c, from, flen, &k, &v);
        else if (flen > 0) {
                k = (MDB_val) { flen, (void *) from };
                r = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        } else
                r = mdb_cursor_get(c, &k, &v, MDB_FIRST);

        for (; r == 0; r = mdb_cursor_get(c, &k, &v, reverse ? MDB_PREV : MDB_NEXT)) {
                int q;

                if (plen > 0 && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0))
                        break;
                q = fn(&k, &v, userdata);
                if (q != 0) {
                        mdb_cursor_close(c);
                        return q < 0 ? q : 0;
                }
        }
        mdb_cursor_close(c);
        r = mdb_to_errno(r);
        return r == -ENOENT ? 0 : r;
}

int store_foreach(StoreTxn *t, StoreDb db, const void *prefix, size_t plen, bool reverse,
                  store_foreach_fn fn, void *userdata) {
        uint8_t hi[64];
        size_t n = plen;

        if (!reverse)
                return cursor_foreach(t, db, prefix, plen, false, prefix, plen, fn, userdata);

        /* back from below the prefix's successor (its last byte below 0xff incremented, the
         * rest cut; none: from the last key of all) */
        if (plen > sizeof hi)
                return t->ret < 0 ? t->ret : -EINVAL;
        if (plen > 0)
                memcpy(hi, prefix, plen);
        while (n > 0 && hi[n - 1] == 0xff)
                n--;
        if (n > 0)
                hi[n - 1]++;
        return cursor_foreach(t, db, hi, n, true, prefix, plen, fn, userdata);
}

int store_foreach_below(StoreTxn *t, StoreDb db, const void *key, size_t klen, store_foreach_fn fn, void *userdata) {
        return cursor_foreach(t, db, key, klen, true, NULL, 0, fn, userdata);
}

void store_del_prefix(StoreTxn *t, StoreDb db, const void *prefix, size_t plen) {
        MDB_cursor *c = NULL;
        MDB_val k = { plen, (void *) prefix }, v;
        int r;

        r = cursor_open(t, db, &c);
        if (r < 0) {
                t->ret = r;
                return;
        }
        for (r = mdb_cursor_get(c, &k, &v, plen > 0 ? MDB_SET_RANGE : MDB_FIRST); r == 0;
             r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
                if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
                        break;
                r = mdb_cursor_del(c, 0);
                if (r != 0)
                        break;
        }
        mdb_cursor_close(c);
        if (r != 0 && r != MDB_NOTFOUND)
                t->ret = mdb_to_errno(r);
}

int store_del_prefix_bounded(StoreTxn *t, StoreDb db, const void *prefix, size_t plen, size_t *budget) {
        MDB_cursor *c = NULL;
        MDB_val k = { plen, (void *) prefix }, v;
        int r, done = 0;

        r = cursor_open(t, db, &c);
        if (r < 0)
                return (t->ret = r);
        for (r = mdb_cursor_get(c, &k, &v, plen > 0 ? MDB_SET_RANGE : MDB_FIRST);; r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
                if (r != 0 || k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0) {
                        done = 1;
                        break;
                }
                if (*budget == 0)
                        break;    /* more is left: for the next call */
                r = mdb_cursor_del(c, 0);
                if (r != 0)
                        break;
                (*budget)--;
        }
        mdb_cursor_close(c);
        if (r != 0 && r != MDB_NOTFOUND)
                return (t->ret = mdb_to_errno(r));
        return done;
}

void store_put_json(StoreTxn *t, StoreDb db, const void *key, size_t klen, json_t *v) {
        _cleanup_free_ char *s = NULL;

        if (t->ret < 0)
                return;
        s = json_dumps(v, JSON_COMPACT);
        if (!s) {
                t->ret = -ENOMEM;
                return;
        }
        store_put(t, db, key, klen, s, strlen(s));
}

int store_get_json(StoreTxn *t, StoreDb db, const void *key, size_t klen, json_t **ret) {
        json_error_t err;
        MDB_val v;
        json_t *j;
        int r;

        r = store_get(t, db, key, klen, &v);
        if (r < 0)
                return r;
        j = json_loadb(v.mv_data, v.mv_size, 0, &err);
        if (!j) {
                log_debug("store: corrupt record: %s", err.text);
                return -EBADMSG;
        }
        *ret = j;
        return 0;
}

uint64_t store_meta_get_u64(StoreTxn *t, const char *name, uint64_t def) {
        MDB_val v;

        if (store_get(t, DB_META, name, strlen(name), &v) < 0 || v.mv_size != 8)
                return def;
        return be64_get(v.mv_data);
}

void store_meta_put_u64(StoreTxn *t, const char *name, uint64_t v) {
        uint8_t b[8];

        be64_put(b, v);
        store_put(t, DB_META, name, strlen(name), b, sizeof b);
}

int store_foreach_from(StoreTxn *t, StoreDb db, const void *from, size_t flen, store_foreach_fn fn, void *userdata) {
        return cursor_foreach(t, db, from, flen, false, NULL, 0, fn, userdata);
}
