#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# testbed.sh - the real peers runbookd talks to, on a host without systemd as PID 1 (run as root):
#   * a private dbus-daemon acting as the system bus, with the project's own bus policy
#     (dbus/org.runbookd1.conf) and PolicyKit1's installed into its includedir;
#   * polkitd with the project's actions (policy/org.runbookd1.policy) and the test rules
#     (tests/polkit/50-runbookd-test.rules), in a private mount namespace when possible;
#   * systemd-journald: a running one is reused, else one is started (volatile, no rate limit);
#   * OpenSSH sshd on 127.0.0.1 (the ssh connector's peer), with a host key pinned in
#     DIR/ssh/known_hosts and a client key: TESTBED_SSH_HOST/PORT/USER/KEY/PUBKEY/KNOWN_HOSTS.
#
# usage: testbed.sh up DIR            start everything; prints the environment (also in DIR/env)
#        testbed.sh down DIR          stop only the processes recorded in DIR/state, undo host changes
#        testbed.sh env DIR           print DIR/env (source it: eval "$(testbed.sh env DIR)")
#        testbed.sh check DIR         smoke test with CLI tools (busctl, pkcheck, logger, journalctl)
#        testbed.sh journal-up DIR    only a journald (tools/test.sh: one journald for a whole run)
#        testbed.sh journal-down DIR  same as down
#        testbed.sh journal-answers [SOCKET]
#                                     exit 0 if a journald answers on /run/systemd/journal/socket
#        testbed.sh sshd-stop DIR     stop sshd and the connections it serves
#        testbed.sh sshd-start DIR    start sshd again on the same port
#        testbed.sh peer-up DIR dropbear|tinyssh
#                                     start another SSH server on 127.0.0.1 (after up): prints
#                                     TESTBED_<PEER>_PORT/USER/KNOWN_HOSTS (also in DIR/env.<peer>);
#                                     the client key is the testbed's (TESTBED_SSH_KEY)
#
# knobs (env):
#   SOURCE_ROOT          the project checkout (default: the parent of this script's folder)
#   TESTBED_POLKIT_RULES the rules file for polkitd (default: tests/polkit/50-runbookd-test.rules;
#                        tools/demo.sh uses policy/50-runbookd-example.rules)
#   TESTBED_SSH_USER     the login user for sshd (default: root)
#   TESTBED_SSH_PORT     a fixed port for sshd (default: a free one in 20000-59999)
#   TESTBED_NO_UNSHARE=1 never use mount namespaces (then the polkit files are installed into
#                        /usr/share/polkit-1/actions and /etc/polkit-1/rules.d, removed on down)
#
# Every process started is recorded in DIR/state with its start time; 'down' stops exactly those
# (and nothing else), so 'up'/'down' can run any number of times, also next to other testbeds.
# Host-global things: the journald socket (/run/systemd/journal/socket) is one per host, so all
# testbeds on a host share one journald; the one that started it stops it.
set -euo pipefail

die() { echo "testbed: $*" >&2; exit 1; }
log() { echo "testbed: $*" >&2; }

