#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Inside a booted Debian 12 (systemd as PID 1), the Debian packages in /root/debs
# (tests/deploy/build-debs.sh): 'apt-get install ./runbookd_*.deb ./cockpit-runbookd_*.deb' as an
# administrator would; the service runs (as the user runbookd), a session runs a step as a unit;
# 'systemctl enable --now runbookd' works; remove keeps the state, purge removes it and the users.
set -uo pipefail
# shellcheck source=tests/deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(cat /proc/1/comm)" = systemd ] || die "systemd is not PID 1 here"
ls /root/debs/runbookd_*.deb /root/debs/cockpit-runbookd_*.deb || die "no packages in /root/debs"
! command -v runbookctl >/dev/null || die "runbookd is installed already"

export DEBIAN_FRONTEND=noninteractive
apt-get -q update >/dev/null
apt-get -y -q install --no-install-recommends jq procps >/dev/null || die "apt-get install jq"
apt-get -y -q install --no-install-recommends /root/debs/runbookd_*.deb > /tmp/install.log 2>&1 &&
    pass "apt-get install ./runbookd_*.deb (its dependencies from the archive)" || { cat /tmp/install.log; die "install"; }
getent passwd runbookd >/dev/null && pass "the postinst made the user runbookd" || fail "no user runbookd"
getent passwd runbookd-scheduler >/dev/null && pass "and runbookd-scheduler" || fail "no user runbookd-scheduler"
for f in /usr/libexec/runbookd /usr/bin/runbookctl /lib/systemd/system/runbookd.service \
         /usr/share/dbus-1/system.d/org.runbookd1.conf /usr/share/polkit-1/actions/org.runbookd1.policy \
         /usr/share/polkit-1/rules.d/60-runbookd.rules /usr/lib/sysusers.d/runbookd.conf \
         /usr/share/man/man8/runbookd.8.gz /usr/share/man/man5/runbookd.json.5.gz \
         /usr/share/man/man5/runbookd.runbook.5.gz /usr/share/man/man1/runbookctl.1.gz \
         /usr/share/bash-completion/completions/runbookctl; do
    [ -e "$f" ] || fail "missing $f"
done
pass "the package's files are in place"
systemctl enable --now runbookd.service && pass "systemctl enable --now runbookd" ||
    { fail "enable --now"; systemctl status --no-pager runbookd.service; journalctl --no-pager -n 40 -u runbookd.service; }
waitfor 20 "runbookd.service is active" systemctl is-active runbookd.service
systemctl is-enabled -q runbookd.service && pass "and enabled" || fail "not enabled"
[ "$(ps -o user= -p "$(systemctl show -p MainPID --value runbookd.service)")" = runbookd ] &&
    pass "it runs as the user runbookd" || fail "runs as $(ps -o user= -p "$(systemctl show -p MainPID --value runbookd.service)")"

mkdir -p /etc/runbookd/runbooks
cat > /etc/runbookd/runbooks/hello.json <<'JSON'
{"description": "hello", "steps": [{"name": "hello", "run": "echo hello from $(id -un)", "approval": "none"}]}
JSON
systemctl reload runbookd.service
id=$(ctl start hello --json=short | jq -r .id)
waitfor 20 "a session runs to its end" sh -c "[ \"\$(runbookctl --no-pager show $id --json=short | jq -r .state)\" = succeeded ]"
[ "$(ctl output "$id" 0)" = "hello from root" ] && pass "its step ran (as root, in a unit of its own)" ||
    fail "output: $(ctl output "$id" 0)"

apt-get -y -q install --no-install-recommends /root/debs/cockpit-runbookd_*.deb > /tmp/install-cockpit.log 2>&1 &&
    pass "apt-get install ./cockpit-runbookd_*.deb" || { tail -n 20 /tmp/install-cockpit.log; fail "cockpit-runbookd"; }
[ -f /usr/share/cockpit/runbookd/manifest.json ] && [ -f /usr/share/cockpit/runbookd/runbookd.js ] &&
    pass "the Cockpit page is in /usr/share/cockpit/runbookd" || fail "no Cockpit page"

# ---- remove keeps the state, purge removes it and the users
apt-get -y -q remove cockpit-runbookd runbookd > /tmp/remove.log 2>&1 && pass "apt-get remove" || { cat /tmp/remove.log; fail "remove"; }
! systemctl is-active -q runbookd.service && pass "the service is stopped" || fail "still running"
[ -f /var/lib/runbookd/data.mdb ] && pass "remove keeps /var/lib/runbookd" || fail "remove deleted the state"
getent passwd runbookd >/dev/null && pass "and the user" || fail "remove deleted the user"
apt-get -y -q purge runbookd > /tmp/purge.log 2>&1 && pass "apt-get purge runbookd" || { cat /tmp/purge.log; fail "purge"; }
[ ! -e /var/lib/runbookd ] && pass "purge removes /var/lib/runbookd" || fail "state left after purge"
! getent passwd runbookd >/dev/null && ! getent passwd runbookd-scheduler >/dev/null &&
    pass "and the users runbookd and runbookd-scheduler" || fail "users left after purge"
! getent group runbookd >/dev/null && pass "and the group runbookd" || fail "group runbookd left"

finish deploy-package
