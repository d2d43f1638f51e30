#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Cockpit page (cockpit/) end to end: Debian's Chromium driven by playwright-core
# (tests/cockpit/*.mjs) against Debian's cockpit-ws/cockpit-bridge, one cockpit-ws per user in
# --local-session mode run *as that user* (so polkit decides per user, as for busctl), the real
# runbookd on the testbed bus, the real polkitd and journald. Every scenario is checked on the
# daemon too (properties, marker files, journal), not only in the page:
#   bob approves a waiting step from the page (with the keyboard) and it runs; mallory (polkit: no)
#   sees the refusal and nothing runs; alice, the creator, is refused by four-eyes; carol rejects
#   with a comment on a narrow screen; a session view follows a running session to its end without
#   reload (outputs, truncation, [EXECUTE_STEP] records, not a record mallory forged for it with
#   logger --journald); a parameter failing its pattern is refused
#   in the form, a value the daemon refuses shows its words, a good one lands on the session view;
#   the sessions list filters by state and reference; a user who cannot read the journal is told why;
#   from a session's view: bob approves a step on a target group (three local hosts, one fails,
#   max_errors 1), reads each host's state, exit status, duration and error and two hosts' outputs
#   (checked against Results and GetHostOutput), then rejects the next step; carol cancels a running
#   session (declining first); runbookd is killed (-9) and restarted under an open view, which shows
#   the session interrupted without reload, and alice retries it (then four-eyes refuses her
#   approval); the <select>s show PatternFly's caret.
# Screenshots: $COCKPIT_ARTIFACTS (meson: BUILD/test-artifacts/cockpit).
# Skips (77) only when there is no chromium (tools/setup.sh installs Debian's; without it there is
# no browser to drive). Anything else tools/setup.sh installs that is missing is a failure.
SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
COCKPIT_BUILD_DIR=${COCKPIT_BUILD_DIR:-$SOURCE_ROOT/build/cockpit}
COCKPIT_ARTIFACTS=${COCKPIT_ARTIFACTS:-$(dirname "$COCKPIT_BUILD_DIR")/test-artifacts/cockpit}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
COCKPIT_WS=/usr/lib/cockpit/cockpit-ws
skip() { echo "SKIP: $*"; exit 77; }
fatal() { echo "FATAL: $*"; exit 1; }
[ -x "$CHROMIUM" ] || skip "$CHROMIUM missing (tools/setup.sh installs chromium)"
[ -x "$COCKPIT_WS" ] || fatal "$COCKPIT_WS missing (tools/setup.sh installs cockpit-ws)"
command -v cockpit-bridge >/dev/null || fatal "cockpit-bridge missing (tools/setup.sh installs it)"
# playwright-core 1.61 (cockpit/package-lock.json) runs on Node.js 18, Debian 12's own nodejs
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$node_major" -ge 18 ] || fatal "Node.js $(node --version 2>/dev/null || echo missing) is older than 18, which playwright-core needs"
[ -e /usr/share/cockpit/base1/cockpit.js ] || [ -e /usr/share/cockpit/base1/cockpit.js.gz ] ||
    fatal "Cockpit's base1 missing (tools/setup.sh installs cockpit-bridge)"
[ -d "$SOURCE_ROOT/cockpit/node_modules/playwright-core" ] ||
    fatal "cockpit/node_modules missing (tools/setup.sh runs npm ci in cockpit/)"
if [ ! -s "$COCKPIT_BUILD_DIR/runbookd.js" ] || [ ! -s "$COCKPIT_BUILD_DIR/runbookd.css" ]; then
    echo "FATAL: the page is not built in $COCKPIT_BUILD_DIR although cockpit/node_modules exists (meson -Dcockpit=enabled, then compile)"
    exit 1
fi
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

for u in "$ALICE" "$BOB" "$CAROL" "$MALLORY"; do
    id -nG "$u" | tr ' ' '\n' | grep -qx systemd-journal || die "$u is not in group systemd-journal: run tools/setup.sh"
