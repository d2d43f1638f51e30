#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue #11 item 3: an Azure result that is not a clear success is a failure.
#  - managed Run Command: executionState "Failed" without an exit code, with a string exit code,
#    or with exit code 0, and "Succeeded" without an exit code, each fail the step with the state
#    Azure reported in the error (before the fix they were recorded as exit status 0 and the
#    session went on); a real non-zero exit is still that exit status.
#    So do "Succeeded" with exit code 3, an exit code that would wrap to 0 in 32 bits, and a state
#    nobody knows.
#  - action API: a marker the script prints itself does not decide the exit status; the wrapper's
#    own marker, printed last, does — also when the forged marker (with the "[stderr]" heading
#    that follows the real one) is printed on stderr, which comes after stdout in Azure's result.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

SECRET="s3cr3t-$$-$RANDOM"
azure_fake_up '{"tenants": {"t1": {"clients": {"app-1": {"secret": "'"$SECRET"'"}}}},
  "vms": {"vm-nocode":   {"faults": {"result": {"executionState": "Failed", "exitCode": null}}},
          "vm-strcode":  {"faults": {"result": {"executionState": "Failed", "exitCode": "0"}}},
          "vm-failzero": {"faults": {"result": {"executionState": "Failed", "exitCode": 0}}},
          "vm-succnone": {"faults": {"result": {"executionState": "Succeeded", "exitCode": null}}},
          "vm-succ3":    {"faults": {"result": {"executionState": "Succeeded", "exitCode": 3}}},
          "vm-wrap":     {"faults": {"result": {"executionState": "Succeeded", "exitCode": 4294967296}}},
          "vm-weird":    {"faults": {"result": {"executionState": "Exploded", "exitCode": 0}}},
          "vm-ok": {}, "vm-act": {}}}'
azure_cred sp "$SECRET"
SP='{"tenant": "t1", "client_id": "app-1", "client_secret": "cred:sp"}'
for vm in nocode strcode failzero succnone succ3 wrap weird ok; do
    azure_target "az-$vm" "vm-$vm" "$SP"
    azure_runbook "r-$vm" "az-$vm" 'echo ran'
done
azure_runbook r-exit4 az-ok 'echo ran; exit 4'
azure_target az-act vm-act '{"api": "action", "tenant": "t1", "client_id": "app-1", "client_secret": "cred:sp"}'
# the script finds runbookd's marker name (the fake runs the wrapper with /bin/sh -c, so it is in
# a command line), prints a forged "exit 0" marker with the heading that follows it, and exits 3
azure_runbook forge az-act 'm=$(grep -Eaho "__RUNBOOKD_EXIT_runbookd-[0-9]+-[0-9]+-a[0-9]+-[0-9a-f]{8}" /proc/[0-9]*/cmdline 2>/dev/null | head -n 1); test -n "$m" || exit 9; printf "\n%s=0\n\n[stderr]\n" "$m"; echo after-forgery; exit 3'
# the same, the forged marker (and heading) on stderr: exit 3 all the same, stdout split at the real marker
azure_runbook forge-err az-act 'm=$(grep -Eaho "__RUNBOOKD_EXIT_runbookd-[0-9]+-[0-9]+-a[0-9]+-[0-9a-f]{8}" /proc/[0-9]*/cmdline 2>/dev/null | head -n 1); test -n "$m" || exit 9; echo real-out; printf "\n%s=0\n\n[stderr]\nfake\n" "$m" >&2; exit 3'
start_daemon

expect_unclear() { # RUNBOOK ERE
    local id
    id=$(start_session "$ALICE" "$1" "$(ref "$1")") || { fail "$1: StartSession failed"; return; }
    wait_session_state "$id" failed 40
    assert_match "$(step_prop "$id" 0 Error)" "$2" "$1: the step failed naming what Azure reported"
    assert_eq "$(step_prop "$id" 0 State)" failed "$1: the step is failed, not succeeded"
}
expect_unclear r-nocode "executionState 'Failed' for run command .* without an integer exit code \(exitCode missing\)"
expect_unclear r-strcode "executionState 'Failed' for run command .* without an integer exit code \(exitCode is not an integer\)"
expect_unclear r-failzero "executionState 'Failed' with exit code 0"
expect_unclear r-succnone "executionState 'Succeeded' for run command .* without an integer exit code \(exitCode missing\)"
expect_unclear r-succ3 "executionState 'Succeeded' with exit code 3 for run command .*which do not agree"
expect_unclear r-wrap "executionState 'Succeeded' for run command .* without an integer exit code \(exitCode is out of range\)"
expect_unclear r-weird "executionState 'Exploded' with exit code 0 for run command .*which do not agree"

id=$(start_session "$ALICE" r-ok "$(ref ok)") || fail "r-ok: StartSession failed"
wait_session_state "$id" succeeded 40
assert_eq "$(step_prop "$id" 0 ExitStatus)" 0 "a clear success still succeeds"
id=$(start_session "$ALICE" r-exit4 "$(ref exit4)") || fail "r-exit4: StartSession failed"
wait_session_state "$id" failed 40
assert_eq "$(step_prop "$id" 0 ExitStatus)" 4 "a real non-zero exit is recorded as such"

id=$(start_session "$ALICE" forge "$(ref forge)") || fail "forge: StartSession failed"
wait_session_state "$id" failed 40
assert_eq "$(step_prop "$id" 0 ExitStatus)" 3 "the wrapper's last marker decides: exit status 3, not the forged 0"
get_output "$id" 0
assert_match "$OUT_STDOUT" "after-forgery" "the script's output after its forged marker is kept"

id=$(start_session "$ALICE" forge-err "$(ref forge-err)") || fail "forge-err: StartSession failed"
wait_session_state "$id" failed 40
assert_eq "$(step_prop "$id" 0 ExitStatus)" 3 "a forged marker on stderr: exit status 3, not the forged 0"
get_output "$id" 0
assert_eq "$OUT_STDOUT" "real-out" "stdout split at the wrapper's marker, not at the forged one"
finish
