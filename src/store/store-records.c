/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>

#include "shared/log.h"
#include "store/store-records.h"

#define OUTPUT_CHUNK_SIZE (64 * 1024)

static void session_key(uint8_t k[4], uint32_t id) {
        be32_put(k, id);
}

/* The runbook snapshot never changes: it has a key of its own, beside the session record
 * (be32 id | 's'), written once, so that a transition does not rewrite it. */
static void snapshot_key(uint8_t k[5], uint32_t id) {
        be32_put(k, id);
        k[4] = 's';
}

static void step_key(uint8_t k[8], uint32_t id, uint32_t index) {
        be32_put(k, id);
        be32_put(k + 4, index);
}

/* A member host of a group step: be32 id | be32 index | be32 host, after its step's record. */
static void host_key(uint8_t k[12], uint32_t id, uint32_t index, uint32_t host) {
        be32_put(k, id);
        be32_put(k + 4, index);
        be32_put(k + 8, host);
}

/* "<prefix>login_uid" and the name under 'name_key', only when there is a login uid */
static json_t *set_login(json_t *j, const char *uid_key, const char *name_key, uid_t login_uid, const char *name) {
        if (!j || !uid_is_valid(login_uid))
                return j;
        if (json_object_set_new(j, uid_key, json_integer((json_int_t) login_uid)) < 0 ||
            json_object_set_new(j, name_key, json_string(strempty(name))) < 0) {
                json_decref(j);
                return NULL;
        }
        return j;
}

static json_t *approval_to_json(const Approval *a) {
        json_t *j = json_pack("{s:I,s:s,s:b,s:I,s:s,s:s,s:I}",
                              "uid", (json_int_t) a->uid,
                              "user", a->user,
                              "approve", a->approve,
                              "time", (json_int_t) a->time,
                              "comment", strempty(a->comment),
                              "digest", strempty(a->digest),
                              "attempt", (json_int_t) a->attempt);
        if (j && a->lapsed)
                json_object_set_new(j, "lapsed", json_true());
        if (j && a->groups)
                json_object_set_new(j, "groups", json_integer((json_int_t) a->groups));
        if (j && a->break_glass)
                json_object_set_new(j, "break_glass", json_true());
        return set_login(j, "login_uid", "login_user", a->login_uid, a->login_user);
}

static json_t *step_to_json(const Step *st) {
        json_t *j, *approvals;

        approvals = json_array();
        if (!approvals)
                return NULL;
        for (size_t i = 0; i < st->n_approvals; i++)
                if (json_array_append_new(approvals, approval_to_json(&st->approvals[i])) < 0) {
                        json_decref(approvals);
                        return NULL;
                }

        j = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:s,s:o,s:I,s:I,s:I,s:I,s:I,s:s,s:I,s:b}",
                      "index", (json_int_t) st->index,
                      "name", st->name,
                      "phase", step_phase_to_string(st->phase),
                      "command", st->command,
                      "target", st->target,
                      "connector", st->connector,
                      "requires_approval", st->requires_approval,
                      "approvals_required", (json_int_t) st->approvals_required,
                      "timeout_usec", (json_int_t) st->timeout_usec,
                      "expect_exit", (json_int_t) st->expect_exit,
                      "state", step_state_to_string(st->state),
                      "approvals", approvals,
                      "exit_status", (json_int_t) st->exit_status,
                      "signal", (json_int_t) st->signal,
                      "waiting_since", (json_int_t) st->waiting_since,
                      "started_at", (json_int_t) st->started_at,
                      "finished_at", (json_int_t) st->finished_at,
                      "digest", st->digest,
                      "attempt", (json_int_t) st->attempt,
                      "truncated", st->truncated);
        if (j && st->error)
                json_object_set_new(j, "error", json_string(st->error));
        /* optional keys (records written before them load unchanged) */
        if (j && st->id)
                json_object_set_new(j, "id", json_string(st->id));
        if (j && st->continue_on_failure)
                json_object_set_new(j, "on_failure", json_string("continue"));
        if (j && st->when)
                json_object_set_new(j, "when", json_string(st->when));
        if (j && st->captured)
                json_object_set(j, "captured", st->captured);
        if (j && st->retries > 0)
                json_object_set_new(j, "retries", json_integer(st->retries));
        if (j && st->retry_delay_usec > 0)
                json_object_set_new(j, "retry_delay_usec", json_integer((json_int_t) st->retry_delay_usec));
        if (j && st->retries_done > 0)
                json_object_set_new(j, "retries_done", json_integer(st->retries_done));
        if (j && st->retry_at > 0)
                json_object_set_new(j, "retry_at", json_integer((json_int_t) st->retry_at));
        if (j && st->window_at > 0 &&
            (json_object_set_new(j, "window_at", json_integer((json_int_t) st->window_at)) < 0 ||
             json_object_set_new(j, "window_why", json_string(strempty(st->window_why))) < 0)) {
                json_decref(j);
                return NULL;
        }
        if (j && st->remote)
                json_object_set(j, "remote", st->remote);
        if (j && st->approval_timeout_usec > 0)
                json_object_set_new(j, "approval_timeout_usec", json_integer((json_int_t) st->approval_timeout_usec));
        if (j && st->remind_before_usec > 0)
                json_object_set_new(j, "remind_before_usec", json_integer((json_int_t) st->remind_before_usec));
        if (j && st->approval_deadline > 0)
                json_object_set_new(j, "approval_deadline", json_integer((json_int_t) st->approval_deadline));
        if (j && st->reminded)
                json_object_set_new(j, "reminded", json_true());
        if (j && st->n_approver_groups > 0) {
                json_t *g = json_array();
                for (size_t i = 0; g && i < st->n_approver_groups; i++)
                        if (json_array_append_new(g, json_string(st->approver_groups[i])) < 0) {
                                json_decref(g);
                                g = NULL;
                        }
                if (!g || json_object_set_new(j, "approver_groups", g) < 0) {
                        json_decref(j);
                        return NULL;
                }
                if (st->approvers_from_each)
                        json_object_set_new(j, "approvers_from_each", json_true());
        }
        if (j && st->approval_valid_for_usec > 0)
                json_object_set_new(j, "approval_valid_for_usec", json_integer((json_int_t) st->approval_valid_for_usec));
        if (j && st->n_hosts > 0 &&
            (json_object_set_new(j, "hosts", json_integer((json_int_t) st->n_hosts)) < 0 ||
             json_object_set_new(j, "max_concurrency", json_integer(st->max_concurrency)) < 0 ||
             json_object_set_new(j, "max_errors", json_integer(st->max_errors)) < 0)) {
                json_decref(j);
                j = NULL;
        }
        return j;
}