cmd=${1:-}; DIR=${2:-}; ARG=${3:-}
[ "$cmd" = journal-answers ] && { ARG=$DIR; DIR=/nonexistent; }   # [SOCKET], no DIR
[ -n "$cmd" ] && [ -n "$DIR" ] || die "usage: $0 up|down|env|check|journal-up|journal-down DIR"
case "$DIR" in /*) ;; *) DIR="$(pwd)/$DIR" ;; esac
STATE="$DIR/state"
SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
JOURNAL_MARK=/run/systemd/journal/.testbed-journal-dir

BUS_POLICY="$SOURCE_ROOT/dbus/org.runbookd1.conf"
POLKIT_FILES=("$SOURCE_ROOT/policy/org.runbookd1.policy"
              "${TESTBED_POLKIT_RULES:-$SOURCE_ROOT/tests/polkit/50-runbookd-test.rules}")

starttime() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null || true; }
record_pid() { echo "pid $1 $2 $(starttime "$2")" >> "$STATE"; }   # name pid starttime
record() { echo "$*" >> "$STATE"; }                                 # file|dir PATH
alive() { [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
wait_for() { # timeout_s description command...
    local t=$(( $1 * 10 )) what=$2; shift 2
    while ! "$@" >/dev/null 2>&1; do
        t=$((t - 1)); [ $t -gt 0 ] || { log "timeout waiting for $what"; return 1; }
        sleep 0.1
    done
}
# journal_answers [SOCKET]: a journald receives on SOCKET (/run/systemd/journal/socket) as this
# process sees that path. Not /proc/net/unix: it lists the sockets of every mount namespace that
# shares the network namespace, so a container's journald (or another test's, elsewhere) would be
# taken for one this run can reach and read (tests/dist/check-journal-detect.sh).
journal_answers() {
    local sock=${1:-/run/systemd/journal/socket}
    [ -S "$sock" ] && python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    s.connect(sys.argv[1])
except OSError:
    sys.exit(1)' "$sock"
}
can_unshare() { # a private mount namespace in which a bind mount succeeds
    [ "${TESTBED_NO_UNSHARE:-0}" != 1 ] &&
    unshare --mount --propagation private mount --bind "$DIR/dbus" "$DIR/logs" 2>/dev/null
}

prepare_dir() {
    [ "$(id -u)" = 0 ] || die "must run as root"
    [ ! -e "$STATE" ] || die "$STATE exists: run '$0 down $DIR' first"
    rm -rf "$DIR"/{dbus,polkit,journal,ssh,logs,env}   # fresh per run
    mkdir -p "$DIR"/{dbus/system.d,polkit/src,polkit/actions,polkit/rules.d,journal/data,journal/etc-systemd,logs}
    # non-root bus clients and polkitd (uid polkitd) must be able to traverse to the socket / rules
    chmod 755 "$DIR" "$DIR"/{dbus,dbus/system.d,polkit,polkit/src,journal,journal/data,logs}
    : > "$STATE"
    local d="$DIR"; while [ "$d" != / ]; do d=$(dirname "$d")
        [ "$(( 8#$(stat -c %a "$d") & 8#001 ))" -ne 0 ] || log "warning: $d not world-traversable; non-root clients cannot reach the bus socket"
    done
}

# ---------- private system bus ----------
start_bus() {
    local SOCK="$DIR/dbus/system_bus_socket"
    export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$SOCK"
    [ -f "$BUS_POLICY" ] || die "missing $BUS_POLICY"
    cp "$BUS_POLICY" "$DIR/dbus/system.d/"
    if [ -f /usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf ]; then
        cp /usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf "$DIR/dbus/system.d/"
    else
        cat > "$DIR/dbus/system.d/org.freedesktop.PolicyKit1.conf" <<'EOF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <policy user="polkitd"><allow own="org.freedesktop.PolicyKit1"/></policy>
  <policy context="default"><allow send_destination="org.freedesktop.PolicyKit1"/></policy>
</busconfig>
EOF
    fi
    chmod 644 "$DIR"/dbus/system.d/*
    # The default policy mirrors Debian's /usr/share/dbus-1/system.conf: method calls are denied
    # unless a system.d file allows them, so the project's real policy is what is tested.
    cat > "$DIR/dbus/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$SOCK</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Peer"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.systemd1.Activator"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <limit name="reply_timeout">300000</limit>
  <includedir>$DIR/dbus/system.d</includedir>
</busconfig>
EOF
    setsid dbus-daemon --config-file="$DIR/dbus/bus.conf" --nofork --nopidfile --nosyslog \
        --print-address=3 3>"$DIR/dbus/address" </dev/null >"$DIR/logs/dbus-daemon.log" 2>&1 &
    record_pid dbus-daemon $!
    wait_for 10 "dbus-daemon" test -s "$DIR/dbus/address" || die "dbus-daemon failed, see $DIR/logs/dbus-daemon.log"
    chmod 666 "$SOCK"
}

# ---------- journald ----------
JMODE="" JDIR=""
start_journald() {
    local USE_NS=0; can_unshare && USE_NS=1
    if journal_answers; then
        JMODE=existing      # a journald already owns the socket; sd_journal_send goes there
        [ -r "$JOURNAL_MARK" ] && JDIR=$(cat "$JOURNAL_MARK")
        log "journald already running on this host: using it (journal dir: ${JDIR:-system default})"
        return 0
    fi
    [ -s /etc/machine-id ] || die "/etc/machine-id missing: run tools/setup.sh (systemd-machine-id-setup)"
    cat > "$DIR/journal/etc-systemd/journald.conf" <<'EOF'
[Journal]
Storage=volatile
Compress=no
Seal=no
RateLimitIntervalSec=0
RateLimitBurst=0
RuntimeMaxUse=256M
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
EOF
    [ -d /run/systemd/journal ] || { mkdir -p /run/systemd/journal; record dir /run/systemd/journal; }
    [ -d /run/log ] || { mkdir -p /run/log; record dir /run/log; }
    if [ $USE_NS = 1 ]; then
        JMODE=namespace; JDIR="$DIR/journal/data/journal"
        # private /run/log (journal files) and /etc/systemd (config) for journald only;
        # /run/systemd/journal (the sockets) stays shared with the host.
        setsid unshare --mount --propagation private sh -c '
            mount --bind "$1/data" /run/log &&
            mount --bind "$1/etc-systemd" /etc/systemd &&
            exec /lib/systemd/systemd-journald' sh "$DIR/journal" \
            </dev/null >"$DIR/logs/journald.log" 2>&1 &
        record_pid systemd-journald $!
    else
        JMODE=host; JDIR=/run/log/journal
        [ -d /run/systemd/journald.conf.d ] || { mkdir -p /run/systemd/journald.conf.d; record dir /run/systemd/journald.conf.d; }
        cp "$DIR/journal/etc-systemd/journald.conf" /run/systemd/journald.conf.d/zz-testbed.conf
        record file /run/systemd/journald.conf.d/zz-testbed.conf
        if [ ! -d /run/log/journal ]; then record dir /run/log/journal
        elif [ ! -d "/run/log/journal/$(cat /etc/machine-id)" ]; then record dir "/run/log/journal/$(cat /etc/machine-id)"; fi
        setsid /lib/systemd/systemd-journald </dev/null >"$DIR/logs/journald.log" 2>&1 &
        record_pid systemd-journald $!
    fi
    wait_for 10 "journald socket" journal_answers || die "journald failed, see $DIR/logs/journald.log"
    wait_for 10 "journal file" test -e "$JDIR/$(cat /etc/machine-id)/system.journal" || die "no journal file in $JDIR"
    echo "$JDIR" > "$JOURNAL_MARK"; record file "$JOURNAL_MARK"
}

# ---------- polkitd ----------
PMODE=""
start_polkitd() {
    local USE_NS=0 f; can_unshare && USE_NS=1
    for f in "${POLKIT_FILES[@]}"; do
        [ -f "$f" ] || die "missing $f"
        cp "$f" "$DIR/polkit/src/"
    done
    chmod 644 "$DIR"/polkit/src/*
    if [ $USE_NS = 1 ]; then
        PMODE=namespace
        cp /usr/share/polkit-1/actions/*.policy "$DIR/polkit/actions/" 2>/dev/null || true
        cp "$DIR"/polkit/src/*.policy "$DIR/polkit/actions/"
        cp "$DIR"/polkit/src/*.rules "$DIR/polkit/rules.d/"
        chmod 755 "$DIR/polkit/actions" "$DIR/polkit/rules.d"
        chmod 644 "$DIR"/polkit/actions/* "$DIR"/polkit/rules.d/*
        setsid unshare --mount --propagation private sh -c '
            mount --bind "$1/actions" /usr/share/polkit-1/actions &&
            mount --bind "$1/rules.d" /etc/polkit-1/rules.d &&
            exec /usr/lib/polkit-1/polkitd --no-debug' sh "$DIR/polkit" \
            </dev/null >"$DIR/logs/polkitd.log" 2>&1 &
    else
        PMODE=system
        mkdir -p /etc/polkit-1/rules.d /usr/share/polkit-1/actions
        for f in "$DIR"/polkit/src/*.policy; do
            [ ! -e "/usr/share/polkit-1/actions/${f##*/}" ] || die "/usr/share/polkit-1/actions/${f##*/} exists (installed runbookd? use the namespace mode)"
            install -m 644 "$f" /usr/share/polkit-1/actions/ && record file "/usr/share/polkit-1/actions/${f##*/}"; done
        for f in "$DIR"/polkit/src/*.rules; do
            [ ! -e "/etc/polkit-1/rules.d/${f##*/}" ] || die "/etc/polkit-1/rules.d/${f##*/} exists"
            install -m 644 "$f" /etc/polkit-1/rules.d/ && record file "/etc/polkit-1/rules.d/${f##*/}"; done
        setsid /usr/lib/polkit-1/polkitd --no-debug </dev/null >"$DIR/logs/polkitd.log" 2>&1 &
    fi
    record_pid polkitd $!
    wait_for 15 "polkitd on bus" sh -c 'busctl --system call org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus NameHasOwner s org.freedesktop.PolicyKit1 | grep -q true' \
        || die "polkitd failed, see $DIR/logs/polkitd.log"
}

