/*
 * Running unattended (issue 13), the loose ends, through the real binary ($SFAGENT_BIN)
 * against the in-process emulator:
 *   - the reachability probe connects to the instance the last login answered with, not
 *     the login host (and to the login host before any login, or when the recorded
 *     instance is not one the client would trust);
 *   - a run killed on this host reads as interrupted, not as running until its lease
 *     expires (status, status --json, status --check);
 *   - `sync` and `run` (at start, after SIGHUP) apply the declared field indexes
 *     ([pull.<Object>] index), say what they created and dropped, and go on when that
 *     fails;
 *   - an op parked in conflict (manual policy) is logged once, with its reason, by the run
 *     that parked it and by no run after.
 * The emulator answers every login with instance_url http://127.0.0.1:PORT; the tests log
 * in at http://localhost:PORT, another name for the same server, so that login host and
 * instance differ and the login host can be moved to a dead port while the instance stays.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "agent/run.h"
#include "emulator.h"

typedef struct fixture {
    char dir[64];
    char db[128];
    char ini[128];      /* login at localhost:PORT (the emulator) */
    char dead_ini[128]; /* login at localhost:DEAD, nothing listens there */
    emu *e;
} fixture;

static void write_ini(const char *path, const char *url, const char *extra)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp,
            "[salesforce]\nlogin_url = %s\nclient_id = sfagent-test-client\n"
            "client_secret = sfagent-test-secret\nusername = agent@example.com\n"
            "password = password\ntimeout = 5\n%s",
            url, extra ? extra : "");
    fclose(fp);
    assert_int_equal(chmod(path, 0600), 0);
}

static void sfa_run(run_result *r, const fixture *f, const char *arg0, ...)
{
    va_list ap;
    va_start(ap, arg0);
    run_sfagent_vdb(r, f->dir, f->db, NULL, arg0, ap);
    va_end(ap);
}
#define sfa(r, f, ...) sfa_run((r), (f), __VA_ARGS__, (const char *)NULL)

/* A loopback port nothing listens on: the emulator started and stopped again. */
static unsigned short dead_port(void)
{
    emu *e = NULL;
    emu_options o = EMU_OPTIONS_INIT;
    assert_int_equal(emu_start(&e, &o), 0);
    unsigned short port = emu_port(e);
    emu_stop(e);
    return port;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/sfa-unattended-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/t.db", f->dir);
    snprintf(f->ini, sizeof f->ini, "%s/sfagent.ini", f->dir);
    snprintf(f->dead_ini, sizeof f->dead_ini, "%s/dead.ini", f->dir);
    emu_options o = EMU_OPTIONS_INIT;
    if (emu_start(&f->e, &o) != 0)
        return -1;
    /* The instance (127.0.0.1) is not the login host (localhost): trust it by name. */
    const char *trust = "allowed_instance_hosts = 127.0.0.1\n";
    char url[64];
    snprintf(url, sizeof url, "http://localhost:%u", (unsigned)emu_port(f->e));
    write_ini(f->ini, url, trust);
    snprintf(url, sizeof url, "http://localhost:%u", (unsigned)dead_port());
    write_ini(f->dead_ini, url, trust);
    unsetenv("SFAGENT_LOG_FORMAT");
    unsetenv("JOURNAL_STREAM");
    setenv("SFAGENT_LOG_LEVEL", "info", 1);
    run_result r;
    sfa(&r, f, "init");
    int code = r.code;
    run_result_free(&r);
    *state = f;
    return code == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    emu_stop(f->e);
    run_remove_dir(f->dir);
    free(f);
    return 0;
}

static void create_case(const fixture *f)
{
    run_result r;
    sfa(&r, f, "case", "create", "--subject", "unattended");
    run_expect_exit(&r, 0);
    run_result_free(&r);
}

/* `sfagent sync --config ini`: expect code; stderr returned (caller frees). */
static char *sync_with(const fixture *f, const char *ini, int code)
{
    run_result r;
    sfa(&r, f, "sync", "--config", ini);
    run_expect_exit(&r, code);
    char *err = r.err;
    r.err = NULL;
    run_result_free(&r);
    return err;
}

