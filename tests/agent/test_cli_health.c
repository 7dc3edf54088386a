/*
 * Health for monitoring (issue 13 items 2 and 4), through the real binary ($SFAGENT_BIN)
 * against the in-process emulator: `status` fields after good and failed runs, `status
 * --check` in every state with its one plugin line and perfdata, the log formats
 * (logfmt, json, JOURNAL_STREAM), the one summary line per run, and an op that turns dead
 * logged once. Old times are made by moving the stored times back with SQL (no clock is
 * faked and nothing is timed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "agent/run.h"
#include "emulator.h"

#define MAX_ARGS 24

typedef struct fixture {
    char dir[64];
    char db[128];
    char ini[128];
    char offline_ini[128];
    emu *e;
} fixture;

static void write_ini(const char *path, const char *url)
{
    run_write_emu_config(path, url, NULL);
}

static void sfa_run(run_result *r, const fixture *f, const char *arg0, ...)
{
    va_list ap;
    va_start(ap, arg0);
    run_sfagent_vdb(r, f->dir, f->db, NULL, arg0, ap);
    va_end(ap);
}
#define sfa(r, f, ...) sfa_run((r), (f), __VA_ARGS__, (const char *)NULL)

static int setup(void **state)
{
    unsetenv("SFAGENT_LOG_LEVEL");
    unsetenv("SFAGENT_LOG_FORMAT");
    unsetenv("JOURNAL_STREAM");
    fixture *f = calloc(1, sizeof *f);
    if (!f ||
        run_init_scratch(f->dir, sizeof f->dir, f->db, sizeof f->db, "/tmp/sfa-health-XXXXXX") != 0)
        return -1;
    snprintf(f->ini, sizeof f->ini, "%s/sfagent.ini", f->dir);
    snprintf(f->offline_ini, sizeof f->offline_ini, "%s/offline.ini", f->dir);
    emu_options o = EMU_OPTIONS_INIT;
    if (emu_start(&f->e, &o) != 0)
        return -1;
    write_ini(f->ini, emu_base_url(f->e));
    write_ini(f->offline_ini, "http://127.0.0.1:1"); /* nothing listens there */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    emu_stop(f->e);
    run_remove_dir(f->dir);
    free(f);
    return 0;
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

static const cJSON *at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    return b ? cJSON_GetObjectItemCaseSensitive(x, b) : x;
}

static void sync_with(const fixture *f, const char *ini, int code)
{
    run_result r;
    sfa(&r, f, "sync", "--config", ini);
    run_expect_exit(&r, code);
    run_result_free(&r);
}

static void create_case(const fixture *f)
{
    run_result r;
    sfa(&r, f, "case", "create", "--subject", "health");
    run_expect_exit(&r, 0);
    run_result_free(&r);
}

/* `status` after a good run and after an offline one: what the runs recorded. */
static void test_status_reports_runs(void **state)
{
    fixture *f = *state;
    create_case(f);
    sync_with(f, f->ini, 0);
    cJSON *j = status_json(f);
    assert_string_equal(at(j, "lastRun", "result")->valuestring, "ok");
    assert_int_equal(at(j, "lastRun", "exitCode")->valueint, 0);
    assert_true(cJSON_IsString(at(j, "lastSuccessAt", NULL)));
    assert_true(cJSON_IsString(at(j, "lastPushAt", NULL)));
    assert_true(cJSON_IsString(at(j, "lastPullAt", NULL)));
    assert_true(cJSON_IsNull(at(j, "lastError", NULL)));
    assert_string_equal(at(j, "nextAttempt", "reason")->valuestring, "idle");
    assert_int_equal(at(j, "recordsBySobject", "Case")->valueint, 1);
    assert_int_equal(at(j, "apiUsage", "max")->valueint, 100000);
    assert_true(at(j, "apiUsage", "used")->valueint > 0);
    assert_true(at(j, "totals", "apiRequests")->valueint > 0);
    assert_int_equal(at(at(j, "totals", "runs"), "ok", NULL)->valueint, 1);
    char *success = strdup(at(j, "lastSuccessAt", NULL)->valuestring);
    cJSON_Delete(j);

    create_case(f);
    sync_with(f, f->offline_ini, 75);
    /* The run's pause is jittered (it may be over already): move its end an hour ahead. */
    run_sql(f->db, "UPDATE sync_pause SET until_at = strftime('%s', 'now') * 1000 + 3600000");
    j = status_json(f);
    assert_string_equal(at(j, "lastRun", "result")->valuestring, "retry");
    assert_non_null(strstr(at(j, "lastError", "message")->valuestring, "not reachable"));
    assert_string_equal(at(j, "lastSuccessAt", NULL)->valuestring, success); /* unchanged */
    assert_string_equal(at(j, "nextAttempt", "reason")->valuestring, "pause");
    assert_string_equal(at(j, "pause", "source")->valuestring, "offline");
    assert_int_equal(at(j, "outbox", "pending")->valueint, 1);
    assert_int_equal(at(at(j, "totals", "runs"), "retry", NULL)->valueint, 1);
    cJSON_Delete(j);
    free(success);

    run_result r;
    sfa(&r, f, "status");
    run_expect_exit(&r, 0);
    assert_non_null(strstr(r.out, "Last success"));
    assert_non_null(strstr(r.out, "Paused until"));
    assert_non_null(strstr(r.out, "Next attempt"));
    assert_non_null(strstr(r.out, "paused (offline)"));
    assert_non_null(strstr(r.out, "Case 2"));
    run_result_free(&r);

    /* No pause, the op backed off: the next attempt is its due time. */
    run_sql(f->db, "DELETE FROM sync_pause; UPDATE outbox SET next_attempt_at ="
                   " strftime('%s', 'now') * 1000 + 600000 WHERE state = 'pending'");
    j = status_json(f);
    assert_string_equal(at(j, "nextAttempt", "reason")->valuestring, "backoff");
    assert_true(cJSON_IsString(at(j, "nextAttempt", "at")));
    cJSON_Delete(j);
    run_sql(f->db, "UPDATE outbox SET next_attempt_at = 0");
    j = status_json(f);
    assert_string_equal(at(j, "nextAttempt", "reason")->valuestring, "now");
    cJSON_Delete(j);
}

