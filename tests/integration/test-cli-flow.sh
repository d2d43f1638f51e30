#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The product scenario through runbookctl only: rbtest-alice starts it; pending shows the waiting
# precheck; alice's own approval is refused (four eyes); rbtest-bob approves; show --json has the
# states, exit statuses and the approval; rbtest-carol approves step 2; the session succeeds;
# output prints the report step's captured stdout byte for byte; logs shows the session's
# [EXECUTE_STEP] records from the journal, and --json gives RUNBOOK_SESSION on every record.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# The JSON field names of runbookctl (man/runbookctl.1), in one place.
J='def s_id: .id; def s_runbook: .runbook; def s_reference: .reference; def s_state: .state;
   def s_current_step: .current_step; def s_created_by: .created_by; def s_created_at: .created_at;
   def s_finished_at: .finished_at; def s_steps: .steps;
   def x_index: .index; def x_name: .name; def x_phase: .phase; def x_state: .state; def x_target: .target;
   def x_exit_status: .exit_status; def x_approvals: .approvals;
   def a_user: .user; def a_decision: .decision; def a_comment: .comment; def a_time: .time;
   def p_session: .session_id; def p_step: .step; def p_name: .name; def p_command: .command;
   def p_target: .target; def p_requested_by: .requested_by; def p_approvals: .approvals;
   def p_approvals_required: .approvals_required;
   def l_field(f): .fields[f];'

require_runbookctl
install_runbook scenario
start_daemon

R=$(ref flow) D="$WORK/flow"
expect_ctl_ok "rbtest-alice starts the scenario" "$ALICE" start scenario -p dir="$D" --reference "$R"
started=$CTL_OUT
id=$(grep -o -E '/org/runbookd1/session/[0-9]+' <<<"$started" | head -n 1 | sed 's|.*/||')
assert_match "$id" '^[0-9]+$' "start prints the new session's path ($started)"
assert_match "${started//\/org\/runbookd1\/session\/$id/}" "(^|[^0-9])$id([^0-9]|\$)" "start prints the new session's id"
assert_eq "$(list_sessions | jq -r '.[0][0]')" "$id" "the printed id is the daemon's newest session"
assert_eq "$(session_prop "$id" Reference)" "$R" "--reference reached the daemon"
assert_eq "$(session_prop "$id" Parameters)" "{\"dir\":\"$D\"}" "-p dir=... reached the daemon"
assert_eq "$(session_prop "$id" CreatedBy)" "$ALICE" "the session is alice's"
wait_step_state "$id" 0 waiting_approval
CMD0=$(step_prop "$id" 0 Command)

# --- pending
expect_ctl_ok "pending" "$BOB" pending
row=$(grep -F -- "check dir" <<<"$CTL_OUT")
assert_eq "$(grep -c . <<<"$row")" 1 "pending: one row for the waiting step"
assert_match "$row" "^ *${id}[^0-9]" "pending row: the session id first"
assert_true "pending row: the command (its start: a table may shorten it)" grep -qF -- "${CMD0:0:20}" <<<"$row"
assert_true "pending row: the target" grep -qw local <<<"$row"
assert_true "pending row: requested by rbtest-alice" grep -qw -- "$ALICE" <<<"$row"
assert_true "pending row: approvals 0/1" grep -qw 0/1 <<<"$row"
expect_ctl_ok "pending --json=short" "$BOB" pending --json=short
p=$(json_rows <<<"$CTL_OUT") || p=null
assert_eq "$(jq -r "$J"' length' <<<"$p")" 1 "pending --json: one entry"
assert_eq "$(jq -r "$J"' .[0] | [p_session, p_step, p_name, p_target, p_requested_by, p_approvals, p_approvals_required] | map(tostring) | join("|")' <<<"$p")" \
    "$id|0|check dir|local|$ALICE|0|1" "pending --json: session, step, name, target, requested_by, approvals"
assert_eq "$(jq -r "$J"' .[0] | p_command' <<<"$p")" "$CMD0" "pending --json: the command as the daemon has it"

# --- four eyes, then bob approves
expect_ctl_fail "rbtest-alice may not approve her own session" '[Ff]our-eyes|four eyes|someone else' "$ALICE" approve "$id" -m mine
assert_eq "$(step_prop "$id" 0 State)" waiting_approval "step 0 still waiting_approval after the refusal"
assert_eq "$(step_prop "$id" 0 Approvals)" "[]" "no approval recorded"
expect_ctl_ok "rbtest-bob approves with -m ok" "$BOB" approve "$id" -m ok
wait_step_state "$id" 2 waiting_approval 20
wait_session_state "$id" waiting_approval

