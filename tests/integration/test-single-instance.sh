#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One runbookd per state directory (#16, item 3). LMDB lets any number of processes open a store;
# a second runbookd on it would take the first one's running steps for leftovers of a crash, mark
# them interrupted, and could start approved steps twice. runbookd locks STATE/runbookd.lock
# before it reads anything: a second instance, started by hand on the same directory while a
# step runs and another session waits for approval, exits with status 1 and an error naming the
# first one's PID, and changes nothing: not a byte of the store, not the lock file, not the
# running step (which ends succeeded, recorded once), not the waiting session. Once the first
# instance is gone (even by SIGKILL: the lock dies with the process), a new one starts.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

D="$WORK/single"; mkdir -p "$D"; chmod 777 "$D"
write_runbook slow <<JSON
{ "steps": [ { "name": "slow", "run": "touch $D/started; sleep 3; echo done", "approval": "none" } ] }
JSON
write_runbook gated <<'JSON'
{ "steps": [ { "name": "gate", "run": "true" } ] }
JSON
start_daemon
first=$DAEMON_PID
assert_eq "$(cat "$STATE_DIR/runbookd.lock")" "$first" "the lock file names the running instance"

R=$(ref slow)
slow=$(start_session "$ALICE" slow "$R") || die "StartSession failed"
gated=$(start_session "$ALICE" gated "$(ref gated)") || die "StartSession failed"
wait_file "$D/started" 10 || die "the step did not start"
wait_session_state "$gated" waiting_approval 10
sha_before=$(sha256sum "$STATE_DIR"/data.mdb "$STATE_DIR/runbookd.lock" | awk '{print $1}')

# a second instance on the same state directory, as a person would start it
( _set_loginuid none; exec "$RUNBOOKD" --config-dir="$CONFIG_DIR" --state-dir="$STATE_DIR" ) \
    </dev/null >"$T/second.out" 2>"$T/second.err"
rc=$?
note "second instance: status $rc: $(tr '\n' ' ' < "$T/second.err")"
assert_eq "$rc" 1 "the second instance exits with status 1"
assert_true "its error names the state directory and the holder's PID ($first)" \
    grep -qF "The state directory '$STATE_DIR' is in use by another process (PID $first holds $STATE_DIR/runbookd.lock)" \
    "$T/second.err"
assert_eq "$(sha256sum "$STATE_DIR"/data.mdb "$STATE_DIR/runbookd.lock" | awk '{print $1}')" "$sha_before" \
    "the store and the lock file are unchanged, byte for byte"
assert_eq "$(step_prop "$slow" 0 State)" running "the first instance's step still runs"
wait_session_state "$slow" succeeded 15
assert_eq "$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_STEP_RESULT | wc -l)" 1 "its result is recorded once"
assert_eq "$(session_prop "$gated" State)" waiting_approval "the waiting session still waits"

# the lock ends with its process, however it ends
kill_daemon -9
start_daemon
assert_eq "$(cat "$STATE_DIR/runbookd.lock")" "$DAEMON_PID" "after SIGKILL of the first, a new instance starts and holds the lock"
assert_eq "$(session_prop "$gated" State)" waiting_approval "and finds the waiting session as it was"
finish
