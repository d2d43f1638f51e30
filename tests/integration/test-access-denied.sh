#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (b) rbtest-mallory (not in group rbtest: the test rules say NO) is refused with AccessDenied for
# every acting call, and the store is unchanged; reading stays open to everyone.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

install_runbook scenario
start_daemon

before=$(list_sessions)
expect_error AccessDenied rb_call "$MALLORY" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' \
    scenario "$(ref b0)" 1 dir "$WORK/b0"
assert_match "$LAST_ERROR_MESSAGE" 'org\.runbookd1\.start-session' "the refusal names the action"
assert_eq "$(list_sessions)" "$before" "ListSessions unchanged after the refused StartSession"
assert_eq "$(journal RUNBOOK_REFERENCE="$(ref b0)" | wc -l)" 0 "no journal record for the refused session"

R=$(ref b) D="$WORK/b"
id=$(start_session "$ALICE" scenario "$R" dir "$D") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
S=$(session_path "$id") P0=$(step_path "$id" 0)
before=$(list_sessions)

expect_error AccessDenied rb_call "$MALLORY" "$S" "$IFACE_SESSION" Approve s "let me"
assert_match "$LAST_ERROR_MESSAGE" 'org\.runbookd1\.approve-step' "the refusal names the action"
expect_error AccessDenied rb_call "$MALLORY" "$P0" "$IFACE_STEP" Approve s "let me"
expect_error AccessDenied rb_call "$MALLORY" "$S" "$IFACE_SESSION" Reject s "no"
expect_error AccessDenied rb_call "$MALLORY" "$P0" "$IFACE_STEP" Reject s "no"
expect_error AccessDenied rb_call "$MALLORY" "$S" "$IFACE_SESSION" Cancel
expect_error AccessDenied rb_call "$MALLORY" "$MANAGER" "$IFACE_MANAGER" Reload

assert_eq "$(list_sessions)" "$before" "ListSessions unchanged"
assert_eq "$(step_prop "$id" 0 State)" waiting_approval "step 0 still waiting_approval"
assert_eq "$(session_prop "$id" State)" waiting_approval "session still waiting_approval"
assert_eq "$(step_prop "$id" 0 Approvals)" "[]" "no approval recorded"
assert_false "nothing ran" test -e "$D"

# reading needs no authorization
assert_eq "$(as_user "$MALLORY" busctl --system --json=short get-property org.runbookd1 "$S" "$IFACE_SESSION" State | jq -r .data)" \
    waiting_approval "mallory may read properties"
assert_true "mallory may ListSessions" as_user "$MALLORY" busctl --system call org.runbookd1 "$MANAGER" "$IFACE_MANAGER" ListSessions 'a{sv}' 0

# an authorized user still can
expect_ok "rbtest-bob approves" rb_call "$BOB" "$S" "$IFACE_SESSION" Approve s ""
wait_step_state "$id" 2 waiting_approval

# the journal: once bob's approval record is there, a record the refused calls had sent would be
# too (one process, one socket, in order)
assert_eq "$(journal_wait 1 RUNBOOK_REFERENCE="$R" MESSAGE_ID=8de48586e7594676831e72346ec10213)" 1 \
    "one approval record in the journal"
assert_match "$(journal_messages RUNBOOK_REFERENCE="$R" MESSAGE_ID=8de48586e7594676831e72346ec10213)" "approved by $BOB " \
    "… and it is bob's"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=0b41da497c8b4b34a127841f31704eb0 | wc -l)" 0 "no rejection record"
finish
