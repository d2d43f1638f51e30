#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The exit status of runbookctl watch (and start --watch) for every outcome: 0 succeeded,
# 1 error (no such session, usage), 3 failed, 4 rejected, 5 cancelled, 6 interrupted, 7 stopped at
# an approval gate (without --until-end); --until-end follows through approvals to the end.
# Every watch runs under timeout 60: a hang is status 124 and fails.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

require_runbookctl
install_runbook short-sleep scenario failing-precheck long-running echo
start_daemon

# watch_to FILE USER ARGS...: runbookctl ARGS (under timeout 60); output in FILE.out, exit status
# in FILE.rc once it has ended. Run it with bg.
watch_to() { local f=$1; shift; ctl_timeout 60 "$@" >"$f.out" 2>&1; echo $? >"$f.rc"; }
# wait_rc FILE: waits (70 s) for FILE.rc; prints the status, "none" if it never came.
wait_rc() {
    for _ in $(seq 700); do [ -s "$1.rc" ] && { cat "$1.rc"; return; }; sleep 0.1; done
    echo none
}
# wait_out FILE ERE: waits (30 s) until FILE.out has a line matching ERE (what the watcher has
# seen so far); fails the test when it never comes.
wait_out() {
    for _ in $(seq 300); do grep -Eq -- "$2" "$1.out" 2>/dev/null && return 0; sleep 0.1; done
    fail "runbookctl never printed /$2/ (in $1.out: $(tr '\n' '|' < "$1.out" 2>/dev/null))"
    return 1
}
# new_id: the daemon's newest session
new_id() { list_sessions | jq -r '.[0][0]'; }

# --- succeeded: 0, followed while the steps run
id=$(start_session "$ALICE" short-sleep "$(ref w0)" seconds 2) || die "StartSession failed"
wait_step_state "$id" 0 running
ctl_timeout 60 "$BOB" watch "$id" >"$T/w0.out" 2>&1; rc=$?
assert_eq "$rc" 0 "watch of a session that succeeds: 0"
assert_eq "$(session_prop "$id" State)" succeeded "the session did succeed when watch returned"
ctl_timeout 60 "$BOB" watch "$id" >/dev/null 2>&1; rc=$?
assert_eq "$rc" 0 "watch of a session that already succeeded: 0"
ctl_timeout 60 "$BOB" watch "$id" --until-end >/dev/null 2>&1; rc=$?
assert_eq "$rc" 0 "watch --until-end of a session that already succeeded: 0"

# --- start --watch
ctl_timeout 60 "$ALICE" start short-sleep -p seconds=1 --reference "$(ref w1)" --watch >"$T/w1.out" 2>&1; rc=$?
assert_eq "$rc" 0 "start --watch of an approval-free runbook: 0"
id=$(new_id)
assert_eq "$(session_prop "$id" State)" succeeded "start --watch returned once the session had succeeded"
assert_true "start --watch printed the session's id/path" grep -qF "/org/runbookd1/session/$id" "$T/w1.out"
ctl_timeout 60 "$ALICE" start echo -p value=x --reference "$(ref w1b)" --watch >/dev/null 2>&1; rc=$?
assert_eq "$rc" 0 "start --watch of a one-step runbook: 0"

# --- waiting for approval: 7
ctl_timeout 60 "$ALICE" start scenario -p dir="$WORK/w2" --reference "$(ref w2)" --watch >"$T/w2.out" 2>&1; rc=$?
assert_eq "$rc" 7 "start --watch stopping at an approval gate: 7"
id=$(new_id)
assert_eq "$(step_prop "$id" 0 State)" waiting_approval "the session waits at step 0"
ctl_timeout 60 "$BOB" watch "$id" >/dev/null 2>&1; rc=$?
assert_eq "$rc" 7 "watch of a session waiting for approval: 7"

# --- --until-end through approvals given in the background: 0
approve_later() { # once the watcher is following (it has printed the gate), each gate in turn
    for _ in $(seq 300); do grep -q "is waiting for approval" "$T/w3.out" 2>/dev/null && break; sleep 0.1; done
    ctl_timeout 30 "$BOB" approve "$1" -m ok >/dev/null 2>&1
    wait_for_prop "$(step_path "$1" 2)" "$IFACE_STEP" State waiting_approval 20 2>/dev/null
    ctl_timeout 30 "$CAROL" approve "$1" 2 -m go >/dev/null 2>&1
}
bg approve_later "$id"
ctl_timeout 60 "$ALICE" watch "$id" --until-end >"$T/w3.out" 2>&1; rc=$?
assert_eq "$rc" 0 "watch --until-end through two approvals given meanwhile: 0"
assert_eq "$(session_prop "$id" State)" succeeded "the session succeeded"

