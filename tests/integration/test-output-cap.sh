#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (h) Output over output_cap (4096 bytes per stream): GetOutput says truncated, and keeps the
# head and the tail (the first and the last lines).
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

write_config '{ "output_cap": 4096 }'
install_runbook output
start_daemon

id=$(start_session "$ALICE" output "$(ref h)") || die "StartSession failed"
wait_session_state "$id" succeeded 20
get_output "$id" 0 || die "GetOutput failed"
assert_eq "$OUT_TRUNCATED" true "GetOutput: truncated=true"
assert_eq "$(step_prop "$id" 0 Truncated)" true "Step.Truncated is true"
for stream in stdout stderr; do
    if [ $stream = stdout ]; then out=$OUT_STDOUT; else out=$OUT_STDERR; fi
    assert_eq "$(head -n 1 <<<"$out")" 1 "$stream: the head is kept (first line)"
    assert_eq "$(tail -n 1 <<<"$out")" 20000 "$stream: the tail is kept (last line)"
    assert_true "$stream: at most about the cap kept (${#out} bytes)" test "${#out}" -le $((4096 + 512))
    assert_true "$stream: something from the middle was dropped" test "$(grep -cx 10000 <<<"$out")" -eq 0
done
finish
