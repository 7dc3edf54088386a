#!/usr/bin/env bash
# The sfagent demo, given a build directory ($1, default "build"): offline writes and
# reads, the outbox (an update folded into its pending create), local SOQL; then a sync
# attempt while Salesforce is unreachable (exit 75, nothing lost), and a sync against the
# bundled Salesforce emulator that reconciles Ids and CaseNumbers into the local cache,
# so `case get <CaseNumber>` is answered locally. Temp files only, removed at the end.
# Any failing step stops the demo.
set -euo pipefail
build=${1:-build}
bin="$build/agent/sfagent"
emulator="$build/emulator/sfagent-emulator"
for b in "$bin" "$emulator"; do
    [[ -x "$b" ]] || { echo "demo: $b not found (build first)" >&2; exit 1; }
done
tmp=$(mktemp -d /tmp/sfagent-demo-XXXXXX)
emu_pid=
cleanup() {
    if [[ -n $emu_pid ]]; then kill "$emu_pid" 2>/dev/null || true; wait "$emu_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
export SFAGENT_DB="$tmp/demo.db"
export SFAGENT_CONFIG="$tmp/sfagent.conf"

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
# Run a command that must exit with a given non-zero code.
expect_exit() {
    local want=$1 code
    shift
    show "$@"
    set +e
    "$bin" "$@" 2>&1
    code=$?
    set -e
    echo "(exit $code)"
    [[ $code -eq $want ]] || { echo "demo: expected exit $want, got $code" >&2; exit 1; }
}

# The emulator on a free port, persisting to a state file; sets $emu_url and $emu_pid.
start_emulator() {
    # Emptied here, not by the background job's redirection: that runs in the child, after
    # this shell may already have read the previous emulator's line (a dead URL).
    : >"$tmp/emu.out"
    "$emulator" --port 0 --state "$tmp/emulator.db" >"$tmp/emu.out" 2>"$tmp/emu.err" &
    emu_pid=$!
    emu_url=
    # It prints its URL once it listens. Wait for that line while it runs (a loaded machine
    # or a sanitizer build can take seconds); 60 s is only a bound against a hang.
    for _ in $(seq 1200); do
        emu_url=$(sed -n 's/^sfagent-emulator listening on //p' "$tmp/emu.out")
        [[ -n $emu_url ]] && return 0
        kill -0 "$emu_pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "demo: the emulator did not start: $(cat "$tmp/emu.err")" >&2
    exit 1
}
stop_emulator() {
    kill "$emu_pid"
    wait "$emu_pid" || true
    emu_pid=
}
# The agent's configuration (secrets in it: mode 0600, sfagent refuses wider modes).
write_config() {
    (
        umask 077
        printf '[salesforce]\nlogin_url = %s\nclient_id = sfagent-test-client\n' "$1"
        printf 'client_secret = sfagent-test-secret\nusername = agent@example.com\n'
        printf 'password = password\n\n[sync]\nobjects = Case,Contact\nbackoff_base = 1\n'
    ) >"$SFAGENT_CONFIG"
    chmod 600 "$SFAGENT_CONFIG"
}
# sync until it stops asking to retry later (exit 75 after a backoff), at most a few times.
sync_until_done() {
    local code
    for _ in 1 2 3 4 5 6 7 8; do
        show sync
        set +e
        "$bin" sync
        code=$?
        set -e
        [[ $code -eq 75 ]] || break
        echo "(exit 75: try again later; waiting for the backoff)"
        sleep 2
    done
    [[ $code -eq 0 ]] || { echo "demo: sync failed with exit $code" >&2; exit 1; }
}

section "A fresh database (SFAGENT_DB=$SFAGENT_DB)"
run init
run version

section "Create Cases and Contacts offline"
printer=$(capture case create --subject "Printer jam on floor 3" --set Origin=Phone)
echo "case create --subject 'Printer jam on floor 3'   -> $printer"
unicode=$(capture case create --subject "Café: 打印机卡纸 ☕ – Größe" --set Priority=Low)
echo "case create --subject 'Café: 打印机卡纸 ☕ – Größe' -> $unicode"
vpn=$(capture case create --subject "VPN drops every hour" --set Description="Since the router swap")
echo "case create --subject 'VPN drops every hour'      -> $vpn"
jane=$(capture contact create --last-name Doe --first-name Jane --email jane.doe@example.com)
echo "contact create --last-name Doe --first-name Jane  -> $jane"
run contact create --last-name "Østergaard" --first-name Søren
echo "# a Case pointing at a Contact that is not in Salesforce yet (by its local id):"
run case create --subject "Badge reader broken" --set ContactId="$jane"

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

section "Local SOQL over the mirror"
run query "SELECT Subject, Status, Priority FROM Case WHERE Status = 'Working' OR Priority = 'Low' ORDER BY Subject"
run query "SELECT COUNT() FROM Case"

section "Bad input is refused with one line and a sysexits code; nothing is stored"
expect_exit 65 case update "$printer" --set-json Priority=High

section "Sync while Salesforce is unreachable: exit 75 (try again later), nothing lost"
start_emulator
dead_url=$emu_url
stop_emulator # its port is closed now: "the network is down"
write_config "$dead_url"
expect_exit 75 sync
run status

section "Salesforce is back (the bundled emulator)"
start_emulator
write_config "$emu_url"
echo "sfagent-emulator listening on $emu_url"
run login
run doctor

section "Sync: one composite request per 200 creates; Ids and CaseNumbers come back"
echo "# the failed attempt left a run-level backoff; --now skips it once the network is back"
run sync --now
run case list
run contact list

section "Local reads by CaseNumber, with Salesforce gone again"
stop_emulator
number=$("$bin" --json case get "$printer" | sed -n 's/.*"caseNumber":[[:space:]]*"\([0-9]*\)".*/\1/p')
run case get "$number"
run query "SELECT CaseNumber, Subject, Status, ContactId FROM Case ORDER BY CaseNumber"

section "An offline edit of a synced Case, then sync again (only the changed field is sent)"
run case update "$number" --set Status=Closed
start_emulator
write_config "$emu_url"
sync_until_done
run case get "$number"
run sync

section "Done"
echo "Offline writes, an unreachable Salesforce, then exactly-once sync and local reads."
