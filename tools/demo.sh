#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tools/demo.sh - runbookd end to end, as root on a fresh Debian 12 checkout:
#   setup (packages, users, build) -> a private system bus + polkitd + journald in
#   /tmp/runbookd-demo -> runbookd with the example runbook -> demo-operator starts a session ->
#   demo-approver approves each gate -> the session succeeds -> its journal records -> a service
#   upgrade whose upgrade step fails: the rollback (approved) restores the backup, the finally step
#   runs, the session ends failed with Rollback succeeded -> teardown.
# Exits non-zero if anything did not happen as shown.
set -euo pipefail
umask 022   # runbookd refuses group- or world-writable configuration files

SOURCE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEMO=/tmp/runbookd-demo
OPERATOR=demo-operator APPROVER=demo-approver
RUNBOOK=demo-config-rollout
UPGRADE=demo-service-upgrade
BUS=org.runbookd1

bold=""; plain=""
if [ -t 1 ]; then bold=$'\e[1m'; plain=$'\e[0m'; fi
step() { echo; echo "${bold}==> $*${plain}"; }
say() { echo "    $*"; }
die() { echo; echo "demo: FAILED: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts a private system bus)"

step "Setting up: Debian packages, demo users, build (tools/setup.sh)"
BUILDDIR=$(bash "$SOURCE_ROOT/tools/setup.sh" | tail -n 1) || die "tools/setup.sh failed"
RUNBOOKD="$BUILDDIR/src/runbookd"
[ -x "$RUNBOOKD" ] || die "$RUNBOOKD was not built"

DAEMON_PID=""
teardown() {
    local rc=$?
    trap - EXIT
    echo
    echo "${bold}==> Tearing down${plain}"
    if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
        kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true
        say "runbookd stopped"
    fi
    bash "$SOURCE_ROOT/tests/testbed.sh" down "$DEMO/testbed" >/dev/null 2>&1 || true
    say "private bus, polkitd and journald stopped (logs kept in $DEMO)"
    [ $rc = 0 ] && echo && echo "${bold}demo: done${plain}"
    exit $rc
}

# a previous demo that was interrupted: stop what it started, start afresh
if [ -e "$DEMO/testbed/state" ]; then
    bash "$SOURCE_ROOT/tests/testbed.sh" down "$DEMO/testbed" >/dev/null 2>&1 || true
fi
rm -rf "$DEMO"
mkdir -p "$DEMO/testbed" "$DEMO/config/runbooks" "$DEMO/state"
chmod 755 "$DEMO" "$DEMO/testbed"
trap teardown EXIT

step "Starting a private system bus, polkitd and journald in $DEMO (tests/testbed.sh)"
# polkit rules: the shipped example (group "runbookd" may do everything), not the tests' rules
TESTBED_POLKIT_RULES="$SOURCE_ROOT/policy/50-runbookd-example.rules" \
    bash "$SOURCE_ROOT/tests/testbed.sh" up "$DEMO/testbed" >"$DEMO/testbed-up.log" 2>&1 ||
    { cat "$DEMO/testbed-up.log"; die "testbed did not come up"; }
# shellcheck disable=SC1091
. "$DEMO/testbed/env"
say "bus: $DBUS_SYSTEM_BUS_ADDRESS"
case "$TESTBED_JOURNAL_MODE" in
    existing) say "journal: the journald already running here (/run/systemd/journal/socket answers), read from ${TESTBED_JOURNAL_DIR:-the default journal of journalctl}" ;;
    *) say "journal: a journald started for the demo ($TESTBED_JOURNAL_MODE), read from $TESTBED_JOURNAL_DIR" ;;
esac
say "polkit: $OPERATOR and $APPROVER are in group 'runbookd', which the example rules allow"

JCTL=(journalctl --no-pager)
[ -n "$TESTBED_JOURNAL_DIR" ] && JCTL+=(-D "$TESTBED_JOURNAL_DIR")

