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

static void build(const opts *o, const char *db, const char *plain)
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
                "UPDATE outbox SET state = 'done'; COMMIT");
    char *sql = sqlite3_mprintf(
        "ATTACH %Q AS p; CREATE TABLE p.cases (id TEXT PRIMARY KEY, case_number TEXT, "
        "subject TEXT, status TEXT, created TEXT); INSERT INTO p.cases SELECT sf_id, "
        "case_number, json_extract(fields, '$.Subject'), json_extract(fields, '$.Status'), "
        "json_extract(fields, '$.CreatedDate') FROM records ORDER BY rowid; "
        "CREATE INDEX p.cases_number ON cases (case_number); "
        "CREATE INDEX p.cases_status ON cases (status, created); "
        "CREATE TABLE p.ops (seq INTEGER PRIMARY KEY, op_id TEXT UNIQUE, local_id TEXT, "
        "fields TEXT); DETACH p",
        plain);
    exec_sql(s, sql);
    sqlite3_free(sql);
    exec_sql(s, "PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_close(s);
    if (sqlite3_open(plain, &s) != SQLITE_OK)
        bench_die("open plain", plain);
    exec_sql(s, "PRAGMA journal_mode=WAL"); /* as the agent's database */
    sqlite3_close(s);
}

typedef struct result {
    double median_ms, cpu_ms;
    long max_rss_kb;
    int failed; /* exit status of a run that failed (an older sfagent without a feature) */
} result;

static double tv_ms(struct timeval tv)
{
    return (double)tv.tv_sec * 1000.0 + (double)tv.tv_usec / 1000.0;
}

/* Run argv runs times with stdout to /dev/null: median wall and CPU time, peak RSS. */
static result measure(char *const argv[], long runs)
{
    double *t = calloc((size_t)runs, sizeof *t), *c = calloc((size_t)runs, sizeof *c);
    result res = {0, 0, 0, 0};
    for (long i = 0; i < runs; i++) {
        double t0 = bench_now_s();
        pid_t pid = fork();
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            execvp(argv[0], argv);
            _exit(127);
        }
        int status = 0;
        struct rusage ru;
        if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            res.failed = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            free(t);
            free(c);
            return res;
        }
        t[i] = (bench_now_s() - t0) * 1000.0;
        c[i] = tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime);
        if (ru.ru_maxrss > res.max_rss_kb)
            res.max_rss_kb = ru.ru_maxrss;
    }
    qsort(t, (size_t)runs, sizeof *t, bench_cmp_double);
    qsort(c, (size_t)runs, sizeof *c, bench_cmp_double);
    res.median_ms = t[runs / 2];
    res.cpu_ms = c[runs / 2];
    free(t);
    free(c);
    return res;
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

