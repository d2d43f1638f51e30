/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-store-prune.c: store_prune_session() removes every record of a session — output chunks,
 * steps, group hosts, record, snapshot — within a key budget (the record last, so that a session
 * cut short is found again), refuses an active session, leaves other sessions, the audit chain
 * and meta alone, and hands the pages back to LMDB (the file stops growing). */
#include <sys/stat.h>

#include "store/test-store-fixture.h"

typedef struct PruneCtx {
        uint32_t id;
        size_t budget;
        int result;
} PruneCtx;

static int prune_fn(StoreTxn *t, void *userdata) {
        PruneCtx *c = userdata;
        c->result = store_prune_session(t, c->id, &c->budget);
        return c->result < 0 && c->result != -EBUSY ? c->result : t->ret;
}

static int prune(Store *s, uint32_t id, size_t budget, size_t *ret_left) {
        PruneCtx c = { .id = id, .budget = budget };
        check_int(store_write(s, prune_fn, &c), 0);
        if (ret_left)
                *ret_left = c.budget;
        return c.result;
}

/* A session as its records are laid out: record, snapshot, 'active' key while unfinished, two
 * steps (the second a group step with two hosts), output of 'chunks' chunks per stream. */
typedef struct FillCtx {
        uint32_t id;
        bool active;
        unsigned chunks;
} FillCtx;

static int fill_fn(StoreTxn *t, void *userdata) {
        FillCtx *c = userdata;
        static uint8_t chunk[64 * 1024];
        uint8_t k[12];
        _cleanup_free_ uint8_t *data = malloc(sizeof chunk * c->chunks);

        check(data);
        memset(data, 'x', sizeof chunk * c->chunks);
        be32_put(k, c->id);
        store_put(t, DB_SESSIONS, k, 4, "{\"id\":1}", 8);
        k[4] = 's';
        store_put(t, DB_SESSIONS, k, 5, "{}", 2);
        if (c->active)
                store_put(t, DB_ACTIVE, k, 4, "", 0);
        for (uint32_t i = 0; i < 2; i++) {
                be32_put(k + 4, i);
                store_put(t, DB_STEPS, k, 8, "{}", 2);
                for (uint8_t stream = 0; stream < 2; stream++)
                        store_put_output(t, c->id, i, stream, data, sizeof chunk * c->chunks);
        }
        for (uint32_t h = 0; h < 2; h++) {
                be32_put(k + 8, h);
                store_put(t, DB_STEPS, k, 12, "{}", 2);
                store_put_host_output(t, c->id, 1, h, 0, data, 100);
        }
        store_meta_put_u64(t, "next_session_id", c->id + 1);
        json_t *ev = json_pack("{s:s,s:I}", "event", "finished", "session", (json_int_t) c->id);
        store_audit_append(t, ev);
        json_decref(ev);
        return t->ret;
}

static void fill(Store *s, uint32_t id, bool active, unsigned chunks) {
        FillCtx c = { id, active, chunks };
        check_int(store_write(s, fill_fn, &c), 0);
}

struct count_ctx {
        unsigned n;
};
static int count_cb(const MDB_val *key, const MDB_val *val, void *userdata) {
        ((struct count_ctx *) userdata)->n++;
        return 0;
}

static unsigned keys(Store *s, StoreDb db, uint32_t id) {
        struct count_ctx c = {};
        uint8_t k[4];
        StoreTxn t;

        be32_put(k, id);
        check_int(store_read_begin(s, &t), 0);
        check_int(store_foreach(&t, db, k, id > 0 ? 4 : 0, false, count_cb, &c), 0);
        store_read_end(&t);
        return c.n;
}

static void test_whole(void) {
        StoreFx f = {};
        size_t left;

        store_fx_setup(&f);
        fill(f.store, 1, false, 2);
        fill(f.store, 2, false, 2);
        fill(f.store, 3, true, 1);
        check_int(keys(f.store, DB_OUTPUT, 1), 2 * 2 * 2 + 2);

        check_int(prune(f.store, 1, 1000, &left), 1);
        check_int(1000 - left, 10 + 4 + 2);     /* output, steps and hosts, record and snapshot */
        check_int(keys(f.store, DB_OUTPUT, 1), 0);
        check_int(keys(f.store, DB_STEPS, 1), 0);
        check_int(keys(f.store, DB_SESSIONS, 1), 0);
        /* the others stay; the audit chain and meta too */
        check_int(keys(f.store, DB_OUTPUT, 2), 10);
        check_int(keys(f.store, DB_SESSIONS, 2), 2);
        check_int(keys(f.store, DB_AUDIT, 0), 3);
        StoreTxn t;
        check_int(store_read_begin(f.store, &t), 0);
        check_int(store_meta_get_u64(&t, "next_session_id", 0), 4);
        store_read_end(&t);

        /* active: refused, nothing deleted */
        check_int(prune(f.store, 3, 1000, &left), -EBUSY);
        check_int(left, 1000);
        check_int(keys(f.store, DB_OUTPUT, 3), 6);
        /* gone already: nothing to do */
        check_int(prune(f.store, 1, 1000, &left), 1);
        check_int(left, 1000);
        store_fx_done(&f);
}

/* A small budget: several transactions, the record last. */
static void test_budget(void) {
        StoreFx f = {};
        unsigned calls = 0;
        int r;

        store_fx_setup(&f);
        fill(f.store, 7, false, 3);     /* 2 steps x 2 streams x 3 chunks + 2 host chunks */
        while ((r = prune(f.store, 7, 4, NULL)) == 0) {
                calls++;
                check_int(keys(f.store, DB_SESSIONS, 7), 2);   /* still there, whole */
        }
        check_int(r, 1);
        check_int(calls, 4);                                    /* 14 + 4 keys, 4 at a time */
        check_int(keys(f.store, DB_SESSIONS, 7) + keys(f.store, DB_STEPS, 7) + keys(f.store, DB_OUTPUT, 7), 0);
        store_fx_done(&f);
}

/* Sessions written and pruned in turn: the freed pages are reused, the file stops growing. */
static void test_steady_size(void) {
        StoreFx f = {};
        struct stat st;
        char *path;
        off_t after_warmup = 0;

        store_fx_setup(&f);
        check(asprintf(&path, "%s/data.mdb", f.dir) >= 0);
        for (uint32_t id = 1; id <= 600; id++) {
                fill(f.store, id, false, 2);
                check_int(store_sync(f.store), 0);
                if (id > 20)
                        check_int(prune(f.store, id - 20, 1000, NULL), 1);
                check_int(store_sync(f.store), 0);
                if (id == 100) {
                        check_int(stat(path, &st), 0);
                        after_warmup = st.st_size;
                }
        }
        check_int(stat(path, &st), 0);
        check(st.st_size <= after_warmup + after_warmup / 4);
        free(path);
        store_fx_done(&f);
}

int main(void) {
        TEST(whole);
        TEST(budget);
        TEST(steady_size);
        return 0;
}
