/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-store.c: the LMDB store (sticky-error transactions, iteration, map growth) and the
 * session, step and output records, each case in its own mkdtemp directory. */

#undef NDEBUG
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include "model/session.h"
#include "shared/tests.h"
#include "store/start-log.h"
#include "store/store-records.h"
#include "store/store.h"

/* ---- helpers ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path) < 0 ? -1 : 0;
}

static void rm_rf(const char *dir) {
        check(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0);
}

typedef struct TmpDir {
        char path[64];
} TmpDir;

static void tmpdir_make(TmpDir *d) {
        strcpy(d->path, "/tmp/test-store-XXXXXX");
        check(mkdtemp(d->path));
}

static void tmpdir_done(TmpDir *d) {
        rm_rf(d->path);
}

static char *db_dir(const TmpDir *d) {
        char *p = NULL;
        check(asprintf_safe(&p, "%s/db", d->path) == 0);
        return p;
}

static void key32(uint8_t k[4], uint32_t a) {
        be32_put(k, a);
}

static void key64(uint8_t k[8], uint32_t a, uint32_t b) {
        be32_put(k, a);
        be32_put(k + 4, b);
}

/* A write transaction described by a list of puts. */
typedef struct KV {
        StoreDb db;
        const void *key;
        size_t klen;
        const void *val;
        size_t vlen;
} KV;

typedef struct Puts {
        const KV *kv;
        size_t n;
} Puts;

static int puts_fn(StoreTxn *t, void *userdata) {
        const Puts *p = userdata;

        for (size_t i = 0; i < p->n; i++)
                store_put(t, p->kv[i].db, p->kv[i].key, p->kv[i].klen, p->kv[i].val, p->kv[i].vlen);
        return 0;
}

static int put_str(Store *s, StoreDb db, const char *key, const char *val) {
        KV kv = { db, key, strlen(key), val, strlen(val) };
        Puts p = { &kv, 1 };
        return store_write(s, puts_fn, &p);
}

/* Reads a value as a new NUL-terminated string, or NULL if it is absent. */
static char *get_str(Store *s, StoreDb db, const void *key, size_t klen) {
        StoreTxn t;
        MDB_val v;
        char *r = NULL;
        int q;

        check(store_read_begin(s, &t) == 0);
        q = store_get(&t, db, key, klen, &v);
        check(q == 0 || q == -ENOENT);
        if (q == 0) {
                r = strndup(v.mv_data, v.mv_size);
                check(r);
        }
        store_read_end(&t);
        return r;
}

static bool has_key(Store *s, StoreDb db, const void *key, size_t klen) {
        _cleanup_free_ char *v = get_str(s, db, key, klen);
        return v != NULL;
}

/* ---- store ---- */

static void test_open_close_reopen(void) {
        TmpDir d;
        _cleanup_free_ char *dir = NULL;
        Store *s = NULL;

        tmpdir_make(&d);
        dir = db_dir(&d);   /* does not exist yet: store_open creates it */

        check(store_open(dir, &s) == 0);
        check(s);
        check(store_map_size(s) > 0);
        check(put_str(s, DB_META, "hello", "world") == 0);
        check(put_str(s, DB_SESSIONS, "k", "v") == 0);
        s = store_free(s);
        check(!s);
        check(!store_free(NULL));

        check(store_open(dir, &s) == 0);
        {
                _cleanup_free_ char *a = get_str(s, DB_META, "hello", 5);
                _cleanup_free_ char *b = get_str(s, DB_SESSIONS, "k", 1);
                _cleanup_free_ char *c = get_str(s, DB_STEPS, "k", 1);
                check_streq(a, "world");
                check_streq(b, "v");
                check(!c);       /* named databases are separate */
        }
        store_free(s);

        /* the directory is private */
        {
                struct stat st;
                check(stat(dir, &st) == 0);
                check((st.st_mode & 0077) == 0);
        }

        /* a path that cannot be a directory fails cleanly */
        {
                _cleanup_free_ char *bad = NULL;
                check(asprintf_safe(&bad, "%s/nope/deeper", d.path) == 0);
                s = NULL;
                check(store_open(bad, &s) < 0);
                check(!s);
        }
        tmpdir_done(&d);
}

static void test_write_commit_sync(void) {
        TmpDir d;
        _cleanup_free_ char *dir = NULL;
        Store *s = NULL;

        tmpdir_make(&d);
        dir = db_dir(&d);
        check(store_open(dir, &s) == 0);

        /* nothing committed since open: no sync needed */
        check(!store_needs_sync(s));
        check(store_sync(s) == 0);

        check(put_str(s, DB_META, "a", "1") == 0);
        check(store_needs_sync(s));
        check(store_sync(s) == 0);
        check(!store_needs_sync(s));
        check(store_sync(s) == 0);   /* a no-op */

        /* several writes, one sync */
        check(put_str(s, DB_META, "b", "2") == 0);
        check(put_str(s, DB_META, "a", "3") == 0);   /* overwrite */
        check(store_needs_sync(s));
        check(store_sync(s) == 0);
        check(!store_needs_sync(s));

        {
                _cleanup_free_ char *a = get_str(s, DB_META, "a", 1);
                _cleanup_free_ char *b = get_str(s, DB_META, "b", 1);
                check_streq(a, "3");
                check_streq(b, "2");
        }

        /* a read transaction sees a snapshot; a write after it began is not in it */
        {
                StoreTxn t;
                MDB_val v;

                check(store_read_begin(s, &t) == 0);
                check(put_str(s, DB_META, "c", "4") == 0);
                check(store_get(&t, DB_META, "c", 1, &v) == -ENOENT);
                check(store_get(&t, DB_META, "a", 1, &v) == 0);
                check(v.mv_size == 1 && memcmp(v.mv_data, "3", 1) == 0);
                store_read_end(&t);
                store_read_end(&t);   /* twice is harmless */
                check(has_key(s, DB_META, "c", 1));
        }

        store_free(s);
        tmpdir_done(&d);
}

static int del_fn(StoreTxn *t, void *userdata) {
        store_del(t, DB_META, "c", 1);
        store_del(t, DB_META, "never-there", 11);
        return 0;
}

static void test_del(void) {
        TmpDir d;
        _cleanup_free_ char *dir = NULL;
        Store *s = NULL;

        tmpdir_make(&d);
        dir = db_dir(&d);
        check(store_open(dir, &s) == 0);
        check(put_str(s, DB_META, "c", "x") == 0);
        check(put_str(s, DB_META, "d", "y") == 0);
        check(store_write(s, del_fn, NULL) == 0);
        check(!has_key(s, DB_META, "c", 1));
        check(has_key(s, DB_META, "d", 1));
        store_free(s);
        tmpdir_done(&d);
}

/* The sticky error: after the first failure every operation is a no-op, the first error is what
 * store_write returns, and nothing of the transaction is committed. */
typedef struct StickyCtx {
        int first;          /* the error seen after the failing operation */
        bool fn_fails;      /* return an error of our own instead of 0 */
        bool done;
} StickyCtx;

static int sticky_fn(StoreTxn *t, void *userdata) {
        StickyCtx *c = userdata;
        uint8_t big[600] = {};    /* longer than LMDB's maximum key size (511) */
        MDB_val v;

        check(t->ret == 0);
        store_put(t, DB_META, "new1", 4, "A", 1);
        check(t->ret == 0);
        store_put(t, DB_META, "old", 3, "changed", 7);
        check(t->ret == 0);
        store_meta_put_u64(t, "counter", 99);
        check(t->ret == 0);

        if (c->fn_fails) {
                c->done = true;
                return -EUCLEAN;
        }

        /* the failing operation */
        store_put(t, DB_META, big, sizeof big, "x", 1);
        check(t->ret < 0);
        c->first = t->ret;

        /* every later operation is a no-op, and does not change the error */
        store_put(t, DB_META, "new2", 4, "B", 1);
        check(t->ret == c->first);
        store_del(t, DB_META, "old", 3);
        check(t->ret == c->first);
        store_del_prefix(t, DB_META, "o", 1);
        check(t->ret == c->first);
        store_put(t, DB_META, "", 0, "x", 1);   /* would fail differently: still the first error */
        check(t->ret == c->first);
        store_meta_put_u64(t, "counter", 100);
        check(t->ret == c->first);
        check(store_meta_get_u64(t, "counter", 7) == 7);   /* reads give the default */
        check(store_get(t, DB_META, "old", 3, &v) == c->first);
        check(store_foreach(t, DB_META, NULL, 0, false, NULL, NULL) == c->first);
        {
                json_t *j = json_pack("{s:s}", "a", "b");
                store_put_json(t, DB_META, "json", 4, j);
                store_audit_append(t, j);
                json_decref(j);
                check(t->ret == c->first);
        }
        c->done = true;
        return 0;   /* the caller checks once, at commit: store_write sees t->ret */
}

