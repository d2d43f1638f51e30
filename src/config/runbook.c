/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fnmatch.h>
#include <stddef.h>
#include <stdio.h>

#include "config/expr.h"
#include "config/runbook.h"
#include "config/lock-name.h"
#include "config/secret.h"
#include "config/window.h"
#include "config/target.h"
#include "config/template.h"
#include "shared/log.h"

#define PARAM_NAME_MAX 64
#define PARAM_PATTERN_MAX 1024
#define STEP_NAME_MAX 256
#define STEP_TIMEOUT_MAX_SEC (7 * 24 * 3600)
#define STEP_PATH_MAX 64          /* "$.postchecks[N]" */


/* The document key that lists the steps of each phase. */
static const char *const step_phase_key[_PHASE_MAX] = {
        [PHASE_PRECHECK] = "prechecks",
        [PHASE_MAIN] = "steps",
        [PHASE_POSTCHECK] = "postchecks",
        [PHASE_ROLLBACK] = "rollback",
        [PHASE_FINALLY] = "finally",
};

static const char *const runbook_keys[] = {
        "description", "parameters", "target", "prechecks", "steps", "postchecks", "rollback", "finally",
        "approval_timeout", "remind_before", "approval_valid_for", "break_glass", "lock", "windows", NULL,
};
static const char *const param_keys[] = { "description", "default", "pattern", "allow_leading_dash", "secret",
                                           "credentials", NULL };
static const char *const step_keys[] = {
        "name", "run", "id", "when", "approval", "target", "timeout", "expect_exit", "approvers", "on_failure", "capture",
        "retries", "retry_delay", "approval_timeout", "remind_before", "approval_valid_for", NULL,
};

const char *runbook_phase_key(StepPhase p) {
        return p >= 0 && p < _PHASE_MAX ? step_phase_key[p] : NULL;
}

bool runbook_step_id_is_valid(const char *id) {
        size_t n = strnlen(id, RUNBOOK_STEP_ID_MAX + 1);

        if (n == 0 || n > RUNBOOK_STEP_ID_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(id[i] >= 'a' && id[i] <= 'z') && !ascii_isdigit(id[i]) && id[i] != '_' && id[i] != '-')
                        return false;
        return true;
}

static bool param_name_is_valid(const char *s) {
        return template_name_is_valid(s, strnlen(s, PARAM_NAME_MAX + 1));
}

static void runbook_param_done(RunbookParam *p) {
        free(p->name);
        free(p->description);
        free(p->default_value);
        if (p->pattern)
                regfree(&p->regex);
        free(p->pattern);
        strv_free(p->credentials);
}

static void runbook_step_done(RunbookStep *s) {
        capture_specs_free(s->captures, s->n_captures);
        for (size_t i = 0; i < s->n_approver_groups; i++)
                free(s->approver_groups[i]);
        free(s->approver_groups);
        free(s->when);
        free(s->id);
        free(s->name);
        free(s->run);
        free(s->target);
}

Runbook *runbook_free(Runbook *rb) {
        if (!rb)
                return NULL;
        for (size_t i = 0; i < rb->n_params; i++)
                runbook_param_done(&rb->params[i]);
        free(rb->params);
        for (size_t i = 0; i < rb->n_steps; i++)
                runbook_step_done(&rb->steps[i]);
        free(rb->steps);
        free(rb->name);
        free(rb->file);
        free(rb->description);
        free(rb->target);
        free(rb->lock);
        json_decref(rb->json);
        free(rb);
        return NULL;
}

const RunbookParam *runbook_find_param(const Runbook *rb, const char *name) {
        for (size_t i = 0; i < rb->n_params; i++)
                if (streq(rb->params[i].name, name))
                        return &rb->params[i];
        return NULL;
}

/* Why 'v' is not an acceptable value of 'p': returns 0 if it is, 1 with *ret_problem set if it
 * is not, -ENOMEM. */
static int param_value_problem(const RunbookParam *p, json_t *v, char **ret_problem) {
        const char *s = config_json_string(v);

        if (!s)
                return asprintf_safe(ret_problem, "value must be a string") < 0 ? -ENOMEM : 1;
        if (p->secret) {
                /* never the value in a message */
                char why[SECRET_PROBLEM_MAX];
                if (secret_value_problem(s, why) > 0)
                        return asprintf_safe(ret_problem, "%s", why) < 0 ? -ENOMEM : 1;
                return 0;
        }
        if (strlen(s) > RUNBOOK_PARAM_VALUE_MAX)
                return asprintf_safe(ret_problem, "value is too long (maximum %d bytes)",
                                     RUNBOOK_PARAM_VALUE_MAX) < 0 ? -ENOMEM : 1;
        char buf[96];
        const char *bad = utf8_text_problem(s, RUNBOOK_PARAM_VALUE_MAX, buf, sizeof buf);
        if (bad)
                return asprintf_safe(ret_problem, "value is not printable UTF-8 text (%s)", bad) < 0 ? -ENOMEM : 1;
        if (s[0] == '-' && !p->allow_leading_dash)
                return asprintf_safe(ret_problem,
                                     "value starts with '-', which a program could take as an option "
                                     "(the runbook may allow it with \"allow_leading_dash\": true)") < 0 ? -ENOMEM : 1;
        if (p->pattern && regexec(&p->regex, s, 0, NULL, 0) != 0)
                return asprintf_safe(ret_problem, "value '%s' does not match pattern '%s'", s, p->pattern) < 0
                               ? -ENOMEM : 1;
        return 0;
}

bool runbook_json_param_is_secret(json_t *doc, const char *name) {
        return json_is_true(json_object_get(json_object_get(json_object_get(doc, "parameters"), name), "secret"));
}

