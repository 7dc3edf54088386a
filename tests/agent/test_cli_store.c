/*
 * The sfagent program against its database file (issue 8 items 9, 10, 14, 15, 16), through
 * the real binary ($SFAGENT_BIN): values are stored exactly as written or refused, the
 * agent's idempotency field is the agent's, reads work without write access and write
 * nothing, only `init` creates a database, and an interrupted import resumes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>

#include "agent/run.h"

#define MAX_ARGS 24

typedef struct fixture {
    char dir[64];
    char db[128];
} fixture;

/* Run sfagent --db <db> args... (NULL-terminated) with optional stdin. */
static void sfa_in(run_result *r, const fixture *f, const char *in, const char *arg0, ...)
{
    va_list ap;
    va_start(ap, arg0);
    run_sfagent_vdb(r, f->dir, f->db, in, arg0, ap);
    va_end(ap);
}

#define sfa(r, f, ...) sfa_in((r), (f), NULL, __VA_ARGS__, (const char *)NULL)

/* Assert r exited with code; print its stderr when not. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || run_init_scratch(f->dir, sizeof f->dir, f->db, sizeof f->db,
                               "/tmp/sfa-clistore-XXXXXX") != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    chmod(f->dir, 0700);
    run_remove_dir(f->dir);
    free(f);
    return 0;
}

/* One integer from SQL on the fixture database (read through a private connection). */
static long long db_int(const fixture *f, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Run SQL on the fixture database through a private connection (asserts success). */
/* Create one Case; returns its local id (caller frees). */
static char *create_case(const fixture *f, const char *subject)
{
    run_result r;
    sfa(&r, f, "case", "create", "--subject", subject);
    run_expect_exit(&r, 0);
    char *id = strndup(r.out, strcspn(r.out, "\n"));
    run_result_free(&r);
    return id;
}

/* status, case list, case get and query all succeed on f's database. */
static void expect_reads_work(const fixture *f, const char *id)
{
    run_result r;
    sfa(&r, f, "status");
    run_expect_exit(&r, 0);
    run_result_free(&r);
    sfa(&r, f, "case", "list");
    run_expect_exit(&r, 0);
    assert_non_null(strstr(r.out, "read me"));
    run_result_free(&r);
    sfa(&r, f, "case", "get", id);
    run_expect_exit(&r, 0);
    run_result_free(&r);
    sfa(&r, f, "query", "SELECT Subject FROM Case");
    run_expect_exit(&r, 0);
    assert_non_null(strstr(r.out, "read me"));
    run_result_free(&r);
}

/* Item 14: a read-only file. The reads work and leave the file byte for byte as it was. */
static void test_reads_work_on_read_only_file(void **state)
{
    fixture *f = *state;
    char *id = create_case(f, "read me");
    struct stat before, after;
    assert_int_equal(chmod(f->db, 0400), 0);
    assert_int_equal(stat(f->db, &before), 0);
    expect_reads_work(f, id);
    assert_int_equal(stat(f->db, &after), 0);
    assert_int_equal(before.st_size, after.st_size);
    assert_int_equal(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
    assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
    free(id);
}

/* Item 14: a read-only directory: no -wal or -shm may appear beside the file. */
static void test_reads_work_in_read_only_directory(void **state)
{
    fixture *f = *state;
    char *id = create_case(f, "read me");
    assert_int_equal(chmod(f->dir, 0500), 0);
    expect_reads_work(f, id);
    char wal[160], shm[160];
    snprintf(wal, sizeof wal, "%s-wal", f->db);
    snprintf(shm, sizeof shm, "%s-shm", f->db);
    assert_int_not_equal(access(wal, F_OK), 0);
    assert_int_not_equal(access(shm, F_OK), 0);
    assert_int_equal(chmod(f->dir, 0700), 0);
    free(id);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Item 14: another process holds the write lock: reads neither wait for it nor fail, and
 * they add no session row. */
static void test_reads_work_while_writer_holds_lock(void **state)
{
    fixture *f = *state;
    char *id = create_case(f, "read me");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    double t0 = now_s();
    expect_reads_work(f, id);
    assert_true(now_s() - t0 < 4.0); /* a writer's wait is 5 s per command */
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(db_int(f, "SELECT count(*) FROM meta WHERE key LIKE 'session:%'"), 0);
    free(id);
}

/* Item 15: an empty file is not a database: refused like a missing one, left empty. */
static void test_empty_file_is_refused(void **state)
{
    fixture *f = *state;
    snprintf(f->db, sizeof f->db, "%s/z.db", f->dir);
    int fd = open(f->db, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    close(fd);
    run_result r;
    sfa(&r, f, "case", "create", "--subject", "x");
    run_expect_exit(&r, 66);
    assert_non_null(strstr(r.err, "init"));
    run_result_free(&r);
    struct stat sb;
    assert_int_equal(stat(f->db, &sb), 0);
    assert_int_equal(sb.st_size, 0);
    sfa(&r, f, "init"); /* init is the one command that makes it a database */
    run_expect_exit(&r, 0);
    run_result_free(&r);
    free(create_case(f, "now it is"));
}

/* Item 15: a negative user_version is refused (74) untouched, not half-migrated. */
static void test_impossible_schema_version_is_refused(void **state)
{
    fixture *f = *state;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = -3", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    run_result r;
    sfa(&r, f, "case", "create", "--subject", "x");
    run_expect_exit(&r, 74);
    run_result_free(&r);
    assert_int_equal(db_int(f, "PRAGMA user_version"), -3);
    assert_int_equal(db_int(f, "SELECT count(*) FROM records"), 0);
}

/* Runs sfagent with args and expects 65 with a message naming Sync_Key__c. */
static void expect_idem_refused(const fixture *f, const char *in, const char *const *args)
{
    const char *full[MAX_ARGS] = {"--db", f->db};
    size_t n = 2;
    for (size_t i = 0; args[i]; i++)
        full[n++] = args[i];
    full[n] = NULL;
    run_result r;
    run_sfagent(&r, f->dir, NULL, in, full);
    run_expect_exit(&r, 65);
    if (!strstr(r.err, "Sync_Key__c"))
        fail_msg("message does not name the field: %s", r.err);
    run_result_free(&r);
}

/* Item 10: the agent's idempotency field in any letter case, from any input, is refused. */
static void test_idempotency_field_in_any_case_is_refused(void **state)
{
    fixture *f = *state;
    char *id = create_case(f, "mine");
    long long ops = db_int(f, "SELECT count(*) FROM outbox");
    const char *create_fields[] = {
        "case", "create", "--subject", "x", "--fields", "{\"sync_key__c\":\"DUP\"}", NULL};
    expect_idem_refused(f, NULL, create_fields);
    const char *create_set[] = {"case",  "create",          "--subject", "x",
                                "--set", "SYNC_KEY__C=DUP", NULL};
    expect_idem_refused(f, NULL, create_set);
    const char *update_json[] = {"case", "update", id, "--set-json", "Sync_Key__c=\"DUP\"", NULL};
    expect_idem_refused(f, NULL, update_json);
    const char *upsert_key[] = {"record", "upsert", "Case", "sync_Key__c", "DUP", NULL};
    expect_idem_refused(f, NULL, upsert_key);
    const char *upsert_field[] = {"record",
                                  "upsert",
                                  "Case",
                                  "Ext__c",
                                  "E1",
                                  "--fields",
                                  "{\"Subject\":\"s\",\"sync_key__C\":\"DUP\"}",
                                  NULL};
    expect_idem_refused(f, NULL, upsert_field);
    const char *import[] = {"import", "Case", "-", NULL};
    expect_idem_refused(f, "{\"Subject\":\"i\",\"Sync_key__c\":\"DUP\"}\n", import);
    assert_int_equal(db_int(f, "SELECT count(*) FROM outbox"), ops);
    free(id);
}

/* Runs a create with extra args and expects 65 and no new op. */
static void expect_value_refused(const fixture *f, const char *in, const char *const *args)
{
    long long ops = db_int(f, "SELECT count(*) FROM outbox");
    const char *full[MAX_ARGS] = {"--db", f->db};
    size_t n = 2;
    for (size_t i = 0; args[i]; i++)
        full[n++] = args[i];
    full[n] = NULL;
    run_result r;
    run_sfagent(&r, f->dir, NULL, in, full);
    run_expect_exit(&r, 65);
    run_result_free(&r);
    assert_int_equal(db_int(f, "SELECT count(*) FROM outbox"), ops);
}

/* Item 9: values are kept exactly as written or refused, never silently changed. */
static void test_values_exact_or_refused(void **state)
{
    fixture *f = *state;
    const char *nul_value[] = {
        "case", "create", "--subject", "x", "--set-json", "Foo__c=\"a\\u0000b\"", NULL};
    expect_value_refused(f, NULL, nul_value);
    const char *nul_name[] = {
        "case", "create", "--subject", "x", "--fields", "{\"Desc\\u0000ription\":\"q\"}", NULL};
    expect_value_refused(f, NULL, nul_name);
    const char *inf[] = {"case", "create", "--subject", "x", "--set-json", "Foo__c=1e999", NULL};
    expect_value_refused(f, NULL, inf);
    const char *import[] = {"import", "Case", "-", NULL};
    expect_value_refused(f, "{\"Subject\":\"a\\u0000b\"}\n", import);
    run_result r;
    sfa(&r, f, "case", "create", "--subject", "x", "--set-json", "Foo__c=9007199254740991",
        "--fields", "{\"Bar__c\": 123456789012345678, \"Baz__c\":-1.50E+2}");
    run_expect_exit(&r, 0);
    run_result_free(&r);
    assert_int_equal(db_int(f, "SELECT count(*) FROM outbox WHERE fields = "
                               "'{\"Subject\":\"x\",\"Foo__c\":9007199254740991,"
                               "\"Bar__c\":123456789012345678,\"Baz__c\":-1.50E+2}'"),
                     1);
    assert_int_equal(db_int(f, "SELECT count(*) FROM records WHERE fields LIKE "
                               "'%123456789012345678%9007199254740991%' OR fields LIKE "
                               "'%9007199254740991%123456789012345678%'"),
                     1);
}

/* Item 9: a raw NUL byte in an import line is refused, not cut. */
static void test_import_raw_nul_refused(void **state)
{
    fixture *f = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/nul.jsonl", f->dir);
    static const char line[] = "{\"Subject\":\"a\0b\"}\n";
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, line, sizeof line - 1), (ssize_t)(sizeof line - 1));
    close(fd);
    const char *import[] = {"import", "Case", path, NULL};
    expect_value_refused(f, NULL, import);
}

#define DAMAGE_ROWS 3000

/* Overwrite len bytes in the middle of path with garbage. */
static void damage_middle(const char *path, size_t len)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    char *junk = malloc(len);
    assert_non_null(junk);
    for (size_t i = 0; i < len; i++)
        junk[i] = (char)(0xA5 ^ (i * 131));
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, junk, len, (off_t)(sb.st_size / 2)), (ssize_t)len);
    close(fd);
    free(junk);
}

