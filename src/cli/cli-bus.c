/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

#include "cli/cli-bus.h"
#include "cli/cli-output.h"

bool arg_ask_password = true;

static pid_t agent_pid = 0;

const char *const cli_session_states[] = {
        "created", "waiting_approval", "waiting_lock", "waiting_window", "running", "succeeded", "failed", "rejected", "cancelled", "interrupted",
        "expired", NULL,
};

bool cli_session_state_final(const char *state) {
        return state && (streq(state, "succeeded") || streq(state, "failed") || streq(state, "rejected") ||
                         streq(state, "cancelled") || streq(state, "interrupted") || streq(state, "expired"));
}

bool cli_step_state_final(const char *state) {
        return state && (streq(state, "succeeded") || streq(state, "failed") || streq(state, "timed_out") ||
                         streq(state, "rejected") || streq(state, "skipped") || streq(state, "cancelled") ||
                         streq(state, "interrupted") || streq(state, "expired"));
}

static bool may_ask(void) {
        return arg_ask_password && isatty(STDIN_FILENO) > 0;
}

int cli_bus_open(sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_allow_interactive_authorization(bus, may_ask());
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

/* --- the polkit text agent, as systemd's spawn-polkit-agent.c does it --- */

void polkit_agent_open(void) {
        char notify[16], process[32];
        int fds[2];
        pid_t pid;

        if (agent_pid > 0 || !may_ask() || access("/usr/bin/pkttyagent", X_OK) < 0)
                return;
        /* register for this process: that works with or without a logind session */
        snprintf(process, sizeof process, "%d", (int) getpid());
        pid = fork_with_pipe(fds);
        if (pid < 0)
                return;
        snprintf(notify, sizeof notify, "%d", fds[1]);
        if (pid == 0) {
                int fl = fcntl(fds[1], F_GETFD);
                close(fds[0]);
                if (fl < 0 || fcntl(fds[1], F_SETFD, fl & ~FD_CLOEXEC) < 0)
                        _exit(EXIT_FAILURE);
                /* the agent talks to the user on the terminal, also when our stdout is a pipe */
                if (isatty(STDOUT_FILENO) <= 0) {
                        int tty = open("/dev/tty", O_WRONLY | O_NOCTTY | O_CLOEXEC);
                        if (tty >= 0)
                                (void) dup2(tty, STDOUT_FILENO);
                }
                execl("/usr/bin/pkttyagent", "pkttyagent", "--notify-fd", notify, "--fallback", "--process", process,
                      (char *) NULL);
                _exit(EXIT_FAILURE);
        }
        close(fds[1]);
        agent_pid = pid;
        /* the agent closes the notify fd once it is registered (or exits on failure) */
        for (;;) {
                struct pollfd p = { .fd = fds[0], .events = POLLIN };
                int k = poll(&p, 1, 10000);
                if (k < 0 && errno == EINTR)
                        continue;
                break;
        }
        close(fds[0]);
}

void polkit_agent_close(void) {
        if (agent_pid <= 0)
                return;
        (void) kill(agent_pid, SIGTERM);
        (void) kill(agent_pid, SIGCONT);
        reap(agent_pid);
        agent_pid = 0;
}

/* --- errors --- */

static const char *action_description(const char *action) {
        static const struct {
                const char *action, *text;
        } table[] = {
                { RUNBOOKD_ACTION_START_SESSION, "start or retry sessions" },
                { RUNBOOKD_ACTION_APPROVE_STEP, "approve steps" },
                { RUNBOOKD_ACTION_CANCEL_SESSION, "cancel sessions" },
                { RUNBOOKD_ACTION_MANAGE, "manage runbookd" },
                { RUNBOOKD_ACTION_READ_OUTPUT, "read step output" },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(action, table[i].action))
                        return table[i].text;
        return NULL;
}

/* The daemon names the refused action in quotes: "… refused action 'org.runbookd1.x' …" */
static char *action_from_message(const char *message) {
        const char *a = message ? strstr(message, "'org.runbookd1.") : NULL;
        const char *e;

        if (!a)
                return NULL;
        a++;
        e = strchr(a, '\'');
        return e ? strndup(a, (size_t) (e - a)) : NULL;
}

int cli_bus_error(int r, const sd_bus_error *error, const char *action, const char *what) {
        _cleanup_free_ char *named = NULL, *user = NULL;
        const char *desc;

        if (r >= 0)
                r = -EIO;
        if (!error || !sd_bus_error_is_set(error))
                return cli_error(r, "Failed to %s: %s", what, strerror(-r));

        if (sd_bus_error_has_names(error, SD_BUS_ERROR_ACCESS_DENIED, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED)) {
                named = action_from_message(error->message);
                if (named)
                        action = named;
                user = uid_to_name(geteuid());
                desc = action ? action_description(action) : NULL;
                if (sd_bus_error_has_name(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))
                        return cli_error(r,
                                         "Authentication is required to %s (polkit action %s for user %s); "
                                         "run from a terminal without --no-ask-password to authenticate.",
                                         desc ?: what, strna(action), strna(user));
                if (action)
                        return cli_error(r, "Not authorized to %s (polkit action %s refused for user %s)",
                                         desc ?: what, action, strna(user));
                return cli_error(r, "Not authorized to %s: %s", what, error->message ?: "access denied");
        }
        if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                return cli_error(r, "runbookd is not running: %s is not on the system bus.", RUNBOOKD_BUS_NAME);
        if (sd_bus_error_has_names(error, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT))
                return cli_error(r, "Failed to %s: runbookd did not answer in time.", what);
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_UNKNOWN_OBJECT))
                return cli_error(r, "Failed to %s: no such object (%s).", what, strna(error->message));
        if (error->name && strncmp(error->name, "org.runbookd1.Error.", 20) == 0 && !isempty(error->message))
                /* runbookd's messages are written for people: keep them */
                return cli_error(r, "%s", error->message);
        return cli_error(r, "Failed to %s: %s", what, error->message ?: error->name);
}

