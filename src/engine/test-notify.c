/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-notify.c: notifications enter the outbox in the commit of the transition that causes
 * them, routed by "events" and "runbooks", with the document a sink gets; with no sink nothing
 * is written; a commit that fails takes its events with it. (Delivery: test-notify.sh.) See
 * test-engine-fixture.h. */

#include <stdio.h>
#include <unistd.h>

#include "config/notify-config.h"
#include "engine/test-engine-fixture.h"

typedef struct Box {
        uint64_t seq[64];
        json_t *rec[64];
        size_t n;
} Box;

static int box_cb(uint64_t seq, const char *text, size_t len, void *userdata) {
        Box *b = userdata;

        check(b->n < 64);
        b->seq[b->n] = seq;
        b->rec[b->n] = json_loadb(text, len, 0, NULL);
        check(b->rec[b->n]);
        b->n++;
        return 0;
}

static void box_read(Fx *f, Box *b) {
        StoreTxn t;

        *b = (Box) {};
        check(store_read_begin(f->store, &t) == 0);
        check(store_outbox_read(&t, 0, box_cb, b) == 0);
        store_read_end(&t);
}

static void box_done(Box *b) {
        for (size_t i = 0; i < b->n; i++)
                json_decref(b->rec[i]);
}

static const char *ev(const Box *b, size_t i) {
        return json_string_value(json_object_get(json_object_get(b->rec[i], "doc"), "event"));
}

static char *sinks(const Box *b, size_t i) {
        return json_dumps(json_object_get(b->rec[i], "sinks"), JSON_COMPACT);
}

static NotifyConfig *config(const char *text) {
        _cleanup_(json_decrefp) json_t *doc = json_loads(text, 0, NULL);
        _cleanup_free_ char *err = NULL;
        NotifyConfig *c = NULL;
        int r;

        check(doc);
        r = notify_config_parse(json_object_get(doc, "notify"), json_object_get(doc, "console_url"), "test", &c, &err);
        if (r < 0)
                fprintf(stderr, "notify_config_parse: %s\n", strna(err));
        check(r == 0);
        return c;
}

static void test_none_without_sinks(void) {
        Fx f;
        Runbook *rb;
        Session *s;
        Box b;

        fx_setup(&f);
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"gated\", \"run\": \"exit 3\" } ] }");
        s = start(&f, rb, NULL);
        check_int(approve(&f, &s->steps[0], BOB), 0);
        wait_state(&f, s->id, SESSION_FAILED, -2, 5 * USEC_PER_SEC);
        box_read(&f, &b);
        check_int(b.n, 0);
        check_int(stored_meta(&f, "outbox_seq", 0), 0);
        runbook_free(rb);
        fx_done(&f);
}

