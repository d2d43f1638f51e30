#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (d) A step with "approvers": 2: one approval keeps it waiting, the same approver again is
# AlreadyApproved, a second approver makes it run.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

install_runbook two-approvers
start_daemon

R=$(ref d) D="$WORK/d"; mkdir -p "$D"
id=$(start_session "$ALICE" two-approvers "$R" dir "$D") || die "StartSession failed"
S=$(session_path "$id")
wait_step_state "$id" 0 waiting_approval
assert_eq "$(step_prop "$id" 0 ApprovalsRequired)" 2 "ApprovalsRequired is 2"

expect_ok "rbtest-bob approves (1/2)" rb_call "$BOB" "$S" "$IFACE_SESSION" Approve s "one"
# the decision is taken before the reply: had one approval been enough, the step would be
# approved or running now, not waiting
assert_eq "$(step_prop "$id" 0 State)" waiting_approval "one approval keeps the step waiting"
assert_eq "$(step_prop "$id" 0 Approvals | jq -r 'length')" 1 "Approvals has 1 entry"
assert_false "not run yet" test -e "$D/dangerous.marker"
p=$(rb root --json=short call org.runbookd1 "$MANAGER" "$IFACE_MANAGER" ListPendingApprovals |
    jq -c --argjson id "$id" '.data[0][] | select(.[0] == $id)')
assert_eq "$(jq -r '"\(.[11])/\(.[12])"' <<<"$p")" "1/2" "ListPendingApprovals shows 1 of 2 approvals"

expect_error AlreadyApproved rb_call "$BOB" "$S" "$IFACE_SESSION" Approve s "again"
expect_error AlreadyApproved rb_call "$BOB" "$(step_path "$id" 0)" "$IFACE_STEP" Approve s "again"
expect_error SelfApprovalForbidden rb_call "$ALICE" "$S" "$IFACE_SESSION" Approve s "mine"
assert_eq "$(step_prop "$id" 0 Approvals | jq -r 'length')" 1 "still 1 approval"

expect_ok "rbtest-carol approves (2/2)" rb_call "$CAROL" "$S" "$IFACE_SESSION" Approve s "two"
wait_session_state "$id" succeeded
assert_eq "$(count_lines "$D/dangerous.marker")" 1 "the step ran once"
assert_eq "$(count_lines "$D/after.marker")" 1 "the next step ran"
assert_eq "$(step_prop "$id" 0 Approvals | jq -r '[.[][1]] | join(",")')" "$BOB,$CAROL" "both approvers recorded"
assert_eq "$(journal_wait 2 RUNBOOK_REFERENCE="$R" MESSAGE_ID=8de48586e7594676831e72346ec10213)" 2 "two approval records"
assert_eq "$(journal_messages RUNBOOK_REFERENCE="$R" MESSAGE_ID=8de48586e7594676831e72346ec10213 | tail -n 1)" \
    "[APPROVE_STEP] Step 0 (dangerous) in session $id approved by $CAROL (2/2)" "second approval record says 2/2"
expect_error NotWaitingApproval\|SessionFinished rb_call "$CAROL" "$(step_path "$id" 0)" "$IFACE_STEP" Approve s "late"
finish