static void check_untouched(Store *s) {
        _cleanup_free_ char *old = get_str(s, DB_META, "old", 3);
        StoreTxn t;

        check_streq(old, "value");
        check(!has_key(s, DB_META, "new1", 4));
        check(!has_key(s, DB_META, "new2", 4));
        check(!has_key(s, DB_META, "json", 4));
        check(store_read_begin(s, &t) == 0);
        check(store_meta_get_u64(&t, "counter", 5) == 5);
        check(store_meta_get_u64(&t, "audit_seq", 0) == 0);
        store_read_end(&t);
}

static void test_sticky_error(void) {
        TmpDir d;
        _cleanup_free_ char *dir = NULL;
        Store *s = NULL;
        StickyCtx c = {};
        int r;

        tmpdir_make(&d);
        dir = db_dir(&d);
        check(store_open(dir, &s) == 0);
        check(put_str(s, DB_META, "old", "value") == 0);
        check(store_sync(s) == 0);

        r = store_write(s, sticky_fn, &c);
        check(c.done);
        check(c.first < 0);
        check_int(r, c.first);
        check(r != -ENOSPC);        /* not mistaken for a full map */
        check_untouched(s);
        check(!store_needs_sync(s)); /* nothing was committed */

        /* fn's own error wins and aborts too */
        c = (StickyCtx) { .fn_fails = true };
        check_int(store_write(s, sticky_fn, &c), -EUCLEAN);
        check(c.done);
        check_untouched(s);

        /* the store still works after rejected writes */
        check(put_str(s, DB_META, "after", "ok") == 0);
        check(has_key(s, DB_META, "after", 5));

        /* and across a reopen nothing of the rejected transactions appears */
        s = store_free(s);
        check(store_open(dir, &s) == 0);
        check_untouched(s);
        check(has_key(s, DB_META, "after", 5));
        store_free(s);
        tmpdir_done(&d);
}

/* store_foreach: keys be32 id | be32 index for ids 1..3 and indexes 0..2, plus 1-byte noise */
typedef struct Seen {
        uint32_t ids[64], idx[64];
        size_t n;
        size_t stop_after;   /* 0: never */
        int fail_at;         /* -1: never */
} Seen;

static int seen_cb(const MDB_val *key, const MDB_val *val, void *userdata) {
        Seen *s = userdata;
        const uint8_t *k = key->mv_data;

        check(s->n < ELEMENTSOF(s->ids));
        if (s->fail_at >= 0 && (size_t) s->fail_at == s->n)
                return -EBADE;
        if (key->mv_size == 8) {
                s->ids[s->n] = be32_get(k);
                s->idx[s->n] = be32_get(k + 4);
                /* value is "id.index" */
                char buf[32];
                snprintf(buf, sizeof buf, "%u.%u", s->ids[s->n], s->idx[s->n]);
                check(val->mv_size == strlen(buf) && memcmp(val->mv_data, buf, val->mv_size) == 0);
        } else {
                s->ids[s->n] = UINT32_MAX;
                s->idx[s->n] = (uint32_t) key->mv_size;
        }
        s->n++;
        return s->stop_after > 0 && s->n >= s->stop_after ? 1 : 0;
}

static int fill_fn(StoreTxn *t, void *userdata) {
        for (uint32_t id = 1; id <= 3; id++)
                for (uint32_t i = 0; i < 3; i++) {
                        uint8_t k[8];
                        char v[32];
                        key64(k, id, i);
                        snprintf(v, sizeof v, "%u.%u", id, i);
                        store_put(t, DB_STEPS, k, 8, v, strlen(v));
                }
        /* an index above 255 and one at the very top, for ordering */
        {
                uint8_t k[8];
                key64(k, 2, 300);
                store_put(t, DB_STEPS, k, 8, "2.300", 5);
                key64(k, 2, UINT32_MAX);
                store_put(t, DB_STEPS, k, 8, "2.4294967295", 12);
        }
        return 0;
}

static void run_foreach(Store *s, const void *prefix, size_t plen, bool reverse, Seen *seen, int expect_r) {
        StoreTxn t;

        check(store_read_begin(s, &t) == 0);
        check_int(store_foreach(&t, DB_STEPS, prefix, plen, reverse, seen_cb, seen), expect_r);
        store_read_end(&t);
}

static void test_foreach(void) {
        TmpDir d;
        _cleanup_free_ char *dir = NULL;
        Store *s = NULL;
        uint8_t p[4];

        tmpdir_make(&d);
        dir = db_dir(&d);
        check(store_open(dir, &s) == 0);

        /* empty database */
        {
                Seen seen = { .fail_at = -1 };
                run_foreach(s, NULL, 0, false, &seen, 0);
                run_foreach(s, NULL, 0, true, &seen, 0);
                key32(p, 2);
                run_foreach(s, p, 4, false, &seen, 0);
                run_foreach(s, p, 4, true, &seen, 0);
                check(seen.n == 0);
        }

        check(store_write(s, fill_fn, NULL) == 0);

        /* all, forward */
        {
                Seen seen = { .fail_at = -1 };
                static const uint32_t ids[] = { 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3 };
                static const uint32_t idx[] = { 0, 1, 2, 0, 1, 2, 300, UINT32_MAX, 0, 1, 2 };
                run_foreach(s, NULL, 0, false, &seen, 0);
                check_int(seen.n, ELEMENTSOF(ids));
                for (size_t i = 0; i < seen.n; i++) {
                        check_int(seen.ids[i], ids[i]);
                        check_int(seen.idx[i], idx[i]);
                }
                /* all, reverse */
                seen = (Seen) { .fail_at = -1 };
                run_foreach(s, NULL, 0, true, &seen, 0);
                check_int(seen.n, ELEMENTSOF(ids));
                for (size_t i = 0; i < seen.n; i++) {
                        check_int(seen.ids[i], ids[ELEMENTSOF(ids) - 1 - i]);
                        check_int(seen.idx[i], idx[ELEMENTSOF(ids) - 1 - i]);
                }
        }

        /* a prefix in the middle, forward and reverse */
        {
                Seen seen = { .fail_at = -1 };
                static const uint32_t idx[] = { 0, 1, 2, 300, UINT32_MAX };
                key32(p, 2);
                run_foreach(s, p, 4, false, &seen, 0);
                check_int(seen.n, 5);
                for (size_t i = 0; i < seen.n; i++) {
                        check_int(seen.ids[i], 2);
                        check_int(seen.idx[i], idx[i]);
                }
                seen = (Seen) { .fail_at = -1 };
                run_foreach(s, p, 4, true, &seen, 0);
                check_int(seen.n, 5);
                for (size_t i = 0; i < seen.n; i++) {
                        check_int(seen.ids[i], 2);
                        check_int(seen.idx[i], idx[4 - i]);
                }
        }

        /* the first and the last prefix, reverse (no key after the range / none before it) */
        for (uint32_t id = 1; id <= 3; id += 2) {
                Seen seen = { .fail_at = -1 };
                key32(p, id);
                run_foreach(s, p, 4, true, &seen, 0);
                check_int(seen.n, 3);
                for (size_t i = 0; i < seen.n; i++) {
                        check_int(seen.ids[i], id);
                        check_int(seen.idx[i], 2 - i);
                }
                seen = (Seen) { .fail_at = -1 };
                run_foreach(s, p, 4, false, &seen, 0);
                check_int(seen.n, 3);
                for (size_t i = 0; i < seen.n; i++)
                        check_int(seen.idx[i], i);
        }

        /* prefixes with nothing under them: before, between (none), after all keys */
        for (uint32_t id = 0; id <= 9; id += 9) {
                Seen seen = { .fail_at = -1 };
                key32(p, id == 9 ? 4 : 0);
                run_foreach(s, p, 4, false, &seen, 0);
                run_foreach(s, p, 4, true, &seen, 0);
                check_int(seen.n, 0);
        }

        /* a longer prefix (8 bytes: exactly one key) */
        {
                Seen seen = { .fail_at = -1 };
                uint8_t k[8];
                key64(k, 2, 1);
                run_foreach(s, k, 8, false, &seen, 0);
                run_foreach(s, k, 8, true, &seen, 0);
                check_int(seen.n, 2);
                check_int(seen.idx[0], 1);
                check_int(seen.idx[1], 1);
        }

        /* stop early (> 0) and fail (< 0) */
        {
                Seen seen = { .fail_at = -1, .stop_after = 2 };
                run_foreach(s, NULL, 0, false, &seen, 0);
                check_int(seen.n, 2);
                seen = (Seen) { .fail_at = -1, .stop_after = 1 };
                key32(p, 3);
                run_foreach(s, p, 4, true, &seen, 0);
                check_int(seen.n, 1);
                check_int(seen.idx[0], 2);
                seen = (Seen) { .fail_at = 1 };
                run_foreach(s, NULL, 0, true, &seen, -EBADE);
                check_int(seen.n, 1);
        }

        store_free(s);
        tmpdir_done(&d);
}

