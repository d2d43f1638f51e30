#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Rollback and finally steps (issue #13): after a failed main step the rollback waits for a
# person's approval, then runs; the session ends failed (never green) with Rollback succeeded,
# and the finally steps run. After a cancel while a main step runs (the command is stopped first),
# after a reject, with no rollback after a failed precheck, finally after success; cancel during
# the rollback stops it; a rollback step that refers to a postcheck is refused at load.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_runbookctl

write_runbook upgrade <<'JSON'
{
  "parameters": { "dir": { "pattern": "^/[A-Za-z0-9/._-]+$" },
                  "pre": { "default": "0", "pattern": "^[0-9]$" },
                  "main": { "default": "0", "pattern": "^[0-9]$" },
                  "hold": { "default": "no", "pattern": "^(yes|no)$" } },
  "prechecks": [ { "name": "probe", "run": "exit {{pre}}", "approval": "none" } ],
  "steps": [ { "id": "backup", "name": "back up", "run": "echo v1 > {{dir}}/backup; echo saved-v1",
               "approval": "none", "capture": { "tag": { "regex": "^saved-(v[0-9]+)$" } } },
             { "name": "upgrade", "run": "touch {{dir}}/upgraded; exit {{main}}", "approval": "none" },
             { "name": "slow", "run": "touch {{dir}}/slow.started; exec tail -f {{dir}}/slow.started", "approval": "none",
               "when": "{{hold}} == 'yes'" } ],
  "postchecks": [ { "name": "healthy", "run": "test -e {{dir}}/upgraded", "approval": "none" } ],
  "rollback": [ { "name": "restore", "run": "touch {{dir}}/restored-{{steps.backup.tag}}" },
                { "name": "verify restore", "run": "test -e {{dir}}/restored-v1", "approval": "none" } ],
  "finally": [ { "name": "back in the pool", "run": "touch {{dir}}/pool", "approval": "none" } ]
}
JSON
write_runbook wrong-ref <<'JSON'
{
  "steps": [ { "name": "m", "run": "true" } ],
  "postchecks": [ { "id": "h", "name": "h", "run": "echo 1", "capture": { "v": { "line": 1 } } } ],
  "rollback": [ { "name": "r", "run": "echo {{steps.h.v}}" } ]
}
JSON
start_daemon

ROLLBACK_START=8a4f6c1478b74ebfb5f2389b8f9339c7 ROLLBACK_END=be8f8ff8222646ecb41ac80c6a9fc8a9
SESSION_END=6719122ff9d54508a2e3b8610b273926

new_dir() { D="$WORK/$1"; mkdir -p "$D"; chmod 777 "$D"; }

# --- a failed main step: the rollback waits for approval, runs, then finally; failed, not green
R=$(ref fail) && new_dir fail
id=$(start_session "$ALICE" upgrade "$R" dir "$D" main 3) || die "StartSession failed"
wait_step_state "$id" 5 waiting_approval
assert_eq "$(step_prop "$id" 2 State)" failed "the upgrade failed"
assert_eq "$(step_prop "$id" 3 State)" skipped "the main step after it did not run"
assert_eq "$(step_prop "$id" 4 State)" skipped "the postcheck did not run"
assert_eq "$(step_prop "$id" 5 Phase)" rollback "step 5 is a rollback step"
assert_eq "$(step_prop "$id" 7 Phase)" finally "step 7 is a finally step"
assert_eq "$(session_prop "$id" State)" waiting_approval "the session waits for a person to decide the rollback"
assert_eq "$(session_prop "$id" Rollback)" running "Rollback running"
assert_match "$(session_prop "$id" Error)" "main 2 \(upgrade\) failed: exit status 3" "Error says why it rolls back"
assert_eq "$(step_prop "$id" 5 Command)" "touch '$D'/restored-'v1'" "the rollback command shows the captured value before approval"
assert_false "the rollback did not run before its approval" test -e "$D/restored-v1"
assert_false "finally waits for the rollback" test -e "$D/pool"
journal_wait 1 RUNBOOK_REFERENCE="$R" MESSAGE_ID=$ROLLBACK_START >/dev/null
r=$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$ROLLBACK_START)
assert_match "$(jq -r .MESSAGE <<<"$r")" "^\[ROLLBACK_START\] Session $id rolls back \(2 steps\): main 2 \(upgrade\) failed" \
    "rollback start record"
