/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-store: session, step and host records as a start-up finds them in the store (written by an
 * older or a crashed runbookd, or damaged): they are put raw into a real LMDB store, then the
 * session is loaded as engine_load() loads it. It loads or is refused (never a crash, never a
 * session that breaks what the engine relies on: its steps all there, indexes in range).
 * The input is text: records, each after a line "@@ session", "@@ snapshot", "@@ step N" or
 * "@@ host N H" (N, H < 16), for session 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "shared/bytes.h"
#include "shared/tests.h"
#include "store/store-records.h"
#include "store/store.h"

typedef struct Record {
        StoreDb db;
        uint8_t key[12];
        size_t klen;
        const char *value;
        size_t vlen;
} Record;

typedef struct Input {
        Record recs[64];
        size_t n;
} Input;

static char dir[] = "/tmp/fuzz-store-XXXXXX";
static Store *store = NULL;

static int put_records(StoreTxn *t, void *userdata) {
        const Input *in = userdata;
        uint8_t k[4];

        be32_put(k, 1);
        store_del_prefix(t, DB_SESSIONS, k, 4);
        store_del_prefix(t, DB_STEPS, k, 4);
        for (size_t i = 0; i < in->n; i++)
                store_put(t, in->recs[i].db, in->recs[i].key, in->recs[i].klen, in->recs[i].value, in->recs[i].vlen);
        return 0;
}

/* "@@ ..." header -> the record's key; false if it is not one */
static bool parse_header(const char *line, size_t len, Record *r) {
        char h[64];
        unsigned a, b;
        char end;

        if (len >= sizeof h)
                return false;
        memcpy(h, line, len);
        h[len] = 0;
        be32_put(r->key, 1);
        if (strcmp(h, "@@ session") == 0) {
                r->db = DB_SESSIONS;
                r->klen = 4;
        } else if (strcmp(h, "@@ snapshot") == 0) {
                r->db = DB_SESSIONS;
                r->key[4] = 's';
                r->klen = 5;
        } else if (sscanf(h, "@@ host %u %u%c", &a, &b, &end) == 2 && a < 16 && b < 16) {
                r->db = DB_STEPS;
                be32_put(r->key + 4, a);
                be32_put(r->key + 8, b);
                r->klen = 12;
        } else if (sscanf(h, "@@ step %u%c", &a, &end) == 1 && a < 16) {
                r->db = DB_STEPS;
                be32_put(r->key + 4, a);
                r->klen = 8;
        } else
                return false;
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *p = (const char *) data, *end = p + size;
        Input in = {};
        Record *cur = NULL;
        Session *s = NULL;
        StoreTxn t;
        int r;

        if (!store) {
                check(mkdtemp(dir));
                fuzz_tmpdir_remove_at_exit(dir);
                check(store_open(dir, &store) == 0);
        }
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *eol = nl ?: end;
                Record h = {};

                if ((size_t) (eol - p) > 2 && p[0] == '@' && p[1] == '@' && parse_header(p, (size_t) (eol - p), &h)) {
                        if (in.n == sizeof in.recs / sizeof in.recs[0])
                                break;
                        in.recs[in.n] = h;
                        cur = &in.recs[in.n++];
                        cur->value = nl ? nl + 1 : end;
                        cur->vlen = 0;
                } else if (cur)
                        cur->vlen = (size_t) ((nl ? nl + 1 : end) - cur->value);
                p = nl ? nl + 1 : end;
        }
        check(store_write(store, put_records, &in) >= 0);
        /* runbookd keeps the last synced snapshot, whose pages later commits may not reuse: sync
         * now and then, as it does, or the file grows with every input */
        static unsigned writes = 0;
        if (++writes % 32 == 0)
                check(store_sync(store) >= 0);

        check(store_read_begin(store, &t) >= 0);
        r = store_load_session(&t, 1, &s);
        store_read_end(&t);
        if (getenv("FUZZ_VERBOSE"))
                fprintf(stderr, "session 1: %s\n", r >= 0 ? "loaded" : strerror(-r));
        if (r >= 0) {
                check(s && s->id == 1 && s->n_steps > 0 && s->steps);
                check(s->current_step >= -1 && (s->current_step < 0 || (size_t) s->current_step < s->n_steps));
                check(s->runbook && s->creator_name && s->parameters && s->snapshot);
                for (size_t i = 0; i < s->n_steps; i++) {
                        const Step *st = &s->steps[i];
                        check(st->name && st->session == s && st->index == i);
                        for (size_t h = 0; h < st->n_hosts; h++)
                                check(st->hosts[h].target && st->hosts[h].step == st && st->hosts[h].index == h);
                }
                session_free(s);
        } else
                check(!s);
        return 0;
}
