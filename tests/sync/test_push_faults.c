/* The push engine under failure: crash at every push crash point, transient 5xx with
 * persisted backoff, lost answers (no duplicates), Salesforce unreachable (attempts
 * untouched), API limit (pause), the run lease (a second run sends nothing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "push_fixture.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/crashpoint.h"
#include "util/timeutil.h"
#include "store/op.h"
#include "store/run.h"

static int setup(void **state)
{
    return push_fixture_state_new(state, NULL, NULL);
}

static int teardown(void **state)
{
    return push_fixture_state_free(state);
}

static char **make_cases(push_fixture *f, int n)
{
    char **ids = xcalloc((size_t)n, sizeof *ids);
    for (int i = 0; i < n; i++) {
        ids[i] = push_fixture_create(f, "Case", "{\"Subject\":\"fault test\"}");
        assert_non_null(ids[i]);
    }
    return ids;
}

static void assert_exactly_once(push_fixture *f, char **ids, int n)
{
    for (int i = 0; i < n; i++) {
        assert_int_equal(push_fixture_count_key(f, "Case", ids[i]), 1);
        sfa_op *op = push_fixture_first_op(f, ids[i]);
        assert_int_equal(op->state, SFA_OP_STATE_DONE);
        sfa_op_free(op);
    }
    assert_int_equal(emu_record_count(f->emu, "Case", false), (size_t)n);
}

/* Run the engine in a fresh process (push_helper): with a crash point it must die there
 * (exit 100); without, it must finish with everything done (exit 0). */
static void sync_child(push_fixture *f, const char *point)
{
    char *at = point ? xasprintf("%s:1", point) : NULL;
    int rc = push_fixture_run_helper(f, at);
    free(at);
    assert_int_equal(rc, point ? SFA_CRASH_EXIT_CODE : 0);
}

static void fresh_database(push_fixture *f)
{
    sfa_agent_free(f->agent);
    f->agent = NULL;
    const char *suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char *p = xasprintf("%s%s", f->db_path, suffix[i]);
        unlink(p);
        free(p);
    }
    sfa_open_options oo = SFA_OPEN_OPTIONS_INIT;
    assert_int_equal(sfa_agent_open(&f->agent, f->db_path, &oo), SFA_OK);
}

/* Crash at each push crash point (first pass), then a clean run: every record exists
 * exactly once and every op is done. */
static void test_crash_at_every_push_point_then_exactly_once(void **state)
{
    push_fixture *f = *state;
    static const char *const points[] = {"push.after_lease", "push.after_claim",
                                         "push.after_response", "push.before_result_commit",
                                         "push.after_result_commit"};
    for (size_t p = 0; p < sizeof points / sizeof *points; p++) {
        char **ids = make_cases(f, 3);
        sync_child(f, points[p]);
        sync_child(f, NULL);
        assert_exactly_once(f, ids, 3);
        push_fixture_free_ids(ids, 3);
        emu_reset(f->emu);
        fresh_database(f);
    }
}

/* Mixed workload: two records synced first, then 3 creates, an update and a delete. */
typedef struct mixed {
    char *synced[2];
    char **fresh;
} mixed;

static void mixed_setup(push_fixture *f, mixed *m)
{
    m->synced[0] = push_fixture_create(f, "Case", "{\"Subject\":\"to update\"}");
    m->synced[1] = push_fixture_create(f, "Case", "{\"Subject\":\"to delete\"}");
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    m->fresh = make_cases(f, 3);
    assert_int_equal(sfa_record_update(f->agent, "Case", m->synced[0], "{\"Status\":\"Working\"}"),
                     SFA_OK);
    assert_int_equal(sfa_record_delete(f->agent, "Case", m->synced[1]), SFA_OK);
}

static void mixed_check_and_free(push_fixture *f, mixed *m)
{
    for (int i = 0; i < 3; i++)
        assert_int_equal(push_fixture_count_key(f, "Case", m->fresh[i]), 1);
    assert_int_equal(push_fixture_count_key(f, "Case", m->synced[0]), 1);
    assert_int_equal(push_fixture_count_key(f, "Case", m->synced[1]), 0); /* deleted */
    assert_int_equal(emu_record_count(f->emu, "Case", false), 4);
    cJSON *all = emu_records(f->emu, "Case", false);
    const cJSON *r;
    cJSON_ArrayForEach(r, all)
    {
        const char *key = json_str(r, "Sync_Key__c");
        if (key && strcmp(key, m->synced[0]) == 0)
            assert_string_equal(json_str(r, "Status"), "Working");
    }
    cJSON_Delete(all);
    sfa_outbox_stats st;
    assert_int_equal(sfa_outbox_stats_get(&st, f->agent), SFA_OK);
    assert_int_equal(st.pending + st.inflight + st.dead + st.conflict, 0);
    push_fixture_free_ids(m->fresh, 3);
    free(m->synced[0]);
    free(m->synced[1]);
}

