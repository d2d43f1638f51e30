/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ssh.c: the "ssh" connector: runs a step's command on a host over SSH (libssh2, non-blocking,
 * on the daemon's sd-event loop), with a pooled, authenticated connection (ssh-pool.c).
 *
 * A job: acquire a connection → open a session channel → exec the wrapped command → read stdout
 * and stderr into the job's captures until EOF → close → exit status or signal → give the
 * connection back to the pool → 'done'. A reused connection that fails before the command was
 * sent is replaced once by a new one (the command cannot have run).
 *
 * Stopping the remote command. Closing a channel does not stop the command: sshd (without a pty)
 * does not signal it. So the command is wrapped (ssh-wrap.c) to run in a process group of its own
 * whatever the server does, and to report that group on the first stdout line, which the
 * connector strips before anything reaches the capture (as for local, a command that makes its
 * own group escapes). On timeout or cancel, the connector opens a second channel on the same
 * connection and runs 'kill -TERM -<pgid>' (with CONT), then 'kill -KILL -<pgid>' after the
 * grace period the local connector uses; the first channel then ends on its own with the
 * command's exit signal. If the host could give the command no group of its own (no setsid), the
 * wrapper says why, only the command's shell is signalled, and the step's result says that what
 * it started may still run. If the group is not known yet (the command was just sent), the kill is
 * sent as soon as the line arrives. If the channel still has not ended a grace period after KILL
 * (or the connection is broken), the connection is dropped and the step ends anyway. */

#include <assert.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>

#include "config/template.h"
#include "connector/connector.h"
#include "connector/ssh/ssh-check.h"
#include "connector/ssh/ssh-pool.h"
#include "connector/ssh/ssh-wrap.h"
#include "shared/log.h"

#define SSH_KILL_GRACE_USEC (5 * USEC_PER_SEC)
#define SSH_READ_PER_DISPATCH (256 * 1024)

typedef enum ChanPhase {
        CH_NONE,        /* not begun */
        CH_OPEN,
        CH_EXEC,
        CH_SEND,        /* the secrets' values on stdin, then EOF (only with secrets) */
        CH_SEND_EOF,
        CH_READ,        /* until EOF */
        CH_CLOSE,
        CH_WAIT_CLOSED,
        CH_FREE,
        CH_DONE,
} ChanPhase;

typedef struct SshChan {
        ChanPhase phase;
        LIBSSH2_CHANNEL *ch;
        char *command;
        char *input;              /* sent on stdin after exec (wiped when freed); NULL: none */
        size_t input_len, input_sent;
} SshChan;

typedef enum SshStop {
        SSH_STOP_NONE,
        SSH_STOP_TIMEOUT,
        SSH_STOP_CANCEL,
} SshStop;

typedef struct SshJob {
        ConnectorJob job;
        SshEndpoint ep;
        SshAcquire *acq;
        SshConn *conn;
        bool retried;
        bool reused;
        SshChan main;
        SshChan kill[2];                  /* TERM, KILL */
        char header[SSH_WRAP_HEADER_MAX];
        size_t header_len;
        bool header_done;
        SshWrapHeader target;             /* what to signal; .pid 0: not known */
        SshStop stop;
        unsigned kills_due;               /* kill channels to start once the target is known */
        usec_t timeout_usec;
        sd_event_source *timer;           /* timeout, then the kill grace, then the give-up */
        unsigned grace_stage;
        sd_event_source *kick;            /* continue pumping (read budget used up; finishing) */
        bool broken;                      /* the connection is unusable: finish, drop it */
        int exit_status;
        int exit_signal;
        StepResult pending;               /* an early result (error, stop before exec) */
        bool has_pending;
        char *message;
} SshJob;

static usec_t ssh_kill_grace = SSH_KILL_GRACE_USEC;

void connector_ssh_set_kill_grace(usec_t usec) {
        ssh_kill_grace = usec > 0 ? usec : SSH_KILL_GRACE_USEC;
}

static SshJob *ssh_job(ConnectorJob *j) {
        return (SshJob *) j;
}

static void ssh_pump(SshJob *s);
static void ssh_job_acquire(SshJob *s, bool fresh);

/* ---- result ---- */

static void chan_abandon(SshChan *c) {
        /* only on a connection that is being dropped: libssh2 frees it with the session */
        c->ch = NULL;
        c->phase = CH_DONE;
}