static json_t *host_to_json(const HostRun *h) {
        json_t *j;

        j = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:b}",
                      "target", h->target,
                      "connector", h->connector,
                      "state", step_state_to_string(h->state),
                      "exit_status", (json_int_t) h->exit_status,
                      "signal", (json_int_t) h->signal,
                      "started_at", (json_int_t) h->started_at,
                      "finished_at", (json_int_t) h->finished_at,
                      "duration_usec", (json_int_t) h->duration_usec,
                      "attempt", (json_int_t) h->attempt,
                      "truncated", h->truncated);
        if (j && h->error)
                json_object_set_new(j, "error", json_string(h->error));
        if (j && h->remote)
                json_object_set(j, "remote", h->remote);
        return j;
}

/* "locks": its lock names; "lock": {"state", "ticket", "since"} while it waits or holds them */
static int set_locks(json_t *j, const Session *s) {
        json_t *names = json_array(), *lock;

        if (!names || json_object_set_new(j, "locks", names) < 0)
                return -ENOMEM;
        for (size_t i = 0; s->locks[i]; i++)
                if (json_array_append_new(names, json_string(s->locks[i])) < 0)
                        return -ENOMEM;
        if (s->lock_state == SESSION_LOCK_NONE)
                return 0;
        lock = json_pack("{s:s,s:I,s:I}", "state", session_lock_state_to_string(s->lock_state),
                         "ticket", (json_int_t) s->lock_ticket, "since", (json_int_t) s->lock_since);
        if (!lock || json_object_set_new(j, "lock", lock) < 0)
                return -ENOMEM;
        return 0;
}

static json_t *session_to_json(const Session *s) {
        json_t *j;

        j = json_pack("{s:I,s:s,s:s,s:O,s:s,s:I,s:s,s:I,s:I,s:i,s:I}",
                      "id", (json_int_t) s->id,
                      "runbook", s->runbook,
                      "reference", strempty(s->reference),
                      "parameters", s->parameters,
                      "state", session_state_to_string(s->state),
                      "creator_uid", (json_int_t) s->creator_uid,
                      "creator_name", s->creator_name,
                      "created_at", (json_int_t) s->created_at,
                      "finished_at", (json_int_t) s->finished_at,
                      "current_step", s->current_step,
                      "n_steps", (json_int_t) s->n_steps);
        if (j && s->error)
                json_object_set_new(j, "error", json_string(s->error));
        if (j && s->sealed && json_object_size(s->sealed) > 0)
                json_object_set(j, "sealed", s->sealed);
        /* optional keys: records without them (and from before them) load as none */
        if (j && session_state_is_final(s->outcome) &&
            (json_object_set_new(j, "outcome", json_string(session_state_to_string(s->outcome))) < 0 ||
             json_object_set_new(j, "outcome_step", json_integer(s->outcome_step)) < 0 ||
            (s->outcome_error && json_object_set_new(j, "outcome_error", json_string(s->outcome_error)) < 0))) {
                json_decref(j);
                return NULL;
        }
        if (j && s->rollback != ROLLBACK_NONE &&
            json_object_set_new(j, "rollback", json_string(rollback_state_to_string(s->rollback))) < 0) {
                json_decref(j);
                return NULL;
        }
        if (j && s->review != REVIEW_NONE) {
                json_t *rv = s->review == REVIEW_DONE ? approval_to_json(&s->reviewer) : json_object();
                if (!rv || json_object_set_new(rv, "state", json_string(review_state_to_string(s->review))) < 0 ||
                    json_object_set_new(j, "review", rv) < 0) {
                        json_decref(j);
                        return NULL;
                }
        }
        if (j && s->locks && set_locks(j, s) < 0) {
                json_decref(j);
                return NULL;
        }
        return set_login(j, "creator_login_uid", "creator_login_name", s->creator_login_uid, s->creator_login_name);
}

