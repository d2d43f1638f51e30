/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine-internal.h: what the engine's files share: engine.c (sets, cache, store writes),
 * engine-run.c (transitions), engine-actions.c (what callers ask), engine-load.c (start-up),
 * engine-start.c (start records), engine-group.c (target groups). */
#pragma once

#include "config/notify-config.h"
#include "connector/connector.h"
#include "engine/engine.h"

#define ENGINE_CACHE_SIZE 16
/* a backstop: the bus layer syncs before it announces changes, within 10 ms */
#define ENGINE_SYNC_DELAY_USEC (50 * USEC_PER_MSEC)

/* a start-log record written ahead for a session's next steps (engine-start.c) */
typedef struct StartAhead {
        uint32_t session;
        uint32_t step;            /* the next step it stands for */
        uint32_t last;            /* the last step it covers */
        uint32_t attempt;
        uint64_t seq;
} StartAhead;

/* The engine's runtime state of a session (Session.runtime), a step and a group host: nothing of
 * it is stored. Every session the engine holds (active, or in its cache) has one. */
typedef struct HostRuntime {
        ConnectorJob *job;
        bool dirty;               /* changed since it was last written to the store */
} HostRuntime;

typedef struct StepRuntime {
        ConnectorJob *job;
        bool dirty;               /* changed since it was last written to the store */
        bool start_replayed;      /* engine_load(): only the start log had its start */
        usec_t group_started_mono;
        bool output_unmaskable;   /* followed after a restart without its secrets' values: its output
                                   * cannot be masked, so none of it is kept (engine_job_output()) */
        bool ran;                 /* its current attempt's command was handed to a connector (or
                                   * followed after a restart): a failure of it may be retried */
        sd_event_source *retry_timer; /* waiting_retry: starts the next attempt (engine-retry.c) */
        sd_event_source *deadline_timer; /* waiting_approval: its reminder, then its expiry (engine-deadline.c) */
        sd_event_source *window_timer; /* waiting_window: when its change window opens (engine-window.c) */
        HostRuntime *hosts;       /* n_hosts of the step */
        StepSecret *secrets;      /* while its attempt runs: the session's secrets (engine-secret.c) */
        size_t n_secrets;
        unsigned secrets_config_gen; /* Engine.config_gen when its secrets were last checked against
                                      * runbookd's own credentials (a group's hosts: engine-group.c) */
} StepRuntime;

/* an event for the notification outbox, written with the session's next commit (engine-notify.c) */
typedef struct PendingNotify {
        NotifyEvent event;
        int step;                 /* -1: none */
        usec_t time;
        char *who;                /* who caused it (break-glass), or NULL */
        char *comment;            /* their reason, or NULL */
} PendingNotify;

struct SessionRuntime {
        Engine *engine;
        bool active;              /* in the engine's active set (not a read-only copy from the store) */
        bool dirty;               /* the session record changed since it was last written */

        /* what a finished step leaves for the next commit, which writes its output and after
         * which its result record is sent (so that the end of one step and the start of the
         * next share one transaction) */
        struct {
                bool set;
                uint32_t step;
                uint8_t *data[2];
                size_t size[2];
        } pending_output;
        unsigned ahead_span;      /* steps the next record written ahead may cover (engine-start.c) */
        struct {
                bool set;
                uint32_t step;
                bool success;
                int outcome;      /* StepOutcome */
                int error;
                usec_t duration_usec;
                char *connection;
        } pending_result;

        PendingNotify *notify;    /* events for the next commit's outbox */
        size_t n_notify, n_notify_allocated;

        StepRuntime *steps;       /* n_steps of the session */

        bool lock_draining;       /* ended holding its locks, its command still being stopped: it
                                   * holds them until it has (session_deactivate()) */
        bool lock_granted;        /* took its locks in a pass of the lock queue: to go on (engine-lock.c) */
        unsigned lock_position;   /* waiting: its place in the queue (Session.LockPosition) */
};