as() { # USER CMD...: as USER, in a login session of their own (their login uid: runbookd counts
    # persons by login uid, and under a root login both users would otherwise be root's person)
    local u=$1; shift
    sh -c '{ echo "$0" > /proc/self/loginuid; } 2>/dev/null; exec "$@"' "$(id -u "$u")" \
        setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups \
        env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" "$@"
}
prop() { busctl --system --json=short get-property $BUS "$1" "$2" "$3" | jq -r '.data | if type == "string" then . else tojson end'; }
wait_prop() { # PATH IFACE PROP VALUE
    local v=""
    for _ in $(seq 300); do v=$(prop "$1" "$2" "$3"); [ "$v" = "$4" ] && return 0; sleep 0.1; done
    die "$1 $3 is '$v', expected '$4'"
}
show_session() { # ID
    local p=/org/runbookd1/session/$1 i
    say "session $1: State=$(prop "$p" org.runbookd1.Session State) CurrentStep=$(prop "$p" org.runbookd1.Session CurrentStep)"
    for i in $(prop "$p" org.runbookd1.Session Steps | jq -r '.[]'); do
        printf '      step %s %-28s %-10s %-17s %s\n' "$(prop "$i" org.runbookd1.Step Index)" \
            "$(prop "$i" org.runbookd1.Step Name)" "$(prop "$i" org.runbookd1.Step Phase)" \
            "$(prop "$i" org.runbookd1.Step State)" \
            "$( [ "$(prop "$i" org.runbookd1.Step RequiresApproval)" = true ] && echo "(approval required)" || echo "(automatic)")"
    done
}

step "Starting runbookd with the example runbooks $RUNBOOK and $UPGRADE"
cp "$SOURCE_ROOT/examples/runbooks/$RUNBOOK.json" "$SOURCE_ROOT/examples/runbooks/$UPGRADE.json" "$DEMO/config/runbooks/"
# a service has no login uid (as under systemd), whatever session the demo runs from
( { echo 4294967295 > /proc/self/loginuid; } 2>/dev/null
  exec "$RUNBOOKD" --config-dir="$DEMO/config" --state-dir="$DEMO/state" ) </dev/null >"$DEMO/runbookd.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 100); do
    busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s $BUS 2>/dev/null |
        grep -q true && break
    kill -0 $DAEMON_PID 2>/dev/null || { cat "$DEMO/runbookd.log"; die "runbookd exited"; }
    sleep 0.1
done
say "runbookd (pid $DAEMON_PID) owns $BUS; log: $DEMO/runbookd.log"
say "$ busctl --system call $BUS /org/runbookd1 org.runbookd1.Manager ListRunbooks"
busctl --system call $BUS /org/runbookd1 org.runbookd1.Manager ListRunbooks | sed 's/^/      /'

APPDIR="$DEMO/app"
REF="DEMO-$(date +%s)"
step "$OPERATOR starts a session (reference $REF, workdir $APPDIR, setting green)"
say "$ busctl --system call $BUS /org/runbookd1 org.runbookd1.Manager StartSession 'ssa{ss}' $RUNBOOK $REF 2 workdir $APPDIR setting green"
out=$(as $OPERATOR busctl --system call $BUS /org/runbookd1 org.runbookd1.Manager StartSession 'ssa{ss}' \
      "$RUNBOOK" "$REF" 2 workdir "$APPDIR" setting green) || die "StartSession failed"
say "$out"
ID=$(awk '{print $2}' <<<"$out")
SESSION=/org/runbookd1/session/$ID
[[ "$ID" =~ ^[0-9]+$ ]] || die "no session id in '$out'"