/* Writes a record made by one of the *_to_json() above (NULL: out of memory), and drops it. */
static void put_record(StoreTxn *t, StoreDb db, const void *key, size_t klen, json_t *j) {
        if (!j) {
                t->ret = -ENOMEM;
                return;
        }
        store_put_json(t, db, key, klen, j);
        json_decref(j);
}

void store_save_session(StoreTxn *t, const Session *s, bool created) {
        uint8_t k[4];

        if (t->ret < 0)
                return;
        session_key(k, s->id);
        put_record(t, DB_SESSIONS, k, 4, session_to_json(s));
        if (created) {
                uint8_t sk[5];
                snapshot_key(sk, s->id);
                store_put_json(t, DB_SESSIONS, sk, sizeof sk, s->snapshot);
        }
        /* a session is active from its creation until it is final: the key is written then
         * and deleted at the end, not rewritten (a page copy) on every transition */
        if (session_state_is_final(s->state))
                store_del(t, DB_ACTIVE, k, 4);
        else if (created)
                store_put(t, DB_ACTIVE, k, 4, "", 0);
}

void store_save_step(StoreTxn *t, const Step *st) {
        uint8_t k[8];

        if (t->ret < 0)
                return;
        step_key(k, st->session->id, st->index);
        put_record(t, DB_STEPS, k, 8, step_to_json(st));
}

void store_save_host(StoreTxn *t, const HostRun *h) {
        uint8_t k[12];

        if (t->ret < 0)
                return;
        host_key(k, h->step->session->id, h->step->index, h->index);
        put_record(t, DB_STEPS, k, sizeof k, host_to_json(h));
}

static int dup_str(json_t *o, const char *key, bool required, char **ret) {
        json_t *v = json_object_get(o, key);

        if (!v || json_is_null(v)) {
                *ret = NULL;
                return required ? -EBADMSG : 0;
        }
        if (!json_is_string(v))
                return -EBADMSG;
        *ret = strdup(json_string_value(v));
        return *ret ? 0 : -ENOMEM;
}

static int64_t get_int(json_t *o, const char *key, int64_t def) {
        json_t *v = json_object_get(o, key);
        return json_is_integer(v) ? (int64_t) json_integer_value(v) : def;
}

static int get_locks(json_t *j, Session *s) {
        json_t *names = json_object_get(j, "locks"), *lock = json_object_get(j, "lock"), *v;
        size_t i;
        int r;

        if (!names)
                return 0;
        if (!json_is_array(names) || json_array_size(names) == 0 || json_array_size(names) > SESSION_LOCKS_MAX)
                return -EBADMSG;
        json_array_foreach(names, i, v) {
                if (!json_is_string(v))
                        return -EBADMSG;
                r = strv_extend(&s->locks, json_string_value(v));
                if (r < 0)
                        return r;
        }
        if (!lock)
                return 0;
        s->lock_state = session_lock_state_from_string(json_string_value(json_object_get(lock, "state")));
        if (s->lock_state <= SESSION_LOCK_NONE)
                return -EBADMSG;
        s->lock_ticket = (uint64_t) get_int(lock, "ticket", 0);
        s->lock_since = (usec_t) get_int(lock, "since", 0);
        return 0;
}

/* An optional login uid and its name: both or neither; UID_INVALID when absent. */
static int get_login(json_t *o, const char *uid_key, const char *name_key, uid_t *ret_uid, char **ret_name) {
        json_t *v = json_object_get(o, uid_key);

        *ret_uid = UID_INVALID;
        *ret_name = NULL;
        if (!v)
                return json_object_get(o, name_key) ? -EBADMSG : 0;
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= (json_int_t) UID_INVALID)
                return -EBADMSG;
        *ret_uid = (uid_t) json_integer_value(v);
        return dup_str(o, name_key, true, ret_name);
}

