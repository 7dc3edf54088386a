/*
 * sfa_health_get() as an embedder uses it (include/sfagent.h only): argument errors, a
 * fresh database's snapshot (nothing recorded yet), counts per state and per object, a
 * read-only handle, and the name and result mappings every status has.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sfagent.h>

static void test_arguments_are_checked(void **state)
{
    (void)state;
    sfa_health h;
    memset(&h, 0x5a, sizeof h);
    assert_int_equal(sfa_health_get(&h, NULL), SFA_EINVAL);
    assert_null(h.sobjects); /* zeroed even on failure: freeing it is safe */
    sfa_health_free(&h);
    assert_int_equal(sfa_health_get(NULL, NULL), SFA_EINVAL);
    sfa_health_free(NULL);
}

static void test_fresh_database_and_counts(void **state)
{
    (void)state;
    char dir[] = "/tmp/sfa-api-health-XXXXXX", path[96];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.db", dir);
    sfa_agent *a = NULL;
    sfa_open_options o = SFA_OPEN_OPTIONS_INIT;
    assert_int_equal(sfa_agent_open(&a, path, &o), SFA_OK);
    sfa_health h;
    assert_int_equal(sfa_health_get(&h, a), SFA_OK);
    assert_int_equal(h.last_run, SFA_RUN_NONE);
    assert_int_equal(h.next, SFA_NEXT_IDLE);
    assert_true(h.api_used == -1 && h.api_max == -1);
    assert_true(h.last_success_ms == 0 && h.first_run_ms == 0 && h.next_attempt_ms == 0);
    assert_null(h.last_error);
    assert_false(h.run_active);
    assert_int_equal(h.nsobjects, 0);
    assert_true(h.now_ms > 0);
    sfa_health_free(&h);

    char *id = NULL;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sfa_record_create(&id, a, i < 2 ? "Case" : "Contact",
                                           i < 2 ? "{\"Subject\":\"x\"}" : "{\"LastName\":\"y\"}"),
                         SFA_OK);
        free(id);
    }
    sfa_agent_free(a);
    o.read_only = true; /* what `status` and monitoring use */
    assert_int_equal(sfa_agent_open(&a, path, &o), SFA_OK);
    assert_int_equal(sfa_health_get(&h, a), SFA_OK);
    assert_int_equal(h.outbox.pending, 3);
    assert_int_equal(h.next, SFA_NEXT_NOW);
    assert_true(h.outbox.oldest_pending_created_ms > 0);
    assert_int_equal(h.nsobjects, 2);
    assert_string_equal(h.sobjects[0].sobject, "Case");
    assert_int_equal(h.sobjects[0].records, 2);
    assert_string_equal(h.sobjects[1].sobject, "Contact");
    assert_int_equal(h.sobjects[1].records, 1);
    sfa_health_free(&h);
    assert_null(h.sobjects);
    sfa_agent_free(a);
    char side[128];
    const char *const suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(side, sizeof side, "%s%s", path, suffix[i]);
        unlink(side);
    }
    rmdir(dir);
}

/* Every status maps to a run result, and every result and reason has a name. */
static void test_every_status_has_a_result(void **state)
{
    (void)state;
    assert_int_equal(sfa_run_result_of(SFA_OK), SFA_RUN_OK);
    assert_int_equal(sfa_run_result_of(SFA_EPARTIAL), SFA_RUN_PARTIAL);
    assert_int_equal(sfa_run_result_of(SFA_ERETRY), SFA_RUN_RETRY);
    assert_int_equal(sfa_run_result_of(SFA_ELIMIT), SFA_RUN_RETRY);
    assert_int_equal(sfa_run_result_of(SFA_EAUTH), SFA_RUN_ERROR);
    for (int s = SFA_ETLS; s <= SFA_OK; s++)
        assert_true(sfa_run_result_of((sfa_status)s) != SFA_RUN_NONE);
    const char *const results[] = {"none", "ok", "retry", "partial", "error"};
    for (int r = SFA_RUN_NONE; r <= SFA_RUN_ERROR; r++)
        assert_string_equal(sfa_run_result_name((sfa_run_result)r), results[r]);
    const char *const reasons[] = {"idle", "now", "backoff", "pause"};
    for (int n = SFA_NEXT_IDLE; n <= SFA_NEXT_PAUSE; n++)
        assert_string_equal(sfa_next_reason_name((sfa_next_reason)n), reasons[n]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arguments_are_checked),
        cmocka_unit_test(test_fresh_database_and_counts),
        cmocka_unit_test(test_every_status_has_a_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
