#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Change windows and freezes (issue #15 item 2): a step, once approved, runs only inside its
# runbook's and its target's windows (in named time zones) and outside every freeze of
# runbookd.json; otherwise it waits in waiting_window, says until when and why, and starts by
# itself when the window opens — across a kill -9 too. A Reload that lifts a freeze lets it go;
# cancel ends the wait; a break-glass runs it at once and says so; rollback steps do not wait.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_runbookctl
MSG_WAIT=c3082a2109af45c3bed8fe3a3e018c57
MSG_OVERRIDE=bcd6d9e8b4a14153adbf8d49592af618
TZ_A=America/New_York TZ_B=Asia/Kolkata
[ -e /usr/share/zoneinfo/$TZ_A ] && [ -e /usr/share/zoneinfo/$TZ_B ] || die "tzdata missing: run tools/setup.sh"

# window_at AT Z: the windows JSON of one window opening at AT (epoch s) in zone Z, for an hour
window_at() {
    local at=$1 z=$2
    jq -n -c --arg d "$(TZ=$z date -d "@$at" +%a)" --arg f "$(TZ=$z date -d "@$at" +%H:%M:%S)" \
        --arg t "$(TZ=$z date -d "@$((at + 3600))" +%H:%M:%S)" --arg z "$z" \
        '[{days: $d, from: $f, to: $t, timezone: $z}]'
}
# runbook NAME WINDOWS-JSON: one step (approval needed) that appends to {{file}}
windowed_runbook() {
    jq -n --argjson w "$2" '{parameters: {file: {pattern: "^/[A-Za-z0-9/._-]+$"}}, windows: $w,
        steps: [{name: "change", run: "echo ran >> {{file}}"}]}' > "$CONFIG_DIR/runbooks/$1.json"
}
reload() { rb root --json=short call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" Reload; }
approve() { expect_ok "$BOB approves session $1" rb_call "$BOB" "$(session_path "$1")" "$IFACE_SESSION" Approve s "ok"; }

W_TOMORROW=$(jq -n -c --arg d "$(date -u -d tomorrow +%a)" '[{days: $d, from: "00:00", to: "24:00", timezone: "UTC"}]')
jq -n --argjson w "$W_TOMORROW" '{connector: "local", windows: $w}' > "$CONFIG_DIR/targets/maint.json"
write_runbook on-maint <<'JSON'
{ "parameters": { "file": { "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "steps": [ { "name": "change", "run": "echo ran >> {{file}}", "target": "maint" } ] }
JSON
write_runbook plain <<'JSON'
{ "parameters": { "file": { "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "steps": [ { "name": "change", "run": "echo ran >> {{file}}", "approval": "none" } ] }
JSON
write_runbook undo <<'JSON'
{ "parameters": { "file": { "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "steps": [ { "name": "first", "run": "true", "approval": "none" }, { "name": "second", "run": "true" } ],
  "rollback": [ { "name": "restore", "run": "echo restored >> {{file}}", "approval": "none" } ] }
JSON
write_runbook bad-zone <<'JSON'
{ "windows": [ { "days": "Mon..Fri", "from": "22:00", "to": "06:00", "timezone": "Europe/Atlantis" } ],
  "steps": [ { "name": "s", "run": "true" } ] }
JSON
start_daemon

note "--- a step outside its window waits, says until when, and runs when the window opens"
# written (and reloaded) just before use: the window must still be ahead once the step is approved
SOON_AT=$(( $(date +%s) + 8 ))
windowed_runbook soon "$(window_at "$SOON_AT" "$TZ_A")"
reload >/dev/null
F="$WORK/soon"
s1=$(start_session "$ALICE" soon "$(ref soon)" file "$F") || die "StartSession soon"
wait_session_state "$s1" waiting_approval
approve "$s1"
wait_session_state "$s1" waiting_window
assert_eq "$(step_prop "$s1" 0 State)" approved "the step is approved, and waits"
assert_eq "$(step_prop "$s1" 0 WindowOpensAt)" "${SOON_AT}000000" "WindowOpensAt: the window's opening, in $TZ_A"
assert_match "$(step_prop "$s1" 0 WindowReason)" "^outside the runbook's change windows \(... [0-9:]{8}-[0-9:]{8} $TZ_A\)$" \
    "WindowReason says which window"
assert_false "it did not run" test -e "$F"
expect_ctl_ok "runbookctl show" "$ALICE" show "$s1"
assert_match "$CTL_OUT" "Window: waits until .*: outside the runbook's change windows" "runbookctl show says until when"
journal_wait 1 RUNBOOK_REFERENCE="$(ref soon)" MESSAGE_ID=$MSG_WAIT >/dev/null
assert_eq "$(journal RUNBOOK_REFERENCE="$(ref soon)" MESSAGE_ID=$MSG_WAIT | jq -r .RUNBOOK_WINDOW_OPENS_AT)" "${SOON_AT}000000" \
    "[WAIT_WINDOW] RUNBOOK_WINDOW_OPENS_AT"
wait_session_state "$s1" succeeded 30
started=$(step_prop "$s1" 0 StartedAt)
assert_true "it started once its window opened ($started >= ${SOON_AT}000000)" test "$started" -ge "${SOON_AT}000000"
assert_eq "$(count_lines "$F")" 1 "it ran once"
assert_eq "$(step_prop "$s1" 0 WindowOpensAt)" 0 "WindowOpensAt is cleared once it runs"

note "--- kill -9 during the wait: it still waits, then runs once when the window opens"
LATER_AT=$(( $(date +%s) + 10 ))
windowed_runbook later "$(window_at "$LATER_AT" "$TZ_B")"
reload >/dev/null
F="$WORK/later"
s2=$(start_session "$ALICE" later "$(ref later)" file "$F") || die "StartSession later"
wait_session_state "$s2" waiting_approval
approve "$s2"
wait_session_state "$s2" waiting_window
kill_daemon -9
start_daemon
assert_eq "$(session_prop "$s2" State)" waiting_window "still waiting after the restart"
assert_eq "$(step_prop "$s2" 0 WindowOpensAt)" "${LATER_AT}000000" "the same opening ($TZ_B)"
assert_false "it did not run" test -e "$F"
wait_session_state "$s2" succeeded 30
assert_true "it started once its window opened" test "$(step_prop "$s2" 0 StartedAt)" -ge "${LATER_AT}000000"
assert_eq "$(count_lines "$F")" 1 "it ran once"

note "--- a freeze holds every step, a Reload that lifts it lets them go; cancel ends a wait"
today=$(date -u +%F) tomorrow=$(date -u -d tomorrow +%F) after=$(date -u -d '2 days' +%F)
write_config "$(jq -n -c --arg f "$today" --arg t "$tomorrow" '{freeze: [{from: $f, to: $t, timezone: "UTC", reason: "year-end"}]}')"
assert_eq "$(reload | jq -r '.data[2] | map(select(test("freeze"))) | length')" 0 "Reload takes the freeze"
F="$WORK/frozen"
s3=$(start_session "$ALICE" plain "$(ref frozen)" file "$F") || die "StartSession plain"
wait_session_state "$s3" waiting_window
assert_eq "$(step_prop "$s3" 0 WindowOpensAt)" "$(date -u -d "$after" +%s)000000" "it waits until the end of the freeze's last day"
assert_eq "$(step_prop "$s3" 0 WindowReason)" "in the change freeze $today..$tomorrow UTC: year-end" "WindowReason: the freeze and its reason"
s4=$(start_session "$ALICE" plain "$(ref frozen2)" file "$WORK/frozen2") || die "StartSession plain"
wait_session_state "$s4" waiting_window
expect_ok "cancel while waiting for the window" rb_call "$ALICE" "$(session_path "$s4")" "$IFACE_SESSION" Cancel
wait_session_state "$s4" cancelled
assert_eq "$(step_prop "$s4" 0 State)" cancelled "its step never ran"

note "--- rollback steps do not wait for a window"
U="$WORK/undo"
s5=$(start_session "$ALICE" undo "$(ref undo)" file "$U") || die "StartSession undo"
wait_session_state "$s5" waiting_window
assert_eq "$(session_prop "$s5" CurrentStep)" 0 "even a step without approval waits for the freeze"
write_config '{}'
reload >/dev/null
wait_session_state "$s3" succeeded
assert_eq "$(count_lines "$F")" 1 "lifting the freeze let the waiting step run"
wait_session_state "$s5" waiting_approval
write_config "$(jq -n -c --arg f "$today" --arg t "$tomorrow" '{freeze: [{from: $f, to: $t}]}')"
reload >/dev/null
expect_ok "$BOB rejects step 1" rb_call "$BOB" "$(session_path "$s5")" "$IFACE_SESSION" Reject s "no"
wait_session_state "$s5" rejected
assert_eq "$(session_prop "$s5" Rollback)" succeeded "the rollback ran during the freeze"
assert_eq "$(count_lines "$U")" 1 "its step ran"

note "--- a target's window; a break-glass runs the step at once, and says so"
write_config '{}'
reload >/dev/null
M="$WORK/maint"
s6=$(start_session "$ALICE" on-maint "$(ref maint)" file "$M") || die "StartSession on-maint"
wait_session_state "$s6" waiting_approval
approve "$s6"
wait_session_state "$s6" waiting_window
assert_eq "$(step_prop "$s6" 0 WindowOpensAt)" "$(date -u -d "$tomorrow" +%s)000000" "the target's window opens tomorrow"
assert_match "$(step_prop "$s6" 0 WindowReason)" "^outside the target's change windows" "WindowReason: the target's"
expect_ctl_ok "$BOB breaks the glass" "$BOB" break-glass "$s6" -m "outage, cannot wait for the window"
wait_session_state "$s6" succeeded
assert_eq "$(count_lines "$M")" 1 "it ran at once"
assert_eq "$(session_prop "$s6" Review)" required "a review is required"
journal_wait 1 RUNBOOK_REFERENCE="$(ref maint)" MESSAGE_ID=$MSG_OVERRIDE >/dev/null
assert_match "$(journal RUNBOOK_REFERENCE="$(ref maint)" MESSAGE_ID=$MSG_OVERRIDE | jq -r .MESSAGE)" \
    "^\[BREAK_GLASS\] Step 0 \(change\) in session $s6 runs by break-glass outside the target's change windows" \
    "the journal says the window was overridden"

note "--- bad windows and freezes"
expect_error InvalidRunbook rb_call "$ALICE" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' bad-zone "$(ref bz)" 0
assert_match "$LAST_ERROR_MESSAGE" 'bad-zone\.json: \$\.windows\[0\]\.timezone: must name a time zone' "a zone that does not exist"
write_config '{"freeze": [{"from": "2026-12-20", "to": "2026-12-19"}]}'
if out=$(reload 2>&1); then fail "Reload took a bad freeze"; else
    assert_match "$out" "runbookd\.json: \\\$\.freeze\[0\]\.to: must be after 'from'" "Reload refuses a bad freeze, saying where"; fi
s7=$(start_session "$ALICE" plain "$(ref after-bad)" file "$WORK/after-bad") || die "StartSession plain"
wait_session_state "$s7" succeeded
finish