typedef struct DelPrefix {
        uint8_t prefix[8];
        size_t plen;
} DelPrefix;

static int del_prefix_fn(StoreTxn *t, void *userdata) {
        DelPrefix *dp = userdata;
        store_del_prefix(t, DB_STEPS, dp->prefix, dp->plen);
        return 0;
}

static void test_del_prefix(void) {
        TmpDir d;
        _cleanup_free_ char *dir = NULL;
        Store *s = NULL;
        DelPrefix dp = { .plen = 4 };
        Seen seen = { .fail_at = -1 };

        tmpdir_make(&d);
        dir = db_dir(&d);
        check(store_open(dir, &s) == 0);
        check(store_write(s, fill_fn, NULL) == 0);

        /* the middle prefix: neighbours stay */
        key32(dp.prefix, 2);
        check(store_write(s, del_prefix_fn, &dp) == 0);
        run_foreach(s, NULL, 0, false, &seen, 0);
        check_int(seen.n, 6);
        for (size_t i = 0; i < 6; i++)
                check_int(seen.ids[i], i < 3 ? 1 : 3);

        /* nothing under the prefix: no error, nothing gone */
        key32(dp.prefix, 2);
        check(store_write(s, del_prefix_fn, &dp) == 0);
        key32(dp.prefix, 7);
        check(store_write(s, del_prefix_fn, &dp) == 0);
        seen = (Seen) { .fail_at = -1 };
        run_foreach(s, NULL, 0, false, &seen, 0);
        check_int(seen.n, 6);

        /* the last prefix (runs to the end of the database), then an 8-byte prefix */
        key32(dp.prefix, 3);
        check(store_write(s, del_prefix_fn, &dp) == 0);
        key64(dp.prefix, 1, 1);
        dp.plen = 8;
        check(store_write(s, del_prefix_fn, &dp) == 0);
        seen = (Seen) { .fail_at = -1 };
        run_foreach(s, NULL, 0, false, &seen, 0);
        check_int(seen.n, 2);
        check_int(seen.ids[0], 1);
        check_int(seen.idx[0], 0);
        check_int(seen.ids[1], 1);
        check_int(seen.idx[1], 2);

        store_free(s);
        tmpdir_done(&d);
}

typedef struct MetaCtx {
        const char *name;
        uint64_t v;
} MetaCtx;

static int meta_fn(StoreTxn *t, void *userdata) {
        MetaCtx *m = userdata;
        store_meta_put_u64(t, m->name, m->v);
        /* visible in the same transaction */
        check(store_meta_get_u64(t, m->name, 0) == m->v);
        return 0;
}

static uint64_t meta_get(Store *s, const char *name, uint64_t def) {
        StoreTxn t;
        uint64_t v;

        check(store_read_begin(s, &t) == 0);
        v = store_meta_get_u64(&t, name, def);
        store_read_end(&t);
        return v;
}

static void test_meta(void) {
        TmpDir d;
        _cleanup_free_ char *dir = NULL;
        Store *s = NULL;
        MetaCtx m;

        tmpdir_make(&d);
        dir = db_dir(&d);
        check(store_open(dir, &s) == 0);

        check(meta_get(s, "next_session_id", 1) == 1);
        check(meta_get(s, "next_session_id", 42) == 42);

        m = (MetaCtx) { "next_session_id", 5 };
        check(store_write(s, meta_fn, &m) == 0);
        check(meta_get(s, "next_session_id", 1) == 5);
        m = (MetaCtx) { "big", UINT64_C(0x0102030405060708) };
        check(store_write(s, meta_fn, &m) == 0);
        check(meta_get(s, "big", 0) == UINT64_C(0x0102030405060708));
        m = (MetaCtx) { "max", UINT64_MAX };
        check(store_write(s, meta_fn, &m) == 0);

        /* stored big-endian, 8 bytes */
        {
                StoreTxn t;
                MDB_val v;
                check(store_read_begin(s, &t) == 0);
                check(store_get(&t, DB_META, "big", 3, &v) == 0);
                check(v.mv_size == 8);
                check(((uint8_t *) v.mv_data)[0] == 1 && ((uint8_t *) v.mv_data)[7] == 8);
                store_read_end(&t);
        }

        /* a value of the wrong size reads as the default */
        check(put_str(s, DB_META, "odd", "abc") == 0);
        check(meta_get(s, "odd", 77) == 77);

        s = store_free(s);
        check(store_open(dir, &s) == 0);
        check(meta_get(s, "next_session_id", 1) == 5);
        check(meta_get(s, "big", 0) == UINT64_C(0x0102030405060708));
        check(meta_get(s, "max", 0) == UINT64_MAX);
        store_free(s);
        tmpdir_done(&d);
}

static int audit_fn(StoreTxn *t, void *userdata) {
        const char *what = userdata;
        json_t *j = json_pack("{s:s}", "event", what);
        check(j);
        store_audit_append(t, j);
        json_decref(j);
        return 0;
}

static int audit_two_fn(StoreTxn *t, void *userdata) {
        check(audit_fn(t, (void *) "two-a") == 0);
        check(audit_fn(t, (void *) "two-b") == 0);
        return 0;
}

typedef struct AuditSeen {
        uint64_t seq[16];
        char *what[16];
        size_t n;
} AuditSeen;

static int audit_cb(const MDB_val *key, const MDB_val *val, void *userdata) {
        AuditSeen *a = userdata;
        json_t *j;

        check(key->mv_size == 8);
        check(a->n < ELEMENTSOF(a->seq));
        a->seq[a->n] = be64_get(key->mv_data);
        j = json_loadb(val->mv_data, val->mv_size, 0, NULL);
        check(j);
        a->what[a->n] = strdup(json_string_value(json_object_get(j, "event")));
        check(a->what[a->n]);
        json_decref(j);
        a->n++;
        return 0;
}

static void audit_read(Store *s, AuditSeen *a) {
        StoreTxn t;

        check(store_read_begin(s, &t) == 0);
        check(store_foreach(&t, DB_AUDIT, NULL, 0, false, audit_cb, a) == 0);
        store_read_end(&t);
}

static void audit_clear(AuditSeen *a) {
        for (size_t i = 0; i < a->n; i++)
                free(a->what[i]);
        *a = (AuditSeen) {};
}

static void test_audit(void) {
        TmpDir d;
        _cleanup_free_ char *dir = NULL;
        Store *s = NULL;
        AuditSeen a = {};
        static const char *const whats[] = { "start", "approve", "two-a", "two-b", "after-reopen" };

        tmpdir_make(&d);
        dir = db_dir(&d);
        check(store_open(dir, &s) == 0);

        check(store_write(s, audit_fn, (void *) "start") == 0);
        check(store_write(s, audit_fn, (void *) "approve") == 0);
        check(store_write(s, audit_two_fn, NULL) == 0);   /* two in one transaction */
        check(meta_get(s, "audit_seq", 0) == 4);

        s = store_free(s);
        check(store_open(dir, &s) == 0);
        check(store_write(s, audit_fn, (void *) "after-reopen") == 0);
        check(meta_get(s, "audit_seq", 0) == 5);

        audit_read(s, &a);
        check_int(a.n, 5);
        for (size_t i = 0; i < a.n; i++) {
                check_int(a.seq[i], i + 1);
                check_streq(a.what[i], whats[i]);
        }
        audit_clear(&a);
        store_free(s);
        tmpdir_done(&d);
}

