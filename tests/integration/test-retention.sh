#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Retention (issue #15 item 4): "retention": {"max_sessions": N} in runbookd.json. A bad policy is
# refused at Reload with the JSON path named, and the running configuration stays; a good one is
# applied at once: the older finished sessions are removed (GetSession, their objects, runbookctl
# list), the newest N finished are kept, and an older session still waiting for approval is kept;
# SessionRemoved and InterfacesRemoved are sent (busctl monitor); one journal record per batch
# names the sessions and why; the audit chain still verifies and still holds the removed sessions'
# records. After a restart the policy (changed while runbookd was stopped) applies at start-up,
# and a session that finishes makes room by itself. (max_age_days: src/engine/test-retention.c,
# with an injected clock.)
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_runbookctl

write_runbook quick <<'JSON'
{ "steps": [ { "name": "hello", "run": "echo hello; echo oops >&2", "approval": "none" },
             { "name": "again", "run": "echo again", "approval": "none" } ] }
JSON
write_runbook gated <<'JSON'
{ "steps": [ { "name": "gated", "run": "true" } ] }
JSON
start_daemon
JD=(); [ -n "${TESTBED_JOURNAL_DIR:-}" ] && JD=(--directory="$TESTBED_JOURNAL_DIR")
STORE_ID=$(prop "$MANAGER" "$IFACE_MANAGER" StoreId)
PRUNED_ID=b0c62b22173941359349ada53d54a6fb

MON="$T/monitor.json"
bg busctl --system --json=short monitor \
    --match "type='signal',sender='org.runbookd1'" \
    --match "type='signal',path='/org/runbookd1/testprobe'" >"$MON" 2>"$T/monitor.err"
ready=0
for _ in $(seq 40); do
    busctl --system emit /org/runbookd1/testprobe org.runbookd1.TestProbe Ready 2>/dev/null
    grep -q '"member":"Ready"' "$MON" && { ready=1; break; }
    sleep 0.25
