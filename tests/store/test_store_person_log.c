/* The "needs a person" log line of an op that turns dead or conflict (store/op_state.c,
 * store/person_log.c): written once, after the COMMIT that made the change, and never for
 * a change a rollback (of the transaction or of a savepoint) undid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sfagent/log.h"
#include "sfagent/record.h"
#include "store/op.h"
#include "store/op_state.h"
#include "store/sql.h"
#include "store/store.h"
#include "store/store_test_util.h"

typedef struct seen {
    int dead, conflict, other;
} seen;

static void capture(sfa_log_level level, const char *message, void *ctx)
{
    seen *s = ctx;
    if (level != SFA_LOG_WARN || !strstr(message, "outbox op 1 is "))
        return;
    if (strstr(message, "outbox op 1 is dead: E_DEAD: gone"))
        s->dead++;
    else if (strstr(message, "outbox op 1 is conflict: E_CONFLICT: both changed"))
        s->conflict++;
    else
        s->other++;
}

static seen g_seen;

static int setup(void **state)
{
    memset(&g_seen, 0, sizeof g_seen);
    sfa_log_set_level(SFA_LOG_WARN);
    sfa_log_set_callback(capture, &g_seen);
    store_fixture *f = fixture_new();
    char *id = NULL;
    assert_int_equal(sfa_record_create(&id, f->agent, "Case", "{\"Subject\":\"s\"}"), SFA_OK);
    free(id);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_free(*state);
    sfa_log_set_callback(NULL, NULL);
    return 0;
}

static void transition(store_fixture *f, store_op_event ev, const char *run)
{
    static const char *const why[][2] = {{"E_DEAD", "gone"}, {"E_CONFLICT", "both changed"}};
    int k = ev == STORE_EV_CONFLICT;
    store_op_change c = {.seq = 1, .event = ev, .run_id = run, .code = why[k][0], .msg = why[k][1]};
    store_op_state to;
    bool changed = false;
    assert_int_equal(store_op_transition(f->agent, &c, &to, &changed), SFA_OK);
    assert_true(changed);
}

/* Op 1 inflight under run, committed. */
static void claim(store_fixture *f, const char *run)
{
    store_op_change c = {.seq = 1, .event = STORE_EV_CLAIM, .run_id = run};
    sqlite3 *db = raw_open(f->path);
    sqlite3_stmt *st = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT fields FROM outbox WHERE seq = 1", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char *fields = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    c.expect_fields = fields;
    store_op_state to;
    bool changed = false;
    assert_int_equal(store_tx_begin(f->agent), SFA_OK);
    assert_int_equal(store_op_transition(f->agent, &c, &to, &changed), SFA_OK);
    assert_int_equal(store_tx_commit(f->agent), SFA_OK);
    assert_true(changed);
    free(fields);
}

/* Dead, rolled back: nothing said. Dead again, committed: said once. */
static void test_dead_logged_once_after_commit(void **state)
{
    store_fixture *f = *state;
    claim(f, "run-a");
    assert_int_equal(store_tx_begin(f->agent), SFA_OK);
    transition(f, STORE_EV_DEAD, "run-a");
    assert_int_equal(g_seen.dead, 0); /* held until COMMIT */
    store_tx_rollback(f->agent);
    assert_int_equal(g_seen.dead, 0);
    assert_int_equal(store_tx_begin(f->agent), SFA_OK);
    transition(f, STORE_EV_DEAD, "run-a");
    assert_int_equal(store_tx_commit(f->agent), SFA_OK);
    assert_int_equal(g_seen.dead, 1);
    assert_int_equal(store_tx_begin(f->agent), SFA_OK); /* a later commit repeats nothing */
    assert_int_equal(store_tx_commit(f->agent), SFA_OK);
    assert_int_equal(g_seen.dead, 1);
    assert_int_equal(g_seen.other, 0);
}

/* Conflict: the same rule. */
static void test_conflict_logged_once_after_commit(void **state)
{
    store_fixture *f = *state;
    claim(f, "run-a");
    assert_int_equal(store_tx_begin(f->agent), SFA_OK);
    transition(f, STORE_EV_CONFLICT, "run-a");
    store_tx_rollback(f->agent);
    assert_int_equal(g_seen.conflict, 0);
    assert_int_equal(store_tx_begin(f->agent), SFA_OK);
    transition(f, STORE_EV_CONFLICT, "run-a");
    assert_int_equal(g_seen.conflict, 0);
    assert_int_equal(store_tx_commit(f->agent), SFA_OK);
    assert_int_equal(g_seen.conflict, 1);
    assert_int_equal(g_seen.dead + g_seen.other, 0);
}

/* A savepoint rolled back inside a transaction that commits (store/op_sync.c I8): the
 * undone change is not logged; the one made after it is. */
static void test_savepoint_rollback_drops_the_line(void **state)
{
    store_fixture *f = *state;
    claim(f, "run-a");
    sqlite3 *db = store_db(f->agent);
    assert_int_equal(store_tx_begin(f->agent), SFA_OK);
    size_t mark = store_person_notes_mark(f->agent);
    assert_int_equal(sqlite3_exec(db, "SAVEPOINT t", NULL, NULL, NULL), SQLITE_OK);
    transition(f, STORE_EV_CONFLICT, "run-a");
    store_person_notes_drop_after(f->agent, mark);
    assert_int_equal(sqlite3_exec(db, "ROLLBACK TO t; RELEASE t", NULL, NULL, NULL), SQLITE_OK);
    transition(f, STORE_EV_DEAD, "run-a");
    assert_int_equal(store_tx_commit(f->agent), SFA_OK);
    assert_int_equal(g_seen.conflict, 0);
    assert_int_equal(g_seen.dead, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dead_logged_once_after_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_logged_once_after_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_savepoint_rollback_drops_the_line, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
