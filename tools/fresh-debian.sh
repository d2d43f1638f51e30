#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tools/fresh-debian.sh - run the README's commands as a newcomer would: on a fresh Debian 12
# (debootstrap --variant=minbase, nothing else), as root, with a clone of this checkout's HEAD in
# /root/runbookd (mode 0700: other users cannot reach it), in a systemd-nspawn container (its own
# PID and mount namespaces, the host's network: apt and npm work as on the host). As root:
#   bash tools/fresh-debian.sh test          # bash tools/test.sh in the fresh root
#   bash tools/fresh-debian.sh demo test     # both, one after the other, in the same root
#   bash tools/fresh-debian.sh -- CMD...     # any command in /root/runbookd
#   bash tools/fresh-debian.sh --boot demo test
#                                            # the same on a booted Debian 12: minbase plus what
#                                            # a Debian server boots with (systemd-sysv, dbus,
#                                            # libpam-systemd: systemd as PID 1, journald, logind)
# Options (before the commands):
#   --copy            the working tree instead of a clone of HEAD (uncommitted changes too)
#   --install BUILD   'meson install' BUILD (configured --prefix=/usr --sysconfdir=/etc
#                     --localstatedir=/var) into the root first, and install its run-time
#                     libraries there: a deployed runbookd (tests/deploy/)
#   --debs DIR        copy DIR/*.deb into the root's /root/debs (for a test to install them)
# Exit status: that of the commands; 77 when the root cannot be made (debootstrap) or the container
# cannot boot here, with the reason on stderr.
# Environment: FRESH_ROOT (the container's root, default $FRESH_DIR/root or root-boot; removed
# and made anew), FRESH_LOG (default $FRESH_DIR/run.log).
# The root is cached in $FRESH_DIR (default /var/tmp/runbookd-fresh), one per kind; each run
# starts from a new copy of it. What is copied from the host is only how this machine reaches the
# archive and registries (apt sources and settings, resolv.conf, extra CA certificates), never a
# package. Output goes to the terminal and to $FRESH_DIR/run.log.
set -euo pipefail

SOURCE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FRESH_DIR=${FRESH_DIR:-/var/tmp/runbookd-fresh}
BOOT=0 COPY=0 INSTALL="" DEBS=""
while [ $# -gt 0 ]; do
    case "$1" in
        --boot) BOOT=1 ;;
        --copy) COPY=1 ;;
        --install) INSTALL=$2; shift ;;
        --debs) DEBS=$2; shift ;;
        *) break ;;
    esac
    shift
done
if [ $BOOT = 1 ]; then
    INCLUDE=systemd,systemd-sysv,dbus,libpam-systemd
    CACHE="$FRESH_DIR/bookworm-minbase-systemd.tar" ROOT=${FRESH_ROOT:-$FRESH_DIR/root-boot}
else
    INCLUDE="" CACHE="$FRESH_DIR/bookworm-minbase.tar" ROOT=${FRESH_ROOT:-$FRESH_DIR/root}
fi
LOG=${FRESH_LOG:-$FRESH_DIR/run.log}
say() { echo "fresh: $*" >&2; }
die() { echo "fresh: $*" >&2; exit 1; }
# the container cannot be made or booted on this machine (not a failure of what runs in it)
cannot() { echo "fresh: cannot: $*" >&2; exit 77; }

[ "$(id -u)" = 0 ] || die "run as root"
[ $# -gt 0 ] || die "usage: $0 [--boot] [--copy] [--install BUILDDIR] demo|test... | -- CMD..."
CMDS=()
while [ $# -gt 0 ]; do
    case "$1" in
        demo|test) CMDS+=("bash tools/$1.sh") ;;
        --) shift; CMDS+=("$*"); break ;;
        *) die "unknown argument '$1' (demo, test, -- CMD...)" ;;
    esac
    shift
done

if ! command -v debootstrap >/dev/null || ! command -v systemd-nspawn >/dev/null; then
    say "installing debootstrap and systemd-container (on this host, to make the root)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap systemd-container >&2 || {
        apt-get -q update >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap systemd-container >&2; }
fi
mkdir -p "$FRESH_DIR"
if [ ! -s "$CACHE" ]; then
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    say "debootstrap --variant=minbase${INCLUDE:+ --include=$INCLUDE} bookworm (${mirror:-http://deb.debian.org/debian})"
    rm -rf "$FRESH_DIR/cache-root"
    debootstrap --variant=minbase ${INCLUDE:+--include=$INCLUDE} bookworm "$FRESH_DIR/cache-root" \
        "${mirror:-http://deb.debian.org/debian}" \
        > "$FRESH_DIR/debootstrap.log" 2>&1 || cannot "debootstrap failed, see $FRESH_DIR/debootstrap.log"
    tar -C "$FRESH_DIR/cache-root" -cf "$CACHE.new" . && mv "$CACHE.new" "$CACHE"
    rm -rf "$FRESH_DIR/cache-root"
fi

grep -q " ${ROOT}[/ ]" /proc/self/mounts && die "mounts remain under $ROOT"
rm -rf --one-file-system "$ROOT"; mkdir -p "$ROOT"
tar -C "$ROOT" -xf "$CACHE"
# how this machine reaches the archive and the registries
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$ROOT/etc/apt/sources.list.d/"; rm -f "$ROOT/etc/apt/sources.list"
fi
for f in /etc/apt/apt.conf.d/99artifact-registry /etc/apt/apt.conf.d/99farm-no-dep11; do
    [ -f "$f" ] && cp "$f" "$ROOT/etc/apt/apt.conf.d/"
