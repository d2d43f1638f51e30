#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The audit trail as a hash chain (#14 item 6): runbookctl audit verify on an intact store (the
# journal's session end records agree with it); runbookctl audit export checked offline with the
# recipe of docs/journal.md (sha256sum + jq); then, with runbookd stopped, the audit database
# edited the way an intruder with the files would (mdb_dump | edit | mdb_load): a record altered,
# one removed, one inserted (the rest renumbered), the chain recomputed after a change; verify
# names each, and a fresh store copy verifies again.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
require_runbookctl
command -v mdb_dump >/dev/null && command -v mdb_load >/dev/null || die "mdb_dump/mdb_load missing (tools/setup.sh: lmdb-utils)"

install_runbook two-approvers
write_runbook one <<'JSON'
{ "steps": [ { "name": "only", "run": "true" } ] }
JSON
start_daemon
JD=(); [ -n "${TESTBED_JOURNAL_DIR:-}" ] && JD=(--directory="$TESTBED_JOURNAL_DIR")

# some history: an approved session, a rejected one, a break-glass with its review
id=$(start_session "$ALICE" one "$(ref a)") || die "StartSession failed"
expect_ok "approve" rb_call "$BOB" "$(session_path "$id")" "$IFACE_SESSION" Approve s ""
wait_session_state "$id" succeeded
id=$(start_session "$ALICE" one "$(ref b)") || die "StartSession failed"
expect_ok "reject" rb_call "$BOB" "$(session_path "$id")" "$IFACE_SESSION" Reject s "no"
wait_session_state "$id" rejected
mkdir -p "$WORK/c"
id=$(start_session "$ALICE" two-approvers "$(ref c)" dir "$WORK/c") || die "StartSession failed"
wait_step_state "$id" 0 waiting_approval
expect_ok "break-glass" rb_call "$BOB" "$(session_path "$id")" "$IFACE_SESSION" BreakGlass s "why not"
wait_session_state "$id" succeeded
expect_ok "review" rb_call "$CAROL" "$(session_path "$id")" "$IFACE_SESSION" Review s "ok"

expect_ctl_ok "audit verify (intact)" root "${JD[@]}" audit verify
assert_match "$CTL_OUT" "^The audit chain is intact: 10 records, head [0-9a-f]{64}\\." "verify says it is intact"
assert_match "$CTL_OUT" "3 session end records in the journal name records of this chain; they agree" \
    "the journal's session end records agree"
expect_ctl_ok "audit verify as rbtest-bob (polkit: read-audit)" "$BOB" "${JD[@]}" audit verify
assert_match "$CTL_OUT" "intact.*The journal could not be read" \
    "verify says when it could not compare with the journal (bob may not read the testbed's journal files)"
expect_ctl_fail "mallory may not read the audit trail" "read-audit" "$MALLORY" audit verify

expect_ctl_ok "audit export" "$BOB" audit export
printf '%s\n' "$CTL_OUT" > "$T/audit.jsonl"
n=$(wc -l < "$T/audit.jsonl")
assert_eq "$(jq -r .seq "$T/audit.jsonl" | tr '\n' ' ')" "$(seq -s ' ' 1 "$n") " "one line per record, in order"
assert_eq "$(jq -r .event "$T/audit.jsonl" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" \
    "approve=1 break_glass=1 end=3 reject=1 review=1 start=3 " "every kind of event is there"
# the offline recipe (docs/journal.md): each line's "prev" is the sha256sum of the line before it
prev=0000000000000000000000000000000000000000000000000000000000000000 ok=1
while IFS= read -r line; do
    [ "$(jq -r .prev <<<"$line")" = "$prev" ] || ok=0
    prev=$(printf '%s' "$line" | sha256sum | cut -d' ' -f1)
done < "$T/audit.jsonl"
assert_eq "$ok" 1 "the offline recipe checks every link"
head=$(busctl --system --json=short call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" GetAuditRecords tu 0 1 | jq -r '.data[2]')
assert_eq "$prev" "$head" "the last line hashes to the store's head"
assert_eq "$(journal MESSAGE_ID=6719122ff9d54508a2e3b8610b273926 RUNBOOK_SESSION="$id" | jq -r .RUNBOOK_AUDIT_HEAD | tail -n 1)" \
    "$(sed -n "$(journal MESSAGE_ID=6719122ff9d54508a2e3b8610b273926 RUNBOOK_SESSION="$id" | jq -r .RUNBOOK_AUDIT_SEQ | tail -n 1)p" "$T/audit.jsonl" |
       tr -d '\n' | sha256sum | cut -d' ' -f1)" "the journal's end record names the hash of its end record"

kill_daemon -TERM
cp -a "$STATE_DIR" "$T/pristine"

