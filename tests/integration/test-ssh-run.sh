#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# ssh connector against the testbed's real sshd, through the real daemon: a command's stdout and
# stderr are captured (the wrapper's process group line is not), exit 0 succeeds and a non-zero
# exit fails the step with its status, output over output_cap is truncated (head and tail kept),
# the first step opens a connection ("new") and the next ones reuse it ("reused", in
# RUNBOOK_CONNECTION of the result records) unless "ssh_max_idle_connections" is 0, and no key
# material reaches the journal, the properties, the store or any process's argv.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

write_config '{ "output_cap": 4096 }'
write_ssh_target web
write_ssh_runbook ssh-run web \
    'echo "hello $RUNBOOK_SESSION/$RUNBOOK_STEP from $(hostname)"; echo "on stderr" >&2' \
    'seq 1 20000; seq 1 20000 >&2' \
    'echo before; exit 3' \
    'echo never'
start_daemon

assert_eq "$(prop /org/runbookd1/target/web org.runbookd1.Target Connector)" ssh "target web uses connector ssh"
R=$(ref run)
id=$(start_session "$ALICE" ssh-run "$R") || die "StartSession failed"
wait_session_state "$id" failed 30

assert_eq "$(step_prop "$id" 0 State)" succeeded "step 0 (exit 0) succeeded"
assert_eq "$(step_prop "$id" 0 ExitStatus)" 0 "step 0 ExitStatus 0"
get_output "$id" 0 || die "GetOutput failed"
assert_eq "$OUT_STDOUT" "hello $id/0 from $(hostname)" "step 0 stdout, without the wrapper's first line"
assert_eq "$OUT_STDERR" "on stderr" "step 0 stderr"
assert_eq "$OUT_TRUNCATED" false "step 0 not truncated"

assert_eq "$(step_prop "$id" 1 State)" succeeded "step 1 (lots of output) succeeded"
get_output "$id" 1 || die "GetOutput failed"
assert_eq "$OUT_TRUNCATED" true "step 1: truncated=true over output_cap"
for stream in stdout stderr; do
    if [ $stream = stdout ]; then out=$OUT_STDOUT; else out=$OUT_STDERR; fi
    assert_eq "$(head -n 1 <<<"$out")" 1 "step 1 $stream: the head is kept"
    assert_eq "$(tail -n 1 <<<"$out")" 20000 "step 1 $stream: the tail is kept"
    assert_true "step 1 $stream: about the cap kept (${#out} bytes)" test "${#out}" -le $((4096 + 512))
done

assert_eq "$(step_prop "$id" 2 State)" failed "step 2 (exit 3) failed"
assert_eq "$(step_prop "$id" 2 ExitStatus)" 3 "step 2 ExitStatus 3"
get_output "$id" 2 || die "GetOutput failed"
assert_eq "$OUT_STDOUT" before "step 2 stdout"
assert_eq "$(step_prop "$id" 3 State)" skipped "step 3 skipped after the failure"

assert_eq "$(step_result "$R" 0 RUNBOOK_CONNECTION)" new "step 0: RUNBOOK_CONNECTION=new"
assert_eq "$(step_result "$R" 1 RUNBOOK_CONNECTION)" reused "step 1: RUNBOOK_CONNECTION=reused"
assert_eq "$(step_result "$R" 2 RUNBOOK_CONNECTION)" reused "step 2: RUNBOOK_CONNECTION=reused"
assert_eq "$(step_result "$R" 2 RUNBOOK_EXIT_STATUS)" 3 "step 2 result record: exit status 3"

# a second session on the same target: the pooled connection again
R2=$(ref run2)
write_ssh_runbook ssh-one web 'echo again'
expect_ok "Reload" rb_call root "$MANAGER" "$IFACE_MANAGER" Reload
id2=$(start_session "$ALICE" ssh-one "$R2") || die "StartSession failed"
wait_session_state "$id2" succeeded 30
assert_eq "$(step_result "$R2" 0 RUNBOOK_CONNECTION)" reused "next session: RUNBOOK_CONNECTION=reused"
assert_eq "$(grep -c 'opening a new connection' "$DAEMON_LOG")" 1 "one connection for all four steps"