/* Gets the optional string member 'key' of 'obj' into *ret (NULL if absent). */
static int get_string(json_t *obj, const char *key, const char *source, const char *path, const char **ret,
                      char **ret_error) {
        json_t *v = json_object_get(obj, key);
        char p[JSON_PATH_MAX];

        *ret = NULL;
        if (!v)
                return 0;
        *ret = config_json_string(v);
        if (*ret)
                return 0;
        snprintf(p, sizeof p, "%s.%s", path, key);
        return config_error(ret_error, source, p, "must be a string");
}

static int strdup_opt(const char *s, char **ret) {
        *ret = NULL;
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int parse_param(RunbookParam *p, const char *name, json_t *v, const char *source, char **ret_error) {
        _cleanup_free_ char *path = NULL, *problem = NULL;
        const char *description, *pattern, *def;
        char ep[JSON_PATH_MAX];
        int r;

        path = config_path_key("$.parameters", name);
        if (!path)
                return -ENOMEM;
        if (!param_name_is_valid(name))
                return config_error(ret_error, source, path,
                                    "invalid parameter name (must match [A-Za-z_][A-Za-z0-9_]{0,63})");
        if (!json_is_object(v))
                return config_error(ret_error, source, path, "must be an object");
        r = config_check_keys(v, param_keys, source, path, ret_error);
        if (r < 0)
                return r;
        if ((r = get_string(v, "description", source, path, &description, ret_error)) < 0 ||
            (r = get_string(v, "pattern", source, path, &pattern, ret_error)) < 0 ||
            (r = get_string(v, "default", source, path, &def, ret_error)) < 0)
                return r;

        p->name = strdup(name);
        if (!p->name || strdup_opt(description, &p->description) < 0)
                return -ENOMEM;

        json_t *dash = json_object_get(v, "allow_leading_dash");
        if (dash) {
                if (!json_is_boolean(dash)) {
                        snprintf(ep, sizeof ep, "%s.allow_leading_dash", path);
                        return config_error(ret_error, source, ep, "must be true or false");
                }
                p->allow_leading_dash = json_is_true(dash);
        }

        json_t *secret = json_object_get(v, "secret");
        if (secret) {
                snprintf(ep, sizeof ep, "%s.secret", path);
                if (!json_is_boolean(secret))
                        return config_error(ret_error, source, ep, "must be true or false");
                p->secret = json_is_true(secret);
        }
        if (!p->secret && json_object_get(v, "credentials"))
                return config_error(ret_error, source, path, "\"credentials\" is for a secret parameter (\"secret\": true)");
        if (p->secret) {
                /* its value is never shown, so never checked against a pattern in a message, and
                 * never a command's argument, where a leading '-' would matter */
                if (pattern || dash)
                        return config_error(ret_error, source, path, "a secret parameter takes no \"%s\"",
                                            pattern ? "pattern" : "allow_leading_dash");
                json_t *creds = json_object_get(v, "credentials"), *c;
                size_t k;
                snprintf(ep, sizeof ep, "%s.credentials", path);
                if (creds && (!json_is_array(creds) || json_array_size(creds) == 0 || json_array_size(creds) > 16))
                        return config_error(ret_error, source, ep, "must be an array of 1 to 16 credential names or "
                                            "patterns (\"db-*\"): those a caller may name as \"cred:NAME\"");
                json_array_foreach(creds, k, c) {
                        const char *pat = json_string_value(c);
                        if (!pat || isempty(pat) || strlen(pat) > SECRET_CRED_NAME_MAX ||
                            strspn(pat, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@:-*?") != strlen(pat))
                                return config_error(ret_error, source, ep, "[%zu]: must be a credential name, with * and ? "
                                                    "as wildcards", k);
                        if (strv_extend(&p->credentials, pat) < 0)
                                return -ENOMEM;
                }
                if (def && !secret_is_credential_ref(def)) {
                        snprintf(ep, sizeof ep, "%s.default", path);
                        return config_error(ret_error, source, ep,
                                            "the default of a secret parameter must name a credential (\"cred:NAME\"): "
                                            "a runbook is no place for a secret's value");
                }
        }

        if (pattern) {
                snprintf(ep, sizeof ep, "%s.pattern", path);
                if (strlen(pattern) > PARAM_PATTERN_MAX)
                        return config_error(ret_error, source, ep, "pattern is too long (maximum %d bytes)",
                                            PARAM_PATTERN_MAX);
                {
                        char why[256];
                        if (expr_pattern_check(pattern, why, sizeof why) < 0)
                                return config_error(ret_error, source, ep, "%s", why);
                }
                r = regcomp(&p->regex, pattern, REG_EXTENDED | REG_NOSUB);
                if (r != 0) {
                        char buf[256];

                        /* no regfree(): after a failed regcomp() the regex_t holds nothing */
                        regerror(r, &p->regex, buf, sizeof buf);
                        return config_error(ret_error, source, ep, "invalid regular expression '%s': %s",
                                            pattern, buf);
                }
                p->pattern = strdup(pattern);
                if (!p->pattern) {
                        regfree(&p->regex);
                        return -ENOMEM;
                }
        }

        if (def) {
                snprintf(ep, sizeof ep, "%s.default", path);
                r = param_value_problem(p, json_object_get(v, "default"), &problem);
                if (r < 0)
                        return r;
                if (r > 0)
                        return config_error(ret_error, source, ep, "%s", problem);
                p->default_value = strdup(def);
                if (!p->default_value)
                        return -ENOMEM;
        }
        return 0;
}

/* Checks that every {{name}} in 'run' refers to a declared parameter, and stands where its
 * quoted value is one whole shell word of data (template_check_placements()). */
/* The step before 's' with this id, or NULL. */
static const RunbookStep *step_before(const Runbook *rb, const RunbookStep *s, const char *id, size_t id_len) {
        for (const RunbookStep *o = rb->steps; o < s; o++)
                if (o->id && strlen(o->id) == id_len && strncmp(o->id, id, id_len) == 0)
                        return o;
        return NULL;
}

/* Rollback steps run when the main steps did not succeed: the postchecks never ran before them. */
static bool step_never_before(const RunbookStep *s, const RunbookStep *o) {
        return s->phase == PHASE_ROLLBACK && o->phase == PHASE_POSTCHECK;
}

static int never_before_error(const RunbookStep *o, const char *ref, size_t len, const char *source, const char *path,
                              char **ret_error) {
        return config_error(ret_error, source, path,
                            "'{{%.*s}}': step '%s' is a postcheck, and postchecks never run before a rollback step "
                            "(rollback runs when the main steps did not succeed)", (int) len, ref, o->id);
}

/* A {{steps.ID.NAME}} in step 's' must name a value that a step before it captures. */
static int check_step_value(const Runbook *rb, const RunbookStep *s, const char *name, size_t len, const char *id,
                            size_t id_len, const char *vname, size_t vlen, const char *source, const char *path,
                            char **ret_error) {
        const RunbookStep *o = step_before(rb, s, id, id_len);

        if (o && step_never_before(s, o))
                return never_before_error(o, name, len, source, path, ret_error);
        if (o) {
                if (capture_spec_find(o->captures, o->n_captures, vname, vlen))
                        return 0;
                _cleanup_free_ char *names = NULL;
                for (size_t i = 0; i < o->n_captures; i++) {
                        char *n = NULL;
                        if (asprintf_safe(&n, "%s%s%s", strempty(names), names ? ", " : "", o->captures[i].name) < 0)
                                return -ENOMEM;
                        free(names);
                        names = n;
                }
                return config_error(ret_error, source, path, "'{{%.*s}}': step '%.*s' captures no value '%.*s' (%s%s)",
                                    (int) len, name, (int) id_len, id, (int) vlen, vname,
                                    names ? "it captures: " : "it captures nothing", strempty(names));
        }
        return config_error(ret_error, source, path, "'{{%.*s}}': no step before this one has id '%.*s'",
                            (int) len, name, (int) id_len, id);
}

static int check_step_ref(const Runbook *rb, RunbookStep *s, const char *name, size_t len, const char *source,
                          const char *path, char **ret_error) {
        const char *id, *vname;
        size_t id_len, vlen;

        if (!template_step_ref(name, len, &id, &id_len, &vname, &vlen))
                return -EINVAL;
        s->refers_to_steps = true;
        return check_step_value(rb, s, name, len, id, id_len, vname, vlen, source, path, ret_error);
}

typedef struct WhenCheck {
        const Runbook *rb;
        const RunbookStep *s;
        const char *source, *path;
        char **ret_error;
} WhenCheck;

/* Each reference of a "when" names a declared parameter, or a step before this one (and one of
 * its values, or its exit status). */
static int check_when_ref(const ExprRef *ref, void *userdata) {
        WhenCheck *w = userdata;
        char ep[JSON_PATH_MAX];

        snprintf(ep, sizeof ep, "%s (at offset %zu)", w->path, ref->offset);
        switch (ref->kind) {
        case EXPR_REF_PARAM: {
                const RunbookParam *p = runbook_find_param(w->rb, ref->name);
                if (p && p->secret)
                        return config_error(w->ret_error, w->source, ep,
                                            "'%s' is a secret parameter, which a condition may not look at (its value "
                                            "would decide what is shown and recorded)", ref->text);
                if (p)
                        return 0;
                return config_error(w->ret_error, w->source, ep, "'%s' refers to an undeclared parameter '%s'", ref->text,
                                    ref->name);
        }
        case EXPR_REF_STEP_VALUE:
                return check_step_value(w->rb, w->s, ref->text + 2, strlen(ref->text) - 4, ref->step, strlen(ref->step),
                                        ref->name, strlen(ref->name), w->source, ep, w->ret_error);
        case EXPR_REF_STEP_EXIT_STATUS: {
                const RunbookStep *o = step_before(w->rb, w->s, ref->step, strlen(ref->step));
                if (o && step_never_before(w->s, o))
                        return never_before_error(o, ref->text + 2, strlen(ref->text) - 4, w->source, ep, w->ret_error);
                if (o)
                        return 0;
                return config_error(w->ret_error, w->source, ep, "'%s': no step before this one has id '%s'", ref->text,
                                    ref->step);
        }
        default:
                return -EINVAL;
        }
}

static int check_when(const Runbook *rb, RunbookStep *s, const char *when, const char *source, const char *path,
                      char **ret_error) {
        _cleanup_(expr_freep) Expr *e = NULL;
        char error[EXPR_ERROR_MAX];
        WhenCheck w = { .rb = rb, .s = s, .source = source, .path = path, .ret_error = ret_error };
        int r;

        r = expr_parse(when, &e, error, sizeof error);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return config_error(ret_error, source, path, "%s", error);
        r = expr_foreach_ref(e, check_when_ref, &w);
        if (r < 0)
                return r;
        s->when = strdup(when);
        return s->when ? 0 : -ENOMEM;
}

static int check_template(const Runbook *rb, RunbookStep *s, const char *run, const char *source, const char *path,
                          char **ret_error) {
        const char *p = run, *start, *end, *name;
        size_t len;
        int r;

        for (;;) {
                r = template_next(p, &start, &end, &name, &len);
                if (r == 0)
                        break;
                if (r == -EINVAL)
                        return config_error(ret_error, source, path, "unterminated '{{' (at offset %zu)",
                                            (size_t) (start - run));
                if (r == -EBADMSG)
                        return config_error(ret_error, source, path,
                                            "invalid parameter reference '%.*s' (expected {{name}} or {{steps.ID.NAME}})",
                                            (int) MIN((size_t) (end - start), (size_t) 80), start);
                if (template_step_ref(name, len, NULL, NULL, NULL, NULL)) {
                        r = check_step_ref(rb, s, name, len, source, path, ret_error);
                        if (r < 0)
                                return r;
                        p = end;
                        continue;
                }
                bool found = false;
                for (size_t i = 0; i < rb->n_params; i++)
                        if (strlen(rb->params[i].name) == len && memcmp(rb->params[i].name, name, len) == 0) {
                                if (rb->params[i].secret) {
                                        _cleanup_free_ char *env = secret_env_name(rb->params[i].name);
                                        if (!env)
                                                return -ENOMEM;
                                        return config_error(ret_error, source, path,
                                                            "'{{%.*s}}' (at offset %zu) is a secret parameter, whose value is "
                                                            "never put into a command: use \"$%s\" (its environment variable)",
                                                            (int) len, name, (size_t) (start - run), env);
                                }
                                found = true;
                                break;
                        }
                if (!found)
                        return config_error(ret_error, source, path,
                                            "'{{%.*s}}' refers to an undeclared parameter '%.*s'",
                                            (int) len, name, (int) len, name);
                p = end;
        }

        char problem[TEMPLATE_PROBLEM_MAX];
        size_t offset;
        r = template_check_placements(run, &offset, problem);
        if (r < 0)
                return r == -ENOMEM ? r : config_error(ret_error, source, path, "malformed template");
        if (r > 0) {
                (void) template_next(run + offset, &start, &end, &name, &len);
                return config_error(ret_error, source, path,
                                    "'%.*s' (at offset %zu) %s: a parameter may only stand where its quoted value "
                                    "is one whole shell word of data (see docs/runbooks.md)",
                                    (int) MIN((size_t) (end - start), (size_t) 80), start, offset, problem);
        }
        return 0;
}

/* "approval_timeout", "remind_before" and "approval_valid_for" of a step or of the runbook at
 * PATH: seconds, 0 to 30 days. */
static int parse_deadlines(json_t *v, ConfigDuration *timeout, ConfigDuration *remind, ConfigDuration *valid,
                           const char *source, const char *path, char **ret_error) {
        static const char *const keys[] = { "approval_timeout", "remind_before", "approval_valid_for" };
        ConfigDuration *out[] = { timeout, remind, valid };
        char ep[JSON_PATH_MAX];

        for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                json_t *j = json_object_get(v, keys[k]);

                if (!j)
                        continue;
                snprintf(ep, sizeof ep, "%s.%s", path, keys[k]);
                if (!json_is_integer(j) || json_integer_value(j) < 0 || json_integer_value(j) > APPROVAL_TIMEOUT_MAX_SEC)
                        return config_error(ret_error, source, ep, "must be an integer from 0 to %d (seconds; 0: none)",
                                            APPROVAL_TIMEOUT_MAX_SEC);
                *out[k] = (ConfigDuration) { .set = true, .usec = (usec_t) json_integer_value(j) * USEC_PER_SEC };
        }
        if (timeout->set && remind->set && remind->usec > 0 && remind->usec >= timeout->usec) {
                snprintf(ep, sizeof ep, "%s.remind_before", path);
                return config_error(ret_error, source, ep, timeout->usec == 0 ?
                                    "is set, but there is no \"approval_timeout\" to remind before" :
                                    "must be shorter than \"approval_timeout\"");
        }
        return 0;
}

/* A Unix group name as useradd(8) takes one: [a-z_][a-z0-9_-]*, an optional final '$'. */
static bool group_name_is_valid(const char *g) {
        size_t n = strlen(g);

        if (n == 0 || n > RUNBOOK_GROUP_NAME_MAX || !(g[0] == '_' || (g[0] >= 'a' && g[0] <= 'z')))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!(g[i] == '_' || g[i] == '-' || (g[i] >= 'a' && g[i] <= 'z') || (g[i] >= '0' && g[i] <= '9') ||
                      (g[i] == '$' && i == n - 1)))
                        return false;
        return true;
}

/* "approvers": a number (1 to 16), {"count": N, "groups": [...]} (each approver in one of the
 * groups) or {"from_each": [...]} (one approver from each group). */
static int parse_approvers(RunbookStep *s, json_t *j, const char *source, const char *ep, char **ret_error) {
        static const char *const keys[] = { "count", "groups", "from_each", NULL };
        char p[JSON_PATH_MAX + 16];
        json_t *list, *v;
        size_t i;
        int r;

        if (json_is_integer(j)) {
                if (json_integer_value(j) < 1 || json_integer_value(j) > RUNBOOK_APPROVERS_MAX)
                        return config_error(ret_error, source, ep, "must be an integer from 1 to %d", RUNBOOK_APPROVERS_MAX);
                s->approvers = (unsigned) json_integer_value(j);
                return 0;
        }
        if (!json_is_object(j))
                return config_error(ret_error, source, ep, "must be an integer from 1 to %d, {\"count\": N, \"groups\": "
                                    "[...]} or {\"from_each\": [...]}", RUNBOOK_APPROVERS_MAX);
        r = config_check_keys(j, keys, source, ep, ret_error);
        if (r < 0)
                return r;
        list = json_object_get(j, "from_each");
        if (list && (json_object_get(j, "count") || json_object_get(j, "groups")))
                return config_error(ret_error, source, ep, "\"from_each\" stands alone: one approver from each group "
                                    "(not with \"count\" or \"groups\")");
        if (!list) {
                v = json_object_get(j, "count");
                snprintf(p, sizeof p, "%s.count", ep);
                if (!v)
                        return config_error(ret_error, source, ep, "missing key 'count' (with \"groups\"), or "
                                            "\"from_each\"");
                if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > RUNBOOK_APPROVERS_MAX)
                        return config_error(ret_error, source, p, "must be an integer from 1 to %d", RUNBOOK_APPROVERS_MAX);
                s->approvers = (unsigned) json_integer_value(v);
                list = json_object_get(j, "groups");
                if (!list)
                        return config_error(ret_error, source, ep, "missing key 'groups' (the Unix groups an approver "
                                            "must be in; a plain number needs no object)");
                snprintf(p, sizeof p, "%s.groups", ep);
        } else {
                snprintf(p, sizeof p, "%s.from_each", ep);
                s->approvers_from_each = true;
        }
        if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > RUNBOOK_APPROVERS_MAX)
                return config_error(ret_error, source, p, "must be a list of 1 to %d Unix group names", RUNBOOK_APPROVERS_MAX);
        s->approver_groups = calloc(json_array_size(list), sizeof(char *));
        if (!s->approver_groups)
                return -ENOMEM;
        json_array_foreach(list, i, v) {
                char pi[JSON_PATH_MAX + 40];
                const char *g = json_string_value(v);

                snprintf(pi, sizeof pi, "%s[%zu]", p, i);
                if (!g || !group_name_is_valid(g))
                        return config_error(ret_error, source, pi, "must be a Unix group name ([a-z_][a-z0-9_-]*, at most "
                                            "%d characters)", RUNBOOK_GROUP_NAME_MAX);
                for (size_t k = 0; k < s->n_approver_groups; k++)
                        if (streq(s->approver_groups[k], g))
                                return config_error(ret_error, source, pi, "group '%s' is listed twice", g);
                s->approver_groups[s->n_approver_groups] = strdup(g);
                if (!s->approver_groups[s->n_approver_groups])
                        return -ENOMEM;
                s->n_approver_groups++;
        }
        if (s->approvers_from_each)
                s->approvers = (unsigned) s->n_approver_groups;
        return 0;
}

