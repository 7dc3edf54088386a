/* Objects without the idempotency field, and `doctor`: plain creates, unknown outcomes
 * parked (never re-sent), and doctor's checks and fix text. The emulator declares
 * Sync_Key__c on every object, so these tests configure a key field no object has. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "push_fixture.h"
#include "util/alloc.h"
#include "util/json.h"

static int setup(void **state)
{
    return push_fixture_state_new(state, NULL, "idempotency_field = Agent_Key__c\n");
}

static int teardown(void **state)
{
    return push_fixture_state_free(state);
}

static void test_object_without_key_gets_plain_creates(void **state)
{
    push_fixture *f = *state;
    char *v = push_fixture_create(f, "Case", "{\"Subject\":\"Site visit\"}");
    assert_non_null(v);
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(rep.done, 1);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 1);
    sfa_record *r = push_fixture_record(f, "Case", v);
    assert_non_null(r->sf_id);
    sfa_record_free(r);
    /* The answer "no such field" was remembered: the next create goes straight to a
     * plain create (no upsert attempt first). */
    size_t upserts = emu_request_count(f->emu, "POST", "/services/data/*/composite");
    char *w = push_fixture_create(f, "Case", "{\"Subject\":\"Second visit\"}");
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(emu_request_count(f->emu, "POST", "/services/data/*/composite"), upserts);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 2);
    free(w);
    free(v);
}

static void test_unknown_outcome_without_key_is_parked_not_resent(void **state)
{
    push_fixture *f = *state;
    char *v = push_fixture_create(f, "Case", "{\"Subject\":\"first\"}");
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK); /* learns: no key field */
    char *w = push_fixture_create(f, "Case", "{\"Subject\":\"lost answer\"}");
    emu_fault fault = EMU_FAULT_INIT;
    fault.kind = EMU_FAULT_DROP_AFTER;
    fault.method = "POST";
    fault.path_pattern = "/services/data/*/composite/sobjects";
    fault.count = 1;
    assert_true(emu_fault_add(f->emu, &fault) > 0);
    assert_int_equal(push_fixture_sync(f, &rep), SFA_EPARTIAL);
    sfa_op *op = push_fixture_first_op(f, w);
    assert_int_equal(op->state, SFA_OP_STATE_DEAD);
    assert_string_equal(op->last_error_code, "UNKNOWN_OUTCOME");
    assert_non_null(strstr(op->last_error, "sfagent doctor"));
    sfa_op_free(op);
    /* Applied once by the emulator, and never sent again by later runs. */
    assert_int_equal(emu_record_count(f->emu, "Case", false), 2);
    push_fixture_sync(f, &rep);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 2);
    free(w);
    free(v);
}

static const sfa_doctor_check *find_check(const sfa_doctor_report *r, const char *name)
{
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->items[i].name, name) == 0)
            return &r->items[i];
    return NULL;
}

static void test_doctor_reports_missing_key_field_with_fix(void **state)
{
    push_fixture *f = *state;
    sfa_doctor_report r;
    assert_int_equal(sfa_doctor_run(&r, f->agent, f->cfg), SFA_ECONFIG);
    const sfa_doctor_check *c = find_check(&r, "login");
    assert_non_null(c);
    assert_true(c->ok);
    c = find_check(&r, "Case");
    assert_non_null(c);
    assert_true(c->ok); /* describe works */
    c = find_check(&r, "Case.Agent_Key__c");
    assert_non_null(c);
    assert_false(c->ok);
    assert_non_null(strstr(c->fix, "Object Manager > Case > Fields & Relationships"));
    assert_non_null(strstr(c->fix, "External ID"));
    assert_int_equal(r.dead_ops, 0);
    sfa_doctor_report_free(&r);
}

static void test_doctor_passes_on_a_good_setup(void **state)
{
    push_fixture *f = *state;
    sfa_config_free(f->cfg);
    f->cfg = push_fixture_config(emu_base_url(f->emu), "objects = Case,Contact\n");
    sfa_doctor_report r;
    assert_int_equal(sfa_doctor_run(&r, f->agent, f->cfg), SFA_OK);
    assert_true(r.count >= 5);
    for (size_t i = 0; i < r.count; i++)
        assert_true(r.items[i].ok);
    sfa_doctor_report_free(&r);
}

/* The first keyed upsert to an object without the key field loses its answer: the
 * query by the missing field is refused, which must not stop this and every later run;
 * the create cannot have been applied, so it is sent as a plain create. */
static void test_lost_first_upsert_on_missing_key_field_does_not_block(void **state)
{
    push_fixture *f = *state;
    char *v = push_fixture_create(f, "Case", "{\"Subject\":\"first, answer lost\"}");
    emu_fault fault = EMU_FAULT_INIT;
    fault.kind = EMU_FAULT_DROP_AFTER;
    fault.method = "POST";
    fault.path_pattern = "/services/data/*/composite";
    fault.count = 1;
    assert_true(emu_fault_add(f->emu, &fault) > 0);
    sfa_sync_report rep;
    assert_int_equal(push_fixture_converge(f, 6, &rep), SFA_OK);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 1);
    sfa_op *op = push_fixture_first_op(f, v);
    assert_int_equal(op->state, SFA_OP_STATE_DONE);
    sfa_op_free(op);
    free(v);
}

/* A describe that fails (500) while deciding whether the key field exists is scoped to
 * the object: the refused upsert's ops retry later, they are not made dead. */
static void test_failed_describe_retries_creates_not_dead(void **state)
{
    push_fixture *f = *state;
    char *v = push_fixture_create(f, "Case", "{\"Subject\":\"a\"}");
    char *w = push_fixture_create(f, "Case", "{\"Subject\":\"b\"}");
    emu_fault fault = EMU_FAULT_INIT;
    fault.kind = EMU_FAULT_STATUS;
    fault.method = "GET";
    fault.path_pattern = "/services/data/*/sobjects/Case/describe*";
    fault.status = 500;
    fault.count = 1;
    assert_true(emu_fault_add(f->emu, &fault) > 0);
    sfa_sync_report rep;
    push_fixture_sync(f, &rep);
    assert_int_equal(rep.dead, 0);
    assert_int_equal(push_fixture_converge(f, 6, &rep), SFA_OK);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 2);
    free(w);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lost_first_upsert_on_missing_key_field_does_not_block,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_describe_retries_creates_not_dead, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_object_without_key_gets_plain_creates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_outcome_without_key_is_parked_not_resent,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_doctor_reports_missing_key_field_with_fix, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_doctor_passes_on_a_good_setup, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
