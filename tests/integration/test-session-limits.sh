#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue #11 item 8 (part): max_active_sessions_per_user. With a bound of 2, rbtest-alice's third
# active session is refused with LimitExceeded naming the bound while rbtest-bob still starts
# his; once one of alice's sessions ends she can start again; the store is unchanged by the
# refusal. (Before the fix only the global max_active_sessions bounded a user.)
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

write_runbook gate <<EOF
{ "steps": [ { "name": "gate", "run": "true" } ] }
EOF
write_config '{"max_active_sessions_per_user": 2}'
start_daemon

a1=$(start_session "$ALICE" gate "$(ref a1)") || fail "alice's first session"
start_session "$ALICE" gate "$(ref a2)" >/dev/null || fail "alice's second session"
expect_error LimitExceeded rb "$ALICE" call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' gate "$(ref a3)" 0
assert_match "$LAST_ERROR_MESSAGE" "$ALICE already has 2 active sessions \(max_active_sessions_per_user\)" \
    "alice's third is refused, naming the bound"
assert_eq "$(list_sessions | jq 'length')" 2 "the refusal left the store as it was"
b1=$(start_session "$BOB" gate "$(ref b1)") || fail "bob is not locked out by alice"
assert_ne "$b1" "" "bob's session started"
expect_ok "carol cancels one of alice's sessions" rb_call "$CAROL" "$(session_path "$a1")" "$IFACE_SESSION" Cancel
wait_session_state "$a1" cancelled
a3=$(start_session "$ALICE" gate "$(ref a3b)") || fail "alice starts again once one of hers ended"
assert_ne "$a3" "" "alice's new session started"

# the setting is validated
kill_daemon -TERM
write_config '{"max_active_sessions_per_user": 0}'
"$RUNBOOKD" --config-dir="$CONFIG_DIR" --state-dir="$STATE_DIR" > "$T/bad.log" 2>&1
assert_match "$(cat "$T/bad.log")" "max_active_sessions_per_user: must be an integer from 1 to 1000000" "a bad bound is refused"
finish