static int parse_step(Runbook *rb, RunbookStep *s, StepPhase phase, json_t *v, const char *source,
                      const char *path, char **ret_error) {
        const char *id, *name, *run, *approval, *target, *on_failure;
        char ep[JSON_PATH_MAX];
        json_t *j;
        int r;

        s->phase = phase;
        if (!json_is_object(v))
                return config_error(ret_error, source, path, "must be an object");
        r = config_check_keys(v, step_keys, source, path, ret_error);
        if (r < 0)
                return r;
        if ((r = get_string(v, "id", source, path, &id, ret_error)) < 0 ||
            (r = get_string(v, "on_failure", source, path, &on_failure, ret_error)) < 0 ||
            (r = get_string(v, "name", source, path, &name, ret_error)) < 0 ||
            (r = get_string(v, "run", source, path, &run, ret_error)) < 0 ||
            (r = get_string(v, "approval", source, path, &approval, ret_error)) < 0 ||
            (r = get_string(v, "target", source, path, &target, ret_error)) < 0)
                return r;

        if (id) {
                snprintf(ep, sizeof ep, "%s.id", path);
                if (!runbook_step_id_is_valid(id))
                        return config_error(ret_error, source, ep,
                                            "must match ^[a-z0-9_-]+$ (at most %d characters)", RUNBOOK_STEP_ID_MAX);
                /* the steps before this one are parsed already */
                for (RunbookStep *o = rb->steps; o < s; o++)
                        if (streq_ptr(o->id, id))
                                return config_error(ret_error, source, ep, "id '%s' is already the id of %s step '%s'",
                                                    id, step_phase_to_string(o->phase), o->name);
        }

        if (!name)
                return config_error(ret_error, source, path, "missing required key 'name'");
        snprintf(ep, sizeof ep, "%s.name", path);
        if (isempty(name))
                return config_error(ret_error, source, ep, "must be a non-empty string");
        if (strlen(name) > STEP_NAME_MAX || !utf8_is_printable_text(name, STEP_NAME_MAX) || strchr(name, '\n'))
                return config_error(ret_error, source, ep,
                                    "must be printable text on one line, at most %d bytes", STEP_NAME_MAX);

        if (!run)
                return config_error(ret_error, source, path, "missing required key 'run'");
        snprintf(ep, sizeof ep, "%s.run", path);
        if (isempty(run))
                return config_error(ret_error, source, ep, "must be a non-empty string");
        if (!utf8_is_printable_text(run, RUNBOOK_FILE_SIZE_MAX))
                return config_error(ret_error, source, ep, "must be printable UTF-8 text");
        r = check_template(rb, s, run, source, ep, ret_error);
        if (r < 0)
                return r;

        j = json_object_get(v, "when");
        if (j) {
                snprintf(ep, sizeof ep, "%s.when", path);
                if (!config_json_string(j) || isempty(json_string_value(j)))
                        return config_error(ret_error, source, ep, "must be a non-empty string (an expression)");
                r = check_when(rb, s, json_string_value(j), source, ep, ret_error);
                if (r < 0)
                        return r;
        }

        j = json_object_get(v, "capture");
        if (j) {
                snprintf(ep, sizeof ep, "%s.capture", path);
                r = capture_specs_from_json(j, source, ep, &s->captures, &s->n_captures, ret_error);
                if (r < 0)
                        return r;
        }

        s->requires_approval = true;
        if (approval) {
                snprintf(ep, sizeof ep, "%s.approval", path);
                if (streq(approval, "none"))
                        s->requires_approval = false;
                else if (!streq(approval, "required"))
                        return config_error(ret_error, source, ep, "must be \"required\" or \"none\"");
        }

        if (target) {
                snprintf(ep, sizeof ep, "%s.target", path);
                if (!config_name_is_valid(target))
                        return config_error(ret_error, source, ep, "invalid target name '%s'", target);
        }

        s->timeout_usec = STEP_TIMEOUT_DEFAULT_SEC * USEC_PER_SEC;
        j = json_object_get(v, "timeout");
        if (j) {
                snprintf(ep, sizeof ep, "%s.timeout", path);
                if (!json_is_integer(j) || json_integer_value(j) <= 0)
                        return config_error(ret_error, source, ep, "must be a positive integer (seconds)");
                if (json_integer_value(j) > STEP_TIMEOUT_MAX_SEC)
                        return config_error(ret_error, source, ep, "must be at most %d seconds (7 days)",
                                            STEP_TIMEOUT_MAX_SEC);
                s->timeout_usec = (usec_t) json_integer_value(j) * USEC_PER_SEC;
        }

        j = json_object_get(v, "expect_exit");
        if (j) {
                snprintf(ep, sizeof ep, "%s.expect_exit", path);
                if (!json_is_integer(j) || json_integer_value(j) < 0 || json_integer_value(j) > 255)
                        return config_error(ret_error, source, ep, "must be an integer from 0 to 255");
                s->expect_exit = (int) json_integer_value(j);
        }

        if (on_failure) {
                snprintf(ep, sizeof ep, "%s.on_failure", path);
                if (streq(on_failure, "continue"))
                        s->continue_on_failure = true;
                else if (!streq(on_failure, "stop"))
                        return config_error(ret_error, source, ep, "must be \"stop\" or \"continue\"");
        }

        j = json_object_get(v, "retries");
        if (j) {
                snprintf(ep, sizeof ep, "%s.retries", path);
                if (!json_is_integer(j) || json_integer_value(j) < 0 || json_integer_value(j) > STEP_RETRIES_MAX)
                        return config_error(ret_error, source, ep, "must be an integer from 0 to %d (failed attempts "
                                            "retried by themselves)", STEP_RETRIES_MAX);
                s->retries = (unsigned) json_integer_value(j);
        }
        j = json_object_get(v, "retry_delay");
        if (j) {
                snprintf(ep, sizeof ep, "%s.retry_delay", path);
                if (!json_is_integer(j) || json_integer_value(j) < 0 ||
                    (usec_t) json_integer_value(j) > STEP_RETRY_DELAY_MAX_USEC / USEC_PER_SEC)
                        return config_error(ret_error, source, ep, "must be an integer from 0 to %llu (seconds)",
                                            (unsigned long long) (STEP_RETRY_DELAY_MAX_USEC / USEC_PER_SEC));
                if (s->retries == 0)
                        return config_error(ret_error, source, ep, "is set, but the step has no \"retries\"");
                s->retry_delay_usec = (usec_t) json_integer_value(j) * USEC_PER_SEC;
        }

        r = parse_deadlines(v, &s->approval_timeout, &s->remind_before, &s->approval_valid_for, source, path, ret_error);
        if (r < 0)
                return r;
        if (!s->requires_approval && (s->approval_timeout.set || s->remind_before.set || s->approval_valid_for.set)) {
                snprintf(ep, sizeof ep, "%s.%s", path, s->approval_timeout.set ? "approval_timeout" :
                         s->remind_before.set ? "remind_before" : "approval_valid_for");
                return config_error(ret_error, source, ep, "is set, but the step needs no approval (\"approval\": \"none\")");
        }

        s->approvers = 1;
        j = json_object_get(v, "approvers");
        if (j) {
                snprintf(ep, sizeof ep, "%s.approvers", path);
                r = parse_approvers(s, j, source, ep, ret_error);
                if (r < 0)
                        return r;
                if (!s->requires_approval && (s->approvers > 1 || s->n_approver_groups > 0))
                        return config_error(ret_error, source, ep, s->n_approver_groups > 0 ?
                                            "approver groups require \"approval\": \"required\"" :
                                            "more than one approver requires \"approval\": \"required\"");
        }

        s->name = strdup(name);
        s->run = strdup(run);
        s->target = strdup(target ?: rb->target ?: "local");
        if (!s->name || !s->run || !s->target || strdup_opt(id, &s->id) < 0)
                return -ENOMEM;
        return 0;
}

