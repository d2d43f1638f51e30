#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Secret parameters (issue #15, item 3) over SSH, against the testbed's real sshd (no AcceptEnv):
# the values are sent on the channel's stdin and read as data into RUNBOOK_SECRET_* by the remote
# shell; no command line on the host (ps, /proc/*/cmdline, sampled while the step runs) holds one;
# the command's own stdin is empty; the output is masked; the journal, the properties and the
# store never hold a value; a pooled connection runs the next step with its own values.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

LIT="ssh-Lit s3cr3t-'v';\$(touch /tmp/pwned-ssh)"
CRED="ssh-cred-T0ken-4711"
export CREDENTIALS_DIRECTORY="$T/creds" RUNTIME_DIRECTORY="$T/run"
mkdir -p "$CREDENTIALS_DIRECTORY" "$RUNTIME_DIRECTORY"
chmod 700 "$CREDENTIALS_DIRECTORY" "$RUNTIME_DIRECTORY"
printf '%s\n' "$CRED" > "$CREDENTIALS_DIRECTORY/api-token"

write_ssh_target web
write_runbook ssh-secret <<'JSON'
{
  "target": "web",
  "parameters": { "dir": { "pattern": "^/[A-Za-z0-9/._-]+$" }, "token": { "secret": true, "credentials": [ "api-token" ] }, "apikey": { "secret": true } },
  "steps": [ { "name": "use them", "approval": "none", "timeout": 60,
               "run": "printf %s \"$RUNBOOK_SECRET_TOKEN/$RUNBOOK_SECRET_APIKEY\" | sha256sum | cut -c1-64 > {{dir}}/sum; echo \"t=$RUNBOOK_SECRET_TOKEN a=$RUNBOOK_SECRET_APIKEY\"; echo \"e=$RUNBOOK_SECRET_APIKEY\" >&2; cat; echo stdin-done; touch {{dir}}/ready; while [ ! -e {{dir}}/go ]; do sleep 0.05; done" },
             { "name": "again, on the pooled connection", "approval": "none",
               "run": "printf %s \"$RUNBOOK_SECRET_TOKEN\" | sha256sum | cut -c1-64 > {{dir}}/sum2" } ]
}
JSON
start_daemon

R=$(ref s1) D="$WORK/s1"; mkdir -p "$D"; chmod 777 "$D"
id=$(start_session "$ALICE" ssh-secret "$R" dir "$D" token cred:api-token apikey "$LIT") || die "StartSession failed"
wait_file "$D/ready" 30 || die "the step did not get ready: $(step_prop "$id" 0 State) $(step_prop "$id" 0 Error)"
args=$(ps -eo args 2>/dev/null; for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < "$f" 2>/dev/null; echo; done)
assert_true "ps: the remote step's shell is in the sample" grep -qF -- 'RUNBOOK_SECRET_TOKEN' <<<"$args"
assert_false "ps: the literal value is on no command line" grep -qF -- "$LIT" <<<"$args"
assert_false "ps: the credential's value is on no command line" grep -qF -- "$CRED" <<<"$args"
touch "$D/go"
wait_session_state "$id" succeeded 30
assert_eq "$(cat "$D/sum")" "$(printf %s "$CRED/$LIT" | sha256sum | cut -c1-64)" "the remote command had both values"
assert_eq "$(cat "$D/sum2")" "$(printf %s "$CRED" | sha256sum | cut -c1-64)" "the next step on the pooled connection too"
assert_false "the literal value was data, never code" test -e /tmp/pwned-ssh
get_output "$id" 0
assert_eq "$OUT_STDOUT" "$(printf 't=*** a=***\nstdin-done')" "stdout masked; the command's stdin was empty"
assert_eq "$OUT_STDERR" "e=***" "stderr masked"

allprops=""
for p in "$(session_path "$id")" "$(step_path "$id" 0)" "$(step_path "$id" 1)"; do
    for i in "$IFACE_SESSION" "$IFACE_STEP"; do
        allprops+=$(busctl --system --json=short call "$BUS_NAME" "$p" org.freedesktop.DBus.Properties GetAll s "$i" 2>/dev/null)
    done
done
assert_match "$allprops" 'cred:api-token' "the properties were read"
exported=$(_journalctl -o export 2>/dev/null)
for v in "$LIT" "$CRED"; do
    assert_false "no D-Bus property holds a value" grep -qF -- "$v" <<<"$allprops"
    assert_false "the journal holds no value" grep -qaF -- "$v" <<<"$exported"
    assert_false "the daemon's log holds no value" grep -qaF -- "$v" "$DAEMON_LOG"
done
kill_daemon -TERM
st=$(strings -n 4 "$STATE_DIR/data.mdb")
for v in "$LIT" "$CRED"; do
    assert_false "the store holds no value" grep -qF -- "$v" <<<"$st"
done
finish
