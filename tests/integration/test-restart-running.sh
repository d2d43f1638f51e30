#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (j) kill -9 of runbookd while a step runs: after the restart the step and the session are
# interrupted and the command was not re-run; Retry re-arms it behind a fresh approval
# (attempt 2); approving runs it.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

install_runbook long-running
start_daemon

R=$(ref j) D="$WORK/j"; mkdir -p "$D"
id=$(start_session "$ALICE" long-running "$R" dir "$D") || die "StartSession failed"
S=$(session_path "$id")
wait_step_state "$id" 0 running
for _ in $(seq 100); do [ -e "$D/started.marker" ] && break; sleep 0.1; done
assert_eq "$(count_lines "$D/started.marker")" 1 "the step started once"

kill_daemon -9
# the step's processes outlive a SIGKILLed daemon: stop them, as an operator would
kill_matching "$D"
start_daemon
wait_step_state "$id" 0 interrupted
wait_session_state "$id" interrupted
assert_eq "$(step_prop "$id" 1 State)" pending "step 1 still pending"
sleep 1
assert_eq "$(count_lines "$D/started.marker")" 1 "the command was not re-run"
journal_wait 1 RUNBOOK_REFERENCE="$R" MESSAGE_ID=44c4248056ef4869899ae04e41ff63fc >/dev/null
assert_eq "$(journal_messages RUNBOOK_REFERENCE="$R" MESSAGE_ID=44c4248056ef4869899ae04e41ff63fc)" \
    "[INTERRUPT_STEP] Step 0 (long) in session $id was running when runbookd stopped; not re-run" "interrupt record"

expect_error NotWaitingApproval rb_call "$BOB" "$S" "$IFACE_SESSION" Approve s "no"
expect_error AccessDenied rb_call "$MALLORY" "$S" "$IFACE_SESSION" Retry
touch "$D/fast"     # the re-run finishes at once
expect_ok "rbtest-alice retries" rb_call "$ALICE" "$S" "$IFACE_SESSION" Retry
wait_step_state "$id" 0 waiting_approval
wait_session_state "$id" waiting_approval
assert_eq "$(step_prop "$id" 0 Attempt)" 2 "attempt 2"
assert_eq "$(count_lines "$D/started.marker")" 1 "Retry alone runs nothing"
journal_wait 1 RUNBOOK_REFERENCE="$R" MESSAGE_ID=35c0c94d05044b4ea1b3dbc16104fdd5 >/dev/null
assert_eq "$(journal_messages RUNBOOK_REFERENCE="$R" MESSAGE_ID=35c0c94d05044b4ea1b3dbc16104fdd5)" \
    "[RETRY_STEP] Step 0 (long) in session $id re-armed for attempt 2 by $ALICE" "retry record"
expect_error NotInterrupted rb_call "$ALICE" "$S" "$IFACE_SESSION" Retry

expect_ok "rbtest-bob approves the retry" rb_call "$BOB" "$S" "$IFACE_SESSION" Approve s "retry ok"
wait_session_state "$id" succeeded
assert_eq "$(count_lines "$D/started.marker")" 2 "the step ran a second time"
assert_eq "$(count_lines "$D/after.marker")" 1 "the next step ran"
finish
