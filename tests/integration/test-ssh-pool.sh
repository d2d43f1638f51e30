#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The ssh connection pool: two consecutive steps on one target share a connection
# (RUNBOOK_CONNECTION new, then reused); when the server goes away between two steps (sshd and
# every connection it served are stopped, then sshd is started again on the same port), the next
# step still succeeds on a new connection: the pool noticed the dead one and replaced it.
# "ssh_max_idle_connections" bounds the idle connections over all targets: after a step on a
# group of 8 (8 endpoints of the one sshd) with room for 3, runbookd holds exactly 3 connections
# to the server; a Reload that lowers it to 1 closes the other two at once.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

require_sshd
write_ssh_target web
jq -n '{target: "web", steps: [
        {name: "one", run: "echo one", approval: "none"},
        {name: "two", run: "echo two", approval: "none"},
        {name: "three", run: "echo three"}]}' > "$CONFIG_DIR/runbooks/pool.json"
start_daemon

R=$(ref pool)
id=$(start_session "$ALICE" pool "$R") || die "StartSession failed"
wait_step_state "$id" 2 waiting_approval 30
assert_eq "$(step_result "$R" 0 RUNBOOK_CONNECTION)" new "step 0: a new connection"
assert_eq "$(step_result "$R" 1 RUNBOOK_CONNECTION)" reused "step 1: the same connection, reused"
conns=$(grep -c 'opening a new connection' "$DAEMON_LOG")
assert_eq "$conns" 1 "one connection so far"

bash "$SOURCE_ROOT/tests/testbed.sh" sshd-stop "$TESTBED_DIR" || die "sshd-stop failed"
assert_false "no sshd process of the testbed is left" pgrep -f -- "$TESTBED_DIR/ssh/sshd_config"
bash "$SOURCE_ROOT/tests/testbed.sh" sshd-start "$TESTBED_DIR" || die "sshd-start failed"

expect_ok "rbtest-bob approves step 2" rb_call "$BOB" "$(step_path "$id" 2)" "$IFACE_STEP" Approve s "go"
wait_session_state "$id" succeeded 30
get_output "$id" 2
assert_eq "$OUT_STDOUT" three "step 2 ran after the server came back"
assert_eq "$(step_result "$R" 2 RUNBOOK_CONNECTION)" new "step 2: a new connection replaced the dead one"
assert_eq "$(grep -c 'opening a new connection' "$DAEMON_LOG")" 2 "exactly one more connection"

# ---- the bound over all targets
# established TCP connections of runbookd to the testbed's sshd (its sockets in /proc/net/tcp*)
daemon_conns() {
    local inodes
    inodes=$(find "/proc/$DAEMON_PID/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n' | sort -u | paste -sd' ')
    awk -v port="$(printf '%04X' "$TESTBED_SSH_PORT")" -v inodes=" $inodes " \
        'FNR > 1 && $4 == "01" && substr($3, length($3) - 3) == port && index(inodes, " " $10 " ") {n++} END {print n + 0}' \
        /proc/net/tcp /proc/net/tcp6
}
wait_conns() { # N: until runbookd holds N connections to the server (10 s)
    local i
    for i in $(seq 100); do [ "$(daemon_conns)" = "$1" ] && return 0; sleep 0.1; done
    return 1
}
assert_eq "$(daemon_conns)" 1 "before: runbookd holds one connection (web's, idle)"
members=()
for i in 1 2 3 4 5 6 7 8; do
    cp "$TESTBED_SSH_KNOWN_HOSTS" "$WORK/known_hosts.$i"   # an endpoint of its own
    write_ssh_target "h$i" ".known_hosts = \"$WORK/known_hosts.$i\""
    members+=("h$i")
done
printf '%s\n' "${members[@]}" | jq -R . | jq -s '{group: ., max_concurrency: 8}' > "$CONFIG_DIR/targets/eight.json"
jq -n '{target: "eight", steps: [{name: "all", run: "true", approval: "none"}]}' > "$CONFIG_DIR/runbooks/eight.json"
write_config '{"ssh_max_idle_connections": 3}'
expect_ok "Reload (ssh_max_idle_connections 3)" rb_call root "$MANAGER" "$IFACE_MANAGER" Reload
R2=$(ref eight)
id2=$(start_session "$ALICE" eight "$R2") || die "StartSession failed"
wait_session_state "$id2" succeeded 30
assert_eq "$(busctl --system --json=short get-property "$BUS_NAME" "$(step_path "$id2" 0)" "$IFACE_STEP" Results |
             jq '[.data[] | select(.[1] == "succeeded")] | length')" 8 "all 8 hosts succeeded"
assert_eq "$(grep -c 'opening a new connection' "$DAEMON_LOG")" 10 "8 more connections, one a host"
assert_true "after the group step runbookd holds 3 connections" wait_conns 3
write_config '{"ssh_max_idle_connections": 1}'
expect_ok "Reload (ssh_max_idle_connections 1)" rb_call root "$MANAGER" "$IFACE_MANAGER" Reload
assert_true "lowered to 1: runbookd holds 1 connection" wait_conns 1
finish