# ---------- sshd ----------
# The ssh connector's peer: an OpenSSH sshd on 127.0.0.1 (a free port in 20000-59999, or
# $TESTBED_SSH_PORT) with its own ed25519 and ECDSA host keys, and an ed25519 client key for
# $TESTBED_SSH_USER (default root) in its own authorized_keys file; DIR/ssh/known_hosts pins the
# ed25519 host key (only) as "[127.0.0.1]:PORT". Cheap: a few keys and one sshd, no PAM, no DNS.
tcp_listening() { # port
    local hex f files=(); hex=$(printf ':%04X' "$1")
    for f in /proc/net/tcp /proc/net/tcp6; do [ -r $f ] && files+=("$f"); done
    awk -v h="$hex" 'FNR>1 && $4=="0A" && substr($2, length($2)-4)==h {f=1} END {exit !f}' "${files[@]}"
}
SSH_USER=${TESTBED_SSH_USER:-root} SSH_PORT=""
write_sshd_config() { # port
    cat > "$DIR/ssh/sshd_config" <<EOF
Port $1
ListenAddress 127.0.0.1
HostKey $DIR/ssh/host_ed25519
HostKey $DIR/ssh/host_ecdsa
PidFile none
AuthorizedKeysFile $DIR/ssh/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
X11Forwarding no
PrintMotd no
PrintLastLog no
UseDNS no
MaxSessions 100
MaxStartups 100:30:200
LogLevel VERBOSE
EOF
}
# run_sshd: starts sshd with DIR/ssh/sshd_config; returns 1 if it did not come up (port taken)
run_sshd() {
    local spid
    : > "$DIR/logs/sshd.log"
    setsid /usr/sbin/sshd -D -e -f "$DIR/ssh/sshd_config" </dev/null >>"$DIR/logs/sshd.log" 2>&1 &
    spid=$!
    wait_for 10 "sshd" sh -c "grep -q 'Server listening' '$DIR/logs/sshd.log' || ! kill -0 $spid" || true
    if alive $spid && grep -q 'Server listening' "$DIR/logs/sshd.log"; then
        record_pid sshd $spid; return 0
    fi
    if alive $spid; then kill $spid; fi
    return 1
}
start_sshd() {
    local p
    getent passwd "$SSH_USER" >/dev/null || die "ssh user $SSH_USER does not exist"
    [ -x /usr/sbin/sshd ] || die "/usr/sbin/sshd missing: run tools/setup.sh (openssh-server)"
    mkdir -p "$DIR/ssh"; chmod 755 "$DIR/ssh"
    [ -d /run/sshd ] || mkdir -m 755 /run/sshd      # privsep dir, compiled-in path; left in place
    ssh-keygen -q -t ed25519 -N '' -C testbed-host -f "$DIR/ssh/host_ed25519"
    # a second host key, not in known_hosts: the client must ask for the ed25519 one it knows
    # (libssh2's own order would take ECDSA first)
    ssh-keygen -q -t ecdsa -b 256 -N '' -C testbed-host -f "$DIR/ssh/host_ecdsa"
    ssh-keygen -q -t ed25519 -N '' -C testbed-client -f "$DIR/ssh/id_ed25519"
    cp "$DIR/ssh/id_ed25519.pub" "$DIR/ssh/authorized_keys"
    chmod 644 "$DIR/ssh/authorized_keys"             # sshd reads it as the target user
    for _ in 1 2 3 4 5 6 7 8; do
        p=${TESTBED_SSH_PORT:-$(( 20000 + RANDOM % 40000 ))}
        if tcp_listening "$p"; then [ -z "${TESTBED_SSH_PORT:-}" ] || die "port $p busy"; continue; fi
        write_sshd_config "$p"
        /usr/sbin/sshd -t -f "$DIR/ssh/sshd_config" || die "sshd config test failed"
        if run_sshd; then SSH_PORT=$p; break; fi
        [ -z "${TESTBED_SSH_PORT:-}" ] || break
    done
    [ -n "$SSH_PORT" ] || die "sshd failed to start, see $DIR/logs/sshd.log"
    echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$DIR/ssh/host_ed25519.pub")" > "$DIR/ssh/known_hosts"
    chmod 644 "$DIR/ssh/known_hosts"
}
# sshd-stop: stops the testbed's sshd and every connection it serves (its child processes);
# sshd-start: starts it again on the same port (tests of dead pooled connections).
sshd_stop() {
    local kind a b c ch
    [ -f "$STATE" ] || die "no state in $DIR"
    while read -r kind a b c; do
        [ "$kind" = pid ] && [ "$a" = sshd ] || continue
        alive "$b" && [ "$(starttime "$b")" = "$c" ] || continue
        for ch in $(pgrep -P "$b"); do kill -TERM "$ch" 2>/dev/null || true; done
        kill -TERM "$b"
        for _ in $(seq 50); do alive "$b" || break; sleep 0.1; done
        if alive "$b"; then kill -KILL "$b"; fi
    done < "$STATE"
}
sshd_start() {
    [ -f "$DIR/env" ] || die "no $DIR/env"
    local port; port=$(sed -n "s/^export TESTBED_SSH_PORT='\(.*\)'$/\1/p" "$DIR/env")
    for _ in $(seq 50); do tcp_listening "$port" || break; sleep 0.1; done
    run_sshd || die "sshd did not start again on port $port, see $DIR/logs/sshd.log"
}

