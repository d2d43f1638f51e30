# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash disable=SC2034
#
# tests/lib.sh - sourced by every integration test (tests/integration/test-*.sh).
#
# On sourcing it: checks root, creates a fresh temp dir $T (world-traversable), brings up the
# testbed (tests/testbed.sh: private system bus with the project's bus policy, polkitd with the
# project's actions + tests/polkit/50-runbookd-test.rules, journald), makes an empty config dir
# and state dir, and traps EXIT to tear it all down (daemon, background helpers, testbed).
#
# Environment (input):
#   RUNBOOKD     the daemon binary          (default: $SOURCE_ROOT/build/src/runbookd)
#   RUNBOOKCTL   the client binary          (default: $SOURCE_ROOT/build/src/runbookctl)
#   SOURCE_ROOT  the checkout               (default: the parent of this file's folder)
#   KEEP_TMP=1   keep $T after the test even when it passed
#
# Variables a test uses:
#   T            the test's temp dir;  WORK=$T/work a scratch dir for markers (mode 1777)
#   CONFIG_DIR   --config-dir (runbooks/, targets/, runbookd.json);  STATE_DIR  --state-dir
#   DAEMON_PID   pid of the running daemon ("" when none);  DAEMON_LOG  its stdout+stderr
#   DBUS_SYSTEM_BUS_ADDRESS, TESTBED_DIR, TESTBED_JOURNAL_DIR ("" = the host's default journal)
#   ALICE BOB CAROL (group rbtest: polkit says yes)  MALLORY (polkit says no)
#   MANAGER=/org/runbookd1, IFACE_MANAGER/IFACE_SESSION/IFACE_STEP
#   LAST_ERROR_NAME, LAST_ERROR_MESSAGE   set by expect_error / bus_error_of
#
# Functions (see each for details):
#   setup:      install_runbook NAME...  write_runbook NAME < json  write_config JSON
#               ref SUFFIX  session_path ID  step_path ID N
#   daemon:     start_daemon [ARGS...]  kill_daemon -9|-TERM  restart_daemon
#   bus:        as_user USER CMD...  with_login USER|none CMD...  require_loginuid
#               rb USER busctl-args...  rb_call USER PATH IFACE METHOD [SIG ARGS...]
#               start_session USER RUNBOOK REF [KEY VALUE]...   (prints the id)
#               prop PATH IFACE PROP  session_prop ID PROP  step_prop ID N PROP
#               prop_json PATH IFACE PROP   wait_for_prop PATH IFACE PROP VALUE TIMEOUT
#               wait_session_state ID STATE [TIMEOUT]  wait_step_state ID N STATE [TIMEOUT]
#               list_sessions  list_runbooks  get_output ID N (sets OUT_STDOUT OUT_STDERR OUT_TRUNCATED)
#   journal:    journal MATCH...  (JSON lines)  journal_messages MATCH...  journal_wait N MATCH...
#   misc:       bg CMD... (background, killed at teardown)  count_lines FILE
#   assertions: pass fail assert_eq assert_ne assert_match assert_true assert_false
#               expect_error ERRNAME CMD...  expect_ok DESC CMD...  finish
#   runbookctl: require_runbookctl  ctl USER ARGS...  ctl_timeout SECS USER ARGS...
#               ctl_run USER ARGS... (sets CTL_OUT CTL_ERR CTL_RC)  expect_ctl_ok DESC USER ARGS...
#               expect_ctl_fail DESC ERE USER ARGS...  json_rows (stdin -> one JSON array)
#               has_ansi FILE  nonempty_lines (stdin -> count)
#   ssh:        require_sshd  write_ssh_target NAME [JQ-FILTER]  write_ssh_runbook NAME TARGET CMD...
#               ssh_peer_up dropbear|tinyssh  write_peer_target NAME PEER [JQ-FILTER]
#               step_result REF N FIELD  wait_gone ERE [TIMEOUT]  wait_file FILE [TIMEOUT]
#               (the testbed's sshd: TESTBED_SSH_HOST/PORT/USER/KEY/PUBKEY/KNOWN_HOSTS)
#   notify:     notify_receiver_up [CONFIG_JSON]  notify_receiver_config JSON  notify_requests
#               notify_wait_requests N [TIMEOUT] [JQ-FILTER]  free_tcp_port
#               (NR_DIR NR_HTTP NR_HTTPS NR_CA; certificates: make_test_certs DIR CN-PREFIX)
set -uo pipefail
# config files the tests write must pass runbookd's ownership and mode checks (issue #11, item 16)
umask 022

SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
RUNBOOKD=${RUNBOOKD:-$SOURCE_ROOT/build/src/runbookd}
export SOURCE_ROOT RUNBOOKD

ALICE=rbtest-alice BOB=rbtest-bob CAROL=rbtest-carol MALLORY=rbtest-mallory
MANAGER=/org/runbookd1
IFACE_MANAGER=org.runbookd1.Manager
IFACE_SESSION=org.runbookd1.Session
IFACE_STEP=org.runbookd1.Step
BUS_NAME=org.runbookd1
TEST_NAME=$(basename "$0" .sh)

_PASS=0 _FAIL=0 _FINISHED=0
DAEMON_PID="" DAEMON_LOG="" LAST_ERROR_NAME="" LAST_ERROR_MESSAGE=""
OUT_STDOUT="" OUT_STDERR="" OUT_TRUNCATED=""
_BG_PIDS=()
_DAEMON_N=0

# ---------------------------------------------------------------- output and assertions

note() { echo "# $*"; }
pass() { _PASS=$((_PASS + 1)); echo "PASS: $*"; }
fail() { _FAIL=$((_FAIL + 1)); echo "FAIL: $*"; }
die()  { echo "FATAL: $*"; _FAIL=$((_FAIL + 1)); exit 1; }   # the EXIT trap reports and cleans up

