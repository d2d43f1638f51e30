/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-window.c: change windows and freezes (config/window.c): what is accepted and refused (each
 * with its JSON path), windows across midnight and the week's end, local times in named zones
 * through a DST change, freezes by date (to the end of the last day) and by the minute, and the
 * first instant a step may run under all of them. */
#undef NDEBUG
#include <stdio.h>
#include <time.h>

#include "config/window.h"
#include "shared/tests.h"

/* "2026-12-04T11:00:00Z" */
static usec_t utc(const char *s) {
        struct tm t = {};
        check(strptime(s, "%Y-%m-%dT%H:%M:%SZ", &t));
        return (usec_t) timegm(&t) * USEC_PER_SEC;
}

static ChangeWindow *windows(const char *text, size_t *n) {
        _cleanup_(json_decrefp) json_t *doc = json_loads(text, 0, NULL);
        _cleanup_free_ char *err = NULL;
        ChangeWindow *w = NULL;

        check(doc);
        if (change_windows_parse(doc, "t.json", "$.windows", &w, n, &err) < 0)
                fprintf(stderr, "%s: %s\n", text, strna(err));
        check(w);
        return w;
}

static ChangeFreeze *freezes(const char *text, size_t *n) {
        _cleanup_(json_decrefp) json_t *doc = json_loads(text, 0, NULL);
        _cleanup_free_ char *err = NULL;
        ChangeFreeze *f = NULL;

        check(doc);
        if (change_freezes_parse(doc, "runbookd.json", "$.freeze", &f, n, &err) < 0)
                fprintf(stderr, "%s: %s\n", text, strna(err));
        check(f);
        return f;
}

static void check_window_error(const char *text, const char *want) {
        _cleanup_(json_decrefp) json_t *doc = json_loads(text, 0, NULL);
        _cleanup_free_ char *err = NULL;
        ChangeWindow *w = NULL;
        size_t n = 0;

        check(doc);
        check(change_windows_parse(doc, "t.json", "$.windows", &w, &n, &err) == -EINVAL);
        if (!err || !streq(err, want))
                fprintf(stderr, "for %s\n  got '%s'\n  want '%s'\n", text, strna(err), want);
        check(err && streq(err, want));
        check(!w);
}

static void check_freeze_error(const char *text, const char *want) {
        _cleanup_(json_decrefp) json_t *doc = json_loads(text, 0, NULL);
        _cleanup_free_ char *err = NULL;
        ChangeFreeze *f = NULL;
        size_t n = 0;

        check(doc);
        check(change_freezes_parse(doc, "runbookd.json", "$.freeze", &f, &n, &err) == -EINVAL);
        if (!err || !streq(err, want))
                fprintf(stderr, "for %s\n  got '%s'\n  want '%s'\n", text, strna(err), want);
        check(err && streq(err, want));
        check(!f);
}

