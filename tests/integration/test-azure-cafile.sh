#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Azure connector: a target's "ca_file" REPLACES the system trust store (issue #11, item 13).
# runbookd runs in a mount namespace whose /etc/ssl/certs (libcurl's built-in CA bundle and CA
# directory) trusts the fake's CA, so the system store accepts the fake: a target without
# ca_file reaches it; a target whose ca_file names another CA (one that did not sign the fake's
# certificate) must NOT reach it, whatever the system store says; a ca_file with the fake's CA
# does.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

command -v unshare >/dev/null || die "unshare (util-linux) missing"
SECRET="ca-$$-$RANDOM"
azure_fake_up '{"tenants": {"t1": {"clients": {"app-1": {"secret": "'"$SECRET"'"}}}}, "vms": {"vm-1": {}}}'
azure_cred sp "$SECRET"

# the "system" trust store runbookd sees: the fake's CA only (bundle and hashed directory)
SYS="$T/system-certs"
mkdir -p "$SYS"
cp "$AZ_CA" "$SYS/ca-certificates.crt"
cp "$AZ_CA" "$SYS/fake-azure-ca.pem"
openssl rehash "$SYS" 2>/dev/null || c_rehash "$SYS" >/dev/null || die "cannot hash $SYS"
ls "$SYS"/*.0 >/dev/null 2>&1 || die "no hashed CA link in $SYS"
# another CA, which signed nothing the fake serves
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/other-ca.key" -out "$T/other-ca.pem" -days 2 \
    -subj /CN=other-ca >/dev/null 2>&1 || die "cannot make another CA"
chmod 644 "$T/other-ca.pem"

REAL_RUNBOOKD=$RUNBOOKD
RUNBOOKD="$T/runbookd-in-ns"
cat > "$RUNBOOKD" <<EOS
#!/bin/sh
exec unshare --mount --propagation private sh -c 'mount --bind "\$0" /etc/ssl/certs && exec "\$@"' \
    "$SYS" "$REAL_RUNBOOKD" "\$@"
EOS
chmod 755 "$RUNBOOKD"

SP='{"tenant": "t1", "client_id": "app-1", "client_secret": "cred:sp"}'
azure_target sys vm-1 "$SP"
jq 'del(.ca_file)' "$CONFIG_DIR/targets/sys.json" > "$T/t.json" && mv "$T/t.json" "$CONFIG_DIR/targets/sys.json"
azure_target wrong vm-1 "$(jq -c --arg ca "$T/other-ca.pem" '. + {ca_file: $ca}' <<<"$SP")"
azure_target right vm-1 "$SP"
for t in sys wrong right; do azure_runbook "rb-$t" "$t" "echo via-$t"; done
start_daemon
assert_eq "$(readlink "/proc/$DAEMON_PID/exe")" "$REAL_RUNBOOKD" "runbookd runs in the namespace (pid $DAEMON_PID)"
assert_true "runbookd sees the test's system trust store" test -e "/proc/$DAEMON_PID/root/etc/ssl/certs/fake-azure-ca.pem"

id=$(start_session "$ALICE" rb-sys "$(ref sys)") || die "StartSession failed"
wait_session_state "$id" succeeded 30
get_output "$id" 0
assert_eq "$OUT_STDOUT" "via-sys" "no ca_file: the system store (which trusts the fake) is used"

n_before=$(azure_fake_state | jq '[.requests[] | select(.kind == "arm")] | length')
id=$(start_session "$ALICE" rb-wrong "$(ref wrong)") || die "StartSession failed"
wait_session_state "$id" failed 40
assert_eq "$(session_prop "$id" State)" failed "ca_file naming another CA: the session fails although the system store trusts the fake"
assert_match "$(step_prop "$id" 0 Error)" "[Cc]ertificate|TLS|SSL" "the Error names the certificate problem"
assert_eq "$(azure_fake_state | jq '[.requests[] | select(.kind == "arm")] | length')" "$n_before" \
    "no Resource Manager request reached the fake through the untrusted connection"

id=$(start_session "$ALICE" rb-right "$(ref right)") || die "StartSession failed"
wait_session_state "$id" succeeded 30
get_output "$id" 0
assert_eq "$OUT_STDOUT" "via-right" "ca_file with the fake's CA: trusted"
finish
