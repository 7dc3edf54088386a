/* bench_pull: the pull engine's first and incremental pulls (docs/sync-protocol.md#pull).
 *
 * N Cases (default 100,000) are created in an emulator state file (in a child process,
 * before any clock starts), then the emulator runs on that state as a separate process
 * (SFAGENT_EMULATOR_BIN; in-process otherwise, and then its CPU and memory count as the
 * agent's) and a pull-only sync fills an empty mirror, RUNS times (fresh database each).
 *
 * The comparison that matters is CPU per record: the agent's own CPU time (getrusage of
 * this process: the emulator building pages runs in another one) against raw SQLite
 * inserting the same JSON rows, same durability (synchronous=FULL, WAL), one transaction
 * per 2,000 rows, (a) into the mirror's own schema (every index and trigger the migrations
 * create), one statement per row and staged (2,000 rows moved by one INSERT ... SELECT, as
 * the pull does): the same rows in the same tables, so the ratio is what the agent adds to
 * SQLite's own work, and the target (>= 0.7x) is read against the faster of the two; and
 * (b) for scale, into a bare table with only the mirror's key columns and keys, one
 * statement per row: what the rows would cost without the read indexes of
 * docs/sync-protocol.md#indexes-of-the-mirror, which the mirror must keep. Wall time is printed
 * too; it includes the emulator's page building and the loopback transfer. Figures are medians of
 * RUNS rounds; each round runs every side once (raw SQLite in a child process, so its memory is not
 * the agent's), so the load of a shared machine falls on all of them alike.
 *
 * With --sfagent PATH the first pull is also run RUNS times through the real program
 * (`sfagent sync --pull-only` on a fresh database), and its whole-process CPU (start-up,
 * configuration, login included) and peak RSS come from wait4: what a user waits for.
 *
 * Then the incremental pull: 1,000 of the records edited on the server, pulled, RUNS
 * times, at N and at a smaller cache of N_SMALL records (default 10,000): API calls must
 * be the pages for 1,000 plus a constant, and the time must not grow with the cache.
 *
 * Usage: bench_pull [--sfagent PATH] [N [N_SMALL [RUNS]]]. Not a test: prints a table.
 * --first-only runs the first pulls alone (no incremental pulls, no raw SQLite), so a
 * profiler (perf record) or /usr/bin/time sees the agent's pull and nothing else.
 * --seed FILE N only writes N bench Cases into the emulator state FILE and exits, for
 * measuring the real CLI (`sfagent-emulator --state FILE`, then `sfagent sync
 * --pull-only` under /usr/bin/time -v: README, Pull benchmark). */
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_emu.h"
#include "bench_util.h"
#include "emulator/emulator.h"
#include "sfagent/agent.h"
#include "sfagent/record.h"
#include "sfagent/sync.h"
#include "sync/client/config_internal.h"
#include "util/alloc.h"
#include "util/timeutil.h"

enum { CHANGED = 1000, MAX_RUNS = 15, TX_ROWS = 2000 };

/* One measured run: wall and this process's CPU, milliseconds. */
typedef struct sample {
    double wall_ms, cpu_ms;
    long api_calls;
    size_t pulled;
    sfa_status st;
} sample;

