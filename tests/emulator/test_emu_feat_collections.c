/* Emulator sObject Collections over HTTP (docs/salesforce.md#sobject-collections): create, update,
 * upsert, retrieve, delete; limits; allOrNone; per-record faults. */
#include "test_emu_feat_common.h"

#include "util/alloc.h"
#include "util/json.h"
#include "util/strbuf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define COLL FV "/composite/sobjects"

static const cJSON *item(const eh_response *r, int i)
{
    return cJSON_GetArrayItem(r->json, i);
}

static const char *item_err(const eh_response *r, int i, const char *key)
{
    const cJSON *errs = cJSON_GetObjectItem(item(r, i), "errors");
    return json_str(cJSON_GetArrayItem(errs, 0), key);
}

static bool item_ok(const eh_response *r, int i)
{
    return json_bool(item(r, i), "success", false);
}

/* Three Contacts, the middle one missing its required LastName. */
static const char THREE_CONTACTS[] =
    "\"records\":[{\"attributes\":{\"type\":\"Contact\"},\"LastName\":\"One\"},"
    "{\"attributes\":{\"type\":\"Contact\"},\"FirstName\":\"NoLast\"},"
    "{\"attributes\":{\"type\":\"Contact\"},\"LastName\":\"Three\"}]}";

static void test_create_mixed_types_returns_ids_in_order(void **state)
{
    fe_env *env = *state;
    eh_response r;
    fe_req(env, "POST", COLL,
           "{\"allOrNone\":false,\"records\":[{\"attributes\":{\"type\":\"Case\"},\"Subject\":"
           "\"s\"},{\"attributes\":{\"type\":\"Contact\"},\"LastName\":\"Johnson\"}]}",
           &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(cJSON_GetArraySize(r.json), 2);
    assert_true(item_ok(&r, 0) && item_ok(&r, 1));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(item(&r, 0), "errors")), 0);
    assert_int_equal(strncmp(json_str(item(&r, 0), "id"), "500", 3), 0);
    assert_int_equal(strncmp(json_str(item(&r, 1), "id"), "003", 3), 0);
    cJSON *rec = emu_record_get(env->e, json_str(item(&r, 1), "id"));
    assert_string_equal(json_str(rec, "LastName"), "Johnson");
    cJSON_Delete(rec);
    eh_response_free(&r);
}

static void test_create_limits_and_missing_type(void **state)
{
    fe_env *env = *state;
    strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "{\"records\":[");
    for (int i = 0; i < 201; i++)
        strbuf_addf(&sb, "%s{\"attributes\":{\"type\":\"Case\"},\"Subject\":\"x\"}", i ? "," : "");
    strbuf_adds(&sb, "]}");
    eh_response r;
    fe_req(env, "POST", COLL, strbuf_str(&sb), &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(fe_err(&r, 0, "errorCode"), "EXCEEDED_ID_LIMIT");
    assert_int_equal(emu_record_count(env->e, "Case", true), 0);
    eh_response_free(&r);
    /* 11 chunks of alternating types */
    strbuf_reset(&sb);
    strbuf_adds(&sb, "{\"records\":[");
    for (int i = 0; i < 11; i++)
        strbuf_addf(&sb,
                    "%s{\"attributes\":{\"type\":\"%s\"},\"Subject\":\"x\",\"LastName\":\"y\"}",
                    i ? "," : "", i % 2 ? "Contact" : "Case");
    strbuf_adds(&sb, "]}");
    fe_req(env, "POST", COLL, strbuf_str(&sb), &r);
    assert_int_equal(r.status, 400);
    eh_response_free(&r);
    strbuf_free(&sb);
    fe_req(env, "POST", COLL, "{\"records\":[{\"Subject\":\"no type\"}]}", &r);
    assert_int_equal(r.status, 200);
    assert_false(item_ok(&r, 0));
    assert_string_equal(item_err(&r, 0, "statusCode"), "INVALID_TYPE");
    eh_response_free(&r);
    fe_req(env, "POST", COLL,
           "{\"records\":[{\"attributes\":{\"type\":\"Case\"},\"id\":"
           "\"500000000000001AAA\"}]}",
           &r);
    assert_int_equal(r.status, 200);
    assert_false(item_ok(&r, 0));
    eh_response_free(&r);
    fe_req(env, "POST", COLL, "not json", &r);
    assert_int_equal(r.status, 400);
    eh_response_free(&r);
}