assert_eq "$(jq -r '[.RUNBOOK_OUTCOME, .RUNBOOK_ROLLBACK_STEPS] | join("|")' <<<"$r")" "failed|2" "its fields"
expect_ctl_ok "runbookctl show" "$ALICE" show "$id"
assert_match "$CTL_OUT" "Rollback: running" "runbookctl show: Rollback running"
assert_match "$CTL_OUT" "Step 5 \(rollback: restore\) waiting_approval" "runbookctl show: the rollback step and its phase"

expect_ok "rbtest-bob approves the rollback" rb_call "$BOB" "$(step_path "$id" 5)" "$IFACE_STEP" Approve s "roll back"
wait_session_state "$id" failed
assert_eq "$(session_prop "$id" Rollback)" succeeded "Rollback succeeded"
assert_true "the rollback restored the backup" test -e "$D/restored-v1"
assert_eq "$(step_prop "$id" 6 State)" succeeded "the second rollback step ran"
assert_true "finally ran" test -e "$D/pool"
assert_eq "$(session_prop "$id" CurrentStep)" 2 "CurrentStep is the step the flow ended at"
assert_match "$(session_prop "$id" Error)" "main 2 \(upgrade\) failed" "Error keeps the cause"
journal_wait 1 RUNBOOK_REFERENCE="$R" MESSAGE_ID=$SESSION_END >/dev/null
r=$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$ROLLBACK_END)
assert_eq "$(jq -r .MESSAGE <<<"$r")" "[ROLLBACK_END] Session $id rollback succeeded" "rollback end record"
r=$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$SESSION_END)
assert_eq "$(jq -r '[.RUNBOOK_SESSION_STATE, .RUNBOOK_ROLLBACK] | join("|")' <<<"$r")" "failed|succeeded" \
    "the end record: failed, rollback succeeded"
assert_match "$(jq -r .MESSAGE <<<"$r")" "finished: failed \(main 2 \(upgrade\) failed: .*; rollback succeeded\)$" \
    "the end record's message"
expect_ctl_ok "runbookctl show --json" "$ALICE" show "$id" --json=short
assert_eq "$(jq -r '[.rollback, .steps[5].phase, .steps[7].phase, .steps[7].state] | join(",")' <<<"$CTL_OUT")" \
    "succeeded,rollback,finally,succeeded" "runbookctl show --json: rollback and phases"

ctl_run "$ALICE" watch "$id"
assert_match "$CTL_OUT" "Session $id rolls back: main 2 \(upgrade\) failed" "runbookctl watch: the rollback line"
assert_match "$CTL_OUT" "Step 5 \(rollback: restore\) succeeded" "runbookctl watch: the rollback step"
assert_match "$CTL_OUT" "Session $id failed: main 2 \(upgrade\) failed: .*; rollback succeeded\.$" \
    "runbookctl watch: the end line names the rollback"

# --- success: the rollback is skipped, saying why; finally runs
R=$(ref ok) && new_dir ok
id=$(start_session "$ALICE" upgrade "$R" dir "$D") || die "StartSession failed"
wait_session_state "$id" succeeded
assert_eq "$(session_prop "$id" Rollback)" none "Rollback none after success"
assert_eq "$(step_prop "$id" 5 State)" skipped "the rollback step is skipped"
assert_match "$(step_prop "$id" 5 Error)" "main steps succeeded" "saying why"
assert_true "finally ran after success" test -e "$D/pool"
assert_false "no rollback ran" test -e "$D/restored-v1"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$ROLLBACK_START | wc -l)" 0 "no rollback record"

# --- a failed precheck: nothing changed, no rollback; finally still runs
R=$(ref pre) && new_dir pre
id=$(start_session "$ALICE" upgrade "$R" dir "$D" pre 1) || die "StartSession failed"
wait_session_state "$id" failed
assert_eq "$(session_prop "$id" Rollback)" skipped "Rollback skipped after a failed precheck"
assert_match "$(step_prop "$id" 5 Error)" "no main step had started" "the rollback step says why it did not run"
assert_false "no main step ran" test -e "$D/backup"
assert_true "finally ran after the failed precheck" test -e "$D/pool"

