#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Step ids and "on_failure": "continue" (issue #13): a step allowed to fail stays failed while the
# session goes on and ends succeeded, with FailedSteps, the end record's RUNBOOK_FAILED_STEPS and
# runbookctl show saying so; the default still stops; a duplicate id refuses the runbook.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_runbookctl

write_runbook tolerant <<'JSON'
{
  "parameters": { "dir": { "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "prechecks": [ { "id": "probe", "name": "optional probe", "run": "echo probing; exit 3",
                   "approval": "none", "on_failure": "continue" } ],
  "steps": [ { "id": "main", "name": "main", "run": "touch {{dir}}/main.marker", "approval": "none" } ],
  "postchecks": [ { "name": "post", "run": "touch {{dir}}/post.marker", "approval": "none", "on_failure": "stop" } ]
}
JSON
write_runbook strict <<'JSON'
{
  "parameters": { "dir": { "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "prechecks": [ { "name": "probe", "run": "exit 3", "approval": "none" } ],
  "steps": [ { "name": "main", "run": "touch {{dir}}/main.marker", "approval": "none" } ]
}
JSON
write_runbook twice <<'JSON'
{ "steps": [ { "id": "a", "name": "one", "run": "true" }, { "id": "a", "name": "two", "run": "true" } ] }
JSON
start_daemon

# allowed to fail: the session goes on and succeeds, counting the failure
R=$(ref t1) D="$WORK/t1"; mkdir -p "$D"; chmod 777 "$D"
id=$(start_session "$ALICE" tolerant "$R" dir "$D") || die "StartSession failed"
wait_session_state "$id" succeeded
assert_eq "$(step_prop "$id" 0 State)" failed "the probe stays failed"
assert_eq "$(step_prop "$id" 0 ExitStatus)" 3 "with its exit status"
assert_eq "$(step_prop "$id" 0 StepId)" probe "StepId"
assert_eq "$(step_prop "$id" 0 OnFailure)" continue "OnFailure continue"
assert_eq "$(step_prop "$id" 2 OnFailure)" stop "OnFailure stop"
assert_eq "$(step_prop "$id" 2 StepId)" "" "no id: StepId is empty"
assert_eq "$(step_prop "$id" 1 State)" succeeded "the main step ran after it"
assert_true "the main step ran" test -e "$D/main.marker"
assert_true "the postcheck ran" test -e "$D/post.marker"
assert_eq "$(session_prop "$id" FailedSteps)" 1 "FailedSteps 1"
assert_eq "$(session_prop "$id" Error)" "" "no session error"
journal_wait 1 RUNBOOK_REFERENCE="$R" MESSAGE_ID=6719122ff9d54508a2e3b8610b273926 >/dev/null
end=$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=6719122ff9d54508a2e3b8610b273926)
assert_eq "$(jq -r .RUNBOOK_FAILED_STEPS <<<"$end")" 1 "the end record's RUNBOOK_FAILED_STEPS"
assert_eq "$(jq -r .RUNBOOK_SESSION_STATE <<<"$end")" succeeded "the end record says succeeded"
assert_match "$(jq -r .MESSAGE <<<"$end")" "finished: succeeded \(1 step failed, allowed by on_failure: continue\)$" \
    "the end record's message counts the failure"
assert_match "$(journal_messages RUNBOOK_REFERENCE="$R" RUNBOOK_STEP=0 MESSAGE_ID=d10897ff38f94074bd229f5f81ebcead)" \
    '^\[EXECUTE_STEP\] Command execution result: success=false exit_status=3 ' "the probe's result record says it failed"
expect_ctl_ok "runbookctl show" "$ALICE" show "$id"
assert_match "$CTL_OUT" "Failed steps: 1 \(allowed by on_failure: continue\)" "runbookctl show: failed steps"
assert_match "$CTL_OUT" "On failure: continue \(a failure does not stop the session\)" "runbookctl show: the step's on_failure"
assert_match "$CTL_OUT" "Id: probe" "runbookctl show: the step's id"
expect_ctl_ok "runbookctl show --json" "$ALICE" show "$id" --json=short
assert_eq "$(jq -r '.failed_steps, .steps[0].id, .steps[0].on_failure, .steps[2].id, .steps[2].on_failure' <<<"$CTL_OUT" | paste -sd,)" \
    "1,probe,continue,null,stop" "runbookctl show --json: failed_steps, id, on_failure"

# the default stops at the failure
R=$(ref t2) D="$WORK/t2"; mkdir -p "$D"; chmod 777 "$D"
id=$(start_session "$ALICE" strict "$R" dir "$D") || die "StartSession failed"
wait_session_state "$id" failed
assert_eq "$(step_prop "$id" 1 State)" skipped "without on_failure the main step is skipped"
assert_false "the main step did not run" test -e "$D/main.marker"
assert_eq "$(session_prop "$id" FailedSteps)" 0 "FailedSteps 0: the failure was not allowed"

# an id used twice refuses the runbook, naming the file and the path
expect_error InvalidRunbook rb_call "$ALICE" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' twice "$(ref t3)" 0
assert_match "$LAST_ERROR_MESSAGE" "twice\.json: \\\$\.steps\[1\]\.id: id 'a' is already the id of main step 'one'" \
    "a duplicate id is refused with the file and JSON path"
finish
