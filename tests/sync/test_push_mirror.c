/* After a push, the mirror holds what Salesforce holds: conflict policies that keep the
 * server's value keep it locally too, a record's own idempotency key is never taken for a
 * reference, and a server edit in the same second as the edit's base is still a conflict
 * (SystemModstamp has one-second resolution on Salesforce). */
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
#include "util/timeutil.h"

static int setup_with(void **state, const char *sync_extra)
{
    return push_fixture_state_new(state, NULL, sync_extra);
}

static int setup(void **state)
{
    return setup_with(state, NULL);
}

static int setup_server_wins(void **state)
{
    return setup_with(state, "conflict_policy = server-wins\n");
}

static int setup_manual(void **state)
{
    return setup_with(state, "conflict_policy = manual\n");
}

static int teardown(void **state)
{
    return push_fixture_state_free(state);
}

/* The mirror's local view of a record (caller frees), and its Salesforce record. */
static cJSON *local_fields(push_fixture *f, const char *local_id)
{
    sfa_record *r = push_fixture_record(f, "Case", local_id);
    assert_non_null(r);
    cJSON *fields = cJSON_Parse(r->fields_json);
    sfa_record_free(r);
    assert_non_null(fields);
    return fields;
}

static cJSON *server_record(push_fixture *f, const char *local_id)
{
    sfa_record *r = push_fixture_record(f, "Case", local_id);
    assert_non_null(r);
    assert_non_null(r->sf_id);
    cJSON *s = emu_record_get(f->emu, r->sf_id);
    sfa_record_free(r);
    assert_non_null(s);
    return s;
}

static void server_edit(push_fixture *f, const char *local_id, const char *json)
{
    sfa_record *r = push_fixture_record(f, "Case", local_id);
    cJSON *edit = cJSON_Parse(json);
    assert_int_equal(emu_record_edit(f->emu, r->sf_id, edit), 0);
    cJSON_Delete(edit);
    sfa_record_free(r);
}

/* Every field the local view holds that Salesforce also has must be equal. */
static void assert_mirror_matches_server(push_fixture *f, const char *local_id)
{
    cJSON *mine = local_fields(f, local_id);
    cJSON *theirs = server_record(f, local_id);
    const cJSON *v;
    cJSON_ArrayForEach(v, mine)
    {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(theirs, v->string);
        if (!s)
            continue;
        if (!cJSON_Compare(v, s, true)) {
            char *a = cJSON_PrintUnformatted(v), *b = cJSON_PrintUnformatted(s);
            fail_msg("%s: mirror has %s, Salesforce has %s", v->string, a, b);
        }
    }
    cJSON_Delete(theirs);
    cJSON_Delete(mine);
}

/* server-wins drops only the conflicting field; the mirror must show the server's value
 * of that field, not the losing local one, once the rest of the edit is sent. */
static void test_server_wins_partial_keeps_server_value_in_mirror(void **state)
{
    push_fixture *f = *state;
    char *a = push_fixture_create(f, "Case", "{\"Subject\":\"original\",\"Status\":\"New\"}");
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    server_edit(f, a, "{\"Status\":\"Working\"}");
    assert_int_equal(
        sfa_record_update(f->agent, "Case", a, "{\"Subject\":\"mine\",\"Status\":\"Escalated\"}"),
        SFA_OK);
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(rep.conflicts_logged, 1);
    cJSON *s = server_record(f, a);
    assert_string_equal(json_str(s, "Subject"), "mine");
    assert_string_equal(json_str(s, "Status"), "Working");
    cJSON_Delete(s);
    cJSON *mine = local_fields(f, a);
    assert_string_equal(json_str(mine, "Status"), "Working");
    cJSON_Delete(mine);
    assert_mirror_matches_server(f, a);
    free(a);
}

/* The record's own key (Sync_Key__c = its local id) is text, not a reference: an update
 * that syncs must not rewrite it to the record's Salesforce Id in the mirror. */
static void test_update_keeps_own_key_in_mirror(void **state)
{
    push_fixture *f = *state;
    char *a = push_fixture_create(f, "Case", "{\"Subject\":\"keyed\"}");
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    assert_int_equal(sfa_record_update(f->agent, "Case", a, "{\"Subject\":\"edited\"}"), SFA_OK);
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    cJSON *mine = local_fields(f, a);
    assert_string_equal(json_str(mine, "Sync_Key__c"), a);
    cJSON_Delete(mine);
    assert_mirror_matches_server(f, a);
    free(a);
}

/* Salesforce's SystemModstamp has one-second resolution: a server edit in the same second
 * as the agent's base shows the base's stamp. The conflict is found by the values. */
static void test_same_second_server_edit_is_a_conflict(void **state)
{
    push_fixture *f = *state;
    char *a = push_fixture_create(f, "Case", "{\"Subject\":\"original\"}");
    sfa_sync_report rep;
    assert_int_equal(push_fixture_sync(f, &rep), SFA_OK);
    cJSON *before = server_record(f, a);
    int64_t base_ms = 0;
    assert_true(time_parse_sf(json_str(before, "SystemModstamp"), &base_ms));
    server_edit(f, a, "{\"Subject\":\"server text\"}");
    assert_int_equal(emu_record_set_modstamp(f->emu, json_str(before, "Id"), base_ms), 0);
    cJSON_Delete(before);
    assert_int_equal(sfa_record_update(f->agent, "Case", a, "{\"Subject\":\"local text\"}"),
                     SFA_OK);
    assert_int_equal(push_fixture_sync(f, &rep), SFA_EPARTIAL);
    assert_int_equal(rep.conflict, 1);
    cJSON *s = server_record(f, a);
    assert_string_equal(json_str(s, "Subject"), "server text");
    cJSON_Delete(s);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_server_wins_partial_keeps_server_value_in_mirror,
                                        setup_server_wins, teardown),
        cmocka_unit_test_setup_teardown(test_update_keeps_own_key_in_mirror, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_second_server_edit_is_a_conflict, setup_manual,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
