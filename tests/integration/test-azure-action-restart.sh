#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Azure connector, the classic "action" Run Command across a restart (against tests/fake-azure):
# the run's name is durable before the POST and the operation's URLs as soon as Azure's 202 names
# them, so a kill -9 of runbookd while an action-API step runs loses nothing and doubles nothing:
# after the restart the step is reconciled (not interrupted), its operation followed to its end
# (exit status, stdout, stderr recorded), the fake saw exactly one run (one POST, the script ran
# once), and the session goes on and succeeds. A kill -9 inside the residual window (the POST is
# sent, its 202 not yet recorded) fails the step after the restart, saying it may or may not have
# run, and never sends the POST again.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

MSG_EXECUTING=fd9028b438a94f4c97a33efef9210e60
MSG_INTERRUPTED=44c4248056ef4869899ae04e41ff63fc
SECRET="s3cr3t-$$-$RANDOM"
azure_fake_up '{"tenants": {"t1": {"clients": {"app-1": {"secret": "'"$SECRET"'"}}}},
  "vms": {"vm-1": {}, "vm-window": {"faults": {"post_delay": 4}}}}'
azure_cred sp "$SECRET"
SP='{"api": "action", "tenant": "t1", "client_id": "app-1", "client_secret": "cred:sp"}'
azure_target act1 vm-1 "$SP"
azure_target actwin vm-window "$SP"
M="$WORK/marker" W="$WORK/window-marker"
jq -n --arg slow "echo run >> '$M'; sleep 6; echo \"remote-out s=\$RUNBOOK_SESSION\"; echo remote-err >&2; exit 4" \
    '{description: "azure action restart", target: "act1",
      steps: [{name: "slow", run: $slow, approval: "none", timeout: 120, expect_exit: 4},
              {name: "after", run: "echo second", approval: "none", timeout: 60}]}' \
    > "$CONFIG_DIR/runbooks/act-restart.json"
azure_runbook act-window actwin "echo run >> '$W'; sleep 2; echo done" 120
start_daemon

posts() { azure_fake_state | jq --arg vm "$1" '[.requests[] | select(.vm == $vm and .method == "POST")] | length'; }

# ---- kill -9 while the run goes on; the restart follows its operation to the end
R=$(ref restart)
id=$(start_session "$ALICE" act-restart "$R") || die "StartSession failed"
wait_step_state "$id" 0 running
wait_file "$M" 20 || die "the script did not start on the fake VM"
for _ in $(seq 50); do strings "$STATE_DIR/data.mdb" | grep -q '/operations/' && break; sleep 0.1; done
assert_true "the operation URL is in the step record before the restart" \
    sh -c "strings '$STATE_DIR/data.mdb' | grep -q '/operations/'"
name=$(strings "$STATE_DIR/data.mdb" | grep -o "runbookd-$id-0-a1-[0-9a-f]\{8\}" | head -n 1)
assert_match "$name" "^runbookd-$id-0-a1-" "the run's name is in the step record"
kill_daemon -9
start_daemon
wait_session_state "$id" succeeded 60
assert_eq "$(step_prop "$id" 0 State)" succeeded "the step was reconciled, not interrupted"
assert_eq "$(step_prop "$id" 0 ExitStatus)" 4 "the remote exit status was recovered after the restart"
assert_eq "$(step_prop "$id" 0 Attempt)" 1 "still attempt 1"
get_output "$id" 0
assert_eq "$OUT_STDOUT" "remote-out s=$id" "stdout of the run recorded after the restart"
assert_eq "$OUT_STDERR" "remote-err" "stderr of the run recorded after the restart"
assert_eq "$(step_prop "$id" 1 State)" succeeded "the session went on to the next step"
assert_eq "$(count_lines "$M")" 1 "the script ran once"
assert_eq "$(posts vm-1)" 2 "one POST for each step, none repeated (2)"
assert_eq "$(azure_fake_state | jq '[.operations[] | select(.vm == "vm-1")] | length')" 2 "two runs on the VM, one per step"
journal_wait 1 RUNBOOK_REFERENCE="$R" RUNBOOK_STEP=0 MESSAGE_ID=$MSG_EXECUTING \
    RUNBOOK_CONNECTION="reconciling after a restart: following remote run $name of attempt 1" >/dev/null
assert_eq "$(journal RUNBOOK_REFERENCE="$R" RUNBOOK_STEP=0 MESSAGE_ID=$MSG_EXECUTING | jq -r '.RUNBOOK_CONNECTION // empty' | grep -c reconciling)" 1 \
    "the journal records the step being reconciled"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_INTERRUPTED | wc -l)" 0 "no interrupt record"
assert_match "$(step_result "$R" 0 MESSAGE)" "success=true exit_status=4" "result record of the reconciled step"

# ---- kill -9 inside the window: POST sent, its 202 (held back 4 s by the fake) not yet recorded
R=$(ref window)
id=$(start_session "$ALICE" act-window "$R") || die "StartSession failed"
wait_step_state "$id" 0 running
wait_file "$W" 20 || die "the script did not start on the fake VM"
assert_false "the operation is not yet recorded" sh -c "strings '$STATE_DIR/data.mdb' | grep -q 'vm-window.*operations'"
kill_daemon -9
start_daemon
wait_session_state "$id" failed 60
assert_match "$(step_prop "$id" 0 Error)" \
    "runbookd-$id-0-a1-[0-9a-f]{8} was requested from VM '$AZ_RG/vm-window' just before runbookd stopped.*may or may not have run; not re-run" \
    "the step's Error says the run may or may not have run"
sleep 1
assert_eq "$(posts vm-window)" 1 "the POST was not sent again"
assert_eq "$(count_lines "$W")" 1 "the script was not re-run"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_INTERRUPTED | wc -l)" 0 "no interrupt record"
azure_assert_no_secrets "$SECRET"
finish
