#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Target.Check() and "runbookctl check TARGET" for azure targets (against tests/fake-azure): the
# stages credentials, vm, permission, each with a verdict and a reason, later stages skipped after
# a failed one. A healthy VM: all ok (D-Bus, and the CLI: JSON parsed, exit 0); a managed identity
# (named in the reason); a wrong client secret (credentials failed, AADSTS7000215; the rest
# skipped) and a missing credential; a VM that does not exist (vm failed, ResourceNotFound); a
# deallocated and a stopped VM (vm failed with the power state, from the instance view); RBAC read
# from Azure's permissions API on the VM's scope: a principal with only Reader (permission failed,
# naming runCommands/write and suggesting Virtual Machine Contributor), Virtual Machine Contributor
# and a wildcard grant (ok), a notActions exclusion (failed, naming the exclusion), an exclusion in
# one assignment that another grants (ok, as in Azure); the "action" API needs runCommand/action;
# the check creates nothing on the VM; no secret nor token appears in a reply, the CLI's output,
# the daemon's log or the journal.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

require_runbookctl
azure_fake_up
SECRET="right-$$-$RANDOM-s3cr3t"
WRONG="wrong-$$-$RANDOM-s3cr3t"
azure_cred sp "$SECRET"
azure_cred sp-wrong "$WRONG"
MC='Microsoft.Compute/virtualMachines'
azure_fake_config '{"tenants": {"t1": {"clients": {
      "app-1": {"secret": "'"$SECRET"'"}, "app-reader": {"secret": "'"$SECRET"'"},
      "app-vmc": {"secret": "'"$SECRET"'"}, "app-wild": {"secret": "'"$SECRET"'"},
      "app-not": {"secret": "'"$SECRET"'"}, "app-two": {"secret": "'"$SECRET"'"},
      "app-noaction": {"secret": "'"$SECRET"'"}}}},
  "managed_identity": {"system": true},
  "permissions": {
      "app-reader": ["Reader"],
      "app-vmc": ["Virtual Machine Contributor"],
      "app-wild": [{"actions": ["'"$MC"'/read", "microsoft.compute/*/runCommands/*"], "notActions": []}],
      "app-not": [{"actions": ["*"], "notActions": ["'"$MC"'/runCommands/*"]}],
      "app-two": [{"actions": ["*"], "notActions": ["'"$MC"'/runCommands/*"]}, "Virtual Machine Contributor"],
      "app-noaction": [{"actions": ["*"], "notActions": ["'"$MC"'/runCommand/action"]}]},
  "vms": {"vm-1": {}, "vm-off": {"power": "deallocated"}, "vm-stopped": {"power": "stopped"}}}'

sp() { echo '{"tenant": "t1", "client_id": "'"$1"'", "client_secret": "cred:'"${2:-sp}"'"}'; }
azure_target healthy vm-1 "$(sp app-1)"
azure_target mi vm-1 '{"managed_identity": true}'
azure_target wrong-secret vm-1 "$(sp app-1 sp-wrong)"
azure_target no-cred vm-1 "$(sp app-1 not-there)"
azure_target no-vm vm-nowhere "$(sp app-1)"
azure_target off vm-off "$(sp app-1)"
azure_target stopped vm-stopped "$(sp app-1)"
azure_target reader vm-1 "$(sp app-reader)"
azure_target vmc vm-1 "$(sp app-vmc)"
azure_target wild vm-1 "$(sp app-wild)"
azure_target excluded vm-1 "$(sp app-not)"
azure_target two vm-1 "$(sp app-two)"
azure_target noaction vm-1 "$(sp app-noaction)"
azure_target noaction-api vm-1 "$(sp app-noaction | jq -c '. + {api: "action"}')"
azure_runbook run-reader reader 'echo hi'
start_daemon

