/* store_check_invariants: holds on states the API produces, and names each invariant when
 * a state that breaks it is forced with raw SQL (so the checker itself can fail). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "sfagent.h"
#include "store/sql.h"
#include "store/store_test_util.h"

static int setup(void **state)
{
    *state = fixture_new();
    return 0;
}

static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

/* Two records, the first with two ops (create then update: coalesced into one unless
 * the create is claimed, so claim it by hand first). */
static void make_history(store_fixture *f)
{
    char *a = NULL, *b = NULL;
    assert_int_equal(sfa_record_create(&a, f->agent, "Case", "{\"Subject\":\"one\"}"), SFA_OK);
    raw_exec(f->path, "UPDATE outbox SET state = 'inflight', lease_owner = 'run-x' "
                      "WHERE seq = 1");
    assert_int_equal(sfa_record_update(f->agent, "Case", a, "{\"Subject\":\"two\"}"), SFA_OK);
    assert_int_equal(sfa_record_create(&b, f->agent, "Contact", "{\"LastName\":\"Doe\"}"), SFA_OK);
    free(a);
    free(b);
}

static void expect_violation(store_fixture *f, const char *sql, const char *name)
{
    raw_exec(f->path, sql);
    char *why = NULL;
    assert_false(store_check_invariants(f->agent, &why));
    assert_non_null(why);
    if (!strstr(why, name))
        fail_msg("expected %s, got: %s", name, why);
    free(why);
}

static void test_api_states_hold(void **state)
{
    store_fixture *f = *state;
    char *why = NULL;
    assert_true(store_check_invariants(f->agent, &why));
    make_history(f);
    assert_true(store_check_invariants(f->agent, &why));
    assert_null(why);
}

static void test_inflight_without_lease_is_caught(void **state)
{
    store_fixture *f = *state;
    make_history(f);
    expect_violation(f, "UPDATE outbox SET lease_owner = NULL WHERE seq = 1", "V1");
}

static void test_pending_with_lease_is_caught(void **state)
{
    store_fixture *f = *state;
    make_history(f);
    expect_violation(f,
                     "UPDATE outbox SET lease_owner = 'run-y' "
                     "WHERE seq = 2",
                     "V1");
}

static void test_clean_record_with_open_op_is_caught(void **state)
{
    store_fixture *f = *state;
    make_history(f);
    expect_violation(f, "UPDATE records SET dirty = 0 WHERE sobject = 'Contact'", "V2");
}

static void test_two_inflight_ops_of_one_record_are_caught(void **state)
{
    store_fixture *f = *state;
    make_history(f);
    expect_violation(f,
                     "UPDATE outbox SET state = 'inflight', lease_owner = 'run-x' "
                     "WHERE seq = 2",
                     "V3");
}

static void test_out_of_order_done_is_caught(void **state)
{
    store_fixture *f = *state;
    make_history(f);
    expect_violation(f, "UPDATE outbox SET state = 'done' WHERE seq = 2", "V4");
}

static void test_op_of_missing_record_is_caught(void **state)
{
    store_fixture *f = *state;
    make_history(f);
    expect_violation(f,
                     "PRAGMA foreign_keys = OFF; DELETE FROM records WHERE sobject = "
                     "'Contact'",
                     "V5");
}

static void test_old_schema_is_caught(void **state)
{
    store_fixture *f = *state;
    /* As if a migration had not run: only reachable behind the API's back. */
    assert_int_equal(sqlite3_exec(store_db(f->agent), "PRAGMA user_version = 1", NULL, NULL, NULL),
                     SQLITE_OK);
    char *why = NULL;
    bool ok = store_check_invariants(f->agent, &why);
    if (sfa_agent_schema_version_supported() > 1) {
        assert_false(ok);
        if (!strstr(why, "V6"))
            fail_msg("expected V6, got: %s", why);
    }
    free(why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_api_states_hold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inflight_without_lease_is_caught, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_with_lease_is_caught, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clean_record_with_open_op_is_caught, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_inflight_ops_of_one_record_are_caught, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order_done_is_caught, setup, teardown),
        cmocka_unit_test_setup_teardown(test_op_of_missing_record_is_caught, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_schema_is_caught, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
