#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/azure.sh - the azure connector's benchmark (issue 5): 200 VMs on tests/fake-azure, one
# approval-free step each, all in flight at once, on the real daemon against a private bus,
# polkitd and journald (tests/testbed.sh).
#
# usage: bash bench/azure.sh [BUILD_DIR]    (default: build-bench, a release build made here if
#                                            missing, else brought up to date with meson compile)
# knobs (env): AZ_BENCH_VMS (200), AZ_BENCH_API (action | managed; polling discipline is counted
#              for action), AZ_BENCH_SLEEP (seconds each script runs, 5), AZ_BENCH_RETRY_AFTER (the
#              Retry-After the fake sends while a run is not done, 2)
#
# Figures:
#   completed         sessions that ended succeeded, of those started (target: all)
#   peak RSS          runbookd's VmRSS sampled every 50 ms during the run, and its VmHWM  <= 32 MiB
#                     (baseline: its idle RSS before the run)
#   polls vs asked    GETs on the operations against the answers that invited one more (the 202,
#                     each "not yet", each 429/5xx, the "Succeeded" that invites the final GET);
#                     early = polls sent before the Retry-After they were given ran out    early = 0
#   wall time         first StartSession to the last session finished (baseline: the script's own
#                     run time; what is left is polling granularity and the fake's own speed)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build-bench}
N=${AZ_BENCH_VMS:-200}
API=${AZ_BENCH_API:-action}
SLEEP=${AZ_BENCH_SLEEP:-5}
RA=${AZ_BENCH_RETRY_AFTER:-2}
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
for p in jq openssl busctl python3; do command -v "$p" >/dev/null || { echo "bench: $p missing (tools/setup.sh)" >&2; exit 1; }; done

if [ ! -d "$BUILD" ]; then
    meson setup "$BUILD" "$ROOT" --buildtype=release >/dev/null
fi
meson compile -C "$BUILD" runbookd >/dev/null
RUNBOOKD=$BUILD/src/runbookd

T=$(mktemp -d /tmp/runbookd-bench-azure.XXXXXX)
chmod 755 "$T"
DAEMON="" FAKE="" SAMPLER=""
wait_gone() { for _ in $(seq 100); do [ -e "/proc/$1" ] || return 0; sleep 0.05; done; }
cleanup() {
    [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
    [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait_gone "$DAEMON"
    [ -n "$FAKE" ] && kill "$FAKE" 2>/dev/null && wait_gone "$FAKE"
    SOURCE_ROOT=$ROOT bash "$ROOT/tests/testbed.sh" down "$T/testbed" >/dev/null 2>&1 || true
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

SOURCE_ROOT=$ROOT bash "$ROOT/tests/testbed.sh" up "$T/testbed" > "$T/testbed.env" 2> "$T/testbed.log" ||
    { cat "$T/testbed.log"; exit 1; }
# shellcheck disable=SC1091
. "$T/testbed.env"

# ---- the fake: N VMs, one client; Retry-After on every "not yet"
AZ="$T/azure"
mkdir -p "$AZ" "$T/creds" "$T/config/runbooks" "$T/config/targets" "$T/state"
(
    cd "$AZ"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=bench-azure-ca &&
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 &&
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > server.ext &&
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext
) > "$T/certs.log" 2>&1 || { cat "$T/certs.log"; exit 1; }
SECRET="bench-$$-$RANDOM"
printf '%s' "$SECRET" > "$T/creds/sp"
chmod 700 "$T/creds"; chmod 600 "$T/creds/sp"
vm_name() { printf 'vm-%03d' "$1"; }
seq 1 "$N" | while read -r i; do vm_name "$i"; echo; done |
    jq -R . | jq -s --arg s "$SECRET" --argjson ra "$RA" \
        '{state_interval: 0.5,
          tenants: {t1: {clients: {"bench-app": {secret: $s}}}},
          vms: (map({key: ., value: {faults: {poll_retry_after: $ra}}}) | from_entries)}' > "$AZ/config.json"
python3 "$ROOT/tests/fake-azure/fake_azure.py" --dir "$AZ" --cert "$AZ/server.pem" --key "$AZ/server.key" \
    --config "$AZ/config.json" 2> "$T/fake.log" &
FAKE=$!
for _ in $(seq 100); do [ -s "$AZ/ports.json" ] && break; sleep 0.1; done
[ -s "$AZ/ports.json" ] || { cat "$T/fake.log"; echo "bench: the Azure fake did not start" >&2; exit 1; }
URL="https://127.0.0.1:$(jq -r .https "$AZ/ports.json")"

# ---- N targets and N runbooks (one approval-free step each)
for i in $(seq 1 "$N"); do
    vm=$(vm_name "$i")
    jq -n --arg vm "$vm" --arg url "$URL" --arg ca "$AZ/ca.pem" --arg api "$API" \
        '{connector: "azure", api: $api, subscription: "00000000-0000-0000-0000-0000000be7c4", resource_group: "rg-bench",
          vm: $vm, tenant: "t1", client_id: "bench-app", client_secret: "cred:sp",
          authority: $url, resource_manager: $url, ca_file: $ca}' > "$T/config/targets/$vm.json"
    jq -n --arg vm "$vm" --arg run "sleep $SLEEP; echo done-$vm" \
        '{description: "azure bench", target: $vm, steps: [{name: "run", run: $run, approval: "none", timeout: 600}]}' \
        > "$T/config/runbooks/az-$vm.json"
done
echo '{"max_active_sessions": 100000}' > "$T/config/runbookd.json"

CREDENTIALS_DIRECTORY="$T/creds" "$RUNBOOKD" --config-dir="$T/config" --state-dir="$T/state" --log-level=warning \
    > "$T/daemon.log" 2>&1 &
DAEMON=$!
for _ in $(seq 100); do
    busctl --system call org.runbookd1 /org/runbookd1 org.freedesktop.DBus.Peer Ping >/dev/null 2>&1 && break
    sleep 0.1
done
rss_kib() { awk '/^'"$2"':/ {print $2}' "/proc/$1/status"; }
sleep 0.5
idle=$(rss_kib "$DAEMON" VmRSS)

# ---- RSS sampler
( peak=0; while [ -e "/proc/$DAEMON" ]; do
      r=$(awk '/^VmRSS:/ {print $2}' "/proc/$DAEMON/status" 2>/dev/null || echo 0)
      [ "${r:-0}" -gt "$peak" ] && { peak=$r; echo "$peak" > "$T/peak"; }
      sleep 0.05
  done ) &
SAMPLER=$!

# ---- N sessions, started at once (50 callers in parallel)
t0=$(date +%s%N)
seq 1 "$N" | while read -r i; do vm_name "$i"; echo; done |
    xargs -P 50 -I{} busctl --system --json=short call org.runbookd1 /org/runbookd1 org.runbookd1.Manager \
        StartSession 'ssa{ss}' "az-{}" "bench-{}" 0 > "$T/started.json" 2> "$T/start-errors.log" || true
t_started=$(date +%s%N)
started=$(grep -c '"data"' "$T/started.json" || true)

# ---- until every session has ended (or 10 minutes)
active() { busctl --system --json=short call org.runbookd1 /org/runbookd1 org.runbookd1.Manager ListSessions 'a{sv}' \
             2 states as 3 created running waiting_approval limit u 1; }
for _ in $(seq 6000); do
    left=$(active | jq '.data[0] | length')
    [ "$left" = 0 ] && break
    sleep 0.1
done
t1=$(date +%s%N)
hwm=$(rss_kib "$DAEMON" VmHWM)
kill "$SAMPLER" 2>/dev/null; SAMPLER=""
peak=$(cat "$T/peak" 2>/dev/null || echo 0)
count() { # STATE...: sessions in these states (pages of 1000, newest first)
    local n=0 before=0 out
    while :; do
        out=$(busctl --system --json=short call org.runbookd1 /org/runbookd1 org.runbookd1.Manager ListSessions 'a{sv}' \
              3 states as "$#" "$@" limit u 1000 before u "$before")
        n=$((n + $(jq '.data[0] | length' <<<"$out"))) before=$(jq '.data[1]' <<<"$out")
        [ "$before" = 0 ] && break
    done
    echo "$n"
}
succeeded=$(count succeeded)
failed=$(count created waiting_approval running failed rejected cancelled interrupted)
sleep 1   # the fake's state.json is flushed every 0.5 s

st="$AZ/state.json"
polls=$(jq '[.operations[].polls] | add // 0' "$st")
asked=$(jq '[.operations[].asked] | add // 0' "$st")
early=$(jq '[.operations[].early] | add // 0' "$st")
ops=$(jq '.operations | length' "$st")
reqs=$(jq '[.requests[] | select(.kind == "arm")] | length' "$st")
conns=$(jq '.connections' "$st")
tokens=$(jq '.token_attempts["bench-app"] // 0' "$st")

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == "<=") ? (v <= t) : (op == ">=") ? (v >= t) : (v == t); print ok ? "met" : "NOT MET" }'; }
wall_ms=$(( (t1 - t0) / 1000000 ))
start_ms=$(( (t_started - t0) / 1000000 ))

