/* The push engine against the in-process emulator: creates, updates and deletes reach
 * Salesforce; CaseNumbers are reconciled into the mirror; API calls per batch; per-record
 * failures; references between records created offline; conflict policies; reruns; request
 * bodies over [sync] compress_min_bytes go gzip-compressed and arrive intact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "push_fixture.h"
#include "util/alloc.h"
#include "util/json.h"

static int setup(void **state)
{
    return push_fixture_state_new(state, NULL, NULL);
}

static int setup_manual(void **state)
{
    return push_fixture_state_new(state, NULL, "conflict_policy = manual\n");
}

static int setup_server_wins(void **state)
{
    return push_fixture_state_new(state, NULL, "conflict_policy = server-wins\n");
}

static int setup_plain(void **state)
{
    return push_fixture_state_new(state, NULL, "compress_min_bytes = 0\n");
}

static int teardown(void **state)
{
    return push_fixture_state_free(state);
}

static cJSON *server_record(push_fixture *f, const char *local_id, const char *sobject)
{
    sfa_record *r = push_fixture_record(f, sobject, local_id);
    assert_non_null(r);
    assert_non_null(r->sf_id);
    cJSON *s = emu_record_get(f->emu, r->sf_id);
    sfa_record_free(r);
    return s;
}

static void test_creates_reach_server_and_case_number_is_reconciled(void **state)
{
    push_fixture *f = *state;
    char *a = push_fixture_create(f, "Case", "{\"Subject\":\"Printer jams\",\"Origin\":\"Web\"}");
    char *b = push_fixture_create(f, "Case", "{\"Subject\":\"Screen dark\"}");
    assert_non_null(a);
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(rep.done, 2);
    assert_int_equal(rep.dead, 0);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 2);
    assert_int_equal(push_fixture_count_key(f, "Case", a), 1);
    sfa_record *r = push_fixture_record(f, "Case", a);
    assert_non_null(r);
    assert_non_null(r->sf_id);
    assert_non_null(r->case_number);
    assert_non_null(r->sys_modstamp);
    assert_false(r->dirty);
    /* The first CaseNumber the emulator hands out; found through the mirror. */
    sfa_record *byno = push_fixture_record(f, "Case", "00001000");
    assert_non_null(byno);
    assert_string_equal(byno->local_id, a);
    cJSON *s = emu_record_get(f->emu, r->sf_id);
    assert_string_equal(json_str(s, "Subject"), "Printer jams");
    assert_string_equal(json_str(s, "CaseNumber"), r->case_number);
    /* A server-defaulted field (Status) reaches the local view with the read-back. */
    cJSON *local = cJSON_Parse(r->fields_json);
    assert_non_null(json_str(s, "Status"));
    assert_string_equal(json_str(local, "Status"), json_str(s, "Status"));
    cJSON_Delete(local);
    cJSON_Delete(s);
    sfa_op *op = push_fixture_first_op(f, b);
    assert_int_equal(op->state, SFA_OP_STATE_DONE);
    sfa_op_free(op);
    sfa_record_free(byno);
    sfa_record_free(r);
    free(a);
    free(b);
}

static void test_one_api_call_per_800_creates(void **state)
{
    push_fixture *f = *state;
    for (int i = 0; i < 1000; i++) {
        char *id = push_fixture_create(f, "Case", "{\"Subject\":\"bulk\"}");
        assert_non_null(id);
        free(id);
    }
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(rep.done, 1000);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 1000);
    /* Two composite calls (800: four upserts + one query; 200: one upsert + one query)
     * and one token request. */
    assert_int_equal(emu_request_count(f->emu, NULL, "/services/data/*"), 2);
    assert_true(rep.api_calls <= 3);
    sfa_record_array list = {0};
    sfa_list_options lo = SFA_LIST_OPTIONS_INIT;
    assert_int_equal(sfa_record_list(&list, f->agent, "Case", &lo), SFA_OK);
    for (size_t i = 0; i < list.count; i++)
        assert_non_null(list.items[i].case_number);
    sfa_record_array_free(&list);
}

static void test_two_api_calls_per_200_updates_one_per_200_deletes(void **state)
{
    push_fixture *f = *state;
    char *ids[200];
    for (int i = 0; i < 200; i++)
        ids[i] = push_fixture_create(f, "Case", "{\"Subject\":\"bulk\"}");
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    for (int i = 0; i < 200; i++)
        assert_int_equal(sfa_record_update(f->agent, "Case", ids[i], "{\"Status\":\"Working\"}"),
                         SFA_OK);
    size_t before = emu_request_count(f->emu, NULL, "/services/data/*");
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(rep.done, 200);
    /* The conflict check (collections retrieve), then PATCH + read-back in one composite. */
    assert_int_equal(emu_request_count(f->emu, NULL, "/services/data/*") - before, 2);
    for (int i = 0; i < 200; i++)
        assert_int_equal(sfa_record_delete(f->agent, "Case", ids[i]), SFA_OK);
    before = emu_request_count(f->emu, NULL, "/services/data/*");
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(emu_request_count(f->emu, NULL, "/services/data/*") - before, 1);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 0);
    for (int i = 0; i < 200; i++)
        free(ids[i]);
}

