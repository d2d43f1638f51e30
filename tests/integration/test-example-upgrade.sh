#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The example runbook examples/runbooks/demo-service-upgrade.json (issue #13), as shipped: a
# version precheck that captures, a backup named by the captured version, a drain, an upgrade
# under a condition, a health postcheck, a rollback restoring the backup, a finally step. It loads;
# the upgrade succeeds; it is skipped when the version is current; when it fails, the rollback
# (approved by a person) restores the backup and the session ends failed.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_runbookctl

RB=demo-service-upgrade
cp "$SOURCE_ROOT/examples/runbooks/$RB.json" "$CONFIG_DIR/runbooks/" || die "no example runbook $RB"
start_daemon

# approve each step that waits, as rbtest-bob, until the session ends; prints its end state
approve_until_end() {
    local id=$1 st n=0
    for _ in $(seq 600); do
        st=$(session_prop "$id" State)
        case "$st" in
            succeeded|failed|rejected|cancelled|interrupted) echo "$st"; return 0 ;;
            waiting_approval)
                n=$((n + 1)); [ $n -le 10 ] || return 1
                rb_call "$BOB" "$(session_path "$id")" "$IFACE_SESSION" Approve s "ok" >/dev/null || return 1 ;;
        esac
        sleep 0.1
    done
    return 1
}

D="$WORK/svc"; mkdir -p "$D"; chmod 777 "$D"
R=$(ref up)
id=$(start_session "$ALICE" $RB "$R" workdir "$D") || die "StartSession failed"
wait_step_state "$id" 3 waiting_approval
assert_eq "$(step_prop "$id" 1 Command)" "cp '$D'/version '$D'/version.bak-'2.3.0' && echo saved '2.3.0'" \
    "the backup step's command has the captured version"
assert_eq "$(approve_until_end "$id")" succeeded "the upgrade succeeds"
assert_eq "$(cat "$D/version")" 2.4.1 "the service is at 2.4.1"
assert_true "the backup of 2.3.0 is there" test -e "$D/version.bak-2.3.0"
assert_false "it is back in the pool" test -e "$D/drained"
assert_eq "$(session_prop "$id" Rollback)" none "no rollback"
assert_eq "$(step_prop "$id" 4 Retries) $(step_prop "$id" 4 RetryDelay)" "2 3000000" "the health check may be retried"
assert_eq "$(step_prop "$id" 4 Attempt)" 1 "and passed at once"

R=$(ref current)
id=$(start_session "$ALICE" $RB "$R" workdir "$D") || die "StartSession failed"
assert_eq "$(approve_until_end "$id")" succeeded "a second run succeeds"
assert_eq "$(step_prop "$id" 3 State)" skipped "the upgrade is skipped: the version is current"
assert_match "$(step_prop "$id" 3 Error)" "2\.4\.1" "saying which version it saw"

D="$WORK/svc2"; mkdir -p "$D"; chmod 777 "$D"
R=$(ref fail)
id=$(start_session "$ALICE" $RB "$R" workdir "$D" simulate_failure yes) || die "StartSession failed"
assert_eq "$(approve_until_end "$id")" failed "with a failing upgrade the session fails"
assert_eq "$(session_prop "$id" Rollback)" succeeded "the rollback succeeded"
assert_eq "$(step_prop "$id" 5 State)" succeeded "the backup was restored"
assert_eq "$(cat "$D/version")" 2.3.0 "the service is at 2.3.0 again"
assert_false "it is back in the pool" test -e "$D/drained"
assert_match "$(session_prop "$id" Error)" "main 3 \(upgrade\) failed" "Error says what failed"
finish