static double cpu_ms_now(void)
{
    return bench_cpu_s() * 1000.0;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Median wall and CPU of runs (the other fields from the last run). */
static sample summarize(const sample *s, int runs)
{
    double w[MAX_RUNS], c[MAX_RUNS];
    for (int i = 0; i < runs; i++) {
        w[i] = s[i].wall_ms;
        c[i] = s[i].cpu_ms;
    }
    sample out = s[runs - 1];
    out.wall_ms = median(w, runs);
    out.cpu_ms = median(c, runs);
    for (int i = 0; i < runs; i++)
        if (s[i].st != SFA_OK)
            out.st = s[i].st; /* a failed run must show */
    return out;
}

static int start_emu(bench_emu *b, const char *state)
{
    emu_options eo = EMU_OPTIONS_INIT;
    eo.state_file = state;
    return bench_emu_start(b, &eo);
}

/* Seed n Cases (and remember the first nids Ids to edit later) into state. */
static int seed(const char *state, size_t n, char (*ids)[19], size_t nids)
{
    emu_options eo = EMU_OPTIONS_INIT;
    eo.state_file = state;
    emu *e = NULL;
    if (emu_start(&e, &eo) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char id[19], subject[48];
        snprintf(subject, sizeof subject, "Bench case %zu", i);
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "Subject", subject);
        cJSON_AddStringToObject(f, "Origin", "Web");
        cJSON_AddStringToObject(f, "Priority", "Medium");
        int rc = emu_record_insert(e, "Case", f, id);
        cJSON_Delete(f);
        if (rc != 0)
            return -1;
        if (i < nids)
            memcpy(ids[i], id, 19);
    }
    emu_stop(e);
    return 0;
}

/* Edit the nids records; round alternates the value so every edit is a change. */
static int edit(const char *state, char (*ids)[19], size_t nids, int round)
{
    emu_options eo = EMU_OPTIONS_INIT;
    eo.state_file = state;
    emu *e = NULL;
    if (emu_start(&e, &eo) != 0)
        return -1;
    cJSON *f = cJSON_Parse(round % 2 ? "{\"Priority\":\"Low\"}" : "{\"Priority\":\"High\"}");
    for (size_t i = 0; i < nids; i++)
        emu_record_edit(e, ids[i], f);
    cJSON_Delete(f);
    emu_stop(e);
    return 0;
}

/* Salesforce may still write the last seconds: the pull leaves them for the next one
 * ([sync] pull_settle_time, default 2 s). The bench waits them out after changing the
 * server, so each pull sees every change (the wait is not measured). */
static void settle(void)
{
    sleep(3);
}

/* Seed (round < 0) or edit in a child process, so the emulator's memory and CPU never
 * count in this process's figures. The Ids to edit come back through a pipe. */
static int in_child(const char *state, size_t n, char (*ids)[19], size_t nids, int round)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    bool seeding = round < 0;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        int rc = seeding ? seed(state, n, ids, nids) : edit(state, ids, nids, round);
        if (seeding && write(fds[1], ids, nids * 19) != (ssize_t)(nids * 19))
            rc = -1;
        _exit(rc == 0 ? 0 : 1);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t r;
    while (seeding && got < nids * 19 && (r = read(fds[0], (char *)ids + got, nids * 19 - got)) > 0)
        got += (size_t)r;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    settle();
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The field columns the store writes with fields (migration 0013), from the same text. */
#define RAW_FIELD_COLS                                                                             \
    ", f_status, f_ownerid, f_contactid, f_accountid, f_lastmodifieddate, f_createddate"
#define RAW_FIELD_VALUES                                                                           \
    ", json_extract(?4, '$.Status'), json_extract(?4, '$.OwnerId'), json_extract(?4,"              \
    " '$.ContactId'), json_extract(?4, '$.AccountId'), json_extract(?4, '$.LastModifiedDate'),"    \
    " json_extract(?4, '$.CreatedDate')"
static const char RAW_ROW[] =
    "INSERT INTO records (local_id, sobject, sf_id, case_number, fields, base, sys_modstamp,"
    " dirty, deleted, created_at, updated_at" RAW_FIELD_COLS ") VALUES (?1, 'Case', ?2, ?3, ?4,"
    " ?4, ?5, 0, 0, ?6, ?6" RAW_FIELD_VALUES ")";
/* Staged: rows go to a plain temp table, and each transaction moves them in one statement
 * (what the pull does; see store/mirror.c). */
static const char RAW_STAGE[] =
    "INSERT INTO temp.stage (local_id, sobject, sf_id, case_number, fields, base, sys_modstamp,"
    " dirty, deleted, created_at, updated_at" RAW_FIELD_COLS ") VALUES (?1, 'Case', ?2, ?3, ?4,"
    " ?4, ?5, 0, 0, ?6, ?6" RAW_FIELD_VALUES ")";