static bool chan_idle(const SshChan *c) {
        return c->phase == CH_NONE || c->phase == CH_DONE;
}

static void ssh_release(SshJob *s, bool reusable) {
        SshConn *c = TAKE_PTR(s->conn);

        if (!c)
                return;
        if (!reusable) {
                chan_abandon(&s->main);
                chan_abandon(&s->kill[0]);
                chan_abandon(&s->kill[1]);
        }
        ssh_pool_release(c, reusable);
}

static void ssh_finish(SshJob *s, StepResult *res) {
        bool clean = !s->broken && s->main.phase == CH_DONE && chan_idle(&s->kill[0]) && chan_idle(&s->kill[1]);

        s->timer = sd_event_source_disable_unref(s->timer);
        s->kick = sd_event_source_disable_unref(s->kick);
        s->acq = ssh_acquire_free(s->acq);
        if (!res->connection && s->conn)   /* how the target was reached, if it was */
                res->connection = s->reused ? "reused" : "new";
        ssh_release(s, clean || (s->conn && s->main.phase == CH_NONE && !s->broken));
        connector_job_finish(&s->job, res);
}

_printf_(3, 4)
static void ssh_fail(SshJob *s, int error, const char *fmt, ...) {
        StepResult res = { .outcome = OUTCOME_ERROR, .exit_status = -1, .error = error };
        va_list ap;

        free(s->message);
        va_start(ap, fmt);
        (void) vasprintf_safe(&s->message, fmt, ap);
        va_end(ap);
        res.message = s->message;
        s->broken = true;
        ssh_finish(s, &res);
}

static int on_kick(sd_event_source *es, void *userdata);

static void ssh_kick(SshJob *s) {
        if (!s->kick) {
                if (sd_event_add_defer(s->job.event, &s->kick, on_kick, s) < 0)
                        return;
                (void) sd_event_source_set_description(s->kick, "ssh-kick");
        } else
                (void) sd_event_source_set_enabled(s->kick, SD_EVENT_ONESHOT);
}

static int on_kick(sd_event_source *es, void *userdata) {
        SshJob *s = userdata;

        (void) sd_event_source_set_enabled(es, SD_EVENT_OFF);
        if (s->has_pending) {
                s->has_pending = false;
                ssh_finish(s, &s->pending);
                return 0;
        }
        if (s->conn)
                ssh_pump(s);
        return 0;
}

/* Finishes from the loop with 'res' (for results known inside start() or cancel()). */
static void ssh_finish_later(SshJob *s, StepOutcome outcome, const char *message) {
        s->pending = (StepResult) { .outcome = outcome, .exit_status = -1, .message = message };
        s->has_pending = true;
        ssh_kick(s);
}

static int signal_from_name(const char *name) {
        if (!name)
                return 0;
        if (strncmp(name, "SIG", 3) == 0)
                name += 3;
        for (int i = 1; i < NSIG; i++) {
                const char *a = sigabbrev_np(i);
                if (a && streq(a, name))
                        return i;
        }
        return 0;
}

/* What a stop could not reach: "" if it signalled the command's whole process group. */
static const char *ssh_stop_caveat(SshJob *s, char *buf, size_t size) {
        if (s->stop == SSH_STOP_NONE || (s->target.pid > 0 && s->target.group))
                return "";
        if (s->target.pid > 0)
                snprintf(buf, size, "; only the command's shell was signalled on %s (the command could not have a "
                         "process group of its own: %s), so processes it started may still run", s->ep.host,
                         s->target.reason);
        else if (s->header_done)
                snprintf(buf, size, "; the command could not be signalled on %s (the login shell did not run "
                         "runbookd's wrapper), so it may still run", s->ep.host);
        else if (s->main.phase <= CH_OPEN || s->main.phase == CH_DONE)
                return "";   /* not sent; or it ended before it reported its group */
        else
                snprintf(buf, size, "; the command's process group on %s was not known when the connection was "
                         "given up, so it may still run", s->ep.host);
        return buf;
}

static void ssh_stop_message(SshJob *s) {
        char b[DURATION_MAX], caveat[320];
        const char *c = ssh_stop_caveat(s, caveat, sizeof caveat);

        free(s->message);
        s->message = NULL;
        if (s->stop == SSH_STOP_TIMEOUT)
                (void) asprintf_safe(&s->message, "timed out after %s%s",
                                     connector_format_timeout(b, sizeof b, s->timeout_usec), c);
        else
                (void) asprintf_safe(&s->message, "cancelled%s", c);
}