expect_ctl_ok "show --json=short" "$BOB" show "$id" --json=short
s=$(jq -c -s '.[0]' <<<"$CTL_OUT") || s=null
assert_eq "$(jq -r "$J"' [s_id, s_runbook, s_reference, s_state, s_current_step, s_created_by] | map(tostring) | join("|")' <<<"$s")" \
    "$id|scenario|$R|waiting_approval|2|$ALICE" "show --json: the session's fields"
assert_true "show --json: created_at set" jq -e "$J"' s_created_at | . != null and . != 0 and . != ""' <<<"$s"
assert_eq "$(jq -r "$J"' s_steps | length' <<<"$s")" 5 "show --json: 5 steps"
assert_eq "$(jq -r "$J"' [s_steps[] | x_index] | map(tostring) | join(",")' <<<"$s")" "0,1,2,3,4" "show --json: step indexes"
assert_eq "$(jq -r "$J"' [s_steps[] | x_phase] | join(",")' <<<"$s")" "precheck,main,main,postcheck,postcheck" "show --json: phases"
assert_eq "$(jq -r "$J"' [s_steps[] | x_state] | join(",")' <<<"$s")" \
    "succeeded,succeeded,waiting_approval,pending,pending" "show --json: step states"
assert_eq "$(jq -r "$J"' [s_steps[0,1] | x_exit_status] | map(tostring) | join(",")' <<<"$s")" "0,0" "show --json: exit statuses of the steps that ran"
assert_true "show --json: no exit status for a step that did not run" \
    jq -e "$J"' s_steps[2] | x_exit_status | . == null or . == -1' <<<"$s"
assert_eq "$(jq -r "$J"' [s_steps[] | x_target] | unique | join(",")' <<<"$s")" local "show --json: targets"
assert_eq "$(jq -r "$J"' s_steps[0] | x_name' <<<"$s")" "check dir" "show --json: step 0's name"
assert_eq "$(jq -r "$J"' s_steps[0] | x_approvals | length' <<<"$s")" 1 "show --json: step 0 has one approval"
assert_eq "$(jq -r "$J"' s_steps[0] | x_approvals[0] | [a_user, a_comment] | join("|")' <<<"$s")" "$BOB|ok" "show --json: the approval is bob's, comment ok"
assert_true "show --json: the approval has a time" jq -e "$J"' s_steps[0] | x_approvals[0] | a_time | . != null and . != 0 and . != ""' <<<"$s"
expect_ctl_ok "show (table)" "$BOB" show "$id"
for n in "check dir" prepare change verify report; do
    assert_true "show lists step '$n'" grep -qF -- "$n" <<<"$CTL_OUT"
done
assert_true "show names the approver" grep -qw -- "$BOB" <<<"$CTL_OUT"
assert_true "show shows the waiting step" grep -q waiting_approval <<<"$CTL_OUT"

# --- carol approves step 2 by index; the session runs to the end
expect_ctl_ok "pending lists step 2 now" "$CAROL" pending --json=short
assert_eq "$(json_rows <<<"$CTL_OUT" | jq -r "$J"' [.[] | [p_session, p_step] | map(tostring) | join("/")] | join(",")')" \
    "$id/2" "pending --json: only session $id step 2"
expect_ctl_ok "rbtest-carol approves step 2" "$CAROL" approve "$id" 2 -m go
wait_session_state "$id" succeeded 20
expect_ctl_ok "pending is empty" root pending --json=short
assert_eq "$(json_rows <<<"$CTL_OUT" | jq -r 'length')" 0 "pending --json: no entry left"
expect_ctl_ok "show --json at the end" root show "$id" --json=short
s=$(jq -c -s '.[0]' <<<"$CTL_OUT") || s=null
assert_eq "$(jq -r "$J"' s_state' <<<"$s")" succeeded "show --json: succeeded"
assert_eq "$(jq -r "$J"' [s_steps[] | x_state] | unique | join(",")' <<<"$s")" succeeded "show --json: every step succeeded"
assert_eq "$(jq -r "$J"' [s_steps[] | x_exit_status] | map(tostring) | join(",")' <<<"$s")" "0,0,0,0,0" "show --json: every exit status 0"
assert_eq "$(jq -r "$J"' s_steps[2] | x_approvals[0] | [a_user, a_comment] | join("|")' <<<"$s")" "$CAROL|go" "show --json: step 2's approval"
assert_true "show --json: finished_at set" jq -e "$J"' s_finished_at | . != null and . != 0 and . != ""' <<<"$s"
expect_ctl_ok "list --json" root list --json=short
assert_eq "$(json_rows <<<"$CTL_OUT" | jq -r "$J"' .[] | select(s_id == '"$id"') | [s_state, s_reference, s_created_by] | join("|")')" \
    "succeeded|$R|$ALICE" "list --json: the session's row"

