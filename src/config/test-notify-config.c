/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-notify-config.c: "notify" and "console_url" of runbookd.json: what is accepted (defaults,
 * credentials, routing by events and runbooks, the link) and what is refused, each with the JSON
 * path and the reason; no secret in an error. */
#undef NDEBUG
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/notify-config.h"
#include "shared/tests.h"

static char creds[64];

static int parse(const char *text, NotifyConfig **ret, char **ret_error) {
        _cleanup_(json_decrefp) json_t *doc = json_loads(text, 0, NULL);

        check(doc);
        return notify_config_parse(json_object_get(doc, "notify"), json_object_get(doc, "console_url"), "rb.json",
                                   ret, ret_error);
}

static void check_error(const char *text, const char *want) {
        _cleanup_free_ char *err = NULL;
        NotifyConfig *c = NULL;
        int r = parse(text, &c, &err);

        if (r >= 0 || !err || !strstr(err, want))
                fprintf(stderr, "for %s\n  got %d '%s'\n  want '%s'\n", text, r, strna(err), want);
        check(r < 0);
        check(!c);
        check(err && strstr(err, want));
}

static void cred(const char *name, const char *value) {
        char p[128];
        int fd;

        (void) snprintf(p, sizeof p, "%s/%s", creds, name);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        check(fd >= 0);
        check(write(fd, value, strlen(value)) == (ssize_t) strlen(value));
        close(fd);
}

static void test_defaults_and_route(void) {
        _cleanup_(notify_config_freep) NotifyConfig *c = NULL;
        _cleanup_free_ char *err = NULL;
        json_t *a;

        check_int(parse("{\"notify\": [ {\"webhook\": \"https://h.example/x\"},"
                        "  {\"name\": \"db\", \"webhook\": \"http://127.0.0.1:8080/\", \"events\": [\"break_glass\"],"
                        "   \"runbooks\": [\"db-*\", \"pg\"], \"timeout\": 3, \"max_age\": 60, \"max_pending\": 5} ] }",
                        &c, &err), 0);
        check_int(c->n_sinks, 2);
        check_streq(c->sinks[0].name, "webhook-1");
        check_int(c->sinks[0].events, (1u << _NOTIFY_EVENT_MAX) - 1);
        check_int(c->sinks[0].timeout_usec, NOTIFY_WEBHOOK_TIMEOUT_DEFAULT_USEC);
        check_int(c->sinks[0].max_age_usec, NOTIFY_MAX_AGE_DEFAULT_USEC);
        check_int(c->sinks[0].max_pending, NOTIFY_MAX_PENDING_DEFAULT);
        check_int(c->sinks[1].timeout_usec, 3 * USEC_PER_SEC);
        check_int(c->sinks[1].max_age_usec, 60 * USEC_PER_SEC);
        check_int(c->sinks[1].max_pending, 5);
        check(!c->console_url);
        check(!notify_config_session_url(c, 3));

        a = notify_config_route(c, NOTIFY_BREAK_GLASS, "db-main");
        _cleanup_free_ char *s1 = json_dumps(a, JSON_COMPACT);
        check_streq(s1, "[\"webhook-1\",\"db\"]");
        json_decref(a);
        a = notify_config_route(c, NOTIFY_BREAK_GLASS, "web");
        _cleanup_free_ char *s2 = json_dumps(a, JSON_COMPACT);
        check_streq(s2, "[\"webhook-1\"]");
        json_decref(a);
        a = notify_config_route(c, NOTIFY_APPROVAL_NEEDED, "pg");
        _cleanup_free_ char *s3 = json_dumps(a, JSON_COMPACT);
        check_streq(s3, "[\"webhook-1\"]");
        json_decref(a);
        check(!notify_config_route(NULL, NOTIFY_APPROVAL_NEEDED, "pg"));
        check(notify_config_find(c, "db") == &c->sinks[1]);
        check(!notify_config_find(c, "nope"));
}