# ---------- other SSH servers ----------
# dropbear (dropbear-bin) and tinysshd (run by tcpserver from ucspi-tcp, one process a
# connection), each on a free port of 127.0.0.1 with an ed25519 host key of its own pinned in
# DIR/ssh/known_hosts.<peer>. Both read only ~/.ssh/authorized_keys, so the login user is
# rbtest-peer (tools/setup.sh), and the testbed's client key goes into its authorized_keys under a
# lock, marked with this testbed's directory, and is taken out again by 'down'.
PEER_USER=rbtest-peer
authorize_peer_key() {
    local home keys mark="testbed:$DIR"
    getent passwd "$PEER_USER" >/dev/null || die "user $PEER_USER missing: run tools/setup.sh"
    home=$(getent passwd "$PEER_USER" | cut -d: -f6); keys="$home/.ssh/authorized_keys"
    [ -d "$home/.ssh" ] || die "$home/.ssh missing: run tools/setup.sh"
    grep -qF " $mark" "$keys" 2>/dev/null && return 0
    (
        flock 9
        printf '%s %s\n' "$(cut -d' ' -f1,2 "$DIR/ssh/id_ed25519.pub")" "$mark" >> "$keys"
        chown "$PEER_USER:" "$keys"; chmod 600 "$keys"
    ) 9>>"$home/.ssh/.lock"
    record "keyline $keys $mark"
}
unauthorize_peer_key() { # keys-file mark
    local dir; dir=$(dirname "$1")
    [ -f "$1" ] || return 0
    (
        flock 9
        grep -vF " $2" "$1" > "$1.new" || true
        chown "$PEER_USER:" "$1.new"; chmod 600 "$1.new"; mv -f "$1.new" "$1"
    ) 9>>"$dir/.lock"
}
# start_peer_on PORT NAME COMMAND...: starts COMMAND (which listens on PORT) in a session of its
# own; 0 when it listens, 1 when it died first (port taken)
start_peer_on() {
    local port=$1 name=$2 pid; shift 2
    : > "$DIR/logs/$name.log"
    setsid "$@" </dev/null >>"$DIR/logs/$name.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        alive "$pid" || break
        tcp_listening "$port" && { record_pid "$name" "$pid"; return 0; }
        sleep 0.1
    done
    if alive "$pid"; then kill "$pid"; fi
    return 1
}
peer_up() {
    local peer=$1 p port="" pub V
    [ -f "$STATE" ] && [ -f "$DIR/ssh/id_ed25519.pub" ] || die "peer-up: run '$0 up $DIR' first"
    case "$peer" in
        dropbear)
            [ -x /usr/sbin/dropbear ] || die "/usr/sbin/dropbear missing: run tools/setup.sh (dropbear-bin)"
            rm -f "$DIR/ssh/dropbear_ed25519"
            dropbearkey -t ed25519 -f "$DIR/ssh/dropbear_ed25519" >/dev/null 2>&1 || die "dropbearkey failed"
            pub=$(dropbearkey -y -f "$DIR/ssh/dropbear_ed25519" | grep '^ssh-ed25519 ' | cut -d' ' -f1,2) ;;
        tinyssh)
            [ -x /usr/sbin/tinysshd ] || die "/usr/sbin/tinysshd missing: run tools/setup.sh (tinysshd)"
            command -v tcpserver >/dev/null || die "tcpserver missing: run tools/setup.sh (ucspi-tcp)"
            rm -rf "$DIR/ssh/tinyssh-keys"
            tinysshd-makekey "$DIR/ssh/tinyssh-keys" >/dev/null || die "tinysshd-makekey failed"
            pub=$(tinysshd-printkey "$DIR/ssh/tinyssh-keys" | cut -d' ' -f1,2) ;;
        *) die "peer-up: unknown peer '$peer' (dropbear, tinyssh)" ;;
    esac
    [ -n "$pub" ] || die "peer-up: no ed25519 host key for $peer"
    authorize_peer_key
    for _ in 1 2 3 4 5 6 7 8; do
        p=$(( 20000 + RANDOM % 40000 ))
        tcp_listening "$p" && continue
        case "$peer" in
            dropbear) start_peer_on "$p" dropbear /usr/sbin/dropbear -F -E -s -j -k -m \
                          -p "127.0.0.1:$p" -r "$DIR/ssh/dropbear_ed25519" -P "$DIR/ssh/dropbear.pid" ;;
            tinyssh) start_peer_on "$p" tinyssh tcpserver -HRDl0 127.0.0.1 "$p" \
                         /usr/sbin/tinysshd -v "$DIR/ssh/tinyssh-keys" ;;
        esac && { port=$p; break; }
    done
    [ -n "$port" ] || die "$peer failed to start, see $DIR/logs/$peer.log"
    echo "[127.0.0.1]:$port $pub" > "$DIR/ssh/known_hosts.$peer"
    chmod 644 "$DIR/ssh/known_hosts.$peer"
    V=$(echo "$peer" | tr '[:lower:]' '[:upper:]')
    cat > "$DIR/env.$peer" <<EOF
