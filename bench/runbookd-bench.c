/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* runbookd-bench: the measuring client of bench/run.sh (not installed).
 *
 *   runbookd-bench start-rate CLIENTS COUNT RUNBOOK   StartSession from CLIENTS connections at once
 *   runbookd-bench approve-latency COUNT RUNBOOK      Approve() call to the step seen running
 *   runbookd-bench session-time RUNBOOK               StartSession to the session seen finished
 *   runbookd-bench session-result RUNBOOK             the same, and its end state: fails unless succeeded
 *   runbookd-bench startup -- RUNBOOKD ARGS...      exec to READY=1 (and the daemon's CPU time by then),
 *                                                     and RSS at READY
 *   runbookd-bench rss PID                            VmRSS of a process, KiB
 *   runbookd-bench populate STATE_DIR COUNT           COUNT finished sessions written to a store
 *   runbookd-bench ping COUNT                         baseline: a D-Bus round trip to runbookd (Peer.Ping)
 *   runbookd-bench list-pending COUNT EXPECT          ListPendingApprovals round trip; fails unless every
 *                                                     reply holds EXPECT entries
 *   runbookd-bench fsync DIR COUNT                    baseline: write + fdatasync of 4 KiB in DIR
 *
 * Times are printed as "name value unit" lines for run.sh (and pending.sh) to collect. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "model/session.h"
#include "shared/util.h"
#include "store/store-records.h"

#define BUS "org.runbookd1"

static int cmp_u64(const void *a, const void *b) {
        usec_t x = *(const usec_t *) a, y = *(const usec_t *) b;
        return x < y ? -1 : x > y;
}

static void print_stats(const char *name, usec_t *v, size_t n) {
        qsort(v, n, sizeof(usec_t), cmp_u64);
        printf("%s_median %.3f ms\n", name, v[n / 2] / 1000.0);
        printf("%s_p90 %.3f ms\n", name, v[(n * 9) / 10] / 1000.0);
        printf("%s_min %.3f ms\n", name, v[0] / 1000.0);
}

/* ---- start-rate ---- */

typedef struct Client {
        sd_bus *bus;
        const char *runbook;
        unsigned *left;
        unsigned *done;
        unsigned *failed;
        unsigned id;
} Client;

static int send_start(Client *c);

static int start_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Client *c = userdata;

        if (sd_bus_message_is_method_error(m, NULL)) {
                if (*c->failed == 0)
                        fprintf(stderr, "StartSession failed: %s\n", sd_bus_message_get_error(m)->message);
                (*c->failed)++;
        }
        (*c->done)++;
        if (*c->left > 0)
                return send_start(c);
        return 0;
}

static int send_start(Client *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        char ref[64];
        int r;

        (*c->left)--;
        snprintf(ref, sizeof ref, "bench-%u-%u", c->id, *c->left);
        r = sd_bus_message_new_method_call(c->bus, &m, BUS, "/org/runbookd1", "org.runbookd1.Manager", "StartSession");
        if (r >= 0)
                r = sd_bus_message_append(m, "ssa{ss}", c->runbook, ref, 0);
        if (r >= 0)
                r = sd_bus_call_async(c->bus, NULL, m, start_reply, c, 0);
        return r;
}

static int cmd_start_rate(unsigned clients, unsigned count, const char *runbook) {
        sd_event *e = NULL;
        Client *cs = calloc(clients, sizeof(Client));
        unsigned left = count, done = 0, failed = 0;
        usec_t t0, t1;
        int r;

        sd_event_default(&e);
        for (unsigned i = 0; i < clients; i++) {
                cs[i] = (Client) { .runbook = runbook, .left = &left, .done = &done, .failed = &failed, .id = i };
                r = sd_bus_open_system(&cs[i].bus);
                if (r < 0)
                        return fprintf(stderr, "bus: %s\n", strerror(-r)), 1;
                sd_bus_attach_event(cs[i].bus, e, 0);
        }
        t0 = now_usec(CLOCK_MONOTONIC);
        for (unsigned i = 0; i < clients && left > 0; i++)
                send_start(&cs[i]);
        while (done < count)
                if (sd_event_run(e, UINT64_MAX) < 0)
                        return 1;
        t1 = now_usec(CLOCK_MONOTONIC);
        printf("start_rate %.0f sessions/s\n", count / ((t1 - t0) / 1e6));
        printf("start_failed %u calls\n", failed);
        for (unsigned i = 0; i < clients; i++)
                sd_bus_flush_close_unref(cs[i].bus);
        free(cs);
        sd_event_unref(e);
        return failed ? 1 : 0;
}