static int host_from_json(json_t *j, HostRun *h) {
        int r;

        if ((r = dup_str(j, "target", true, &h->target)) < 0 ||
            (r = dup_str(j, "connector", true, &h->connector)) < 0 ||
            (r = dup_str(j, "error", false, &h->error)) < 0)
                return r;
        h->state = step_state_from_string(json_string_value(json_object_get(j, "state")));
        if (h->state < 0)
                return -EBADMSG;
        h->exit_status = (int) get_int(j, "exit_status", -1);
        h->signal = (int) get_int(j, "signal", 0);
        h->started_at = (usec_t) get_int(j, "started_at", 0);
        h->finished_at = (usec_t) get_int(j, "finished_at", 0);
        h->duration_usec = (usec_t) get_int(j, "duration_usec", 0);
        h->attempt = (unsigned) get_int(j, "attempt", 0);
        h->truncated = json_is_true(json_object_get(j, "truncated"));
        if (json_is_object(json_object_get(j, "remote")))
                h->remote = json_incref(json_object_get(j, "remote"));
        return 0;
}

static int step_from_json(json_t *j, Step *st) {
        json_t *approvals, *a;
        int64_t n_hosts;
        size_t i;
        int r;

        st->index = (uint32_t) get_int(j, "index", 0);
        if ((r = dup_str(j, "name", true, &st->name)) < 0 ||
            (r = dup_str(j, "command", true, &st->command)) < 0 ||
            (r = dup_str(j, "target", true, &st->target)) < 0 ||
            (r = dup_str(j, "connector", true, &st->connector)) < 0 ||
            (r = dup_str(j, "digest", true, &st->digest)) < 0 ||
            (r = dup_str(j, "error", false, &st->error)) < 0 ||
            (r = dup_str(j, "id", false, &st->id)) < 0 ||
            (r = dup_str(j, "when", false, &st->when)) < 0)
                return r;
        const char *on_failure = json_string_value(json_object_get(j, "on_failure"));
        if (on_failure && !streq(on_failure, "continue"))
                return -EBADMSG;
        st->continue_on_failure = on_failure;
        json_t *captured = json_object_get(j, "captured");
        if (captured) {
                const char *k;
                json_t *v;
                if (!json_is_object(captured))
                        return -EBADMSG;
                json_object_foreach(captured, k, v)
                        if (!json_is_string(v))
                                return -EBADMSG;
                st->captured = json_incref(captured);
        }
        st->phase = step_phase_from_string(json_string_value(json_object_get(j, "phase")));
        st->state = step_state_from_string(json_string_value(json_object_get(j, "state")));
        if (st->phase < 0 || st->state < 0)
                return -EBADMSG;
        st->requires_approval = json_is_true(json_object_get(j, "requires_approval"));
        st->approvals_required = (unsigned) get_int(j, "approvals_required", 1);
        st->timeout_usec = (usec_t) get_int(j, "timeout_usec", 0);
        st->expect_exit = (int) get_int(j, "expect_exit", 0);
        st->exit_status = (int) get_int(j, "exit_status", -1);
        st->signal = (int) get_int(j, "signal", 0);
        st->waiting_since = (usec_t) get_int(j, "waiting_since", 0);
        st->started_at = (usec_t) get_int(j, "started_at", 0);
        st->finished_at = (usec_t) get_int(j, "finished_at", 0);
        st->attempt = (unsigned) get_int(j, "attempt", 1);
        st->truncated = json_is_true(json_object_get(j, "truncated"));
        if (json_is_object(json_object_get(j, "remote")))
                st->remote = json_incref(json_object_get(j, "remote"));
        int64_t retries = get_int(j, "retries", 0), retries_done = get_int(j, "retries_done", 0),
                retry_delay = get_int(j, "retry_delay_usec", 0), retry_at = get_int(j, "retry_at", 0);
        if (retries < 0 || retries > STEP_RETRIES_MAX || retries_done < 0 || retries_done > retries ||
            retries_done >= (int64_t) st->attempt || retry_delay < 0 || retry_delay > (int64_t) STEP_RETRY_DELAY_MAX_USEC ||
            retry_at < 0 || (st->state == STEP_WAITING_RETRY && retry_at == 0))
                return -EBADMSG;
        int64_t approval_timeout = get_int(j, "approval_timeout_usec", 0), remind = get_int(j, "remind_before_usec", 0),
                deadline = get_int(j, "approval_deadline", 0), valid_for = get_int(j, "approval_valid_for_usec", 0);
        if (approval_timeout < 0 || approval_timeout > (int64_t) STEP_APPROVAL_TIMEOUT_MAX_USEC ||
            remind < 0 || (remind > 0 && remind >= approval_timeout) || deadline < 0 ||
            (deadline > 0 && approval_timeout == 0) ||
            (deadline > 0 && (st->waiting_since == 0 || (usec_t) deadline > st->waiting_since + (usec_t) approval_timeout)) ||
            valid_for < 0 ||
            valid_for > (int64_t) STEP_APPROVAL_TIMEOUT_MAX_USEC)
                return -EBADMSG;
        st->approval_valid_for_usec = (usec_t) valid_for;
        json_t *groups = json_object_get(j, "approver_groups"), *g;
        if (groups) {
                size_t k;
                if (!json_is_array(groups) || json_array_size(groups) == 0 || json_array_size(groups) > STEP_APPROVERS_MAX)
                        return -EBADMSG;
                st->approver_groups = calloc(json_array_size(groups), sizeof(char *));
                if (!st->approver_groups)
                        return -ENOMEM;
                json_array_foreach(groups, k, g) {
                        if (!json_is_string(g) || isempty(json_string_value(g)) || strlen(json_string_value(g)) > 32 ||
                            strpbrk(json_string_value(g), ":, \n"))
                                return -EBADMSG;
                        for (size_t q = 0; q < st->n_approver_groups; q++)
                                if (streq(st->approver_groups[q], json_string_value(g)))
                                        return -EBADMSG;   /* twice: from_each would mean something else */
                        st->approver_groups[k] = strdup(json_string_value(g));
                        if (!st->approver_groups[k])
                                return -ENOMEM;
                        st->n_approver_groups++;
                }
        }
        st->approvers_from_each = json_is_true(json_object_get(j, "approvers_from_each"));
        st->approval_timeout_usec = (usec_t) approval_timeout;
        st->remind_before_usec = (usec_t) remind;
        st->approval_deadline = (usec_t) deadline;
        st->reminded = json_is_true(json_object_get(j, "reminded"));
        st->retries = (unsigned) retries;
        st->retries_done = (unsigned) retries_done;
        st->retry_delay_usec = (usec_t) retry_delay;
        st->retry_at = (usec_t) retry_at;
        int64_t window_at = get_int(j, "window_at", 0);
        if (window_at < 0)
                return -EBADMSG;
        st->window_at = (usec_t) window_at;
        if (window_at > 0 && (r = dup_str(j, "window_why", false, &st->window_why)) < 0)
                return r;

        /* a record is trusted no further than its key and the bounds the engine relies on */
        if (st->approvals_required < 1 || st->approvals_required > STEP_APPROVERS_MAX ||
            st->exit_status < -1 || st->exit_status > 255 || st->signal < 0 || st->signal > 64 ||
            st->expect_exit < 0 || st->expect_exit > 255 || st->attempt < 1 ||
            (st->approvers_from_each && st->approvals_required != st->n_approver_groups))
                return -EBADMSG;

        n_hosts = get_int(j, "hosts", 0);
        if (n_hosts < 0 || n_hosts > STEP_HOSTS_MAX)
                return -EBADMSG;
        if (n_hosts > 0) {
                st->hosts = calloc((size_t) n_hosts, sizeof(HostRun));
                if (!st->hosts)
                        return -ENOMEM;
                st->n_hosts = (size_t) n_hosts;
                st->max_concurrency = (unsigned) get_int(j, "max_concurrency", 1);
                st->max_errors = (unsigned) get_int(j, "max_errors", 0);
                if (st->max_concurrency < 1 || st->max_concurrency > (unsigned) n_hosts ||
                    st->max_errors > (unsigned) n_hosts)
                        return -EBADMSG;
        }

        approvals = json_object_get(j, "approvals");
        if (json_array_size(approvals) > 0) {
                st->approvals = calloc(json_array_size(approvals), sizeof(Approval));
                if (!st->approvals)
                        return -ENOMEM;
                json_array_foreach(approvals, i, a) {
                        Approval *ap = &st->approvals[st->n_approvals++];
                        ap->uid = (uid_t) get_int(a, "uid", -1);
                        ap->approve = json_is_true(json_object_get(a, "approve"));
                        ap->time = (usec_t) get_int(a, "time", 0);
                        ap->attempt = (unsigned) get_int(a, "attempt", 1);
                        ap->lapsed = json_is_true(json_object_get(a, "lapsed"));
                        ap->break_glass = json_is_true(json_object_get(a, "break_glass"));
                        if (ap->break_glass && !ap->approve)
                                return -EBADMSG;
                        int64_t mask = get_int(a, "groups", 0);
                        if ((json_object_get(a, "groups") && !json_is_integer(json_object_get(a, "groups"))) ||
                            (int64_t) ap->time < 0 || mask < 0 || mask > (int64_t) UINT32_MAX ||
                            (mask >> st->n_approver_groups) != 0)
                                return -EBADMSG;
                        ap->groups = (uint32_t) mask;
                        if ((r = dup_str(a, "user", true, &ap->user)) < 0 ||
                            (r = get_login(a, "login_uid", "login_user", &ap->login_uid, &ap->login_user)) < 0 ||
                            (r = dup_str(a, "comment", false, &ap->comment)) < 0 ||
                            (r = dup_str(a, "digest", false, &ap->digest)) < 0)
                                return r;
                }
        }
        return 0;
}

