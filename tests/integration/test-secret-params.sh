#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Secret parameters (issue #15, item 3), local steps: a literal value and a cred:NAME reach the
# command only as $RUNBOOK_SECRET_<NAME>; neither is in the store (strings data.mdb), the journal
# (journalctl -o export), any D-Bus property, runbookctl show, nor any process's command line while
# the step runs; both are masked as *** in the stored output. The digest covers the credential's
# name and "literal", never the value. A restart while the step waits keeps the literal value; a
# reboot (the runtime directory's key gone) fails the step, saying so. Bad values are refused at
# StartSession, naming the parameter, and nothing is stored; {{secret}} and a condition on a secret
# refuse the runbook. runbookd's own credentials (a target's identity, a notification sink's
# header) are refused even where the parameter's "credentials" is "*", with the same words as any
# credential outside it (also a credential named by its path, or by a target file that does not
# load); one that becomes runbookd's own by a Reload while a session waits is not passed to its
# step; a plan does not tell which credentials are runbookd's own.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_runbookctl

LIT="Lit s3cr3t-'value';\$(touch /tmp/pwned)-42"
LIT2="another-literal-Value-77"
CRED="cred-T0ken-xyz-31337"
export CREDENTIALS_DIRECTORY="$T/creds" RUNTIME_DIRECTORY="$T/run"
mkdir -p "$CREDENTIALS_DIRECTORY" "$RUNTIME_DIRECTORY"
chmod 700 "$CREDENTIALS_DIRECTORY" "$RUNTIME_DIRECTORY"
printf '%s\n' "$CRED" > "$CREDENTIALS_DIRECTORY/api-token"
printf '%s\n' "other-credential-value" > "$CREDENTIALS_DIRECTORY/other-token"

write_runbook secret <<'JSON'
{
  "parameters": { "dir": { "pattern": "^/[A-Za-z0-9/._-]+$" },
                  "token": { "secret": true, "credentials": [ "*-token", "nosuch" ] },
                  "apikey": { "secret": true, "description": "the API key", "credentials": [ "api-token" ] } },
  "steps": [ { "name": "use the secrets",
               "run": "printf %s \"$RUNBOOK_SECRET_TOKEN\" | sha256sum > {{dir}}/token.sum; printf %s \"$RUNBOOK_SECRET_APIKEY\" | sha256sum > {{dir}}/apikey.sum; echo \"token=$RUNBOOK_SECRET_TOKEN key=$RUNBOOK_SECRET_APIKEY\"; printf 'err %s\\n' \"$RUNBOOK_SECRET_TOKEN\" >&2; touch {{dir}}/ready; while [ ! -e {{dir}}/go ]; do sleep 0.05; done",
               "timeout": 60 } ]
}
JSON
write_runbook secret-in-run <<'JSON'
{ "parameters": { "token": { "secret": true } }, "steps": [ { "name": "x", "run": "curl -H {{token}} example" } ] }
JSON
write_runbook secret-in-when <<'JSON'
{ "parameters": { "token": { "secret": true } },
  "steps": [ { "name": "x", "run": "true", "when": "{{token}} == 'abc'" } ] }
JSON
write_runbook secret-pattern <<'JSON'
{ "parameters": { "token": { "secret": true, "pattern": "^a+$" } }, "steps": [ { "name": "x", "run": "true" } ] }
JSON
write_runbook secret-default <<'JSON'
{ "parameters": { "token": { "secret": true, "default": "literally-in-the-file" } }, "steps": [ { "name": "x", "run": "true" } ] }
JSON
# runbookd's own credentials: an ssh target's identity, a notification sink's header (a sink for
# runbooks that do not exist here: it never sends)
printf 'ops-key-material\n' > "$CREDENTIALS_DIRECTORY/ops-key"
printf 'hook-token-value\n' > "$CREDENTIALS_DIRECTORY/hook-token"
printf 'db-password-value\n' > "$CREDENTIALS_DIRECTORY/db-password"
echo '{"connector": "ssh", "host": "192.0.2.1", "user": "ops", "identity": "cred:ops-key", "known_hosts": "/dev/null"}' \
    > "$CONFIG_DIR/targets/remote.json"
write_config '{"notify": [{"name": "chat", "webhook": "http://127.0.0.1:9/hook", "headers": {"Authorization": "cred:hook-token"},
                           "runbooks": ["no-such-runbook-*"]}]}'
write_runbook secret-any <<'JSON'
{ "parameters": { "token": { "secret": true, "credentials": [ "*" ] } },
  "steps": [ { "name": "x", "run": "printf %s \"$RUNBOOK_SECRET_TOKEN\" | wc -c" } ] }