/* The command's channel is closed and freed: report how it ended. */
static void ssh_complete(SshJob *s) {
        StepResult res = { .exit_status = -1 };

        if (s->stop != SSH_STOP_NONE) {
                res.outcome = s->stop == SSH_STOP_TIMEOUT ? OUTCOME_TIMED_OUT : OUTCOME_CANCELLED;
                res.signal = s->exit_signal;
                ssh_stop_message(s);
                res.message = s->message ?: "cancelled";
        } else if (s->exit_signal > 0) {
                const char *abbrev = sigabbrev_np(s->exit_signal);
                res.outcome = OUTCOME_KILLED;
                res.signal = s->exit_signal;
                free(s->message);
                s->message = NULL;
                (void) asprintf_safe(&s->message, "killed by signal SIG%s (on %s)", strna(abbrev), s->ep.host);
                res.message = s->message;
        } else {
                res.outcome = OUTCOME_EXITED;
                res.exit_status = s->exit_status;
        }
        ssh_finish(s, &res);
}

/* ---- channels ---- */

/* Feeds stdout to the capture, minus the wrapper's first line. */
static void ssh_stdout(SshJob *s, const char *p, size_t n) {
        if (!s->header_done) {
                size_t take = 0;
                const char *nl = memchr(p, '\n', n);

                take = nl ? (size_t) (nl - p) + 1 : n;
                if (s->header_len + take > sizeof s->header - 1)
                        take = sizeof s->header - 1 - s->header_len;
                memcpy(s->header + s->header_len, p, take);
                s->header_len += take;
                s->header[s->header_len] = 0;
                p += take;
                n -= take;
                if (!nl && s->header_len < sizeof s->header - 1)
                        return;   /* wait for the rest of the line */
                s->header_done = true;
                if (ssh_wrap_parse_header(s->header, &s->target) < 0) {
                        /* not our line (an odd login shell?): keep it as output, and stopping
                         * the command will not be possible */
                        log_debug("ssh %s: no process group line from the wrapper.", s->ep.host);
                        s->target = (SshWrapHeader) {};
                        (void) output_capture_append(&s->job.output[0], s->header, s->header_len);
                }
        }
        if (n > 0 && output_capture_append(&s->job.output[0], p, n) < 0)
                log_debug("Out of memory capturing output, dropping %zu bytes.", n);
}

/* Advances one channel as far as it goes without waiting. Returns 1 if something happened,
 * 0 if it waits (or is done), negative on a broken connection. For the command's channel
 * (main) it reads into the captures, within *budget bytes. */