static void test_events_and_document(void) {
        _cleanup_(notify_config_freep) NotifyConfig *c = config(
                "{\"console_url\": \"https://ops.example/s/{session}/view\","
                " \"notify\": [ {\"name\": \"all\", \"webhook\": \"https://hooks.example/a\"},"
                "               {\"name\": \"failures\", \"webhook\": \"https://hooks.example/f\","
                "                \"events\": [\"step_failed\", \"session_finished\"], \"runbooks\": [\"nb-*\"]},"
                "               {\"name\": \"elsewhere\", \"webhook\": \"https://hooks.example/e\","
                "                \"runbooks\": [\"other-*\"]} ] }");
        Fx f;
        Runbook *rb;
        Session *s;
        Box b;
        json_t *doc;

        fx_setup(&f);
        engine_set_notify(f.engine, c);
        rb = rb_make(&f, "{ \"parameters\": { \"x\": {} },"
                         "  \"steps\": [ { \"name\": \"gated\", \"run\": \"out {{x}}; exit 3\", \"approvers\": 2 } ] }");
        free(rb->name);
        rb->name = strdup("nb-test");
        s = start(&f, rb, "{\"x\": \"<!channel> @here\"}");

        /* approval_needed is in the commit that created the session */
        box_read(&f, &b);
        check_int(b.n, 1);
        check_int(b.seq[0], 1);
        check_int(stored_meta(&f, "outbox_seq", 0), 1);
        check_streq(ev(&b, 0), "approval_needed");
        _cleanup_free_ char *k = sinks(&b, 0);
        check_streq(k, "[\"all\"]");
        doc = json_object_get(b.rec[0], "doc");
        _cleanup_free_ char *id = NULL;
        check(asprintf_safe(&id, "%s-1", store_id(f.store)) >= 0);
        check_streq(json_string_value(json_object_get(doc, "event_id")), id);
        check_int(json_integer_value(json_object_get(doc, "session")), s->id);
        check_streq(json_string_value(json_object_get(doc, "runbook")), "nb-test");
        check_streq(json_string_value(json_object_get(doc, "reference")), "TICKET-1");
        check_streq(json_string_value(json_object_get(doc, "state")), "waiting_approval");
        json_t *step = json_object_get(doc, "step");
        check_streq(json_string_value(json_object_get(step, "command")), s->steps[0].command);
        check_streq(json_string_value(json_object_get(step, "digest")), s->steps[0].digest);
        check_streq(json_string_value(json_object_get(step, "target")), "local");
        check_int(json_integer_value(json_object_get(json_object_get(doc, "approvals"), "needed")), 2);
        check_int(json_integer_value(json_object_get(json_object_get(doc, "approvals"), "given")), 0);
        _cleanup_free_ char *url = NULL;
        check(asprintf_safe(&url, "https://ops.example/s/%u/view", s->id) >= 0);
        check_streq(json_string_value(json_object_get(doc, "url")), url);
        const char *text = json_string_value(json_object_get(doc, "text"));
        check(strstr(text, "waits for approval (0 of 2 given)"));
        check(strstr(text, url));
        check(!strchr(text, '\n'));
        box_done(&b);

        /* two approvals, the step fails: step_failed and session_finished in the commit that ends it */
        check_int(approve(&f, &s->steps[0], BOB), 0);
        check_int(approve(&f, &s->steps[0], CAROL), 0);
        wait_state(&f, s->id, SESSION_FAILED, -2, 5 * USEC_PER_SEC);
        box_read(&f, &b);
        check_int(b.n, 3);
        check_streq(ev(&b, 1), "step_failed");
        check_streq(ev(&b, 2), "session_finished");
        _cleanup_free_ char *k1 = sinks(&b, 1), *k2 = sinks(&b, 2);
        check_streq(k1, "[\"all\",\"failures\"]");
        check_streq(k2, "[\"all\",\"failures\"]");
        step = json_object_get(json_object_get(b.rec[1], "doc"), "step");
        check_int(json_integer_value(json_object_get(step, "exit_status")), 3);
        check_streq(json_string_value(json_object_get(step, "state")), "failed");
        json_t *by = json_object_get(json_object_get(step, "approvals"), "by");
        check_int(json_array_size(by), 2);
        check(json_is_null(json_object_get(json_object_get(b.rec[2], "doc"), "step")));
        check_streq(json_string_value(json_object_get(json_object_get(b.rec[2], "doc"), "state")), "failed");
        box_done(&b);
        runbook_free(rb);
        engine_set_notify(f.engine, NULL);
        fx_done(&f);
}

/* A caller's chat markup is inert in "text", exact in the fields. */
static void test_text_inert(void) {
        _cleanup_(notify_config_freep) NotifyConfig *c = config("{\"notify\": [ {\"webhook\": \"http://h/\"} ] }");
        _cleanup_free_ char *err = NULL;
        Fx f;
        Runbook *rb;
        Session *s = NULL;
        Box b;

        fx_setup(&f);
        engine_set_notify(f.engine, c);
        rb = rb_make(&f, "{ \"steps\": [ { \"name\": \"gated <b>&\", \"run\": \"true\" } ] }");
        check_int(engine_start_session(f.engine, rb, "<!channel> @here\nsecond line [x](https://evil.example/)\u2028z",
                                       NULL, as(ALICE), &s, &err), 0);
        box_read(&f, &b);
        check_int(b.n, 1);
        json_t *doc = json_object_get(b.rec[0], "doc");
        check_streq(json_string_value(json_object_get(doc, "reference")),
                    "<!channel> @here\nsecond line [x](https://evil.example/)\u2028z");
        const char *text = json_string_value(json_object_get(doc, "text"));
        check(strstr(text, "(" ));
        check(strstr(text, "&lt;!channel&gt; @\u200bhere second line [x]\u200b(https:\u200b//evil.example/) z"));
        check(!strstr(text, "://") && !strstr(text, "](") && !strstr(text, "\u2028"));
        check(strstr(text, "\"gated &lt;b&gt;&amp;\""));
        check(!strchr(text, '<') && !strchr(text, '\n'));
        check_streq(json_string_value(json_object_get(json_object_get(doc, "step"), "name")), "gated <b>&");
        box_done(&b);
        runbook_free(rb);
        engine_set_notify(f.engine, NULL);
        fx_done(&f);
}

int main(void) {
        fx_main_init();
        TEST(none_without_sinks);
        TEST(events_and_document);
        TEST(text_inert);
        return 0;
}