static void test_record_failure_is_dead_with_code_others_done(void **state)
{
    push_fixture *f = *state;
    char *ids[3];
    for (int i = 0; i < 3; i++)
        ids[i] = push_fixture_create(f, "Case", "{\"Subject\":\"x\"}");
    emu_fault fault = EMU_FAULT_INIT;
    fault.kind = EMU_FAULT_RECORD_ERROR;
    fault.record_index = 1;
    fault.error_code = "FIELD_CUSTOM_VALIDATION_EXCEPTION";
    fault.message = "Subject must say what broke";
    fault.path_pattern = "/services/data/*/composite";
    fault.count = 1;
    assert_true(emu_fault_add(f->emu, &fault) > 0);
    sfa_sync_report rep;
    sfa_status rc = push_fixture_sync(f, &rep);
    assert_int_equal(rc, SFA_EPARTIAL);
    assert_int_equal(rep.done, 2);
    assert_int_equal(rep.dead, 1);
    sfa_op *op = push_fixture_first_op(f, ids[1]);
    assert_int_equal(op->state, SFA_OP_STATE_DEAD);
    assert_string_equal(op->last_error_code, "FIELD_CUSTOM_VALIDATION_EXCEPTION");
    assert_non_null(strstr(op->last_error, "Subject must say"));
    sfa_op_free(op);
    op = push_fixture_first_op(f, ids[2]);
    assert_int_equal(op->state, SFA_OP_STATE_DONE);
    sfa_op_free(op);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 2);
    for (int i = 0; i < 3; i++)
        free(ids[i]);
}

static void test_child_reference_rewritten_after_parent_created(void **state)
{
    push_fixture *f = *state;
    char *contact = push_fixture_create(f, "Contact", "{\"LastName\":\"Okafor\"}");
    char *json = xasprintf("{\"Subject\":\"Call back\",\"ContactId\":\"%s\"}", contact);
    char *kase = push_fixture_create(f, "Case", json);
    assert_non_null(kase);
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(rep.done, 2);
    sfa_record *c = push_fixture_record(f, "Contact", contact);
    cJSON *s = server_record(f, kase, "Case");
    assert_string_equal(json_str(s, "ContactId"), c->sf_id);
    /* The local view follows: the child's mirror row now holds the parent's Id too. */
    sfa_record *k = push_fixture_record(f, "Case", kase);
    cJSON *kf = cJSON_Parse(k->fields_json);
    assert_string_equal(json_str(kf, "ContactId"), c->sf_id);
    cJSON_Delete(kf);
    sfa_record_free(k);
    cJSON_Delete(s);
    sfa_record_free(c);
    free(json);
    free(kase);
    free(contact);
}

static void test_dead_parent_parks_child_with_reason(void **state)
{
    push_fixture *f = *state;
    char *contact = push_fixture_create(f, "Contact", "{\"LastName\":\"Okafor\"}");
    char *json = xasprintf("{\"Subject\":\"Call back\",\"ContactId\":\"%s\"}", contact);
    char *kase = push_fixture_create(f, "Case", json);
    assert_non_null(kase);
    emu_fault fault = EMU_FAULT_INIT;
    fault.kind = EMU_FAULT_RECORD_ERROR;
    fault.record_index = -1;
    fault.error_code = "INVALID_EMAIL_ADDRESS";
    fault.message = "Email: invalid email address: nope";
    fault.path_pattern = "/services/data/*/composite";
    fault.count = 1;
    assert_true(emu_fault_add(f->emu, &fault) > 0);
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_EPARTIAL);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 0);
    sfa_op *op = push_fixture_first_op(f, kase);
    assert_int_equal(op->state, SFA_OP_STATE_PENDING);
    assert_string_equal(op->last_error_code, "PARENT_NOT_SYNCED");
    assert_non_null(strstr(op->last_error, contact));
    assert_non_null(strstr(op->last_error, "INVALID_EMAIL_ADDRESS"));
    sfa_op_free(op);
    /* Still parked on the next run: never sent with a dangling id. */
    assert_int_equal(push_fixture_sync(f, &rep), SFA_EPARTIAL);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 0);
    free(json);
    free(kase);
    free(contact);
}