/* --- ids and paths --- */

static int parse_u32(const char *s, uint32_t *ret) {
        char *end;
        unsigned long v;

        if (isempty(s) || s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end != 0 || v > UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

int parse_session_id(const char *s, uint32_t *ret) {
        return parse_u32(s, ret);
}

int parse_step_index(const char *s, uint32_t *ret) {
        return parse_u32(s, ret);
}

char *session_path_of(uint32_t id) {
        char *p;
        return asprintf_safe(&p, RUNBOOKD_SESSION_PREFIX "/%u", id) < 0 ? NULL : p;
}

char *step_path_of(uint32_t id, uint32_t index) {
        char *p;
        return asprintf_safe(&p, RUNBOOKD_SESSION_PREFIX "/%u/step/%u", id, index) < 0 ? NULL : p;
}

static void approvals_free(Approval *a, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(a[i].user);
                free(a[i].login_user);
                free(a[i].decision);
                free(a[i].comment);
                free(a[i].digest);
        }
        free(a);
}

/* --- properties --- */

void step_info_done(StepInfo *s) {
        free(s->path);
        free(s->name);
        free(s->phase);
        free(s->command);
        free(s->target);
        free(s->connector);
        free(s->state);
        free(s->digest);
        free(s->error);
        free(s->step_id);
        free(s->window_reason);
        free(s->on_failure);
        free(s->when);
        strv_free(s->captured);
        strv_free(s->approver_groups);
        approvals_free(s->approvals, s->n_approvals);
        for (size_t i = 0; i < s->n_results; i++) {
                free(s->results[i].target);
                free(s->results[i].state);
                free(s->results[i].error);
        }
        free(s->results);
        *s = (StepInfo) { .exit_status = -1 };
}

void session_info_done(SessionInfo *s) {
        free(s->path);
        free(s->runbook);
        free(s->reference);
        free(s->state);
        free(s->created_by);
        free(s->error);
        free(s->rollback);
        free(s->review);
        free(s->reviewed_by);
        free(s->review_comment);
        free(s->lock_state);
        strv_free(s->locks);
        free(s->lock_holders);
        strv_free(s->parameters);
        strv_free(s->steps);
        for (size_t i = 0; i < s->n_step_info; i++)
                step_info_done(&s->step_info[i]);
        free(s->step_info);
        *s = (SessionInfo) { .current_step = -1 };
}

static int read_string(sd_bus_message *m, char **field) {
        const char *v;
        char *c;
        int r = sd_bus_message_read(m, "v", "s", &v);
        if (r < 0)
                return r;
        c = strdup(v);
        if (!c)
                return -ENOMEM;
        free(*field);
        *field = c;
        return 0;
}

static int read_strv(sd_bus_message *m, const char *contents, char ***field, bool pairs) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', contents + 1);
        if (r < 0)
                return r;
        for (;;) {
                const char *k, *v;
                if (pairs) {
                        r = sd_bus_message_read(m, "{ss}", &k, &v);
                        if (r <= 0)
                                break;
                        r = strv_extend(&l, k);
                        if (r >= 0)
                                r = strv_extend(&l, v);
                } else {
                        r = sd_bus_message_read_basic(m, contents[1], &k);
                        if (r <= 0)
                                break;
                        r = strv_extend(&l, k);
                }
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        strv_free(*field);
        *field = TAKE_PTR(l);
        return 0;
}

const char *approval_who(const Approval *a, char *buf, size_t size) {
        if (a->login_user && a->login_uid != a->uid)
                (void) snprintf(buf, size, "%s (as %s)", a->login_user, strna(a->user));
        else
                (void) snprintf(buf, size, "%s", strna(a->user));
        return buf;
}

/* Step.Decisions: each decision with the uid and the login uid (the person) behind it. */
static int read_decisions(sd_bus_message *m, StepInfo *s) {
        Approval *a = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'v', "a(uussstuss)");
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "(uussstuss)");
        while (r >= 0) {
                uint32_t uid, login_uid, attempt;
                const char *user, *login_user, *decision, *comment, *digest;
                uint64_t t;
                Approval *b;

                r = sd_bus_message_read(m, "(uussstuss)", &uid, &login_uid, &user, &login_user, &decision, &t,
                                        &attempt, &comment, &digest);
                if (r <= 0)
                        break;
                b = realloc(a, (n + 1) * sizeof(Approval));
                if (!b) {
                        r = -ENOMEM;
                        break;
                }
                a = b;
                a[n] = (Approval) {
                        .uid = uid,
                        .user = strdup(user),
                        .login_uid = login_uid,
                        .login_user = isempty(login_user) ? NULL : strdup(login_user),
                        .decision = strdup(decision),
                        .time = t,
                        .attempt = attempt,
                        .comment = strdup(comment),
                        .digest = strdup(digest),
                };
                n++;
                if (!a[n - 1].user || !a[n - 1].decision || !a[n - 1].comment || !a[n - 1].digest ||
                    (!isempty(login_user) && !a[n - 1].login_user))
                        r = -ENOMEM;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        /* hand over what was read, also on failure, so step_info_done() frees it */
        approvals_free(s->approvals, s->n_approvals);
        s->approvals = a;
        s->n_approvals = n;
        return r < 0 ? r : 0;
}