/* MAP_FULL: one transaction far larger than the initial map grows it; beyond the maximum it
 * fails with -ENOSPC and the earlier data stays. */
#define BIG_VALUE 4000

typedef struct BigCtx {
        uint32_t first, n;
        unsigned calls;
} BigCtx;

static void big_value(uint8_t *buf, uint32_t i) {
        for (size_t j = 0; j < BIG_VALUE; j++)
                buf[j] = (uint8_t) (i * 31 + j);
}

static int big_fn(StoreTxn *t, void *userdata) {
        BigCtx *c = userdata;
        static uint8_t buf[BIG_VALUE];

        c->calls++;
        for (uint32_t i = c->first; i < c->first + c->n && t->ret >= 0; i++) {
                uint8_t k[4];
                key32(k, i);
                big_value(buf, i);
                store_put(t, DB_OUTPUT, k, 4, buf, sizeof buf);
        }
        return 0;
}

static void check_big(Store *s, uint32_t first, uint32_t n) {
        static uint8_t buf[BIG_VALUE];
        StoreTxn t;

        check(store_read_begin(s, &t) == 0);
        for (uint32_t i = first; i < first + n; i++) {
                uint8_t k[4];
                MDB_val v;
                key32(k, i);
                check(store_get(&t, DB_OUTPUT, k, 4, &v) == 0);
                big_value(buf, i);
                check(v.mv_size == BIG_VALUE && memcmp(v.mv_data, buf, BIG_VALUE) == 0);
        }
        store_read_end(&t);
}

/* ---- what a crash of the machine may leave ---- */

#define PIN_KEYS 200
#define PIN_PAGE 4096

static void pin_value(char *buf, size_t size, unsigned round, unsigned key) {
        snprintf(buf, size, "round %u key %u ", round, key);
        for (size_t n = strlen(buf); n < size - 1; n++)
                buf[n] = (char) ('a' + (key + round + n) % 26);
        buf[size - 1] = '\0';
}

static int pin_round_fn(StoreTxn *t, void *userdata) {
        unsigned round = *(unsigned *) userdata;
        char key[16], val[400];

        for (unsigned k = 0; k < PIN_KEYS; k++) {
                snprintf(key, sizeof key, "pin%03u", k);
                pin_value(val, sizeof val, round, k);
                store_put(t, DB_OUTPUT, key, strlen(key), val, strlen(val));
        }
        return 0;
}

static void copy_range(int from, int to, off_t off, size_t n) {
        _cleanup_free_ char *buf = malloc(n);
        check(buf);
        check(pread(from, buf, n, off) == (ssize_t) n);
        check(pwrite(to, buf, n, off) == (ssize_t) n);
}

/* After a sync, commits that are not synced yet must not write over the pages of the synced
 * snapshot (LMDB reuses the pages no reader holds). The worst a crash of the machine can then
 * leave, if none of the newer meta pages reached the disk, is every newer data page on disk
 * beside the synced meta pages: that image must read back as the synced snapshot, whole. */
