#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Azure clouds and the token's audience (tests/fake-azure checks the audience of every token on
# every Resource Manager call, as ARM does, and issues tokens only for resources it knows):
#   - resource_manager names another URL (here the fake; in life an egress proxy or a private
#     endpoint in front of ARM): the token is still asked for the cloud's ARM audience
#     (https://management.azure.com/.default), the step runs; before #17 the scope followed
#     resource_manager and the identity platform refused it;
#   - "cloud": "AzureUSGovernment" asks for https://management.usgovcloudapi.net/.default and the
#     step runs where ARM accepts that audience;
#   - a private cloud (Azure Stack Hub-like) whose ARM accepts only its own audience: with
#     "audience" set the step runs; without, ARM refuses the token and the step's error and
#     Target.Check() name the audience it was for and the setting to change;
#   - an audience the identity platform does not know (AADSTS500011), for a client secret and for a
#     managed identity (IMDS): Check's credentials stage fails naming the audience.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

azure_fake_up
SECRET="cloud-$$-$RANDOM-s3cr3t"
azure_cred sp "$SECRET"
STACK="https://management.stack.example/6f1e3a4b-0000-4000-8000-00000000abcd"
azure_fake_config '{"tenants": {"t1": {"clients": {"app-1": {"secret": "'"$SECRET"'"}}}},
  "managed_identity": {"system": true},
  "resources": ["https://management.azure.com", "https://management.azure.com/",
                "https://management.usgovcloudapi.net", "https://management.usgovcloudapi.net/", "'"$STACK"'"],
  "arm_audiences": ["https://management.azure.com/", "https://management.azure.com",
                    "https://management.usgovcloudapi.net/", "https://management.usgovcloudapi.net"],
  "vms": {"vm-1": {}}}'
sp='{"tenant": "t1", "client_id": "app-1", "client_secret": "cred:sp"}'
azure_target public vm-1 "$sp"
azure_target usgov vm-1 "$(jq -c '. + {cloud: "AzureUSGovernment"}' <<<"$sp")"
azure_target stack vm-1 "$(jq -c --arg a "$STACK" '. + {audience: $a}' <<<"$sp")"
azure_target stack-noaud vm-1 "$sp"
azure_target nowhere vm-1 "$(jq -c '. + {audience: "https://nowhere.example/"}' <<<"$sp")"
azure_target mi-nowhere vm-1 '{"managed_identity": true, "audience": "https://nowhere.example/"}'
for t in public usgov stack stack-noaud; do azure_runbook "rb-$t" "$t" "echo ran on $t"; done
start_daemon

tpath() { python3 -c 'import sys; print("/org/runbookd1/target/" + "".join(c if c.isalnum() else "_%02x" % ord(c) for c in sys.argv[1]))' "$1"; }
check() {
    local out
    out=$(bus_error_of rb "$ALICE" --json=short --timeout=60 call "$BUS_NAME" "$(tpath "$1")" org.runbookd1.Target Check) ||
        { STAGES=""; fail "Check of $1 failed: $LAST_ERROR_NAME: $LAST_ERROR_MESSAGE"; return 1; }
    STAGES=$(jq -c '.data[0]' <<<"$out")
    note "$1: $STAGES"
}
reason() { jq -r --arg s "$1" '.[] | select(.[0] == $s) | .[2]' <<<"$STAGES"; }
verdicts() { jq -r 'map(.[0] + "=" + .[1]) | join(" ")' <<<"$STAGES"; }
audiences() { azure_fake_state | jq -c '.audiences // {}'; }
run_ok() { # TARGET
    local id
    id=$(start_session "$ALICE" "rb-$1" "$(ref "$1")") || die "StartSession failed"
    wait_session_state "$id" succeeded 60
    get_output "$id" 0 || die "GetOutput failed"
    assert_eq "$OUT_STDOUT" "ran on $1" "$1: the step ran on the VM"
}

# ---- the public cloud, with resource_manager pointing elsewhere: the audience stays ARM's
run_ok public
assert_eq "$(audiences)" '{"https://management.azure.com":1}' \
    "public: the token was for https://management.azure.com (scope .../.default), not for resource_manager"

# ---- US Government preset
run_ok usgov
assert_eq "$(audiences | jq -r '."https://management.usgovcloudapi.net"')" 1 "usgov: the token was for the US Government ARM"

# ---- a private cloud with its own audience
azure_fake_config '{"tenants": {"t1": {"clients": {"app-1": {"secret": "'"$SECRET"'"}}}},
  "managed_identity": {"system": true},
  "resources": ["https://management.azure.com", "https://management.azure.com/", "'"$STACK"'"],
  "arm_audiences": ["'"$STACK"'"], "vms": {"vm-1": {}}}'
run_ok stack
assert_eq "$(audiences | jq -r --arg a "$STACK" '.[$a]')" 1 "stack: the token was for the configured audience"
check stack
assert_eq "$(verdicts)" "credentials=ok vm=ok permission=ok" "stack: Check passes"
assert_match "$(reason credentials)" "audience '$STACK'" "stack: Check names the audience"

id=$(start_session "$ALICE" rb-stack-noaud "$(ref stack-noaud)") || die "StartSession failed"
wait_session_state "$id" failed 60
err=$(step_prop "$id" 0 Error)
assert_match "$err" "does not accept the token's audience 'https://management\.azure\.com/'" \
    "no audience on a private cloud: the step's error names the audience ($err)"
assert_match "$err" "InvalidAuthenticationTokenAudience" "no audience: and ARM's code"
assert_match "$err" '"audience"' "no audience: and the setting to change"
check stack-noaud
assert_eq "$(verdicts)" "credentials=ok vm=failed permission=skipped" "no audience: Check fails at vm"
assert_match "$(reason vm)" "does not accept the audience 'https://management\.azure\.com/'" "no audience: Check names the audience"

# ---- an audience the identity platform does not know
check nowhere
assert_eq "$(verdicts)" "credentials=failed vm=skipped permission=skipped" "unknown audience: credentials fails"
assert_match "$(reason credentials)" "audience 'https://nowhere\.example/' \(scope 'https://nowhere\.example/\.default', AADSTS500011" \
    "unknown audience: the reason names the audience, the scope and the code"
check mi-nowhere
assert_eq "$(verdicts)" "credentials=failed vm=skipped permission=skipped" "managed identity, unknown audience: credentials fails"
assert_match "$(reason credentials)" "audience 'https://nowhere\.example/'.*AADSTS500011" \
    "managed identity, unknown audience: the reason names the audience"
finish
