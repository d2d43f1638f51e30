#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Inside a booted Debian 12 (systemd as PID 1) with runbookd installed (tests/deploy/run.sh): local
# steps run as transient units of PID 1 (runbookd-step-SESSION-STEP-ATTEMPT-TARGET.service).
#   - a step of a target with "user" runs as that user, with the target's "unit_properties", and
#     its output (stdout and stderr apart) comes back as in direct mode; what it logs itself carries
#     RUNBOOK_SESSION/RUNBOOK_STEP in the journal;
#   - 'systemctl restart runbookd' and a 'kill -9' of runbookd while a step runs: the step goes on,
#     and the next runbookd follows it to its end and records it once, with its output;
#   - cancel: a 'setsid' child of the step is gone with it;
#   - the timeout is the unit's (RuntimeMaxSec=), a failing command's status comes back, a user that
#     does not exist refuses the step; no unit and no output file is left behind;
#   - secret parameters (a credential and a literal value, after a restart of runbookd): the command
#     has them in its environment, they are masked in its output, and no property of the unit
#     (systemctl show: Environment=, ExecStart=, …) nor any command line (ps) holds them.
set -uo pipefail
# shellcheck source=tests/deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start() { ctl start "$@" --json=short | jq -r .id; }
state() { ctl show "$1" --json=short | jq -r .state; }
step() { ctl show "$1" --json=short | jq -r --argjson i "$2" ".steps[\$i].$3"; }
ended() { case $(state "$1") in succeeded|failed|cancelled|rejected|interrupted) return 0;; esac; return 1; }
step_running() { [ "$(step "$1" "$2" state)" = running ]; }
unit_active() { [ "$(systemctl show -p ActiveState --value "$1")" = active ]; }
unit_gone() { [ "$(systemctl show -p LoadState --value "$1")" = not-found ]; }

[ "$(cat /proc/1/comm)" = systemd ] || die "systemd is not PID 1 here"
command -v runbookctl >/dev/null || die "runbookd is not installed"

# ---- deploy
systemd-sysusers
systemctl reload dbus
useradd --system --create-home --home-dir /var/lib/rbunit --shell /usr/sbin/nologin rbunit
mkdir -p /etc/runbookd/runbooks /etc/runbookd/targets
cat > /etc/runbookd/targets/as-app.json <<'JSON'
{"connector": "local", "user": "rbunit",
 "unit_properties": {"MemoryMax": "256M", "TasksMax": 32, "PrivateTmp": true}}
JSON
cat > /etc/runbookd/targets/sealed.json <<'JSON'
{"connector": "local", "unit_properties": {"ProtectSystem": "strict", "ReadWritePaths": ["/var/tmp"]}}
JSON
cat > /etc/runbookd/targets/ghost.json <<'JSON'
{"connector": "local", "user": "no-such-user"}
JSON
cat > /etc/runbookd/targets/self.json <<'JSON'
{"connector": "local", "user": "nobody", "group": "runbookd"}
JSON
cat > /etc/runbookd/targets/nowhere.json <<'JSON'
{"connector": "local", "unit_properties": {"WorkingDirectory": "/nonexistent-rb"}}
JSON
cat > /etc/runbookd/runbooks/unit-basic.json <<'JSON'
{"description": "who and where a unit step runs",
 "steps": [
  {"name": "as-app", "target": "as-app", "approval": "none",
   "run": "id -un; echo $HOME; u=$(grep -o 'runbookd-step-[^/]*[.]service' /proc/self/cgroup | head -n 1); echo $u; systemctl show -p MemoryMax --value $u; echo to-stderr >&2; systemd-cat -t rbstep sh -c 'echo hello-from-step-$RUNBOOK_SESSION; sleep 1'; echo '%n %u $$ ${RUNBOOK_SESSION} $RUNBOOK_STEP \\'"},
  {"name": "sealed", "target": "sealed", "approval": "none",
   "run": "touch /usr/rb-probe 2>/dev/null && echo usr-writable || echo usr-read-only; touch /var/tmp/rb-probe && echo var-tmp-writable"}]}
JSON
cat > /etc/runbookd/runbooks/unit-long.json <<'JSON'
{"description": "a step that outlives runbookd",
 "steps": [{"name": "slow", "approval": "none", "run": "echo begun; sleep 6; echo done-after-restart; echo err-after >&2"}]}
JSON
cat > /etc/runbookd/targets/both.json <<'JSON'
{"group": ["local", "as-app"], "max_concurrency": 2}
JSON
cat > /etc/runbookd/runbooks/unit-group.json <<'JSON'
{"description": "a step on two local hosts that outlives runbookd",
 "steps": [{"name": "fan", "target": "both", "approval": "none", "run": "sleep 5; echo done on $RUNBOOK_TARGET as $(id -un)"}]}
