#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Target.Check() and "runbookctl check TARGET" against the testbed's sshd: each stage (resolve,
# connect, host-key, authenticate, run) gets a verdict and a reason, stages after a failed one are
# skipped, and the failed stage says what is wrong: a healthy target (all ok, over D-Bus and the
# CLI, JSON parsed), an unknown host key (the fingerprint), a client key the server refuses (user
# and key), a closed port (host:port), a name that does not resolve, a server that hangs up before
# the SSH handshake, one that never answers (the 30 s timeout: the remaining stages fail, "timed
# out"); the local target ("run" only); a group (no check: a clear error); a check
# neither takes nor leaves a pooled connection; a user polkit refuses gets AccessDenied and nothing
# is connected; runbookctl check's exit codes, human output and --help.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

require_sshd
require_runbookctl
K="$WORK/keys"; mkdir -p "$K"
ssh-keygen -q -t ed25519 -N '' -C stranger -f "$K/stranger"
: > "$K/empty_known_hosts"
closed=$(( TESTBED_SSH_PORT == 65535 ? 1 : TESTBED_SSH_PORT + 1 ))
while ss -Htln "sport = :$closed" | grep -q .; do closed=$((closed + 1)); done
# a server that accepts and hangs up at once, and notes each connection (the canary for mallory)
hangup=$((closed + 1))
while ss -Htln "sport = :$hangup" | grep -q .; do hangup=$((hangup + 1)); done
bg python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
while True:
    c, _ = s.accept()
    open(sys.argv[2], "a").write("accepted\n")
    c.close()
' "$hangup" "$WORK/hangup-conns"
# and one that accepts and then says nothing (the check's 30 s timeout)
silent=$((hangup + 1))
while ss -Htln "sport = :$silent" | grep -q .; do silent=$((silent + 1)); done
bg python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
held = []
while True:
    held.append(s.accept()[0])
' "$silent"
for p in "$hangup" "$silent"; do
    for _ in $(seq 50); do ss -Htln "sport = :$p" | grep -q . && break; sleep 0.1; done
done

write_ssh_target healthy
write_ssh_target hostkey ".known_hosts = \"$K/empty_known_hosts\""
write_ssh_target wrongkey ".identity = \"$K/stranger\""
write_ssh_target closed ".port = $closed"
write_ssh_target nodns '.host = "no-such-host.invalid"'
write_ssh_target hangup ".port = $hangup"
write_ssh_target silent ".port = $silent"
echo '{"group": ["local", "healthy"]}' > "$CONFIG_DIR/targets/both.json"
write_ssh_runbook rb-healthy healthy "echo pooled"
start_daemon

# tpath NAME: the target's object path (sd_bus_path_encode: _XX for anything not alphanumeric)
tpath() { python3 -c 'import sys; print("/org/runbookd1/target/" + "".join(c if c.isalnum() else "_%02x" % ord(c) for c in sys.argv[1]))' "$1"; }
# check USER TARGET: Target.Check() over D-Bus; sets STAGES (JSON array of [stage, verdict, reason])
check() {
    local out
    out=$(bus_error_of rb "$1" --json=short --timeout=60 call "$BUS_NAME" "$(tpath "$2")" org.runbookd1.Target Check) ||
        { STAGES=""; return 1; }
    STAGES=$(jq -c '.data[0]' <<<"$out")
}
stage() { jq -r --arg s "$1" '.[] | select(.[0] == $s) | .[1]' <<<"$STAGES"; }
reason() { jq -r --arg s "$1" '.[] | select(.[0] == $s) | .[2]' <<<"$STAGES"; }
verdicts() { jq -r 'map(.[0] + "=" + .[1]) | join(" ")' <<<"$STAGES"; }
daemon_conns() { ss -Htnp state established "dport = :$TESTBED_SSH_PORT" | grep -c "pid=$DAEMON_PID," || true; }

# ---- healthy: every stage ok, each with its reason
check "$ALICE" healthy || fail "Check of healthy failed: $LAST_ERROR_NAME: $LAST_ERROR_MESSAGE"
note "healthy: $STAGES"
assert_eq "$(verdicts)" "resolve=ok connect=ok host-key=ok authenticate=ok run=ok" "healthy: every stage ok, in order"
assert_match "$(reason connect)" "127\.0\.0\.1:$TESTBED_SSH_PORT" "healthy: connect names host:port"
assert_match "$(reason connect)" "the server is 'SSH-2\.0-OpenSSH_[^']*'" "healthy: connect names the server's identification"
assert_match "$(reason host-key)" "ssh-ed25519 SHA256:" "healthy: host-key names the key's fingerprint"
assert_match "$(reason authenticate)" "'$TESTBED_SSH_USER'" "healthy: authenticate names the user"
assert_match "$(reason run)" "'true' exited with status 0" "healthy: run says 'true' exited 0"
assert_eq "$(daemon_conns)" 0 "healthy: the check's connection is closed afterwards"

