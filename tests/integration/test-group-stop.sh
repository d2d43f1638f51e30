#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Stopping a step on a target group (six local targets): Cancel stops the running hosts (their
# processes are gone) and skips the rest; kill -9 of runbookd during the fan-out leaves the
# running hosts interrupted, the finished one succeeded and the others pending, the step and
# session interrupted; Retry (behind a fresh approval) runs only the hosts that did not succeed.
# Each command sees its host in $RUNBOOK_TARGET.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

D=$WORK/g; mkdir -p "$D"
for i in 1 2 3 4 5 6; do echo '{"connector": "local"}' > "$CONFIG_DIR/targets/l$i.json"; done
jq -n '{group: ["l1", "l2", "l3", "l4", "l5", "l6"], max_concurrency: 3}' > "$CONFIG_DIR/targets/six.json"
jq -n --arg d "$D" '{description: "group stop", target: "six", steps: [
    {name: "cancel me", run: "echo $RUNBOOK_TARGET >> \($d)/cancel.ran; sleep 60; : \($d)/cancel", approval: "none"}]}' \
    > "$CONFIG_DIR/runbooks/grp-cancel.json"
jq -n --arg d "$D" '{description: "group restart", target: "six", steps: [
    {name: "fan out", run: "echo $RUNBOOK_TARGET >> \($d)/restart.ran; [ $RUNBOOK_TARGET = l1 ] && exit 0; if [ -e \($d)/block ]; then sleep 60; : \($d)/restart; fi", approval: "none"}]}' \
    > "$CONFIG_DIR/runbooks/grp-restart.json"
start_daemon

# ---- cancel: three running, three never started
R=$(ref cancel)
id=$(start_session "$ALICE" grp-cancel "$R") || die "StartSession failed"
for _ in $(seq 100); do [ "$(count_lines "$D/cancel.ran")" -ge 3 ] && break; sleep 0.1; done
assert_eq "$(count_lines "$D/cancel.ran")" 3 "three hosts started (max_concurrency 3)"
assert_eq "$(sort "$D/cancel.ran" | tr '\n' ' ')" "l1 l2 l3 " "the first three members, each with its RUNBOOK_TARGET"
expect_ok "rbtest-alice cancels" rb_call "$ALICE" "$(session_path "$id")" "$IFACE_SESSION" Cancel
wait_session_state "$id" cancelled
wait_step_state "$id" 0 cancelled
res=$(prop_json "$(step_path "$id" 0)" "$IFACE_STEP" Results | jq -c '.data')
assert_eq "$(jq -r '[.[] | .[1]] | join(" ")' <<<"$res")" "cancelled cancelled cancelled skipped skipped skipped" \
    "running hosts cancelled, the others skipped"
assert_eq "$(jq -r '.[5][7]' <<<"$res")" "not started: the session was cancelled by rbtest-alice" "a skipped host says why"
assert_true "the hosts' processes are gone" wait_gone "$D/cancel" 15
assert_eq "$(count_lines "$D/cancel.ran")" 3 "no host started after the cancel"

# ---- kill -9 during the fan-out, restart, retry
touch "$D/block"
R=$(ref restart)
id=$(start_session "$ALICE" grp-restart "$R") || die "StartSession failed"
for _ in $(seq 100); do [ "$(pgrep -f -- "$D/restart" | wc -l)" -ge 3 ] && break; sleep 0.1; done
assert_eq "$(count_lines "$D/restart.ran")" 4 "l1 finished and three more started"
kill_daemon -9
for pid in $(pgrep -f -- "$D/restart"); do kill -KILL -- "-$(ps -o pgid= -p "$pid" | tr -d ' ')" 2>/dev/null; done
rm -f "$D/block"
start_daemon
wait_session_state "$id" interrupted
wait_step_state "$id" 0 interrupted
res=$(prop_json "$(step_path "$id" 0)" "$IFACE_STEP" Results | jq -c '.data')
assert_eq "$(jq -r '[.[] | .[1]] | join(" ")' <<<"$res")" \
    "succeeded interrupted interrupted interrupted pending pending" "l1 succeeded, three interrupted, two never started"
assert_eq "$(jq -r '.[1][7]' <<<"$res")" "runbookd stopped while it ran; not re-run" "an interrupted host says why"
assert_match "$(step_prop "$id" 0 Error)" "^runbookd stopped while 3 of 6 hosts ran \\(not re-run\\); 1 succeeded, 0 failed, 2 not started" \
    "the step's error counts them"
sleep 0.5
assert_eq "$(count_lines "$D/restart.ran")" 4 "nothing ran again by itself"

expect_ok "rbtest-alice retries" rb_call "$ALICE" "$(session_path "$id")" "$IFACE_SESSION" Retry
wait_step_state "$id" 0 waiting_approval
expect_ok "rbtest-bob approves" rb_call "$BOB" "$(session_path "$id")" "$IFACE_SESSION" Approve s "go on"
wait_session_state "$id" succeeded 30
res=$(prop_json "$(step_path "$id" 0)" "$IFACE_STEP" Results | jq -c '.data')
assert_eq "$(jq '[.[] | select(.[1] == "succeeded")] | length' <<<"$res")" 6 "all six hosts succeeded"
assert_eq "$(grep -c '^l1$' "$D/restart.ran")" 1 "l1 (succeeded before) did not run again"
assert_eq "$(count_lines "$D/restart.ran")" 9 "the retry ran the five others"
assert_eq "$(step_prop "$id" 0 Attempt)" 2 "attempt 2"
finish
