#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue #11 item 16: runbook, target and runbookd.json files (and their directories) that are
# group- or world-writable, or owned by anyone but root or runbookd's user, are refused with the
# reason, as sshd's StrictModes does. (Before the fix they were loaded and run.)
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

mk() { jq -n --arg run "touch $WORK/ran-$1" '{steps: [{name: "s", run: $run, approval: "none"}]}' > "$CONFIG_DIR/runbooks/$1.json"; }
mk ok; mk worldw; mk groupw; mk alices
chmod 666 "$CONFIG_DIR/runbooks/worldw.json"
chmod 664 "$CONFIG_DIR/runbooks/groupw.json"
chown "$ALICE" "$CONFIG_DIR/runbooks/alices.json"
write_ssh_target loose
chmod 646 "$CONFIG_DIR/targets/loose.json"
jq -n --arg run "touch $WORK/ran-ontarget" '{target: "loose", steps: [{name: "s", run: $run, approval: "none"}]}' \
    > "$CONFIG_DIR/runbooks/ontarget.json"
start_daemon

expect_refused() { # RUNBOOK ERE
    expect_error "InvalidRunbook|NoSuchTarget" \
        rb "$ALICE" call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' "$1" "$(ref "$1")" 0
    assert_match "$LAST_ERROR_MESSAGE" "$2" "$1: refused with the reason"
}
expect_refused worldw "worldw.json: refused: its file is writable by others \(mode 0666\)"
expect_refused groupw "groupw.json: refused: its file is writable by its group \(mode 0664\)"
expect_refused alices "alices.json: refused: its file is owned by uid $(id -u "$ALICE")"
expect_refused ontarget "loose.json: refused: its file is writable by others \(mode 0646\)"
for n in worldw groupw alices ontarget; do assert_false "$n did not run" test -e "$WORK/ran-$n"; done
id=$(start_session "$ALICE" ok "$(ref ok)") || fail "the proper runbook starts"
wait_session_state "$id" succeeded
assert_true "the proper runbook ran" test -e "$WORK/ran-ok"

# a group-writable runbooks/ directory makes its files untrusted
chmod 775 "$CONFIG_DIR/runbooks"
out=$(rb root --json=short call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" Reload) || fail "Reload failed"
assert_match "$(jq -r '.data[2][]' <<<"$out" | grep ok.json)" "ok.json: refused: its directory .*/runbooks is writable by its group \(mode 0775\)" \
    "Reload names the loose directory"
chmod 755 "$CONFIG_DIR/runbooks"

# runbookd.json writable by others: the daemon does not start on it
kill_daemon -TERM
echo '{"allow_self_approval": true}' > "$CONFIG_DIR/runbookd.json"
chmod 666 "$CONFIG_DIR/runbookd.json"
"$RUNBOOKD" --config-dir="$CONFIG_DIR" --state-dir="$STATE_DIR" > "$T/refused.log" 2>&1 &
pid=$!
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
assert_false "runbookd does not run on a world-writable runbookd.json" kill -0 "$pid"
kill "$pid" 2>/dev/null
assert_match "$(cat "$T/refused.log")" "runbookd.json: refused: its file is writable by others \(mode 0666\)" "and says why"
finish
