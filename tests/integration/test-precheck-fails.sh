#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (l) A failed precheck stops the session before any main step: main and post steps skipped.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

install_runbook failing-precheck
start_daemon

R=$(ref l) D="$WORK/l"; mkdir -p "$D"
id=$(start_session "$ALICE" failing-precheck "$R" dir "$D") || die "StartSession failed"
wait_session_state "$id" failed
assert_eq "$(step_prop "$id" 0 State)" succeeded "precheck 0 succeeded"
assert_eq "$(step_prop "$id" 1 State)" failed "precheck 1 failed"
assert_eq "$(step_prop "$id" 1 ExitStatus)" 3 "precheck 1 ExitStatus 3"
assert_eq "$(step_prop "$id" 2 State)" skipped "main step skipped"
assert_eq "$(step_prop "$id" 3 State)" skipped "postcheck skipped"
assert_true "precheck 0 ran" test -e "$D/precheck-ok.marker"
assert_false "the main step did not run" test -e "$D/main.marker"
assert_false "the postcheck did not run" test -e "$D/post.marker"
get_output "$id" 1
assert_eq "$OUT_STDOUT" failing "the failed precheck's output is kept"
assert_ne "$(session_prop "$id" Error)" "" "session Error says why"
journal_wait 1 RUNBOOK_REFERENCE="$R" RUNBOOK_STEP=1 MESSAGE_ID=d10897ff38f94074bd229f5f81ebcead >/dev/null
assert_match "$(journal_messages RUNBOOK_REFERENCE="$R" RUNBOOK_STEP=1 MESSAGE_ID=d10897ff38f94074bd229f5f81ebcead)" \
    '^\[EXECUTE_STEP\] Command execution result: success=false exit_status=3 duration=' "result record of the failed precheck"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" RUNBOOK_STEP=2 MESSAGE_ID=fd9028b438a94f4c97a33efef9210e60 | wc -l)" 0 "no execution record for the main step"
finish
