#!/usr/bin/env bash
# Offline demo of sfagent, given a build directory ($1, default "build"): local writes,
# reads, the outbox (with an update folded into its pending create), status and local
# SOQL. No network, temp database, removed at the end. Any failing step stops the demo.
set -euo pipefail
build=${1:-build}
bin="$build/agent/sfagent"
[[ -x "$bin" ]] || { echo "demo: $bin not found (build first)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/sfagent-demo-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export SFAGENT_DB="$tmp/demo.db"

section() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }
# Show the command, then run it: the reader sees exactly what was typed.
show() {
    local a out='$ sfagent'
    for a in "$@"; do
        if [[ $a =~ ^[A-Za-z0-9_./=:@%+,-]+$ ]]; then out+=" $a"; else out+=" '${a//\'/\'\\\'\'}'"; fi
    done
    printf '%s\n' "$out"
}
run() {
    show "$@"
    "$bin" "$@"
}
# Run quietly and capture stdout (for ids), still failing the demo on error.
capture() { "$bin" "$@"; }

section "A fresh database (SFAGENT_DB=$SFAGENT_DB)"
run init
run version

section "Create Cases and Contacts offline"
printer=$(capture case create --subject "Printer jam on floor 3" --set Origin=Phone)
echo "case create --subject 'Printer jam on floor 3'   -> $printer"
unicode=$(capture case create --subject "Café: 打印机卡纸 ☕ – Größe" --set Priority=Low)
echo "case create --subject 'Café: 打印机卡纸 ☕ – Größe' -> $unicode"
vpn=$(capture case create --subject "VPN drops every hour" --set-json IsEscalated=true)
echo "case create --subject 'VPN drops every hour'      -> $vpn"
jane=$(capture contact create --last-name Doe --first-name Jane --email jane.doe@example.com)
echo "contact create --last-name Doe --first-name Jane  -> $jane"
run contact create --last-name "Østergaard" --first-name Søren

section "Update a Case before it ever reached Salesforce"
run case update "$printer" --set Status=Working --set Priority=High

section "Read it back (local id, no network)"
run case get "$printer"
run --json case get "$unicode"

section "List"
run case list
run case list --status Working
run contact list --order LastName

section "The outbox: the update folded into the pending create (one op, not two)"
run outbox list
run outbox show 1

section "Status"
run status

section "Local SOQL over the mirror"
run query "SELECT Subject, Status, Priority FROM Case WHERE Status = 'Working' OR Priority = 'Low' ORDER BY Subject"
run query "SELECT COUNT() FROM Case"

section "Bad input is refused with one line and a sysexits code; nothing is stored"
show case update "$printer" --set-json Priority=High
set +e
"$bin" case update "$printer" --set-json Priority=High 2>&1
code=$?
set -e
echo "(exit $code)"
[[ $code -eq 65 ]] || { echo "demo: expected exit 65, got $code" >&2; exit 1; }

section "Done"
echo "Everything above happened offline; 'sfagent sync' sends the outbox to Salesforce."