/* Every pass through every push crash point of a mixed run (enumerated with
 * SFA_CRASH_COUNT), crashed and recovered: each record exactly once, the update and the
 * delete applied, nothing left open. */
static void test_crash_enumeration_mixed_workload(void **state)
{
    push_fixture *f = *state;
    char *count_file = xasprintf("%s/crash-count", f->dir);
    mixed m;
    mixed_setup(f, &m);
    assert_int_equal(push_fixture_run_helper_env(f, "SFA_CRASH_COUNT", count_file), 0);
    mixed_check_and_free(f, &m);
    /* Distinct (point, n) pairs of the push engine in the counted run. */
    FILE *cf = fopen(count_file, "r");
    assert_non_null(cf);
    char names[64][128];
    int counts[64] = {0}, npoints = 0;
    char line[128];
    while (fgets(line, sizeof line, cf)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "push.", 5) != 0)
            continue;
        int k = 0;
        while (k < npoints && strcmp(names[k], line) != 0)
            k++;
        if (k == npoints && npoints < 64)
            snprintf(names[npoints++], sizeof names[0], "%s", line);
        if (k < 64)
            counts[k]++;
    }
    fclose(cf);
    unlink(count_file);
    assert_true(npoints >= 5);
    int tried = 0;
    for (int k = 0; k < npoints; k++) {
        for (int n = 1; n <= counts[k]; n++) {
            emu_reset(f->emu);
            fresh_database(f);
            mixed_setup(f, &m);
            char *at = xasprintf("%s:%d", names[k], n);
            assert_int_equal(push_fixture_run_helper(f, at), SFA_CRASH_EXIT_CODE);
            free(at);
            assert_int_equal(push_fixture_run_helper(f, NULL), 0);
            mixed_check_and_free(f, &m);
            tried++;
        }
    }
    if (getenv("SFA_TEST_VERBOSE"))
        fprintf(stderr, "crash enumeration: %d (point, pass) pairs over %d points\n", tried,
                npoints);
    assert_true(tried >= 8);
    free(count_file);
}

/* A crash during start-up resolution: the inflight ops are resolved by the run after. */
static void test_crash_during_resolution_then_exactly_once(void **state)
{
    push_fixture *f = *state;
    char **ids = make_cases(f, 3);
    sync_child(f, "push.before_result_commit"); /* leaves 3 ops inflight, applied */
    sync_child(f, "push.resolve");
    sync_child(f, NULL);
    assert_exactly_once(f, ids, 3);
    push_fixture_free_ids(ids, 3);
}

static void test_transient_503_backs_off_then_completes(void **state)
{
    push_fixture *f = *state;
    char **ids = make_cases(f, 2);
    emu_fault fault = EMU_FAULT_INIT;
    fault.kind = EMU_FAULT_STATUS;
    fault.status = 503;
    fault.error_code = "SERVER_UNAVAILABLE";
    fault.message = "Server too busy";
    fault.path_pattern = "/services/data/*/composite";
    fault.count = 1;
    assert_true(emu_fault_add(f->emu, &fault) > 0);
    int64_t t0 = time_now_ms();
    sfa_sync_report rep;
    sfa_status rc = push_fixture_sync(f, &rep);
    assert_int_equal(rc, SFA_ERETRY);
    assert_int_equal(rep.retried, 2);
    sfa_op *op = push_fixture_first_op(f, ids[0]);
    assert_int_equal(op->state, SFA_OP_STATE_PENDING);
    assert_int_equal(op->attempts, 1);
    assert_string_equal(op->last_error_code, "SERVER_UNAVAILABLE");
    assert_true(op->next_attempt_at_ms >= t0);
    assert_true(op->next_attempt_at_ms <= time_now_ms() + 2000); /* base 1 s, attempt 0 */
    sfa_op_free(op);
    assert_int_equal(push_fixture_converge(f, 5, &rep), SFA_OK);
    assert_exactly_once(f, ids, 2);
    push_fixture_free_ids(ids, 2);
}

