/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "shared/log.h"
#include "shared/bytes.h"
#include "store/start-log.h"

#define START_LOG_FILE "starts.log"
#define START_LOG_SLOTS 2048
#define START_LOG_SLOT_SIZE 32
#define START_LOG_SIZE (START_LOG_SLOTS * START_LOG_SLOT_SIZE)
#define START_LOG_MAGIC UINT32_C(0x52425331) /* "RBS1" */

struct StartLog {
        int fd;
        uint64_t next_seq;
};

/* CRC-32 (IEEE), bitwise: it covers 24 bytes of a 32-byte slot. */
static uint32_t crc32_ieee(const uint8_t *p, size_t n) {
        uint32_t c = 0xffffffffu;

        for (size_t i = 0; i < n; i++) {
                c ^= p[i];
                for (int k = 0; k < 8; k++)
                        c = (c >> 1) ^ (0xedb88320u & -(c & 1u));
        }
        return ~c;
}

/* slot: magic, crc (over the rest), seq, session, step, attempt, count, all big-endian (a count
 * of 0, as written before ranges existed, means 1) */
static void encode(uint8_t b[START_LOG_SLOT_SIZE], const StartRecord *r) {
        memset(b, 0, START_LOG_SLOT_SIZE);
        be32_put(b, START_LOG_MAGIC);
        be64_put(b + 8, r->seq);
        be32_put(b + 16, r->session);
        be32_put(b + 20, r->step);
        be32_put(b + 24, r->attempt);
        be32_put(b + 28, r->count);
        be32_put(b + 4, crc32_ieee(b + 8, START_LOG_SLOT_SIZE - 8));
}

/* Sequence numbers count up by one a start from 1: a record above this (a damaged slot that
 * passed the checksum) is not taken, or the next number (max + 1) would wrap to 0 and every
 * record written after it would be invisible to a restart. */
#define START_LOG_SEQ_MAX (UINT64_C(1) << 62)

static bool decode(const uint8_t b[START_LOG_SLOT_SIZE], StartRecord *r) {
        if (be32_get(b) != START_LOG_MAGIC || be32_get(b + 4) != crc32_ieee(b + 8, START_LOG_SLOT_SIZE - 8))
                return false;
        r->seq = be64_get(b + 8);
        r->session = be32_get(b + 16);
        r->step = be32_get(b + 20);
        r->attempt = be32_get(b + 24);
        r->count = MAX(be32_get(b + 28), 1u);
        return r->seq > 0 && r->seq < START_LOG_SEQ_MAX;
}

static int read_all(int fd, uint8_t *buf) {
        ssize_t n = pread(fd, buf, START_LOG_SIZE, 0);
        if (n < 0)
                return negative_errno();
        if (n < START_LOG_SIZE)
                memset(buf + n, 0, START_LOG_SIZE - (size_t) n);
        return 0;
}

int start_log_open(const char *dir, StartLog **ret) {
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;
        StartLog *l;
        struct stat st;
        uint64_t max = 0;
        int r;

        if (asprintf_safe(&path, "%s/" START_LOG_FILE, dir) < 0)
                return -ENOMEM;
        /* O_DSYNC: a write returns once its data is on stable storage */
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_DSYNC, 0600);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        buf = calloc(1, START_LOG_SIZE);
        if (!buf)
                return -ENOMEM;
        if (st.st_size != START_LOG_SIZE) {
                /* written out (not just allocated), so that later writes change no metadata */
                r = read_all(fd, buf);
                if (r < 0)
                        return r;
                if (pwrite(fd, buf, START_LOG_SIZE, 0) != START_LOG_SIZE || ftruncate(fd, START_LOG_SIZE) < 0 ||
                    fsync(fd) < 0)
                        return errno > 0 ? -errno : -EIO;
        }
        r = read_all(fd, buf);
        if (r < 0)
                return r;
        for (size_t i = 0; i < START_LOG_SLOTS; i++) {
                StartRecord rec;
                if (decode(buf + i * START_LOG_SLOT_SIZE, &rec) && rec.seq > max)
                        max = rec.seq;
        }

        l = calloc(1, sizeof(StartLog));
        if (!l)
                return -ENOMEM;
        l->fd = TAKE_FD(fd);
        l->next_seq = max + 1;
        *ret = l;
        return 0;
}

StartLog *start_log_free(StartLog *l) {
        if (!l)
                return NULL;
        if (l->fd >= 0)
                close(l->fd);
        free(l);
        return NULL;
}

uint64_t start_log_next_seq(StartLog *l) {
        return l->next_seq;
}

void start_log_seq_at_least(StartLog *l, uint64_t seq) {
        if (l->next_seq <= seq)
                l->next_seq = seq + 1;
}

int start_log_append(StartLog *l, uint32_t session, uint32_t step, uint32_t attempt) {
        return start_log_append_range(l, session, step, attempt, 1);
}

int start_log_append_range(StartLog *l, uint32_t session, uint32_t step, uint32_t attempt, uint32_t count) {
        StartRecord rec = { .seq = l->next_seq, .session = session, .step = step, .attempt = attempt,
                            .count = MAX(count, 1u) };
        uint8_t b[START_LOG_SLOT_SIZE];
        ssize_t n;

        encode(b, &rec);
        /* a sequence number is never given twice, even if its write failed: a commit may name it */
        l->next_seq++;
        n = pwrite(l->fd, b, sizeof b, (off_t) ((rec.seq % START_LOG_SLOTS) * START_LOG_SLOT_SIZE));
        if (n < 0)
                return negative_errno();
        if (n != sizeof b)
                return -EIO;
        return 0;
}

bool start_log_holds(StartLog *l, uint64_t seq) {
        return seq > 0 && seq < l->next_seq && l->next_seq - seq <= START_LOG_SLOTS;
}

static int cmp_record(const void *a, const void *b) {
        const StartRecord *x = a, *y = b;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int start_log_read(StartLog *l, uint64_t after, StartRecord **ret, size_t *ret_n) {
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ StartRecord *recs = NULL;
        size_t n = 0;
        int r;

        buf = malloc(START_LOG_SIZE);
        recs = calloc(START_LOG_SLOTS, sizeof(StartRecord));
        if (!buf || !recs)
                return -ENOMEM;
        r = read_all(l->fd, buf);
        if (r < 0)
                return r;
        for (size_t i = 0; i < START_LOG_SLOTS; i++)
                if (decode(buf + i * START_LOG_SLOT_SIZE, &recs[n]) && recs[n].seq > after)
                        n++;
        qsort(recs, n, sizeof(StartRecord), cmp_record);
        *ret = TAKE_PTR(recs);
        *ret_n = n;
        return 0;
}