JSON
write_runbook secret-group-any <<'JSON'
{ "parameters": { "dir": { "pattern": "^/[A-Za-z0-9/._-]+$" }, "token": { "secret": true, "credentials": [ "*" ] } },
  "steps": [ { "name": "on each host", "target": "both", "approval": "none",
               "run": "if [ \"$RUNBOOK_TARGET\" = local ]; then touch {{dir}}/first; while [ ! -e {{dir}}/go ]; do sleep 0.05; done; fi; printf %s \"$RUNBOOK_SECRET_TOKEN\" | wc -c" } ] }
JSON
echo '{"connector": "local"}' > "$CONFIG_DIR/targets/l2.json"
echo '{"group": ["local", "l2"], "max_concurrency": 1}' > "$CONFIG_DIR/targets/both.json"
write_runbook secret-group <<'JSON'
{ "parameters": { "dir": { "pattern": "^/[A-Za-z0-9/._-]+$" }, "token": { "secret": true, "credentials": [ "api-token" ] } },
  "steps": [ { "name": "on each host", "target": "both", "approval": "none",
               "run": "printf %s \"$RUNBOOK_SECRET_TOKEN\" | sha256sum | cut -c1-64 > {{dir}}/$RUNBOOK_TARGET.sum; echo \"v=$RUNBOOK_SECRET_TOKEN\"" } ] }
JSON
start_daemon

# ---- the runbook is refused where a secret's value would reach a command's text or a condition
for rb_name in secret-in-run secret-in-when secret-pattern secret-default; do
    expect_error InvalidRunbook rb_call "$ALICE" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' "$rb_name" "$(ref r)" 1 token x
done
assert_match "$(grep -h "secret-in-run.json" "$DAEMON_LOG" | head -1)" 'RUNBOOK_SECRET_TOKEN' "the refusal says to use the variable"

# ---- bad values: refused, naming the parameter, nothing stored
before=$(list_sessions)
D0="$WORK/bad"; mkdir -p "$D0"; chmod 777 "$D0"
expect_error InvalidParameter rb_call "$ALICE" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' secret "$(ref b1)" 3 dir "$D0" token "" apikey x1234
assert_match "$LAST_ERROR_MESSAGE" "token" "an empty value: the error names the parameter"
expect_error InvalidParameter rb_call "$ALICE" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' secret "$(ref b2)" 3 dir "$D0" token cred:nosuch apikey x1234
assert_match "$LAST_ERROR_MESSAGE" "token.*nosuch" "an unknown credential: the error names the parameter and the credential"
expect_error InvalidParameter rb_call "$ALICE" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' secret "$(ref b3)" 3 dir "$D0" token cred:../etc/shadow apikey x1234
# runbookd's own credentials (a target's, a notification sink's) are not the caller's to send
printf 'the-service-principal-secret\n' > "$CREDENTIALS_DIRECTORY/azure-sp"
expect_error InvalidParameter rb_call "$ALICE" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' secret "$(ref b5)" 3 dir "$D0" token cred:azure-sp apikey x1234
assert_eq "$LAST_ERROR_MESSAGE" "parameter 'token': credential 'azure-sp' is not one this parameter may name (the runbook's \"credentials\" for it)" \
    "a credential outside the parameter's \"credentials\" is refused"
expect_error InvalidParameter rb_call "$ALICE" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' secret "$(ref b4)" 3 dir "$D0" token "$(printf 'two\nlines')" apikey x1234
# refused_own NAME: StartSession of secret-any ("credentials": ["*"]) with cred:NAME is refused in
# the words of any credential outside the list
refused_own() {
    expect_error InvalidParameter rb_call "$ALICE" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' secret-any "$(ref "own-$1")" 1 token "cred:$1"
    assert_eq "$LAST_ERROR_MESSAGE" "parameter 'token': credential '$1' is not one this parameter may name (the runbook's \"credentials\" for it)" \
        "\"credentials\": [\"*\"] still refuses runbookd's own credential '$1', in the same words"
}
for own in ops-key hook-token; do refused_own "$own"; done
assert_eq "$(list_sessions)" "$before" "no session was stored for a refused start"

