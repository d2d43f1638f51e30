#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/ssh.sh - the SSH fan-out benchmark, in two parts:
#   small  'true' on 50 hosts, concurrency 10, by runbookd (a target group of 50 ssh targets) and,
#          side by side in one run, by pdsh, clush and ansible (Debian's packages), with a bare
#          libssh2 channel exec on an open session as the baseline;
#   fleet  'true' on 1,000 hosts, concurrency 100 (issue 15): runbookd (one group of 1,000 ssh
#          targets) beside pdsh -f 100, with runbookd's RSS, open descriptors and CPU time.
#
# usage: bash bench/ssh.sh [BUILD_DIR]     (default: build-bench, a release build made here)
# knobs: SSHBENCH_ROUNDS (default 7)       rounds; each round runs every contender once (runbookd:
#                                          a fresh daemon, one cold session, then SSHBENCH_WARM warm)
#        SSHBENCH_WARM (default 3)         warm runbookd sessions per round
#        SSHBENCH_EXECS (default 200)      baseline channel execs per round
#        SSHBENCH_PARTS (default "small fleet")  which parts run
#        SSHBENCH_FLEET_HOSTS (default 1000), SSHBENCH_FLEET_CONC (default 100),
#        SSHBENCH_FLEET_ROUNDS (default 3), SSHBENCH_FLEET_WARM (default 2)  the fleet part's
#                                          hosts, fan-out and rounds (each round: pdsh once, then a
#                                          fresh runbookd, a cold session and FLEET_WARM warm ones)
#
# The 50 "hosts" are 127.0.0.1 ... 127.0.0.50 (all of 127/8 is loopback), one sshd of our own with
# a ListenAddress on each, so every tool sees 50 distinct hosts, each with its known_hosts entry.
# The login user is rbbench (created if missing: a system user, shell /bin/dash, home /, no
# password, left in place like tools/setup.sh's users), so the remote shell starts fast.
#
# Targets (issue 4):
#   cold   runbookd, fresh daemon (no pooled connection)  vs  pdsh -R ssh -f 10      ratio < 1.0
#   warm   runbookd, the 50 pooled connections open       vs  ansible -f 10 (warm)   ratio <= 0.1
#   per-host overhead, warm, against a bare libssh2 channel exec under the same load   ratio <= 2.0
#     10 at once:   warm wall x concurrency / hosts  vs  the mean exec of 10 bare sessions side by side
#     one at a time: warm wall / hosts at concurrency 1  vs  the mean of sequential bare execs
# Informative rows beside them: ansible's first (cold) run; runbookd warm at concurrency 1 (the
# per-host cost without the hosts competing for the CPUs); the bare exec of the command line the
# daemon's ssh connector really sends (its process-group wrapper), and without TCP_NODELAY; and
# 10 bare sessions side by side (each sequential execs): what a lane costs on this machine when 10
# run at once, without runbookd (on few CPUs this alone exceeds 2x the bare exec).
# Before the timed rounds, every tool's reach is checked: each host appends its $SSH_CONNECTION
# to a file, which must then name all 50 addresses (and runbookd's step Results 50 successes).
#
# The fleet: 127.1.0.1 ... (200 addresses a /24), served by the same sshd configuration on 63 more
# listeners (16 addresses each), with a known_hosts file of 1,000 entries. runbookd runs with the
# soft limit of 1024 open files systemd gives a service, and the default "ssh_max_idle_connections"
# (256): its descriptors must stay within the concurrency plus that bound, whatever the fleet's
# size. Its RSS and descriptors are sampled every 0.2 s during the sessions; the peak RSS is the
# kernel's VmHWM, and its heap the RssAnon part (the rest is mostly the store's pages, mapped).
# "Warm" reuses the connections the cold session left in the pool (at most 256).
# The reach check as above: 1,000 distinct addresses for pdsh and for runbookd, and 1,000
# successes in the step's Results. No targets: the figures are reported side by side.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build-bench}
ROUNDS=${SSHBENCH_ROUNDS:-7}
WARM=${SSHBENCH_WARM:-3}
EXECS=${SSHBENCH_EXECS:-200}
HOSTS=50
CONC=10
PARTS=${SSHBENCH_PARTS:-small fleet}
FLEET_HOSTS=${SSHBENCH_FLEET_HOSTS:-1000}
FLEET_CONC=${SSHBENCH_FLEET_CONC:-100}
FLEET_ROUNDS=${SSHBENCH_FLEET_ROUNDS:-3}
FLEET_WARM=${SSHBENCH_FLEET_WARM:-2}
FLEET_NOFILE=1024   # the daemon's soft RLIMIT_NOFILE in the fleet part: systemd's default for a service
part() { [[ " $PARTS " == *" $1 "* ]]; }
SSH_USER=rbbench
[ "$(id -u)" = 0 ] || { echo "bench/ssh: run as root" >&2; exit 1; }

die() { echo "bench/ssh: $*" >&2; exit 1; }
say() { echo "bench/ssh: $*" >&2; }

# ---------- what it needs ----------
PACKAGES=(pdsh clustershell ansible openssh-server openssh-client dash)
missing=()
for p in "${PACKAGES[@]}"; do
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing: ${missing[*]}"
    apt=(apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold
         -o DPkg::Lock::Timeout=300 install --no-install-recommends)
    compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null || apt-get -q update >&2
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" "${missing[@]}" >&2 ||
        { apt-get -q update >&2; DEBIAN_FRONTEND=noninteractive "${apt[@]}" "${missing[@]}" >&2; }
