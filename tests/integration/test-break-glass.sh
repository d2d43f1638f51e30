#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Break-glass and its review (#14 item 5), with the real polkitd: a step that needs two approvals
# runs on one person's break-glass and reason (loud: a warning record with its own MESSAGE_ID, the
# step's BreakGlass, the decision in Decisions); the session then needs a review, listed by
# runbookctl list --unreviewed, refused to whoever broke the glass, given by someone else; polkit
# refuses break-glass to a user it does not allow; a runbook with "break_glass": false forbids it;
# a reason is required.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_runbookctl

write_runbook bg <<'JSON'
{ "parameters": { "dir": { "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "steps": [ { "name": "fix", "run": "echo ran >> {{dir}}/fix.marker", "approvers": 2 },
             { "name": "after", "run": "echo ran >> {{dir}}/after.marker", "approval": "none" } ] }
JSON
write_runbook no-bg <<'JSON'
{ "break_glass": false, "parameters": { "dir": { "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "steps": [ { "name": "fix", "run": "echo ran >> {{dir}}/fix.marker" } ] }
JSON
start_daemon
MSG_BREAK_GLASS=0f07d605748b4fa0bf608cb9c8048486
MSG_REVIEWED=e3f4326f60e14b8ab6d9b546b2e8c164

R=$(ref a) D="$WORK/a"; mkdir -p "$D"
id=$(start_session "$ALICE" bg "$R" dir "$D") || die "StartSession failed"
S=$(session_path "$id")
wait_step_state "$id" 0 waiting_approval
assert_eq "$(session_prop "$id" Review)" none "Review is none before"
expect_error InvalidParameter rb_call "$BOB" "$S" "$IFACE_SESSION" BreakGlass s ""
expect_error AccessDenied rb_call "$MALLORY" "$S" "$IFACE_SESSION" BreakGlass s "not allowed"
assert_eq "$(step_prop "$id" 0 State)" waiting_approval "refused break-glass changes nothing"
expect_ok "rbtest-bob approves (1/2)" rb_call "$BOB" "$S" "$IFACE_SESSION" Approve s ""
expect_ctl_fail "runbookctl break-glass without a reason" "needs a reason" "$BOB" break-glass "$id"
expect_ctl_ok "rbtest-bob breaks the glass" "$BOB" break-glass "$id" -m "db down, carol unreachable"
wait_session_state "$id" succeeded
assert_eq "$(count_lines "$D/fix.marker")" 1 "the step ran once, with 1 of 2 approvals"
assert_eq "$(count_lines "$D/after.marker")" 1 "the session went on"
assert_eq "$(step_prop "$id" 0 BreakGlass)" true "the step's BreakGlass"
assert_eq "$(step_prop "$id" 0 Decisions | jq -r '[.[] | "\(.[2]):\(.[4])"] | join(",")')" "$BOB:approve,$BOB:break_glass" \
    "Decisions: the approval and the break-glass"
assert_eq "$(step_prop "$id" 0 Decisions | jq -r '.[1][7]')" "db down, carol unreachable" "the reason is recorded"
assert_eq "$(session_prop "$id" Review)" required "the session needs a review"
assert_eq "$(journal_wait 1 RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_BREAK_GLASS)" 1 "a break-glass record"
rec=$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_BREAK_GLASS)
assert_eq "$(jq -r '"\(.PRIORITY)|\(.RUNBOOK_APPROVER)|\(.RUNBOOK_REASON)|\(.RUNBOOK_APPROVALS)/\(.RUNBOOK_APPROVALS_REQUIRED)"' <<<"$rec")" \
    "4|$BOB|db down, carol unreachable|1/2" "its fields (warning priority)"
assert_eq "$(jq -r .MESSAGE <<<"$rec")" \
    "[BREAK_GLASS] Step 0 (fix) in session $id runs by break-glass of $BOB, without 1 of 2 approvals: db down, carol unreachable" \
    "its message"
expect_ctl_ok "runbookctl list --unreviewed" "$CAROL" --json=short list --unreviewed
assert_eq "$(jq -r '[.[].id] | join(",")' <<<"$CTL_OUT")" "$id" "lists exactly this session"
expect_ctl_ok "runbookctl show" "$CAROL" show "$id"
assert_match "$CTL_OUT" "Review: +required" "runbookctl show says a review is required"
assert_match "$CTL_OUT" "BREAK-GLASS by $BOB" "and shows the break-glass decision"

expect_error SelfApprovalForbidden rb_call "$BOB" "$S" "$IFACE_SESSION" Review s "looks fine to me"
assert_eq "$(session_prop "$id" Review)" required "not reviewed by whoever broke the glass"
expect_error AccessDenied rb_call "$MALLORY" "$S" "$IFACE_SESSION" Review s "me?"
expect_ctl_ok "rbtest-carol reviews" "$CAROL" review "$id" -m "checked the db logs"
assert_eq "$(session_prop "$id" Review)" "done" "reviewed"
assert_eq "$(session_prop "$id" ReviewedBy)" "$CAROL" "ReviewedBy"
assert_eq "$(session_prop "$id" ReviewComment)" "checked the db logs" "ReviewComment"
assert_eq "$(journal_wait 1 RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_REVIEWED)" 1 "a review record"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_REVIEWED | jq -r .RUNBOOK_REVIEWER)" "$CAROL" "by carol"
expect_error NotReviewable rb_call "$ALICE" "$S" "$IFACE_SESSION" Review s "again"
expect_ctl_ok "runbookctl list --unreviewed" "$CAROL" --json=short list --unreviewed
assert_eq "$(jq -r 'length' <<<"$CTL_OUT")" 0 "no session left to review"
expect_error SessionFinished rb_call "$BOB" "$S" "$IFACE_SESSION" BreakGlass s "too late"

# the review survives a restart
restart_daemon
assert_eq "$(session_prop "$id" Review)/$(session_prop "$id" ReviewedBy)" "done/$CAROL" "the review after a restart"

# a runbook that forbids it
R=$(ref b) D="$WORK/b"; mkdir -p "$D"
id=$(start_session "$ALICE" no-bg "$R" dir "$D") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
expect_error BreakGlassForbidden rb_call "$BOB" "$(session_path "$id")" "$IFACE_SESSION" BreakGlass s "please"
assert_eq "$(step_prop "$id" 0 State)" waiting_approval "still waiting"
assert_eq "$(count_lines "$D/fix.marker")" 0 "not run"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_BREAK_GLASS | wc -l)" 0 "no break-glass record"
finish
