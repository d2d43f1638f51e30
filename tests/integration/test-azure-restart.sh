#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Azure connector across a restart (against tests/fake-azure): the run command's name is durable
# before the PUT that creates it, so a kill -9 of runbookd while a step runs on Azure loses
# nothing and doubles nothing: after the restart the step is reconciled (not interrupted): its
# run command is found and followed to its end (exit code, stdout, stderr recorded, resource
# deleted), the script ran once, one run command was ever created for the step, and the session
# goes on to its next step and succeeds. A run command that is gone after the restart (lost, no
# sign that it finished) fails the step with "was not found after a restart; it may or may not
# have run" and is never created again.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

MSG_EXECUTING=fd9028b438a94f4c97a33efef9210e60
MSG_INTERRUPTED=44c4248056ef4869899ae04e41ff63fc
SECRET="s3cr3t-$$-$RANDOM"
vms() { echo '{"tenants": {"t1": {"clients": {"app-1": {"secret": "'"$SECRET"'"}}}},
  "vms": {"vm-1": {}, "vm-lose": '"$1"'}}'; }
azure_fake_up "$(vms '{}')"
azure_cred sp "$SECRET"
SP='{"tenant": "t1", "client_id": "app-1", "client_secret": "cred:sp"}'
azure_target az1 vm-1 "$SP"
azure_target azlose vm-lose "$SP"
M="$WORK/marker" L="$WORK/lost-marker"
jq -n --arg slow "echo run >> '$M'; sleep 6; echo \"remote-out s=\$RUNBOOK_SESSION\"; echo remote-err >&2; exit 0" \
    '{description: "azure restart", target: "az1",
      steps: [{name: "slow", run: $slow, approval: "none", timeout: 120},
              {name: "after", run: "echo second", approval: "none", timeout: 60}]}' \
    > "$CONFIG_DIR/runbooks/az-restart.json"
azure_runbook az-lose azlose "echo run >> '$L'; sleep 30; echo never" 120
start_daemon

# ---- kill -9 while the run command runs; the restart reconciles it
R=$(ref restart)
id=$(start_session "$ALICE" az-restart "$R") || die "StartSession failed"
wait_step_state "$id" 0 running
wait_file "$M" 20 || die "the script did not start on the fake VM"
rc_prefix="/runCommands/runbookd-$id-0-a1-"
assert_eq "$(azure_fake_state | jq --arg p "$rc_prefix" '[.run_commands | keys[] | select(contains($p))] | length')" 1 \
    "the run command exists on the VM, named after (session, step, attempt)"
handle=$(strings "$STATE_DIR/data.mdb" | grep -o "runbookd-$id-0-a1-[0-9a-f]\{8\}" | head -n 1)
assert_match "$handle" "^runbookd-$id-0-a1-" "the run command's name is in the step record before the restart"
kill_daemon -9
start_daemon
wait_session_state "$id" succeeded 60
assert_eq "$(step_prop "$id" 0 State)" succeeded "the step was reconciled, not interrupted"
assert_eq "$(step_prop "$id" 0 ExitStatus)" 0 "the remote exit status was recorded after the restart"
assert_eq "$(step_prop "$id" 0 Attempt)" 1 "still attempt 1"
get_output "$id" 0
assert_eq "$OUT_STDOUT" "remote-out s=$id" "stdout of the run recorded after the restart"
assert_eq "$OUT_STDERR" "remote-err" "stderr of the run recorded after the restart"
assert_eq "$(step_prop "$id" 1 State)" succeeded "the session went on to the next step"
assert_eq "$(count_lines "$M")" 1 "the script ran once"
assert_eq "$(azure_fake_state | jq --arg p "$rc_prefix" '[.requests[] | select(.method == "PUT" and (("/" + .path) | contains($p)))] | length')" 1 \
    "one run command was ever created for the step (one PUT)"
assert_eq "$(azure_fake_state | jq --arg p "/runCommands/runbookd-$id-0-" '[.requests[] | select(.method == "PUT" and (("/" + .path) | contains($p)))] | length')" 1 \
    "no PUT under any other name either"
assert_eq "$(azure_fake_state | jq --arg p "/runCommands/runbookd-$id-0-" '[.deleted[] | select(.id | contains($p))] | length')" 1 \
    "the run command was deleted once it was over"
assert_eq "$(azure_fake_state | jq --arg p "/runCommands/runbookd-$id-0-" '[.deleted[] | select(.id | contains($p)) | .state][0]')" '"Succeeded"' \
    "it was deleted after it finished (not stopped by the delete)"
assert_eq "$(azure_fake_state | jq '.run_commands | length')" 0 "no run command left on the VM"
journal_wait 1 RUNBOOK_REFERENCE="$R" RUNBOOK_STEP=0 MESSAGE_ID=$MSG_EXECUTING RUNBOOK_CONNECTION="reconciling after a restart: following remote run $handle of attempt 1" >/dev/null
assert_eq "$(journal RUNBOOK_REFERENCE="$R" RUNBOOK_STEP=0 MESSAGE_ID=$MSG_EXECUTING | jq -r '.RUNBOOK_CONNECTION // empty' | grep -c reconciling)" 1 \
    "the journal records the step being reconciled"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_INTERRUPTED | wc -l)" 0 "no interrupt record"
assert_match "$(step_result "$R" 0 MESSAGE)" "success=true exit_status=0" "result record of the reconciled step"
assert_eq "$(session_prop "$id" State)" succeeded "the session succeeded"

# ---- the run command is gone after the restart (nothing says it finished): failed, not re-run
R=$(ref lose)
id=$(start_session "$ALICE" az-lose "$R") || die "StartSession failed"
wait_step_state "$id" 0 running
wait_file "$L" 20 || die "the script did not start on the fake VM"
kill_daemon -9
azure_fake_config "$(vms '{"faults": {"lose": true}}')"
start_daemon
wait_session_state "$id" failed 60
assert_eq "$(step_prop "$id" 0 State)" failed "the step whose run is gone failed"
assert_match "$(step_prop "$id" 0 Error)" "runbookd-$id-0-a1-[0-9a-f]{8}.*was not found after a restart; it may or may not have run" \
    "the step's Error says the remote run was not found after a restart"
assert_eq "$(azure_fake_state | jq --arg p "/runCommands/runbookd-$id-0-" '[.lost[] | select(.id | contains($p))] | length')" 1 \
    "the fake lost the run command"
sleep 1
assert_eq "$(azure_fake_state | jq '[.requests[] | select(.vm == "vm-lose" and .method == "PUT")] | length')" 1 \
    "it was not created again (one PUT)"
assert_eq "$(count_lines "$L")" 1 "the script was not re-run"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_INTERRUPTED | wc -l)" 0 "no interrupt record"
finish
