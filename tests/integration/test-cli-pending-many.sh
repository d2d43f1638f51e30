#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# runbookctl pending across sessions: three sessions of two runbooks, started by three users,
# wait for approval at once; pending (table and --json) lists each waiting step once, with the
# right session/step pairs, requester and approvals so far/needed; an approved step leaves the
# list (and the next gate of its session joins it), a half-approved two-approver step stays with
# 1/2, a rejected one leaves it.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# The JSON field names of runbookctl (man/runbookctl.1), in one place.
J='def p_session: .session_id; def p_step: .step; def p_name: .name; def p_command: .command;
   def p_target: .target; def p_requested_by: .requested_by; def p_approvals: .approvals;
   def p_approvals_required: .approvals_required;
   def pairs: [.[] | [p_session, p_step] | map(tostring) | join("/")] | sort | join(",");'

require_runbookctl
install_runbook scenario two-approvers
start_daemon

# pending_pairs: "session/step,..." (sorted) from pending --json=short, as rbtest-mallory
# (reading needs no authorization); "ERROR" when runbookctl fails.
pending_json() { ctl_run "$MALLORY" pending --json=short && json_rows <<<"$CTL_OUT"; }
pending_pairs() { pending_json | jq -r "$J"' pairs' || echo ERROR; }
# wait_pending PAIRS: polls (10 s) until pending shows exactly PAIRS; an assertion.
wait_pending() {
    local got=""
    for _ in $(seq 50); do
        got=$(pending_pairs)
        [ "$got" = "$1" ] && break
        sleep 0.2
    done
    assert_eq "$got" "$1" "pending --json lists $2"
}

assert_eq "$(pending_pairs)" "" "pending --json: nothing before any session"

mkdir -p "$WORK/m2"     # two-approvers writes its markers there
expect_ctl_ok "alice starts scenario" "$ALICE" start scenario -p dir="$WORK/m1" --reference "$(ref m1)"
id1=$(list_sessions | jq -r '.[0][0]')
expect_ctl_ok "bob starts two-approvers" "$BOB" start two-approvers -p dir="$WORK/m2" --reference "$(ref m2)"
id2=$(list_sessions | jq -r '.[0][0]')
expect_ctl_ok "carol starts scenario" "$CAROL" start scenario -p dir="$WORK/m3" --reference "$(ref m3)"
id3=$(list_sessions | jq -r '.[0][0]')
assert_eq "$(printf '%s\n' "$id1" "$id2" "$id3" | sort -u | wc -l)" 3 "three sessions ($id1 $id2 $id3)"
for i in "$id1" "$id2" "$id3"; do wait_step_state "$i" 0 waiting_approval; done

want=$(printf '%s\n' "$id1/0" "$id2/0" "$id3/0" | sort | paste -sd,)
wait_pending "$want" "the three waiting steps"
p=$(pending_json) || p=null
entry() { jq -r "$J"' .[] | select((p_session | tostring) == "'"$1"'" and (p_step | tostring) == "'"$2"'") | [p_name, p_target, p_requested_by, p_approvals, p_approvals_required] | map(tostring) | join("|")' <<<"$p"; }
assert_eq "$(entry "$id1" 0)" "check dir|local|$ALICE|0|1" "pending: session $id1 step 0 (alice, 0/1)"
assert_eq "$(entry "$id2" 0)" "dangerous|local|$BOB|0|2" "pending: session $id2 step 0 (bob, 0/2)"
assert_eq "$(entry "$id3" 0)" "check dir|local|$CAROL|0|1" "pending: session $id3 step 0 (carol, 0/1)"
assert_eq "$(jq -r "$J"' .[] | select((p_session | tostring) == "'"$id2"'") | p_command' <<<"$p")" \
    "$(step_prop "$id2" 0 Command)" "pending: the command of session $id2's step"
expect_ctl_ok "pending (table)" "$MALLORY" pending --no-legend
assert_eq "$(nonempty_lines <<<"$CTL_OUT")" 3 "pending --no-legend: three rows"
assert_eq "$(awk '{print $1}' <<<"$CTL_OUT" | sort -n | paste -sd,)" "$(printf '%s\n' "$id1" "$id2" "$id3" | sort -n | paste -sd,)" \
    "pending table: one row per session, the id first"
assert_true "pending table: session $id2's row shows 0/2" grep -E -q "^ *${id2}[^0-9].*(^|[^0-9])0/2([^0-9]|\$)" <<<"$CTL_OUT"
expect_ctl_ok "pending (table, with legend)" "$MALLORY" pending
assert_eq "$(nonempty_lines <<<"$CTL_OUT")" 5 "pending: header, three rows, legend"

# --- bob approves session 1's precheck: it leaves; session 1's step 2 comes next
expect_ctl_ok "bob approves session $id1" "$BOB" approve "$id1" -m ok
wait_step_state "$id1" 2 waiting_approval
wait_pending "$(printf '%s\n' "$id1/2" "$id2/0" "$id3/0" | sort | paste -sd,)" "session $id1 step 2 instead of step 0"

# --- one of two approvals: still pending, 1/2
expect_ctl_ok "alice approves session $id2 (1 of 2)" "$ALICE" approve "$id2" 0 -m one
p=$(pending_json) || p=null
assert_eq "$(entry "$id2" 0)" "dangerous|local|$BOB|1|2" "pending: session $id2 step 0 now 1/2"
expect_ctl_fail "alice cannot approve twice" '.' "$ALICE" approve "$id2" 0 -m again
expect_ctl_ok "carol approves session $id2 (2 of 2)" "$CAROL" approve "$id2" -m two
wait_session_state "$id2" succeeded
wait_pending "$(printf '%s\n' "$id1/2" "$id3/0" | sort | paste -sd,)" "no step of session $id2 any more"

# --- a rejection removes it too
expect_ctl_ok "alice rejects session $id3" "$ALICE" reject "$id3" -m "not now"
wait_session_state "$id3" rejected
wait_pending "$id1/2" "only session $id1 step 2"
expect_ctl_ok "carol approves session $id1 step 2" "$CAROL" approve "$id1" 2
wait_session_state "$id1" succeeded
wait_pending "" "nothing"
expect_ctl_ok "pending --no-legend with nothing waiting" "$MALLORY" pending --no-legend
assert_eq "$(nonempty_lines <<<"$CTL_OUT")" 0 "pending --no-legend: no row"
finish
