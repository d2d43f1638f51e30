#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (o) Reload picks up a new runbook file (and reports broken ones); it needs org.runbookd1.manage.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

install_runbook scenario
start_daemon

has_runbook() { list_runbooks | jq -e --arg n "$1" 'map(.[0]) | index($n) != null' >/dev/null; }
assert_false "'added' not listed before it exists" has_runbook added
write_runbook added <<'JSON'
{
  "description": "added after start",
  "steps": [ { "name": "hello", "run": "echo hello", "approval": "none" } ]
}
JSON
expect_error AccessDenied rb_call "$MALLORY" "$MANAGER" "$IFACE_MANAGER" Reload
out=$(rb root --json=short call org.runbookd1 "$MANAGER" "$IFACE_MANAGER" Reload) || fail "Reload as root"
assert_eq "$(jq -r '.data[0]' <<<"$out")" 2 "Reload counts 2 runbooks"
assert_eq "$(jq -r '.data[2] | length' <<<"$out")" 0 "Reload reports no errors"
assert_true "'added' listed after Reload" has_runbook added
assert_eq "$(list_runbooks | jq -r 'map(select(.[0] == "added"))[0][1]')" "added after start" "its description"
doc=$(rb root --json=short call org.runbookd1 "$MANAGER" "$IFACE_MANAGER" GetRunbook s added | jq -r '.data[0]')
assert_eq "$(jq -r '.steps[0].name' <<<"$doc")" hello "GetRunbook returns the document"
id=$(start_session "$ALICE" added "$(ref o)") || die "StartSession of the new runbook failed"
wait_session_state "$id" succeeded

printf '{ "steps": [' > "$CONFIG_DIR/runbooks/bad.json"
out=$(rb "$ALICE" --json=short call org.runbookd1 "$MANAGER" "$IFACE_MANAGER" Reload) || fail "Reload as rbtest-alice"
assert_true "Reload reports the broken file" jq -e '.data[2] | map(select(test("bad\\.json"))) | length == 1' <<<"$out"
rm -f "$CONFIG_DIR/runbooks/added.json"
rb root call org.runbookd1 "$MANAGER" "$IFACE_MANAGER" Reload >/dev/null || fail "Reload"
assert_false "'added' gone after its file was removed" has_runbook added
assert_eq "$(session_prop "$id" State)" succeeded "its finished session is unaffected"
expect_error NoSuchRunbook rb_call "$ALICE" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' added "$(ref o2)" 0
finish
