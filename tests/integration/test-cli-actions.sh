#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# runbookctl reject, cancel, retry and list --state: reject needs -m (refused without it, nothing
# changes); reject -m ends the session rejected; cancel stops a running step; retry re-arms an
# interrupted session (kill -9 of the daemon while its step ran) behind a fresh approval,
# attempt 2, and approving runs it; list --state=STATE shows only sessions in that state.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# The JSON field names of runbookctl (man/runbookctl.1), in one place.
J='def s_id: .id; def s_state: .state; def s_steps: .steps;
   def x_state: .state; def x_approvals: .approvals;
   def a_user: .user; def a_decision: .decision; def a_comment: .comment;'

require_runbookctl
install_runbook scenario long-running echo
start_daemon
new_id() { list_sessions | jq -r '.[0][0]'; }
show_json() { ctl_timeout 60 root show "$1" --json=short | jq -c -s '.[0]'; }

# --- reject
R=$(ref r) D="$WORK/r"
expect_ctl_ok "alice starts scenario" "$ALICE" start scenario -p dir="$D" --reference "$R"
idr=$(new_id)
wait_step_state "$idr" 0 waiting_approval
expect_ctl_fail "reject without -m is refused" '[Cc]omment|-m|--message' "$BOB" reject "$idr"
sleep 0.3
assert_eq "$(session_prop "$idr" State)" waiting_approval "the session still waits after reject without -m"
assert_eq "$(step_prop "$idr" 0 Approvals)" "[]" "no decision recorded"
expect_ctl_ok "bob rejects with -m" "$BOB" reject "$idr" -m "not today"
wait_session_state "$idr" rejected
s=$(show_json "$idr") || s=null
assert_eq "$(jq -r "$J"' s_state' <<<"$s")" rejected "show --json: rejected"
assert_eq "$(jq -r "$J"' [s_steps[] | x_state] | join(",")' <<<"$s")" "rejected,skipped,skipped,skipped,skipped" "show --json: step 0 rejected, the rest skipped"
assert_eq "$(jq -r "$J"' s_steps[0] | x_approvals[0] | [a_user, a_decision, a_comment] | join("|")' <<<"$s")" \
    "$BOB|reject|not today" "show --json: the rejection, its user and comment"
assert_false "nothing ran" test -e "$D"
expect_ctl_fail "approve of a rejected session is refused" '.' "$CAROL" approve "$idr" -m late

# --- cancel
D="$WORK/c"; mkdir -p "$D"
expect_ctl_ok "alice starts long-running" "$ALICE" start long-running -p dir="$D" --reference "$(ref c)"
idc=$(new_id)
wait_step_state "$idc" 0 running
expect_ctl_ok "alice cancels" "$ALICE" cancel "$idc"
wait_session_state "$idc" cancelled
s=$(show_json "$idc") || s=null
assert_eq "$(jq -r "$J"' [s_state, (s_steps[] | x_state)] | join(",")' <<<"$s")" "cancelled,cancelled,skipped" "show --json: cancelled, step 0 cancelled, step 1 skipped"
gone=0
for _ in $(seq 100); do pgrep -f -- "$D" >/dev/null || { gone=1; break; }; sleep 0.1; done
assert_eq "$gone" 1 "the step's processes are gone"
expect_ctl_fail "cancel of a finished session is refused" '.' "$ALICE" cancel "$idc"

# --- retry of an interrupted session
D="$WORK/i"; mkdir -p "$D"
expect_ctl_ok "alice starts long-running again" "$ALICE" start long-running -p dir="$D" --reference "$(ref i)"
idi=$(new_id)
wait_step_state "$idi" 0 running
for _ in $(seq 100); do [ -e "$D/started.marker" ] && break; sleep 0.1; done
expect_ctl_fail "retry of a session that is not interrupted is refused" '.' "$ALICE" retry "$idi"
kill_daemon -9
# the step's processes outlive a SIGKILLed daemon: stop them, as an operator would
kill_matching "$D"
start_daemon
wait_session_state "$idi" interrupted
s=$(show_json "$idi") || s=null
assert_eq "$(jq -r "$J"' [s_state, (s_steps[0] | x_state)] | join(",")' <<<"$s")" "interrupted,interrupted" "show --json: interrupted"
touch "$D/fast"     # the re-run finishes at once
expect_ctl_ok "alice retries" "$ALICE" retry "$idi"
wait_session_state "$idi" waiting_approval
assert_eq "$(step_prop "$idi" 0 State)" waiting_approval "step 0 waits for a fresh approval"
assert_eq "$(step_prop "$idi" 0 Attempt)" 2 "attempt 2"
assert_eq "$(count_lines "$D/started.marker")" 1 "retry alone runs nothing"
s=$(show_json "$idi") || s=null
assert_eq "$(jq -r "$J"' [s_state, (s_steps[0] | x_state)] | join(",")' <<<"$s")" "waiting_approval,waiting_approval" "show --json: waiting_approval after retry"
expect_ctl_ok "pending lists the re-armed step" root pending
assert_true "pending: the re-armed step's row" grep -E -q "^ *${idi}[^0-9].*long" <<<"$CTL_OUT"
expect_ctl_fail "alice may not approve her own retry" '[Ff]our-eyes|four eyes|someone else' "$ALICE" approve "$idi"
expect_ctl_ok "bob approves the retry" "$BOB" approve "$idi" -m "retry ok"
wait_session_state "$idi" succeeded
assert_eq "$(count_lines "$D/started.marker")" 2 "the step ran a second time"
assert_eq "$(count_lines "$D/after.marker")" 1 "the next step ran"
expect_ctl_fail "retry of a succeeded session is refused" '.' "$ALICE" retry "$idi"

