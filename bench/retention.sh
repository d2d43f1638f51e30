#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/retention.sh - a store at steady state stops growing (issue 15, item 4). A churn loop of
# quick sessions (bench/runbooks/churn.json: two approval-free steps, ~6 KB of output) is run
# against two daemons in turn, each on a fresh store:
#   off   no "retention": every session stays (the store grows with the history)
#   on    "retention": {"max_sessions": KEEP}: the older finished sessions are removed in
#         batches from the event loop, and LMDB reuses their pages
# After each round (ROUND_SESSIONS sessions started by 4 clients, then waited for until none is
# running), data.mdb's size and LMDB's own page counts (mdb_stat: pages in use, pages on the free
# list, and the audit database's pages: audit records are kept by design, ~2 a session) are taken.
# Reported side by side, with the ratio on/off at the end, the growth of 'on' over the second
# half of the run, and the pages that hold sessions (used - free - audit: a plateau). Not a timed
# test: figures, not a verdict on speed.
#
# usage: bash bench/retention.sh [BUILD_DIR]   (default: build-bench, a release build made here)
# knobs: RETBENCH_ROUNDS (default 10), RETBENCH_ROUND_SESSIONS (default 500), RETBENCH_KEEP (500)
set -euo pipefail
umask 022
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build-bench}
ROUNDS=${RETBENCH_ROUNDS:-10}
PER=${RETBENCH_ROUND_SESSIONS:-500}
KEEP=${RETBENCH_KEEP:-500}
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
command -v mdb_stat >/dev/null || { echo "bench: mdb_stat missing (tools/setup.sh: lmdb-utils)" >&2; exit 1; }
if [ ! -x "$BUILD/src/runbookd" ] || [ ! -x "$BUILD/bench/runbookd-bench" ]; then
    [ -d "$BUILD" ] || meson setup "$BUILD" "$ROOT" --buildtype=release >/dev/null
fi
meson compile -C "$BUILD" >/dev/null
RUNBOOKD=$BUILD/src/runbookd
BENCH=$BUILD/bench/runbookd-bench

T=$(mktemp -d /tmp/runbookd-bench-retention.XXXXXX)
chmod 755 "$T"
DAEMON=""
wait_gone() { for _ in $(seq 100); do [ -e "/proc/$1" ] || return 0; sleep 0.05; done; }
cleanup() {
    [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait_gone "$DAEMON"
    SOURCE_ROOT=$ROOT bash "$ROOT/tests/testbed.sh" down "$T/testbed" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT

SOURCE_ROOT=$ROOT bash "$ROOT/tests/testbed.sh" up "$T/testbed" > "$T/testbed.env" 2> "$T/testbed.log" ||
    { cat "$T/testbed.log"; exit 1; }
# shellcheck disable=SC1091
. "$T/testbed.env"

mkdir -p "$T/config/runbooks"
cp "$ROOT/bench/runbooks/churn.json" "$T/config/runbooks/"
val() { awk -v k="$1" '$1 == k {print $2}' "$2"; }
busy() { # sessions not finished (created, running)
    busctl --system --json=short call org.runbookd1 /org/runbookd1 org.runbookd1.Manager ListSessions \
        'a{sv}' 2 states as 2 created running limit u 1 | jq -r '.data[0] | length'
}
pages() { # STATE_DIR: "used free audit" pages, from LMDB's environment info, its free list and
          # the audit database (kept by design: it grows with the history, ~2 records a session)
    mdb_stat -ef "$1" | awk '/Number of pages used:/ {u = $NF} /Free pages:/ {f = $NF} END {printf "%s %s ", u, f}'
    mdb_stat -s audit "$1" | awk '/(Branch|Leaf|Overflow) pages:/ {n += $NF} END {print n}'
}

echo "== retention: the store's size in a churn loop ($(date -u +%FT%TZ), $(nproc) cores, build $BUILD)"
echo "   $ROUNDS rounds of $PER sessions; 'on' keeps the newest $KEEP finished sessions"
for v in off on; do
    case $v in
        off) echo '{}' ;;
        on) echo "{\"retention\": {\"max_sessions\": $KEEP}}" ;;
    esac > "$T/config/runbookd.json"
    rm -rf "$T/state-$v"; mkdir -p "$T/state-$v"
    "$BENCH" startup -- "$RUNBOOKD" --config-dir="$T/config" --state-dir="$T/state-$v" --log-level=warning \
        > "$T/startup" 2>>"$T/daemon-$v.log"
    DAEMON=$(val pid "$T/startup")
    : > "$T/fig-$v"
    for round in $(seq "$ROUNDS"); do
        "$BENCH" start-rate 4 "$PER" churn > "$T/rate" || { cat "$T/rate"; exit 1; }
        for _ in $(seq 600); do [ "$(busy)" = 0 ] && break; sleep 0.1; done
        sleep 2   # the pass that follows finished sessions (1 s later) and its batches
        read -r used free audit < <(pages "$T/state-$v")
        kept=$(busctl --system --json=short call org.runbookd1 /org/runbookd1 org.runbookd1.Manager ListSessions \
               'a{sv}' 1 limit u 1000 | jq -r '.data[0] | length')
        echo "$round $((round * PER)) $(stat -c %s "$T/state-$v/data.mdb") $used $free $audit $kept" >> "$T/fig-$v"
    done
    kill "$DAEMON"; wait_gone "$DAEMON"; DAEMON=""
done

printf '%6s %9s | %10s %7s %6s %6s %6s | %10s %7s %6s %6s %6s %9s | %6s\n' round sessions \
    "off bytes" used free audit listed "on bytes" used free audit listed "on-audit" on/off
paste -d' ' "$T/fig-off" "$T/fig-on" | while read -r r n s1 u1 f1 a1 k1 _ _ s2 u2 f2 a2 k2; do
    printf '%6s %9s | %10s %7s %6s %6s %6s | %10s %7s %6s %6s %6s %9s | %6s\n' "$r" "$n" "$s1" "$u1" "$f1" "$a1" "$k1" \
        "$s2" "$u2" "$f2" "$a2" "$k2" "$((u2 - f2 - a2))" "$(awk -v a="$s2" -v b="$s1" 'BEGIN { printf "%.2f", a / b }')"
done
half=$(( (ROUNDS + 1) / 2 ))
size_at() { awk -v r="$2" '$1 == r {print $3}' "$T/fig-$1"; }
growth() { awk -v a="$(size_at "$1" "$half")" -v b="$(size_at "$1" "$ROUNDS")" 'BEGIN { printf "%.2f", b / a }'; }
echo "data.mdb at the end, on/off:                     $(awk -v a="$(size_at on "$ROUNDS")" -v b="$(size_at off "$ROUNDS")" 'BEGIN { printf "%.3f", a / b }')"
echo "growth from round $half to round $ROUNDS (end/middle): off $(growth off)x, on $(growth on)x (a plateau: 1.00x)"
live() { awk -v r="$2" '$1 == r {print $4 - $5 - $6}' "$T/fig-$1"; }
echo "pages holding sessions (used - free - audit), 'on', round $half -> $ROUNDS: $(live on "$half") -> $(live on "$ROUNDS")"
echo "(listed: ListSessions' first page, at most 1000; used/free: LMDB pages, mdb_stat -ef; audit: the audit"
echo " database's pages, mdb_stat -s audit, kept by design; on-audit: used - free - audit, what the sessions hold)"
