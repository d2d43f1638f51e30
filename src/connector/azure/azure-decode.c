/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* azure-decode.c: reading Azure's answers (azure-decode.h). Everything here is a function of the
 * document: what to do about it is the connector's (azure.c, azure-managed.c, azure-action.c,
 * azure-auth.c, azure-check.c). */

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connector/azure/azure-decode.h"
#include "shared/macro.h"

void azure_arm_error(json_t *body, const char **ret_code, const char **ret_message) {
        json_t *e = json_object_get(body, "error");

        *ret_code = strempty(json_string_value(json_object_get(e, "code")));
        *ret_message = strempty(json_string_value(json_object_get(e, "message")));
}

char *azure_forbidden_action(const char *message) {
        const char *p = strstr(strempty(message), "action '");

        if (!p)
                return NULL;
        p += strlen("action '");
        return strndup(p, strcspn(p, "'"));
}

const char *azure_power_state(json_t *body, const char **ret_display) {
        json_t *statuses = json_object_get(body, "statuses"), *s;
        const char *power = NULL, *display = NULL;
        size_t i;

        json_array_foreach(statuses, i, s) {
                const char *code = json_string_value(json_object_get(s, "code"));
                if (code && strncasecmp(code, "PowerState/", 11) == 0) {
                        power = code + 11;
                        display = json_string_value(json_object_get(s, "displayStatus"));
                }
        }
        if (ret_display)
                *ret_display = display;
        return power;
}

bool azure_action_matches(const char *p, const char *s) {
        const char *star = NULL, *resume = NULL;

        /* glob with '*' only, case-insensitive (ASCII), backtracking to the last star */
        while (*s) {
                if (*p == '*') {
                        star = p++;
                        resume = s;
                } else if (*p && tolower((unsigned char) *p) == tolower((unsigned char) *s)) {
                        p++;
                        s++;
                } else if (star) {
                        p = star + 1;
                        s = ++resume;
                } else
                        return false;
        }
        while (*p == '*')
                p++;
        return *p == 0;
}

static const char *first_match(json_t *patterns, const char *action) {
        json_t *v;
        size_t i;

        json_array_foreach(patterns, i, v) {
                const char *pat = json_string_value(v);
                if (pat && azure_action_matches(pat, action))
                        return pat;
        }
        return NULL;
}

bool azure_permitted(json_t *permissions, const char *action, const char **ret_not_pattern) {
        const char *not_pattern = NULL;
        json_t *e;
        size_t i;

        json_array_foreach(permissions, i, e) {
                if (!first_match(json_object_get(e, "actions"), action))
                        continue;
                const char *n = first_match(json_object_get(e, "notActions"), action);
                if (!n) {
                        if (ret_not_pattern)
                                *ret_not_pattern = NULL;
                        return true;
                }
                not_pattern = not_pattern ?: n;
        }
        if (ret_not_pattern)
                *ret_not_pattern = not_pattern;
        return false;
}

/* ---------------------------------------------------------------- managed Run Command */

static bool state_is(const char *state, const char *what) {
        return state && strcasecmp(state, what) == 0;
}

/* The instance view's exit code, when it is one: an integer that fits an exit status (0…255) or
 * one of the handler's own negative codes (-1 killed, -100…: the handler failed). Anything else
 * is no exit code at all. */
static void exit_code_of(json_t *ec, AzRunView *v) {
        json_int_t n;

        v->has_exit_code = false;
        v->exit_code = 0;
        if (!ec || json_is_null(ec)) {
                v->exit_code_why = "missing";
                return;
        }
        if (!json_is_integer(ec)) {
                v->exit_code_why = "is not an integer";
                return;
        }
        n = json_integer_value(ec);
        if (n < -100000 || n > 255) {
                v->exit_code_why = "is out of range";
                return;
        }
        v->has_exit_code = true;
        v->exit_code = (int) n;
        v->exit_code_why = NULL;
}

void azure_run_view(json_t *body, AzRunView *ret) {
        json_t *props = json_object_get(body, "properties"), *iv = json_object_get(props, "instanceView");
        const char *prov = json_string_value(json_object_get(props, "provisioningState"));

        *ret = (AzRunView) {
                .state = json_string_value(json_object_get(iv, "executionState")),
                .message = json_string_value(json_object_get(iv, "executionMessage")),
        };
        if (ret->state && !state_is(ret->state, "Pending") && !state_is(ret->state, "Running") &&
            !state_is(ret->state, "Unknown")) {
                ret->kind = AZ_RUN_ENDED;
                ret->output = json_string_value(json_object_get(iv, "output"));
                ret->error = json_string_value(json_object_get(iv, "error"));
                exit_code_of(json_object_get(iv, "exitCode"), ret);
                return;
        }
        ret->kind = state_is(prov, "Failed") ? AZ_RUN_PROVISION_FAILED : AZ_RUN_GOING;
}