static inline SessionRuntime *session_rt(const Session *s) {
        return s->runtime;
}
static inline StepRuntime *step_rt(const Step *st) {
        return &st->session->runtime->steps[st->index];
}
static inline HostRuntime *host_rt(const HostRun *h) {
        return &step_rt(h->step)->hosts[h->index];
}
static inline Engine *session_engine(const Session *s) {
        return s->runtime->engine;
}

/* Gives a session the engine's runtime (after its steps and hosts are in place). */
int session_runtime_attach(Engine *e, Session *s);
/* Frees the runtime, then the session. */
Session *engine_session_free(Session *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Session *, engine_session_free);

struct Engine {
        sd_event *event;
        Store *store;
        EngineConfig config;
        EngineHooks hooks;
        const TargetCatalog *targets;
        unsigned config_gen;      /* counts the catalogs and notification settings set (Reloads) */
        const NotifyConfig *notify; /* where notifications go (not owned; NULL: nowhere) */
        uint32_t next_id;

        Session **active;         /* sorted by id */
        size_t n_active, n_allocated;

        Session *cache[ENGINE_CACHE_SIZE];  /* finished sessions, loaded or just finished */
        unsigned cache_next;

        ConnectorJob **graveyard; /* finished jobs, freed from the reaper */
        size_t n_graveyard, n_graveyard_allocated;
        sd_event_source *reaper;
        sd_event_source *syncer;  /* makes the store durable once the loop is idle */
        sd_event_source *resumer; /* after engine_load(): follows remote runs begun before a restart */

        StartAhead *ahead;        /* at most one per session, not yet resolved */
        size_t n_ahead, n_ahead_allocated;
        uint32_t *want_ahead;     /* sessions whose next step's record is to be written ahead */
        size_t n_want_ahead, n_want_ahead_allocated;
        sd_event_source *ahead_writer;
        uint64_t start_seq_stored; /* meta "start_seq" as last committed */
        sd_event_source *lock_granter; /* moves sessions that took their locks on (engine-lock.c) */
        uint64_t lock_ticket;     /* the last place given in the lock queue */
        usec_t start_ahead_quick_usec; /* a step quicker than this widens the span written ahead
                                        * (START_AHEAD_QUICK_USEC; the unit tests, which are not
                                        * about timing, make every step quick) */

        bool loaded;              /* engine_load() ran */
        struct {                  /* engine-retention.c */
                sd_event_source *timer;
                bool running;     /* a pass is under way */
                bool again;       /* sessions finished during it: another pass soon after */
                uint32_t below;   /* the pass goes on below this session id (0: from the newest) */
                uint64_t n_final; /* finished sessions the pass has seen above 'below' */
                usec_t now;       /* the wall clock when the pass began (ages count to it) */
                uint64_t n_removed; /* by this pass, so far */
                uint64_t n_passes;  /* completed (for the tests) */
        } retention;
        /* the wall clock (NULL: CLOCK_REALTIME); the unit tests set their own */
        usec_t (*realtime)(void);
};

typedef struct PersistCtx {
        Session *session;
        bool force;
        bool write_next_id;
        Step *clear_output;       /* delete this step's stored output */
        bool start_record;        /* a start-log record for this commit's start is written right after it */
        uint64_t start_seq;       /* set by engine_persist(): the watermark this commit carries */
        json_t *audit;
        bool keep_pending;        /* leave the session's pending result record for the caller to flush */
        HostRun *host_output;     /* write this group host's output (host_data/host_size) */
        uint8_t *host_data[2];
        size_t host_size[2];
        json_t *outbox;           /* set by engine_persist(): the session's queued notifications */
} PersistCtx;