fi

if [ ! -x "$BUILD/src/runbookd" ] || [ ! -x "$BUILD/bench/runbookd-bench" ] || [ ! -x "$BUILD/bench/ssh-exec-baseline" ]; then
    [ -d "$BUILD" ] || meson setup "$BUILD" "$ROOT" --buildtype=release >/dev/null
    meson compile -C "$BUILD" >/dev/null
fi
RUNBOOKD=$BUILD/src/runbookd
BENCH=$BUILD/bench/runbookd-bench
BASELINE=$BUILD/bench/ssh-exec-baseline

# the login user: a shell that starts fast (dash), nothing read at login
if ! getent passwd "$SSH_USER" >/dev/null; then
    grp=(--user-group); getent group "$SSH_USER" >/dev/null && grp=(--gid "$SSH_USER")
    useradd --system "${grp[@]}" --no-create-home --home-dir / --shell /bin/dash -p '*' \
        --comment "runbookd ssh benchmark user" "$SSH_USER"
    say "created user $SSH_USER (shell /bin/dash)"
fi
[ "$(getent passwd "$SSH_USER" | cut -d: -f7)" = /bin/dash ] || die "user $SSH_USER exists with another shell than /bin/dash"
case "$(getent shadow "$SSH_USER" | cut -d: -f2)" in
    '!'*) die "user $SSH_USER is locked ('!' password): sshd without PAM refuses it; usermod -p '*' $SSH_USER" ;;
esac

