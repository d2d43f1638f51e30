#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Manager.PlanSession and runbookctl plan (issue #13): every step in order with its phase,
# target, connector, the command rendered with the given parameters (a value only a capture will
# know shown as its {{steps.ID.NAME}} reference), approvals, when, on_failure, retries, captures
# and digest — the same digest the step of a session started with the same parameters has —,
# refused exactly as StartSession refuses (bad parameter, unknown runbook, unusable target), and
# nothing created: no session, no id used, no journal record.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_runbookctl
MSG_SESSION_STARTED=0232a82f77944788b46451e08b6eadf6

write_runbook upgrade <<'JSON'
{
  "parameters": { "env": { "default": "staging", "pattern": "^(staging|prod)$" },
                  "tag": { "pattern": "^[a-z0-9 ;$()'-]+$" } },
  "prechecks": [ { "id": "current", "name": "current version", "run": "echo app 2.4.0",
                   "capture": { "version": { "regex": "^app ([0-9.]+)$" } }, "approval": "none" } ],
  "steps": [ { "id": "backup", "name": "back up", "run": "echo backup --env {{env}} --tag {{tag}}", "approvers": 2 },
             { "name": "upgrade", "run": "echo upgrade --from {{steps.current.version}}",
               "when": "{{steps.current.version}} != '2.4.1'", "retries": 2, "retry_delay": 10 },
             { "name": "warm", "run": "true", "on_failure": "continue", "approval": "none", "timeout": 30 } ],
  "rollback": [ { "name": "restore", "run": "echo restore {{steps.current.version}}" } ],
  "finally":  [ { "name": "back in", "run": "true", "approval": "none" } ]
}
JSON
write_runbook elsewhere <<'JSON'
{ "steps": [ { "name": "far", "run": "true", "target": "nowhere" } ] }
JSON
start_daemon