/* An offline pause an hour long, as a run that could not connect leaves it (its own
 * backoff is jittered and may be over already). */
static void offline_for_an_hour(const fixture *f)
{
    free(sync_with(f, f->dead_ini, 75));
    run_sql(f->db, "UPDATE sync_pause SET until_at = strftime('%s', 'now') * 1000 + 3600000");
}

#define REACHED "offline pause is over"
#define WAITED  "backing off until"

/* After a login, the probe connects to the instance it answered with: the login host is
 * down (a dead port), the instance is up, so the offline pause ends and the run goes on
 * to its token request, which fails at the dead login host. */
static void test_probe_connects_to_recorded_instance(void **state)
{
    fixture *f = *state;
    create_case(f);
    free(sync_with(f, f->ini, 0));
    create_case(f);
    offline_for_an_hour(f);
    char *err = sync_with(f, f->dead_ini, 75);
    if (!strstr(err, REACHED) || strstr(err, WAITED))
        fail_msg("the probe did not reach the instance: %s", err);
    free(err);
}

/* Before any login there is no instance: the probe connects to the login host, which is
 * down, so the pause holds and no request is made. */
static void test_probe_before_login_uses_login_host(void **state)
{
    fixture *f = *state;
    create_case(f);
    offline_for_an_hour(f);
    size_t before = emu_request_count(f->e, NULL, NULL);
    char *err = sync_with(f, f->dead_ini, 75);
    if (!strstr(err, WAITED) || strstr(err, REACHED))
        fail_msg("the probe did not go to the login host: %s", err);
    free(err);
    assert_int_equal(emu_request_count(f->e, NULL, NULL), before);
}

/* A recorded instance the configuration no longer trusts (the database edited, or
 * allowed_instance_hosts narrowed) is not probed: the login host is. */
static void test_probe_ignores_untrusted_instance(void **state)
{
    fixture *f = *state;
    create_case(f);
    free(sync_with(f, f->ini, 0));
    char sql[160];
    snprintf(sql, sizeof sql,
             "UPDATE meta SET value = 'http://127.0.0.2:%u' WHERE key ="
             " 'instance.url'",
             (unsigned)emu_port(f->e));
    run_sql(f->db, sql);
    create_case(f);
    offline_for_an_hour(f);
    char *err = sync_with(f, f->dead_ini, 75);
    if (!strstr(err, WAITED) || strstr(err, REACHED))
        fail_msg("an untrusted instance was probed: %s", err);
    free(err);
}

/* The recorded instance is the instance URL, nothing more (no token beside it). */
static void test_instance_recorded_after_login(void **state)
{
    fixture *f = *state;
    sqlite3 *db = NULL;
    free(sync_with(f, f->ini, 0));
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'instance.url'", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), emu_base_url(f->e));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* A pid that was alive and is not any more (a child that exited and was reaped). */
static long dead_pid(void)
{
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0)
        _exit(0);
    int status = 0;
    assert_int_equal(waitpid(p, &status, 0), p);
    return (long)p;
}

/* The lease row a run on this host leaves when it is killed (SIGKILL: no release),
 * unexpired for an hour. */
static void lease_left_by(const fixture *f, long pid)
{
    char host[256] = "";
    assert_int_equal(gethostname(host, sizeof host - 1), 0);
    char *sql = sqlite3_mprintf(
        "INSERT OR REPLACE INTO sync_lease (id, owner, pid, host, taken_at, expires_at)"
        " VALUES (1, 'killed-run', %ld, %Q, strftime('%%s', 'now') * 1000,"
        " strftime('%%s', 'now') * 1000 + 3600000)",
        pid, host);
    run_sql(f->db, sql);
    sqlite3_free(sql);
}

static cJSON *status_json(const fixture *f)
{
    run_result r;
    sfa(&r, f, "--json", "status");
    run_expect_exit(&r, 0);
    cJSON *j = cJSON_Parse(r.out);
    assert_non_null(j);
    run_result_free(&r);
    return j;
}

