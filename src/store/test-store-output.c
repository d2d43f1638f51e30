/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-store-output.c: the output of steps and of a group's hosts, kept in chunks, each case in
 * its own mkdtemp directory. */

#include "store/test-store-fixture.h"

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
        _cleanup_free_ uint8_t *big = NULL;
        const size_t chunk = 64 * 1024, big_n = 3 * 64 * 1024 + 123;
        StoreFx f = {};

        store_fx_setup(&f);

        big = malloc(big_n);
        check(big);
        for (size_t i = 0; i < big_n; i++)
                big[i] = (uint8_t) (i * 7 + i / 251);

        /* nothing stored: empty */
        check_output(f.store, 1, 0, 0, NULL, 0);

        /* sizes around the chunk boundary */
        static const size_t sizes[] = { 1, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 2 * 64 * 1024, 3 * 64 * 1024 + 123 };
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                put_output(f.store, 1, 0, 0, big, sizes[i]);
                check_output(f.store, 1, 0, 0, big, sizes[i]);
                check_int(count_chunks(f.store), (sizes[i] + chunk - 1) / chunk);
        }

        /* stdout and stderr of the same step, and a neighbouring step, are separate */
        put_output(f.store, 1, 0, 1, (const uint8_t *) "err", 3);
        put_output(f.store, 1, 1, 0, (const uint8_t *) "next step", 9);
        put_output(f.store, 2, 0, 0, (const uint8_t *) "next session", 12);
        check_output(f.store, 1, 0, 0, big, big_n);
        check_output(f.store, 1, 0, 1, (const uint8_t *) "err", 3);
        check_output(f.store, 1, 1, 0, (const uint8_t *) "next step", 9);
        check_output(f.store, 1, 1, 1, NULL, 0);
        check_output(f.store, 2, 0, 0, (const uint8_t *) "next session", 12);

        /* replacement by something shorter drops the old chunks */
        put_output(f.store, 1, 0, 0, (const uint8_t *) "short", 5);
        check_output(f.store, 1, 0, 0, (const uint8_t *) "short", 5);
        check_int(count_chunks(f.store), 4);
        /* and by nothing */
        put_output(f.store, 1, 0, 0, NULL, 0);
        check_output(f.store, 1, 0, 0, NULL, 0);
        check_output(f.store, 1, 0, 1, (const uint8_t *) "err", 3);

        /* replacement by something longer */
        put_output(f.store, 1, 0, 0, big, big_n);
        check_output(f.store, 1, 0, 0, big, big_n);

        /* store_del_output: both streams of that step only */
        {
                OutputCtx c = { .id = 1, .index = 0, .del = true };
                check(store_write(f.store, output_fn, &c) == 0);
        }
        check_output(f.store, 1, 0, 0, NULL, 0);
        check_output(f.store, 1, 0, 1, NULL, 0);
        check_output(f.store, 1, 1, 0, (const uint8_t *) "next step", 9);
        check_output(f.store, 2, 0, 0, (const uint8_t *) "next session", 12);
        check_int(count_chunks(f.store), 2);

        store_fx_done(&f);
}

static int host_output_fn(StoreTxn *t, void *userdata) {
        OutputCtx *c = userdata;
        if (c->del)
                store_del_output(t, c->id, c->index);
        else   /* host 2 of the group step */
                store_put_host_output(t, c->id, c->index, 2, c->stream, c->data, c->n);
        return 0;
}

static void check_host_output(Store *st, uint32_t host, uint8_t stream, const uint8_t *data, size_t n) {
        _cleanup_free_ uint8_t *got = NULL;
        size_t got_n = 12345;
        StoreTxn t;

        check(store_read_begin(st, &t) == 0);
        check(store_get_host_output(&t, 7, 1, host, stream, &got, &got_n) == 0);
        store_read_end(&t);
        check_int(got_n, n);
        check(n == 0 || memcmp(got, data, n) == 0);
}

/* a group host's chunk: be32 id | be32 index | 'h' | be32 host | u8 stream | be32 chunk */
static const uint8_t host_chunk_prefix[14] = { 0, 0, 0, 7, 0, 0, 0, 1, 'h', 0, 0, 0, 2, 1 };

static int host_key_cb(const MDB_val *k, const MDB_val *v, void *u) {
        uint32_t *chunk = u;

        check_int(k->mv_size, 18);
        check(memcmp(k->mv_data, host_chunk_prefix, sizeof host_chunk_prefix) == 0);
        check_int(be32_get((const uint8_t *) k->mv_data + 14), (*chunk)++);
        return 0;
}

/* A group host's output: beside its step's, chunked alike, removed with the step's. */
static void test_host_output(void) {
        uint8_t big[64 * 1024 + 5];
        StoreFx f = {};
        uint32_t chunk = 0;
        StoreTxn t;

        store_fx_setup(&f);
        for (size_t i = 0; i < sizeof big; i++)
                big[i] = (uint8_t) (i * 13 + i / 251);

        check_host_output(f.store, 2, 1, NULL, 0);
        put_output(f.store, 7, 1, 1, (const uint8_t *) "step", 4);
        check(store_write(f.store, host_output_fn, &(OutputCtx) { 7, 1, 1, big, sizeof big, false }) == 0);
        check_host_output(f.store, 2, 1, big, sizeof big);
        check_host_output(f.store, 2, 0, NULL, 0);
        check_host_output(f.store, 3, 1, NULL, 0);
        check_output(f.store, 7, 1, 1, (const uint8_t *) "step", 4);
        /* the step's own chunk: be32 id | be32 index | u8 stream | be32 chunk */
        check(has_key(f.store, DB_OUTPUT, (const uint8_t[13]) { 0, 0, 0, 7, 0, 0, 0, 1, 1, 0, 0, 0, 0 }, 13));
        check(store_read_begin(f.store, &t) == 0);
        check(store_foreach(&t, DB_OUTPUT, host_chunk_prefix, 9, false, host_key_cb, &chunk) == 0);
        store_read_end(&t);
        check_int(chunk, 2);

        /* replaced by something shorter: the old chunks go */
        check(store_write(f.store, host_output_fn, &(OutputCtx) { 7, 1, 1, (const uint8_t *) "host", 4, false }) == 0);
        check_host_output(f.store, 2, 1, (const uint8_t *) "host", 4);
        check_int(count_chunks(f.store), 2);

        /* store_del_output of the step: the host's too */
        check(store_write(f.store, host_output_fn, &(OutputCtx) { .id = 7, .index = 1, .del = true }) == 0);
        check_host_output(f.store, 2, 1, NULL, 0);
        check_int(count_chunks(f.store), 0);

        store_fx_done(&f);
}

int main(void) {
        TEST(output);
        TEST(host_output);
        return 0;
}