static void test_synced_snapshot_kept(void) {
        _cleanup_free_ char *dir = NULL, *img = NULL, *data = NULL, *img_data = NULL;
        char meta[2 * PIN_PAGE], key[16], want[400];
        Store *s = NULL;
        unsigned round;
        struct stat st;
        int fd, out;
        TmpDir d;

        tmpdir_make(&d);
        dir = db_dir(&d);
        check(asprintf_safe(&img, "%s/image", d.path) == 0);
        check(asprintf_safe(&data, "%s/data.mdb", dir) == 0);
        check(asprintf_safe(&img_data, "%s/data.mdb", img) == 0);
        check(store_open(dir, &s) == 0);

        /* the synced snapshot: round 0; its meta pages as they are on disk */
        round = 0;
        check_int(store_write(s, pin_round_fn, &round), 0);
        check_int(store_sync(s), 0);
        fd = open(data, O_RDONLY | O_CLOEXEC);
        check(fd >= 0);
        check(pread(fd, meta, sizeof meta, 0) == (ssize_t) sizeof meta);

        /* many commits, none synced, each rewriting every value (and so freeing pages) */
        for (round = 1; round <= 12; round++)
                check_int(store_write(s, pin_round_fn, &round), 0);
        check(store_needs_sync(s));

        /* the image: every page as now, but the meta pages as synced */
        check(mkdir(img, 0700) == 0);
        out = open(img_data, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        check(out >= 0);
        check(fstat(fd, &st) == 0);
        copy_range(fd, out, 0, (size_t) st.st_size);
        check(pwrite(out, meta, sizeof meta, 0) == (ssize_t) sizeof meta);
        check(close(out) == 0);
        check(close(fd) == 0);
        store_free(s);

        check(store_open(img, &s) == 0);
        for (unsigned k = 0; k < PIN_KEYS; k++) {
                snprintf(key, sizeof key, "pin%03u", k);
                pin_value(want, sizeof want, 0, k);
                _cleanup_free_ char *got = get_str(s, DB_OUTPUT, key, strlen(key));
                check_streq(got, want);
        }
        store_free(s);
        tmpdir_done(&d);
}

static void test_map_growth(void) {
        TmpDir d;
        _cleanup_free_ char *dir = NULL;
        Store *s = NULL;
        size_t initial, grown;
        BigCtx c;

        tmpdir_make(&d);
        dir = db_dir(&d);
        check(store_open_sized(dir, 64 * 1024, 64 * 1024 * 1024, &s) == 0);
        initial = store_map_size(s);
        check(initial < 1024 * 1024);

        check(put_str(s, DB_META, "before", "growth") == 0);

        /* ~16 MB in one transaction */
        c = (BigCtx) { .first = 0, .n = 4000 };
        check_int(store_write(s, big_fn, &c), 0);
        check(c.calls > 1);       /* it was retried after growing */
        grown = store_map_size(s);
        check(grown > initial);
        check(grown >= (size_t) 4000 * BIG_VALUE);
        check(grown <= 64 * 1024 * 1024);
        check_big(s, 0, 4000);
        check(store_sync(s) == 0);

        /* ~80 MB more does not fit in 64 MiB: -ENOSPC, and nothing of it is there */
        c = (BigCtx) { .first = 10000, .n = 20000 };
        check_int(store_write(s, big_fn, &c), -ENOSPC);
        check(store_map_size(s) <= 64 * 1024 * 1024);
        check_big(s, 0, 4000);
        {
                uint8_t k[4];
                key32(k, 10000);
                check(!has_key(s, DB_OUTPUT, k, 4));
                key32(k, 29999);
                check(!has_key(s, DB_OUTPUT, k, 4));
        }
        {
                _cleanup_free_ char *v = get_str(s, DB_META, "before", 6);
                check_streq(v, "growth");
        }
        /* small writes still work at the maximum */
        check(put_str(s, DB_META, "after", "full") == 0);

        /* reopening with the small initial size adopts the grown map */
        s = store_free(s);
        check(store_open_sized(dir, 64 * 1024, 64 * 1024 * 1024, &s) == 0);
        check(store_map_size(s) >= grown);
        check_big(s, 0, 4000);
        check(has_key(s, DB_META, "after", 5));
        store_free(s);
        tmpdir_done(&d);
}

/* ---- records ---- */

static void approval_set(Approval *a, uid_t uid, const char *user, bool approve, usec_t time,
                         const char *comment, const char *digest, unsigned attempt) {
        *a = (Approval) {
                .uid = uid,
                .user = strdup(user),
                .login_uid = UID_INVALID,
                .approve = approve,
                .time = time,
                .comment = strdup(comment),
                .digest = strdup(digest),
                .attempt = attempt,
        };
        check(a->user && a->comment && a->digest);
}

static void step_set(Session *s, size_t i, const char *name, StepPhase phase, const char *command,
                     bool requires_approval, unsigned approvers, StepState state) {
        Step *st = &s->steps[i];

        st->session = s;
        st->index = (uint32_t) i;
        st->name = strdup(name);
        st->phase = phase;
        st->command = strdup(command);
        st->target = strdup("local");
        st->connector = strdup("local");
        check(st->name && st->command && st->target && st->connector);
        st->requires_approval = requires_approval;
        st->approvals_required = approvers;
        st->timeout_usec = (usec_t) (10 + i) * USEC_PER_SEC;
        st->expect_exit = (int) i;
        st->state = state;
        st->exit_status = -1;
        st->attempt = 1;
        check(step_compute_digest(st->connector, st->target, NULL, st->command, &st->digest) == 0);
        check(strlen(st->digest) == 64);
}

/* A session of four steps, by hand, with every kind of field set. */
static Session *make_session(uint32_t id, SessionState state) {
        Session *s;
        Step *st;
        json_error_t err;

        s = calloc(1, sizeof(Session));
        check(s);
        s->id = id;
        s->runbook = strdup("restart-web");
        s->reference = strdup("TICKET-42");
        s->creator_name = strdup("alice");
        s->parameters = json_pack("{s:s,s:s}", "service", "nginx", "odd", "it's \"quoted\"\n");
        s->snapshot = json_loads("{\"description\":\"d\",\"steps\":[{\"name\":\"a\",\"run\":\"true\"}],"
                                 "\"parameters\":{\"service\":{\"default\":\"nginx\"}}}", 0, &err);
        check(s->runbook && s->reference && s->creator_name && s->parameters && s->snapshot);
        s->state = state;
        s->creator_uid = 1000;
        /* even ids: alice logged in as herself; odd: no login uid */
        s->creator_login_uid = id % 2 ? UID_INVALID : 1000;
        s->creator_login_name = id % 2 ? NULL : strdup("alice");
        check(id % 2 || s->creator_login_name);
        s->created_at = UINT64_C(1700000000123456);
        s->finished_at = 0;
        s->current_step = 2;
        s->error = NULL;
        s->n_steps = 4;
        s->steps = calloc(s->n_steps, sizeof(Step));
        check(s->steps);

        step_set(s, 0, "disk space", PHASE_PRECHECK, "df -h /", false, 1, STEP_SUCCEEDED);
        st = &s->steps[0];
        st->exit_status = 0;
        st->started_at = UINT64_C(1700000000200000);
        st->finished_at = UINT64_C(1700000000300000);

        step_set(s, 1, "restart", PHASE_MAIN, "systemctl restart 'nginx'", true, 2, STEP_FAILED);
        st = &s->steps[1];
        st->exit_status = 3;
        st->signal = 0;
        st->waiting_since = UINT64_C(1700000000310000);
        st->started_at = UINT64_C(1700000000400000);
        st->finished_at = UINT64_C(1700000000500000);
        st->attempt = 2;
        st->error = strdup("exit status 3, expected 1");
        st->truncated = true;
        st->n_approvals = 3;
        st->approvals = calloc(3, sizeof(Approval));
        check(st->approvals && st->error);
        approval_set(&st->approvals[0], 0, "root", true, UINT64_C(1700000000320000), "looks fine", st->digest, 1);
        st->approvals[0].login_uid = 1001; /* bob, through sudo */
        st->approvals[0].login_user = strdup("bob");
        check(st->approvals[0].login_user);
        approval_set(&st->approvals[1], 1002, "carol", false, UINT64_C(1700000000330000), "", st->digest, 1);
        approval_set(&st->approvals[2], 1001, "bob", true, UINT64_C(1700000000340000), "ünïcode ✓", "0000", 2);

        step_set(s, 2, "wait", PHASE_MAIN, "sleep 1", true, 1, STEP_TIMED_OUT);
        st = &s->steps[2];
        st->signal = SIGKILL;
        st->error = strdup("timed out after 12s");
        check(st->error);

        step_set(s, 3, "is active", PHASE_POSTCHECK, "systemctl is-active 'nginx'", false, 1, STEP_PENDING);
        return s;
}

typedef struct SaveCtx {
        Session *s;
        const Step *step;         /* only this step's record */
        bool all;                 /* a new session: everything */
} SaveCtx;

static int save_fn(StoreTxn *t, void *userdata) {
        SaveCtx *c = userdata;

        if (c->step) {
                store_save_step(t, c->step);
                return 0;
        }
        store_save_session(t, c->s, c->all);
        for (size_t i = 0; c->all && i < c->s->n_steps; i++) {
                store_save_step(t, &c->s->steps[i]);
                for (size_t h = 0; h < c->s->steps[i].n_hosts; h++)
                        store_save_host(t, &c->s->steps[i].hosts[h]);
        }
        return 0;
}

/* save(st, s, true): a new session, all of it; save(st, s, false): the session record. */
static void save(Store *st, Session *s, bool all) {
        SaveCtx c = { .s = s, .all = all };
        check(store_write(st, save_fn, &c) == 0);
}

static void save_step(Store *st, const Step *step) {
        SaveCtx c = { .step = step };
        check(store_write(st, save_fn, &c) == 0);
}

static Session *load(Store *st, uint32_t id, int expect) {
        Session *s = NULL;
        StoreTxn t;

        check(store_read_begin(st, &t) == 0);
        check_int(store_load_session(&t, id, &s), expect);
        store_read_end(&t);
        check(expect == 0 ? s != NULL : s == NULL);
        return s;
}

static void check_same_step(const Step *a, const Step *b, const Session *bs) {
        check(b->session == bs);
        check_int(a->index, b->index);
        check_streq(a->name, b->name);
        check_int(a->phase, b->phase);
        check_streq(a->command, b->command);
        check_streq(a->target, b->target);
        check_streq(a->connector, b->connector);
        check_int(a->requires_approval, b->requires_approval);
        check_int(a->approvals_required, b->approvals_required);
        check_int(a->timeout_usec, b->timeout_usec);
        check_int(a->expect_exit, b->expect_exit);
        check_int(a->state, b->state);
        check_int(a->exit_status, b->exit_status);
        check_int(a->signal, b->signal);
        check_int(a->waiting_since, b->waiting_since);
        check_int(a->started_at, b->started_at);
        check_int(a->finished_at, b->finished_at);
        check_streq(a->digest, b->digest);
        check_int(a->attempt, b->attempt);
        check(streq_ptr(a->error, b->error));
        check_int(a->truncated, b->truncated);
        check(a->remote ? json_equal(a->remote, b->remote) : !b->remote);
        check_int(a->n_approvals, b->n_approvals);
        for (size_t i = 0; i < a->n_approvals; i++) {
                const Approval *x = &a->approvals[i], *y = &b->approvals[i];
                check_int(x->uid, y->uid);
                check_streq(x->user, y->user);
                check_int(x->login_uid, y->login_uid);
                check(streq_ptr(x->login_user, y->login_user));
                check_int(x->approve, y->approve);
                check_int(x->time, y->time);
                check_streq(x->comment, y->comment);
                check_streq(x->digest, y->digest);
                check_int(x->attempt, y->attempt);
        }
        check_int(step_count_approvals(a), step_count_approvals(b));
}

static void check_same_session(const Session *a, const Session *b) {
        check_int(a->id, b->id);
        check_streq(a->runbook, b->runbook);
        check_streq(a->reference, b->reference);
        check(json_equal(a->parameters, b->parameters));
        check(json_equal(a->snapshot, b->snapshot));
        check_int(a->state, b->state);
        check_int(a->creator_uid, b->creator_uid);
        check_streq(a->creator_name, b->creator_name);
        check_int(a->creator_login_uid, b->creator_login_uid);
        check(streq_ptr(a->creator_login_name, b->creator_login_name));
        check_int(a->created_at, b->created_at);
        check_int(a->finished_at, b->finished_at);
        check_int(a->current_step, b->current_step);
        check(streq_ptr(a->error, b->error));
        check(!b->runtime);
        check_int(a->n_steps, b->n_steps);
        for (size_t i = 0; i < a->n_steps; i++)
                check_same_step(&a->steps[i], &b->steps[i], b);
}

static void list_active(Store *st, uint32_t **ids, size_t *n) {
        StoreTxn t;

        check(store_read_begin(st, &t) == 0);
        check(store_list_active(&t, ids, n) == 0);
        store_read_end(&t);
}

static void test_session_roundtrip(void) {
        TmpDir d;
        _cleanup_free_ char *dir = NULL;
        Store *st = NULL;
        Session *s, *l;

        tmpdir_make(&d);
        dir = db_dir(&d);
        check(store_open(dir, &st) == 0);

        check(!load(st, 7, -ENOENT));

        s = make_session(7, SESSION_RUNNING);
        save(st, s, true);

        l = load(st, 7, 0);
        check_same_session(s, l);
        check(l->reference && streq(l->reference, "TICKET-42"));
        check(!l->steps[0].error);
        session_free(l);

        /* a finished session with an error string; across a reopen */
        s->state = SESSION_FAILED;
        s->finished_at = UINT64_C(1700000000600000);
        s->current_step = 1;
        s->error = strdup("main 1 (restart) failed: exit status 3, expected 1");
        check(s->error);
        save(st, s, false);

        st = store_free(st);
        check(store_open(dir, &st) == 0);
        l = load(st, 7, 0);
        check_same_session(s, l);
        check_streq(l->error, "main 1 (restart) failed: exit status 3, expected 1");
        check_int(l->steps[1].n_approvals, 3);
        check_int(l->steps[1].approvals[1].approve, false);
        check_streq(l->steps[1].approvals[2].comment, "ünïcode ✓");
        check_int(step_count_approvals(&l->steps[1]), 1);   /* attempt 2: one approval */
        check(step_approved_by(&l->steps[1], 1001));
        check(!step_approved_by(&l->steps[1], 1002));
        session_free(l);

        session_free(s);
        store_free(st);
        tmpdir_done(&d);
}

/* Decoding trusts a record no further than its key and the engine's bounds: a step record that
 * claims another index than its key, and fields out of range, make the session unloadable
 * (-EBADMSG) instead of being used as array indices or counts. */
typedef struct CorruptCtx {
        uint32_t id, key_index;
        const char *field;
        json_t *value;
        bool session_record;
} CorruptCtx;

static int corrupt_fn(StoreTxn *t, void *userdata) {
        CorruptCtx *c = userdata;
        _cleanup_(json_decrefp) json_t *j = NULL;
        uint8_t k[8];

        k[0] = (uint8_t) (c->id >> 24); k[1] = (uint8_t) (c->id >> 16); k[2] = (uint8_t) (c->id >> 8); k[3] = (uint8_t) c->id;
        k[4] = (uint8_t) (c->key_index >> 24); k[5] = (uint8_t) (c->key_index >> 16);
        k[6] = (uint8_t) (c->key_index >> 8); k[7] = (uint8_t) c->key_index;
        check(store_get_json(t, c->session_record ? DB_SESSIONS : DB_STEPS, k, c->session_record ? 4 : 8, &j) == 0);
        check(json_object_set(j, c->field, c->value) == 0);
        store_put_json(t, c->session_record ? DB_SESSIONS : DB_STEPS, k, c->session_record ? 4 : 8, j);
        return 0;
}

static void test_corrupt_records(void) {
        static const struct {
                bool session_record;
                uint32_t key_index;
                const char *field;
                const char *value;   /* JSON */
        } cases[] = {
                { false, 1, "index", "3" },                  /* step 1's record says it is step 3 */
                { false, 1, "index", "99" },
                { false, 0, "approvals_required", "0" },
                { false, 0, "approvals_required", "1000" },
                { false, 2, "exit_status", "4096" },
                { false, 2, "signal", "-5" },
                { false, 3, "attempt", "0" },
                { false, 0, "state", "\"bogus\"" },
                { false, 0, "hosts", "-1" },
                { true, 0, "current_step", "4" },            /* four steps: 0..3 */
                { true, 0, "current_step", "-7" },
                { true, 0, "n_steps", "100000" },
                { true, 0, "creator_login_uid", "-1" },
                { true, 0, "creator_login_uid", "4294967295" },
                { true, 0, "creator_login_uid", "5" },       /* a login uid with no name */
                { true, 0, "creator_login_name", "\"x\"" },  /* a name with no login uid */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                TmpDir d;
                _cleanup_free_ char *dir = NULL;
                Store *st = NULL;
                Session *s, *l;
                CorruptCtx c = { 7, cases[i].key_index, cases[i].field, NULL, cases[i].session_record };

                tmpdir_make(&d);
                dir = db_dir(&d);
                check(store_open(dir, &st) == 0);
                s = make_session(7, SESSION_RUNNING);
                save(st, s, true);
                l = load(st, 7, 0);            /* as written it loads */
                session_free(l);
                c.value = json_loads(cases[i].value, JSON_DECODE_ANY, NULL);
                check(c.value);
                check(store_write(st, corrupt_fn, &c) == 0);
                fprintf(stderr, "   %s record, %s = %s: refused\n", cases[i].session_record ? "session" : "step",
                        cases[i].field, cases[i].value);
                check(!load(st, 7, -EBADMSG));
                json_decref(c.value);
                session_free(s);
                store_free(st);
                tmpdir_done(&d);
        }
}

/* A step's remote handle ("remote"): written before a remote run is created, read back as it
 * was (across a reopen), dropped when cleared; records without it load with none. */
static void test_step_remote(void) {
        TmpDir d;
        _cleanup_free_ char *dir = NULL;
        Store *st = NULL;
        Session *s, *l;
        json_t *h;

        tmpdir_make(&d);
        dir = db_dir(&d);
        check(store_open(dir, &st) == 0);

        s = make_session(9, SESSION_RUNNING);
        save(st, s, true);
        l = load(st, 9, 0);
        for (size_t i = 0; i < l->n_steps; i++)
                check(!l->steps[i].remote);
        session_free(l);

        h = json_pack("{s:s,s:s,s:s,s:s,s:I}", "connector", "azure", "api", "managed",
                      "name", "runbookd-9-1-a2-0badcafe",
                      "url", "https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/"
                             "Microsoft.Compute/virtualMachines/vm/runCommands/runbookd-9-1-a2-0badcafe",
                      "created_at", (json_int_t) UINT64_C(1700000000700000));
        check(h);
        s->steps[1].state = STEP_RUNNING;
        s->steps[1].remote = h;
        save_step(st, &s->steps[1]);

        st = store_free(st);
        check(store_open(dir, &st) == 0);
        l = load(st, 9, 0);
        check_same_session(s, l);
        check(l->steps[1].remote && l->steps[1].remote != h);
        check_streq(json_string_value(json_object_get(l->steps[1].remote, "name")), "runbookd-9-1-a2-0badcafe");
        check_int(json_integer_value(json_object_get(l->steps[1].remote, "created_at")), UINT64_C(1700000000700000));
        check(!l->steps[0].remote);
        session_free(l);

        /* a new attempt clears it */
        json_decref(s->steps[1].remote);
        s->steps[1].remote = NULL;
        save_step(st, &s->steps[1]);
        l = load(st, 9, 0);
        check(!l->steps[1].remote);
        check_same_session(s, l);
        session_free(l);

        session_free(s);
        store_free(st);
        tmpdir_done(&d);
}

/* Each save writes its own record and nothing else (what changed is the engine's business). */
static void test_save_parts(void) {
        TmpDir d;
        _cleanup_free_ char *dir = NULL;
        Store *st = NULL;
        Session *s, *l;

        tmpdir_make(&d);
        dir = db_dir(&d);
        check(store_open(dir, &st) == 0);

        s = make_session(3, SESSION_WAITING_APPROVAL);
        save(st, s, true);
        s->steps[3].state = STEP_RUNNING;
        s->current_step = 3;

        /* a step's record, not the session's */
        save_step(st, &s->steps[3]);
        l = load(st, 3, 0);
        check_int(l->steps[3].state, STEP_RUNNING);
        check_int(l->current_step, 2);
        session_free(l);

        /* the session's record, not its steps' */
        s->steps[2].state = STEP_SUCCEEDED;
        save(st, s, false);
        l = load(st, 3, 0);
        check_int(l->current_step, 3);
        check_int(l->steps[2].state, STEP_TIMED_OUT);
        session_free(l);

        /* forced: everything */
        save(st, s, true);
        l = load(st, 3, 0);
        check_same_session(s, l);
        session_free(l);

        session_free(s);
        store_free(st);
        tmpdir_done(&d);
}

static void test_list_active(void) {
        TmpDir d;
        _cleanup_free_ char *dir = NULL;
        Store *st = NULL;
        Session *s[4];
        uint32_t *ids = NULL;
        size_t n = 99;

        tmpdir_make(&d);
        dir = db_dir(&d);
        check(store_open(dir, &st) == 0);

        list_active(st, &ids, &n);
        check_int(n, 0);
        free(ids);

        /* saved out of order; listed ascending */
        s[0] = make_session(300, SESSION_WAITING_APPROVAL);
        s[1] = make_session(2, SESSION_RUNNING);
        s[2] = make_session(1000, SESSION_INTERRUPTED);   /* not final: waits for retry or cancel */
        s[3] = make_session(5, SESSION_SUCCEEDED);
        for (size_t i = 0; i < 4; i++)
                save(st, s[i], true);

        list_active(st, &ids, &n);
        check_int(n, 3);
        check_int(ids[0], 2);
        check_int(ids[1], 300);
        check_int(ids[2], 1000);
        free(ids);

        /* each final state takes it out; created is active */
        static const SessionState finals[] = { SESSION_FAILED, SESSION_REJECTED, SESSION_CANCELLED };
        for (size_t i = 0; i < 3; i++) {
                s[i]->state = finals[i];
                save(st, s[i], false);
        }
        /* no transition leaves a final state; the key is written with a new session ('force')
         * and not again on later transitions */
        s[3]->state = SESSION_CREATED;
        save(st, s[3], false);
        list_active(st, &ids, &n);
        check_int(n, 0);
        free(ids);
        save(st, s[3], true);

        list_active(st, &ids, &n);
        check_int(n, 1);
        check_int(ids[0], 5);
        free(ids);

        /* a session record written again while final stays inactive */
        save(st, s[0], false);
        list_active(st, &ids, &n);
        check_int(n, 1);
        free(ids);

        /* many: more than the first allocation */
        for (uint32_t id = 2000; id < 2100; id++) {
                Session *x = make_session(id, SESSION_WAITING_APPROVAL);
                save(st, x, true);
                session_free(x);
        }
        list_active(st, &ids, &n);
        check_int(n, 101);
        check_int(ids[0], 5);
        for (size_t i = 1; i < n; i++)
                check_int(ids[i], 2000 + i - 1);
        free(ids);

        for (size_t i = 0; i < 4; i++)
                session_free(s[i]);
        store_free(st);
        tmpdir_done(&d);
}

typedef struct OutputCtx {
        uint32_t id, index;
        uint8_t stream;
        const uint8_t *data;
        size_t n;
        bool del;
} OutputCtx;

static int output_fn(StoreTxn *t, void *userdata) {
        OutputCtx *c = userdata;
        if (c->del)
                store_del_output(t, c->id, c->index);
        else
                store_put_output(t, c->id, c->index, c->stream, c->data, c->n);
        return 0;
}

static void put_output(Store *st, uint32_t id, uint32_t index, uint8_t stream, const uint8_t *data, size_t n) {
        OutputCtx c = { id, index, stream, data, n, false };
        check(store_write(st, output_fn, &c) == 0);
}

static void check_output(Store *st, uint32_t id, uint32_t index, uint8_t stream, const uint8_t *data, size_t n) {
        _cleanup_free_ uint8_t *got = NULL;
        size_t got_n = 12345;
        StoreTxn t;

        check(store_read_begin(st, &t) == 0);
        check(store_get_output(&t, id, index, stream, &got, &got_n) == 0);
        store_read_end(&t);
        check_int(got_n, n);
        check(n == 0 || memcmp(got, data, n) == 0);
}

static int count_cb(const MDB_val *k, const MDB_val *v, void *u) {
        (*(size_t *) u)++;
        return 0;
}

static size_t count_chunks(Store *st) {
        StoreTxn t;
        size_t n = 0;

        check(store_read_begin(st, &t) == 0);
        check(store_foreach(&t, DB_OUTPUT, NULL, 0, false, count_cb, &n) == 0);
        store_read_end(&t);
        return n;
}

static void test_output(void) {
        TmpDir d;
        _cleanup_free_ char *dir = NULL;
        _cleanup_free_ uint8_t *big = NULL;
        const size_t chunk = 64 * 1024, big_n = 3 * 64 * 1024 + 123;
        Store *st = NULL;

        tmpdir_make(&d);
        dir = db_dir(&d);
        check(store_open(dir, &st) == 0);

        big = malloc(big_n);
        check(big);
        for (size_t i = 0; i < big_n; i++)
                big[i] = (uint8_t) (i * 7 + i / 251);

        /* nothing stored: empty */
        check_output(st, 1, 0, 0, NULL, 0);

        /* sizes around the chunk boundary */
        static const size_t sizes[] = { 1, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 2 * 64 * 1024, 3 * 64 * 1024 + 123 };
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                put_output(st, 1, 0, 0, big, sizes[i]);
                check_output(st, 1, 0, 0, big, sizes[i]);
                check_int(count_chunks(st), (sizes[i] + chunk - 1) / chunk);
        }

        /* stdout and stderr of the same step, and a neighbouring step, are separate */
        put_output(st, 1, 0, 1, (const uint8_t *) "err", 3);
        put_output(st, 1, 1, 0, (const uint8_t *) "next step", 9);
        put_output(st, 2, 0, 0, (const uint8_t *) "next session", 12);
        check_output(st, 1, 0, 0, big, big_n);
        check_output(st, 1, 0, 1, (const uint8_t *) "err", 3);
        check_output(st, 1, 1, 0, (const uint8_t *) "next step", 9);
        check_output(st, 1, 1, 1, NULL, 0);
        check_output(st, 2, 0, 0, (const uint8_t *) "next session", 12);

        /* replacement by something shorter drops the old chunks */
        put_output(st, 1, 0, 0, (const uint8_t *) "short", 5);
        check_output(st, 1, 0, 0, (const uint8_t *) "short", 5);
        check_int(count_chunks(st), 4);
        /* and by nothing */
        put_output(st, 1, 0, 0, NULL, 0);
        check_output(st, 1, 0, 0, NULL, 0);
        check_output(st, 1, 0, 1, (const uint8_t *) "err", 3);

        /* replacement by something longer */
        put_output(st, 1, 0, 0, big, big_n);
        check_output(st, 1, 0, 0, big, big_n);

        /* store_del_output: both streams of that step only */
        {
                OutputCtx c = { .id = 1, .index = 0, .del = true };
                check(store_write(st, output_fn, &c) == 0);
        }
        check_output(st, 1, 0, 0, NULL, 0);
        check_output(st, 1, 0, 1, NULL, 0);
        check_output(st, 1, 1, 0, (const uint8_t *) "next step", 9);
        check_output(st, 2, 0, 0, (const uint8_t *) "next session", 12);
        check_int(count_chunks(st), 2);

        store_free(st);
        tmpdir_done(&d);
}