tpath() { python3 -c 'import sys; print("/org/runbookd1/target/" + "".join(c if c.isalnum() else "_%02x" % ord(c) for c in sys.argv[1]))' "$1"; }
REPLIES="$T/replies"
# check TARGET: Target.Check() over D-Bus as alice; sets STAGES (JSON array of [stage, verdict, reason])
check() {
    local out
    out=$(bus_error_of rb "$ALICE" --json=short --timeout=60 call "$BUS_NAME" "$(tpath "$1")" org.runbookd1.Target Check) ||
        { STAGES=""; fail "Check of $1 failed: $LAST_ERROR_NAME: $LAST_ERROR_MESSAGE"; return 1; }
    printf '%s\n' "$out" >> "$REPLIES"
    STAGES=$(jq -c '.data[0]' <<<"$out")
    note "$1: $STAGES"
}
reason() { jq -r --arg s "$1" '.[] | select(.[0] == $s) | .[2]' <<<"$STAGES"; }
verdicts() { jq -r 'map(.[0] + "=" + .[1]) | join(" ")' <<<"$STAGES"; }

# ---- healthy: every stage ok, each with its reason
check healthy
assert_eq "$(verdicts)" "credentials=ok vm=ok permission=ok" "healthy: every stage ok, in order"
assert_match "$(reason credentials)" "client secret \(credential 'sp'\)" "healthy: credentials names the identity kind and credential"
assert_match "$(reason credentials)" "application 'app-1' in tenant 't1'" "healthy: credentials names the client and tenant"
assert_match "$(reason vm)" "VM '$AZ_RG/vm-1' exists and is running" "healthy: vm says the VM is running"
assert_match "$(reason permission)" "runCommands/write" "healthy: permission names the actions"
assert_eq "$(azure_fake_state | jq '[.requests[] | select(.kind == "arm" and .path == "providers/Microsoft.Authorization/permissions")] | length')" \
    1 "healthy: the permissions API was asked once"
assert_eq "$(azure_fake_state | jq '[.requests[] | select(.kind == "arm" and .path == "instanceView")] | length')" \
    1 "healthy: the instance view was read once"

# ---- the same through runbookctl: JSON parsed, exit 0; human output
expect_ctl_ok "runbookctl check healthy --json=short exits 0" "$ALICE" check healthy --json=short
printf '%s\n' "$CTL_OUT" >> "$REPLIES"
assert_eq "$(jq -r .passed <<<"$CTL_OUT")" true "check --json: passed is true"
assert_eq "$(jq -r '[.stages[] | .stage + "=" + .verdict] | join(" ")' <<<"$CTL_OUT")" \
    "credentials=ok vm=ok permission=ok" "check --json: every stage ok"
assert_eq "$(jq -r .target <<<"$CTL_OUT")" healthy "check --json: names the target"
expect_ctl_ok "runbookctl check healthy (human) exits 0" "$ALICE" check healthy
printf '%s\n' "$CTL_OUT" >> "$REPLIES"
assert_eq "$(grep -c '^✓ ' <<<"$CTL_OUT")" 3 "check: three lines, each marked ✓"

# ---- managed identity
check mi
assert_eq "$(verdicts)" "credentials=ok vm=ok permission=ok" "managed identity: every stage ok"
assert_match "$(reason credentials)" "system-assigned managed identity.*IMDS" "managed identity: the reason names the kind and IMDS"

# ---- wrong secret: credentials failed with the cause, the rest skipped; Resource Manager not asked
arm_before=$(azure_fake_state | jq '[.requests[] | select(.kind == "arm")] | length')
check wrong-secret
assert_eq "$(verdicts)" "credentials=failed vm=skipped permission=skipped" "wrong secret: credentials failed, later stages skipped"
assert_match "$(reason credentials)" "AADSTS7000215" "wrong secret: the reason has the AAD error code"
assert_match "$(reason credentials)" "client secret \(credential 'sp-wrong'\)" "wrong secret: the reason names the identity kind and credential"
assert_eq "$(azure_fake_state | jq '[.requests[] | select(.kind == "arm")] | length')" "$arm_before" \
    "wrong secret: Resource Manager was not asked"
ctl_run "$ALICE" check wrong-secret
printf '%s\n' "$CTL_OUT" >> "$REPLIES"
assert_eq "$CTL_RC" 1 "runbookctl check wrong-secret exits 1"
assert_match "$CTL_OUT" "✗ credentials +failed +no token for" "runbookctl check: the failed stage marked ✗"
assert_match "$CTL_OUT" "- permission +skipped" "runbookctl check: a skipped stage marked -"
check no-cred
assert_eq "$(verdicts)" "credentials=failed vm=skipped permission=skipped" "missing credential: credentials failed"
assert_match "$(reason credentials)" "credential 'not-there'" "missing credential: the reason names it"

