#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/notify.sh - a failing notification sink never slows a session (issue 14, item 3). One
# runbook of 100 steps that fail (on_failure: continue: 100 step_failed events and a
# session_finished, each committed to the outbox with its step) is timed, StartSession to the
# session seen finished, with runbookd configured:
#   none       no sink (nothing is written to the outbox: the baseline)
#   refused    a webhook on a port where nothing listens (connection refused at once)
#   blackhole  a webhook that accepts connections and never answers (each attempt waits for
#              its 10 s timeout)
#   live       a webhook that answers 200 at once (tests/notify-receiver/receiver.py)
# Variants alternate in each round (a daemon of its own each, which runs one session to warm up
# and then the one timed); medians of the rounds. Target: a dead sink (refused, blackhole) within
# 1.1x of none.
#
# usage: bash bench/notify.sh [BUILD_DIR]   (default: build-bench, a release build made here)
# knobs: NOTIFYBENCH_ROUNDS (default 7)
set -euo pipefail
umask 022
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build-bench}
ROUNDS=${NOTIFYBENCH_ROUNDS:-7}
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
if [ ! -x "$BUILD/src/runbookd" ] || [ ! -x "$BUILD/bench/runbookd-bench" ]; then
    [ -d "$BUILD" ] || meson setup "$BUILD" "$ROOT" --buildtype=release >/dev/null
fi
meson compile -C "$BUILD" >/dev/null
RUNBOOKD=$BUILD/src/runbookd
BENCH=$BUILD/bench/runbookd-bench

T=$(mktemp -d /tmp/runbookd-bench-notify.XXXXXX)
chmod 755 "$T"
DAEMON="" PIDS=()
wait_gone() { for _ in $(seq 100); do [ -e "/proc/$1" ] || return 0; sleep 0.05; done; }
cleanup() {
    [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait_gone "$DAEMON"
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    SOURCE_ROOT=$ROOT bash "$ROOT/tests/testbed.sh" down "$T/testbed" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT

SOURCE_ROOT=$ROOT bash "$ROOT/tests/testbed.sh" up "$T/testbed" > "$T/testbed.env" 2> "$T/testbed.log" ||
    { cat "$T/testbed.log"; exit 1; }
# shellcheck disable=SC1091
. "$T/testbed.env"

# the sinks: a receiver that answers 200, a port nobody listens on, a listener that never answers
mkdir -p "$T/nr"
echo '{}' > "$T/nr/config.json"
python3 "$ROOT/tests/notify-receiver/receiver.py" --dir "$T/nr" --config "$T/nr/config.json" 2>"$T/nr.log" &
PIDS+=($!)
python3 - "$T/blackhole.port" <<'PY' &
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1024)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); __import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    c, _ = s.accept(); held.append(c)   # accepted, read from never, never answered
PY
PIDS+=($!)
REFUSED_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for _ in $(seq 100); do [ -s "$T/nr/ports.json" ] && [ -s "$T/blackhole.port" ] && break; sleep 0.1; done
LIVE="http://127.0.0.1:$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http"])' "$T/nr/ports.json")/hook"
BLACKHOLE="http://127.0.0.1:$(cat "$T/blackhole.port")/hook"
REFUSED="http://127.0.0.1:$REFUSED_PORT/hook"

mkdir -p "$T/config/runbooks"
cp "$ROOT/bench/runbooks/failing100.json" "$T/config/runbooks/"
base='"allow_self_approval": true, "allow_unattended_root_approval": true'
config() { # VARIANT
    case $1 in
        none) echo "{$base}" ;;
        refused) echo "{$base, \"notify\": [{\"name\": \"s\", \"webhook\": \"$REFUSED\"}]}" ;;
        blackhole) echo "{$base, \"notify\": [{\"name\": \"s\", \"webhook\": \"$BLACKHOLE\"}]}" ;;
        live) echo "{$base, \"notify\": [{\"name\": \"s\", \"webhook\": \"$LIVE\"}]}" ;;
    esac > "$T/config/runbookd.json"
}
val() { awk -v k="$1" '$1 == k {print $2}' "$2"; }
# the CPU time runbookd itself used so far (user + system, ms): less noisy than wall time on a
# small machine where every step is a fork
# (schedstat: nanoseconds on a CPU; /proc/PID/stat counts in 10 ms ticks)
cpu_ms() { awk '{ printf "%.1f\n", $1 / 1000000 }' "/proc/$1/schedstat"; }
VARIANTS="none refused blackhole live"

echo "== notification sinks and session time ($(date -u +%FT%TZ), $(nproc) cores, build $BUILD)"
for round in $(seq "$ROUNDS"); do
    for v in $VARIANTS; do
        config "$v"
        rm -rf "$T/state"; mkdir -p "$T/state"
        "$BENCH" startup -- "$RUNBOOKD" --config-dir="$T/config" --state-dir="$T/state" --log-level=warning \
            > "$T/startup" 2>>"$T/daemon.log"
        DAEMON=$(val pid "$T/startup")
        # a first session warms the daemon up (and loads libcurl, once in a daemon's life, where a
        # sink is set): the figure is the second, a dead sink's backoff under way by then
        "$BENCH" session-time failing100 > /dev/null
        c0=$(cpu_ms "$DAEMON")
        "$BENCH" session-time failing100 > "$T/one"
        c1=$(cpu_ms "$DAEMON")
        echo "$(val session_time "$T/one")" >> "$T/time-$v"
        awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.1f\n", b - a }' >> "$T/cpu-$v"
        kill "$DAEMON"; wait_gone "$DAEMON"; DAEMON=""
    done
    echo "round $round: $(for v in $VARIANTS; do printf '%s %s ms  ' "$v" "$(tail -n 1 "$T/time-$v")"; done)"
done
median() { sort -n "$1" | awk '{a[NR] = $1} END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" 'BEGIN { print (r <= 1.1) ? "met" : "NOT MET" }'; }
base_ms=$(median "$T/time-none")
received=$(wc -l < "$T/nr/requests.jsonl" 2>/dev/null || echo 0)
base_cpu=$(median "$T/cpu-none")
printf '%-48s %10s %10s %7s %7s %s\n' figure value baseline ratio target verdict
for v in refused blackhole live; do
    m=$(median "$T/time-$v"); r=$(ratio "$m" "$base_ms")
    printf '%-48s %7s ms %7s ms %7s %7s %s\n' "failing100 with a '$v' sink" "$m" "$base_ms" "$r" \
        "$([ "$v" = live ] && echo - || echo '<=1.1x')" "$([ "$v" = live ] && echo - || verdict "$r")"
done
for v in refused blackhole live; do
    printf '%-48s %7s ms %7s ms %7s %7s %s\n' "  runbookd's CPU time in it, '$v' sink" "$(median "$T/cpu-$v")" "$base_cpu" \
        "$(ratio "$(median "$T/cpu-$v")" "$base_cpu")" - -
done
echo "(medians of $ROUNDS rounds, each the second session of a fresh daemon; baseline: the same session with no sink;"
echo " 101 notifications a session;"
echo " the live receiver got $received requests in all: what a daemon had not sent when it was stopped stays in its store)"
