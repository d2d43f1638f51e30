/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store-outbox.c: the notification outbox. A notification is written in the transaction of the
 * transition that causes it (engine-notify.c), under the next "outbox_seq", and stays until every
 * sink it is for has it (notify/notifier.c); so a crash between the commit and the delivery loses
 * nothing: the next runbookd sends it. */
#include "shared/bytes.h"
#include "store/store.h"

uint64_t store_outbox_next(StoreTxn *t) {
        return store_meta_get_u64(t, "outbox_seq", 0) + 1;
}

void store_outbox_put(StoreTxn *t, uint64_t seq, json_t *record) {
        uint8_t k[8];

        be64_put(k, seq);
        store_put_json(t, DB_OUTBOX, k, sizeof k, record);
}

void store_outbox_add(StoreTxn *t, uint64_t seq, json_t *record) {
        store_outbox_put(t, seq, record);
        store_meta_put_u64(t, "outbox_seq", seq);
}

void store_outbox_del(StoreTxn *t, uint64_t seq) {
        uint8_t k[8];

        be64_put(k, seq);
        store_del(t, DB_OUTBOX, k, sizeof k);
}

int store_outbox_get(StoreTxn *t, uint64_t seq, json_t **ret) {
        uint8_t k[8];

        be64_put(k, seq);
        return store_get_json(t, DB_OUTBOX, k, sizeof k, ret);
}

struct read_ctx {
        store_outbox_fn fn;
        void *userdata;
};

static int read_cb(const MDB_val *key, const MDB_val *val, void *userdata) {
        struct read_ctx *c = userdata;

        if (key->mv_size != 8)
                return 0;
        return c->fn(be64_get(key->mv_data), val->mv_data, val->mv_size, c->userdata);
}

int store_outbox_read(StoreTxn *t, uint64_t after, store_outbox_fn fn, void *userdata) {
        struct read_ctx c = { .fn = fn, .userdata = userdata };
        uint8_t k[8];

        if (after == UINT64_MAX)
                return 0;
        be64_put(k, after + 1);
        return store_foreach_from(t, DB_OUTBOX, k, sizeof k, read_cb, &c);
}
