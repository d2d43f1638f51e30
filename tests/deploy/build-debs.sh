#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/deploy/build-debs.sh OUT: the Debian packages of the working tree, as a Debian developer
# builds them: the tree (without build directories and .git) copied to OUT/src, then
# 'dpkg-buildpackage -b -us -uc' there (the .debs land in OUT), then lintian on them: an error
# fails, warnings are shown. Needs debhelper and lintian (tools/setup.sh installs them) and
# cockpit/node_modules (npm ci) for cockpit-runbookd.
set -uo pipefail
SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
OUT=$1
command -v dpkg-buildpackage >/dev/null && command -v lintian >/dev/null && command -v dh >/dev/null ||
    { echo "dpkg-buildpackage, dh or lintian missing: run tools/setup.sh"; exit 1; }
rm -rf "$OUT"; mkdir -p "$OUT/src"
tar -C "$SOURCE_ROOT" --exclude='./build*' --exclude=./.git --exclude='./obj-*' --exclude=./debian/.debhelper \
    -cf - . | tar -C "$OUT/src" -xf -
echo "# dpkg-buildpackage -b -us -uc in $OUT/src"
(cd "$OUT/src" && dpkg-buildpackage -b -us -uc) > "$OUT/build.log" 2>&1 ||
    { tail -n 60 "$OUT/build.log"; echo "dpkg-buildpackage failed (see $OUT/build.log)"; exit 1; }
ls -l "$OUT"/*.deb
echo "# lintian"
lintian --fail-on error --display-level '>=warning' --tag-display-limit 0 "$OUT"/*.changes > "$OUT/lintian.log" 2>&1
rc=$?
cat "$OUT/lintian.log"
[ $rc = 0 ] || { echo "lintian reports errors"; exit 1; }
echo "lintian: no errors"
