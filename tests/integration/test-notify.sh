#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Notifications (#14 item 3) against a real HTTP(S) receiver (tests/notify-receiver/receiver.py)
# and a real program run as an unprivileged user:
#   - runbookd.json errors name the sink and the key (and the daemon does not start);
#   - approval_needed, step_failed, session_finished: the document (exact command, target,
#     digest, approvals, link, a one-line text with a caller's chat markup made inert), the
#     Runbookd-Event-Id header, an Authorization header from a credential (in no log, nor store);
#   - faults (500, 429 with Retry-After, a closed connection, a timeout): each event delivered,
#     once per event id, and the Retry-After honoured; the sink's failing and recovery records;
#   - HTTPS with the test CA, "events" and "runbooks" filters;
#   - approval_reminder, approval_expired; break_glass (with its reason) and review_needed;
#   - a kill -9 after the commit and before delivery: sent after the restart, once;
#   - a dead sink (connection refused): the session is not held up; given up after max_age
#     (a journal record); a sink removed from runbookd.json gives up what waited for it;
#   - an "exec" sink: the document on stdin of a program run as nobody, retried after a failure.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_runbookctl

notify_receiver_up '{"paths": {"/flaky": {"faults": [{"status": 500}, {"status": 429, "retry_after": 2}, {"close": true}, {"delay": 6}]}}}'
mkdir -p "$T/creds" && chmod 700 "$T/creds"
export CREDENTIALS_DIRECTORY="$T/creds"
printf 'Bearer s3cr3t-t0ken-%s\n' "$$" > "$T/creds/hook-token"
TOKEN="s3cr3t-t0ken-$$"
chmod 600 "$T/creds/hook-token"

# the program of the exec sink: root's, in a root-owned directory (runbookd runs only what is
# as trusted as its configuration); it fails once, then keeps each document it gets in $1
cat > "$CONFIG_DIR/notify-prog" <<'SH'
#!/bin/sh
out=$1
[ -d "$out" ] || exit 3
if [ ! -e "$out/failed-once" ]; then : > "$out/failed-once"; exit 75; fi
cat > "$out/$RUNBOOKD_EVENT_ID.json"
printf '%s %s %s\n' "$(id -un)" "$RUNBOOKD_EVENT" "$RUNBOOKD_SINK" > "$out/$RUNBOOKD_EVENT_ID.who"
SH
chmod 755 "$CONFIG_DIR/notify-prog"
EXEC_OUT=$WORK/exec
mkdir -m 1777 "$EXEC_OUT"

write_runbook notify-flow <<'JSON'
{ "parameters": { "dir": { "pattern": "^/[A-Za-z0-9/._-]+$" } },
  "steps": [
    { "name": "gated", "run": "echo gated ran > {{dir}}/gated.marker" },
    { "name": "breaks", "run": "echo failing; exit 3", "approval": "none" } ] }
JSON
write_runbook notify-expire <<'JSON'
{ "steps": [ { "name": "waits", "run": "true", "approval_timeout": 3, "remind_before": 2 } ] }
JSON
write_runbook notify-glass <<'JSON'
{ "steps": [ { "name": "urgent", "run": "true", "approvers": 2 } ] }
JSON
write_runbook other-quiet <<'JSON'
{ "steps": [ { "name": "plain", "run": "true", "approval": "none" } ] }
JSON

# ---- runbookd.json errors name what is wrong and where
bad() {
    write_config "$1"
    timeout 10 "$RUNBOOKD" --config-dir="$CONFIG_DIR" --state-dir="$STATE_DIR" > "$T/bad.log" 2>&1
    assert_match "$(cat "$T/bad.log")" "$2" "refused: $3"
}
bad '{"notify": [{"webhook": "http://127.0.0.1:1/x", "events": ["approval_needed", "nope"]}]}' \
    'runbookd.json: \$\.notify\[0\]\.events\[1\]: not an event' "an unknown event"
bad '{"notify": [{"webhook": "ftp://x"}]}' '\$\.notify\[0\]\.webhook: the value is not an http:// or https:// URL' "a URL that is not HTTP"
bad '{"notify": [{"webhook": "http://x/", "headers": {"Runbookd-Event-Id": "x"}}]}' \
    '\$\.notify\[0\]\.headers\["Runbookd-Event-Id"\]: runbookd sets this header itself' "a header runbookd sets"