static const char RAW_FLUSH[] = "INSERT INTO records SELECT * FROM temp.stage ORDER BY rowid;"
                                " DELETE FROM temp.stage";

/* Raw SQLite: n JSON rows like the ones the pull stores, into db's `records`, one
 * statement per row, or staged (flush: the statements that move a transaction's rows). */
static sample raw_insert(sqlite3 *db, size_t n, const char *flush)
{
    sqlite3_stmt *st = NULL;
    if (flush)
        sqlite3_exec(db, "CREATE TEMP TABLE stage AS SELECT * FROM records WHERE 0", NULL, NULL,
                     NULL);
    sqlite3_prepare_v2(db, flush ? RAW_STAGE : RAW_ROW, -1, &st, NULL);
    sample s = {0};
    double c0 = cpu_ms_now();
    int64_t t0 = time_now_ms();
    for (size_t i = 0; i < n; i++) {
        if (i % TX_ROWS == 0)
            sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        char lid[40], sid[24], cn[24], json[400];
        snprintf(lid, sizeof lid, "loc-01J%023zu", i);
        snprintf(sid, sizeof sid, "500%015zu", i);
        snprintf(cn, sizeof cn, "%08zu", i);
        snprintf(json, sizeof json,
                 "{\"Id\":\"%s\",\"SystemModstamp\":\"2026-01-01T00:00:00.000+0000\","
                 "\"CaseNumber\":\"%s\",\"Subject\":\"Bench case %zu\",\"Status\":\"New\","
                 "\"Origin\":\"Web\",\"Priority\":\"Medium\",\"ContactId\":null}",
                 sid, cn, i);
        sqlite3_bind_text(st, 1, lid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, sid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, cn, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, json, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, "2026-01-01T00:00:00.000+0000", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)(1000 + i));
        if (sqlite3_step(st) != SQLITE_DONE)
            s.st = SFA_EIO;
        sqlite3_reset(st);
        if ((i % TX_ROWS == TX_ROWS - 1 || i + 1 == n) && flush &&
            sqlite3_exec(db, flush, NULL, NULL, NULL) != SQLITE_OK)
            s.st = SFA_EIO;
        if (i % TX_ROWS == TX_ROWS - 1 || i + 1 == n)
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    s.wall_ms = (double)(time_now_ms() - t0);
    s.cpu_ms = cpu_ms_now() - c0;
    s.pulled = n;
    sqlite3_finalize(st);
    return s;
}

/* (a) a bare table with the mirror's columns and keys only. */
static sample raw_bare(const char *path, size_t n)
{
    bench_remove_db(path);
    sqlite3 *db = NULL;
    sqlite3_open(path, &db);
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE records"
                 " (local_id TEXT PRIMARY KEY, sobject TEXT, sf_id TEXT, case_number TEXT,"
                 " fields TEXT, base TEXT, sys_modstamp TEXT, dirty INT, deleted INT,"
                 " created_at INT, updated_at INT, f_status, f_ownerid, f_contactid, f_accountid,"
                 " f_lastmodifieddate, f_createddate, UNIQUE (sobject, sf_id))",
                 NULL, NULL, NULL);
    sample s = raw_insert(db, n, NULL);
    sqlite3_close(db);
    bench_remove_db(path);
    return s;
}

/* (b) the mirror's own schema: a database the library created and migrated; rows one by
 * one (staged false) or staged as the pull does. */
static sample raw_schema(const char *path, size_t n, bool staged)
{
    bench_remove_db(path);
    sfa_agent *a = NULL;
    sfa_open_options oo = SFA_OPEN_OPTIONS_INIT;
    sfa_agent_open(&a, path, &oo);
    sfa_agent_free(a);
    sqlite3 *db = NULL;
    sqlite3_open(path, &db);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL", NULL, NULL, NULL);
    sample s = raw_insert(db, n, staged ? RAW_FLUSH : NULL);
    sqlite3_close(db);
    bench_remove_db(path);
    return s;
}

