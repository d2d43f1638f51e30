#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Session.Retry() of a failed session (issue #13): the failed step is re-armed (attempt 2) behind
# a fresh approval although its runbook says "approval": "none", by someone polkit allows to
# approve (approve-step); the steps that succeeded do not run again; the finally step runs again
# at the new end. A session whose rollback ran cannot be retried, and the error says so.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_runbookctl

write_runbook flaky <<'JSON'
{
  "parameters": { "dir": { "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "steps": [ { "name": "prepare", "run": "echo x >> {{dir}}/prepare.count", "approval": "none" },
             { "name": "needs a fix", "run": "echo x >> {{dir}}/try.count; test -e {{dir}}/fixed", "approval": "none" },
             { "name": "after", "run": "echo x >> {{dir}}/after.count", "approval": "none" } ],
  "finally": [ { "name": "tidy", "run": "echo x >> {{dir}}/tidy.count", "approval": "none" } ]
}
JSON
write_runbook undone <<'JSON'
{
  "steps": [ { "name": "change", "run": "exit 1", "approval": "none" } ],
  "rollback": [ { "name": "undo", "run": "true", "approval": "none" } ]
}
JSON
start_daemon

R=$(ref f) D="$WORK/f"; mkdir -p "$D"; chmod 777 "$D"
id=$(start_session "$ALICE" flaky "$R" dir "$D") || die "StartSession failed"
S=$(session_path "$id")
wait_session_state "$id" failed
assert_eq "$(session_prop "$id" CurrentStep)" 1 "it failed at step 1"
assert_eq "$(count_lines "$D/tidy.count")" 1 "finally ran once"

expect_error AccessDenied \
    rb_call "$MALLORY" "$S" "$IFACE_SESSION" Retry
assert_eq "$(session_prop "$id" State)" failed "a refused retry changes nothing"

touch "$D/fixed"
expect_ctl_ok "runbookctl retry by rbtest-bob" "$BOB" retry "$id"
wait_session_state "$id" waiting_approval
assert_eq "$(step_prop "$id" 1 State)" waiting_approval "the failed step waits for a fresh approval (its runbook says none)"
assert_eq "$(step_prop "$id" 1 Attempt)" 2 "attempt 2"
assert_eq "$(step_prop "$id" 2 State)" pending "the step after it is pending again"
assert_eq "$(session_prop "$id" Error)" "" "no error while it goes on"
assert_eq "$(session_prop "$id" FinishedAt)" 0 "not finished"
assert_eq "$(count_lines "$D/try.count")" 1 "nothing ran before the approval"
journal_wait 1 RUNBOOK_REFERENCE="$R" MESSAGE_ID=35c0c94d05044b4ea1b3dbc16104fdd5 >/dev/null
assert_match "$(journal_messages RUNBOOK_REFERENCE="$R" MESSAGE_ID=35c0c94d05044b4ea1b3dbc16104fdd5)" \
    "re-armed for attempt 2 by $BOB" "the retry record"
expect_error SelfApprovalForbidden rb_call "$ALICE" "$(step_path "$id" 1)" "$IFACE_STEP" Approve s "mine"
expect_ok "rbtest-carol approves attempt 2" rb_call "$CAROL" "$(step_path "$id" 1)" "$IFACE_STEP" Approve s "fixed"
wait_session_state "$id" succeeded
assert_eq "$(count_lines "$D/prepare.count")" 1 "the step that succeeded did not run again"
assert_eq "$(count_lines "$D/try.count")" 2 "the failed step ran again"
assert_eq "$(count_lines "$D/after.count")" 1 "the session went on after it"
assert_eq "$(count_lines "$D/tidy.count")" 2 "finally ran again at the new end"
journal_wait 1 RUNBOOK_REFERENCE="$R" RUNBOOK_STEP=1 RUNBOOK_ATTEMPT=2 MESSAGE_ID=d10897ff38f94074bd229f5f81ebcead >/dev/null
assert_match "$(journal_messages RUNBOOK_REFERENCE="$R" RUNBOOK_STEP=1 RUNBOOK_ATTEMPT=2 MESSAGE_ID=d10897ff38f94074bd229f5f81ebcead)" \
    "success=true" "attempt 2's result record"
expect_error SessionFinished rb_call "$BOB" "$S" "$IFACE_SESSION" Retry

# the rollback ran: no retry
R=$(ref u)
id=$(start_session "$ALICE" undone "$R") || die "StartSession failed"
wait_session_state "$id" failed
assert_eq "$(session_prop "$id" Rollback)" succeeded "the rollback ran"
expect_error NotInterrupted rb_call "$BOB" "$(session_path "$id")" "$IFACE_SESSION" Retry
assert_match "$LAST_ERROR_MESSAGE" "its rollback ran \(succeeded\).*start a new session" "the error says why"
assert_eq "$(session_prop "$id" State)" failed "still failed"
finish