# --- list --state
ids=$(start_session "$CAROL" echo "$(ref e)" value hi) || die "StartSession failed"
wait_session_state "$ids" succeeded
expect_ctl_ok "list --state=succeeded" root list --state=succeeded --json=short
assert_eq "$(json_rows <<<"$CTL_OUT" | jq -r "$J"' [.[] | s_id | tostring] | sort | join(",")')" \
    "$(printf '%s\n' "$idi" "$ids" | sort | paste -sd,)" "list --state=succeeded: only the two succeeded sessions"
assert_eq "$(json_rows <<<"$CTL_OUT" | jq -r "$J"' [.[] | s_state] | unique | join(",")')" succeeded "list --state=succeeded: states"
expect_ctl_ok "list --state=rejected" root list --state=rejected --json=short
assert_eq "$(json_rows <<<"$CTL_OUT" | jq -r "$J"' [.[] | s_id | tostring] | join(",")')" "$idr" "list --state=rejected: the rejected session"
expect_ctl_ok "list --state=cancelled (table)" root list --state=cancelled --no-legend
assert_eq "$(awk '{print $1}' <<<"$CTL_OUT" | paste -sd,)" "$idc" "list --state=cancelled --no-legend: the cancelled session's row"
expect_ctl_ok "list --state=running" root list --state=running --json=short
assert_eq "$(json_rows <<<"$CTL_OUT" | jq -r 'length')" 0 "list --state=running: none"
expect_ctl_ok "list" root list --json=short
assert_eq "$(json_rows <<<"$CTL_OUT" | jq -r 'length')" 4 "list without --state: all 4 sessions"
all=$(json_rows <<<"$CTL_OUT" | jq -r "$J"' [.[] | s_id | tostring] | join(",")')
assert_eq "$all" "$(printf '%s\n' "$idi" "$idr" "$idc" "$ids" | sort -rn | paste -sd,)" "list: newest first"

# --- list --limit, --since (issue #11 item 8: the daemon pages, runbookctl pages through)
expect_ctl_ok "list --limit=2" root list --limit=2 --json=short
assert_eq "$(json_rows <<<"$CTL_OUT" | jq -r "$J"' [.[] | s_id | tostring] | join(",")')" "$(cut -d, -f1-2 <<<"$all")" \
    "list --limit=2: the two newest"
expect_ctl_ok "list --state=succeeded --limit=1" root list --state=succeeded --limit=1 --json=short
assert_eq "$(json_rows <<<"$CTL_OUT" | jq -r "$J"' [.[] | s_id | tostring] | join(",")')" "$ids" \
    "list --state=succeeded --limit=1: the newest succeeded session"
expect_ctl_ok "list --since=-1h" root list --since=-1h --json=short
assert_eq "$(json_rows <<<"$CTL_OUT" | jq -r 'length')" 4 "list --since=-1h: all four"
expect_ctl_ok "list --since=@(an hour ahead)" root list --since=@$(( $(date +%s) + 3600 )) --json=short
assert_eq "$(json_rows <<<"$CTL_OUT" | jq -r 'length')" 0 "list --since an hour ahead: none"
hour_ago=$(date -d '-1 hour' '+%Y-%m-%d %H:%M')
expect_ctl_ok "list --since='$hour_ago'" root list --since="$hour_ago" --state=succeeded --json=short
assert_eq "$(json_rows <<<"$CTL_OUT" | jq -r 'length')" 2 "list --since='YYYY-MM-DD HH:MM' an hour ago --state=succeeded: two"
expect_ctl_fail "list --since=soon is refused" "Invalid time 'soon' for --since" root list --since=soon
expect_ctl_fail "list --limit=0 is refused" "Invalid --limit '0'" root list --limit=0
finish