bad '{"notify": [{"webhook": "http://x/", "headers": {"Authorization": "cred:missing"}}]}' \
    "\\\$\\.notify\\[0\\]\\.headers\\.Authorization: credential 'missing' cannot be read" "a credential that is not there"
bad '{"notify": [{"exec": "/tmp/../tmp/nowhere"}]}' '\$\.notify\[0\]\.exec: /tmp/../tmp/nowhere: No such file' "a program that is not there"
bad '{"notify": [{"exec": "'"$CONFIG_DIR"'/notify-prog", "user": "root"}]}' \
    "\\\$\\.notify\\[0\\]\\.user: the program must run as an unprivileged user" "a program run as root"
bad '{"notify": [{"webhook": "http://x/"}, {"name": "webhook-1", "webhook": "http://y/"}]}' \
    "\\\$\\.notify\\[1\\]: a second sink named 'webhook-1'" "two sinks of one name"
cp "$CONFIG_DIR/notify-prog" "$WORK/notify-prog" && chmod 755 "$WORK/notify-prog"
bad '{"notify": [{"exec": "'"$WORK"'/notify-prog"}]}' '\$\.notify\[0\]\.exec: .*writable' "a program in a world-writable directory"

DEAD_PORT=$(free_tcp_port)
config() {   # config FLAKY_URL: the sinks of this test
    write_config "$(jq -n --arg flaky "$1" --arg https "$NR_HTTPS/secure" --arg ca "$NR_CA" \
        --arg dead "http://127.0.0.1:$DEAD_PORT/dead" --arg prog "$CONFIG_DIR/notify-prog" --arg out "$EXEC_OUT" '
      {console_url: "https://console.example:9090/runbookd",
       notify: [
         {name: "flaky", webhook: $flaky, headers: {Authorization: "cred:hook-token"}, timeout: 2,
          runbooks: ["notify-*"]},
         {name: "secure", webhook: $https, ca_file: $ca, events: ["session_finished"]},
         {name: "dead", webhook: $dead, max_age: 4, events: ["approval_needed"], runbooks: ["notify-flow"]},
         {name: "mail", exec: $prog, args: [$out], events: ["break_glass"], timeout: 10}
       ]}')"
}
config "$NR_HTTP/flaky"
start_daemon

# ---- approval_needed, step_failed, session_finished through faults
R="$(ref flow) <!channel> @here"
D="$WORK/flow"; mkdir -p "$D"
t0=$(date +%s%N)
id=$(start_session "$ALICE" notify-flow "$R" dir "$D") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
expect_ok "bob approves" rb_call "$BOB" "$(session_path "$id")" "$IFACE_SESSION" Approve s "ok"
wait_session_state "$id" failed 20
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_true "the failing and dead sinks did not hold the session up (${ms} ms)" test "$ms" -lt 10000

# the three events reach /flaky, each answered 200 once, despite 500, 429, a closed connection and
# a timeout before them (1 s, 2 s (Retry-After), 2 s, then 2 s of timeout and 4 s of backoff)
notify_wait_requests 3 40 'select(.path == "/flaky" and .answer == 200)' ||
    fail "three notifications delivered to /flaky: $(notify_requests | jq -c '[.path, .answer, .fault]' | tr '\n' ' ')"
notify_requests > "$T/req.jsonl"
ok_ids=$(jq -r 'select(.path == "/flaky" and .answer == 200) | .headers["runbookd-event-id"]' "$T/req.jsonl" | sort)
all_ids=$(jq -r 'select(.path == "/flaky") | .headers["runbookd-event-id"]' "$T/req.jsonl" | sort -u)
assert_eq "$(wc -l <<<"$ok_ids")" 3 "three events answered 200 on /flaky"
assert_eq "$(sort -u <<<"$ok_ids" | wc -l)" 3 "each event id answered 200 once"
assert_eq "$ok_ids" "$all_ids" "every event id tried was delivered"
assert_eq "$(jq -r 'select(.path == "/flaky" and .answer == 200) | .body.event' "$T/req.jsonl" | sort | tr '\n' ' ')" \
    "approval_needed session_finished step_failed " "approval_needed, step_failed and session_finished"
