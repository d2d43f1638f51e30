#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# run.sh EXE CORPUS replay|libfuzzer: a fuzz target over its seed corpus. "replay": every seed
# once (fuzz-main.c). "libfuzzer": libFuzzer for FUZZ_SECONDS (default 20) over a copy of the
# corpus (the tree's is never written), new inputs kept in BUILD/fuzz-new/NAME; a crash fails the
# test and leaves the input (crash-*) there, to be added to the corpus with the fix.
set -uo pipefail
exe=$(realpath "$1") corpus=$(realpath "$2") mode=$3
name=$(basename "$exe")
[ -d "$corpus" ] && [ -n "$(ls -A "$corpus")" ] || { echo "no seed corpus in $corpus"; exit 1; }
if [ "$mode" = replay ]; then
    exec "$exe" "$corpus"
fi
work="$(dirname "$(dirname "$(dirname "$exe")")")/fuzz-new/$name"   # BUILD/fuzz-new/NAME
mkdir -p "$work"
cd "$work" || exit 1
exec "$exe" -max_total_time="${FUZZ_SECONDS:-20}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/" "$work" "$corpus"