struct load_steps_ctx {
        Session *session;
        int error;
};

static int load_step_cb(const MDB_val *key, const MDB_val *val, void *userdata) {
        struct load_steps_ctx *c = userdata;
        Session *s = c->session;
        json_error_t err;
        json_t *j;
        uint32_t index;
        int r;

        if (key->mv_size != 8 && key->mv_size != 12)
                return 0;
        index = be32_get((const uint8_t *) key->mv_data + 4);
        if (index >= s->n_steps)
                return -EBADMSG;
        j = json_loadb(val->mv_data, val->mv_size, 0, &err);
        if (!j)
                return -EBADMSG;
        if (key->mv_size == 8) {
                if (s->steps[index].name)
                        r = -EBADMSG;   /* two records for one step */
                else {
                        s->steps[index].session = s;
                        r = step_from_json(j, &s->steps[index]);
                        if (r >= 0 && s->steps[index].index != index)
                                r = -EBADMSG;   /* the record claims another step than its key */
                }
        } else {
                /* a host of a group step: keys sort after their step's */
                Step *st = &s->steps[index];
                uint32_t h = be32_get((const uint8_t *) key->mv_data + 8);

                if (!st->name || h >= st->n_hosts || st->hosts[h].target)
                        r = -EBADMSG;
                else {
                        st->hosts[h].step = st;
                        st->hosts[h].index = h;
                        r = host_from_json(j, &st->hosts[h]);
                        if (r >= 0 && (st->hosts[h].exit_status < -1 || st->hosts[h].exit_status > 255 ||
                                       st->hosts[h].signal < 0 || st->hosts[h].signal > 64))
                                r = -EBADMSG;
                }
        }
        json_decref(j);
        if (r == -EBADMSG)
                log_error("Store: the record of step %u%s of session %u does not match its key or bounds; the session "
                          "cannot be loaded.", index, key->mv_size == 12 ? " (a host)" : "", s->id);
        return r;
}

