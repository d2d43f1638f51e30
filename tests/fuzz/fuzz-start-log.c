/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-start-log: starts.log as a restart finds it, after a crash or a bad disk. The input is a list
 * of slots, each a flag byte and 24 bytes of record (seq, session, step, attempt, count, big-endian);
 * the harness writes them into the ring as the log does, with a valid magic and checksum unless
 * the flag says otherwise (so that the fuzzer reaches the decoding of valid-looking records, which
 * a CRC would otherwise hide), then opens and reads it: whatever the file holds, the next sequence
 * number is above every record read, records come in order and above the watermark, and a record
 * appended afterwards is read back. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "shared/bytes.h"
#include "shared/tests.h"
#include "store/start-log.h"

#define SLOTS 2048
#define SLOT 32

static uint32_t crc32_ieee(const uint8_t *p, size_t n) {
        uint32_t c = 0xffffffffu;

        for (size_t i = 0; i < n; i++) {
                c ^= p[i];
                for (int k = 0; k < 8; k++)
                        c = (c >> 1) ^ (0xedb88320u & -(c & 1u));
        }
        return ~c;
}

static char dir[] = "/tmp/fuzz-start-log-XXXXXX";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static uint8_t file[SLOTS * SLOT];
        static bool made = false;
        StartLog *l = NULL;
        StartRecord *recs = NULL;
        char path[sizeof dir + 16];
        size_t n = 0;
        uint64_t after, next;
        int fd;

        if (!made) {
                /* once: the process's directory (its random part may hold an 'X' itself) */
                check(mkdtemp(dir));
                made = true;
                fuzz_tmpdir_remove_at_exit(dir);
        }
        snprintf(path, sizeof path, "%s/starts.log", dir);
        memset(file, 0, sizeof file);
        /* the first 8 bytes: the watermark to read after */
        if (size < 8)
                return 0;
        after = be64_get(data);
        data += 8;
        size -= 8;
        for (size_t i = 0; i + 25 <= size && i / 25 < SLOTS; i += 25) {
                const uint8_t *in = data + i;
                uint8_t *b = file + ((be64_get(in + 1) % SLOTS) * SLOT);   /* where the log puts it */

                memset(b, 0, SLOT);
                memcpy(b + 8, in + 1, 24);
                be32_put(b, (in[0] & 1) ? 0x52425331u ^ in[0] : 0x52425331u);
                be32_put(b + 4, crc32_ieee(b + 8, SLOT - 8) ^ ((in[0] & 2) ? 1u : 0u));
        }
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        check(fd >= 0);
        check(write(fd, file, sizeof file) == (ssize_t) sizeof file);
        close(fd);

        check(start_log_open(dir, &l) == 0);
        next = start_log_next_seq(l);
        check(start_log_read(l, 0, &recs, &n) == 0);
        for (size_t i = 0; i < n; i++) {
                check(recs[i].seq > 0);
                check(recs[i].seq < next);                 /* the next record is above every one there */
                check(recs[i].count >= 1);
                check(i == 0 || recs[i - 1].seq <= recs[i].seq);
        }
        free(recs);
        recs = NULL;
        check(start_log_read(l, after, &recs, &n) == 0);
        for (size_t i = 0; i < n; i++)
                check(recs[i].seq > after);
        free(recs);
        recs = NULL;

        /* a record written now is there to read after the one before it */
        check(start_log_append(l, 7, 3, 2) == 0);
        check(start_log_holds(l, next));
        check(start_log_read(l, next - 1, &recs, &n) == 0);
        check(n >= 1 && recs[0].seq == next && recs[0].session == 7 && recs[0].step == 3 && recs[0].attempt == 2);
        free(recs);
        start_log_free(l);
        return 0;
}