# quotes of every kind reach the remote shell intact, with the step's variables set
R3=$(ref quotes)
write_ssh_runbook ssh-quotes web "printf '%s|%s|%s|%s\\n' \"it's\" 'a \"b\"' \"\$RUNBOOK_TARGET\" \"\$RUNBOOK_STEP\""
expect_ok "Reload" rb_call root "$MANAGER" "$IFACE_MANAGER" Reload
id3=$(start_session "$ALICE" ssh-quotes "$R3") || die "StartSession failed"
wait_session_state "$id3" succeeded 30
get_output "$id3" 0 || die "GetOutput failed"
assert_eq "$OUT_STDOUT" "it's|a \"b\"|web|0" "single and double quotes intact; RUNBOOK_TARGET and RUNBOOK_STEP set"

# "ssh_max_idle_connections": 0 keeps no connection between steps; a Reload that sets it closes
# the idle one now; a bad value is refused by name and the previous setting stays
# ssh_one TAG CONNECTION WHY: a session of ssh-one succeeds, its step on a CONNECTION connection
ssh_one() {
    local r id
    r=$(ref "$1")
    id=$(start_session "$ALICE" ssh-one "$r") || die "StartSession failed"
    wait_session_state "$id" succeeded 30
    assert_eq "$(step_result "$r" 0 RUNBOOK_CONNECTION)" "$2" "$3: RUNBOOK_CONNECTION=$2"
}
write_config '{ "output_cap": 4096, "ssh_max_idle_connections": 0 }'
expect_ok "Reload (ssh_max_idle_connections 0)" rb_call root "$MANAGER" "$IFACE_MANAGER" Reload
ssh_one noidle4 new "ssh_max_idle_connections 0, a session"
ssh_one noidle5 new "ssh_max_idle_connections 0, the next session"
write_config '{ "output_cap": 4096, "ssh_max_idle_connections": -1 }'
expect_error InvalidRunbook rb_call root "$MANAGER" "$IFACE_MANAGER" Reload
assert_match "$LAST_ERROR_MESSAGE" 'ssh_max_idle_connections: must be an integer from 0 to 65536' \
    "a negative ssh_max_idle_connections is refused by name"
ssh_one noidle6 new "after the refused Reload, still none kept"
write_config '{ "output_cap": 4096 }'
expect_ok "Reload (the default bound)" rb_call root "$MANAGER" "$IFACE_MANAGER" Reload
ssh_one idle7 new "the default bound again, a session"
ssh_one idle8 reused "the default bound again, the next session"

# no key material anywhere: the private key's base64 body (its longest line) and the target's
# identity file contents
body=$(grep -v -- '-----' "$TESTBED_SSH_KEY" | tr -d '\n')
line=$(grep -v -- '-----' "$TESTBED_SSH_KEY" | head -n 1)
[ ${#line} -ge 40 ] || die "no key body in $TESTBED_SSH_KEY"
j=$(journal RUNBOOK_REFERENCE="$R"; journal RUNBOOK_REFERENCE="$R2"; journal _PID="$DAEMON_PID")
assert_true "the journal has the session's records" test "$(wc -l <<<"$j")" -ge 8
assert_false "no key material in the session's journal records" grep -qF -e "$line" -e "$body" <<<"$j"
props=$(busctl --system --json=short call "$BUS_NAME" /org/runbookd1/target/web org.freedesktop.DBus.Properties \
        GetAll s org.runbookd1.Target; for n in 0 1 2; do
        busctl --system --json=short call "$BUS_NAME" "$(step_path "$id" $n)" org.freedesktop.DBus.Properties GetAll s "$IFACE_STEP"; done)
assert_match "$props" '"Connector"' "properties read"
assert_false "no key material in the properties" grep -qF -e "$line" <<<"$props"
assert_false "no key material in the store" grep -rqF -e "$line" "$STATE_DIR"
assert_false "no key material in the daemon's log" grep -qF -e "$line" "$DAEMON_LOG"
assert_false "no key material in any process's argv" grep -qsF -e "$line" /proc/[0-9]*/cmdline
finish
