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
#   reload (outputs, truncation, [EXECUTE_STEP] records); a parameter failing its pattern is refused
#   in the form, a value the daemon refuses shows its words, a good one lands on the session view;
#   the sessions list filters by state and reference; a user who cannot read the journal is told why.
# Screenshots: $COCKPIT_ARTIFACTS (meson: BUILD/test-artifacts/cockpit).
# Skips (77) only when chromium, cockpit-ws/bridge or cockpit/node_modules are absent.
SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
COCKPIT_BUILD_DIR=${COCKPIT_BUILD_DIR:-$SOURCE_ROOT/build/cockpit}
COCKPIT_ARTIFACTS=${COCKPIT_ARTIFACTS:-$(dirname "$COCKPIT_BUILD_DIR")/test-artifacts/cockpit}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
COCKPIT_WS=/usr/lib/cockpit/cockpit-ws
skip() { echo "SKIP: $*"; exit 77; }
[ -x "$CHROMIUM" ] || skip "$CHROMIUM missing (tools/setup.sh installs chromium)"
[ -x "$COCKPIT_WS" ] || skip "$COCKPIT_WS missing (tools/setup.sh installs cockpit-ws)"
command -v cockpit-bridge >/dev/null || skip "cockpit-bridge missing (tools/setup.sh installs it)"
# playwright-core (cockpit/package-lock.json) needs Node.js 20 or later; Debian 12's own nodejs
# is 18: there the page is built (esbuild needs 18) but not driven
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$node_major" -ge 20 ] || skip "Node.js $(node --version 2>/dev/null || echo missing) is older than 20, which playwright-core needs"
[ -e /usr/share/cockpit/base1/cockpit.js ] || [ -e /usr/share/cockpit/base1/cockpit.js.gz ] ||
    skip "Cockpit's base1 missing (tools/setup.sh installs cockpit-bridge)"
[ -d "$SOURCE_ROOT/cockpit/node_modules/playwright-core" ] ||
    skip "cockpit/node_modules missing (tools/setup.sh runs npm ci in cockpit/)"
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
ln -s "$SOURCE_ROOT/cockpit/manifest.json" "$SOURCE_ROOT/cockpit/index.html" "$PKG/"
ln -s "$COCKPIT_BUILD_DIR/runbookd.js" "$COCKPIT_BUILD_DIR/runbookd.css" "$PKG/"

# ---------------------------------------------------------------- the journal, as the page sees it
# The testbed's journald keeps its files in $TESTBED_JOURNAL_DIR; each cockpit-ws runs in a mount
# namespace where that directory is /run/log/journal, so the bridge's journalctl finds them. In
# production systemd-tmpfiles gives the journal directories to group systemd-journal (setgid); the
# testbed's journald does not run tmpfiles, so the same is done here.
JDIR=${TESTBED_JOURNAL_DIR:-/run/log/journal}
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
free_port() {
    local p
    for _ in $(seq 50); do
        p=$(( 20000 + RANDOM % 40000 ))
        ss -Hltn "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return 0; }
    done
    return 1
}
# cockpit_up USER [JOURNAL_DIR]: cockpit-ws --local-session=cockpit-bridge as USER on 127.0.0.1,
# with the testbed's bus, the page's package dir and JOURNAL_DIR (default: the testbed's) on
# /run/log/journal, in its own pid and mount namespace (unshare --kill-child: killing it ends the
# bridge and the session bus and ssh-agent the bridge starts). Sets WS_URL.
cockpit_up() {
    local u=$1 jdir=${2:-$JDIR} port home="$T/home-$1"
    port=$(free_port) || die "no free port"
    mkdir -p "$home/run" && chown -R "$u:" "$home" && chmod 700 "$home/run"
    setsid unshare --pid --fork --kill-child --mount --propagation private sh -c '
        mount -t tmpfs -o mode=755 tmpfs /run/log && mkdir /run/log/journal &&
            mount --bind "$1" /run/log/journal || exit 1
        setpriv --reuid="$2" --regid="$(id -g "$2")" --init-groups \
            env -i HOME="$3" USER="$2" LOGNAME="$2" PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
                XDG_RUNTIME_DIR="$3/run" XDG_DATA_DIRS="$4" DBUS_SYSTEM_BUS_ADDRESS="$5" \
            '"$COCKPIT_WS"' --local-session=cockpit-bridge --port "$6" --address 127.0.0.1
        :' sh "$jdir" "$u" "$home" "$T/xdg:/usr/local/share:/usr/share" "$DBUS_SYSTEM_BUS_ADDRESS" "$port" \
        </dev/null >>"$T/cockpit-ws-$u.log" 2>&1 &
    WS_PID=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { cat "$T/cockpit-ws-$u.log"; die "cockpit-ws for $u did not listen on $port"; }
    WS_URL="http://127.0.0.1:$port"
}
cockpit_down() {
    [ -n "$WS_PID" ] || return 0
    kill -KILL "$WS_PID" 2>/dev/null; wait "$WS_PID" 2>/dev/null
    WS_PID=""
}
trap 'rc=$?; cockpit_down; (exit $rc); _teardown' EXIT