static void test_updates_and_deletes_reach_server(void **state)
{
    push_fixture *f = *state;
    char *a = push_fixture_create(f, "Case", "{\"Subject\":\"Printer jams\"}");
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(sfa_record_update(f->agent, "Case", a, "{\"Status\":\"Working\"}"), SFA_OK);
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(rep.done, 1);
    cJSON *s = server_record(f, a, "Case");
    assert_string_equal(json_str(s, "Status"), "Working");
    assert_string_equal(json_str(s, "Subject"), "Printer jams");
    sfa_record *r = push_fixture_record(f, "Case", a);
    assert_string_equal(r->sys_modstamp, json_str(s, "SystemModstamp"));
    assert_false(r->dirty);
    cJSON_Delete(s);
    char *sf_id = xstrdup(r->sf_id);
    sfa_record_free(r);
    assert_int_equal(sfa_record_delete(f->agent, "Case", a), SFA_OK);
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(emu_record_count(f->emu, "Case", false), 0);
    assert_int_equal(emu_record_count(f->emu, "Case", true), 1);
    free(sf_id);
    free(a);
}

static void test_rerun_sends_no_mutating_request(void **state)
{
    push_fixture *f = *state;
    char *a = push_fixture_create(f, "Case", "{\"Subject\":\"once\"}");
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    size_t before = push_fixture_mutations(f);
    assert_true(before > 0);
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(rep.sent, 0);
    assert_int_equal(push_fixture_mutations(f), before);
    assert_int_equal(push_fixture_count_key(f, "Case", a), 1);
    free(a);
}

static void test_update_of_record_deleted_on_server_is_dead(void **state)
{
    push_fixture *f = *state;
    char *a = push_fixture_create(f, "Case", "{\"Subject\":\"soon gone\"}");
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    sfa_record *r = push_fixture_record(f, "Case", a);
    assert_int_equal(emu_record_remove(f->emu, r->sf_id), 0);
    sfa_record_free(r);
    assert_int_equal(sfa_record_update(f->agent, "Case", a, "{\"Status\":\"Working\"}"), SFA_OK);
    assert_int_equal(push_fixture_sync(f, &rep), SFA_EPARTIAL);
    sfa_op_array dead = {0};
    assert_int_equal(sfa_outbox_list(&dead, f->agent, SFA_OP_STATE_BIT(SFA_OP_STATE_DEAD), 0),
                     SFA_OK);
    assert_int_equal(dead.count, 1);
    assert_string_equal(dead.items[0].last_error_code, "ENTITY_IS_DELETED");
    sfa_op_array_free(&dead);
    free(a);
}

static void test_delete_of_record_already_gone_is_done(void **state)
{
    push_fixture *f = *state;
    char *a = push_fixture_create(f, "Case", "{\"Subject\":\"deleted twice\"}");
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    sfa_record *r = push_fixture_record(f, "Case", a);
    assert_int_equal(emu_record_remove(f->emu, r->sf_id), 0);
    sfa_record_free(r);
    assert_int_equal(sfa_record_delete(f->agent, "Case", a), SFA_OK);
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(rep.done, 1);
    free(a);
}

/* Create + sync, then the same field changed on Salesforce and locally. */
static char *make_conflict(push_fixture *f, const char *server_value, const char *local_value)
{
    char *a = push_fixture_create(f, "Case", "{\"Subject\":\"original\"}");
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    sfa_record *r = push_fixture_record(f, "Case", a);
    cJSON *edit = cJSON_CreateObject();
    cJSON_AddStringToObject(edit, "Subject", server_value);
    assert_int_equal(emu_record_edit(f->emu, r->sf_id, edit), 0);
    cJSON_Delete(edit);
    sfa_record_free(r);
    char *json = xasprintf("{\"Subject\":\"%s\"}", local_value);
    assert_int_equal(sfa_record_update(f->agent, "Case", a, json), SFA_OK);
    free(json);
    return a;
}

static void test_conflict_local_wins_sends_and_logs(void **state)
{
    push_fixture *f = *state;
    char *a = make_conflict(f, "server text", "local text");
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(rep.conflicts_logged, 1);
    cJSON *s = server_record(f, a, "Case");
    assert_string_equal(json_str(s, "Subject"), "local text");
    cJSON_Delete(s);
    free(a);
}

static void test_conflict_server_wins_keeps_server_value(void **state)
{
    push_fixture *f = *state;
    char *a = make_conflict(f, "server text", "local text");
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(rep.conflicts_logged, 1);
    cJSON *s = server_record(f, a, "Case");
    assert_string_equal(json_str(s, "Subject"), "server text");
    cJSON_Delete(s);
    sfa_record *r = push_fixture_record(f, "Case", a);
    cJSON *fields = cJSON_Parse(r->fields_json);
    assert_string_equal(json_str(fields, "Subject"), "server text");
    cJSON_Delete(fields);
    sfa_record_free(r);
    free(a);
}

