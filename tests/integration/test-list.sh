#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# ListSessions lists every session, newest first, with its state; ListPendingApprovals lists
# every step waiting for approval across sessions, and nothing else. ListSessions' options
# (issue #11 item 8): states, since, limit (at most 1000 a call) and before (the cursor: the
# `next` a call returns, 0 when there is no more) page through the sessions; bad options are
# InvalidParameter naming what is wrong.
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

# ---- options
ls_call() { busctl --system --json=short call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" ListSessions 'a{sv}' "$@" |
            jq -c '[[.data[0][][0]], .data[1]]'; }
assert_eq "$(ls_call 0)" "[[$c,$b,$a],0]" "no options: all, newest first, next 0"
assert_eq "$(ls_call 1 states as 1 waiting_approval)" "[[$c,$b],0]" "states: only the waiting ones"
assert_eq "$(ls_call 1 states as 2 rejected succeeded)" "[[$a],0]" "states: any of several"
assert_eq "$(ls_call 1 limit u 1)" "[[$c],$c]" "limit 1: the newest, and the cursor to go on"
assert_eq "$(ls_call 2 limit u 1 before u "$c")" "[[$b],$b]" "before the cursor: the next page"
assert_eq "$(ls_call 2 limit u 1 before u "$b")" "[[$a],$a]" "and the next"
assert_eq "$(ls_call 2 limit u 1 before u "$a")" "[[],0]" "the end: empty, next 0"
assert_eq "$(ls_call 2 states as 1 waiting_approval before u "$c")" "[[$b],0]" "states and before together"
assert_eq "$(ls_call 1 limit u 50000)" "[[$c,$b,$a],0]" "a limit above the daemon's most is cut to it"
created_b=$(session_prop "$b" CreatedAt)
assert_eq "$(ls_call 1 since t "$created_b")" "[[$c,$b],0]" "since: created at or after"
assert_eq "$(ls_call 1 since t $(( $(date +%s) * 1000000 + 3600000000 )))" "[[],0]" "since: an hour ahead, none"
expect_error InvalidParameter rb_call "$MALLORY" "$MANAGER" "$IFACE_MANAGER" ListSessions 'a{sv}' 1 bogus u 1
assert_match "$LAST_ERROR_MESSAGE" "unknown option 'bogus'" "the error names the unknown option"
expect_error InvalidParameter rb_call "$MALLORY" "$MANAGER" "$IFACE_MANAGER" ListSessions 'a{sv}' 1 states as 1 sleeping
assert_match "$LAST_ERROR_MESSAGE" "'sleeping' in option 'states' is not a session state" "the error names the bad state"
expect_error InvalidParameter rb_call "$MALLORY" "$MANAGER" "$IFACE_MANAGER" ListSessions 'a{sv}' 1 limit s 10
assert_match "$LAST_ERROR_MESSAGE" "option 'limit' has the wrong type" "the error names the option of the wrong type"
# a long name of 3-byte characters: the error quotes it cut on a character boundary (a message
# cut inside a character is not UTF-8, and D-Bus would not carry it: the caller got no answer)
euros=$(printf '€%.0s' $(seq 30))
expect_error InvalidParameter timeout 10 busctl --system call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" ListSessions 'a{sv}' 1 "$euros" u 1
assert_match "$LAST_ERROR_MESSAGE" "unknown option '€{21}…'" "the error quotes the first 21 characters"
finish
