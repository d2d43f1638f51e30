#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/pending.sh - runbookd with 10,000 sessions waiting for approval (issue 15, item 5), each
# figure beside the same daemon's with an empty store, in one run, on the real daemon against a
# private bus, polkitd and journald (tests/testbed.sh). The sessions are started from 4 clients
# (runbookd-bench start-rate, bench/runbooks/gate.json: one step behind an approval), first 1,000
# (an informative column, to show how the figures scale), then the rest up to 10,000.
#
# Figures (value: 10,000 pending; baseline: empty store; ratio value/baseline; then 1,000 pending):
#   ListPendingApprovals   round trip of the D-Bus call as the client sees it, median, p95 and max
#                          of 50 calls one after another, and the daemon's own CPU time a call
#                          (/proc/PID/task/*/schedstat over the 50: less sensitive to other load);
#                          the entries it returned (must be exactly the sessions waiting: the run
#                          fails otherwise) and the reply's body in bytes on the wire. Taken again
#                          after a restart.
#   RSS                    idle (0.5 s after the last start or call), and its anonymous part (the
#                          heap; the rest is mostly LMDB's map): right after the sessions were
#                          created, and after a restart of the daemon on that store
#   open fds               ls /proc/PID/fd | wc -l, at the same moments
#   start-up to READY=1    exec to READY=1, median of 5 restarts on the same state dir (the empty
#                          store, a copy of the store as it was at 1,000, and the 10,000 in turn),
#                          and the daemon's CPU time by then
# No targets: figures, not verdicts; the run fails only when a daemon does not start, a call
# fails, or a count is wrong.
#
# usage: bash bench/pending.sh [BUILD_DIR]     (default: build-bench, a release build made here)
# knobs: PENDBENCH_SESSIONS (default 10000), PENDBENCH_MID (1000), PENDBENCH_CALLS (50),
#        PENDBENCH_RESTARTS (5), PENDBENCH_AS (default: root; a user to start the sessions as, e.g.
#        rbtest-alice, whom the testbed's polkit rules allow: sessions of a person other than root
#        take other paths, e.g. counting a person's active sessions at each StartSession)
set -euo pipefail
umask 022   # runbookd refuses group- or world-writable configuration files
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build-bench}
N=${PENDBENCH_SESSIONS:-10000}
MID=${PENDBENCH_MID:-1000}
CALLS=${PENDBENCH_CALLS:-50}
RESTARTS=${PENDBENCH_RESTARTS:-5}
AS=${PENDBENCH_AS:-}
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
[ "$MID" -lt "$N" ] || { echo "bench: PENDBENCH_MID must be below PENDBENCH_SESSIONS" >&2; exit 1; }
[ -z "$AS" ] || id "$AS" >/dev/null || { echo "bench: no user '$AS' (tools/setup.sh creates rbtest-alice)" >&2; exit 1; }

if [ ! -x "$BUILD/src/runbookd" ] || [ ! -x "$BUILD/bench/runbookd-bench" ]; then
    [ -d "$BUILD" ] || meson setup "$BUILD" "$ROOT" --buildtype=release >/dev/null
fi
meson compile -C "$BUILD" >/dev/null
RUNBOOKD=$BUILD/src/runbookd
BENCH=$BUILD/bench/runbookd-bench

