/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-azure-decode: reading Azure's answers (azure-decode.c), case by case. The fuzz target
 * tests/fuzz/fuzz-azure.c checks the same functions against invariants over any input. */
#undef NDEBUG
#include <string.h>

#include "connector/azure/azure-decode.h"
#include "shared/tests.h"

#define RC "runbookd-3-1-abc"

static AzRunResult message(const char *m) {
        AzRunResult r;

        check_int(azure_run_message(m, RC, &r), 0);
        return r;
}

/* An older extension's "Enable failed: … exit status=N" names the exit status only with digits
 * that fit one: "exit status=" followed by anything else was read as 0 (a success), and a number
 * above 255 was taken as it was. */
static void test_old_extension_prefix(void) {
        AzRunResult r;

        r = message("Enable failed: failed to execute command: command terminated with exit status=2\n[stdout]\nx\n[stderr]\ny");
        check_int(r.problem, AZ_RESULT_OK);
        check_int(r.exit_status, 2);
        check(r.n_out == 1 && r.out[0] == 'x' && r.n_err == 1 && r.err[0] == 'y');

        r = message("Enable failed: exit status=abc\n[stdout]\nx\n[stderr]\ny");
        check_int(r.problem, AZ_RESULT_NO_EXIT);
        check_int(r.exit_status, -1);
        r = message("Enable failed: exit status=\n[stdout]\nx\n[stderr]\ny");
        check_int(r.problem, AZ_RESULT_NO_EXIT);
        r = message("Enable failed: exit status=99999\n[stdout]\nx\n[stderr]\ny");
        check_int(r.problem, AZ_RESULT_NO_EXIT);
        r = message("Enable failed: exit status=-4\n[stdout]\nx\n[stderr]\ny");
        check_int(r.problem, AZ_RESULT_NO_EXIT);
        /* only Azure's own prefix says it: not the script's output */
        r = message("Enable succeeded: \n[stdout]\nexit status=0\n[stderr]\n");
        check_int(r.problem, AZ_RESULT_NO_EXIT);
}

/* The exit status is read from the marker that ends the whole message; a marker the script
 * prints (even with the run's name) comes before it and does not count. */
static void test_marker(void) {
        AzRunResult r;

        r = message("Enable succeeded: \n[stdout]\nhi\n\n__RUNBOOKD_EXIT_" RC "=7\n\n[stderr]\noops\n\n__RUNBOOKD_EXIT_" RC "=7\n");
        check_int(r.problem, AZ_RESULT_OK);
        check_int(r.exit_status, 7);
        check(r.n_out == 3 && memcmp(r.out, "hi\n", 3) == 0);
        check(r.n_err == 5 && memcmp(r.err, "oops\n", 5) == 0);
        check(!r.out_truncated && !r.err_truncated);

        r = message("Enable succeeded: \n[stdout]\n\n__RUNBOOKD_EXIT_" RC "=0\n\n__RUNBOOKD_EXIT_" RC "=1\n\n[stderr]\n"
                    "\n__RUNBOOKD_EXIT_" RC "=1\n");
        check_int(r.exit_status, 1);
        /* another run's marker is output */
        r = message("Enable succeeded: \n[stdout]\n\n[stderr]\n\n__RUNBOOKD_EXIT_other=0\n");
        check_int(r.problem, AZ_RESULT_NO_EXIT);
        /* the marker ends stderr but not stdout */
        r = message("Enable succeeded: \n[stdout]\nx\n[stderr]\n\n__RUNBOOKD_EXIT_" RC "=0\n");
        check_int(r.problem, AZ_RESULT_MALFORMED);
        /* anything after the marker: it is not the end */
        r = message("Enable succeeded: \n[stdout]\n\n__RUNBOOKD_EXIT_" RC "=0\n\n[stderr]\n\n__RUNBOOKD_EXIT_" RC "=0\nmore");
        check_int(r.problem, AZ_RESULT_NO_EXIT);
        r = message("Enable succeeded: [stdout]");
        check_int(r.problem, AZ_RESULT_NO_STDOUT);
}

