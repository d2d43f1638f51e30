#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The ssh connection pool: two consecutive steps on one target share a connection
# (RUNBOOK_CONNECTION new, then reused); when the server goes away between two steps (sshd and
# every connection it served are stopped, then sshd is started again on the same port), the next
# step still succeeds on a new connection: the pool noticed the dead one and replaced it.
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
finish
