#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# runbookctl as rbtest-mallory (the test rules: polkit says no): approve, reject, cancel and start
# are each refused with a one-line error naming the polkit action, a non-zero exit, and nothing
# changes (checked through the daemon: busctl, and show --json as root). Reading stays open.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

require_runbookctl
install_runbook scenario long-running
start_daemon

R=$(ref d) D="$WORK/d"
expect_ctl_ok "alice starts scenario" "$ALICE" start scenario -p dir="$D" --reference "$R"
id=$(list_sessions | jq -r '.[0][0]')
wait_step_state "$id" 0 waiting_approval
D2="$WORK/d2"; mkdir -p "$D2"
expect_ctl_ok "alice starts long-running" "$ALICE" start long-running -p dir="$D2" --reference "$(ref d2)"
id2=$(list_sessions | jq -r '.[0][0]')
wait_step_state "$id2" 0 running

# snapshot: what the daemon says, over D-Bus and through runbookctl as root
snapshot() {
    list_sessions
    for s in "$id" "$id2"; do
        for p in State CurrentStep FinishedAt Error; do session_prop "$s" "$p"; done
        step_prop "$s" 0 State; step_prop "$s" 0 Approvals
    done
    # (without fields that change with the clock alone, as an age or a running step's duration)
    local live='walk(if type == "object" then with_entries(select(.key | test("age|duration|elapsed") | not)) else . end)'
    ctl_timeout 60 root show "$id" --json=short | jq -S -c "$live"
    ctl_timeout 60 root show "$id2" --json=short | jq -S -c "$live"
}
before=$(snapshot)
assert_match "$before" waiting_approval "the snapshot has the waiting session"

expect_ctl_fail "mallory: approve refused" 'org\.runbookd1\.approve-step' "$MALLORY" approve "$id" -m "let me"
expect_ctl_fail "mallory: approve STEP refused" 'org\.runbookd1\.approve-step' "$MALLORY" approve "$id" 0 -m "let me"
expect_ctl_fail "mallory: reject refused" 'org\.runbookd1\.approve-step' "$MALLORY" reject "$id" -m "no"
expect_ctl_fail "mallory: reject STEP refused" 'org\.runbookd1\.approve-step' "$MALLORY" reject "$id" 0 -m "no"
expect_ctl_fail "mallory: cancel of the waiting session refused" 'org\.runbookd1\.cancel-session' "$MALLORY" cancel "$id"
expect_ctl_fail "mallory: cancel of the running session refused" 'org\.runbookd1\.cancel-session' "$MALLORY" cancel "$id2"
expect_ctl_fail "mallory: start refused" 'org\.runbookd1\.start-session' "$MALLORY" start scenario -p dir="$WORK/d3" --reference "$(ref d3)"

sleep 0.5
assert_eq "$(snapshot)" "$before" "nothing changed in the daemon"
assert_false "nothing ran in the waiting session" test -e "$D"
assert_true "the running step still runs" pgrep -f -- "$D2" >/dev/null
assert_eq "$(journal RUNBOOK_REFERENCE="$(ref d3)" | wc -l)" 0 "no journal record for the refused start"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=8de48586e7594676831e72346ec10213 | wc -l)" 0 "no approval record in the journal"

# reading needs no authorization
expect_ctl_ok "mallory: show" "$MALLORY" show "$id"
expect_ctl_ok "mallory: list" "$MALLORY" list
expect_ctl_ok "mallory: pending" "$MALLORY" pending

# an authorized user still can
expect_ctl_ok "bob cancels the running session" "$BOB" cancel "$id2"
wait_session_state "$id2" cancelled
expect_ctl_ok "bob approves" "$BOB" approve "$id" -m ok
wait_step_state "$id" 2 waiting_approval
finish
