#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue #11 item 7: step output is behind polkit action org.runbookd1.read-output. rbtest-mallory
# (polkit: no) is refused GetOutput and GetHostOutput with AccessDenied naming the action, and
# runbookctl output tells her why; rbtest-carol reads it. (Before the fix anyone could read it.)
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

write_runbook secret <<EOF
{ "steps": [ { "name": "print", "run": "echo the-secret-output; echo on-stderr >&2", "approval": "none" } ] }
EOF
start_daemon
id=$(start_session "$ALICE" secret "$(ref s)") || die "StartSession failed"
wait_session_state "$id" succeeded

expect_error AccessDenied rb "$MALLORY" call "$BUS_NAME" "$(step_path "$id" 0)" "$IFACE_STEP" GetOutput
assert_match "$LAST_ERROR_MESSAGE" "org.runbookd1.read-output" "the refusal names the polkit action"
expect_error AccessDenied rb "$MALLORY" call "$BUS_NAME" "$(step_path "$id" 0)" "$IFACE_STEP" GetHostOutput s web-01
out=$(rb "$CAROL" --json=short call "$BUS_NAME" "$(step_path "$id" 0)" "$IFACE_STEP" GetOutput) || fail "carol's GetOutput failed"
assert_eq "$(jq -r '.data[0] | implode' <<<"$out")" "the-secret-output" "carol reads the output"

require_runbookctl
expect_ctl_fail "runbookctl output as mallory says why" \
    "Not authorized to read step output \(polkit action org\.runbookd1\.read-output refused for user $MALLORY\)" \
    "$MALLORY" output "$id" 0
assert_false "mallory got none of the output" grep -q the-secret-output <<<"$CTL_OUT"
expect_ctl_ok "runbookctl output as carol" "$CAROL" output "$id" 0
assert_eq "$CTL_OUT" "the-secret-output" "carol's runbookctl output"
finish
