#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Conditions (issue #13): a step whose "when" is false is skipped when reached — no approval asked,
# nothing run — with a [SKIP_STEP] record of the expression and the values it saw; a true one
# runs; one that cannot be evaluated fails its step instead of guessing.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_runbookctl

write_runbook conditional <<'JSON'
{
  "parameters": { "dir": { "pattern": "^/[A-Za-z0-9/._-]+$" }, "env": { "default": "staging" } },
  "prechecks": [ { "id": "current", "name": "current version", "run": "echo 2.4.1", "approval": "none",
                   "capture": { "version": { "line": 1 } } } ],
  "steps": [
    { "name": "upgrade", "run": "touch {{dir}}/upgrade", "when": "{{steps.current.version}} != '2.4.1'" },
    { "name": "notify", "run": "touch {{dir}}/notify", "approval": "none",
      "when": "{{steps.current.exit_status}} == 0 && {{env}} =~ '^(staging|prod)$'" },
    { "name": "compare", "run": "touch {{dir}}/compare", "approval": "none", "when": "{{steps.current.version}} >= 3" } ]
}
JSON
write_runbook broken-when <<'JSON'
{ "steps": [ { "name": "x", "run": "true", "when": "({{nope}} == 1" } ] }
JSON
start_daemon
MSG_SKIPPED=$(sed -n 's/.*RUNBOOK_MESSAGE_STEP_SKIPPED_STR *"\([0-9a-f]*\)".*/\1/p' "$SOURCE_ROOT/src/journal/catalog-ids.h")

R=$(ref w1) D="$WORK/w1"; mkdir -p "$D"; chmod 777 "$D"
id=$(start_session "$ALICE" conditional "$R" dir "$D") || die "StartSession failed"
wait_session_state "$id" failed
assert_eq "$(step_prop "$id" 1 State)" skipped "a false condition skips the step"
assert_eq "$(step_prop "$id" 1 Decisions)" "[]" "no approval was asked for it"
assert_eq "$(step_prop "$id" 1 When)" "{{steps.current.version}} != '2.4.1'" "When"
assert_eq "$(step_prop "$id" 1 Error)" \
    "skipped: its condition \"{{steps.current.version}} != '2.4.1'\" is false (values: {\"{{steps.current.version}}\":\"2.4.1\"})" \
    "its Error says why, with the values"
assert_false "the skipped step did not run" test -e "$D/upgrade"
assert_eq "$(step_prop "$id" 2 State)" succeeded "a true condition runs the step"
assert_true "the true step ran" test -e "$D/notify"
assert_eq "$(step_prop "$id" 3 State)" failed "a condition that cannot be evaluated fails the step"
assert_match "$(step_prop "$id" 3 Error)" "cannot be evaluated: at offset 26: '>=' needs numbers: left side \{\{steps\.current\.version\}\} is '2\.4\.1', not a number" \
    "and says why"
assert_false "the failed step did not run" test -e "$D/compare"
journal_wait 1 RUNBOOK_REFERENCE="$R" MESSAGE_ID="$MSG_SKIPPED" >/dev/null
rec=$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID="$MSG_SKIPPED")
assert_eq "$(jq -r .RUNBOOK_STEP <<<"$rec")" 1 "the skip record is the step's"
assert_eq "$(jq -r .RUNBOOK_WHEN <<<"$rec")" "{{steps.current.version}} != '2.4.1'" "RUNBOOK_WHEN"
assert_eq "$(jq -r .RUNBOOK_WHEN_VALUES <<<"$rec")" '{"{{steps.current.version}}":"2.4.1"}' "RUNBOOK_WHEN_VALUES"
assert_match "$(jq -r .MESSAGE <<<"$rec")" '^\[SKIP_STEP\] Step 1 \(upgrade\) in session [0-9]+ skipped: its condition' "the skip record's message"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" RUNBOOK_STEP=1 MESSAGE_ID=fd9028b438a94f4c97a33efef9210e60 | wc -l)" 0 \
    "no execution record for the skipped step"
expect_ctl_ok "runbookctl show" "$ALICE" show "$id"
assert_match "$CTL_OUT" "When: \{\{steps\.current\.version\}\} != '2\.4\.1'" "runbookctl show: the condition"

# a malformed condition refuses the runbook at load, with the file, path and offset
expect_error InvalidRunbook rb_call "$ALICE" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' broken-when "$(ref w2)" 0
assert_match "$LAST_ERROR_MESSAGE" "broken-when\.json: \\\$\.steps\[0\]\.when: at offset 14: expected '\)'" \
    "a malformed condition: file, JSON path, offset"
finish