done
mkdir -p "$COCKPIT_ARTIFACTS" && rm -f "$COCKPIT_ARTIFACTS"/*.png
note "screenshots in $COCKPIT_ARTIFACTS"

# ---------------------------------------------------------------- the page as a Cockpit package
# The bridge finds packages in $XDG_DATA_DIRS/cockpit/NAME/: the checkout's manifest and page, the
# build's bundle.
PKG="$T/xdg/cockpit/runbookd"
mkdir -p "$PKG" && chmod 755 "$T/xdg" "$T/xdg/cockpit" "$PKG"
# copies, not links: the checkout may be where the test users cannot reach (/root)
install -m 644 "$SOURCE_ROOT/cockpit/manifest.json" "$SOURCE_ROOT/cockpit/index.html" "$PKG/"
install -m 644 "$COCKPIT_BUILD_DIR/runbookd.js" "$COCKPIT_BUILD_DIR/runbookd.css" "$PKG/"

# ---------------------------------------------------------------- the journal, as the page sees it
# The testbed's journald keeps its files in $TESTBED_JOURNAL_DIR; each cockpit-ws runs in a mount
# namespace where that directory is /run/log/journal, so the bridge's journalctl finds them. In
# production systemd-tmpfiles gives the journal directories to group systemd-journal (setgid); the
# testbed's journald does not run tmpfiles, so the same is done here.
# With the host's own journald (systemd as PID 1: TESTBED_JOURNAL_DIR is empty) the page reads the
# system journal where it is (/run/log/journal, /var/log/journal), as in production.
JDIR=${TESTBED_JOURNAL_DIR:-/run/log/journal}
[ -n "${TESTBED_JOURNAL_DIR:-}" ] || [ -d "$JDIR" ] || JDIR=/var/log/journal
[ -d "$JDIR" ] || die "no journal directory $JDIR"
for d in "$JDIR" "$JDIR"/*/; do
    [ "$(stat -c %G "$d")" = systemd-journal ] && continue
    chgrp systemd-journal "$d" && chmod g+rxs "$d"
    note "journal: gave $d to group systemd-journal (as systemd-tmpfiles does)"
