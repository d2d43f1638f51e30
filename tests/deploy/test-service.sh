#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Inside a booted Debian 12 (systemd as PID 1) with runbookd installed (tests/deploy/run.sh):
# runbookd.service as installed — an unprivileged, sandboxed daemon.
#   - it runs as the system user runbookd (sysusers.d), owns its state directory, and
#     'systemd-analyze security' rates the unit 2.0 or less;
#   - real users call it: polkit decides about them although runbookd is not root (the actions'
#     owner annotation), four eyes hold, and the approved step runs as root in its own unit
#     (the polkit rule lets runbookd start units named runbookd-*, and nothing about other units);
#   - a notification program runs as a transient unit with a dynamic user of its own (never as
#     runbookd), and is removed afterwards; a "user" for it is refused;
#   - D-Bus activation (the first call starts it), reload, and a second instance on the same state
#     directory refused with the holder's PID, changing nothing.
set -uo pipefail
# shellcheck source=tests/deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
as() { # USER CMD...: as that user (no login uid: runbookd takes the uid for the person)
    local u=$1; shift
    setpriv --reuid="$u" --regid="$u" --init-groups env HOME=/ "$@"
}
state() { ctl show "$1" --json=short | jq -r .state; }

[ "$(cat /proc/1/comm)" = systemd ] || die "systemd is not PID 1 here"
command -v runbookctl >/dev/null || die "runbookd is not installed"

# ---- deploy as a package would
systemd-sysusers
getent passwd runbookd >/dev/null && pass "sysusers.d made the user runbookd" || fail "no user runbookd"
systemctl reload dbus
systemctl restart polkit
groupadd --system rbops
useradd --system --no-create-home --shell /bin/sh -G rbops rb-alice
useradd --system --no-create-home --shell /bin/sh -G rbops rb-bob
mkdir -p /etc/polkit-1/rules.d /etc/runbookd/runbooks
cat > /etc/polkit-1/rules.d/50-rbops.rules <<'JS'
polkit.addRule(function(action, subject) {
    if (action.id.indexOf("org.runbookd1.") == 0 && subject.isInGroup("rbops"))
        return polkit.Result.YES;
});
JS
cat > /etc/runbookd/runbooks/gated.json <<'JSON'
{"description": "one gate", "steps": [{"name": "whoami", "run": "id -un > /run/rb-gated; id -un", "approval": "required"}]}
JSON

# ---- D-Bus activation: the first call starts runbookd.service
! systemctl is-active -q runbookd.service && pass "runbookd is not running before the first call" ||
    fail "runbookd already runs"
busctl call org.runbookd1 /org/runbookd1 org.freedesktop.DBus.Peer Ping >/dev/null &&
    pass "a call to org.runbookd1 is answered" || fail "Ping org.runbookd1"
waitfor 10 "the call activated runbookd.service" systemctl is-active runbookd.service
pid=$(systemctl show -p MainPID --value runbookd.service)
[ "$(ps -o user= -p "$pid")" = runbookd ] && pass "runbookd (pid $pid) runs as the user runbookd" ||
    fail "runbookd runs as $(ps -o user= -p "$pid")"
[ "$(stat -c %U /var/lib/runbookd)" = runbookd ] && pass "and owns /var/lib/runbookd" ||
    fail "/var/lib/runbookd is owned by $(stat -c %U /var/lib/runbookd)"
grep -q '^CapEff:[[:space:]]*0000000000000000$' "/proc/$pid/status" && pass "with no capabilities" ||
    fail "capabilities: $(grep CapEff "/proc/$pid/status")"

# ---- the exposure figure
sec=$(systemd-analyze security --no-pager runbookd.service 2>&1)
echo "$sec" | grep -E '✗|Overall'
level=$(sed -n 's/.*Overall exposure level for runbookd.service: \([0-9.]*\).*/\1/p' <<<"$sec")
awk -v l="$level" 'BEGIN { exit !(l != "" && l <= 2.0) }' && pass "systemd-analyze security: exposure $level (<= 2.0)" ||
    fail "systemd-analyze security: exposure '$level'"

# ---- real users: polkit answers an unprivileged runbookd; four eyes; the step runs as root
id=$(as rb-alice runbookctl --no-pager --no-ask-password start gated --json=short | jq -r .id)
[ -n "$id" ] && [ "$id" != null ] && pass "rb-alice started session $id" || fail "rb-alice could not start a session"
waitfor 10 "it waits for approval" sh -c "[ \"\$(runbookctl --no-pager show $id --json=short | jq -r .state)\" = waiting_approval ]"
out=$(as rb-alice runbookctl --no-pager --no-ask-password approve "$id" 2>&1) && fail "rb-alice approved her own step" ||
    pass "rb-alice may not approve her own step ($out)"
as nobody runbookctl --no-pager --no-ask-password approve "$id" >/dev/null 2>&1 && fail "nobody approved" ||
    pass "a user polkit does not authorize may not approve"
as rb-bob runbookctl --no-pager --no-ask-password approve "$id" -m ok >/dev/null && pass "rb-bob approved" ||
    fail "rb-bob could not approve"