# --- failed: 3
ctl_timeout 60 "$ALICE" start failing-precheck -p dir="$WORK/w4" --reference "$(ref w4)" --watch >/dev/null 2>&1; rc=$?
assert_eq "$rc" 3 "start --watch of a session that fails: 3"
id=$(new_id)
wait_session_state "$id" failed
ctl_timeout 60 "$BOB" watch "$id" >/dev/null 2>&1; rc=$?
assert_eq "$rc" 3 "watch of a failed session: 3"
mkdir -p "$WORK/w4b"
id=$(start_session "$ALICE" failing-precheck "$(ref w4b)" dir "$WORK/w4b") || die "StartSession failed"
ctl_timeout 60 "$BOB" watch "$id" --until-end >/dev/null 2>&1; rc=$?
assert_eq "$rc" 3 "watch --until-end of a session that fails: 3"

# --- rejected while watching: 4
id=$(start_session "$ALICE" scenario "$(ref w5)" dir "$WORK/w5") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
bg watch_to "$T/w5" "$ALICE" watch "$id" --until-end
# once it has shown the gate, it must stay (it would exit 7 at once without --until-end)
wait_out "$T/w5" "is waiting for approval"
sleep 0.5
assert_false "watch --until-end keeps following at the approval gate" test -e "$T/w5.rc"
expect_ctl_ok "bob rejects" "$BOB" reject "$id" -m "not today"
assert_eq "$(wait_rc "$T/w5")" 4 "watch --until-end of a session rejected meanwhile: 4"
assert_eq "$(session_prop "$id" State)" rejected "the session was rejected"
ctl_timeout 60 "$BOB" watch "$id" >/dev/null 2>&1; rc=$?
assert_eq "$rc" 4 "watch of a rejected session: 4"

# --- cancelled while a step runs: 5
D="$WORK/w6"; mkdir -p "$D"
id=$(start_session "$ALICE" long-running "$(ref w6)" dir "$D") || die "StartSession failed"
wait_step_state "$id" 0 running
bg watch_to "$T/w6" "$BOB" watch "$id"
# once it has shown the running step, it must stay until the step ends
wait_out "$T/w6" "started on"
sleep 0.5
assert_false "watch keeps following a running step" test -e "$T/w6.rc"
expect_ctl_ok "alice cancels" "$ALICE" cancel "$id"
assert_eq "$(wait_rc "$T/w6")" 5 "watch of a session cancelled meanwhile: 5"
assert_eq "$(session_prop "$id" State)" cancelled "the session was cancelled"
ctl_timeout 60 "$BOB" watch "$id" --until-end >/dev/null 2>&1; rc=$?
assert_eq "$rc" 5 "watch --until-end of a cancelled session: 5"

# --- interrupted: 6 (kill -9 of the daemon while a step runs)
D="$WORK/w7"; mkdir -p "$D"
id=$(start_session "$ALICE" long-running "$(ref w7)" dir "$D") || die "StartSession failed"
wait_step_state "$id" 0 running
for _ in $(seq 100); do [ -e "$D/started.marker" ] && break; sleep 0.1; done
kill_daemon -9
# the step's processes outlive a SIGKILLed daemon: stop them, as an operator would
kill_matching "$D"
ctl_timeout 60 "$BOB" watch "$id" >/dev/null 2>&1; rc=$?
assert_eq "$rc" 1 "watch while runbookd is not running: 1 (bus error)"
start_daemon
wait_session_state "$id" interrupted
ctl_timeout 60 "$BOB" watch "$id" >"$T/w7.out" 2>&1; rc=$?
assert_eq "$rc" 6 "watch of an interrupted session: 6"
ctl_timeout 60 "$BOB" watch "$id" --until-end >/dev/null 2>&1; rc=$?
assert_eq "$rc" 6 "watch --until-end of an interrupted session: 6"

# --- errors: 1
ctl_timeout 60 "$BOB" watch 999 >/dev/null 2>"$T/w8.err"; rc=$?
assert_eq "$rc" 1 "watch of a session that does not exist: 1"
assert_match "$(cat "$T/w8.err")" '^runbookctl: ' "watch 999: a runbookctl: error"
ctl_timeout 60 "$BOB" watch >/dev/null 2>&1; rc=$?
assert_eq "$rc" 1 "watch without an id: 1"
ctl_timeout 60 "$BOB" watch "$id" --no-such-option >/dev/null 2>&1; rc=$?
assert_eq "$rc" 1 "watch with an unknown option: 1"
finish
