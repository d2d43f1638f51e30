#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (e) Reject: the session ends rejected, the remaining steps are skipped, nothing ran.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

install_runbook scenario
start_daemon

R=$(ref e) D="$WORK/e"
id=$(start_session "$ALICE" scenario "$R" dir "$D") || die "StartSession failed"
S=$(session_path "$id")
wait_step_state "$id" 0 waiting_approval
expect_ok "rbtest-bob rejects step 0" rb_call "$BOB" "$S" "$IFACE_SESSION" Reject s "not today"
wait_session_state "$id" rejected
assert_eq "$(step_prop "$id" 0 State)" rejected "step 0 rejected"
for i in 1 2 3 4; do assert_eq "$(step_prop "$id" "$i" State)" skipped "step $i skipped"; done
assert_false "nothing ran (no marker dir)" test -e "$D"
a=$(step_prop "$id" 0 Approvals)
assert_eq "$(jq -r '.[0] | [.[1], .[2], .[4]] | join("|")' <<<"$a")" "$BOB|reject|not today" "the rejection is recorded"
assert_true "FinishedAt set" test "$(session_prop "$id" FinishedAt)" -gt 0
expect_error SessionFinished\|NotWaitingApproval rb_call "$CAROL" "$S" "$IFACE_SESSION" Approve s "too late"
expect_error SessionFinished rb_call "$ALICE" "$S" "$IFACE_SESSION" Cancel

r=$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=0b41da497c8b4b34a127841f31704eb0)
assert_eq "$(jq -r '.MESSAGE' <<<"$r")" "[REJECT_STEP] Step 0 (check dir) in session $id rejected by $BOB" "rejection record"
assert_eq "$(jq -r '[.RUNBOOK_APPROVER_UID, .RUNBOOK_APPROVER, .RUNBOOK_COMMENT] | join("|")' <<<"$r")" \
    "$(id -u "$BOB")|$BOB|not today" "rejection record fields"
assert_eq "$(journal_wait 1 RUNBOOK_REFERENCE="$R" MESSAGE_ID=6719122ff9d54508a2e3b8610b273926 >/dev/null;
             journal_messages RUNBOOK_REFERENCE="$R" MESSAGE_ID=6719122ff9d54508a2e3b8610b273926)" \
    "[SESSION_END] Session $id finished: rejected (precheck 0 (check dir) rejected by $BOB)" "session end record, with the reason"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=fd9028b438a94f4c97a33efef9210e60 | wc -l)" 0 "no command executed"
finish
