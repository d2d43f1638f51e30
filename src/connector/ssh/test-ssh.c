/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-ssh.c: the ssh connector on a real sd-event loop, without a server: a closed port (refused,
 * reported from the loop, never from within connector_start(), with the target freed meanwhile),
 * a name that does not resolve (DNS failure), cancel and free while connecting, and the pool's
 * shutdown (the sanitizer build checks that nothing is left). With a testbed's sshd in the
 * environment (TESTBED_SSH_*, see tests/testbed.sh), also a command run twice: new, then reused;
 * and the pool's bound on idle connections over all endpoints (ssh_pool_set_idle_max()). */

#undef NDEBUG
#include <limits.h>
#include <signal.h>
#include <stdio.h>

#include "connector/connector.h"
#include "connector/ssh/ssh-pool.h"
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

/* One run of 'true' on t: "new" or "reused". */
static bool run_true_reused(sd_event *e, const Target *t) {
        Run run = {};
        bool reused;

        start(e, t, "true", &run);
        run_until_done(e, &run, 30 * USEC_PER_SEC);
        check_int(run.result.outcome, OUTCOME_EXITED);
        check_int(run.result.exit_status, 0);
        reused = streq(run.connection, "reused");
        run_clear(&run);
        return reused;
}

/* The pool keeps at most N connections idle over all endpoints: six endpoints (one sshd, a
 * known_hosts file of their own each, which makes them distinct) with room for three. */
static void test_testbed_idle_bound(sd_event *e, int port, const char *key, const char *kh) {
        char dir[] = "/tmp/test-ssh-pool.XXXXXX", path[PATH_MAX];
        Target *t[6];

        check(mkdtemp(dir));
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *cmd = NULL;
                snprintf(path, sizeof path, "%s/known_hosts.%zu", dir, i);
                check(asprintf_safe(&cmd, "cp '%s' '%s'", kh, path) >= 0);
                check(system(cmd) == 0);
                t[i] = make_target("127.0.0.1", port, key, path);
        }
        ssh_pool_set_idle_max(0);       /* what test_testbed() left idle goes */
        check_int(ssh_pool_idle_count(), 0);
        ssh_pool_set_idle_max(3);
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                check(!run_true_reused(e, t[i]));
                check_int(ssh_pool_idle_count(), MIN(i + 1, 3u));
        }
        /* the first three went back to the pool; the others were closed */
        check(run_true_reused(e, t[0]));
        check(run_true_reused(e, t[2]));
        check(!run_true_reused(e, t[5]));
        check_int(ssh_pool_idle_count(), 3);

        /* lowered: the longest idle go first (t[1], then t[0]); t[2] stays */
        ssh_pool_set_idle_max(1);
        check_int(ssh_pool_idle_count(), 1);
        check(run_true_reused(e, t[2]));
        check(!run_true_reused(e, t[0]));
        check_int(ssh_pool_idle_count(), 1);

        /* none kept, yet a connection given back while a request for its endpoint waits (more
         * than SSH_POOL_PER_TARGET_MAX at once) goes to that request, not closed */
        ssh_pool_set_idle_max(0);
        check_int(ssh_pool_idle_count(), 0);
        Run runs[SSH_POOL_PER_TARGET_MAX + 1] = {};
        unsigned reused = 0;
        for (size_t i = 0; i < ELEMENTSOF(runs); i++)
                start(e, t[3], "true", &runs[i]);
        for (size_t i = 0; i < ELEMENTSOF(runs); i++) {
                run_until_done(e, &runs[i], 30 * USEC_PER_SEC);
                check_int(runs[i].result.outcome, OUTCOME_EXITED);
                reused += streq(runs[i].connection, "reused");
                run_clear(&runs[i]);
        }
        check_int(reused, 1);
        check_int(ssh_pool_idle_count(), 0);

        ssh_pool_set_idle_max(SSH_MAX_IDLE_CONNECTIONS_DEFAULT);
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                snprintf(path, sizeof path, "%s/known_hosts.%zu", dir, i);
                check(unlink(path) == 0);
                target_free(t[i]);
        }
        check(rmdir(dir) == 0);
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
        test_testbed_idle_bound(e, atoi(port), key, kh);
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
