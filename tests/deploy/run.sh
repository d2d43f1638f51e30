#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/deploy/run.sh TEST...: runbookd deployed on a booted Debian 12 (systemd as PID 1, in a
# systemd-nspawn container: tools/fresh-debian.sh --boot), as a package would deploy it: a build
# configured --prefix=/usr --sysconfdir=/etc --localstatedir=/var, 'meson install'ed into the
# container's root, its run-time libraries from Debian's archive; then each TEST
# (tests/deploy/TEST.sh) runs inside as root. Run by meson (suite "deploy", not under
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
cmds=()
for t in "$@"; do cmds+=("bash tests/deploy/$t.sh"); done
: > "$WORK/run.log"
FRESH_ROOT="$WORK/root" FRESH_LOG="$WORK/run.log" \
    bash "$SOURCE_ROOT/tools/fresh-debian.sh" --boot --copy --install "$WORK/build" -- "${cmds[*]}" \
    2> "$WORK/fresh.err"
rc=$?
cat "$WORK/fresh.err" >&2
if [ $rc = 77 ]; then
    echo "SKIP: a booted container cannot run here: $(sed -n 's/^fresh: cannot: //p' "$WORK/fresh.err" | tail -n 1)"
    exit 77
fi
[ $rc = 0 ] || echo "# the container's console: $WORK/root.console.log; its run: $WORK/run.log"
exit $rc
