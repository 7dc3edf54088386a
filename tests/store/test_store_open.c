/* Opening the database: creation mode, migrations, refusing newer, foreign, corrupt and
 * read-only files without touching them, and the clean-shutdown marker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sfagent/agent.h"
#include "sfagent/error.h"
#include "sfagent/query.h"
#include "sfagent/record.h"
#include "store/migrations.h"
#include "store/store.h"
#include "store/store_test_util.h"
#include "util/alloc.h"

static void test_fresh_db_is_newest_version_and_mode_0600(void **state)
{
    (void)state;
    mode_t old = umask(0); /* even a permissive umask must not widen the file */
    store_fixture *f = fixture_new();
    umask(old);
    assert_int_equal(sfa_agent_schema_version(f->agent), sfa_agent_schema_version_supported());
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), store_migration_count);
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master WHERE name = 'outbox'"),
                     1);
    fixture_free(f);
}

static void test_pragmas_set_on_connection(void **state)
{
    (void)state;
    store_fixture *f = fixture_new();
    sqlite3 *db = raw_open(f->path);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    fixture_free(f);
}

/* Build a database at version k by applying migrations 1..k by hand, then open it. */
static void test_upgrade_from_each_earlier_version(void **state)
{
    (void)state;
    for (int k = 0; k < store_migration_count; k++) {
        char dir[] = "/tmp/sfa-store-XXXXXX";
        assert_non_null(mkdtemp(dir));
        char *path = xasprintf("%s/old.db", dir);
        sqlite3 *db = NULL;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        for (int i = 0; i < k; i++) {
            assert_int_equal(sqlite3_exec(db, store_migrations[i].sql, NULL, NULL, NULL),
                             SQLITE_OK);
            char *v = xasprintf("PRAGMA user_version = %d", store_migrations[i].version);
            assert_int_equal(sqlite3_exec(db, v, NULL, NULL, NULL), SQLITE_OK);
            free(v);
        }
        if (k >= 1) /* data written at version k survives the upgrade */
            assert_int_equal(
                sqlite3_exec(db, "INSERT INTO meta VALUES ('probe', 'kept')", NULL, NULL, NULL),
                SQLITE_OK);
        sqlite3_close(db);
        sfa_agent *a = NULL;
        sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
        o.create = k == 0; /* version 0 is an empty file: only a creating open takes it */
        sfa_status st = sfa_agent_open(&a, path, &o);
        if (st != SFA_OK)
            fail_msg("upgrade from %d: %s", k, sfa_agent_errmsg(a));
        assert_int_equal(sfa_agent_schema_version(a), store_migration_count);
        sfa_agent_free(a);
        assert_int_equal(raw_int(path, "PRAGMA user_version"), store_migration_count);
        assert_int_equal(raw_int(path, "SELECT count(*) FROM meta WHERE key = 'probe'"),
                         k >= 1 ? 1 : 0);
        free(path);
        remove_tree(dir);
    }
}

/* Migration 0013 fills the field columns of the records already there: each equals
 * json_extract of its field (V7) whatever the value's type, and counts by Status, now
 * answered from the column's index, are what they were (tombstones not counted). */
