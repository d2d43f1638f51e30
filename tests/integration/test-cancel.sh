#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (f) Cancel during a running step (a shell with two background sleeps): the session ends
# cancelled, the step cancelled, the rest skipped, and the step's whole process group is gone.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

install_runbook long-running
start_daemon

R=$(ref f) D="$WORK/f"; mkdir -p "$D"
id=$(start_session "$ALICE" long-running "$R" dir "$D") || die "StartSession failed"
wait_step_state "$id" 0 running
for _ in $(seq 100); do [ -e "$D/started.marker" ] && break; sleep 0.1; done
assert_true "the step started" test -e "$D/started.marker"
# the shell and its two background sleeps, once all three are there
pid="" pgid=""
for _ in $(seq 100); do
    pid=$(pgrep -f -- "$D" | head -n 1)
    [ -n "$pid" ] && pgid=$(ps -o pgid= -p "$pid" | tr -d ' ')
    [ -n "$pgid" ] && [ "$(pgrep -g "$pgid" | wc -l)" -ge 3 ] && break
    sleep 0.1
done
[ -n "$pid" ] || die "no process of the step found (pgrep -f $D)"
assert_ne "$pgid" "$(ps -o pgid= -p "$DAEMON_PID" | tr -d ' ')" "the step runs in a process group of its own"
assert_true "the step's group has the shell and its two sleeps" test "$(pgrep -g "$pgid" | wc -l)" -ge 3

expect_ok "rbtest-alice cancels" rb_call "$ALICE" "$(session_path "$id")" "$IFACE_SESSION" Cancel
wait_session_state "$id" cancelled
assert_eq "$(step_prop "$id" 0 State)" cancelled "step 0 cancelled"
assert_eq "$(step_prop "$id" 1 State)" skipped "step 1 skipped"
gone=0
for _ in $(seq 100); do pgrep -g "$pgid" >/dev/null || { gone=1; break; }; sleep 0.1; done
assert_eq "$gone" 1 "the step's whole process group is gone"
assert_eq "$(pgrep -f -- "$D" | wc -l)" 0 "no process mentions the step's marker argument"
assert_false "the next step did not run" test -e "$D/after.marker"
r=$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=68de450d136e446294a323c48625095e)
assert_eq "$(jq -r '.MESSAGE' <<<"$r")" "[CANCEL_SESSION] Session $id cancelled by $ALICE" "cancel record"
assert_eq "$(jq -r '.RUNBOOK_CANCELLER_UID' <<<"$r")" "$(id -u "$ALICE")" "cancel record RUNBOOK_CANCELLER_UID"
journal_wait 1 RUNBOOK_REFERENCE="$R" MESSAGE_ID=6719122ff9d54508a2e3b8610b273926 >/dev/null
assert_eq "$(journal_messages RUNBOOK_REFERENCE="$R" MESSAGE_ID=6719122ff9d54508a2e3b8610b273926)" \
    "[SESSION_END] Session $id finished: cancelled (cancelled by $ALICE)" "session end record, with the reason"
expect_error SessionFinished rb_call "$ALICE" "$(session_path "$id")" "$IFACE_SESSION" Cancel
finish