/* A finished run command is a success only when Azure says so plainly: executionState Succeeded
 * with exitCode 0. A script that exited non-zero is reported as Failed with that exit code (1…255),
 * which is recorded as the step's exit status. Every other combination — Failed or Succeeded
 * without an integer exit code, Failed with 0, Succeeded with another code, a state this code does
 * not know — is unclear: never an exit status 0 by default. */
AzVerdict azure_run_verdict(const AzRunView *v, bool at_deadline) {
        if (state_is(v->state, "TimedOut") ||
            (state_is(v->state, "Failed") && v->has_exit_code && v->exit_code == -1 && at_deadline))
                return AZ_VERDICT_TIMED_OUT;
        if (state_is(v->state, "Canceled"))
                return AZ_VERDICT_CANCELED;
        if (state_is(v->state, "Succeeded") && v->has_exit_code && v->exit_code == 0)
                return AZ_VERDICT_EXITED;
        if (state_is(v->state, "Failed") && v->has_exit_code && v->exit_code > 0)
                return AZ_VERDICT_EXITED;
        if (state_is(v->state, "Failed") && v->has_exit_code && v->exit_code < 0)
                return AZ_VERDICT_HANDLER_FAILED;
        return AZ_VERDICT_UNCLEAR;
}

/* ---------------------------------------------------------------- action Run Command */

/* The last occurrence of NEEDLE in [HAYSTACK, LIMIT) (it ends at or before LIMIT); NULL if none. */
static const char *find_last(const char *haystack, const char *limit, const char *needle) {
        size_t n = strlen(needle);
        const char *last = NULL;

        for (const char *p = strstr(haystack, needle); p && p + n <= limit; p = strstr(p + 1, needle))
                last = p;
        return last;
}

/* The wrapper ends stdout AND stderr with "\n<marker>=<status>\n". The exit status is read only
 * from the copy that ends the whole message (the end of stderr): whatever the script prints — a
 * marker on stdout or stderr, even with the run's name, even "[stderr]" headings — comes before
 * it, so it cannot stand in for it. The split between the streams is the LAST stdout copy of that
 * same marker before it. Without the marker (the script was killed on the VM) the streams are
 * split on the last "[stderr]" heading, and only the prefix Azure itself wrote (an older
 * extension's "Enable failed: … exit status=N") may say the exit status. */
int azure_run_message(const char *msg, const char *rc_name, AzRunResult *ret) {
        const char *out = strstr(msg, "\n[stdout]\n"), *err = NULL, *out_end, *err_end, *m;
        _cleanup_free_ char *marker = NULL, *line = NULL, *split = NULL;
        size_t raw_out, raw_err = 0;
        int exit_status = -1;

        *ret = (AzRunResult) { .exit_status = -1 };
        if (!out) {
                ret->problem = AZ_RESULT_NO_STDOUT;
                ret->message = msg;
                return 0;
        }
        out += strlen("\n[stdout]\n");
        err_end = out + strlen(out);
        if (asprintf_safe(&marker, "\n" AZURE_EXIT_MARKER "%s=", rc_name) < 0)
                return -ENOMEM;
        m = find_last(out, err_end, marker);
        if (m) {
                const char *d = m + strlen(marker);
                char *end;
                long v;

                errno = 0;
                v = (*d >= '0' && *d <= '9') ? strtol(d, &end, 10) : -1;
                if (v >= 0 && v <= 255 && errno == 0 && streq(end, "\n")) {
                        exit_status = (int) v;
                        err_end = m;
                } else
                        m = NULL;
        }
        if (m) {
                const char *s;

                if (asprintf_safe(&line, "\n" AZURE_EXIT_MARKER "%s=%d\n", rc_name, exit_status) < 0 ||
                    asprintf_safe(&split, "%s\n[stderr]\n", line) < 0)
                        return -ENOMEM;
                s = find_last(out, err_end, split);
                if (!s) {
                        ret->problem = AZ_RESULT_MALFORMED;
                        ret->out = out;
                        ret->n_out = (size_t) (err_end - out);
                        ret->out_truncated = ret->n_out >= AZURE_OUTPUT_TAIL;
                        return 0;
                }
                out_end = s;
                raw_out = (size_t) (s - out) + strlen(line);
                err = s + strlen(split);
                raw_err = (size_t) (err_end - err) + strlen(line);
        } else {
                exit_status = -1;
                err_end = out + strlen(out);
                for (const char *p = strstr(out, "\n[stderr]\n"); p; p = strstr(p + 1, "\n[stderr]\n"))
                        err = p;
                out_end = err ?: err_end;
                raw_out = (size_t) (out_end - out);
                if (err) {
                        err += strlen("\n[stderr]\n");
                        raw_err = (size_t) (err_end - err);
                }
                const char *es = strstr(msg, "exit status=");
                if (es && es < out) {
                        char *end;
                        long v;

                        errno = 0;
                        v = strtol(es + strlen("exit status="), &end, 10);
                        if (errno == 0 && end != es + strlen("exit status=") && v >= 0 && v <= 255)
                                exit_status = (int) v;
                }
        }

        ret->out = out;
        ret->n_out = (size_t) (out_end - out);
        ret->out_truncated = raw_out >= AZURE_OUTPUT_TAIL;
        if (err) {
                ret->err = err;
                ret->n_err = (size_t) (err_end - err);
                ret->err_truncated = raw_err >= AZURE_OUTPUT_TAIL;
        }
        ret->exit_status = exit_status;
        ret->problem = exit_status >= 0 ? AZ_RESULT_OK : AZ_RESULT_NO_EXIT;
        return 0;
}