# ---- a session with a credential and a literal value
R=$(ref s1) D="$WORK/s1"; mkdir -p "$D"; chmod 777 "$D"
id=$(start_session "$ALICE" secret "$R" dir "$D" token cred:api-token apikey "$LIT") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
params=$(prop_json "$(session_path "$id")" "$IFACE_SESSION" Parameters | jq -c '.data')
assert_eq "$(jq -r .token <<<"$params")" "cred:api-token" "Parameters shows the credential's name"
assert_eq "$(jq -r .apikey <<<"$params")" "***" "Parameters shows *** for the literal value"
digest=$(step_prop "$id" 0 Digest)
cmd=$(step_prop "$id" 0 Command)
want=$(printf 'local\0local\0{"connector":"local"}\0%s\nsecret RUNBOOK_SECRET_APIKEY=literal\nsecret RUNBOOK_SECRET_TOKEN=cred:api-token' "$cmd" | sha256sum | cut -d' ' -f1)
assert_eq "$digest" "$want" "the digest covers the command, the credential's name and 'literal'"

# a plan shows what the session would run, with the same digest, and no value
expect_ctl_ok "runbookctl plan" "$ALICE" plan secret -p "dir=$D" -p token=cred:api-token -p "apikey=$LIT" --json=short
assert_false "the plan holds no value" grep -qF -- "$LIT" <<<"$CTL_OUT"
assert_match "$CTL_OUT" "$digest" "the plan's digest is the session's"

# the digest does not depend on the literal value; it does on the credential
R2=$(ref s2) D2="$WORK/s2"; mkdir -p "$D2"; chmod 777 "$D2"
id2=$(start_session "$ALICE" secret "$R2" dir "$D" token cred:api-token apikey "$LIT2") || die "StartSession 2 failed"
wait_step_state "$id2" 0 waiting_approval
assert_eq "$(step_prop "$id2" 0 Digest)" "$digest" "another literal value: the same digest"
id3=$(start_session "$ALICE" secret "$(ref s3)" dir "$D" token cred:other-token apikey "$LIT2") || die "StartSession 3 failed"
wait_step_state "$id3" 0 waiting_approval
assert_ne "$(step_prop "$id3" 0 Digest)" "$digest" "another credential: another digest"
expect_ok "cancel session 3" rb_call "$ALICE" "$(session_path "$id3")" "$IFACE_SESSION" Cancel

# ---- a restart while it waits keeps the literal value
restart_daemon
assert_eq "$(step_prop "$id" 0 Digest)" "$digest" "the digest after a restart"
expect_ok "rbtest-bob approves" rb_call "$BOB" "$(session_path "$id")" "$IFACE_SESSION" Approve s "ok"
wait_file "$D/ready" 20 || die "the step did not get ready"

# while it runs: no command line of any process holds a value
args=$(ps -eo args 2>/dev/null; for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < "$f" 2>/dev/null; echo; done)
assert_false "ps: the literal value is on no command line" grep -qF -- "$LIT" <<<"$args"
assert_false "ps: the credential's value is on no command line" grep -qF -- "$CRED" <<<"$args"
assert_true "ps: the step's shell is there (the sample is real)" grep -qF -- 'RUNBOOK_SECRET_TOKEN' <<<"$args"
touch "$D/go"
wait_session_state "$id" succeeded 30
assert_eq "$(cut -d' ' -f1 "$D/token.sum")" "$(printf %s "$CRED" | sha256sum | cut -d' ' -f1)" "the step had the credential's value (without its newline)"
assert_eq "$(cut -d' ' -f1 "$D/apikey.sum")" "$(printf %s "$LIT" | sha256sum | cut -d' ' -f1)" "the step had the literal value, after a restart"
assert_false "the literal value was data, never code" test -e /tmp/pwned

get_output "$id" 0
assert_eq "$OUT_STDOUT" "token=*** key=***" "stdout: both values masked"
assert_eq "$OUT_STDERR" "err ***" "stderr: the value masked"
expect_ctl_ok "runbookctl output" "$ALICE" output "$id" 0
assert_eq "$CTL_OUT" 'token=*** key=***' "runbookctl output: masked"
expect_ctl_ok "runbookctl output --stderr" "$ALICE" output "$id" 0 --stderr
assert_eq "$CTL_OUT" 'err ***' "runbookctl output --stderr: masked"
JD=(); [ -n "${TESTBED_JOURNAL_DIR:-}" ] && JD=(--directory="$TESTBED_JOURNAL_DIR")
expect_ctl_ok "runbookctl logs" root logs "$id" "${JD[@]}"
assert_match "$CTL_OUT" 'EXECUTE_STEP' "runbookctl logs: the records are there"
for v in "$LIT" "$CRED"; do
    assert_false "runbookctl logs has no value" grep -qF -- "$v" <<<"$CTL_OUT"
done
expect_ctl_ok "runbookctl show" "$ALICE" show "$id"
for v in "$LIT" "$CRED"; do
    assert_false "runbookctl show has no value" grep -qF -- "$v" <<<"$CTL_OUT"
done