/* ---- waiting for a property through PropertiesChanged ---- */

typedef struct Watch {
        const char *path;
        const char *const *states;  /* any of these ends the wait */
        usec_t seen;
} Watch;

static int on_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Watch *w = userdata;
        const char *iface, *name, *value;

        if (w->seen || !streq(sd_bus_message_get_path(m), w->path))
                return 0;
        if (sd_bus_message_read(m, "s", &iface) < 0 || sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
                return 0;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                if (sd_bus_message_read(m, "s", &name) < 0)
                        return 0;
                if (streq(name, "State")) {
                        if (sd_bus_message_read(m, "v", "s", &value) < 0)
                                return 0;
                        for (const char *const *s = w->states; *s; s++)
                                if (streq(*s, value))
                                        w->seen = now_usec(CLOCK_MONOTONIC);
                } else if (sd_bus_message_skip(m, "v") < 0)
                        return 0;
                if (sd_bus_message_exit_container(m) < 0)
                        return 0;
        }
        return 0;
}

static int wait_seen(sd_bus *bus, Watch *w) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 600 * USEC_PER_SEC;  /* a 1,000-host step, cold */

        while (!w->seen) {
                int r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                if (now_usec(CLOCK_MONOTONIC) > deadline)
                        return -ETIMEDOUT;
                r = sd_bus_wait(bus, 100000);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int start_session(sd_bus *bus, const char *runbook, uint32_t *ret_id) {
        _cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        int r;

        r = sd_bus_call_method(bus, BUS, "/org/runbookd1", "org.runbookd1.Manager", "StartSession", &err, &reply,
                               "ssa{ss}", runbook, "bench", 0);
        if (r < 0) {
                fprintf(stderr, "StartSession: %s\n", err.message);
                return r;
        }
        return sd_bus_message_read(reply, "uo", ret_id, &path);
}

static int cmd_approve_latency(unsigned count, const char *runbook) {
        static const char *const running[] = { "running", "succeeded", "failed", NULL };
        sd_bus *bus = NULL;
        usec_t *lat = calloc(count, sizeof(usec_t));
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return 1;
        for (unsigned i = 0; i < count; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
                sd_bus_slot *slot = NULL;
                char path[128], spath[96];
                uint32_t id;
                usec_t t0;
                Watch w;

                if (start_session(bus, runbook, &id) < 0)
                        return 1;
                snprintf(path, sizeof path, "/org/runbookd1/session/%u/step/0", id);
                snprintf(spath, sizeof spath, "/org/runbookd1/session/%u", id);
                w = (Watch) { .path = path, .states = running };
                r = sd_bus_match_signal(bus, &slot, BUS, path, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                        on_changed, &w);
                if (r < 0)
                        return 1;
                t0 = now_usec(CLOCK_MONOTONIC);
                r = sd_bus_call_method(bus, BUS, spath, "org.runbookd1.Session", "Approve", &err, NULL, "s", "bench");
                if (r < 0) {
                        fprintf(stderr, "Approve: %s\n", err.message);
                        return 1;
                }
                if (wait_seen(bus, &w) < 0)
                        return fprintf(stderr, "no running state seen for %s\n", path), 1;
                lat[i] = w.seen - t0;
                sd_bus_slot_unref(slot);
        }
        print_stats("approve_latency", lat, count);
        free(lat);
        sd_bus_flush_close_unref(bus);
        return 0;
}

static int get_state(sd_bus *bus, const char *path, char **ret) {
        return sd_bus_get_property_string(bus, BUS, path, "org.runbookd1.Session", "State", NULL, ret);
}

/* session-time, and with 'check' (session-result) also the end state ("session_state S"): exit 1
 * unless the session succeeded. */
static int cmd_session_time(const char *runbook, bool check) {
        static const char *const done[] = { "succeeded", "failed", "cancelled", "rejected", NULL };
        _cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *state = NULL;
        sd_bus_slot *slot = NULL;
        sd_bus *bus = NULL;
        char path[96];
        const char *opath;
        uint32_t id;
        usec_t t0;
        Watch w;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return 1;
        t0 = now_usec(CLOCK_MONOTONIC);
        r = sd_bus_call_method(bus, BUS, "/org/runbookd1", "org.runbookd1.Manager", "StartSession", &err, &reply,
                               "ssa{ss}", runbook, "bench", 0);
        if (r < 0)
                return fprintf(stderr, "StartSession: %s\n", err.message), 1;
        sd_bus_message_read(reply, "uo", &id, &opath);
        snprintf(path, sizeof path, "%s", opath);
        if (check) {
                printf("session_id %u\n", id);
                fflush(stdout);
        }
        /* only this session's own signals (not its steps'): watch, then look, so that an end
         * between the reply and the match is not missed */
        w = (Watch) { .path = path, .states = done };
        r = sd_bus_match_signal(bus, &slot, BUS, path, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                on_changed, &w);
        if (r < 0)
                return 1;
        r = get_state(bus, path, &state);
        if (r < 0)
                return 1;
        for (const char *const *s = done; *s; s++)
                if (streq(*s, state))
                        w.seen = now_usec(CLOCK_MONOTONIC);
        if (wait_seen(bus, &w) < 0)
                return fprintf(stderr, "session %u did not finish\n", id), 1;
        printf("session_time %.3f ms\n", (w.seen - t0) / 1000.0);
        sd_bus_slot_unref(slot);
        if (check) {
                state = mfree(state);
                r = get_state(bus, path, &state);
                if (r < 0)
                        return fprintf(stderr, "session %u: State: %s\n", id, strerror(-r)), 1;
                printf("session_state %s\n", state);
        }
        sd_bus_flush_close_unref(bus);
        return check && !streq(state, "succeeded") ? 1 : 0;
}

/* ---- start-up ---- */

static long rss_kib(pid_t pid) {
        char p[64], line[256];
        long kib = -1;
        FILE *f;

        snprintf(p, sizeof p, "/proc/%d/status", (int) pid);
        f = fopen(p, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}

/* Time a process has been on a CPU, summed over its threads (/proc/PID/task/TID/schedstat: ns),
 * or -1: less sensitive to other load on the machine than the wall time. */
static double cpu_ms(pid_t pid) {
        char p[64];
        unsigned long long ns, sum = 0;
        struct dirent *de;
        DIR *d;

        snprintf(p, sizeof p, "/proc/%d/task", (int) pid);
        d = opendir(p);
        if (!d)
                return -1;
        while ((de = readdir(d))) {
                char q[384];
                FILE *f;
                if (de->d_name[0] == '.')
                        continue;
                snprintf(q, sizeof q, "/proc/%d/task/%s/schedstat", (int) pid, de->d_name);
                f = fopen(q, "re");
                if (f && fscanf(f, "%llu", &ns) == 1)
                        sum += ns;
                if (f)
                        fclose(f);
        }
        closedir(d);
        return sum / 1e6;
}

static int cmd_startup(char **argv) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char buf[4096];
        usec_t t0;
        pid_t pid;
        int fd;

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        snprintf(sa.sun_path, sizeof sa.sun_path, "/tmp/runbookd-bench-notify-%d", (int) getpid());
        unlink(sa.sun_path);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return perror("notify socket"), 1;
        setenv("NOTIFY_SOCKET", sa.sun_path, 1);
        t0 = now_usec(CLOCK_MONOTONIC);
        pid = fork();
        if (pid == 0) {
                execv(argv[0], argv);
                _exit(127);
        }
        /* a daemon that exits (or never gets ready) ends the benchmark instead of hanging it */
        struct timeval tick = { .tv_usec = 200000 };
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);
        for (;;) {
                ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
                int status;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        if (waitpid(pid, &status, WNOHANG) == pid) {
                                fprintf(stderr, "runbookd exited (status %d) before READY=1\n",
                                        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
                                return 1;
                        }
                        if (now_usec(CLOCK_MONOTONIC) - t0 > 60 * USEC_PER_SEC) {
                                fprintf(stderr, "runbookd did not send READY=1 within 60 s\n");
                                kill(pid, SIGKILL);
                                return 1;
                        }
                        continue;
                }
                if (n < 0)
                        return perror("recv"), 1;
                buf[n] = 0;
                if (strstr(buf, "READY=1"))
                        break;
        }
        printf("startup_to_ready %.3f ms\n", (now_usec(CLOCK_MONOTONIC) - t0) / 1000.0);
        printf("cpu_to_ready %.3f ms\n", cpu_ms(pid));
        usleep(200000);
        printf("rss_after_ready %ld KiB\n", rss_kib(pid));
        printf("pid %d\n", (int) pid);
        fflush(stdout);
        unlink(sa.sun_path);
        return 0;
}

