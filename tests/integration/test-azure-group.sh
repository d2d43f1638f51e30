#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A target group of Azure VMs (against tests/fake-azure): the step fans out to every VM; a kill -9
# of runbookd while the run commands run loses nothing and doubles nothing: after the restart
# each host's run command is found and followed to its end (the step is not interrupted), each
# script ran once, one run command was created per VM, and every host's result and output are on
# the step (Results, GetHostOutput) with one host result record each.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

MSG_HOST_RESULT=f2a554bd7bf24053bc4415a1c750da78
SECRET="s3cr3t-$$-$RANDOM"
azure_fake_up '{"tenants": {"t1": {"clients": {"app-1": {"secret": "'"$SECRET"'"}}}},
  "vms": {"vm-1": {}, "vm-2": {}, "vm-3": {}}}'
azure_cred sp "$SECRET"
SP='{"tenant": "t1", "client_id": "app-1", "client_secret": "cred:sp"}'
for i in 1 2 3; do azure_target "az$i" "vm-$i" "$SP"; done
jq -n '{group: ["az1", "az2", "az3"], max_concurrency: 3}' > "$CONFIG_DIR/targets/vms.json"
M="$WORK/marker"
azure_runbook az-group vms "echo \"run \$RUNBOOK_SESSION\" >> '$M'; sleep 5; echo remote-out; exit 0" 120
start_daemon

R=$(ref group)
id=$(start_session "$ALICE" az-group "$R") || die "StartSession failed"
for _ in $(seq 200); do [ "$(count_lines "$M")" -ge 3 ] && break; sleep 0.1; done
assert_eq "$(count_lines "$M")" 3 "the script started on the three VMs"
res=$(prop_json "$(step_path "$id" 0)" "$IFACE_STEP" Results | jq -c '.data')
assert_eq "$(jq -r '[.[] | .[1]] | join(" ")' <<<"$res")" "running running running" "three hosts running at once"
kill_daemon -9
start_daemon
wait_session_state "$id" succeeded 60
res=$(prop_json "$(step_path "$id" 0)" "$IFACE_STEP" Results | jq -c '.data')
assert_eq "$(jq -r '[.[] | "\(.[0]):\(.[1]):\(.[2])"] | join(" ")' <<<"$res")" \
    "az1:succeeded:0 az2:succeeded:0 az3:succeeded:0" "each host followed to its end after the restart"
assert_eq "$(count_lines "$M")" 3 "each script ran once"
for i in 1 2 3; do
    n=$(azure_fake_state | jq --arg vm "vm-$i" --arg p "runCommands/runbookd-$id-0-" \
        '[.requests[] | select(.method == "PUT" and .vm == $vm and (.path | startswith($p)))] | length')
    assert_eq "$n" 1 "one run command created on vm-$i"
done
out=$(busctl --system --json=short call "$BUS_NAME" "$(step_path "$id" 0)" "$IFACE_STEP" GetHostOutput s az2)
assert_eq "$(jq -r '.data[0] | implode' <<<"$out")" "remote-out" "GetHostOutput az2: the VM's stdout"
journal_wait 3 RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_HOST_RESULT >/dev/null
assert_eq "$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_HOST_RESULT | jq -r .RUNBOOK_TARGET | sort | tr '\n' ' ')" \
    "az1 az2 az3 " "one host result record per VM"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" RUNBOOK_TARGET=az1 | jq -r 'select(.RUNBOOK_CONNECTION != null) | .RUNBOOK_CONNECTION' | grep -c 'reconciling after a restart')" 1 \
    "az1's executing record after the restart says it is followed"
assert_false "the client secret is not in the store" grep -qF "$SECRET" "$STATE_DIR/data.mdb"
assert_false "the client secret is not in the journal" grep -qF "$SECRET" <<<"$(journal RUNBOOK_REFERENCE="$R")"
finish
