/* bench_pull: the pull engine's first and incremental pulls (docs/sync-protocol.md#pull).
 *
 * N Cases (default 100,000) are created in an emulator state file (in-process, before
 * the clock starts), then the emulator runs as a separate process on that state
 * (SFAGENT_EMULATOR_BIN, else in-process) and one pull-only sync fills an empty mirror.
 * Printed: records/s into the mirror vs raw SQLite inserting the same rows (the same JSON
 * text, one row per record, same durability, one transaction per 2,000 rows) (target >=
 * 0.7x), API calls (target: N/2000 pages plus a constant), peak RSS of this process
 * (target < 16 MB with a separate emulator), then an incremental pull after 1,000 of the
 * N records changed (API calls = pages for 1,000; time independent of N).
 *
 * Usage: bench_pull [N]. Not a test: prints a table. */
#include <signal.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_emu.h"
#include "emulator/emulator.h"
#include "sfagent/agent.h"
#include "sfagent/record.h"
#include "sfagent/sync.h"
#include "sync/client/config_internal.h"
#include "util/alloc.h"
#include "util/timeutil.h"

static int start_emu(bench_emu *b, const char *state)
{
    emu_options eo = EMU_OPTIONS_INIT;
    eo.state_file = state;
    return bench_emu_start(b, &eo);
}

/* Seed n Cases (and remember the first `changed` Ids to edit later) into state. */
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

static int edit(const char *state, char (*ids)[19], size_t n)
{
    emu_options eo = EMU_OPTIONS_INIT;
    eo.state_file = state;
    emu *e = NULL;
    if (emu_start(&e, &eo) != 0)
        return -1;
    cJSON *f = cJSON_Parse("{\"Priority\":\"High\"}");
    for (size_t i = 0; i < n; i++)
        emu_record_edit(e, ids[i], f);
    cJSON_Delete(f);
    emu_stop(e);
    return 0;
}

/* Run fn in a child process, so the seeding emulator's memory never counts in this
 * process's peak RSS. The Ids to edit come back through a pipe. */
static int in_child(const char *state, size_t n, char (*ids)[19], size_t nids, bool editing)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        int rc = editing ? edit(state, ids, nids) : seed(state, n, ids, nids);
        if (!editing && write(fds[1], ids, nids * 19) != (ssize_t)(nids * 19))
            rc = -1;
        _exit(rc == 0 ? 0 : 1);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t r;
    while (!editing && got < nids * 19 &&
           (r = read(fds[0], (char *)ids + got, nids * 19 - got)) > 0)
        got += (size_t)r;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Raw SQLite: the same JSON rows into a table like the mirror's, same durability. */
static double raw_rate(const char *dir, const char *url, size_t n)
{
    (void)url;
    char *path = xasprintf("%s/raw.db", dir);
    sqlite3 *db = NULL;
    sqlite3_open(path, &db);
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE r (local_id TEXT"
                 " PRIMARY KEY, sobject TEXT, sf_id TEXT, fields TEXT, base TEXT, m TEXT,"
                 " UNIQUE (sobject, sf_id))",
                 NULL, NULL, NULL);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db, "INSERT INTO r VALUES (?1, 'Case', ?2, ?3, ?3, ?4)", -1, &st, NULL);
    int64_t t0 = time_now_ms();
    for (size_t i = 0; i < n; i++) {
        if (i % 2000 == 0)
            sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        char lid[40], sid[24], json[400];
        snprintf(lid, sizeof lid, "loc-%026zu", i);
        snprintf(sid, sizeof sid, "500%015zu", i);
        snprintf(json, sizeof json,
                 "{\"Id\":\"%s\",\"SystemModstamp\":\"2026-01-01T00:00:00.000+0000\","
                 "\"CaseNumber\":\"%08zu\",\"Subject\":\"Bench case %zu\",\"Status\":\"New\","
                 "\"Origin\":\"Web\",\"Priority\":\"Medium\",\"ContactId\":null}",
                 sid, i, i);
        sqlite3_bind_text(st, 1, lid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, sid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, json, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, "2026-01-01T00:00:00.000+0000", -1, SQLITE_STATIC);
        sqlite3_step(st);
        sqlite3_reset(st);
        if (i % 2000 == 1999 || i + 1 == n)
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    int64_t ms = time_now_ms() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    unlink(path);
    char *wal = xasprintf("%s-wal", path), *shm = xasprintf("%s-shm", path);
    unlink(wal);
    unlink(shm);
    free(wal);
    free(shm);
    free(path);
    return (double)n * 1000.0 / (double)(ms ? ms : 1);
}

