/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config-util.h"
#include "config/window.h"
#include "shared/macro.h"

static const char *const day_names[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const window_keys[] = { "days", "from", "to", "timezone", NULL };
static const char *const freeze_keys[] = { "from", "to", "timezone", "reason", NULL };

/* ---- time zones ---- */

/* The zone's file must exist: the C library takes an unknown TZ for UTC without a word. */
static bool timezone_is_valid(const char *tz) {
        _cleanup_free_ char *path = NULL;
        const char *dir = getenv("TZDIR") ?: "/usr/share/zoneinfo";

        if (isempty(tz) || strlen(tz) > 64 || tz[0] == '/' || tz[0] == '.' || strstr(tz, ".."))
                return false;
        for (const char *p = tz; *p; p++)
                if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-", *p))
                        return false;
        if (asprintf_safe(&path, "%s/%s", dir, tz) < 0)
                return false;
        /* a zone file (TZif), not a directory such as "Europe", which the C library would take for UTC */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        char magic[4];
        struct stat st;
        return fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read(fd, magic, 4) == 4 &&
               memcmp(magic, "TZif", 4) == 0;
}

/* Local time in zone 'tz' (NULL: the process's) for what follows, until zone_leave(). The loop
 * is the only thread: TZ is the process's own. */
typedef struct ZoneSaved {
        char *tz;                 /* TZ as it was; NULL: unset */
        bool changed;
} ZoneSaved;

static int zone_enter(const char *tz, ZoneSaved *saved) {
        const char *old = getenv("TZ");

        *saved = (ZoneSaved) {};
        if (!tz)
                return 0;
        if (old && !(saved->tz = strdup(old)))
                return -ENOMEM;
        /* ":NAME": a file of the database, never a POSIX rule spelled out */
        _cleanup_free_ char *v = NULL;
        if (asprintf_safe(&v, ":%s", tz) < 0 || setenv("TZ", v, 1) < 0) {
                free(saved->tz);
                return -ENOMEM;
        }
        saved->changed = true;
        tzset();
        return 0;
}

void change_windows_init(void) {
        if (!getenv("TZ"))
                (void) setenv("TZ", ":/etc/localtime", 0);
        tzset();
}

static void zone_leave(ZoneSaved *saved) {
        if (!saved->changed)
                return;
        /* never unset: the system's local time, as an unset TZ means */
        (void) setenv("TZ", saved->tz ?: ":/etc/localtime", 1);
        free(saved->tz);
        *saved = (ZoneSaved) {};
        tzset();
}

/* The instant of local day 'day' (a struct tm with year, month, day) + 'sec' seconds of the
 * clock: DST's missing hour moves on as mktime() does, a repeated one takes the first. */
static usec_t local_instant(const struct tm *day, int offset_days, int sec) {
        struct tm t = {
                .tm_year = day->tm_year, .tm_mon = day->tm_mon, .tm_mday = day->tm_mday + offset_days,
                .tm_hour = sec / 3600, .tm_min = sec / 60 % 60, .tm_sec = sec % 60, .tm_isdst = -1,
        };
        time_t x = mktime(&t);

        return x < 0 ? 0 : (usec_t) x * USEC_PER_SEC;
}

static int local_wday(const struct tm *day, int offset_days) {
        struct tm t = { .tm_year = day->tm_year, .tm_mon = day->tm_mon, .tm_mday = day->tm_mday + offset_days,
                        .tm_hour = 12, .tm_isdst = -1 };
        (void) mktime(&t);
        return t.tm_wday;
}

/* ---- parsing ---- */

static bool digits(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

/* "HH:MM" or "HH:MM:SS"; "24:00" as the end of a day when 'end' */
static int parse_clock(const char *s, bool end, int *ret) {
        size_t n = s ? strlen(s) : 0;
        int h, m, sec = 0;

        if ((n != 5 && n != 8) || !digits(s, 2) || s[2] != ':' || !digits(s + 3, 2) ||
            (n == 8 && (s[5] != ':' || !digits(s + 6, 2))))
                return -EINVAL;
        h = (s[0] - '0') * 10 + (s[1] - '0');
        m = (s[3] - '0') * 10 + (s[4] - '0');
        if (n == 8)
                sec = (s[6] - '0') * 10 + (s[7] - '0');
        if (end && h == 24 && m == 0 && sec == 0) {
                *ret = 86400;
                return 0;
        }
        if (h > 23 || m > 59 || sec > 59)
                return -EINVAL;
        *ret = h * 3600 + m * 60 + sec;
        return 0;
}

static int day_index(const char *s, size_t n) {
        for (int i = 0; i < 7; i++)
                if (n == 3 && strncmp(s, day_names[i], 3) == 0)
                        return i;
        return -1;
}

/* "Mon..Fri", "Sat,Sun", "Fri..Mon" (across the week's end), "Mon..Wed,Fri" */
static int parse_days(const char *s, uint8_t *ret) {
        uint8_t days = 0;
        const char *p = s;

        if (isempty(s))
                return -EINVAL;
        for (;;) {
                size_t len = strcspn(p, ",");
                const char *dots = memmem(p, len, "..", 2);
                int a, b;

                if (dots) {
                        a = day_index(p, (size_t) (dots - p));
                        b = day_index(dots + 2, len - (size_t) (dots + 2 - p));
                } else
                        a = b = day_index(p, len);
                if (a < 0 || b < 0)
                        return -EINVAL;
                for (int d = a;; d = (d + 1) % 7) {
                        days |= 1u << d;
                        if (d == b)
                                break;
                }
                if (p[len] == 0)
                        break;
                p += len + 1;
        }
        *ret = days;
        return 0;
}

static int parse_window(json_t *v, const char *source, const char *path, ChangeWindow *w, char **ret_error) {
        char sub[JSON_PATH_MAX + 32];
        const char *days, *from, *to, *tz;
        int r;

        if (!json_is_object(v))
                return config_error(ret_error, source, path, "must be an object: {\"days\": \"Mon..Fri\", \"from\": "
                                    "\"22:00\", \"to\": \"06:00\", \"timezone\": \"Europe/Berlin\"}");
        r = config_check_keys(v, window_keys, source, path, ret_error);
        if (r < 0)
                return r;
        days = json_string_value(json_object_get(v, "days"));
        from = json_string_value(json_object_get(v, "from"));
        to = json_string_value(json_object_get(v, "to"));
        tz = json_string_value(json_object_get(v, "timezone"));
        w->days = 0x7f;
        if (json_object_get(v, "days") && (!days || parse_days(days, &w->days) < 0)) {
                snprintf(sub, sizeof sub, "%s.days", path);
                return config_error(ret_error, source, sub, "must be days as Mon, Tue, … Sun: one, a range "
                                    "(\"Mon..Fri\", \"Fri..Mon\"), or a list of them (\"Mon..Wed,Fri\")");
        }
        snprintf(sub, sizeof sub, "%s.from", path);
        if (!json_object_get(v, "from"))
                return config_error(ret_error, source, path, "missing required key 'from' (\"HH:MM\" or \"HH:MM:SS\")");
        if (!from || parse_clock(from, false, &w->from) < 0)
                return config_error(ret_error, source, sub, "must be a time of day, \"HH:MM\" or \"HH:MM:SS\" "
                                    "(00:00 to 23:59:59)");
        snprintf(sub, sizeof sub, "%s.to", path);
        if (!json_object_get(v, "to"))
                return config_error(ret_error, source, path, "missing required key 'to' (\"HH:MM\" or \"HH:MM:SS\")");
        if (!to || parse_clock(to, true, &w->to) < 0)
                return config_error(ret_error, source, sub, "must be a time of day, \"HH:MM\" or \"HH:MM:SS\" "
                                    "(00:00 to 24:00)");
        if (json_object_get(v, "timezone")) {
                snprintf(sub, sizeof sub, "%s.timezone", path);
                if (!tz || !timezone_is_valid(tz))
                        return config_error(ret_error, source, sub, "must name a time zone of the system's database "
                                            "(e.g. \"Europe/Berlin\", \"UTC\"; see /usr/share/zoneinfo)");
                w->timezone = strdup(tz);
                if (!w->timezone)
                        return -ENOMEM;
        }
        if (asprintf_safe(&w->text, "%s %s-%s %s", days ?: "daily", from, to, tz ?: "(local time)") < 0)
                return -ENOMEM;
        return 0;
}

void change_windows_free(ChangeWindow *w, size_t n) {
        for (size_t i = 0; w && i < n; i++) {
                free(w[i].timezone);
                free(w[i].text);
        }
        free(w);
}

/* Parses each element of array 'v' into an element of a new array of 'size' bytes each, with
 * 'parse'; on failure frees the ones parsed with 'done'. */
typedef int (*parse_one_fn)(json_t *v, const char *source, const char *path, void *ret, char **ret_error);
static int parse_array(json_t *v, const char *source, const char *path, size_t size, parse_one_fn parse,
                       void (*done)(void *p, size_t n), void **ret, size_t *ret_n, char **ret_error) {
        uint8_t *a;
        json_t *e;
        size_t i, n = 0;
        int r = 0;

        a = calloc(json_array_size(v) ?: 1, size);
        if (!a)
                return -ENOMEM;
        json_array_foreach(v, i, e) {
                char sub[JSON_PATH_MAX];
                snprintf(sub, sizeof sub, "%s[%zu]", path, i);
                n++;
                r = parse(e, source, sub, a + i * size, ret_error);
                if (r < 0) {
                        done(a, n);
                        return r;
                }
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

static int parse_window_one(json_t *v, const char *source, const char *path, void *ret, char **ret_error) {
        return parse_window(v, source, path, ret, ret_error);
}

static void windows_done(void *p, size_t n) {
        change_windows_free(p, n);
}

int change_windows_parse(json_t *v, const char *source, const char *path, ChangeWindow **ret, size_t *ret_n,
                         char **ret_error) {
        if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > CHANGE_WINDOWS_MAX)
                return config_error(ret_error, source, path, "must be an array of 1 to %d windows", CHANGE_WINDOWS_MAX);
        return parse_array(v, source, path, sizeof(ChangeWindow), parse_window_one, windows_done, (void **) ret, ret_n,
                           ret_error);
}

int change_windows_check(json_t *doc, const char *source, char **ret_error) {
        ChangeWindow *w = NULL;
        size_t n = 0;
        int r;

        if (!json_object_get(doc, "windows"))
                return 0;
        r = change_windows_parse(json_object_get(doc, "windows"), source, "$.windows", &w, &n, ret_error);
        change_windows_free(w, n);
        return r;
}

/* "YYYY-MM-DD" (the start of that day; the end of it for 'to') or "YYYY-MM-DDTHH:MM[:SS]" */
static int parse_instant(const char *s, bool end, usec_t *ret) {
        size_t n = s ? strlen(s) : 0;
        int y, mo, d, clock = 0;

        if ((n != 10 && n != 16 && n != 19) || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
            !digits(s + 8, 2))
                return -EINVAL;
        if (n > 10 && (s[10] != 'T' || parse_clock(s + 11, false, &clock) < 0))
                return -EINVAL;
        y = atoi(s);
        mo = (s[5] - '0') * 10 + (s[6] - '0');
        d = (s[8] - '0') * 10 + (s[9] - '0');
        if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31)
                return -EINVAL;
        struct tm t = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_isdst = -1 };
        struct tm check = t;
        /* 2026-02-30 is not a day */
        check.tm_hour = 12;
        (void) mktime(&check);
        if (check.tm_mday != d || check.tm_mon != mo - 1)
                return -EINVAL;
        usec_t x = local_instant(&t, n == 10 && end ? 1 : 0, clock);
        if (x == 0)
                return -EINVAL;
        *ret = x;
        return 0;
}

static int parse_freeze(json_t *v, const char *source, const char *path, ChangeFreeze *f, char **ret_error) {
        char sub[JSON_PATH_MAX + 32];
        const char *from, *to, *tz, *reason;
        ZoneSaved saved;
        int r, a, b;

        if (!json_is_object(v))
                return config_error(ret_error, source, path, "must be an object: {\"from\": \"2026-12-20\", \"to\": "
                                    "\"2027-01-03\"}");
        r = config_check_keys(v, freeze_keys, source, path, ret_error);
        if (r < 0)
                return r;
        from = json_string_value(json_object_get(v, "from"));
        to = json_string_value(json_object_get(v, "to"));
        tz = json_string_value(json_object_get(v, "timezone"));
        reason = json_string_value(json_object_get(v, "reason"));
        if (json_object_get(v, "timezone") && (!tz || !timezone_is_valid(tz))) {
                snprintf(sub, sizeof sub, "%s.timezone", path);
                return config_error(ret_error, source, sub, "must name a time zone of the system's database "
                                    "(e.g. \"Europe/Berlin\", \"UTC\"; see /usr/share/zoneinfo)");
        }
        if (json_object_get(v, "reason") && (!reason || !utf8_is_printable_text(reason, 256) || strchr(reason, '\n'))) {
                snprintf(sub, sizeof sub, "%s.reason", path);
                return config_error(ret_error, source, sub, "must be one line of printable text (at most 256 characters)");
        }
        r = zone_enter(tz, &saved);
        if (r < 0)
                return r;
        a = parse_instant(from, false, &f->from);
        b = parse_instant(to, true, &f->to);
        zone_leave(&saved);
        for (int i = 0; i < 2; i++) {
                const char *key = i == 0 ? "from" : "to";
                if ((i == 0 ? a : b) >= 0)
                        continue;
                snprintf(sub, sizeof sub, "%s.%s", path, key);
                if (!json_object_get(v, key))
                        return config_error(ret_error, source, path, "missing required key '%s' (a date, "
                                            "\"YYYY-MM-DD\", or \"YYYY-MM-DDTHH:MM\")", key);
                return config_error(ret_error, source, sub, "must be a date, \"YYYY-MM-DD\", or a time, "
                                    "\"YYYY-MM-DDTHH:MM[:SS]\"");
        }
        if (f->to <= f->from) {
                snprintf(sub, sizeof sub, "%s.to", path);
                return config_error(ret_error, source, sub, "must be after 'from'");
        }
        if ((reason && !(f->reason = strdup(reason))) ||
            asprintf_safe(&f->text, "%s..%s%s%s%s%s", from, to, tz ? " " : "", strempty(tz), reason ? ": " : "",
                          strempty(reason)) < 0)
                return -ENOMEM;
        return 0;
}

void change_freezes_free(ChangeFreeze *f, size_t n) {
        for (size_t i = 0; f && i < n; i++) {
                free(f[i].reason);
                free(f[i].text);
        }
        free(f);
}

static int parse_freeze_one(json_t *v, const char *source, const char *path, void *ret, char **ret_error) {
        return parse_freeze(v, source, path, ret, ret_error);
}

static void freezes_done(void *p, size_t n) {
        change_freezes_free(p, n);
}

int change_freezes_parse(json_t *v, const char *source, const char *path, ChangeFreeze **ret, size_t *ret_n,
                         char **ret_error) {
        if (!json_is_array(v) || json_array_size(v) > CHANGE_FREEZES_MAX)
                return config_error(ret_error, source, path, "must be an array of at most %d freezes", CHANGE_FREEZES_MAX);
        return parse_array(v, source, path, sizeof(ChangeFreeze), parse_freeze_one, freezes_done, (void **) ret, ret_n,
                           ret_error);
}

/* ---- evaluation ---- */

/* Whether 't' is in window 'w' (then *ret_end, when it closes), else when it next opens after
 * 't' (0: not within 8 days, which cannot be for a window with a day). */
static bool window_open(const ChangeWindow *w, usec_t t, usec_t *ret_end, usec_t *ret_next) {
        ZoneSaved saved;
        struct tm now;
        time_t x = (time_t) (t / USEC_PER_SEC);
        bool open = false;
        usec_t next = 0;

        if (zone_enter(w->timezone, &saved) < 0 || !localtime_r(&x, &now)) {
                zone_leave(&saved);
                *ret_next = 0;
                return false;
        }
        for (int k = -1; k <= 8; k++) {
                if (!(w->days & (1u << local_wday(&now, k))))
                        continue;
                usec_t start = local_instant(&now, k, w->from);
                usec_t end = w->to > w->from ? local_instant(&now, k, w->to) : local_instant(&now, k + 1, w->to);
                if (start <= t && t < end) {
                        open = true;
                        *ret_end = end;
                        break;
                }
                if (start > t && (next == 0 || start < next))
                        next = start;
        }
        zone_leave(&saved);
        *ret_next = open ? 0 : next;
        return open;
}

bool change_windows_open(const ChangeWindow *w, size_t n, usec_t t, usec_t *ret_next) {
        usec_t next = 0;

        if (n == 0) {
                *ret_next = 0;
                return true;
        }
        for (size_t i = 0; i < n; i++) {
                usec_t end = 0, nx = 0;
                if (window_open(&w[i], t, &end, &nx)) {
                        *ret_next = 0;
                        return true;
                }
                if (nx > 0 && (next == 0 || nx < next))
                        next = nx;
        }
        *ret_next = next;
        return false;
}

static int why_windows(char **why, const char *whose, const ChangeWindow *w, size_t n) {
        _cleanup_free_ char *list = NULL;

        for (size_t i = 0; i < n; i++) {
                char *l = NULL;
                if (asprintf_safe(&l, "%s%s%s", strempty(list), list ? "; " : "", w[i].text) < 0)
                        return -ENOMEM;
                free(list);
                list = l;
        }
        return asprintf_safe(why, "outside the %s's change windows (%s)", whose, strempty(list));
}

int change_policy_next(const ChangeWindow *rw, size_t n_rw, const ChangeWindow *tw, size_t n_tw,
                       const ChangeFreeze *f, size_t n_f, usec_t now, usec_t *ret_at, char **ret_why) {
        usec_t t = now;

        *ret_at = 0;
        *ret_why = NULL;
        /* each pass moves t to where the constraint that holds it lets go; at most a few hundred
         * passes within the horizon (each window opens at most once a day, freezes are few) */
        for (unsigned pass = 0; pass < 4096; pass++) {
                usec_t next_r = 0, next_t = 0, later = t;
                bool open_r = change_windows_open(rw, n_rw, t, &next_r);
                bool open_t = change_windows_open(tw, n_tw, t, &next_t);
                const ChangeFreeze *frozen = NULL;
                int r = 0;

                for (size_t i = 0; i < n_f; i++)
                        if (f[i].from <= t && t < f[i].to && (!frozen || f[i].to > frozen->to))
                                frozen = &f[i];
                if (open_r && open_t && !frozen) {
                        if (t == now)
                                return 1;
                        *ret_at = t;
                        return 0;
                }
                if (t == now) {
                        if (frozen)
                                r = asprintf_safe(ret_why, "in the change freeze %s", frozen->text);
                        else if (!open_r)
                                r = why_windows(ret_why, "runbook", rw, n_rw);
                        else
                                r = why_windows(ret_why, "target", tw, n_tw);
                        if (r < 0)
                                return -ENOMEM;
                }
                if ((!open_r && next_r == 0) || (!open_t && next_t == 0))
                        return 0;                       /* a window that never opens */
                if (!open_r)
                        later = MAX(later, next_r);
                if (!open_t)
                        later = MAX(later, next_t);
                if (frozen)
                        later = MAX(later, frozen->to);
                if (later <= t || later - now > CHANGE_HORIZON_USEC)
                        return 0;
                t = later;
        }
        return 0;
}