/* Issue 8 item 15: a read that hits a damaged page exits 74 and flags the database;
 * `status` shows it; a write is then refused (74, naming the damage and how to recover)
 * and leaves the file as it was; reads of what is intact still work. */
static void test_write_to_damaged_database_is_refused(void **state)
{
    fixture *f = *state;
    size_t len = DAMAGE_ROWS * 260;
    char *lines = malloc(len);
    assert_non_null(lines);
    size_t n = 0;
    for (int i = 0; i < DAMAGE_ROWS; i++)
        n += (size_t)snprintf(lines + n, len - n,
                              "{\"Subject\":\"case %05d %0200d\",\"Status\":\"New\"}\n", i, i);
    run_result r;
    sfa_in(&r, f, lines, "import", "Case", "-", (const char *)NULL);
    run_expect_exit(&r, 0);
    run_result_free(&r);
    free(lines);
    damage_middle(f->db, 3 * 4096);
    /* Reads that walk the whole mirror and outbox: one of them meets the damage. */
    sfa(&r, f, "case", "list", "--limit", "1000000");
    int list_code = r.code;
    run_result_free(&r);
    sfa(&r, f, "outbox", "list", "--state", "all", "--limit", "1000000");
    int outbox_code = r.code;
    run_result_free(&r);
    assert_true(list_code == 74 || outbox_code == 74);
    sfa(&r, f, "status");
    if (!strstr(r.out, "DAMAGED"))
        fail_msg("status does not show the damage: %s%s", r.out, r.err);
    run_result_free(&r);
    char *before = run_read_file(f->db);
    struct stat sb, sa;
    assert_int_equal(stat(f->db, &sb), 0);
    sfa(&r, f, "case", "create", "--subject", "after the damage");
    run_expect_exit(&r, 74);
    assert_non_null(strstr(r.err, "writes are refused"));
    assert_non_null(strstr(r.err, "integrity_check"));
    run_result_free(&r);
    assert_int_equal(stat(f->db, &sa), 0);
    assert_int_equal(sa.st_size, sb.st_size);
    char *after = run_read_file(f->db);
    assert_memory_equal(before, after, (size_t)sb.st_size);
    free(before);
    free(after);
    /* Reads of intact pages still work: the newest case (the end of the file). */
    sfa(&r, f, "case", "list", "--limit", "1");
    run_expect_exit(&r, 0);
    assert_non_null(strstr(r.out, "case 02999"));
    run_result_free(&r);
}