enum raw_kind { RAW_BARE, RAW_BY_ROW, RAW_STAGED };

/* One raw SQLite run in a child process (its CPU is measured there), so its page cache
 * and temp tables never count in this process's peak RSS, which is the agent's. */
static sample raw_in_child(enum raw_kind kind, const char *path, size_t n)
{
    int fds[2];
    sample s = {.st = SFA_EIO};
    if (pipe(fds) != 0)
        return s;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        s = kind == RAW_BARE ? raw_bare(path, n) : raw_schema(path, n, kind == RAW_STAGED);
        _exit(write(fds[1], &s, sizeof s) == (ssize_t)sizeof s ? 0 : 1);
    }
    close(fds[1]);
    if (pid < 0 || read(fds[0], &s, sizeof s) != (ssize_t)sizeof s)
        s = (sample){.st = SFA_EIO};
    close(fds[0]);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    return s;
}

/* The bench's configuration: the emulator's default credentials, Case only. */
static char *config_text(const char *url)
{
    return xasprintf("[salesforce]\nlogin_url = %s\nauth = password\n"
                     "client_id = sfagent-test-client\nclient_secret = sfagent-test-secret\n"
                     "username = agent@example.com\npassword = password\n"
                     "[sync]\napi_limit_share = 1\nobjects = Case\n"
                     "[pull.Case]\nfields = Subject, Status, Origin, Priority, ContactId\n",
                     url);
}

static sfa_config *config_for(const char *url)
{
    char *ini = config_text(url);
    sfa_config *cfg = NULL;
    char *err = NULL;
    if (sync_config_load_string(&cfg, ini, "bench", &err) != SFA_OK)
        fprintf(stderr, "config: %s\n", err ? err : "?");
    free(err);
    free(ini);
    return cfg;
}

/* One pull-only sync of db from the emulator at url, measured. */
static sample pull(const char *db, const char *url)
{
    sample s = {.st = SFA_EINVAL};
    sfa_config *cfg = config_for(url);
    sfa_agent *agent = NULL;
    sfa_open_options oo = SFA_OPEN_OPTIONS_INIT;
    if (cfg && sfa_agent_open(&agent, db, &oo) == SFA_OK) {
        sfa_sync_options o = SFA_SYNC_OPTIONS_INIT;
        o.pull_only = true;
        o.ignore_pause = true;
        sfa_sync_report rep;
        double c0 = cpu_ms_now();
        s.st = sfa_sync_run(&rep, agent, cfg, &o);
        s.cpu_ms = cpu_ms_now() - c0;
        s.wall_ms = (double)rep.elapsed_ms;
        s.api_calls = rep.api_calls;
        s.pulled = rep.pulled;
    }
    sfa_agent_free(agent);
    sfa_config_free(cfg);
    return s;
}

/* "...; 100000 pulled, ...; 54 API calls; ..." of the sync summary line in path. */
static void read_summary(sample *s, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512] = "";
    if (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, " pulled,");
        const char *q = strstr(line, " API calls");
        while (p && p > line && p[-1] >= '0' && p[-1] <= '9')
            p--;
        while (q && q > line && q[-1] >= '0' && q[-1] <= '9')
            q--;
        s->pulled = p ? (size_t)strtoul(p, NULL, 10) : 0;
        s->api_calls = q ? strtol(q, NULL, 10) : 0;
    }
    if (f)
        fclose(f);
}

/* One first pull by the real program into a fresh db: `sfagent init` (not measured),
 * then `sfagent sync --pull-only`, whose whole process is measured. */