faults=$(jq -rs '[.[] | select(.path == "/flaky")] | sort_by(.n) | .[] | .fault // "ok"' "$T/req.jsonl" | tr '\n' '|')
assert_match "$faults" "^status 500[|]status 429, retry_after 2[|]close[|]delay 6 \(client gone\)[|]ok" \
    "the faults came first, in order: $faults"
gap=$(jq -s '[.[] | select(.path == "/flaky")] | sort_by(.n) | (.[2].time - .[1].time)' "$T/req.jsonl")
assert_true "the request after the 429 came at least 2 s later (Retry-After; ${gap}s)" awk -v g="$gap" 'BEGIN { exit !(g >= 1.95) }'
assert_true "all of them carry the Authorization header from the credential" \
    test "$(jq -r 'select(.path == "/flaky") | .headers.authorization' "$T/req.jsonl" | sort -u)" = "Bearer $TOKEN"
assert_eq "$(jq -r 'select(.path == "/flaky") | (.headers["runbookd-event-id"] == .body.event_id)' "$T/req.jsonl" | sort -u)" \
    true "Runbookd-Event-Id is the document's event_id"
assert_eq "$(jq -r 'select(.path == "/flaky") | .headers["content-type"]' "$T/req.jsonl" | sort -u)" "application/json" \
    "Content-Type: application/json"

need=$(jq -c 'select(.path == "/flaky" and .answer == 200 and .body.event == "approval_needed") | .body' "$T/req.jsonl")
assert_eq "$(jq -r .session <<<"$need")" "$id" "approval_needed: session"
assert_eq "$(jq -r .runbook <<<"$need")" notify-flow "approval_needed: runbook"
assert_eq "$(jq -r .reference <<<"$need")" "$R" "approval_needed: the reference exactly as given"
assert_eq "$(jq -r .step.command <<<"$need")" "echo gated ran > '$D'/gated.marker" "approval_needed: the exact command (the parameter quoted)"
assert_eq "$(jq -r .step.target <<<"$need")" local "approval_needed: the target"
assert_eq "$(jq -r .step.digest <<<"$need")" "$(step_prop "$id" 0 Digest)" "approval_needed: the step's digest"
assert_eq "$(jq -c .approvals <<<"$need")" '{"given":0,"needed":1,"by":[]}' "approval_needed: approvals given and needed"
assert_eq "$(jq -r .url <<<"$need")" "https://console.example:9090/runbookd#/session/$id" "approval_needed: the console link"
assert_eq "$(jq -r .deadline <<<"$need")" null "approval_needed: no deadline"
text=$(jq -r .text <<<"$need")
assert_match "$text" "session $id \\(notify-flow, .*\\): main step 0 \"gated\" on local waits for approval \\(0 of 1 given\\) https://" \
    "approval_needed: a readable one-line text ($text)"
assert_match "$text" "&lt;!channel&gt; @"$'\u200b'"here" "the caller's chat markup is inert in the text"
assert_false "no raw <!channel> in the text" grep -qF '<!channel>' <<<"$text"
failed=$(jq -c 'select(.path == "/flaky" and .answer == 200 and .body.event == "step_failed") | .body' "$T/req.jsonl")
assert_eq "$(jq -r '.step.index, .step.state, .step.exit_status' <<<"$failed" | tr '\n' ' ')" "1 failed 3 " \
    "step_failed: step 1, failed, exit status 3"
fin=$(jq -c 'select(.path == "/flaky" and .answer == 200 and .body.event == "session_finished") | .body' "$T/req.jsonl")
assert_eq "$(jq -r .state <<<"$fin")" failed "session_finished: the session's state"
assert_eq "$(jq -r .step <<<"$fin")" null "session_finished: no step"

# the HTTPS sink took session_finished only, once
notify_wait_requests 1 20 'select(.path == "/secure" and .answer == 200)' || fail "nothing reached /secure"
assert_eq "$(notify_requests | jq -r 'select(.path == "/secure") | .scheme + " " + .body.event + " " + (.body.session | tostring)')" \
    "https session_finished $id" "the HTTPS sink (test CA) got session_finished, once"