static void test_console_url(void) {
        _cleanup_(notify_config_freep) NotifyConfig *c = NULL, *d = NULL;
        _cleanup_free_ char *u1 = NULL, *u2 = NULL;

        check_int(parse("{\"console_url\": \"https://ops:9090/runbookd\"}", &c, NULL), 0);
        check_int(c->n_sinks, 0);
        u1 = notify_config_session_url(c, 12);
        check_streq(u1, "https://ops:9090/runbookd#/session/12");
        check_int(parse("{\"console_url\": \"https://ops/s/{session}?x=1\"}", &d, NULL), 0);
        u2 = notify_config_session_url(d, 7);
        check_streq(u2, "https://ops/s/7?x=1");
        check_error("{\"console_url\": \"javascript:alert(1)\"}", "rb.json: $.console_url: must be an http:// or https:// URL");
        check_error("{\"console_url\": \"https://a b\"}", "$.console_url: must be");
}

static void test_credentials(void) {
        _cleanup_(notify_config_freep) NotifyConfig *c = NULL;
        _cleanup_free_ char *err = NULL;

        cred("url", "https://hooks.slack.example/services/T0/B0/SECRETPART\n");
        cred("token", "Bearer abc.def");
        cred("crlf", "Bearer x\r\nX-Injected: 1");
        cred("badurl", "gopher://SECRETPART/");
        cred("empty", "\n");
        check_int(parse("{\"notify\": [ {\"webhook\": \"cred:url\", \"headers\": {\"Authorization\": \"cred:token\","
                        " \"X-Team\": \"dba\"}} ] }", &c, &err), 0);
        check_streq(c->sinks[0].url, "https://hooks.slack.example/services/T0/B0/SECRETPART");
        check_streq(c->sinks[0].headers[0], "Authorization: Bearer abc.def");
        check_streq(c->sinks[0].headers[1], "X-Team: dba");
        check(!c->sinks[0].headers[2]);
        check_error("{\"notify\": [ {\"webhook\": \"http://h/\", \"headers\": {\"Authorization\": \"cred:crlf\"}} ] }",
                    "$.notify[0].headers.Authorization: holds a control character");
        check_error("{\"notify\": [ {\"webhook\": \"cred:badurl\"} ] }",
                    "$.notify[0].webhook: the credential is not an http:// or https:// URL");
        /* the secret is in no message */
        _cleanup_free_ char *e2 = NULL;
        NotifyConfig *x = NULL;
        check(parse("{\"notify\": [ {\"webhook\": \"cred:badurl\"} ] }", &x, &e2) < 0);
        check(!strstr(e2, "SECRETPART"));
        check_error("{\"notify\": [ {\"webhook\": \"cred:nope\"} ] }", "$.notify[0].webhook: credential 'nope' cannot be read");
        check_error("{\"notify\": [ {\"webhook\": \"http://h/\", \"headers\": {\"Authorization\": \"cred:empty\"}} ] }",
                    "$.notify[0].headers.Authorization: credential 'empty' is empty");
        check_error("{\"notify\": [ {\"webhook\": \"cred:../etc/passwd\"} ] }", "$.notify[0].webhook:");
}