/* "lock": a template over the parameters (lock-name.h) */
static int parse_lock(Runbook *rb, json_t *doc, const char *source, char **ret_error) {
        _cleanup_free_ char **names = NULL, *problem = NULL;
        json_t *v = json_object_get(doc, "lock");
        size_t offset = 0;
        int r;

        if (!v)
                return 0;
        if (!json_is_string(v))
                return config_error(ret_error, source, "$.lock", "must be a string: a lock name, which may use {{parameter}} "
                                    "(e.g. \"db-{{cluster}}\")");
        names = calloc(rb->n_params + 1, sizeof(char *));
        if (!names)
                return -ENOMEM;
        size_t n = 0;
        for (size_t i = 0; i < rb->n_params; i++) {
                /* a lock's name is shown, stored and journaled: never a secret's value */
                if (rb->params[i].secret) {
                        const char *p = json_string_value(v), *start, *end, *name;
                        size_t len;
                        while (template_next(p, &start, &end, &name, &len) > 0) {
                                if (len == strlen(rb->params[i].name) && strncmp(name, rb->params[i].name, len) == 0)
                                        return config_error(ret_error, source, "$.lock", "at offset %zu: {{%s}} is a "
                                                            "secret parameter, which cannot name a lock",
                                                            (size_t) (start - json_string_value(v)), rb->params[i].name);
                                p = end;
                        }
                        continue;
                }
                names[n++] = rb->params[i].name;
        }
        r = lock_template_check(json_string_value(v), names, n, &offset, &problem);
        if (r == -EINVAL)
                return config_error(ret_error, source, "$.lock", "at offset %zu: %s", offset, problem);
        if (r < 0)
                return r;
        rb->lock = strdup(json_string_value(v));
        return rb->lock ? 0 : -ENOMEM;
}