static void test_refused(void) {
        check_window_error("{}", "t.json: $.windows: must be an array of 1 to 32 windows");
        check_window_error("[]", "t.json: $.windows: must be an array of 1 to 32 windows");
        check_window_error("[{\"days\": \"Mon-Fri\", \"from\": \"22:00\", \"to\": \"06:00\"}]",
                           "t.json: $.windows[0].days: must be days as Mon, Tue, … Sun: one, a range (\"Mon..Fri\", "
                           "\"Fri..Mon\"), or a list of them (\"Mon..Wed,Fri\")");
        check_window_error("[{\"from\": \"22:00\"}]", "t.json: $.windows[0]: missing required key 'to' (\"HH:MM\" or \"HH:MM:SS\")");
        check_window_error("[{\"from\": \"8:00\", \"to\": \"09:00\"}]",
                           "t.json: $.windows[0].from: must be a time of day, \"HH:MM\" or \"HH:MM:SS\" (00:00 to 23:59:59)");
        check_window_error("[{\"from\": \"24:00\", \"to\": \"09:00\"}]",
                           "t.json: $.windows[0].from: must be a time of day, \"HH:MM\" or \"HH:MM:SS\" (00:00 to 23:59:59)");
        check_window_error("[{\"from\": \"08:00\", \"to\": \"09:60\"}]",
                           "t.json: $.windows[0].to: must be a time of day, \"HH:MM\" or \"HH:MM:SS\" (00:00 to 24:00)");
        check_window_error("[{\"from\": \"08:00\", \"to\": \"09:00\", \"timezone\": \"Mars/Olympus\"}]",
                           "t.json: $.windows[0].timezone: must name a time zone of the system's database (e.g. "
                           "\"Europe/Berlin\", \"UTC\"; see /usr/share/zoneinfo)");
        check_window_error("[{\"from\": \"08:00\", \"to\": \"09:00\", \"timezone\": \"../../etc/passwd\"}]",
                           "t.json: $.windows[0].timezone: must name a time zone of the system's database (e.g. "
                           "\"Europe/Berlin\", \"UTC\"; see /usr/share/zoneinfo)");
        check_window_error("[{\"from\": \"08:00\", \"to\": \"09:00\", \"timezone\": \"Europe\"}]",   /* a directory */
                           "t.json: $.windows[0].timezone: must name a time zone of the system's database (e.g. "
                           "\"Europe/Berlin\", \"UTC\"; see /usr/share/zoneinfo)");
        check_window_error("[{\"from\": \"08:00\", \"to\": \"09:00\", \"zone\": \"UTC\"}]",
                           "t.json: $.windows[0].zone: unknown key (allowed: days, from, to, timezone)");

        check_freeze_error("[{\"from\": \"2026-12-20\"}]",
                           "runbookd.json: $.freeze[0]: missing required key 'to' (a date, \"YYYY-MM-DD\", or \"YYYY-MM-DDTHH:MM\")");
        check_freeze_error("[{\"from\": \"2026-02-30\", \"to\": \"2026-03-01\"}]",
                           "runbookd.json: $.freeze[0].from: must be a date, \"YYYY-MM-DD\", or a time, \"YYYY-MM-DDTHH:MM[:SS]\"");
        check_freeze_error("[{\"from\": \"2026-12-20\", \"to\": \"2026-12-19\"}]", "runbookd.json: $.freeze[0].to: must be after 'from'");
        check_freeze_error("[{\"from\": \"2026-12-20 10:00\", \"to\": \"2026-12-21\"}]",
                           "runbookd.json: $.freeze[0].from: must be a date, \"YYYY-MM-DD\", or a time, \"YYYY-MM-DDTHH:MM[:SS]\"");
        check_freeze_error("[{\"from\": \"2026-12-20\", \"to\": \"2026-12-21\", \"reason\": \"a\\nb\"}]",
                           "runbookd.json: $.freeze[0].reason: must be one line of printable text (at most 256 characters)");
}

static void test_overnight_weekdays(void) {
        size_t n = 0;
        ChangeWindow *w = windows("[{\"days\": \"Mon..Fri\", \"from\": \"22:00\", \"to\": \"06:00\", "
                                  "\"timezone\": \"Europe/Berlin\"}]", &n);
        usec_t next = 1;

        check_streq(w[0].text, "Mon..Fri 22:00-06:00 Europe/Berlin");
        /* Friday 2026-12-04, noon in Berlin (UTC+1): opens at 22:00 Berlin */
        check(!change_windows_open(w, n, utc("2026-12-04T11:00:00Z"), &next));
        check_int(next, utc("2026-12-04T21:00:00Z"));
        /* Saturday 03:00: inside Friday's window */
        check(change_windows_open(w, n, utc("2026-12-05T02:00:00Z"), &next));
        check(change_windows_open(w, n, utc("2026-12-04T21:00:00Z"), &next));   /* its first second */
        check(!change_windows_open(w, n, utc("2026-12-05T05:00:00Z"), &next));  /* 06:00: closed */
        /* Saturday noon: the next one is Monday's */
        check(!change_windows_open(w, n, utc("2026-12-05T11:00:00Z"), &next));
        check_int(next, utc("2026-12-07T21:00:00Z"));
        change_windows_free(w, n);

        w = windows("[{\"days\": \"Sat,Sun\", \"from\": \"00:00\", \"to\": \"24:00\", \"timezone\": \"UTC\"},"
                    " {\"days\": \"Fri..Mon\", \"from\": \"12:00:30\", \"to\": \"12:00:40\", \"timezone\": \"UTC\"}]", &n);
        check(change_windows_open(w, n, utc("2026-12-06T23:59:59Z"), &next));   /* Sunday */
        check(!change_windows_open(w, n, utc("2026-12-07T00:00:00Z"), &next));  /* Monday */
        check_int(next, utc("2026-12-07T12:00:30Z"));                           /* Fri..Mon wraps */
        check(change_windows_open(w, n, utc("2026-12-07T12:00:39Z"), &next));
        check(!change_windows_open(w, n, utc("2026-12-08T12:00:35Z"), &next));  /* Tuesday */
        check_int(next, utc("2026-12-11T12:00:30Z"));
        change_windows_free(w, n);
}

/* New York changes to daylight saving time on 2026-03-08: a window at 09:00 local opens at 14:00
 * UTC the day before and at 13:00 UTC that day. */
