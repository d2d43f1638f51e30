#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Azure connector, Resource Manager faults (against tests/fake-azure): each ends the step
# failed with an Error that names the cause: 401 on every token (the connector refreshes once,
# then says ARM rejected the token), 403 AuthorizationFailed (names the missing action
# Microsoft.Compute/virtualMachines/runCommands/write and the role), 404 (VM not found), a
# deallocated VM (the power state, looked up after 409 OperationNotAllowed). A step that runs
# past its timeout ends timed_out and its run command is deleted on the VM (which kills the
# script); a cancelled step likewise ends cancelled with its run command deleted.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

azure_fake_up
SECRET="right-$$-$RANDOM"
azure_cred sp "$SECRET"
azure_cred sp2 "$SECRET"
azure_fake_config '{"tenants": {"t1": {"clients": {"app-1": {"secret": "'"$SECRET"'"}, "app-noperm": {"secret": "'"$SECRET"'"}}}},
  "denied": {"app-noperm": ["Microsoft.Compute/virtualMachines/runCommands/write"]},
  "vms": {"vm-1": {}, "vm-401": {"faults": {"arm_401": true}}, "vm-off": {"power": "deallocated"},
          "vm-slow": {"faults": {"exec_delay": 1}}}}'
SP='{"tenant": "t1", "client_id": "app-1", "client_secret": "cred:sp"}'
azure_target t401 vm-401 "$SP"
azure_target t403 vm-1 '{"tenant": "t1", "client_id": "app-noperm", "client_secret": "cred:sp2"}'
azure_target t404 vm-missing "$SP"
azure_target toff vm-off "$SP"
azure_target tslow vm-slow "$SP"
for t in t401 t403 t404 toff; do azure_runbook "run-$t" "$t" 'echo hi'; done
azure_runbook run-timeout tslow 'echo started; sleep 60; echo never' 3
azure_runbook run-cancel tslow 'sleep 60' 120
start_daemon

expect_failure() {
    local id err
    id=$(start_session "$ALICE" "run-$1" "$(ref "$1")") || { fail "StartSession for $1 failed"; return; }
    wait_session_state "$id" failed 40
    err=$(step_prop "$id" 0 Error)
    assert_match "$err" "$2" "$3"
    journal_wait 1 RUNBOOK_REFERENCE="$(ref "$1")" MESSAGE_ID=d10897ff38f94074bd229f5f81ebcead >/dev/null
    assert_match "$(journal_messages RUNBOOK_REFERENCE="$(ref "$1")" MESSAGE_ID=d10897ff38f94074bd229f5f81ebcead)" \
        "success=false.*$2" "$1: the [EXECUTE_STEP] result record carries the cause"
}
expect_failure t401 "Azure Resource Manager rejected the access token \(InvalidAuthenticationToken\)" "401 named as a rejected token"
assert_eq "$(azure_fake_state | jq '.token_requests["app-1"]')" 2 "401: the token was refreshed once before giving up"
expect_failure t403 "permission missing.*Microsoft.Compute/virtualMachines/runCommands/write.*Virtual Machine Contributor" \
    "403 names the missing action and the role"
expect_failure t404 "VM 'vm-missing' not found in resource group '$AZ_RG'" "404 named as VM not found"
expect_failure toff "VM '$AZ_RG/vm-off' is not running \(power state: deallocated\)" "deallocated VM named as not running"

# timeout: the run command is deleted on the VM, which stops the script
R=$(ref timeout)
id=$(start_session "$ALICE" run-timeout "$R") || die "StartSession failed"
wait_step_state "$id" 0 timed_out 30
assert_match "$(step_prop "$id" 0 Error)" "timed out after 3s; the run command was deleted on the VM" "timeout Error says the run was deleted"
assert_eq "$(azure_fake_state | jq '[.deleted[] | select(.state == "Running")] | length')" 1 "the running run command was deleted"
assert_eq "$(azure_fake_state | jq '.run_commands | length')" 0 "no run command left on the VM"
gone=0
for _ in $(seq 50); do pgrep -f 'sleep 60; echo never' >/dev/null || { gone=1; break; }; sleep 0.1; done
assert_eq "$gone" 1 "the script was stopped on the VM"

# cancel: likewise
id=$(start_session "$ALICE" run-cancel "$(ref cancel)") || die "StartSession failed"
for _ in $(seq 100); do
    [ "$(azure_fake_state | jq '[.run_commands[] | select(.properties.instanceView.executionState == "Running")] | length')" = 1 ] && break
    sleep 0.1
done
expect_ok "rbtest-alice cancels" rb_call "$ALICE" "$(session_path "$id")" "$IFACE_SESSION" Cancel
wait_session_state "$id" cancelled 30
wait_step_state "$id" 0 cancelled 10
assert_eq "$(azure_fake_state | jq '[.deleted[] | select(.state == "Running")] | length')" 2 "the cancelled run command was deleted"
assert_eq "$(azure_fake_state | jq '.run_commands | length')" 0 "no run command left on the VM after cancel"
finish
