#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (a) The product scenario: rbtest-alice starts a session whose precheck needs approval; it waits
# at step 0; rbtest-bob approves; the session runs on through approval-none steps and stops at
# the next approval-required step; rbtest-carol approves (on the Step object); postchecks pass;
# the session succeeds; the journal holds the [EXECUTE_STEP] records and the session/approval
# records with their MESSAGE_IDs and fields (docs/journal.md).
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

install_runbook scenario
start_daemon

R=$(ref a) D="$WORK/a"
id=$(start_session "$ALICE" scenario "$R" dir "$D") || die "StartSession failed"
assert_match "$id" '^[0-9]+$' "StartSession returns a session id"
S=$(session_path "$id")
assert_eq "$(rb root --json=short call org.runbookd1 "$MANAGER" "$IFACE_MANAGER" GetSession u "$id" | jq -r '.data[0]')" \
    "$S" "GetSession returns the session's path"

wait_step_state "$id" 0 waiting_approval
wait_session_state "$id" waiting_approval
assert_eq "$(session_prop "$id" CurrentStep)" 0 "CurrentStep is 0"
assert_eq "$(session_prop "$id" Id)" "$id" "Id"
assert_eq "$(session_prop "$id" Runbook)" scenario "Runbook"
assert_eq "$(session_prop "$id" Reference)" "$R" "Reference"
assert_eq "$(session_prop "$id" CreatedBy)" "$ALICE" "CreatedBy"
assert_eq "$(session_prop "$id" CreatedByUid)" "$(id -u "$ALICE")" "CreatedByUid"
assert_eq "$(session_prop "$id" Parameters)" "{\"dir\":\"$D\"}" "Parameters"
assert_eq "$(session_prop "$id" Steps | jq -r 'length')" 5 "Steps lists 5 step objects"
assert_eq "$(session_prop "$id" Steps | jq -r '.[4]')" "$(step_path "$id" 4)" "Steps[4] path"
assert_match "$(session_prop "$id" CreatedAt)" '^[1-9][0-9]{15}$' "CreatedAt is a realtime usec timestamp"
assert_eq "$(session_prop "$id" FinishedAt)" 0 "FinishedAt is 0 while running"

assert_eq "$(step_prop "$id" 0 Name)" "check dir" "step 0 Name"
assert_eq "$(step_prop "$id" 0 Phase)" precheck "step 0 Phase"
assert_eq "$(step_prop "$id" 1 Phase)" main "step 1 Phase"
assert_eq "$(step_prop "$id" 3 Phase)" postcheck "step 3 Phase"
assert_eq "$(step_prop "$id" 0 Command)" "mkdir -p '$D' && echo precheck >> '$D'/precheck.marker" \
    "step 0 Command has the parameter substituted, shell-quoted"
assert_eq "$(step_prop "$id" 0 Connector)" local "step 0 Connector"
assert_eq "$(step_prop "$id" 0 Target)" local "step 0 Target"
assert_eq "$(step_prop "$id" 0 RequiresApproval)" true "step 0 RequiresApproval"
assert_eq "$(step_prop "$id" 1 RequiresApproval)" false "step 1 (approval none) RequiresApproval"
assert_eq "$(step_prop "$id" 0 ApprovalsRequired)" 1 "step 0 ApprovalsRequired"
assert_eq "$(step_prop "$id" 0 Approvals)" "[]" "no approvals yet"
assert_eq "$(step_prop "$id" 0 Attempt)" 1 "step 0 Attempt"
assert_eq "$(step_prop "$id" 0 ExitStatus)" -1 "step 0 ExitStatus -1 before it ran"
assert_eq "$(step_prop "$id" 0 Timeout)" 600000000 "step 0 default Timeout 600 s"
assert_match "$(step_prop "$id" 0 Digest)" '^[0-9a-f]{64}$' "step 0 Digest is hex SHA-256"
for i in 1 2 3 4; do assert_eq "$(step_prop "$id" "$i" State)" pending "step $i pending"; done
assert_false "nothing ran before the approval" test -e "$D"

pending=$(rb root --json=short call org.runbookd1 "$MANAGER" "$IFACE_MANAGER" ListPendingApprovals |
          jq -c --argjson id "$id" '[.data[0][] | select(.[0] == $id)]')
assert_eq "$(jq -r 'length' <<<"$pending")" 1 "ListPendingApprovals lists the waiting step"
assert_eq "$(jq -r '.[0] | [.[1], .[2], .[3], .[4], .[5], .[9], .[11], .[12], .[13]] | map(tostring) | join("|")' <<<"$pending")" \
    "0|scenario|$R|check dir|precheck|$ALICE|0|1|$(step_path "$id" 0)" "ListPendingApprovals entry fields"

# --- bob approves step 0 (on the Session object)
digest0=$(step_prop "$id" 0 Digest)
expect_ok "rbtest-bob approves step 0" rb_call "$BOB" "$S" "$IFACE_SESSION" Approve s "precheck ok"
wait_step_state "$id" 2 waiting_approval 20
wait_session_state "$id" waiting_approval
assert_eq "$(session_prop "$id" CurrentStep)" 2 "CurrentStep is 2"
assert_eq "$(step_prop "$id" 0 State)" succeeded "step 0 succeeded"
assert_eq "$(step_prop "$id" 1 State)" succeeded "step 1 (approval none) ran on its own"
assert_eq "$(cat "$D/precheck.marker" 2>/dev/null)" precheck "step 0's command ran (marker)"
assert_eq "$(cat "$D/prepare.marker" 2>/dev/null)" prepare "step 1's command ran (marker)"
assert_false "step 2 did not run before its approval" test -e "$D/change.marker"
assert_eq "$(step_prop "$id" 0 ExitStatus)" 0 "step 0 ExitStatus 0"
a=$(step_prop "$id" 0 Approvals)
assert_eq "$(jq -r 'length' <<<"$a")" 1 "step 0 has one approval"
assert_eq "$(jq -r '.[0] | [.[0], .[1], .[2], .[4], .[5]] | map(tostring) | join("|")' <<<"$a")" \
    "$(id -u "$BOB")|$BOB|approve|precheck ok|$digest0" "approval records uid, user, decision, comment, digest"
