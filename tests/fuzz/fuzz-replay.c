/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-replay: the engine's replay of starts.log after a reboot (engine_replay_starts(), then
 * engine_load() deciding what the replayed steps become). A store is made once, with sessions
 * waiting at approval gates at different places (and one on its second attempt); each input is a
 * list of start records that the log holds when the machine comes back — records the store does
 * reflect, records it lost, and records no runbookd would write (a step beyond a gate, an attempt
 * of 2^32-1, a range past the last step). Whatever they say:
 *   - nothing runs by itself after the reboot (the test connector ran no command);
 *   - no step goes back: a step's attempt never decreases, and a step that succeeded stays so
 *     unless a record names a later attempt of it (a retry rearms later steps: that commit and
 *     the start may both be lost);
 *     and no attempt number is taken that a retry could not count on from;
 *   - no step is left running (the test connector cannot be followed), and a session with an
 *     interrupted step is interrupted;
 *   - a restart in the same boot changes nothing (a record is replayed once).
 * Each record is 6 bytes: session (1..6), step, attempt (0xff: 2^32-1), count (0xff: 2^32-1,
 * else 1..4), a byte whose bit 0 puts the record at or below the store's watermark (where it is
 * not read; only before every record above it), and a byte that is not used. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/test-engine-fixture.h"
#include "fuzz.h"
#include "shared/log.h"
#include "store/store.h"

#define N_SESSIONS 6
#define MAX_STEPS 8

typedef struct Snap {
        bool active;
        SessionState state;
        size_t n_steps;
        StepState step_state[MAX_STEPS];
        uint32_t attempt[MAX_STEPS];
} Snap;

static Fx f;
static char *pristine = NULL, *data_mdb = NULL, *starts_log = NULL;
static size_t pristine_n = 0;
static uint64_t watermark = 0;
static Snap before[N_SESSIONS + 1];

static void snap(Snap *out) {
        memset(out, 0, sizeof(Snap) * (N_SESSIONS + 1));   /* padding too: snapshots are compared whole */
        for (uint32_t id = 1; id <= N_SESSIONS; id++) {
                Session *s = engine_active_find(f.engine, id);

                if (!s)
                        continue;
                out[id].active = true;
                check(s->n_steps <= MAX_STEPS);
                out[id].state = s->state;
                out[id].n_steps = s->n_steps;
                for (size_t k = 0; k < s->n_steps; k++) {
                        out[id].step_state[k] = s->steps[k].state;
                        out[id].attempt[k] = s->steps[k].attempt;
                }
        }
}

