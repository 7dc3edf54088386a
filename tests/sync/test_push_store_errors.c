/* A failed read of the local database is an error, never an empty answer: the store's
 * small readers the engine uses return it, and a push run stops with it instead of
 * acting on "nothing there". The failure is made by renaming a table from a second
 * connection, as a damaged or foreign-modified database would look. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "push_fixture.h"
#include "store/describe.h"
#include "store/op.h"
#include "util/alloc.h"

static int setup(void **state)
{
    return push_fixture_state_new(state, NULL, NULL);
}

static int teardown(void **state)
{
    return push_fixture_state_free(state);
}

static void rename_table(push_fixture *f, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->db_path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_readers_report_failed_reads(void **state)
{
    push_fixture *f = *state;
    char *a = push_fixture_create(f, "Case", "{\"Subject\":\"x\"}");
    rename_table(f, "ALTER TABLE describe_cache RENAME TO dc_gone;"
                    "ALTER TABLE records RENAME TO records_gone;"
                    "ALTER TABLE outbox RENAME TO outbox_gone;");
    cJSON *j = NULL;
    char *s = NULL, *c = NULL, *m = NULL;
    size_t n = 0;
    bool found = false;
    assert_int_not_equal(store_describe_get(&j, f->agent, "Case"), SFA_OK);
    assert_null(j);
    assert_int_not_equal(store_record_sf_id(&s, f->agent, a), SFA_OK);
    assert_int_not_equal(store_record_base(&j, f->agent, a, &s), SFA_OK);
    assert_int_not_equal(store_record_create_op(&found, f->agent, a, &s, &c, &m), SFA_OK);
    assert_int_not_equal(store_outbox_count_state(&n, f->agent, "dead"), SFA_OK);
    rename_table(f, "ALTER TABLE dc_gone RENAME TO describe_cache;"
                    "ALTER TABLE records_gone RENAME TO records;"
                    "ALTER TABLE outbox_gone RENAME TO outbox;");
    free(a);
}

/* The describe cache cannot be read: the run stops with that error and sends nothing,
 * instead of taking "no describe cached" and pushing on. */
static void test_run_stops_when_describe_cache_unreadable(void **state)
{
    push_fixture *f = *state;
    char *a = push_fixture_create(f, "Case", "{\"Subject\":\"x\"}");
    rename_table(f, "ALTER TABLE describe_cache RENAME TO dc_gone;");
    sfa_sync_report rep;
    sfa_status st = push_fixture_sync(f, &rep);
    assert_int_not_equal(st, SFA_OK);
    assert_int_not_equal(st, SFA_ERETRY);
    assert_int_equal(push_fixture_mutations(f), 0);
    rename_table(f, "ALTER TABLE dc_gone RENAME TO describe_cache;");
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(push_fixture_count_key(f, "Case", a), 1);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_readers_report_failed_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_stops_when_describe_cache_unreadable, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