void engine_hooks_changed(Engine *e, Session *s, Step *st);
int engine_set_error(char **field, const char *fmt, ...) _printf_(2, 3);
int engine_persist(Engine *e, PersistCtx *c);
int engine_persist_session(Session *s);
/* engine_persist_session(), then synced: before a remote run is created under the handle just stored */
int engine_persist_session_durably(Session *s);
void session_flush_pending(Session *s);
json_t *engine_audit_event(const char *what, const Session *s, const Step *st, const Identity *who, const char *comment);
int engine_active_add(Engine *e, Session *s);
Session *engine_active_find(Engine *e, uint32_t id);
void session_deactivate(Session *s);
void engine_job_bury(Engine *e, ConnectorJob *job);
void engine_sync_soon(Engine *e);

/* engine-retention.c */
int engine_retention_init(Engine *e);
void engine_retention_done(Engine *e);
/* A session just finished: with max_sessions set, a pass runs soon (sessions finishing together
 * share it). */
void engine_retention_session_finished(Engine *e);
/* Drops a finished session from the read cache (it was removed from the store). */
void engine_cache_forget(Engine *e, uint32_t id);

/* engine-notify.c: notifications */
/* Queues 'event' of the session (and step 'st', or NULL) for the outbox of its next commit; 'who'
 * and 'comment' (may be NULL) are who caused it and their reason. A no-op when no sink is set. */
void session_notify(Session *s, NotifyEvent event, const Step *st, const char *who, const char *comment);
void session_notify_clear(Session *s);
/* The outbox records of the session's queued events ([{sinks, created, doc}]), NULL when none
 * goes anywhere. */
json_t *engine_notify_records(Engine *e, Session *s);
/* In the commit's transaction: each record under the next outbox seq, its doc given its event id. */
void engine_notify_write(StoreTxn *t, Store *store, json_t *records);

/* engine-lock.c: locks between sessions */
/* The session's locks (Session.locks) from its runbook and the targets of its steps. */
int session_locks_init(Engine *e, Session *s, const Runbook *rb, json_t *values, char **ret_error);
/* The step needs the session's locks: the runbook has a "lock", or it runs on a locked target. */
bool step_needs_lock(const Step *st);
/* At step 'st', reached: true if the session may go on (it holds its locks, or the step needs
 * none); false when it waits for them (waiting_lock, recorded and announced). */
bool session_lock_gate(Session *s, Step *st);
/* At the session's end: it gives its locks up (or leaves the queue); written with its next commit. */
void session_lock_release(Session *s);
/* Grants what can be granted now, from the loop (after a release, and at start-up). */
void engine_locks_kick(Engine *e);

/* engine-window.c: change windows and freezes */
enum {
        WINDOW_OPEN,              /* it may run now */
        WINDOW_WAIT,              /* it waits (waiting_window, recorded and announced) */
        WINDOW_NEVER,             /* no window opens within the horizon: *ret_why says so; not run */
};
/* At a step about to run, its approvals in. */
int step_window_gate(Step *st, char **ret_why);
void step_window_disarm(Step *st);

/* What is kept of a job's output stream 'i' (0 stdout, 1 stderr): as captured, or, when it could
 * not be masked ('unmaskable'), a line saying it was withheld. */
int engine_job_output(ConnectorJob *job, unsigned i, bool unmaskable, uint8_t **ret, size_t *ret_n);

/* engine-run.c */
/* A command of the session's is under way (or being stopped). */
bool session_has_job(Session *s);
/* The step the session is at (NULL: none). */
Step *session_current(Session *s);
/* Ends the session in 'state' (final or interrupted) with 'error' (NULL: none). */
void session_finish(Session *s, SessionState state, const char *error);
/* Takes the session as far as it can go by itself: the next step, a gate, or its end. */
void session_advance(Session *s, bool chained);
/* engine-capture.c: takes the step's "capture" values from its stdout once it succeeded (0; 1
 * with *ret_error when one cannot be taken: the step fails); substitutes the values of earlier
 * steps in its command (and digest) when it is reached (0, also when it refers to none; 1 with
 * *ret_error when a value is missing). */