typedef struct SessionsSeen {
        uint32_t ids[16];
        char *states[16];
        size_t n, stop_after;
} SessionsSeen;

static int sessions_cb(uint32_t id, json_t *record, void *userdata) {
        SessionsSeen *c = userdata;

        check(c->n < ELEMENTSOF(c->ids));
        check_int(json_integer_value(json_object_get(record, "id")), id);
        c->ids[c->n] = id;
        c->states[c->n] = strdup(json_string_value(json_object_get(record, "state")));
        check(c->states[c->n]);
        c->n++;
        return c->stop_after > 0 && c->n >= c->stop_after ? 1 : 0;
}

static void sessions_clear(SessionsSeen *c) {
        for (size_t i = 0; i < c->n; i++)
                free(c->states[i]);
        *c = (SessionsSeen) {};
}

static void foreach_sessions(Store *st, SessionsSeen *c) {
        StoreTxn t;

        check(store_read_begin(st, &t) == 0);
        check(store_foreach_session(&t, sessions_cb, c) == 0);
        store_read_end(&t);
}

static void test_foreach_session(void) {
        TmpDir d;
        _cleanup_free_ char *dir = NULL;
        Store *st = NULL;
        SessionsSeen c = {};
        static const uint32_t ids[] = { 1, 2, 3, 256, 70000 };

        tmpdir_make(&d);
        dir = db_dir(&d);
        check(store_open(dir, &st) == 0);

        foreach_sessions(st, &c);
        check_int(c.n, 0);

        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                Session *s = make_session(ids[i], i % 2 ? SESSION_SUCCEEDED : SESSION_WAITING_APPROVAL);
                save(st, s, true);
                session_free(s);
        }

        foreach_sessions(st, &c);
        check_int(c.n, ELEMENTSOF(ids));
        for (size_t i = 0; i < c.n; i++) {
                size_t j = ELEMENTSOF(ids) - 1 - i;
                check_int(c.ids[i], ids[j]);
                check_streq(c.states[i], j % 2 ? "succeeded" : "waiting_approval");
        }
        sessions_clear(&c);

        c.stop_after = 2;
        foreach_sessions(st, &c);
        check_int(c.n, 2);
        check_int(c.ids[0], 70000);
        check_int(c.ids[1], 256);
        sessions_clear(&c);

        store_free(st);
        tmpdir_done(&d);
}