done
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
if [ -d /usr/local/share/ca-certificates ]; then
    mkdir -p "$ROOT/usr/local/share/ca-certificates"
    cp -a /usr/local/share/ca-certificates/. "$ROOT/usr/local/share/ca-certificates/"
    # trusted before ca-certificates is installed in the root (apt over https, npm)
    cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt" 2>/dev/null || true
fi
# the checkout: a clone of HEAD (what is committed), where a newcomer would clone it
if [ $COPY = 1 ]; then
    mkdir -p "$ROOT/root/runbookd"
    tar -C "$SOURCE_ROOT" --exclude=./build --exclude=./build-asan --exclude=./cockpit/node_modules \
        --exclude=./.git -cf - . | tar -C "$ROOT/root/runbookd" -xf -
    what="a copy of the working tree of $SOURCE_ROOT"
else
    git clone -q --no-hardlinks "$SOURCE_ROOT" "$ROOT/root/runbookd"
    what="a clone of $(git -C "$SOURCE_ROOT" rev-parse --short HEAD)"
fi
chmod 700 "$ROOT/root"
if [ -n "$INSTALL" ]; then
    DESTDIR="$ROOT" meson install -C "$INSTALL" --no-rebuild --quiet >&2 || die "meson install into $ROOT failed"
    what+=", $INSTALL installed"
fi
if [ -n "$DEBS" ]; then
    mkdir -p "$ROOT/root/debs"
    cp "$DEBS"/*.deb "$ROOT/root/debs/" || die "no .deb in $DEBS"
    what+=", the .debs of $DEBS in /root/debs"
fi
say "root: $ROOT (minbase + $what in /root/runbookd)"

rc=0
if [ $BOOT = 0 ]; then
    for c in "${CMDS[@]}"; do
        say "running in the fresh root: cd /root/runbookd && $c"
        systemd-nspawn -q -D "$ROOT" --register=no --keep-unit --as-pid2 --setenv=HOME=/root \
            --setenv=NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
            /bin/bash -c "cd /root/runbookd && $c" 2>&1 | tee -a "$LOG" || rc=$?
        [ "$rc" = 0 ] || { say "'$c' failed (status $rc)"; break; }
    done
    exit "$rc"
fi

# booted: systemd as PID 1 in the container (no host systemd or machined needed with
# --register=no --keep-unit), commands entered with nsenter into all its namespaces
echo "fresh-$$" > "$ROOT/etc/hostname"
chroot "$ROOT" passwd -d root >/dev/null
setsid systemd-nspawn -D "$ROOT" --boot --register=no --keep-unit --console=pipe \
    > "$ROOT.console.log" 2>&1 < /dev/null &
NSPAWN=$!
poweroff() {
    kill -TERM "$NSPAWN" 2>/dev/null || return 0     # SIGTERM: a clean shutdown of the container
    for _ in $(seq 300); do kill -0 "$NSPAWN" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$NSPAWN" 2>/dev/null
}
trap poweroff EXIT
LEADER=""
for _ in $(seq 300); do
    LEADER=$(pgrep -P "$NSPAWN" -x systemd | head -n 1) && [ -n "$LEADER" ] && break
    sleep 0.1
done
[ -n "$LEADER" ] || cannot "the container's systemd did not start (see $ROOT.console.log)"
state=""
for _ in $(seq 180); do   # is-system-running fails until PID 1 answers on its bus
    state=$(timeout 30 nsenter -t "$LEADER" -a -- /bin/systemctl is-system-running --wait 2>/dev/null || true)
    case "$state" in running|degraded) break ;; esac
    sleep 0.5
done
case "$state" in running|degraded) say "booted: systemd is PID 1 ($state)" ;;
    *) cannot "the container did not boot: '$state' (see $ROOT.console.log)" ;; esac
if [ -n "$INSTALL" ]; then
    say "installing runbookd's run-time packages in the container"
    nsenter -t "$LEADER" -a -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        /bin/sh -c 'apt-get -q update && apt-get -y -q install --no-install-recommends liblmdb0 libjansson4 \
            libssh2-1 libcurl4 libssl3 polkitd jq procps' >> "$LOG" 2>&1 || die "apt-get in the container failed (see $LOG)"
fi
# Each command runs as a transient service of the container's PID 1 (systemd-run --wait --pipe), as
# anything on a booted machine runs in a unit: a systemd-nspawn it starts (tests/deploy/) then
# finds its unit's cgroup to put the nested container in. The command goes in a script file (the
# command line of systemd-run would have its $ expanded by systemd).
for c in "${CMDS[@]}"; do
    say "running on the booted root: cd /root/runbookd && $c"
    printf '#!/bin/bash\ncd /root/runbookd && %s\n' "$c" > "$ROOT/root/.fresh-command"
    nsenter -t "$LEADER" -a -- /usr/bin/systemd-run --quiet --wait --pipe --collect --service-type=exec \
        --setenv=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --setenv=HOME=/root \
        --setenv=LANG=C.UTF-8 --setenv=NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
        /bin/bash /root/.fresh-command 2>&1 | tee -a "$LOG" || rc=$?
    [ "$rc" = 0 ] || { say "'$c' failed (status $rc)"; break; }
done
exit "$rc"
