/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-azure: Azure's answers as the connector reads them (src/connector/azure/azure-decode.c).
 * The first byte of the input picks what the rest is:
 *   'v'  a managed run command's instance view (JSON): an exit status is taken only when Azure
 *        says so plainly (Succeeded with 0, Failed with 1…255), never by default;
 *   'r'  an action run's RunCommandResult (JSON), and 'm' its Linux message (text): the streams
 *        lie inside the message, in order, and an exit status is 0…255 or none;
 *   'w'  a round trip through runbookd's wrapper: stdout, a 0x00 byte, stderr, a 0x00 byte,
 *        the exit status byte; the message is built as the VM's extension builds it (each
 *        stream's last 4096 bytes, shared/azure-run-command.md §2.5), and reading it gives back
 *        the exit status, and the streams (or their tails, marked truncated), whatever they hold;
 *   'p'  the permissions API's entries (JSON), over the actions the connector needs: what is
 *        granted agrees with a plain reading of Azure's rule, and the '*' patterns match as
 *        a table-driven matcher says;
 *   't'  a token response (JSON): a token only when there is one, a lifetime in (0, 24 h];
 *   'e'  an ARM error document and a VM instance view (JSON): the power state and the action
 *        named by an AuthorizationFailed message come from inside the document. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connector/azure/azure-decode.h"
#include "fuzz.h"
#include "shared/tests.h"

#define RC_NAME "runbookd-7-0-fuzz"

static const char *const actions[] = {
        "Microsoft.Compute/virtualMachines/runCommands/write",
        "Microsoft.Compute/virtualMachines/runCommands/read",
        "Microsoft.Compute/virtualMachines/runCommand/action",
        "Microsoft.Compute/virtualMachines/read",
};

static bool inside(const char *p, size_t n, const char *base, size_t len) {
        return p >= base && p + n <= base + len;
}

static void check_result(const AzRunResult *r, const char *msg) {
        size_t len = msg ? strlen(msg) : 0;

        check(r->exit_status >= -1 && r->exit_status <= 255);
        check((r->problem == AZ_RESULT_OK) == (r->exit_status >= 0));
        if (!msg)
                return;
        if (r->out)
                check(inside(r->out, r->n_out, msg, len));
        if (r->err) {
                check(inside(r->err, r->n_err, msg, len));
                check(!r->out || r->err >= r->out + r->n_out);   /* stdout, then stderr */
        }
        check(!r->out_truncated || r->out);
}

static void fuzz_view(json_t *j) {
        AzRunView v;

        azure_run_view(j, &v);
        check(v.kind != AZ_RUN_ENDED || v.state);
        if (v.has_exit_code)
                check(v.exit_code >= -100000 && v.exit_code <= 255);
        else
                check(v.exit_code_why || v.kind != AZ_RUN_ENDED);
        if (v.kind != AZ_RUN_ENDED)
                return;
        for (int d = 0; d < 2; d++) {
                AzVerdict k = azure_run_verdict(&v, d);

                if (k == AZ_VERDICT_EXITED) {
                        check(v.has_exit_code);
                        check((strcasecmp(v.state, "Succeeded") == 0 && v.exit_code == 0) ||
                              (strcasecmp(v.state, "Failed") == 0 && v.exit_code >= 1 && v.exit_code <= 255));
                }
                if (k == AZ_VERDICT_HANDLER_FAILED)
                        check(v.has_exit_code && v.exit_code < 0);
        }
}

static void fuzz_result(json_t *j) {
        json_t *value = json_object_get(j, "value"), *s;
        AzRunResult r;
        size_t i;

        check(azure_run_result(value, RC_NAME, &r) == 0);
        check_result(&r, NULL);
        if (r.problem == AZ_RESULT_TWO_STREAMS) {
                check(r.out && r.err && r.exit_status == -1);
                return;
        }
        /* a Linux message's streams point into that message */
        json_array_foreach(value, i, s) {
                const char *m = json_string_value(json_object_get(s, "message"));
                if (m && r.out && r.out >= m && r.out <= m + strlen(m))
                        check_result(&r, m);
        }
}

static void fuzz_message(const char *msg) {
        AzRunResult r;

        check(azure_run_message(msg, RC_NAME, &r) == 0);
        check_result(&r, msg);
        if (r.problem == AZ_RESULT_NO_STDOUT)
                check(!strstr(msg, "\n[stdout]\n"));
}

/* TAIL(s, 4096), appended */
static char *append_tail(char *p, const char *s, size_t n) {
        if (n > AZURE_OUTPUT_TAIL) {
                s += n - AZURE_OUTPUT_TAIL;
                n = AZURE_OUTPUT_TAIL;
        }
        memcpy(p, s, n);
        return p + n;
}