# page USER SCRIPT ARGS...: runs tests/cockpit/SCRIPT.mjs --user USER ARGS against a fresh
# cockpit-ws for USER (journal: $PAGE_JOURNAL_DIR, default the testbed's); its PASS/FAIL lines
# count here. Its output is kept in $PAGE_OUT (PAGE:/STARTED: lines are read from there).
PAGE_OUT="" PAGE_JOURNAL_DIR=""
page() {
    local u=$1 s=$2 rc line; shift 2
    cockpit_up "$u" "$PAGE_JOURNAL_DIR"
    PAGE_OUT="$T/$s.$RANDOM.out"
    COCKPIT_URLS=$(jq -n -c --arg u "$u" --arg url "$WS_URL" '{($u): $url}') ARTIFACTS="$COCKPIT_ARTIFACTS" \
        CHROMIUM="$CHROMIUM" timeout 180 node "$SOURCE_ROOT/tests/cockpit/$s.mjs" --user "$u" "$@" >"$PAGE_OUT" 2>&1
    rc=$?
    cockpit_down
    while IFS= read -r line; do
        case "$line" in
            PASS:\ *) pass "[page] ${line#PASS: }" ;;
            FAIL:\ *) fail "[page] ${line#FAIL: }" ;;
            *) echo "  $line" ;;
        esac
    done < "$PAGE_OUT"
    [ $rc = 0 ] || fail "tests/cockpit/$s.mjs exited with status $rc"
    return $rc
}

# ---------------------------------------------------------------- runbooks and daemon
write_config '{ "output_cap": 4096 }'
install_runbook scenario
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
start_daemon


MSG_APPROVED=8de48586e7594676831e72346ec10213
MSG_EXECUTE_RESULT=d10897ff38f94074bd229f5f81ebcead

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

# ---------------------------------------------------------------- session view, live
note "a session view follows a running session to its end without reload"
rf=$(ref follow)
mkdir -p "$WORK/f" && chmod 777 "$WORK/f"
fid=$(start_session "$ALICE" follow "$rf" dir "$WORK/f") || die "StartSession failed"
wait_step_state "$fid" 1 running
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
n_daemon=$(journal RUNBOOK_SESSION="$fid" RUNBOOK_REFERENCE="$rf" | jq -r .MESSAGE | grep -c '^\[EXECUTE_STEP\]')
n_page=$(jq '[.journal[] | select(contains("[EXECUTE_STEP]"))] | length' <<<"$shown")
assert_eq "$n_page" "$n_daemon" "the page shows the session's $n_daemon [EXECUTE_STEP] records"
assert_eq "$(journal RUNBOOK_SESSION="$fid" RUNBOOK_REFERENCE="$rf" MESSAGE_ID=$MSG_EXECUTE_RESULT | wc -l)" 3 "journal: three step results"

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
    --bad latest --daemon-bad 2.0 --mutate "bash $T/mutate.sh" --good 1.5 --shot 06-start
sid=$(sed -n 's/^STARTED: //p' "$PAGE_OUT")
assert_eq "$(list_sessions | jq length)" "$((before + 1))" "daemon: the refused attempts started nothing, the good one one session"
assert_eq "$(list_sessions | jq -r --arg r "$rs" '[.[] | select(.[2] == $r)] | length')" 1 "daemon: one session with the reference"
if [ -n "$sid" ]; then
    assert_eq "$(session_prop "$sid" Reference)" "$rs" "daemon: the started session has the reference"
    assert_eq "$(session_prop "$sid" CreatedBy)" "$ALICE" "daemon: started by alice"
    assert_eq "$(session_prop "$sid" Parameters)" '{"version":"1.5"}' "daemon: with version=1.5"
    wait_session_state "$sid" succeeded
else
    fail "the page did not report the started session"
fi

# ---------------------------------------------------------------- sessions list
note "the sessions list, filtered by state and reference"
all=$(list_sessions | jq -r '[.[] | .[0] | tostring] | join(",")')
filtered=$(list_sessions | jq -r --arg r "follow" '[.[] | select(.[3] == "succeeded" and (.[2] | contains($r))) | .[0] | tostring] | join(",")')
assert_eq "$filtered" "$fid" "daemon: exactly the follow session is succeeded with 'follow' in its reference"
page "$BOB" sessions --all "$all" --state succeeded --reference follow --filtered "$filtered" --shot 07-sessions

# ---------------------------------------------------------------- journal not readable
note "a user whose journal cannot be read is told why"
PAGE_JOURNAL_DIR=$NOJOURNAL page "$MALLORY" journal --session "$fid" --shot 08-session-journal-unreadable

finish