/* Every perfdata item is 'label'=value[UOM];[warn];[crit];[min];[max]. */
static void expect_plugin_line(const char *out, const char *state)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "SFAGENT %s - ", state);
    if (strncmp(out, prefix, strlen(prefix)) != 0)
        fail_msg("wanted a line starting '%s', got: %s", prefix, out);
    assert_int_equal(run_count_lines(out), 1);
    const char *bar = strstr(out, " | ");
    assert_non_null(bar);
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^'[a-z_]+'=(U|[0-9]+(\\.[0-9]+)?)(s|%)?"
                             "(;[0-9.]*(;[0-9.]*(;[0-9.]*(;[0-9.]*)?)?)?)?$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    char *perf = strdup(bar + 3);
    perf[strcspn(perf, "\n")] = '\0';
    int items = 0;
    for (char *save = NULL, *tok = strtok_r(perf, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save), items++)
        if (regexec(&re, tok, 0, NULL, 0) != 0)
            fail_msg("perfdata item '%s' is not in the plugin format", tok);
    assert_true(items >= 6);
    free(perf);
    regfree(&re);
}

static int check(const fixture *f, const char *state, const char *text, const char *arg0, ...)
{
    run_result r;
    va_list ap;
    va_start(ap, arg0);
    const char *args[MAX_ARGS] = {"--db", f->db, "status", "--check"};
    size_t n = 4;
    for (const char *a = arg0; a; a = va_arg(ap, const char *))
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    run_sfagent(&r, f->dir, NULL, NULL, args);
    if (strcmp(state, "UNKNOWN") == 0) {
        assert_int_equal(strncmp(r.out, "SFAGENT UNKNOWN - ", 18), 0);
        assert_int_equal(run_count_lines(r.out), 1);
    } else {
        expect_plugin_line(r.out, state);
    }
    if (text && !strstr(r.out, text))
        fail_msg("no '%s' in: %s", text, r.out);
    int code = r.code;
    run_result_free(&r);
    return code;
}
#define CHECK(f, state, text, ...) check((f), (state), (text), __VA_ARGS__(const char *) NULL)

static void test_check_ok_on_a_fresh_install(void **state)
{
    fixture *f = *state;
    assert_int_equal(CHECK(f, "OK", "no sync run yet", ), 0);
    create_case(f);
    sync_with(f, f->ini, 0);
    assert_int_equal(CHECK(f, "OK", "0 pending, last success", ), 0);
}

static void test_check_warns_on_an_old_pending_write(void **state)
{
    fixture *f = *state;
    create_case(f);
    assert_int_equal(CHECK(f, "OK", "1 pending", ), 0);
    run_sql(f->db, "UPDATE outbox SET created_at = created_at - 7200000");
    assert_int_equal(CHECK(f, "WARNING", "oldest pending write is 2 h old", ), 1);
    assert_int_equal(CHECK(f, "OK", NULL, "--max-age", "86400", ), 0);
    assert_int_equal(CHECK(f, "WARNING", NULL, "--max-age=60", ), 1);
}

