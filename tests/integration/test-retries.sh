#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Automatic retries (issue #13: "retries", "retry_delay"): a failed attempt waits in
# waiting_retry, durably — runbookd killed with SIGKILL during the wait resumes it after the
# restart and runs the next attempt once it is over, not before —; each attempt has its own
# [EXECUTE_STEP] records with RUNBOOK_ATTEMPT and a [RETRY_SCHEDULED] record between them; one
# approval covers the automatic attempts. An attempt running when runbookd is killed is
# interrupted and not retried by itself; Cancel during the wait ends the session without another
# attempt.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_runbookctl
MSG_RETRY_SCHEDULED=8db8c9a14c91491392156e92dc83aa85
MSG_STEP_STARTING=3c8a86b9f3ac4bb88c1ad836d792a56c

write_runbook flaky <<'JSON'
{
  "parameters": { "dir": { "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "steps": [ { "name": "flaky", "run": "echo x >> {{dir}}/try.count; test -e {{dir}}/ok",
               "retries": 3, "retry_delay": 4 },
             { "name": "after", "run": "echo x >> {{dir}}/after.count", "approval": "none" } ]
}
JSON
write_runbook slow <<'JSON'
{
  "parameters": { "dir": { "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "steps": [ { "name": "slow", "run": "echo x >> {{dir}}/run.count; sleep 60", "approval": "none",
               "retries": 2, "retry_delay": 1 } ]
}
JSON
write_runbook patient <<'JSON'
{
  "steps": [ { "name": "fails", "run": "exit 7", "approval": "none", "retries": 1, "retry_delay": 60 } ]
}
JSON
start_daemon

# --- fails twice (once across a SIGKILL), then succeeds under the one approval
R=$(ref f) D="$WORK/f"; mkdir -p "$D"; chmod 777 "$D"
id=$(start_session "$ALICE" flaky "$R" dir "$D") || die "StartSession failed"
assert_eq "$(step_prop "$id" 0 Retries)" 3 "Retries shown before approval"
assert_eq "$(step_prop "$id" 0 RetryDelay)" 4000000 "RetryDelay shown before approval (µs)"
expect_ok "rbtest-bob approves" rb_call "$BOB" "$(step_path "$id" 0)" "$IFACE_STEP" Approve s "go"
wait_step_state "$id" 0 waiting_retry
assert_eq "$(session_prop "$id" State)" running "the session is running while it waits"
assert_eq "$(count_lines "$D/try.count")" 1 "attempt 1 ran"
assert_eq "$(step_prop "$id" 0 Attempt)" 1 "still attempt 1 while waiting"
assert_eq "$(step_prop "$id" 0 RetriesDone)" 0 "no retry done yet"
assert_eq "$(step_prop "$id" 0 Error)" "exit status 1, expected 0" "Error says why attempt 1 failed"
retry_at=$(step_prop "$id" 0 RetryAt)
assert_true "RetryAt is set" [ "$retry_at" -gt 0 ]
journal_wait 1 RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_RETRY_SCHEDULED >/dev/null
assert_match "$(journal_messages RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_RETRY_SCHEDULED)" \
    "^\[RETRY_SCHEDULED\] Step 0 \(flaky\) in session $id: attempt 1 failed \(exit status 1, expected 0\); attempt 2 \(retry 1 of 3\) starts by itself in 4 s$" \
    "the retry-scheduled record"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_RETRY_SCHEDULED | jq -r .RUNBOOK_RETRY_AT)" "$retry_at" \
    "the record names the stored RetryAt"
ctl_run "$ALICE" show "$id"; printf '%s\n' "$CTL_OUT" > "$T/show.txt"
assert_true "show says how many retries are left" grep -Eq "Retries: +0 done of 3, each after 4(\.0+)?s" "$T/show.txt"
assert_true "show says when the next attempt starts" grep -q "Next attempt: *2 at " "$T/show.txt"