waitfor 20 "the session succeeded" sh -c "[ \"\$(runbookctl --no-pager show $id --json=short | jq -r .state)\" = succeeded ]"
[ "$(cat /run/rb-gated 2>/dev/null)" = root ] && pass "the step ran as root (its unit, started by PID 1)" ||
    fail "/run/rb-gated: $(cat /run/rb-gated 2>&1)"
journalctl --no-pager -o cat _SYSTEMD_UNIT=runbookd.service | grep -q "Session $id" &&
    pass "runbookd's journal records the session" || fail "no records of session $id"
n=$(ctl logs "$id" --json=short | jq -s length)   # (reading the system journal takes root or group adm)
[ "${n:-0}" -ge 4 ] && pass "runbookctl logs finds its $n records (runbookd's _UID is the user runbookd's)" ||
    fail "runbookctl logs $id: ${n:-0} records"

# ---- what polkit lets runbookd do to other units: nothing
printf '[Service]\nExecStart=/bin/sleep infinity\n' > /etc/systemd/system/rb-other.service
systemctl daemon-reload
systemctl start rb-other.service
opid=$(systemctl show -p MainPID --value rb-other.service)
for verb in stop restart kill; do
    as runbookd systemctl --no-ask-password "$verb" rb-other.service 2>/dev/null &&
        fail "runbookd may $verb another unit" || pass "runbookd may not $verb another unit (rb-other.service)"
done
[ "$(systemctl show -p MainPID --value rb-other.service)" = "$opid" ] && systemctl is-active -q rb-other.service && pass "rb-other.service runs on untouched" || fail "rb-other.service was touched"
systemctl stop rb-other.service

# ---- reload
cat > /etc/runbookd/runbooks/added.json <<'JSON'
{"description": "added later", "steps": [{"name": "s", "run": "true", "approval": "none"}]}
JSON
systemctl reload runbookd.service && pass "systemctl reload runbookd" || fail "reload"
ctl runbooks --json=short | jq -e 'map(.name) | index("added")' >/dev/null && pass "the new runbook is there" ||
    fail "runbooks: $(ctl runbooks --json=short)"

# ---- a notification program: a unit of PID 1 with a dynamic user of its own, never runbookd
cat > /usr/local/bin/rb-notify <<'SH'
#!/bin/sh
doc=$(cat)
echo "notified: $RUNBOOKD_EVENT as $(id -un) uid $(id -u) $(printf %s "$doc" | grep -o '"session":[0-9]*')" >&2
SH
chmod 755 /usr/local/bin/rb-notify
cat > /etc/runbookd/runbookd.json <<'JSON'
{"notify": [{"name": "prog", "exec": "/usr/local/bin/rb-notify", "events": ["session_finished"]}]}
JSON
systemctl reload runbookd.service && pass "reload with a notification program" || fail "reload with a notification program"
nid=$(ctl start added --json=short | jq -r .id)
waitfor 20 "the program told of session $nid" sh -c \
    "journalctl --no-pager -o cat -t runbookd-notify-prog | grep -q 'notified: session_finished .*\"session\":$nid\$'"
line=$(journalctl --no-pager -o cat -t runbookd-notify-prog | grep "\"session\":$nid\$" | tail -n 1)
echo "# $line"
nuid=$(sed -n 's/.* uid \([0-9]*\) .*/\1/p' <<<"$line")
[ -n "$nuid" ] && [ "$nuid" -ge 61184 ] && [ "$nuid" -le 65519 ] &&
    pass "it ran as a dynamic user of its own (uid $nuid), not as runbookd ($(id -u runbookd)) nor root" ||
    fail "the program ran as uid '$nuid'"
waitfor 10 "its unit is removed" sh -c "[ -z \"\$(systemctl list-units --all --no-legend --plain 'runbookd-notify-*')\" ]"
cat > /etc/runbookd/runbookd.json <<'JSON'
{"notify": [{"name": "prog", "exec": "/usr/local/bin/rb-notify", "user": "nobody"}]}
JSON
systemctl reload runbookd.service 2>/dev/null
journalctl --no-pager -o cat -u runbookd.service | grep -q 'notify\[0\].user: runbookd runs unprivileged: the program runs as a dynamic user' &&
    pass "a \"user\" for the program is refused under the unprivileged service" || fail "no refusal of \"user\""
rm -f /etc/runbookd/runbookd.json
systemctl reload runbookd.service

# ---- a second instance on the same state directory
before=$(md5sum /var/lib/runbookd/data.mdb | cut -d' ' -f1)
out=$(as runbookd /usr/libexec/runbookd --state-dir=/var/lib/runbookd --config-dir=/etc/runbookd 2>&1)
rc=$?
echo "$out" | tail -n 3
[ $rc != 0 ] && grep -q "$pid" <<<"$out" && pass "a second runbookd exits, naming the holder's PID $pid" ||
    fail "second instance: status $rc"
systemctl is-active -q runbookd.service && [ "$(systemctl show -p MainPID --value runbookd.service)" = "$pid" ] &&
    pass "the first one runs on" || fail "the first runbookd"
[ "$(state "$id")" = succeeded ] && pass "and its sessions are as they were" || fail "session $id: $(state "$id")"
[ "$(md5sum /var/lib/runbookd/data.mdb | cut -d' ' -f1)" = "$before" ] && pass "the store is unchanged" ||
    fail "the second instance changed the store"

finish deploy-service