/* Killed on this host: not running, interrupted, at once (the lease has an hour left). */
static void test_status_killed_run_is_interrupted(void **state)
{
    fixture *f = *state;
    long pid = dead_pid();
    lease_left_by(f, pid);
    cJSON *j = status_json(f);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "running")));
    const cJSON *i = cJSON_GetObjectItemCaseSensitive(j, "interrupted");
    assert_true(cJSON_IsObject(i));
    assert_int_equal((long)cJSON_GetObjectItemCaseSensitive(i, "pid")->valuedouble, pid);
    cJSON_Delete(j);
    run_result r;
    sfa(&r, f, "status");
    run_expect_exit(&r, 0);
    if (!strstr(r.out, "no (interrupted: pid"))
        fail_msg("status: %s", r.out);
    run_result_free(&r);
    sfa(&r, f, "status", "--check");
    run_expect_exit(&r, 0);
    if (!strstr(r.out, "SFAGENT OK") || !strstr(r.out, "was interrupted"))
        fail_msg("status --check: %s", r.out);
    run_result_free(&r);
    /* The next run takes the lease over. */
    free(sync_with(f, f->ini, 0));
    j = status_json(f);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "interrupted")));
    cJSON_Delete(j);
}

/* A live holder (this test process) is running, not interrupted. */
static void test_status_live_run_is_running(void **state)
{
    fixture *f = *state;
    lease_left_by(f, (long)getpid());
    cJSON *j = status_json(f);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "running");
    assert_true(cJSON_IsObject(r));
    assert_int_equal((long)cJSON_GetObjectItemCaseSensitive(r, "pid")->valuedouble, (long)getpid());
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "interrupted")));
    cJSON_Delete(j);
}

/* ---- declared indexes ---- */

#define INDEX_PRIORITY "[pull.Case]\nindex = Priority\n"
#define TRUST          "allowed_instance_hosts = 127.0.0.1\n"

/* The login at the emulator, with extra configuration lines. */
static void write_live_ini(const fixture *f, const char *extra)
{
    char url[64], *text = NULL;
    snprintf(url, sizeof url, "http://localhost:%u", (unsigned)emu_port(f->e));
    text = sqlite3_mprintf("%s%s", TRUST, extra ? extra : "");
    write_ini(f->ini, url, text);
    sqlite3_free(text);
}

static bool has_index(const fixture *f, const char *name)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT 1 FROM sqlite_schema WHERE type = 'index'"
                                        " AND name = ?1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return found;
}

/* `sync` creates a declared index, says so, and drops it once it is no longer declared. */
static void test_sync_applies_declared_indexes(void **state)
{
    fixture *f = *state;
    write_live_ini(f, INDEX_PRIORITY);
    char *err = sync_with(f, f->ini, 0);
    if (!strstr(err, "created the local index of Priority"))
        fail_msg("no index line: %s", err);
    free(err);
    assert_true(has_index(f, "records_x_Priority"));
    err = sync_with(f, f->ini, 0); /* nothing to change: nothing said */
    assert_null(strstr(err, "local index"));
    free(err);
    write_live_ini(f, NULL);
    err = sync_with(f, f->ini, 0);
    if (!strstr(err, "dropped the local index of Priority"))
        fail_msg("no drop line: %s", err);
    free(err);
    assert_false(has_index(f, "records_x_Priority"));
}

/* An index that cannot be made (the name is taken by a view) is a warning: the sync still
 * sends what is pending and exits 0. */
static void test_sync_goes_on_when_indexes_fail(void **state)
{
    fixture *f = *state;
    run_sql(f->db, "CREATE VIEW records_x_Priority AS SELECT 1 AS x");
    write_live_ini(f, INDEX_PRIORITY);
    create_case(f);
    char *err = sync_with(f, f->ini, 0);
    if (!strstr(err, "level=warn") || !strstr(err, "were not applied"))
        fail_msg("no warning: %s", err);
    free(err);
    assert_int_equal(emu_record_count(f->e, "Case", false), 1);
    assert_false(has_index(f, "records_x_Priority"));
}

