#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Azure connector, the run itself (service principal with a client secret, against
# tests/fake-azure): a step runs on the "VM" through a managed Run Command with its exit code,
# stdout and stderr recorded; a non-zero exit fails the step with that status; the run command
# resource is deleted afterwards; output over 4 KiB comes back as Azure's last 4 KiB, marked
# truncated; a short-lived token is refreshed mid-run (the fake sees a second token request);
# 429 with Retry-After is honoured (the retry came no sooner than asked); 409 "another run
# command is in progress" is retried until the run goes through; and no secret or token
# reaches the journal, the store or a D-Bus property.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

SECRET="s3cr3t-$$-$RANDOM-value"
CONFIG='{"tenants": {"t1": {"clients": {"app-1": {"secret": "'"$SECRET"'"}, "app-short": {"secret": "'"$SECRET"'", "token_lifetime": 2}}}},
  "vms": {"vm-1": {"subscription": "'"$AZ_SUB"'", "resource_group": "'"$AZ_RG"'"},
          "vm-429": {"faults": {"put_429": 1, "retry_after": 2}},
          "vm-409": {"faults": {"put_409": 2}},
          "vm-500": {"faults": {"put_500": 1}}}}'
azure_fake_up "$CONFIG"
azure_cred sp "$SECRET"
SP='{"tenant": "t1", "client_id": "app-1", "client_secret": "cred:sp"}'
azure_target az1 vm-1 "$SP"
azure_target az429 vm-429 "$SP"
azure_target az409 vm-409 "$SP"
azure_target az500 vm-500 "$SP"
azure_target azshort vm-1 '{"tenant": "t1", "client_id": "app-short", "client_secret": "cred:sp"}'
azure_runbook az-ok az1 'echo "hello from $(id -un)"; echo oops >&2; echo "s=$RUNBOOK_SESSION"; exit 0'
azure_runbook az-fail az1 'echo before; exit 3'
azure_runbook az-big az1 'i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done; echo END'
azure_runbook az-429 az429 'echo throttled-then-ok'
azure_runbook az-409 az409 'echo conflict-then-ok'
azure_runbook az-500 az500 'echo flaky-then-ok'
azure_runbook az-refresh azshort 'sleep 4; echo refreshed'
start_daemon

# success: exit code, stdout, stderr
R=$(ref ok)
id=$(start_session "$ALICE" az-ok "$R") || die "StartSession failed"
wait_session_state "$id" succeeded 30
assert_eq "$(step_prop "$id" 0 ExitStatus)" 0 "exit status 0 recorded"
get_output "$id" 0
assert_match "$OUT_STDOUT" "hello from nobody" "stdout from the VM recorded"
assert_match "$OUT_STDOUT" "s=$id" "RUNBOOK_SESSION reached the script"
assert_eq "$OUT_STDERR" "oops" "stderr from the VM recorded"
assert_eq "$OUT_TRUNCATED" false "small output is not truncated"
assert_eq "$(azure_fake_state | jq '.run_commands | length')" 0 "no run command resource left on the VM"
assert_eq "$(azure_fake_state | jq --arg p "/runCommands/runbookd-$id-0-" '[.deleted[] | select(.id | contains($p))] | length')" 1 \
    "the run command resource was deleted after the run"
journal_wait 1 RUNBOOK_REFERENCE="$R" MESSAGE_ID=d10897ff38f94074bd229f5f81ebcead >/dev/null
assert_match "$(journal_messages RUNBOOK_REFERENCE="$R" MESSAGE_ID=d10897ff38f94074bd229f5f81ebcead)" \
    'success=true exit_status=0' "result record: success, exit status 0"

# non-zero exit
id=$(start_session "$ALICE" az-fail "$(ref fail)") || die "StartSession failed"
wait_session_state "$id" failed 30
assert_eq "$(step_prop "$id" 0 ExitStatus)" 3 "remote exit status 3 recorded"
assert_match "$(step_prop "$id" 0 Error)" "exit status 3" "step Error names the exit status"
get_output "$id" 0
assert_eq "$OUT_STDOUT" "before" "stdout of the failed run recorded"

# output over 4 KiB: only the last 4 KiB, marked truncated
id=$(start_session "$ALICE" az-big "$(ref big)") || die "StartSession failed"
wait_session_state "$id" succeeded 30
get_output "$id" 0
assert_eq "$(printf '%s\n' "$OUT_STDOUT" | wc -c)" 4096 "stdout is Azure's last 4096 bytes"
assert_match "$OUT_STDOUT" "END$" "the tail (not the head) was kept"
assert_eq "$OUT_TRUNCATED" true "output marked truncated"
assert_match "$(journal RUNBOOK_REFERENCE="$(ref big)" MESSAGE_ID=d10897ff38f94074bd229f5f81ebcead | jq -r .RUNBOOK_CONNECTION)" \
    "last 4096 bytes" "result record says Azure keeps only the last 4096 bytes"

# 429 with Retry-After: 2 -> the retry came no sooner than 2 s later
id=$(start_session "$ALICE" az-429 "$(ref 429)") || die "StartSession failed"
wait_session_state "$id" succeeded 30
puts=$(azure_fake_state | jq -c '[.requests[] | select(.vm == "vm-429" and .method == "PUT") | .t]')
assert_eq "$(jq length <<<"$puts")" 2 "two PUTs: the throttled one and the retry"
gap=$(jq '(.[1] - .[0]) * 1000 | floor' <<<"$puts")
assert_true "the retry waited for Retry-After (${gap} ms >= 2000)" test "$gap" -ge 2000

# 409 Conflict twice, then it goes through
id=$(start_session "$ALICE" az-409 "$(ref 409)") || die "StartSession failed"
wait_session_state "$id" succeeded 40
assert_eq "$(azure_fake_state | jq '[.requests[] | select(.vm == "vm-409" and .method == "PUT")] | length')" 3 \
    "409 retried until the run went through (3 PUTs)"
get_output "$id" 0
assert_eq "$OUT_STDOUT" "conflict-then-ok" "the retried run's output"

# 500 once, then it goes through
id=$(start_session "$ALICE" az-500 "$(ref 500)") || die "StartSession failed"
wait_session_state "$id" succeeded 30

# token expiry mid-run: a 2 s token is refreshed while the 4 s script runs
id=$(start_session "$ALICE" az-refresh "$(ref refresh)") || die "StartSession failed"
wait_session_state "$id" succeeded 40
n=$(azure_fake_state | jq '.token_requests["app-short"]')
assert_true "the token was refreshed mid-run ($n token requests)" test "$n" -ge 2
assert_eq "$(azure_fake_state | jq '[.requests[] | select(.kind == "arm" and .status == 401)] | length')" 0 \
    "no request went out with an expired token"

# no secret or token anywhere
azure_assert_no_secrets "$SECRET"
finish