done
[ $ready = 1 ] || die "busctl monitor did not start: $(cat "$T/monitor.err")"
seen() { # jq filter over the monitor's messages
    for _ in $(seq 50); do
        jq -e -s "$1" "$MON" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# the oldest session waits for approval; six finished ones after it
g=$(start_session "$ALICE" gated "$(ref g)") || die "StartSession gated failed"
wait_step_state "$g" 0 waiting_approval
q=()
for i in 1 2 3 4 5 6; do
    id=$(start_session "$ALICE" quick "$(ref "q$i")") || die "StartSession quick failed"
    wait_session_state "$id" succeeded
    q+=("$id")
done
expect_ctl_ok "audit verify before" root "${JD[@]}" audit verify
assert_match "$CTL_OUT" "^The audit chain is intact: " "the chain is intact"
audit_before=$(sed -n 's/^The audit chain is intact: \([0-9]*\) records.*/\1/p' <<<"$CTL_OUT")

# ---- bad policies: refused with the path named; nothing changes
reload() { rb root --json=short call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" Reload; }
bad_policy() { # DESC JSON ERE
    write_config "$2"
    expect_error InvalidRunbook reload
    assert_match "$LAST_ERROR_MESSAGE" "$3" "$1: the error says what is wrong"
    assert_match "$LAST_ERROR_MESSAGE" "previous configuration stays" "$1: the configuration stays"
}
bad_policy "max_sessions 0" '{"retention": {"max_sessions": 0}}' \
    'runbookd\.json: \$\.retention\.max_sessions: must be an integer from 1 to'
bad_policy "max_age_days as a string" '{"retention": {"max_age_days": "30"}}' \
    '\$\.retention\.max_age_days: must be an integer from 1 to 36500 \(days'
bad_policy "an unknown key" '{"retention": {"max_age": 30}}' \
    '\$\.retention\.max_age: unknown key \(allowed: max_age_days, max_sessions\)'
bad_policy "not an object" '{"retention": 30}' '\$\.retention: must be an object'
sleep 1.5
assert_eq "$(list_sessions | jq -r 'length')" 7 "after the refused Reloads every session is still there"

# ---- max_sessions 3: the three older finished sessions go
write_config '{"retention": {"max_sessions": 3}}'
expect_ok "Reload with a retention policy" reload
gone() { ! busctl --system call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" GetSession u "$1" >/dev/null 2>&1; }
wait_gone() { for _ in $(seq 100); do gone "$1" && return 0; sleep 0.1; done; return 1; }
for i in 0 1 2; do
    assert_true "session ${q[$i]} removed" wait_gone "${q[$i]}"
done
expect_error NoSuchSession rb_call "$ALICE" "$MANAGER" "$IFACE_MANAGER" GetSession u "${q[0]}"
expect_error UnknownObject busctl --system get-property "$BUS_NAME" "$(session_path "${q[0]}")" "$IFACE_SESSION" State
expect_error UnknownObject busctl --system get-property "$BUS_NAME" "$(step_path "${q[1]}" 0)" "$IFACE_STEP" State
for i in 3 4 5; do
    assert_eq "$(session_prop "${q[$i]}" State)" succeeded "session ${q[$i]} (among the newest 3) kept"
done
get_output "${q[5]}" 0 && assert_eq "$OUT_STDOUT" hello "a kept session's output is whole"
assert_eq "$(session_prop "$g" State)" waiting_approval "the older session waiting for approval is kept"
expect_ctl_ok "runbookctl list" root list --json=short
assert_eq "$(json_rows <<<"$CTL_OUT" | jq -c '[.[].id] | sort')" \
    "$(printf '%s\n' "$g" "${q[3]}" "${q[4]}" "${q[5]}" | sort -n | jq -cs .)" "runbookctl list shows the kept sessions only"

for i in 0 1 2; do
    assert_true "SessionRemoved(${q[$i]})" \
        seen "map(select(.member == \"SessionRemoved\" and .payload.data[0] == ${q[$i]} and .payload.data[1] == \"$(session_path "${q[$i]}")\")) | length == 1"
done
assert_true "InterfacesRemoved for a removed session" \
    seen "map(select(.member == \"InterfacesRemoved\" and .payload.data[0] == \"$(session_path "${q[0]}")\" and (.payload.data[1] | index(\"$IFACE_SESSION\") != null))) | length == 1"
assert_true "InterfacesRemoved for its steps" \
    seen "map(select(.member == \"InterfacesRemoved\" and .payload.data[0] == \"$(step_path "${q[0]}" 1)\" and (.payload.data[1] | index(\"$IFACE_STEP\") != null))) | length == 1"
assert_true "no SessionRemoved for a kept session" \
    seen "map(select(.member == \"SessionRemoved\" and (.payload.data[0] == $g or .payload.data[0] == ${q[3]}))) | length == 0"

n=$(journal_wait 1 MESSAGE_ID=$PRUNED_ID RUNBOOK_STORE_ID="$STORE_ID")
assert_eq "$n" 1 "one journal record for the batch"
rec=$(journal MESSAGE_ID=$PRUNED_ID RUNBOOK_STORE_ID="$STORE_ID" | tail -n 1)
assert_eq "$(jq -r '.RUNBOOK_PRUNED_COUNT' <<<"$rec")" 3 "it counts 3 sessions"
assert_eq "$(jq -r '.RUNBOOK_PRUNED_SESSIONS | split(" ") | map(tonumber) | sort | map(tostring) | join(",")' <<<"$rec")" \
    "${q[0]},${q[1]},${q[2]}" "it names them"
assert_eq "$(jq -r '.RUNBOOK_PRUNE_REASON' <<<"$rec")" count "and why"
assert_eq "$(jq -r '.RUNBOOK_RETENTION_MAX_SESSIONS' <<<"$rec")" 3 "and the policy"
assert_match "$(jq -r '.MESSAGE' <<<"$rec")" "^\\[RETENTION\\] Removed 3 finished sessions \\(${q[0]}\\.\\.${q[2]}\\) from the store: beyond the newest 3 finished sessions$" \
    "its message"

expect_ctl_ok "audit verify after" root "${JD[@]}" audit verify
assert_match "$CTL_OUT" "^The audit chain is intact: $audit_before records" "the audit chain is intact, with every record"
expect_ctl_ok "audit export" root audit export
assert_true "the removed sessions' audit records are still there" \
    jq -e -s --argjson s "${q[0]}" '[.[] | select(.session == $s) | .event] | index("start") != null and index("end") != null' <<<"$CTL_OUT"

# ---- a restart: the policy written while runbookd was stopped applies at start-up
kill_daemon -TERM
write_config '{"retention": {"max_sessions": 1}}'
start_daemon
for i in 3 4; do
    assert_true "session ${q[$i]} removed after the restart" wait_gone "${q[$i]}"
done
assert_eq "$(session_prop "${q[5]}" State)" succeeded "the newest finished session kept"
assert_eq "$(session_prop "$g" State)" waiting_approval "the waiting session kept"
assert_match "$(cat "$DAEMON_LOG")" "Retention: finished sessions are removed beyond the newest 1\\." "the log says the policy"

# a session that finishes makes room by itself
id=$(start_session "$ALICE" quick "$(ref q7)") || die "StartSession quick failed"
wait_session_state "$id" succeeded
assert_true "session ${q[5]} removed once a newer one finished" wait_gone "${q[5]}"
assert_eq "$(session_prop "$id" State)" succeeded "the newest kept"

# no policy: nothing more goes
write_config '{}'
expect_ok "Reload without a policy" reload
id8=$(start_session "$ALICE" quick "$(ref q8)") || die "StartSession quick failed"
wait_session_state "$id8" succeeded
sleep 2
assert_eq "$(session_prop "$id" State)" succeeded "without a policy, finished sessions are kept"
expect_ctl_ok "audit verify at the end" root "${JD[@]}" audit verify

# a bad policy at start-up: runbookd does not start, and says why
kill_daemon -TERM
write_config '{"retention": {"max_age_days": 0}}'
out=$(timeout 10 "$RUNBOOKD" --config-dir="$CONFIG_DIR" --state-dir="$STATE_DIR" 2>&1 </dev/null); rc=$?
assert_ne "$rc" 0 "runbookd refuses to start with a bad retention policy"
assert_match "$out" '\$\.retention\.max_age_days: must be an integer from 1 to 36500' "and names the key"
finish
