/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-store-fixture.h: what the store's unit tests share: a mkdtemp directory per case, and
 * helpers to write and read keys. */
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

void rm_rf(const char *dir);
void tmpdir_make(TmpDir *d);
void tmpdir_done(TmpDir *d);
char *db_dir(const TmpDir *d);
void key32(uint8_t k[4], uint32_t a);
void key64(uint8_t k[8], uint32_t a, uint32_t b);
int puts_fn(StoreTxn *t, void *userdata);
int put_str(Store *s, StoreDb db, const char *key, const char *val);
char *get_str(Store *s, StoreDb db, const void *key, size_t klen);
bool has_key(Store *s, StoreDb db, const void *key, size_t klen);
