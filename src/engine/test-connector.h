/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-connector.h: the connector the engine's unit tests run steps through, so that a test of
 * the engine is about the engine: no processes, no clocks. It keeps a log of every run (the exact
 * command, the request), and a run ends when its command says so or when the test ends it.
 *
 * The test programs link their own connector table (test-connector.c defines connector_find()
 * and connector_shutdown_all(), so connector-table.c is not linked): "local", "ssh" and "azure"
 * as in runbookd, and "test". tc_use_for(catalog) makes every target of a catalog use it.
 *
 * A command is clauses separated by ';', each starting with a verb; a clause with any other
 * first word does nothing (the command is in the log either way):
 *   out TEXT        TEXT and a newline on stdout          err TEXT   the same on stderr
 *   fill N TEXT     TEXT N times on stdout, no newline    exit N     the exit status (default 0)
 *   killed N        ends killed by signal N               fail TEXT  could not run (OUTCOME_ERROR)
 *   hold            the run goes on until the test ends it (tc_finish, tc_expire) or it is cancelled
 *   refuse          connector_start() itself fails (-EIO)
 * Output is written when the run starts; the end is reported from the loop, by a defer source of
 * the lowest priority: once the loop has done everything else that was ready (as a real command's
 * end arrives while runbookd is idle). */
#pragma once

#include "config/target.h"
#include "connector/connector.h"

typedef struct TcRun {
        uint32_t session_id, step_index;
        unsigned attempt;
        char *command;
        char *target;             /* the target's name */
        usec_t timeout_usec;
        size_t output_cap;
        ConnectorJob *job;        /* NULL once it ended or was freed */
        bool held;                /* 'hold': waits for the test */
        bool refused;             /* 'refuse': connector_start() failed */
        bool cancelled;           /* connector_job_cancel() was called */
        bool freed_running;       /* freed before it ended (the engine went away) */
        int outcome;              /* a StepOutcome once it ended, else -1 */
} TcRun;

extern const ConnectorVTable connector_test;

/* Every target of 'c' runs through the test connector from now on (the documents, and so the
 * digests, stay as they are). */
void tc_use_for(TargetCatalog *c);
/* Forgets every run (the jobs must be gone). */
void tc_reset(void);
unsigned tc_n_runs(void);
TcRun *tc_run(unsigned i);
/* How many runs had exactly this command. */
unsigned tc_count(const char *command);
/* The last run of step 'step_index' of session 'session_id', or NULL. */
TcRun *tc_last(uint32_t session_id, uint32_t step_index);
/* Ends a held run with this exit status / as its timeout would (from the loop, like any end). */
void tc_finish(TcRun *r, int exit_status);
void tc_expire(TcRun *r);
