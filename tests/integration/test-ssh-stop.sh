#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Timeout and cancel of an ssh step stop the remote command, not only the channel: the remote
# shell's whole process group (the shell and its two background sleeps) is gone afterwards,
# checked with pgrep on the host (the testbed's sshd is local). A command that ignores SIGTERM
# is killed with SIGKILL after the grace period. The connection stays usable: the next step
# reuses it.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

require_sshd
write_ssh_target web
D1="$WORK/timeout" D2="$WORK/cancel" D3="$WORK/termproof"
mkdir -p "$D1" "$D2" "$D3"
cmd() { echo "echo started > $1/started; sleep 300 & sleep 300 & wait; echo $1 > /dev/null"; }
write_ssh_runbook st-cancel web "$(cmd "$D2")" 'echo after'
jq -n --arg c "$(cmd "$D1")" '{target: "web", steps: [{name: "slow", run: $c, timeout: 2, approval: "none"}]}' \
    > "$CONFIG_DIR/runbooks/st-timeout.json"
jq -n --arg c "trap '' TERM; echo started > $D3/started; sleep 300; echo $D3 > /dev/null" \
    '{target: "web", steps: [{name: "stubborn", run: $c, timeout: 1, approval: "none"}]}' \
    > "$CONFIG_DIR/runbooks/st-termproof.json"
write_ssh_runbook st-next web 'echo next'
start_daemon

# remote_group DIR: the process group of the remote shell whose command line mentions DIR
remote_group() {
    local pid
    wait_file "$1/started" 15 || { echo ""; return; }
    sleep 0.3
    pid=$(pgrep -f -- "$1" | head -n 1)
    [ -n "$pid" ] && ps -o pgid= -p "$pid" | tr -d ' '
}
# check_gone DIR PGID WHAT
check_gone() {
    local gone=0
    for _ in $(seq 100); do pgrep -g "$2" >/dev/null || { gone=1; break; }; sleep 0.1; done
    assert_eq "$gone" 1 "$3: the remote process group $2 is gone"
    assert_true "$3: no process mentions the marker argument" wait_gone "$1" 5
}

# timeout (TERM)
R=$(ref timeout)
id=$(start_session "$ALICE" st-timeout "$R") || die "StartSession failed"
pg=$(remote_group "$D1")
[ -n "$pg" ] || die "the remote command did not start"
assert_true "timeout: the remote group has the shell and two sleeps" test "$(pgrep -g "$pg" | wc -l)" -ge 3
assert_ne "$pg" "$(ps -o pgid= -p "$DAEMON_PID" | tr -d ' ')" "the remote command is not in the daemon's group"
wait_step_state "$id" 0 timed_out 20
check_gone "$D1" "$pg" timeout
assert_match "$(step_prop "$id" 0 Error)" "timed out after 2s" "timeout: Error says so"
assert_eq "$(step_result "$R" 0 RUNBOOK_SIGNAL)" 15 "timeout: the remote shell ended by SIGTERM"

# cancel
R=$(ref cancel)
id=$(start_session "$ALICE" st-cancel "$R") || die "StartSession failed"
pg=$(remote_group "$D2")
[ -n "$pg" ] || die "the remote command did not start"
expect_ok "rbtest-alice cancels" rb_call "$ALICE" "$(session_path "$id")" "$IFACE_SESSION" Cancel
wait_session_state "$id" cancelled 20
assert_eq "$(step_prop "$id" 0 State)" cancelled "cancel: step 0 cancelled"
assert_eq "$(step_prop "$id" 1 State)" skipped "cancel: step 1 skipped"
check_gone "$D2" "$pg" cancel

# a command that ignores SIGTERM: SIGKILL after the grace period (5 s)
R=$(ref termproof)
id=$(start_session "$ALICE" st-termproof "$R") || die "StartSession failed"
pg=$(remote_group "$D3")
[ -n "$pg" ] || die "the remote command did not start"
wait_step_state "$id" 0 timed_out 20
check_gone "$D3" "$pg" "TERM-proof command"
assert_eq "$(step_result "$R" 0 RUNBOOK_SIGNAL)" 9 "TERM-proof command: ended by SIGKILL"
d=$(( $(step_prop "$id" 0 FinishedAt) - $(step_prop "$id" 0 StartedAt) ))
assert_true "TERM-proof command: stopped after timeout + grace (${d} usec)" test "$d" -ge 5500000 -a "$d" -lt 15000000

# the connection survived all that
R=$(ref next)
id=$(start_session "$ALICE" st-next "$R") || die "StartSession failed"
wait_session_state "$id" succeeded 20
assert_eq "$(step_result "$R" 0 RUNBOOK_CONNECTION)" reused "the next step reuses the connection"
finish