int engine_step_take_captures(Step *st, ConnectorJob *job, char **ret_error);
int engine_step_render(Step *st, char **ret_error);
/* Its "when", with the values as they are now: 0 with *ret_run (and, when false, *ret_reason
 * saying so with the values seen); 1 with *ret_reason when it cannot be evaluated (the step
 * fails); *ret_seen is the values looked up (or NULL), for the record. */
int engine_step_condition(Step *st, bool *ret_run, char **ret_reason, json_t **ret_seen);
/* What the step runs, hashed (see step_compute_digest()), with the target as it is now. */
int step_digest_now(Engine *e, const Step *st, const Target *t, char **ret);

/* engine-secret.c: secret parameters. After binding: checks each "cred:NAME", and (when 'seal')
 * seals each literal value into s->sealed; both are then shown as "cred:NAME" or "***", and the
 * literal values are wiped from s->parameters and 'given'. -EINVAL with *ret_error. */
int session_bind_secrets(Session *s, json_t *given, bool seal, char **ret_error);
/* Whether credential 'name' is one runbookd uses itself: named by a target of the catalog or by a
 * notification sink (a RunbookCredentialOwnFunc; userdata is the Engine). */
bool engine_credential_is_own(const char *name, void *userdata);
/* Each caller-given "cred:NAME" of the session that has become runbookd's own since StartSession
 * (a Reload): -EPERM with *ret_why for the first, else 0. */
int session_check_secrets_own(const Session *s, char **ret_why);
/* What the digest covers of the secrets ("\nsecret RUNBOOK_SECRET_X=cred:NAME" or "=literal",
 * sorted); *ret NULL when the session has none. */
int session_secrets_digest_text(const Session *s, char **ret);
/* Every secret of the session with its value, for a step that runs now; negative with *ret_why. */
int session_resolve_secrets(const Session *s, StepSecret **ret, size_t *ret_n, char **ret_why);
/* The same into the step's runtime, unless it has them already (a group's hosts started after a
 * restart of runbookd); dropped (wiped) when the step settles. */
int step_ensure_secrets(Step *st, char **ret_why);
void step_drop_secrets(Step *st);
/* A step's command has ended (the connector's 'done'), and what follows from it. */
void on_step_done(ConnectorJob *job, const StepResult *res, void *userdata);
void step_complete(Step *st, const StepResult *res, ConnectorJob *job);
/* The name of the step's remote run, for messages ("" when none). */
const char *step_remote_name(const Step *st);
/* What a connector is given to run (or follow) the step's command on 'target'. */
StepRequest step_request(Step *st, const Target *target);
/* The name of a remote run from its handle, for messages. */
const char *remote_run_name(const json_t *remote);
/* The state a finished command leaves a step (or a group host) in, and why it did not succeed
 * (*ret_error, NULL on success). */
StepState step_outcome_state(const StepResult *res, int expect_exit, char **ret_error);
/* Ends a step in 'ns' (its result fields set by the caller) and moves the session on. */
void step_settle(Step *st, StepState ns, const StepResult *res, ConnectorJob *job);

/* Runs an approved (or approval-free) step; 'chained': it follows a step that just succeeded. */
void step_run(Step *st, bool chained);

/* engine-retry.c: automatic retries ("retries", "retry_delay") */
/* A step's attempt ended in 'ns': if it failed after its command ran and the runbook allows
 * another attempt, the step waits for it (durably, with a journal record) and true is returned. */
bool step_retry_schedule(Step *st, StepState ns);
/* A step waiting_retry: its timer is armed for its RetryAt (after a restart too); when it fires,
 * the next attempt starts. */
int step_retry_arm(Step *st);
void step_retry_disarm(Step *st);

/* engine-deadline.c: approval deadlines ("approval_timeout", "remind_before") */
/* The step starts waiting for approval at 'now' (and the session with it): its deadline is set
 * (stored with the next commit; step_deadline_arm() after that). */