int runbook_from_json(json_t *doc, const char *name, const char *source, Runbook **ret, char **ret_error) {
        _cleanup_(runbook_freep) Runbook *rb = NULL;
        const char *description, *target, *key;
        json_t *params, *lists[_PHASE_MAX], *v;
        size_t n_steps = 0;
        int r;

        if (!source)
                source = name;
        if (!config_name_is_valid(name))
                return config_error(ret_error, source, "$", "invalid runbook name '%s'", strna(name));
        if (!json_is_object(doc))
                return config_error(ret_error, source, "$", "must be a JSON object");
        r = config_check_keys(doc, runbook_keys, source, "$", ret_error);
        if (r < 0)
                return r;

        rb = calloc(1, sizeof *rb);
        if (!rb)
                return -ENOMEM;
        rb->name = strdup(name);
        rb->file = strdup(source);
        if (!rb->name || !rb->file)
                return -ENOMEM;

        if ((r = get_string(doc, "description", source, "$", &description, ret_error)) < 0 ||
            (r = get_string(doc, "target", source, "$", &target, ret_error)) < 0)
                return r;
        if (strdup_opt(description, &rb->description) < 0)
                return -ENOMEM;
        if (target) {
                if (!config_name_is_valid(target))
                        return config_error(ret_error, source, "$.target", "invalid target name '%s'", target);
                rb->target = strdup(target);
                if (!rb->target)
                        return -ENOMEM;
        }

        r = parse_deadlines(doc, &rb->approval_timeout, &rb->remind_before, &rb->approval_valid_for, source, "$",
                            ret_error);
        if (r < 0)
                return r;
        /* read again from the session's snapshot of the document (engine_break_glass()) */
        if (json_object_get(doc, "break_glass") && !json_is_boolean(json_object_get(doc, "break_glass")))
                return config_error(ret_error, source, "$.break_glass", "must be true or false (false: no step of this "
                                    "runbook may run by break-glass)");

        params = json_object_get(doc, "parameters");
        if (params) {
                if (!json_is_object(params))
                        return config_error(ret_error, source, "$.parameters", "must be an object");
                if (json_object_size(params) > RUNBOOK_PARAMS_MAX)
                        return config_error(ret_error, source, "$.parameters",
                                            "too many parameters (maximum %d)", RUNBOOK_PARAMS_MAX);
                rb->params = calloc(json_object_size(params) ?: 1, sizeof(RunbookParam));
                if (!rb->params)
                        return -ENOMEM;
                json_object_foreach(params, key, v) {
                        /* counted before parsing, so that a half-parsed parameter is freed too */
                        r = parse_param(&rb->params[rb->n_params++], key, v, source, ret_error);
                        if (r >= 0 && rb->params[rb->n_params - 1].secret)
                                for (size_t i = 0; i + 1 < rb->n_params; i++)
                                        if (rb->params[i].secret && strcasecmp(rb->params[i].name, key) == 0) {
                                                _cleanup_free_ char *path = config_path_key("$.parameters", key);
                                                return config_error(ret_error, source, strna(path),
                                                                    "secret parameters '%s' and '%s' would have the same "
                                                                    "environment variable", rb->params[i].name, key);
                                        }
                        if (r < 0)
                                return r;
                }
        }

        r = parse_lock(rb, doc, source, ret_error);
        if (r < 0)
                return r;
        /* "windows": read again from the session's snapshot when a step is to run (engine-window.c) */
        r = change_windows_check(doc, source, ret_error);
        if (r < 0)
                return r;

        for (StepPhase p = 0; p < _PHASE_MAX; p++) {
                char path[JSON_PATH_MAX];

                snprintf(path, sizeof path, "$.%s", step_phase_key[p]);
                lists[p] = json_object_get(doc, step_phase_key[p]);
                if (lists[p] && !json_is_array(lists[p]))
                        return config_error(ret_error, source, path, "must be an array of steps");
                n_steps += json_array_size(lists[p]);
                if (n_steps > RUNBOOK_STEPS_MAX)
                        return config_error(ret_error, source, path, "too many steps (maximum %d in all)",
                                            RUNBOOK_STEPS_MAX);
                if (p == PHASE_POSTCHECK && n_steps == 0)
                        return config_error(ret_error, source, "$",
                                            "the runbook has no steps (\"prechecks\", \"steps\" and \"postchecks\" are all empty)");
        }

        rb->steps = calloc(n_steps, sizeof(RunbookStep));
        if (!rb->steps)
                return -ENOMEM;
        for (StepPhase p = 0; p < _PHASE_MAX; p++) {
                size_t i;

                json_array_foreach(lists[p], i, v) {
                        char path[STEP_PATH_MAX];

                        snprintf(path, sizeof path, "$.%s[%zu]", step_phase_key[p], i);
                        r = parse_step(rb, &rb->steps[rb->n_steps++], p, v, source, path, ret_error);
                        if (r < 0)
                                return r;
                }
        }

        rb->json = json_deep_copy(doc);
        if (!rb->json)
                return -ENOMEM;
        *ret = TAKE_PTR(rb);
        return 0;
}

