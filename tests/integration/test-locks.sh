#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Locks between sessions (issue #15 item 1): a runbook's "lock" (a template over its parameters)
# and a target's "lock": true. A session that needs a lock another holds waits in waiting_lock,
# first come first served, with its place as LockPosition; a holder waiting for approval keeps
# it; the lock goes to the next at the holder's end or cancel; kill -9 keeps holders and waiters
# in the same order and runs nothing twice; cancel works while waiting.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_runbookctl

write_runbook db-restart <<'JSON'
{
  "description": "restart one database cluster",
  "parameters": { "cluster": { "pattern": "^[a-z0-9-]+$" }, "tag": { "pattern": "^[a-z0-9]+$" },
                  "file": { "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "lock": "db-{{cluster}}",
  "steps": [ { "name": "restart", "run": "printf '%s\\n' {{tag}} >> {{file}}" } ]
}
JSON
write_runbook on-db1 <<'JSON'
{ "parameters": { "file": { "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "prechecks": [ { "name": "look", "run": "true", "approval": "none", "target": "local" } ],
  "steps": [ { "name": "touch", "run": "touch {{file}}", "target": "db1", "approval": "none" },
             { "name": "gate", "run": "true", "target": "local" } ] }
JSON
write_runbook db-fail <<'JSON'
{ "parameters": { "cluster": { "pattern": "^[a-z0-9-]+$" }, "file": { "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "lock": "db-{{cluster}}",
  "steps": [ { "name": "check", "run": "test -e {{file}}", "approval": "none" } ] }
JSON
write_runbook free-name <<'JSON'
{ "parameters": { "name": {} }, "lock": "x-{{name}}", "steps": [ { "name": "s", "run": "true" } ] }
JSON
write_runbook bad-lock <<'JSON'
{ "parameters": { "name": {} }, "lock": "x-{{nope}}", "steps": [ { "name": "s", "run": "true" } ] }
JSON
write_runbook step-lock <<'JSON'
{ "prechecks": [ { "id": "a", "name": "a", "run": "echo 1", "approval": "none", "capture": { "v": { "line": 1 } } } ],
  "lock": "x-{{steps.a.v}}", "steps": [ { "name": "s", "run": "true" } ] }
JSON
cat > "$CONFIG_DIR/targets/db1.json" <<'JSON'
{ "connector": "local", "lock": true, "description": "the db1 host" }
JSON
start_daemon
MSG_WAIT=$(sed -n 's/.*RUNBOOK_MESSAGE_LOCK_WAITING_STR *"\([0-9a-f]*\)".*/\1/p' "$SOURCE_ROOT/src/journal/catalog-ids.h")
MSG_TAKEN=$(sed -n 's/.*RUNBOOK_MESSAGE_LOCK_TAKEN_STR *"\([0-9a-f]*\)".*/\1/p' "$SOURCE_ROOT/src/journal/catalog-ids.h")
MSG_RELEASED=$(sed -n 's/.*RUNBOOK_MESSAGE_LOCK_RELEASED_STR *"\([0-9a-f]*\)".*/\1/p' "$SOURCE_ROOT/src/journal/catalog-ids.h")
[ -n "$MSG_WAIT" ] && [ -n "$MSG_TAKEN" ] && [ -n "$MSG_RELEASED" ] || die "lock MESSAGE_IDs not found"
approve() { expect_ok "$BOB approves session $1" rb_call "$BOB" "$(session_path "$1")" "$IFACE_SESSION" Approve s "ok"; }
locks() { busctl --system --json=short call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" ListLocks | jq -c '.data[0]'; }

note "--- two sessions, then three, on one lock: the others wait, first come first served"
F="$WORK/order"; : > "$F"; chmod 666 "$F"
RA=$(ref a)
a=$(start_session "$ALICE" db-restart "$RA" cluster main tag a file "$F") || die "StartSession a"
wait_session_state "$a" waiting_approval
assert_eq "$(session_prop "$a" LockState)" held "the first session took the lock before its approval"
assert_eq "$(session_prop "$a" Locks)" "[[\"db-main\",$a]]" "Locks: db-main, held by itself"
b=$(start_session "$ALICE" db-restart "$(ref b)" cluster main tag b file "$F") || die "StartSession b"
wait_session_state "$b" waiting_lock
assert_eq "$(session_prop "$b" LockPosition)" 1 "the second is first in the queue"
assert_eq "$(session_prop "$b" Locks)" "[[\"db-main\",$a]]" "Locks of the waiter: db-main, held by the first"
assert_eq "$(step_prop "$b" 0 State)" pending "the waiter's step was not offered for approval"
expect_error NotWaitingApproval rb_call "$BOB" "$(session_path "$b")" "$IFACE_SESSION" Approve s "too early"
c=$(start_session "$ALICE" db-restart "$(ref c)" cluster main tag c file "$F") || die "StartSession c"
wait_session_state "$c" waiting_lock
assert_eq "$(session_prop "$c" LockPosition)" 2 "the third is second in the queue"
o=$(start_session "$ALICE" db-restart "$(ref o)" cluster other tag o file "$F") || die "StartSession o"
wait_session_state "$o" waiting_approval
assert_eq "$(session_prop "$o" LockState)" held "another cluster's lock is another lock"
assert_eq "$(locks)" "[[\"db-main\",$a,[$b,$c]],[\"db-other\",$o,[]]]" "ListLocks: holders and queues"

expect_ctl_ok "runbookctl list" "$ALICE" list --no-pager
assert_match "$CTL_OUT" "$b +db-restart .*waiting_lock #1" "runbookctl list: the waiter and its place"
assert_match "$CTL_OUT" "$c +db-restart .*waiting_lock #2" "runbookctl list: the second waiter"
expect_ctl_ok "runbookctl show (waiter)" "$ALICE" show "$c"
assert_match "$CTL_OUT" "Locks: db-main \(held by session $a\)" "runbookctl show: who holds the lock"
assert_match "$CTL_OUT" "Lock queue: waiting, position 2" "runbookctl show: its place"
expect_ctl_ok "runbookctl show (holder)" "$ALICE" show "$a"
assert_match "$CTL_OUT" "Locks: db-main \(held by this session\)" "runbookctl show: the holder"
expect_ctl_ok "runbookctl locks" "$ALICE" locks --no-pager
assert_match "$CTL_OUT" "db-main +session $a +$b $c" "runbookctl locks: holder, then the queue in order"
expect_ctl_ok "runbookctl locks --json" "$ALICE" locks --json=short
assert_eq "$(jq -c '.[0]' <<<"$CTL_OUT")" "{\"waiting\":[$b,$c],\"name\":\"db-main\",\"holder\":$a}" "runbookctl locks --json"

journal_wait 1 RUNBOOK_SESSION="$b" RUNBOOK_REFERENCE="$(ref b)" MESSAGE_ID="$MSG_WAIT" >/dev/null
rec=$(journal RUNBOOK_REFERENCE="$(ref b)" MESSAGE_ID="$MSG_WAIT")
assert_eq "$(jq -r .RUNBOOK_LOCKS <<<"$rec")" db-main "[WAIT_LOCK] RUNBOOK_LOCKS"
assert_eq "$(jq -r .RUNBOOK_LOCK_HOLDER <<<"$rec")" "$a" "[WAIT_LOCK] RUNBOOK_LOCK_HOLDER"
assert_eq "$(jq -r .RUNBOOK_LOCK_POSITION <<<"$rec")" 1 "[WAIT_LOCK] RUNBOOK_LOCK_POSITION"

approve "$a"
wait_session_state "$a" succeeded
wait_session_state "$b" waiting_approval
assert_eq "$(session_prop "$b" LockState)" held "the lock went to the first waiter"
assert_eq "$(session_prop "$c" LockPosition)" 1 "the third moved up"
assert_eq "$(session_prop "$a" LockState)" "" "the finished session holds nothing"
journal_wait 1 RUNBOOK_REFERENCE="$RA" MESSAGE_ID="$MSG_RELEASED" >/dev/null
assert_eq "$(journal RUNBOOK_REFERENCE="$RA" MESSAGE_ID="$MSG_RELEASED" | jq -r .RUNBOOK_LOCK_HELD)" 1 "[RELEASE_LOCK] of the holder"
approve "$b"
wait_session_state "$b" succeeded
wait_session_state "$c" waiting_approval
approve "$c"
wait_session_state "$c" succeeded
assert_eq "$(tr '\n' ' ' < "$F")" "a b c " "the three ran one after the other, in the order they came"
assert_eq "$(locks)" "[[\"db-other\",$o,[]]]" "ListLocks: only the other cluster's lock is held"
journal_wait 1 RUNBOOK_REFERENCE="$(ref c)" MESSAGE_ID="$MSG_TAKEN" >/dev/null
assert_match "$(journal RUNBOOK_REFERENCE="$(ref c)" MESSAGE_ID="$MSG_TAKEN" | jq -r .MESSAGE)" \
    "^\[TAKE_LOCK\] Session $c took db-main \(waited [0-9]+ ms\)$" "[TAKE_LOCK] of the third"
expect_ok "cancel the other cluster's session" rb_call "$ALICE" "$(session_path "$o")" "$IFACE_SESSION" Cancel
wait_session_state "$o" cancelled
assert_eq "$(locks)" "[]" "ListLocks: nothing held"

note "--- kill -9 with a holder and two waiters: the same order after the restart, nothing twice"
: > "$F"
h=$(start_session "$ALICE" db-restart "$(ref h)" cluster main tag h file "$F") || die "StartSession h"
wait_session_state "$h" waiting_approval
w1=$(start_session "$ALICE" db-restart "$(ref w1)" cluster main tag wone file "$F") || die "StartSession w1"
wait_session_state "$w1" waiting_lock
w2=$(start_session "$ALICE" db-restart "$(ref w2)" cluster main tag wtwo file "$F") || die "StartSession w2"
wait_session_state "$w2" waiting_lock
before=$(locks)
kill_daemon -9
start_daemon
assert_eq "$(locks)" "$before" "ListLocks after kill -9: same holder, same queue"
assert_eq "$(session_prop "$h" State)" waiting_approval "the holder still waits for approval"
assert_eq "$(session_prop "$h" LockState)" held "and still holds the lock"
assert_eq "$(session_prop "$w1" State)" waiting_lock "the first waiter still waits"
assert_eq "$(session_prop "$w1" LockPosition)" 1 "at position 1"
assert_eq "$(session_prop "$w2" LockPosition)" 2 "the second at position 2"

note "--- cancel while waiting"
expect_ok "cancel the first waiter" rb_call "$ALICE" "$(session_path "$w1")" "$IFACE_SESSION" Cancel
wait_session_state "$w1" cancelled
assert_eq "$(step_prop "$w1" 0 State)" cancelled "its step never ran"
assert_eq "$(session_prop "$w2" LockPosition)" 1 "the other waiter moved up"
assert_eq "$(session_prop "$h" LockState)" held "the holder keeps the lock"
journal_wait 1 RUNBOOK_REFERENCE="$(ref w1)" MESSAGE_ID="$MSG_RELEASED" >/dev/null
assert_match "$(journal RUNBOOK_REFERENCE="$(ref w1)" MESSAGE_ID="$MSG_RELEASED" | jq -r .MESSAGE)" \
    "stopped waiting for db-main" "[RELEASE_LOCK] of a waiter that left"
approve "$h"
wait_session_state "$h" succeeded
wait_session_state "$w2" waiting_approval
approve "$w2"
wait_session_state "$w2" succeeded
assert_eq "$(tr '\n' ' ' < "$F")" "h wtwo " "each ran once, in order; the cancelled one never"

note "--- a target with \"lock\": true"
G="$WORK/db1"; mkdir -p "$G"; chmod 777 "$G"
t1=$(start_session "$ALICE" on-db1 "$(ref t1)" file "$G/t1") || die "StartSession t1"
wait_session_state "$t1" waiting_approval
assert_true "the first session's step on db1 ran" test -e "$G/t1"
assert_eq "$(session_prop "$t1" Locks)" "[[\"target:db1\",$t1]]" "its lock is the target's"
t2=$(start_session "$ALICE" on-db1 "$(ref t2)" file "$G/t2") || die "StartSession t2"
wait_session_state "$t2" waiting_lock
assert_eq "$(step_prop "$t2" 0 State)" succeeded "the precheck on another target ran before the lock was needed"
assert_eq "$(session_prop "$t2" CurrentStep)" 1 "it waits at the step on the locked target"
assert_false "its step on db1 did not run" test -e "$G/t2"
approve "$t1"
wait_session_state "$t1" succeeded
wait_session_state "$t2" waiting_approval
assert_true "then it ran" test -e "$G/t2"
expect_ok "cancel" rb_call "$ALICE" "$(session_path "$t2")" "$IFACE_SESSION" Cancel
wait_session_state "$t2" cancelled

note "--- a failed session retried: its step waits for the lock again before it runs"
OK="$WORK/fixed"
f=$(start_session "$ALICE" db-fail "$(ref f)" cluster r file "$OK") || die "StartSession f"
wait_session_state "$f" failed
assert_eq "$(session_prop "$f" LockState)" "" "the failed session gave its lock up"
k=$(start_session "$ALICE" db-restart "$(ref k)" cluster r tag k file "$F") || die "StartSession k"
wait_session_state "$k" waiting_approval
assert_eq "$(session_prop "$k" LockState)" held "the next session took it"
touch "$OK"
expect_ctl_ok "runbookctl retry" "$BOB" retry "$f"
wait_session_state "$f" waiting_approval
expect_ok "$CAROL approves the retried step" rb_call "$CAROL" "$(session_path "$f")" "$IFACE_SESSION" Approve s "again"
wait_session_state "$f" waiting_lock
assert_eq "$(step_prop "$f" 0 State)" approved "approved, it waits for the lock instead of running"
assert_eq "$(journal RUNBOOK_REFERENCE="$(ref f)" MESSAGE_ID=fd9028b438a94f4c97a33efef9210e60 | wc -l)" 1 \
    "and did not start: one execution record, its first attempt's"
approve "$k"
wait_session_state "$k" succeeded
wait_session_state "$f" succeeded
assert_eq "$(session_prop "$f" LockState)" "" "it ran once it had the lock, and gave it up at its end"

note "--- bad lock names and templates"
sessions=$(list_sessions)
expect_error InvalidParameter rb_call "$ALICE" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' free-name "$(ref n1)" 1 name "a b"
assert_match "$LAST_ERROR_MESSAGE" 'the lock name "x-a b" made from "x-\{\{name\}\}" is not valid' "a lock name with a space is refused, and says why"
assert_eq "$(list_sessions)" "$sessions" "the refused request stored nothing"
expect_error InvalidRunbook rb_call "$ALICE" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' bad-lock "$(ref n2)" 1 name x
assert_match "$LAST_ERROR_MESSAGE" 'bad-lock\.json: \$\.lock: at offset 2: \{\{nope\}\} is not a parameter of the runbook' \
    "a lock naming no parameter: file, path, offset"
expect_error InvalidRunbook rb_call "$ALICE" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' step-lock "$(ref n3)" 0
assert_match "$LAST_ERROR_MESSAGE" 'step-lock\.json: \$\.lock: .*cannot refer to a step' "a lock cannot use a step's value"
finish