static void bench(const opts *o, const char *db, const char *plain)
{
    char num[32], sfid[32];
    snprintf(num, sizeof num, "%08ld", o->n / 2 + 1);
    snprintf(sfid, sizeof sfid, "500%012ldAAA", o->n / 3 + 1);
    char *qsql =
        sqlite3_mprintf("SELECT id, case_number, subject FROM cases WHERE case_number = '%s'", num);
    char *isql =
        sqlite3_mprintf("SELECT id, case_number, subject FROM cases WHERE id = '%s'", sfid);
    const char *sf = o->sfagent;
    struct {
        const char *name;
        char *const *agent;
        char *const *shell;
    } cases[] = {
        {"case get CASENUMBER",
         (char *const[]){(char *)sf, "--db", (char *)db, "case", "get", num, NULL},
         (char *const[]){"sqlite3", (char *)plain, qsql, NULL}},
        {"case get SFID",
         (char *const[]){(char *)sf, "--db", (char *)db, "case", "get", sfid, NULL},
         (char *const[]){"sqlite3", (char *)plain, isql, NULL}},
        {"case list --status New --limit 50",
         (char *const[]){(char *)sf, "--db", (char *)db, "case", "list", "--status", "New",
                         "--limit", "50", NULL},
         (char *const[]){"sqlite3", (char *)plain,
                         "SELECT id, case_number, subject, status FROM cases WHERE status = 'New' "
                         "ORDER BY created DESC LIMIT 50",
                         NULL}},
        {"query Status='Escalated' ORDER BY CreatedDate LIMIT 20",
         (char *const[]){(char *)sf, "--db", (char *)db, "query",
                         "SELECT CaseNumber, Subject FROM Case WHERE Status = 'Escalated' ORDER BY "
                         "CreatedDate LIMIT 20",
                         NULL},
         (char *const[]){
             "sqlite3", (char *)plain,
             "SELECT case_number, subject FROM cases WHERE status = 'Escalated' ORDER BY "
             "created LIMIT 20",
             NULL}},
        {"query SELECT COUNT() ... Status = 'New'",
         (char *const[]){(char *)sf, "--db", (char *)db, "query",
                         "SELECT COUNT() FROM Case WHERE Status = 'New'", NULL},
         (char *const[]){"sqlite3", (char *)plain,
                         "SELECT count(*) FROM cases WHERE status = 'New'", NULL}},
        {"query Status, COUNT(Id) GROUP BY Status",
         (char *const[]){(char *)sf, "--db", (char *)db, "query",
                         "SELECT Status, COUNT(Id) FROM Case GROUP BY Status", NULL},
         (char *const[]){"sqlite3", (char *)plain,
                         "SELECT status, count(*) FROM cases GROUP BY status", NULL}},
        {"case create --subject S",
         (char *const[]){(char *)sf, "--db", (char *)db, "case", "create", "--subject",
                         "bench create", NULL},
         (char *const[]){"sqlite3", (char *)plain,
                         "PRAGMA synchronous=FULL; BEGIN; INSERT INTO cases VALUES "
                         "(hex(randomblob(9)), NULL, 'bench create', NULL, NULL); INSERT INTO "
                         "ops (op_id, local_id, fields) VALUES (hex(randomblob(16)), "
                         "hex(randomblob(9)), '{\"Subject\":\"bench create\"}'); COMMIT",
                         NULL}},
        {"status", (char *const[]){(char *)sf, "--db", (char *)db, "status", NULL},
         (char *const[]){"sqlite3", (char *)plain,
                         "SELECT count(*) FROM cases INDEXED BY cases_number", NULL}},
        {"query all rows (SELECT CaseNumber, Subject)",
         (char *const[]){(char *)sf, "--db", (char *)db, "query",
                         "SELECT CaseNumber, Subject FROM Case", NULL},
         (char *const[]){"sqlite3", (char *)plain, "SELECT case_number, subject FROM cases", NULL}},
        {"query all rows --json",
         (char *const[]){(char *)sf, "--db", (char *)db, "--json", "query",
                         "SELECT CaseNumber, Subject FROM Case", NULL},
         (char *const[]){"sqlite3", "-json", (char *)plain,
                         "SELECT case_number, subject FROM cases", NULL}},
    };
    printf("N = %ld Cases, median of %ld runs, whole processes\n", o->n, o->runs);
    printf("%-40s %25s   %25s   %s\n", "", "sfagent: wall  cpu   RSS", "shell: wall  cpu   RSS",
           "ratio: wall cpu");
    printf("%-40s %25s   %25s\n", "", "ms    ms    KB", "ms    ms    KB");
    size_t ncases = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < ncases; i++) {
        long runs = i >= ncases - 2 ? (o->runs < 3 ? o->runs : 3) : o->runs; /* full dumps */
        result a = measure(cases[i].agent, runs);
        result s = measure(cases[i].shell, runs);
        row(cases[i].name, a, s);
    }
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
    char db[512], plain[512];
    snprintf(db, sizeof db, "%s/bench_reads_%ld.db", dir, o.n);
    snprintf(plain, sizeof plain, "%s/bench_reads_%ld_plain.db", dir, o.n);
    struct stat sb;
    if (stat(db, &sb) != 0 || stat(plain, &sb) != 0) {
        unlink(db);
        unlink(plain);
        build(&o, db, plain);
    }
    bench(&o, db, plain);
    if (!o.keep) {
        unlink(db);
        unlink(plain);
    }
    return 0;
}