echo "== runbookd azure benchmark ($(date -u +%FT%TZ), $(nproc) cores, build $BUILD, api $API, $N VMs, script ${SLEEP}s, Retry-After ${RA}s)"
printf '%-34s %12s %14s %10s %8s %s\n' figure value baseline ratio target verdict
printf '%-34s %8s/%-3s %14s %10s %8s %s\n' "azure steps completed (succeeded)" "$succeeded" "$N" "-" "-" "=$N" "$(verdict "$succeeded" "=" "$N")"
printf '%-34s %8s MiB %11s MiB %10s %8s %s\n' "peak RSS during the run (sampled)" "$(mib "$peak")" "$(mib "$idle")" "$(ratio "$peak" "$idle")" "<=32" "$(verdict "$(mib "$peak")" "<=" 32)"
printf '%-34s %8s MiB %11s MiB %10s %8s %s\n' "peak RSS during the run (VmHWM)" "$(mib "$hwm")" "$(mib "$idle")" "$(ratio "$hwm" "$idle")" "<=32" "$(verdict "$(mib "$hwm")" "<=" 32)"
if [ "$API" = action ]; then
printf '%-34s %12s %10s asked %10s %8s %s\n' "operation polls made" "$polls" "$asked" "$(ratio "$polls" "$asked")" "<=1.0x" "$(verdict "$polls" "<=" "$asked")"
printf '%-34s %12s %14s %10s %8s %s\n' "polls before their Retry-After" "$early" "-" "-" "=0" "$(verdict "$early" "=" 0)"
fi
printf '%-34s %9s ms %11s ms %10s %8s %s\n' "wall time, $N steps" "$wall_ms" "$((SLEEP * 1000))" "$(ratio "$wall_ms" "$((SLEEP * 1000))")" "-" "-"
echo "(started $started sessions in ${start_ms} ms, $failed not succeeded; $ops operations; $reqs ARM requests over $conns TLS" \
     "connections; $tokens token request(s); baselines: idle RSS before the run, the script's own run time)"
[ -s "$T/start-errors.log" ] && { echo "StartSession errors:"; sort "$T/start-errors.log" | uniq -c | head -n 5; }
exit 0
