#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The ssh connector against tinysshd (Debian's tinysshd, run by tcpserver): ed25519 only, and
# chacha20-poly1305@openssh.com as its only cipher. With a libssh2 that has that cipher (1.11.1
# and later), the core scenarios of tests/ssh-peer-scenarios.sh. Debian 12's libssh2 1.10 does not
# have it, so there the connection cannot be made at all, and what is tested is that runbookd says
# so in words: Target.Check() fails at connect naming the server ('SSH-2.0-tinyssh…'), what
# runbookd offers and what this libssh2 lacks; a step on the target fails with the same reason and
# its command never runs.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$SOURCE_ROOT/tests/ssh-peer-scenarios.sh"

ssh_peer_up tinyssh
peer_config tinyssh
start_daemon

libssh2=$(dpkg-query -W -f='${Version}' libssh2-1 2>/dev/null) || libssh2=""
note "libssh2 $libssh2"
if [ -n "$libssh2" ] && dpkg --compare-versions "$libssh2" ge 1.11.1; then
    peer_scenarios tinyssh
    assert_match "$PEER_SERVER_ID" "^SSH-2\.0-tinyssh" "the server is tinysshd"
    finish
fi

peer_check tinyssh || fail "Check failed: $LAST_ERROR_NAME: $LAST_ERROR_MESSAGE"
note "tinyssh check: $STAGES"
assert_eq "$(peer_verdicts)" "resolve=ok connect=failed host-key=skipped authenticate=skipped run=skipped" \
    "check: connect fails, the later stages are skipped"
why=$(peer_reason connect)
assert_match "$why" "SSH handshake with 127\.0\.0\.1:$PEER_PORT \(SSH-2\.0-tinyssh_[^)]*\) failed" \
    "check: the reason names the server's identification"
assert_match "$why" "no key exchange, cipher or MAC in common" "check: the reason says nothing is in common"
assert_match "$why" "libssh2 [0-9.]+ has no chacha20-poly1305" "check: the reason names what this libssh2 lacks"

R=$(ref step)
D="$WORK/tinyssh-step"
write_ssh_runbook tinyssh-step tinyssh "touch $D.marker"
expect_ok "Reload" rb_call root "$MANAGER" "$IFACE_MANAGER" Reload
id=$(start_session "$ALICE" tinyssh-step "$R") || die "StartSession failed"
wait_session_state "$id" failed 30
err=$(step_prop "$id" 0 Error)
assert_match "$err" "SSH-2\.0-tinyssh_.*no chacha20-poly1305" "a step fails with the same reason ($err)"
assert_false "the step's command did not run" test -e "$D.marker"
finish