static sfa_status pull(sfa_agent *agent, sfa_config *cfg, sfa_sync_report *rep)
{
    sfa_sync_options o = SFA_SYNC_OPTIONS_INIT;
    o.pull_only = true;
    o.ignore_pause = true;
    return sfa_sync_run(rep, agent, cfg, &o);
}

static sfa_config *config_for(const char *url)
{
    char *ini = xasprintf("[salesforce]\nlogin_url = %s\nauth = password\n"
                          "client_id = sfagent-test-client\nclient_secret = sfagent-test-secret\n"
                          "username = agent@example.com\npassword = password\n"
                          "[sync]\napi_limit_share = 1\nobjects = Case\n"
                          "[pull.Case]\nfields = Subject, Status, Origin, Priority, ContactId\n",
                          url);
    sfa_config *cfg = NULL;
    char *err = NULL;
    if (sync_config_load_string(&cfg, ini, "bench", &err) != SFA_OK)
        fprintf(stderr, "config: %s\n", err ? err : "?");
    free(err);
    free(ini);
    return cfg;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 100000;
    enum { CHANGED = 1000 };
    char dir[] = "/tmp/sfa-bench-pull-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char *state = xasprintf("%s/emu.db", dir), *dbp = xasprintf("%s/agent.db", dir);
    static char ids[CHANGED][19];
    fprintf(stderr, "seeding %zu Cases...\n", n);
    if (in_child(state, n, ids, CHANGED, false) != 0)
        return 1;
    bench_emu b;
    if (start_emu(&b, state) != 0)
        return 1;
    sfa_config *cfg = config_for(b.url);
    sfa_agent *agent = NULL;
    sfa_open_options oo = SFA_OPEN_OPTIONS_INIT;
    if (!cfg || sfa_agent_open(&agent, dbp, &oo) != SFA_OK)
        return 1;
    long rss0 = bench_peak_rss_kb();
    sfa_sync_report r1;
    sfa_status st1 = pull(agent, cfg, &r1);
    long rss1 = bench_peak_rss_kb();
    bench_emu_stop(&b);
    in_child(state, n, ids, CHANGED, true);
    if (start_emu(&b, state) != 0)
        return 1;
    sfa_config_free(cfg);
    cfg = config_for(b.url);
    sfa_sync_report r2;
    sfa_status st2 = pull(agent, cfg, &r2);
    bench_emu_stop(&b);
    double raw = raw_rate(dir, b.url, n);
    double rate = (double)r1.pulled * 1000.0 / (double)(r1.elapsed_ms ? r1.elapsed_ms : 1);
    printf("bench_pull: %zu Cases, emulator %s\n", n,
           b.pid > 0 ? "in a separate process" : "in-process (RSS includes it)");
    printf("%-28s %12s %12s\n", "", "first pull", "incremental");
    printf("%-28s %12s %12s\n", "status", sfa_strerror(st1), sfa_strerror(st2));
    printf("%-28s %12zu %12zu\n", "records pulled", r1.pulled, r2.pulled);
    printf("%-28s %12ld %12ld\n", "API calls", r1.api_calls, r2.api_calls);
    printf("%-28s %12.2f %12.2f\n", "seconds", (double)r1.elapsed_ms / 1000.0,
           (double)r2.elapsed_ms / 1000.0);
    printf("%-28s %12.0f\n", "records/s into the mirror", rate);
    printf("%-28s %12.0f\n", "records/s raw SQLite", raw);
    printf("%-28s %12.2f   (target >= 0.7)\n", "ratio", rate / raw);
    printf("%-28s %12ld   (before the pull: %ld; target < 16384)\n", "peak RSS KB", rss1, rss0);
    printf("%-28s %12zu   (pages of 2000: %zu + constant)\n", "expected pages", n / 2000,
           (n + 1999) / 2000);
    sfa_agent_free(agent);
    sfa_config_free(cfg);
    unlink(state);
    unlink(dbp);
    free(state);
    free(dbp);
    return 0;
}
