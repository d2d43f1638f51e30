#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every store has an id (Manager.StoreId, 32 hex digits, made when the store is created, kept
# across restarts) and every journal record carries it as RUNBOOK_STORE_ID, so that the records
# of session 1 of this store are told from those of session 1 of another (a wiped state
# directory, another instance on the same journal): runbookctl logs shows only this store's.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

install_runbook echo
require_runbookctl
R=$(ref same)     # the same runbook and reference in both stores

# ---- store A: session 1
start_daemon
a=$(prop "$MANAGER" "$IFACE_MANAGER" StoreId)
assert_match "$a" '^[0-9a-f]{32}$' "StoreId is 32 hex digits"
id=$(start_session "$ALICE" echo "$R" value from-store-a) || die "StartSession failed"
assert_eq "$id" 1 "the first session of store A is 1"
wait_session_state "$id" succeeded
restart_daemon
assert_eq "$(prop "$MANAGER" "$IFACE_MANAGER" StoreId)" "$a" "StoreId is kept across a restart"
journal_wait 5 RUNBOOK_REFERENCE="$R" >/dev/null
recs=$(journal RUNBOOK_REFERENCE="$R")
assert_eq "$(jq -r '.RUNBOOK_STORE_ID' <<<"$recs" | sort -u)" "$a" "every record of the session carries RUNBOOK_STORE_ID"
kill_daemon -TERM

# ---- store B (a fresh state directory): session 1 again, same runbook and reference
# shellcheck disable=SC2034  # read by start_daemon (lib.sh)
STATE_DIR="$T/state-b"
start_daemon
b=$(prop "$MANAGER" "$IFACE_MANAGER" StoreId)
assert_match "$b" '^[0-9a-f]{32}$' "store B has an id"
assert_ne "$b" "$a" "a new store, a new id"
id=$(start_session "$ALICE" echo "$R" value from-store-b) || die "StartSession failed"
assert_eq "$id" 1 "the first session of store B is 1 too"
wait_session_state "$id" succeeded
journal_wait 10 RUNBOOK_REFERENCE="$R" >/dev/null
assert_eq "$(journal RUNBOOK_SESSION=1 RUNBOOK_REFERENCE="$R" RUNBOOK_STORE_ID="$b" | jq -r 'select(.RUNBOOK_STORE_ID != null) | .RUNBOOK_STORE_ID' | sort -u)" "$b" \
    "store B's records carry its id"
jdir=()
[ -n "${TESTBED_JOURNAL_DIR:-}" ] && jdir=(--directory="$TESTBED_JOURNAL_DIR")
expect_ctl_ok "runbookctl logs 1" root --json=short logs "${jdir[@]}" --no-pager 1
n_b=$(jq -r 'select(.fields.RUNBOOK_STORE_ID == "'"$b"'") | .message' <<<"$CTL_OUT" | wc -l)
n_a=$(jq -r 'select(.fields.RUNBOOK_STORE_ID == "'"$a"'") | .message' <<<"$CTL_OUT" | wc -l)
assert_true "runbookctl logs shows store B's records ($n_b)" test "$n_b" -ge 5
assert_eq "$n_a" 0 "runbookctl logs shows none of store A's session 1"
finish
