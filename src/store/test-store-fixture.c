/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-store-fixture.c: see test-store-fixture.h. */
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

#include "store/test-store-fixture.h"

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path) < 0 ? -1 : 0;
}

static void rm_rf(const char *dir) {
        check(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0);
}

void tmpdir_make(TmpDir *d) {
        strcpy(d->path, "/tmp/test-store-XXXXXX");
        check(mkdtemp(d->path));
}

void tmpdir_done(TmpDir *d) {
        rm_rf(d->path);
}

static char *db_dir(const TmpDir *d) {
        char *p = NULL;
        check(asprintf_safe(&p, "%s/db", d->path) == 0);
        return p;
}

static void store_fx_open(StoreFx *f) {
        if (f->initial_map > 0)
                check(store_open_sized(f->dir, f->initial_map, f->max_map, &f->store) == 0);
        else
                check(store_open(f->dir, &f->store) == 0);
}

void store_fx_setup(StoreFx *f) {
        tmpdir_make(&f->tmp);
        f->dir = db_dir(&f->tmp);
        store_fx_open(f);
}

void store_fx_reopen(StoreFx *f) {
        f->store = store_free(f->store);
        store_fx_open(f);
}

void store_fx_done(StoreFx *f) {
        f->store = store_free(f->store);
        f->dir = mfree(f->dir);
        tmpdir_done(&f->tmp);
}

void key32(uint8_t k[4], uint32_t a) {
        be32_put(k, a);
}

void key64(uint8_t k[8], uint32_t a, uint32_t b) {
        be32_put(k, a);
        be32_put(k + 4, b);
}

int puts_fn(StoreTxn *t, void *userdata) {
        const Puts *p = userdata;

        for (size_t i = 0; i < p->n; i++)
                store_put(t, p->kv[i].db, p->kv[i].key, p->kv[i].klen, p->kv[i].val, p->kv[i].vlen);
        return 0;
}

int put_str(Store *s, StoreDb db, const char *key, const char *val) {
        KV kv = { db, key, strlen(key), val, strlen(val) };
        Puts p = { &kv, 1 };
        return store_write(s, puts_fn, &p);
}

/* Reads a value as a new NUL-terminated string, or NULL if it is absent. */
char *get_str(Store *s, StoreDb db, const void *key, size_t klen) {
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

bool has_key(Store *s, StoreDb db, const void *key, size_t klen) {
        _cleanup_free_ char *v = get_str(s, db, key, klen);
        return v != NULL;
}
