#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (k) Bad input is refused with the right error and creates nothing; the daemon keeps serving.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

install_runbook scenario
printf '{ "steps": [ { "name": "x", "run": "true" }\n' > "$CONFIG_DIR/runbooks/broken.json"
write_runbook unknown-key <<'JSON'
{
  "steps": [ { "name": "x", "run": "true", "bogus": 1 } ]
}
JSON
start_daemon

SS=("$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}')
expect_error InvalidRunbook rb_call "$ALICE" "${SS[@]}" broken "$(ref k1)" 0
assert_match "$LAST_ERROR_MESSAGE" 'broken\.json' "syntax error: the message names the file"
expect_error InvalidRunbook rb_call "$ALICE" "${SS[@]}" unknown-key "$(ref k2)" 0
assert_match "$LAST_ERROR_MESSAGE" 'unknown-key\.json' "unknown key: the message names the file"
assert_match "$LAST_ERROR_MESSAGE" '\$\.steps\[0\]\.bogus' "unknown key: the message has the JSON path"

expect_error InvalidParameter rb_call "$ALICE" "${SS[@]}" scenario "$(ref k3)" 1 dir 'x; rm -rf /'
assert_match "$LAST_ERROR_MESSAGE" 'dir' "the message names the parameter"
expect_error InvalidParameter rb_call "$ALICE" "${SS[@]}" scenario "$(ref k4)" 1 nosuch x
expect_error InvalidParameter rb_call "$ALICE" "${SS[@]}" scenario "$(ref k5)" 0
expect_error InvalidParameter rb_call "$ALICE" "${SS[@]}" scenario "$(ref k6)" 1 dir "/$(head -c 8192 /dev/zero | tr '\0' a)"
expect_error NoSuchRunbook rb_call "$ALICE" "${SS[@]}" nosuch "$(ref k7)" 0
expect_error NoSuchRunbook\|InvalidParameter rb_call "$ALICE" "${SS[@]}" ../../etc/passwd "$(ref k8)" 0
big=$(head -c 102400 /dev/zero | tr '\0' r)
expect_error InvalidParameter rb_call "$ALICE" "${SS[@]}" scenario "$big" 1 dir "$WORK/k"
assert_eq "$(list_sessions)" "[]" "nothing was created (ListSessions empty)"
assert_false "nothing ran" test -e "$WORK/k"

expect_error NoSuchSession rb_call root "$MANAGER" "$IFACE_MANAGER" GetSession u 999
expect_error UnknownObject\|NoSuchSession busctl --system get-property org.runbookd1 /org/runbookd1/session/999 "$IFACE_SESSION" State
expect_error UnknownObject\|NoSuchSession\|NoSuchStep busctl --system get-property org.runbookd1 /org/runbookd1/session/999/step/0 "$IFACE_STEP" State
expect_error UnknownObject\|NoSuchSession rb_call "$BOB" /org/runbookd1/session/999 "$IFACE_SESSION" Approve s x
expect_error UnknownObject\|NoSuchSession busctl --system get-property org.runbookd1 /org/runbookd1/session/abc "$IFACE_SESSION" State

assert_true "the daemon is still running" kill -0 "$DAEMON_PID"
rbs=$(list_runbooks)
assert_true "ListRunbooks still works and lists 'scenario'" jq -e 'map(.[0]) | index("scenario") != null' <<<"$rbs"
id=$(start_session "$ALICE" scenario "$(ref k9)" dir "$WORK/k9") || die "StartSession failed"
assert_eq "$id" 1 "the first session created gets id 1: the refused calls created nothing"
finish
