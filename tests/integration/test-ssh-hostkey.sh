#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# ssh host key pinning: with a known_hosts file that does not know the testbed's sshd the step
# fails with "unknown host key", the SHA256 fingerprint the server offered (as ssh-keygen -l
# prints it) and the known_hosts file; with one that holds another key for [127.0.0.1]:PORT it
# fails with "changed host key", the fingerprint seen and the one expected. Either way the
# command never runs (its marker file does not appear), and no connection is pooled. The server
# has an ed25519 and an ECDSA host key: with a known_hosts that pins only the ECDSA one the
# client asks for that one and connects (and with the testbed's, only ed25519, every other test).
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

require_sshd
K="$WORK/keys"; mkdir -p "$K"
seen=$(ssh-keygen -l -f "$TESTBED_DIR/ssh/host_ed25519.pub" | awk '{print $2}')
ssh-keygen -q -t ed25519 -N '' -C other-host -f "$K/other_host"
other=$(ssh-keygen -l -f "$K/other_host.pub" | awk '{print $2}')
# unknown: the file knows other hosts only
echo "[10.9.9.9]:$TESTBED_SSH_PORT $(cut -d' ' -f1,2 "$TESTBED_DIR/ssh/host_ed25519.pub")" > "$K/kh-unknown"
echo "[127.0.0.1]:$((TESTBED_SSH_PORT + 1)) $(cut -d' ' -f1,2 "$K/other_host.pub")" >> "$K/kh-unknown"
# changed: another key for this very host and port
echo "[127.0.0.1]:$TESTBED_SSH_PORT $(cut -d' ' -f1,2 "$K/other_host.pub")" > "$K/kh-changed"
write_ssh_target unknown ".known_hosts = \"$K/kh-unknown\""
write_ssh_target changed ".known_hosts = \"$K/kh-changed\""
write_ssh_runbook hk-unknown unknown "touch $WORK/unknown.marker"
write_ssh_runbook hk-changed changed "touch $WORK/changed.marker"
# the server's other host key only
echo "[127.0.0.1]:$TESTBED_SSH_PORT $(cut -d' ' -f1,2 "$TESTBED_DIR/ssh/host_ecdsa.pub")" > "$K/kh-ecdsa"
write_ssh_target ecdsa ".known_hosts = \"$K/kh-ecdsa\""
write_ssh_runbook hk-ecdsa ecdsa "echo via-ecdsa"
write_ssh_target pinned
write_ssh_runbook hk-pinned pinned "true"
start_daemon

R=$(ref unknown)
id=$(start_session "$ALICE" hk-unknown "$R") || die "StartSession failed"
wait_session_state "$id" failed 30
err=$(step_prop "$id" 0 Error)
note "Error: $err"
assert_eq "$(step_prop "$id" 0 State)" failed "unknown host key: step failed"
assert_match "$err" "unknown host key" "Error says 'unknown host key'"
assert_match "$err" "${seen//+/\\+}" "Error has the fingerprint seen ($seen)"
assert_match "$err" "$K/kh-unknown" "Error names the known_hosts file"
assert_match "$err" "127\.0\.0\.1:$TESTBED_SSH_PORT" "Error names host:port"
assert_match "$(step_result "$R" 0 RUNBOOK_ERROR)" "unknown host key" "result record RUNBOOK_ERROR says it"
sleep 0.5
assert_false "the command did not run (no marker)" test -e "$WORK/unknown.marker"

R=$(ref changed)
id=$(start_session "$ALICE" hk-changed "$R") || die "StartSession failed"
wait_session_state "$id" failed 30
err=$(step_prop "$id" 0 Error)
note "Error: $err"
assert_match "$err" "changed host key" "Error says 'changed host key'"
assert_match "$err" "offered ssh-ed25519 ${seen//+/\\+}" "Error has the fingerprint seen"
assert_match "$err" "expects ${other//+/\\+}" "Error has the fingerprint expected ($other)"
assert_match "$err" "$K/kh-changed" "Error names the known_hosts file"
sleep 0.5
assert_false "the command did not run (no marker)" test -e "$WORK/changed.marker"
assert_eq "$(grep -c 'authenticated as' "$DAEMON_LOG")" 0 "never authenticated to a host with a wrong key"

R=$(ref ecdsa)
id=$(start_session "$ALICE" hk-ecdsa "$R") || die "StartSession failed"
wait_session_state "$id" succeeded 30
get_output "$id" 0 || die "GetOutput failed"
assert_eq "$OUT_STDOUT" via-ecdsa "known_hosts with the ECDSA key only: the client asked for it and ran the command"
assert_match "$(cat "$DAEMON_LOG")" "host key ecdsa-sha2-nistp256 SHA256:[^ ]+ matches '$K/kh-ecdsa'" \
    "the ECDSA host key was checked"
R=$(ref pinned)
id=$(start_session "$ALICE" hk-pinned "$R") || die "StartSession failed"
wait_session_state "$id" succeeded 30
assert_match "$(cat "$DAEMON_LOG")" "host key ssh-ed25519 SHA256:[^ ]+ matches '$TESTBED_SSH_KNOWN_HOSTS'" \
    "known_hosts with the ed25519 key only: the client asked for it (libssh2's own order prefers ECDSA)"

finish