static void test_create_all_or_none_false_keeps_good_records(void **state)
{
    fe_env *env = *state;
    char *body = xasprintf("{\"allOrNone\":false,%s", THREE_CONTACTS);
    eh_response r;
    fe_req(env, "POST", COLL, body, &r);
    free(body);
    assert_int_equal(r.status, 200);
    assert_true(item_ok(&r, 0));
    assert_false(item_ok(&r, 1));
    assert_null(cJSON_GetObjectItem(item(&r, 1), "id"));
    assert_string_equal(item_err(&r, 1, "statusCode"), "REQUIRED_FIELD_MISSING");
    assert_null(item_err(&r, 1, "errorCode")); /* per-record errors use statusCode */
    assert_true(item_ok(&r, 2));
    assert_int_equal(emu_record_count(env->e, "Contact", true), 2);
    eh_response_free(&r);
}

static void test_create_all_or_none_true_rolls_back_everything(void **state)
{
    fe_env *env = *state;
    char *body = xasprintf("{\"allOrNone\":true,%s", THREE_CONTACTS);
    eh_response r;
    fe_req(env, "POST", COLL, body, &r);
    free(body);
    assert_int_equal(r.status, 200);
    for (int i = 0; i < 3; i++) {
        assert_false(item_ok(&r, i));
        assert_null(cJSON_GetObjectItem(item(&r, i), "id"));
    }
    assert_string_equal(item_err(&r, 0, "statusCode"), "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    assert_string_equal(item_err(&r, 1, "statusCode"), "REQUIRED_FIELD_MISSING");
    assert_string_equal(item_err(&r, 2, "statusCode"), "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    assert_non_null(strstr(item_err(&r, 2, "message"), "AllOrNone header"));
    assert_int_equal(emu_record_count(env->e, "Contact", true), 0);
    eh_response_free(&r);
}

static void test_update_all_or_none_keeps_id_of_rolled_back(void **state)
{
    fe_env *env = *state;
    char a[19];
    fe_case(env, "before", NULL, a);
    char *body = xasprintf(
        "{\"allOrNone\":true,\"records\":[{\"attributes\":{\"type\":\"Case\"},\"id\":\"%s\","
        "\"Subject\":\"after\"},{\"attributes\":{\"type\":\"Case\"},\"id\":\"500xx000003DGb2999\","
        "\"Subject\":\"x\"}]}",
        a);
    eh_response r;
    fe_req(env, "PATCH", COLL, body, &r);
    assert_int_equal(r.status, 200);
    assert_false(item_ok(&r, 0));
    assert_string_equal(json_str(item(&r, 0), "id"), a);
    assert_string_equal(item_err(&r, 0, "statusCode"), "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    assert_string_equal(item_err(&r, 1, "statusCode"), "MALFORMED_ID");
    assert_null(cJSON_GetObjectItem(item(&r, 1), "id"));
    eh_response_free(&r);
    cJSON *rec = emu_record_get(env->e, a);
    assert_string_equal(json_str(rec, "Subject"), "before");
    cJSON_Delete(rec);
    /* same with allOrNone false: the good update applies */
    body[strlen("{\"allOrNone\":")] = 'f';
    char *fixed = xasprintf("{\"allOrNone\":false%s", strchr(body, ','));
    fe_req(env, "PATCH", COLL, fixed, &r);
    assert_true(item_ok(&r, 0));
    assert_string_equal(json_str(item(&r, 0), "id"), a);
    assert_false(item_ok(&r, 1));
    eh_response_free(&r);
    rec = emu_record_get(env->e, a);
    assert_string_equal(json_str(rec, "Subject"), "after");
    cJSON_Delete(rec);
    free(fixed);
    free(body);
}

static void test_upsert_reports_created(void **state)
{
    fe_env *env = *state;
    char old[19];
    fe_case(env, "old", "KEY-1", old);
    eh_response r;
    fe_req(env, "PATCH", COLL "/Case/Sync_Key__c",
           "{\"allOrNone\":false,\"records\":[{\"attributes\":{\"type\":\"Case\"},\"Subject\":"
           "\"upd\",\"Sync_Key__c\":\"KEY-1\"},{\"attributes\":{\"type\":\"Case\"},\"Subject\":"
           "\"new\",\"Sync_Key__c\":\"KEY-2\"},{\"attributes\":{\"type\":\"Case\"},\"Subject\":"
           "\"nokey\"}]}",
           &r);
    assert_int_equal(r.status, 200);
    assert_true(item_ok(&r, 0));
    assert_string_equal(json_str(item(&r, 0), "id"), old);
    assert_false(json_bool(item(&r, 0), "created", true));
    assert_true(item_ok(&r, 1));
    assert_true(json_bool(item(&r, 1), "created", false));
    assert_false(item_ok(&r, 2));
    eh_response_free(&r);
    cJSON *rec = emu_record_get(env->e, old);
    assert_string_equal(json_str(rec, "Subject"), "upd");
    cJSON_Delete(rec);
    fe_req(env, "PATCH", COLL "/Case/Subject", "{\"records\":[]}", &r);
    assert_int_equal(r.status, 404); /* not an external-ID field */
    eh_response_free(&r);
}

/* A retrieved record as Salesforce returns it: attributes (type, url), then its Id whether
 * or not the fields list named it (jsforce's retrieve matches results to ids by it). */
static void assert_retrieved_case(const cJSON *rec, const char *id)
{
    const cJSON *attrs = cJSON_GetObjectItem(rec, "attributes");
    assert_string_equal(json_str(attrs, "type"), "Case");
    char *url = xasprintf(FV "/sobjects/Case/%s", id);
    assert_string_equal(json_str(attrs, "url"), url);
    free(url);
    assert_string_equal(json_str(rec, "Id"), id);
    int ids = 0;
    for (const cJSON *f = rec->child; f; f = f->next)
        ids += strcmp(f->string, "Id") == 0;
    assert_int_equal(ids, 1);
}

static void test_retrieve_returns_id_not_in_fields(void **state)
{
    fe_env *env = *state;
    char a[19], b[19];
    fe_case(env, "one", NULL, a);
    fe_case(env, "two", NULL, b);
    char *path = xasprintf(COLL "/Case?ids=%s,%s&fields=Subject", a, b);
    eh_response r;
    fe_req(env, "GET", path, NULL, &r);
    free(path);
    assert_int_equal(r.status, 200);
    assert_int_equal(cJSON_GetArraySize(r.json), 2);
    assert_retrieved_case(item(&r, 0), a);
    assert_string_equal(json_str(item(&r, 0), "Subject"), "one");
    assert_retrieved_case(item(&r, 1), b);
    assert_null(cJSON_GetObjectItem(item(&r, 1), "Status"));
    eh_response_free(&r);

    char *body = xasprintf("{\"ids\":[\"%s\",\"%s\"],\"fields\":[\"Subject\"]}", b, a);
    fe_req(env, "POST", COLL "/Case", body, &r);
    free(body);
    assert_int_equal(r.status, 200);
    assert_retrieved_case(item(&r, 0), b);
    assert_string_equal(json_str(item(&r, 0), "Subject"), "two");
    assert_retrieved_case(item(&r, 1), a);
    eh_response_free(&r);

    /* Named explicitly (any case), it still comes back once. */
    path = xasprintf(COLL "/Case?ids=%s&fields=id,Subject", a);
    fe_req(env, "GET", path, NULL, &r);
    free(path);
    assert_int_equal(r.status, 200);
    assert_retrieved_case(item(&r, 0), a);
    eh_response_free(&r);
}

static void test_retrieve_has_null_slots(void **state)
{
    fe_env *env = *state;
    char a[19], gone[19];
    fe_case(env, "one", NULL, a);
    fe_case(env, "two", NULL, gone);
    emu_record_remove(env->e, gone);
    char *path = xasprintf(COLL "/Case?ids=%s,%s,500xx000003DGb2999&fields=subject,Id", a, gone);
    eh_response r;
    fe_req(env, "GET", path, NULL, &r);
    free(path);
    assert_int_equal(r.status, 200);
    assert_int_equal(cJSON_GetArraySize(r.json), 3);
    assert_string_equal(json_str(item(&r, 0), "Subject"), "one");
    assert_string_equal(json_str(item(&r, 0), "Id"), a);
    assert_string_equal(json_str(cJSON_GetObjectItem(item(&r, 0), "attributes"), "type"), "Case");
    assert_true(cJSON_IsNull(item(&r, 1)));
    assert_true(cJSON_IsNull(item(&r, 2)));
    eh_response_free(&r);
    path = xasprintf(COLL "/Case?ids=%s&fields=Bogus__c", a);
    fe_req(env, "GET", path, NULL, &r);
    free(path);
    assert_int_equal(r.status, 400);
    eh_response_free(&r);
    char *body = xasprintf("{\"ids\":[\"%s\",\"%s\"],\"fields\":[\"Subject\"]}", gone, a);
    fe_req(env, "POST", COLL "/Case", body, &r);
    free(body);
    assert_int_equal(r.status, 200);
    assert_true(cJSON_IsNull(item(&r, 0)));
    assert_string_equal(json_str(item(&r, 1), "Subject"), "one");
    eh_response_free(&r);
}

static void test_delete_reports_per_id(void **state)
{
    fe_env *env = *state;
    char a[19];
    fe_case(env, "one", NULL, a);
    char *path = xasprintf(COLL "?ids=%s,001RM000003oLrB000&allOrNone=false", a);
    eh_response r;
    fe_req(env, "DELETE", path, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(item_ok(&r, 0));
    assert_string_equal(json_str(item(&r, 0), "id"), a);
    assert_false(item_ok(&r, 1));
    assert_string_equal(item_err(&r, 1, "statusCode"), "MALFORMED_ID");
    eh_response_free(&r);
    assert_int_equal(emu_record_count(env->e, "Case", false), 0);
    free(path);
    /* allOrNone: nothing deleted when one id is bad */
    fe_case(env, "two", NULL, a);
    path = xasprintf(COLL "?ids=%s,bad&allOrNone=true", a);
    fe_req(env, "DELETE", path, NULL, &r);
    assert_false(item_ok(&r, 0));
    assert_string_equal(item_err(&r, 0, "statusCode"), "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    eh_response_free(&r);
    free(path);
    assert_int_equal(emu_record_count(env->e, "Case", false), 1);
}

static void add_record_fault(fe_env *env, int index)
{
    emu_fault f = EMU_FAULT_INIT;
    f.kind = EMU_FAULT_RECORD_ERROR;
    f.path_pattern = "/services/data/v*/composite/sobjects*";
    f.count = 1;
    f.error_code = "UNABLE_TO_LOCK_ROW";
    f.message = "unable to obtain exclusive access to this record";
    f.record_index = index;
    assert_true(emu_fault_add(env->e, &f) > 0);
}

static void test_record_fault_fails_one_record(void **state)
{
    fe_env *env = *state;
    static const char body[] =
        "{\"allOrNone\":%s,\"records\":[{\"attributes\":{\"type\":\"Case\"},\"Subject\":\"a\"},"
        "{\"attributes\":{\"type\":\"Case\"},\"Subject\":\"b\"},"
        "{\"attributes\":{\"type\":\"Case\"},\"Subject\":\"c\"}]}";
    add_record_fault(env, 1);
    char *b = xasprintf(body, "false");
    eh_response r;
    fe_req(env, "POST", COLL, b, &r);
    free(b);
    assert_int_equal(r.status, 200);
    assert_true(item_ok(&r, 0));
    assert_false(item_ok(&r, 1));
    assert_string_equal(item_err(&r, 1, "statusCode"), "UNABLE_TO_LOCK_ROW");
    assert_true(item_ok(&r, 2));
    eh_response_free(&r);
    assert_int_equal(emu_record_count(env->e, "Case", true), 2);
    add_record_fault(env, 1);
    b = xasprintf(body, "true");
    fe_req(env, "POST", COLL, b, &r);
    free(b);
    assert_string_equal(item_err(&r, 0, "statusCode"), "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    assert_string_equal(item_err(&r, 1, "statusCode"), "UNABLE_TO_LOCK_ROW");
    eh_response_free(&r);
    assert_int_equal(emu_record_count(env->e, "Case", true), 2);
}

static void test_collections_call_counts_once(void **state)
{
    fe_env *env = *state;
    long before = emu_api_usage(env->e);
    eh_response r;
    fe_req(env, "POST", COLL,
           "{\"records\":[{\"attributes\":{\"type\":\"Case\"}},"
           "{\"attributes\":{\"type\":\"Case\"}}]}",
           &r);
    assert_int_equal(r.status, 200);
    eh_response_free(&r);
    assert_int_equal(emu_api_usage(env->e) - before, 1);
    assert_int_equal(emu_record_count(env->e, "Case", false), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_create_mixed_types_returns_ids_in_order, fe_reset),
        cmocka_unit_test_setup(test_create_limits_and_missing_type, fe_reset),
        cmocka_unit_test_setup(test_create_all_or_none_false_keeps_good_records, fe_reset),
        cmocka_unit_test_setup(test_create_all_or_none_true_rolls_back_everything, fe_reset),
        cmocka_unit_test_setup(test_update_all_or_none_keeps_id_of_rolled_back, fe_reset),
        cmocka_unit_test_setup(test_upsert_reports_created, fe_reset),
        cmocka_unit_test_setup(test_retrieve_has_null_slots, fe_reset),
        cmocka_unit_test_setup(test_retrieve_returns_id_not_in_fields, fe_reset),
        cmocka_unit_test_setup(test_delete_reports_per_id, fe_reset),
        cmocka_unit_test_setup(test_record_fault_fails_one_record, fe_reset),
        cmocka_unit_test_setup(test_collections_call_counts_once, fe_reset),
    };
    return cmocka_run_group_tests(tests, fe_group_setup, fe_group_teardown);
}
