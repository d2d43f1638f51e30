#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Azure connector, the classic "action" Run Command ("api": "action", against tests/fake-azure):
# POST …/runCommand, the asynchronous operation followed to its end (Azure-AsyncOperation, then
# one GET on Location), stdout and stderr parsed out of the result message exactly (no trailing
# newline, "[stderr]" printed by the script, output over 4 KiB kept as Azure's tail and marked
# truncated), the exit status recovered from runbookd's marker (0 and 3); the opaque operation
# URLs used verbatim (the fake refuses any change); 409 "another run command is in progress"
# retried until it goes through; 429 with Retry-After honoured on the POST and while polling;
# the fake's Retry-After followed on every poll (no early poll, no more polls than asked for); a
# failed operation, a missing runCommand/action permission, an unknown VM and a deallocated VM
# each fail the step with an Error (and [EXECUTE_STEP] result record) naming the cause; a step
# past its timeout ends timed_out and the VM stops the script; no secret or token anywhere.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

MSG_RESULT=d10897ff38f94074bd229f5f81ebcead
SECRET="s3cr3t-$$-$RANDOM-value"
azure_fake_up '{"tenants": {"t1": {"clients": {"app-1": {"secret": "'"$SECRET"'"},
                                              "app-noperm": {"secret": "'"$SECRET"'"}}}},
  "denied": {"app-noperm": ["Microsoft.Compute/virtualMachines/runCommand/action"]},
  "vms": {"vm-1": {}, "vm-2": {},
          "vm-409": {"faults": {"post_409": 2}},
          "vm-429": {"faults": {"post_429": 1, "retry_after": 2}},
          "vm-poll": {"faults": {"poll_retry_after": 1, "op_429": 1, "retry_after": 2}},
          "vm-failop": {"faults": {"op_fail": "VMExtensionProvisioningTimeout"}},
          "vm-off": {"power": "deallocated"}}}'
azure_cred sp "$SECRET"
SP='{"api": "action", "tenant": "t1", "client_id": "app-1", "client_secret": "cred:sp"}'
for vm in 1 2 409 429 poll failop off missing; do azure_target "act-$vm" "vm-$vm" "$SP"; done
azure_target act-noperm vm-1 '{"api": "action", "tenant": "t1", "client_id": "app-noperm", "client_secret": "cred:sp"}'
azure_runbook ok act-1 'echo "hello from $(id -un)"; echo oops >&2; echo "s=$RUNBOOK_SESSION step=$RUNBOOK_STEP"'
azure_runbook fail act-1 'echo before; printf partial; exit 3'
azure_runbook tricky act-2 "printf 'no newline'; printf '[stderr]\nfake heading\n'; printf '[stdout]\n' >&2; printf 'it'\''s \$HOME\n' >&2"
azure_runbook big act-1 'i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done; echo END; echo small-err >&2'
azure_runbook r409 act-409 'echo conflict-then-ok'
azure_runbook r429 act-429 'echo throttled-then-ok'
azure_runbook poll act-poll 'sleep 3; echo polled'
azure_runbook failop act-failop 'echo x'
azure_runbook noperm act-noperm 'echo x'
azure_runbook off act-off 'echo x'
azure_runbook missing act-missing 'echo x'
azure_runbook slow act-2 'echo started; sleep 67; echo never' 3
start_daemon

ops() { azure_fake_state | jq -c --arg vm "$1" '[.operations[] | select(.vm == $vm)]'; }

