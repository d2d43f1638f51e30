#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (m) Parameters are substituted shell-quoted, never spliced: hostile values come out literally.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

install_runbook echo
start_daemon

pwned="/tmp/pwned-$$"
values=(
    "'; touch $pwned; '"
    "\$(touch $pwned-2) \`touch $pwned-3\` \"x\" \\ ; | & > $pwned-4"
    "it's   spaced out * ~ {{value}} #"
)
n=0
for v in "${values[@]}"; do
    n=$((n + 1))
    id=$(start_session "$ALICE" echo "$(ref "m$n")" value "$v") || { fail "StartSession with value $n"; continue; }
    wait_session_state "$id" succeeded
    get_output "$id" 0
    assert_eq "$OUT_STDOUT" "$v" "value $n comes out literally"
    assert_eq "$(session_prop "$id" Parameters | jq -r .value)" "$v" "value $n stored as given"
done
for f in "$pwned" "$pwned-2" "$pwned-3" "$pwned-4"; do
    assert_false "$f was not created" test -e "$f"
    rm -f "$f"
done
finish