/* ---- populate ---- */

static const char snapshot_json[] =
        "{\"description\":\"Restart a web service and verify it\","
        "\"parameters\":{\"service\":{\"default\":\"nginx\",\"pattern\":\"^[a-z0-9@._-]+$\"}},"
        "\"prechecks\":[{\"name\":\"disk space\",\"run\":\"df -h /\"}],"
        "\"steps\":[{\"name\":\"restart\",\"run\":\"systemctl restart {{service}}\",\"timeout\":120}],"
        "\"postchecks\":[{\"name\":\"is active\",\"run\":\"systemctl is-active {{service}}\",\"approval\":\"none\"}]}";

struct populate_ctx {
        Session *s;
        uint32_t first, count;
};

static int populate_fn(StoreTxn *t, void *userdata) {
        struct populate_ctx *c = userdata;

        for (uint32_t i = 0; i < c->count; i++) {
                c->s->id = c->first + i;
                store_save_session(t, c->s, true);
                for (size_t j = 0; j < c->s->n_steps; j++)
                        store_save_step(t, &c->s->steps[j]);
                store_put_output(t, c->s->id, 0, 0, (const uint8_t *) "Filesystem Size Used Avail Use% Mounted on\n", 44);
        }
        store_meta_put_u64(t, "next_session_id", (uint64_t) c->first + c->count);
        return t->ret;
}