T=$(mktemp -d /tmp/runbookd-sshbench.XXXXXX)
chmod 755 "$T"
R=$T/results; mkdir "$R"
DAEMON="" SSHDS=()   # "pid:starttime" of each sshd started
wait_gone() { for _ in $(seq 100); do [ -e "/proc/$1" ] || return 0; sleep 0.05; done; return 1; }
alive() { [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
starttime() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null || true; }
stop_sshds() { # each listener we started and every connection it serves (its children)
    local e pid ch
    for e in "${SSHDS[@]}"; do
        pid=${e%%:*}
        if ! alive "$pid" || [ "$(starttime "$pid")" != "${e#*:}" ]; then continue; fi
        for ch in $(pgrep -P "$pid"); do kill -TERM "$ch" 2>/dev/null || true; done
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
    done
    SSHDS=()
}
cleanup() {
    local s
    if [ -n "${SAMPLER:-}" ]; then kill "$SAMPLER" 2>/dev/null || true; fi
    if [ -n "$DAEMON" ]; then kill "$DAEMON" 2>/dev/null || true; wait_gone "$DAEMON" || kill -KILL "$DAEMON" 2>/dev/null || true; fi
    # ansible's ControlPersist masters (ssh processes of ours, detached): ask each to exit
    for s in "$T"/ansible/cp/*; do
        if [ -S "$s" ]; then ssh -F "$T/ssh/client_config" -o ControlPath="$s" -O exit h >/dev/null 2>&1 || true; fi
    done
    stop_sshds
    SOURCE_ROOT=$ROOT bash "$ROOT/tests/testbed.sh" down "$T/testbed" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------- the private bus, polkitd, journald (as bench/run.sh) ----------
SOURCE_ROOT=$ROOT bash "$ROOT/tests/testbed.sh" up "$T/testbed" > "$T/testbed.env" 2> "$T/testbed.log" ||
    { cat "$T/testbed.log"; exit 1; }
# shellcheck disable=SC1091
. "$T/testbed.env"

# ---------- sshd on 127.0.0.1 ... 127.0.0.50 ----------
# OpenSSH's sshd listens on at most 16 sockets (MAX_LISTEN_SOCKS), so the 50 addresses are served
# by 4 sshd processes on the same port, 16 addresses each, with one config but for ListenAddress
# (same host key, same everything): to a client they are one server on 50 addresses. Each
# connection is served by a process of its own anyway; the listener only accepts and forks.
ADDRS=()
for i in $(seq $HOSTS); do ADDRS+=("127.0.0.$i"); done
PER_SSHD=16
mkdir -p "$T/ssh" "$T/home" "$T/marks"
chmod 755 "$T/ssh"; chmod 1777 "$T/marks"
ssh-keygen -q -t ed25519 -N '' -C sshbench-host -f "$T/ssh/host_ed25519"
ssh-keygen -q -t ed25519 -N '' -C sshbench-client -f "$T/ssh/id_ed25519"
cp "$T/ssh/id_ed25519.pub" "$T/ssh/authorized_keys"
chmod 644 "$T/ssh/authorized_keys"           # sshd reads it as $SSH_USER
[ -d /run/sshd ] || mkdir -m 755 /run/sshd   # privsep dir, compiled-in path; left in place

port_busy() { # port: listening on any address?
    local hex; hex=$(printf ':%04X' "$1")
    awk -v h="$hex" 'FNR>1 && $4=="0A" && substr($2, length($2)-4)==h {f=1} END {exit !f}' /proc/net/tcp /proc/net/tcp6
}
write_sshd_config() { # file port address...
    local f=$1 port=$2; shift 2
    {
        echo "Port $port"
        printf 'ListenAddress %s\n' "$@"
        cat <<EOF
HostKey $T/ssh/host_ed25519
PidFile none
AuthorizedKeysFile $T/ssh/authorized_keys
AllowUsers $SSH_USER
StrictModes no
UsePAM no
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitUserRC no
X11Forwarding no
PrintMotd no
PrintLastLog no
UseDNS no
MaxSessions 100
MaxStartups 200:30:400
LogLevel INFO
EOF
    } > "$f"
}
NSSHD=0
start_sshds() { # port address...: 0 when all came up (PER_SSHD addresses a listener)
    local port=$1 pid n; shift
    while [ $# -gt 0 ]; do
        n=$(( $# < PER_SSHD ? $# : PER_SSHD )); NSSHD=$((NSSHD + 1))
        write_sshd_config "$T/ssh/sshd_config.$NSSHD" "$port" "${@:1:n}"
        shift "$n"
        /usr/sbin/sshd -t -f "$T/ssh/sshd_config.$NSSHD" || die "sshd config test failed ($T/ssh/sshd_config.$NSSHD)"
        : > "$T/sshd.$NSSHD.log"
        setsid /usr/sbin/sshd -D -e -f "$T/ssh/sshd_config.$NSSHD" </dev/null >>"$T/sshd.$NSSHD.log" 2>&1 &
        pid=$!; SSHDS+=("$pid:$(starttime "$pid")")
        for _ in $(seq 100); do
            [ "$(grep -c 'Server listening' "$T/sshd.$NSSHD.log")" -ge "$n" ] && break
            alive "$pid" || break
            sleep 0.05
        done
        alive "$pid" && [ "$(grep -c 'Server listening' "$T/sshd.$NSSHD.log")" -ge "$n" ] || return 1
    done
}
PORT=""
for _ in 1 2 3 4 5 6 7 8; do
    p=$(( 20000 + RANDOM % 40000 ))
    port_busy "$p" && continue
    if start_sshds "$p" "${ADDRS[@]}"; then PORT=$p; break; fi
    stop_sshds
done
[ -n "$PORT" ] || { cat "$T"/sshd.*.log >&2; die "sshd did not come up on the $HOSTS addresses"; }

: > "$T/ssh/known_hosts"
for a in "${ADDRS[@]}"; do echo "[$a]:$PORT $(cut -d' ' -f1,2 "$T/ssh/host_ed25519.pub")" >> "$T/ssh/known_hosts"; done
chmod 644 "$T/ssh/known_hosts"
KEY=$T/ssh/id_ed25519 KH=$T/ssh/known_hosts
# the OpenSSH client's options for pdsh, clush and ansible (ssh -F: nothing else is read)
cat > "$T/ssh/client_config" <<EOF
Host *
    Port $PORT
    User $SSH_USER
    IdentityFile $KEY
    IdentitiesOnly yes
    IdentityAgent none
    UserKnownHostsFile $KH
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    CheckHostIP no
    UpdateHostKeys no
    BatchMode yes
    LogLevel ERROR
EOF
SSHCFG=$T/ssh/client_config
HOSTLIST="127.0.0.[1-$HOSTS]"     # pdsh and clush both expand this

# the fleet: $FLEET_HOSTS more loopback addresses, 127.1.0.1 ... (200 a /24), on the same port,
# their own known_hosts file (a fleet's size, what each tool reads) and client options
FLEET_ADDRS=()
if part fleet; then
    for i in $(seq "$FLEET_HOSTS"); do FLEET_ADDRS+=("127.1.$(( (i - 1) / 200 )).$(( (i - 1) % 200 + 1 ))"); done
    start_sshds "$PORT" "${FLEET_ADDRS[@]}" || { tail -n 5 "$T"/sshd.*.log >&2; die "sshd did not come up on the $FLEET_HOSTS fleet addresses"; }
    hostkey=$(cut -d' ' -f1,2 "$T/ssh/host_ed25519.pub")
    for a in "${FLEET_ADDRS[@]}"; do echo "[$a]:$PORT $hostkey"; done > "$T/ssh/known_hosts.fleet"
    chmod 644 "$T/ssh/known_hosts.fleet"
    sed "s|UserKnownHostsFile .*|UserKnownHostsFile $T/ssh/known_hosts.fleet|" "$T/ssh/client_config" > "$T/ssh/client_config.fleet"
    printf '%s\n' "${FLEET_ADDRS[@]}" > "$T/fleet.hosts"
fi
export HOME=$T/home               # private: nothing of root's ~/.ssh, ~/.ansible, ~/.config

# ---------- ansible: private config, inventory ----------
mkdir -p "$T/ansible/cp" "$T/ansible/tmp" "$T/ansible/remote"
chmod 1777 "$T/ansible/remote"    # the remote side's temp dir (rbbench's home is /)
for a in "${ADDRS[@]}"; do echo "$a ansible_port=$PORT"; done > "$T/ansible/hosts"
cat > "$T/ansible/ansible.cfg" <<EOF
[defaults]
inventory = $T/ansible/hosts
remote_user = $SSH_USER
private_key_file = $KEY
host_key_checking = True
gathering = explicit
interpreter_python = /usr/bin/python3
local_tmp = $T/ansible/tmp
remote_tmp = $T/ansible/remote
retry_files_enabled = False
deprecation_warnings = False
localhost_warning = False
nocolor = True

[ssh_connection]
# ssh_args left at ansible's default: -C -o ControlMaster=auto -o ControlPersist=60s
ssh_common_args = -F $SSHCFG
control_path = $T/ansible/cp/%%h-%%p-%%r
EOF
export ANSIBLE_CONFIG=$T/ansible/ansible.cfg

# ---------- runbookd: 50 ssh targets, one group, one runbook ----------
CONFIG=$T/config
mkdir -p "$CONFIG/targets" "$CONFIG/runbooks" "$T/state"
members=()
for i in $(seq $HOSTS); do
    n=$(printf 'h%02d' "$i"); members+=("$n")
    jq -n --arg h "127.0.0.$i" --argjson p "$PORT" --arg u "$SSH_USER" --arg k "$KEY" --arg kh "$KH" \
        '{connector: "ssh", host: $h, port: $p, user: $u, identity: $k, known_hosts: $kh}' > "$CONFIG/targets/$n.json"
done
printf '%s\n' "${members[@]}" | jq -R . | jq -s --argjson c $CONC '{group: ., max_concurrency: $c, max_errors: 0}' \
    > "$CONFIG/targets/fleet.json"
jq -n '{description: "ssh fan-out benchmark: true on every host of the group", target: "fleet",
        steps: [{name: "true", run: "true", approval: "none"}]}' > "$CONFIG/runbooks/fanout.json"
# the same hosts one at a time (info: the per-host cost without contention for the CPUs)
jq '.max_concurrency = 1' "$CONFIG/targets/fleet.json" > "$CONFIG/targets/fleet-seq.json"
jq '.target = "fleet-seq"' "$CONFIG/runbooks/fanout.json" > "$CONFIG/runbooks/fanout-seq.json"
jq -n --arg m "$T/marks/runbookd" '{description: "ssh fan-out benchmark: each host says where it ran", target: "fleet",
        steps: [{name: "mark", run: ("echo \"$SSH_CONNECTION\" >> " + $m), approval: "none"}]}' \
    > "$CONFIG/runbooks/fanout-check.json"
echo '{"allow_self_approval": true}' > "$CONFIG/runbookd.json"
# the fleet: a target per address (f0001 ...), one group at concurrency $FLEET_CONC
if part fleet; then
    fmembers=()
    for i in "${!FLEET_ADDRS[@]}"; do
        n=$(printf 'f%04d' $((i + 1))); fmembers+=("$n")
        printf '{"connector": "ssh", "host": "%s", "port": %s, "user": "%s", "identity": "%s", "known_hosts": "%s"}\n' \
            "${FLEET_ADDRS[i]}" "$PORT" "$SSH_USER" "$KEY" "$T/ssh/known_hosts.fleet" > "$CONFIG/targets/$n.json"
    done
    printf '%s\n' "${fmembers[@]}" | jq -R . | jq -s --argjson c "$FLEET_CONC" '{group: ., max_concurrency: $c, max_errors: 0}' \
        > "$CONFIG/targets/fleet1k.json"
    jq '.target = "fleet1k"' "$CONFIG/runbooks/fanout.json" > "$CONFIG/runbooks/fleet.json"
    jq --arg m "$T/marks/runbookd-fleet" '.target = "fleet1k" | .steps[0].run = ("echo \"$SSH_CONNECTION\" >> " + $m)' \
        "$CONFIG/runbooks/fanout-check.json" > "$CONFIG/runbooks/fleet-check.json"
fi

val() { awk -v k="$1" '$1 == k {print $2}' "$2"; }
start_daemon() { # [SOFT_NOFILE]: the daemon's soft limit on open files (default: ours)
    ( if [ -n "${1:-}" ]; then ulimit -S -n "$1"; fi
      exec "$BENCH" startup -- "$RUNBOOKD" --config-dir="$CONFIG" --state-dir="$T/state" --log-level=warning ) \
        > "$T/startup" 2>>"$T/daemon.log" || die "runbookd did not start, see $T/daemon.log"
    DAEMON=$(val pid "$T/startup")
}
stop_daemon() { kill "$DAEMON"; wait_gone "$DAEMON" || die "runbookd $DAEMON did not exit"; DAEMON=""; }

# ---------- the contenders, each one timed run ----------
now_ns() { date +%s%N; }
# timed NAME OUTFILE CMD...: runs CMD once, appends its wall time (ms) to OUTFILE; fails on error
timed() {
    local name=$1 out=$2 t0 t1; shift 2
    t0=$(now_ns)
    if ! "$@" > "$T/last.out" 2> "$T/last.err"; then
        cat "$T/last.out" "$T/last.err" >&2; die "$name failed: $*"
    fi
    t1=$(now_ns)
    echo "$(( (t1 - t0) / 1000 ))" | awk '{printf "%.3f\n", $1 / 1000}' >> "$out"
}
run_pdsh() { PDSH_SSH_ARGS="-F $SSHCFG -l%u %h" pdsh -S -R ssh -f $CONC -l $SSH_USER -w "$HOSTLIST" "$@"; }
run_clush() { clush -S -f $CONC -l $SSH_USER -o "-F $SSHCFG" -w "$HOSTLIST" "$@"; }
run_ansible() { ansible all -f $CONC "$@"; }
RUNBOOKD_ERR=""
run_runbookd() { # RUNBOOK OUTFILE: one session, StartSession to succeeded on the client's clock
    if "$BENCH" session-result "$1" > "$T/session.out" 2> "$T/session.err"; then
        val session_time "$T/session.out" >> "$2"
        return 0
    fi
    local id state="" err="" hosts=""
    id=$(val session_id "$T/session.out")
    if [ -n "$id" ]; then
        state=$(busctl --system get-property org.runbookd1 "/org/runbookd1/session/$id" org.runbookd1.Session State 2>&1 || true)
        err=$(busctl --system get-property org.runbookd1 "/org/runbookd1/session/$id/step/0" org.runbookd1.Step Error 2>&1 || true)
        # the hosts that did not succeed: target, state, error
        hosts=$(busctl --system --json=short get-property org.runbookd1 "/org/runbookd1/session/$id/step/0" \
            org.runbookd1.Step Results 2>/dev/null | jq -r '[.data[] | select(.[1] != "succeeded") | "\(.[0]) \(.[1]) \(.[7])"] | join("; ")' || true)
    fi
    RUNBOOKD_ERR="session ${id:-?} on $1: $(tr '\n' ' ' < "$T/session.err")(State: ${state:-?}; step 0 Error: ${err:-?}; hosts not succeeded: ${hosts:-none})"
    return 1
}

# A check first, untimed except for ansible's first run: every tool reaches all 50 distinct hosts
# (each host appends its $SSH_CONNECTION, whose third field is the address it was reached on).
marks_ok() { # tool [HOSTS]
    local n; n=$(awk '{print $3}' "$T/marks/$1" 2>/dev/null | sort -u | wc -l)
    [ "$n" = "${2:-$HOSTS}" ] || die "$1 reached $n distinct hosts, not ${2:-$HOSTS} ($T/marks/$1)"
}

# ---------- reports ----------
# stats FILE: "median min max n" of the numbers in FILE (one a line); "- - - 0" when empty
stats() { sort -n "$1" | awk '{v[NR] = $1} END { if (NR == 0) { print "- - - 0"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %.3f %.3f %d\n", m, v[1], v[NR], NR }'; }
med() { stats "$1" | cut -d' ' -f1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.3f", a / b }'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { if (v == "-") { print "FAIL (not measured)"; exit }
    ok = (op == "<") ? (v < t) : (v <= t); print ok ? "PASS" : "FAIL" }'; }
row() { # label file unit
    local s; s=$(stats "$2")
    # shellcheck disable=SC2086
    set -- "$1" $s "$3"
    printf '  %-44s %10s %s   (min %s, max %s, n=%s)\n' "$1" "$2" "$6" "$3" "$4" "$5"
}

# ---------- the 50 hosts at concurrency 10: every contender ----------
small_part() {
    : > "$R/ansible-first"
    timed "ansible (first run)" "$R/ansible-first" run_ansible -m command -a true
    # shellcheck disable=SC2016 # expanded by the remote shell
    MARK='echo "$SSH_CONNECTION" >> '$T/marks
    timed "pdsh check" /dev/null run_pdsh "$MARK/pdsh"; marks_ok pdsh
    timed "clush check" /dev/null run_clush "$MARK/clush"; marks_ok clush
    timed "ansible check" /dev/null run_ansible -m shell -a "$MARK/ansible"; marks_ok ansible
    "$BASELINE" 127.0.0.1 "$PORT" "$SSH_USER" "$KEY" "$KH" 1 "$MARK/baseline" > /dev/null || die "ssh-exec-baseline failed"
    [ "$(awk '{print $3}' "$T/marks/baseline")" = 127.0.0.1 ] || die "ssh-exec-baseline: the command did not run"
    start_daemon
    RUNBOOKD_OK=1
    if run_runbookd fanout-check /dev/null; then
        marks_ok runbookd
        # and the step's Results: one entry per host, each succeeded with exit status 0
        id=$(val session_id "$T/session.out")
        busctl --system --json=short get-property org.runbookd1 "/org/runbookd1/session/$id/step/0" \
            org.runbookd1.Step Results > "$T/results.json" || die "runbookd: cannot read the step's Results"
        n=$(jq '[.data[] | select(.[1] == "succeeded" and .[2] == 0)] | length' "$T/results.json")
        [ "$n" = $HOSTS ] || die "runbookd: $n of $HOSTS hosts succeeded in the step's Results ($(head -c 300 "$T/results.json"))"
    else RUNBOOKD_OK=0; say "runbookd: $RUNBOOKD_ERR"; say "runbookd's rows will be missing; its log:"; tail -n 20 "$T/daemon.log" >&2; fi
    stop_daemon

    echo "== runbookd ssh fan-out benchmark ($(date -u +%FT%TZ), $(nproc) cores, build $BUILD)"
    echo "   'true' on $HOSTS hosts (127.0.0.1-$HOSTS, one sshd, user $SSH_USER, shell dash), concurrency $CONC, $ROUNDS rounds"

    # ---------- the rounds: every contender once per round, in turn ----------
    : > "$R/pdsh"; : > "$R/clush"; : > "$R/ansible"; : > "$R/cold"; : > "$R/warm"; : > "$R/exec"; : > "$R/exec-wrapped"; : > "$R/exec-nagle"; : > "$R/warm-seq"; : > "$R/exec-par"; : > "$R/exec-par-wrapped"
    # what the daemon's ssh connector execs for a step (src/connector/ssh/ssh.c), for an informative row
    WRAPPED="printf 'runbookd-pgid %s\\n' \"\$\$\"; exec /bin/sh -c 'RUNBOOK_SESSION=1 RUNBOOK_STEP=0 RUNBOOK_TARGET=h01; export RUNBOOK_SESSION RUNBOOK_STEP RUNBOOK_TARGET; true'"
    # par_baseline COMMAND OUTFILE: $CONC baseline sessions at once (hosts 1..$CONC), each timing
    # sequential execs; appends the mean per exec over them: a lane's cost when $CONC run side by side
    par_baseline() {
        local i pids=()
        for i in $(seq $CONC); do
            "$BASELINE" "127.0.0.$i" "$PORT" "$SSH_USER" "$KEY" "$KH" 50 "$1" > "$T/par.$i" & pids+=($!)
        done
        for i in "${pids[@]}"; do wait "$i" || die "ssh-exec-baseline (in parallel) failed"; done
        awk '$1 == "exec_mean" {s += $2; n++} END {printf "%.3f\n", s / n}' "$T"/par.* >> "$2"
    }
    for r in $(seq "$ROUNDS"); do
        timed pdsh "$R/pdsh" run_pdsh true
        timed clush "$R/clush" run_clush true
        timed ansible "$R/ansible" run_ansible -m command -a true
        "$BASELINE" 127.0.0.1 "$PORT" "$SSH_USER" "$KEY" "$KH" "$EXECS" > "$T/exec.out" || die "ssh-exec-baseline failed"
        val exec_mean "$T/exec.out" >> "$R/exec"
        "$BASELINE" 127.0.0.1 "$PORT" "$SSH_USER" "$KEY" "$KH" "$EXECS" "$WRAPPED" > "$T/exec.out" || die "ssh-exec-baseline (wrapped) failed"
        val exec_mean "$T/exec.out" >> "$R/exec-wrapped"
        par_baseline true "$R/exec-par"
        par_baseline "$WRAPPED" "$R/exec-par-wrapped"
        "$BASELINE" --nagle 127.0.0.1 "$PORT" "$SSH_USER" "$KEY" "$KH" 10 > "$T/exec.out" || die "ssh-exec-baseline --nagle failed"
        val exec_mean "$T/exec.out" >> "$R/exec-nagle"
        if [ $RUNBOOKD_OK = 1 ]; then
            start_daemon
            run_runbookd fanout "$R/cold" || { RUNBOOKD_OK=0; say "runbookd cold, round $r: $RUNBOOKD_ERR"; }
            for _ in $(seq "$WARM"); do
                [ $RUNBOOKD_OK = 1 ] || break
                run_runbookd fanout "$R/warm" || { RUNBOOKD_OK=0; say "runbookd warm, round $r: $RUNBOOKD_ERR"; }
            done
            if [ $RUNBOOKD_OK = 1 ]; then
                run_runbookd fanout-seq "$R/warm-seq" || { RUNBOOKD_OK=0; say "runbookd warm, concurrency 1, round $r: $RUNBOOKD_ERR"; }
            fi
            stop_daemon
        fi
        say "round $r of $ROUNDS done"
    done

    # ---------- the report ----------

    echo "-- wall time for all $HOSTS hosts, median (spread over the runs)"
    row "pdsh -R ssh -f $CONC" "$R/pdsh" ms
    row "clush -f $CONC" "$R/clush" ms
    row "ansible -f $CONC -m command, first run (cold)" "$R/ansible-first" ms
    row "ansible -f $CONC -m command (warm: ControlPersist)" "$R/ansible" ms
    row "runbookd cold (fresh daemon, no pooled conn)" "$R/cold" ms
    row "runbookd warm (50 pooled connections)" "$R/warm" ms
    row "runbookd warm, concurrency 1 (info)" "$R/warm-seq" ms
    echo "-- baseline: one open libssh2 session (TCP_NODELAY), sequential channel execs ($EXECS per round), mean per exec"
    row "bare exec of 'true'" "$R/exec" ms
    row "bare exec of the daemon's wrapped command (info)" "$R/exec-wrapped" ms
    row "bare exec of 'true', no TCP_NODELAY (info)" "$R/exec-nagle" ms
    row "bare exec of 'true', $CONC sessions at once (info)" "$R/exec-par" ms
    row "bare exec, wrapped, $CONC sessions at once (info)" "$R/exec-par-wrapped" ms
    echo "   (ansible keeps each host's ssh connection open after its first run: ControlPersist=60s, its"
    echo "    default; its runs in the rounds are therefore warm, like runbookd's warm sessions)"

    pdsh_ms=$(med "$R/pdsh"); ansible_ms=$(med "$R/ansible"); exec_ms=$(med "$R/exec")
    cold_ms=$(med "$R/cold"); warm_ms=$(med "$R/warm")
    per_host=$(awk -v w="$warm_ms" -v c=$CONC -v h=$HOSTS 'BEGIN { if (w == "-") print "-"; else printf "%.3f", w * c / h }')
    wall_host=$(awk -v w="$warm_ms" -v h=$HOSTS 'BEGIN { if (w == "-") print "-"; else printf "%.3f", w / h }')
    cold_ratio=$(ratio "$cold_ms" "$pdsh_ms")
    warm_ratio=$(ratio "$warm_ms" "$ansible_ms")
    host_ratio=$(ratio "$per_host" "$exec_ms")
    par_ms=$(med "$R/exec-par")
    par_ratio=$(ratio "$per_host" "$par_ms")
    seq_host=$(awk -v w="$(med "$R/warm-seq")" -v h=$HOSTS 'BEGIN { if (w == "-") print "-"; else printf "%.3f", w / h }')
    seq_ratio=$(ratio "$seq_host" "$exec_ms")

    echo "-- the issue's targets"
    printf '%-34s %12s %14s %10s %8s %s\n' figure value baseline ratio target verdict
    printf '%-34s %9s ms %11s ms %10s %8s %s\n' "cold runbookd vs pdsh" "$cold_ms" "$pdsh_ms" "$cold_ratio" "<1.0" "$(verdict "$cold_ratio" "<" 1.0)"
    printf '%-34s %9s ms %11s ms %10s %8s %s\n' "warm runbookd vs ansible (warm)" "$warm_ms" "$ansible_ms" "$warm_ratio" "<=0.1" "$(verdict "$warm_ratio" "<=" 0.1)"
    printf '%-34s %9s ms %11s ms %10s %8s %s\n' "warm per-host, $CONC at once" "$per_host" "$par_ms" "$par_ratio" "<=2.0" "$(verdict "$par_ratio" "<=" 2.0)"
    printf '%-34s %9s ms %11s ms %10s %8s %s\n' "warm per-host, one at a time" "$seq_host" "$exec_ms" "$seq_ratio" "<=2.0" "$(verdict "$seq_ratio" "<=" 2.0)"
    echo "(per-host overhead against a bare libssh2 channel exec of 'true' on an open session (open, exec, read"
    echo " to EOF, exit status, close), under the same load: '$CONC at once' = runbookd's warm wall time x $CONC /"
    echo " $HOSTS (what a host costs one of the $CONC lanes) against the mean exec of $CONC bare sessions side by"
    echo " side; 'one at a time' = runbookd's warm wall time / $HOSTS at concurrency 1 against the mean of"
    echo " sequential bare execs. Against the sequential bare exec the $CONC-lane figure is $host_ratio x: on this"
    echo " machine's $(nproc) CPUs $CONC bare lanes alone cost $(ratio "$par_ms" "$exec_ms") x one exec ('true'),"
    echo " $(ratio "$(med "$R/exec-par-wrapped")" "$exec_ms") x with the command line the connector sends; wall time / hosts = $wall_host ms)"
    [ $RUNBOOKD_OK = 1 ] || { echo "runbookd: NOT MEASURED: $RUNBOOKD_ERR"; return 1; }
}

# ---------- the fleet: FLEET_HOSTS hosts at concurrency FLEET_CONC, runbookd beside pdsh ----------
# runbookd runs with the soft limit on open files systemd gives a service ($FLEET_NOFILE), and
# its RSS and open descriptors are sampled every 0.2 s during each session (peak RSS: VmHWM).
SAMPLER=""
sampler_start() { # PID FILE: "rss_kib fds" lines until sampler_stop
    ( while [ -e "/proc/$1" ]; do
          fds=("/proc/$1/fd"/*)
          echo "$(awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status" 2>/dev/null) ${#fds[@]}"
          sleep 0.2
      done ) >> "$2" &
    SAMPLER=$!
}
sampler_stop() { if [ -n "$SAMPLER" ]; then kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=""; fi; }
fds_of() { local f=("/proc/$1/fd"/*); echo "${#f[@]}"; }
status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
run_pdsh_fleet() { PDSH_SSH_ARGS="-F $T/ssh/client_config.fleet -l%u %h" pdsh -S -R ssh -f "$FLEET_CONC" -l $SSH_USER -w "^$T/fleet.hosts" "$@"; }
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); printf "%.0f\n", ($12 + $13) * 1000 / hz}' "/proc/$1/stat"; }
fleet_daemon_run() { # RUNBOOK OUTFILE SAMPLES CPUFILE: one session on the running daemon, sampled
    local ok=0 c0
    c0=$(cpu_ms "$DAEMON")
    sampler_start "$DAEMON" "$3"
    run_runbookd "$1" "$2" || ok=1
    sampler_stop
    echo $(( $(cpu_ms "$DAEMON") - c0 )) >> "$4"
    return $ok
}
fleet_part() {
    local r id n
    # shellcheck disable=SC2016 # expanded by the remote shell
    timed "pdsh fleet check" /dev/null run_pdsh_fleet 'echo "$SSH_CONNECTION" >> '"$T/marks/pdsh-fleet"
    marks_ok pdsh-fleet "$FLEET_HOSTS"
    start_daemon "$FLEET_NOFILE"
    [ "$(awk '$1 == "Max" && $2 == "open" {print $4}' "/proc/$DAEMON/limits")" = "$FLEET_NOFILE" ] ||
        die "runbookd's soft limit on open files is not $FLEET_NOFILE"
    FLEET_OK=1
    if run_runbookd fleet-check /dev/null; then
        marks_ok runbookd-fleet "$FLEET_HOSTS"
        id=$(val session_id "$T/session.out")
        busctl --system --json=short get-property org.runbookd1 "/org/runbookd1/session/$id/step/0" \
            org.runbookd1.Step Results > "$T/results-fleet.json" || die "runbookd: cannot read the fleet step's Results"
        n=$(jq '[.data[] | select(.[1] == "succeeded" and .[2] == 0)] | length' "$T/results-fleet.json")
        [ "$n" = "$FLEET_HOSTS" ] || die "runbookd: $n of $FLEET_HOSTS hosts succeeded in the fleet step's Results"
    else FLEET_OK=0; say "runbookd fleet: $RUNBOOKD_ERR"; tail -n 20 "$T/daemon.log" >&2; fi
    stop_daemon

    echo "== the fleet: 'true' on $FLEET_HOSTS hosts (127.1.0.1-..., one sshd config on $(( (FLEET_HOSTS + PER_SSHD - 1) / PER_SSHD )) listeners), concurrency $FLEET_CONC, $FLEET_ROUNDS rounds"
    : > "$R/f-pdsh"; : > "$R/f-cold"; : > "$R/f-warm"
    : > "$R/f-rss0"; : > "$R/f-fd0"; : > "$R/f-hwm-cold"; : > "$R/f-hwm"; : > "$R/f-rss-end"; : > "$R/f-fd-end"; : > "$R/f-samples"
    : > "$R/f-cpu-cold"; : > "$R/f-cpu-warm"; : > "$R/f-anon-cold"; : > "$R/f-anon-end"
    for r in $(seq "$FLEET_ROUNDS"); do
        timed "pdsh fleet" "$R/f-pdsh" run_pdsh_fleet true
        [ $FLEET_OK = 1 ] || { say "fleet round $r of $FLEET_ROUNDS done (pdsh only)"; continue; }
        start_daemon "$FLEET_NOFILE"
        status_kib "$DAEMON" VmRSS >> "$R/f-rss0"; fds_of "$DAEMON" >> "$R/f-fd0"
        fleet_daemon_run fleet "$R/f-cold" "$R/f-samples" "$R/f-cpu-cold" || { FLEET_OK=0; say "runbookd fleet cold, round $r: $RUNBOOKD_ERR"; }
        status_kib "$DAEMON" VmHWM >> "$R/f-hwm-cold"; status_kib "$DAEMON" RssAnon >> "$R/f-anon-cold"
        for _ in $(seq "$FLEET_WARM"); do
            [ $FLEET_OK = 1 ] || break
            fleet_daemon_run fleet "$R/f-warm" "$R/f-samples" "$R/f-cpu-warm" || { FLEET_OK=0; say "runbookd fleet warm, round $r: $RUNBOOKD_ERR"; }
        done
        status_kib "$DAEMON" VmHWM >> "$R/f-hwm"; status_kib "$DAEMON" VmRSS >> "$R/f-rss-end"; fds_of "$DAEMON" >> "$R/f-fd-end"
        status_kib "$DAEMON" RssAnon >> "$R/f-anon-end"
        stop_daemon
        say "fleet round $r of $FLEET_ROUNDS done"
    done
    awk '$1 != "" {print $1}' "$R/f-samples" > "$R/f-rss-samples"; awk '$2 != "" {print $2}' "$R/f-samples" > "$R/f-fd-samples"
    echo "-- wall time for all $FLEET_HOSTS hosts, median (spread over the runs)"
    row "pdsh -R ssh -f $FLEET_CONC" "$R/f-pdsh" ms
    row "runbookd cold (fresh daemon)" "$R/f-cold" ms
    row "runbookd warm (the same daemon, next sessions)" "$R/f-warm" ms
    row "runbookd's own CPU time, cold session" "$R/f-cpu-cold" ms
    row "runbookd's own CPU time, a warm session" "$R/f-cpu-warm" ms
    echo "-- runbookd's resources (soft RLIMIT_NOFILE $FLEET_NOFILE), per round: at start / during the sessions / after"
    row "RSS at start" "$R/f-rss0" KiB
    row "RSS, sampled during the sessions" "$R/f-rss-samples" KiB
    row "peak RSS (VmHWM) after the cold session" "$R/f-hwm-cold" KiB
    row "peak RSS (VmHWM) after the $FLEET_WARM warm sessions" "$R/f-hwm" KiB
    row "RSS after the warm sessions" "$R/f-rss-end" KiB
    row "  of it anonymous (heap) after the cold session" "$R/f-anon-cold" KiB
    row "  of it anonymous (heap) after the warm sessions" "$R/f-anon-end" KiB
    row "open fds at start" "$R/f-fd0" ""
    row "open fds, sampled during the sessions" "$R/f-fd-samples" ""
    row "open fds after the warm sessions" "$R/f-fd-end" ""
    local pdsh_ms cold_ms warm_ms
    pdsh_ms=$(med "$R/f-pdsh"); cold_ms=$(med "$R/f-cold"); warm_ms=$(med "$R/f-warm")
    printf '%-34s %12s %14s %10s\n' figure value baseline ratio
    printf '%-34s %9s ms %11s ms %10s\n' "fleet: cold runbookd vs pdsh" "$cold_ms" "$pdsh_ms" "$(ratio "$cold_ms" "$pdsh_ms")"
    printf '%-34s %9s ms %11s ms %10s\n' "fleet: warm runbookd vs pdsh" "$warm_ms" "$pdsh_ms" "$(ratio "$warm_ms" "$pdsh_ms")"
    [ $FLEET_OK = 1 ] || { echo "runbookd (fleet): NOT MEASURED: $RUNBOOKD_ERR"; return 1; }
}

status=0
if part small; then small_part || status=1; fi
if part fleet; then fleet_part || status=1; fi
exit $status
