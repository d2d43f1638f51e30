#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Values between steps (issue #13): a precheck captures a value from its output; the next step's
# Command and Digest show it, quoted, before anyone approves; the approval runs exactly that;
# Captured, the capture record and the result record carry the value; it survives a restart; a
# value that cannot be taken fails its step with the reason.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_runbookctl

write_runbook upgrade <<'JSON'
{
  "parameters": { "dir": { "pattern": "^/[A-Za-z0-9/._-]+$" }, "out": { "default": "app 2.4.1" } },
  "prechecks": [ { "id": "current", "name": "current version", "run": "echo starting; echo {{out}}",
                   "approval": "none",
                   "capture": { "version": { "regex": "^app ([0-9.]+)$", "pattern": "^[0-9.]+$" } } } ],
  "steps": [ { "id": "backup", "name": "back up", "run": "echo {{steps.current.version}} > {{dir}}/backup.tag" } ]
}
JSON
start_daemon
MSG_CAPTURED=091668ca0b7049d6ac1cf7a2e15daa26
MSG_RESULT=d10897ff38f94074bd229f5f81ebcead

R=$(ref c1) D="$WORK/c1"; mkdir -p "$D"; chmod 777 "$D"
id=$(start_session "$ALICE" upgrade "$R" dir "$D") || die "StartSession failed"
wait_step_state "$id" 1 waiting_approval
assert_eq "$(step_prop "$id" 0 Captured)" '{"version":"2.4.1"}' "Captured on the precheck"
assert_eq "$(step_prop "$id" 1 Command)" "echo '2.4.1' > '$D'/backup.tag" "the waiting step's Command shows the value, quoted"
want=$(printf 'local\0local\0{"connector":"local"}\0%s' "echo '2.4.1' > '$D'/backup.tag" | sha256sum | cut -d' ' -f1)
assert_eq "$(step_prop "$id" 1 Digest)" "$want" "its Digest covers the command with the value"
journal_wait 1 RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_CAPTURED >/dev/null
rec=$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_CAPTURED)
assert_eq "$(jq -r .MESSAGE <<<"$rec")" "[CAPTURE] Step 0 (current version) in session $id captured version=2.4.1" "the capture record"
assert_eq "$(jq -r .RUNBOOK_CAPTURED_VERSION <<<"$rec")" 2.4.1 "the capture record's field"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" RUNBOOK_STEP=0 MESSAGE_ID=$MSG_RESULT | jq -r .RUNBOOK_CAPTURED_VERSION)" 2.4.1 \
    "the result record carries the value"
expect_ctl_ok "runbookctl show" "$ALICE" show "$id"
assert_match "$CTL_OUT" "Captured: version=2\.4\.1" "runbookctl show: the captured value"

# a restart keeps the value and the rendered command
restart_daemon
assert_eq "$(step_prop "$id" 0 Captured)" '{"version":"2.4.1"}' "Captured after a restart"
assert_eq "$(step_prop "$id" 1 Digest)" "$want" "the Digest after a restart"
expect_ok "rbtest-bob approves the step he was shown" rb_call "$BOB" "$(step_path "$id" 1)" "$IFACE_STEP" Approve s "ok"
wait_session_state "$id" succeeded
assert_eq "$(cat "$D/backup.tag")" 2.4.1 "the approved command ran with the value"

# a value that fails its pattern (or is not there) fails the step, saying which and why
R=$(ref c2) D="$WORK/c2"; mkdir -p "$D"; chmod 777 "$D"
id=$(start_session "$ALICE" upgrade "$R" dir "$D" out "app 2.4.1-rc1") || die "StartSession failed"
wait_session_state "$id" failed
assert_eq "$(step_prop "$id" 0 Error)" "capture 'version': no line of stdout matches '^app ([0-9.]+)\$'" \
    "the precheck fails with the capture's reason"
assert_eq "$(step_prop "$id" 0 ExitStatus)" 0 "although its command exited 0"
assert_eq "$(step_prop "$id" 1 State)" skipped "nothing after it runs"
assert_eq "$(step_prop "$id" 1 Command)" "echo {{steps.current.version}} > '$D'/backup.tag" \
    "a step not reached shows the reference"
assert_false "the step did not run" test -e "$D/backup.tag"
finish