static void test_verdict(void) {
        static const struct {
                const char *json;
                bool at_deadline;
                AzRunKind kind;
                AzVerdict verdict;
                int exit_code;
        } cases[] = {
                { "{\"executionState\":\"Succeeded\",\"exitCode\":0}", false, AZ_RUN_ENDED, AZ_VERDICT_EXITED, 0 },
                { "{\"executionState\":\"succeeded\",\"exitCode\":0}", false, AZ_RUN_ENDED, AZ_VERDICT_EXITED, 0 },
                { "{\"executionState\":\"Failed\",\"exitCode\":3}", false, AZ_RUN_ENDED, AZ_VERDICT_EXITED, 3 },
                { "{\"executionState\":\"Succeeded\",\"exitCode\":3}", false, AZ_RUN_ENDED, AZ_VERDICT_UNCLEAR, 3 },
                { "{\"executionState\":\"Failed\",\"exitCode\":0}", false, AZ_RUN_ENDED, AZ_VERDICT_UNCLEAR, 0 },
                { "{\"executionState\":\"Succeeded\",\"exitCode\":\"0\"}", false, AZ_RUN_ENDED, AZ_VERDICT_UNCLEAR, 0 },
                { "{\"executionState\":\"Succeeded\"}", false, AZ_RUN_ENDED, AZ_VERDICT_UNCLEAR, 0 },
                { "{\"executionState\":\"Succeeded\",\"exitCode\":256}", false, AZ_RUN_ENDED, AZ_VERDICT_UNCLEAR, 0 },
                { "{\"executionState\":\"Failed\",\"exitCode\":-1}", true, AZ_RUN_ENDED, AZ_VERDICT_TIMED_OUT, -1 },
                { "{\"executionState\":\"Failed\",\"exitCode\":-1}", false, AZ_RUN_ENDED, AZ_VERDICT_HANDLER_FAILED, -1 },
                { "{\"executionState\":\"TimedOut\"}", false, AZ_RUN_ENDED, AZ_VERDICT_TIMED_OUT, 0 },
                { "{\"executionState\":\"Canceled\",\"exitCode\":0}", false, AZ_RUN_ENDED, AZ_VERDICT_CANCELED, 0 },
                { "{\"executionState\":\"Whatever\",\"exitCode\":0}", false, AZ_RUN_ENDED, AZ_VERDICT_UNCLEAR, 0 },
                { "{\"executionState\":\"Running\",\"exitCode\":0}", false, AZ_RUN_GOING, 0, 0 },
                { "{}", false, AZ_RUN_GOING, 0, 0 },
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                json_t *iv = json_loads(cases[i].json, 0, NULL);
                json_t *body = json_pack("{s:{s:s,s:o}}", "properties", "provisioningState", "Succeeded",
                                         "instanceView", iv);
                AzRunView v;

                check(body);
                azure_run_view(body, &v);
                check_int(v.kind, cases[i].kind);
                if (v.kind == AZ_RUN_ENDED) {
                        check_int(azure_run_verdict(&v, cases[i].at_deadline), cases[i].verdict);
                        check_int(v.exit_code, cases[i].exit_code);
                }
                json_decref(body);
        }
}

/* expires_in is seconds, a number or a string; a huge one no longer wraps around */
static void test_token(void) {
        static const struct {
                const char *json;
                usec_t lifetime;
        } cases[] = {
                { "{\"access_token\":\"t\",\"expires_in\":3599}", 3599 * USEC_PER_SEC },
                { "{\"access_token\":\"t\",\"expires_in\":\"3599\"}", 3599 * USEC_PER_SEC },
                { "{\"access_token\":\"t\"}", AZURE_TOKEN_LIFETIME_DEFAULT },
                { "{\"access_token\":\"t\",\"expires_in\":\"soon\"}", AZURE_TOKEN_LIFETIME_DEFAULT },
                { "{\"access_token\":\"t\",\"expires_in\":-5}", AZURE_TOKEN_LIFETIME_DEFAULT },
                { "{\"access_token\":\"t\",\"expires_in\":18446744073709}", AZURE_TOKEN_LIFETIME_MAX },
                { "{\"access_token\":\"t\",\"expires_in\":\"99999999999999999999\"}", AZURE_TOKEN_LIFETIME_DEFAULT },
                { "{\"access_token\":\"t\",\"expires_in\":\"9999999999999\"}", AZURE_TOKEN_LIFETIME_MAX },
        };
        const char *token;
        usec_t lifetime;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                json_t *j = json_loads(cases[i].json, 0, NULL);
                check_int(azure_token_response(j, &token, &lifetime), 0);
                check_streq(token, "t");
                check_int(lifetime, cases[i].lifetime);
                json_decref(j);
        }
        json_t *j = json_loads("{\"access_token\":\"\"}", 0, NULL);
        check_int(azure_token_response(j, &token, &lifetime), -EBADMSG);
        json_decref(j);
}

static void test_permissions(void) {
        json_t *p = json_loads("[{\"actions\":[\"*\"],\"notActions\":[\"Microsoft.Compute/*/runCommand/action\"]},"
                               "{\"actions\":[\"*/read\"]}]", 0, NULL);
        const char *not_pattern = NULL;

        check(azure_permitted(p, "Microsoft.Compute/virtualMachines/read", &not_pattern));
        check(!not_pattern);
        check(!azure_permitted(p, "Microsoft.Compute/virtualMachines/runCommand/action", &not_pattern));
        check_streq(not_pattern, "Microsoft.Compute/*/runCommand/action");
        json_decref(p);
}

int main(void) {
        TEST(old_extension_prefix);
        TEST(marker);
        TEST(verdict);
        TEST(token);
        TEST(permissions);
        return 0;
}