int store_load_session(StoreTxn *t, uint32_t id, Session **ret) {
        _cleanup_(session_freep) Session *s = NULL;
        _cleanup_(json_decrefp) json_t *j = NULL;
        struct load_steps_ctx c = {};
        uint8_t k[4];
        int64_t n;
        int r;

        session_key(k, id);
        r = store_get_json(t, DB_SESSIONS, k, 4, &j);
        if (r < 0)
                return r;

        s = calloc(1, sizeof(Session));
        if (!s)
                return -ENOMEM;
        s->id = id;
        if ((r = dup_str(j, "runbook", true, &s->runbook)) < 0 ||
            (r = dup_str(j, "reference", false, &s->reference)) < 0 ||
            (r = dup_str(j, "creator_name", true, &s->creator_name)) < 0 ||
            (r = get_login(j, "creator_login_uid", "creator_login_name", &s->creator_login_uid,
                           &s->creator_login_name)) < 0 ||
            (r = dup_str(j, "error", false, &s->error)) < 0 ||
            (r = dup_str(j, "outcome_error", false, &s->outcome_error)) < 0)
                return r;
        s->parameters = json_incref(json_object_get(j, "parameters"));
        s->sealed = json_incref(json_object_get(j, "sealed"));
        if (json_object_get(j, "outcome")) {
                s->outcome = session_state_from_string(json_string_value(json_object_get(j, "outcome")));
                s->outcome_step = (int) get_int(j, "outcome_step", -1);
                if (!session_state_is_final(s->outcome) || s->outcome_step < -1 || s->outcome_step >= get_int(j, "n_steps", 0))
                        return -EBADMSG;
        }
        if (json_object_get(j, "rollback")) {
                s->rollback = rollback_state_from_string(json_string_value(json_object_get(j, "rollback")));
                if (s->rollback < 0)
                        return -EBADMSG;
        }
        json_t *rv = json_object_get(j, "review");
        if (rv) {
                s->review = review_state_from_string(json_string_value(json_object_get(rv, "state")));
                if (s->review < 0)
                        return -EBADMSG;
                s->reviewer.login_uid = UID_INVALID;
                if (s->review == REVIEW_DONE) {
                        s->reviewer.uid = (uid_t) get_int(rv, "uid", -1);
                        s->reviewer.time = (usec_t) get_int(rv, "time", 0);
                        s->reviewer.approve = true;
                        if ((r = dup_str(rv, "user", true, &s->reviewer.user)) < 0 ||
                            (r = get_login(rv, "login_uid", "login_user", &s->reviewer.login_uid, &s->reviewer.login_user)) < 0 ||
                            (r = dup_str(rv, "comment", false, &s->reviewer.comment)) < 0)
                                return r;
                }
        } else
                s->reviewer.login_uid = UID_INVALID;
        r = get_locks(j, s);
        if (r < 0)
                return r;
        {
                uint8_t sk[5];
                snapshot_key(sk, id);
                r = store_get_json(t, DB_SESSIONS, sk, sizeof sk, &s->snapshot);
                if (r < 0)
                        return r == -ENOENT ? -EBADMSG : r;
        }
        s->state = session_state_from_string(json_string_value(json_object_get(j, "state")));
        if (s->state < 0 || !s->parameters || !s->snapshot)
                return -EBADMSG;
        s->creator_uid = (uid_t) get_int(j, "creator_uid", -1);
        s->created_at = (usec_t) get_int(j, "created_at", 0);
        s->finished_at = (usec_t) get_int(j, "finished_at", 0);
        s->current_step = (int) get_int(j, "current_step", -1);
        n = get_int(j, "n_steps", 0);
        if (n <= 0 || n > SESSION_STEPS_MAX || s->current_step < -1 || s->current_step >= n) {
                log_error("Store: the record of session %u is out of bounds (n_steps %" PRIi64 ", current_step %d); "
                          "it cannot be loaded.", id, n, s->current_step);
                return -EBADMSG;
        }
        s->steps = calloc((size_t) n, sizeof(Step));
        if (!s->steps)
                return -ENOMEM;
        s->n_steps = (size_t) n;

        c.session = s;
        r = store_foreach(t, DB_STEPS, k, 4, false, load_step_cb, &c);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_steps; i++) {
                if (!s->steps[i].name)
                        return -EBADMSG; /* a step record is missing */
                for (size_t h = 0; h < s->steps[i].n_hosts; h++)
                        if (!s->steps[i].hosts[h].target)
                                return -EBADMSG; /* a host record is missing */
        }

        *ret = TAKE_PTR(s);
        return 0;
}

