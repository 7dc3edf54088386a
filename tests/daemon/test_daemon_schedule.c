/* The daemon's schedule after a run (sync/engine/daemon_schedule.c): pure arithmetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sync/engine/daemon_schedule.h"

#define NOW      1700000000000LL
#define INTERVAL 300000

static daemon_next after(sfa_status st, const sfa_sync_report *r, sfa_pause_source src,
                         int64_t until)
{
    sfa_sync_pause p = {src, until, ""};
    return daemon_schedule_after_run(st, r, &p, src == SFA_PAUSE_OFFLINE, NOW, INTERVAL);
}

static void test_schedule_offline_probes_first(void **state)
{
    (void)state;
    sfa_sync_report r = {0};
    r.pending_left = 3;
    daemon_next n = after(SFA_ERETRY, &r, SFA_PAUSE_OFFLINE, NOW + 3600000);
    assert_true(n.offline);
    assert_int_equal(n.delay_ms, DAEMON_PROBE_FIRST_MS);
}

/* An offline pause left by a 503 or a captive portal is waited out: a probe would connect
 * to whatever answered. */
static void test_schedule_unavailable_waits_out_the_pause(void **state)
{
    (void)state;
    sfa_sync_report r = {0};
    r.pending_left = 3;
    sfa_sync_pause p = {SFA_PAUSE_OFFLINE, NOW + 40000, "unavailable: HTTP 503"};
    daemon_next n = daemon_schedule_after_run(SFA_ERETRY, &r, &p, false, NOW, INTERVAL);
    assert_false(n.offline);
    assert_int_equal(n.delay_ms, 40000);
}

static void test_schedule_probe_backoff_grows_to_cap(void **state)
{
    (void)state;
    int64_t d = DAEMON_PROBE_FIRST_MS;
    int64_t seen[8];
    for (int i = 0; i < 8; i++)
        seen[i] = d = daemon_schedule_probe_backoff(d);
    assert_int_equal(seen[0], 2000);
    assert_int_equal(seen[1], 4000);
    assert_int_equal(seen[2], DAEMON_PROBE_CAP_MS);
    assert_int_equal(seen[7], DAEMON_PROBE_CAP_MS);
}

static void test_schedule_limit_pause_waited_out_in_full(void **state)
{
    (void)state;
    sfa_sync_report r = {0};
    daemon_next n = after(SFA_ELIMIT, &r, SFA_PAUSE_API_LIMIT, NOW + 600000);
    assert_false(n.offline);
    assert_int_equal(n.delay_ms, 600000); /* longer than the interval: Salesforce asked */
    n = after(SFA_ERETRY, &r, SFA_PAUSE_RETRY_AFTER, NOW + 30000);
    assert_int_equal(n.delay_ms, 30000);
}

static void test_schedule_op_backoff_honoured_within_interval(void **state)
{
    (void)state;
    sfa_sync_report r = {0};
    r.pending_left = 1;
    r.next_attempt_ms = NOW + 20000;
    assert_int_equal(after(SFA_ERETRY, &r, SFA_PAUSE_NONE, 0).delay_ms, 20000);
    r.next_attempt_ms = NOW + 9000000; /* later than the interval: the interval wins */
    assert_int_equal(after(SFA_ERETRY, &r, SFA_PAUSE_NONE, 0).delay_ms, INTERVAL);
    r.next_attempt_ms = NOW - 5; /* due but left pending (held back): not a busy loop */
    assert_int_equal(after(SFA_EPARTIAL, &r, SFA_PAUSE_NONE, 0).delay_ms, INTERVAL);
}

static void test_schedule_idle_busy_timelimited_error(void **state)
{
    (void)state;
    sfa_sync_report r = {0};
    assert_int_equal(after(SFA_OK, &r, SFA_PAUSE_NONE, 0).delay_ms, INTERVAL);
    assert_int_equal(after(SFA_EBUSY, &r, SFA_PAUSE_NONE, 0).delay_ms, DAEMON_BUSY_RETRY_MS);
    assert_int_equal(after(SFA_EAUTH, &r, SFA_PAUSE_NONE, 0).delay_ms, INTERVAL);
    r.time_limited = true;
    r.pending_left = 500;
    assert_int_equal(after(SFA_ERETRY, &r, SFA_PAUSE_NONE, 0).delay_ms, 0);
}

static void test_schedule_jitter_stays_within_ten_percent(void **state)
{
    (void)state;
    for (uint64_t rnd = 0; rnd < 100000; rnd += 997) {
        int64_t v = daemon_schedule_jitter(300, rnd * 2654435761u);
        assert_true(v >= 270000 && v <= 330000);
    }
    assert_int_not_equal(daemon_schedule_jitter(300, 1), daemon_schedule_jitter(300, 7));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_offline_probes_first),
        cmocka_unit_test(test_schedule_unavailable_waits_out_the_pause),
        cmocka_unit_test(test_schedule_probe_backoff_grows_to_cap),
        cmocka_unit_test(test_schedule_limit_pause_waited_out_in_full),
        cmocka_unit_test(test_schedule_op_backoff_honoured_within_interval),
        cmocka_unit_test(test_schedule_idle_busy_timelimited_error),
        cmocka_unit_test(test_schedule_jitter_stays_within_ten_percent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
