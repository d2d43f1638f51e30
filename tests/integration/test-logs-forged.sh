#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Journal records can be forged: any local user can write a record carrying RUNBOOK_* fields
# (logger --journald). runbookctl logs shows only records runbookd wrote, told by the fields
# journald adds itself (_UID of runbookd, _COMM=runbookd) (issue #11, item 5): forged records
# for a real session, with every RUNBOOK_* field runbookctl matches on (session, runbook,
# reference, store id), written by rbtest-mallory with logger, by rbtest-mallory from a program
# named "runbookd" (_COMM=runbookd, but not runbookd's uid) and by root with logger (runbookd's
# uid, but not _COMM=runbookd), are in the journal but not in runbookctl logs, plain or --json;
# the session's own records are.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

require_runbookctl
install_runbook echo
start_daemon

R=$(ref forged)
id=$(start_session "$ALICE" echo "$R" value hello) || die "StartSession failed"
wait_session_state "$id" succeeded 20
journal_wait 4 RUNBOOK_REFERENCE="$R" >/dev/null
STORE=$(busctl --system get-property "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" StoreId 2>/dev/null | sed -n 's/^s "\(.*\)"$/\1/p')

# forge WHO PROGRAM TAG: a record as runbookd would write it, with MESSAGE "... forged-TAG", sent
# by PROGRAM (logger) as WHO; PROGRAM cat: printed instead
forge() {
    local fields
    fields=$(printf '%s\n' "MESSAGE=[EXECUTE_STEP] Command execution result: success=true exit_status=0 forged-$3" \
        "MESSAGE_ID=$MSG_STEP_RESULT" "PRIORITY=6" "RUNBOOK_SESSION=$id" "RUNBOOK_STEP=0" "RUNBOOK_NAME=echo" \
        "RUNBOOK_REFERENCE=$R" ${STORE:+"RUNBOOK_STORE_ID=$STORE"} "RUNBOOK_SUCCESS=true" "RUNBOOK_EXIT_STATUS=0")
    if [ "$2" = cat ]; then printf '%s\n' "$fields"
    elif [ "$1" = root ]; then "$2" --journald <<<"$fields"
    else setpriv --reuid="$1" --regid="$(id -g "$1")" --init-groups "$2" --journald <<<"$fields"; fi
}
# a program named runbookd (its _COMM) that stays alive while journald reads its /proc entry
# (a sender that is gone by then gets no _COMM at all)
ln -s /usr/bin/python3 "$WORK/runbookd"
cat > "$WORK/send.py" <<'EOS'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(sys.stdin.buffer.read(), "/run/systemd/journal/socket")
time.sleep(1)
EOS
chmod 644 "$WORK/send.py"
forge "$MALLORY" logger mallory
fields=$(forge "$MALLORY" cat mallory-as-runbookd)
setpriv --reuid="$MALLORY" --regid="$(id -g "$MALLORY")" --init-groups "$WORK/runbookd" "$WORK/send.py" <<<"$fields"
forge root logger root-logger
journal_wait 4 RUNBOOK_REFERENCE="$R" MESSAGE_ID="$MSG_STEP_RESULT" >/dev/null
assert_eq "$(journal RUNBOOK_REFERENCE="$R" MESSAGE_ID="$MSG_STEP_RESULT" | jq -r .MESSAGE | grep -c forged-)" 3 \
    "the three forged records are in the journal"
assert_eq "$(journal RUNBOOK_REFERENCE="$R" | jq -r 'select(.MESSAGE | test("forged-mallory-as")) | ._COMM')" runbookd \
    "one of them has _COMM=runbookd"
n_real=$(journal RUNBOOK_REFERENCE="$R" RUNBOOK_SESSION="$id" | jq -r .MESSAGE | grep -vc forged-)

JD=(); [ -n "${TESTBED_JOURNAL_DIR:-}" ] && JD=(--directory="$TESTBED_JOURNAL_DIR")
expect_ctl_ok "logs $id" root logs "$id" "${JD[@]}"
assert_false "logs: no forged record" grep -q forged- <<<"$CTL_OUT"
assert_true "logs: the session's own result record" grep -qF "[EXECUTE_STEP] Command execution result: success=true exit_status=0" <<<"$CTL_OUT"
expect_ctl_ok "logs $id --json=short" root logs "$id" "${JD[@]}" --json=short
recs=$(json_rows <<<"$CTL_OUT") || recs=null
assert_eq "$(jq '[.[] | select(.message | test("forged-"))] | length' <<<"$recs")" 0 "logs --json: no forged record"
assert_eq "$(jq 'length' <<<"$recs")" "$n_real" "logs --json: exactly the session's $n_real records"
assert_eq "$(jq -r '[.[] | .fields._COMM] | unique | join(",")' <<<"$recs")" runbookd "logs --json: every record from runbookd"
finish
