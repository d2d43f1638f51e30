#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue #11 item 2: a decision binds to the step (index and digest) it was asked about.
# rbtest-bob calls Session.Approve while step 0 waits; polkitd is paused (SIGSTOP) before it
# answers; meanwhile root approves step 0 and the session moves on to step 1's gate; polkitd
# resumes and says yes for step 0. The late answer must not approve step 1 (before the fix it did,
# with bob's comment, and step 1 ran): the call fails with DigestMismatch and step 1 still waits.
# Reject likewise. runbookctl approve ID shows the command of the step it approves and approves
# exactly that step.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

write_runbook gates <<EOF
{ "steps": [
    { "name": "first",  "run": "echo first >> $WORK/first.marker" },
    { "name": "second", "run": "echo second >> $WORK/second.marker" },
    { "name": "third",  "run": "echo third >> $WORK/third.marker" } ] }
EOF
# the test's root approvals come from a shell that may have no login uid (item 4)
write_config '{ "allow_unattended_root_approval": true }'
start_daemon

polkit_pid=$(busctl --system --json=short call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
             GetConnectionUnixProcessID s org.freedesktop.PolicyKit1 | jq -r '.data[0]')
[ -n "$polkit_pid" ] && [ -e "/proc/$polkit_pid" ] || die "cannot find polkitd's pid"

# the daemon's question to polkitd for bob's call has been sent (its debug log says so)
asked_polkit() { grep -c "Asked polkit whether .* may org.runbookd1.approve-step" "$DAEMON_LOG" 2>/dev/null || true; }

late_decision() { # ID METHOD COMMENT: a session-level decision by bob that polkit answers late
    local id=$1 method=$2 comment=$3 out="$T/late-$2.out" caller
    local before; before=$(asked_polkit)
    kill -STOP "$polkit_pid"
    ( rb "$BOB" -- call "$BUS_NAME" "$(session_path "$id")" "$IFACE_SESSION" "$method" s "$comment" \
        >"$out" 2>&1; echo "rc=$?" >> "$out" ) &
    caller=$!
    # wait until the daemon's CheckAuthorization for bob waits at the paused polkitd
    for _ in $(seq 100); do [ "$(asked_polkit)" -gt "$before" ] && break; sleep 0.1; done
    [ "$(asked_polkit)" -gt "$before" ] || echo "the daemon did not ask polkit about bob's call"
    # root (no polkit) approves step 0; the session moves on to step 1's gate
    rb root call "$BUS_NAME" "$(step_path "$id" 0)" "$IFACE_STEP" Approve s "root approves" >/dev/null \
        || fail "root could not approve step 0"
    wait_step_state "$id" 1 waiting_approval 20
    kill -CONT "$polkit_pid"
    wait "$caller"
    cat "$out"
}

# ---- Approve
id=$(start_session "$ALICE" gates "$(ref a)") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
out=$(late_decision "$id" Approve "bob saw step 0")
assert_match "$out" "DigestMismatch|changed while polkit was deciding" "the late approval is refused with DigestMismatch"
assert_match "$out" "rc=1" "the late approval failed"
assert_false "the daemon asked polkit before step 0 moved on" grep -q "did not ask polkit" <<<"$out"
assert_eq "$(step_prop "$id" 1 State)" waiting_approval "step 1 still waits for approval"
assert_false "step 1 did not run" test -e "$WORK/second.marker"
assert_eq "$(prop_json "$(step_path "$id" 1)" "$IFACE_STEP" Approvals | jq '.data | length')" 0 "step 1 holds no approval"

# ---- Reject
id2=$(start_session "$ALICE" gates "$(ref r)") || die "StartSession failed"
wait_step_state "$id2" 0 waiting_approval
out=$(late_decision "$id2" Reject "bob rejects step 0")
assert_match "$out" "DigestMismatch|changed while polkit was deciding" "the late rejection is refused with DigestMismatch"
assert_eq "$(session_prop "$id2" State)" waiting_approval "the session was not rejected"
assert_eq "$(step_prop "$id2" 1 State)" waiting_approval "step 1 still waits"

# ---- runbookctl approve ID: shows the command, approves exactly the waiting step
require_runbookctl
ctl_run "$BOB" approve "$id" -m "looked at it"
assert_eq "$CTL_RC" 0 "runbookctl approve succeeded"
assert_match "$CTL_OUT" "step 1 \(second\) of session $id" "runbookctl names the step it approves"
assert_match "$CTL_OUT" "echo second >> $WORK/second.marker" "runbookctl shows the command it approves"
wait_step_state "$id" 2 waiting_approval 20
assert_true "step 1 ran after its own approval" test -e "$WORK/second.marker"
assert_eq "$(prop_json "$(step_path "$id" 1)" "$IFACE_STEP" Approvals | jq -r '.data[0][1]')" "$BOB" "bob's approval is on step 1"
finish
