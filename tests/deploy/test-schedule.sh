#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Inside a booted Debian 12 (systemd as PID 1) with runbookd installed (tests/deploy/run.sh):
# scheduled runbooks the systemd way. runbookd.service runs under PID 1; the schedule's user comes
# from sysusers.d; the example polkit rules let runbookd-scheduler start sessions.
# runbookd-start@nightly-rotate.timer, a few seconds ahead (a drop-in's OnCalendar=), starts a
# session of runbook nightly-rotate as runbookd-scheduler, with the parameter from
# /etc/runbookd/schedules/nightly-rotate.conf and the reference "timer:nightly-rotate:<time>", and
# the session waits at its approval gate. A schedule without a .conf file starts nothing; a .conf
# with a bad line fails the service with the file and line in the journal.
set -uo pipefail
# shellcheck source=tests/deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(cat /proc/1/comm)" = systemd ] || die "systemd is not PID 1 here"
command -v runbookctl >/dev/null || die "runbookd is not installed"

# ---- deploy as a package would: users, bus policy, polkit rules, config
systemd-sysusers
check "sysusers.d made the user runbookd-scheduler" getent passwd runbookd-scheduler
systemctl reload dbus
install -D -m 644 /root/runbookd/policy/50-runbookd-example.rules /etc/polkit-1/rules.d/50-runbookd.rules
systemctl restart polkit
mkdir -p /etc/runbookd/runbooks /etc/runbookd/schedules
cat > /etc/runbookd/runbooks/nightly-rotate.json <<'JSON'
{"description": "rotate logs nightly",
 "parameters": {"keep": {"description": "archives kept", "pattern": "^[0-9]+$"}},
 "steps": [{"name": "rotate", "run": "echo rotating, keeping {{keep}}", "approval": "required"}]}
JSON
systemctl start runbookd.service
waitfor 20 "runbookd.service is active under PID 1" systemctl is-active runbookd.service

# ---- a timer a few seconds ahead
echo 'keep=7' > /etc/runbookd/schedules/nightly-rotate.conf
at=$(date -d '+4 seconds' '+%Y-%m-%d %H:%M:%S')
mkdir -p /etc/systemd/system/runbookd-start@nightly-rotate.timer.d
printf '[Timer]\nOnCalendar=\nOnCalendar=%s\nRandomizedDelaySec=0\nAccuracySec=1s\n' "$at" \
    > /etc/systemd/system/runbookd-start@nightly-rotate.timer.d/at.conf
systemctl daemon-reload
check "systemctl enable --now runbookd-start@nightly-rotate.timer" \
    systemctl enable --now runbookd-start@nightly-rotate.timer
systemctl list-timers --all --no-pager 'runbookd-start@*'
session() { ctl list --json=short | jq -e '[.[] | select(.runbook == "nightly-rotate")] | length == 1'; }
# (AccuracySec=1s: timers otherwise fire anywhere within a minute of their time, to coalesce wake-ups)
waitfor 30 "the timer started a session of nightly-rotate" session ||
    { systemctl status --no-pager 'runbookd-start@nightly-rotate.*'; journalctl --no-pager -n 30 -u 'runbookd-start@*'; }
s=$(ctl list --json=short | jq -c '.[] | select(.runbook == "nightly-rotate")')
echo "session: $s"
id=$(jq -r .id <<<"$s")
ref=$(jq -r .reference <<<"$s")
[[ "$ref" =~ ^timer:nightly-rotate:20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z$ ]] &&
    pass "reference is timer:NAME:<UTC time> ($ref)" || fail "reference '$ref'"
waitfor 10 "the session waits at its approval gate" sh -c "runbookctl --no-pager show $id --json=short | jq -e '.state == \"waiting_approval\"'"
show=$(ctl show "$id" --json=short)
[ "$(jq -r .created_by <<<"$show")" = runbookd-scheduler ] && pass "started by runbookd-scheduler" ||
    fail "created_by: $(jq -c '.created_by' <<<"$show")"
want="echo rotating, keeping '7'"   # a parameter is quoted for the shell
jq -e --arg w "$want" '.steps[0].command == $w' <<<"$show" >/dev/null &&
    pass "the parameter from the .conf file is in the command" || fail "command: $(jq -c '.steps[0].command' <<<"$show")"
[ "$(systemctl show -p Result --value runbookd-start@nightly-rotate.service)" = success ] &&
    pass "runbookd-start@nightly-rotate.service succeeded" || fail "the service's result"
journalctl -u runbookd-start@nightly-rotate.service --no-pager -o cat | grep -q "Session $id started" &&
    pass "the service's journal says which session it started" || fail "no 'Session $id started' in its journal"

# ---- no .conf: nothing starts
before=$(ctl list --json=short | jq length)
systemctl start runbookd-start@unscheduled.service
[ "$(systemctl show -p ConditionResult --value runbookd-start@unscheduled.service)" = no ] &&
    pass "without a .conf file the condition fails" || fail "ConditionResult of runbookd-start@unscheduled"
[ "$(ctl list --json=short | jq length)" = "$before" ] && pass "and no session was started" || fail "a session was started"

# ---- a bad .conf line: the service fails, naming the file and the line
printf '# comment\nkeep 7\n' > /etc/runbookd/schedules/nightly-rotate.conf
systemctl start runbookd-start@nightly-rotate.service
[ "$(systemctl show -p Result --value runbookd-start@nightly-rotate.service)" = exit-code ] &&
    pass "a bad .conf fails the service" || fail "the service did not fail"
journalctl -u runbookd-start@nightly-rotate.service --no-pager -o cat |
    grep -qF "/etc/runbookd/schedules/nightly-rotate.conf:2: expected NAME=VALUE" &&
    pass "its journal names the file and line" || fail "no file:line error in the journal"
[ "$(ctl list --json=short | jq length)" = "$before" ] && pass "and no session was started" || fail "a session was started"

finish test-schedule
