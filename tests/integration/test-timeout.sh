#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (g) A step with "timeout": 1 running sleep 60 ends timed_out, the session failed, the rest
# skipped, and its processes are gone.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

install_runbook timeout
start_daemon

R=$(ref g) D="$WORK/g"; mkdir -p "$D"
id=$(start_session "$ALICE" timeout "$R" dir "$D") || die "StartSession failed"
assert_eq "$(step_prop "$id" 0 Timeout)" 1000000 "Timeout is 1 s in usec"
wait_step_state "$id" 0 timed_out 15
wait_session_state "$id" failed
assert_eq "$(step_prop "$id" 1 State)" skipped "step 1 skipped"
assert_true "the step had started" test -e "$D/started.marker"
assert_false "the next step did not run" test -e "$D/after.marker"
assert_ne "$(step_prop "$id" 0 Error)" "" "step Error says why"
assert_ne "$(session_prop "$id" Error)" "" "session Error says why"
d=$(( $(step_prop "$id" 0 FinishedAt) - $(step_prop "$id" 0 StartedAt) ))
assert_true "the step was stopped after about 1 s (took ${d} usec)" test "$d" -ge 900000 -a "$d" -lt 10000000
gone=0
for _ in $(seq 50); do [ "$(pgrep -f -- "$D" | wc -l)" = 0 ] && { gone=1; break; }; sleep 0.1; done
assert_eq "$gone" 1 "the step's processes are gone"
journal_wait 1 RUNBOOK_REFERENCE="$R" RUNBOOK_STEP=0 MESSAGE_ID=d10897ff38f94074bd229f5f81ebcead >/dev/null
assert_match "$(journal_messages RUNBOOK_REFERENCE="$R" RUNBOOK_STEP=0 MESSAGE_ID=d10897ff38f94074bd229f5f81ebcead)" \
    '^\[EXECUTE_STEP\] Command execution result: success=false ' "result record says success=false"
finish