static void test_dst(void) {
        size_t n = 0;
        ChangeWindow *w = windows("[{\"from\": \"09:00\", \"to\": \"10:00\", \"timezone\": \"America/New_York\"}]", &n);
        usec_t next = 0;

        check(!change_windows_open(w, n, utc("2026-03-06T20:00:00Z"), &next));
        check_int(next, utc("2026-03-07T14:00:00Z"));
        check(!change_windows_open(w, n, utc("2026-03-07T20:00:00Z"), &next));
        check_int(next, utc("2026-03-08T13:00:00Z"));
        check(change_windows_open(w, n, utc("2026-03-08T13:30:00Z"), &next));
        check(!change_windows_open(w, n, utc("2026-03-08T14:00:00Z"), &next));
        change_windows_free(w, n);
}

static void test_freeze_and_policy(void) {
        size_t n_f = 0, n_w = 0, n_t = 0;
        ChangeFreeze *f = freezes("[{\"from\": \"2026-12-20\", \"to\": \"2027-01-03\", \"timezone\": \"Europe/Berlin\","
                                  "  \"reason\": \"year-end\"},"
                                  " {\"from\": \"2027-02-01T10:00\", \"to\": \"2027-02-01T10:30:15\", \"timezone\": \"UTC\"}]",
                                  &n_f);
        ChangeWindow *w = windows("[{\"days\": \"Mon..Fri\", \"from\": \"08:00\", \"to\": \"18:00\", \"timezone\": \"UTC\"}]", &n_w);
        ChangeWindow *t = windows("[{\"from\": \"09:00\", \"to\": \"10:00\", \"timezone\": \"UTC\"}]", &n_t);
        _cleanup_free_ char *why = NULL;
        usec_t at = 0;

        check_int(f[0].from, utc("2026-12-19T23:00:00Z"));
        check_int(f[0].to, utc("2027-01-03T23:00:00Z"));          /* the end of 3 January in Berlin */
        check_streq(f[0].text, "2026-12-20..2027-01-03 Europe/Berlin: year-end");
        check_int(f[1].to, utc("2027-02-01T10:30:15Z"));

        /* no constraint: now */
        check_int(change_policy_next(NULL, 0, NULL, 0, NULL, 0, utc("2026-12-21T12:00:00Z"), &at, &why), 1);
        check(!why);
        /* a freeze: its end, then the runbook's window (Monday 2027-01-04 08:00) */
        check_int(change_policy_next(w, n_w, NULL, 0, f, n_f, utc("2026-12-21T12:00:00Z"), &at, &why), 0);
        check_int(at, utc("2027-01-04T08:00:00Z"));
        check_streq(why, "in the change freeze 2026-12-20..2027-01-03 Europe/Berlin: year-end");
        why = mfree(why);
        /* both windows: the runbook's is open, the target's opens at 09:00 */
        check_int(change_policy_next(w, n_w, t, n_t, f, n_f, utc("2026-12-18T08:30:00Z"), &at, &why), 0);
        check_int(at, utc("2026-12-18T09:00:00Z"));
        check_streq(why, "outside the target's change windows (daily 09:00-10:00 UTC)");
        why = mfree(why);
        check_int(change_policy_next(w, n_w, t, n_t, f, n_f, utc("2026-12-18T09:15:00Z"), &at, &why), 1);
        /* the freeze by the minute ends at 10:30:15, inside both windows */
        check_int(change_policy_next(w, n_w, t, n_t, f, n_f, utc("2027-02-01T10:00:00Z"), &at, &why), 0);
        check_int(at, utc("2027-02-02T09:00:00Z"));   /* the target's window closed at 10:00 */
        why = mfree(why);
        check_int(change_policy_next(w, n_w, NULL, 0, f, n_f, utc("2027-02-01T10:00:00Z"), &at, &why), 0);
        check_int(at, utc("2027-02-01T10:30:15Z"));
        why = mfree(why);
        change_freezes_free(f, n_f);
        change_windows_free(w, n_w);
        change_windows_free(t, n_t);

        /* windows that never overlap: nothing within the horizon */
        w = windows("[{\"days\": \"Mon\", \"from\": \"08:00\", \"to\": \"09:00\", \"timezone\": \"UTC\"}]", &n_w);
        t = windows("[{\"days\": \"Tue\", \"from\": \"08:00\", \"to\": \"09:00\", \"timezone\": \"UTC\"}]", &n_t);
        check_int(change_policy_next(w, n_w, t, n_t, NULL, 0, utc("2026-12-18T08:30:00Z"), &at, &why), 0);
        check_int(at, 0);
        check(why);
        change_windows_free(w, n_w);
        change_windows_free(t, n_t);
}

int main(void) {
        TEST(refused);
        TEST(overnight_weekdays);
        TEST(dst);
        TEST(freeze_and_policy);
        return 0;
}