static int chan_step(SshJob *s, SshChan *c, bool main, size_t *budget) {
        LIBSSH2_SESSION *ses = ssh_conn_session(s->conn);
        static char buf[32 * 1024];
        ssize_t n;
        int rc, progress = 0;

        for (;;)
                switch (c->phase) {
                case CH_NONE:
                case CH_DONE:
                        return progress;
                case CH_OPEN:
                        c->ch = libssh2_channel_open_session(ses);
                        if (!c->ch) {
                                rc = libssh2_session_last_errno(ses);
                                return rc == LIBSSH2_ERROR_EAGAIN ? progress : rc;
                        }
                        c->phase = CH_EXEC;
                        progress = 1;
                        break;
                case CH_EXEC:
                        rc = libssh2_channel_exec(c->ch, c->command);
                        if (rc == LIBSSH2_ERROR_EAGAIN)
                                return progress;
                        if (rc < 0)
                                return rc;
                        c->phase = c->input ? CH_SEND : CH_READ;
                        progress = 1;
                        break;
                case CH_SEND:
                        while (c->input_sent < c->input_len) {
                                n = libssh2_channel_write(c->ch, c->input + c->input_sent, c->input_len - c->input_sent);
                                if (n == LIBSSH2_ERROR_EAGAIN)
                                        return progress;
                                if (n < 0)
                                        return (int) n;
                                c->input_sent += (size_t) n;
                                progress = 1;
                        }
                        c->phase = CH_SEND_EOF;
                        break;
                case CH_SEND_EOF:
                        rc = libssh2_channel_send_eof(c->ch);
                        if (rc == LIBSSH2_ERROR_EAGAIN)
                                return progress;
                        if (rc < 0)
                                return rc;
                        c->phase = CH_READ;
                        progress = 1;
                        break;
                case CH_READ:
                        for (int k = 0; k < 2; k++)
                                for (;;) {
                                        if (main && *budget == 0)
                                                return 1;   /* more later (kick) */
                                        n = libssh2_channel_read_ex(c->ch, k, buf, sizeof buf);
                                        if (n == LIBSSH2_ERROR_EAGAIN || n == 0)
                                                break;
                                        if (n < 0)
                                                return (int) n;
                                        progress = 1;
                                        if (!main)
                                                continue;
                                        *budget -= MIN(*budget, (size_t) n);
                                        if (k == 0)
                                                ssh_stdout(s, buf, (size_t) n);
                                        else if (output_capture_append(&s->job.output[1], buf, (size_t) n) < 0)
                                                log_debug("Out of memory capturing output, dropping %zd bytes.", n);
                                }
                        if (!libssh2_channel_eof(c->ch))
                                return progress;
                        c->phase = CH_CLOSE;
                        progress = 1;
                        break;
                case CH_CLOSE:
                        rc = libssh2_channel_close(c->ch);
                        if (rc == LIBSSH2_ERROR_EAGAIN)
                                return progress;
                        if (rc < 0)
                                return rc;
                        c->phase = CH_WAIT_CLOSED;
                        progress = 1;
                        break;
                case CH_WAIT_CLOSED:
                        rc = libssh2_channel_wait_closed(c->ch);
                        if (rc == LIBSSH2_ERROR_EAGAIN)
                                return progress;
                        if (rc < 0)
                                return rc;
                        if (main) {
                                char *sig = NULL;
                                size_t len = 0;

                                s->exit_status = libssh2_channel_get_exit_status(c->ch);
                                if (libssh2_channel_get_exit_signal(c->ch, &sig, &len, NULL, NULL, NULL, NULL) == 0 &&
                                    sig) {
                                        s->exit_signal = signal_from_name(sig);
                                        if (s->exit_signal == 0)
                                                s->exit_signal = SIGKILL;   /* unknown name: still a signal */
                                        libssh2_free(ses, sig);
                                }
                        }
                        c->phase = CH_FREE;
                        progress = 1;
                        break;
                case CH_FREE:
                        rc = libssh2_channel_free(c->ch);
                        if (rc == LIBSSH2_ERROR_EAGAIN)
                                return progress;
                        c->ch = NULL;
                        c->phase = CH_DONE;
                        if (rc < 0)
                                return rc;
                        return 1;
                }
}

/* Sends a signal to the remote command's process group (or its process, see ssh-wrap.c) over a
 * channel of its own. */
static void ssh_send_kill(SshJob *s, unsigned which) {
        SshChan *k = &s->kill[which];
        const char *sig = which == 0 ? "TERM" : "KILL";

        if (k->phase != CH_NONE)
                return;
        free(k->command);
        k->command = NULL;
        if (ssh_wrap_kill_command(&s->target, sig, &k->command) < 0)
                return;
        log_debug("ssh %s: sending SIG%s to remote %s %ld.", s->ep.host, sig,
                  s->target.group ? "process group" : "process", s->target.pid);
        k->phase = CH_OPEN;
}

/* Runs every channel as far as it goes, then waits on the socket. Loops until a pass makes no
 * progress, twice: a packet for one channel may be read from the socket while serving another. */
