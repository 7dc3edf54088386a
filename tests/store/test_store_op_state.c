/* Tests for store/op_state.c: the op state machine's table, its races and its row
 * invariants, driven through store_op_transition on a real database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sfagent/record.h"
#include "store/op.h"
#include "store/op_state.h"
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

/* A pending create op (seq 1) for a new Case. */
static void one_op(store_fixture *f)
{
    char *id = NULL;
    assert_int_equal(sfa_record_create(&id, f->agent, "Case", "{\"Subject\":\"s\"}"), SFA_OK);
    free(id);
}

static sfa_status step(store_fixture *f, store_op_change c, store_op_state *to, bool *changed)
{
    c.seq = 1;
    assert_int_equal(store_tx_begin(f->agent), SFA_OK);
    sfa_status s = store_op_transition(f->agent, &c, to, changed);
    if (s == SFA_OK)
        assert_int_equal(store_tx_commit(f->agent), SFA_OK);
    else
        store_tx_rollback(f->agent);
    return s;
}

static char *fields_of_op1(store_fixture *f)
{
    sqlite3 *db = raw_open(f->path);
    sqlite3_stmt *st = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT fields FROM outbox WHERE seq = 1", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char *out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

static void claim(store_fixture *f, const char *run)
{
    char *fields = fields_of_op1(f);
    store_op_state to;
    bool changed = false;
    store_op_change c = {.event = STORE_EV_CLAIM, .run_id = run, .expect_fields = fields};
    assert_int_equal(step(f, c, &to, &changed), SFA_OK);
    assert_true(changed);
    assert_int_equal(to, STORE_OP_INFLIGHT);
    free(fields);
}

static void test_claim_then_done_clears_the_lease(void **state)
{
    store_fixture *f = *state;
    one_op(f);
    claim(f, "run-a");
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox WHERE lease_owner = 'run-a'"),
                     1);
    store_op_state to;
    bool changed = false;
    assert_int_equal(
        step(f, (store_op_change){.event = STORE_EV_DONE, .run_id = "run-a"}, &to, &changed),
        SFA_OK);
    assert_true(changed);
    assert_int_equal(to, STORE_OP_DONE);
    assert_int_equal(
        raw_int(f->path,
                "SELECT count(*) FROM outbox WHERE state = 'done' AND lease_owner IS NULL"),
        1);
}

static void test_claim_of_a_folded_op_is_a_race_not_a_claim(void **state)
{
    store_fixture *f = *state;
    one_op(f);
    store_op_state to;
    bool changed = true;
    store_op_change c = {.event = STORE_EV_CLAIM, .run_id = "run-a", .expect_fields = "{}"};
    assert_int_equal(step(f, c, &to, &changed), SFA_OK);
    assert_false(changed);
    assert_int_equal(to, STORE_OP_PENDING);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox WHERE state = 'pending'"), 1);
}

static void test_results_of_another_run_are_not_written(void **state)
{
    store_fixture *f = *state;
    one_op(f);
    claim(f, "run-a");
    store_op_event evs[] = {STORE_EV_DONE, STORE_EV_RETRY, STORE_EV_RELEASE, STORE_EV_DEAD,
                            STORE_EV_CONFLICT};
    for (size_t i = 0; i < sizeof evs / sizeof *evs; i++) {
        bool changed = true;
        store_op_change c = {.event = evs[i], .run_id = "run-b", .code = "X", .msg = "m"};
        assert_int_equal(step(f, c, NULL, &changed), SFA_OK);
        assert_false(changed);
    }
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox WHERE state = 'inflight'"
                                      " AND lease_owner = 'run-a'"),
                     1);
}

static void test_retry_gives_up_at_max_attempts(void **state)
{
    store_fixture *f = *state;
    one_op(f);
    for (int i = 1; i <= 3; i++) {
        claim(f, "run-a");
        store_op_state to;
        bool changed = false;
        store_op_change c = {.event = STORE_EV_RETRY,
                             .run_id = "run-a",
                             .max_attempts = 3,
                             .code = "SERVER_UNAVAILABLE",
                             .msg = "503",
                             .next_attempt_at = 0};
        assert_int_equal(step(f, c, &to, &changed), SFA_OK);
        assert_true(changed);
        assert_int_equal(to, i < 3 ? STORE_OP_PENDING : STORE_OP_DEAD);
    }
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox WHERE state = 'dead' AND"
                                      " last_error_code = 'TOO_MANY_ATTEMPTS' AND attempts = 3"),
                     1);
}

