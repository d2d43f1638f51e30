#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# ssh failure modes, each the step's Error naming its cause: a client key the server does not
# accept (authentication refused: user, key file, the server's methods); an RSA user key
# (libssh2 1.10 signs with RSA-SHA1 only, which OpenSSH 9 refuses: the Error says so); a missing
# key file (unreadable); a credential that does not exist in $CREDENTIALS_DIRECTORY; a closed port
# (connection refused, with host:port); a name that does not resolve (DNS failure). And the key
# types that work: ECDSA (read as a credential, cred:NAME from $CREDENTIALS_DIRECTORY) and the
# testbed's ed25519 key; and a host given by name ("localhost", pinned as [localhost]:PORT).
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

require_sshd
K="$WORK/keys"; mkdir -p "$K"
ssh-keygen -q -t ed25519 -N '' -C stranger -f "$K/stranger"
ssh-keygen -q -t rsa -b 2048 -N '' -C rsa-user -f "$K/rsa"
# PEM ("EC PRIVATE KEY"): libssh2 1.10 leaks two BIGNUMs per authentication with an ECDSA key in
# OpenSSH's own format (fixed in libssh2 1.11), which would fail the sanitizer build
ssh-keygen -q -t ecdsa -b 256 -m PEM -N '' -C ecdsa-user -f "$K/ecdsa"
cat "$K/rsa.pub" "$K/ecdsa.pub" >> "$TESTBED_DIR/ssh/authorized_keys"
mkdir -p "$T/creds"; cp "$K/ecdsa" "$T/creds/ops-key"; chmod 700 "$T/creds"
# a port nothing listens on
closed=$(( TESTBED_SSH_PORT == 65535 ? 1 : TESTBED_SSH_PORT + 1 ))
while ss -Htln "sport = :$closed" | grep -q .; do closed=$((closed + 1)); done

write_ssh_target wrongkey ".identity = \"$K/stranger\""
write_ssh_target rsa ".identity = \"$K/rsa\""
write_ssh_target nokey ".identity = \"$K/missing\""
write_ssh_target closed ".port = $closed"
write_ssh_target nodns '.host = "no-such-host.invalid"'
write_ssh_target ecdsa '.identity = "cred:ops-key"'
write_ssh_target nocred '.identity = "cred:not-there"'
# by name: resolved without blocking the loop, and pinned under the name
echo "[localhost]:$TESTBED_SSH_PORT $(cut -d' ' -f1,2 "$TESTBED_DIR/ssh/host_ed25519.pub")" > "$K/kh-byname"
write_ssh_target byname ".host = \"localhost\" | .known_hosts = \"$K/kh-byname\""
for t in wrongkey rsa nokey closed nodns ecdsa nocred byname; do
    write_ssh_runbook "rb-$t" "$t" "echo ran-$t"
done
export CREDENTIALS_DIRECTORY="$T/creds"
start_daemon
unset CREDENTIALS_DIRECTORY

# run_case TARGET EXPECTED-STATE: runs rb-TARGET, sets ERR to the step's Error
run_case() {
    local id
    id=$(start_session "$ALICE" "rb-$1" "$(ref "$1")") || die "StartSession failed"
    wait_session_state "$id" "$2" 30
    ERR=$(step_prop "$id" 0 Error)
    note "$1: Error: $ERR"
    get_output "$id" 0
}

run_case wrongkey failed
assert_match "$ERR" "authentication refused" "wrong key: authentication refused"
assert_match "$ERR" "user '$TESTBED_SSH_USER'" "wrong key: names the user"
assert_match "$ERR" "$K/stranger" "wrong key: names the key file"
assert_match "$ERR" "server accepts: publickey" "wrong key: names the server's methods"

run_case rsa failed
assert_match "$ERR" "authentication refused" "RSA key: authentication refused"
assert_match "$ERR" "RSA-SHA1" "RSA key: Error says RSA-SHA1 is refused"
assert_match "$ERR" "ed25519 or ECDSA" "RSA key: Error says what works"

run_case nokey failed
assert_match "$ERR" "key file '$K/missing'.*unreadable: No such file or directory" "missing key file: unreadable, and why"

run_case nocred failed
assert_match "$ERR" "key file '$T/creds/not-there' \(identity 'cred:not-there'\) unreadable: No such file" \
    "missing credential: the file in \$CREDENTIALS_DIRECTORY is unreadable, and why"

run_case closed failed
assert_match "$ERR" "connection refused" "closed port: connection refused"
assert_match "$ERR" "127\.0\.0\.1:$closed" "closed port: names host:port"

run_case nodns failed
assert_match "$ERR" "DNS failure" "unresolvable name: DNS failure"
assert_match "$ERR" "no-such-host\.invalid:$TESTBED_SSH_PORT" "unresolvable name: names host:port"

run_case ecdsa succeeded
assert_eq "$OUT_STDOUT" ran-ecdsa "an ECDSA key read from a credential works"
assert_false "the credential's key is not in the daemon's environment or argv" \
    grep -qsF -e "$(sed -n 2p "$K/ecdsa")" "/proc/$DAEMON_PID/cmdline" "/proc/$DAEMON_PID/environ"

run_case byname succeeded
assert_eq "$OUT_STDOUT" ran-byname "a host given by name (localhost) is resolved and reached"
finish
