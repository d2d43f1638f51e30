#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A step on a target group fans out over its members, through the real daemon and the testbed's
# real sshd: a 50-host group (50 ssh targets on the one sshd) runs with max_concurrency respected
# (measured on the server side, from the commands' own start and end times), every host's result
# is on the step (Results, GetHostOutput) and has a result record with RUNBOOK_TARGET; a failure
# within max_errors leaves the step succeeded, more failures than max_errors ("10%") stop the
# fan-out (no new host starts) and fail the step; a group whose members changed after the
# session was created does not run; a member that is not configured is refused at StartSession.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

MARK=$T/mark
mkdir -p "$MARK"
HOSTS=()
for i in $(seq -w 1 50); do
    write_ssh_target "h$i"
    HOSTS+=("h$i")
done
group() { # NAME MAX_CONCURRENCY MAX_ERRORS(json) MEMBER...
    local name=$1 conc=$2 errs=$3; shift 3
    printf '%s\n' "$@" | jq -R . | jq -s --argjson c "$conc" --argjson e "$errs" \
        '{group: ., max_concurrency: $c, max_errors: $e, description: "test group"}' \
        > "$CONFIG_DIR/targets/$name.json"
}
group fleet 5 0 "${HOSTS[@]}"
group flaky 2 '"10%"' "${HOSTS[@]:0:20}"
group tolerant 3 2 "${HOSTS[@]:0:6}"
group moving 2 0 h01 h02
group broken 2 0 h01 nosuchhost

# each command logs its start and end (ns) on the server side; the overlap is the concurrency
# (1.5 s each: on a loaded 2-core machine a connection's set-up can take longer than 0.3 s, and
# with shorter commands the hosts never overlapped, even on the code of an earlier stop)
write_ssh_runbook fleet-run fleet \
    "echo \"\$(date +%s%N) 1\" >> $MARK/fleet.log; sleep 1.5; echo \"\$(date +%s%N) -1\" >> $MARK/fleet.log; echo out-\$RUNBOOK_SESSION; echo err >&2"
write_ssh_runbook flaky-run flaky "echo x >> $MARK/flaky.log; sleep 0.2; exit 1"
write_ssh_runbook tolerant-run tolerant "if mkdir $MARK/once 2>/dev/null; then exit 7; fi; echo fine"
jq -n '{description: "approve first", target: "moving", steps: [{name: "go", run: "echo moved", approval: "required"}]}' \
    > "$CONFIG_DIR/runbooks/moving-run.json"
write_ssh_runbook broken-run broken "true"
start_daemon

assert_eq "$(prop /org/runbookd1/target/fleet org.runbookd1.Target Connector)" group "fleet is a group"

# ---- 50 hosts, at most 5 at once
R=$(ref fleet)
id=$(start_session "$ALICE" fleet-run "$R") || die "StartSession failed"
wait_session_state "$id" succeeded 120
assert_eq "$(step_prop "$id" 0 State)" succeeded "the group step succeeded"
assert_eq "$(step_prop "$id" 0 ExitStatus)" 0 "ExitStatus 0 (every host exited 0)"
res=$(prop_json "$(step_path "$id" 0)" "$IFACE_STEP" Results | jq -c '.data')
assert_eq "$(jq 'length' <<<"$res")" 50 "Results has one entry per host"
assert_eq "$(jq '[.[] | select(.[1] == "succeeded" and .[2] == 0)] | length' <<<"$res")" 50 "every host succeeded with exit 0"
assert_eq "$(jq -r '[.[][0]] | join(",")' <<<"$res")" "$(IFS=,; echo "${HOSTS[*]}")" "Results in member order"
assert_eq "$(jq '[.[] | select(.[4] > 0 and .[5] >= .[4])] | length' <<<"$res")" 50 "each host has start and end times"
n=$(wc -l < "$MARK/fleet.log")
assert_eq "$n" 100 "the server saw 50 starts and 50 ends"
max=$(sort -n "$MARK/fleet.log" | awk '{c += $2; if (c > m) m = c} END {print m}')
note "maximum concurrency seen by the server: $max"
assert_true "at most max_concurrency=5 commands at once (saw $max)" test "$max" -le 5
assert_true "the fan-out runs hosts in parallel (saw $max at once)" test "$max" -ge 3

out=$(busctl --system --json=short call "$BUS_NAME" "$(step_path "$id" 0)" "$IFACE_STEP" GetHostOutput s h17)
assert_eq "$(jq -r '.data[0] | implode' <<<"$out")" "out-$id" "GetHostOutput h17: its stdout"
assert_eq "$(jq -r '.data[1] | implode' <<<"$out")" "err" "GetHostOutput h17: its stderr"
expect_error NoSuchTarget rb_call root "$(step_path "$id" 0)" "$IFACE_STEP" GetHostOutput s h99

journal_wait 50 RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_HOST_RESULT >/dev/null
hr=$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_HOST_RESULT)
assert_eq "$(wc -l <<<"$hr")" 50 "one host result record per host"
assert_eq "$(jq -r 'select(.RUNBOOK_TARGET == "h33") | .MESSAGE' <<<"$hr")" \
    "$(jq -r 'select(.RUNBOOK_TARGET == "h33") | .MESSAGE' <<<"$hr" | grep -E '^\[EXECUTE_STEP\] Command execution result on h33: success=true exit_status=0 duration=')" \
    "h33's record: [EXECUTE_STEP] Command execution result on h33: success=true ..."
