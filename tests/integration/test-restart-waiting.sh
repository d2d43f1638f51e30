#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (i) kill -9 while a session waits for its second approval; restart on the same state dir:
# same session id, State, Approvals; approving then works.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

install_runbook two-approvers
start_daemon

R=$(ref i) D="$WORK/i"; mkdir -p "$D"
id=$(start_session "$ALICE" two-approvers "$R" dir "$D") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
expect_ok "rbtest-bob approves (1/2)" rb_call "$BOB" "$(session_path "$id")" "$IFACE_SESSION" Approve s "one"
sleep 0.3
approvals=$(step_prop "$id" 0 Approvals)
assert_eq "$(jq -r 'length' <<<"$approvals")" 1 "one approval before the crash"
created=$(session_prop "$id" CreatedAt) digest=$(step_prop "$id" 0 Digest) sessions=$(list_sessions)

kill_daemon -9
start_daemon
assert_eq "$(session_prop "$id" Id)" "$id" "same session id after restart"
assert_eq "$(session_prop "$id" State)" waiting_approval "session State survived"
assert_eq "$(step_prop "$id" 0 State)" waiting_approval "step State survived"
assert_eq "$(session_prop "$id" CurrentStep)" 0 "CurrentStep survived"
assert_eq "$(step_prop "$id" 0 Approvals)" "$approvals" "Approvals survived"
assert_eq "$(session_prop "$id" CreatedAt)" "$created" "CreatedAt survived"
assert_eq "$(step_prop "$id" 0 Digest)" "$digest" "Digest survived"
assert_eq "$(list_sessions)" "$sessions" "ListSessions identical"
assert_false "nothing ran" test -e "$D/dangerous.marker"

expect_error AlreadyApproved rb_call "$BOB" "$(session_path "$id")" "$IFACE_SESSION" Approve s "again"
expect_ok "rbtest-carol approves (2/2)" rb_call "$CAROL" "$(session_path "$id")" "$IFACE_SESSION" Approve s "two"
wait_session_state "$id" succeeded
assert_eq "$(count_lines "$D/dangerous.marker")" 1 "the step ran once"
id2=$(start_session "$ALICE" two-approvers "$(ref i2)" dir "$D") || die "StartSession failed"
assert_eq "$id2" "$((id + 1))" "session ids continue after the restart"
finish
