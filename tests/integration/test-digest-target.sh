#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue #11 item 11: the digest covers the target's definition and is computed again just before
# the step runs. A Reload that re-points web-01 (another user on the host) after the step was
# shown makes the approved step refuse to run; a pooled SSH connection is not reused once
# known_hosts changed (its host key was checked against the old file). (Before the fix the step
# ran on the re-pointed target, and the pooled connection was reused.) The refused step is never
# recorded as running nor announced as starting (#16, item 4): no StartedAt, no "starting" record.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_sshd

write_ssh_target web-01
jq -n --arg run "touch $WORK/ran-gated" '{target: "web-01", steps: [{name: "gated", run: $run}]}' \
    > "$CONFIG_DIR/runbooks/gated.json"
write_ssh_runbook quick web-01 "echo quick"
start_daemon

# ---- re-pointed between display and approval
id=$(start_session "$ALICE" gated "$(ref gated)") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
digest_shown=$(step_prop "$id" 0 Digest)
write_ssh_target web-01 '.user = "nobody"'
expect_ok "Reload" rb_call root "$MANAGER" "$IFACE_MANAGER" Reload
expect_ok "bob approves what he was shown" rb_call "$BOB" "$(step_path "$id" 0)" "$IFACE_STEP" Approve s ok
wait_session_state "$id" failed 30
assert_match "$(step_prop "$id" 0 Error)" "^target 'web-01' changed since the step was approved" "the step refuses, saying why"
assert_eq "$(step_prop "$id" 0 Digest)" "$digest_shown" "the Digest shown is the one approved"
assert_false "the command did not run" test -e "$WORK/ran-gated"
# a refused step never looks started (#16, item 4): no StartedAt, no "starting" record, one result
assert_eq "$(step_prop "$id" 0 StartedAt)" 0 "the refused step has no StartedAt"
assert_eq "$(journal RUNBOOK_REFERENCE="$(ref gated)" RUNBOOK_STEP=0 MESSAGE_ID=$MSG_STEP_STARTING | wc -l)" 0 \
    "no 'starting' record for the refused step"
assert_eq "$(journal RUNBOOK_REFERENCE="$(ref gated)" RUNBOOK_STEP=0 MESSAGE_ID=$MSG_STEP_RESULT | wc -l)" 1 \
    "one result record, with the reason"
assert_match "$(step_result "$(ref gated)" 0 RUNBOOK_ERROR)" "^target 'web-01' changed since" "the record says why"
write_ssh_target web-01
expect_ok "Reload" rb_call root "$MANAGER" "$IFACE_MANAGER" Reload

# ---- a session started after the change gets a digest of its own
id=$(start_session "$ALICE" gated "$(ref gated2)") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
expect_ok "bob approves" rb_call "$BOB" "$(step_path "$id" 0)" "$IFACE_STEP" Approve s ok
wait_session_state "$id" succeeded 30
assert_true "an unchanged target runs the approved step" test -e "$WORK/ran-gated"

# ---- the pool: known_hosts changes, the idle connection is not reused
R=$(ref q1)
id=$(start_session "$ALICE" quick "$R") || die "StartSession failed"
wait_session_state "$id" succeeded 30
assert_match "$(step_result "$R" 0 RUNBOOK_CONNECTION)" "new|reused" "a connection to web-01 is in the pool after the run"
cp "$TESTBED_SSH_KNOWN_HOSTS" "$T/known_hosts.saved"
echo "[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBogusBogusBogusBogusBogusBogusBogusBogusBog" > "$TESTBED_SSH_KNOWN_HOSTS"
R=$(ref q2)
id=$(start_session "$ALICE" quick "$R") || die "StartSession failed"
wait_session_state "$id" failed 30
assert_match "$(step_prop "$id" 0 Error)" "not in known_hosts|host key" "the pooled connection was dropped: the new one fails the host key check"
cp "$T/known_hosts.saved" "$TESTBED_SSH_KNOWN_HOSTS"
finish
