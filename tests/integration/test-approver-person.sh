#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue #11 item 4: who counts as an approver. The person behind a call is its audit login uid
# (sudo keeps it), else its uid; four eyes and M-of-N count persons, not uids. Root with no
# login uid — a service, or a process an earlier local step left behind — cannot approve unless
# runbookd.json says "allow_unattended_root_approval": true. Decisions keep both uids
# (Step.Decisions, the journal, runbookctl show). An ordinary user's login uid counts for nothing:
# a process that has none may set its own, so alice claiming bob's login is still alice.
# Before the fix, root skipped all of this: the
# process step 0 left behind approved step 1 and it ran, alice approved her own session through
# sudo, and two admins through sudo counted as one approver (uid 0).
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_loginuid
require_runbookctl

BOB_UID=$(id -u "$BOB") ALICE_UID=$(id -u "$ALICE")

# forge_login LOGIN USER PATH IFACE METHOD [SIG ARGS...]: a call by USER from a process that set
# its own login uid to LOGIN's (any process that has none may, once, without privileges)
forge_login() {
    local login=$1 u=$2; shift 2
    sh -c '{ echo "$0" > /proc/self/loginuid; } 2>/dev/null; exec "$@"' "$(id -u "$login")" \
        setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" \
        busctl --system --no-pager call "$BUS_NAME" "$@"
}
MSG_APPROVED=8de48586e7594676831e72346ec10213

# ---- a root process a step left behind (no login uid) tries to approve the next gate
cat > "$WORK/leftover.sh" <<EOF
#!/bin/sh
# started by step 0 with setsid and left running: root, no login uid, like runbookd
: > $WORK/detached  # step 0 waits for this: until setsid, runbookd's end-of-step kill reaches us
export DBUS_SYSTEM_BUS_ADDRESS='$DBUS_SYSTEM_BUS_ADDRESS'
for i in \$(seq 600); do
    if [ -s $WORK/sid ]; then
        p=/org/runbookd1/session/\$(cat $WORK/sid)/step/1
        if [ "\$(busctl --system get-property org.runbookd1 \$p org.runbookd1.Step State 2>/dev/null)" = 's "waiting_approval"' ]; then
            busctl --system call org.runbookd1 \$p org.runbookd1.Step Approve s leftover > $WORK/leftover.tmp 2>&1
            echo "rc=\$?" >> $WORK/leftover.tmp
            mv $WORK/leftover.tmp $WORK/leftover.out
            exit 0
        fi
    fi
    sleep 0.1
done
echo "gave up waiting" > $WORK/leftover.out
EOF
chmod 755 "$WORK/leftover.sh"
write_runbook leftover <<EOF
{ "steps": [
    { "name": "leaves a process", "run": "setsid -f $WORK/leftover.sh; while ! test -e $WORK/detached; do sleep 0.1; done",
      "approval": "none" },
    { "name": "gated", "run": "echo ran >> $WORK/gated.marker" } ] }
EOF
install_runbook two-approvers
start_daemon

id=$(start_session "$ALICE" leftover "$(ref leftover)") || die "StartSession failed"
echo "$id" > "$WORK/sid"
wait_step_state "$id" 1 waiting_approval
wait_file "$WORK/leftover.out" 60 || die "the leftover process wrote nothing"
out=$(cat "$WORK/leftover.out")
assert_match "$out" "needs the approval of a person: this caller runs as root" "the leftover root process is refused (ApproverUnidentified)"
assert_match "$out" "rc=1" "its call failed"
assert_eq "$(step_prop "$id" 1 State)" waiting_approval "step 1 still waits for approval"
assert_eq "$(step_prop "$id" 1 Decisions)" "[]" "step 1 holds no decision"
assert_false "step 1 did not run" test -e "$WORK/gated.marker"

# ---- four eyes and M-of-N count persons
D="$WORK/d"; mkdir -p "$D"
R=$(ref two)
id=$(start_session "$ALICE" two-approvers "$R" dir "$D") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
S=$(step_path "$id" 0)
expect_error ApproverUnidentified with_login none rb_call root "$S" "$IFACE_STEP" Approve s "root, nobody"
assert_match "$LAST_ERROR_MESSAGE" "allow_unattended_root_approval" "the error says how to allow it"
expect_error SelfApprovalForbidden with_login "$ALICE" rb_call root "$S" "$IFACE_STEP" Approve s "alice through sudo"
expect_error SelfApprovalForbidden forge_login "$BOB" "$ALICE" "$S" "$IFACE_STEP" Approve s "alice claims bob's login"
expect_error ApproverUnidentified with_login root rb_call root "$S" "$IFACE_STEP" Approve s "root logged in as root"
assert_eq "$(step_prop "$id" 0 Decisions)" "[]" "refused decisions are not recorded"
expect_ok "bob through sudo approves (1/2)" with_login "$BOB" rb_call root "$S" "$IFACE_STEP" Approve s "bob as root"
expect_error AlreadyApproved rb_call "$BOB" "$S" "$IFACE_STEP" Approve s "bob as bob"
assert_eq "$(step_prop "$id" 0 State)" waiting_approval "one person's approvals leave the step waiting"
assert_false "not run yet" test -e "$D/dangerous.marker"
expect_ok "carol through sudo approves (2/2): two admins as root are two persons" \
    with_login "$CAROL" rb_call root "$S" "$IFACE_STEP" Approve s "carol as root"