static int put_other_boot(StoreTxn *t, void *userdata) {
        static const uint8_t other_boot[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
        store_put(t, DB_META, "boot_id", strlen("boot_id"), other_boot, sizeof other_boot);
        return t->ret;
}

static void read_file(const char *path, char **ret, size_t *ret_n) {
        FILE *fp = fopen(path, "re");
        long n;

        check(fp);
        check(fseek(fp, 0, SEEK_END) == 0);
        n = ftell(fp);
        check(n > 0);
        rewind(fp);
        *ret = malloc((size_t) n);
        check(*ret);
        check(fread(*ret, 1, (size_t) n, fp) == (size_t) n);
        fclose(fp);
        *ret_n = (size_t) n;
}

/* Sessions at gates: 1 waits for b (a done), 2 for d (0 of 2), 3 for d (1 of 2), 4 finished,
 * 5 on its second attempt of a step that failed, 6 waits for its first step. */
static void setup(void) {
        Runbook *rb, *rb2;
        Session *s;
        char *err = NULL;

        fx_main_init();
        log_set_max_level(LOG_ERR);
        fx_setup(&f);
        rb = rb_make(&f, "{ \"steps\": ["
                         " { \"name\": \"a\", \"run\": \"a\", \"approval\": \"none\" },"
                         " { \"name\": \"b\", \"run\": \"b\" },"
                         " { \"name\": \"c\", \"run\": \"c\", \"approval\": \"none\" },"
                         " { \"name\": \"d\", \"run\": \"d\", \"approvers\": 2 },"
                         " { \"name\": \"e\", \"run\": \"e\", \"approval\": \"none\" } ] }");
        rb2 = rb_make(&f, "{ \"steps\": [ { \"name\": \"x\", \"run\": \"exit 3\" },"
                          " { \"name\": \"y\", \"run\": \"y\", \"approval\": \"none\" } ] }");
        for (int i = 0; i < 4; i++)
                (void) start(&f, rb, NULL);
        settle(&f);
        for (uint32_t id = 2; id <= 4; id++)
                check(approve(&f, &get(&f, id)->steps[1], BOB) == 0);
        settle(&f);
        check(approve(&f, &get(&f, 3)->steps[3], BOB) == 0);
        check(approve(&f, &get(&f, 4)->steps[3], BOB) == 0);
        check(approve(&f, &get(&f, 4)->steps[3], CAROL) == 0);
        wait_state(&f, 4, SESSION_SUCCEEDED, -2, 10 * USEC_PER_SEC);
        s = start(&f, rb2, NULL);
        check(s->id == 5);
        check(approve(&f, &s->steps[0], BOB) == 0);
        wait_state(&f, 5, SESSION_FAILED, -2, 10 * USEC_PER_SEC);
        check(engine_retry(f.engine, get(&f, 5), as(BOB), &err) == 0);
        free(err);
        s = start(&f, rb, NULL);
        check(s->id == 6);
        settle(&f);
        runbook_free(rb);
        runbook_free(rb2);

        snap(before);
        check(before[1].active && before[1].step_state[1] == STEP_WAITING_APPROVAL);
        check(before[3].active && before[3].step_state[3] == STEP_WAITING_APPROVAL);
        check(!before[4].active);
        check(before[5].active && before[5].attempt[0] == 2);

        /* the machine goes down: the store says it was last opened in another boot */
        fx_close_engine(&f);
        check(store_open(f.state_dir, &f.store) == 0);
        check(store_write(f.store, put_other_boot, NULL) == 0);
        check(store_sync(f.store) == 0);
        watermark = start_log_next_seq(store_start_log(f.store)) - 1;
        f.store = store_free(f.store);

        check(asprintf_safe(&data_mdb, "%s/data.mdb", f.state_dir) == 0);
        check(asprintf_safe(&starts_log, "%s/starts.log", f.state_dir) == 0);
        read_file(data_mdb, &pristine, &pristine_n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool ready = false;
        Snap after[N_SESSIONS + 1], again[N_SESSIONS + 1];
        StartLog *l = NULL;
        unsigned runs;
        int fd;

        if (!ready) {
                setup();
                ready = true;
        }
        /* the store as it was, and a start log with these records */
        fd = open(data_mdb, O_WRONLY | O_TRUNC | O_CLOEXEC);
        check(fd >= 0);
        check(write(fd, pristine, pristine_n) == (ssize_t) pristine_n);
        close(fd);
        (void) unlink(starts_log);
        check(start_log_open(f.state_dir, &l) == 0);
        for (size_t i = 0; i + 6 <= size && i < 6 * 64; i += 6) {
                const uint8_t *r = data + i;
                uint32_t session = 1 + r[0] % N_SESSIONS, step = r[1] % (MAX_STEPS + 2);
                uint32_t attempt = r[2] == 0xff ? UINT32_MAX : r[2] % 4u;
                uint32_t count = r[3] == 0xff ? UINT32_MAX : 1u + r[3] % 4u;

                /* r[4] bit 0: an old record, at or below the watermark (the store holds it
                 * already, it is not read); old records can only come before new ones */
                if (!(r[4] & 1) || start_log_next_seq(l) > watermark)
                        start_log_seq_at_least(l, watermark);
                check(start_log_append_range(l, session, step, attempt, count) == 0);
        }
        start_log_seq_at_least(l, watermark);
        start_log_free(l);

        runs = tc_n_runs();
        fx_open_engine(&f);
        check(!store_same_boot(f.store));
        settle(&f);
        check(tc_n_runs() == runs);   /* nothing ran by itself */
        snap(after);
        for (uint32_t id = 1; id <= N_SESSIONS; id++) {
                bool interrupted = false;

                check(after[id].active == before[id].active ||
                      (before[id].active && !after[id].active));   /* an interrupted session is over */
                if (!before[id].active)
                        continue;
                Session *s = after[id].active ? engine_active_find(f.engine, id) : NULL;
                if (!s) {
                        Session *st = stored(&f, id);
                        check(st);
                        check(st->state == SESSION_INTERRUPTED);
                        for (size_t k = 0; k < st->n_steps; k++) {
                                check(st->steps[k].attempt >= before[id].attempt[k]);
                                if (before[id].step_state[k] == STEP_SUCCEEDED &&
                                    st->steps[k].attempt == before[id].attempt[k])
                                        check(st->steps[k].state == STEP_SUCCEEDED);
                                check(st->steps[k].state != STEP_RUNNING);
                        }
                        session_free(st);
                        continue;
                }
                for (size_t k = 0; k < after[id].n_steps; k++) {
                        check(after[id].attempt[k] >= before[id].attempt[k]);
                        if (before[id].step_state[k] == STEP_SUCCEEDED && after[id].attempt[k] == before[id].attempt[k])
                                check(after[id].step_state[k] == STEP_SUCCEEDED);
                        check(after[id].step_state[k] != STEP_RUNNING);
                        check(after[id].attempt[k] < UINT32_MAX);   /* a retry can count on */
                        interrupted |= after[id].step_state[k] == STEP_INTERRUPTED;
                }
                check(!interrupted || after[id].state == SESSION_INTERRUPTED);
        }

        /* runbookd restarts in the same boot: the log is not replayed again */
        fx_close_engine(&f);
        fx_open_engine(&f);
        check(store_same_boot(f.store));
        settle(&f);
        check(tc_n_runs() == runs);
        snap(again);
        check(memcmp(after, again, sizeof after) == 0);
        fx_close_engine(&f);
        return 0;
}
