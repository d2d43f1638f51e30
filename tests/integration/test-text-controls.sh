#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue #11 item 12: free text refuses C1 controls and bidirectional overrides, naming the code
# point and where: a reference, a parameter value, an approval comment, a runbook's step name.
# The store is left as it was (no session). (Before the fix they were accepted.)
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

write_runbook p <<EOF
{ "parameters": { "v": {} }, "steps": [ { "name": "gate", "run": "echo {{v}}" } ] }
EOF
jq -n --arg name $'evil\u202eexe.sh' '{steps: [{name: $name, run: "true", approval: "none"}]}' > "$CONFIG_DIR/runbooks/bidi.json"
start_daemon

expect_error InvalidParameter rb "$ALICE" call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' p $'T-1\u202e2' 1 v x
assert_match "$LAST_ERROR_MESSAGE" "reference must be printable UTF-8 text: it has a bidirectional control character U\+202E at byte 3" \
    "a reference with U+202E is refused, naming it and where"
expect_error InvalidParameter rb "$ALICE" call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' p T-2 1 v $'a\u0085b'
assert_match "$LAST_ERROR_MESSAGE" "parameter 'v': value is not printable UTF-8 text \(C1 control character U\+0085 at byte 1\)" \
    "a parameter value with U+0085 is refused, naming it and where"
expect_error InvalidParameter rb "$ALICE" call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' p T-3 1 v $'x\u2066y'
assert_eq "$(list_sessions | jq 'length')" 0 "no session was created"

id=$(start_session "$ALICE" p T-4 v ok) || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
expect_error InvalidParameter rb "$BOB" call "$BUS_NAME" "$(step_path "$id" 0)" "$IFACE_STEP" Approve s $'looks \u202egood'
assert_match "$LAST_ERROR_MESSAGE" "comment must be printable UTF-8 text: it has a bidirectional control character U\+202E" \
    "an approval comment with U+202E is refused"
assert_eq "$(step_prop "$id" 0 State)" waiting_approval "the step still waits"

expect_error InvalidRunbook rb "$ALICE" call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' bidi T-5 0
assert_match "$LAST_ERROR_MESSAGE" "bidi.json: \\\$.steps\[0\].name: must be printable text" "a step name with U+202E makes the runbook unusable"
finish
