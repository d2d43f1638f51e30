#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/units.sh - the local-step figure in unit mode (issue 16): 100 approval-free 'true' steps,
# each a transient unit of PID 1, against 'systemd-run --wait -q true' x 100, side by side in the
# same booted Debian 12 container (systemd as PID 1: tools/fresh-debian.sh --boot). Target: ratio
# <= 1.2. bench/run.sh keeps the direct-spawn figure (runbookd's own children), measured where
# systemd is not PID 1.
#
# usage: bash bench/units.sh [BUILD_DIR]   (default: build-bench-units, a release build for /usr
#                                           made here and installed into the container)
# knobs: UNITBENCH_ROUNDS (default 7)      rounds; each runs one session and one systemd-run loop
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build-bench-units}
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
if [ ! -f "$BUILD/meson-private/coredata.dat" ]; then
    meson setup "$BUILD" "$ROOT" --buildtype=release --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
        -Dcockpit=disabled >/dev/null
fi
meson compile -C "$BUILD" >/dev/null
echo "== runbookd local steps as units ($(date -u +%FT%TZ), $(nproc) cores, build $BUILD)"
FRESH_ROOT=${UNITBENCH_ROOT:-/var/tmp/runbookd-bench-units-root} FRESH_LOG=/dev/stderr \
    bash "$ROOT/tools/fresh-debian.sh" --boot --copy --install "$BUILD" -- \
    "UNITBENCH_ROUNDS=${UNITBENCH_ROUNDS:-7} bash bench/units-inner.sh"
