#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/deploy/lib.sh: what the deploy tests (tests/deploy/test-*.sh, run inside a booted Debian 12)
# share: counting checks, waiting for a condition, runbookctl without a pager or agent.
PASS=0 FAIL=0
pass() { echo "PASS: $*"; PASS=$((PASS + 1)); }
fail() { echo "FAIL: $*"; FAIL=$((FAIL + 1)); }
die() { echo "FATAL: $*"; exit 1; }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
ctl() { runbookctl --no-pager --no-ask-password "$@"; }
waitfor() { # SECONDS DESC CMD...: until CMD succeeds
    local t=$(( $1 * 10 )) what=$2; shift 2
    while ! "$@" >/dev/null 2>&1; do t=$((t - 1)); [ $t -gt 0 ] || { fail "timeout: $what"; return 1; }; sleep 0.1; done
    pass "$what"
}
# the end of a test: the counts, and its status
finish() { # NAME
    echo "$1: $PASS passed, $FAIL failed"
    [ "$FAIL" = 0 ]
}