export TESTBED_${V}_PORT='$port'
export TESTBED_${V}_USER='$PEER_USER'
export TESTBED_${V}_KNOWN_HOSTS='$DIR/ssh/known_hosts.$peer'
EOF
    cat "$DIR/env.$peer"
}

write_env() {
    cat > "$DIR/env" <<EOF
export DBUS_SYSTEM_BUS_ADDRESS='${DBUS_SYSTEM_BUS_ADDRESS:-}'
export TESTBED_DIR='$DIR'
export TESTBED_POLKIT_MODE='$PMODE'
export TESTBED_JOURNAL_MODE='$JMODE'
export TESTBED_JOURNAL_DIR='$JDIR'
EOF
    if [ -n "$SSH_PORT" ]; then cat >> "$DIR/env" <<EOF
export TESTBED_SSH_HOST='127.0.0.1'
export TESTBED_SSH_PORT='$SSH_PORT'
export TESTBED_SSH_USER='$SSH_USER'
export TESTBED_SSH_KEY='$DIR/ssh/id_ed25519'
export TESTBED_SSH_PUBKEY='$DIR/ssh/id_ed25519.pub'
export TESTBED_SSH_KNOWN_HOSTS='$DIR/ssh/known_hosts'
EOF
    fi
    cat "$DIR/env"
}