done
for f in "$JDIR"/*/*.journal; do
    [ "$(stat -c %G "$f")" = systemd-journal ] || { chgrp systemd-journal "$f" && chmod g+r "$f"; }
done
[ -d /run/log ] || mkdir -p /run/log   # the mount point for the namespaces' own /run/log
NOJOURNAL="$T/journal-locked"          # a journal directory the user may not read
mkdir -p "$NOJOURNAL" && chmod 700 "$NOJOURNAL"

# ---------------------------------------------------------------- one cockpit-ws per page run
# In --local-session mode cockpit-ws starts its one bridge with the first connection and cannot
# start another once that one has ended (after the last page closed it answers "500 Internal
# error in login process"), so each page run gets a fresh cockpit-ws of its own.
WS_PID="" WS_URL=""
# free_port: a TCP port no socket uses (any state), below the kernel's ephemeral range (outgoing
# connections of other tests take ports from that range at any time).
free_port() {
    local p lo
    read -r lo _ < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
    [ "$lo" -gt 12000 ] || lo=61000
    for _ in $(seq 50); do
        p=$(( 10000 + RANDOM % (lo - 10000) ))
        ss -Htan "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return 0; }
    done
    return 1
}
# cockpit_up USER [JOURNAL_DIR]: cockpit-ws --local-session=cockpit-bridge as USER on 127.0.0.1,
# with the testbed's bus, the page's package dir and JOURNAL_DIR (default: the testbed's) on
# /run/log/journal (and on /var/log/journal too for a JOURNAL_DIR given: nothing else of the
# journal is to be seen then; with the host's journald and none given, the journal as it is),
# in its own pid and mount namespace (unshare --kill-child: killing it ends the
# bridge and the session bus and ssh-agent the bridge starts). Sets WS_URL. A port taken between
# free_port and cockpit-ws's bind (cockpit-ws exits) is given up for another, up to 5 times.
cockpit_up() {
    local u=$1 jdir=${2:-$JDIR} port home="$T/home-$1" try mode=dir
    if [ -n "${2:-}" ]; then mode=only
    elif [ -z "${TESTBED_JOURNAL_DIR:-}" ]; then mode=host; fi
    mkdir -p "$home/run" && chown -R "$u:" "$home" && chmod 700 "$home/run"
    for try in 1 2 3 4 5; do
        port=$(free_port) || die "no free port"
        setsid unshare --pid --fork --kill-child --mount --propagation private sh -c '
            if [ "$7" != host ]; then
                mount -t tmpfs -o mode=755 tmpfs /run/log && mkdir /run/log/journal &&
                    mount --bind "$1" /run/log/journal || exit 1
            fi
            if [ "$7" = only ] && [ -d /var/log/journal ]; then mount --bind "$1" /var/log/journal || exit 1; fi
            { id -u "$2" > /proc/self/loginuid; } 2>/dev/null # a login of their own (see lib.sh)
            setpriv --reuid="$2" --regid="$(id -g "$2")" --init-groups \
                env -i HOME="$3" USER="$2" LOGNAME="$2" PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
                    XDG_RUNTIME_DIR="$3/run" XDG_DATA_DIRS="$4" DBUS_SYSTEM_BUS_ADDRESS="$5" \
                '"$COCKPIT_WS"' --local-session=cockpit-bridge --port "$6" --address 127.0.0.1
            :' sh "$jdir" "$u" "$home" "$T/xdg:/usr/local/share:/usr/share" "$DBUS_SYSTEM_BUS_ADDRESS" "$port" "$mode" \
            </dev/null >>"$T/cockpit-ws-$u.log" 2>&1 &
        WS_PID=$!
        for _ in $(seq 100); do
            kill -0 "$WS_PID" 2>/dev/null || break
            if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
                WS_URL="http://127.0.0.1:$port"
                return 0
            fi
            sleep 0.1
        done
        cockpit_down
        note "cockpit-ws for $u did not serve on port $port (attempt $try): $(tail -n 1 "$T/cockpit-ws-$u.log")"
    done
    cat "$T/cockpit-ws-$u.log"
    die "cockpit-ws for $u did not start"
}
cockpit_down() {
    [ -n "$WS_PID" ] || return 0
    kill -KILL "$WS_PID" 2>/dev/null; wait "$WS_PID" 2>/dev/null
    WS_PID=""
}
trap 'rc=$?; [ -z "${PAGE_PID:-}" ] || kill "$PAGE_PID" 2>/dev/null; cockpit_down; (exit $rc); _teardown' EXIT

# page USER SCRIPT ARGS...: runs tests/cockpit/SCRIPT.mjs --user USER ARGS against a fresh
# cockpit-ws for USER (journal: $PAGE_JOURNAL_DIR, default the testbed's); its PASS/FAIL lines
# count here. Its output is kept in $PAGE_OUT (PAGE:/STARTED: lines are read from there).
# page_bg starts the same in the background (PAGE_PID) for a test that acts while the page runs;
# page_wait then waits for it and counts its lines.
PAGE_OUT="" PAGE_JOURNAL_DIR="" PAGE_PID="" PAGE_SCRIPT=""
page_bg() {
    local u=$1 s=$2; shift 2
    cockpit_up "$u" "$PAGE_JOURNAL_DIR"
    PAGE_OUT="$T/$s.$RANDOM.out" PAGE_SCRIPT=$s
    COCKPIT_URLS=$(jq -n -c --arg u "$u" --arg url "$WS_URL" '{($u): $url}') ARTIFACTS="$COCKPIT_ARTIFACTS" \
        CHROMIUM="$CHROMIUM" timeout 180 node "$SOURCE_ROOT/tests/cockpit/$s.mjs" --user "$u" "$@" >"$PAGE_OUT" 2>&1 &
    PAGE_PID=$!
}
page_wait() {
    local rc line
    wait "$PAGE_PID"; rc=$?
    PAGE_PID=""
    cockpit_down
    while IFS= read -r line; do
        case "$line" in
            PASS:\ *) pass "[page] ${line#PASS: }" ;;
            FAIL:\ *) fail "[page] ${line#FAIL: }" ;;
            *) echo "  $line" ;;
        esac
    done < "$PAGE_OUT"
    [ $rc = 0 ] || fail "tests/cockpit/$PAGE_SCRIPT.mjs exited with status $rc"
    return $rc
}
page() { page_bg "$@"; page_wait; }

# ---------------------------------------------------------------- runbooks and daemon
write_config '{ "output_cap": 4096 }'
install_runbook scenario two-approvers
write_runbook follow <<'JSON'
{
  "description": "Three approval-free steps: output on both streams, a step that waits for a go file, a lot of output",
  "parameters": { "dir": { "description": "scratch directory", "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "steps": [
    { "name": "prepare", "run": "echo preparing {{dir}}; echo warn-from-stderr >&2", "approval": "none" },
    { "name": "wait for go", "run": "for i in $(seq 600); do test -e {{dir}}/go && break; sleep 0.1; done; test -e {{dir}}/go && echo waited", "approval": "none" },
    { "name": "lots of output", "run": "seq 1 20000", "approval": "none" }
  ]
}
JSON
deploy_runbook() { # PATTERN
    jq -n --arg p "$1" '{description: "Deploys a version (test)",
        parameters: {version: {description: "the version to deploy", pattern: $p}},
        steps: [{name: "deploy", run: "echo deploying {{version}}", approval: "none"}]}' > "$CONFIG_DIR/runbooks/deploy.json"
}
deploy_runbook '^[0-9]+\.[0-9]+$'
install_runbook long-running
write_runbook deadline <<'JSON'
{ "steps": [ { "name": "in time", "run": "true", "approval_timeout": 3599 } ] }
JSON
write_runbook quick <<'JSON'
{ "description": "One quick step", "steps": [ { "name": "true", "run": "true", "approval": "none" } ] }
JSON
write_runbook values <<'JSON'
{
  "description": "A captured value, a condition that skips, a failure allowed to happen",
  "prechecks": [ { "id": "cur", "name": "current", "run": "echo 2.4.1", "approval": "none",
                   "capture": { "version": { "line": 1 } } } ],
  "steps": [ { "name": "upgrade", "run": "echo upgrading", "when": "{{steps.cur.version}} != '2.4.1'" },
             { "name": "optional", "run": "exit 3", "approval": "none", "on_failure": "continue" },
             { "name": "tag", "run": "echo {{steps.cur.version}}", "approval": "none" } ]
}
JSON
write_runbook rolls-back <<'JSON'
{
  "description": "A main step that fails, a rollback, a finally step",
  "steps": [ { "name": "upgrade", "run": "exit 4", "approval": "none" } ],
  "rollback": [ { "name": "restore", "run": "echo restoring", "approval": "none" } ],
  "finally": [ { "name": "back in the pool", "run": "echo pool", "approval": "none" } ]
}
JSON
# a target group of three local hosts of which one may fail; its step and the next need approval
for h in l1 l2 l3; do echo '{"connector": "local"}' > "$CONFIG_DIR/targets/$h.json"; done
jq -n '{group: ["l1", "l2", "l3"], max_errors: 1}' > "$CONFIG_DIR/targets/trio.json"
write_runbook fleet <<'JSON'
{
  "description": "A step on a target group (l2 fails, max_errors 1 lets the step succeed), then a local step",
  "parameters": { "dir": { "description": "scratch directory", "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "steps": [
    { "name": "fan out", "target": "trio",
      "run": "case $RUNBOOK_TARGET in l3) sleep 0.3;; esac; echo \"on $RUNBOOK_TARGET\"; echo \"stderr of $RUNBOOK_TARGET\" >&2; test \"$RUNBOOK_TARGET\" != l2 || exit 3" },
    { "name": "after", "target": "local", "run": "echo after >> {{dir}}/after.marker" }
  ]
}
JSON
write_runbook locked <<'JSON'
{ "description": "One step under a lock", "lock": "cockpit-db", "steps": [ { "name": "s", "run": "true" } ] }
JSON
start_daemon


MSG_APPROVED=8de48586e7594676831e72346ec10213
MSG_EXECUTE_RESULT=d10897ff38f94074bd229f5f81ebcead
MSG_REJECTED=0b41da497c8b4b34a127841f31704eb0
MSG_CANCELLED=68de450d136e446294a323c48625095e
MSG_INTERRUPTED=44c4248056ef4869899ae04e41ff63fc
MSG_RETRY=35c0c94d05044b4ea1b3dbc16104fdd5

# ---------------------------------------------------------------- approvals
note "bob approves alice's waiting step from the page (keyboard only)"
ra=$(ref approve)
id=$(start_session "$ALICE" scenario "$ra" dir "$WORK/a") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
page "$BOB" approvals --session "$id" --step 0 --action approve --expect ok --keyboard \
    --contains scenario --contains "$ra" --contains "check dir" --contains precheck \
    --contains "mkdir -p '$WORK/a'" --contains local --contains "$ALICE" --contains "0 of 1" \
    --shot 01-approvals-bob-approves
assert_eq "$(step_prop "$id" 0 Approvals | jq -r '.[0][1] + " " + .[0][2]')" "$BOB approve" "daemon: step 0's approval is bob's"
wait_step_state "$id" 0 succeeded
assert_true "daemon: the approved step ran (its marker exists)" test -s "$WORK/a/precheck.marker"
assert_eq "$(journal_wait 1 RUNBOOK_REFERENCE="$ra" MESSAGE_ID=$MSG_APPROVED)" 1 "journal: one approval record"
assert_eq "$(journal RUNBOOK_REFERENCE="$ra" MESSAGE_ID=$MSG_APPROVED | jq -r .RUNBOOK_APPROVER)" "$BOB" "journal: approved by bob"
wait_step_state "$id" 2 waiting_approval

note "mallory (polkit: no) is refused; nothing runs"
page "$MALLORY" approvals --session "$id" --step 2 --action approve --expect denied --shot 02-approvals-mallory-denied
assert_eq "$(step_prop "$id" 2 State)" waiting_approval "daemon: step 2 still waiting after mallory"
assert_eq "$(step_prop "$id" 2 Approvals)" "[]" "daemon: no approval recorded for mallory"
assert_false "daemon: step 2 did not run" test -e "$WORK/a/change.marker"

note "alice, the creator, is refused by four-eyes"
page "$ALICE" approvals --session "$id" --step 2 --action approve --expect self --shot 03-approvals-alice-four-eyes
assert_eq "$(step_prop "$id" 2 State)" waiting_approval "daemon: step 2 still waiting after alice"
assert_eq "$(step_prop "$id" 2 Approvals)" "[]" "daemon: no approval recorded for alice"
assert_false "daemon: step 2 did not run" test -e "$WORK/a/change.marker"

note "carol rejects with a comment, on a narrow screen"
page "$CAROL" approvals --session "$id" --step 2 --action reject --expect ok --width 420 \
    --comment "not during business hours" --shot 04-approvals-carol-rejects-narrow
wait_session_state "$id" rejected
assert_eq "$(step_prop "$id" 2 Approvals | jq -r '.[0][1] + "|" + .[0][2] + "|" + .[0][4]')" \
    "$CAROL|reject|not during business hours" "daemon: carol's rejection with her comment"
assert_false "daemon: the rejected step did not run" test -e "$WORK/a/change.marker"

note "a step with an approval deadline shows the time left; approved in time, it runs"
rd=$(ref deadline)
id=$(start_session "$ALICE" deadline "$rd") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
page "$BOB" approvals --session "$id" --step 0 --action approve --expect ok \
    --contains "59 min" --contains " left" --ticks --shot 05-approvals-deadline
wait_session_state "$id" succeeded

note "bob breaks the glass on a two-approver step from the session view; carol reviews it"
rb_=$(ref breakglass)
mkdir -p "$WORK/bg"
id=$(start_session "$ALICE" two-approvers "$rb_" dir "$WORK/bg") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
page "$BOB" session-break-glass --session "$id" --action break-glass --reason "pager storm, no second approver" \
    --shot 06-session-break-glass
wait_step_state "$id" 0 succeeded
assert_eq "$(step_prop "$id" 0 BreakGlass)" true "daemon: step 0 ran by break-glass"
assert_eq "$(step_prop "$id" 0 Decisions | jq -r '.[0][4] + "|" + .[0][7]')" "break_glass|pager storm, no second approver" \
    "daemon: the break-glass decision with its reason"
page "$CAROL" session-break-glass --session "$id" --action review --comment "checked" --shot 07-session-review
assert_eq "$(session_prop "$id" Review)/$(session_prop "$id" ReviewedBy)" "done/$CAROL" "daemon: reviewed by carol"

# ---------------------------------------------------------------- session view, live
note "a session view follows a running session to its end without reload"
rf=$(ref follow)
mkdir -p "$WORK/f" && chmod 777 "$WORK/f"
fid=$(start_session "$ALICE" follow "$rf" dir "$WORK/f") || die "StartSession failed"
wait_step_state "$fid" 1 running
# a record forged by mallory for this session, with the RUNBOOK_* fields the page matches on: the
# page shows only records runbookd wrote (_UID, _COMM), so not this one
printf '%s\n' "MESSAGE=[EXECUTE_STEP] Command execution result: success=true exit_status=0 forged-by-mallory" \
    "RUNBOOK_SESSION=$fid" "RUNBOOK_STEP=0" "RUNBOOK_NAME=follow" "RUNBOOK_REFERENCE=$rf" |
    setpriv --reuid="$MALLORY" --regid="$(id -g "$MALLORY")" --init-groups logger --journald
page "$BOB" session --session "$fid" --running-step 1 --release "$WORK/f/go" --state succeeded \
    --stdout "0=preparing $WORK/f" --stderr 0=warn-from-stderr --stdout 1=waited --stdout 2=20000 --truncated 2 \
    --journal-min 9 --shot 05-session-follow
wait_session_state "$fid" succeeded
shown=$(sed -n 's/^PAGE: //p' "$PAGE_OUT")
for n in 0 1 2; do
    assert_eq "$(jq -r ".steps[$n].state + \" \" + (.steps[$n].exit | tostring)" <<<"$shown")" \
        "$(step_prop "$fid" $n State) $(step_prop "$fid" $n ExitStatus)" "page and daemon agree on step $n's state and exit status"
done
assert_eq "$(step_prop "$fid" 2 Truncated)" true "daemon: step 2's output was truncated"
n_daemon=$(journal RUNBOOK_SESSION="$fid" RUNBOOK_REFERENCE="$rf" _COMM=runbookd _UID=0 | jq -r .MESSAGE | grep -c '^\[EXECUTE_STEP\]')
n_page=$(jq '[.journal[] | select(contains("[EXECUTE_STEP]"))] | length' <<<"$shown")
assert_eq "$n_page" "$n_daemon" "the page shows the session's $n_daemon [EXECUTE_STEP] records"
assert_eq "$(journal RUNBOOK_SESSION="$fid" RUNBOOK_REFERENCE="$rf" | jq -r .MESSAGE | grep -c forged-by-mallory)" 1 \
    "journal: mallory's forged record is there"
assert_eq "$(jq '[.journal[] | select(contains("forged"))] | length' <<<"$shown")" 0 "the page does not show the forged record"
assert_eq "$(journal RUNBOOK_SESSION="$fid" RUNBOOK_REFERENCE="$rf" MESSAGE_ID=$MSG_EXECUTE_RESULT | wc -l)" 3 "journal: three step results"

note "a session view shows captured values, conditions, skipped steps and failures allowed"
rv=$(ref values)
vid=$(start_session "$ALICE" values "$rv") || die "StartSession failed"
wait_session_state "$vid" succeeded
page "$BOB" session --session "$vid" --state succeeded \
    --shows '#rb-session-failed-steps => 1 (allowed by on_failure: continue)' \
    --shows '#rb-steps tbody[data-step="0"] .rb-step-captured => version=2.4.1' \
    --shows "#rb-steps tbody[data-step=\"1\"] .rb-step-when => {{steps.cur.version}} != '2.4.1'" \
    --shows '#rb-steps tbody[data-step="1"] .rb-step-error => skipped: its condition' \
    --shows "#rb-steps tbody[data-step=\"3\"] .rb-command => echo '2.4.1'" --shot 05b-session-values
shown=$(sed -n 's/^PAGE: //p' "$PAGE_OUT")
assert_eq "$(jq -r '[.steps[].state] | join(" ")' <<<"$shown")" "succeeded skipped failed succeeded" \
    "the page shows the skipped step and the failure allowed"

note "a session view shows a rollback and the rollback and finally steps"
rr=$(ref rollback)
rid=$(start_session "$ALICE" rolls-back "$rr") || die "StartSession failed"
wait_session_state "$rid" failed
page "$BOB" session --session "$rid" --state failed \
    --shows '#rb-session-rollback => succeeded' \
    --shows '#rb-session-error => main 0 (upgrade) failed' --shot 05c-session-rollback
shown=$(sed -n 's/^PAGE: //p' "$PAGE_OUT")
assert_eq "$(jq -r '[.steps[].state] | join(" ")' <<<"$shown")" "failed succeeded succeeded" \
    "the page shows the failed main step, the rollback step and the finally step"

# ---------------------------------------------------------------- start
note "start: a parameter failing its pattern is refused in the form; the daemon's refusal is shown; then it starts"
rs=$(ref start)
before=$(list_sessions | jq length)
cat > "$T/mutate.sh" <<MUTATE
#!/bin/bash
# the runbook's pattern becomes stricter behind the form's back (the form still has the old one)
$(declare -f deploy_runbook)
CONFIG_DIR='$CONFIG_DIR'
deploy_runbook '^1\.[0-9]+\$'
busctl --system call org.runbookd1 /org/runbookd1 org.runbookd1.Manager Reload >/dev/null
MUTATE
page "$ALICE" start --runbook deploy --reference "$rs" --param version \
    --bad latest --daemon-bad 2.0 --mutate "bash $T/mutate.sh" --plan-expect "echo deploying '1.5'" --good 1.5 \
    --shot 06-start
sid=$(sed -n 's/^STARTED: //p' "$PAGE_OUT")
assert_eq "$(list_sessions | jq length)" "$((before + 1))" "daemon: the refused attempts and the preview started nothing, the good one one session"
assert_eq "$(list_sessions | jq -r --arg r "$rs" '[.[] | select(.[2] == $r)] | length')" 1 "daemon: one session with the reference"
if [ -n "$sid" ]; then
    assert_eq "$(session_prop "$sid" Reference)" "$rs" "daemon: the started session has the reference"
    assert_eq "$(session_prop "$sid" CreatedBy)" "$ALICE" "daemon: started by alice"
    assert_eq "$(session_prop "$sid" Parameters)" '{"version":"1.5"}' "daemon: with version=1.5"
    wait_session_state "$sid" succeeded
else
    fail "the page did not report the started session"
fi

# ---------------------------------------------------------------- session view: decide, hosts
note "from a session's view: bob approves a step on a target group, reads its hosts and their outputs, rejects the next step"
rg=$(ref fleet)
mkdir -p "$WORK/g" && chmod 777 "$WORK/g"
gid=$(start_session "$ALICE" fleet "$rg" dir "$WORK/g") || die "StartSession failed"
wait_step_state "$gid" 0 waiting_approval
assert_eq "$(step_prop "$gid" 0 Connector) $(step_prop "$gid" 0 Target)" "group trio" "daemon: step 0 runs on the group trio"
page "$BOB" session-decide --session "$gid" --approve 0 --approved-state succeeded --hosts l1,l2,l3 \
    --host-output l2 --host-output l1 --reject 1 --comment "hosts first" --state rejected --journal-min 9 \
    --shot 09-session-group-decide
shown=$(sed -n 's/^PAGE: //p' "$PAGE_OUT")
wait_session_state "$gid" rejected
assert_eq "$(step_prop "$gid" 0 Approvals | jq -r '.[0][1] + " " + .[0][2]')" "$BOB approve" "daemon: step 0 approved by bob"
assert_eq "$(step_prop "$gid" 0 State)" succeeded "daemon: the group step succeeded although l2 failed (max_errors 1)"
results=$(prop_json "$(step_path "$gid" 0)" "$IFACE_STEP" Results | jq -c .data)
assert_eq "$(jq -r '[.[] | .[0] + "=" + .[1] + "/" + (.[2] | tostring)] | join(" ")' <<<"$results")" \
    "l1=succeeded/0 l2=failed/3 l3=succeeded/0" "daemon: the hosts' states and exit statuses"
assert_ne "$(jq -r '.[1][7]' <<<"$results")" "" "daemon: the failed host has an error ('$(jq -r '.[1][7]' <<<"$results")')"
# what the page must show for each host: the daemon's Results through the page's own formatting
want=$(node --input-type=module -e "
    import * as fmt from '$SOURCE_ROOT/cockpit/src/format.js';
    const rows = JSON.parse(process.argv[1]);
    console.log(JSON.stringify(rows.map(([target, state, exit, signal, start, end, , error]) => ({
        target, state, exit: fmt.exitStatus(exit, signal), duration: fmt.duration(start, end), error: error || '—' }))));
" "$results")
assert_eq "$(jq -c .hosts <<<"$shown")" "$want" "page and daemon agree on each host's state, exit status, duration and error"
for h in l1 l2; do
    busctl --system --json=short call "$BUS_NAME" "$(step_path "$gid" 0)" "$IFACE_STEP" GetHostOutput s "$h" >"$T/host-$h.json"
    assert_eq "$(jq -r --arg h "$h" '.outputs[$h].stdout' <<<"$shown")" "$(jq -r '.data[0] | implode' "$T/host-$h.json")" \
        "host $h's stdout shown is GetHostOutput's"
    assert_eq "$(jq -r --arg h "$h" '.outputs[$h].stderr' <<<"$shown")" "$(jq -r '.data[1] | implode' "$T/host-$h.json")" \
        "host $h's stderr shown is GetHostOutput's"
    assert_eq "$(jq -r '.data[0] | implode' "$T/host-$h.json")" "on $h" "daemon: host $h's command saw RUNBOOK_TARGET=$h"
done
assert_eq "$(step_prop "$gid" 1 Approvals | jq -r '.[0][1] + "|" + .[0][2] + "|" + .[0][4]')" "$BOB|reject|hosts first" \
    "daemon: step 1 rejected by bob with his comment"
assert_false "daemon: the rejected step did not run" test -e "$WORK/g/after.marker"
assert_eq "$(journal RUNBOOK_REFERENCE="$rg" MESSAGE_ID=$MSG_APPROVED | jq -r .RUNBOOK_APPROVER)" "$BOB" "journal: step 0 approved by bob"
assert_eq "$(journal RUNBOOK_REFERENCE="$rg" MESSAGE_ID=$MSG_REJECTED | jq -r .RUNBOOK_APPROVER)" "$BOB" "journal: step 1 rejected by bob"
n_daemon=$(journal RUNBOOK_SESSION="$gid" RUNBOOK_REFERENCE="$rg" | jq -r .MESSAGE | grep -c '^\[EXECUTE_STEP\]')
assert_eq "$(jq '[.journal[] | select(contains("[EXECUTE_STEP]"))] | length' <<<"$shown")" "$n_daemon" \
    "the page shows the session's $n_daemon [EXECUTE_STEP] records (the hosts' included)"

# ---------------------------------------------------------------- session view: cancel
# start_long NAME: alice starts long-running (reference LONG_REF, scratch dir D=$WORK/NAME) and
# its step 0 runs (its marker written); sets LONG_ID.
LONG_ID="" LONG_REF="" D=""
start_long() {
    LONG_REF=$(ref "$1") D="$WORK/$1"
    mkdir -p "$D" && chmod 777 "$D"
    LONG_ID=$(start_session "$ALICE" long-running "$LONG_REF" dir "$D") || die "StartSession failed"
    wait_step_state "$LONG_ID" 0 running
    wait_file "$D/started.marker" || fail "session $LONG_ID's step did not start"
}
note "carol cancels a running session from its view"
start_long cancel; cid=$LONG_ID rc_=$LONG_REF
page "$CAROL" session-cancel --session "$cid" --running-step 0 --skipped 1 --shot 10-session-cancel
wait_session_state "$cid" cancelled
assert_eq "$(step_prop "$cid" 0 State) $(step_prop "$cid" 1 State)" "cancelled skipped" "daemon: step 0 cancelled, step 1 skipped"
assert_eq "$(sed -n 's/^PAGE: //p' "$PAGE_OUT" | jq -r '.steps | join(" ")')" "cancelled skipped" "page and daemon agree on the steps"
assert_true "daemon: the step's processes are gone" wait_gone "$D/" 15
assert_eq "$(journal RUNBOOK_REFERENCE="$rc_" MESSAGE_ID=$MSG_CANCELLED | jq -r .MESSAGE)" \
    "[CANCEL_SESSION] Session $cid cancelled by $CAROL" "journal: cancelled by carol, once"
assert_eq "$(count_lines "$D/started.marker")" 1 "the step ran once"
assert_false "daemon: the next step did not run" test -e "$D/after.marker"

# ---------------------------------------------------------------- session view: restart, retry
note "runbookd is killed (-9) and restarted under an open session view; alice retries from it"
start_long retry; rid=$LONG_ID rr=$LONG_REF
READY="$T/retry-page.ready"
page_bg "$ALICE" session-retry --session "$rid" --running-step 0 --ready "$READY" --try-approve self --shot 11-session-retry
for _ in $(seq 300); do [ -e "$READY" ] || ! kill -0 "$PAGE_PID" 2>/dev/null && break; sleep 0.1; done
if [ -e "$READY" ]; then
    kill_daemon -9
    # the step's processes outlive a SIGKILLed daemon: stop them, as an operator would
    kill_matching "$D/"
    wait_gone "$D/" 10 || fail "the step's processes did not go"
    start_daemon
else
    fail "the page did not show the running step (no $READY)"
fi
page_wait
assert_eq "$(step_prop "$rid" 0 State) $(session_prop "$rid" State)" "waiting_approval waiting_approval" \
    "daemon: Retry put the step back to waiting for approval"
assert_eq "$(step_prop "$rid" 0 Attempt)" 2 "daemon: attempt 2"
assert_eq "$(step_prop "$rid" 0 Approvals)" "[]" "daemon: no approval (alice's was refused by four-eyes)"
assert_eq "$(sed -n 's/^PAGE: //p' "$PAGE_OUT" | jq -r '[.state, .steps[0], .attempt] | join(" ")')" \
    "waiting_approval waiting_approval 2" "page and daemon agree on the session, the step and its attempt"
assert_eq "$(journal RUNBOOK_REFERENCE="$rr" MESSAGE_ID=$MSG_INTERRUPTED | wc -l)" 1 "journal: one interrupt record"
assert_eq "$(journal RUNBOOK_REFERENCE="$rr" MESSAGE_ID=$MSG_RETRY | jq -r .MESSAGE)" \
    "[RETRY_STEP] Step 0 (long) in session $rid re-armed for attempt 2 by $ALICE" "journal: re-armed by alice"
assert_eq "$(count_lines "$D/started.marker")" 1 "daemon: the step was not re-run by the restart nor by the Retry alone"
touch "$D/fast"
expect_ok "rbtest-bob approves the retried step" rb_call "$BOB" "$(session_path "$rid")" "$IFACE_SESSION" Approve s "retry ok"
wait_session_state "$rid" succeeded
assert_eq "$(count_lines "$D/started.marker")" 2 "daemon: the approved retry ran the step a second time"

# ---------------------------------------------------------------- sessions list
note "the sessions list, filtered by state and reference"
all=$(list_sessions | jq -r '[.[] | .[0] | tostring] | join(",")')
filtered=$(list_sessions | jq -r --arg r "follow" '[.[] | select(.[3] == "succeeded" and (.[2] | contains($r))) | .[0] | tostring] | join(",")')
assert_eq "$filtered" "$fid" "daemon: exactly the follow session is succeeded with 'follow' in its reference"
page "$BOB" sessions --all "$all" --state succeeded --reference follow --filtered "$filtered" --shot 07-sessions

note "the sessions list pages: the newest 200 first, then 'Show more' asks the daemon for the next page"
for i in $(seq 200); do
    rb root call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' quick "$(ref "q$i")" 0 >/dev/null ||
        die "StartSession quick $i failed"
done
all=$(list_sessions | jq -r '[.[] | .[0] | tostring] | join(",")')
first=$(list_sessions | jq -r '[.[0:200][] | .[0] | tostring] | join(",")')
assert_ne "$first" "$all" "daemon: more than 200 sessions"
page "$BOB" sessions --all "$first" --more "$all"

# ---------------------------------------------------------------- locks
note "the session view says who holds a lock and where a waiting session is in the queue"
lh=$(start_session "$ALICE" locked "$(ref lock-h)") || die "StartSession locked"
wait_session_state "$lh" waiting_approval
lw=$(start_session "$ALICE" locked "$(ref lock-w)") || die "StartSession locked"
wait_session_state "$lw" waiting_lock
page "$BOB" session-locks --session "$lw" --state waiting_lock --contains "cockpit-db (held by session $lh)" \
    --contains "waiting, position 1 in the queue" --shot 11-session-lock-waiting
page "$BOB" session-locks --session "$lh" --state waiting_approval --contains "cockpit-db (held by this session)"
for s_ in "$lh" "$lw"; do rb_call "$ALICE" "$(session_path "$s_")" "$IFACE_SESSION" Cancel >/dev/null || fail "cancel $s_"; done
wait_session_state "$lw" cancelled

# ---------------------------------------------------------------- journal not readable
note "a user whose journal cannot be read is told why"
PAGE_JOURNAL_DIR=$NOJOURNAL page "$MALLORY" journal --session "$fid" --shot 08-session-journal-unreadable

finish
