/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* start-log.h: the durable record that a step's command is about to start.
 *
 * A step may only start once "step N, attempt K is running" is durable. Making the LMDB commit
 * durable costs an fsync of several B-tree pages; this log makes the same fact durable with one
 * small O_DSYNC write to a preallocated file, and the LMDB commit is synced right after, while
 * the command already runs. The commit carries the record's sequence number (meta
 * "start_seq"), so on start-up a record newer than what the store has seen names a step that
 * may have started although the store lost its 'running' record (power loss): the engine
 * treats it as interrupted, never as not run.
 *
 * A step on a target group has one record, for all its hosts (see engine-group.c).
 *
 * The file is a ring of fixed-size, checksummed slots; only the records newer than the store's
 * start_seq matter, and there are never more than a handful of those. */
#pragma once

#include "shared/util.h"

typedef struct StartLog StartLog;

typedef struct StartRecord {
        uint64_t seq;
        uint32_t session;
        uint32_t step;
        uint32_t attempt;
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
/* Every valid record with a sequence number greater than 'after', in order. */
int start_log_read(StartLog *l, uint64_t after, StartRecord **ret, size_t *ret_n);