static int cmd_populate(const char *dir, uint32_t count) {
        static const char *const names[] = { "disk space", "restart", "is active" };
        static const char *const cmds[] = { "df -h /", "systemctl restart 'nginx'", "systemctl is-active 'nginx'" };
        json_error_t jerr;
        Store *store = NULL;
        Session *s;
        usec_t now = now_usec(CLOCK_REALTIME);
        int r;

        r = store_open(dir, &store);
        if (r < 0)
                return fprintf(stderr, "store: %s\n", strerror(-r)), 1;
        s = calloc(1, sizeof(Session));
        s->runbook = strdup("restart-service");
        s->reference = strdup("CHG-0001");
        s->creator_name = strdup("alice");
        s->creator_uid = 1000;
        s->creator_login_uid = UID_INVALID;
        s->parameters = json_pack("{s:s}", "service", "nginx");
        s->snapshot = json_loads(snapshot_json, 0, &jerr);
        s->state = SESSION_SUCCEEDED;
        s->created_at = now;
        s->finished_at = now;
        s->current_step = -1;
        s->n_steps = 3;
        s->steps = calloc(3, sizeof(Step));
        for (unsigned i = 0; i < 3; i++) {
                Step *st = &s->steps[i];
                st->session = s;
                st->index = i;
                st->name = strdup(names[i]);
                st->phase = (StepPhase) i;
                st->command = strdup(cmds[i]);
                st->target = strdup("local");
                st->connector = strdup("local");
                st->requires_approval = i < 2;
                st->approvals_required = 1;
                st->timeout_usec = 600 * USEC_PER_SEC;
                st->state = STEP_SUCCEEDED;
                st->exit_status = 0;
                st->attempt = 1;
                st->started_at = now;
                st->finished_at = now;
                step_compute_digest("local", "local", NULL, st->command, &st->digest);
                if (i < 2) {
                        st->approvals = calloc(1, sizeof(Approval));
                        st->approvals[0] = (Approval) { .uid = 1001, .user = strdup("bob"), .login_uid = UID_INVALID, .approve = true, .time = now,
                                                        .comment = strdup("ok"), .digest = strdup(st->digest), .attempt = 1 };
                        st->n_approvals = 1;
                }
        }
        for (uint32_t first = 1; first <= count; first += 5000) {
                struct populate_ctx c = { s, first, MIN(5000u, count - first + 1) };
                r = store_write(store, populate_fn, &c);
                if (r < 0)
                        return fprintf(stderr, "write: %s\n", strerror(-r)), 1;
        }
        store_sync(store);
        session_free(s);
        store_free(store);
        printf("populated %u sessions\n", count);
        return 0;
}

