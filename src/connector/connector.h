/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* connector.h: how a step's command reaches its target. A connector is an asynchronous driver
 * on the daemon's sd-event loop: start, capture output, report the outcome exactly once,
 * cancel. Connectors never touch the bus or the store; they report through the 'done' callback.
 *
 * To add a connector: write src/connector/<name>/<name>.c with a
 * 'const ConnectorVTable connector_<name>', and list it in connector_table[] in connector-table.c. */
#pragma once

#include <systemd/sd-event.h>

#include "config/target.h"
#include "connector/output.h"
#include "model/result.h"

typedef struct ConnectorJob ConnectorJob;
typedef struct ConnectorCheck ConnectorCheck;

/* Called exactly once per started job, from the event loop (never from within connector_start()).
 * The job stays valid during the callback; the caller frees it with connector_job_free() afterwards. */
typedef void (*connector_done_t)(ConnectorJob *job, const StepResult *result, void *userdata);

/* Remote handles (connectors whose runs live on in a remote service, e.g. azure): before a
 * connector sends the request that creates the remote run, it hands what identifies that run
 * (a JSON object) to connector_job_set_handle(); the job's owner commits it durably (the engine:
 * the step record's "remote", synced) and the connector goes on from 'cont', called from the
 * loop with 0, or a negative errno if the handle could not be committed (then the run must not
 * be created). After a restart the owner passes the handle to connector_resume().
 * 'commit_handle' is the owner's side: returns 0 once the handle is durable. */
typedef int (*connector_commit_handle_t)(ConnectorJob *job, json_t *handle, void *userdata);
typedef void (*connector_continue_t)(ConnectorJob *job, int error);

/* A secret parameter's value for the command: in the environment variable 'name' of the command
 * (RUNBOOK_SECRET_<NAME>), never on a command line or in a property another user can read; every
 * occurrence of it in the output is masked (output.h). The value has no NUL and no newline. */
typedef struct StepSecret {
        char *name;
        char *value;
        size_t len;
} StepSecret;

/* Wipes and frees an array of n secrets. */
void step_secrets_free(StepSecret *s, size_t n);
/* "IFS= read -r NAME; … export NAME …; ": the shell text that reads the secrets' values, one line
 * each in order, from standard input ("" without secrets). */
int step_secrets_read_script(const StepSecret *s, size_t n, char **ret);
/* The values, each followed by a newline, in order: what that script reads. */
int step_secrets_lines(const StepSecret *s, size_t n, char **ret, size_t *ret_len);

typedef struct StepRequest {
        uint32_t session_id;
        uint32_t step_index;
        const char *command;      /* the final command line, run by /bin/sh -c on the target */
        const Target *target;
        usec_t timeout_usec;      /* 0: none */
        size_t output_cap;        /* per stream; 0: OUTPUT_CAP_DEFAULT */
        unsigned attempt;         /* the step's attempt (names remote runs); 0: unknown */
        connector_commit_handle_t commit_handle;  /* NULL: handles are not kept (not resumable) */
        const StepSecret *secrets;  /* the secret parameters' values (copied into the job) */
        size_t n_secrets;
} StepRequest;

typedef struct ConnectorVTable {
        const char *name;
        size_t object_size;       /* sizeof the connector's job struct, which begins with ConnectorJob */
        int (*start)(ConnectorJob *job, const StepRequest *req);
        int (*cancel)(ConnectorJob *job);   /* begin stopping; 'done' follows with OUTCOME_CANCELLED */
        void (*destroy)(ConnectorJob *job); /* release the connector's part of the job (optional) */
        /* follow the remote run named by 'handle' (from connector_job_set_handle() before a
         * restart) to its end, without starting it again (optional) */
        int (*resume)(ConnectorJob *job, const StepRequest *req, json_t *handle);
        /* Optional: whether the run named by 'handle' can still be followed: 1, or 0 with the reason
         * in *ret_reason (it is gone without a result), or a negative errno. NULL: always 1. */
        int (*resumable)(json_t *handle, char **ret_reason);
        /* Optional: whether this connector's jobs have handles now (a connector with 'resume' may
         * run some ways without one). NULL: whenever 'resume' is there. */
        bool (*keeps_handles)(void);
        /* Optional (see "Checks" at the end); NULL: targets of this connector cannot be checked. */
        int (*check)(ConnectorCheck *c, const Target *t);
        void (*check_destroy)(ConnectorCheck *c); /* stop the check's work, free c->data (optional) */
        /* Optional: release what the connector keeps across jobs (pooled connections), at exit,
         * after every job is gone. */
        void (*shutdown)(void);
} ConnectorVTable;

