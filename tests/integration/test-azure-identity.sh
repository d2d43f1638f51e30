#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Azure connector, identities (against tests/fake-azure): a client certificate (a JWT client
# assertion the fake verifies with openssl: thumbprint, RS256 signature, aud, iss/sub, time
# window) and a managed identity through IMDS (system-assigned and user-assigned) run the step;
# and each identity failure ends the step failed with an Error that names its cause: wrong
# client secret (AADSTS7000215), unknown client (AADSTS700016), a certificate that is not the
# registered one (AADSTS700027), an expired certificate (checked before sending), a missing
# credential, and a managed identity that the VM does not have.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

azure_fake_up
SECRET="right-$$-$RANDOM"
azure_cred sp "$SECRET"
azure_cred sp-wrong "wrong-$$-$RANDOM"
azure_client_cert cert-ok
azure_client_cert cert-other
azure_client_cert cert-expired -1
azure_fake_config '{"tenants": {"t1": {"clients": {
      "app-1": {"secret": "'"$SECRET"'"},
      "app-cert": {"certs": ["'"$AZ_DIR"'/cert-ok.pem", "'"$AZ_DIR"'/cert-expired.pem"]}}}},
  "managed_identity": {"system": true, "client_ids": ["mi-user-1"]},
  "vms": {"vm-1": {}}}'

azure_target cert vm-1 '{"tenant": "t1", "client_id": "app-cert", "client_certificate": "cred:cert-ok"}'
azure_target mi vm-1 '{"managed_identity": true}'
azure_target mi-user vm-1 '{"managed_identity": true, "client_id": "mi-user-1"}'
azure_target wrong-secret vm-1 '{"tenant": "t1", "client_id": "app-1", "client_secret": "cred:sp-wrong"}'
azure_target unknown-client vm-1 '{"tenant": "t1", "client_id": "app-nobody", "client_secret": "cred:sp"}'
azure_target bad-cert vm-1 '{"tenant": "t1", "client_id": "app-cert", "client_certificate": "cred:cert-other"}'
azure_target expired-cert vm-1 '{"tenant": "t1", "client_id": "app-cert", "client_certificate": "cred:cert-expired"}'
azure_target no-cred vm-1 '{"tenant": "t1", "client_id": "app-1", "client_secret": "cred:not-there"}'
azure_target mi-missing vm-1 '{"managed_identity": true, "client_id": "mi-not-assigned"}'
for t in cert mi mi-user wrong-secret unknown-client bad-cert expired-cert no-cred mi-missing; do
    azure_runbook "run-$t" "$t" 'echo "ran as $(id -un)"'
done
start_daemon

for t in cert mi mi-user; do
    id=$(start_session "$ALICE" "run-$t" "$(ref "$t")") || die "StartSession failed"
    wait_session_state "$id" succeeded 30
    get_output "$id" 0
    assert_eq "$OUT_STDOUT" "ran as nobody" "$t: the step ran on the VM"
done
assert_eq "$(azure_fake_state | jq '.token_requests["app-cert"]')" 1 "certificate: the fake accepted the client assertion"
assert_eq "$(azure_fake_state | jq '.token_requests["mi:system"]')" 1 "managed identity: a token from IMDS"
assert_eq "$(azure_fake_state | jq '.token_requests["mi:mi-user-1"]')" 1 "user-assigned managed identity: a token from IMDS"

# expect_failure TARGET ERE DESC: the step on TARGET fails, its Error matching ERE
expect_failure() {
    local id err
    id=$(start_session "$ALICE" "run-$1" "$(ref "$1")") || { fail "StartSession for $1 failed"; return; }
    wait_session_state "$id" failed 30
    err=$(step_prop "$id" 0 Error)
    assert_match "$err" "$2" "$3"
    assert_eq "$(step_prop "$id" 0 State)" failed "$1: step failed"
    assert_match "$(journal_messages RUNBOOK_REFERENCE="$(ref "$1")" MESSAGE_ID=d10897ff38f94074bd229f5f81ebcead)" \
        "success=false" "$1: the result record says success=false"
}
arm_before=$(azure_fake_state | jq '[.requests[] | select(.kind == "arm")] | length')
expect_failure wrong-secret "client secret.*AADSTS7000215.*credential 'sp-wrong'" "wrong secret named as such"
expect_failure unknown-client "unknown client: application 'app-nobody' was not found in tenant 't1'" "unknown client named as such"
expect_failure bad-cert "client certificate assertion.*AADSTS700027.*not registered" "unregistered certificate named as such"
expect_failure expired-cert "client certificate in credential 'cert-expired' expired on" "expired certificate named as such"
expect_failure no-cred "credential 'not-there' cannot be read" "missing credential named as such"
expect_failure mi-missing "managed identity.*no managed identity with client_id 'mi-not-assigned'" "unassigned managed identity named as such"
assert_eq "$(azure_fake_state | jq '[.requests[] | select(.kind == "arm")] | length')" "$arm_before" \
    "failed identities never reached Resource Manager"

journal _PID="$DAEMON_PID" > "$T/journal.json"
assert_false "the client secret is not in the journal" grep -qF "$SECRET" "$T/journal.json"
assert_false "no private key material in the journal" grep -q "PRIVATE KEY" "$T/journal.json"
assert_false "no private key material in the daemon's log" grep -q "PRIVATE KEY" "$DAEMON_LOG"
assert_false "no private key material in the store" sh -c "strings '$STATE_DIR/data.mdb' | grep -q 'PRIVATE KEY'"
finish
