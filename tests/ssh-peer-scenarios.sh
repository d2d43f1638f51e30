# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# The ssh connector's core scenarios against an SSH server other than the testbed's OpenSSH
# (tests/integration/test-ssh-dropbear.sh, test-ssh-tinyssh.sh), sourced after tests/lib.sh:
#   peer_config PEER     (before start_daemon) targets and runbooks for PEER (ssh_peer_up first)
#   peer_scenarios PEER  (after start_daemon) the checks:
# a command's exit status, stdout and stderr come back (the wrapper's line is not in stdout); an
# unknown and a changed host key are refused, naming the fingerprint, and the command does not
# run; timeout and cancel stop the remote command and everything it started (the peer's login user
# has no process left, checked with pgrep on the host) within the
# kill grace, and a command that ignores SIGTERM is killed after it; the next step reuses the
# pooled connection; Target.Check() passes every stage and names the server ('SSH-2.0-…').

# peer_check TARGET: Target.Check() over D-Bus; sets STAGES (JSON array of [stage, verdict, reason])
peer_check() {
    local out
    out=$(bus_error_of rb "$ALICE" --json=short --timeout=60 call "$BUS_NAME" "/org/runbookd1/target/$1" \
          org.runbookd1.Target Check) || { STAGES=""; return 1; }
    STAGES=$(jq -c '.data[0]' <<<"$out")
}
peer_stage() { jq -r --arg s "$1" '.[] | select(.[0] == $s) | .[1]' <<<"$STAGES"; }
peer_reason() { jq -r --arg s "$1" '.[] | select(.[0] == $s) | .[2]' <<<"$STAGES"; }
peer_verdicts() { jq -r 'map(.[0] + "=" + .[1]) | join(" ")' <<<"$STAGES"; }

peer_config() {
    local p=$1 V kh; V=$(tr '[:lower:]' '[:upper:]' <<<"$p"); kh="TESTBED_${V}_KNOWN_HOSTS"
    PEER_USER_NAME=$(eval echo "\$TESTBED_${V}_USER") PEER_PORT=$(eval echo "\$TESTBED_${V}_PORT")
    PD="$WORK/$p"; mkdir -p "$PD"; chmod 777 "$PD"
    pkill -KILL -u "$PEER_USER_NAME" 2>/dev/null || true   # left by an earlier, failed run
    ssh-keygen -q -t ed25519 -N '' -C other -f "$PD/other_host"
    : > "$PD/kh-empty"
    echo "[127.0.0.1]:$PEER_PORT $(cut -d' ' -f1,2 "$PD/other_host.pub")" > "$PD/kh-changed"
    chmod 644 "$PD/kh-empty" "$PD/kh-changed"
    write_peer_target "$p" "$p"
    write_peer_target "$p-unknown" "$p" ".known_hosts = \"$PD/kh-empty\""
    write_peer_target "$p-changed" "$p" ".known_hosts = \"$PD/kh-changed\""
    PEER_FP=$(awk '{print $2" "$3}' "${!kh}" | ssh-keygen -lf - 2>/dev/null | awk '{print $2}')
    write_ssh_runbook "$p-run" "$p" \
        'echo "out $RUNBOOK_SESSION/$RUNBOOK_STEP $RUNBOOK_TARGET"; echo "on stderr" >&2; exit 4'
    jq '.steps[0].expect_exit = 4' "$CONFIG_DIR/runbooks/$p-run.json" > "$PD/rb" && mv "$PD/rb" "$CONFIG_DIR/runbooks/$p-run.json"
    write_ssh_runbook "$p-unknown" "$p-unknown" "touch $PD/unknown.marker"
    write_ssh_runbook "$p-changed" "$p-changed" "touch $PD/changed.marker"
    # the command starts two children, one a shell with a child of its own
    local slow="echo started > $PD/started.\$RUNBOOK_SESSION; sh -c 'sleep 300; :' & sleep 300 & wait"
    jq -n --arg t "$p" --arg c "$slow" '{target: $t, steps: [{name: "slow", run: $c, timeout: 2, approval: "none"}]}' \
        > "$CONFIG_DIR/runbooks/$p-timeout.json"
    write_ssh_runbook "$p-cancel" "$p" "$slow" 'echo after'
    jq -n --arg t "$p" --arg c "trap '' TERM; echo started > $PD/started.\$RUNBOOK_SESSION; sleep 300; true" \
        '{target: $t, steps: [{name: "stubborn", run: $c, timeout: 1, approval: "none"}]}' \
        > "$CONFIG_DIR/runbooks/$p-termproof.json"
    write_ssh_runbook "$p-next" "$p" 'echo next'
}

# peer_procs: the processes of the peer's login user (rbtest-peer, used by nothing else; the
# integration tests run one at a time): a step's command and everything it started
peer_procs() { pgrep -u "$PEER_USER_NAME" || true; }
# peer_started SESSION: waits until the command of SESSION started; prints the count of processes
peer_started() {
    wait_file "$PD/started.$1" 20 || { echo 0; return; }
    sleep 0.3
    peer_procs | wc -l
}
peer_gone() { # SESSION WHAT: the command's processes are gone (within 5 s of the step's end)
    local n=1
    for _ in $(seq 50); do n=$(peer_procs | wc -l); [ "$n" = 0 ] && break; sleep 0.1; done
    assert_eq "$n" 0 "$2: no process of the command is left on the host"
}
peer_took() { # SESSION STEP: usec from start to finish
    echo $(( $(step_prop "$1" "$2" FinishedAt) - $(step_prop "$1" "$2" StartedAt) ))
}

