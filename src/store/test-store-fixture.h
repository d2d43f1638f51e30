/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-store-fixture.h: what the store's unit tests share: a mkdtemp directory per case, a store
 * opened in it, and helpers to write and read keys. */
#pragma once

#undef NDEBUG
#include <stdbool.h>
#include <stdint.h>

#include "model/session.h"
#include "shared/tests.h"
#include "store/start-log.h"
#include "store/store-records.h"
#include "store/store.h"

typedef struct TmpDir {
        char path[64];
} TmpDir;

/* A store in <a mkdtemp directory>/db, for one case. */
typedef struct StoreFx {
        TmpDir tmp;
        char *dir;                      /* <tmp>/db, the store's directory */
        Store *store;
        size_t initial_map, max_map;    /* set: opened by store_open_sized() */
} StoreFx;

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

void tmpdir_make(TmpDir *d);
void tmpdir_done(TmpDir *d);
/* Makes the directory and opens the store in it; closes the store and opens it again, as a restart
 * of the daemon does; closes it and removes the directory. */
void store_fx_setup(StoreFx *f);
void store_fx_reopen(StoreFx *f);
void store_fx_done(StoreFx *f);
void key32(uint8_t k[4], uint32_t a);
void key64(uint8_t k[8], uint32_t a, uint32_t b);
int puts_fn(StoreTxn *t, void *userdata);
int put_str(Store *s, StoreDb db, const char *key, const char *val);
char *get_str(Store *s, StoreDb db, const void *key, size_t klen);
bool has_key(Store *s, StoreDb db, const void *key, size_t klen);