static void ssh_pump(SshJob *s) {
        size_t budget = SSH_READ_PER_DISPATCH;
        unsigned quiet = 0;
        int r, p;

        if (s->has_pending)
                return;   /* finishing */

        while (quiet < 2) {
                p = 0;
                r = chan_step(s, &s->main, true, &budget);
                if (r < 0)
                        goto broken;
                p |= r;
                if (s->header_done && s->kills_due > 0 && s->target.pid > 0) {
                        for (unsigned i = 0; i < s->kills_due; i++)
                                ssh_send_kill(s, i);
                        s->kills_due = 0;
                        p = 1;
                }
                for (unsigned i = 0; i < 2; i++) {
                        r = chan_step(s, &s->kill[i], false, &budget);
                        if (r < 0)
                                goto broken;
                        p |= r;
                }
                if (budget == 0) {
                        ssh_kick(s);
                        break;
                }
                quiet = p ? 0 : quiet + 1;
        }

        if (s->main.phase == CH_DONE && chan_idle(&s->kill[0]) && chan_idle(&s->kill[1]))
                return ssh_complete(s);
        r = ssh_conn_update_events(s->conn);
        if (r < 0)
                ssh_fail(s, r, "cannot watch the connection to %s: %s", ssh_conn_peer(s->conn), strerror(-r));
        return;

broken:
        if (s->main.phase == CH_OPEN && s->reused && !s->retried && s->stop == SSH_STOP_NONE) {
                /* the pooled connection died before the command was sent: replace it, once */
                log_debug("ssh %s: reused connection failed (%s), opening a new one.", ssh_conn_peer(s->conn),
                          ssh_conn_last_error(s->conn));
                s->retried = true;
                ssh_release(s, false);
                s->main.phase = CH_NONE;
                ssh_job_acquire(s, true);
                return;
        }
        if (s->stop != SSH_STOP_NONE && s->main.phase > CH_EXEC) {
                /* stopping, and the connection broke: report the stop (the kill was sent) */
                s->broken = true;
                return ssh_complete(s);
        }
        ssh_fail(s, -ECONNRESET, "%s %s: %s", s->main.phase <= CH_EXEC ? "cannot run the command on" :
                 "connection lost while the command ran on", ssh_conn_peer(s->conn), ssh_conn_last_error(s->conn));
}

static void on_conn_io(SshConn *c, void *userdata) {
        ssh_pump(userdata);
}

static void on_acquired(SshConn *c, int error, const char *message, void *userdata) {
        SshJob *s = userdata;

        s->acq = ssh_acquire_free(s->acq);
        if (!c) {
                StepResult res = { .outcome = OUTCOME_ERROR, .exit_status = -1, .error = error };
                free(s->message);
                s->message = message ? strdup(message) : NULL;
                res.message = s->message;
                s->broken = true;
                return ssh_finish(s, &res);
        }
        s->conn = c;
        s->reused = ssh_conn_reused(c);
        ssh_conn_set_handler(c, on_conn_io, s);
        if (s->stop != SSH_STOP_NONE) {
                /* stopped while connecting: the command never ran */
                StepResult res = {
                        .outcome = s->stop == SSH_STOP_TIMEOUT ? OUTCOME_TIMED_OUT : OUTCOME_CANCELLED,
                        .exit_status = -1,
                };
                ssh_stop_message(s);
                res.message = s->message ?: "cancelled";
                return ssh_finish(s, &res);
        }
        s->main.phase = CH_OPEN;
        ssh_pump(s);
}

static void ssh_job_acquire(SshJob *s, bool fresh) {
        int r = ssh_pool_acquire(s->job.event, &s->ep, fresh, on_acquired, s, &s->acq);

        if (r < 0)
                ssh_fail(s, r, "cannot connect to %s:%u: %s", s->ep.host, s->ep.port, strerror(-r));
}

/* ---- timeout and cancel ---- */

static int on_timer(sd_event_source *es, uint64_t usec, void *userdata);

static int ssh_arm_timer(SshJob *s, usec_t usec) {
        return connector_job_arm_timer(&s->job, &s->timer, usec, on_timer, s, "ssh-timer");
}

/* Stops the command: TERM now (or as soon as its process group is known), KILL after the grace
 * period, give up on the connection after another. */
static int ssh_begin_stop(SshJob *s, SshStop why) {
        if (s->stop != SSH_STOP_NONE)
                return 0;
        s->stop = why;

        if (!s->conn || s->main.phase == CH_NONE || s->main.phase == CH_OPEN) {
                /* the command was not sent: nothing runs remotely */
                if (s->conn) {
                        /* no more pumping; a half-open channel: drop the connection */
                        ssh_conn_set_handler(s->conn, NULL, NULL);
                        s->broken = s->main.phase == CH_OPEN;
                }
                ssh_stop_message(s);
                ssh_finish_later(s, why == SSH_STOP_TIMEOUT ? OUTCOME_TIMED_OUT : OUTCOME_CANCELLED,
                                 s->message ?: "cancelled");
                return 0;
        }
        if (s->target.pid > 0)
                ssh_send_kill(s, 0);
        else
                s->kills_due = 1;
        s->grace_stage = 1;
        ssh_kick(s);
        return ssh_arm_timer(s, ssh_kill_grace);
}