static int cmd_ping(unsigned count) {
        usec_t *lat = calloc(count, sizeof(usec_t));
        sd_bus *bus = NULL;

        if (sd_bus_open_system(&bus) < 0)
                return 1;
        for (unsigned i = 0; i < count; i++) {
                usec_t t0 = now_usec(CLOCK_MONOTONIC);
                if (sd_bus_call_method(bus, BUS, "/org/runbookd1", "org.freedesktop.DBus.Peer", "Ping", NULL, NULL, "") < 0)
                        return 1;
                lat[i] = now_usec(CLOCK_MONOTONIC) - t0;
        }
        print_stats("bus_round_trip", lat, count);
        free(lat);
        sd_bus_flush_close_unref(bus);
        return 0;
}

/* ---- list-pending ---- */

/* The bytes of a reply's body on the wire (D-Bus marshalling: each value aligned to its own
 * size, a string as u32 length + bytes + NUL, a struct aligned to 8), counted as the entries are
 * read: sd-bus has no public call for a message's size. The header (~100 bytes) is not counted;
 * an empty array is 8 bytes (its length, and the padding to its elements' alignment). */
static size_t wire_align(size_t off, size_t a) {
        return (off + a - 1) & ~(a - 1);
}

static size_t wire_string(size_t off, const char *s) {
        return wire_align(off, 4) + 4 + strlen(s) + 1;
}

static int read_pending(sd_bus_message *reply, size_t *ret_entries, size_t *ret_bytes) {
        size_t n = 0, off = 8; /* the array's length (4), padded to its elements' alignment (8) */
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "(uussssssustuuot)");
        if (r < 0)
                return r;
        for (;;) {
                const char *runbook, *reference, *step, *phase, *command, *target, *creator, *path;
                uint32_t id, index, uid, approvals, required;
                uint64_t since, deadline;

                r = sd_bus_message_read(reply, "(uussssssustuuot)", &id, &index, &runbook, &reference, &step, &phase,
                                        &command, &target, &uid, &creator, &since, &approvals, &required, &path,
                                        &deadline);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                off = wire_align(off, 8) + 8;                         /* u session_id, u step_index */
                off = wire_string(off, runbook);
                off = wire_string(off, reference);
                off = wire_string(off, step);
                off = wire_string(off, phase);
                off = wire_string(off, command);
                off = wire_string(off, target);
                off = wire_align(off, 4) + 4;                         /* u creator_uid */
                off = wire_string(off, creator);
                off = wire_align(off, 8) + 8;                         /* t waiting_since */
                off = wire_align(off, 4) + 8;                         /* u approvals, u approvals_required */
                off = wire_string(off, path);
                off = wire_align(off, 8) + 8;                         /* t approval_deadline */
                n++;
        }
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        *ret_entries = n;
        *ret_bytes = off;
        return 0;
}

/* COUNT calls, one after another; the time is the call's round trip (sent to reply received),
 * the entries are read and counted after the clock stops. */
