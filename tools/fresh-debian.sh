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
# The minbase root is cached in $FRESH_DIR (default /var/tmp/runbookd-fresh); each run starts
# from a new copy of it. What is copied from the host is only how this machine reaches the
# archive and registries (apt sources and settings, resolv.conf, extra CA certificates), never a
# package. Output goes to the terminal and to $FRESH_DIR/run.log.
set -euo pipefail

SOURCE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FRESH_DIR=${FRESH_DIR:-/var/tmp/runbookd-fresh}
CACHE="$FRESH_DIR/bookworm-minbase.tar"
ROOT="$FRESH_DIR/root"
say() { echo "fresh: $*" >&2; }
die() { echo "fresh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root"
[ $# -gt 0 ] || die "usage: $0 demo|test... | -- CMD..."
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
    say "debootstrap --variant=minbase bookworm (${mirror:-http://deb.debian.org/debian})"
    rm -rf "$FRESH_DIR/cache-root"
    debootstrap --variant=minbase bookworm "$FRESH_DIR/cache-root" "${mirror:-http://deb.debian.org/debian}" \
        > "$FRESH_DIR/debootstrap.log" 2>&1 || die "debootstrap failed, see $FRESH_DIR/debootstrap.log"
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
git clone -q --no-hardlinks "$SOURCE_ROOT" "$ROOT/root/runbookd"
chmod 700 "$ROOT/root"
say "root: $ROOT (minbase + a clone of $(git -C "$SOURCE_ROOT" rev-parse --short HEAD) in /root/runbookd)"

rc=0
for c in "${CMDS[@]}"; do
    say "running in the fresh root: cd /root/runbookd && $c"
    systemd-nspawn -q -D "$ROOT" --register=no --keep-unit --as-pid2 --setenv=HOME=/root \
        --setenv=NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
        /bin/bash -c "cd /root/runbookd && $c" 2>&1 | tee -a "$FRESH_DIR/run.log" || rc=$?
    [ "$rc" = 0 ] || { say "'$c' failed (status $rc)"; break; }
done
exit "$rc"