# assert_eq ACTUAL EXPECTED DESC
assert_eq() {
    if [ "$1" == "$2" ]; then pass "$3"; else fail "$3: got '$1', expected '$2'"; fi
}
# assert_ne ACTUAL UNEXPECTED DESC
assert_ne() {
    if [ "$1" != "$2" ]; then pass "$3"; else fail "$3: got '$1'"; fi
}
# assert_match ACTUAL ERE DESC
assert_match() {
    if [[ "$1" =~ $2 ]]; then pass "$3"; else fail "$3: '$1' does not match /$2/"; fi
}
# assert_true DESC CMD...   /  assert_false DESC CMD...
assert_true() { local d=$1; shift; if "$@"; then pass "$d"; else fail "$d (command failed: $*)"; fi; }
assert_false() { local d=$1; shift; if "$@"; then fail "$d (command succeeded: $*)"; else pass "$d"; fi; }

# Full D-Bus error name from a short one: AccessDenied -> org.freedesktop.DBus.Error.AccessDenied,
# NoSuchSession -> org.runbookd1.Error.NoSuchSession; a dotted name is kept.
_error_fullname() {
    case "$1" in
        *.*) echo "$1" ;;
        AccessDenied|UnknownObject|UnknownMethod|UnknownInterface|UnknownProperty|InvalidArgs|\
        InteractiveAuthorizationRequired|ServiceUnknown|NoReply|PropertyReadOnly|InvalidSignature|\
        LimitsExceeded|Failed|NotSupported)
            echo "org.freedesktop.DBus.Error.$1" ;;
        *) echo "org.runbookd1.Error.$1" ;;
    esac
}

# bus_error_of CMD...: runs a busctl command line with sd-bus debug logging, which is where
# busctl shows the error *name* ("Got message type=error ... error-name=NAME error-message=...";
# its plain "Call failed:" line has only the message). Sets LAST_ERROR_NAME ("" if the call
# succeeded) and LAST_ERROR_MESSAGE; stdout of the command goes to stdout. Returns its status.
bus_error_of() {
    local errf rc
    errf=$(mktemp "$T/err.XXXXXX")
    SYSTEMD_LOG_LEVEL=debug "$@" 2>"$errf"; rc=$?
    LAST_ERROR_NAME=$(sed -n 's/.*type=error .*error-name=\([^ ]*\) .*/\1/p' "$errf" | tail -n 1)
    # the message as the daemon sent it (busctl itself prints e.g. a bare "Access denied")
    LAST_ERROR_MESSAGE=$(sed -n 's/.*type=error .*error-message=\(.*\)$/\1/p' "$errf" | tail -n 1)
    [ -n "$LAST_ERROR_MESSAGE" ] || LAST_ERROR_MESSAGE=$(sed -n 's/^Call failed: //p; s/^Failed to get property [^:]*: //p' "$errf" | tail -n 1)
    [ -n "$LAST_ERROR_MESSAGE" ] || LAST_ERROR_MESSAGE=$(grep -v -e '^Bus ' -e '^Sent message' -e '^Got message' "$errf" | tail -n 1)
    rm -f "$errf"
    return $rc
}