int runbook_load_file(const char *path, const char *name, Runbook **ret, char **ret_error) {
        _cleanup_(json_decrefp) json_t *doc = NULL;
        int r;

        r = config_json_load_file(path, RUNBOOK_FILE_SIZE_MAX, &doc, ret_error);
        if (r < 0)
                return r;
        return runbook_from_json(doc, name, path, ret, ret_error);
}

/* "a, b, c", or NULL on OOM. */
static char *runbook_param_list(const Runbook *rb) {
        size_t n = 1;
        char *s;

        for (size_t i = 0; i < rb->n_params; i++)
                n += strlen(rb->params[i].name) + 2;
        s = malloc(n);
        if (!s)
                return NULL;
        s[0] = 0;
        for (size_t i = 0; i < rb->n_params; i++) {
                if (i > 0)
                        strcat(s, ", ");
                strcat(s, rb->params[i].name);
        }
        return s;
}

static int bind_error(char **ret_error, const char *fmt, ...) _printf_(2, 3);
static int bind_error(char **ret_error, const char *fmt, ...) {
        va_list ap;
        int r;

        if (!ret_error)
                return -EINVAL;
        va_start(ap, fmt);
        r = vasprintf_safe(ret_error, fmt, ap);
        va_end(ap);
        if (r < 0)
                return r;
        return -EINVAL;
}

