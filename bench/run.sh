#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/run.sh - runbookd's benchmarks (issue targets), each measured side by side with its
# baseline in one run, on the real daemon against a private bus, polkitd and journald.
#
# usage: bash bench/run.sh [BUILD_DIR]     (default: build-bench, a release build made here)
#
# Figures (the targets of the core issue):
#   local step overhead   100 'true' steps (approval none) vs a shell loop of 100 '/bin/sh -c true'  ratio <= 1.5
#   approval latency      Approve() call -> the step seen running, median                           <= 2 ms
#                         (baseline: a bare D-Bus round trip to runbookd)
#   StartSession rate     4 concurrent clients, every commit durable                                  >= 2000/s
#                         (baseline: one fdatasync on the state dir's disk)
#   memory                idle RSS <= 8 MiB; with 100,000 finished sessions RSS <= 16 MiB and
#                         start-up to READY <= 200 ms (baseline: start-up with an empty store)
set -euo pipefail
umask 022   # runbookd refuses group- or world-writable configuration files
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build-bench}
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }

if [ ! -x "$BUILD/src/runbookd" ] || [ ! -x "$BUILD/bench/runbookd-bench" ]; then
    [ -d "$BUILD" ] || meson setup "$BUILD" "$ROOT" --buildtype=release >/dev/null
    meson compile -C "$BUILD" >/dev/null
fi
RUNBOOKD=$BUILD/src/runbookd
BENCH=$BUILD/bench/runbookd-bench

T=$(mktemp -d /tmp/runbookd-bench.XXXXXX)
chmod 755 "$T"
DAEMON=""
cleanup() {
    [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait_gone "$DAEMON"
    SOURCE_ROOT=$ROOT bash "$ROOT/tests/testbed.sh" down "$T/testbed" >/dev/null 2>&1 || true
    rm -rf "$T"
}
# wait_gone PID: 0 once the process is gone; 1 if it is still there after 5 s
wait_gone() { for _ in $(seq 100); do [ -e "/proc/$1" ] || return 0; sleep 0.05; done; return 1; }
trap cleanup EXIT

SOURCE_ROOT=$ROOT bash "$ROOT/tests/testbed.sh" up "$T/testbed" > "$T/testbed.env" 2> "$T/testbed.log" ||
    { cat "$T/testbed.log"; exit 1; }
# shellcheck disable=SC1091
. "$T/testbed.env"

mkdir -p "$T/config/runbooks" "$T/state"
cp "$ROOT"/bench/runbooks/*.json "$T/config/runbooks/"
# the benchmark's own calls come from root with no login uid: let them approve
echo '{"allow_self_approval": true, "allow_unattended_root_approval": true, "max_active_sessions": 1000000,
      "max_active_sessions_per_user": 1000000}' > "$T/config/runbookd.json"

val() { awk -v k="$1" '$1 == k {print $2}' "$2"; }

start() { # STATE_DIR OUT
    "$BENCH" startup -- "$RUNBOOKD" --config-dir="$T/config" --state-dir="$1" --log-level=warning > "$2" 2>>"$T/daemon.log"
    DAEMON=$(val pid "$2")
}
stop() { kill "$DAEMON"; wait_gone "$DAEMON" || { echo "bench: runbookd $DAEMON did not exit within 5 s" >&2; exit 1; }; DAEMON=""; }

echo "== runbookd benchmarks ($(date -u +%FT%TZ), $(nproc) cores, build $BUILD)"

# memory, idle
start "$T/state" "$T/startup-empty"
sleep 0.5
"$BENCH" rss "$DAEMON" > "$T/rss-idle"

# local step overhead: sessions and shell loops alternate, 9 rounds each, medians compared
: > "$T/steps"; : > "$T/loop"
for _ in 1 2 3 4 5 6 7 8 9; do
    "$BENCH" session-time steps100 >> "$T/steps"
    t0=$(date +%s%N); for _ in $(seq 100); do /bin/sh -c true; done; t1=$(date +%s%N)
    echo "loop $(( (t1 - t0) / 1000 ))" >> "$T/loop"
done
steps_ms=$(awk '{print $2}' "$T/steps" | sort -n | sed -n 5p)
loop_ms=$(awk '{printf "%.3f\n", $2 / 1000}' "$T/loop" | sort -n | sed -n 5p)

# approval latency, with a bare round trip beside it
"$BENCH" ping 500 > "$T/ping"
"$BENCH" approve-latency 300 gate > "$T/approve"

# StartSession throughput, with the cost of one fdatasync beside it
"$BENCH" fsync "$T/state" 200 > "$T/fsync"
"$BENCH" start-rate 4 20000 gate > "$T/rate"
stop

# 100,000 finished sessions
"$BENCH" populate "$T/state-100k" 100000 > /dev/null
start "$T/state-100k" "$T/startup-100k"
sleep 0.5
"$BENCH" rss "$DAEMON" > "$T/rss-100k"
stop

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == "<=") ? (v <= t) : (v >= t); print ok ? "met" : "NOT MET" }'; }

rss_idle=$(awk '{printf "%.1f", $2 / 1024}' "$T/rss-idle")
rss_100k=$(awk '{printf "%.1f", $2 / 1024}' "$T/rss-100k")
ready_empty=$(val startup_to_ready "$T/startup-empty")
ready_100k=$(val startup_to_ready "$T/startup-100k")
appr=$(val approve_latency_median "$T/approve")
ping=$(val bus_round_trip_median "$T/ping")
rate=$(val start_rate "$T/rate")
fsync=$(val fsync_median "$T/fsync")
step_ratio=$(ratio "$steps_ms" "$loop_ms")

printf '%-34s %12s %14s %10s %8s %s\n' figure value baseline ratio target verdict
printf '%-34s %9s ms %11s ms %10s %8s %s\n' "100 local steps vs 100 sh -c true" "$steps_ms" "$loop_ms" "$step_ratio" "<=1.5x" "$(verdict "$step_ratio" "<=" 1.5)"
printf '%-34s %9s ms %11s ms %10s %8s %s\n' "approval latency (median)" "$appr" "$ping" "$(ratio "$appr" "$ping")" "<=2ms" "$(verdict "$appr" "<=" 2)"
printf '%-34s %8s /s %11s ms %10s %8s %s\n' "StartSession, 4 clients, durable" "$rate" "$fsync" "-" ">=2000" "$(verdict "$rate" ">=" 2000)"
printf '%-34s %8s MiB %14s %10s %8s %s\n' "idle RSS" "$rss_idle" "-" "-" "<=8" "$(verdict "$rss_idle" "<=" 8)"
printf '%-34s %8s MiB %11s MiB %10s %8s %s\n' "RSS with 100,000 finished sessions" "$rss_100k" "$rss_idle" "$(ratio "$rss_100k" "$rss_idle")" "<=16" "$(verdict "$rss_100k" "<=" 16)"
printf '%-34s %9s ms %11s ms %10s %8s %s\n' "start-up to READY, 100,000 sessions" "$ready_100k" "$ready_empty" "$(ratio "$ready_100k" "$ready_empty")" "<=200ms" "$(verdict "$ready_100k" "<=" 200)"
echo "(baselines: shell loop run alternately with the sessions; bus round trip = Peer.Ping to runbookd;"
echo " fsync = one 4 KiB write + fdatasync in the state dir; RSS/start-up baseline = the same daemon, empty store)"