# ---- the same through runbookctl: JSON parsed, exit 0
expect_ctl_ok "runbookctl check healthy --json=short exits 0" "$ALICE" check healthy --json=short
assert_eq "$(jq -r .passed <<<"$CTL_OUT")" true "check --json: passed is true"
assert_eq "$(jq -r '[.stages[] | .stage + "=" + .verdict] | join(" ")' <<<"$CTL_OUT")" \
    "resolve=ok connect=ok host-key=ok authenticate=ok run=ok" "check --json: every stage ok"
assert_eq "$(jq -r .target <<<"$CTL_OUT")" healthy "check --json: names the target"
expect_ctl_ok "runbookctl check healthy (human) exits 0" "$ALICE" check healthy
assert_eq "$(grep -c '^✓ ' <<<"$CTL_OUT")" 5 "check: five lines, each marked ✓"
assert_match "$CTL_OUT" "✓ host-key +ok +127\.0\.0\.1:$TESTBED_SSH_PORT offered ssh-ed25519" "check: stage, verdict, reason"
ctl "$ALICE" check healthy > "$WORK/check.out" 2>&1
assert_false "no colours when stdout is not a terminal" has_ansi "$WORK/check.out"

# ---- a check neither takes nor leaves a pooled connection
id=$(start_session "$ALICE" rb-healthy "$(ref pool1)") || die "StartSession failed"
wait_session_state "$id" succeeded 30
assert_eq "$(daemon_conns)" 1 "pool: one idle pooled connection after a step"
before=$(ss -Htnp state established "dport = :$TESTBED_SSH_PORT" | grep "pid=$DAEMON_PID," | awk '{print $3}')
check "$ALICE" healthy || fail "Check with a pooled connection failed: $LAST_ERROR_MESSAGE"
assert_eq "$(verdicts)" "resolve=ok connect=ok host-key=ok authenticate=ok run=ok" "pool: the check passes"
after=$(ss -Htnp state established "dport = :$TESTBED_SSH_PORT" | grep "pid=$DAEMON_PID," | awk '{print $3}')
assert_eq "$after" "$before" "pool: afterwards, only the same pooled connection is open"
id=$(start_session "$ALICE" rb-healthy "$(ref pool2)") || die "StartSession failed"
wait_session_state "$id" succeeded 30
assert_eq "$(step_result "$(ref pool2)" 0 RUNBOOK_CONNECTION)" reused "pool: the next step reuses the pooled connection"

# ---- unknown host key: resolve, connect ok; host-key failed with the fingerprint; the rest skipped
check "$ALICE" hostkey || fail "Check of hostkey failed: $LAST_ERROR_MESSAGE"
note "hostkey: $STAGES"
assert_eq "$(verdicts)" "resolve=ok connect=ok host-key=failed authenticate=skipped run=skipped" \
    "unknown host key: host-key failed, later stages skipped"
fp=$(ssh-keygen -lf "$TESTBED_DIR/ssh/host_ed25519.pub" | awk '{print $2}')
assert_match "$(reason host-key)" "^unknown host key" "unknown host key: the reason says so"
assert_true "unknown host key: the reason has the server's fingerprint ($fp)" grep -qF -- "$fp" <<<"$(reason host-key)"
assert_match "$(reason host-key)" "$K/empty_known_hosts" "unknown host key: the reason names the known_hosts file"
assert_eq "$(daemon_conns)" 1 "unknown host key: no connection left behind (only the pooled one)"

# ---- wrong client key: authenticate failed, naming the user and the key
check "$ALICE" wrongkey || fail "Check of wrongkey failed: $LAST_ERROR_MESSAGE"
note "wrongkey: $STAGES"
assert_eq "$(verdicts)" "resolve=ok connect=ok host-key=ok authenticate=failed run=skipped" \
    "wrong key: authenticate failed, run skipped"
assert_match "$(reason authenticate)" "user '$TESTBED_SSH_USER'" "wrong key: names the user"
assert_match "$(reason authenticate)" "$K/stranger" "wrong key: names the key file"

# ---- closed port: connect failed with host:port
check "$ALICE" closed || fail "Check of closed failed: $LAST_ERROR_MESSAGE"
note "closed: $STAGES"
assert_eq "$(verdicts)" "resolve=ok connect=failed host-key=skipped authenticate=skipped run=skipped" \
    "closed port: connect failed, the rest skipped"