int runbook_bind_parameters(const Runbook *rb, json_t *given, RunbookCredentialOwnFunc own, void *userdata,
                            json_t **ret, char **ret_error) {
        _cleanup_(config_json_wipe_decrefp) json_t *bound = NULL;   /* copies of secret values, maybe */
        const char *key;
        json_t *v;
        int r;

        if (given && !json_is_object(given))
                return bind_error(ret_error, "parameters must be a JSON object of strings");

        json_object_foreach(given, key, v) {
                _cleanup_free_ char *list = NULL;

                if (runbook_find_param(rb, key))
                        continue;
                if (!param_name_is_valid(key))
                        return bind_error(ret_error, "invalid parameter name (must match [A-Za-z_][A-Za-z0-9_]{0,63})");
                if (rb->n_params == 0)
                        return bind_error(ret_error, "unknown parameter '%s' (runbook '%s' takes no parameters)",
                                          key, rb->name);
                list = runbook_param_list(rb);
                if (!list)
                        return -ENOMEM;
                return bind_error(ret_error, "unknown parameter '%s' (runbook '%s' takes: %s)", key, rb->name, list);
        }

        bound = json_object();
        if (!bound)
                return -ENOMEM;
        for (size_t i = 0; i < rb->n_params; i++) {
                const RunbookParam *p = &rb->params[i];
                _cleanup_free_ char *problem = NULL;
                json_t *value = json_object_get(given, p->name);

                if (!value) {
                        if (!p->default_value)
                                return bind_error(ret_error, "parameter '%s' is required", p->name);
                        if (json_object_set_new(bound, p->name, json_string(p->default_value)) < 0)
                                return -ENOMEM;
                        continue;
                }
                r = param_value_problem(p, value, &problem);
                if (r < 0)
                        return r;
                if (r > 0)
                        return bind_error(ret_error, "parameter '%s': %s", p->name, problem);
                /* a caller names only the credentials the runbook lets it, and never one of
                 * runbookd's own (targets', notification sinks'): those are not theirs to send
                 * anywhere, even under a pattern as wide as "*" */
                if (p->secret && secret_is_credential_ref(json_string_value(value))) {
                        const char *cred = json_string_value(value) + strlen(SECRET_CRED_PREFIX);
                        bool ok = false;
                        for (char **pat = p->credentials; pat && *pat && !ok; pat++)
                                ok = fnmatch(*pat, cred, 0) == 0;
                        if (ok && own && own(cred, userdata))
                                ok = false;
                        if (!ok)
                                return bind_error(ret_error, "parameter '%s': credential '%s' is not one this parameter "
                                                  "may name (the runbook's \"credentials\" for it%s)", p->name, cred,
                                                  p->credentials ? "" : ": none");
                }
                if (json_object_set_new(bound, p->name, json_string(json_string_value(value))) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(bound);
        return 0;
}

RunbookCatalog *runbook_catalog_free(RunbookCatalog *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_runbooks; i++)
                runbook_free(c->runbooks[i]);
        free(c->runbooks);
        config_broken_free_many(c->broken, c->n_broken);
        free(c);
        return NULL;
}

/* A ConfigLoadFunc */
static int runbook_load_item(const char *path, const char *name, void **ret, char **ret_error) {
        Runbook *rb = NULL;
        int r;

        r = runbook_load_file(path, name, &rb, ret_error);
        *ret = rb;
        return r;
}

int runbook_catalog_load(const char *vendor_dir, const char *config_dir, RunbookCatalog **ret) {
        _cleanup_(runbook_catalog_freep) RunbookCatalog *c = NULL;
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        r = config_dir_load(vendor_dir, config_dir, "runbooks", "runbook", runbook_load_item,
                            (void ***) &c->runbooks, &c->n_runbooks, &c->broken, &c->n_broken);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

/* config_find_by_name() reads the name as the first member */
_Static_assert(offsetof(Runbook, name) == 0, "Runbook.name must come first");

const Runbook *runbook_catalog_find(const RunbookCatalog *c, const char *name) {
        return config_find_by_name((void *const *) c->runbooks, c->n_runbooks, name);
}

const RunbookBroken *runbook_catalog_find_broken(const RunbookCatalog *c, const char *name) {
        return config_broken_find(c->broken, c->n_broken, name);
}
