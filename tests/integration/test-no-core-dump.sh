#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# runbookd holds secrets in memory (client secrets, keys, access tokens): it runs with a core
# limit of 0 (soft and hard) and non-dumpable (PR_SET_DUMPABLE 0), so no core dump can carry them
# and another process of the same uid without CAP_SYS_PTRACE cannot read its memory or follow
# /proc/PID/exe (issue #11, item 14). runbookd runs here without CAP_SYS_PTRACE in its bounding
# set, so that a root process without it may look at it exactly when it is dumpable; a sleep(1)
# started the same way is the control. The daemon still works and its journal records still
# carry the trusted fields runbookctl logs matches on (_UID, _COMM).
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# the inheritable set too: where it is not empty (systemd-nspawn fills it), root regains from
# it at exec what the bounding set took away
NOPTRACE=(setpriv --inh-caps=-sys_ptrace --bounding-set=-sys_ptrace)
REAL_RUNBOOKD=$RUNBOOKD
RUNBOOKD="$T/runbookd-noptrace"
printf '#!/bin/sh\nexec setpriv --inh-caps=-sys_ptrace --bounding-set=-sys_ptrace %s "$@"\n' "$REAL_RUNBOOKD" > "$RUNBOOKD"
chmod 755 "$RUNBOOKD"
install_runbook echo
start_daemon
assert_eq "$(readlink "/proc/$DAEMON_PID/exe")" "$REAL_RUNBOOKD" "runbookd is pid $DAEMON_PID"

# core limit: 0 and 0
assert_eq "$(prlimit --pid "$DAEMON_PID" --core --output=SOFT,HARD --noheadings | tr -s ' ' | sed 's/^ //')" "0 0" \
    "core file size limit of runbookd: soft 0, hard 0"
assert_match "$(grep '^Max core file size' "/proc/$DAEMON_PID/limits")" "^Max core file size +0 +0 " "/proc/PID/limits agrees"

# non-dumpable: a process of the same uid and capabilities (less CAP_SYS_PTRACE) may not look in
"${NOPTRACE[@]}" sleep 30 & CONTROL=$!
_BG_PIDS+=("$CONTROL")
sleep 0.3
assert_true "control: a dumpable process started the same way can be looked at" \
    "${NOPTRACE[@]}" readlink "/proc/$CONTROL/exe"
assert_false "runbookd's /proc/PID/exe cannot be followed without CAP_SYS_PTRACE (non-dumpable)" \
    "${NOPTRACE[@]}" readlink "/proc/$DAEMON_PID/exe"
assert_false "runbookd's memory cannot be opened without CAP_SYS_PTRACE (non-dumpable)" \
    "${NOPTRACE[@]}" sh -c "exec 3< /proc/$DAEMON_PID/mem" 2>/dev/null
kill "$CONTROL" 2>/dev/null

# it still works, and journald still knows who wrote its records
R=$(ref run)
id=$(start_session "$ALICE" echo "$R" value hello) || die "StartSession failed"
wait_session_state "$id" succeeded 20
journal_wait 1 RUNBOOK_REFERENCE="$R" MESSAGE_ID="$MSG_STEP_RESULT" >/dev/null
rec=$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID="$MSG_STEP_RESULT" | head -n 1)
assert_eq "$(jq -r ._COMM <<<"$rec")" runbookd "journal: _COMM=runbookd on runbookd's records"
assert_eq "$(jq -r ._UID <<<"$rec")" "$(stat -c %u "/proc/$DAEMON_PID")" "journal: _UID is runbookd's uid"
finish