struct active_ctx {
        uint32_t *ids;
        size_t n, allocated;
};

static int active_cb(const MDB_val *key, const MDB_val *val, void *userdata) {
        struct active_ctx *c = userdata;

        if (key->mv_size != 4)
                return 0;
        if (GREEDY_REALLOC(c->ids, c->allocated, c->n + 1) < 0)
                return -ENOMEM;
        c->ids[c->n++] = be32_get(key->mv_data);
        return 0;
}

int store_list_active(StoreTxn *t, uint32_t **ret, size_t *ret_n) {
        struct active_ctx c = {};
        int r;

        r = store_foreach(t, DB_ACTIVE, NULL, 0, false, active_cb, &c);
        if (r < 0) {
                free(c.ids);
                return r;
        }
        *ret = c.ids;
        *ret_n = c.n;
        return 0;
}

/* A step's output: be32 id | be32 index | u8 stream, then a be32 chunk number. */
static void output_prefix(uint8_t k[9], uint32_t id, uint32_t index, uint8_t stream) {
        be32_put(k, id);
        be32_put(k + 4, index);
        k[8] = stream;
}

/* A group member's output: be32 id | be32 index | 'h' | be32 host | u8 stream, then a be32 chunk
 * number (its step's prefix, so that store_del_output() removes it with the step's). */
static void host_output_prefix(uint8_t k[14], uint32_t id, uint32_t index, uint32_t host, uint8_t stream) {
        be32_put(k, id);
        be32_put(k + 4, index);
        k[8] = 'h';
        be32_put(k + 9, host);
        k[13] = stream;
}

/* Replaces what is under the prefix k[0, plen) with 'data', in chunks of OUTPUT_CHUNK_SIZE whose
 * keys are the prefix and the chunk's number ('k' has room for it). */
static void put_chunks(StoreTxn *t, uint8_t *k, size_t plen, const uint8_t *data, size_t n) {
        store_del_prefix(t, DB_OUTPUT, k, plen);
        for (uint32_t chunk = 0; (size_t) chunk * OUTPUT_CHUNK_SIZE < n; chunk++) {
                size_t off = (size_t) chunk * OUTPUT_CHUNK_SIZE;
                be32_put(k + plen, chunk);
                store_put(t, DB_OUTPUT, k, plen + 4, data + off, MIN((size_t) OUTPUT_CHUNK_SIZE, n - off));
        }
}

void store_put_output(StoreTxn *t, uint32_t id, uint32_t index, uint8_t stream, const uint8_t *data, size_t n) {
        uint8_t k[9 + 4];

        output_prefix(k, id, index, stream);
        put_chunks(t, k, 9, data, n);
}

void store_put_host_output(StoreTxn *t, uint32_t id, uint32_t index, uint32_t host, uint8_t stream,
                           const uint8_t *data, size_t n) {
        uint8_t k[14 + 4];

        host_output_prefix(k, id, index, host, stream);
        put_chunks(t, k, 14, data, n);
}

void store_del_output(StoreTxn *t, uint32_t id, uint32_t index) {
        uint8_t k[8];

        step_key(k, id, index);
        store_del_prefix(t, DB_OUTPUT, k, 8);
}

