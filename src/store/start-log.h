/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* start-log.h: durable records that a step's command may start.
 *
 * A step may only start once "step N, attempt K is running" is durable. Making the LMDB commit
 * durable costs an fsync of several B-tree pages; this log makes the same fact durable with one
 * small O_DSYNC write to a preallocated file, and the LMDB commit is synced later, while the
 * command already runs. A record may be written ahead, before its step's start is committed (see
 * engine-start.c). Every commit carries a watermark (meta "start_seq"): the records up to it are
 * reflected in the store. On start-up after a reboot a record above it names a step that may
 * have started although the store lost its 'running' record: the engine treats it as
 * interrupted, never as not run.
 *
 * A step on a target group has one record, for all its hosts (see engine-group.c).
 *
 * The file is a ring of fixed-size, checksummed slots; only the records above the watermark
 * matter, and only after a reboot. */
#pragma once

#include "shared/util.h"

typedef struct StartLog StartLog;

typedef struct StartRecord {
        uint64_t seq;
        uint32_t session;
        uint32_t step;
        uint32_t attempt;
        uint32_t count;           /* steps step .. step + count - 1, each at 'attempt' (>= 1) */
} StartRecord;


int start_log_open(const char *dir, StartLog **ret);
StartLog *start_log_free(StartLog *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(StartLog *, start_log_free);

/* The sequence number the next record will get (for the commit that goes with it). */
uint64_t start_log_next_seq(StartLog *l);
/* Makes sure the next sequence number is above 'seq' (the store's, should the file be new). */
void start_log_seq_at_least(StartLog *l, uint64_t seq);
/* Writes the record with sequence start_log_next_seq(); durable when this returns 0. */
int start_log_append(StartLog *l, uint32_t session, uint32_t step, uint32_t attempt);
/* The same for 'count' consecutive steps of a session, which may start one after the other. */
int start_log_append_range(StartLog *l, uint32_t session, uint32_t step, uint32_t attempt, uint32_t count);
/* Whether record 'seq' (written earlier) is still in the file: the ring overwrites the oldest. */
bool start_log_holds(StartLog *l, uint64_t seq);
/* Every valid record with a sequence number greater than 'after', in order. */
int start_log_read(StartLog *l, uint64_t after, StartRecord **ret, size_t *ret_n);