static void test_refused(void) {
        check_error("{\"notify\": {}}", "rb.json: $.notify: must be an array of at most 32 sinks");
        check_error("{\"notify\": [ 1 ]}", "$.notify[0]: must be an object with \"webhook\" or \"exec\"");
        check_error("{\"notify\": [ {} ]}", "$.notify[0]: needs exactly one of \"webhook\"");
        check_error("{\"notify\": [ {\"webhook\": \"http://h/\", \"exec\": \"/bin/true\"} ]}", "needs exactly one of");
        check_error("{\"notify\": [ {\"webhook\": \"http://h/\", \"color\": 1} ]}", "$.notify[0].color: unknown key");
        check_error("{\"notify\": [ {\"webhook\": \"http://h/\", \"events\": []} ]}",
                    "$.notify[0].events: must be a non-empty array of event names");
        check_error("{\"notify\": [ {\"webhook\": \"http://h/\", \"events\": [\"approval_needed\", \"x\"]} ]}",
                    "$.notify[0].events[1]: not an event (allowed: approval_needed,");
        check_error("{\"notify\": [ {\"webhook\": \"http://h/\", \"runbooks\": [\"\"]} ]}",
                    "$.notify[0].runbooks[0]: must be a non-empty string");
        check_error("{\"notify\": [ {\"webhook\": \"http://h/\", \"timeout\": 0} ]}",
                    "$.notify[0].timeout: must be an integer from 1 to 300 (seconds)");
        check_error("{\"notify\": [ {\"webhook\": \"http://h/\", \"max_age\": -1} ]}", "$.notify[0].max_age: must be an integer");
        check_error("{\"notify\": [ {\"webhook\": \"http://h/\", \"max_pending\": 0} ]}",
                    "$.notify[0].max_pending: must be an integer from 1 to 1000000");
        check_error("{\"notify\": [ {\"webhook\": \"http://h/\", \"headers\": {\"Bad Name\": \"x\"}} ]}",
                    "$.notify[0].headers[\"Bad Name\"]: not a header name");
        check_error("{\"notify\": [ {\"webhook\": \"http://h/\", \"headers\": {\"host\": \"x\"}} ]}",
                    "$.notify[0].headers.host: runbookd sets this header itself");
        check_error("{\"notify\": [ {\"webhook\": \"http://h/\", \"headers\": {\"X\": \"a\\nb\"}} ]}",
                    "$.notify[0].headers.X: holds a control character");
        check_error("{\"notify\": [ {\"webhook\": \"http://h/\", \"ca_file\": \"rel.pem\"} ]}",
                    "$.notify[0].ca_file: must be an absolute path");
        check_error("{\"notify\": [ {\"webhook\": \"http://h/\", \"user\": \"nobody\"} ]}",
                    "$.notify[0]: \"args\" and \"user\" are for \"exec\"");
        check_error("{\"notify\": [ {\"name\": \"a/b\", \"webhook\": \"http://h/\"} ]}", "$.notify[0].name: must be a name");
        check_error("{\"notify\": [ {\"name\": \"x\", \"webhook\": \"http://h/\"}, {\"name\": \"x\", \"exec\": \"/bin/true\"} ]}",
                    "$.notify[1]: a second sink named 'x'");
        check_error("{\"notify\": [ {\"exec\": \"true\"} ]}", "$.notify[0].exec: must be the absolute path of a program");
        check_error("{\"notify\": [ {\"exec\": \"/nonexistent/prog\"} ]}", "$.notify[0].exec: /nonexistent/prog: No such file");
        check_error("{\"notify\": [ {\"exec\": \"/etc/passwd\"} ]}", "$.notify[0].exec: /etc/passwd is not an executable file");
        check_error("{\"notify\": [ {\"exec\": \"/bin/true\", \"headers\": {}} ]}",
                    "$.notify[0]: \"headers\" and \"ca_file\" are for a webhook");
        if (geteuid() == 0) {
                check_error("{\"notify\": [ {\"exec\": \"/bin/true\", \"user\": \"root\"} ]}",
                            "$.notify[0].user: the program must run as an unprivileged user, not 'root'");
                check_error("{\"notify\": [ {\"exec\": \"/bin/true\", \"user\": \"no-such-user-x\"} ]}",
                            "$.notify[0].user: user 'no-such-user-x' does not exist on this host");
        }
}

static void test_exec(void) {
        _cleanup_(notify_config_freep) NotifyConfig *c = NULL;
        _cleanup_free_ char *err = NULL;

        check_int(parse("{\"notify\": [ {\"exec\": \"/bin/true\", \"args\": [\"--to\", \"ops\"], \"events\": [\"review_needed\"]} ] }",
                        &c, &err), 0);
        check_streq(c->sinks[0].name, "exec-1");
        check_int(c->sinks[0].kind, NOTIFY_SINK_EXEC);
        check_streq(c->sinks[0].argv[0], "/bin/true");
        check_streq(c->sinks[0].argv[1], "--to");
        check_streq(c->sinks[0].argv[2], "ops");
        check(!c->sinks[0].argv[3]);
        check_int(c->sinks[0].timeout_usec, NOTIFY_EXEC_TIMEOUT_DEFAULT_USEC);
        if (geteuid() == 0)
                check_streq(c->sinks[0].user, "nobody");
        check(c->sinks[0].uid != 0);
}

int main(void) {
        check(mkdtemp(strcpy(creds, "/tmp/test-notify-creds.XXXXXX")));
        check(setenv("CREDENTIALS_DIRECTORY", creds, 1) == 0);
        TEST(defaults_and_route);
        TEST(console_url);
        TEST(credentials);
        TEST(refused);
        TEST(exec);
        const char *names[] = { "url", "token", "crlf", "badurl", "empty" };
        for (size_t i = 0; i < 5; i++) {
                char p[128];
                (void) snprintf(p, sizeof p, "%s/%s", creds, names[i]);
                (void) unlink(p);
        }
        (void) rmdir(creds);
        return 0;
}