static int read_results(sd_bus_message *m, StepInfo *s) {
        HostResult *a = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'v', "a(ssiittbs)");
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "(ssiittbs)");
        while (r >= 0) {
                const char *target, *state, *error;
                int32_t exit_status, sig;
                uint64_t started, finished;
                int truncated;
                HostResult *b;

                r = sd_bus_message_read(m, "(ssiittbs)", &target, &state, &exit_status, &sig, &started, &finished,
                                        &truncated, &error);
                if (r <= 0)
                        break;
                b = realloc(a, (n + 1) * sizeof(HostResult));
                if (!b) {
                        r = -ENOMEM;
                        break;
                }
                a = b;
                a[n] = (HostResult) {
                        .target = strdup(target), .state = strdup(state), .error = strdup(error),
                        .exit_status = exit_status, .signal = sig, .started_at = started, .finished_at = finished,
                        .truncated = truncated,
                };
                n++;
                if (!a[n - 1].target || !a[n - 1].state || !a[n - 1].error)
                        r = -ENOMEM;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        /* hand over what was read, also on failure, so step_info_done() frees it */
        for (size_t i = 0; i < s->n_results; i++) {
                free(s->results[i].target);
                free(s->results[i].state);
                free(s->results[i].error);
        }
        free(s->results);
        s->results = a;
        s->n_results = n;
        return r < 0 ? r : 0;
}

#define READ_BASIC(sig, field) sd_bus_message_read(m, "v", sig, field)