static void test_lost_answer_never_duplicates(void **state)
{
    push_fixture *f = *state;
    char **ids = make_cases(f, 5);
    emu_fault fault = EMU_FAULT_INIT;
    fault.kind = EMU_FAULT_DROP_AFTER;
    fault.path_pattern = "/services/data/*/composite";
    fault.count = 2;
    assert_true(emu_fault_add(f->emu, &fault) > 0);
    sfa_sync_report rep;
    for (int run = 0; run < 4; run++)
        push_fixture_converge(f, 3, &rep);
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_true(emu_faults_fired(f->emu) >= 1);
    assert_exactly_once(f, ids, 5);
    /* CaseNumbers reached the mirror through the resolution query. */
    sfa_record *r = push_fixture_record(f, "Case", ids[0]);
    assert_non_null(r->case_number);
    sfa_record_free(r);
    push_fixture_free_ids(ids, 5);
}

static void test_not_sent_keeps_attempts_and_retries_later(void **state)
{
    push_fixture *f = *state;
    char **ids = make_cases(f, 2);
    unsigned short port = emu_port(f->emu);
    char *url = xstrdup(emu_base_url(f->emu));
    emu_stop(f->emu);
    f->emu = NULL;
    sfa_sync_report rep;
    sfa_sync_options o = SFA_SYNC_OPTIONS_INIT;
    sfa_status rc = sfa_sync_run(&rep, f->agent, f->cfg, &o);
    assert_int_equal(rc, SFA_ERETRY);
    sfa_op *op = push_fixture_first_op(f, ids[0]);
    assert_int_equal(op->state, SFA_OP_STATE_PENDING);
    assert_int_equal(op->attempts, 0);
    sfa_op_free(op);
    /* A run-level backoff is stored: the next scheduled run does not even try. */
    rc = sfa_sync_run(&rep, f->agent, f->cfg, &o);
    assert_int_equal(rc, SFA_ERETRY);
    assert_non_null(strstr(rep.message, "backing off"));
    assert_int_equal(rep.api_calls, 0);
    emu_options eo = EMU_OPTIONS_INIT;
    eo.port = port;
    assert_int_equal(emu_start(&f->emu, &eo), 0);
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_exactly_once(f, ids, 2);
    free(url);
    push_fixture_free_ids(ids, 2);
}

static void test_limit_exceeded_pauses_without_attempts(void **state)
{
    push_fixture *f = *state;
    char **ids = make_cases(f, 2);
    emu_fault fault = EMU_FAULT_INIT;
    fault.kind = EMU_FAULT_LIMIT;
    fault.path_pattern = "/services/data/*/composite";
    fault.count = 1;
    assert_true(emu_fault_add(f->emu, &fault) > 0);
    sfa_sync_report rep;
    sfa_status rc = push_fixture_sync(f, &rep);
    assert_int_equal(rc, SFA_ELIMIT);
    sfa_op *op = push_fixture_first_op(f, ids[0]);
    assert_int_equal(op->state, SFA_OP_STATE_PENDING);
    assert_int_equal(op->attempts, 0);
    sfa_op_free(op);
    int64_t until = 0;
    assert_int_equal(store_pause_get(f->agent, &until, NULL, NULL), SFA_OK);
    assert_true(until > time_now_ms());
    emu_faults_clear(f->emu);
    emu_set_api_limit(f->emu, 1000000);
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_exactly_once(f, ids, 2);
    push_fixture_free_ids(ids, 2);
}

static void test_api_share_stops_pushing(void **state)
{
    push_fixture *f = *state;
    char **ids = make_cases(f, 1600);
    sfa_config_free(f->cfg);
    f->cfg = push_fixture_config(emu_base_url(f->emu), "api_limit_share = 0.5\n");
    /* After the first batch (800 creates) 1 of 2 requests is used: half, so the run stops there. */
    emu_set_api_limit(f->emu, 2);
    sfa_sync_report rep;
    sfa_status rc = push_fixture_sync(f, &rep);
    assert_int_equal(rc, SFA_ELIMIT);
    assert_non_null(strstr(rep.message, "api_limit_share"));
    assert_int_equal(emu_record_count(f->emu, "Case", false), 800);
    assert_int_equal(rep.pending_left, 800);
    int64_t until = 0;
    assert_int_equal(store_pause_get(f->agent, &until, NULL, NULL), SFA_OK);
    assert_true(until > time_now_ms()); /* scheduled runs wait instead of probing */
    sfa_op *op = push_fixture_first_op(f, ids[1599]);
    assert_int_equal(op->state, SFA_OP_STATE_PENDING);
    assert_int_equal(op->attempts, 0);
    sfa_op_free(op);
    push_fixture_free_ids(ids, 1600);
}

