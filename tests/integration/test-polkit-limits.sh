#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue #11 item 6: one user cannot hold every polkit check. With polkitd paused (SIGSTOP),
# rbtest-bob sends 24 StartSession calls from 24 connections: 16 wait for polkit (the per-user
# bound) and 8 are refused at once with LimitsExceeded naming the bound; rbtest-carol's call still
# goes to polkit and, once polkitd resumes, starts her session. (Before the fix all 24 of bob's
# waited: the only bound was 256 for the whole daemon.)
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

write_runbook gate <<EOF
{ "steps": [ { "name": "gate", "run": "true" } ] }
EOF
start_daemon

polkit_pid=$(busctl --system --json=short call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
             GetConnectionUnixProcessID s org.freedesktop.PolicyKit1 | jq -r '.data[0]')
[ -n "$polkit_pid" ] && [ -e "/proc/$polkit_pid" ] || die "cannot find polkitd's pid"
asked() { grep -c "Asked polkit whether .* (uid $1) may org.runbookd1.start-session" "$DAEMON_LOG" 2>/dev/null || true; }
bob_uid=$(id -u "$BOB") carol_uid=$(id -u "$CAROL")
wait_until() { # TIMEOUT_S SHELL-CONDITION: polls the condition (evaluated each time) every 0.1 s
    for _ in $(seq $(( $1 * 10 ))); do eval "$2" && return 0; sleep 0.1; done
    eval "$2"
}

kill -STOP "$polkit_pid"
mkdir -p "$T/calls"
for n in $(seq 24); do
    ( rb "$BOB" -- call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' gate "$(ref "b$n")" 0 \
        >"$T/calls/bob-$n" 2>&1; echo "rc=$?" >> "$T/calls/bob-$n" ) &
done
finished() { grep -l '^rc=' "$T"/calls/bob-* 2>/dev/null | wc -l; }
wait_until 20 '[ "$(asked "$bob_uid")" -ge 16 ]'
wait_until 20 '[ "$(finished)" -ge 8 ]'
sleep 0.3    # nothing more may finish while polkitd is paused (asserted below)
assert_eq "$(asked "$bob_uid")" 16 "16 of bob's calls wait for polkit (the per-user bound)"
assert_eq "$(finished)" 8 "the other 8 were answered at once"
assert_eq "$(grep -l 'Too many authorization requests in flight from this caller' "$T"/calls/bob-* | wc -l)" 8 \
    "each of the 8 was refused with LimitsExceeded naming the per-caller bound"

# another user is not locked out
( rb "$CAROL" -- call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' gate "$(ref carol)" 0 \
    >"$T/calls/carol" 2>&1; echo "rc=$?" >> "$T/calls/carol" ) &
wait_until 20 '[ "$(asked "$carol_uid")" -ge 1 ]'
assert_eq "$(asked "$carol_uid")" 1 "carol's call went to polkit while bob is at his bound"

kill -CONT "$polkit_pid"
all_done() { [ "$(grep -l '^rc=' "$T"/calls/* 2>/dev/null | wc -l)" -eq 25 ]; }
wait_until 60 all_done || fail "not every call was answered after polkitd resumed"
assert_match "$(cat "$T/calls/carol")" "rc=0" "carol's session started once polkit answered"
assert_eq "$(grep -l '^rc=0' "$T"/calls/bob-* | wc -l)" 16 "bob's 16 waiting calls went through"
assert_eq "$(list_sessions | jq 'length')" 17 "17 sessions: bob's 16 and carol's"
finish