JSON
cat > /etc/runbookd/runbooks/unit-setsid.json <<'JSON'
{"description": "a step that leaves a setsid child",
 "steps": [{"name": "escape", "approval": "none", "run": "setsid sh -c 'echo $$ > /run/rb-setsid.pid; exec sleep 300' & sleep 300"}]}
JSON
cat > /etc/runbookd/runbooks/unit-ends.json <<'JSON'
{"description": "timeouts and failures",
 "steps": [{"name": "slow", "approval": "none", "run": "sleep 30", "timeout": 2, "on_failure": "continue"},
           {"name": "three", "approval": "none", "run": "echo failing; exit 3", "on_failure": "continue"},
           {"name": "ghost", "target": "ghost", "approval": "none", "run": "touch /run/rb-ghost-ran", "on_failure": "continue"},
           {"name": "self", "target": "self", "approval": "none", "run": "touch /run/rb-self-ran", "on_failure": "continue"},
           {"name": "nowhere", "target": "nowhere", "approval": "none", "run": "touch /run/rb-nowhere-ran", "on_failure": "continue"},
           {"name": "203", "approval": "none", "run": "exit 203", "on_failure": "continue"},
           {"name": "217", "approval": "none", "run": "exit 217", "on_failure": "continue"},
           {"name": "200", "approval": "none", "run": "exit 200", "on_failure": "continue"},
           {"name": "226", "approval": "none", "run": "exit 226", "on_failure": "continue"},
           {"name": "243", "approval": "none", "run": "exit 243", "on_failure": "continue"},
           {"name": "stdin", "approval": "none", "run": "n=$(wc -c); echo \"stdin gave $n bytes\""}]}
JSON
systemctl start runbookd.service
waitfor 20 "runbookd.service is active" systemctl is-active runbookd.service
journalctl -u runbookd --no-pager -o cat | grep -q "Local steps run as transient systemd units (systemd is PID 1)" &&
    pass "runbookd says local steps run as units" || fail "no 'Local steps run as transient systemd units' in its log"

# ---- who, where, output
id=$(start unit-basic)
waitfor 30 "unit-basic ends" ended "$id"
[ "$(state "$id")" = succeeded ] && pass "unit-basic succeeded" || { fail "unit-basic: $(state "$id")"; ctl show "$id"; }
out=$(ctl output "$id" 0)
err=$(ctl output "$id" 0 --stderr)
echo "$out"
[ "$(sed -n 1p <<<"$out")" = rbunit ] && pass "the step ran as the target's user" || fail "user: $(sed -n 1p <<<"$out")"
[ "$(sed -n 2p <<<"$out")" = /var/lib/rbunit ] && pass "with the user's HOME" || fail "HOME: $(sed -n 2p <<<"$out")"
[ "$(sed -n 3p <<<"$out")" = "runbookd-step-$id-0-1-as-app.service" ] &&
    pass "in its own unit runbookd-step-$id-0-1-as-app.service" || fail "cgroup: $(sed -n 3p <<<"$out")"