up() {
    prepare_dir
    # shellcheck disable=SC2154
    trap 'rc=$?; [ $rc -eq 0 ] || { log "up failed (rc=$rc), tearing down"; down; }' EXIT
    start_bus
    start_journald
    start_polkitd
    start_sshd
    write_env
    log "up: $(awk '$1=="pid"{printf "%s=%s ", $2, $3}' "$STATE")(journal: $JMODE ${JDIR:-default}, polkit: $PMODE)"
    trap - EXIT
}

journal_up() {
    prepare_dir
    # shellcheck disable=SC2154
    trap 'rc=$?; [ $rc -eq 0 ] || { log "journal-up failed (rc=$rc), tearing down"; down; }' EXIT
    start_journald
    write_env
    trap - EXIT
}

down() {
    [ -f "$STATE" ] || { log "no state in $DIR, nothing to do"; return 0; }
    local kind a b c pids=()
    # stop in reverse start order; only PIDs we recorded, and only if the start time still matches
    while read -r kind a b c; do
        [ "$kind" = pid ] || continue
        if alive "$b" && [ "$(starttime "$b")" = "$c" ]; then kill -TERM "$b" && pids+=("$b") && log "stopping $a ($b)"
        else log "$a ($b) already gone"; fi
    done < <(tac "$STATE")
    local t p
    for p in "${pids[@]}"; do
        for t in $(seq 50); do alive "$p" || break; sleep 0.1; done
        if alive "$p"; then log "pid $p ignored SIGTERM, SIGKILL"; kill -KILL "$p" || true; fi
    done
    while read -r kind a b c; do
        case "$kind" in
            file) rm -f -- "$a" ;;
            dir)  rm -rf -- "$a" ;;
            keyline) unauthorize_peer_key "$a" "$b" ;;
        esac
    done < <(tac "$STATE")
    mv "$STATE" "$STATE.down"
    log "down: done"
}

