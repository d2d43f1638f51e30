/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-ssh.c: the ssh connector on a real sd-event loop, without a server: a closed port (refused,
 * reported from the loop, never from within connector_start(), with the target freed meanwhile),
 * a name that does not resolve (DNS failure), cancel and free while connecting, and the pool's
 * shutdown (the sanitizer build checks that nothing is left). With a testbed's sshd in the
 * environment (TESTBED_SSH_*, see tests/testbed.sh), also a command run twice: new, then reused. */

#undef NDEBUG
#include <signal.h>
#include <stdio.h>

#include "connector/connector.h"
#include "connector/test-connector-fixture.h"
#include "shared/tests.h"

static Target *make_target(const char *host, int port, const char *identity, const char *known_hosts) {
        json_t *doc = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "connector", "ssh", "host", host, "port", port,
                                "user", "root", "identity", identity, "known_hosts", known_hosts);
        char *err = NULL;
        Target *t = NULL;

        check(doc);
        if (target_from_json(doc, "t", "test", &t, &err) < 0) {
                fprintf(stderr, "target: %s\n", err);
                check(false);
        }
        json_decref(doc);
        return t;
}

static void start(sd_event *e, const Target *t, const char *cmd, Run *run) {
        StepRequest req = { .session_id = 7, .step_index = 2, .command = cmd, .target = t };

        check(connector_start(&connector_ssh, e, &req, run_on_done, run, &run->job) == 0);
        check(!run->done);   /* never from within connector_start() */
}

static void test_refused(sd_event *e) {
        Target *t = make_target("127.0.0.1", 1, "/nonexistent/key", "/nonexistent/known_hosts");
        Run run = {};

        start(e, t, "true", &run);
        target_free(t);   /* the job copied what it needs (Reload may free the catalog) */
        run_until_done(e, &run, 10 * USEC_PER_SEC);
        check_int(run.result.outcome, OUTCOME_ERROR);
        check_int(run.result.error, -ECONNREFUSED);
        check(strstr(run.message, "connection refused"));
        check(strstr(run.message, "127.0.0.1:1"));
        check(!run.connection);
        run_clear(&run);
}

static void test_dns(sd_event *e) {
        Target *t = make_target("no-such-host.invalid", 22, "/k", "/kh");
        Run run = {};

        start(e, t, "true", &run);
        run_until_done(e, &run, 30 * USEC_PER_SEC);
        check_int(run.result.outcome, OUTCOME_ERROR);
        check(strstr(run.message, "DNS failure"));
        check(strstr(run.message, "no-such-host.invalid:22"));
        target_free(t);
        run_clear(&run);
}

static void test_cancel_while_connecting(sd_event *e) {
        Target *t = make_target("no-such-host.invalid", 22, "/k", "/kh");
        Run run = {};

        start(e, t, "true", &run);
        check(connector_job_cancel(run.job) == 0);
        check(!run.done);
        run_until_done(e, &run, 10 * USEC_PER_SEC);
        check_int(run.result.outcome, OUTCOME_CANCELLED);
        target_free(t);
        run_clear(&run);
}

static void test_free_while_connecting(sd_event *e) {
        Target *t = make_target("127.0.0.1", 1, "/k", "/kh");
        Run run = {};

        start(e, t, "true", &run);
        run.job = connector_job_free(run.job);   /* e.g. daemon shutdown */
        for (int i = 0; i < 5; i++)
                check(sd_event_run(e, 10 * USEC_PER_MSEC) >= 0);
        check(!run.done);
        target_free(t);
        run_clear(&run);
}

/* Against a real sshd: 'test-ssh --testbed', run by tests/integration/test-ssh-unit.sh with
 * the testbed's TESTBED_SSH_* (exit 77, a skip, without them). */
static void test_testbed(sd_event *e) {
        const char *port = getenv("TESTBED_SSH_PORT"), *key = getenv("TESTBED_SSH_KEY"),
                   *kh = getenv("TESTBED_SSH_KNOWN_HOSTS");
        Target *t;
        Run run = {};

        if (!port || !key || !kh) {
                fprintf(stderr, "SKIP: no TESTBED_SSH_* in the environment (run by test-ssh-unit.sh)\n");
                exit(77);
        }
        t = make_target("127.0.0.1", atoi(port), key, kh);
        for (int i = 0; i < 2; i++) {
                start(e, t, "echo out-$RUNBOOK_SESSION-$RUNBOOK_STEP; echo err >&2; exit 4", &run);
                run_until_done(e, &run, 30 * USEC_PER_SEC);
                check_int(run.result.outcome, OUTCOME_EXITED);
                check_int(run.result.exit_status, 4);
                check_int(run.out_len, strlen("out-7-2\n"));
                check(memcmp(run.out, "out-7-2\n", run.out_len) == 0);
                check_streq(run.connection, i == 0 ? "new" : "reused");
                run_clear(&run);
        }
        target_free(t);
}

int main(int argc, char *argv[]) {
        sd_event *e = NULL;
        sigset_t ss;

        sigemptyset(&ss);
        sigaddset(&ss, SIGCHLD);
        check(sigprocmask(SIG_BLOCK, &ss, NULL) == 0);
        check(sd_event_new(&e) >= 0);

        if (argc > 1 && strcmp(argv[1], "--testbed") == 0)
                test_testbed(e);
        else {
                test_refused(e);
                test_dns(e);
                test_cancel_while_connecting(e);
                test_free_while_connecting(e);
        }

        connector_shutdown_all();
        sd_event_unref(e);
        return 0;
}
