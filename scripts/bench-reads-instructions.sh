#!/bin/sh
# Instruction counts (valgrind's callgrind) of the bench_reads commands, for one or more
# sfagent builds and the sqlite3 shell, on the databases a `bench_reads --keep` run left in
# DIR. Unlike CPU time, the counts do not move with other load on the machine, so they
# show what a change to the agent's own work did; they leave out the kernel (I/O, page
# faults), so their ratios overstate the whole-process ones bench_reads prints.
#
#   scripts/bench-reads-instructions.sh DIR N SFAGENT [SFAGENT...]
#   e.g. build-release/bench/bench_reads --sfagent build-release/agent/sfagent --n 200000 \
#            --runs 3 --dir /tmp/r --keep
#        scripts/bench-reads-instructions.sh /tmp/r 200000 build-release/agent/sfagent
set -eu
if [ $# -lt 3 ]; then
    echo "usage: $0 DIR N SFAGENT [SFAGENT...]" >&2
    exit 64
fi
dir=$1 n=$2
shift 2
db=$dir/bench_reads_$n.db
plain=$dir/bench_reads_${n}_nocase.db
for f in "$db" "$plain"; do
    [ -f "$f" ] || { echo "$0: $f missing (run bench_reads --keep first)" >&2; exit 66; }
done
command -v valgrind >/dev/null || { echo "$0: valgrind not found" >&2; exit 69; }
num=$(printf '%08d' $((n / 2 + 1)))
sfid=$(printf '500%012dAAA' $((n / 3 + 1)))

ir() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
        sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}

# row NAME SHELL_SQL AGENT_ARGS...: one line, the shell's count then each build's.
row() {
    name=$1 sql=$2
    shift 2
    line=$(printf '%-36s %12s' "$name" "$(ir sqlite3 "$plain" "$sql")")
    for bin in $builds; do
        line=$(printf '%s %12s' "$line" "$(ir "$bin" --db "$db" "$@")")
    done
    echo "$line"
}

builds=$*
i=0
for bin in $builds; do
    i=$((i + 1))
    echo "sfagent $i: $bin"
done
printf '%-36s %12s' "N = $n, instructions" "sqlite3"
i=0
for bin in $builds; do
    i=$((i + 1))
    printf ' %12s' "sfagent $i"
done
echo
row "case get CASENUMBER" \
    "SELECT id, case_number, subject FROM cases WHERE case_number = '$num'" case get "$num"
row "case get SFID" "SELECT id, case_number, subject FROM cases WHERE id = '$sfid'" \
    case get "$sfid"
row "case list --status New --limit 50" \
    "SELECT id, case_number, subject, status FROM cases WHERE status = 'New' COLLATE NOCASE AND status = 'New' ORDER BY created DESC LIMIT 50" \
    case list --status New --limit 50
row "query Escalated ORDER BY LIMIT 20" \
    "SELECT case_number, subject FROM cases WHERE status = 'Escalated' COLLATE NOCASE ORDER BY created LIMIT 20" \
    query "SELECT CaseNumber, Subject FROM Case WHERE Status = 'Escalated' ORDER BY CreatedDate LIMIT 20"
row "query COUNT() Status = 'New'" \
    "SELECT count(*) FROM cases WHERE status = 'New' COLLATE NOCASE" \
    query "SELECT COUNT() FROM Case WHERE Status = 'New'"
row "case create --subject S" \
    "PRAGMA synchronous=FULL; BEGIN; INSERT INTO cases VALUES (hex(randomblob(9)), NULL, 'bench create', NULL, NULL); INSERT INTO ops (op_id, local_id, fields) VALUES (hex(randomblob(16)), hex(randomblob(9)), '{\"Subject\":\"bench create\"}'); COMMIT" \
    case create --subject "bench create"
row "status" "SELECT count(*) FROM cases INDEXED BY cases_number" status
