#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The ssh connector against dropbear (Debian's dropbear-bin), which, unlike OpenSSH, starts the
# login shell in its own process group: the core scenarios of tests/ssh-peer-scenarios.sh (run,
# host keys, timeout and cancel with the remote processes gone, pooled reuse, Target.Check()).
# Before the command got a process group of its own (ssh-wrap.c), a timed-out 'sleep 300' stayed
# running on the host, and the step took 12 s to end.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$SOURCE_ROOT/tests/ssh-peer-scenarios.sh"

ssh_peer_up dropbear
peer_config dropbear
start_daemon
peer_scenarios dropbear
assert_match "$PEER_SERVER_ID" "^SSH-2\.0-dropbear" "the server is dropbear"
finish