static int step_property(sd_bus_message *m, const char *name, StepInfo *s) {
        int b, r;

        if (streq(name, "Index"))
                return READ_BASIC("u", &s->index);
        if (streq(name, "Name"))
                return read_string(m, &s->name);
        if (streq(name, "Phase"))
                return read_string(m, &s->phase);
        if (streq(name, "Command"))
                return read_string(m, &s->command);
        if (streq(name, "Target"))
                return read_string(m, &s->target);
        if (streq(name, "Connector"))
                return read_string(m, &s->connector);
        if (streq(name, "State"))
                return read_string(m, &s->state);
        if (streq(name, "Digest"))
                return read_string(m, &s->digest);
        if (streq(name, "Error"))
                return read_string(m, &s->error);
        if (streq(name, "StepId"))
                return read_string(m, &s->step_id);
        if (streq(name, "OnFailure"))
                return read_string(m, &s->on_failure);
        if (streq(name, "When"))
                return read_string(m, &s->when);
        if (streq(name, "Captured"))
                return read_strv(m, "a{ss}", &s->captured, true);
        if (streq(name, "ApproverGroups"))
                return read_strv(m, "as", &s->approver_groups, false);
        if (streq(name, "ApproversFromEach")) {
                r = READ_BASIC("b", &b);
                if (r >= 0)
                        s->approvers_from_each = b;
                return r;
        }
        if (streq(name, "RequiresApproval") || streq(name, "Truncated")) {
                r = READ_BASIC("b", &b);
                if (r >= 0)
                        *(streq(name, "Truncated") ? &s->truncated : &s->requires_approval) = b;
                return r;
        }
        if (streq(name, "ApprovalsRequired"))
                return READ_BASIC("u", &s->approvals_required);
        if (streq(name, "Attempt"))
                return READ_BASIC("u", &s->attempt);
        if (streq(name, "Retries"))
                return READ_BASIC("u", &s->retries);
        if (streq(name, "RetriesDone"))
                return READ_BASIC("u", &s->retries_done);
        if (streq(name, "RetryDelay"))
                return READ_BASIC("t", &s->retry_delay);
        if (streq(name, "RetryAt"))
                return READ_BASIC("t", &s->retry_at);
        if (streq(name, "WindowOpensAt"))
                return READ_BASIC("t", &s->window_opens_at);
        if (streq(name, "WindowReason"))
                return read_string(m, &s->window_reason);
        if (streq(name, "ApprovalDeadline"))
                return READ_BASIC("t", &s->approval_deadline);
        if (streq(name, "ApprovalTimeout"))
                return READ_BASIC("t", &s->approval_timeout);
        if (streq(name, "ExitStatus"))
                return READ_BASIC("i", &s->exit_status);
        if (streq(name, "Signal"))
                return READ_BASIC("i", &s->signal);
        if (streq(name, "ExpectExit"))
                return READ_BASIC("i", &s->expect_exit);
        if (streq(name, "StartedAt"))
                return READ_BASIC("t", &s->started_at);
        if (streq(name, "FinishedAt"))
                return READ_BASIC("t", &s->finished_at);
        if (streq(name, "Timeout"))
                return READ_BASIC("t", &s->timeout);
        if (streq(name, "Decisions"))
                return read_decisions(m, s);
        if (streq(name, "Results"))
                return read_results(m, s);
        return sd_bus_message_skip(m, "v");
}

/* Locks a(su) */
static int read_locks(sd_bus_message *m, SessionInfo *s) {
        const char *name;
        uint32_t holder;
        size_t n = 0;
        int r;

        s->locks = strv_free(s->locks);
        s->lock_holders = mfree(s->lock_holders);
        r = sd_bus_message_enter_container(m, 'v', "a(su)");
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "(su)");
        while (r >= 0 && (r = sd_bus_message_read(m, "(su)", &name, &holder)) > 0) {
                uint32_t *h = reallocarray(s->lock_holders, n + 1, sizeof(uint32_t));
                if (!h)
                        return -ENOMEM;
                s->lock_holders = h;
                h[n++] = holder;
                r = strv_extend(&s->locks, name);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r;
}

