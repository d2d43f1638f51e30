/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* runbook.h: runbook documents (<dir>/runbooks/<name>.json): strict parsing, parameter binding
 * and shell-quoted substitution. No sd-bus, no store. */
#pragma once

#include <jansson.h>
#include <regex.h>

#include "config/capture.h"
#include "config/config-util.h"
#include "model/session.h"
#include "shared/util.h"


#define RUNBOOK_NAME_MAX CONFIG_NAME_MAX
#define RUNBOOK_PARAMS_MAX 64
#define RUNBOOK_STEPS_MAX SESSION_STEPS_MAX
#define RUNBOOK_PARAM_VALUE_MAX 4096
#define RUNBOOK_FILE_SIZE_MAX (1024 * 1024)
#define RUNBOOK_APPROVERS_MAX STEP_APPROVERS_MAX
#define STEP_TIMEOUT_DEFAULT_SEC 600
#define RUNBOOK_STEP_ID_MAX 64
#define RUNBOOK_GROUP_NAME_MAX 32
#define APPROVAL_TIMEOUT_MAX_SEC ((int) (STEP_APPROVAL_TIMEOUT_MAX_USEC / USEC_PER_SEC))  /* "approval_timeout", "remind_before" */

/* A duration a runbook may set on a step or as the runbook's default, and runbookd.json as the
 * daemon's: 'set' false means not given here (the next level's applies); 0 given means none. */
typedef struct ConfigDuration {
        bool set;
        usec_t usec;
} ConfigDuration;

/* The step's, else the runbook's, else the daemon's (0: none). */
static inline usec_t config_duration_pick(ConfigDuration step, ConfigDuration runbook, usec_t daemon) {
        return step.set ? step.usec : runbook.set ? runbook.usec : daemon;
}

typedef struct RunbookParam {
        char *name;
        char *description;        /* may be NULL */
        char *default_value;      /* NULL: the parameter must be given */
        char *pattern;            /* POSIX extended regex, may be NULL (any value) */
        regex_t regex;            /* compiled 'pattern', valid if pattern != NULL */
        bool allow_leading_dash;  /* a value may start with '-' (else refused: it could be an option) */
        bool secret;              /* "secret": true: the value reaches the command only as the
                                   * environment variable RUNBOOK_SECRET_<NAME> (config/secret.h) */
        char **credentials;       /* "credentials": the credentials a caller may name ("cred:NAME"),
                                   * as fnmatch() patterns; NULL: none (only a value, or the default) */
} RunbookParam;

typedef struct RunbookStep {
        char *id;                 /* how later steps refer to it (^[a-z0-9_-]+$, unique); may be NULL */
        char *name;
        char *run;                /* the command template, with {{param}} references */
        StepPhase phase;
        char *target;             /* resolved: the step's, else the runbook's, else "local" */
        bool requires_approval;
        unsigned approvers;       /* distinct approvers needed, >= 1 */
        char **approver_groups;   /* "approvers": {"count", "groups"} or {"from_each"}: Unix group names */
        size_t n_approver_groups;
        bool approvers_from_each; /* one approver from each of approver_groups (approvers = their number) */
        usec_t timeout_usec;
        int expect_exit;
        bool continue_on_failure; /* "on_failure": "continue": a failure does not stop the session */
        CaptureSpec *captures;    /* "capture": values taken from its stdout when it succeeds */
        size_t n_captures;
        bool refers_to_steps;     /* 'run' has {{steps.ID.NAME}}: rendered when the step is reached */
        char *when;               /* the condition as written (config/expr.h); NULL: always runs */
        unsigned retries;         /* "retries": failed attempts retried by themselves */
        usec_t retry_delay_usec;  /* "retry_delay" */
        ConfigDuration approval_timeout;  /* "approval_timeout": no decision by then, it expires */
        ConfigDuration remind_before;     /* "remind_before": a reminder this long before that */
        ConfigDuration approval_valid_for; /* "approval_valid_for": how long an approval counts */
} RunbookStep;