static sample cli_pull(const char *sfagent, const char *dir, const char *url, long *rss_kb)
{
    sample s = {.st = SFA_EIO};
    char *db = xasprintf("%s/cli.db", dir), *ini = xasprintf("%s/pull.ini", dir);
    char *out = xasprintf("%s/cli.out", dir), *text = config_text(url);
    bench_remove_db(db);
    int fd = open(ini, O_WRONLY | O_CREAT | O_TRUNC, 0600); /* it holds a secret */
    bool wrote = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    if (fd >= 0)
        close(fd);
    char *init[] = {(char *)sfagent, "--db", db, "init", NULL};
    char *sync[] = {(char *)sfagent, "--db",     db,  "sync", "--pull-only",
                    "--now",         "--config", ini, NULL};
    bench_child run = {.status = -1};
    if (wrote && bench_run_child(init, out).status == 0 &&
        (run = bench_run_child(sync, out)).status == 0) {
        s.wall_ms = run.wall_ms;
        s.cpu_ms = run.cpu_ms;
        s.st = SFA_OK;
        read_summary(&s, out);
        if (run.rss_kb > *rss_kb)
            *rss_kb = run.rss_kb;
    }
    bench_remove_db(db);
    unlink(ini);
    unlink(out);
    free(db);
    free(ini);
    free(out);
    free(text);
    return s;
}

/* The incremental pull of CHANGED edited records into db (which holds the whole state),
 * runs times; the emulator is restarted on the edited state each time. */
static sample incremental(const char *state, const char *db, char (*ids)[19], int runs)
{
    sample s[MAX_RUNS];
    for (int i = 0; i < runs; i++) {
        bench_emu b;
        if (in_child(state, 0, ids, CHANGED, i) != 0 || start_emu(&b, state) != 0) {
            s[i] = (sample){.st = SFA_EINVAL};
            continue;
        }
        s[i] = pull(db, b.url);
        bench_emu_stop(&b);
    }
    return summarize(s, runs);
}

typedef struct results {
    const char *sfagent; /* the program to measure too, or NULL */
    sample first, cli, inc, inc_small, bare, schema, staged;
    long rss_before, rss_after, rss_inc, rss_cli;
    bool separate;
} results;

/* The raw SQLite runs, one per round and kind. */
typedef struct raw_runs {
    sample bare[MAX_RUNS], by_row[MAX_RUNS], staged[MAX_RUNS];
} raw_runs;

/* Round i of the raw SQLite runs. */
static void raw_round(raw_runs *raw, int i, const char *dir, size_t n)
{
    char *path = xasprintf("%s/raw.db", dir);
    raw->staged[i] = raw_in_child(RAW_STAGED, path, n);
    raw->by_row[i] = raw_in_child(RAW_BY_ROW, path, n);
    raw->bare[i] = raw_in_child(RAW_BARE, path, n);
    free(path);
}

/* First pulls of n records (runs, fresh database each), then the incremental ones. Each
 * round runs every side once (the agent, the program, raw SQLite when with_inc), so load
 * from other processes on a shared machine falls on all of them alike. */
static int measure_large(results *r, const char *dir, size_t n, int runs, bool with_inc)
{
    static char ids[CHANGED][19];
    static raw_runs raw;
    char *state = xasprintf("%s/emu.db", dir), *db = xasprintf("%s/agent.db", dir);
    fprintf(stderr, "seeding %zu Cases...\n", n);
    int rc = in_child(state, n, ids, CHANGED, -1);
    bench_emu b;
    if (rc == 0)
        rc = start_emu(&b, state);
    sample s[MAX_RUNS], c[MAX_RUNS];
    r->rss_before = bench_peak_rss_kb();
    for (int i = 0; rc == 0 && i < runs; i++) {
        bench_remove_db(db);
        s[i] = pull(db, b.url);
        if (r->sfagent)
            c[i] = cli_pull(r->sfagent, dir, b.url, &r->rss_cli);
        if (with_inc)
            raw_round(&raw, i, dir, n);
    }
    r->rss_after = bench_peak_rss_kb();
    if (rc == 0) {
        r->separate = b.pid > 0;
        bench_emu_stop(&b);
        r->first = summarize(s, runs);
        if (r->sfagent)
            r->cli = summarize(c, runs);
        if (with_inc) {
            r->bare = summarize(raw.bare, runs);
            r->schema = summarize(raw.by_row, runs);
            r->staged = summarize(raw.staged, runs);
            r->inc = incremental(state, db, ids, runs);
        }
    }
    bench_remove_db(db);
    bench_remove_db(state);
    free(state);
    free(db);
    return rc;
}

