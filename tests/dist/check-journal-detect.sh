#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tools/test.sh and tests/testbed.sh reuse a running journald only if its socket answers in this
# process's own filesystem (testbed.sh journal-answers). A socket bound in another mount
# namespace (a container on the same machine) shows in /proc/net/unix, which the old check read,
# but is not reachable here: it must not count. Run as root (unshare); skips (77) otherwise.
set -uo pipefail
SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
TB="$SOURCE_ROOT/tests/testbed.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (unshare --mount)"; exit 77; }
unshare --mount true 2>/dev/null || { echo "SKIP: no mount namespaces here"; exit 77; }
D=$(mktemp -d /tmp/runbookd-journal-detect.XXXXXX); trap 'kill $pid 2>/dev/null; rm -rf "$D"' EXIT
mkdir -p "$D/run"
rc=0
fail() { echo "FAIL: $*"; rc=1; }
pass() { echo "PASS: $*"; }
listener='
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
open(sys.argv[2], "w").close()
time.sleep(60)'

# a receiver bound in a private tmpfs of another mount namespace
unshare --mount --propagation private sh -c 'mount -t tmpfs tmpfs "$1/run" && exec python3 -c "$2" "$1/run/socket" "$1/ready"' \
    sh "$D" "$listener" &
pid=$!
for _ in $(seq 50); do [ -e "$D/ready" ] && break; sleep 0.1; done
[ -e "$D/ready" ] || { echo "FAIL: the receiver did not start"; exit 1; }
if awk -v p="$D/run/socket" '$NF == p {f=1} END {exit !f}' /proc/net/unix; then
    pass "/proc/net/unix lists the other namespace's socket (what the old check went by)"
else fail "/proc/net/unix does not list $D/run/socket"; fi
if bash "$TB" journal-answers "$D/run/socket"; then fail "journal-answers: a socket of another namespace counted"
else pass "journal-answers: a socket of another namespace does not count"; fi
kill $pid; wait $pid 2>/dev/null

# the same receiver in this filesystem answers; once it is gone, its socket file does not
python3 -c "$listener" "$D/run/socket" "$D/ready2" & pid=$!
for _ in $(seq 50); do [ -e "$D/ready2" ] && break; sleep 0.1; done
if bash "$TB" journal-answers "$D/run/socket"; then pass "journal-answers: a receiver here counts"
else fail "journal-answers: a receiver here does not count"; fi
kill $pid; wait $pid 2>/dev/null
if bash "$TB" journal-answers "$D/run/socket"; then fail "journal-answers: a stale socket file counted"
else pass "journal-answers: a stale socket file does not count"; fi
exit $rc