static void test_conflict_manual_parks_then_retry_sends_local(void **state)
{
    push_fixture *f = *state;
    char *a = make_conflict(f, "server text", "local text");
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_EPARTIAL);
    assert_int_equal(rep.conflict, 1);
    sfa_op_array list = {0};
    assert_int_equal(sfa_outbox_list(&list, f->agent, SFA_OP_STATE_BIT(SFA_OP_STATE_CONFLICT), 0),
                     SFA_OK);
    assert_int_equal(list.count, 1);
    assert_string_equal(list.items[0].last_error_code, "CONFLICT");
    assert_non_null(strstr(list.items[0].last_error, "server text"));
    cJSON *s = server_record(f, a, "Case");
    assert_string_equal(json_str(s, "Subject"), "server text");
    cJSON_Delete(s);
    assert_int_equal(sfa_outbox_retry(f->agent, list.items[0].op_id), SFA_OK);
    sfa_op_array_free(&list);
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    s = server_record(f, a, "Case");
    assert_string_equal(json_str(s, "Subject"), "local text");
    cJSON_Delete(s);
    free(a);
}

/* The Content-Encoding of each composite POST the emulator logged, in order ("" none). */
static size_t composite_encodings(push_fixture *f, const char **out, size_t max)
{
    cJSON *log = emu_request_log(f->emu);
    size_t n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, log)
    {
        const char *path = json_str(it, "path");
        if (n < max && strcmp(json_str(it, "method"), "POST") == 0 && path &&
            strstr(path, "/composite")) {
            const char *enc = json_str(it, "contentEncoding");
            out[n++] = enc && strcmp(enc, "gzip") == 0 ? "gzip" : "";
        }
    }
    cJSON_Delete(log);
    return n;
}

static char **create_cases(push_fixture *f, size_t n)
{
    char **ids = xcalloc(n, sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        char *json = xasprintf("{\"Subject\":\"gzip case %zu \\u00fc\",\"Origin\":\"Web\"}", i);
        ids[i] = push_fixture_create(f, "Case", json);
        assert_non_null(ids[i]);
        free(json);
    }
    return ids;
}

static void check_arrived(push_fixture *f, char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cJSON *s = server_record(f, ids[i], "Case");
        char *want = xasprintf("gzip case %zu \xc3\xbc", i);
        assert_string_equal(json_str(s, "Subject"), want);
        assert_string_equal(json_str(s, "Origin"), "Web");
        free(want);
        cJSON_Delete(s);
        free(ids[i]);
    }
    free(ids);
}

static void test_large_request_bodies_go_gzip_and_arrive_intact(void **state)
{
    push_fixture *f = *state;
    char **one = create_cases(f, 1); /* a body under 1 KB: sent as it is */
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    check_arrived(f, one, 1);
    char **ids = create_cases(f, 50);
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(rep.done, 50);
    check_arrived(f, ids, 50);
    const char *enc[8];
    assert_int_equal(composite_encodings(f, enc, 8), 2);
    assert_string_equal(enc[0], "");
    assert_string_equal(enc[1], "gzip");
    /* Wire bytes are reported, and the compressed body is far smaller than the text. */
    assert_true(rep.bytes_sent > 0 && rep.bytes_received > 0);
    assert_true(rep.bytes_sent < 50 * 60);
}

static void test_compression_off_sends_plain_bodies(void **state)
{
    push_fixture *f = *state;
    char **ids = create_cases(f, 50);
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    check_arrived(f, ids, 50);
    const char *enc[8];
    assert_int_equal(composite_encodings(f, enc, 8), 1);
    assert_string_equal(enc[0], "");
    assert_true(rep.bytes_sent > 50 * 100); /* ~170 bytes of JSON per Case */
    /* A body libcurl sends apart from the headers (800 Cases, ~140 KB) is counted too. */
    char **many = create_cases(f, 800);
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(rep.done, 800);
    assert_true(rep.bytes_sent > 800 * 100);
    for (int i = 0; i < 800; i++)
        free(many[i]);
    free(many);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_creates_reach_server_and_case_number_is_reconciled,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_api_call_per_800_creates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_api_calls_per_200_updates_one_per_200_deletes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_failure_is_dead_with_code_others_done, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_child_reference_rewritten_after_parent_created, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dead_parent_parks_child_with_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_updates_and_deletes_reach_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rerun_sends_no_mutating_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_of_record_deleted_on_server_is_dead, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_delete_of_record_already_gone_is_done, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_conflict_local_wins_sends_and_logs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_request_bodies_go_gzip_and_arrive_intact, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_compression_off_sends_plain_bodies, setup_plain,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_conflict_server_wins_keeps_server_value,
                                        setup_server_wins, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_manual_parks_then_retry_sends_local,
                                        setup_manual, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
