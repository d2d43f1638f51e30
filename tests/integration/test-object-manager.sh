#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (n) ObjectManager: GetManagedObjects lists the session and its steps; InterfacesAdded,
# SessionNew and PropertiesChanged(State) signals are sent (seen with busctl monitor).
# Issue #11 item 8: GetManagedObjects and introspection enumerate active sessions only (bounded
# by max_active_sessions, not by the history); a finished session stays reachable by its path.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

install_runbook scenario
start_daemon

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

R=$(ref n) D="$WORK/n"
id=$(start_session "$ALICE" scenario "$R" dir "$D") || die "StartSession failed"
S=$(session_path "$id")
wait_step_state "$id" 0 waiting_approval

objs=$(busctl --system --json=short call org.runbookd1 "$MANAGER" org.freedesktop.DBus.ObjectManager GetManagedObjects | jq -c '.data[0]')
assert_eq "$(jq -r --arg p "$S" '.[$p]["org.runbookd1.Session"].State.data' <<<"$objs")" waiting_approval \
    "GetManagedObjects has the session with its State"
for i in 0 1 2 3 4; do
    assert_eq "$(jq -r --arg p "$(step_path "$id" "$i")" '.[$p]["org.runbookd1.Step"].Index.data' <<<"$objs")" "$i" \
        "GetManagedObjects has step $i"
done

expect_ok "rbtest-bob approves" rb_call "$BOB" "$S" "$IFACE_SESSION" Approve s ""
wait_step_state "$id" 2 waiting_approval
seen() { # jq filter over the monitor's messages
    for _ in $(seq 50); do
        jq -e -s "$1" "$MON" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}
assert_true "SessionNew($id) signal" seen "map(select(.member == \"SessionNew\" and .payload.data[0] == $id)) | length > 0"
assert_true "InterfacesAdded for the session" \
    seen "map(select(.member == \"InterfacesAdded\" and .payload.data[0] == \"$S\")) | length > 0"
assert_true "PropertiesChanged with State=running for the session" \
    seen "map(select(.member == \"PropertiesChanged\" and .path == \"$S\" and .payload.data[0] == \"org.runbookd1.Session\" and (.payload.data[1].State.data == \"running\" or (.payload.data[2] | index(\"State\") != null)))) | length > 0"
assert_true "PropertiesChanged with State for step 0" \
    seen "map(select(.member == \"PropertiesChanged\" and .path == \"$(step_path "$id" 0)\" and (.payload.data[1].State != null or (.payload.data[2] | index(\"State\") != null)))) | length > 0"

# ---- a finished session leaves the enumeration, not the bus
id2=$(start_session "$ALICE" scenario "$(ref n2)" dir "$WORK/n2") || die "StartSession failed"
wait_step_state "$id2" 0 waiting_approval
expect_ok "rbtest-bob rejects session $id2" rb_call "$BOB" "$(session_path "$id2")" "$IFACE_SESSION" Reject s "no"
wait_session_state "$id2" rejected
objs=$(busctl --system --json=short call org.runbookd1 "$MANAGER" org.freedesktop.DBus.ObjectManager GetManagedObjects | jq -c '.data[0]')
assert_eq "$(jq -r --arg p "$S" '.[$p]["org.runbookd1.Session"].State.data' <<<"$objs")" waiting_approval \
    "GetManagedObjects still has the active session"
assert_eq "$(jq -r --arg p "$(session_path "$id2")" 'has($p)' <<<"$objs")" false "GetManagedObjects leaves out the finished session"
assert_eq "$(jq -r --arg p "$(session_path "$id2")/" '[keys[] | select(startswith($p))] | length' <<<"$objs")" 0 \
    "… and its steps"
nodes=$(busctl --system --xml-interface introspect org.runbookd1 /org/runbookd1/session | grep -o '<node name="[0-9]*"' | grep -o '[0-9]*' | paste -sd,)
assert_eq "$nodes" "$id" "introspection lists the active session only"
assert_eq "$(session_prop "$id2" State)" rejected "the finished session is still reachable by its path"
assert_eq "$(step_prop "$id2" 0 State)" rejected "… and so are its steps"
finish