approvals=0
while :; do
    for _ in $(seq 300); do
        st=$(prop "$SESSION" org.runbookd1.Session State)
        case "$st" in waiting_approval|succeeded|failed|rejected|cancelled|interrupted) break ;; esac
        sleep 0.1
    done
    [ "$st" = waiting_approval ] || break
    cur=$(prop "$SESSION" org.runbookd1.Session CurrentStep)
    STEP=$SESSION/step/$cur
    step "Session $ID waits for approval of step $cur"
    show_session "$ID"
    say "$ busctl --system introspect $BUS $STEP org.runbookd1.Step"
    busctl --system introspect $BUS "$STEP" org.runbookd1.Step | grep -E '^\.(Name|Phase|Command|Target|Connector|State|ApprovalsRequired|Approvals|Digest) ' | sed 's/^/      /'
    if [ $approvals = 0 ]; then
        say "(the four-eyes rule: $OPERATOR, who started the session, may not approve it)"
        if as $OPERATOR busctl --system call $BUS "$SESSION" org.runbookd1.Session Approve s "my own" 2>"$DEMO/self.err"; then
            die "$OPERATOR approved their own step"
        fi
        say "$OPERATOR: $(cat "$DEMO/self.err")"
    fi
    step "$APPROVER approves step $cur"
    say "$ busctl --system call $BUS $SESSION org.runbookd1.Session Approve s 'reviewed'"
    as $APPROVER busctl --system call $BUS "$SESSION" org.runbookd1.Session Approve s "reviewed" || die "Approve failed"
    approvals=$((approvals + 1))
    for _ in $(seq 300); do
        [ "$(prop "$STEP" org.runbookd1.Step State)" != waiting_approval ] && break; sleep 0.1
    done
    [ $approvals -le 10 ] || die "too many approvals"
done

step "Session $ID ended: $st"
show_session "$ID"
[ "$st" = succeeded ] || die "session $ID ended '$st': $(prop "$SESSION" org.runbookd1.Session Error)"
[ $approvals = 2 ] || die "expected 2 approval gates, saw $approvals"
wait_prop "$SESSION" org.runbookd1.Session State succeeded
last=$(prop "$SESSION" org.runbookd1.Session Steps | jq -r '.[-1]')
say "output of the last step ($(prop "$last" org.runbookd1.Step Name)):"
busctl --system --json=short call $BUS "$last" org.runbookd1.Step GetOutput | jq -r '.data[0] | implode' | sed 's/^/      | /'
grep -qx "setting=green" "$APPDIR/app.conf" || die "$APPDIR/app.conf does not have the new setting"
say "$APPDIR/app.conf: $(cat "$APPDIR/app.conf")"

step "The journal: journalctl RUNBOOK_SESSION=$ID RUNBOOK_REFERENCE=$REF"
for _ in $(seq 50); do
    n=$("${JCTL[@]}" -o json RUNBOOK_SESSION="$ID" RUNBOOK_REFERENCE="$REF" | wc -l)
    [ "$n" -ge 19 ] && break; sleep 0.1
done
say "$ journalctl -o cat RUNBOOK_SESSION=$ID RUNBOOK_REFERENCE=$REF"
"${JCTL[@]}" -o cat RUNBOOK_SESSION="$ID" RUNBOOK_REFERENCE="$REF" | sed 's/^/      /'
echo
say "the fields of each record (journalctl -o json), e.g. the result of step 2:"
"${JCTL[@]}" -o json RUNBOOK_SESSION="$ID" RUNBOOK_REFERENCE="$REF" RUNBOOK_STEP=2 \
        MESSAGE_ID=d10897ff38f94074bd229f5f81ebcead |
    jq -r 'to_entries[] | select(.key | test("^(MESSAGE|MESSAGE_ID|PRIORITY|RUNBOOK_.*)$")) | "      \(.key)=\(.value)"'
echo
say "approvals (MESSAGE_ID=8de48586e7594676831e72346ec10213):"
"${JCTL[@]}" -o json RUNBOOK_SESSION="$ID" RUNBOOK_REFERENCE="$REF" MESSAGE_ID=8de48586e7594676831e72346ec10213 |
    jq -r '"      \(.MESSAGE)  [RUNBOOK_APPROVER_UID=\(.RUNBOOK_APPROVER_UID) RUNBOOK_DIGEST=\(.RUNBOOK_DIGEST)]"'
[ "$n" -ge 19 ] || die "expected at least 19 journal records for session $ID, found $n"
"${JCTL[@]}" -o cat RUNBOOK_SESSION="$ID" RUNBOOK_REFERENCE="$REF" | grep -q "^\[SESSION_END\] Session $ID finished: succeeded$" ||
    die "no [SESSION_END] record"

