/* Requests in flight ([sync] parallel, sync/engine/push_jobs.c): several batches really are
 * on the wire at once (the emulator's gate holds each request until n are being served
 * together, and records the most it saw: no clock is read), parallel = 1 never overlaps,
 * a run-level stop collects what is in flight, and the setting is validated when the
 * configuration loads. Exactly-once under faults and kills at parallel 1 and 4 is
 * test_matrix's and test_sync_kill's (both registered at both settings). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "push_fixture.h"
#include "sync/client/config_internal.h"
#include "util/alloc.h"

#define BATCH    800  /* creates per composite call */
#define HOLD_MS  2500 /* the gate's bound for a request that waits in vain (under timeout = 5) */
#define GATE_FOR 3    /* requests the gate waits for */

static int setup_with(void **state, const char *sync_extra)
{
    return push_fixture_state_new(state, NULL, sync_extra);
}

static int setup_p4(void **state)
{
    return setup_with(state, "parallel = 4\napi_limit_share = 1\n");
}

static int setup_p1(void **state)
{
    return setup_with(state, "parallel = 1\napi_limit_share = 1\n");
}

static int teardown(void **state)
{
    return push_fixture_state_free(state);
}

static void queue_cases(push_fixture *f, int n)
{
    for (int i = 0; i < n; i++) {
        char *id = push_fixture_create(f, "Case", "{\"Subject\":\"in flight\"}");
        assert_non_null(id);
        free(id);
    }
}

/* The first batch goes alone (the org's API usage is not known yet: push_jobs.c J5); the
 * next three are on the wire together and meet at the gate. */
static void test_batches_in_flight_at_once(void **state)
{
    push_fixture *f = *state;
    queue_cases(f, 4 * BATCH);
    emu_set_gate(f->emu, GATE_FOR, HOLD_MS);
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_true(emu_max_concurrent(f->emu) >= GATE_FOR);
    assert_int_equal(rep.done, 4 * BATCH);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 4 * BATCH);
    assert_int_equal(emu_request_count(f->emu, "POST", "/services/data/*/composite"), 4);
}

static void test_parallel_one_never_overlaps(void **state)
{
    push_fixture *f = *state;
    queue_cases(f, 2 * BATCH);
    emu_set_gate(f->emu, 2, 200); /* would let two through together, if two came */
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(emu_max_concurrent(f->emu), 1);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 2 * BATCH);
}

/* A run-level stop with batches in flight: the API share is reached while three batches
 * are on the wire (used 1 + 3 in flight = the limit of 4), so the fifth is not claimed;
 * the three are collected (done), nothing is left inflight, and the fifth batch is
 * pending with no attempt spent. The next run, with a higher limit, finishes exactly once. */
static void test_stop_collects_batches_in_flight(void **state)
{
    push_fixture *f = *state;
    queue_cases(f, 5 * BATCH);
    emu_set_api_limit(f->emu, 4);
    emu_set_gate(f->emu, GATE_FOR, HOLD_MS);
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_ELIMIT);
    assert_true(emu_max_concurrent(f->emu) >= GATE_FOR);
    assert_int_equal(rep.done, 4 * BATCH);
    assert_int_equal(rep.inflight_left, 0);
    assert_int_equal(rep.pending_left, BATCH);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 4 * BATCH);
    emu_set_api_limit(f->emu, 1000000);
    emu_set_gate(f->emu, 0, 0);
    assert_int_equal(push_fixture_converge(f, 3, &rep), SFA_OK);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 5 * BATCH);
    assert_int_equal(push_fixture_mutations(f), 5);
}

static void expect_refused(const char *value)
{
    char *ini = xasprintf("[salesforce]\nlogin_url = http://127.0.0.1:1\n"
                          "[sync]\nparallel = %s\n",
                          value);
    sfa_config *cfg = NULL;
    char *err = NULL;
    assert_int_equal(sync_config_load_string(&cfg, ini, "test.ini", &err), SFA_ECONFIG);
    assert_null(cfg);
    assert_non_null(err);
    assert_non_null(strstr(err, "parallel"));
    assert_non_null(strstr(err, "from 1 to 10"));
    free(err);
    free(ini);
}

static void test_parallel_is_validated_at_load(void **state)
{
    (void)state;
    expect_refused("0");
    expect_refused("11");
    expect_refused("four");
    expect_refused("-1");
    char *err = NULL;
    sfa_config *cfg = NULL;
    assert_int_equal(sync_config_load_string(&cfg,
                                             "[salesforce]\nlogin_url = http://127.0.0.1:1\n"
                                             "[sync]\nparallel = 10\n",
                                             "test.ini", &err),
                     SFA_OK);
    assert_int_equal(sync_config_parallel(cfg), 10);
    sfa_config_free(cfg);
    assert_int_equal(sync_config_load_string(&cfg, "[salesforce]\nlogin_url = http://127.0.0.1:1\n",
                                             "test.ini", &err),
                     SFA_OK);
    assert_int_equal(sync_config_parallel(cfg), 4); /* the default */
    sfa_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batches_in_flight_at_once, setup_p4, teardown),
        cmocka_unit_test_setup_teardown(test_parallel_one_never_overlaps, setup_p1, teardown),
        cmocka_unit_test_setup_teardown(test_stop_collects_batches_in_flight, setup_p4, teardown),
        cmocka_unit_test(test_parallel_is_validated_at_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