static int on_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        SshJob *s = userdata;

        switch (s->grace_stage) {
        case 0:
                if (ssh_begin_stop(s, SSH_STOP_TIMEOUT) < 0)
                        ssh_fail(s, -ETIMEDOUT, "timed out, and could not stop the command on %s", s->ep.host);
                return 0;
        case 1:
                if (s->target.pid > 0)
                        ssh_send_kill(s, 1);
                else
                        s->kills_due = 2;
                s->grace_stage = 2;
                ssh_kick(s);
                (void) ssh_arm_timer(s, ssh_kill_grace);
                return 0;
        default:
                /* the channel did not end after KILL: drop the connection, report the stop */
                log_debug("ssh %s: the command's channel did not close after SIGKILL, dropping the connection.",
                          s->ep.host);
                s->broken = true;
                ssh_complete(s);
                return 0;
        }
}

/* ---- the vtable ---- */

int ssh_endpoint_from_target(const Target *t, SshEndpoint *ep) {
        json_t *host = json_object_get(t->config, "host"), *port = json_object_get(t->config, "port"),
               *user = json_object_get(t->config, "user"), *id = json_object_get(t->config, "identity"),
               *kh = json_object_get(t->config, "known_hosts");

        if (!json_is_string(host) || !json_is_string(user) || !json_is_string(kh) || (id && !json_is_string(id)))
                return -EINVAL;
        return ssh_endpoint_copy(&(SshEndpoint) {
                .host = (char *) json_string_value(host),
                .port = json_is_integer(port) ? (uint16_t) json_integer_value(port) : 22,
                .user = (char *) json_string_value(user),
                .identity = id ? (char *) json_string_value(id) : NULL,
                .known_hosts = (char *) json_string_value(kh),
        }, ep);
}

static int ssh_start(ConnectorJob *j, const StepRequest *req) {
        SshJob *s = ssh_job(j);
        int r;

        s->timeout_usec = req->timeout_usec;
        s->exit_status = -1;
        /* a copy: Reload may replace the catalog while the job runs */
        r = ssh_endpoint_from_target(req->target, &s->ep);
        if (r < 0)
                return r;
        _cleanup_free_ char *read_secrets = NULL;
        r = step_secrets_read_script(req->secrets, req->n_secrets, &read_secrets);
        if (r < 0)
                return r;
        r = ssh_wrap_command(req->session_id, req->step_index, req->target->name, read_secrets, req->command,
                             &s->main.command);
        if (r < 0)
                return r;
        if (req->n_secrets > 0) {
                r = step_secrets_lines(req->secrets, req->n_secrets, &s->main.input, &s->main.input_len);
                if (r < 0)
                        return r;
        }
        r = ssh_pool_acquire(j->event, &s->ep, false, on_acquired, s, &s->acq);
        if (r < 0)
                return r;
        if (req->timeout_usec > 0) {
                r = ssh_arm_timer(s, req->timeout_usec);
                if (r < 0)
                        return r;
        }
        log_debug("ssh %s@%s:%u: session %" PRIu32 " step %" PRIu32 ": '%s'.", s->ep.user, s->ep.host, s->ep.port,
                  req->session_id, req->step_index, req->command);
        return 0;
}

static int ssh_cancel(ConnectorJob *j) {
        return ssh_begin_stop(ssh_job(j), SSH_STOP_CANCEL);
}

static void ssh_destroy(ConnectorJob *j) {
        SshJob *s = ssh_job(j);

        s->timer = sd_event_source_disable_unref(s->timer);
        s->kick = sd_event_source_disable_unref(s->kick);
        s->acq = ssh_acquire_free(s->acq);
        /* freed while running (daemon shutdown): the connection cannot be reused */
        ssh_release(s, false);
        free(s->main.command);
        if (s->main.input)
                wipe_free(s->main.input, s->main.input_len + 1);
        free(s->kill[0].command);
        free(s->kill[1].command);
        free(s->message);
        ssh_endpoint_done(&s->ep);
}

void connector_ssh_configure(unsigned max_idle) {
        ssh_pool_set_idle_max(max_idle);
}

const ConnectorVTable connector_ssh = {
        .name = "ssh",
        .object_size = sizeof(SshJob),
        .start = ssh_start,
        .cancel = ssh_cancel,
        .destroy = ssh_destroy,
        .check = ssh_check,
        .check_destroy = ssh_check_destroy,
        .shutdown = ssh_pool_shutdown,
};
