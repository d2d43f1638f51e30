#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tools/test.sh - build and run every test suite (unit, integration, dist), as root:
#   bash tools/test.sh              # build/ (tools/setup.sh first: packages, users, build)
#   bash tools/test.sh --sanitize   # build-asan/ (AddressSanitizer + UndefinedBehaviorSanitizer)
#   bash tools/test.sh --fuzz       # build-fuzz/ (clang): each tests/fuzz/ target under libFuzzer
#                                   # for FUZZ_SECONDS (default 20) over its corpus
#   extra arguments after -- go to meson test (e.g. -- --suite integration test-cancel)
# Starts one journald for the whole run when none is running (every test's testbed reuses it)
# and stops it at the end. Names every test that was skipped or failed ("test: SKIP: NAME"), then
# ends with the line "tests: N passed, N failed, N skipped".
set -euo pipefail

SOURCE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { echo "test: $*" >&2; }

SANITIZE=0 FUZZ=0 MESON_ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --sanitize) SANITIZE=1 ;;
        --fuzz) FUZZ=1 ;;
        --) shift; MESON_ARGS=("$@"); break ;;
        -h|--help) sed -n '3,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "test: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
done

if [ $FUZZ = 1 ]; then
    bash "$SOURCE_ROOT/tools/setup.sh" --fuzz
    BUILDDIR="$SOURCE_ROOT/build-fuzz"
    MESON_ARGS=(--suite fuzz "${MESON_ARGS[@]}")
elif [ $SANITIZE = 1 ]; then
    bash "$SOURCE_ROOT/tools/setup.sh" --sanitize
    BUILDDIR="$SOURCE_ROOT/build-asan"
    # the deploy suite deploys a /usr build in a container: nothing there runs under the sanitizers
    MESON_ARGS=(--timeout-multiplier 3 --no-suite deploy "${MESON_ARGS[@]}")
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1:print_summary=1"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1:print_summary=1"
else
    bash "$SOURCE_ROOT/tools/setup.sh"
    BUILDDIR="$SOURCE_ROOT/build"
fi

# One journald for the run, unless the host already has one.
JOURNAL_TB=""
cleanup() {
    if [ -n "$JOURNAL_TB" ]; then
        bash "$SOURCE_ROOT/tests/testbed.sh" journal-down "$JOURNAL_TB" >/dev/null 2>&1 || true
        rm -rf "$JOURNAL_TB"
    fi
}
trap cleanup EXIT
# (a journald answers on the socket in this filesystem: see journal_answers in tests/testbed.sh)
if ! bash "$SOURCE_ROOT/tests/testbed.sh" journal-answers; then
    JOURNAL_TB=$(mktemp -d /tmp/runbookd-journal.XXXXXX)
    chmod 755 "$JOURNAL_TB"
    bash "$SOURCE_ROOT/tests/testbed.sh" journal-up "$JOURNAL_TB" >/dev/null
    say "started a journald for this run ($JOURNAL_TB)"
fi

TESTLOG="$BUILDDIR/meson-logs/testlog.json"
rm -f "$TESTLOG"
rc=0
meson test -C "$BUILDDIR" --print-errorlogs "${MESON_ARGS[@]}" || rc=$?

if [ ! -s "$TESTLOG" ]; then
    echo "test: meson test wrote no $TESTLOG (status $rc)" >&2
    echo "tests: 0 passed, 1 failed, 0 skipped"
    exit 1
fi
read -r passed failed skipped < <(jq -rs '
    [ (map(select(.result == "OK" or .result == "EXPECTEDFAIL")) | length),
      (map(select(.result == "FAIL" or .result == "ERROR" or .result == "TIMEOUT" or .result == "UNEXPECTEDPASS")) | length),
      (map(select(.result == "SKIP")) | length) ] | @tsv' "$TESTLOG")
[ "$rc" = 0 ] || [ "$failed" -gt 0 ] || failed=1      # meson failed without a failing test
# skipped and failed tests by name, before the last line
while read -r result name; do
    echo "test: $result: $name" >&2
done < <(jq -rs '.[] | select(.result != "OK" and .result != "EXPECTEDFAIL") | "\(.result) \(.name)"' "$TESTLOG")
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
