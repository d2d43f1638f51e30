#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (c) Four eyes: the session's creator may not approve its own steps (SelfApprovalForbidden),
# unless runbookd.json says "allow_self_approval": true.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

install_runbook scenario
start_daemon

id=$(start_session "$ALICE" scenario "$(ref c1)" dir "$WORK/c1") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
expect_error SelfApprovalForbidden rb_call "$ALICE" "$(session_path "$id")" "$IFACE_SESSION" Approve s "mine"
expect_error SelfApprovalForbidden rb_call "$ALICE" "$(step_path "$id" 0)" "$IFACE_STEP" Approve s "mine"
assert_eq "$(step_prop "$id" 0 State)" waiting_approval "step 0 still waiting_approval"
assert_eq "$(step_prop "$id" 0 Approvals)" "[]" "no approval recorded"
assert_false "nothing ran" test -e "$WORK/c1"

note "restart with allow_self_approval"
kill_daemon -TERM
write_config '{ "allow_self_approval": true }'
start_daemon
assert_eq "$(session_prop "$id" State)" waiting_approval "session survived the restart"

id2=$(start_session "$ALICE" scenario "$(ref c2)" dir "$WORK/c2") || die "StartSession failed"
wait_step_state "$id2" 0 waiting_approval
expect_ok "alice approves her own step when allowed" rb_call "$ALICE" "$(session_path "$id2")" "$IFACE_SESSION" Approve s "mine"
wait_step_state "$id2" 2 waiting_approval
assert_eq "$(step_prop "$id2" 0 Approvals | jq -r '.[0][1]')" "$ALICE" "the approval is alice's"
assert_true "step 0 ran" test -e "$WORK/c2/precheck.marker"

expect_ok "alice approves the older session's step now" rb_call "$ALICE" "$(session_path "$id")" "$IFACE_SESSION" Approve s "mine"
wait_step_state "$id" 2 waiting_approval
finish
