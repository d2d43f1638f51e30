#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Who may approve what (#14 item 4), with real users in real Unix groups (tools/setup.sh:
# rbtest-bob and rbtest-dave in rbtest-dba, rbtest-carol in rbtest-sre) and the real polkitd:
#   - "approvers": {"count": 1, "groups": [...]}: a caller in none of them is NotAnApprover (the
#     groups named), nothing recorded; a member approves; a rejection stays open to anyone;
#   - {"from_each": [...]}: one approver per group, all distinct; a second approver from a group
#     that has one is refused, naming the group still missing;
#   - polkit's approve-step details: a rule (tests/polkit/50-runbookd-test.rules) lets
#     rbtest-mallory approve the main steps of one runbook only: refused for its precheck
#     ("phase") and for any other runbook ("runbook").
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DAVE=rbtest-dave
for g in rbtest-dba:$BOB rbtest-dba:$DAVE rbtest-sre:$CAROL; do
    id -nG "${g#*:}" 2>/dev/null | tr ' ' '\n' | grep -qx "${g%%:*}" || die "${g#*:} is not in ${g%%:*} (run tools/setup.sh)"
done

write_runbook sre-only <<'JSON'
{ "parameters": { "dir": { "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "steps": [ { "name": "restart", "run": "echo ran >> {{dir}}/restart.marker",
               "approvers": { "count": 1, "groups": ["rbtest-sre"] } } ] }
JSON
write_runbook each <<'JSON'
{ "parameters": { "dir": { "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "steps": [ { "name": "failover", "run": "echo ran >> {{dir}}/failover.marker",
               "approvers": { "from_each": ["rbtest-dba", "rbtest-sre"] } } ] }
JSON
write_runbook mallory-may-approve <<'JSON'
{ "parameters": { "dir": { "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "prechecks": [ { "name": "look", "run": "echo ran >> {{dir}}/look.marker" } ],
  "steps": [ { "name": "act", "run": "echo ran >> {{dir}}/act.marker" } ] }
JSON
start_daemon

# ---- groups: each approver in one of them
R=$(ref a) D="$WORK/a"; mkdir -p "$D"
id=$(start_session "$ALICE" sre-only "$R" dir "$D") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
assert_eq "$(step_prop "$id" 0 ApproverGroups)" '["rbtest-sre"]' "ApproverGroups"
assert_eq "$(step_prop "$id" 0 ApproversFromEach)" false "ApproversFromEach"
expect_error NotAnApprover rb_call "$BOB" "$(session_path "$id")" "$IFACE_SESSION" Approve s "not mine"
assert_match "$LAST_ERROR_MESSAGE" "may only be approved by members of rbtest-sre; $BOB is in none of them" \
    "the refusal names the groups and the caller"
assert_eq "$(step_prop "$id" 0 Decisions)" "[]" "nothing recorded for the refused approval"
expect_ok "rbtest-carol (rbtest-sre) approves" rb_call "$CAROL" "$(session_path "$id")" "$IFACE_SESSION" Approve s ""
wait_session_state "$id" succeeded
assert_eq "$(count_lines "$D/restart.marker")" 1 "ran once"

R=$(ref b) D="$WORK/b"; mkdir -p "$D"
id=$(start_session "$ALICE" sre-only "$R" dir "$D") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
expect_ok "rbtest-bob (not an approver) may still reject" rb_call "$BOB" "$(session_path "$id")" "$IFACE_SESSION" Reject s "stop"
wait_session_state "$id" rejected
assert_eq "$(count_lines "$D/restart.marker")" 0 "not run"

# ---- from_each: one approver from each group
R=$(ref c) D="$WORK/c"; mkdir -p "$D"
id=$(start_session "$ALICE" each "$R" dir "$D") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
assert_eq "$(step_prop "$id" 0 ApprovalsRequired)" 2 "ApprovalsRequired is the number of groups"
assert_eq "$(step_prop "$id" 0 ApproversFromEach)" true "ApproversFromEach"
expect_ok "rbtest-bob (rbtest-dba) approves" rb_call "$BOB" "$(session_path "$id")" "$IFACE_SESSION" Approve s ""
assert_eq "$(step_prop "$id" 0 State)" waiting_approval "1 of 2 groups: still waiting"
expect_error NotAnApprover rb_call "$DAVE" "$(session_path "$id")" "$IFACE_SESSION" Approve s "dba again"
assert_match "$LAST_ERROR_MESSAGE" "needs one approver from each of rbtest-dba, rbtest-sre: every one of them that $DAVE is in has an approver already; it still needs one from rbtest-sre" \
    "the refusal names the group still missing"
assert_eq "$(step_prop "$id" 0 Decisions | jq -r 'length')" 1 "still one decision"
assert_eq "$(count_lines "$D/failover.marker")" 0 "not run yet"
expect_ok "rbtest-carol (rbtest-sre) approves" rb_call "$CAROL" "$(session_path "$id")" "$IFACE_SESSION" Approve s ""
wait_session_state "$id" succeeded
assert_eq "$(count_lines "$D/failover.marker")" 1 "ran once, with one approver from each group"
assert_eq "$(step_prop "$id" 0 Decisions | jq -r '[.[][2]] | join(",")')" "$BOB,$CAROL" "the two approvers"

# ---- polkit details: one user, one runbook, its main steps
R=$(ref d) D="$WORK/d"; mkdir -p "$D"
id=$(start_session "$ALICE" mallory-may-approve "$R" dir "$D") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
expect_error AccessDenied rb_call "$MALLORY" "$(session_path "$id")" "$IFACE_SESSION" Approve s "precheck"
assert_match "$LAST_ERROR_MESSAGE" "org.runbookd1.approve-step" "polkit refused the precheck (phase)"
expect_ok "rbtest-bob approves the precheck" rb_call "$BOB" "$(session_path "$id")" "$IFACE_SESSION" Approve s ""
wait_step_state "$id" 1 waiting_approval
expect_ok "rbtest-mallory approves the main step of mallory-may-approve" \
    rb_call "$MALLORY" "$(session_path "$id")" "$IFACE_SESSION" Approve s "allowed by the rule"
wait_session_state "$id" succeeded
assert_eq "$(count_lines "$D/act.marker")" 1 "the main step ran"
assert_eq "$(step_prop "$id" 1 Decisions | jq -r '.[0][2]')" "$MALLORY" "approved by rbtest-mallory"

R=$(ref e) D="$WORK/e"; mkdir -p "$D"
id=$(start_session "$ALICE" each "$R" dir "$D") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
# (in no approver group either, but polkit answers first)
expect_error AccessDenied rb_call "$MALLORY" "$(session_path "$id")" "$IFACE_SESSION" Approve s ""
assert_eq "$(step_prop "$id" 0 Decisions)" "[]" "another runbook: refused by polkit, nothing recorded"
finish
