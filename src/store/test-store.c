/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-store.c: the LMDB store — sticky-error transactions, iteration, meta, the audit log, map
 * growth, what a crash may leave — each case in its own mkdtemp directory. The records:
 * test-store-records.c; output: test-store-output.c; the start log: test-start-log.c. */

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include "store/test-store-fixture.h"

/* ---- store ---- */

static void test_open_close_reopen(void) {
        StoreFx f = {};
        Store *s = NULL;

        store_fx_setup(&f);   /* <tmp>/db does not exist before: store_open creates it */
        check(f.store);
        check(store_map_size(f.store) > 0);
        check(put_str(f.store, DB_META, "hello", "world") == 0);
        check(put_str(f.store, DB_SESSIONS, "k", "v") == 0);
        f.store = store_free(f.store);
        check(!f.store);
        check(!store_free(NULL));

        check(store_open(f.dir, &f.store) == 0);
        {
                _cleanup_free_ char *a = get_str(f.store, DB_META, "hello", 5);
                _cleanup_free_ char *b = get_str(f.store, DB_SESSIONS, "k", 1);
                _cleanup_free_ char *c = get_str(f.store, DB_STEPS, "k", 1);
                check_streq(a, "world");
                check_streq(b, "v");
                check(!c);       /* named databases are separate */
        }
        f.store = store_free(f.store);

        /* the directory is private */
        {
                struct stat st;
                check(stat(f.dir, &st) == 0);
                check((st.st_mode & 0077) == 0);
        }

        /* a path that cannot be a directory fails cleanly */
        {
                _cleanup_free_ char *bad = NULL;
                check(asprintf_safe(&bad, "%s/nope/deeper", f.tmp.path) == 0);
                check(store_open(bad, &s) < 0);
                check(!s);
        }
        store_fx_done(&f);
}

static void test_write_commit_sync(void) {
        StoreFx f = {};

        store_fx_setup(&f);

        /* nothing committed since open: no sync needed */
        check(!store_needs_sync(f.store));
        check(store_sync(f.store) == 0);

        check(put_str(f.store, DB_META, "a", "1") == 0);
        check(store_needs_sync(f.store));
        check(store_sync(f.store) == 0);
        check(!store_needs_sync(f.store));
        check(store_sync(f.store) == 0);   /* a no-op */

        /* several writes, one sync */
        check(put_str(f.store, DB_META, "b", "2") == 0);
        check(put_str(f.store, DB_META, "a", "3") == 0);   /* overwrite */
        check(store_needs_sync(f.store));
        check(store_sync(f.store) == 0);
        check(!store_needs_sync(f.store));

        {
                _cleanup_free_ char *a = get_str(f.store, DB_META, "a", 1);
                _cleanup_free_ char *b = get_str(f.store, DB_META, "b", 1);
                check_streq(a, "3");
                check_streq(b, "2");
        }

        /* a read transaction sees a snapshot; a write after it began is not in it */
        {
                StoreTxn t;
                MDB_val v;

                check(store_read_begin(f.store, &t) == 0);
                check(put_str(f.store, DB_META, "c", "4") == 0);
                check(store_get(&t, DB_META, "c", 1, &v) == -ENOENT);
                check(store_get(&t, DB_META, "a", 1, &v) == 0);
                check(v.mv_size == 1 && memcmp(v.mv_data, "3", 1) == 0);
                store_read_end(&t);
                store_read_end(&t);   /* twice is harmless */
                check(has_key(f.store, DB_META, "c", 1));
        }

        store_fx_done(&f);
}

static int del_fn(StoreTxn *t, void *userdata) {
        store_del(t, DB_META, "c", 1);
        store_del(t, DB_META, "never-there", 11);
        return 0;
}