# ---- nowhere: the D-Bus properties of the session and its steps, the journal, the store
allprops=""
for p in "$(session_path "$id")" "$(step_path "$id" 0)" "$(session_path "$id2")"; do
    for i in "$IFACE_SESSION" "$IFACE_STEP"; do
        allprops+=$(busctl --system --json=short call "$BUS_NAME" "$p" org.freedesktop.DBus.Properties GetAll s "$i" 2>/dev/null)
    done
done
allprops+=$(busctl --system --json=short call "$BUS_NAME" "$MANAGER" org.freedesktop.DBus.ObjectManager GetManagedObjects 2>/dev/null)
assert_match "$allprops" 'cred:api-token' "the properties were read"
for v in "$LIT" "$LIT2" "$CRED"; do
    assert_false "no D-Bus property holds a value" grep -qF -- "$v" <<<"$allprops"
done
exported=$(_journalctl -o export 2>/dev/null)
assert_match "$(grep -c "RUNBOOK_SESSION=$id" <<<"$exported")" '^[1-9]' "the journal has the session's records"
for v in "$LIT" "$LIT2" "$CRED"; do
    assert_false "the journal holds no value" grep -qaF -- "$v" <<<"$exported"
done
assert_true "the daemon's log holds no value" bash -c "! grep -qaF -- \"\$1\" \"$DAEMON_LOG\" && ! grep -qaF -- \"\$2\" \"$DAEMON_LOG\"" _ "$LIT" "$CRED"
kill_daemon -TERM
st=$(strings -n 4 "$STATE_DIR/data.mdb"; cat "$STATE_DIR"/* 2>/dev/null | strings -n 4)
assert_match "$st" 'cred:api-token' "the store keeps the credential's name"
for v in "$LIT" "$LIT2" "$CRED"; do
    assert_false "the store holds no value" grep -qF -- "$v" <<<"$st"
done
assert_eq "$(stat -c %a "$RUNTIME_DIRECTORY/secret-seal.key")" 600 "the sealing key is 0600"

# ---- a step on a target group: every host gets the values, one after the other
start_daemon
DG="$WORK/g"; mkdir -p "$DG"; chmod 777 "$DG"
idg=$(start_session "$ALICE" secret-group "$(ref g)" dir "$DG" token "$LIT2") || die "StartSession (group) failed"
wait_session_state "$idg" succeeded 30
for h in local l2; do
    assert_eq "$(cat "$DG/$h.sum" 2>/dev/null)" "$(printf %s "$LIT2" | sha256sum | cut -c1-64)" "group host $h had the value"
done
for h in local l2; do
    hout=$(busctl --system --json=short call "$BUS_NAME" "$(step_path "$idg" 0)" "$IFACE_STEP" GetHostOutput s "$h" |
           jq -r '.data[0] | implode')
    assert_eq "$hout" "v=***" "group host $h: its output masked"
done
kill_daemon -TERM

# ---- a reboot: the key is gone; the literal value did not survive; the step fails, saying so
rm -f "$RUNTIME_DIRECTORY/secret-seal.key"
start_daemon
expect_ok "rbtest-bob approves session 2" rb_call "$BOB" "$(session_path "$id2")" "$IFACE_SESSION" Approve s "ok"
wait_session_state "$id2" failed 20
assert_match "$(step_prop "$id2" 0 Error)" "did not survive a restart of the machine" "the step says the literal value is gone"
assert_false "the step did not run" test -e "$D2/ready"

# ---- a credential gone by the time the step runs: refused, saying which, not run
D4="$WORK/s4"; mkdir -p "$D4"; chmod 777 "$D4"
id4=$(start_session "$ALICE" secret "$(ref s4)" dir "$D4" token cred:other-token apikey cred:api-token) || die "StartSession 4 failed"
wait_step_state "$id4" 0 waiting_approval
rm -f "$CREDENTIALS_DIRECTORY/other-token"
expect_ok "rbtest-bob approves session 4" rb_call "$BOB" "$(session_path "$id4")" "$IFACE_SESSION" Approve s "ok"
wait_session_state "$id4" failed 20
assert_match "$(step_prop "$id4" 0 Error)" "secret parameter 'token': credential 'other-token' cannot be read" \
    "the step says which credential is gone"
assert_eq "$(step_prop "$id4" 0 StartedAt)" 0 "it was never recorded as started"
assert_false "the step did not run" test -e "$D4/ready"

# ---- a credential allowed at StartSession, one of runbookd's own by the time the step runs (a
# Reload added a target naming it): not passed to the step, saying so; any other still is
id5=$(start_session "$ALICE" secret-any "$(ref s5)" token cred:db-password) || die "StartSession 5 failed"
wait_step_state "$id5" 0 waiting_approval
id6=$(start_session "$ALICE" secret-any "$(ref s6)" token cred:api-token) || die "StartSession 6 failed"
wait_step_state "$id6" 0 waiting_approval
echo '{"connector": "ssh", "host": "192.0.2.2", "user": "db", "identity": "cred:db-password", "known_hosts": "/dev/null"}' \
    > "$CONFIG_DIR/targets/db.json"
expect_ok "Reload (a target naming cred:db-password)" rb_call root "$MANAGER" "$IFACE_MANAGER" Reload
expect_ok "rbtest-bob approves session 5" rb_call "$BOB" "$(session_path "$id5")" "$IFACE_SESSION" Approve s "ok"
wait_session_state "$id5" failed 20
assert_match "$(step_prop "$id5" 0 Error)" "secret parameter 'token': credential 'db-password' is now one runbookd uses itself" \
    "the step says the credential became runbookd's own"
assert_eq "$(step_prop "$id5" 0 StartedAt)" 0 "that step was never recorded as started"
expect_ok "rbtest-bob approves session 6" rb_call "$BOB" "$(session_path "$id6")" "$IFACE_SESSION" Approve s "ok"
wait_session_state "$id6" succeeded 20
get_output "$id6" 0 || die "GetOutput failed"
assert_eq "$(tr -d ' ' <<<"$OUT_STDOUT")" "${#CRED}" "another credential still reaches its step (its length: ${#CRED})"

# ---- runbookd's own, in other forms: a target that names a credential by its path in
# $CREDENTIALS_DIRECTORY, and a target file that does not load (its text still names one)
printf 'path-key\n' > "$CREDENTIALS_DIRECTORY/path-key"
printf 'broken-key\n' > "$CREDENTIALS_DIRECTORY/broken-key"
jq -n --arg k "$CREDENTIALS_DIRECTORY//path-key" \
    '{connector: "ssh", host: "192.0.2.4", user: "ops", identity: $k, known_hosts: "/dev/null"}' > "$CONFIG_DIR/targets/bypath.json"
echo '{"connector": "ssh", "host": "192.0.2.3", "user": "ops", "identity": "cred:broken-key", "known_hosts": "/dev/null", "typo": 1}' \
    > "$CONFIG_DIR/targets/broken.json"
expect_ok "Reload (a target by path, a broken target)" rb_call root "$MANAGER" "$IFACE_MANAGER" Reload
before=$(list_sessions)
for own in path-key broken-key; do refused_own "$own"; done
assert_eq "$(list_sessions)" "$before" "nothing stored for those refusals"
# a group step already running: a Reload that makes its credential runbookd's own stops it from
# reaching the hosts not started yet (one at a time: local first, then l2)
printf 'late-key-value\n' > "$CREDENTIALS_DIRECTORY/late-key"
DL="$WORK/late"; mkdir -p "$DL"; chmod 777 "$DL"
idl=$(start_session "$ALICE" secret-group-any "$(ref late)" dir "$DL" token cred:late-key) || die "StartSession (late) failed"
for _ in $(seq 200); do [ -e "$DL/first" ] && break; sleep 0.05; done
assert_true "the group step's first host runs" test -e "$DL/first"
echo '{"connector": "ssh", "host": "192.0.2.5", "user": "ops", "identity": "cred:late-key", "known_hosts": "/dev/null"}' \
    > "$CONFIG_DIR/targets/late.json"
expect_ok "Reload (a target naming cred:late-key)" rb_call root "$MANAGER" "$IFACE_MANAGER" Reload
touch "$DL/go"
wait_session_state "$idl" failed 20
results=$(busctl --system --json=short get-property "$BUS_NAME" "$(step_path "$idl" 0)" "$IFACE_STEP" Results)
assert_eq "$(jq -r '.data[] | select(.[0] == "local") | "\(.[1]) \(.[2])"' <<<"$results")" "succeeded 0" \
    "the host started before the Reload ran with the value"
assert_match "$(jq -r '.data[] | select(.[0] == "l2") | "\(.[1]): \(.[7])"' <<<"$results")" \
    "^failed: secret parameter 'token': credential 'late-key' is now one runbookd uses itself" \
    "the host after the Reload did not get it, saying why"
# a plan, which anyone may ask for, does not tell which credentials are runbookd's own
expect_ok "PlanSession with cred:ops-key (a plan does not say)" \
    rb_call "$MALLORY" "$MANAGER" "$IFACE_MANAGER" PlanSession 'sa{ss}' secret-any 1 token cred:ops-key
finish
