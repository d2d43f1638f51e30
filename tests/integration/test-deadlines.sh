#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Approval deadlines ("approval_timeout", "remind_before", #14): the deadline as a property and in
# ListPendingApprovals and runbookctl pending; the reminder record; expiry with one of two
# approvals (never run, rollback runs, session expired, its records); a deadline that passed while
# runbookd was down (killed) expires the step as soon as it is back; an approval in time runs it
# and nothing expires afterwards; approval_valid_for (a lapsed approval, its record); runbookd.json's
# default.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_runbookctl

write_runbook deadline <<'JSON'
{
  "parameters": { "dir": { "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "steps": [
    { "name": "first", "run": "echo ran >> {{dir}}/first.marker", "approval": "none" },
    { "name": "gated", "run": "echo ran >> {{dir}}/gated.marker", "approvers": 2,
      "approval_timeout": 4, "remind_before": 2 }
  ],
  "rollback": [ { "name": "undo", "run": "echo ran >> {{dir}}/undo.marker", "approval": "none" } ]
}
JSON
write_runbook valid-for <<'JSON'
{ "parameters": { "dir": { "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "steps": [ { "name": "two", "run": "echo ran >> {{dir}}/two.marker", "approvers": 2, "approval_valid_for": 1 } ] }
JSON
write_runbook plain <<'JSON'
{ "steps": [ { "name": "only", "run": "true" } ] }
JSON
start_daemon

now_us() { date +%s%6N; }
# wait_past USEC: until the wall clock is past USEC (a deadline), however long that is
wait_past() { while [ "$(now_us)" -le "$1" ]; do sleep 0.2; done; }

# ---- the deadline, the reminder, expiry with one of two approvals
R=$(ref a) D="$WORK/a"; mkdir -p "$D"
before=$(now_us)
id=$(start_session "$ALICE" deadline "$R" dir "$D") || die "StartSession failed"
wait_step_state "$id" 1 waiting_approval
deadline=$(step_prop "$id" 1 ApprovalDeadline)
assert_eq "$(step_prop "$id" 1 ApprovalTimeout)" 4000000 "ApprovalTimeout is 4 s"
assert_eq "$(step_prop "$id" 1 RemindBefore)" 2000000 "RemindBefore is 2 s"
assert_true "ApprovalDeadline is 4 s after the step started waiting" \
    test "$deadline" -ge $((before + 4000000)) -a "$deadline" -le $(( $(now_us) + 4000000 ))
assert_eq "$(step_prop "$id" 0 ApprovalDeadline)" 0 "a step that needs no approval has no deadline"
p=$(rb root --json=short call org.runbookd1 "$MANAGER" "$IFACE_MANAGER" ListPendingApprovals |
    jq -c --argjson id "$id" '.data[0][] | select(.[0] == $id)')
assert_eq "$(jq -r '.[14]' <<<"$p")" "$deadline" "ListPendingApprovals carries the deadline"
expect_ctl_ok "runbookctl pending" "$BOB" pending
assert_match "$(grep "gated" <<<"$CTL_OUT")" "[0-9]+s left" "runbookctl pending shows the time left"
expect_ctl_ok "runbookctl pending --json" "$BOB" --json=short pending
assert_eq "$(jq -r --argjson id "$id" '.[] | select(.session_id == $id) | .approval_deadline' <<<"$CTL_OUT")" \
    "$deadline" "runbookctl pending --json has approval_deadline"
expect_ctl_ok "runbookctl show" "$BOB" show "$id"
assert_match "$CTL_OUT" "Expires: .*left.*without a decision" "runbookctl show says when it expires"

expect_ok "rbtest-bob approves (1/2)" rb_call "$BOB" "$(session_path "$id")" "$IFACE_SESSION" Approve s "one"
assert_eq "$(journal_wait 1 RUNBOOK_SESSION="$id" RUNBOOK_REFERENCE="$R" MESSAGE_ID=4c81aa376da34916ae53a853f0bbb014)" 1 \
    "a reminder record"
rem=$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=4c81aa376da34916ae53a853f0bbb014 | head -n 1)
assert_eq "$(jq -r '"\(.RUNBOOK_APPROVALS)/\(.RUNBOOK_APPROVALS_REQUIRED) \(.RUNBOOK_APPROVAL_DEADLINE) \(.PRIORITY)"' <<<"$rem")" \
    "1/2 $deadline 5" "the reminder names approvals, deadline, notice priority"
assert_true "the reminder came 2 s before the deadline, not earlier" \
    test "$(jq -r '.__REALTIME_TIMESTAMP' <<<"$rem")" -ge $((deadline - 2000000 - 100000))
assert_eq "$(step_prop "$id" 1 State)" waiting_approval "still waiting after the reminder"

wait_session_state "$id" expired 15
assert_true "it expired at its deadline, not before" test "$(now_us)" -ge "$deadline"
assert_eq "$(step_prop "$id" 1 State)" expired "step 1 is expired"
assert_match "$(step_prop "$id" 1 Error)" "^expired: no decision within 4s \(1 of 2 approvals given\); not run$" "its error"
assert_eq "$(session_prop "$id" Rollback)" succeeded "the rollback ran (a main step had started)"
assert_eq "$(count_lines "$D/gated.marker")" 0 "the expired step never ran"
assert_eq "$(count_lines "$D/undo.marker")" 1 "the rollback step ran once"
assert_eq "$(journal_wait 1 RUNBOOK_REFERENCE="$R" MESSAGE_ID=f7fc4700dacc4d2fba38a0bec1b2afbe)" 1 "one expiry record"
exp=$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=f7fc4700dacc4d2fba38a0bec1b2afbe)
assert_eq "$(jq -r '.MESSAGE' <<<"$exp")" \
    "[EXPIRE_STEP] Step 1 (gated) in session $id expired: no decision within 4 s (1 of 2 approvals); not run" "the expiry record"
assert_eq "$(jq -r '"\(.PRIORITY) \(.RUNBOOK_STEP) \(.RUNBOOK_APPROVAL_DEADLINE) \(.RUNBOOK_APPROVAL_TIMEOUT_SEC)"' <<<"$exp")" \
    "4 1 $deadline 4" "its fields (warning priority)"
assert_eq "$(journal_wait 1 RUNBOOK_REFERENCE="$R" MESSAGE_ID=6719122ff9d54508a2e3b8610b273926 RUNBOOK_SESSION_STATE=expired)" 1 \
    "the session's end record says expired"
expect_error SessionFinished\|NotWaitingApproval rb_call "$CAROL" "$(session_path "$id")" "$IFACE_SESSION" Approve s "late"
assert_eq "$(count_lines "$D/gated.marker")" 0 "a late approval runs nothing"
ctl_run "$BOB" watch "$id"
assert_eq "$CTL_RC" 8 "runbookctl watch exits 8 for an expired session"
expect_ctl_ok "runbookctl list --state expired" "$BOB" --json=short list --state expired
assert_eq "$(jq -r --argjson id "$id" '[.[] | select(.id == $id)] | length' <<<"$CTL_OUT")" 1 "listed as expired"

# ---- the deadline passes while runbookd is down (killed): it expires as soon as it is back
R2=$(ref b) D2="$WORK/b"; mkdir -p "$D2"
id2=$(start_session "$ALICE" deadline "$R2" dir "$D2") || die "StartSession failed"
wait_step_state "$id2" 1 waiting_approval
deadline2=$(step_prop "$id2" 1 ApprovalDeadline)
kill_daemon -9
wait_past "$deadline2"
start_daemon
wait_session_state "$id2" expired 2
assert_eq "$(step_prop "$id2" 1 ApprovalDeadline)" "$deadline2" "the stored deadline, not a new one"
assert_eq "$(count_lines "$D2/gated.marker")" 0 "not run"
assert_eq "$(journal_wait 1 RUNBOOK_REFERENCE="$R2" MESSAGE_ID=f7fc4700dacc4d2fba38a0bec1b2afbe)" 1 "its expiry record"

# ---- approved in time: it runs, and its deadline passing later changes nothing
R3=$(ref c) D3="$WORK/c"; mkdir -p "$D3"
id3=$(start_session "$ALICE" deadline "$R3" dir "$D3") || die "StartSession failed"
wait_step_state "$id3" 1 waiting_approval
deadline3=$(step_prop "$id3" 1 ApprovalDeadline)
expect_ok "rbtest-bob approves" rb_call "$BOB" "$(session_path "$id3")" "$IFACE_SESSION" Approve s ""
expect_ok "rbtest-carol approves" rb_call "$CAROL" "$(session_path "$id3")" "$IFACE_SESSION" Approve s ""
wait_session_state "$id3" succeeded
wait_past "$deadline3"
assert_eq "$(session_prop "$id3" State)" succeeded "still succeeded after its deadline"
assert_eq "$(journal RUNBOOK_REFERENCE="$R3" MESSAGE_ID=f7fc4700dacc4d2fba38a0bec1b2afbe | wc -l)" 0 "no expiry record"
assert_eq "$(count_lines "$D3/gated.marker")" 1 "ran once"

# ---- approval_valid_for: the first of two approvals is too old when the second arrives
R5=$(ref e) D5="$WORK/e"; mkdir -p "$D5"
id5=$(start_session "$ALICE" valid-for "$R5" dir "$D5") || die "StartSession failed"
wait_step_state "$id5" 0 waiting_approval
assert_eq "$(step_prop "$id5" 0 ApprovalValidFor)" 1000000 "ApprovalValidFor is 1 s"
expect_ok "rbtest-bob approves" rb_call "$BOB" "$(session_path "$id5")" "$IFACE_SESSION" Approve s ""
t_bob=$(step_prop "$id5" 0 Decisions | jq -r '.[0][5]')
wait_past $((t_bob + 1000000))
expect_ok "rbtest-carol approves after bob's approval is older than 1 s" \
    rb_call "$CAROL" "$(session_path "$id5")" "$IFACE_SESSION" Approve s ""
assert_eq "$(step_prop "$id5" 0 State)" waiting_approval "bob's approval lapsed: still waiting"
assert_eq "$(step_prop "$id5" 0 Decisions | jq -r '[.[][4]] | join(",")')" "lapsed,approve" "Decisions: lapsed, approve"
assert_eq "$(journal_wait 1 RUNBOOK_REFERENCE="$R5" MESSAGE_ID=9efd61b42405443d91ed19630f3a0846)" 1 "a lapse record"
assert_match "$(journal_messages RUNBOOK_REFERENCE="$R5" MESSAGE_ID=9efd61b42405443d91ed19630f3a0846)" \
    "^\[APPROVAL_LAPSED\] The approval of step 0 \(two\) in session $id5 by $BOB lapsed: given [0-9]+ s ago, older than approval_valid_for when another approval arrived \(1 s\); 1/2 approvals now$" \
    "the lapse record names who and why"
assert_eq "$(count_lines "$D5/two.marker")" 0 "not run on one valid approval"
expect_ctl_ok "runbookctl show" "$BOB" show "$id5"
assert_match "$CTL_OUT" "approved \(lapsed: approval_valid_for\) by $BOB" "runbookctl show marks the lapsed approval"
expect_ok "rbtest-bob approves again" rb_call "$BOB" "$(session_path "$id5")" "$IFACE_SESSION" Approve s ""
wait_session_state "$id5" succeeded
assert_eq "$(count_lines "$D5/two.marker")" 1 "ran once"

# ---- runbookd.json's default applies to a runbook that sets none
kill_daemon -TERM
write_config '{ "approval_timeout": 3600, "remind_before": 600 }'
start_daemon
id4=$(start_session "$ALICE" plain "$(ref d)") || die "StartSession failed"
wait_step_state "$id4" 0 waiting_approval
assert_eq "$(step_prop "$id4" 0 ApprovalTimeout)" 3600000000 "the daemon's default approval_timeout"
assert_eq "$(step_prop "$id4" 0 RemindBefore)" 600000000 "the daemon's default remind_before"
kill_daemon -TERM
write_config '{ "approval_timeout": 60, "remind_before": 60 }'
( _set_loginuid none; exec timeout 20 "$RUNBOOKD" --config-dir="$CONFIG_DIR" --state-dir="$STATE_DIR" ) \
    >"$T/bad-config.log" 2>&1; rc=$?
assert_true "runbookd refuses to start (status $rc)" test "$rc" != 0 -a "$rc" != 124
assert_true "and says why" grep -q 'runbookd.json: \$.remind_before: must be shorter than "approval_timeout"' "$T/bad-config.log"
finish
