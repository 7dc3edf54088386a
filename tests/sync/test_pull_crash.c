/* The pull killed at each named crash point (docs/sync-protocol.md#pull, "Crash points"),
 * on the 1st and 2nd page, then resumed in a fresh process: every run ends with exactly
 * the server's records once, and the resumed pull downloads only what was not committed
 * (the mark moves with its page). 700 records share one second and pages hold 200, so
 * every boundary and every resume point falls inside a SystemModstamp tie. The pull runs
 * in tests/sync/pull_helper.c (crash points end it with _exit, as a SIGKILL would). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "push_fixture.h"
#include "util/timeutil.h"

#define RECORDS 700
#define PAGE    200

static void seed(push_fixture *f)
{
    for (int i = 0; i < RECORDS; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "Subject", "bulk");
        char id[19];
        assert_int_equal(emu_record_insert(f->emu, "Case", r, id), 0);
        cJSON_Delete(r);
    }
}

static size_t cached(push_fixture *f)
{
    return push_fixture_cached(f, "Case");
}

/* Pages committed before the crash at (point, n). */
static size_t committed_before(const char *point, int n)
{
    return strcmp(point, "pull.after_page_commit") == 0 ? (size_t)n : (size_t)n - 1;
}

static void crash_and_resume(const char *point, int n)
{
    push_fixture f;
    time_set_override(time_now_ms() / 1000 * 1000); /* one second for all the records */
    assert_int_equal(push_fixture_setup(&f, NULL, "objects = Case\n"), 0);
    assert_int_equal(push_fixture_write_config(&f, "objects = Case\n"), 0);
    seed(&f);
    char report[160], at[96];
    snprintf(report, sizeof report, "%s/report", f.dir);
    setenv("SFA_PULL_REPORT", report, 1);
    snprintf(at, sizeof at, "%s:%d", point, n);
    assert_int_equal(push_fixture_run_helper(&f, at), 100);
    size_t committed = committed_before(point, n) * PAGE;
    assert_int_equal(cached(&f), committed);
    unlink(report);
    assert_int_equal(push_fixture_run_helper(&f, NULL), 0);
    int runs = 0;
    assert_int_equal(push_fixture_report_sum(report, 0, &runs),
                     RECORDS - committed); /* no re-download */
    assert_int_equal(runs, 1);
    assert_int_equal(cached(&f), RECORDS); /* each once: sf_id is unique in the mirror */
    unlink(report);
    push_fixture_teardown(&f);
    time_set_override(0);
}

static void test_pull_crash_after_page_fetch(void **state)
{
    (void)state;
    crash_and_resume("pull.after_page_fetch", 1);
    crash_and_resume("pull.after_page_fetch", 2);
}

static void test_pull_crash_before_page_commit(void **state)
{
    (void)state;
    crash_and_resume("pull.before_page_commit", 1);
    crash_and_resume("pull.before_page_commit", 3);
}

static void test_pull_crash_after_page_commit(void **state)
{
    (void)state;
    crash_and_resume("pull.after_page_commit", 1);
    crash_and_resume("pull.after_page_commit", 2);
}

int main(void)
{
    setenv("SFA_PUSH_HELPER", PULL_HELPER, 1); /* push_fixture_run_helper runs it */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pull_crash_after_page_fetch),
        cmocka_unit_test(test_pull_crash_before_page_commit),
        cmocka_unit_test(test_pull_crash_after_page_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