static void test_second_run_is_busy_and_sends_nothing(void **state)
{
    push_fixture *f = *state;
    char **ids = make_cases(f, 2);
    sfa_agent *other = NULL;
    sfa_open_options oo = SFA_OPEN_OPTIONS_INIT;
    assert_int_equal(sfa_agent_open(&other, f->db_path, &oo), SFA_OK);
    assert_int_equal(store_lease_acquire(other, "run-other", 60000), SFA_OK);
    sfa_sync_report rep;
    sfa_status rc = push_fixture_sync(f, &rep);
    assert_int_equal(rc, SFA_EBUSY);
    assert_non_null(strstr(rep.message, "another sync is running (pid"));
    assert_int_equal(emu_request_count(f->emu, NULL, NULL), 0);
    /* Released: the next run goes ahead. */
    store_lease_release(other, "run-other");
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    /* An expired lease of a crashed run is taken over. */
    assert_int_equal(store_lease_acquire(other, "run-dead", -1), SFA_OK);
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    sfa_agent_free(other);
    assert_exactly_once(f, ids, 2);
    push_fixture_free_ids(ids, 2);
}

/* I6 of store/op_sync.c: a local edit folded into a pending op between the engine's read and
 * its claim makes the claim fail, so the older fields are never sent as if final. */
static void test_claim_refuses_op_changed_since_read(void **state)
{
    push_fixture *f = *state;
    char **ids = make_cases(f, 1);
    store_op *ops = NULL;
    size_t n = 0;
    assert_int_equal(store_outbox_ready(f->agent, time_now_ms(), 0, 10, &ops, &n), SFA_OK);
    assert_int_equal(n, 1);
    /* The store folds this into the never-sent create. */
    assert_int_equal(sfa_record_update(f->agent, "Case", ids[0], "{\"Priority\":\"High\"}"),
                     SFA_OK);
    bool claimed = true;
    assert_int_equal(store_outbox_claim(f->agent, "run-test", ops, n, &claimed), SFA_OK);
    assert_false(claimed);
    store_ops_free(ops, n);
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    sfa_record *r = push_fixture_record(f, "Case", ids[0]);
    cJSON *s = emu_record_get(f->emu, r->sf_id);
    assert_string_equal(json_str(s, "Priority"), "High");
    cJSON_Delete(s);
    sfa_record_free(r);
    push_fixture_free_ids(ids, 1);
}

/* The answer is lost and the resolution query fails too: the ops stay inflight (never
 * re-sent blindly) and the next run resolves them. */
static void test_unresolved_unknown_waits_for_next_run(void **state)
{
    push_fixture *f = *state;
    char **ids = make_cases(f, 3);
    emu_fault drop = EMU_FAULT_INIT;
    drop.kind = EMU_FAULT_DROP_AFTER;
    drop.path_pattern = "/services/data/*/composite";
    drop.count = 1;
    assert_true(emu_fault_add(f->emu, &drop) > 0);
    emu_fault q = EMU_FAULT_INIT;
    q.kind = EMU_FAULT_DROP_BEFORE;
    q.path_pattern = "/services/data/*/query";
    q.count = 0; /* every query, including libcurl's own resend on a reused connection */
    assert_true(emu_fault_add(f->emu, &q) > 0);
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_ERETRY);
    assert_int_equal(rep.inflight_left, 3);
    sfa_op *op = push_fixture_first_op(f, ids[0]);
    assert_int_equal(op->state, SFA_OP_STATE_INFLIGHT);
    sfa_op_free(op);
    emu_faults_clear(f->emu);
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(rep.resolved, 3);
    assert_exactly_once(f, ids, 3);
    /* Resolved by the key query, not by sending the creates again. */
    assert_int_equal(emu_request_count(f->emu, "POST", "/services/data/*/composite"), 1);
    push_fixture_free_ids(ids, 3);
}

static void test_expired_session_is_renewed_transparently(void **state)
{
    push_fixture *f = *state;
    char **ids = make_cases(f, 2);
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    char *more = push_fixture_create(f, "Case", "{\"Subject\":\"after expiry\"}");
    emu_expire_tokens(f->emu);
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(push_fixture_count_key(f, "Case", more), 1);
    free(more);
    push_fixture_free_ids(ids, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crash_at_every_push_point_then_exactly_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_crash_during_resolution_then_exactly_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_crash_enumeration_mixed_workload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transient_503_backs_off_then_completes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lost_answer_never_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_sent_keeps_attempts_and_retries_later, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_limit_exceeded_pauses_without_attempts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_api_share_stops_pushing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_run_is_busy_and_sends_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_refuses_op_changed_since_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unresolved_unknown_waits_for_next_run, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_expired_session_is_renewed_transparently, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