static int session_property(sd_bus_message *m, const char *name, SessionInfo *s) {
        if (streq(name, "Id"))
                return READ_BASIC("u", &s->id);
        if (streq(name, "Runbook"))
                return read_string(m, &s->runbook);
        if (streq(name, "Reference"))
                return read_string(m, &s->reference);
        if (streq(name, "State"))
                return read_string(m, &s->state);
        if (streq(name, "CreatedBy"))
                return read_string(m, &s->created_by);
        if (streq(name, "Error"))
                return read_string(m, &s->error);
        if (streq(name, "CreatedByUid"))
                return READ_BASIC("u", &s->created_by_uid);
        if (streq(name, "CreatedAt"))
                return READ_BASIC("t", &s->created_at);
        if (streq(name, "FinishedAt"))
                return READ_BASIC("t", &s->finished_at);
        if (streq(name, "CurrentStep"))
                return READ_BASIC("i", &s->current_step);
        if (streq(name, "FailedSteps"))
                return READ_BASIC("u", &s->failed_steps);
        if (streq(name, "Rollback"))
                return read_string(m, &s->rollback);
        if (streq(name, "Review"))
                return read_string(m, &s->review);
        if (streq(name, "ReviewedBy"))
                return read_string(m, &s->reviewed_by);
        if (streq(name, "ReviewComment"))
                return read_string(m, &s->review_comment);
        if (streq(name, "ReviewedAt"))
                return READ_BASIC("t", &s->reviewed_at);
        if (streq(name, "LockState"))
                return read_string(m, &s->lock_state);
        if (streq(name, "LockPosition"))
                return READ_BASIC("u", &s->lock_position);
        if (streq(name, "Locks"))
                return read_locks(m, s);
        if (streq(name, "Parameters"))
                return read_strv(m, "a{ss}", &s->parameters, true);
        if (streq(name, "Steps"))
                return read_strv(m, "ao", &s->steps, false);
        return sd_bus_message_skip(m, "v");
}

static int read_dict(sd_bus_message *m, int (*one)(sd_bus_message *, const char *, void *), void *userdata) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                const char *name;
                r = sd_bus_message_enter_container(m, 'e', "sv");
                if (r <= 0)
                        break;
                r = sd_bus_message_read_basic(m, 's', &name);
                if (r < 0)
                        return r;
                r = one(m, name, userdata);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int step_one(sd_bus_message *m, const char *name, void *userdata) {
        return step_property(m, name, userdata);
}

static int session_one(sd_bus_message *m, const char *name, void *userdata) {
        return session_property(m, name, userdata);
}

int step_info_update(StepInfo *s, sd_bus_message *m) {
        return read_dict(m, step_one, s);
}

int session_info_update(SessionInfo *s, sd_bus_message *m) {
        return read_dict(m, session_one, s);
}

int step_info_load(sd_bus *bus, const char *path, StepInfo *s, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, RUNBOOKD_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll", error, &reply,
                               "s", RUNBOOKD_STEP_INTERFACE);
        if (r < 0)
                return r;
        if (!s->path) {
                s->path = strdup(path);
                if (!s->path)
                        return -ENOMEM;
        }
        return step_info_update(s, reply);
}

int session_info_load(sd_bus *bus, uint32_t id, SessionInfo *s, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        size_t n;
        int r;

        if (!s->path) {
                s->path = session_path_of(id);
                if (!s->path)
                        return -ENOMEM;
        }
        r = sd_bus_call_method(bus, RUNBOOKD_BUS_NAME, s->path, "org.freedesktop.DBus.Properties", "GetAll", error,
                               &reply, "s", RUNBOOKD_SESSION_INTERFACE);
        if (r < 0 && error && sd_bus_error_has_names(error, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_INTERFACE)) {
                /* the daemon serves sessions on demand: no object means no such session */
                sd_bus_error_free(error);
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_SESSION, "No such session: %u.", id);
        }
        if (r < 0)
                return r;
        r = session_info_update(s, reply);
        if (r < 0)
                return r;
        n = strv_length(s->steps);
        if (n != s->n_step_info) {
                for (size_t i = 0; i < s->n_step_info; i++)
                        step_info_done(&s->step_info[i]);
                free(s->step_info);
                s->n_step_info = 0;
                s->step_info = calloc(MAX(n, (size_t) 1), sizeof(StepInfo));
                if (!s->step_info)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        s->step_info[i] = (StepInfo) { .exit_status = -1 };
                s->n_step_info = n;
        }
        for (size_t i = 0; i < n; i++) {
                r = step_info_load(bus, s->steps[i], &s->step_info[i], error);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cli_append_parameters(sd_bus_message *m, char **params) {
        int r = sd_bus_message_open_container(m, 'a', "{ss}");
        for (char **p = params; r >= 0 && p && p[0] && p[1]; p += 2)
                r = sd_bus_message_append(m, "{ss}", p[0], p[1]);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}
