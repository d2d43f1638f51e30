#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The inside of bench/units.sh: runs in the booted container, runbookd installed, as root.
set -euo pipefail
[ "$(cat /proc/1/comm)" = systemd ] || { echo "systemd is not PID 1 here" >&2; exit 1; }
ROUNDS=${UNITBENCH_ROUNDS:-7}
systemd-sysusers
systemctl reload dbus
mkdir -p /etc/runbookd/runbooks
install -m 644 bench/runbooks/steps100.json /etc/runbookd/runbooks/
systemctl start runbookd.service
ctl() { runbookctl --no-pager --no-ask-password "$@"; }
now_us() { echo $(( $(date +%s%N) / 1000 )); }

session() { # -> the session's own time, created to finished (µs), and the wall time around it
    local t0 t1 id show
    t0=$(now_us)
    id=$(ctl start steps100 --json=short | jq -r .id)
    ctl watch "$id" --until-end >/dev/null || true
    t1=$(now_us)
    show=$(ctl show "$id" --json=short)
    [ "$(jq -r .state <<<"$show")" = succeeded ] || { echo "session $id: $(jq -r .state <<<"$show")" >&2; exit 1; }
    echo "$(jq -r '.finished_at - .created_at' <<<"$show") $((t1 - t0))"
}
loop() {
    local t0 t1
    t0=$(now_us)
    for _ in $(seq 100); do systemd-run --wait -q true; done
    t1=$(now_us)
    echo $((t1 - t0))
}
# warm-up: the daemon's connection to systemd, the page cache
session >/dev/null
loop >/dev/null
: > /tmp/sessions; : > /tmp/loops
for _ in $(seq "$ROUNDS"); do
    session >> /tmp/sessions
    loop >> /tmp/loops
done
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
s_own=$(awk '{print $1}' /tmp/sessions | median)
s_wall=$(awk '{print $2}' /tmp/sessions | median)
l=$(median < /tmp/loops)
ms() { awk -v v="$1" 'BEGIN { printf "%.1f", v / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
r=$(ratio "$s_own" "$l")
verdict=$(awk -v v="$r" 'BEGIN { print (v <= 1.2) ? "met" : "NOT MET" }')
printf '%-46s %10s %12s %7s %7s %s\n' figure value baseline ratio target verdict
printf '%-46s %7s ms %9s ms %7s %7s %s\n' "100 'true' steps as units (session's own time)" "$(ms "$s_own")" "$(ms "$l")" "$r" "<=1.2x" "$verdict"
printf '%-46s %7s ms %9s ms %7s %7s %s\n' "  the same, wall time around runbookctl" "$(ms "$s_wall")" "$(ms "$l")" "$(ratio "$s_wall" "$l")" "-" "-"
echo "(medians of $ROUNDS rounds, sessions and loops alternating; baseline: 'systemd-run --wait -q true' x 100;"
echo " session's own time: its finished_at - created_at as runbookd records them)"
