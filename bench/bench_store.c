/*
 * bench_store: what the library's safety costs over bare SQLite doing the same work.
 *
 *   (a) durable single-op creates: sfa_record_create (one transaction each) vs raw SQLite
 *       with the same schema and PRAGMAs: per op BEGIN IMMEDIATE, one mirror row + one
 *       outbox row with JSON text, COMMIT, prepared statements reused;
 *   (b) JSON Lines import: sfa_record_import vs raw batched inserts, 500 rows a transaction;
 *   (c) both again with durability normal (synchronous=NORMAL).
 *
 * The raw schema is copied from a database the library created, so both sides write the
 * same tables and maintain the same indexes. Runs in a temp dir (--dir, default $TMPDIR
 * or /tmp), removed at the end. Prints ops/s and the ratio library/raw; not a test.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "sfagent.h"

typedef struct bench_opts {
    long ops;    /* single-op creates */
    long import; /* JSONL lines */
    long repeat; /* runs per measurement; the best is kept */
    const char *parent;
} bench_opts;

static sfa_agent *lib_open(const char *path, sfa_durability d)
{
    sfa_open_options opts = SFA_OPEN_OPTIONS_INIT;
    opts.durability = d;
    sfa_agent *agent = NULL;
    if (sfa_agent_open(&agent, path, &opts) != SFA_OK)
        bench_die("sfa_agent_open", agent ? sfa_agent_errmsg(agent) : path);
    return agent;
}

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        bench_die(sql, err);
}

/* Copy the library's schema (tables first, then indexes) into raw. */
static void copy_schema(sqlite3 *raw, const char *lib_path)
{
    sqlite3 *lib = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(lib_path, &lib, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        bench_die("open library db", sqlite3_errmsg(lib));
    if (sqlite3_prepare_v2(lib,
                           "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT "
                           "LIKE 'sqlite_%' ORDER BY type = 'index', rowid",
                           -1, &st, NULL) != SQLITE_OK)
        bench_die("read schema", sqlite3_errmsg(lib));
    exec_sql(raw, "BEGIN");
    while (sqlite3_step(st) == SQLITE_ROW)
        exec_sql(raw, (const char *)sqlite3_column_text(st, 0));
    exec_sql(raw, "COMMIT");
    sqlite3_finalize(st);
    sqlite3_close(lib);
}

static sqlite3 *raw_open(const char *path, const char *lib_path, sfa_durability d)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        bench_die("sqlite3_open", sqlite3_errmsg(db));
    exec_sql(db, "PRAGMA journal_mode=WAL");
    exec_sql(db,
             d == SFA_DURABILITY_FULL ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    exec_sql(db, "PRAGMA foreign_keys=ON");
    exec_sql(db, "PRAGMA busy_timeout=5000");
    copy_schema(db, lib_path);
    return db;
}

typedef struct raw_stmts {
    sqlite3_stmt *rec, *op, *begin, *commit;
} raw_stmts;

static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        bench_die(sql, sqlite3_errmsg(db));
    return st;
}

static raw_stmts raw_prepare(sqlite3 *db)
{
    raw_stmts s;
    s.rec = prep(db, "INSERT INTO records (local_id, sobject, fields, dirty, created_at, "
                     "updated_at) VALUES (?1, 'Case', ?2, 1, ?3, ?3)");
    s.op = prep(db, "INSERT INTO outbox (op_id, sobject, local_id, kind, fields, created_at, "
                    "updated_at) VALUES (?1, 'Case', ?2, 'create', ?3, ?4, ?4)");
    s.begin = prep(db, "BEGIN IMMEDIATE");
    s.commit = prep(db, "COMMIT");
    return s;
}

static void step_reset(sqlite3 *db, sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        bench_die("step", sqlite3_errmsg(db));
    sqlite3_reset(st);
}

/* One mirror row + one outbox row, as a local create writes them. */
static void raw_insert_pair(sqlite3 *db, const raw_stmts *s, long i, const char *json)
{
    char lid[40], oid[40];
    snprintf(lid, sizeof lid, "loc-%026ld", i);
    snprintf(oid, sizeof oid, "op-%026ld", i);
    sqlite3_int64 t = (sqlite3_int64)time(NULL) * 1000;
    sqlite3_bind_text(s->rec, 1, lid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s->rec, 2, json, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s->rec, 3, t);
    step_reset(db, s->rec);
    sqlite3_bind_text(s->op, 1, oid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s->op, 2, lid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s->op, 3, json, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s->op, 4, t);
    step_reset(db, s->op);
}

static void raw_finalize(raw_stmts *s)
{
    sqlite3_finalize(s->rec);
    sqlite3_finalize(s->op);
    sqlite3_finalize(s->begin);
    sqlite3_finalize(s->commit);
}

/* Raw SQLite: n ops, batch rows per transaction; returns ops/s. */
static double raw_run(const char *path, const char *lib_path, sfa_durability d, long n, long batch)
{
    sqlite3 *db = raw_open(path, lib_path, d);
    raw_stmts s = raw_prepare(db);
    char json[96];
    double t0 = bench_now_s();
    for (long i = 0; i < n; i++) {
        if (i % batch == 0)
            step_reset(db, s.begin);
        snprintf(json, sizeof json, "{\"Subject\":\"Bench case %ld\",\"Status\":\"New\"}", i);
        raw_insert_pair(db, &s, i, json);
        if (i % batch == batch - 1 || i == n - 1)
            step_reset(db, s.commit);
    }
    double dt = bench_now_s() - t0;
    raw_finalize(&s);
    sqlite3_close(db);
    return (double)n / dt;
}