static void test_del(void) {
        StoreFx f = {};

        store_fx_setup(&f);
        check(put_str(f.store, DB_META, "c", "x") == 0);
        check(put_str(f.store, DB_META, "d", "y") == 0);
        check(store_write(f.store, del_fn, NULL) == 0);
        check(!has_key(f.store, DB_META, "c", 1));
        check(has_key(f.store, DB_META, "d", 1));
        store_fx_done(&f);
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
        StoreFx f = {};
        StickyCtx c = {};
        int r;

        store_fx_setup(&f);
        check(put_str(f.store, DB_META, "old", "value") == 0);
        check(store_sync(f.store) == 0);

        r = store_write(f.store, sticky_fn, &c);
        check(c.done);
        check(c.first < 0);
        check_int(r, c.first);
        check(r != -ENOSPC);        /* not mistaken for a full map */
        check_untouched(f.store);
        check(!store_needs_sync(f.store)); /* nothing was committed */

        /* fn's own error wins and aborts too */
        c = (StickyCtx) { .fn_fails = true };
        check_int(store_write(f.store, sticky_fn, &c), -EUCLEAN);
        check(c.done);
        check_untouched(f.store);

        /* the store still works after rejected writes */
        check(put_str(f.store, DB_META, "after", "ok") == 0);
        check(has_key(f.store, DB_META, "after", 5));

        /* and across a reopen nothing of the rejected transactions appears */
        store_fx_reopen(&f);
        check_untouched(f.store);
        check(has_key(f.store, DB_META, "after", 5));
        store_fx_done(&f);
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
        StoreFx f = {};
        uint8_t p[4];

        store_fx_setup(&f);

        /* empty database */
        {
                Seen seen = { .fail_at = -1 };
                run_foreach(f.store, NULL, 0, false, &seen, 0);
                run_foreach(f.store, NULL, 0, true, &seen, 0);
                key32(p, 2);
                run_foreach(f.store, p, 4, false, &seen, 0);
                run_foreach(f.store, p, 4, true, &seen, 0);
                check(seen.n == 0);
        }

        check(store_write(f.store, fill_fn, NULL) == 0);

        /* all, forward */
        {
                Seen seen = { .fail_at = -1 };
                static const uint32_t ids[] = { 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3 };
                static const uint32_t idx[] = { 0, 1, 2, 0, 1, 2, 300, UINT32_MAX, 0, 1, 2 };
                run_foreach(f.store, NULL, 0, false, &seen, 0);
                check_int(seen.n, ELEMENTSOF(ids));
                for (size_t i = 0; i < seen.n; i++) {
                        check_int(seen.ids[i], ids[i]);
                        check_int(seen.idx[i], idx[i]);
                }
                /* all, reverse */
                seen = (Seen) { .fail_at = -1 };
                run_foreach(f.store, NULL, 0, true, &seen, 0);
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
                run_foreach(f.store, p, 4, false, &seen, 0);
                check_int(seen.n, 5);
                for (size_t i = 0; i < seen.n; i++) {
                        check_int(seen.ids[i], 2);
                        check_int(seen.idx[i], idx[i]);
                }
                seen = (Seen) { .fail_at = -1 };
                run_foreach(f.store, p, 4, true, &seen, 0);
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
                run_foreach(f.store, p, 4, true, &seen, 0);
                check_int(seen.n, 3);
                for (size_t i = 0; i < seen.n; i++) {
                        check_int(seen.ids[i], id);
                        check_int(seen.idx[i], 2 - i);
                }
                seen = (Seen) { .fail_at = -1 };
                run_foreach(f.store, p, 4, false, &seen, 0);
                check_int(seen.n, 3);
                for (size_t i = 0; i < seen.n; i++)
                        check_int(seen.idx[i], i);
        }

        /* prefixes with nothing under them: before, between (none), after all keys */
        for (uint32_t id = 0; id <= 9; id += 9) {
                Seen seen = { .fail_at = -1 };
                key32(p, id == 9 ? 4 : 0);
                run_foreach(f.store, p, 4, false, &seen, 0);
                run_foreach(f.store, p, 4, true, &seen, 0);
                check_int(seen.n, 0);
        }

        /* a longer prefix (8 bytes: exactly one key) */
        {
                Seen seen = { .fail_at = -1 };
                uint8_t k[8];
                key64(k, 2, 1);
                run_foreach(f.store, k, 8, false, &seen, 0);
                run_foreach(f.store, k, 8, true, &seen, 0);
                check_int(seen.n, 2);
                check_int(seen.idx[0], 1);
                check_int(seen.idx[1], 1);
        }

        /* stop early (> 0) and fail (< 0) */
        {
                Seen seen = { .fail_at = -1, .stop_after = 2 };
                run_foreach(f.store, NULL, 0, false, &seen, 0);
                check_int(seen.n, 2);
                seen = (Seen) { .fail_at = -1, .stop_after = 1 };
                key32(p, 3);
                run_foreach(f.store, p, 4, true, &seen, 0);
                check_int(seen.n, 1);
                check_int(seen.idx[0], 2);
                seen = (Seen) { .fail_at = 1 };
                run_foreach(f.store, NULL, 0, true, &seen, -EBADE);
                check_int(seen.n, 1);
        }

        store_fx_done(&f);
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
        StoreFx f = {};
        DelPrefix dp = { .plen = 4 };
        Seen seen = { .fail_at = -1 };

        store_fx_setup(&f);
        check(store_write(f.store, fill_fn, NULL) == 0);

        /* the middle prefix: neighbours stay */
        key32(dp.prefix, 2);
        check(store_write(f.store, del_prefix_fn, &dp) == 0);
        run_foreach(f.store, NULL, 0, false, &seen, 0);
        check_int(seen.n, 6);
        for (size_t i = 0; i < 6; i++)
                check_int(seen.ids[i], i < 3 ? 1 : 3);

        /* nothing under the prefix: no error, nothing gone */
        key32(dp.prefix, 2);
        check(store_write(f.store, del_prefix_fn, &dp) == 0);
        key32(dp.prefix, 7);
        check(store_write(f.store, del_prefix_fn, &dp) == 0);
        seen = (Seen) { .fail_at = -1 };
        run_foreach(f.store, NULL, 0, false, &seen, 0);
        check_int(seen.n, 6);

        /* the last prefix (runs to the end of the database), then an 8-byte prefix */
        key32(dp.prefix, 3);
        check(store_write(f.store, del_prefix_fn, &dp) == 0);
        key64(dp.prefix, 1, 1);
        dp.plen = 8;
        check(store_write(f.store, del_prefix_fn, &dp) == 0);
        seen = (Seen) { .fail_at = -1 };
        run_foreach(f.store, NULL, 0, false, &seen, 0);
        check_int(seen.n, 2);
        check_int(seen.ids[0], 1);
        check_int(seen.idx[0], 0);
        check_int(seen.ids[1], 1);
        check_int(seen.idx[1], 2);

        store_fx_done(&f);
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
        StoreFx f = {};
        MetaCtx m;

        store_fx_setup(&f);

        check(meta_get(f.store, "next_session_id", 1) == 1);
        check(meta_get(f.store, "next_session_id", 42) == 42);

        m = (MetaCtx) { "next_session_id", 5 };
        check(store_write(f.store, meta_fn, &m) == 0);
        check(meta_get(f.store, "next_session_id", 1) == 5);
        m = (MetaCtx) { "big", UINT64_C(0x0102030405060708) };
        check(store_write(f.store, meta_fn, &m) == 0);
        check(meta_get(f.store, "big", 0) == UINT64_C(0x0102030405060708));
        m = (MetaCtx) { "max", UINT64_MAX };
        check(store_write(f.store, meta_fn, &m) == 0);

        /* stored big-endian, 8 bytes */
        {
                StoreTxn t;
                MDB_val v;
                check(store_read_begin(f.store, &t) == 0);
                check(store_get(&t, DB_META, "big", 3, &v) == 0);
                check(v.mv_size == 8);
                check(((uint8_t *) v.mv_data)[0] == 1 && ((uint8_t *) v.mv_data)[7] == 8);
                store_read_end(&t);
        }

        /* a value of the wrong size reads as the default */
        check(put_str(f.store, DB_META, "odd", "abc") == 0);
        check(meta_get(f.store, "odd", 77) == 77);

        store_fx_reopen(&f);
        check(meta_get(f.store, "next_session_id", 1) == 5);
        check(meta_get(f.store, "big", 0) == UINT64_C(0x0102030405060708));
        check(meta_get(f.store, "max", 0) == UINT64_MAX);
        store_fx_done(&f);
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
        StoreFx f = {};
        AuditSeen a = {};
        static const char *const whats[] = { "start", "approve", "two-a", "two-b", "after-reopen" };

        store_fx_setup(&f);

        check(store_write(f.store, audit_fn, (void *) "start") == 0);
        check(store_write(f.store, audit_fn, (void *) "approve") == 0);
        check(store_write(f.store, audit_two_fn, NULL) == 0);   /* two in one transaction */
        check(meta_get(f.store, "audit_seq", 0) == 4);

        store_fx_reopen(&f);
        check(store_write(f.store, audit_fn, (void *) "after-reopen") == 0);
        check(meta_get(f.store, "audit_seq", 0) == 5);

        audit_read(f.store, &a);
        check_int(a.n, 5);
        for (size_t i = 0; i < a.n; i++) {
                check_int(a.seq[i], i + 1);
                check_streq(a.what[i], whats[i]);
        }
        audit_clear(&a);
        store_fx_done(&f);
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
        _cleanup_free_ char *img = NULL, *data = NULL, *img_data = NULL;
        char meta[2 * PIN_PAGE], key[16], want[400];
        StoreFx f = {};
        unsigned round;
        struct stat st;
        int fd, out;

        store_fx_setup(&f);
        check(asprintf_safe(&img, "%s/image", f.tmp.path) == 0);
        check(asprintf_safe(&data, "%s/data.mdb", f.dir) == 0);
        check(asprintf_safe(&img_data, "%s/data.mdb", img) == 0);

        /* the synced snapshot: round 0; its meta pages as they are on disk */
        round = 0;
        check_int(store_write(f.store, pin_round_fn, &round), 0);
        check_int(store_sync(f.store), 0);
        fd = open(data, O_RDONLY | O_CLOEXEC);
        check(fd >= 0);
        check(pread(fd, meta, sizeof meta, 0) == (ssize_t) sizeof meta);

        /* many commits, none synced, each rewriting every value (and so freeing pages) */
        for (round = 1; round <= 12; round++)
                check_int(store_write(f.store, pin_round_fn, &round), 0);
        check(store_needs_sync(f.store));

        /* the image: every page as now, but the meta pages as synced */
        check(mkdir(img, 0700) == 0);
        out = open(img_data, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        check(out >= 0);
        check(fstat(fd, &st) == 0);
        copy_range(fd, out, 0, (size_t) st.st_size);
        check(pwrite(out, meta, sizeof meta, 0) == (ssize_t) sizeof meta);
        check(close(out) == 0);
        check(close(fd) == 0);
        f.store = store_free(f.store);

        check(store_open(img, &f.store) == 0);
        for (unsigned k = 0; k < PIN_KEYS; k++) {
                snprintf(key, sizeof key, "pin%03u", k);
                pin_value(want, sizeof want, 0, k);
                _cleanup_free_ char *got = get_str(f.store, DB_OUTPUT, key, strlen(key));
                check_streq(got, want);
        }
        store_fx_done(&f);
}

static void test_map_growth(void) {
        StoreFx f = { .initial_map = 64 * 1024, .max_map = 64 * 1024 * 1024 };
        size_t initial, grown;
        BigCtx c;

        store_fx_setup(&f);
        initial = store_map_size(f.store);
        check(initial < 1024 * 1024);

        check(put_str(f.store, DB_META, "before", "growth") == 0);

        /* ~16 MB in one transaction */
        c = (BigCtx) { .first = 0, .n = 4000 };
        check_int(store_write(f.store, big_fn, &c), 0);
        check(c.calls > 1);       /* it was retried after growing */
        grown = store_map_size(f.store);
        check(grown > initial);
        check(grown >= (size_t) 4000 * BIG_VALUE);
        check(grown <= 64 * 1024 * 1024);
        check_big(f.store, 0, 4000);
        check(store_sync(f.store) == 0);

        /* ~80 MB more does not fit in 64 MiB: -ENOSPC, and nothing of it is there */
        c = (BigCtx) { .first = 10000, .n = 20000 };
        check_int(store_write(f.store, big_fn, &c), -ENOSPC);
        check(store_map_size(f.store) <= 64 * 1024 * 1024);
        check_big(f.store, 0, 4000);
        {
                uint8_t k[4];
                key32(k, 10000);
                check(!has_key(f.store, DB_OUTPUT, k, 4));
                key32(k, 29999);
                check(!has_key(f.store, DB_OUTPUT, k, 4));
        }
        {
                _cleanup_free_ char *v = get_str(f.store, DB_META, "before", 6);
                check_streq(v, "growth");
        }
        /* small writes still work at the maximum */
        check(put_str(f.store, DB_META, "after", "full") == 0);

        /* reopening with the small initial size adopts the grown map */
        store_fx_reopen(&f);
        check(store_map_size(f.store) >= grown);
        check_big(f.store, 0, 4000);
        check(has_key(f.store, DB_META, "after", 5));
        store_fx_done(&f);
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
        TEST(synced_snapshot_kept);
        return 0;
}