/* The same incremental pull with a cache of only n records. */
static int measure_small(results *r, const char *dir, size_t n, int runs)
{
    static char ids[CHANGED][19];
    char *state = xasprintf("%s/emu-small.db", dir), *db = xasprintf("%s/agent-small.db", dir);
    int rc = in_child(state, n, ids, CHANGED, -1);
    bench_emu b;
    if (rc == 0 && (rc = start_emu(&b, state)) == 0) {
        pull(db, b.url);
        bench_emu_stop(&b);
        r->inc_small = incremental(state, db, ids, runs);
    }
    bench_remove_db(db);
    bench_remove_db(state);
    free(state);
    free(db);
    return rc;
}

/* A row; ref_us and bare_us (CPU us per record, 0: none) give its two ratios in records
 * per CPU second. */
static void print_row(const char *name, const sample *s, double ref_us, double bare_us)
{
    double us = s->pulled ? s->cpu_ms * 1000.0 / (double)s->pulled : 0;
    printf("%-36s %8s %8zu %6ld %9.0f %9.0f %8.1f", name, sfa_strerror(s->st), s->pulled,
           s->api_calls, s->wall_ms, s->cpu_ms, us);
    if (ref_us > 0 && us > 0)
        printf(" %7.2fx %7.2fx", ref_us / us, bare_us / us);
    printf("\n");
}

/* --first-only: the first pulls alone, for profiling (see the top of the file). */
static int first_only(const char *sfagent, size_t n, int runs)
{
    char dir[] = "/tmp/sfa-bench-pull-XXXXXX";
    results r = {.sfagent = sfagent};
    if (!mkdtemp(dir) || measure_large(&r, dir, n, runs, false) != 0)
        return 1;
    rmdir(dir);
    printf("bench_pull --first-only: %zu Cases, emulator %s; medians of %d runs\n", n,
           r.separate ? "in a separate process" : "in-process (its CPU and RSS count)", runs);
    print_row("first pull (agent)", &r.first, 0, 0);
    if (sfagent)
        print_row("first pull (sfagent CLI, whole)", &r.cli, 0, 0);
    printf("peak RSS KB: %ld (before the first pull: %ld; target < 16384)\n", r.rss_after,
           r.rss_before);
    if (sfagent)
        printf("peak RSS KB, sfagent CLI (whole process): %ld\n", r.rss_cli);
    return r.first.st == SFA_OK && (!sfagent || r.cli.st == SFA_OK) ? 0 : 1;
}