SVCDIR="$DEMO/service" REF2="DEMO-UPGRADE-$(date +%s)"
step "A runbook that handles failure: $OPERATOR starts $UPGRADE, whose upgrade step will fail"
say "(examples/runbooks/$UPGRADE.json: a precheck captures the version, the backup is named by it, the"
say " upgrade runs only if the version differs, \"rollback\" restores the backup, \"finally\" puts it back in the pool)"
say "$ busctl --system call $BUS /org/runbookd1 org.runbookd1.Manager StartSession 'ssa{ss}' $UPGRADE $REF2 2 workdir $SVCDIR simulate_failure yes"
out=$(as $OPERATOR busctl --system call $BUS /org/runbookd1 org.runbookd1.Manager StartSession 'ssa{ss}' \
      "$UPGRADE" "$REF2" 2 workdir "$SVCDIR" simulate_failure yes) || die "StartSession failed"
ID2=$(awk '{print $2}' <<<"$out")
[[ "$ID2" =~ ^[0-9]+$ ]] || die "no session id in '$out'"
S2=/org/runbookd1/session/$ID2
gates=0
while :; do
    for _ in $(seq 300); do
        st=$(prop "$S2" org.runbookd1.Session State)
        case "$st" in waiting_approval|succeeded|failed|rejected|cancelled|interrupted) break ;; esac
        sleep 0.1
    done
    [ "$st" = waiting_approval ] || break
    cur=$(prop "$S2" org.runbookd1.Session CurrentStep)
    say "step $cur ($(prop "$S2/step/$cur" org.runbookd1.Step Phase): $(prop "$S2/step/$cur" org.runbookd1.Step Name)) waits;" \
        "Rollback=$(prop "$S2" org.runbookd1.Session Rollback); command: $(prop "$S2/step/$cur" org.runbookd1.Step Command)"
    say "$APPROVER approves it"
    as $APPROVER busctl --system call $BUS "$S2" org.runbookd1.Session Approve s "reviewed" || die "Approve failed"
    gates=$((gates + 1))
    for _ in $(seq 300); do
        [ "$(prop "$S2/step/$cur" org.runbookd1.Step State)" != waiting_approval ] && break; sleep 0.1
    done
    [ $gates -le 10 ] || die "too many approvals"
done
step "Session $ID2 ended: $st (Rollback: $(prop "$S2" org.runbookd1.Session Rollback))"
show_session "$ID2"
say "Error: $(prop "$S2" org.runbookd1.Session Error)"
[ "$st" = failed ] || die "session $ID2 ended '$st', expected failed (a handled failure is still a failure)"
[ "$(prop "$S2" org.runbookd1.Session Rollback)" = succeeded ] || die "session $ID2's rollback did not succeed"
[ $gates = 2 ] || die "expected 2 approval gates (the upgrade, the rollback), saw $gates"
grep -qx 2.3.0 "$SVCDIR/version" || die "$SVCDIR/version was not restored to 2.3.0"
[ ! -e "$SVCDIR/drained" ] || die "the finally step did not put the service back in the pool"
say "$SVCDIR/version: $(cat "$SVCDIR/version") (restored from the backup)"
for _ in $(seq 50); do
    "${JCTL[@]}" -o cat RUNBOOK_SESSION="$ID2" RUNBOOK_REFERENCE="$REF2" | grep -q '^\[SESSION_END\]' && break; sleep 0.1
done
say "$ journalctl -o cat RUNBOOK_SESSION=$ID2 RUNBOOK_REFERENCE=$REF2 | grep -v EXECUTE_STEP"
"${JCTL[@]}" -o cat RUNBOOK_SESSION="$ID2" RUNBOOK_REFERENCE="$REF2" | grep -v '^\[EXECUTE_STEP\]' | sed 's/^/      /'
"${JCTL[@]}" -o cat RUNBOOK_SESSION="$ID2" RUNBOOK_REFERENCE="$REF2" |
    grep -q "^\[SESSION_END\] Session $ID2 finished: failed (.*; rollback succeeded)$" || die "no [SESSION_END] record with the rollback"