static int cmd_list_pending(unsigned count, long expect) {
        usec_t *lat = calloc(count, sizeof(usec_t));
        size_t entries = 0, bytes = 0;
        sd_bus *bus = NULL;
        int r;

        if (!lat || count == 0)
                return 1;
        r = sd_bus_open_system(&bus);
        if (r < 0)
                return fprintf(stderr, "bus: %s\n", strerror(-r)), 1;
        for (unsigned i = 0; i < count; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                usec_t t0 = now_usec(CLOCK_MONOTONIC);

                r = sd_bus_call_method(bus, BUS, "/org/runbookd1", "org.runbookd1.Manager", "ListPendingApprovals", &err,
                                       &reply, "");
                lat[i] = now_usec(CLOCK_MONOTONIC) - t0;
                if (r < 0)
                        return fprintf(stderr, "ListPendingApprovals: %s\n", err.message ?: strerror(-r)), 1;
                r = read_pending(reply, &entries, &bytes);
                if (r < 0)
                        return fprintf(stderr, "ListPendingApprovals reply: %s\n", strerror(-r)), 1;
                if (expect >= 0 && entries != (size_t) expect)
                        return fprintf(stderr, "ListPendingApprovals returned %zu entries, expected %ld\n", entries, expect), 1;
        }
        print_stats("list_pending", lat, count);  /* sorts lat */
        printf("list_pending_p95 %.3f ms\n", lat[(count * 95) / 100] / 1000.0);
        printf("list_pending_max %.3f ms\n", lat[count - 1] / 1000.0);
        printf("list_pending_entries %zu entries\n", entries);
        printf("list_pending_body %zu bytes\n", bytes);
        free(lat);
        sd_bus_flush_close_unref(bus);
        return 0;
}

static int cmd_fsync(const char *dir, unsigned count) {
        usec_t *lat = calloc(count, sizeof(usec_t));
        char path[4096], block[4096] = {};
        int fd;

        snprintf(path, sizeof path, "%s/fsync-probe", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return perror("open"), 1;
        for (unsigned i = 0; i < count; i++) {
                usec_t t0 = now_usec(CLOCK_MONOTONIC);
                if (pwrite(fd, block, sizeof block, (off_t) (i % 64) * 4096) < 0 || fdatasync(fd) < 0)
                        return perror("fdatasync"), 1;
                lat[i] = now_usec(CLOCK_MONOTONIC) - t0;
        }
        close(fd);
        unlink(path);
        print_stats("fsync", lat, count);
        free(lat);
        return 0;
}

int main(int argc, char *argv[]) {
        signal(SIGPIPE, SIG_IGN);
        if (argc >= 5 && streq(argv[1], "start-rate"))
                return cmd_start_rate((unsigned) atoi(argv[2]), (unsigned) atoi(argv[3]), argv[4]);
        if (argc >= 4 && streq(argv[1], "approve-latency"))
                return cmd_approve_latency((unsigned) atoi(argv[2]), argv[3]);
        if (argc >= 3 && streq(argv[1], "session-time"))
                return cmd_session_time(argv[2], false);
        if (argc >= 3 && streq(argv[1], "session-result"))
                return cmd_session_time(argv[2], true);
        if (argc >= 4 && streq(argv[1], "startup") && streq(argv[2], "--"))
                return cmd_startup(argv + 3);
        if (argc >= 3 && streq(argv[1], "rss"))
                return printf("rss %ld KiB\n", rss_kib(atoi(argv[2]))) < 0;
        if (argc >= 3 && streq(argv[1], "ping"))
                return cmd_ping((unsigned) atoi(argv[2]));
        if (argc >= 4 && streq(argv[1], "list-pending"))
                return cmd_list_pending((unsigned) atoi(argv[2]), atol(argv[3]));
        if (argc >= 4 && streq(argv[1], "fsync"))
                return cmd_fsync(argv[2], (unsigned) atoi(argv[3]));
        if (argc >= 4 && streq(argv[1], "populate"))
                return cmd_populate(argv[2], (uint32_t) atoi(argv[3]));
        fprintf(stderr, "usage: see the head of bench/runbookd-bench.c\n");
        return 2;
}