static void test_check_critical_on_dead_and_conflict(void **state)
{
    fixture *f = *state;
    create_case(f);
    run_sql(f->db, "UPDATE outbox SET state = 'dead', last_error_code = 'X', last_error = 'y'");
    assert_int_equal(CHECK(f, "CRITICAL", "1 dead op(s)", ), 2);
    run_sql(f->db, "UPDATE outbox SET state = 'conflict'");
    assert_int_equal(CHECK(f, "CRITICAL", "1 op(s) in conflict", ), 2);
    /* A database flagged as damaged (store/corrupt.c) refuses writes: critical too. */
    run_sql(f->db, "UPDATE outbox SET state = 'pending';"
                   " INSERT INTO meta (key, value) VALUES ('corrupt', 'test damage')");
    assert_int_equal(CHECK(f, "CRITICAL", "database damaged: ", ), 2);
}

static void test_check_critical_without_success_for_a_day(void **state)
{
    fixture *f = *state;
    /* Runs that never succeed: the day counts from the first of them. */
    sync_with(f, f->offline_ini, 75);
    assert_int_equal(CHECK(f, "OK", NULL, ), 0);
    run_sql(f->db, "UPDATE meta SET value = CAST(value - 90000000 AS TEXT)"
                   " WHERE key = 'health.first.at'");
    assert_int_equal(CHECK(f, "CRITICAL", "no sync has succeeded", ), 2);
    /* A success clears it; 25 h after it, critical again. */
    sync_with(f, f->ini, 0);
    assert_int_equal(CHECK(f, "OK", NULL, ), 0);
    run_sql(f->db, "UPDATE meta SET value = CAST(value - 90000000 AS TEXT)"
                   " WHERE key = 'health.success.at'");
    assert_int_equal(CHECK(f, "CRITICAL", "no successful sync for 25 h", ), 2);
    assert_int_equal(CHECK(f, "OK", NULL, "--max-sync-age", "100000", ), 0);
}

static void write_bytes(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 64; i++)
        fputs(text, fp);
    fclose(fp);
}

static void test_check_unknown_when_the_database_cannot_be_read(void **state)
{
    fixture *f = *state;
    assert_int_equal(CHECK(f, "UNKNOWN", "takes whole seconds", "--max-age", "soon", ), 3);
    assert_int_equal(CHECK(f, "UNKNOWN", "unexpected argument", "--bogus", ), 3);
    run_sql(f->db, "PRAGMA user_version = 9999");
    assert_int_equal(CHECK(f, "UNKNOWN", "cannot read the database", ), 3);
    char side[160];
    snprintf(side, sizeof side, "%s-wal", f->db);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", f->db);
    unlink(side);
    write_bytes(f->db, "this is not an sqlite database, just text. ");
    assert_int_equal(CHECK(f, "UNKNOWN", "cannot read the database", ), 3);
    unlink(f->db);
    assert_int_equal(CHECK(f, "UNKNOWN", "no database at", ), 3);
}

/* --- logs --- */

/* Run sfagent with stderr into a file made first, so JOURNAL_STREAM can name it
 * (journal: "dev:ino" of that file, or a non-matching value, or NULL). Returns stderr. */
static char *run_logging(const fixture *f, const char *journal, const char *const *args)
{
    char err[256];
    snprintf(err, sizeof err, "%s/log.err", f->dir);
    int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    char js[64];
    if (journal && strcmp(journal, "match") == 0)
        snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino);
    else if (journal)
        snprintf(js, sizeof js, "%s", journal);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(fd, 2) < 0)
            _exit(127);
        if (journal)
            setenv("JOURNAL_STREAM", js, 1);
        const char *argv[MAX_ARGS] = {getenv("SFAGENT_BIN")};
        for (size_t i = 0; args[i] && i + 2 < MAX_ARGS; i++)
            argv[i + 1] = args[i];
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fd);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    char *text = run_read_file(err);
    assert_non_null(text);
    unlink(err);
    return text;
}

/* One logfmt line: key=value pairs, values bare or "quoted" with \ escapes. Checks it
 * parses and says whether it has key. */
