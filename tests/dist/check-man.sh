#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# check-man.sh PAGE...: each man page must exist and format with groff -man -ww -z (all
# warnings on, no output) without printing anything: any warning or error fails the test.
set -uo pipefail
[ $# -gt 0 ] || { echo "usage: $0 PAGE..."; exit 2; }
command -v groff >/dev/null || { echo "groff missing: run tools/setup.sh"; exit 1; }
fail=0
for page in "$@"; do
    if [ ! -r "$page" ]; then
        echo "$page: missing"; fail=1; continue
    fi
    out=$(groff -man -ww -z "$page" 2>&1); rc=$?
    if [ "$rc" != 0 ] || [ -n "$out" ]; then
        echo "$page: groff -man -ww -z (status $rc):"; echo "$out"; fail=1
    else
        echo "$page: ok"
    fi
done
exit "$fail"