struct ConnectorJob {
        const ConnectorVTable *vtable;
        sd_event *event;
        connector_done_t done;
        void *userdata;
        OutputCapture output[2];  /* [0] stdout, [1] stderr */
        usec_t started_usec;      /* CLOCK_MONOTONIC */
        bool finished;            /* 'done' has been called */
        connector_commit_handle_t commit_handle;
        connector_continue_t handle_cont;   /* pending continuation of connector_job_set_handle() */
        int handle_error;
        sd_event_source *handle_defer;
        StepSecret *secrets;      /* the request's, copied (wiped when the job is freed) */
        size_t n_secrets;
        OutputMask *masks;        /* the secrets' values, masked in both outputs */
};

extern const ConnectorVTable connector_local;
extern const ConnectorVTable connector_ssh;

/* ssh: like connector_local_set_kill_grace(), for the remote command's process group. For tests. */
void connector_ssh_set_kill_grace(usec_t usec);
extern const ConnectorVTable connector_azure;

/* local: the grace period between SIGTERM and SIGKILL when a job times out or is cancelled
 * (default LOCAL_KILL_GRACE_USEC, 5 s); 0 restores the default. For tests. */
void connector_local_set_kill_grace(usec_t usec);
typedef enum LocalStepMode {
        LOCAL_STEPS_AUTO,         /* as transient units where systemd is PID 1 (sd_booted()), else directly */
        LOCAL_STEPS_UNITS,
        LOCAL_STEPS_DIRECT,
        _LOCAL_STEPS_MAX,
        _LOCAL_STEPS_INVALID = -EINVAL,
} LocalStepMode;
const char *local_step_mode_to_string(LocalStepMode m);
LocalStepMode local_step_mode_from_string(const char *s);
/* local: how steps run ('mode'), and where the output of steps run as units goes ('output_dir', a
 * directory runbookd owns: the state directory's "step-output"); NULL keeps the directory. */
int connector_local_configure(LocalStepMode mode, const char *output_dir);
/* "as transient systemd units" or "directly (…why…)", for the log. */
const char *local_unit_mode_describe(void);
/* local: the shell run as '<shell> -c <command>' (default "/bin/sh"); NULL restores the default.
 * For tests (e.g. of the exec-failure path); the string must stay valid while it is set. */
void connector_local_set_shell(const char *path);
/* ssh: how many pooled connections may be idle at once, over all hosts (runbookd.json
 * "ssh_max_idle_connections"; 0: none is kept after its step). Lowering it closes the surplus
 * now, the longest idle first. */
#define SSH_MAX_IDLE_CONNECTIONS_DEFAULT 256
#define SSH_MAX_IDLE_CONNECTIONS_MAX 65536
void connector_ssh_configure(unsigned max_idle);

const ConnectorVTable *connector_find(const char *name);
/* Every connector's shutdown (at exit, once no job is left). */
void connector_shutdown_all(void);

/* Starts the command. On success *ret is the job, and 'done' will be called once. On failure
 * returns a negative errno and 'done' is not called. */
int connector_start(const ConnectorVTable *vt, sd_event *event, const StepRequest *req,
                    connector_done_t done, void *userdata, ConnectorJob **ret);
/* Like connector_start(), for a run begun before a restart: vt->resume follows the remote run
 * named by 'handle'. -EOPNOTSUPP if the connector cannot resume. */
int connector_resume(const ConnectorVTable *vt, sd_event *event, const StepRequest *req, json_t *handle,
                     connector_done_t done, void *userdata, ConnectorJob **ret);
/* See connector_commit_handle_t. Returns 0 if 'cont' will be called (from the loop), else a
 * negative errno (and 'cont' is not called). Without an owner's commit_handle, 'cont' gets 0. */
int connector_job_set_handle(ConnectorJob *job, json_t *handle, connector_continue_t cont);
/* Whether vt's jobs keep handles now (see ConnectorVTable.keeps_handles). */
bool connector_keeps_handles(const ConnectorVTable *vt);
/* Whether the run named by 'handle' can still be followed (see ConnectorVTable.resumable). */
int connector_resumable(const ConnectorVTable *vt, json_t *handle, char **ret_reason);
/* Asks the job to stop (TERM, then KILL after a grace period, for local). Returns 0 if stopping
 * was begun, -EALREADY if the job has already finished. */
