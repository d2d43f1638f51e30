/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-approvers: counting approvals against a step's approver groups ("from_each": distinct
 * approvers standing for distinct groups, found by augmenting paths; a person in two groups
 * stands for one of them) and lapsed or other-attempt approvals not counting; who is privileged
 * (root, runbookd's own uid), whose login uid names the person. */
#undef NDEBUG
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/session.h"
#include "shared/tests.h"

static char *groups[] = { (char *) "dba", (char *) "sre", (char *) "net" };

static void step_init(Step *st, bool from_each, size_t n_groups) {
        *st = (Step) { .attempt = 1, .approver_groups = groups, .n_approver_groups = n_groups,
                       .approvers_from_each = from_each, .approvals_required = from_each ? (unsigned) n_groups : 2 };
        st->approvals = calloc(16, sizeof(Approval));
        check(st->approvals);
}

static void add(Step *st, uid_t uid, uint32_t mask) {
        st->approvals[st->n_approvals++] = (Approval) { .uid = uid, .login_uid = UID_INVALID, .approve = true,
                                                        .attempt = st->attempt, .groups = mask };
}

static void test_from_each(void) {
        Step st;
        uint32_t missing;

        step_init(&st, true, 3);
        check_int(step_count_approvals(&st), 0);
        check_int(step_count_groups_with(&st, 0, &missing), 0);
        check_int(missing, 7);
        /* dave is in dba and sre: he stands for one of them */
        add(&st, 1003, 1 | 2);
        check_int(step_count_approvals(&st), 1);
        /* bob, dba only: dave moves over to sre */
        check_int(step_count_groups_with(&st, 1, NULL), 2);
        add(&st, 1001, 1);
        check_int(step_count_approvals(&st), 2);
        check_int(step_count_groups_with(&st, 0, &missing), 2);
        check_int(missing, 4);                        /* net is left */
        /* another dba-or-sre person adds nothing */
        check_int(step_count_groups_with(&st, 1 | 2, NULL), 2);
        /* net does */
        check_int(step_count_groups_with(&st, 4, NULL), 3);
        add(&st, 1004, 4);
        check_int(step_count_approvals(&st), 3);
        /* a lapsed approval, or one of another attempt, stands for nothing */
        st.approvals[2].lapsed = true;
        check_int(step_count_approvals(&st), 2);
        st.approvals[2].lapsed = false;
        st.approvals[0].attempt = 2;
        check_int(step_count_approvals(&st), 2);
        check_int(step_count_approvals_for(&st, 2), 1);
        /* a rejection is no approval; a mask beyond the groups is ignored */
        st.approvals[0].attempt = 1;
        st.approvals[1].approve = false;
        check_int(step_count_approvals(&st), 2);
        st.approvals[1] = (Approval) { .approve = true, .attempt = 1, .groups = 8 | 16 };
        check_int(step_count_approvals(&st), 2);
        free(st.approvals);
}

static void test_count(void) {
        Step st;

        step_init(&st, false, 2);
        add(&st, 1001, 1);
        add(&st, 1002, 1);
        check_int(step_count_approvals(&st), 2);      /* with "groups", every approver counts */
        st.approvals[0].lapsed = true;
        check_int(step_count_approvals(&st), 1);
        free(st.approvals);
}

/* uid 0 and runbookd's own uid are privileged (its uid is asked for once: the same answer each
 * time), no other; the login uid stands for the person behind a privileged uid only. */
static void test_privileged(void) {
        uid_t me = geteuid(), other = me == 0 ? 1000 : me + 1;

        for (int i = 0; i < 2; i++) {
                check(uid_is_privileged(0));
                check(uid_is_privileged(me));
                check(!uid_is_privileged(other));
                check(!uid_is_privileged(UID_INVALID));
        }
        check_int(person_of(0, 1001), 1001);
        check_int(person_of(me, 1001), 1001);
        check_int(person_of(other, 1001), other);
        check_int(person_of(0, UID_INVALID), 0);
        check(person_is_unattended(me, UID_INVALID));
        check(!person_is_unattended(other, UID_INVALID));
}

int main(void) {
        TEST(privileged);
        TEST(from_each);
        TEST(count);
        return 0;
}
