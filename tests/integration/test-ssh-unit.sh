#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The ssh connector's unit test against the testbed's real sshd (src/connector/ssh/test-ssh.c,
# test_testbed): a command's exit status and output come back, and the second run reuses the
# pooled connection. The unit suite runs the rest of test-ssh; this part needs the sshd.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_sshd

TEST_SSH=${TEST_SSH:-$(dirname "$RUNBOOKD")/test-ssh}
[ -x "$TEST_SSH" ] || die "no test-ssh next to runbookd ($TEST_SSH)"
if TESTBED_SSH_PORT=$TESTBED_SSH_PORT TESTBED_SSH_KEY=$TESTBED_SSH_KEY TESTBED_SSH_KNOWN_HOSTS=$TESTBED_SSH_KNOWN_HOSTS \
       "$TEST_SSH" --testbed > "$T/test-ssh.log" 2>&1; then
    pass "test-ssh --testbed ran against the testbed's sshd"
else
    rc=$?
    cat "$T/test-ssh.log"
    fail "test-ssh --testbed: exit status $rc"
fi
finish