# expect_error ERRNAME[|ERRNAME...] CMD...: CMD (a busctl call, possibly through as_user) must
# fail with one of the given D-Bus error names. LAST_ERROR_MESSAGE holds the error's message.
expect_error() {
    local want=$1 w full="" ok=0; shift
    for w in ${want//|/ }; do full+="${full:+|}$(_error_fullname "$w")"; done
    if bus_error_of "$@" >/dev/null; then
        fail "expected error $full, but the call succeeded: $*"
        return 1
    fi
    for w in ${full//|/ }; do [ "$LAST_ERROR_NAME" = "$w" ] && ok=1; done
    if [ $ok = 1 ]; then
        pass "error $LAST_ERROR_NAME (${LAST_ERROR_MESSAGE}) from: ${*: -3}"
        return 0
    fi
    fail "expected error $full, got '${LAST_ERROR_NAME:-none}' (${LAST_ERROR_MESSAGE}) from: $*"
    return 1
}

# expect_ok DESC CMD...: the command must succeed; its stderr is shown when it does not.
expect_ok() {
    local d=$1; shift
    if bus_error_of "$@" >/dev/null; then pass "$d"; return 0; fi
    fail "$d: ${LAST_ERROR_NAME:-error} (${LAST_ERROR_MESSAGE}) from: $*"
    return 1
}

# finish: prints the summary and exits 0 only if nothing failed (and something passed).
finish() {
    _FINISHED=1
    echo "$TEST_NAME: $_PASS passed, $_FAIL failed"
    [ "$_FAIL" -eq 0 ] && [ "$_PASS" -gt 0 ] && exit 0
    exit 1
}

# ---------------------------------------------------------------- setup and teardown

_teardown() {
    local rc=$? p
    trap - EXIT
    if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
        kill -TERM "$DAEMON_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$DAEMON_PID" 2>/dev/null
        wait "$DAEMON_PID" 2>/dev/null
    fi
    for p in "${_BG_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    _kill_strays
    _check_sanitizer_logs
    if [ "$_FINISHED" = 0 ]; then
        echo "$TEST_NAME: ended before finish (status $rc): $_PASS passed, $((_FAIL > 0 ? _FAIL : 1)) failed"
        _FAIL=$((_FAIL > 0 ? _FAIL : 1))
    fi
    if [ "$_FAIL" -gt 0 ]; then
        _show_logs
    fi
    [ -n "${TESTBED_DIR:-}" ] && bash "$SOURCE_ROOT/tests/testbed.sh" down "$TESTBED_DIR" >/dev/null 2>&1
    if [ "$_FAIL" -gt 0 ] || [ "${KEEP_TMP:-0}" = 1 ]; then
        echo "# kept $T"
    else
        rm -rf "$T"
    fi
    [ "$_FAIL" -eq 0 ] && [ "$_FINISHED" = 1 ] && exit 0
    [ "$rc" = 77 ] && exit 77
    exit 1
}

# kill_matching ERE: kills every process whose command line matches ERE (pgrep -f), with its
# process group when that is not ours — as an operator stops the processes of a step that
# outlived a SIGKILLed daemon.
kill_matching() {
    local pid pgid
    for pid in $(pgrep -f -- "$1" 2>/dev/null); do
        [ "$pid" = $$ ] && continue
        pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')
        if [ -n "$pgid" ] && [ "$pgid" != "$(ps -o pgid= -p $$ | tr -d ' ')" ]; then
            kill -KILL -- "-$pgid" 2>/dev/null
        else
            kill -KILL "$pid" 2>/dev/null
        fi
    done
}

# Kills step processes left behind (e.g. after kill -9 of the daemon): every process whose
# command line mentions the test's temp dir, by process group.
_kill_strays() { kill_matching "$T/"; }

_check_sanitizer_logs() {
    local f
    for f in "$T"/daemon-*.log; do
        [ -e "$f" ] || continue
        if grep -q -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$f"; then
            fail "sanitizer report in $(basename "$f")"
        fi
    done
}

_show_logs() {
    local f
    for f in "$T"/daemon-*.log; do
        [ -e "$f" ] || continue
        echo "----- $(basename "$f") (last 150 lines) -----"
        tail -n 150 "$f"
    done
    for f in "$TESTBED_DIR"/logs/*.log; do
        [ -s "$f" ] || continue
        echo "----- testbed $(basename "$f") (last 30 lines) -----"
        tail -n 30 "$f"
    done
}

_lib_init() {
    if [ "$(id -u)" != 0 ]; then
        echo "SKIP: integration tests run as root (private bus, polkitd, journald, setpriv)"
        exit 77
    fi
    command -v jq >/dev/null || { echo "FATAL: jq missing: run tools/setup.sh"; exit 1; }
    for u in "$ALICE" "$BOB" "$CAROL" "$MALLORY"; do
        getent passwd "$u" >/dev/null || { echo "FATAL: user $u missing: run tools/setup.sh"; exit 1; }
    done
    [ -x "$RUNBOOKD" ] || { echo "FATAL: $RUNBOOKD not built: run tools/setup.sh"; exit 1; }

    T=$(mktemp -d "${TMPDIR:-/tmp}/runbookd-$TEST_NAME.XXXXXX") || exit 1
    chmod 755 "$T"
    trap _teardown EXIT
    trap 'exit 130' INT TERM
    TESTBED_DIR="$T/testbed"
    mkdir -p "$TESTBED_DIR" "$T/config/runbooks" "$T/config/targets" "$T/state" "$T/work"
    chmod 1777 "$T/work"
    CONFIG_DIR="$T/config" STATE_DIR="$T/state" WORK="$T/work"
    if ! bash "$SOURCE_ROOT/tests/testbed.sh" up "$TESTBED_DIR" >"$T/testbed-up.log" 2>&1; then
        cat "$T/testbed-up.log"
        die "testbed up failed"
    fi
    # shellcheck disable=SC1091
    . "$TESTBED_DIR/env"
    export DBUS_SYSTEM_BUS_ADDRESS TESTBED_DIR TESTBED_JOURNAL_DIR CONFIG_DIR STATE_DIR WORK T
    note "$TEST_NAME: temp dir $T, bus $DBUS_SYSTEM_BUS_ADDRESS, journal ${TESTBED_JOURNAL_DIR:-default} ($TESTBED_JOURNAL_MODE)"
}

# ref SUFFIX: a reference unique to this test run (journal matches never see another run): the
# journal may be shared by many runs and PIDs come back, so a random token goes with the PID.
_REF_TOKEN=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
ref() { echo "T-$$-$_REF_TOKEN-$1"; }
session_path() { echo "/org/runbookd1/session/$1"; }
step_path() { echo "/org/runbookd1/session/$1/step/$2"; }

# install_runbook NAME...: copies tests/runbooks/NAME.json into the config dir.
install_runbook() {
    local n
    for n in "$@"; do
        cp "$SOURCE_ROOT/tests/runbooks/$n.json" "$CONFIG_DIR/runbooks/$n.json" || die "no runbook $n"
    done
}
# write_runbook NAME < JSON
write_runbook() { cat > "$CONFIG_DIR/runbooks/$1.json"; }
# write_config JSON: runbookd.json in the config dir
write_config() { printf '%s\n' "$1" > "$CONFIG_DIR/runbookd.json"; }

# ---------------------------------------------------------------- the daemon

_name_has_owner() {
    busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
        NameHasOwner s "$BUS_NAME" 2>/dev/null | grep -q true
}

# start_daemon [EXTRA ARGS...]: starts $RUNBOOKD on the config and state dirs, logging to
# $T/daemon-N.log, and waits (10 s) until org.runbookd1 is owned. Sets DAEMON_PID, DAEMON_LOG.
start_daemon() {
    [ -z "$DAEMON_PID" ] || die "start_daemon: daemon already running ($DAEMON_PID)"
    _DAEMON_N=$((_DAEMON_N + 1))
    DAEMON_LOG="$T/daemon-$_DAEMON_N.log"
    # as under systemd, the daemon (and every local step it runs) has no login uid, whatever
    # login session the tests run in
    ( _set_loginuid none; exec "$RUNBOOKD" --config-dir="$CONFIG_DIR" --state-dir="$STATE_DIR" --log-level=debug "$@" ) \
        </dev/null >"$DAEMON_LOG" 2>&1 &
    DAEMON_PID=$!
    local t
    for t in $(seq 100); do
        _name_has_owner && { note "runbookd running (pid $DAEMON_PID, log $DAEMON_LOG)"; return 0; }
        kill -0 "$DAEMON_PID" 2>/dev/null || { wait "$DAEMON_PID"; local rc=$?; DAEMON_PID=""
            die "runbookd exited with status $rc before owning $BUS_NAME (log: $DAEMON_LOG)"; }
        sleep 0.1
    done
    die "runbookd did not own $BUS_NAME within 10 s (log: $DAEMON_LOG)"
}

# kill_daemon -9|-KILL|-TERM: stops the daemon. With -TERM it must exit cleanly (status 0)
# within 10 s and release the name; with -9 it is simply killed.
kill_daemon() {
    local sig=${1:--TERM} rc t
    [ -n "$DAEMON_PID" ] || die "kill_daemon: no daemon running"
    kill "$sig" "$DAEMON_PID" 2>/dev/null
    for t in $(seq 100); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$DAEMON_PID" 2>/dev/null; then
        fail "runbookd did not exit within 10 s of SIGTERM"
        kill -KILL "$DAEMON_PID" 2>/dev/null
    fi
    wait "$DAEMON_PID"; rc=$?
    case "$sig" in
        -TERM|-15) assert_eq "$rc" 0 "runbookd exits with status 0 on SIGTERM" ;;
        *) note "runbookd killed ($sig), status $rc" ;;
    esac
    DAEMON_PID=""
    for t in $(seq 50); do _name_has_owner || return 0; sleep 0.1; done
    fail "$BUS_NAME still owned after the daemon exited"
}

restart_daemon() { kill_daemon -TERM; start_daemon "$@"; }

# ---------------------------------------------------------------- bus helpers

# A test user acts in a login session of their own (login uid = their uid, as a real login
# gives them), not in the one the tests run from: under a root login every user would otherwise
# be the same person (login uid 0). Best effort: where it cannot be set, it stays as inherited.
# _LOGIN_SH runs "$@" with /proc/self/loginuid set to $0 (sh -c "$_LOGIN_SH" UID CMD...).
_LOGIN_SH='{ echo "$0" > /proc/self/loginuid; } 2>/dev/null; exec "$@"'

# as_user USER CMD...: runs CMD as USER (real uid/gid, the user's groups, their own login uid),
# on the testbed bus.
as_user() {
    local u=$1; shift
    sh -c "$_LOGIN_SH" "$(id -u "$u")" setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups \
        env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" "$@"
}

# The audit login uid (the person behind a process: /proc/self/loginuid, kept across sudo/su).
# _set_loginuid UID|none: sets this (sub)shell's; needs CAP_AUDIT_CONTROL and a kernel with audit.
_set_loginuid() {
    local v=$1
    [ "$v" = none ] && v=4294967295
    { echo "$v" > /proc/self/loginuid; } 2>/dev/null
}
# require_loginuid: skips the test (77) where login uids cannot be set here.
require_loginuid() {
    ( _set_loginuid "$(id -u "$ALICE")" && [ "$(cat /proc/self/loginuid)" = "$(id -u "$ALICE")" ] ) ||
        { echo "SKIP: cannot set /proc/self/loginuid here (no audit in the kernel, or no CAP_AUDIT_CONTROL)"; exit 77; }
}
# with_login USER|none CMD...: CMD in a login session of USER (as sudo from USER's login leaves
# it), or with none (as a service, or a process a step left behind); the uid does not change.
with_login() {
    local l=$1; shift
    [ "$l" = none ] || l=$(id -u "$l")
    ( _set_loginuid "$l" || { echo "with_login: cannot set the login uid" >&2; exit 1; }; "$@" )
}

# rb USER BUSCTL-ARGS...: busctl --system as USER ("root" runs it directly).
rb() {
    local u=$1; shift
    if [ "$u" = root ]; then busctl --system --no-pager "$@"
    else as_user "$u" busctl --system --no-pager "$@"; fi
}

# rb_call USER PATH IFACE METHOD [SIGNATURE ARGS...]: a method call on org.runbookd1.
rb_call() {
    local u=$1; shift
    rb "$u" call "$BUS_NAME" "$@"
}

# start_session USER RUNBOOK REF [KEY VALUE]...: prints the new session's id; returns non-zero
# (with LAST_ERROR_NAME/MESSAGE set) on failure.
start_session() {
    local u=$1 runbook=$2 reference=$3 out; shift 3
    local n=$(( $# / 2 ))
    out=$(bus_error_of rb "$u" --json=short -- call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" StartSession \
          'ssa{ss}' "$runbook" "$reference" "$n" "$@") || {
        echo "start_session $runbook as $u failed: $LAST_ERROR_NAME: $LAST_ERROR_MESSAGE" >&2; return 1; }
    jq -r '.data[0]' <<<"$out"
}

# prop PATH IFACE PROP: the value; strings raw, everything else as compact JSON.
prop() {
    busctl --system --json=short get-property "$BUS_NAME" "$1" "$2" "$3" 2>/dev/null |
        jq -r '.data | if type == "string" then . else tojson end'
}
# prop_json PATH IFACE PROP: busctl's whole JSON ({"type":..., "data":...}).
prop_json() { busctl --system --json=short get-property "$BUS_NAME" "$1" "$2" "$3"; }
session_prop() { prop "$(session_path "$1")" "$IFACE_SESSION" "$2"; }
step_prop() { prop "$(step_path "$1" "$2")" "$IFACE_STEP" "$3"; }

# wait_for_prop PATH IFACE PROP VALUE TIMEOUT_S: polls until the property equals VALUE.
# Returns 1 on timeout, printing the last value seen to stderr.
wait_for_prop() {
    local path=$1 iface=$2 name=$3 want=$4 timeout=${5:-10} v="" t
    for t in $(seq $(( timeout * 10 ))); do
        v=$(prop "$path" "$iface" "$name")
        [ "$v" = "$want" ] && return 0
        sleep 0.1
    done
    echo "wait_for_prop: $path $name is '$v' after ${timeout}s, wanted '$want'" >&2
    return 1
}
# wait_session_state ID STATE [TIMEOUT]: an assertion (counts PASS/FAIL).
wait_session_state() {
    if wait_for_prop "$(session_path "$1")" "$IFACE_SESSION" State "$2" "${3:-15}"; then
        pass "session $1 is $2"
    else
        fail "session $1 is $(session_prop "$1" State), expected $2 (error: '$(session_prop "$1" Error)')"
        return 1
    fi
}
# wait_step_state ID N STATE [TIMEOUT]: an assertion.
wait_step_state() {
    if wait_for_prop "$(step_path "$1" "$2")" "$IFACE_STEP" State "$3" "${4:-15}"; then
        pass "session $1 step $2 is $3"
    else
        fail "session $1 step $2 is $(step_prop "$1" "$2" State), expected $3 (error: '$(step_prop "$1" "$2" Error)')"
        return 1
    fi
}

# list_sessions: ListSessions' array (its first page of up to 1000, newest first) as compact
# JSON ("[]" when empty), for before/after checks.
list_sessions() {
    busctl --system --json=short call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" ListSessions 'a{sv}' 1 limit u 1000 |
        jq -c '.data[0]'
}
# list_runbooks: ListRunbooks' array as compact JSON.
list_runbooks() {
    busctl --system --json=short call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" ListRunbooks | jq -c '.data[0]'
}
# count_lines FILE: lines in FILE, 0 when it does not exist.
count_lines() { if [ -e "$1" ]; then wc -l < "$1" | tr -d ' '; else echo 0; fi; }

# get_output ID N: Step.GetOutput; sets OUT_STDOUT, OUT_STDERR (text) and OUT_TRUNCATED.
get_output() {
    local f="$T/output.json"
    busctl --system --json=short call "$BUS_NAME" "$(step_path "$1" "$2")" "$IFACE_STEP" GetOutput >"$f" || return 1
    OUT_STDOUT=$(jq -r '.data[0] | implode' "$f")
    OUT_STDERR=$(jq -r '.data[1] | implode' "$f")
    OUT_TRUNCATED=$(jq -r '.data[2]' "$f")
}

# bg CMD...: runs CMD in the background, killed at teardown; prints nothing, sets BG_PID.
bg() { "$@" & BG_PID=$!; _BG_PIDS+=("$BG_PID"); }

# ---------------------------------------------------------------- journal

_journalctl() {
    if [ -n "${TESTBED_JOURNAL_DIR:-}" ]; then journalctl --no-pager -D "$TESTBED_JOURNAL_DIR" "$@"
    else journalctl --no-pager "$@"; fi
}
# journal MATCH...: matching records as JSON lines (journalctl -o json), oldest first.
journal() { _journalctl -o json "$@" 2>/dev/null; }
# journal_messages MATCH...: only the MESSAGE of each matching record.
journal_messages() { journal "$@" | jq -r '.MESSAGE'; }
# journal_wait N MATCH... : waits (10 s) until at least N records match; prints the count.
journal_wait() {
    local n=$1 c=0; shift
    for _ in $(seq 100); do
        c=$(journal "$@" | wc -l)
        [ "$c" -ge "$n" ] && break
        sleep 0.1
    done
    echo "$c"
}

# ---------------------------------------------------------------- runbookctl (tests/integration/test-cli-*.sh)

RUNBOOKCTL=${RUNBOOKCTL:-$SOURCE_ROOT/build/src/runbookctl}
export RUNBOOKCTL
CTL_OUT="" CTL_ERR="" CTL_RC=0

# require_runbookctl: dies unless $RUNBOOKCTL is an executable.
require_runbookctl() {
    [ -x "$RUNBOOKCTL" ] || die "$RUNBOOKCTL not built (meson compile -C build)"
}

# _ctl_argv USER: sets _CTL_ARGV to the command line that runs $RUNBOOKCTL as USER ("root":
# directly) on the testbed bus, with --no-ask-password and --no-pager.
_ctl_argv() {
    local u=$1 bin=$RUNBOOKCTL
    if [ "$u" != root ]; then
        # the checkout may be where other users cannot reach (/root): they run a copy in $T
        if [ ! -x "$T/bin/runbookctl" ]; then
            mkdir -p "$T/bin" && chmod 755 "$T/bin" && install -m 755 "$RUNBOOKCTL" "$T/bin/runbookctl"
        fi
        bin=$T/bin/runbookctl
    fi
    _CTL_ARGV=(env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS"
               "$bin" --no-ask-password --no-pager)
    if [ "$u" != root ]; then
        _CTL_ARGV=(sh -c "$_LOGIN_SH" "$(id -u "$u")"
                   setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups "${_CTL_ARGV[@]}")
    fi
}
# ctl USER ARGS...: runbookctl ARGS as USER; its stdout, stderr and exit status.
ctl() {
    local _CTL_ARGV; _ctl_argv "$1"; shift
    "${_CTL_ARGV[@]}" "$@"
}
# ctl_timeout SECS USER ARGS...: the same under timeout(1) (status 124 when it had to stop it),
# so that a command that hangs fails the test instead of blocking it.
ctl_timeout() {
    local s=$1 _CTL_ARGV; _ctl_argv "$2"; shift 2
    timeout "$s" "${_CTL_ARGV[@]}" "$@"
}
# ctl_run USER ARGS...: ctl (under a 60 s timeout), capturing: CTL_OUT (stdout, trailing newlines
# stripped), CTL_ERR (stderr, likewise), CTL_RC (exit status); returns CTL_RC.
ctl_run() {
    local o e
    o=$(mktemp "$T/ctl-out.XXXXXX") e=$(mktemp "$T/ctl-err.XXXXXX")
    ctl_timeout 60 "$@" >"$o" 2>"$e"; CTL_RC=$?
    CTL_OUT=$(cat "$o") CTL_ERR=$(cat "$e")
    rm -f "$o" "$e"
    return "$CTL_RC"
}
# expect_ctl_ok DESC USER ARGS...: runbookctl must exit 0 (an assertion); CTL_* set as by ctl_run.
expect_ctl_ok() {
    local d=$1; shift
    if ctl_run "$@"; then pass "$d"; return 0; fi
    fail "$d: exit status $CTL_RC, stderr '$CTL_ERR' from: runbookctl ${*:2}"
    return 1
}
# expect_ctl_fail DESC ERE USER ARGS...: runbookctl must exit non-zero, with its error on stderr
# as one line "runbookctl: ..." that matches ERE (an assertion); CTL_* set as by ctl_run.
expect_ctl_fail() {
    local d=$1 re=$2 why=""; shift 2
    ctl_run "$@"
    [ "$CTL_RC" = 0 ] && why+="exit status 0; "
    [ "$CTL_RC" = 124 ] && why+="timed out; "
    [ "$(printf '%s\n' "$CTL_ERR" | grep -c .)" = 1 ] || why+="stderr is not one line; "
    [[ "$CTL_ERR" == "runbookctl: "* ]] || why+="stderr does not start with 'runbookctl: '; "
    [[ "$CTL_ERR" =~ $re ]] || why+="stderr does not match /$re/; "
    if [ -z "$why" ]; then pass "$d (status $CTL_RC: $CTL_ERR)"; return 0; fi
    fail "$d: ${why}status $CTL_RC, stderr '$CTL_ERR' from: runbookctl $*"
    return 1
}
# json_rows: reads --json output on stdin, either one array or a stream of objects (one per
# line), and prints it as one compact JSON array; fails on anything that is not JSON.
json_rows() {
    jq -c -s 'if length == 1 and (.[0] | type) == "array" then .[0] else . end'
}
# has_ansi FILE: true when FILE holds an ANSI escape (ESC).
has_ansi() { grep -q $'\e' "$1"; }
# nonempty_lines: the number of non-blank lines on stdin.
nonempty_lines() { grep -c '[^[:space:]]' || true; }

# ---------------------------------------------------------------- test certificates (Azure, notify)

# make_test_certs DIR CN-PREFIX: a test CA (DIR/ca.pem, ca.key; CN "CN-PREFIX-ca", 2 days) and a
#     server certificate it signed (DIR/server.pem, server.key; CN 127.0.0.1, subjectAltName
#     IP:127.0.0.1,DNS:localhost). openssl's output goes to stdout/stderr; returns its failure.
make_test_certs() {
    (
        mkdir -p "$1" && cd "$1" || exit 1
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=$2-ca" &&
        openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 &&
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' > server.ext &&
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \
            -extfile server.ext
    )
}

# ---------------------------------------------------------------- Azure (tests/integration/test-azure-*.sh)
#
# azure_fake_up [CONFIG_JSON]: makes a CA and a server certificate (openssl), starts
#     tests/fake-azure/fake_azure.py (HTTPS identity platform + Resource Manager, HTTP IMDS) on
#     127.0.0.1 with CONFIG_JSON (default '{}'), and exports CREDENTIALS_DIRECTORY=$T/creds for the
#     daemon. Sets AZ_DIR AZ_URL (https://127.0.0.1:PORT) AZ_IMDS (http://127.0.0.1:PORT) AZ_CA.
# azure_fake_config JSON: replaces the fake's configuration (it re-reads its file on change).
# azure_fake_state: the fake's state.json (request log, token requests, run commands, deleted).
# azure_cred NAME VALUE: writes a credential for the daemon ($CREDENTIALS_DIRECTORY/NAME).
# azure_client_cert NAME [DAYS]: a self-signed client certificate: $AZ_DIR/NAME.pem (the
#     certificate, for the fake) and credential NAME (certificate + key); DAYS -1: expired.
# azure_target NAME VM IDENTITY_JSON: targets/NAME.json for VM on the fake, e.g.
#     azure_target web vm-1 '{"tenant":"t1","client_id":"app","client_secret":"cred:sp"}'
# azure_runbook NAME TARGET COMMAND [TIMEOUT]: a runbook with one approval-free step.
# azure_assert_no_secrets SECRET: no secret or token in the journal, logs, store, D-Bus properties.
AZ_DIR="" AZ_URL="" AZ_IMDS="" AZ_CA=""
AZ_SUB=00000000-0000-0000-0000-00000000c0de AZ_RG=rg-test
azure_fake_up() {
    local py cfg=${1:-}
    [ -n "$cfg" ] || cfg='{}'
    py=$(command -v /usr/bin/python3 || command -v python3) || die "python3 missing: run tools/setup.sh"
    AZ_DIR="$T/azure"
    mkdir -p "$AZ_DIR" "$T/creds"
    chmod 700 "$T/creds"
    make_test_certs "$AZ_DIR" fake-azure >"$T/azure-certs.log" 2>&1 ||
        { cat "$T/azure-certs.log"; die "cannot make the fake's certificates"; }
    AZ_CA="$AZ_DIR/ca.pem"
    printf '%s\n' "$cfg" > "$AZ_DIR/config.json"
    bg "$py" "$SOURCE_ROOT/tests/fake-azure/fake_azure.py" --dir "$AZ_DIR" --cert "$AZ_DIR/server.pem" \
        --key "$AZ_DIR/server.key" --config "$AZ_DIR/config.json" 2>"$T/fake-azure.log"
    for _ in $(seq 100); do [ -s "$AZ_DIR/ports.json" ] && break; sleep 0.1; done
    [ -s "$AZ_DIR/ports.json" ] || { cat "$T/fake-azure.log"; die "the Azure fake did not start"; }
    AZ_URL="https://127.0.0.1:$(jq -r .https "$AZ_DIR/ports.json")"
    AZ_IMDS="http://127.0.0.1:$(jq -r .imds "$AZ_DIR/ports.json")"
    CREDENTIALS_DIRECTORY="$T/creds"
    export CREDENTIALS_DIRECTORY
    note "Azure fake at $AZ_URL (IMDS $AZ_IMDS)"
}
azure_fake_config() {
    printf '%s\n' "$1" > "$AZ_DIR/config.json.new" && mv "$AZ_DIR/config.json.new" "$AZ_DIR/config.json"
    sleep 0.05   # a different mtime for the next change
}
azure_fake_state() { cat "$AZ_DIR/state.json"; }
azure_cred() { printf '%s' "$2" > "$CREDENTIALS_DIRECTORY/$1"; chmod 600 "$CREDENTIALS_DIRECTORY/$1"; }
azure_client_cert() {
    local n=$1 days=${2:-2}
    (
        cd "$AZ_DIR" || exit 1
        openssl req -x509 -newkey rsa:2048 -nodes -keyout "$n.key" -out "$n.tmp.pem" -days 2 -subj "/CN=$n" &&
        openssl x509 -in "$n.tmp.pem" -signkey "$n.key" -days "$days" -out "$n.pem"
    ) >>"$T/azure-certs.log" 2>&1 || die "cannot make client certificate $n"
    cat "$AZ_DIR/$n.pem" "$AZ_DIR/$n.key" > "$CREDENTIALS_DIRECTORY/$n"
    chmod 600 "$CREDENTIALS_DIRECTORY/$n"
}
azure_target() {
    jq -n --arg vm "$2" --arg sub "$AZ_SUB" --arg rg "$AZ_RG" --arg url "$AZ_URL" --arg imds "$AZ_IMDS" \
          --arg ca "$AZ_CA" --argjson id "$3" \
        '{connector: "azure", subscription: $sub, resource_group: $rg, vm: $vm, authority: $url,
          resource_manager: $url, imds: $imds, ca_file: $ca} + $id' > "$CONFIG_DIR/targets/$1.json"
}
# azure_assert_no_secrets SECRET: neither SECRET nor any of the fake's access tokens is in the
#     journal (the daemon's records), the daemon's log, the store, or any D-Bus property.
azure_assert_no_secrets() {
    local path
    journal _PID="$DAEMON_PID" > "$T/journal.json"
    journal RUNBOOK_CONNECTOR=azure >> "$T/journal.json"
    assert_true "journal records were read ($(wc -l < "$T/journal.json"))" test -s "$T/journal.json"
    assert_false "the client secret is not in the journal" grep -qF "$1" "$T/journal.json"
    assert_false "no access token is in the journal" grep -q 'fake-[0-9a-f]\{48\}' "$T/journal.json"
    assert_false "the client secret is not in the daemon's log" grep -qF "$1" "$DAEMON_LOG"
    assert_false "no access token is in the daemon's log" grep -q 'fake-[0-9a-f]\{48\}' "$DAEMON_LOG"
    assert_false "the client secret is not in the store" sh -c "strings '$STATE_DIR/data.mdb' | grep -qF '$1'"
    assert_false "no access token is in the store" sh -c "strings '$STATE_DIR/data.mdb' | grep -q 'fake-[0-9a-f]\{48\}'"
    for path in $(busctl --system tree --list "$BUS_NAME" 2>/dev/null); do
        busctl --system --no-pager introspect "$BUS_NAME" "$path" 2>/dev/null
    done > "$T/properties.txt"
    busctl --system --json=short call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" ListTargets >> "$T/properties.txt" 2>&1
    assert_true "D-Bus properties were read ($(wc -l < "$T/properties.txt") values)" test -s "$T/properties.txt"
    assert_false "the client secret is in no D-Bus property" grep -qF "$1" "$T/properties.txt"
    assert_false "no access token is in any D-Bus property" grep -q 'fake-[0-9a-f]\{48\}' "$T/properties.txt"
}
azure_runbook() {
    jq -n --arg t "$2" --arg run "$3" --argjson timeout "${4:-60}" \
        '{description: "azure test", target: $t,
          steps: [{name: "remote", run: $run, approval: "none", timeout: $timeout}]}' > "$CONFIG_DIR/runbooks/$1.json"
}


# ---------------------------------------------------------------- notification receiver (webhooks)
#
# notify_receiver_up [CONFIG_JSON]: makes a CA and a server certificate in $T/notify
#     (make_test_certs), starts tests/notify-receiver/receiver.py (plain HTTP and HTTPS on
#     127.0.0.1, any method on any path) with CONFIG_JSON (default '{}'; see the receiver's
#     docstring), its stderr to $T/notify-receiver.log. Sets and exports NR_DIR ($T/notify,
#     world-readable), NR_HTTP (http://127.0.0.1:PORT), NR_HTTPS (https://127.0.0.1:PORT), NR_CA.
#     Config: {"paths": {"/hook": {"status": 200, "faults": [F, ...]}}, "default": {"status": 200}},
#     a fault F (one per request to that path, in order): {"status": 500}, {"status": 429,
#     "retry_after": 2}, {"delay": 5} (then the path's status), {"close": true} (no answer).
# notify_receiver_config JSON: replaces the receiver's config (it re-reads its file on change; fault
#     counters restart for the paths whose "faults" changed).
# notify_requests: the requests received so far, one JSON line each ("" when none): n, time,
#     method, path, scheme, headers (lowercased names), body (parsed JSON, else text), body_raw_len,
#     answer (status, null: closed without one), fault (null or e.g. "status 500", "delay 5 (client
#     gone)", "close"), connection (an id per TCP connection). A line is written once the request is
#     answered (a delayed one after later ones: "n" is the order of arrival).
# notify_wait_requests N [TIMEOUT] [JQ-FILTER]: waits (TIMEOUT s, default 20) until JQ-FILTER
#     (default '.', e.g. 'select(.answer == 200)') gives at least N results over the request lines;
#     returns 1 if it does not (the caller asserts).
# free_tcp_port: a TCP port on 127.0.0.1 where nothing listens (a "connection refused" sink; nothing
#     holds it, so use it soon).
NR_DIR="" NR_HTTP="" NR_HTTPS="" NR_CA=""
notify_receiver_up() {
    local py cfg=${1:-}
    [ -n "$cfg" ] || cfg='{}'
    py=$(command -v /usr/bin/python3 || command -v python3) || die "python3 missing: run tools/setup.sh"
    NR_DIR="$T/notify"
    mkdir -p "$NR_DIR"
    make_test_certs "$NR_DIR" notify-receiver >"$T/notify-certs.log" 2>&1 ||
        { cat "$T/notify-certs.log"; die "cannot make the notification receiver's certificates"; }
    # the daemon's unprivileged user reads the CA (the keys stay private)
    chmod 755 "$NR_DIR" && chmod 644 "$NR_DIR/ca.pem" "$NR_DIR/server.pem"
    NR_CA="$NR_DIR/ca.pem"
    printf '%s\n' "$cfg" > "$NR_DIR/config.json"
    rm -f "$NR_DIR/ports.json"
    bg "$py" "$SOURCE_ROOT/tests/notify-receiver/receiver.py" --dir "$NR_DIR" --config "$NR_DIR/config.json" \
        --cert "$NR_DIR/server.pem" --key "$NR_DIR/server.key" 2>"$T/notify-receiver.log"
    for _ in $(seq 100); do [ -s "$NR_DIR/ports.json" ] && break; sleep 0.1; done
    [ -s "$NR_DIR/ports.json" ] || { cat "$T/notify-receiver.log"; die "the notification receiver did not start"; }
    NR_HTTP="http://127.0.0.1:$(jq -r .http "$NR_DIR/ports.json")"
    NR_HTTPS="https://127.0.0.1:$(jq -r .https "$NR_DIR/ports.json")"
    export NR_DIR NR_HTTP NR_HTTPS NR_CA
    note "notification receiver at $NR_HTTP and $NR_HTTPS (CA $NR_CA)"
}
# notify_receiver_config JSON: atomically replaces the receiver's config.
notify_receiver_config() {
    printf '%s\n' "$1" > "$NR_DIR/config.json.new" && mv "$NR_DIR/config.json.new" "$NR_DIR/config.json"
    sleep 0.05   # a different mtime for the next change
}
# notify_requests: requests.jsonl (nothing when no request came yet).
notify_requests() { cat "$NR_DIR/requests.jsonl" 2>/dev/null || true; }
# notify_wait_requests N [TIMEOUT] [JQ-FILTER]: waits until JQ-FILTER yields N results; 1 on timeout.
notify_wait_requests() {
    local n=$1 timeout=${2:-20} filter=${3:-.} c
    for _ in $(seq $((timeout * 10))); do
        c=$(notify_requests | jq -c "$filter" 2>/dev/null | wc -l)
        [ "$c" -ge "$n" ] && return 0
        sleep 0.1
    done
    return 1
}
# free_tcp_port: prints a port on 127.0.0.1 that nothing listens on (bound to port 0, then closed).
free_tcp_port() {
    local py
    py=$(command -v /usr/bin/python3 || command -v python3) || die "python3 missing: run tools/setup.sh"
    "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# ---------------------------------------------------------------- ssh (tests/integration/test-ssh-*.sh)

MSG_STEP_RESULT=d10897ff38f94074bd229f5f81ebcead
MSG_STEP_STARTING=3c8a86b9f3ac4bb88c1ad836d792a56c
MSG_HOST_EXECUTING=17d46890caf449cba665d6cb005e2989
MSG_HOST_RESULT=f2a554bd7bf24053bc4415a1c750da78

# require_sshd: dies unless the testbed runs an sshd (TESTBED_SSH_*).
require_sshd() {
    [ -n "${TESTBED_SSH_PORT:-}" ] || die "the testbed has no sshd (TESTBED_SSH_PORT unset)"
}
# write_ssh_target NAME [JQ-FILTER]: targets/NAME.json for the testbed's sshd (host, port, user,
# identity: the testbed's client key, known_hosts: its pinned host key), changed by JQ-FILTER
# (e.g. '.port = 1' or '.identity = "/x"').
write_ssh_target() {
    local name=$1 filter=${2:-.}
    require_sshd
    jq -n --arg h "$TESTBED_SSH_HOST" --argjson p "$TESTBED_SSH_PORT" --arg u "$TESTBED_SSH_USER" \
        --arg k "$TESTBED_SSH_KEY" --arg kh "$TESTBED_SSH_KNOWN_HOSTS" \
        '{connector: "ssh", host: $h, port: $p, user: $u, identity: $k, known_hosts: $kh}' |
        jq "$filter" > "$CONFIG_DIR/targets/$name.json" || die "write_ssh_target $name: bad filter"
}
# ssh_peer_up PEER: starts another SSH server (dropbear, tinyssh) in the testbed and sets its
# TESTBED_<PEER>_PORT/USER/KNOWN_HOSTS (tests/testbed.sh peer-up).
ssh_peer_up() {
    local out
    out=$(bash "$SOURCE_ROOT/tests/testbed.sh" peer-up "$TESTBED_DIR" "$1" 2>&1) || die "peer-up $1: $out"
    eval "$(grep '^export TESTBED_' <<<"$out")"
}
# write_peer_target NAME PEER [JQ-FILTER]: targets/NAME.json for that server, as write_ssh_target.
write_peer_target() {
    local name=$1 V; V=$(tr '[:lower:]' '[:upper:]' <<<"$2")
    local port_var="TESTBED_${V}_PORT" user_var="TESTBED_${V}_USER" kh_var="TESTBED_${V}_KNOWN_HOSTS"
    [ -n "${!port_var:-}" ] || die "write_peer_target: no $2 (ssh_peer_up $2 first)"
    jq -n --arg h 127.0.0.1 --argjson p "${!port_var}" --arg u "${!user_var}" \
        --arg k "$TESTBED_SSH_KEY" --arg kh "${!kh_var}" \
        '{connector: "ssh", host: $h, port: $p, user: $u, identity: $k, known_hosts: $kh}' |
        jq "${3:-.}" > "$CONFIG_DIR/targets/$name.json" || die "write_peer_target $name: bad filter"
}
# write_ssh_runbook NAME TARGET STEP-COMMAND... : a runbook of approval-free steps on TARGET,
# one per command (each a shell command line; no parameters).
write_ssh_runbook() {
    local name=$1 target=$2; shift 2
    printf '%s\n' "$@" | jq -R . | jq -s --arg t "$target" \
        '{description: "ssh test", target: $t,
          steps: [to_entries[] | {name: "step \(.key)", run: .value, approval: "none"}]}' \
        > "$CONFIG_DIR/runbooks/$name.json"
}
# step_result REF N FIELD: FIELD (e.g. RUNBOOK_CONNECTION, RUNBOOK_ERROR) of the last result record
# of step N of the session with reference REF ("" when absent).
step_result() {
    journal_wait 1 RUNBOOK_REFERENCE="$1" RUNBOOK_STEP="$2" MESSAGE_ID=$MSG_STEP_RESULT >/dev/null
    journal RUNBOOK_REFERENCE="$1" RUNBOOK_STEP="$2" MESSAGE_ID=$MSG_STEP_RESULT | tail -n 1 | jq -r ".$3 // empty"
}
# wait_gone ERE [TIMEOUT]: waits until no process's command line matches ERE (pgrep -f);
# returns 1 if some still does.
wait_gone() {
    local t
    for t in $(seq $(( ${2:-10} * 10 ))); do pgrep -f -- "$1" >/dev/null || return 0; sleep 0.1; done
    return 1
}
# wait_file FILE [TIMEOUT]: waits until FILE exists; returns 1 if it does not.
wait_file() {
    local t
    for t in $(seq $(( ${2:-10} * 10 ))); do [ -e "$1" ] && return 0; sleep 0.1; done
    return 1
}

_lib_init