# ---- the VM
check no-vm
assert_eq "$(verdicts)" "credentials=ok vm=failed permission=skipped" "VM not found: vm failed"
assert_match "$(reason vm)" "VM 'vm-nowhere' not found in resource group '$AZ_RG' \(ResourceNotFound\)" "VM not found: the reason says so"
check off
assert_eq "$(verdicts)" "credentials=ok vm=failed permission=skipped" "deallocated VM: vm failed"
assert_match "$(reason vm)" "not running \(power state: deallocated" "deallocated VM: the reason has the power state"
check stopped
assert_eq "$(verdicts)" "credentials=ok vm=failed permission=skipped" "stopped VM: vm failed"
assert_match "$(reason vm)" "power state: stopped" "stopped VM: the reason has the power state"
ctl_run "$ALICE" check off --json=short
assert_eq "$CTL_RC" 1 "runbookctl check off --json exits 1"
assert_eq "$(jq -r '.passed, (.stages[] | select(.stage == "vm") | .verdict)' <<<"$CTL_OUT" | tr '\n' ' ')" \
    "false failed " "check --json: passed false, vm failed"

# ---- permissions (Azure's permissions API on the VM's scope)
check reader
assert_eq "$(verdicts)" "credentials=ok vm=ok permission=failed" "Reader only: permission failed"
assert_match "$(reason permission)" "may not perform $MC/runCommands/write" "Reader only: the reason names the missing action"
assert_match "$(reason permission)" "Virtual Machine Contributor" "Reader only: the reason suggests Virtual Machine Contributor"
assert_match "$(reason permission)" "application 'app-reader'" "Reader only: the reason names the identity"
# the fake enforces the same RBAC: the run is refused for the same reason
id=$(start_session "$ALICE" run-reader "$(ref reader)") || die "StartSession failed"
wait_session_state "$id" failed 30
assert_match "$(step_prop "$id" 0 Error)" "runCommands/write.*AuthorizationFailed" "Reader only: a run is refused (the check was right)"
check vmc
assert_eq "$(verdicts)" "credentials=ok vm=ok permission=ok" "Virtual Machine Contributor: ok"
check wild
assert_eq "$(verdicts)" "credentials=ok vm=ok permission=ok" "wildcard grant (microsoft.compute/*/runCommands/*): ok"
check excluded
assert_eq "$(verdicts)" "credentials=ok vm=ok permission=failed" "notActions excluding runCommands/*: failed"
assert_match "$(reason permission)" "runCommands/write.*excluded by notActions '$MC/runCommands/\*'" \
    "notActions: the reason names the exclusion"
check two
assert_eq "$(verdicts)" "credentials=ok vm=ok permission=ok" "an exclusion in one assignment, granted by another: ok"
check noaction
assert_eq "$(verdicts)" "credentials=ok vm=ok permission=ok" "managed API: runCommand/action is not needed"
check noaction-api
assert_eq "$(verdicts)" "credentials=ok vm=ok permission=failed" "action API: notActions runCommand/action fails"
assert_match "$(reason permission)" "may not perform $MC/runCommand/action" "action API: the reason names runCommand/action"

# ---- a check creates nothing on the VM
assert_eq "$(azure_fake_state | jq '[.requests[] | select(.kind == "arm" and .method != "GET" and .principal != "app-reader")] | length')" \
    0 "checks only read (GET) from Resource Manager"

# ---- no secret nor token in any reply, the CLI's output, the daemon's log or the journal
tokens=$(azure_fake_state | jq '.tokens_issued')
assert_true "tokens were issued ($tokens)" test "$tokens" -ge 10
journal > "$T/journal.json"
for f in "$REPLIES" "$DAEMON_LOG" "$T/journal.json"; do
    assert_false "no client secret in $(basename "$f")" grep -qF -e "$SECRET" -e "$WRONG" "$f"
    assert_false "no access token in $(basename "$f")" grep -qE 'fake-[0-9a-f]{16}' "$f"
done
assert_match "$(grep "Check of target 'off'" "$DAEMON_LOG")" "vm failed: .*deallocated" \
    "the daemon's log records the failed check's stage"
finish