typedef struct WalkSeen {
        uint32_t ids[16];
        SessionState states[16];
        size_t n, stop_after;
} WalkSeen;

static int walk_cb(const SessionSummary *sum, void *userdata) {
        WalkSeen *c = userdata;

        check(c->n < ELEMENTSOF(c->ids));
        check_streq(sum->runbook, "restart-web");
        check_streq(sum->reference, "TICKET-42");
        check_streq(sum->creator_name, "alice");
        check_int(sum->creator_uid, 1000);
        check_int(sum->current_step, 2);
        check_int(sum->created_at, UINT64_C(1700000000123456));
        c->ids[c->n] = sum->id;
        c->states[c->n++] = sum->state;
        return c->stop_after > 0 && c->n >= c->stop_after ? 1 : 0;
}

static uint32_t walk(Store *st, uint32_t before, size_t max_read, WalkSeen *c) {
        uint32_t next = 12345;
        StoreTxn t;

        check(store_read_begin(st, &t) == 0);
        check_int(store_walk_sessions(&t, before, max_read, walk_cb, c, &next), 0);
        store_read_end(&t);
        return next;
}

/* store_walk_sessions(): newest first, from below a cursor, at most max_read records a call,
 * and the cursor to go on from (0 at the oldest); resumed, it sees each session once. */
