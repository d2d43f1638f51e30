/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <openssl/evp.h>
#include <unistd.h>

#include "model/session.h"


void approval_done(Approval *a) {
        free(a->user);
        free(a->login_user);
        free(a->comment);
        free(a->digest);
}

static void host_done(HostRun *h) {
        free(h->target);
        free(h->connector);
        free(h->error);
        json_decref(h->remote);
}

static void step_done(Step *st) {
        for (size_t i = 0; i < st->n_hosts; i++)
                host_done(&st->hosts[i]);
        free(st->hosts);
        free(st->id);
        free(st->when);
        free(st->name);
        free(st->command);
        free(st->target);
        free(st->connector);
        for (size_t i = 0; i < st->n_approvals; i++)
                approval_done(&st->approvals[i]);
        free(st->approvals);
        for (size_t i = 0; i < st->n_approver_groups; i++)
                free(st->approver_groups[i]);
        free(st->approver_groups);
        free(st->digest);
        free(st->error);
        json_decref(st->remote);
        free(st->window_why);
        json_decref(st->captured);
}

Session *session_free(Session *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_steps; i++)
                step_done(&s->steps[i]);
        free(s->steps);
        free(s->runbook);
        free(s->reference);
        json_decref(s->parameters);
        json_decref(s->sealed);
        json_decref(s->snapshot);
        free(s->creator_name);
        free(s->creator_login_name);
        free(s->error);
        free(s->outcome_error);
        strv_free(s->locks);
        approval_done(&s->reviewer);
        free(s);
        return NULL;
}

unsigned session_failed_steps(const Session *s) {
        unsigned n = 0;

        for (size_t i = 0; i < s->n_steps; i++)
                n += (s->steps[i].continue_on_failure || s->steps[i].phase == PHASE_FINALLY) &&
                     step_state_is_failure(s->steps[i].state);
        return n;
}

bool session_finally_failed(const Session *s) {
        for (size_t i = 0; i < s->n_steps; i++)
                if (s->steps[i].phase == PHASE_FINALLY && step_state_is_failure(s->steps[i].state))
                        return true;
        return false;
}

/* Kuhn's augmenting path: can approver 'a' stand for a group, moving others along? */
static bool match_group(const uint32_t *masks, size_t a, int *group_of, uint32_t *seen) {
        for (unsigned g = 0; g < 32; g++) {
                if (!(masks[a] & (UINT32_C(1) << g)) || (*seen & (UINT32_C(1) << g)))
                        continue;
                *seen |= UINT32_C(1) << g;
                if (group_of[g] < 0 || match_group(masks, (size_t) group_of[g], group_of, seen)) {
                        group_of[g] = (int) a;
                        return true;
                }
        }
        return false;
}

/* The largest number of groups that distinct approvers (each with the groups of its mask) can
 * stand for; *ret_missing: the groups of 'all' left without one. */
static unsigned match_groups(const uint32_t *masks, size_t n, uint32_t all, uint32_t *ret_missing) {
        int group_of[32];
        unsigned matched = 0;

        for (unsigned g = 0; g < 32; g++)
                group_of[g] = -1;
        for (size_t a = 0; a < n; a++) {
                uint32_t seen = 0;
                matched += match_group(masks, a, group_of, &seen);
        }
        if (ret_missing) {
                *ret_missing = 0;
                for (unsigned g = 0; g < 32; g++)
                        if ((all & (UINT32_C(1) << g)) && group_of[g] < 0)
                                *ret_missing |= UINT32_C(1) << g;
        }
        return matched;
}

static bool approval_counts(const Approval *a, unsigned attempt) {
        return a->approve && !a->lapsed && !a->break_glass && a->attempt == attempt;
}

static unsigned count_groups(const Step *st, unsigned attempt, const uint32_t *extra, uint32_t *ret_missing) {
        uint32_t masks[STEP_APPROVERS_MAX + 1], all = st->n_approver_groups >= 32 ? UINT32_MAX :
                (UINT32_C(1) << st->n_approver_groups) - 1;
        size_t n = 0;

        for (size_t i = 0; i < st->n_approvals && n < STEP_APPROVERS_MAX; i++)
                if (approval_counts(&st->approvals[i], attempt))
                        masks[n++] = st->approvals[i].groups & all;
        if (extra)
                masks[n++] = *extra & all;
        return match_groups(masks, n, all, ret_missing);
}