[ "$(sed -n 4p <<<"$out")" = 268435456 ] && pass "with the target's MemoryMax (256M)" || fail "memory.max: $(sed -n 4p <<<"$out")"
[ "$err" = to-stderr ] && pass "stderr apart from stdout" || fail "stderr: '$err'"
# the command reaches the shell as it was approved: systemd expands neither $ nor % in it
[ "$(sed -n 5p <<<"$out")" = '%n %u $$ ${RUNBOOK_SESSION} $RUNBOOK_STEP \' ] &&
    pass "the command reached the shell byte for byte (no \$ or % expansion by systemd)" || fail "verbatim: $(sed -n 5p <<<"$out")"
# (journald writes what it is sent a little later: wait for it. It adds the unit's fields from the
# sender's cgroup while the sender still runs: systemd-cat keeps the stream open, logger(1) may
# be gone before journald looks)
waitfor 10 "what the step logged carries RUNBOOK_SESSION=$id RUNBOOK_STEP=0 (LogExtraFields)" \
    sh -c "journalctl --no-pager -o cat RUNBOOK_SESSION=$id RUNBOOK_STEP=0 | grep -qx hello-from-step-$id"
journalctl --no-pager -o cat RUNBOOK_SESSION="$id" RUNBOOK_STEP=0 | grep -q "EXECUTE_STEP" &&
    pass "journalctl RUNBOOK_SESSION=$id RUNBOOK_STEP=0 has runbookd's records" || fail "no EXECUTE_STEP records"
out=$(ctl output "$id" 1)
[ "$out" = $'usr-read-only\nvar-tmp-writable' ] && pass "ProtectSystem=strict with ReadWritePaths applied" ||
    fail "sealed step: '$out'"
waitfor 10 "the finished units are removed" unit_gone "runbookd-step-$id-0-1-as-app.service"

# ---- restart, then kill -9, while a step runs
for how in restart kill; do
    id=$(start unit-long)
    u=runbookd-step-$id-0-1-local.service
    waitfor 10 "[$how] the step runs as $u" unit_active "$u"
    if [ $how = restart ]; then
        systemctl restart runbookd.service
    else
        systemctl kill -s KILL runbookd.service
        waitfor 10 "[$how] runbookd is gone" sh -c '! systemctl is-active runbookd.service'
        systemctl start runbookd.service   # (Restart=on-failure would, after RestartSec)
    fi
    waitfor 10 "[$how] runbookd is back" systemctl is-active runbookd.service
    unit_active "$u" && pass "[$how] the step's unit outlived runbookd" || fail "[$how] $u: $(systemctl show -p ActiveState --value "$u")"
    waitfor 30 "[$how] the session ends" ended "$id"
    [ "$(state "$id")" = succeeded ] && pass "[$how] and succeeds" || { fail "[$how] state $(state "$id")"; ctl show "$id"; }
    [ "$(ctl output "$id" 0)" = $'begun\ndone-after-restart' ] && pass "[$how] with all its output" ||
        fail "[$how] output: '$(ctl output "$id" 0)'"
    [ "$(ctl output "$id" 0 --stderr)" = err-after ] && pass "[$how] and its stderr" || fail "[$how] stderr"
    [ "$(step "$id" 0 exit_status)" = 0 ] && pass "[$how] exit status 0" || fail "[$how] exit status $(step "$id" 0 exit_status)"
    n=$(journalctl --no-pager -o json RUNBOOK_SESSION="$id" RUNBOOK_STEP=0 | jq -r 'select(.RUNBOOK_SUCCESS != null) | .MESSAGE' | wc -l)
    [ "$n" = 1 ] && pass "[$how] its result is recorded once" || {
        fail "[$how] $n result records"; journalctl --no-pager -o json RUNBOOK_SESSION="$id" | jq -c '{m: .MESSAGE, s: .RUNBOOK_SUCCESS}'; }
    waitfor 10 "[$how] its unit is removed" unit_gone "$u"
done

# ---- a group step on two local hosts, runbookd restarted while both run
id=$(start unit-group)
waitfor 10 "[group] both hosts run as units" sh -c "systemctl is-active -q runbookd-step-$id-0-1-local.service &&
    systemctl is-active -q runbookd-step-$id-0-1-as-app.service"
systemctl restart runbookd.service
waitfor 30 "[group] the session ends" ended "$id"
show=$(ctl show "$id" --json=short)
[ "$(jq -r .state <<<"$show")" = succeeded ] && pass "[group] and succeeds" || { fail "[group] $(jq -c . <<<"$show")"; }
[ "$(jq -r '[.steps[0].hosts[] | select(.state == "succeeded" and .exit_status == 0)] | length' <<<"$show")" = 2 ] &&
    pass "[group] both hosts followed to their end after the restart (exit 0)" ||
    fail "[group] hosts: $(jq -c '.steps[0].hosts' <<<"$show")"
n=$(journalctl --no-pager -o json RUNBOOK_SESSION="$id" | jq -r 'select(.RUNBOOK_SUCCESS != null and ._COMM == "runbookd") | .RUNBOOK_TARGET' | sort | tr '\n' ' ')
[ "$n" = "as-app both local " ] && pass "[group] one result record per host and one for the step" || fail "[group] result records: '$n'"
waitfor 10 "[group] their units are removed" sh -c "! systemctl is-active -q runbookd-step-$id-0-1-local.service &&
    ! systemctl is-active -q runbookd-step-$id-0-1-as-app.service"

# ---- cancel: the setsid child goes too
rm -f /run/rb-setsid.pid
id=$(start unit-setsid)
waitfor 10 "the setsid child runs" test -s /run/rb-setsid.pid
pid=$(cat /run/rb-setsid.pid)
kill -0 "$pid" && pass "setsid child $pid is alive" || fail "setsid child $pid"
ctl cancel "$id" >/dev/null
waitfor 20 "the cancelled session ends" ended "$id"
[ "$(state "$id")" = cancelled ] && pass "cancelled" || fail "state $(state "$id")"
waitfor 10 "the setsid child $pid is gone with the step" sh -c "! kill -0 $pid"

# ---- timeout, failure, a user that does not exist
id=$(start unit-ends)
waitfor 30 "unit-ends ends" ended "$id"
ctl show "$id"
[ "$(step "$id" 0 state)" = timed_out ] && pass "RuntimeMaxSec: timed_out" || fail "step 0: $(step "$id" 0 state)"
[ "$(step "$id" 0 error)" = "timed out after 2s" ] && pass "'timed out after 2s'" || fail "step 0 error: $(step "$id" 0 error)"
[ "$(step "$id" 1 exit_status)" = 3 ] && pass "exit status 3 comes back" || fail "step 1 exit status $(step "$id" 1 exit_status)"
[ "$(step "$id" 2 error)" = "user 'no-such-user' of target 'ghost' does not exist on this host" ] &&
    pass "a user that does not exist refuses the step" || fail "step 2 error: $(step "$id" 2 error)"
[ ! -e /run/rb-ghost-ran ] && pass "and it did not run" || fail "the ghost step ran"
[[ "$(step "$id" 3 error)" == "target 'self' would run its steps as runbookd's own user or group "* ]] &&
    pass "a target with runbookd's group is refused" || fail "step 3 error: $(step "$id" 3 error)"
[ ! -e /run/rb-self-ran ] && pass "and its step did not run" || fail "the step with runbookd's group ran"
[[ "$(step "$id" 4 error)" == "systemd could not run the command in unit runbookd-step-$id-4-1-nowhere.service: EXIT_CHDIR"* ]] &&
    [ "$(step "$id" 4 exit_status)" = null ] && pass "systemd's setup failure (200/CHDIR) is an error, not an exit status" ||
    fail "step 4: $(step "$id" 4 state) $(step "$id" 4 exit_status) $(step "$id" 4 error)"
[ ! -e /run/rb-nowhere-ran ] && pass "and the command did not run" || fail "the nowhere step ran"
[ "$(step "$id" 5 exit_status)" = 203 ] && pass "a command's own exit status 203 stays an exit status" ||
    fail "step 5: $(step "$id" 5 exit_status) $(step "$id" 5 error)"
# a command that exits at once with systemd's own status: systemd's Type=exec view may take it for
# a failed execve(); the shell's marker byte tells (one in ten did, with systemd 252, before)
for i in 6 7 8 9; do
    want=$(step "$id" "$i" name)
    [ "$(step "$id" "$i" exit_status)" = "$want" ] && [ "$(step "$id" "$i" error)" = "exit status $want, expected 0" ] &&
        pass "a command's own quick 'exit $want' stays exit status $want" ||
        fail "step $i: $(step "$id" "$i" exit_status) $(step "$id" "$i" error)"
done
[ "$(ctl output "$id" 10)" = "stdin gave 0 bytes" ] && pass "the command's stdin is empty (/dev/null)" ||
    fail "step 10 output: $(ctl output "$id" 10) $(step "$id" 10 error)"

# ---- secret parameters: read from the unit's stdin file as data, never in the unit's properties
mkdir -p /etc/systemd/system/runbookd.service.d /etc/runbookd/credentials
SECRET_CRED="unit-cred-V4lue-9" SECRET_LIT="unit-literal-V4lue-5"
printf '%s\n' "$SECRET_CRED" > /etc/runbookd/credentials/rb-token
chmod 600 /etc/runbookd/credentials/rb-token
printf '[Service]\nLoadCredential=rb-token:/etc/runbookd/credentials/rb-token\n' \
    > /etc/systemd/system/runbookd.service.d/50-test-secrets.conf
cat > /etc/runbookd/runbooks/unit-secret.json <<'JSON'
{"description": "secret parameters in unit steps",
 "parameters": {"token": {"secret": true, "credentials": ["rb-token"]}, "lit": {"secret": true}},
 "steps": [
  {"name": "root", "approval": "none",
   "run": "echo tok=$RUNBOOK_SECRET_TOKEN lit=$RUNBOOK_SECRET_LIT; printf %s \"$RUNBOOK_SECRET_TOKEN/$RUNBOOK_SECRET_LIT\" | sha256sum | cut -c1-64; touch /run/rb-secret-ready; while [ ! -e /run/rb-secret-go ]; do sleep 0.1; done"},
  {"name": "as-app", "target": "as-app", "approval": "none",
   "run": "id -un; printf %s \"$RUNBOOK_SECRET_TOKEN/$RUNBOOK_SECRET_LIT\" | sha256sum | cut -c1-64; cat; echo stdin-done"}]}
JSON
systemctl daemon-reload
systemctl restart runbookd.service
rm -f /run/rb-secret-ready /run/rb-secret-go
id=$(start unit-secret -p token=cred:rb-token -p "lit=$SECRET_LIT")
waitfor 30 "the secret step is ready" test -e /run/rb-secret-ready
u="runbookd-step-$id-0-1-local.service"
shown=$(systemctl show "$u"; systemctl show "$u" -p Environment -p ExecStart -p ExecStartEx; ps -eo args; \
        cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' ' ')
grep -qF "RUNBOOK_SECRET_TOKEN" <<<"$shown" && pass "the sample has the unit's command" || fail "the unit's command is not in the sample"
grep -qF -e "$SECRET_CRED" -e "$SECRET_LIT" <<<"$shown" && fail "a secret value is in systemctl show or ps" ||
    pass "no secret value in the unit's properties (systemctl show) nor in ps"
exec_file=/run/runbookd/$u.exec
[ "$(stat -c '%a %U' "$exec_file" 2>/dev/null)" = "600 runbookd" ] && pass "the unit's stdin file is runbookd's, 0600" ||
    fail "the unit's stdin file: $(stat -c '%a %U' "$exec_file" 2>&1)"
[ "$(stat -f -c %T /run/runbookd)" = tmpfs ] && [ "$(stat -c '%a' /run/runbookd)" = 700 ] &&
    pass "with the secrets' values, it is on tmpfs, in runbookd's runtime directory (0700)" ||
    fail "the runtime directory: $(stat -f -c %T /run/runbookd) $(stat -c '%a' /run/runbookd)"
[ ! -e "/var/lib/runbookd/step-output/$u.exec" ] && pass "and not in the state directory, on disk" ||
    fail "a stdin file with secrets is in the state directory"
touch /run/rb-secret-go
waitfor 30 "unit-secret ends" ended "$id"
[ "$(state "$id")" = succeeded ] && pass "the secret steps succeeded" || { fail "unit-secret: $(state "$id")"; ctl show "$id"; }
sum=$(printf %s "$SECRET_CRED/$SECRET_LIT" | sha256sum | cut -c1-64)
[ "$(ctl output "$id" 0)" = "$(printf 'tok=*** lit=***\n%s' "$sum")" ] && pass "a unit step has both values, masked in its output" ||
    fail "step 0 output: $(ctl output "$id" 0)"
[ "$(ctl output "$id" 1)" = "$(printf 'rbunit\n%s\nstdin-done' "$sum")" ] &&
    pass "a step as another user has them too, and its stdin is empty after them" || fail "step 1 output: $(ctl output "$id" 1)"
[ ! -e "$exec_file" ] && pass "the stdin file is gone" || fail "$exec_file is left"
strings /var/lib/runbookd/data.mdb | grep -qF -e "$SECRET_CRED" -e "$SECRET_LIT" && fail "a secret value is in data.mdb" ||
    pass "no secret value in data.mdb"
journalctl -o export | grep -qaF -e "$SECRET_CRED" -e "$SECRET_LIT" && fail "a secret value is in the journal" ||
    pass "no secret value in the journal"
[ "$(stat -c %a /run/runbookd/secret-seal.key)" = 600 ] && pass "the sealing key is in /run/runbookd, 0600" ||
    fail "the sealing key: $(ls -la /run/runbookd 2>&1)"
rm -f /etc/systemd/system/runbookd.service.d/50-test-secrets.conf /run/rb-secret-ready /run/rb-secret-go
systemctl daemon-reload

# ---- Check of a unit target
ctl check as-app --json=short | jq -e '.stages[0].verdict == "ok"' >/dev/null && pass "check as-app: run ok" ||
    { fail "check as-app"; ctl check as-app; }

# ---- nothing left behind
sleep 1
left=$(systemctl list-units --all --no-legend --plain 'runbookd-step-*' 'runbookd-check-*' | awk '{print $1}')
[ -z "$left" ] && pass "no runbookd-step-* or runbookd-check-* unit is left" || fail "units left: $left"
files=$(ls -A /var/lib/runbookd/step-output 2>/dev/null)
[ -z "$files" ] && pass "no output file is left" || fail "files left: $files"
files=$(find /run/runbookd -maxdepth 1 -name '*.exec' 2>/dev/null)
[ -z "$files" ] && pass "no stdin file is left in the runtime directory" || fail "files left in /run/runbookd: $files"

finish deploy-local-units
