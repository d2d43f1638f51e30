#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue #11 item 9: known_hosts is read the way OpenSSH reads it. Against the testbed's sshd
# (not on port 22): a plain "127.0.0.1" entry (port 22 only) is not enough; a key listed for the
# host and also marked @revoked is refused; a negated pattern excludes the host; a hashed
# "[host]:port" entry (ssh-keygen -H) is accepted. The command never runs where refused.
# (Before the fix, libssh2's matcher accepted the plain entry and the revoked key.)
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_sshd

KEY=$(cut -d' ' -f2,3 <<<"$(cat "$TESTBED_SSH_KNOWN_HOSTS")")   # "ssh-ed25519 AAAA…"
NAME="[127.0.0.1]:$TESTBED_SSH_PORT"
kh() { printf '%s\n' "$@" > "$T/kh-$name"; }
case_target() { # NAME EXPECT(ok|refused) LINES...
    name=$1 expect=$2; shift 2
    kh "$@"
    write_ssh_target "t-$name" ".known_hosts = \"$T/kh-$name\""
    write_ssh_runbook "r-$name" "t-$name" "touch $WORK/ran-$name"
    EXPECT[$name]=$expect
}
declare -A EXPECT
case_target plain refused "127.0.0.1 $KEY"
case_target revoked refused "$NAME $KEY" "@revoked * $KEY"
case_target negated refused "$NAME,!$NAME $KEY"
case_target wildneg refused "*,!127.0.0.1*,![127.0.0.1]:* $KEY"
case_target cert refused "@cert-authority $NAME $KEY"
case_target exact ok "$NAME $KEY"
case_target wildcard ok "[127.0.0.*]:$TESTBED_SSH_PORT $KEY"
name=hashed; kh "$NAME $KEY"
ssh-keygen -q -H -f "$T/kh-hashed" >/dev/null 2>&1; rm -f "$T/kh-hashed.old"
assert_match "$(cat "$T/kh-hashed")" '^\|1\|' "ssh-keygen -H wrote a hashed entry"
write_ssh_target t-hashed ".known_hosts = \"$T/kh-hashed\""
write_ssh_runbook r-hashed t-hashed "touch $WORK/ran-hashed"
EXPECT[hashed]=ok
start_daemon

for name in "${!EXPECT[@]}"; do
    id=$(start_session "$ALICE" "r-$name" "$(ref "$name")") || { fail "$name: StartSession failed"; continue; }
    if [ "${EXPECT[$name]}" = ok ]; then
        wait_session_state "$id" succeeded 30
        assert_true "$name: the host key is accepted and the command ran" test -e "$WORK/ran-$name"
    else
        wait_session_state "$id" failed 30
        assert_match "$(step_prop "$id" 0 Error)" "(unknown|revoked) host key for 127.0.0.1:$TESTBED_SSH_PORT" \
            "$name: refused, naming the host key problem"
        assert_false "$name: the command never ran" test -e "$WORK/ran-$name"
    fi
done
id=$(start_session "$ALICE" r-revoked "$(ref revoked2)")
wait_session_state "$id" failed 30
assert_match "$(step_prop "$id" 0 Error)" "marks @revoked" "the revoked key's error says @revoked"
finish