struct output_ctx {
        uint8_t *data;
        size_t n;
};

static int output_cb(const MDB_val *key, const MDB_val *val, void *userdata) {
        struct output_ctx *c = userdata;
        uint8_t *p;

        p = realloc(c->data, c->n + val->mv_size + 1);
        if (!p)
                return -ENOMEM;
        memcpy(p + c->n, val->mv_data, val->mv_size);
        c->data = p;
        c->n += val->mv_size;
        return 0;
}

/* The chunks under the prefix, joined. */
static int get_chunks(StoreTxn *t, const uint8_t *prefix, size_t plen, uint8_t **ret, size_t *ret_n) {
        struct output_ctx c = {};
        int r;

        r = store_foreach(t, DB_OUTPUT, prefix, plen, false, output_cb, &c);
        if (r < 0) {
                free(c.data);
                return r;
        }
        *ret = c.data;
        *ret_n = c.n;
        return 0;
}

int store_get_output(StoreTxn *t, uint32_t id, uint32_t index, uint8_t stream, uint8_t **ret, size_t *ret_n) {
        uint8_t k[9];

        output_prefix(k, id, index, stream);
        return get_chunks(t, k, sizeof k, ret, ret_n);
}

int store_get_host_output(StoreTxn *t, uint32_t id, uint32_t index, uint32_t host, uint8_t stream, uint8_t **ret,
                          size_t *ret_n) {
        uint8_t k[14];

        host_output_prefix(k, id, index, host, stream);
        return get_chunks(t, k, sizeof k, ret, ret_n);
}

struct foreach_session_ctx {
        store_session_record_fn fn;
        void *userdata;
};

static int foreach_session_cb(const MDB_val *key, const MDB_val *val, void *userdata) {
        struct foreach_session_ctx *c = userdata;
        json_error_t err;
        json_t *j;
        int r;

        if (key->mv_size != 4)
                return 0;
        j = json_loadb(val->mv_data, val->mv_size, 0, &err);
        if (!j)
                return 0; /* skip a corrupt record rather than hide all the others */
        r = c->fn(be32_get(key->mv_data), j, c->userdata);
        json_decref(j);
        return r;
}

int store_foreach_session(StoreTxn *t, store_session_record_fn fn, void *userdata) {
        struct foreach_session_ctx c = { fn, userdata };
        return store_foreach(t, DB_SESSIONS, NULL, 0, true, foreach_session_cb, &c);
}

struct walk_ctx {
        store_session_summary_fn fn;
        void *userdata;
        size_t max_read, n_read;
        uint32_t last;
        bool stopped;
};

static const char *rec_str(json_t *j, const char *key) {
        return json_string_value(json_object_get(j, key)) ?: "";
}

static int walk_cb(const MDB_val *key, const MDB_val *val, void *userdata) {
        struct walk_ctx *c = userdata;
        _cleanup_(json_decrefp) json_t *j = NULL;
        SessionSummary sum;
        uint32_t id;
        int r;

        if (key->mv_size != 4)
                return 0; /* a snapshot, next_id, … */
        if (c->n_read >= c->max_read) {
                c->stopped = true;
                return 1;
        }
        id = be32_get(key->mv_data);
        c->n_read++;
        c->last = id;
        j = json_loadb(val->mv_data, val->mv_size, 0, NULL);
        if (!j)
                return 0; /* skip a corrupt record rather than hide all the others */
        sum = (SessionSummary) {
                .id = id,
                .runbook = rec_str(j, "runbook"),
                .reference = rec_str(j, "reference"),
                .state = session_state_from_string(rec_str(j, "state")),
                .current_step = (int) get_int(j, "current_step", -1),
                .n_steps = (size_t) MAX(get_int(j, "n_steps", 0), (int64_t) 0),
                .creator_uid = (uid_t) get_int(j, "creator_uid", -1),
                .creator_name = rec_str(j, "creator_name"),
                .created_at = (usec_t) get_int(j, "created_at", 0),
                .finished_at = (usec_t) get_int(j, "finished_at", 0),
                .review_required = streq(rec_str(json_object_get(j, "review"), "state"), "required"),
        };
        r = c->fn(&sum, c->userdata);
        if (r != 0)
                c->stopped = true;
        return r;
}

int store_walk_sessions(StoreTxn *t, uint32_t before, size_t max_read, store_session_summary_fn fn, void *userdata,
                        uint32_t *ret_next) {
        struct walk_ctx c = { fn, userdata, max_read, 0, 0, false };
        uint8_t k[4];
        int r;

        be32_put(k, before);
        r = store_foreach_below(t, DB_SESSIONS, k, before > 0 ? sizeof k : 0, walk_cb, &c);
        if (r < 0)
                return r;
        /* stopped early: go on below the last one looked at; the walk came to the oldest: 0 */
        *ret_next = c.stopped ? c.last : 0;
        return 0;
}