wait_session_state "$id" succeeded
assert_eq "$(count_lines "$D/dangerous.marker")" 1 "the step ran once"

dec=$(step_prop "$id" 0 Decisions)
assert_eq "$(jq -c '[.[0][0], .[0][1], .[0][2], .[0][3], .[0][4], .[0][6]]' <<<"$dec")" \
    "[0,$BOB_UID,\"root\",\"$BOB\",\"approve\",1]" "Decisions: uid 0 (root), login uid bob's"
assert_eq "$(jq -r '.[1][3]' <<<"$dec")" "$CAROL" "the second decision is carol's"
assert_eq "$(step_prop "$id" 0 Approvals | jq -c '[.[0][0], .[0][1]]')" '[0,"root"]' "Approvals keeps its shape (uid, user)"
rec=$(journal_wait 2 RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_APPROVED >/dev/null;
      journal RUNBOOK_REFERENCE="$R" MESSAGE_ID=$MSG_APPROVED | head -n 1)
assert_eq "$(jq -r '"\(.RUNBOOK_APPROVER_UID) \(.RUNBOOK_APPROVER) \(.RUNBOOK_APPROVER_LOGIN_UID) \(.RUNBOOK_APPROVER_LOGIN)"' <<<"$rec")" \
    "0 root $BOB_UID $BOB" "the journal record has both uids"
assert_eq "$(jq -r .MESSAGE <<<"$rec")" "[APPROVE_STEP] Step 0 (dangerous) in session $id approved by $BOB (as root) (1/2)" \
    "the journal message names the person"
expect_ctl_ok "runbookctl show" "$CAROL" show "$id"
assert_match "$CTL_OUT" "approved by $BOB \\(as root\\) \\(uid 0\\)" "runbookctl show names the person and the uid"
expect_ctl_ok "runbookctl show --json" "$CAROL" show "$id" --json=short
assert_eq "$(jq -c '.steps[0].approvals[0] | [.uid, .login_uid, .login_user]' <<<"$CTL_OUT")" "[0,$BOB_UID,\"$BOB\"]" \
    "runbookctl show --json has the login uid"

# ---- a session alice starts through sudo is hers
id=$(with_login "$ALICE" start_session root two-approvers "$(ref sudo)" dir "$D") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
assert_eq "$(session_prop "$id" CreatedByUid) $(session_prop "$id" CreatedByLoginUid) $(session_prop "$id" CreatedByLogin)" \
    "0 $ALICE_UID $ALICE" "the session records alice's login uid"
expect_error SelfApprovalForbidden rb_call "$ALICE" "$(step_path "$id" 0)" "$IFACE_STEP" Approve s "alice as alice"
rec=$(journal_wait 1 RUNBOOK_SESSION="$id" RUNBOOK_CREATOR_LOGIN="$ALICE" >/dev/null;
      journal RUNBOOK_SESSION="$id" RUNBOOK_CREATOR_LOGIN="$ALICE" | head -n 1)
assert_eq "$(jq -r .RUNBOOK_CREATOR_LOGIN_UID <<<"$rec")" "$ALICE_UID" "the start record has the creator's login uid"
note "restart: what was recorded stays"
restart_daemon
assert_eq "$(session_prop "$id" CreatedByLoginUid)" "$ALICE_UID" "CreatedByLoginUid survives a restart"
expect_error SelfApprovalForbidden rb_call "$ALICE" "$(step_path "$id" 0)" "$IFACE_STEP" Approve s "alice as alice"
expect_ok "root with no login uid may reject (that runs nothing)" \
    with_login none rb_call root "$(step_path "$id" 0)" "$IFACE_STEP" Reject s "no"
wait_session_state "$id" rejected

# ---- allowed in runbookd.json: root with no login uid approves, as uid 0
kill_daemon -TERM
write_config '{ "allow_unattended_root_approval": true }'
start_daemon
id=$(start_session "$ALICE" two-approvers "$(ref allowed)" dir "$D") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
expect_ok "root with no login uid approves when allowed" \
    with_login none rb_call root "$(step_path "$id" 0)" "$IFACE_STEP" Approve s "unattended"
assert_eq "$(step_prop "$id" 0 Decisions | jq -c '[.[0][0], .[0][1], .[0][3]]')" '[0,4294967295,""]' \
    "the decision records no login uid"
expect_error AlreadyApproved with_login none rb_call root "$(step_path "$id" 0)" "$IFACE_STEP" Approve s "again"
finish