static void test_walk_sessions(void) {
        static const uint32_t ids[] = { 1, 2, 3, 256, 70000 };
        _cleanup_free_ char *dir = NULL;
        Store *st = NULL;
        WalkSeen c = {};
        TmpDir d;

        tmpdir_make(&d);
        dir = db_dir(&d);
        check(store_open(dir, &st) == 0);
        check_int(walk(st, 0, 100, &c), 0);
        check_int(c.n, 0);

        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                Session *s = make_session(ids[i], i % 2 ? SESSION_SUCCEEDED : SESSION_WAITING_APPROVAL);
                save(st, s, true);
                session_free(s);
        }

        /* all, newest first, with their states (snapshot keys are not sessions) */
        check_int(walk(st, 0, 100, &c), 0);
        check_int(c.n, ELEMENTSOF(ids));
        for (size_t i = 0; i < c.n; i++) {
                size_t j = ELEMENTSOF(ids) - 1 - i;
                check_int(c.ids[i], ids[j]);
                check_int(c.states[i], j % 2 ? SESSION_SUCCEEDED : SESSION_WAITING_APPROVAL);
        }

        /* below a cursor: an id that exists, one that does not, one above them all */
        c = (WalkSeen) {};
        check_int(walk(st, 256, 100, &c), 0);
        check_int(c.n, 3);
        check_int(c.ids[0], 3);
        c = (WalkSeen) {};
        check_int(walk(st, 200, 100, &c), 0);
        check_int(c.n, 3);
        check_int(c.ids[0], 3);
        c = (WalkSeen) {};
        check_int(walk(st, 100000, 100, &c), 0);
        check_int(c.n, 5);
        c = (WalkSeen) {};
        check_int(walk(st, 1, 100, &c), 0);
        check_int(c.n, 0);

        /* the callback stops it: go on below the last one it took */
        c = (WalkSeen) { .stop_after = 2 };
        check_int(walk(st, 0, 100, &c), 256);
        check_int(c.n, 2);

        /* at most max_read records a call; resumed from the cursor, each one once */
        uint32_t next = 0, seen[8];
        size_t n_seen = 0, calls = 0;
        do {
                c = (WalkSeen) {};
                next = walk(st, next, 2, &c);
                check(c.n <= 2);
                for (size_t i = 0; i < c.n; i++)
                        seen[n_seen++] = c.ids[i];
                calls++;
        } while (next != 0 && calls < 10);
        check_int(next, 0);
        check_int(calls, 3);
        check_int(n_seen, ELEMENTSOF(ids));
        for (size_t i = 0; i < n_seen; i++)
                check_int(seen[i], ids[ELEMENTSOF(ids) - 1 - i]);

        store_free(st);
        tmpdir_done(&d);
}

/* the start log: durable records of step starts, read back after a reopen, in order, only the
 * ones newer than asked; a ring that wraps; a damaged slot is ignored, not trusted */
static void test_start_log(void) {
        _cleanup_free_ StartRecord *recs = NULL;
        StartLog *l = NULL;
        size_t n = 0;
        TmpDir d;
        int fd;

        tmpdir_make(&d);
        check_int(start_log_open(d.path, &l), 0);
        check_int(start_log_next_seq(l), 1);
        check_int(start_log_read(l, 0, &recs, &n), 0);
        check_int(n, 0);
        recs = mfree(recs);

        check_int(start_log_append(l, 7, 0, 1), 0);
        check_int(start_log_append_range(l, 7, 1, 1, 5), 0);
        check_int(start_log_append(l, 9, 3, 2), 0);
        l = start_log_free(l);

        check_int(start_log_open(d.path, &l), 0);
        check_int(start_log_next_seq(l), 4);
        check_int(start_log_read(l, 0, &recs, &n), 0);
        check_int(n, 3);
        check_int(recs[0].seq, 1);
        check_int(recs[0].session, 7);
        check_int(recs[0].count, 1);
        check_int(recs[1].step, 1);
        check_int(recs[1].count, 5);   /* steps 1..5 */
        check_int(recs[2].count, 1);
        check_int(recs[2].seq, 3);
        check_int(recs[2].session, 9);
        check_int(recs[2].step, 3);
        check_int(recs[2].attempt, 2);
        recs = mfree(recs);
        check_int(start_log_read(l, 2, &recs, &n), 0);
        check_int(n, 1);
        check_int(recs[0].seq, 3);
        recs = mfree(recs);

        /* the store's sequence wins over a new, empty file */
        start_log_seq_at_least(l, 100);
        check_int(start_log_next_seq(l), 101);
        start_log_seq_at_least(l, 5);
        check_int(start_log_next_seq(l), 101);

        /* a ring: after many more records, the newest ones are all there */
        for (uint32_t i = 0; i < 5000; i++)
                check_int(start_log_append(l, 1000 + i, i, 1), 0);
        check_int(start_log_read(l, 5000, &recs, &n), 0);
        check_int(n, 100);
        check_int(recs[99].seq, 5100);
        check_int(recs[99].session, 1000 + 4999);
        recs = mfree(recs);

        l = start_log_free(l);

        /* a damaged slot (the newest) is not believed */
        {
                _cleanup_free_ char *path = NULL;
                uint8_t junk = 0x5a;
                check(asprintf_safe(&path, "%s/starts.log", d.path) == 0);
                fd = open(path, O_WRONLY | O_CLOEXEC);
                check(fd >= 0);
                check(pwrite(fd, &junk, 1, (5100 % 2048) * 32 + 20) == 1);
                close(fd);
        }
        check_int(start_log_open(d.path, &l), 0);
        check_int(start_log_read(l, 5090, &recs, &n), 0);
        check_int(n, 9);
        check_int(recs[8].seq, 5099);
        check_int(start_log_next_seq(l), 5100);
        l = start_log_free(l);
        tmpdir_done(&d);
}

int main(void) {
        TEST(open_close_reopen);
        TEST(write_commit_sync);
        TEST(del);
        TEST(sticky_error);
        TEST(foreach);
        TEST(del_prefix);
        TEST(meta);
        TEST(audit);
        TEST(map_growth);
        TEST(session_roundtrip);
        TEST(corrupt_records);
        TEST(walk_sessions);
        TEST(step_remote);
        TEST(save_parts);
        TEST(list_active);
        TEST(output);
        TEST(foreach_session);
        TEST(start_log);
        TEST(synced_snapshot_kept);
        return 0;
}
