#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue #11 item 1: a parameter's value never becomes code, whatever the template around it.
#  - Runbooks that place {{v}} where its quoted value would not be one whole word of data
#    (inside "…" or '…', as eval's or sh -c's argument, as the program, piped into sh) are
#    refused at load with file: JSON path: offset and reason, at start and at Reload; StartSession
#    says why; hostile values never run. (Before the fix these runbooks loaded and ran the value.)
#  - Hostile values ($(…), backticks, quotes, ;, &&, newlines, $IFS, *, a leading '-') in every
#    accepted placement come out literally through the local, ssh and Azure (managed and action)
#    connectors; a value starting with '-' is refused unless the parameter allows it; the step's
#    Command property (what the approver sees) holds the exact quoted command.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

MARK="$WORK/pwned"
rm -f "$MARK"-*
# the fake Azure and its credential exist before the daemon starts ($CREDENTIALS_DIRECTORY)
SECRET="s3cr3t-$$-$RANDOM"
azure_fake_up '{"tenants": {"t1": {"clients": {"app-1": {"secret": "'"$SECRET"'"}}}}, "vms": {"vm-1": {}, "vm-2": {}}}'
azure_cred sp "$SECRET"

# ---- refused placements ------------------------------------------------------------------
bad_runbook() { # NAME RUN
    jq -n --arg run "$2" '{parameters: {v: {}}, steps: [{name: "s", run: $run, approval: "none"}]}' \
        > "$CONFIG_DIR/runbooks/$1.json"
}
bad_runbook dq 'echo "{{v}}"'
bad_runbook sq "echo '{{v}}'"
bad_runbook ev 'eval echo {{v}}'
bad_runbook shc 'sh -c {{v}}'
bad_runbook pipe 'echo {{v}} | sh'
# a good runbook beside them still loads
jq -n '{parameters: {v: {}}, steps: [{name: "s", run: "printf %s {{v}}", approval: "none"}]}' \
    > "$CONFIG_DIR/runbooks/good.json"
start_daemon

declare -A WHY=(
    [dq]="\\\$.steps\[0\].run: '\{\{v\}\}' \(at offset 6\) stands inside \"…\" quotes"
    [sq]="\\\$.steps\[0\].run: '\{\{v\}\}' \(at offset 6\) stands inside '…' quotes"
    [ev]="\\\$.steps\[0\].run: '\{\{v\}\}' \(at offset 10\) is an argument of 'eval'"
    [shc]="\\\$.steps\[0\].run: '\{\{v\}\}' \(at offset 6\) is the program 'sh' runs"
    [pipe]="\\\$.steps\[0\].run: '\{\{v\}\}' \(at offset 5\) feeds 'sh', which reads the program it runs from standard input"
)
n=0
for name in dq sq ev shc pipe; do
    n=$((n + 1))
    expect_error InvalidRunbook \
        rb "$ALICE" call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' "$name" "$(ref "$name")" \
        1 v "x; touch $MARK-$n; \$(touch $MARK-$n) \`touch $MARK-$n\`"
    assert_match "$LAST_ERROR_MESSAGE" "$CONFIG_DIR/runbooks/$name.json: ${WHY[$name]}" "$name: StartSession names file, path, offset and reason"
    assert_false "$name: the value did not run" test -e "$MARK-$n"
done
assert_eq "$(list_sessions | jq 'length')" 0 "no session was created for a refused runbook"

