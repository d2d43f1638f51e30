#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Secret parameters (issue #15, item 3) on Azure (tests/fake-azure): a credential and a literal
# value reach the script only as Run Command "protectedParameters" (the fake runs them as
# environment variables and refuses a PUT that carries a protected value in the clear too: in
# the script or in "parameters"); the output is masked; neither value reaches the journal, the
# daemon's log, the store or a D-Bus property. The classic action API, which has no protected
# parameters, refuses the step instead of sending them.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

SECRET="sp-s3cr3t-$$-$RANDOM"
LIT="az-Lit s3cr3t-'v';\$(touch /tmp/pwned-az)"
CRED="az-cred-T0ken-2718"
CONFIG='{"tenants": {"t1": {"clients": {"app-1": {"secret": "'"$SECRET"'"}}}},
  "vms": {"vm-1": {"subscription": "'"$AZ_SUB"'", "resource_group": "'"$AZ_RG"'"}}}'
azure_fake_up "$CONFIG"
azure_cred sp "$SECRET"
azure_cred api-token "$CRED"
export RUNTIME_DIRECTORY="$T/run"
mkdir -p "$RUNTIME_DIRECTORY"; chmod 700 "$RUNTIME_DIRECTORY"
SP='{"tenant": "t1", "client_id": "app-1", "client_secret": "cred:sp"}'
azure_target az1 vm-1 "$SP"
azure_target azact vm-1 "$(jq -c '. + {api: "action"}' <<<"$SP")"
for t in az1 azact; do
    jq -n --arg t "$t" '{description: "azure secrets", target: $t,
        parameters: {token: {secret: true, credentials: ["api-token"]}, lit: {secret: true}},
        steps: [{name: "remote", approval: "none", timeout: 60,
                 run: "printf %s \"$RUNBOOK_SECRET_TOKEN/$RUNBOOK_SECRET_LIT\" | sha256sum | cut -c1-64; echo \"t=$RUNBOOK_SECRET_TOKEN l=$RUNBOOK_SECRET_LIT\"; echo \"e=$RUNBOOK_SECRET_LIT\" >&2"}]}' \
        > "$CONFIG_DIR/runbooks/secret-$t.json"
done
GO="$T/go-az"
jq -n --arg go "$GO" '{description: "a remote run followed across a reboot", target: "az1",
    parameters: {lit: {secret: true}},
    steps: [{name: "slow", approval: "none", timeout: 60,
             run: ("while [ ! -e " + $go + " ]; do sleep 0.1; done; echo \"l=$RUNBOOK_SECRET_LIT\"")}]}' \
    > "$CONFIG_DIR/runbooks/secret-slow.json"
start_daemon

id=$(start_session "$ALICE" secret-az1 "$(ref m)" token cred:api-token lit "$LIT") || die "StartSession failed"
wait_session_state "$id" succeeded 30
get_output "$id" 0
sum=$(printf %s "$CRED/$LIT" | sha256sum | cut -c1-64)
assert_eq "$OUT_STDOUT" "$(printf '%s\nt=*** l=***' "$sum")" "the script had both values (as protected parameters); stdout masked"
assert_eq "$OUT_STDERR" "e=***" "stderr masked"
assert_false "the literal value was data, never code" test -e /tmp/pwned-az
assert_eq "$(azure_fake_state | jq -c '[.protected[] | select(.id | contains("/runCommands/runbookd-'"$id"'-0-")) | .names]')" \
    '[["RUNBOOK_SECRET_LIT","RUNBOOK_SECRET_TOKEN"]]' "the PUT carried both as protectedParameters"
assert_eq "$(azure_fake_state | jq .protected_in_clear)" 0 "no protected value was also sent in the clear"
assert_false "the fake's state (what Azure would echo) holds no value" \
    grep -qF -e "$CRED" -e "$LIT" "$AZ_DIR/state.json"

# the action API: refused, not run, nothing sent
n_before=$(azure_fake_state | jq '.requests | length')
id2=$(start_session "$ALICE" secret-azact "$(ref a)" token cred:api-token lit "$LIT") || die "StartSession 2 failed"
wait_session_state "$id2" failed 30
assert_match "$(step_prop "$id2" 0 Error)" "classic Run Command API" "the action API refuses a session with secrets"
assert_eq "$(azure_fake_state | jq '[.requests[] | select((.path // "") | contains("/runCommand"))] | length')" \
    "$(azure_fake_state | jq '[.requests[:'"$n_before"'][] | select((.path // "") | contains("/runCommand"))] | length')" \
    "no run command was posted"

# a remote run followed across a reboot (the sealing key gone): its output cannot be masked, so
# none of it is kept (fail closed), and it says why
id3=$(start_session "$ALICE" secret-slow "$(ref slow)" lit "$LIT") || die "StartSession 3 failed"
wait_step_state "$id3" 0 running
for _ in $(seq 100); do
    [ "$(azure_fake_state | jq '[.protected[] | select(.id | contains("/runCommands/runbookd-'"$id3"'-0-"))] | length')" = 1 ] && break
    sleep 0.1
done
kill_daemon -9
rm -f "$RUNTIME_DIRECTORY/secret-seal.key"
start_daemon
touch "$GO"
wait_session_state "$id3" succeeded 30
get_output "$id3" 0
assert_match "$OUT_STDOUT" "^\(output withheld: runbookd was restarted while the command ran" \
    "the output of a run followed without its secrets is withheld, not kept in clear"

for v in "$LIT" "$CRED"; do
    azure_assert_no_secrets "$v"
done
azure_assert_no_secrets "$SECRET"
finish