void step_enter_waiting(Step *st, usec_t now);
/* A step waiting for approval with a deadline: its timer is armed for its reminder or its
 * deadline (one passed already: at once); for any other step it is disarmed. */
int step_deadline_arm(Step *st);
void step_deadline_disarm(Step *st);
/* A step waiting for approval whose deadline has passed (its timer not yet run): it expires now,
 * and true is returned: no decision may be taken on it any more. */
bool step_deadline_passed(Step *st);
/* "approval_valid_for": marks the approvals of the current attempt given longer than that before
 * 'now' lapsed (they stop counting); their indices go to idx (at most max). Returns how many. */
size_t step_lapse_stale(Step *st, usec_t now, size_t *idx, size_t max);
/* Takes back step_lapse_stale() (the change it was part of could not be stored). */
void step_unlapse(Step *st, const size_t *idx, size_t n);
/* The journal records of lapsed approvals (after the commit); 'when' says at what point. */
void step_lapses_announce(Step *st, const size_t *idx, size_t n, const char *when);
/* The lapsed approvals for an audit event: [{uid, user, time}]. */
json_t *step_lapses_json(const Step *st, const size_t *idx, size_t n);
/* An approved step about to start: false if some of its approvals lapsed meanwhile and it no
 * longer has enough (it waits for approval again, stored and announced). */
bool step_approvals_still_valid(Step *st);

/* engine-phases.c: rollback and finally */
/* The session's flow (or its rollback) ended at step 'at' (NULL: outside any step) in 'cause'
 * (a final session state) because of 'why': its rollback steps run if a main step had started,
 * then its finally steps; or, if none is to run, it ends now. */
void session_end_flow(Session *s, Step *at, SessionState cause, const char *why);
/* Whether session_end_flow() would run more steps (rollback or finally) after 'at'. */
bool session_end_runs_more(const Session *s, const Step *at);
enum {
        PHASE_ENTER_GO,           /* go on with the step */
        PHASE_ENTER_MOVED,        /* the session moved to another step: look again */
        PHASE_ENTER_ENDED,        /* the session ended */
};
/* session_advance() reaches 'st' (NULL: past the last step): the rollback ends there, the
 * rollback steps are passed over when the flow succeeded, the session ends past the last. */
int session_enter_phase(Session *s, const Step *st);

/* engine-start.c: the durability of step starts */
/* Meta "start_seq" for a commit now: every record up to it is reflected in the store. */
uint64_t engine_start_watermark(Engine *e, bool own_record);
/* A record written ahead covers up to this many steps, when each takes less than the other. */
#define START_AHEAD_SPAN_MAX 16u
#define START_AHEAD_QUICK_USEC (20 * USEC_PER_MSEC)
/* Whether a record written ahead stands for st's start (it is resolved with its last step). */
bool step_take_start_ahead(Step *st);
/* A step succeeded after 'duration': sets how many steps the next record written ahead covers. */
void step_note_duration(Step *st, usec_t duration);
/* Makes st's start (just committed) durable: a start-log record if it follows a step that just
 * succeeded ('chained'), else the store is synced, with the decision that started it. */
int step_start_durable(Step *st, bool chained);
/* Once st's command runs: the record for the next step is written ahead (from the loop, once it
 * is idle), if that one will start by itself. */
void step_want_start_ahead(Step *st);
int engine_start_init(Engine *e);
void engine_start_done(Engine *e);
/* The session's record written ahead can no longer be used. */
void session_drop_start_ahead(Session *s);
/* engine_load(): after a reboot, the steps the start log says may have started run 'running'. */
void engine_replay_starts(Engine *e, uint64_t start_seq);

/* engine-group.c: steps on a target group */
bool step_has_job(const Step *st);
int group_step_init(Engine *e, Step *st, const Target *group, char **ret_error);
void group_run(Step *st, const Target *target);
void group_skip_pending(Step *st, const char *why);
void group_cancel_jobs(Step *st);
unsigned group_load(Step *st, bool same_boot);
void group_resume(Step *st);