# Reload reports them too (file: path: reason), and keeps the good one
out=$(rb root --json=short call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" Reload) || fail "Reload failed"
assert_match "$(jq -r '.data[2][]' <<<"$out" | grep dq.json)" "dq.json: .*stands inside \"…\" quotes" "Reload lists the refused runbook with its reason"
id=$(start_session "$ALICE" good "$(ref good)" v 'ok; $(touch '"$MARK"'-good)') || fail "the good runbook still starts"
wait_session_state "$id" succeeded
get_output "$id" 0
assert_eq "$OUT_STDOUT" "ok; \$(touch $MARK-good)" "the good runbook's value came out literally"

# ---- hostile values in accepted placements, on every connector ---------------------------
PARAMS=(a b c d e f g h i j)
VALUES=(
    "\$(touch $MARK-a)"
    "\`touch $MARK-b\`"
    "it's'; touch $MARK-c; '"
    "\"; touch $MARK-d; \""
    "x; touch $MARK-e"
    "x && touch $MARK-f || touch $MARK-f"
    "line1
touch $MARK-g"
    "\${IFS}touch\${IFS}$MARK-h \$IFS"
    "*"
    "--version; touch $MARK-j"
)
# one step: every parameter in each accepted placement (bare, glued, --opt=, for list, case
# subject, an argument of sh -c's script)
run=""
expected=""
for k in "${!PARAMS[@]}"; do
    p=${PARAMS[$k]} v=${VALUES[$k]}
    run+="printf '<%s>\\n' {{$p}} x{{$p}}y --opt={{$p}}; for w in {{$p}}; do printf '[%s]\\n' \"\$w\"; done; "
    run+="case {{$p}} in *) printf 'case\\n';; esac; sh -c 'printf \"(%s)\\n\" \"\$1\"' sh {{$p}}; "
    expected+=$(printf '<%s>\n' "$v" "x${v}y" "--opt=$v"; printf '[%s]\n' "$v"; printf 'case\n'; printf '(%s)\n' "$v")
    expected+=$'\n'
done
run+="true"
expected=${expected%$'\n'}
places_runbook() { # NAME TARGET
    jq -n --arg run "$run" --arg t "$2" '{target: $t,
        parameters: ({a:{},b:{},c:{},d:{},e:{},f:{},g:{},h:{},i:{}} + {j: {allow_leading_dash: true}}),
        steps: [{name: "places", run: $run, approval: "none", timeout: 60}]}' > "$CONFIG_DIR/runbooks/$1.json"
}
azure_target az-managed vm-1 '{"tenant": "t1", "client_id": "app-1", "client_secret": "cred:sp"}'
azure_target az-action vm-2 '{"api": "action", "tenant": "t1", "client_id": "app-1", "client_secret": "cred:sp"}'
write_ssh_target ssh1
places_runbook places-local local
places_runbook places-ssh ssh1
places_runbook places-az-managed az-managed
places_runbook places-az-action az-action
rb root call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" Reload >/dev/null || fail "Reload failed"

args=()
for k in "${!PARAMS[@]}"; do args+=("${PARAMS[$k]}" "${VALUES[$k]}"); done
for c in local ssh az-managed az-action; do
    id=$(start_session "$ALICE" "places-$c" "$(ref "$c")" "${args[@]}") || { fail "$c: StartSession failed"; continue; }
    wait_session_state "$id" succeeded 60
    get_output "$id" 0
    assert_eq "$OUT_STDOUT" "$expected" "$c: every hostile value came out literally in every placement"
    cmd=$(step_prop "$id" 0 Command)
    assert_match "$cmd" "^printf '<%s>\\\\n' '\\\$\(touch $MARK-a\)' x'\\\$\(touch $MARK-a\)'y --opt='\\\$\(touch" \
        "$c: the Command the approver sees holds the values quoted"
    for p in "${PARAMS[@]}"; do
        assert_false "$c: value $p did not run" test -e "$MARK-$p"
    done
done

# ---- a value starting with '-' is refused unless the parameter allows it -----------------
args[17]="-rf /"      # parameter i
expect_error InvalidParameter \
    rb "$ALICE" -- call "$BUS_NAME" "$MANAGER" "$IFACE_MANAGER" StartSession 'ssa{ss}' places-local "$(ref dash)" 10 "${args[@]}"
assert_match "$LAST_ERROR_MESSAGE" "parameter 'i': value starts with '-'" "a leading '-' is refused, naming the parameter"
finish