T=$(mktemp -d /tmp/runbookd-bench-pending.XXXXXX)
chmod 755 "$T"
DAEMON=""
# a daemon with 10,000 sessions may take longer than run.sh's 5 s to go: wait up to 60 s, and
# say so if it is still there (the next start on the same store would fail)
wait_gone() { for _ in $(seq 600); do [ -e "/proc/$1" ] || return 0; sleep 0.1; done; return 1; }
cleanup() {
    if [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && ! wait_gone "$DAEMON"; then
        kill -KILL "$DAEMON" 2>/dev/null || true
    fi
    SOURCE_ROOT=$ROOT bash "$ROOT/tests/testbed.sh" down "$T/testbed" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP   # through the EXIT trap: nothing left behind
fail() { echo "bench: $*" >&2; [ -s "$T/daemon.log" ] && tail -n 20 "$T/daemon.log" >&2; exit 1; }

SOURCE_ROOT=$ROOT bash "$ROOT/tests/testbed.sh" up "$T/testbed" > "$T/testbed.env" 2> "$T/testbed.log" ||
    { cat "$T/testbed.log"; exit 1; }
# shellcheck disable=SC1091
. "$T/testbed.env"

mkdir -p "$T/config/runbooks" "$T/state-empty" "$T/state-n"
cp "$ROOT/bench/runbooks/gate.json" "$T/config/runbooks/"
# 10,000 sessions not finished, all from one person: above both defaults (4096, and 256 a person)
echo '{"max_active_sessions": 1000000, "max_active_sessions_per_user": 1000000}' > "$T/config/runbookd.json"

val() { awk -v k="$1" '$1 == k {print $2}' "$2"; }
start() { # STATE_DIR OUT
    "$BENCH" startup -- "$RUNBOOKD" --config-dir="$T/config" --state-dir="$1" --log-level=warning > "$2" \
        2>>"$T/daemon.log" || fail "runbookd did not start on $1"
    DAEMON=$(val pid "$2")
}
stop() { kill "$DAEMON"; wait_gone "$DAEMON" || fail "runbookd ($DAEMON) still running 60 s after SIGTERM"; DAEMON=""; }
# shellcheck disable=SC2012 # fd names are numbers
fds() { ls "/proc/$1/fd" | wc -l; }
cpu_ns() { cat "/proc/$1"/task/*/schedstat | awk '{ns += $1} END {printf "%.0f\n", ns}'; }   # time on a CPU, its threads
snapshot() { # NAME: RSS (and its anonymous part) and open fds of the daemon, once it is idle
    sleep 0.5
    "$BENCH" rss "$DAEMON" > "$T/rss-$1"
    awk '$1 == "RssAnon:" {print "rss_anon", $2, "KiB"}' "/proc/$DAEMON/status" >> "$T/rss-$1"
    fds "$DAEMON" > "$T/fds-$1"
}
list() { # NAME EXPECT: CALLS timed calls, each reply checked to hold EXPECT entries
    local c0 c1
    c0=$(cpu_ns "$DAEMON")
    "$BENCH" list-pending "$CALLS" "$2" > "$T/list-$1" || fail "ListPendingApprovals: expected $2 entries (above)"
    c1=$(cpu_ns "$DAEMON")
    awk -v d=$((c1 - c0)) -v n="$CALLS" 'BEGIN { printf "list_pending_cpu %.3f ms\n", d / 1e6 / n }' >> "$T/list-$1"
}
create() { # NAME COUNT TOTAL: start COUNT sessions, then wait until TOTAL wait (one may reach its gate
            # after its reply)
    local name=$1 c0 c1
    shift
    c0=$(cpu_ns "$DAEMON")
    if [ -n "$AS" ]; then
        setpriv --reuid="$AS" --regid="$AS" --init-groups "$BENCH" start-rate 4 "$1" gate > "$T/rate-$name"
    else
        "$BENCH" start-rate 4 "$1" gate > "$T/rate-$name"
    fi || { cat "$T/rate-$name" >&2; fail "StartSession failed"; }
    c1=$(cpu_ns "$DAEMON")
    awk -v d=$((c1 - c0)) -v n="$1" 'BEGIN { printf "start_cpu %.3f ms\n", d / 1e6 / n }' >> "$T/rate-$name"
    for _ in $(seq 300); do
        "$BENCH" list-pending 1 "$2" > /dev/null 2>&1 && return 0
        sleep 0.1
    done
    "$BENCH" list-pending 1 "$2" > /dev/null || fail "fewer than $2 sessions waiting for approval 30 s after the last start"
}

echo "== runbookd with $N sessions waiting for approval, started by ${AS:-root} ($(date -u +%FT%TZ), $(nproc) cores, build $BUILD)"

# the empty store
start "$T/state-empty" "$T/startup-first-empty"
snapshot empty
list empty 0
stop

# 1,000 waiting (the store is copied as it is then, for the start-up runs), then 10,000
start "$T/state-n" "$T/startup-first"
create mid "$MID" "$MID"
snapshot mid
list mid "$MID"
stop
cp -a "$T/state-n" "$T/state-mid"
start "$T/state-n" "$T/startup-again"
create n $((N - MID)) "$N"
snapshot n
list n "$N"
stop

# start-up: restarts on the same state dirs, the three stores in turn; in the last round each
# daemon is looked at (RSS, fds, and the calls) before it is stopped
for i in $(seq "$RESTARTS"); do
    for v in empty mid n; do
        start "$T/state-$v" "$T/startup-$v-$i"
        if [ "$i" = "$RESTARTS" ]; then
            snapshot "$v-restart"
            case $v in empty) list "$v-restart" 0 ;; mid) list "$v-restart" "$MID" ;; n) list "$v-restart" "$N" ;; esac
        fi
        stop
    done
done

median() { # KEY FILES...: the median of KEY in the files
    local k=$1; shift
    for f in "$@"; do val "$k" "$f"; done | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}
runs() { for f in "$@"; do printf '%s ' "$(val startup_to_ready "$f")"; done; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }
mib() { awk -v k="$2" '$1 == k {printf "%.1f", $2 / 1024}' "$T/rss-$1"; }

row() { # LABEL UNIT VALUE BASELINE MID
    printf '%-44s %-5s %12s %12s %9s %12s\n' "$1" "$2" "$3" "$4" "$(ratio "$3" "$4")" "$5"
}
lrow() { # LABEL UNIT KEY SUFFIX: a figure of the three ListPendingApprovals runs
    row "$1" "$2" "$(val "$3" "$T/list-n$4")" "$(val "$3" "$T/list-empty$4")" "$(val "$3" "$T/list-mid$4")"
}
printf '%-44s %-5s %12s %12s %9s %12s\n' figure unit "$N pend." "empty" ratio "$MID pend."
lrow "ListPendingApprovals median" ms list_pending_median ""
lrow "ListPendingApprovals p95" ms list_pending_p95 ""
lrow "ListPendingApprovals max" ms list_pending_max ""
lrow "  daemon CPU a call" ms list_pending_cpu ""
lrow "  entries returned" "" list_pending_entries ""
lrow "  reply body" bytes list_pending_body ""
lrow "ListPendingApprovals median, after restart" ms list_pending_median -restart
lrow "ListPendingApprovals p95, after restart" ms list_pending_p95 -restart
lrow "  daemon CPU a call, after restart" ms list_pending_cpu -restart
row "RSS, right after creating them" MiB "$(mib n rss)" "$(mib empty rss)" "$(mib mid rss)"
row "  anonymous" MiB "$(mib n rss_anon)" "$(mib empty rss_anon)" "$(mib mid rss_anon)"
row "RSS, after a restart" MiB "$(mib n-restart rss)" "$(mib empty-restart rss)" "$(mib mid-restart rss)"
row "  anonymous" MiB "$(mib n-restart rss_anon)" "$(mib empty-restart rss_anon)" "$(mib mid-restart rss_anon)"
row "open fds, right after creating them" "" "$(cat "$T/fds-n")" "$(cat "$T/fds-empty")" "$(cat "$T/fds-mid")"
row "open fds, after a restart" "" "$(cat "$T/fds-n-restart")" "$(cat "$T/fds-empty-restart")" "$(cat "$T/fds-mid-restart")"
for k in startup_to_ready cpu_to_ready; do
    case $k in startup_to_ready) l="start-up to READY=1 (median of $RESTARTS)" ;; *) l="  daemon CPU by READY=1 (median)" ;; esac
    row "$l" ms "$(median $k "$T"/startup-n-*)" "$(median $k "$T"/startup-empty-*)" "$(median $k "$T"/startup-mid-*)"
done
echo "(created by 4 clients: the first $MID at $(val start_rate "$T/rate-mid")/s ($(val start_cpu "$T/rate-mid") ms daemon CPU each)," \
     "the other $((N - MID)) at $(val start_rate "$T/rate-n")/s ($(val start_cpu "$T/rate-n") ms each);"
echo " start-up runs, ms: empty $(runs "$T"/startup-empty-*)| $MID $(runs "$T"/startup-mid-*)| $N $(runs "$T"/startup-n-*);"
echo " reply body: the D-Bus marshalled a(uussssssustuuot), header not counted:" \
     "$(awk -v b="$(val list_pending_body "$T/list-n")" -v n="$N" 'BEGIN { printf "%.0f", b / n }') bytes an entry;"
echo " daemon CPU: its time on a CPU over the calls, /proc/PID/task/*/schedstat)"
