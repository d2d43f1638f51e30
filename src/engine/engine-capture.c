/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* engine-capture.c: values passed between steps. A step's "capture" takes named values from its
 * stdout when it succeeds (or fails the step, saying which value and why); a later step's
 * {{steps.ID.NAME}} are substituted when that step is reached, before anyone approves it, so its
 * Command and Digest show the real values. Both read the step's document from the runbook as the
 * session has it (its snapshot), so a Reload changes nothing of a session under way. */

#include "config/capture.h"
#include "config/expr.h"
#include "config/runbook.h"
#include "config/template.h"
#include "engine/engine-internal.h"
#include "shared/log.h"

/* The step's document in the session's snapshot of its runbook (the steps are in phase order). */
static json_t *step_document(const Step *st) {
        const Session *s = st->session;
        size_t first = 0;

        while (first < s->n_steps && s->steps[first].phase != st->phase)
                first++;
        if (st->index < first)
                return NULL;
        return json_array_get(json_object_get(s->snapshot, runbook_phase_key(st->phase)), st->index - first);
}

int engine_step_take_captures(Step *st, ConnectorJob *job, char **ret_error) {
        _cleanup_(json_decrefp) json_t *values = NULL;
        _cleanup_free_ uint8_t *out = NULL;
        CaptureSpec *specs = NULL;
        json_t *doc = json_object_get(step_document(st), "capture");
        size_t n_specs = 0, n = 0;
        int r;

        *ret_error = NULL;
        if (!doc)
                return 0;
        r = capture_specs_from_json(doc, NULL, "capture", &specs, &n_specs, ret_error);
        if (r < 0)
                return r == -ENOMEM ? r : 1;
        if (job && step_rt(st)->output_unmaskable) {
                r = asprintf_safe(ret_error, "cannot capture: runbookd could not get the secret parameters' values "
                                  "again after a restart to mask the output, so none of it was kept") < 0 ? -ENOMEM : 1;
                goto finish;
        }
        if (!job || job->output[0].truncated) {
                r = asprintf_safe(ret_error, "cannot capture: stdout was longer than the output cap (%zu bytes), and a capture needs all "
                                  "of it", job ? job->output[0].cap : 0) < 0 ? -ENOMEM : 1;
                goto finish;
        }
        r = output_capture_get(&job->output[0], &out, &n);
        values = json_object();
        if (r < 0 || !values) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t i = 0; i < n_specs; i++) {
                _cleanup_free_ char *value = NULL, *problem = NULL;

                r = capture_extract(&specs[i], (const char *) out, n, &value, &problem);
                if (r < 0)
                        goto finish;
                if (r > 0) {
                        r = asprintf_safe(ret_error, "capture '%s': %s", specs[i].name, problem) < 0 ? -ENOMEM : 1;
                        goto finish;
                }
                if (json_object_set_new(values, specs[i].name, json_string(value)) < 0) {
                        r = -ENOMEM;
                        goto finish;
                }
        }
        json_decref(st->captured);
        st->captured = TAKE_PTR(values);
        r = 0;
finish:
        capture_specs_free(specs, n_specs);
        return r;
}

/* The 'run' template of the step, if it refers to values of earlier steps. */
static const char *step_template_with_refs(const Step *st) {
        const char *run = json_string_value(json_object_get(step_document(st), "run")), *p = run, *start, *end, *name;
        size_t len;

        while (p && template_next(p, &start, &end, &name, &len) > 0) {
                if (template_step_ref(name, len, NULL, NULL, NULL, NULL))
                        return run;
                p = end;
        }
        return NULL;
}

/* Why a {{steps.ID.NAME}} of 'run' has no value: the first such reference whose step has not
 * captured it, and that step's state. */
static int missing_value(const Session *s, const char *run, char **ret_error) {
        const char *p = run, *start, *end, *name, *id, *vname;
        size_t len, id_len, vlen;

        while (template_next(p, &start, &end, &name, &len) > 0) {
                char vbuf[TEMPLATE_STEP_ID_MAX + 1];

                p = end;
                if (!template_step_ref(name, len, &id, &id_len, &vname, &vlen) || vlen >= sizeof vbuf)
                        continue;
                memcpy(vbuf, vname, vlen);
                vbuf[vlen] = 0;
                for (size_t i = 0; i < s->n_steps; i++) {
                        const Step *o = &s->steps[i];
                        if (!o->id || strlen(o->id) != id_len || strncmp(o->id, id, id_len) != 0)
                                continue;
                        if (json_is_string(json_object_get(o->captured, vbuf)))
                                break;
                        return asprintf_safe(ret_error, "'{{%.*s}}' has no value: step %u (%s) is %s and did not capture it",
                                             (int) len, name, o->index, o->name, step_state_to_string(o->state)) < 0
                               ? -ENOMEM : 1;
                }
        }
        return asprintf_safe(ret_error, "a value this step refers to is missing") < 0 ? -ENOMEM : 1;
}