static void fuzz_wrapper(const uint8_t *data, size_t size) {
        const uint8_t *z1 = memchr(data, 0, size), *z2;
        char line[64], *stream[2], *msg, *p;
        size_t n[2], full[2], nl;
        unsigned status;
        AzRunResult r;

        if (!z1)
                return;
        z2 = memchr(z1 + 1, 0, size - (size_t) (z1 + 1 - data));
        if (!z2 || z2 + 1 >= data + size)
                return;
        status = data[size - 1];
        n[0] = (size_t) (z1 - data);
        n[1] = (size_t) (z2 - z1 - 1);
        nl = (size_t) snprintf(line, sizeof line, "\n%s%s=%u\n", AZURE_EXIT_MARKER, RC_NAME, status);
        for (int k = 0; k < 2; k++) {
                full[k] = n[k] + nl;
                stream[k] = malloc(full[k] + 1);
                check(stream[k]);
                memcpy(stream[k], k == 0 ? (const char *) data : (const char *) z1 + 1, n[k]);
                memcpy(stream[k] + n[k], line, nl + 1);   /* what the wrapper prints last */
        }
        msg = malloc(64 + full[0] + full[1]);
        check(msg);
        p = stpcpy(msg, "Enable succeeded: \n[stdout]\n");
        p = append_tail(p, stream[0], full[0]);
        p = stpcpy(p, "\n[stderr]\n");
        p = append_tail(p, stream[1], full[1]);
        *p = 0;

        check(azure_run_message(msg, RC_NAME, &r) == 0);
        check_result(&r, msg);
        /* a script that prints the marker with the run's name (it has to know the name) may spoil the
         * split between the streams, never the exit status: that is read from the very end */
        if (!memmem(data, size, AZURE_EXIT_MARKER RC_NAME, strlen(AZURE_EXIT_MARKER RC_NAME))) {
                check(r.problem == AZ_RESULT_OK);
                check(r.exit_status == (int) status);
                for (int k = 0; k < 2; k++) {
                        const char *got = k == 0 ? r.out : r.err;
                        size_t got_n = k == 0 ? r.n_out : r.n_err;
                        bool trunc = k == 0 ? r.out_truncated : r.err_truncated;
                        size_t want = full[k] > AZURE_OUTPUT_TAIL ? AZURE_OUTPUT_TAIL - nl : n[k];

                        check(got && got_n == want);
                        check(memcmp(got, stream[k] + n[k] - want, want) == 0);   /* the stream's tail */
                        check(trunc == (full[k] >= AZURE_OUTPUT_TAIL));
                }
        } else if (r.problem == AZ_RESULT_OK)
                check(r.exit_status == (int) status);
        free(stream[0]);
        free(stream[1]);
        free(msg);
}

/* '*' matches any run of characters, case-insensitively, read another way: m[i][j] says whether
 * the first i characters of the pattern match the first j of the string (a table, not the
 * backtracking the connector uses; quadratic, where the obvious recursion is exponential) */
static bool glob_ref(const char *p, const char *s) {
        size_t np = strlen(p), ns = strlen(s);
        bool *m = calloc((np + 1) * (ns + 1), sizeof(bool)), r;

        check(m);
#define M(i, j) m[(i) * (ns + 1) + (j)]
        M(0, 0) = true;
        for (size_t i = 1; i <= np; i++)
                for (size_t j = 0; j <= ns; j++)
                        M(i, j) = p[i - 1] == '*' ? (M(i - 1, j) || (j > 0 && M(i, j - 1))) :
                                  j > 0 && M(i - 1, j - 1) &&
                                  tolower((unsigned char) p[i - 1]) == tolower((unsigned char) s[j - 1]);
        r = M(np, ns);
#undef M
        free(m);
        return r;
}

static bool list_matches(json_t *patterns, const char *action) {
        json_t *v;
        size_t i;

        json_array_foreach(patterns, i, v) {
                const char *pat = json_string_value(v);
                if (pat && strlen(pat) < 4096) {
                        check(azure_action_matches(pat, action) == glob_ref(pat, action));
                        if (azure_action_matches(pat, action))
                                return true;
                } else if (pat && azure_action_matches(pat, action))
                        return true;
        }
        return false;
}

static void fuzz_permissions(json_t *j) {
        json_t *value = json_object_get(j, "value"), *e;
        size_t i;

        for (size_t a = 0; a < sizeof actions / sizeof actions[0]; a++) {
                const char *not_pattern = NULL;
                bool granted = azure_permitted(value, actions[a], &not_pattern), want = false;

                json_array_foreach(value, i, e)
                        if (list_matches(json_object_get(e, "actions"), actions[a]) &&
                            !list_matches(json_object_get(e, "notActions"), actions[a]))
                                want = true;
                check(granted == want);
                check(!granted || !not_pattern);
                if (not_pattern)
                        check(azure_action_matches(not_pattern, actions[a]));
        }
}

static void fuzz_token(json_t *j) {
        const char *token = NULL;
        usec_t lifetime = 0;

        if (azure_token_response(j, &token, &lifetime) < 0)
                return;
        check(token && *token);
        check(lifetime > 0 && lifetime <= AZURE_TOKEN_LIFETIME_MAX);
}

static void fuzz_errors(json_t *j) {
        const char *code, *message, *display = NULL, *power;
        char *action;

        azure_arm_error(j, &code, &message);
        check(code && message);
        action = azure_forbidden_action(message);
        if (action)
                check(strstr(message, action) && !strchr(action, '\''));
        free(action);
        power = azure_power_state(j, &display);
        if (power)
                check(strncasecmp(power - 11, "PowerState/", 11) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *j;
        char *s;

        if (size < 1)
                return 0;
        switch (data[0]) {
        case 'm':
                s = fuzz_string(data + 1, size - 1);
                if (s)
                        fuzz_message(s);
                free(s);
                return 0;
        case 'w':
                fuzz_wrapper(data + 1, size - 1);
                return 0;
        case 'v': case 'r': case 'p': case 't': case 'e':
                break;
        default:
                return 0;
        }
        j = json_loadb((const char *) data + 1, size - 1, JSON_ALLOW_NUL, NULL);
        if (!j)
                return 0;
        switch (data[0]) {
        case 'v':
                fuzz_view(j);
                break;
        case 'r':
                fuzz_result(j);
                break;
        case 'p':
                fuzz_permissions(j);
                break;
        case 't':
                fuzz_token(j);
                break;
        case 'e':
                fuzz_errors(j);
                break;
        }
        json_decref(j);
        return 0;
}
