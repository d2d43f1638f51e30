#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# runbookctl basics: runbooks, targets, list and status as tables and as --json (checked against
# what the daemon says over D-Bus), --no-legend, --help on every verb, --version, one-line
# "runbookctl: " errors for an unknown verb, a missing argument, a bad option and a session that
# does not exist, and no ANSI escapes when the output is a pipe.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# The JSON field names of runbookctl (man/runbookctl.1), in one place.
J='def r_name: .name; def r_description: .description;
   def t_name: .name; def t_connector: .connector;
   def s_id: .id; def s_runbook: .runbook; def s_reference: .reference; def s_state: .state;
   def s_created_by: .created_by;
   def st_version: .version; def st_pending: .pending_approvals;'
VERBS=(runbooks targets start list pending show approve reject cancel retry watch output logs status)

require_runbookctl
install_runbook scenario echo long-running
cat > "$CONFIG_DIR/targets/web-01.json" <<'EOF'
{ "connector": "ssh", "host": "192.0.2.10", "port": 22, "user": "ops", "known_hosts": "/etc/ssh/ssh_known_hosts",
  "description": "test web server" }
EOF
start_daemon
VERSION=$(prop "$MANAGER" "$IFACE_MANAGER" Version)
assert_ne "$VERSION" "" "the daemon has a Version"

R1=$(ref cli1) R2=$(ref cli2)
id1=$(start_session "$ALICE" echo "$R1" value hello) || die "StartSession failed"
wait_session_state "$id1" succeeded
id2=$(start_session "$BOB" scenario "$R2" dir "$WORK/b2") || die "StartSession failed"
wait_session_state "$id2" waiting_approval

out=$T/out; mkdir -p "$out"
# --- runbooks
export TERM=xterm-256color     # a terminal type that has colours: still none in a pipe
expect_ctl_ok "runbooks" root runbooks
printf '%s\n' "$CTL_OUT" > "$out/runbooks"
for n in scenario echo long-running; do
    assert_true "runbooks lists $n" grep -qw -- "$n" "$out/runbooks"
done
assert_eq "$(nonempty_lines < "$out/runbooks")" 5 "runbooks: a header, 3 runbooks and a legend line"
header=$(head -n 1 "$out/runbooks")
assert_false "runbooks: the header is not a runbook row" grep -qw -e scenario -e echo -e long-running <<<"$header"
expect_ctl_ok "runbooks --no-legend" root runbooks --no-legend
printf '%s\n' "$CTL_OUT" > "$out/runbooks-nolegend"
assert_eq "$(nonempty_lines < "$out/runbooks-nolegend")" 3 "runbooks --no-legend: only the 3 rows"
assert_false "runbooks --no-legend: no header line" grep -qxF -- "$header" "$out/runbooks-nolegend"
assert_eq "$(grep -c -w -e scenario -e echo -e long-running "$out/runbooks-nolegend")" 3 "runbooks --no-legend: each row names its runbook"

expect_ctl_ok "runbooks --json=short" root runbooks --json=short
rows=$(json_rows <<<"$CTL_OUT") || rows=null
assert_eq "$(jq -r "$J"' length' <<<"$rows")" 3 "runbooks --json: 3 entries"
assert_eq "$(jq -r "$J"' [.[] | r_name] | sort | join(",")' <<<"$rows")" \
    "$(list_runbooks | jq -r '[.[][0]] | sort | join(",")')" "runbooks --json: the daemon's runbook names"
assert_eq "$(jq -r "$J"' .[] | select(r_name == "echo") | r_description' <<<"$rows")" \
    "$(list_runbooks | jq -r '.[] | select(.[0] == "echo") | .[1]')" "runbooks --json: the description"
assert_match "$(grep -c . <<<"$CTL_OUT")" '^(1|3)$' "runbooks --json=short is compact (one line, or one line per entry)"
expect_ctl_ok "runbooks --json=pretty" root runbooks --json=pretty
assert_eq "$(json_rows <<<"$CTL_OUT" | jq -S -c .)" "$(jq -S -c . <<<"$rows")" "runbooks --json=pretty: the same data as short"
assert_true "runbooks --json=pretty is indented" test "$(grep -c . <<<"$CTL_OUT")" -gt 3
expect_ctl_ok "runbooks --json=off" root runbooks --json=off
assert_eq "$CTL_OUT" "$(cat "$out/runbooks")" "runbooks --json=off: the table"
expect_ctl_fail "runbooks --json=bogus is refused" 'bogus|json' root runbooks --json=bogus