check() {
    [ -f "$DIR/env" ] || die "no $DIR/env: run '$0 up $DIR' first"
    # shellcheck disable=SC1091
    . "$DIR/env"
    local ok=0 bad=0 t
    pass() { echo "PASS $*"; ok=$((ok+1)); }
    fail() { echo "FAIL $*"; bad=$((bad+1)); }
    if busctl --system list --no-pager | grep -q org.freedesktop.PolicyKit1; then pass "busctl sees PolicyKit1"; else fail busctl; fi
    if setpriv --reuid=65534 --regid=65534 --clear-groups env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" \
        busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetId >/dev/null
    then pass "uid nobody can use the bus"; else fail "nobody on bus"; fi
    local u pid
    for u in rbtest-alice rbtest-mallory; do
        getent passwd "$u" >/dev/null || { fail "user $u missing (run tools/setup.sh)"; continue; }
        setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups sleep 5 & pid=$!
        sleep 0.2
        if pkcheck --action-id org.runbookd1.approve-step --process "$pid" >/dev/null 2>&1; then
            if [ "$u" = rbtest-alice ]; then pass "polkit: $u authorized"; else fail "polkit: $u authorized"; fi
        else
            if [ "$u" = rbtest-alice ]; then fail "polkit: $u denied"; else pass "polkit: $u denied"; fi
        fi
        kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    done
    t=check-$$-$RANDOM
    printf 'MESSAGE=[EXECUTE_STEP] testbed check\nRUNBOOK_SESSION=%s\n' "$t" | logger --journald
    local JCTL=(journalctl --no-pager); [ -n "$TESTBED_JOURNAL_DIR" ] && JCTL+=(-D "$TESTBED_JOURNAL_DIR")
    local found=0
    for _ in $(seq 50); do
        if "${JCTL[@]}" -o json RUNBOOK_SESSION="$t" | grep -q '"MESSAGE":"\[EXECUTE_STEP\] testbed check"'; then found=1; break; fi
        sleep 0.1
    done
    if [ $found = 1 ]; then pass "journal record with RUNBOOK_SESSION=$t"; else fail journal; fi
    if [ -n "${TESTBED_SSH_PORT:-}" ] && [ "$(ssh -p "$TESTBED_SSH_PORT" -i "$TESTBED_SSH_KEY" -F /dev/null \
        -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes \
        -o UserKnownHostsFile="$TESTBED_SSH_KNOWN_HOSTS" "$TESTBED_SSH_USER@$TESTBED_SSH_HOST" 'echo ssh-ok')" = ssh-ok ]
    then pass "ssh exec on the testbed's sshd"; else fail "ssh exec"; fi
    echo "check: $ok passed, $bad failed"
    [ $bad = 0 ]
}

case "$cmd" in
    up) up ;;
    down|journal-down) down ;;
    journal-up) journal_up ;;
    journal-answers) journal_answers "$ARG" ;;
    env) [ -f "$DIR/env" ] || die "no $DIR/env"; cat "$DIR/env" ;;
    check) check ;;
    sshd-stop) sshd_stop ;;
    sshd-start) sshd_start ;;
    peer-up) peer_up "$ARG" ;;
    *) die "unknown command $cmd" ;;
esac
