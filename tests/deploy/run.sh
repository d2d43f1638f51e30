#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/deploy/run.sh TEST...: runbookd deployed on a booted Debian 12 (systemd as PID 1, in a
# systemd-nspawn container: tools/fresh-debian.sh --boot), as a package would deploy it: a build
# configured --prefix=/usr --sysconfdir=/etc --localstatedir=/var, 'meson install'ed into the
# container's root, its run-time libraries from Debian's archive; then each TEST
# (tests/deploy/TEST.sh) runs inside as root, each in a container of its own. test-package gets
# the Debian packages instead (tests/deploy/build-debs.sh: dpkg-buildpackage, lintian), which it
# installs itself. Run by meson (suite "deploy", not under
# --sanitize). The first run makes the cached root (debootstrap, a few minutes).
set -uo pipefail
SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
WORK=${DEPLOY_WORK:-$SOURCE_ROOT/build/deploy}
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (systemd-nspawn)"; exit 77; }
[ $# -gt 0 ] || { echo "usage: $0 TEST..."; exit 2; }
mkdir -p "$WORK"
echo "# building for /usr in $WORK/build"
if [ ! -f "$WORK/build/meson-private/coredata.dat" ]; then
    meson setup "$WORK/build" "$SOURCE_ROOT" --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
        -Dcockpit=disabled > "$WORK/setup.log" 2>&1 || { cat "$WORK/setup.log"; exit 1; }
fi
meson compile -C "$WORK/build" > "$WORK/compile.log" 2>&1 || { tail -n 50 "$WORK/compile.log"; exit 1; }
rc=0
for t in "$@"; do   # each in a container of its own: the tests assume a fresh machine
    : > "$WORK/run.log"
    what=(--install "$WORK/build")
    if [ "$t" = test-package ]; then   # the .debs instead: built here, installed by the test
        bash "$SOURCE_ROOT/tests/deploy/build-debs.sh" "$WORK/debs" || exit 1
        what=(--debs "$WORK/debs")
    fi
    FRESH_ROOT="$WORK/root" FRESH_LOG="$WORK/run.log" \
        bash "$SOURCE_ROOT/tools/fresh-debian.sh" --boot --copy "${what[@]}" -- "bash tests/deploy/$t.sh" \
        2> "$WORK/fresh.err"
    r=$?
    cat "$WORK/fresh.err" >&2
    if [ $r = 77 ]; then
        echo "SKIP: a booted container cannot run here: $(sed -n 's/^fresh: cannot: //p' "$WORK/fresh.err" | tail -n 1)"
        exit 77
    fi
    [ $r = 0 ] || { echo "# $t: the container's console: $WORK/root.console.log; its run: $WORK/run.log"; rc=1; }
done
exit $rc