#define IMPORT_LINES 50000

/* Start `sfagent --db DB import Case PATH --batch 100` without waiting for it. */
static pid_t spawn_import(const fixture *f, const char *path)
{
    const char *bin = getenv("SFAGENT_BIN");
    assert_non_null(bin);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDOUT_FILENO);
        dup2(devnull, STDERR_FILENO);
        execl(bin, "sfagent", "--db", f->db, "import", "Case", path, "--batch", "100",
              (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* SIGKILL pid once some records are committed; fails if it finished first. */
static void kill_mid_import(const fixture *f, pid_t pid)
{
    for (;;) {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid)
            fail_msg("the import ended (status %d) before it could be killed", status);
        if (access(f->db, F_OK) == 0 && db_int(f, "SELECT count(*) FROM records") >= 1000)
            break;
        usleep(1000);
    }
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
}

/* Item 16: an import killed mid-way and run again imports every line exactly once. */
static void test_killed_import_resumes_each_line_once(void **state)
{
    fixture *f = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/in.jsonl", f->dir);
    FILE *in = fopen(path, "w");
    assert_non_null(in);
    for (int i = 1; i <= IMPORT_LINES; i++)
        fprintf(in, "{\"Subject\":\"line %d\"}\n", i);
    fclose(in);
    kill_mid_import(f, spawn_import(f, path));
    long long committed = db_int(f, "SELECT count(*) FROM records");
    assert_true(committed > 0 && committed < IMPORT_LINES);
    run_result r;
    sfa(&r, f, "import", "Case", path);
    run_expect_exit(&r, 0);
    if (!strstr(r.err, "resumed"))
        fail_msg("no word of resuming: %s", r.err);
    run_result_free(&r);
    assert_int_equal(db_int(f, "SELECT count(*) FROM records"), IMPORT_LINES);
    assert_int_equal(db_int(f, "SELECT count(DISTINCT json_extract(fields, '$.Subject')) FROM "
                               "records"),
                     IMPORT_LINES);
    sfa(&r, f, "import", "Case", path, "--restart"); /* --restart: from line 1 again */
    run_expect_exit(&r, 0);
    run_result_free(&r);
    assert_int_equal(db_int(f, "SELECT count(*) FROM records"), 2 * IMPORT_LINES);
}

/* Item 10: a configured idempotency field other than Sync_Key__c (environment or
 * $SFAGENT_CONFIG) is known to local writes, refused in user input, and remembered. */
static void test_configured_idempotency_field_is_refused(void **state)
{
    fixture *f = *state;
    run_result r;
    setenv("SFAGENT_SYNC_IDEMPOTENCY_FIELD", "Agent_Key__c", 1);
    sfa(&r, f, "case", "create", "--subject", "x", "--set", "agent_key__c=DUP");
    unsetenv("SFAGENT_SYNC_IDEMPOTENCY_FIELD");
    run_expect_exit(&r, 65);
    if (!strstr(r.err, "Agent_Key__c"))
        fail_msg("message does not name the field: %s", r.err);
    run_result_free(&r);
    sfa(&r, f, "case", "create", "--subject", "x", "--set", "Agent_Key__c=DUP");
    run_expect_exit(&r, 65); /* remembered by the database, no configuration needed */
    run_result_free(&r);
    char ini[160];
    snprintf(ini, sizeof ini, "%s/c.ini", f->dir);
    FILE *fp = fopen(ini, "w");
    assert_non_null(fp);
    fputs("[sync]\nidempotency_field = Other_Key__c\n", fp);
    fclose(fp);
    setenv("SFAGENT_CONFIG", ini, 1);
    sfa(&r, f, "case", "create", "--subject", "x", "--set", "Other_Key__c=DUP");
    unsetenv("SFAGENT_CONFIG");
    run_expect_exit(&r, 65);
    if (!strstr(r.err, "Other_Key__c"))
        fail_msg("message does not name the field: %s", r.err);
    run_result_free(&r);
    assert_int_equal(db_int(f, "SELECT count(*) FROM outbox"), 0);
    /* A configuration not written yet (init before the first login) does not stop a local
     * write: the field the database remembers stays in force. */
    snprintf(ini, sizeof ini, "%s/not-yet.ini", f->dir);
    setenv("SFAGENT_CONFIG", ini, 1);
    sfa(&r, f, "case", "create", "--subject", "x");
    run_expect_exit(&r, 0);
    run_result_free(&r);
    sfa(&r, f, "case", "create", "--subject", "x", "--set", "Other_Key__c=DUP");
    unsetenv("SFAGENT_CONFIG");
    run_expect_exit(&r, 65);
    run_result_free(&r);
}

/* Item 8: a pending op backed off into the future (a clock that was ahead) can be made due
 * now with `outbox retry`; its attempts stay. An inflight op is refused. */
static void test_outbox_retry_makes_a_pending_op_due_now(void **state)
{
    fixture *f = *state;
    free(create_case(f, "stranded"));
    run_sql(f->db,
            "UPDATE outbox SET next_attempt_at = 32503680000000, attempts = 3 WHERE seq = 1");
    run_result r;
    sfa(&r, f, "outbox", "retry", "1");
    run_expect_exit(&r, 0);
    run_result_free(&r);
    assert_int_equal(db_int(f, "SELECT count(*) FROM outbox WHERE seq = 1 AND state = 'pending'"
                               " AND next_attempt_at = 0 AND attempts = 3"),
                     1);
    run_sql(f->db, "UPDATE outbox SET state = 'inflight', lease_owner = 'run-x' WHERE seq = 1");
    sfa(&r, f, "outbox", "retry", "1");
    run_expect_exit(&r, 65);
    if (!strstr(r.err, "inflight"))
        fail_msg("message does not say why: %s", r.err);
    run_result_free(&r);
    assert_int_equal(db_int(f, "SELECT count(*) FROM outbox WHERE state = 'inflight'"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reads_work_on_read_only_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_work_in_read_only_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_work_while_writer_holds_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_file_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_impossible_schema_version_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_field_in_any_case_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_values_exact_or_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_raw_nul_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_import_resumes_each_line_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_configured_idempotency_field_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_write_to_damaged_database_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_retry_makes_a_pending_op_due_now, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