int engine_step_render(Step *st, char **ret_error) {
        _cleanup_(json_decrefp) json_t *steps = NULL;
        _cleanup_free_ char *command = NULL, *digest = NULL;
        Session *s = st->session;
        Engine *e = session_engine(s);
        const char *run = step_template_with_refs(st);
        const Target *t;
        int r;

        *ret_error = NULL;
        if (!run)
                return 0;
        steps = json_object();
        if (!steps)
                return -ENOMEM;
        for (size_t i = 0; i < st->index; i++) {
                const Step *o = &s->steps[i];
                if (o->id && o->captured && json_object_set(steps, o->id, o->captured) < 0)
                        return -ENOMEM;
        }
        r = template_render_steps(run, s->parameters, steps, false, &command);
        if (r == -ENXIO)
                return missing_value(s, run, ret_error);
        if (r < 0)
                return r;

        free(st->command);
        st->command = TAKE_PTR(command);
        /* the digest an approval binds to covers the command with its values */
        t = e->targets ? target_catalog_find(e->targets, st->target) : NULL;
        if (t && step_digest_now(e, st, t, &digest) >= 0) {
                free(st->digest);
                st->digest = TAKE_PTR(digest);
        }
        step_rt(st)->dirty = true;
        return 0;
}

/* ---- conditions ("when") ---- */

typedef struct WhenLookup {
        const Step *st;
        char number[16];
} WhenLookup;

static const Step *step_with_id_before(const Step *st, const char *id) {
        for (size_t i = 0; i < st->index; i++)
                if (streq_ptr(st->session->steps[i].id, id))
                        return &st->session->steps[i];
        return NULL;
}

static int when_lookup(const ExprRef *ref, void *userdata, const char **ret_value) {
        WhenLookup *w = userdata;
        const Step *o;

        switch (ref->kind) {
        case EXPR_REF_PARAM:
                *ret_value = json_string_value(json_object_get(w->st->session->parameters, ref->name));
                break;
        case EXPR_REF_STEP_VALUE:
                o = step_with_id_before(w->st, ref->step);
                *ret_value = o ? json_string_value(json_object_get(o->captured, ref->name)) : NULL;
                break;
        case EXPR_REF_STEP_EXIT_STATUS:
                o = step_with_id_before(w->st, ref->step);
                if (!o || o->exit_status < 0)
                        return 0;   /* it did not run, or did not exit (killed, timed out) */
                (void) snprintf(w->number, sizeof w->number, "%d", o->exit_status);
                *ret_value = w->number;
                break;
        default:
                return -EINVAL;
        }
        return *ret_value ? 1 : 0;
}

int engine_step_condition(Step *st, bool *ret_run, char **ret_reason, json_t **ret_seen) {
        _cleanup_(json_decrefp) json_t *seen = NULL;
        _cleanup_(expr_freep) Expr *e = NULL;
        char error[EXPR_ERROR_MAX];
        WhenLookup w = { .st = st };
        bool value = false;
        int r;

        *ret_run = true;
        *ret_reason = NULL;
        *ret_seen = NULL;
        if (!st->when)
                return 0;
        seen = json_object();
        if (!seen)
                return -ENOMEM;
        r = expr_parse(st->when, &e, error, sizeof error);
        if (r >= 0)
                r = expr_eval(e, when_lookup, &w, seen, &value, error, sizeof error);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                /* never a guess: an expression that cannot be evaluated fails the step */
                *ret_seen = TAKE_PTR(seen);
                return asprintf_safe(ret_reason, "its condition \"%s\" cannot be evaluated: %s", st->when, error) < 0
                       ? -ENOMEM : 1;
        }
        *ret_run = value;
        if (!value) {
                _cleanup_free_ char *values = json_dumps(seen, JSON_COMPACT | JSON_SORT_KEYS);
                if (asprintf_safe(ret_reason, "skipped: its condition \"%s\" is false (values: %s)", st->when,
                                  strna(values)) < 0)
                        return -ENOMEM;
        }
        *ret_seen = TAKE_PTR(seen);
        return 0;
}