kill_daemon -9
start_daemon
assert_eq "$(step_prop "$id" 0 State)" waiting_retry "after the restart it still waits"
assert_eq "$(step_prop "$id" 0 RetryAt)" "$retry_at" "for the same time"
wait_for_prop "$(step_path "$id" 0)" "$IFACE_STEP" Attempt 2 15 || fail "attempt 2 did not start"
wait_step_state "$id" 0 waiting_retry
assert_eq "$(count_lines "$D/try.count")" 2 "attempt 2 ran after the restart"
journal_wait 1 RUNBOOK_REFERENCE="$R" RUNBOOK_ATTEMPT=2 MESSAGE_ID=$MSG_STEP_STARTING >/dev/null
started2=$(journal RUNBOOK_REFERENCE="$R" RUNBOOK_ATTEMPT=2 MESSAGE_ID=$MSG_STEP_STARTING | jq -r .__REALTIME_TIMESTAMP)
assert_true "attempt 2 started once the wait was over ($started2 >= $retry_at)" [ "$started2" -ge "$retry_at" ]
assert_eq "$(step_prop "$id" 0 RetriesDone)" 1 "one retry done"

touch "$D/ok"
wait_session_state "$id" succeeded 20
assert_eq "$(count_lines "$D/try.count")" 3 "three attempts in all"
assert_eq "$(count_lines "$D/after.count")" 1 "the session went on"
assert_eq "$(step_prop "$id" 0 Attempt)" 3 "attempt 3 succeeded"
assert_eq "$(step_prop "$id" 0 RetryAt)" 0 "no retry pending"
assert_eq "$(prop_json "$(step_path "$id" 0)" "$IFACE_STEP" Decisions | jq '.data | length')" 1 \
    "one decision covered the automatic attempts"
for a in 1 2 3; do
    journal_wait 1 RUNBOOK_REFERENCE="$R" RUNBOOK_STEP=0 RUNBOOK_ATTEMPT=$a MESSAGE_ID=$MSG_STEP_RESULT >/dev/null
done
assert_eq "$(journal RUNBOOK_REFERENCE="$R" RUNBOOK_STEP=0 MESSAGE_ID=$MSG_STEP_RESULT | jq -r '"\(.RUNBOOK_ATTEMPT) \(.RUNBOOK_SUCCESS)"' | tr '\n' ' ')" \
    "1 false 2 false 3 true " "a result record per attempt"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" RUNBOOK_STEP=0 MESSAGE_ID=$MSG_STEP_STARTING | jq -r .RUNBOOK_ATTEMPT | tr '\n' ' ')" \
    "1 2 3 " "a starting record per attempt"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_RETRY_SCHEDULED | jq -r .RUNBOOK_NEXT_ATTEMPT | tr '\n' ' ')" \
    "2 3 " "a retry-scheduled record before each automatic attempt"

# --- an attempt running when runbookd is killed: interrupted, not retried by itself
R=$(ref s) D="$WORK/s"; mkdir -p "$D"; chmod 777 "$D"
id=$(start_session "$ALICE" slow "$R" dir "$D") || die "StartSession failed"
wait_step_state "$id" 0 running
wait_file "$D/run.count" || fail "the slow step did not start"
kill_daemon -9
# the step's processes outlive a SIGKILLed daemon: stop them, as an operator would
kill_matching "$D"
start_daemon
wait_step_state "$id" 0 interrupted
wait_session_state "$id" interrupted
sleep 2     # longer than its retry_delay: an automatic retry would have started
assert_eq "$(count_lines "$D/run.count")" 1 "the interrupted attempt was not retried by itself"
assert_eq "$(step_prop "$id" 0 State)" interrupted "still interrupted"
expect_ok "cancel it" rb_call "$ALICE" "$(session_path "$id")" "$IFACE_SESSION" Cancel

# --- cancel during the wait
R=$(ref c)
id=$(start_session "$ALICE" patient "$R") || die "StartSession failed"
wait_step_state "$id" 0 waiting_retry
expect_ctl_ok "runbookctl cancel during the wait" "$BOB" cancel "$id"
wait_session_state "$id" cancelled
assert_eq "$(step_prop "$id" 0 State)" cancelled "the step is cancelled"
assert_eq "$(step_prop "$id" 0 RetryAt)" 0 "no retry pending"
assert_eq "$(step_prop "$id" 0 Attempt)" 1 "no second attempt"
restart_daemon
assert_eq "$(session_prop "$id" State)" cancelled "still cancelled after a restart"
assert_eq "$(step_prop "$id" 0 Attempt)" 1 "and no second attempt after it"
finish