int connector_job_cancel(ConnectorJob *job);
ConnectorJob *connector_job_free(ConnectorJob *job);
DEFINE_TRIVIAL_CLEANUP_FUNC(ConnectorJob *, connector_job_free);

/* Called by connectors to finish a job: fills in the duration, marks it finished, calls 'done'. */
void connector_job_finish(ConnectorJob *job, StepResult *result);
/* For connectors: arms a job's timer (its timeout, then the grace periods of stopping it) to fire
 * 'usec' from now, creating *timer the first time and re-arming it afterwards. It is dispatched
 * after the job's other sources, so that a command that ends as the timer elapses is seen ended. */
int connector_job_arm_timer(ConnectorJob *job, sd_event_source **timer, usec_t usec,
                            sd_event_time_handler_t handler, void *userdata, const char *description);
/* A step's timeout as connectors' "timed out after …" messages say it: "3s" for whole seconds,
 * else "1.500s". 'buf' should have DURATION_MAX bytes. */
const char *connector_format_timeout(char *buf, size_t size, usec_t usec);

/* ---- Checks ----
 * A check tries the way to a target stage by stage (ssh: resolve, connect, host-key, authenticate,
 * run; local: run; azure: credentials, vm, permission) and says for each stage whether it worked
 * and why (Target.Check()).
 *
 * The 'check' hook declares its stages first, in order (connector_check_begin(), static names),
 * copies what it needs of the target (Reload may free it), starts the work and returns; a
 * negative errno means nothing was started and 'done' is not called. Afterwards, from the event
 * loop and never from within the hook, it settles stages (connector_check_stage()) and calls
 * connector_check_finish() once, as the last thing it does; stages still pending then become
 * "skipped" (an earlier stage failed); connector_check_fail() does both for a failed stage. The
 * timeout belongs to connector_check_start(): when it passes, check_destroy() stops the work and
 * every pending stage becomes "failed" ("timed out").
 * A check never uses nor leaves behind a pooled connection: it opens its own and closes it.
 * A connector without the hook: connector_check_start() returns -EOPNOTSUPP. */

typedef enum CheckVerdict {
        CHECK_PENDING,
        CHECK_OK,
        CHECK_FAILED,
        CHECK_SKIPPED,
        _CHECK_VERDICT_MAX,
} CheckVerdict;

#define CONNECTOR_CHECK_STAGES_MAX 8

typedef struct CheckStage {
        const char *name;         /* static */
        CheckVerdict verdict;
        char *reason;
} CheckStage;

/* Called exactly once, from the event loop; the caller may free the check from within. */
typedef void (*connector_check_done_t)(ConnectorCheck *c, void *userdata);

struct ConnectorCheck {
        const ConnectorVTable *vtable;
        sd_event *event;
        connector_check_done_t done;
        void *userdata;
        CheckStage stages[CONNECTOR_CHECK_STAGES_MAX];
        size_t n_stages;
        void *data;               /* the connector's state */
        sd_event_source *timer;
        usec_t timeout_usec;
        bool finished;
};

int connector_check_start(const ConnectorVTable *vt, sd_event *event, const Target *t, usec_t timeout_usec,
                          connector_check_done_t done, void *userdata, ConnectorCheck **ret);
/* Stops an unfinished check ('done' is not called) and frees it. */
ConnectorCheck *connector_check_free(ConnectorCheck *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(ConnectorCheck *, connector_check_free);
/* For connectors. */
int connector_check_add_stage(ConnectorCheck *c, const char *name);
/* For the 'check' hook, first: declares 'stages' in order (connector_check_add_stage()), then hangs
 * 'data_size' zeroed bytes on c->data for the connector's state (check_destroy() frees it from then
 * on, also when the hook fails later). */
int connector_check_begin(ConnectorCheck *c, const char *const *stages, size_t n_stages, size_t data_size);
void connector_check_stage(ConnectorCheck *c, const char *name, CheckVerdict verdict, const char *fmt, ...)
        _printf_(4, 5);
void connector_check_finish(ConnectorCheck *c);
/* Settles stage 'name' as failed with the formatted reason ("out of memory" if it cannot be
 * formatted), then connector_check_finish(): the stages after it are skipped. It may free c. */
void connector_check_fail(ConnectorCheck *c, const char *name, const char *fmt, ...) _printf_(3, 4);
/* Whether every stage is ok. */
bool connector_check_passed(const ConnectorCheck *c);
const char *check_verdict_to_string(CheckVerdict v);