/* `sfagent run` as a child, stderr to a file: its pid. */
static pid_t start_daemon(const fixture *f, const char *ini, const char *log)
{
    char bin[512];
    snprintf(bin, sizeof bin, "%s", getenv("SFAGENT_BIN"));
    char *const argv[] = {bin, "--db", (char *)f->db, "run", "--config", (char *)ini, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    extern char **environ;
    pid_t pid = 0;
    assert_int_equal(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

/* Wait (bounded, not timed: the bound only turns a hang into a failure) until the log
 * holds text. */
static bool log_gets(const char *log, const char *text)
{
    for (int i = 0; i < 300; i++) {
        char *s = run_read_file(log);
        bool found = s && strstr(s, text);
        free(s);
        if (found)
            return true;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

/* `run` applies them at start and again after SIGHUP reloads the configuration. */
static void test_run_applies_indexes_at_start_and_reload(void **state)
{
    fixture *f = *state;
    write_live_ini(f, INDEX_PRIORITY);
    char log[160];
    snprintf(log, sizeof log, "%s/run.log", f->dir);
    pid_t pid = start_daemon(f, f->ini, log);
    bool created = log_gets(log, "created the local index of Priority");
    write_live_ini(f, "[pull.Case]\nindex = Origin\n");
    if (created)
        kill(pid, SIGHUP);
    bool swapped = created && log_gets(log, "dropped the local index of Priority");
    kill(pid, SIGTERM);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    char *text = run_read_file(log);
    if (!created || !swapped || !strstr(text, "created the local index of Origin"))
        fail_msg("the daemon did not apply the indexes: %s", text);
    free(text);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(has_index(f, "records_x_Origin"));
    assert_false(has_index(f, "records_x_Priority"));
}

/* The daemon's probe goes to the recorded instance too: with the login host down and the
 * instance up, a probe connects (and the run after it fails at the login host again). */
static void test_run_probes_recorded_instance(void **state)
{
    fixture *f = *state;
    free(sync_with(f, f->ini, 0)); /* records the instance */
    create_case(f);
    char log[160];
    snprintf(log, sizeof log, "%s/run.log", f->dir);
    pid_t pid = start_daemon(f, f->dead_ini, log);
    bool reached = log_gets(log, "probe: Salesforce can be reached again");
    kill(pid, SIGTERM);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!reached) {
        char *text = run_read_file(log);
        fail_msg("the daemon's probe did not reach the instance: %s", text);
    }
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- an op in conflict is logged once ---- */

static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* A Case synced as "base", changed to "server" in Salesforce (a later modstamp) and to
 * "local" here: the manual policy parks the update in conflict. */
static void test_conflict_logged_once(void **state)
{
    fixture *f = *state;
    write_live_ini(f, "[sync]\nconflict_policy = manual\n");
    run_result r;
    sfa(&r, f, "case", "create", "--subject", "base");
    run_expect_exit(&r, 0);
    char *id = strndup(r.out, strcspn(r.out, "\n"));
    run_result_free(&r);
    free(sync_with(f, f->ini, 0));
    cJSON *all = emu_records(f->e, "Case", false);
    assert_int_equal(cJSON_GetArraySize(all), 1);
    const cJSON *sf = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(all, 0), "Id");
    char *sf_id = strdup(sf->valuestring);
    cJSON_Delete(all);
    cJSON *edit = cJSON_CreateObject();
    cJSON_AddStringToObject(edit, "Subject", "server");
    assert_int_equal(emu_record_edit(f->e, sf_id, edit), 0);
    cJSON_Delete(edit);
    assert_int_equal(emu_record_set_modstamp(f->e, sf_id, (int64_t)(time(NULL) + 3600) * 1000), 0);
    sfa(&r, f, "case", "update", id, "--subject", "local");
    run_expect_exit(&r, 0);
    run_result_free(&r);
    char *err = sync_with(f, f->ini, 65);
    if (count_of(err, " is conflict: ") != 1 || !strstr(err, "level=warn"))
        fail_msg("wanted one conflict line in: %s", err);
    free(err);
    err = sync_with(f, f->ini, 65); /* still in conflict: nothing new to say */
    assert_int_equal(count_of(err, " is conflict: "), 0);
    free(err);
    free(sf_id);
    free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_instance_recorded_after_login, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_connects_to_recorded_instance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_before_login_uses_login_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_ignores_untrusted_instance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_killed_run_is_interrupted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_live_run_is_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_applies_declared_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_goes_on_when_indexes_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_applies_indexes_at_start_and_reload, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_probes_recorded_instance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_logged_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