static void test_upgrade_fills_field_columns(void **state)
{
    (void)state;
    char dir[] = "/tmp/sfa-store-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = xasprintf("%s/old.db", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    int before = store_migration_count - 1;
    assert_int_equal(store_migrations[before].version, 13);
    for (int i = 0; i < before; i++) {
        assert_int_equal(sqlite3_exec(db, store_migrations[i].sql, NULL, NULL, NULL), SQLITE_OK);
        char *v = xasprintf("PRAGMA user_version = %d", store_migrations[i].version);
        assert_int_equal(sqlite3_exec(db, v, NULL, NULL, NULL), SQLITE_OK);
        free(v);
    }
    static const char *const rows[] = {
        "{\"Status\":\"New\",\"OwnerId\":\"005000000000001AAA\"}",
        "{\"Status\":\"new\",\"CreatedDate\":\"2024-01-01T00:00:00.000+0000\"}",
        "{\"Status\":null,\"ContactId\":{\"a\":1}}",
        "{\"Status\":3,\"AccountId\":1.5,\"LastModifiedDate\":true}",
        "{\"Subject\":\"no indexed field\"}",
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *sql = xasprintf("INSERT INTO records (local_id, sobject, fields, dirty, deleted,"
                              " created_at, updated_at) VALUES ('loc-%zu', 'Case', '%s', 0, %d,"
                              " 1, 1)",
                              i, rows[i], i == 1);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        free(sql);
    }
    sqlite3_close(db);
    sfa_agent *a = NULL;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    assert_int_equal(sfa_agent_open(&a, path, &o), SFA_OK);
    char *why = NULL;
    if (!store_check_invariants(a, &why))
        fail_msg("%s", why);
    char *out = NULL;
    assert_int_equal(sfa_query_local(&out, a, "SELECT COUNT() FROM Case WHERE Status = 'NEW'"),
                     SFA_OK);
    assert_non_null(strstr(out, "\"totalSize\":1")); /* loc-1 is a tombstone */
    free(out);
    sfa_agent_free(a);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM records WHERE f_ownerid ="
                                   " '005000000000001AAA' AND f_status = 'New'"),
                     1);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM records WHERE f_contactid = '{\"a\":1}'"
                                   " AND f_status IS NULL"),
                     1);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM records WHERE f_status = 3 AND"
                                   " f_accountid = 1.5 AND f_lastmodifieddate = 1"),
                     1);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_schema WHERE name ="
                                   " 'records_modstamp'"),
                     0);
    free(path);
    remove_tree(dir);
}

static void expect_refused_untouched(const char *path, sfa_status want, const char *needle)
{
    size_t n1 = 0, n2 = 0;
    unsigned char *before = read_file_bytes(path, &n1);
    assert_non_null(before);
    sfa_agent *a = NULL;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    assert_int_equal(sfa_agent_open(&a, path, &o), want);
    assert_non_null(a);
    if (!strstr(sfa_agent_errmsg(a), needle))
        fail_msg("message '%s' lacks '%s'", sfa_agent_errmsg(a), needle);
    sfa_agent_free(a);
    unsigned char *after = read_file_bytes(path, &n2);
    assert_non_null(after);
    assert_int_equal(n1, n2);
    assert_memory_equal(before, after, n1);
    free(before);
    free(after);
}

static void test_refuses_newer_schema_untouched(void **state)
{
    (void)state;
    store_fixture *f = fixture_new();
    sfa_agent_free(f->agent);
    f->agent = NULL;
    raw_exec(f->path, "PRAGMA user_version = 999");
    expect_refused_untouched(f->path, SFA_ETOONEW, "newer");
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 999);
    fixture_free(f);
}

static void test_refuses_random_bytes_untouched(void **state)
{
    (void)state;
    store_fixture *f = fixture_new();
    sfa_agent_free(f->agent);
    f->agent = NULL;
    char *junk = xasprintf("%s/junk.db", f->dir);
    unsigned char buf[8192];
    assert_int_equal(getrandom(buf, sizeof buf, 0), (ssize_t)sizeof buf);
    int fd = open(junk, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, sizeof buf), (ssize_t)sizeof buf);
    close(fd);
    expect_refused_untouched(junk, SFA_ECORRUPT, "not");
    /* An SQLite header followed by garbage is caught by SQLite itself. */
    memcpy(buf, "SQLite format 3", 16);
    fd = open(junk, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, buf, sizeof buf), (ssize_t)sizeof buf);
    close(fd);
    size_t n = 0;
    unsigned char *before = read_file_bytes(junk, &n);
    sfa_agent *a = NULL;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    sfa_status st = sfa_agent_open(&a, junk, &o);
    assert_int_not_equal(st, SFA_OK);
    sfa_agent_free(a);
    size_t n2 = 0;
    unsigned char *after = read_file_bytes(junk, &n2);
    assert_int_equal(n, n2);
    assert_memory_equal(before, after, n);
    free(before);
    free(after);
    free(junk);
    fixture_free(f);
}

