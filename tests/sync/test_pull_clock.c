/* A host whose clock is wrong (no NTP on a ship, a kiosk's reset RTC) still pulls what
 * Salesforce has, and no sooner than Salesforce's settle bound allows: the pull's bounds
 * come from Salesforce's clock, learnt from the Date header of its answers (I14 of
 * sync/client/sf_client.c, pull_server_now).
 *
 * The pull runs in tests/sync/pull_helper.c with its clock pinned (SFA_TEST_CLOCK_MS) two
 * hours off; the emulator runs in this process on the real clock, and so do its Date
 * headers and the audit dates it stamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "push_fixture.h"
#include "util/timeutil.h"

#define CASES   50
#define HOUR_MS (3600 * 1000LL)

static void pin_helper_clock(int64_t ms)
{
    char v[32];
    snprintf(v, sizeof v, "%" PRId64, ms);
    setenv("SFA_TEST_CLOCK_MS", v, 1);
}

/* CASES Cases stamped modstamp_ms on the server; their Ids into ids (may be NULL). */
static void server_cases(push_fixture *f, int n, int64_t modstamp_ms)
{
    for (int i = 0; i < n; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "Subject", "on the server");
        char id[19];
        assert_int_equal(emu_record_insert(f->emu, "Case", r, id), 0);
        assert_int_equal(emu_record_set_modstamp(f->emu, id, modstamp_ms), 0);
        cJSON_Delete(r);
    }
}

static int setup(void **state)
{
    /* The settle bound on, at its default: it is what the host's clock would misplace. */
    return push_fixture_state_new(state, NULL, "objects = Case\n") ||
           push_fixture_write_config(*state, "objects = Case\npull_settle_time = 2\n");
}

static int teardown(void **state)
{
    unsetenv("SFA_TEST_CLOCK_MS");
    time_set_override(0);
    return push_fixture_state_free(state);
}

/* Two hours behind: with its own clock as the bound it would ask only for what changed
 * more than two hours ago, and see none of these. */
static void test_clock_behind_still_pulls(void **state)
{
    push_fixture *f = *state;
    int64_t now = time_now_ms() / 1000 * 1000;
    server_cases(f, CASES, now - 30 * 1000);
    pin_helper_clock(now - 2 * HOUR_MS);
    assert_int_equal(push_fixture_run_helper(f, NULL), 0);
    assert_int_equal(push_fixture_cached(f, "Case"), CASES);
    char *why = NULL;
    if (!push_fixture_mirror_is_server(f, "Case", &why))
        fail_msg("%s", why);
}

/* Two hours ahead: a record Salesforce stamped within its settle bound (it may still be
 * joined by records stamped earlier and committed later) is left for a later pull, and
 * the mark stays before it; with the host's clock as the bound it would be taken now. */
static void test_clock_ahead_keeps_the_settle_bound(void **state)
{
    push_fixture *f = *state;
    int64_t now = time_now_ms() / 1000 * 1000;
    server_cases(f, CASES, now - 30 * 1000);
    server_cases(f, 1, now + 60 * 1000); /* stays within the bound for a minute */
    pin_helper_clock(now + 2 * HOUR_MS);
    assert_int_equal(push_fixture_run_helper(f, NULL), 0);
    assert_int_equal(push_fixture_cached(f, "Case"), CASES);
}

/* A server whose Date is years off (one replaying recorded answers, a mock with a fixed
 * Date) is not believed: the host's clock bounds the pull, and recent records come. */
static void test_date_far_off_is_not_believed(void **state)
{
    push_fixture *f = *state;
    int64_t now = time_now_ms() / 1000 * 1000;
    time_set_override(now - 2 * 365 * 24 * HOUR_MS); /* the emulator's Date headers */
    server_cases(f, CASES, now - 30 * 1000);
    unsetenv("SFA_TEST_CLOCK_MS"); /* the helper on the real clock */
    assert_int_equal(push_fixture_run_helper(f, NULL), 0);
    time_set_override(0);
    assert_int_equal(push_fixture_cached(f, "Case"), CASES);
}

int main(void)
{
    setenv("SFA_PUSH_HELPER", PULL_HELPER, 1); /* push_fixture_run_helper runs it */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clock_behind_still_pulls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_ahead_keeps_the_settle_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_date_far_off_is_not_believed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
