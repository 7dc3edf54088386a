/* Batch sizes of updates and deletes (docs/sync-protocol.md#batching): 800 updates cost one
 * Collections retrieve with a request body (the conflict check) and one composite of four
 * PATCHes plus the read-back; 1,000 deletes cost one composite of five Collections deletes;
 * a record error inside a big batch fails that record alone. Exactly-once under faults at
 * these sizes is also test_matrix's (its mixed column has 250 updates and 250 deletes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "push_fixture.h"
#include "sfagent/record.h"
#include "util/alloc.h"
#include "util/json.h"

#define RETRIEVE  "/services/data/*/composite/sobjects/Case"
#define COMPOSITE "/services/data/*/composite"

static int setup(void **state)
{
    return push_fixture_state_new(state, NULL, "api_limit_share = 1\n");
}

static int teardown(void **state)
{
    return push_fixture_state_free(state);
}

/* n Cases created and synced; their local ids. */
static char **synced_cases(push_fixture *f, int n)
{
    char **ids = xcalloc((size_t)n, sizeof *ids);
    for (int i = 0; i < n; i++) {
        ids[i] = push_fixture_create(f, "Case", "{\"Subject\":\"batch\"}");
        assert_non_null(ids[i]);
    }
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    return ids;
}

static void test_800_updates_cost_two_calls(void **state)
{
    push_fixture *f = *state;
    char **ids = synced_cases(f, 800);
    for (int i = 0; i < 800; i++)
        assert_int_equal(sfa_record_update(f->agent, "Case", ids[i], "{\"Status\":\"Working\"}"),
                         SFA_OK);
    size_t retrieves = emu_request_count(f->emu, "POST", RETRIEVE);
    size_t composites = emu_request_count(f->emu, "POST", COMPOSITE);
    size_t all = emu_request_count(f->emu, NULL, "/services/data/*");
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(rep.done, 800);
    assert_int_equal(emu_request_count(f->emu, "POST", RETRIEVE) - retrieves, 1);
    assert_int_equal(emu_request_count(f->emu, "POST", COMPOSITE) - composites, 1);
    assert_int_equal(emu_request_count(f->emu, NULL, "/services/data/*") - all, 2);
    for (int i = 0; i < 800; i += 199) { /* every PATCH of the four reached Salesforce */
        sfa_record *r = push_fixture_record(f, "Case", ids[i]);
        assert_non_null(r);
        cJSON *server = emu_record_get(f->emu, r->sf_id);
        assert_string_equal(json_str(server, "Status"), "Working");
        cJSON_Delete(server);
        sfa_record_free(r);
    }
    push_fixture_free_ids(ids, 800);
}

static void test_1000_deletes_cost_one_call(void **state)
{
    push_fixture *f = *state;
    char **ids = synced_cases(f, 1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(sfa_record_delete(f->agent, "Case", ids[i]), SFA_OK);
    size_t all = emu_request_count(f->emu, NULL, "/services/data/*");
    size_t composites = emu_request_count(f->emu, "POST", COMPOSITE);
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(rep.done, 1000);
    assert_int_equal(emu_request_count(f->emu, NULL, "/services/data/*") - all, 1);
    assert_int_equal(emu_request_count(f->emu, "POST", COMPOSITE) - composites, 1);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 0);
    push_fixture_free_ids(ids, 1000);
}

/* A lock error on one record of the 1,000 fails that record's op alone (retried), and the
 * next run deletes it: nothing else is re-sent, nothing is deleted twice. */
static void test_record_error_in_a_big_delete_batch(void **state)
{
    push_fixture *f = *state;
    char **ids = synced_cases(f, 1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(sfa_record_delete(f->agent, "Case", ids[i]), SFA_OK);
    emu_fault fault = EMU_FAULT_INIT;
    fault.kind = EMU_FAULT_RECORD_ERROR;
    fault.path_pattern = COMPOSITE;
    fault.count = 1;
    fault.record_index = 3;
    fault.error_code = "UNABLE_TO_LOCK_ROW";
    fault.message = "unable to obtain exclusive access to this record";
    assert_true(emu_fault_add(f->emu, &fault) > 0);
    sfa_sync_report rep;
    sfa_status rc = push_fixture_sync(f, &rep);
    assert_true(rc == SFA_ERETRY);
    assert_true(rep.done >= 995 && rep.done < 1000);
    assert_true(rep.retried >= 1000 - rep.done); /* a retry due at once may finish too */
    assert_int_equal(emu_record_count(f->emu, "Case", false), 1000 - rep.done);
    emu_faults_clear(f->emu);
    /* Backoffs are jittered: converging makes the earliest due op due, one per run. */
    assert_int_equal(push_fixture_converge(f, 12, &rep), SFA_OK);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 0);
    push_fixture_free_ids(ids, 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_800_updates_cost_two_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_1000_deletes_cost_one_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_error_in_a_big_delete_batch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
