/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store-audit.c: the audit database as a hash chain. Each record is the compact JSON text of an
 * event with "seq" (its number, also its key) and "prev" (the hex SHA-256 of the text of the record
 * before it; 64 zeros for the first), stored as those bytes; meta "audit_head" is the SHA-256 of
 * the last one. A record changed, removed or inserted (even with mdb_load) breaks the chain at a
 * place runbookctl audit verify names; the head is also written to the journal at each session's
 * end, so that a chain recomputed after an edit does not match what the journal saw. Records
 * written before the chain (no "prev") are taken as they are: the first chained record's "prev" is
 * the hash of the last of them. */
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "shared/bytes.h"
#include "store/store.h"

static void hex(const uint8_t *b, size_t n, char *out) {
        for (size_t i = 0; i < n; i++)
                sprintf(out + 2 * i, "%02x", b[i]);
        out[2 * n] = 0;
}

static int meta_head(StoreTxn *t, uint8_t ret[SHA256_DIGEST_LENGTH]) {
        MDB_val v;
        int r = store_get(t, DB_META, "audit_head", strlen("audit_head"), &v);

        if (r < 0)
                return r;
        if (v.mv_size != SHA256_DIGEST_LENGTH)
                return -EBADMSG;
        memcpy(ret, v.mv_data, SHA256_DIGEST_LENGTH);
        return 0;
}

void store_audit_append(StoreTxn *t, json_t *event) {
        uint8_t k[8], prev[SHA256_DIGEST_LENGTH] = {}, head[SHA256_DIGEST_LENGTH];
        char prev_hex[AUDIT_HASH_HEX];
        _cleanup_free_ char *text = NULL;
        uint64_t seq;
        int r;

        if (t->ret < 0)
                return;
        seq = store_meta_get_u64(t, "audit_seq", 0) + 1;
        r = meta_head(t, prev);
        if (r == -ENOENT && seq > 1) {
                /* a store from before the chain: it starts from the last record there */
                MDB_val v;
                be64_put(k, seq - 1);
                if (store_get(t, DB_AUDIT, k, sizeof k, &v) >= 0)
                        SHA256(v.mv_data, v.mv_size, prev);
        } else if (r < 0 && r != -ENOENT) {
                t->ret = r;
                return;
        }
        hex(prev, sizeof prev, prev_hex);
        if (json_object_set_new(event, "seq", json_integer((json_int_t) seq)) < 0 ||
            json_object_set_new(event, "prev", json_string(prev_hex)) < 0 ||
            !(text = json_dumps(event, JSON_COMPACT | JSON_SORT_KEYS))) {
                t->ret = -ENOMEM;
                return;
        }
        be64_put(k, seq);
        store_put(t, DB_AUDIT, k, sizeof k, text, strlen(text));
        SHA256((const uint8_t *) text, strlen(text), head);
        store_put(t, DB_META, "audit_head", strlen("audit_head"), head, sizeof head);
        store_meta_put_u64(t, "audit_seq", seq);
}

int store_audit_head(StoreTxn *t, uint64_t *ret_seq, char ret_hash[AUDIT_HASH_HEX]) {
        uint8_t head[SHA256_DIGEST_LENGTH];
        int r;

        *ret_seq = store_meta_get_u64(t, "audit_seq", 0);
        ret_hash[0] = 0;
        r = meta_head(t, head);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        hex(head, sizeof head, ret_hash);
        return 0;
}

struct read_ctx {
        store_audit_fn fn;
        void *userdata;
        size_t max, n;
};

static int read_cb(const MDB_val *key, const MDB_val *val, void *userdata) {
        struct read_ctx *c = userdata;

        if (key->mv_size != 8)
                return 0;   /* not a record of the chain (one with an odd key is reported missing) */
        if (c->n++ >= c->max)
                return 1;
        return c->fn(be64_get(key->mv_data), val->mv_data, val->mv_size, c->userdata);
}

int store_audit_read(StoreTxn *t, uint64_t after, size_t max, store_audit_fn fn, void *userdata) {
        struct read_ctx c = { .fn = fn, .userdata = userdata, .max = max };
        uint8_t k[8];

        if (after == UINT64_MAX)
                return 0;
        be64_put(k, after + 1);
        return store_foreach_from(t, DB_AUDIT, k, sizeof k, read_cb, &c);
}