typedef struct Runbook {
        char *name;               /* the file name without ".json" */
        char *file;               /* the path it was loaded from */
        char *description;        /* may be NULL */
        char *target;             /* may be NULL */
        RunbookParam *params;
        size_t n_params;
        RunbookStep *steps;       /* prechecks, then steps, then postchecks */
        size_t n_steps;
        json_t *json;             /* the document as loaded (a snapshot is stored with each session) */
        ConfigDuration approval_timeout;  /* the steps' default ("approval_timeout" at the top) */
        ConfigDuration remind_before;
        ConfigDuration approval_valid_for;
        char *lock;               /* "lock": the template of the lock its sessions take (lock-name.h); NULL: none */
} Runbook;

/* The document key that lists the steps of phase 'p': "prechecks", "steps", "postchecks". */
const char *runbook_phase_key(StepPhase p);

/* True if 'id' is a valid step id: ^[a-z0-9_-]+$, at most RUNBOOK_STEP_ID_MAX characters. */
bool runbook_step_id_is_valid(const char *id);

/* Parses and validates a runbook document. 'source' names it in errors (a file path).
 * On failure returns -EINVAL (or -ENOMEM) and sets *ret_error to a message that names the
 * source and the JSON path of the offending value, e.g.
 *   "/etc/runbookd/runbooks/x.json: $.steps[2].timeout: must be a positive integer" */
int runbook_from_json(json_t *doc, const char *name, const char *source, Runbook **ret, char **ret_error);
int runbook_load_file(const char *path, const char *name, Runbook **ret, char **ret_error);
Runbook *runbook_free(Runbook *rb);
DEFINE_TRIVIAL_CLEANUP_FUNC(Runbook *, runbook_free);

const RunbookParam *runbook_find_param(const Runbook *rb, const char *name);

/* Validates caller-supplied parameter values (a JSON object of strings) against the runbook:
 * unknown names, missing values without default, values failing their pattern, values that
 * are not printable UTF-8 or longer than RUNBOOK_PARAM_VALUE_MAX, values starting with '-'
 * unless the parameter allows it. On success *ret is a new
 * object with every parameter of the runbook bound (defaults filled in). On failure returns
 * -EINVAL and *ret_error says which parameter and why.
 * A secret parameter's "cred:NAME" from the caller must match the parameter's "credentials" and
 * must not be one runbookd uses itself: 'own' (may be NULL) says whether NAME is (a target's, a
 * notification sink's), whatever the runbook allows. Both refusals read the same (though under a
 * pattern such as "*" a refusal still tells a caller who may start sessions that the name is
 * runbookd's: a plan passes no 'own'). */
typedef bool (*RunbookCredentialOwnFunc)(const char *name, void *userdata);
int runbook_bind_parameters(const Runbook *rb, json_t *given, RunbookCredentialOwnFunc own, void *userdata,
                            json_t **ret, char **ret_error);
/* Whether the runbook (a document, e.g. a session's snapshot) declares parameter 'name' secret. */
bool runbook_json_param_is_secret(json_t *doc, const char *name);

/* The set of runbooks: vendor_dir/runbooks/ then config_dir/runbooks/; a file in config_dir
 * wins over a vendor file of the same name. Files that fail to parse are kept as "broken"
 * with their error, so that StartSession can say why. Either dir may be NULL. */
typedef ConfigBroken RunbookBroken;

typedef struct RunbookCatalog {
        Runbook **runbooks;       /* sorted by name */
        size_t n_runbooks;
        RunbookBroken *broken;
        size_t n_broken;
} RunbookCatalog;

int runbook_catalog_load(const char *vendor_dir, const char *config_dir, RunbookCatalog **ret);
RunbookCatalog *runbook_catalog_free(RunbookCatalog *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(RunbookCatalog *, runbook_catalog_free);
const Runbook *runbook_catalog_find(const RunbookCatalog *c, const char *name);
const RunbookBroken *runbook_catalog_find_broken(const RunbookCatalog *c, const char *name);

/* jansson >= 2.9 defines json_decrefp() itself (for json_auto_t) */
#if JANSSON_VERSION_HEX < 0x020900
DEFINE_TRIVIAL_CLEANUP_FUNC(json_t *, json_decref);
#endif