# ---- success: exit status 0, stdout and stderr exactly, the environment
R=$(ref ok)
id=$(start_session "$ALICE" ok "$R") || die "StartSession failed"
wait_session_state "$id" succeeded 30
assert_eq "$(step_prop "$id" 0 ExitStatus)" 0 "exit status 0 recorded"
get_output "$id" 0
assert_eq "$OUT_STDOUT" "hello from nobody
s=$id step=0" "stdout of the run, without runbookd's exit marker"
assert_eq "$OUT_STDERR" "oops" "stderr of the run"
assert_eq "$OUT_TRUNCATED" false "small output is not truncated"
st=$(azure_fake_state)
assert_eq "$(jq '[.requests[] | select(.vm == "vm-1" and .method == "POST")] | length' <<<"$st")" 1 "one POST …/runCommand"
assert_eq "$(jq '[.requests[] | select(.vm == "vm-1" and .method == "PUT")] | length' <<<"$st")" 0 "no managed run command was created"
assert_eq "$(jq '[.requests[] | select(.vm == "vm-1" and (.path | startswith("operations/")) and .monitor)] | length' <<<"$st")" 1 \
    "one final GET on the Location URL (monitor=true), after the operation succeeded"
assert_true "the Azure-AsyncOperation URL was polled" \
    test "$(jq '[.requests[] | select(.vm == "vm-1" and (.path | startswith("operations/")) and (.monitor | not))] | length' <<<"$st")" -ge 1
assert_eq "$(jq '[.requests[] | select(.status == 400)] | length' <<<"$st")" 0 "the signed operation URLs were used verbatim"
assert_match "$(step_result "$R" 0 MESSAGE)" "success=true exit_status=0" "result record: success, exit status 0"
assert_match "$(step_result "$R" 0 RUNBOOK_CONNECTION)" "action API" "result record names the action API"

# ---- non-zero exit (and stdout without a trailing newline)
id=$(start_session "$ALICE" fail "$(ref fail)") || die "StartSession failed"
wait_session_state "$id" failed 30
assert_eq "$(step_prop "$id" 0 ExitStatus)" 3 "remote exit status 3 recovered from the marker"
assert_match "$(step_prop "$id" 0 Error)" "exit status 3" "step Error names the exit status"
get_output "$id" 0
assert_eq "$(printf '%s' "$OUT_STDOUT" | od -c | head -n 2)" "$(printf 'before\npartial' | od -c | head -n 2)" \
    "stdout kept exactly (no newline added after 'partial')"

# ---- a script that prints the section headings itself
id=$(start_session "$ALICE" tricky "$(ref tricky)") || die "StartSession failed"
wait_session_state "$id" succeeded 30
get_output "$id" 0
assert_eq "$OUT_STDOUT" "no newline[stderr]
fake heading" "stdout holding '[stderr]' is not split there"
assert_eq "$OUT_STDERR" "[stdout]
it's \$HOME" "stderr holding '[stdout]' and quotes kept"

# ---- over 4 KiB: Azure's last 4096 bytes, marked truncated
R=$(ref big)
id=$(start_session "$ALICE" big "$R") || die "StartSession failed"
wait_session_state "$id" succeeded 30
get_output "$id" 0
assert_match "$OUT_STDOUT" "END$" "the tail (not the head) of stdout was kept"
n=$(printf '%s\n' "$OUT_STDOUT" | wc -c)
assert_true "stdout is at most Azure's 4096-byte tail, less the marker ($n bytes)" test "$n" -le 4096 -a "$n" -gt 3900
assert_eq "$OUT_STDERR" "small-err" "stderr beside a big stdout"
assert_eq "$OUT_TRUNCATED" true "output marked truncated"
assert_match "$(step_result "$R" 0 RUNBOOK_CONNECTION)" "last 4096 bytes" "result record says Azure keeps only 4096 bytes"

# ---- 409 Conflict twice, then it goes through
id=$(start_session "$ALICE" r409 "$(ref 409)") || die "StartSession failed"
wait_session_state "$id" succeeded 40
assert_eq "$(azure_fake_state | jq '[.requests[] | select(.vm == "vm-409" and .method == "POST")] | length')" 3 \
    "409 retried until the run went through (3 POSTs)"
get_output "$id" 0
assert_eq "$OUT_STDOUT" "conflict-then-ok" "the retried run's output"