unsigned step_count_approvals_for(const Step *st, unsigned attempt) {
        unsigned n = 0;

        if (st->approvers_from_each)
                return count_groups(st, attempt, NULL, NULL);
        for (size_t i = 0; i < st->n_approvals; i++)
                n += approval_counts(&st->approvals[i], attempt);
        return n;
}

const Approval *step_break_glass(const Step *st, unsigned attempt) {
        for (size_t i = 0; i < st->n_approvals; i++)
                if (st->approvals[i].break_glass && st->approvals[i].attempt == attempt)
                        return &st->approvals[i];
        return NULL;
}

unsigned step_count_approvals(const Step *st) {
        return step_count_approvals_for(st, st->attempt);
}

unsigned step_count_groups_with(const Step *st, uint32_t mask, uint32_t *ret_missing) {
        return count_groups(st, st->attempt, &mask, ret_missing);
}

/* runbookd's own uid is asked for once: it never changes (only the children it forks drop
 * privileges, after the fork), and this is called for every active session each time a person's
 * active sessions are counted (StartSession, Retry): with 10,000 sessions of ordinary users
 * active, a geteuid() system call for each was most of StartSession's cost (bench/pending.sh). */
bool uid_is_privileged(uid_t uid) {
        static uid_t euid = UID_INVALID;

        if (uid == 0)
                return true;
        if (!uid_is_valid(euid))
                euid = geteuid();
        return uid == euid;
}

/* A login uid counts only behind a privileged uid: any process that has none may set its own
 * once, without privileges, so for an ordinary user it proves nothing; root (sudo) keeps the
 * one of the person who logged in, and could forge anything anyway. */
uid_t person_of(uid_t uid, uid_t login_uid) {
        return uid_is_privileged(uid) && uid_is_valid(login_uid) ? login_uid : uid;
}

bool person_is_unattended(uid_t uid, uid_t login_uid) {
        return uid_is_privileged(uid) && (!uid_is_valid(login_uid) || uid_is_privileged(login_uid));
}

uid_t identity_person(const Identity *id) {
        return person_of(id->uid, id->login_uid);
}

char *identity_describe(const Identity *id) {
        char *s = NULL;

        if (!id->login_user || identity_person(id) == id->uid)
                return strdup(strempty(id->user));
        (void) asprintf_safe(&s, "%s (as %s)", id->login_user, strempty(id->user));
        return s;
}

void identity_done(Identity *id) {
        id->user = mfree(id->user);
        id->login_user = mfree(id->login_user);
}

int identity_copy(const Identity *from, Identity *to) {
        *to = (Identity) { .uid = from->uid, .login_uid = from->login_uid };
        to->user = strdup(strempty(from->user));
        if (from->login_user)
                to->login_user = strdup(from->login_user);
        if (!to->user || (from->login_user && !to->login_user)) {
                identity_done(to);
                return -ENOMEM;
        }
        return 0;
}

uid_t approval_person(const Approval *a) {
        return person_of(a->uid, a->login_uid);
}

uid_t session_creator_person(const Session *s) {
        return person_of(s->creator_uid, s->creator_login_uid);
}

bool step_approved_by(const Step *st, uid_t person) {
        for (size_t i = 0; i < st->n_approvals; i++)
                if (st->approvals[i].approve && !st->approvals[i].lapsed && st->approvals[i].attempt == st->attempt &&
                    approval_person(&st->approvals[i]) == person)
                        return true;
        return false;
}

unsigned step_approvals_required(const Step *st) {
        return MAX(st->approvals_required, 1u);
}

unsigned step_decided_attempt(const Step *st) {
        return st->attempt > st->retries_done ? st->attempt - st->retries_done : 1;
}

int step_compute_digest(const char *connector, const char *target, const char *target_definition,
                        const char *command, char **ret) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        EVP_MD_CTX *ctx;
        int ok;

        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(ctx, connector, strlen(connector) + 1) &&
             EVP_DigestUpdate(ctx, target, strlen(target) + 1) &&
             EVP_DigestUpdate(ctx, strempty(target_definition), strlen(strempty(target_definition)) + 1) &&
             EVP_DigestUpdate(ctx, command, strlen(command)) &&
             EVP_DigestFinal_ex(ctx, md, &len);
        EVP_MD_CTX_free(ctx);
        if (!ok)
                return -EIO;
        *ret = hexmem(md, len);
        return *ret ? 0 : -ENOMEM;
}
