#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# ListSessions lists every session, newest first, with its state; ListPendingApprovals lists
# every step waiting for approval across sessions, and nothing else.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

install_runbook scenario echo
start_daemon

a=$(start_session "$ALICE" scenario "$(ref a)" dir "$WORK/a") || die "StartSession a failed"
b=$(start_session "$BOB" scenario "$(ref b)" dir "$WORK/b") || die "StartSession b failed"
c=$(start_session "$CAROL" scenario "$(ref c)" dir "$WORK/c") || die "StartSession c failed"
wait_step_state "$c" 0 waiting_approval
# session b goes on to its second gate (step 2)
expect_ok "rbtest-alice approves session b's precheck" rb_call "$ALICE" "$(session_path "$b")" "$IFACE_SESSION" Approve s ""
wait_step_state "$b" 2 waiting_approval

l=$(list_sessions)
assert_eq "$(jq -r 'length' <<<"$l")" 3 "ListSessions lists all three sessions"
assert_eq "$(jq -r '[.[][0]] | join(",")' <<<"$l")" "$c,$b,$a" "newest first"
assert_eq "$(jq -r '[.[][2]] | join(",")' <<<"$l")" "$(ref c),$(ref b),$(ref a)" "with their references"
assert_eq "$(jq -r '[.[][3]] | join(",")' <<<"$l")" "waiting_approval,waiting_approval,waiting_approval" "and states"
assert_eq "$(jq -r '[.[][4]] | join(",")' <<<"$l")" "0,2,0" "and current steps"
assert_eq "$(jq -r '[.[][6]] | join(",")' <<<"$l")" "$CAROL,$BOB,$ALICE" "and creators"

p=$(busctl --system --json=short call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" ListPendingApprovals | jq -c '.data[0]')
assert_eq "$(jq -r 'length' <<<"$p")" 3 "three steps wait for approval"
assert_eq "$(jq -r '[.[] | "\(.[0])/\(.[1])"] | sort | join(",")' <<<"$p")" \
    "$(printf '%s\n' "$a/0" "$b/2" "$c/0" | sort | paste -sd,)" "the right session/step pairs"
assert_eq "$(jq -r --argjson b "$b" '.[] | select(.[0] == $b) | "\(.[4])|\(.[5])|\(.[9])|\(.[11])/\(.[12])"' <<<"$p")" \
    "change|main|$BOB|0/1" "session b's entry: step name, phase, requester, approvals so far/needed"

# a session that leaves its gate leaves the list
expect_ok "rbtest-bob rejects session a" rb_call "$BOB" "$(session_path "$a")" "$IFACE_SESSION" Reject s "no"
wait_session_state "$a" rejected
p=$(busctl --system --json=short call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" ListPendingApprovals | jq -c '.data[0]')
assert_eq "$(jq -r '[.[] | .[0]] | sort | join(",")' <<<"$p")" "$(printf '%s\n' "$b" "$c" | sort | paste -sd,)" \
    "after the reject, only sessions b and c wait"
assert_eq "$(list_sessions | jq -r --argjson a "$a" '.[] | select(.[0] == $a) | .[3]')" rejected \
    "ListSessions shows session a rejected"
finish