# ---- edits with the LMDB tools, runbookd stopped. The dump is printable (-p): each record a key
# line and a value line, both starting with a space; keys are 8 bytes, \00…\0N for N < 32.
# (as an awk string literal: each backslash doubled)
key() { printf ' \\\\00\\\\00\\\\00\\\\00\\\\00\\\\00\\\\00\\\\%02x' "$1"; }
# The store copied database by database: the audit database through AWK-PROGRAM (printable dump),
# the others as they are (hex dumps: mdb_dump -p does not escape a backslash byte, which mdb_load
# then misreads; the audit records are JSON text without one); META-AWK, if given, edits meta's
# hex dump.
edit_audit() { # AWK-PROGRAM [META-AWK]
    local db
    rm -rf "$T/edited" && mkdir "$T/edited"
    for db in $(mdb_dump -a "$T/pristine" | sed -n 's/^database=//p'); do
        if [ "$db" = audit ]; then
            mdb_dump -p -s audit "$T/pristine" > "$T/dump" || die "mdb_dump failed"
            awk "$1" "$T/dump" > "$T/dump.edited" || die "awk failed"
        else
            mdb_dump -s "$db" "$T/pristine" > "$T/dump.$db" || die "mdb_dump $db failed"
            if [ "$db" = meta ] && [ -n "${2:-}" ]; then
                awk "$2" "$T/dump.$db" > "$T/dump.$db.edited" && mv "$T/dump.$db.edited" "$T/dump.$db" || die "awk failed"
            fi
        fi
        mdb_load -s "$db" -f "$( [ "$db" = audit ] && echo "$T/dump.edited" || echo "$T/dump.$db")" "$T/edited" \
            2>"$T/load.err" || die "mdb_load $db failed: $(grep -v 'keyword ignored' "$T/load.err")"
    done
    rm -rf "$STATE_DIR" && cp -a "$T/pristine" "$STATE_DIR" && cp "$T/edited/data.mdb" "$STATE_DIR/data.mdb"
}
verify_broken() { # DESC ERE: start runbookd on the edited store, verify must name the record
    start_daemon
    expect_ctl_fail "$1" "$2" root "${JD[@]}" audit verify
    kill_daemon -TERM
}
AWK_HEAD='BEGIN { db = "" } /^database=/ { db = substr($0, 10) } '

# altered: record 2's event says "reject" instead of "approve"
edit_audit "$AWK_HEAD"'db == "audit" && prevkey == "'"$(key 2)"'" { sub(/"event":"approve"/, "\"event\":\"reject\"") }
                       { print; prevkey = $0 }'
assert_false "the edit took" cmp -s "$T/dump" "$T/dump.edited"
verify_broken "an altered record" "The audit chain is broken: record 2 was changed \\(record 3 recorded its hash as"

# removed: record 6 and its key gone
edit_audit "$AWK_HEAD"'db == "audit" && ($0 == "'"$(key 6)"'" || skip) { skip = !skip; next } { print }'
verify_broken "a removed record" "The audit chain is broken: record 6 is missing \\(removed\\): the records go from 5 to 7"

# inserted: a copy of record 2 put in as record 3, the records after it renumbered
edit_audit "$AWK_HEAD"'function num(k) { return (index("0123456789abcdef", substr(k, length(k) - 1, 1)) - 1) * 16 + index("0123456789abcdef", substr(k, length(k), 1)) - 1 }
    function renum(k) { return sprintf(" \\00\\00\\00\\00\\00\\00\\00\\%02x", num(k) + 1) }
    db == "audit" && /^ \\00\\00\\00\\00\\00\\00\\00\\[0-9a-f][0-9a-f]$/ { k = $0; getline v
        n = num(k)
        if (n == 2) { print k; print v; print renum(k); print v; next }
        if (n >= 3) { print renum(k); print v; next }
        print k; print v; next }
    { print }'
verify_broken "an inserted record" "The audit chain is broken: record 3 was inserted \\(it says it is record 2"

# removed at the end (the last record and the head kept as they were: the chain ends early)
last=$(wc -l < "$T/audit.jsonl")
edit_audit "$AWK_HEAD"'db == "audit" && ($0 == "'"$(key "$last")"'" || skip) { skip = !skip; next } { print }'
verify_broken "the last record removed" "records were removed at the end"

# recomputed: record 2 altered, and every later link and the store's head computed again, as
# someone who knows the format would: the chain holds together, only the journal's session end
# records (RUNBOOK_AUDIT_HEAD) still know the old one
mdb_dump -p -s audit "$T/pristine" > "$T/dump"
awk "$AWK_HEAD"'db == "audit" && /^ \\00/ { getline v; print substr(v, 2) }' "$T/dump" > "$T/texts"
sed -i '2s/"event":"approve"/"event":"reject"/' "$T/texts"
prev=0000000000000000000000000000000000000000000000000000000000000000
: > "$T/texts.new"
while IFS= read -r line; do
    line=$(sed "s/\"prev\":\"[0-9a-f]*\"/\"prev\":\"$prev\"/" <<<"$line")
    printf ' %s\n' "$line" >> "$T/texts.new"
    prev=$(printf '%s' "$line" | sha256sum | cut -c1-64)
done < "$T/texts"
# meta's hex dump: the key "audit_head" is 61756469745f68656164, its value the 32 bytes in hex
edit_audit "$AWK_HEAD"'BEGIN { while ((getline l < "'"$T/texts.new"'") > 0) t[++n] = l }
    db == "audit" && /^ \\00/ { print; getline v; print t[++i]; next }
    { print }' \
    '$0 == " 61756469745f68656164" { print; getline v; print " '"$prev"'"; next } { print }'
start_daemon
assert_eq "$(busctl --system --json=short call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" GetAuditRecords tu 0 1 | jq -r '.data[2]')" \
    "$prev" "the edited store's head is the recomputed one"
expect_ctl_fail "a chain computed again after a change" \
    "The audit chain is broken: record 3 is not the one the journal saw at a session's end \\(journal: [0-9a-f]+…, store: [0-9a-f]+…\\): the chain was changed and computed again" \
    root "${JD[@]}" audit verify
kill_daemon -TERM

# the original store again: intact
rm -rf "$STATE_DIR" && cp -a "$T/pristine" "$STATE_DIR"
start_daemon
expect_ctl_ok "audit verify on the original store" "$BOB" "${JD[@]}" audit verify
finish