assert_match "$(jq -r '.[0][3]' <<<"$a")" '^[1-9][0-9]{15}$' "approval time"
started=$(step_prop "$id" 0 StartedAt) finished=$(step_prop "$id" 0 FinishedAt)
assert_true "step 0 StartedAt <= FinishedAt, both set" test "$started" -gt 0 -a "$finished" -ge "$started"

# --- carol approves step 2 (on the Step object)
expect_ok "rbtest-carol approves step 2" rb_call "$CAROL" "$(step_path "$id" 2)" "$IFACE_STEP" Approve s "go"
wait_session_state "$id" succeeded 20
for i in 0 1 2 3 4; do assert_eq "$(step_prop "$id" "$i" State)" succeeded "step $i succeeded"; done
assert_eq "$(cat "$D/change.marker" 2>/dev/null)" change "step 2's command ran once"
assert_eq "$(session_prop "$id" Error)" "" "session Error is empty"
assert_true "FinishedAt set" test "$(session_prop "$id" FinishedAt)" -gt 0
get_output "$id" 4
assert_eq "$OUT_STDOUT" "$(printf 'precheck\nprepare\nchange')" "GetOutput of the report step"
assert_eq "$OUT_TRUNCATED" false "output not truncated"
ls_entry=$(list_sessions | jq -c --argjson id "$id" '.[] | select(.[0] == $id)')
assert_eq "$(jq -r '[.[1], .[2], .[3], .[5], .[6]] | map(tostring) | join("|")' <<<"$ls_entry")" \
    "scenario|$R|succeeded|$(id -u "$ALICE")|$ALICE" "ListSessions entry"

# --- the journal
names=("check dir" prepare change verify report)
n=$(journal_wait 19 RUNBOOK_REFERENCE="$R")
assert_eq "$n" 19 "19 journal records for the session (5 steps x 3, start, end, 2 approvals)"
for i in 0 1 2 3 4; do
    msgs=$(journal_messages RUNBOOK_REFERENCE="$R" RUNBOOK_SESSION="$id" RUNBOOK_STEP="$i")
    assert_true "step $i: 'Starting execution' record" grep -qFx "[EXECUTE_STEP] Starting execution of step $i (${names[$i]}) in session $id" <<<"$msgs"
    assert_true "step $i: 'Executing command' record" grep -qFx "[EXECUTE_STEP] Executing command via connector local on local" <<<"$msgs"
    assert_true "step $i: 'Command execution result' record" grep -qE '^\[EXECUTE_STEP\] Command execution result: success=true exit_status=0 duration=[0-9]+(\.[0-9]+)?s$' <<<"$msgs"
    for mid in 3c8a86b9f3ac4bb88c1ad836d792a56c fd9028b438a94f4c97a33efef9210e60 d10897ff38f94074bd229f5f81ebcead; do
        assert_eq "$(journal RUNBOOK_REFERENCE="$R" RUNBOOK_SESSION="$id" RUNBOOK_STEP="$i" MESSAGE_ID="$mid" | wc -l)" 1 \
            "step $i: one record with MESSAGE_ID=$mid"
    done
    r=$(journal RUNBOOK_REFERENCE="$R" RUNBOOK_STEP="$i" MESSAGE_ID=d10897ff38f94074bd229f5f81ebcead | tail -n 1)
    assert_eq "$(jq -r '[.RUNBOOK_SESSION, .RUNBOOK_STEP_NAME, .RUNBOOK_NAME, .RUNBOOK_CONNECTOR, .RUNBOOK_TARGET, .RUNBOOK_EXIT_STATUS, .RUNBOOK_DIGEST] | join("|")' <<<"$r")" \
        "$id|${names[$i]}|scenario|local|local|0|$(step_prop "$id" "$i" Digest)" "step $i: result record fields"
done
r=$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=0232a82f77944788b46451e08b6eadf6)
assert_eq "$(jq -r '.MESSAGE' <<<"$r")" "[SESSION_START] Session $id started from runbook scenario by $ALICE" "session start record"
assert_eq "$(jq -r '.RUNBOOK_CREATOR_UID' <<<"$r")" "$(id -u "$ALICE")" "session start RUNBOOK_CREATOR_UID"
r=$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=6719122ff9d54508a2e3b8610b273926)
assert_eq "$(jq -r '.MESSAGE' <<<"$r")" "[SESSION_END] Session $id finished: succeeded" "session end record"
assert_eq "$(jq -r '.RUNBOOK_SESSION_STATE' <<<"$r")" succeeded "session end RUNBOOK_SESSION_STATE"
r=$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=8de48586e7594676831e72346ec10213)
assert_eq "$(jq -r '.MESSAGE' <<<"$r" | head -n 1)" "[APPROVE_STEP] Step 0 (check dir) in session $id approved by $BOB (1/1)" "approval record of step 0"
assert_eq "$(jq -r '.RUNBOOK_APPROVER_UID' <<<"$r" | paste -sd,)" "$(id -u "$BOB"),$(id -u "$CAROL")" "approval records' RUNBOOK_APPROVER_UID"
assert_eq "$(jq -r '.RUNBOOK_COMMENT' <<<"$r" | head -n 1)" "precheck ok" "approval record RUNBOOK_COMMENT"

finish