plan_json() { # USER RUNBOOK [k v]...: the PlanSession reply as JSON (busctl --json=short)
    local user=$1 rb=$2; shift 2
    as_user "$user" busctl --system --json=short call "$BUS_NAME" /org/runbookd1 "$IFACE_MANAGER" PlanSession \
        'sa{ss}' "$rb" $(( $# / 2 )) "$@"
}
before=$(list_sessions)
n_started=$(journal MESSAGE_ID=$MSG_SESSION_STARTED | wc -l)

P=$(plan_json "$MALLORY" upgrade tag "v1; \$(reboot) 'x'") || die "PlanSession failed"
steps=$(jq -c '.data[0]' <<<"$P")
assert_eq "$(jq length <<<"$steps")" 6 "six steps"
assert_eq "$(jq -r '[.[] | .[1]] | join(",")' <<<"$steps")" "precheck,main,main,main,rollback,finally" "phases in order"
assert_eq "$(jq -r '[.[] | .[0]] | join(",")' <<<"$steps")" "0,1,2,3,4,5" "indexes"
assert_eq "$(jq -r '.[1][6]' <<<"$steps")" "echo backup --env 'staging' --tag 'v1; \$(reboot) '\\''x'\\'''" \
    "parameters substituted shell-quoted (the default too)"
assert_eq "$(jq -r '.[2][6]' <<<"$steps")" "echo upgrade --from {{steps.current.version}}" \
    "a value only a capture will know shows as its reference"
assert_eq "$(jq -r '.[1] | "\(.[4]) \(.[5]) \(.[7]) \(.[8])"' <<<"$steps")" "local local true 2" "target, connector, approvals"
assert_eq "$(jq -r '.[0][7]' <<<"$steps")" false "approval none"
assert_eq "$(jq -r '.[2][9]' <<<"$steps")" "{{steps.current.version}} != '2.4.1'" "when"
assert_eq "$(jq -r '.[2] | "\(.[11]) \(.[12])"' <<<"$steps")" "2 10000000" "retries and retry_delay"
assert_eq "$(jq -r '.[3] | "\(.[10]) \(.[13])"' <<<"$steps")" "continue 30000000" "on_failure and timeout"
assert_eq "$(jq -r '.[0][15] | join(",")' <<<"$steps")" "version" "captures"
assert_eq "$(jq -r '.[3][3]' <<<"$steps")" "" "no id"
assert_eq "$(jq -r '.[0][3]' <<<"$steps")" "current" "the id"
assert_eq "$(jq -r '.[2][14]' <<<"$steps")" "" "no digest for a command that uses captured values"
assert_eq "$(jq -r '.[4][7]' <<<"$steps")" true "a rollback step needs approval by default"
plan_digest=$(jq -r '.[1][14]' <<<"$steps")
assert_match "$plan_digest" '^[0-9a-f]{64}$' "a digest for a command that is known"

# nothing was created
assert_eq "$(list_sessions)" "$before" "no session created"
sleep 0.5
assert_eq "$(journal MESSAGE_ID=$MSG_SESSION_STARTED | wc -l)" "$n_started" "no journal record"

# refused as StartSession refuses it, with the same error
expect_error InvalidParameter plan_json "$ALICE" upgrade env qa tag x
assert_match "$LAST_ERROR_MESSAGE" "env" "the error names the parameter"
plan_error=$LAST_ERROR_MESSAGE
if start_session "$ALICE" upgrade "$(ref bad)" env qa tag x >/dev/null 2>&1; then
    fail "StartSession accepted what PlanSession refused"
fi
assert_eq "$LAST_ERROR_NAME $LAST_ERROR_MESSAGE" "org.runbookd1.Error.InvalidParameter $plan_error" \
    "StartSession gives the same error"
expect_error InvalidParameter plan_json "$ALICE" upgrade
expect_error NoSuchRunbook plan_json "$ALICE" missing
expect_error NoSuchRunbook plan_json "$ALICE" "../etc"
expect_error NoSuchTarget plan_json "$ALICE" elsewhere
assert_match "$LAST_ERROR_MESSAGE" "target 'nowhere', which is not configured" "the error names the target"
assert_eq "$(list_sessions)" "$before" "still no session"

# the session started with the same parameters binds to the digest the plan showed
R=$(ref s)
id=$(start_session "$ALICE" upgrade "$R" tag "v1; \$(reboot) 'x'") || die "StartSession failed"
assert_eq "$id" 1 "the plan used no session id"
wait_step_state "$id" 1 waiting_approval
assert_eq "$(step_prop "$id" 1 Digest)" "$plan_digest" "the step's digest is the one the plan showed"
assert_eq "$(step_prop "$id" 1 Command)" "$(jq -r '.[1][6]' <<<"$steps")" "and its command"
expect_ok "cancel" rb_call "$ALICE" "$(session_path "$id")" "$IFACE_SESSION" Cancel

# runbookctl plan
expect_ctl_ok "runbookctl plan" "$BOB" plan upgrade -p tag=v2
printf '%s\n' "$CTL_OUT" > "$T/plan.txt"
assert_true "the header says nothing is created" grep -q "^Plan of runbook upgrade (nothing is created" "$T/plan.txt"
assert_true "the rendered command" grep -q "Command: echo backup --env 'staging' --tag 'v2'$" "$T/plan.txt"
assert_true "the reference" grep -q "Command: echo upgrade --from {{steps.current.version}}$" "$T/plan.txt"
assert_true "approvers" grep -q "Approval: required (2 approvers)" "$T/plan.txt"
assert_true "retries" grep -Eq "Retries: 2, each after 10(\.0+)?s" "$T/plan.txt"
assert_true "phases" grep -q "Step 4 (rollback: restore)" "$T/plan.txt"
assert_true "the summary" grep -q "^6 steps (1 rollback, 1 finally); 3 need approval before they run.$" "$T/plan.txt"
expect_ctl_ok "runbookctl plan --json" "$BOB" --json=short plan upgrade -p tag=v2
assert_eq "$(jq -r '[.steps[] | .phase] | join(",")' <<<"$CTL_OUT")" "precheck,main,main,main,rollback,finally" "JSON phases"
assert_eq "$(jq -r '.steps[2].digest' <<<"$CTL_OUT")" null "JSON: no digest yet"
assert_eq "$(jq -r '.steps[0].captures[0]' <<<"$CTL_OUT")" version "JSON captures"
expect_ctl_fail "runbookctl plan with a bad value" "parameter 'env': value 'qa' does not match" "$BOB" plan upgrade \
    -p tag=v2 -p env=qa

# --parameters-file (runbookd-start@.service's /etc/runbookd/schedules/NAME.conf): NAME=VALUE lines,
# the value as is; a bad line is named by file and line, and nothing else happens
PF="$WORK/params.conf"
printf '%s\n' '# a comment' '' 'env=prod' "tag=v3 with spaces; \$(x) 'q'" > "$PF"; chmod 644 "$PF"
expect_ctl_ok "runbookctl plan --parameters-file" "$BOB" --json=short plan upgrade --parameters-file "$PF"
# shellcheck disable=SC2016
want='echo backup --env '\''prod'\'' --tag '\''v3 with spaces; $(x) '\''\'\'''\''q'\''\'\'''\'''\'
assert_eq "$(jq -r '.steps[1].command' <<<"$CTL_OUT")" "$want" "the file's values, as is"
printf 'env=prod\ntag v3\n' > "$PF"
expect_ctl_fail "a line without '='" "$PF:2: expected NAME=VALUE" "$BOB" plan upgrade --parameters-file "$PF"
printf 'env =prod\n' > "$PF"
expect_ctl_fail "a space in the name" "$PF:1: expected NAME=VALUE" "$BOB" plan upgrade --parameters-file "$PF"
expect_ctl_fail "a missing file" "Cannot read parameters file '$WORK/none': No such file" "$BOB" plan upgrade \
    --parameters-file "$WORK/none"
finish
