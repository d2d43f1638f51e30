/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-start-log.c: the start log, durable records of step starts (a ring of checksummed slots). */

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include "store/test-store-fixture.h"

/* the start log: durable records of step starts, read back after a reopen, in order, only the
 * ones newer than asked; a ring that wraps; a damaged slot is ignored, not trusted */
static void test_start_log(void) {
        _cleanup_free_ StartRecord *recs = NULL;
        StartLog *l = NULL;
        size_t n = 0;
        TmpDir d;
        int fd;

        tmpdir_make(&d);
        check_int(start_log_open(d.path, &l), 0);
        check_int(start_log_next_seq(l), 1);
        check_int(start_log_read(l, 0, &recs, &n), 0);
        check_int(n, 0);
        recs = mfree(recs);

        check_int(start_log_append(l, 7, 0, 1), 0);
        check_int(start_log_append_range(l, 7, 1, 1, 5), 0);
        check_int(start_log_append(l, 9, 3, 2), 0);
        l = start_log_free(l);

        check_int(start_log_open(d.path, &l), 0);
        check_int(start_log_next_seq(l), 4);
        check_int(start_log_read(l, 0, &recs, &n), 0);
        check_int(n, 3);
        check_int(recs[0].seq, 1);
        check_int(recs[0].session, 7);
        check_int(recs[0].count, 1);
        check_int(recs[1].step, 1);
        check_int(recs[1].count, 5);   /* steps 1..5 */
        check_int(recs[2].count, 1);
        check_int(recs[2].seq, 3);
        check_int(recs[2].session, 9);
        check_int(recs[2].step, 3);
        check_int(recs[2].attempt, 2);
        recs = mfree(recs);
        check_int(start_log_read(l, 2, &recs, &n), 0);
        check_int(n, 1);
        check_int(recs[0].seq, 3);
        recs = mfree(recs);

        /* the store's sequence wins over a new, empty file */
        start_log_seq_at_least(l, 100);
        check_int(start_log_next_seq(l), 101);
        start_log_seq_at_least(l, 5);
        check_int(start_log_next_seq(l), 101);

        /* a ring: after many more records, the newest ones are all there */
        for (uint32_t i = 0; i < 5000; i++)
                check_int(start_log_append(l, 1000 + i, i, 1), 0);
        check_int(start_log_read(l, 5000, &recs, &n), 0);
        check_int(n, 100);
        check_int(recs[99].seq, 5100);
        check_int(recs[99].session, 1000 + 4999);
        recs = mfree(recs);

        l = start_log_free(l);

        /* a damaged slot (the newest) is not believed */
        {
                _cleanup_free_ char *path = NULL;
                uint8_t junk = 0x5a;
                check(asprintf_safe(&path, "%s/starts.log", d.path) == 0);
                fd = open(path, O_WRONLY | O_CLOEXEC);
                check(fd >= 0);
                check(pwrite(fd, &junk, 1, (5100 % 2048) * 32 + 20) == 1);
                close(fd);
        }
        check_int(start_log_open(d.path, &l), 0);
        check_int(start_log_read(l, 5090, &recs, &n), 0);
        check_int(n, 9);
        check_int(recs[8].seq, 5099);
        recs = mfree(recs);
        check_int(start_log_next_seq(l), 5100);

        /* A slot whose checksum holds but whose sequence number no log can reach (a damaged disk,
         * a file written by something else): not taken. Taken, the next number (max + 1) wrapped
         * to 0, and every start recorded after it was invisible to the next restart (found by
         * fuzz-start-log). */
        start_log_seq_at_least(l, UINT64_MAX - 1);
        check_int(start_log_append(l, 77, 0, 1), 0);   /* seq UINT64_MAX, checksum valid */
        l = start_log_free(l);
        check_int(start_log_open(d.path, &l), 0);
        check_int(start_log_next_seq(l), 5100);
        check_int(start_log_append(l, 78, 0, 1), 0);
        l = start_log_free(l);
        check_int(start_log_open(d.path, &l), 0);
        check_int(start_log_read(l, 5099, &recs, &n), 0);
        check_int(n, 1);
        check_int(recs[0].seq, 5100);
        check_int(recs[0].session, 78);
        recs = mfree(recs);
        l = start_log_free(l);
        tmpdir_done(&d);
}

int main(void) {
        TEST(start_log);
        return 0;
}