# --- targets
daemon_targets=$(busctl --system --json=short call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" ListTargets | jq -c '.data[0]')
assert_eq "$(jq -r '[.[][0]] | sort | join(",")' <<<"$daemon_targets")" "local,web-01" "the daemon has the targets local and web-01"
expect_ctl_ok "targets" root targets
printf '%s\n' "$CTL_OUT" > "$out/targets"
assert_true "targets lists local" grep -qw local "$out/targets"
assert_true "targets lists web-01 with its connector" grep -E -q '(^|[[:space:]])web-01[[:space:]].*ssh' "$out/targets"
assert_eq "$(nonempty_lines < "$out/targets")" 4 "targets: a header, 2 targets and a legend line"
expect_ctl_ok "targets --no-legend" root targets --no-legend
assert_eq "$(nonempty_lines <<<"$CTL_OUT")" 2 "targets --no-legend: only the 2 rows"
expect_ctl_ok "targets --json=short" root targets --json=short
rows=$(json_rows <<<"$CTL_OUT") || rows=null
assert_eq "$(jq -r "$J"' [.[] | t_name] | sort | join(",")' <<<"$rows")" "local,web-01" "targets --json: names"
assert_eq "$(jq -r "$J"' .[] | select(t_name == "web-01") | t_connector' <<<"$rows")" ssh "targets --json: web-01's connector"
assert_eq "$(jq -r "$J"' .[] | select(t_name == "local") | t_connector' <<<"$rows")" local "targets --json: local's connector"

# --- list
expect_ctl_ok "list" root list
printf '%s\n' "$CTL_OUT" > "$out/list"
assert_eq "$(nonempty_lines < "$out/list")" 4 "list: a header, 2 sessions and a legend line"
row1=$(awk -v id="$id1" '$1 == id' "$out/list") row2=$(awk -v id="$id2" '$1 == id' "$out/list")
assert_match "$row1" "echo.*$R1.*succeeded.*$ALICE" "list: session $id1's row (runbook, reference, state, creator)"
assert_match "$row2" "scenario.*$R2.*waiting_approval.*$BOB" "list: session $id2's row"
assert_true "list: newest first" test "$(grep -n -w -m1 "^ *$id2" "$out/list" | cut -d: -f1)" -lt "$(grep -n -w -m1 "^ *$id1" "$out/list" | cut -d: -f1)"
expect_ctl_ok "list --no-legend" root list --no-legend
assert_eq "$(nonempty_lines <<<"$CTL_OUT")" 2 "list --no-legend: only the 2 rows"
assert_eq "$(awk '{print $1}' <<<"$CTL_OUT" | paste -sd,)" "$id2,$id1" "list --no-legend: the rows start with the ids, newest first"
expect_ctl_ok "list --json=short" root list --json=short
rows=$(json_rows <<<"$CTL_OUT") || rows=null
assert_eq "$(jq -r "$J"' [.[] | s_id | tostring] | join(",")' <<<"$rows")" "$id2,$id1" "list --json: both sessions, newest first"
assert_eq "$(jq -r "$J"' .[] | select(s_id == '"$id1"') | [s_runbook, s_reference, s_state, s_created_by] | join("|")' <<<"$rows")" \
    "echo|$R1|succeeded|$ALICE" "list --json: session $id1's fields"
assert_eq "$(jq -r "$J"' .[] | select(s_id == '"$id2"') | [s_runbook, s_reference, s_state, s_created_by] | join("|")' <<<"$rows")" \
    "scenario|$R2|waiting_approval|$BOB" "list --json: session $id2's fields"
assert_eq "$(jq -r "$J"' [.[] | s_state] | join(",")' <<<"$rows")" \
    "$(list_sessions | jq -r '[.[][3]] | join(",")')" "list --json: the states the daemon reports"
expect_ctl_ok "list as rbtest-mallory (reading needs no authorization)" "$MALLORY" list --json=short
assert_eq "$(json_rows <<<"$CTL_OUT" | jq -r "$J"' length')" 2 "list as rbtest-mallory: 2 sessions"

# --- status
expect_ctl_ok "status" root status
printf '%s\n' "$CTL_OUT" > "$out/status"
assert_true "status shows the daemon version" grep -qF -- "$VERSION" "$out/status"
assert_true "status mentions the waiting session's state" grep -q waiting_approval "$out/status"
expect_ctl_ok "status --json=short" root status --json=short
st=$(jq -c -s '.[0]' <<<"$CTL_OUT") || st=null
assert_eq "$(jq -r "$J"' st_version' <<<"$st")" "$VERSION" "status --json: version"
assert_eq "$(jq -r "$J"' st_pending' <<<"$st")" 1 "status --json: 1 pending approval"
assert_true "status --json: the session counts (1 succeeded, 1 waiting_approval) are there" \
    jq -e '[.. | objects | select(has("succeeded") and has("waiting_approval"))] | any(.succeeded == 1 and .waiting_approval == 1)' <<<"$st"

# --- show and pending render (used for the ANSI check below)
expect_ctl_ok "show $id2" root show "$id2"
printf '%s\n' "$CTL_OUT" > "$out/show"
expect_ctl_ok "pending" root pending
printf '%s\n' "$CTL_OUT" > "$out/pending"
for f in runbooks targets list status show pending; do
    assert_false "$f: no ANSI escape in a pipe (TERM=$TERM)" has_ansi "$out/$f"
done

# --- help and version
expect_ctl_ok "--help" root --help
for v in "${VERBS[@]}"; do
    assert_true "--help lists the verb $v" grep -qw -- "$v" <<<"$CTL_OUT"
done
for v in "${VERBS[@]}"; do
    expect_ctl_ok "$v --help exits 0" root "$v" --help
    assert_true "$v --help mentions $v" grep -qw -- "$v" <<<"$CTL_OUT"
done
expect_ctl_ok "--version" root --version
assert_true "--version prints the version $VERSION" grep -qF -- "$VERSION" <<<"$CTL_OUT"

# --- errors
expect_ctl_fail "an unknown verb" 'frobnicate' root frobnicate
expect_ctl_fail "an unknown option" 'bogus' root list --bogus-option
expect_ctl_fail "show without an id" '.' root show
expect_ctl_fail "start without a runbook" '.' root start
expect_ctl_fail "output without a step" '.' root output "$id1"
expect_ctl_fail "approve without an id" '.' root approve
expect_ctl_fail "show of an id that is not a number" 'abc' root show abc
expect_ctl_fail "show 999: no such session" '999' root show 999
assert_match "$CTL_ERR" '[Nn]o such session|[Ss]ession.*(not found|does not exist)' "show 999: the error says there is no such session"
expect_ctl_fail "start of an unknown runbook" 'nosuchrunbook' "$ALICE" start nosuchrunbook --reference "$(ref cli3)"
assert_eq "$(list_sessions | jq -r 'length')" 2 "no session was created by the failed start"
finish