peer_scenarios() {
    local p=$1 R id d err
    # ---- run: status, stdout, stderr, variables
    R=$(ref "$p-run")
    id=$(start_session "$ALICE" "$p-run" "$R") || die "StartSession failed"
    wait_session_state "$id" succeeded 30
    assert_eq "$(step_prop "$id" 0 ExitStatus)" 4 "$p run: exit status 4 (expected)"
    get_output "$id" 0 || die "GetOutput failed"
    assert_eq "$OUT_STDOUT" "out $id/0 $p" "$p run: stdout, without the wrapper's line, variables set"
    assert_eq "$OUT_STDERR" "on stderr" "$p run: stderr"
    assert_eq "$(step_result "$R" 0 RUNBOOK_CONNECTION)" new "$p run: a new connection"

    # ---- host keys: unknown and changed are refused, and nothing runs
    local kind
    for kind in unknown changed; do
        R=$(ref "$p-$kind")
        id=$(start_session "$ALICE" "$p-$kind" "$R") || die "StartSession failed"
        wait_session_state "$id" failed 30
        err=$(step_prop "$id" 0 Error)
        assert_match "$err" "$kind host key" "$p $kind host key: refused ($err)"
        assert_true "$p $kind host key: the error has the server's fingerprint" grep -qF -- "$PEER_FP" <<<"$err"
        assert_false "$p $kind host key: the command did not run" test -e "$PD/$kind.marker"
    done

    # ---- timeout: SIGTERM to the command's own group, everything gone, within the grace
    R=$(ref "$p-timeout")
    id=$(start_session "$ALICE" "$p-timeout" "$R") || die "StartSession failed"
    assert_true "$p timeout: the command and its children run on the host" test "$(peer_started "$id")" -ge 3
    wait_step_state "$id" 0 timed_out 20
    peer_gone "$id" "$p timeout"
    d=$(peer_took "$id" 0)
    assert_true "$p timeout: timed out after 2 s, within the kill grace (${d} usec)" test "$d" -lt 4500000
    assert_eq "$(step_prop "$id" 0 Error)" "timed out after 2s" "$p timeout: Error says so, and nothing else"
    assert_eq "$(step_result "$R" 0 RUNBOOK_SIGNAL)" 15 "$p timeout: the command ended by SIGTERM"

    # ---- cancel
    R=$(ref "$p-cancel")
    id=$(start_session "$ALICE" "$p-cancel" "$R") || die "StartSession failed"
    assert_true "$p cancel: the command and its children run on the host" test "$(peer_started "$id")" -ge 3
    expect_ok "$p cancel: rbtest-alice cancels" rb_call "$ALICE" "$(session_path "$id")" "$IFACE_SESSION" Cancel
    wait_session_state "$id" cancelled 10
    assert_eq "$(step_prop "$id" 0 State)" cancelled "$p cancel: step 0 cancelled"
    assert_eq "$(step_prop "$id" 0 Error)" "cancelled by $ALICE" "$p cancel: Error says so, and nothing else"
    assert_eq "$(step_prop "$id" 1 State)" skipped "$p cancel: step 1 skipped"
    peer_gone "$id" "$p cancel"

    # ---- a command that ignores SIGTERM: SIGKILL after the grace (5 s)
    R=$(ref "$p-termproof")
    id=$(start_session "$ALICE" "$p-termproof" "$R") || die "StartSession failed"
    assert_true "$p TERM-proof: the command runs on the host" test "$(peer_started "$id")" -ge 2
    wait_step_state "$id" 0 timed_out 20
    peer_gone "$id" "$p TERM-proof"
    assert_eq "$(step_result "$R" 0 RUNBOOK_SIGNAL)" 9 "$p TERM-proof: ended by SIGKILL"
    d=$(peer_took "$id" 0)
    assert_true "$p TERM-proof: stopped after timeout + grace (${d} usec)" test "$d" -ge 5500000 -a "$d" -lt 9000000

    # ---- pooled reuse after all that
    R=$(ref "$p-next")
    id=$(start_session "$ALICE" "$p-next" "$R") || die "StartSession failed"
    wait_session_state "$id" succeeded 20
    assert_eq "$(step_result "$R" 0 RUNBOOK_CONNECTION)" reused "$p: the next step reuses the pooled connection"

    # ---- Target.Check(): every stage, and the server's identification
    peer_check "$p" || fail "$p: Check failed: $LAST_ERROR_NAME: $LAST_ERROR_MESSAGE"
    note "$p check: $STAGES"
    assert_eq "$(peer_verdicts)" "resolve=ok connect=ok host-key=ok authenticate=ok run=ok" "$p check: every stage ok"
    PEER_SERVER_ID=$(sed -n "s/.*the server is '\(SSH-2\.0-[^']*\)'.*/\1/p" <<<"$(peer_reason connect)")
    assert_ne "$PEER_SERVER_ID" "" "$p check: connect names the server's identification ($(peer_reason connect))"
    assert_match "$(peer_reason authenticate)" "'$PEER_USER_NAME'" "$p check: authenticate names the user"
}
