/* The delete half of the pull killed at each of its crash points (docs/sync-protocol.md,
 * "Crash points"), then resumed in a fresh process: getDeleted's removals and a full Id
 * reconciliation's removals commit with the mark that covers them, so a run killed before
 * that commit removes nothing and the next run removes every deleted record, once.
 *
 * The pull runs in tests/sync/pull_helper.c (crash points end it with _exit, as a SIGKILL
 * would), on the clock this test pins (SFA_TEST_CLOCK_MS): getDeleted works in whole
 * minutes, so the test moves time instead of waiting for it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "push_fixture.h"
#include "util/timeutil.h"

#define RECORDS   500 /* the helper's pages hold 200: the reconciliation reads 3 */
#define DELETED   100
#define MINUTE_MS (60 * 1000LL)

typedef struct env {
    push_fixture f;
    int64_t now;
    char report[160];
    char ids[RECORDS][19];
} env;

static void set_clock(env *e, int64_t ms)
{
    e->now = ms;
    time_set_override(ms); /* this process: the in-process emulator's clock */
    char v[32];
    snprintf(v, sizeof v, "%" PRId64, ms);
    setenv("SFA_TEST_CLOCK_MS", v, 1); /* the helper's */
}

static size_t cached(env *e)
{
    return push_fixture_cached(&e->f, "Case");
}

static void assert_mirror_is_server(env *e)
{
    char *why = NULL;
    if (!push_fixture_mirror_is_server(&e->f, "Case", &why))
        fail_msg("%s", why);
}

/* RECORDS Cases on the server, all pulled by a first run (which reconciles, so its
 * getDeleted mark is a minute before it started); returns 10 minutes later. */
static env *setup_pulled(void)
{
    env *e = calloc(1, sizeof *e);
    set_clock(e, time_now_ms() / 1000 * 1000);
    assert_int_equal(push_fixture_setup(&e->f, NULL, "objects = Case\n"), 0);
    assert_int_equal(push_fixture_write_config(&e->f, "objects = Case\n"), 0);
    for (int i = 0; i < RECORDS; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "Subject", "to pull");
        assert_int_equal(emu_record_insert(e->f.emu, "Case", r, e->ids[i]), 0);
        cJSON_Delete(r);
    }
    set_clock(e, e->now + 10 * MINUTE_MS);
    assert_int_equal(push_fixture_run_helper(&e->f, NULL), 0);
    assert_int_equal(cached(e), RECORDS);
    snprintf(e->report, sizeof e->report, "%s/report", e->f.dir);
    setenv("SFA_PULL_REPORT", e->report, 1);
    return e;
}

static void teardown_env(env *e)
{
    unsetenv("SFA_PULL_REPORT");
    unsetenv("SFA_TEST_CLOCK_MS");
    push_fixture_teardown(&e->f);
    time_set_override(0);
    free(e);
}

static void remove_some(env *e)
{
    for (int i = 0; i < DELETED; i++)
        assert_int_equal(emu_record_remove(e->f.emu, e->ids[i * (RECORDS / DELETED)]), 0);
}

/* Crash at `at`: nothing removed; the next run removes all DELETED, in one run. */
static void crash_then_resume(env *e, const char *at)
{
    unlink(e->report);
    assert_int_equal(push_fixture_run_helper(&e->f, at), 100);
    assert_int_equal(cached(e), RECORDS); /* the removals had not committed */
    unlink(e->report);
    assert_int_equal(push_fixture_run_helper(&e->f, NULL), 0);
    int runs = 0;
    assert_int_equal(push_fixture_report_sum(e->report, 2, &runs), DELETED);
    assert_int_equal(runs, 1);
    assert_mirror_is_server(e);
    unlink(e->report); /* and a further run finds nothing more to remove */
    assert_int_equal(push_fixture_run_helper(&e->f, NULL), 0);
    assert_int_equal(push_fixture_report_sum(e->report, 2, &runs), 0);
    assert_mirror_is_server(e);
}

/* getDeleted lists the deletes; the run dies before their transaction commits. */
static void test_crash_before_deletes_commit(void **state)
{
    (void)state;
    env *e = setup_pulled();
    remove_some(e);
    set_clock(e, e->now + 3 * MINUTE_MS); /* a whole minute covered after the deletes */
    size_t calls = emu_request_count(e->f.emu, "GET", "*/deleted/*");
    crash_then_resume(e, "pull.before_deletes_commit:1");
    assert_true(emu_request_count(e->f.emu, "GET", "*/deleted/*") >= calls + 2);
    teardown_env(e);
}

/* Ghosts that getDeleted cannot list (deleted before its mark, then the delete log is
 * purged past the mark): a full Id reconciliation must remove them. The run dies while
 * it reads the Ids (after the first and the second page) or before its removals commit. */
static void reconcile_crash(const char *at)
{
    env *e = setup_pulled();
    int64_t pulled = e->now;
    set_clock(e, pulled - 9 * MINUTE_MS); /* deleted before the getDeleted mark */
    remove_some(e);
    set_clock(e, pulled + 3 * MINUTE_MS);
    emu_set_deleted_earliest(e->f.emu, e->now - MINUTE_MS);
    crash_then_resume(e, at);
    teardown_env(e);
}

static void test_crash_after_first_seen_page(void **state)
{
    (void)state;
    reconcile_crash("pull.after_seen_page:1");
}

static void test_crash_after_second_seen_page(void **state)
{
    (void)state;
    reconcile_crash("pull.after_seen_page:2");
}

static void test_crash_before_reconcile_commit(void **state)
{
    (void)state;
    reconcile_crash("pull.before_reconcile_commit:1");
}

int main(void)
{
    setenv("SFA_PUSH_HELPER", PULL_HELPER, 1); /* push_fixture_run_helper runs it */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_before_deletes_commit),
        cmocka_unit_test(test_crash_after_first_seen_page),
        cmocka_unit_test(test_crash_after_second_seen_page),
        cmocka_unit_test(test_crash_before_reconcile_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
