/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store-prune.c: removing a finished session's records (retention, engine-retention.c). The
 * audit records, the outbox and the meta counters are not touched: the audit chain stays whole
 * and verifiable, and session ids are never given again (meta "next_session_id"). */
#include "shared/bytes.h"
#include "store/store-records.h"

int store_prune_session(StoreTxn *t, uint32_t id, size_t *budget) {
        uint8_t k[4];
        MDB_val v;
        int r;

        if (t->ret < 0)
                return t->ret;
        be32_put(k, id);
        r = store_get(t, DB_ACTIVE, k, sizeof k, &v);
        if (r >= 0)
                return -EBUSY;    /* not finished: never removed */
        if (r != -ENOENT)
                return (t->ret = r);

        /* the output first, then the steps and hosts, and the session's record with its snapshot
         * last: a session cut short by the budget is still found (and finished) by the next pass */
        r = store_del_prefix_bounded(t, DB_OUTPUT, k, sizeof k, budget);
        if (r <= 0)
                return r;
        r = store_del_prefix_bounded(t, DB_STEPS, k, sizeof k, budget);
        if (r <= 0)
                return r;
        /* two keys (be32 id, be32 id | 's'): not cut in between, whatever is left of the budget */
        {
                size_t two = 2;
                r = store_del_prefix_bounded(t, DB_SESSIONS, k, sizeof k, &two);
                *budget -= MIN(*budget, 2 - two);
                if (r <= 0)
                        return r;
        }
        return 1;
}