/* RunCommandResult: {"value": [InstanceViewStatus…]}. Linux reports one status whose message
 * holds both streams; Windows one status per stream (codes …/StdOut/…, …/StdErr/…). */
int azure_run_result(json_t *value, const char *rc_name, AzRunResult *ret) {
        const char *out = NULL, *err = NULL, *linux_msg = NULL;
        json_t *s;
        size_t i;

        *ret = (AzRunResult) { .exit_status = -1 };
        if (!json_is_array(value) || json_array_size(value) == 0) {
                ret->problem = AZ_RESULT_NO_STATUS;
                return 0;
        }
        json_array_foreach(value, i, s) {
                const char *code = strempty(json_string_value(json_object_get(s, "code")));
                const char *msg = json_string_value(json_object_get(s, "message"));

                if (strcasestr(code, "/StdOut/"))
                        out = strempty(msg);
                else if (strcasestr(code, "/StdErr/"))
                        err = strempty(msg);
                else if (!linux_msg && msg)
                        linux_msg = msg;
        }
        if (linux_msg && !out)
                return azure_run_message(linux_msg, rc_name, ret);
        ret->problem = AZ_RESULT_TWO_STREAMS;
        ret->out = strempty(out);
        ret->n_out = strlen(ret->out);
        ret->out_truncated = ret->n_out >= AZURE_OUTPUT_TAIL;
        ret->err = strempty(err);
        ret->n_err = strlen(ret->err);
        ret->err_truncated = ret->n_err >= AZURE_OUTPUT_TAIL;
        return 0;
}

/* ---------------------------------------------------------------- the identity platform */

static usec_t json_seconds(json_t *v) {
        unsigned long long s = 0;

        if (json_is_integer(v))
                s = json_integer_value(v) > 0 ? (unsigned long long) json_integer_value(v) : 0;
        else if (json_is_string(v)) {
                const char *t = json_string_value(v);
                char *end;

                errno = 0;
                if (*t >= '0' && *t <= '9') {
                        s = strtoull(t, &end, 10);
                        if (errno != 0 || *end != 0)
                                s = 0;
                }
        }
        if (s == 0)
                return AZURE_TOKEN_LIFETIME_DEFAULT;
        /* compared before multiplying: a huge expires_in must not wrap around */
        return s >= AZURE_TOKEN_LIFETIME_MAX / USEC_PER_SEC ? AZURE_TOKEN_LIFETIME_MAX : (usec_t) s * USEC_PER_SEC;
}

int azure_token_response(json_t *body, const char **ret_token, usec_t *ret_lifetime) {
        const char *token = json_string_value(json_object_get(body, "access_token"));

        if (!token || !*token)
                return -EBADMSG;
        *ret_token = token;
        *ret_lifetime = json_seconds(json_object_get(body, "expires_in"));
        return 0;
}