static void test_adopt_keeps_the_send_time(void **state)
{
    store_fixture *f = *state;
    one_op(f);
    claim(f, "run-a");
    raw_exec(f->path, "UPDATE outbox SET updated_at = 12345 WHERE seq = 1");
    bool changed = false;
    assert_int_equal(
        step(f, (store_op_change){.event = STORE_EV_ADOPT, .run_id = "run-b"}, NULL, &changed),
        SFA_OK);
    assert_true(changed);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox WHERE lease_owner = 'run-b'"
                                      " AND updated_at = 12345"),
                     1);
}

static void test_user_retry_zeroes_attempts_and_error(void **state)
{
    store_fixture *f = *state;
    one_op(f);
    claim(f, "run-a");
    bool changed = false;
    store_op_change dead = {
        .event = STORE_EV_DEAD, .run_id = "run-a", .code = "INVALID_FIELD", .msg = "bad"};
    assert_int_equal(step(f, dead, NULL, &changed), SFA_OK);
    raw_exec(f->path, "UPDATE outbox SET attempts = 4 WHERE seq = 1");
    assert_int_equal(step(f, (store_op_change){.event = STORE_EV_USER_RETRY}, NULL, &changed),
                     SFA_OK);
    assert_true(changed);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox WHERE state = 'pending' AND"
                                      " attempts = 0 AND last_error_code IS NULL"),
                     1);
}

/* Issue 7.2(c): a result the mirror refuses (UNIQUE(sobject, sf_id): another local record
 * with ops of its own already holds that Id) parks that one op; the batch's other results
 * are written and the call succeeds (it used to roll back the batch and stop every run). */
static void test_refused_result_parks_only_its_op(void **state)
{
    store_fixture *f = *state;
    char *ids[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++)
        assert_int_equal(sfa_record_create(&ids[i], f->agent, "Case", "{\"Subject\":\"s\"}"),
                         SFA_OK);
    raw_exec(f->path, "UPDATE records SET sf_id = '500000000000001AAA' WHERE rowid ="
                      " (SELECT max(rowid) FROM records)");
    store_op ops[2];
    memset(ops, 0, sizeof ops);
    for (int i = 0; i < 2; i++) {
        ops[i].seq = i + 1;
        ops[i].local_id = strdup(ids[i]);
        ops[i].sobject = strdup("Case");
        ops[i].kind = strdup("create");
        ops[i].fields = cJSON_Parse("{\"Subject\":\"s\"}");
        ops[i].fields_raw = strdup("{\"Subject\":\"s\"}");
    }
    bool claimed[2] = {false, false};
    assert_int_equal(store_outbox_claim(f->agent, "run-a", ops, 2, claimed), SFA_OK);
    assert_true(claimed[0] && claimed[1]);
    store_op_set(&ops[0], STORE_OUT_DONE, NULL, NULL);
    ops[0].new_sf_id = strdup("500000000000001AAA"); /* already record 3's */
    store_op_set(&ops[1], STORE_OUT_DONE, NULL, NULL);
    ops[1].new_sf_id = strdup("500000000000002AAA");
    store_apply_counts counts = {0};
    assert_int_equal(store_outbox_apply(f->agent, "run-a", 20, ops, 2, &counts), SFA_OK);
    assert_int_equal(counts.done, 1);
    assert_int_equal(counts.dead, 1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox WHERE seq = 1 AND state ="
                                      " 'dead' AND last_error_code = 'MIRROR_CONSTRAINT'"),
                     1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox WHERE seq = 2 AND state ="
                                      " 'done'"),
                     1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM records WHERE sf_id ="
                                      " '500000000000002AAA'"),
                     1);
    for (int i = 0; i < 2; i++)
        store_op_clear(&ops[i]);
    for (int i = 0; i < 3; i++)
        free(ids[i]);
}

static void test_state_names_round_trip(void **state)
{
    (void)state;
    for (int s = STORE_OP_PENDING; s <= STORE_OP_DEAD; s++) {
        store_op_state back;
        assert_true(store_op_state_parse(store_op_state_name((store_op_state)s), &back));
        assert_int_equal(back, s);
    }
    store_op_state x;
    assert_false(store_op_state_parse("finished", &x));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_claim_then_done_clears_the_lease, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_of_a_folded_op_is_a_race_not_a_claim, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_results_of_another_run_are_not_written, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retry_gives_up_at_max_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adopt_keeps_the_send_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_retry_zeroes_attempts_and_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_result_parks_only_its_op, setup, teardown),
        cmocka_unit_test(test_state_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