# --- output: the captured bytes, exactly
ctl_timeout 60 root output "$id" 4 > "$T/out4"; rc=$?
assert_eq "$rc" 0 "output $id 4 exits 0"
printf 'precheck\nprepare\nchange\n' > "$T/want4"
assert_true "output $id 4 prints the report step's stdout byte for byte" cmp "$T/out4" "$T/want4"
get_output "$id" 4
assert_eq "$(cat "$T/out4")" "$OUT_STDOUT" "output agrees with Step.GetOutput"
ctl_timeout 60 "$CAROL" output "$id" 4 --stderr > "$T/err4"; rc=$?
assert_eq "$rc" 0 "output --stderr exits 0 (carol may read output)"
assert_eq "$(stat -c %s "$T/err4")" 0 "output --stderr: the step wrote nothing on stderr"
ctl_timeout 60 root output "$id" 0 > "$T/out0"; rc=$?
assert_eq "$rc" 0 "output $id 0 exits 0"
assert_eq "$(stat -c %s "$T/out0")" 0 "output $id 0: empty (the command redirected its output)"
expect_ctl_fail "output of a step that does not exist" '.' root output "$id" 9

# --- logs
n=$(journal_wait 19 RUNBOOK_REFERENCE="$R")
assert_eq "$n" 19 "the journal has the session's 19 records"
JD=(); [ -n "${TESTBED_JOURNAL_DIR:-}" ] && JD=(--directory="$TESTBED_JOURNAL_DIR")
expect_ctl_ok "logs $id" root logs "$id" "${JD[@]}"
logs=$CTL_OUT
names=("check dir" prepare change verify report)
for i in 0 1 2 3 4; do
    assert_true "logs: step $i's 'Starting execution' line" \
        grep -qF -- "[EXECUTE_STEP] Starting execution of step $i (${names[$i]}) in session $id" <<<"$logs"
done
assert_true "logs: the 'Executing command' lines" grep -qF "[EXECUTE_STEP] Executing command via connector local on local" <<<"$logs"
assert_true "logs: the result lines" grep -qE '\[EXECUTE_STEP\] Command execution result: success=true exit_status=0' <<<"$logs"
assert_true "logs: the approval by bob" grep -qF "[APPROVE_STEP] Step 0 (check dir) in session $id approved by $BOB" <<<"$logs"
expect_ctl_ok "logs $id --json=short" root logs "$id" "${JD[@]}" --json=short
recs=$(json_rows <<<"$CTL_OUT") || recs=null
assert_true "logs --json: some records" test "$(jq -r 'length' <<<"$recs")" -ge 19
assert_eq "$(jq -r "$J"' [.[] | l_field("RUNBOOK_SESSION")] | unique | join(",")' <<<"$recs")" "$id" "logs --json: RUNBOOK_SESSION=$id on every record"
assert_eq "$(jq -r --arg r "$R" "$J"' [.[] | select(l_field("RUNBOOK_REFERENCE") == $r)] | length' <<<"$recs")" 19 \
    "logs --json: all 19 records of this session"
assert_eq "$(jq -r --arg r "$R" "$J"' [.[] | select(l_field("RUNBOOK_REFERENCE") == $r) | l_field("MESSAGE") | select(startswith("[EXECUTE_STEP]"))] | length' <<<"$recs")" 15 \
    "logs --json: its 15 [EXECUTE_STEP] records"
expect_ctl_ok "logs $id --json=pretty" root logs "$id" "${JD[@]}" --json=pretty
assert_eq "$(json_rows <<<"$CTL_OUT" | jq -r --arg r "$R" "$J"' [.[] | select(l_field("RUNBOOK_REFERENCE") == $r)] | length')" 19 \
    "logs --json=pretty: the same 19 records of this session"
finish