/* The figures of a full run (see the top of the file). */
static void report(const results *r, size_t n, size_t n_small, int runs)
{
    double staged_us = r->staged.cpu_ms * 1000.0 / (double)n;
    double by_row_us = r->schema.cpu_ms * 1000.0 / (double)n;
    double raw_us = staged_us < by_row_us ? staged_us : by_row_us; /* raw SQLite's best */
    double bare_us = r->bare.cpu_ms * 1000.0 / (double)n;
    printf("bench_pull: %zu Cases, emulator %s; medians of %d runs\n", n,
           r->separate ? "in a separate process" : "in-process (its CPU and RSS count)", runs);
    printf("%-36s %8s %8s %6s %9s %9s %8s %8s %8s\n", "", "status", "records", "calls", "wall ms",
           "cpu ms", "cpu us/r", "vs raw", "vs bare");
    print_row("first pull (agent)", &r->first, raw_us, bare_us);
    if (r->sfagent)
        print_row("first pull (sfagent CLI, whole)", &r->cli, raw_us, bare_us);
    print_row("raw SQLite, mirror schema, by row", &r->schema, raw_us, bare_us);
    print_row("raw SQLite, mirror schema, staged", &r->staged, raw_us, bare_us);
    print_row("raw SQLite, bare table (no read idx)", &r->bare, raw_us, bare_us);
    char name[64];
    snprintf(name, sizeof name, "incremental 1000 of %zu", n);
    print_row(name, &r->inc, 0, 0);
    snprintf(name, sizeof name, "incremental 1000 of %zu", n_small);
    print_row(name, &r->inc_small, 0, 0);
    double first_us = r->first.cpu_ms * 1000.0 / (double)(r->first.pulled ? r->first.pulled : 1);
    printf("agent records per CPU second vs raw SQLite inserting the same rows into the same"
           " schema (its faster way): %.2fx (target >= 0.7)",
           raw_us / first_us);
    if (r->sfagent && r->cli.pulled)
        printf("; the whole sfagent process: %.2fx",
               raw_us / (r->cli.cpu_ms * 1000.0 / (double)r->cli.pulled));
    printf("\n  for scale, vs a bare table without the read indexes the mirror keeps: %.2fx\n",
           bare_us / first_us);
    printf("API calls, first pull: %ld (pages of 2000: %zu + constant)\n", r->first.api_calls,
           (n + 1999) / 2000);
    printf("peak RSS KB: %ld (before the first pull: %ld; target < 16384)\n", r->rss_after,
           r->rss_before);
    if (r->sfagent)
        printf("peak RSS KB, sfagent CLI (whole process): %ld\n", r->rss_cli);
    /* ru_maxrss only grows: the incremental pulls ran later in this process, so this is
     * their bound, equal to the line above when they stayed below the first pull. */
    printf("peak RSS KB after the incremental pulls too: %ld\n", r->rss_inc);
    printf("incremental: %.2fx the CPU and %.2fx the wall time at %zu vs %zu cached\n",
           r->inc.cpu_ms / (r->inc_small.cpu_ms > 0 ? r->inc_small.cpu_ms : 1),
           r->inc.wall_ms / (r->inc_small.wall_ms > 0 ? r->inc_small.wall_ms : 1), n, n_small);
}

int main(int argc, char **argv)
{
    const char *sfagent = NULL;
    if (argc > 2 && strcmp(argv[1], "--sfagent") == 0) {
        sfagent = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc == 4 && strcmp(argv[1], "--seed") == 0) {
        static char none[1][19];
        size_t n = (size_t)strtoul(argv[3], NULL, 10);
        return n > 0 && seed(argv[2], n, none, 0) == 0 ? 0 : 1;
    }
    if (argc > 1 && strcmp(argv[1], "--first-only") == 0) {
        size_t n = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 100000;
        int runs = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 3;
        if (n < CHANGED || runs < 1 || runs > MAX_RUNS) {
            fprintf(stderr,
                    "usage: bench_pull [--sfagent PATH] --first-only [N [RUNS]] (N >= %d;"
                    " RUNS 1..%d)\n",
                    CHANGED, MAX_RUNS);
            return 64;
        }
        return first_only(sfagent, n, runs);
    }
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 100000;
    size_t n_small = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 10000;
    int runs = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 3;
    if (n < CHANGED || n_small < CHANGED || runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr,
                "usage: bench_pull [--sfagent PATH] [N [N_SMALL [RUNS]]] (N, N_SMALL >= %d;"
                " RUNS 1..%d)\n",
                CHANGED, MAX_RUNS);
        return 64;
    }
    char dir[] = "/tmp/sfa-bench-pull-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    results r = {.sfagent = sfagent};
    if (measure_large(&r, dir, n, runs, true) != 0 || measure_small(&r, dir, n_small, runs) != 0)
        return 1;
    r.rss_inc = bench_peak_rss_kb();
    rmdir(dir);
    report(&r, n, n_small, runs);
    return r.first.st == SFA_OK && (!sfagent || r.cli.st == SFA_OK) ? 0 : 1;
}