assert_match "$(reason connect)" "127\.0\.0\.1:$closed.*connection refused" "closed port: host:port and 'connection refused'"
assert_eq "$(reason host-key)" "an earlier stage failed" "closed port: a skipped stage says why"

# ---- a server that hangs up before the handshake: connect failed
check "$ALICE" hangup || fail "Check of hangup failed: $LAST_ERROR_MESSAGE"
assert_eq "$(verdicts)" "resolve=ok connect=failed host-key=skipped authenticate=skipped run=skipped" \
    "hang-up: the SSH handshake is part of connect"
assert_match "$(reason connect)" "handshake" "hang-up: the reason says the handshake failed"

# ---- a server that never answers: after the check's 30 s, the remaining stages failed, timed out
SECONDS=0
check "$ALICE" silent || fail "Check of silent failed: $LAST_ERROR_MESSAGE"
note "silent (${SECONDS}s): $STAGES"
assert_eq "$(verdicts)" "resolve=ok connect=failed host-key=failed authenticate=failed run=failed" \
    "silent server: every stage from connect on failed"
assert_match "$(reason connect)" "timed out" "silent server: the reason is the timeout"
assert_match "$(reason run)" "timed out" "silent server: later stages timed out too"
assert_true "silent server: the check ended within 40 s" test "$SECONDS" -lt 40

# ---- unresolvable name: resolve failed
check "$ALICE" nodns || fail "Check of nodns failed: $LAST_ERROR_MESSAGE"
note "nodns: $STAGES"
assert_eq "$(verdicts)" "resolve=failed connect=skipped host-key=skipped authenticate=skipped run=skipped" \
    "unresolvable name: resolve failed, the rest skipped"
assert_match "$(reason resolve)" "DNS failure.*no-such-host\.invalid" "unresolvable name: the reason names the host"

# ---- local: one stage, run
check "$ALICE" local || fail "Check of local failed: $LAST_ERROR_MESSAGE"
assert_eq "$(verdicts)" "run=ok" "local: one stage, run, ok"
assert_match "$(reason run)" "/bin/sh -c true' exited with status 0" "local: the reason names the command"
expect_ctl_ok "runbookctl check local exits 0" "$ALICE" check local

# ---- a group has no check: a clear error
expect_error NotSupported rb "$ALICE" call "$BUS_NAME" "$(tpath both)" org.runbookd1.Target Check
assert_match "$LAST_ERROR_MESSAGE" "cannot be checked" "group: the error says the target cannot be checked"

# ---- polkit refuses mallory: AccessDenied, nothing connected
: > "$WORK/hangup-conns"
expect_error AccessDenied rb "$MALLORY" call "$BUS_NAME" "$(tpath hangup)" org.runbookd1.Target Check
sleep 0.5
assert_eq "$(grep -c . "$WORK/hangup-conns")" 0 "refused: nothing was connected to the target"
assert_false "refused: no check was started" grep -q "Checking target .* for $MALLORY" "$DAEMON_LOG"
expect_ctl_fail "runbookctl check as mallory: not authorized" "Not authorized.*org\.runbookd1\.manage" \
    "$MALLORY" check hangup
assert_eq "$CTL_RC" 1 "refused: runbookctl check exits 1"
assert_eq "$(grep -c . "$WORK/hangup-conns")" 0 "refused (CLI): nothing was connected to the target"
check "$ALICE" hangup >/dev/null
assert_eq "$(grep -c . "$WORK/hangup-conns")" 1 "the canary works: alice's check connected once"

# ---- runbookctl check: exit codes and output of failures
ctl_run "$ALICE" check hostkey
assert_eq "$CTL_RC" 1 "runbookctl check hostkey exits 1"
assert_match "$CTL_OUT" "✗ host-key +failed +unknown host key" "runbookctl check: the failed stage marked ✗"
assert_match "$CTL_OUT" "- run +skipped" "runbookctl check: a skipped stage marked -"
ctl_run "$ALICE" check closed --json=pretty
assert_eq "$CTL_RC" 1 "runbookctl check closed --json exits 1"
assert_eq "$(jq -r '.passed, (.stages[] | select(.stage == "connect") | .verdict)' <<<"$CTL_OUT" | tr '\n' ' ')" \
    "false failed " "check --json=pretty: passed false, connect failed"
expect_ctl_fail "runbookctl check of an unknown target" "No such target 'nope'" "$ALICE" check nope
expect_ctl_fail "runbookctl check without a target" "Too few arguments" "$ALICE" check
expect_ctl_ok "runbookctl check --help" "$ALICE" check --help
assert_match "$CTL_OUT" "runbookctl check TARGET" "check --help: the synopsis"

assert_eq "$(daemon_conns)" 1 "at the end, only the pooled connection is open"
finish