assert_eq "$(jq -r 'select(.RUNBOOK_TARGET == "h33") | .RUNBOOK_GROUP' <<<"$hr")" fleet "host records carry RUNBOOK_GROUP"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_HOST_EXECUTING | wc -l)" 50 "one executing record per host"
sum=$(step_result "$R" 0 MESSAGE)
assert_match "$sum" '^\[EXECUTE_STEP\] Command execution result: success=true exit_status=0 duration=.* hosts=50 succeeded=50 failed=0 not_run=0$' \
    "the step's result record sums up the hosts"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_STEP_STARTING | wc -l)" 1 "one starting record for the step"

# ---- more failures than max_errors: no new host starts, the step fails
R=$(ref flaky)
id=$(start_session "$ALICE" flaky-run "$R") || die "StartSession failed"
wait_session_state "$id" failed 60
res=$(prop_json "$(step_path "$id" 0)" "$IFACE_STEP" Results | jq -c '.data')
failed=$(jq '[.[] | select(.[1] == "failed")] | length' <<<"$res")
skipped=$(jq '[.[] | select(.[1] == "skipped")] | length' <<<"$res")
ran=$(wc -l < "$MARK/flaky.log")
note "flaky: $ran ran, $failed failed, $skipped skipped"
# max_errors 10% of 20 = 2: the third failure stops new starts; at most 2 run at once, so at
# most one more was already running when it came
assert_true "the fan-out stopped after max_errors was exceeded (3 or 4 ran, saw $ran)" test "$ran" -ge 3 -a "$ran" -le 4
assert_eq "$failed" "$ran" "every host that ran failed"
assert_eq "$((failed + skipped))" 20 "the others were not started"
assert_match "$(step_prop "$id" 0 Error)" "^$failed of 20 hosts failed, more than max_errors 2 \\($skipped not started\\): h0" \
    "the step's error counts the failures and names the hosts"
assert_match "$(jq -r '[.[] | select(.[1] == "skipped")][0][7]' <<<"$res")" "^not started: 3 hosts failed, more than max_errors 2$" \
    "a skipped host says why"
assert_eq "$(step_result "$R" 0 RUNBOOK_HOSTS_FAILED)" "$failed" "the step's result record: RUNBOOK_HOSTS_FAILED"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_HOST_RESULT | wc -l)" "$ran" "result records only for hosts that ran"

# ---- failures within max_errors: the step succeeds, the failure stays on record
R=$(ref tolerant)
id=$(start_session "$ALICE" tolerant-run "$R") || die "StartSession failed"
wait_session_state "$id" succeeded 60
res=$(prop_json "$(step_path "$id" 0)" "$IFACE_STEP" Results | jq -c '.data')
assert_eq "$(jq '[.[] | select(.[1] == "failed" and .[2] == 7)] | length' <<<"$res")" 1 "one host failed with exit 7"
assert_eq "$(jq '[.[] | select(.[1] == "succeeded")] | length' <<<"$res")" 5 "the five others succeeded"
assert_eq "$(step_prop "$id" 0 ExitStatus)" -1 "no common exit status"
assert_match "$(step_result "$R" 0 MESSAGE)" 'success=true exit_status=-1 .* hosts=6 succeeded=5 failed=1 not_run=0$' \
    "the result record shows the tolerated failure"
require_runbookctl
expect_ctl_ok "runbookctl show of a group step" "$ALICE" show "$id"
assert_match "$CTL_OUT" 'Hosts: 6: 5 succeeded, 1 failed, 0 running, 0 other' "runbookctl show counts the hosts"
assert_eq "$(grep -cE '^ +(succeeded|failed) +h0[1-6] +exit [07] ' <<<"$CTL_OUT")" 6 "runbookctl show lists each host with its exit status"
assert_match "$(grep -E ' failed ' <<<"$CTL_OUT")" 'exit 7 .*: exit status 7, expected 0$' "the failed host's line says why"
expect_ctl_ok "runbookctl show --json" "$ALICE" --json=short show "$id"
assert_eq "$(jq '.steps[0].hosts | length' <<<"$CTL_OUT")" 6 "show --json has the hosts"
assert_eq "$(jq -r '[.steps[0].hosts[] | select(.exit_status == 7)][0].state' <<<"$CTL_OUT")" failed "show --json: the failed host"

# ---- the group changed between creation and run: nothing runs
R=$(ref moving)
id=$(start_session "$ALICE" moving-run "$R") || die "StartSession failed"
wait_session_state "$id" waiting_approval
group moving 2 0 h01 h03
expect_ok "Reload" rb_call root "$MANAGER" "$IFACE_MANAGER" Reload
expect_ok "bob approves" rb_call "$BOB" "$(session_path "$id")" "$IFACE_SESSION" Approve s ok
wait_session_state "$id" failed
assert_match "$(step_prop "$id" 0 Error)" "^the members of target group 'moving' (or their definitions )?changed since (session $id was created|the step was approved).*; not run" \
    "the step says its group changed"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_HOST_EXECUTING | wc -l)" 0 "no host ran"

# ---- a member that is not configured: refused at StartSession, nothing stored
expect_error NoSuchTarget rb_call "$ALICE" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' broken-run "$(ref broken)" 0
assert_match "$LAST_ERROR_MESSAGE" "main step 0 \\(step 0\\): member 'nosuchhost' of target group 'broken' is not configured" \
    "the error names the step, the group and the member"
finish