static void test_refuses_foreign_sqlite_db(void **state)
{
    (void)state;
    store_fixture *f = fixture_new();
    char *other = xasprintf("%s/other.db", f->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "CREATE TABLE t (x); INSERT INTO t VALUES (1)", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    expect_refused_untouched(other, SFA_ECORRUPT, "not an sfagent database");
    free(other);
    fixture_free(f);
}

static void test_read_only_file(void **state)
{
    (void)state;
    store_fixture *f = fixture_new();
    char *id = NULL;
    assert_int_equal(sfa_record_create(&id, f->agent, "Case", "{\"Subject\":\"a\"}"), SFA_OK);
    sfa_agent_free(f->agent);
    f->agent = NULL;
    assert_int_equal(chmod(f->path, 0400), 0);
    expect_refused_untouched(f->path, SFA_EREADONLY, "read-only");
    /* Opened read-only on purpose it reads fine and refuses writes. */
    sfa_agent *a = NULL;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    o.read_only = true;
    o.create = false;
    if (sfa_agent_open(&a, f->path, &o) != SFA_OK)
        fail_msg("read-only open: %s", sfa_agent_errmsg(a));
    sfa_record *r = NULL;
    assert_int_equal(sfa_record_get(&r, a, "Case", id), SFA_OK);
    sfa_record_free(r);
    char *id2 = NULL;
    assert_int_equal(sfa_record_create(&id2, a, "Case", "{\"Subject\":\"b\"}"), SFA_EREADONLY);
    assert_null(id2);
    sfa_agent_free(a);
    free(id);
    fixture_free(f);
}

static void test_read_only_directory(void **state)
{
    (void)state;
    char dir[] = "/tmp/sfa-store-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chmod(dir, 0500), 0);
    char *path = xasprintf("%s/x.db", dir);
    sfa_agent *a = NULL;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    sfa_status st = sfa_agent_open(&a, path, &o);
    assert_int_equal(st, SFA_EREADONLY);
    assert_non_null(strstr(sfa_agent_errmsg(a), "read-only"));
    sfa_agent_free(a);
    free(path);
    chmod(dir, 0700);
    remove_tree(dir);
}

static void test_missing_file_without_create(void **state)
{
    (void)state;
    sfa_agent *a = NULL;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    o.create = false;
    assert_int_equal(sfa_agent_open(&a, "/tmp/sfa-does-not-exist/x.db", &o), SFA_ENOTFOUND);
    assert_true(strlen(sfa_agent_errmsg(a)) > 0);
    sfa_agent_free(a);
}

/* A FIFO would block SQLite's open, a device or directory fails late or not at all: the
 * library refuses them itself (not only the CLI), naming the path and what it is. */
static void test_refuses_fifo_device_and_directory(void **state)
{
    (void)state;
    char dir[] = "/tmp/sfa-open-kind-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *fifo = xasprintf("%s/fifo.db", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    const char *paths[] = {fifo, "/dev/null", dir};
    const char *kinds[] = {"a FIFO", "a character device", "a directory"};
    for (size_t i = 0; i < 3; i++) {
        for (int create = 0; create < 2; create++) {
            sfa_agent *a = NULL;
            sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
            o.create = create;
            assert_int_equal(sfa_agent_open(&a, paths[i], &o), SFA_EINVAL);
            assert_non_null(strstr(sfa_agent_errmsg(a), kinds[i]));
            assert_non_null(strstr(sfa_agent_errmsg(a), paths[i]));
            sfa_agent_free(a);
        }
    }
    unlink(fifo);
    free(fifo);
    remove_tree(dir);
}

/* Every public call refused for a missing argument says so in sfa_error_last(). */
static void test_missing_arguments_record_a_message(void **state)
{
    (void)state;
    char *id = NULL, *json = NULL;
    sfa_import_result res;
    sfa_error_clear();
    assert_int_equal(sfa_agent_open(NULL, "/tmp/x.db", NULL), SFA_EINVAL);
    assert_non_null(strstr(sfa_error_last()->message, "sfa_agent_open"));
    sfa_error_clear();
    assert_int_equal(sfa_query_local(&json, NULL, "SELECT Id FROM Case"), SFA_EINVAL);
    assert_non_null(strstr(sfa_error_last()->message, "sfa_query_local"));
    sfa_error_clear();
    assert_int_equal(sfa_record_create(&id, NULL, "Case", "{}"), SFA_EINVAL);
    assert_non_null(strstr(sfa_error_last()->message, "sfa_record_create"));
    sfa_error_clear();
    assert_int_equal(sfa_record_update(NULL, "Case", "loc-x", "{}"), SFA_EINVAL);
    assert_non_null(strstr(sfa_error_last()->message, "sfa_record_update"));
    sfa_error_clear();
    assert_int_equal(sfa_record_delete(NULL, "Case", "loc-x"), SFA_EINVAL);
    assert_non_null(strstr(sfa_error_last()->message, "sfa_record_delete"));
    sfa_error_clear();
    assert_int_equal(sfa_record_upsert(&id, NULL, "Case", "Ext__c", "1", "{}"), SFA_EINVAL);
    assert_non_null(strstr(sfa_error_last()->message, "sfa_record_upsert"));
    sfa_error_clear();
    assert_int_equal(sfa_record_import_opts(&res, NULL, NULL, "Case", 0, NULL), SFA_EINVAL);
    assert_non_null(strstr(sfa_error_last()->message, "sfa_record_import_opts"));
}

static void test_session_rows_and_stale_session(void **state)
{
    (void)state;
    store_fixture *f = fixture_new();
    const char *count = "SELECT count(*) FROM meta WHERE key LIKE 'session:%'";
    assert_int_equal(raw_int(f->path, count), 1);
    sfa_agent *second = NULL;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    assert_int_equal(sfa_agent_open(&second, f->path, &o), SFA_OK);
    assert_int_equal(raw_int(f->path, count), 2); /* one row per open handle */
    sfa_agent_free(second);
    sfa_agent_free(f->agent);
    f->agent = NULL;
    assert_int_equal(raw_int(f->path, count), 0);
    /* A row of a process that is gone: the next open checks the file and drops the row. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    char *sql = xasprintf("INSERT INTO meta VALUES ('session:%ld:00', '1')", (long)pid);
    raw_exec(f->path, sql);
    free(sql);
    assert_int_equal(sfa_agent_open(&f->agent, f->path, &o), SFA_OK);
    assert_int_equal(raw_int(f->path, count), 1);
    fixture_free(f);
}

/* A failed quick_check after an unclean session flags the database instead of refusing
 * the open: reads work, every write is refused with SFA_ECORRUPT, and the flag is kept
 * in the file for the next open. */
static void test_failed_quick_check_flags_database(void **state)
{
    (void)state;
    store_fixture *f = fixture_new();
    char *local = NULL;
    assert_int_equal(sfa_record_create(&local, f->agent, "Case", "{\"Subject\":\"kept\"}"), SFA_OK);
    sfa_agent_free(f->agent);
    f->agent = NULL;
    /* Pages nothing but quick_check reads, then damage in their middle. */
    raw_exec(f->path, "CREATE TABLE pad (x BLOB); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL "
                      "SELECT i + 1 FROM c WHERE i < 4000) INSERT INTO pad SELECT "
                      "randomblob(300) FROM c");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    char *sql = xasprintf("INSERT INTO meta VALUES ('session:%ld:00', '1')", (long)pid);
    raw_exec(f->path, sql);
    free(sql);
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    int fd = open(f->path, O_WRONLY);
    assert_true(fd >= 0);
    char junk[8192];
    memset(junk, 0x5A, sizeof junk);
    assert_int_equal(pwrite(fd, junk, sizeof junk, sb.st_size * 3 / 4), (ssize_t)sizeof junk);
    close(fd);
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    assert_int_equal(sfa_agent_open(&f->agent, f->path, &o), SFA_OK);
    assert_non_null(sfa_agent_corruption(f->agent));
    assert_non_null(strstr(sfa_agent_corruption(f->agent), "quick_check"));
    sfa_record *r = NULL;
    assert_int_equal(sfa_record_get(&r, f->agent, "Case", local), SFA_OK); /* reads work */
    sfa_record_free(r);
    char *other = NULL;
    assert_int_equal(sfa_record_create(&other, f->agent, "Case", "{\"Subject\":\"no\"}"),
                     SFA_ECORRUPT);
    assert_non_null(strstr(sfa_agent_errmsg(f->agent), "writes are refused"));
    sfa_agent_free(f->agent);
    f->agent = NULL;
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM meta WHERE key = 'corrupt'"), 1);
    o.read_only = true;
    assert_int_equal(sfa_agent_open(&f->agent, f->path, &o), SFA_OK);
    assert_non_null(sfa_agent_corruption(f->agent));
    free(local);
    fixture_free(f);
}

/* Only a creating open makes a database of an empty file or of an SQLite header with no
 * schema; any other open refuses it like a missing file and leaves it as it was. */
static void test_empty_or_schemaless_file_needs_create(void **state)
{
    (void)state;
    store_fixture *f = fixture_new();
    char *empty = xasprintf("%s/empty.db", f->dir);
    int fd = open(empty, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    close(fd);
    sfa_agent *a = NULL;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    o.create = false;
    assert_int_equal(sfa_agent_open(&a, empty, &o), SFA_ENOTFOUND);
    sfa_agent_free(a);
    size_t n = 1;
    free(read_file_bytes(empty, &n));
    assert_int_equal(n, 0);
    char *bare = xasprintf("%s/bare.db", f->dir);
    sqlite3 *db = NULL; /* a header, no tables */
    assert_int_equal(sqlite3_open(bare, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "VACUUM", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    unsigned char *before = read_file_bytes(bare, &n);
    assert_true(n > 0);
    assert_int_equal(sfa_agent_open(&a, bare, &o), SFA_ENOTFOUND);
    sfa_agent_free(a);
    size_t n2 = 0;
    unsigned char *after = read_file_bytes(bare, &n2);
    assert_int_equal(n, n2);
    assert_memory_equal(before, after, n);
    o.create = true;
    assert_int_equal(sfa_agent_open(&a, empty, &o), SFA_OK);
    sfa_agent_free(a);
    free(before);
    free(after);
    free(bare);
    free(empty);
    fixture_free(f);
}

static void test_refuses_negative_schema_version_untouched(void **state)
{
    (void)state;
    store_fixture *f = fixture_new();
    sfa_agent_free(f->agent);
    f->agent = NULL;
    raw_exec(f->path, "PRAGMA user_version = -1");
    expect_refused_untouched(f->path, SFA_ECORRUPT, "impossible schema version");
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), -1);
    fixture_free(f);
}

/* A read-only handle in a read-only directory creates no -wal or -shm file. */
static void test_read_only_handle_in_read_only_directory_writes_nothing(void **state)
{
    (void)state;
    store_fixture *f = fixture_new();
    sfa_agent_free(f->agent);
    f->agent = NULL;
    assert_int_equal(chmod(f->dir, 0500), 0);
    sfa_agent *a = NULL;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    o.read_only = true;
    o.create = false;
    if (sfa_agent_open(&a, f->path, &o) != SFA_OK)
        fail_msg("read-only open: %s", sfa_agent_errmsg(a));
    sfa_record_array list = {0};
    assert_int_equal(sfa_record_list(&list, a, "Case", NULL), SFA_OK);
    sfa_record_array_free(&list);
    char *shm = xasprintf("%s-shm", f->path);
    assert_int_not_equal(access(shm, F_OK), 0);
    sfa_agent_free(a);
    free(shm);
    chmod(f->dir, 0700);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_db_is_newest_version_and_mode_0600),
        cmocka_unit_test(test_pragmas_set_on_connection),
        cmocka_unit_test(test_upgrade_from_each_earlier_version),
        cmocka_unit_test(test_upgrade_fills_field_columns),
        cmocka_unit_test(test_refuses_newer_schema_untouched),
        cmocka_unit_test(test_refuses_random_bytes_untouched),
        cmocka_unit_test(test_refuses_foreign_sqlite_db),
        cmocka_unit_test(test_read_only_file),
        cmocka_unit_test(test_read_only_directory),
        cmocka_unit_test(test_missing_file_without_create),
        cmocka_unit_test(test_refuses_fifo_device_and_directory),
        cmocka_unit_test(test_missing_arguments_record_a_message),
        cmocka_unit_test(test_session_rows_and_stale_session),
        cmocka_unit_test(test_failed_quick_check_flags_database),
        cmocka_unit_test(test_empty_or_schemaless_file_needs_create),
        cmocka_unit_test(test_refuses_negative_schema_version_untouched),
        cmocka_unit_test(test_read_only_handle_in_read_only_directory_writes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