static bool logfmt_has(const char *line, const char *key)
{
    bool found = false;
    const char *p = line;
    while (*p) {
        const char *k = p;
        while (*p && *p != '=' && *p != ' ')
            p++;
        if (*p != '=' || p == k)
            fail_msg("not logfmt (key at '%s'): %s", k, line);
        found |= (size_t)(p - k) == strlen(key) && strncmp(k, key, strlen(key)) == 0;
        p++;
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1])
                    p++;
            if (*p != '"')
                fail_msg("unterminated quoted value: %s", line);
            p++;
        } else {
            while (*p && *p != ' ' && *p != '"')
                p++;
        }
        if (*p == ' ')
            p++;
        else if (*p)
            fail_msg("not logfmt (after a value at '%s'): %s", p, line);
    }
    return found;
}

static int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void expect_logfmt(char *text, bool stamped)
{
    int lines = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save), lines++) {
        assert_true(logfmt_has(line, "level"));
        assert_true(logfmt_has(line, "msg"));
        assert_int_equal(logfmt_has(line, "time"), stamped);
        if (stamped)
            assert_int_equal(strncmp(line, "time=", 5), 0);
    }
    assert_true(lines >= 2);
}

static void test_logs_logfmt_json_and_journald(void **state)
{
    fixture *f = *state;
    create_case(f);
    const char *debug_sync[] = {"--db", f->db,      "--log-level", "debug",
                                "sync", "--config", f->ini,        NULL};
    char *text = run_logging(f, NULL, debug_sync);
    assert_int_equal(count_of(text, "msg=\"sync run ended: result=ok sent=1 done=1"), 1);
    expect_logfmt(text, true);
    free(text);

    /* journald reads stderr: no time (it stamps lines itself); another stream: time. */
    text = run_logging(f, "match", debug_sync);
    expect_logfmt(text, false);
    free(text);
    text = run_logging(f, "1:2", debug_sync);
    expect_logfmt(text, true);
    free(text);

    setenv("SFAGENT_LOG_FORMAT", "json", 1); /* the environment form */
    text = run_logging(f, NULL, debug_sync);
    unsetenv("SFAGENT_LOG_FORMAT");
    int lines = 0, summaries = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save), lines++) {
        cJSON *o = cJSON_Parse(line);
        if (!o)
            fail_msg("not JSON: %s", line);
        assert_true(cJSON_IsString(at(o, "time", NULL)));
        assert_true(cJSON_IsString(at(o, "level", NULL)));
        const char *msg = at(o, "msg", NULL)->valuestring;
        summaries += strncmp(msg, "sync run ended: ", 16) == 0;
        cJSON_Delete(o);
    }
    assert_true(lines >= 2);
    assert_int_equal(summaries, 1);
    free(text);

    /* Default level warn: the info summary is not printed; a bad level is a usage error. */
    const char *quiet[] = {"--db", f->db, "sync", "--config", f->ini, NULL};
    text = run_logging(f, NULL, quiet);
    assert_null(strstr(text, "sync run ended"));
    free(text);
    run_result r;
    sfa(&r, f, "--log-level", "loud", "status");
    run_expect_exit(&r, 64);
    assert_non_null(strstr(r.err, "--log-level is error, warn, info or debug"));
    run_result_free(&r);
}

/* An op that turns dead is logged once, when it does, not on every run after. */
static void test_dead_op_logged_once(void **state)
{
    fixture *f = *state;
    emu_fault fault = EMU_FAULT_INIT;
    fault.kind = EMU_FAULT_RECORD_ERROR;
    fault.record_index = -1;
    fault.error_code = "FIELD_CUSTOM_VALIDATION_EXCEPTION";
    fault.message = "Subject may not say health";
    fault.path_pattern = "/services/data/*/composite";
    fault.count = 1;
    assert_true(emu_fault_add(f->e, &fault) > 0);
    create_case(f);
    const char *args[] = {"--db", f->db, "sync", "--config", f->ini, NULL};
    char *text = run_logging(f, NULL, args);
    if (count_of(text, "is dead: FIELD_CUSTOM_VALIDATION_EXCEPTION: Subject may") != 1)
        fail_msg("wanted one dead line in: %s", text);
    free(text);
    text = run_logging(f, NULL, args);
    assert_int_equal(count_of(text, "is dead"), 0);
    free(text);
    emu_faults_clear(f->e);
    assert_int_equal(CHECK(f, "CRITICAL", "1 dead op(s)", ), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_status_reports_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_ok_on_a_fresh_install, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_warns_on_an_old_pending_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_critical_on_dead_and_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_critical_without_success_for_a_day, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_check_unknown_when_the_database_cannot_be_read, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_logs_logfmt_json_and_journald, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_op_logged_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