# ---- 429 with Retry-After: 2 on the POST
id=$(start_session "$ALICE" r429 "$(ref 429)") || die "StartSession failed"
wait_session_state "$id" succeeded 30
posts=$(azure_fake_state | jq -c '[.requests[] | select(.vm == "vm-429" and .method == "POST") | .t]')
assert_eq "$(jq length <<<"$posts")" 2 "two POSTs: the throttled one and the retry"
gap=$(jq '(.[1] - .[0]) * 1000 | floor' <<<"$posts")
assert_true "the retry waited for Retry-After (${gap} ms >= 2000)" test "$gap" -ge 2000

# ---- polling: Retry-After 1 on every "not yet", one 429 (Retry-After 2) while polling
id=$(start_session "$ALICE" poll "$(ref poll)") || die "StartSession failed"
wait_session_state "$id" succeeded 40
o=$(ops vm-poll)
assert_eq "$(jq length <<<"$o")" 1 "one operation on vm-poll"
assert_eq "$(jq '.[0].early' <<<"$o")" 0 "no poll came before the Retry-After it was given"
polls=$(jq '.[0].polls' <<<"$o") asked=$(jq '.[0].asked' <<<"$o")
assert_true "no more polls than the fake asked for ($polls polls, $asked asked)" test "$polls" -le "$asked"
assert_true "the 429 while polling was retried, then polling went on ($polls polls)" test "$polls" -ge 3
assert_eq "$(azure_fake_state | jq '[.requests[] | select(.vm == "vm-poll" and .status == 429)] | length')" 1 "one poll was throttled"
get_output "$id" 0
assert_eq "$OUT_STDOUT" "polled" "output after the throttled poll"

# ---- failures name their cause (step Error and the [EXECUTE_STEP] result record)
expect_failure() {
    local id err
    id=$(start_session "$ALICE" "$1" "$(ref "$1")") || { fail "StartSession for $1 failed"; return; }
    wait_session_state "$id" failed 40
    err=$(step_prop "$id" 0 Error)
    assert_match "$err" "$2" "$3"
    journal_wait 1 RUNBOOK_REFERENCE="$(ref "$1")" MESSAGE_ID=$MSG_RESULT >/dev/null
    assert_match "$(journal_messages RUNBOOK_REFERENCE="$(ref "$1")" MESSAGE_ID=$MSG_RESULT)" \
        "success=false.*$2" "$1: the [EXECUTE_STEP] result record carries the cause"
}
expect_failure failop "failed on VM '$AZ_RG/vm-failop' \(VMExtensionProvisioningTimeout\): Provisioning of VM extension" \
    "a failed operation names its error code and message"
expect_failure noperm "permission missing.*Microsoft.Compute/virtualMachines/runCommand/action.*Virtual Machine Contributor" \
    "403 names the runCommand/action permission and the role"
expect_failure missing "VM 'vm-missing' not found in resource group '$AZ_RG'" "404 named as VM not found"
expect_failure off "VM '$AZ_RG/vm-off' is not running \(power state: deallocated\)" "deallocated VM named as not running"

# ---- timeout: the step ends timed_out, and the VM stops the script (timeout(1) in the wrapper)
id=$(start_session "$ALICE" slow "$(ref slow)") || die "StartSession failed"
wait_step_state "$id" 0 timed_out 30
assert_match "$(step_prop "$id" 0 Error)" "timed out after 3s; the classic Run Command API cannot stop a script: the VM stops it" \
    "timeout Error says how the script is stopped"
assert_true "the script (and its children) were stopped on the VM" wait_gone '^sleep 67$' 15
for _ in $(seq 50); do [ "$(ops vm-2 | jq '[.[] | select(.status == "InProgress" and .end == null)] | length')" = 0 ] && break; sleep 0.2; done
assert_eq "$(ops vm-2 | jq '[.[] | select(.end == null)] | length')" 0 "the operation ended on the VM"

# ---- no secret or token anywhere
azure_assert_no_secrets "$SECRET"
assert_true "the operation URL is in the store (the remote handle)" sh -c "strings '$STATE_DIR/data.mdb' | grep -q '/operations/'"
finish