# the sink's failing and recovery are on the record, once each
assert_eq "$(journal_wait 1 RUNBOOK_NOTIFY_SINK=flaky MESSAGE_ID=fa2df1ff7d994f7d8d941bb22fc26e0b)" 1 "one 'sink fails' record for flaky"
assert_eq "$(journal_wait 1 RUNBOOK_NOTIFY_SINK=flaky MESSAGE_ID=e162b6b3e389455381fae06c66a2eb48)" 1 "one 'works again' record for flaky"

# the dead sink: the session went on; the notification is given up after max_age (4 s)
assert_eq "$(journal_wait 1 RUNBOOK_NOTIFY_SINK=dead MESSAGE_ID=e5a62a4d8cda4be7b313cb9c60da615b)" 1 \
    "the dead sink's notification is given up (a journal record)"
assert_match "$(journal_messages RUNBOOK_NOTIFY_SINK=dead MESSAGE_ID=e5a62a4d8cda4be7b313cb9c60da615b)" \
    "approval_needed notification of session $id .* not delivered within max_age \\(4\\.000s\\)" "it says why"

# no secret anywhere
assert_false "the token is not in the daemon's log" grep -qF "$TOKEN" "$DAEMON_LOG"
journal _PID="$DAEMON_PID" > "$T/journal.json"
assert_false "the token is not in the journal" grep -qF "$TOKEN" "$T/journal.json"
assert_false "the token is not in the store" sh -c "strings '$STATE_DIR/data.mdb' | grep -qF '$TOKEN'"

# ---- other-quiet matches no "runbooks" of flaky, and no event of secure but session_finished
q=$(start_session "$ALICE" other-quiet "$(ref quiet)") || die "StartSession failed"
wait_session_state "$q" succeeded
notify_wait_requests 1 20 "select(.body.session == $q)" || fail "session_finished of $q did not reach /secure"
assert_eq "$(notify_requests | jq -r "select(.body.session == $q) | .path + \" \" + .body.event")" "/secure session_finished" \
    "a runbook outside flaky's \"runbooks\" reaches only the sink for every runbook"

# events_of ID: the events of session ID delivered to /flaky, in the order they were committed
events_of() {
    notify_requests | jq -rs --argjson id "$1" '[.[] | select(.path == "/flaky" and .answer == 200 and .body.session == $id)]
        | sort_by(.body.event_id | split("-") | last | tonumber) | .[].body.event' | tr '\n' ' '
}

# ---- reminder and expiry
e=$(start_session "$ALICE" notify-expire "$(ref exp)") || die "StartSession failed"
wait_session_state "$e" expired 20
notify_wait_requests 3 20 "select(.path == \"/flaky\" and .answer == 200 and .body.session == $e)" ||
    fail "approval_needed, reminder and expiry of $e"
assert_eq "$(events_of "$e")" \
    "approval_needed approval_reminder approval_expired session_finished " "needed, reminder, expired, finished, in order"
rem=$(notify_requests | jq -c "select(.body.session == $e and .body.event == \"approval_reminder\") | .body")
assert_eq "$(jq -r .deadline <<<"$rem")" "$(jq -r .step.deadline <<<"$rem")" "the reminder carries the deadline"
assert_ne "$(jq -r .deadline <<<"$rem")" null "a deadline it is"
assert_match "$(jq -r .text <<<"$rem")" "still waits for approval \\(0 of 1 given\\); it expires at 20" "the reminder's text"

# ---- break-glass (and its program), review_needed
g=$(start_session "$ALICE" notify-glass "$(ref glass)") || die "StartSession failed"
wait_step_state "$g" 0 waiting_approval
expect_ok "carol breaks the glass" rb_call "$CAROL" "$(session_path "$g")" "$IFACE_SESSION" BreakGlass s "db down, <!here> paging"
wait_session_state "$g" succeeded
notify_wait_requests 4 20 "select(.path == \"/flaky\" and .answer == 200 and .body.session == $g)" ||
    fail "the notifications of $g"
assert_eq "$(events_of "$g")" \
    "approval_needed break_glass session_finished review_needed " "needed, break_glass, finished, review_needed"