static double lib_creates(const char *path, sfa_durability d, long n)
{
    sfa_agent *agent = lib_open(path, d);
    char json[96];
    double t0 = bench_now_s();
    for (long i = 0; i < n; i++) {
        char *id = NULL;
        snprintf(json, sizeof json, "{\"Subject\":\"Bench case %ld\",\"Status\":\"New\"}", i);
        if (sfa_record_create(&id, agent, "Case", json) != SFA_OK)
            bench_die("sfa_record_create", sfa_agent_errmsg(agent));
        free(id);
    }
    double dt = bench_now_s() - t0;
    sfa_agent_free(agent);
    return (double)n / dt;
}

static void write_jsonl(const char *path, long n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        bench_die("create", path);
    for (long i = 0; i < n; i++)
        fprintf(f, "{\"Subject\":\"Bench case %ld\",\"Status\":\"New\"}\n", i);
    if (fclose(f) != 0)
        bench_die("write", path);
}

static double lib_import(const char *path, const char *jsonl, sfa_durability d, long n)
{
    sfa_agent *agent = lib_open(path, d);
    int fd = open(jsonl, O_RDONLY);
    if (fd < 0)
        bench_die("open", jsonl);
    sfa_import_result res = {0, 0};
    double t0 = bench_now_s();
    if (sfa_record_import(&res, agent, "Case", fd, 500) != SFA_OK)
        bench_die("sfa_record_import", sfa_agent_errmsg(agent));
    double dt = bench_now_s() - t0;
    close(fd);
    if ((long)res.imported != n)
        bench_die("import", "count mismatch");
    sfa_agent_free(agent);
    return (double)n / dt;
}

static void print_row(const char *what, long n, const char *dur, double lib, double raw,
                      double target)
{
    double ratio = lib / raw;
    printf("%-22s %7ld  %-10s %12.0f %12.0f  %5.2fx  %4.1fx  %s\n", what, n, dur, lib, raw, ratio,
           target, ratio >= target ? "ok" : "BELOW");
}

static double best(double a, double b)
{
    return a > b ? a : b;
}

/*
 * One durability mode: each side runs o->repeat times from an empty database and keeps
 * its best rate, so a burst of load from elsewhere on the machine does not decide the ratio.
 */
static void run_mode(const char *dir, const bench_opts *o, sfa_durability d, const char *jsonl)
{
    const char *dur = d == SFA_DURABILITY_FULL ? "full" : "normal";
    char lib[512], raw[512];
    snprintf(lib, sizeof lib, "%s/lib.db", dir);
    snprintf(raw, sizeof raw, "%s/raw.db", dir);
    double lc = 0, rc = 0, li = 0, ri = 0;
    for (long rep = 0; rep < o->repeat; rep++) {
        bench_remove_db(lib);
        lc = best(lc, lib_creates(lib, d, o->ops)); /* also the raw side's schema source */
        bench_remove_db(raw);
        rc = best(rc, raw_run(raw, lib, d, o->ops, 1));
        bench_remove_db(raw);
        ri = best(ri, raw_run(raw, lib, d, o->import, 500));
        bench_remove_db(lib);
        li = best(li, lib_import(lib, jsonl, d, o->import));
    }
    print_row("single-op create", o->ops, dur, lc, rc, 0.7);
    print_row("import JSONL (500/tx)", o->import, dur, li, ri, 0.5);
    bench_remove_db(lib);
    bench_remove_db(raw);
}

static void parse_args(int argc, char **argv, bench_opts *o)
{
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc)
            o->ops = strtol(argv[++i], &end, 10);
        else if (strcmp(argv[i], "--import") == 0 && i + 1 < argc)
            o->import = strtol(argv[++i], &end, 10);
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            o->repeat = strtol(argv[++i], &end, 10);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            o->parent = argv[++i];
        else {
            fprintf(stderr, "usage: bench_store [--ops N] [--import N] [--repeat N] [--dir DIR]\n");
            exit(64);
        }
        if (end && (*end != '\0' || o->ops <= 0 || o->import <= 0 || o->repeat <= 0)) {
            fprintf(stderr, "bench_store: counts must be positive numbers\n");
            exit(64);
        }
    }
}

int main(int argc, char **argv)
{
    const char *tmp = getenv("TMPDIR");
    bench_opts o = {2000, 50000, 3, tmp && *tmp ? tmp : "/tmp"};
    parse_args(argc, argv, &o);
    char dir[512], jsonl[600];
    snprintf(dir, sizeof dir, "%s/sfa-bench-XXXXXX", o.parent);
    if (!mkdtemp(dir))
        bench_die("mkdtemp", dir);
    snprintf(jsonl, sizeof jsonl, "%s/import.jsonl", dir);
    write_jsonl(jsonl, o.import);
    printf("sfagent store benchmark in %s (SQLite %s, WAL, best of %ld)\n\n", o.parent,
           sqlite3_libversion(), o.repeat);
    printf("%-22s %7s  %-10s %12s %12s  %6s  %5s\n", "workload", "n", "durability", "library op/s",
           "raw op/s", "ratio", "target");
    run_mode(dir, &o, SFA_DURABILITY_FULL, jsonl);
    run_mode(dir, &o, SFA_DURABILITY_NORMAL, jsonl);
    unlink(jsonl);
    rmdir(dir);
    return 0;
}
