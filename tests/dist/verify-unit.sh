#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# verify-unit.sh UNIT RUNBOOKD: systemd-analyze verify on the generated unit (works without
# systemd as PID 1), with ExecStart pointed at the built binary so that the executable check
# passes. Any warning fails the test. Also checks the directives the product relies on (among them
# LimitCORE=0: no core dump may carry the secrets runbookd holds).
set -euo pipefail
unit=$1 daemon=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
for d in 'Type=notify' 'BusName=org.runbookd1' 'ExecStart=/.*/runbookd$' 'StateDirectory=runbookd' \
         'ConfigurationDirectory=runbookd' 'NoNewPrivileges=yes' 'PrivateTmp=yes' \
         'ProtectKernelTunables=yes' 'SystemCallArchitectures=native' '^#LoadCredential=' \
         '^LimitCORE=0$' '^User=runbookd$' '^CapabilityBoundingSet=$' '^ProtectSystem=strict$'; do
    grep -qE "^$d|$d" "$unit" || { echo "missing in $unit: $d"; fail=1; }
done
grep -q '@[a-z_]*@' "$unit" && { echo "unsubstituted @var@ in $unit"; fail=1; }
if command -v systemd-analyze >/dev/null; then
    sed "s|^ExecStart=.*|ExecStart=$daemon|" "$unit" > "$tmp/runbookd.service"
    if ! out=$(systemd-analyze --man=no verify "$tmp/runbookd.service" 2>&1); then
        echo "systemd-analyze verify failed:"; echo "$out"; fail=1
    elif [ -n "$out" ]; then
        echo "systemd-analyze verify warned:"; echo "$out"; fail=1
    else
        echo "systemd-analyze verify: ok"
    fi
else
    echo "systemd-analyze not installed: grep-level checks only"
fi
exit $fail
