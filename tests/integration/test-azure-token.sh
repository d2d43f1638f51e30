#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Azure connector, token-fetch coalescing (against tests/fake-azure, whose token endpoint answers
# this client 2 s late): 8 steps of one identity on 8 VMs (both APIs), started together with a
# cold token cache, send exactly one token request between them, and all run; 5 steps of an
# identity with a wrong secret send exactly one token request too, and all fail with its error
# (AADSTS7000215). Connections are reused: far fewer TLS connections than requests, and a later
# step uses the cached token and a cached connection (no new request, no new connection).
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

SECRET="s3cr3t-$$-$RANDOM"
vms=$(for i in 1 2 3 4 5 6 7 8; do printf '"vm-%s": {},' "$i"; done)
azure_fake_up '{"tenants": {"t1": {"clients": {"app-slow": {"secret": "'"$SECRET"'", "token_delay": 2},
                                              "app-bad": {"secret": "'"$SECRET"'", "token_delay": 2}}}},
  "vms": {'"${vms%,}"'}}'
azure_cred sp "$SECRET"
azure_cred sp-wrong "wrong-$$"
for i in 1 2 3 4 5 6 7 8; do
    api=managed; [ $((i % 2)) = 0 ] && api=action
    azure_target "slow-$i" "vm-$i" '{"api": "'$api'", "tenant": "t1", "client_id": "app-slow", "client_secret": "cred:sp"}'
    azure_runbook "run-$i" "slow-$i" "echo ran-$i"
done
for i in 1 2 3 4 5; do
    azure_target "bad-$i" "vm-$i" '{"tenant": "t1", "client_id": "app-bad", "client_secret": "cred:sp-wrong"}'
    azure_runbook "bad-$i" "bad-$i" 'echo never'
done
start_daemon

attempts() { azure_fake_state | jq --arg c "$1" '.token_attempts[$c] // 0'; }

# ---- 8 steps at once, cold cache: one token request, all run
pids=()
for i in 1 2 3 4 5 6 7 8; do start_session "$ALICE" "run-$i" "$(ref "run-$i")" > "$WORK/id-$i" & pids+=($!); done
wait "${pids[@]}"
for i in 1 2 3 4 5 6 7 8; do
    id=$(cat "$WORK/id-$i")
    [ -n "$id" ] || die "StartSession run-$i failed"
    wait_session_state "$id" succeeded 40
    get_output "$id" 0
    assert_eq "$OUT_STDOUT" "ran-$i" "step $i ran with the shared token"
done
assert_eq "$(attempts app-slow)" 1 "8 steps, cold cache: exactly one token request went out"
started=$(azure_fake_state | jq '[.requests[] | select(.kind == "arm" and (.method == "PUT" or .method == "POST"))] | length')
assert_eq "$started" 8 "every step created its run"

conns=$(azure_fake_state | jq .connections)
reqs=$(azure_fake_state | jq '[.requests[]] | length')
assert_true "connections were reused ($conns TLS connections for $reqs requests)" test "$conns" -lt $((reqs / 2))

# ---- the cached token and a cached connection serve the next step: no new request, no new connection
id=$(start_session "$ALICE" run-1 "$(ref again)") || die "StartSession failed"
wait_session_state "$id" succeeded 40
assert_eq "$(attempts app-slow)" 1 "a later step used the cached token"
assert_eq "$(azure_fake_state | jq .connections)" "$conns" "a later step used a cached connection (no new TLS connection)"

# ---- 5 steps of an identity whose secret is wrong: one request, all fail with its error
pids=()
for i in 1 2 3 4 5; do start_session "$ALICE" "bad-$i" "$(ref "bad-$i")" > "$WORK/bad-$i" & pids+=($!); done
wait "${pids[@]}"
for i in 1 2 3 4 5; do
    id=$(cat "$WORK/bad-$i")
    [ -n "$id" ] || die "StartSession bad-$i failed"
    wait_session_state "$id" failed 40
    assert_match "$(step_prop "$id" 0 Error)" "rejected the client secret \(AADSTS7000215" "step $i failed with the shared fetch's error"
done
assert_eq "$(attempts app-bad)" 1 "5 steps, a failing identity: exactly one token request went out"
finish