# --- reject a rollback step: Rollback rejected, finally runs, the session stays failed
R=$(ref rej) && new_dir rej
id=$(start_session "$ALICE" upgrade "$R" dir "$D" main 2) || die "StartSession failed"
wait_step_state "$id" 5 waiting_approval
expect_ok "rbtest-bob rejects the rollback" rb_call "$BOB" "$(step_path "$id" 5)" "$IFACE_STEP" Reject s "leave it"
wait_session_state "$id" failed
assert_eq "$(session_prop "$id" Rollback)" rejected "Rollback rejected"
assert_eq "$(step_prop "$id" 6 State)" skipped "the rest of the rollback did not run"
assert_false "nothing was restored" test -e "$D/restored-v1"
assert_true "finally ran after the rejected rollback" test -e "$D/pool"
journal_wait 1 RUNBOOK_REFERENCE="$R" MESSAGE_ID=$ROLLBACK_END >/dev/null
assert_match "$(journal_messages RUNBOOK_REFERENCE="$R" MESSAGE_ID=$ROLLBACK_END)" \
    "^\[ROLLBACK_END\] Session $id rollback rejected at step 5 \(restore\)" "the rollback end record says rejected"

# --- cancel while a main step runs: its command is stopped, then the rollback runs
R=$(ref cancel) && new_dir cancel
id=$(start_session "$ALICE" upgrade "$R" dir "$D" hold yes) || die "StartSession failed"
wait_step_state "$id" 3 running
for _ in $(seq 100); do [ -e "$D/slow.started" ] && break; sleep 0.1; done
assert_true "the slow step started" test -e "$D/slow.started"
for _ in $(seq 100); do pgrep -f -- "tail -f $D/slow.started" >/dev/null && break; sleep 0.1; done
assert_true "its command runs" pgrep -f -- "tail -f $D/slow.started"
expect_ok "rbtest-alice cancels" rb_call "$ALICE" "$(session_path "$id")" "$IFACE_SESSION" Cancel
wait_step_state "$id" 5 waiting_approval
assert_false "its command was stopped before the rollback" pgrep -f -- "tail -f $D/slow.started"
assert_eq "$(step_prop "$id" 3 State)" cancelled "the running step was cancelled"
assert_eq "$(session_prop "$id" Rollback)" running "the cancel rolls back (a main step had run)"
# cancel during the rollback: it stops; finally still runs; the session ends cancelled
expect_ok "rbtest-alice cancels the rollback" rb_call "$ALICE" "$(session_path "$id")" "$IFACE_SESSION" Cancel
wait_session_state "$id" cancelled
assert_eq "$(session_prop "$id" Rollback)" cancelled "Rollback cancelled"
assert_eq "$(step_prop "$id" 5 State)" cancelled "the waiting rollback step is cancelled"
assert_false "nothing was restored" test -e "$D/restored-v1"
assert_true "finally ran after the cancel" test -e "$D/pool"
assert_match "$(session_prop "$id" Error)" "^cancelled by $ALICE" "Error says who cancelled"
journal_wait 1 RUNBOOK_REFERENCE="$R" MESSAGE_ID=$SESSION_END >/dev/null
assert_eq "$(jq -r '[.RUNBOOK_SESSION_STATE, .RUNBOOK_ROLLBACK] | join("|")' \
    <<<"$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$SESSION_END)")" "cancelled|cancelled" "the end record"

# --- a rollback step that refers to a postcheck is refused, naming file and path
expect_error InvalidRunbook rb_call "$ALICE" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' wrong-ref "$(ref w)" 0
assert_match "$LAST_ERROR_MESSAGE" "wrong-ref\.json: \\\$\.rollback\[0\]\.run: '\{\{steps\.h\.v\}\}': step 'h' is a postcheck" \
    "a rollback step may not refer to a postcheck"
finish
