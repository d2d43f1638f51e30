#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue #11 item 10: runbookd offers only current SSH algorithms. Against an sshd that accepts
# only a weak cipher (CBC), only SHA-1/MD5 MACs, or only SHA-1 key exchanges, the step fails with
# the handshake error and the command never runs (before the fix libssh2's defaults, which include
# those, connected and ran it); the testbed's normal sshd still works.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_sshd

weak_sshd() { # NAME SSHD-OPTION-LINE...: an sshd on a free port with the testbed's keys and the option; sets PORT
    local name=$1 port cfg="$T/sshd-$1.conf"; shift
    for _ in 1 2 3 4 5 6 7 8; do
        port=$(( 20000 + RANDOM % 40000 ))
        awk -v p="$port" '$1 == "Port" {print "Port " p; next} {print}' "$TESTBED_DIR/ssh/sshd_config" > "$cfg"
        printf '%s\n' "$@" >> "$cfg"
        /usr/sbin/sshd -t -f "$cfg" || die "sshd rejects: $*"
        : > "$T/sshd-$name.log"
        bg sh -c 'exec /usr/sbin/sshd -D -e -f "$1" </dev/null >/dev/null 2>>"$2"' sh "$cfg" "$T/sshd-$name.log"
        for _ in $(seq 50); do grep -q "Server listening" "$T/sshd-$name.log" && break; sleep 0.1; done
        if grep -q "Server listening" "$T/sshd-$name.log"; then
            echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$TESTBED_DIR/ssh/host_ed25519.pub")" > "$T/known_hosts-$name"
            PORT=$port; return 0
        fi
    done
    die "sshd $name did not start"
}

for w in cbc:"Ciphers aes128-cbc,3des-cbc" mac:"MACs hmac-sha1,hmac-md5" kex:"KexAlgorithms diffie-hellman-group14-sha1,diffie-hellman-group1-sha1"; do
    name=${w%%:*} opt=${w#*:}
    weak_sshd "$name" "$opt"
    write_ssh_target "weak-$name" ".port = $PORT | .known_hosts = \"$T/known_hosts-$name\""
    write_ssh_runbook "run-$name" "weak-$name" "touch $WORK/ran-$name"
done
write_ssh_target good
write_ssh_runbook run-good good "touch $WORK/ran-good"
start_daemon

for name in cbc mac kex; do
    id=$(start_session "$ALICE" "run-$name" "$(ref "$name")") || { fail "$name: StartSession failed"; continue; }
    wait_session_state "$id" failed 30
    assert_match "$(step_prop "$id" 0 Error)" "SSH handshake with .* failed" "$name: the step fails in the handshake"
    assert_match "$(step_prop "$id" 0 Error)" "no key exchange, cipher or MAC in common" "$name: the error says why"
    assert_false "$name: the command never ran" test -e "$WORK/ran-$name"
done
id=$(start_session "$ALICE" run-good "$(ref good)") || fail "good: StartSession failed"
wait_session_state "$id" succeeded 30
assert_true "the testbed's sshd (current algorithms) still works" test -e "$WORK/ran-good"
finish
