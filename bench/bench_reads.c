/*
 * bench_reads: local reads through the real `sfagent` program vs the `sqlite3` shell doing
 * the equivalent indexed SQL on a plain table holding the same rows. Whole processes:
 * each command is run --runs times (default 10) and the median wall time, the median CPU
 * time (user + system, from wait4: steadier than wall time on a shared machine) and the
 * peak RSS are printed, with the ratios sfagent/shell. `case create` is compared with the
 * shell inserting the same two rows (record, outbox op) in one transaction with
 * synchronous=FULL on a WAL database, as the agent commits its write.
 *
 * The cache is built through the public API (sfa_record_import of JSON Lines), then
 * CaseNumbers, Ids and CreatedDate are assigned with raw SQL as a sync would. The plain
 * table (cases: id, case_number, subject, status, created) gets the indexes its queries
 * need. Not a test: it prints figures.
 *
 * What "equivalent" means for Status. SOQL compares strings case-insensitively (`=`,
 * GROUP BY, ORDER BY; see docs/salesforce.md), and the agent compiles `Status = 'New'`
 * to a COLLATE NOCASE comparison served by a NOCASE index. So the plain table indexes
 * status COLLATE NOCASE and the shell compares with COLLATE NOCASE: the same work for
 * the same answer (a BINARY compare would miss 'new' and is a different query).
 * `case list --status` keeps its exact match on top of the NOCASE index scan, and so does
 * the shell's SQL. Up to the first version of this program the shell compared BINARY on
 * a BINARY index; those rows are still printed, marked "(shell BINARY)", against a
 * second plain database built exactly as before, so nothing is hidden. `case create`
 * inserts into the plain table that serves the equivalent reads (its status index is
 * NOCASE now; a BINARY one costs the same per insert), and, on a second row, the shell
 * inserts the same two rows into the agent's own database (records and outbox, with every
 * index, trigger and foreign key the agent's insert pays, synchronous=FULL and
 * foreign_keys=ON as the agent writes): the first row prices the schema the read targets
 * need, the second what the program adds on top of the same SQLite work.
 *
 *   bench_reads --sfagent build/agent/sfagent [--n 1000000] [--runs 10] [--dir /tmp]
 *               [--keep]   (keep the databases: a second run with the same --dir reuses them)
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "sfagent.h"

typedef struct opts {
    long n, runs;
    const char *sfagent, *dir;
    bool keep;
} opts;

static const char *const STATUSES[] = {"New", "Working", "Escalated", "Closed"};

static void write_jsonl(const char *path, long n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        bench_die("cannot write", path);
    for (long i = 0; i < n; i++)
        fprintf(f, "{\"Subject\":\"Case subject %ld\",\"Status\":\"%s\",\"Origin\":\"Web\"}\n", i,
                STATUSES[(i * 7) % 4 == 0 ? 2 : (i % 3 == 0 ? 0 : (i % 3 == 1 ? 1 : 3))]);
    fclose(f);
}

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        bench_die(sql, err);
}

/* The import, then Ids, CaseNumbers and CreatedDate assigned as a sync would assign them. */
static void build_cache(const opts *o, const char *db)
{
    char jsonl[512];
    snprintf(jsonl, sizeof jsonl, "%s/cases.jsonl", o->dir);
    write_jsonl(jsonl, o->n);
    sfa_open_options oo = SFA_OPEN_OPTIONS_INIT;
    oo.create = true;
    oo.durability = SFA_DURABILITY_NORMAL;
    sfa_agent *a = NULL;
    if (sfa_agent_open(&a, db, &oo) != SFA_OK)
        bench_die("open", sfa_agent_errmsg(a));
    int fd = open(jsonl, O_RDONLY);
    sfa_import_result r = {0};
    double t0 = bench_now_s();
    if (fd < 0 || sfa_record_import(&r, a, "Case", fd, 5000) != SFA_OK)
        bench_die("import", sfa_agent_errmsg(a));
    close(fd);
    sfa_agent_free(a);
    fprintf(stderr, "imported %zu Cases in %.1f s\n", r.imported, bench_now_s() - t0);
    unlink(jsonl);
    sqlite3 *s = NULL;
    if (sqlite3_open(db, &s) != SQLITE_OK)
        bench_die("open raw", db);
    /* As a sync would: an Id, a CaseNumber and CreatedDate per record; the ops done. */
    exec_sql(s, "BEGIN; UPDATE records SET case_number = printf('%08d', rowid), "
                "sf_id = '500' || printf('%012d', rowid) || 'AAA', sys_modstamp = "
                "'2024-01-01T00:00:00.000+0000', fields = json_set(fields, '$.CreatedDate', "
                "strftime('%Y-%m-%dT%H:%M:%S.000+0000', 1700000000 + rowid * 60, 'unixepoch')); "
                /* the column the store keeps equal to the field (migration 0013) */
                "UPDATE records SET f_createddate = json_extract(fields, '$.CreatedDate'); "
                "UPDATE outbox SET state = 'done'; COMMIT");
    exec_sql(s, "PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_close(s);
}

/* The plain table from the cache's synced rows (the ones the import made; rows later
 * runs' `case create` added have no Id), with status_index as its status index. */
static void build_plain(const char *db, const char *plain, const char *status_index)
{
    sqlite3 *s = NULL;
    if (sqlite3_open(db, &s) != SQLITE_OK)
        bench_die("open raw", db);
    char *sql = sqlite3_mprintf(
        "ATTACH %Q AS p; CREATE TABLE p.cases (id TEXT PRIMARY KEY, case_number TEXT, "
        "subject TEXT, status TEXT, created TEXT); INSERT INTO p.cases SELECT sf_id, "
        "case_number, json_extract(fields, '$.Subject'), json_extract(fields, '$.Status'), "
        "json_extract(fields, '$.CreatedDate') FROM records WHERE sf_id IS NOT NULL "
        "ORDER BY rowid; CREATE INDEX p.cases_number ON cases (case_number); %s; "
        "CREATE TABLE p.ops (seq INTEGER PRIMARY KEY, op_id TEXT UNIQUE, local_id TEXT, "
        "fields TEXT); DETACH p",
        plain, status_index);
    exec_sql(s, sql);
    sqlite3_free(sql);
    sqlite3_close(s);
    if (sqlite3_open(plain, &s) != SQLITE_OK)
        bench_die("open plain", plain);
    exec_sql(s, "PRAGMA journal_mode=WAL"); /* as the agent's database */
    sqlite3_close(s);
}

/* The equivalent table (SOQL compares Status case-insensitively) and the one the first
 * version of this program compared with (BINARY), kept for its rows. */
static const char STATUS_NOCASE[] =
    "CREATE INDEX p.cases_status ON cases (status COLLATE NOCASE, created)";
static const char STATUS_BINARY[] = "CREATE INDEX p.cases_status ON cases (status, created)";

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Build what is missing: a kept cache gets the plain tables it lacks. */
static void build(const opts *o, const char *db, const char *plain, const char *binary)
{
    if (!exists(db)) {
        bench_remove_db(plain);
        bench_remove_db(binary);
        build_cache(o, db);
    }
    if (!exists(plain))
        build_plain(db, plain, STATUS_NOCASE);
    if (!exists(binary))
        build_plain(db, binary, STATUS_BINARY);
}

typedef struct result {
    double median_ms, cpu_ms;
    long max_rss_kb;
    int failed; /* exit status of a run that failed (an older sfagent without a feature) */
} result;

/* Samples of one command: wall and CPU ms per run, the peak RSS, a failed run's exit. */
typedef struct series {
    double *t, *c;
    long n;
    result res;
} series;

/* Run argv once with stdout to /dev/null; false (and the exit recorded) if it failed. */
static bool run_once(char *const argv[], series *s)
{
    bench_child r = bench_run_child(argv, NULL);
    if (r.status != 0) {
        s->res.failed = r.status;
        return false;
    }
    s->t[s->n] = r.wall_ms;
    s->c[s->n] = r.cpu_ms;
    s->n++;
    if (r.rss_kb > s->res.max_rss_kb)
        s->res.max_rss_kb = r.rss_kb;
    return true;
}

/* Run the k commands runs times each, interleaved (round i starts with command i % k), so
 * that load from other processes on a shared machine falls on every side alike; out[j]
 * gets command j's median wall and CPU time and peak RSS. */
static void measure(char *const *const argvs[], result out[], int k, long runs)
{
    series s[4] = {0};
    for (int j = 0; j < k; j++) {
        s[j].t = calloc((size_t)runs, sizeof *s[j].t);
        s[j].c = calloc((size_t)runs, sizeof *s[j].c);
    }
    bool ok = true;
    for (long i = 0; i < runs && ok; i++)
        for (int m = 0; m < k && ok; m++) {
            int j = (int)((i + m) % k);
            ok = run_once(argvs[j], &s[j]);
        }
    for (int j = 0; j < k; j++) {
        if (ok) {
            qsort(s[j].t, (size_t)runs, sizeof *s[j].t, bench_cmp_double);
            qsort(s[j].c, (size_t)runs, sizeof *s[j].c, bench_cmp_double);
            s[j].res.median_ms = s[j].t[runs / 2];
            s[j].res.cpu_ms = s[j].c[runs / 2];
        }
        out[j] = s[j].res;
        free(s[j].t);
        free(s[j].c);
    }
}

static void row(const char *name, result a, result s)
{
    if (a.failed || s.failed) {
        printf("%-40s failed: exit %d (sfagent) / %d (shell)\n", name, a.failed, s.failed);
        return;
    }
    printf("%-40s %8.1f %7.1f %7ld   %8.1f %7.1f %7ld   %5.2fx %5.2fx\n", name, a.median_ms,
           a.cpu_ms, a.max_rss_kb, s.median_ms, s.cpu_ms, s.max_rss_kb,
           s.median_ms > 0 ? a.median_ms / s.median_ms : 0, s.cpu_ms > 0 ? a.cpu_ms / s.cpu_ms : 0);
}

/* One benchmarked command: the agent's argv, the equivalent shell SQL on the plain table
 * and, where the first version of this program ran other SQL on a BINARY table, that SQL
 * (binary_sql, NULL when unchanged). */
typedef struct bench_case {
    const char *name;
    char *const *agent;
    const char *shell_sql, *binary_sql;
    const char *own_sql; /* the same rows into the agent's own database, or NULL */
} bench_case;

static void bench(const opts *o, const char *db, const char *plain, const char *binary)
{
    char num[32], sfid[32];
    snprintf(num, sizeof num, "%08ld", o->n / 2 + 1);
    snprintf(sfid, sizeof sfid, "500%012ldAAA", o->n / 3 + 1);
    char *qsql =
        sqlite3_mprintf("SELECT id, case_number, subject FROM cases WHERE case_number = '%s'", num);
    char *isql =
        sqlite3_mprintf("SELECT id, case_number, subject FROM cases WHERE id = '%s'", sfid);
    const char *sf = o->sfagent;
    const char *create_sql =
        "PRAGMA synchronous=FULL; BEGIN; INSERT INTO cases VALUES (hex(randomblob(9)), NULL, "
        "'bench create', NULL, NULL); INSERT INTO ops (op_id, local_id, fields) VALUES "
        "(hex(randomblob(16)), hex(randomblob(9)), '{\"Subject\":\"bench create\"}'); COMMIT";
    /* The same two rows into the agent's own tables (every index, trigger and foreign key
     * the agent's insert pays), with the pragmas the agent's writes run under. */
    const char *create_own_sql =
        "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; BEGIN; "
        "INSERT INTO records (local_id, sobject, fields, dirty, created_at, updated_at, "
        "f_status, f_ownerid, f_contactid, f_accountid, f_lastmodifieddate, f_createddate) "
        "VALUES ('loc-' || hex(randomblob(13)), 'Case', '{\"Subject\":\"bench create\"}', 1, "
        "strftime('%s') * 1000, strftime('%s') * 1000, NULL, NULL, NULL, NULL, NULL, NULL); "
        "INSERT INTO outbox (op_id, sobject, local_id, kind, fields, created_at, updated_at) "
        "VALUES ('op-' || hex(randomblob(13)), 'Case', "
        "(SELECT local_id FROM records WHERE rowid = last_insert_rowid()), 'create', "
        "'{\"Subject\":\"bench create\"}', strftime('%s') * 1000, strftime('%s') * 1000); "
        "COMMIT";
    bench_case cases[] = {
        {"case get CASENUMBER",
         (char *const[]){(char *)sf, "--db", (char *)db, "case", "get", num, NULL}, qsql, NULL,
         NULL},
        {"case get SFID",
         (char *const[]){(char *)sf, "--db", (char *)db, "case", "get", sfid, NULL}, isql, NULL,
         NULL},
        {"case list --status New --limit 50",
         (char *const[]){(char *)sf, "--db", (char *)db, "case", "list", "--status", "New",
                         "--limit", "50", NULL},
         /* the agent's --status is an exact match served by the NOCASE index: the same */
         "SELECT id, case_number, subject, status FROM cases WHERE status = 'New' COLLATE NOCASE "
         "AND status = 'New' ORDER BY created DESC LIMIT 50",
         "SELECT id, case_number, subject, status FROM cases WHERE status = 'New' "
         "ORDER BY created DESC LIMIT 50",
         NULL},
        {"query Status='Escalated' ORDER BY CreatedDate LIMIT 20",
         (char *const[]){(char *)sf, "--db", (char *)db, "query",
                         "SELECT CaseNumber, Subject FROM Case WHERE Status = 'Escalated' ORDER BY "
                         "CreatedDate LIMIT 20",
                         NULL},
         "SELECT case_number, subject FROM cases WHERE status = 'Escalated' COLLATE NOCASE "
         "ORDER BY created LIMIT 20",
         "SELECT case_number, subject FROM cases WHERE status = 'Escalated' ORDER BY created "
         "LIMIT 20",
         NULL},
        {"query SELECT COUNT() ... Status = 'New'",
         (char *const[]){(char *)sf, "--db", (char *)db, "query",
                         "SELECT COUNT() FROM Case WHERE Status = 'New'", NULL},
         "SELECT count(*) FROM cases WHERE status = 'New' COLLATE NOCASE",
         "SELECT count(*) FROM cases WHERE status = 'New'", NULL},
        {"query Status, COUNT(Id) GROUP BY Status",
         (char *const[]){(char *)sf, "--db", (char *)db, "query",
                         "SELECT Status, COUNT(Id) FROM Case GROUP BY Status", NULL},
         "SELECT status, count(*) FROM cases GROUP BY status COLLATE NOCASE ORDER BY status "
         "COLLATE NOCASE",
         "SELECT status, count(*) FROM cases GROUP BY status", NULL},
        {"case create --subject S",
         (char *const[]){(char *)sf, "--db", (char *)db, "case", "create", "--subject",
                         "bench create", NULL},
         create_sql, create_sql, create_own_sql},
        {"status", (char *const[]){(char *)sf, "--db", (char *)db, "status", NULL},
         "SELECT count(*) FROM cases INDEXED BY cases_number", NULL, NULL},
        {"query all rows (SELECT CaseNumber, Subject)",
         (char *const[]){(char *)sf, "--db", (char *)db, "query",
                         "SELECT CaseNumber, Subject FROM Case", NULL},
         "SELECT case_number, subject FROM cases", NULL, NULL},
    };
    printf("N = %ld Cases, median of %ld runs, whole processes\n", o->n, o->runs);
    printf("%-40s %25s   %25s   %s\n", "", "sfagent: wall  cpu   RSS", "shell: wall  cpu   RSS",
           "ratio: wall cpu");
    printf("%-40s %25s   %25s\n", "", "ms    ms    KB", "ms    ms    KB");
    size_t ncases = sizeof cases / sizeof cases[0];
    long dump_runs = o->runs < 3 ? o->runs : 3; /* full dumps */
    for (size_t i = 0; i < ncases; i++) {
        long runs = i == ncases - 1 ? dump_runs : o->runs;
        const bench_case *c = &cases[i];
        char *const shell[] = {"sqlite3", (char *)plain, (char *)c->shell_sql, NULL};
        char *const bin[] = {"sqlite3", (char *)binary, (char *)c->binary_sql, NULL};
        char *const own[] = {"sqlite3", (char *)db, (char *)c->own_sql, NULL};
        char *const *const argvs[] = {c->agent, shell, c->own_sql ? own : bin};
        result r[3];
        measure(argvs, r, c->binary_sql || c->own_sql ? 3 : 2, runs);
        row(c->name, r[0], r[1]);
        if (c->own_sql)
            row("  (shell into the agent's own tables)", r[0], r[2]);
        else if (c->binary_sql)
            row("  (shell BINARY, first version)", r[0], r[2]);
    }
    char *const agent_json[] = {(char *)sf, "--db",  (char *)db,
                                "--json",   "query", "SELECT CaseNumber, Subject FROM Case",
                                NULL};
    char *const shell_json[] = {"sqlite3", "-json", (char *)plain,
                                "SELECT case_number, subject FROM cases", NULL};
    char *const *const json[] = {agent_json, shell_json};
    result r[2];
    measure(json, r, 2, dump_runs);
    row("query all rows --json", r[0], r[1]);
    sqlite3_free(qsql);
    sqlite3_free(isql);
}

int main(int argc, char **argv)
{
    opts o = {1000000, 10, NULL, NULL, false};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--n") == 0 && i + 1 < argc)
            o.n = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            o.runs = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--sfagent") == 0 && i + 1 < argc)
            o.sfagent = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            o.dir = argv[++i];
        else if (strcmp(argv[i], "--keep") == 0)
            o.keep = true;
        else
            bench_die("usage: bench_reads --sfagent PATH [--n N] [--runs R] [--dir DIR] [--keep]",
                      NULL);
    }
    if (!o.sfagent || o.n < 10 || o.runs < 1)
        bench_die("usage: bench_reads --sfagent PATH [--n N] [--runs R] [--dir DIR] [--keep]",
                  NULL);
    char dir[256];
    snprintf(dir, sizeof dir, "%s", o.dir ? o.dir : "/tmp");
    o.dir = dir;
    char db[512], plain[512], binary[512];
    snprintf(db, sizeof db, "%s/bench_reads_%ld.db", dir, o.n);
    snprintf(plain, sizeof plain, "%s/bench_reads_%ld_nocase.db", dir, o.n);
    snprintf(binary, sizeof binary, "%s/bench_reads_%ld_plain.db", dir, o.n);
    build(&o, db, plain, binary);
    bench(&o, db, plain, binary);
    if (!o.keep) {
        bench_remove_db(db);
        bench_remove_db(plain);
        bench_remove_db(binary);
    }
    return 0;
}