bg=$(notify_requests | jq -c "select(.body.session == $g and .body.event == \"break_glass\") | .body")
assert_eq "$(jq -r .reason <<<"$bg")" "db down, <!here> paging" "break_glass: the reason exactly"
assert_match "$(jq -r .by <<<"$bg")" "^$CAROL" "break_glass: by carol"
assert_match "$(jq -r .text <<<"$bg")" "^BREAK-GLASS .* was run by $CAROL without the approvals it needed\\. Reason: db down, &lt;!here&gt; paging" \
    "break_glass: its text"
assert_eq "$(notify_requests | jq -r "select(.body.session == $g and .body.event == \"review_needed\") | .body.review")" required \
    "review_needed: review required"
# the program: retried after its first failure (exit 75), then got the document on stdin, as nobody
for _ in $(seq 100); do ls "$EXEC_OUT"/*.who >/dev/null 2>&1 && break; sleep 0.2; done
who=$(cat "$EXEC_OUT"/*.who 2>/dev/null)
assert_eq "$who" "nobody break_glass mail" "the exec sink ran as nobody for break_glass"
doc=$(cat "$EXEC_OUT"/*.json 2>/dev/null)
assert_eq "$(jq -r '.event + " " + (.session | tostring)' <<<"$doc")" "break_glass $g" "the document came on its stdin"
assert_eq "$(basename "$EXEC_OUT"/*.json .json)" "$(jq -r .event_id <<<"$doc")" "RUNBOOKD_EVENT_ID is its event id"
assert_true "it failed once first" test -e "$EXEC_OUT/failed-once"

# ---- kill -9 after the commit, before the delivery: sent after the restart, once
config "http://127.0.0.1:$DEAD_PORT/flaky"   # flaky now points nowhere
kill_daemon -TERM
start_daemon
k=$(start_session "$ALICE" notify-flow "$(ref kill)" dir "$D") || die "StartSession failed"
wait_step_state "$k" 0 waiting_approval
assert_eq "$(journal_wait 1 RUNBOOK_NOTIFY_SINK=flaky MESSAGE_ID=fa2df1ff7d994f7d8d941bb22fc26e0b _PID="$DAEMON_PID")" 1 \
    "its approval_needed was committed and could not be sent"
kill_daemon -9
assert_eq "$(notify_requests | jq -r "select(.body.session == $k)" | wc -l)" 0 "nothing of session $k was received"
config "$NR_HTTP/flaky"
start_daemon
notify_wait_requests 1 20 "select(.body.session == $k and .answer == 200)" || fail "approval_needed of $k after the restart"
assert_eq "$(notify_requests | jq -r "select(.body.session == $k) | .body.event")" approval_needed \
    "after the restart, approval_needed of $k was sent, once"

# ---- a sink removed from runbookd.json gives up what waited for it
config "http://127.0.0.1:$DEAD_PORT/flaky"
expect_ok "Reload" rb root call org.runbookd1 "$MANAGER" "$IFACE_MANAGER" Reload
x=$(start_session "$ALICE" notify-glass "$(ref gone)") || die "StartSession failed"
wait_step_state "$x" 0 waiting_approval
write_config '{}'
expect_ok "Reload without the sinks" rb root call org.runbookd1 "$MANAGER" "$IFACE_MANAGER" Reload
assert_eq "$(journal_wait 1 RUNBOOK_NOTIFY_SINK=flaky RUNBOOK_SESSION="$x" MESSAGE_ID=e5a62a4d8cda4be7b313cb9c60da615b)" 1 \
    "the removed sink's notification is given up"
assert_match "$(journal_messages RUNBOOK_NOTIFY_SINK=flaky RUNBOOK_SESSION="$x" MESSAGE_ID=e5a62a4d8cda4be7b313cb9c60da615b)" \
    "no longer in runbookd.json" "it says why"
rb_call "$ALICE" "$(session_path "$x")" "$IFACE_SESSION" Cancel >/dev/null
assert_eq "$(mdb_stat -s outbox "$STATE_DIR" 2>/dev/null | sed -n 's/.*Entries: //p')" 0 "the outbox is empty"
finish
